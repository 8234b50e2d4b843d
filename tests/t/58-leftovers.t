#!/bin/bash
# What a killed labctl leaves is removed by the next operation on the same
# place, and only when it is stale (not a concurrent writer's):
#   grubenv   FILE.labctl-XXXXXX beside a block (a write killed before its
#             rename); writers hold a flock on the directory meanwhile
#   build     images/VARIANT.tmp-XXXXXX (a build killed before install);
#             the variant's build lock says nobody builds it
#   grub      /tmp/labctl-grubd.* and /etc/grub.d/.NAME.labctl-* on the
#   install   board (a failed or killed install), under the board's lease
# Kills at a chosen point: SIGKILL while the write or the build runs.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/labs" "$T/work" "$T/env"
cd "$T/work" || exit 1

# ---------------------------------------------------------------- grubenv
F=$T/env/grubenv
"$LABCTL" grubenv "$F" create
touch "$F.labctl-Ab12Cd" "$F.labctl-zz99ZZ"	# killed writers' temp files
touch "$F.labctl-keep" "${F}2.labctl-abcdef" "$T/env/other"
run_labctl grubenv "$F" set a=1
is "$rc" 0 "grubenv: the next write: exit 0"
is "$(cd "$T/env" && ls | tr '\n' ' ')" "grubenv grubenv.labctl-keep grubenv2.labctl-abcdef other " \
	"grubenv: ... removed the two stale temporaries, nothing else"
is "$("$LABCTL" grubenv "$F" list)" "a=1" "grubenv: ... and wrote the block"
# A concurrent writer (holding the directory's lock) keeps its file.
( flock "$T/env" sh -c "touch '$F.labctl-LIVE01'; touch '$T/held'; sleep 1; test -e '$F.labctl-LIVE01' && echo kept >'$T/live'" ) &
W=$!
for _ in $(seq 100); do [ -e "$T/held" ] && break; sleep 0.02; done
run_labctl grubenv "$F" set b=2
wait $W
is "$(cat "$T/live" 2>/dev/null)" "kept" "grubenv: a concurrent writer's temporary survives while it writes"
ok "grubenv: ... and the write waited for it, then removed it" test ! -e "$F.labctl-LIVE01"
is "$rc" 0 "grubenv: ... exit 0"
# A real kill at a chosen point: a write that never ends (SIGSTOPped
# after its temporary exists), then SIGKILL.
big=$(head -c 300 /dev/zero | tr '\0' x)
rm -f "$F.labctl-keep"
tmp_left() { ls "$T/env" | grep -Eq '^grubenv\.labctl-[A-Za-z0-9]{6}$'; }
"$LABCTL" grubenv "$F" create --size 16M
strace_ok=$(command -v strace)
if [ -n "$strace_ok" ]; then
	# strace -e inject stalls the rename: the temp file exists, then kill.
	strace -f -o /dev/null -e trace=rename -e inject=rename:delay_enter=5000000 \
		"$LABCTL" grubenv "$F" set k="$big" &
	S=$!
	for _ in $(seq 100); do tmp_left && break; sleep 0.05; done
	ok "grubenv kill: the temporary exists before the rename" tmp_left
	pkill -KILL -P "$S" 2>/dev/null; kill -KILL "$S" 2>/dev/null; wait "$S" 2>/dev/null
	ok "grubenv kill: ... and is left after SIGKILL" tmp_left
	run_labctl grubenv "$F" set after=kill
	ok "grubenv kill: the next write removed it" sh -c "! ls '$T/env' | grep -Eq '^grubenv\.labctl-[A-Za-z0-9]{6}\$'"
	is "$("$LABCTL" grubenv "$F" list | tail -1)" "after=kill" "grubenv kill: ... and wrote"
else
	for _ in 1 2 3 4; do skip "no strace"; done
fi

# ---------------------------------------------------------------- build
if command -v gcc >/dev/null && echo 'int x;' | gcc -m32 -x c -c -o /dev/null - 2>/dev/null; then
	mkdir -p "$T/hv"
	for f in "$TOP"/hypervisor/*; do [ -f "$f" ] && cp "$f" "$T/hv/"; done
	export LABCTL_HYPERVISOR_DIR=$T/hv LABCTL_LABS=$T/labs:$TOP/labs
	unset LABCTL_LAB LABCTL_IMAGES
	mkdir -p images/build32.tmp-Xy12ab/sub images/build32lhv.tmp-Qq34cd images/build32.tmp-toolong7
	echo junk >images/build32.tmp-Xy12ab/sub/init.bin
	run_labctl build qemu build32
	is "$rc" 0 "build: the next build of the variant: exit 0"
	ok "build: ... removed its stale build directory" test ! -e images/build32.tmp-Xy12ab
	ok "build: ... not another variant's" test -d images/build32lhv.tmp-Qq34cd
	ok "build: ... nor a name that is not one of ours" test -d images/build32.tmp-toolong7
	# Kill a build at a chosen point: while the compiler runs.
	touch "$T/hv/"*.c
	echo '/* changed */' >>"$T/hv/$(ls "$T/hv" | grep '\.c$' | head -1)"
	"$LABCTL" build qemu build64 >/dev/null 2>&1 &
	B=$!
	for _ in $(seq 200); do ls images | grep -q '^build64\.tmp-' && break; sleep 0.02; done
	ok "build kill: the build directory exists while it builds" sh -c "ls images | grep -q '^build64\\.tmp-'"
	kill -KILL "$B"; wait "$B" 2>/dev/null
	sleep 0.2
	ok "build kill: ... and is left after SIGKILL" sh -c "ls images | grep -q '^build64\\.tmp-'"
	run_labctl build qemu build64
	is "$rc" 0 "build kill: the next build: exit 0"
	is "$(ls images | grep -c '^build64\.tmp-')" 0 "build kill: ... removed what the killed one left"
else
	for _ in $(seq 8); do skip "no gcc -m32"; done
fi

# ---------------------------------------------------------------- grub install
. "$TOP/tests/t/board.sh"
if why=$(board_check); then
	board_start gl
	export HOME=$BOARD_HOME LABCTL_LOCK_DIR=$T/locks
	cat >"$T/labs/gl.conf" <<CONF
[board]
type = pc
host = $BOARD_IP
user = $BOARD_USER
connect_timeout = 3s
[deploy]
sudo = yes
[variant v64]
arch = amd64
CONF
	# /etc/grub.d cannot take the new script: the install fails after
	# its upload to /tmp/labctl-grubd.*.
	if chattr +i "$BOARD_ROOT/etc/grub.d" 2>/dev/null; then
		run_labctl grub install gl
		chattr -i "$BOARD_ROOT/etc/grub.d"
		is "$rc" 3 "grub install into an immutable /etc/grub.d: exit 3"
		is "$(ls -d "$BOARD_ROOT"/tmp/labctl-grubd.* 2>/dev/null | wc -l)" 0 \
			"... and no /tmp/labctl-grubd.* is left on the board"
	else
		skip "no chattr +i here"; skip "no chattr +i here"
	fi
	# What a killed install left, made by hand: the next install removes it.
	board_ssh gl 'mkdir /tmp/labctl-grubd.AbCdEf12 && touch /tmp/labctl-grubd.AbCdEf12/42_labctl'
	board_root_exec gl touch /etc/grub.d/.42_labctl.labctl-new /etc/grub.d/.43_xmhf.labctl-0123456789ab
	run_labctl grub install gl
	is "$rc" 0 "grub install: exit 0" || diag "$err"
	is "$(ls -d "$BOARD_ROOT"/tmp/labctl-grubd.* 2>/dev/null | wc -l)" 0 \
		"grub install: removed the stale /tmp/labctl-grubd.*"
	is "$(ls -a "$BOARD_ROOT/etc/grub.d" | grep -c 'labctl-')" 0 \
		"grub install: removed the stale .NAME.labctl-* in /etc/grub.d"
else
	for _ in $(seq 5); do skip "$why"; done
fi

done_testing
