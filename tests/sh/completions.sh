#!/bin/sh
# completions: every tool with a bash completion in completions/ has its
# zsh and fish ones too; the bash one loads in a plain bash (no
# bash-completion package needed) and completing "fed-X -" offers every
# long option its man page lists, each of which the tool accepts.  The zsh
# and fish files name the same options, and are syntax-checked when those
# shells are installed (they are not by default: then a note, no PASS).
. "$FED_ROOT/tests/sh/lib.sh"

C=$FED_ROOT/completions
command -v bash >/dev/null 2>&1 || { fail "completions" "no bash"; exit 1; }

# long_opts TOOL: the long options of the man page's option list.
long_opts() {
	grep '^\.It Fl' "$FED_ROOT/man/$1.1" |
	    grep -o 'Fl \\-[a-z][a-z0-9-]*' | sed 's/^Fl \\-/--/' | sort -u
}

# complete_words TOOL WORD...: what the bash completion offers for the
# command line "TOOL WORD...", the last word being completed.
complete_words() {
	bash -c '
	f=$1 tool=$2
	shift 2
	. "$f" || exit 3
	spec=$(complete -p "$tool" 2>/dev/null) || exit 4
	case $spec in *" -F "*) ;; *) exit 5 ;; esac
	fn=${spec#* -F }
	fn=${fn%% *}
	COMP_WORDS=("$tool" "$@")
	COMP_CWORD=$#
	COMP_LINE="$tool $*"
	COMP_POINT=${#COMP_LINE}
	"$fn" "$tool" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
	printf "%s\n" "${COMPREPLY[@]}"
	' bash "$C/bash/$1" "$@"
}

for f in "$C"/bash/fed-*; do
	[ -f "$f" ] || continue
	tool=$(basename "$f")
	check "$tool: zsh completion exists" test -f "$C/zsh/_$tool"
	check "$tool: fish completion exists" test -f "$C/fish/$tool.fish"
	check "$tool: bash completion parses" bash -n "$f"
	if ! [ -f "$FED_ROOT/man/$tool.1" ]; then
		fail "$tool" "no man page to take the long options from"
		continue
	fi
	long_opts "$tool" >"$T/opts"
	if ! [ -s "$T/opts" ]; then
		fail "$tool" "no long options in man/$tool.1"
		continue
	fi
	complete_words "$tool" - >"$T/offered" 2>"$T/cerr"
	st=$?
	if [ "$st" -ne 0 ] || [ -s "$T/cerr" ]; then
		fail "$tool: bash completion loads" \
		    "exit $st: $(head -c 300 "$T/cerr")"
		continue
	fi
	pass "$tool: bash completion loads in bash -c"
	missing='' zmissing='' fmissing='' unknown=''
	while read -r o; do
		grep -qx -- "$o" "$T/offered" || missing="$missing $o"
		# zsh: --opt[descr], --opt=[descr] or {-o,--opt}'[descr].
		grep -q -- "${o}[]=+}[]" "$C/zsh/_$tool" 2>/dev/null ||
		    zmissing="$zmissing $o"
		grep -Eq -- "-l ${o#--}( |\$)" "$C/fish/$tool.fish" \
		    2>/dev/null || fmissing="$fmissing $o"
		if [ -x "$FED_BIN/$tool" ]; then
			timeout 10 "$FED_BIN/$tool" "$o" </dev/null >/dev/null \
			    2>"$T/oerr"
			grep -q 'unrecognized option' "$T/oerr" &&
			    unknown="$unknown $o"
		fi
	done <"$T/opts"
	n=$(grep -c '' "$T/opts")
	if [ -z "$missing" ]; then
		pass "$tool: bash completes - to its $n long options"
	else
		fail "$tool: bash completion of -" "does not offer$missing"
	fi
	if [ -z "$zmissing" ]; then
		pass "$tool: zsh completion names its long options"
	else
		fail "$tool: zsh completion" "lacks$zmissing"
	fi
	if [ -z "$fmissing" ]; then
		pass "$tool: fish completion names its long options"
	else
		fail "$tool: fish completion" "lacks$fmissing"
	fi
	if [ -x "$FED_BIN/$tool" ]; then
		if [ -z "$unknown" ]; then
			pass "$tool: accepts every long option its page lists"
		else
			fail "$tool: options of the man page" \
			    "the tool does not know$unknown"
		fi
	fi
done

if command -v zsh >/dev/null 2>&1; then
	for f in "$C"/zsh/_fed-*; do
		[ -f "$f" ] && check "$(basename "$f"): zsh -n" zsh -n "$f"
	done
else
	echo "note: zsh not installed, zsh completions not syntax-checked"
fi
if command -v fish >/dev/null 2>&1; then
	for f in "$C"/fish/fed-*.fish; do
		[ -f "$f" ] && check "$(basename "$f"): fish -n" fish -n "$f"
	done
else
	echo "note: fish not installed, fish completions not syntax-checked"
fi

# Arguments of the integrity tools complete to the right kind of file.
# offers YES [NO]: the last completion offered YES and not NO.
offers() {
	grep -qx -- "$1" "$T/offered" || return 1
	[ $# -lt 2 ] || ! grep -qx -- "$2" "$T/offered"
}
touch a.pub b.sec c.fed
mkdir roster
if [ -f "$C/bash/fed-verify" ]; then
	complete_words fed-verify -p '' >"$T/offered" 2>/dev/null
	check "fed-verify -p completes public keys, not bundles" \
	    offers a.pub c.fed
	complete_words fed-verify -P '' >"$T/offered" 2>/dev/null
	check "fed-verify -P completes directories" offers roster a.pub
	complete_words fed-verify --key-dir = '' >"$T/offered" 2>/dev/null
	check "fed-verify --key-dir= completes directories" offers roster
	complete_words fed-verify -q '' >"$T/offered" 2>/dev/null
	check "fed-verify completes bundle operands" offers c.fed
fi
if [ -f "$C/bash/fed-sign" ]; then
	complete_words fed-sign -s '' >"$T/offered" 2>/dev/null
	check "fed-sign -s completes secret keys" offers b.sec a.pub
fi
if [ -f "$C/bash/fed-init" ]; then
	complete_words fed-init -a so >"$T/offered" 2>/dev/null
	check "fed-init -a completes architectures" offers softmax:784-10
fi
