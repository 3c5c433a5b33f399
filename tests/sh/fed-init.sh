# fed-init: round-0 models, deterministic bytes, exit codes.
. "$FED_ROOT/tests/sh/lib.sh"

expect "init: softmax" 0 fed-init -a softmax:784-10 -o s.fed
expect "init: mlp to stdout" 0 sh -c 'fed-init -a mlp:784-200-200-10 -s 3 > m1.fed'
expect "init: mlp again" 0 fed-init --arch mlp:784-200-200-10 --seed 3 --output m2.fed
check "init: same arguments, same bytes" cmp m1.fed m2.fed
fed-init -a mlp:784-200-200-10 -s 4 -o m3.fed
check "init: other seed, other bytes" sh -c '! cmp -s m1.fed m3.fed'
expect "init: verifies" 0 fed-verify -n m1.fed
check "init: manifest says round 0, no parent" sh -c \
    'tar xOf m1.fed manifest.json | jq -e ".round == 0 and .parent == null and .kind == \"model\" and .arch == \"mlp:784-200-200-10\""'
check "init: mode 0644 members, owner 0, mtime 0" sh -c \
    'tar tvf s.fed | grep -v "^-rw-r--r-- 0/0 .* 1970-01-01 00:00 "; test $? = 1'
SOURCE_DATE_EPOCH=86400 fed-init -a softmax:784-10 -o sde.fed
check "init: SOURCE_DATE_EPOCH sets mtime" sh -c 'tar tvf sde.fed | grep -q 1970-01-02'
# weights: He-normal std sqrt(2/784) on the first layer
check "init: first-layer std near sqrt(2/fan_in)" sh -c '
    tar xOf m1.fed tensors.safetensors | python3 -c "
import sys, struct, json, math
b = sys.stdin.buffer.read(); n = struct.unpack(\"<Q\", b[:8])[0]
h = json.loads(b[8:8+n]); o = h[\"dense.0.weight\"][\"data_offsets\"]
w = struct.unpack(\"<%df\" % ((o[1]-o[0])//4), b[8+n+o[0]:8+n+o[1]])
s = math.sqrt(sum(x*x for x in w)/len(w))
sys.exit(0 if abs(s - math.sqrt(2/784)) < 0.002 else 1)"'

expect_err "init: unknown architecture" 2 "unknown" fed-init -a cnn:1-2
expect_err "init: bad width" 2 "width" fed-init -a mlp:784-0-10
expect "init: missing -a" 2 fed-init
expect "init: bad seed" 2 fed-init -a softmax:4-2 -s -1
expect "init: extra operand" 2 fed-init -a softmax:4-2 extra
expect "init: unknown option" 2 fed-init -a softmax:4-2 --bogus
expect_err "init: unwritable output" 2 "No such file" fed-init -a softmax:4-2 -o /nonexistent/dir/x.fed
check "init: no temporary left behind" sh -c '! ls /nonexistent/dir 2>/dev/null'
expect "init: --help" 0 fed-init --help
check "init: --version" sh -c 'fed-init --version | grep -q "^fed-init "'
