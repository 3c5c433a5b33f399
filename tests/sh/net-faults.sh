# net-faults: the jobs across real hosts, and the faults they survive.
# The coordinator (nginx, fed-coord) and five holders (fed-holder) each in
# a network namespace of their own, joined by a bridge (scripts/net.lib),
# round after round, one fault a round: a holder offline, a late upload,
# a corrupted upload and one not signed by the roster, a duplicate
# upload, nginx restarted during uploads, the coordinator killed during a
# merge, the inbox's disk full, one holder's link down for two rounds.
# After each round: what it merged, who it records missing, and that no
# update a holder's job had acknowledged was lost; at the end the whole
# lineage verifies.  Needs root, ip(8), nginx and curl.
. "$FED_ROOT/tests/sh/lib.sh"
. "$FED_ROOT/tests/sh/net.lib"
net_skip && exit 0
net_setup tmpfs
h() { for i in "$@"; do hold "$i" 2>>"$T/jobs.log" || echo "holder-$i: exit $?"; done; }

echo "# round 0: everyone"
h 1 2 3 4 5
expect_err "a job run again in its round does nothing" 0 'sent already' hold 1
expect "round 0 closes on every holder" 0 coord
round_ok 0 "$(all)"
check "round 0: nobody missing" test -z "$(missing 0)"

echo "# the server: one line of defence"
# web I ARGS...: curl from holder-I's namespace; prints the HTTP status.
web() {
	_i=$1
	shift
	net_exec "$_i" curl -sS -o /dev/null -w '%{http_code}' --cacert "$S/tls/ca.pem" "$@"
}
u=https://$NET_COORD/inbox/round-001
mine="--cert $S/tls/holder-2.pem --key $S/tls/holder-2.key"
check "a holder may not PUT into another's path (403)" \
    test "$(web 2 $mine -T "$T/st-2/sent/round-000.fed" "$u/holder-1.fed")" = 403
check "no client certificate, no PUT (403)" \
    test "$(web 2 -T "$T/st-2/sent/round-000.fed" "$u/holder-2.fed")" = 403
head -c 1100000 /dev/zero >big.fed
check "an upload over the size limit (413)" test "$(web 2 $mine -T big.fed "$u/holder-2.fed")" = 413
check "nobody reads the inbox (403)" test "$(web 2 $mine "$u/holder-2.fed")" = 403
check "nothing written by those" test -z "$(ls "$S/inbox/round-001")"
check "anyone reads the published site" test "$(web 2 "https://$NET_COORD/rounds/current")" = 200
check "no PUT into the published site (403)" \
    test "$(web 2 $mine -T "$T/st-2/sent/round-000.fed" "https://$NET_COORD/rounds/round-009.fed")" = 403

echo "# round 1: holder-5 offline; the round closes on its quorum"
h 1 2 3 4
expect "round 1 closes on a quorum of 4" 0 coord -k 4 -t 'now + 60 seconds'
round_ok 1 holder-1 holder-2 holder-3 holder-4
check "round 1: holder-5 recorded missing" test "$(missing 1)" = "holder-5 "

echo "# round 2: holder-5 rejoins; holder-1's upload comes late"
hold 1 -t 'i=0; while [ ! -e "$FED_DATA.go" ] && [ $i -lt 300 ]; do
	sleep 0.1; i=$((i + 1)); done
	fed-train -m "$FED_MODEL" -d "$FED_DATA" -s "$FED_ROUND" --name "$FED_NAME"' \
	    >"$T/late.out" 2>"$T/late.err" &
late=$!
h 2 3 4 5
expect "round 2 closes without holder-1" 0 coord -k 4
touch "$T/d-000.fed.go"
wait "$late"
check "the late job fails (exit 1)" test $? -eq 1
check "the late upload is refused as stale" grep -q 'round 2 closed before the upload: update set aside as stale' "$T/late.err"
check "the stale update is set aside, whole" fed-verify -q -P "$S/keys" "$T/st-1/stale/round-002.fed"
round_ok 2 holder-2 holder-3 holder-4 holder-5
check "holder-5's lineage moved from round 0 to round 2" grep -q '^2 ' "$T/st-5/lineage"
check "round 2: holder-1 recorded missing" test "$(missing 2)" = "holder-1 "
check "a closed round's inbox refuses an upload (409)" \
    test "$(put 1 "$T/st-1/stale/round-002.fed" 2)" = 409

echo "# round 3: a corrupted upload, and one not signed by the roster"
h 1 4 5
hold 2 >/dev/null 2>&1 &
# holder-2's update, altered on the way by one byte; holder-3's, signed
# by a key that is not on the roster
wait
cp "$T/st-2/sent/round-003.fed" bad.fed
printf X | dd of=bad.fed bs=1 seek=600 conv=notrunc 2>/dev/null
check "the corrupted upload is accepted by the server (204)" \
    test "$(put 2 bad.fed 3)" = 204
fed-sign -G -n -p out.pub -s out.sec 2>/dev/null
fed-verify -q -p "$S/public/coordinator.pub" -o m3.fed "$S/public/rounds/round-003.fed"
fed-train -m m3.fed -d d-002.fed -s 3 --name holder-3 | fed-sign -s out.sec -o forged.fed
check "the forged upload is accepted by the server (201)" \
    test "$(put 3 forged.fed 3)" = 201
expect "round 3 closes at its deadline with 3 updates" 0 coord -t 'now + 2 seconds'
rm -f "$T/st-2/sent/round-003.fed"	# its upload was replaced by the corrupted one
round_ok 3 holder-1 holder-4 holder-5
cat "$S"/rejected/round-003/*.why | sed 's/^/# /'
check "holder-2's corrupted update set aside with its reason" \
    grep -q 'manifest.json' "$S/rejected/round-003/holder-2.why"
check "holder-3's forged update set aside with its reason" \
    grep -q 'signature\|sign' "$S/rejected/round-003/holder-3.why"
check "the rejected updates are kept" test -f "$S/rejected/round-003/holder-2.fed"
check "round 3: holders 2 and 3 recorded missing" test "$(missing 3)" = "holder-2 holder-3 "

echo "# round 4: everyone, and duplicates"
h 1 2 3 4 5
check "the same update put again (204)" \
    test "$(put 1 "$T/st-1/sent/round-004.fed" 4)" = 204
hold 2 -a 1 >/dev/null 2>"$T/dup.err" &
hold 2 -a 1 >/dev/null 2>>"$T/dup.err" &
wait
check "two runs of one job at once: the lock, then sent already" \
    grep -q 'another run is going on\|sent already' "$T/dup.err"
expect "round 4 closes" 0 coord
round_ok 4 "$(all)"
check "round 4 merged 5 updates, not 6" test "$(merged 4 | wc -l)" -eq 5

echo "# round 5: nginx restarted during the uploads"
# holder-1 sends at once; the others a second later, while nginx is down
slow='sleep 1; fed-train -m "$FED_MODEL" -d "$FED_DATA" -s "$FED_ROUND" --name "$FED_NAME"'
hold 1 -a 8 -b 1 >/dev/null 2>>"$T/r5.log" &
for i in 2 3 4 5; do hold "$i" -a 8 -b 1 -t "$slow" >/dev/null 2>>"$T/r5.log" & done
# stopped at once (TERM) when the first update is in, started 2 s later
i=0
while [ -z "$(ls "$S/inbox/round-005")" ] && [ "$i" -lt 200 ]; do
	sleep 0.05
	i=$((i + 1))
done
check "nginx stopped with uploads going on" net_nginx_stop "$S/run" TERM
sleep 2
net_nginx_start "$S/run"
wait
check "the jobs met the server down, and tried again" grep -q 'attempt 1 of 8 failed' "$T/r5.log"
check "every job got its update acknowledged" test "$(ls "$T"/st-*/sent/round-005.fed | wc -l)" -eq 5
expect "round 5 closes" 0 coord -t 'now + 20 seconds'
round_ok 5 "$(all)"

echo "# round 6: the coordinator killed during the merge, and during signing"
h 1 2 3 4 5
cp -a "$S" ref
fed-coord -s "$S/coordinator.sec" ref >/dev/null 2>&1
mkdir kill
for t in fed-merge fed-sign; do
	cat >"kill/$t" <<KILL
#!/bin/sh
# $t, with the coordinator killed while it runs
"$FED_BIN/$t" "\$@" &
kill -9 \$PPID
wait
KILL
	chmod +x "kill/$t"
done
PATH=$T/kill:$PATH fed-coord -s "$S/coordinator.sec" "$S" 2>/dev/null
check "killed during the merge: nothing published" test ! -e "$S/public/rounds/round-007.fed"
rm kill/fed-merge
PATH=$T/kill:$PATH fed-coord -s "$S/coordinator.sec" "$S" 2>/dev/null
check "killed during signing: nothing published" test ! -e "$S/public/rounds/round-007.fed"
expect "the coordinator run again" 0 coord
dig() { fed-verify -n --json "$1" | jq -r .digest; }
check "the same digest as a run never killed" test \
    "$(dig "$S/public/rounds/round-007.fed")" = "$(dig ref/public/rounds/round-007.fed)"
round_ok 6 "$(all)"
expect "run again once published: the next round's, nothing new" 1 coord -t now
check "one model for round 7" test "$(ls "$S/public/rounds" | grep -c 'round-007\.fed')" -eq 1

echo "# round 7: the inbox's disk full"
dd if=/dev/zero of="$S/inbox/filler" bs=4k 2>/dev/null
expect_err "a full disk: the job reports the server's refusal and gives up for now" 2 \
    'gave up after 2 attempts' hold 1 -a 2
check "the job said what the server answered" grep -q 'refused the upload: HTTP 5' "$T/err"
check "the update waits in the outbox" test -s "$T/st-1/outbox/round-007.fed"
check "no half file in the inbox" test -z "$(ls -A "$S/inbox/round-007")"
check "no temporary file left by the server" test -z "$(ls -A "$S/inbox/.tmp")"
rm "$S/inbox/filler"
expect "the next run sends it" 0 hold 1
h 2 3 4 5
expect "round 7 closes" 0 coord
round_ok 7 "$(all)"

echo "# rounds 8 and 9: holder-5's link down, then up in round 10"
net_link 5 down
for r in 8 9; do
	h 1 2 3 4
	expect_err "round $r: holder-5 cannot reach the server" 2 \
	    'gave up after 2 attempts' hold 5 -a 2
	expect "round $r closes on a quorum of 4" 0 coord -k 4
	round_ok "$r" holder-1 holder-2 holder-3 holder-4
	check "round $r: holder-5 recorded missing" test "$(missing "$r")" = "holder-5 "
done
net_link 5 up
h 1 2 3 4 5
expect "round 10 closes" 0 coord
round_ok 10 "$(all)"
check "holder-5 trained from round 10" grep -q '^10 ' "$T/st-5/lineage"

echo "# the whole lineage"
expect "fed-verify --chain: every model and every merged update" 0 \
    fed-verify --chain -p "$S/public/coordinator.pub" -P "$S/keys" \
    --updates "$S/public/contrib" "$S/public/rounds"
check "no job failed unexpectedly" test ! -s "$T/jobs.log" -o -z "$(grep -v 'sent\|retry\|attempt\|refused\|HTTP\|curl\|Failed\|reach' "$T/jobs.log")"
