/* SPDX-License-Identifier: MIT */
/*
 * Internal to serial-capture/: a local program as a console (cmd,
 * ipmi-sol, amt-sol).  The program runs in its own process group and
 * dies with labctl (PDEATHSIG); its stdout is the console.  Its stdin is
 * /dev/null, a pipe labctl writes (console_write), or, with pty, stdin
 * and stdout are one raw pty (amtterm writes what it receives to fd 0).
 * Its stderr is labctl's, or kept (the last 4 KiB) for messages.
 */
#ifndef SERIAL_CAPTURE_PROC_H
#define SERIAL_CAPTURE_PROC_H

#include <stdbool.h>
#include <sys/types.h>

#include "lib/strbuf.h"

struct console_proc {
	pid_t pid;
	int out_fd;		/* read: its stdout (or the pty master) */
	int in_fd;		/* write: its stdin (or the pty master), or -1 */
	int err_fd;		/* read: its stderr, or -1 */
	bool pty;
	char *name;		/* argv[0], for messages */
	struct strbuf err;	/* the tail of its stderr (capture_err) */
};

struct console_proc_opts {
	const char *const *env_add;	/* "NAME=value", or NULL */
	bool stdin_pipe;		/* stdin is a pipe we write */
	bool pty;			/* stdin and stdout are a raw pty */
	bool capture_err;		/* keep its stderr (the last 4 KiB) */
};

/*
 * Start argv (argv[0] looked up in PATH); every fd is non-blocking.  A
 * program that cannot be started is an error naming it ("what: cannot
 * run X: ...").  0 or -LAB_E*.
 */
int console_proc_start(struct console_proc *p, const char *const *argv,
		       const struct console_proc_opts *o, const char *what);
/*
 * End it: end its stdin first (EOF on the pipe, or the pty master
 * closed: ipmitool then ends its SOL session itself), wait up to
 * grace_ms for it to exit, then kill the group.
 */
void console_proc_stop(struct console_proc *p, int64_t grace_ms);
/* Read its output as console_fd_read does (0 at its end); keeps stderr. */
ssize_t console_proc_read(struct console_proc *p, void *buf, size_t len);
ssize_t console_proc_write(struct console_proc *p, const void *buf, size_t len);
/*
 * Wait until the program says it is connected: out_marker appears in its
 * stdout (read into head, which keeps everything read) or err_marker in
 * its stderr (either may be NULL).  0; -LAB_EINFRA when it ended first
 * (the message quotes its last stderr line); -LAB_ETIMEDOUT at deadline
 * (lab_mono_ms()).  Messages start with what.
 */
int console_proc_wait(struct console_proc *p, int64_t deadline,
		      const char *out_marker, const char *err_marker,
		      struct strbuf *head, const char *what);
/* The last three non-empty lines it wrote to stderr ("a; b; c"), or "". */
const char *console_proc_err_line(struct console_proc *p, struct strbuf *tmp);
/*
 * A SOL program's console read (ipmi-sol, amt-sol): first what open kept
 * back in pending (bytes that came with the session banner), then the
 * program's output; its end is -LAB_EINFRA "<what>: the SOL session
 * ended: <its last words>", so the console core reconnects.
 */
ssize_t console_proc_read_sol(struct console_proc *p, struct strbuf *pending,
			      const char *what, void *buf, size_t len);

/* The first line of a file only its owner may read (password_file);
 * errors name the driver.  0 or -LAB_E*. */
int console_read_secret_file(const char *drv, const char *path,
			     struct strbuf *out);

/*
 * "var=password" (malloc'd, the caller wipes and frees it) from the
 * password_file key or $var; neither is -LAB_ECONFIG saying where to put
 * one.  Errors name the driver.
 */
struct console_config;
int console_password_env(const struct console_config *cfg, const char *drv,
			 const char *var, char **out);

/* Split on spaces and tabs (no quoting); NULL-terminated, *n words. */
char **console_split_words(const char *s, int *n);
void console_free_words(char **v, int n);

#endif
