#!/bin/bash
# labctl bisect: git bisect run over a small git repository of the stand-in
# hypervisor, with labctl as the test, on a QEMU board.  One commit makes
# the stand-in hang (the first bad commit, checked exactly), one breaks the
# build and the next one breaks the lab (QEMU does not start): both must be
# skips, not bads.  Every step that ran the board leaves a normal result
# naming its commit; the repository is never left in bisect state, also
# after SIGINT in the middle of a step.
. "$(dirname "$0")/lib.sh"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 missing"
command -v git >/dev/null || skip_all "git missing"
[ -d /usr/lib/grub/i386-pc ] || skip_all "grub-pc-bin missing"

export LABCTL_STATE_DIR=$T/state LABCTL_IMAGES=$T/images LABCTL_LABS=$T/labs
export LABCTL_LOCK_DIR=$T/locks
export GIT_AUTHOR_NAME=labctl-test GIT_AUTHOR_EMAIL=test@example.org
export GIT_COMMITTER_NAME=labctl-test GIT_COMMITTER_EMAIL=test@example.org
export GIT_CONFIG_NOSYSTEM=1 HOME=$T
mkdir -p "$T/labs" "$T/state" "$T/bin"
cd "$T" || exit 1
LABCTL_TIMEOUT=120
at_exit "pkill -KILL -f -- '[q]emu-system-x86_64 .*$T/state' || true"
qemus() { pgrep -f -- "[q]emu-system-x86_64 .*$T/state" | wc -l; }
json_get() {	# json_get FILE PERL-EXPR
	perl -MJSON::PP -e 'local $/; open my $f, "<", $ARGV[0] or die; my $j = decode_json(<$f>); print eval $ARGV[1]' "$1" "$2"
}

# The lab: a two-stage chain, a short silence timeout so a hang is quick
# (8 s: GRUB reading the images under load can be quiet for 3 s and more).
cat >"$T/labs/bq.conf" <<'EOF'
[board]
type = qemu
[watch]
silence_timeout = 8s
timeout = 40s
[variant hv]
arch = amd64
[variant lhv]
arch = i386
options = 0x400
EOF

# The lab's QEMU, broken while the checked-out commit has a file INFRA
# (an infrastructure error that has nothing to do with the code).
real_qemu=$(command -v qemu-system-x86_64)
cat >"$T/bin/qemu-system-x86_64" <<EOF
#!/bin/sh
if [ -n "\${LABCTL_BISECT_REPO:-}" ] && [ -e "\$LABCTL_BISECT_REPO/INFRA" ]; then
	echo "qemu-system-x86_64: the lab's QEMU is broken today" >&2
	exit 1
fi
exec "$real_qemu" "\$@"
EOF
chmod +x "$T/bin/qemu-system-x86_64"
export PATH=$T/bin:$PATH

# The repository: the stand-in in hv/ (as in labctl's own tree), then
# commits with fixed dates (so git picks the same steps every time).
repo=$T/repo
mkdir -p "$repo/hv"
cp "$TOP"/hypervisor/Makefile "$TOP"/hypervisor/*.[chS] "$TOP"/hypervisor/*.ld "$repo/hv/"
# XMHF64's tools/ci/build.sh, faked: builds the stand-in in hv/ and leaves
# its outputs at the tree root as XMHF's does (for the xmhf64 recipe).
mkdir -p "$repo/tools/ci"
cat >"$repo/tools/ci/build.sh" <<'EOF'
#!/bin/sh
set -e
arch=$1; opt=0x0
[ "${2:-}" = lhv ] && opt=0x400
make -s -C hv ARCH="$arch" HV_OPT="$opt" VARIANT=xmhf OUT="$PWD/out" OBJDIR="$PWD/out/obj"
mv out/init.bin "init-x86-$arch.bin"
mv out/hypervisor.bin.gz "hypervisor-x86-$arch.bin.gz"
EOF
chmod +x "$repo/tools/ci/build.sh"
git -C "$repo" init -q -b main
day=0
commit() {
	day=$((day + 1))
	git -C "$repo" add -A
	GIT_AUTHOR_DATE="2024-03-0${day}T12:00:00Z" GIT_COMMITTER_DATE="2024-03-0${day}T12:00:00Z" \
		git -C "$repo" commit -q -m "$1"
	git -C "$repo" rev-parse HEAD
}
c0=$(commit "the stand-in as it was")
echo '/* 1 */' >>"$repo/hv/uart.c"
c1=$(commit "uart: a comment")
echo '/* 2 */' >>"$repo/hv/timer.c"
c2=$(commit "timer: a comment")
echo 'int broken(void) { return }' >>"$repo/hv/string.c"
c3=$(commit "string: break the build")
sed -i '$d' "$repo/hv/string.c"
echo "the lab's QEMU does not start with this commit" >"$repo/INFRA"
c4=$(commit "string: fix the build (the lab breaks meanwhile)")
rm "$repo/INFRA"
echo '/* 5 */' >>"$repo/hv/uart.c"
c5=$(commit "uart: the lab works again")
perl -0pi -e 's/(\trequested = cfg\.opt;\n)/\tcfg.opt |= HV_OPT_HANG;\n$1/' "$repo/hv/main.c"
grep -q 'cfg.opt |= HV_OPT_HANG' "$repo/hv/main.c" || fail "the hang was put into main.c"
c6=$(commit "main: hang after the banner")
echo '/* 7 */' >>"$repo/hv/timer.c"
c7=$(commit "timer: one more comment")
not_bisecting() { ! git -C "$repo" bisect log >/dev/null 2>&1; }
on_main() { [ "$(git -C "$repo" symbolic-ref -q HEAD)" = refs/heads/main ] &&
	[ "$(git -C "$repo" rev-parse HEAD)" = "$c7" ] &&
	[ -z "$(git -C "$repo" status --porcelain)" ]; }

# --- the bisect: the stand-in's sources default to LABCTL_HYPERVISOR_DIR
export LABCTL_HYPERVISOR_DIR=$repo/hv
t0=$(date +%s.%N)
run_labctl bisect bq --good "$c0" --bad main --json -- hv lhv
t1=$(date +%s.%N)
is "$rc" 0 "bisect: exit 0 (found the first bad commit)" || diag "$err"
printf '%s' "$out" >"$T/bisect.json"
is "$(json_get "$T/bisect.json" '$j->{first_bad}{commit}')" "$c6" "the first bad commit is the one that hangs"
is "$(json_get "$T/bisect.json" '$j->{first_bad}{subject}')" "main: hang after the banner" "with its subject"
is "$(json_get "$T/bisect.json" '$j->{first_bad}{verdict}')" fail "its result's verdict is fail"
like "$(json_get "$T/bisect.json" '$j->{first_bad}{reason}')" 'no console output for 8\.0 s' "its reason is the hang"
first_result=$(json_get "$T/bisect.json" '$j->{first_bad}{result}')
ok "its result exists" test -s "$first_result" -a -s "$first_result.json"
like "$(cat "$first_result")" 'variant=hv ' "the result is that run's console log"
is "$(json_get "$T/bisect.json" 'join " ", map { substr($_->{commit}, 0, 7) . ":" . $_->{outcome} } @{$j->{steps}}')" \
	"${c3:0:7}:skip ${c4:0:7}:skip ${c2:0:7}:good ${c5:0:7}:good ${c6:0:7}:bad" \
	"steps: the build failure and the broken lab are skips, then good, good, bad"
like "$(json_get "$T/bisect.json" '$j->{steps}[0]{reason}')" '^build failed: hv' "the build failure is the reason of its skip"
like "$(json_get "$T/bisect.json" '$j->{steps}[1]{reason}')" "QEMU exited with status 1.*the lab's QEMU is broken today" \
	"the infrastructure error is the reason of its skip"
is "$(json_get "$T/bisect.json" '$j->{skipped}')" 2 "two steps skipped"
blog=$(json_get "$T/bisect.json" '$j->{bisect_log}')
like "$blog" "git bisect skip $c3" "git bisect log: the build failure was a skip"
like "$blog" "git bisect skip $c4" "git bisect log: the infrastructure error was a skip"
unlike "$blog" "git bisect bad ($c3|$c4)" "git bisect log: neither was a bad"
like "$blog" "# first bad commit: \\[$c6\\]" "git bisect log: git agrees on the first bad commit"
# Every step that ran the board left a normal result naming its commit.
n=0
for i in 2 3 4; do
	r=$(json_get "$T/bisect.json" "\$j->{steps}[$i]{result}")
	c=$(json_get "$T/bisect.json" "\$j->{steps}[$i]{commit}")
	if [ -s "$r" ] && [ -s "$r.json" ] && [ -s "$r.lines" ] &&
	   [ "$(json_get "$r.json" '$j->{bisect}{commit}')" = "$c" ] &&
	   [ "$(json_get "$r.json" '$j->{lab}')" = bq ]; then
		n=$((n + 1))
	else
		diag "step $i: result '$r' for $c"
	fi
done
is "$n" 3 "every run step left results/<ts>, .lines and .json with bisect.commit"
is "$(ls results | grep -cE '^[0-9]{14}(-[0-9]+)?$')" 3 "no other results"
is "$(json_get "$first_result.json" '$j->{bisect}{outcome}')" bad "the result's JSON says how the step counted"
ok "the repository is not in bisect state afterwards" not_bisecting
ok "HEAD is back on main, the tree clean" on_main
is "$(qemus)" 0 "no QEMU left running"
diag "bisect: 5 steps over 7 commits in $(echo "$t1 - $t0" | bc) s"

# --- only skips between good and bad: nothing is blamed, the candidates
# are listed, exit 3.
run_labctl bisect bq --good "$c2" --bad "$c5" --json -- hv lhv
is "$rc" 3 "only skips left: exit 3"
like "$err" 'only skipped commits are left' "only skips left: says so"
printf '%s' "$out" >"$T/skips.json"
is "$(json_get "$T/skips.json" 'defined $j->{first_bad} ? "blamed" : "none"')" none "only skips left: no first bad commit"
is "$(json_get "$T/skips.json" 'join " ", sort map { substr($_->{commit}, 0, 7) } @{$j->{candidates}}')" \
	"$(printf '%s\n' "${c3:0:7}" "${c4:0:7}" "${c5:0:7}" | sort | tr '\n' ' ' | sed 's/ $//')" \
	"only skips left: the candidates are the skipped commits and --bad"
ok "only skips left: not in bisect state afterwards" not_bisecting

# --- the xmhf64 recipe: the history is the variants' src (git worktrees
# at the checked-out commit), and each result's variants[].source_rev is
# the step's commit.  The text report names the first bad commit.
cat >"$T/labs/bx.conf" <<EOF
[board]
type = qemu
[watch]
silence_timeout = 8s
timeout = 40s
[variant xlhv]
recipe = xmhf64
src = $repo
args = i386 lhv
banner = Stand-in Hypervisor \\(labctl\\) variant=xmhf
EOF
run_labctl bisect bx --good "$c4" --bad "$c7" --results "$T/rx" -- xlhv
is "$rc" 0 "xmhf64: exit 0" || diag "$out" "$err"
like "$out" "first bad commit: $c6 main: hang after the banner" "text: the first bad commit, hash and subject"
like "$out" "result $T/rx/[0-9]{14}(-[0-9]+)?: fail: stage 1 \\(xlhv\\): no console output" "text: its result and reason"
like "$out" "bisect step: ${c5:0:12} uart: the lab works again -> good" "text: each step is reported"
n=0
for j in "$T"/rx/*.json; do
	[ "$(json_get "$j" '$j->{variants}[0]{source_rev}')" = "$(json_get "$j" '$j->{bisect}{commit}')" ] && n=$((n + 1))
done
is "$n" 2 "xmhf64: both results record the step's commit as variants[].source_rev"
ok "xmhf64: not in bisect state afterwards" not_bisecting
ok "xmhf64: HEAD is back on main" on_main

# --- SIGINT in the middle of a step: the step's run ends cleanly, then
# git bisect reset; --src names the sources explicitly.  Slow output
# (HV_OPT 0x10 from the command line) makes each run last a few seconds.
sed -e 's/^arch = amd64$/arch = amd64\ncmdline = hv_opt=0x10 slow_ms=30/' \
    -e 's/^options = 0x400$/options = 0x400\ncmdline = hv_opt=0x410 slow_ms=30/' \
	"$T/labs/bq.conf" >"$T/labs/bslow.conf"
unset LABCTL_HYPERVISOR_DIR
"$LABCTL" bisect bslow --good "$c0" --bad "$c7" --src "$repo/hv" --results "$T/r2" -- hv lhv \
	>"$T/int.out" 2>"$T/int.err" &
pid=$!
for _ in $(seq 1 600); do
	r=$(ls "$T/r2" 2>/dev/null | grep -E '^[0-9]{14}$' | head -1)
	[ -n "$r" ] && grep -a -q 'variant=hv ' "$T/r2/$r" && break
	sleep 0.05
done
t0=$(date +%s.%N)
kill -INT "$pid"
wait "$pid"
is "$?" 3 "SIGINT: exit 3"
diag "SIGINT to exit: $(echo "$(date +%s.%N) - $t0" | bc) s"
like "$(cat "$T/int.err")" 'labctl bisect: interrupted' "SIGINT: says it was interrupted"
ok "SIGINT: the repository is not in bisect state" not_bisecting
ok "SIGINT: HEAD is back on main, the tree clean" on_main
r=$(ls "$T/r2" | grep -E '^[0-9]{14}$' | head -1)
ok "SIGINT: the interrupted step's result is complete" test -s "$T/r2/$r.json"
is "$(json_get "$T/r2/$r.json" '$j->{bisect}{outcome}')" interrupted "SIGINT: its JSON says the step was interrupted"
sleep 0.5
is "$(qemus)" 0 "SIGINT: no QEMU left running"

# --- SIGHUP (the terminal closed) is handled as SIGINT is: the step's
# run ends with its record, its children stop, git bisect reset.
"$LABCTL" bisect bslow --good "$c0" --bad "$c7" --src "$repo/hv" --results "$T/r3" -- hv lhv \
	>"$T/hup.out" 2>"$T/hup.err" &
pid=$!
for _ in $(seq 1 600); do
	r=$(ls "$T/r3" 2>/dev/null | grep -E '^[0-9]{14}$' | head -1)
	[ -n "$r" ] && grep -a -q 'variant=hv ' "$T/r3/$r" && break
	sleep 0.05
done
kill -HUP "$pid"
wait "$pid"
is "$?" 3 "SIGHUP: exit 3"
like "$(cat "$T/hup.err")" 'labctl bisect: interrupted' "SIGHUP: says it was interrupted"
ok "SIGHUP: the repository is not in bisect state" not_bisecting
ok "SIGHUP: HEAD is back on main, the tree clean" on_main
r=$(ls "$T/r3" | grep -E '^[0-9]{14}$' | head -1)
is "$(json_get "$T/r3/$r.json" '$j->{bisect}{outcome}')" interrupted "SIGHUP: the step's JSON says it was interrupted"
is "$(ls "$T/r3" | grep -cE '^[0-9]{14}(-[0-9]+)?$')" 1 "SIGHUP: no step ran after it"
sleep 0.5
is "$(qemus)" 0 "SIGHUP: no QEMU left running"
is "$(pgrep -f -- "[g]it -C $repo bisect run" | wc -l)" 0 "SIGHUP: git bisect run stopped"

# --- bad input: exit 2, a message, the repository untouched
run_labctl bisect bq --bad "$c7" -- hv lhv
is "$rc" 2 "no --good: exit 2"
like "$err" 'say which revisions are --good and --bad' "no --good: says what is missing"
run_labctl bisect bq --good nosuch --bad "$c7" --src "$repo/hv" -- hv lhv
is "$rc" 2 "unknown revision: exit 2"
like "$err" "--good nosuch: no such commit in $repo" "unknown revision: named"
run_labctl bisect bq --good "$c0" --bad "$c7" --src "$repo/hv" -- hv nosuch
is "$rc" 2 "unknown variant: exit 2"
like "$err" "no variant 'nosuch'" "unknown variant: named"
run_labctl bisect bq --good "$c0" --bad "$c7" --src "$repo/hv"
is "$rc" 2 "no chain: exit 2"
mkdir -p "$T/plain"
run_labctl bisect bq --good "$c0" --bad "$c7" --src "$T/plain" -- hv
is "$rc" 2 "--src outside git: exit 2"
like "$err" "$T/plain is not in a git checkout" "--src outside git: says so"
run_labctl bisect bq --good "$c7" --bad "$c0" --src "$repo/hv" -- hv
is "$rc" 2 "good and bad swapped: exit 2"
like "$err" 'git bisect in .*: .*(not ancestors|mistook)' "good and bad swapped: git's reason"
ok "good and bad swapped: not left in bisect state" not_bisecting
ok "good and bad swapped: HEAD is back on main" on_main
# A board someone else reserves would make every step a skip: refused.
USER=someone-else "$LABCTL" lock bq >/dev/null 2>&1
run_labctl bisect bq --good "$c0" --bad "$c7" --src "$repo/hv" -- hv
is "$rc" 3 "board reserved by someone else: exit 3"
like "$err" 'bq is reserved by someone-else@.*every step of the bisect would be skipped' \
	"board reserved by someone else: names the holder"
ok "board reserved by someone else: not left in bisect state" not_bisecting
"$LABCTL" unlock bq --force >/dev/null 2>&1
echo '/* dirty */' >>"$repo/hv/uart.c"
run_labctl bisect bq --good "$c0" --bad "$c7" --src "$repo/hv" -- hv
is "$rc" 2 "uncommitted changes: exit 2"
like "$err" 'has uncommitted changes' "uncommitted changes: says so"
git -C "$repo" checkout -q -- hv/uart.c
# Someone else's bisect is theirs: refused and left alone.
git -C "$repo" bisect start >/dev/null 2>&1
run_labctl bisect bq --good "$c0" --bad "$c7" --src "$repo/hv" -- hv
is "$rc" 2 "a bisect in progress: exit 2"
like "$err" 'in the middle of a git bisect already' "a bisect in progress: says so"
ok "a bisect in progress: it is not reset by us" sh -c "git -C '$repo' bisect log >/dev/null"
git -C "$repo" bisect reset >/dev/null 2>&1
ok "after the bad input: not in bisect state" not_bisecting
ok "after the bad input: HEAD is on main" on_main

done_testing
