#!/bin/bash
# labctl deploy --json says what stderr says: files sent and skipped
# (the "deployed N changed files ...; M unchanged" line), bytes and round
# trips on a real board (tests/t/board.sh's sshd), and the same object with
# "result":"error" and the message when the deploy fails.  On the QEMU
# board (a local disk image) bytes and round trips are null.
. "$(dirname "$0")/lib.sh"
command -v gcc >/dev/null || skip_all "no gcc"
command -v mcopy >/dev/null || skip_all "no mtools"

export LABCTL_LABS=$T/labs LABCTL_IMAGES=$T/images LABCTL_STATE_DIR=$T/state
mkdir -p "$T/labs"
cd "$T" || exit 1
json_get() {	# json_get JSON PERL-EXPR
	printf '%s' "$1" | perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>); my $v = eval $ARGV[0]; print defined $v ? $v : "null"' "$2"
}
# from_stderr: "SENT SKIPPED" from the deployed line
from_stderr() {
	printf '%s\n' "$1" | sed -n 's/.*deployed \([0-9]*\) changed files\{0,1\}.*; \([0-9]*\) unchanged.*/\1 \2/p'
}

# ---- the QEMU board
cp "$TOP/labs/qemu.conf" "$T/labs/qemu.conf"
run_labctl --json deploy qemu build64 build32
is "$rc" 0 "qemu: deploy --json: exit 0" || diag "$err"
is "$(json_get "$out" '"$j->{files_sent} $j->{files_skipped}"')" "$(from_stderr "$err")" \
	"qemu: files sent and skipped as stderr says ($(from_stderr "$err"))"
is "$(json_get "$out" '"$j->{files_sent} $j->{files_skipped}"')" "5 0" "qemu: grub.cfg and 2 files per variant"
is "$(json_get "$out" 'join " ", map { $_ // "null" } @$j{qw(result board bytes_sent round_trips error)}')" "ok qemu null null null" \
	"qemu: result ok, no wire: bytes and round trips null"
run_labctl --json deploy qemu build64 build32
is "$(json_get "$out" '"$j->{files_sent} $j->{files_skipped}"')" "0 5" "qemu: again: nothing sent, 5 unchanged"
is "$(from_stderr "$err")" "0 5" "qemu: ... as stderr says"
run_labctl --json deploy qemu nosuch
is "$rc" 2 "qemu: an unknown variant: exit 2"
is "$(json_get "$out" '$j->{result}')" "error" "qemu: --json still answers: result error"
like "$(json_get "$out" '$j->{error}')" "no variant 'nosuch'" "qemu: ... with the message"

# ---- a real board over ssh
. "$TOP/tests/t/board.sh"
if why=$(board_check); then
	board_start dj
	export HOME=$BOARD_HOME LABCTL_LOCK_DIR=$T/locks
	cat >"$T/labs/dj.conf" <<CONF
[board]
type = pc
host = $BOARD_IP
user = $BOARD_USER
connect_timeout = 2s
[deploy]
dir = /boot/xmhf
sudo = yes
[variant v64]
arch = amd64
[variant v32]
arch = i386
CONF
	run_labctl --json deploy dj v64 v32
	is "$rc" 0 "ssh: deploy --json: exit 0" || diag "$err"
	is "$(json_get "$out" '"$j->{files_sent} $j->{files_skipped}"')" "$(from_stderr "$err")" \
		"ssh: files sent and skipped as stderr says ($(from_stderr "$err"))"
	bytes=$(printf '%s\n' "$err" | sed -n 's/.*changed files\{0,1\} (\([0-9]*\) bytes).*/\1/p')
	is "$(json_get "$out" '$j->{bytes_sent}')" "$bytes" "ssh: bytes as stderr says ($bytes)"
	want=$(( $(stat -c %s "$T/images/v64/init.bin" "$T/images/v64/hypervisor.bin.gz" \
		"$T/images/v32/init.bin" "$T/images/v32/hypervisor.bin.gz" | paste -sd+) ))
	is "$bytes" "$want" "ssh: ... the image files' sizes"
	ok "ssh: round trips counted ($(json_get "$out" '$j->{round_trips}'))" \
		test "$(json_get "$out" '$j->{round_trips}')" -gt 0
	is "$(json_get "$out" 'join " ", map { $_ // "null" } @$j{qw(result error board)}')" "ok null $BOARD_USER@$BOARD_IP:22" "ssh: result ok, the board named"
	run_labctl --json deploy dj v64 v32
	is "$(json_get "$out" '"$j->{files_sent} $j->{files_skipped} $j->{bytes_sent}"')" "0 4 0" "ssh: again: nothing sent"
	is "$(from_stderr "$err")" "0 4" "ssh: ... as stderr says"
	# chain LAB set --deploy --json: one object on stdout, the chain's.
	run_labctl grub install dj
	is "$rc" 0 "ssh: grub install (for the chain below)" || diag "$err"
	run_labctl --json chain dj set --deploy v64 v32
	is "$rc" 0 "ssh: chain set --deploy --json: exit 0" || diag "$err"
	is "$(json_get "$out" 'join " ", @{$j->{chain}}')" "XMHF-v64 XMHF-v32" \
		"ssh: ... stdout is one JSON object, the chain (no deploy object before it)"
	# The board goes away: the failure is in the object too.
	board_power dj off
	run_labctl --json deploy dj v64
	is "$rc" 3 "ssh: board off: exit 3"
	is "$(json_get "$out" '$j->{result}')" "error" "ssh: board off: result error"
	like "$(json_get "$out" '$j->{error}')" "$BOARD_IP" "ssh: ... the message names the board"
else
	skip "$why"
fi

done_testing
