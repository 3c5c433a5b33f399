# fed-verify: valid bundles, the hostile corpus, keys, quorum, lineage, -o.
. "$FED_ROOT/tests/sh/lib.sh"

fed-sign -G -n -p a.pub -s a.sec 2>/dev/null
fed-sign -G -n -p b.pub -s b.sec 2>/dev/null
fed-init -a mlp:20-8-3 -s 1 | fed-sign -s a.sec > v.fed
fed-init -a mlp:20-8-3 -s 2 | fed-sign -s a.sec > o.fed
fed-sign -s b.sec v.fed > vab.fed
mkdir roster && cp a.pub b.pub roster/

expect "verify: integrity only" 0 fed-verify -n v.fed
check "verify: says integrity only" grep -q "integrity only" "$T/out"
check "verify: prints the digest" grep -q \
    "sha256:$(tar xOf v.fed manifest.json | sha256sum | cut -c1-64)" "$T/out"
expect "verify: trusted key" 0 fed-verify -p a.pub v.fed
expect_err "verify: untrusted key only" 1 "not signed\|0 trusted" fed-verify -p b.pub v.fed
expect "verify: key directory, quorum 2" 0 fed-verify -P roster -k 2 vab.fed
expect_err "verify: quorum 2 not met" 1 "1 trusted key, 2 required" fed-verify -P roster -k 2 v.fed
expect "verify: quorum above key count" 2 fed-verify -p a.pub -k 2 v.fed
expect "verify: -k without keys" 2 fed-verify -k 1 v.fed
expect "verify: several operands, worst status" 1 fed-verify -p b.pub vab.fed v.fed vab.fed
check "verify: a line per good operand" test "$(wc -l < "$T/out")" = 2
expect "verify: system error outranks rejection" 2 fed-verify -p b.pub v.fed missing.fed
expect "verify: missing file is a system error" 2 fed-verify -n missing.fed
mkdir adir
expect_err "verify: a directory is a system error" 2 \
    "^fed-verify: adir: is a directory$" fed-verify -n adir
expect_err "verify: --parent a directory" 2 "adir: is a directory" \
    fed-verify -n --parent adir v.fed
expect_err "verify: --parent missing" 2 "missing.fed: No such file" \
    fed-verify -n --parent missing.fed v.fed
expect "verify: -o, a directory operand" 2 fed-verify -n -o dirout.fed adir
check "verify: nothing written for a directory" sh -c '! ls dirout.fed* 2>/dev/null'
expect "verify: system error outranks rejection, any order" 2 \
    fed-verify -p b.pub adir v.fed
expect "verify: stdin" 0 sh -c 'fed-verify -p a.pub - < v.fed'
expect "verify: json" 0 fed-verify --json -p a.pub v.fed
check "verify: json fields" jq -e '.ok and .kind == "model" and .round == 0 and (.signers | length) == 1' "$T/out"
expect "verify: quiet" 0 fed-verify -n -q v.fed
check "verify: quiet prints nothing" test ! -s "$T/out"

# lineage
digest=$(tar xOf v.fed manifest.json | sha256sum | cut -c1-64)
expect_err "verify: --parent mismatch" 1 "parent is none" fed-verify -n --parent v.fed o.fed
expect_err "verify: --parent digest mismatch" 1 "parent" fed-verify -n --parent "sha256:$digest" v.fed

# -o passes the bundle on only once verified
expect "verify: -o file" 0 fed-verify -p a.pub -o passed.fed v.fed
check "verify: -o output is the input, byte for byte" cmp passed.fed v.fed
expect "verify: -o - in a pipeline" 0 sh -c 'fed-verify -p a.pub -o - v.fed | fed-sign -s b.sec > piped.fed'
check "verify: piped bundle intact" cmp piped.fed vab.fed
expect "verify: -o with two operands" 2 fed-verify -n -o x.fed v.fed o.fed

# the hostile corpus: every one rejected with exit 1 and one line
python3 "$FED_ROOT/tests/sh/hostile.py" v.fed o.fed corpus
cp -R corpus corpus.orig
for f in corpus/*.fed; do
	expect "verify: hostile $(basename "$f" .fed)" 1 fed-verify -p a.pub "$f"
done
expect "verify: hostile corpus control is valid" 0 fed-verify -p a.pub corpus/good.fed.ok
expect "verify: -o refuses a hostile bundle" 1 fed-verify -p a.pub -o out.fed corpus/hash-mismatch.fed
check "verify: nothing written for a rejected bundle" sh -c '! ls out.fed* 2>/dev/null'
expect "verify: -o - refuses, nothing on stdout" 1 sh -c 'fed-verify -p a.pub -o - corpus/nan-weight.fed > piped2.fed'
check "verify: stdout empty after refusal" test ! -s piped2.fed
check "verify: inputs never modified" diff -r corpus corpus.orig

expect "verify: no operand" 2 fed-verify
expect "verify: unknown option" 2 fed-verify --bogus v.fed
expect_err "verify: bad key file" 2 "not a PEM" fed-verify -p v.fed v.fed
expect_err "verify: empty key dir" 2 "no \*.pub" sh -c 'mkdir -p empty && fed-verify -P empty v.fed'
expect "verify: --help" 0 fed-verify --help
