# fed-sign: key pairs, signatures that add and change nothing else.
. "$FED_ROOT/tests/sh/lib.sh"

expect "sign: generate unprotected key" 0 fed-sign -G -n -p a.pub -s a.sec
check "sign: secret key mode 0600" sh -c 'test "$(stat -c %a a.sec)" = 600'
check "sign: key id on stderr" grep -Eq '^fed-sign: key [0-9a-f]{16}$' "$T/err"
keyid=$(sed 's/.* //' "$T/err")
check "sign: key id is SHA-256 of DER SPKI" sh -c \
    "test \"\$(openssl pkey -pubin -in a.pub -outform DER | sha256sum | cut -c1-16)\" = $keyid"
cp a.sec a.sec.orig
expect_err "sign: never overwrites a key" 2 "exists" fed-sign -G -n -p b.pub -s a.sec
check "sign: existing key untouched" cmp a.sec a.sec.orig
check "sign: no stray public key" test ! -e b.pub
expect "sign: generate second key" 0 fed-sign -G -n -p b.pub -s b.sec

printf 'correct horse\n' > pass.txt
expect "sign: protected key from passphrase file" 0 fed-sign -G --passphrase-file pass.txt -p c.pub -s c.sec
check "sign: protected key is encrypted" grep -q "ENCRYPTED PRIVATE KEY" c.sec
expect_err "sign: no terminal, no -n" 2 "terminal" sh -c 'fed-sign -G -p d.pub -s d.sec < /dev/null'
check "sign: refused generation leaves nothing" test ! -e d.sec

fed-init -a softmax:20-3 -o m.fed
expect "sign: sign to stdout" 0 sh -c 'fed-sign -s a.sec m.fed > ma.fed'
expect "sign: sign as a filter with -o" 0 sh -c 'fed-sign -s b.sec -o mab.fed < ma.fed'
check "sign: manifest bytes unchanged" sh -c \
    'test "$(tar xOf m.fed manifest.json | sha256sum)" = "$(tar xOf mab.fed manifest.json | sha256sum)"'
check "sign: payload unchanged" sh -c \
    'test "$(tar xOf m.fed tensors.safetensors | sha256sum)" = "$(tar xOf mab.fed tensors.safetensors | sha256sum)"'
check "sign: two signatures" sh -c 'test "$(tar tf mab.fed | grep -c "^signatures/")" = 2'
fed-sign -s a.sec mab.fed > mab2.fed
check "sign: signing twice with one key leaves one signature" cmp mab.fed mab2.fed
expect "sign: verifies with both keys" 0 fed-verify -p a.pub -p b.pub -k 2 mab.fed
expect "sign: protected key signs with passphrase file" 0 sh -c \
    'fed-sign -s c.sec --passphrase-file pass.txt m.fed > mc.fed'
expect "sign: verifies protected key's signature" 0 fed-verify -p c.pub mc.fed
printf 'wrong\n' > bad.txt
expect_err "sign: wrong passphrase" 2 "passphrase" sh -c \
    'fed-sign -s c.sec --passphrase-file bad.txt m.fed > x.fed'
expect_err "sign: protected key without terminal" 2 "passphrase" sh -c \
    'fed-sign -s c.sec m.fed < /dev/null > x.fed'

expect "sign: detached signature" 0 fed-sign -s a.sec -x m.sig m.fed
check "sign: detached is 64 bytes" test "$(wc -c < m.sig)" = 64
tar xOf m.fed manifest.json > manifest.json
check "sign: detached verifies with openssl" openssl pkeyutl -verify -pubin \
    -inkey a.pub -rawin -in manifest.json -sigfile m.sig
check "sign: detached equals embedded" sh -c "tar xOf ma.fed signatures/$keyid.sig | cmp - m.sig"

head -c 3000 m.fed > trunc.fed
expect "sign: refuses a truncated bundle" 1 sh -c 'fed-sign -s a.sec trunc.fed > out.fed'
expect "sign: refuses with -o, nothing written" 1 fed-sign -s a.sec -o out2.fed trunc.fed
check "sign: no output file after refusal" test ! -e out2.fed
check "sign: no temporary file left" sh -c '! ls out2.fed.* 2>/dev/null'
expect_err "sign: missing bundle is a system error" 2 \
    "^fed-sign: nosuch.fed: No such file or directory$" \
    sh -c 'fed-sign -s a.sec nosuch.fed > out3.fed'
mkdir adir
expect_err "sign: a directory is a system error" 2 \
    "^fed-sign: adir: is a directory$" sh -c 'fed-sign -s a.sec adir > out3.fed'
expect "sign: -o, a directory operand, nothing written" 2 \
    fed-sign -s a.sec -o out4.fed adir
check "sign: no output for a directory" sh -c '! ls out4.fed* 2>/dev/null'
expect "sign: detached, a directory operand" 2 fed-sign -s a.sec -x d.sig adir
check "sign: no detached signature for a directory" test ! -e d.sig
yes "not a bundle" | head -c 4000 > noise.fed
expect_err "sign: refuses bytes that are no bundle" 1 "noise.fed: not a valid" \
    sh -c 'fed-sign -s a.sec noise.fed > out5.fed'
expect "sign: detached refuses a truncated bundle" 1 \
    fed-sign -s a.sec -x t.sig trunc.fed
expect "sign: a secret key that is a directory" 2 \
    sh -c 'fed-sign -s adir m.fed > x.fed'
expect_err "sign: output into a missing folder" 2 "nowhere/x.fed" \
    fed-sign -s a.sec -o nowhere/x.fed m.fed
printf 'not a key\n' > junk.sec
# owner-only, or the permission check would speak first
chmod 600 junk.sec && cp a.pub apub.sec && chmod 600 apub.sec
expect_err "sign: not a key" 2 "not a PEM" sh -c 'fed-sign -s junk.sec m.fed > x.fed'
expect_err "sign: public key as secret" 2 "not a PEM" sh -c 'fed-sign -s apub.sec m.fed > x.fed'
expect "sign: missing -s" 2 fed-sign m.fed
expect "sign: -G without -p" 2 fed-sign -G -n -s e.sec
expect "sign: two operands" 2 fed-sign -s a.sec m.fed m.fed
expect "sign: -o with -x" 2 fed-sign -s a.sec -o x -x y m.fed
expect "sign: unknown option" 2 fed-sign --bogus
expect "sign: --help" 0 fed-sign -h
