# train-golden: the bytes fed-train writes (update bundles, optimizer
# state, residuals, the DP ledger) and fed-eval's reports, for every
# model kind and optimizer path, pinned to the SHA-256 digests in
# tests/golden/train/digests.  Refactoring the training code must not
# change one of them.  Inputs are made here, deterministically.
# FED_GOLDEN_WRITE=1 rewrites the digests file instead of checking.
. "$FED_ROOT/tests/sh/lib.sh"
golden_kernels

G=$FED_ROOT/tests/golden/train/digests

# 240 rows of 6 features and 3 classes from a fixed LCG
awk 'BEGIN { s = 7; print "a,b,c,d,e,f,label";
	for (i = 0; i < 240; i++) { line = "";
		for (j = 0; j < 6; j++) { s = (s * 1103515245 + 12345) % 2147483648;
			line = line sprintf("%.3f,", s / 2147483648) }
		print line (i % 3) } }' >c.csv
fed-shard -q -f csv --label label -n 1 -o c c.csv
mkdir -p t/de t/fr
for i in 1 2 3 4 5 6 7 8; do
	printf 'Der Hund %d schlaeft unter dem Tisch, die Katze auf dem Sofa.\n' \
	    "$i" >t/de/p$i.txt
	printf 'Le chien %d dort sous la table, le chat sur le canape.\n' \
	    "$i" >t/fr/p$i.txt
done
fed-shard -q -f text -p file -o h t/de t/fr
fed-init -a softmax:6-3 -s 1 -o soft.fed
fed-init -a mlp:6-8-3 -s 2 -o mlp.fed
fed-init -a gpt:1-16-2-16 -s 3 -o gpt.fed

tr() {      # out args...: fed-train into out
	o=$1
	shift
	fed-train "$@" -o "$o" 2>/dev/null || fail "golden: $o" "fed-train failed"
}
D="-d c-000.fed"
tr soft-sgd.fed -m soft.fed $D -e 2 -b 16
tr soft-const.fed -m soft.fed $D -e 1 -b 32 --schedule constant -l 0.1
tr mlp-sgd.fed -m mlp.fed $D -e 2 -b 8 --momentum 0 --schedule linear
tr mlp-mom.fed -m mlp.fed $D --steps 37 -b 10 --momentum 0.5 -s 4
tr mlp-adam.fed -m mlp.fed $D -e 3 -b 16 --optimizer adam -l 0.01 \
    --weight-decay 0.001
tr mlp-adamw.fed -m mlp.fed $D -e 2 -b 16 --optimizer adamw -l 0.01 \
    --weight-decay 0.1 --schedule linear
tr mlp-prox.fed -m mlp.fed $D -e 2 -b 16 --prox 0.1 --weight-decay 0.01
tr mlp-int8.fed -m mlp.fed $D -e 1 --encode int8 --stochastic-rounding
tr mlp-topk.fed -m mlp.fed $D -e 1 --encode topk:0.2 --residual mlp-res.st
tr mlp-topk2.fed -m mlp.fed $D -e 1 -s 5 --encode topk:0.2 --residual mlp-res.st
tr dp-noise.fed -m mlp.fed $D -e 2 -b 20 --dp --noise 1.1 --clip 0.5 -s 3
tr dp-eps.fed -m soft.fed $D -e 2 -b 20 --dp --epsilon 4 --delta 1e-4 -s 6
tr dp-ledger.fed -m soft.fed $D -e 1 -b 20 --dp --noise 2 -s 7 \
    --ledger dp.ledger --budget 10
H="-d h-de.fed -b 4"
tr gpt-adamw.fed -m gpt.fed $H --steps 12 -l 0.01 -s 1
tr gpt-warm.fed -m gpt.fed $H --steps 12 -l 0.01 --warmup 3 --clip 0.5 -s 2
tr gpt-adam.fed -m gpt.fed $H --steps 8 --optimizer adam --weight-decay 0.01 \
    --schedule linear --warmup 2 -s 3
tr gpt-noclip.fed -m gpt.fed $H --steps 8 --clip 0 --schedule constant -s 4
tr gpt-slices.fed -m gpt.fed $H --steps 6 --slices 2 -l 0.01 -s 5
tr gpt-vbatch.fed -m gpt.fed $H --steps 6 --v-batch 16 -l 0.01 -s 6
tr gpt-os1.fed -m gpt.fed $H --steps 5 -l 0.01 -s 7 --opt-state gpt-os.st
cp gpt-os.st gpt-os1.st
tr gpt-os2.fed -m gpt.fed $H --steps 5 -l 0.01 -s 8 --opt-state gpt-os.st
tr gpt-mde.fed -m gpt.fed $H --steps 4 -l 0.01 -s 9 --moments --warmup 0
tr gpt-mfr.fed -m gpt.fed -d h-fr.fed -b 4 --steps 4 -l 0.01 -s 9 --moments \
    --warmup 0
fed-merge --unsigned -m gpt.fed -o gpt1.fed gpt-mde.fed gpt-mfr.fed 2>/dev/null
tr gpt-m2.fed -m gpt1.fed $H --steps 4 -l 0.01 -s 10 --moments --slices 2 \
    --warmup 0
tr gpt-bf16.fed -m gpt.fed $H --steps 4 -s 11 --encode bf16
tr gpt-topk.fed -m gpt.fed $H --steps 4 -s 12 --encode topk:0.1 \
    --residual gpt-res.st
tr gpt-topk2.fed -m gpt.fed $H --steps 4 -s 13 --encode topk:0.1 \
    --residual gpt-res.st
fed-eval -m soft.fed -u soft-sgd.fed c-000.fed >eval-soft.txt 2>&1
fed-eval --json -m mlp.fed -u mlp-adam.fed c-000.fed c-000.fed \
    >eval-mlp.json 2>&1
fed-eval -m gpt.fed -u gpt-adamw.fed h-de.fed h-fr.fed >eval-gpt.txt 2>&1
fed-eval --json -m gpt1.fed h-de.fed >eval-gpt.json 2>&1
fed-sample -m gpt1.fed -p 'Der ' -n 40 -s 3 -o sample.txt 2>/dev/null

# every file made above but the inputs, by name
ls | grep -v '^\(c\|h\|t\|soft\|mlp\|gpt\)\(-000\|-de\|-fr\)\{0,1\}\.\(csv\|fed\)$' |
    grep -v '^t$\|\.lock$\|^got$' | sort | while read -r f; do
	[ -f "$f" ] && printf '%s %s\n' "$(sha256sum <"$f" | cut -c1-64)" "$f"
done >got
if [ "${FED_GOLDEN_WRITE:-0}" = 1 ]; then
	cp got "$G"
	pass "golden: digests written to $G"
	exit 0
fi
while read -r sum f; do
	g=$(awk -v f="$f" '$2 == f { print $1 }' got)
	if [ "$g" = "$sum" ]; then pass "golden: $f"; else
		fail "golden: $f" "sha256 ${g:-missing}, want $sum"; fi
done <"$G"
check "golden: nothing made beyond the digests" sh -c \
    "test \$(wc -l <got) -eq \$(wc -l <'$G')"
