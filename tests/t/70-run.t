#!/bin/bash
# labctl run/boot end to end on the QEMU virtual board: real GRUB on a disk
# image, real QEMU (TCG), the stand-in hypervisor chaining through the boot
# sector.  Every verdict path, chain lengths, signals, parallel boards.
. "$(dirname "$0")/lib.sh"
qemu_board_scratch
cp "$TOP/labs/qemu.conf" "$T/labs/qemu.conf"

# QEMUs of our boards, found by the state dir in their argv ("[q]" keeps
# pgrep from matching a shell whose command line holds this pattern).
qemus() { pgrep -f -- "[q]emu-system-x86_64 .*$T/state/$1" | wc -l; }

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
# Each stage begins at GRUB's own "Booting `ENTRY'" line for it: its
# start_byte is where that line starts in the raw log.
for i in 0 1 2; do
	sb=$(json_get "results/$r.json" "\$j->{stages}[$i]{start_byte}")
	v=$(json_get "results/$r.json" "\$j->{stages}[$i]{variant}")
	like "$(tail -c +$((sb + 1)) "results/$r" | head -1)" \
		"^([^A-Za-z]|\\[[0-9;]*[A-Za-z])*Booting \`XMHF-$v'" "json: stage $((i + 1)) start_byte is GRUB's Booting line for it"
done
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
silence_timeout = 10s
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
CONF
# The flood and the slow printer are judged on what arrives, not on how fast:
# 2 MiB through TCG's UART took 16 s beside the rest of make check, so they
# get their own lab with room in the stage bound (faults keeps 20 s for hangs).
cat >"$T/labs/volume.conf" <<'CONF'
[board]
type = qemu
[watch]
silence_timeout = 20s
stage_timeout = 90s
timeout = 120s
[variant hv]
arch = amd64
[variant lhv]
arch = i386
options = 0x400
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
	run_labctl run "${LAB:-faults}" "$@"
	is "$rc" "$want" "$name: exit $want" || diag "$out" "$err"
	like "$out" "$re" "$name: $re"
}
check_fault "hang" 1 'FAIL: stage 2 \(hang\): no console output for 10.0 s' hv hang
check_fault "fatal in LHV" 1 "FAIL: stage 2 \\(fatal\\): fail pattern /Fatal: Halting!/" hv fatal
like "$out" "line [0-9]+: Fatal: Halting! Condition" "fatal: the summary quotes the line"
check_fault "fatal in the first hypervisor" 1 "FAIL: stage 1 \\(hvfatal\\): fail pattern" hvfatal lhv
check_fault "triple fault" 1 'FAIL: stage 2 \(triple\): the guest reset itself \(triple fault\?\)' hv triple
LAB=volume check_fault "flood" 0 'PASS' hv flood
r=$(last_result)
big=$(stat -c %s "results/$r")
[ "$big" -gt 2097152 ] && pass "flood: the log holds the 2 MiB flood ($big bytes)" || fail "flood: log size $big"
is "$(grep -a -c '^flood ' "results/$r")" 32768 "flood: every flood line arrived, none lost"
LAB=volume check_fault "slow" 0 'PASS' hv slow

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

# --- the lab keys XMHF developers pass to bios-qemu.sh reach QEMU
gdb_port=$((20000 + RANDOM % 20000)); fwd_port=$((gdb_port + 1))
dd if=/dev/zero of="$T/extra.img" bs=1M count=4 status=none
extra_sum=$(sha256sum <"$T/extra.img")
cat >"$T/labs/extras.conf" <<CONF
[board]
type = qemu
memory = 192M
smp = 2
cpu = qemu64
gdb_port = $gdb_port
ssh_forward = $fwd_port
drives = $T/extra.img
[variant lhv]
arch = i386
options = 0x410
cmdline = slow_ms=30
CONF
"$LABCTL" run extras lhv >"$T/extras.out" 2>"$T/extras.err" &
pid=$!
qpid=
for _ in $(seq 1 200); do
	qpid=$(pgrep -f -- "[q]emu-system-x86_64 .*$T/state/extras" | head -1)
	[ -n "$qpid" ] && break
	sleep 0.05
done
qargs=$(tr '\0' ' ' <"/proc/$qpid/cmdline" 2>/dev/null)
like "$qargs" "-m 192M -smp 2 " "QEMU gets memory and smp from the lab"
like "$qargs" "-gdb tcp:127.0.0.1:$gdb_port" "QEMU gets the gdb stub port"
like "$qargs" "hostfwd=tcp:127.0.0.1:$fwd_port-:22" "QEMU forwards the ssh port"
like "$qargs" "file=$T/extra.img,index=1,media=disk,snapshot=on" "extra drive attached copy-on-write"
for _ in $(seq 1 40); do	# QEMU opens the stub while it starts
	ss -ltn 2>/dev/null | grep -q "127.0.0.1:$gdb_port " && break
	sleep 0.05
done
like "$(ss -ltn 2>/dev/null)" "127.0.0.1:$gdb_port " "the gdb stub is listening"
wait "$pid"
is "$?" 0 "run with the extra keys passes" || diag "$(cat "$T/extras.out" "$T/extras.err")"
like "$(cat "$T/extras.err")" "attach with  gdb -ex 'target remote 127.0.0.1:$gdb_port'" \
	"the gdb attach command is printed"
is "$(sha256sum <"$T/extra.img")" "$extra_sum" "the extra drive image is unchanged"

# kvm = yes: runs under KVM where KVM really runs guests, else refuses with
# the reason (a /dev/kvm that opens but hangs guests counts as no KVM).
printf '[board]\ntype = qemu\nkvm = yes\n[variant lhv]\noptions = 0x400\n' >"$T/labs/kvm.conf"
run_labctl run kvm lhv
if [ "$rc" = 0 ]; then
	pass "kvm = yes: KVM runs guests here and the run passes"
	like "$out" 'PASS' "kvm = yes: PASS"
else
	is "$rc" 3 "kvm = yes where KVM does not run guests: exit 3"
	like "$err" 'asks for KVM \(kvm = yes\) but KVM does not run guests here: .*; use kvm = auto or no' \
		"kvm = yes without a working KVM: says why and what to do"
fi
printf '[board]\ntype = qemu\nkvm = auto\n[variant lhv]\noptions = 0x400\n' >"$T/labs/kvmauto.conf"
run_labctl run kvmauto lhv
is "$rc" 0 "kvm = auto always runs (KVM or TCG)" || diag "$err"

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
"$LABCTL" run volume hv slow >"$T/busy.out" 2>&1 &
pid=$!
for _ in $(seq 1 200); do [ "$(qemus volume)" = 1 ] && break; sleep 0.05; done
run_labctl boot volume hv lhv
is "$rc" 3 "board in use: exit 3"
like "$err" "volume is reserved by [^ ]+@[^ ]+ since ([0-9]{4}-[0-9]{2}-[0-9]{2} )?[0-9:]+ \\(expires ([0-9]{4}-[0-9]{2}-[0-9]{2} )?[0-9:]+\\); labctl pid $pid" "board in use: names the holder"
wait "$pid"
is "$?" 0 "board in use: the holder's run is not disturbed" || diag "$(cat "$T/busy.out")"

done_testing
