#!/bin/sh
# The manual pages read cleanly under both formatters a user meets:
# mandoc (its lint) and groff (what man(1) runs on Debian), with no
# warning from either, and no quotes left nested or unbalanced by a
# macro that swallowed the rest of its line.
. "$FED_ROOT/tests/sh/lib.sh"
for m in "$FED_ROOT"/man/*.[157]; do
	n=$(basename "$m")
	check "$n: mandoc lint" mandoc -Tlint -W warning "$m"
	groff -mandoc -ww -Tutf8 -z "$m" >"$T/gw" 2>&1
	if [ -s "$T/gw" ]; then
		fail "$n: groff warnings" "$(head -3 "$T/gw")"
	else
		pass "$n: groff warnings"
	fi
	for fmt in mandoc groff; do
		if [ $fmt = mandoc ]; then
			mandoc -Tutf8 "$m" 2>/dev/null | col -b >"$T/txt"
		else
			groff -mandoc -Tutf8 "$m" 2>/dev/null | col -b >"$T/txt"
		fi
		# an opening double quote before the last one closed
		if grep -n '“[^”]*“' "$T/txt" >"$T/nest"; then
			fail "$n: $fmt quotes nest" "$(head -2 "$T/nest")"
		else
			pass "$n: $fmt quotes nest"
		fi
	done
	# every reference of SEE ALSO survives: its title is printed
	grep '^\.%T ' "$m" | sed 's/^\.%T //; s/\\&//g' | while read -r t; do
		# three words in a row that carry no troff escape
		w=$(echo "$t" | awk '{ for (i = 1; i <= NF && n < 3; i++)
			if ($i ~ /\\/) { if (n < 2) { w = ""; n = 0 } else break }
			else { w = w (n++ ? " " : "") $i }
			print w }')
		tr '\n' ' ' <"$T/txt" | tr -s ' ' | grep -qF "$w" ||
			echo "$w" >>"$T/lost"
	done
	if [ -s "$T/lost" ]; then
		fail "$n: groff keeps the references" "$(head -2 "$T/lost")"
	else
		pass "$n: groff keeps the references"
	fi
	rm -f "$T/lost"
done
