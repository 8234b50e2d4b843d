// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/color.h"

static enum color_mode mode = COLOR_AUTO;

/* git's default colours (color.diff, color.grep), labctl's for verdicts. */
static const char *const sgr[COLOR_NROLES] = {
	[COLOR_PASS] = "\033[32m",
	[COLOR_FAIL] = "\033[1;31m",
	[COLOR_INFRA] = "\033[33m",
	[COLOR_MATCH] = "\033[1;31m",
	[COLOR_ADD] = "\033[32m",
	[COLOR_DEL] = "\033[31m",
	[COLOR_HUNK] = "\033[36m",
	[COLOR_META] = "\033[1m",
	[COLOR_NAME] = "\033[35m",
	[COLOR_LINENO] = "\033[32m",
	[COLOR_TIME] = "\033[34m",
};

int color_parse_mode(const char *s, enum color_mode *out)
{
	static const char *const always[] = { "always", "true", "yes", "on", NULL };
	static const char *const never[] = { "never", "false", "no", "off", NULL };
	int i;

	if (!s) {
		*out = COLOR_ALWAYS;
		return 0;
	}
	for (i = 0; always[i]; i++)
		if (!strcasecmp(s, always[i])) {
			*out = COLOR_ALWAYS;
			return 0;
		}
	for (i = 0; never[i]; i++)
		if (!strcasecmp(s, never[i])) {
			*out = COLOR_NEVER;
			return 0;
		}
	if (!strcasecmp(s, "auto") || !strcasecmp(s, "tty")) {
		*out = COLOR_AUTO;
		return 0;
	}
	return -1;
}

void color_set_mode(enum color_mode m)
{
	mode = m;
}

bool color_enabled(FILE *f)
{
	const char *no_color = getenv("NO_COLOR"), *term = getenv("TERM");
	int fd;

	if (mode != COLOR_AUTO)
		return mode == COLOR_ALWAYS;
	if (no_color && *no_color)
		return false;
	if (!term || !strcmp(term, "dumb"))
		return false;
	fd = f ? fileno(f) : -1;
	return fd >= 0 && isatty(fd);
}

const char *color_sgr(enum color_role role)
{
	return role >= 0 && role < COLOR_NROLES && sgr[role] ? sgr[role] : "";
}

const char *color_on(FILE *f, enum color_role role)
{
	return color_enabled(f) ? color_sgr(role) : "";
}

const char *color_off(FILE *f)
{
	return color_enabled(f) ? COLOR_RESET : "";
}
