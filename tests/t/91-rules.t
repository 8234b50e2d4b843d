#!/bin/bash
# Rule sets (man/labctl-rules.5) on real boots: the stand-in hypervisor in
# real GRUB under real QEMU (TCG), judged by the built-in sets, lab rule
# files, named sets in $LABCTL_RULES and per-variant sets; and bad rule
# files refused with FILE:LINE and exit 2 before anything is captured.
. "$(dirname "$0")/lib.sh"
qemu_board_scratch
export LABCTL_RULES=$T/sets
mkdir -p "$T/sets"

results() { ls -1 results/ 2>/dev/null | grep -c -E '^[0-9]{14}(-[0-9]+)?$'; }
last_result() { ls -1 results/ 2>/dev/null | grep -E '^[0-9]{14}(-[0-9]+)?$' | sort | tail -1; }

# lab NAME [WATCH-LINES] [LHV-VARIANT-LINES]: hv (hypervisor mode) -> lhv
lab() {
	cat >"$T/labs/$1.conf" <<CONF
[board]
type = qemu
smp = 2
[watch]
silence_timeout = 10s
stage_timeout = 20s
timeout = 40s
${2:-}
[variant hv]
arch = amd64
[variant lhv]
arch = i386
options = 0x400
${3:-}
[variant fatal]
arch = i386
options = 0x404
CONF
}

# --- no rule keys: judged as always (the standin set), a real log
lab plain
run_labctl run plain hv lhv
is "$rc" 0 "no rule keys: pass" || diag "$out" "$err"
like "$out" 'PASS: all 2 CPUs printed more than 20 iteration lines' "no rule keys: the iteration rule passed it"
r=$(last_result)
n1=$(grep -a -c '^CPU(0x01): test iter' "results/$r")
[ "$n1" -gt 20 ] && pass "the log has more than 20 iteration lines of CPU 0x01 ($n1)" ||
	fail "the log has $n1 iteration lines of CPU 0x01"

# --- a lab rule file: a fail rule with a reason matches a real line
cat >"$T/labs/smp.rules" <<'EOF'
# Pretend two CPUs coming up is a failure.
include standin
fail /^smp: 2 CPUs online$/ both CPUs came up
EOF
lab smpfail 'rules_file = smp.rules'
run_labctl run smpfail hv lhv
is "$rc" 1 "rules_file fail rule: exit 1" || diag "$out" "$err"
like "$out" 'FAIL: stage 2 \(lhv\): both CPUs came up \(fail pattern /\^smp: 2 CPUs online\$/\)' \
	"rules_file fail rule: its reason and pattern"
like "$out" 'line [0-9]+: smp: 2 CPUs online' "rules_file fail rule: the line is quoted"

# --- pass: the stand-in's own pass line, with the iteration rule out of reach
printf 'pass /^Stand-in: all CPUs passed$/\n' >"$T/labs/passline.rules"
lab passline "rules_file = passline.rules
iter_min = 1000"
run_labctl run passline hv lhv
is "$rc" 0 "pass rule: exit 0" || diag "$out" "$err"
like "$out" 'PASS: stage 2 \(lhv\): pass pattern matched' "pass rule: the reason"
like "$out" 'line [0-9]+: Stand-in: all CPUs passed' "pass rule: the line"

# --- end before the iterations are done: fail, naming the CPUs that are short
printf 'end /^Stand-in: [0-9]+ CPUs x [0-9]+ iters/ the tests finished\n' >"$T/labs/end.rules"
lab endearly "rules_file = end.rules
iter_min = 30"
run_labctl run endearly hv lhv
is "$rc" 1 "end with iterations short: exit 1" || diag "$out" "$err"
like "$out" 'FAIL: stage 2 \(lhv\): the chain ended \(end pattern /.*/\) before every CPU passed; CPU 0x00 printed only 25, CPU 0x01 only 25 iteration lines \(more than 30 needed on each of 2 CPUs\)' \
	"end with iterations short: the reason names both CPUs"

# --- a stage's own set: an end rule alone judges the last stage
printf 'end /^Stand-in: all CPUs passed$/ the stand-in said so\n' >"$T/labs/lhvend.rules"
lab stageend "" "rules = linux
rules_file = lhvend.rules"
run_labctl run stageend hv lhv
is "$rc" 0 "a stage's own end rule: exit 0" || diag "$out" "$err"
like "$out" 'PASS: stage 2 \(lhv\): the stand-in said so \(end pattern /\^Stand-in: all CPUs passed\$/\)' \
	"a stage's own end rule judged it, not the run's iteration rule"

# --- a named set in $LABCTL_RULES, with a banner of its own (${variant})
cat >"$T/sets/i386only.rules" <<'EOF'
include standin
banner /^Stand-in Hypervisor \(labctl\) variant=${variant} arch=i386 /
EOF
lab named "" "rules = i386only"
run_labctl --json run named hv lhv
is "$rc" 0 "named set with its own banner: exit 0" || diag "$out" "$err"
printf '%s' "$out" >"$T/named.json"
is "$(perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>); print scalar grep { $_->{reached} } @{$j->{stages}}' <"$T/named.json")" 2 \
	"named set: both stages found by their banners"
# The same set on the amd64 stage: its banner never comes.
cat >>"$T/labs/named.conf" <<'EOF'
[variant hv64only]
arch = amd64
rules = i386only
EOF
run_labctl run named hv64only lhv
is "$rc" 1 "a banner that never comes: exit 1" || diag "$out" "$err"
like "$out" 'FAIL: stage 1 \(hv64only\): its banner never came before GRUB booted XMHF-lhv \(stage 2, lhv\)' \
	"a banner that never comes: GRUB booting the next stage says so"

# --- the xmhf set on a real halt (the stand-in prints XMHF's Fatal line)
lab xmhfhalt 'rules = xmhf, standin'
run_labctl run xmhfhalt hv fatal
is "$rc" 1 "xmhf set, Fatal: exit 1" || diag "$out" "$err"
like "$out" "FAIL: stage 2 \\(fatal\\): XMHF halted on a failed condition \\(fail pattern /Fatal: Halting!/\\)" \
	"xmhf set, Fatal: its reason"

# --- ignore: the same halt ignored; then silence, and no CPU iterated
printf 'ignore /^Fatal: Halting!/\n' >"$T/labs/ignore.rules"
lab ignorehalt 'rules_file = ignore.rules'
run_labctl run ignorehalt hv fatal
is "$rc" 1 "ignored halt: exit 1 all the same" || diag "$out" "$err"
like "$out" 'FAIL: stage 2 \(fatal\): no console output for 10.0 s \(hang\?\); no CPU printed an iteration line \(more than 20 needed on each of 2 CPUs\)' \
	"ignored halt: the silence and the missing iterations"

# --- the lhv set wants LHV's own lines: the stand-in's are not
lab lhvset "" "rules = lhv
banner = Stand-in Hypervisor \\(labctl\\) variant=\${variant}"
run_labctl run lhvset hv lhv
is "$rc" 1 "lhv set on the stand-in's lines: exit 1" || diag "$out" "$err"
like "$out" 'FAIL: stage 2 \(lhv\): the machine stopped \(EXIT.*\) before the last stage passed; no CPU printed an iteration line' \
	"lhv set: the stand-in's 'test iter' lines do not count"

# --- the linux set does not misfire on a whole real boot
lab linuxquiet 'rules = standin, linux'
run_labctl run linuxquiet hv lhv
is "$rc" 0 "standin + linux on a clean boot: pass" || diag "$out" "$err"

# --- bad rule files and names: FILE:LINE, exit 2, nothing captured
before=$(results)
bad() {	# bad NAME WATCH-LINES MESSAGE-REGEX [LHV-LINES]
	lab "$1" "$2" "${4:-}"
	run_labctl run "$1" hv lhv
	is "$rc" 2 "$1: exit 2" || diag "$out" "$err"
	like "$err" "$3" "$1: the message"
}
printf '# fine\nbannr /x/\n' >"$T/labs/typo.rules"
bad typo 'rules_file = typo.rules' "labctl: $T/labs/typo.rules:2: unknown directive 'bannr' \\(known: "
printf 'fail /(x/\n' >"$T/labs/regex.rules"
bad regex 'rules_file = regex.rules' "$T/labs/regex.rules:1: fail /\\(x/: bad pattern: "
printf 'include b.rules\n' >"$T/labs/a.rules"
printf 'fail /x/\ninclude a.rules\n' >"$T/labs/b.rules"
bad loop 'rules_file = a.rules' "$T/labs/b.rules:2: include loop: $T/labs/a.rules -> $T/labs/b.rules -> $T/labs/a.rules"
bad missing 'rules_file = nosuch.rules' "$T/labs/missing.conf:8: cannot open $T/labs/nosuch.rules: No such file or directory"
printf 'include nosuch\n' >"$T/labs/inc.rules"
bad incname 'rules_file = inc.rules' "$T/labs/inc.rules:1: no rule set 'nosuch' \\(built in: xmhf, lhv, linux, standin; "
bad setname 'rules = xmhf, lvh' "$T/labs/setname.conf:8: no rule set 'lvh'"
bad stagename '' "$T/labs/stagename.conf:14: no rule set 'nope'" "rules = nope"
# The run's xmhf set passes only an XMHF stage (its guest's GRUB): a last
# stage whose own set cannot pass is refused.
printf 'fail /^never$/\n' >"$LABCTL_RULES/failonly.rules"
bad nopass 'rules = xmhf' "nothing can pass the last stage \\(lhv\\)" "rules = failonly"
is "$(results)" "$before" "bad rules: no result was started"
unlike "$(ls "$T/labs")" '\.tmp|~$' "bad rules: nothing half-written next to the lab files"

done_testing
