#!/bin/bash
# A pool of virtual boards (issue 8's groundwork): [board] pool = 2 is two
# QEMU boards, LAB-1 and LAB-2, each with its own lease, state and QEMU.
# Three runs at once: two take a board each, the third waits in line (and
# says so), then runs on whichever board is freed first.
. "$(dirname "$0")/lib.sh"
command -v qemu-system-x86_64 >/dev/null || skip_all "no qemu-system-x86_64"

export LABCTL_LABS=$T/labs LABCTL_IMAGES=$T/images LABCTL_LOCK_DIR=$T/locks
export LABCTL_STATE_DIR=$T/state
mkdir -p "$T/labs"
cat >"$T/labs/pq.conf" <<'EOF2'
[board]
type = qemu
pool = 2

[variant slow]
arch = amd64
# LHV mode, every line 40 ms late: a run of about 3 s.
options = 0x410
cmdline = slow_ms=40
EOF2

run_labctl build pq slow
is "$rc" 0 "build"
for k in 1 2 3; do
	"$LABCTL" run pq slow --results "$T/r$k" >"$T/run$k.out" 2>"$T/run$k.err" &
	eval "p$k=\$!"
	sleep 0.3
done
wait "$p1"; r1=$?
wait "$p2"; r2=$?
wait "$p3"; r3=$?
is "$r1 $r2 $r3" "0 0 0" "three runs on a pool of two all pass"
like "$(cat "$T/run3.err")" "all 2 boards of pq are busy: waiting, position 1 in line" \
	"the third run says it waits, and where"
boards=$(cat "$T"/r*/*.json | grep -o '"lab": *"pq-[12]"' | sort | uniq -c | wc -l)
is "$boards" 2 "the runs used both boards of the pool"
ok "each board had its own QEMU state" test -d "$(ls -d "$T"/state/pq-1-* | head -n 1)" -a -d "$(ls -d "$T"/state/pq-2-* | head -n 1)"
is "$(ls "$T/locks/pq.queue" 2>/dev/null | wc -l)" 0 "no queue ticket left behind"
run_labctl locks pq-1 pq-2
like "$out" "pq-1 +free" "pq-1 is free again"
like "$out" "pq-2 +free" "pq-2 is free again"

done_testing
