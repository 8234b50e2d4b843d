#!/bin/bash
# Console capture: a flood of lines through a socat pty pair, read from the
# transport end by labctl's capture engine (the tty transport + capture,
# raw log + per-line .lines sidecar; tests/t/console-driver.c linked
# against libcore.a), by `cat` (the ceiling: no timestamps), `ts` from
# moreutils, `tio --timestamp --log` (under script(1): it needs a
# terminal) and grabserial -t, one after the other in the same run, same
# data, same pipeline.  Each gets a fresh pty pair; its time runs from the
# first byte written to the last byte landing in its output file (mtime),
# its CPU time is its own (utime + stime).  Printed per tool and as ratios
# to labctl.  Then the timestamp error: lines carrying the sender's own
# wall-clock stamp, paced 1 ms apart, against the sidecar's times.
#   SIZE_MB (64)  the flood for labctl, cat, ts, tio
#   SLOW_MB (2)   the flood for grabserial (a Python loop per byte)
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
LABCTL=${LABCTL:-$TOP/build/default/bin/labctl}
LIBCORE=${LABCTL_LIBCORE:-$(dirname "$(dirname "$LABCTL")")/libcore.a}
SIZE_MB=${SIZE_MB:-64}
SLOW_MB=${SLOW_MB:-2}
W=$(mktemp -d "${TMPDIR:-/var/tmp}/labctl-bench.XXXXXX")
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$W"
}
trap cleanup EXIT

for p in socat perl; do
	command -v $p >/dev/null || { echo "capture bench: needs $p"; exit 1; }
done
[ -f "$LIBCORE" ] || { echo "capture bench: no $LIBCORE"; exit 1; }
san=$(nm "$LIBCORE" 2>/dev/null | grep -m1 -o __asan_init || true)
cc -std=c11 -O2 -D_GNU_SOURCE -I"$TOP" -o "$W/drv" "$TOP/tests/t/console-driver.c" \
	"$LIBCORE" $(pkg-config --libs inih libssh libcurl libftdi1 libgpiod 2>/dev/null) -lm \
	${san:+-fsanitize=address,undefined}
[ -z "$san" ] || echo "capture bench: $LIBCORE is a sanitizer build: labctl's numbers are pessimistic"

# The flood: numbered 80-byte lines.
flood() {	# flood MB FILE
	perl -e 'my $n = $ARGV[0] * 1048576 / 80; for my $i (1..$n) { printf "%09d the console flood 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ\n", $i }' "$1" >"$2"
}
flood "$SIZE_MB" "$W/big"
flood "$SLOW_MB" "$W/small"

A=$W/benchA.$$
B=$W/benchB.$$
start_pair() {
	rm -f "$A" "$B"
	socat pty,raw,echo=0,link="$A" pty,raw,echo=0,link="$B" &
	SOCAT=$!
	PIDS+=("$SOCAT")
	for _ in $(seq 200); do [ -e "$A" ] && [ -e "$B" ] && break; sleep 0.01; done
}
stop_pair() { kill "$SOCAT" 2>/dev/null || true; wait "$SOCAT" 2>/dev/null || true; }
# holds PID DEV: until PID (or a child) has DEV open
holds() {
	local dev p
	dev=$(readlink -f "$2")
	for _ in $(seq 500); do
		for p in "$1" $(pgrep -P "$1" 2>/dev/null); do
			ls -l "/proc/$p/fd" 2>/dev/null | grep -q -- "-> $dev\$" && { echo "$p"; return 0; }
		done
		sleep 0.01
	done
	return 1
}
cpu_s() {	# cpu_s PID: utime+stime in seconds
	awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}
# settle FILE: until FILE stops growing for 0.5 s (bounded)
settle() {
	local last=-1 now
	for _ in $(seq 600); do
		now=$(stat -c %s "$1" 2>/dev/null || echo 0)
		[ "$now" = "$last" ] && [ "$now" -gt 0 ] && return 0
		last=$now
		sleep 0.5
	done
}

# run_one NAME INPUT OUTFILE CMD...: prints "NAME bytes seconds cpu"
run_one() {
	local name=$1 in=$2 outf=$3 pid reader t0 t1 cpu
	shift 3
	start_pair
	"$@" &
	pid=$!
	PIDS+=("$pid")
	reader=$(holds "$pid" "$A") || { echo "$name: did not open $A" >&2; return 1; }
	t0=$(date +%s.%N)
	cat "$in" >"$B"
	settle "$outf"
	cpu=$(cpu_s "$reader")
	kill "$pid" 2>/dev/null || true
	kill "$reader" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	t1=$(stat -c %.9Y "$outf")
	stop_pair
	echo "$name $(stat -c %s "$in") $(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}') $cpu"
}

results=()
big=$(stat -c %s "$W/big")
small=$(stat -c %s "$W/small")

# labctl: the driver in the foreground of a subshell so its CPU is its own
run_labctl() {
	start_pair
	( exec "$W/drv" -d tty -P device="$A" -r "$W/res" -n "$1" -t 600000 >"$W/drv.out" ) &
	local pid=$! t0 t1 log cpu w
	PIDS+=("$pid")
	holds "$pid" "$A" >/dev/null || { echo "labctl: did not open $A" >&2; return 1; }
	t0=$(date +%s.%N)
	cat "$2" >"$B" &
	w=$!
	wait "$pid" || true
	wait "$w" || true
	log=$(sed -n 's/^log //p' "$W/drv.out")
	cpu=$(sed -n 's/^cpu //p' "$W/drv.out")
	t1=$(stat -c %.9Y "$log")
	cmp -s "$log" "$2" || { echo "labctl: the capture differs from the flood" >&2; return 1; }
	stop_pair
	echo "labctl $(stat -c %s "$2") $(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}') $cpu"
	rm -rf "$W/res"
}

results+=("$(run_labctl "$big" "$W/big")")
results+=("$(run_one cat "$W/big" "$W/cat.out" sh -c "exec cat <'$A' >'$W/cat.out'")")
if command -v ts >/dev/null; then
	results+=("$(run_one ts "$W/big" "$W/ts.out" sh -c "exec ts %.s <'$A' >'$W/ts.out'")")
fi
if command -v tio >/dev/null && command -v script >/dev/null; then
	results+=("$(run_one tio "$W/big" "$W/tio.log" sh -c "exec script -qfec 'tio --timestamp --log --log-file $W/tio.log $A' /dev/null >/dev/null 2>&1")")
fi
if command -v grabserial >/dev/null; then
	results+=("$(run_one grabserial "$W/small" "$W/grab.out" grabserial -S -d "$A" -t -Q -o "$W/grab.out")")
fi

printf '%-11s %8s %9s %9s %12s\n' tool MiB seconds "MB/s" "CPU s/MiB"
lab_rate= lab_cpu=
for r in "${results[@]}"; do
	read -r name bytes secs cpu <<<"$r"
	rate=$(awk -v b="$bytes" -v s="$secs" 'BEGIN {printf "%.1f", b / s / 1e6}')
	cpm=$(awk -v c="$cpu" -v b="$bytes" 'BEGIN {printf "%.4f", c / (b / 1048576)}')
	printf '%-11s %8.1f %9.3f %9s %12s\n' "$name" "$(awk -v b="$bytes" 'BEGIN {print b / 1048576}')" "$secs" "$rate" "$cpm"
	[ "$name" = labctl ] && { lab_rate=$rate; lab_cpu=$cpm; }
	eval "rate_$name=$rate cpu_$name=$cpm"
done
for r in "${results[@]}"; do
	read -r name _ <<<"$r"
	[ "$name" = labctl ] && continue
	eval "rr=\$rate_$name cc=\$cpu_$name"
	printf 'labctl vs %-10s throughput %7.2fx theirs, CPU per MiB %7.3fx theirs\n' "$name" \
		"$(awk -v a="$lab_rate" -v b="$rr" 'BEGIN {print a / b}')" \
		"$(awk -v a="$lab_cpu" -v b="$cc" 'BEGIN {print (b > 0 ? a / b : 0)}')"
done

# Timestamp error: the sender stamps each line with its wall clock just
# before writing it; the sidecar's L record has the capture's wall time.
start_pair
( exec "$W/drv" -d tty -P device="$A" -r "$W/res" -n 66000 -t 60000 >"$W/drv.out" ) &
pid=$!
PIDS+=("$pid")
holds "$pid" "$A" >/dev/null
perl -MTime::HiRes=time,sleep -e 'open my $o, ">", $ARGV[0] or die; select((select($o), $| = 1)[0]);
	for my $i (1..2000) { printf $o "%019.0f stamped line\n", time() * 1e9; sleep(0.001) }' "$B"
wait "$pid" || true
log=$(sed -n 's/^log //p' "$W/drv.out")
perl -e '
	open my $l, "<", "$ARGV[0].lines" or die; open my $r, "<", $ARGV[0] or die;
	local $/; my $raw = <$r>; my @err;
	for (split /\n/, do { local $/; <$l> }) {
		next unless /^L\t(\d+)\t-?\d+\t(\d+)$/;
		my ($off, $wall) = ($1, $2);
		substr($raw, $off, 19) =~ /^(\d{19})$/ or next;
		push @err, ($wall - $1) / 1e6;
	}
	@err = sort { $a <=> $b } @err; my $n = @err;
	printf "timestamp error (capture - sender), %d lines: median %.3f ms, p99 %.3f ms, max %.3f ms\n",
		$n, $err[int($n / 2)], $err[int($n * 0.99)], $err[-1];
' "$log"
stop_pair
