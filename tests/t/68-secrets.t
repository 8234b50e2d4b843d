#!/bin/bash
# password_file: every reader (power ipmi, amt, http; console ipmi-sol,
# amt-sol) goes through lib/secret.c and agrees: a missing file, a
# symbolic link and an empty file are configuration errors (exit 2) that
# name the file; nothing is sent anywhere (the hosts are closed ports).
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/labs" "$T/pw"
export LABCTL_LABS=$T/labs
export LABCTL_STATE_DIR=$T/state
cd "$T" || exit 1
unset IPMI_PASSWORD AMT_PASSWORD LABCTL_HTTP_PASSWORD
port=$(free_port)

printf 'secret\n' >"$T/pw/real"
chmod 600 "$T/pw/real"
ln -s "$T/pw/real" "$T/pw/link"
: >"$T/pw/empty"
chmod 600 "$T/pw/empty"
printf '\nsecond line\n' >"$T/pw/blank"
chmod 600 "$T/pw/blank"

power_lab() { # NAME DRIVER PWFILE
	local extra="host = 127.0.0.1
port = $port"
	[ "$2" = http ] && extra="url = http://127.0.0.1:$port/"
	cat >"$T/labs/$1.conf" <<CONF
[board]
type = pc
host = board.invalid
[power]
driver = $2
$extra
user = admin
password_file = $3
timeout = 2s
CONF
	[ "$2" = http ] && sed -i 's|^driver = http|driver = http\nflavor = tasmota|' "$T/labs/$1.conf"
}
console_lab() { # NAME DRIVER PWFILE
	cat >"$T/labs/$1.conf" <<CONF
[board]
type = pc
host = board.invalid
[console]
driver = $2
host = 127.0.0.1
port = $port
user = admin
password_file = $3
CONF
}

for drv in ipmi amt http; do
	for kind in link empty blank; do
		power_lab p "$drv" "$T/pw/$kind"
		run_labctl power p status
		is "$rc" 2 "power $drv, password_file $kind: exit 2"
		case $kind in
		link) like "$err" "power driver $drv: password_file $T/pw/link is a symbolic link" \
			"power $drv: ... says it is a link, names it" ;;
		*) like "$err" "power driver $drv: password_file $T/pw/$kind is empty" \
			"power $drv: ... says it is empty, names it" ;;
		esac
	done
done
power_lab p ipmi "$T/pw/missing"
run_labctl power p status
is "$rc" 2 "power ipmi, a missing password_file: exit 2"
like "$err" "password_file $T/pw/missing" "power ipmi: ... names it"
power_lab p ipmi "$T/pw/real"
chmod 000 "$T/pw/real"
if ! cat "$T/pw/real" >/dev/null 2>&1; then
	run_labctl power p status
	is "$rc" 2 "power ipmi, an unreadable password_file: exit 2"
	like "$err" "cannot open password_file $T/pw/real" "power ipmi: ... names it"
else
	skip "root reads a mode 000 file"
fi
chmod 600 "$T/pw/real"

for drv in ipmi-sol amt-sol; do
	for kind in link empty; do
		console_lab c "$drv" "$T/pw/$kind"
		run_labctl console c --no-log </dev/null
		is "$rc" 2 "console $drv, password_file $kind: exit 2"
		case $kind in
		link) like "$err" "console driver $drv: password_file $T/pw/link is a symbolic link" \
			"console $drv: ... says it is a link, names it" ;;
		*) like "$err" "console driver $drv: password_file $T/pw/$kind is empty" \
			"console $drv: ... says it is empty, names it" ;;
		esac
	done
done

done_testing
