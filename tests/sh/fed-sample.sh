# fed-sample: text from a gpt model, deterministic by seed; greedy
# sampling of a model trained on a repeating text repeats it; rejected
# models (1); usage errors (2).
. "$FED_ROOT/tests/sh/lib.sh"

yes 'abcdefgh' | head -c 3000 >abc.txt
fed-shard -q -f text -o abc abc.txt
fed-init -a gpt:1-32-2-16 -s 1 -o m0.fed
fed-train -m m0.fed -d abc-000.fed --steps 150 -b 8 -l 0.01 --warmup 5 -o u.fed
fed-merge --unsigned -m m0.fed -o m1.fed u.fed

expect "sample: runs" 0 fed-sample -m m1.fed -p abc -n 20 -t 0
check "sample: greedy continues the text" sh -c \
    "tr '\\n' . <out | grep -q '^abcdefgh.abcdefgh.abcde'"
expect "sample: model on stdin, to a file" 0 sh -c \
    'fed-sample -m - -n 50 -s 4 -o s1.txt < m1.fed'
fed-sample -m m1.fed -n 50 -s 4 -o s2.txt
check "sample: same seed, same text" cmp s1.txt s2.txt
check "sample: prompt, bytes and a newline" sh -c \
    'fed-sample -m m1.fed -p xy -n 7 | wc -c | grep -qx 10'
fed-sample -m m0.fed -n 50 -s 5 -t 1.5 >s3.txt
fed-sample -m m0.fed -n 50 -s 6 -t 1.5 >s4.txt
check "sample: another seed, other text" sh -c '! cmp -s s3.txt s4.txt'

fed-init -a mlp:2-4-2 -o mlp.fed
expect_err "sample: not a language model" 1 "not a language model" \
    fed-sample -m mlp.fed
expect_err "sample: not a model bundle" 1 "not a model bundle" \
    fed-sample -m abc-000.fed
printf 'junk' >junk.fed
expect "sample: not a bundle" 1 fed-sample -m junk.fed
expect "sample: missing model" 2 fed-sample -m nosuch.fed
expect "sample: a directory as model" 2 fed-sample -m .
expect "sample: no model" 2 fed-sample -n 5
expect "sample: bad byte count" 2 fed-sample -m m1.fed -n 0
expect "sample: bad temperature" 2 fed-sample -m m1.fed -t -1
expect "sample: operand" 2 fed-sample -m m1.fed extra
expect "sample: help" 0 fed-sample -h
check "sample: version" sh -c 'fed-sample --version | grep -qx "fed-sample 0.1.0"'
