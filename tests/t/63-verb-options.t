#!/bin/bash
# getopt_long in grubenv, power, console, chain LAB, grub install and
# reboot: --opt=value, options after the words, --, and unknown or
# malformed options refused with exit 2 naming them (before any board
# is reached: the lab's host does not exist).
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/labs"
export LABCTL_LABS=$T/labs LABCTL_STATE_DIR=$T/state
cd "$T" || exit 1
cat >"$T/labs/r.conf" <<CONF
[board]
type = pc
host = no-such-board.invalid
[variant v]
arch = i386
CONF

usage() {	# usage NAME REGEX ARGS...: exit 2, REGEX on stderr
	local name=$1 re=$2
	shift 2
	run_labctl "$@"
	is "$rc" 2 "$name: exit 2"
	like "$err" "$re" "$name: message"
}
usage "chain LAB show --bogus" "chain: show: unknown option '--bogus'" chain r show --bogus
usage "chain LAB clear -x" "chain: clear: unknown option '-x'" chain r clear -x
usage "chain LAB clear WORD" "clear: unexpected argument 'w'" chain r clear w
usage "chain LAB set --deploy=yes" "set: option '--deploy' takes no value" chain r set --deploy=yes v
usage "chain LAB set (no variant)" "set: name at least one variant" chain r set --deploy
usage "grub install --dry-run=1" "install: option '--dry-run' takes no value" grub install --dry-run=1 r
usage "grub install two labs" "install: unexpected argument 'x'" grub install r x
usage "reboot --now" "reboot: unknown option '--now'" reboot r --now
usage "reboot two labs" "unexpected argument 'x'" reboot r x
usage "power -Z" "unknown option '-Z'" power r status -Z
usage "console --map" "option '--map' needs a value" console r --map
usage "grubenv --size= missing" "option '--size' needs a value" grubenv "$T/g" create --size

# options after the words, --opt=value, and -- before a word starting with -
"$LABCTL" grubenv "$T/g" create --size=4k
is "$(stat -c %s "$T/g")" 4096 "grubenv: --size=4k after create"
"$LABCTL" grubenv "$T/g" set -- -dash=1
is "$("$LABCTL" grubenv "$T/g" list)" "-dash=1" "grubenv: -- before a NAME=VALUE starting with -"
run_labctl chain r set v --deploy
is "$rc" 3 "chain LAB set VARIANT --deploy: parsed, then the build or board fails (exit 3)"
unlike "$err" "unknown option|usage:" "... not a usage error"

done_testing
