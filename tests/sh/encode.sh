# Encoded updates (fed-train --encode): sizes, determinism, verification,
# fed-eval -u, fed-merge over mixed encodings, error feedback, hostile
# encoded tensors rejected, usage errors.
. "$FED_ROOT/tests/sh/lib.sh"
PY=/usr/bin/python3
FM=/usr/share/datasets/fashion-mnist
if [ ! -r "$FM/train-images-idx3-ubyte.gz" ]; then
	echo "# Fashion-MNIST missing: encode tests skipped"
	exit 0
fi
tsize() { tar -xOf "$1" tensors.safetensors | wc -c; }
field() { tar -xOf "$1" manifest.json | jq -c "$2"; }

fed-shard -q -n 20 -p iid -s 1 -t 0.1 -o fm "$FM/train-images-idx3-ubyte.gz" \
    "$FM/train-labels-idx1-ubyte.gz"
fed-init -a mlp:784-64-10 -s 1 -o m0.fed
fed-train -m m0.fed -d fm-000.fed -e 1 -s 3 -o u-f32.fed
for c in fp16 bf16 int8 topk:0.01; do
	n=${c%%:*}
	expect "train --encode $c" 0 fed-train -m m0.fed -d fm-000.fed -e 1 -s 3 \
	    --encode $c -o u-$n.fed
	check "$c recorded" test "$(field u-$n.fed .encoding.scheme)" = "\"$n\""
	expect "$c verifies" 0 fed-verify -n -q u-$n.fed
	expect "fed-eval -u $c" 0 sh -c "fed-eval -m m0.fed -u u-$n.fed fm-000.test.fed >/dev/null"
done
full=$(tsize u-f32.fed)
ratio() { awk -v a="$(tsize "$1")" -v b="$full" -v m="$2" 'BEGIN { exit !(a / b <= m) }'; }
check "fp16 at most 0.51x" ratio u-fp16.fed 0.51
check "bf16 at most 0.51x" ratio u-bf16.fed 0.51
check "int8 at most 0.27x" ratio u-int8.fed 0.27
check "topk:0.01 at most 0.03x" ratio u-topk.fed 0.03

fed-train -m m0.fed -d fm-000.fed -e 1 -s 3 --encode int8 --stochastic-rounding -o s1.fed
fed-train -m m0.fed -d fm-000.fed -e 1 -s 3 --encode int8 --stochastic-rounding -o s2.fed
check "stochastic rounding is seeded" cmp s1.fed s2.fed
check "stochastic rounding recorded" test "$(field s1.fed .encoding.rounding)" = '"stochastic"'

# error feedback: the residual appears, is used, and carries on
expect "topk with a residual" 0 fed-train -m m0.fed -d fm-000.fed -e 1 -s 3 \
    --encode topk:0.01 --residual res.st -o r1.fed
check "residual written" test -s res.st
tar -xOf r1.fed tensors.safetensors >t1; tar -xOf u-topk.fed tensors.safetensors >t0
check "first round sends what plain topk sends" cmp t0 t1
check "error feedback recorded" test "$(field r1.fed .encoding.error_feedback)" = true
cp res.st res1.st
fed-train -m m0.fed -d fm-000.fed -e 1 -s 3 --encode topk:0.01 --residual res.st -o r2.fed
check "residual changes the next update" sh -c '! cmp -s r1.fed r2.fed'
check "residual updated" sh -c '! cmp -s res.st res1.st'
echo junk >bad.st
expect "bad residual" 1 fed-train -m m0.fed -d fm-000.fed -e 1 --encode topk:0.1 \
    --residual bad.st -o x.fed

# int8 error feedback: the first round sends what plain int8 sends, the
# residual is written and moves the next update
expect "int8 with a residual" 0 fed-train -m m0.fed -d fm-000.fed -e 1 -s 3 \
    --encode int8 --residual res8.st -o q1.fed
check "int8: residual written" test -s res8.st
tar -xOf q1.fed tensors.safetensors >q1; tar -xOf u-int8.fed tensors.safetensors >q0
check "int8: first round sends what plain int8 sends" cmp q0 q1
check "int8: error feedback recorded" test "$(field q1.fed .encoding.error_feedback)" = true
check "int8: plain int8 records none" test "$(field u-int8.fed .encoding.error_feedback)" = null
expect "int8 with a residual verifies" 0 fed-verify -n -q q1.fed
fed-train -m m0.fed -d fm-000.fed -e 1 -s 3 --encode int8 --residual res8.st -o q2.fed
check "int8: residual changes the next update" sh -c '! cmp -s q1.fed q2.fed'

# mixed encodings in one merge, any order
expect "mixed merge" 0 fed-merge --unsigned -m m0.fed -o mix.fed u-f32.fed u-fp16.fed \
    u-bf16.fed u-int8.fed u-topk.fed
fed-merge --unsigned -j 1 -m m0.fed -o mix2.fed u-topk.fed u-int8.fed u-bf16.fed \
    u-fp16.fed u-f32.fed
check "mixed merge does not depend on order" cmp mix.fed mix2.fed
check "mixed merge records each update's encoding" test \
    "$(field mix.fed '[.merge.updates[].encoding] | sort')" = \
    '["bf16","f32","fp16","int8","topk"]'
if [ -x "$PY" ] && "$PY" -c 'import numpy' 2>/dev/null; then
	for n in fp16 bf16 int8; do
		fed-merge --unsigned -m m0.fed -o g-$n.fed u-$n.fed
	done
	fed-merge --unsigned -m m0.fed -o g-f32.fed u-f32.fed
	check "merged encodings near float32" "$PY" -c "
import sys; sys.path.insert(0, '$FED_ROOT/tests/bench'); import merge_ref as r
a = r.floats('g-f32.fed'); m = abs(a - r.floats('m0.fed')).max()
b = {n: abs(r.floats('g-%s.fed' % n) - a).max() / m for n in ['fp16', 'bf16', 'int8']}
sys.exit(not (b['fp16'] < 2**-10 and b['bf16'] < 2**-7 and b['int8'] < 1 / 127))"

	# ---- hostile encoded tensors: rewritten with a valid manifest ----
	evil() {    # evil IN OUT WHAT
		"$PY" - "$@" <<'PYEOF'
import hashlib, io, json, struct, sys, tarfile
src, dst, what = sys.argv[1:4]
t = tarfile.open(src)
man = json.loads(t.extractfile('manifest.json').read())
st = bytearray(t.extractfile('tensors.safetensors').read())
hl = struct.unpack('<Q', st[:8])[0]
hdr = json.loads(st[8:8 + hl]); base = 8 + hl
def at(name): return base + hdr[name]['data_offsets'][0]
if what == 'unsorted':
    o = at('topk.indices'); a, b = st[o:o + 4], st[o + 4:o + 8]
    st[o:o + 4], st[o + 4:o + 8] = b, a
elif what == 'range':
    o = at('topk.indices') + 4 * (hdr['topk.indices']['shape'][0] - 1)
    st[o:o + 4] = struct.pack('<i', 10 ** 9)
elif what == 'nanscale':
    st[at('dense.0.weight.scale'):at('dense.0.weight.scale') + 4] = struct.pack('<f', float('nan'))
elif what == 'negscale':
    st[at('dense.0.weight.scale'):at('dense.0.weight.scale') + 4] = struct.pack('<f', -1.0)
elif what == 'minus128':
    st[at('dense.0.weight')] = 0x80
elif what == 'shape':
    man['encoding']['k'] += 1
for m in man['members']:
    if m['name'] == 'tensors.safetensors':
        m['sha256'] = hashlib.sha256(st).hexdigest()
mb = json.dumps(man).encode()
with tarfile.open(dst, 'w', format=tarfile.USTAR_FORMAT) as o:
    for name, data in (('manifest.json', mb), ('tensors.safetensors', bytes(st))):
        i = tarfile.TarInfo(name); i.size = len(data); i.mode = 0o644
        o.addfile(i, io.BytesIO(data))
PYEOF
	}
	evil u-topk.fed same.fed none
	expect "rewriting keeps a valid bundle" 0 fed-verify -n -q same.fed
	for w in unsorted range shape; do
		evil u-topk.fed e-$w.fed $w
		expect "topk $w: fed-verify" 1 fed-verify -n -q e-$w.fed
		expect "topk $w: fed-merge" 1 fed-merge --unsigned -m m0.fed -o x.fed e-$w.fed
		expect "topk $w: fed-eval" 1 sh -c "fed-eval -m m0.fed -u e-$w.fed fm-000.test.fed >/dev/null"
	done
	for w in nanscale negscale minus128; do
		evil u-int8.fed e-$w.fed $w
		expect "int8 $w: fed-verify" 1 fed-verify -n -q e-$w.fed
		expect "int8 $w: fed-merge" 1 fed-merge --unsigned -m m0.fed -o x.fed u-f32.fed e-$w.fed
	done
	check "no output on rejection" test ! -e x.fed
fi

# ---- usage ----
expect_err "unknown encoding" 2 "unknown" fed-train -m m0.fed -d fm-000.fed --encode int4
expect_err "topk fraction" 2 "FRACTION" fed-train -m m0.fed -d fm-000.fed --encode topk:0
expect_err "stochastic without int8" 2 "int8" fed-train -m m0.fed -d fm-000.fed \
    --encode fp16 --stochastic-rounding
expect_err "residual without topk or int8" 2 "topk" fed-train -m m0.fed -d fm-000.fed \
    --encode fp16 --residual r.st
expect_err "residual on standard input" 2 "not standard input" fed-train \
    -m m0.fed -d fm-000.fed --encode topk:0.1 --residual -
