// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static int log_level = LAB_LOG_INFO;
static const char *log_prog = "labctl";

void lab_log_set_level(int level)
{
	if (level < LAB_LOG_ERROR)
		level = LAB_LOG_ERROR;
	if (level > LAB_LOG_TRACE)
		level = LAB_LOG_TRACE;
	log_level = level;
}

int lab_log_get_level(void)
{
	return log_level;
}

void lab_log_set_prog(const char *prog)
{
	log_prog = prog;
}

void lab_log(int level, const char *fmt, ...)
{
	static const char *const prefix[] = {
		[LAB_LOG_ERROR] = "error: ",
		[LAB_LOG_WARN] = "warning: ",
		[LAB_LOG_INFO] = "",
		[LAB_LOG_DEBUG] = "debug: ",
		[LAB_LOG_TRACE] = "trace: ",
	};
	char line[2048];
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One write per line so lines from parallel workers do not mix. */
	fprintf(stderr, "%s: %s%s\n", log_prog, prefix[level], line);
}
