// SPDX-License-Identifier: MIT
/*
 * What every report format shares (see common.h): markup escaping, a
 * stage's outcome, the log's lines and durations in words.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lib/strbuf.h"
#include "lib/utf8.h"
#include "report/common.h"
#include "report/result.h"

/* ------------------------------------------------------------ escaping */

enum escape_mode { ESCAPE_TEXT, ESCAPE_ATTR, ESCAPE_CHARS };

/* Bytes that go through unchanged (an attribute adds nothing: \t \n). */
static bool plain(unsigned char c, enum escape_mode mode)
{
	if (c >= 0x20 && c < 0x7f)
		return mode == ESCAPE_CHARS || (c != '&' && c != '<' &&
			c != '>' && c != '"' && c != '\'');
	return mode != ESCAPE_ATTR && (c == '\t' || c == '\n');
}

static void escape(struct strbuf *out, const char *s, size_t n,
		   enum escape_mode mode)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;

	strbuf_grow(out, n + n / 8);
	while (i < n) {
		unsigned char c = p[i];
		size_t len;

		if (plain(c, mode)) {
			i++;
			continue;
		}
		strbuf_add(out, s + run, i - run);
		switch (c) {
		case '&':
			strbuf_addstr(out, "&amp;");
			break;
		case '<':
			strbuf_addstr(out, "&lt;");
			break;
		case '>':
			strbuf_addstr(out, "&gt;");
			break;
		case '"':
			strbuf_addstr(out, "&quot;");
			break;
		case '\'':
			strbuf_addstr(out, "&#39;");
			break;
		case '\t':
			strbuf_addstr(out, "&#9;");
			break;
		case '\n':
			strbuf_addstr(out, "&#10;");
			break;
		case 0x7f:
			strbuf_addstr(out, "\xe2\x90\xa1");	/* U+2421 */
			break;
		default:
			if (c < 0x20) {		/* U+2400 + c */
				strbuf_addstr(out, "\xe2\x90");
				strbuf_addch(out, (char)(0x80 + c));
				break;
			}
			len = lab_utf8_seq_len(p + i, n - i);
			if (!len || (len == 3 && c == 0xef && p[i + 1] == 0xbf &&
				     (p[i + 2] == 0xbe || p[i + 2] == 0xbf))) {
				strbuf_addstr(out, "\xef\xbf\xbd");	/* U+FFFD */
				i += len ? len : 1;
			} else {
				strbuf_add(out, s + i, len);
				i += len;
			}
			run = i;
			continue;
		}
		i++;
		run = i;
	}
	strbuf_add(out, s + run, i - run);
}

void report_escape(struct strbuf *out, const char *s, size_t n, bool attr)
{
	escape(out, s, n, attr ? ESCAPE_ATTR : ESCAPE_TEXT);
}

void report_xml_chars(struct strbuf *out, const char *s, size_t n)
{
	escape(out, s, n, ESCAPE_CHARS);
}

void report_escape_str(struct strbuf *out, const char *s, bool attr)
{
	if (s)
		report_escape(out, s, strlen(s), attr);
}

/* ------------------------------------------------------------ outcomes and log lines */

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

bool report_verdict_is(const struct result *r, const char *v)
{
	return r->verdict && !strcmp(r->verdict, v);
}

enum report_outcome report_stage_outcome(const struct result *r, int i)
{
	int d = report_deciding_stage(r);

	/* Tests inside the board run only after the chain passed: a failed
	 * test is the test's failure, never a stage's. */
	if (report_verdict_is(r, "pass") || r->ntests)
		return r->stages[i].reached ? REPORT_PASS : REPORT_NOT_REACHED;
	if (i < d)
		return REPORT_PASS;
	if (i > d)
		return REPORT_NOT_REACHED;
	return report_verdict_is(r, "fail") ? REPORT_FAIL : REPORT_ERROR;
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

/* ------------------------------------------------------------ durations */

void report_format_seconds(char *buf, size_t size, double s)
{
	if (s < 0)
		s = 0;
	if (s < 1)
		snprintf(buf, size, "%.0f ms", s * 1000);
	else if (s < 60)
		snprintf(buf, size, "%.2f s", s);
	else
		snprintf(buf, size, "%d min %.0f s", (int)(s / 60),
			 floor(fmod(s, 60)));
}
