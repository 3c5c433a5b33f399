# fed-delta: updates from weights trained elsewhere; merged, verified.
. "$FED_ROOT/tests/sh/lib.sh"

MKST="python3 $FED_ROOT/tests/tools/mkst.py"
$MKST lib m.st
$MKST lib t1.st 1.5
$MKST rev t2.st 0.5
$MKST f32 f.st
$MKST f32 f1.st 2
$MKST nan nan.st
fed-init -f m.st -o m0.fed
fed-init -f f.st -o f0.fed
echo '{"framework": "pytorch", "epochs": 1}' > meta.json

expect "delta: an update" 0 fed-delta -m m0.fed -n 10 -o u1.fed t1.st
expect "delta: verifies" 0 fed-verify -n u1.fed
check "delta: parent, round, samples as fed-train writes them" sh -c '
    p=$(fed-verify -n m0.fed | cut -d" " -f3)
    tar xOf u1.fed manifest.json | jq -e --arg p "$p" ".kind == \"update\" and .parent == \$p and .round == 0 and .samples == 10 and .arch == (\"$(tar xOf m0.fed manifest.json | jq -r .arch)\")"'
expect "delta: other layout, stdin, --meta" 0 sh -c 'fed-delta --model m0.fed --samples 30 --meta meta.json - < t2.st > u2.fed'
check "delta: the trainer's description kept" sh -c 'tar xOf u2.fed manifest.json | jq -e ".trainer.framework == \"pytorch\""'
check "delta: same input, same bytes" sh -c 'fed-delta -m m0.fed -n 10 t1.st | cmp - u1.fed'
expect "delta: encoded" 0 fed-delta -m m0.fed -n 5 --encode int8 -o u3.fed t1.st
expect "delta: encoded verifies" 0 fed-verify -n u3.fed
check "delta: trained minus model, in float32" sh -c '
    tar xOf u1.fed tensors.safetensors | python3 -c "
import sys, struct, json
b = sys.stdin.buffer.read(); n = struct.unpack(\"<Q\", b[:8])[0]
h = json.loads(b[8:8+n]); o = h[\"conv.bias\"][\"data_offsets\"]
v = struct.unpack(\"<4f\", b[8+n+o[0]:8+n+o[1]])
sys.exit(0 if h[\"emb.h\"][\"dtype\"] == \"F32\" and v == (0.25, -0.5, 1.0, 0.0) else 1)"'

# merging float32 sets with every kind of rule
fed-delta -m f0.fed -n 10 -o g1.fed f1.st
fed-delta -m f0.fed -n 20 -o g2.fed f.st
fed-delta -m f0.fed -n 20 --encode topk:0.5 -o g3.fed f1.st
for r in fedavg median trimmed-mean:0.2 fedadam krum:0 nesterov; do
	expect "delta: merge -r $r" 0 fed-merge --unsigned -m f0.fed -r $r -o "f1-$r.fed" g1.fed g2.fed g3.fed
done
expect "delta: merged model verifies" 0 fed-verify -n f1-fedavg.fed
expect "delta: merged weights out" 0 fed-verify -n -q --weights f1.st.out f1-fedavg.fed
check "delta: one update merged is the trained weights" sh -c '
    fed-merge --unsigned -m f0.fed -o one.fed g1.fed && fed-verify -n -q --weights one.st one.fed &&
    /usr/bin/python3 "$FED_ROOT/tests/tools/stsame.py" one.st f1.st'

expect_err "delta: non-finite refused" 1 "finite" fed-delta -m m0.fed -n 1 -o bad.fed nan.st
expect_err "delta: another tensor set refused" 1 "tensors, the model has" fed-delta -m m0.fed -n 1 -o bad.fed f.st
expect_err "delta: other dtypes refused" 1 "dtype\|tensors, the model" fed-delta -m f0.fed -n 1 -o bad.fed m.st
fed-init -a softmax:4-2 -o sm.fed
expect_err "delta: fed's own arch, wrong names" 1 "tensors, the model has\|missing" fed-delta -m sm.fed -n 1 -o bad.fed f.st
expect_err "delta: an update is not a model" 1 "not a model" fed-delta -m u1.fed -n 1 -o bad.fed t1.st
echo '[1]' > arr.json
expect_err "delta: --meta not an object" 1 "not a JSON object" fed-delta -m m0.fed -n 1 --meta arr.json -o bad.fed t1.st
check "delta: nothing written when refused" test ! -e bad.fed
expect_err "delta: -n missing" 2 "required" fed-delta -m m0.fed t1.st
expect_err "delta: -n zero" 2 "sample count" fed-delta -m m0.fed -n 0 t1.st
expect "delta: no operand" 2 fed-delta -m m0.fed -n 1
expect_err "delta: bad encoding" 2 "encode" fed-delta -m m0.fed -n 1 --encode zip t1.st
expect_err "delta: missing trained file" 2 "No such file" fed-delta -m m0.fed -n 1 nosuch.st
expect_err "delta: missing --meta file" 2 "No such file" fed-delta -m m0.fed -n 1 --meta nosuch.json t1.st
expect "delta: both on stdin" 2 fed-delta -m - -n 1 -
expect "delta: --help" 0 fed-delta --help
check "delta: --version" sh -c 'fed-delta --version | grep -q "^fed-delta "'

# F16 and BF16 models: merged in float, rounded back to nearest even
expect "delta: half-precision merge" 0 fed-merge --unsigned -m m0.fed -o h1.fed u1.fed u2.fed u3.fed
expect "delta: half-precision model verifies" 0 fed-verify -n h1.fed
check "delta: one update merged into a half model is the trained weights" sh -c '
    fed-merge --unsigned -m m0.fed -o hone.fed u1.fed && fed-verify -n -q --weights hone.st hone.fed &&
    /usr/bin/python3 "$FED_ROOT/tests/tools/stsame.py" hone.st t1.st'
expect "delta: half model, server optimizer and clipping" 0 fed-merge --unsigned -m m0.fed -r fedadam --clip-norm 1 -o h2.fed u1.fed u2.fed
expect "delta: half model, median" 0 fed-merge --unsigned -m m0.fed -r median -o h3.fed u1.fed u2.fed u3.fed
expect "delta: next round from a merged half model" 0 sh -c 'fed-delta -m h1.fed -n 3 t1.st | fed-merge --unsigned -m h1.fed -o h4.fed -'
check "delta: the table and metadata go on" sh -c 'tar xOf h4.fed manifest.json | jq -e ".round == 2 and .metadata.format == \"pt\" and (.tensors|length) == 5"'
