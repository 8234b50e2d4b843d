#!/bin/bash
# labctl report on real results from the QEMU board (one pass, one fail)
# and on a result with hostile console bytes: JUnit checked against
# tests/t/junit.xsd with xmllint, TAP read by prove, the HTML opened in
# headless Chromium (timeline SVG and highlighted failure in the DOM, a
# screenshot that is not blank), bad input, and a 100k-line log.
. "$(dirname "$0")/lib.sh"
command -v xmllint >/dev/null || skip_all "xmllint (libxml2-utils) missing"
command -v chromium >/dev/null || skip_all "chromium missing"

qemu_board_scratch

json_get() {	# json_get FILE PERL-EXPR
	perl -MJSON::PP -e 'local $/; open my $f, "<", $ARGV[0] or die; my $j = decode_json(<$f>); print eval $ARGV[1]' "$1" "$2"
}
# Headless Chromium, bounded, its profile and home in $T.
chrome() {
	HOME=$T/home timeout -k 5 60 chromium --headless --no-sandbox --disable-gpu \
		--disable-dev-shm-usage --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync --user-data-dir="$T/chrome" "$@" \
		2>>"$T/chrome.log"
}
# "WIDTH HEIGHT distinct-bytes distinct-4-byte-words" of a PNG's pixel data
# (decompressed, still filtered: a blank page gives a handful of each).
png_stat() {
	perl -MCompress::Zlib -e '
		local $/; open my $f, "<:raw", $ARGV[0] or die "$ARGV[0]: $!\n"; my $png = <$f>;
		substr($png, 0, 8) eq "\x89PNG\r\n\x1a\n" or die "not a PNG\n";
		my ($pos, $idat, $w, $h) = (8, "");
		while ($pos < length $png) {
			my ($len, $type) = unpack "N a4", substr($png, $pos, 8);
			my $data = substr($png, $pos + 8, $len);
			($w, $h) = unpack "N N", $data if $type eq "IHDR";
			$idat .= $data if $type eq "IDAT";
			$pos += 12 + $len;
		}
		my $raw = uncompress($idat) // die "bad IDAT\n";
		my (%b, %q);
		$b{$_} = 1 for unpack "C*", $raw;
		$q{$_} = 1 for unpack "(a4)*", $raw;
		printf "%d %d %d %d\n", $w, $h, scalar keys %b, scalar keys %q;' "$1"
}

cat >"$T/labs/report92.conf" <<'CONF'
[board]
type = qemu
[watch]
silence_timeout = 3s
stage_timeout = 20s
timeout = 40s
[variant hv]
arch = amd64
[variant lhv]
arch = i386
options = 0x400
[variant fatal]
arch = i386
options = 0x404
CONF

# --- two real runs: hv -> lhv passes, hv -> fatal halts in stage 2
run_labctl --json run report92 hv lhv
is "$rc" 0 "run hv lhv: pass" || diag "$err"
printf '%s' "$out" >"$T/pass.json"
pass_log=$(json_get "$T/pass.json" '$j->{log}')
run_labctl --json run report92 hv fatal
is "$rc" 1 "run hv fatal: fail" || diag "$err"
printf '%s' "$out" >"$T/fail.json"
fail_log=$(json_get "$T/fail.json" '$j->{log}')
fail_line=$(json_get "$T/fail.json" '$j->{line_no}')
like "$fail_line" '^[1-9][0-9]*$' "the fail run names its deciding line ($fail_line)"
[ -s "$pass_log" ] && [ -s "$fail_log" ] || { diag "no results"; done_testing; exit 1; }

# --- a third result: the fail run with hostile console bytes appended
# (escapes, NUL, "]]>", markup, bad UTF-8), that line deciding it
evil=results/20991231235959
cp "$fail_log" "$evil"
cp "$fail_log.lines" "$evil.lines"
[ "$(tail -c 1 "$evil" | od -An -c | tr -d ' ')" = '\n' ] || printf '\n' >>"$evil"
off=$(stat -c %s "$evil")
printf '\033[31mEVIL <script>alert(1)</script> ]]> \000\001 \377\376 &amp; \033]0;title\007end\n' >>"$evil"
last=$(grep '^L' "$evil.lines" | tail -1 | cut -f3)
printf 'L\t%s\t%s\t%s\n' "$off" "$((last + 1000000))" "$(date +%s%N)" >>"$evil.lines"
evil_line=$(grep -c '^L' "$evil.lines")
perl -MJSON::PP -e 'local $/; open my $f, "<", $ARGV[0] or die; my $j = decode_json(<$f>);
	$j->{line_no} = $ARGV[1] + 0; $j->{line} = "EVIL <script>alert(1)</script> ]]>";
	$j->{reason} = "hostile <b>reason</b> ]]> & \"quoted\"";
	$j->{log} = $ARGV[2];
	open my $o, ">", "$ARGV[2].json" or die; print $o encode_json($j)' \
	"$fail_log.json" "$evil_line" "$evil"

# --- JUnit, validated against the schema
run_labctl report "$pass_log" "$fail_log" "$evil" --junit "$T/junit.xml"
is "$rc" 0 "report --junit: exit 0" || diag "$err"
xmllint --noout --schema "$TOP/tests/t/junit.xsd" "$T/junit.xml" 2>"$T/xmllint.err"
is "$?" 0 "the JUnit XML validates against tests/t/junit.xsd" || diag "$(cat "$T/xmllint.err")"
x() { xmllint --xpath "$1" "$T/junit.xml" 2>/dev/null; }
is "$(x 'count(//testsuite)')" 3 "junit: one testsuite per result"
is "$(x 'count(//testcase)')" 6 "junit: one testcase per stage (2 stages x 3)"
is "$(x 'sum(//testsuite/@tests)')" 6 "junit: the suites' tests add up"
is "$(x 'string(//testsuite[1]/testcase[2]/@name)')" "stage 2 lhv (XMHF-lhv)" "junit: testcase name is stage N variant (entry)"
is "$(x 'string(//testsuite[1]/testcase[2]/@classname)')" "labctl.report92.hv-lhv" "junit: classname labctl.LAB.CHAIN, stable across runs"
is "$(x 'string(//testsuite[2]/testcase[1]/@classname)')" "labctl.report92.hv-fatal" "junit: another chain, another class"
is "$(x 'string(//testsuite[1]/@hostname)')" "$(hostname)" "junit: hostname is the virtual board's host (this machine)"
is "$(json_get "$pass_log.json" '$j->{host}')" "$(hostname)" "the run recorded the board's host in its .json"
is "$(x 'count(//testsuite[1]//failure)')" 0 "junit: the passing run has no failure"
is "$(x 'string(//testsuite[2]/testcase[2]/failure/@message)')" \
	"stage 2 (fatal): fail pattern /Fatal: Halting!/ matched" "junit: the failing stage carries the reason"
like "$(x 'string(//testsuite[2]/testcase[2]/failure)')" "> +$fail_line \\| Fatal: Halting! Condition" \
	"junit: the failure holds the deciding line, marked"
like "$(x 'string(//testsuite[2]/testcase[2]/failure)')" " +$((fail_line - 1)) \\| " "junit: ... and the line before it"
is "$(x 'count(//testsuite[2]/testcase[1]/*)')" 0 "junit: the stage before the failure passed"
is "$(x 'string(//testsuite[3]/testcase[2]/failure/@message)')" 'hostile <b>reason</b> ]]> & "quoted"' \
	"junit: a hostile reason survives the round trip"
like "$(x 'string(//testsuite[3]/testcase[2]/failure)')" "> +$evil_line \\| .*EVIL <script>alert\\(1\\)</script> \\]\\]>" \
	"junit: the hostile line is text, escapes stripped"
t=$(x 'string(//testsuite[2]/testcase[2]/@time)')
like "$t" '^[0-9]+\.[0-9]{3}$' "junit: the stage's time ($t s)"
# The schema can fail: a broken document is refused.
sed 's/<failure /<flop /' "$T/junit.xml" >"$T/broken.xml"
xmllint --noout --schema "$TOP/tests/t/junit.xsd" "$T/broken.xml" >/dev/null 2>&1
isnt_zero=$?
[ "$isnt_zero" != 0 ] && pass "the schema refuses an unknown element" || fail "the schema accepted <flop>"

# --- TAP, read by prove
run_labctl report "$pass_log" --tap
is "$rc" 0 "report --tap: exit 0"
printf '%s\n' "$out" >"$T/pass.tap"
prove -e cat "$T/pass.tap" >"$T/prove.out" 2>&1
is "$?" 0 "prove: the passing run's TAP passes" || diag "$(cat "$T/prove.out")"
like "$(cat "$T/prove.out")" 'Files=1, Tests=3' "prove: 2 stages + the verdict"
run_labctl report "$pass_log" "$fail_log" "$evil" --tap
printf '%s\n' "$out" >"$T/all.tap"
prove -e cat "$T/all.tap" >"$T/prove.out" 2>&1
is "$?" 1 "prove: the failing runs fail" || diag "$(cat "$T/prove.out")"
like "$(cat "$T/prove.out")" 'Failed 4/9 subtests' "prove: 4 of 9 tests fail (stage 2 and the verdict, twice)"
unlike "$(cat "$T/prove.out")" 'Parse errors|Bad plan' "prove: no parse errors"
like "$out" "not ok 5 - [0-9]+ stage 2 fatal \\(XMHF-fatal\\)" "tap: the failing stage"
like "$out" "# > +$fail_line \\| Fatal: Halting!" "tap: the deciding line as a diagnostic"

# --- run --junit FILE --tap: the same formats straight from a run
run_labctl run report92 hv fatal --junit "$T/run.xml" --tap
is "$rc" 1 "run --junit --tap: the verdict's exit code" || diag "$err"
printf '%s\n' "$out" >"$T/run.tap"
like "$out" '^1\.\.3' "run --tap: TAP instead of the summary"
unlike "$out" 'FAIL: ' "run --tap: no summary on stdout"
prove -e cat "$T/run.tap" >"$T/prove.out" 2>&1
like "$(cat "$T/prove.out")" 'Failed 2/3 subtests' "run --tap: prove reads it" || diag "$(cat "$T/prove.out")"
xmllint --noout --schema "$TOP/tests/t/junit.xsd" "$T/run.xml" 2>"$T/xmllint.err"
is "$?" 0 "run --junit: the file validates" || diag "$(cat "$T/xmllint.err")"
is "$(xmllint --xpath 'string(//testcase[2]/failure/@message)' "$T/run.xml")" \
	"stage 2 (fatal): fail pattern /Fatal: Halting!/ matched" "run --junit: the failure"
run_labctl --json run report92 hv lhv --tap
is "$rc" 2 "run --tap --json: exit 2"
like "$err" 'only one of --tap, --json and --junit -' "run --tap --json: says why"

# --- HTML, in Chromium
run_labctl report "$pass_log" "$fail_log" "$evil" -o "$T/report.html"
is "$rc" 0 "report -o: exit 0" || diag "$err"
unlike "$(grep -c -E '<(script|link|img|iframe|object)[ >]|src=|url\(|@import|href="https?:' "$T/report.html")" '^[1-9]' \
	"the HTML is self-contained (no scripts, links, images or URLs)"
chrome --dump-dom "file://$T/report.html" >"$T/dom.html"
is "$?" 0 "chromium dumps the DOM" || diag "$(tail -5 "$T/chrome.log")"
dom=$(cat "$T/dom.html")
is "$(grep -o '<svg[^>]*class="timeline"' "$T/dom.html" | wc -l)" 3 "DOM: one timeline <svg> per run"
like "$dom" '<section id="matrix">' "DOM: the matrix for several runs"
like "$dom" "<span class=\"hl hl-fail\" id=\"run2-L$fail_line\">" "DOM: the deciding line of the fail run is highlighted"
like "$dom" "<a class=\"decided\" href=\"#run2-L$fail_line\">line $fail_line</a>" "DOM: the summary links to it"
like "$dom" "<span class=\"hl hl-pass\" id=\"run1-L[0-9]+\">" "DOM: the pass run's deciding line too"
like "$dom" 'class="v v-fail" href="#run2"' "DOM: a matrix cell links to its run"
like "$dom" "id=\"run3-L$evil_line\"><a [^>]*>\\[ *[0-9.]+\\]</a> EVIL &lt;script&gt;alert\\(1\\)&lt;/script&gt; \\]\\]&gt; " \
	"DOM: the hostile line is text, its escapes stripped"
unlike "$dom" '<script' "DOM: no script element came from the console"
like "$dom" '>stage 2<' "DOM: the timeline labels its stage lanes"
like "$dom" '>FAIL at [0-9.]+ (ms|s)</text>' "DOM: the timeline marks the verdict"

chrome --screenshot="$T/shot.png" --window-size=1280,2000 "file://$T/report.html" >/dev/null
read -r w h nb nq < <(png_stat "$T/shot.png")
is "$w x $h" "1280 x 2000" "the screenshot has the window's size"
[ "${nb:-0}" -ge 100 ] && [ "${nq:-0}" -ge 1000 ] && pass "the screenshot is not blank ($nb byte values, $nq words)" ||
	fail "the screenshot looks blank ($nb byte values, $nq words)"
# ... and that check can fail: a blank page is told apart.
printf '<!DOCTYPE html><html><body></body></html>\n' >"$T/blank.html"
chrome --screenshot="$T/blank.png" --window-size=1280,2000 "file://$T/blank.html" >/dev/null
read -r _ _ bb bq < <(png_stat "$T/blank.png")
[ "${bb:-999}" -lt 100 ] && [ "${bq:-99999}" -lt 1000 ] && pass "a blank page counts as blank ($bb, $bq)" ||
	fail "a blank page was not told apart ($bb, $bq)"

# --- --json
run_labctl --json report "$pass_log" "$fail_log" -o "$T/two.html"
is "$rc" 0 "report --json: exit 0"
printf '%s' "$out" >"$T/report.json"
is "$(json_get "$T/report.json" 'join " ", map { $_->{verdict} } @{$j->{results}}')" "pass fail" "json: the verdicts"
is "$(json_get "$T/report.json" 'join " ", map { $_->{outcome} } @{$j->{results}[1]{stages}}')" "pass fail" "json: the stage outcomes"
is "$(json_get "$T/report.json" '$j->{html}')" "$T/two.html" "json: where the HTML went"
ok "the HTML was written with --json" test -s "$T/two.html"
run_labctl report latest --tap
like "$out" "^1\\.\\.3" "a result by name: latest"

# --- bad input: the message, the exit code, nothing half-written
run_labctl report
is "$rc" 2 "no results: exit 2"
like "$err" 'which results\?' "no results: says so"
run_labctl report "$pass_log"
is "$rc" 2 "no output asked for: exit 2"
like "$err" 'nothing to write: give -o FILE, --junit FILE, --tap or --json' "no output: says what to give"
run_labctl report "$pass_log" -o "$T/x.html" --rows bogus
is "$rc" 2 "--rows bogus: exit 2"
like "$err" "--rows takes variant, chain, arch, options, lab or board, not 'bogus'" "--rows bogus: the keys"
run_labctl --json report "$pass_log" --tap
is "$rc" 2 "--tap and --json: exit 2"
like "$err" 'only one of' "--tap and --json: says why"
mkdir "$T/out"
printf 'old\n' >"$T/out/keep.html"
run_labctl report "$pass_log" nosuch -o "$T/out/keep.html" --junit "$T/out/j.xml"
is "$rc" 2 "an unknown result: exit 2"
like "$err" "no result 'nosuch'" "an unknown result is named"
is "$(cat "$T/out/keep.html")" "old" "an unknown result: the old report is untouched"
is "$(ls "$T/out")" "keep.html" "an unknown result: nothing else written, no temp file"
run_labctl report "$pass_log" -o "$T/nodir/r.html"
is "$rc" 2 "-o into a missing directory: exit 2"
like "$err" "$T/nodir/r.html" "-o into a missing directory: names the file"
ok "-o into a missing directory: nothing created" test ! -e "$T/nodir"
printf 'not json' >"$T/out/x"
cp "$pass_log.lines" "$T/out/x.lines"
printf '{"verdict":' >"$T/out/x.json"
run_labctl report "$T/out/x" --tap
is "$rc" 0 "a damaged .json still reports"
like "$out" 'not ok 1 - x verdict unknown' "a damaged .json: verdict unknown"
like "$out" '# damaged .*x\.json' "a damaged .json: says so"

# A damaged sidecar costs the line times, not the report.
cp "$fail_log" "$T/out/y"
cp "$fail_log.json" "$T/out/y.json"
{ head -3 "$fail_log.lines"; printf 'L\tgarbage\n'; } >"$T/out/y.lines"
run_labctl report "$T/out/y" -o "$T/out/y.html"
is "$rc" 0 "a damaged sidecar still reports" || diag "$err"
like "$err" 'y\.lines:4: .*without line times' "a damaged sidecar: a warning naming the record"
like "$(cat "$T/out/y.html")" 'no sidecar: line numbers instead of times' "a damaged sidecar: line numbers instead"

# --- a 100k-line log
big=results/20991231235958
cp "$pass_log" "$big"
cp "$pass_log.json" "$big.json"
cp "$pass_log.lines" "$big.lines"
perl -e 'my ($log, $side) = @ARGV; my $off = -s $log;
	open my $l, ">>", $log or die; open my $s, ">>", $side or die;
	for my $i (1 .. 100000) {
		my $line = sprintf "CPU(0x%02x): vcpu->vmcs.guest_RIP = 0x%08x \e[1mLHV test iter %d\e[0m\n", $i % 2, $i * 16, $i;
		print $s "L\t$off\t" . (3000000000 + $i * 10000) . "\t1\n";
		print $l $line; $off += length $line;
	}' "$big" "$big.lines"
start=$(date +%s%N)
run_labctl report "$big" -o "$T/big.html"
ms=$((($(date +%s%N) - start) / 1000000))
is "$rc" 0 "100k lines: exit 0" || diag "$err"
diag "report of $(grep -c '^L' "$big.lines") lines ($(stat -c %s "$big") bytes): $(stat -c %s "$T/big.html") bytes of HTML in $ms ms"
[ "$ms" -lt 20000 ] && pass "100k lines: rendered in $ms ms" || fail "100k lines took $ms ms"
ok "100k lines: the last line is in it" grep -q 'LHV test iter 100000$' "$T/big.html"

done_testing
