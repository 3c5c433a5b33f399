# net-fed7: every command of fed(7)'s DEPLOYMENT section, run as it is
# written: its literal blocks, taken from man/fed.7, with /srv/fed,
# /srv/india and /shared/fed moved under the test's folder, the
# coordinator (nginx) and india each in a network namespace of their own
# (fed.example.org is 10.203.0.1 in india's, through /etc/netns), chile on
# the shared folder; crontab lines run their command.  Then round 0's
# updates of both holders are merged into round 1.  A block added to the
# section without a place here fails the count.  Needs root, ip(8),
# nginx and curl.
. "$FED_ROOT/tests/sh/lib.sh"
. "$FED_ROOT/tests/sh/net.lib"
net_skip && exit 0
NH=1
chmod 0711 "$T"
cleanup() {
	net_nginx_stop "$T/srv/fed/run" TERM
	net_down
	rm -rf "/etc/netns/$(net_ns 1)" "$T"
	rmdir /etc/netns 2>/dev/null
}
trap cleanup EXIT
trap 'exit 2' HUP INT TERM
net_up 1 || { fail "net-fed7" "cannot make the namespaces"; exit 1; }
mkdir -p "/etc/netns/$(net_ns 1)" &&
    echo "$NET_COORD fed.example.org" >"/etc/netns/$(net_ns 1)/hosts"

# The blocks, one file each, escapes undone and paths moved.
awk '/^\.Sh DEPLOYMENT/ { on = 1; next } /^\.Sh / { on = 0 }
    on && /^\.Bd -literal/ { n++; inb = 1; next }
    inb && /^\.Ed/ { inb = 0; next }
    inb { gsub(/\\e/, "\\"); print > ("block-" n) }' "$FED_ROOT/man/fed.7"
for b in block-*; do
	sed -i -e "s|/srv/|$T/srv/|g" -e "s|/shared/fed|$T/srv/fed|g" "$b"
done
check "fed(7) DEPLOYMENT: 8 blocks, each run here" test "$(ls block-* | wc -l)" -eq 8
cron() { sed 's/^[^ ]* [^ ]* [^ ]* [^ ]* [^ ]*  *//' "$1"; }
mkdir -p srv/india srv/chile ca

# The holders' keys (block 1), india's and chile's.
expect "india's key pair" 0 sh -e block-1
sed 's/india/chile/g' block-1 >block-1c
expect "chile's key pair" 0 sh -e block-1c
cp srv/india/india.pub srv/chile/chile.pub ca/
# The site (block 2) and the certificates (block 3), in the coordinator's
# folder; the web server in its namespace (block 4).
expect "the coordinator's site and round 0" 0 sh -c "cd ca && sh -e ../block-2"
check "round 0 published" test "$(cat srv/fed/public/rounds/current)" = 0
expect "the certificates" 0 sh -c "cd ca && sh -e ../block-3"
expect "nginx configured and started" 0 net_exec c sh -c "cd ca && sh -e ../block-4"

# The holders' shards: 784 features, 10 classes.
awk 'BEGIN { for (j = 0; j < 784; j++) printf "p%d,", j; print "label"
    for (i = 0; i < 60; i++) { for (j = 0; j < 784; j++)
    printf "%d,", (i * 7 + j * 13) % 256; print i % 10 } }' >rows.csv
fed-shard -q -f csv --label label -n 2 -o d rows.csv
mv d-000.fed srv/india/shard.fed
mv d-001.fed srv/chile/shard.fed
for h in india chile; do cp srv/fed/public/coordinator.pub "srv/$h/"; done
cp ca/ca.pem ca/india.pem ca/india.key srv/india/

# india's job (blocks 6 and 7), over https from its namespace; chile's
# (block 8) on the shared folder.
cp block-6 srv/india/holder
chmod +x srv/india/holder
check "india's crontab runs its job" test "$(cron block-7)" = "$T/srv/india/holder"
expect_err "india's job sends its update over https" 0 'update sent to https://fed.example.org/inbox/round-000/india.fed' \
    net_exec 1 sh -c "$(cron block-7)"
expect_err "chile's job on the shared folder" 0 "update sent to $T/srv/fed/inbox/round-000/chile.fed" \
    sh -c "cd srv/chile && sh -e ../../block-8"
# The coordinator's crontab line (block 5): the round closes on both.
expect "the coordinator's round" 0 sh -c "$(cron block-5)"
check "round 1 published" test "$(cat srv/fed/public/rounds/current)" = 1
check "round 1 merged india and chile" test "$(tar -xOf srv/fed/public/rounds/round-001.fed \
    manifest.json | jq -r '[.merge.updates[].contributor] | sort | join(" ")')" = "chile india"
check "nobody missing" test ! -s srv/fed/public/rounds/round-001.missing
expect "the lineage verifies" 0 fed-verify --chain -p srv/fed/public/coordinator.pub \
    -P ca --updates srv/fed/public/contrib srv/fed/public/rounds
