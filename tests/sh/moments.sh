# moments: shared Adam moments (fed-train --moments, --slices; fed-merge
# and fed-verify of moments.safetensors).  Checks the arithmetic against
# a reimplementation here, that a round continues from the merged
# moments, and that every inconsistent or hostile moments member is
# rejected (1); options that do not fit are usage errors (2).
. "$FED_ROOT/tests/sh/lib.sh"

mkdir -p t/de t/fr t/es
for i in 1 2 3 4 5 6; do
	printf 'Der Hund %d schläft unter dem Tisch, die Katze auf dem Sofa.\n' \
	    "$i" >t/de/p$i.txt
	printf 'Le chien %d dort sous la table, le chat sur le canapé.\n' \
	    "$i" >t/fr/p$i.txt
	printf 'El perro %d duerme bajo la mesa, el gato en el sofá.\n' \
	    "$i" >t/es/p$i.txt
done
fed-shard -q -f text -p file -o h t/de t/fr t/es
fed-init -a gpt:1-16-2-16 -s 1 -o m0.fed
train() {   # model holder steps seed out [options]
	m=$1 h=$2 s=$3 seed=$4 o=$5
	shift 5
	fed-train -m "$m" -d "h-$h.fed" --steps "$s" -b 4 -l 0.01 --warmup 0 \
	    --schedule constant -s "$seed" --name "$h" -o "$o" "$@"
}

# Python helpers: a bundle's member as floats, and its manifest.
cat >mom.py <<'PY'
import json, struct, sys, tarfile
def member(path, name):
    t = tarfile.open(path)
    b = t.extractfile(name).read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    keys = sorted((k for k in h if k != "__metadata__"),
                  key=lambda k: h[k]["data_offsets"][0])
    x = b[8 + n:]
    return keys, list(struct.unpack("<%df" % (len(x) // 4), x))
def manifest(path):
    return json.loads(tarfile.open(path).extractfile("manifest.json").read())
def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]
PY

# 1. A holder's first round: from zero moments, as plain AdamW.
expect "train: --moments from a model without moments" 0 \
    train m0.fed de 3 1 u1-de.fed --moments
train m0.fed de 3 1 plain.fed --opt-state os.st
check "train: the delta is plain AdamW's" sh -c \
    'test "$(tar xOf u1-de.fed tensors.safetensors | sha256sum)" = \
          "$(tar xOf plain.fed tensors.safetensors | sha256sum)"'
check "train: moments member and step" sh -c \
    'tar tf u1-de.fed | tr "\n" " " | grep -q \
     "^manifest.json tensors.safetensors moments.safetensors $" &&
     tar xOf u1-de.fed manifest.json | jq -e \
     ".moments.step == 3 and .train.slices == 1"'
check "train: m is Adam's, w its spread max(v - m^2, 0)" python3 -c '
import sys, struct, json; sys.path.insert(0, ".")
from mom import member
keys, x = member("u1-de.fed", "moments.safetensors")
b = open("os.st", "rb").read()
n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n])
def get(k):
    s, e = h[k]["data_offsets"]
    d = b[8 + n + s:8 + n + e]
    return struct.unpack("<%df" % (len(d) // 4), d)
m, v = get("exp_avg"), get("exp_avg_sq")
P = len(m)
assert len(x) == 2 * P and keys[0] == "m.wte.weight"
assert keys[len(keys) // 2] == "w.wte.weight"
assert list(m) == x[:P]
for i in range(P):
    w = struct.unpack("<f", struct.pack("<f", v[i] - struct.unpack("<f",
        struct.pack("<f", m[i] * m[i]))[0]))[0]
    assert x[P + i] == max(w, 0.0), i
assert any(y > 0 for y in x[P:])'
expect "verify: update with moments" 0 fed-verify -n -q u1-de.fed
train m0.fed fr 3 1 u1-fr.fed --moments
train m0.fed es 3 1 u1-es.fed --moments

# 2. The merge: m the weighted mean, v = m^2 + the weighted mean spread.
expect "merge: updates with moments" 0 fed-merge --unsigned -m m0.fed -o m1.fed \
    u1-de.fed u1-fr.fed u1-es.fed
check "merge: model carries moments at step 3" sh -c \
    'tar tf m1.fed | grep -q moments.safetensors &&
     tar xOf m1.fed manifest.json | jq -e ".moments.step == 3"'
check "merge: m and v as fed-bundle(5) says" python3 -c '
import sys; sys.path.insert(0, ".")
from mom import member, manifest, f32
keys, out = member("m1.fed", "moments.safetensors")
P = len(out) // 2
assert keys[len(keys) // 2] == "v.wte.weight"
ups = ["u1-de.fed", "u1-es.fed", "u1-fr.fed"]
c = [manifest(u)["samples"] for u in ups]
c = [s / sum(c) for s in c]
xs = [member(u, "moments.safetensors")[1] for u in ups]
for i in range(P):
    m = sum(ck * x[i] for ck, x in zip(c, xs))
    assert abs(out[i] - m) <= 1e-6 * abs(m) + 1e-12, i
    v = out[i] * out[i] + sum(ck * x[P + i] for ck, x in zip(c, xs))
    assert abs(out[P + i] - v) <= 1e-6 * v, i'
expect "verify: model with moments" 0 fed-verify -n -q m1.fed
fed-merge --unsigned -m m0.fed -o m1b.fed u1-es.fed u1-de.fed u1-fr.fed
check "merge: same bytes in any order" cmp m1.fed m1b.fed
expect "merge: moments under nesterov" 0 fed-merge --unsigned -m m0.fed -r nesterov \
    -o m1n.fed u1-de.fed u1-fr.fed u1-es.fed
check "merge: nesterov keeps its state beside the moments" sh -c \
    'test "$(tar tf m1n.fed | tr "\n" " ")" = \
     "manifest.json tensors.safetensors state.safetensors moments.safetensors "'

# 3. The next round starts from the merged moments.
expect "train: from a model's moments" 0 train m1.fed de 2 2 u2-de.fed --moments
train m1.fed de 2 2 u2-plain.fed
check "train: step is the model's plus its own" sh -c \
    'tar xOf u2-de.fed manifest.json | jq -e ".moments.step == 5"'
check "train: shared moments change the delta" sh -c \
    'test "$(tar xOf u2-de.fed tensors.safetensors | sha256sum)" != \
          "$(tar xOf u2-plain.fed tensors.safetensors | sha256sum)"'
train m1.fed fr 2 2 u2-fr.fed --moments
expect "merge: second round" 0 fed-merge --unsigned -m m1.fed -o m2.fed u2-de.fed \
    u2-fr.fed
train m1.fed de 2 2 u2-again.fed --moments
check "train: deterministic with moments" cmp u2-de.fed u2-again.fed

# 4. Rejected (1): mixed, stale, wrong rule, hostile members.
expect_err "merge: an update without moments" 1 "carries no moments" \
    fed-merge --unsigned -m m1.fed -o e.fed u2-de.fed u2-plain.fed
expect "merge: --skip-bad leaves it out" 0 fed-merge --unsigned -m m1.fed --skip-bad \
    -o m2s.fed u2-de.fed u2-plain.fed
check "merge: skipped, with its reason" sh -c \
    'tar xOf m2s.fed manifest.json | jq -e ".merge.skipped | length == 1
     and (.[0].reason | test(\"no moments\"))"'
expect_err "merge: moments under median" 1 "median cannot merge" \
    fed-merge --unsigned -m m1.fed -r median -o e.fed u2-de.fed u2-fr.fed
expect_err "merge: moments under dp-fedavg" 1 "dp-fedavg cannot merge" \
    fed-merge --unsigned -m m1.fed --dp-noise 1 --clip-norm 1 -s 7 -o e.fed u2-de.fed u2-fr.fed
# hand-made variants of u2-de.fed, its manifest's hashes fixed up
cat >tamper.py <<'PY'
import hashlib, io, json, struct, sys, tarfile
src, out, what = sys.argv[1:4]
t = tarfile.open(src)
mem = {m.name: t.extractfile(m).read() for m in t.getmembers()}
man = json.loads(mem["manifest.json"])
mo = bytearray(mem["moments.safetensors"])
n = struct.unpack("<Q", mo[:8])[0]
P = (len(mo) - 8 - n) // 8
if what == "step":
    man["moments"]["step"] += 1
elif what == "nostep":
    del man["moments"]
elif what == "negative":
    struct.pack_into("<f", mo, 8 + n + 4 * (P + 7), -1e-9)
elif what == "lastneg":
    struct.pack_into("<f", mo, len(mo) - 4, -2.0)
elif what == "nan":
    struct.pack_into("<f", mo, 8 + n + 4 * 3, float("nan"))
elif what == "short":
    h = json.loads(bytes(mo[8:8 + n]))
    del mo[-4:]
elif what == "renamed":
    h = json.loads(bytes(mo[8:8 + n]))
    h["v.wte.weight"] = h.pop("w.wte.weight")
    hb = json.dumps(h, separators=(",", ":")).encode()
    hb += b" " * (-len(hb) % 8)
    mo = bytearray(struct.pack("<Q", len(hb)) + hb + bytes(mo[8 + n:]))
mem["moments.safetensors"] = bytes(mo)
names = [m["name"] for m in man["members"]]
man["members"] = [{"name": k, "size": len(mem[k]),
                   "sha256": hashlib.sha256(mem[k]).hexdigest()} for k in names]
mem["manifest.json"] = (json.dumps(man, indent=2, sort_keys=True) + "\n").encode()
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as o:
    for k in ["manifest.json"] + names:
        ti = tarfile.TarInfo(k); ti.size = len(mem[k]); ti.mode = 0o644
        o.addfile(ti, io.BytesIO(mem[k]))
open(out, "wb").write(buf.getvalue())
PY
for c in step nostep negative nan short renamed; do
	python3 tamper.py u2-de.fed bad-$c.fed $c
done
expect_err "merge: moments at the wrong step" 1 "not the model's 3 plus 2" \
    fed-merge --unsigned -m m1.fed -o e.fed bad-step.fed u2-fr.fed
expect_err "verify: member without the manifest's moments" 1 \
    "one without the other" fed-verify -n -q bad-nostep.fed
expect_err "merge: member without the manifest's moments" 1 \
    "carries no moments" fed-merge --unsigned -m m1.fed -o e.fed bad-nostep.fed u2-fr.fed
expect_err "verify: negative spread" 1 "not finite and >= 0" \
    fed-verify -n -q bad-negative.fed
expect_err "merge: negative spread" 1 "spread not finite" \
    fed-merge --unsigned -m m1.fed -o e.fed u2-fr.fed bad-negative.fed
expect "verify: NaN moment" 1 fed-verify -n -q bad-nan.fed
expect "merge: NaN moment" 1 fed-merge --unsigned -m m1.fed -o e.fed bad-nan.fed u2-fr.fed
expect "verify: short member" 1 fed-verify -n -q bad-short.fed
expect_err "merge: short member" 1 "moments.safetensors" \
    fed-merge --unsigned -m m1.fed -o e.fed bad-short.fed u2-fr.fed
expect_err "verify: misnamed tensor" 1 "w.wte.weight missing" \
    fed-verify -n -q bad-renamed.fed
expect_err "merge: misnamed tensor" 1 "w.wte.weight missing" \
    fed-merge --unsigned -m m1.fed -o e.fed bad-renamed.fed u2-fr.fed
check "merge: nothing written on rejection" test ! -e e.fed
# a model whose moments are hostile is refused by the holders
python3 tamper.py m1.fed mbad.fed lastneg
expect_err "train: a model's negative second moment" 1 "not finite and >= 0" \
    train mbad.fed de 1 1 e.fed --moments
expect "verify: a model's negative second moment" 1 fed-verify -n -q mbad.fed
check "train: nothing written on rejection" test ! -e e.fed

# 5. --slices: k holders sharing moments, one step each, in one trainer.
expect "train: --slices" 0 fed-train -m m0.fed -d h-de.fed --steps 1 -b 4 \
    -l 0.01 --warmup 0 -s 3 --slices 2 -o sl.fed
check "train: --slices recorded" sh -c \
    'tar xOf sl.fed manifest.json | jq -e ".train.slices == 2"'
check "train: --slices changes the step" sh -c \
    'fed-train -m m0.fed -d h-de.fed --steps 1 -b 4 -l 0.01 --warmup 0 -s 3 \
     -o nosl.fed &&
     test "$(tar xOf sl.fed tensors.safetensors | sha256sum)" != \
          "$(tar xOf nosl.fed tensors.safetensors | sha256sum)"'
check "train: --slices steps by the mean of the slices' steps" sh -c \
    'fed-train -m m0.fed -d h-de.fed --steps 1 -b 4 -l 0.01 --warmup 0 -s 3 \
     --slices 4 -o sl4.fed && python3 -c "
import sys; sys.path.insert(0, \".\")
from mom import member
_, x = member(\"sl4.fed\", \"tensors.safetensors\")
# from zero moments every slice moves every weight by at most lr, and a
# weight with a gradient in every slice by lr times a mean of signs
assert max(abs(v) for v in x) <= 0.01 * 1.0001
assert any(0 < abs(v) < 0.0099 for v in x)
"'
expect_err "usage: --slices not dividing -b" 2 "want a divisor" \
    fed-train -m m0.fed -d h-de.fed --steps 1 -b 4 --slices 3 -o e.fed
expect_err "usage: --slices with --v-batch" 2 "no --v-batch" \
    fed-train -m m0.fed -d h-de.fed --steps 1 -b 4 --slices 2 --v-batch 8 \
    -o e.fed
expect "usage: --slices 1" 2 fed-train -m m0.fed -d h-de.fed --slices 1
expect_err "usage: --moments with --opt-state" 2 "exclude each other" \
    fed-train -m m0.fed -d h-de.fed --moments --opt-state o.st -o e.fed
fed-init -a mlp:2-4-2 -o mlp.fed
printf 'a,label\n1,0\n0,1\n' >c.csv
fed-shard -q -f csv --label label -o c c.csv
expect_err "usage: --moments is for gpt" 2 "for gpt" \
    fed-train -m mlp.fed -d c-000.fed --moments -o e.fed
expect_err "usage: --slices is for gpt" 2 "for gpt" \
    fed-train -m mlp.fed -d c-000.fed --slices 2 -b 2 -o e.fed
expect_err "usage: --moments with --dp" 2 "exclude each other" \
    fed-train -m mlp.fed -d c-000.fed --moments --dp --noise 1 -o e.fed
