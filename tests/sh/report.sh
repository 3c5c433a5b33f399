# report: fed-eval --report (a tester's figures as a bundle bound to the
# model's digest, deterministic, signed with fed-sign, checked by
# fed-verify), and fed-verify --release-quorum: reports by k testers of a
# tester roster, one key one vote, each on this model, each meeting
# --require.  What does not count is refused with one line; hostile
# report manifests are rejected (1); misused options are usage errors (2).
. "$FED_ROOT/tests/sh/lib.sh"

field() { tar -xOf "$1" manifest.json | jq -c "$2"; }
digest() { echo "sha256:$(tar -xOf "$1" manifest.json | sha256sum | cut -c1-64)"; }
# tar_of OUT NAME=FILE...: a bundle of those members in that order, made
# by hand (ustar, owner 0, mode 0644, mtime 0), for reports fed would
# refuse to write or sign.
tar_of() {
	/usr/bin/python3 - "$@" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.USTAR_FORMAT) as t:
    for arg in sys.argv[2:]:
        name, path = arg.split("=", 1)
        data = open(path, "rb").read()
        ti = tarfile.TarInfo(name)
        ti.size, ti.mode, ti.mtime = len(data), 0o644, 0
        t.addfile(ti, io.BytesIO(data))
PY
}
bundle_of() { tar_of "$2" manifest.json="$1"; }

printf 'a,b,label\n0.5,1,0\n1,0.2,1\n0.3,0.3,2\n1,1,1\n0,0,0\n0.1,0.9,2\n' >t.csv
printf 'a,b,label\n0.4,1,0\n1,0.1,1\n0.2,0.3,2\n0.9,1,1\n' >u.csv
fed-shard -q -f csv --label label -n 1 -o tiny t.csv
fed-shard -q -f csv --label label -n 1 -o held u.csv
for k in coord t1 t2 t3 off; do
	fed-sign -G -n -p $k.pub -s $k.sec 2>/dev/null
done
mkdir testers reports
cp t1.pub t2.pub t3.pub testers/
fed-init -a softmax:2-3 -s 1 | fed-sign -s coord.sec -o m.fed 2>/dev/null
fed-init -a softmax:2-3 -s 2 | fed-sign -s coord.sec -o other.fed 2>/dev/null

# ---- fed-eval --report ----
expect "report: written" 0 fed-eval --report -m m.fed -o r.fed tiny-000.fed held-000.fed
check "report: kind report, no members" test \
    "$(field r.fed '[.kind, (.members | length), .round, .arch]')" = '["report",0,0,"softmax:2-3"]'
check "report: names the model by digest" test "$(field r.fed .model)" = "\"$(digest m.fed)\""
check "report: names each data set by digest" test \
    "$(field r.fed '[.data[].digest]')" = "[\"$(digest tiny-000.fed)\",\"$(digest held-000.fed)\"]"
fed-eval --json -m m.fed tiny-000.fed held-000.fed >e.json
check "report: the figures fed-eval prints" test \
    "$(field r.fed '[.figures.samples, .figures.accuracy, (.figures.per_class | length)]')" = \
    "$(jq -c '[.total.samples, .total.accuracy, (.total.per_class | length)]' e.json)"
check "report: the tool and settings" test \
    "$(field r.fed '[.producer.tool, .eval.unit]')" = '["fed-eval","row"]'
fed-eval --report -m m.fed tiny-000.fed held-000.fed >r2.fed
check "report: deterministic bytes" cmp -s r.fed r2.fed
expect "report: fed-verify reads it" 0 fed-verify -n r.fed
check "report: shown as a report" grep -q ' report round 0, integrity only' "$T/out"
expect_err "report: a rejected data bundle writes none" 1 "not a data bundle" \
    fed-eval --report -m m.fed -o none.fed tiny-000.fed m.fed
check "report: nothing written" test ! -e none.fed

# the testers sign reports; others too
for t in t1 t2 t3; do
	fed-eval --report -m m.fed tiny-000.fed | fed-sign -s $t.sec -o reports/$t.fed 2>/dev/null
done
fed-eval --report -m other.fed tiny-000.fed | fed-sign -s t3.sec -o for-other.fed 2>/dev/null
fed-eval --report -m m.fed tiny-000.fed | fed-sign -s off.sec -o off.fed 2>/dev/null
fed-eval --report -m m.fed held-000.fed | fed-sign -s t1.sec -o t1-again.fed 2>/dev/null
sed 's/"round": 0/"round": 1/' reports/t2.fed >tampered.fed
rq() { fed-verify -p coord.pub --testers testers "$@"; }

# ---- the release quorum ----
expect "release: 3 good reports, quorum 3" 0 rq --release-quorum 3 --reports reports m.fed
check "release: the testers named" grep -qx 'm.fed: released: reports by t1,t2,t3 (3 testers, release quorum 3)' "$T/out"
expect "release: with a threshold they meet" 0 rq --release-quorum 2 --reports reports \
    --require 'accuracy>=0.3' --require 'loss<10' m.fed
expect "release: files as well as folders" 0 rq --release-quorum 2 \
    --reports reports/t1.fed --reports reports/t3.fed m.fed
expect "release: json names the testers" 0 rq --json --release-quorum 2 --reports reports m.fed
check "release: json testers" jq -e '.testers == ["t1","t2","t3"]' "$T/out"
expect "release: as a pipeline's filter (-o -)" 0 sh -c \
    'fed-verify -q -p coord.pub --testers testers --reports reports --release-quorum 3 -o - m.fed | cmp -s - m.fed'
fed-roster -o troster.fed t1=t1.pub t2=t2.pub t3=t3.pub
fed-sign -s coord.sec -o troster-s.fed troster.fed 2>/dev/null
expect "release: testers as a signed roster bundle" 0 fed-verify -p coord.pub \
    --testers troster-s.fed --reports reports --release-quorum 3 m.fed
expect_err "release: an unsigned tester roster" 1 "troster.fed" fed-verify -p coord.pub \
    --testers troster.fed --reports reports --release-quorum 3 m.fed

expect_err "release: a report for another model" 1 \
    'reports by 1 of the 2 testers required (t1); not counted: for-other.fed: a report on another model$' \
    rq --release-quorum 2 --reports reports/t1.fed --reports for-other.fed m.fed
expect_err "release: a report by a key off the roster" 1 \
    'not counted: off.fed: not signed by a tester$' \
    rq --release-quorum 2 --reports reports/t1.fed --reports off.fed m.fed
expect_err "release: two reports by one tester count once" 1 \
    'reports by 1 of the 2 testers required (t1); not counted: t1-again.fed: its tester counted already$' \
    rq --release-quorum 2 --reports reports/t1.fed --reports t1-again.fed m.fed
expect_err "release: a report that misses the threshold" 1 \
    'reports/t1.fed by t1: accuracy 0.[0-9]* misses accuracy>=0.9$' \
    rq --release-quorum 1 --reports reports --require 'accuracy>=0.9' m.fed
expect_err "release: a figure the reports lack" 1 'no bits_per_byte figure' \
    rq --release-quorum 1 --reports reports --require 'bits_per_byte<=2' m.fed
expect_err "release: a tampered report" 1 \
    'not counted: tampered.fed: signature by [0-9a-f]* (t2) does not verify$' \
    rq --release-quorum 2 --reports reports/t1.fed --reports tampered.fed m.fed
expect_err "release: a bundle that is not a report" 1 'other.fed: a model, not a report$' \
    rq --release-quorum 2 --reports reports/t1.fed --reports other.fed m.fed
expect_err "release: no reports in the folder" 1 'testers required; no reports$' \
    rq --release-quorum 1 --reports testers m.fed
fed-sign -s coord.sec -o by-coord.fed reports/t1.fed 2>/dev/null
expect_err "release: of a model only" 1 'a release quorum is of models, not of a report' \
    rq --release-quorum 1 --reports reports by-coord.fed
expect "release: junk beside enough good reports does not block" 0 rq --release-quorum 3 \
    --reports reports --reports off.fed --reports tampered.fed --reports for-other.fed m.fed
check "release: the tester counted once" grep -q 'reports by t1,t2,t3 (3 testers' "$T/out"

# ---- a language model: bits per byte, per data set (language) ----
printf 'Der Hund schläft unter dem Tisch, die Katze auf dem Sofa.\n' >de.txt
printf 'Le chien dort sous la table, le chat sur le canapé.\n' >fr.txt
fed-shard -q -f text -o de de.txt
fed-shard -q -f text -o fr fr.txt
fed-init -a gpt:1-8-2-8 -s 3 | fed-sign -s coord.sec -o g.fed 2>/dev/null
expect "report: a language model" 0 fed-eval --report -m g.fed -o g-r.fed de-000.fed fr-000.fed
check "report: bits per byte per language, the window" test \
    "$(field g-r.fed '[.eval.unit, .eval.context, (.data | length), (.data[0] | has("bits_per_byte")), (.figures | has("accuracy"))]')" = \
    '["byte",8,2,true,false]'
fed-eval --json -m g.fed de-000.fed fr-000.fed >g.json
check "report: the figures fed-eval prints (to its 9 digits)" jq -e --argjson r \
    "$(field g-r.fed .figures.bits_per_byte)" '(.total.bits_per_byte - $r) | fabs < 1e-8' g.json
mkdir g-reports
fed-sign -s t2.sec -o g-reports/t2.fed g-r.fed 2>/dev/null
expect "release: bits per byte under a ceiling" 0 rq --release-quorum 1 \
    --reports g-reports --require 'bits_per_byte<=9' g.fed
expect_err "release: bits per byte above the ceiling" 1 'bits_per_byte [0-9.]* misses bits_per_byte<=2$' \
    rq --release-quorum 1 --reports g-reports --require 'bits_per_byte<=2' g.fed

# ---- usage ----
expect "release usage: --release-quorum alone" 2 fed-verify -p coord.pub --release-quorum 1 m.fed
expect "release usage: --reports without the quorum" 2 rq --reports reports m.fed
expect "release usage: quorum above the testers" 2 rq --release-quorum 4 --reports reports m.fed
expect "release usage: quorum 0" 2 rq --release-quorum 0 --reports reports m.fed
expect "release usage: a bad --require" 2 rq --release-quorum 1 --reports reports --require 'accuracy=1' m.fed
expect "release usage: an unknown figure" 2 rq --release-quorum 1 --reports reports --require 'speed>1' m.fed
expect "release usage: a missing report" 2 rq --release-quorum 1 --reports nowhere.fed m.fed
expect "release usage: a missing tester folder" 2 rq --release-quorum 1 --reports reports --testers nowhere m.fed
expect "release usage: with --chain" 2 rq --chain --release-quorum 1 --reports reports m.fed
expect "release usage: with -n" 2 fed-verify -n --testers testers \
    --reports reports --release-quorum 1 m.fed
expect "report usage: --report with --json" 2 fed-eval --report --json -m m.fed tiny-000.fed
expect "report usage: --report with -u" 2 fed-eval --report -m m.fed -u m.fed tiny-000.fed
expect "report usage: -o without --report" 2 fed-eval -o x.fed -m m.fed tiny-000.fed

# ---- hostile report manifests: rejected (1) by every reader ----
# signed by a tester by hand (fed-sign signs no bundle it rejects)
tar -xOf r.fed manifest.json >good.json
keyid() { openssl pkey -pubin -in "$1" -outform DER | sha256sum | cut -c1-16; }
signed_of() {
	openssl pkeyutl -sign -inkey t1.sec -rawin -in "$1" -out h.sig
	tar_of "$2" manifest.json="$1" "signatures/$(keyid t1.pub).sig=h.sig"
}
hostile() {
	jq "$2" good.json >h.json && bundle_of h.json "h-$1.fed"
	expect_err "hostile report: $1" 1 "$3" fed-verify -n "h-$1.fed"
	signed_of h.json "hs-$1.fed"
	expect_err "hostile report under the quorum: $1" 1 "not counted: hs-$1.fed: .*$3" \
	    rq --release-quorum 1 --reports "hs-$1.fed" m.fed
}
hostile model-not-digest '.model = "sha256:xyz"' 'model must be a digest'
hostile figures-string '.figures.accuracy = "0.9"' 'figures.accuracy must be a number'
hostile figures-nan-null '.figures.loss = null' 'figures.loss must be a number'
hostile accuracy-above-1 '.figures.accuracy = 1.5' 'figures.accuracy must be a number from 0 to 1'
hostile negative-loss '.figures.loss = -1' 'figures.loss must be a number'
hostile both-figures '.figures.bits_per_byte = 1' 'accuracy or bits_per_byte'
hostile no-figures 'del(.figures)' 'figures is not an object'
hostile huge-table '.figures.per_class = [range(5000) | {class: ., samples: 0, accuracy: null}]' \
    'at most 4096 classes'
hostile class-sum '.figures.per_class[0].samples = 1' 'per_class'
hostile data-empty '.data = []' 'data must be an array of 1'
hostile data-sum '.data[0].samples = 1' 'data counts more or fewer'
hostile members '.members = [{name: "tensors.safetensors", size: 0, sha256: ("0" * 64)}]' \
    'a report has no members'
hostile arch '.arch = "mlp:2"' 'manifest.json: '
hostile round '.round = -1' 'round must be an integer'
# not JSON at all: NaN, as some writers print it
sed 's/"loss": [0-9.e-]*/"loss": NaN/' good.json >nan.json
bundle_of nan.json h-nan.fed
expect_err "hostile report: NaN is not JSON" 1 'manifest.json: line' fed-verify -n h-nan.fed
