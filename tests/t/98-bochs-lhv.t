#!/bin/bash
# SLOW (about 4 min of Bochs on 2 busy cores): the real LHV (pinned
# sources, tests/t/xmhf-src.sh, built once for the suite) on the Bochs
# board (issue 15), which emulates VMX: LHV 0x1fc alone passes on its own
# `LHV test iter` lines from both CPUs; LHV 0x5fc halts on Bochs in its MSR
# tests, and the run fails with LHV's own halt line as the reason and LHV
# as the failing stage.  The Makefile starts it first (see check-t).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/xmhf-src.sh"
command -v bochs-bin >/dev/null || skip_all "bochs-bin missing (scripts/install-deps)"
[ -d /usr/lib/grub/i386-pc ] || skip_all "grub-pc-bin missing"
xmhf_src_need
xmhf_build_need
xmhf_src_repo

git clone -q --local "$XMHF_REPO" "$T/uberxmhf"
mkdir -p "$T/labs" "$T/work" "$T/state"
xmhf_src_lab "$T/labs/real.conf" "$T/uberxmhf"
sed -i 's/^type = qemu$/type = bochs/' "$T/labs/real.conf"
cat >>"$T/labs/real.conf" <<CONF

[variant lhv5fc]
recipe = xmhf64
src = $T/uberxmhf
rev = lhv
args = amd64 --lhv-opt 0x5fc
CONF
export LABCTL_LABS=$T/labs LABCTL_IMAGES=$T/work/images LABCTL_CACHE_DIR=$XMHF_CACHE
export LABCTL_STATE_DIR=$T/state
unset LABCTL_LAB LABCTL_CACHE_SIZE LABCTL_BOCHS
cd "$T/work" || exit 1
at_exit "pkill -KILL -f -- '[b]ochs-bin .*$T/state' || true"
ms() { date +%s%3N; }
last_log() { ls -1 results | grep -E '^[0-9]{14}(-[0-9]+)?$' | sort | tail -1; }

LABCTL_TIMEOUT=900 run_labctl build real lhv lhv5fc
is "$rc" 0 "LHV 0x1fc and 0x5fc build (or come from the suite's cache)" || diag "$err"

t0=$(ms)
LABCTL_TIMEOUT=900 run_labctl run real lhv
diag "labctl run real lhv on Bochs: $(( $(ms) - t0 )) ms"
is "$rc" 0 "real LHV 0x1fc alone on Bochs: exit 0" || diag "$out" "$err"
like "$out" 'PASS: all 2 CPUs printed more than 20 iteration lines' "LHV's pass: both CPUs iterated"
like "$out" "line [0-9]+: CPU\\(0x0[01]\\): LHV test iter 21" "the deciding line is LHV's own"
r=$(last_log)
for cpu in 00 01; do
	n=$(grep -a -c "CPU(0x$cpu): LHV test iter" "results/$r")
	ok "CPU 0x$cpu printed more than 20 LHV test iter lines ($n)" test "$n" -gt 20
done

t0=$(ms)
LABCTL_TIMEOUT=900 run_labctl run real lhv5fc
diag "labctl run real lhv5fc on Bochs: $(( $(ms) - t0 )) ms"
is "$rc" 1 "real LHV 0x5fc on Bochs: exit 1 (the machine under test failed)" || diag "$out" "$err"
like "$out" 'FAIL: stage 1 \(lhv5fc\): ' "LHV is the failing stage" || diag "$out"
like "$out" "line [0-9]+: .*Fatal: Halting! Condition 'ebx == expected_ebx' failed" \
	"the reason is LHV's own halt line" || diag "$out"
unlike "$out" 'no console output|silen|timed out' "not a timeout"

done_testing
