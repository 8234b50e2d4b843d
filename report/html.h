/* SPDX-License-Identifier: MIT */
/*
 * `labctl report`: one self-contained HTML file for one or more results
 * (report/result.h): per run the summary and verdict, the timeline
 * (report/svg.h) and the console log with per-line times, the deciding
 * line highlighted and linked from the summary; for several results a
 * matrix (rows x columns of result attributes -> verdicts) first.  No
 * scripts, no network: inline CSS and SVG only.
 */
#ifndef REPORT_HTML_H
#define REPORT_HTML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "lib/strbuf.h"
#include "report/common.h"

struct result;

/* What a matrix row or column is keyed by (report_key_value). */
enum report_key {
	REPORT_KEY_VARIANT,	/* the last stage's variant */
	REPORT_KEY_CHAIN,	/* every stage's variant, "a > b > c" */
	REPORT_KEY_ARCH,	/* the last stage's variant's arch */
	REPORT_KEY_OPTIONS,	/* ... its options (HV_OPT, LHV_OPT) */
	REPORT_KEY_LAB,
	REPORT_KEY_BOARD,
	REPORT_NKEYS
};

/* "variant", "chain", ...; report_key_parse gives -1 for an unknown name. */
const char *report_key_name(int key);
int report_key_parse(const char *name);
/* The value of key for r as a new string ("-" when the result has none). */
char *report_key_value(const struct result *r, int key);
/*
 * Pick the matrix axes for the n results (a key >= 0 in *rows or *cols
 * is kept).  Columns: the arch of the last stage's variant when it
 * varies, else its options, else the lab, else the board, else arch.
 * Rows: the first of options, lab, board, variant, chain that tells the
 * runs' configurations (lab, chain, arch, options) apart together with
 * the columns; chain when none does.
 */
void report_matrix_pick(struct result *const *r, int n, int *rows, int *cols);

struct html_opts {
	report_text_filter filter;	/* NULL: escapes show as control pictures */
	const char *title;		/* NULL: "labctl report" */
	int rows, cols;			/* matrix keys; -1: report_matrix_pick */
	const char *generator;		/* "labctl 1.2.3", in a meta tag; or NULL */
};

/*
 * Write the report for results r[0..n) to out.  The log section needs
 * results loaded with RESULT_LOG (and RESULT_LINES for line times).
 * 0, or -LAB_EIO when writing out failed.
 */
int report_html(FILE *out, struct result *const *r, int n,
		const struct html_opts *o);

#endif
