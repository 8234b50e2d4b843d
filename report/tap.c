// SPDX-License-Identifier: MIT
/* TAP for results; see tap.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/err.h"
#include "lib/strbuf.h"
#include "report/common.h"
#include "report/result.h"
#include "report/tap.h"

/*
 * A description stays on its line and is not read as a directive: "#"
 * becomes "\#", "\" becomes "\\", control bytes become spaces.
 */
static void desc(struct strbuf *out, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '#' || c == '\\')
			strbuf_addch(out, '\\');
		strbuf_addch(out, c < 0x20 || c == 0x7f ? ' ' : (char)c);
	}
}

/* Every line of text as a "# " diagnostic. */
static void diag(struct strbuf *out, const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		size_t i;

		strbuf_addstr(out, "# ");
		for (i = 0; i < n; i++) {
			unsigned char c = (unsigned char)p[i];

			strbuf_addch(out, (c < 0x20 && c != '\t') || c == 0x7f ?
				     ' ' : (char)c);
		}
		strbuf_addch(out, '\n');
		p = nl ? nl + 1 : end;
	}
}

static void why(struct strbuf *out, const struct result *r,
		report_text_filter filter)
{
	struct strbuf t = STRBUF_INIT;

	strbuf_addstr(&t, r->reason && *r->reason ? r->reason :
		      "no verdict recorded (the run ended before it wrote its .json)");
	strbuf_addch(&t, '\n');
	if (r->log_path)
		strbuf_addf(&t, "%s%s:\n", r->log_path,
			    r->reason_line_no > 0 ? "" : " (its last lines)");
	report_context(&t, r, 3, filter);
	diag(out, t.buf, t.len);
	strbuf_release(&t);
}

int report_tap(FILE *out, struct result *const *r, int n,
	       report_text_filter filter)
{
	struct strbuf sb = STRBUF_INIT;
	int i, j, test = 0, plan = 0, ret = 0;

	for (i = 0; i < n; i++)
		plan += r[i]->nstages + 1;
	strbuf_addf(&sb, "1..%d\n", plan);
	for (i = 0; i < n; i++) {
		const struct result *res = r[i];
		const char *name = res->name ? res->name : "result";
		bool pass = res->verdict && !strcmp(res->verdict, "pass");
		char d[64];

		for (j = 0; j < res->nstages; j++) {
			const struct result_stage *s = &res->stages[j];
			enum report_outcome o = report_stage_outcome(res, j);

			strbuf_addf(&sb, "%s %d - ",
				    o == REPORT_FAIL || o == REPORT_ERROR ?
				    "not ok" : "ok", ++test);
			desc(&sb, name);
			strbuf_addf(&sb, " stage %d ", s->stage);
			desc(&sb, s->variant ? s->variant : "?");
			strbuf_addstr(&sb, " (");
			desc(&sb, s->entry ? s->entry : "?");
			strbuf_addch(&sb, ')');
			if (o == REPORT_NOT_REACHED) {
				strbuf_addf(&sb, " # SKIP not reached: the run ended in stage %d\n",
					    report_deciding_stage(res) + 1);
				continue;
			}
			if (s->reached && s->end >= s->start) {
				report_format_seconds(d, sizeof(d), s->end - s->start);
				strbuf_addf(&sb, " %s", d);
			}
			strbuf_addch(&sb, '\n');
			if (o != REPORT_PASS)
				why(&sb, res, filter);
		}
		strbuf_addf(&sb, "%s %d - ", pass ? "ok" : "not ok", ++test);
		desc(&sb, name);
		strbuf_addstr(&sb, " verdict ");
		desc(&sb, res->verdict ? res->verdict : "unknown");
		strbuf_addch(&sb, '\n');
		if (pass)
			diag(&sb, res->reason ? res->reason : "",
			     res->reason ? strlen(res->reason) : 0);
		else if (!res->nstages)
			why(&sb, res, filter);
		else
			diag(&sb, res->reason ? res->reason : "",
			     res->reason ? strlen(res->reason) : 0);
	}
	if (fwrite(sb.buf, 1, sb.len, out) != sb.len || fflush(out))
		ret = lab_err_errno(errno ? errno : EIO, "cannot write the TAP report");
	strbuf_release(&sb);
	return ret;
}
