# A smoke test of scripts/demo-lang: seven languages of made-up manual
# pages (so that it needs no manpages-XX package), a tiny transformer, two
# rounds; the table, its verdict, the per-round record, the samples, the
# plot, a rerun that makes the same bytes, the iid control, and refusals.
. "$FED_ROOT/tests/sh/lib.sh"

# page LANG N WORDS: manual page N of a language, its words drawn at random
# (seeded by the language and N) from WORDS; about 1500 bytes rendered.
page() {
	mkdir -p "man/$1/man1"
	awk -v lang="$1" -v n="$2" -v words="$3" 'BEGIN {
		nw = split(words, w, " ")
		s = n; for (i = 1; i <= length(lang); i++)
			s = s * 31 + index("abcdefghijklmnopqrstuvwxyz_BR", substr(lang, i, 1))
		srand(s)
		printf ".TH PAGE%d 1\n.SH NAME\npage%d \\- %s\n.SH DESCRIPTION\n", n, n, w[1]
		for (l = 0; l < 24; l++) {
			line = ""
			for (k = 0; k < 9; k++)
				line = line w[1 + int(rand() * nw)] " "
			print line
		}
	}' | gzip -n >"man/$1/man1/page$2.1.gz"
}
words_de="die der und ist Datei wird nicht eine Option mit auf werden Programm"
words_fr="le la les une fichier est pas option avec sur sont programme des"
words_es="el la los una archivo es no opción con sobre son programa del"
words_it="il la gli una file è non opzione con sul sono programma della"
words_pl="plik jest nie opcja z na są program się który dla oraz przez"
words_pt="o a os uma arquivo é não opção com sobre são programa do"
words_ru="файл это не опция с на программа который для если или как"
for n in 1 2 3 4 5 6 7 8 9 10 11; do
	page de $n "$words_de"; page fr $n "$words_fr"; page es $n "$words_es"
	page it $n "$words_it"; page pl $n "$words_pl"
	page pt_BR $n "$words_pt"; page ru $n "$words_ru"
done

FED_DEMO_MAN=$T/man FED_DEMO_DIR=$T/run ARCH=gpt:1-16-2-16 ROUNDS=2 STEPS=6
BATCH=2 TRAINMAX=6000 TESTMAX=1000 DOCMAX=3000 JOBS=2
export FED_DEMO_MAN FED_DEMO_DIR ARCH ROUNDS STEPS BATCH TRAINMAX TESTMAX \
    DOCMAX JOBS
# every round's models and updates stay, so that their bytes can be counted
KEEP=1
export KEEP
demo=$FED_ROOT/scripts/demo-lang

expect "demo-lang runs" 0 sh "$demo"
cp "$T/out" lang.out

# The table: a row per language with five numbers, then the union; its
# verdict agrees with the ratios.
num='[0-9]+\.[0-9]{4}'
rows=$(grep -Ec "^(de|fr|es|it|pl|pt_br|ru) +$num +$num +[0-9]+\.[0-9]{3} +$num +$num\$" lang.out)
check "a table row per language" test "$rows" -eq 7
check "a row for all languages" grep -Eq "^all +$num +$num +[0-9]+\.[0-9]{3}\$" lang.out
over=$(awk '/^(de|fr|es|it|pl|pt_br|ru) / && $4 + 0 > 1.05' lang.out | wc -l)
if [ "$over" -gt 0 ]; then verdict='shared is NOT within 5%'; else verdict='shared is within 5%'; fi
check "the verdict follows the ratios" grep -q "^$verdict of pooled on every language\$" lang.out
check "the union line" grep -Eq "^shared on all languages: $num bits/byte; the best holder alone: $num\$" lang.out

# rounds.dat: round 0 and the last (EVERY is 10), seven languages and the
# union each.
check "a record per evaluated round" test "$(awk 'NF == 9 { printf "%s ", $1 }' run/rounds.dat)" = "0 2 "
check "the record ends at the shared model" awk -v a="$(tail -n 1 run/rounds.dat | cut -f9)" \
    -v b="$(grep '^all ' lang.out | awk '{ print $2 }')" 'BEGIN { exit !(a == b + 0) }'

check "samples in every language" test "$(grep -Ec '^\[(de|fr|es|it|pl|pt_br|ru)\]$' lang.out)" -eq 7
if command -v gnuplot >/dev/null; then
	check "svg plot" grep -q '<svg' run/bpb.svg
fi

# Every holder's update was trained from its own language only.
check "holders are languages" test -f run/hold-pt_br.fed
check "shared model verifies" fed-verify -n -q run/shared.fed
check "holders share their moments" sh -c \
    'tar xOf run/shared.fed manifest.json | jq -e ".moments.step == 12"'
check "the pooled model trains with the same optimizer" sh -c \
    'tar xOf run/pool-update.fed manifest.json | jq -e ".train.slices == 7"'

# The bytes: a row per holder whose totals are the sizes of the updates
# it uploaded and of the models it downloaded (rounds 0 and 1, less the
# outer momentum in round 1's state.safetensors, which stays with
# fed-merge), and whose ratio is data-parallel training's bytes (12 steps
# of one F32 gradient) over the bytes sent, and both ways its bytes up
# and down over those sent and received; the final lines give the worst
# holder's ratios.
brow='^hold-(de|fr|es|it|pl|pt_br|ru) +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+\.[0-9]{2} +[0-9]+\.[0-9]{2}$'
check "a byte row per holder" test "$(grep -Ec "$brow" lang.out)" -eq 7
sent=$(cat run/rounds/update-*-pl.fed | wc -c)
stb=$(tar xOf run/rounds/round-1.fed state.safetensors | wc -c)
check "round 1 has the outer momentum" test "$stb" -gt 0
recv=$(($(cat run/rounds/round-0.fed run/rounds/round-1.fed | wc -c) - 512 -
    (stb + 511) / 512 * 512))
check "sent is the updates' bytes" test "$(awk '$1 == "hold-pl" { print $4 }' lang.out)" = "$sent"
check "received is the models' bytes" test "$(awk '$1 == "hold-pl" { print $5 }' lang.out)" = "$recv"
check "sent per round is sent over the rounds" awk -v s="$sent" \
    -v r="$(awk '$1 == "hold-pl" { print $2 }' lang.out)" 'BEGIN { exit !(r == s / 2) }'
st() { tar xOf run/rounds/round-0.fed tensors.safetensors; }
hdr=$(st | head -c 8 | od -An -tu8 | tr -d ' ')
wb=$(($(st | wc -c) - 8 - hdr))
check "the gradient is the model's F32 weights" \
    grep -q "^gradient of $wb bytes up and one down per step" lang.out
dp=$((12 * wb))
check "data-parallel row" grep -Eq "^data-par +$((6 * wb)) +$((6 * wb)) +$dp +$dp\$" lang.out
check "ratio is dp over sent" test "$(awk '$1 == "hold-pl" { print $6 }' lang.out)" = \
    "$(awk -v d="$dp" -v s="$sent" 'BEGIN { printf "%.2f", d / s }')"
check "the final line gives the ratio" grep -Eq \
    "^data-parallel training would send $dp \(parameter server\): ratio $(awk '$1 == "hold-pl" { print $6 }' lang.out)\$" lang.out
check "both ways is dp up and down over sent and received" \
    test "$(awk '$1 == "hold-pl" { print $7 }' lang.out)" = \
    "$(awk -v d="$dp" -v s="$sent" -v r="$recv" 'BEGIN { printf "%.2f", 2 * d / (s + r) }')"
check "the final line gives the ratio both ways" grep -Eq \
    "^sent and received, at most [0-9]+ bytes; data-parallel $((2 * dp)): ratio both ways [0-9]+\.[0-9]{2}\$" lang.out
check "the bytes record" test "$(wc -l <run/bytes.dat)" -eq 14

# A rerun replaces its own directory and makes the same model bytes.
cp run/shared.fed shared-1.fed
expect "demo-lang reruns in its own directory" 0 sh "$demo"
check "rerun makes the same model" cmp -s shared-1.fed run/shared.fed

# The control: the same pages dealt at random over seven holders.
expect "HOLDERS=iid runs" 0 env HOLDERS=iid sh "$demo"
cp "$T/out" iid.out
rows=$(grep -Ec "^(de|fr|es|it|pl|pt_br|ru) +$num +$num +[0-9]+\.[0-9]{3} +- +-\$" iid.out)
check "iid: a row per language, no holder's own language" test "$rows" -eq 7
check "iid: holders by number" test -f run/hold-006.fed
check "iid: pooled model unchanged" test "$(grep '^all ' lang.out | awk '{ print $3 }')" = \
    "$(grep '^all ' iid.out | awk '{ print $3 }')"

# Longer-round knobs: own moments, top-k with error feedback, no holders
# alone, the pooled model of the first run reused.
cp run/pooled.fed pooled-1.fed
expect "top-k with error feedback runs" 0 env MOMENTS=0 ENCODE=topk:0.05 \
    RESIDUAL=1 ALONE=0 POOLED="$T/pooled-1.fed" sh "$demo"
cp "$T/out" topk.out
check "topk: no holder alone" test "$(grep -Ec "^(de|fr|es|it|pl|pt_br|ru) +$num +$num +[0-9]+\.[0-9]{3} +- +-\$" topk.out)" -eq 7
check "topk: the pooled model reused" test "$(grep '^all ' lang.out | awk '{ print $3 }')" = \
    "$(grep '^all ' topk.out | awk '{ print $3 }')"
check "topk: a residual per holder" test -f run/rounds/residual-ru.st
check "topk: updates are encoded" sh -c \
    'tar xOf run/rounds/update-2-de.fed manifest.json | jq -e ".encoding.scheme == \"topk\""'
check "topk: fewer bytes sent" test "$(awk '$1 == "hold-pl" { print $4 }' topk.out)" -lt "$sent"
check "topk: the ratio is dp over sent" test "$(awk '$1 == "hold-pl" { print $6 }' topk.out)" = \
    "$(awk -v d="$dp" -v s="$(cat run/rounds/update-*-pl.fed | wc -c)" 'BEGIN { printf "%.2f", d / s }')"
# The int8 download (fed-merge --download): the holders' copy rebuilt and
# compared every round by the demo; what they received, counted.
expect "DOWNLOAD=int8 runs" 0 env MOMENTS=0 ENCODE=int8 RESIDUAL=1 DOWNLOAD=int8 \
    ALONE=0 POOLED="$T/pooled-1.fed" sh "$demo"
cp "$T/out" down.out
check "download: a step per round" test -f run/rounds/step-2.fed
check "download: the server's residual" test -f run/rounds/server-residual.st
check "download: the first round receives the model, the second its step" \
    test "$(awk '$1 == 2 && $2 == "de" { print $4 }' run/bytes.dat)" -eq \
    "$(wc -c <run/rounds/step-1.fed)"
check "download: fewer bytes received" test \
    "$(awk '$1 == "hold-de" { print $5 }' down.out)" -lt \
    "$(awk '$1 == "hold-de" { print $5 }' topk.out)"
# Gradient uploads (fed-train --gradient): one step a round, each upload
# expanded by the coordinator (--expand); the bytes sent are the uploads'.
expect "GRADIENT=1 runs" 0 env GRADIENT=1 ROUNDS=12 STEPS=1 VBATCH=0 \
    ENCODE=topk8:0.05 RESIDUAL=1 ALONE=0 POOLED="$T/pooled-1.fed" sh "$demo"
cp "$T/out" grad.out
check "gradient: uploads are topk8 gradients" sh -c \
    'tar xOf run/rounds/upload-2-de.fed manifest.json |
     jq -e ".gradient == true and .encoding.scheme == \"topk8\""'
check "gradient: the updates merged are their expansions" sh -c \
    'tar xOf run/rounds/update-2-de.fed manifest.json |
     jq -e ".gradient | startswith(\"sha256:\")"'
check "gradient: the bytes sent are the uploads'" test \
    "$(awk '$1 == 2 && $2 == "de" { print $3 }' run/bytes.dat)" -eq \
    "$(wc -c <run/rounds/upload-2-de.fed)"
expect_err "GRADIENT=1 needs one step" 2 "STEPS=1" env GRADIENT=1 sh "$demo"
expect "DOWNLOAD=int4 is a usage error" 2 env DOWNLOAD=int4 sh "$demo"
expect "RESIDUAL=1 needs int8 or topk" 2 env RESIDUAL=1 ENCODE=fp16 sh "$demo"
expect "ALONE=2 is a usage error" 2 env ALONE=2 sh "$demo"
expect_err "RULE=median is a usage error" 2 'RULE=nesterov|fedadam|fedyogi' \
    env RULE=median sh "$demo"
expect_err "a missing pooled model" 1 'no pooled model' \
    env POOLED="$T/none.fed" sh "$demo"

# Refusals: a bad HOLDERS, a directory it did not make, missing pages.
expect "HOLDERS=bad is a usage error" 2 env HOLDERS=bad sh "$demo"
mkdir other && : >other/precious
expect_err "refuses a foreign directory" 1 'not a demo-lang directory' \
    env FED_DEMO_DIR="$T/other" sh "$demo"
check "foreign directory untouched" test -f other/precious
rm -r man/ru
expect_err "missing pages" 1 'no manual pages' sh "$demo"
