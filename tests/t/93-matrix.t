#!/bin/bash
# labctl matrix (issue 8): every option value x arch is a variant of its
# own, built and run in parallel on a pool of two QEMU boards.  The table
# and the failure groups are checked exactly; a value that breaks the
# variant's opt_requires is never run; a cell whose build fails is a lab
# error (exit 3), never a failure; SIGTERM ends it cleanly.
. "$(dirname "$0")/lib.sh"
command -v qemu-system-x86_64 >/dev/null || skip_all "no qemu-system-x86_64"
[ -d /usr/lib/grub/i386-pc ] || skip_all "grub-pc-bin missing"

export LABCTL_LABS=$T/labs LABCTL_IMAGES=$T/images LABCTL_LOCK_DIR=$T/locks
export LABCTL_STATE_DIR=$T/state LABCTL_HYPERVISOR_DIR=$T/hv TMPDIR=$T/tmp
LABCTL_TIMEOUT=120
mkdir -p "$T/labs" "$T/hv" "$T/tmp"
at_exit "pkill -KILL -f -- '[q]emu-system-x86_64 .*$T/state' || true"
cd "$T" || exit 1

# The stand-in, with one value whose build fails (a lab error, like a
# broken toolchain).
cp "$TOP"/hypervisor/*.[chS] "$TOP"/hypervisor/*.ld "$T/hv/"
{
	echo 'ifeq ($(HV_OPT),0x8400)'
	echo '$(error injected build failure for HV_OPT=0x8400)'
	echo 'endif'
	cat "$TOP/hypervisor/Makefile"
} >"$T/hv/Makefile"

cat >"$T/labs/pq.conf" <<'EOF'
[board]
type = qemu
pool = 2

[variant lhv]
arch = amd64
# An LHV build; the stand-in's 0x2000 halts unless 0x4000 is set too.
options = 0x400
opt_requires = 0x2000:0x4000

[variant hv64]
arch = amd64

[variant slow]
arch = amd64
# Every line 60 ms late: a run of about 4 s.
options = 0x410
cmdline = slow_ms=60

[variant crawl]
arch = amd64
# Every line a second late: a run that outlasts the SIGKILL test.
options = 0x410
cmdline = slow_ms=1000
EOF

json_get() {	# json_get FILE PERL-EXPR
	perl -MJSON::PP -e 'local $/; open my $f, "<", $ARGV[0] or die; my $j = decode_json(<$f>); print eval $ARGV[1]' "$1" "$2"
}

# --- bad input: usage errors name the problem, exit 2, leave nothing
run_labctl matrix pq --opt 0x400
is "$rc" 2 "no --variant: exit 2"
like "$err" "name the variant to vary with --variant" "no --variant: says what is missing"
run_labctl matrix pq --variant lhv --opt 0x400,zz
is "$rc" 2 "a bad --opt value: exit 2"
like "$err" "'zz' is not an option value" "a bad --opt value is named"
run_labctl matrix pq --variant lhv --arch i386,arm
is "$rc" 2 "a bad --arch: exit 2"
like "$err" "'arm' is not an arch" "a bad --arch is named"
run_labctl matrix pq --variant nope --opt 0x400
is "$rc" 2 "an unknown variant: exit 2"
like "$err" "lab pq has no variant 'nope' \(variants: lhv, hv64, slow, crawl\)" "an unknown variant: the lab's variants are listed"
run_labctl matrix pq --variant lhv --before nope
is "$rc" 2 "an unknown --before variant: exit 2"
run_labctl matrix pq --variant lhv --frob
is "$rc" 2 "an unknown option: exit 2"
like "$err" "unknown option '--frob'" "an unknown option is named"
cat >"$T/labs/hp.conf" <<'EOF'
[board]
type = laptop
host = 127.0.0.1
[variant lhv]
EOF
run_labctl matrix hp --variant lhv --opt 0x400
is "$rc" 2 "a real board: exit 2"
like "$err" "matrix runs on QEMU boards" "a real board: says why"
cat >"$T/labs/badreq.conf" <<'EOF'
[board]
type = qemu
[variant lhv]
opt_requires = 0x2000
EOF
run_labctl matrix badreq --variant lhv --opt 0x400
is "$rc" 2 "a bad opt_requires: exit 2"
like "$err" "badreq.conf:4: \[variant lhv\] opt_requires: '0x2000' is not BITS:NEEDED" \
	"a bad opt_requires: file, line and rule"
ok "usage errors left no results, images or private files" \
	test ! -e "$T/results" -a ! -e "$T/images" -a -z "$(ls -A "$T/tmp")"

# --- the matrix: 2 archs x 5 values on 2 boards
run_labctl matrix pq --variant lhv --opt 0x400,0x1c00,0x404,0x2400,0x8400 --arch i386,amd64
is "$rc" 1 "a matrix with failures: exit 1"
table=$(printf '%s\n' "$out" | sed -n '/^matrix pq: lhv/,/^$/p' | sed '1d;$d')
is "$table" "       0x400  0x1c00  0x404  0x2400  0x8400
i386   pass   FAIL    FAIL   skip    infra
amd64  pass   FAIL    FAIL   skip    infra" "the table: rows arch, columns option value" || diag "$out" "$err"
groups=$(printf '%s\n' "$out" | sed -n '/^failures by first failing line:/,/^$/p' |
	sed -E 's/results\/[0-9-]+/RESULT/; s/ \(on pq-[12]\)$//; s/line [0-9]+, file/line N, file/; s/ line [0-9]+$/ line L/')
is "$groups" "failures by first failing line:
  Fatal: Halting! Condition '(cfg.opt & HV_OPT_PAIR) != HV_OPT_PAIR' failed, line N, file main.c  (2 cells)
    i386  0x1c00     RESULT line L
    amd64 0x1c00     RESULT line L
  Fatal: Halting! Condition '!(cfg.opt & HV_OPT_FATAL)' failed, line N, file main.c  (2 cells)
    i386  0x404      RESULT line L
    amd64 0x404      RESULT line L" "failures grouped by their first failing line" || diag "$out"
like "$out" "lab errors \(not failures of the machine under test\):
    i386  0x8400     build of lhv.i386.0x8400 failed" "the build failure is a lab error, with its reason"
like "$out" "not run \(they break the variant's opt_requires\):
    i386  0x2400     0x2000 needs 0x4000" "a value that breaks opt_requires is not run"
like "$out" "10 cells: 2 pass, 4 FAIL, 2 infra, 2 skipped in [0-9.]+ s \(2 runs at once\)" "the summary line"
like "$err" "\[6/6\] lhv\.[a-z0-9]+\.0x[0-9a-f]+ on pq-[12]: " "progress: one line per run, with its board"
ok "no run of a value that breaks opt_requires" test -z "$(grep -l '0x2400' results/*.json 2>/dev/null)"
is "$(ls results/*.json | wc -l)" 6 "six runs, six results"
boards=$(cat results/*.json | grep -o '"lab": *"pq-[12]"' | sort -u | wc -l)
is "$boards" 2 "the runs used both boards of the pool"
f=$(grep -l '"verdict": *"fail"' results/*.json | head -1)
like "$(json_get "$f" '$j->{command}')" "^labctl matrix pq --variant lhv --opt 0x(1c00|404) --arch (i386|amd64)$" \
	"a cell's record holds the command that reruns just that cell"
ok "each cell has its own images on the boards" \
	grep -q '/lhv.amd64.0x1c00/init.bin' $(ls "$T"/state/pq-*/deployed)
ok "no private files left" test -z "$(ls -A "$T/tmp")"

# --json: the same, for scripts
run_labctl matrix pq --variant lhv --opt 0x400,0x1c00,0x404,0x2400,0x8400 --arch i386,amd64 --json \
	--junit "$T/m.xml" --html "$T/m.html"
is "$rc" 1 "--json: exit 1"
printf '%s' "$out" >"$T/m.json"
is "$(json_get "$T/m.json" 'join " ", map { "$_->{arch}:$_->{options}:$_->{verdict}" } @{$j->{cells}}')" \
	"i386:0x400:pass i386:0x1c00:fail i386:0x404:fail i386:0x2400:skip i386:0x8400:infra amd64:0x400:pass amd64:0x1c00:fail amd64:0x404:fail amd64:0x2400:skip amd64:0x8400:infra" \
	"--json: every cell with its verdict"
is "$(json_get "$T/m.json" 'join "|", map { join ",", @{$_->{cells}} } @{$j->{groups}}')" "1,6|2,7" \
	"--json: the failure groups by cell index"
is "$(json_get "$T/m.json" '"$j->{pass} $j->{fail} $j->{infra} $j->{skip}"')" "2 4 2 2" "--json: the counts"
ok "--json: every run cell names its result file" \
	perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>); for (@{$j->{cells}}) { next unless $_->{verdict} =~ /pass|fail/; -s $_->{result} or exit 1 } exit 0' <"$T/m.json"

# --junit and --html: the report/ writers over the six runs.
ok "--junit: well-formed XML" xmllint --noout "$T/m.xml"
if [ -f "$TOP/tests/t/junit.xsd" ]; then
	ok "--junit: valid JUnit" sh -c 'xmllint --noout --schema "$1" "$2" 2>/dev/null' _ \
		"$TOP/tests/t/junit.xsd" "$T/m.xml"
fi
is "$(grep -c '<testsuite ' "$T/m.xml")" 6 "--junit: a test suite per run"
like "$(grep '<testsuites' "$T/m.xml")" 'failures="4"' "--junit: the four failures"
like "$(cat "$T/m.html")" "lhv\.amd64\.0x1c00" "--html: the report names the cells"
ok "--junit and --html left no temporary files" test -z "$(ls -a "$T" | grep -E '^\.?m\.(xml|html)\.')"

# All pass: exit 0 (each cell the last stage after hv64).  Only lab errors
# besides passes: exit 3, not 1.
run_labctl --json matrix pq --variant lhv --opt 0x400,0x4400 --arch amd64 --before hv64
is "$rc" 0 "all cells pass: exit 0"
printf '%s' "$out" >"$T/p.json"
is "$(json_get "$T/p.json" '"$j->{pass} $j->{fail} $j->{infra}"')" "2 0 0" "all pass: the counts"
r=$(json_get "$T/p.json" '$j->{cells}[1]{result}')
is "$(json_get "$r.json" 'join " ", map { $_->{variant} } @{$j->{stages}}')" "hv64 lhv.amd64.0x4400" \
	"--before: the cell is the last stage of the chain"
run_labctl matrix pq --variant lhv --opt 0x400,0x8400 --arch amd64
is "$rc" 3 "a lab error and no failure: exit 3"
like "$out" "amd64  pass   infra" "a lab error is shown as infra, not FAIL"

# --- SIGTERM: the running cells end cleanly, the table shows what ran
"$LABCTL" matrix pq --variant slow --opt 0x410,0x4410,0x10410 --arch amd64 \
	>"$T/int.out" 2>"$T/int.err" &
mpid=$!
for _ in $(seq 150); do
	[ "$(pgrep -f -- "[q]emu-system-x86_64 .*$T/state" | wc -l)" = 2 ] && break
	sleep 0.2
done
sleep 0.5
kill -TERM "$mpid"
wait "$mpid"
is "$?" 3 "SIGTERM: exit 3"
like "$(cat "$T/int.err")" "matrix interrupted by SIGTERM" "SIGTERM: says it was interrupted"
like "$(cat "$T/int.out")" "amd64  infra +infra +-$" "SIGTERM: the cells that ran are lab errors, the rest not run" ||
	diag "$(cat "$T/int.out")"
sleep 0.5
is "$(pgrep -f -- "[q]emu-system-x86_64 .*$T/state" | wc -l)" 0 "SIGTERM: no QEMU left running"
ok "SIGTERM: no private files left" test -z "$(ls -A "$T/tmp")"
run_labctl locks pq-1 pq-2
like "$out" "pq-1 +free" "SIGTERM: pq-1 is free again"
like "$out" "pq-2 +free" "SIGTERM: pq-2 is free again"

# --- SIGKILL of the matrix: its cells stop as on SIGTERM, QEMU with them
"$LABCTL" matrix pq --variant crawl --opt 0x410,0x4410,0x10410 --arch amd64 \
	>"$T/kill.out" 2>"$T/kill.err" &
mpid=$!
for _ in $(seq 150); do
	[ "$(pgrep -f -- "[q]emu-system-x86_64 .*$T/state" | wc -l)" = 2 ] && break
	sleep 0.2
done
sleep 0.5
kill -KILL "$mpid"
wait "$mpid" 2>/dev/null
gone=no
for _ in $(seq 50); do
	[ "$(pgrep -f -- "[q]emu-system-x86_64 .*$T/state" | wc -l)" = 0 ] &&
		{ gone=yes; break; }
	sleep 0.1
done
is "$gone" yes "SIGKILL of the matrix: its cells stop QEMU within 5 s"
# Each cell releases its board after stopping QEMU: wait for both.
for _ in $(seq 50); do
	run_labctl locks pq-1 pq-2
	[ "$(grep -cE 'pq-[12] +free' <<<"$out")" = 2 ] && break
	sleep 0.1
done
like "$out" "pq-1 +free" "SIGKILL: pq-1 is free again"
like "$out" "pq-2 +free" "SIGKILL: pq-2 is free again"

# --- a cell that cannot run (its board is held outside labctl): a lab
# error with the run's own message, handed back without its output
cat >"$T/labs/solo.conf" <<'EOF'
[board]
type = qemu

[variant lhv]
arch = amd64
options = 0x400
EOF
run_labctl power solo status	# makes the board's state directory
lock=$(ls "$T"/state/solo-*/lock 2>/dev/null | head -1)
ok "the solo board has a state lock" test -n "$lock"
flock -n "$lock" sleep 30 &
holder=$!
at_exit "kill $holder 2>/dev/null || true"
for _ in $(seq 50); do
	flock -n "$lock" true 2>/dev/null || break
	sleep 0.1
done
run_labctl --json matrix solo --variant lhv --opt 0x400 --arch amd64
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
is "$rc" 3 "a board held elsewhere: exit 3"
printf '%s' "$out" >"$T/held.json"
is "$(json_get "$T/held.json" '$j->{cells}[0]{verdict}')" "infra" "... the cell is a lab error"
like "$(json_get "$T/held.json" '$j->{cells}[0]{reason}')" "^board solo is in use by another labctl" \
	"... with the run's own message as the reason"
is "$(json_get "$T/held.json" '$j->{cells}[0]{result} // "none"')" "none" "... and no result"

done_testing
