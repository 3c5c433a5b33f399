#!/usr/bin/python3
"""stsame: do two safetensors files hold bit-identical tensors for PyTorch?

stsame.py A B loads both as a PyTorch user without the safetensors library
would (the header parsed by hand, torch.frombuffer on the data), and exits
0 when names, dtypes, shapes, every bit of every value and __metadata__
agree, 1 otherwise.  Needs Debian's python3-torch.
"""
import json
import struct
import sys

import torch

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def load(path):
    with open(path, "rb") as f:
        b = f.read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    meta = h.pop("__metadata__", None)
    out = {}
    for k, v in h.items():
        lo, hi = v["data_offsets"]
        raw = bytearray(b[8 + n + lo:8 + n + hi])
        t = torch.frombuffer(raw, dtype=DTYPES[v["dtype"]]).reshape(v["shape"])
        out[k] = t
    return out, meta


def main():
    a, ma = load(sys.argv[1])
    b, mb = load(sys.argv[2])
    if ma != mb or sorted(a) != sorted(b):
        sys.exit("stsame: metadata or names differ")
    for k in a:
        x, y = a[k], b[k]
        if x.dtype != y.dtype or x.shape != y.shape:
            sys.exit("stsame: %s: dtype or shape differs" % k)
        if not torch.equal(x.reshape(-1).view(torch.uint8),
                           y.reshape(-1).view(torch.uint8)):
            sys.exit("stsame: %s: values differ" % k)


main()
