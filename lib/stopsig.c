// SPDX-License-Identifier: MIT
#include <errno.h>
#include <unistd.h>

#include "lib/stopsig.h"

volatile sig_atomic_t lab_stop_signal;
int lab_stop_pipe[2] = { -1, -1 };

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
