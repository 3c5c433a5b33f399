#!/bin/sh
# Benchmark: fed-train on a gpt model against PyTorch (Debian's
# python3-torch) on the same architecture, batch and sequence length, in
# the same run, each at its fastest thread setting (1 or 2).  Prints
# training tokens per second, the ratio (target >= 1.2) and the fraction
# of the sgemm peak fed-train reaches.
set -eu
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
B=${FED_BUILD:-build}
ARCH=${ARCH:-gpt:4-128-4-128}
BATCH=${BATCH:-16}
STEPS=${STEPS:-40}
$PY -c 'import torch, numpy' 2>/dev/null ||
	{ echo "gpt.sh: needs python3-torch and python3-numpy" >&2; exit 2; }
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
set -- $(echo "${ARCH#gpt:}" | tr - ' ')
L=$1 C=$2 H=$3 T=$4
# text: the English manual pages, rendered
find /usr/share/man/man1 -name '*.gz' | LC_ALL=C sort | head -200 |
	while read -r f; do zcat "$f" | mandoc -Tutf8 2>/dev/null | col -b; done |
	head -c 2000000 >"$w/text.txt"
"$B/fed-shard" -q -f text -o "$w/d" "$w/text.txt"
"$B/fed-init" -a "$ARCH" -o "$w/m.fed"
# one parameter per token, six flops each way: forward 2, backward 4;
# attention adds 12 L T C per token (scores and values, both ways)
np=$(( (512 + T) * C + 2 * C + L * (12 * C * C + 13 * C) ))
flop=$(( 6 * np + 12 * L * T * C ))
echo "gpt training, $ARCH, batch $BATCH x $T bytes, $STEPS steps"
printf '%-8s %12s %12s %7s %9s %8s\n' threads fed-tok/s torch-tok/s ratio \
	GFLOP/s of-peak
bestf=0 bestt=0
for t in 1 2; do
	f=$(OPENBLAS_NUM_THREADS=$t "$B/fed-train" -v -m "$w/m.fed" \
	    -d "$w/d-000.fed" --steps "$STEPS" -b "$BATCH" -o "$w/u.fed" 2>&1 |
	    sed -n 's/.* \([0-9]*\) samples\/s.*/\1/p')
	p=$(OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t $PY tests/bench/gpt_torch.py \
	    "$w/text.txt" "$L" "$C" "$H" "$T" "$BATCH" "$STEPS" "$t")
	peak=$(OPENBLAS_NUM_THREADS=$t $PY tests/bench/sgemm_peak.py 2048)
	gf=$(awk -v f="$f" -v fl="$flop" 'BEGIN { printf "%.1f", f * fl / 1e9 }')
	printf '%-8s %12s %12s %7.2f %9s %7.0f%%\n' "$t" "$f" "$p" \
	    "$(awk -v a="$f" -v b="$p" 'BEGIN { print a / b }')" "$gf" \
	    "$(awk -v g="$gf" -v pk="$peak" 'BEGIN { print 100 * g / pk }')"
	[ "$f" -gt "$bestf" ] && bestf=$f
	[ "$p" -gt "$bestt" ] && bestt=$p
done
r=$(awk -v a="$bestf" -v b="$bestt" 'BEGIN { printf "%.2f", a / b }')
echo "best against best: fed $bestf, torch $bestt tokens/s: ${r}x (target 1.2x)"
