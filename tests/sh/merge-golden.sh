# merge-golden: the bytes of fed-merge's output, pinned.  Inputs are made
# here, deterministically (merge-gen; fed-train for Adam's moments), then
# every rule, clipping, weighting, server optimizers over two rounds with
# state, DP-FedAvg, encoded updates, moments, --skip-bad and standard
# input are merged, and the SHA-256 of every output must equal the one in
# tests/golden/merge/digests.  FED_GOLDEN_WRITE=1 writes that file instead
# (only ever from a build whose merges are known good).
. "$FED_ROOT/tests/sh/lib.sh"
golden_kernels
GOLDEN="$FED_ROOT/tests/golden/merge/digests"

gen() { "$FED_BIN/tools/merge-gen" "$@"; }

# ---- inputs ----
gen model mlp:300-300-10 1 m.fed
for i in 1 2 3 4; do gen update m.fed $i 0.01 $((i * 100)) h$i u$i.fed; done
gen update m.fed 5 0.004 500 h5 u5.fed
all="u1.fed u2.fed u3.fed u4.fed u5.fed"
gen model softmax:20-4 2 other.fed
gen update other.fed 9 0.01 10 stranger foreign.fed
cp u4.fed bad.fed
size=$(wc -c <bad.fed)
printf '\377' | dd of=bad.fed bs=1 seek=$((size - 3000)) conv=notrunc 2>/dev/null
gen update m.fed 11 0.01 120 e1 e16.fed fp16
gen update m.fed 12 0.01 130 e2 eb.fed bf16
gen update m.fed 13 0.01 140 e3 e8.fed int8
gen update m.fed 14 0.01 150 e4 e8s.fed int8s
gen update m.fed 15 0.01 160 e5 ek.fed topk:0.01
gen update m.fed 16 0.01 170 e6 ek2.fed topk:0.3
enc="e16.fed eb.fed e8.fed e8s.fed ek.fed ek2.fed u1.fed"

: >got
# run NAME ARGS...: merge into NAME.fed, record its digest
run() {
	name=$1
	shift
	if fed-merge --unsigned -o "$name.fed" "$@" 2>err; then
		echo "$name $(sha256sum <"$name.fed" | cut -c1-64)" >>got
	else
		echo "$name exit $? $(head -c 200 err)" >>got
	fi
}

# ---- every rule, plain and clipped ----
for r in fedavg fedavgm nesterov fedadam fedyogi fedadagrad median \
    trimmed-mean:0.2 krum:1 multi-krum:1:3; do
	run "$r" -m m.fed -r $r $all
	run "$r-clip" -m m.fed -r $r --clip-norm 1 $all
done
run uniform -m m.fed --uniform $all
run max-samples -m m.fed --max-samples 250 $all
run uniform-clip -m m.fed --uniform --clip-norm 0.9 $all
run fedavg-lr -m m.fed --server-lr 0.5 $all
run fedavgm-params -m m.fed -r fedavgm --momentum 0.5 --server-lr 0.8 $all
run fedadam-params -m m.fed -r fedadam --beta1 0.8 --beta2 0.9 --tau 0.01 \
    --server-lr 0.1 $all
run trimmed-0 -m m.fed -r trimmed-mean:0 $all
run median-4 -m m.fed -r median u1.fed u2.fed u3.fed u4.fed
run j1 -j 1 -m m.fed -r fedyogi --clip-norm 1 $all
run j3 -j 3 -m m.fed -r fedyogi --clip-norm 1 $all

# ---- server optimizers over two rounds, with state ----
for r in fedavgm nesterov fedadam fedyogi fedadagrad; do
	fed-merge --unsigned -m m.fed -r $r -o r1-$r.fed $all
	gen update r1-$r.fed 21 0.01 100 h1 v1-$r.fed
	gen update r1-$r.fed 22 0.02 300 h2 v2-$r.fed
	run "r2-$r" -m r1-$r.fed -r $r v1-$r.fed v2-$r.fed
	run "r2-$r-clip" -m r1-$r.fed -r $r --clip-norm 1 v1-$r.fed v2-$r.fed
done
run r2-other-rule -m r1-fedadam.fed -r fedyogi v1-fedadam.fed v2-fedadam.fed

# ---- DP-FedAvg ----
run dp -m m.fed --clip-norm 0.5 --dp-noise 2 -s 7 $all
run dp-j1 -j 1 -m m.fed --clip-norm 0.5 --dp-noise 2 -s 7 $all
run dp-adam -m m.fed -r fedadam --clip-norm 0.5 --dp-noise 1 -s 3 \
    --dp-delta 1e-6 --dp-sample-rate 0.1 $all
gen update dp.fed 21 0.01 100 h1 w1.fed
gen update dp.fed 22 0.01 100 h2 w2.fed
run dp-r2 -m dp.fed -r fedavgm --clip-norm 0.5 --dp-noise 2 -s 9 w1.fed w2.fed

# ---- 70 updates: chunks smaller than the default ----
i=1
while [ $i -le 70 ]; do
	gen update m.fed $((100 + i)) 0.01 $i g$i g$i.fed
	i=$((i + 1))
done
run many -m m.fed g[0-9]*.fed
run many-dp -m m.fed --clip-norm 1 --dp-noise 1 -s 4 g[0-9]*.fed
run many-median -m m.fed -r median g[0-9]*.fed

# ---- encoded updates ----
for r in fedavg median trimmed-mean:0.2 krum:1 fedadam; do
	run "enc-$r" -m m.fed -r $r $enc
	run "enc-$r-clip" -m m.fed -r $r --clip-norm 1 $enc
done
run enc-dp -m m.fed --clip-norm 1 --dp-noise 1 -s 5 $enc

# ---- --skip-bad ----
run skip -m m.fed --skip-bad u2.fed bad.fed foreign.fed u1.fed u1.fed u3.fed
run skip-krum -m m.fed -r krum:0 --skip-bad --clip-norm 1 u2.fed bad.fed \
    u1.fed u3.fed u5.fed
run skip-median -m m.fed -r median --skip-bad u2.fed bad.fed u1.fed u3.fed
run skip-adam -m m.fed -r fedadam --skip-bad --clip-norm 1 bad.fed u2.fed \
    foreign.fed u5.fed

# ---- standard input ----
echo "stdin-update $(fed-merge --unsigned -m m.fed u1.fed - u3.fed <u2.fed |
    sha256sum | cut -c1-64)" >>got
echo "stdin-model $(fed-merge --unsigned -m - u1.fed u2.fed <m.fed |
    sha256sum | cut -c1-64)" >>got
echo "stdin-krum $(fed-merge --unsigned -m m.fed -r krum:1 --clip-norm 0.2 u1.fed \
    u2.fed - u4.fed u5.fed <u3.fed | sha256sum | cut -c1-64)" >>got
echo "stdin-adam $(fed-merge --unsigned -m m.fed -r fedadam --clip-norm 1 u1.fed \
    - <u2.fed | sha256sum | cut -c1-64)" >>got

# ---- Adam's moments (fed-train --moments on a tiny gpt) ----
pages t
fed-shard -q -f text -p file -o h t/de t/fr
fed-init -a gpt:1-16-2-16 -s 1 -o g0.fed
for h in de fr; do
	fed-train -m g0.fed -d h-$h.fed --steps 2 -b 4 -l 0.01 --warmup 0 \
	    --schedule constant -s 1 --name $h -o g-$h.fed --moments
done
run moments -m g0.fed g-de.fed g-fr.fed
run moments-nesterov -m g0.fed -r nesterov g-de.fed g-fr.fed
run moments-clip -m g0.fed --clip-norm 0.01 g-de.fed g-fr.fed

if [ "${FED_GOLDEN_WRITE:-0}" = 1 ]; then
	cp got "$GOLDEN"
	echo "# wrote $(wc -l <got) digests to $GOLDEN"
fi
check "golden digests: as many cases" test "$(wc -l <got)" = "$(wc -l <"$GOLDEN")"
while read -r name want; do
	have=$(sed -n "s/^$name //p" got)
	if [ "$have" = "$want" ]; then
		pass "golden $name"
	else
		fail "golden $name" "got $have, want $want"
	fi
done <"$GOLDEN"
