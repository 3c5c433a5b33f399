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

# --from: any safetensors file, whatever its writer's layout
MKST="python3 $FED_ROOT/tests/tools/mkst.py"
TORCH=/usr/bin/python3
$MKST lib lib.safetensors
$MKST rev rev.safetensors
expect "from: the safetensors library's layout" 0 fed-init --from lib.safetensors -o imp.fed
expect "from: another layout, stdin" 0 sh -c 'fed-init -f - < rev.safetensors > imp2.fed'
check "from: same tensors, same bundle" cmp imp.fed imp2.fed
expect "from: verifies" 0 fed-verify -n imp.fed
check "from: arch names the table's digest" sh -c '
    tar xOf imp.fed manifest.json > man.json
    d=$(jq -r ".tensors[] | \"\(.name)\t\(.dtype)\t\(.shape|map(tostring)|join(\",\"))\"" man.json | sha256sum | cut -c1-64)
    jq -e --arg a "tensors:$d" ".arch == \$a and .metadata.format == \"pt\" and (.tensors|length) == 5" man.json'
expect "from: weights out again" 0 fed-verify -n --weights out.safetensors imp.fed
check "from: PyTorch loads bit-identical tensors" $TORCH "$FED_ROOT/tests/tools/stsame.py" lib.safetensors out.safetensors
check "from: the other layout too" $TORCH "$FED_ROOT/tests/tools/stsame.py" rev.safetensors out.safetensors
for k in nan i8 long ctrl dup; do $MKST $k $k.safetensors; done
expect_err "from: non-finite refused" 1 "not finite\|non-finite\|finite" fed-init -f nan.safetensors -o bad.fed
expect_err "from: integer tensor refused" 1 "dtype I8" fed-init -f i8.safetensors -o bad.fed
expect_err "from: overlong name refused" 1 "over 128 bytes" fed-init -f long.safetensors -o bad.fed
expect_err "from: control character refused" 1 "printable" fed-init -f ctrl.safetensors -o bad.fed
expect_err "from: duplicate refused" 1 "duplicate" fed-init -f dup.safetensors -o bad.fed
check "from: nothing written when refused" test ! -e bad.fed
check "from: one-line messages" sh -c 'for k in nan i8 long ctrl dup; do fed-init -f $k.safetensors -o bad.fed 2>&1 | wc -l | grep -qx 1 || exit 1; done'
expect_err "from: missing file" 2 "No such file" fed-init -f nosuch.safetensors
expect_err "from: not with -a" 2 "no -a" fed-init -f lib.safetensors -a softmax:4-2
expect_err "from: -a tensors refused" 2 "imported with --from" fed-init -a tensors:$(printf %064d 0)
expect_err "weights: not a bundle" 1 "not a valid bundle" fed-verify -n --weights w.st lib.safetensors
check "weights: nothing written" test ! -e w.st
expect "weights: one model only" 2 fed-verify -n --weights w.st imp.fed imp2.fed
expect "weights: not with -o" 2 fed-verify -n --weights w.st -o x.fed imp.fed
fed-init -a mlp:4-3-2 -o mlp.fed
expect "weights: fed's own architectures too" 0 fed-verify -n -q --weights mlp.st mlp.fed
check "weights: the same tensors as the bundle" sh -c 'tar xOf mlp.fed tensors.safetensors | cmp - mlp.st'
expect_err "from: fed-eval refuses imported tensors" 1 "own architectures" fed-eval -m imp.fed -d imp.fed
expect_err "from: fed-train refuses imported tensors" 1 "own architectures" fed-train -m imp.fed -d imp.fed -o t.fed
expect_err "from: fed-sample refuses imported tensors" 1 "own architectures" fed-sample -m imp.fed
mkdir adir
expect_err "from: a directory" 2 "directory" fed-init -f adir -o bad.fed
: > empty.st
expect_err "from: an empty file" 1 "empty.st" fed-init -f empty.st -o bad.fed
check "from: a tampered table is refused" sh -c '
    mkdir tam && cd tam && tar xf ../imp.fed &&
    jq -c ".tensors[0].shape = [5]" manifest.json > m2 && mv m2 manifest.json &&
    tar --format=ustar -cf ../tam.fed manifest.json tensors.safetensors && cd .. &&
    fed-verify -n tam.fed 2>&1 | grep -q "digest"'
