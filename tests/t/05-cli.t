#!/bin/bash
# The command skeleton: help, version, global options, exit codes, and the
# man page's synopsis matching every verb's --help word for word.
. "$(dirname "$0")/lib.sh"
cd "$TOP"

run_labctl --version
is "$rc" 0 "--version exits 0"
like "$out" '^labctl [0-9]+\.[0-9]+\.[0-9]+' "--version prints the version"

run_labctl --json version
like "$out" '^\{"version":"[^"]+"\}$' "version --json is an object"

run_labctl --help
is "$rc" 0 "--help exits 0"
like "$out" 'Commands:' "--help lists the commands"

run_labctl
is "$rc" 2 "no command: exit 2"
like "$err" 'usage: labctl' "no command: usage on stderr"

run_labctl frobnicate
is "$rc" 2 "unknown command: exit 2"
like "$err" "unknown command 'frobnicate'" "unknown command is named"

run_labctl --bogus labs
is "$rc" 2 "unknown global option: exit 2"
like "$err" "unknown option '--bogus'" "unknown option is named"

run_labctl --lab
is "$rc" 2 "--lab without a name: exit 2"

run_labctl help nosuch
is "$rc" 2 "help for an unknown command: exit 2"

# Every verb in the table: --help works, `help VERB` says the same, and the
# synopsis equals the man page's lines for that verb.
verbs=$("$LABCTL" --help | sed -n '/^Commands:/,/^$/p' | awk 'NF>1 {print $1}')
[ -n "$verbs" ] || fail "found verbs in --help"
man_synopsis() {
	# Lines inside .nf/.fi blocks that start with "labctl VERB", formatting
	# removed, as plain text.
	awk '/^\.nf/ {nf=1; next} /^\.fi/ {nf=0} nf' man/labctl.1 |
		sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' |
		grep -E "^labctl $1( |\$)"
}
for v in $verbs; do
	run_labctl "$v" --help
	is "$rc" 0 "$v --help exits 0"
	help_lines=$(printf '%s\n' "$out" | sed -n -e 's/^usage: //p' -e 's/^   or: //p')
	is "$help_lines" "$(man_synopsis "$v")" "$v: --help synopsis matches man/labctl.1"
	run_labctl help "$v"
	like "$out" "usage: labctl $v" "help $v prints its usage"
done

# Every verb that has --json output lists --json in its synopsis (and so
# in the man page, checked above); the others do not.
json_verbs="version labs show grubenv chain grub build deploy boot run log results grep diff report power reboot lock locks trust bisect matrix opt-bisect"
for v in $verbs; do
	run_labctl "$v" --help
	case " $json_verbs " in
	*" $v "*) like "$out" "^(usage|   or): labctl $v .*\[--json\]" "$v has --json: its --help lists it" ;;
	*) unlike "$out" "--json" "$v has no --json: its --help does not list it" ;;
	esac
done
for v in $json_verbs; do
	like "$verbs" "(^|[[:space:]])$v([[:space:]]|\$)" "$v (a --json verb) is in the command list"
done

# A mistyped verb: one line with the nearest verbs, not the whole help.
run_labctl resuls
is "$rc:$err" "2:labctl: unknown command 'resuls'; did you mean 'results'?" "a mistyped verb: one line, did you mean"
run_labctl -x labs
is "$rc" 2 "an unknown short global option: exit 2"
like "$err" "unknown option '-x'" "an unknown short global option: named"
is "$(printf '%s\n' "$err" | wc -l)" 3 "an unknown global option: the message and the two usage lines, not the help"

# The man pages render without warnings.
for page in man/labctl.1 man/labctl.conf.5; do
	w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
	is "$w" "" "$page renders without groff warnings"
done

# Every key of the schema is documented in labctl.conf(5).
keys=$(perl -0ne 'while (/\{\s*"(\w+)",\s*"(\w+)",\s*KEY_/g) { print "$1.$2\n" }' labctl/labschema.c)
missing=
for sk in $keys; do
	k=${sk#*.}
	grep -q "^\.BR ${k//_/_} \"" man/labctl.conf.5 || missing="$missing $sk"
done
is "$missing" "" "every lab key is documented in man/labctl.conf.5"

# Global options are taken among a verb's arguments too.
run_labctl labs --json
is "$rc" 0 "labs --json (flag after the verb) exits 0"
like "$out" '^\[' "labs --json after the verb gives JSON"

# Writing to a closed stdout is an error, not a silent success.
"$LABCTL" --help >/dev/full 2>"$T/err"
rc=$?
is "$rc" 3 "write error on stdout: exit 3"
like "$(cat "$T/err")" 'error writing standard output' "write error is reported"

done_testing
