// SPDX-License-Identifier: MIT
#include <string.h>

#include "shquote.h"

static int is_safe_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || strchr("_@%+=:,./-", c);
}

static void quote(struct strbuf *out, const char *value, int force)
{
	const char *p;
	int safe = *value != '\0' && !force;

	for (p = value; *p && safe; p++)
		safe = is_safe_char((unsigned char)*p);
	/* A leading '=' or '~' could be special to zsh or to tilde expansion. */
	if (safe && value[0] != '~' && value[0] != '=') {
		strbuf_addstr(out, value);
		return;
	}
	strbuf_addch(out, '\'');
	for (p = value; *p; p++) {
		if (*p == '\'')
			strbuf_addstr(out, "'\\''");
		else
			strbuf_addch(out, *p);
	}
	strbuf_addch(out, '\'');
}

void sh_quote(struct strbuf *out, const char *value)
{
	quote(out, value, 0);
}

void sh_quote_argv(struct strbuf *out, const char *const *argv)
{
	size_t i;

	for (i = 0; argv[i]; i++) {
		if (i)
			strbuf_addch(out, ' ');
		/* An unquoted NAME=value command word is an assignment. */
		quote(out, argv[i], i == 0 && strchr(argv[i], '='));
	}
}
