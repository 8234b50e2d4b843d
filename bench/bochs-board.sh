#!/bin/bash
# The Bochs board with the real XMHF64 and LHV (pinned sources, built once
# in the suite's cache, tests/t/xmhf-src.sh), each against its peer:
#  1. LHV 0x1fc: labctl run bochs lhv (power-on to verdict: more than 20
#     `LHV test iter` lines from each CPU) vs bare Bochs with the same
#     bochsrc, the same disk and chain, serial to a FIFO watched by awk for
#     the same line                                            target <= 1.05x
#  2. time to verdict of XMHF64 -> LHV (more than 20 `LHV in XMHF test iter`
#     per CPU)
#  3. labctl opt-bisect bochs lhv --good 0x1fc --bad 0x5fc must name 0x400
#     (LHV_USE_MSRBITMAP): its runs and minutes
# Minutes of Bochs each (CPU is scarce: ROUNDS=1 by default).  SKIP=1,2,3
# leaves some out.
set -uo pipefail
BTOP=$(cd "$(dirname "$0")/.." && pwd)
LABCTL=${LABCTL:-$BTOP/build/default/bin/labctl}
ROUNDS=${ROUNDS:-1}
SKIP=${SKIP:-}
LABCTL_TOP=$BTOP . "$BTOP/tests/t/lib.sh" >/dev/null
. "$BTOP/tests/t/xmhf-src.sh"
skip_all() { echo "bochs-board: skipped: $*"; exit 0; }
command -v bochs-bin >/dev/null || skip_all "no bochs-bin (scripts/install-deps)"
xmhf_src_need
xmhf_build_need
xmhf_src_repo

git clone -q --local "$XMHF_REPO" "$T/uberxmhf"
mkdir -p "$T/labs" "$T/work" "$T/state"
xmhf_src_lab "$T/labs/bochs.conf" "$T/uberxmhf"
sed -i 's/^type = qemu$/type = bochs/' "$T/labs/bochs.conf"
export LABCTL_LABS=$T/labs LABCTL_IMAGES=$T/work/images LABCTL_CACHE_DIR=$XMHF_CACHE
export LABCTL_STATE_DIR=$T/state
unset LABCTL_LAB LABCTL_CACHE_SIZE LABCTL_BOCHS
cd "$T/work" || exit 1
at_exit "pkill -KILL -f -- '[b]ochs-bin .*$T/' || true"

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
skipped() { case ",$SKIP," in *",$1,"*) return 0;; esac; return 1; }

echo "Bochs board benchmarks ($(nproc) cores, $ROUNDS round(s), medians)"
"$LABCTL" -q build bochs >/dev/null || { echo "build failed"; exit 1; }

# Bare Bochs on a copy of the board's disk with the chain labctl writes,
# its com1 on a FIFO; awk ends it at the 21st iteration line of the slower
# CPU, as labctl's verdict does.
bare_bochs() {	# bare_bochs CHAIN_ENTRY... ; prints seconds to the verdict line
	local dir=$T/bare state rc
	rm -rf "$dir"; mkdir -p "$dir"
	state=$(ls -d "$T"/state/bochs-*)
	cp "$state/disk.img" "$dir/disk.img"
	mcopy -n -i "$dir/disk.img@@1M" ::/boot/grub/grubenv "$dir/grubenv"
	"$LABCTL" -q chain set "$dir/grubenv" "$@" >/dev/null
	mcopy -o -i "$dir/disk.img@@1M" "$dir/grubenv" ::/boot/grub/grubenv
	sed -e "s|$state/|$dir/|g" "$state/bochsrc" >"$dir/bochsrc"
	printf 'c\n' >"$dir/bochs.rc"
	mkfifo "$dir/console.fifo"
	local s e
	s=$(now)
	( cd "$dir" && TERM=vt100 exec script -qfc \
		"exec bochs-bin -q -f $dir/bochsrc -rc $dir/bochs.rc" /dev/null >/dev/null 2>&1 ) &
	local sp=$!
	awk '/CPU\(0x0[01]\): LHV (in XMHF )?test iter/ {
		c = substr($0, index($0, "0x"), 4); n[c]++
		if (n[c] == 21) { done++; if (done == 2) exit 0 } }' <"$dir/console.fifo"
	e=$(now)
	pkill -KILL -f -- "[b]ochs-bin -q -f $dir/bochsrc" || true
	wait "$sp" 2>/dev/null
	awk -v s="$s" -v e="$e" 'BEGIN {printf "%.3f\n", e-s}'
}

# 1. LHV alone: labctl vs bare Bochs
# Bochs' speed follows the host's load (clock sync=none), which drifts
# between two sequential runs on a shared machine: the order alternates,
# and labctl's own share (its wall time minus power-on to verdict, from
# its record) is printed too, which no load drift touches.
if ! skipped 1; then
	t_lab=(); t_bare=(); t_own=()
	lab_round() {
		local s e rc
		s=$(now); "$LABCTL" -q --json run bochs lhv >"$T/r.json"; rc=$?; e=$(now)
		[ "$rc" = 0 ] || { echo "1. labctl run bochs lhv did not pass (exit $rc)"; exit 1; }
		t_lab+=("$(awk -v s="$s" -v e="$e" 'BEGIN {print e-s}')")
		t_own+=("$(perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>); printf "%.3f\n", $ARGV[0] - $j->{decided}' \
			"$(awk -v s="$s" -v e="$e" 'BEGIN {print e-s}')" <"$T/r.json")")
	}
	for i in $(seq "$ROUNDS"); do
		if [ $((i % 2)) = 1 ]; then lab_round; t_bare+=("$(bare_bochs XMHF-lhv labctl-halt)")
		else t_bare+=("$(bare_bochs XMHF-lhv labctl-halt)"); lab_round; fi
	done
	ml=$(printf '%s\n' "${t_lab[@]}" | median); mb=$(printf '%s\n' "${t_bare[@]}" | median)
	mo=$(printf '%s\n' "${t_own[@]}" | median)
	printf '1. LHV 0x1fc to its verdict: labctl %.1f s, bare Bochs %.1f s, ratio %.3fx (target <= 1.05)\n' \
		"$ml" "$mb" "$(awk -v a="$ml" -v b="$mb" 'BEGIN {print a/b}')"
	printf '   labctl rounds: %s s; bare: %s s\n' "${t_lab[*]}" "${t_bare[*]}"
	printf "   labctl's own time (before power-on and after the verdict): %.2f s, %.2f%% of its run\n" \
		"$mo" "$(awk -v a="$mo" -v b="$ml" 'BEGIN {print 100*a/b}')"
fi

# 2. XMHF64 -> LHV: time to verdict
if ! skipped 2; then
	s=$(now); out=$("$LABCTL" run bochs x64 lhv 2>/dev/null); rc=$?; e=$(now)
	printf '2. XMHF64 -> LHV to its verdict: %.1f s (exit %d: %s)\n' \
		"$(awk -v s="$s" -v e="$e" 'BEGIN {print e-s}')" "$rc" \
		"$(printf '%s\n' "$out" | grep -E '^(PASS|FAIL|ERROR)' | head -1)"
	printf '%s\n' "$out" | grep -E '^  stage ' | sed 's/^/   /'
fi

# 3. opt-bisect names 0x400
if ! skipped 3; then
	s=$(now)
	out=$("$LABCTL" opt-bisect bochs lhv --good 0x1fc --bad 0x5fc 2>&1); rc=$?
	e=$(now)
	runs=$(printf '%s\n' "$out" | grep -cE '^ +[0-9]+ +0x[0-9a-f]+ ')
	culprit=$(printf '%s\n' "$out" | grep '^culprit:' | head -1)
	printf '3. opt-bisect bochs lhv --good 0x1fc --bad 0x5fc: %d runs, %.1f min, exit %d: %s\n' \
		"$runs" "$(awk -v s="$s" -v e="$e" 'BEGIN {print (e-s)/60}')" "$rc" "${culprit:-no culprit}"
	case $culprit in
	*"0x400 set in bad"*) echo "   names 0x400 (LHV_USE_MSRBITMAP): ok";;
	*) echo "   did NOT name 0x400"; printf '%s\n' "$out" | tail -20; exit 1;;
	esac
fi
