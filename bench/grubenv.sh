#!/bin/bash
# labctl grubenv/chain against grub-editenv, same block, same machine, same
# run.  labctl writes atomically (temp file, fsync, rename, fsync of the
# directory); grub-editenv rewrites in place with one fsync.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
LABCTL=${LABCTL:-$TOP/build/default/bin/labctl}
N=${N:-300}
W=$(mktemp -d "${TMPDIR:-/var/tmp}/labctl-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT

ms_per() {	# ms_per COMMAND...: mean wall ms of N runs
	local s e
	s=$(date +%s%N)
	for _ in $(seq "$N"); do "$@" >/dev/null; done
	e=$(date +%s%N)
	awk -v s="$s" -v e="$e" -v n="$N" 'BEGIN {printf "%.3f", (e-s)/n/1e6}'
}

"$LABCTL" grubenv "$W/a" create
grub-editenv "$W/b" create
l=$(ms_per "$LABCTL" chain set "$W/a" XMHF-build64 XMHF-build32 XMHF-build32lhv)
g=$(ms_per grub-editenv "$W/b" set next_entry=XMHF-build64 next_entry_2=XMHF-build32 next_entry_3=XMHF-build32lhv)
cmp -s "$W/a" "$W/b" || { echo "blocks differ"; exit 1; }
printf 'chain set (3 stages) x%d: labctl %s ms, grub-editenv %s ms, ratio %sx (labctl also fsyncs the directory)\n' \
	"$N" "$l" "$g" "$(awk -v a="$l" -v b="$g" 'BEGIN {printf "%.2f", a/b}')"
l=$(ms_per "$LABCTL" grubenv "$W/a" list)
g=$(ms_per grub-editenv "$W/b" list)
printf 'list x%d: labctl %s ms, grub-editenv %s ms, ratio %sx\n' "$N" "$l" "$g" \
	"$(awk -v a="$l" -v b="$g" 'BEGIN {printf "%.2f", a/b}')"
