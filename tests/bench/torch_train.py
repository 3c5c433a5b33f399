"""PyTorch reference for tests/bench/train.sh: the same MLP, data, batch
size, optimizer and one epoch as fed-train, timed over the training loop
only.  Prints one line: threads batch samples/s seconds test-accuracy.

usage: torch_train.py IMAGES.gz LABELS.gz TEST-IMAGES.gz TEST-LABELS.gz
       ARCH-WIDTHS BATCH THREADS [EPOCHS]
"""
import gzip
import sys
import time

import numpy as np
import torch


def idx(path, header):
    with gzip.open(path) as f:
        return np.frombuffer(f.read()[header:], dtype=np.uint8)


def mlp_layers(dims):
    """nn.Linear layers of dims with ReLU between them, as fed's mlp."""
    layers = []
    for i in range(len(dims) - 1):
        layers.append(torch.nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def main():
    xs, ys, txs, tys, widths, batch, threads = sys.argv[1:8]
    epochs = int(sys.argv[8]) if len(sys.argv) > 8 else 1
    dims = [int(w) for w in widths.split("-")]
    batch, threads = int(batch), int(threads)
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    x = torch.from_numpy(idx(xs, 16).reshape(-1, dims[0]).astype(np.float32) / 255)
    y = torch.from_numpy(idx(ys, 8).astype(np.int64))
    tx = torch.from_numpy(idx(txs, 16).reshape(-1, dims[0]).astype(np.float32) / 255)
    ty = torch.from_numpy(idx(tys, 8).astype(np.int64))
    model = mlp_layers(dims)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    lossf = torch.nn.CrossEntropyLoss()
    n = x.shape[0]
    t0 = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n)
        for i in range(0, n, batch):
            j = perm[i:i + batch]
            opt.zero_grad(set_to_none=True)
            loss = lossf(model(x[j]), y[j])
            loss.backward()
            opt.step()
    secs = time.perf_counter() - t0
    with torch.no_grad():
        acc = (model(tx).argmax(1) == ty).float().mean().item()
    print(f"{threads} {batch} {epochs * n / secs:.0f} {secs:.3f} {acc:.4f}")


if __name__ == "__main__":
    main()
