# mpi: fed-train under Open MPI's mpirun.  One rank gives the bytes of a
# plain run; two ranks give the same bytes on every run, for every model
# kind and optimizer path; only rank 0 writes; a rank that fails fails
# the run (exit 2, nothing written); the two-rank result trains as well
# as one rank's.  tests/sh/mpi-netns.sh runs ranks on two "hosts".
. "$FED_ROOT/tests/sh/lib.sh"

command -v mpirun >/dev/null ||
	{ fail "mpi" "mpirun missing: scripts/deps check installs openmpi-bin"; exit 0; }
# CI runs as root; Open MPI refuses that unless told
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# a laptop or a CI box without a configured network: shared memory only
export OMPI_MCA_btl=self,vader OMPI_MCA_rmaps_base_oversubscribe=1
# Open MPI's own allocations are not fed's leaks
[ -n "${FED_SANITIZED:-}" ] && export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
run() { # NP args...: fed-train on NP ranks, bounded in time
	np=$1
	shift
	timeout 120 mpirun -np "$np" fed-train "$@" 2>>mpi.log
}

awk -v seed=7 -v rows=240 -v cols=6 -v classes=3 -f "$FED_ROOT/tests/sh/rows.awk" >c.csv
fed-shard -q -f csv --label label -n 1 -o c c.csv
mkdir -p t
for i in 1 2 3 4 5 6 7 8; do
	printf 'Der Hund %d schlaeft unter dem Tisch, die Katze auf dem Sofa.\n' \
	    "$i" >t/p$i.txt
done
fed-shard -q -f text -o h t
fed-init -a softmax:6-3 -s 1 -o soft.fed
fed-init -a mlp:6-8-3 -s 2 -o mlp.fed
fed-init -a gpt:1-16-2-16 -s 3 -o gpt.fed

# case model data args...: plain, np 1, np 2 twice
cases() {
	c=$1
	shift
	fed-train "$@" -o "$c-plain.fed" 2>/dev/null ||
		fail "$c" "plain fed-train failed"
	run 1 "$@" -o "$c-1.fed" || fail "$c" "mpirun -np 1 failed"
	run 2 "$@" -o "$c-2a.fed" || fail "$c" "mpirun -np 2 failed"
	run 2 "$@" -o "$c-2b.fed" || fail "$c" "mpirun -np 2 failed"
	check "$c: np 1 gives the plain bytes" cmp "$c-plain.fed" "$c-1.fed"
	check "$c: np 2 gives the same bytes twice" cmp "$c-2a.fed" "$c-2b.fed"
}
D="-d c-000.fed"
cases soft -m soft.fed $D -e 2 -b 16
cases mlp -m mlp.fed $D -e 2 -b 16 --optimizer adam -l 0.01
cases mlp-odd -m mlp.fed $D --steps 9 -b 7 --momentum 0.5
cases int8 -m mlp.fed $D -e 1 --encode int8 --stochastic-rounding
cases dp -m mlp.fed $D -e 2 -b 20 --dp --noise 1.1 --clip 0.5 -s 3
H="-d h-000.fed -b 4"
cases gpt -m gpt.fed $H --steps 6 -l 0.01 -s 1
cases gpt-slices -m gpt.fed $H --steps 4 --slices 2 -l 0.01 -s 5
cases gpt-vbatch -m gpt.fed $H --steps 4 --v-batch 16 -l 0.01 -s 6
cases gpt-moments -m gpt.fed $H --steps 4 --moments -s 7
cases gpt-topk -m gpt.fed $H --steps 4 --encode topk:0.2 -s 8

# the sums of two ranks round differently from one's, not worse
loss() { tar -xOf "$1" manifest.json | jq -r '.stats.loss_end // empty'; }
close() { awk -v a="$(loss "$1")" -v b="$(loss "$2")" \
    'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d < 1e-3 * (a < 0 ? -a : a) + 1e-6) }'; }
for n in soft mlp gpt; do
	check "$n: np 2 trains as well as np 1" close "$n-plain.fed" "$n-2a.fed"
done

# an mlp's first layer split by neurons (lib/split.h) across three ranks,
# unevenly (8 neurons, batches of 16 and 7 rows): the same bytes twice,
# training as well; a layer narrower than the ranks is not split
run 3 -m mlp.fed $D -e 2 -b 16 --optimizer adam -l 0.01 -o m3a.fed &&
	run 3 -m mlp.fed $D -e 2 -b 16 --optimizer adam -l 0.01 -o m3b.fed ||
	fail "mlp np 3" "mpirun -np 3 failed"
check "mlp: np 3 gives the same bytes twice" cmp m3a.fed m3b.fed
check "mlp: np 3 trains as well as np 1" close mlp-plain.fed m3a.fed
run 3 -m mlp.fed $D --steps 9 -b 7 --momentum 0.5 -o o3a.fed &&
	run 3 -m mlp.fed $D --steps 9 -b 7 --momentum 0.5 -o o3b.fed ||
	fail "mlp-odd np 3" "mpirun -np 3 failed"
check "mlp-odd: np 3 gives the same bytes twice" cmp o3a.fed o3b.fed
fed-init -a mlp:6-2-3 -s 4 -o thin.fed
fed-train -m thin.fed $D -e 1 -b 16 -o thin-plain.fed
run 3 -m thin.fed $D -e 1 -b 16 -o thin-3.fed || fail "thin" "mpirun -np 3 failed"
check "mlp 6-2-3: np 3 trains as well as np 1" close thin-plain.fed thin-3.fed

# only rank 0 writes: rank 1 is given its own -o, which must not appear
timeout 120 mpirun -np 2 sh -c 'exec fed-train -m mlp.fed -d c-000.fed -e 1 \
    -o "u$OMPI_COMM_WORLD_RANK.fed"' 2>>mpi.log
check "rank 0 writes the update" test -s u0.fed
check "rank 1 writes nothing" test ! -e u1.fed

# a rank that fails fails the run: exit 2, nothing written
expect "a failed rank fails the run" 2 timeout 120 mpirun -np 2 sh -c \
    'd=c-000.fed; [ "$OMPI_COMM_WORLD_RANK" = 1 ] && d=nosuch.fed
    exec fed-train -m mlp.fed -d "$d" -e 20 -b 4 -o fail.fed'
check "a failed run writes nothing" test ! -e fail.fed
expect "a model from stdin under mpirun" 2 timeout 60 mpirun -np 2 \
    fed-train -m - -d c-000.fed -o x.fed <mlp.fed
expect "standard output under mpirun" 2 timeout 60 mpirun -np 1 \
    fed-train -m mlp.fed -d c-000.fed -o -
check "nothing left behind" test ! -e x.fed

# --micro-batches: exact sums, so the same bytes for every number of
# ranks, and for a plain run
across() { # name args...: plain, then np 1, 2, 3 and 4
	c=$1
	shift
	fed-train "$@" -o "$c-x.fed" 2>/dev/null || fail "$c" "plain fed-train failed"
	for n in 1 2 3 4; do
		run $n "$@" -o "$c-x$n.fed" || fail "$c" "mpirun -np $n failed"
		check "$c: np $n gives the plain bytes" cmp "$c-x.fed" "$c-x$n.fed"
	done
}
across micro-mlp -m mlp.fed $D -e 2 -b 16 --micro-batches 4
across micro-dp -m mlp.fed $D -e 1 -b 20 --dp --noise 1.1 --clip 0.5 \
    --micro-batches 6
across micro-gpt -m gpt.fed $H --steps 4 -b 6 --micro-batches 6 -l 0.01
across micro-slices -m gpt.fed $H --steps 3 -b 6 --micro-batches 3 --slices 2
check "micro-batches are recorded" sh -c \
    "tar -xOf micro-mlp-x.fed manifest.json | jq -e '.train.micro_batches == 4'"
check "ranks are recorded without them" sh -c \
    "tar -xOf mlp-2a.fed manifest.json | jq -e '.train.ranks == 2'"
check "one rank is not recorded" sh -c \
    "tar -xOf mlp-1.fed manifest.json | jq -e '.train.ranks == null'"
expect "--micro-batches 0" 2 fed-train -m mlp.fed $D --micro-batches 0 -o x.fed
expect "--micro-batches 65" 2 fed-train -m mlp.fed $D --micro-batches 65 -o x.fed
