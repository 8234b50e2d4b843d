// SPDX-License-Identifier: MIT
/*
 * labctl/pattern.c: EREs on PCRE2.  The same lines match as with glibc's
 * regexec (a differential test over patterns in the style of the rule
 * files), what means something else in PCRE2 is refused, captures, and the
 * bound on the work of one line: a pathological pattern gives up in time,
 * the give-up is counted, and the watch warns and goes on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "labctl/pattern.h"
#include "labctl/rules.h"
#include "labctl/watch.h"
#include "lib/err.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "testutil.h"

#define LONG_LINE 4095		/* the watch cuts lines at 4 KiB */

/* CPU time: what a pattern costs, whatever else runs on the machine. */
static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static struct pattern_re *compile_ok(const char *re, unsigned flags)
{
	char err[256];
	struct pattern_re *p = pattern_new(re, flags, err, sizeof(err));

	if (!p)
		fail_msg("/%s/ refused: %s", re, err);
	return p;
}

static void refused(const char *re, const char *want)
{
	char err[256] = "";
	struct pattern_re *p = pattern_new(re, 0, err, sizeof(err));

	if (p) {
		pattern_free(p);
		fail_msg("/%s/ accepted, want refused with '%s'", re, want);
	}
	assert_contains(err, want);
}

/* A 4 KiB console line of letters and blanks, without Q (seeded). */
static void noise_line(char *line, unsigned seed)
{
	static const char abc[] = "abcdefghijklmNopqrstuvwxyz ";
	int i;

	srand(seed);
	for (i = 0; i < LONG_LINE; i++)
		line[i] = abc[rand() % (int)(sizeof(abc) - 1)];
	line[LONG_LINE] = '\0';
}

/* ----------------------------------------------------- same as POSIX */

static void test_same_lines_as_regexec(void **state)
{
	static const char *const res[] = {
		"Fatal: Halting!", "VM-ENTRY error", "HALTING!",
		"CPU\\(0x([0-9a-fA-F]+)\\): (LHV (in XMHF )?)?test iter [0-9]+",
		"(^|\\] |: )BUG: ", "(^|\\] )Oops: ",
		"Debian GNU\\/Linux [^ ]+ [^ ]+ ttyS[0-9]+", "[^ ]+ login: *$",
		"Stand-in Hypervisor \\(labctl\\) variant=build64( |$)",
		"^abc$", "a|b", "x{2,3}y", "x{,2}y", "x{2,}", "[]a]", "[^]a]",
		"[a\\]", "[\\d]", "[[:digit:]]+", "[[:alpha:]_][[:alnum:]_]*=",
		"\\w+\\s\\w+", "\\bword\\b", "a\\.b", "a\\+", "\\(x\\)", "a\\{x",
		"}", "a.c", "(ab|a)c", "((a|b)*c)+", "^(.*)$", ".*error",
		"^.*error", "error.*", "[.]", "[-a]", "[a-]", "[*+?]", "\\$",
		"\\^x", "(x|^y)", "(x|y$)",
	};
	static const char *const lines[] = {
		"", "abc", "a", "b", "xxy", "xxxy", "xy", "y", "xxx", "]", "a]",
		"\\", "d", "7", "12", "var_1=", "hello world", "a word here",
		"words", "a.b", "axb", "a+", "(x)", "a{x", "}", "abc", "ac",
		"abac", "error: x", "no err", ".", "-", "*", "$", "^x", "y",
		"zy", "Fatal: Halting! Condition failed",
		"CPU(0x01): LHV test iter 3", "CPU(0x1f): test iter 12",
		"[    1.0] BUG: kernel NULL pointer", "x: BUG: y", "BUG: z",
		"DEBUG: no", "Debian GNU/Linux 12 debian ttyS0", "debian login: ",
		"Stand-in Hypervisor (labctl) variant=build64",
		"Stand-in Hypervisor (labctl) variant=build64x",
		"Stand-in Hypervisor (labctl) variant=build64 arch=amd64",
	};
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
		for (int icase = 0; icase < 2; icase++) {
			struct pattern_re *p = compile_ok(res[i], icase ? PATTERN_ICASE : 0);
			regex_t rx;

			assert_int_equal(regcomp(&rx, res[i], REG_EXTENDED | REG_NOSUB |
						 (icase ? REG_ICASE : 0)), 0);
			for (k = 0; k < sizeof(lines) / sizeof(lines[0]); k++) {
				int want = regexec(&rx, lines[k], 0, NULL, 0) == 0;
				int got = pattern_match(p, lines[k], NULL, 0);

				if (got != want)
					fail_msg("/%s/%s on '%s': regexec %d, pattern %d",
						 res[i], icase ? "i" : "", lines[k], want, got);
			}
			regfree(&rx);
			pattern_free(p);
		}
	}
}

static void test_captures(void **state)
{
	struct pattern_re *p;
	regmatch_t m[3];

	(void)state;
	p = compile_ok("CPU\\(0x([0-9a-f]+)\\): (LHV )?test", 0);
	assert_int_equal(pattern_groups(p), 2);
	assert_int_equal(pattern_match(p, "x CPU(0x1f): test iter", m, 3), 1);
	assert_int_equal(m[0].rm_so, 2);
	assert_int_equal(m[1].rm_so, 8);
	assert_int_equal(m[1].rm_eo, 10);
	assert_int_equal(m[2].rm_so, -1);
	assert_int_equal(pattern_match(p, "CPU(0x1f): LHV test", m, 3), 1);
	assert_int_equal(m[2].rm_so, 11);
	assert_int_equal(pattern_match(p, "CPU(0x1f) test", m, 3), 0);
	pattern_free(p);

	p = compile_ok("HALTING", PATTERN_ICASE);
	assert_int_equal(pattern_match(p, "No support, Halting!", NULL, 0), 1);
	pattern_free(p);
	/* A leading .* dropped: the group numbers stay. */
	p = compile_ok(".*id=([0-9]+)", 0);
	assert_int_equal(pattern_match(p, "a id=42 b", m, 2), 1);
	assert_int_equal(m[1].rm_so, 5);
	assert_int_equal(m[1].rm_eo, 7);
	pattern_free(p);
}

/* What PCRE2 reads another way than an ERE is refused, and why is said. */
static void test_refused(void **state)
{
	(void)state;
	refused("(a)\\1", "back-references (\\1) are not supported");
	refused("(.*)(.*)(.*)(.*)(.*)\\5\\4\\3\\2\\1~~", "back-references (\\5)");
	refused("\\d+", "\\d is not an ERE escape: write [0-9]");
	refused("\\D", "write [^0-9]");
	refused("\\x41", "\\x is not an ERE escape");
	refused("\\<word\\>", "GNU's \\< is not supported");
	refused("(?i)x", "'(?' is not an ERE group");
	refused("(?=x)", "'(?' is not an ERE group");
	refused("(*LIMIT_MATCH=99999999)x", "'(*' is not an ERE group");
	refused("x*?", "a repeat right after a repeat ('?')");
	refused("x++", "a repeat right after a repeat ('+')");
	refused("x{2}{3}", "a repeat right after a repeat ('{3}')");
	refused("*x", "'*' repeats nothing");
	refused("a|+b", "'+' repeats nothing");
	refused("(x", "'(' without its ')'");
	refused("x)", "')' without its '('");
	refused("[abc", "'[' without its ']'");
	refused("[[.a.]]", "collating elements");
	refused("[[=a=]]", "collating elements");
	refused("[[:nope:]]", "unknown class [:nope:]");
	refused("[[:word:]]", "unknown class [:word:]");
	refused("x{3,2}", "out of order");
	refused("x\\", "trailing backslash");
	refused("a{x", "'{' that does not start a bound");
	refused("x{1,2", "'{' that does not start a bound");
}

/* ------------------------------------------------------------ limits */

/* The audit's pattern: glibc took 0.7 s a line; here it gives up in time. */
static void test_pathological_bounded(void **state)
{
	static const char *const res[] = {
		"(.{0,31}){0,31}QN", "(.*){1,32}QN", "((((a|b|.)*)*)*)*QN",
		"(a|b|c|d|e|f|g|h|i|j|k|l|m|N|o|p|q|r|s|t|u|v|w|x|y|z| )*QN",
		"(.*a|.*b|.*c|.*d|.*e)*QN", "([^N]*N){1,50}QN",
	};
	char line[LONG_LINE + 1];
	size_t i;

	(void)state;
	noise_line(line, 1);
	for (i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
		struct pattern_re *p = compile_ok(res[i], 0);
		double t0 = now_ms(), ms;
		int rc = pattern_match(p, line, NULL, 0);

		ms = now_ms() - t0;
		assert_int_equal(rc, -1);
		assert_int_equal(pattern_gave_up(p), 1);
		if (ms > 50)
			fail_msg("/%s/ took %.1f ms on a 4 KiB line (at most 50)",
				 res[i], ms);
		/* The same pattern still finds a short line. */
		assert_int_equal(pattern_match(p, "xx NQN", NULL, 0), 1);
		assert_int_equal(pattern_gave_up(p), 1);
		pattern_free(p);
	}
}

/* Sound patterns never give up on a 4 KiB line, match or not. */
static void test_sound_patterns_never_give_up(void **state)
{
	static const char *const res[] = {
		"CPU\\(0x([0-9a-fA-F]+)\\): (LHV (in XMHF )?)?test iter [0-9]+",
		"(^|\\] |: )BUG: ", "[^ ]+ login: *$", ".*error", "^.*error.*$",
		"Debian GNU\\/Linux [^ ]+ [^ ]+ ttyS[0-9]+", "(a|b)*Q",
		"([a-z]+ )+QN", "Stand-in Hypervisor \\(labctl\\) variant=b( |$)",
	};
	char line[LONG_LINE + 1], end[LONG_LINE + 1];
	size_t i;

	(void)state;
	noise_line(line, 2);
	for (i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
		struct pattern_re *p = compile_ok(res[i], 0);

		assert_int_equal(pattern_match(p, line, NULL, 0), 0);
		assert_int_equal(pattern_gave_up(p), 0);
		pattern_free(p);
	}
	/* A match at the very end of a long line of near-misses. */
	memset(end, 0, sizeof(end));
	for (i = 0; strlen(end) + 40 < LONG_LINE; i++)
		strcat(end, "CPU(0x01): LHV tes ");
	strcat(end, "CPU(0x01): LHV test iter 9");
	{
		struct pattern_re *p = compile_ok(res[0], 0);
		regmatch_t m[2];

		assert_int_equal(pattern_match(p, end, m, 2), 1);
		assert_int_equal(pattern_gave_up(p), 0);
		pattern_free(p);
	}
	memset(end, 'a', LONG_LINE - 1);
	end[LONG_LINE - 1] = 'c';
	end[LONG_LINE] = '\0';
	{
		struct pattern_re *p = compile_ok("(a|b)*c", 0);

		assert_int_equal(pattern_match(p, end, NULL, 0), 1);
		pattern_free(p);
	}
}

/*
 * The watch with the audit's 20 rules: every 4 KiB line costs a bounded
 * time, the run goes on, a fail rule that is sound still fails it, and
 * stderr says once per pattern that it gave up.
 */
static void test_watch_goes_on(void **state)
{
	static const struct watch_stage_def stages[] = {
		{ "build32lhv", "variant=build32lhv( |$)", NULL, NULL },
	};
	struct strbuf text = STRBUF_INIT, err = STRBUF_INIT;
	struct rule_set *set = rules_new();
	char line[LONG_LINE + 1], path[] = "/tmp/test_pattern.XXXXXX";
	struct watch_opts o = { .cpus = 1, .iter_min = 2 };
	struct watch *w;
	double t0, worst = 0;
	int i, fd, saved;

	(void)state;
	for (i = 0; i < 20; i++)
		strbuf_addf(&text, "fail /(.{0,31}){0,%d}QN/\n", 12 + i);
	strbuf_addstr(&text, "fail /Fatal: Halting!/\n");
	assert_int_equal(rules_parse(set, "audit.rules", text.buf, text.len, 0), 0);
	o.rules = set;
	w = watch_new(stages, 1, &o);
	assert_non_null(w);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	saved = dup(2);
	dup2(fd, 2);
	for (i = 0; i < 5; i++) {
		double ms;

		noise_line(line, 10 + (unsigned)i);
		t0 = now_ms();
		watch_line(w, line, strlen(line), i * 1000000LL, 0);
		ms = now_ms() - t0;
		if (ms > worst)
			worst = ms;
	}
	dup2(saved, 2);
	close(saved);
	assert_int_equal(watch_verdict(w), VERDICT_PENDING);
	watch_line(w, "Fatal: Halting! x", 17, 9000000LL, 0);
	assert_int_equal(watch_verdict(w), VERDICT_FAIL);
	assert_contains(watch_reason(w), "Fatal: Halting!");
	/* 21 patterns, each bounded: a line costs well under a second. */
	if (worst > 21 * 50)
		fail_msg("a 4 KiB line took %.0f ms with 20 costly rules", worst);

	assert_int_equal(strbuf_read_file(&err, path, 0), 0);
	assert_contains(strbuf_str(&err), "pattern /(.{0,31}){0,31}QN/ is too costly");
	assert_contains(strbuf_str(&err), "counts as not matching");
	/* Once per pattern, not once per line. */
	assert_null(strstr(strstr(strbuf_str(&err), "{0,31}QN/") + 1, "{0,31}QN/"));
	unlink(path);
	close(fd);
	strbuf_release(&err);
	strbuf_release(&text);
	watch_free(w);
	rules_free(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_lines_as_regexec),
		cmocka_unit_test(test_captures),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_pathological_bounded),
		cmocka_unit_test(test_sound_patterns_never_give_up),
		cmocka_unit_test(test_watch_goes_on),
	};

	return cmocka_run_group_tests_name("pattern", tests, NULL, NULL);
}
