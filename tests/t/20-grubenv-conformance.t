#!/bin/bash
# labctl grubenv against the real grub-editenv: random create/set/unset/
# list sequences must give byte-identical files and identical list output
# (see grubenv-gen.pl; GRUBENV_SEED repeats a run, GRUBENV_SEQUENCES sets
# how many sequences run).
. "$(dirname "$0")/lib.sh"

command -v grub-editenv >/dev/null 2>&1 || skip_all "grub-editenv is not installed"
command -v perl >/dev/null 2>&1 || skip_all "perl is not installed"
[ -x "$LABCTL" ] || skip_all "$LABCTL is not built"

# Both tools fsync every write; on tmpfs that costs nothing, and this test
# is about bytes, not durability.
W=$T
if [ -d /dev/shm ] && [ -w /dev/shm ] && W=$(mktemp -d /dev/shm/labctl-t.XXXXXX 2>/dev/null); then
	at_exit "rm -rf '$W'"
else
	W=$T
fi

LABCTL=$LABCTL perl "$(dirname "$0")/grubenv-gen.pl" "$W"
