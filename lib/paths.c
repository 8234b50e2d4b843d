// SPDX-License-Identifier: MIT
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "paths.h"

#ifndef LABCTL_DATADIR
#define LABCTL_DATADIR "/usr/local/share/labctl"
#endif

const char *lab_data_dir(void)
{
	static char dir[PATH_MAX];
	char exe[PATH_MAX];
	struct stat st;
	ssize_t n;
	char *slash;

	if (dir[0])
		return dir;
	snprintf(dir, sizeof(dir), "%s", LABCTL_DATADIR);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return dir;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return dir;
	*slash = '\0';
	if (strlen(exe) + sizeof("/../share/labctl") > sizeof(exe))
		return dir;
	strcat(exe, "/../share/labctl");
	if (stat(exe, &st) == 0 && S_ISDIR(st.st_mode))
		snprintf(dir, sizeof(dir), "%s", exe);
	return dir;
}
