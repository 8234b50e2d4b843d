#!/bin/bash
# power/qemu (QMP), serial-capture/qemu (chardev socket) and the capture
# engine together against a real QEMU (TCG) booting the stand-in
# hypervisor, through a small driver program (qemu-capture-driver.c) that
# uses them as a run does: open power (QEMU paused), open the console,
# open the capture, mark power-on, power on, poll console + QMP.
#
# Checks: the raw log holds the boot exactly (every iteration line, none
# broken or missing, and byte for byte what -serial file: gets for the
# same boot, a 1 MiB flood included); the sidecar has one L record per
# line at the right offsets; power status off before on and on after;
# isa-debug-exit statuses (33, 35) and a triple fault's RESET/SHUTDOWN
# guest-reset events; off (quit) ends QEMU within 2 s; a driver killed
# with SIGKILL leaves a log complete up to its last byte and no QEMU; a
# QEMU left running in a state dir is killed by the next open (and a
# process that is not ours never is); attach=yes across processes; two
# runs at once do not mix.
#
# (QEMU's chardev logfile= is no reference: when a socket write returns
# EAGAIN it logs the byte, and the 16550 then sends it again, so the
# logfile has bytes twice that the socket carried once.)
. "$(dirname "$0")/lib.sh"

command -v qemu-system-x86_64 >/dev/null || skip_all "no qemu-system-x86_64"
echo 'int x;' | gcc -m32 -x c -c -o /dev/null - 2>/dev/null ||
	skip_all "no gcc -m32 (gcc-multilib)"
LIBCORE=${LABCTL_LIBCORE:-$TOP/build/check/libcore.a}
[ -f "$LIBCORE" ] || skip_all "no $LIBCORE (make BUILD_KIND=check first)"

SER='serial=115200,8n1,0x3f8'
BANNER='^Stand-in Hypervisor \(labctl\) variant='
PASS='^Stand-in: all CPUs passed$'

# Every QEMU a driver started in $T, found by its pid file, is killed at
# the end whatever happened (only if its command line names $T).
kill_qemus() {
	local f pid
	for f in "$T"/*/qemu.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		grep -qF "$T" "/proc/$pid/cmdline" 2>/dev/null && kill -9 "$pid"
	done
	return 0
}
at_exit kill_qemus

# gone PID: not running (a zombie waiting for its reaper counts as gone)
gone() {
	local st
	[ -n "$1" ] || return 1
	st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)
	[ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ]
}
alive() { ! gone "$1"; }

# ---------------------------------------------------------------- setup
ok "build the stand-in (amd64, variant t64a)" \
	make -s -C "$TOP/hypervisor" ARCH=amd64 VARIANT=t64a OUT="$T/t64a"
ok "build the stand-in (amd64, variant t64b)" \
	make -s -C "$TOP/hypervisor" ARCH=amd64 VARIANT=t64b OUT="$T/t64b"
gunzip -c "$T/t64a/hypervisor.bin.gz" >"$T/t64a.bin"
gunzip -c "$T/t64b/hypervisor.bin.gz" >"$T/t64b.bin"
ok "compile the test driver against $(basename "$LIBCORE")" \
	cc -std=c11 -D_GNU_SOURCE -I"$TOP" -o "$T/drv" \
	"$TOP/tests/t/qemu-capture-driver.c" "$LIBCORE" \
	 $LIBCORE_LIBS -fsanitize=address,undefined
[ -x "$T/drv" ] || { done_testing; exit 1; }

# qemu_cmd NAME VARIANT APPEND [EXTRA...]: the board's QEMU command line in
# the array Q; state in $T/NAME, console socket $T/NAME/con.sock.
qemu_cmd() {
	local name=$1 v=$2 app=$3
	shift 3
	mkdir -p "$T/$name"
	Q=(qemu-system-x86_64 -display none -monitor none -smp 2 -m 128
		-kernel "$T/$v/init.bin" -initrd "$T/$v.bin" -append "$app"
		-device isa-debug-exit,iobase=0xf4,iosize=4
		-chardev "socket,id=s0,path=$T/$name/con.sock,server=on,wait=off"
		-serial chardev:s0 "$@")
}

# drv NAME VARIANT APPEND [DRIVER-OPTS...] [-- QEMU-EXTRA...]: runs the
# driver (bounded) with output in $T/NAME.out, $T/NAME.err, $T/NAME.rc
drv() {
	local name=$1 v=$2 app=$3 opts=() extra=()
	shift 3
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	[ $# -gt 0 ] && { shift; extra=("$@"); }
	qemu_cmd "$name" "$v" "$app" "${extra[@]}"
	timeout -k 5 60 "$T/drv" -s "$T/$name" -r "$T/$name/results" \
		-c "$T/$name/con.sock" "${opts[@]}" -- "${Q[@]}" \
		>"$T/$name.out" 2>"$T/$name.err"
	echo $? >"$T/$name.rc"
}
out() { cat "$T/$1.out" 2>/dev/null; }
field() { sed -n "s/^$2 //p" "$T/$1.out" | tail -n1; }
rawlog() { echo "$(field "$1" log)"; }

# lines_ok LOG: the sidecar has T0, T0, then one L record per line of LOG
# at that line's offset, with times that do not go back.
lines_ok() {
	LC_ALL=C awk -v f="$1" '
	BEGIN {
		off = 0; n = 0
		while ((getline line < f) > 0) { want[n++] = off; off += length(line) + 1 }
	}
	NR <= 2 { if ($1 != "T0") { print "record " NR " is not T0"; bad = 1 }; next }
	$1 == "L" {
		i = NR - 3
		if ($2 != want[i]) { print "L " i " at " $2 ", want " want[i]; bad = 1 }
		if ($3 < last) { print "L " i " goes back in time"; bad = 1 }
		last = $3; seen++
	}
	END {
		if (seen != n) { print seen " L records for " n " lines"; bad = 1 }
		exit bad
	}' FS='\t' "$1.lines"
}

# iters_ok LOG [PARTIAL]: every CPU's iteration lines count 0, 1, 2, ...
# with no gap, and no line that starts like one is broken.  PARTIAL: the
# last line may be cut short (a killed capture) and is not looked at.
iters_ok() {
	LC_ALL=C awk -v partial="${2:-}" '
	{ last = $0; lines[NR] = $0 }
	END {
		for (i = 1; i <= NR; i++) {
			l = lines[i]
			if (l !~ /^CPU\(/) continue
			# a cut last line may even look whole ("iter 16" of 1639)
			if (partial && i == NR) continue
			if (l !~ /^CPU\(0x[0-9a-f][0-9a-f]\): test iter [0-9]+$/) {
				print "broken: " l; bad = 1; continue
			}
			cpu = substr(l, 5, 4); n = l; sub(/.* iter /, "", n)
			if (n + 0 != next_iter[cpu] + 0) {
				print cpu ": iter " n " after " next_iter[cpu] - 1; bad = 1
			}
			next_iter[cpu] = n + 1
		}
		exit bad
	}' "$1"
}
mask() { sed -E 's/^(tsc: )[0-9]+/\1N/; s/( iters in )[0-9]+/\1N/' "$1"; }
# file_boot NAME APPEND: the same boot with -serial file:$T/NAME.file
file_boot() {
	timeout 60 qemu-system-x86_64 -display none -monitor none -smp 2 -m 128 \
		-kernel "$T/t64a/init.bin" -initrd "$T/t64a.bin" -append "$2" \
		-device isa-debug-exit,iobase=0xf4,iosize=4 \
		-serial "file:$T/$1.file" </dev/null >/dev/null 2>&1
}

# ---------------------------------------------------------------- pass
drv pass t64a "$SER"
log=$(rawlog pass)
is "$(cat "$T/pass.rc")" 0 "pass: the driver succeeds"
like "$(out pass)" '^status-before off$' "pass: status is off before power on (QEMU paused at start)"
like "$(out pass)" '^status-after on$' "pass: status is on after cont"
like "$(out pass)" 'event EXIT status 33' \
	"pass: EXIT status 33 (isa-debug-exit 0x10) reported"
unlike "$(out pass)" 'off-ms' "pass: QEMU ended by itself, no power off needed"
unlike "$(cat "$T/pass.err")" 'no client' "pass: the console was connected before cont"
like "$log" "^$T/pass/results/[0-9]{14}$" "pass: log named results/YYYYMMDDHHMMSS"
msg=$(iters_ok "$log")
is "$?:$msg" "0:" "pass: every iteration of both CPUs, in order, none broken"
like "$(cat "$log")" "${BANNER}t64a arch=amd64 HV_OPT=0x0" "pass: banner"
is "$(grep -ac '^CPU(0x0[01]): test iter [0-9]*$' "$log")" 50 \
	"pass: 2 x 25 iteration lines"
like "$(cat "$log")" "$PASS" "pass: pass line"
is "$(tail -n1 "$log")" "Stand-in: powering off" "pass: the log ends with the last line"
is "$(field pass lines)" "$(grep -ac '' "$log")" \
	"pass: one line callback per line"
is "$(field pass bytes)" "$(stat -c %s "$log")" "pass: byte count"
msg=$(lines_ok "$log")
is "$?:$msg" "0:" "pass: sidecar: one L record per line, at its offset, in time order"
ok "pass: state dir cleaned (no qemu.pid, no qmp.sock)" \
	test ! -e "$T/pass/qemu.pid" -a ! -e "$T/pass/qmp.sock"
qpid=$(field pass qemu-pid)
ok "pass: QEMU pid $qpid is gone" gone "$qpid"

# The same boot with -serial file: (no SMP, so the order is fixed): the
# same bytes but for the two lines that carry measured times.  Then 1 MiB
# of flood the same way: nothing lost, nothing added.
drv ref t64a "$SER hv_opt=0x80"
file_boot ref "$SER hv_opt=0x80"
is "$(mask "$(rawlog ref)" | md5sum)" "$(mask "$T/ref.file" | md5sum)" \
	"-serial file: and the capture hold the same boot (timing lines masked)"
t0=$(date +%s%N)
drv flood t64a "$SER hv_opt=0x88 flood_mib=1" -t 60000
ms=$((($(date +%s%N) - t0) / 1000000))
file_boot flood "$SER hv_opt=0x88 flood_mib=1"
like "$(out flood)" 'event EXIT status 33' "flood 1 MiB: passes"
ok "flood 1 MiB: byte for byte what -serial file: gets (timing lines masked)" \
	cmp -s <(mask "$(rawlog flood)") <(mask "$T/flood.file")
is "$(field flood lines)" "$(grep -ac '' "$(rawlog flood)")" \
	"flood 1 MiB: one line callback per line ($(field flood lines))"
msg=$(lines_ok "$(rawlog flood)")
is "$?:$msg" "0:" "flood 1 MiB: sidecar right"
diag "flood 1 MiB over the chardev socket: $ms ms"


# ---------------------------------------------------------------- faults
drv fatal t64a "$SER hv_opt=0x204"
like "$(out fatal)" 'event EXIT status 35' "Fatal with HALT_EXIT: EXIT status 35"
like "$(cat "$(rawlog fatal)")" "^Fatal: Halting! Condition" "Fatal: the Fatal line is in the log"

drv triple t64a "$SER hv_opt=0x2" -R
like "$(out triple)" 'event RESET guest-reset' \
	"triple fault: RESET with reason guest-reset (QEMU resets the machine)"
like "$(out triple)" 'event SHUTDOWN host-qmp-quit' "triple fault: then off = quit"
like "$(out triple)" 'event EXIT status 0' "triple fault: QEMU exit status 0 after quit"
off_ms=$(field triple off-ms)
ok "triple fault: off took ${off_ms:-?} ms (< 2000)" test "${off_ms:-9999}" -lt 2000
like "$(cat "$(rawlog triple)")" "${BANNER}t64a " "triple fault: banner in the log"
ok "triple fault: QEMU gone" gone "$(field triple qemu-pid)"

drv triplenr t64a "$SER hv_opt=0x2" -- -no-reboot
like "$(out triplenr)" 'event SHUTDOWN guest-reset' \
	"triple fault with -no-reboot: SHUTDOWN guest-reset"
like "$(out triplenr)" 'event EXIT status 0' "triple fault with -no-reboot: QEMU exits 0"

# ---------------------------------------------------------------- off
drv off t64a "$SER hv_opt=0x100" -l 'test iter 5'
off_ms=$(field off off-ms)
ok "off (quit) of a running board: ${off_ms:-?} ms (< 2000)" test "${off_ms:-9999}" -lt 2000
like "$(out off)" 'event SHUTDOWN host-qmp-quit' "off: QEMU reports SHUTDOWN host-qmp-quit"
like "$(out off)" 'event EXIT status 0' "off: QEMU exits 0"
like "$(out off)" '^status-end off$' "off: status off afterwards"
ok "off: QEMU pid $(field off qemu-pid) is gone" gone "$(field off qemu-pid)"
is "$(cat "$T/off.rc")" 0 "off: the driver succeeds"

# A QEMU that does not answer (stopped): off gives up on quit after
# quit_timeout and kills it.
qemu_cmd stopped t64a "$SER hv_opt=0x100"
t0=$(date +%s%N)
timeout 30 "$T/drv" -s "$T/stopped" -P console_wait=0 -P quit_timeout=1s \
	-A on,sleep1000,off,status -- "${Q[@]}" >"$T/stopped.out" 2>"$T/stopped.err" &
dpid=$!
at_exit "kill -9 $dpid"
for _ in $(seq 100); do [ -s "$T/stopped/qemu.pid" ] && break; sleep 0.02; done
spid=$(cat "$T/stopped/qemu.pid")
sleep 0.5
kill -STOP "$spid"
wait "$dpid"
ms=$((($(date +%s%N) - t0) / 1000000))
like "$(cat "$T/stopped.out")" 'event EXIT signal 9' \
	"stopped QEMU: off kills it (EXIT signal 9)"
like "$(cat "$T/stopped.err")" "did not quit within 1000 ms: killing it" \
	"stopped QEMU: says so"
like "$(cat "$T/stopped.out")" 'event status off' "stopped QEMU: off afterwards"
ok "stopped QEMU: all within ${ms} ms (< 5000)" test "$ms" -lt 5000
ok "stopped QEMU: gone" gone "$spid"

# ---------------------------------------------------------------- SIGKILL
# An owned QEMU dies with the labctl that started it; the log holds every
# byte read: all iterations in order up to the last (maybe cut) line.
qemu_cmd killed t64a "$SER hv_opt=0x100"
"$T/drv" -s "$T/killed" -r "$T/killed/results" -c "$T/killed/con.sock" \
	-t 60000 -- "${Q[@]}" >"$T/killed.out" 2>"$T/killed.err" &
dpid=$!
at_exit "kill -9 $dpid"
for _ in $(seq 100); do
	grep -q '^status-after on' "$T/killed.out" && break
	sleep 0.05
done
sleep 0.5
qpid=$(field killed qemu-pid)
ok "killed: QEMU $qpid runs" alive "$qpid"
kill -9 "$dpid"
wait "$dpid" 2>/dev/null
for _ in $(seq 40); do gone "$qpid" && break; sleep 0.05; done
ok "killed: its QEMU ended with it (PDEATHSIG)" gone "$qpid"
log=$(rawlog killed)
size=$(stat -c %s "$log")
ok "killed: the log has what was read ($size bytes)" test "$size" -gt 1000
msg=$(iters_ok "$log" partial)
is "$?:$msg" "0:" "killed: every iteration up to the kill, none missing"
like "$(head -c 2000 "$log")" "${BANNER}t64a " "killed: the log starts with the boot"
ok "killed: the sidecar is there" test -s "$log.lines"

# ---------------------------------------------------------------- attach
# attach=yes: QEMU outlives the process that powered it on; the next one
# attaches, sees it on, resets it, switches it off.
qemu_cmd att t64a "$SER hv_opt=0x100"
timeout 30 "$T/drv" -s "$T/att" -P attach=yes -P console_wait=0 \
	-A status,on,status -- "${Q[@]}" >"$T/att1.out" 2>"$T/att1.err"
is "$?" 0 "attach: power on"
is "$(grep '^event status' "$T/att1.out" | tr '\n' '|')" \
	'event status off|event status on|' "attach: status off, then on"
apid=$(sed -n 's/^qemu-pid //p' "$T/att1.out" | tail -n1)
ok "attach: QEMU $apid keeps running after the process ended" alive "$apid"
timeout 30 "$T/drv" -s "$T/att" -P attach=yes \
	-A status,reset,sleep300,dispatch,off,status -- "${Q[@]}" \
	>"$T/att2.out" 2>"$T/att2.err"
is "$?" 0 "attach: a second process drives the same QEMU"
like "$(cat "$T/att2.out")" 'event status on' "attach: it sees the board on"
like "$(cat "$T/att2.out")" 'event RESET host-qmp-system-reset' \
	"attach: reset = system_reset (RESET host-qmp-system-reset)"
like "$(cat "$T/att2.out")" 'event EXIT status unknown' \
	"attach: off; the exit status of a QEMU we did not start is unknown"
ok "attach: QEMU $apid gone after off" gone "$apid"
# keep=yes alone (labctl run --keep-on): a fresh QEMU, left running
timeout 30 "$T/drv" -s "$T/att" -P keep=yes -P console_wait=300ms \
	-A status,on -- "${Q[@]}" >"$T/keep.out" 2>"$T/keep.err"
is "$?" 0 "keep: power on"
like "$(cat "$T/keep.err")" 'QEMU chardev s0 has no client after 300 ms' \
	"keep: on warns that nobody reads the console (console_wait)"
kpid=$(sed -n 's/^qemu-pid //p' "$T/keep.out" | tail -n1)
ok "keep: QEMU $kpid runs on after the process ended" alive "$kpid"
timeout 30 "$T/drv" -s "$T/att" -P attach=yes -A off -- "${Q[@]}" \
	>"$T/keep2.out" 2>&1
ok "keep: and an attach=yes off ends it" gone "$kpid"

# ---------------------------------------------------------------- stale
# A QEMU left running in a state dir (here by attach=yes) is killed by the
# next open that owns the dir, never a process that is not ours.
qemu_cmd stale t64a "$SER hv_opt=0x100"
timeout 30 "$T/drv" -s "$T/stale" -P attach=yes -P console_wait=0 -A on \
	-- "${Q[@]}" >"$T/stale1.out" 2>&1
spid=$(sed -n 's/^qemu-pid //p' "$T/stale1.out" | tail -n1)
ok "stale: QEMU $spid left running" alive "$spid"
sleep 30 &
other=$!
at_exit "kill -9 $other"
drv stale t64a "$SER"
like "$(cat "$T/stale.err")" "killing QEMU pid $spid left running in $T/stale" \
	"stale: the next open says it kills the leftover QEMU"
ok "stale: QEMU $spid is gone" gone "$spid"
like "$(out stale)" 'event EXIT status 33' "stale: and the new boot passes"
ok "stale: an unrelated process is untouched" alive "$other"
# a pid file naming someone else's process: not killed
echo "$other" >"$T/stale/qemu.pid"
drv stale t64a "$SER"
like "$(out stale)" 'event EXIT status 33' "stale pid file of another process: boot passes"
ok "stale pid file of another process: that process lives" alive "$other"
{ kill -9 "$other"; wait "$other"; } 2>/dev/null

# ---------------------------------------------------------------- two at once
drv two_a t64a "$SER iters=40" &
ja=$!
drv two_b t64b "$SER iters=30" &
jb=$!
at_exit "kill -9 $ja $jb"
wait "$ja" "$jb"
for n in two_a:t64a:80 two_b:t64b:60; do
	v=${n#*:} want=${v#*:} v=${v%:*} n=${n%%:*}
	log=$(rawlog "$n")
	like "$(out "$n")" 'event EXIT status 33' "$n: passes"
	msg=$(iters_ok "$log")
	is "$?:$msg" "0:" "$n: all its iterations in order"
	is "$(grep -Eac "$BANNER" "$log"):$(grep -Eac "${BANNER}$v " "$log")" 1:1 \
		"$n: only its own banner ($v)"
	is "$(grep -ac 'test iter' "$log")" "$want" "$n: only its own iterations"
done
ok "two at once: two different logs" \
	test "$(rawlog two_a)" != "$(rawlog two_b)"

done_testing
