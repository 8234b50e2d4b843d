#!/bin/bash
# Benchmarks of the QEMU virtual board, each against its peer in the same run:
#  1. labctl boot of the 3-stage chain vs the same QEMU run bare (serial to a
#     file, waited on until the guest powers off)            target <= 1.10x
#  2. pass line read by labctl -> labctl exited               target <= 20 ms
#  3. labctl build of 3 unchanged variants vs make's no-op    target <= 50 ms
#  4. 1, 2, 4, 8 boards in parallel: wall time, verdicts, vs bare QEMU
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
LABCTL=${LABCTL:-$TOP/build/default/bin/labctl}
ROUNDS=${ROUNDS:-5}
W=$(mktemp -d /tmp/labctl-bench.XXXXXX)
trap 'pkill -KILL -f -- "$W/state" 2>/dev/null || true; rm -rf "$W"' EXIT
export LABCTL_STATE_DIR=$W/state LABCTL_IMAGES=$W/images LABCTL_LABS=$W/labs
export LABCTL_HYPERVISOR_DIR=$TOP/hypervisor
mkdir -p "$W/labs"
cp "$TOP/labs/qemu.conf" "$W/labs/"
cd "$W"

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a/b}'; }

echo "labctl benchmarks ($(nproc) cores, $ROUNDS rounds, medians)"
"$LABCTL" -q run >/dev/null            # build, deploy, first boot
state=$(ls -d "$W"/state/qemu-*)
disk=$state/disk.img

# The QEMU line labctl uses, minus its sockets: serial to a file instead.
bare_qemu() {	# bare_qemu DISK LOG
	qemu-system-x86_64 -machine pc -accel tcg -cpu qemu64 -m 256M -smp 2 \
		-display none -drive "file=$1,format=raw,index=0,media=disk" \
		-serial "file:$2" -device isa-debug-exit,iobase=0xf4,iosize=4 \
		-no-reboot || true
}

# 1. boot of the 3-stage chain
t_lab=(); t_bare=()
for _ in $(seq "$ROUNDS"); do
	s=$(now); "$LABCTL" -q boot build64 build32 build32lhv >/dev/null; e=$(now)
	t_lab+=("$(awk -v s="$s" -v e="$e" 'BEGIN {print e-s}')")
	# The bare run needs the same chain in the same disk: copy it after
	# labctl set it (boot consumed it, so set it again with --keep-on off).
	"$LABCTL" -q chain set "$W/grubenv.tmp" XMHF-build64 XMHF-build32 XMHF-build32lhv >/dev/null
	cp "$disk" "$W/bare.img"
	mcopy -o -i "$W/bare.img@@1M" "$W/grubenv.tmp" ::/boot/grub/grubenv
	s=$(now); bare_qemu "$W/bare.img" "$W/bare.log"; e=$(now)
	grep -a -q 'all CPUs passed' "$W/bare.log" || { echo "bare run did not pass"; exit 1; }
	t_bare+=("$(awk -v s="$s" -v e="$e" 'BEGIN {print e-s}')")
	rm -f "$W/grubenv.tmp"
done
ml=$(printf '%s\n' "${t_lab[@]}" | median); mb=$(printf '%s\n' "${t_bare[@]}" | median)
printf '1. boot, 3-stage chain: labctl %.3f s, bare QEMU %.3f s, ratio %sx (target <= 1.10)\n' \
	"$ml" "$mb" "$(ratio "$ml" "$mb")"

# 2. verdict -> exit
lat=()
for _ in $(seq "$ROUNDS"); do
	"$LABCTL" -q --json boot build64 build32 build32lhv >"$W/r.json"
	e=$(now)
	d=$(perl -MJSON::PP -e 'local $/; print decode_json(<STDIN>)->{decided_wall}' <"$W/r.json")
	lat+=("$(awk -v d="$d" -v e="$e" 'BEGIN {print (e-d)*1000}')")
done
printf '2. pass line read -> labctl exited: %.1f ms (target <= 20)\n' \
	"$(printf '%s\n' "${lat[@]}" | median)"

# 3. build of 3 unchanged variants, against make's own no-op on the same tree
make -s -C "$TOP/hypervisor" ARCH=amd64 VARIANT=b64 OUT="$W/mk/b64" >/dev/null
make -s -C "$TOP/hypervisor" ARCH=i386 VARIANT=b32 OUT="$W/mk/b32" >/dev/null
make -s -C "$TOP/hypervisor" ARCH=i386 HV_OPT=0x400 VARIANT=l32 OUT="$W/mk/l32" >/dev/null
tb=(); tm=()
for _ in $(seq "$ROUNDS"); do
	s=$(now); "$LABCTL" -q build >/dev/null; e=$(now)
	tb+=("$(awk -v s="$s" -v e="$e" 'BEGIN {print (e-s)*1000}')")
	s=$(now)
	make -s -C "$TOP/hypervisor" ARCH=amd64 VARIANT=b64 OUT="$W/mk/b64" >/dev/null
	make -s -C "$TOP/hypervisor" ARCH=i386 VARIANT=b32 OUT="$W/mk/b32" >/dev/null
	make -s -C "$TOP/hypervisor" ARCH=i386 HV_OPT=0x400 VARIANT=l32 OUT="$W/mk/l32" >/dev/null
	e=$(now)
	tm+=("$(awk -v s="$s" -v e="$e" 'BEGIN {print (e-s)*1000}')")
done
mb=$(printf '%s\n' "${tb[@]}" | median); mm=$(printf '%s\n' "${tm[@]}" | median)
printf '3. build, 3 unchanged variants: labctl %.1f ms, make no-op %.1f ms, ratio %sx (target <= 50 ms)\n' \
	"$mb" "$mm" "$(ratio "$mb" "$mm")"

# 4. boards in parallel
for n in 1 2 4 8; do
	for i in $(seq "$n"); do
		sed "s/^description = .*/description = bench board $i/" "$TOP/labs/qemu.conf" >"$W/labs/b$i.conf"
		"$LABCTL" -q deploy "b$i" >/dev/null
	done
	s=$(now)
	pids=()
	for i in $(seq "$n"); do
		"$LABCTL" -q boot "b$i" build64 build32 build32lhv >"$W/b$i.out" 2>&1 &
		pids+=($!)
	done
	passed=0
	for p in "${pids[@]}"; do wait "$p" && passed=$((passed + 1)); done
	e=$(now)
	tl=$(awk -v s="$s" -v e="$e" 'BEGIN {print e-s}')
	for i in $(seq "$n"); do
		"$LABCTL" -q chain set "$W/g$i" XMHF-build64 XMHF-build32 XMHF-build32lhv >/dev/null
		cp "$disk" "$W/bare$i.img"
		mcopy -o -i "$W/bare$i.img@@1M" "$W/g$i" ::/boot/grub/grubenv
		rm -f "$W/g$i"
	done
	s=$(now)
	for i in $(seq "$n"); do bare_qemu "$W/bare$i.img" "$W/bare$i.log" & done
	wait
	e=$(now)
	tq=$(awk -v s="$s" -v e="$e" 'BEGIN {print e-s}')
	printf '4. %d board(s) in parallel: labctl %.2f s (%d/%d pass), bare QEMU %.2f s, ratio %sx\n' \
		"$n" "$tl" "$passed" "$n" "$tq" "$(ratio "$tl" "$tq")"
done
