#!/bin/bash
# man/labctl.1 documents where labctl looks (issue 12): every environment
# variable the C sources read (getenv("NAME"), and NAME in a
# `#define ..._ENV "NAME"` or `#define ENV_... "NAME"` handed to getenv)
# is in ENVIRONMENT, with NO_COLOR and XDG_CONFIG_HOME; FILES names every
# place labctl reads or writes; SEE ALSO names labctl-rules(5).
. "$(dirname "$0")/lib.sh"

M=$TOP/man/labctl.1
section() { sed -n "/^\\.SH $1\$/,/^\\.SH /p" "$M" | sed '$d'; }
env_sec=$(section ENVIRONMENT)
files_sec=$(section FILES)
see_sec=$(sed -n '/^\.SH SEE ALSO$/,$p' "$M")

srcs=$(find "$TOP" -path "$TOP/tests" -prune -o -path "$TOP/build" -prune -o \
	-path "$TOP/hypervisor" -prune -o -name '*.[ch]' -print)
# shellcheck disable=SC2086
names=$( {
	grep -hoE 'getenv\("[A-Za-z_][A-Za-z0-9_]*"\)' $srcs | sed 's/getenv("\(.*\)")/\1/'
	grep -hE '^#define +(\w*_ENV|ENV_\w*) +"[A-Za-z_][A-Za-z0-9_]*"' $srcs |
		sed 's/.*"\(.*\)".*/\1/'
	echo NO_COLOR
	echo XDG_CONFIG_HOME
} | sort -u)
ok "found the getenv() names in the sources" test "$(wc -l <<<"$names")" -gt 10
for n in $names; do
	like "$env_sec" "(^|[^A-Za-z0-9_])$n([^A-Za-z0-9_]|\$)" "ENVIRONMENT lists $n"
done

for f in 'labs/\*\.conf' 'XDG_CONFIG_HOME/labctl/labs' 'share/labctl/labs' \
	'share/labctl/rules' '^\.I results/' '^\.I images/' '\.worktrees/' \
	'/tmp/labctl\\-<uid>/' 'leases/' '\.index\.sqlite' '\.cache/labctl' \
	'known_hosts' '/boot/xmhf/' '/etc/grub\.d/' 'grubenv'; do
	like "$files_sec" "$f" "FILES names $f"
done
like "$see_sec" '^\.BR labctl\\-rules \(5\)' "SEE ALSO names labctl-rules(5)"
like "$see_sec" '^\.BR labctl\.conf \(5\)' "SEE ALSO names labctl.conf(5)"

done_testing
