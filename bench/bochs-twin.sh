#!/bin/bash
# Issue 16 item 5: the real XMHF64 -> GRUB -> Debian 12 on Bochs (emulated
# VMX), labctl's own Bochs board against bare Bochs, same XMHF64, same
# Debian, at once (one host core each).
#   The twin (scripts/twin-vm) is prepared by labctl as any laptop: `grub
#   install`, `deploy` of the real XMHF64 (amd64 fast, from the pinned
#   sources: scripts/uberxmhf-pinned), `chain set xmhf64 default`.  Debian's
#   initramfs gets IDE drivers (Bochs has no virtio; the twin image has only
#   virtio's), the twin powers off and its disk, as a raw file, is
#     by hand: booted by bare Bochs with the Bochs board's settings
#       (labs/bochs.conf), its own grubenv holding the chain: Debian's GRUB
#       boots XMHF64, whose guest is the disk's boot sector again;
#     labctl: a copy with the chain cleared is the Bochs board's os_disk:
#       `labctl run bochs-os xmhf64 default` boots XMHF64 from the board's
#       GRUB disk (entry XMHF-xmhf64+os), its guest Debian's boot sector.
#   Each until Debian's login prompt on com1 (cap BOCHS_TWIN_CAP s).
# Needs root (a loop mount to clear the copy's chain), bochs, the twin
# image, ~/uberxmhf (or XMHF_SRC); skipped otherwise.  About 9 minutes.
set -uo pipefail
BTOP=$(cd "$(dirname "$0")/.." && pwd)
LABCTL=${LABCTL:-$BTOP/build/default/bin/labctl}
SRC=${XMHF_SRC:-$HOME/uberxmhf}
CAP=${BOCHS_TWIN_CAP:-2400}
LABCTL_TOP=$BTOP . "$BTOP/tests/t/lib.sh" >/dev/null
. "$BTOP/tests/t/twin.sh"
skip() { echo "bochs-twin: skipped: $*"; exit 0; }
[ "$(id -u)" = 0 ] || skip "needs root (a loop mount)"
command -v bochs >/dev/null || skip "no bochs"
[ -d "$SRC/.git" ] || skip "no XMHF64 clone at $SRC (scripts/uberxmhf-pinned $SRC)"
why=$(twin_check) || skip "$why"
twin_image || { echo "bochs-twin: no image: $(cat "$T/twin-image.err")"; exit 1; }
twin_start || { echo "bochs-twin: the twin did not start: $(cat "$T/twin-start.out")"; exit 1; }
sed -i '/^\[test\]/,$d' "$TWIN_LAB"
printf '[variant xmhf64]\nrecipe = xmhf64\nsrc = %s\nargs = amd64 fast\n' "$SRC" >>"$TWIN_LAB"
cd "$T" || exit 1
W=$T/bochs; mkdir -p "$W/mnt"
at_exit "umount $W/mnt 2>/dev/null; pkill -KILL -f -- 'bochs -q -f $W/' || true"

"$LABCTL" -q grub install twin >/dev/null || { echo "bochs-twin: grub install failed"; exit 1; }
"$LABCTL" -q deploy twin xmhf64 || { echo "bochs-twin: build or deploy of XMHF64 failed"; exit 1; }
"$LABCTL" -q chain twin set xmhf64 default >/dev/null || exit 1
twin_ssh 'printf "ata_piix\nata_generic\nlibata\nsd_mod\n" | sudo -n tee -a /etc/initramfs-tools/modules >/dev/null &&
	sudo -n update-initramfs -u >/dev/null 2>&1 && sudo -n sync' || { echo "bochs-twin: initramfs"; exit 1; }
twin_ssh 'sudo -n setsid -f sh -c "sleep 1; systemctl poweroff" </dev/null >/dev/null 2>&1'
for _ in $(seq 60); do twin_ssh true 2>/dev/null || break; sleep 2; done
sleep 10	# the guest's poweroff pauses QEMU (scripts/twin-vm): the disk is whole
qemu-img convert -U -O raw "$T/vm/disk.qcow2" "$W/xmhf.raw" || exit 1
cp --sparse=always "$W/xmhf.raw" "$W/debian.raw"
loop=$(losetup -o 1048576 -f --show "$W/debian.raw") || exit 1
mount "$loop" "$W/mnt" && grub-editenv "$W/mnt/boot/grub/grubenv" unset next_entry next_entry_2
umount "$W/mnt"; losetup -d "$loop"

# boot NAME: until the login prompt; prints the seconds, and the log's marks
boot() {
	local n=$1 s e
	cat >"$W/$n.rc" <<-RC
	megs: 1024
	cpu: model=corei7_sandy_bridge_2600k, count=2, ips=200000000
	romimage: file=/usr/share/bochs/BIOS-bochs-latest
	vgaromimage: file=/usr/share/vgabios/vgabios.bin
	ata0-master: type=disk, path=$W/$n.raw, mode=flat
	boot: disk
	com1: enabled=1, mode=file, dev=$W/$n.serial
	display_library: term
	clock: sync=none
	log: $W/$n.log
	panic: action=fatal
	RC
	echo c >"$W/$n.cmds"
	: >"$W/$n.serial"
	s=$(date +%s)
	script -qfc "bochs -q -f $W/$n.rc -rc $W/$n.cmds" /dev/null >/dev/null 2>&1 &
	for _ in $(seq "$CAP"); do
		grep -aq "twin login:" "$W/$n.serial" && break
		grep -aq "Kernel panic\|HALT!\|Fatal: Halting" "$W/$n.serial" && break
		sleep 1
	done
	e=$(date +%s)
	pkill -KILL -f -- "bochs -q -f $W/$n.rc"
	if grep -aq "twin login:" "$W/$n.serial"; then echo "$((e - s))"
	else echo "no login prompt after $((e - s)) s: $(tail -n 2 "$W/$n.serial" | tr -d '\r' | tr '\n' ' ')"; fi
}
# labctl's side: the Bochs board of labs/bochs.conf with the Debian disk.
export LABCTL_LABS=$W/labs LABCTL_STATE_DIR=$W/state LABCTL_IMAGES=$T/images
mkdir -p "$W/labs" "$W/state"
sed -n '/^\[variant lhv\]/q;p' "$BTOP/labs/bochs.conf" |
	sed "s|^src = .*|src = $SRC|; s|^timeout = .*|timeout = ${CAP}s\nstage_timeout = ${CAP}s\nrules = linux|; s|^ips = .*|&\nos_disk = $W/debian.raw|" \
	>"$W/labs/bochs-os.conf"
labctl_boot() {
	local s e rc
	s=$(date +%s.%N)
	"$LABCTL" --json run bochs-os xmhf64 default >"$W/labctl.json" 2>"$W/labctl.err"
	rc=$?
	e=$(date +%s.%N)
	if [ "$rc" = 0 ]; then awk -v a="$s" -v b="$e" 'BEGIN {printf "%.0f\n", b - a}'
	else echo "exit $rc: $(tail -n 3 "$W/labctl.err" | tr '\n' ' ')"; fi
}
"$LABCTL" -q build bochs-os xmhf64 >/dev/null 2>&1	# cached: the deploy above built it
boot xmhf >"$W/xmhf.took" 2>/dev/null &
labctl_boot >"$W/labctl.took" 2>/dev/null &
wait
x=$(cat "$W/xmhf.took"); l=$(cat "$W/labctl.took")
echo "$(nproc) cores, 2 Bochs at once, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "real XMHF64 (amd64 fast) -> GRUB -> Debian 12 on Bochs, power-on to login prompt"
echo "  by hand (bare Bochs, the chain in Debian's grubenv): $x s"
grep -aq "Entered VMX root" "$W/xmhf.serial" && echo "    $(grep -ac 'Entered VMX root' "$W/xmhf.serial") CPUs in VMX root; GRUB booted Debian as XMHF's guest: $(grep -ac "Booting .Debian" "$W/xmhf.serial")"
echo "  labctl run bochs-os xmhf64 default (the Bochs board, os_disk): $l s"
if [ -s "$W/labctl.json" ]; then
	perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>); print "    verdict $j->{verdict}: $j->{reason}\n"' <"$W/labctl.json"
	lg=$(perl -MJSON::PP -e 'local $/; print decode_json(<STDIN>)->{log}' <"$W/labctl.json")
	echo "    $(grep -ac 'Entered VMX root' "$lg") CPUs in VMX root; GRUB: $(grep -ao "Booting .[^']*'" "$lg" | tr '\n' ' ')"
fi
case "$x$l" in *[!0-9]*) ;; *) echo "labctl / by hand: $(awk -v a="$l" -v b="$x" 'BEGIN {printf "%.2f", a / b}')x" ;; esac
