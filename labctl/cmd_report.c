// SPDX-License-Identifier: MIT
/*
 * labctl report RESULT... [-o FILE] [--junit FILE] [--tap]
 *                         [--rows KEY] [--cols KEY] [--title TEXT]
 *                         [--results DIR] [--json]
 *
 * Renders results (report/result.h) as one self-contained HTML file
 * (report/html.h), JUnit XML (report/junit.h), TAP (report/tap.h) or,
 * with --json, a JSON summary.  Files are replaced atomically: a failed
 * report leaves the old file (or none), never half of one.
 *
 * Also report_run_formats(), which run and boot call for --junit/--tap.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "labctl/labctl.h"
#include "labctl/logrender.h"
#include "lib/err.h"
#include "lib/fileio.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "report/common.h"
#include "report/html.h"
#include "report/junit.h"
#include "report/result.h"
#include "report/tap.h"

int report_run_formats(const char *log_path, const char *junit_path,
		       bool tap, FILE *tap_out);

/* Console text without escape sequences, one line at a time. */
static void strip_line(const char *in, size_t n, struct strbuf *out)
{
	struct log_ansi st = { 0 };

	log_strip_ansi(&st, in, n, out);
}

enum fmt { FMT_HTML, FMT_JUNIT, FMT_TAP };

/* Render format fmt of r[0..n) into a memory stream; 0 or -LAB_E*. */
static int render(enum fmt fmt, struct result *const *r, int n,
		  const struct html_opts *ho, char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);
	int ret;

	if (!f)
		return lab_err_errno(errno, "cannot render the report");
	switch (fmt) {
	case FMT_HTML:
		ret = report_html(f, r, n, ho);
		break;
	case FMT_JUNIT:
		ret = report_junit(f, r, n, strip_line);
		break;
	default:
		ret = report_tap(f, r, n, strip_line);
		break;
	}
	if (fclose(f) && !ret)
		ret = lab_err_errno(errno, "cannot render the report");
	if (ret) {
		free(*buf);
		*buf = NULL;
	}
	return ret;
}

/* Write to path atomically, or to stdout for "-". */
static int emit(enum fmt fmt, const char *path, struct result *const *r,
		int n, const struct html_opts *ho)
{
	char *buf = NULL;
	size_t len = 0;
	int ret = render(fmt, r, n, ho, &buf, &len);

	if (ret)
		return ret;
	if (!strcmp(path, "-")) {
		if (len && fwrite(buf, 1, len, stdout) != len)
			ret = lab_err_errno(errno, "error writing standard output");
	} else {
		ret = lab_write_file_atomic(path, buf, len, 0644);
	}
	free(buf);
	return ret;
}

static void json_summary(struct strbuf *js, struct result *const *r, int n,
			 const char *html, const char *junit)
{
	json_t *doc = json_object(), *results = json_array();
	int i, j;

	for (i = 0; i < n; i++) {
		const struct result *res = r[i];
		json_t *o = json_object(), *stages = json_array();

		lab_json_set(o, "name", lab_json_str(res->name ? res->name : ""));
		lab_json_set(o, "log", lab_json_str(res->log_path ? res->log_path : ""));
		lab_json_set(o, "lab", lab_json_str(res->lab ? res->lab : ""));
		lab_json_set(o, "verdict",
			     lab_json_str(res->verdict ? res->verdict : "unknown"));
		lab_json_set(o, "reason", lab_json_str(res->reason ? res->reason : ""));
		json_object_set_new(o, "line_no", json_integer(res->reason_line_no));
		json_object_set_new(o, "duration", lab_json_seconds(res->duration));
		for (j = 0; j < res->nstages; j++) {
			const struct result_stage *s = &res->stages[j];
			json_t *st = json_object();

			json_object_set_new(st, "stage", json_integer(s->stage));
			lab_json_set(st, "variant",
				     lab_json_str(s->variant ? s->variant : ""));
			lab_json_set(st, "outcome", lab_json_str(report_outcome_name(
						report_stage_outcome(res, j))));
			json_object_set_new(st, "duration", lab_json_seconds(
				s->reached && s->end >= s->start ?
				s->end - s->start : 0));
			json_array_append_new(stages, st);
		}
		json_object_set_new(o, "stages", stages);
		json_array_append_new(results, o);
	}
	lab_json_set(doc, "html", lab_json_str(html));
	lab_json_set(doc, "junit", lab_json_str(junit));
	json_object_set_new(doc, "results", results);
	lab_json_add(js, doc);
}

/*
 * Load with the sidecar's line times; a damaged sidecar only costs the
 * times (with a warning), not the report.
 */
static int load(const char *what, const char *results_dir, struct result **r)
{
	int ret = result_load(what, results_dir, RESULT_LINES | RESULT_LOG, r);

	if (ret == -LAB_EFORMAT) {
		lab_warn("%s; showing %s without line times", lab_errmsg(ret),
			 what);
		lab_err_clear();
		ret = result_load(what, results_dir, RESULT_LOG, r);
	}
	return ret;
}

static void free_results(struct result **r, int n)
{
	int i;

	for (i = 0; i < n; i++)
		result_free(r[i]);
	free(r);
}

int report_run_formats(const char *log_path, const char *junit_path,
		       bool tap, FILE *tap_out)
{
	struct result *r = NULL;
	int ret;

	if (!junit_path && !tap)
		return 0;
	ret = load(log_path, NULL, &r);
	if (ret)
		return ret;
	if (junit_path)
		ret = emit(FMT_JUNIT, junit_path, &r, 1, NULL);
	if (!ret && tap) {
		ret = report_tap(tap_out, &r, 1, strip_line);
	}
	result_free(r);
	return ret;
}

enum { OPT_JUNIT = CMD_OPT_LONG, OPT_TAP, OPT_ROWS, OPT_COLS, OPT_TITLE,
       OPT_RESULTS };

static const struct option options[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "junit", required_argument, NULL, OPT_JUNIT },
	{ "tap", no_argument, NULL, OPT_TAP },
	{ "rows", required_argument, NULL, OPT_ROWS },
	{ "cols", required_argument, NULL, OPT_COLS },
	{ "title", required_argument, NULL, OPT_TITLE },
	{ "results", required_argument, NULL, OPT_RESULTS },
	{ NULL, 0, NULL, 0 }
};

static const char *opt_name(int c)
{
	switch (c) {
	case OPT_JUNIT:
		return "--junit";
	case OPT_ROWS:
		return "--rows";
	case OPT_COLS:
		return "--cols";
	case OPT_TITLE:
		return "--title";
	case OPT_RESULTS:
		return "--results";
	}
	return "-o";
}

/*
 * -o and --junit name a file: a directory there is a usage error, found
 * before anything is loaded or written (the report is one file; its name
 * is the caller's choice, not ours).
 */
static int check_output(const char *opt, const char *path)
{
	struct stat st;

	if (strcmp(path, "-") && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return cmd_usage_error("report",
				       "%s %s: that is a directory; give the file to write, e.g. %s %s%sreport.%s",
				       opt, path, opt, path,
				       path[strlen(path) - 1] == '/' ? "" : "/",
				       strcmp(opt, "-o") ? "xml" : "html");
	return 0;
}

int cmd_report(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct html_opts ho = {
		.filter = strip_line, .rows = -1, .cols = -1,
		.generator = "labctl " LABCTL_VERSION,
	};
	const char *html = NULL, *junit = NULL, *results_dir = NULL;
	bool tap = false;
	struct result **r = NULL;
	struct cmd_getopt g;
	int i, c, n = 0, nstdout, ret = 0;
	const char **what;

	what = xcalloc((size_t)argc + 1, sizeof(*what));
	cmd_getopt_init(&g, "report", argc, argv, options);
	while (!ret && (c = cmd_getopt_next(&g)) != -1) {
		const char *val = g.arg;
		int k;

		switch (c) {
		case CMD_OPERAND:
			what[n++] = g.arg;
			continue;
		case OPT_TAP:
			tap = true;
			continue;
		case 'o':
		case OPT_JUNIT:
		case OPT_TITLE:
		case OPT_RESULTS:
		case OPT_ROWS:
		case OPT_COLS:
			if (!*val) {
				ret = cmd_usage_error("report", "%s needs a value",
						      opt_name(c));
				continue;
			}
			break;
		default:
			ret = LAB_EXIT_USAGE;
			continue;
		}
		switch (c) {
		case 'o':
			html = val;
			ret = check_output("-o", val);
			break;
		case OPT_JUNIT:
			junit = val;
			ret = check_output("--junit", val);
			break;
		case OPT_TITLE:
			ho.title = val;
			break;
		case OPT_RESULTS:
			results_dir = val;
			break;
		case OPT_ROWS:
		case OPT_COLS:
			k = report_key_parse(val);
			if (k < 0)
				ret = cmd_usage_error("report",
						      "%s takes variant, chain, arch, options, lab or board, not '%s'",
						      opt_name(c), val);
			else
				*(c == OPT_ROWS ? &ho.rows : &ho.cols) = k;
			break;
		}
	}
	if (ret) {
		free(what);
		return ret;
	}
	if (!n) {
		free(what);
		return cmd_usage_error("report",
				       "which results? (paths, names in results/, or latest)");
	}
	if (!html && !junit && !tap && !ctx->json) {
		free(what);
		return cmd_usage_error("report",
				       "nothing to write: give -o FILE, --junit FILE, --tap or --json");
	}
	nstdout = (html && !strcmp(html, "-")) + (junit && !strcmp(junit, "-")) +
		  tap + ctx->json;
	if (nstdout > 1) {
		free(what);
		return cmd_usage_error("report",
				       "only one of -o -, --junit -, --tap and --json can write to standard output");
	}
	if (ho.rows >= 0 && ho.rows == ho.cols) {
		free(what);
		return cmd_usage_error("report", "--rows and --cols are the same key");
	}

	/* Everything loads before anything is written. */
	r = xcalloc((size_t)n + 1, sizeof(*r));
	for (i = 0; i < n; i++) {
		ret = load(what[i], results_dir, &r[i]);
		if (ret) {
			free_results(r, i);
			free(what);
			return cmd_fail(ret);
		}
	}
	if (html)
		ret = emit(FMT_HTML, html, r, n, &ho);
	if (!ret && junit)
		ret = emit(FMT_JUNIT, junit, r, n, NULL);
	if (!ret && tap)
		ret = emit(FMT_TAP, "-", r, n, NULL);
	if (!ret && ctx->json) {
		struct strbuf js = STRBUF_INIT;

		json_summary(&js, r, n, html, junit);
		if (fwrite(js.buf, 1, js.len, stdout) != js.len)
			ret = lab_err_errno(errno, "error writing standard output");
		strbuf_release(&js);
	}
	free_results(r, n);
	free(what);
	return ret ? cmd_fail(ret) : 0;
}
