#!/bin/sh
# Benchmark: the robust rules against attackers who hold valid roster
# keys, with and without fed-merge's roster checks (issue 19).
#
# A consortium of 10 holders on Fashion-MNIST (the 60000 training images
# dealt by PART, Dirichlet(0.1) label skew by default), ARCH
# (mlp:784-200-10), R (20) rounds of one local epoch each; holders 8 and
# 9 are attackers with keys on the roster.  Three attacks:
#   1  equivocation: every round each attacker trains honestly, then
#      sends K (4) different updates, each its own delta negated and
#      scaled (by 4, 6, 8, ...), each claiming 10^15 samples, each signed
#      with its roster key (and so sample inflation too);
#   2  sample inflation alone: one update, its delta negated, claiming
#      10^15 samples (what the roster's ceiling is for);
#   3  "a little is enough" (Baruch et al. 2019): one update each, the
#      honest updates' coordinate-wise mean minus Z (1.5) times their
#      standard deviation, claiming what holder 0 claims.
#
# For every rule (fedavg, median, trimmed-mean:0.2, krum:2,
# multi-krum:2:5) the test accuracy on 9000 test images after R rounds:
#   honest     the 8 honest holders alone, fedavg
#   no attack  the 8 honest holders alone, the rule (under skewed shares
#              the robust rules lose points to fedavg without any attack)
#   unchecked  fed-merge --unsigned over everything sent
#   roster     fed-merge -R roster -p coordinator.pub --skip-bad: every
#              update of a key that signed two is left out, the
#              contributor tied to the key, samples capped at the roster's
#              max_samples (6000)
#   admit      the same with --admit over the coordinator's own held-out
#              data: the other 1000 test images (margin MARGIN, 0.05
#              nats by default); leave-one-out on the merge, so honest
#              skewed updates stay in
# The attack needs skewed shares and many rounds to hurt: on IID shares
# or in 5 rounds "a little is enough" costs trimmed-mean a point or two.
# Here it costs median and krum far more than trimmed-mean; the issue's
# target is trimmed-mean within 3 points of honest with admission.
# About an hour of one CPU (R=5 PART=iid ARCH=softmax:784-10: minutes).
# Prints the table as it goes; exits 1 when a rule under the roster
# checks ends more than 3 points below its own "no attack" under
# equivocation, or trimmed-mean with admission more than 3 points below
# the honest fedavg under attack 3.
set -u
cd "$(dirname "$0")/../.." || exit 2
root=$(pwd)
B=$root/build
FM=${FED_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
R=${R:-20}
K=${K:-4}
Z=${Z:-1.5}
MARGIN=${MARGIN:-0.05}
PART=${PART:-dirichlet:0.1}     # how the training images are dealt
ARCH=${ARCH:-mlp:784-200-10}
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
		fed-train -m "$model" -d h-00$i.fed -e 1 -s "$i" 2>train.err |
		    fed-sign -s k$i.sec -o "$dir/u$i.fed" 2>/dev/null || return 2
	done
	if [ "$attack" = alie ]; then
		for a in 8 9; do
			forge "$dir/t.fed" "holder$a" - "$Z" "$dir"/u[0-7].fed &&
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
		round "rd" "$m" "$attack" || {
			echo "$rule, $attack, $check, round $r: training:" \
			    "$(tail -n 1 train.err)" >>failures
			return 2
		}
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
echo "attack 3: each attacker signs 1 \"a little is enough\" update (z = $Z)"
echo "admit: --admit with --margin $MARGIN"
echo "honest fedavg, the 8 honest holders alone: $honest"
printf '%-16s' rule
for h in "no attack" "1 unchecked" "1 roster" "1 admit" "2 unchecked" \
    "2 roster" "2 admit" "3 roster" "3 admit"; do
	printf ' %11s' "$h"
done
echo
# within WHAT ACC BASE: is ACC no more than 3 points below BASE?
within() { awk -v b="$2" -v h="$3" 'BEGIN { exit !(b + 0 > h - 0.03) }' ||
	echo "attacks.sh: $1 lost more than 3 points" >>lost; }
for rule in fedavg median trimmed-mean:0.2 krum:2 multi-krum:2:5; do
	printf '%-16s' "$rule"
	own=$honest
	[ "$rule" = fedavg ] || own=$(lineage "$rule" none roster) || own=failed
	printf ' %11.11s' "$own"
	for attack in equiv inflate alie; do
		for check in unchecked roster admit; do
			[ $attack = alie ] && [ $check = unchecked ] && continue
			a=$(lineage "$rule" $attack $check) || a=failed
			printf ' %11.11s' "$a"
			# the roster restores the rule as it is without attack;
			# the issue's target: trimmed-mean with admission
			# within 3 points of the honest fedavg
			case $rule,$attack,$check in
			*,equiv,roster) within "$rule, $attack, $check" "$a" "$own" ;;
			trimmed*,alie,admit)
				within "$rule, $attack, $check" "$a" "$honest" ;;
			esac
		done
	done
	echo
done
[ -s failures ] && { echo; echo "failed:"; cat failures; }
[ -s lost ] && { cat lost >&2; exit 1; }
exit 0
