# topk8: the compact top-k encoding (fed-train --encode topk8:F,
# fed-bundle(5) "Encoded updates").  The same entries as topk:F at about
# a quarter of the bytes; with error feedback the residual holds exactly
# what was not sent; fed-merge's streamed decoding gives the values
# fed-train --expand and fed-verify decode whole; the download may use
# it; every inconsistent count, offset, scale or value is rejected (1);
# a malformed fraction is a usage error (2).
. "$FED_ROOT/tests/sh/lib.sh"

encoded
train u-topk.fed --encode topk:0.2

# Python: a bundle's tensors (or a safetensors file's) as flat lists,
# and topk8 decoded to {coordinate: value}.
pyref t8.py
cat >>t8.py <<'PY'
from rebundle import st, member, flat, f32
def topk8(path):
    t = member(path)
    c, o, s, q = (t["topk." + k] for k in ("counts", "offsets", "scales",
                                           "values"))
    idx = []
    for sp, n in enumerate(c):
        idx += [sp * 128 + o[len(idx) + j] for j in range(n)]
    return {i: f32(q[j] * s[j // 256]) for j, i in enumerate(idx)}
PY

# 1. Encoding: the same entries as topk, smaller, recorded, verified.
expect "train --encode topk8" 0 train u-t8.fed --encode topk8:0.2
check "topk8: recorded with k, span and block" test \
    "$(field u-t8.fed '.encoding | [.scheme, .k, .span, .block, .error_feedback]')" = \
    "[\"topk8\",$(field u-topk.fed .encoding.k),128,256,false]"
check "topk8: under a third of topk's tensors" sh -c \
    'test $(($(tar xOf u-t8.fed tensors.safetensors | wc -c) * 3)) -lt \
          $(tar xOf u-topk.fed tensors.safetensors | wc -c)'
check "topk8: the entries topk keeps, values within a step of int8" \
    python3 -c '
import sys; sys.path.insert(0, ".")
from t8 import member, flat, topk8
t = member("u-topk.fed"); ix, va = t["topk.indices"], t["topk.values"]
d = topk8("u-t8.fed")
assert sorted(d) == list(ix)
m = max(abs(v) for v in va)
assert all(abs(d[i] - v) <= m / 127 for i, v in zip(ix, va))'
expect "verify: topk8" 0 fed-verify -n -q u-t8.fed
expect "fed-eval -u topk8" 0 sh -c \
    'fed-eval -m m0.fed -u u-t8.fed h-de.fed >/dev/null'

# 2. Error feedback: delta = decoded + residual, and the next round uses it.
expect "topk8 with a residual" 0 train r1.fed --encode topk8:0.2 --residual r.st
check "topk8: delta = sent + residual" python3 -c '
import sys; sys.path.insert(0, ".")
from t8 import member, st, flat, topk8, f32
x = flat(member("u-f32.fed")); r = flat(st(open("r.st", "rb").read()))
d = topk8("r1.fed")
assert len(x) == len(r)
assert all(abs(x[i] - (d.get(i, 0.0) + r[i])) <= 1e-6 * max(1, abs(x[i]))
           for i in range(len(x)))
assert any(r[i] != 0 for i in d)'
cp r.st r0.st
train r2.fed --encode topk8:0.2 --residual r.st
check "topk8: the residual moves the next update" sh -c '! cmp -s r1.fed r2.fed'

# 3. fed-merge streams it: the merged step is the decoded delta.
expect "merge: topk8" 0 fed-merge --unsigned -m m0.fed -o m1.fed u-t8.fed
check "merge: the step is the decoded delta" python3 -c '
import sys; sys.path.insert(0, ".")
from t8 import member, flat, topk8, f32
a = flat(member("m0.fed")); b = flat(member("m1.fed")); d = topk8("u-t8.fed")
assert all(b[i] == f32(a[i] + d.get(i, 0.0)) for i in range(len(a)))'
expect "merge: topk8 beside f32" 0 \
    fed-merge --unsigned -m m0.fed -o m2.fed u-t8.fed u-f32.fed
rebuilt topk8 topk8:0.3

# 4. Hostile encodings (1): rewritten with the manifest's hashes fixed up.
cat >evil.py <<'PY'
import struct, sys
sys.path.insert(0, sys.argv[4])
import rebundle
src, dst, what = sys.argv[1:4]
man, mem = rebundle.read(src)
b = bytearray(mem["tensors.safetensors"])
h, n = rebundle.header(b)
def at(k): return n + h[k]["data_offsets"][0]
c = at("topk.counts"); o = at("topk.offsets"); s = at("topk.scales")
q = at("topk.values"); ns = h["topk.counts"]["shape"][0]
k = h["topk.offsets"]["shape"][0]
first = next(i for i in range(ns) if b[c + i] >= 2)
e = sum(b[c:c + first])        # the first entry of that span
if what == "sum":
    b[c + ns - 1] = (b[c + ns - 1] + 1) % 256
elif what == "span":
    b[c] = 200
elif what == "order":
    b[o + e], b[o + e + 1] = b[o + e + 1], b[o + e]
elif what == "outside":
    b[c + ns - 1] += 1; b[c + first] -= 1
    b[o:o + k] = bytes(b[o:o + e] + b[o + e + 1:o + k] + b"\x7f")
elif what == "nanscale":
    b[s:s + 4] = struct.pack("<f", float("nan"))
elif what == "negscale":
    b[s:s + 4] = struct.pack("<f", -1.0)
elif what == "minus128":
    b[q] = 0x80
elif what == "zeroscale":
    b[s:s + 4] = struct.pack("<f", 0.0)
elif what == "spanfield":
    man["encoding"]["span"] = 64
mem["tensors.safetensors"] = bytes(b)
rebundle.write(dst, man, mem)
PY
rejected topk8 u-t8.fed sum span order outside nanscale negscale minus128 zeroscale \
    spanfield

# 5. Usage (2).
expect_err "topk8 fraction 0" 2 "FRACTION" train x.fed --encode topk8:0
expect_err "topk8 fraction not a number" 2 "FRACTION" train x.fed --encode topk8:x
expect_err "topk8 fraction over 1" 2 "FRACTION" train x.fed --encode topk8:1.5
check "nothing written on usage errors" test ! -e x.fed
