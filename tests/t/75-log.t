#!/bin/bash
# labctl log: a real result from `labctl run` on the QEMU board (two
# stages: the stand-in hypervisor, then LHV) rendered raw, with line times
# from the .lines sidecar, without ANSI escapes (GRUB's ESC[H ESC[J), one
# stage at a time, as JSON; and the errors for what is missing.
. "$(dirname "$0")/lib.sh"
qemu_board_scratch

cat >"$T/labs/logs.conf" <<'CONF'
[board]
type = qemu
[watch]
timeout = 60s
[variant hv64]
arch = amd64
[variant lhv]
arch = amd64
options = 0x400
CONF

run_labctl run logs hv64 lhv
is "$rc" 0 "run logs hv64 lhv: exit 0" || diag "$out" "$err"
r=$(ls -1 results/ | grep -E '^[0-9]{14}(-[0-9]+)?$' | sort | tail -1)
ok "a result exists" test -n "$r" -a -s "results/$r" -a -s "results/$r.lines"
log=results/$r
sum_before=$(sha256sum <"$log")

# --- raw: byte-identical, by name and by path
"$LABCTL" log "$r" >"$T/raw.out" 2>"$T/raw.err"
is "$?" 0 "log NAME: exit 0"
same_file "$T/raw.out" "$log" "log NAME: byte-identical to the raw file"
"$LABCTL" log "$T/$log" >"$T/raw2.out"
same_file "$T/raw2.out" "$log" "log PATH: byte-identical"
(cd / && "$LABCTL" log "$T/$log") >"$T/raw3.out"
same_file "$T/raw3.out" "$log" "log /ABS/PATH from elsewhere: byte-identical"

# --- names as grep, diff and report take them
"$LABCTL" log latest >"$T/latest.out"
same_file "$T/latest.out" "$log" "log latest: the newest result"
"$LABCTL" log "${r:0:12}" >"$T/prefix.out"
same_file "$T/prefix.out" "$log" "log PREFIX: the result it names"

# --- --timestamps (offset)
nl=$(grep -c '^L' "$log.lines")
"$LABCTL" log --timestamps "$r" >"$T/ts.out"
is "$?" 0 "--timestamps: exit 0"
is "$(grep -ac '' "$T/ts.out")" "$nl" "--timestamps: one output line per sidecar L record ($nl)"
is "$(grep -avcE '^\[ *-?[0-9]+\.[0-9]{6}\] ' "$T/ts.out")" 0 \
	"--timestamps: every line starts with [  S.UUUUUU]"
msg=$(sed -E 's/^\[ *(-?[0-9]+\.[0-9]+)\].*/\1/' "$T/ts.out" |
	awk 'NR > 1 && $1 + 0 < last + 0 { print "line " NR " goes back: " $1 " < " last; exit 1 } { last = $1 }')
is "$?:$msg" "0:" "--timestamps: offsets never decrease"
# the text after the prefix is the log's text
cmp -s <(sed -E 's/^\[ *-?[0-9]+\.[0-9]{6}\] //' "$T/ts.out") <(cat "$log"; [ -n "$(tail -c1 "$log")" ] && echo)
is "$?" 0 "--timestamps: the text after the prefixes is the log"
first_l=$(awk -F'\t' '$1 == "L" { printf "%d.%06d", $3 / 1e9, ($3 % 1e9) / 1e3; exit }' "$log.lines")
like "$(head -n1 "$T/ts.out")" "^\[ *$first_l\] " "--timestamps: the first line's time is its L record's ($first_l)"
"$LABCTL" log --timestamps=offset "$r" >"$T/ts2.out"
same_file "$T/ts2.out" "$T/ts.out" "--timestamps=offset is the default"
# A stage begins at GRUB's Booting line for its entry (issue 15.4).
banner_t=$(grep -a "Booting .XMHF-lhv'" "$T/ts.out" | head -1 | sed -E 's/^\[ *([0-9.]+)\].*/\1/')
stage2_t=$(perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>); printf "%.6f", $j->{stages}[1]{start}' <"$log.json")
ok "--timestamps: GRUB's Booting line of LHV at $banner_t s, the json says stage 2 starts at $stage2_t s" \
	perl -e 'exit(abs($ARGV[0] - $ARGV[1]) < 0.01 ? 0 : 1)' "$banner_t" "$stage2_t"

# --- wall and delta
"$LABCTL" log --timestamps=wall "$r" >"$T/wall.out"
is "$?" 0 "--timestamps=wall: exit 0"
is "$(grep -avcE '^\[[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}[+-][0-9]{2}:[0-9]{2}\] ' "$T/wall.out")" 0 \
	"--timestamps=wall: ISO 8601 with microseconds and zone on every line"
is "$(grep -ac '' "$T/wall.out")" "$nl" "--timestamps=wall: one line per record"
"$LABCTL" log --timestamps=delta "$r" >"$T/delta.out"
is "$?" 0 "--timestamps=delta: exit 0"
like "$(head -n1 "$T/delta.out")" '^\[ +0\.000000\] ' "--timestamps=delta: the first line is 0"
is "$(grep -acE '^\[ *-' "$T/delta.out")" 0 "--timestamps=delta: no negative deltas"
sum_ts=$(sed -E 's/^\[ *([0-9.]+)\].*/\1/' "$T/delta.out" | awk '{ s += $1 } END { printf "%.3f", s }')
span=$(sed -E 's/^\[ *([0-9.]+)\].*/\1/' "$T/ts.out" | awk 'NR == 1 { f = $1 } { l = $1 } END { printf "%.3f", l - f }')
ok "--timestamps=delta: the deltas add up to the span ($sum_ts vs $span)" \
	perl -e 'exit(abs($ARGV[0] - $ARGV[1]) < 0.002 ? 0 : 1)' "$sum_ts" "$span"

# --- --strip-ansi
ok "the raw log has escapes (GRUB)" grep -aq $'\e' "$log"
"$LABCTL" log --strip-ansi "$r" >"$T/strip.out"
is "$?" 0 "--strip-ansi: exit 0"
is "$(grep -ac $'\e' "$T/strip.out")" 0 "--strip-ansi: no ESC left"
is "$(grep -ac $'\r' "$T/strip.out")" 0 "--strip-ansi: no CR left"
ok "--strip-ansi: GRUB's line is clean" grep -aqx 'labctl-grub: default=XMHF-hv64' "$T/strip.out"
is "$(grep -ac '' "$T/strip.out")" "$(grep -ac '' "$log")" "--strip-ansi: as many lines as the log"
"$LABCTL" log --strip-ansi --timestamps "$r" >"$T/stripts.out"
is "$(grep -ac $'\e' "$T/stripts.out")" 0 "--strip-ansi --timestamps: no ESC"
is "$(grep -ac '' "$T/stripts.out")" "$nl" "--strip-ansi --timestamps: one line per record"

# --- --stage
"$LABCTL" log --stage 1 "$r" >"$T/s1.out"
is "$?" 0 "--stage 1: exit 0"
like "$(head -n1 "$T/s1.out")" "Booting .XMHF-hv64'\$" "--stage 1: starts at GRUB's Booting line for it"
is "$(grep -ac 'variant=lhv' "$T/s1.out")" 0 "--stage 1: ends before stage 2's banner"
"$LABCTL" log --stage=2 "$r" >"$T/s2.out"
is "$?" 0 "--stage=2: exit 0"
like "$(head -n1 "$T/s2.out")" "Booting .XMHF-lhv'\$" "--stage 2: starts at GRUB's Booting line for it"
cmp -s "$T/s2.out" <(tail -c "$(stat -c %s "$T/s2.out")" "$log")
is "$?" 0 "--stage 2 (the last): runs to the end of the log"
sb1=$(perl -MJSON::PP -e 'local $/; print decode_json(<STDIN>)->{stages}[0]{start_byte}' <"$log.json")
is "$(cat "$T/s1.out" "$T/s2.out" | sha256sum)" "$(tail -c +$((sb1 + 1)) "$log" | sha256sum)" \
	"--stage 1 + --stage 2 = the log from stage 1's start byte"
"$LABCTL" log --stage 2 --timestamps "$r" >"$T/s2ts.out"
like "$(head -n1 "$T/s2ts.out")" "^\[ *[0-9.]+\] .*Booting .XMHF-lhv'\$" \
	"--stage 2 --timestamps: GRUB's Booting line with its time"
run_labctl log --stage 3 "$r"
is "$rc" 2 "--stage 3 of a 2-stage run: exit 2"
like "$err" 'no stage 3 \(the run had 2\)' "--stage 3: says how many there are"
"$LABCTL" log --stage 0 "$r" >"$T/s0.out"
is "$?" 0 "--stage 0 (firmware, GRUB, as for grep and diff): exit 0"
is "$(cat "$T/s0.out" "$T/s1.out" "$T/s2.out" | sha256sum)" "$(sha256sum <"$log")" \
	"--stage 0 + 1 + 2 = the whole log"
run_labctl log --stage -1 "$r"
is "$rc" 2 "--stage -1: exit 2"
run_labctl log --stage "$r"
is "$rc" 2 "--stage without a number: exit 2"

# --- --json
"$LABCTL" --json log "$r" >"$T/json.out"
is "$?" 0 "--json: exit 0"
is "$(grep -ac '' "$T/json.out")" "$nl" "--json: one object per record"
msg=$(perl -MJSON::PP -ne 'my $j = eval { decode_json($_) } or do { print "line $.: not JSON\n"; exit 1 };
	defined $j->{offset} && defined $j->{wall} && defined $j->{line} or do { print "line $.: missing a field\n"; exit 1 }' "$T/json.out")
is "$?:$msg" "0:" "--json: every line is an object with offset, wall and line"
like "$(grep -a 'variant=lhv' "$T/json.out" | head -1)" '"line":"Stand-in Hypervisor \(labctl\) variant=lhv ' \
	"--json: the line text"

# --- the raw file was never touched
is "$(sha256sum <"$log")" "$sum_before" "the raw log is unchanged after all of this"

# --- bad input
run_labctl log nosuch
is "$rc" 2 "a missing result: exit 2"
like "$err" "no result 'nosuch'" "a missing result: named"
run_labctl log "$T/nowhere/x"
is "$rc" 2 "a missing path: exit 2"
like "$err" "no result $T/nowhere/x" "a missing path: named"
run_labctl log --timestamps=foo "$r"
is "$rc" 2 "--timestamps=foo: exit 2"
like "$err" "unknown --timestamps format 'foo'" "--timestamps=foo: says so"
run_labctl log
is "$rc" 2 "no RESULT: exit 2"
run_labctl log "$r" "$r"
is "$rc" 2 "two results: exit 2"
run_labctl log --frob "$r"
is "$rc" 2 "unknown option: exit 2"
cp "$log" "$T/bare"
"$LABCTL" log "$T/bare" >"$T/bare.out"
same_file "$T/bare.out" "$log" "a result without sidecar still prints raw"
run_labctl log --timestamps "$T/bare"
is "$rc" 2 "--timestamps on a result without sidecar: exit 2"
like "$err" "has no sidecar $T/bare.lines" "--timestamps without sidecar: says what is missing"
run_labctl log --stage 1 "$T/bare"
is "$rc" 2 "--stage on a result without .json: exit 2"
like "$err" "has no $T/bare.json" "--stage without .json: says so"
printf 'garbage\n' >"$T/bare.lines"
run_labctl log --timestamps "$T/bare"
is "$rc" 2 "a sidecar that is not one: exit 2"
like "$err" "not a labctl sidecar" "a sidecar that is not one: says so"
: >"$T/empty"
"$LABCTL" log "$T/empty" >"$T/empty.out"
is "$?:$(stat -c %s "$T/empty.out")" "0:0" "an empty log prints nothing"

done_testing
