/* SPDX-License-Identifier: MIT */
/*
 * Error codes and the last-error message.
 *
 * Functions return 0 or a negative LAB_E* code.  The function that detects
 * a failure also records a sentence saying what failed, on what, and what
 * to do (lab_err()), so the command layer can print it without guessing.
 * Only cmd_* functions turn errors into exit codes (lab_exit_code()).
 */
#ifndef LAB_ERR_H
#define LAB_ERR_H

#include <stdarg.h>

enum lab_err {
	LAB_OK = 0,
	LAB_EINVAL,	/* bad argument or value given by the user */
	LAB_EUSAGE,	/* bad command line */
	LAB_ECONFIG,	/* lab file or configuration error */
	LAB_ENOENT,	/* a named thing does not exist */
	LAB_EFORMAT,	/* a file is not in the expected format */
	LAB_ENOSPC,	/* does not fit (e.g. environment block too small) */
	LAB_EIO,	/* read/write/rename failed */
	LAB_EPERM,	/* permission denied */
	LAB_ENOMEM,
	LAB_ESPAWN,	/* could not run an external program */
	LAB_ETIMEDOUT,
	LAB_EPROGRAM,	/* an external program exited non-zero */
	LAB_EBUSY,	/* resource held by someone else */
	LAB_EINFRA,	/* lab infrastructure failure (power, console, ssh) */
	LAB_EFAIL,	/* the machine under test failed */
	LAB_EINTR,	/* interrupted by a signal */
	LAB_ERR_MAX
};

/* Exit codes shared with scripts and `git bisect run`; see DESIGN.md. */
enum lab_exit {
	LAB_EXIT_PASS = 0,
	LAB_EXIT_FAIL = 1,
	LAB_EXIT_USAGE = 2,
	LAB_EXIT_INFRA = 3,
};

/* Short generic text for a code ("environment block too small" etc.). */
const char *lab_strerror(int err);

/*
 * Record the message for the current failure and return -code, so callers
 * can write `return lab_err(LAB_EIO, "cannot write %s: %s", f, strerror(e));`
 */
int lab_err(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int lab_verr(int code, const char *fmt, va_list ap);

/*
 * Record errno as the failure: maps ENOENT->ENOENT, EACCES->EPERM, ...;
 * ENOSPC (a full disk) is LAB_EIO, an infrastructure error, not
 * LAB_ENOSPC ("does not fit", a usage error).
 */
int lab_err_errno(int saved_errno, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The last recorded message, or lab_strerror() of err when none was set. */
const char *lab_errmsg(int err);
void lab_err_clear(void);

/* Keep the current message across cleanup work that may record its own. */
struct lab_err_saved {
	char msg[1024];
	int code;
};
void lab_err_save(struct lab_err_saved *s);
void lab_err_restore(const struct lab_err_saved *s);

/* Map a (negative or positive) LAB_E* code to a process exit code. */
int lab_exit_code(int err);

#endif
