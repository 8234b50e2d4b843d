// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

static const char *const err_text[LAB_ERR_MAX] = {
	[LAB_OK] = "success",
	[LAB_EINVAL] = "invalid value",
	[LAB_EUSAGE] = "usage error",
	[LAB_ECONFIG] = "configuration error",
	[LAB_ENOENT] = "no such file or entry",
	[LAB_EFORMAT] = "invalid file format",
	[LAB_ENOSPC] = "environment block too small",
	[LAB_EIO] = "input/output error",
	[LAB_EPERM] = "permission denied",
	[LAB_ENOMEM] = "out of memory",
	[LAB_ESPAWN] = "cannot run program",
	[LAB_ETIMEDOUT] = "timed out",
	[LAB_EPROGRAM] = "program failed",
	[LAB_EBUSY] = "resource busy",
	[LAB_EINFRA] = "lab infrastructure error",
	[LAB_EFAIL] = "machine under test failed",
	[LAB_EINTR] = "interrupted",
};

/* One message per thread: the failure being reported right now. */
static _Thread_local char last_msg[1024];
static _Thread_local int last_code;

const char *lab_strerror(int err)
{
	if (err < 0)
		err = -err;
	if (err >= LAB_ERR_MAX || !err_text[err])
		return "unknown error";
	return err_text[err];
}

int lab_verr(int code, const char *fmt, va_list ap)
{
	if (code < 0)
		code = -code;
	vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	last_code = code;
	return -code;
}

int lab_err(int code, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = lab_verr(code, fmt, ap);
	va_end(ap);
	return ret;
}

static int code_from_errno(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
		return LAB_ENOENT;
	case EACCES:
	case EPERM:
	case EROFS:
		return LAB_EPERM;
	case ENOSPC:
	case EDQUOT:
	case EFBIG:
		return LAB_EIO;
	case ENOMEM:
		return LAB_ENOMEM;
	case ETIMEDOUT:
		return LAB_ETIMEDOUT;
	case EINTR:
		return LAB_EINTR;
	case EBUSY:
	case EAGAIN:
		return LAB_EBUSY;
	case EINVAL:
		return LAB_EINVAL;
	default:
		return LAB_EIO;
	}
}

int lab_err_errno(int saved_errno, const char *fmt, ...)
{
	char head[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	return lab_err(code_from_errno(saved_errno), "%s: %s", head,
		       strerror(saved_errno));
}

const char *lab_errmsg(int err)
{
	if (err < 0)
		err = -err;
	if (last_msg[0] && last_code == err)
		return last_msg;
	return lab_strerror(err);
}

void lab_err_clear(void)
{
	last_msg[0] = '\0';
	last_code = 0;
}

int lab_exit_code(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case LAB_OK:
		return LAB_EXIT_PASS;
	case LAB_EFAIL:
		return LAB_EXIT_FAIL;
	case LAB_EINVAL:
	case LAB_EUSAGE:
	case LAB_ECONFIG:
	case LAB_ENOENT:
	case LAB_EFORMAT:
	case LAB_ENOSPC:
		return LAB_EXIT_USAGE;
	default:
		return LAB_EXIT_INFRA;
	}
}

void lab_err_save(struct lab_err_saved *s)
{
	memcpy(s->msg, last_msg, sizeof(s->msg));
	s->code = last_code;
}

void lab_err_restore(const struct lab_err_saved *s)
{
	memcpy(last_msg, s->msg, sizeof(last_msg));
	last_code = s->code;
}
