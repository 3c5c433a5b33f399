# fed-train --dp: DP-SGD end to end, the privacy record in the update,
# the holder's ledger (budget refused when it would be passed, also by
# two jobs at once; tampering found), rejected inputs (1), usage (2).
. "$FED_ROOT/tests/sh/lib.sh"

# 600 rows, 2 features, 3 well separated classes
awk 'BEGIN { srand(7); print "a,b,label";
	for (i = 0; i < 600; i++) { c = i % 3;
	printf "%.3f,%.3f,%d\n", c + rand() * 0.5, (c == 1) + rand() * 0.5, c } }' >d.csv
fed-shard -q -f csv --label label -n 1 -o d d.csv
fed-init -a softmax:2-3 -s 1 -o m.fed
fed-init -a mlp:2-8-3 -s 1 -o mlp.fed
man() { tar xOf "$1" manifest.json; }

expect "dp: noise multiplier" 0 fed-train -m m.fed -d d-000.fed -e 2 \
    --dp --noise 1.1 --clip 0.5 -o u.fed
check "dp: privacy record" sh -c 'tar xOf u.fed manifest.json | jq -e "
    .privacy.mechanism == \"dp-sgd, poisson sampling, gaussian\" and
    .privacy.clip == 0.5 and .privacy.noise_multiplier == 1.1 and
    (.privacy.sample_rate - 32 / 600 | fabs) < 1e-12 and
    .privacy.steps == 38 and .privacy.delta == 1e-5 and
    .privacy.epsilon > 0 and .privacy.ledger == null and
    (.privacy.accountant | test(\"rdp.*orders\"))"'
check "dp: losses over private rows not released" sh -c \
    'tar xOf u.fed manifest.json | jq -e ".stats.loss_start == null and .stats.loss_end == null"'
check "dp: fed-verify accepts the update" fed-verify -n -q u.fed
fed-train -m m.fed -d d-000.fed -e 2 --dp --noise 1.1 --clip 0.5 -o u2.fed
check "dp: same seed, same bytes" cmp u.fed u2.fed
fed-train -m m.fed -d d-000.fed -e 2 --dp --noise 1.1 --clip 0.5 -s 3 -o u3.fed
check "dp: another seed, other noise" sh -c '! cmp -s u.fed u3.fed'
fed-train -m m.fed -d d-000.fed -e 2 -o plain.fed
check "dp: plain training has no privacy record" sh -c \
    'tar xOf plain.fed manifest.json | jq -e ".privacy == null and .stats.loss_end > 0"'

expect "dp: target epsilon" 0 fed-train -m mlp.fed -d d-000.fed -e 3 \
    --dp --epsilon 2 --delta 1e-4 -o ue.fed
check "dp: epsilon met, not overshot" sh -c 'tar xOf ue.fed manifest.json |
    jq -e ".privacy.epsilon <= 2 and .privacy.epsilon > 1.99 and
    .privacy.delta == 1e-4 and .privacy.clip == 1"'
expect "dp: learns at epsilon 8" 0 fed-train -m m.fed -d d-000.fed -e 20 \
    -l 0.5 --dp --epsilon 8 -o u8.fed
acc=$(fed-eval --json -m m.fed -u u8.fed d-000.fed | jq .total.accuracy)
check "dp: accuracy $acc > 0.8 at epsilon 8" awk "BEGIN { exit !($acc > 0.8) }"

# the ledger: a budget of 1.5 at epsilon 1 a run, never passed (runs
# compose in RDP: 1, 1.26, 1.49, then 1.68 would pass it)
expect "ledger: started with a budget" 0 fed-train -m m.fed -d d-000.fed \
    --dp --epsilon 1 --ledger l.json --budget 1.5 -o r1.fed
check "ledger: one entry, spent the run's epsilon" sh -c 'jq -e "
    (.entries | length) == 1 and .budget == 1.5 and
    (.spent - .entries[0].epsilon | fabs) < 1e-9" l.json'
check "ledger: the update records the ledger" sh -c 'test "$(jq -r .head l.json)" = \
    "$(tar xOf r1.fed manifest.json | jq -r .privacy.ledger.head)"'
i=2 refused=0
while [ $i -le 10 ] && [ $refused -eq 0 ]; do
	fed-train -m m.fed -d d-000.fed --dp --epsilon 1 --ledger l.json \
	    -o r$i.fed 2>err$i || refused=$i
	i=$((i + 1))
done
check "ledger: the fourth run is refused ($refused)" test $refused -eq 4
check "ledger: the refusal says what is left" grep -q "budget 1.5; .* left" err$refused
check "ledger: no update from the refused run" test ! -e r$refused.fed
check "ledger: spent within budget" jq -e '.spent <= 1.5 and .spent > 1.4 and (.entries | length) == 3' l.json
expect_err "ledger: refused again, exit 1" 1 "past the budget" fed-train \
    -m m.fed -d d-000.fed --dp --epsilon 1 --ledger l.json -o x.fed
expect "ledger: a smaller spend still fits" 0 fed-train -m m.fed -d d-000.fed \
    --dp --epsilon 0.05 --ledger l.json -o small.fed
expect_err "ledger: budget is fixed" 1 "budget is 1.5, not 5" fed-train \
    -m m.fed -d d-000.fed --dp --noise 5 --ledger l.json --budget 5 -o x.fed
expect_err "ledger: delta is fixed" 1 "delta is" fed-train \
    -m m.fed -d d-000.fed --dp --noise 5 --ledger l.json --delta 1e-3 -o x.fed
expect_err "ledger: none and no budget" 1 "no such ledger" fed-train \
    -m m.fed -d d-000.fed --dp --noise 5 --ledger none.json -o x.fed

# two jobs at once on a budget that holds one of them
for j in 1 2; do
	fed-train -m m.fed -d d-000.fed --dp --epsilon 1 --ledger c.json \
	    --budget 1.1 -o c$j.fed 2>cerr$j &
done
wait
check "ledger: concurrent jobs, one update" sh -c \
    '[ "$(ls c1.fed c2.fed 2>/dev/null | wc -l)" -eq 1 ]'
check "ledger: concurrent jobs, one entry" jq -e '(.entries | length) == 1 and .spent <= 1.1' c.json
check "ledger: the other job was told" grep -q "left" cerr1 cerr2

# tampering
jq '.spent = 0.5' l.json >t1.json
cp t1.json t1.orig
expect_err "ledger: spent lowered" 1 "does not match" fed-train \
    -m m.fed -d d-000.fed --dp --noise 5 --ledger t1.json -o x.fed
jq '.entries |= .[1:]' l.json >t2.json
expect_err "ledger: an entry removed" 1 "entry 1" fed-train \
    -m m.fed -d d-000.fed --dp --noise 5 --ledger t2.json -o x.fed
jq '.entries[1].rdp |= map(. / 2)' l.json >t3.json
expect_err "ledger: an entry made cheaper" 1 "entry 2" fed-train \
    -m m.fed -d d-000.fed --dp --noise 5 --ledger t3.json -o x.fed
jq '.entries |= .[:-1]' l.json >t4.json
expect_err "ledger: cut short" 1 "head" fed-train \
    -m m.fed -d d-000.fed --dp --noise 5 --ledger t4.json -o x.fed
head -c 100 l.json >t5.json
expect_err "ledger: not json" 1 "not valid JSON" fed-train \
    -m m.fed -d d-000.fed --dp --noise 5 --ledger t5.json -o x.fed
check "ledger: a tampered file is left as it is" cmp t1.json t1.orig

expect_err "dp: epsilon out of reach" 1 "out of reach" fed-train -m m.fed \
    -d d-000.fed -e 100 -b 1000 --dp --epsilon 0.001 -o x.fed
expect_err "usage: --noise without --dp" 2 "need --dp" fed-train -m m.fed \
    -d d-000.fed --noise 1 -o x.fed
expect_err "usage: --dp alone" 2 "one of --noise" fed-train -m m.fed \
    -d d-000.fed --dp -o x.fed
expect_err "usage: --noise and --epsilon" 2 "one of --noise" fed-train \
    -m m.fed -d d-000.fed --dp --noise 1 --epsilon 1 -o x.fed
expect_err "usage: --budget without --ledger" 2 "needs --ledger" fed-train \
    -m m.fed -d d-000.fed --dp --noise 1 --budget 1 -o x.fed
expect "usage: noise out of range" 2 fed-train -m m.fed -d d-000.fed \
    --dp --noise 0 -o x.fed
expect "usage: delta out of range" 2 fed-train -m m.fed -d d-000.fed \
    --dp --noise 1 --delta 0.5 -o x.fed
check "dp: no output left by failures" test ! -e x.fed
