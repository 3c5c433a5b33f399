# lora: adapters of a frozen base model (issue 20).  An FFA-LoRA adapter
# of the example CNN (examples/torch-lora.py: A frozen from a shared seed,
# only B trained and sent) is imported with fed-init --from --base, which
# names the base by digest; three holders' B updates, made by fed-delta
# and signed, are merged by fed-merge fedavg; PyTorch checks that base +
# mean(B_i) A is the mean of the holders' base + B_i A to float tolerance
# (the merge of adapters is exact); the base is carried to the next model,
# shown and checked by fed-verify (a wrong base, a base changed in a chain,
# a malformed base field: refused); fed-init --base's usage errors and
# rejected input.  A 4-8 CNN on 300 Fashion-MNIST images keeps it short.
. "$FED_ROOT/tests/sh/lib.sh"

PY=/usr/bin/python3
ex=$FED_ROOT/examples
src=$FMNIST
needs lora torch || exit 0
export OMP_NUM_THREADS=1
digest() { fed-verify -n --json "$1" | jq -r .digest; }
base_of() { tar -xOf "$1" manifest.json | jq -r .base; }

# Three holders' shards of the first 300 training images.
cat >subset.py <<'EOF'
import gzip, struct, sys
src, n = sys.argv[1], int(sys.argv[2])
for kind, head, item in (("images-idx3", 16, 784), ("labels-idx1", 8, 1)):
    with gzip.open(f"{src}/train-{kind}-ubyte.gz") as f:
        b = f.read(head + n * item)
    with open(f"train-{kind}-ubyte", "wb") as f:
        f.write(b[:4] + struct.pack(">I", n) + b[8:])
EOF
$PY subset.py "$src" 300
fed-shard -q -n 3 -p iid -s 1 -o shard train-images-idx3-ubyte train-labels-idx1-ubyte
mkdir keys
fed-sign -G -n -p coord.pub -s coord.sec
for h in 0 1 2; do
	fed-sign -G -n -p keys/holder$h.pub -s holder$h.sec
done

# The base: a CNN the consortium published before (here its seeded
# start), and another model, which is not the base.
$PY "$ex/torch-init.py" --widths 4-8 -s 1 -o base.safetensors
fed-init --from base.safetensors | fed-sign -s coord.sec -o base.fed
fed-init -a softmax:784-10 -o other.fed
bd=$(digest base.fed)

# The adapter, round 0: B zero, A's rank and seed in its __metadata__.
expect "torch-lora.py init" 0 $PY "$ex/torch-lora.py" init -m base.safetensors -r 2 -s 3 -o a0.safetensors
expect "fed-init --from the adapter --base the base" 0 \
    fed-init --from a0.safetensors --base base.fed -o a0u.fed
fed-sign -s coord.sec -o a0.fed a0u.fed
check "the model names its base by digest" test "$(base_of a0.fed)" = "$bd"
fed-init --from a0.safetensors --base base.fed -o again.fed
check "the same adapter and base give the same bytes" cmp a0u.fed again.fed
fed-init --from a0.safetensors -o nobase.fed
check "without --base, no base" test "$(base_of nobase.fed)" = null
expect "fed-verify --base the base" 0 fed-verify -p coord.pub --base base.fed a0.fed
check "fed-verify shows the base" grep -q "model round 0 of base $bd," out
expect "fed-verify --base the base's digest" 0 fed-verify -p coord.pub --base "$bd" a0.fed
check "fed-verify --json shows the base" sh -c \
    "fed-verify -n --json a0.fed | jq -e '.base == \"$bd\"'"
expect_err "fed-verify --base another model: refused" 1 "base is $bd, not" \
    fed-verify -p coord.pub --base other.fed a0.fed
expect_err "fed-verify --base of a model without one: refused" 1 "base is none" \
    fed-verify -n --base base.fed nobase.fed
expect "fed-verify --base and --chain: usage" 2 fed-verify --chain -p coord.pub --base base.fed a0.fed
expect "fed-verify --base of a missing file" 2 fed-verify -n --base missing.fed a0.fed

# Three holders: the base and the adapter out of their verified bundles,
# B trained on each shard, the update made and signed.  The trained B of
# each goes beside its samples for the check below.
expect "the base's weights out" 0 fed-verify -q -p coord.pub --weights bw.safetensors base.fed
expect "the adapter out, its base checked" 0 \
    fed-verify -q -p coord.pub --base base.fed --weights aw.safetensors a0.fed
for h in 0 1 2; do
	expect "holder $h trains B" 0 $PY "$ex/torch-lora.py" train -m bw.safetensors \
	    -a aw.safetensors -d shard-00$h.fed -e 2 -s $h -j t$h.json -o t$h.safetensors
	fed-delta -m a0.fed -n "$(jq .samples t$h.json)" --meta t$h.json t$h.safetensors |
	    fed-sign -s holder$h.sec -o u$h.fed
done
check "holders' updates made" test -s u0.fed -a -s u1.fed -a -s u2.fed
fed-delta -m base.fed -n 100 -o full.fed bw.safetensors
check "an adapter update is under a quarter of a full model's" \
    test $(($(wc -c <u0.fed) * 4)) -lt "$(wc -c <full.fed)"

# The merge, and its model: the base carried, checked, kept by the chain.
expect "fed-merge fedavg of the adapters" 0 \
    fed-merge -m a0.fed -P keys -r fedavg -o a1u.fed u0.fed u1.fed u2.fed
fed-sign -s coord.sec -o a1.fed a1u.fed
check "the merged model carries the base" test "$(base_of a1.fed)" = "$bd"
expect "fed-verify --base on round 1" 0 fed-verify -p coord.pub --base base.fed --parent a0.fed a1.fed
expect "the adapters' chain verifies" 0 fed-verify --chain -p coord.pub a0.fed a1.fed
expect "round 1's adapter out" 0 fed-verify -q -p coord.pub --base base.fed --weights a1w.safetensors a1.fed

# Exact: base + mean(B_i) A (the merged adapter) is the mean of the
# holders' base + B_i A, weighted by samples as fedavg weighs them; and
# torch-lora.py apply writes that model, which PyTorch scores.
cat >exact.py <<EOF
import importlib.util, json, sys
sys.path.insert(0, "$ex")
import fedtorch as ft
spec = importlib.util.spec_from_file_location("lora", "$ex/torch-lora.py")
lora = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lora)
base, _ = ft.st_read("bw.safetensors")
merged, meta = ft.st_read("a1w.safetensors")
A = lora.lora_a(base, *lora.adapter_meta(meta))
n = [json.load(open(f"t{h}.json"))["samples"] for h in range(3)]
full = [lora.effective(base, A, ft.st_read(f"t{h}.safetensors")[0]) for h in range(3)]
want = {k: sum(n[h] * full[h][k].double() for h in range(3)) / sum(n) for k in base}
got = lora.effective(base, A, merged)
applied, _ = ft.st_read("m1.safetensors")
worst = max(((got[k].double() - want[k]).abs().max() /
             want[k].abs().max()).item() for k in base)
moved = max((full[0][k] - base[k]).abs().max().item() for k in base)
print(f"relative error {worst:.3g}, B moved the weights by up to {moved:.3g}")
sys.exit(not (worst < 1e-6 and moved > 1e-3 and
              all(ft.torch.equal(applied[k], got[k]) for k in base)))
EOF
expect "torch-lora.py apply" 0 $PY "$ex/torch-lora.py" apply -m bw.safetensors -a a1w.safetensors -o m1.safetensors
expect "the merge of adapters is exact (PyTorch)" 0 $PY exact.py
expect "the applied model loads and scores in PyTorch" 0 $PY "$ex/torch-eval.py" -d shard-000.fed m1.safetensors

# Forged bases: a chain whose round 1 names another base (signed by the
# coordinator), a base that is not a digest, a base on an update or on a
# model fed defined (which fed-sign would not sign).
cat >retag.py <<'PY'
import io, json, sys, tarfile
src, dst, key, val = sys.argv[1:]
with tarfile.open(src) as t:
    mem = [(m.name, t.extractfile(m).read()) for m in t.getmembers()
           if not m.name.startswith("signatures/")]
man = json.loads(mem[0][1])
man[key] = json.loads(val)
mem[0] = ("manifest.json", (json.dumps(man, indent=2, sort_keys=True) + "\n").encode())
with tarfile.open(dst, "w", format=tarfile.USTAR_FORMAT) as t:
    for name, data in mem:
        ti = tarfile.TarInfo(name)
        ti.size, ti.mtime, ti.mode = len(data), 0, 0o644
        t.addfile(ti, io.BytesIO(data))
PY
forge() { $PY retag.py "$1" forge.tmp base "$3" && fed-sign -s coord.sec -o "$2" forge.tmp; }
forge a1.fed swapped.fed "\"$(digest other.fed)\""
expect_err "a chain whose base changes: refused" 1 "round 1: base" \
    fed-verify --chain -p coord.pub a0.fed swapped.fed
$PY retag.py a0.fed junk.fed base '"sha256:nope"'
expect_err "a base that is not a digest: refused" 1 "base must be a digest" fed-verify -n junk.fed
check "a base on a model fed defined: refused" sh -c \
    "fed-init -a softmax:4-2 -o s.fed && $PY retag.py s.fed s2.fed base '\"$bd\"' &&
     ! fed-verify -n s2.fed"
$PY retag.py u0.fed ubase.fed base "\"$bd\""
expect_err "a base on an update: refused" 1 "in a model" fed-verify -n ubase.fed
expect "fed-merge refuses a model with a malformed base" 1 \
    fed-merge -m junk.fed -P keys -o bad.fed u0.fed
check "nothing written" test ! -e bad.fed

# fed-init --base: usage errors (2) and rejected bases (1), nothing written.
expect "--base without --from" 2 fed-init --base base.fed -o x.fed
expect "--base with -a" 2 fed-init -a softmax:4-2 --base base.fed -o x.fed
expect "--base and --from both stdin" 2 fed-init --from - --base - -o x.fed </dev/null
expect "--base: a missing file" 2 fed-init --from a0.safetensors --base missing.fed -o x.fed
expect "--base: a folder" 2 fed-init --from a0.safetensors --base keys -o x.fed
expect_err "--base: a data bundle" 1 "not a model" \
    fed-init --from a0.safetensors --base shard-000.fed -o x.fed
expect "--base: not a bundle" 1 fed-init --from a0.safetensors --base a0.safetensors -o x.fed
head -c 3000 base.fed >short.fed
expect "--base: a truncated bundle" 1 fed-init --from a0.safetensors --base short.fed -o x.fed
check "nothing written" test ! -e x.fed
expect "--base from stdin" 0 fed-init --from a0.safetensors --base - -o y.fed <base.fed
check "--base from stdin: the same model" cmp y.fed a0u.fed

# The trainer's own errors.
expect "torch-lora.py: no adapter is a usage error" 2 $PY "$ex/torch-lora.py" train \
    -m bw.safetensors -d shard-000.fed -o z.safetensors
expect "torch-lora.py: full weights are not an adapter" 1 $PY "$ex/torch-lora.py" apply \
    -m bw.safetensors -a bw.safetensors -o z.safetensors
check "nothing written" test ! -e z.safetensors
