/* SPDX-License-Identifier: MIT */
/*
 * A signal that asks a long command to stop (SIGINT, SIGTERM, ...) becomes
 * lab_stop_signal and a byte on a pipe, so a poll loop wakes up and ends
 * through its normal cleanup path (the log complete, QEMU stopped, the
 * terminal restored).  One per process: the verb that runs installs it.
 */
#ifndef LAB_STOPSIG_H
#define LAB_STOPSIG_H

#include <signal.h>

/* The signal that arrived, or 0. */
extern volatile sig_atomic_t lab_stop_signal;
/* [0]: poll it for POLLIN; [1]: written by the handler.  -1 when closed. */
extern int lab_stop_pipe[2];

/* The handler to install with sigaction (sa_handler). */
void lab_stop_handler(int sig);

#endif
