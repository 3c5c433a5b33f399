# make install puts the tools (stripped), the man pages and the completions
# where each belongs under DESTDIR and PREFIX; make uninstall takes them
# all away.  With the default PREFIX, bash (with bash-completion), zsh
# (with compinit) and fish load the installed completions with no setup by
# their user: checked in a private mount namespace where the DESTDIR tree
# lies where make install would have put it without DESTDIR.
. "$FED_ROOT/tests/sh/lib.sh"
. "$FED_ROOT/tests/sh/complete.lib"

# A make of our own, not one that happens to call this test.
unset MAKEFLAGS MAKELEVEL MFLAGS
root=$T/root
inst() { make -s -C "$FED_ROOT" "$@" DESTDIR="$root" >"$T/make.log" 2>&1; }

expect "make install" 0 inst install PREFIX=/usr

# The completion directories, as make computes them for PREFIX=/usr.
compdir() {
	make -s -C "$FED_ROOT" -f Makefile -f - PREFIX="$1" v <<-EOF
	v: ; @echo \$($2)
	EOF
}
bdir=$(compdir /usr BASHCOMP) zdir=$(compdir /usr ZSHCOMP)
fdir=$(compdir /usr FISHCOMP)

usr=$root/usr
for c in "$FED_ROOT"/cmd/fed-*.c; do
	t=$(basename "$c" .c)
	check "$t: binary" test -x "$usr/bin/$t"
	check "$t: binary mode 0755" test "$(stat -c %a "$usr/bin/$t")" = 755
	check "$t: runs" "$usr/bin/$t" --version
	check "$t: binary stripped, no debug sections" sh -c \
	    "readelf -SW '$usr/bin/$t' >'$T/sec' &&
	    ! grep -Eq '\.(debug_|symtab)' '$T/sec'"
	check "$t: man page" test -f "$usr/share/man/man1/$t.1"
	check "$t: man page mode 0644" test "$(stat -c %a "$usr/share/man/man1/$t.1")" = 644
	check "$t: bash completion" test -f "$root$bdir/$t"
	check "$t: zsh completion" test -f "$root$zdir/_$t"
	check "$t: fish completion" test -f "$root$fdir/$t.fish"
done
# The jobs (jobs/fed-*), shell scripts installed as they are.
for j in "$FED_ROOT"/jobs/fed-*; do
	t=$(basename "$j")
	check "$t: script mode 0755" test "$(stat -c %a "$usr/bin/$t")" = 755
	check "$t: runs" "$usr/bin/$t" --version
	check "$t: man page" test -f "$usr/share/man/man1/$t.1"
	check "$t: bash completion" test -f "$root$bdir/$t"
	check "$t: zsh completion" test -f "$root$zdir/_$t"
	check "$t: fish completion" test -f "$root$fdir/$t.fish"
done
check "fed-bundle(5)" test -f "$usr/share/man/man5/fed-bundle.5"
check "fed(7)" test -f "$usr/share/man/man7/fed.7"
check "installed fed(7) reads" mandoc -Tlint -W warning "$usr/share/man/man7/fed.7"
check "nothing outside PREFIX" test "$(ls "$root")" = usr
check "nothing else under PREFIX" sh -c \
    "cd '$root' && find . -type f | grep -Ev '^\./usr/(bin|share/man/man[157])/[^/]+$' |
    grep -Fv -e '.$bdir/' -e '.$zdir/' -e '.$fdir/' | cmp - /dev/null"

# PREFIX=/usr: the directories the shells search by default, asked of each
# shell with no environment of its user.
check "PREFIX=/usr: bash completions where bash-completion's pkg-config says" \
    test "$bdir" = "$(pkg-config --variable=completionsdir bash-completion)"
check "PREFIX=/usr: zsh completions in zsh's default fpath" \
    sh -c "env -i zsh -fc 'print -l \$fpath' | grep -qx '$zdir'"
check "PREFIX=/usr: fish completions in fish's default path" sh -c \
    "env -i HOME='$T' fish -c 'printf \"%s\n\" \$fish_complete_path' |
    grep -qx '$fdir'"

expect "make uninstall" 0 inst uninstall PREFIX=/usr
check "uninstall leaves no file" sh -c "find '$root' -type f | cmp - /dev/null"

# STRIP= keeps the debug information of the build (-g by default).
if readelf -S "$FED_BIN/fed-init" | grep -q '\.debug_info'; then
	expect "make install STRIP=" 0 inst install PREFIX=/usr STRIP=
	check "STRIP= installs the tools with their debug sections" sh -c \
	    "readelf -S '$usr/bin/fed-init' | grep -q '\.debug_info'"
	inst uninstall PREFIX=/usr
fi

# The default PREFIX, /usr/local.  in_place FUNC ARG...: run FUNC of
# complete.lib as a new user's shell would, with no setup of its own, on a
# system where make install ran without DESTDIR: $root/usr/local is bound
# over /usr/local and fish's directory over /usr/share/fish's, in a mount
# namespace of its own.
expect "make install (default PREFIX)" 0 inst install
mkdir "$T/home"
in_place() {
	env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$T/home" T="$T" \
	    TERM=dumb LC_ALL=C FED_ROOT="$FED_ROOT" \
	    unshare -rm sh -c '
	r=$1
	shift
	mount --bind "$r/usr/local" /usr/local || exit 6
	f=/usr/share/fish/vendor_completions.d
	if [ -d "$r$f" ]; then mount --bind "$r$f" $f || exit 6; fi
	. "$FED_ROOT/tests/sh/complete.lib"
	"$@"' sh "$root" "$@"
}
if ! unshare -rm true 2>/dev/null; then
	echo "note: no mount namespace (unshare -rm): default loading not checked"
else
	check "/usr/local/bin/fed-train in place" in_place test -x /usr/local/bin/fed-train
	touch "$T/m.fed" "$T/n.txt"
	mkdir "$T/dir"
	for sh in bash zsh fish; do
		in_place shell_offers $sh 'fed-train --encode ' >"$T/offered" 2>&1
		check "$sh loads fed-train's completion, --encode offers its schemes" \
		    has_only "$T/offered" fp16 bf16 int8 topk:
		in_place shell_offers $sh 'fed-train -m ' >"$T/offered" 2>&1
		check "$sh: fed-train -m offers *.fed and directories" \
		    has_only "$T/offered" m.fed dir -- n.txt
	done
fi
expect "make uninstall (default PREFIX)" 0 inst uninstall
check "uninstall leaves no file" sh -c "find '$root' -type f | cmp - /dev/null"
