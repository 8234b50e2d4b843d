#!/bin/bash
# Faults on the Debian 12 twin (issue 16), through labctl's real-board code:
#   a stage that hangs: the run fails on the silence, then the power plan
#   (ssh, then pdudaemon cutting the machine's power over QMP) brings the
#   board back to Debian, all in that run's result; labctl killed in the
#   middle of a run: the next run is clean (the lease on the lab host freed
#   by its expiry or the dead holder, the board found and brought back).
# Slow: about 4 minutes quiet, up to 8 loaded (the image, once per machine: ~95 s more).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/twin.sh"
why=$(twin_check) || skip_all "$why"
export LABCTL_TIMEOUT=600

twin_image
ok "the twin image is built or reused" test -s "$TWIN_IMG/state.zst"
if ! twin_start; then
	fail "the twin started" "$(cat "$T/twin-start.out")"
	done_testing
	exit 1
fi
ok "a twin from the saved state answers ssh" twin_ssh true
sed -i '/^\[test\]/,$d' "$TWIN_LAB"
# A quicker verdict on a hang (BIOS and shutdown stay quiet for 20 s and
# more under TCG); a lease short enough to expire soon after a kill.
sed -i -e 's/^silence_timeout = .*/silence_timeout = 60s/' \
	-e 's/^ttl = 10m/ttl = 20s/' "$TWIN_LAB"
twin_lab_append "[variant vhang]
recipe = standin
arch = amd64
options = 0x1"

run_labctl grub install twin
is "$rc" 0 "grub install" || diag "$err"

# ---------------------------------------------------------------- a hang
run_labctl run twin build64 vhang default
is "$rc" 1 "a stage that hangs fails the run" || diag "$err"
like "$out" "stage 2 \(vhang\): no console output for 60" "the reason: the silence"
res=$(ls -t results/2* | grep -v '\.' | head -n 1)
js=$(cat "$res.json")
like "$js" '"reason":"stage 2 \(vhang\)' "the hung stage is named"
like "$js" '"event":"plan"[^}]*pdu' "the power plan's PDU step is in the result"
like "$js" '"event":"RECOVER","detail":"the board answers ssh"' "... and the board answering ssh again"
like "$err" "power-cycling it" "labctl says it power-cycled the board"
ok "the board is in Debian again" twin_wait_ssh 30
like "$(cat "$T/vm/pdudaemon.log" 2>/dev/null)" "PDU twin: \\(off 1\\)" "pdudaemon switched the machine off (its log)"

# ---------------------------------------------------------------- killed
"$LABCTL" run twin build64 build32 default >"$T/killed.out" 2>&1 &
pid=$!
for _ in $(seq 600); do
	grep -q "stage 1/2 build64" "$T/killed.out" && break
	sleep 0.5
done
kill -KILL "$pid"
wait "$pid" 2>/dev/null
like "$(cat "$T/killed.out")" "stage 1/2 build64" "labctl was killed in the middle of the chain"
run_labctl run twin build64 build32 default
is "$rc" 0 "the next run is clean: pass" || diag "$err"
like "$out" "Linux reached its login prompt" "... Debian's login prompt ended it"
run_labctl locks twin
unlike "$out" "reserved by" "no lease left behind" || diag "$out"
done_testing
