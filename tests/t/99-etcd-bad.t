#!/bin/bash
# etcd reservations, bad input (issue 17): unreachable endpoints, wrong
# certificates (a CA and certificates made with openssl here), a wrong
# password (etcd auth enabled with etcdctl), a password file anyone can
# read, settings that do not go together.  Each: the exit code, the
# message, and nothing left behind in etcd.  (About 10 s.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd.sh"
command -v openssl >/dev/null || skip_all "no openssl"

export LABCTL_LABS=$T/labs LABCTL_STATE_DIR=$T/state
mkdir -p "$T/labs"

lab() {	# lab NAME [LOCK LINES...]
	local name=$1; shift
	{
		printf '[board]\ntype = qemu\n\n[lock]\nwhere = etcd\n'
		printf '%s\n' "$@"
		printf '\n[variant v64]\narch = amd64\noptions = 0x400\n'
	} >"$T/labs/$name.conf"
}

# ---------------------------------------------------------------- unreachable
p1=$(free_port); p2=$(free_port)
lab gone "endpoints = http://127.0.0.1:$p1, 127.0.0.1:$p2"
run_labctl lock gone
is "$rc" 3 "no member listens: exit 3"
like "$err" "etcd: no endpoint answers \\(http://127.0.0.1:$p1: .*; http://127.0.0.1:$p2: .*\\)" \
	"the message names every endpoint and why"
# A member that accepts connections and never answers.
p3=$(free_port)
perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(LocalAddr => "127.0.0.1",
	LocalPort => $ARGV[0], Listen => 5, ReuseAddr => 1) or die; sleep 60' "$p3" &
mute=$!
at_exit "kill $mute"
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$p3") 2>/dev/null && break; sleep 0.1; done
lab blackhole "endpoints = http://127.0.0.1:$p3" "etcd_timeout = 500ms"
t0=$(date +%s%N)
run_labctl locks blackhole
t1=$(date +%s%N)
like "$out" "blackhole +unknown +etcd: no endpoint answers" "locks: a member that never answers is named"
ok "and given up on after etcd_timeout ($(((t1 - t0) / 1000000)) ms)" test $(((t1 - t0) / 1000000)) -lt 5000
lab noep
run_labctl lock noep
is "$rc" 2 "no endpoints: exit 2"
like "$err" "lock.where = etcd needs lock.endpoints" "and says what is missing"

# ---------------------------------------------------------------- TLS
etcd_cluster 1 tls || { fail "the etcd cluster starts"; done_testing; exit 1; }
pki=$T/pki
lab tls "endpoints = $ETCD_ENDPOINTS" "cacert = $pki/ca.crt" "cert = $pki/client.crt" "key = $pki/client.key"
run_labctl lock tls --ttl 1m
is "$rc" 0 "TLS with the CA and a client certificate it signed: locked"
run_labctl unlock tls
is "$rc" 0 "and unlocked"
lab tlsother "endpoints = $ETCD_ENDPOINTS" "cacert = $pki/ca.crt" "cert = $pki/other.crt" "key = $pki/other.key"
run_labctl lock tlsother
is "$rc" 2 "a client certificate of another CA: exit 2"
like "$err" "etcd refuses labctl's credentials \\(check \\[lock\\] cacert, cert, key, user and the password\\): https://127.0.0.1:[0-9]+: " \
	"the message says which settings to check"
lab tlsnoca "endpoints = $ETCD_ENDPOINTS" "cacert = $pki/other-ca.crt" "cert = $pki/client.crt" "key = $pki/client.key"
run_labctl lock tlsnoca
is "$rc" 2 "the server's certificate not signed by lock.cacert: exit 2"
like "$err" "etcd refuses labctl's credentials" "names the credentials"
lab tlsnocert "endpoints = $ETCD_ENDPOINTS" "cacert = $pki/ca.crt"
run_labctl lock tlsnocert
is "$rc" 2 "no client certificate where one is required: exit 2"
lab tlshalf "endpoints = $ETCD_ENDPOINTS" "cacert = $pki/ca.crt" "cert = $pki/client.crt"
run_labctl lock tlshalf
is "$rc" 2 "cert without key: exit 2"
like "$err" "lock.cert and lock.key go together" "and says so"
is "$(ectl get --prefix /labctl/ --keys-only | grep -c .)" 0 "nothing left in etcd by the refused attempts"

# ---------------------------------------------------------------- auth
ectl_root() {
	timeout 20 etcdctl --endpoints="$ETCD_ENDPOINTS" --cacert="$pki/ca.crt" \
		--cert="$pki/nocn.crt" --key="$pki/nocn.key" --user root:rootpw "$@" 2>/dev/null
}
ectl user add root:rootpw >/dev/null
ectl user add alice:alicepw >/dev/null
ectl role add labctl >/dev/null
ectl role grant-permission labctl --prefix=true readwrite /labctl/ >/dev/null
ectl user grant-role alice labctl >/dev/null
ectl auth enable >/dev/null 2>&1
ok "etcd auth is enabled" test -n "$(ectl_root user list 2>/dev/null)"
lab authnouser "endpoints = $ETCD_ENDPOINTS" "cacert = $pki/ca.crt" "cert = $pki/nocn.crt" \
	"key = $pki/nocn.key"
run_labctl lock authnouser
is "$rc" 2 "auth enabled, no lock.user: exit 2"
like "$err" "etcd refuses labctl's credentials .*user name is empty" "etcd's reason is in the message"
lab authcn "endpoints = $ETCD_ENDPOINTS" "cacert = $pki/ca.crt" "cert = $pki/client.crt" \
	"key = $pki/client.key" "user = alice"
LABCTL_ETCD_PASSWORD=alicepw run_labctl lock authcn
is "$rc" 2 "auth with a client certificate that has a CommonName: refused by the gateway, exit 2"
like "$err" "etcd refuses labctl's credentials .*CommonName" "etcd's reason is in the message"
lab auth "endpoints = $ETCD_ENDPOINTS" "cacert = $pki/ca.crt" "cert = $pki/nocn.crt" \
	"key = $pki/nocn.key" "user = alice"
LABCTL_ETCD_PASSWORD=alicepw run_labctl lock auth --ttl 1m
is "$rc" 0 "the right password from \$LABCTL_ETCD_PASSWORD: locked"
LABCTL_ETCD_PASSWORD=alicepw run_labctl unlock auth
is "$rc" 0 "and unlocked"
LABCTL_ETCD_PASSWORD=wrong run_labctl lock auth
is "$rc" 2 "a wrong password: exit 2"
like "$err" "etcd refuses labctl's credentials .*authentication failed" "etcd's reason is in the message"
unlike "$err" "wrong" "the password is not printed"
env -u LABCTL_ETCD_PASSWORD "$LABCTL" lock auth >"$T/o" 2>"$T/e"
is "$?" 2 "no password at all: exit 2"
like "$(cat "$T/e")" "needs the etcd password: set \\\$LABCTL_ETCD_PASSWORD or \\[lock\\] password_file" \
	"and says where it may come from"
printf 'alicepw\n' >"$T/pw"
chmod 0644 "$T/pw"
lab authfile "endpoints = $ETCD_ENDPOINTS" "cacert = $pki/ca.crt" "cert = $pki/nocn.crt" \
	"key = $pki/nocn.key" "user = alice" "password_file = $T/pw"
run_labctl lock authfile
is "$rc" 2 "a password file others can read: refused, exit 2"
like "$err" "password_file" "the message names the file setting"
chmod 0600 "$T/pw"
run_labctl lock authfile --ttl 1m
is "$rc" 0 "the same file, mode 0600: locked"
run_labctl locks authfile
like "$out" "authfile +reserved" "locks reads through auth"
is "$(ectl_root get --prefix /labctl/lock/auth --keys-only | grep -v authfile | grep -c .)" 0 \
	"the refused attempts left nothing in etcd"

done_testing
