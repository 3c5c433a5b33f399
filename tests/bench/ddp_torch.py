"""The PyTorch side of tests/bench/mpi.sh: DistributedDataParallel with
the gloo backend over WORLD processes of one thread each, on the same
configuration as fed-train under mpirun: each step's global batch split
across the processes, gradients averaged by DDP, SGD with momentum (mlp)
or AdamW with clipping (gpt, the model of gpt_torch.py).  Prints the
training rate of the whole job after a warm-up: samples/s (mlp) or
tokens/s (gpt).

usage: ddp_torch.py WORLD mlp IMAGES.gz LABELS.gz WIDTHS BATCH
       ddp_torch.py WORLD gpt FILE L C H T BATCH STEPS
"""
import os
import socket
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel as DDP

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_train import idx, mlp_layers  # noqa: E402


def mlp(rank, world, args):
    xs, ys, widths, batch = args
    dims = [int(w) for w in widths.split("-")]
    batch = int(batch)
    x = torch.from_numpy(idx(xs, 16).reshape(-1, dims[0]).astype(np.float32) / 255)
    y = torch.from_numpy(idx(ys, 8).astype(np.int64))
    model = DDP(mlp_layers(dims))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    lossf = torch.nn.CrossEntropyLoss()
    n = x.shape[0]
    g = torch.Generator().manual_seed(1)
    perm = torch.randperm(n, generator=g)
    lo, hi = batch * rank // world, batch * (rank + 1) // world

    def step(i):
        j = perm[i:i + batch][lo:hi]
        opt.zero_grad(set_to_none=True)
        lossf(model(x[j]), y[j]).backward()
        opt.step()
    for i in range(0, 5 * batch, batch):
        step(i)
    dist.barrier()
    t0 = time.perf_counter()
    for i in range(0, n, batch):
        step(i)
    dist.barrier()
    return n / (time.perf_counter() - t0)


def gpt(rank, world, args):
    from gpt_torch import GPT, make_step
    path, L, C, H, T, B, steps = args
    L, C, H, T, B, steps = map(int, (L, C, H, T, B, steps))
    data = torch.from_numpy(np.fromfile(path, dtype=np.uint8).astype(np.int64))
    m = GPT(L, C, H, T)
    # the causal mask is a constant bool buffer, which gloo cannot send:
    # a plain attribute instead
    mask = m._buffers.pop("mask")
    m.mask = mask
    m = DDP(m)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.01)
    g = torch.Generator().manual_seed(1)
    lo, hi = B * rank // world, B * (rank + 1) // world

    step = make_step(m, opt, data, B, T, g, lo, hi)
    for _ in range(3):
        step()
    dist.barrier()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    dist.barrier()
    return steps * B * T / (time.perf_counter() - t0)


def run(rank, world, port, kind, args):
    torch.set_num_threads(1)
    torch.manual_seed(1)
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    rate = (mlp if kind == "mlp" else gpt)(rank, world, args)
    if rank == 0:
        print(f"{rate:.0f}", flush=True)
    dist.destroy_process_group()


def main():
    world, kind = int(sys.argv[1]), sys.argv[2]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(run, args=(world, port, kind, sys.argv[3:]), nprocs=world)


if __name__ == "__main__":
    main()
