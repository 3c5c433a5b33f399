# fed-eval: loss and accuracy per data bundle, in total and per class, as
# a table and as JSON; updates applied; rejected inputs (1); usage (2).
. "$FED_ROOT/tests/sh/lib.sh"

printf 'a,b,label\n0.5,1,0\n1,0.2,1\n0.3,0.3,2\n1,1,1\n0,0,0\n0.1,0.9,2\n' >t.csv
printf 'a,b,c,label\n1,2,3,0\n3,2,1,1\n' >w.csv
fed-shard -q -f csv --label label -n 1 -o tiny t.csv
fed-shard -q -f csv --label label -n 1 -o wide w.csv
fed-init -a softmax:2-3 -s 1 -o m.fed
fed-init -a softmax:2-3 -s 2 -o other.fed
fed-train -m m.fed -d tiny-000.fed -e 50 -o u.fed

expect "eval: model" 0 fed-eval -m m.fed tiny-000.fed
check "eval: table header" grep -q "^data .*samples .*loss .*accuracy" "$T/out"
check "eval: a row per bundle and total" sh -c \
    "grep -c '^tiny-000.fed \|^total ' '$T/out' | grep -qx 2"
check "eval: per-class table" grep -q "^class .*samples .*accuracy" "$T/out"
expect "eval: -d and operands" 0 fed-eval -m m.fed -d tiny-000.fed tiny-000.fed
check "eval: total counts both" grep -q "^total  *12 " "$T/out"

expect "eval: json" 0 fed-eval --json -m m.fed -u u.fed -d tiny-000.fed
cp "$T/out" e.json
check "eval: json samples and classes" jq -e \
    '.total.samples == 6 and (.total.per_class | length) == 3 and .data[0].samples == 6' e.json
check "eval: json names model and update" sh -c \
    'jq -r .update e.json | grep -q "^sha256:" && jq -r .model e.json | grep -q "^sha256:"'
check "eval: json per-class sums to the total" jq -e \
    '([.total.per_class[].samples] | add) == .total.samples' e.json
fed-eval --json -m m.fed tiny-000.fed >before.json
check "eval: the update lowers the loss" sh -c \
    "test \$(jq '.total.loss < $(jq .total.loss before.json)' e.json) = true"
check "eval: json without update has null" jq -e '.update == null' before.json
expect "eval: model on stdin" 0 sh -c 'fed-eval -m - tiny-000.fed < m.fed'

expect_err "eval: update of another model" 1 "parent" \
    fed-eval -m other.fed -u u.fed tiny-000.fed
expect_err "eval: update given as model" 1 "not a model bundle" \
    fed-eval -m u.fed tiny-000.fed
expect_err "eval: model given as update" 1 "not an update bundle" \
    fed-eval -m m.fed -u m.fed tiny-000.fed
expect_err "eval: data that does not fit" 1 "2 inputs.*3 features" \
    fed-eval -m m.fed wide-000.fed
expect_err "eval: model given as data" 1 "not a data bundle" \
    fed-eval -m m.fed m.fed
expect "eval: a bad operand among good ones" 1 \
    fed-eval -m m.fed tiny-000.fed wide-000.fed
check "eval: the good one still reported" grep -q "^tiny-000.fed " "$T/out"
head -c 2000 tiny-000.fed >cut.fed
expect "eval: truncated data" 1 fed-eval -m m.fed cut.fed
expect "eval: missing file" 2 fed-eval -m m.fed nosuch.fed
expect "eval: a directory as data" 2 fed-eval -m m.fed .
expect "eval: a directory as model" 2 fed-eval -m . nosuch.fed

expect "eval: no arguments" 2 fed-eval
expect "eval: no data" 2 fed-eval -m m.fed
expect "eval: stdin twice" 2 fed-eval -m - -
expect "eval: unknown option" 2 fed-eval --bogus
expect "eval: help" 0 fed-eval --help
check "eval: help is the synopsis" grep -q "usage: fed-eval" "$T/out"
expect "eval: version" 0 fed-eval --version
check "eval: version text" grep -qx "fed-eval 0.1.0" "$T/out"
