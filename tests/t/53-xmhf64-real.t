#!/bin/bash
# The real XMHF64 builds through labctl (issue 12.4): the pinned uberxmhf
# xmhf64 snapshot (shared/xmhf/uberxmhf-xmhf64-*.tar.xz) made a git repo,
# a lab whose variant has recipe = xmhf64, `labctl build LAB x64` with
# args "amd64 fast" running the tree's own tools/ci/build.sh (autogen,
# configure, make).  Slow: the build alone is about 15 s on an idle 2-core
# machine, 45-75 s when other tests run beside it.  The unpacked repo is cached in build/xmhf-src/<sha256 of
# the tarball>/ and cloned into the scratch dir for each run.
. "$(dirname "$0")/lib.sh"

for d in "${LABCTL_XMHF_DIR:-}" "$TOP/../shared/xmhf" "$TOP/../../shared/xmhf"; do
	[ -n "$d" ] || continue
	tarball=$(ls "$d"/uberxmhf-xmhf64-*.tar.xz 2>/dev/null | head -1)
	[ -n "$tarball" ] && break
done
[ -n "${tarball:-}" ] || skip_all "no uberxmhf-xmhf64-*.tar.xz (set LABCTL_XMHF_DIR)"
for p in git make gcc autoreconf automake xz; do
	command -v "$p" >/dev/null || skip_all "no $p (scripts/install-deps)"
done
echo 'int x;' | gcc -m32 -x c -c -o /dev/null - 2>/dev/null ||
	skip_all "no gcc -m32 (gcc-multilib)"

sum=$(sha256sum "$tarball" | cut -d' ' -f1)
cache=$TOP/build/xmhf-src/$sum
if [ ! -d "$cache/uberxmhf-xmhf64/.git" ]; then
	mkdir -p "$TOP/build/xmhf-src"
	tmp=$(mktemp -d "$TOP/build/xmhf-src/tmp.XXXXXX")
	at_exit "rm -rf '$tmp'"
	tar -C "$tmp" -xJf "$tarball" &&
		git -C "$tmp/uberxmhf-xmhf64" init -q &&
		git -C "$tmp/uberxmhf-xmhf64" add -A &&
		git -C "$tmp/uberxmhf-xmhf64" -c user.name=labctl \
			-c user.email=t@labctl commit -qm "${tarball##*/}" &&
		{ mv -T "$tmp" "$cache" 2>/dev/null || [ -d "$cache/uberxmhf-xmhf64/.git" ]; } ||
		skip_all "cannot unpack $tarball into $cache"
fi
git clone -q --local "$cache/uberxmhf-xmhf64" "$T/xmhf64"
rev=$(git -C "$T/xmhf64" rev-parse HEAD)

mkdir -p "$T/labs" "$T/work"
cat >"$T/labs/real.conf" <<CONF
[board]
type = qemu

[variant x64]
recipe = xmhf64
src = $T/xmhf64
args = amd64 fast
CONF
export LABCTL_LABS=$T/labs LABCTL_IMAGES=$T/work/images
unset LABCTL_LAB
cd "$T/work" || exit 1
manifest() { sed -n "s/^$1: //p" "$LABCTL_IMAGES/x64/MANIFEST"; }

t0=$(date +%s)
LABCTL_TIMEOUT=600 run_labctl build real x64
diag "labctl build real x64 (XMHF64 amd64 fast): $(($(date +%s) - t0)) s"
is "$rc" 0 "labctl build of the real XMHF64 amd64 fast: exit 0"
[ "$rc" = 0 ] || diag "$(tail -20 "$LABCTL_IMAGES/.logs/x64.log" 2>/dev/null)"
like "$err" '^x64: done ' "x64 built"
I=$LABCTL_IMAGES/x64
ok "init.bin, hypervisor.bin.gz, MANIFEST, build.log" \
	test -s "$I/init.bin" -a -s "$I/hypervisor.bin.gz" -a -s "$I/MANIFEST" -a -s "$I/build.log"
is "$(manifest recipe)" xmhf64 "MANIFEST: recipe xmhf64"
is "$(manifest args)" "amd64 fast" "MANIFEST: args"
is "$(manifest source_rev)" "$rev" "MANIFEST: the commit built"
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
