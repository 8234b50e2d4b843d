#!/bin/bash
# The worst patterns a rule file accepts, per KiB of console: labctl's
# watch (the rule set loaded and checked as `labctl run` loads it, every
# line fed as the capture feeds it; a small driver linked against
# libcore.a) against `grep -E` (GNU grep's DFA) and `grep -P` (PCRE2 with
# grep's own limits) on the same input, same pattern, same run.  The input
# is 4 KiB lines of letters and blanks that never match: the case where a
# backtracking matcher does the most work.  labctl's matcher gives up on a
# line at its match limit (pattern.h), so its cost per KiB is bounded
# whatever the pattern; the last line is the audit's case, 20 such rules.
#   KIB (256)  console size per measurement
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
LABCTL=${LABCTL:-$TOP/build/default/bin/labctl}
LIBCORE=${LABCTL_LIBCORE:-$(dirname "$(dirname "$LABCTL")")/libcore.a}
KIB=${KIB:-256}
W=$(mktemp -d "${TMPDIR:-/var/tmp}/labctl-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT

[ -f "$LIBCORE" ] || { echo "regex bench: no $LIBCORE"; exit 1; }
san=$(nm "$LIBCORE" 2>/dev/null | grep -m1 -o __asan_init || true)
cat >"$W/drv.c" <<'EOF'
/* drv RULES CONSOLE: ms the watch takes for the console's lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "labctl/rules.h"
#include "labctl/watch.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/strbuf.h"

int main(int argc, char **argv)
{
	static const struct watch_stage_def stage = { "x", "^never a banner$", NULL };
	struct strbuf text = STRBUF_INIT;
	struct rule_set *set = rules_new();
	struct watch_opts o = { .cpus = 1, .iter_min = 1 };
	struct timespec a, b;
	struct watch *w;
	const char *p, *nl, *end;
	int ret;

	(void)argc;
	lab_log_set_level(LAB_LOG_ERROR);	/* the give-up warnings */
	ret = rules_load_file(set, argv[1], NULL, 0);
	if (ret || strbuf_read_file(&text, argv[2], 0)) {
		fprintf(stderr, "drv: %s\n", lab_errmsg(ret));
		return 2;
	}
	o.rules = set;
	w = watch_new(&stage, 1, &o);
	if (!w)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (p = text.buf, end = p + text.len; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			break;
		watch_line(w, p, (size_t)(nl - p), 0, 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.3f\n", (double)(b.tv_sec - a.tv_sec) * 1e3 +
	       (double)(b.tv_nsec - a.tv_nsec) / 1e6);
	watch_free(w);
	rules_free(set);
	strbuf_release(&text);
	return 0;
}
EOF
# shellcheck disable=SC2046
cc -std=c11 -O2 -D_GNU_SOURCE -I"$TOP" -o "$W/drv" "$W/drv.c" "$LIBCORE" \
	$(pkg-config --libs inih libssh libcurl libftdi1 libgpiod libcrypto sqlite3 jansson libpcre2-8 libxml-2.0 2>/dev/null) -lm \
	${san:+-fsanitize=address,undefined}
[ -z "$san" ] || echo "regex bench: $LIBCORE is a sanitizer build: labctl's numbers are pessimistic"

# KIB KiB of 4 KiB lines (4095 bytes and a newline), seeded, without Q.
perl -e 'srand(1); my @c = ("a".."z", "N", " "); for (1 .. $ARGV[0] / 4) {
	print join("", map { $c[int rand @c] } 1 .. 4095), "\n" }' "$KIB" >"$W/console"

ms() {	# ms CMD...: wall ms of CMD
	local s e
	s=$(date +%s%N)
	"$@" >/dev/null 2>&1 || true
	e=$(date +%s%N)
	awk -v s="$s" -v e="$e" 'BEGIN {printf "%.3f", (e-s)/1e6}'
}
per_kib() { awk -v t="$1" -v k="$KIB" 'BEGIN {printf "%.4f", t/k}'; }

echo "patterns that never match, ${KIB} KiB of 4 KiB console lines (ms per KiB):"
worst=0 worst_re=
for re in '(.{0,31}){0,31}QN' '(.*){1,32}QN' '((((a|b|.)*)*)*)*QN' \
	'(a|b|c|d|e|f|g|h|i|j|k|l|m|N|o|p|q|r|s|t|u|v|w|x|y|z| )*QN' \
	'(.*a|.*b|.*c|.*d|.*e)*QN' '([^N]*N){1,50}QN' 'Fatal: Halting!'; do
	printf 'fail /%s/\n' "$re" >"$W/one.rules"
	l=$("$W/drv" "$W/one.rules" "$W/console")
	ge=$(ms grep -E -c -- "$re" "$W/console")
	gp=$(ms grep -P -c -- "$re" "$W/console")
	gpnote=
	grep -P -c -- "$re" "$W/console" >/dev/null 2>"$W/gp.err" || true
	grep -q 'exceeded' "$W/gp.err" && gpnote=' (grep -P gave up: backtracking limit)'
	printf '  /%s/: labctl %s, grep -E %s, grep -P %s%s; labctl/grep -E %sx\n' "$re" \
		"$(per_kib "$l")" "$(per_kib "$ge")" "$(per_kib "$gp")" "$gpnote" \
		"$(awk -v a="$l" -v b="$ge" 'BEGIN {printf "%.3g", a/(b > 0 ? b : 0.001)}')"
	if awk -v a="$l" -v b="$worst" 'BEGIN {exit !(a > b)}'; then
		worst=$l worst_re=$re
	fi
done
printf 'worst accepted pattern: /%s/ at %s ms per KiB of console in labctl (bounded: it gives up on a line at its match limit)\n' \
	"$worst_re" "$(per_kib "$worst")"

# The audit's case: 20 rules like the first one (glibc's regexec took 14 s
# on the first 4 KiB line).
: >"$W/twenty.rules"
for n in $(seq 12 31); do printf 'fail /(.{0,31}){0,%d}QN/\n' "$n" >>"$W/twenty.rules"; done
l=$("$W/drv" "$W/twenty.rules" "$W/console")
ge=$(ms grep -E -c -f <(sed 's|^fail /\(.*\)/$|\1|' "$W/twenty.rules") "$W/console")
printf '20 such rules: labctl %s ms per KiB (%s ms per 4 KiB line), grep -E -f %s ms per KiB; ratio %sx\n' \
	"$(per_kib "$l")" "$(awk -v t="$l" -v k="$KIB" 'BEGIN {printf "%.1f", t/(k/4)}')" \
	"$(per_kib "$ge")" "$(awk -v a="$l" -v b="$ge" 'BEGIN {printf "%.3g", a/(b > 0 ? b : 0.001)}')"
