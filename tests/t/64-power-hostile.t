#!/bin/bash
# Peers that send terminal escapes: an AMT (tests/t/power-http-server.pl)
# whose answers carry ESC sequences, a power command whose stderr does.
# Their text reaches the messages escaped (\e, \xNN), never raw, and an
# AMT answer that is not SOAP is the lab's fault (exit 3), not the user's.
. "$(dirname "$0")/lib.sh"

export LABCTL_LABS=$T/labs LABCTL_STATE_DIR=$T/state
mkdir -p "$T/labs" "$T/state" "$T/amt"
cd "$T" || exit 1
unset LABCTL_LAB AMT_PASSWORD
ESC=$(printf '\033')

perl "$TOP/tests/t/power-http-server.pl" --mode amt --dir "$T/amt" \
	--user admin --password 'pw' >"$T/amt/stderr" 2>&1 &
at_exit "kill $!"
for _ in $(seq 100); do [ -s "$T/amt/port" ] && break; sleep 0.1; done
port=$(cat "$T/amt/port")
printf 'pw\n' >"$T/amt.pw"
chmod 600 "$T/amt.pw"
cat >"$T/labs/a.conf" <<CONF
[board]
type = pc
host = board.example
[power]
driver = amt
host = 127.0.0.1
port = $port
password_file = $T/amt.pw
timeout = 2s
retries = 0
CONF
# no_raw_escape TEXT: no ESC and no BEL byte in it
no_raw_escape() { ! printf '%s' "$1" | grep -q "[$ESC$(printf '\007')]"; }

# 1. 200 with a body that is not SOAP, coloured
printf '\033[31mI am not AMT\033[0m\007\n<html>' >"$T/amt/red"
echo "answer 200 red" >"$T/amt/next"
run_labctl power a status
is "$rc" 3 "amt: an answer that is not SOAP: exit 3 (the lab)"
is "$out" "" "... prints no state"
like "$err" "answered something that is not a SOAP envelope: '\\\\e\[31mI am not AMT\\\\e\[0m\\\\x07'" \
	"... the answer is quoted with its escapes shown as \\e and \\x07"
ok "... no raw ESC or BEL reaches the terminal" no_raw_escape "$err"
echo "answer 200 red" >"$T/amt/next"
run_labctl --json power a status
is "$rc" 3 "--json: exit 3"
like "$out" '"error":"AMT at http://127\.0\.0\.1:[0-9]+/wsman answered something that is not a SOAP envelope: .\\\\e\[31m' \
	"--json: the escaped text in the error (then JSON-quoted)"
ok "--json: no raw ESC" no_raw_escape "$out$err"

# 2. an envelope whose PowerState is a control sequence (not XML: XML
#    has no ESC character, so it is no SOAP envelope)
printf '<s:Envelope><s:Body><g:CIM_AssociatedPowerManagementService><g:PowerState>\0332J</g:PowerState></g:CIM_AssociatedPowerManagementService></s:Body></s:Envelope>' >"$T/amt/ps"
echo "answer 200 ps" >"$T/amt/next"
run_labctl power a status
is "$rc" 3 "amt: a PowerState that is not a number: exit 3"
like "$err" "not a SOAP envelope: '.*<g:PowerState>\\\\e2J</g:PowerState>" "... shown escaped"
ok "... no raw ESC" no_raw_escape "$err"

# 3. a fault whose reason clears the screen (not XML either)
printf '<s:Envelope><s:Body><s:Fault><s:Code><s:Value>s:Receiver\033[2J</s:Value></s:Code><s:Reason><s:Text>broken\033]0;pwned\007</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>' >"$T/amt/fault"
echo "answer 500 fault" >"$T/amt/next"
run_labctl power a off
is "$rc" 3 "amt: a fault with escapes: exit 3"
like "$err" "not a SOAP envelope: '.*s:Receiver\\\\e\[2J</s:Value>.*broken\\\\e\]0;pwned\\\\x07" "... code and reason escaped"
ok "... no raw ESC or BEL" no_raw_escape "$err"

# 4. an HTTP error whose body is escapes
printf 'oops \033[5mblink\n' >"$T/amt/err"
echo "answer 500 err" >"$T/amt/next"
run_labctl power a status
is "$rc" 3 "amt: HTTP 500 with escapes: exit 3"
like "$err" "answered 500: oops \\\\e\[5mblink" "... the body escaped"
ok "... no raw ESC" no_raw_escape "$err"
is "$(grep -c 'amt answer' "$T/amt/events")" 5 "the peer sent all five hostile answers"

# 5. a power command whose stderr holds escapes (lib/spawn.c quotes it)
cat >"$T/hostile.sh" <<'SH'
#!/bin/sh
printf 'relay says \033[31mno\033[0m\n\033]0;title\007second line\n' >&2
exit 1
SH
chmod +x "$T/hostile.sh"
cat >"$T/labs/c.conf" <<CONF
[board]
type = pc
host = board.example
[power]
driver = cmd
on = $T/hostile.sh
off = true
CONF
run_labctl power c on
is "$rc" 3 "cmd: a failing command: exit 3"
like "$err" 'relay says \\e\[31mno\\e\[0m' "... its stderr escaped"
like "$err" '\\e\]0;title\\x07second line' "... every line of it"
ok "... no raw ESC or BEL" no_raw_escape "$err"

done_testing
