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
 */
#ifndef REPORT_JUNIT_H
#define REPORT_JUNIT_H

#include <stdio.h>

#include "report/common.h"

struct result;

/* Write the JUnit document for r[0..n) to out; 0 or -LAB_EIO. */
int report_junit(FILE *out, struct result *const *r, int n,
		 report_text_filter filter);

#endif
