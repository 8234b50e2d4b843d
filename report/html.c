// SPDX-License-Identifier: MIT
/* The HTML report; see html.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "report/common.h"
#include "report/html.h"
#include "report/result.h"
#include "report/svg.h"

/* ------------------------------------------------------------ matrix */

static const char *const key_names[REPORT_NKEYS] = {
	[REPORT_KEY_VARIANT] = "variant", [REPORT_KEY_CHAIN] = "chain",
	[REPORT_KEY_ARCH] = "arch", [REPORT_KEY_OPTIONS] = "options",
	[REPORT_KEY_LAB] = "lab", [REPORT_KEY_BOARD] = "board",
};

const char *report_key_name(int key)
{
	return key >= 0 && key < REPORT_NKEYS ? key_names[key] : "?";
}

int report_key_parse(const char *name)
{
	int k;

	for (k = 0; k < REPORT_NKEYS; k++)
		if (!strcmp(name, key_names[k]))
			return k;
	return -1;
}

static const char *last_variant(const struct result *r)
{
	if (r->nstages)
		return r->stages[r->nstages - 1].variant;
	return r->nvariants ? r->variants[r->nvariants - 1].name : NULL;
}

static const struct result_variant *find_variant(const struct result *r,
						 const char *name)
{
	int i;

	for (i = 0; name && i < r->nvariants; i++)
		if (r->variants[i].name && !strcmp(r->variants[i].name, name))
			return &r->variants[i];
	return NULL;
}

char *report_key_value(const struct result *r, int key)
{
	const struct result_variant *v = find_variant(r, last_variant(r));
	struct strbuf sb = STRBUF_INIT;
	const char *s = NULL;
	int i;

	switch (key) {
	case REPORT_KEY_VARIANT:
		s = last_variant(r);
		break;
	case REPORT_KEY_CHAIN:
		for (i = 0; i < r->nstages; i++) {
			if (i)
				strbuf_addstr(&sb, " > ");
			strbuf_addstr(&sb, r->stages[i].variant ?
				      r->stages[i].variant : "?");
		}
		if (sb.len)
			return strbuf_detach(&sb, NULL);
		break;
	case REPORT_KEY_ARCH:
		s = v ? v->arch : NULL;
		break;
	case REPORT_KEY_OPTIONS:
		s = v ? v->options : NULL;
		break;
	case REPORT_KEY_LAB:
		s = r->lab;
		break;
	case REPORT_KEY_BOARD:
		s = r->board;
		break;
	}
	strbuf_release(&sb);
	return xstrdup(s && *s ? s : "-");
}

static int cmp_str(const void *a, const void *b)
{
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

/* The distinct strings of v[0..n), sorted, in *out (pointers into v). */
static int distinct(char **v, int n, char ***out)
{
	char **d = xcalloc((size_t)n + 1, sizeof(*d));
	int i, k = 0;

	memcpy(d, v, (size_t)n * sizeof(*d));
	qsort(d, (size_t)n, sizeof(*d), cmp_str);
	for (i = 0; i < n; i++)
		if (!k || strcmp(d[k - 1], d[i]))
			d[k++] = d[i];
	*out = d;
	return k;
}

static int count_distinct(char **v, int n)
{
	char **d;
	int k = distinct(v, n, &d);

	free(d);
	return k;
}

void report_matrix_pick(struct result *const *r, int n, int *rows, int *cols)
{
	static const int col_order[] = {
		REPORT_KEY_ARCH, REPORT_KEY_OPTIONS, REPORT_KEY_LAB, REPORT_KEY_BOARD,
	};
	static const int row_order[] = {
		REPORT_KEY_OPTIONS, REPORT_KEY_LAB, REPORT_KEY_BOARD,
		REPORT_KEY_VARIANT, REPORT_KEY_CHAIN,
	};
	char **val[REPORT_NKEYS], **config = xcalloc((size_t)n + 1, sizeof(char *));
	char **pair = xcalloc((size_t)n + 1, sizeof(char *));
	int i, k, nconfig;

	for (k = 0; k < REPORT_NKEYS; k++) {
		val[k] = xcalloc((size_t)n + 1, sizeof(char *));
		for (i = 0; i < n; i++)
			val[k][i] = report_key_value(r[i], k);
	}
	for (i = 0; i < n; i++)
		config[i] = xasprintf("%s\n%s\n%s\n%s", val[REPORT_KEY_LAB][i],
				      val[REPORT_KEY_CHAIN][i],
				      val[REPORT_KEY_ARCH][i],
				      val[REPORT_KEY_OPTIONS][i]);
	nconfig = count_distinct(config, n);

	if (*cols < 0) {
		*cols = REPORT_KEY_ARCH;
		for (k = 0; k < (int)(sizeof(col_order) / sizeof(col_order[0])); k++) {
			if (col_order[k] != *rows &&
			    count_distinct(val[col_order[k]], n) > 1) {
				*cols = col_order[k];
				break;
			}
		}
	}
	if (*rows < 0) {
		*rows = REPORT_KEY_CHAIN;
		for (k = 0; k < (int)(sizeof(row_order) / sizeof(row_order[0])); k++) {
			int key = row_order[k], m;

			if (key == *cols)
				continue;
			for (i = 0; i < n; i++)
				pair[i] = xasprintf("%s\n%s", val[key][i], val[*cols][i]);
			m = count_distinct(pair, n);
			for (i = 0; i < n; i++)
				free(pair[i]);
			if (m >= nconfig) {
				*rows = key;
				break;
			}
		}
	}
	for (k = 0; k < REPORT_NKEYS; k++) {
		for (i = 0; i < n; i++)
			free(val[k][i]);
		free(val[k]);
	}
	for (i = 0; i < n; i++)
		free(config[i]);
	free(config);
	free(pair);
}

/* ------------------------------------------------------------ page */

static const char css[] =
	"body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0 auto;max-width:1100px;padding:8px 16px;color:#212121;background:#fafafa}"
	"h1{font-size:22px;margin:12px 0}h2{font-size:18px;margin:0 0 8px}h3{font-size:15px;margin:16px 0 6px}"
	"section{background:#fff;border:1px solid #e0e0e0;border-radius:6px;padding:12px 16px;margin:12px 0}"
	"table{border-collapse:collapse;margin:4px 0}th,td{border:1px solid #e0e0e0;padding:3px 8px;text-align:left;vertical-align:top}"
	"th{background:#f5f5f5;font-weight:600}table.kv th{width:9em}"
	"code,pre{font:12px/1.35 ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace}"
	".v{display:inline-block;padding:1px 7px;border-radius:10px;color:#fff;font-weight:600;font-size:12px;text-decoration:none;margin:1px}"
	".v-pass{background:#2e7d32}.v-fail{background:#c62828}.v-infra,.v-error{background:#ef6c00}"
	".v-unknown,.v-not-reached{background:#9e9e9e}"
	"h2 .v{font-size:14px;vertical-align:middle}"
	".reason{font-weight:600}.reason code{font-weight:400;background:#fff3e0;padding:1px 4px}"
	"svg.timeline{max-width:100%;height:auto;border:1px solid #eee}"
	"pre.log{background:#263238;color:#eceff1;padding:8px;overflow-x:auto;white-space:pre;max-height:80vh;overflow-y:auto}"
	"pre.log a{color:#90a4ae;text-decoration:none}"
	"pre.log .hl{display:inline-block;min-width:100%;color:#fff}"
	"pre.log .hl-fail,pre.log .hl-error{background:#b71c1c;outline:2px solid #ff5252}"
	"pre.log .hl-pass{background:#1b5e20;outline:2px solid #69f0ae}"
	"pre.log .banner{color:#80d8ff;font-weight:700}"
	"pre.log .gap{color:#ffab40}"
	"pre.log :target{background:#455a64}"
	"td.cell{text-align:center}"
	"footer{color:#757575;font-size:12px;margin:16px 0}";

struct page {
	FILE *f;
	struct strbuf sb;
	int err;
};

/* Hand what is buffered to the stream once there is enough of it. */
static void page_flush(struct page *p, bool force)
{
	if (p->err || (!force && p->sb.len < 256 * 1024))
		return;
	if (p->sb.len && fwrite(p->sb.buf, 1, p->sb.len, p->f) != p->sb.len)
		p->err = errno ? errno : EIO;
	strbuf_reset(&p->sb);
}

static void esc(struct page *p, const char *s)
{
	report_escape_str(&p->sb, s ? s : "", false);
}

static const char *verdict_class(const char *v)
{
	if (!v)
		return "unknown";
	if (!strcmp(v, "pass") || !strcmp(v, "fail") || !strcmp(v, "infra"))
		return v;
	return "unknown";
}

static void badge(struct page *p, const char *verdict)
{
	const char *c = verdict_class(verdict);

	strbuf_addf(&p->sb, "<span class=\"v v-%s\">%s</span>", c,
		    verdict && *verdict ? c : "unknown");
}

static void seconds(struct page *p, double s)
{
	char d[64];

	report_format_seconds(d, sizeof(d), s);
	strbuf_addstr(&p->sb, d);
}

static void kv_row(struct page *p, const char *k, const char *v)
{
	if (!v || !*v)
		return;
	strbuf_addf(&p->sb, "<tr><th>%s</th><td>", k);
	esc(p, v);
	strbuf_addstr(&p->sb, "</td></tr>");
}

static void matrix(struct page *p, struct result *const *r, int n,
		   const struct html_opts *o)
{
	int rk = o ? o->rows : -1, ck = o ? o->cols : -1;
	char **rv = xcalloc((size_t)n + 1, sizeof(char *));
	char **cv = xcalloc((size_t)n + 1, sizeof(char *));
	char **rows, **cols;
	int i, a, b, nr, nc;

	report_matrix_pick(r, n, &rk, &ck);
	for (i = 0; i < n; i++) {
		rv[i] = report_key_value(r[i], rk);
		cv[i] = report_key_value(r[i], ck);
	}
	nr = distinct(rv, n, &rows);
	nc = distinct(cv, n, &cols);
	strbuf_addstr(&p->sb, "<section id=\"matrix\"><h2>Matrix</h2>");
	strbuf_addf(&p->sb, "<table class=\"matrix\"><tr><th>%s \\ %s</th>",
		    report_key_name(rk), report_key_name(ck));
	for (b = 0; b < nc; b++) {
		strbuf_addstr(&p->sb, "<th>");
		esc(p, cols[b]);
		strbuf_addstr(&p->sb, "</th>");
	}
	strbuf_addstr(&p->sb, "</tr>\n");
	for (a = 0; a < nr; a++) {
		strbuf_addstr(&p->sb, "<tr><th>");
		esc(p, rows[a]);
		strbuf_addstr(&p->sb, "</th>");
		for (b = 0; b < nc; b++) {
			strbuf_addstr(&p->sb, "<td class=\"cell\">");
			for (i = 0; i < n; i++) {
				if (strcmp(rv[i], rows[a]) || strcmp(cv[i], cols[b]))
					continue;
				strbuf_addf(&p->sb, "<a class=\"v v-%s\" href=\"#run%d\" title=\"",
					    verdict_class(r[i]->verdict), i + 1);
				report_escape_str(&p->sb, r[i]->name, true);
				strbuf_addstr(&p->sb, ": ");
				report_escape_str(&p->sb, r[i]->reason, true);
				strbuf_addf(&p->sb, "\">%s</a>",
					    verdict_class(r[i]->verdict));
			}
			strbuf_addstr(&p->sb, "</td>");
		}
		strbuf_addstr(&p->sb, "</tr>\n");
	}
	strbuf_addstr(&p->sb, "</table></section>\n");
	for (i = 0; i < n; i++) {
		free(rv[i]);
		free(cv[i]);
	}
	free(rv);
	free(cv);
	free(rows);
	free(cols);
}

static void run_list(struct page *p, struct result *const *r, int n)
{
	int i, j;

	strbuf_addstr(&p->sb, "<section id=\"runs\"><h2>Runs</h2><table><tr><th>run</th><th>lab</th><th>chain</th><th>verdict</th><th>reason</th></tr>\n");
	for (i = 0; i < n; i++) {
		strbuf_addf(&p->sb, "<tr><td><a href=\"#run%d\">", i + 1);
		esc(p, r[i]->name);
		strbuf_addstr(&p->sb, "</a></td><td>");
		esc(p, r[i]->lab);
		strbuf_addstr(&p->sb, "</td><td>");
		for (j = 0; j < r[i]->nstages; j++) {
			if (j)
				strbuf_addstr(&p->sb, " &gt; ");
			esc(p, r[i]->stages[j].variant);
		}
		strbuf_addstr(&p->sb, "</td><td>");
		badge(p, r[i]->verdict);
		strbuf_addstr(&p->sb, "</td><td>");
		esc(p, r[i]->reason);
		strbuf_addstr(&p->sb, "</td></tr>\n");
	}
	strbuf_addstr(&p->sb, "</table></section>\n");
}

static void stages_table(struct page *p, const struct result *r, int idx)
{
	int i;

	if (!r->nstages)
		return;
	strbuf_addstr(&p->sb, "<h3>Stages</h3><table class=\"stages\"><tr><th>stage</th><th>variant</th><th>entry</th><th>start</th><th>end</th><th>duration</th><th>result</th></tr>\n");
	for (i = 0; i < r->nstages; i++) {
		const struct result_stage *s = &r->stages[i];
		enum report_outcome o = report_stage_outcome(r, i);
		const char *on = report_outcome_name(o);

		strbuf_addstr(&p->sb, "<tr><td>");
		if (s->reached && s->line > 0)
			strbuf_addf(&p->sb, "<a href=\"#run%d-L%d\">%d</a>", idx,
				    s->line, s->stage);
		else
			strbuf_addf(&p->sb, "%d", s->stage);
		strbuf_addstr(&p->sb, "</td><td>");
		esc(p, s->variant);
		strbuf_addstr(&p->sb, "</td><td>");
		esc(p, s->entry);
		strbuf_addstr(&p->sb, "</td>");
		if (s->reached) {
			strbuf_addf(&p->sb, "<td>%.3f s</td><td>%.3f s</td><td>",
				    s->start, s->end >= 0 ? s->end : s->start);
			seconds(p, s->end >= s->start ? s->end - s->start : 0);
			strbuf_addstr(&p->sb, "</td>");
		} else {
			strbuf_addstr(&p->sb, "<td></td><td></td><td></td>");
		}
		strbuf_addf(&p->sb, "<td><span class=\"v v-%s\">%s</span></td></tr>\n",
			    o == REPORT_NOT_REACHED ? "not-reached" : on, on);
	}
	strbuf_addstr(&p->sb, "</table>\n");
}

static void variants_table(struct page *p, const struct result *r)
{
	int i;

	if (!r->nvariants)
		return;
	strbuf_addstr(&p->sb, "<h3>Variants</h3><table class=\"variants\"><tr><th>variant</th><th>recipe</th><th>arch</th><th>options</th><th>source</th><th>build</th></tr>\n");
	for (i = 0; i < r->nvariants; i++) {
		const struct result_variant *v = &r->variants[i];
		const char *const cells[] = {
			v->name, v->recipe, v->arch, v->options, v->source_rev,
			v->build,
		};
		size_t c;

		strbuf_addstr(&p->sb, "<tr>");
		for (c = 0; c < sizeof(cells) / sizeof(cells[0]); c++) {
			strbuf_addstr(&p->sb, "<td>");
			esc(p, cells[c]);
			strbuf_addstr(&p->sb, "</td>");
		}
		strbuf_addstr(&p->sb, "</tr>\n");
	}
	strbuf_addstr(&p->sb, "</table>\n");
}

/* Tests inside the board after the chain: command, time, verdict, output. */
static void tests_table(struct page *p, const struct result *r)
{
	int i;

	if (!r->ntests)
		return;
	strbuf_addstr(&p->sb, "<h3>Tests in the board</h3><table class=\"tests\"><tr><th>test</th><th>command</th><th>start</th><th>duration</th><th>exit</th><th>result</th><th>output</th></tr>\n");
	for (i = 0; i < r->ntests; i++) {
		const struct result_test *t = &r->tests[i];
		const char *v = t->verdict && !strcmp(t->verdict, "pass") ? "pass" :
				t->verdict && !strcmp(t->verdict, "fail") ? "fail" :
				"error";

		strbuf_addstr(&p->sb, "<tr><td>");
		esc(p, t->name);
		strbuf_addstr(&p->sb, "</td><td><code>");
		esc(p, t->command);
		strbuf_addf(&p->sb, "</code></td><td>%.3f s</td><td>", t->start);
		seconds(p, t->duration);
		strbuf_addf(&p->sb, "</td><td>%d</td><td><span class=\"v v-%s\">%s</span>",
			    t->exit_status, v, v);
		if (t->reason && *t->reason) {
			strbuf_addstr(&p->sb, " ");
			esc(p, t->reason);
		}
		strbuf_addstr(&p->sb, "</td><td><pre>");
		esc(p, t->output);
		strbuf_addstr(&p->sb, "</pre></td></tr>\n");
	}
	strbuf_addstr(&p->sb, "</table>\n");
}

static void events_table(struct page *p, const struct result *r)
{
	int i;

	if (!r->nevents)
		return;
	strbuf_addstr(&p->sb, "<h3>Events</h3><table class=\"events\"><tr><th>time</th><th>event</th><th>detail</th></tr>\n");
	for (i = 0; i < r->nevents; i++) {
		strbuf_addf(&p->sb, "<tr><td>%.3f s</td><td>", r->events[i].t);
		esc(p, r->events[i].name);
		strbuf_addstr(&p->sb, "</td><td>");
		esc(p, r->events[i].detail);
		strbuf_addstr(&p->sb, "</td></tr>\n");
	}
	strbuf_addstr(&p->sb, "</table>\n");
}

/* "--- console lost for 2.30 s (reason) ---" */
static void log_gap(struct page *p, const struct result_gap *g)
{
	strbuf_addstr(&p->sb, "<span class=\"gap\">--- console lost for ");
	if (g->end_ns >= 0)
		seconds(p, (g->end_ns - g->start_ns) / 1e9);
	else
		strbuf_addstr(&p->sb, "the rest of the run");
	strbuf_addstr(&p->sb, " (");
	esc(p, g->reason);
	strbuf_addstr(&p->sb, ") ---</span>\n");
}

/*
 * Line i of the log, read in order: by the sidecar, else from *cur (the
 * byte after the previous line), so a log without sidecar is one pass.
 */
static bool next_line(const struct result *r, size_t i, size_t *cur,
		      const char **s, size_t *n)
{
	const char *p, *nl;
	size_t len;

	if (r->nlines)
		return report_log_line(r, i, s, n);
	if (*cur >= r->log_len)
		return false;
	p = r->log + *cur;
	nl = memchr(p, '\n', r->log_len - *cur);
	len = nl ? (size_t)(nl - p) : r->log_len - *cur;
	*cur += len + (nl != NULL);
	if (len && p[len - 1] == '\r')
		len--;
	*s = p;
	*n = len;
	return true;
}

static bool is_banner(const struct result *r, size_t line_no)
{
	int i;

	for (i = 0; i < r->nstages; i++)
		if (r->stages[i].reached && r->stages[i].line > 0 &&
		    (size_t)r->stages[i].line == line_no)
			return true;
	return false;
}

static void log_section(struct page *p, const struct result *r, int idx,
			const struct html_opts *o)
{
	size_t nlines = report_log_nlines(r), i, len;
	size_t hl = r->reason_line_no > 0 ? (size_t)r->reason_line_no : 0;
	const char *hl_class = verdict_class(r->verdict);
	struct strbuf t = STRBUF_INIT;
	size_t cur = 0;
	int gi = 0;
	const char *s;

	if (!strcmp(hl_class, "infra") || !strcmp(hl_class, "unknown"))
		hl_class = "error";
	strbuf_addstr(&p->sb, "<h3>Console log</h3>");
	if (!r->log) {
		strbuf_addstr(&p->sb, "<p>The log was not loaded.</p>\n");
		return;
	}
	strbuf_addf(&p->sb, "<p>%zu lines, %zu bytes", nlines, r->log_len);
	if (r->log_path) {
		strbuf_addstr(&p->sb, " from <code>");
		esc(p, r->log_path);
		strbuf_addstr(&p->sb, "</code>");
	}
	strbuf_addstr(&p->sb, r->nlines ? "; times are from power-on" :
		      "; no sidecar: line numbers instead of times");
	if (hl && hl <= nlines)
		strbuf_addf(&p->sb, "; <a href=\"#run%d-L%zu\">the deciding line</a>",
			    idx, hl);
	strbuf_addstr(&p->sb, ".</p>\n<pre class=\"log\">");
	for (i = 0; i < nlines && next_line(r, i, &cur, &s, &len); i++) {
		size_t no = i + 1;
		bool mark = no == hl, banner = !mark && is_banner(r, no);

		for (; r->nlines && gi < r->ngaps &&
		       r->gaps[gi].offset <= r->lines[i].offset; gi++)
			log_gap(p, &r->gaps[gi]);
		if (mark)
			strbuf_addf(&p->sb, "<span class=\"hl hl-%s\" id=\"run%d-L%zu\"><a href=\"#run%d-L%zu\">",
				    hl_class, idx, no, idx, no);
		else if (banner)
			strbuf_addf(&p->sb, "<span class=\"banner\" id=\"run%d-L%zu\"><a href=\"#run%d-L%zu\">",
				    idx, no, idx, no);
		/* Other lines are bare text: 100k elements would make the
		 * browser several times slower to open the page. */
		if (r->nlines) {
			int64_t ns = r->lines[i].t_ns;
			uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
			char num[40];

			/* dmesg's "[   12.345678]", as `labctl log -t` */
			snprintf(num, sizeof(num), "%s%" PRIu64 ".%06" PRIu64,
				 ns < 0 ? "-" : "", a / 1000000000,
				 a % 1000000000 / 1000);
			strbuf_addf(&p->sb, "[%12s]", num);
		} else {
			strbuf_addf(&p->sb, "%7zu", no);
		}
		strbuf_addstr(&p->sb, mark || banner ? "</a> " : " ");
		if (o && o->filter) {
			strbuf_reset(&t);
			o->filter(s, len, &t);
			report_escape(&p->sb, t.buf ? t.buf : "", t.len, false);
		} else {
			report_escape(&p->sb, s, len, false);
		}
		strbuf_addstr(&p->sb, mark || banner ? "</span>\n" : "\n");
		page_flush(p, false);
	}
	for (; gi < r->ngaps; gi++)
		log_gap(p, &r->gaps[gi]);
	strbuf_addstr(&p->sb, "</pre>\n");
	strbuf_release(&t);
}

static void run_section(struct page *p, const struct result *r, int idx,
			const struct html_opts *o)
{
	char anchor[32];
	size_t total = report_log_nlines(r);

	snprintf(anchor, sizeof(anchor), "run%d", idx);
	strbuf_addf(&p->sb, "<section class=\"run\" id=\"%s\"><h2><a href=\"#%s\">",
		    anchor, anchor);
	esc(p, r->name);
	strbuf_addstr(&p->sb, "</a> ");
	badge(p, r->verdict);
	strbuf_addstr(&p->sb, "</h2>\n");

	strbuf_addf(&p->sb, "<p class=\"reason\" id=\"%s-verdict\">", anchor);
	esc(p, r->reason && *r->reason ? r->reason :
	    "no verdict recorded (the run ended before it wrote its .json)");
	if (r->reason_line_no > 0) {
		strbuf_addstr(&p->sb, "<br>");
		if (r->log && (size_t)r->reason_line_no <= total)
			strbuf_addf(&p->sb, "<a class=\"decided\" href=\"#%s-L%d\">line %d</a>",
				    anchor, r->reason_line_no, r->reason_line_no);
		else
			strbuf_addf(&p->sb, "line %d", r->reason_line_no);
		if (r->reason_line && *r->reason_line) {
			strbuf_addstr(&p->sb, ": <code>");
			if (o && o->filter) {
				struct strbuf t = STRBUF_INIT;

				o->filter(r->reason_line, strlen(r->reason_line), &t);
				report_escape(&p->sb, t.buf ? t.buf : "", t.len, false);
				strbuf_release(&t);
			} else {
				esc(p, r->reason_line);
			}
			strbuf_addstr(&p->sb, "</code>");
		}
	}
	strbuf_addstr(&p->sb, "</p>\n<table class=\"kv\">");
	kv_row(p, "lab", r->lab);
	kv_row(p, "lab file", r->lab_file);
	kv_row(p, "board", r->board);
	kv_row(p, "started", r->started);
	if (r->duration > 0) {
		strbuf_addstr(&p->sb, "<tr><th>duration</th><td>");
		seconds(p, r->duration);
		if (r->decided >= 0) {
			strbuf_addstr(&p->sb, " (verdict after ");
			seconds(p, r->decided);
			strbuf_addstr(&p->sb, ")");
		}
		strbuf_addstr(&p->sb, "</td></tr>");
	}
	kv_row(p, "log", r->log_path);
	kv_row(p, "record", r->json_path);
	strbuf_addstr(&p->sb, "</table>\n");
	stages_table(p, r, idx);
	strbuf_addstr(&p->sb, "<h3>Timeline</h3>\n");
	report_timeline_svg(&p->sb, r, anchor);
	variants_table(p, r);
	tests_table(p, r);
	events_table(p, r);
	page_flush(p, false);
	log_section(p, r, idx, o);
	strbuf_addstr(&p->sb, "</section>\n");
	page_flush(p, false);
}

int report_html(FILE *out, struct result *const *r, int n,
		const struct html_opts *o)
{
	const char *title = o && o->title ? o->title : "labctl report";
	struct page p = { .f = out };
	int i, pass = 0, fail = 0, other = 0;

	for (i = 0; i < n; i++) {
		if (r[i]->verdict && !strcmp(r[i]->verdict, "pass"))
			pass++;
		else if (r[i]->verdict && !strcmp(r[i]->verdict, "fail"))
			fail++;
		else
			other++;
	}
	strbuf_addstr(&p.sb, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
	if (o && o->generator) {
		strbuf_addstr(&p.sb, "<meta name=\"generator\" content=\"");
		report_escape_str(&p.sb, o->generator, true);
		strbuf_addstr(&p.sb, "\">\n");
	}
	strbuf_addstr(&p.sb, "<title>");
	esc(&p, title);
	strbuf_addf(&p.sb, "</title>\n<style>%s</style>\n</head><body>\n<header><h1>",
		    css);
	esc(&p, title);
	strbuf_addf(&p.sb, "</h1><p>%d run%s: %d pass, %d fail, %d other",
		    n, n == 1 ? "" : "s", pass, fail, other);
	strbuf_addstr(&p.sb, "</p></header>\n");
	if (n > 1) {
		matrix(&p, r, n, o);
		run_list(&p, r, n);
	}
	for (i = 0; i < n; i++)
		run_section(&p, r[i], i + 1, o);
	strbuf_addstr(&p.sb, "<footer>Made by ");
	esc(&p, o && o->generator ? o->generator : "labctl");
	strbuf_addstr(&p.sb, ".</footer>\n</body></html>\n");
	page_flush(&p, true);
	strbuf_release(&p.sb);
	if (!p.err && fflush(out))
		p.err = errno ? errno : EIO;
	if (p.err)
		return lab_err_errno(p.err, "cannot write the HTML report");
	return 0;
}
