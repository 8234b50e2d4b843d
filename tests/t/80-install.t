#!/bin/bash
# make install under a fresh PREFIX gives a labctl that finds its labs,
# man pages and the stand-in's sources from any directory, and runs the
# default lab end to end.
. "$(dirname "$0")/lib.sh"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 missing"
# Install the binary this test run was given (the sanitizer build).
kind=$(basename "$(dirname "$(dirname "$LABCTL")")")
install_it() {
	make -s -C "$TOP" install PREFIX="$T/pfx" BUILD_KIND="$kind" \
		DEVELOPER=1 SANITIZE=address,undefined >"$T/install.log" 2>&1
}
ok "make install PREFIX=\$T/pfx" install_it || diag "$(tail -20 "$T/install.log")"
for f in bin/labctl share/man/man1/labctl.1 share/man/man5/labctl.conf.5 \
	share/labctl/labs/qemu.conf share/labctl/hypervisor/Makefile; do
	ok "installed $f" test -s "$T/pfx/$f"
done
mkdir "$T/empty" && cd "$T/empty" || exit 1
unset LABCTL_LABS LABCTL_HYPERVISOR_DIR LABCTL_LAB LABCTL_IMAGES
export LABCTL_STATE_DIR=$T/state
at_exit "pkill -KILL -f -- '[q]emu-system-x86_64 .*$T/state' || true"
LABCTL=$T/pfx/bin/labctl
run_labctl labs
is "$rc" 0 "installed labctl lists its labs from an empty directory"
like "$out" 'qemu +qemu +3' "the default lab is there"
LABCTL_TIMEOUT=120 run_labctl run
is "$rc" 0 "installed labctl runs the default lab" || diag "$out" "$err"
like "$out" 'PASS: ' "and says PASS"
ok "the images were built from the installed sources" test -s images/build64/MANIFEST
done_testing
