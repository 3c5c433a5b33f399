#!/bin/sh
# audit: the auditor's recipe of fed-bundle(5), taken from the page itself
# and run as written with tar, sha256sum, jq and openssl alone, on a valid
# bundle and on tampered ones; fed-verify must reach the same verdict on
# each.  The tampered bundles are repacked with GNU tar, so a control case
# checks that repacking alone changes nothing.
. "$FED_ROOT/tests/sh/lib.sh"

for tool in fed-init fed-sign fed-verify; do
	[ -x "$FED_BIN/$tool" ] || { fail "audit" "$tool not built"; exit 1; }
done

# The recipe: the first literal block after ".Ss Auditing a bundle by
# hand".  "$ " starts a command, deeper-indented lines continue it, other
# lines are sample output; \e is mdoc's backslash.
awk '
/^\.Ss Auditing a bundle by hand/ { s = 1; next }
s == 1 && /^\.Bd -literal/ { s = 2; next }
s == 2 && /^\.Ed/ { exit }
s == 2 && /^\$ / { print substr($0, 3); next }
s == 2 && /^      / { print; next }
' "$FED_ROOT/man/fed-bundle.5" | sed 's/\\e/\\/g' >"$T/recipe.sh"
n=$(grep -c '' "$T/recipe.sh")
if [ "$n" -ge 10 ] && grep -q 'sha256sum -c' "$T/recipe.sh" &&
    grep -q 'openssl pkeyutl -verify' "$T/recipe.sh"; then
	pass "recipe extracted from fed-bundle(5) ($n lines)"
else
	fail "recipe extracted" "$(cat "$T/recipe.sh")"
	exit 1
fi

# audit BUNDLE PUBKEY: run the recipe under the page's own file names in
# a fresh directory; print "valid" when every command succeeded.
audit() {
	rm -rf "$T/a"
	mkdir "$T/a"
	cp "$1" "$T/a/round-42.fed"
	cp "$2" "$T/a/coordinator.pub"
	if (cd "$T/a" && sh -e "$T/recipe.sh") >"$T/audit.out" 2>&1; then
		echo valid
	else
		echo invalid
	fi
}

# verdict NAME WANT BUNDLE [STEP]: the recipe and fed-verify -p both reach
# WANT; a rejection must come from the step whose output matches STEP.
verdict() {
	name=$1 want=$2 b=$3 step=${4:-}
	got=$(audit "$b" coordinator.pub)
	if [ "$got" = "$want" ]; then
		pass "$name: auditor says $want"
	else
		fail "$name: auditor" "says $got, want $want: $(tail -3 "$T/audit.out")"
	fi
	if [ -n "$step" ] && ! tail -4 "$T/audit.out" | grep -q -- "$step"; then
		fail "$name: auditor's failing step" "not '$step': $(tail -3 "$T/audit.out")"
	fi
	fed-verify -p coordinator.pub "$b" >"$T/v.out" 2>"$T/v.err"
	st=$?
	case $want.$st in
	valid.0|invalid.1)
		pass "$name: fed-verify agrees (exit $st)" ;;
	*)
		fail "$name: fed-verify" "exit $st: $(cat "$T/v.err")" ;;
	esac
}

# repack DIR OUT MEMBER...: a ustar archive as fed writes them.
repack() {
	d=$1 o=$2
	shift 2
	(cd "$d" && tar --format=ustar --owner=0 --group=0 --numeric-owner \
	    --mode=0644 --mtime=@0 -cf "$o" "$@")
}

fed-sign -G -n -p coordinator.pub -s coordinator.sec 2>keyid.err
fed-sign -G -n -p mallory.pub -s mallory.sec 2>/dev/null
id=$(openssl pkey -pubin -in coordinator.pub -outform DER | sha256sum |
    cut -c1-16)
mid=$(openssl pkey -pubin -in mallory.pub -outform DER | sha256sum |
    cut -c1-16)
check "KEYID by openssl is the one fed-sign printed" \
    grep -qx "fed-sign: key $id" keyid.err

fed-init -a mlp:16-8-4 -s 7 -o plain.fed
fed-sign -s coordinator.sec -o good.fed plain.fed

# The valid bundle: both say valid, and the digest the recipe prints is
# the one fed-verify reports.
verdict "signed bundle" valid good.fed
check "openssl reported the signature verified" \
    grep -qx 'Signature Verified Successfully' "$T/audit.out"
dig=$(tail -1 "$T/audit.out")
check "recipe's digest is fed-verify's" \
    grep -q "^good.fed: OK $dig " "$T/v.out"

mkdir x
(cd x && tar -xf ../good.fed)
sig=signatures/$id.sig
set -- manifest.json tensors.safetensors "$sig"

# Control: repacked untouched, the bundle is still valid for both.
repack x "$T/repacked.fed" "$@"
verdict "repacked unchanged" valid repacked.fed

# A modified member: the last byte of the weights (a bias, zero, becomes
# a tiny finite number), same size.
cp -R x m
size=$(wc -c <m/tensors.safetensors)
printf '\001' | dd of=m/tensors.safetensors bs=1 seek=$((size - 1)) \
    conv=notrunc 2>/dev/null
repack m "$T/member.fed" "$@"
verdict "modified member" invalid member.fed \
    "tensors.safetensors: FAILED"

# A modified manifest: another round, the old signature kept.
cp -R x mf
sed 's/"round": 0/"round": 7/' x/manifest.json >mf/manifest.json
check "manifest edit took" grep -q '"round": 7' mf/manifest.json
repack mf "$T/manifest.fed" "$@"
verdict "modified manifest" invalid manifest.fed \
    "Signature Verification Failure"

# Signed by another key only.
fed-sign -s mallory.sec -o mallory.fed plain.fed
verdict "signed by another key" invalid mallory.fed \
    "Can.t open signature file"

# Another key's signature stored under the trusted KEYID.
cp -R x fs
(cd fs && tar -xOf ../mallory.fed "signatures/$mid.sig" >"$sig")
repack fs "$T/forged.fed" "$@"
verdict "another key's signature under the trusted id" invalid forged.fed \
    "Signature Verification Failure"

# A member the manifest does not list.
cp -R x un
cp x/tensors.safetensors un/state.safetensors
repack un "$T/unlisted.fed" manifest.json tensors.safetensors \
    state.safetensors "$sig"
verdict "unlisted member" invalid unlisted.fed "^cmp: "

# A symbolic link in place of the payload.
mkdir ln
cp x/manifest.json ln/
mkdir ln/signatures
cp "x/$sig" ln/signatures/
ln -s manifest.json ln/tensors.safetensors
repack ln "$T/link.fed" "$@"
verdict "symbolic link member" invalid link.fed
