// SPDX-License-Identifier: MIT
/*
 * labctl results [--lab LAB] [--variant VARIANT] [--verdict V]
 *                [--since WHEN] [--limit N] [--results DIR]
 *                [--color[=WHEN]] [--json]
 * labctl results reindex [--results DIR]
 *
 * Lists results newest first from the index (report/index.h), which is
 * brought up to date with the files first; `reindex` rebuilds it.
 * --lab is the global option (ctx->lab_name).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "labctl/labctl.h"
#include "lib/clock.h"
#include "lib/color.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "report/index.h"

static const char *const verdicts[] = {
	"pass", "fail", "infra", "unknown", "running", NULL
};

/* "2026-11-20", "2026-11-20T08:30[:00]", "20261120", "202611200830[00]". */
static bool parse_date(const char *s, int64_t *wall_ns)
{
	struct tm tm = { 0 };
	size_t len = strlen(s), i;
	int n = 0;
	time_t t;

	for (i = 0; i < len && isdigit((unsigned char)s[i]); i++)
		;
	if (i == len && (len == 8 || len == 12 || len == 14)) {
		if (sscanf(s, "%4d%2d%2d", &tm.tm_year, &tm.tm_mon,
			   &tm.tm_mday) != 3)
			return false;
		if (len >= 12 && sscanf(s + 8, "%2d%2d", &tm.tm_hour,
					&tm.tm_min) != 2)
			return false;
		if (len == 14 && sscanf(s + 12, "%2d", &tm.tm_sec) != 1)
			return false;
	} else {
		if (sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon,
			   &tm.tm_mday, &n) != 3 || n != 10)
			return false;
		if (s[10]) {
			int m = 0;

			if ((s[10] != 'T' && s[10] != ' ') ||
			    sscanf(s + 11, "%2d:%2d%n", &tm.tm_hour, &tm.tm_min,
				   &m) != 2 || m != 5)
				return false;
			if (s[16] && (sscanf(s + 16, ":%2d%n", &tm.tm_sec, &m) != 1 ||
				      m != 3 || s[19]))
				return false;
		}
	}
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 59)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon--;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	if (t == (time_t)-1)
		return false;
	*wall_ns = (int64_t)t * 1000000000;
	return true;
}

static int parse_since(const char *s, int64_t *wall_ns)
{
	int64_t ms;

	if (parse_date(s, wall_ns))
		return 0;
	if (lab_parse_duration_ms(s, &ms) == 0) {
		*wall_ns = lab_wall_ns() - ms * 1000000;
		if (*wall_ns <= 0)
			*wall_ns = 1;
		return 0;
	}
	lab_err_clear();
	return -LAB_EINVAL;
}

/* One row per line, as a JSON array. */
static void print_json(const struct report_row *rows, size_t n)
{
	struct strbuf out = STRBUF_INIT;
	size_t i;

	strbuf_addch(&out, '[');
	for (i = 0; i < n; i++) {
		const struct report_row *r = &rows[i];
		json_t *o = json_object(), *chain = json_array();
		char iso[64];
		const char *p, *q;

		lab_timestamp_iso(iso, sizeof(iso), r->started_wall_ns);
		for (p = r->chain; *p; p = *q ? q + 1 : q) {
			char *v;

			q = strchr(p, ' ');
			if (!q)
				q = p + strlen(p);
			v = xstrndup(p, (size_t)(q - p));
			json_array_append_new(chain, lab_json_str(v));
			free(v);
		}
		lab_json_set(o, "name", lab_json_str(r->name));
		lab_json_set(o, "lab", lab_json_str(r->lab));
		lab_json_set(o, "board", lab_json_str(r->board));
		json_object_set_new(o, "chain", chain);
		lab_json_set(o, "verdict", lab_json_str(r->live ? "running" : r->verdict));
		lab_json_set(o, "reason", lab_json_str(r->reason));
		json_object_set_new(o, "duration",
				    json_real(round(r->duration * 1000) / 1000));
		lab_json_set(o, "started", lab_json_str(iso));
		json_object_set_new(o, "stages", json_integer(r->nstages));
		json_object_set_new(o, "reached", json_integer(r->reached));
		if (i)
			strbuf_addstr(&out, ",\n");
		lab_json_add(&out, o);
		strbuf_setlen(&out, out.len - 1);	/* the row's newline */
	}
	strbuf_addstr(&out, "]\n");
	fputs(strbuf_str(&out), stdout);
	strbuf_release(&out);
}

/* Text for one table cell: control characters (a newline in a reason)
 * would break the table. */
static void add_cell(struct strbuf *out, const char *s)
{
	for (; *s; s++)
		strbuf_addch(out, (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s);
}

static int utf8_width(const char *s)
{
	int w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

/* The verdict padded to its column, coloured on a terminal. */
static void add_verdict(struct strbuf *out, const char *verdict, bool color)
{
	enum color_role role = !strcmp(verdict, "pass") ? COLOR_PASS :
			       !strcmp(verdict, "fail") ? COLOR_FAIL : COLOR_INFRA;
	bool paint = color && strcmp(verdict, "running");
	int pad = 7 - (int)strlen(verdict);

	strbuf_addf(out, "%s%s%s%*s", paint ? color_sgr(role) : "", verdict,
		    paint ? COLOR_RESET : "", pad > 0 ? pad : 0, "");
}

static void print_text(const struct report_row *rows, size_t n)
{
	bool color = color_enabled(stdout);
	struct strbuf out = STRBUF_INIT;
	int wname = 6, wlab = 3, wchain = 5;
	size_t i;

	for (i = 0; i < n; i++) {
		int w = (int)strlen(rows[i].name);

		wname = w > wname ? w : wname;
		w = rows[i].lab ? utf8_width(rows[i].lab) : 1;
		wlab = w > wlab ? w : wlab;
		w = utf8_width(rows[i].chain) + 3 * (rows[i].nstages - 1);
		wchain = w > wchain ? w : wchain;
	}
	if (wlab > 20)
		wlab = 20;
	if (wchain > 40)
		wchain = 40;
	strbuf_addf(&out, "%-*s  %-*s  %-7s  %8s  %-*s  %s\n", wname, "RESULT",
		    wlab, "LAB", "VERDICT", "DURATION", wchain, "CHAIN",
		    "REASON");
	for (i = 0; i < n; i++) {
		const struct report_row *r = &rows[i];
		struct strbuf chain = STRBUF_INIT;
		const char *p;
		int pad;

		for (p = r->chain; *p; p++) {
			if (*p == ' ')
				strbuf_addstr(&chain, " -> ");
			else
				strbuf_addch(&chain, *p);
		}
		if (!chain.len)
			strbuf_addch(&chain, '-');
		strbuf_addf(&out, "%-*s  ", wname, r->name);
		add_cell(&out, r->lab ? r->lab : "-");
		pad = wlab - (r->lab ? utf8_width(r->lab) : 1);
		strbuf_addf(&out, "%*s  ", pad > 0 ? pad : 0, "");
		add_verdict(&out, r->live ? "running" : r->verdict, color);
		strbuf_addf(&out, "  %6.1f s  ", r->duration);
		add_cell(&out, strbuf_str(&chain));
		pad = wchain - utf8_width(strbuf_str(&chain));
		strbuf_addf(&out, "%*s  ", pad > 0 ? pad : 0, "");
		add_cell(&out, r->reason ? r->reason : "");
		strbuf_addch(&out, '\n');
		strbuf_release(&chain);
	}
	fputs(strbuf_str(&out), stdout);
	strbuf_release(&out);
}

static int reindex(const char *dir, bool json)
{
	struct report_index_stats st;
	struct report_index *ix = NULL;
	char *path;
	int ret;

	ret = report_index_open(dir, &ix);
	if (!ret)
		ret = report_index_update(ix, true, &st);
	report_index_close(ix);
	if (ret)
		return cmd_fail(ret);
	path = report_index_path(dir);
	if (json) {
		json_t *doc = json_object();

		json_object_set_new(doc, "results", json_integer(st.added));
		lab_json_set(doc, "index", lab_json_str(path));
		lab_json_print(stdout, doc);
		json_decref(doc);
	} else {
		printf("indexed %d result%s in %s\n", st.added,
		       st.added == 1 ? "" : "s", path);
	}
	free(path);
	return 0;
}

enum { OPT_VARIANT = CMD_OPT_LONG, OPT_VERDICT, OPT_SINCE, OPT_LIMIT,
       OPT_RESULTS };

static const struct option options[] = {
	{ "variant", required_argument, NULL, OPT_VARIANT },
	{ "verdict", required_argument, NULL, OPT_VERDICT },
	{ "since", required_argument, NULL, OPT_SINCE },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "results", required_argument, NULL, OPT_RESULTS },
	{ NULL, 0, NULL, 0 }
};

int cmd_results(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct report_query q = { .lab = ctx->lab_name };
	const char *dir = "results";
	bool do_reindex = false;
	struct report_index *ix = NULL;
	struct report_row *rows = NULL;
	struct cmd_getopt g;
	size_t n = 0;
	int c, ret;

	cmd_getopt_init(&g, "results", argc, argv, options);
	while ((c = cmd_getopt_next(&g)) != -1) {
		const char *v = g.arg;
		size_t k;

		switch (c) {
		case OPT_VARIANT:
			if (!*v)
				return cmd_usage_error("results", "--variant needs a variant name");
			q.variant = v;
			break;
		case OPT_VERDICT:
			for (k = 0; verdicts[k]; k++)
				if (!strcmp(v, verdicts[k]))
					break;
			if (!verdicts[k])
				return cmd_usage_error("results",
						       "--verdict wants pass, fail, infra, unknown or running, not '%s'",
						       v);
			q.verdict = v;
			break;
		case OPT_SINCE:
			if (parse_since(v, &q.since_wall_ns))
				return cmd_usage_error("results",
						       "--since wants a duration (30m, 12h, 2d) or a date (2026-11-20, 2026-11-20T08:30, 20261120083000), not '%s'",
						       v);
			break;
		case OPT_LIMIT: {
			char *end;
			long l;

			errno = 0;
			l = strtol(v, &end, 10);
			if (errno || end == v || *end || l < 1 || l > 1000000)
				return cmd_usage_error("results",
						       "--limit wants a count from 1, not '%s'",
						       v);
			q.limit = (int)l;
			break;
		}
		case OPT_RESULTS:
			if (!*v)
				return cmd_usage_error("results", "--results needs a directory");
			dir = v;
			break;
		case CMD_OPERAND:
			if (!strcmp(v, "reindex") && !do_reindex) {
				do_reindex = true;
				break;
			}
			return cmd_usage_error("results",
					       "unexpected '%s' (filters are options: --lab, --variant, --verdict, --since)",
					       v);
		default:
			return LAB_EXIT_USAGE;
		}
	}
	if (do_reindex) {
		if (q.lab || q.variant || q.verdict || q.since_wall_ns || q.limit)
			return cmd_usage_error("results",
					       "reindex takes no filters");
		return reindex(dir, ctx->json);
	}
	ret = report_index_open(dir, &ix);
	if (!ret)
		ret = report_index_update(ix, false, NULL);
	if (!ret)
		ret = report_index_query(ix, &q, &rows, &n);
	report_index_close(ix);
	if (ret)
		return cmd_fail(ret);
	if (ctx->json)
		print_json(rows, n);
	else if (n)
		print_text(rows, n);
	else if (q.lab || q.variant || q.verdict || q.since_wall_ns)
		fprintf(stderr, "labctl: no results in %s/ match\n", dir);
	else
		fprintf(stderr, "labctl: no results in %s/ (labctl run writes them there)\n",
			dir);
	report_rows_free(rows, n);
	return 0;
}
