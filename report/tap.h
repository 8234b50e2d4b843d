/* SPDX-License-Identifier: MIT */
/*
 * TAP (Test Anything Protocol, as prove(1) reads it) for results: one
 * test per stage ("ok"; "not ok" where the verdict was decided against
 * the run; "ok ... # SKIP not reached" after it) and one for the verdict,
 * with the reason and the deciding console lines as "# " diagnostics.
 * One plan for all results.
 */
#ifndef REPORT_TAP_H
#define REPORT_TAP_H

#include <stdio.h>

#include "report/common.h"

struct result;

/* Write the TAP stream for r[0..n) to out; 0 or -LAB_EIO. */
int report_tap(FILE *out, struct result *const *r, int n,
	       report_text_filter filter);

#endif
