# download: fed-merge --download, --residual and --apply (issue 24): the
# int8 download of a merge, from which a holder rebuilds the next model
# byte for byte.  Checks the rebuild over rounds for each kind of server
# state (none, momentum, moments, shared Adam moments), the arithmetic of
# the error feedback against a reimplementation here, that downloads of
# another model, forged ones and wrong ones are rejected (1) with nothing
# written, and that options that do not fit are usage errors (2).
. "$FED_ROOT/tests/sh/lib.sh"

pages t
fed-shard -q -f text -p file -o h t/de t/fr
fed-init -a gpt:1-16-2-16 -s 1 -o m0.fed
cp m0.fed k0.fed

# round RULE R [train options]: both holders train from k(R-1); the
# coordinator merges into m$R with the download s$R, the holder rebuilds
# k$R from k(R-1) and s$R
round() {
	rule=$1 r=$2
	shift 2
	for h in de fr; do
		fed-train -m k$((r - 1)).fed -d h-$h.fed --steps 2 -b 4 \
		    -l 0.01 --warmup 0 --schedule constant -s "$r" --name $h \
		    -o u$r-$h.fed "$@" || return 1
	done
	enc="--residual res.st"
	[ -n "${DENC:-}" ] && enc="--download-encode $DENC --residual res-$r.st"
	fed-merge --unsigned -m k$((r - 1)).fed -r $rule --download s$r.fed \
	    $enc -o m$r.fed u$r-de.fed u$r-fr.fed &&
	    fed-merge -m k$((r - 1)).fed --apply s$r.fed -o k$r.fed &&
	    cmp -s m$r.fed k$r.fed
}
check "nesterov: the holder rebuilds round 1" round nesterov 1
cp res.st res-1.st
check "nesterov: and round 2, its momentum continued" round nesterov 2
cp res.st res-2.st
check "fedadam: round 3, its state fresh" round fedadam 3
check "fedadam: round 4, its state continued" round fedadam 4
check "fedavg with shared moments: round 5" round fedavg 5 --moments
check "nesterov with shared moments: round 6" round nesterov 6 --moments
DENC=topk:0.1
check "a top-k download with feedback: round 7" round nesterov 7
check "top-k: recorded" sh -c 'tar -xOf s7.fed manifest.json |
    jq -e ".encoding.scheme == \"topk\" and .encoding.error_feedback"'
unset DENC
for h in de fr; do
	fed-train -m k7.fed -d h-$h.fed --steps 2 -b 4 -l 0.01 --warmup 0 \
	    --schedule constant -s 8 --name $h -o u8-$h.fed
done
fed-merge --unsigned -m k7.fed --download-encode fp16 --download s8.fed \
    -o m8.fed u8-de.fed u8-fr.fed
check "an fp16 download, no feedback: rebuilt" sh -c \
    'fed-merge -m k7.fed --apply s8.fed | cmp -s - m8.fed'
check "the download is small" test "$(wc -c <s2.fed)" -lt \
    "$(($(wc -c <m2.fed) / 4))"
check "fed-verify accepts a download" fed-verify -n s6.fed
check "the record says so" sh -c \
    'tar -xOf m2.fed manifest.json | jq -e ".merge.download.feedback"'

# The error feedback: decoded aggregate plus the new residual is the
# updates' weighted mean plus the old residual (round 2, from res-1.st).
cat >ef.py <<'PY'
import json, struct, sys, tarfile
def st(b):
    n = struct.unpack("<Q", b[:8])[0]
    return json.loads(b[8:8 + n]), b[8 + n:]
def member(path, name):
    return tarfile.open(path).extractfile(name).read()
def named(b):
    h, x = st(b)
    out = {}
    for k, v in h.items():
        if k == "__metadata__":
            continue
        a, z = v["data_offsets"]
        f = "<%d%s" % ((z - a) // (4 if v["dtype"] == "F32" else 1),
                       "f" if v["dtype"] == "F32" else "b")
        out[k] = struct.unpack(f, x[a:z])
    return out
def int8(b):    # NAME: I8 values, NAME.scale: one per block of 256
    t = named(b)
    return {k: [q * t[k + ".scale"][i // 256] for i, q in enumerate(v)]
            for k, v in t.items() if not k.endswith(".scale")}
ups = sys.argv[4:]
n = [json.loads(member(u, "manifest.json"))["samples"] for u in ups]
d = [named(member(u, "tensors.safetensors")) for u in ups]
r0 = named(open(sys.argv[1], "rb").read())
r1 = named(open(sys.argv[2], "rb").read())
q = int8(member(sys.argv[3], "tensors.safetensors"))
err = big = kept = 0
for k in q:
    for i in range(len(q[k])):
        mean = sum(n[u] * d[u][k][i] for u in range(len(d))) / sum(n)
        err = max(err, abs(q[k][i] + r1[k][i] - mean - r0[k][i]))
        big, kept = max(big, abs(mean)), max(kept, abs(r1[k][i]))
sys.exit(0 if err <= 1e-5 * big and kept > 0 else 1)
PY
check "error feedback: aggregate + residual kept = mean + residual" \
    python3 ef.py res-1.st res-2.st s2.fed u2-de.fed u2-fr.fed

# An auditor re-runs round 2 from the residual before it: the same bytes.
cp res-1.st audit.st
fed-merge --unsigned -m k1.fed -r nesterov --download s2b.fed \
    --residual audit.st -o m2b.fed u2-fr.fed u2-de.fed
check "re-run: the same model" cmp -s m2.fed m2b.fed
check "re-run: the same download" cmp -s s2.fed s2b.fed
check "re-run: the same residual" cmp -s res-2.st audit.st
# Without --residual there is no feedback, and the record says so.
fed-merge --unsigned -m k1.fed -r nesterov --download s2n.fed -o m2n.fed \
    u2-de.fed u2-fr.fed
check "no residual: rebuilt all the same" sh -c \
    'fed-merge -m k1.fed --apply s2n.fed | cmp -s - m2n.fed'
check "no residual: recorded" sh -c \
    'tar -xOf m2n.fed manifest.json | jq -e ".merge.download.feedback == false"'
check "without --download: no record of one" sh -c \
    'fed-merge --unsigned -m k1.fed -r nesterov u2-de.fed u2-fr.fed |
    tar -xOf - manifest.json | jq -e ".merge.download == null"'

# Rejected (1), nothing written.
expect_err "a download of another model" 1 "a download from sha256:" \
    fed-merge -m k1.fed --apply s3.fed -o x.fed
expect_err "a model as a download" 1 "a model bundle, not a download" \
    fed-merge -m k1.fed --apply m2.fed -o x.fed
expect_err "an update as a download" 1 "an\? update bundle, not a download" \
    fed-merge -m k1.fed --apply u2-de.fed -o x.fed
expect_err "a download as a model" 1 "a step bundle, not a model" \
    fed-merge -m s2.fed --apply s2.fed -o x.fed
# forgeries: a changed aggregate (its hash set right), a manifest that is
# not the digest named, and a named model that is another's
cat >forge.py <<'PY'
import hashlib, io, json, sys, tarfile
src, dst, what = sys.argv[1:4]
t = tarfile.open(src)
mem = {m.name: t.extractfile(m).read() for m in t.getmembers()}
man = json.loads(mem["manifest.json"])
if what == "values":
    b = bytearray(mem["tensors.safetensors"]); b[-1] = (b[-1] + 1) % 128
    mem["tensors.safetensors"] = bytes(b)
elif what == "manifest":
    man["manifest"] = man["manifest"].replace('"round": ', '"round":  ')
elif what == "other":
    other = json.loads(open(sys.argv[4], "rb").read())
    man["manifest"] = json.dumps(other, sort_keys=True, indent=2) + "\n"
    man["model"] = "sha256:" + hashlib.sha256(man["manifest"].encode()).hexdigest()
for m in man["members"]:
    m["sha256"] = hashlib.sha256(mem[m["name"]]).hexdigest()
mem["manifest.json"] = (json.dumps(man, sort_keys=True, indent=2) + "\n").encode()
out = tarfile.open(dst, "w", format=tarfile.USTAR_FORMAT)
for name in ["manifest.json"] + [m["name"] for m in man["members"]]:
    i = tarfile.TarInfo(name); i.size = len(mem[name]); i.mode = 0o644
    out.addfile(i, io.BytesIO(mem[name]))
out.close()
PY
python3 forge.py s2.fed f-values.fed values
python3 forge.py s2.fed f-manifest.fed manifest
tar -xOf m2n.fed manifest.json >other.json
python3 forge.py s2.fed f-other.fed other other.json
expect_err "a forged aggregate" 1 "does not rebuild the model it names" \
    fed-merge -m k1.fed --apply f-values.fed -o x.fed
expect_err "a manifest not the digest named" 1 "not the model it names" \
    fed-merge -m k1.fed --apply f-manifest.fed -o x.fed
expect_err "another merge's model" 1 "does not rebuild" \
    fed-merge -m k1.fed --apply f-other.fed -o x.fed
check "nothing written" test ! -e x.fed
cp res.st res-before.st
printf 'junk' >bad.fed
expect "a bad update: the merge fails" 1 fed-merge --unsigned -m k1.fed \
    -r nesterov --download sx.fed --residual res.st -o x.fed u2-de.fed bad.fed
check "a failed merge: no download" test ! -e sx.fed
check "a failed merge: the residual unchanged" cmp -s res.st res-before.st

# Usage (2).
expect_err "--apply: a missing download" 2 "nope.fed" \
    fed-merge -m k1.fed --apply nope.fed -o x.fed
expect_err "--apply: a directory" 2 "t" fed-merge -m k1.fed --apply t -o x.fed
expect_err "--apply takes no updates" 2 "no updates" \
    fed-merge -m k1.fed --apply s2.fed u2-de.fed
expect_err "--residual needs --download" 2 "needs --download" \
    fed-merge --unsigned -m k1.fed --residual r.st u2-de.fed
expect_err "--residual: not with an fp16 download" 2 "int8, rsign or topk" \
    fed-merge --unsigned -m k1.fed --download d.fed --download-encode fp16 \
    --residual r.st u2-de.fed
expect_err "--download-encode: an unknown encoding" 2 "unknown" \
    fed-merge --unsigned -m k1.fed --download d.fed --download-encode int4 \
    u2-de.fed
expect_err "--download: not a robust rule" 2 "not median" \
    fed-merge --unsigned -m k1.fed -r median --download d.fed u2-de.fed
expect_err "--download: not with DP" 2 "dp-noise" \
    fed-merge --unsigned -m k1.fed --download d.fed --clip-norm 1 \
    --dp-noise 1 -s 1 u2-de.fed
expect_err "--download and the model both on standard output" 2 \
    "standard output" fed-merge --unsigned -m k1.fed --download - u2-de.fed
check "usage errors write nothing" test ! -e d.fed -a ! -e r.st
