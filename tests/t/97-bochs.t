#!/bin/bash
# The Bochs board (issue 15, item 1) with the in-tree stand-in: a run
# passes, the bochsrc comes from the lab's keys, and what is the lab's
# fault is a lab error (exit 3 or 2) with a clear message, never the
# variant's failure: bochs-bin missing, a Bochs panic (with Bochs' own
# reason from bochs.log), an unknown CPU model.  About 1 min (Bochs boots
# the BIOS and GRUB in ~30 s); the real XMHF64 and LHV are 98-bochs-real.t.
. "$(dirname "$0")/lib.sh"
command -v bochs-bin >/dev/null || skip_all "bochs-bin missing (scripts/install-deps)"
[ -d /usr/lib/grub/i386-pc ] || skip_all "grub-pc-bin missing"

mkdir -p "$T/labs" "$T/work" "$T/state"
cat >"$T/labs/bs.conf" <<'CONF'
[board]
type = bochs
memory = 256M
smp = 2
[grub]
serial = 115200,8n1,0x3f8
[watch]
timeout = 240s
[variant b64]
recipe = standin
arch = amd64
options = 0x400
CONF
export LABCTL_LABS=$T/labs LABCTL_IMAGES=$T/work/images LABCTL_STATE_DIR=$T/state
export LABCTL_HYPERVISOR_DIR=$TOP/hypervisor
unset LABCTL_LAB LABCTL_BOCHS
export LABCTL_TIMEOUT=300
cd "$T/work" || exit 1
at_exit "pkill -KILL -f -- '[b]ochs-bin .*$T/state' || true"
results() { ls results 2>/dev/null | grep -E '^[0-9]{14}(-[0-9]+)?$' | sort; }

# --- a run passes, from the lab's keys
run_labctl run bs b64
is "$rc" 0 "stand-in on the Bochs board: exit 0" || diag "$out" "$err"
like "$out" 'PASS: all 2 CPUs printed more than 20 iteration lines' "the stand-in's pass"
like "$out" 'stage 1 b64 +at +[0-9.]+ s' "its stage is reached"
rc_file=$(ls "$T"/state/bs-*/bochsrc)
like "$(cat "$rc_file")" 'megs: 256' "memory = 256M is megs: 256"
like "$(cat "$rc_file")" 'cpu: model=corei7_sandy_bridge_2600k, count=2, ips=200000000' \
	"smp = 2 is count=2; the default CPU model and ips"
like "$(cat "$rc_file")" 'com1: enabled=1, mode=file, dev=.*/console\.fifo' "com1 is the console FIFO"
ok "no Bochs left running" sh -c "! pgrep -f -- '[b]ochs-bin .*$T/state' >/dev/null"
r=$(results | tail -1)
like "$(grep -a -c 'CPU(0x01): test iter' "results/$r")" '^(2[1-9]|[3-9][0-9])$' \
	"every console line reached the log (CPU 1's iterations)"
is "$(grep -c '^L' "results/$r.lines")" "$(awk 'END {print NR}' "results/$r")" \
	"per-line times: one L record per log line"
# The chain ends in GRUB's stop entry, after the stage labctl asked for.
like "$(grep -a 'labctl-grub: default=' "results/$r" | head -1)" 'default=XMHF-b64' \
	"GRUB booted the scheduled entry"
nbefore=$(results | wc -l)

# --- bochs-bin missing: exit 3 before anything runs
LABCTL_BOCHS=$T/no/bochs-bin run_labctl run bs b64
is "$rc" 3 "bochs-bin missing: exit 3" || diag "$out" "$err"
like "$err" "Bochs board but $T/no/bochs-bin cannot be run" "bochs-bin missing: the message"
is "$(results | wc -l)" "$nbefore" "bochs-bin missing: no run record written"
LABCTL_BOCHS=bochs-bin-not-here run_labctl run bs b64
is "$rc" 3 "bochs-bin not on PATH: exit 3" || diag "$out" "$err"
like "$err" 'bochs-bin-not-here is not installed \(apt-get install bochs' "not on PATH: how to install it"

# --- unknown CPU model: a configuration error (exit 2) naming the models
sed 's/^smp = 2$/smp = 2\ncpu = pentium9000/' "$T/labs/bs.conf" >"$T/labs/badcpu.conf"
run_labctl run badcpu b64
is "$rc" 2 "unknown cpu model: exit 2" || diag "$out" "$err"
like "$err" '\[board\] cpu = pentium9000 is not a Bochs CPU model; this Bochs has: .*corei7_sandy_bridge_2600k' \
	"unknown cpu model: the message lists Bochs' models"
is "$(results | wc -l)" "$nbefore" "unknown cpu model: no run record written"

# --- a Bochs panic: a lab error with Bochs' own reason, not the variant's
# (measured: an extra disk Bochs cannot read panics at start, "r/o disk
# image mode not detected", and Bochs 2.7 then dies of SIGSEGV)
: >"$T/empty.img"
sed "s|^smp = 2$|smp = 2\ndrives = $T/empty.img|" "$T/labs/bs.conf" >"$T/labs/panic.conf"
t0=$(date +%s)
run_labctl run panic b64
is "$rc" 3 "Bochs panic: exit 3" || diag "$out" "$err"
like "$out" "ERROR: before the first stage: lab error: Bochs failed on its own \\((status 1|signal 11): Bochs panicked: .*r/o disk image mode not detected" \
	"Bochs panic: the verdict is the lab's, with Bochs' message"
unlike "$out" '^FAIL' "Bochs panic: not the variant's failure"
ok "Bochs panic: decided at once, not by a timeout" test $(( $(date +%s) - t0 )) -lt 60
ok "Bochs panic: no Bochs left running" sh -c "! pgrep -f -- '[b]ochs-bin .*$T/state' >/dev/null"

# --- an OS disk ([board] os_disk, ata0-slave): the stand-in's guest is the
# second disk's boot sector (the stand-in's test boot sector; 74-os-disk.t
# does it on QEMU, 97-twin-osdisk.t with Debian)
ok "make test-bootsector" sh -c "make -s -C '$TOP/hypervisor' test-bootsector OUT='$T' >/dev/null"
cp "$T/bootsector.bin" "$T/os.img" && truncate -s 1M "$T/os.img"
dd if=/dev/zero of="$T/data.img" bs=1M count=1 status=none
cat >"$T/labs/bsos.conf" <<CONF
[board]
type = bochs
memory = 256M
os_disk = $T/os.img
drives = $T/data.img
[grub]
serial = 115200,8n1,0x3f8
[watch]
pass = BOOTSECTOR OK dl=81
timeout = 240s
[variant b32]
recipe = standin
arch = i386
CONF
run_labctl run bsos b32 default
is "$rc" 0 "Bochs: stand-in then the OS disk: exit 0" || diag "$out" "$err"
like "$out" 'PASS: stage 1 \(b32\): pass pattern matched' "passed on the OS disk's line"
rc_file=$(ls "$T"/state/bsos-*/bochsrc)
like "$(cat "$rc_file")" "ata0-slave: type=disk, path=$T/os.img, mode=volatile" \
	"the OS disk is ata0-slave, copy-on-write (BIOS disk 0x81)"
like "$(cat "$rc_file")" "ata1-master: type=disk, path=$T/data.img, mode=volatile" \
	"beside it the extra drive moves to ata1-master"
r=$(results | tail -1)
like "$(tr -d '\r' <"results/$r" | grep -a Booting | tail -1)" "Booting \`XMHF-b32\+os'" \
	"the stage is the variant's +os entry"
qemu-img convert -O qcow2 "$T/os.img" "$T/os.qcow2" 2>/dev/null ||
	printf 'QFI\373' >"$T/os.qcow2"
sed "s|^os_disk = .*|os_disk = $T/os.qcow2|" "$T/labs/bsos.conf" >"$T/labs/bsq.conf"
n=$(results | wc -l)
run_labctl run bsq b32 default
is "$rc" 2 "Bochs with a qcow2 OS disk: exit 2" || diag "$out" "$err"
like "$err" "\\[board\\] os_disk = $T/os.qcow2 is a qcow2 image; Bochs reads raw disks: qemu-img convert -O raw" \
	"qcow2 OS disk: says how to convert it"
is "$(results | wc -l)" "$n" "qcow2 OS disk: refused before the run (no record)"

# --- power by process control
run_labctl power bs status
is "$rc" 0 "power status: exit 0" || diag "$out" "$err"
like "$out" 'off' "power status: off (no Bochs process)"
run_labctl power bs on --dry-run
like "$out" 'bochs-bin -q -f .*/bochsrc -rc .*/bochs\.rc' "power on --dry-run: the Bochs command line"

done_testing
