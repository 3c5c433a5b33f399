#!/bin/sh
# Benchmark: DP-SGD (fed-train --dp) on Fashion-MNIST.
#
# 1. Speed: samples/s of DP-SGD against plain training on
#    mlp:784-200-200-10 at batch 256, two epochs over 60000 images, best
#    of three runs each.  Exits 1 when DP is below half the plain speed
#    (issue 8's target).
# 2. The privacy-utility curve in a small consortium: 5 holders with an
#    IID share of the training set each, mlp:784-128-10, 5 rounds of one
#    local epoch and a fedavg merge, at a total epsilon of 1, 3 and 8 per
#    holder (delta 1e-5, each holder's ledger composing its rounds) and
#    without DP; test accuracy on the 10000 test images.  The noise
#    multiplier for a total epsilon is what fed-train --epsilon finds for
#    all the rounds' steps at once, which is what the rounds compose to.
set -u
cd "$(dirname "$0")/../.." || exit 2
root=$(pwd)
B=$root/build
FM=${FED_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
[ -x "$B/fed-train" ] || { echo "dp.sh: build first (make all)" >&2; exit 2; }
[ -r "$FM/train-images-idx3-ubyte.gz" ] ||
	{ echo "dp.sh: no Fashion-MNIST in $FM" >&2; exit 2; }
export OPENBLAS_NUM_THREADS=1
T=$(mktemp -d "${TMPDIR:-/tmp}/fedbench.XXXXXX")
trap 'rm -rf "$T"' EXIT
PATH=$B:$PATH

fed-shard -q -f idx -n 1 -p iid -o "$T/all" "$FM/train-images-idx3-ubyte.gz" \
    "$FM/train-labels-idx1-ubyte.gz" || exit 2
fed-shard -q -f idx -n 5 -p iid -o "$T/h" "$FM/train-images-idx3-ubyte.gz" \
    "$FM/train-labels-idx1-ubyte.gz" || exit 2
fed-shard -q -f idx -n 1 -p iid -o "$T/te" "$FM/t10k-images-idx3-ubyte.gz" \
    "$FM/t10k-labels-idx1-ubyte.gz" || exit 2

# best samples/s of three runs of fed-train "$@"
speed() {
	for i in 1 2 3; do
		fed-train -v "$@" -o "$T/u.fed" 2>&1 >/dev/null |
		    sed -n 's/.* \([0-9]*\) samples\/s.*/\1/p'
	done | sort -n | tail -1
}

fed-init -a mlp:784-200-200-10 -s 1 -o "$T/big.fed" || exit 2
plain=$(speed -m "$T/big.fed" -d "$T/all-000.fed" -b 256 -e 2)
dp=$(speed -m "$T/big.fed" -d "$T/all-000.fed" -b 256 -e 2 --dp --noise 1)
echo "speed, mlp:784-200-200-10, batch 256, 1 thread:"
awk -v p="$plain" -v d="$dp" 'BEGIN {
	printf "  plain %d samples/s, dp-sgd %d samples/s, ratio %.2f " \
	    "(target >= 0.5)\n", p, d, d / p }'
ok=$(awk -v p="$plain" -v d="$dp" 'BEGIN { print (d >= 0.5 * p) }')

# the consortium
R=5
H="0 1 2 3 4"
fed-init -a mlp:784-128-10 -s 1 -o "$T/init.fed" || exit 2
TRAIN="-b 256 -e 1 -l 0.1 --schedule constant"
# run_consortium NAME SIGMA EPS: 5 rounds, with DP-SGD at noise SIGMA
# and a ledger of budget EPS per holder, or plain when SIGMA is -; prints
# the test accuracy
run_consortium() {
	cp "$T/init.fed" "$T/$1-0.fed"
	r=0
	while [ $r -lt $R ]; do
		for h in $H; do
			dpo=
			[ "$2" = - ] || dpo="--dp --clip 1 --noise $2 --delta 1e-5
			    --ledger $T/$1-l$h.json --budget $3"
			fed-train -m "$T/$1-$r.fed" -d "$T/h-00$h.fed" $TRAIN \
			    -s $((r * 10 + h)) $dpo -o "$T/$1-u$h.fed" ||
			    return 1
		done
		fed-merge --unsigned -m "$T/$1-$r.fed" -o "$T/$1-$((r + 1)).fed" \
		    "$T"/$1-u?.fed || return 1
		r=$((r + 1))
	done
	fed-eval --json -m "$T/$1-$R.fed" "$T/te-000.fed" | jq .total.accuracy
}

echo "privacy-utility, 5 holders x 12000 images, mlp:784-128-10, $R rounds" \
    "of 1 epoch, batch 256, clip 1, delta 1e-5:"
printf '  %-8s %-8s %-10s %-8s %s\n' epsilon sigma "spent(max)" accuracy seconds
for eps in 1 3 8; do
	start=$(date +%s)
	# sigma for all the rounds' steps of a holder at once
	sigma=$(fed-train -v -m "$T/init.fed" -d "$T/h-000.fed" -b 256 -e $R \
	    --dp --epsilon $eps -o "$T/x.fed" 2>&1 |
	    sed -n 's/.*sigma \([0-9.e+-]*\) .*/\1/p')
	acc=$(run_consortium e$eps "$sigma" $eps) ||
		{ echo "dp.sh: failed" >&2; exit 2; }
	spent=$(cat "$T"/e$eps-l?.json | jq -s 'map(.spent) | max')
	printf '  %-8s %-8.4g %-10.4g %-8s %d\n' "$eps" "$sigma" "$spent" "$acc" \
	    $(($(date +%s) - start))
done
start=$(date +%s)
acc=$(run_consortium nodp - -) || { echo "dp.sh: failed" >&2; exit 2; }
printf '  %-8s %-8s %-10s %-8s %d\n' "none" - - "$acc" $(($(date +%s) - start))
[ "$ok" = 1 ] || { echo "dp.sh: dp-sgd below half the plain speed" >&2; exit 1; }
