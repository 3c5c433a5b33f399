#!/bin/sh
# fed-merge throughput: fedavg over 16 updates of a 64-million-parameter
# model, against a numpy mean over the same updates memory-mapped and
# against `openssl dgst -sha256` reading the same files, in the same run,
# all from a warm page cache.  The three run in turn, ROUNDS times (3), and
# each keeps its best wall time, so that a burst of other work on the
# machine hurts no contender more than another; CPU time (user + system)
# is printed beside it.  Targets: >= 1.5x numpy's throughput, >= 0.8x
# openssl's, peak memory < 3x the model.  Exit 1 when one is missed.
# Needs about 5 GB in $TMPDIR (default /tmp).
set -eu
cd "$(dirname "$0")/../.."
root=$(pwd)
PY=/usr/bin/python3
ARCH=${ARCH:-mlp:4000-4000-4000-4000-4000-10}   # 64,060,010 parameters
N=${N:-16}
ROUNDS=${ROUNDS:-3}
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
cat "$W/model.fed" >/dev/null

# run NAME CMD...: one timed run, appended to $W/NAME as "wall cpu rss_kb".
run() {
	name=$1
	shift
	/usr/bin/time -f '%e %U %S %M' -o "$W/t" "$@" >/dev/null
	awk '{ print $1, $2 + $3, $4 }' "$W/t" >>"$W/$name"
}
r=1
while [ $r -le "$ROUNDS" ]; do
	run ssl openssl dgst -sha256 $ups
	run np "$PY" tests/bench/merge_ref.py mean $ups
	run fed "$root/build/fed-merge" --unsigned -m "$W/model.fed" -o "$W/out.fed" $ups
	rm -f "$W/out.fed"
	r=$((r + 1))
done
# best wall time of the rounds; the CPU time of that run; the largest RSS
best() { sort -n "$W/$1" | head -n 1; }
rss=$(sort -n -k3 "$W/fed" | tail -n 1 | cut -d' ' -f3)

awk -v b="$bytes" -v ms="$msize" -v n="$N" -v rounds="$ROUNDS" \
    -v ssl="$(best ssl)" -v np="$(best np)" -v fed="$(best fed)" -v rss="$rss" \
    -v cores="$(getconf _NPROCESSORS_ONLN)" 'BEGIN {
	split(ssl, s, " "); split(np, p, " "); split(fed, f, " ")
	mb = b / 1e6
	printf "fedavg over %d updates, %.0f MB read (model %.0f MB), %d cores, best of %d\n",
	    n, mb, ms / 1e6, cores, rounds
	printf "%-28s %8s %9s %8s\n", "", "wall", "MB/s", "cpu"
	printf "%-28s %7.2fs %9.0f %7.2fs\n", "openssl dgst -sha256", s[1], mb / s[1], s[2]
	printf "%-28s %7.2fs %9.0f %7.2fs\n", "numpy mean (memory-mapped)", p[1], mb / p[1], p[2]
	printf "%-28s %7.2fs %9.0f %7.2fs\n", "fed-merge", f[1], mb / f[1], f[2]
	rn = p[1] / f[1]; ro = s[1] / f[1]; rm = rss * 1024 / ms
	printf "fed-merge / numpy   %.2fx (target >= 1.5)\n", rn
	printf "fed-merge / openssl %.2fx (target >= 0.8)\n", ro
	printf "fed-merge peak RSS  %.0f MB = %.2fx the model (target < 3)\n", rss / 1024, rm
	ok = rn >= 1.5 && ro >= 0.8 && rm < 3
	if (!ok)
		print "merge.sh: a target was missed"
	exit !ok
}'
