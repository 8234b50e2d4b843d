#!/bin/bash
# A labctl killed by SIGKILL in the middle of a build leaves nothing
# running: the build's make and make's own children (the "compilers", two
# sleeps make runs in parallel) die with it (issue 13.2).  The build is an
# xmhf64-recipe variant of a small git repo whose tools/ci/build.sh runs a
# real make.
. "$(dirname "$0")/lib.sh"

command -v git >/dev/null || skip_all "no git"
command -v make >/dev/null || skip_all "no make"

X=$T/xmhf
P=$T/pids
mkdir -p "$X/tools/ci" "$P" "$T/labs" "$T/work"
cat >"$X/tools/ci/build.sh" <<'SH'
#!/bin/sh
echo $$ >"$LABCTL_T_PIDS/make.pid"
exec make -j2 -s -f slow.mk
SH
chmod +x "$X/tools/ci/build.sh"
cat >"$X/slow.mk" <<'MK'
all: cc1 cc2
cc1 cc2:
	@sh -c 'echo $$$$ >"$$LABCTL_T_PIDS/$@.tmp"; mv "$$LABCTL_T_PIDS/$@.tmp" "$$LABCTL_T_PIDS/$@.pid"; exec sleep 300'
MK
git -C "$X" init -q
git -C "$X" add -A
git -C "$X" -c user.name=t -c user.email=t@t commit -qm one
cat >"$T/labs/slow.conf" <<CONF
[board]
type = qemu

[variant slow]
recipe = xmhf64
src = $X
args = amd64
CONF
export LABCTL_LABS=$T/labs LABCTL_T_PIDS=$P
unset LABCTL_LAB LABCTL_IMAGES
cd "$T/work" || exit 1

# Until make and its two children all run.
wait_pids() {
	local i
	for i in $(seq 200); do
		[ -s "$P/make.pid" ] && [ -s "$P/cc1.pid" ] && [ -s "$P/cc2.pid" ] &&
			return 0
		sleep 0.05
	done
	return 1
}
alive() { [ -d "/proc/$1" ] && ! grep -q '^State:.*[ZX]' "/proc/$1/status" 2>/dev/null; }
all_gone() {
	local i p left
	for i in $(seq 60); do
		left=
		for p in "$@"; do alive "$p" && left="$left $p"; done
		[ -z "$left" ] && return 0
		sleep 0.05
	done
	diag "still running:$left"
	return 1
}

"$LABCTL" build slow slow >"$T/out" 2>"$T/err" &
lab=$!
at_exit "kill -KILL $lab"
if wait_pids; then
	pass "the build runs make and make runs two children"
else
	fail "the build runs make and make runs two children" "$(cat "$T/err")"
fi
pids="$(cat "$P/make.pid" "$P/cc1.pid" "$P/cc2.pid" 2>/dev/null | tr '\n' ' ')"
for p in $pids; do at_exit "kill -KILL $p"; done
kill -KILL "$lab"
wait "$lab" 2>/dev/null
# shellcheck disable=SC2086
ok "labctl build SIGKILLed: make and its children die too" all_gone $pids

done_testing
