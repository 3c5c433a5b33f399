# slurm: a holder's sbatch job for real.  The test runs a one-node Slurm
# cluster of its own (slurmctld and slurmd on this machine, in the test's
# directory, on ports of its own, no munge: auth/none), submits the job
# script of fed-train(1) (mpirun fed-train inside the allocation) with
# sbatch --wait, and checks that the update is the one two ranks write
# outside Slurm.  The daemons are stopped at the end, on failure too.
# Needs root and slurm-wlm's daemons: without them it says so and
# checks nothing (not a pass).
. "$FED_ROOT/tests/sh/lib.sh"

cleanup() {
	for f in "$T/ctld.mypid" "$T/d.mypid"; do
		[ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	sleep 1
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 2' HUP INT TERM
for p in slurmctld slurmd sbatch mpirun; do
	command -v $p >/dev/null 2>&1 || PATH=$PATH:/usr/sbin
	command -v $p >/dev/null 2>&1 ||
		{ echo "# $p missing: slurm test skipped"; exit 0; }
done
[ "$(id -u)" -eq 0 ] || { echo "# slurmd needs root: slurm test skipped"; exit 0; }

# Open MPI's own allocations are not fed's leaks
[ -n "${FED_SANITIZED:-}" ] && export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
H=$(hostname -s)
port=$((20000 + $$ % 20000))
mkdir -p state spool
cat >slurm.conf <<CONF
ClusterName=fedtest
SlurmctldHost=$H(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/none
CredType=cred/none
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/ctld.pid
SlurmdPidFile=$T/d.pid
SlurmctldLogFile=$T/ctld.log
SlurmdLogFile=$T/d.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
NodeName=$H NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=test Nodes=$H Default=YES MaxTime=10 State=UP
CONF
export SLURM_CONF="$T/slurm.conf"
slurmctld -D -i -f "$SLURM_CONF" >ctld.out 2>&1 &
echo $! >ctld.mypid
slurmd -D -f "$SLURM_CONF" >d.out 2>&1 &
echo $! >d.mypid
i=0
until sinfo -h -o %T 2>/dev/null | grep -q idle; do
	i=$((i + 1))
	[ $i -gt 30 ] && { fail "slurm" "the cluster did not come up: $(tail -3 ctld.log d.log)"; exit 0; }
	sleep 1
done

awk -v seed=7 -v rows=240 -v cols=6 -v classes=3 -f "$FED_ROOT/tests/sh/rows.awk" >c.csv
fed-shard -q -f csv --label label -n 1 -o c c.csv
fed-init -a mlp:6-8-3 -s 2 -o m.fed
cat >job.sh <<JOB
#!/bin/sh
#SBATCH --job-name=fed-test
#SBATCH --ntasks=2
#SBATCH --time=5
set -eu
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl=self,vader
mpirun "$FED_BIN/fed-train" -m m.fed -d c-000.fed -e 2 -b 16 -o slurm.fed
JOB
expect "sbatch runs the holder's job" 0 timeout 180 sbatch --wait -o job.out job.sh
check "the job wrote the update" test -s slurm.fed
OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader \
    timeout 120 mpirun -np 2 fed-train -m m.fed -d c-000.fed -e 2 -b 16 \
    -o local.fed 2>/dev/null
check "the job's update is two ranks' update" cmp slurm.fed local.fed
check "the job ran two ranks" sh -c \
    "tar -xOf slurm.fed manifest.json | jq -e '.train.ranks == 2'"
