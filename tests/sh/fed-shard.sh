# fed-shard: every row in exactly one shard, bit for bit (Fashion-MNIST
# t10k and a CSV file); same seed same bytes; Dirichlet skew measured from
# the manifests; rejected input (exit 1) and usage errors (exit 2).
. "$FED_ROOT/tests/sh/lib.sh"

D=/usr/share/datasets/fashion-mnist
IMG=$D/t10k-images-idx3-ubyte.gz
LAB=$D/t10k-labels-idx1-ubyte.gz

# rows BUNDLE...: one line per sample, "label hex-of-x" (U8) or
# "label f f f ..." (F32), from data.safetensors, parsed with od and jq.
rows() {
	for b in "$@"; do
		tar -xOf "$b" data.safetensors >"$T/st" || return 1
		n=$(od -An -tu8 -N8 "$T/st" | tr -d ' ')
		tail -c +9 "$T/st" | head -c "$n" >"$T/h.json"
		set -- $(jq -r '[.x.dtype, .x.shape[1], .x.data_offsets[],
		    .y.data_offsets[]] | @tsv' "$T/h.json")
		if [ "$1" = U8 ]; then fmt="-tx1 -w$2"; else fmt="-tf4 -w$(($2 * 4))"; fi
		# shellcheck disable=SC2086
		tail -c +$((9 + n + $3)) "$T/st" | head -c $(($4 - $3)) |
		    od -An -v $fmt | sed 's/^ *//; s/ \{1,\}/ /g' >"$T/x"
		tail -c +$((9 + n + $5)) "$T/st" | head -c $(($6 - $5)) |
		    od -An -v -td4 -w4 | tr -d ' ' >"$T/y"
		paste -d' ' "$T/y" "$T/x"
	done
}

# mean_tv BUNDLE...: mean total variation distance of the shards' label
# mix (train and test parts together) to the whole set's.
mean_tv() {
	for b in "$@"; do tar -xOf "$b" manifest.json; done | jq -s '
	    group_by(.shard.index) | map(map(.class_counts) | transpose |
	        map(add)) as $c |
	    ($c | transpose | map(add)) as $g | ($g | add) as $N |
	    [$c[] | add as $n | [range(0; length) as $i |
	        (.[$i] / $n - $g[$i] / $N) | if . < 0 then -. else . end] |
	        add / 2] | add / length'
}

# ---- Fashion-MNIST t10k, ten Dirichlet shards with test parts ----
mkdir a b c
expect "idx: dirichlet shards" 0 fed-shard -q -n 10 -p dirichlet:0.5 \
    -s 1 -t 0.2 -o a/s "$IMG" "$LAB"
check "idx: ten shards and ten test parts" \
    test "$(ls a | grep -c '^s-00[0-9]\.fed$')$(ls a | grep -c '\.test\.fed$')" = 1010
check "idx: nothing else written" test "$(ls a | wc -l)" -eq 20
rows a/*.fed | sort >"$T/got"
zcat "$LAB" | tail -c +9 | od -An -v -tu1 -w1 | tr -d ' ' >"$T/ly"
zcat "$IMG" | tail -c +17 | od -An -v -tx1 -w784 | sed 's/^ *//' >"$T/lx"
paste -d' ' "$T/ly" "$T/lx" | sort >"$T/want"
check "idx: 10000 rows in" test "$(wc -l <"$T/want")" -eq 10000
check "idx: every row in exactly one part, bit for bit" cmp "$T/got" "$T/want"
check "idx: manifests add up to the input" sh -c '
    for f in a/*.fed; do tar -xOf "$f" manifest.json; done | jq -s -e "
        (map(.samples) | add) == 10000 and
        (map(.class_counts) | transpose | map(add)) == [range(10)|1000] and
        all(.[]; .kind == \"data\" and .features == 784 and
            .classes == 10 and .seed == 1 and .shard.count == 10 and
            .partition.scheme == \"dirichlet\" and .partition.alpha == 0.5
            and (.x_scale - 1/255 | fabs) < 1e-12)"'
sum_img=$(sha256sum <"$IMG" | cut -c1-64)
check "idx: manifest hashes the input as read" sh -c "
    tar -xOf a/s-004.test.fed manifest.json |
    jq -e '.inputs[0].sha256 == \"$sum_img\" and
        .inputs[0].name == \"t10k-images-idx3-ubyte.gz\" and
        .shard.part == \"test\" and .shard.index == 4'"
check "idx: test part a fifth of each shard" sh -c '
    for f in a/*.fed; do tar -xOf "$f" manifest.json; done | jq -s -e "
        group_by(.shard.index) | all(.[]; (map(.samples) | add) as \$n |
        (map(select(.shard.part == \"test\").samples) | add) as \$t |
        (\$t - 0.2 * \$n | fabs) <= 0.5)"'
expect "idx: bundles verify" 0 fed-verify -n -q a/s-000.fed a/s-009.test.fed

expect "idx: same seed again" 0 fed-shard -q -n 10 -p dirichlet:0.5 -s 1 \
    -t 0.2 -o b/s "$IMG" "$LAB"
check "idx: same seed, same bytes" sh -c \
    'for f in a/*.fed; do cmp "$f" "b/${f#a/}" || exit 1; done'
expect "idx: other seed" 0 fed-shard -q -n 10 -p dirichlet:0.5 -s 2 \
    -t 0.2 -o c/s "$IMG" "$LAB"
counts() { for f in "$@"; do tar -xOf "$f" manifest.json | jq -c .class_counts; done; }
check "idx: other seed, other split" test "$(counts a/*.fed)" != "$(counts c/*.fed)"

# ---- skew, measured ----
mkdir d01 d100 iid
fed-shard -q -n 10 -p dirichlet:0.1 -o d01/s "$IMG" "$LAB"
fed-shard -q -n 10 -p dirichlet:100 -o d100/s "$IMG" "$LAB"
fed-shard -q -n 10 -p iid -o iid/s "$IMG" "$LAB"
tv01=$(mean_tv d01/*.fed) tv100=$(mean_tv d100/*.fed) tviid=$(mean_tv iid/*.fed)
echo "# mean TV to the global label mix: dirichlet:0.1 $tv01, dirichlet:100 $tv100, iid $tviid"
check "skew: dirichlet:0.1 far from the global mix (TV > 0.4)" \
    awk "BEGIN { exit !($tv01 > 0.4) }"
check "skew: dirichlet:100 close to it (TV < 0.05)" \
    awk "BEGIN { exit !($tv100 < 0.05) }"
check "skew: iid close to it (TV < 0.05)" awk "BEGIN { exit !($tviid < 0.05) }"
mkdir k2
expect "classes:2" 0 fed-shard -q -n 10 -p classes:2 -o k2/s "$IMG" "$LAB"
check "classes:2: two classes per shard" sh -c '
    for f in k2/*.fed; do tar -xOf "$f" manifest.json; done |
    jq -s -e "all(.[]; [.class_counts[] | select(. > 0)] | length <= 2)"'
mkdir q
expect "quantity skew" 0 fed-shard -q -n 8 --quantity lognormal:1.5 \
    --min-size 50 -o q/s "$IMG" "$LAB"
check "quantity: sizes spread, minimum kept" sh -c '
    for f in q/*.fed; do tar -xOf "$f" manifest.json; done |
    jq -s -e "map(.samples) | (max > 3 * min) and min >= 50"'

# ---- summary ----
mkdir sum
fed-shard -n 3 -p dirichlet:0.3 -o sum/s "$IMG" "$LAB" 2>"$T/summary.txt"
check "summary: a header and a row per shard" sh -c \
    "grep -q '^shard' '$T/summary.txt' && test \$(grep -c '^00[0-2] ' '$T/summary.txt') -eq 3"
fed-shard -q -n 3 -o sum/s "$IMG" "$LAB" 2>"$T/summary.txt"
check "summary: -q silences it" test ! -s "$T/summary.txt"

# ---- CSV ----
awk 'BEGIN {
	print "f1,site,f2,label,\"f 3\""
	split("India,Kenya,New York,Peru", s, ",")
	for (i = 0; i < 600; i++)
		printf "%s,\"%s\",%s,%d,%s\n", (i % 17) * 0.25 - 2, s[i % 4 + 1],
		    (i % 5) * 0.125, (i * 7) % 3, -i
}' >t.csv
mkdir col
expect "csv: column partition" 0 fed-shard -q -p column:site -t 0.25 \
    -o col/c t.csv
check "csv: shards named after the key" test -f col/c-india.fed -a \
    -f col/c-new-york.fed -a -f col/c-peru.test.fed
check "csv: shard name in the manifest" sh -c \
    'tar -xOf col/c-new-york.fed manifest.json |
     jq -e ".shard.name == \"New York\" and .x_scale == 1 and
         .features == 3 and .partition.column == \"site\""'
rows col/*.fed | sort >"$T/got"
awk -F, 'NR > 1 { print $4, $1, $3, $5 }' t.csv | sort >"$T/want"
check "csv: every row in exactly one part, bit for bit" cmp "$T/got" "$T/want"
mkdir ci
expect "csv: iid from stdin" 0 sh -c 'fed-shard -q -n 4 --key site -o ci/c - <t.csv'
rows ci/*.fed | sort >"$T/got"
check "csv: iid keeps every row" cmp "$T/got" "$T/want"
check "csv: stdin named in the manifest" sh -c \
    'tar -xOf ci/c-000.fed manifest.json | jq -e ".inputs[0].name == \"stdin\""'
gzip -c t.csv >t.csv.gz
mkdir cz
expect "csv: gzip input" 0 fed-shard -q -n 4 --key site -o cz/c t.csv.gz
check "csv: gzip input gives the same data" sh -c \
    "[ \"\$(tar -xOf ci/c-002.fed data.safetensors | sha256sum)\" = \
       \"\$(tar -xOf cz/c-002.fed data.safetensors | sha256sum)\" ]"
check "csv: the compressed file is hashed" sh -c \
    "tar -xOf cz/c-000.fed manifest.json | jq -r '.inputs[0].sha256' |
     grep -qx \"\$(sha256sum <t.csv.gz | cut -c1-64)\""
{ cat t.csv; echo '1,India,2'; echo '1,India,x,0,2'; } >bad.csv
mkdir sk
expect_err "csv: ragged row rejected" 1 "line 602: 3 fields" \
    fed-shard -q --key site -o sk/c bad.csv
check "csv: nothing written on rejection" test -z "$(ls sk)"
expect_err "csv: --skip-bad reports the count" 0 \
    "skipped 2 bad rows (the first on line 602)" \
    fed-shard -q --skip-bad --key site -o sk/c bad.csv
expect_err "csv: unknown label column" 1 "no column cls" \
    fed-shard --label cls -o sk/c t.csv
expect_err "csv: unknown key column" 1 "no column region" \
    fed-shard -p column:region -o sk/c t.csv
expect_err "csv: non-numeric" 1 "line 2: column site: India is not a number" \
    fed-shard -o sk/c t.csv

# ---- rejected IDX input ----
zcat "$IMG" | head -c 100000 >trunc-img
printf 'ZZZZ\0\0\0\1x' >magic
zcat "$D/train-labels-idx1-ubyte.gz" >train-lab
mkdir r
expect_err "idx: truncated images" 1 "truncated" fed-shard -o r/s trunc-img "$LAB"
expect_err "idx: wrong magic" 1 "magic" fed-shard -o r/s magic "$LAB"
expect_err "idx: label count" 1 "60000 labels for 10000 images" \
    fed-shard -o r/s "$IMG" train-lab
expect_err "idx: labels with images' shape" 1 "one dimension" \
    fed-shard -o r/s "$IMG" "$IMG"
expect_err "idx: truncated gzip" 1 "truncated" sh -c \
    "head -c 30000 '$IMG' | fed-shard -o r/s - '$LAB'"
expect_err "idx: classes:20 of 10" 1 "10 classes" \
    fed-shard -p classes:20 -o r/s "$IMG" "$LAB"
expect_err "idx: min-size too large" 1 "cannot give" \
    fed-shard -n 10 --min-size 2000 -o r/s "$IMG" "$LAB"
check "idx: nothing written on rejection" test -z "$(ls r)"

# ---- failures leave nothing behind ----
mkdir w w/s-003.fed
expect "write: a target that cannot be replaced" 2 \
    fed-shard -q -n 5 -o w/s "$IMG" "$LAB"
check "write: no shard left behind" test "$(ls w)" = s-003.fed
expect_err "write: missing directory" 2 "No such file" \
    fed-shard -q -n 2 -o /nonexistent/s "$IMG" "$LAB"
expect_err "missing input" 2 "No such file" fed-shard -o r/s /nonexistent.csv
expect_err "missing labels" 2 "nolabels: No such file" \
    fed-shard -o r/s "$IMG" nolabels
mkdir adir
expect_err "a directory as input" 2 "adir: Is a directory" fed-shard -o r/s adir
expect_err "a directory as labels" 2 "adir: Is a directory" \
    fed-shard -o r/s "$IMG" adir
check "nothing written on failure" test -z "$(ls r)"

# ---- text: shard names from inputs, written all or none ----
mkdir -p p1/doc p2/doc tx/aa tx/bb w2/t-bb.fed
echo one >p1/doc/a.txt
echo two >p2/doc/a.txt
echo three >tx/aa/a.txt
echo four >tx/bb/a.txt
expect_err "text: two inputs, one shard name" 1 "both give shard name doc" \
    fed-shard -q -f text -p file -o r/t p1/doc p2/doc
expect "text: a target that cannot be replaced" 2 \
    fed-shard -q -f text -p file -o w2/t tx/aa tx/bb
check "text: no part left behind" test "$(ls w2)" = t-bb.fed

# ---- usage errors ----
expect "usage: no -o" 2 fed-shard "$IMG" "$LAB"
expect "usage: no input" 2 fed-shard -o r/s
expect "usage: three operands" 2 fed-shard -o r/s a b c
expect "usage: -n 0" 2 fed-shard -n 0 -o r/s "$IMG" "$LAB"
expect "usage: bad partition" 2 fed-shard -p dirichlet:-1 -o r/s "$IMG" "$LAB"
expect "usage: unknown partition" 2 fed-shard -p random -o r/s "$IMG" "$LAB"
expect "usage: -t 1" 2 fed-shard -t 1 -o r/s "$IMG" "$LAB"
expect "usage: bad quantity" 2 fed-shard --quantity zipf:2 -o r/s t.csv
expect "usage: -f bogus" 2 fed-shard -f bogus -o r/s t.csv
expect "usage: csv with labels" 2 fed-shard -f csv -o r/s t.csv t.csv
expect "usage: --key on idx" 2 fed-shard --key site -o r/s "$IMG" "$LAB"
expect "usage: column with -n" 2 fed-shard -n 3 -p column:site -o r/s t.csv
expect "usage: unknown option" 2 fed-shard --bogus -o r/s t.csv
expect "usage: both inputs stdin" 2 fed-shard -o r/s - -
expect "--help" 0 fed-shard --help
check "--version" sh -c 'fed-shard --version | grep -qx "fed-shard 0.1.0"'
