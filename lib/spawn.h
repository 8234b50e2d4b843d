/* SPDX-License-Identifier: MIT */
/*
 * Run programs from argv arrays, never through a shell.
 *
 * Every program runs in a new session: no controlling terminal (it cannot
 * prompt on, read from or be stopped by the user's terminal), stdin from
 * /dev/null unless stdin_data is given, and one process group that a
 * timeout (or the caller's cleanup) kills as a whole.
 *
 * A program dies with labctl, SIGKILL of labctl included: a small
 * supervisor (a forked copy of labctl that never execs) is the session and
 * group leader, runs the program as its child, ends as the program ends
 * (same exit status or signal, so the pid returned here behaves like the
 * program's), forwards the signals sent to it alone, and kills the whole
 * group when labctl dies.  The supervisor watches the thread that started
 * it: if that thread ends first and labctl lives on, nothing happens; a
 * program started from a thread that exits early is therefore not killed.
 * spawn_opts.outlive opts out (no supervisor: the program survives labctl).
 */
#ifndef LAB_SPAWN_H
#define LAB_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "strbuf.h"

struct spawn_opts {
	const char *cwd;		/* NULL: inherit */
	const char *const *env_add;	/* "NAME=value" entries added, or NULL */
	const void *stdin_data;		/* NULL: /dev/null */
	size_t stdin_len;
	struct strbuf *out;		/* capture stdout here, NULL: inherit */
	struct strbuf *err;		/* capture stderr here, NULL: inherit */
	bool err_to_out;		/* stderr goes where stdout goes */
	bool quiet;			/* uncaptured stdout/stderr to /dev/null */
	int64_t timeout_ms;		/* 0: no timeout */
	int64_t kill_grace_ms;		/* SIGTERM -> SIGKILL delay; 0: 500 ms */
	char *const *env;		/* whole environment, NULL: ours */
	bool outlive;			/* may outlive labctl: no supervisor */
};

struct spawn_result {
	int exit_code;		/* exit status, or -1 when killed by a signal */
	int term_signal;	/* the signal that ended it, or 0 */
	bool timed_out;		/* we killed it because of timeout_ms */
	int64_t elapsed_ms;
};

/*
 * Run argv[0] (looked up in PATH) with argv and wait for it.
 * Returns 0 when the program ran (whatever its exit code: see *res), or
 * -LAB_ESPAWN when it could not be started (message names the program),
 * -LAB_ETIMEDOUT when timeout_ms passed (the whole group is killed).
 * It returns when argv[0] exits: children it leaves behind in its process
 * group are killed, and their hold on stdout/stderr is not waited for.
 */
int lab_spawn(const char *const *argv, const struct spawn_opts *opts,
	      struct spawn_result *res);

/*
 * Convenience: run and require exit code 0.  A non-zero exit is
 * -LAB_EPROGRAM with a message quoting the program's stderr tail.
 */
int lab_run(const char *const *argv, const struct spawn_opts *opts);

/* Start argv in the background in a new process group; returns pid or <0. */
pid_t lab_spawn_bg(const char *const *argv, const struct spawn_opts *opts);
/*
 * The same with the caller's descriptors: fds[0..2] become the program's
 * stdin, stdout and stderr (-1: /dev/null).  Of opts only cwd, env,
 * env_add and outlive apply.  Safe to call from threads.
 */
pid_t lab_spawn_fds(const char *const *argv, const struct spawn_opts *opts,
		    const int fds[3]);
/* Kill a process group: SIGTERM, wait up to grace_ms, then SIGKILL. */
void lab_kill_group(pid_t pgid, int64_t grace_ms);

/* True if an executable named prog is on PATH. */
bool lab_have_program(const char *prog);
/* pid is gone or a zombie: either way it runs no more (/proc/PID/stat). */
bool lab_proc_gone(pid_t pid);

#endif
