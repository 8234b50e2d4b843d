#!/bin/bash
# The command line as git and coreutils parse it, on hand-written results
# (no QEMU, a second or two): bundled flags (grep -iE), -qq, --opt=value and
# --opt value, unique prefixes, "--" ending options; one-line "did you
# mean" for a mistyped verb; "latest" and prefixes in log as in grep, diff
# and report; --stage 0 alike in log, grep and diff; diff -I; colour
# (--color, NO_COLOR, a terminal); JUnit classname and hostname; report -o
# DIR.
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 1
mkdir -p results

# mkresult NAME LAB HOST TSC1 TSC2 [EXTRA]: a two-stage passing run
# (hv64 -> lhv) as labctl run writes it: the raw log, its .json with
# stage offsets and a .lines sidecar.  HOST "-" leaves "host" out (a
# result from before runs recorded it).
mkresult() {
	local name=$1 lab=$2 host=$3 tsc1=$4 tsc2=$5 extra=${6:-} log=results/$1
	{
		printf '\033[H\033[JGNU GRUB  version 2.06\r\n'
		printf 'labctl-grub: default=XMHF-hv64\n'
		printf 'Stand-in Hypervisor (labctl) variant=hv64 arch=amd64 HV_OPT=0x0\n'
		printf 'tsc: %s kHz (calibrated against the PIT)\n' "$tsc1"
		printf 'FIXED_MTRR[0] = 0x0606060606060606\n'
		printf 'CPU(0x00): vcpu->vmcs.guest_RSP = 0x6f00\n'
		printf 'Stand-in Hypervisor (labctl) variant=lhv arch=amd64 HV_OPT=0x400\n'
		printf 'tsc: %s kHz (calibrated against the PIT)\n' "$tsc2"
		[ -n "$extra" ] && printf '%s\n' "$extra"
		printf 'LHV: all tests passed\n'
	} >"$log"
	local b1 b2 hostkv=
	b1=$(grep -abo 'Stand-in Hypervisor (labctl) variant=hv64' "$log" | cut -d: -f1)
	b2=$(grep -abo 'Stand-in Hypervisor (labctl) variant=lhv' "$log" | cut -d: -f1)
	[ "$host" != - ] && hostkv="\"host\":\"$host\","
	cat >"$log.json" <<JSON
{"log":"$log","lab":"$lab","lab_file":"labs/$lab.conf","board":"qemu",$hostkv"started":"2026-12-01T10:00:00.000000+00:00","duration":2.5,"decided":2.4,"verdict":"pass","reason":"","line":"","line_no":0,"stages":[{"stage":1,"variant":"hv64","entry":"XMHF-hv64","reached":true,"start":0.5,"end":1.5,"start_byte":$b1,"line":3},{"stage":2,"variant":"lhv","entry":"XMHF-lhv","reached":true,"start":1.5,"end":2.4,"start_byte":$b2,"line":7}],"variants":[],"events":[]}
JSON
	awk 'BEGIN { printf "T0\t1764583200000000000\n"; off = 0 }
	     { printf "L\t%d\t%d\t%d\n", off, NR * 100000000, 1764583200000000000 + NR * 100000000; off += length($0) + 1 }' "$log" >"$log.lines"
}
mkresult 20261201100000 lab1 board7.lab.example 2893 2900
mkresult 20261201110000 lab1 - 2911 2904
mkresult 20261201120000 lab1 board7.lab.example 2893 2900 'seed: 42'
A=20261201100000 B=20261201110000 C=20261201120000

# --- options as git parses them
run_labctl grep -iE 'fixed_mtrr\[0\]|guest_rsp' "$A"
is "$rc" 0 "grep -iE (bundled flags): exit 0" || diag "$err"
is "$(printf '%s\n' "$out" | wc -l)" 2 "grep -iE: both lines matched, case ignored, extended"
run_labctl grep -Fi 'fixed_mtrr[0]' "$A"
is "$rc:$(printf '%s\n' "$out" | wc -l)" "0:1" "grep -Fi: a fixed string, case ignored"
run_labctl grep --stage=1 --results=results MTRR "$A"
is "$rc" 0 "grep --stage=1 --results=DIR: exit 0"
run_labctl grep --stage 2 --results results MTRR "$A"
is "$rc" 1 "grep --stage 2 --results DIR: the value as the next word, no match in stage 2"
run_labctl -qq labs
is "$rc" 0 "-qq before the verb: exit 0" || diag "$err"
run_labctl labs -qq
is "$rc" 0 "-qq among the verb's words: exit 0"
run_labctl -vq --lab=qemu labs
is "$rc" 0 "-vq and --lab=LAB before the verb: exit 0"
run_labctl -- labs
is "$rc" 0 "-- ends the global options"
cp "results/$A" ./-dashed
run_labctl log -- -dashed
is "$rc" 0 "log -- -dashed: after --, a word starting with - is the result" || diag "$err"
is "$out" "$(cat ./-dashed)" "log -- -dashed: its bytes"
run_labctl grep -- -dashed "$A"
is "$rc" 1 "grep -- PATTERN: a pattern starting with - is searched for"
run_labctl diff --filt=MTRR "$A" "$B"
is "$rc" 0 "diff --filt=...: a unique prefix of --filter"
run_labctl diff "$A" "$B" -U0 --filter tsc:
is "$rc" 1 "diff -U0 (value in the same word), options after the operands"
like "$out" '@@ -4,1 \+4,1 @@' "diff -U0: no context lines"
run_labctl results --v pass
is "$rc" 2 "results --v (--variant or --verdict): exit 2"
like "$err" "^labctl results: ambiguous option '--v'" "an ambiguous prefix is named as one"
run_labctl log --frob "$A"
is "$rc" 2 "log --frob: exit 2"
like "$err" "^labctl log: unknown option '--frob'" "unknown option: named, in the verb's style"
like "$err" "usage: labctl log RESULT" "unknown option: the verb's synopsis follows"
run_labctl grep -iZ x "$A"
is "$rc" 2 "grep -iZ: exit 2"
like "$err" "unknown option '-Z'" "an unknown flag in a bundle is named alone"
run_labctl grep x "$A" --stage
is "$rc" 2 "grep --stage without a value: exit 2"
like "$err" "option '--stage' needs a value" "a missing value: says so"
run_labctl grep --ignore-case=yes x "$A"
is "$rc" 2 "a value on a flag: exit 2"
like "$err" "option '--ignore-case' takes no value" "a value on a flag: says so"
run_labctl build --force=yes
is "$rc" 2 "build --force=yes: exit 2"
run_labctl report --tap -- "$A" --json
is "$rc" 2 "report --tap -- A --json: --json after -- is a result name"
like "$err" "no result '--json'" "... and named as a missing result"

# --- a mistyped verb: one line, with the nearest verbs
run_labctl reslts
is "$rc" 2 "a mistyped verb: exit 2"
is "$err" "labctl: unknown command 'reslts'; did you mean 'results'?" "a mistyped verb: one line, did you mean"
run_labctl loc
is "$err" "labctl: unknown command 'loc'; did you mean 'lock' or 'locks'?" "a prefix of two verbs: both suggested"
run_labctl frobnicate
is "$(printf '%s\n' "$err" | wc -l)" 1 "nothing close: still one line"
like "$err" "unknown command 'frobnicate' \\(see \`labctl help\`\\)" "nothing close: points at labctl help"
run_labctl help lgo
is "$rc:$err" "2:labctl: unknown command 'lgo'; did you mean 'log'?" "help with a mistyped verb: the same line"

# --- results named the same way everywhere: latest and prefixes in log
run_labctl log latest
is "$rc" 0 "log latest: exit 0" || diag "$err"
is "$out" "$(cat "results/$C")" "log latest: the newest result"
run_labctl log 2026120111
is "$rc:$out" "0:$(cat "results/$B")" "log PREFIX: the one result it names"
run_labctl log 20261201
is "$rc" 2 "log with an ambiguous prefix: exit 2"
like "$err" "'20261201' names 3 results" "log with an ambiguous prefix: the same message as grep's"
mkdir other && cp "results/$A" other/20270101000000
run_labctl log --results other latest
is "$rc:$out" "0:$(cat "results/$A")" "log --results DIR latest"
run_labctl log nosuch
like "$rc:$err" "^2:labctl: no result 'nosuch'" "log nosuch: exit 2, named"

# --- --stage 0 means the same in log, grep and diff
run_labctl log --stage 0 "$A"
is "$rc" 0 "log --stage 0: exit 0" || diag "$err"
is "$out" "$(head -n 2 "results/$A")" "log --stage 0: firmware and GRUB, up to stage 1's banner"
run_labctl diff --stage 0 "$A" "$B"
is "$rc" 0 "diff --stage 0: exit 0"
run_labctl grep --stage 0 grub "$A"
is "$rc" 0 "grep --stage 0: exit 0"
for v in log grep diff; do
	case $v in
	log) args=("$A") ;;
	grep) args=(x "$A") ;;
	diff) args=("$A" "$B") ;;
	esac
	run_labctl "$v" --stage -1 "${args[@]}"
	is "$rc" 2 "$v --stage -1: exit 2"
	like "$err" "labctl $v: --stage wants a stage number \\(0 for what comes before stage 1\\), not '-1'" \
		"$v --stage -1: the one message"
done

# --- diff -I REGEX
run_labctl diff "$A" "$B"
is "$rc" 1 "two passing runs whose tsc lines differ: exit 1"
like "$out" "1 line only in A, 1 only in B" "... the tsc lines"
run_labctl diff -I '^tsc: ' "$A" "$B"
is "$rc" 0 "diff -I '^tsc: ': the same (exit 0)" || diag "$out"
is "$(printf '%s\n' "$out" | grep -c '^=== .*same')" 3 "diff -I: every stage same"
run_labctl diff -I '^tsc: ' "$A" "$C"
is "$rc" 1 "diff -I: other differences still count"
run_labctl diff -I '^tsc: ' --ignore-matching-lines='^seed: [0-9]*$' "$A" "$C"
is "$rc" 0 "diff -I twice (repeatable, long form): exit 0"
run_labctl diff -I 'ts[' "$A" "$B"
is "$rc" 2 "diff -I with a bad regex: exit 2"
like "$err" "-I 'ts\\[': " "diff -I with a bad regex: names it"

# --- colour
run_labctl grep MTRR "$A"
unlike "$out" $'\e' "grep to a pipe: no colour"
run_labctl --color=always grep MTRR "$A"
like "$out" $'\e\\[1;31mMTRR\e\\[m' "grep --color=always: the match in bold red"
NO_COLOR=1 run_labctl grep --color=always MTRR "$A"
like "$out" $'\e\\[1;31mMTRR' "--color=always wins over NO_COLOR; --color among the verb's words"
run_labctl diff --color=always "$A" "$B"
like "$out" $'\e\\[31m-tsc: 2893' "diff --color=always: removed lines red"
like "$out" $'\e\\[32m\\+tsc: 2911' "diff --color=always: added lines green"
like "$out" $'\e\\[36m@@ ' "diff --color=always: hunk headers cyan"
run_labctl results --color=always
like "$out" $'\e\\[32mpass\e\\[m' "results --color=always: pass in green"
run_labctl log --color=always "$A"
is "$out" "$(cat "results/$A")" "log --color=always: the console's bytes unchanged"
run_labctl log --color=always --timestamps "$A"
like "$out" $'^\e\\[34m\\[ +0\\.100000\\]\e\\[m ' "log --timestamps --color=always: the time coloured"
run_labctl --color=sometimes grep x
is "$rc" 2 "--color=sometimes: exit 2"
like "$err" "--color wants auto, always or never, not 'sometimes'" "--color=sometimes: says what it wants"
if command -v script >/dev/null; then
	tty_out=$(TERM=xterm timeout 20 script -qec "'$LABCTL' grep MTRR results/$A" /dev/null </dev/null)
	like "$tty_out" $'\e\\[1;31mMTRR' "a terminal: colour by default (auto)"
	tty_out=$(NO_COLOR=1 TERM=xterm timeout 20 script -qec "'$LABCTL' grep MTRR results/$A" /dev/null </dev/null)
	unlike "$tty_out" $'\e\\[' "a terminal with NO_COLOR: no colour"
	tty_out=$(TERM=xterm timeout 20 script -qec "'$LABCTL' --no-color grep MTRR results/$A" /dev/null </dev/null)
	unlike "$tty_out" $'\e\\[' "a terminal with --no-color: no colour"
else
	skip "script(1) missing"; skip "script(1) missing"; skip "script(1) missing"
fi

# --- JUnit that Jenkins can track
run_labctl report "$A" "$B" --junit "$T/j.xml"
is "$rc" 0 "report --junit: exit 0" || diag "$err"
if command -v xmllint >/dev/null; then
	xmllint --noout --schema "$TOP/tests/t/junit.xsd" "$T/j.xml" 2>"$T/xmllint.err"
	is "$?" 0 "the JUnit XML validates against tests/t/junit.xsd" || diag "$(cat "$T/xmllint.err")"
	x() { xmllint --xpath "$1" "$T/j.xml" 2>/dev/null; }
	is "$(x 'string(//testsuite[1]/testcase[1]/@classname)')" "labctl.lab1.hv64-lhv" \
		"classname: labctl.LAB.CHAIN, no timestamp"
	is "$(x 'string(//testsuite[2]/testcase[2]/@classname)')" "labctl.lab1.hv64-lhv" \
		"classname: the same for another run of the chain"
	is "$(x 'count(//testcase[contains(@classname, "2026")])')" 0 "no classname holds a result's time"
	is "$(x 'string(//testsuite[1]/@hostname)')" "board7.lab.example" "hostname: the host the run recorded"
	is "$(x 'string(//testsuite[2]/@hostname)')" "$(hostname)" \
		"hostname of an older virtual-board result: this machine, not the lab's name"
else
	for i in 1 2 3 4 5 6; do skip "xmllint missing"; done
fi

# --- report -o DIR
mkdir "$T/outdir"
run_labctl report "$A" -o "$T/outdir"
is "$rc" 2 "report -o DIR: exit 2 (usage), not 3"
like "$err" "-o $T/outdir: that is a directory; give the file to write, e.g. -o $T/outdir/report.html" \
	"report -o DIR: says so and what to give"
is "$(ls -A "$T/outdir")" "" "report -o DIR: nothing written into it"
run_labctl report "$A" --junit "$T/outdir/"
is "$rc" 2 "report --junit DIR/: exit 2"
run_labctl report "$A" -o "$T/outdir/report.html"
is "$rc" 0 "report -o DIR/FILE: exit 0"

done_testing
