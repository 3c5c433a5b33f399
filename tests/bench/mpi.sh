#!/bin/sh
# Benchmark: fed-train under mpirun on the cores of this machine.  For
# mlp:784-200-200-10 at batch 256 (Fashion-MNIST, one epoch) and
# gpt:4-128-4-128 (batch 16 windows of 128 bytes): two ranks against one
# (one OpenBLAS thread each), and against PyTorch DistributedDataParallel
# (gloo, Debian's python3-torch) with the same processes, threads and
# global batch.  Then the language model's best use of two cores (one
# thread, two threads, two ranks) against its one-thread rate.  Runs
# alternate and each keeps its best of REPEAT, since the machine may be
# shared; the spread of each round's ratios and the load average are
# printed too, so that a busy machine shows, and two ranks against two
# plain runs at once (what this machine gives two processes now: 2x
# on idle cores, about 1x when other jobs hold them).  Exits 1 when a target of
# issue 22 is missed (on the best rates): 1.8x for two
# ranks over one, 1.5x over PyTorch DDP, 1.8x for the best two-core
# configuration of the language model.
# Measured on the idle machine (2 vCPUs, OpenBLAS Cooperlake, 2026-11-30,
# after ranks write shared memory with non-temporal stores): mlp 1.70x
# (rounds 1.65-1.72x), 0.84-0.86x of what two plain runs at once reach
# together (0.67-0.75x at 69722af, when mlp gave 1.48x); gpt
# 1.99x, against DDP 1.60x; best two-core gpt 1.98x (ranks; two
# threads 1.11x).
# With an mlp's first layer split by neurons across the ranks (so that
# the layer is neither summed nor shared: lib/split.h), a batch's rows
# gathered a stage at a time, and waits that spin 0.3 ms before sleeping
# (h22c, 2026-11-30, on a machine NOT idle: load average 4-7 from other
# sessions' niced jobs, so the lock-step pair of ranks loses more than
# one process does): mlp 1.76x, 1.78x (KINDS=mlp, load 3), 1.76x, 1.65x
# and 1.76x (REPEAT=3) in five runs (rounds 1.56-1.78x; 0.84-0.92x of
# two plain runs at once), gpt 1.95-1.96x, against DDP 3.5-4.5x and
# 1.50-1.54x, best two-core gpt 1.94-1.96x.  Old and new builds
# alternating in one run (ten rounds, best of each, load 5.6-6):
# 2509d74 np=1 102.3k np=2 172.3k samples/s (1.68x), now 105.2k and
# 188.5k (1.79x).  Step times, robust to the load (6.3; builds with a
# clock around each of 230 steps): median np=1 2429-2448 to 2373-2391
# us, np=2 1349-1364 to 1288-1292 us (1.80x to 1.84x), 10th percentile
# 1.82x to 1.85x, mean 1.63x to 1.74x.  The ceiling, two plain runs at batch 128 at once, reaches
# 1.89-1.95x one at batch 256.  KINDS=mlp runs the mlp part alone.
# Then on the idle machine (load average under 1.5, raised priority,
# 17:43 and 17:44, after the merge of 2509d74..d13b0c8), two runs: mlp
# 1.83x and 1.83x (rounds 1.79-1.83x; 0.90-0.96x of two plain runs at
# once), against DDP 3.27x and 3.67x; gpt 1.98x and 1.96x, against DDP
# 1.52x and 1.52x (rounds 1.51-1.55x); best two-core gpt 1.98x and
# 1.96x (ranks; two threads 1.47x and 1.24x).  Every target met.
set -u
cd "$(dirname "$0")/../.." || exit 2
root=$(pwd)
B=$root/${FED_BUILD:-build}
PY=/usr/bin/python3
FM=${FED_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
ARCH=${ARCH:-gpt:4-128-4-128}
BATCH=${BATCH:-16}
STEPS=${STEPS:-40}
REPEAT=${REPEAT:-2}
KINDS=${KINDS:-mlp gpt}
[ -x "$B/fed-train" ] || { echo "mpi.sh: build first (make all)" >&2; exit 2; }
command -v mpirun >/dev/null || { echo "mpi.sh: needs openmpi-bin" >&2; exit 2; }
$PY -c 'import torch, numpy' 2>/dev/null ||
	{ echo "mpi.sh: needs python3-torch and python3-numpy" >&2; exit 2; }
w=$(mktemp -d "${TMPDIR:-/tmp}/fedbench.XXXXXX")
trap 'rm -rf "$w"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl=self,vader

"$B/fed-shard" -q -f idx -n 1 -p iid -o "$w/tr" \
    "$FM/train-images-idx3-ubyte.gz" "$FM/train-labels-idx1-ubyte.gz" || exit 2
"$B/fed-init" -a mlp:784-200-200-10 -s 1 -o "$w/mlp.fed" || exit 2
find /usr/share/man/man1 -name '*.gz' | LC_ALL=C sort | head -200 |
	while read -r f; do zcat "$f" | mandoc -Tutf8 2>/dev/null | col -b; done |
	head -c 2000000 >"$w/text.txt"
"$B/fed-shard" -q -f text -o "$w/d" "$w/text.txt" || exit 2
"$B/fed-init" -a "$ARCH" -o "$w/gpt.fed" || exit 2
core=$("$B/fed-train" -v --steps 1 -b 2 -m "$w/gpt.fed" -d "$w/d-000.fed" \
    -o "$w/u.fed" 2>&1 | sed -n 's/.* blas \([^ ]*\) .*/\1/p')
export OPENBLAS_CORETYPE="$core"
MLP="-m $w/mlp.fed -d $w/tr-000.fed -b 256 -e 1"
GPT="-m $w/gpt.fed -d $w/d-000.fed -b $BATCH --steps $STEPS"
set -- $(echo "${ARCH#gpt:}" | tr - ' ')
L=$1 C=$2 H=$3 T=$4

rate() { # ranks threads args...: fed-train's training rate (0: no mpirun)
	n=$1 t=$2
	shift 2
	if [ "$n" -eq 0 ]; then
		OPENBLAS_NUM_THREADS=$t "$B/fed-train" -v "$@" -o "$w/u.fed" 2>&1
	else
		OPENBLAS_NUM_THREADS=$t mpirun -np "$n" "$B/fed-train" -v "$@" \
		    -o "$w/u.fed" 2>&1
	fi | sed -n 's/.* s, \([0-9]*\) samples\/s.*/\1/p'
}
apart() { # args...: two plain one-thread runs at once, their rates added
	for k in a b; do
		OPENBLAS_NUM_THREADS=1 "$B/fed-train" -v "$@" -o "$w/$k.fed" 2>&1 |
		    sed -n 's/.* s, \([0-9]*\) samples\/s.*/\1/p' >"$w/$k" &
	done
	wait
	x=$(cat "$w/a") y=$(cat "$w/b")
	echo $((${x:-0} + ${y:-0}))
}
ddp() { # kind: PyTorch DDP's rate on two processes of one thread
	if [ "$1" = mlp ]; then
		set -- mlp "$FM/train-images-idx3-ubyte.gz" \
		    "$FM/train-labels-idx1-ubyte.gz" 784-200-200-10 256
	else
		set -- gpt "$w/text.txt" "$L" "$C" "$H" "$T" "$BATCH" "$STEPS"
	fi
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 timeout 900 \
	    $PY tests/bench/ddp_torch.py 2 "$@" 2>/dev/null | tail -1
}
best() { # var value: var = max(var, value)
	eval "[ \"\${2:-0}\" -gt \"\$$1\" ] && $1=\$2"
}
spread() { # a b...: the lowest and highest of the ratios b / a, b / c...
	awk -v l="$*" 'BEGIN { n = split(l, v, " ")
		for (i = 1; i + 1 <= n; i += 2) if (v[i] > 0) {
			x = v[i + 1] / v[i]
			if (!lo || x < lo) lo = x
			if (x > hi) hi = x }
		printf "%.2f-%.2fx", lo, hi }'
}
load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "fed-train under Open MPI $(mpirun --version | sed -n '1s/.* //p'),"\
    "PyTorch $($PY -c 'import torch; print(torch.__version__)') DDP gloo;"\
    "OpenBLAS core $core; best of $REPEAT; load average $(load)"
status=0
printf '%-22s %10s %10s %7s %10s %7s\n' workload "np=1" "np=2" speedup \
    "ddp np=2" "vs ddp"
for kind in $KINDS; do
	if [ $kind = mlp ]; then args=$MLP; name="mlp batch 256"
	else args=$GPT; name="$ARCH b$BATCH"; fi
	r1=0 r2=0 rt=0 i=0 sp="" dd="" ap=""
	while [ $i -lt "$REPEAT" ]; do
		# shellcheck disable=SC2086
		a=$(rate 1 1 $args)
		# shellcheck disable=SC2086
		b=$(rate 2 1 $args)
		# shellcheck disable=SC2086
		c=$(apart $args)
		t=$(ddp $kind)
		best r1 "$a"
		best r2 "$b"
		best rt "$t"
		sp="$sp ${a:-0} ${b:-0}" dd="$dd ${t:-0} ${b:-0}"
		ap="$ap ${c:-0} ${b:-0}"
		i=$((i + 1))
	done
	spreads="${spreads:-}$(printf '  %-20s speedup %s, vs ddp %s, of two' \
	    "$name" "$(spread "$sp")" "$(spread "$dd")") apart $(spread "$ap")
"
	[ $kind = gpt ] && g1=$r1 g2=$r2
	awk -v n="$name" -v a=$r1 -v b=$r2 -v t=$rt 'BEGIN {
		s = a ? b / a : 0; d = t ? b / t : 0
		printf "%-22s %10d %10d %6.2fx %10d %6.2fx\n", n, a, b, s, t, d
		exit !(s >= 1.8 && d >= 1.5) }' || status=1
done
echo "targets: speedup >= 1.80x, vs ddp >= 1.50x (rates: samples/s, tokens/s)"
printf 'round by round:\n%s' "$spreads"

# the language model on two cores: threads or ranks
case " $KINDS " in *" gpt "*) ;; *) exit $status ;; esac
p1=0 p2=0 i=0 sp=""
while [ $i -lt "$REPEAT" ]; do
	# shellcheck disable=SC2086
	a=$(rate 0 1 $GPT)
	# shellcheck disable=SC2086
	b=$(rate 0 2 $GPT)
	best p1 "$a"
	best p2 "$b"
	sp="$sp ${a:-0} ${b:-0}"
	i=$((i + 1))
done
best p1 "$g1"
echo
echo "$ARCH on two cores, tokens/s (vs one thread; target >= 1.80x):"
awk -v a=$p1 -v b=$p2 -v c=$g2 'BEGIN {
	printf "  1 process, 1 thread     %8d\n", a
	printf "  1 process, 2 threads    %8d  %5.2fx\n", b, b / a
	printf "  mpirun -np 2, 1 thread  %8d  %5.2fx\n", c, c / a
	m = b > c ? b : c
	printf "  best                    %8d  %5.2fx (%s)\n", m, m / a,
	    (b > c ? "threads" : "ranks")
	exit !(m / a >= 1.8) }' || status=1
echo "  2 threads over 1, round by round: $(spread "$sp"); load average $(load)"
exit $status
