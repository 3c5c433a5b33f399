#!/bin/sh
# Benchmark: a model fed did not define, of over 2 GiB (512M F32 values in
# 4 tensors, written by tests/bench/big_model.py in the safetensors
# library's layout): imported with fed-init --from, 4 holders' trained
# weights turned into signed updates with fed-delta, merged with fed-merge
# (fedavg, signatures checked against a key directory), and exported again
# with fed-verify --weights.  In the same run, `openssl dgst -sha256` over
# the same bytes is the peer: over the bytes each tool reads and writes
# (the target's), and, as before, over the bytes it reads only (shown).
# A tool must write its output as well as read its inputs, and it hashes
# the output too (the manifest holds its SHA-256): a peer given only the
# inputs does a third (fed-delta) or a sixth (fed-merge) less of the
# work.  Outputs are written around the page cache (lib/dio.h), so each
# is read into it before the peer hashes it, as the inputs are: the peer
# reads every byte from memory.  Prints each step's wall time, throughput
# and peak RSS.
# Targets: fed-delta and fed-merge >= 0.8x openssl's throughput over the
# bytes read and written; fed-merge's peak RSS < 3x the model's size.
# Exit 1 when a target is missed.
# Measured on the idle machine (2026-11-30, O_DIRECT outputs and the
# one-pass merge): fed-delta 1.45x openssl over the bytes read and
# written (0.96x over those read), fed-merge 1.39x (1.21x), fed-merge's
# peak RSS 0.03x the model; before (2c04167) 0.55x and 0.48x, 2.01x.
# Again at 46b6950 (huge pages for big members, topk8, the split mlp;
# idle, 17:46): fed-delta 1.55x (1.02x), fed-merge 1.40x (1.17x), RSS
# 0.03x; fed-init --from 3.0 s, fed-delta's peak RSS 1.01x the model.
# Needs about 17 GB of disk under TMPDIR and python3-numpy, /usr/bin/time
# (scripts/deps bench).  Knobs: TENSORS ROWS COLS (default 4 16384 8192).
set -eu
cd "$(dirname "$0")/../.."
root=$(pwd)
B=${FED_BIN:-$root/build}	# FED_BIN: tools built elsewhere
PY=/usr/bin/python3
TENSORS=${TENSORS:-4} ROWS=${ROWS:-16384} COLS=${COLS:-8192}
[ -x /usr/bin/time ] || { echo "big-model.sh: needs /usr/bin/time (scripts/deps bench)" >&2; exit 2; }
$PY -c 'import numpy' 2>/dev/null || { echo "big-model.sh: needs python3-numpy" >&2; exit 2; }
W=$(mktemp -d "${TMPDIR:-/tmp}/fedbig.XXXXXX")
trap 'rm -rf "$W"' EXIT INT TERM
export OPENBLAS_NUM_THREADS=1

gen() { o=$1; shift; $PY "$root/tests/bench/big_model.py" "$o" "$TENSORS" "$ROWS" "$COLS" "$@"; }
# run NAME CMD...: CMD's wall seconds and peak RSS (KiB) into $W/NAME.t
run() {
	n=$1
	shift
	/usr/bin/time -f '%e %M' -o "$W/$n.t" "$@" >/dev/null
}
secs() { cut -d' ' -f1 "$W/$1.t"; }
rss() { cut -d' ' -f2 "$W/$1.t"; }

gen "$W/model.safetensors"
size=$(stat -c %s "$W/model.safetensors")
run init "$B/fed-init" --from "$W/model.safetensors" -o "$W/model.fed"
mkdir "$W/keys"

# Four holders: trained weights, fed-delta (timed), signed, trained file
# removed.  The peers hash what fed-delta reads (the model and the file)
# and, the second, what it writes too (the update, once it is written).
t_delta=0 t_dpeer=0 t_dpeer_rw=0 rss_delta=0
for i in 1 2 3 4; do
	gen "$W/trained.safetensors" "$i" 0.002
	cat "$W/model.fed" "$W/trained.safetensors" >/dev/null	# both in the page cache
	run peer openssl dgst -sha256 "$W/model.fed" "$W/trained.safetensors"
	run delta "$B/fed-delta" -m "$W/model.fed" -n $((1000 * i)) -o "$W/d.fed" "$W/trained.safetensors"
	cat "$W/d.fed" >/dev/null	# written around the page cache (dio.h)
	run peer_rw openssl dgst -sha256 "$W/model.fed" "$W/trained.safetensors" "$W/d.fed"
	t_delta=$(echo "$t_delta $(secs delta)" | awk '{ print $1 + $2 }')
	t_dpeer=$(echo "$t_dpeer $(secs peer)" | awk '{ print $1 + $2 }')
	t_dpeer_rw=$(echo "$t_dpeer_rw $(secs peer_rw)" | awk '{ print $1 + $2 }')
	out_delta=$(stat -c %s "$W/d.fed")
	[ "$(rss delta)" -gt "$rss_delta" ] && rss_delta=$(rss delta)
	"$B/fed-sign" -G -n -p "$W/keys/holder$i.pub" -s "$W/holder$i.sec" 2>/dev/null
	"$B/fed-sign" -s "$W/holder$i.sec" -o "$W/u$i.fed" "$W/d.fed"
	rm -f "$W/d.fed" "$W/trained.safetensors"
done

in_merge=$(cat "$W/model.fed" "$W"/u?.fed | wc -c)	# and in the page cache
run mpeer openssl dgst -sha256 "$W/model.fed" "$W"/u?.fed
run merge "$B/fed-merge" -P "$W/keys" -m "$W/model.fed" -o "$W/merged.fed" "$W"/u?.fed
cat "$W/merged.fed" >/dev/null
run mpeer_rw openssl dgst -sha256 "$W/model.fed" "$W"/u?.fed "$W/merged.fed"
out_merge=$(stat -c %s "$W/merged.fed")
rm -f "$W"/u?.fed
run export "$B/fed-verify" -n -q --weights "$W/out.safetensors" "$W/model.fed"
if cmp -s "$W/model.safetensors" "$W/out.safetensors"; then same=yes; else same=NO; fi

in_delta=$(( $(stat -c %s "$W/model.fed") + size ))
awk -v size="$size" -v mb="$(stat -c %s "$W/model.fed")" -v n="$TENSORS" \
    -v ti="$(secs init)" -v ri="$(rss init)" \
    -v td="$t_delta" -v tdp="$t_dpeer" -v rd="$rss_delta" -v ind="$in_delta" -v inm="$in_merge" \
    -v tdw="$t_dpeer_rw" -v od="$out_delta" -v tmw="$(secs mpeer_rw)" -v om="$out_merge" \
    -v tm="$(secs merge)" -v tmp="$(secs mpeer)" -v rm="$(rss merge)" \
    -v te="$(secs export)" -v re="$(rss export)" -v same="$same" 'BEGIN {
	G = 1073741824; M = 1048576
	printf "model: %d F32 tensors, %.2f GiB of weights, bundle %.2f GiB\n", n, size / G, mb / G
	printf "%-28s %7.1f s %7.0f MiB/s  peak RSS %6.0f MiB (%.2fx model)\n", "fed-init --from", ti, size / M / ti, ri / 1024, ri * 1024 / size
	printf "%-28s %7.1f s %7.0f MiB/s  peak RSS %6.0f MiB (%.2fx model)\n", "fed-delta (4 updates)", td, 4 * ind / M / td, rd / 1024, rd * 1024 / size
	printf "%-28s %7.1f s %7.0f MiB/s\n", "  openssl dgst, bytes read", tdp, 4 * ind / M / tdp
	printf "%-28s %7.1f s %7.0f MiB/s\n", "  openssl, read and written", tdw, 4 * (ind + od) / M / tdw
	printf "%-28s %7.1f s %7.0f MiB/s  peak RSS %6.0f MiB (%.2fx model)\n", "fed-merge (4 updates)", tm, inm / M / tm, rm / 1024, rm * 1024 / size
	printf "%-28s %7.1f s %7.0f MiB/s\n", "  openssl dgst, bytes read", tmp, inm / M / tmp
	printf "%-28s %7.1f s %7.0f MiB/s\n", "  openssl, read and written", tmw, (inm + om) / M / tmw
	printf "%-28s %7.1f s %7.0f MiB/s  peak RSS %6.0f MiB; identical to the input: %s\n", "fed-verify --weights", te, mb / M / te, re / 1024, same
	printf "fed-delta throughput vs openssl %.2fx (target >= 0.8); over the bytes read only %.2fx\n", tdw / td, tdp / td
	printf "fed-merge throughput vs openssl %.2fx (target >= 0.8); over the bytes read only %.2fx\n", tmw / tm, tmp / tm
	printf "fed-merge peak RSS / model      %.2fx (target < 3)\n", rm * 1024 / size
	exit !(tdw / td >= 0.8 && tmw / tm >= 0.8 && rm * 1024 / size < 3 && same == "yes")
}'
