"""Writes a large safetensors file for tests/bench/big-model.sh, streaming:
TENSORS F32 tensors of ROWS x COLS, in the safetensors library's layout
(sorted by name, header padded with spaces to a multiple of 8), never more
than one chunk in memory.  The model's values are uniform in [-0.05, 0.05)
from seed 0; with SEED > 0 the file is the model plus uniform noise in
[-SCALE/2, SCALE/2) from SEED: a holder's "trained" weights.

usage: big_model.py OUT TENSORS ROWS COLS [SEED SCALE]
"""
import json
import struct
import sys

import numpy as np

CHUNK = 1 << 22                 # values per chunk: 16 MiB of F32


def main():
    out, k, rows, cols = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    seed = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    scale = float(sys.argv[6]) if len(sys.argv) > 6 else 0.0
    n = rows * cols
    names = sorted(f"blocks.{i}.weight" for i in range(k))
    head = {"__metadata__": {"generator": "tests/bench/big_model.py"}}
    for i, name in enumerate(names):
        head[name] = {"dtype": "F32", "shape": [rows, cols],
                      "data_offsets": [i * n * 4, (i + 1) * n * 4]}
    h = json.dumps(head, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    base = np.random.Generator(np.random.PCG64(0))
    noise = np.random.Generator(np.random.PCG64(seed)) if seed else None
    with open(out, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        left = k * n
        while left:
            c = min(CHUNK, left)
            x = base.random(c, dtype=np.float32)
            x -= 0.5
            x *= 0.1
            if noise is not None:
                y = noise.random(c, dtype=np.float32)
                y -= 0.5
                y *= scale
                x += y
            f.write(x.tobytes())
            left -= c


if __name__ == "__main__":
    main()
