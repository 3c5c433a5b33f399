# roster: fed-roster (versions 1 to 3 linked, deterministic bytes, names
# and keys unique), the roster bundle under fed-verify, and fed-verify -R:
# the roster as the key set, the contributor tied to its key, one key one
# vote across the bundles of one call.  fed-merge's side is in
# fed-merge.sh.
. "$FED_ROOT/tests/sh/lib.sh"

gen() { "$FED_BIN/tools/merge-gen" "$@"; }
field() { tar -xOf "$1" manifest.json | jq -c "$2"; }
digest() { echo "sha256:$(tar -xOf "$1" manifest.json | sha256sum | cut -c1-64)"; }
keyid() { openssl pkey -pubin -in "$1" -outform DER | sha256sum | cut -c1-16; }

# bundle_of MANIFEST.json OUT: a bundle with only that manifest, made by
# hand (ustar, owner 0, mode 0644, mtime 0), for rosters fed would refuse
# to write.
bundle_of() {
	/usr/bin/python3 - "$1" "$2" <<'EOF'
import io, sys, tarfile
data = open(sys.argv[1], "rb").read()
with tarfile.open(sys.argv[2], "w", format=tarfile.USTAR_FORMAT) as t:
    ti = tarfile.TarInfo("manifest.json")
    ti.size, ti.mode, ti.mtime = len(data), 0o644, 0
    t.addfile(ti, io.BytesIO(data))
EOF
}

for k in coord india brazil chile peru; do
	fed-sign -G -n -p $k.pub -s $k.sec 2>/dev/null
done

# ---- fed-roster: version 1, deterministic, signed by the coordinator ----
expect "roster: version 1" 0 fed-roster -o r1.fed india=india.pub:1000 brazil=brazil.pub
fed-roster brazil=brazil.pub india=india.pub:1000 >r1b.fed
check "roster: same bytes in any operand order" cmp -s r1.fed r1b.fed
check "roster: kind roster, version 1, no parent" test \
    "$(field r1.fed '[.kind, .version, .parent, (.members | length)]')" = '["roster",1,null,0]'
check "roster: holders by name with keyid and cap" test \
    "$(field r1.fed '[.holders[] | [.name, .keyid, .max_samples]]')" = \
    "[[\"brazil\",\"$(keyid brazil.pub)\",null],[\"india\",\"$(keyid india.pub)\",1000]]"
check "roster: the key text is the .pub file" sh -c \
    "tar -xOf r1.fed manifest.json | jq -j '.holders[1].key' | cmp -s - india.pub"
fed-sign -s coord.sec -o r1s.fed r1.fed 2>/dev/null
expect "roster: fed-verify accepts it" 0 fed-verify -p coord.pub r1s.fed
check "roster: reported as a roster" grep -q " roster, signed by" "$T/out"

# ---- versions 2 and 3: add, rotate, remove, each linked to the last ----
fed-sign -G -n -p india2.pub -s india2.sec 2>/dev/null
expect "roster: version 2 adds chile" 0 fed-roster -p r1s.fed -o r2.fed chile=chile.pub
fed-sign -s coord.sec -o r2s.fed r2.fed 2>/dev/null
expect "roster: version 3 rotates india, removes brazil" 0 \
    fed-roster -p r2s.fed -d brazil -o r3.fed india=india2.pub:2000
fed-sign -s coord.sec -o r3s.fed r3.fed 2>/dev/null
check "roster: version 2 links to version 1" test \
    "$(field r2.fed '[.version, .parent]')" = "[2,\"$(digest r1s.fed)\"]"
check "roster: version 3 links to version 2" test \
    "$(field r3.fed '[.version, .parent]')" = "[3,\"$(digest r2s.fed)\"]"
check "roster: version 3's holders" test \
    "$(field r3.fed '[.holders[] | [.name, .keyid, .max_samples]]')" = \
    "[[\"chile\",\"$(keyid chile.pub)\",null],[\"india\",\"$(keyid india2.pub)\",2000]]"
expect "roster: the chain verifies" 0 fed-verify -p coord.pub r1s.fed r2s.fed r3s.fed
mkdir keys && cp india.pub brazil.pub keys/
expect "roster: from a key directory" 0 fed-roster -P keys -o rd.fed
check "roster: names from the file names" test \
    "$(field rd.fed '[.holders[].name]')" = '["brazil","india"]'
check "roster: from a key directory, version 1" test "$(field rd.fed .version)" = 1
expect "roster: from a key directory, signed" 0 fed-sign -s coord.sec -o rds.fed rd.fed

# ---- fed-roster: usage errors and refusals ----
expect_err "roster: one key under two names" 2 "holder india's already" \
    fed-roster -o x.fed india=india.pub peru=india.pub
check "roster: nothing written" test ! -e x.fed
expect_err "roster: a name twice" 2 "listed twice" \
    fed-roster -o x.fed india=india.pub india=peru.pub
expect_err "roster: a control character in a name" 2 "printable" \
    fed-roster -o x.fed "$(printf 'in\033dia')=india.pub"
expect_err "roster: a name too long" 2 "1 to 64" \
    fed-roster -o x.fed "$(printf '%070d' 0)=india.pub"
expect "roster: no holder" 2 fed-roster
expect "roster: missing key" 2 fed-roster india=nosuch.pub
expect "roster: bad cap" 2 fed-roster india=india.pub:0
expect "roster: -d without -p" 2 fed-roster -d india india=india.pub
expect "roster: -d of no holder" 2 fed-roster -p r1s.fed -d nobody
expect "roster: bad option" 2 fed-roster --frobnicate
expect "roster: help" 0 fed-roster -h
expect_err "roster: previous not a roster" 1 "not a roster" \
    sh -c 'gen() { "$FED_BIN/tools/merge-gen" "$@"; }; gen model softmax:4-2 1 m.fed; fed-roster -p m.fed india=india.pub'
check "roster: nothing written on refusal" test ! -e x.fed

# ---- a roster made by hand that fed-roster would refuse: rejected (1) ----
tar -xOf r1.fed manifest.json | jq '.holders[1].name = "brazil"' >dupname.json
tar -xOf r1.fed manifest.json | jq '.holders[1].key = .holders[0].key |
    .holders[1].keyid = .holders[0].keyid' >dupkey.json
tar -xOf r1.fed manifest.json | jq '.holders[0].keyid = "0000000000000000"' >badid.json
tar -xOf r1.fed manifest.json | jq '.holders[0].name = "in\u001bdia"' >ctl.json
tar -xOf r1.fed manifest.json | jq '.version = 2' >noparent.json
tar -xOf r1.fed manifest.json | jq '.holders = []' >empty.json
# the identity point, of small order: one fixed signature verifies any
# manifest under it, so a roster must not carry it
printf '302a300506032b6570032100%s' \
    0100000000000000000000000000000000000000000000000000000000000000 |
    xxd -r -p | openssl pkey -pubin -inform DER -out small.pub
sid=$(openssl pkey -pubin -in small.pub -outform DER | sha256sum | cut -c1-16)
tar -xOf r1.fed manifest.json | jq --rawfile k small.pub --arg id "$sid" \
    '.holders[0].key = $k | .holders[0].keyid = $id' >small.json
for c in dupname dupkey badid ctl noparent empty small; do bundle_of $c.json $c.fed; done
expect_err "roster: hand-made, a small-order key" 1 "small order" fed-verify -n small.fed
expect_err "roster: hand-made, a name twice" 1 "listed twice" fed-verify -n dupname.fed
expect_err "roster: hand-made, one key under two names" 1 "holder brazil's already" \
    fed-verify -n dupkey.fed
expect_err "roster: hand-made, keyid not the key's" 1 "keyid is not" fed-verify -n badid.fed
expect_err "roster: hand-made, control character" 1 "printable" fed-verify -n ctl.fed
check "roster: the control character is not echoed" sh -c "! grep -q \"$(printf '\033')\" '$T/err'"
expect_err "roster: hand-made, version 2 without parent" 1 "parent" fed-verify -n noparent.fed
expect_err "roster: hand-made, no holder" 1 "holders" fed-verify -n empty.fed
fed-sign -s coord.sec -o dupkeys.fed dupkey.fed 2>/dev/null
gen model mlp:20-8-3 1 m.fed
gen update m.fed 1 0.01 100 india ui.fed
fed-sign -s india.sec -o uis.fed ui.fed 2>/dev/null
expect_err "roster: -R refuses a roster with one key twice" 1 "already" \
    fed-verify -p coord.pub -R dupkeys.fed uis.fed

# ---- fed-verify -R: the roster as the key set ----
expect "verify -R: an update signed by a holder" 0 fed-verify -p coord.pub -R r1s.fed uis.fed
check "verify -R: names the contributor" grep -q "as contributor india" "$T/out"
expect_err "verify -R: roster not signed by the coordinator" 1 "not signed by the coordinator" \
    fed-verify -p india.pub -R r1s.fed uis.fed
expect_err "verify -R: unsigned roster" 1 "not signed by the coordinator" \
    fed-verify -p coord.pub -R r1.fed uis.fed
expect "verify -R: without -p" 2 fed-verify -R r1s.fed uis.fed
expect "verify -R: missing roster" 2 fed-verify -p coord.pub -R nosuch.fed uis.fed
expect "verify -R: quorum above the roster" 2 fed-verify -p coord.pub -R r1s.fed -k 3 uis.fed
gen update m.fed 4 0.01 100 chile uch.fed
fed-sign -s chile.sec -o uchs.fed uch.fed 2>/dev/null
expect_err "verify -R: a key not on the roster" 1 "0 roster keys" \
    fed-verify -p coord.pub -R r1s.fed uchs.fed
expect "verify -R: a later roster has it" 0 fed-verify -p coord.pub -R r2s.fed uchs.fed
check "verify -R: its contributor" grep -q "as contributor chile" "$T/out"
fed-sign -s chile.sec -o uc.fed ui.fed 2>/dev/null
expect_err "verify -R: contributor india signed by chile's key" 1 \
    'contributor "india" is not the roster.s name for signer' \
    fed-verify -p coord.pub -R r3s.fed uc.fed
check "verify -R: the message names the key and its holder" grep -q "$(keyid chile.pub) (chile)" "$T/err"
gen update m.fed 2 0.01 100 brazil ub.fed
fed-sign -s india.sec -o ubi.fed ub.fed 2>/dev/null
expect_err "verify -R: contributor brazil signed by india's key" 1 "is not the roster" \
    fed-verify -p coord.pub -R r1s.fed ubi.fed
fed-sign -s brazil.sec -o uib.fed uis.fed 2>/dev/null
expect "verify -R: co-signed, quorum 2" 0 fed-verify -p coord.pub -R r1s.fed -k 2 uib.fed
expect_err "verify -R: quorum 2 not met" 1 "1 roster key, 2 required" \
    fed-verify -p coord.pub -R r1s.fed -k 2 uis.fed
check "verify -R: json names the contributor" sh -c \
    "fed-verify --json -p coord.pub -R r1s.fed uis.fed | jq -e '.contributor == \"india\"'"

# ---- one key, one vote across the bundles of one call ----
gen update m.fed 3 0.01 100 india ui2.fed
fed-sign -s india.sec -o ui2s.fed ui2.fed 2>/dev/null
expect_err "verify -R: equivocation" 1 "equivocation: key $(keyid india.pub) (india) also signed uis.fed" \
    fed-verify -p coord.pub -R r1s.fed uis.fed ui2s.fed
check "verify -R: one line for it" test "$(wc -l <"$T/err")" = 1
expect "verify -R: the same update twice is one vote" 0 \
    fed-verify -p coord.pub -R r1s.fed uis.fed uis.fed
expect_err "verify -P: equivocation by key" 1 "equivocation: key $(keyid india.pub)" \
    fed-verify -P keys uis.fed ui2s.fed
