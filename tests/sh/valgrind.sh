# valgrind memcheck over a pipeline that uses every tool: no memory
# errors, no definite or indirect leaks.  (Under `make sanitize` the
# binaries carry ASan, which cannot run inside valgrind; ASan's own leak
# checker covers that build.)
. "$FED_ROOT/tests/sh/lib.sh"

if [ "${FED_SANITIZED:-0}" = 1 ]; then
	pass "valgrind: sanitized build, memcheck runs on the plain build"
	exit 0
fi
command -v valgrind >/dev/null || { fail "valgrind" "not installed"; exit 1; }
vg() {
	valgrind -q --error-exitcode=99 --leak-check=full \
	    --errors-for-leak-kinds=definite,indirect \
	    --show-leak-kinds=definite,indirect "$@"
}

printf 'a,b,c,region,label\n' > d.csv
i=0
while [ $i -lt 200 ]; do
	echo "$((i % 11)),$((i % 5)).5,$((i * 7 % 13)),r$((i % 2)),$((i % 3))" >> d.csv
	i=$((i + 1))
done
python3 - <<'PY'
import gzip, struct
img = struct.pack(">BBBBIII", 0, 0, 8, 3, 50, 4, 4) + bytes(range(256)) * 3 + bytes(32)
lab = struct.pack(">BBBBI", 0, 0, 8, 1, 50) + bytes(i % 4 for i in range(50))
open("img.gz", "wb").write(gzip.compress(img, mtime=0))
open("lab", "wb").write(lab)
PY
expect "valgrind: fed-shard csv" 0 vg fed-shard -q -f csv -p column:region -t 0.2 -o d d.csv
expect "valgrind: fed-shard idx" 0 vg fed-shard -q -f idx -n 2 -p dirichlet:0.5 -o i img.gz lab
expect "valgrind: fed-sign -G" 0 vg fed-sign -G -n -p k.pub -s k.sec
expect "valgrind: fed-init" 0 vg fed-init -a mlp:3-8-3 -s 1 -o m0.fed
expect "valgrind: fed-sign" 0 vg fed-sign -s k.sec -o m.fed m0.fed
expect "valgrind: fed-verify -o" 0 vg fed-verify -p k.pub -o mv.fed m.fed
expect "valgrind: fed-train" 0 vg fed-train -m mv.fed -d d-r0.fed -e 2 -b 8 -o u0.fed
expect "valgrind: fed-train adam, prox" 0 vg fed-train -m mv.fed -d d-r1.fed -e 1 --optimizer adam --prox 0.1 -o u1.fed
fed-train -m mv.fed -d d-r0.fed -e 1 -s 9 -o u2.fed
expect "valgrind: fed-merge fedavg" 0 vg fed-merge --unsigned -m mv.fed -o m1.fed u0.fed u1.fed
expect "valgrind: fed-merge krum" 0 vg fed-merge --unsigned -m mv.fed -r multi-krum:0:2 -o m1k.fed u0.fed u1.fed u2.fed
expect "valgrind: fed-merge trimmed mean" 0 vg fed-merge --unsigned -m mv.fed -r trimmed-mean:0.2 -o m1t.fed u0.fed u1.fed u2.fed
expect "valgrind: fed-merge fedadam" 0 vg fed-merge --unsigned -m mv.fed -r fedadam -o m1a.fed u0.fed u1.fed
expect "valgrind: fed-eval" 0 vg fed-eval -m m1.fed --json d-r0.test.fed d-r1.test.fed
expect "valgrind: fed-eval with update" 0 vg fed-eval -m mv.fed -u u0.fed d-r0.test.fed
expect "valgrind: fed-verify rejects" 1 vg fed-verify -p k.pub m0.fed
