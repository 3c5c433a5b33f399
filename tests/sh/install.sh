# make install puts the tools, the man pages and the completions where each
# belongs under DESTDIR and PREFIX; make uninstall takes them all away.
. "$FED_ROOT/tests/sh/lib.sh"

# A make of our own, not one that happens to call this test.
unset MAKEFLAGS MAKELEVEL MFLAGS
root=$T/root
inst() { make -s -C "$FED_ROOT" "$@" DESTDIR="$root" PREFIX=/usr >"$T/make.log" 2>&1; }

expect "make install" 0 inst install

usr=$root/usr
for c in "$FED_ROOT"/cmd/fed-*.c; do
	t=$(basename "$c" .c)
	check "$t: binary" test -x "$usr/bin/$t"
	check "$t: binary mode 0755" test "$(stat -c %a "$usr/bin/$t")" = 755
	check "$t: runs" "$usr/bin/$t" --version
	check "$t: man page" test -f "$usr/share/man/man1/$t.1"
	check "$t: man page mode 0644" test "$(stat -c %a "$usr/share/man/man1/$t.1")" = 644
	check "$t: bash completion" test -f "$usr/share/bash-completion/completions/$t"
	check "$t: zsh completion" test -f "$usr/share/zsh/site-functions/_$t"
	check "$t: fish completion" test -f "$usr/share/fish/vendor_completions.d/$t.fish"
done
check "fed-bundle(5)" test -f "$usr/share/man/man5/fed-bundle.5"
check "fed(7)" test -f "$usr/share/man/man7/fed.7"
check "installed fed(7) reads" mandoc -Tlint -W warning "$usr/share/man/man7/fed.7"
check "nothing outside PREFIX" test "$(ls "$root")" = usr
check "nothing else under PREFIX" sh -c \
    "cd '$usr' && find . -type f | grep -Ev '^\./(bin|share/man/man[157]|share/bash-completion/completions|share/zsh/site-functions|share/fish/vendor_completions\.d)/[^/]+$' | cmp - /dev/null"

expect "make uninstall" 0 inst uninstall
check "uninstall leaves no file" sh -c "find '$root' -type f | cmp - /dev/null"
