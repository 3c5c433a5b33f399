"""The OpenBLAS sgemm peak of this machine, for tests/bench/train.sh:
the best of several large float32 matrix products through numpy (which
calls the same libopenblas as fed-train).  Prints GFLOP/s.

usage: sgemm_peak.py [N]    (threads from OPENBLAS_NUM_THREADS)
"""
import sys
import time

import numpy as np


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2048
    rng = np.random.default_rng(1)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    c = a @ b
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        np.matmul(a, b, out=c)
        best = min(best, time.perf_counter() - t0)
    print(f"{2 * n ** 3 / best / 1e9:.1f}")


if __name__ == "__main__":
    main()
