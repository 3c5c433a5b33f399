# verify-golden: fed-verify against cases stored as data.
#   tests/golden/verify/cases: STATUS | ARGUMENTS | EXPECTED LINE over the
#     bundles and keys beside it (valid models, updates, data, encoded and
#     moments updates, lineage, quorum, missing files, a folder);
#   tests/hostile/expected: every stored hostile bundle, exit 1 and its
#     one-line message.
# Each runs in a copy, so the stored files are checked unchanged at the
# end against their own digests taken before any fed tool ran.
. "$FED_ROOT/tests/sh/lib.sh"

G=$FED_ROOT/tests/golden/verify
H=$FED_ROOT/tests/hostile
sums=$(cd "$FED_ROOT/tests" && sha256sum golden/verify/* hostile/*)

# ---- golden cases ----
mkdir g && cp "$G"/*.fed "$G"/*.pub g/ && mkdir g/dir
cd g
n=0
while IFS= read -r line; do
	case $line in '#'*|'') continue ;; esac
	want_st=${line%% | *}
	rest=${line#* | }
	args=${rest%% | *}
	want=${rest#* | }
	[ "$want" = "$rest" ] && want=
	n=$((n + 1))
	name="golden $n: fed-verify $args"
	sh -c "fed-verify $args" >"$T/out" 2>"$T/err"
	st=$?
	if [ "$st" -eq 0 ]; then got=$(cat "$T/out"); else got=$(cat "$T/err"); fi
	if [ "$st" -ne "$want_st" ]; then
		fail "$name" "exit $st, want $want_st: $(head -c 300 "$T/err")"
	elif [ "$got" != "$want" ]; then
		fail "$name" "got '$got', want '$want'"
	else
		pass "$name"
	fi
done < "$G/cases"
check "golden: cases read" test "$n" -ge 25
# the digests fed-verify reports are those of the manifests, by sha256sum
for f in m0.fed u.fed m1.fed data.fed; do
	d=$(tar -xOf "$f" manifest.json | sha256sum | cut -c1-64)
	check "golden: $f digest is sha256sum's" \
	    grep -q "^0 | [^|]*$f | $f: OK sha256:$d " "$G/cases"
done
cd "$T"

# ---- the stored hostile corpus ----
mkdir h && cp "$H"/*.fed "$H"/good.fed.ok "$H"/a.pub h/
cd h
n=0
while IFS="	" read -r f msg; do
	case $f in '#'*|'') continue ;; esac
	n=$((n + 1))
	expect "hostile: $f" 1 fed-verify -p a.pub "$f" &&
	    check "hostile: $f message" test "$(cat "$T/err")" = \
	    "fed-verify: $f: $msg"
done < "$H/expected"
check "hostile: every stored bundle has its message" \
    test "$n" -eq "$(ls "$H"/*.fed | wc -l)"
expect "hostile: the control is valid" 0 fed-verify -p a.pub good.fed.ok
cd "$T"

check "stored cases never modified" sh -c \
    "cd '$FED_ROOT/tests' && echo '$sums' | sha256sum -c --quiet"
