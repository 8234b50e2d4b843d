#!/bin/bash
# The mission's scenario on a real Debian 12 (issue 16): the twin
# (scripts/twin-image, scripts/twin-vm: QEMU TCG, its power behind
# pdudaemon, its serial port on TCP) driven by labctl's real-board code as
# labs/twin.conf says, leases on a lab host (this machine's sshd).
#   grub install (update-grub on the board), then `run twin build64 build32
#   default`: stand-in -> GRUB -> stand-in -> GRUB -> Debian in one reboot,
#   judged by the standin and linux sets; [test] commands inside Debian
#   afterwards, one passing and one failing, as sub-tests in JSON, JUnit
#   and HTML; `chain set` + `reboot` does the same chain by hand.
# Slow: about 2 minutes quiet, up to 8 loaded (the image, once per machine: ~95 s more).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/twin.sh"
why=$(twin_check) || skip_all "$why"
export LABCTL_TIMEOUT=600

start=$SECONDS
twin_image
ok "the twin image is built or reused ($((SECONDS - start)) s)" test -s "$TWIN_IMG/state.zst"
start=$SECONDS
if ! twin_start; then
	fail "the twin started" "$(cat "$T/twin-start.out")"
	done_testing
	exit 1
fi
ok "a twin from the saved state answers ssh ($((SECONDS - start)) s)" twin_ssh true
sed -i '/^\[test\]/,$d' "$TWIN_LAB"
twin_lab_append "[test]
copy = check.sh
run1 = ./check.sh 7 7 7
expect1 = ^Test pass\$
timeout1 = 45s
run2 = cat /etc/debian_version
expect2 = ^11\\."
printf '#!/bin/sh\n[ "$*" = "7 7 7" ] && echo "Test pass" || echo "Test fail"\n' >"$T/labs/check.sh"
chmod 755 "$T/labs/check.sh"

# ---------------------------------------------------------------- grub install
run_labctl grub install twin
is "$rc" 0 "grub install on the twin (update-grub on a real Debian)" || diag "$err"
cfg=$(twin_ssh sudo -n cat /boot/grub/grub.cfg)
like "$cfg" "menuentry 'XMHF-build64'|menuentry XMHF-build64" "the board's grub.cfg has the stand-in entries"
like "$cfg" "menuentry 'Debian GNU/Linux'" "... and Debian's own, from update-grub"

# ---------------------------------------------------------------- the chain
run_labctl run twin build64 build32 default --junit "$T/junit.xml"
is "$rc" 1 "run: the chain passes, the second in-guest test fails: exit 1" || diag "$err"
res=$(ls -t results/2* | grep -v '\.' | head -n 1)
log=$(cat "$res")
like "$log" "Stand-in Hypervisor \\(labctl\\) variant=build64" "the console has stage 1 (build64)"
like "$log" "Stand-in Hypervisor \\(labctl\\) variant=build32" "... then stage 2 (build32)"
like "$log" "Debian GNU/Linux 12 twin ttyS0" "... then Debian's login prompt"
s1=$(grep -n "variant=build64" "$res" | head -n 1 | cut -d: -f1)
s2=$(grep -n "variant=build32" "$res" | head -n 1 | cut -d: -f1)
d=$(grep -n "Debian GNU/Linux 12 twin ttyS0" "$res" | tail -n 1 | cut -d: -f1)
ok "in that order, in one power cycle ($s1 < $s2 < $d)" test "$s1" -lt "$s2" -a "$s2" -lt "$d"
js=$(cat "$res.json")
like "$js" '"SOFT_REBOOT"' "the board was rebooted over ssh"
like "$js" '"reason":"test2 \(cat /etc/debian_version\): fail' "the verdict's reason is the failed test"
like "$(jq -r '[.stages[] | .reached] | all' "$res.json")" true "every stage was reached"
is "$(jq -r '[.tests[] | .verdict] | join(" ")' "$res.json")" "pass fail" "tests: the first passed, the second failed"
is "$(jq -r '.tests[0].output' "$res.json")" "Test pass" "test1: its output recorded (the copied script ran)"
like "$(jq -r '.tests[1].output' "$res.json")" '^12\.' "test2: its output recorded"
like "$(jq -r '.tests[1].reason' "$res.json")" "does not match" "test2: why it failed"
ok "tests: exit status and duration recorded" \
	test "$(jq -r '.tests[0].exit_status' "$res.json")" = 0 -a \
	"$(jq -r '.tests[0].duration > 0' "$res.json")" = true
x=$(cat "$T/junit.xml")
like "$x" 'testcase name="test1" classname="labctl.twin.build64-build32.test"' "JUnit: test1 is a testcase"
like "$x" '<failure message="output does not match' "JUnit: test2 a failure, with its reason"
unlike "$x" '<testcase name="stage [0-9][^>]*>[[:space:]]*<failure' "JUnit: no stage is blamed"
run_labctl report "$res" -o "$T/r.html"
like "$(cat "$T/r.html" 2>/dev/null)" "Tests in the board" "HTML: the tests table" || diag "$err"
ok "the board is back on ssh after the run" twin_wait_ssh 60
is "$(twin_ssh sudo -n grub-editenv list | grep -c "^next_entry[_0-9]*=.")" 0 "the chain was used up exactly once"

# ---------------------------------------------------------------- by hand
sed -i '/^\[test\]/,$d' "$TWIN_LAB"
run_labctl chain twin set build64 build32 default
is "$rc" 0 "chain set build64 build32 default" || diag "$err"
like "$(twin_ssh sudo -n grub-editenv list)" "next_entry=XMHF-build64" "the board's grubenv has the chain"
run_labctl reboot twin
is "$rc" 0 "reboot: the board went down and answers again" || diag "$err"
con=$(twin_ssh sudo -n journalctl -b -o cat -k 2>/dev/null | head -n 1)
ok "Debian is up again (${con:0:40})" twin_ssh true
is "$(twin_ssh sudo -n grub-editenv list | grep -c "^next_entry[_0-9]*=.")" 0 "GRUB consumed the chain on that boot"
like "$(tail -c 200000 "$T/vm/serial.log")" "variant=build32" "the stand-ins ran on that boot (serial log)"
done_testing
