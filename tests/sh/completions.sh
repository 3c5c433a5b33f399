#!/bin/sh
# completions: every tool with a bash completion in completions/ has its
# zsh and fish ones too; the bash one loads in a plain bash (no
# bash-completion package needed) and completing "fed-X -" offers every
# long option its man page lists, each of which the tool accepts.  The zsh
# and fish files name the same options and pass each shell's syntax check.
# Then in real bash (with bash-completion), zsh and fish (scripts/deps
# installs them): --encode offers the schemes fed-train(1) lists, and every
# option or operand that takes a bundle offers *.fed files and directories.
. "$FED_ROOT/tests/sh/lib.sh"
. "$FED_ROOT/tests/sh/complete.lib"

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

for sh in zsh fish; do
	command -v $sh >/dev/null 2>&1 ||
	    fail "completions: $sh" "not installed (scripts/deps check installs it)"
done
for f in "$C"/zsh/_fed-*; do
	[ -f "$f" ] && check "$(basename "$f"): zsh -n" zsh -n "$f"
done
for f in "$C"/fish/fed-*.fish; do
	[ -f "$f" ] && check "$(basename "$f"): fish -n" fish -n "$f"
done

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

# Each shell as its user has it, finding the completions of this tree:
# bash-completion and fish through XDG_DATA_DIRS, zsh through fpath.
mkdir -p xdg/bash-completion xdg/fish home
ln -s "$C/bash" xdg/bash-completion/completions
ln -s "$C/fish" xdg/fish/vendor_completions.d
export XDG_DATA_DIRS="$T/xdg" ZFPATH="$C/zsh" HOME="$T/home"

# The schemes of --encode, as man/fed-train.1 lists them.
schemes=$(sed -n 's/^\.It Fl \\-encode Ns = Ns //p' "$FED_ROOT/man/fed-train.1" |
    sed -e 's/ Ns Ar [A-Z]*//g' -e 's/Cm //g' -e 's/ | / /g' -e 's/ :/:/g')
check "fed-train(1) lists the schemes of --encode" test -n "$schemes"
# shellcheck disable=SC2086
for sh in bash zsh fish; do
	shell_offers $sh 'fed-train --encode ' >"$T/offered"
	check "$sh: fed-train --encode offers $schemes" has_only "$T/offered" $schemes
done
bash_offers fed-train --encode = '' >"$T/offered"
# shellcheck disable=SC2086
check "bash: fed-train --encode= offers $schemes" has_only "$T/offered" $schemes

# Where a bundle goes (after OPTION, or as an operand), the shells offer
# c.fed and the directory roster, not a.pub or b.sec.
while read -r tool opt; do
	for sh in bash zsh fish; do
		shell_offers $sh "$tool $opt " >"$T/offered"
		check "$sh: $tool ${opt:-operand} offers *.fed" \
		    has_only "$T/offered" c.fed roster -- a.pub b.sec
	done
done <<EOF
fed-train -m
fed-train --model
fed-train -d
fed-eval -m
fed-eval -u
fed-eval -d
fed-eval
fed-merge -m
fed-merge
fed-verify --parent
fed-verify --base
fed-init --base
fed-verify
fed-sign
fed-sample -m
EOF
