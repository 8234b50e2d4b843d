# The Debian 12 twin for tests/t/97-twin*.t (bash; source after lib.sh).
#
#   why=$(twin_check) || skip_all "$why"
#   twin_image              build (once per machine, ~95 s cold) or reuse it
#   twin_start              a twin of its own from the saved state (seconds),
#                           a lab host sshd beside it; stopped by PID at exit.
#                           Sets HOME (known_hosts for both), LABCTL_LABS with
#                           labs/twin.conf on this twin's ports (TWIN_LAB).
#   twin_ssh CMD...         OpenSSH into the twin as lab
#   twin_lab_append TEXT    more lines for the lab file
# The image cache is scripts/twin-image's ($LABCTL_TWIN_CACHE, else
# ~/.cache/labctl/twin): kept across tests and clones on purpose.

twin_check() {
	local p
	for p in qemu-system-x86_64 qemu-img zstd pdudaemon socat ssh /usr/sbin/sshd curl; do
		command -v "$p" >/dev/null 2>&1 || { echo "no $p"; return 1; }
	done
	if [ "$(id -u)" != 0 ] && [ ! -s "$("$TOP/scripts/twin-image" --dir)/state.zst" ]; then
		echo "the twin image is not built and building it needs root (scripts/twin-image)"
		return 1
	fi
	return 0
}

twin_image() {
	TWIN_IMG=$(HOME=${TWIN_REAL_HOME:-$HOME} "$TOP/scripts/twin-image" 2>"$T/twin-image.err")
}

twin_start() {
	local sp cp up lh
	TWIN_REAL_HOME=${TWIN_REAL_HOME:-$HOME}
	sp=$(free_port); cp=$(free_port); up=$(free_port); lh=$(free_port)
	# Stopped at exit even when the start is interrupted half-way.
	at_exit "HOME=$TWIN_REAL_HOME $TOP/scripts/twin-vm stop $T/vm"
	HOME=$TWIN_REAL_HOME "$TOP/scripts/twin-vm" start "$T/vm" --ssh-port "$sp" \
		--console-port "$cp" --pdu-port "$up" --lab-host "$lh" \
		>"$T/twin-start.out" 2>&1 || return 1
	# shellcheck disable=SC1091
	. "$T/vm/env"
	export HOME=$T/home
	mkdir -p "$HOME/.ssh" "$T/labs"
	{
		echo "[127.0.0.1]:$TWIN_SSH_PORT $TWIN_HOSTKEY"
		echo "[127.0.0.1]:$TWIN_LAB_HOST_PORT $TWIN_LAB_HOST_KEY"
	} >"$HOME/.ssh/known_hosts"
	export LABCTL_LABS=$T/labs LABCTL_IMAGES=$T/images
	export LABCTL_HYPERVISOR_DIR=$TOP/hypervisor
	cd "$T" || return 1
	TWIN_LAB=$T/labs/twin.conf
	sed -e "s/^ssh_port = 10022/ssh_port = $TWIN_SSH_PORT/" \
		-e "s/^port = 10023/port = $TWIN_CONSOLE_PORT/" \
		-e "s|^url = http://127.0.0.1:16421|url = http://127.0.0.1:$TWIN_PDU_PORT|" \
		-e "s/^ssh_port = 10024/ssh_port = $TWIN_LAB_HOST_PORT/" \
		-e "s|^identity = .*|identity = $TWIN_KEY|" \
		-e "s|^ttl = 10m|ttl = 10m\ndir = $T/leases|" \
		"$TOP/labs/twin.conf" >"$TWIN_LAB"
}

twin_lab_append() { printf '%s\n' "$*" >>"$TWIN_LAB"; }

twin_ssh() {
	ssh -q -p "$TWIN_SSH_PORT" -i "$TWIN_KEY" -o BatchMode=yes \
		-o ConnectTimeout=5 -o UserKnownHostsFile="$HOME/.ssh/known_hosts" \
		lab@127.0.0.1 "$@"
}

# twin_wait_ssh SECONDS: until the twin answers ssh again
twin_wait_ssh() {
	local end=$((SECONDS + $1))
	while [ $SECONDS -lt "$end" ]; do
		twin_ssh true 2>/dev/null && return 0
		sleep 2
	done
	return 1
}
