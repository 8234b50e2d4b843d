#!/usr/bin/perl
# The console lines with which real XMHF64 and LHV sources halt or report a
# fatal error, for tests/t/96-real-rules.t.
#
#   xmhf-halts.pl TREE...
#
# Reads the C sources XMHF and LHV print from (xmhf/src and the TrustVisor
# hypapp; not the third-party libraries, the verification harness or other
# hypapps) and prints one case a line, tab-separated:
#
#   SITE  KIND  FORMAT  LINE
#
# SITE is TREE-NAME/PATH:LINE, FORMAT the format string as written in C
# (adjacent literals joined), LINE the console line it renders to, with
# sample values for its conversions (%d 1, %02x 01, %s sample, ...).  KIND
# says why the line is a failure:
#   word  its format names a halt or a fatal error (HALT, Halting, halt,
#         fatal, FATAL, panic, TIMEOUT, "should not get here", "does not
#         support VT", "unknown vmexit", ...), wherever it is;
#   halt  it is the first line a halt path prints: the first print in the
#         block or case that ends in HALT(), HALT_ON_ERRORCOND(0 ...), an
#         endless spin (while (1) ;) or abort(), not in a block nested in
#         it, when that print does not name the failure itself (then it is
#         a word line);
#   cond  a HALT_ON_ERRORCOND(COND) site: the macro's own line for COND;
#   other any other print, one case for each line it prints: lines no
#         failure rule may match.
# A format that prints several lines gives the line that names the failure
# (word) or its first non-blank line (halt).  A SITE FORMAT pair is one
# kind only.
use strict;
use warnings;
use File::Find;

my $PRINT = qr/\b(printf|eu_err|eu_err_e|eu_warn|eu_warn_e|eu_trace|eu_trace_e|eu_perf|emhfc_log_error)\s*\(/;
my $WORD = qr/(?i:halt|fatal|panic|should (?:never|not) (?:come|get|be) here|never get here|unhandled)|TIMEOUT|does not support VT|not an Intel CPU|VM-ENTRY error|shutdown returned|unknown vm(?:call|exit)|incorrect result/;

# Remove comments and #if 0 blocks, splice backslash-newlines; keep every
# newline (spliced ones as \x01) so offsets map back to line numbers.
sub clean {
	my ($src) = @_;
	$src =~ s/\\\n/\x01/g;
	my $out = '';
	while ($src =~ /\G("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|\/\*.*?\*\/|\/\/[^\n]*|[^"'\/]+|.)/gcs) {
		my $t = $1;
		if ($t =~ m{^/[*/]}) {
			(my $keep = $t) =~ s/[^\n\x01]/ /g;
			$out .= $keep;
		} else {
			$out .= $t;
		}
	}
	# #if 0 ... #else|#endif, nesting counted.
	my @lines = split /\n/, $out, -1;
	my ($depth, $dead) = (0, 0);
	for my $l (@lines) {
		if ($dead) {
			if ($l =~ /^\s*#\s*if/) { $depth++; }
			elsif ($l =~ /^\s*#\s*endif/) { $dead = 0 if $depth-- == 0; }
			elsif ($l =~ /^\s*#\s*(else|elif)/ && $depth == 0) { $dead = 0; }
			$l =~ s/[^\x01]//g;
		} elsif ($l =~ /^\s*#\s*if\s+0\s*$/) {
			($dead, $depth) = (1, 0);
			$l = '';
		}
	}
	return join "\n", @lines;
}

sub line_of {
	my ($text, $off) = @_;
	my $pre = substr($text, 0, $off);
	return 1 + ($pre =~ tr/\n\x01//);
}

# The argument list of the call whose '(' is at $open: list of argument
# source texts, and the offset after ')'.
sub args_at {
	my ($text, $open) = @_;
	my ($depth, $start, @args) = (0, $open + 1);
	pos($text) = $open;
	while ($text =~ /\G("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|[()\[\]{},]|[^"'()\[\]{},]+)/gc) {
		my $t = $1;
		if ($t =~ /^[(\[{]$/) {
			$depth++;
		} elsif ($t =~ /^[)\]}]$/) {
			if (--$depth == 0) {
				push @args, substr($text, $start, pos($text) - 1 - $start);
				return (\@args, pos($text));
			}
		} elsif ($t eq ',' && $depth == 1) {
			push @args, substr($text, $start, pos($text) - 1 - $start);
			$start = pos($text);
		}
	}
	return (undef, length $text);
}

# The literal of a format argument: adjacent "..." joined, as written.
sub literal {
	my ($arg) = @_;
	$arg =~ s/\x01//g;
	$arg =~ s/^\s+|\s+$//g;
	return undef unless $arg =~ /^(?:"(?:\\.|[^"\\])*"\s*)+$/;
	my $lit = '';
	$lit .= $1 while $arg =~ /"((?:\\.|[^"\\])*)"/g;
	return $lit;
}

sub unescape {
	my ($s) = @_;
	my %e = (n => "\n", t => "\t", r => "\r", '"' => '"', "'" => "'",
		 '\\' => '\\', a => "\a", b => "\b", f => "\f", v => "\x0b",
		 '?' => '?');
	$s =~ s/\\(?:([0-7]{1,3})|x([0-9a-fA-F]+)|(.))/
		defined $1 ? chr(oct $1) : defined $2 ? chr(hex $2) : ($e{$3} \/\/ $3)/ge;
	return $s;
}

# Sample values: what a console shows for a conversion.
sub render {
	my ($fmt) = @_;
	$fmt =~ s{%([-+ #0]*)(\*|[0-9]+)?(?:\.(\*|[0-9]+))?(hh|h|ll|l|L|q|j|z|t)?([diouxXcspn%])}{
		my ($flags, $w, $p, $conv) = ($1, $2, $3, $5);
		$w = 1 if defined $w && $w eq '*';
		$p = 1 if defined $p && $p eq '*';
		my $spec = '%' . $flags . ($w // '') . (defined $p ? ".$p" : '');
		$conv eq '%' ? '%' :
		$conv eq 's' ? sprintf("${spec}s", 'sample') :
		$conv eq 'c' ? sprintf("${spec}s", 'c') :
		$conv eq 'p' ? '0x1000' :
		$conv eq 'n' ? '' :
		sprintf("$spec$conv", 1);
	}ge;
	return $fmt;
}

# What #x makes of an argument: white space between tokens becomes one
# blank, none at either end; literals kept as written.
sub stringify {
	my ($arg) = @_;
	my $out = '';
	while ($arg =~ /\G("(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|\s+|[^"'\s]+)/gc) {
		my $t = $1;
		$out .= $t =~ /^\s/ ? ' ' : $t;
	}
	$out =~ s/^ | $//g;
	return $out;
}

sub lines_of { grep { /\S/ } split /\n/, $_[0]; }

my %seen;
sub emit {
	my ($site, $kind, $lit, $line) = @_;
	return if $kind ne 'other' && $seen{"$site\t$lit"}++;
	$line =~ s/[\r\x00]//g;
	$lit =~ s/\t/\\t/g;
	$line =~ s/\t/\\t/g;
	print "$site\t$kind\t$lit\t$line\n";
}

# Eu_* prints prefix their location, padded to 50 columns.
sub eu_prefix {
	my ($fn, $path) = @_;
	return '' unless $fn =~ /^eu_/;
	my %lvl = (trace => 0, perf => 1, warn => 2, err => 3);
	my ($l) = $fn =~ /^eu_([a-z]+)/;
	return sprintf('%-50s ', "[$lvl{$l}]:$path:sample:1:");
}

sub scan_file {
	my ($tree, $name, $path) = @_;
	open my $fh, '<', "$tree/$path" or die "$tree/$path: $!\n";
	my $src = do { local $/; <$fh> };
	close $fh;
	my $text = clean($src);
	# Braces outside literals only, for block structure.
	(my $skel = $text) =~ s/("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')/' ' x length $1/ge;
	my @prints;	# [offset, fn, literal]
	while ($text =~ /$PRINT/g) {
		my ($fn, $open) = ($1, $+[0] - 1);
		my ($args) = args_at($text, $open);
		next unless $args && @$args;
		my $lit = literal($args->[0]);
		next unless defined $lit;
		push @prints, [$-[0], $fn, $lit];
	}
	for my $p (@prints) {
		my ($off, $fn, $lit) = @$p;
		next unless $lit =~ $WORD;
		my $site = "$name/$path:" . line_of($text, $off);
		my $pre = eu_prefix($fn, $path);
		for my $l (lines_of(unescape($lit))) {
			emit($site, 'word', $lit, $pre . render($l)) if $l =~ $WORD;
		}
	}
	# Halt sites and the block each ends.
	my @halts;
	while ($text =~ /\bHALT\s*\(\s*\)|\babort\s*\(\s*\)|\bwhile\s*\(\s*1\s*\)\s*(?:;|\{\s*(?:xmhf_cpu_relax\s*\(\s*\)\s*;\s*)?\})|\bHALT_ON_ERRORCOND\s*\(/g) {
		my ($start, $end, $what) = ($-[0], $+[0], $&);
		if ($what =~ /^HALT_ON_ERRORCOND/) {
			my ($args) = args_at($text, $end - 1);
			next unless $args && @$args == 1;
			(my $cond = $args->[0]) =~ s/\x01//g;
			$cond = stringify($cond);
			next if $cond eq '_p';	# the macro's own definition
			my $site = "$name/$path:" . line_of($text, $start);
			(my $file = $path) =~ s{^xmhf/src/}{};
			emit($site, 'cond', "HALT_ON_ERRORCOND($cond)",
			     "Fatal: Halting! Condition '$cond' failed, line " .
			     line_of($text, $start) . ", file $file");
			next unless $cond =~ /^(?:0|false)\b|&&\s*0$/;
		}
		push @halts, $start;
	}
	for my $h (@halts) {
		my $from = block_start($skel, $h);
		my @in = grep { $_->[0] >= $from && $_->[0] < $h &&
				same_block($skel, $_->[0], $h) } @prints;
		next if !@in || $in[0][2] =~ $WORD;
		my ($off, $fn, $lit) = @{$in[0]};
		my ($first) = lines_of(unescape($lit));
		next unless defined $first;
		emit("$name/$path:" . line_of($text, $off), 'halt', $lit,
		     eu_prefix($fn, $path) . render($first));
	}
	# Every other print: the lines a failure rule must leave alone.
	for my $p (@prints) {
		my ($off, $fn, $lit) = @$p;
		my $site = "$name/$path:" . line_of($text, $off);
		next if $seen{"$site\t$lit"};
		my $pre = eu_prefix($fn, $path);
		emit($site, 'other', $lit, $pre . render($_))
			for lines_of(unescape($lit));
		$seen{"$site\t$lit"} = 1;
	}
}

# Whether $a is in the block of $b, not in a block nested in it.
sub same_block {
	my ($skel, $a, $b) = @_;
	my $depth = 0;
	for my $c (split //, substr($skel, $a, $b - $a) =~ tr/{}//cdr) {
		$depth += $c eq '{' ? 1 : -1;
		return 0 if $depth < 0;
	}
	return $depth == 0;
}

# Where the block or case that reaches offset $h starts: back to the
# unmatched '{', a case or default label at the same depth, or the end of
# another path (HALT(), break, return, goto) at the same depth.  $text has
# its literals blanked.
sub block_start {
	my ($text, $h) = @_;
	my $depth = 0;
	my $i = $h;
	while ($i > 0) {
		$i--;
		my $c = substr($text, $i, 1);
		if ($c eq '}') {
			$depth++;
		} elsif ($c eq '{') {
			return $i + 1 if $depth-- == 0;
		} elsif ($c eq ';' && $depth == 0) {
			my $stmt_end = $i;
			my $j = $i;
			$j-- while $j > 0 && substr($text, $j - 1, 1) !~ /[;{}]/;
			my $stmt = substr($text, $j, $stmt_end - $j);
			return $i + 1 if $stmt =~ /^\s*(?:HALT\s*\(|break\b|return\b|goto\b|continue\b)|\bHALT\s*\(\s*\)\s*$/;
		} elsif ($c eq ':' && $depth == 0) {
			my $head = substr($text, 0, $i);
			return $i + 1 if $head =~ /(?:\bcase\b[^;{}:]*|\bdefault\s*)$/;
		}
	}
	return 0;
}

for my $tree (@ARGV) {
	(my $name = $tree) =~ s{/+$}{};
	$name =~ s{.*/}{};
	my @files;
	find({ no_chdir => 1, wanted => sub {
		return unless -f && /\.[ch]$/;
		(my $rel = $File::Find::name) =~ s{^\Q$tree\E/*}{};
		return if $rel =~ m{^xmhf/src/xmhf-core/verification/};
		push @files, $rel;
	} }, grep { -d } map { "$tree/$_" } qw(xmhf/src hypapps/trustvisor/src));
	scan_file($tree, $name, $_) for sort @files;
}
