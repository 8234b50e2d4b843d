/* SPDX-License-Identifier: MIT */
/*
 * JUnit XML for results (report/result.h): one <testsuite> per result,
 * one <testcase> per stage ("stage N VARIANT (ENTRY)", time = the
 * stage's own duration).  The stage the verdict was decided in carries
 * <failure> (the machine failed) or <error> (the lab failed, or no
 * verdict was recorded) with the reason as its message and the deciding
 * console line with the lines around it as its text; stages before it
 * passed, stages after it are <skipped> (not reached).  The schema is
 * tests/t/junit.xsd.
 *
 * Also what the JUnit, TAP and HTML writers share: a stage's outcome and
 * the log's lines.
 */
#ifndef REPORT_JUNIT_H
#define REPORT_JUNIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "lib/strbuf.h"
#include "report/html.h"

struct result;

enum report_outcome {
	REPORT_PASS,
	REPORT_FAIL,		/* the machine under test failed here */
	REPORT_ERROR,		/* the lab failed here, or no verdict */
	REPORT_NOT_REACHED,	/* the run ended before this stage */
};

/* The stage (0-based) the verdict was decided in: the last one reached,
 * else the first; -1 for a result without stages. */
int report_deciding_stage(const struct result *r);
/* What stage i (0-based) of r came to. */
enum report_outcome report_stage_outcome(const struct result *r, int i);
/* "pass", "fail", "error", "not reached". */
const char *report_outcome_name(enum report_outcome o);

/* Lines of r's log (RESULT_LOG): by the sidecar, else by "\n". */
size_t report_log_nlines(const struct result *r);
/* Line i (0-based) without its "\n" (and "\r\n"); false past the end. */
bool report_log_line(const struct result *r, size_t i, const char **s,
		     size_t *n);
/*
 * The lines that decided r, as plain text lines "  NN | text" with the
 * deciding one marked ">": it and up to `around` lines on each side, or,
 * when no line decided (a hang, a timeout), the last `around` lines of
 * the log.  Without RESULT_LOG only the deciding line from the JSON.
 * Console text goes through filter (may be NULL).  Nothing is appended
 * when there is nothing to show.
 */
void report_context(struct strbuf *out, const struct result *r, int around,
		    report_text_filter filter);

/* Write the JUnit document for r[0..n) to out; 0 or -LAB_EIO. */
int report_junit(FILE *out, struct result *const *r, int n,
		 report_text_filter filter);

#endif
