#!/bin/bash
# The real XMHF64 builds through labctl (issue 12.4): the pinned uberxmhf
# xmhf64 snapshot (shared/xmhf/uberxmhf-xmhf64-*.tar.xz) made a git repo
# (tests/t/xmhf-src.sh: one repo with branches xmhf64 and lhv), a lab whose
# variant has recipe = xmhf64, `labctl build LAB x64` with args "amd64
# fast" running the tree's own tools/ci/build.sh (autogen, configure,
# make).  Slow the first time: the build alone is about 15 s on an idle
# 2-core machine, 45-75 s when other tests run beside it; after that a hit
# of the suite's build cache (build/xmhf-cache/<key>, the same inputs:
# commit, args, variant name, compiler).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/xmhf-src.sh"
xmhf_src_need
xmhf_build_need
xmhf_src_repo

git clone -q --local "$XMHF_REPO" "$T/xmhf64"
rev=$(git -C "$T/xmhf64" rev-parse HEAD)

mkdir -p "$T/labs" "$T/work"
xmhf_src_lab "$T/labs/real.conf" "$T/xmhf64"
export LABCTL_LABS=$T/labs LABCTL_IMAGES=$T/work/images LABCTL_CACHE_DIR=$XMHF_CACHE
unset LABCTL_LAB LABCTL_CACHE_SIZE
cd "$T/work" || exit 1
manifest() { sed -n "s/^$1: //p" "$LABCTL_IMAGES/x64/MANIFEST"; }

t0=$(date +%s)
LABCTL_TIMEOUT=600 run_labctl build real x64
diag "labctl build real x64 (XMHF64 amd64 fast): $(($(date +%s) - t0)) s"
is "$rc" 0 "labctl build of the real XMHF64 amd64 fast: exit 0"
[ "$rc" = 0 ] || diag "$(tail -20 "$LABCTL_IMAGES/.logs/x64.log" 2>/dev/null)"
like "$err" '^x64: (done|cached)' "x64 built (or taken from the suite's cache)"
I=$LABCTL_IMAGES/x64
ok "init.bin, hypervisor.bin.gz, MANIFEST, build.log" \
	test -s "$I/init.bin" -a -s "$I/hypervisor.bin.gz" -a -s "$I/MANIFEST" -a -s "$I/build.log"
is "$(manifest recipe)" xmhf64 "MANIFEST: recipe xmhf64"
is "$(manifest args)" "amd64 fast" "MANIFEST: args"
is "$(manifest source_rev)" "$rev" "MANIFEST: the commit built"
is "$(manifest hypervisor)" xmhf "MANIFEST: it is XMHF (its banner)"
is "$(manifest sha256.init.bin)" "$(sha256sum "$I/init.bin" | cut -d' ' -f1)" \
	"MANIFEST: sha256 of init.bin"
like "$(strings "$I/init.bin" 2>/dev/null || grep -ao 'eXtensible Modular[^%]*' "$I/init.bin")" \
	'eXtensible Modular Hypervisor Framework \(XMHF\)' "init.bin is XMHF's (its banner)"
ok "hypervisor.bin.gz is a gzip of XMHF's runtime" \
	sh -c "gunzip -c '$I/hypervisor.bin.gz' | grep -aq 'Fatal: Halting!'"
ok "build.log has autogen, configure and make" \
	sh -c "grep -q '^+ ./autogen.sh' '$I/build.log' && grep -q '^+ ./configure' '$I/build.log' &&
		grep -q '^+ make' '$I/build.log'"

done_testing
