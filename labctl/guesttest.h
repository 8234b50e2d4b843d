/* SPDX-License-Identifier: MIT */
/*
 * Tests inside the board after the chain, as XMHF's CI test3 does: once
 * the last stage booted the board's own OS (a login prompt ended the
 * chain) a lab's [test] section copies files to the board, runs its
 * commands there (run1..run8, each with a timeout and an expected
 * output) and records each as a sub-test of the run's result (its
 * command, output, exit status, start, duration, verdict), which the
 * JSON, JUnit and HTML reports show.
 *
 * [test] keys (labctl.conf(5)): copy (local files, relative to the lab
 * file, copied into dir first), dir (the board's working directory,
 * default /tmp/labctl-test), timeout (each command's default, 60s),
 * runN, expectN (an extended regex the output must match), timeoutN.
 * A command passes when it exits 0 within its timeout and its output
 * matches its expectation.
 */
#ifndef GUESTTEST_H
#define GUESTTEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "labctl/labconf.h"

struct lab_ssh;
struct run_record;

#define GUESTTEST_MAX 8

/* Whether the lab has tests to run inside the board ([test] run1..). */
bool guesttest_wanted(const struct lab *lab);

/*
 * Wait until the board answers ssh (board.up_timeout; *ssh is closed and
 * replaced by a new session), copy [test] copy into [test] dir, run each
 * command and append it to rec's tests, with a TEST event each.  t0_ns is
 * the run's power-on (lab_mono_ns).  A failed command makes rec's verdict
 * fail ("test N (CMD): why"), a board that does not come back or a copy
 * that fails makes it infra; the commands after a failure still run.
 * Returns 0 when every test passed, -LAB_EFAIL when one failed,
 * -LAB_EINFRA (or the ssh error) when they could not run; the message
 * is the record's reason.
 */
int guesttest_run(const struct lab *lab, struct lab_ssh **ssh,
		  struct run_record *rec, int64_t t0_ns);

/*
 * For the run's summary: one line per test (the verdict line above it
 * already gives a failed test's reason).  Nothing when the run had none.
 */
struct result;
void guesttest_summary(FILE *f, const struct result *res);

#endif
