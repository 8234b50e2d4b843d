#!/bin/bash
# ssh/ (libssh session, exec, SFTP) against a real OpenSSH sshd on
# loopback, through a small driver (ssh-driver.c) that makes one API call
# per run.  HOME is $T/home, so the client's ~/.ssh is the test's (libssh
# itself would look in the passwd entry's home: ssh/ must not).
#   run       stdout, stderr, exit status, a signal, stdin, awkward
#             arguments byte-identical, command timeout, keepalives
#   host keys unknown (nothing runs) and changed keys refused with the
#             fingerprint and "labctl trust NAME"; trust writes known_hosts
#   auth      a key the server does not take: the message names user,
#             host and the methods offered
#   network   a blackholed address (a netns route into lo) fails within
#             the connect timeout as an infrastructure error; a jump host
#             (a second sshd, `ssh -W`)
#   SFTP      64 MiB put sha256-identical, mode, no temp left; replacing
#             a file while a reader watches (old or new, never half);
#             SIGKILL mid-upload (netns with a tc rate limit) leaves the
#             old file whole; read of a missing file, size limit, mkdir -p,
#             unlink, rename, write
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "sshd needs root"
[ -x /usr/sbin/sshd ] || skip_all "no /usr/sbin/sshd"
command -v ssh-keygen >/dev/null || skip_all "no ssh-keygen"
SFTP_SERVER=/usr/lib/openssh/sftp-server
[ -x "$SFTP_SERVER" ] || skip_all "no $SFTP_SERVER"
LIBCORE=${LABCTL_LIBCORE:-$TOP/build/check/libcore.a}
[ -f "$LIBCORE" ] || skip_all "no $LIBCORE (make BUILD_KIND=check first)"

ok "compile the test driver against $(basename "$LIBCORE")" \
	cc -std=c11 -D_GNU_SOURCE -I"$TOP" -o "$T/drv" \
	"$TOP/tests/t/ssh-driver.c" "$LIBCORE" \
	$LIBCORE_LIBS -fsanitize=address,undefined
[ -x "$T/drv" ] || { done_testing; exit 1; }

export HOME=$T/home
unset SSH_AUTH_SOCK
mkdir -p "$HOME/.ssh" /run/sshd
chmod 700 "$HOME/.ssh"
ssh-keygen -q -t ed25519 -N '' -C labctl-test -f "$HOME/.ssh/id_ed25519"
ssh-keygen -q -t ed25519 -N '' -C stranger -f "$T/stranger"
cp "$HOME/.ssh/id_ed25519.pub" "$T/authorized_keys"
KH=$HOME/.ssh/known_hosts


# start_sshd NAME PORT LOGLEVEL [NSENTER...]: sshd NAME with its own host
# key; SSHD_PID is its pid.  Waits (bounded) for "Server listening".
# (At DEBUG1 an sshd started with -e also sends its session's log lines
# to the client's stderr: only the jump host logs that much.)
start_sshd() {
	local name=$1 port=$2 level=$3
	shift 3
	[ -f "$T/$name.key" ] || ssh-keygen -q -t ed25519 -N '' -f "$T/$name.key"
	cat >"$T/$name.conf" <<EOF
ListenAddress 127.0.0.1
Port $port
HostKey $T/$name.key
AuthorizedKeysFile $T/authorized_keys
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
PidFile $T/$name.pid
Subsystem sftp $SFTP_SERVER
LogLevel $level
EOF
	: >"$T/$name.log"
	"$@" /usr/sbin/sshd -D -e -f "$T/$name.conf" >"$T/$name.log" 2>&1 &
	SSHD_PID=$!
	at_exit "kill $SSHD_PID"
	for _ in $(seq 250); do
		grep -aq 'Server listening' "$T/$name.log" && return 0
		kill -0 "$SSHD_PID" 2>/dev/null || break
		sleep 0.02
	done
	diag "sshd $name did not start: $(tail -5 "$T/$name.log")"
	return 1
}

PORT=$(free_port)
start_sshd board "$PORT" INFO
ok "sshd runs on 127.0.0.1:$PORT" kill -0 "$SSHD_PID"
KEYLINE="[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$T/board.key.pub")"
FP=$(ssh-keygen -lf "$T/board.key.pub" | cut -d' ' -f2)
FP_RE=$(printf '%s' "$FP" | sed 's/[][\\.*^$+?(){}|/]/\\&/g')	# base64 has + and /

# drv ARGS...: the driver against the board; sets out, err, rc
drv() {
	timeout -k 5 "${DRV_TIMEOUT:-60}" "$T/drv" "$@" >"$T/d.out" 2>"$T/d.err"
	rc=$?
	out=$(tr -d '\0' <"$T/d.out")
	err=$(tr -d '\0' <"$T/d.err")
}
B=(127.0.0.1 "$PORT" root)

# ---------------------------------------------------------------- host keys
rm -f "$KH"
drv -n hp2540p "${B[@]}" run -- touch "$T/ran"
is "$rc" 13 "unknown host key: an infrastructure error (exit 3 + 10)"
like "$err" "board hp2540p \\(root@127\\.0\\.0\\.1:$PORT\\): host key unknown: ssh-ed25519 $FP_RE; check it, then accept it with: labctl trust hp2540p" \
	"unknown host key: names the board, the fingerprint and labctl trust"
ok "unknown host key: nothing ran" test ! -e "$T/ran"

drv -n hp2540p "${B[@]}" trust
is "$out" "state unknown
fingerprint ssh-ed25519 $FP" "trust (dry): state unknown and the fingerprint"
ok "trust (dry): known_hosts not written" test ! -e "$KH"
drv -n hp2540p "${B[@]}" trust write
is "$rc" 0 "trust write succeeds"
is "$(cut -d' ' -f1,2,3 "$KH" 2>/dev/null)" "$KEYLINE" "trust write: known_hosts has the board's key"
drv -n hp2540p "${B[@]}" trust
is "$out" "state known
fingerprint ssh-ed25519 $FP" "trust again: the key is known"
drv -n hp2540p "${B[@]}" connect
is "$out" "connected root@127.0.0.1:$PORT" "connect after trust: works, from HOME's ~/.ssh"

# a changed key: another board answers under the same name
ssh-keygen -q -t ed25519 -N '' -f "$T/impostor.key"
echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$T/impostor.key.pub")" >"$KH"
drv -n hp2540p "${B[@]}" run -- touch "$T/ran"
is "$rc" 13 "changed host key: an infrastructure error"
like "$err" "host key CHANGED: the board now shows ssh-ed25519 $FP_RE.*may be an attack, or the board was reinstalled.*labctl trust hp2540p" \
	"changed host key: says CHANGED, attack or reinstall, and labctl trust"
ok "changed host key: nothing ran" test ! -e "$T/ran"
drv -n hp2540p "${B[@]}" trust write
is "$(grep -c . "$KH")" 1 "trust write on a changed key: the old line is replaced"
is "$(cut -d' ' -f1,2,3 "$KH")" "$KEYLINE" "trust write on a changed key: the new key is in"
drv -n hp2540p "${B[@]}" connect
is "$rc" 0 "connect after re-trust works"

# ~/.ssh/config applies (a Host alias: HostName, Port, User); the lab's
# explicit values win over it
printf 'Host hpalias\n  HostName 127.0.0.1\n  Port %s\n  User root\n' "$PORT" >"$HOME/.ssh/config"
drv -n hp2540p hpalias 0 "" connect
is "$rc/$out" "0/connected root@127.0.0.1:$PORT" "~/.ssh/config: a Host alias with HostName, Port and User"
drv -n hp2540p -c 3000 hpalias "$(free_port)" root connect
like "$err" "board hp2540p \\(root@127\\.0\\.0\\.1:[0-9]+\\): cannot connect" "~/.ssh/config: an explicit port wins"
unlike "$err" ":$PORT\\)" "~/.ssh/config: ... not the config's"
rm -f "$HOME/.ssh/config"

# ---------------------------------------------------------------- auth
drv -n hp2540p -d "$T/nokeys" -k "$KH" -i "$T/stranger" "${B[@]}" connect
is "$rc" 13 "a key the server refuses: infrastructure error"
like "$err" "board hp2540p \\(root@127\\.0\\.0\\.1:$PORT\\): authentication refused for user root: .*tried $T/stranger.*the server offers: publickey, password" \
	"auth refused: names user, host, the key tried and the methods offered"
drv -n hp2540p -d "$T/nokeys" -k "$KH" -i "$HOME/.ssh/id_ed25519" "${B[@]}" connect
is "$rc" 0 "identity: an explicit key file authenticates"

# ---------------------------------------------------------------- run
# The jump host of the network tests; its log shows keepalives too.
JPORT=$(free_port)
[ "$JPORT" = "$PORT" ] && JPORT=$((PORT + 1))
start_sshd jump "$JPORT" DEBUG1
echo "[127.0.0.1]:$JPORT $(cut -d' ' -f1,2 "$T/jump.key.pub")" >>"$KH"

drv -S "$T/st" "${B[@]}" run -- sh -c 'echo out; echo err >&2; exit 3'
is "$rc/$out/$err" "0/out/err" "run: stdout and stderr apart"
is "$(cat "$T/st")" "status 3" "run: the exit status"
drv -S "$T/st" "${B[@]}" run -- sh -c 'kill -9 $$'
is "$(cat "$T/st")" "status 137" "run: killed by SIGKILL: 128 + 9"
weird=$'a b\t"c" \'d\' $(touch '"$T"$'/pwned) `id` ; | & > < * ? ~ \\ %h %% \n second line\n'
drv "${B[@]}" run -- printf '%s\0' "$weird" '' '-n' 'x=y'
printf '%s\0' "$weird" '' '-n' 'x=y' >"$T/want"
same_file "$T/d.out" "$T/want" "run: quotes, \$(), newlines, empty and option-like arguments arrive byte-identical"
ok "run: nothing in an argument was run by a shell" test ! -e "$T/pwned"
drv "${B[@]}" run -- 'FOO=bar' 2>/dev/null
like "$err" "FOO=bar: (command )?not found" "run: a first word with '=' runs as a command, not an assignment"
head -c 3000000 /dev/urandom >"$T/stdin"
drv -I "$T/stdin" "${B[@]}" run -- sha256sum
is "${out%% *}" "$(sha256sum <"$T/stdin" | cut -d' ' -f1)" "run: 3 MB of stdin arrives whole"
drv -I "$T/stdin" -S "$T/st" "${B[@]}" run -- true
is "$rc/$(cat "$T/st")" "0/status 0" "run: stdin the command never reads does not hang"
drv -t 20000 "${B[@]}" run -- sh -c 'head -c 5000000 /dev/zero >&2; echo done'
is "$rc/$out/$(stat -c %s "$T/d.err")" "0/done/5000000" "run: 5 MB on stderr alone is collected"

t0=$(date +%s%N)
drv -t 1500 -n hp2540p "${B[@]}" run -- sh -c 'echo $$ >"$1"; exec sleep 30' sh "$T/sleeper"
ms=$((($(date +%s%N) - t0) / 1000000))
# sshd refuses "signal" requests in root sessions: stop it ourselves.
[ -s "$T/sleeper" ] && at_exit "kill $(cat "$T/sleeper")"
is "$rc" 13 "command timeout: infrastructure error"
like "$err" "command timed out after 1500 ms: sh -c 'echo .* exec sleep 30' sh $T/sleeper" "command timeout: names the command"
like "$err" "error ETIMEDOUT" "command timeout: -LAB_ETIMEDOUT"
ok "command timeout: returns in time ($ms ms < 5000)" test "$ms" -lt 5000

n0=$(grep -ac 'keepalive@openssh.com' "$T/jump.log")
drv -K 1 -S "$T/st" 127.0.0.1 "$JPORT" root run -- sleep 3.5
n1=$(grep -ac 'keepalive@openssh.com' "$T/jump.log")
ok "keepalive: a quiet command gets keepalive@openssh.com ($((n1 - n0)) sent)" test $((n1 - n0)) -ge 2
is "$(cat "$T/st")" "status 0" "keepalive: the command still ends normally"

# ---------------------------------------------------------------- network
if unshare -n true 2>/dev/null; then
	t0=$(date +%s%N)
	timeout -k 5 30 unshare -n sh -c 'ip link set lo up && ip route add 10.99.0.0/24 dev lo &&
		exec "$@"' sh "$T/drv" -n hp2540p -c 1500 10.99.0.2 22 root connect >"$T/d.out" 2>"$T/d.err"
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	err=$(cat "$T/d.err")
	is "$rc" 13 "blackholed address: an infrastructure error"
	like "$err" "board hp2540p \\(root@10\\.99\\.0\\.2:22\\): no answer within 1500 ms" "blackholed address: says it timed out"
	ok "blackholed address: within the connect timeout ($ms ms < 3500)" test "$ms" -lt 3500
else
	skip "no network namespaces" ; skip "" ; skip ""
fi
drv -n hp2540p -c 3000 127.0.0.1 "$(free_port)" root connect
is "$rc" 13 "nobody listening: an infrastructure error"
like "$err" "cannot connect: .*refused" "nobody listening: connection refused"

# jump host: a second sshd; the board is reached through it (ssh -W)
drv -n hp2540p -j "root@127.0.0.1:$JPORT" "${B[@]}" run -- echo through the jump
is "$rc/$out" "0/through the jump" "jump host: the command runs"
like "$(cat "$T/jump.log")" "direct_tcpip: originator .* target 127\\.0\\.0\\.1 port $PORT" \
	"jump host: the jump sshd forwarded to the board"
drv -n hp2540p -c 3000 -j "root@127.0.0.1:$(free_port)" "${B[@]}" connect
is "$rc" 13 "jump host down: an infrastructure error"
like "$err" "jump host: ssh: connect to host 127\\.0\\.0\\.1 port [0-9]+: Connection refused" \
	"jump host down: the message has ssh's own reason"

# ---------------------------------------------------------------- SFTP
R=$T/remote
mkdir -p "$R"
head -c 67108864 /dev/urandom >"$T/big"
t0=$(date +%s%N)
drv -p "${B[@]}" put "$T/big" "$R/xmhf.bin" 0755
ms=$((($(date +%s%N) - t0) / 1000000))
is "$rc" 0 "put 64 MiB succeeds"
is "$(sha256sum <"$R/xmhf.bin" 2>/dev/null)" "$(sha256sum <"$T/big")" "put 64 MiB: sha256-identical"
is "$(stat -c %a "$R/xmhf.bin" 2>/dev/null)" 755 "put: the mode is set"
is "$(ls -A "$R")" "xmhf.bin" "put: no temporary left behind"
is "$(grep '^progress' "$T/d.out" | tail -1)" "progress 67108864 67108864" "put: progress ends at the total"
like "$err" "bytes 67108864" "put: bytes_sent counts the payload"
np=$(grep -c '^progress' "$T/d.out")
ok "put: progress at most ~10 a second ($np calls in $ms ms)" test "$np" -ge 1 -a "$np" -le $((ms / 100 + 2))

# replace while a reader watches: it sees the old or the new file whole
head -c 67108864 /dev/urandom >"$T/big2"
old=$(sha256sum <"$T/big" | cut -d' ' -f1)
new=$(sha256sum <"$T/big2" | cut -d' ' -f1)
(while [ ! -e "$T/stop" ]; do sha256sum <"$R/xmhf.bin" | cut -d' ' -f1; done >"$T/seen") &
reader=$!
at_exit "kill $reader"
drv "${B[@]}" put "$T/big2" "$R/xmhf.bin" 0644
touch "$T/stop"
wait "$reader"
is "$rc" 0 "replace an existing file: succeeds"
is "$(sha256sum <"$R/xmhf.bin" | cut -d' ' -f1)" "$new" "replace: the new content is in place"
is "$(sort -u "$T/seen" | grep -cvx -e "$old" -e "$new")" 0 \
	"replace: a reader saw only the old or the new file ($(wc -l <"$T/seen") reads)"
is "$(stat -c %a "$R/xmhf.bin")" 644 "replace: the new mode"

drv -n hp2540p "${B[@]}" read "$R/missing"
is "$rc" 12 "read of a missing file: ENOENT (a usage-class error)"
like "$err" "board hp2540p \\(root@127\\.0\\.0\\.1:$PORT\\): cannot open $R/missing: no such file or directory" \
	"read of a missing file: names the file"
printf 'grub\0env\n' >"$R/small"
drv "${B[@]}" read "$R/small"
same_file "$T/d.out" "$R/small" "read: a small binary file"
head -c 300000 /dev/urandom >"$R/medium"
drv "${B[@]}" read "$R/medium"
same_file "$T/d.out" "$R/medium" "read: 300 kB in several requests"
drv "${B[@]}" read "$R/medium" 1000
is "$rc" 12 "read over the limit: refused"
like "$err" "larger than 1000 bytes" "read over the limit: says so"
drv "${B[@]}" write "$R/deep/er/file" "x"
is "$rc" 12 "write into a missing directory: ENOENT"
is "$(ls -A "$R")" "medium
small
xmhf.bin" "write into a missing directory: nothing left behind"
drv "${B[@]}" mkdir "$R/deep/er"
is "$rc/$(stat -c %F "$R/deep/er" 2>/dev/null)" "0/directory" "mkdir -p makes the parents"
drv "${B[@]}" mkdir "$R/deep/er"
is "$rc" 0 "mkdir -p of an existing directory: fine"
drv "${B[@]}" mkdir "$R/small/x"
is "$rc" 13 "mkdir -p under a file: fails"
like "$err" "$R/small is not a directory" "mkdir -p under a file: names the file in the way"
drv "${B[@]}" write "$R/deep/er/file" $'next_entry=XMHF\n' 0600
is "$rc/$(cat "$R/deep/er/file")/$(stat -c %a "$R/deep/er/file")" "0/next_entry=XMHF/600" "write: content and mode"
drv "${B[@]}" rename "$R/deep/er/file" "$R/small"
is "$rc/$(cat "$R/small")" "0/next_entry=XMHF" "rename over an existing file replaces it (posix-rename)"
drv "${B[@]}" unlink "$R/small"
is "$rc" 0 "unlink"
ok "unlink: gone" test ! -e "$R/small"
drv "${B[@]}" unlink "$R/small"
is "$rc" 0 "unlink of a missing file: fine"
drv "${B[@]}" put "$T/big" "$R/"
is "$rc" 12 "put to a directory name: refused (EINVAL)"
chattr +i "$R/medium" 2>/dev/null && {
	drv "${B[@]}" write "$R/medium" "x"
	is "$rc" 13 "replace an immutable file: fails"
	chattr -i "$R/medium"
	is "$(ls -A "$R" | grep -c labctl-)" 0 "replace an immutable file: the temporary is removed"
}

# SIGKILL mid-upload: a netns whose loopback is rate-limited (tc tbf),
# with its own sshd; the old file must stay whole under its name.
if unshare -n true 2>/dev/null && command -v tc >/dev/null && command -v nsenter >/dev/null; then
	unshare -n sleep 600 &
	NS=$!
	at_exit "kill $NS"
	sleep 0.1
	NSE=(nsenter -t "$NS" -n)
	# An MTU below tbf's burst: bigger packets would be dropped.
	"${NSE[@]}" ip link set lo up mtu 1500
	if "${NSE[@]}" tc qdisc add dev lo root tbf rate 40mbit burst 32kb latency 100ms 2>/dev/null; then
		start_sshd slow 2222 INFO "${NSE[@]}"
		echo "[127.0.0.1]:2222 $(cut -d' ' -f1,2 "$T/slow.key.pub")" >>"$KH"
		cp "$T/big" "$R/slow.bin"
		head -c 16777216 /dev/urandom >"$T/mid"
		"${NSE[@]}" timeout -k 5 60 "$T/drv" -p 127.0.0.1 2222 root put "$T/mid" "$R/slow.bin" >"$T/slow.out" 2>"$T/slow.err" &
		up=$!
		for _ in $(seq 500); do
			last=$(grep '^progress' "$T/slow.out" | tail -1 | cut -d' ' -f2)
			[ "${last:-0}" -ge 2000000 ] && break
			kill -0 "$up" 2>/dev/null || break
			sleep 0.02
		done
		ok "slow upload: under way (${last:-0} bytes acknowledged)" test "${last:-0}" -ge 2000000 -a "${last:-0}" -lt 16777216
		pkill -KILL -P "$up" 2>/dev/null
		kill -KILL "$up" 2>/dev/null
		wait "$up" 2>/dev/null
		sleep 0.5
		is "$(sha256sum <"$R/slow.bin" | cut -d' ' -f1)" "$old" "SIGKILL mid-upload: the old file is whole under its name"
		like "$(ls -A "$R")" "\\.slow\\.bin\\.labctl-[0-9a-f]{12}" "SIGKILL mid-upload: the partial upload is only a temporary"
		# The next upload works and replaces it.
		DRV_TIMEOUT=60 drv 127.0.0.1 "$PORT" root put "$T/mid" "$R/slow.bin"
		is "$(sha256sum <"$R/slow.bin" | cut -d' ' -f1)" "$(sha256sum <"$T/mid" | cut -d' ' -f1)" "after the kill, a new upload replaces the file"
	else
		skip "no tc tbf"; skip ""; skip ""; skip ""
	fi
else
	skip "no netns/tc/nsenter"; skip ""; skip ""; skip ""
fi

done_testing
