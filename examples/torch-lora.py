#!/usr/bin/python3
"""A data holder's LoRA trainer in PyTorch, FFA-LoRA style: the example
CNN's weights stay frozen (the base model), each adapted weight W gets a
low-rank term B A, A is drawn from a seed every holder shares and stays
frozen, and only B is trained and sent.  Since A is the same for all,
base + mean(B_i) A is exactly the mean of the holders' base + B_i A: the
federated average of the adapters is the average of the models.

usage: torch-lora.py init -m BASE [-r RANK] [-s SEED] [-o OUT]
       torch-lora.py train -m BASE -a ADAPTER -d SHARD [-e EPOCHS] [-b BATCH]
                     [-l LR] [--momentum M] [-s SEED] [-t THREADS] [-j META] [-o OUT]
       torch-lora.py apply -m BASE -a ADAPTER [-o OUT]

BASE is the base CNN's weights (a safetensors file, as `fed-verify
--weights` writes them), ADAPTER the adapter's (B of conv1, conv2 and fc,
named LAYER.lora_B, shaped out x RANK; its __metadata__ holds the rank and
the seed of A).  init writes the round-0 adapter, B zero, for `fed-init
--from ADAPTER --base BASE.fed`; train trains B on the holder's shard (a
fed-shard data bundle) and writes the trained adapter, for fed-delta;
apply writes the full weights base + B A, which torch-eval.py scores.
Files may be '-' (standard input and output; OUT is standard output by
default).  The same inputs, seed and thread count give the same bytes.
Exit status: 0 done, 1 an input was rejected, 2 usage error.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fedtorch as ft  # noqa: E402

PROG = "torch-lora.py"
LAYERS = ("conv1", "conv2", "fc")       # their .weight is adapted
MAXRANK = 64


def lora_a(base, rank, seed):
    """A of each adapted layer: rank x fan-in, normal with variance
    1/fan-in (each row about unit length), drawn in LAYERS order from one
    generator, so that every holder draws the same A from the seed."""
    g = ft.torch.Generator().manual_seed(seed)
    out = {}
    for name in LAYERS:
        w = base[name + ".weight"]
        fan_in = w[0].numel()
        out[name] = ft.torch.randn(rank, fan_in, generator=g) / fan_in ** 0.5
    return out


def effective(base, a, b):
    """The full weights base + B A, as a dict like base."""
    w = dict(base)
    for name in LAYERS:
        k = name + ".weight"
        w[k] = base[k] + (b[name + ".lora_B"] @ a[name]).reshape(base[k].shape)
    return w


def adapter_meta(meta):
    """(rank, seed) of an adapter's __metadata__."""
    try:
        assert meta["lora"] == "ffa"
        rank, seed = int(meta["rank"]), int(meta["seed"])
        assert 1 <= rank <= MAXRANK and seed >= 0
        return rank, seed
    except (TypeError, KeyError, ValueError, AssertionError):
        raise ft.FormatError("not an FFA-LoRA adapter: __metadata__ lacks "
                             "lora=ffa, rank and seed") from None


def check_adapter(base, b, rank):
    """B of every layer, shaped out x rank, and nothing else."""
    want = {n + ".lora_B": (base[n + ".weight"].shape[0], rank) for n in LAYERS}
    got = {k: tuple(v.shape) for k, v in b.items()}
    if got != want or any(v.dtype != ft.torch.float32 for v in b.values()):
        raise ft.FormatError(f"the adapter's tensors are not B of {', '.join(LAYERS)} "
                             f"(float32, out x {rank})")


class LoRA(ft.torch.nn.Module):
    """The CNN with frozen weights base, frozen A and trainable B."""

    def __init__(self, base, a, b):
        super().__init__()
        self.cnn = ft.cnn_from(base)
        self.cnn.requires_grad_(False)
        self.base, self.a = base, a
        self.b = ft.torch.nn.ParameterDict(
            {n: ft.torch.nn.Parameter(b[n + ".lora_B"].clone()) for n in LAYERS})

    def adapter(self):
        return {n + ".lora_B": self.b[n].detach() for n in LAYERS}

    def forward(self, x):
        w = effective(self.base, self.a, {n + ".lora_B": self.b[n] for n in LAYERS})
        return CALL(self.cnn, w, (x,))


try:
    CALL = ft.torch.func.functional_call
except AttributeError:          # torch before 2.0
    from torch.nn.utils.stateless import functional_call as CALL


def load(a):
    """base, A, B and the adapter's metadata, checked."""
    base, _ = ft.st_read(a.model)
    ft.cnn_from(base)
    b, meta = ft.st_read(a.adapter)
    rank, seed = adapter_meta(meta)
    check_adapter(base, b, rank)
    return base, lora_a(base, rank, seed), b, meta


def cmd_init(a):
    base, _ = ft.st_read(a.model)
    ft.cnn_from(base)
    b = {n + ".lora_B": ft.torch.zeros(base[n + ".weight"].shape[0], a.rank)
         for n in LAYERS}
    ft.st_write(a.output, b, {"lora": "ffa", "rank": str(a.rank),
                              "seed": str(a.seed), "layers": ",".join(LAYERS),
                              "model": "examples/torch-lora.py adapter of the "
                                       "fedtorch.py CNN"})


def cmd_train(a):
    base, A, b, meta = load(a)
    x, y, _ = ft.data_bundle(a.data)
    model = LoRA(base, A, b)
    loss = ft.train(model, x, y, a.epochs, a.batch, a.lr, a.momentum, a.seed)
    ft.st_write(a.output, model.adapter(), meta)
    if a.meta:
        with open(a.meta, "w") as f:
            json.dump({"trainer": "examples/torch-lora.py", "method": "ffa-lora",
                       "torch": ft.torch.__version__, "samples": len(y),
                       "epochs": a.epochs, "batch": a.batch, "lr": a.lr,
                       "momentum": a.momentum, "seed": a.seed,
                       "threads": a.threads, "loss": round(loss, 6)},
                      f, sort_keys=True)
            f.write("\n")


def cmd_apply(a):
    base, A, b, meta = load(a)
    ft.st_write(a.output, effective(base, A, b))


def args():
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("init", "train", "apply"):
        s = sub.add_parser(name)
        s.add_argument("-m", "--model", required=True, help="base weights (safetensors)")
        s.add_argument("-o", "--output", default="-")
        s.add_argument("-t", "--threads", type=int, default=1)
        if name != "init":
            s.add_argument("-a", "--adapter", required=True, help="adapter (safetensors)")
    s = sub.choices["init"]
    s.add_argument("-r", "--rank", type=int, default=4)
    s.add_argument("-s", "--seed", type=int, default=1, help="seed of A")
    s = sub.choices["train"]
    s.add_argument("-d", "--data", required=True, help="the holder's data bundle")
    s.add_argument("-e", "--epochs", type=int, default=1)
    s.add_argument("-b", "--batch", type=int, default=64)
    s.add_argument("-l", "--lr", type=float, default=0.05)
    s.add_argument("--momentum", type=float, default=0.9)
    s.add_argument("-s", "--seed", type=int, default=1, help="seed of the shuffling")
    s.add_argument("-j", "--meta", help="write the run's description (JSON) here")
    a = p.parse_args()
    if a.threads < 1 or (a.cmd == "init" and not (1 <= a.rank <= MAXRANK and a.seed >= 0)):
        p.error(f"threads must be positive, rank 1 to {MAXRANK}, seed not negative")
    if a.cmd == "train" and (a.epochs < 1 or a.batch < 1 or a.lr <= 0
                             or not 0 <= a.momentum < 1 or a.seed < 0):
        p.error("epochs and batch must be positive, lr > 0, 0 <= momentum < 1")
    ft.no_terminal(p, a)
    return a


def main():
    a = args()
    ft.setup(a.threads)
    ft.run(PROG, {"init": cmd_init, "train": cmd_train, "apply": cmd_apply}[a.cmd], a)


if __name__ == "__main__":
    main()
