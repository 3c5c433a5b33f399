# fed-log: a lineage's history from a folder of published bundles: a row
# a model (rule, samples, contributors, missing holders from merge.missing
# or NAME.missing, epsilon), the reports on it with their signers, as a
# table, --json and a gnuplot script; hostile manifests escaped, rejected
# bundles reported (1) while the rest is shown; usage errors (2).
. "$FED_ROOT/tests/sh/lib.sh"

# edited IN OUT JQ: IN with its manifest edited by JQ and no signatures,
# payloads kept, as a forger or a future tool might publish it.
edited() {
	tar -xOf "$1" manifest.json | jq "$3" >ed.json
	/usr/bin/python3 - "$1" "$2" <<'PY'
import io, sys, tarfile
src = tarfile.open(sys.argv[1])
with tarfile.open(sys.argv[2], "w", format=tarfile.USTAR_FORMAT) as t:
    for m in src.getmembers():
        if m.name.startswith("signatures/"):
            continue
        data = open("ed.json", "rb").read() if m.name == "manifest.json" \
            else src.extractfile(m).read()
        ti = tarfile.TarInfo(m.name)
        ti.size, ti.mode, ti.mtime = len(data), 0o644, 0
        t.addfile(ti, io.BytesIO(data))
PY
}

printf 'a,b,label\n0.5,1,0\n1,0.2,1\n0.3,0.3,2\n1,1,1\n0,0,0\n0.1,0.9,2\n' >t.csv
fed-shard -q -f csv --label label -n 2 -o sh t.csv
fed-shard -q -f csv --label label -n 1 -o test t.csv
mkdir -p pub/rounds pub/roster pub/contrib pub/reports testers keys
fed-sign -G -n -p coord.pub -s keys/coord.sec 2>/dev/null
for h in a b c; do fed-sign -G -n -p pub/roster/$h.pub -s keys/$h.sec 2>/dev/null; done
mkdir ab && cp pub/roster/a.pub pub/roster/b.pub ab/	# round 1's roster
for t in t1 t2; do fed-sign -G -n -p testers/$t.pub -s keys/$t.sec 2>/dev/null; done
fed-init -a softmax:2-3 -s 1 | fed-sign -s keys/coord.sec -o pub/rounds/round-000.fed 2>/dev/null
for r in 0 1; do
	for h in a b; do
		i=0; [ $h = b ] && i=1
		fed-train -m pub/rounds/round-00$r.fed -d sh-00$i.fed --name $h -s 1 |
		    fed-sign -s keys/$h.sec -o pub/contrib/$r-$h.fed 2>/dev/null
	done
	ro=pub/roster; [ $r = 0 ] && ro=ab
	fed-merge -P $ro -m pub/rounds/round-00$r.fed pub/contrib/$r-*.fed |
	    fed-sign -s keys/coord.sec -o pub/rounds/round-00$((r + 1)).fed 2>/dev/null
done
for t in t1 t2; do
	fed-eval --report -m pub/rounds/round-002.fed test-000.fed |
	    fed-sign -s keys/$t.sec -o pub/reports/$t.fed 2>/dev/null
done
d2=$(tar -xOf pub/rounds/round-002.fed manifest.json | sha256sum | cut -c1-12)
check "merge: the roster's holder without a vote is merge.missing" sh -c \
    "tar -xOf pub/rounds/round-002.fed manifest.json | jq -e '.merge.missing == [\"c\"]'"
check "merge: no merge.missing when every holder voted" sh -c \
    "tar -xOf pub/rounds/round-001.fed manifest.json | jq -e '.merge | has(\"missing\") | not'"

# ---- the table ----
expect "log: a folder" 0 fed-log pub
cp "$T/out" table.out
check "log: header" grep -Eq '^round +model +parent +rule +samples +epsilon +reports +accuracy +missing +contributors$' table.out
check "log: a row per model" test "$(grep -Ec '^ +[0-9]+  [0-9a-f]{12}  ' table.out)" -eq 3
check "log: round 0 has no parent, rule or contributors" grep -Eq \
    '^ +0  [0-9a-f]{12}  - +- +0 +- +0 +- +- +-$' table.out
check "log: round 1: fedavg, 6 samples, a and b, no record of missing" grep -Eq \
    '^ +1  [0-9a-f]{12}  [0-9a-f]{12}  fedavg +6 +- +0 +- +- +a,b$' table.out
check "log: round 2: its report's accuracy, c missing" grep -Eq \
    "^ +2  $d2  [0-9a-f]{12}  fedavg +6 +- +1 +0\.[0-9]{4}  c +a,b\$" table.out
check "log: the report's line, signers by KEYID" grep -Eq \
    '^round 2: report [0-9a-f]{12} by [0-9a-f]{16},[0-9a-f]{16}: accuracy 0\.[0-9]{4}, loss [0-9.]+ on 6 samples \(pub/reports/t1\.fed\)$' table.out
expect "log: -T names the testers" 0 fed-log -T testers pub
check "log: testers by name" grep -Eq '^round 2: report [0-9a-f]{12} by t1,t2: ' "$T/out"
expect "log: bundles as operands" 0 fed-log pub/rounds/round-002.fed pub/reports/t2.fed
check "log: only that row" test "$(grep -Ec '^ +[0-9]+  [0-9a-f]{12}  ' "$T/out")" -eq 1
check "log: its report by one signer" grep -Eq '^round 2: report [0-9a-f]{12} by [0-9a-f]{16}: ' "$T/out"
expect "log: a folder twice is one history" 0 fed-log pub pub/rounds
check "log: same table" cmp -s "$T/out" table.out

# ---- --json ----
expect "log: json" 0 fed-log --json -T testers pub
cp "$T/out" log.json
check "log json: three rows by round" jq -e '[.[].round] == [0,1,2]' log.json
check "log json: round 0" jq -e '.[0] | .parent == null and .rule == null and .samples == 0 and .missing == null' log.json
check "log json: contributors by name" jq -e '.[1].contributors == ["a","b"]' log.json
check "log json: parent links" jq -e '.[2].parent == .[1].digest and .[1].parent == .[0].digest' log.json
check "log json: missing" jq -e '.[2].missing == ["c"] and .[1].missing == null' log.json
check "log json: the report" jq -e '.[2].reports | length == 1 and
    ([.[0].signers[].name] == ["t1","t2"]) and .[0].model == "sha256:'"$(tar -xOf pub/rounds/round-002.fed manifest.json | sha256sum | cut -c1-64)"'"' log.json
check "log json: worst figure is the report's" jq -e '.[2].worst.accuracy == .[2].reports[0].figures.accuracy' log.json

# ---- --plot ----
expect "log: plot accuracy" 0 fed-log --plot accuracy pub
check "log plot: data inline" grep -Eq '^2 0\.[0-9]+$' "$T/out"
check "log plot: only rounds with the figure" test "$(sed -n '/^\$data/,/^EOD/p' "$T/out" | wc -l)" -eq 3
cp "$T/out" plot.gp
if command -v gnuplot >/dev/null; then
	check "log plot: gnuplot draws it" sh -c 'gnuplot plot.gp >plot.svg && grep -q "<svg" plot.svg'
fi
expect "log: plot samples" 0 fed-log --plot samples pub
check "log plot: samples per round" test "$(sed -n '/^\$data/,/^EOD/p' "$T/out" | tr '\n' ' ')" = '$data << EOD 0 0 1 6 2 6 EOD '
expect_err "log: plot a figure no round has" 1 'no round has a epsilon figure' fed-log --plot epsilon pub

# ---- records: merge.missing, epsilon; hostile strings ----
mkdir alt
edited pub/rounds/round-001.fed alt/round-001.fed \
    '.merge.missing = ["c", "d"] | .privacy = {epsilon: 1.5}'
echo a >alt/round-001.missing
expect "log: merge.missing and epsilon" 0 fed-log alt
check "log: merge.missing before the side file, epsilon shown" grep -Eq \
    '^ +1  [0-9a-f]{12}  [0-9a-f]{12}  fedavg +6 +1\.500 +0 +- +c,d ' "$T/out"
edited pub/rounds/round-001.fed evil.fed '.merge.updates[0].contributor = "\u001b[31mevil" | .merge.rule = "x\ny"'
expect "log: hostile strings escaped" 0 fed-log evil.fed
check "log: no escape byte reaches the terminal" sh -c "! grep -q \"$(printf '\033')\" '$T/out'"
check "log: shown escaped" grep -q 'x\\ny .*\\x1b\[31mevil' "$T/out"
edited pub/rounds/round-001.fed bad-missing.fed '.merge.missing = [1]'
expect_err "log: merge.missing not names" 1 'merge.missing\[0\] is not a roster name' fed-log bad-missing.fed pub/rounds/round-000.fed
mkdir side && cp pub/rounds/round-001.fed side/
echo c >side/round-001.missing
expect "log: a side file" 0 fed-log side
check "log: the side file names the missing" grep -Eq '^ +1  [0-9a-f]{12}  [0-9a-f]{12}  fedavg +6 +- +0 +- +c +a,b$' "$T/out"
cp pub/rounds/round-001.fed side.fed
printf 'a\n\001b\n' >side.missing
expect_err "log: a side file that is not names" 1 'side.missing: not a roster name a line' fed-log side.fed pub/rounds/round-000.fed
check "log: the other rows still shown" grep -Eq '^ +0  ' "$T/out"

# ---- rejected bundles; loops; nothing found ----
mkdir junk
cp -r pub junk/
echo 'not a bundle' >junk/pub/rounds/junk.fed
ln -s .. junk/pub/loop
expect_err "log: a file that is not a bundle" 1 'junk.fed: not a valid bundle' fed-log junk
check "log: the rest still shown" test "$(grep -Ec '^ +[0-9]+  [0-9a-f]{12}  ' "$T/out")" -eq 3
sed 's/"round": 2/"round": 3/' pub/reports/t1.fed >tampered.fed
expect_err "log: a report whose tester signature fails" 1 'does not verify' \
    fed-log -T testers tampered.fed pub/rounds
expect_err "log: no models" 1 'no model bundles found' fed-log pub/contrib

# ---- usage ----
expect "log usage: no operand" 2 fed-log
expect "log usage: missing folder" 2 fed-log nowhere
expect "log usage: --json and --plot" 2 fed-log --json --plot accuracy pub
expect "log usage: unknown figure" 2 fed-log --plot speed pub
expect "log usage: unknown option" 2 fed-log --frobnicate pub
expect "log usage: standard input" 2 fed-log -
expect "log usage: missing testers" 2 fed-log -T nowhere pub
expect "log: --version" 0 fed-log --version
expect "log: --help" 0 fed-log --help
check "log: --help on stdout" grep -q '^usage: fed-log' "$T/out"
missing=
for o in $(grep '^\.It Fl' "$FED_ROOT/man/fed-log.1" | grep -o 'Fl \\-[a-z0-9-]*' |
    sed 's/Fl \\-/--/' | sort -u); do
	fed-log --help | grep -q -- "$o" || missing="$missing $o"
done
check "log: --help describes every long option of fed-log(1)${missing:+ (lacks$missing)}" test -z "$missing"
check "log: --help fits 80 columns" sh -c "! fed-log --help | awk 'length > 80' | grep -q ."
