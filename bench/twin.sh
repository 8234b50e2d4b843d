#!/bin/bash
# The Debian 12 twin (scripts/twin-vm) driven by labctl against the same
# work by hand with OpenSSH, same twin, same run:
#   1. `labctl run twin build64 build32 default` from start to verdict
#      (deployed, no changes) against the same chain by hand: ssh
#      grub-editenv set next_entry..., ssh sudo systemctl reboot, the
#      serial console read until Debian's login prompt    (bound: <= 1.05x)
#   2. `labctl chain twin set build64 build32 default` against ssh
#      `sudo grub-editenv ... set ...`, and `labctl deploy` of 2 variants
#      removed from the board against scp + ssh sudo install.
# ROUNDS (default 4) interleaved rounds, medians.  Needs the twin image (built as
# root once per machine, ~95 s; skipped without it).
set -uo pipefail
BTOP=$(cd "$(dirname "$0")/.." && pwd)
LABCTL=${LABCTL:-$BTOP/build/default/bin/labctl}
ROUNDS=${ROUNDS:-4}
LABCTL_TOP=$BTOP . "$BTOP/tests/t/lib.sh" >/dev/null
. "$BTOP/tests/t/twin.sh"
if ! why=$(twin_check); then
	echo "twin: skipped: $why"
	exit 0
fi
twin_image || { echo "twin: no image: $(cat "$T/twin-image.err")"; exit 1; }
twin_start || { echo "twin: the twin did not start: $(cat "$T/twin-start.out")"; exit 1; }
echo "twin restored from its saved state to ssh in ${TWIN_START_SECONDS:-?} s ($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg): TCG timings follow the machine's load)"
sed -i '/^\[test\]/,$d' "$TWIN_LAB"
cd "$T" || exit 1

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a/b}'; }

"$LABCTL" -q grub install twin >/dev/null 2>&1 || { echo "twin: grub install failed"; exit 1; }
"$LABCTL" -q run twin build64 build32 default >/dev/null 2>&1 || { echo "twin: first run failed"; exit 1; }
twin_wait_ssh 300

# By hand: the chain into grubenv, the reboot, the console until the prompt.
# HAND_REBOOT: when the reboot command was sent (epoch seconds).
by_hand() {
	local log=$T/hand.log
	: >"$log"
	socat -u "TCP:127.0.0.1:$TWIN_CONSOLE_PORT" "OPEN:$log,append" 2>/dev/null &
	local cat_pid=$!
	twin_ssh sudo -n grub-editenv /boot/grub/grubenv set \
		next_entry=XMHF-build64 next_entry_2=XMHF-build32 || return 1
	twin_ssh 'sudo -n setsid -f sh -c "sleep 1; systemctl reboot" </dev/null >/dev/null 2>&1' || return 1
	HAND_REBOOT=$(now)
	for _ in $(seq 3000); do
		grep -aq "Debian GNU/Linux 12 twin ttyS0" "$log" && break
		sleep 0.1
	done
	HAND_PROMPT=$(now)
	kill "$cat_pid" 2>/dev/null
	wait "$cat_pid" 2>/dev/null
	grep -aq "variant=build32" "$log" && grep -aq "Debian GNU/Linux 12 twin ttyS0" "$log"
}

# The newest result's power-on (t0) and verdict, as epoch seconds.
result_times() {
	local j
	j=$(ls -1t results/2*.json | head -n 1)
	perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>);
		printf "%.6f %.6f\n", $j->{decided_wall} - $j->{decided}, $j->{decided_wall}' <"$j"
}

# Rounds interleaved, the order swapped each round: the twin's TCG boot
# time drifts with the machine (its BIOS disk reads stall now and then),
# so each side gets the same share of slow boots.  Besides the totals,
# each side's own time: before the reboot begins (labctl: build cache,
# lease, deploy check, chain set; by hand: the grub-editenv ssh and the
# reboot ssh) and after the verdict, apart from the twin's boot.
t_lab=(); t_hand=(); own_lab=(); own_hand=(); boot_lab=(); boot_hand=()
lab_round() {
	local s e t0 dec
	twin_wait_ssh 300
	s=$(now); "$LABCTL" -q run twin build64 build32 default >/dev/null 2>&1; rc=$?; e=$(now)
	[ "$rc" = 0 ] || { echo "twin: labctl run failed ($rc)"; exit 1; }
	read -r t0 dec < <(result_times)
	t_lab+=("$(awk -v s="$s" -v e="$e" 'BEGIN {print e - s}')")
	own_lab+=("$(awk -v s="$s" -v e="$e" -v t="$t0" -v d="$dec" 'BEGIN {print (t - s) + (e - d)}')")
	boot_lab+=("$(awk -v t="$t0" -v d="$dec" 'BEGIN {print d - t}')")
}
hand_round() {
	local s e
	twin_wait_ssh 300
	s=$(now); by_hand || { echo "twin: the chain by hand failed"; exit 1; }; e=$(now)
	t_hand+=("$(awk -v s="$s" -v e="$e" 'BEGIN {print e - s}')")
	own_hand+=("$(awk -v s="$s" -v r="$HAND_REBOOT" 'BEGIN {print r - s}')")
	boot_hand+=("$(awk -v r="$HAND_REBOOT" -v p="$HAND_PROMPT" 'BEGIN {print p - r}')")
}
for r in $(seq "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then lab_round; hand_round; else hand_round; lab_round; fi
done
med() { printf '%s\n' "$@" | median; }
ml=$(med "${t_lab[@]}"); mh=$(med "${t_hand[@]}")
ol=$(med "${own_lab[@]}"); oh=$(med "${own_hand[@]}")
bl=$(med "${boot_lab[@]}"); bh=$(med "${boot_hand[@]}")
echo "load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
printf 'run to verdict, stand-in -> GRUB -> stand-in -> GRUB -> Debian: labctl %.1f s, by hand %.1f s: %sx (bound 1.05x; %s rounds, medians; labctl %s, by hand %s)\n' \
	"$ml" "$mh" "$(ratio "$ml" "$mh")" "$ROUNDS" "${t_lab[*]}" "${t_hand[*]}"
printf '  the twin booting (reboot command to the login prompt): labctl %.1f s, by hand %.1f s: %sx\n' \
	"$bl" "$bh" "$(ratio "$bl" "$bh")"
printf '  own time around the boot (before it, and after the verdict): labctl %.2f s, by hand %.2f s: %sx, %+.2f s\n' \
	"$ol" "$oh" "$(ratio "$ol" "$oh")" "$(awk -v a="$ol" -v b="$oh" 'BEGIN {print a - b}')"
# The same boot for both: what labctl's own time costs on a run.
printf '  on the same boot (own time + the by-hand boot median): labctl %.1f s, by hand %.1f s: %sx\n' \
	"$(awk -v a="$ol" -v b="$bh" 'BEGIN {print a + b}')" "$(awk -v a="$oh" -v b="$bh" 'BEGIN {print a + b}')" \
	"$(ratio "$(awk -v a="$ol" -v b="$bh" 'BEGIN {print a + b}')" "$(awk -v a="$oh" -v b="$bh" 'BEGIN {print a + b}')")"

# chain set: labctl (checks grub-probe, the entries, reads back) vs one ssh.
twin_wait_ssh 300
t_lab=(); t_hand=()
for _ in $(seq 5); do
	s=$(now); "$LABCTL" -q chain twin set build64 build32 default >/dev/null 2>&1 || exit 1; e=$(now)
	t_lab+=("$(awk -v s="$s" -v e="$e" 'BEGIN {print e - s}')")
	s=$(now); twin_ssh sudo -n grub-editenv /boot/grub/grubenv set \
		next_entry=XMHF-build64 next_entry_2=XMHF-build32 || exit 1; e=$(now)
	t_hand+=("$(awk -v s="$s" -v e="$e" 'BEGIN {print e - s}')")
done
twin_ssh sudo -n grub-editenv /boot/grub/grubenv unset next_entry next_entry_2 next_entry_3
ml=$(printf '%s\n' "${t_lab[@]}" | median)
mh=$(printf '%s\n' "${t_hand[@]}" | median)
printf 'chain set (with its checks and read-back): labctl %.3f s, ssh grub-editenv %.3f s: %sx\n' \
	"$ml" "$mh" "$(ratio "$ml" "$mh")"

# deploy of 2 variants the board lost: labctl (SFTP, rename, sha256) vs scp + install.
t_lab=(); t_hand=()
for _ in $(seq 3); do
	twin_ssh sudo -n rm -rf /boot/xmhf/build64 /boot/xmhf/build32
	s=$(now); "$LABCTL" -q deploy twin build64 build32 >/dev/null 2>&1 || exit 1; e=$(now)
	t_lab+=("$(awk -v s="$s" -v e="$e" 'BEGIN {print e - s}')")
	s=$(now)
	scp -q -r -P "$TWIN_SSH_PORT" -i "$TWIN_KEY" -o BatchMode=yes \
		-o UserKnownHostsFile="$HOME/.ssh/known_hosts" \
		"$T/images/build64" "$T/images/build32" lab@127.0.0.1:/tmp/ || exit 1
	twin_ssh 'sudo -n sh -c "mkdir -p /boot/xmhf-hand && cp -r /tmp/build64 /tmp/build32 /boot/xmhf-hand/"' || exit 1
	e=$(now)
	t_hand+=("$(awk -v s="$s" -v e="$e" 'BEGIN {print e - s}')")
done
ml=$(printf '%s\n' "${t_lab[@]}" | median)
mh=$(printf '%s\n' "${t_hand[@]}" | median)
printf 'deploy of 2 variants (sha256 checked on the board): labctl %.3f s, scp + ssh install %.3f s: %sx\n' \
	"$ml" "$mh" "$(ratio "$ml" "$mh")"
