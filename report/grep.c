// SPDX-License-Identifier: MIT
/* Lines, matching and grep output over results (report/grep.h). */
#include <ctype.h>
#include <regex.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lib/color.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/xmalloc.h"
#include "report/grep.h"

/* ------------------------------------------------------------ ANSI */

enum {
	A_TEXT,		/* plain text */
	A_ESC,		/* after ESC */
	A_ESC_INTER,	/* ESC, intermediates (0x20-0x2f), waiting for final */
	A_CSI,		/* ESC [ params/intermediates, waiting for final */
	A_STR,		/* OSC/DCS/SOS/PM/APC string, until BEL or ST */
	A_STR_ESC,	/* ESC inside a string (ST is ESC \) */
};

void report_strip_ansi(int *state, const char *in, size_t n,
		       struct strbuf *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		switch (*state) {
		case A_TEXT:
			if (c == 0x1b)
				*state = A_ESC;
			else if (c != '\r')
				strbuf_addch(out, (char)c);
			break;
		case A_ESC:
			if (c == '[')
				*state = A_CSI;
			else if (c == ']' || c == 'P' || c == 'X' || c == '^' ||
				 c == '_')
				*state = A_STR;
			else if (c >= 0x20 && c <= 0x2f)
				*state = A_ESC_INTER;
			else if (c != 0x1b)
				*state = A_TEXT;	/* ESC c, ESC 7, ... */
			break;
		case A_ESC_INTER:
			if (c < 0x20 || c > 0x2f)
				*state = A_TEXT;
			break;
		case A_CSI:
			if (c >= 0x40 && c <= 0x7e)
				*state = A_TEXT;
			else if (c == 0x1b)
				*state = A_ESC;
			else if (c < 0x20 && c != '\r')
				/* a control inside CSI is executed: keep it */
				strbuf_addch(out, (char)c);
			break;
		case A_STR:
			if (c == 0x07) {
				*state = A_TEXT;
			} else if (c == 0x1b) {
				*state = A_STR_ESC;
			} else if (c == '\n') {
				/* an unterminated string does not eat the log */
				strbuf_addch(out, '\n');
				*state = A_TEXT;
			}
			break;
		case A_STR_ESC:
			*state = c == 0x1b ? A_STR_ESC : c == '\\' ? A_TEXT : A_STR;
			break;
		default:
			*state = A_TEXT;
			break;
		}
	}
}

/* ------------------------------------------------------------ lines */

void report_lines_init(struct report_lines *it, const struct result *r,
		       uint64_t start, uint64_t end)
{
	const char *p, *stop;

	memset(it, 0, sizeof(*it));
	it->r = r;
	if (end > r->log_len)
		end = r->log_len;
	if (start > end)
		start = end;
	it->pos = start;
	it->end = end;
	it->next_no = 1;
	/* Line numbers count from the start of the log, as grep -n does. */
	for (p = r->log, stop = r->log + start; p < stop; p++) {
		p = memchr(p, '\n', (size_t)(stop - p));
		if (!p)
			break;
		it->next_no++;
	}
}

bool report_lines_next(struct report_lines *it)
{
	const char *log = it->r->log, *nl;
	uint64_t len;
	int state = 0;
	size_t i;

	if (it->pos >= it->end)
		return false;
	nl = memchr(log + it->pos, '\n', (size_t)(it->end - it->pos));
	len = nl ? (uint64_t)(nl - (log + it->pos)) : it->end - it->pos;
	strbuf_reset(&it->text);
	strbuf_grow(&it->text, 0);	/* buf is never NULL */
	report_strip_ansi(&state, log + it->pos, (size_t)len, &it->text);
	for (i = 0; i < it->text.len; i++)
		if (!it->text.buf[i])
			it->text.buf[i] = ' ';
	it->offset = it->pos;
	it->line_no = it->next_no++;
	it->stage = result_stage_at(it->r, it->offset);
	it->pos += len + (nl ? 1 : 0);
	return true;
}

void report_lines_release(struct report_lines *it)
{
	strbuf_release(&it->text);
}

/* ------------------------------------------------------------ matching */

struct report_matcher {
	enum report_match_mode mode;
	bool icase;
	regex_t re;		/* REG_NOSUB: whether a line matches, fast */
	regex_t re_pos;		/* where: for colouring the match */
	char *fixed;
	size_t fixed_len;
};

int report_matcher_new(const char *pattern, enum report_match_mode mode,
		       bool icase, struct report_matcher **out)
{
	struct report_matcher *m = xzalloc(sizeof(*m));
	size_t i;
	int rc;

	*out = NULL;
	m->mode = mode;
	m->icase = icase;
	if (mode == REPORT_MATCH_FIXED) {
		m->fixed = xstrdup(pattern);
		m->fixed_len = strlen(pattern);
		if (icase)
			for (i = 0; i < m->fixed_len; i++)
				m->fixed[i] = (char)tolower((unsigned char)m->fixed[i]);
	} else {
		int flags = (icase ? REG_ICASE : 0) |
			    (mode == REPORT_MATCH_EXTENDED ? REG_EXTENDED : 0);

		rc = regcomp(&m->re, pattern, flags | REG_NOSUB);
		if (!rc) {
			rc = regcomp(&m->re_pos, pattern, flags);
			if (rc)
				regfree(&m->re);
		}
		if (rc) {
			char msg[256];

			regerror(rc, &m->re, msg, sizeof(msg));
			free(m);
			return lab_err(LAB_EINVAL, "bad %s regular expression '%s': %s",
				       mode == REPORT_MATCH_EXTENDED ? "extended" :
				       "basic", pattern, msg);
		}
	}
	*out = m;
	return 0;
}

/* Where needle (lower case) is in hay, ignoring case; -1: nowhere. */
static ptrdiff_t find_icase(const char *hay, size_t n, const char *needle,
			    size_t nl)
{
	size_t i, j;

	if (!nl)
		return 0;
	for (i = 0; i + nl <= n; i++) {
		for (j = 0; j < nl; j++)
			if (tolower((unsigned char)hay[i + j]) != needle[j])
				break;
		if (j == nl)
			return (ptrdiff_t)i;
	}
	return -1;
}

bool report_matcher_find(const struct report_matcher *m, const char *text,
			 size_t len, size_t from, size_t *so, size_t *eo)
{
	regmatch_t pm[1];

	if (from > len)
		return false;
	if (m->mode == REPORT_MATCH_FIXED) {
		ptrdiff_t at;

		if (m->icase) {
			at = find_icase(text + from, len - from, m->fixed,
					m->fixed_len);
		} else if (!m->fixed_len) {
			at = 0;
		} else {
			const char *p = memmem(text + from, len - from, m->fixed,
					       m->fixed_len);

			at = p ? p - (text + from) : -1;
		}
		if (at < 0)
			return false;
		*so = from + (size_t)at;
		*eo = *so + m->fixed_len;
		return true;
	}
	pm[0].rm_so = (regoff_t)from;
	pm[0].rm_eo = (regoff_t)len;
	if (regexec(&m->re_pos, text, 1, pm, REG_STARTEND |
		    (from ? REG_NOTBOL : 0)) != 0)
		return false;
	*so = (size_t)pm[0].rm_so;
	*eo = (size_t)pm[0].rm_eo;
	return true;
}

bool report_matcher_match(const struct report_matcher *m, const char *text,
			  size_t len)
{
	regmatch_t pm[1];
	size_t so, eo;

	if (m->mode == REPORT_MATCH_FIXED)
		return report_matcher_find(m, text, len, 0, &so, &eo);
	pm[0].rm_so = 0;
	pm[0].rm_eo = (regoff_t)len;
	return regexec(&m->re, text, 1, pm, REG_STARTEND) == 0;
}

/* text with every match of m between the match colour's codes. */
static void add_highlighted(struct strbuf *out, const struct report_matcher *m,
			    const char *text, size_t len)
{
	size_t pos = 0, so, eo;

	while (pos <= len && report_matcher_find(m, text, len, pos, &so, &eo)) {
		if (eo == so) {	/* an empty match colours nothing */
			strbuf_add(out, text + pos, so + (so < len) - pos);
			pos = so + 1;
			continue;
		}
		strbuf_add(out, text + pos, so - pos);
		strbuf_addstr(out, color_sgr(COLOR_MATCH));
		strbuf_add(out, text + so, eo - so);
		strbuf_addstr(out, COLOR_RESET);
		pos = eo;
	}
	if (pos < len)
		strbuf_add(out, text + pos, len - pos);
}

void report_matcher_free(struct report_matcher *m)
{
	if (!m)
		return;
	if (m->mode == REPORT_MATCH_FIXED) {
		free(m->fixed);
	} else {
		regfree(&m->re);
		regfree(&m->re_pos);
	}
	free(m);
}

/* ------------------------------------------------------------ grep */

const char *report_stage_variant(const struct result *r, int stage)
{
	int i;

	for (i = 0; i < r->nstages; i++)
		if (r->stages[i].stage == stage)
			return r->stages[i].variant;
	return NULL;
}

int report_grep(const struct result *r, const struct report_matcher *m,
		const struct report_grep_opts *opts, struct strbuf *out,
		size_t *matches)
{
	const char *label = opts->label ? opts->label : r->name;
	uint64_t start = 0, end = r->log_len;
	struct report_lines it;
	int ret;

	*matches = 0;
	if (opts->stage >= 0) {
		ret = result_stage_range(r, opts->stage, r->log_len, &start, &end);
		if (ret)
			return ret;
	}
	report_lines_init(&it, r, start, end);
	while (report_lines_next(&it)) {
		const char *variant;
		json_t *doc;

		if (!report_matcher_match(m, it.text.buf, it.text.len))
			continue;
		(*matches)++;
		if (!opts->json && opts->color) {
			strbuf_addf(out, "%s%s%s:%s%d%s: ", color_sgr(COLOR_NAME),
				    label, COLOR_RESET, color_sgr(COLOR_LINENO),
				    it.line_no, COLOR_RESET);
			if (it.stage >= 0)
				strbuf_addf(out, "%s[stage %d]%s ",
					    color_sgr(COLOR_HUNK), it.stage,
					    COLOR_RESET);
			add_highlighted(out, m, it.text.buf, it.text.len);
			strbuf_addch(out, '\n');
			continue;
		}
		if (!opts->json) {
			strbuf_addf(out, "%s:%d: ", label, it.line_no);
			if (it.stage >= 0)
				strbuf_addf(out, "[stage %d] ", it.stage);
			strbuf_add(out, it.text.buf, it.text.len);
			strbuf_addch(out, '\n');
			continue;
		}
		variant = it.stage > 0 ? report_stage_variant(r, it.stage) : NULL;
		doc = json_object();
		lab_json_set(doc, "result", lab_json_str(label));
		json_object_set_new(doc, "line_no", json_integer(it.line_no));
		lab_json_set(doc, "stage",
			     it.stage >= 0 ? json_integer(it.stage) : NULL);
		lab_json_set(doc, "variant", lab_json_str(variant));
		lab_json_set(doc, "line", lab_json_str(it.text.buf));
		lab_json_add(out, doc);
	}
	report_lines_release(&it);
	return 0;
}
