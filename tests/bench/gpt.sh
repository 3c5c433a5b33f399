#!/bin/sh
# Benchmark: fed-train on a gpt model against PyTorch (Debian's
# python3-torch) on the same architecture, batch and sequence length, in
# the same run, each at its fastest thread setting (1 or 2).  Prints
# training tokens per second, the ratio, and the fraction of the sgemm
# peak fed-train reaches.  Exits 1 when fed's best is under 1.2 times
# PyTorch's best.
#
# Every side gets the same OPENBLAS_CORETYPE: the one fed-train chooses
# (see nn_blas_coretype_hint), so PyTorch's and numpy's BLAS calls run the
# same kernels as fed's.  Runs alternate (fed, torch, fed, torch...) and
# each keeps its best of REPEAT, since the machine may be shared.
set -eu
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
B=${FED_BUILD:-build}
ARCH=${ARCH:-gpt:4-128-4-128}
BATCH=${BATCH:-16}
STEPS=${STEPS:-40}
REPEAT=${REPEAT:-2}
TARGET=1.2
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
core=$("$B/fed-train" -v --steps 2 -b 2 -m "$w/m.fed" -d "$w/d-000.fed" \
    -o "$w/u.fed" 2>&1 | sed -n 's/.* blas \([^ ]*\) .*/\1/p')
export OPENBLAS_CORETYPE="$core"
# FLOP per token of the matrix products: six per weight of the blocks and
# the head (forward 2, backward 4), and 12 L T C for attention (scores
# and values, forward and backward, over the full T x T the sgemms do)
flop=$(( 6 * (256 * C + L * 12 * C * C) + 12 * L * T * C ))
echo "gpt training, $ARCH, batch $BATCH x $T bytes, $STEPS steps," \
    "best of $REPEAT; OpenBLAS core $core"
printf '%-8s %12s %12s %7s %9s %9s %8s\n' threads fed-tok/s torch-tok/s \
    ratio GFLOP/s peak of-peak
bestf=0 bestt=0
for t in 1 2; do
	f=0 p=0 i=0
	while [ $i -lt "$REPEAT" ]; do
		x=$(OPENBLAS_NUM_THREADS=$t "$B/fed-train" -v -m "$w/m.fed" \
		    -d "$w/d-000.fed" --steps "$STEPS" -b "$BATCH" \
		    -o "$w/u.fed" 2>&1 |
		    sed -n 's/.* \([0-9]*\) samples\/s.*/\1/p')
		[ "$x" -gt "$f" ] && f=$x
		x=$(OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t $PY \
		    tests/bench/gpt_torch.py "$w/text.txt" "$L" "$C" "$H" "$T" \
		    "$BATCH" "$STEPS" "$t")
		[ "$x" -gt "$p" ] && p=$x
		i=$((i + 1))
	done
	peak=$(OPENBLAS_NUM_THREADS=$t $PY tests/bench/sgemm_peak.py 2048)
	gf=$(awk -v f="$f" -v fl="$flop" 'BEGIN { printf "%.1f", f * fl / 1e9 }')
	printf '%-8s %12s %12s %7.2f %9s %9s %7.0f%%\n' "$t" "$f" "$p" \
	    "$(awk -v a="$f" -v b="$p" 'BEGIN { print a / b }')" "$gf" "$peak" \
	    "$(awk -v g="$gf" -v pk="$peak" 'BEGIN { print 100 * g / pk }')"
	[ "$f" -gt "$bestf" ] && bestf=$f
	[ "$p" -gt "$bestt" ] && bestt=$p
done
r=$(awk -v a="$bestf" -v b="$bestt" 'BEGIN { printf "%.2f", a / b }')
echo "best against best: fed $bestf, torch $bestt tokens/s: ${r}x" \
    "(target ${TARGET}x)"
if awk -v r="$r" -v t="$TARGET" 'BEGIN { exit !(r < t) }'; then
	echo "gpt.sh: fed is under ${TARGET}x PyTorch" >&2
	exit 1
fi
