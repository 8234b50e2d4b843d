#!/bin/bash
# Benchmarks of labctl matrix and opt-bisect on a pool of QEMU boards:
#  1. a 32-cell matrix (2 archs x 16 option values, builds cached) on 1, 2
#     and 4 virtual boards: wall time and speed-up over one board
#  2. opt-bisect's runs against flipping every differing bit one at a time
#     (which needs one run per bit and cannot see a fault that needs two
#     bits), for 10 and 20 differing bits
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
LABCTL=${LABCTL:-$TOP/build/default/bin/labctl}
W=$(mktemp -d /tmp/labctl-bench.XXXXXX)
trap 'pkill -KILL -f -- "$W/state" 2>/dev/null || true; rm -rf "$W"' EXIT
export LABCTL_STATE_DIR=$W/state LABCTL_IMAGES=$W/images LABCTL_LABS=$W/labs
export LABCTL_LOCK_DIR=$W/locks LABCTL_HYPERVISOR_DIR=$TOP/hypervisor
mkdir -p "$W/labs"
cat >"$W/labs/mx.conf" <<'EOF'
[board]
type = qemu
pool = 4

[variant lhv]
arch = amd64
options = 0x400
opt_requires = 0x2000:0x4000
EOF
cd "$W"

now() { date +%s.%N; }
since() { awk -v s="$1" -v e="$(now)" 'BEGIN {printf "%.1f", e-s}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }
json_get() { perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>); print eval $ARGV[0]' "$1"; }

echo "labctl matrix benchmarks ($(nproc) cores)"

# 1. 16 values: pass, the two-bit fault, a Fatal, and 13 harmless bits.
opts=0x400,0x1c00,0x404
for k in $(seq 15 27); do opts=$opts,$(printf '0x%x' $(( (1 << k) | 0x400 ))); done
s=$(now)
"$LABCTL" -q matrix mx --variant lhv --opt "$opts" --arch i386,amd64 -j 4 >/dev/null || true
echo "1. 32-cell matrix, first time (32 builds, then 32 runs on 4 boards): $(since "$s") s"
declare -A t
for j in 1 2 4; do
	s=$(now)
	"$LABCTL" -q --json matrix mx --variant lhv --opt "$opts" --arch i386,amd64 -j "$j" >"$W/m$j.json" || true
	t[$j]=$(since "$s")
	counts=$(json_get '"$j->{pass} pass, $j->{fail} fail, $j->{infra} infra"' <"$W/m$j.json")
	printf '   %d board%s: %6.1f s  (%s)  speed-up %sx\n' "$j" "$([ "$j" = 1 ] && echo ' ' || echo s)" \
		"${t[$j]}" "$counts" "$(ratio "${t[1]}" "${t[$j]}")"
done

# 2. opt-bisect against one bit at a time.
bisect() {	# bisect BAD JOBS -> "runs rounds seconds culprit"
	local s out
	s=$(now)
	out=$("$LABCTL" -q --json opt-bisect mx lhv --good 0x400 --bad "$1" -j "$2" || true)
	printf '%s %s %s\n' "$(json_get '"$j->{runs} $j->{rounds}"' <<<"$out")" "$(since "$s")" \
		"$(json_get 'join "+", @{$j->{culprit}}' <<<"$out")"
}
for bad in 0x3f7c00 0xffff7c00; do
	nbits=$(perl -e 'my $d = hex($ARGV[0]) ^ 0x400; my $n = 0; $n += ($d >> $_) & 1 for 0..31; print $n' "$bad")
	# One bit at a time: good with each differing bit flipped.
	singles=$(perl -e 'my $d = hex($ARGV[0]) ^ 0x400; print join ",", map { sprintf "0x%x", 0x400 ^ (1 << $_) } grep { ($d >> $_) & 1 } 0..31' "$bad")
	s=$(now)
	"$LABCTL" -q --json matrix mx --variant lhv --opt "$singles" --arch amd64 -j 4 >"$W/single.json" || true
	st=$(since "$s")
	sfail=$(json_get 'join "+", map { $_->{options} } grep { $_->{verdict} eq "fail" } @{$j->{cells}}' <"$W/single.json")
	sskip=$(json_get '$j->{skip}' <"$W/single.json")
	read -r r1 rd1 t1 c1 <<<"$(bisect "$bad" 1)"
	read -r r4 rd4 t4 c4 <<<"$(bisect "$bad" 4)"
	echo "2. opt-bisect, good 0x400, bad $bad: $nbits bits differ"
	printf '   one bit at a time: %2d runs (%d not runnable: opt_requires), %5.1f s on 4 boards; fails alone: %s (the pair 0x800+0x1000 is never seen)\n' \
		"$((nbits - sskip))" "$sskip" "$st" "${sfail:-none}"
	printf '   opt-bisect -j 1:   %2d runs in %2d rounds, %5.1f s; culprit %s\n' "$r1" "$rd1" "$t1" "$c1"
	printf '   opt-bisect -j 4:   %2d runs in %2d rounds, %5.1f s; culprit %s\n' "$r4" "$rd4" "$t4" "$c4"
	printf '   runs: opt-bisect/one-at-a-time %sx (-j 1), %sx (-j 4); rounds -j 4 vs -j 1: %sx\n' \
		"$(ratio "$r1" "$nbits")" "$(ratio "$r4" "$nbits")" "$(ratio "$rd4" "$rd1")"
done
