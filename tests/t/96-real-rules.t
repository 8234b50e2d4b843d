#!/bin/bash
# Verdicts from the real code: the xmhf and lhv rule sets against every
# line with which the pinned XMHF64 and LHV sources (../shared/xmhf) halt
# or report a fatal error.  xmhf-halts.pl finds those format strings
# (prints near HALT(), HALT_ON_ERRORCOND, endless spins and abort(), and
# any print that says Halting!, HALT!, Fatal, FATAL, TIMEOUT!, unhandled,
# ...) and renders each with sample values; rules-driver.c judges each
# line with the watch a run builds from a lab file (lab_rules_load,
# watch_new), after a preamble that puts it in the stage under test.  Every
# failure line must fail that stage at once, with itself as the line and
# its rule's reason; every other line of the sources (and those in the
# allowlist below) must not fail anything.  A newer XMHF with a new halt
# message fails this test until a rule (or an allowlist entry) covers it.
# Then XMHF CI's test5 pass path: a real-format log passes XMHF -> LHV and
# LHV alone, and LHV's plain iteration lines do not pass XMHF -> LHV.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/xmhf-src.sh"
# The pinned tarballs (tests/t/xmhf-src.sh finds them), unpacked once for
# the suite.
xmhf_src_need
SRC=$XMHF_TARBALL_DIR
[ -f "$SRC/SHA256SUMS" ] || skip_all "no SHA256SUMS beside the pinned XMHF sources in $SRC"
LIBCORE=${LABCTL_LIBCORE:-$TOP/build/check/libcore.a}
[ -f "$LIBCORE" ] || skip_all "no $LIBCORE (make BUILD_KIND=check first)"

# The formats that are not failures although the scanner picks them, each
# with why.  FORMAT as in the C source (a tab as \t), TAB, why.
ALLOW=$(cat <<'EOF'
eXtensible Modular Hypervisor Framework (XMHF) %s\n	the banner; the bootloader's main() ends in HALT() after a call that never returns
Lightweight Hypervisor (LHV) %s\n	LHV's banner, the same main()
\n****** NO DRTM startup ******\n	the normal start without DRT; invokesl() never returns
\n******  INIT(early): Begin TXT Stuff  ******\n	the DRT start on Intel; txt_do_senter() never returns
BSP(0x%02x): Rallying APs...\n	normal boot; do_drtm() never returns
AP(0x%02x): Waiting for DRTM establishment...\n	an AP parks in HALT() until the BSP's INIT-SIPI: normal boot
CPU(0x%02x): AP, locked!\n	a uniprocessor build parks the APs on purpose
SL(early-init): at 0x%08x, starting...\n	normal boot; the secure loader's jump to the runtime never returns
Relinquishing BSP thread and moving to common...\n	normal boot; the common start never returns
runtime initializing...\n	normal boot; the runtime's main() never returns
%s[%02x]: starting partition...\n	normal boot; starting the guest never returns
\n***** INIT xmhf_runtime_shutdown\n	the guest sent INIT to shut down (SVM); the shutdown never returns, else "Halting!" follows
***** VMEXIT_INIT xmhf_runtime_shutdown\n\n	the guest sent INIT to shut down; the shutdown never returns, else "Fatal, xmhf_runtime_shutdown returned. Halting!" follows
CPU(0x%02x): NMI received (MP guest shutdown?)\n	the guest shuts down by NMI; "HALTING!" follows only if the shutdown returns
\tCPU(0x%02x): RFLAGS=0x%016lx\n	register dump printed after the failure's own line (print_guest)
\tCPU(0x%02x): EFLAGS=0x%08lx\n	register dump printed after the failure's own line (print_guest)
get_evtlog_type(): returning EVTLOG_TPM2_LEGACY\n	a debug line; the next line is HALT_ON_ERRORCOND(0)'s "Fatal: Halting!"
TV_HC_UTPM_QUOTE hypercall received.	eu_trace: compiled out at TrustVisor's log level; HALT_ON_ERRORCOND(0)'s line follows
TV_HC_TPMNVRAM_GETSIZE invoked.	eu_trace: compiled out; HALT_ON_ERRORCOND(0)'s line follows
TV_HC_TPMNVRAM_READALL invoked.	eu_trace: compiled out; HALT_ON_ERRORCOND(0)'s line follows
TV_HC_TPMNVRAM_WRITEALL invoked.	eu_trace: compiled out; HALT_ON_ERRORCOND(0)'s line follows
EOF
)

# ------------------------------------------------------------ the sources
ok "the pinned tarballs match SHA256SUMS" \
	bash -c "cd '$SRC' && sha256sum --quiet -c SHA256SUMS"
xmhf_src_repo
XMHF=$XMHF_PLAIN_XMHF64
LHV=$XMHF_PLAIN_LHV
pass "unpack the pinned tarballs (cached in build/xmhf-src/<key>, tests/t/xmhf-src.sh)"

ok "compile the rules driver against $(basename "$LIBCORE")" \
	cc -std=c11 -D_GNU_SOURCE -I"$TOP" -o "$T/drv" \
	"$TOP/tests/t/rules-driver.c" "$LIBCORE" \
	$LIBCORE_LIBS -fsanitize=address,undefined

ok "scan both trees" bash -c "perl '$TOP/tests/t/xmhf-halts.pl' '$XMHF' '$LHV' >'$T/cases.tsv'"

# Split the cases: fail-TREE (failure lines), quiet-TREE (must not fail;
# the allowlisted ones and every other print), and report the counts.
printf '%s\n' "$ALLOW" >"$T/allow.tsv"
perl -e '
	my ($t) = @ARGV;
	open my $a, "<", "$t/allow.tsv" or die;
	my %allow;
	while (<$a>) { chomp; my ($f, $why) = split /\t/, $_, 2; $allow{$f} = 0 if length $f; }
	my (%out, %fmt, %cond, %seen);
	open my $c, "<", "$t/cases.tsv" or die;
	while (<$c>) {
		chomp;
		my ($site, $kind, $f, $line) = split /\t/, $_, 4;
		my ($tree) = $site =~ /^uberxmhf-(\w+)/;
		my $fail = $kind ne "other";
		if ($fail && exists $allow{$f}) { $allow{$f}++; $fail = 0; }
		$fmt{$f} //= $fail if $kind eq "word" || $kind eq "halt";
		if ($kind eq "cond") {
			# One format (the macro): one site per file is judged.
			my ($file) = $site =~ /^(.*):[0-9]+$/;
			next if $cond{$site} = $cond{$file}++;
		}
		next if $seen{"$tree\t$fail\t$line"}++;
		push @{$out{($fail ? "fail-" : "quiet-") . $tree}}, "$site\t$line";
	}
	for my $k (keys %out) {
		open my $o, ">", "$t/$k.tsv" or die;
		print $o "$_\n" for @{$out{$k}};
	}
	my $n = keys %fmt;
	my $covered = grep { $fmt{$_} } keys %fmt;
	open my $s, ">", "$t/stats" or die;
	printf $s "%d %d %d %d\n", $n, $covered, scalar(grep { /:[0-9]+$/ } keys %cond),
		scalar(grep { !$allow{$_} } keys %allow);
	print STDERR "# stale allowlist entry: $_\n" for grep { !$allow{$_} } keys %allow;
' "$T"
read -r nfmt ncovered ncond nstale <"$T/stats"
diag "$nfmt halt or fatal format strings ($ncovered must fail, $((nfmt - ncovered)) allowlisted), $ncond HALT_ON_ERRORCOND sites (one per file judged)"
[ "$nfmt" -gt 100 ] && [ "$ncond" -gt 1000 ] &&
	pass "the scan found the halts ($nfmt formats, $ncond HALT_ON_ERRORCOND sites)" ||
	fail "the scan found only $nfmt formats and $ncond HALT_ON_ERRORCOND sites"
is "$nstale" 0 "every allowlist entry is still in the sources"
for k in fail-xmhf64 fail-lhv quiet-xmhf64 quiet-lhv; do
	[ -s "$T/$k.tsv" ] || { fail "no $k cases"; done_testing; exit 1; }
done

# ------------------------------------------------------------ the labs
# inxmhf: XMHF -> LHV judged as the man page's example (run set xmhf);
# plain: the same chain with the default run set (standin), so the stage
# sets carry the verdict; alone: LHV as the only stage.
mkdir -p "$T/labs"
for lab in inxmhf plain alone; do
	{
		printf '[board]\ntype = qemu\nsmp = 2\n'
		case $lab in
		inxmhf) printf '[watch]\nrules = xmhf\n' ;;
		alone) printf '[watch]\nrules = lhv\n' ;;
		esac
		printf '[variant xmhf]\nrecipe = xmhf64\nsrc = %s\nargs = amd64 fast\nrules = xmhf\n' "$XMHF"
		printf '[variant lhv]\nrecipe = xmhf64\nsrc = %s\nargs = amd64 --lhv-opt 0x1fc\nrules = lhv\n' "$LHV"
	} >"$T/labs/$lab.conf"
done
grub() { printf '%s\n' 'GNU GRUB  version 2.06-13+deb12u1' "  Booting \`$1'" ''; }
{ grub xmhf; echo 'eXtensible Modular Hypervisor Framework (XMHF) v6.1.0'; } >"$T/pre-xmhf"
{
	cat "$T/pre-xmhf"
	printf '%s\n' 'CPU(0x00): Entered VMX root operation' 'CPU(0x01): Entered VMX root operation'
	grub lhv
	printf '%s\n' 'Lightweight Hypervisor (LHV) v6.1.0' 'LHV_OPT = 0x00000000000001fc'
} >"$T/pre-lhv-in"
{ grub lhv; printf '%s\n' 'Lightweight Hypervisor (LHV) v6.1.0'; } >"$T/pre-lhv-alone"

# The scanner on a tree of its own: a new halt message is a failure case
# whatever it says (so a newer XMHF with one breaks the checks below);
# comments, #if 0 and other prints are not; literals join, lines continue.
mkdir -p "$T/newer/uberxmhf-new/xmhf/src/xmhf-core"
cat >"$T/newer/uberxmhf-new/xmhf/src/xmhf-core/new.c" <<'C'
void a(VCPU *vcpu) {
	if (vcpu->frob) {
		printf("CPU(0x%02x): frobnicator %s exploded "
		       "at %08llx\n", vcpu->id, "x", 1ULL);
		dump(vcpu);
		HALT();
	}
	printf("CPU(0x%02x): all good\n", vcpu->id);
	// printf("commented out, HALT!\n");
#if 0
	printf("dead code\n"); HALT();
#endif
	printf("wide \
spread, Halting!\n");
	HALT_ON_ERRORCOND(vcpu != NULL &&
			  vcpu->id < 4);
}
C
is "$(perl "$TOP/tests/t/xmhf-halts.pl" "$T/newer/uberxmhf-new" | cut -f2,4 | sort)" \
	"cond	Fatal: Halting! Condition 'vcpu != NULL && vcpu->id < 4' failed, line 15, file xmhf-core/new.c
halt	CPU(0x01): frobnicator sample exploded at 00000001
other	CPU(0x01): all good
word	wide spread, Halting!" \
	"the scanner: a new halt message, a line that says Halting!, a condition; no comment, no dead code"
is "$(printf 'CPU(0x01): frobnicator sample exploded at 00000001\n' |
	"$T/drv" "$T/labs/inxmhf.conf" xmhf,lhv "$T/pre-xmhf" | cut -f1)" pending \
	"a halt message no rule knows stays pending (so a new one fails the checks below)"

# judge LAB CHAIN PREAMBLE CASES STAGE WANT NAME: each case line through
# the driver; WANT fail: each fails stage STAGE at once on itself with a
# rule's reason (fail-any: or a rule without one, the standin set's);
# WANT quiet: none fails.
judge() {
	local lab=$1 chain=$2 pre=$3 cases=$4 stage=$5 want=$6 name=$7 n bad
	cut -f2 "$cases" | perl -pe 's/\\t/\t/g' >"$T/in"
	if ! "$T/drv" "$T/labs/$lab.conf" "$chain" "$pre" <"$T/in" >"$T/out" 2>"$T/err"; then
		fail "$name" "driver failed: $(cat "$T/err")"
		return
	fi
	n=$(wc -l <"$cases")
	bad=$(paste "$cases" "$T/out" | perl -F'\t' -sane '
		chomp $F[-1];
		my ($site, $line, $verdict, $got, $reason) = @F;
		# Quiet cases share a watch: the 21st iteration line may pass.
		my $ok = $want eq "quiet" ? $verdict =~ /^(pending|pass)$/ :
			$verdict eq "fail" && $got eq $line &&
			($reason =~ /^stage \Q$stage\E: .+ \(fail pattern \/.*\/\)$/ ||
			 $want eq "fail-any" && $reason =~ /^stage \Q$stage\E: fail pattern \/.*\/ matched$/);
		print "$site: $line => $verdict: $reason\n" unless $ok;
	' -- -want="$want" -stage="$stage") || { fail "$name" "the check itself failed"; return; }
	if [ -z "$bad" ] && [ "$(wc -l <"$T/out")" = "$n" ]; then
		pass "$name ($n lines)"
	else
		fail "$name" "$(printf '%s\n' "$bad" | head -25)" \
			"($(printf '%s\n' "$bad" | grep -c .) of $n wrong)"
	fi
}

judge inxmhf xmhf,lhv "$T/pre-xmhf" "$T/fail-xmhf64.tsv" '1 (xmhf)' fail \
	"xmhf set: every XMHF64 failure line fails the XMHF stage at once"
judge inxmhf xmhf,lhv "$T/pre-lhv-in" "$T/fail-xmhf64.tsv" '2 (lhv)' fail \
	"xmhf set: every XMHF64 failure line fails the LHV stage above it at once"
judge alone lhv "$T/pre-lhv-alone" "$T/fail-lhv.tsv" '1 (lhv)' fail \
	"lhv set: every LHV failure line fails LHV alone at once"
judge plain xmhf,lhv "$T/pre-lhv-in" "$T/fail-xmhf64.tsv" '2 (lhv)' fail-any \
	"lhv set under the standin run set: XMHF64's failure lines fail the LHV stage"
judge plain xmhf,lhv "$T/pre-lhv-in" "$T/fail-lhv.tsv" '2 (lhv)' fail-any \
	"lhv set under the standin run set: LHV's failure lines fail the LHV stage"
judge plain xmhf,lhv "$T/pre-xmhf" "$T/fail-xmhf64.tsv" '1 (xmhf)' fail-any \
	"xmhf set under the standin run set: XMHF64's failure lines fail the XMHF stage"

# No rule fires on any other line either tree prints (LHV's plain
# iteration line fails XMHF -> LHV by design: checked below).
grep -v ': LHV test iter ' "$T/quiet-lhv.tsv" >"$T/quiet-lhv-in.tsv"
judge inxmhf xmhf,lhv "$T/pre-xmhf" "$T/quiet-xmhf64.tsv" - quiet \
	"xmhf set: no other XMHF64 line fails the XMHF stage"
judge inxmhf xmhf,lhv "$T/pre-lhv-in" "$T/quiet-lhv-in.tsv" - quiet \
	"xmhf and lhv sets: no other LHV line fails the LHV stage inside XMHF"
judge alone lhv "$T/pre-lhv-alone" "$T/quiet-lhv.tsv" - quiet \
	"lhv set: no other LHV line fails LHV alone"
judge alone lhv "$T/pre-lhv-alone" "$T/quiet-xmhf64.tsv" - quiet \
	"lhv set: no other XMHF64 line fails LHV either"

# Names are not failures: variants called fatal or halt in GRUB's and the
# stand-in's lines (91-rules.t boots one), LHV_OPT, iteration lines.
printf 'names\t%s\n' "  Booting \`fatal'" "  Booting \`halt-on-error'" \
	'Stand-in Hypervisor (labctl) variant=fatal arch=i386 HV_OPT=0x404' \
	'Stand-in Hypervisor (labctl) variant=halt arch=amd64' \
	'Stand-in: variant=fatal_halt' 'LHV_OPT = 0x00000000000005fc' \
	'CPU(0x00): LHV in XMHF test iter 7' >"$T/names.tsv"
judge inxmhf xmhf,lhv "$T/pre-xmhf" "$T/names.tsv" - quiet "xmhf set: names such as fatal or halt do not fail"
judge alone lhv "$T/pre-lhv-alone" "$T/names.tsv" - quiet "lhv set: names such as fatal or halt do not fail"

# The patterns mean the same in POSIX ERE and PCRE2 (the engine may be
# either): the same lines of both trees match each, by grep -E and -P.
if echo x | grep -qP 'x' 2>/dev/null; then
	cut -f4 "$T/cases.tsv" | perl -pe 's/\\t/\t/g' | sort -u >"$T/all-lines"
	differ=$(grep -h '^\(fail\|iter\|banner\) ' "$TOP/rules/xmhf.rules" "$TOP/rules/lhv.rules" | sort -u |
		while IFS= read -r rule; do
			re=$(printf '%s' "$rule" | perl -ne 'print $1 =~ s{\\/}{/}gr if m{^\w+ /((?:\\.|[^/\\])*)/}')
			[ "$(grep -nE -- "$re" "$T/all-lines")" = "$(grep -nP -- "$re" "$T/all-lines" 2>&1)" ] ||
				echo "$rule"
		done)
	is "$differ" "" "every pattern matches the same lines as ERE and as PCRE2"
else
	skip "grep -P (PCRE2) missing"
fi

# lhv.rules carries every failure rule of xmhf.rules but the last.
missing=$(grep '^fail ' "$TOP/rules/xmhf.rules" | grep -v 'LHV test iter' |
	grep -vxF -f "$TOP/rules/lhv.rules")
is "$missing" "" "lhv.rules has every failure rule of xmhf.rules (but the plain LHV iteration one)"

# ------------------------------------------------------------ test5's pass path
# passlog KIND: a boot in the real formats; KIND "in XMHF " or "".
passlog() {
	grub xmhf
	cat <<'EOF'
eXtensible Modular Hypervisor Framework (XMHF) v6.1.0
Build revision: 7dc31ec4009a2774de7944caa12743014b3e9243
Subarch: amd64

Boot method: BIOS
INIT(early): initializing, total modules=2

original system E820 map follows:

0x0000000000000000, size=0x000000000009fc00 (1)
0x000000000009fc00, size=0x0000000000000400 (2)
0x00000000000f0000, size=0x0000000000010000 (2)
0x0000000000100000, size=0x000000003fee0000 (1)
0x000000003ffe0000, size=0x0000000000020000 (2)
0x00000000fffc0000, size=0x0000000000040000 (2)

revised system E820 map follows:

0x0000000000000000, size=0x000000000009fc00 (1)
0x0000000000100000, size=0x000000000ff00000 (1)
0x0000000010000000, size=0x0000000001000000 (2)
SL: runtime at 0x10200000; size=0x00c00000 bytes adjusted to 0x00c00000 bytes (2M aligned)
CPU(0x00): Entered VMX root operation
CPU(0x01): Entered VMX root operation
EOF
	grub lhv
	printf '%s\n' 'Lightweight Hypervisor (LHV) v6.1.0' 'Build revision: ed8d59e1bac6d439946c1e18d896a4b7f6a14b27' \
		'LHV_OPT = 0x00000000000001fc'
	for i in $(seq 0 25); do
		printf 'CPU(0x00): LHV %stest iter %d\nCPU(0x01): LHV %stest iter %d\n' "$1" "$i" "$1" "$i"
	done
}
whole() {	# whole LAB CHAIN < LOG: verdict, line, reason, line-no, stage
	"$T/drv" -l "$T/labs/$1.conf" "$2" 2>&1
}
passlog 'in XMHF ' >"$T/pass-in.log"
passlog '' | sed -n '/Lightweight Hypervisor/,$p' | { grub lhv; cat; } >"$T/pass-alone.log"
out=$(whole inxmhf xmhf,lhv <"$T/pass-in.log")
like "$out" '^pass	CPU\(0x01\): LHV in XMHF test iter 20	all 2 CPUs printed more than 20 iteration lines	' \
	"XMHF -> LHV, run set xmhf: test5's log passes on CPU 1's 21st iteration" || diag "$out"
out=$(whole plain xmhf,lhv <"$T/pass-in.log")
like "$out" '^pass	CPU\(0x01\): LHV in XMHF test iter 20	' "XMHF -> LHV, standin run set: passes too" || diag "$out"
out=$(whole alone lhv <"$T/pass-alone.log")
like "$out" '^pass	CPU\(0x01\): LHV test iter 20	all 2 CPUs printed more than 20 iteration lines	' \
	"LHV alone: its plain iteration lines pass" || diag "$out"
passlog '' >"$T/plain-in.log"
out=$(whole inxmhf xmhf,lhv <"$T/plain-in.log")
like "$out" '^fail	CPU\(0x00\): LHV test iter 0	stage 2 \(lhv\): LHV runs without XMHF under it' \
	"XMHF -> LHV, run set xmhf: LHV's plain iteration lines fail (XMHF is not under it)" || diag "$out"
# Each line of the pass log on its own, in the stage it belongs to.
n=$(grep -n 'Lightweight Hypervisor' "$T/pass-in.log" | cut -d: -f1)
head -n $((n - 1)) "$T/pass-in.log" | grep . | sed 's/^/pass-log\t/' >"$T/pl1.tsv"
tail -n +"$n" "$T/pass-in.log" | grep . | sed 's/^/pass-log\t/' >"$T/pl2.tsv"
judge inxmhf xmhf,lhv "$T/pre-xmhf" "$T/pl1.tsv" - quiet "no rule fires on a line of the XMHF stage of the pass log"
judge inxmhf xmhf,lhv "$T/pre-lhv-in" "$T/pl2.tsv" - quiet "no rule fires on a line of the LHV stage of the pass log"

done_testing
