# mpi-netns: fed-train's ranks on two "hosts" that talk TCP.  The test
# makes two network namespaces joined by a veth pair (10.201.0.1/24 and
# 10.201.0.2/24, on those veths only), and an rsh agent that enters a
# namespace (ip netns exec) stands in for ssh, so mpirun starts a daemon
# in the other namespace and MPI's messages cross the veth.  Two ranks
# across the namespaces give the bytes two ranks on one host give.
# Everything made is removed at the end, on failure too.  Needs root and
# ip(8): without them it says so and checks nothing (not a pass).
. "$FED_ROOT/tests/sh/lib.sh"

command -v mpirun >/dev/null ||
	{ fail "mpi-netns" "mpirun missing: scripts/deps check installs openmpi-bin"; exit 0; }
A=fedmpiA$$ B=fedmpiB$$
cleanup() {
	ip netns del "$A" 2>/dev/null
	ip netns del "$B" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 2' HUP INT TERM
if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null ||
    ! ip netns add "$A" 2>/dev/null; then
	echo "# network namespaces cannot be made here (root and ip(8) needed): skipped"
	exit 0
fi
ip netns add "$B" &&
ip link add fmA$$ netns "$A" type veth peer name fmB$$ netns "$B" &&
ip -n "$A" addr add 10.201.0.1/24 dev fmA$$ &&
ip -n "$B" addr add 10.201.0.2/24 dev fmB$$ &&
ip -n "$A" link set lo up && ip -n "$B" link set lo up &&
ip -n "$A" link set fmA$$ up && ip -n "$B" link set fmB$$ up ||
	{ fail "mpi-netns" "cannot set up the veth pair"; exit 0; }

cat >agent <<AGENT
#!/bin/sh
# rsh agent: HOST COMMAND... runs COMMAND in HOST's namespace
h=\$1
shift
case \$h in
10.201.0.1) ns=$A ;;
10.201.0.2) ns=$B ;;
*) echo "agent: unknown host \$h" >&2; exit 255 ;;
esac
echo "\$h" >>"$T/agent.log"
exec ip netns exec "\$ns" /bin/sh -c "\$*"
AGENT
chmod +x agent
printf '10.201.0.1 slots=1\n10.201.0.2 slots=1\n' >hosts
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
[ -n "${FED_SANITIZED:-}" ] && export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
net() { # mpirun across the namespaces, TCP only, bounded in time
	timeout 120 ip netns exec "$A" mpirun -np 2 --hostfile hosts \
	    --mca plm_rsh_agent "$T/agent" --mca btl self,tcp \
	    --mca btl_tcp_if_include 10.201.0.0/24 \
	    --mca oob_tcp_if_include 10.201.0.0/24 "$@"
}

net sh -c 'ip -4 -o addr show | grep -o "10\.201\.0\.[12]"' >where 2>&1
check "rank 0 runs on 10.201.0.1" grep -qx 10.201.0.1 where
check "rank 1 runs on 10.201.0.2" grep -qx 10.201.0.2 where
check "the agent started the daemon on 10.201.0.2" grep -qx 10.201.0.2 agent.log

awk -v seed=11 -v rows=200 -v cols=4 -v classes=2 -f "$FED_ROOT/tests/sh/rows.awk" >c.csv
fed-shard -q -f csv --label label -n 1 -o c c.csv
fed-init -a mlp:4-8-2 -s 2 -o m.fed
A2="-m m.fed -d c-000.fed -e 2 -b 10"
expect "two ranks over TCP" 0 net fed-train $A2 -o net.fed
OMPI_MCA_btl=self,vader timeout 120 mpirun -np 2 --oversubscribe \
    fed-train $A2 -o local.fed 2>/dev/null
check "over TCP the bytes of one host" cmp net.fed local.fed
check "no update left by rank 1" test "$(ls ./*.fed | wc -l)" -eq 4
expect "a rank's failure crosses the network" 2 net sh -c \
    'd=c-000.fed; [ "$OMPI_COMM_WORLD_RANK" = 1 ] && d=nosuch.fed
    exec fed-train -m m.fed -d "$d" -e 50 -b 2 -o fail.fed'
check "a failed run writes nothing" test ! -e fail.fed
