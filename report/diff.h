/* SPDX-License-Identifier: MIT */
/*
 * `labctl diff A B`: two results' console lines compared stage by stage
 * (stage k of A against stage k of B), as unified diffs.  Lines are
 * those of report/grep.h (ANSI escapes and "\r" removed); times are
 * never compared (the raw log has none, the sidecar is not read).
 *
 * The diff is Myers' O(ND) algorithm in linear space (the middle-snake
 * recursion GNU diff uses), with GNU diff's cut-off for very different
 * inputs, so its output is a valid unified diff of the two line lists.
 * Hunk headers give the raw-log line numbers of each side's first line
 * in the hunk (what `labctl log` and an editor show), not positions in
 * the filtered lists.
 */
#ifndef REPORT_DIFF_H
#define REPORT_DIFF_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/strbuf.h"
#include "report/result.h"

/*
 * The core: marks which of a[0..na) and b[0..nb) are not in the
 * longest common subsequence found (changed_a, changed_b: arrays of na
 * and nb bools, cleared by the caller).  Elements are ids: equal ids are
 * equal lines.
 */
void report_diff_ids(const int *a, size_t na, const int *b, size_t nb,
		     bool *changed_a, bool *changed_b);

struct report_matcher;

struct report_diff_opts {
	const char *filter;	/* keep lines containing this; NULL: all */
	/* diff -I: lines matching any of these are left out on both sides */
	struct report_matcher *const *ignore;
	int nignore;
	bool color;		/* SGR colours (lib/color.h) in the text */
	int stage;		/* -1: every stage */
	int context;		/* lines of context (3) */
	bool json;
	const char *label_a, *label_b;	/* NULL: the names */
};

/*
 * Compare a and b (loaded with RESULT_LOG) into out: text (a "---",
 * "+++" header, then per stage "=== stage K: VA | VB: ..." and its
 * hunks) or one JSON object.  Returns 0 when the compared lines are the
 * same, 1 when they differ, -LAB_E* (-LAB_ENOENT: opts->stage is in
 * neither result).
 */
int report_diff(const struct result *a, const struct result *b,
		const struct report_diff_opts *opts, struct strbuf *out);

#endif
