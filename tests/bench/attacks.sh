#!/bin/sh
# Benchmark: the robust rules against attackers who hold valid roster
# keys, with and without fed-merge's roster checks (issue 19).
#
# A consortium of 10 holders on Fashion-MNIST (IID shares of the 60000
# training images, 6000 each, or as PART deals them), softmax:784-10 (or
# ARCH), R (5) rounds of one local
# epoch each; holders 8 and 9 are attackers with keys on the roster.
# Every round each attacker trains honestly, then sends K (4) different
# updates, each its own delta negated and scaled (by 4, 6, 8, ...), each
# claiming 10^15 samples, each signed with its roster key: equivocation
# and sample inflation at once.  A second attack has each attacker send
# one update only, its delta merely negated, claiming 10^15 samples
# (inflation without equivocation: what the roster's ceiling is for).
#
# For every rule (fedavg, median, trimmed-mean:0.2, krum:2,
# multi-krum:2:5) the test accuracy on the 10000 test images after R
# rounds:
#   honest     the 8 honest holders alone, fedavg
#   unchecked  fed-merge --unsigned over everything sent
#   roster     fed-merge -R roster -p coordinator.pub --skip-bad: every
#              update of a key that signed two is left out, the
#              contributor tied to the key, samples capped at the roster's
#              max_samples (6000)
# Attack 3 is "a little is enough" (2 attackers, z = 1.5), merged under
# the roster with and without --admit over the coordinator's own held-out
# data: a tenth of the test images, set apart from the 9000 that measure
# accuracy (margin MARGIN, 0.05 nats by default).  A holder's own
# held-out share would not do: under skewed shares every other holder's
# honest update makes that holder's loss worse.
# A few minutes of one CPU.  Prints the table; exits 1 when a rule under
# the roster checks ends more than 3 points below the honest fedavg for
# the equivocation attack.
set -u
cd "$(dirname "$0")/../.." || exit 2
root=$(pwd)
B=$root/build
FM=${FED_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
R=${R:-5}
K=${K:-4}
MARGIN=${MARGIN:-0.05}
PART=${PART:-iid}               # how the training images are dealt
ARCH=${ARCH:-softmax:784-10}
[ -x "$B/fed-train" ] && [ -x "$B/tools/merge-gen" ] ||
	{ echo "attacks.sh: build first (make all)" >&2; exit 2; }
[ -r "$FM/train-images-idx3-ubyte.gz" ] ||
	{ echo "attacks.sh: no Fashion-MNIST in $FM" >&2; exit 2; }
export OPENBLAS_NUM_THREADS=1
T=$(mktemp -d "${TMPDIR:-/tmp}/fedbench.XXXXXX")
trap 'rm -rf "$T"' EXIT
PATH=$B:$PATH
cd "$T" || exit 2

fed-shard -q -f idx -n 10 -p "$PART" -s 1 -t 0.1 -o h "$FM/train-images-idx3-ubyte.gz" \
    "$FM/train-labels-idx1-ubyte.gz" || exit 2
fed-shard -q -f idx -n 1 -p iid -s 2 -t 0.1 -o te "$FM/t10k-images-idx3-ubyte.gz" \
    "$FM/t10k-labels-idx1-ubyte.gz" || exit 2
fed-init -a "$ARCH" -s 1 -o init.fed || exit 2
fed-sign -G -n -p coord.pub -s coord.sec 2>/dev/null || exit 2
holders=
for i in 0 1 2 3 4 5 6 7 8 9; do
	fed-sign -G -n -p k$i.pub -s k$i.sec 2>/dev/null || exit 2
	holders="$holders holder$i=k$i.pub:6000"
done
fed-roster $holders | fed-sign -s coord.sec -o roster.fed 2>/dev/null || exit 2

# forge OUT NAME SAMPLES Z UPDATE...: an attacker's unsigned bundle, made
# from the first UPDATE: contributor NAME, SAMPLES claimed ("-": as it
# says); with Z not "-", its delta replaced by the "a little is enough"
# one (Baruch et al. 2019): the UPDATEs' coordinate-wise mean minus Z
# times their standard deviation.
forge() {
	/usr/bin/python3 - "$@" <<'EOF'
import hashlib, io, json, struct, sys, tarfile
out, name, samples, z, updates = sys.argv[1:5] + [sys.argv[5:]]
def read(p):
    with tarfile.open(p, "r:") as t:
        return dict((m.name, t.extractfile(m).read()) for m in t.getmembers()
                    if not m.name.startswith("signatures/"))
def floats(st):
    import numpy as np
    hl = struct.unpack("<Q", st[:8])[0]
    return st[:8 + hl], np.frombuffer(st[8 + hl:], dtype="<f4")
ms = read(updates[0])
m = json.loads(ms["manifest.json"])
m["contributor"] = name
if samples != "-":
    m["samples"] = int(samples)
if z != "-":
    import numpy as np
    head = floats(ms["tensors.safetensors"])[0]
    x = np.stack([floats(read(p)["tensors.safetensors"])[1] for p in updates])
    st = head + (x.mean(0) - float(z) * x.std(0)).astype("<f4").tobytes()
    ms["tensors.safetensors"] = st
    for e in m["members"]:
        if e["name"] == "tensors.safetensors":
            e["sha256"], e["size"] = hashlib.sha256(st).hexdigest(), len(st)
ms["manifest.json"] = (json.dumps(m, indent=2, sort_keys=True) + "\n").encode()
with tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as t:
    for n in ["manifest.json"] + [e["name"] for e in m["members"]]:
        ti = tarfile.TarInfo(n)
        ti.size, ti.mode, ti.mtime = len(ms[n]), 0o644, 0
        t.addfile(ti, io.BytesIO(ms[n]))
EOF
}

acc() { fed-eval --json -m "$1" -d te-000.fed | jq -r .total.accuracy; }

# round DIR MODEL ATTACK: the updates of one round from MODEL into DIR:
# u0..u7 honest, the attackers' per ATTACK (none, equiv, inflate or alie)
round() {
	dir=$1 model=$2 attack=$3
	rm -rf "$dir" && mkdir "$dir"
	for i in 0 1 2 3 4 5 6 7 8 9; do
		fed-train -m "$model" -d h-00$i.fed -e 1 -s "$i" 2>/dev/null |
		    fed-sign -s k$i.sec -o "$dir/u$i.fed" 2>/dev/null || return 2
	done
	if [ "$attack" = alie ]; then
		for a in 8 9; do
			forge "$dir/t.fed" "holder$a" - 1.5 "$dir"/u[0-7].fed &&
			    fed-sign -s k$a.sec -o "$dir/u$a.fed" "$dir/t.fed" \
			    2>/dev/null || return 2
		done
		rm -f "$dir/t.fed"
		return 0
	fi
	for a in 8 9; do
		[ "$attack" = none ] || mv "$dir/u$a.fed" "$dir/h$a.fed"
		[ "$attack" = none ] && { rm -f "$dir/u$a.fed"; continue; }
		fs="4 6 8 10 12 14 16 18 20"
		[ "$attack" = inflate ] && fs=1
		j=0
		for f in $fs; do
			[ $j -lt "$K" ] || break
			"$B/tools/merge-gen" scale "$dir/h$a.fed" "-$f" "$dir/s.fed" &&
			    forge "$dir/t.fed" "holder$a" 1000000000000000 - \
			    "$dir/s.fed" &&
			    fed-sign -s k$a.sec -o "$dir/a$a-$f.fed" "$dir/t.fed" \
			    2>/dev/null || return 2
			j=$((j + 1))
		done
		rm -f "$dir/h$a.fed" "$dir/s.fed" "$dir/t.fed"
	done
}

# lineage RULE ATTACK CHECK: R rounds; prints the final accuracy.  A
# merge that fails leaves its one line in failures, to print under the
# table.
lineage() {
	rule=$1 attack=$2 check=$3 m=init.fed r=0
	while [ $r -lt "$R" ]; do
		round "rd" "$m" "$attack" || return 2
		case $check in
		admit)	set -- -R roster.fed -p coord.pub --skip-bad \
			    --admit te-000.test.fed --margin "$MARGIN" ;;
		roster)	set -- -R roster.fed -p coord.pub --skip-bad ;;
		*)	set -- --unsigned ;;
		esac
		fed-merge "$@" -r "$rule" -m "$m" -o next.fed rd/*.fed \
		    2>merge.err || {
			echo "$rule, $attack, $check, round $r:" \
			    "$(tail -n 1 merge.err)" >>failures
			return 2
		}
		mv next.fed "m-$r.fed"
		m=m-$r.fed r=$((r + 1))
	done
	acc "$m"
}

honest=$(lineage fedavg none roster) || exit 2
echo "Fashion-MNIST ($PART shares), $ARCH, 10 holders (2 attackers), $R rounds of 1 epoch"
echo "attack 1: each attacker signs $K updates (delta x -4, -6, ...), each claiming 10^15 samples"
echo "attack 2: each attacker signs 1 update (delta x -1) claiming 10^15 samples"
echo "honest fedavg, the 8 honest holders alone: $honest"
printf '%-18s %12s %12s %12s %12s\n' rule "1 unchecked" "1 roster" \
    "2 unchecked" "2 roster"
ok=1
for rule in fedavg median trimmed-mean:0.2 krum:2 multi-krum:2:5; do
	a=$(lineage "$rule" equiv unchecked) || a=failed
	b=$(lineage "$rule" equiv roster) || b=failed
	c=$(lineage "$rule" inflate unchecked) || c=failed
	d=$(lineage "$rule" inflate roster) || d=failed
	printf '%-18s %12s %12s %12s %12s\n' "$rule" "$a" "$b" "$c" "$d"
	awk -v b="$b" -v h="$honest" 'BEGIN { exit !(b + 0 > h - 0.03) }' ||
		ok=0
done
echo
echo "attack 3: each attacker signs 1 \"a little is enough\" update (z = 1.5)"
printf '%-18s %12s %12s\n' rule "roster" "+ --admit"
for rule in fedavg median trimmed-mean:0.2 krum:2 multi-krum:2:5; do
	a=$(lineage "$rule" alie roster) || a=failed
	b=$(lineage "$rule" alie admit) || b=failed
	printf '%-18s %12s %12s\n' "$rule" "$a" "$b"
done
[ -s failures ] && { echo; echo "failed:"; cat failures; }
[ $ok = 1 ] || { echo "attacks.sh: a rule under roster checks lost more than 3 points" >&2; exit 1; }
