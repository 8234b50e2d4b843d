#!/bin/bash
# Reservations in etcd (issue 17) against the ssh lab host (lock.where =
# host: a flock script over ssh), same run, same machine:
#  1. take + release latency: `labctl lock` then `labctl unlock`, whole
#     processes, etcd (a 3-member cluster on loopback) vs an sshd on
#     loopback as the lab host; medians and their ratio.
#  2. 50 waiters queued on one board with `lock --wait`, handed the board
#     one after the other: order kept (first come, first served), none
#     starves (all get it), and the etcd requests per waiter (request messages
#     the members handled, counted from their /metrics).
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
LABCTL=${LABCTL:-$TOP/build/default/bin/labctl}
N=${N:-10}
WAITERS=${WAITERS:-50}
command -v etcd >/dev/null || { echo "etcd lease: skipped (no etcd)"; exit 0; }
W=$(mktemp -d "${TMPDIR:-/var/tmp}/labctl-bench.XXXXXX")
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	rm -rf "$W"
}
trap cleanup EXIT
port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 30000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}

# ---------------------------------------------------------------- cluster
EPS= CLUSTER= METRICS=()
for i in 1 2 3; do
	c=$(port); p=$(port)
	EPS+="${EPS:+,}http://127.0.0.1:$c"
	CLUSTER+="${CLUSTER:+,}m$i=http://127.0.0.1:$p"
	METRICS+=("http://127.0.0.1:$c/metrics")
	eval "C$i=$c P$i=$p"
done
for i in 1 2 3; do
	eval "c=\$C$i p=\$P$i"
	etcd --name "m$i" --data-dir "$W/etcd$i" \
		--listen-client-urls "http://127.0.0.1:$c" --advertise-client-urls "http://127.0.0.1:$c" \
		--listen-peer-urls "http://127.0.0.1:$p" --initial-advertise-peer-urls "http://127.0.0.1:$p" \
		--initial-cluster "$CLUSTER" --initial-cluster-token "bench-$$" \
		--heartbeat-interval 50 --election-timeout 500 >"$W/etcd$i.log" 2>&1 &
	PIDS+=($!)
	disown $!	# not among the jobs `wait -n` waits for
done
for _ in $(seq 150); do
	ETCDCTL_API=3 etcdctl --endpoints="$EPS" endpoint health >/dev/null 2>&1 && break
	sleep 0.1
done
export LABCTL_LABS=$W/labs LABCTL_STATE_DIR=$W/state HOME=$W/home
mkdir -p "$W/labs" "$HOME/.ssh"
cat >"$W/labs/be.conf" <<EOF
[board]
type = qemu
[lock]
where = etcd
endpoints = $EPS
[variant v]
arch = amd64
EOF

# Request messages the members received so far (the gateway is a gRPC
# client: unary calls and each message on a stream, keep-alives included).
etcd_calls() {
	local m
	for m in "${METRICS[@]}"; do curl -s "$m"; done |
		awk '/^grpc_server_msg_received_total/ {s += $2} END {printf "%d\n", s}'
}

secs() {
	local s e
	s=$(date +%s%N)
	"$@" >/dev/null 2>"$W/last.err" || { cat "$W/last.err" >&2; return 1; }
	e=$(date +%s%N)
	awk -v s="$s" -v e="$e" 'BEGIN {printf "%.4f\n", (e-s)/1e9}'
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
take_release() {	# take_release LAB: one lock and one unlock
	"$LABCTL" lock "$1" --ttl 5m && "$LABCTL" unlock "$1"
}

# ---------------------------------------------------------------- ssh lab host
HAVE_SSH=
if [ "$(id -u)" = 0 ] && [ -x /usr/sbin/sshd ] && command -v flock >/dev/null; then
	unset SSH_AUTH_SOCK
	ssh-keygen -q -t ed25519 -N '' -f "$HOME/.ssh/id_ed25519"
	ssh-keygen -q -t ed25519 -N '' -f "$W/hostkey"
	cp "$HOME/.ssh/id_ed25519.pub" "$W/authorized_keys"
	SP=$(port)
	cat >"$W/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $SP
HostKey $W/hostkey
AuthorizedKeysFile $W/authorized_keys
StrictModes no
PermitRootLogin prohibit-password
UsePAM no
PidFile $W/sshd.pid
EOF
	mkdir -p /run/sshd
	/usr/sbin/sshd -D -e -f "$W/sshd_config" 2>"$W/sshd.log" &
	PIDS+=($!)
	disown $!
	for _ in $(seq 250); do grep -q 'Server listening' "$W/sshd.log" && break; sleep 0.02; done
	ssh-keyscan -p "$SP" -t ed25519 127.0.0.1 2>/dev/null >"$HOME/.ssh/known_hosts"
	cat >"$W/labs/bh.conf" <<EOF
[board]
type = pc
host = 127.0.0.1
user = root
ssh_port = $SP
identity = $HOME/.ssh/id_ed25519
[lock]
where = host
host = 127.0.0.1
dir = $W/leases
[variant v]
arch = amd64
EOF
	take_release bh >/dev/null 2>"$W/bh.err" && HAVE_SSH=1 ||
		echo "etcd lease: the ssh lab host does not work here: $(tail -n 1 "$W/bh.err")"
fi

: >"$W/e"; : >"$W/h"
take_release be >/dev/null	# warm up
for _ in $(seq "$N"); do	# alternate, so both see the same machine
	secs take_release be >>"$W/e"
	[ -n "$HAVE_SSH" ] && secs take_release bh >>"$W/h"
done
e=$(median <"$W/e")
if [ -n "$HAVE_SSH" ]; then
	h=$(median <"$W/h")
	awk -v e="$e" -v h="$h" -v n="$N" 'BEGIN {
		printf "reservation take+release x%d (median, whole processes): etcd 3 members %.1f ms, ssh lab host %.1f ms, ratio %.2fx (ssh/etcd; want >= 1)\n",
			n, e * 1000, h * 1000, h / e
	}'
else
	awk -v e="$e" -v n="$N" 'BEGIN {
		printf "reservation take+release x%d (median, whole processes): etcd 3 members %.1f ms (ssh lab host: needs root and sshd)\n", n, e * 1000
	}'
fi

# ---------------------------------------------------------------- 50 waiters
USER=holder "$LABCTL" lock be --ttl 10m >/dev/null
before=$(etcd_calls)
for i in $(seq -w 1 "$WAITERS"); do
	USER="w$i" "$LABCTL" lock be --wait 10m >"$W/w$i.out" 2>"$W/w$i.err" &
	echo "$! w$i" >>"$W/waiters"
	# Queued before the next one starts: the order is defined.
	for _ in $(seq 100); do grep -q "position" "$W/w$i.err" 2>/dev/null && break; sleep 0.02; done
done
start=$(date +%s%N)
USER=holder "$LABCTL" unlock be >/dev/null
: >"$W/order"
for _ in $(seq "$WAITERS"); do
	# The next holder: whoever's `lock --wait` returned.
	wait -n -p pid || true
	[ -n "${pid:-}" ] || break
	got=$(awk -v p="$pid" '$1 == p {print $2}' "$W/waiters")
	grep -q "reserved by $got@" "$W/$got.out" || { echo "$got: $(cat "$W/$got.err")"; break; }
	echo "$got" >>"$W/order"
	USER=$got "$LABCTL" unlock be >/dev/null
done
end=$(date +%s%N)
after=$(etcd_calls)
served=$(wc -l <"$W/order")
inorder=$(awk '{print $2}' "$W/waiters" | cmp -s - "$W/order" && echo yes || echo no)
awk -v n="$WAITERS" -v s="$served" -v o="$inorder" -v c=$((after - before)) \
	-v t=$(((end - start) / 1000000)) 'BEGIN {
	printf "%d waiters on one board: %d served (none starves: %s), first-come-first-served order kept: %s, hand-overs %.1f ms each, %.1f etcd requests per waiter (take, wait by watch, keep-alive, release)\n",
		n, s, s == n ? "yes" : "NO", o, t / n, c / n
}'
