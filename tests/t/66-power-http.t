#!/bin/bash
# labctl power with the http driver (a real pdudaemon; RTE, Tasmota,
# Shelly and a generic device from tests/t/power-http-server.pl, which
# checks every request it gets) and the amt driver (the same server
# speaking WS-Management with HTTP digest, as Intel AMT does).  Secrets
# never show in --dry-run, --json or messages; unreachable switches fail
# with exit 3 within the timeout, naming the URL.
. "$(dirname "$0")/lib.sh"

export LABCTL_LABS=$T/labs LABCTL_STATE_DIR=$T/state
mkdir -p "$T/labs" "$T/state"
cd "$T" || exit 1
unset LABCTL_LAB LABCTL_HTTP_PASSWORD AMT_PASSWORD
SERVER=$TOP/tests/t/power-http-server.pl

json_get() {	# json_get JSON PERL-EXPR
	printf '%s' "$1" | perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>); print eval $ARGV[0]' "$2"
}
free_port() {
	perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0")->sockport'
}
# wait_for SECONDS CMD...: until CMD succeeds, at most SECONDS.
wait_for() {
	local end=$((SECONDS + $1)); shift
	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.1
	done
}
# start_server NAME MODE [ARGS]: its port in $port, its files in $T/NAME.
start_server() {
	local name=$1 mode=$2 pid; shift 2
	mkdir -p "$T/$name"
	perl "$SERVER" --mode "$mode" --dir "$T/$name" "$@" >"$T/$name/stderr" 2>&1 &
	pid=$!
	at_exit "kill $pid"
	wait_for 10 test -s "$T/$name/port" || { diag "$name server did not start: $(cat "$T/$name/stderr")"; return 1; }
	port=$(cat "$T/$name/port")
}
# The server's log lines, with the BAD ones counted by no_bad.
log_of() { cat "$T/$1/log" 2>/dev/null; }
no_bad() { ! grep -q 'BAD:' "$T/$1/log" 2>/dev/null; }
lab() {	# lab NAME: [board] + the [power] lines on stdin
	{ printf '[board]\ntype = pc\nhost = board.example\n[power]\n'; cat; } >"$T/labs/$1.conf"
}

# ---- pdudaemon: the real daemon, localcmdline writing to a file ----
if [ -x /usr/sbin/pdudaemon ]; then
	pport=$(free_port)
	mkdir -p "$T/pdud"
	cat >"$T/pdud/conf.json" <<JSON
{"daemon": {"hostname": "127.0.0.1", "port": $pport, "listener": "http",
            "logging_level": "DEBUG"},
 "pdus": {"labpdu": {"driver": "localcmdline",
                     "cmd_on": "echo on %s >>$T/pdud/outlets",
                     "cmd_off": "echo off %s >>$T/pdud/outlets"}}}
JSON
	/usr/sbin/pdudaemon --conf "$T/pdud/conf.json" --logfile "$T/pdud/log" \
		</dev/null >"$T/pdud/stdout" 2>&1 &
	pdud=$!
	# pdudaemon 0.0.8 does not exit on SIGTERM (a thread stays behind).
	at_exit "kill -KILL $pdud; wait $pdud"
	wait_for 20 perl -MIO::Socket::INET -e "exit !IO::Socket::INET->new('127.0.0.1:$pport')" ||
		diag "pdudaemon did not listen: $(cat "$T/pdud/stdout" "$T/pdud/log")"
	lab p <<CONF
driver = http
url = http://127.0.0.1:$pport
pdu = labpdu
port = 3
off_time = 1s
CONF
	outlets() { tr '\n' ' ' <"$T/pdud/outlets" 2>/dev/null; }
	run_labctl power p on
	is "$rc" 0 "pdudaemon on: exit 0" || diag "$err"
	# pdudaemon answers 200 whatever its command did: check the outlet.
	wait_for 10 grep -q 'on 3' "$T/pdud/outlets"
	is "$(outlets)" "on 3 " "pdudaemon on: the outlet's command ran"
	like "$out" 'power on: ok, the board is unknown' "pdudaemon on: no status, so unknown"
	run_labctl power p off
	wait_for 10 grep -q 'off 3' "$T/pdud/outlets"
	is "$(outlets)" "on 3 off 3 " "pdudaemon off: the outlet went off"
	start=$SECONDS
	run_labctl power p cycle
	is "$rc" 0 "pdudaemon cycle (reboot): exit 0" || diag "$err"
	wait_for 10 test "$(outlets)" = "on 3 off 3 off 3 on 3 "
	is "$(outlets)" "on 3 off 3 off 3 on 3 " "pdudaemon cycle: off then on"
	grep -q 'power/control/reboot?hostname=labpdu&port=3&delay=1' "$T/pdud/log"
	is "$?" 0 "pdudaemon cycle: one reboot request with delay = off_time"
	run_labctl power p status
	is "$rc:$out" "0:unknown" "pdudaemon status: unknown (pdudaemon cannot tell)"
	run_labctl power p press
	is "$rc" 2 "pdudaemon press: exit 2"
	like "$err" 'no power button' "pdudaemon press: says why"
	run_labctl power p on --dry-run
	is "$out" "GET http://127.0.0.1:$pport/power/control/on?hostname=labpdu&port=3" \
		"pdudaemon --dry-run on: exactly the request"
	run_labctl power p reset --dry-run
	is "$out" "GET http://127.0.0.1:$pport/power/control/reboot?hostname=labpdu&port=3&delay=1" \
		"pdudaemon --dry-run reset: the reboot (no reset of its own)"
	sleep 0.3
	is "$(outlets)" "on 3 off 3 off 3 on 3 " "pdudaemon --dry-run: nothing sent"
	# A PDU pdudaemon does not know: it answers 500.
	sed -i 's/^pdu = labpdu/pdu = nosuch pdu/' "$T/labs/p.conf"
	run_labctl power p on
	is "$rc" 3 "pdudaemon unknown PDU: exit 3"
	like "$err" "GET http://127\.0\.0\.1:$pport/power/control/on\?hostname=nosuch%20pdu&port=3 answered 500: Invalid request" \
		"pdudaemon unknown PDU: the escaped URL and the answer"
else
	skip "pdudaemon missing"
fi

# ---- RTE: the relay, the reset and power buttons ----
start_server rte rte
rport=$port
lab r <<CONF
driver = http
flavor = rte
url = http://127.0.0.1:$rport/
off_time = 100ms
CONF
run_labctl power r on
is "$rc" 0 "rte on: exit 0" || diag "$err"
is "$(cat "$T/rte/state")" "on" "rte on: the relay closed"
like "$out" 'the board is on' "rte on: then reads the relay back (on)"
is "$(head -1 "$T/rte/log")" "$(printf 'PATCH\t/api/v1/gpio/0\t-\tapplication/json\t{"state":1,"direction":"out","time":0}')" \
	"rte on: PATCH of GPIO 0, JSON body"
is "$(sed -n 2p "$T/rte/log" | cut -f1,2)" "$(printf 'GET\t/api/v1/gpio/0')" "rte status: GET of GPIO 0"
run_labctl power r off
is "$(cat "$T/rte/state")" "off" "rte off: the relay opened"
run_labctl power r status
is "$out" "off" "rte status: off"
start=$SECONDS
run_labctl power r reset
is "$rc" 0 "rte reset: exit 0"
is "$(tail -1 "$T/rte/events")" "pulse 8 1" "rte reset: a 1 s pulse of GPIO 8"
ok "rte reset: waited out the pulse" test $((SECONDS - start)) -ge 1
run_labctl power r press
is "$(tail -1 "$T/rte/events")" "pulse 9 1" "rte press: a 1 s pulse of GPIO 9"
run_labctl power r press --long --dry-run
is "$out" "$(printf 'PATCH http://127.0.0.1:%s/api/v1/gpio/9 {"state":1,"direction":"out","time":5}\nwait 5000 ms' "$rport")" \
	"rte --dry-run press --long: a 5 s pulse"
run_labctl power r cycle
is "$(tail -2 "$T/rte/events" | tr '\n' ' ')" "relay 0 relay 1 " "rte cycle: relay off, then on"
ok "rte: every request was valid" no_bad rte || diag "$(log_of rte)"
echo "button = yes" >>"$T/labs/r.conf"
run_labctl power r on --dry-run
is "$out" "$(printf 'PATCH http://127.0.0.1:%s/api/v1/gpio/9 {"state":1,"direction":"out","time":1}\nwait 1000 ms' "$rport")" \
	"rte button = yes: on is a 1 s press of the power button"
run_labctl power r status
is "$rc:$out" "0:unknown" "rte button = yes: status unknown"

# ---- Tasmota: channel 2, then a web password in a POST body ----
start_server tas tasmota
tport=$port
lab t <<CONF
driver = http
flavor = tasmota
url = http://127.0.0.1:$tport
channel = 2
CONF
run_labctl power t on
is "$rc" 0 "tasmota on: exit 0" || diag "$err"
is "$(cut -f1,2 "$T/tas/log" | tr '\t\n' ' |')" "GET /cm?cmnd=Power2%20On|GET /cm?cmnd=Power2|" \
	"tasmota on: Power2 On, then Power2 for the state"
like "$out" 'the board is on' "tasmota on: POWER2 is ON"
run_labctl power t off
run_labctl power t status
is "$out" "off" "tasmota off, status: off"
run_labctl power t reset
is "$(tail -2 "$T/tas/events" | tr '\n' ' ')" "power2 Off power2 On " "tasmota reset: off, wait, on"
ok "tasmota: every request was valid" no_bad tas || diag "$(log_of tas)"

start_server tasp tasmota --user admin --password 'tas pw&1'
tpport=$port
printf 'tas pw&1\n' >"$T/tas.pw"
chmod 600 "$T/tas.pw"
lab tp <<CONF
driver = http
flavor = tasmota
url = http://127.0.0.1:$tpport
user = admin
password_file = $T/tas.pw
CONF
run_labctl power tp on
is "$rc:$out" "0:tp: power on: ok, the board is on" "tasmota with a password: on" || diag "$err"
is "$(head -1 "$T/tasp/log" | cut -f1-5)" "$(printf 'POST\t/cm\t-\tapplication/x-www-form-urlencoded\tuser=admin&password=tas%%20pw%%261&cmnd=Power%%20On')" \
	"tasmota with a password: POST body, nothing in the URL"
run_labctl power tp off --dry-run
is "$out" "POST http://127.0.0.1:$tpport/cm user=admin&password=***&cmnd=Power%20Off" \
	"tasmota --dry-run: the password is masked"
run_labctl --json power tp status --dry-run
unlike "$out" 'tas pw|tas%20pw' "tasmota --json --dry-run: no password"
run_labctl --json power tp status
is "$(json_get "$out" '"$j->{result} $j->{state}"')" "ok on" "tasmota --json status"
ok "tasmota with a password: every request was valid" no_bad tasp || diag "$(log_of tasp)"

# ---- Shelly: basic auth from the environment, its own cycle timer ----
start_server sh shelly --user admin --password 's3cret!'
sport=$port
lab s <<CONF
driver = http
flavor = shelly
url = http://127.0.0.1:$sport
user = admin
off_time = 1s
CONF
export LABCTL_HTTP_PASSWORD='s3cret!'
run_labctl power s on
is "$rc" 0 "shelly on: exit 0" || diag "$err"
is "$(head -1 "$T/sh/log" | cut -f1-3)" "$(printf 'GET\t/relay/0?turn=on\tbasic:admin:ok')" \
	"shelly on: turn=on with basic auth"
start=$SECONDS
run_labctl power s cycle
is "$rc" 0 "shelly cycle: exit 0"
grep -q "$(printf 'GET\t/relay/0?turn=off&timer=1\t')" "$T/sh/log"
is "$?" 0 "shelly cycle: turn=off with a 1 s flip-back timer"
is "$(tail -2 "$T/sh/events" | tr '\n' ' ')" "turn off timer 1 timer on " "shelly cycle: the Shelly switched back on"
like "$out" 'the board is on' "shelly cycle: on afterwards"
run_labctl power s status
is "$out" "on" "shelly status: on"
ok "shelly: every request was valid" no_bad sh || diag "$(log_of sh)"
run_labctl --json power s off
unlike "$out$err" 's3cret' "shelly --json: no password"
LABCTL_HTTP_PASSWORD=wrong run_labctl power s on
is "$rc" 3 "shelly, a wrong password: exit 3"
like "$err" "GET http://127\.0\.0\.1:$sport/relay/0\?turn=on answered 401 Unauthorized: wrong user or password" \
	"shelly, a wrong password: says so"
unset LABCTL_HTTP_PASSWORD
run_labctl power s on
is "$rc" 2 "shelly, a user without a password: exit 2"
like "$err" 'needs the password of user .*LABCTL_HTTP_PASSWORD or password_file' "shelly, no password: where to put one"
echo "channel = 5" >>"$T/labs/s.conf"
LABCTL_HTTP_PASSWORD=x run_labctl power s on
is "$rc" 2 "shelly channel 5: exit 2"
like "$err" 's\.conf:[0-9]+: .*channel 5 is out of range for flavor shelly \(1\.\.4\)' "shelly channel 5: out of range"
sed -i 's/^channel = 5/channel = 17/' "$T/labs/s.conf"
LABCTL_HTTP_PASSWORD=x run_labctl power s on
is "$rc" 2 "channel 17: exit 2"
like "$err" 's\.conf:[0-9]+: .*17 is out of range \(1\.\.16\)' "channel 17: the schema's range"

# ---- generic: one request per action ----
start_server gen generic
gport=$port
lab g <<CONF
driver = http
flavor = generic
url = http://127.0.0.1:$gport
url_on = /dev/on
url_off = POST /dev/set state=0
url_status = /dev/status
status_on = "on": *true
status_off = "on": *false
off_time = 100ms
CONF
run_labctl power g on
is "$rc:$(cat "$T/gen/state")" "0:on" "generic on: exit 0, device on" || diag "$err"
run_labctl power g status
is "$out" "on" "generic status: on (status_on matched)"
run_labctl power g off
is "$(grep POST "$T/gen/log" | cut -f1,2,4,5)" "$(printf 'POST\t/dev/set\tapplication/x-www-form-urlencoded\tstate=0')" \
	"generic off: POST with a form body"
run_labctl power g cycle
is "$(tail -2 "$T/gen/events" | tr '\n' ' ')" "generic set 0 generic on " "generic cycle: off, wait, on"
run_labctl power g cycle --dry-run
is "$out" "$(printf 'POST http://127.0.0.1:%s/dev/set state=0\nwait 100 ms\nGET http://127.0.0.1:%s/dev/on' "$gport" "$gport")" \
	"generic --dry-run cycle"
ok "generic: every request was valid" no_bad gen || diag "$(log_of gen)"

# ---- AMT: WS-Management with HTTP digest ----
start_server amt amt --user admin --password 'Amt P@ss1'
aport=$port
printf 'Amt P@ss1\n' >"$T/amt.pw"
chmod 600 "$T/amt.pw"
lab a <<CONF
driver = amt
host = 127.0.0.1
port = $aport
password_file = $T/amt.pw
timeout = 1s
retries = 2
CONF
run_labctl power a status
is "$rc:$out" "0:off" "amt status: off (PowerState 8)" || diag "$err"
is "$(cut -f1-3 "$T/amt/log" | tr '\t\n' ' |')" "POST /wsman -|POST /wsman digest:admin:ok|" \
	"amt: a digest challenge, then the authenticated request"
run_labctl power a on
is "$rc" 0 "amt on: exit 0" || diag "$err"
is "$(cat "$T/amt/state")" "on" "amt on: PowerState 2 switched it on"
like "$out" 'the board is on' "amt on: the status says on"
run_labctl power a reset
is "$(grep -v status "$T/amt/events" | tail -1)" "amt 10 rv 0" "amt reset of a machine that is on: PowerState 10"
run_labctl power a cycle
is "$(grep -v status "$T/amt/events" | tail -1)" "amt 5 rv 0" "amt cycle: PowerState 5"
run_labctl power a off
is "$(cat "$T/amt/state")" "off" "amt off: PowerState 8"
run_labctl power a reset
is "$(grep -v status "$T/amt/events" | tail -1)" "amt 2 rv 0" "amt reset of a machine that is off: powers it on (2)"
ok "amt: every request was valid" no_bad amt || diag "$(log_of amt)"
run_labctl power a off --dry-run
like "$out" "^POST http://127\.0\.0\.1:$aport/wsman <\?xml version=\"1\.0\" encoding=\"UTF-8\"\?><s:Envelope " "amt --dry-run off: the POST"
like "$out" '<n1:PowerState>8</n1:PowerState>' "amt --dry-run off: PowerState 8"
unlike "$out" 'P@ss' "amt --dry-run: no password"
is "$(cat "$T/amt/state")" "on" "amt --dry-run off: still on"
# A SOAP fault, a non-zero ReturnValue
echo fault >"$T/amt/next"
run_labctl power a off
is "$rc" 3 "amt SOAP fault: exit 3"
like "$err" "AMT at http://127\.0\.0\.1:$aport/wsman answered a SOAP fault: b:DestinationUnreachable: No route can be determined" \
	"amt SOAP fault: the subcode and reason"
echo "rv 2" >"$T/amt/next"
run_labctl power a off
is "$rc" 3 "amt ReturnValue 2: exit 3"
like "$err" 'refused PowerState 8 \(Off - Soft\): ReturnValue 2 \(Unknown or Unspecified Error\)' "amt ReturnValue 2: named"
is "$(cat "$T/amt/state")" "on" "amt ReturnValue 2: nothing changed"
# The sleeping interface: the first connection gets no answer.
echo "hang 1.5" >"$T/amt/next"
start=$SECONDS
run_labctl -v power a off
took=$((SECONDS - start))
is "$rc" 0 "amt asleep: the retry woke it (exit 0)" || diag "$err"
is "$(cat "$T/amt/state")" "off" "amt asleep: then switched off"
like "$err" 'again in 1000 ms \(attempt 2 of 3\)' "amt asleep: the retry is logged"
ok "amt asleep: bounded ($took s)" test "$took" -lt 8
run_labctl --json power a status
is "$(json_get "$out" '"$j->{driver} $j->{result} $j->{state}"')" "amt ok off" "amt --json status"
AMT_PASSWORD=wrong run_labctl power a status
is "$rc" 0 "amt: password_file wins over AMT_PASSWORD"
sed -i '/password_file/d' "$T/labs/a.conf"
AMT_PASSWORD=wrong run_labctl power a status
is "$rc" 3 "amt, a wrong password: exit 3"
like "$err" 'answered 401 Unauthorized: wrong user or password' "amt, a wrong password: says so"
unlike "$err" 'wrong.*wrong' "amt, a wrong password: the password is not shown"
AMT_PASSWORD='Amt P@ss1' run_labctl power a on
is "$rc:$(cat "$T/amt/state")" "0:on" "amt: the password from AMT_PASSWORD"
echo "password_file = $T/amt.pw" >>"$T/labs/a.conf"
chmod 644 "$T/amt.pw"
run_labctl power a status
is "$rc" 2 "amt: a password_file others can read: exit 2"
like "$err" "a\.conf:[0-9]+: power driver amt: password_file $T/amt\.pw is mode 0644.*chmod 600" \
	"amt: the file and its mode are named"

# ---- bad input and unreachable switches ----
lab bf <<CONF
driver = http
flavor = frob
url = http://127.0.0.1:1
CONF
run_labctl power bf on
is "$rc" 2 "unknown flavor: exit 2"
like "$err" "'frob' is not one of: pdudaemon, rte, tasmota, shelly, generic" "unknown flavor: the choices"
lab nu <<CONF
driver = http
flavor = shelly
CONF
run_labctl power nu on
is "$rc" 2 "missing url: exit 2"
like "$err" 'nu\.conf:[0-9]+: power driver http needs url = ' "missing url: says what to add"
lab pw <<CONF
driver = http
url = http://user:pass@127.0.0.1:1
pdu = x
port = 1
CONF
run_labctl power pw on
is "$rc" 2 "a password in the URL: exit 2"
like "$err" 'password_file' "a password in the URL: refused"

closed=$(free_port)
lab cl <<CONF
driver = http
flavor = shelly
url = http://127.0.0.1:$closed
timeout = 2s
CONF
start=$SECONDS
run_labctl power cl on
is "$rc" 3 "closed port: exit 3"
like "$err" "GET http://127\.0\.0\.1:$closed/relay/0\?turn=on: .*(refused|connect)" "closed port: the URL and why"
ok "closed port: within the timeout" test $((SECONDS - start)) -le 3

# A blackhole: a private network namespace where 192.0.2.0/24 goes to lo
# and is dropped, so nothing ever answers.
if unshare -n true 2>/dev/null; then
	lab bh <<CONF
driver = http
flavor = tasmota
url = http://192.0.2.7
timeout = 1s
CONF
	start=$SECONDS
	out=$(timeout 20 unshare -n sh -c 'ip link set lo up && ip route add 192.0.2.0/24 dev lo && exec "$@"' sh \
		"$LABCTL" power bh on 2>&1); rc=$?
	took=$((SECONDS - start))
	is "$rc" 3 "blackholed switch: exit 3"
	like "$out" 'GET http://192\.0\.2\.7/cm\?cmnd=Power%20On: .*[Tt]ime(d )?out' "blackholed switch: timed out, naming the URL"
	ok "blackholed switch: within the 1 s timeout (took $took s)" test "$took" -le 3
	lab bha <<CONF
driver = amt
host = 192.0.2.8
timeout = 1s
retries = 1
CONF
	start=$SECONDS
	out=$(AMT_PASSWORD=x timeout 20 unshare -n sh -c 'ip link set lo up && ip route add 192.0.2.0/24 dev lo && exec "$@"' sh \
		"$LABCTL" power bha status 2>&1); rc=$?
	took=$((SECONDS - start))
	is "$rc" 3 "blackholed AMT: exit 3"
	like "$out" 'POST http://192\.0\.2\.8:16992/wsman: .*[Tt]ime(d )?out' "blackholed AMT: the URL"
	ok "blackholed AMT: 2 attempts of 1 s and a 1 s pause (took $took s)" test "$took" -ge 2 -a "$took" -le 5
else
	skip "no network namespaces (unshare -n)"
fi

# TLS: verified by default; tls_verify = no accepts a self-signed certificate.
if command -v openssl >/dev/null && command -v socat >/dev/null; then
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1 -keyout "$T/tls.key" -out "$T/tls.crt" >/dev/null 2>&1
	tlsport=$(free_port)
	socat "OPENSSL-LISTEN:$tlsport,bind=127.0.0.1,reuseaddr,fork,cert=$T/tls.crt,key=$T/tls.key,verify=0" \
		"TCP:127.0.0.1:$gport" >"$T/socat.log" 2>&1 &
	socat=$!
	at_exit "kill $socat"
	wait_for 10 perl -MIO::Socket::INET -e "exit !IO::Socket::INET->new('127.0.0.1:$tlsport')"
	sed "s|^url = .*|url = https://127.0.0.1:$tlsport|" "$T/labs/g.conf" >"$T/labs/tls.conf"
	run_labctl power tls status
	is "$rc" 3 "https with a self-signed certificate: exit 3"
	like "$err" "GET https://127\.0\.0\.1:$tlsport/dev/status: .*(certificate|SSL)" "https: the certificate is refused"
	echo "tls_verify = no" >>"$T/labs/tls.conf"
	run_labctl power tls status
	is "$rc:$out" "0:on" "https with tls_verify = no: works" || diag "$err"
else
	skip "openssl or socat missing"
fi

done_testing
