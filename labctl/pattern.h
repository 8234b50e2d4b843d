/* SPDX-License-Identifier: MIT */
/*
 * Console patterns: the POSIX extended regular expressions of rule files
 * and lab files (man/labctl-rules.5), run by PCRE2 with a bound on the work
 * one line may cost, so no pattern can stall the watch.
 *
 * The ERE is translated, not handed to PCRE2 as written: a backslash in a
 * bracket expression is a plain character as in POSIX, {,m} is {0,m}, and
 * what would mean something else in PCRE2 than in an ERE is refused:
 * back-references, (? and (* groups, a repeat right after a repeat (PCRE2
 * reads x*? and x++ as lazy and possessive), escapes other than \w \W \s
 * \S \b \B and a backslash before a punctuation character (\d is a 'd' in
 * an ERE, a digit in PCRE2), GNU's \< \> \` \', collating elements,
 * classes POSIX does not have ([:word:]), a '{' that starts no bound.
 *
 * Matching leftmost-first (Perl) instead of leftmost-longest (POSIX) picks
 * the same lines; only what a group captures can differ, for alternatives
 * of which one is a prefix of another.
 */
#ifndef PATTERN_H
#define PATTERN_H

#include <regex.h>		/* regmatch_t: captures in the POSIX shape */
#include <stdbool.h>
#include <stddef.h>

#define PATTERN_ICASE 0x1u

/*
 * The work one match may do (PCRE2 match limit, counted over the whole
 * line: the pattern runs anchored behind a lazy .*?), the depth of its
 * backtracking and the memory it may use.  At the match limit a pattern
 * gives up on the line: after a few ms on a 4 KiB line with PCRE2's JIT,
 * about 10 ms without it (bench/regex-worst.sh); sound patterns need a
 * few thousand steps on such a line.
 */
#define PATTERN_MATCH_LIMIT 100000u
#define PATTERN_DEPTH_LIMIT 10000u
#define PATTERN_HEAP_LIMIT_KIB 16384u

struct pattern_re;

/*
 * Compile the ERE re.  On error: NULL, and why (without the pattern) in
 * err, at most errsize bytes.
 */
struct pattern_re *pattern_new(const char *re, unsigned flags, char *err,
			    size_t errsize);
void pattern_free(struct pattern_re *p);

/* How many groups, (...), the pattern has. */
int pattern_groups(const struct pattern_re *p);

/*
 * Match against the NUL-terminated s: 1 when it matches (m[0..nm-1] set,
 * rm_so = -1 for a group that took no part), 0 when not, and -1 when the
 * pattern gave up on s at a limit (counted in pattern_gave_up; the caller
 * treats s as not matching).
 */
int pattern_match(struct pattern_re *p, const char *s, regmatch_t *m, size_t nm);
unsigned long pattern_gave_up(const struct pattern_re *p);

/* Whether matching runs as PCRE2 JIT code (for benchmarks and tests). */
bool pattern_jit(const struct pattern_re *p);

#endif
