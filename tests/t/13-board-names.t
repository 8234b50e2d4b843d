#!/bin/bash
# Names that become paths on a board stay in their directories (issue 13.6):
# `[grub] entries = ../../tmp/x` made `labctl grub install` write /tmp/x on
# the board as root.  Against a real sshd board (tests/t/board.sh): such a
# lab file is refused when it is read, before labctl connects, and nothing
# is written on the board; a plain name still installs where it should.
# shellcheck source=tests/t/lib.sh disable=SC2154
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/board.sh"
why=$(board_check) || skip_all "$why"

board_start b1
export HOME=$BOARD_HOME
export LABCTL_LABS=$T/labs LABCTL_IMAGES=$T/images LABCTL_LOCK_DIR=$T/locks
mkdir -p "$T/labs"

# write_lab GRUB-LINES: the board's lab with these [grub] keys (line 13 on).
write_lab() {
	cat >"$T/labs/b1.conf" <<EOF
[board]
type = pc
host = $BOARD_IP
user = $BOARD_USER
connect_timeout = 3s
command_timeout = 30s
[deploy]
dir = /boot/xmhf
sudo = yes
[lock]
where = board
[grub]
$1
[variant v32lhv]
arch = i386
options = 0x400
EOF
}
board_files() { (cd "$BOARD_ROOT" && find etc/grub.d tmp var/tmp -xdev 2>/dev/null | sort); }

before=$(board_files)
for bad in "entries = ../../tmp/x" "dropin = ../../tmp/x" "entries = /tmp/x" \
	"dropin = .."; do
	write_lab "$bad"
	run_labctl grub install b1
	is "$rc" 2 "grub install with $bad: exit 2"
	like "$err" "^labctl: $T/labs/b1\\.conf:13: \\[grub\\] (entries|dropin): '[^']*' is not a plain file name" \
		"grub install with $bad: FILE:LINE and why"
	ok "grub install with $bad: /tmp/x not created on the board" test ! -e "$BOARD_ROOT/tmp/x"
	is "$(board_files)" "$before" "grub install with $bad: nothing written on the board"
	run_labctl show b1
	is "$rc" 2 "show with $bad: exit 2"
done

# The same board with plain names: installed in /etc/grub.d, nowhere else.
write_lab "entries = 43_labctl_names
dropin = 06_labctl_names"
run_labctl grub install b1
is "$rc" 0 "grub install with plain names: exit 0" || diag "$err"
ok "plain names: the entries script is in /etc/grub.d" test -x "$BOARD_ROOT/etc/grub.d/43_labctl_names"
ok "plain names: the drop-in is in /etc/grub.d" test -x "$BOARD_ROOT/etc/grub.d/06_labctl_names"
ok "plain names: /tmp/x still absent" test ! -e "$BOARD_ROOT/tmp/x"

done_testing
