#!/bin/bash
# The real sources the way users have them (issue 15.2, 15.5), built
# through `labctl build` from the pinned tarballs (tests/t/xmhf-src.sh):
#   - XMHF64 (amd64 fast) and LHV (amd64 --lhv-opt 0x1fc, rev = lhv) from
#     one clone, as from one ~/uberxmhf;
#   - a second build, and a revert after an edit, are cache hits;
#   - an unpacked tarball (a plain directory, no git) builds, untouched;
#   - LHV built without --lhv-opt is judged by the lhv set, and XMHF as the
#     last stage of an xmhf run can pass (its guest's GRUB comes up).
# The builds go to the suite's cache (build/xmhf-cache/<key of the
# tarballs>): slow the first time (XMHF about 22 s, LHV about 11 s each on
# 2 idle cores; 3 LHV builds and one XMHF), seconds after that.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/xmhf-src.sh"
xmhf_src_need
xmhf_build_need
xmhf_src_repo

# A user's clone: xmhf64 checked out, lhv only as origin/lhv.
git clone -q --local "$XMHF_REPO" "$T/uberxmhf"
mkdir -p "$T/labs" "$T/work"
xmhf_src_lab "$T/labs/real.conf" "$T/uberxmhf"
export LABCTL_LABS=$T/labs LABCTL_IMAGES=$T/work/images LABCTL_CACHE_DIR=$XMHF_CACHE
unset LABCTL_LAB LABCTL_CACHE_SIZE
cd "$T/work" || exit 1
I=$LABCTL_IMAGES
mf() { sed -n "s/^$2: //p" "$I/$1/MANIFEST"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
ms() { date +%s%3N; }

# ---------------------------------------------------------------- one clone
t0=$(ms)
LABCTL_TIMEOUT=900 run_labctl build real
diag "labctl build real (x64, lhv): $(( $(ms) - t0 )) ms"
is "$rc" 0 "XMHF and LHV from one clone: exit 0" ||
	diag "$err" "$(tail -20 "$I/.logs/lhv.log" 2>/dev/null)"
like "$err" '^x64: (done|cached)' "x64 built (or from the suite's cache)"
like "$err" '^lhv: (done|cached)' "lhv built (or from the suite's cache)"
is "$(mf lhv rev)" lhv "lhv MANIFEST: rev lhv"
is "$(mf lhv source_rev)" "$(git -C "$T/uberxmhf" rev-parse origin/lhv)" \
	"lhv MANIFEST: the lhv branch's commit (origin/lhv of a fresh clone)"
is "$(mf x64 source_rev)" "$(git -C "$T/uberxmhf" rev-parse HEAD)" \
	"x64 MANIFEST: the checked-out xmhf64 commit"
is "$(mf lhv hypervisor) $(mf lhv hypervisor_from)" "lhv banner" "lhv MANIFEST: LHV, by its banner"
is "$(mf x64 hypervisor) $(mf x64 hypervisor_from)" "xmhf banner" "x64 MANIFEST: XMHF, by its banner"
ok "lhv's init.bin is LHV's" grep -aq 'Lightweight Hypervisor (LHV)' "$I/lhv/init.bin"
is "$(git -C "$T/uberxmhf" branch --show-current) $(git -C "$T/uberxmhf" status --porcelain | wc -l)" \
	"xmhf64 0" "the clone's checkout is untouched (xmhf64, clean)"

t0=$(ms)
run_labctl build real
t_hit=$(( $(ms) - t0 ))
diag "second build (both cached): $t_hit ms"
is "$rc" 0 "second build: exit 0"
is "$(printf '%s\n' "$err" | grep -c ': cached$')" 2 "second build: both cached"

# ---------------------------------------------------------------- revert
# A clone with lhv checked out is the same build (the same commit, args
# and name): cached.  An edit rebuilds; reverting it is a cache hit.
git clone -q --local -b lhv "$XMHF_REPO" "$T/lhvclone"
cat >"$T/labs/lhvwt.conf" <<CONF
[variant lhv]
recipe = xmhf64
src = $T/lhvclone
args = amd64 --lhv-opt 0x1fc
CONF
sha0=$(sha "$I/lhv/init.bin")
run_labctl build lhvwt lhv
is "$rc $(printf '%s\n' "$err" | head -1)" "0 lhv: cached" \
	"lhv checked out in another clone: the same build, cached"
INIT_C=$T/lhvclone/xmhf/src/xmhf-core/xmhf-bootloader/init.c
sed -i 's/Lightweight Hypervisor (LHV) %s/Lightweight Hypervisor (LHV) edited %s/' "$INIT_C"
t0=$(ms)
LABCTL_TIMEOUT=900 run_labctl build lhvwt lhv
diag "build after the edit: $(( $(ms) - t0 )) ms"
is "$rc" 0 "edited LHV: exit 0" || diag "$err"
ok "edited LHV: its init.bin has the edit" grep -aq 'Lightweight Hypervisor (LHV) edited' "$I/lhv/init.bin"
like "$(mf lhv revision)" '\+dirty-[0-9a-f]{12}$' "edited LHV: MANIFEST revision says dirty"
git -C "$T/lhvclone" checkout -q -- "$INIT_C"
log_before=$(sha "$I/.logs/lhv.log" 2>/dev/null)
t0=$(ms)
run_labctl build lhvwt lhv
t_rev=$(( $(ms) - t0 ))
diag "build after the revert: $t_rev ms"
is "$rc $(printf '%s\n' "$err" | head -1)" "0 lhv: cached" "revert: a cache hit, not a rebuild"
is "$(sha "$I/lhv/init.bin")" "$sha0" "revert: images/lhv is the first build again"
is "$(sha "$I/.logs/lhv.log" 2>/dev/null)" "$log_before" "revert: no build ran (its log is untouched)"
ok "revert: under 10 s ($t_rev ms; a rebuild is 11-45 s)" test "$t_rev" -lt 10000

# ---------------------------------------------------------------- tarball
# The LHV tarball as unpacked (no git), built without --lhv-opt.
cat >"$T/labs/plain.conf" <<CONF
[variant plainlhv]
recipe = xmhf64
src = $XMHF_PLAIN_LHV
args = amd64
CONF
touch "$T/marker"
sleep 0.01
t0=$(ms)
LABCTL_TIMEOUT=900 run_labctl build plain
diag "build from the unpacked tarball: $(( $(ms) - t0 )) ms"
is "$rc" 0 "the unpacked LHV tarball (a plain directory) builds: exit 0" ||
	diag "$err" "$(tail -20 "$I/.logs/plainlhv.log" 2>/dev/null)"
is "$(mf plainlhv src_kind)" tree "plain MANIFEST: src_kind tree"
like "$(mf plainlhv source_rev)" '^tree-[0-9a-f]{64}$' "plain MANIFEST: a snapshot of its contents"
is "$(mf plainlhv hypervisor)" lhv "plain MANIFEST: LHV without --lhv-opt is LHV (its banner)"
is "$(find "$XMHF_PLAIN_LHV" -newer "$T/marker" | wc -l)" 0 \
	"the unpacked tree is untouched (built in a private copy)"
run_labctl build plain
is "$rc $(printf '%s\n' "$err" | head -1)" "0 plainlhv: cached" \
	"plain directory, unchanged: cached"

# ---------------------------------------------------------------- verdicts
LIBCORE=${LABCTL_LIBCORE:-$TOP/build/default/libcore.a}
ok "compile the rules driver" \
	cc -std=c11 -D_GNU_SOURCE -I"$TOP" -o "$T/drv" "$TOP/tests/t/rules-driver.c" \
	"$LIBCORE" $LIBCORE_LIBS -fsanitize=address,undefined
cat >"$T/labs/judge.conf" <<CONF
[board]
smp = 2
[watch]
rules = xmhf
[variant x64]
recipe = xmhf64
src = $T/uberxmhf
args = amd64 fast
[variant plainlhv]
recipe = xmhf64
src = $XMHF_PLAIN_LHV
args = amd64
CONF
xmhf_log() {
	printf '%s\n' "  Booting \`XMHF-x64'" '' \
		'eXtensible Modular Hypervisor Framework (XMHF) v6.1.0' \
		'CPU(0x00): Entered VMX root operation' 'CPU(0x01): Entered VMX root operation' \
		'xmhf_runtime_main[00]: starting partition...' \
		'xmhf_runtime_main[01]: starting partition...' \
		'GNU GRUB  version 2.06-13+deb12u1' "  Booting \`XMHF-plainlhv'" ''
}
{
	xmhf_log
	printf '%s\n' 'Lightweight Hypervisor (LHV) v6.1.0' 'LHV_OPT = 0x0000000000000000'
	for i in $(seq 0 25); do
		printf 'CPU(0x00): LHV in XMHF test iter %d\nCPU(0x01): LHV in XMHF test iter %d\n' "$i" "$i"
	done
} >"$T/nested.log"
out=$("$T/drv" -l "$T/labs/judge.conf" x64,plainlhv <"$T/nested.log" 2>&1)
like "$out" '^pass	CPU\(0x01\): LHV in XMHF test iter 20	all 2 CPUs printed more than 20 iteration lines' \
	"LHV built without --lhv-opt is judged by the lhv set (its banner, its iterations)" || diag "$out"
out=$("$T/drv" -l "$T/labs/judge.conf" x64 <"$T/nested.log" 2>&1)
like "$out" '^pass	GNU GRUB  version 2.06-13\+deb12u1	stage 1 \(x64\): pass pattern matched	8	0$' \
	"[watch] rules = xmhf, XMHF as the last stage: passes when its guest's GRUB comes up" || diag "$out"
# Without rule keys (the standin run set, whose iteration lines real XMHF
# never prints) a last XMHF stage passes the same way.
sed '/^\[watch\]/,/^rules = xmhf/d' "$T/labs/judge.conf" >"$T/labs/judge2.conf"
out=$("$T/drv" -l "$T/labs/judge2.conf" x64 <"$T/nested.log" 2>&1)
like "$out" '^pass	GNU GRUB  version 2.06-13\+deb12u1	stage 1 \(x64\): pass pattern matched	8	0$' \
	"default rule sets, XMHF as the last stage: passes when its guest's GRUB comes up" || diag "$out"
out=$("$T/drv" -l "$T/labs/judge2.conf" x64,plainlhv <"$T/nested.log" 2>&1)
like "$out" '^pass	CPU\(0x01\): LHV in XMHF test iter 20	' \
	"default rule sets, XMHF -> LHV: GRUB under XMHF does not pass it, LHV's iterations do" || diag "$out"
xmhf_log | sed -n '1,6p' >"$T/halted.log"
echo 'CPU(0x00): No support for Nested Paging, HALTING!' >>"$T/halted.log"
out=$("$T/drv" -l "$T/labs/judge.conf" x64 <"$T/halted.log" 2>&1)
like "$out" '^fail	CPU\(0x00\): No support for Nested Paging, HALTING!	stage 1 \(x64\): the CPU has no nested paging' \
	"XMHF as the last stage still fails on its halt lines" || diag "$out"

done_testing
