# Shared helpers for the shell tests; sourced by tests/sh/*.sh.
# Each check prints "PASS: name" or "FAIL: name: why"; tests/run counts them.
set -u
: "${FED_BIN:?run through tests/run}"
PATH="$FED_BIN:$PATH"
export OPENBLAS_NUM_THREADS=1 LC_ALL=C
T=$(mktemp -d "${TMPDIR:-/tmp}/fedtest.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 2

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }

# expect NAME STATUS CMD...: run CMD, check its exit status; its stderr is
# kept in $T/err.  A rejection (1) must say why in exactly one line; a
# usage or system error (2) must say something (usage may add a synopsis).
expect() {
	name=$1 want=$2
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" -ne "$want" ]; then
		fail "$name" "exit $got, want $want: $(head -c 300 "$T/err")"
		return 1
	fi
	if [ "$want" -eq 1 ] && [ "$(wc -l <"$T/err")" -ne 1 ]; then
		fail "$name" "want one line on stderr, got $(wc -l <"$T/err")"
		return 1
	fi
	if [ "$want" -eq 2 ] && ! grep -q '^fed-\|^usage:' "$T/err"; then
		fail "$name" "no message on stderr"
		return 1
	fi
	pass "$name"
}

# expect_err NAME STATUS PATTERN CMD...: as expect, and stderr matches.
expect_err() {
	name=$1 want=$2 pat=$3
	shift 3
	expect "$name" "$want" "$@" || return 1
	grep -q -- "$pat" "$T/err" ||
		{ fail "$name (message)" "stderr lacks '$pat': $(cat "$T/err")"; return 1; }
}

# check NAME CMD...: a plain assertion.
check() {
	name=$1
	shift
	if "$@" >/dev/null 2>&1; then pass "$name"; else fail "$name" "$*"; fi
}

# pages DIR: three short pages each of German (DIR/de) and French
# (DIR/fr), for a tiny language model's data set.
pages() {
	mkdir -p "$1/de" "$1/fr"
	for i in 1 2 3; do
		printf 'Der Hund %d schläft unter dem Tisch.\n' "$i" >"$1/de/p$i.txt"
		printf 'Le chien %d dort sous la table.\n' "$i" >"$1/fr/p$i.txt"
	done
}

# needs NAME [torch]: whether Fashion-MNIST (and, given torch, Debian's
# PyTorch) is there; if not, one FAIL line for the test NAME and false,
# so that a test starts `needs NAME || exit 0`.
FMNIST=/usr/share/datasets/fashion-mnist
needs() {
	if [ "${2:-}" = torch ] && ! /usr/bin/python3 -c 'import torch, numpy' 2>/dev/null; then
		fail "$1" "/usr/bin/python3 cannot import torch (sh scripts/deps check installs python3-torch)"
		return 1
	fi
	if [ ! -r "$FMNIST/train-images-idx3-ubyte.gz" ]; then
		fail "$1" "$FMNIST: Fashion-MNIST is not installed"
		return 1
	fi
}

# golden_kernels: for a test that pins bytes of BLAS work to digests.
# Those bytes depend on OpenBLAS's kernels, which it picks by processor
# (an AMD EPYC's Zen kernels round otherwise than the SkylakeX ones of an
# Intel Xeon), so the digests are made with the generic x86-64 kernels,
# which every x86-64 processor runs.
golden_kernels() {
	OPENBLAS_CORETYPE=Prescott
	export OPENBLAS_CORETYPE
}

# encoded: the encoding tests' fixture, over pages(): the German shard
# h-de.fed, the tiny model m0.fed, its plain update u-f32.fed; then
# train OUT [fed-train options] trains another update like it, and
# field BUNDLE FILTER prints jq's FILTER of its manifest.
encoded() {
	pages t
	fed-shard -q -f text -p file -o h t/de t/fr
	fed-init -a gpt:1-16-2-16 -s 1 -o m0.fed
	train() {
		o=$1
		shift
		fed-train -m m0.fed -d h-de.fed --steps 2 -b 4 -l 0.01 --warmup 0 \
		    --schedule constant -s 5 --name de -o "$o" "$@"
	}
	field() { tar -xOf "$1" manifest.json | jq -c "$2"; }
	train u-f32.fed
}

# pyref FILE: starts the Python module FILE of a test's reference code,
# which can then import tests/sh/rebundle.py.
pyref() {
	printf 'import sys\nsys.path.insert(0, "%s/tests/sh")\n' "$FED_ROOT" >"$1"
}

# rejected LABEL SRC VARIANT...: a test's evil.py (SRC OUT VARIANT
# TESTS_SH) rewrites the encoded update SRC into each VARIANT (and into
# "none", which must stay valid); fed-verify and fed-merge (over m0.fed,
# beside u-f32.fed) reject every variant (1) and write nothing.
rejected() {
	l=$1 src=$2
	shift 2
	python3 evil.py "$src" same.fed none "$FED_ROOT/tests/sh"
	expect "$l: rewriting keeps a valid bundle" 0 fed-verify -n -q same.fed
	for w in "$@"; do
		python3 evil.py "$src" "e-$w.fed" "$w" "$FED_ROOT/tests/sh"
		expect "$l $w: fed-verify" 1 fed-verify -n -q "e-$w.fed"
		expect "$l $w: fed-merge" 1 \
		    fed-merge --unsigned -m m0.fed -o x.fed u-f32.fed "e-$w.fed"
	done
	check "$l: no output on rejection" test ! -e x.fed
}

# rebuilt LABEL ENC: fed-merge's download of m0.fed plus u-f32.fed,
# encoded as ENC with server-side error feedback, rebuilds (fed-merge
# --apply) the merged model byte for byte.
rebuilt() {
	expect "download: $1 with error feedback" 0 fed-merge --unsigned \
	    -m m0.fed --download step.fed --download-encode "$2" \
	    --residual srv.st -o m3.fed u-f32.fed
	expect "download: rebuilt from a $1 step" 0 \
	    fed-merge -m m0.fed --apply step.fed -o held.fed
	check "download: the same model" cmp -s held.fed m3.fed
}
