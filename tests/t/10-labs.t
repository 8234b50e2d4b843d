#!/bin/bash
# Lab files through the real binary: `labctl labs` (list, --json, broken
# files), `labctl show` (text and JSON, no secrets, the repo's labs),
# lab selection (name, path, --lab, $LABCTL_LAB) and every kind of bad lab
# file: "labctl: FILE:LINE: message" on stderr, exit 2, nothing on stdout.
# (Perl code goes in single quotes; lib.sh sets rc, out and err.)
# shellcheck source=tests/t/lib.sh disable=SC2016,SC2154
. "$(dirname "$0")/lib.sh"

# JSON on stdin must parse; prints what the perl snippet $1 prints ($j is
# the decoded value).
json() {
	perl -MJSON::PP -e '
		local $/; my $t = <STDIN>;
		my $j = eval { JSON::PP->new->utf8->decode($t) };
		if (!defined $j) { print "INVALID JSON: $@"; exit 1 }
		eval $ARGV[0]; die $@ if $@;' "${1:-}"
}
json_ok() { printf '%s' "$1" | json '' >/dev/null; }
# contains TEXT LITERAL NAME: LITERAL (may span lines) is in TEXT.  (like
# is grep, line by line: a pattern with a newline would match anything.)
contains() {
	if [[ "$1" == *"$2"* ]]; then pass "$3"
	else fail "$3" "got:  '$1'" "want to contain: '$2'"; fi
}

mkdir -p "$T/labs" "$T/work"
export LABCTL_LABS="$T/labs"
unset LABCTL_LAB
cd "$T/work" || exit 1

cat >"$T/labs/alpha.conf" <<'EOF'
# A QEMU board with defaults everywhere.
[board]
description = the alpha board
EOF
cat >"$T/labs/beta.conf" <<'EOF'
[board]
type = laptop
host = beta-host
description = beta: "quoted" \ and café

[power]
driver = http
url = http://admin@pdu.example/outlets
port = 3

[console]
driver = tcp
host = ser2net
port = 7001

[variant one]
recipe = xmhf64
src = /src/xmhf64
EOF

# ------------------------------------------------------------ labctl labs
run_labctl labs
is "$rc" 0 "labs: exit 0"
is "$err" "" "labs: nothing on stderr"
like "$out" '^LAB +BOARD +VARIANTS +DESCRIPTION' "labs: header line"
like "$out" '^alpha +qemu +0 +the alpha board$' "labs: alpha listed"
like "$out" '^beta +laptop +1 +beta: "quoted"' "labs: beta listed"
unlike "$out" 's3cret' "labs: no secret"

run_labctl labs --json
is "$rc" 0 "labs --json: exit 0"
ok "labs --json parses" json_ok "$out"
got=$(printf '%s' "$out" | json 'print join ",", map { "$_->{name}:$_->{board}:$_->{variants}:" . ($_->{valid} ? "valid" : "invalid") } grep { $_->{path} =~ m{^\Q'"$T"'/labs/} } @$j')
is "$got" "alpha:qemu:0:valid,beta:laptop:1:valid" "labs --json: names, boards, variants"

run_labctl labs extra
is "$rc" 2 "labs with an argument: exit 2"

# A broken file: still listed, as invalid, and the exit code says so.
printf '[board]\nfoo = 1\n' >"$T/labs/gamma.conf"
run_labctl labs
is "$rc" 2 "labs with a broken lab: exit 2"
like "$out" '^alpha +qemu' "labs with a broken lab: the good ones are still listed"
like "$out" "^gamma +\\? +\\? +invalid: $T/labs/gamma.conf:2: \\[board\\]: unknown key 'foo'\$" \
	"labs: the broken lab's row says invalid: FILE:LINE: why"
run_labctl labs --json
is "$rc" 2 "labs --json with a broken lab: exit 2"
ok "labs --json with a broken lab parses" json_ok "$out"
got=$(printf '%s' "$out" | json 'for (@$j) { print "$_->{valid}|$_->{error}" if $_->{name} eq "gamma" }')
is "$got" "0|$T/labs/gamma.conf:2: [board]: unknown key 'foo'" "labs --json: valid false and the error"
rm "$T/labs/gamma.conf"

# Labs earlier on the path hide later ones of the same name.
mkdir -p "$T/labs2"
printf '[board]\ndescription = shadowed\n' >"$T/labs2/alpha.conf"
LABCTL_LABS="$T/labs:$T/labs2" run_labctl labs
unlike "$out" 'shadowed' "labs: an earlier directory hides a later lab of the same name"

# No labs at all.
mkdir -p "$T/empty"
cd "$T/empty" || exit 1
# A labctl outside any tree and not installed: no labs but the user's.
mkdir -p "$T/bin" && cp "$LABCTL" "$T/bin/labctl"
LABCTL_LABS="$T/empty" LABCTL="$T/bin/labctl" run_labctl labs
is "$rc" 0 "labs with no lab files: exit 0"
like "$out" '^no lab files found' "labs with no lab files: says so"
LABCTL_LABS="$T/empty" run_labctl labs
like "$out" '(^|\n)qemu +qemu ' "labs: a labctl in build/KIND/bin of a tree finds the tree's labs from any directory"
cd "$T/work" || exit 1

# ---------------------------------------------------------- labctl show
run_labctl show alpha
is "$rc" 0 "show alpha: exit 0"
like "$out" "^# lab alpha \\($T/labs/alpha.conf\\)" "show: header names the lab and its file"
contains "$out" $'\n[board]\ntype = qemu  ; (default)\ndescription = the alpha board\n' \
	"show: values and defaults, marked"
contains "$out" $'\n[power]\ndriver = qemu  ; (default)\n' "show: board-type default driver"

run_labctl show beta
is "$rc" 0 "show beta: exit 0"
contains "$out" $'\nurl = http://admin@pdu.example/outlets\n' "show: URL with a user name"
contains "$out" $'\n[variant one]\nrecipe = xmhf64\nsrc = /src/xmhf64\n' "show: variant"
unlike "$out" 'memory' "show: keys the board type does not take are left out"

run_labctl show beta --json
is "$rc" 0 "show --json: exit 0"
ok "show --json parses" json_ok "$out"
got=$(printf '%s' "$out" | json 'binmode STDOUT, ":utf8"; print join "|", $j->{name}, $j->{board}{type}, $j->{board}{description}, $j->{power}{url}, $j->{variants}[0]{name}, $j->{variants}[0]{src}')
is "$got" 'beta|laptop|beta: "quoted" \ and café|http://admin@pdu.example/outlets|one|/src/xmhf64' \
	"show --json: values, quotes and UTF-8 intact"

# show's text output is itself a valid lab file with the same meaning.
run_labctl show beta
printf '%s\n' "$out" >"$T/labs/beta2.conf"
run_labctl show beta2 --json
a=$(printf '%s' "$out" | json 'delete @$j{qw(name path)}; print JSON::PP->new->canonical->encode($j)')
run_labctl show beta --json
b=$(printf '%s' "$out" | json 'delete @$j{qw(name path)}; print JSON::PP->new->canonical->encode($j)')
is "$a" "$b" "show output parses back to the same lab"
rm "$T/labs/beta2.conf"

# --------------------------------------------------------- lab selection
run_labctl --lab beta show
like "$out" '^# lab beta ' "--lab selects the lab"
run_labctl show --lab=beta
like "$out" '^# lab beta ' "--lab=NAME among the verb's arguments"
LABCTL_LAB=beta run_labctl show
like "$out" '^# lab beta ' "\$LABCTL_LAB selects the lab"
LABCTL_LAB=beta run_labctl --lab alpha show
like "$out" '^# lab alpha ' "--lab beats \$LABCTL_LAB"
run_labctl --lab beta show alpha
like "$out" '^# lab alpha ' "a lab named on the command line beats --lab"
LABCTL_LAB='' LABCTL="$T/bin/labctl" run_labctl show
is "$rc" 2 "empty \$LABCTL_LAB: the default lab (qemu), not found here: exit 2"
like "$err" "^labctl: unknown lab 'qemu'" "empty \$LABCTL_LAB falls back to qemu"
run_labctl show "$T/labs/alpha.conf"
like "$out" "^# lab alpha \\($T/labs/alpha.conf\\)" "show PATH"

run_labctl show nope
is "$rc" 2 "unknown lab: exit 2"
is "$out" "" "unknown lab: nothing on stdout"
like "$err" "^labctl: unknown lab 'nope' \\(looked in $T/labs, labs, /.*/labs; \`labctl labs\` lists the labs\\)\$" \
	"unknown lab: the message says where it looked"
run_labctl --lab nope show
is "$rc" 2 "--lab with an unknown lab: exit 2"
run_labctl show "$T/nowhere.conf"
is "$rc" 2 "a lab path that does not exist: exit 2"
is "$err" "labctl: lab file $T/nowhere.conf does not exist" "a missing lab path is named"
run_labctl show ./nowhere/x
is "$rc" 2 "a relative lab path that does not exist: exit 2"
run_labctl show alpha beta
is "$rc" 2 "show with two labs: exit 2"
run_labctl show --bogus
is "$rc" 2 "show with an unknown option: exit 2"

# ----------------------------------------------------- the repo's labs
cd "$TOP" || exit 1
unset LABCTL_LABS
for name in qemu hp2540p hp840; do
	run_labctl show "$name"
	is "$rc" 0 "repo lab $name: show exits 0"
	is "$err" "" "repo lab $name: nothing on stderr"
	run_labctl --json show "$name"
	ok "repo lab $name: show --json parses" json_ok "$out"
done
run_labctl show
like "$out" '^# lab qemu \(labs/qemu.conf\)' "show without a lab: the default lab, qemu"
contains "$out" $'\n[variant build32lhv]\nrecipe = standin\narch = i386\n' "show qemu: the build32lhv variant"
run_labctl show hp2540p
like "$out" '^serial = 115200,8n1,0x5080$' "show hp2540p: the AMT SOL serial port"
contains "$out" $'\n[console]\ndriver = amt-sol\n' "show hp2540p: console driver"
like "$out" '^password_file = ~/.config/labctl/hp2540p-amt.pw$' "show hp2540p: a password file, not a password"
run_labctl --json show hp2540p
got=$(printf '%s' "$out" | json 'print join ",", map { $_->{name} } @{$j->{variants}}')
is "$got" "build64,build32,build32lhv" "show --json hp2540p: the variants in file order"
run_labctl labs
is "$rc" 0 "labs in the repo: exit 0"
like "$out" '^hp2540p +laptop +3 ' "labs in the repo: hp2540p"
like "$out" '^qemu +qemu +3 ' "labs in the repo: qemu"
run_labctl show labs/hp840.conf
like "$out" '^# lab hp840 \(labs/hp840.conf\)' "show labs/FILE.conf by path"
export LABCTL_LABS="$T/labs"
cd "$T/work" || exit 1

# ------------------------------------------------------- bad lab files
# bad_lab LINE REGEX NAME PRINTF-FORMAT [ARGS...]: the file (labs/bad.conf,
# found by name from the work dir) fails at LINE with a message matching
# REGEX; `show` and `show --json` exit 2 with nothing on stdout.
mkdir -p "$T/work/labs"
bad_lab() {
	local line=$1 re=$2 name=$3 fmt=$4
	shift 4
	# shellcheck disable=SC2059
	printf -- "$fmt" "$@" >"$T/work/labs/bad.conf"
	LABCTL_LABS='' run_labctl show bad
	if [ "$rc" = 2 ] && [ -z "$out" ] &&
		printf '%s' "$err" | grep -Eq -- "^labctl: labs/bad.conf:$line: $re\$"; then
		pass "bad lab: $name"
	else
		fail "bad lab: $name" "rc=$rc out='$out'" "err='$err'" "want: labctl: labs/bad.conf:$line: $re"
	fi
	LABCTL_LABS='' run_labctl --json show "$T/work/labs/bad.conf"
	if [ "$rc" = 2 ] && [ -z "$out" ] &&
		printf '%s' "$err" | grep -Eq -- "^labctl: $T/work/labs/bad.conf:$line: "; then
		pass "bad lab: $name (--json, by path)"
	else
		fail "bad lab: $name (--json, by path)" "rc=$rc out='$out'" "err='$err'"
	fi
}

LAPTOP='[board]\ntype = laptop\nhost = h\n'
long=$(printf 'x%.0s' $(seq 1 1010))	# "description = $long" is 1024 bytes

bad_lab 2 "\[board\]: unknown key 'foo'" "unknown key" '[board]\nfoo = 1\n'
bad_lab 1 "unknown section \[boards\] \(known: .*\)" "unknown section" '[boards]\n'
bad_lab 1 "\[variant\] needs a name, e\.g\. \[variant build64\]" "[variant] without a name" '[variant]\n'
bad_lab 1 "invalid variant name '\.\./x' .*" "bad variant name" '[variant ../x]\n'
bad_lab 1 "\[variant a b\]: a variant name is one word" "two-word variant name" '[variant a b]\n'
bad_lab 3 "duplicate section \[board\] \(first on line 1\)" "duplicate section" '[board]\ntype = qemu\n[board]\n'
bad_lab 2 "duplicate section \[board\] \(first on line 1\)" "duplicate empty section" '[board]\n[board]\n'
bad_lab 3 "duplicate section \[variant a\] \(first on line 1\)" "duplicate variant" '[variant a]\n\n[variant a]\n'
bad_lab 3 "\[board\]: duplicate key 'type' \(first set on line 2\)" "duplicate key" '[board]\ntype = qemu\ntype = pc\n'
bad_lab 2 "\[board\] smp: 'two' is not a number" "bad int" '[board]\nsmp = two\n'
bad_lab 2 "\[board\] smp: 65 is out of range \(1\.\.64\)" "out of range" '[board]\nsmp = 65\n'
bad_lab 2 "\[board\] battery: 'maybe' is not a boolean \(use yes/no, true/false, on/off or 1/0\)" "bad bool" '[board]\nbattery = maybe\n'
bad_lab 2 "\[board\] type: 'server' is not one of: qemu, bochs, pc, laptop" "bad enum" '[board]\ntype = server\n'
bad_lab 2 "\[power\] off_time: '5 parsecs' is not a duration \(e\.g\. 500ms, 30s, 2m\)" "bad duration" '[power]\noff_time = 5 parsecs\n'
bad_lab 2 "\[board\] memory: '1T' is not a size \(e\.g\. 256M, 1G\)" "bad size" '[board]\nmemory = 1T\n'
bad_lab 6 "\[power\] url: 'ftp://pdu/' is not an http:// or https:// URL" "bad URL" "$LAPTOP"'[power]\ndriver = http\nurl = ftp://pdu/\n'
bad_lab 2 "\[power\] plan: a value cannot start with ';' \(after a space, ';' starts a comment\)" "value starting with ;" '[power]\nplan =;ssh\n'
bad_lab 2 "\[board\] description: empty value \(remove the line to use the default\)" "empty value" '[board]\ndescription =\n'
bad_lab 6 "\[power\]: power driver 'ssh' does not take key 'url' \(only http\)" "url with driver = ssh" "$LAPTOP"'[power]\ndriver = ssh\nurl = http://pdu/\n'
bad_lab 5 "\[power\] url: no driver is set; this key is for driver = http" "driver key without a driver" "$LAPTOP"'[power]\nurl = http://pdu/\n'
bad_lab 2 "\[board\]: board type 'qemu' does not take key 'host' \(only pc, laptop\)" "key the board type does not take" '[board]\nhost = x\n'
bad_lab 2 "\[power\] password: secrets are not allowed in lab files; use password_file = PATH \(mode 0600\) or the environment" \
	"password in the lab file" '[power]\npassword = hunter2\n'
unlike "$err" hunter2 "the refused password is not echoed"
bad_lab 1 "'type' is outside any section \(start with e\.g\. \[board\]\)" "key outside any section" 'type = qemu\n[board]\n'
bad_lab 3 "indented line: continuation lines are not supported, put the value on one line" "continuation line" '[board]\ndescription = one\n  two\n'
bad_lab 3 "syntax error: expected 'key = value', '\[section\]' or a comment" "syntax error" '[board]\n\njunk\n'
bad_lab 1 "section header without '\]'" "section without ]" '[board\n'
bad_lab 1 "text after \[board\]: put keys on their own lines" "text after a section header" '[board] type = qemu\n'
bad_lab 2 "line longer than 1024 bytes" "line too long" '[board]\ndescription = %s\n' "${long}xx"
bad_lab 3 "NUL byte in lab file" "NUL byte" '[board]\ntype = qemu\nx\000y = 1\n'
bad_lab 2 "control character 0x1b in column 15 \(lab files are plain text\)" "control character" '[board]\ndescription = \033[31m\n'
bad_lab 2 "invalid UTF-8 \(byte 0xe9 in column 18\); save the file as UTF-8" "Latin-1 text" '[board]\ndescription = caf\351\n'
bad_lab 1 "\[variant b\]: recipe xmhf64 needs src = PATH of the XMHF64 tree" "xmhf64 variant without src" '[variant b]\nrecipe = xmhf64\n'
bad_lab 2 "\[board\]: type laptop needs host = the board's ssh host name" "laptop without host" '[board]\ntype = laptop\n'
bad_lab 2 "\[power\] driver: a QEMU board is powered by the qemu driver, not 'ssh'" "QEMU board with ssh power" '[power]\ndriver = ssh\n'
bad_lab 2 "\[console\] driver: a QEMU board's console is the qemu driver, not 'tty'" "QEMU board with a tty console" '[console]\ndriver = tty\n'
bad_lab 2 "\[board\]: unknown key 'foo'" "error after a BOM and CRLF" '\357\273\277[board]\r\nfoo = 1\r\n'

# ------------------------------------------------- good awkward files
# good_lab NAME PRINTF-FORMAT [ARGS...]: shows fine; sets $out.
good_lab() {
	local name=$1 fmt=$2
	shift 2
	# shellcheck disable=SC2059
	printf -- "$fmt" "$@" >"$T/labs/good.conf"
	run_labctl show good
	if [ "$rc" = 0 ] && [ -z "$err" ]; then
		pass "good lab: $name"
	else
		fail "good lab: $name" "rc=$rc" "err='$err'"
	fi
}
good_lab "empty file" ''
like "$out" '^type = qemu  ; \(default\)$' "an empty lab is a QEMU board"
unlike "$out" 'variant' "an empty lab has no variants"
good_lab "CRLF line ends" '[board]\r\ntype = laptop\r\nhost = h\r\n  \r\n[variant v]\r\narch = i386\r\n'
contains "$out" $'\nhost = h\n' "CRLF: no carriage return in values"
unlike "$out" $'\r' "CRLF: no carriage return in the output"
good_lab "UTF-8 BOM" '\357\273\277[board]\ntype = laptop\nhost = bom-host\n'
contains "$out" $'\n[board]\ntype = laptop\nhost = bom-host\n' "BOM: the first section's keys are kept"
good_lab "comments" '; a\n# b\n[board] ; c\ntype = laptop ; d\nhost = h;e\n  # f\n'
contains "$out" $'\ntype = laptop\nhost = h;e\n' "comments: inline ; comments, ';' inside a value"
good_lab "a 1024-byte line" '[board]\ndescription = %s\n' "$long"
good_lab "driver key before the driver" "$LAPTOP"'[power]\nurl = http://pdu/\ndriver = http\n'

# A password in a URL is a secret in a shared file: refused, and not echoed.
mkdir -p "$T/pwlab"
printf "$LAPTOP"'[power]\ndriver = http\nurl = https://u:p@ss@pdu:8443/x?y=1\n' >"$T/pwlab/pw.conf"
run_labctl show "$T/pwlab/pw.conf"
is "$rc" 2 "URL with a password: exit 2"
like "$err" 'pw.conf:[0-9]+: \[power\] url: the URL holds a password; lab files never hold secrets' "URL with a password: refused with the advice"
unlike "$err$out" 'p@ss' "URL with a password: the password is not printed"

done_testing
