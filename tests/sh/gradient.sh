# gradient: gradient uploads (fed-train --gradient and --expand,
# fed-bundle(5) "Gradient uploads").  The expansion of an upload is, byte
# for byte, the update the holder would have written with --moments; it
# always expands to the same bytes; uploads, top-k with error feedback,
# merge only once expanded; inputs that do not fit are rejected (1) and
# options that do not fit are usage errors (2).
. "$FED_ROOT/tests/sh/lib.sh"

pages t
fed-shard -q -f text -p file -o h t/de t/fr
fed-init -a gpt:1-16-2-16 -s 1 -o m0.fed
train() {   # model holder seed out [options]
	m=$1 h=$2 seed=$3 o=$4
	shift 4
	fed-train -m "$m" -d "h-$h.fed" --steps 1 -b 4 -l 0.01 --warmup 0 \
	    --schedule constant --weight-decay 0.01 -s "$seed" --name "$h" \
	    -o "$o" "$@"
}
member() {  # bundle member: its sha256
	tar xOf "$1" "$2" | sha256sum
}

# 1. A round from a model without moments, then one from merged moments.
for h in de fr; do
	train m0.fed $h 1 u1-$h.fed --moments
	expect "gradient: $h uploads its gradient" 0 \
	    train m0.fed $h 1 g1-$h.fed --gradient
	expect "expand: $h's upload" 0 \
	    fed-train -m m0.fed --expand g1-$h.fed -o x1-$h.fed
done
check "gradient: the upload has no moments, one step, gradient true" sh -c \
    'tar tf g1-de.fed | tr "\n" " " | grep -q \
     "^manifest.json tensors.safetensors $" &&
     tar xOf g1-de.fed manifest.json | jq -e \
     ".gradient == true and .steps == 1 and (has(\"moments\") | not)"'
check "expand: the delta is the --moments update's" test \
    "$(member x1-de.fed tensors.safetensors)" = \
    "$(member u1-de.fed tensors.safetensors)"
check "expand: the moments are the --moments update's" test \
    "$(member x1-de.fed moments.safetensors)" = \
    "$(member u1-de.fed moments.safetensors)"
check "expand: it names the upload's digest, moments at step 1" sh -c \
    'd=$(fed-verify -n --json g1-de.fed | jq -r .digest)
     tar xOf x1-de.fed manifest.json |
     jq -e --arg d "$d" ".gradient == \$d and .moments.step == 1"'
fed-train -m m0.fed --expand g1-de.fed -o again.fed
check "expand: the same upload gives the same bytes" cmp -s again.fed x1-de.fed
expect "verify: an upload" 0 fed-verify -n -q g1-de.fed
expect "verify: an expansion" 0 fed-verify -n -q x1-de.fed
expect "merge: the expansions" 0 \
    fed-merge --unsigned -m m0.fed -o m1.fed x1-de.fed x1-fr.fed
fed-merge --unsigned -m m0.fed -o m1u.fed u1-de.fed u1-fr.fed
check "merge: the same weights and moments as from the --moments updates" \
    sh -c 'for x in tensors moments; do
	test "$(tar xOf m1.fed $x.safetensors | sha256sum)" = \
	     "$(tar xOf m1u.fed $x.safetensors | sha256sum)" || exit 1; done'
expect_err "merge: an upload is refused" 1 "a gradient upload" \
    fed-merge --unsigned -m m0.fed -o e.fed g1-de.fed x1-fr.fed
check "merge: nothing written on rejection" test ! -e e.fed
train m1.fed de 2 u2-de.fed --moments
train m1.fed de 2 g2-de.fed --gradient
fed-train -m m1.fed --expand g2-de.fed -o x2-de.fed
check "expand: from merged moments, as --moments" sh -c \
    'test "$(tar xOf x2-de.fed moments.safetensors | sha256sum)" = \
          "$(tar xOf u2-de.fed moments.safetensors | sha256sum)" &&
     tar xOf x2-de.fed manifest.json | jq -e ".moments.step == 2"'

# 2. Top-k with error feedback: a small upload, expanded and merged.
expect "gradient: top-k with error feedback" 0 train m1.fed de 2 gk.fed \
    --gradient --encode topk:0.05 --residual de.st
check "gradient: the residual kept the rest" test -s de.st
check "gradient: top-k is smaller than F32" test \
    "$(wc -c <gk.fed)" -lt "$(wc -c <g2-de.fed)"
expect "expand: a top-k upload" 0 fed-train -m m1.fed --expand gk.fed -o xk.fed
check "expand: its delta is F32, no encoding" sh -c \
    'tar xOf xk.fed manifest.json | jq -e "has(\"encoding\") | not"'
expect "merge: a top-k expansion" 0 \
    fed-merge --unsigned -m m1.fed -o m2.fed xk.fed x2-de.fed

# 3. Rejected inputs (1).
expect_err "expand: not from this model" 1 "not from this model" \
    fed-train -m m1.fed --expand g1-de.fed -o e.fed
expect_err "expand: an update is no upload" 1 "not a gradient upload" \
    fed-train -m m0.fed --expand u1-de.fed -o e.fed
expect_err "expand: a model is no upload" 1 "not an update" \
    fed-train -m m0.fed --expand m1.fed -o e.fed
cat >tamper.py <<'PY'
import sys
sys.path.insert(0, sys.argv[4])
import rebundle
src, out, what = sys.argv[1:4]
man, mem = rebundle.read(src)
if what == "string":
    man["gradient"] = "yes"
elif what == "moments":
    man["moments"] = {"step": 1}
elif what == "steps":
    man["steps"] = 2
elif what == "sgd":
    man["train"]["optimizer"] = "sgd"
elif what == "beta":
    man["train"]["beta2"] = 1.0
rebundle.write(out, man, mem)
PY
for c in string moments steps sgd beta; do
	python3 tamper.py g1-de.fed bad-$c.fed $c "$FED_ROOT/tests/sh"
done
expect_err "verify: gradient neither true nor a digest" 1 "gradient must be" \
    fed-verify -n -q bad-string.fed
expect_err "verify: an upload with moments" 1 "gradient must be" \
    fed-verify -n -q bad-moments.fed
expect_err "verify: an upload of two steps" 1 "gradient must be" \
    fed-verify -n -q bad-steps.fed
expect_err "expand: an upload of sgd" 1 "not adam or adamw" \
    fed-train -m m0.fed --expand bad-sgd.fed -o e.fed
expect_err "expand: beta2 of 1" 1 "train.beta2" \
    fed-train -m m0.fed --expand bad-beta.fed -o e.fed
check "expand: nothing written on rejection" test ! -e e.fed

# 4. Usage errors (2).
expect_err "gradient: two steps" 2 "wants --steps 1" \
    fed-train -m m0.fed -d h-de.fed --steps 2 --gradient -o e.fed
expect_err "gradient: with --moments" 2 "no --moments" \
    train m0.fed de 1 e.fed --gradient --moments
expect_err "gradient: with --v-batch" 2 "--v-batch" \
    train m0.fed de 1 e.fed --gradient --v-batch 8
expect_err "gradient: sgd" 2 "adam and adamw" \
    train m0.fed de 1 e.fed --gradient --optimizer sgd
expect_err "expand: with -d" 2 "nothing that trains" \
    fed-train -m m0.fed -d h-de.fed --expand g1-de.fed -o e.fed
expect_err "expand: with --gradient" 2 "nothing that trains" \
    fed-train -m m0.fed --expand g1-de.fed --gradient -o e.fed
expect "expand: a missing upload" 2 \
    fed-train -m m0.fed --expand nothing.fed -o e.fed
expect "expand: a directory" 2 fed-train -m m0.fed --expand t -o e.fed
check "nothing written on usage errors" test ! -e e.fed
