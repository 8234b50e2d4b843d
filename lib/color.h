/* SPDX-License-Identifier: MIT */
/*
 * Colour on a terminal, as git does it: --color=auto|always|never (auto
 * is the default), NO_COLOR (https://no-color.org) turns auto off, and
 * auto means "this stream is a terminal that is not TERM=dumb".
 *
 * For a line printed straight to a stream:
 *
 *	fprintf(f, "%sPASS%s\n", color_on(f, COLOR_PASS), color_off(f));
 *
 * For text built in memory and written later, decide once with
 * color_enabled(stdout) and take the codes from color_sgr(role).
 */
#ifndef LIB_COLOR_H
#define LIB_COLOR_H

#include <stdbool.h>
#include <stdio.h>

enum color_mode {
	COLOR_AUTO,	/* a terminal, and NO_COLOR not set */
	COLOR_NEVER,
	COLOR_ALWAYS,	/* also when NO_COLOR is set: the user asked */
};

enum color_role {
	COLOR_PASS,	/* green: a passing verdict */
	COLOR_FAIL,	/* bold red: a failing verdict */
	COLOR_INFRA,	/* yellow: a lab error, an unknown verdict */
	COLOR_MATCH,	/* bold red: the text a pattern matched (grep's) */
	COLOR_ADD,	/* green: a line only in B */
	COLOR_DEL,	/* red: a line only in A */
	COLOR_HUNK,	/* cyan: @@ hunk headers, stage headers */
	COLOR_META,	/* bold: diff file headers */
	COLOR_NAME,	/* magenta: a result's name in grep output */
	COLOR_LINENO,	/* green: a line number in grep output */
	COLOR_TIME,	/* blue: a line's time in labctl log */
	COLOR_NROLES
};

/* "auto", "always", "never" (and git's synonyms: true/yes/on,
 * false/no/off, tty); NULL is "always" (a bare --color).  -1 when s is
 * none of them. */
int color_parse_mode(const char *s, enum color_mode *mode);
void color_set_mode(enum color_mode mode);

/* Whether output to f gets colour under the current mode. */
bool color_enabled(FILE *f);

/* The SGR sequence of role, whatever the mode ("\033[32m" ...). */
const char *color_sgr(enum color_role role);
/* The sequence that ends any role: "\033[m". */
#define COLOR_RESET "\033[m"

/* The start and end of role on f: the sequences, or "" when f gets no
 * colour. */
const char *color_on(FILE *f, enum color_role role);
const char *color_off(FILE *f);

#endif
