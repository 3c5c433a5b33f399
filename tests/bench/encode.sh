#!/bin/sh
# encode: bytes against accuracy for every update encoding, in a small
# consortium on Fashion-MNIST: 10 holders (Dirichlet 0.5 label skew),
# mlp:784-200-10, fedavg, 1 local epoch, ROUNDS rounds (default 5; the
# demo's 20 with ROUNDS=20).  Prints, per encoding, the mean size of an
# update's tensors member and of the whole bundle against float32, and the
# test accuracy after the last round.
# Usage: sh tests/bench/encode.sh   (from the repository, after make)
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
PATH="$root/build:$PATH"
export OPENBLAS_NUM_THREADS=1
ROUNDS=${ROUNDS:-5}
FM=/usr/share/datasets/fashion-mnist
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
cd "$w"
fed-shard -q -n 10 -p dirichlet:0.5 -s 1 -t 0.1 -o fm \
    "$FM/train-images-idx3-ubyte.gz" "$FM/train-labels-idx1-ubyte.gz"
fed-init -a mlp:784-200-10 -s 1 -o init.fed
printf '%-10s %12s %8s %12s %8s %9s\n' encoding tensor-bytes ratio \
    bundle-bytes ratio accuracy
base_t=0 base_b=0
for enc in f32 fp16 bf16 int8 topk:0.01 topk:0.1; do
	n=$(echo "$enc" | tr : _)
	cp init.fed "$n-0.fed"
	tb=0 bb=0 cnt=0 r=0
	while [ $r -lt "$ROUNDS" ]; do
		for h in 0 1 2 3 4 5 6 7 8 9; do
			a=
			[ "$enc" != f32 ] && a="--encode $enc"
			case $enc in topk*) a="$a --residual res-$n-$h.st" ;; esac
			# shellcheck disable=SC2086
			fed-train -m "$n-$r.fed" -d fm-00$h.fed -e 1 -s $h $a -o "u-$h.fed"
			tb=$((tb + $(tar -xOf "u-$h.fed" tensors.safetensors | wc -c)))
			bb=$((bb + $(wc -c <"u-$h.fed")))
			cnt=$((cnt + 1))
		done
		fed-merge --unsigned -m "$n-$r.fed" -o "$n-$((r + 1)).fed" u-?.fed
		r=$((r + 1))
	done
	acc=$(fed-eval --json -m "$n-$ROUNDS.fed" fm-00?.test.fed | jq .total.accuracy)
	tb=$((tb / cnt)) bb=$((bb / cnt))
	[ "$enc" = f32 ] && base_t=$tb base_b=$bb
	awk -v e="$enc" -v t="$tb" -v b="$bb" -v bt="$base_t" -v bb0="$base_b" \
	    -v a="$acc" 'BEGIN { printf "%-10s %12d %8.4f %12d %8.4f %9.4f\n",
	    e, t, t / bt, b, b / bb0, a }'
done
echo "# $ROUNDS rounds, 10 holders, mlp:784-200-10"
