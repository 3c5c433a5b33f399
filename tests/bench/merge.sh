#!/bin/sh
# fed-merge throughput: fedavg over 16 updates of a 64-million-parameter
# model, against a numpy mean over the same updates memory-mapped and
# against `openssl dgst -sha256` reading the same files, in the same run,
# all from the page cache.  Targets: >= 1.5x numpy, >= 0.8x openssl, peak
# memory < 3x the model.  Needs about 5 GB in $TMPDIR (default /tmp).
set -eu
cd "$(dirname "$0")/../.."
root=$(pwd)
PY=/usr/bin/python3
ARCH=${ARCH:-mlp:4000-4000-4000-4000-4000-10}   # 64,060,010 parameters
N=${N:-16}
W=$(mktemp -d "${TMPDIR:-/tmp}/fedbench.XXXXXX")
trap 'rm -rf "$W"' EXIT INT TERM
avail=$(df -Pk "$W" | awk 'NR == 2 { print $4 }')
[ "$avail" -gt 6000000 ] || { echo "merge.sh: need 6 GB free in $W" >&2; exit 2; }

cp build/tools/merge-gen "$W/gen"
"$W/gen" model "$ARCH" 1 "$W/model.fed"
i=1
while [ $i -le "$N" ]; do
	"$W/gen" update "$W/model.fed" $i 0.01 1000 holder$i "$W/u$i.fed"
	i=$((i + 1))
done
ups=$(i=1; while [ $i -le "$N" ]; do printf '%s ' "$W/u$i.fed"; i=$((i + 1)); done)
msize=$(wc -c <"$W/model.fed")
bytes=$(cat $ups | wc -c)          # also warms the page cache

now() { date +%s.%N; }
t0=$(now); openssl dgst -sha256 $ups >/dev/null; t1=$(now)
ssl=$(echo "$t1 - $t0" | bc -l)
t0=$(now); "$PY" tests/bench/merge_ref.py mean $ups >/dev/null; t1=$(now)
np=$(echo "$t1 - $t0" | bc -l)
/usr/bin/time -f '%e %M' -o "$W/time" "$root/build/fed-merge" \
    -m "$W/model.fed" -o "$W/out.fed" $ups
fed=$(cut -d' ' -f1 "$W/time")
rss=$(cut -d' ' -f2 "$W/time")

awk -v b="$bytes" -v ssl="$ssl" -v np="$np" -v fed="$fed" -v rss="$rss" \
    -v ms="$msize" -v n="$N" 'BEGIN {
	mb = b / 1e6
	printf "fedavg over %d updates, %.0f MB read (model %.0f MB)\n", n, mb, ms / 1e6
	printf "%-28s %8.2f s %8.0f MB/s\n", "openssl dgst -sha256", ssl, mb / ssl
	printf "%-28s %8.2f s %8.0f MB/s\n", "numpy mean (memory-mapped)", np, mb / np
	printf "%-28s %8.2f s %8.0f MB/s\n", "fed-merge", fed, mb / fed
	rn = np / fed; ro = ssl / fed; rm = rss * 1024 / ms
	printf "fed-merge / numpy   %.2fx (target >= 1.5)\n", rn
	printf "fed-merge / openssl %.2fx (target >= 0.8)\n", ro
	printf "fed-merge peak RSS  %.0f MB = %.2fx the model (target < 3)\n", rss / 1024, rm
	exit !(rn >= 1.5 && ro >= 0.8 && rm < 3)
}'
