/* SPDX-License-Identifier: MIT */
/*
 * Text from peers (HTTP bodies, ssh stderr, a command's output, a console
 * program's complaints) shown in a message: control characters would
 * reach the user's terminal, so they are written as C escapes.  The one
 * function every message that quotes a peer goes through.
 */
#ifndef LAB_ESCAPE_H
#define LAB_ESCAPE_H

#include <stddef.h>

#include "strbuf.h"

/*
 * Append the len bytes at s to sb with every byte a terminal would act on
 * escaped: ESC as \e, \n \r \t, a backslash as \\, other C0 controls and
 * DEL as \xNN, bytes that are not well-formed UTF-8 as \xNN, and the C1
 * controls and bidirectional overrides (U+0080..U+009F, U+202A..U+202E,
 * U+2066..U+2069) as \uNNNN.  Printable ASCII and other UTF-8 are kept.
 * With LAB_ESC_KEEP_LINES, \n and \t are kept as they are (a program's
 * stderr of several lines stays readable; no line can move the cursor
 * elsewhere or change colours).
 */
#define LAB_ESC_KEEP_LINES (1u << 0)
void strbuf_add_escaped(struct strbuf *sb, const char *s, size_t len,
			unsigned flags);

/* The same as a new string (the caller frees it). */
char *lab_escape(const char *s, size_t len);
char *lab_escape_lines(const char *s, size_t len);

/* lab_escape() of a C string. */
char *lab_escape_str(const char *s);

#endif
