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
# ROUNDS (default 2) rounds of 1, medians.  Needs the twin image (built as
# root once per machine, ~95 s; skipped without it).
set -uo pipefail
BTOP=$(cd "$(dirname "$0")/.." && pwd)
LABCTL=${LABCTL:-$BTOP/build/default/bin/labctl}
ROUNDS=${ROUNDS:-2}
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
by_hand() {
	local log=$T/hand.log
	: >"$log"
	socat -u "TCP:127.0.0.1:$TWIN_CONSOLE_PORT" "OPEN:$log,append" 2>/dev/null &
	local cat_pid=$!
	twin_ssh sudo -n grub-editenv /boot/grub/grubenv set \
		next_entry=XMHF-build64 next_entry_2=XMHF-build32 || return 1
	twin_ssh 'sudo -n setsid -f sh -c "sleep 1; systemctl reboot" </dev/null >/dev/null 2>&1' || return 1
	for _ in $(seq 3000); do
		grep -aq "Debian GNU/Linux 12 twin ttyS0" "$log" && break
		sleep 0.1
	done
	kill "$cat_pid" 2>/dev/null
	wait "$cat_pid" 2>/dev/null
	grep -aq "variant=build32" "$log" && grep -aq "Debian GNU/Linux 12 twin ttyS0" "$log"
}

t_lab=(); t_hand=()
for _ in $(seq "$ROUNDS"); do
	twin_wait_ssh 300
	s=$(now); "$LABCTL" -q run twin build64 build32 default >/dev/null 2>&1; rc=$?; e=$(now)
	[ "$rc" = 0 ] || { echo "twin: labctl run failed ($rc)"; exit 1; }
	t_lab+=("$(awk -v s="$s" -v e="$e" 'BEGIN {print e - s}')")
	twin_wait_ssh 300
	s=$(now); by_hand || { echo "twin: the chain by hand failed"; exit 1; }; e=$(now)
	t_hand+=("$(awk -v s="$s" -v e="$e" 'BEGIN {print e - s}')")
done
ml=$(printf '%s\n' "${t_lab[@]}" | median)
mh=$(printf '%s\n' "${t_hand[@]}" | median)
echo "load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
printf 'run to verdict, stand-in -> GRUB -> stand-in -> GRUB -> Debian: labctl %.1f s, by hand %.1f s: %sx (bound 1.05x; rounds: labctl %s, by hand %s)\n' \
	"$ml" "$mh" "$(ratio "$ml" "$mh")" "${t_lab[*]}" "${t_hand[*]}"

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
