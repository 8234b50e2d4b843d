#!/bin/bash
# Console transports against real peers, through a small driver program
# (console-driver.c) that opens a transport and feeds the capture engine
# as a run does:
#   tty     a socat pty pair: the transport on one end, data written into
#           the other (numbered lines, then every byte value), exclusive
#           (a second open is refused), a non-standard baud rate
#   tcp     ser2net (raw tcp accepter) in front of the pty
#   telnet  ser2net telnet(rfc2217) in front of the pty: negotiation is
#           answered and none of it reaches the log; 0xff data survives
#   cmd     a local command's stdout
#   ipmi-sol  a real OpenIPMI ipmi_sim with SOL on the pty: the board's
#           bytes arrive without ipmitool's banner, typed bytes reach the
#           board (a ~ after a newline passes ipmitool's escape), a wrong
#           password, a 0644 password_file, no password
#   amt-sol amtterm (no AMT here): its argv has no password, its
#           environment has AMT_PASSWORD, a 0644 password_file is refused,
#           a port nobody listens on and a peer that never answers fail
#           with amtterm's own words
# Each capture is checked by sha256 against what was written.  Bad input:
# a device that does not exist, one that is not a tty, a port nobody
# listens on, a command that does not exist, a key a transport does not
# take.
. "$(dirname "$0")/lib.sh"

command -v socat >/dev/null || skip_all "no socat"
LIBCORE=${LABCTL_LIBCORE:-$TOP/build/check/libcore.a}
[ -f "$LIBCORE" ] || skip_all "no $LIBCORE (make BUILD_KIND=check first)"

ok "compile the test driver against $(basename "$LIBCORE")" \
	cc -std=c11 -D_GNU_SOURCE -I"$TOP" -o "$T/drv" \
	"$TOP/tests/t/console-driver.c" "$LIBCORE" \
	 $LIBCORE_LIBS -fsanitize=address,undefined
[ -x "$T/drv" ] || { done_testing; exit 1; }

# About 4 MiB of numbered lines, and 1 MiB of every byte value.
seq -f 'line %07g of the console transport test: 0123456789abcdefghijklmnopqrstuvwxyz' 1 50000 >"$T/lines"
head -c 1048576 /dev/urandom >"$T/binary"
lines_size=$(stat -c %s "$T/lines")
lines_sum=$(sha256sum <"$T/lines")
bin_size=$(stat -c %s "$T/binary")
bin_sum=$(sha256sum <"$T/binary")

# Unique device names: ser2net and ipmi_sim take UUCP locks named after
# the device's basename (/run/lock/LCK..NAME), shared by parallel tests.
A=$T/conA.$$
B=$T/conB.$$
start_socat() {	# the pty pair $A (transport side) and $B (board side)
	rm -f "$A" "$B"
	socat pty,raw,echo=0,link="$A" pty,raw,echo=0,link="$B" &
	SOCAT=$!
	at_exit "kill -9 $SOCAT"
	for _ in $(seq 100); do [ -e "$A" ] && [ -e "$B" ] && break; sleep 0.02; done
}
stop_socat() { kill "$SOCAT" 2>/dev/null; wait "$SOCAT" 2>/dev/null; }

# drv_start NAME ARGS...: the driver in the background, output in
# $T/NAME.out/.err; waits (bounded) for "open ok"; DRV is its pid.
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
logof() { sed -n 's/^log //p' "$T/$1.out"; }
# wait_open PID FILE: until PID has FILE (a pty) open, bounded
wait_open() {
	local dev
	dev=$(readlink -f "$2")
	for _ in $(seq 250); do
		ls -l "/proc/$1/fd" 2>/dev/null | grep -q -- "-> $dev\$" && return 0
		sleep 0.02
	done
	return 1
}
# check NAME SIZE SUM WHAT: the capture holds exactly what was written
check() {
	local log
	log=$(logof "$1")
	is "$(cat "$T/$1.rc")" 0 "$4: the driver succeeds" || diag "$(cat "$T/$1.err")"
	is "$(stat -c %s "$log" 2>/dev/null)" "$2" "$4: every byte arrived"
	is "$(sha256sum <"$log")" "$3" "$4: sha256 of the capture equals what was written"
}

# ---------------------------------------------------------------- tty
start_socat
drv_start tty -d tty -P device="$A" -n "$lines_size"
ok "tty: open" test $? = 0
timeout 30 cat "$T/lines" >"$B"
drv_wait tty
check tty "$lines_size" "$lines_sum" "tty: 4 MiB of lines"
is "$(grep -c '^L' "$(logof tty).lines")" 50000 "tty: one sidecar L record per line"

# The issue's flood: 64 MiB of lines through the pty at full speed.
for _ in $(seq 17); do cat "$T/lines"; done >"$T/big"
big_size=$(stat -c %s "$T/big")
big_sum=$(sha256sum <"$T/big")
drv_start ttybig -d tty -P device="$A" -n "$big_size"
ok "tty flood: open" test $? = 0
t0=$(date +%s%N)
timeout 120 cat "$T/big" >"$B"
drv_wait ttybig
diag "tty flood: $((big_size >> 20)) MiB in $((($(date +%s%N) - t0) / 1000000)) ms"
check ttybig "$big_size" "$big_sum" "tty: a $((big_size >> 20)) MiB line flood"
rm -f "$T/big" "$(logof ttybig)"

drv_start ttybin -d tty -P device="$A" -P baud=9600 -n "$bin_size"
timeout 30 cat "$T/binary" >"$B"
drv_wait ttybin
check ttybin "$bin_size" "$bin_sum" "tty at 9600: 1 MiB of every byte value"

drv_start ttyodd -d tty -P device="$A" -P baud=250000 -n 6
ok "tty: a non-standard rate (250000, termios2/BOTHER) opens" test $? = 0 || diag "$(cat "$T/ttyodd.err")"
printf 'hello\n' >"$B"
drv_wait ttyodd
is "$(cat "$(logof ttyodd)" 2>/dev/null)" "hello" "tty at 250000: data arrives"

# exclusive: while one driver holds it, a second is refused
drv_start excl1 -d tty -P device="$A" -n 3 -t 20000
holder=$DRV
run_drv() { timeout -k 5 30 "$T/drv" -r "$T/x.res" "$@" >"$T/x.out" 2>"$T/x.err"; rc=$?; err=$(cat "$T/x.err"); }
run_drv -d tty -P device="$A" -n 1 -t 1000
is "$rc" 1 "tty in use: a second open fails"
like "$err" "in (exclusive )?use" "tty in use: says it is in use"
DRV=$holder
printf 'ok\n' >"$B"
drv_wait excl1
is "$(cat "$(logof excl1)")" "ok" "tty in use: the holder got the data"

# by-id style symlink to the device
ln -s "$A" "$T/usb-FTDI_FT232R_USB_UART_A1B2C3-if00-port0"
drv_start link -d tty -P device="$T/usb-FTDI_FT232R_USB_UART_A1B2C3-if00-port0" -n 5
printf 'link\n' >"$B"
drv_wait link
is "$(cat "$(logof link)")" "link" "tty: a symlinked device (/dev/serial/by-id style)"

# the other end goes away: end of stream, not a hang
drv_start hup -d tty -P device="$A" -t 20000
t0=$(date +%s%N)
stop_socat
drv_wait hup
ms=$((($(date +%s%N) - t0) / 1000000))
is "$(cat "$T/hup.rc")" 0 "tty: the pty pair closed: the driver ends cleanly"
ok "tty: ... at once ($ms ms < 5000)" test "$ms" -lt 5000

run_drv -d tty -P device="$T/nonexistent-tty"
is "$rc" 1 "tty: a device that does not exist fails"
like "$err" "no serial device $T/nonexistent-tty" "tty: names the missing device"
run_drv -d tty -P device=/dev/null
like "$err" "/dev/null is not a terminal" "tty: /dev/null is not a terminal"
run_drv -d tty -P device="$T/lines" -P port=1
like "$err" "console driver tty takes no key 'port'" "tty: a key it does not take"

# ---------------------------------------------------------------- ser2net
if command -v ser2net >/dev/null; then
	start_socat
	p_raw=$(free_port)
	p_tel=$(free_port)
	[ "$p_tel" = "$p_raw" ] && p_tel=$((p_raw + 1))
	cat >"$T/ser2net.yaml" <<YAML
connection: &raw
  accepter: tcp,127.0.0.1,$p_raw
  connector: serialdev,$A,115200n81,local
connection: &tel
  accepter: telnet(rfc2217),tcp,127.0.0.1,$p_tel
  connector: serialdev,$A,115200n81,local
YAML
	ser2net -n -c "$T/ser2net.yaml" -P "$T/ser2net.pid" >"$T/ser2net.log" 2>&1 &
	S2N=$!
	at_exit "kill -9 $S2N"
	# Ready when both ports listen (a probe connection would take the
	# pty, and the next client would get "Port's device already in use").
	for _ in $(seq 100); do
		[ "$(ss -Hltn "( sport = :$p_raw or sport = :$p_tel )" 2>/dev/null | wc -l)" -ge 2 ] && break
		sleep 0.05
	done
	# wait_released: until ser2net has let go of the pty (bounded)
	wait_released() {
		local dev
		dev=$(readlink -f "$A")
		for _ in $(seq 250); do
			ls -l "/proc/$S2N/fd" 2>/dev/null | grep -q -- "-> $dev\$" || return 0
			sleep 0.02
		done
		return 1
	}
	# ser2net has the port open once a client is connected; then write
	tcp_case() {	# NAME DRIVER PORT FILE SIZE SUM WHAT
		drv_start "$1" -d "$2" -P host=127.0.0.1 -P port="$3" -n "$5"
		ok "$7: connected" test $? = 0
		ok "$7: ser2net opened the pty" wait_open "$S2N" "$A"
		timeout 30 cat "$4" >"$B"
		drv_wait "$1"
		check "$1" "$5" "$6" "$7"
		wait_released
	}
	tcp_case tcp tcp "$p_raw" "$T/lines" "$lines_size" "$lines_sum" "tcp (ser2net raw): 4 MiB of lines"
	tcp_case tcpbin tcp "$p_raw" "$T/binary" "$bin_size" "$bin_sum" "tcp (ser2net raw): 1 MiB of every byte value"
	tcp_case tel telnet "$p_tel" "$T/lines" "$lines_size" "$lines_sum" "telnet (ser2net rfc2217): 4 MiB of lines"
	is "$(LC_ALL=C grep -c $'\xff' "$(logof tel)")" 0 \
		"telnet: no 0xff (IAC negotiation) byte in the capture"
	tcp_case telbin telnet "$p_tel" "$T/binary" "$bin_size" "$bin_sum" \
		"telnet (ser2net rfc2217): 1 MiB of every byte value (IAC IAC undone)"
	# What ser2net's telnet sends first really is negotiation (so the
	# check above means something).
	timeout 2 socat -u "tcp:127.0.0.1:$p_tel" - 2>/dev/null | head -c 3 | od -An -tx1 >"$T/neg" || true
	like "$(cat "$T/neg")" '^ ?ff f[b-e]' "ser2net telnet(rfc2217) opens with IAC negotiation"
	wait_released

	# writing through telnet reaches the board side, 0xff doubled and undone
	drv_start telw -d telnet -P host=127.0.0.1 -P port="$p_tel" -w $'to board \xff end\n' -i 500 -t 3000
	ok "telnet write: ser2net opened the pty" wait_open "$S2N" "$A"
	timeout 3 head -c 15 "$B" >"$T/fromdrv" || true
	drv_wait telw
	is "$(od -An -c "$T/fromdrv" | tr -s ' ')" "$(printf 'to board \xff end\n' | od -An -c | tr -s ' ')" \
		"telnet write: the board side gets the bytes, 0xff once"
	kill "$S2N"
	wait "$S2N" 2>/dev/null
	stop_socat
else
	skip "ser2net not installed: tcp and telnet against ser2net"
fi

dead=$(free_port)
run_drv -d tcp -P host=127.0.0.1 -P port="$dead"
is "$rc" 1 "tcp: a port nobody listens on fails"
like "$err" "console tcp 127.0.0.1:$dead: cannot connect: Connection refused" "tcp: says who refused"
run_drv -d telnet -P host=127.0.0.1 -P port="$dead"
like "$err" "console telnet 127.0.0.1:$dead: cannot connect" "telnet: the same"
run_drv -d tcp -P host=no-such-host.invalid -P port=1
like "$err" "cannot resolve no-such-host.invalid" "tcp: a host that does not resolve"
run_drv -d tcp -P host=127.0.0.1
like "$err" "needs host and port" "tcp: port missing"

# ---------------------------------------------------------------- cmd
drv_start cmd -d cmd -P command="cat $T/lines"
drv_wait cmd
check cmd "$lines_size" "$lines_sum" "cmd (cat): 4 MiB of lines, to the command's end"
drv_start cmdbin -d cmd -P command="cat $T/binary"
drv_wait cmdbin
check cmdbin "$bin_size" "$bin_sum" "cmd (cat): every byte value"
run_drv -d cmd -P command="$T/no-such-program --flag"
is "$rc" 1 "cmd: a command that does not exist fails at open"
like "$err" "cannot run $T/no-such-program" "cmd: names it"
# the command is killed at close (not left behind)
nap="987.$RANDOM"
drv_start cmdkill -d cmd -P command="sleep $nap" -t 300
napid=$(pgrep -fx "sleep $nap")
[ -n "$napid" ] && at_exit "kill -9 $napid"
ok "cmd: the command runs while the console is open (pid ${napid:-none})" test -n "$napid"
drv_wait cmdkill
is "$(cat "$T/cmdkill.rc")" 0 "cmd: a command still running at close: the driver succeeds"
for _ in $(seq 50); do kill -0 "${napid:-0}" 2>/dev/null || break; sleep 0.02; done
ok "cmd: ... and the command is killed at close" sh -c "! kill -0 ${napid:-0} 2>/dev/null"

# ---------------------------------------------------------------- ipmi-sol
if command -v ipmi_sim >/dev/null && command -v ipmitool >/dev/null; then
	start_socat
	iport=$(perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Proto => "udp", LocalAddr => "127.0.0.1:0")->sockport')
	mkdir -p "$T/ipmi/state"
	cat >"$T/ipmi/lan.conf" <<CONF
name "labctl76"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 $iport
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcd76
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
	printf 'secret\n' >"$T/ipmi/pw"
	chmod 600 "$T/ipmi/pw"
	sol=(-d ipmi-sol -P host=127.0.0.1 -P port="$iport" -P user=admin)
	timeout 10 cat "$B" >"$T/sol.board" &
	CATB=$!
	at_exit "kill $CATB"
	drv_start sol "${sol[@]}" -P password_file="$T/ipmi/pw" -w $'typed ~x\r~~.y\n' -D 1000 -i 1500 -t 8000
	ok "ipmi-sol: a session with ipmi_sim" test $? = 0
	sleep 1.5
	printf 'POST from the board\r\nline 2\r\n' >"$B"
	drv_wait sol
	is "$(cat "$T/sol.rc")" 0 "ipmi-sol: the driver succeeds" || diag "$(cat "$T/sol.err")"
	is "$(od -c "$(logof sol)")" "$(printf 'POST from the board\r\nline 2\r\n' | od -c)" \
		"ipmi-sol: the board's bytes, without ipmitool's banner"
	wait "$CATB"
	is "$(od -c "$T/sol.board")" "$(printf 'typed ~x\r~~.y\n' | od -c)" \
		"ipmi-sol: typed bytes reach the board, ~ after a newline too"
	pgrep -f -- "-p $iport .*sol activate" >/dev/null
	ok "ipmi-sol: ipmitool is gone after close" test $? = 1
	IPMI_PASSWORD=wrong run_drv "${sol[@]}" -t 100
	is "$rc" 1 "ipmi-sol: a wrong password fails at open"
	like "$err" "console ipmi-sol 127.0.0.1:$iport: ipmitool ended before it was connected: .*(RAKP|session|password)" \
		"ipmi-sol: ... quoting ipmitool"
	chmod 644 "$T/ipmi/pw"
	run_drv "${sol[@]}" -P password_file="$T/ipmi/pw" -t 100
	like "$err" "password_file $T/ipmi/pw is mode 0644: others can read the password; refusing it" \
		"ipmi-sol: a password_file others can read is refused"
	(unset IPMI_PASSWORD; run_drv "${sol[@]}" -t 100; echo "$err" >"$T/nopw")
	like "$(cat "$T/nopw")" "needs the password: set IPMI_PASSWORD or password_file" \
		"ipmi-sol: no password says where to put one"
	run_drv -d ipmi-sol -P port=1 -t 100
	like "$err" "ipmi-sol needs host" "ipmi-sol: host missing"
	kill "$SIM"
	wait "$SIM" 2>/dev/null
	stop_socat
else
	skip "ipmi_sim or ipmitool missing"
fi

# ---------------------------------------------------------------- amt-sol
if command -v amtterm >/dev/null; then
	printf 'amtsecret\n' >"$T/amtpw"
	chmod 644 "$T/amtpw"
	amt=(-d amt-sol -P host=127.0.0.1 -P user=labuser)
	run_drv "${amt[@]}" -P port=16994 -P password_file="$T/amtpw" -t 100
	is "$rc" 1 "amt-sol: a 0644 password_file fails"
	like "$err" "console driver amt-sol: password_file $T/amtpw is mode 0644: others can read the password; refusing it \(chmod 600" \
		"amt-sol: ... refused, clearly"
	chmod 600 "$T/amtpw"
	(unset AMT_PASSWORD; run_drv "${amt[@]}" -t 100; echo "$err" >"$T/nopw")
	like "$(cat "$T/nopw")" "amt-sol needs the password: set AMT_PASSWORD or password_file" \
		"amt-sol: no password says where to put one"
	dead=$(free_port)
	t0=$(date +%s%N)
	run_drv "${amt[@]}" -P port="$dead" -P password_file="$T/amtpw" -t 100
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	is "$rc" 1 "amt-sol: a port nobody listens on fails at open"
	like "$err" "console amt-sol 127.0.0.1:$dead: amtterm ended before it was connected: .*Connection refused" \
		"amt-sol: ... in amtterm's words"
	ok "amt-sol: ... at once ($ms ms)" test "$ms" -lt 3000
	# A peer that accepts and never answers: amtterm's argv and
	# environment while it waits, then a timeout.
	lp=$(free_port)
	socat -u TCP-LISTEN:"$lp",bind=127.0.0.1,reuseaddr OPEN:"$T/amt.rx",creat &
	LST=$!
	at_exit "kill $LST"
	for _ in $(seq 100); do ss -Hltn "( sport = :$lp )" | grep -q . && break; sleep 0.02; done
	AMT_PASSWORD=envsecret timeout -k 5 30 "$T/drv" -r "$T/x.res" "${amt[@]}" -P port="$lp" >"$T/x.out" 2>"$T/x.err" &
	APID=$!
	at_exit "kill -9 $APID"
	for _ in $(seq 100); do apid=$(pgrep -f "^amtterm .*$lp\$"); [ -n "$apid" ] && break; sleep 0.02; done
	is "$(tr '\0' ' ' </proc/${apid:-0}/cmdline 2>/dev/null)" "amtterm -u labuser 127.0.0.1 $lp " \
		"amt-sol: amtterm's argv (user, host, port; no password)"
	ok "amt-sol: the password is in its environment" \
		sh -c "tr '\\0' '\\n' </proc/${apid:-0}/environ | grep -qx AMT_PASSWORD=envsecret"
	wait "$APID"
	is "$?" 1 "amt-sol: a peer that never answers: open fails"
	like "$(cat "$T/x.err")" "amtterm did not connect within [0-9]+ ms" "amt-sol: ... after the connect timeout"
	ok "amt-sol: ... and amtterm is gone" sh -c "! kill -0 ${apid:-0} 2>/dev/null"
	kill "$LST" 2>/dev/null
else
	skip "amtterm not installed"
fi

done_testing
