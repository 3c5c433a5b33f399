# net-jobs: fed-holder, fed-coord and fed-nginx-conf on their own, over a
# shared folder (no network needed): rounds that run, jobs run again,
# after a crash, under a held lock, with a training command of the
# holder's own, a rollback refused, a round that stays open, an update
# uploaded under another holder's name, a coordinator run again after it
# published; and every usage error.  The network side is net-faults.sh.
. "$FED_ROOT/tests/sh/lib.sh"

S=$T/site
mkdir -p "$S/public" "$S/inbox"
fed-sign -G -n -p "$S/public/coordinator.pub" -s coord.sec 2>/dev/null
for h in a b c; do fed-sign -G -n -p "$h.pub" -s "$h.sec" 2>/dev/null; done
fed-roster a=a.pub b=b.pub c=c.pub | fed-sign -s coord.sec -o "$S/public/roster.fed"
awk -v seed=9 -v rows=150 -v cols=4 -v classes=2 -f "$FED_ROOT/tests/sh/rows.awk" >rows.csv
fed-shard -q -f csv --label label -n 3 -o d rows.csv
fed-init -a softmax:4-2 -s 1 -o init.fed
# hold NAME [OPTION...]: NAME's job on the shared folder.
hold() {
	h=$1
	shift
	fed-holder -u "$S/public" -i "$S/inbox" -k "$S/public/coordinator.pub" \
	    -s "$h.sec" -n "$h" -w "st-$h" "$@"
}
data() { echo "d-00$(echo "$1" | tr abc 012).fed"; }
coord() { fed-coord -s coord.sec -i 1 "$@" "$S"; }
# said NAME PATTERN: the last command's standard output matches.
said() { check "$1 (output)" grep -q -- "$2" "$T/out"; }

# Round 0.
expect "fed-coord --init publishes round 0" 0 coord --init init.fed
check "round 0 published" fed-verify -q -p "$S/public/coordinator.pub" "$S/public/rounds/round-000.fed"
check "rounds/current says 0" test "$(cat "$S/public/rounds/current")" = 0
check "round 0's inbox open" test -d "$S/inbox/round-000"
expect "--init again with the same model" 0 coord --init init.fed
fed-init -a softmax:4-2 -s 2 -o other.fed
expect_err "--init with another model" 1 'another model is published as round 0' coord --init other.fed
expect "--init from standard input" 0 sh -c "fed-coord -s coord.sec --init - '$S' <init.fed"

# A round: the holders over the shared folder.
expect_err "a's job sends its update" 0 'round 0: update sent to' hold a -d "$(data a)"
check "the update is in the inbox, whole" fed-verify -q -P . "$S/inbox/round-000/a.fed"
check "a's update marked sent" test -s st-a/sent/round-000.fed
check "the outbox is empty" test -z "$(ls st-a/outbox)"
expect_err "a's job run again does nothing" 0 'sent already' hold a -d "$(data a)"
# b trains with a command of its own; the job signs and sends its output.
expect "b's job with a training command" 0 hold b -t \
    'fed-train -m "$FED_MODEL" -d "$FED_DATA" -e 2 -s 5 --name "$FED_NAME"' -d "$(data b)"
check "b's update is its command's, signed by b" sh -c \
    "fed-verify -q -p b.pub '$S/inbox/round-000/b.fed' &&
    tar -xOf '$S/inbox/round-000/b.fed' manifest.json | jq -e '.train.epochs == 2' >/dev/null"
# c: a run that crashed left halves behind; one that failed to train
# leaves nothing; one that finds the lock held does nothing.
mkdir -p st-c && : >st-c/model.fed.part && : >st-c/unsigned.part
expect_err "a training command that fails" 2 'the training command failed' \
    hold c -t 'echo half; exit 3'
check "a crashed run's halves are gone" test ! -e st-c/model.fed.part
check "a failed training leaves no update" test -z "$(ls st-c/outbox)$(ls st-c | grep '\.part$')"
check "no update in the inbox" test ! -e "$S/inbox/round-000/c.fed"
expect_err "an update not trained from the model" 1 'the trained update' \
    hold c -t 'fed-train -m "'"$T"'/other.fed" -d "$FED_DATA" --name c' -d "$(data c)"
flock st-c/lock sleep 5 &
sleep 0.5
expect_err "a run that finds the lock held" 0 'another run is going on' hold c -d "$(data c)"
check "it did nothing" test ! -e "$S/inbox/round-000/c.fed"
wait
expect "c's job" 0 hold c -d "$(data c)"

# An update uploaded under another holder's name: a's, as c's.
cp "$S/inbox/round-000/a.fed" keep-c.fed
cp "$S/inbox/round-000/c.fed" real-c.fed
cp "$S/inbox/round-000/a.fed" "$S/inbox/round-000/c.fed"
# and a file whose name is no holder's, with an escape in it
cp "$S/inbox/round-000/b.fed" "$S/inbox/round-000/$(printf 'x\033[2Jy').fed"
expect "the round closes on those that verify" 0 coord
said "the round closes on those that verify" 'round 0: merged a,b; missing: c; rejected: c (signed by a, uploaded as c)'
check "c's misnamed upload set aside with its reason" \
    grep -qx 'signed by a, uploaded as c' "$S/rejected/round-000/c.why"
check "the file with an escape in its name: left out, never printed" sh -c \
    "! grep -q \"\$(printf '\033')\" '$T/out' && ! ls '$S/rejected/round-000' | grep -q x"
check "c recorded missing" test "$(cat "$S/public/rounds/round-001.missing")" = c
check "fed-log shows c missing from round 1" sh -c \
    "fed-log --json '$S/public/rounds' | jq -e '.[] | select(.round == 1) | .missing == [\"c\"]'"
check "the merged updates published" test "$(ls "$S/public/contrib/round-000")" = "a.fed
b.fed"
check "round 1 announced" test "$(cat "$S/public/rounds/current")" = 1
check "round 1's inbox open, round 0's gone" test -d "$S/inbox/round-001" -a ! -e "$S/inbox/round-000"
# The coordinator run again: nothing new; the same model.
d1=$(fed-verify -n --json "$S/public/rounds/round-001.fed" | jq -r .digest)
echo 0 >"$S/public/rounds/current"
expect "run again after publishing: the same model" 0 coord
said "run again after publishing: the same model" "$d1"
check "round 1 announced again" test "$(cat "$S/public/rounds/current")" = 1
cp "$S/public/rounds/round-001.fed" r1.fed
fed-merge -P . -m "$S/public/rounds/round-000.fed" "$S/public/contrib/round-000/a.fed" |
    fed-sign -s coord.sec -o "$S/public/rounds/round-001.fed"
echo 0 >"$S/public/rounds/current"
expect_err "never two models for one round" 1 'published already with another digest' coord
cp r1.fed "$S/public/rounds/round-001.fed"
echo 1 >"$S/public/rounds/current"

# Round 1: a and b; the coordinator closes the round while c trains.
hold a -d "$(data a)" 2>/dev/null
hold b -d "$(data b)" 2>/dev/null
expect_err "c's upload comes after the round closed" 1 \
    'round 1 closed before the upload: update set aside as stale' hold c -t \
    'mv "'"$S"'/inbox/round-001" "'"$S"'/inbox/closed/" &&
    fed-train -m "$FED_MODEL" -d "$FED_DATA" -s 1 --name c' -d "$(data c)"
check "c's stale update set aside, whole" fed-verify -q -p c.pub st-c/stale/round-001.fed
expect_err "c's next run waits for the next round" 0 'waiting for the next' hold c -d "$(data c)"
expect "the round closes with the updates in by then" 0 coord -t 'now + 1 second'
said "the round closes with the updates in by then" 'round 1: merged a,b; missing: c'
# Round 2: nothing arrives; the round stays open.
expect_err "no update by the deadline" 1 'no valid update by the deadline; the round stays open' coord -t now
check "round 2 stays open" test -d "$S/inbox/round-002" -a "$(cat "$S/public/rounds/current")" = 2
# c rejoins, from round 0 to round 2.
expect "c rejoins at round 2" 0 hold c -d "$(data c)"
check "c's lineage moved on to round 2" grep -q '^2 ' st-c/lineage
# A rollback: round 1 served again as the current round, to a job with no
# record of that round.
rm st-c/stale/round-001.fed
echo 1 >"$S/public/rounds/current"
expect_err "c refuses a rollback" 1 'round' hold c -d "$(data c)"
check "nothing sent for round 1" test ! -e st-c/sent/round-001.fed
echo 2 >"$S/public/rounds/current"
expect "round 2 closes, with a rule and options of fed-merge" 0 coord -r median -M '--clip-norm 5'
check "round 3 merged by that rule" test "$(tar -xOf "$S/public/rounds/round-003.fed" \
    manifest.json | jq -r '"\(.merge.rule) \(.merge.params.clip_norm)"')" = "median 5"
expect "the lineage verifies" 0 fed-verify --chain -p "$S/public/coordinator.pub" -P . \
    --updates "$S/public/contrib" "$S/public/rounds"

# Usage errors and failures of the system: exit 2.
expect_err "fed-holder: no options" 2 usage fed-holder
expect_err "fed-holder: an unknown option" 2 "unrecognized option '--bogus'" hold a --bogus
expect_err "fed-holder: an option without its value" 2 'needs a value' hold a -d
expect_err "fed-holder: no data and no command" 2 'is needed' hold a
expect_err "fed-holder: a bad name" 2 'a name is' fed-holder -u "$S/public" \
    -k "$S/public/coordinator.pub" -s a.sec -n '../x' -d d-000.fed
expect_err "fed-holder: no attempt" 2 'at least one attempt' hold a -d d-000.fed -a 0
expect_err "fed-holder: not a number" 2 'not a whole number' hold a -d d-000.fed -e x
expect_err "fed-holder: a missing key" 2 'cannot read it' hold a -d d-000.fed -k nosuch.pub
expect_err "fed-holder: a site out of reach" 2 'gave up after 2 attempts' \
    fed-holder -u "$T/nowhere" -k "$S/public/coordinator.pub" -s a.sec -n a \
    -d d-000.fed -w st-n -a 2 -b 0
expect "fed-holder -h" 0 fed-holder -h
expect "fed-holder --version" 0 fed-holder --version
expect_err "fed-coord: no site" 2 usage fed-coord -s coord.sec
expect_err "fed-coord: two sites" 2 'one site folder only' fed-coord -s coord.sec "$S" "$S"
expect_err "fed-coord: a bad deadline" 2 'not a time' coord -t 'never ever'
expect_err "fed-coord: a bad quorum" 2 'not a whole number' coord -k x
expect_err "fed-coord: a site without its key" 2 'coordinator.pub: not found' \
    fed-coord -s coord.sec "$T"
mkdir -p bad/public && cp "$S/public/coordinator.pub" bad/public/
fed-roster a=a.pub | fed-sign -s a.sec -o bad/public/roster.fed
expect "fed-coord: a roster the coordinator did not sign" 1 fed-coord -s coord.sec --init init.fed bad
expect "fed-coord -h" 0 fed-coord -h
expect_err "fed-nginx-conf: no options" 2 usage fed-nginx-conf
touch cert key ca
expect_err "fed-nginx-conf: a path that would end a directive" 2 'only letters' \
    fed-nginx-conf -d "$S" -r 'run;x' -c cert -K key -C ca
expect_err "fed-nginx-conf: a bad size" 2 'a size such as' \
    fed-nginx-conf -d "$S" -r run -c cert -K key -C ca -m 1x
expect "fed-nginx-conf writes a configuration" 0 \
    fed-nginx-conf -d "$S" -r "$T/run" -c cert -K key -C ca -l 127.0.0.1:8443 -o run.conf
check "the configuration lets a holder PUT its own path only" grep -q 'if ($fed_holder != $fed_name) { return 403; }' run.conf
check "uploads are limited in size" grep -q 'client_max_body_size 64m;' run.conf
