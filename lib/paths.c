// SPDX-License-Identifier: MIT
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "paths.h"
#include "strbuf.h"

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
	if (strlen(exe) + sizeof("/../../../labs/qemu.conf") > sizeof(exe))
		return dir;
	n = (ssize_t)strlen(exe);
	strcat(exe, "/../share/labctl");
	if (stat(exe, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(dir, sizeof(dir), "%s", exe);
		return dir;
	}
	/* Not installed: build/<kind>/bin/labctl in a source tree, put on
	 * PATH as the README says, finds the tree's labs, rules and the
	 * stand-in from any directory. */
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash || strcmp(slash, "/bin"))
		return dir;
	strcat(exe, "/../../../labs/qemu.conf");
	if (stat(exe, &st) == 0 && S_ISREG(st.st_mode)) {
		exe[n] = '\0';
		strcat(exe, "/../../..");
		if (realpath(exe, dir))
			return dir;
		snprintf(dir, sizeof(dir), "%s", LABCTL_DATADIR);
	}
	return dir;
}

char *lab_state_path(const char *fmt, ...)
{
	const char *base = getenv("LABCTL_STATE_DIR");
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	if (base && *base)
		strbuf_addstr(&sb, base);
	else
		strbuf_addf(&sb, "/tmp/labctl-%u", (unsigned)getuid());
	strbuf_addch(&sb, '/');
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	return strbuf_detach(&sb, NULL);
}

unsigned long lab_str_hash32(const char *s)
{
	unsigned long h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h & 0xffffffffUL;
}
