#!/bin/bash
# labctl results / grep / diff on real results from the QEMU board (passing
# runs and a Fatal halt injected with HV_OPT 0x404) and on hand-written
# results in the style of the XMHF notes: the SQLite index (incremental
# equals reindex, filters, --since, damaged and missing JSON, a live
# capture, 20 processes at once while results appear), grep with stages
# and grep -n's line numbers, stage-aligned diffs with --filter.
. "$(dirname "$0")/lib.sh"
qemu_board_scratch

json() {	# json PERL-EXPR < JSON
	perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>); print eval $ARGV[0]; die $@ if $@' "$1"
}
names() { ls -1 results/ | grep -E '^[0-9]{14}(-[0-9]+)?$'; }

cat >"$T/labs/res.conf" <<'CONF'
[board]
type = qemu
[watch]
silence_timeout = 3s
stage_timeout = 20s
timeout = 40s
[variant hv64]
arch = amd64
[variant lhv]
arch = amd64
options = 0x400
[variant fatal]
arch = i386
options = 0x404
CONF

# --- four real results: pass, fail (Fatal halt in stage 2), pass, pass
run_labctl run res hv64 lhv
is "$rc" 0 "run res hv64 lhv: pass" || diag "$out" "$err"
pass1=$(names | sort | tail -1)
run_labctl run res hv64 fatal
is "$rc" 1 "run res hv64 fatal: fail" || diag "$out" "$err"
failr=$(names | sort | tail -1)
run_labctl run res lhv
is "$rc" 0 "run res lhv: pass"
single=$(names | sort | tail -1)
run_labctl run res hv64 lhv
is "$rc" 0 "run res hv64 lhv again: pass"
pass2=$(names | sort | tail -1)
is "$(names | wc -l)" 4 "four results"

# --- results: newest first, with lab, verdict, duration, chain, reason
run_labctl results
is "$rc" 0 "results: exit 0" || diag "$err"
is "$(printf '%s\n' "$out" | sed 1d | awk '{print $1}' | tr '\n' ' ')" \
	"$pass2 $single $failr $pass1 " "results: the four, newest first"
like "$(printf '%s\n' "$out" | head -1)" '^RESULT +LAB +VERDICT +DURATION +CHAIN +REASON$' "results: a header"
like "$(printf '%s\n' "$out" | grep "^$failr ")" \
	"^$failr +res +fail +[0-9]+\\.[0-9] s +hv64 -> fatal +stage 2 \\(fatal\\): fail pattern /Fatal: Halting!/" \
	"results: the failing run's row"
ok "the index is a file in results/" test -s results/.index.sqlite

run_labctl --json results
is "$rc" 0 "results --json: exit 0"
printf '%s' "$out" >"$T/all.json"
is "$(json 'scalar @$j' <"$T/all.json")" 4 "--json: four objects"
is "$(json 'join " ", map { "$_->{verdict}:" . join("+", @{$_->{chain}}) } @$j' <"$T/all.json")" \
	"pass:hv64+lhv pass:lhv fail:hv64+fatal pass:hv64+lhv" "--json: verdicts and chains"
is "$(json '$j->[2]{lab} . " " . $j->[2]{board} . " " . $j->[2]{stages} . "/" . $j->[2]{reached}' <"$T/all.json")" \
	"res qemu 2/2" "--json: lab, board, stages"
ok "--json: duration and started" sh -c "perl -MJSON::PP -e 'local \$/; my \$j = decode_json(<STDIN>); exit(\$j->[0]{duration} > 0 && \$j->[0]{started} =~ /^\\d{4}-\\d\\d-\\d\\dT/ ? 0 : 1)' <'$T/all.json'"

# --- filters
run_labctl results --verdict fail
is "$(printf '%s\n' "$out" | sed 1d | awk '{print $1}')" "$failr" "--verdict fail: the failing run"
run_labctl results --variant lhv --json
is "$(printf '%s' "$out" | json 'join " ", map { $_->{name} } @$j')" "$pass2 $single $pass1" "--variant lhv: every run with lhv in its chain"
run_labctl results --variant fatal --verdict pass
is "$rc:$out" "0:" "--variant fatal --verdict pass: nothing, exit 0"
like "$err" "no results in results/ match" "nothing matches: says so"
run_labctl results --lab res --limit 2
is "$(printf '%s\n' "$out" | sed 1d | awk '{print $1}' | tr '\n' ' ')" "$pass2 $single " "--lab res --limit 2: the newest two"
run_labctl --lab nosuch results
is "$rc:$out" "0:" "--lab of another lab: nothing"
run_labctl results --since 1h --json
is "$(printf '%s' "$out" | json 'scalar @$j')" 4 "--since 1h: all four"
run_labctl results --verdict maybe
is "$rc" 2 "--verdict maybe: exit 2"
like "$err" "--verdict wants pass, fail, infra, unknown or running, not 'maybe'" "--verdict maybe: says what it takes"
for bad in yesterday 2d3h 2026-13-01 -1d; do
	run_labctl results --since "$bad"
	is "$rc" 2 "--since $bad: exit 2"
done
like "$err" "--since wants a duration \(30m, 12h, 2d\) or a date" "--since: the message"
run_labctl results --limit 0
is "$rc" 2 "--limit 0: exit 2"
run_labctl results extra
is "$rc" 2 "a stray word: exit 2"
run_labctl results reindex --verdict pass
is "$rc" 2 "reindex with a filter: exit 2"

# --- hand-written results in the style of the notes, a damaged JSON
cat >results/20220208171146 <<'LOG'
eXtensible Modular Hypervisor Framework (XMHF) 6.1.0
FIXED_MTRR[0] = 0x0606060606060606
FIXED_MTRR[1] = 0x0606060606060606
CPU(0x00): vcpu->vmcs.guest_RIP = 0x7c00
CPU(0x00): vcpu->vmcs.guest_RSP = 0x6f00
CPU(0x00): vcpu->vmcs.guest_CR0 = 0x00000010
CPU(0x01): vcpu->vmcs.guest_RIP = 0x0000
CPU(0x00): vcpu->vmcs.guest_ES_selector = 0x0000
LOG
sed -e 's/guest_RSP = 0x6f00/guest_RSP = 0x6ef8/' -e 's/^\(CPU(0x00): vcpu->vmcs.guest_CR0.*\)$/\1\nCPU(0x00): vcpu->vmcs.guest_CR4 = 0x00002000/' \
	results/20220208171146 >results/20220208171500
cp "results/$failr" results/20220208172000
head -c 300 "results/$failr.json" >results/20220208172000.json
touch -d '2022-02-08 17:11:46' results/20220208171146
touch -d '2022-02-08 17:15:00' results/20220208171500
touch -d '2022-02-08 17:20:00' results/20220208172000 results/20220208172000.json
run_labctl --json results
is "$rc" 0 "hand-written and damaged results: exit 0" || diag "$err"
printf '%s' "$out" >"$T/all7.json"
is "$(json 'scalar @$j' <"$T/all7.json")" 7 "picked up without a reindex: seven results"
is "$(json 'join " ", map { $_->{name} . ":" . $_->{verdict} } @$j[4..6]' <"$T/all7.json")" \
	"20220208172000:unknown 20220208171500:unknown 20220208171146:unknown" "the old ones last, verdict unknown"
like "$(json '$j->[4]{reason}' <"$T/all7.json")" '^damaged results/20220208172000\.json \(' "a damaged JSON: listed, with why"
like "$(json '$j->[6]{reason}' <"$T/all7.json")" '^no results/20220208171146\.json' "no JSON: listed, with why"
is "$(json '$j->[6]{started}' <"$T/all7.json" | cut -c1-19)" "2022-02-08T17:11:46" "no JSON nor sidecar: the time is the name's"
run_labctl results --verdict unknown --since 2022-02-08T17:14
is "$(printf '%s\n' "$out" | sed 1d | awk '{print $1}' | tr '\n' ' ')" "20220208172000 20220208171500 " "--since a date and time"
run_labctl results --since 20220208 --verdict unknown --json
is "$(printf '%s' "$out" | json 'scalar @$j')" 3 "--since YYYYMMDD"
run_labctl results --since 2d --verdict unknown --json
is "$(printf '%s' "$out" | json 'scalar @$j')" 0 "--since 2d: the 2022 ones are out"

# --- reindex equals incremental
dump() { sqlite3 results/.index.sqlite 'SELECT name, sort_key, log_size, json_size, started, lab, chain, verdict, reason, duration, nstages, reached FROM results ORDER BY name; SELECT * FROM stages ORDER BY name, idx;'; }
command -v sqlite3 >/dev/null || diag "sqlite3 missing: comparing listings only"
inc_list=$("$LABCTL" --json results)
inc_db=$(dump 2>&1)
run_labctl results reindex
is "$rc" 0 "reindex: exit 0"
is "$out" "indexed 7 results in results/.index.sqlite" "reindex: says what it did"
is "$("$LABCTL" --json results)" "$inc_list" "after reindex: the same listing"
is "$(dump 2>&1)" "$inc_db" "after reindex: the same rows in the index"
# a result removed, one changed: the index follows
mv results/20220208171146 "$T/saved"
sed -i 's/"verdict":"pass"/"verdict":"infra"/' "results/$single.json"
run_labctl --json results
is "$(printf '%s' "$out" | json 'scalar @$j')" 6 "a removed result leaves the list"
is "$(printf '%s' "$out" | json 'join " ", map { $_->{verdict} } grep { $_->{name} eq "'"$single"'" } @$j')" infra "a changed JSON is read again"
mv "$T/saved" results/20220208171146
sed -i 's/"verdict":"infra"/"verdict":"pass"/' "results/$single.json"
# a damaged index file is rebuilt, not fatal
printf 'not a database%.0s' $(seq 1 100) >results/.index.sqlite
rm -f results/.index.sqlite-wal results/.index.sqlite-shm
run_labctl --json results
is "$rc" 0 "a damaged index: exit 0"
like "$err" "is damaged: rebuilding it" "a damaged index: a warning"
is "$out" "$inc_list" "a damaged index: rebuilt to the same listing"

# --- results someone else owns (read-only): listed, nothing written there
mkdir -p "$T/ro"
cp "results/$pass1" "results/$pass1.json" "results/$pass1.lines" "$T/ro/"
chmod 644 "$T"/ro/*
chmod 555 "$T/ro"
as_other=()
if [ "$(id -u)" = 0 ]; then
	chmod 711 "$T"	# let the other user reach $T/ro
	as_other=(setpriv --reuid=65534 --regid=65534 --clear-groups)
fi
"${as_other[@]}" "$LABCTL" results --results "$T/ro" >"$T/ro.out" 2>"$T/ro.err"
is "$?" 0 "a read-only results directory: exit 0" || diag "$(cat "$T/ro.err")"
like "$(cat "$T/ro.out")" "^$pass1 +res +pass " "a read-only results directory: listed"
ok "a read-only results directory: no index written into it" test ! -e "$T/ro/.index.sqlite"
"${as_other[@]}" "$LABCTL" grep -F 'test iter 3' --results "$T/ro" >"$T/ro.out" 2>&1
is "$?" 0 "grep in a read-only results directory: exit 0"

# --- a capture still being written (locked by its writer) is "running"
printf 'Stand-in Hypervisor (labctl) variant=hv64\n' >results/20990101000000
# flock(2) as capture.c takes it, by a process that is all there is to kill
perl -MFcntl=:flock -e 'open my $f, "<", $ARGV[0] or die; flock $f, LOCK_EX or die; sleep 30' results/20990101000000 &
holder=$!
at_exit "kill $holder"
for _ in $(seq 1 50); do "$LABCTL" results --verdict running 2>/dev/null | grep -q 20990101000000 && break; sleep 0.1; done
run_labctl results --verdict running
is "$(printf '%s\n' "$out" | sed 1d | awk '{print $1 " " $3}')" "20990101000000 running" "a live capture: running"
kill "$holder"; wait "$holder" 2>/dev/null
run_labctl results --verdict running
is "$out" "" "its writer gone: no longer running"
run_labctl results --verdict unknown
like "$out" "20990101000000 +- +unknown" "its writer gone: unknown"
rm -f results/20990101000000

# --- 20 labctl processes at once while results appear
mkdir -p "$T/spool"
for i in $(seq 10 39); do
	for e in "" .json .lines; do cp "results/$pass1$e" "$T/spool/203001010000$i$e"; done
	sed -i "s/\"lab\":\"res\"/\"lab\":\"copy$i\"/" "$T/spool/203001010000$i.json"
done
(
	for i in $(seq 10 39); do	# appear as a run writes them: log, sidecar, JSON
		for e in "" .lines .json; do mv "$T/spool/203001010000$i$e" "results/203001010000$i$e"; done
		sleep 0.02
	done
) &
mover=$!
pids=()
for k in $(seq 1 20); do
	(
		for _ in 1 2 3; do
			if [ "$k" -le 2 ]; then args="results reindex"; else args="--json results"; fi
			# shellcheck disable=SC2086
			"$LABCTL" $args >"$T/c.$k.out" 2>"$T/c.$k.err" || { echo "labctl $args: $(cat "$T/c.$k.err")"; exit 1; }
			[ "$args" = "results reindex" ] || perl -MJSON::PP -e 'local $/; decode_json(<STDIN>)' <"$T/c.$k.out" ||
				{ echo "not JSON"; exit 1; }
		done
	) >"$T/c.$k.log" 2>&1 &
	pids+=($!)
done
bad=0
for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
wait "$mover"
is "$bad" 0 "20 at once (2 of them reindexing) while 30 results appear: all succeed" ||
	diag "$(cat "$T"/c.*.log | sort | uniq -c | head -5)"
is "$(cat "$T"/c.*.err)" "" "20 at once: no message on stderr"
run_labctl --json results
printf '%s' "$out" >"$T/after.json"
is "$(json 'scalar @$j' <"$T/after.json")" 37 "every new result is listed"
is "$(json 'scalar grep { $_->{lab} =~ /^copy/ } @$j' <"$T/after.json")" 30 "with the lab its JSON names (read after the JSON appeared)"
"$LABCTL" results reindex >/dev/null
is "$("$LABCTL" --json results)" "$(cat "$T/after.json")" "then a reindex gives the same listing"
rm -f results/20300101*

# --- grep
run_labctl grep 'Fatal: Halting!'
is "$rc" 0 "grep (the last 20): a match, exit 0"
n=$(grep -a -n 'Fatal: Halting!' "results/$failr" | cut -d: -f1)
is "$(printf '%s\n' "$out" | grep -c .)" 2 "grep: the fail run and its damaged copy"
like "$out" "^$failr:$n: \\[stage 2\\] Fatal: Halting! Condition '!\\(cfg.opt & HV_OPT_FATAL\\)' failed" \
	"grep: <result>:<grep -n's line number>: [stage 2] <line>"
like "$out" "20220208172000:$n: Fatal: Halting!" "grep: a result without stages: no stage"
run_labctl grep -F 'labctl-grub: default=XMHF-' "$failr"
is "$out" "$failr:1: [stage 0] labctl-grub: default=XMHF-hv64
$failr:$(grep -a -n 'labctl-grub: default=XMHF-fatal' "results/$failr" | cut -d: -f1): [stage 1] labctl-grub: default=XMHF-fatal" \
	"grep -F: GRUB before stage 1 is stage 0, the next GRUB is still stage 1; escapes stripped"
run_labctl grep -E '^Stand-in Hypervisor .*variant=(hv64|fatal) ' "$failr" --stage 2
is "$out" "$failr:$(grep -a -n 'Stand-in Hypervisor (labctl) variant=fatal ' "results/$failr" | cut -d: -f1): [stage 2] Stand-in Hypervisor (labctl) variant=fatal arch=i386 HV_OPT=0x404" \
	"grep -E --stage 2: only stage 2's banner"
run_labctl grep -i 'STAND-IN HYPERVISOR' latest
is "$(printf '%s\n' "$out" | grep -c "^$pass2:")" 2 "grep -i latest: both banners of the newest"
# the notes' grep, unchanged: a basic regex; the same lines and numbers as grep -n
run_labctl grep 'FIXED_MTRR\[0\]' 20220208171146
is "$out" "$(grep -n 'FIXED_MTRR\[0\]' results/20220208171146 | sed -E 's/^([0-9]+):/20220208171146:\1: /')" \
	"grep 'FIXED_MTRR\\[0\\]': grep -H -n's lines"
run_labctl grep -F 'CPU(0x00): vcpu->vmcs.' 20220208171146 20220208171500
is "$out" "$( (grep -n -F 'CPU(0x00): vcpu->vmcs.' results/20220208171146 | sed -E 's/^([0-9]+):/20220208171146:\1: /'
	grep -n -F 'CPU(0x00): vcpu->vmcs.' results/20220208171500 | sed -E 's/^([0-9]+):/20220208171500:\1: /'))" \
	"grep -F over two results: in the order given"
run_labctl grep CPU "$T/results/20220208171146"
like "$out" "^$T/results/20220208171146:4: CPU" "a path is printed as given"
# (the run ends once both CPUs passed 20 iterations: 3 is there for both)
run_labctl --json grep -E 'test iter 3$' "$pass1"
is "$(printf '%s\n' "$out" | perl -MJSON::PP -ne '$j = decode_json($_); print "$j->{result} $j->{stage} $j->{variant} $j->{line}\n"' | sort)" \
	"$pass1 2 lhv CPU(0x00): test iter 3
$pass1 2 lhv CPU(0x01): test iter 3" "grep --json: one object per line, with stage and variant"
run_labctl grep 'no such text anywhere'
is "$rc:$out" "1:" "grep without a match: exit 1, no output"
run_labctl grep 'a\(' "$failr"
is "$rc" 2 "grep with a bad regex: exit 2"
like "$err" "bad basic regular expression 'a\\\\\\('" "bad regex: says so"
run_labctl grep Fatal nosuch "$failr"
is "$rc" 2 "grep with a missing result: exit 2 (as grep)"
like "$err" "no result 'nosuch'" "missing result: named"
like "$out" "^$failr:" "missing result: the others are still searched"
run_labctl grep Fatal "$failr" --stage 5
is "$rc" 2 "grep --stage 5 of a 2-stage result: exit 2"
like "$err" "there is no stage 5" "--stage 5: says so"
run_labctl grep 'variant=' --stage 2
like "$out" "$failr:.*variant=fatal" "grep --stage over recent results: those without it are skipped"
is "$rc" 0 "grep --stage over recent results: exit 0"
run_labctl grep
is "$rc" 2 "grep without a pattern: exit 2"
run_labctl grep -- -F "$failr"
is "$rc" 1 "grep -- -F: -F is the pattern"
run_labctl grep x --results "$T/none"
is "$rc" 2 "grep with no results at all: exit 2"
like "$err" "no results in $T/none/ to search" "no results: says so"

# --- diff
run_labctl diff "$pass1" "$pass1"
is "$rc" 0 "diff A A: exit 0"
is "$out" "--- $pass1	(res: hv64 -> lhv, pass)
+++ $pass1	(res: hv64 -> lhv, pass)
=== stage 0 (before stage 1: firmware, GRUB): same, $(($(grep -a -n "Booting .XMHF-hv64'" "results/$pass1" | cut -d: -f1) - 1)) line
=== stage 1: hv64 | hv64: same, $(($(grep -a -n "Booting .XMHF-lhv'" "results/$pass1" | cut -d: -f1) - $(grep -a -n "Booting .XMHF-hv64'" "results/$pass1" | cut -d: -f1))) lines
=== stage 2: lhv | lhv: same, $(($(grep -a -c '' "results/$pass1") - $(grep -a -n "Booting .XMHF-lhv'" "results/$pass1" | cut -d: -f1) + 1)) lines" \
	"diff A A: one 'same' header per stage, with line counts"
run_labctl diff "$pass1" "$pass2" --filter 'mmap: '
is "$rc" 0 "two passing runs, their memory maps: the same (exit 0)" || diag "$out"
run_labctl diff "$pass1" "$failr" --filter 'variant='
is "$rc" 1 "pass vs fail: exit 1"
is "$out" "--- $pass1	(res: hv64 -> lhv, pass)
+++ $failr	(res: hv64 -> fatal, fail)
=== stage 1: hv64 | hv64: same, 2 lines
=== stage 2: lhv | fatal: 2 lines only in A, 2 only in B
@@ -$(grep -a -n 'Hypervisor (labctl) variant=lhv ' "results/$pass1" | head -1 | cut -d: -f1),2 +$(grep -a -n 'Hypervisor (labctl) variant=fatal ' "results/$failr" | head -1 | cut -d: -f1),2 @@
-Stand-in Hypervisor (labctl) variant=lhv arch=amd64 HV_OPT=0x400
-payload: ok magic=LABHVPL1 len=8192 $(grep -a -o 'sum=0x[0-9a-f]* variant=lhv arch=amd64' "results/$pass1" | head -1)
+Stand-in Hypervisor (labctl) variant=fatal arch=i386 HV_OPT=0x404
+payload: ok magic=LABHVPL1 len=8192 $(grep -a -o 'sum=0x[0-9a-f]* variant=fatal arch=i386' "results/$failr" | head -1)" \
	"diff --filter: per stage, raw line numbers in the hunk header"
run_labctl diff "$pass1" "$single" --filter 'variant='
like "$out" "=== stage 1: hv64 \\| lhv: " "a shorter chain: stage 1 against stage 1"
like "$out" "=== stage 2: lhv \\| \\(no such stage\\): 2 lines only in A, 0 only in B" "a shorter chain: its missing stage against nothing"
run_labctl diff "$pass1" "$failr" --stage 2 --filter 'mmap:'
is "$rc:$(printf '%s\n' "$out" | grep -c '^===')" "0:1" "--stage 2 --filter mmap: one stage, the same"
run_labctl --json diff "$pass1" "$failr" --stage 2 -U 0
is "$rc" 1 "--json: exit 1"
is "$(printf '%s' "$out" | json '$j->{same} ? "same" : "differ"')" differ "--json: same false"
is "$(printf '%s' "$out" | json 'join " ", map { "$_->{stage}:$_->{a}:$_->{b}" } @{$j->{stages}}')" "2:lhv:fatal" "--json: the stage and its variants"
is "$(printf '%s' "$out" | json 'my $h = $j->{stages}[0]{hunks}[0]; "$h->{lines}[0]{op} $h->{lines}[0]{a_line}"')" \
	"- $(grep -a -n "Booting .XMHF-lhv'" "results/$pass1" | head -1 | cut -d: -f1)" "--json: hunks with raw line numbers"
# the notes' diff <(grep -F ...) <(grep -F ...), one command
run_labctl diff 20220208171146 20220208171500 --filter 'CPU(0x00): vcpu->vmcs.'
is "$rc" 1 "notes-style results differ: exit 1"
is "$(printf '%s\n' "$out" | grep -E '^[-+][^-+]')" \
	"$(diff -u <(grep -F 'CPU(0x00): vcpu->vmcs.' results/20220208171146) <(grep -F 'CPU(0x00): vcpu->vmcs.' results/20220208171500) | grep -E '^[-+][^-+]')" \
	"the same changed lines as diff <(grep -F ...) <(grep -F ...)"
like "$out" "=== the whole logs \\(no stage information\\): 1 line only in A, 2 only in B" "no JSON: the whole logs, one header"
like "$out" "@@ -4,4 \\+4,5 @@" "hunk header: the raw logs' line numbers"
# escapes, CRs and line times never make a difference
sed -e 's/^/\x1b[0m/' -e 's/$/\r/' results/20220208171146 >results/20220208180000
printf 'T0\t1\nT0\t2\nL\t0\t5\t7\n' >results/20220208180000.lines
run_labctl diff 20220208171146 20220208180000
is "$rc:$(printf '%s\n' "$out" | tail -1)" "0:=== the whole logs (no stage information): same, 8 lines" "ANSI escapes, CRs, a sidecar: the same"
cp "results/$pass1" results/20220208181000
cp "results/$pass1.json" results/20220208181000.json
awk -F'\t' 'BEGIN { OFS = "\t" } $1 == "L" { $3 += 12345678 } { print }' "results/$pass1.lines" >results/20220208181000.lines
run_labctl diff "$pass1" 20220208181000
is "$rc" 0 "the same log with other line times: the same"
# errors
run_labctl diff "$pass1" "$failr" --stage 9
is "$rc" 2 "--stage 9: exit 2"
like "$err" "there is no stage 9 in $pass1 \\(2 stages\\) or $failr \\(2 stages\\)" "--stage 9: says so"
run_labctl diff "$pass1" 20220208171146 --stage 1
is "$rc" 2 "--stage with a result without stages: exit 2"
like "$err" "20220208171146 has no stage information" "--stage without stages: names the result"
run_labctl diff "$pass1" nosuch
is "$rc" 2 "a missing result: exit 2"
like "$err" "no result 'nosuch'" "a missing result: named"
run_labctl diff "$pass1"
is "$rc" 2 "one result: exit 2"
run_labctl diff a b c
is "$rc" 2 "three results: exit 2"
run_labctl diff "$pass1" "$failr" -U x
is "$rc" 2 "-U x: exit 2"
run_labctl diff 2022020817 "$pass1"
is "$rc" 2 "an ambiguous prefix: exit 2"
like "$err" "'2022020817' names [0-9]+ results" "an ambiguous prefix: says so"

# nothing above wrote into a result
ok "no temp files left in results/" sh -c "! ls -A results | grep -v -E '^([0-9]{14}(-[0-9]+)?(\\.json|\\.lines)?|\\.index\\.sqlite(-wal|-shm)?|\\.live)\$'"

done_testing
