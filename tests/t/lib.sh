# Shared TAP helpers for tests/t/*.t (bash).  Source it first:
#   . "$(dirname "$0")/lib.sh"
#   plan 3
#   ok "name" cmd args...          # passes when cmd exits 0
#   run_labctl ARGS...             # sets $out, $err, $rc
#   is "$rc" 2 "exit code"
#   like "$err" 'regex' "message"
#   done_testing                   # when no plan was given
# Every test gets its own scratch dir $T (removed on exit) and can register
# cleanups with `at_exit "kill $pid"` (run in reverse order, always).
set -u
LABCTL=${LABCTL:-$(cd "$(dirname "$0")/../.." && pwd)/build/default/bin/labctl}
TOP=${LABCTL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
# Libraries a test program linked against libcore.a needs.
LIBCORE_LIBS=${LABCTL_LIBS:-$(pkg-config --libs inih libssh libcurl libftdi1 libgpiod libcrypto sqlite3 jansson libpcre2-8 libxml-2.0 2>/dev/null) -lm}
T=$(mktemp -d "${TMPDIR:-/tmp}/labctl-t.XXXXXX")
# Leases of this test's labs are its own: test labs share names ("faults").
export LABCTL_LOCK_DIR=${LABCTL_LOCK_DIR:-$T/locks}
_tap_n=0
_tap_failed=0
_tap_planned=
_cleanups=()

at_exit() { _cleanups+=("$*"); }
_run_cleanups() {
	local i
	for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do
		eval "${_cleanups[$i]}" >/dev/null 2>&1 || true
	done
	# LABCTL_T_KEEP=1 keeps the scratch dir (results, logs) to look at.
	if [ -n "${LABCTL_T_KEEP:-}" ]; then echo "# kept $T" >&2; else rm -rf "$T"; fi
}
trap '_run_cleanups' EXIT
trap 'exit 130' INT TERM

# free_port: a TCP port on 127.0.0.1 nothing listens on (a peer binds it
# next; a range away from the ephemeral ports, checked by connecting).
free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 30000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
	echo 0
}

plan() { _tap_planned=$1; echo "1..$1"; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
diag() { printf '# %s\n' "$@" >&2; }

_result() {
	_tap_n=$((_tap_n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $_tap_n - $2"
	else
		echo "not ok $_tap_n - $2"
		_tap_failed=$((_tap_failed + 1))
	fi
}
pass() { _result 0 "$1"; }
# Returns 1, so `is ... || diag "$err"` shows the diagnostics of a failure.
fail() { _result 1 "$1"; [ $# -gt 1 ] && diag "${@:2}"; return 1; }
skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n # SKIP $*"; }

# ok NAME CMD...: CMD must succeed.
ok() {
	local name=$1; shift
	if "$@"; then pass "$name"; else fail "$name" "command failed: $*"; fi
}
# is GOT WANT NAME
is() {
	if [ "$1" = "$2" ]; then pass "$3"; else fail "$3" "got:  '$1'" "want: '$2'"; fi
}
# like GOT REGEX NAME (extended regex, grep -E)
like() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then pass "$3"
	else fail "$3" "got:  '$1'" "want match: /$2/"; fi
}
unlike() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then fail "$3" "got:  '$1'" "want no match: /$2/"
	else pass "$3"; fi
}
# same_file A B NAME: byte-identical
same_file() {
	if cmp -s -- "$1" "$2"; then pass "$3"; else fail "$3" "$(cmp -- "$1" "$2" 2>&1)"; fi
}

# run_labctl ARGS...: runs $LABCTL with a timeout; sets out, err, rc.
run_labctl() {
	local o e
	o=$(mktemp "$T/out.XXXXXX"); e=$(mktemp "$T/err.XXXXXX")
	timeout -k 5 "${LABCTL_TIMEOUT:-60}" "$LABCTL" "$@" >"$o" 2>"$e"
	rc=$?
	out=$(cat "$o"); err=$(cat "$e")
	rm -f "$o" "$e"
}

# qemu_board_scratch: a test of labctl's QEMU board (skipped without QEMU
# or GRUB's i386-pc files): labctl's state, images and labs in $T, the
# in-tree stand-in, cwd $T, run_labctl's bound 120 s, and every QEMU of
# $T/state killed at exit.
qemu_board_scratch() {
	command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 missing"
	[ -d /usr/lib/grub/i386-pc ] || skip_all "grub-pc-bin missing"
	export LABCTL_STATE_DIR=$T/state LABCTL_IMAGES=$T/images
	export LABCTL_HYPERVISOR_DIR=$TOP/hypervisor LABCTL_LABS=$T/labs
	mkdir -p "$T/labs" "$T/state"
	cd "$T" || exit 1
	LABCTL_TIMEOUT=120
	at_exit "pkill -KILL -f -- '[q]emu-system-x86_64 .*$T/state' || true"
}

done_testing() {
	[ -n "$_tap_planned" ] || echo "1..$_tap_n"
	[ "$_tap_failed" = 0 ]
}
