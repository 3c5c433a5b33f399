# Injected failures: a full disk, a reader that goes away, a signal in the
# middle of a write, an unwritable output folder, an input that shrinks
# while it is read, two writers racing for one path.  Every one must end
# in a one-line message, a non-zero status and no partial output, with
# the inputs untouched.
. "$FED_ROOT/tests/sh/lib.sh"

fed-sign -G -n -p k.pub -s k.sec 2>/dev/null
fed-init -a mlp:50-20-3 -s 1 -o m.fed
fed-sign -s k.sec -o ms.fed m.fed
printf 'a,b,label\n' > d.csv
i=0
while [ $i -lt 60 ]; do echo "$i,$((i % 7)),$((i % 3))" >> d.csv; i=$((i + 1)); done
fed-shard -q -f csv -n 1 -p iid -o d d.csv
printf 'x,y,label\n1,2,0\n3,4,1\n' > s.csv
fed-shard -q -f csv -n 1 -p iid -o s s.csv
fed-init -a softmax:2-2 -o s0.fed
fed-train -m s0.fed -d s-000.fed -e 1 -o u.fed
sums=$(sha256sum m.fed ms.fed d.csv d-000.fed s-000.fed s0.fed u.fed)

# /dev/full: ENOSPC on standard output is exit 2 and one line.
expect_err "full disk: fed-init" 2 "No space" sh -c 'fed-init -a softmax:50-3 > /dev/full'
expect_err "full disk: fed-sign" 2 "No space" sh -c 'fed-sign -s k.sec m.fed > /dev/full'
expect_err "full disk: fed-verify -o -" 2 "No space" sh -c 'fed-verify -n -q -o - ms.fed > /dev/full'
expect_err "full disk: fed-train" 2 "No space" sh -c 'fed-train -m s0.fed -d s-000.fed > /dev/full'
expect_err "full disk: fed-merge" 2 "No space" sh -c 'fed-merge --unsigned -m s0.fed u.fed > /dev/full'

# A reader that closes the pipe early has said why (issue 23): the writer
# ends as by SIGPIPE (128+13), without a second line.
closed() { # closed STATUSFILE CMD...: run CMD into a pipe closed at once
	st=$1
	shift
	{ "$@"; echo $? > "$st"; } 2>"$T/pipe.err" | head -c 1 >/dev/null
	sleep 0.2
	test "$(cat "$st")" = 141 && test ! -s "$T/pipe.err"
}
check "closed pipe: fed-init" closed st1 fed-init -a softmax:2000-1000
fed-init -a softmax:2000-1000 -o pipe.fed
check "closed pipe: fed-sign" closed st2 fed-sign -s k.sec pipe.fed
check "closed pipe: fed-verify -o -" closed st3 fed-verify -n -q -o - pipe.fed

# A signal in the middle of a write: no file, no temporary left behind.
# A shell starts background jobs with SIGINT ignored; perl restores it.
perl -e '$SIG{INT} = "DEFAULT"; exec @ARGV or exit 127' \
    fed-init -a softmax:16384-8192 -o big.fed &
pid=$!
sleep 0.3
kill -INT $pid
wait $pid 2>/dev/null
st=$?
check "SIGINT: fed-init stopped by the signal" test $st -gt 128
check "SIGINT: no output file" test ! -e big.fed
check "SIGINT: no temporary file" sh -c '! ls big.fed.* 2>/dev/null'
fed-init -a softmax:16384-8192 -o big2.fed &
pid=$!
sleep 0.3
kill -TERM $pid
wait $pid 2>/dev/null
check "SIGTERM: no output, no temporary" sh -c '! ls big2.fed* 2>/dev/null'

# An output folder that cannot be written: exit 2, one line, nothing made.
if [ "$(id -u)" -eq 0 ]; then ro=/proc/self; else mkdir ro && chmod 555 ro; fi
ro=${ro:-ro}
expect "unwritable folder: fed-init" 2 fed-init -a softmax:4-2 -o $ro/x.fed
expect "unwritable folder: fed-sign" 2 fed-sign -s k.sec -o $ro/x.fed m.fed
expect "unwritable folder: fed-verify" 2 fed-verify -n -o $ro/x.fed ms.fed
expect "unwritable folder: fed-shard" 2 fed-shard -q -f csv -o $ro/x d.csv
expect "unwritable folder: fed-train" 2 fed-train -m s0.fed -d s-000.fed -o $ro/x.fed
expect "unwritable folder: fed-merge" 2 fed-merge --unsigned -m s0.fed -o $ro/x.fed u.fed
expect "unwritable key folder: fed-sign -G" 2 fed-sign -G -n -p $ro/a.pub -s $ro/a.sec

# An input that shrinks while it is read: rejected, no output written.
fed-init -a softmax:8192-8192 -s 2 -o shrink.fed
fed-sign -s k.sec -o shrunk-out.fed shrink.fed 2>"$T/shrink.err" &
pid=$!
sleep 0.05
truncate -s 1000000 shrink.fed
wait $pid 2>/dev/null
st=$?
check "shrinking input: rejected with exit 1" test $st = 1
check "shrinking input: one line" test "$(wc -l < "$T/shrink.err")" = 1
check "shrinking input: no output" sh -c '! ls shrunk-out.fed* 2>/dev/null'
rm -f shrink.fed

# Two writers racing for one path leave one whole file, never a mix.
fed-init -a softmax:3000-1000 -s 5 -o race-a.fed
fed-init -a softmax:3000-1000 -s 6 -o race-b.fed
fed-init -a softmax:3000-1000 -s 5 -o race.fed &
fed-init -a softmax:3000-1000 -s 6 -o race.fed &
wait
check "racing writers: one whole file" sh -c 'cmp -s race.fed race-a.fed || cmp -s race.fed race-b.fed'
check "racing writers: no temporaries" sh -c '! ls race.fed.* 2>/dev/null'

check "inputs never modified" sh -c "echo '$sums' | sha256sum -c --quiet"
