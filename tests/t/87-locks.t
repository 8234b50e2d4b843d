#!/bin/bash
# Reservations (issue 4): expiring leases, locally for a virtual board and
# on a lab host over ssh (a real sshd in a network namespace, board.sh) for
# a real one.  Two labctl processes contend; a holder killed on this host
# frees the board at once; one killed on another host (its own UTS
# namespace) frees it when the lease expires.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/board.sh"
command -v flock >/dev/null || skip_all "no flock(1)"

export LABCTL_LABS=$T/labs LABCTL_IMAGES=$T/images LABCTL_LOCK_DIR=$T/locks
export LABCTL_STATE_DIR=$T/state
mkdir -p "$T/labs"
cat >"$T/labs/vq.conf" <<'EOF'
[board]
type = qemu

[variant v64]
arch = amd64
options = 0x400

[variant vhang]
arch = amd64
options = 0x401
EOF
host=$(hostname)
# HH:MM, with the date in front once it is another day (a lease that ends past midnight)
hm='([0-9]{4}-[0-9]{2}-[0-9]{2} )?[0-9]{2}:[0-9]{2}'

# ---------------------------------------------------------------- local
USER=alice run_labctl lock vq --ttl 30m
is "$rc" 0 "alice locks vq"
like "$out" "^vq reserved by alice@$host until $hm" "lock: says who and until when"
USER=bob run_labctl lock vq
is "$rc" 3 "bob cannot: exit 3"
like "$err" "vq is reserved by alice@$host since $hm \\(expires $hm\\); by labctl lock" \
	"bob cannot: the issue's message, naming alice"
USER=bob run_labctl run vq v64
is "$rc" 3 "bob's run is refused: exit 3"
like "$err" "reserved by alice@$host" "bob's run: names the holder"
ok "bob's run: nothing built" test ! -e "$T/images/v64"
run_labctl --json locks vq
like "$out" '"owner":"alice@' "locks --json: alice holds it"
# a pool first: its boards' objects, in one valid JSON array
printf '[board]\ntype = qemu\npool = 2\n' >"$T/labs/vp.conf"
run_labctl --json locks vp vq
is "$rc" 0 "locks --json POOL LAB: exit 0"
is "$(printf '%s' "$out" | perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>); print join " ", map { $_->{lab} } @$j')" \
	"vq vp-1 vp-2" "locks --json POOL LAB: a JSON array of the lab and the pool's boards"
USER=alice run_labctl run vq v64
is "$rc" 0 "alice's own run uses her reservation"
run_labctl locks vq
like "$out" "vq +reserved +alice@$host" "alice's run left her reservation in place"

USER=bob run_labctl unlock vq
is "$rc" 3 "bob cannot unlock alice's reservation"
USER=bob run_labctl lock vq --steal
is "$rc" 0 "bob steals it"
like "$err" "took the reservation from alice@$host" "steal: warns, naming alice"
run_labctl locks vq
like "$out" "bob@$host" "locks: bob holds it now"
USER=alice run_labctl unlock vq --force
is "$rc" 0 "unlock --force"
run_labctl locks vq
like "$out" "vq +free" "locks: free"

# Bad input: a clear message, exit 2, nothing reserved.
run_labctl lock vq --ttl soon
is "$rc" 2 "lock --ttl soon: exit 2"
like "$err" "--ttl needs a duration" "lock --ttl soon: says what it wants"
run_labctl unlock vq extra
is "$rc" 2 "unlock with an extra argument: exit 2"
run_labctl chain vq set v64
is "$rc" 2 "chain LAB on a virtual board: exit 2"
like "$err" "virtual board" "chain LAB on a virtual board: says why"
run_labctl trust vq
is "$rc" 2 "trust on a virtual board: exit 2"
like "$err" "no ssh host key to trust" "trust on a virtual board: says why"
run_labctl locks vq
like "$out" "vq +free" "bad input reserved nothing"

# Two at once: exactly one wins.
USER=u1 "$LABCTL" lock vq --ttl 1m >"$T/c1.out" 2>&1 &
p1=$!
USER=u2 "$LABCTL" lock vq --ttl 1m >"$T/c2.out" 2>&1 &
p2=$!
wait "$p1"; r1=$?
wait "$p2"; r2=$?
is "$((r1 + r2))" 3 "two contending locks: one exit 0, one exit 3 ($r1, $r2)"
like "$(cat "$T/c1.out" "$T/c2.out")" "vq is reserved by u[12]@" "the loser names the winner"
USER=root "$LABCTL" unlock vq --force >/dev/null 2>&1

# A run holds the lease while it lasts; killed, it frees the board at once
# for the next user on this host (its pid is gone).
USER=erin "$LABCTL" run vq vhang --timeout 60s >"$T/erin.out" 2>&1 &
epid=$!
for _ in $(seq 1 200); do
	[ -s "$T/locks/vq.lease" ] && grep -q "pid=$epid" "$T/locks/vq.lease" && break
	sleep 0.1
done
ok "erin's run holds the lease" grep -q "owner=erin@" "$T/locks/vq.lease"
kill -KILL "$epid"
wait "$epid" 2>/dev/null
USER=frank run_labctl lock vq
is "$rc" 0 "after erin's run is killed, frank gets the board at once"
like "$err" "stale" "frank is told the old lease was stale"
pkill -KILL -f "qemu-system.*$T/state" 2>/dev/null
USER=frank "$LABCTL" unlock vq >/dev/null 2>&1

# ---------------------------------------------------------------- remote
why=$(board_check) || { skip "remote leases: $why"; done_testing; exit 0; }
board_start lh
LH_IP=$BOARD_IP
board_start b1
export HOME=$BOARD_HOME
echo 20 >"$BOARD_ROOT/var/lib/labctl-test/down-seconds"
cat >"$T/labs/b1.conf" <<EOF
[board]
type = pc
host = $BOARD_IP
user = $BOARD_USER
reboot = $BOARD_REBOOT_CMD
connect_timeout = 3s
down_timeout = 10s
up_timeout = 60s

[deploy]
sudo = yes

[lock]
where = host
host = $LH_IP
ttl = 3s
EOF
USER=alice run_labctl lock b1 --ttl 1m
is "$rc" 0 "a lease on the lab host"
ok "it lives on the lab host" test -s "$T/lh/root/var/tmp/labctl-leases/b1.lease"
USER=bob run_labctl reboot b1
is "$rc" 3 "bob's reboot is refused"
like "$err" "b1 is reserved by alice@$host" "bob's reboot: names alice"
USER=alice run_labctl unlock b1
is "$rc" 0 "alice unlocks"

# Carol reboots b1 from another host (own UTS namespace); her labctl dies
# while the board is down.  The lease outlives her until it expires.
unshare --uts bash -c 'hostname otherbox; USER=carol exec "$0" reboot b1' \
	"$LABCTL" >"$T/carol.out" 2>&1 &
cpid=$!
for _ in $(seq 1 100); do
	grep -q "owner=carol@otherbox" "$T/lh/root/var/tmp/labctl-leases/b1.lease" 2>/dev/null && break
	sleep 0.1
done
sleep 1.5
kill -KILL "$cpid"
wait "$cpid" 2>/dev/null
USER=dave run_labctl lock b1
is "$rc" 3 "right after carol dies her lease still holds"
like "$err" "b1 is reserved by carol@otherbox since $hm \\(expires $hm\\); labctl pid" \
	"dave is told carol (on otherbox) has it"
start=$(date +%s%N)
USER=dave run_labctl lock b1 --wait 15s
waited=$((($(date +%s%N) - start) / 1000000))
is "$rc" 0 "dave gets b1 once carol's lease expires"
ok "dave waited for the expiry (${waited} ms, ttl 3 s)" test "$waited" -ge 500 -a "$waited" -le 8000

done_testing
