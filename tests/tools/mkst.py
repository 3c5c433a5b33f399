#!/usr/bin/env python3
"""mkst: small safetensors files for the tests of imported tensor sets.

mkst.py KIND OUT [SCALE]: KIND "lib" lays the tensors out as the
safetensors library does (sorted by dtype, then name; __metadata__ first),
"rev" in reverse name order, and the bad ones ("nan", "i8", "dup", "long",
"ctrl") are what fed-init --from must refuse.  SCALE multiplies every value
(a "trained" file).  Standard library only: no numpy, no safetensors.
"""
import json
import struct
import sys


def f16(x):
    return struct.pack("<e", x)


def bf16(x):
    return struct.pack("<f", x)[2:]


def tensors(scale):
    conv = [((i % 7) - 3) * 0.25 * scale for i in range(4 * 3 * 2 * 2)]
    return {
        "model.layers.0.self_attn.q_proj.weight":
            ("F32", [4, 3, 2, 2], b"".join(struct.pack("<f", v) for v in conv)),
        "conv.bias": ("F32", [4], struct.pack("<4f", *[scale * v for v in (0.5, -1, 2, 0)])),
        "emb.h": ("F16", [3, 5], b"".join(f16(scale * (i - 7) / 8) for i in range(15))),
        "emb.b": ("BF16", [6], b"".join(bf16(scale * (i + 1) / 4) for i in range(6))),
        "scalar": ("F32", [], struct.pack("<f", 3.0 * scale)),
    }


def write(path, t, order, meta=None, extra=b""):
    hdr, data, off = {}, b"", 0
    order = order or sorted(t)
    if meta is not None:
        hdr["__metadata__"] = meta
    for n in order:
        dt, shape, b = t[n]
        hdr[n] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(b)]}
        off += len(b)
        data += b
    h = json.dumps(hdr, separators=(",", ":")).encode() + extra
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


def main():
    kind, out = sys.argv[1], sys.argv[2]
    scale = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    t = tensors(scale)
    size = {"F32": 4, "F16": 2, "BF16": 2, "I8": 1}
    def lib():
        return sorted(t, key=lambda n: (-size[t[n][0]], n))
    if kind == "lib":
        write(out, t, lib(), {"format": "pt"})
    elif kind == "f32":
        write(out, {n: v for n, v in t.items() if v[0] == "F32"}, None)
    elif kind == "big16":
        write(out, {"w": ("F16", [2], f16(60000.0 * scale) + f16(1.0))}, None)
    elif kind == "rev":
        write(out, t, sorted(t, reverse=True), {"format": "pt"})
    elif kind == "nan":
        t["conv.bias"] = ("F32", [4], struct.pack("<4f", 0, float("nan"), 0, 0))
        write(out, t, lib())
    elif kind == "i8":
        t["q"] = ("I8", [2], b"\x01\x02")
        write(out, t, lib())
    elif kind == "long":
        t["x" * 129] = ("F32", [1], struct.pack("<f", 1))
        write(out, t, lib())
    elif kind == "ctrl":
        t["a\x1bb"] = ("F32", [1], struct.pack("<f", 1))
        write(out, t, lib())
    elif kind == "dup":
        h = json.dumps({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})
        h = (h[:-1] + ',"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}').encode()
        h += b" " * (-len(h) % 8)
        with open(out, "wb") as f:
            f.write(struct.pack("<Q", len(h)) + h + b"\0" * 8)
    else:
        sys.exit("mkst: unknown kind " + kind)


main()
