"""The PyTorch side of tests/bench/gpt.sh: the same byte-level transformer
as fed's gpt:L-C-H-T (pre-LayerNorm blocks, causal attention, GELU (tanh)
MLP of width 4C, learned positions, untied head), trained with AdamW and
gradient clipping on random windows of a byte file.  Prints training
tokens per second after a warm-up.

usage: gpt_torch.py FILE L C H T BATCH STEPS THREADS
"""
import math
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, c, h):
        super().__init__()
        self.h = h
        self.ln1 = nn.LayerNorm(c)
        self.qkv = nn.Linear(c, 3 * c)
        self.proj = nn.Linear(c, c)
        self.ln2 = nn.LayerNorm(c)
        self.fc = nn.Linear(c, 4 * c)
        self.fcproj = nn.Linear(4 * c, c)

    def forward(self, x, mask):
        b, t, c = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, self.h, c // self.h).transpose(1, 2)
                   for z in (q, k, v))
        a = (q @ k.transpose(-2, -1)) / math.sqrt(c // self.h)
        a = a.masked_fill(mask[:t, :t], float("-inf")).softmax(-1)
        y = (a @ v).transpose(1, 2).reshape(b, t, c)
        x = x + self.proj(y)
        return x + self.fcproj(F.gelu(self.fc(self.ln2(x)),
                                      approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, L, c, h, t):
        super().__init__()
        self.wte = nn.Embedding(256, c)
        self.wpe = nn.Embedding(t, c)
        self.blocks = nn.ModuleList(Block(c, h) for _ in range(L))
        self.lnf = nn.LayerNorm(c)
        self.head = nn.Linear(c, 256, bias=False)
        self.register_buffer("mask", torch.triu(
            torch.ones(t, t, dtype=torch.bool), 1))

    def forward(self, idx, tgt):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for b in self.blocks:
            x = b(x, self.mask)
        z = self.head(self.lnf(x))
        return F.cross_entropy(z.view(-1, 256), tgt.reshape(-1))


def make_step(m, opt, data, B, T, g, lo=0, hi=None):
    """One AdamW step on B random windows of T + 1 bytes drawn from g;
    only windows lo..hi of them when a process holds a share."""
    def step():
        s = torch.randint(0, len(data) - T - 1, (B,), generator=g)[lo:hi]
        w = torch.stack([data[i:i + T + 1] for i in s])
        loss = m(w[:, :-1], w[:, 1:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
    return step


def main():
    path, L, C, H, T, B, steps, threads = sys.argv[1:9]
    L, C, H, T, B, steps, threads = map(int, (L, C, H, T, B, steps,
                                               threads))
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    data = torch.from_numpy(np.fromfile(path, dtype=np.uint8).astype(
        np.int64))
    m = GPT(L, C, H, T)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.01)
    g = torch.Generator().manual_seed(1)

    step = make_step(m, opt, data, B, T, g)
    for _ in range(5):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    print(f"{steps * B * T / (time.perf_counter() - t0):.0f}")


if __name__ == "__main__":
    main()
