# fed-train: updates from a model and a data bundle; determinism by seed;
# learning on a Fashion-MNIST subset; rejected inputs (1); usage (2).
. "$FED_ROOT/tests/sh/lib.sh"

FM=/usr/share/datasets/fashion-mnist
printf 'a,b,label\n0.5,1,0\n1,0.2,1\n0.3,0.3,2\n1,1,1\n0,0,0\n0.1,0.9,2\n' >t.csv
fed-shard -q -f csv --label label -n 1 -o tiny t.csv
fed-init -a softmax:2-3 -s 1 -o soft.fed
fed-init -a mlp:2-4-3 -s 1 -o mlp.fed
fed-init -a softmax:3-3 -o wide.fed
fed-init -a softmax:2-4 -o four.fed

expect "train: softmax" 0 fed-train -m soft.fed -d tiny-000.fed -e 3 -o u.fed
check "train: update kind" sh -c \
    'tar xOf u.fed manifest.json | jq -e ".kind == \"update\""'
check "train: parent is the model's digest" sh -c \
    'test "$(tar xOf u.fed manifest.json | jq -r .parent)" = \
    "sha256:$(tar xOf soft.fed manifest.json | sha256sum | cut -c1-64)"'
check "train: samples, steps, round" sh -c \
    'tar xOf u.fed manifest.json | jq -e ".samples == 6 and .steps == 3 and .round == 0"'
check "train: hyperparameters recorded" sh -c \
    'tar xOf u.fed manifest.json | jq -e ".train.lr == 0.05 and .train.batch == 32 and .train.optimizer == \"sgd\" and .train.momentum == 0.9"'
check "train: losses recorded" sh -c \
    'tar xOf u.fed manifest.json | jq -e ".stats.loss_start > 0 and .stats.loss_end > 0"'
check "train: contributor null by default" sh -c \
    'tar xOf u.fed manifest.json | jq -e ".contributor == null"'
check "train: fed-verify accepts the update" fed-verify -n -q u.fed

expect "train: model on stdin, update on stdout" 0 \
    sh -c 'fed-train -m - -d tiny-000.fed -e 3 < soft.fed > u2.fed'
check "train: same inputs and seed, same bytes" cmp u.fed u2.fed
fed-train -m soft.fed -d tiny-000.fed -e 3 -s 9 -o u3.fed
check "train: another seed, another update" sh -c '! cmp -s u.fed u3.fed'
expect "train: mlp, adam, steps, name" 0 fed-train -m mlp.fed \
    -d tiny-000.fed --steps 5 -b 2 --optimizer adam -l 0.01 --name lab-7 -o u4.fed
check "train: steps and contributor" sh -c \
    'tar xOf u4.fed manifest.json | jq -e ".steps == 5 and .contributor == \"lab-7\" and .train.max_steps == 5"'
expect "train: adamw with weight decay" 0 fed-train -m mlp.fed \
    -d tiny-000.fed --optimizer adamw --weight-decay 0.01 -o u5.fed
expect "train: fedprox, constant schedule" 0 fed-train -m mlp.fed \
    -d tiny-000.fed --prox 0.1 --schedule constant --momentum 0 -o u6.fed

# learning really happens: 6000 images, 2 epochs, then the test set
if [ -r $FM/train-images-idx3-ubyte.gz ]; then
	fed-shard -q -f idx -n 10 -p iid -o fm $FM/train-images-idx3-ubyte.gz \
	    $FM/train-labels-idx1-ubyte.gz
	fed-shard -q -f idx -n 1 -p iid -o fmt $FM/t10k-images-idx3-ubyte.gz \
	    $FM/t10k-labels-idx1-ubyte.gz
	fed-init -a mlp:784-200-200-10 -s 1 -o big.fed
	expect "train: fashion-mnist subset" 0 \
	    fed-train -m big.fed -d fm-000.fed -e 2 -o fmu.fed
	acc=$(fed-eval --json -m big.fed -u fmu.fed fmt-000.fed | jq .total.accuracy)
	check "train: test accuracy $acc > 0.75" awk "BEGIN { exit !($acc > 0.75) }"
	rm -f fm-0*.fed
fi

expect_err "train: input width mismatch" 1 "3 inputs.*2 features" \
    fed-train -m wide.fed -d tiny-000.fed -o x.fed
expect_err "train: class count mismatch" 1 "4 classes.*3" \
    fed-train -m four.fed -d tiny-000.fed -o x.fed
expect_err "train: data given as model" 1 "not a model bundle" \
    fed-train -m tiny-000.fed -d tiny-000.fed -o x.fed
expect_err "train: model given as data" 1 "not a data bundle" \
    fed-train -m soft.fed -d soft.fed -o x.fed
head -c 3000 soft.fed >cut.fed
expect "train: truncated model" 1 fed-train -m cut.fed -d tiny-000.fed -o x.fed
check "train: nothing written on failure" test ! -e x.fed
expect "train: missing file" 2 fed-train -m nosuch.fed -d tiny-000.fed -o x.fed

expect "train: no arguments" 2 fed-train
expect "train: no data" 2 fed-train -m soft.fed
expect_err "train: bad optimizer" 2 "optimizer" \
    fed-train -m soft.fed -d tiny-000.fed --optimizer rmsprop
expect_err "train: epochs and steps" 2 "exclude" \
    fed-train -m soft.fed -d tiny-000.fed -e 1 --steps 3
expect "train: batch 0" 2 fed-train -m soft.fed -d tiny-000.fed -b 0
expect "train: negative lr" 2 fed-train -m soft.fed -d tiny-000.fed -l -1
expect "train: both on stdin" 2 fed-train -m - -d -
expect "train: operand" 2 fed-train -m soft.fed -d tiny-000.fed extra
expect "train: unknown option" 2 fed-train --bogus
expect "train: help" 0 fed-train -h
check "train: help is the synopsis" grep -q "usage: fed-train" "$T/out"
expect "train: version" 0 fed-train --version
check "train: version text" grep -qx "fed-train 0.1.0" "$T/out"

# A run that diverges is rejected (1) with one message, whatever the
# model: AdamW's decay of 1 - lr wd < -1 makes every weight overflow.
printf 'the dog sleeps under the table, the cat on the sofa.\n' >d.txt
fed-shard -q -f text -o txt d.txt
fed-init -a gpt:1-16-2-8 -s 1 -o g.fed
expect_err "train: mlp diverges" 1 "training diverged" fed-train -m mlp.fed \
    -d tiny-000.fed --optimizer adamw -l 1e6 --weight-decay 1e6 --steps 10 \
    -o x.fed
expect_err "train: gpt diverges" 1 "training diverged" fed-train -m g.fed \
    -d txt-000.fed -l 1e6 --weight-decay 1e6 --steps 10 -o x.fed
check "train: nothing written when diverged" test ! -e x.fed
expect "train: a directory as data" 2 fed-train -m soft.fed -d . -o x.fed
expect "train: a directory as model" 2 fed-train -m . -d tiny-000.fed -o x.fed
