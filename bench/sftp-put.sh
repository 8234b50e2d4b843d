#!/bin/bash
# labctl's SFTP upload (lab_ssh_put_file through tests/t/ssh-driver.c)
# against OpenSSH scp (SFTP protocol since OpenSSH 9.0) of the same 64 MiB
# file, to the same sshd on loopback with the same key, same run.  Both
# times are whole processes: connect, authenticate, transfer.  labctl
# also writes a temporary, fsyncs it and renames it into place; scp
# writes the target in place and does not fsync.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
LABCTL=${LABCTL:-$TOP/build/default/bin/labctl}
LIBCORE=${LIBCORE:-$(dirname "$LABCTL")/../libcore.a}
N=${N:-5}
SIZE_MIB=${SIZE_MIB:-64}
if [ "$(id -u)" != 0 ] || [ ! -x /usr/sbin/sshd ]; then
	echo "sftp put: skipped (needs root and /usr/sbin/sshd)"
	exit 0
fi
W=$(mktemp -d "${TMPDIR:-/var/tmp}/labctl-bench.XXXXXX")
SSHD=
cleanup() {
	[ -n "$SSHD" ] && kill "$SSHD" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

cc -std=c11 -D_GNU_SOURCE -O2 -I"$TOP" -o "$W/drv" "$TOP/tests/t/ssh-driver.c" \
	"$LIBCORE" $(pkg-config --libs inih libssh libcurl libftdi1 libgpiod) -lm

export HOME=$W/home
unset SSH_AUTH_SOCK
mkdir -p "$HOME/.ssh" "$W/dst" /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$HOME/.ssh/id_ed25519"
ssh-keygen -q -t ed25519 -N '' -f "$W/hostkey"
cp "$HOME/.ssh/id_ed25519.pub" "$W/authorized_keys"
for _ in $(seq 50); do
	PORT=$((20000 + RANDOM % 30000))
	(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || break
done
cat >"$W/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $PORT
HostKey $W/hostkey
AuthorizedKeysFile $W/authorized_keys
StrictModes no
PermitRootLogin prohibit-password
UsePAM no
PidFile $W/sshd.pid
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
/usr/sbin/sshd -D -e -f "$W/sshd_config" 2>"$W/sshd.log" &
SSHD=$!
for _ in $(seq 250); do grep -q 'Server listening' "$W/sshd.log" && break; sleep 0.02; done
"$W/drv" 127.0.0.1 "$PORT" root trust write >/dev/null

head -c $((SIZE_MIB * 1048576)) /dev/urandom >"$W/file"
SCP=(scp -q -F /dev/null -o BatchMode=yes -o "UserKnownHostsFile=$HOME/.ssh/known_hosts"
	-i "$HOME/.ssh/id_ed25519" -P "$PORT")

secs() {	# secs COMMAND...: wall seconds of one run
	local s e
	s=$(date +%s%N)
	"$@" >/dev/null 2>"$W/last.err"
	e=$(date +%s%N)
	awk -v s="$s" -v e="$e" 'BEGIN {printf "%.4f\n", (e-s)/1e9}'
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

: >"$W/l"
: >"$W/s"
for _ in $(seq "$N"); do	# alternate, so both see the same machine
	secs "$W/drv" 127.0.0.1 "$PORT" root put "$W/file" "$W/dst/labctl.bin" >>"$W/l"
	trips=$(sed -n 's/^round_trips //p' "$W/last.err")
	secs "${SCP[@]}" "$W/file" "root@127.0.0.1:$W/dst/scp.bin" >>"$W/s"
done
cmp -s "$W/file" "$W/dst/labctl.bin" || { echo "labctl's copy differs"; exit 1; }
cmp -s "$W/file" "$W/dst/scp.bin" || { echo "scp's copy differs"; exit 1; }
l=$(median <"$W/l")
s=$(median <"$W/s")
awk -v l="$l" -v s="$s" -v n="$N" -v mib="$SIZE_MIB" -v t="$trips" 'BEGIN {
	mb = mib * 1048576 / 1e6
	printf "sftp put %d MiB x%d (median, whole process): labctl %.1f MB/s (%.3f s, %d round trips), scp %.1f MB/s (%.3f s), ratio %.2fx (want >= 0.80)\n",
		mib, n, mb / l, l, t, mb / s, s, s / l
}'
