// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/stopsig.h"

volatile sig_atomic_t lab_stop_signal;
int lab_stop_pipe[2] = { -1, -1 };
const int lab_stop_signals[LAB_STOP_NSIGNALS] = {
	SIGINT, SIGTERM, SIGHUP, SIGQUIT,
};
static int depth;

void lab_stop_handler(int sig)
{
	int saved = errno;
	char c = 1;

	lab_stop_signal = sig;
	/* Async-signal-safe; a full pipe already says "stop". */
	if (lab_stop_pipe[1] >= 0 && write(lab_stop_pipe[1], &c, 1) < 0)
		(void)0;
	errno = saved;
}

int lab_stop_catch(struct lab_stop_saved *s)
{
	struct sigaction sa;
	int i;

	memset(s, 0, sizeof(*s));
	if (depth == 0) {
		if (pipe2(lab_stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
			lab_stop_pipe[0] = lab_stop_pipe[1] = -1;
			return lab_err_errno(errno, "pipe");
		}
		lab_stop_signal = 0;
		s->outermost = true;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = lab_stop_handler;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < LAB_STOP_NSIGNALS; i++) {
		sigaction(lab_stop_signals[i], NULL, &s->old[i]);
		/* nohup: a hangup was asked to be ignored, so it is. */
		if (lab_stop_signals[i] == SIGHUP &&
		    s->old[i].sa_handler == SIG_IGN)
			continue;
		sigaction(lab_stop_signals[i], &sa, NULL);
	}
	s->active = true;
	depth++;
	return 0;
}

void lab_stop_release(struct lab_stop_saved *s)
{
	int i;

	if (!s->active)
		return;
	for (i = 0; i < LAB_STOP_NSIGNALS; i++)
		sigaction(lab_stop_signals[i], &s->old[i], NULL);
	s->active = false;
	depth--;
	if (s->outermost && lab_stop_pipe[0] >= 0) {
		close(lab_stop_pipe[0]);
		close(lab_stop_pipe[1]);
		lab_stop_pipe[0] = lab_stop_pipe[1] = -1;
	}
}

void lab_stop_default(void)
{
	struct sigaction dfl;
	int i;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	for (i = 0; i < LAB_STOP_NSIGNALS; i++)
		sigaction(lab_stop_signals[i], &dfl, NULL);
	/* The parent's pipe is the parent's: a lab_stop_catch here makes one. */
	if (lab_stop_pipe[0] >= 0) {
		close(lab_stop_pipe[0]);
		close(lab_stop_pipe[1]);
	}
	lab_stop_pipe[0] = lab_stop_pipe[1] = -1;
	lab_stop_signal = 0;
	depth = 0;
}

const char *lab_stop_name(int sig)
{
	static char buf[32];

	switch (sig) {
	case SIGINT:
		return "SIGINT";
	case SIGTERM:
		return "SIGTERM";
	case SIGHUP:
		return "SIGHUP";
	case SIGQUIT:
		return "SIGQUIT";
	case SIGKILL:
		return "SIGKILL";
	default:
		snprintf(buf, sizeof(buf), "signal %d", sig);
		return buf;
	}
}
