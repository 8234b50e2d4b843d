#!/bin/bash
# XMHF-XMHF-Debian on labctl's own QEMU board: the twin's Debian 12 disk
# (scripts/twin-image) as the board's [board] os_disk.  GRUB on the
# board's disk boots the stand-in twice, the second time with the Debian
# disk's boot sector as its guest, whose own GRUB boots Debian to its login prompt; the
# standin and linux rule sets judge it.  The disk is attached
# copy-on-write: the cached image is not changed.  About 40 s quiet
# (the image, once per machine: ~95 s more).  The tiny-OS and bad-input
# cases are 74-os-disk.t.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/twin.sh"
why=$(twin_check) || skip_all "$why"
export LABCTL_TIMEOUT=600
export LABCTL_STATE_DIR=$T/state LABCTL_IMAGES=$T/images
export LABCTL_HYPERVISOR_DIR=$TOP/hypervisor LABCTL_LABS=$T/labs
mkdir -p "$T/labs" "$T/state"
at_exit "pkill -KILL -f -- '[q]emu-system-x86_64 .*$T/state' || true"

twin_image
ok "the twin image is built or reused" test -s "$TWIN_IMG/disk.qcow2" ||
	diag "$(cat "$T/twin-image.err")"
before=$(stat -c '%s %Y' "$TWIN_IMG/disk.qcow2")
cat >"$T/labs/deb.conf" <<CONF
[board]
type = qemu
memory = 512M
os_disk = $TWIN_IMG/disk.qcow2
[watch]
rules = standin, linux
stage_timeout = 300s
timeout = 400s
[variant build64]
arch = amd64
[variant build32]
arch = i386
CONF
cd "$T" || exit 1

start=$SECONDS
run_labctl --json run deb build64 build32 default
is "$rc" 0 "run deb build64 build32 default: exit 0 ($((SECONDS - start)) s)" || diag "$out" "$err"
printf '%s' "$out" >"$T/run.json"
j() { perl -MJSON::PP -e 'local $/; open my $f, "<", $ARGV[0] or die; my $j = decode_json(<$f>); print eval $ARGV[1]' "$T/run.json" "$1"; }
is "$(j '$j->{verdict}')" pass "verdict pass"
like "$(j '$j->{reason}')" 'Linux reached its login prompt' "Debian's login prompt ends the chain"
is "$(j 'join " ", map { $_->{variant} } @{$j->{stages}}')" "build64 build32" "two stand-in stages"
log=$(tr -d '\r' <"$(j '$j->{log}')")
boots=$(printf '%s\n' "$log" | grep -a -o "Booting \`[^']*'" | tr '\n' '|')
is "$boots" "Booting \`XMHF-build64'|Booting \`XMHF-build32+os'|Booting \`Debian GNU/Linux'|" \
	"GRUB booted the chain, the last stage's guest the Debian disk, whose GRUB booted Debian"
like "$log" 'Debian GNU/Linux 12 [^ ]+ ttyS0' "Debian's login prompt is in the log"
is "$(stat -c '%s %Y' "$TWIN_IMG/disk.qcow2")" "$before" "the cached Debian image is unchanged"
ok "no QEMU left running" sh -c "! pgrep -f -- '[q]emu-system-x86_64 .*$T/state' >/dev/null"

done_testing
