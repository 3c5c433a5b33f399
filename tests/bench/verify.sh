#!/bin/sh
# Benchmark: fed-verify on a model bundle of over 1 GiB against
# `openssl dgst -sha256` and `sha256sum` on the same file, in the same run.
# Prints throughputs, ratios and fed-verify's peak memory.
# Target: fed-verify >= 0.9x openssl's throughput, peak memory < 64 MiB.
set -eu
cd "$(dirname "$0")/../.."
B=$(pwd)/build
dir=$(mktemp -d "${TMPDIR:-/tmp}/fedbench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
f=$dir/big.fed
"$B/fed-init" -a softmax:16384-16384 -s 1 -o "$f"
size=$(stat -c %s "$f")

best() { # best wall time of 3 runs, in seconds
	b=
	for i in 1 2 3; do
		s=$(date +%s.%N)
		"$@" >/dev/null
		e=$(date +%s.%N)
		b=$(echo "$s $e ${b:-999}" | awk '{t = $2 - $1; print (t < $3 ? t : $3)}')
	done
	echo "$b"
}
cat "$f" >/dev/null    # warm the page cache for all three
t_ossl=$(best openssl dgst -sha256 "$f")
t_sum=$(best sha256sum "$f")
t_fed=$(best "$B/fed-verify" -n -q "$f")
rss=$(/usr/bin/time -f %M "$B/fed-verify" -n -q "$f" 2>&1 >/dev/null | tail -1)
awk -v n="$size" -v o="$t_ossl" -v s="$t_sum" -v f="$t_fed" -v r="$rss" 'BEGIN {
	mb = n / 1048576
	printf "bundle           %.0f MiB\n", mb
	printf "openssl dgst     %7.0f MiB/s\n", mb / o
	printf "sha256sum        %7.0f MiB/s\n", mb / s
	printf "fed-verify       %7.0f MiB/s\n", mb / f
	printf "ratio vs openssl   %.2fx (target >= 0.90)\n", o / f
	printf "ratio vs sha256sum %.2fx\n", s / f
	printf "fed-verify peak RSS %.1f MiB (target < 64)\n", r / 1024
}'
