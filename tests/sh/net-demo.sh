# net-demo: a smoke test of scripts/demo-net (make demo-net): five holders
# and the coordinator in network namespaces, two rounds of a small model
# on Fashion-MNIST; the demo's table and final line, the audit, and
# nothing of the network left behind.  Needs root, ip(8), nginx, curl.
. "$FED_ROOT/tests/sh/lib.sh"
. "$FED_ROOT/tests/sh/net.lib"
net_skip && exit 0
src=$FMNIST
needs net-demo || exit 0
chmod 0711 "$T"
FED_DEMO_DIR=$T/run FED_DEMO_ROUNDS=2 FED_DEMO_ARCH=softmax:784-10
NET_ID=$$	# our namespaces only: other runs may have theirs up
export FED_DEMO_DIR FED_DEMO_ROUNDS FED_DEMO_ARCH NET_ID
demo=$FED_ROOT/scripts/demo-net
expect "demo-net runs" 0 timeout 600 sh "$demo"
cp "$T/out" demo.out
# The table and the final line, as scripts/demo prints them.
check "table header" grep -Eq '^ *round +contributors +samples +accuracy +loss +bytes$' demo.out
rows=$(grep -Ec '^ +[0-9]+ +[0-9]+ +[0-9]+ +[01]\.[0-9]{4} +[0-9.]+ +[0-9]+$' demo.out)
check "table has a row per round" test "$rows" -eq 3
check "round 2: 5 contributors, all 60000 samples" \
    grep -Eq '^ +2 +5 +60000 +[01]\.[0-9]{4} +[0-9.]+ +[1-9][0-9]+$' demo.out
fmt='^federated [01]\.[0-9]{4} \| centralized [01]\.[0-9]{4} \| best holder alone [01]\.[0-9]{4} \| mean holder alone [01]\.[0-9]{4}$'
check "final line format, last" sh -c "tail -n 1 demo.out | grep -Eq '$fmt'"
check "audit: the chain verified" grep -q '^chain verified: rounds 0 to 2' demo.out
check "each holder in its own namespace, at its own address" sh -c \
    "grep -h '\"PUT /inbox' run/site/run/access.log | cut -d' ' -f1 | sort -u |
    tr '\n' ' ' | grep -qx '10.203.0.11 10.203.0.12 10.203.0.13 10.203.0.14 10.203.0.15 '"
check "no namespace left" sh -c \
    "! ip netns list | cut -d' ' -f1 | grep -qx 'fedn${NET_ID}[0-9cs]*'"
check "no nginx left" sh -c "! kill -0 \$(cat run/site/run/nginx.pid) 2>/dev/null"
mkdir other && : >other/precious
expect_err "refuses a foreign directory" 1 'not a demo-net directory' \
    env FED_DEMO_DIR="$T/other" sh "$demo"
check "foreign directory untouched" test -f other/precious
