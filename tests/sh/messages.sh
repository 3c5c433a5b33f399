# messages: the everyday mistakes of issue 23 each get one line that says
# what is wrong: a missing required option named, an architecture quoted
# as typed, a compressed bundle recognised, an empty pipe explained, no
# "Broken pipe" after the downstream tool's own message, --skip-bad
# warnings, and --help describing every option of the man page.
. "$FED_ROOT/tests/sh/lib.sh"

gen() { "$FED_BIN/tools/merge-gen" "$@"; }

# one NAME STATUS PATTERN CMD...: as expect_err, and stderr is one line.
one() {
	expect_err "$@" || return 1
	[ "$(wc -l <"$T/err")" -eq 1 ] ||
	    fail "$1 (one line)" "$(wc -l <"$T/err") lines: $(head -c 300 "$T/err")"
}

# ---- a missing required option is named ----
one "required: fed-init -a" 2 "^fed-init: -a arch is required$" fed-init
one "required: fed-train -m" 2 "^fed-train: -m model is required$" fed-train -d d.fed
one "required: fed-train -d" 2 "^fed-train: -d data is required$" fed-train -m m.fed
one "required: fed-eval -m" 2 "^fed-eval: -m model is required$" fed-eval d.fed
one "required: fed-eval data" 2 "^fed-eval: -d data is required$" fed-eval -m m.fed
one "required: fed-merge -m" 2 "^fed-merge: -m model is required$" fed-merge --unsigned u.fed
one "required: fed-merge update" 2 "^fed-merge: an update is required$" \
    fed-merge --unsigned -m m.fed
one "required: fed-sign -s" 2 "^fed-sign: -s seckey is required$" fed-sign m.fed
one "required: fed-sign -G -p" 2 "^fed-sign: -G needs -p pubkey$" fed-sign -G -n -s k.sec
one "required: fed-sample -m" 2 "^fed-sample: -m model is required$" fed-sample
one "required: fed-verify bundle" 2 "^fed-verify: a bundle is required$" fed-verify -n
one "required: fed-roster holder" 2 "^fed-roster: a holder is required" fed-roster
one "required: fed-shard -o" 2 "^fed-shard: -o prefix is required$" fed-shard x.csv

# ---- the architecture as typed ----
one "arch: quoted with its prefix" 2 "architecture mlp:784-200-x-10: expected a width" \
    fed-init -a mlp:784-200-x-10
one "arch: softmax prefix too" 2 "architecture softmax:784-0:" fed-init -a softmax:784-0

# ---- compressed bundles ----
fed-init -a softmax:20-3 -o m.fed
for z in gzip zstd xz bzip2; do
	command -v $z >/dev/null || continue
	$z -c m.fed > m.fed.z
	one "compressed: $z from stdin" 1 \
	    "stdin: not a bundle: $z-compressed data (decompress it first: $z -d)" \
	    sh -c 'fed-verify -n - < m.fed.z'
	one "compressed: $z file" 1 "m.fed.z: not a bundle: $z-compressed" \
	    fed-verify -n m.fed.z
done
gzip -c m.fed > m.fed.gz
one "compressed: fed-train says so too" 1 "gzip-compressed data" \
    fed-train -m m.fed.gz -d m.fed

# ---- an empty pipe: the command before it failed ----
EMPTY="stdin: empty input (did the command before it fail?)"
one "empty: fed-verify" 1 "fed-verify: $EMPTY" sh -c 'false | fed-verify -n -'
one "empty: fed-merge" 1 "fed-merge: $EMPTY" sh -c 'false | fed-merge --unsigned -m m.fed -'
one "empty: fed-eval" 1 "fed-eval: $EMPTY" sh -c 'false | fed-eval -m - -d m.fed'
: > empty.fed
one "empty: an empty file is not a pipe" 1 "empty.fed: empty input$" fed-verify -n empty.fed
fed-sign -G -n -p k.pub -s k.sec 2>/dev/null
sh -c 'fed-train -m nosuch.fed -d d.fed | fed-sign -s k.sec > o.fed' 2>pipe.err
check "pipeline: two lines, one per tool" test "$(wc -l < pipe.err)" = 2
check "pipeline: the upstream tool names its failure" grep -q "^fed-train: nosuch.fed" pipe.err
check "pipeline: the downstream tool says empty input" grep -qxF "fed-sign: $EMPTY" pipe.err

# ---- a wrong passphrase downstream: no "Broken pipe" upstream ----
echo right > right.txt
echo wrong > wrong.txt
fed-sign -G --passphrase-file right.txt -p c.pub -s c.sec 2>/dev/null
fed-init -a mlp:784-200-10 -o big.fed          # larger than a pipe's buffer
sh -c 'fed-verify -n -q -o - big.fed | fed-sign -s c.sec --passphrase-file wrong.txt > o.fed' 2>pipe.err
check "passphrase: one line" test "$(wc -l < pipe.err)" = 1
check "passphrase: it is the passphrase" grep -q "^fed-sign: c.sec: wrong passphrase" pipe.err
check "passphrase: no broken pipe" sh -c '! grep -q "Broken pipe" pipe.err'
check "passphrase: nothing written" test ! -s o.fed
sh -c 'fed-init -a mlp:784-200-10 | fed-sign -s c.sec --passphrase-file wrong.txt > o.fed' 2>pipe.err
check "passphrase: fed-init upstream is quiet too" test "$(wc -l < pipe.err)" = 1
{ fed-init -a mlp:784-200-10; echo $? > st; } | head -c 1 > /dev/null
check "closed pipe: ends as by SIGPIPE" test "$(cat st)" = 141

# ---- --skip-bad: one warning per skipped update, and a count ----
gen model softmax:20-4 1 mm.fed
gen update mm.fed 1 0.01 100 holder1 u1.fed
gen update mm.fed 2 0.01 100 holder2 u2.fed
echo junk > u3.fed
gzip -c u2.fed > u4.fed
expect "skip-bad: merges" 0 fed-merge --unsigned --skip-bad -m mm.fed -o sk.fed \
    u1.fed u3.fed u2.fed u4.fed
check "skip-bad: two warnings" test "$(grep -c '^fed-merge: skipped ' "$T/err")" = 2
check "skip-bad: names u3 and why" grep -q "^fed-merge: skipped u3.fed: not a valid bundle" "$T/err"
check "skip-bad: names u4 and why" grep -q "^fed-merge: skipped u4.fed: not a bundle: gzip" "$T/err"
rm -f sk.fed
one "skip-bad: all skipped, count and first reason" 1 \
    "^fed-merge: no update left to merge: all 2 were skipped (u3.fed: not a valid bundle" \
    fed-merge --unsigned --skip-bad -m mm.fed -o sk.fed u3.fed u4.fed
check "skip-bad: nothing written" test ! -e sk.fed

# ---- --help: the usage, then one line per option of the man page ----
for t in fed-eval fed-init fed-merge fed-roster fed-sample fed-shard fed-sign \
    fed-train fed-verify; do
	man=$FED_ROOT/man/$t.1
	expect "help: $t --help exits 0" 0 $t --help
	check "help: $t --help on stdout" grep -q "^usage: $t" "$T/out"
	check "help: $t --help, nothing on stderr" test ! -s "$T/err"
	missing=
	for o in $(grep '^\.It Fl' "$man" | grep -o 'Fl \\-[a-z0-9-]*' |
	    sed 's/Fl \\-/--/' | sort -u); do
		grep -q -- "$o" "$T/out" || missing="$missing $o"
	done
	check "help: $t --help describes every long option of $t(1)${missing:+ (lacks$missing)}" \
	    test -z "$missing"
	check "help: $t --help options fit 80 columns" \
	    sh -c "! awk '/^  -/ && length > 80' '$T/out' | grep -q ."
	check "help: $t --help has option lines" grep -q '^  -h, --help' "$T/out"
	expect "help: $t usage error exits 2" 2 $t --no-such-option
	check "help: $t usage error shows no option list" sh -c "! grep -q -- '--help' '$T/err'"
done
