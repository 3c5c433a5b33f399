# rsign: the rotated-sign encoding (fed-train --encode rsign, fed-bundle(5)
# "Encoded updates"), about one bit a weight.  Its decoding, as the
# manual page specifies it and a reference written here from that text
# computes it, is what fed-merge applies, bit for bit; with error
# feedback the residual holds exactly what was not sent; gradient
# uploads and downloads may use it; scales not finite or negative, signs
# under a zero scale, a wrong block or seed and wrong shapes are rejected
# (1); options that do not fit are usage errors (2).
. "$FED_ROOT/tests/sh/lib.sh"

encoded

# The reference: SplitMix64 signs, the Sylvester Hadamard transform, one
# rounding to float32 (fed-bundle(5)).
pyref rs.py
cat >>rs.py <<'PY'
import json, tarfile
from rebundle import st, member, flat, f32
M = (1 << 64) - 1
def signs(seed, b, n):
    x, w = (seed + (b << 32)) & M, []
    for _ in range(n // 64):
        x = (x + 0x9e3779b97f4a7c15) & M
        z = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & M
        z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M
        w.append(z ^ (z >> 31))
    return [-1 if (w[j // 64] >> (j % 64)) & 1 else 1 for j in range(n)]
def hadamard(a):
    a, h = list(a), 1
    while h < len(a):
        for i in range(0, len(a), 2 * h):
            for j in range(i, i + h):
                a[j], a[j + h] = a[j] + a[j + h], a[j] - a[j + h]
        h *= 2
    return a
def decode(path, np):
    seed = json.loads(tarfile.open(path).extractfile("manifest.json")
                      .read())["encoding"]["seed"] & M
    t = member(path); sc, sg = t["rsign.scales"], t["rsign.signs"]
    out, at = [], 0
    for b in range((np + 4095) // 4096):
        n = min(4096, np - 4096 * b)
        L = 4096 if n == 4096 else max(64, 1 << (n - 1).bit_length())
        s = [-1 if (sg[at + j // 8] >> (j % 8)) & 1 else 1 for j in range(L)]
        k, d = hadamard(s), signs(seed, b, L)
        out += [f32(d[j] * sc[b] * k[j]) for j in range(n)]
        at += L // 8
    assert at == len(sg) and len(sc) == (np + 4095) // 4096
    return out
PY

# 1. Encoding: recorded, about a bit a weight, verified.
expect "train --encode rsign" 0 train u-rs.fed --encode rsign
check "rsign: recorded with its block and seed" test \
    "$(field u-rs.fed '.encoding | [.scheme, .block, .seed, .error_feedback]')" = \
    '["rsign",4096,5,false]'
check "rsign: a bit a weight, a scale a block" python3 -c '
import sys; sys.path.insert(0, ".")
from rs import member, flat
n = len(flat(member("u-f32.fed"))); t = member("u-rs.fed")
L = [4096] * (n // 4096) + ([max(64, 1 << (n % 4096 - 1).bit_length())]
                            if n % 4096 else [])
assert len(t["rsign.signs"]) == sum(L) // 8, (len(t["rsign.signs"]), L)
assert len(t["rsign.scales"]) == len(L)'
check "rsign: the decoded delta points the delta's way" python3 -c '
import math, sys; sys.path.insert(0, ".")
from rs import member, flat, decode
x = flat(member("u-f32.fed")); d = decode("u-rs.fed", len(x))
dot = sum(a * b for a, b in zip(x, d))
c = dot / math.sqrt(sum(a * a for a in x) * sum(b * b for b in d))
assert c > 0.6, c'
expect "verify: rsign" 0 fed-verify -n -q u-rs.fed
expect "fed-eval -u rsign" 0 sh -c \
    'fed-eval -m m0.fed -u u-rs.fed h-de.fed >/dev/null'

# 2. fed-merge streams it: the merged step is the reference's decoding.
expect "merge: rsign" 0 fed-merge --unsigned -m m0.fed -o m1.fed u-rs.fed
check "merge: the step is the specified decoding, bit for bit" python3 -c '
import sys; sys.path.insert(0, ".")
from rs import member, flat, decode, f32
a = flat(member("m0.fed")); b = flat(member("m1.fed"))
d = decode("u-rs.fed", len(a))
assert all(b[i] == f32(a[i] + d[i]) for i in range(len(a)))'
expect "merge: rsign beside f32" 0 \
    fed-merge --unsigned -m m0.fed -o m2.fed u-rs.fed u-f32.fed

# 3. Error feedback: delta = decoded + residual, and the next round uses it.
expect "rsign with a residual" 0 train r1.fed --encode rsign --residual r.st
check "rsign: delta = sent + residual" python3 -c '
import sys; sys.path.insert(0, ".")
from rs import member, st, flat, decode
x = flat(member("u-f32.fed")); r = flat(st(open("r.st", "rb").read()))
d = decode("r1.fed", len(x))
assert len(x) == len(r)
assert all(abs(x[i] - (d[i] + r[i])) <= 1e-6 * max(1e-3, abs(x[i]))
           for i in range(len(x)))
assert sum(v != 0 for v in r) > len(r) // 2'
train r2.fed --encode rsign --residual r.st
check "rsign: the residual moves the next update" sh -c '! cmp -s r1.fed r2.fed'

# 4. A gradient upload and a download in rsign.
expect "gradient: an rsign upload" 0 fed-train -m m0.fed -d h-de.fed \
    --steps 1 -b 4 -l 0.01 --warmup 0 --schedule constant -s 3 --name de \
    --gradient --encode rsign --residual g.st -o g.fed
expect "expand: an rsign upload" 0 fed-train -m m0.fed --expand g.fed -o xg.fed
expect "merge: its expansion" 0 fed-merge --unsigned -m m0.fed -o m4.fed xg.fed
rebuilt rsign rsign

# 5. Hostile encodings (1): rewritten with the manifest's hashes fixed up.
cat >evil.py <<'PY'
import json, struct, sys
sys.path.insert(0, sys.argv[4])
import rebundle
src, dst, what = sys.argv[1:4]
man, mem = rebundle.read(src)
b = bytearray(mem["tensors.safetensors"])
h, n = rebundle.header(b)
s = n + h["rsign.scales"]["data_offsets"][0]
g = n + h["rsign.signs"]["data_offsets"][0]
if what == "nanscale":
    b[s:s + 4] = struct.pack("<f", float("nan"))
elif what == "infscale":
    b[s:s + 4] = struct.pack("<f", float("inf"))
elif what == "negscale":
    b[s:s + 4] = struct.pack("<f", -1.0)
elif what == "hugescale":       # finite, but its values overflow
    b[s:s + 4] = struct.pack("<f", 3e38)
elif what == "zeroscale":       # signs left under a zero scale
    b[s:s + 4] = struct.pack("<f", 0.0)
    b[g] |= 1
elif what == "block":
    man["encoding"]["block"] = 1024
elif what == "seed":
    man["encoding"]["seed"] = "5"
elif what == "noseed":
    del man["encoding"]["seed"]
elif what == "short":
    k = "rsign.signs"
    h[k]["shape"][0] -= 8; h[k]["data_offsets"][1] -= 8
    hb = json.dumps(h).encode()
    b = bytearray(struct.pack("<Q", len(hb)) + hb + b[n:-8])
mem["tensors.safetensors"] = bytes(b)
rebundle.write(dst, man, mem)
PY
rejected rsign u-rs.fed nanscale infscale negscale hugescale zeroscale block seed noseed \
    short

# 6. Usage (2).
expect_err "rsign takes no fraction" 2 "unknown" train x.fed --encode rsign:0.1
expect_err "stochastic rounding is int8's" 2 "stochastic" \
    train x.fed --encode rsign --stochastic
check "nothing written on usage errors" test ! -e x.fed
