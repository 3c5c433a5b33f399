"""merge_ref: numpy references for fed-merge's tests and benchmark.

  merge_ref.py check RULE MODEL OUT UPDATE...   exit 0 when OUT's weights
        equal RULE (fedavg, median, trimmed-mean:B) over the updates applied
        to MODEL, within 1e-6
  merge_ref.py mean UPDATE...                   memory-mapped numpy mean of
        the updates' tensors (the benchmark's baseline); prints seconds
Reads bundles with tarfile and the safetensors layout by hand (no fed code),
so it checks the format as well as the arithmetic.
"""
import json
import struct
import sys
import tarfile
import time

import numpy as np


def member(path, name):
    """(offset, size) of a tar member: data can then be memory-mapped."""
    with tarfile.open(path, format=tarfile.USTAR_FORMAT) as t:
        m = t.getmember(name)
        return m.offset_data, m.size


def floats(path, mmap=False, name="tensors.safetensors"):
    off, _ = member(path, name)
    with open(path, "rb") as f:
        f.seek(off)
        hl = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(hl))
    hdr.pop("__metadata__", None)
    end = max(v["data_offsets"][1] for v in hdr.values())
    start = off + 8 + hl
    if mmap:
        return np.memmap(path, dtype="<f4", mode="r", offset=start,
                         shape=(end // 4,))
    with open(path, "rb") as f:
        f.seek(start)
        return np.frombuffer(f.read(end), dtype="<f4")


def manifest(path):
    with tarfile.open(path) as t:
        return json.load(t.extractfile("manifest.json"))


def check(rule, model, out, ups):
    x = floats(model).astype(np.float64)
    u = np.stack([floats(p).astype(np.float64) for p in ups])
    if rule == "fedavg":
        w = np.array([manifest(p)["samples"] for p in ups], np.float64)
        d = (w[:, None] * u).sum(0) / w.sum()
    elif rule == "median":
        d = np.median(u, 0)
    elif rule.startswith("trimmed-mean:"):
        k = int(float(rule.split(":")[1]) * len(ups) + 1e-9)
        s = np.sort(u, 0)
        d = s[k:len(ups) - k].mean(0)
    else:
        sys.exit("unknown rule " + rule)
    want = (x + d).astype(np.float32)
    got = floats(out)
    err = np.abs(got - want).max()
    print("max abs error %.3g" % err)
    return 0 if err <= 1e-6 else 1


def mean(ups):
    t = time.time()
    acc = np.zeros_like(floats(ups[0], True), dtype=np.float64)
    for p in ups:
        acc += floats(p, True)
    res = (acc / len(ups)).astype(np.float32)
    print("%.3f" % (time.time() - t), float(res[0]))
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]))
    if len(sys.argv) >= 3 and sys.argv[1] == "mean":
        sys.exit(mean(sys.argv[2:]))
    sys.exit(__doc__)
