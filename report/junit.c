// SPDX-License-Identifier: MIT
/* JUnit XML, and the stage outcomes and log lines every format shares. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/strbuf.h"
#include "report/html.h"
#include "report/junit.h"
#include "report/result.h"

/* ------------------------------------------------------------ shared */

int report_deciding_stage(const struct result *r)
{
	int i, last = -1;

	for (i = 0; i < r->nstages; i++)
		if (r->stages[i].reached)
			last = i;
	if (last < 0 && r->nstages)
		last = 0;
	return last;
}

static bool verdict_is(const struct result *r, const char *v)
{
	return r->verdict && !strcmp(r->verdict, v);
}

enum report_outcome report_stage_outcome(const struct result *r, int i)
{
	int d = report_deciding_stage(r);

	if (verdict_is(r, "pass"))
		return r->stages[i].reached ? REPORT_PASS : REPORT_NOT_REACHED;
	if (i < d)
		return REPORT_PASS;
	if (i > d)
		return REPORT_NOT_REACHED;
	return verdict_is(r, "fail") ? REPORT_FAIL : REPORT_ERROR;
}

const char *report_outcome_name(enum report_outcome o)
{
	switch (o) {
	case REPORT_PASS:
		return "pass";
	case REPORT_FAIL:
		return "fail";
	case REPORT_ERROR:
		return "error";
	case REPORT_NOT_REACHED:
		break;
	}
	return "not reached";
}

size_t report_log_nlines(const struct result *r)
{
	size_t i, n = 0;

	if (!r->log)
		return 0;
	if (r->nlines)
		return r->nlines;
	for (i = 0; i < r->log_len; i++)
		if (r->log[i] == '\n')
			n++;
	return n + (r->log_len && r->log[r->log_len - 1] != '\n');
}

bool report_log_line(const struct result *r, size_t i, const char **s,
		     size_t *n)
{
	size_t a, b;

	if (!r->log)
		return false;
	if (r->nlines) {
		if (i >= r->nlines)
			return false;
		a = (size_t)r->lines[i].offset;
		b = i + 1 < r->nlines ? (size_t)r->lines[i + 1].offset : r->log_len;
		if (a > r->log_len)
			a = r->log_len;
		if (b > r->log_len || b < a)
			b = r->log_len;
	} else {
		const char *p = r->log, *end = r->log + r->log_len, *nl;

		for (; i && p < end; i--) {
			nl = memchr(p, '\n', (size_t)(end - p));
			p = nl ? nl + 1 : end;
		}
		if (p >= end)
			return false;
		nl = memchr(p, '\n', (size_t)(end - p));
		a = (size_t)(p - r->log);
		b = nl ? (size_t)(nl - r->log) + 1 : r->log_len;
	}
	if (b > a && r->log[b - 1] == '\n')
		b--;
	if (b > a && r->log[b - 1] == '\r')
		b--;
	*s = r->log + a;
	*n = b - a;
	return true;
}

/* One context line: control bytes as spaces, so it stays one line. */
static void context_line(struct strbuf *out, bool mark, size_t no,
			 const char *s, size_t n, report_text_filter filter)
{
	struct strbuf t = STRBUF_INIT;
	size_t i;

	if (filter)
		filter(s, n, &t);
	else
		strbuf_add(&t, s, n);
	strbuf_addf(out, "%s%6zu | ", mark ? ">" : " ", no);
	for (i = 0; i < t.len; i++) {
		unsigned char c = (unsigned char)t.buf[i];

		strbuf_addch(out, (c < 0x20 && c != '\t') || c == 0x7f ?
			     ' ' : (char)c);
	}
	strbuf_addch(out, '\n');
	strbuf_release(&t);
}

void report_context(struct strbuf *out, const struct result *r, int around,
		    report_text_filter filter)
{
	size_t total = report_log_nlines(r), first, last, i, n;
	size_t at = r->reason_line_no > 0 ? (size_t)r->reason_line_no : 0;
	const char *s;

	if (!total) {
		if (at && r->reason_line && *r->reason_line)
			context_line(out, true, at, r->reason_line,
				     strlen(r->reason_line), filter);
		return;
	}
	if (at && at <= total) {
		first = at > (size_t)around ? at - (size_t)around : 1;
		last = at + (size_t)around < total ? at + (size_t)around : total;
	} else {
		at = 0;
		first = total > (size_t)around ? total - (size_t)around + 1 : 1;
		last = total;
	}
	for (i = first; i <= last; i++)
		if (report_log_line(r, i - 1, &s, &n))
			context_line(out, i == at, i, s, n, filter);
}

/* ------------------------------------------------------------ JUnit */

static void attr(struct strbuf *out, const char *name, const char *value)
{
	strbuf_addf(out, " %s=\"", name);
	report_escape_str(out, value ? value : "", true);
	strbuf_addch(out, '"');
}

static void property(struct strbuf *out, const char *name, const char *value)
{
	if (!value)
		return;
	strbuf_addstr(out, "      <property");
	attr(out, "name", name);
	attr(out, "value", value);
	strbuf_addstr(out, "/>\n");
}

/* xs:dateTime without the zone and fraction, as JUnit readers expect. */
static void timestamp_attr(struct strbuf *out, const char *iso)
{
	char buf[20];

	if (!iso || strlen(iso) < 19 || iso[4] != '-' || iso[10] != 'T')
		return;
	memcpy(buf, iso, 19);
	buf[19] = '\0';
	attr(out, "timestamp", buf);
}

static void failure(struct strbuf *out, const struct result *r,
		    enum report_outcome o, report_text_filter filter)
{
	const char *tag = o == REPORT_FAIL ? "failure" : "error";
	struct strbuf body = STRBUF_INIT;

	strbuf_addf(out, "      <%s", tag);
	attr(out, "message", r->reason && *r->reason ? r->reason :
	     verdict_is(r, "unknown") || !r->verdict ?
	     "no verdict recorded (the run ended before it wrote its .json)" :
	     r->verdict);
	attr(out, "type", o == REPORT_FAIL ? "fail" :
	     r->verdict ? r->verdict : "unknown");
	strbuf_addch(out, '>');
	if (r->reason && *r->reason)
		strbuf_addf(&body, "%s\n", r->reason);
	if (r->log_path)
		strbuf_addf(&body, "%s%s:\n", r->log_path,
			    r->reason_line_no > 0 ? "" : " (its last lines)");
	report_context(&body, r, 3, filter);
	report_escape(out, body.buf ? body.buf : "", body.len, false);
	strbuf_addf(out, "</%s>\n", tag);
	strbuf_release(&body);
}

static void testcase(struct strbuf *out, const struct result *r,
		     const char *classname, const char *name, double time,
		     enum report_outcome o, report_text_filter filter)
{
	strbuf_addstr(out, "    <testcase");
	attr(out, "name", name);
	attr(out, "classname", classname);
	strbuf_addf(out, " time=\"%.3f\"", time > 0 ? time : 0);
	if (o == REPORT_PASS) {
		strbuf_addstr(out, "/>\n");
		return;
	}
	strbuf_addstr(out, ">\n");
	if (o == REPORT_NOT_REACHED) {
		char msg[96];

		snprintf(msg, sizeof(msg), "not reached: the run ended in stage %d",
			 report_deciding_stage(r) + 1);
		strbuf_addstr(out, "      <skipped");
		attr(out, "message", msg);
		strbuf_addstr(out, "/>\n");
	} else {
		failure(out, r, o, filter);
	}
	strbuf_addstr(out, "    </testcase>\n");
}

/* A name part for a classname: Jenkins reads "." as a package level. */
static void add_class_part(struct strbuf *out, const char *s)
{
	for (; *s; s++)
		strbuf_addch(out, *s == '.' || (unsigned char)*s <= ' ' ? '_' : *s);
}

/*
 * "labctl.<lab>.<variant>-<variant>-...": the same for every run of
 * the same chain on the same lab, so a CI server tracks each stage's
 * history across runs (never the result's timestamp).
 */
static void classname(struct strbuf *cls, const struct result *r)
{
	int i;

	strbuf_addstr(cls, "labctl.");
	add_class_part(cls, r->lab ? r->lab : "unknown");
	for (i = 0; i < r->nstages; i++) {
		strbuf_addch(cls, i ? '-' : '.');
		add_class_part(cls, r->stages[i].variant ? r->stages[i].variant :
			       "unknown");
	}
}

/* The suite: one run, named by its lab and result. */
static void suite_name(struct strbuf *name, const struct result *r)
{
	strbuf_addf(name, "%s.%s", r->lab ? r->lab : "labctl",
		    r->name ? r->name : "result");
}

/*
 * The board's host: as the run recorded it; for a result from before
 * runs recorded it, this machine for a virtual board, else nothing.
 */
static const char *host_of(const struct result *r, char *buf, size_t size)
{
	if (r->host)
		return r->host;
	if (r->board && (!strcmp(r->board, "qemu") || !strcmp(r->board, "bochs")) &&
	    size > 1 && gethostname(buf, size - 1) == 0) {
		buf[size - 1] = '\0';
		return buf;
	}
	return NULL;
}

static void suite(struct strbuf *out, const struct result *r,
		  report_text_filter filter, int *tests, int *fails,
		  int *errors, int *skips)
{
	struct strbuf cls = STRBUF_INIT, name = STRBUF_INIT;
	int i, t = 0, f = 0, e = 0, s = 0;
	char hostbuf[256];
	const char *host;
	enum report_outcome run_o = verdict_is(r, "pass") ? REPORT_PASS :
		verdict_is(r, "fail") ? REPORT_FAIL : REPORT_ERROR;

	for (i = 0; i < r->nstages; i++) {
		enum report_outcome o = report_stage_outcome(r, i);

		t++;
		f += o == REPORT_FAIL;
		e += o == REPORT_ERROR;
		s += o == REPORT_NOT_REACHED;
	}
	if (!r->nstages) {	/* a run without stages is one test */
		t = 1;
		f = run_o == REPORT_FAIL;
		e = run_o == REPORT_ERROR;
	}
	suite_name(&name, r);
	classname(&cls, r);
	strbuf_addstr(out, "  <testsuite");
	attr(out, "name", name.buf);
	strbuf_addf(out, " tests=\"%d\" failures=\"%d\" errors=\"%d\" skipped=\"%d\" time=\"%.3f\"",
		    t, f, e, s, r->duration > 0 ? r->duration : 0);
	timestamp_attr(out, r->started);
	host = host_of(r, hostbuf, sizeof(hostbuf));
	if (host)	/* where the machine under test is */
		attr(out, "hostname", host);
	strbuf_addstr(out, ">\n    <properties>\n");
	property(out, "result", r->name);
	property(out, "log", r->log_path);
	property(out, "lab", r->lab);
	property(out, "lab_file", r->lab_file);
	property(out, "board", r->board);
	property(out, "host", r->host);
	property(out, "started", r->started);
	property(out, "verdict", r->verdict);
	property(out, "reason", r->reason);
	strbuf_addstr(out, "    </properties>\n");
	for (i = 0; i < r->nstages; i++) {
		const struct result_stage *st = &r->stages[i];
		double time = st->reached && st->end >= st->start ?
			st->end - st->start : 0;

		strbuf_reset(&name);
		strbuf_addf(&name, "stage %d %s (%s)", st->stage,
			    st->variant ? st->variant : "?",
			    st->entry ? st->entry : "?");
		testcase(out, r, cls.buf, name.buf, time,
			 report_stage_outcome(r, i), filter);
	}
	if (!r->nstages)
		testcase(out, r, cls.buf, "run", r->duration, run_o, filter);
	strbuf_addstr(out, "  </testsuite>\n");
	*tests += t;
	*fails += f;
	*errors += e;
	*skips += s;
	strbuf_release(&cls);
	strbuf_release(&name);
}

int report_junit(FILE *out, struct result *const *r, int n,
		 report_text_filter filter)
{
	struct strbuf body = STRBUF_INIT, head = STRBUF_INIT;
	int i, t = 0, f = 0, e = 0, s = 0;
	double time = 0;
	int ret = 0;

	for (i = 0; i < n; i++) {
		suite(&body, r[i], filter, &t, &f, &e, &s);
		time += r[i]->duration > 0 ? r[i]->duration : 0;
	}
	strbuf_addstr(&head, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	strbuf_addf(&head,
		    "<testsuites name=\"labctl\" tests=\"%d\" failures=\"%d\" errors=\"%d\" skipped=\"%d\" time=\"%.3f\">\n",
		    t, f, e, s, time);
	if (fwrite(head.buf, 1, head.len, out) != head.len ||
	    (body.len && fwrite(body.buf, 1, body.len, out) != body.len) ||
	    fputs("</testsuites>\n", out) < 0 || fflush(out))
		ret = lab_err_errno(errno ? errno : EIO, "cannot write the JUnit report");
	strbuf_release(&body);
	strbuf_release(&head);
	return ret;
}
