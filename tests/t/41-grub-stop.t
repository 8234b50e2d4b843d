#!/bin/bash
# After the chain's last stage GRUB boots nothing unrequested (issue 15,
# item 4): a virtual board's chain ends in GRUB's labctl-halt entry, which
# powers the machine off; without it GRUB booted entry 0, an unrequested
# variant whose failure was blamed on the last stage.  QEMU board, the
# stand-in, a few seconds.
. "$(dirname "$0")/lib.sh"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 missing"
command -v mcopy >/dev/null || skip_all "mtools missing"
[ -d /usr/lib/grub/i386-pc ] || skip_all "grub-pc-bin missing"

mkdir -p "$T/labs" "$T/work" "$T/state"
cp "$TOP/labs/qemu.conf" "$T/labs/"
export LABCTL_LABS=$T/labs LABCTL_IMAGES=$T/work/images LABCTL_STATE_DIR=$T/state
export LABCTL_HYPERVISOR_DIR=$TOP/hypervisor
unset LABCTL_LAB
cd "$T/work" || exit 1
at_exit "pkill -KILL -f -- '[q]emu-system-x86_64 .*$T/' || true"

run_labctl run qemu build32lhv
is "$rc" 0 "a 1-stage run passes" || diag "$out" "$err"
disk=$(ls "$T"/state/qemu-*/disk.img)
mcopy -n -i "$disk@@1M" ::/boot/grub/grub.cfg "$T/grub.cfg"
like "$(cat "$T/grub.cfg")" "menuentry labctl-halt \\{" "grub.cfg has the stop entry"
mcopy -n -i "$disk@@1M" ::/boot/grub/grubenv "$T/grubenv"
run_labctl grubenv "$T/grubenv" list
like "$out" '^next_entry=labctl-halt$' \
	"the chain labctl wrote ends in labctl-halt: it is next once the stage was booted" || diag "$out"
is "$(printf '%s\n' "$out" | grep -c '^next_entry_2=.')" 0 "and nothing after it"

# Boot what GRUB boots after the chain: the machine must stop by itself.
cp "$disk" "$T/after.img"
t0=$(date +%s)
timeout 60 qemu-system-x86_64 -machine pc -accel tcg -m 256M -display none \
	-drive "file=$T/after.img,format=raw" -serial "file:$T/after.log" -no-reboot
qrc=$?
is "$qrc" 0 "after the chain GRUB powers the machine off (QEMU exits 0, not killed by the timeout)"
ok "within seconds" test $(( $(date +%s) - t0 )) -lt 45
like "$(tr -d '\r' <"$T/after.log" | grep -a Booting)" "Booting \`labctl-halt'" \
	"GRUB booted labctl-halt, not entry 0" || diag "$(cat -v "$T/after.log" | tail -5)"
unlike "$(cat "$T/after.log")" 'Stand-in Hypervisor' "no variant ran after the chain"

done_testing
