/* SPDX-License-Identifier: MIT */
/*
 * What every report format (html, junit, tap, svg) shares, so that no
 * format reads another's file for a helper: escaping for XML and HTML,
 * a stage's outcome, the lines of a result's log and the context around
 * its deciding line, and durations in words.
 */
#ifndef REPORT_COMMON_H
#define REPORT_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/strbuf.h"

struct result;

/*
 * Append console text to out without what the filter removes: labctl
 * passes its ANSI escape stripper (labctl/logrender.h).  Called once per
 * line, without the line's "\n".
 */
typedef void (*report_text_filter)(const char *in, size_t n,
				   struct strbuf *out);

/*
 * Append s[0..n) escaped for XML 1.0 and HTML text (attr false) or a
 * quoted attribute value (attr true): & < > " ' as entities; bytes that
 * are not well-formed UTF-8, and U+FFFE/U+FFFF, as U+FFFD; control bytes
 * (ESC, NUL, ...) as their Unicode control pictures (U+2400 + byte, DEL
 * U+2421), since XML allows no reference to them; in text "\t" and "\n"
 * stay, in an attribute they become &#9; and &#10;.
 */
void report_escape(struct strbuf *out, const char *s, size_t n, bool attr);
/* The same for a C string. */
void report_escape_str(struct strbuf *out, const char *s, bool attr);
/*
 * Only the characters: s[0..n) as report_escape would have it but with
 * & < > " ' as they are, for a writer that escapes markup itself.
 */
void report_xml_chars(struct strbuf *out, const char *s, size_t n);

enum report_outcome {
	REPORT_PASS,
	REPORT_FAIL,		/* the machine under test failed here */
	REPORT_ERROR,		/* the lab failed here, or no verdict */
	REPORT_NOT_REACHED,	/* the run ended before this stage */
};

/* The stage (0-based) the verdict was decided in: the last one reached,
 * else the first; -1 for a result without stages. */
int report_deciding_stage(const struct result *r);
/* What stage i (0-based) of r came to. */
enum report_outcome report_stage_outcome(const struct result *r, int i);
/* Whether r's verdict is v ("pass", "fail", ...). */
bool report_verdict_is(const struct result *r, const char *v);
/* "pass", "fail", "error", "not reached". */
const char *report_outcome_name(enum report_outcome o);

/* Lines of r's log (RESULT_LOG): by the sidecar, else by "\n". */
size_t report_log_nlines(const struct result *r);
/* Line i (0-based) without its "\n" (and "\r\n"); false past the end. */
bool report_log_line(const struct result *r, size_t i, const char **s,
		     size_t *n);
/*
 * The lines that decided r, as plain text lines "  NN | text" with the
 * deciding one marked ">": it and up to `around` lines on each side, or,
 * when no line decided (a hang, a timeout), the last `around` lines of
 * the log.  Without RESULT_LOG only the deciding line from the JSON.
 * Console text goes through filter (may be NULL).  Nothing is appended
 * when there is nothing to show.
 */
void report_context(struct strbuf *out, const struct result *r, int around,
		    report_text_filter filter);

/* "17 ms", "1.25 s", "2 min 5 s". */
void report_format_seconds(char *buf, size_t size, double s);

#endif
