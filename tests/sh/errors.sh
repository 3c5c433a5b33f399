# errors: the same failure gives the same status in every tool.  A file
# that does not exist, or a directory where a file belongs, is a system
# failure (exit 2) reported in one line that names it; a file of garbage
# where a bundle belongs is rejected input (exit 1); an unknown option is
# a usage error (2); a training run that diverges is rejected (1) whatever
# the model.  The messages differ between tools; the statuses do not.
. "$FED_ROOT/tests/sh/lib.sh"

# one NAME STATUS PATTERN CMD...: as expect, and stderr is one line that
# matches PATTERN (case does not matter: strerror says "Is a directory").
one() {
	name=$1 want=$2 pat=$3
	shift 3
	expect "$name" "$want" "$@" || return 1
	if [ "$(wc -l <"$T/err")" -ne 1 ]; then
		fail "$name (one line)" "$(wc -l <"$T/err") lines: $(head -c 300 "$T/err")"
		return 1
	fi
	grep -qi -- "$pat" "$T/err" ||
		{ fail "$name (message)" "stderr lacks '$pat': $(cat "$T/err")"; return 1; }
}

# The three bad files.
MISS=no-such.fed DIR=a-folder JUNK=garbage.fed
mkdir $DIR
head -c 4096 /dev/urandom >$JUNK

printf 'a,b,label\n0.5,1,0\n1,0.2,1\n0.3,0.3,2\n1,1,1\n0,0,0\n0.1,0.9,2\n' >t.csv
printf '\0\0\10\3\0\0\0\2\0\0\0\2\0\0\0\2\1\2\3\4\5\6\7\10' >img.idx
printf '\0\0\10\1\0\0\0\2\0\1' >lab.idx
yes 'the quick brown fox jumps over the lazy dog' | head -c 4000 >doc.txt
fed-shard -q -f csv -n 1 -o d t.csv
fed-shard -q -f text -o txt doc.txt
fed-init -a mlp:2-4-3 -s 1 -o m.fed
fed-init -a gpt:1-16-2-16 -s 1 -o g.fed
fed-train -m m.fed -d d-000.fed -o u.fed
fed-sign -G -n -p k.pub -s k.sec 2>/dev/null

# each KIND CMD...: CMD with its @ replaced by the missing file, the
# directory and the garbage file in turn.  Garbage is checked where a
# bundle or a data set belongs, not where a key does (KIND "key").
each() {
	kind=$1
	shift
	for bad in $MISS $DIR $JUNK; do
		args=
		for a in "$@"; do
			[ "$a" = @ ] && a=$bad
			args="${args:+$args }$a"
		done
		case $bad in
		$MISS) one "$args" 2 "$MISS" $args ;;
		$DIR) one "$args" 2 "$DIR.*is a directory" $args ;;
		$JUNK) [ "$kind" = key ] || one "$args" 1 "$JUNK" $args ;;
		esac
	done
}

# ---- fed-shard ----
each data fed-shard -q -o s @
each data fed-shard -q -f csv -o s @
each data fed-shard -q -f idx -o s @ lab.idx
each data fed-shard -q -f idx -o s img.idx @
one "fed-shard -f text (missing file)" 2 $MISS fed-shard -q -f text -o s $MISS
one "fed-shard: directory on stdin" 2 "stdin.*is a directory" \
    sh -c "fed-shard -q -o s - < $DIR"
expect "fed-shard: unknown option" 2 fed-shard --no-such-option -o s t.csv

# ---- fed-init: it reads no file; the one it writes ----
one "fed-init -o into a missing folder" 2 "$MISS/m.fed" \
    fed-init -a softmax:2-3 -o $MISS/m.fed
one "fed-init -o a directory" 2 "$DIR.*is a directory" \
    fed-init -a softmax:2-3 -o $DIR
expect "fed-init: unknown option" 2 fed-init --no-such-option -a softmax:2-3

# ---- fed-train ----
each bundle fed-train -m @ -d d-000.fed -o x.fed
each bundle fed-train -m m.fed -d @ -o x.fed
expect "fed-train: unknown option" 2 fed-train --no-such-option -m m.fed \
    -d d-000.fed -o x.fed

# A learning rate of a million with weight decay: the weights and the loss
# leave the floats within a few steps, for a gpt and an mlp alike.
DIVERGE="-l 1e6 --optimizer adamw --weight-decay 1"
one "fed-train: a gpt run diverges" 1 diverge \
    fed-train -m g.fed -d txt-000.fed $DIVERGE --steps 10 -o x.fed
one "fed-train: an mlp run diverges" 1 diverge \
    fed-train -m m.fed -d d-000.fed $DIVERGE --steps 10 -o x.fed
# after 4 steps the mlp's weights are still finite, its loss is not
one "fed-train: an mlp run whose loss is not finite" 1 diverge \
    fed-train -m m.fed -d d-000.fed $DIVERGE --steps 4 -o x.fed
check "fed-train: nothing written on divergence" test ! -e x.fed
rm -f x.fed

# ---- fed-eval ----
each bundle fed-eval -m @ d-000.fed
each bundle fed-eval -m m.fed @
each bundle fed-eval -m m.fed -d @
each bundle fed-eval -m m.fed -u @ d-000.fed
expect "fed-eval: unknown option" 2 fed-eval --no-such-option -m m.fed d-000.fed

# ---- fed-sample ----
each bundle fed-sample -m @ -n 4
expect "fed-sample: unknown option" 2 fed-sample --no-such-option -m g.fed

# ---- fed-sign ----
each key fed-sign -s @ -o x.fed m.fed
each bundle fed-sign -s k.sec -o x.fed @
expect "fed-sign: unknown option" 2 fed-sign --no-such-option -s k.sec m.fed

# ---- fed-verify ----
each bundle fed-verify -n @
each bundle fed-verify -n --parent @ u.fed
each key fed-verify -p @ m.fed
one "fed-verify -P (missing folder)" 2 $MISS fed-verify -P $MISS m.fed
expect "fed-verify: unknown option" 2 fed-verify --no-such-option m.fed

# ---- fed-merge: a missing file is exit 2, as in fed-verify ----
each bundle fed-merge --unsigned -m @ -o x.fed u.fed
each bundle fed-merge --unsigned -m m.fed -o x.fed @
expect "fed-merge: unknown option" 2 fed-merge --unsigned --no-such-option -m m.fed u.fed
check "nothing written by a failed run" test ! -e x.fed
