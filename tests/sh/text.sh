# text: fed-shard -f text (partitions iid and file, held-out documents,
# the bundle layout), fed-verify's checks of text data, and a small gpt
# model trained and evaluated end to end with fed-init, fed-train,
# fed-merge and fed-eval.  Rejected inputs (1) and usage errors (2).
. "$FED_ROOT/tests/sh/lib.sh"

mkdir -p de fr/sub empty
for i in 1 2 3 4 5 6; do
	printf 'Der Hund %d schläft unter dem Tisch, die Katze auf dem Sofa.\n' \
	    "$i" >de/p$i.txt
	printf 'Le chien %d dort sous la table, le chat sur le canapé.\n' \
	    "$i" >fr/sub/p$i.txt
done
: >fr/empty.txt

expect "shard: text by file" 0 fed-shard -q -f text -p file -t 0.34 -o l de fr
check "shard: train and test per input" test -f l-de.fed -a -f l-de.test.fed \
    -a -f l-fr.fed -a -f l-fr.test.fed
check "shard: text manifest" sh -c 'tar xOf l-de.fed manifest.json | jq -e \
    ".modality == \"text\" and .documents == 4 and .shard.name == \"de\" and
     .partition.scheme == \"file\" and .inputs[0].files == 6 and
     .features == 1 and .classes == 256"'
check "shard: folders read recursively, empty files skipped" sh -c \
    'tar xOf l-fr.test.fed manifest.json | jq -e ".documents == 2"'
check "shard: test and train hold all the bytes" sh -c \
    'a=$(tar xOf l-de.fed manifest.json | jq .samples)
     b=$(tar xOf l-de.test.fed manifest.json | jq .samples)
     test $((a + b)) -eq $(cat de/*.txt | wc -c)'
check "shard: tokens are the text" sh -c \
    'tar xOf l-de.fed data.safetensors | grep -q "Der Hund"'
expect "verify: text data" 0 fed-verify -n -q l-de.fed
expect "shard: iid over documents" 0 fed-shard -q -f text -n 3 -s 5 -o i de fr
check "shard: iid names" test -f i-000.fed -a -f i-002.fed
fed-shard -q -f text -n 3 -s 5 -o j de fr
check "shard: same seed, same bytes" cmp i-001.fed j-001.fed
expect "shard: standard input" 0 sh -c 'cat de/* | fed-shard -q -f text -o s -'
check "shard: stdin shard" sh -c 'tar xOf s-000.fed manifest.json |
    jq -e ".documents == 1 and .shard.name == \"000\""'

expect_err "shard: nothing to read" 1 "no text" \
    fed-shard -q -f text -o e empty
expect_err "shard: one document cannot be split" 1 "too few" \
    fed-shard -q -f text -t 0.5 -o e - <de/p1.txt
expect_err "shard: more shards than documents" 1 "documents for" \
    fed-shard -q -f text -n 20 -o e de
expect "shard: missing input" 2 fed-shard -q -f text -o e nosuch
expect "shard: no input" 2 fed-shard -q -f text -o e
expect "shard: dirichlet is not for text" 2 \
    fed-shard -q -f text -p dirichlet:0.5 -o e de
expect "shard: -p file with -n" 2 fed-shard -q -f text -p file -n 2 -o e de
expect "shard: --label is not for text" 2 \
    fed-shard -q -f text --label x -o e de
expect "shard: -p file is for text" 2 fed-shard -q -p file -o e x.csv

# A text bundle whose docs do not fit its tokens is rejected.
python3 - <<'PY'
import json, struct, tarfile, io, hashlib
def st(tensors):
    hdr, off, blob = {}, 0, b""
    for name, dt, shape, data in tensors:
        hdr[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(data)]}
        off += len(data); blob += data
    h = json.dumps(hdr).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + blob
p = st([("tokens", "U8", [4], b"abcd"), ("docs", "I64", [2], struct.pack("<qq", 0, 9))])
m = {"format": "fed-bundle/1", "kind": "data", "modality": "text", "samples": 4,
     "documents": 2, "features": 1, "classes": 256, "x_scale": 1.0,
     "members": [{"name": "data.safetensors", "size": len(p),
                  "sha256": hashlib.sha256(p).hexdigest()}]}
mb = json.dumps(m, indent=2, sort_keys=True).encode() + b"\n"
with tarfile.open("bad.fed", "w", format=tarfile.USTAR_FORMAT) as t:
    for name, data in (("manifest.json", mb), ("data.safetensors", p)):
        i = tarfile.TarInfo(name); i.size = len(data); i.mode = 0o644
        t.addfile(i, io.BytesIO(data))
PY
fed-init -a gpt:1-16-2-8 -s 1 -o g.fed
expect_err "train: docs out of range" 1 "docs" fed-train -m g.fed -d bad.fed

# Training end to end: loss falls, the update verifies and merges, the
# merged model is better on held-out text, and bits per byte are printed.
expect "init: gpt" 0 fed-init -a gpt:2-32-2-16 -s 1 -o m0.fed
check "init: gpt tensor names" sh -c 'tar xOf m0.fed tensors.safetensors |
    head -c 4000 | grep -q "h.1.attn.qkv.weight"'
expect "train: gpt on text" 0 fed-train -m m0.fed -d l-de.fed --steps 60 \
    -b 8 -l 0.01 --warmup 5 -s 1 -o u.fed
check "train: gpt update records adamw, warmup, clip" sh -c \
    'tar xOf u.fed manifest.json | jq -e ".train.optimizer == \"adamw\" and
     .train.warmup == 5 and .train.clip == 1 and .steps == 60 and
     .stats.loss_end < .stats.loss_start"'
fed-train -m m0.fed -d l-de.fed --steps 60 -b 8 -l 0.01 --warmup 5 -s 1 -o u2.fed
check "train: same seed, same update" cmp u.fed u2.fed
# --opt-state: AdamW's moments kept between runs; a fresh state trains
# exactly as without one.
expect "train: --opt-state, fresh" 0 fed-train -m m0.fed -d l-de.fed \
    --steps 60 -b 8 -l 0.01 --warmup 5 -s 1 --opt-state os.st -o u3.fed
check "train: fresh opt-state, same update" cmp u.fed u3.fed
check "train: opt-state holds moments and steps" sh -c \
    'test "$(head -c 4000 os.st | grep -c exp_avg_sq)" = 1 &&
     python3 -c "import struct,json,sys; b=open(\"os.st\",\"rb\").read();
n=struct.unpack(\"<Q\",b[:8])[0]; h=json.loads(b[8:8+n]); s=h[\"step\"];
o=8+n+s[\"data_offsets\"][0];
sys.exit(struct.unpack(\"<q\",b[o:o+8])[0] != 60)"'
fed-train -m m0.fed -d l-de.fed --steps 60 -b 8 -l 0.01 --warmup 5 -s 1 \
    --opt-state os.st -o u4.fed
check "train: kept opt-state changes the update" sh -c '! cmp -s u.fed u4.fed'
fed-init -a gpt:1-32-2-16 -s 1 -o m9.fed
fed-train -m m9.fed -d l-de.fed --steps 20 -b 8 -s 1 -o u9.fed
expect "train: opt-state of another architecture starts afresh" 0 \
    fed-train -m m9.fed -d l-de.fed --steps 20 -b 8 -s 1 --opt-state os.st \
    -o u10.fed
check "train: afresh is as without" cmp u9.fed u10.fed
printf 'not safetensors' >bad.st
expect_err "train: bad opt-state" 1 "not an optimizer state" \
    fed-train -m m0.fed -d l-de.fed --steps 2 --opt-state bad.st -o e.fed
expect "train: --opt-state and -o the same" 2 fed-train -m m0.fed \
    -d l-de.fed --steps 2 --opt-state x.fed -o x.fed
expect_err "train: --opt-state on standard input" 2 "not standard input" \
    fed-train -m m0.fed -d l-de.fed --steps 2 --opt-state - -o e.fed
mkdir -p osdir
expect "train: --opt-state a directory" 2 fed-train -m m0.fed -d l-de.fed \
    --steps 2 --opt-state osdir -o e.fed
# --v-batch: the second moment sized for a larger batch, recorded.  From
# zero moments a first step moves each weight by lr without it, and by
# lr to lr sqrt(56 / 8) with it: further, and less than 7 times as far
# in squared norm.
expect "train: --v-batch" 0 fed-train -m m0.fed -d l-de.fed --steps 60 \
    -b 8 -l 0.01 --warmup 5 -s 1 --v-batch 56 -o u5.fed
check "train: --v-batch recorded" sh -c \
    'tar xOf u5.fed manifest.json | jq -e ".train.v_batch == 56" &&
     tar xOf u.fed manifest.json | jq -e ".train.v_batch == null"'
fed-train -m m0.fed -d l-de.fed --steps 1 -b 8 -l 0.001 -s 1 -o s1.fed
fed-train -m m0.fed -d l-de.fed --steps 1 -b 8 -l 0.001 -s 1 --v-batch 56 \
    -o s2.fed
check "train: --v-batch steps further" python3 -c '
import io, json, struct, sys, tarfile
def norm(f):
    b = tarfile.open(f).extractfile("tensors.safetensors").read()
    n = struct.unpack("<Q", b[:8])[0]
    x = b[8 + n:]
    return sum(v * v for v in struct.unpack("<%df" % (len(x) // 4), x))
a, b = norm("s1.fed"), norm("s2.fed")
sys.exit(not 1.05 * a < b <= 7.0001 * a)'
expect "verify: --v-batch update" 0 fed-verify -n -q u5.fed
expect_err "train: --v-batch not above -b" 2 "more windows than -b" \
    fed-train -m m0.fed -d l-de.fed --steps 2 -b 8 --v-batch 8 -o e.fed
expect_err "train: --v-batch with batches of 1" 2 "want -b 2 or more" \
    fed-train -m m0.fed -d l-de.fed --steps 2 -b 1 --v-batch 8 -o e.fed
expect "verify: gpt update" 0 fed-verify -n -q u.fed
expect "merge: gpt update" 0 fed-merge --unsigned -m m0.fed -o m1.fed u.fed
expect "eval: bits per byte" 0 fed-eval -m m1.fed l-de.test.fed l-fr.test.fed
check "eval: header" grep -q "bits/byte" out
check "eval: json bits_per_byte, shared model better than random" sh -c \
    'fed-eval --json -m m1.fed l-de.test.fed | jq -e \
     ".data[0].bits_per_byte < 6 and .total.bits_per_byte < 6"'
check "eval: random model near 8 bits per byte" sh -c \
    'fed-eval --json -m m0.fed l-de.test.fed | jq -e \
     ".total.bits_per_byte > 7.5 and .total.bits_per_byte < 8.5"'
expect_err "train: gpt on image data" 1 "needs text data" sh -c \
    'printf "a,label\n1,0\n0,1\n" >t.csv && fed-shard -q -f csv --label label -o c t.csv &&
     fed-train -m m0.fed -d c-000.fed'
fed-init -a mlp:2-4-2 -o mlp.fed
expect_err "train: mlp on text" 1 "needs a gpt model" \
    fed-train -m mlp.fed -d l-de.fed
expect_err "eval: mlp on text" 1 "gpt" fed-eval -m mlp.fed l-de.fed
expect "train: sgd refused for gpt" 1 fed-train -m m0.fed -d l-de.fed \
    --optimizer sgd --steps 2
expect "train: --warmup is for gpt" 2 fed-train -m mlp.fed -d c-000.fed \
    --warmup 3
expect "train: --opt-state is for gpt" 2 fed-train -m mlp.fed -d c-000.fed \
    --opt-state os2.st
expect "train: --v-batch is for gpt" 2 fed-train -m mlp.fed -d c-000.fed \
    --v-batch 64
expect "init: bad gpt spec" 2 fed-init -a gpt:2-30-4-16
