#!/bin/bash
# labctl run while the board boots: the live view on a terminal and
# without one, a slow verdict engine that must not cost console bytes,
# and logs that end at the same point after the verdict.
. "$(dirname "$0")/lib.sh"
command -v script >/dev/null || skip_all "script(1) missing"

qemu_board_scratch
cat >"$T/labs/live.conf" <<'CONF'
[board]
type = qemu
[watch]
timeout = 60s
[variant hv]
arch = amd64
[variant lhv]
arch = i386
options = 0x400
[variant slow]
arch = i386
options = 0x410
cmdline = slow_ms=80
[variant flood]
arch = i386
options = 0x408
cmdline = flood_mib=1
CONF
results() { ls -1 "$1" 2>/dev/null | grep -E '^[0-9]{14}(-[0-9]+)?$' | sort; }

# --- without a terminal: one line per stage, nothing that redraws
run_labctl run live hv slow --results rp
is "$rc" 0 "no terminal: the run passes" || diag "$out" "$err"
is "$(printf '%s\n' "$err" | grep -E '^stage [0-9]/' | sed -E 's/ at [0-9.]+ s$//' | tr '\n' ' ')" \
	"stage 1/2 hv stage 2/2 slow " "no terminal: one line per stage as it starts"
is "$(printf '%s' "$err" | tr -cd '\r\033' | wc -c)" 0 "no terminal: no carriage return or escape code"

# --- on a terminal (script(1) gives a pty): one status line, cleared
script -qec "timeout -k 5 120 '$LABCTL' run live hv slow --results rt" /dev/null >"$T/tty.out" 2>&1
# Durations read "12.3 s" up to a minute, then "1m02s" (a loaded machine).
dur='([0-9]+\.[0-9] s|[0-9]+m[0-9]{2}s)'
status=$(tr '\r' '\n' <"$T/tty.out" | grep -a '^\[2/2 slow\]' | sed 's/\x1b\[K$//')
like "$status" "^\\[2/2 slow\\] $dur, [0-9]+ lines, [0-9.]+ (B|KiB), quiet $dur \\| CPU\\(0x0[01]\\): test iter" \
	"terminal: the status line shows stage, time, lines, bytes, silence and the last line"
ok "terminal: the status line is redrawn in place" grep -q $'\r\\[2/2 slow\\]' "$T/tty.out"
ok "terminal: it is cleared before the verdict" perl -e 'local $/; my $s = <>; exit !($s =~ /\[2\/2 slow\][^\r\n]*\e\[K\r\e\[K\r?\n[0-9]{14} live on qemu/)' "$T/tty.out"
like "$(cat "$T/tty.out")" $'\e\\[32mPASS\e\\[m: all 2 CPUs' "terminal: the verdict follows, PASS in green"
unlike "$(grep -a 'PASS:' "$T/tty.out")" '\[2/2' "terminal: the verdict line has no status text on it"
# -v streams the console as it arrives
run_labctl -v run live hv lhv --results rv
is "$rc" 0 "-v: the run passes"
like "$err" 'Stand-in Hypervisor \(labctl\) variant=lhv' "-v: the console lines are streamed"

# --- a slow verdict engine (1 ms a line, a test-only hook): the console
# is still drained to disk at the guest's speed, byte for byte.  The
# flood's first and last lines' times in the sidecar show when the bytes
# arrived: a capture that waited for the watcher would take 16 s or more
# (16384 lines), as the guest is held back; the bound is 14 s, as a loaded
# machine slows the guest too (10.6 s seen with 4 busy loops on 2 cores,
# 1.6 s quiet).  About 20 s: the watcher still judges every line.
perl -e 'for my $i (0 .. 16383) { my $l = sprintf("flood %08x ", $i); $l .= chr(65 + ($i + $_) % 26) for 15 .. 62; print "$l\n" }' >"$T/flood.expected"
want=$(sha256sum <"$T/flood.expected" | cut -d' ' -f1)
t0=$(date +%s%N)
LABCTL_TEST_WATCH_DELAY_US=1000 run_labctl run live hv flood --results rf
is "$rc" 0 "slow watcher: the run passes" || diag "$out" "$err"
r=$(results rf | tail -1)
got=$(perl -e 'local $/; my $s = <>; $s =~ /lines of 64 bytes\r?\n(.*?)flood: done/s or exit 1; print $1' "rf/$r" | tr -d '\r' | sha256sum | cut -d' ' -f1)
is "$got" "$want" "slow watcher: the flood in the log is byte-exact (sha256)"
is "$(grep -a -c '^flood [0-9a-f]\{8\} ' "rf/$r")" 16384 "slow watcher: every flood line, none spliced"
span_ms=$(perl -e '
	local $/; open my $f, "<", $ARGV[0] or die; my $s = <$f>;
	my ($a, $b) = (index($s, "flood: 1 MiB follow"), index($s, "flood: done"));
	open my $l, "<", "$ARGV[0].lines" or die; my ($ta, $tb);
	for (split /\n/, <$l>) { my @r = split /\t/; next unless $r[0] eq "L";
		$ta = $r[2] if $r[1] == $a; $tb = $r[2] if $r[1] == $b; }
	print int(($tb - $ta) / 1e6)' "rf/$r")
[ "$span_ms" -lt 14000 ] && pass "slow watcher: the flood reached the disk at the guest's speed (${span_ms} ms)" ||
	fail "slow watcher: the flood took ${span_ms} ms to reach the disk: the capture waited for the watcher"
like "$err" 'the verdict engine is [0-9.]+ s behind the console' "slow watcher: falling behind is reported"
diag "slow watcher run: $((($(date +%s%N) - t0) / 1000000)) ms"

# --- two passing runs of the same chain give the same log (but tsc:);
# one CPU, as two CPUs' lines interleave as the host schedules them.
sed 's/^type = qemu$/type = qemu\nsmp = 1/' "$T/labs/live.conf" >"$T/labs/one.conf"
for i in 1 2; do
	run_labctl run one hv lhv --results rd
	is "$rc" 0 "same chain, run $i: passes"
done
set -- $(results rd)
d=$(diff -a <(grep -av '^tsc:' "rd/$1") <(grep -av '^tsc:' "rd/$2"))
is "$d" "" "same chain: the logs are identical but for the tsc: lines"
like "$(tail -c 40 "rd/$1")" 'CPU\(0x00\): test iter 20$' "the log ends with the line that decided"
last_l=$(tail -1 "rd/$1.lines" | cut -f2)
is "$(tail -c +$((last_l + 1)) "rd/$1" | wc -l)" 1 "the sidecar's last record is the log's last line"

done_testing
