# layout: the shape of the source tree that the house style promises
# (issue 18), checked mechanically so it stays true.  One FAIL line per
# violation, naming the file, the function or the modules involved:
#   - no include cycle among lib/ modules: module X is lib/X.c and lib/X.h;
#     X depends on Y when either of X's files includes "Y.h"; no chain of
#     dependencies may lead from a module back to itself;
#   - no lib/*.c over 800 lines;
#   - no function over 60 lines (from its opening brace to its closing
#     brace, both at column 0, house style) in lib/ and cmd/, except the
#     option tables of cmd/: main, usage and parse* functions there;
#   - every symbol lib/X.o exports starts with X_.  Exception: util, the
#     one place for the helpers every module shares, exports fed_* (the
#     error carrier), x* (allocation wrappers that exit), parse_* (number
#     parsers), hex_encode, read_file and display_name.
. "$FED_ROOT/tests/sh/lib.sh"
cd "$FED_ROOT" || exit 2

# ---- include cycles ----
for f in lib/*.c lib/*.h; do
	m=$(basename "$f"); m=${m%.*}
	sed -n 's/^#include "\([a-z0-9_]*\)\.h".*/\1/p' "$f" |
	while read -r d; do
		[ "$d" != "$m" ] && [ -f "lib/$d.h" ] && echo "$m $d"
	done
done | sort -u > "$T/edges"
cycles=$(awk '
	{ dep[$1, $2] = 1; mod[$1] = 1; mod[$2] = 1 }
	END {
		for (k in mod) for (i in mod) if (dep[i, k])
			for (j in mod) if (dep[k, j]) dep[i, j] = 1
		for (a in mod) for (b in mod)
			if (a < b && dep[a, b] && dep[b, a])
				print a " " b
	}' "$T/edges" | sort)
if [ -z "$cycles" ]; then
	pass "layout: no include cycle among lib/ modules"
else
	echo "$cycles" | while read -r a b; do
		fail "layout: include cycle" "lib/$a and lib/$b depend on each other"
	done
fi

# ---- file length ----
long=0
for f in lib/*.c; do
	n=$(wc -l < "$f")
	if [ "$n" -gt 800 ]; then
		fail "layout: file length" "$f has $n lines, limit 800"
		long=1
	fi
done
[ $long = 0 ] && pass "layout: no lib/*.c over 800 lines"

# ---- function length ----
funcs=$(awk '
	FNR == 1 { name = "" }
	/^[A-Za-z_][A-Za-z0-9_]*\(/ { name = $0; sub(/\(.*/, "", name) }
	/^\{/ { start = FNR }
	/^\}/ && start {
		n = FNR - start + 1
		exempt = FILENAME ~ /^cmd\// &&
		    (name == "main" || name == "usage" || name ~ /^parse/)
		if (n > 60 && !exempt)
			printf "%s: %s() is %d lines\n", FILENAME, name, n
		start = 0
	}' lib/*.c cmd/*.c)
if [ -z "$funcs" ]; then
	pass "layout: no function over 60 lines"
else
	echo "$funcs" | while read -r line; do
		fail "layout: function length" "$line, limit 60"
	done
fi

# ---- exported names ----
bad=0
for f in lib/*.c; do
	m=$(basename "$f" .c)
	o=$FED_BIN/lib/$m.o
	[ -f "$o" ] || { fail "layout: exports" "$o not built"; bad=1; continue; }
	for s in $(nm -g --defined-only "$o" | awk '{ print $3 }'); do
		case $s in "$m"_*) continue ;; esac
		if [ "$m" = util ]; then
			case $s in
			fed_*|x*|parse_*|hex_encode|read_file|display_name) continue ;;
			esac
		fi
		fail "layout: exports" "lib/$m.o exports $s, not ${m}_*"
		bad=1
	done
done
[ $bad = 0 ] && pass "layout: every lib module exports only its prefix"
