#!/bin/bash
# labctl deploy to a real sshd board (tests/t/board.sh: a network namespace,
# a loop-mounted ext4 root) against OpenSSH scp, same board, same key, same
# run:
#   1. 3 unchanged variants: image bytes sent and round trips per variant
#      (the issue's bound: 0 bytes, at most 2 round trips per variant);
#   2. a changed 64 MiB image: labctl deploy (SFTP, temp name, rename,
#      sha256 check on the board) against `scp` of the same file, as a
#      throughput ratio (the issue's bound: at least 0.8x).
# Needs root (network namespaces, loop devices).
set -uo pipefail
BTOP=$(cd "$(dirname "$0")/.." && pwd)
LABCTL=${LABCTL:-$BTOP/build/default/bin/labctl}
MIB=${MIB:-64}
REPS=${REPS:-3}
LABCTL_TOP=$BTOP . "$BTOP/tests/t/lib.sh" >/dev/null
. "$BTOP/tests/t/board.sh"
if ! why=$(board_check); then
	echo "board-deploy: skipped: $why"
	exit 0
fi
board_start bench >/dev/null
export HOME=$BOARD_HOME LABCTL_LABS=$T/labs LABCTL_IMAGES=$T/images
mkdir -p "$T/labs"
cat >"$T/labs/bench.conf" <<EOF
[board]
type = pc
host = $BOARD_IP
user = $BOARD_USER
[deploy]
dir = /home/$BOARD_USER/xmhf
[lock]
where = local
[variant v64]
arch = amd64
[variant v32]
arch = i386
[variant v32lhv]
arch = i386
options = 0x400
EOF
export LABCTL_LOCK_DIR=$T/locks
"$LABCTL" deploy bench v64 v32 v32lhv >/dev/null 2>&1 || { echo "board-deploy: first deploy failed"; exit 1; }
js=$("$LABCTL" --json deploy bench v64 v32 v32lhv 2>/dev/null)
sent=$(sed -n 's/.*"bytes_sent":\([0-9]*\).*/\1/p' <<<"$js")
rt=$(sed -n 's/.*"round_trips":\([0-9]*\).*/\1/p' <<<"$js")
printf 'deploy of 3 unchanged variants: %s image bytes sent, %s round trips (%.2f per variant; bound 2)\n' \
	"$sent" "$rt" "$(awk -v r="$rt" 'BEGIN {print r / 3}')"

# A changed 64 MiB image: a fresh random init.bin, its MANIFEST updated so
# the build cache keeps it.
img=$T/images/v64
best_l=999999 best_s=999999
for _ in $(seq "$REPS"); do
	head -c $((MIB << 20)) /dev/urandom >"$img/init.bin"
	sha=$(sha256sum "$img/init.bin" | cut -d' ' -f1)
	sed -i "s/^sha256.init.bin: .*/sha256.init.bin: $sha/; s/^size.init.bin: .*/size.init.bin: $((MIB << 20))/" "$img/MANIFEST"
	s=$(date +%s%N)
	"$LABCTL" deploy bench v64 >/dev/null 2>&1 || { echo "board-deploy: deploy failed"; exit 1; }
	e=$(date +%s%N)
	l=$(((e - s) / 1000000))
	s=$(date +%s%N)
	scp -q -o BatchMode=yes -o UserKnownHostsFile="$HOME/.ssh/known_hosts" -i "$HOME/.ssh/id_ed25519" "$img/init.bin" \
		"$BOARD_USER@$BOARD_IP:/home/$BOARD_USER/scp-copy.bin" || { echo "board-deploy: scp failed"; exit 1; }
	e=$(date +%s%N)
	c=$(((e - s) / 1000000))
	[ "$l" -lt "$best_l" ] && best_l=$l
	[ "$c" -lt "$best_s" ] && best_s=$c
done
awk -v l="$best_l" -v c="$best_s" -v m="$MIB" 'BEGIN {
	printf "deploy of a changed %d MiB image (best of %d): labctl %d ms (%.0f MiB/s, incl. build-cache check, sha256 on the board), scp %d ms (%.0f MiB/s): throughput ratio %.2fx (bound 0.8x)\n",
		m, '"$REPS"', l, m * 1000 / l, c, m * 1000 / c, c / l }'
