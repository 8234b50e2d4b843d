#!/bin/bash
# The in-tree stand-in hypervisor (hypervisor/): builds (reproducible, fast),
# then boots under QEMU TCG: LHV mode on i386 and amd64 with -smp 2, the
# return to real mode into a test boot sector, payload errors, every fault
# bit, power-off without isa-debug-exit, and a real GRUB chain
# GRUB -> amd64 hypervisor mode -> GRUB -> i386 LHV from a disk image.
# Boots run a few at a time in the background; each is bounded by timeout.
. "$(dirname "$0")/lib.sh"

command -v qemu-system-x86_64 >/dev/null || skip_all "no qemu-system-x86_64"
echo 'int x;' | gcc -m32 -x c -c -o /dev/null - 2>/dev/null ||
	skip_all "no gcc -m32 (gcc-multilib)"

HV=$TOP/hypervisor
not_same() { ! cmp -s "$1" "$2"; }
quiet() { "$@" >/dev/null 2>&1; }
SER='serial=115200,8n1,0x3f8'
DX='-device isa-debug-exit,iobase=0xf4,iosize=4'
MAXJ=${HV_TEST_JOBS:-4}

# ---------------------------------------------------------------- builds
# build NAME ARCH [HV_OPT]: into $T/NAME, wall time in ms in $T/NAME.bms
build() {
	local t0=$(date +%s%N) rc
	timeout 60 make -s -C "$HV" ARCH="$2" VARIANT="$1" HV_OPT="${3:-0x0}" \
		OUT="$T/$1" >"$T/$1.build.log" 2>&1
	rc=$?
	echo $((($(date +%s%N) - t0) / 1000000)) >"$T/$1.bms"
	[ $rc = 0 ] || { cat "$T/$1.build.log" >&2; return 1; }
}

ok "build i386 (t32)" build t32 i386
ok "build amd64 (t64)" build t64 amd64
ok "build amd64 with HV_OPT=0x204 built in (tfatal)" build tfatal amd64 0x204
for v in t32 t64; do
	ms=$(cat "$T/$v.bms")
	diag "build $v: $ms ms"
	# A sanity bound only (timing belongs in bench/): ~0.5 s when idle.
	ok "build $v finished in reasonable time ($ms ms)" test "$ms" -lt 30000
done
ok "build amd64 as another variant (t64b)" build t64b amd64
ok "build variant t64 again into a second OUT" \
	quiet make -s -C "$HV" ARCH=amd64 VARIANT=t64 OUT="$T/repro"
same_file "$T/t64/init.bin" "$T/repro/init.bin" "init.bin is reproducible"
same_file "$T/t64/hypervisor.bin.gz" "$T/repro/hypervisor.bin.gz" \
	"hypervisor.bin.gz is reproducible"
ok "the same build twice is a no-op" \
	test -z "$(make -s -C "$HV" ARCH=amd64 VARIANT=t64 OUT="$T/t64" 2>&1)"
if cmp -s "$T/t64/init.bin" "$T/t64b/init.bin"; then
	fail "another VARIANT gives another init.bin"
else
	pass "another VARIANT gives another init.bin"
fi
ok "make test-bootsector" quiet make -s -C "$HV" test-bootsector OUT="$T"
is "$(stat -c %s "$T/bootsector.bin")" 512 "boot sector is 512 bytes"
is "$(od -An -tx1 -j510 -N2 "$T/bootsector.bin" | tr -d ' ')" 55aa \
	"boot sector ends in 55 aa"
for v in t32 t64; do
	if command -v grub-file >/dev/null; then
		ok "grub-file: $v init.bin is multiboot" \
			grub-file --is-x86-multiboot "$T/$v/init.bin"
	else
		skip "no grub-file"
	fi
	is "$(od -An -tx1 -j4 -N4 "$T/$v/hypervisor.bin.gz" | tr -d ' ')" \
		00000000 "$v hypervisor.bin.gz has no gzip timestamp"
	gunzip -c "$T/$v/hypervisor.bin.gz" >"$T/$v.bin"
done
out=$(make -C "$HV" ARCH=sparc OUT="$T/bad" 2>&1)
like "$out" 'ARCH must be i386 or amd64' "bad ARCH is refused"
out=$(make -C "$HV" ARCH=i386 VARIANT='a b' OUT="$T/bad" 2>&1)
like "$out" 'VARIANT must be' "bad VARIANT is refused"

# A broken payload: one byte of the body inverted.
cp "$T/t32.bin" "$T/badsum.bin"
b=$(od -An -tu1 -j100 -N1 "$T/badsum.bin" | tr -d ' ')
printf "\\$(printf %03o $((b ^ 0xff)))" |
	dd of="$T/badsum.bin" bs=1 seek=100 conv=notrunc status=none
ok "payload corrupted for the test" not_same "$T/t32.bin" "$T/badsum.bin"

# ---------------------------------------------------------------- boots
# boot NAME TIMEOUT QEMU-ARGS...: in the background; serial in $T/NAME.log,
# exit status in $T/NAME.rc, wall time in ms in $T/NAME.ms. COM1 is the log
# unless SERIAL_ARGS says otherwise.
boot() {
	local name=$1 to=$2
	shift 2
	while [ "$(jobs -rp | wc -l)" -ge "$MAXJ" ]; do wait -n; done
	(
		t0=$(date +%s%N)
		timeout -k 2 "$to" qemu-system-x86_64 -nographic -monitor none \
			-display none -no-reboot -smp 2 -m 128 \
			${SERIAL_ARGS:--serial file:$T/$name.log} "$@" \
			</dev/null >"$T/$name.out" 2>&1 &
		echo $! >"$T/$name.pid"
		wait $!
		echo $? >"$T/$name.rc"
		echo $((($(date +%s%N) - t0) / 1000000)) >"$T/$name.ms"
	) &
	at_exit "kill \$(cat '$T/$name.pid') 2>/dev/null"
}
K32=(-kernel "$T/t32/init.bin")
K64=(-kernel "$T/t64/init.bin")

t_start=$(date +%s%N)
# slow and long first, so they overlap the rest
boot slow 30 $DX "${K32[@]}" -append "$SER hv_opt=0x10" -initrd "$T/t32.bin"
boot flood 30 $DX "${K64[@]}" -append "$SER hv_opt=0x8 flood_mib=1" -initrd "$T/t64.bin"
boot hang 5 $DX "${K64[@]}" -append "$SER hv_opt=0x1" -initrd "$T/t64.bin"
boot fatal 5 $DX "${K32[@]}" -append "$SER hv_opt=0x4" -initrd "$T/t32.bin"
boot nopayload 5 $DX "${K64[@]}" -append "$SER"
boot lhv32 30 $DX "${K32[@]}" -append "$SER" -initrd "$T/t32.bin"
boot lhv64 30 $DX "${K64[@]}" -append "$SER" -initrd "$T/t64.bin"
boot chain32 30 $DX "${K32[@]}" -append "$SER boot_drive=0x81" \
	-initrd "$T/t32.bin,$T/bootsector.bin"
boot chain64 30 $DX "${K64[@]}" -append "$SER boot_drive=0x80" \
	-initrd "$T/t64.bin,$T/bootsector.bin"
boot badsum 30 $DX "${K32[@]}" -append "$SER hv_opt=0x200" -initrd "$T/badsum.bin"
boot gzpayload 30 $DX "${K64[@]}" -append "$SER hv_opt=0x200" \
	-initrd "$T/t64/hypervisor.bin.gz"
boot triple32 30 $DX "${K32[@]}" -append "$SER hv_opt=0x2" -initrd "$T/t32.bin"
boot triple64 30 $DX "${K64[@]}" -append "$SER hv_opt=0x2" -initrd "$T/t64.bin"
boot builtin 30 $DX -kernel "$T/tfatal/init.bin" -append "$SER" -initrd "$T/t64.bin"
boot override 30 $DX -kernel "$T/tfatal/init.bin" -append "$SER hv_opt=0x0" \
	-initrd "$T/t64.bin"
boot faultiter 30 $DX "${K64[@]}" -append "$SER hv_opt=0x204 fault_iter=3" \
	-initrd "$T/t64.bin"
boot hvonly 30 $DX "${K64[@]}" -append "$SER hv_opt=0x24" -initrd "$T/t64.bin"
boot hvonly_chain 30 $DX "${K64[@]}" -append "$SER hv_opt=0x224" \
	-initrd "$T/t64.bin,$T/bootsector.bin"
boot acpi 30 "${K64[@]}" -append "$SER" -initrd "$T/t64.bin"
boot q35 30 $DX -machine q35 -smp 4 "${K64[@]}" -append "$SER" -initrd "$T/t64.bin"
SERIAL_ARGS="-serial null -serial file:$T/com2.log" \
	boot com2 30 $DX "${K32[@]}" -append "serial=115200,8n1,0x2f8 crlf=1" \
	-initrd "$T/t32.bin"

# A real GRUB chain from a disk image, no root (PEERS.md): next_entry and
# next_entry_2 are shifted by grub.cfg and saved with save_env.
grub_ok=
if command -v grub-mkimage >/dev/null && command -v sfdisk >/dev/null &&
	command -v mformat >/dev/null && command -v grub-editenv >/dev/null &&
	[ -f /usr/lib/grub/i386-pc/boot.img ]; then
	mk_disk() {
		local d=$T/disk m="-i $T/disk.img@@1M"
		mkdir -p "$d" || return 1
		cat >"$d/grub.cfg" <<-'EOF'
		serial --unit=0 --speed=115200
		terminal_input serial
		terminal_output serial
		set timeout=0
		load_env
		if [ "${next_entry}" ]; then
			set default="${next_entry}"
			set next_entry="${next_entry_2}"
			set next_entry_2=
			save_env next_entry next_entry_2
		else
			set default=none
		fi
		menuentry build64 {
			multiboot /boot/labctl/build64/init.bin serial=115200,8n1,0x3f8 boot_drive=0x80
			module /boot/labctl/build64/hypervisor.bin.gz
			module --nounzip (hd0)+1
		}
		menuentry build32lhv {
			multiboot /boot/labctl/build32lhv/init.bin serial=115200,8n1,0x3f8
			module /boot/labctl/build32lhv/hypervisor.bin.gz
		}
		EOF
		grub-editenv "$d/grubenv" create &&
		grub-editenv "$d/grubenv" set next_entry=build64 \
			next_entry_2=build32lhv &&
		truncate -s 8M "$T/disk.img" &&
		echo 'start=2048, type=0e, bootable' | sfdisk -q "$T/disk.img" &&
		mformat $m :: &&
		mmd $m ::boot ::boot/grub ::boot/labctl ::boot/labctl/build64 \
			::boot/labctl/build32lhv &&
		mcopy $m "$d/grub.cfg" "$d/grubenv" ::boot/grub/ &&
		mcopy $m "$T/t64/init.bin" "$T/t64/hypervisor.bin.gz" \
			::boot/labctl/build64/ &&
		mcopy $m "$T/t32/init.bin" "$T/t32/hypervisor.bin.gz" \
			::boot/labctl/build32lhv/ &&
		grub-mkimage -O i386-pc -o "$d/core.img" \
			-p '(hd0,msdos1)/boot/grub' biosdisk part_msdos fat \
			normal multiboot serial terminal loadenv echo test \
			configfile gzio &&
		dd if=/usr/lib/grub/i386-pc/boot.img of="$T/disk.img" bs=440 \
			count=1 conv=notrunc status=none &&
		dd if="$d/core.img" of="$T/disk.img" bs=512 seek=1 \
			conv=notrunc status=none
	} >"$T/disk.log" 2>&1
	if mk_disk; then
		grub_ok=1
		boot grub 30 $DX -drive "file=$T/disk.img,format=raw,if=ide"
	else
		cat "$T/disk.log" >&2
	fi
fi

wait
t_all=$((($(date +%s%N) - t_start) / 1000000))
diag "all boots: $t_all ms wall with $MAXJ at a time"

rc() { cat "$T/$1.rc" 2>/dev/null || echo none; }
log() { cat -v "$T/$1.log" 2>/dev/null; }
ms() { cat "$T/$1.ms" 2>/dev/null || echo 0; }
count() { grep -ac -- "$2" "$T/$1.log" 2>/dev/null; }

BANNER='^Stand-in Hypervisor \(labctl\) variant='
PASS='^Stand-in: all CPUs passed$'
FATAL_RE="^Fatal: Halting! Condition '.+' failed, line [0-9]+, file [a-z0-9_]+\.c$"

# LHV mode, -smp 2: both CPUs print iterations 0..24 in order, whole lines
check_lhv() {
	local n=$1 variant=$2 arch=$3 c seq
	is "$(rc "$n")" 33 "$n: QEMU exits 33 (isa-debug-exit 0x10)"
	like "$(log "$n")" "${BANNER}$variant arch=$arch HV_OPT=0x0$" \
		"$n: banner"
	like "$(log "$n")" '^payload: ok magic=LABHVPL1 len=8192 sum=0x[0-9a-f]{8} ' \
		"$n: payload ok"
	like "$(log "$n")" '^mmap: 0x0000000000100000-0x[0-9a-f]{16} type 1$' \
		"$n: memory map"
	like "$(log "$n")" '^smp: 2 CPUs online$' "$n: 2 CPUs online"
	for c in 00 01; do
		seq=$(grep -a "^CPU(0x$c): test iter " "$T/$n.log" |
			sed 's/.* iter //' | tr '\n' ' ')
		is "$seq" "$(seq -s ' ' 0 24) " "$n: CPU(0x$c) prints iter 0..24"
	done
	is "$(grep -a 'CPU(' "$T/$n.log" |
		grep -acvE '^CPU\(0x0[01]\): test iter [0-9]+$')" 0 \
		"$n: no broken or interleaved CPU lines"
	like "$(log "$n")" "$PASS" "$n: pass line"
	is "$(grep -a -A1 -E "$PASS" "$T/$n.log" | tail -1)" \
		"Stand-in: powering off" "$n: powers off after the pass line"
	diag "$n: $(ms "$n") ms"
}
check_lhv lhv32 t32 i386
check_lhv lhv64 t64 amd64

for n in chain32:81 chain64:80; do
	dl=${n#*:} n=${n%:*}
	is "$(rc "$n")" 65 "$n: the boot sector ran (QEMU exits 65)"
	like "$(log "$n")" \
		"^Stand-in: mode=hypervisor, chaining to the boot sector at 0000:7c00 dl=0x$dl$" \
		"$n: chaining line"
	like "$(log "$n")" "^BOOTSECTOR OK dl=$dl$" "$n: boot sector got DL=0x$dl"
	like "$(log "$n")" '^BOOTSECTOR idtr=03ff:00000000 cr0=0010 int12=027f$' \
		"$n: real mode, BIOS IVT, BIOS int 0x12 works"
	unlike "$(log "$n")" 'test iter' "$n: no LHV iterations"
	diag "$n: $(ms "$n") ms"
done

is "$(rc nopayload)" 124 "no payload: halts (still running at timeout)"
like "$(log nopayload)" '^modules: none$' "no payload: says so"
like "$(log nopayload)" "^Fatal: Halting! Condition 'payload != NULL' failed, line [0-9]+, file main.c$" \
	"no payload: Fatal line"
is "$(rc badsum)" 35 "bad checksum: QEMU exits 35 with HALT_EXIT"
like "$(log badsum)" '^payload: bad checksum: sum=0x[0-9a-f]{8}, header says 0x[0-9a-f]{8}$' \
	"bad checksum: says so"
like "$(log badsum)" "^Fatal: Halting! Condition 'payload_check\(p, len\) == 0' failed" \
	"bad checksum: Fatal line"
is "$(rc gzpayload)" 35 "gzip payload via -initrd: QEMU exits 35"
like "$(log gzpayload)" '^payload: bad: gzip-compressed' "gzip payload: says so"

is "$(rc hang)" 124 "HANG: still running at the timeout"
is "$(tail -n1 "$T/hang.log" | cut -c1-12)" "payload: ok " \
	"HANG: silent after the banner"
unlike "$(log hang)" "$PASS" "HANG: no pass line"

for n in triple32 triple64; do
	is "$(rc "$n")" 0 "$n: QEMU exits 0 on the reset (-no-reboot)"
	ok "$n: quickly ($(ms "$n") ms)" test "$(ms "$n")" -lt 15000
	unlike "$(log "$n")" 'Stand-in: mode=|Fatal' "$n: nothing after the banner"
done

is "$(rc fatal)" 124 "FATAL: halted (still running at timeout)"
like "$(log fatal)" "$FATAL_RE" "FATAL: XMHF's Fatal line format"
like "$(tail -n1 "$T/fatal.log")" "^Fatal: Halting! Condition '!\(cfg.opt & HV_OPT_FATAL\)'" \
	"FATAL: the Fatal line is the last"

is "$(rc builtin)" 35 "built-in HV_OPT=0x204: Fatal, QEMU exits 35"
like "$(log builtin)" '^HV_OPT = 0x204 \(built-in 0x204, no hv_opt= on the command line\)$' \
	"built-in HV_OPT shown"
is "$(rc override)" 33 "hv_opt=0x0 on the command line beats the built-in"
like "$(log override)" '^HV_OPT = 0x0 \(built-in 0x204, hv_opt= on the command line\)$' \
	"override shown"

is "$(rc faultiter)" 35 "fault_iter=3: Fatal, QEMU exits 35"
is "$(grep -a '^CPU(0x00)' "$T/faultiter.log" | sed 's/.* iter //' | tr '\n' ' ')" \
	"0 1 2 " "fault_iter=3: the BSP printed iterations 0..2 first"
like "$(log faultiter)" "$FATAL_RE" "fault_iter=3: Fatal line"

is "$(rc hvonly)" 33 "FAULT_HV_ONLY: LHV mode passes"
like "$(log hvonly)" '^HV_OPT: fault bits 0x4 off in this mode$' \
	"FAULT_HV_ONLY: says so"
is "$(rc hvonly_chain)" 35 "FAULT_HV_ONLY: hypervisor mode takes the fault"

is "$(rc flood)" 33 "FLOOD: passes after the flood"
like "$(log flood)" '^flood: 1 MiB follow, 16384 lines of 64 bytes$' \
	"FLOOD: start marker"
is "$(sed -n '/^flood: 1 MiB/,/^flood: done/p' "$T/flood.log" |
	grep -a '^flood [0-9a-f]\{8\} [A-Z]\{48\}$' | wc -c)" 1048576 \
	"FLOOD: exactly 1 MiB of flood lines"
like "$(log flood)" "$PASS" "FLOOD: pass line after it"
diag "flood 1 MiB: $(ms flood) ms"

is "$(rc slow)" 33 "SLOW: passes"
slow_ms=$(sed -n 's/^Stand-in: 2 CPUs x 25 iters in \([0-9]*\) ms$/\1/p' "$T/slow.log")
ok "SLOW: test phase took >= 25 x 50 ms by the guest's clock (${slow_ms:-?} ms)" \
	test "${slow_ms:-0}" -ge 1250
ok "SLOW: and by the host's ($(ms slow) ms)" test "$(ms slow)" -ge 1250
ok "SLOW: not absurdly slow" test "${slow_ms:-99999}" -lt 5000

is "$(rc acpi)" 0 "no isa-debug-exit: ACPI power-off, QEMU exits 0"
like "$(log acpi)" "$PASS" "no isa-debug-exit: pass line"
is "$(rc q35)" 33 "q35 -smp 4: passes"
is "$(grep -ac 'test iter 24$' "$T/q35.log")" 4 "q35 -smp 4: four CPUs finish"
is "$(rc com2)" 33 "COM2 from serial=: passes"
like "$(log com2)" '^serial: port=0x2f8 baud=115200 8n1\^M$' \
	"COM2: output there, crlf=1 line ends"

if [ -n "$grub_ok" ]; then
	is "$(rc grub)" 33 "GRUB chain: ends in the LHV pass power-off"
	is "$(grep -aoE 'variant=t(32|64) arch=[a-z0-9]+ |Stand-in: mode=[a-z]+|Stand-in: all CPUs passed' \
		"$T/grub.log" | tr '\n' '|')" \
		'variant=t64 arch=amd64 |Stand-in: mode=hypervisor|variant=t32 arch=i386 |Stand-in: mode=lhv|Stand-in: all CPUs passed|' \
		"GRUB chain: build64 hypervisor -> GRUB -> build32lhv LHV -> pass"
	# GRUB's own serial terminal output ("Welcome to GRUB!" only reaches
	# the log through SeaBIOS's VGA mirror, which drops text under load).
	is "$(grep -ac 'Booting `' "$T/grub.log")" 2 "GRUB chain: GRUB ran twice"
	mcopy -i "$T/disk.img@@1M" ::boot/grub/grubenv "$T/grubenv.after" 2>/dev/null
	is "$(grub-editenv "$T/grubenv.after" list 2>&1 | tr '\n' ' ')" \
		"next_entry= next_entry_2= " "GRUB chain: save_env consumed both stages"
	ok "GRUB chain: under 10 s ($(ms grub) ms)" test "$(ms grub)" -lt 10000
	diag "grub chain: $(ms grub) ms"
else
	skip "no grub-mkimage/sfdisk/mtools/grub-editenv: no GRUB chain"
fi

done_testing
