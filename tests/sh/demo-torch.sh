# The PyTorch holder (examples/) and scripts/demo-torch: the example's
# safetensors writer lays files out as the safetensors library does (its
# own test vectors), such a file goes through fed-init --from and comes
# back out of fed-verify --weights bit for bit; a tiny consortium (3
# holders, 2 rounds, a 4-8 CNN, 600 Fashion-MNIST images) runs end to end;
# the merged model loads in PyTorch; merging again gives the same digest;
# fed-delta refuses tampered trained weights; the trainer is reproducible.
. "$FED_ROOT/tests/sh/lib.sh"

PY=/usr/bin/python3
ex=$FED_ROOT/examples
src=$FMNIST
needs demo-torch torch || exit 0
export OMP_NUM_THREADS=1

# st.py: the example's safetensors module, run from here.
cat >st.py <<EOF
import sys
sys.path.insert(0, "$ex")
import torch
import fedtorch as ft
EOF

# The writer against the safetensors library's own test vectors (its
# serialization tests): one F32 tensor, padded with spaces; and no tensor
# with a __metadata__ entry.
cat >vectors.py <<'EOF'
from st import *
a = ft.st_bytes({"attn0": torch.arange(6, dtype=torch.float32).reshape(1, 1, 2, 3)})
want = (b'H\0\0\0\0\0\0\0{"attn0":{"dtype":"F32","shape":[1,1,2,3],'
        b'"data_offsets":[0,24]}}       ' +
        bytes.fromhex("000000000000803f000000400000404000008040 0000a040"))
b = ft.st_bytes({}, {"framework": "pt"})
sys.exit(not (a == want and b == b'(\0\0\0\0\0\0\0{"__metadata__":{"framework":"pt"}}     '))
EOF
check "writer matches the safetensors library's bytes" $PY vectors.py

# A file in the library's layout: F32, F16 and BF16 tensors, whose names
# sort differently from their dtypes, and __metadata__: in and out again,
# the tensors bit for bit (tests/sh/fed-init.sh checks other layouts).
# The CNN's weights, all F32, come out byte for byte (below).
cat >mixed.py <<'EOF'
from st import *
g = torch.Generator().manual_seed(7)
t = {"z.bias": torch.randn(3, generator=g),
     "a.weight": torch.randn(3, 5, generator=g).to(torch.float16),
     "m.embed": torch.randn(4, 2, generator=g).to(torch.bfloat16),
     "b.scale": torch.randn(1, generator=g).to(torch.float16),
     "layers.10.w": torch.randn(2, 2, 2, generator=g),
     "layers.9.w": torch.randn(2, generator=g)}
ft.st_write(sys.argv[1], t, {"format": "pt", "note": "written as the library lays it out"})
EOF
$PY mixed.py lib.safetensors
expect "fed-init --from a library-layout file" 0 fed-init --from lib.safetensors -o lib.fed
expect "fed-verify --weights exports it" 0 fed-verify -n -q --weights lib.out.safetensors lib.fed
cat >same.py <<'EOF'
from st import *
a, ma = ft.st_read(sys.argv[1])
b, mb = ft.st_read(sys.argv[2])
sys.exit(not (ma == mb and sorted(a) == sorted(b) and
              all(a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and
                  torch.equal(a[k].view(torch.uint8), b[k].view(torch.uint8)) for k in a)))
EOF
check "PyTorch reads back bit-identical tensors and metadata" $PY same.py lib.safetensors lib.out.safetensors

# The tiny consortium's data: the first 600 training and 200 test images.
mkdir data
cat >subset.py <<'EOF'
import gzip, struct, sys
src, dst, part, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
for kind, head, item in (("images-idx3", 16, 784), ("labels-idx1", 8, 1)):
    name = f"{part}-{kind}-ubyte.gz"
    with gzip.open(f"{src}/{name}") as f:
        b = f.read(head + n * item)
    b = b[:4] + struct.pack(">I", n) + b[8:]
    with gzip.open(f"{dst}/{name}", "wb") as f:
        f.write(b)
EOF
$PY subset.py "$src" data train 600
$PY subset.py "$src" data t10k 200

FED_DEMO_DATA=$T/data FED_DEMO_HOLDERS=3 FED_DEMO_ROUNDS=2 FED_DEMO_EPOCHS=1
FED_DEMO_WIDTHS=4-8 FED_DEMO_JOBS=2 FED_DEMO_DIR=$T/run
export FED_DEMO_DATA FED_DEMO_HOLDERS FED_DEMO_ROUNDS FED_DEMO_EPOCHS \
    FED_DEMO_WIDTHS FED_DEMO_JOBS FED_DEMO_DIR
expect "demo-torch runs" 0 sh "$FED_ROOT/scripts/demo-torch"
cp "$T/out" demo.out
check "table header" grep -Eq '^ *round +contributors +samples +accuracy +loss +bytes$' demo.out
check "table has a row per round" test "$(grep -Ec '^ +[0-9]+ +[0-9]+ +[0-9]+ +[01]\.[0-9]{4} +[0-9.]+ +[0-9]+$' demo.out)" -eq 3
check "round 2: three holders, all 600 samples" grep -Eq '^ +2 +3 +600 +[01]\.[0-9]{4} +[0-9.]+ +[1-9][0-9]+$' demo.out
fmt='^federated [01]\.[0-9]{4} \| centralized [01]\.[0-9]{4} \| best holder alone [01]\.[0-9]{4} \| mean holder alone [01]\.[0-9]{4}$'
check "final line, last" sh -c "tail -n 1 demo.out | grep -Eq '$fmt'"
check "federated is the last round's accuracy" test \
    "$(tail -n 1 demo.out | cut -d' ' -f2)" = "$(grep -E '^ +2 +3 ' demo.out | awk '{ print $4 }')"
check "the auditor: chain verified" grep -q '^chain verified: rounds 0 to 2' demo.out
check "the auditor: round 0 imported again" grep -qx 'round 0 made again: fed-init --from init.safetensors gives the published digest' demo.out
check "lineage verified" grep -qx 'lineage verified' demo.out

pub=run/public
m1=$pub/rounds/round-001.fed m2=$pub/rounds/round-002.fed
expect "round 0's weights out" 0 fed-verify -q -p $pub/coordinator.pub \
    --weights w0.safetensors $pub/rounds/round-000.fed
check "round 0's weights: the imported file, byte for byte" cmp w0.safetensors $pub/init.safetensors
expect "round 2 signed by the coordinator" 0 fed-verify -q -p $pub/coordinator.pub $m2
expect "updates signed by holders on the roster" 0 fed-verify -q -R $pub/roster.fed \
    -p $pub/coordinator.pub --parent $m1 $pub/contrib/round-001/*.fed
check "updates carry the trainer's account" sh -c \
    "tar -xOf $pub/contrib/round-001/holder-000.fed manifest.json | grep -q torch-holder.py"

# The merged model loads in PyTorch (strictly, into the CNN) and scores as
# the demo's table says.
expect "merged weights out" 0 fed-verify -q -p $pub/coordinator.pub --weights m2.safetensors $m2
expect "merged model loads in PyTorch" 0 $PY "$ex/torch-eval.py" -d $pub/test.fed m2.safetensors
check "same accuracy as the table" test "$(jq .accuracy "$T/out" | xargs printf %.4f)" = \
    "$(grep -E '^ +2 +3 ' demo.out | awk '{ print $4 }')"

# Merging again, twice, the operands in another order: the published digest.
digest() { fed-verify -n --json "$1" | jq -r .digest; }
# The coordinator's server learning rate follows a schedule: the record's.
rule=$(tar -xOf $m2 manifest.json | jq -r .merge.rule)
slr=$(tar -xOf $m2 manifest.json | jq .merge.params.server_lr)
check "round 2's server learning rate: half round 1's (the cosine)" test \
    "$(tar -xOf $m1 manifest.json | jq ".merge.params.server_lr == 2 * $slr")" = true
for i in 1 2; do
	fed-merge -R $pub/roster.fed -p $pub/coordinator.pub -m $m1 -r "$rule" --server-lr "$slr" \
	    -o again$i.fed $(ls -r $pub/contrib/round-001/*.fed)
done
check "merge again: same digest twice" test "$(digest again1.fed)" = "$(digest again2.fed)"
check "merge again: the published digest" test "$(digest again1.fed)" = "$(digest $m2)"

# fed-delta against tampered trained weights: a NaN, a renamed tensor, a
# changed shape, a truncated file.  Each refused, nothing written.
tr=run/holder-000/trained.safetensors
expect "fed-delta on the holder's own file" 0 fed-delta -m $m1 -n 10 -o ok.fed $tr
cat >tamper.py <<'EOF'
from st import *
t, meta = ft.st_read(sys.argv[1])
how = sys.argv[2]
if how == "nan":
    t["fc.bias"][3] = float("nan")
elif how == "rename":
    t["fc.b"] = t.pop("fc.bias")
elif how == "shape":
    t["fc.bias"] = t["fc.bias"].reshape(2, 5)
elif how == "extra":
    t["fc.extra"] = torch.zeros(1)
ft.st_write(sys.argv[3], t, meta)
EOF
for how in nan rename shape extra; do
	$PY tamper.py $tr $how bad-$how.safetensors
	expect "fed-delta refuses a tampered file ($how)" 1 \
	    fed-delta -m $m1 -n 10 -o bad-$how.fed bad-$how.safetensors
	check "nothing written ($how)" test ! -e bad-$how.fed
done
head -c 1000 $tr >bad-short.safetensors
expect "fed-delta refuses a truncated file" 1 fed-delta -m $m1 -n 10 -o bad-short.fed bad-short.safetensors
check "nothing written (truncated)" test ! -e bad-short.fed

# The trainer: reproducible, and its errors.
for i in 1 2; do
	$PY "$ex/torch-holder.py" -m m2.safetensors -d run/holder-001/shard.fed -s 5 -o t$i.safetensors
done
check "trainer: same inputs and seed, same bytes" cmp t1.safetensors t2.safetensors
for i in 1 2; do
	$PY "$ex/torch-holder.py" -m m2.safetensors -d run/holder-001/shard.fed -s 5 \
	    --logit-adjust -j a$i.json -o a$i.safetensors
done
check "trainer --logit-adjust: same seed, same bytes" cmp a1.safetensors a2.safetensors
check "trainer --logit-adjust: other weights than without" sh -c "! cmp -s a1.safetensors t1.safetensors"
check "trainer --logit-adjust: in its account" test "$(jq .logit_adjust a1.json)" = true

# Logit adjustment: the log of the label frequencies, each count plus one;
# on balanced labels a constant shift, which leaves training as it was.
cat >adjust.py <<'EOF'
from st import *
p = ft.log_prior(torch.tensor([1, 1, 1, 2]), 4)
want = torch.log(torch.tensor([1.0, 4.0, 2.0, 1.0]) / 8)
g = torch.Generator().manual_seed(2)
x, y = torch.randn(40, 1, 28, 28, generator=g), torch.arange(40) % 10
runs = []
for adjust in (False, True):
    torch.manual_seed(1)
    m = ft.CNN(4, 8)
    ft.train(m, x, y, 2, 8, 0.02, 0.9, 3, adjust=adjust)
    runs.append(m.state_dict())
same = all(torch.allclose(runs[0][k], runs[1][k], atol=1e-5) for k in runs[0])
sys.exit(not (torch.allclose(p, want) and same))
EOF
check "logit adjustment: the log prior, nothing changed on balanced labels" $PY adjust.py
# The warm interpreter (scripts/warm.py) that plays the demo's holders:
# the trainer forked from it gives the fresh interpreter's bytes, with its
# working directory, standard input and output, and exit statuses; with
# no server it runs the script fresh.  The demo leaves no server behind.
warm=$FED_ROOT/scripts/warm.py
cat >running.py <<'EOF'
import glob, sys
def argv(f):
    try:
        return open(f, "rb").read().decode().split("\0")[1:-1]
    except OSError:
        return []
sys.exit(any(argv(f) == sys.argv[1:] for f in glob.glob("/proc/[0-9]*/cmdline")))
EOF
check "demo-torch stopped its warm interpreter" $PY running.py "$warm" --serve "$T/run/.warm.sock"
$PY "$warm" --serve "$T/w.sock" &
server=$!
i=0
while [ ! -S w.sock ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
check "warm: the server listens, mode 0600" test "$(stat -c %a w.sock)" = 600
check "warm: the running server is seen (as the demo's would be)" sh -c \
    "! $PY running.py '$warm' --serve '$T/w.sock'"
export WARM_SOCKET=$T/w.sock
expect "warm: the trainer" 0 "$warm" "$ex/torch-holder.py" -m m2.safetensors \
    -d run/holder-001/shard.fed -s 5 -o w1.safetensors
check "warm: the fresh interpreter's bytes" cmp w1.safetensors t1.safetensors
check "warm: standard input and output" sh -c "'$warm' '$ex/torch-holder.py' -m - \
    -d run/holder-001/shard.fed -s 5 <m2.safetensors | cmp - t1.safetensors"
expect "warm: a usage error is 2" 2 "$warm" "$ex/torch-holder.py" -d run/holder-001/shard.fed
expect_err "warm: a rejected model is 1" 1 "not the example CNN" "$warm" "$ex/torch-holder.py" \
    -m lib.safetensors -d run/holder-001/shard.fed -o x.safetensors
check "warm: nothing written" test ! -e x.safetensors
kill $server
wait $server 2>/dev/null
expect "warm: without a server, a fresh interpreter" 0 "$warm" "$ex/torch-holder.py" \
    -m m2.safetensors -d run/holder-001/shard.fed -s 5 -o w2.safetensors
check "warm: without a server, the same bytes" cmp w2.safetensors t1.safetensors
unset WARM_SOCKET
expect_err "warm: no script is a usage error" 2 "usage:" "$warm"
expect_err "warm: a socket it cannot make" 1 "no-such-dir" $PY "$warm" --serve "$T/no-such-dir/w.sock"
expect "trainer: no model is a usage error" 2 $PY "$ex/torch-holder.py" -d run/holder-001/shard.fed -o x.safetensors
expect "trainer: a model that is not safetensors" 1 $PY "$ex/torch-holder.py" \
    -m run/holder-001/shard.fed -d run/holder-001/shard.fed -o x.safetensors
expect "trainer: weights of another model" 1 $PY "$ex/torch-holder.py" \
    -m lib.safetensors -d run/holder-001/shard.fed -o x.safetensors
expect "eval: weights of another model" 1 $PY "$ex/torch-eval.py" -d $pub/test.fed lib.safetensors
