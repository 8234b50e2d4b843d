#!/bin/bash
# What a lab file means, checked when it is read (issues 12 and 13):
# patterns get the rule-file checks, `labctl show` refuses what a run
# would refuse later (patterns, opt_requires, rule sets and rule files),
# names that become files on the board are plain names, lab and rule
# files that are FIFOs are refused without hanging, labs are found in
# $XDG_CONFIG_HOME/labctl/labs, `show` prints normalised paths, and a
# chain nothing can pass is refused before anything is built or booted.
# shellcheck source=tests/t/lib.sh disable=SC2016,SC2154
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/labs" "$T/work" "$T/images"
export LABCTL_LABS="$T/labs" LABCTL_IMAGES="$T/images" LABCTL_STATE_DIR="$T/state"
unset LABCTL_LAB XDG_CONFIG_HOME
export HOME="$T/home"
mkdir -p "$HOME"
cd "$T/work" || exit 1
export LABCTL_TIMEOUT=20

# bad LINE MESSAGE-REGEX NAME PRINTF-FORMAT: `show` refuses it with
# "labctl: FILE:LINE: MESSAGE", exit 2, nothing on stdout.
bad() {
	local line=$1 re=$2 name=$3 fmt=$4
	# shellcheck disable=SC2059
	printf -- "$fmt" >"$T/labs/bad.conf"
	run_labctl show bad
	is "$rc" 2 "$name: exit 2"
	like "$err" "^labctl: $T/labs/bad\\.conf:$line: $re" "$name: FILE:LINE: why"
	is "$out" "" "$name: nothing on stdout"
}

# ------------------------------------------------- patterns (13.4, 13.5)
bad 2 "\\[watch\\] fail: pattern /\\(\\.\\*\\)\\(\\.\\*\\)\\(\\.\\*\\)\\(\\.\\*\\)\\(\\.\\*\\)\\\\5\\\\4\\\\3\\\\2\\\\1~~/: back-references \\(\\\\5\\) are not supported" \
	"the audit's back-reference" '[watch]\nfail = (.*)(.*)(.*)(.*)(.*)\\5\\4\\3\\2\\1~~\n'
bad 3 "\\[watch\\] fail: pattern /\\(\\[/: bad pattern: '\\[' without its '\\]'" \
	"fail = ([" '[watch]\npass = ok\nfail = ([\n'
bad 2 "\\[watch\\] pass: pattern /\\\\d\\+/: bad pattern: \\\\d is not an ERE escape: write \\[0-9\\]" \
	"\\d in pass" '[watch]\npass = \\d+\n'
bad 2 "\\[watch\\] fail: pattern /\\(\\?i\\)x/: bad pattern: '\\(\\?' is not an ERE group" \
	"a PCRE group" '[watch]\nfail = (?i)x\n'
bad 2 "\\[watch\\] fail: pattern /\\(\\(a\\{200\\}\\)\\{200\\}\\)/: repeat counts too large" \
	"repeats too large" '[watch]\nfail = ((a{200}){200})\n'
bad 3 "\\[variant a\\] banner: pattern /x\\(\\\$\\{variant\\}/: bad pattern" \
	"bad banner" '[variant a]\noptions = 0x400\nbanner = x(${variant}\n'
bad 2 "\\[watch\\] fail: pattern: \\\$\\{variant\\} stands for the stage's variant only in banner patterns" \
	"\${variant} in fail" '[watch]\nfail = ${variant}\n'
bad 3 "\\[variant a\\] opt_requires: '0x8' is not BITS:NEEDED or BITS:!NEEDED" \
	"opt_requires" '[variant a]\noptions = 0x400\nopt_requires = 0x8\n'
bad 7 "\\[power\\] status_on: bad regular expression: " \
	"status_on" '[board]\ntype = pc\nhost = h\n[power]\ndriver = http\nurl = http://pdu/\nstatus_on = ([\n'
# The same patterns as a rule file checks them: a good one shows.
printf '[watch]\nfail = ^(Oops|BUG): [a-z]+ \\(x\\)$\npass = All [0-9]+ tests passed\n[variant a]\noptions = 0x400\nbanner = ^LHV ${variant}( |$)\n' >"$T/labs/good.conf"
run_labctl show good
is "$rc:$err" "0:" "sound patterns: shown"
like "$out" '^fail = \^\(Oops\|BUG\): \[a-z\]\+ \\\(x\\\)\$$' "sound patterns: as written"

# Rule sets and rule files the lab names: show reads them (13.4).
bad 2 "no rule set 'lvh'" "unknown rule set" '[watch]\nrules = lvh\n'
bad 3 "cannot open $T/labs/none\\.rules" "missing rules_file" '[variant a]\noptions = 0x400\nrules_file = none.rules\n'
printf 'fail /(x)\\1/\n' >"$T/labs/backref.rules"
printf '[watch]\nrules_file = backref.rules\n' >"$T/labs/bad.conf"
run_labctl show bad
is "$rc" 2 "a rule file with a back-reference: exit 2"
like "$err" "^labctl: $T/labs/backref\\.rules:1: fail /\\(x\\)\\\\1/: back-references" \
	"a rule file with a back-reference: its FILE:LINE"

# ------------------------------------------------- names on the board (13.6)
bad 2 "\\[grub\\] entries: '\\.\\./\\.\\./tmp/x' is not a plain file name \\(it becomes /etc/grub\\.d/NAME on the board" \
	"entries = ../../tmp/x" '[grub]\nentries = ../../tmp/x\n'
bad 2 "\\[grub\\] dropin: 'a/b' is not a plain file name" "dropin with a /" '[grub]\ndropin = a/b\n'
bad 2 "\\[grub\\] dropin: '\\.\\.' is not a plain file name" "dropin = .." '[grub]\ndropin = ..\n'
bad 2 "\\[grub\\] entries: 'x y' is not a plain file name \\(letters, digits" "entries with a blank" '[grub]\nentries = x y\n'
bad 2 "\\[deploy\\] dir: '/boot/\\.\\./tmp' has a '\\.\\.' part" "deploy dir with .." '[deploy]\ndir = /boot/../tmp\n'
bad 2 "\\[deploy\\] dir: 'boot/xmhf' is not an absolute path" "relative deploy dir" '[deploy]\ndir = boot/xmhf\n'
bad 2 "\\[grub\\] grubenv: '/boot/grub/\\.\\./\\.\\./tmp/env' has a '\\.\\.' part" "grubenv with .." '[grub]\ngrubenv = /boot/grub/../../tmp/env\n'
bad 1 "invalid variant name '\\.\\.'" "variant named .." '[variant ..]\n'
bad 2 "\\[grub\\] chain: no variant 'lvh' in this lab" "a chain naming no variant" '[grub]\nchain = lhv lvh\n[variant lhv]\noptions = 0x400\n'
printf '[grub]\nentries = 42_my-lab.d\ndropin = 05_chain\n[deploy]\ndir = /boot//xmhf/\n' >"$T/labs/good.conf"
run_labctl show good
is "$rc:$err" "0:" "plain names: shown"

# ------------------------------------------------- FIFOs (13.8)
mkfifo "$T/labs/fifo.conf"
run_labctl labs
is "$rc" 2 "labs with a FIFO: exit 2, no hang"
like "$out" "^fifo +\\? +\\? +invalid: $T/labs/fifo\\.conf is a FIFO, not a regular file\$" \
	"labs: the FIFO listed as invalid, with why"
like "$out" '^good +qemu' "labs: the other labs still listed"
run_labctl show fifo
is "$rc" 2 "show a FIFO by name: exit 2"
like "$err" "lab file $T/labs/fifo\\.conf is a FIFO, not a regular file" "show a FIFO by name: says so"
run_labctl show "$T/labs/fifo.conf"
is "$rc" 2 "show a FIFO by path: exit 2"
like "$err" "is a FIFO, not a regular file" "show a FIFO by path: says so"
rm "$T/labs/fifo.conf"
mkfifo "$T/labs/fifo.rules"
printf 'include fifo.rules\n' >"$T/labs/inc.rules"
printf '[watch]\nrules_file = inc.rules\n[variant lhv]\noptions = 0x400\n' >"$T/labs/inc.conf"
run_labctl show inc
is "$rc" 2 "an include of a FIFO: show exits 2"
like "$err" "^labctl: $T/labs/inc\\.rules:1: $T/labs/fifo\\.rules is a FIFO, not a regular file" \
	"an include of a FIFO: the including FILE:LINE"
start=$(date +%s)
run_labctl run inc lhv
is "$rc" 2 "run with an include of a FIFO: exit 2, no hang"
like "$err" "fifo\\.rules is a FIFO" "run: says which file"
ok "run: refused before any build" test ! -e "$T/images/lhv"
ok "run: within seconds" test $(($(date +%s) - start)) -le 10
mkdir "$T/labs/dir.rules"
printf '[watch]\nrules_file = dir.rules\n' >"$T/labs/bad.conf"
run_labctl show bad
like "$err" "dir\\.rules is a directory, not a regular file" "a directory as rules_file: says so"
rm -rf "$T/labs/fifo.rules" "$T/labs/dir.rules" "$T/labs/inc.conf"

# ------------------------------------------------- where labs are found (12)
mkdir -p "$T/xdg/labctl/labs" "$HOME/.config/labctl/labs" "$T/work/labs"
printf '[board]\ndescription = from xdg\n' >"$T/xdg/labctl/labs/xlab.conf"
printf '[board]\ndescription = from home config\n' >"$HOME/.config/labctl/labs/hlab.conf"
printf '[board]\ndescription = from home config\n' >"$HOME/.config/labctl/labs/xlab.conf"
XDG_CONFIG_HOME="$T/xdg" run_labctl show xlab
is "$rc" 0 "a lab in \$XDG_CONFIG_HOME/labctl/labs: found"
like "$out" "^# lab xlab \\($T/xdg/labctl/labs/xlab\\.conf\\)\$" "XDG: its path"
like "$out" '^description = from xdg$' "XDG: XDG_CONFIG_HOME wins over ~/.config"
run_labctl show hlab
like "$out" "^# lab hlab \\($HOME/\\.config/labctl/labs/hlab\\.conf\\)\$" \
	"no XDG_CONFIG_HOME: ~/.config/labctl/labs"
XDG_CONFIG_HOME=relative run_labctl show hlab
is "$rc" 0 "a relative XDG_CONFIG_HOME is ignored (the spec): ~/.config"
XDG_CONFIG_HOME="$T/xdg" run_labctl labs
like "$out" '^xlab +qemu +0 +from xdg$' "labs lists the XDG labs"
printf '[board]\ndescription = from ./labs\n' >"$T/work/labs/xlab.conf"
XDG_CONFIG_HOME="$T/xdg" LABCTL_LABS='' run_labctl show xlab
like "$out" '^description = from \./labs$' "./labs comes before XDG"
like "$out" '^# lab xlab \(labs/xlab\.conf\)$' "./labs: a relative path, as found"
printf '[board]\ndescription = from LABCTL_LABS\n' >"$T/labs/xlab.conf"
XDG_CONFIG_HOME="$T/xdg" run_labctl show xlab
like "$out" '^description = from LABCTL_LABS$' "\$LABCTL_LABS comes first"
rm "$T/labs/xlab.conf" "$T/work/labs/xlab.conf"

# ------------------------------------------------- normalised paths (12)
mkdir -p "$T/labs/sub"
printf '[board]\n' >"$T/work/labs/norm.conf"
run_labctl show .//labs/./norm.conf
is "$rc" 0 "show .//labs/./norm.conf: exit 0"
like "$out" '^# lab norm \(labs/norm\.conf\)$' "show: no ./ or // in the path"
run_labctl show labs/../labs/norm.conf
like "$out" "^# lab norm \\($T/work/labs/norm\\.conf\\)\$" "show: a path with .. resolved"
run_labctl --json show labs//norm.conf
like "$out" '"path":"labs/norm\.conf"' "show --json: the normalised path"
LABCTL_LABS="$T/labs/sub/..//" run_labctl show good
like "$out" "^# lab good \\($T/labs/good\\.conf\\)\$" "a search dir with .. and //: normalised"
printf '[board]\nfoo = 1\n' >"$T/work/labs/broken.conf"
run_labctl show ./labs//broken.conf
like "$err" '^labctl: labs/broken\.conf:2: ' "messages name the normalised path"

# ------------------------------------------------- options (getopt_long)
run_labctl show -- good
is "$rc" 0 "show -- LAB"
run_labctl show -x good
is "$rc" 2 "show -x: exit 2"
like "$err" "unknown option '-x'" "show -x: names it"
run_labctl labs --frob
like "$err" "unknown option '--frob'" "labs --frob: names it"

# ------------------------------------------------- what cannot pass (12)
cat >"$T/labs/chain.conf" <<'EOF'
[variant build64]
arch = amd64
[variant build32]
arch = i386
[variant build32lhv]
arch = i386
options = 0x400
EOF
start=$(date +%s)
run_labctl run chain build64 build32
is "$rc" 2 "run build64 build32: exit 2 at once"
like "$err" "^labctl: $T/labs/chain\\.conf:3: nothing can pass the last stage: build32 is a stand-in without the LHV option \\(0x400 in options\\)" \
	"run build64 build32: says why"
like "$err" "end the chain with an LHV variant \\(build32lhv\\), or give build32 a pass or end rule" \
	"run build64 build32: says what to add"
ok "run build64 build32: nothing built" test -z "$(ls -A "$T/images")"
ok "run build64 build32: no results" test ! -e "$T/work/results"
ok "run build64 build32: within seconds, no boot" test $(($(date +%s) - start)) -le 5
run_labctl boot chain build32
is "$rc" 2 "boot of a lone hypervisor stage: exit 2"

done_testing
