#!/bin/bash
# labctl power [LAB] on|off|cycle|reset|status|press: the real binary with
# the dummy driver (a state file), the cmd driver (real programs touching
# files), the fault driver, and the QEMU board across separate processes.
# --dry-run prints exactly what would happen and changes nothing.
. "$(dirname "$0")/lib.sh"

export LABCTL_LABS=$T/labs LABCTL_STATE_DIR=$T/state
mkdir -p "$T/labs" "$T/state"
cd "$T" || exit 1
unset LABCTL_LAB

json_get() {	# json_get JSON PERL-EXPR
	printf '%s' "$1" | perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>); print eval $ARGV[0]' "$2"
}

cat >"$T/labs/d.conf" <<CONF
[board]
type = pc
host = board.example
[power]
driver = dummy
state_file = $T/d.state
log = $T/d.log
off_time = 100ms
CONF

cat >"$T/labs/c.conf" <<CONF
[board]
type = pc
host = board.example
[power]
driver = cmd
on = touch $T/c.on
off = rm -f $T/c.on
status = test -e $T/c.on
reset = touch $T/c.reset
off_time = 100ms
CONF

# --- dummy: the state file is the board
run_labctl power d status
is "$rc" 0 "dummy status: exit 0"
is "$out" "off" "dummy status: off without a state file"
run_labctl power d on
is "$rc" 0 "dummy on: exit 0"
is "$(cat "$T/d.state")" "on" "dummy on: state file says on"
like "$out" 'board is on' "dummy on: reports the state"
run_labctl power d status
is "$out" "on" "dummy status: on"

# --dry-run: exactly the write, and nothing changes
cp "$T/d.state" "$T/d.state.before"; cp "$T/d.log" "$T/d.log.before"
run_labctl power d off --dry-run
is "$rc" 0 "dummy --dry-run off: exit 0"
is "$out" "$(printf 'append "off\\n" to %s\nwrite "off\\n" to %s' "$T/d.log" "$T/d.state")" \
	"dummy --dry-run off: prints the log and state file writes"
same_file "$T/d.state" "$T/d.state.before" "dummy --dry-run off: state file untouched"
same_file "$T/d.log" "$T/d.log.before" "dummy --dry-run off: log untouched"

run_labctl power d off
is "$(cat "$T/d.state")" "off" "dummy off: state file says off"
run_labctl power d cycle
is "$rc" 0 "dummy cycle: exit 0"
is "$(cat "$T/d.state")" "on" "dummy cycle: on afterwards"
is "$(tr '\n' ' ' <"$T/d.log")" "on off off on " "dummy cycle: the fallback ran off then on"

# The lab from --lab and $LABCTL_LAB too.
run_labctl --lab d power status
is "$out" "on" "--lab d power status"
out=$(LABCTL_LAB=d "$LABCTL" power status 2>&1)
is "$out" "on" "LABCTL_LAB=d power status"

# --json
run_labctl --json power d off
is "$rc" 0 "--json off: exit 0"
is "$(json_get "$out" '"$j->{lab} $j->{driver} $j->{action} $j->{result} $j->{state}"')" \
	"d dummy off ok off" "--json off: lab, driver, action, result, state"
is "$(json_get "$out" 'defined $j->{error} ? "set" : "null"')" "null" "--json off: error is null"
run_labctl power d on --json --dry-run
is "$(json_get "$out" '$j->{would}')" "$(printf 'append "on\\n" to %s\nwrite "on\\n" to %s' "$T/d.log" "$T/d.state")" \
	"--json --dry-run: would holds the description"
is "$(cat "$T/d.state")" "off" "--json --dry-run on: state file untouched"

# --- cmd: real programs
run_labctl power c status
is "$out" "off" "cmd status: off (test -e fails)"
run_labctl power c on
is "$rc" 0 "cmd on: exit 0"
ok "cmd on: touched the file" test -e "$T/c.on"
run_labctl power c status
is "$out" "on" "cmd status: on"
run_labctl power c reset
ok "cmd reset: ran its own command" test -e "$T/c.reset"
run_labctl power c off
ok "cmd off: removed the file" test ! -e "$T/c.on"
run_labctl power c cycle
is "$rc" 0 "cmd cycle (off, wait, on): exit 0"
ok "cmd cycle: on afterwards" test -e "$T/c.on"
rm -f "$T/c.on" "$T/c.reset"

run_labctl power c on --dry-run
is "$rc" 0 "cmd --dry-run on: exit 0"
is "$out" "run touch $T/c.on" "cmd --dry-run on: prints the argv"
ok "cmd --dry-run on: file not created" test ! -e "$T/c.on"
run_labctl power c cycle --dry-run
is "$out" "$(printf 'run rm -f %s\nwait 100 ms\nrun touch %s' "$T/c.on" "$T/c.on")" \
	"cmd --dry-run cycle: the fallback's steps"
ok "cmd --dry-run cycle: nothing ran" test ! -e "$T/c.on"
run_labctl --json power c status
is "$(json_get "$out" '"$j->{result} $j->{state}"')" "ok off" "cmd --json status parses"

# --- bad input
run_labctl power d frobnicate
is "$rc" 2 "unknown action: exit 2"
like "$err" "unknown action 'frobnicate'" "unknown action is named"
run_labctl power d
is "$rc" 2 "lab without an action: exit 2"
run_labctl power d on --long
is "$rc" 2 "--long without press: exit 2"
run_labctl power d on --bogus
is "$rc" 2 "unknown option: exit 2"
run_labctl power nosuchlab on
is "$rc" 2 "unknown lab: exit 2"

cat >"$T/labs/badkey.conf" <<CONF
[board]
type = pc
host = board.example
[power]
driver = cmd
on = true
state_file = $T/x
CONF
run_labctl power badkey on
is "$rc" 2 "a key the driver does not take: exit 2"
like "$err" 'badkey\.conf:7' "the bad key's file:line is named"

cat >"$T/labs/badwraps.conf" <<CONF
[board]
type = pc
host = board.example
[power]
driver = fault
wraps = dummy:state_file=$T/f.state,bogus=1
CONF
run_labctl power badwraps on
is "$rc" 2 "fault wraps with a key the wrapped driver does not take: exit 2"
like "$err" "badwraps\.conf:6: .*takes no key 'bogus'" "fault wraps: file:line and the key"
ok "fault wraps error: nothing written" test ! -e "$T/f.state"

cat >"$T/labs/noprog.conf" <<CONF
[board]
type = pc
host = board.example
[power]
driver = cmd
on = labctl-no-such-power-tool --on
CONF
run_labctl power noprog on
is "$rc" 3 "a program that does not exist: exit 3"
like "$err" 'labctl-no-such-power-tool' "the missing program is named"

cat >"$T/labs/hang.conf" <<CONF
[board]
type = pc
host = board.example
[power]
driver = cmd
status = sleep 30
timeout = 1s
CONF
start=$(date +%s)
run_labctl power hang status
end=$(date +%s)
is "$rc" 3 "a status command that hangs: exit 3"
ok "the hang is bounded by the timeout (took $((end - start)) s)" test $((end - start)) -lt 10
run_labctl --json power hang status
is "$(json_get "$out" '"$j->{result} $j->{state}"')" "error unknown" "--json on error: result error, state unknown"
like "$(json_get "$out" '$j->{error}')" 'sleep|time' "--json on error: the message"

# --- fault: repeatable across processes
cat >"$T/labs/f.conf" <<CONF
[board]
type = pc
host = board.example
[power]
driver = fault
wraps = dummy:state_file=$T/f.state
seed = 3
fail_rate = 100
CONF
run_labctl power f on
is "$rc" 3 "fault fail_rate=100: exit 3"
like "$err" 'fault: on fails \(action #1, seed 3' "fault: says which action failed and why"
ok "fault: the wrapped driver was not called" test ! -e "$T/f.state"
sed -i 's/fail_rate = 100/fail_rate = 0/' "$T/labs/f.conf"
run_labctl power f on
is "$rc" 0 "fault fail_rate=0: exit 0"
is "$(cat "$T/f.state")" "on" "fault: the wrapped dummy switched on"

# --- ipmi: a real BMC (OpenIPMI's ipmi_sim) and ipmitool
if command -v ipmi_sim >/dev/null && command -v ipmitool >/dev/null; then
	port=$(perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Proto => "udp", LocalAddr => "127.0.0.1:0")->sockport')
	mkdir -p "$T/ipmi/state"
	# chassis_control: "SCRIPT 0x20 get power" prints power:0|1,
	# "set power 0|1" and "set reset 1" act.
	cat >"$T/ipmi/chassis" <<SH
#!/bin/sh
case "\$2 \$3" in
"get power") printf 'power:%s\n' "\$(cat "$T/ipmi/power" 2>/dev/null || echo 0)" ;;
"set power") echo "\$4" >"$T/ipmi/power" ;;
"set reset") echo reset >>"$T/ipmi/resets" ;;
esac
SH
	chmod +x "$T/ipmi/chassis"
	cat >"$T/ipmi/lan.conf" <<CONF
name "labctl"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 $port
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcdef
  endlan
  chassis_control "$T/ipmi/chassis 0x20"
  user 2 true "admin" "secret" admin 10 none md2 md5 straight
CONF
	printf 'mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\nmc_enable 0x20\n' >"$T/ipmi/bmc.emu"
	ipmi_sim -c "$T/ipmi/lan.conf" -f "$T/ipmi/bmc.emu" -s "$T/ipmi/state" -n \
		>"$T/ipmi/sim.log" 2>&1 </dev/null &
	sim=$!
	at_exit "kill $sim"
	for _ in $(seq 50); do
		IPMI_PASSWORD=secret timeout 2 ipmitool -I lanplus -C 3 -H 127.0.0.1 -p "$port" \
			-U admin -E chassis power status >/dev/null 2>&1 && break
		sleep 0.1
	done
	printf 'secret\n' >"$T/ipmi/pw"
	chmod 600 "$T/ipmi/pw"
	cat >"$T/labs/i.conf" <<CONF
[board]
type = pc
host = board.example
[power]
driver = ipmi
host = 127.0.0.1
port = $port
user = admin
password_file = $T/ipmi/pw
timeout = 10s
CONF
	run_labctl power i status
	is "$out" "off" "ipmi status: off" || diag "$err" "$(cat "$T/ipmi/sim.log")"
	run_labctl power i on
	is "$rc" 0 "ipmi on: exit 0"
	is "$(cat "$T/ipmi/power" 2>/dev/null)" "1" "ipmi on: the BMC switched the chassis on"
	unlike "$out" 'Chassis Power Control' "ipmi on: ipmitool's chatter is not passed on"
	run_labctl power i status
	is "$out" "on" "ipmi status: on"
	run_labctl power i reset
	is "$rc" 0 "ipmi reset: exit 0"
	is "$(cat "$T/ipmi/resets" 2>/dev/null)" "reset" "ipmi reset: the BMC reset the chassis"
	run_labctl power i off --dry-run
	is "$out" "run ipmitool -I lanplus -C 3 -H 127.0.0.1 -p $port -U admin -E chassis power off" \
		"ipmi --dry-run off: the ipmitool argv, no password in it"
	is "$(cat "$T/ipmi/power")" "1" "ipmi --dry-run off: still on"
	run_labctl power i off
	is "$(cat "$T/ipmi/power")" "0" "ipmi off: the BMC switched the chassis off"
	# The password from the environment instead of a file.
	sed -i '/password_file/d' "$T/labs/i.conf"
	out=$(IPMI_PASSWORD=secret "$LABCTL" power i status 2>&1)
	is "$out" "off" "ipmi: the password from IPMI_PASSWORD"
	out=$(IPMI_PASSWORD=wrong timeout 60 "$LABCTL" power i status 2>&1); rc=$?
	is "$rc" 3 "ipmi: a wrong password: exit 3"
	like "$out" 'IPMI chassis power status on 127\.0\.0\.1' "ipmi: a wrong password says what failed"
	out=$(env -u IPMI_PASSWORD "$LABCTL" power i status 2>&1); rc=$?
	is "$rc" 2 "ipmi: no password at all: exit 2"
	like "$out" 'IPMI_PASSWORD or password_file' "ipmi: no password says where to put one"
	echo "password_file = $T/ipmi/pw" >>"$T/labs/i.conf"
	chmod 644 "$T/ipmi/pw"
	run_labctl power i status
	is "$rc" 2 "ipmi: a password_file others can read: exit 2"
	like "$err" "i\.conf:[0-9]+: .*password_file .* is mode 0644.*chmod 600" "ipmi: the mode is refused, clearly"
else
	skip "ipmi_sim or ipmitool missing"
fi

# --- the QEMU board across processes (attach): on, status, off
if command -v qemu-system-x86_64 >/dev/null; then
	cp "$TOP/labs/qemu.conf" "$T/labs/qemu.conf"
	at_exit "pkill -KILL -f -- '[q]emu-system-x86_64 .*$T/state' || true"
	run_labctl power qemu status
	is "$out" "off" "qemu status: off with no QEMU"
	run_labctl power qemu on --dry-run
	like "$out" '^start qemu-system-x86_64 .* -S -pidfile ' "qemu --dry-run on: the QEMU command line"
	like "$out" '\{"execute":"cont"\}$' "qemu --dry-run on: then the QMP cont"
	is "$(pgrep -f -- "[q]emu-system-x86_64 .*$T/state" | wc -l)" 0 "qemu --dry-run on: no QEMU started"
	# No deploy here: an empty disk is enough for SeaBIOS to run.
	truncate -s 1M "$(ls -d "$T"/state/qemu-*)/disk.img"
	run_labctl power qemu on
	is "$rc" 0 "qemu on: exit 0" || diag "$err"
	run_labctl power qemu status
	is "$out" "on" "qemu status from another process: on"
	run_labctl power qemu off --dry-run
	is "$out" '{"execute":"quit"}' "qemu --dry-run off: the QMP quit"
	run_labctl power qemu off
	is "$rc" 0 "qemu off: exit 0"
	run_labctl power qemu status
	is "$out" "off" "qemu status after off: off"
	is "$(pgrep -f -- "[q]emu-system-x86_64 .*$T/state" | wc -l)" 0 "qemu off: the process is gone"
else
	skip "qemu-system-x86_64 missing"
fi

done_testing
