#!/bin/bash
# Escalation plans through the real binary: [power NAME] devices, `labctl
# power LAB cycle|reset` trying each step until one is confirmed, --json
# with every attempt and its time, --dry-run showing each step exactly
# (the HP 2540p's ssh -> AMT -> relay button plan among them), battery
# boards and AC cuts, and bad plans and devices.  The ftdi-relay and gpio
# drivers are driven against the real libftdi1 and libgpiod here too: with
# no FTDI board and no GPIO chip in this sandbox they must say so cleanly.
. "$(dirname "$0")/lib.sh"

export LABCTL_LABS=$T/labs LABCTL_STATE_DIR=$T/state
mkdir -p "$T/labs" "$T/state"
cd "$T" || exit 1
unset LABCTL_LAB AMT_PASSWORD

json_get() {	# json_get JSON PERL-EXPR
	printf '%s' "$1" | perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>); print eval $ARGV[0]' "$2"
}

# A board whose [power] device works, behind a flaky one.
cat >"$T/labs/p.conf" <<CONF
[board]
type = pc
host = board.example
[power]
driver = dummy
state_file = $T/main.state
plan = flaky, good
off_time = 50ms
confirm_timeout = 2s
[power flaky]
driver = fault
wraps = dummy:state_file=$T/flaky.state
fail_rate = 100
[power good]
driver = dummy
state_file = $T/good.state
log = $T/good.log
off_time = 10ms
CONF

# `labctl show` lists the named devices with their keys.
run_labctl show p
like "$(printf '%s' "$out" | tr '\n' '|')" '\[power good\]\|driver = dummy\|state_file = ' "show: a [power NAME] section"
run_labctl --json show p
is "$(json_get "$out" 'join ",", map { "$_->{name}:$_->{driver}" } @{$j->{power_devices}}')" "flaky:fault,good:dummy" \
	"show --json: power_devices"

# --- --dry-run: every step, nothing done
run_labctl power p cycle --dry-run
is "$rc" 0 "plan --dry-run: exit 0" || diag "$err"
is "$out" "$(cat <<EOF
plan for cycle: 2 steps, tried in order until one is confirmed down and up
step 1/2 flaky:cycle (driver fault)
  cycle:
    fail cycle (action #1, seed 1, fail_rate 100%)
  confirm: flaky's power status (off after an off or long press, then on, 2 s each; unconfirmed if it says unknown before the step)
step 2/2 good:cycle (driver dummy)
  cycle:
    append "off\n" to $T/good.log
    write "off\n" to $T/good.state
    wait 10 ms
    append "on\n" to $T/good.log
    write "on\n" to $T/good.state
  confirm: good's power status (off after an off or long press, then on, 2 s each; unconfirmed if it says unknown before the step)
EOF
)" "plan --dry-run: each step exactly"
ok "plan --dry-run: nothing written" test ! -e "$T/good.state" -a ! -e "$T/good.log" -a ! -e "$T/flaky.state"

# --- cycle: the first step fails, the second works
run_labctl power p cycle
is "$rc" 0 "plan cycle: exit 0" || diag "$err"
is "$out" "p: power cycle: ok, step 2 good:cycle worked" "plan cycle: says which step worked"
like "$err" 'power plan: step 1/2 flaky:cycle: failed: cycle: power driver fault: cycle fails' "plan cycle: step 1's failure is shown"
like "$err" "power plan: step 2/2 good:cycle: ok \(confirmed by good's power status\)" "plan cycle: step 2 confirmed by its status"
is "$(tr '\n' ' ' <"$T/good.log")" "off on " "plan cycle: good went off and on"
is "$(cat "$T/good.state")" "on" "plan cycle: the board is on"
ok "plan cycle: the [power] device was not used for the plan" test ! -e "$T/main.state"

# on, off and status still go to the [power] device.
run_labctl power p on
is "$rc" 0 "on with a plan: exit 0"
is "$(cat "$T/main.state")" "on" "on with a plan: the [power] device switched"

# --- --json: every attempt with its time
rm -f "$T/good.log"
run_labctl --json power p reset
is "$rc" 0 "plan --json reset: exit 0"
is "$(json_get "$out" '"$j->{driver} $j->{action} $j->{result} $j->{plan}{spec} $j->{plan}{worked}"')" \
	"plan reset ok flaky, good 2" "plan --json: driver plan, the spec and the step that worked"
is "$(json_get "$out" 'join ",", map { "$_->{step}:$_->{what}:$_->{result}" } @{$j->{plan}{attempts}}')" \
	"1:flaky:reset:error,2:good:reset:ok" "plan --json: every attempt"
like "$(json_get "$out" '$j->{plan}{attempts}[0]{start}')" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+[+-][0-9:]+$' \
	"plan --json: an attempt's start time"
like "$(json_get "$out" '$j->{plan}{attempts}[0]{detail}')" 'fault: reset fails' "plan --json: an attempt's failure"
like "$(json_get "$out" '$j->{plan}{attempts}[1]{ms}')" '^[0-9]+$' "plan --json: an attempt's duration"
run_labctl --json power p cycle --dry-run
like "$(json_get "$out" '$j->{would}')" 'step 2/2 good:cycle' "plan --json --dry-run: the description"

# --- every step fails: exit 3 and each step's reason
sed -i "s|^plan = .*|plan = flaky, broken:off+on|" "$T/labs/p.conf"
cat >>"$T/labs/p.conf" <<CONF
[power broken]
driver = dummy
fail = on
CONF
run_labctl power p cycle
is "$rc" 3 "every step fails: exit 3"
like "$err" 'power plan \(cycle\) failed, every step did: 1 flaky:cycle: cycle: power driver fault: cycle fails .*; 2 broken:off\+on: on: dummy power: on fails' \
	"every step fails: each step's reason"

# --- a battery board: an AC cut never counts as off
cat >"$T/labs/lap.conf" <<CONF
[board]
type = laptop
host = laptop.example
battery = yes
[power]
driver = dummy
state_file = $T/lap.state
plan = mains, amt
off_time = 10ms
[power mains]
driver = dummy
state_file = $T/mains.state
# A switched socket: the laptop's charger.
cuts = ac
[power amt]
driver = dummy
state_file = $T/amt.state
CONF
run_labctl power lap cycle --dry-run
is "$rc" 0 "battery --dry-run: exit 0"
like "$out" 'the board has a battery: an AC cut never counts as off' "battery --dry-run: says so up front"
like "$out" 'step 1/2 mains:cycle \(driver dummy, cuts AC\)' "battery --dry-run: the AC cut is marked"
like "$out" 'confirm: never: mains cuts AC and the board has a battery' "battery --dry-run: it cannot confirm"
run_labctl power lap cycle
is "$rc" 0 "battery cycle: exit 0"
like "$err" 'step 1/2 mains:cycle: failed: not confirmed: mains cuts AC, and this board runs on its battery' "battery cycle: the AC cut does not count"
is "$out" "lap: power cycle: ok, step 2 amt:cycle worked" "battery cycle: AMT did it"
is "$(cat "$T/mains.state")" "on" "battery cycle: the AC cut was still run, and restored"
# The same plan on a desktop: the AC cut is the board's power.
sed -i 's/^battery = yes/battery = no/; s/^type = laptop/type = pc/' "$T/labs/lap.conf"
run_labctl power lap cycle
is "$out" "lap: power cycle: ok, step 1 mains:cycle worked" "no battery: the AC cut works"

# --- the HP 2540p: ssh -> AMT -> relay button
cp "$TOP/labs/hp2540p.conf" "$T/labs/hp2540p.conf"
out=$(AMT_PASSWORD=not-printed "$LABCTL" power hp2540p cycle --dry-run 2>"$T/hp.err"); rc=$?
is "$rc" 0 "hp2540p cycle --dry-run: exit 0" || diag "$(cat "$T/hp.err")"
like "$out" '^plan for cycle: 3 steps, .*an AC cut never counts as off' "hp2540p: a battery board's plan"
like "$out" 'step 1/3 ssh:cycle' "hp2540p: step 1 is the soft reboot over ssh"
if grep -q power_driver_ssh "$TOP/power/drivers.c"; then
	like "$out" 'ssh root@hp2540p:22: .*systemctl reboot' "hp2540p: ssh's exact command, to the board's [board] host"
else
	like "$out" 'not available: power driver ssh is not in this labctl' "hp2540p: ssh not in this build: the step would fail"
fi
like "$out" 'step 2/3 amt:reset \(driver amt\)' "hp2540p: step 2 is AMT"
like "$out" 'POST http://hp2540p-amt:16992/wsman .*RequestPowerStateChange.*<n1:PowerState>10</n1:PowerState>' \
	"hp2540p: AMT's exact request (PowerState 10, reset)"
like "$out" 'step 3/3 button:long\+press \(driver ftdi-relay, power button\)' "hp2540p: step 3 is the relay on the power button"
like "$out" 'usb: open the FTDI board with serial HP2540PWR, bitbang mode, mask 0xff \(sainsmart-4 relay 1, bit 0x01, active high\)' \
	"hp2540p: the relay board by serial"
like "$(printf '%s' "$out" | tr '\n' '|')" 'press long:\|.*usb: write P\|0x01 \(relay 1 closed\)\|    wait 5000 ms\|.*usb: write P&0xfe \(relay 1 open\)\|  wait 5000 ms \(off_time\)\|  press:\|.*wait 300 ms' \
	"hp2540p: the USB bytes of a long press, off_time, then a short press"
unlike "$out" 'not-printed' "hp2540p: the AMT password is not printed"
# --dry-run sends nothing, so it needs no secret.
out=$(env -u AMT_PASSWORD HOME="$T" "$LABCTL" power hp2540p cycle --dry-run 2>&1); rc=$?
is "$rc" 0 "hp2540p --dry-run without the AMT password: exit 0"
like "$out" 'step 2/3 amt:reset' "hp2540p --dry-run without the password: still every step"

# --- the real libftdi1 and libgpiod, no hardware here
cat >"$T/labs/relay.conf" <<CONF
[board]
type = pc
host = board.example
[power]
driver = ftdi-relay
serial = LABCTL-NO-SUCH
preset = denkovi-4
channel = 4
CONF
run_labctl power relay on
is "$rc" 3 "ftdi-relay without the board: exit 3"
like "$err" 'no FTDI board with serial LABCTL-NO-SUCH \(FTDI devices here: ' "ftdi-relay: says which board it looked for and what it found"
run_labctl power relay on --dry-run
is "$out" "$(printf '%s\n' 'usb: open the FTDI board with serial LABCTL-NO-SUCH, bitbang mode, mask 0xff (denkovi-4 relay 4, bit 0x80, active high)' \
	'usb: read the pin byte P' 'usb: write P|0x80 (relay 4 closed)')" "ftdi-relay --dry-run: the USB bytes"

cat >"$T/labs/gp.conf" <<CONF
[board]
type = pc
host = board.example
[power]
driver = gpio
chip = labctl-no-such-chip
line = 3
CONF
run_labctl power gp on
is "$rc" 3 "gpio without the chip: exit 3"
like "$err" 'cannot open GPIO chip labctl-no-such-chip' "gpio: names the chip"
ok "gpio: no holder pid file left" test -z "$(ls "$T"/state/gp-power/ 2>/dev/null)"
run_labctl power gp status
is "$out" "unknown" "gpio status without a holder: unknown"
if ls /dev/gpiochip* >/dev/null 2>&1; then
	diag "a GPIO chip exists here, but no test drives real hardware"
fi
skip "no gpio-sim/gpio-mockup (no modprobe, no configfs in this sandbox): the holder is only tested with libgpiod wrapped (test_power_gpio)"

# --- bad input
bad() {	# bad NAME WANT-REGEX DESCRIPTION (lab in $T/labs/NAME.conf)
	run_labctl power "$1" "${4:-cycle}"
	is "$rc" 2 "$3: exit 2"
	like "$err" "$2" "$3: the message"
}
head='[board]
type = pc
host = board.example'

printf '%s\n' "$head" '[power]' 'driver = dummy' 'plan = amt' '[power amt]' 'driver = frob' >"$T/labs/b1.conf"
bad b1 "b1\.conf:8: \[power amt\] driver: 'frob' is not one of: qemu" "unknown driver in a named power section"

printf '%s\n' "$head" '[power]' 'driver = dummy' 'plan = dummy, amt:reset' >"$T/labs/b2.conf"
bad b2 "b2\.conf:6: power plan: step 2 'amt:reset': no power device 'amt' \(devices: dummy; add a \[power amt\] section\)" "a plan naming an unknown device"

printf '%s\n' "$head" '[power]' 'driver = dummy' 'plan = dummy:boot' >"$T/labs/b3.conf"
bad b3 "b3\.conf:6: power plan: step 1 'dummy:boot': unknown action 'boot'" "a plan with an unknown action"

printf '%s\n' "$head" '[power]' 'driver = dummy' 'plan = button' '[power button]' 'driver = ftdi-relay' \
	'serial = X' 'preset = sainsmart-4' 'channel = 5' 'button = yes' >"$T/labs/b4.conf"
bad b4 "power plan: step 1 'button': power driver ftdi-relay: channel=5 is out of range for preset sainsmart-4 \(1\.\.4\)" "channel out of range in a plan"
printf '%s\n' "$head" '[power]' 'driver = ftdi-relay' 'serial = X' 'preset = denkovi-8' 'channel = 9' >"$T/labs/b5.conf"
bad b5 "b5\.conf:8: power driver ftdi-relay: channel=9 is out of range for preset denkovi-8 \(1\.\.8\)" "channel out of range" on
printf '%s\n' "$head" '[power]' 'driver = ftdi-relay' 'channel = 17' >"$T/labs/b5b.conf"
bad b5b "b5b\.conf:6: \[power\] channel: 17 is out of range \(1\.\.16\)" "channel beyond any board" on

printf '%s\n' "$head" '[power]' 'driver = ftdi-relay' 'preset = sainsmart-4' >"$T/labs/b6.conf"
bad b6 "needs serial = the board's USB serial number or usb_path = .*never takes the first FTDI device found" "ftdi-relay without serial or usb_path" on

printf '%s\n' "$head" '[power]' 'driver = dummy' 'plan = btn' '[power btn]' 'driver = gpio' 'line = 4' 'button = yes' >"$T/labs/b7.conf"
bad b7 "power plan: step 1 'btn': power driver gpio needs chip = the GPIO chip" "gpio without chip"
printf '%s\n' "$head" '[power]' 'driver = gpio' 'line = 4' >"$T/labs/b7b.conf"
bad b7b "power driver gpio needs chip = the GPIO chip" "gpio without chip in [power]" on

printf '%s\n' "$head" '[power]' 'driver = dummy' '[power amt]' 'host = x' >"$T/labs/b8.conf"
bad b8 "b8\.conf:6: \[power amt\]: needs driver = " "a named power section without a driver"

printf '%s\n' "$head" '[power]' 'driver = dummy' '[power amt]' 'driver = dummy' 'plan = amt' >"$T/labs/b9.conf"
bad b9 "b9\.conf:8: \[power amt\]: a plan goes in \[power\]" "a plan inside a named section"

printf '%s\n' "$head" '[power]' 'driver = dummy' '[power amt]' 'driver = dummy' '[power amt]' 'driver = dummy' >"$T/labs/b10.conf"
bad b10 "b10\.conf:8: duplicate section \[power amt\] \(first on line 6\)" "a duplicate named section"

printf '%s\n' "$head" '[power]' 'driver = dummy' '[power amt]' 'driver = dummy' "state_file = $T/b11" 'serial = X' >"$T/labs/b11.conf"
bad b11 "b11\.conf:9: \[power amt\]: power driver 'dummy' does not take key 'serial' \(only ftdi-relay\)" "a key the named device's driver does not take"

printf '%s\n' "$head" '[power]' 'driver = dummy' "state_file = $T/b12" 'plan = dummy' '[power x]' 'driver = dummy' 'cuts = mains' >"$T/labs/b12.conf"
bad b12 "b12\.conf:10: \[power x\] cuts: 'mains' is not one of: ac, board" "cuts with a bad value"
ok "bad input: nothing was written" test ! -e "$T/b11" -a ! -e "$T/b12"

done_testing
