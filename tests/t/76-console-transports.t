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
	$(pkg-config --libs inih 2>/dev/null) -lm -fsanitize=address,undefined
[ -x "$T/drv" ] || { done_testing; exit 1; }

# About 4 MiB of numbered lines, and 1 MiB of every byte value.
seq -f 'line %07g of the console transport test: 0123456789abcdefghijklmnopqrstuvwxyz' 1 50000 >"$T/lines"
head -c 1048576 /dev/urandom >"$T/binary"
lines_size=$(stat -c %s "$T/lines")
lines_sum=$(sha256sum <"$T/lines")
bin_size=$(stat -c %s "$T/binary")
bin_sum=$(sha256sum <"$T/binary")

# A free TCP port (bind-test with socat would race; pick from a range and
# check nothing listens).
free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 30000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
	echo 0
}

start_socat() {	# the pty pair $T/a (transport side) and $T/b (board side)
	rm -f "$T/a" "$T/b"
	socat pty,raw,echo=0,link="$T/a" pty,raw,echo=0,link="$T/b" &
	SOCAT=$!
	at_exit "kill -9 $SOCAT"
	for _ in $(seq 100); do [ -e "$T/a" ] && [ -e "$T/b" ] && break; sleep 0.02; done
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
drv_start tty -d tty -P device="$T/a" -n "$lines_size"
ok "tty: open" test $? = 0
timeout 30 cat "$T/lines" >"$T/b"
drv_wait tty
check tty "$lines_size" "$lines_sum" "tty: 4 MiB of lines"
is "$(grep -c '^L' "$(logof tty).lines")" 50000 "tty: one sidecar L record per line"

drv_start ttybin -d tty -P device="$T/a" -P baud=9600 -n "$bin_size"
timeout 30 cat "$T/binary" >"$T/b"
drv_wait ttybin
check ttybin "$bin_size" "$bin_sum" "tty at 9600: 1 MiB of every byte value"

drv_start ttyodd -d tty -P device="$T/a" -P baud=250000 -n 6
ok "tty: a non-standard rate (250000, termios2/BOTHER) opens" test $? = 0 || diag "$(cat "$T/ttyodd.err")"
printf 'hello\n' >"$T/b"
drv_wait ttyodd
is "$(cat "$(logof ttyodd)" 2>/dev/null)" "hello" "tty at 250000: data arrives"

# exclusive: while one driver holds it, a second is refused
drv_start excl1 -d tty -P device="$T/a" -n 3 -t 20000
holder=$DRV
run_drv() { timeout -k 5 30 "$T/drv" -r "$T/x.res" "$@" >"$T/x.out" 2>"$T/x.err"; rc=$?; err=$(cat "$T/x.err"); }
run_drv -d tty -P device="$T/a" -n 1 -t 1000
is "$rc" 1 "tty in use: a second open fails"
like "$err" "in (exclusive )?use" "tty in use: says it is in use"
DRV=$holder
printf 'ok\n' >"$T/b"
drv_wait excl1
is "$(cat "$(logof excl1)")" "ok" "tty in use: the holder got the data"

# by-id style symlink to the device
ln -s "$T/a" "$T/usb-FTDI_FT232R_USB_UART_A1B2C3-if00-port0"
drv_start link -d tty -P device="$T/usb-FTDI_FT232R_USB_UART_A1B2C3-if00-port0" -n 5
printf 'link\n' >"$T/b"
drv_wait link
is "$(cat "$(logof link)")" "link" "tty: a symlinked device (/dev/serial/by-id style)"

# the other end goes away: end of stream, not a hang
drv_start hup -d tty -P device="$T/a" -t 20000
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
  connector: serialdev,$T/a,115200n81,local
connection: &tel
  accepter: telnet(rfc2217),tcp,127.0.0.1,$p_tel
  connector: serialdev,$T/a,115200n81,local
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
		dev=$(readlink -f "$T/a")
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
		ok "$7: ser2net opened the pty" wait_open "$S2N" "$T/a"
		timeout 30 cat "$4" >"$T/b"
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
	ok "telnet write: ser2net opened the pty" wait_open "$S2N" "$T/a"
	timeout 3 head -c 15 "$T/b" >"$T/fromdrv" || true
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

done_testing
