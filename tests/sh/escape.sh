# escape: option values and operands typed on the command line reach
# every message escaped (issue 19): errx and warnx in cmd/ are
# fed_exitf and fed_warnf (lib/util.h, FED_CMD), and getopt's own
# messages go through them too.  Each hostile value carries a newline
# and an ESC; the message must be one line with neither byte in it.
. "$FED_ROOT/tests/sh/lib.sh"

bad=$(printf '1\n\033[2Jfed-verify: OK')
# esc NAME PATTERN CMD...: exit 2, PATTERN matched, no raw ESC, and one
# line (getopt's messages: one line before the usage).
esc() {
	name=$1 pat=$2
	shift 2
	expect_err "$name" 2 "$pat" "$@" || return 1
	n=$(grep -c '' "$T/err")
	{ [ "$n" -eq 1 ] || sed -n 2p "$T/err" | grep -q '^usage: '; } &&
	    ! grep -q "$(printf '\033')" "$T/err" ||
	    { fail "$name (one line, escaped)" "$(od -c "$T/err" | head -3)"; return 1; }
}
esc "fed-verify -k" '^fed-verify: -k 1\\n\\x1b\[2Jfed-verify: OK: not a quorum' \
    fed-verify -k "$bad" -n x.fed
esc "fed-verify --min-round" '^fed-verify: --min-round 1\\n\\x1b' \
    fed-verify --min-round "$bad" -n x.fed
esc "fed-merge -j" '^fed-merge: -j 1\\n\\x1b' fed-merge --unsigned -j "$bad" -m m.fed u.fed
esc "fed-merge --server-lr" '^fed-merge: --server-lr 1\\n\\x1b' \
    fed-merge --unsigned --server-lr "$bad" -m m.fed u.fed
esc "fed-train -e" '^fed-train: -e 1\\n\\x1b' fed-train -e "$bad" -m m.fed -d d.fed
esc "fed-train --optimizer" '^fed-train: --optimizer 1\\n\\x1b' \
    fed-train --optimizer "$bad" -m m.fed -d d.fed
esc "fed-sample -n" '^fed-sample: -n 1\\n\\x1b' fed-sample -n "$bad" -m m.fed
esc "fed-init -s" '^fed-init: -s 1\\n\\x1b' fed-init -a softmax:2-2 -s "$bad"
esc "fed-shard -n" '^fed-shard: -n 1\\n\\x1b' fed-shard -f csv -n "$bad" -o p x.csv
esc "fed-roster holder" '^fed-roster: 1\\n\\x1b.*want name=pubkey' fed-roster "$bad"
# getopt's messages quote the option as typed
esc "unknown long option" "^fed-verify: unrecognized option '--1\\\\n\\\\x1b" \
    fed-verify "--$bad" -n x.fed
esc "unknown short option" "^fed-merge: invalid option -- '\\\\x1b'" \
    fed-merge "-$(printf '\033')" -m m.fed u.fed
esc "long option with a value it does not take" \
    "^fed-verify: option '--chain' doesn't allow an argument" fed-verify "--chain=$bad" x.fed
esc "missing value" "^fed-verify: option requires an argument -- 'k'" fed-verify -n -k
esc "missing value, long" "^fed-verify: option '--parent' requires an argument" \
    fed-verify -n --parent
