#!/bin/bash
# labctl build: the default lab's three stand-in variants built in
# parallel, cached on the second run (timed), rebuilt when a source file's
# contents change (in a copy of hypervisor/: the repo's files are never
# touched), a failing build (exit 3, last lines printed, log kept), unknown
# variants and bad options (exit 2), the LAB/VARIANT argument rule, --json,
# the terminal display, and the xmhf64 recipe against a fake XMHF git repo
# whose tools/ci/build.sh writes the two files (the real XMHF64 build is
# not available here and is NOT tested).
. "$(dirname "$0")/lib.sh"

command -v make >/dev/null || skip_all "no make"
command -v gcc >/dev/null || skip_all "no gcc"
echo 'int x;' | gcc -m32 -x c -c -o /dev/null - 2>/dev/null ||
	skip_all "no gcc -m32 (gcc-multilib)"

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
# within NAME VALUE LIMIT: VALUE < LIMIT passes; over it on a machine busier
# than its cores (other tests, other builds) is a skip with the numbers,
# not a failure: a timing says nothing about labctl then.
within() {
	local load ncpu
	if [ "$2" -lt "$3" ]; then pass "$1"; return; fi
	load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
	ncpu=$(nproc 2>/dev/null || echo 1)
	if [ "${load%.*}" -ge "$ncpu" ]; then
		skip "$1: $2 ms, but the load average is $load on $ncpu CPUs"
	else
		fail "$1" "$2 ms, limit $3 ms (load average $load)"
	fi
}
manifest() { sed -n "s/^$2: //p" "$1/MANIFEST"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

# A copy of the stand-in's sources: only the copy is ever changed.
mkdir -p "$T/hv" "$T/work" "$T/labs"
for f in "$TOP"/hypervisor/*; do
	[ -f "$f" ] && cp "$f" "$T/hv/"
done
export LABCTL_HYPERVISOR_DIR=$T/hv
export LABCTL_LABS=$T/labs:$TOP/labs
unset LABCTL_LAB LABCTL_IMAGES
cd "$T/work" || exit 1
IMG=$T/work/images

# ---------------------------------------------------------------- fresh
t0=$(date +%s%N)
run_labctl build -j 3
t_fresh=$(ms_since "$t0")
is "$rc" 0 "fresh build of the default lab: exit 0"
diag "fresh build of 3 variants (-j 3): $t_fresh ms"
for v in build64 build32 build32lhv; do
	like "$err" "^$v: building$" "$v: building line"
	like "$err" "^$v: done [0-9]+\.[0-9]s$" "$v: done line with its time"
	ok "$v: init.bin, hypervisor.bin.gz, MANIFEST, build.log" \
		test -s "$IMG/$v/init.bin" -a -s "$IMG/$v/hypervisor.bin.gz" \
		-a -s "$IMG/$v/MANIFEST" -a -s "$IMG/$v/build.log"
	is "$(manifest "$IMG/$v" sha256.init.bin)" "$(sha "$IMG/$v/init.bin")" \
		"$v: MANIFEST sha256 of init.bin is right"
	is "$(manifest "$IMG/$v" sha256.hypervisor.bin.gz)" \
		"$(sha "$IMG/$v/hypervisor.bin.gz")" \
		"$v: MANIFEST sha256 of hypervisor.bin.gz is right"
	is "$(manifest "$IMG/$v" variant)" "$v" "$v: MANIFEST variant"
done
# In parallel: every variant was building before the first finished.
first_done=$(printf '%s\n' "$err" | grep -n ': done ' | head -1 | cut -d: -f1)
last_building=$(printf '%s\n' "$err" | grep -n ': building$' | tail -1 | cut -d: -f1)
ok "all three building at once (last 'building' line $last_building before first 'done' $first_done)" \
	test "${last_building:-99}" -lt "${first_done:-0}"
is "$(manifest "$IMG/build64" arch)" amd64 "build64: arch amd64"
is "$(manifest "$IMG/build32" arch)" i386 "build32: arch i386"
is "$(manifest "$IMG/build64" recipe)" standin "recipe standin"
like "$(manifest "$IMG/build64" compiler)" '^gcc ' "MANIFEST: compiler version"
like "$(manifest "$IMG/build64" inputs)" '^[0-9a-f]{64}$' "MANIFEST: inputs hash"
like "$(manifest "$IMG/build64" revision)" '^tree-[0-9a-f]{12}$' "MANIFEST: revision"
is "$(manifest "$IMG/build64" source)" "$T/hv" "MANIFEST: the sources built"
like "$(head -c 40 "$IMG/build64/hypervisor.bin.gz" | od -An -tx1 | head -1)" \
	'^ 1f 8b' "hypervisor.bin.gz is gzip"
is "$(ls -A "$IMG" | grep -c 'tmp-')" 0 "no temporary directories left"

# ---------------------------------------------------------------- cached
# Timed directly (no run_labctl overhead); best of 5, as other tests may
# be loading the machine (prove -j2).
t_best=999999
t_all=
for i in 1 2 3 4 5; do
	t0=$(date +%s%N)
	"$LABCTL" build >"$T/cached.out" 2>"$T/cached.err"
	rc=$?
	t=$(ms_since "$t0")
	t_all="$t_all $t"
	[ "$t" -lt "$t_best" ] && t_best=$t
done
is "$rc" 0 "second run: exit 0"
# (in the order they finish, which varies)
is "$(grep -v '^labctl: ' "$T/cached.err" | sort | tr '\n' ' ')" \
	"build32: cached build32lhv: cached build64: cached " \
	"second run: all three cached"
diag "cached run of 3 variants (whole labctl process, ms):$t_all"
within "cached run under 50 ms (best $t_best ms)" "$t_best" 50

run_labctl --json build
is "$rc" 0 "--json: exit 0"
if command -v python3 >/dev/null; then
	is "$(printf '%s' "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["lab"], d["ok"], " ".join(v["name"] + "=" + v["state"] for v in d["variants"]))
for v in d["variants"]:
    assert v["elapsed_ms"] >= 0 and v["log"].endswith("/build.log"), v
    assert len(v["sha256"]["init.bin"]) == 64, v
print(d["variants"][0]["sha256"]["init.bin"])
print(d["variants"][0]["dir"])')" \
		"qemu True build64=cached build32=cached build32lhv=cached
$(sha "$IMG/build64/init.bin")
images/build64" "--json: names, states, sha256s, log paths"
else
	skip "no python3 for the JSON check"
fi

# ---------------------------------------------------------------- changes
touch "$T/hv/main.c"
run_labctl build
like "$err" '^build64: cached$' "touch alone: cached (contents, not times)"
old_sha=$(sha "$IMG/build64/init.bin")
echo '/* a change */' >>"$T/hv/main.c"
run_labctl build
is "$rc" 0 "changed source: exit 0"
for v in build64 build32 build32lhv; do
	like "$err" "^$v: done " "changed source: $v rebuilt"
done
ok "the repo's own hypervisor/ was not touched" \
	cmp -s "$TOP/hypervisor/main.c" <(head -n -1 "$T/hv/main.c")
run_labctl build build32 --force
like "$err" '^build32: done ' "--force rebuilds"
unlike "$err" 'build64' "only the named variant"

# ---------------------------------------------------------------- arguments
run_labctl build qemu build64
is "$rc" 0 "LAB VARIANT: exit 0"
is "$(printf '%s\n' "$err" | grep -c ': cached$')" 1 "LAB VARIANT: one variant"
run_labctl --lab qemu build build64 build32
is "$(printf '%s\n' "$err" | grep -c ': cached$')" 2 "--lab: all words are variants"
run_labctl build build64 build64
is "$(printf '%s\n' "$err" | grep -c ': cached$')" 1 "a variant named twice builds once"

run_labctl build nosuch
is "$rc" 2 "unknown variant: exit 2"
like "$err" "unknown variant 'nosuch'" "unknown variant: named"
like "$err" 'known: build64, build32, build32lhv' "unknown variant: known ones listed"
run_labctl build qemu build64 nosuch2
is "$rc" 2 "unknown variant after a lab: exit 2"
like "$err" "unknown variant 'nosuch2' in lab qemu" "unknown variant after a lab: named"
run_labctl --lab qemu build qemu
is "$rc" 2 "--lab: a lab name as a variant is an unknown variant"
run_labctl build -j 0
is "$rc" 2 "-j 0: exit 2"
run_labctl build -j
is "$rc" 2 "-j without a number: exit 2"
run_labctl build --bogus
is "$rc" 2 "unknown option: exit 2"
like "$err" 'usage: labctl build \[LAB\] \[VARIANT\.\.\.\] \[-j N\] \[--force\]' \
	"usage line"

# ---------------------------------------------------------------- failure
cp -r "$T/hv" "$T/hvbad"
echo 'this is not C;' >>"$T/hvbad/smp.c"
good_sha=$(sha "$IMG/build32/init.bin")
LABCTL_HYPERVISOR_DIR=$T/hvbad run_labctl build build32
is "$rc" 3 "failing build: exit 3"
like "$err" '^build32: failed [0-9.]+s \(log images/\.logs/build32\.log\)$' \
	"failing build: failed line names the log"
like "$err" '^build32: last lines of images/\.logs/build32\.log:$' \
	"failing build: last lines printed"
like "$err" 'smp\.c:[0-9]+:[0-9]+: error' "failing build: the compiler's error is among them"
like "$err" '^labctl: build failed: build32 \(log images/\.logs/build32\.log\)$' \
	"failing build: summary"
ok "failing build: the full log is kept" grep -q '^\$ make -C ' "$IMG/.logs/build32.log"
ok "failing build: log has the error too" grep -q 'smp\.c:.*error' "$IMG/.logs/build32.log"
is "$(sha "$IMG/build32/init.bin")" "$good_sha" "failing build: the old image stays"
is "$(ls -A "$IMG" | grep -c 'tmp-')" 0 "failing build: no temporary directory left"
LABCTL_HYPERVISOR_DIR=$T/hvbad run_labctl --json build build32 build64
is "$rc" 3 "--json with a failure: exit 3"
like "$out" '"name":"build32","recipe":"standin","state":"failed"' \
	"--json: failed state"
like "$out" '"error":"make exited with status 2"' "--json: the reason"

# ---------------------------------------------------------------- terminal
if command -v script >/dev/null; then
	TERM=xterm script -qec "$LABCTL build --force build64 build32" \
		"$T/tty.txt" >/dev/null 2>&1 </dev/null
	ok "terminal: lines redrawn with cursor-up" grep -q $'\e\\[2A' "$T/tty.txt"
	ok "terminal: a line shows building" grep -q 'building' "$T/tty.txt"
	ok "terminal: and done" grep -qE 'build32 +done +[0-9.]+s' "$T/tty.txt"
else
	skip "no script(1) for a terminal"
fi

# ---------------------------------------------------------------- two at once
"$LABCTL" build --force build64 >/dev/null 2>"$T/a.err" &
pa=$!
"$LABCTL" build --force build64 >/dev/null 2>"$T/b.err"
rb=$?
wait $pa
ra=$?
is "$ra$rb" 00 "two labctl builds of one variant at once both succeed"
is "$(manifest "$IMG/build64" sha256.init.bin)" "$(sha "$IMG/build64/init.bin")" \
	"and leave a consistent image"

# ---------------------------------------------------------------- xmhf64
if command -v git >/dev/null; then
	X=$T/home/xmhf
	mkdir -p "$X/tools/ci"
	cat >"$X/tools/ci/build.sh" <<-'EOF'
	#!/bin/sh
	# Fake XMHF64 tools/ci/build.sh: outputs at the tree root.
	echo "build.sh $*"
	arch=$1
	for a in "$@"; do
		if [ "$a" = fail ]; then
			i=1
			while [ $i -le 40 ]; do echo "compile step $i"; i=$((i + 1)); done
			echo "error: fake failure in $PWD" >&2
			exit 1
		fi
	done
	sleep 0.3
	{ printf 'init %s\n' "$*"; cat VERSION; [ -f extra.txt ] && cat extra.txt; } \
		>"init-x86-$arch.bin"
	printf 'hv %s\n' "$*" | gzip -n >"hypervisor-x86-$arch.bin.gz"
	EOF
	chmod +x "$X/tools/ci/build.sh"
	printf '*.bin\n*.bin.gz\n' >"$X/.gitignore"
	echo v1 >"$X/VERSION"
	git -C "$X" init -q
	git -C "$X" add -A
	git -C "$X" -c user.name=t -c user.email=t@t commit -qm one
	cat >"$T/labs/fake.conf" <<-'EOF'
	[board]
	type = qemu

	[variant x64]
	recipe = xmhf64
	src = ~/xmhf
	args = amd64 fast circleci O3

	[variant xlhv]
	recipe = xmhf64
	src = ~/xmhf
	args = amd64  --lhv-opt 0x5fc

	[variant xfail]
	recipe = xmhf64
	src = ~/xmhf
	args = amd64 fail
	EOF
	export HOME=$T/home
	rev1=$(git -C "$X" rev-parse HEAD)

	run_labctl build fake x64 xlhv
	is "$rc" 0 "xmhf64: exit 0"
	like "$err" '^x64: done ' "xmhf64: x64 built"
	like "$err" '^xlhv: done ' "xmhf64: xlhv built"
	first_done=$(printf '%s\n' "$err" | grep -n ': done ' | head -1 | cut -d: -f1)
	last_building=$(printf '%s\n' "$err" | grep -n ': building$' | tail -1 | cut -d: -f1)
	ok "xmhf64: both building at once" test "${last_building:-99}" -lt "${first_done:-0}"
	is "$(head -1 "$IMG/x64/init.bin")" "init amd64 fast circleci O3" \
		"xmhf64: init-x86-amd64.bin collected as init.bin"
	is "$(gunzip -c "$IMG/xlhv/hypervisor.bin.gz")" "hv amd64 --lhv-opt 0x5fc" \
		"xmhf64: hypervisor-x86-amd64.bin.gz collected (args split at blanks)"
	is "$(manifest "$IMG/x64" recipe)" xmhf64 "xmhf64: MANIFEST recipe"
	is "$(manifest "$IMG/x64" src)" "$X" "xmhf64: MANIFEST src, ~ expanded"
	is "$(manifest "$IMG/xlhv" args)" "amd64 --lhv-opt 0x5fc" "xmhf64: MANIFEST args"
	is "$(manifest "$IMG/x64" source_rev)" "$rev1" "xmhf64: MANIFEST source_rev"
	is "$(manifest "$IMG/x64" source_dirty)" none "xmhf64: clean tree"
	is "$(manifest "$IMG/x64" revision)" "$rev1" "xmhf64: revision"
	ok "xmhf64: one worktree per variant" \
		test -f "$IMG/.worktrees/x64/.git" -a -f "$IMG/.worktrees/xlhv/.git"
	ok "xmhf64: the source tree has no build outputs" \
		test ! -e "$X/init-x86-amd64.bin"
	run_labctl build fake x64 xlhv
	is "$(printf '%s\n' "$err" | grep -c ': cached$')" 2 "xmhf64: second run cached"

	echo v2 >"$X/VERSION"
	run_labctl build fake x64
	like "$err" '^x64: done ' "xmhf64: uncommitted change rebuilds"
	is "$(sed -n 2p "$IMG/x64/init.bin")" v2 "xmhf64: the change was applied in the worktree"
	like "$(manifest "$IMG/x64" source_dirty)" '^[0-9a-f]{64}$' "xmhf64: source_dirty hash"
	like "$(manifest "$IMG/x64" revision)" "^$rev1\+dirty-[0-9a-f]{12}\$" \
		"xmhf64: revision says dirty"
	is "$(git -C "$X" status --porcelain)" " M VERSION" "xmhf64: the source tree is untouched"
	echo extra >"$X/extra.txt"
	run_labctl build fake x64
	like "$err" '^x64: done ' "xmhf64: an untracked file rebuilds"
	is "$(sed -n 3p "$IMG/x64/init.bin")" extra "xmhf64: untracked file copied"
	rm "$X/extra.txt"
	git -C "$X" -c user.name=t -c user.email=t@t commit -qam two
	run_labctl build fake x64
	like "$err" '^x64: done ' "xmhf64: a new commit rebuilds (worktree reused)"
	is "$(manifest "$IMG/x64" source_rev)" "$(git -C "$X" rev-parse HEAD)" \
		"xmhf64: new source_rev"
	is "$(manifest "$IMG/x64" source_dirty)" none "xmhf64: clean again"
	is "$(sed -n 3p "$IMG/x64/init.bin")" "" "xmhf64: the untracked copy is gone from the worktree"

	run_labctl build fake xfail
	is "$rc" 3 "xmhf64 failing build.sh: exit 3"
	like "$err" '^xfail: failed: \./tools/ci/build\.sh exited with status 1$' \
		"xmhf64 failing: reason"
	like "$err" 'error: fake failure in .*/\.worktrees/xfail' \
		"xmhf64 failing: last lines printed (ran in its worktree)"
	like "$err" 'compile step 40' "xmhf64 failing: the very last lines"
	unlike "$err" 'compile step 10$' "xmhf64 failing: only the last lines"
	ok "xmhf64 failing: the full log is kept" \
		grep -q '^compile step 1$' "$IMG/.logs/xfail.log"
	ok "xmhf64 failing: no image" test ! -e "$IMG/xfail"

	# Run from inside the source tree: images/ is then untracked there,
	# and must not count as an uncommitted change (or nothing is cached).
	(cd "$X" && "$LABCTL" build fake x64 >/dev/null 2>&1)
	is "$(cd "$X" && "$LABCTL" build fake x64 2>&1 | head -1)" "x64: cached" \
		"xmhf64: images/ inside the source tree is not an input"
	rm -rf "$X/images"

	mkdir -p "$T/home/notgit"
	cat >"$T/labs/notgit.conf" <<-'EOF'
	[board]
	type = qemu
	[variant ng]
	recipe = xmhf64
	src = ~/notgit
	args = amd64
	EOF
	run_labctl build notgit
	is "$rc" 3 "xmhf64 src that is neither a git checkout nor an XMHF tree: exit 3"
	like "$err" 'no tools/ci/build.sh: not an XMHF64 tree' "xmhf64 not an XMHF tree: says so"
	sed -i 's|~/notgit|~/missing|' "$T/labs/notgit.conf"
	run_labctl build notgit
	is "$rc" 2 "xmhf64 src missing: exit 2"
	like "$err" "src ~/missing \\($T/home/missing\\) is not a directory" \
		"xmhf64 src missing: names both paths"
else
	skip "no git: xmhf64 recipe not tested"
fi

done_testing
