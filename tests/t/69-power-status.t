#!/bin/bash
# labctl power status says why when it cannot know: the ssh driver on a
# board whose ssh port does not answer (a closed loopback port) is exit 3
# naming the device, host, port and what failed (not "unknown" with exit
# 0), in --json too; a driver that has no status says unknown (exit 0)
# with a note on stderr.  The verb's options parse as getopt_long does.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/labs"
export LABCTL_LABS=$T/labs
export LABCTL_STATE_DIR=$T/state
cd "$T" || exit 1
port=$(free_port)

cat >"$T/labs/s.conf" <<CONF
[board]
type = pc
host = 127.0.0.1
ssh_port = $port
[power]
driver = ssh
CONF
run_labctl power s status
is "$rc" 3 "ssh status, nothing on the port: exit 3"
is "$out" "" "... prints no state"
like "$err" "power driver ssh: cannot tell whether 127\.0\.0\.1 is on: its ssh port $port does not answer \(Connection refused\)" \
	"... names the device, the host, the port and what failed"
run_labctl --json power s status
is "$rc" 3 "--json ssh status: exit 3"
like "$out" "\"result\":\"error\",\"state\":\"unknown\",\"error\":\"power driver ssh: cannot tell whether 127\.0\.0\.1 is on: its ssh port $port does not answer" \
	"--json: the reason is in the object"
sed -i 's/^host = 127.0.0.1/host = no-such-board.invalid/' "$T/labs/s.conf"
run_labctl power s status
is "$rc" 3 "ssh status, a host that does not resolve: exit 3"
like "$err" "cannot tell whether no-such-board\.invalid is on: .*cannot resolve no-such-board\.invalid" \
	"... says it does not resolve"

# Something listens: on.
sed -i 's/^host = .*/host = 127.0.0.1/' "$T/labs/s.conf"
if command -v socat >/dev/null; then
	socat TCP-LISTEN:"$port",bind=127.0.0.1,reuseaddr,fork /dev/null &
	SOCAT=$!
	at_exit "kill $SOCAT"
	for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
	run_labctl power s status
	is "$rc/$out" "0/on" "ssh status, the port answers: on, exit 0"
	kill "$SOCAT"; wait "$SOCAT" 2>/dev/null
else
	skip "no socat"
fi

# A driver with no way to know: unknown, exit 0, and a note why.
cat >"$T/labs/c.conf" <<CONF
[board]
type = pc
host = board.invalid
[power]
driver = cmd
on = true
off = true
CONF
run_labctl power c status
is "$rc/$out" "0/unknown" "cmd without a status command: unknown, exit 0"
like "$err" "c: power driver cmd does not know whether the board is on" "... says so on stderr"

# getopt_long: options anywhere, --, bundling is not needed (long only).
run_labctl power --dry-run c status
is "$rc" 0 "--dry-run before LAB"
run_labctl power c --bogus status
is "$rc" 2 "unknown long option: exit 2"
like "$err" "unknown option '--bogus'" "... named"
run_labctl power c status --dry-run=yes
is "$rc" 2 "a value for a flag: exit 2"
run_labctl power -- c status
is "$rc/$out" "0/unknown" "-- before the words"
run_labctl power c status extra
is "$rc" 2 "too many words: exit 2"

done_testing
