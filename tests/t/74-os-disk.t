#!/bin/bash
# A virtual board's OS disk ([board] os_disk): a chain ending in `default`
# boots it, as XMHF-XMHF boots a laptop's Debian: the last stage's "+os"
# entry gives the hypervisor the OS disk's boot sector as its guest.  With
# no chain left GRUB's entry 0, labctl-os, chainloads it.  Here the OS is
# the stand-in's test boot sector on a raw disk (it prints "BOOTSECTOR OK
# dl=81" from the second BIOS disk), on real QEMU and real GRUB; the
# Debian twin's own disk is 97-twin-osdisk.t, Bochs (and the real XMHF64)
# is 97-bochs.t.  What is wrong with the key is a lab error (exit 2)
# before anything is built or written.
. "$(dirname "$0")/lib.sh"
qemu_board_scratch
results() { ls results 2>/dev/null | grep -E '^[0-9]{14}(-[0-9]+)?$' | sort; }
json_get() {	# json_get FILE PERL-EXPR
	perl -MJSON::PP -e 'local $/; open my $f, "<", $ARGV[0] or die; my $j = decode_json(<$f>); print eval $ARGV[1]' "$1" "$2"
}

ok "make test-bootsector" sh -c "make -s -C '$TOP/hypervisor' test-bootsector OUT='$T' >/dev/null"
cp "$T/bootsector.bin" "$T/os.img" && truncate -s 1M "$T/os.img"
os_sum=$(sha256sum <"$T/os.img")

lab() {	# lab NAME [EXTRA-BOARD-LINE]
	cat >"$T/labs/$1.conf" <<-CONF
	[board]
	type = qemu
	$2
	[watch]
	pass = BOOTSECTOR OK dl=81
	timeout = 90s
	[variant hv64]
	arch = amd64
	[variant hv32]
	arch = i386
	CONF
}
lab osd "os_disk = $T/os.img"

# --- grub.cfg: entry 0, the board's default, chainloads the second disk
run_labctl grub script osd cfg
is "$rc" 0 "grub script cfg: exit 0" || diag "$err"
first=$(printf '%s\n' "$out" | grep -m1 '^menuentry')
is "$first" "menuentry labctl-os {" "the OS entry is entry 0, what a used-up chain boots"
like "$out" $'labctl-os \\{\n[^}]*set root=\\(hd1\\)\n  chainloader \\+1' "it chainloads (hd1)'s boot sector"
like "$out" 'menuentry labctl-halt' "the stop entry is still there for chains that do not end in default"
like "$out" $'menuentry XMHF-hv32\\+os \\{\n[^}]*boot_drive=0x81\n[^}]*module --nounzip \\(hd1\\)\\+1\n' \
	"each variant's +os entry: its guest is the OS disk's boot sector, BIOS drive 0x81"

# --- XMHF-XMHF-OS: two stand-ins, then GRUB boots the OS disk
run_labctl --json run osd hv64 hv32 default
is "$rc" 0 "run osd hv64 hv32 default: exit 0" || diag "$out" "$err"
printf '%s' "$out" >"$T/run.json"
is "$(json_get "$T/run.json" '$j->{verdict}')" pass "verdict pass"
is "$(json_get "$T/run.json" 'join " ", map { $_->{variant} } @{$j->{stages}}')" "hv64 hv32" \
	"the chain's stages are the two variants (default is the OS, no stage)"
like "$(json_get "$T/run.json" '$j->{reason}')" 'pass pattern' "passed on the OS's line"
r=$(results | tail -1)
log=$(tr -d '\r' <"results/$r")
is "$(printf '%s\n' "$log" | grep -a -o "Booting \`[^']*'" | tr '\n' '|')" \
	"Booting \`XMHF-hv64'|Booting \`XMHF-hv32+os'|" "the last stage is the variant's +os entry; GRUB runs no more"
like "$log" 'chaining to the boot sector at 0000:7c00 dl=0x81' "the last stand-in's guest is the OS disk (0x81)"
like "$log" 'BOOTSECTOR OK dl=81' "the OS disk's boot sector ran from BIOS disk 0x81"
is "$(sha256sum <"$T/os.img")" "$os_sum" "the OS disk is unchanged (copy-on-write)"

# --- no chain left (max_stages = 1: no slot for labctl-halt): GRUB's
# default, entry 0, chainloads the OS disk as a laptop's GRUB boots Debian
sed 's/^\[watch\]$/[grub]\nmax_stages = 1\n[watch]/' "$T/labs/osd.conf" >"$T/labs/osdfull.conf"
run_labctl run osdfull hv64
is "$rc" 0 "a full chain: GRUB's default boots the OS disk: exit 0" || diag "$out" "$err"
log=$(tr -d '\r' <"results/$(results | tail -1)")
is "$(printf '%s\n' "$log" | grep -a -o "Booting \`[^']*'" | tr '\n' '|')" \
	"Booting \`XMHF-hv64'|Booting \`labctl-os'|" "after the stage GRUB booted labctl-os"
like "$log" 'BOOTSECTOR OK dl=81' "labctl-os chainloaded the OS disk's boot sector (0x81)"

# --- a chain that does not end in default still stops the machine
run_labctl run osd hv64 hv32
is "$rc" 1 "without default the chain ends in labctl-halt, and no OS line comes" || diag "$out"
like "$(tr -d '\r' <"results/$(results | tail -1)" | grep -a Booting | tail -1)" "labctl-halt" \
	"GRUB booted the stop entry, not the OS"

# --- no OS disk: default is refused before anything is built
lab noos ""
n=$(results | wc -l)
run_labctl run noos hv64 default
is "$rc" 2 "default on a board without os_disk: exit 2" || diag "$out" "$err"
like "$err" "the chain ends in default, the board's OS, but the qemu board of lab noos has none: set \\[board\\] os_disk" \
	"the message says what to set"
is "$(results | wc -l)" "$n" "no run record written"

# --- a missing OS disk, one with no boot sector: lab errors naming the key
lab missing "os_disk = $T/nosuch.img"
run_labctl run missing hv64 default
is "$rc" 2 "missing os_disk: exit 2" || diag "$out" "$err"
like "$err" "lab missing: \\[board\\] os_disk = $T/nosuch.img: No such file or directory" "missing os_disk: the message"
is "$(results | wc -l)" "$n" "missing os_disk: no run record written"
ok "missing os_disk: no QEMU left" sh -c "! pgrep -f -- '[q]emu-system-x86_64 .*$T/state/missing' >/dev/null"
dd if=/dev/zero of="$T/blank.img" bs=1M count=1 status=none
lab blank "os_disk = $T/blank.img"
run_labctl run blank hv64 default
is "$rc" 2 "os_disk with no boot sector: exit 2" || diag "$out" "$err"
like "$err" "os_disk = $T/blank.img has no boot sector \\(no 55 aa at byte 510\\)" "no boot sector: the message"

# --- an unknown key's neighbour: os_disk is for virtual boards only
printf '[board]\ntype = pc\nhost = 127.0.0.1\nos_disk = %s\n' "$T/os.img" >"$T/labs/pcos.conf"
run_labctl show pcos
is "$rc" 2 "os_disk on a pc board: exit 2"
like "$err" "board type 'pc' does not take key 'os_disk' \\(only qemu, bochs\\)" "os_disk on a pc board: the message"

done_testing
