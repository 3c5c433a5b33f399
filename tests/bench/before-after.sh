#!/bin/sh
# Before and after a change, in one run: builds REV (default: the parent
# of the first commit not yet in origin, or HEAD~1) in a temporary
# worktree, then runs each named benchmark (default: train gpt merge
# verify) there and here, one after the other, so both meet the same
# machine.  Each benchmark prints its own figures against its peer
# (PyTorch, numpy, openssl); this only puts the two runs side by side.
#
#     sh tests/bench/before-after.sh ca6060e train merge
#
# Not part of `make bench`: it builds a second tree (about a minute).
set -u
cd "$(dirname "$0")/../.." || exit 2
root=$(pwd)
rev=${1:-HEAD~1}
[ $# -gt 0 ] && shift
benches=${*:-train gpt merge verify}
git rev-parse --verify -q "$rev^{commit}" >/dev/null ||
	{ echo "before-after.sh: $rev: not a revision" >&2; exit 2; }
old=$(mktemp -d "${TMPDIR:-/tmp}/fedbase.XXXXXX")
cleanup() {
	git -C "$root" worktree remove --force "$old" 2>/dev/null
	rm -rf "$old"
}
trap cleanup EXIT INT TERM
git worktree add -q --detach "$old" "$rev" || exit 2
make -s -C "$old" all >/dev/null || { echo "before-after.sh: $rev does not build" >&2; exit 2; }
make -s -C "$root" all >/dev/null || exit 2
status=0
for b in $benches; do
	[ -f "$root/tests/bench/$b.sh" ] ||
		{ echo "before-after.sh: no benchmark $b" >&2; exit 2; }
	for side in before after; do
		if [ $side = before ]; then dir=$old; else dir=$root; fi
		echo "== $b, $side ($(git -C "$dir" rev-parse --short HEAD))"
		# the benchmark as that tree has it, against that tree's build
		sh "$dir/tests/bench/$b.sh" || status=1
	done
done
exit $status
