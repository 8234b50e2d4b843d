/* SPDX-License-Identifier: MIT */
/*
 * A signal that asks a long command to stop (SIGINT, SIGTERM, SIGHUP,
 * SIGQUIT) becomes lab_stop_signal and a byte on a pipe, so a poll loop
 * wakes up and ends through its normal cleanup path (the log complete,
 * QEMU stopped, the lease released, the terminal or repository restored).
 *
 * Every verb that must clean up calls lab_stop_catch() and, on its way
 * out, lab_stop_release().  Calls nest (a bisect step runs a run): the
 * outermost one creates the pipe and clears lab_stop_signal, inner ones
 * keep both, so a signal that arrived earlier is not forgotten.
 */
#ifndef LAB_STOPSIG_H
#define LAB_STOPSIG_H

#include <signal.h>
#include <stdbool.h>

#define LAB_STOP_NSIGNALS 4

/* The signal that arrived, or 0. */
extern volatile sig_atomic_t lab_stop_signal;
/* [0]: poll it for POLLIN; [1]: written by the handler.  -1 when closed. */
extern int lab_stop_pipe[2];
/* SIGINT, SIGTERM, SIGHUP, SIGQUIT. */
extern const int lab_stop_signals[LAB_STOP_NSIGNALS];

/* What lab_stop_catch replaced, for lab_stop_release. */
struct lab_stop_saved {
	struct sigaction old[LAB_STOP_NSIGNALS];
	bool outermost;
	bool active;
};

/* The handler lab_stop_catch installs (sa_handler). */
void lab_stop_handler(int sig);
/*
 * Catch the stop signals (no SA_RESTART: a signal interrupts waits); a
 * SIGHUP ignored when we started (nohup) stays ignored.  0 or -LAB_E*.
 */
int lab_stop_catch(struct lab_stop_saved *s);
/* Put back what lab_stop_catch replaced; harmless when not active. */
void lab_stop_release(struct lab_stop_saved *s);
/*
 * In a forked child before it runs on its own: the default actions, and
 * the parent's pipe closed (its own lab_stop_catch starts afresh).
 */
void lab_stop_default(void);
/* "SIGHUP" for SIGHUP; "signal N" for the others (static buffer). */
const char *lab_stop_name(int sig);

#endif
