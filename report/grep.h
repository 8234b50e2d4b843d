/* SPDX-License-Identifier: MIT */
/*
 * Lines of a result as `labctl grep` and `labctl diff` see them: split
 * at "\n" as grep -n counts them (line numbers of the raw log), ANSI
 * escape sequences and "\r" removed, NUL bytes shown as spaces, each
 * with the stage it belongs to (report/result.h: stage 0 is before the
 * first stage's banner).  Line times (the sidecar) never take part.
 */
#ifndef REPORT_GREP_H
#define REPORT_GREP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/strbuf.h"
#include "report/result.h"

/*
 * Remove ANSI escape sequences (CSI, OSC/DCS/SOS/PM/APC strings up to
 * BEL or ST, two- and three-byte ESC sequences) and every "\r" from in,
 * appending the rest to out; *state (0 at first) carries a sequence
 * across calls.  The same state machine as labctl log --strip-ansi.
 */
void report_strip_ansi(int *state, const char *in, size_t n,
		       struct strbuf *out);

/* Walks the lines of r->log (loaded with RESULT_LOG) in [start, end). */
struct report_lines {
	const struct result *r;
	uint64_t pos, end;
	int next_no;
	/* The current line, after report_lines_next returned true: */
	struct strbuf text;	/* stripped, without "\n" */
	int line_no;		/* 1-based, as grep -n counts in the raw log */
	uint64_t offset;	/* where it starts in the raw log */
	int stage;		/* -1: the result has no stage information */
};

/* start/end are clamped to the log; start should begin a line. */
void report_lines_init(struct report_lines *it, const struct result *r,
		       uint64_t start, uint64_t end);
bool report_lines_next(struct report_lines *it);
void report_lines_release(struct report_lines *it);

enum report_match_mode {
	REPORT_MATCH_BASIC,	/* POSIX basic regex, like grep (-G) */
	REPORT_MATCH_EXTENDED,	/* -E */
	REPORT_MATCH_FIXED,	/* -F */
};

struct report_matcher;

/* -LAB_EINVAL with regcomp's message for a bad pattern. */
int report_matcher_new(const char *pattern, enum report_match_mode mode,
		       bool icase, struct report_matcher **out);
bool report_matcher_match(const struct report_matcher *m, const char *text,
			  size_t len);
/* The first match in text[from..len): [*so, *eo) in text; false: none. */
bool report_matcher_find(const struct report_matcher *m, const char *text,
			 size_t len, size_t from, size_t *so, size_t *eo);
void report_matcher_free(struct report_matcher *m);

struct report_grep_opts {
	int stage;		/* -1: every stage */
	bool json;
	bool color;		/* SGR colours (lib/color.h), matches marked */
	const char *label;	/* printed for the result; NULL: its name */
};

/*
 * Append the lines of r (RESULT_LOG) that match, as
 * "<label>:<line no>: [stage N] <line>" (no "[stage N]" when the result
 * has no stage information), or one JSON object per line:
 * {"result","line_no","stage","variant","line"}.  *matches gets the
 * count.  -LAB_ENOENT when opts->stage is not in the result.
 */
int report_grep(const struct result *r, const struct report_matcher *m,
		const struct report_grep_opts *opts, struct strbuf *out,
		size_t *matches);

/* The variant of stage (1-based) of r, or NULL. */
const char *report_stage_variant(const struct result *r, int stage);

#endif
