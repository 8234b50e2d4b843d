#!/bin/bash
# Reservations in etcd (issue 17), against a real 3-member cluster on
# loopback: two users queue and get the board in order; a killed holder's
# lease expires and the next waiter gets the board within the TTL; one
# member killed and the queue goes on; a run whose lease is revoked stops
# and records why; pool:TAG picks a free tagged board; lab errors in a row
# take a board offline, pools skip it, `lock --online` returns it; all
# members down is exit 3 with nothing touched.  (About 40 s.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd.sh"
command -v qemu-system-x86_64 >/dev/null || skip_all "no qemu-system-x86_64"

export LABCTL_LABS=$T/labs LABCTL_IMAGES=$T/images LABCTL_STATE_DIR=$T/state
mkdir -p "$T/labs"
etcd_cluster 3 || { fail "the etcd cluster starts"; done_testing; exit 1; }
kill_qemus() {
	local f
	for f in "$T"/state/*/qemu.pid; do
		[ -s "$f" ] && kill -KILL "$(cat "$f" 2>/dev/null)" 2>/dev/null
	done
	return 0
}
at_exit kill_qemus

lab() {	# lab NAME TAGS [EXTRA LOCK LINES]
	cat >"$T/labs/$1.conf" <<EOF
[board]
type = qemu
tags = $2

[lock]
where = etcd
endpoints = $ETCD_ENDPOINTS
etcd_ttl = 3s
${3:-}

[watch]
timeout = 60s

[variant slow]
arch = amd64
# LHV mode, every line 100 ms late: a run of several seconds.
options = 0x410
cmdline = slow_ms=100

[variant v64]
arch = amd64
options = 0x400
EOF
}
lab eq "x86, fast"
lab eq2 "x86, t2"
# A board whose QEMU never comes up in time: every run is a lab error.
lab eb "t2" "offline_after = 2"
printf '\n[power]\ndriver = qemu\nstart_timeout = 1ms\n' >>"$T/labs/eb.conf"
host=$(hostname)
P=/labctl/lock

run_labctl build eq slow v64
is "$rc" 0 "build the variants"
cp -a "$T/images/." "$T/images.eq" 2>/dev/null

# ---------------------------------------------------------------- queue
USER=alice run_labctl lock eq --ttl 5m
is "$rc" 0 "alice locks eq in etcd"
like "$out" "^eq reserved by alice@$host until" "lock: says who and until when"
USER=bob run_labctl lock eq
is "$rc" 3 "bob without --wait: exit 3 at once"
like "$err" "eq is reserved by alice@$host since .*; by labctl lock" "bob: names alice"
USER=zed run_labctl lock eq --wait 1s
is "$rc" 3 "zed --wait 1s: exit 3 when the wait is over"
like "$err" "eq is reserved by alice@$host since" "zed: names alice"
is "$(ectl get --prefix "$P/eq/queue/" --keys-only | grep -c .)" 0 "zed left no place in line behind"

USER=bob timeout 60 "$LABCTL" lock eq --wait 40s >"$T/bob.out" 2>"$T/bob.err" &
bob=$!
for _ in $(seq 1 50); do grep -q "position 1" "$T/bob.err" 2>/dev/null && break; sleep 0.1; done
# Waiting is a watch, not polling: while bob waits 3 s, the cluster sees a
# keep-alive a second (etcd_ttl/3) and one watch, not a range every 500 ms.
calls() {
	local u
	for u in "${ETCD_URL[@]}"; do curl -s "$u/metrics"; done |
		awk '/^grpc_server_msg_received_total/ {s += $2} END {printf "%d\n", s}'
}
c0=$(calls)
sleep 3
c1=$(calls)
ok "bob's 3 s in line cost $((c1 - c0)) etcd calls (a watch and keep-alives; polling every 500 ms would be 6 more)" \
	test $((c1 - c0)) -le 6
USER=carol timeout 60 "$LABCTL" lock eq --wait 40s >"$T/carol.out" 2>"$T/carol.err" &
carol=$!
for _ in $(seq 1 50); do grep -q "position 2" "$T/carol.err" 2>/dev/null && break; sleep 0.1; done
like "$(cat "$T/bob.err")" "waiting, position 1 in line" "bob waits first in line"
like "$(cat "$T/carol.err")" "waiting, position 2 in line" "carol waits second in line"
run_labctl locks eq
like "$out" "eq +reserved +alice@$host" "locks: alice holds eq"
like "$(printf '%s\n' "$out" | grep queued | awk '{print $2}' | tr '\n' ' ')" "^bob@$host carol@$host $" \
	"locks: the queue is bob then carol, from any machine"
USER=alice run_labctl unlock eq
is "$rc" 0 "alice unlocks"
wait "$bob"
is "$?" 0 "bob gets the board"
run_labctl locks eq
like "$out" "eq +reserved +bob@$host" "bob holds it, not carol"
like "$out" "queued +carol@$host" "carol still waits"
USER=bob run_labctl unlock eq
wait "$carol"
is "$?" 0 "then carol gets it"
USER=carol run_labctl unlock eq

# ---------------------------------------------------------------- priority
lab ep "none" "priority = people"
USER=alice run_labctl lock ep --ttl 5m
USER=cibot LABCTL_CLASS=ci timeout 60 "$LABCTL" lock ep --wait 40s >"$T/ci.out" 2>"$T/ci.err" &
ci=$!
for _ in $(seq 1 50); do grep -q "position 1" "$T/ci.err" 2>/dev/null && break; sleep 0.1; done
USER=dave CI= timeout 60 "$LABCTL" lock ep --wait 40s >"$T/dave.out" 2>"$T/dave.err" &
dave=$!
for _ in $(seq 1 50); do grep -q "position 1" "$T/dave.err" 2>/dev/null && break; sleep 0.1; done
like "$(cat "$T/dave.err")" "waiting, position 1 in line" "priority = people: dave, who came after the CI job, is first in line"
run_labctl locks ep
like "$(printf '%s\n' "$out" | grep queued | awk '{print $2 "/" $4}' | tr '\n' ' ')" "^dave@$host/people cibot@$host/ci $" \
	"locks: dave (people) before the CI job"
USER=alice run_labctl unlock ep
wait "$dave"
is "$?" 0 "dave gets the board first"
run_labctl locks ep
like "$out" "queued +cibot@$host" "the CI job still waits"
USER=dave run_labctl unlock ep
wait "$ci"
is "$?" 0 "then the CI job gets it"
USER=cibot run_labctl unlock ep

# ---------------------------------------------------------------- killed holder
USER=erin "$LABCTL" run eq slow --results "$T/re" >"$T/erin.out" 2>"$T/erin.err" &
erin=$!
wait_key "$P/eq/holder"
ok "erin's run holds eq" wait_key "$P/eq/holder"
sleep 0.5
kill -KILL "$erin"
wait "$erin" 2>/dev/null
kill_qemus
t0=$(date +%s%N)
USER=frank run_labctl lock eq --wait 20s
t1=$(date +%s%N)
is "$rc" 0 "after erin's run is killed, frank gets the board"
ms=$(((t1 - t0) / 1000000))
ok "within the lease's TTL of 3 s (+1 s): ${ms} ms" test "$ms" -le 4000
USER=frank run_labctl unlock eq

# ---------------------------------------------------------------- a member down
etcd_kill 1
USER=alice run_labctl lock eq --ttl 5m
is "$rc" 0 "first member killed: alice still locks (the next endpoint answers)"
USER=bob timeout 30 "$LABCTL" lock eq --wait 20s >"$T/bob2.out" 2>"$T/bob2.err" &
bob=$!
for _ in $(seq 1 50); do grep -q "position 1" "$T/bob2.err" 2>/dev/null && break; sleep 0.1; done
USER=alice run_labctl unlock eq
wait "$bob"
is "$?" 0 "the queue goes on: bob gets it after alice"
USER=bob run_labctl unlock eq

# ---------------------------------------------------------------- revoked mid-run
USER=gina "$LABCTL" run eq slow --results "$T/rg" >"$T/gina.out" 2>"$T/gina.err" &
gina=$!
wait_key "$P/eq/holder"
sleep 1
lease=$(key_lease_hex "$P/eq/holder")
t0=$(date +%s%N)
ectl lease revoke "$lease" >/dev/null
wait "$gina"
rc=$?
t1=$(date +%s%N)
is "$rc" 3 "a run whose lease is revoked: exit 3 (a lab error)"
ms=$(((t1 - t0) / 1000000))
ok "it stopped within a keep-alive period (1 s) and its cleanup: ${ms} ms" test "$ms" -le 4000
like "$(cat "$T/gina.err")" "reservation was taken by nobody \\(its etcd lease was revoked or expired\\)" \
	"the run says why"
like "$(cat "$T"/rg/*.json)" '"LEASE_STOLEN_BY".*revoked or expired' \
	"its record has the lost lease"
like "$(cat "$T"/rg/*.json)" '"verdict": *"infra"' "its verdict is infra"
run_labctl locks eq
like "$out" "eq +free" "the board is free again"
unlike "$(ectl get /labctl/health/eq --print-value-only)" '"errors":[1-9]' \
	"a lost reservation is not counted against the board"

# ---------------------------------------------------------------- partition
# Every live member stopped (SIGSTOP, as if this host were cut off): the
# run's keep-alives go unanswered and it stops before etcd would let its
# lease expire to someone else.
USER=ian "$LABCTL" run eq slow --results "$T/ri" >"$T/ian.out" 2>"$T/ian.err" &
ian=$!
wait_key "$P/eq/holder"
sleep 1
kill -STOP "${ETCD_PID[2]}" "${ETCD_PID[3]}"
t0=$(date +%s%N)
for _ in $(seq 1 60); do grep -q "did not answer" "$T/ian.err" && break; sleep 0.1; done
t1=$(date +%s%N)
kill -CONT "${ETCD_PID[2]}" "${ETCD_PID[3]}"
wait "$ian"
is "$?" 3 "cut off from etcd mid-run: exit 3"
ms=$(((t1 - t0) / 1000000))
like "$(cat "$T/ian.err")" "taken by nobody \\(etcd did not answer for [0-9]+ ms, two keep-alive periods" \
	"the run says why"
ok "it noticed before the lease's TTL of 3 s: ${ms} ms" test "$ms" -lt 3000
ectl endpoint health >/dev/null 2>&1

# ---------------------------------------------------------------- pools
USER=alice run_labctl lock eq --ttl 5m
run_labctl --json run pool:x86 v64 --results "$T/rp"
is "$rc" 0 "pool:x86 with eq taken: the run passes"
like "$out" '"lab": *"eq2"' "it ran on eq2, the free board tagged x86"
run_labctl locks eq2
like "$out" "eq2 +free" "and released eq2 after the run"
timeout 60 "$LABCTL" run pool:fast v64 --results "$T/rp" >"$T/pool.out" 2>"$T/pool.err" &
pool=$!
for _ in $(seq 1 50); do grep -q "position 1" "$T/pool.err" 2>/dev/null && break; sleep 0.1; done
like "$(cat "$T/pool.err")" "all 1 boards tagged 'fast' are busy: waiting, position 1 in line" \
	"pool:fast, its only board held: waits in the pool's line, and says so"
USER=alice run_labctl unlock eq
wait "$pool"
is "$?" 0 "alice unlocks: the waiting pool run gets eq and passes"
USER=hugo run_labctl lock pool:fast --ttl 5m
is "$rc" 0 "lock pool:fast: reserves the free board tagged fast"
like "$out" "^eq reserved by hugo@$host until [0-9]{2}:[0-9]{2}" "it names the board and the expiry"
run_labctl locks eq
like "$out" "eq +reserved +hugo@$host" "the reservation outlives the command"
USER=hugo run_labctl unlock eq
is "$rc" 0 "and is hugo's to unlock"

# ---------------------------------------------------------------- board health
run_labctl run eb v64 --results "$T/rb"
is "$rc" 3 "eb: a lab error"
run_labctl locks eb
like "$out" "eb +free" "one lab error: still in service"
run_labctl run eb v64 --results "$T/rb"
is "$rc" 3 "eb: a second lab error in a row"
like "$err" "eb: 2 lab errors in a row: marked offline" "the run says it took eb offline"
run_labctl locks eb
like "$out" "eb +offline" "locks: eb is offline"
like "$out" "why +QEMU's QMP socket .* did not appear in time" "locks: with the last reason"
run_labctl run eb v64 --results "$T/rb2"
is "$rc" 3 "a run on an offline board: exit 3"
like "$err" "eb is offline since .* after 2 lab errors in a row \\(last: QEMU.*\\); \`labctl lock eb --online\` returns it" \
	"and says why and how to return it"
ok "nothing of it was written" test ! -e "$T/rb2"
run_labctl --json run pool:t2 v64 --results "$T/rp2"
is "$rc" 0 "pool:t2 (eb offline, eq2 free): passes"
like "$out" '"lab": *"eq2"' "the pool skipped the offline eb"
run_labctl lock eb --online
is "$rc" 0 "lock eb --online"
run_labctl locks eb
like "$out" "eb +free" "eb is back in service"

# ---------------------------------------------------------------- all down
etcd_kill 2
etcd_kill 3
run_labctl run eq v64 --results "$T/rdown"
is "$rc" 3 "every member down: exit 3"
like "$err" "etcd: no endpoint answers \\(http://127.0.0.1:[0-9]+: .*; http://127.0.0.1:[0-9]+: .*; http://127.0.0.1:[0-9]+: .*\\)" \
	"a clear message naming each endpoint"
unlike "$err" "deployed|building" "nothing built or deployed"
ok "no result written" test ! -e "$T/rdown"

done_testing
