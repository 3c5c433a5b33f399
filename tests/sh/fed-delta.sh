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
# into a file the weights go straight into the output, to standard
# output through a spool: the same bytes either way
check "delta: half-precision merge, the same bytes on standard output" sh -c \
    'fed-merge --unsigned -m m0.fed u1.fed u2.fed u3.fed | cmp -s - h1.fed'
check "delta: one update merged into a half model is the trained weights" sh -c '
    fed-merge --unsigned -m m0.fed -o hone.fed u1.fed && fed-verify -n -q --weights hone.st hone.fed &&
    /usr/bin/python3 "$FED_ROOT/tests/tools/stsame.py" hone.st t1.st'
expect "delta: half model, server optimizer and clipping" 0 fed-merge --unsigned -m m0.fed -r fedadam --clip-norm 1 -o h2.fed u1.fed u2.fed
expect "delta: half model, median" 0 fed-merge --unsigned -m m0.fed -r median -o h3.fed u1.fed u2.fed u3.fed
expect "delta: next round from a merged half model" 0 sh -c 'fed-delta -m h1.fed -n 3 t1.st | fed-merge --unsigned -m h1.fed -o h4.fed -'
check "delta: the table and metadata go on" sh -c 'tar xOf h4.fed manifest.json | jq -e ".round == 2 and .metadata.format == \"pt\" and (.tensors|length) == 5"'

# signed like any update; every encoding; DP-FedAvg; verified with keys
fed-sign -G -n -p h.pub -s h.sec 2>/dev/null
fed-sign -G -n -p c.pub -s c.sec 2>/dev/null
mkdir kd && cp h.pub kd/
expect "delta: signed in a pipeline" 0 sh -c 'fed-delta -m m0.fed -n 10 t1.st | fed-sign -s h.sec > s1.fed'
expect "delta: verifies with the holder's key" 0 fed-verify -q -p h.pub --parent m0.fed s1.fed
for enc in fp16 bf16 int8 rsign topk:0.3; do
	expect "delta: --encode $enc" 0 fed-delta -m m0.fed -n 4 --encode "$enc" -o "e-$enc.fed" t2.st
	expect "delta: --encode $enc merges" 0 fed-merge --unsigned -m m0.fed -o "me-$enc.fed" u1.fed "e-$enc.fed"
done
expect "delta: signed merge into a half model" 0 sh -c 'fed-merge -P kd -m m0.fed s1.fed | fed-sign -s c.sec > sm1.fed'
expect "delta: merged model verifies with the coordinator's key" 0 fed-verify -q -p c.pub --parent m0.fed sm1.fed
expect "delta: DP-FedAvg on a half model" 0 fed-merge --unsigned -m m0.fed --clip-norm 0.5 --dp-noise 1 -s 3 -o dp.fed u1.fed u2.fed u3.fed
expect "delta: DP model verifies" 0 fed-verify -n dp.fed
check "delta: DP merge records its privacy" sh -c 'tar xOf dp.fed manifest.json | jq -e ".privacy != null and (.tensors|length) == 5"'
for r in fedavgm fedyogi fedadagrad multi-krum:0:2; do
	expect "delta: half model, -r $r" 0 fed-merge --unsigned -m m0.fed -r $r -o "hr-$r.fed" u1.fed u2.fed u3.fed
done
check "delta: a half model merged twice gives the same bytes" sh -c '
    fed-merge --unsigned -m m0.fed -o again.fed u3.fed u2.fed u1.fed && cmp again.fed h1.fed'
$MKST big16 b0.st
$MKST big16 b1.st 1.0916
fed-init -f b0.st -o b0.fed
fed-delta -m b0.fed -n 1 -o bu.fed b1.st
expect "delta: F16 at its limit merges" 0 fed-merge --unsigned -m b0.fed -o b1.fed bu.fed
expect_err "delta: a merge past F16's range is refused" 1 "do not fit F16" fed-merge --unsigned -m b0.fed -r fedavgm --server-lr 3 -o b2.fed bu.fed
check "delta: and writes nothing" test ! -e b2.fed
python3 -c '
import sys
b = bytearray(open("f0.fed", "rb").read())
b[-1100] ^= 1
open("dam.fed", "wb").write(b)'
expect_err "delta: a damaged model is refused" 1 "sha256\|digest\|hash\|does not match" fed-delta -m dam.fed -n 1 -o bad2.fed f1.st
check "delta: nothing written from a damaged model" test ! -e bad2.fed
expect_err "delta: not on stdout either" 1 "sha256\|digest\|hash\|does not match" sh -c 'fed-delta -m dam.fed -n 1 f1.st > bad3.fed'
check "delta: stdout got nothing" test ! -s bad3.fed
