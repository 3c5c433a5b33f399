#!/bin/sh
# fed-merge's peak memory: fedavg over N (64) updates of ARCH
# (mlp:784-2048-1024-10, 14.9 MB of weights), measured with /usr/bin/time
# (scripts/deps bench installs it).  Prints the peak RSS, the model's size
# and the ratio (peak - baseline) / model, where the baseline is the peak
# of a trivial merge (softmax:4-2, two updates): the process's fixed cost
# (libraries, OpenBLAS, jansson).  The linear rules accumulate in one
# float64 buffer of the model's size and stream the model, so the ratio
# stays near 2 whatever N; exit 1 when it is not below 3.
set -eu
cd "$(dirname "$0")/../.."
root=$(pwd)
ARCH=${ARCH:-mlp:784-2048-1024-10}
N=${N:-64}
W=$(mktemp -d "${TMPDIR:-/tmp}/fedmem.XXXXXX")
trap 'rm -rf "$W"' EXIT INT TERM
[ -x /usr/bin/time ] || { echo "merge-mem.sh: needs /usr/bin/time (scripts/deps bench)" >&2; exit 2; }

gen() { "$root/build/tools/merge-gen" "$@"; }
# peak KB MODEL UPDATE...: the peak RSS of one fedavg merge
peak() {
	m=$1
	shift
	/usr/bin/time -f '%M' -o "$W/t" "$root/build/fed-merge" --unsigned -j 2 -m "$m" \
	    -o "$W/out.fed" "$@"
	cat "$W/t"
}

gen model softmax:4-2 1 "$W/tiny.fed"
gen update "$W/tiny.fed" 1 0.01 10 a "$W/t1.fed"
gen update "$W/tiny.fed" 2 0.01 10 b "$W/t2.fed"
base=$(peak "$W/tiny.fed" "$W/t1.fed" "$W/t2.fed")

gen model "$ARCH" 1 "$W/model.fed"
i=1
while [ $i -le "$N" ]; do
	gen update "$W/model.fed" $i 0.01 $i holder$i "$W/u$i.fed"
	i=$((i + 1))
done
msize=$(wc -c <"$W/model.fed")
rss=$(peak "$W/model.fed" "$W"/u*.fed)

awk -v base="$base" -v rss="$rss" -v ms="$msize" -v n="$N" -v arch="$ARCH" 'BEGIN {
	r = (rss - base) * 1024 / ms
	printf "fedavg over %d updates of %s\n", n, arch
	printf "model           %8.1f MB\n", ms / 1e6
	printf "peak RSS        %8.1f MB\n", rss * 1024 / 1e6
	printf "baseline RSS    %8.1f MB (trivial merge)\n", base * 1024 / 1e6
	printf "(peak - baseline) / model = %.2f (target < 3)\n", r
	exit !(r < 3)
}'
