# lineage: the round rules (fed-bundle(5), "Rounds") checked by fed-verify
# and fed-merge, the whole chain walked by fed-verify --chain, and a
# holder's refusal of a rolled-back model (--min-round, --lineage).  Each
# attack of issue 19's lineage list is built here as a hostile bundle that
# the test's own coordinator key signs, and each is refused: exit 1, one
# line, nothing written.
. "$FED_ROOT/tests/sh/lib.sh"

gen() { "$FED_BIN/tools/merge-gen" "$@"; }
digest() { fed-verify -n --json "$1" | jq -r .digest; }
r3() { printf %03d "$1"; }

# retag.py IN OUT KEY=JSON...: IN with its manifest's fields set (null
# deletes), its signatures dropped; the members stay, a ustar as fed
# writes them.  KEY=JSON with no edits only strips the signatures.
cat >retag.py <<'PY'
import io, json, sys, tarfile
src, dst, edits = sys.argv[1], sys.argv[2], sys.argv[3:]
with tarfile.open(src) as t:
    mem = [(m.name, t.extractfile(m).read()) for m in t.getmembers()
           if not m.name.startswith("signatures/")]
man = json.loads(mem[0][1])
for e in edits:
    k, v = e.split("=", 1)
    man[k] = json.loads(v)
mem[0] = ("manifest.json", (json.dumps(man, indent=2, sort_keys=True)
                            + "\n").encode())
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
    for name, data in mem:
        ti = tarfile.TarInfo(name)
        ti.size, ti.mtime, ti.mode = len(data), 0, 0o644
        t.addfile(ti, io.BytesIO(data))
open(dst, "wb").write(buf.getvalue())
PY
# forge IN OUT SECKEY KEY=JSON...: retagged and signed by SECKEY.
forge() {
	i=$1 o=$2 k=$3
	shift 3
	python3 retag.py "$i" forge.tmp "$@" && fed-sign -s "$k" -o "$o" forge.tmp
	rm -f forge.tmp
}

# A consortium: the coordinator, three holders on the roster, mallory off
# it; four rounds (0 to 3) published as scripts/demo publishes them.
fed-sign -G -n -p coord.pub -s coord.sec 2>/dev/null
fed-sign -G -n -p mallory.pub -s mallory.sec 2>/dev/null
mkdir roster rounds contrib
for h in a b c; do fed-sign -G -n -p "roster/$h.pub" -s "$h.sec" 2>/dev/null; done
gen model mlp:20-8-4 1 m0.fed
fed-sign -s coord.sec -o rounds/round-000.fed m0.fed
for r in 0 1 2; do
	R=$(r3 $r) N=$(r3 $((r + 1))) i=0
	mkdir "contrib/round-$R"
	for h in a b c; do
		i=$((i + 1))
		gen update "rounds/round-$R.fed" $((r * 10 + i)) 0.01 $((100 * i)) "$h" u.tmp
		fed-sign -s "$h.sec" -o "contrib/round-$R/$h.fed" u.tmp
	done
	fed-merge -P roster -m "rounds/round-$R.fed" -o m.tmp "contrib/round-$R"/*.fed
	fed-sign -s coord.sec -o "rounds/round-$N.fed" m.tmp
done
rm -f u.tmp m.tmp
r2=$(digest rounds/round-002.fed)

# ---- round arithmetic, one bundle against its parent ----
expect "a model of the next round verifies" 0 \
    fed-verify -p coord.pub --parent rounds/round-002.fed rounds/round-003.fed
forge rounds/round-003.fed back.fed coord.sec round=1
expect_err "round going backwards refused" 1 'round 1, its parent is at round 2: want round 3' \
    fed-verify -p coord.pub --parent rounds/round-002.fed back.fed
forge rounds/round-003.fed jump.fed coord.sec round=1000
expect_err "round jumping to 1000 refused" 1 'round 1000, its parent is at round 2' \
    fed-verify -p coord.pub --parent rounds/round-002.fed jump.fed
forge rounds/round-003.fed orphan.fed coord.sec round=5 parent=null
expect_err "round 5 with no parent refused" 1 'round 5 without a parent' \
    fed-verify -p coord.pub orphan.fed
expect_err "round 5 with no parent refused against a parent" 1 'parent is none' \
    fed-verify -p coord.pub --parent rounds/round-002.fed orphan.fed
forge rounds/round-003.fed zero.fed coord.sec round=0
expect_err "round 0 with a parent refused" 1 'round 0 with a parent' \
    fed-verify -p coord.pub zero.fed
forge contrib/round-002/a.fed u7.fed a.sec round=7
expect_err "update with the right parent but round 7 refused" 1 \
    'round 7, its parent is at round 2: want round 2' \
    fed-verify -P roster --parent rounds/round-002.fed u7.fed
expect "the update's own round verifies" 0 \
    fed-verify -P roster --parent rounds/round-002.fed contrib/round-002/a.fed
expect_err "fed-merge refuses the update of round 7" 1 'round 7, the model is at round 2' \
    fed-merge --unsigned -m rounds/round-002.fed -o merged.fed contrib/round-002/b.fed u7.fed
check "fed-merge wrote nothing" test ! -e merged.fed
expect "fed-merge: model and update rounds agree" 0 \
    fed-merge --unsigned -m rounds/round-002.fed -o merged.fed contrib/round-002/*.fed
check "fed-merge: the next round is the model's plus one" \
    test "$(tar -xOf merged.fed manifest.json | jq .round)" = 3
rm -f merged.fed

# ---- no overflow: rounds stop at 2^53 ----
big=9223372036854775807 max=9007199254740992
forge rounds/round-003.fed big.fed coord.sec round=$big
gen update rounds/round-003.fed 99 0.01 100 a ubig.tmp
python3 retag.py ubig.tmp ubig.fed round=$big
expect_err "fed-merge refuses a model at round INT64_MAX" 1 "round $big is out of range" \
    fed-merge --unsigned -m big.fed -o merged.fed ubig.fed
check "fed-merge wrote nothing" test ! -e merged.fed
expect_err "fed-verify refuses a model at round INT64_MAX" 1 'out of range' \
    fed-verify -p coord.pub big.fed
forge rounds/round-003.fed last.fed coord.sec round=$max
python3 retag.py ubig.tmp ulast.fed round=$max "parent=\"$(digest last.fed)\""
expect "a model at the last round verifies" 0 fed-verify -p coord.pub last.fed
expect_err "fed-merge refuses to go past the last round" 1 "round $max has no next round" \
    fed-merge --unsigned -m last.fed -o merged.fed ulast.fed
check "fed-merge wrote nothing" test ! -e merged.fed
forge rounds/round-003.fed past.fed coord.sec round=$((max + 1))
expect_err "round 2^53 + 1 refused" 1 'out of range' fed-verify -p coord.pub past.fed
python3 retag.py rounds/round-003.fed neg.fed round=-1
expect "a negative round refused" 1 fed-verify -n neg.fed

# ---- the chain ----
expect "a chain of 4 rounds with its updates verifies" 0 fed-verify --chain \
    -p coord.pub -P roster --updates contrib rounds
cp "$T/out" chain.out
check "a line per round, and the verdict" test "$(grep -c '^round [0-3]: rounds/round-00[0-3].fed sha256:' chain.out)" = 4
check "round 0 has no parent" grep -q '^round 0: .*, no parent$' chain.out
check "round 3: parent, updates" grep -q '^round 3: .*, parent round 2, 3 merged updates found and signed by the roster$' chain.out
check "verdict names the head" grep -qx "chain verified: rounds 0 to 3, head rounds/round-003.fed $(digest rounds/round-003.fed)" chain.out
expect "the models in any order, without updates" 0 fed-verify --chain \
    -p coord.pub rounds/round-002.fed rounds/round-000.fed rounds/round-003.fed rounds/round-001.fed
check "sorted by round" sh -c "cut -d: -f1 '$T/out' | head -4 | tr '\n' , | grep -qx 'round 0,round 1,round 2,round 3,'"
expect "-q prints nothing" 0 fed-verify --chain -q -p coord.pub rounds
check "-q: nothing on stdout" test ! -s "$T/out"
expect "--json: an object per round and the verdict" 0 fed-verify --chain --json \
    -p coord.pub -P roster --updates contrib rounds
check "--json verdict" sh -c "tail -n 1 '$T/out' | jq -e '.chain and .ok and .round == 3'"

# chainfix NAME: a copy of the published folders to break.
chainfix() { rm -rf "$1"; mkdir "$1"; cp -R rounds contrib "$1"; }
chainfix gap
rm gap/rounds/round-002.fed
expect_err "a missing link is named" 1 'round-003.fed: round 3 follows round 1: round 2 is missing' \
    fed-verify --chain -p coord.pub gap/rounds
check "the rounds before it are printed" test "$(grep -c '^round' "$T/out")" = 2
chainfix head
rm head/rounds/round-000.fed
expect_err "a chain without round 0" 1 'round-001.fed: round 1 comes first: round 0 is missing' \
    fed-verify --chain -p coord.pub head/rounds
chainfix wrong
fed-sign -s mallory.sec -o wrong/rounds/round-002.fed \
    "$(python3 retag.py rounds/round-002.fed m2.tmp && echo m2.tmp)"
expect_err "a model signed by the wrong key is named" 1 'round-002.fed: signed by 0 trusted keys' \
    fed-verify --chain -p coord.pub wrong/rounds
chainfix fork
forge rounds/round-002.fed fork/rounds/round-002b.fed coord.sec "parent=\"$(digest rounds/round-000.fed)\""
rm fork/rounds/round-002.fed
expect_err "a link to the wrong parent is named" 1 'round-002b.fed: round 2: parent sha256:.* is not fork/rounds/round-001.fed' \
    fed-verify --chain -p coord.pub fork/rounds
cp rounds/round-002.fed fork/rounds/
expect_err "two models of one round" 1 'a second model of round 2' \
    fed-verify --chain -p coord.pub fork/rounds
chainfix up
rm up/contrib/round-001/b.fed
bd=$(digest contrib/round-001/b.fed)
expect_err "a missing update is named" 1 "round-002.fed: round 2: merged update $(echo "$bd" | cut -c1-19)... is not in up/contrib/round-001" \
    fed-verify --chain -p coord.pub -P roster --updates up/contrib up/rounds
chainfix off
python3 retag.py contrib/round-001/b.fed b.tmp
fed-sign -s mallory.sec -o off/contrib/round-001/b.fed b.tmp
expect_err "an update signed off the roster is named" 1 \
    'round 2: merged update off/contrib/round-001/b.fed: signed by 0 trusted keys' \
    fed-verify --chain -p coord.pub -P roster --updates off/contrib off/rounds
expect "without the updates, the same chain passes" 0 \
    fed-verify --chain -p coord.pub off/rounds
chainfix kind
cp contrib/round-001/a.fed kind/rounds/round-001b.fed
expect_err "an update among the models is named" 1 'round-001b.fed: kind update, not a model' \
    fed-verify --chain -p coord.pub kind/rounds
chainfix extra
cp u7.fed extra/contrib/round-002/junk.fed
expect "an unmerged bad file among the updates is not the chain's" 0 \
    fed-verify --chain -p coord.pub -P roster --updates extra/contrib extra/rounds

# One roster key, one vote: a holder whose two updates were both merged.
mkdir -p eq/rounds eq/contrib/round-000
cp rounds/round-000.fed eq/rounds/
cp contrib/round-000/a.fed contrib/round-000/b.fed eq/contrib/round-000/
gen update rounds/round-000.fed 77 0.01 100 a u.tmp
fed-sign -s a.sec -o eq/contrib/round-000/a2.fed u.tmp
fed-merge --unsigned -m rounds/round-000.fed -o m.tmp eq/contrib/round-000/*.fed
fed-sign -s coord.sec -o eq/rounds/round-001.fed m.tmp
expect_err "two merged updates signed by one roster key" 1 'are both signed by' \
    fed-verify --chain -p coord.pub -P roster --updates eq/contrib eq/rounds

# ---- each round under its own roster bundle (--chain -R) ----
# Roster version 1 holds a, b and c; version 2 rotates c's key to c2.
# Round 0 -> 1 is merged under version 1, round 1 -> 2 under version 2.
fed-sign -G -n -p c2.pub -s c2.sec 2>/dev/null
mkdir -p rr/rosters rr/rounds
fed-roster a=roster/a.pub b=roster/b.pub c=roster/c.pub |
    fed-sign -s coord.sec -o rr/rosters/v1.fed
fed-roster -p rr/rosters/v1.fed c=c2.pub | fed-sign -s coord.sec -o rr/rosters/v2.fed
cp rounds/round-000.fed rr/rounds/
# rrround R V KEYOFC: round R's updates (c signing with KEYOFC), merged
# under roster version V into round R + 1
rrround() {
	R=$(r3 $1) N=$(r3 $(($1 + 1)))
	mkdir -p "rr/contrib/round-$R"
	for h in a b c; do
		gen update "rr/rounds/round-$R.fed" $(($1 * 10 + ${#h})) 0.01 100 "$h" u.tmp
		k=$h.sec
		[ $h = c ] && k=$3
		fed-sign -s "$k" -o "rr/contrib/round-$R/$h.fed" u.tmp
	done
	fed-merge -R "rr/rosters/v$2.fed" -p coord.pub -m "rr/rounds/round-$R.fed" \
	    -o m.tmp "rr/contrib/round-$R"/*.fed &&
	    fed-sign -s coord.sec -o "rr/rounds/round-$N.fed" m.tmp
	rm -f u.tmp m.tmp
}
rrround 0 1 c.sec
rrround 1 2 c2.sec
expect "-R: each round against the roster its merge names" 0 \
    fed-verify --chain -p coord.pub -R rr/rosters --updates rr/contrib rr/rounds
check "-R: round 2's updates found and signed" \
    grep -q '^round 2: .*, 3 merged updates found and signed by the roster$' "$T/out"
expect_err "-P: one key folder for every round misses the rotated key" 1 'round 2' \
    fed-verify --chain -p coord.pub -P roster --updates rr/contrib rr/rounds
expect "-R: one roster file, while every round used it" 0 \
    fed-verify --chain -p coord.pub -R rr/rosters/v1.fed --updates rr/contrib \
    rr/rounds/round-000.fed rr/rounds/round-001.fed
v2=$(digest rr/rosters/v2.fed)
expect_err "-R: the roster a round names is missing" 1 \
    "round-002.fed: round 2: roster ${v2%"${v2#???????????????????}"}... is not in rr/rosters/v1.fed" \
    fed-verify --chain -p coord.pub -R rr/rosters/v1.fed --updates rr/contrib rr/rounds
mkdir -p rn && cp rr/rosters/v2.fed rn/
mkdir -p rm && cp rr/rosters/*.fed rm/
fed-roster c=roster/c.pub | fed-sign -s mallory.sec -o rm/mallory.fed
expect_err "-R: a roster not signed by the coordinator" 1 'rm/mallory.fed' \
    fed-verify --chain -p coord.pub -R rm --updates rr/contrib rr/rounds
expect_err "-R: a round merged under a key folder, not a roster" 1 \
    'round-001.fed: round 1: merged without a roster bundle' \
    fed-verify --chain -p coord.pub -R rr/rosters --updates contrib rounds
# The coordinator's record names version 2, but c signed with its old key.
mkdir -p rw/rounds rw/contrib && cp -R rr/contrib/round-000 rw/contrib/
cp rr/rounds/round-000.fed rr/rounds/round-001.fed rw/rounds/
mkdir -p rw/contrib/round-001
for h in a b c; do
	gen update rr/rounds/round-001.fed $((10 + ${#h})) 0.01 100 "$h" u.tmp
	fed-sign -s "$h.sec" -o "rw/contrib/round-001/$h.fed" u.tmp
done
fed-merge -R rr/rosters/v1.fed -p coord.pub -m rr/rounds/round-001.fed \
    -o m.tmp rw/contrib/round-001/*.fed
forge m.tmp rw/rounds/round-002.fed coord.sec \
    "merge=$(tar -xOf m.tmp manifest.json | jq -c --arg d "$v2" '.merge.roster.digest = $d | .merge')"
rm -f u.tmp m.tmp
expect_err "-R: an update signed by a key its round's roster dropped" 1 \
    'round-002.fed: round 2: merged update rw/contrib/round-001/c.fed' \
    fed-verify --chain -p coord.pub -R rr/rosters --updates rw/contrib rw/rounds
# Round 2 under version 1 after round 1 under version 2: a roster rollback.
mkdir -p rb/rounds && cp rr/rounds/round-000.fed rb/rounds/
cp -R rr/contrib rb/
fed-merge -R rr/rosters/v2.fed -p coord.pub -m rr/rounds/round-000.fed \
    -o m.tmp rr/contrib/round-000/a.fed rr/contrib/round-000/b.fed
fed-sign -s coord.sec -o rb/rounds/round-001.fed m.tmp
rm -rf rb/contrib/round-000 rb/contrib/round-001
mkdir -p rb/contrib/round-000 rb/contrib/round-001
cp rr/contrib/round-000/a.fed rr/contrib/round-000/b.fed rb/contrib/round-000/
for h in a b; do
	gen update rb/rounds/round-001.fed $((20 + ${#h})) 0.01 100 "$h" u.tmp
	fed-sign -s "$h.sec" -o "rb/contrib/round-001/$h.fed" u.tmp
done
fed-merge -R rr/rosters/v1.fed -p coord.pub -m rb/rounds/round-001.fed \
    -o m.tmp rb/contrib/round-001/*.fed
fed-sign -s coord.sec -o rb/rounds/round-002.fed m.tmp
rm -f u.tmp m.tmp
expect_err "-R: a round under an older roster than the round before" 1 \
    'round-002.fed: round 2: merged under roster version 1, older than the round before.s 2' \
    fed-verify --chain -p coord.pub -R rr/rosters --updates rb/contrib rb/rounds
expect_err "-R: a roster whose parent version is missing" 1 \
    'round-001.fed: round 1: roster version 2 .*: its parent .* (version 1) is not in rn' \
    fed-verify --chain -p coord.pub -R rn --updates rb/contrib rb/rounds

# ---- a holder refuses a rolled-back model ----
expect "--min-round: a model at it passes" 0 \
    fed-verify -q -p coord.pub --min-round 3 rounds/round-003.fed
expect_err "--min-round: an older model refused" 1 'round 2, below the minimum round 3' \
    fed-verify -q -p coord.pub --min-round 3 -o got.fed rounds/round-002.fed
check "nothing written" test ! -e got.fed
# The holder's cron job: the state file follows the newest model accepted.
expect "--lineage: a first model starts the state" 0 \
    fed-verify -q -p coord.pub --lineage seen -o got.fed rounds/round-002.fed
check "the state is its round and digest" test "$(cat seen)" = "2 $r2"
expect "--lineage: the same model again passes" 0 \
    fed-verify -q -p coord.pub --lineage seen rounds/round-002.fed
cp seen seen.before
rm got.fed
expect_err "--lineage: an old signed model served again refused" 1 \
    'round-001.fed: round 1 is a rollback: round 2 was accepted before' \
    fed-verify -q -p coord.pub --lineage seen -o got.fed rounds/round-001.fed
check "nothing written" test ! -e got.fed
check "state unchanged" cmp -s seen seen.before
fed-merge -P roster -m rounds/round-001.fed -o m.tmp contrib/round-001/a.fed
fed-sign -s coord.sec -o other2.fed m.tmp
expect_err "--lineage: another model of the same round refused" 1 'another model than' \
    fed-verify -q -p coord.pub --lineage seen other2.fed
fed-merge --unsigned -m other2.fed -o m.tmp "$(gen update other2.fed 5 0.01 100 a u.tmp && echo u.tmp)"
fed-sign -s coord.sec -o other3.fed m.tmp
expect_err "--lineage: a next round off another branch refused" 1 'does not descend from round 2' \
    fed-verify -q -p coord.pub --lineage seen other3.fed
check "state unchanged" cmp -s seen seen.before
expect "--lineage: the next round moves the state on" 0 \
    fed-verify -q -p coord.pub --lineage seen -o - rounds/round-003.fed
check "state moved to round 3" test "$(cut -d' ' -f1 seen)" = 3
expect_err "--lineage: an update is not a model" 1 'kind update: a lineage state follows models only' \
    fed-verify -q -P roster --lineage seen contrib/round-002/a.fed
expect_err "--lineage --chain: a chain that stops short refused" 1 'round 2 is a rollback' \
    fed-verify --chain -q -p coord.pub --lineage seen gap/rounds/round-000.fed \
    gap/rounds/round-001.fed rounds/round-002.fed
expect "--lineage --chain: the chain holding the state passes" 0 \
    fed-verify --chain -q -p coord.pub --lineage seen rounds
printf '3 %s\n' "$(digest other2.fed)" >forked
expect_err "--lineage --chain: a chain without the accepted model refused" 1 'another model than' \
    fed-verify --chain -q -p coord.pub --lineage forked rounds

# ---- usage errors ----
expect "--chain without -p" 2 fed-verify --chain -P roster --updates contrib rounds
expect "--updates without --chain" 2 fed-verify -p coord.pub --updates contrib rounds/round-001.fed
expect "--updates without -P" 2 fed-verify --chain -p coord.pub --updates contrib rounds
expect "--chain -P without --updates" 2 fed-verify --chain -p coord.pub -P roster rounds
expect "--chain -R without --updates" 2 fed-verify --chain -p coord.pub -R rr/rosters rounds
expect "--chain with both -P and -R" 2 \
    fed-verify --chain -p coord.pub -P roster -R rr/rosters --updates contrib rounds
expect "--chain -R: a missing folder" 2 \
    fed-verify --chain -p coord.pub -R nosuch --updates contrib rounds
expect "--chain with -o" 2 fed-verify --chain -p coord.pub -o x.fed rounds
expect "--chain with --parent" 2 fed-verify --chain -p coord.pub --parent rounds/round-000.fed rounds
expect "--chain on standard input" 2 fed-verify --chain -p coord.pub - <rounds/round-000.fed
mkdir empty
expect "--chain on an empty folder" 2 fed-verify --chain -p coord.pub empty
expect "--chain: a folder among bundles" 2 fed-verify --chain -p coord.pub rounds rounds/round-000.fed
expect "--chain: a missing file" 2 fed-verify --chain -p coord.pub rounds/round-009.fed
expect "--min-round not a number" 2 fed-verify -p coord.pub --min-round x rounds/round-000.fed
expect "--min-round past the last round" 2 fed-verify -p coord.pub --min-round $big rounds/round-000.fed
expect "--lineage on standard input" 2 fed-verify -p coord.pub --lineage - rounds/round-000.fed
echo junk >bad-state
expect_err "--lineage: a state file that is not one" 2 'not a lineage state' \
    fed-verify -p coord.pub --lineage bad-state rounds/round-000.fed
expect "--lineage: a folder" 2 fed-verify -p coord.pub --lineage empty rounds/round-000.fed
