#!/bin/bash
# Real boards over ssh (issue 4) against a real OpenSSH sshd in its own
# network namespace (tests/t/board.sh): trust, grub install, chain
# set/show/clear natively and with grub-editenv, deploy with skip and
# verify, a deploy killed mid-upload, an entry missing from grub.cfg, a
# changed host key, an unreachable board, sudo that wants a password,
# reboot and wait, a board that never comes back.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/board.sh"
why=$(board_check) || skip_all "$why"
command -v gcc >/dev/null || skip_all "no gcc"

board_start b1 --untrusted
B1_IP=$BOARD_IP B1_ROOT=$BOARD_ROOT
export HOME=$BOARD_HOME
export LABCTL_LABS=$T/labs LABCTL_IMAGES=$T/images LABCTL_LOCK_DIR=$T/locks
export LABCTL_STATE_DIR=$T/state
mkdir -p "$T/labs"

# write_lab NAME HOST [EXTRA-LINES-FOR-[board]] [EXTRA-SECTIONS]
write_lab() {
	cat >"$T/labs/$1.conf" <<EOF
[board]
type = pc
host = $2
user = $BOARD_USER
reboot = $BOARD_REBOOT_CMD
connect_timeout = 3s
command_timeout = 30s
down_timeout = 10s
up_timeout = ${UP_TIMEOUT:-20s}
${3:-}

[deploy]
dir = /boot/xmhf
sudo = yes

[lock]
where = board
ttl = 5m

[variant v64]
arch = amd64
options = ${V64_OPTIONS:-0x0}

[variant v32]
arch = i386

[variant v32lhv]
arch = i386
options = 0x400
${4:-}
EOF
}
write_lab b1 "$B1_IP"

# ---------------------------------------------------------------- host keys
t0=$(date +%s)
run_labctl chain b1 show
is "$rc" 3 "unknown host key: exit 3"
like "$err" "host key.*unknown" "unknown host key: says so"
like "$err" "SHA256:[A-Za-z0-9+/]{43}" "unknown host key: shows the fingerprint"
like "$err" "labctl trust b1" "unknown host key: names the command that accepts it"
same=$(grep -c "$B1_IP" "$HOME/.ssh/known_hosts" 2>/dev/null)
is "${same:-0}" 0 "unknown host key: known_hosts untouched"

run_labctl trust b1 --dry-run
is "$rc" 0 "trust --dry-run: exit 0"
like "$out" "SHA256:" "trust --dry-run: prints the fingerprint"
same=$(grep -c "$B1_IP" "$HOME/.ssh/known_hosts" 2>/dev/null)
is "${same:-0}" 0 "trust --dry-run: known_hosts untouched"
fp=$(ssh-keygen -lf "$BOARD_ROOT/etc/ssh/ssh_host_ed25519_key.pub" | awk '{print $2}')
run_labctl trust b1
is "$rc" 0 "trust: exit 0"
like "$out" "$(printf '%s' "$fp" | sed 's/[+.]/\\&/g')" "trust: the fingerprint is the board's (ssh-keygen -l)"
run_labctl chain b1 show
is "$rc" 0 "after trust: chain show connects"
is "$out" "" "no chain on a fresh board"

# ---------------------------------------------------------------- grub install
run_labctl grub install b1 --dry-run
is "$rc" 0 "grub install --dry-run: exit 0"
like "$out" "\+menuentry '?XMHF-v64'? " "grub install --dry-run: diff shows the new entry"
like "$out" "would do" "grub install --dry-run: prints the plan"
ok "grub install --dry-run: /etc/grub.d untouched" test ! -e "$B1_ROOT/etc/grub.d/42_labctl"
cfg_before=$(sha256sum <"$B1_ROOT/boot/grub/grub.cfg")

run_labctl grub install b1
is "$rc" 0 "grub install: exit 0"
ok "grub install: the drop-in is in /etc/grub.d, executable" \
	test -x "$B1_ROOT/etc/grub.d/05_labctl_chain"
ok "grub install: the entries script is in /etc/grub.d, executable" \
	test -x "$B1_ROOT/etc/grub.d/42_labctl"
like "$(grep -Ec "menuentry '?XMHF-" "$B1_ROOT/boot/grub/grub.cfg")" '^3$' \
	"grub install: grub-mkconfig put the 3 entries in grub.cfg"
isnt() { if [ "$1" != "$2" ]; then pass "$3"; else fail "$3" "both: '$1'"; fi; }
isnt "$(sha256sum <"$B1_ROOT/boot/grub/grub.cfg")" "$cfg_before" "grub install: grub.cfg regenerated"
ok "grub install: grub.cfg passes grub-script-check" grub-script-check "$B1_ROOT/boot/grub/grub.cfg"
like "$(cat "$B1_ROOT/boot/grub/grub.cfg")" "next_entry_2" "grub install: grub.cfg shifts the chain"
run_labctl grub install b1 --dry-run
like "$out" "up to date" "grub install again: nothing to change"

# ---------------------------------------------------------------- chains
run_labctl chain b1 set v64 v32 v32lhv
is "$rc" 0 "chain set: exit 0"
env_list() { board_root_exec b1 grub-editenv /boot/grub/grubenv list; }
is "$(env_list)" "next_entry=XMHF-v64
next_entry_2=XMHF-v32
next_entry_3=XMHF-v32lhv" "chain set: the board's grubenv, read by its grub-editenv"
run_labctl chain b1 show
is "$out" "XMHF-v64
XMHF-v32
XMHF-v32lhv" "chain show reads it back"
# grub-probe passed /boot/grub: its filesystem's fingerprint is kept, and
# the same filesystem is not probed again (a second or more on a slow
# board); a fingerprint that does not match is probed afresh.
probe_cache=$(ls "$T"/state/grub-probe/b1-* 2>/dev/null)
like "$(cat "$probe_cache" 2>/dev/null)" '^[0-9a-f]+:[0-9a-f]+:[0-9]+$' \
	"the probed filesystem's fingerprint is kept (type:id:device)"
echo "0:0:0" >"$probe_cache"
run_labctl chain b1 set v64 v32 v32lhv
is "$rc" 0 "a fingerprint that does not match: probed again, exit 0" || diag "$err"
like "$(cat "$probe_cache")" '^[0-9a-f]+:[0-9a-f]+:[0-9]+$' "... and the real one is kept again"
is "$(stat -c %s "$B1_ROOT/boot/grub/grubenv")" 1024 "grubenv stays 1024 bytes"

# A write killed half-way left its temporary beside grubenv: the next
# chain set removes it.
touch "$B1_ROOT/boot/grub/.grubenv.labctl-abc123"
run_labctl chain b1 set v32 v32
is "$rc" 0 "a shorter chain: exit 0"
ok "a killed write's temporary is gone" test ! -e "$B1_ROOT/boot/grub/.grubenv.labctl-abc123"
is "$(stat -c '%U %a' "$B1_ROOT/boot/grub/grubenv")" "root 644" "grubenv stays root's, 0644"
is "$(env_list)" "next_entry=XMHF-v32
next_entry_2=XMHF-v32" "a shorter chain drops the old third stage"

run_labctl chain b1 set v64 v32 default
is "$(env_list)" "next_entry=XMHF-v64
next_entry_2=XMHF-v32
next_entry_3=0" "chain set ... default: XMHF on XMHF on the board's OS"
run_labctl chain b1 set v32 v32

run_labctl chain b1 set nosuch
is "$rc" 2 "unknown variant: exit 2"
like "$err" "no variant 'nosuch'" "unknown variant: named"

write_lab b1 "$B1_IP" "" "
[variant vnew]
arch = amd64"
run_labctl chain b1 set v64 vnew
is "$rc" 2 "entry missing from grub.cfg: exit 2"
like "$err" "XMHF-vnew' is not in the board's /boot/grub/grub.cfg" "entry missing: says which and where"
like "$err" "labctl grub install b1" "entry missing: says how to fix it"
is "$(env_list)" "next_entry=XMHF-v32
next_entry_2=XMHF-v32" "entry missing: the chain is unchanged"

# A grubenv the board user cannot read, without deploy.sudo: nothing is
# written, and the lab setting that fixes it is named.
write_lab b1 "$B1_IP"
sed -i 's/^sudo = yes$/sudo = no/' "$T/labs/b1.conf"
chmod 0600 "$B1_ROOT/boot/grub/grubenv"
run_labctl chain b1 set v64
is "$rc" 2 "grubenv unreadable without deploy.sudo: exit 2" || diag "$err"
like "$err" "/boot/grub/grubenv on the board is not readable by $BOARD_USER: set deploy.sudo = yes" \
	"grubenv unreadable: says why and which setting fixes it"
chmod 0644 "$B1_ROOT/boot/grub/grubenv"
is "$(env_list)" "next_entry=XMHF-v32
next_entry_2=XMHF-v32" "grubenv unreadable: the chain is unchanged"
write_lab b1 "$B1_IP"

# A board without grub.cfg (GRUB's entries never installed): nothing is
# written, and `grub install` is named.
mv "$B1_ROOT/boot/grub/grub.cfg" "$B1_ROOT/boot/grub/grub.cfg.away"
run_labctl chain b1 set v64
is "$rc" 2 "no grub.cfg on the board: exit 2" || diag "$err"
like "$err" "the board has no /boot/grub/grub.cfg; install GRUB's entries with: labctl grub install b1" \
	"no grub.cfg: says so and names the command"
mv "$B1_ROOT/boot/grub/grub.cfg.away" "$B1_ROOT/boot/grub/grub.cfg"
is "$(env_list)" "next_entry=XMHF-v32
next_entry_2=XMHF-v32" "no grub.cfg: the chain is unchanged"
is "$(ls -A "$B1_ROOT/boot/grub" | grep -c labctl-)" 0 "... and no temporary file is left in /boot/grub"

# The board's own grub-editenv instead of the native writer.
write_lab b1 "$B1_IP" "" "
[grub]
editenv = grub-editenv"
run_labctl chain b1 set v32lhv v64 v32
is "$rc" 0 "chain set with grub.editenv = grub-editenv: exit 0"
is "$(env_list)" "next_entry=XMHF-v32lhv
next_entry_2=XMHF-v64
next_entry_3=XMHF-v32" "grub-editenv: the chain is on the board"
run_labctl chain b1 clear
is "$rc" 0 "chain clear: exit 0"
is "$(env_list)" "" "chain clear: no next_entry left"
write_lab b1 "$B1_IP"

# ---------------------------------------------------------------- deploy
run_labctl --json deploy b1 v64 v32 v32lhv
is "$rc" 0 "deploy 3 variants: exit 0"
like "$out" '"files_sent":6' "deploy: 2 files per variant sent"
for v in v64 v32 v32lhv; do
	same_file "$T/images/$v/init.bin" "$B1_ROOT/boot/xmhf/$v/init.bin" "deploy: $v/init.bin arrived"
	same_file "$T/images/$v/MANIFEST" "$B1_ROOT/boot/xmhf/$v/MANIFEST" "deploy: $v/MANIFEST arrived"
done
left=$(find "$B1_ROOT/boot/xmhf" "$B1_ROOT/tmp" -name '*labctl*' | wc -l)
is "$left" 0 "deploy: no temporary files left on the board"
run_labctl --json deploy b1 v64 v32 v32lhv
is "$rc" 0 "deploy again: exit 0"
like "$out" '"files_sent":0,' "deploy again: nothing sent"
like "$out" '"bytes_sent":0,' "deploy again: 0 image bytes"
rt=$(printf '%s' "$out" | sed -n 's/.*"round_trips":\([0-9]*\).*/\1/p')
ok "deploy again: at most 2 round trips per variant (got $rt)" test "${rt:-99}" -le 6

# Killed in the middle of an upload: over a link slowed to 2 KB/s, a
# changed image takes seconds; SIGKILL after 2 s.  Every file under its real
# name is whole (the old version or the new), and the next deploy completes.
old_sha=()
for f in init.bin hypervisor.bin.gz; do
	old_sha+=("$(sha256sum <"$B1_ROOT/boot/xmhf/v64/$f")")
done
V64_OPTIONS=0x10 write_lab b1 "$B1_IP"
hostveth=$(ip -o -4 addr show | awk -v ip="$BOARD_HOST_IP" '$4 ~ "^"ip"/" {print $2}')
ok "slow the board's link (tc tbf on $hostveth)" \
	tc qdisc add dev "$hostveth" root tbf rate 16kbit burst 1600 latency 5s
"$LABCTL" deploy b1 v64 >"$T/kill.out" 2>&1 &
kpid=$!
sleep 2
kill -KILL "$kpid" 2>/dev/null
wait "$kpid" 2>/dev/null
tc qdisc del dev "$hostveth" root 2>/dev/null
whole=0
for f in init.bin hypervisor.bin.gz; do
	got=$(sha256sum <"$B1_ROOT/boot/xmhf/v64/$f")
	new=$(sha256sum <"$T/images/v64/$f")
	case $got in
	"${old_sha[0]}"|"${old_sha[1]}"|"$new") whole=$((whole + 1)) ;;
	esac
done
is "$whole" 2 "killed mid-upload: both files under their names are whole (old or new)"
run_labctl deploy b1 v64
is "$rc" 0 "the next deploy completes"
same_file "$T/images/v64/hypervisor.bin.gz" "$B1_ROOT/boot/xmhf/v64/hypervisor.bin.gz" \
	"the next deploy: the new image is on the board"
left=$(find "$B1_ROOT/boot/xmhf" "$B1_ROOT/tmp" -name '*labctl*' | wc -l)
is "$left" 0 "the next deploy: what the killed one left is gone (/boot/xmhf, /tmp)"
V64_OPTIONS=0x10 write_lab b1 "$B1_IP"

# ---------------------------------------------------------------- sudo asks
board_start b2 --sudo password
B2_IP=$BOARD_IP
write_lab b2 "$B2_IP"
start=$(date +%s)
run_labctl deploy b2 v64
is "$rc" 3 "sudo wants a password: exit 3"
like "$err" "asks for a password" "sudo wants a password: says so"
like "$err" "NOPASSWD" "sudo wants a password: says how to fix it"
ok "sudo wants a password: no hang ($(($(date +%s) - start)) s)" test $(($(date +%s) - start)) -lt 20
ok "sudo wants a password: nothing under /boot/xmhf" test -z "$(ls -A "$BOARD_ROOT/boot/xmhf")"

# ---------------------------------------------------------------- btrfs
# GRUB's save_env cannot write btrfs (nor LVM, RAID, zfs): a chain there
# would never advance, so it is refused before anything is written.
board_start b3 --fs btrfs
write_lab b3 "$BOARD_IP"
run_labctl chain b3 set v64 v32
is "$rc" 2 "grubenv on btrfs: exit 2"
like "$err" "is on btrfs, where GRUB's save_env cannot write" "grubenv on btrfs: says why"
is "$(board_root_exec b3 grub-editenv /boot/grub/grubenv list)" "" "grubenv on btrfs: nothing written"
ok "a refused filesystem's fingerprint is not kept" test -z "$(ls "$T"/state/grub-probe/b3-* 2>/dev/null)"
run_labctl chain b3 set v64 v32
is "$rc" 2 "grubenv on btrfs, again: refused again"
board_stop b3

# ---------------------------------------------------------------- changed key
board_use b1
board_rekey b1
run_labctl chain b1 show
is "$rc" 3 "changed host key: exit 3"
like "$err" "CHANGED" "changed host key: says so"
like "$err" "labctl trust b1" "changed host key: names the command"
run_labctl trust b1
is "$rc" 0 "trust the new key"
run_labctl chain b1 show
is "$rc" 0 "the new key is accepted"

# ---------------------------------------------------------------- unreachable
dead=$(board_dead_ip)
write_lab dead "$dead"
start=$(date +%s)
run_labctl chain dead show
took=$(($(date +%s) - start))
is "$rc" 3 "unreachable board: exit 3"
like "$err" "$dead" "unreachable board: names the host"
ok "unreachable board: gives up within the 3 s connect timeout (+2 s) (took $took s)" test "$took" -le 5

# ---------------------------------------------------------------- reboot
boots0=$(cat "$B1_ROOT/var/lib/labctl-test/boots" 2>/dev/null || echo 0)
run_labctl reboot b1
is "$rc" 0 "reboot: exit 0" || diag "$err"
like "$out" "answering ssh again" "reboot: waits until the board is back"
is "$(cat "$B1_ROOT/var/lib/labctl-test/boots")" $((boots0 + 1)) "reboot: the board booted once more"

# The ssh power driver: the board's own OS reboots it (a laptop plan's
# first step), with host, user and sudo taken from [board] and [deploy].
write_lab b1 "$B1_IP" "" "
[power]
driver = ssh"
run_labctl power b1 status
is "$out" "on" "power driver ssh: status on while ssh answers"
run_labctl power b1 cycle --dry-run
like "$out" "^ssh labuser@$B1_IP:22: setsid -f sh -c .* sudo -n -- $BOARD_REBOOT_CMD" \
	"power driver ssh --dry-run: the exact detached command"
run_labctl power b1 on
is "$rc" 2 "power driver ssh cannot power on: exit 2"
boots0=$(cat "$B1_ROOT/var/lib/labctl-test/boots")
run_labctl power b1 cycle
is "$rc" 0 "power driver ssh: cycle" || diag "$err"
board_wait b1 up 20
is "$(cat "$B1_ROOT/var/lib/labctl-test/boots")" $((boots0 + 1)) "power driver ssh: the board rebooted"
write_lab b1 "$B1_IP"

touch "$B1_ROOT/var/lib/labctl-test/hang"
UP_TIMEOUT=4s write_lab b1 "$B1_IP"
start=$(date +%s)
run_labctl reboot b1
took=$(($(date +%s) - start))
is "$rc" 3 "a board that never comes back: exit 3"
like "$err" "did not answer ssh" "a board that never comes back: says so"
ok "a board that never comes back: gives up after up_timeout (took $took s)" test "$took" -le 12

done_testing
