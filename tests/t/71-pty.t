#!/bin/bash
# At an interactive terminal (issue 12.2): `labctl run qemu` and `make run`
# under a pseudo-terminal (script(1)), with a terminal stdin that stays open
# (a pipe that never ends), twice each on a fresh state directory: both
# pass.  Before, mtools asked "Long file name ... already exists" on the
# terminal from a background process group, was stopped, and the run
# failed after 60 s ("mmd did not finish within 60000 ms").  `make run`
# runs in a copy of the tree using this test run's build (nothing is
# compiled) and `--check` as its install step (a test installs nothing).
. "$(dirname "$0")/lib.sh"
command -v script >/dev/null || skip_all "no script(1) (bsdutils)"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 missing"

export TERM=xterm
# Run from `make check`: the outer make's variables must not leak in.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES GNUMAKEFLAGS DEPS_READY
unset LABCTL_LAB LABCTL_IMAGES
export LABCTL_LABS=$TOP/labs
export LABCTL_HYPERVISOR_DIR=$TOP/hypervisor
at_exit "pkill -KILL -f -- '[q]emu-system-x86_64 .*$T/' || true"
# A terminal stdin that never ends while the test runs.
exec 3< <(sleep 600)
at_exit "kill $!"

# at_terminal NAME LIMIT_S CMD: runs CMD (a shell command line) in a new
# pseudo-terminal; sets out and rc.
at_terminal() {
	timeout -k 5 "$2" script -qec "$3" /dev/null <&3 >"$T/tty.out" 2>&1
	rc=$?
	# The verdict is in colour at a terminal: read the words.
	out=$(tr -d '\r' <"$T/tty.out" | sed 's/\x1b\[[0-9;]*m//g')
}

mkdir -p "$T/run" && cd "$T/run" || exit 1
export LABCTL_STATE_DIR=$T/state-run
for i in 1 2; do
	at_terminal "run $i" 50 "$LABCTL run qemu"
	is "$rc" 0 "labctl run qemu at a terminal, run $i: exit 0"
	[ "$rc" = 0 ] || diag "$(tail -5 <<<"$out")"
	like "$out" '^PASS: ' "labctl run qemu at a terminal, run $i: PASS"
	unlike "$out" 'did not finish within' "run $i: no program hung"
done

# make run, in a copy of the tree whose build is this test run's.
kind=$(basename "$(dirname "$(dirname "$LABCTL")")")
mkdir -p "$T/src"
tar -C "$TOP" --exclude=./build --exclude=./images --exclude=./results \
	-cf - . | tar -C "$T/src" -xf -
export LABCTL_STATE_DIR=$T/state-make
build_args=(BUILDDIR="$(dirname "$(dirname "$LABCTL")")" BUILD_KIND="$kind"
	DEVELOPER=1 SANITIZE=address,undefined)
# Never compile into the build other tests use: an out-of-date build skips.
if ! make -q -C "$T/src" "${build_args[@]}" all >/dev/null 2>&1; then
	skip "make run at a terminal: $LABCTL is older than its sources"
	done_testing
	exit
fi
for i in 1 2; do
	at_terminal "make run $i" 120 "make -C '$T/src' --no-print-directory run \
		${build_args[*]} INSTALL_DEPS='scripts/install-deps --check'"
	is "$rc" 0 "make run at a terminal, run $i: exit 0"
	[ "$rc" = 0 ] || diag "$(tail -8 <<<"$out")"
	like "$out" '^PASS: ' "make run at a terminal, run $i: PASS"
	unlike "$out" '^(cc|gcc) ' "make run $i: nothing was compiled"
done
ok "make run wrote its results in the copy" test -d "$T/src/results"

done_testing
