// SPDX-License-Identifier: MIT
/* The ipmitool command line; see ipmitool.h. */
#include <stddef.h>

#include "lib/ipmitool.h"

#define IPMITOOL_MAX_WORDS 3

void ipmitool_argv(const char **argv, const char *host, const char *port,
		   const char *user, const char *const *words)
{
	int n = 0, i;

	argv[n++] = "ipmitool";
	argv[n++] = "-I";
	argv[n++] = "lanplus";
	argv[n++] = "-C";
	argv[n++] = "3";
	argv[n++] = "-H";
	argv[n++] = host;
	argv[n++] = "-p";
	argv[n++] = port ? port : IPMITOOL_DEFAULT_PORT;
	if (user) {
		argv[n++] = "-U";
		argv[n++] = user;
	}
	argv[n++] = "-E";
	for (i = 0; words[i] && i < IPMITOOL_MAX_WORDS; i++)
		argv[n++] = words[i];
	argv[n] = NULL;
}
