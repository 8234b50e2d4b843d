#!/bin/bash
# labctl run/boot end to end on the QEMU virtual board: real GRUB on a disk
# image, real QEMU (TCG), the stand-in hypervisor chaining through the boot
# sector.  Every verdict path, chain lengths, signals, parallel boards.
. "$(dirname "$0")/lib.sh"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 missing"
[ -d /usr/lib/grub/i386-pc ] || skip_all "grub-pc-bin missing"

export LABCTL_STATE_DIR=$T/state LABCTL_IMAGES=$T/images
export LABCTL_HYPERVISOR_DIR=$TOP/hypervisor LABCTL_LABS=$T/labs
mkdir -p "$T/labs" "$T/state"
cp "$TOP/labs/qemu.conf" "$T/labs/qemu.conf"
cd "$T" || exit 1
LABCTL_TIMEOUT=120

# QEMUs of our boards, found by the state dir in their argv ("[q]" keeps
# pgrep from matching a shell whose command line holds this pattern).
qemus() { pgrep -f -- "[q]emu-system-x86_64 .*$T/state/$1" | wc -l; }
at_exit "pkill -KILL -f -- '[q]emu-system-x86_64 .*$T/state' || true"

json_get() {	# json_get FILE PERL-EXPR
	perl -MJSON::PP -e 'local $/; open my $f, "<", $ARGV[0] or die; my $j = decode_json(<$f>); print eval $ARGV[1]' "$1" "$2"
}
last_result() { ls -1 results/ 2>/dev/null | grep -E '^[0-9]{14}(-[0-9]+)?$' | sort | tail -1; }

# --- the default lab: build64 -> build32 -> build32lhv in one power cycle
run_labctl run
is "$rc" 0 "run (default lab, 3-stage chain): exit 0"
like "$out" 'PASS: ' "the summary says PASS"
like "$(printf '%s' "$out" | tr '\n' ' ')" 'stage 1 build64 .*stage 2 build32 .*stage 3 build32lhv ' \
	"summary lists the stages in order" || diag "$out" "$err"
r=$(last_result)
ok "results/<YYYYMMDDHHMMSS> exists" test -s "results/$r"
ok "results/<ts>.json exists" test -s "results/$r.json"
ok "results/<ts>.lines sidecar exists" test -s "results/$r.lines"
is "$(json_get "results/$r.json" '$j->{verdict}')" pass "json: verdict pass"
is "$(json_get "results/$r.json" 'join " ", map { $_->{variant} } @{$j->{stages}}')" \
	"build64 build32 build32lhv" "json: the chain"
is "$(json_get "results/$r.json" 'scalar grep { $_->{reached} } @{$j->{stages}}')" 3 "json: all 3 stages reached"
# The log: three banners in order, GRUB between them.
order=$(grep -n -a -E 'Stand-in Hypervisor \(labctl\) variant=|labctl-grub: default=' "results/$r" |
	sed -E 's/^([0-9]+):.*(variant=[a-z0-9]+|default=[A-Za-z0-9-]+).*/\2/' | tr '\n' ' ')
is "$order" "default=XMHF-build64 variant=build64 default=XMHF-build32 variant=build32 default=XMHF-build32lhv variant=build32lhv " \
	"log: GRUB -> build64 -> GRUB -> build32 -> GRUB -> build32lhv"
like "$(grep -a -c 'CPU(0x01): test iter' "results/$r")" '^(2[1-9]|[3-9][0-9])$|^2[5]$' "log: the second CPU iterated more than 20 times"
lines=$(grep -c '^L' "results/$r.lines")
# awk counts a last line without its newline too, as the sidecar does.
is "$lines" "$(awk 'END {print NR}' "results/$r")" "sidecar: one L record per log line"
# The grubenv chain was consumed by GRUB's save_env.
ok "the next boot would be the default entry again" \
	sh -c "\"$LABCTL\" -q deploy >/dev/null 2>&1"

# A second run: everything cached, nothing copied but the chain.
run_labctl -v run
is "$rc" 0 "second run: exit 0"
like "$err" 'deployed 0 changed files' "second run: nothing copied" || diag "$err"

# --- chains of length 1, 2, 5 and 9
cat >"$T/labs/chains.conf" <<'CONF'
[board]
type = qemu
[watch]
timeout = 60s
[variant hv64]
arch = amd64
[variant hv32]
arch = i386
[variant lhv]
arch = amd64
options = 0x400
CONF
for chain in "lhv" "hv64 lhv" "hv64 hv32 hv64 hv32 lhv" "hv64 hv32 hv64 hv32 hv64 hv32 hv64 hv32 lhv"; do
	n=$(echo $chain | wc -w)
	# shellcheck disable=SC2086
	run_labctl --json run chains $chain
	is "$rc" 0 "chain of $n: exit 0" || diag "$err"
	printf '%s' "$out" >"$T/chain.json"
	is "$(json_get "$T/chain.json" 'scalar grep { $_->{reached} } @{$j->{stages}}')" "$n" "chain of $n: every stage reached"
done
run_labctl run chains hv64 hv32 hv64 hv32 hv64 hv32 hv64 hv32 hv64 lhv
is "$rc" 2 "chain of 10 > max_stages: exit 2"
like "$err" 'longer than grub.max_stages = 9' "chain too long: the reason"

# --- a chain naming an entry that does not exist
run_labctl boot chains hv64 nosuch
is "$rc" 2 "unknown entry: exit 2"
like "$err" "no variant 'nosuch'.*variants: hv64, hv32, lhv" "unknown entry: names it and lists the known ones"

# --- every fault bit gives its verdict
cat >"$T/labs/faults.conf" <<'CONF'
[board]
type = qemu
[watch]
silence_timeout = 3s
stage_timeout = 20s
timeout = 40s
[variant hv]
arch = amd64
[variant hvfatal]
arch = amd64
options = 0x4
[variant lhv]
arch = i386
options = 0x400
[variant hang]
arch = i386
options = 0x401
[variant fatal]
arch = i386
options = 0x404
[variant triple]
arch = amd64
options = 0x402
[variant flood]
arch = i386
options = 0x408
cmdline = flood_mib=2
[variant slow]
arch = i386
options = 0x410
cmdline = slow_ms=20
CONF
check_fault() {	# check_fault NAME EXIT REASON-REGEX CHAIN...
	local name=$1 want=$2 re=$3; shift 3
	run_labctl run faults "$@"
	is "$rc" "$want" "$name: exit $want" || diag "$out" "$err"
	like "$out" "$re" "$name: $re"
}
check_fault "hang" 1 'FAIL: stage 2 \(hang\): no console output for 3.0 s' hv hang
check_fault "fatal in LHV" 1 "FAIL: stage 2 \\(fatal\\): fail pattern /Fatal: Halting!/" hv fatal
like "$out" "line [0-9]+: Fatal: Halting! Condition" "fatal: the summary quotes the line"
check_fault "fatal in the first hypervisor" 1 "FAIL: stage 1 \\(hvfatal\\): fail pattern" hvfatal lhv
check_fault "triple fault" 1 'FAIL: stage 2 \(triple\): the guest reset itself \(triple fault\?\)' hv triple
check_fault "flood" 0 'PASS' hv flood
r=$(last_result)
big=$(stat -c %s "results/$r")
[ "$big" -gt 2097152 ] && pass "flood: the log holds the 2 MiB flood ($big bytes)" || fail "flood: log size $big"
is "$(grep -a -c '^flood ' "results/$r")" 32768 "flood: every flood line arrived, none lost"
check_fault "slow" 0 'PASS' hv slow

# --- SIGINT mid-run: the log is complete and QEMU is stopped
"$LABCTL" run faults hv hang >"$T/int.out" 2>"$T/int.err" &
pid=$!
for _ in $(seq 1 200); do
	r=$(last_result)
	[ -n "$r" ] && grep -a -q 'variant=hang' "results/$r" 2>/dev/null && break
	sleep 0.1
done
kill -INT "$pid"
wait "$pid"
is "$?" 3 "SIGINT: exit 3 (infrastructure: interrupted)"
like "$(cat "$T/int.out")" 'interrupted by SIGINT' "SIGINT: the summary says so"
ok "SIGINT: the log has the hang stage's banner" grep -a -q 'variant=hang' "results/$r"
ok "SIGINT: the json was written" test -s "results/$r.json"
sleep 0.5
is "$(qemus faults)" 0 "SIGINT: no QEMU left running"

# --- SIGKILL mid-run: the log so far is on disk, QEMU dies with labctl
"$LABCTL" run faults hv hang >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 200); do
	r=$(last_result)
	[ -n "$r" ] && grep -a -q 'variant=hang' "results/$r" 2>/dev/null && break
	sleep 0.1
done
kill -KILL "$pid"
wait "$pid" 2>/dev/null
ok "SIGKILL: the log so far is on disk" grep -a -q 'variant=hang' "results/$r"
for _ in $(seq 1 40); do [ "$(qemus faults)" = 0 ] && break; sleep 0.05; done
is "$(qemus faults)" 0 "SIGKILL: QEMU does not outlive labctl (parent-death signal)"

# A QEMU that outlived its labctl anyway (started elsewhere, pid file left in
# the board's state dir) is stopped by the next run before it starts its own.
sdir=$(ls -d "$T"/state/faults-*)
qemu-system-x86_64 -S -display none -machine none -pidfile "$sdir/qemu.pid" \
	>/dev/null 2>&1 &
stale=$!
for _ in $(seq 1 100); do [ -s "$sdir/qemu.pid" ] && break; sleep 0.05; done
is "$(qemus faults)" 1 "a stale QEMU holds the board's pid file"
run_labctl run faults hv lhv
is "$rc" 0 "with a stale QEMU: the next run passes" || diag "$out" "$err"
ok "the stale QEMU was stopped" sh -c "! kill -0 $stale 2>/dev/null"
wait "$stale" 2>/dev/null
is "$(qemus faults)" 0 "no QEMU left on the board"

# --- two virtual boards at once do not mix logs or disks
sed 's/^\[board\]$/[board]\ndescription = second board/' "$T/labs/chains.conf" >"$T/labs/chains2.conf"
mkdir -p "$T/p1" "$T/p2"
(cd "$T/p1" && "$LABCTL" --json run chains hv64 lhv >out.json 2>err) &
p1=$!
(cd "$T/p2" && "$LABCTL" --json run chains2 hv32 lhv >out.json 2>err) &
p2=$!
wait "$p1"; r1=$?
wait "$p2"; r2=$?
is "$r1 $r2" "0 0" "two boards in parallel: both pass" || diag "$(cat "$T/p1/err" "$T/p2/err")"
l1=$(json_get "$T/p1/out.json" '$j->{log}')
l2=$(json_get "$T/p2/out.json" '$j->{log}')
ok "board 1's log has only its chain" sh -c "grep -a -q 'variant=hv64 ' '$T/p1/$l1' && ! grep -a -q 'variant=hv32 ' '$T/p1/$l1'"
ok "board 2's log has only its chain" sh -c "grep -a -q 'variant=hv32 ' '$T/p2/$l2' && ! grep -a -q 'variant=hv64 ' '$T/p2/$l2'"

# --- the same board twice at once: the second is refused, not mixed in
"$LABCTL" run faults hv slow >"$T/busy.out" 2>&1 &
pid=$!
for _ in $(seq 1 200); do [ "$(qemus faults)" = 1 ] && break; sleep 0.05; done
run_labctl boot faults hv lhv
is "$rc" 3 "board in use: exit 3"
like "$err" "board faults is in use by another labctl \\(pid $pid\\)" "board in use: names the holder"
wait "$pid"
is "$?" 0 "board in use: the holder's run is not disturbed" || diag "$(cat "$T/busy.out")"

done_testing
