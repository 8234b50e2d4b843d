#!/bin/bash
# The real XMHF64 and LHV (pinned sources, tests/t/xmhf-src.sh) on the QEMU
# board (issue 15): QEMU TCG has no VMX, so both halt on their own lines,
# and labctl must fail the run at once on that line (the real halt line is
# the reason, the right stage is blamed), never wait for its silence
# timeout.  The builds come from the suite's cache (54-xmhf-real-cache.t
# builds the same variants; the first of the two to run pays for them).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/xmhf-src.sh"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 missing"
[ -d /usr/lib/grub/i386-pc ] || skip_all "grub-pc-bin missing"
xmhf_src_need
xmhf_build_need
xmhf_src_repo

git clone -q --local "$XMHF_REPO" "$T/uberxmhf"
mkdir -p "$T/labs" "$T/work" "$T/state"
xmhf_src_lab "$T/labs/real.conf" "$T/uberxmhf"
# As XMHF's own CI: 1 GiB (with 256 MiB XMHF finds no E820 room and halts
# earlier, on another line).
sed -i 's/^type = qemu$/type = qemu\nmemory = 1024M/' "$T/labs/real.conf"
# A silence timeout far longer than the halt takes: a verdict that waited
# for it would show in the time.
printf "\n[watch]\ntimeout = 120s\nstage_timeout = 100s\nsilence_timeout = 60s\n" >>"$T/labs/real.conf"
export LABCTL_LABS=$T/labs LABCTL_IMAGES=$T/work/images LABCTL_CACHE_DIR=$XMHF_CACHE
export LABCTL_STATE_DIR=$T/state
unset LABCTL_LAB LABCTL_CACHE_SIZE
cd "$T/work" || exit 1
at_exit "pkill -KILL -f -- '[q]emu-system-x86_64 .*$T/state' || true"
ms() { date +%s%3N; }

LABCTL_TIMEOUT=900 run_labctl build real
is "$rc" 0 "the real XMHF64 and LHV build (or come from the suite's cache)" || diag "$err"

t0=$(ms)
LABCTL_TIMEOUT=200 run_labctl run real x64
t=$(( $(ms) - t0 ))
diag "labctl run real x64 on QEMU: $t ms"
is "$rc" 1 "real XMHF64 on QEMU TCG: exit 1 (the machine under test failed)" ||
	diag "$out" "$err"
like "$out" 'FAIL: .*' "a FAIL verdict"
like "$out" 'line [0-9]+: ' "a failing line is named"
like "$out" 'No support for Nested Paging, HALTING!' \
	"the reason is XMHF's own halt line under QEMU TCG (no VMX)" || diag "$out"
unlike "$out" 'no console output|silen' "not a silence timeout"
ok "the verdict came at once ($t ms, the silence timeout is 60 s)" test "$t" -lt 45000
like "$out" 'stage 1 x64 +at' "XMHF's stage was reached and is the one blamed"

t0=$(ms)
LABCTL_TIMEOUT=200 run_labctl run real lhv
t=$(( $(ms) - t0 ))
diag "labctl run real lhv on QEMU: $t ms"
is "$rc" 1 "real LHV (lhv branch, 0x1fc) on QEMU TCG: exit 1" || diag "$out" "$err"
like "$out" 'line [0-9]+: ' "a failing line is named" || diag "$out"
unlike "$out" 'no console output|silen' "LHV: not a silence timeout"
ok "LHV: the verdict came at once ($t ms)" test "$t" -lt 45000
r=$(ls -1 results | grep -E '^[0-9]{14}(-[0-9]+)?$' | sort | tail -1)
ok "LHV's banner is in the log" grep -q 'Lightweight Hypervisor (LHV)' "results/$r"

done_testing
