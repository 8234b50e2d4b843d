#!/bin/bash
# Consoles that drop and come back, against real peers, through the test
# driver (console-driver.c -R: reconnect on, gaps into the capture):
#   tcp     ser2net in front of a socat pty, killed (-9) in the middle of a
#           paced stream of numbered lines and started again: the capture
#           reconnects, the bytes before the loss are exactly the stream's
#           first bytes, no line is duplicated or reordered after it, and
#           the .lines sidecar has one G record whose times span the outage
#   tty     the socat pty pair itself vanishes (device gone) and comes back
#           under the same name: the capture is exactly the bytes written
#           before and after, the G record sits between them, and the
#           reconnect comes within backoff_max of the device's return
#   keys    reconnect/backoff_min/backoff_max are checked
#   ipmi-sol  ipmitool (the SOL program) killed: a new session, data again
. "$(dirname "$0")/lib.sh"

command -v socat >/dev/null || skip_all "no socat"
command -v perl >/dev/null || skip_all "no perl"
LIBCORE=${LABCTL_LIBCORE:-$TOP/build/check/libcore.a}
[ -f "$LIBCORE" ] || skip_all "no $LIBCORE (make BUILD_KIND=check first)"

ok "compile the test driver against $(basename "$LIBCORE")" \
	cc -std=c11 -D_GNU_SOURCE -I"$TOP" -o "$T/drv" \
	"$TOP/tests/t/console-driver.c" "$LIBCORE" \
	$LIBCORE_LIBS -fsanitize=address,undefined
[ -x "$T/drv" ] || { done_testing; exit 1; }

# Unique device names: ser2net and ipmi_sim take UUCP locks named after
# the device's basename (/run/lock/LCK..NAME), shared by parallel tests.
A=$T/conA.$$
B=$T/conB.$$
start_socat() {
	rm -f "$A" "$B"
	socat pty,raw,echo=0,link="$A" pty,raw,echo=0,link="$B" &
	SOCAT=$!
	at_exit "kill -9 $SOCAT"
	for _ in $(seq 100); do [ -e "$A" ] && [ -e "$B" ] && break; sleep 0.02; done
}
drv_start() {
	local name=$1
	shift
	timeout -k 5 60 "$T/drv" -r "$T/$name.res" "$@" >"$T/$name.out" 2>"$T/$name.err" &
	DRV=$!
	at_exit "kill -9 $DRV"
	for _ in $(seq 250); do
		grep -q '^open ok' "$T/$name.out" 2>/dev/null && return 0
		kill -0 "$DRV" 2>/dev/null || return 1
		sleep 0.02
	done
	return 1
}
drv_wait() { wait "$DRV"; echo $? >"$T/$1.rc"; }
show_err() { diag "$(cat "$T/$1.err")"; }
logof() { sed -n 's/^log //p' "$T/$1.out"; }
# wait_for FILE REGEX [TRIES]: until FILE has a line matching (bounded)
wait_for() {
	for _ in $(seq "${3:-250}"); do
		grep -Eq "$2" "$1" 2>/dev/null && return 0
		sleep 0.02
	done
	return 1
}
# wait_size FILE BYTES: until FILE holds at least BYTES (bounded, 10 s)
wait_size() {
	for _ in $(seq 500); do
		[ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
		sleep 0.02
	done
	return 1
}
# The G records of a capture: "offset start_ns start_wall end_ns end_wall reason"
gaps() { sed -n 's/^G\t//p' "$(logof "$1").lines" | tr '\t' ' '; }

# check_split SENT CAPTURE OFFSET: the capture is SENT's first OFFSET
# bytes, then numbered lines that only go forward, ending with SENT's last
# line (what was in flight inside the peer at the loss may be missing,
# nothing is there twice).
check_split() {
	perl -e '
		local $/; open my $f, "<", $ARGV[0] or die; my $s = <$f>;
		open my $g, "<", $ARGV[1] or die; my $c = <$g>;
		my $a = $ARGV[2];
		substr($c, 0, $a) eq substr($s, 0, $a) or die "the bytes before the gap differ from what was sent\n";
		my $rest = substr($c, $a);
		my $last = -1; my $n = 0;
		for my $l (split /\n/, $rest) {
			next unless $l =~ /^line (\d+) /;
			$1 > $last or die "line $1 after line $last: duplicated or reordered\n";
			$last = $1; $n++;
		}
		$s =~ /line (\d+) [^\n]*\n\z/ or die "no last line sent\n";
		$last == $1 or die "the last line sent ($1) is not the last captured ($last)\n";
		$n > 0 or die "nothing after the gap\n";
	' "$1" "$2" "$3"
}

# ---------------------------------------------------------------- ser2net
if command -v ser2net >/dev/null; then
	start_socat
	port=$(free_port)
	cat >"$T/ser2net.yaml" <<YAML
connection: &raw
  accepter: tcp,127.0.0.1,$port
  connector: serialdev,$A,115200n81,local
YAML
	start_ser2net() {
		ser2net -n -c "$T/ser2net.yaml" -P "$T/ser2net.pid" >>"$T/ser2net.log" 2>&1 &
		S2N=$!
		at_exit "kill -9 $S2N"
		for _ in $(seq 100); do
			[ "$(ss -Hltn "( sport = :$port )" 2>/dev/null | wc -l)" -ge 1 ] && break
			sleep 0.05
		done
	}
	start_ser2net
	drv_start s2n -R -d tcp -P host=127.0.0.1 -P port="$port" -P backoff_max=500ms -i 2000 -t 40000
	ok "ser2net: connected" test $? = 0
	# A paced stream: 6000 numbered lines played into the pty in about 3 s.
	seq -f 'line %06g of the reconnect test 0123456789abcdefghij' 1 6000 >"$T/sent"
	perl -e 'open my $o, ">", $ARGV[1] or die; select((select($o), $| = 1)[0]); open my $i, "<", $ARGV[0] or die; my $n = 0; while (<$i>) { print $o $_; select(undef, undef, undef, 0.01) if ++$n % 20 == 0 }' \
		"$T/sent" "$B" &
	PLAY=$!
	at_exit "kill -9 $PLAY"
	wait_size "$(logof s2n)" 20000
	kill -9 "$S2N"
	wait "$S2N" 2>/dev/null
	t_kill=$(date +%s%N)
	wait_for "$T/s2n.out" '^lost'
	ok "ser2net killed: the loss is seen" test $? = 0
	sleep 1
	start_ser2net
	wait_for "$T/s2n.out" '^back' 300
	ok "ser2net restarted: reconnected" test $? = 0
	t_back=$(date +%s%N)
	wait "$PLAY"
	drv_wait s2n
	is "$(cat "$T/s2n.rc")" 0 "ser2net: the driver succeeds" || diag "$(cat "$T/s2n.err")"
	like "$(grep '^lost' "$T/s2n.out")" "lost the connection ended" "ser2net: the loss says why"
	is "$(gaps s2n | wc -l)" 1 "ser2net: one G record in the sidecar"
	read -r g_off g_ns g_wall g_end g_endwall g_why <<<"$(gaps s2n)"
	down_ms=$(( (t_back - t_kill) / 1000000 ))
	ok "ser2net: the G record spans the outage ($(( (g_end - g_ns) / 1000000 )) ms, seen $down_ms ms)" \
		test $(( (g_end - g_ns) / 1000000 )) -ge 900
	ok "ser2net: ... wall times too" test $(( (g_endwall - g_wall) / 1000000 )) -ge 900
	ok "ser2net: the gap offset is inside the capture ($g_off)" \
		test "$g_off" -ge 20000 -a "$g_off" -le "$(stat -c %s "$(logof s2n)")"
	out=$(check_split "$T/sent" "$(logof s2n)" "$g_off" 2>&1)
	is "$out" "" "ser2net: bytes before the gap are exact, nothing after it duplicated, the end arrived"
	unlike "$(cat "$(logof s2n)")" "lost|G	" "ser2net: no gap marker in the raw log"
	kill "$S2N" 2>/dev/null
	wait "$S2N" 2>/dev/null
	kill "$SOCAT" 2>/dev/null
	wait "$SOCAT" 2>/dev/null
else
	skip "ser2net not installed"
fi

# ---------------------------------------------------------------- tty
start_socat
seq -f 'before %05g the device vanishes' 1 2000 >"$T/p1"
seq -f 'after %05g the device came back' 1 2000 >"$T/p2"
drv_start tty -R -d tty -P device="$A" -P backoff_min=50ms -P backoff_max=300ms -n $(($(stat -c %s "$T/p1") + $(stat -c %s "$T/p2"))) -t 30000
ok "tty: open" test $? = 0
timeout 10 cat "$T/p1" >"$B"
wait_size "$(logof tty)" "$(stat -c %s "$T/p1")"
ok "tty: the first part arrived" test $? = 0
kill "$SOCAT"
wait "$SOCAT" 2>/dev/null
wait_for "$T/tty.out" '^lost'
ok "tty: the pty pair vanished: the loss is seen" test $? = 0
ok "tty: ... the device is gone" test ! -e "$A"
sleep 1.2
t_up=$(date +%s%N)
start_socat
wait_for "$T/tty.out" '^back' 150
ok "tty: the device is back: reconnected" test $? = 0
back_ms=$(( ($(date +%s%N) - t_up) / 1000000 ))
ok "tty: ... within backoff_max (300 ms) and an attempt ($back_ms ms < 1500)" test "$back_ms" -lt 1500
timeout 10 cat "$T/p2" >"$B"
drv_wait tty
is "$(cat "$T/tty.rc")" 0 "tty: the driver succeeds" || diag "$(cat "$T/tty.err")"
cat "$T/p1" "$T/p2" >"$T/p12"
same_file "$(logof tty)" "$T/p12" "tty: the capture is exactly the bytes before and after"
read -r g_off g_ns g_wall g_end g_endwall g_why <<<"$(gaps tty)"
is "$g_off" "$(stat -c %s "$T/p1")" "tty: the G record sits between the parts"
ok "tty: the gap lasted the outage ($(( (g_end - g_ns) / 1000000 )) ms >= 1000)" \
	test $(( (g_end - g_ns) / 1000000 )) -ge 1000
like "$g_why" "." "tty: the G record says why ($g_why)"
is "$(grep -c '^L' "$(logof tty).lines")" 4000 "tty: one L record per line, none lost at the gap"
kill "$SOCAT" 2>/dev/null
wait "$SOCAT" 2>/dev/null

# ---------------------------------------------------------------- keys
start_socat
run_drv() { timeout -k 5 30 "$T/drv" -r "$T/x.res" "$@" >"$T/x.out" 2>"$T/x.err"; rc=$?; err=$(cat "$T/x.err"); }
run_drv -d tty -P device="$A" -P reconnect=maybe -t 100
is "$rc" 1 "keys: reconnect=maybe fails"
like "$err" "reconnect = maybe: want yes or no" "keys: ... saying so"
run_drv -d tty -P device="$A" -P backoff_min=2s -P backoff_max=1s -t 100
like "$err" "backoff_max .* is shorter than backoff_min" "keys: backoff_max < backoff_min"
run_drv -d tty -P device="$A" -P backoff_min=soon -t 100
like "$err" "backoff_min = soon: want a duration" "keys: a bad duration"
is "$(ls "$T/x.res" 2>/dev/null | wc -l)" 0 "keys: nothing left in results/ by a refused open"
# reconnect=no: the end is the end
drv_start noreco -R -d tty -P device="$A" -P reconnect=no -t 10000
kill "$SOCAT"
wait "$SOCAT" 2>/dev/null
drv_wait noreco
is "$(cat "$T/noreco.rc")" 0 "reconnect=no: the driver ends at the loss"
unlike "$(cat "$T/noreco.out")" "^lost" "reconnect=no: no reconnect"
# cmd does not reconnect unless asked (its output would repeat)
drv_start cmd1 -R -d cmd -P command="echo once" -t 5000
drv_wait cmd1
is "$(cat "$(logof cmd1)")" "once" "cmd: not run again by default"
drv_start cmd2 -R -d cmd -P command="echo again" -P reconnect=yes -P backoff_min=20ms -P backoff_max=40ms -n 18 -t 5000
drv_wait cmd2
like "$(head -c 18 "$(logof cmd2)" | tr '\n' ' ')" "^again again again" "cmd: run again with reconnect = yes"
is "$(gaps cmd2 | head -1 | cut -d' ' -f6-)" "the connection ended" "cmd: ... a G record per end"

# ---------------------------------------------------------------- ipmi-sol
if command -v ipmi_sim >/dev/null && command -v ipmitool >/dev/null; then
	start_socat
	iport=$(perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Proto => "udp", LocalAddr => "127.0.0.1:0")->sockport')
	mkdir -p "$T/ipmi/state"
	cat >"$T/ipmi/lan.conf" <<CONF
name "labctl77"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 $iport
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcd77
  endlan
  sol "$A" 115200
  user 2 true "admin" "secret" admin 10 none md2 md5 straight
CONF
	printf 'mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\nmc_enable 0x20\n' >"$T/ipmi/bmc.emu"
	ipmi_sim -c "$T/ipmi/lan.conf" -f "$T/ipmi/bmc.emu" -s "$T/ipmi/state" -n \
		>"$T/ipmi/sim.log" 2>&1 </dev/null &
	SIM=$!
	at_exit "kill $SIM"
	for _ in $(seq 50); do
		IPMI_PASSWORD=secret timeout 2 ipmitool -I lanplus -C 3 -H 127.0.0.1 -p "$iport" \
			-U admin -E sol info >/dev/null 2>&1 && break
		sleep 0.1
	done
	export IPMI_PASSWORD=secret
	drv_start sol -R -d ipmi-sol -P host=127.0.0.1 -P port="$iport" -P user=admin \
		-P backoff_min=100ms -P backoff_max=500ms -n 23 -t 20000
	ok "ipmi-sol: a session" test $? = 0 || show_err sol
	printf 'first session\n' >"$B"
	wait_size "$(logof sol)" 14
	solpid=$(pgrep -f -- "-p $iport -U admin -E sol activate" | head -1)
	ok "ipmi-sol: ipmitool sol activate runs (pid ${solpid:-none})" test -n "$solpid"
	[ -n "$solpid" ] && kill -9 "$solpid"
	wait_for "$T/sol.out" '^back' 500
	ok "ipmi-sol: ipmitool killed: a new session" test $? = 0
	sleep 1
	printf 'second\n\n\n' >"$B"
	drv_wait sol
	is "$(od -c "$(logof sol)")" "$(printf "first session\nsecond\n\n\n" | od -c)" \
		"ipmi-sol: the board's bytes before and after, nothing of ipmitool's"
	like "$(gaps sol)" "SOL session ended" "ipmi-sol: the G record names the ended session"
	kill "$SIM"
	wait "$SIM" 2>/dev/null
	kill "$SOCAT" 2>/dev/null
	wait "$SOCAT" 2>/dev/null
else
	skip "ipmi_sim or ipmitool missing"
fi

done_testing
