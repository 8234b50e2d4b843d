#!/bin/bash
# labctl run against faults from outside the machine under test: every
# terminating signal, a QEMU killed or stopped from outside (the lab's
# fault, exit 3, never the guest's FAIL).
. "$(dirname "$0")/lib.sh"
qemu_board_scratch
qemus() { pgrep -f -- "[q]emu-system-x86_64 .*$T/state/$1" | wc -l; }
qemu_pid() { pgrep -f -- "[q]emu-system-x86_64 .*$T/state/$1" | head -1; }
json_get() {
	perl -MJSON::PP -e 'local $/; open my $f, "<", $ARGV[0] or die; my $j = decode_json(<$f>); print eval $ARGV[1]' "$1" "$2"
}
last_result() { ls -1 "${1:-results}" 2>/dev/null | grep -E '^[0-9]{14}(-[0-9]+)?$' | sort | tail -1; }

cat >"$T/labs/sig.conf" <<'CONF'
[board]
type = qemu
[watch]
silence_timeout = 20s
stage_timeout = 30s
timeout = 40s
[variant hv]
arch = amd64
[variant slow]
arch = i386
options = 0x410
cmdline = slow_ms=200
[variant lhv]
arch = i386
options = 0x400
CONF

# Wait until the slow stage has printed its banner in the result in DIR.
wait_banner() {	# wait_banner DIR
	local r
	for _ in $(seq 1 300); do
		r=$(last_result "$1")
		[ -n "$r" ] && grep -a -q 'variant=slow' "$1/$r" 2>/dev/null && { echo "$r"; return; }
		sleep 0.1
	done
}

# --- every stop signal: the record written, QEMU stopped, the lease free
for sig in HUP QUIT TERM; do
	"$LABCTL" run sig hv slow --results "r$sig" >"$T/$sig.out" 2>"$T/$sig.err" &
	pid=$!
	r=$(wait_banner "r$sig")
	kill -"$sig" "$pid"
	wait "$pid"
	is "$?" 3 "SIG$sig during a run: exit 3 (interrupted is the lab's)"
	like "$(cat "$T/$sig.out")" "ERROR: stage 2 \\(slow\\): interrupted by SIG$sig" "SIG$sig: the summary says so"
	ok "SIG$sig: the json was written" test -s "r$sig/$r.json"
	is "$(json_get "r$sig/$r.json" '$j->{verdict}')" infra "SIG$sig: json verdict infra"
	for _ in $(seq 1 40); do [ "$(qemus sig)" = 0 ] && break; sleep 0.05; done
	is "$(qemus sig)" 0 "SIG$sig: no QEMU left running"
done
# The lease went with the run: the next one takes the board at once.
run_labctl run sig hv lhv
is "$rc" 0 "after the signals: the board is free and a run passes" || diag "$out" "$err"

# --- QEMU killed from outside: the lab's fault (exit 3), with the reason
kill_qemu_mid_run() {	# kill_qemu_mid_run SIGNAL
	"$LABCTL" run sig hv slow --results "k$1" >"$T/kq.out" 2>"$T/kq.err" &
	pid=$!
	wait_banner "k$1" >/dev/null
	kill -"$1" "$(qemu_pid sig)"
	wait "$pid"
	krc=$?
}
kill_qemu_mid_run KILL
is "$krc" 3 "QEMU killed -9 mid-run: exit 3, not the guest's failure" || diag "$(cat "$T/kq.out" "$T/kq.err")"
like "$(cat "$T/kq.out")" 'ERROR: stage 2 \(slow\): lab error: QEMU was killed by SIGKILL' "QEMU killed -9: the reason names the signal"
unlike "$(cat "$T/kq.out")" 'FAIL' "QEMU killed -9: no FAIL"
r=$(last_result kKILL)
is "$(json_get "kKILL/$r.json" '$j->{verdict}')" infra "QEMU killed -9: json verdict infra"
kill_qemu_mid_run TERM
is "$krc" 3 "QEMU sent SIGTERM mid-run: exit 3" || diag "$(cat "$T/kq.out" "$T/kq.err")"
like "$(cat "$T/kq.out")" 'lab error: QEMU was stopped by the host \(host-signal\)' "QEMU sent SIGTERM: the reason"

# The guest's own end is still the guest's: a triple fault is FAIL.
cat >>"$T/labs/sig.conf" <<'CONF'
[variant triple]
arch = amd64
options = 0x402
CONF
run_labctl run sig hv triple
is "$rc" 1 "a triple fault is still the guest's failure: exit 1"
like "$out" 'FAIL: stage 2 \(triple\): the guest reset itself' "triple fault: the reason"

# --- a full disk: never PASS without the whole record, nothing
# half-written that `labctl results` would list
if [ "$(id -u)" = 0 ] && mkdir -p "$T/small" && mount -t tmpfs -o size=200k tmpfs "$T/small" 2>/dev/null; then
	at_exit "umount -l '$T/small'"
	fill_to() {	# fill_to KIB-FREE (0: fill it all)
		if [ "$1" = 0 ]; then
			dd if=/dev/zero of="$T/small/fill" bs=1k status=none 2>/dev/null
		else
			dd if=/dev/zero of="$T/small/fill" bs=1k count=$((200 - $1)) status=none 2>/dev/null
		fi
	}
	for free in 8 4 0; do
		fill_to "$free"
		run_labctl run sig hv lhv --results "$T/small/r"
		is "$rc" 3 "disk full ($free KiB free): exit 3, not PASS" || diag "$out" "$err"
		unlike "$out" '^PASS' "disk full ($free KiB free): no PASS line"
		like "$out$err" 'No space left on device' "disk full ($free KiB free): ENOSPC named"
		like "$err" "$T/small/r/[0-9]{14}" "disk full ($free KiB free): the path named"
		rm -f "$T/small/fill"
		run_labctl results --results "$T/small/r"
		unlike "$out" '[0-9]{14}' "disk full ($free KiB free): labctl results lists no run"
		is "$(ls "$T/small/r" | grep -vE '^[0-9]{14}(-[0-9]+)?\.partial$|^\.' | tr '\n' ' ')" "" \
			"disk full ($free KiB free): only a .partial left, nothing half-written"
	done
	p=$(ls "$T/small/r"/*.partial 2>/dev/null | head -1)
	ok "disk full: the console bytes received are kept as .partial" test -n "$p"
	umount -l "$T/small"
else
	skip "a tiny tmpfs needs root (mount -t tmpfs)"
fi

done_testing
