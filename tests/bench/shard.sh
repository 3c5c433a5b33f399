#!/bin/sh
# Benchmark: fed-shard of the Fashion-MNIST training set (60000 images,
# gzip) into 100 Dirichlet shards, against the time zcat needs to read the
# same two files, measured in the same run, alternately (best of 5 each).
# Target: no more than 1.5 times zcat.  Exit 1 when the target is missed.
cd "$(dirname "$0")/../.." || exit 2
B=${FED_BIN:-$PWD/build}
D=/usr/share/datasets/fashion-mnist
IMG=$D/train-images-idx3-ubyte.gz
LAB=$D/train-labels-idx1-ubyte.gz
RUNS=${RUNS:-5}
[ -r "$IMG" ] && [ -r "$LAB" ] || { echo "shard bench: no $IMG" >&2; exit 2; }
[ -x "$B/fed-shard" ] || { echo "shard bench: build fed-shard first" >&2; exit 2; }
W=$(mktemp -d "${TMPDIR:-/tmp}/fedbench.XXXXXX") || exit 2
trap 'rm -rf "$W"' EXIT

now() { date +%s.%N; }
since() { echo "$(now) $1" | awk '{ printf "%.4f", $1 - $2 }'; }
min() { echo "${1:-$2} $2" | awk '{ print ($2 < $1) ? $2 : $1 }'; }
shard() {
	rm -f "$W"/s-*
	"$B/fed-shard" -q -n 100 -p dirichlet:0.5 -s 1 -o "$W/s" "$IMG" "$LAB"
}
readall() { zcat "$IMG" "$LAB" >/dev/null; }

# Alternate the two, best of RUNS each, so that both see the same load.
readall
tz= ts= i=0
while [ "$i" -lt "$RUNS" ]; do
	t0=$(now); readall || exit 2; tz=$(min "$tz" "$(since "$t0")")
	t0=$(now); shard || { echo "shard bench: fed-shard failed" >&2; exit 2; }
	ts=$(min "$ts" "$(since "$t0")")
	i=$((i + 1))
done
n=$(ls "$W" | grep -c '^s-[0-9]*\.fed$')
[ "$n" -eq 100 ] || { echo "shard bench: $n shards written, want 100" >&2; exit 2; }
echo "$tz $ts" | awk '{
	r = $2 / $1
	printf "shard: zcat %.3f s, fed-shard -n 100 -p dirichlet:0.5 %.3f s, ratio %.2fx (target <= 1.5x) %s\n", $1, $2, r, r <= 1.5 ? "ok" : "MISSED"
	exit r > 1.5
}'
