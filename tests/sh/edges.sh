# edges: keys (small-order and non-canonical public keys, the KDF of
# encrypted secret keys, permissions, key files that are not regular
# files) and the operational edges of issue 19, each attack reproduced
# and shown refused.
. "$FED_ROOT/tests/sh/lib.sh"

fed-sign -G -n -p a.pub -s a.sec 2>/dev/null
fed-init -a softmax:20-3 -o m.fed
fed-sign -s a.sec -o ma.fed m.fed

# ---- keys ----
# mkpub HEX FILE: a PEM public key holding the 32 raw bytes HEX.
mkpub() {
	printf '302a300506032b6570032100%s' "$1" | xxd -r -p |
	    openssl pkey -pubin -inform DER -out "$2"
}
zero=0000000000000000000000000000000000000000000000000000000000000000
mkpub 01${zero#00} small.pub
tar xOf m.fed manifest.json > manifest.json
printf '01%s%s' "${zero#00}" "$zero" | xxd -r -p > forged.sig
check "keys: the identity key verifies a forged signature in openssl" sh -c \
    'openssl pkeyutl -verify -pubin -inkey small.pub -rawin -in manifest.json -sigfile forged.sig | grep -q Successfully'
expect_err "keys: small-order public key refused" 2 "small.pub: public key is a point of small order" \
    fed-verify -p small.pub m.fed
n=0
for y in $zero 01${zero#00} ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f \
    26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05 \
    c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a; do
	for top in 0 8; do
		h=$(printf '%s%x%s' "${y%??}" $(( 0x${y#${y%??}} >> 4 | top )) "${y#${y%?}}")
		n=$((n + 1))
		mkpub "$h" s$n.pub 2>/dev/null || continue
		expect_err "keys: small-order point $h" 2 "small order" fed-verify -p s$n.pub m.fed
	done
done
mkpub edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f nc.pub
expect_err "keys: non-canonical public key (y = p) refused" 2 "not canonically encoded" \
    fed-verify -p nc.pub m.fed
mkpub eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff nc2.pub
expect_err "keys: non-canonical public key (y = p + 1, sign set) refused" 2 "not canonically encoded" \
    fed-verify -p nc2.pub m.fed
mkdir roster && cp a.pub small.pub roster/
expect_err "keys: small-order key in -P refused" 2 "small order" fed-verify -P roster ma.fed
expect "keys: a real key still verifies" 0 fed-verify -p a.pub ma.fed

printf 'correct horse\n' > pw
fed-sign -G --passphrase-file pw -p c.pub -s c.sec 2>/dev/null
openssl asn1parse -in c.sec > asn1 2>&1
check "keys: encrypted key uses PBES2" grep -q ':PBES2' asn1
check "keys: encrypted key uses scrypt" grep -q ':scrypt' asn1
# the scrypt parameters: salt, N, r, p; N*p at least 2^16 (OWASP's floor)
check "keys: scrypt cost N=2^14 r=8 p=5" sh -c \
    'test "$(grep -A5 ":scrypt" asn1 | sed -n "s/.*INTEGER *://p" | tr "\n" " ")" = "4000 08 05 "'
check "keys: openssl opens the scrypt key" openssl pkey -in c.sec -passin file:pw -noout
expect "keys: scrypt key signs" 0 fed-sign -s c.sec --passphrase-file pw -o mc.fed m.fed
expect "keys: and verifies" 0 fed-verify -p c.pub mc.fed
openssl genpkey -algorithm ed25519 -out old.pem 2>/dev/null
openssl pkcs8 -topk8 -v2 aes-256-cbc -iter 2048 -passout file:pw -in old.pem -out old.sec
chmod 600 old.sec
check "keys: old key is PBKDF2" sh -c 'openssl asn1parse -in old.sec | grep -q PBKDF2'
expect "keys: an old PBKDF2 key still loads" 0 fed-sign -s old.sec --passphrase-file pw -o mo.fed m.fed

cp a.sec open.sec && chmod 644 open.sec
expect_err "keys: secret key readable by others refused" 2 \
    "^fed-sign: permissions 0644 for 'open.sec' are too open$" fed-sign -s open.sec -o x.fed m.fed
chmod 640 open.sec
expect_err "keys: secret key readable by group refused" 2 "permissions 0640" \
    fed-sign -s open.sec -o x.fed m.fed
check "keys: nothing written" test ! -e x.fed
mkfifo fifo.pub
expect_err "keys: a FIFO public key refused without blocking" 2 "fifo.pub: not a regular file" \
    timeout 10 fed-verify -p fifo.pub m.fed
mkdir fifodir && cp a.pub fifodir/ && mkfifo fifodir/z.pub
expect_err "keys: a FIFO inside -P refused without blocking" 2 "z.pub: not a regular file" \
    timeout 10 fed-verify -P fifodir ma.fed
mkfifo fifo.sec && chmod 600 fifo.sec
expect_err "keys: a FIFO secret key refused without blocking" 2 "not a regular file" \
    timeout 10 fed-sign -s fifo.sec -o x.fed m.fed
expect_err "keys: a device as public key refused" 2 "not a regular file" fed-verify -p /dev/null m.fed

# ---- -o onto a FIFO or a device: written into, never replaced ----
mkfifo out.fifo
(timeout 10 cat out.fifo > fifo.got) &
reader=$!
expect "out: -o onto a FIFO" 0 timeout 10 fed-init -a softmax:20-3 -o out.fifo
wait $reader
check "out: the FIFO is still a FIFO" test -p out.fifo
check "out: the reader got the bundle" cmp fifo.got m.fed
mkfifo v.fifo
(timeout 10 cat v.fifo > v.got) &
reader=$!
expect "out: fed-verify -o onto a FIFO" 0 timeout 10 fed-verify -p a.pub -o v.fifo ma.fed
wait $reader
check "out: fed-verify passed the bundle through the FIFO" cmp v.got ma.fed
if mknod null.dev c 1 3 2>/dev/null; then
	expect "out: -o onto a character device" 0 fed-sign -s a.sec -o null.dev m.fed
	check "out: the device is still a device" test -c null.dev
else
	echo "note: mknod is not allowed here (not root?): device case skipped"
fi
mkdir out.dir
expect_err "out: -o onto a directory refused" 2 "out.dir: is a directory" fed-init -a softmax:20-3 -o out.dir

# ---- nothing written after a rejection ----
# a 6 KiB bundle whose manifest and tar header claim an 8 GiB member
python3 - m.fed huge.fed <<'PY'
import json, sys, tarfile
m = json.loads(tarfile.open(sys.argv[1]).extractfile('manifest.json').read())
big = (8 << 30) - 512
m['members'][0]['size'] = big
mb = json.dumps(m).encode()
def hdr(name, size):
    ti = tarfile.TarInfo(name); ti.size = size; ti.mode = 0o644
    return ti.tobuf(format=tarfile.USTAR_FORMAT)
out = hdr('manifest.json', len(mb)) + mb + b'\0' * (-len(mb) % 512)
out += hdr(m['members'][0]['name'], big) + b'\0' * 4096
open(sys.argv[2], 'wb').write(out)
PY
expect_err "copy: a bundle claiming more than the file holds" 1 "the file holds" \
    timeout 20 fed-sign -s a.sec -o hs.fed huge.fed
check "copy: nothing written" sh -c 'test -z "$(ls hs.fed* 2>/dev/null)"'
expect "copy: from a pipe, rejected" 1 timeout 20 sh -c 'cat huge.fed | fed-sign -s a.sec > hp.fed'
check "copy: from a pipe, no zeros written after the rejection" \
    test "$(wc -c < hp.fed)" -lt 2000000

# rewrite IN OUT WHAT [VALUE]: a bundle rewritten with a consistent
# manifest (member hashes recomputed), unsigned.
cat > rewrite.py <<'PY'
import hashlib, io, json, struct, sys, tarfile
src, dst, what = sys.argv[1:4]
val = sys.argv[4] if len(sys.argv) > 4 else None
t = tarfile.open(src)
man = json.loads(t.extractfile('manifest.json').read())
st = bytearray(t.extractfile('tensors.safetensors').read())
hl = struct.unpack('<Q', st[:8])[0]
hdr = json.loads(st[8:8 + hl]); base = 8 + hl
if what == 'bigscale':
    # the first block's scale near FLT_MAX and a value of 127: 3e38 * 127
    # is not a float32
    name = [n for n in hdr if n.endswith('.scale')][0]
    o = base + hdr[name]['data_offsets'][0]
    st[o:o + 4] = struct.pack('<f', 3e38)
    v = base + hdr[name[:-len('.scale')]]['data_offsets'][0]
    st[v] = 127
elif what != 'same':
    man[what] = val
payload = {'tensors.safetensors': bytes(st)}
man['members'] = [dict(m, sha256=hashlib.sha256(payload[m['name']]).hexdigest())
                  for m in man['members']]
out = [('manifest.json', json.dumps(man).encode())] + list(payload.items())
with tarfile.open(dst, 'w', format=tarfile.USTAR_FORMAT) as o:
    for name, data in out:
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), 0o644
        o.addfile(info, io.BytesIO(data))
PY
rewrite() { python3 rewrite.py "$@"; }

# ---- canonical architecture strings ----
for a in mlp:20-032-3 mlp:20-+32-3 "mlp:20- 32-3" mlp:20--3 mlp:20-32-3- softmax:020-3; do
	expect "arch: fed-init refuses '$a'" 2 fed-init -a "$a" -o arch.fed
done
expect_err "arch: leading zeros named" 2 "not canonical (mlp:20-32-3)" fed-init -a mlp:20-032-3 -o arch.fed
rewrite m.fed same.fed arch softmax:20-3
expect "arch: rewriting keeps a valid bundle" 0 fed-verify -n same.fed
rewrite m.fed zero.fed arch softmax:020-3
expect_err "arch: a manifest with leading zeros rejected" 1 "not canonical" fed-verify -n zero.fed

# ---- every encoded value finite ----
printf 'a,b,label\n0.5,1,0\n1,0.2,1\n0.3,0.3,2\n1,1,1\n0,0,0\n0.1,0.9,2\n' > t.csv
fed-shard -f csv -n 1 -o d t.csv 2>/dev/null
fed-init -a softmax:2-3 -o m2.fed
fed-train -m m2.fed -d d-000.fed --encode int8 -o u8.fed 2>/dev/null
rewrite u8.fed u8same.fed same
expect "finite: rewriting keeps a valid int8 update" 0 fed-verify -n u8same.fed
rewrite u8.fed u8inf.fed bigscale
expect_err "finite: an int8 scale of 3e38 decoding to Inf rejected" 1 "finite" fed-verify -n u8inf.fed
expect "finite: fed-merge refuses it too" 1 fed-merge --unsigned -m m2.fed -o x.fed u8inf.fed

# ---- no bundle read from a terminal ----
# ontty CMD...: CMD with a pseudo-terminal as its standard input (and
# output); what it printed goes to stderr, its status is ours.
ontty() {
	timeout 10 python3 -c '
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out = b""
while True:
    try:
        b = os.read(fd, 1024)
    except OSError:
        break
    if not b:
        break
    out += b
_, st = os.waitpid(pid, 0)
sys.stderr.write(out.decode(errors="replace").replace("\r\n", "\n"))
sys.exit(os.WEXITSTATUS(st) if os.WIFEXITED(st) else 3)' "$@"
}
expect_err "tty: fed-verify - on a terminal" 2 "will not read a bundle from a terminal" \
    ontty fed-verify -n -
expect_err "tty: fed-sign on a terminal" 2 "will not read a bundle from a terminal" \
    ontty sh -c 'fed-sign -s a.sec > /dev/null'
expect_err "tty: fed-train -m - on a terminal" 2 "from a terminal" \
    ontty sh -c 'fed-train -m - -d d-000.fed > /dev/null'

# ---- the ledger locked by its resolved path ----
# 20000 rows and a wider model: a run takes a moment, so two overlap
python3 -c '
import random
random.seed(1)
print("a,b,label")
for i in range(20000):
    print("%.3f,%.3f,%d" % (random.random(), random.random(), random.randrange(3)))' > big.csv
fed-shard -f csv -n 1 -o big big.csv 2>/dev/null
fed-init -a mlp:2-256-256-3 -o mb.fed
dp() { fed-train -m mb.fed -d big-000.fed --dp --epsilon 1 "$@"; }
# runs of epsilon 1 here compose to 1.0, 1.082, 1.107: after the first, a
# budget of 1.095 has room for one more; two run at once, one through a link
dp --ledger real.json --budget 1.095 -o l0.fed 2>/dev/null
ln -s real.json link.json
dp --ledger real.json -o l1.fed 2>l1.err &
p1=$!
dp --ledger link.json -o l2.fed 2>l2.err &
p2=$!
wait $p1; s1=$?
wait $p2; s2=$?
check "ledger: one of two runs through a link spends ($s1, $s2)" \
    test "$(( (s1 == 0) + (s2 == 0) ))" -eq 1
check "ledger: the other is refused past the budget" grep -q "past the budget" l1.err l2.err
check "ledger: spent once" jq -e '(.entries | length) == 2 and .spent <= 1.095' real.json
check "ledger: the link is still a link" test -L link.json
# the lock itself: while real.json's is held, a run through the link waits
flock real.json.lock sleep 3 &
holder=$!
sleep 0.5
dp --ledger link.json -o l3.fed 2>/dev/null &
waiter=$!
sleep 1.5
check "ledger: a run through the link waits for the file's lock" kill -0 $waiter
wait $holder
wait $waiter
check "ledger: and then finds the budget spent" test $? -eq 1
ln -s nowhere.json dangling.json
expect_err "ledger: a link to a missing ledger refused" 2 "dangling.json: a link to a missing file" \
    dp --ledger dangling.json --budget 2 -o l4.fed
check "ledger: nothing made at the link's target" test ! -e nowhere.json

# ---- resource failures are exit 2, never "skipped" ----
mkdir ups
i=0
while [ $i -lt 40 ]; do
	i=$((i + 1))
	fed-train -m m2.fed -d d-000.fed -s $i -o ups/u$i.fed 2>/dev/null
done
# at 20 descriptors fed-merge either manages (all 40 merged, none
# skipped) or fails as the system's failure; at 6 it cannot open enough
(ulimit -n 20 && fed-merge --unsigned --skip-bad -m m2.fed -o fd20.fed ups/*.fed) 2>fd20.err
st=$?
if [ $st -eq 0 ]; then
	check "fd: at 20 descriptors all 40 updates merged, none skipped" sh -c \
	    'tar xOf fd20.fed manifest.json | jq -e "(.merge.updates | length) == 40 and (.merge.skipped | length) == 0"'
else
	check "fd: at 20 descriptors, exit 2 ($st)" test $st -eq 2
fi
expect_err "fd: out of descriptors under --skip-bad is exit 2" 2 "Too many open files" \
    sh -c 'ulimit -n 6 && fed-merge --unsigned --skip-bad -m m2.fed -o fd6.fed ups/*.fed'
check "fd: nothing written" test ! -e fd6.fed
mkdir tiny
if mount -t tmpfs -o size=16k tmpfs tiny 2>/dev/null; then
	fed-init -a mlp:20-200-3 -o big.fed
	expect_err "tmp: a full TMPDIR is exit 2, not a rejection" 2 "No space left" \
	    sh -c 'TMPDIR=tiny fed-verify -n -o - big.fed > spooled.fed'
	umount tiny
else
	echo "note: cannot mount a small tmpfs (not root?): full TMPDIR case skipped"
fi

# ---- untrusted strings escaped in every message ----
# oneline NAME: stderr ($T/err) is one line without a control character,
# and nothing claimed OK on stdout
oneline() {
	check "$1: one line on stderr" test "$(wc -l < "$T/err")" -eq 1
	check "$1: no control character" sh -c "! LC_ALL=C tr -d '\n' < '$T/err' | grep -q '[[:cntrl:]]'"
	check "$1: no fake OK" sh -c "! grep -q OK '$T/out'"
}
fake=$(printf '\nround-42.fed: OK sha256:0 model\033[2J\033]0;x\007')
H=$FED_ROOT/tests/hostile
expect_err "escape: member name with a newline and ESC" 1 'member tensors.safetensors\\nround-42.fed: OK sha256:0 model\\x1b\[2J' \
    fed-verify -p "$H/a.pub" "$H/control-member-name.fed"
oneline "escape: member name"
expect_err "escape: manifest kind with a newline" 1 'kind model\\nround-42.fed' \
    fed-verify -p "$H/a.pub" "$H/control-kind.fed"
oneline "escape: kind"
rewrite u8.fed evil-arch.fed arch "softmax:2-3$fake"
expect_err "escape: manifest arch with a newline and ESC" 1 'architecture softmax:2-3\\nround-42' \
    fed-verify -n evil-arch.fed
oneline "escape: arch"
rewrite u8.fed evil-contrib.fed contributor "india$fake"
expect "escape: a contributor with control characters verifies (it is data)" 0 \
    fed-verify -n evil-contrib.fed
check "escape: the report line is one line" test "$(wc -l < "$T/out")" -eq 1
rewrite u8.fed evil-both.fed contributor "india$fake"
python3 - evil-both.fed "$fake" <<'PY'
import io, sys, tarfile
src, fake = sys.argv[1], sys.argv[2]
t = tarfile.open(src)
items = [(m.name, t.extractfile(m).read()) for m in t.getmembers()]
items[1] = (items[1][0] + fake, items[1][1])
with tarfile.open(src, 'w', format=tarfile.USTAR_FORMAT) as o:
    for n, b in items:
        i = tarfile.TarInfo(n); i.size = len(b); i.mode = 0o644
        o.addfile(i, io.BytesIO(b))
PY
expect "escape: member name and contributor both hostile" 1 fed-verify -n evil-both.fed
oneline "escape: member name and contributor"
expect "escape: fed-merge on the same" 1 fed-merge --unsigned -m m2.fed -o x.fed evil-both.fed
oneline "escape: fed-merge"
expect "escape: fed-sign on the same" 1 fed-sign -s a.sec -o x.fed evil-both.fed
oneline "escape: fed-sign"
expect "escape: fed-train on a hostile model" 1 fed-train -m evil-arch.fed -d d-000.fed -o x.fed
oneline "escape: fed-train"
cp u8.fed "u$fake.fed"
expect "escape: a file operand's name" 0 fed-verify -n "u$fake.fed"
check "escape: its OK line is one line" test "$(wc -l < "$T/out")" -eq 1
check "escape: and has no control character" sh -c "! LC_ALL=C tr -d '\n' < '$T/out' | grep -q '[[:cntrl:]]'"
expect "escape: a missing file operand's name" 2 fed-verify -n "missing$fake.fed"
oneline "escape: missing file"
expect "escape: fed-train's model operand" 2 fed-train -m "missing$fake.fed" -d d-000.fed -o x.fed
oneline "escape: fed-train operand"

# ---- fed-verify without a key: a usage error unless -n asks ----
expect_err "nokey: fed-verify with no key is a usage error" 2 "no trusted keys" fed-verify m.fed
expect_err "nokey: also under -q" 2 "no trusted keys" fed-verify -q m.fed
check "nokey: and says nothing on stdout" test ! -s "$T/out"
expect "nokey: -n checks integrity only" 0 fed-verify -n m.fed
check "nokey: and says so" grep -q "integrity only, no keys given" "$T/out"
expect "nokey: --integrity-only" 0 fed-verify --integrity-only -q m.fed
expect "nokey: -n still rejects a bad bundle" 1 fed-verify -n "$H/hash-mismatch.fed"
expect_err "nokey: -n with keys is a usage error" 2 "-n checks no signatures" \
    fed-verify -n -p a.pub ma.fed
expect "nokey: unsigned bundle through a pipeline that forgot -p" 2 \
    sh -c 'fed-verify -q -o - m.fed > piped.fed'
check "nokey: nothing passed on" test ! -s piped.fed

# ---- a forged signature under a small-order key no longer verifies ----
# the identity key's id, and its signature R = identity, S = 0, over any
# manifest, added to the bundle as signatures/ID.sig
sid=$(openssl pkey -pubin -in small.pub -outform DER | sha256sum | cut -c1-16)
python3 - m.fed forged.fed forged.sig "$sid" <<'PY'
import io, sys, tarfile
src, dst, sig, kid = sys.argv[1:5]
t = tarfile.open(src)
items = [(m.name, t.extractfile(m).read()) for m in t.getmembers()]
items.append(('signatures/%s.sig' % kid, open(sig, 'rb').read()))
with tarfile.open(dst, 'w', format=tarfile.USTAR_FORMAT) as o:
    for n, b in items:
        info = tarfile.TarInfo(n)
        info.size, info.mode = len(b), 0o644
        o.addfile(info, io.BytesIO(b))
PY
expect "forged: the bundle is well formed" 0 fed-verify -n forged.fed
expect_err "forged: the small-order key is refused, so is its signature" 2 "small order" \
    fed-verify -p small.pub forged.fed
expect_err "forged: with an honest key it is not signed" 1 "signed by 0 trusted keys" \
    fed-verify -p a.pub forged.fed
