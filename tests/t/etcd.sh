# A real etcd cluster on loopback for the etcd lease tests (source after
# lib.sh).  etcd_cluster N [tls]: N members on free ports, data in $T,
# stopped by PID at exit; sets ETCD_PID[i], ETCD_URL[i] (client URL) and
# ETCD_ENDPOINTS (all, comma-separated).  With tls, a CA, server and
# client certificates made with openssl in $T/pki; clients must present
# one (--client-cert-auth).
command -v etcd >/dev/null || skip_all "no etcd (Debian etcd-server)"
command -v etcdctl >/dev/null || skip_all "no etcdctl (Debian etcd-client)"
export ETCDCTL_API=3
declare -a ETCD_PID ETCD_URL ETCD_PEER
ETCD_ENDPOINTS=
ETCD_TLS=

etcd_pki() {
	local d=$T/pki
	mkdir -p "$d"
	(
		cd "$d" || exit 1
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=labctl-test-ca \
			-keyout ca.key -out ca.crt 2>/dev/null
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >san.ext
		openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
			-keyout server.key -out server.csr 2>/dev/null
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
			-days 2 -extfile san.ext -out server.crt 2>/dev/null
		openssl req -newkey rsa:2048 -nodes -subj /CN=labctl \
			-keyout client.key -out client.csr 2>/dev/null
		openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
			-days 2 -out client.crt 2>/dev/null
		# With auth enabled, etcd 3.4's gateway refuses a client
		# certificate that has a CommonName: one without, for that.
		openssl req -newkey rsa:2048 -nodes -subj /O=labctl \
			-keyout nocn.key -out nocn.csr 2>/dev/null
		openssl x509 -req -in nocn.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
			-days 2 -out nocn.crt 2>/dev/null
		# Another CA, whose client certificate the cluster must refuse.
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca \
			-keyout other-ca.key -out other-ca.crt 2>/dev/null
		openssl req -new -newkey rsa:2048 -nodes -subj /CN=mallory \
			-keyout other.key -out other.csr 2>/dev/null
		openssl x509 -req -in other.csr -CA other-ca.crt -CAkey other-ca.key \
			-CAcreateserial -days 2 -out other.crt 2>/dev/null
	)
}

# etcdctl against the cluster (TLS flags when it has them).
ectl() {
	if [ -n "$ETCD_TLS" ]; then
		timeout 20 etcdctl --endpoints="$ETCD_ENDPOINTS" --cacert="$T/pki/ca.crt" \
			--cert="$T/pki/client.crt" --key="$T/pki/client.key" "$@"
	else
		timeout 20 etcdctl --endpoints="$ETCD_ENDPOINTS" "$@"
	fi
}

# A free port below the ephemeral range (32768 and up), so the members'
# own outgoing connections cannot take it before a member binds it.
etcd_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 12000))
		case " $ETCD_USED " in *" $p "*) continue;; esac
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
		ETCD_USED+=" $p"
		echo "$p"
		return
	done
	echo 0
}
ETCD_USED=

# One try at starting the members; 0 when all answer (bounded: 15 s).
etcd_start() {
	local n=$1 tls=$2 i cluster= scheme=http deadline token=labctl-t-$$-$RANDOM
	[ -n "$tls" ] && scheme=https
	ETCD_ENDPOINTS=
	for ((i = 1; i <= n; i++)); do
		ETCD_URL[i]=$scheme://127.0.0.1:$(etcd_port)
		ETCD_PEER[i]=http://127.0.0.1:$(etcd_port)
		cluster+="${cluster:+,}m$i=${ETCD_PEER[i]}"
		ETCD_ENDPOINTS+="${ETCD_ENDPOINTS:+,}${ETCD_URL[i]}"
	done
	for ((i = 1; i <= n; i++)); do
		local -a tlsargs=()
		[ -n "$tls" ] && tlsargs=(--cert-file "$T/pki/server.crt" --key-file "$T/pki/server.key"
			--trusted-ca-file "$T/pki/ca.crt" --client-cert-auth)
		rm -rf "$T/etcd$i"
		etcd --name "m$i" --data-dir "$T/etcd$i" \
			--listen-client-urls "${ETCD_URL[i]}" --advertise-client-urls "${ETCD_URL[i]}" \
			--listen-peer-urls "${ETCD_PEER[i]}" --initial-advertise-peer-urls "${ETCD_PEER[i]}" \
			--initial-cluster "$cluster" --initial-cluster-state new \
			--initial-cluster-token "$token" \
			--heartbeat-interval 50 --election-timeout 500 "${tlsargs[@]}" \
			>"$T/etcd$i.log" 2>&1 &
		ETCD_PID[i]=$!
		disown "${ETCD_PID[i]}"	# no "Killed" notices from the shell
		at_exit "kill -KILL ${ETCD_PID[i]}"
	done
	deadline=$(($(date +%s) + 15))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		for ((i = 1; i <= n; i++)); do
			kill -0 "${ETCD_PID[i]}" 2>/dev/null || {
				diag "etcd member $i exited: $(tail -n 1 "$T/etcd$i.log")"
				return 1
			}
		done
		ectl --dial-timeout=1s --command-timeout=2s endpoint health >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	diag "etcd cluster did not come up in 15 s:" "$(tail -n 2 "$T/etcd1.log")"
	return 1
}

etcd_cluster() {
	local n=$1 tls=${2:-} try i
	[ -n "$tls" ] && { ETCD_TLS=1; etcd_pki; }
	for try in 1 2 3; do
		etcd_start "$n" "$tls" && return 0
		for ((i = 1; i <= n; i++)); do etcd_kill "$i"; done
	done
	return 1
}

etcd_kill() {	# etcd_kill I: SIGKILL member I
	kill -KILL "${ETCD_PID[$1]}" 2>/dev/null
	for _ in $(seq 1 50); do
		kill -0 "${ETCD_PID[$1]}" 2>/dev/null || return 0
		sleep 0.1
	done
}

# wait_key KEY: until KEY exists (bounded, 10 s); 0 when it does.
wait_key() {
	for _ in $(seq 1 100); do
		[ -n "$(ectl get --keys-only "$1" 2>/dev/null)" ] && return 0
		sleep 0.1
	done
	return 1
}

# The etcd lease (hex, as etcdctl takes it) of KEY.
key_lease_hex() {
	ectl get "$1" -w json | perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>); printf "%x\n", $j->{kvs}[0]{lease}'
}
