// SPDX-License-Identifier: MIT
/*
 * labctl matrix LAB --variant V --opt LIST --arch LIST: every combination
 * of option value and arch is a variant of its own (matrix.h), built
 * (cached, parallel) and run across the lab's pool of boards; then the
 * good/bad table (rows arch, columns option value) and the failures
 * grouped by the line that decided them.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labctl/labconf.h"
#include "labctl/labctl.h"
#include "labctl/logrender.h"
#include "labctl/matrix.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/fileio.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "report/html.h"
#include "report/junit.h"
#include "report/result.h"

struct matrix_args {
	const char *lab;
	const char *variant;
	const char *opts, *archs, *before;
	const char *results_dir;
	const char *junit, *html;
	int64_t timeout_ms;
	int jobs;
	bool force;
};

enum { OPT_VARIANT = CMD_OPT_LONG, OPT_OPT, OPT_ARCH, OPT_BEFORE,
       OPT_RESULTS, OPT_JUNIT, OPT_HTML, OPT_TIMEOUT, OPT_FORCE };

static const struct option options[] = {
	{ "variant", required_argument, NULL, OPT_VARIANT },
	{ "opt", required_argument, NULL, OPT_OPT },
	{ "arch", required_argument, NULL, OPT_ARCH },
	{ "before", required_argument, NULL, OPT_BEFORE },
	{ "results", required_argument, NULL, OPT_RESULTS },
	{ "junit", required_argument, NULL, OPT_JUNIT },
	{ "html", required_argument, NULL, OPT_HTML },
	{ "jobs", required_argument, NULL, 'j' },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ NULL, 0, NULL, 0 }
};

static int parse(int argc, char **argv, struct matrix_args *a)
{
	const char **str, *val;
	struct cmd_getopt g;
	int64_t n;
	int c;

	cmd_getopt_init(&g, "matrix", argc, argv, options);
	while ((c = cmd_getopt_next(&g)) != -1) {
		val = g.arg;
		str = c == OPT_VARIANT ? &a->variant : c == OPT_OPT ? &a->opts :
		      c == OPT_ARCH ? &a->archs : c == OPT_BEFORE ? &a->before :
		      c == OPT_RESULTS ? &a->results_dir :
		      c == OPT_JUNIT ? &a->junit : c == OPT_HTML ? &a->html : NULL;
		if (str) {
			if (!*val)
				return cmd_usage_error("matrix", "--%s needs a value",
						       options[c - OPT_VARIANT].name);
			*str = val;
			continue;
		}
		switch (c) {
		case 'j':
			if (lab_parse_int(val, &n) < 0 || n < 1 || n > 64)
				return cmd_usage_error("matrix", "-j takes a number from 1 to 64");
			a->jobs = (int)n;
			break;
		case OPT_TIMEOUT:
			if (lab_parse_duration_ms(val, &a->timeout_ms) < 0 ||
			    a->timeout_ms <= 0)
				return cmd_usage_error("matrix",
						       "--timeout takes a duration such as 90s or 5m");
			break;
		case OPT_FORCE:
			a->force = true;
			break;
		case CMD_OPERAND:
			if (a->lab)
				return cmd_usage_error("matrix", "one lab only ('%s' and '%s')",
						       a->lab, val);
			a->lab = val;
			break;
		default:
			return LAB_EXIT_USAGE;
		}
	}
	if (!a->variant)
		return cmd_usage_error("matrix",
				       "name the variant to vary with --variant, e.g. --variant build32lhv");
	return 0;
}

/* "a,b" -> words, for --before; NULL text: none. */
static char **split_list(const char *text, int *n)
{
	char **w = NULL, *copy, *tok, *save = NULL;

	*n = 0;
	if (!text)
		return NULL;
	copy = xstrdup(text);
	for (tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		w = xrealloc(w, (size_t)(*n + 1) * sizeof(*w));
		w[(*n)++] = xstrdup(tok);
	}
	free(copy);
	return w;
}

/* Console text without escape sequences, one line at a time. */
static void strip_line(const char *in, size_t n, struct strbuf *out)
{
	struct log_ansi st = { 0 };

	log_strip_ansi(&st, in, n, out);
}

/*
 * --junit and --html: the report/ writers over the results of the cells
 * that ran (a cell without a run, a failed build say, has no result to
 * show).  Each file is replaced atomically.
 */
static int write_reports(const struct mx_runner *r, const struct mx_cell *cells,
			 int n, const char *junit, const char *html)
{
	struct result **res = xcalloc((size_t)n + 1, sizeof(*res));
	char *title = xasprintf("labctl matrix %s: %s", r->lab->name, r->base);
	struct html_opts ho = {
		.filter = strip_line, .title = title,
		.rows = REPORT_KEY_ARCH, .cols = REPORT_KEY_OPTIONS,
		.generator = "labctl " LABCTL_VERSION,
	};
	int i, k = 0, pass, ret = 0;

	for (i = 0; i < n && !ret; i++)
		if (cells[i].result)
			ret = result_load(cells[i].result, NULL,
					  RESULT_LINES | RESULT_LOG, &res[k++]);
	for (pass = 0; pass < 2 && !ret; pass++) {
		const char *path = pass ? html : junit;
		char *buf = NULL;
		size_t len = 0;
		FILE *f;

		if (!path)
			continue;
		f = open_memstream(&buf, &len);
		if (!f) {
			ret = lab_err_errno(errno, "cannot render %s", path);
			break;
		}
		ret = pass ? report_html(f, res, k, &ho) :
			     report_junit(f, res, k, strip_line);
		if (fclose(f) && !ret)
			ret = lab_err_errno(errno, "cannot render %s", path);
		if (!ret)
			ret = lab_write_file_atomic(path, buf, len, 0644);
		free(buf);
	}
	for (i = 0; i < k; i++)
		result_free(res[i]);
	free(res);
	free(title);
	return ret;
}

/* Seconds to the millisecond, as the text shows them. */
static json_t *ms_secs(double s)
{
	return json_real(round(s * 1000) / 1000);
}

static json_t *cell_json(const struct mx_cell *c, int group)
{
	json_t *o = json_object();

	lab_json_set(o, "variant", lab_json_str(c->variant));
	lab_json_set(o, "arch", lab_json_str(c->arch));
	lab_json_set(o, "options", json_sprintf("0x%x", c->options));
	lab_json_set(o, "verdict", lab_json_str(mx_verdict_name(c->verdict)));
	lab_json_set(o, "reason", lab_json_str(c->reason ? c->reason : ""));
	lab_json_set(o, "line", lab_json_str(c->line ? c->line : ""));
	json_object_set_new(o, "line_no", json_integer(c->line_no));
	lab_json_set(o, "result", lab_json_str(c->result));
	lab_json_set(o, "board", lab_json_str(c->board));
	json_object_set_new(o, "seconds", ms_secs(c->seconds));
	json_object_set_new(o, "group", json_integer(group));
	return o;
}

static void print_json(const struct mx_runner *r, const struct mx_cell *cells,
		       int n, char *const *archs, int narchs,
		       const uint32_t *opts, int nopts, const int *group,
		       int ngroups, const int *count, double elapsed)
{
	json_t *doc = json_object(), *a;
	int i, g;

	lab_json_set(doc, "lab", lab_json_str(r->lab->name));
	lab_json_set(doc, "variant", lab_json_str(r->base));
	a = json_array();
	for (i = 0; i < narchs; i++)
		json_array_append_new(a, lab_json_str(archs[i]));
	json_object_set_new(doc, "archs", a);
	a = json_array();
	for (i = 0; i < nopts; i++)
		json_array_append_new(a, json_sprintf("0x%x", opts[i]));
	json_object_set_new(doc, "options", a);
	json_object_set_new(doc, "jobs", json_integer(r->jobs));
	json_object_set_new(doc, "elapsed", ms_secs(elapsed));
	json_object_set_new(doc, "pass", json_integer(count[MX_PASS]));
	json_object_set_new(doc, "fail", json_integer(count[MX_FAIL]));
	json_object_set_new(doc, "infra", json_integer(count[MX_INFRA]));
	json_object_set_new(doc, "skip", json_integer(count[MX_SKIP]));
	json_object_set_new(doc, "not_run", json_integer(count[MX_PENDING]));
	a = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(a, cell_json(&cells[i], group[i]));
	json_object_set_new(doc, "cells", a);
	a = json_array();
	for (g = 0; g < ngroups; g++) {
		json_t *grp = json_object(), *members = json_array();

		for (i = 0; i < n && group[i] != g; i++)
			;
		lab_json_set(grp, "line", lab_json_str(mx_failure_key(&cells[i])));
		for (i = 0; i < n; i++)
			if (group[i] == g)
				json_array_append_new(members, json_integer(i));
		json_object_set_new(grp, "cells", members);
		json_array_append_new(a, grp);
	}
	json_object_set_new(doc, "groups", a);
	lab_json_print(stdout, doc);
	json_decref(doc);
}

static void print_text(const struct mx_runner *r, const struct mx_cell *cells,
		       int n, char *const *archs, int narchs,
		       const uint32_t *opts, int nopts, const int *group,
		       int ngroups, const int *count, double elapsed)
{
	struct strbuf t = STRBUF_INIT;
	int i, g, aw = 4;

	for (i = 0; i < narchs; i++)
		if ((int)strlen(archs[i]) > aw)
			aw = (int)strlen(archs[i]);
	printf("\nmatrix %s: %s, %d arch%s x %d option value%s\n", r->lab->name,
	       r->base, narchs, narchs == 1 ? "" : "s", nopts,
	       nopts == 1 ? "" : "s");
	mx_render_table(cells, archs, narchs, opts, nopts, &t);
	fputs(strbuf_str(&t), stdout);
	strbuf_release(&t);
	if (ngroups)
		printf("\nfailures by first failing line:\n");
	for (g = 0; g < ngroups; g++) {
		int k = 0;

		for (i = 0; i < n; i++)
			k += group[i] == g;
		for (i = 0; i < n && group[i] != g; i++)
			;
		printf("  %s  (%d cell%s)\n", mx_failure_key(&cells[i]), k,
		       k == 1 ? "" : "s");
		for (; i < n; i++) {
			const struct mx_cell *c = &cells[i];

			if (group[i] != g)
				continue;
			printf("    %-*s 0x%-8x %s", aw, c->arch, c->options,
			       c->result ? c->result : "-");
			if (c->line_no)
				printf(" line %d", c->line_no);
			if (c->board)
				printf(" (on %s)", c->board);
			printf("\n");
		}
	}
	if (count[MX_INFRA]) {
		printf("\nlab errors (not failures of the machine under test):\n");
		for (i = 0; i < n; i++)
			if (cells[i].verdict == MX_INFRA)
				printf("    %-*s 0x%-8x %s\n", aw, cells[i].arch,
				       cells[i].options,
				       cells[i].reason ? cells[i].reason : "?");
	}
	if (count[MX_SKIP]) {
		printf("\nnot run (they break the variant's opt_requires):\n");
		for (i = 0; i < n; i++)
			if (cells[i].verdict == MX_SKIP)
				printf("    %-*s 0x%-8x %s\n", aw, cells[i].arch,
				       cells[i].options, cells[i].reason);
	}
	printf("\n%d cells: %d pass, %d FAIL, %d infra", n, count[MX_PASS],
	       count[MX_FAIL], count[MX_INFRA]);
	if (count[MX_SKIP])
		printf(", %d skipped", count[MX_SKIP]);
	if (count[MX_PENDING])
		printf(", %d not run", count[MX_PENDING]);
	printf(" in %.1f s (%d run%s at once)\n", elapsed, r->jobs,
	       r->jobs == 1 ? "" : "s");
}

int cmd_matrix(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct matrix_args a = { 0 };
	struct mx_runner r = { .verb = "matrix" };
	struct mx_deps deps = { 0 };
	struct lab *lab = NULL;
	struct mx_cell *cells = NULL, **todo = NULL;
	char **archs = NULL, **before = NULL;
	uint32_t *opts = NULL;
	int narchs = 0, nopts = 0, nbefore = 0, n = 0, i, rc, ret = 0;
	int count[MX_SKIP + 1] = { 0 }, *group = NULL, ngroups;
	int64_t t0 = lab_mono_ns();

	rc = parse(argc, argv, &a);
	if (rc)
		return rc;
	if (a.opts && mx_opt_list_parse(a.opts, &opts, &nopts) < 0)
		return cmd_usage_error("matrix", "%s", lab_errmsg(-LAB_EINVAL));
	if (a.archs && mx_arch_list_parse(a.archs, &archs, &narchs) < 0) {
		free(opts);
		return cmd_usage_error("matrix", "%s", lab_errmsg(-LAB_EINVAL));
	}
	rc = cmd_open_lab(ctx, a.lab, &lab);
	if (rc)
		goto out;
	before = split_list(a.before, &nbefore);
	r.jobs = a.jobs;
	r.force_build = a.force;
	r.results_dir = a.results_dir;
	r.timeout_ms = a.timeout_ms;
	r.progress = lab_log_get_level() >= LAB_LOG_INFO;
	r.build_progress = !ctx->json && r.progress;
	ret = mx_runner_init(&r, lab, a.variant, (const char *const *)before,
			     nbefore);
	if (!ret)
		ret = mx_lab_deps(lab, mx_runner_base(&r), &deps);
	if (ret)
		goto fail;
	if (!archs) {
		archs = xcalloc(2, sizeof(*archs));
		archs[0] = xstrdup(mx_base_arch(mx_runner_base(&r)));
		narchs = 1;
	}
	if (!opts) {
		opts = xcalloc(1, sizeof(*opts));
		opts[0] = mx_base_options(mx_runner_base(&r));
		nopts = 1;
	}
	n = narchs * nopts;
	cells = xcalloc((size_t)n, sizeof(*cells));
	todo = xcalloc((size_t)n, sizeof(*todo));
	for (i = 0; i < n && !ret; i++) {
		int bad = mx_deps_check(&deps, opts[i % nopts]);

		ret = mx_cell_init(&r, &cells[i], archs[i / nopts], opts[i % nopts]);
		todo[i] = &cells[i];
		if (!ret && bad >= 0) {
			struct strbuf why = STRBUF_INIT;

			mx_dep_describe(&deps, bad, &why);
			cells[i].verdict = MX_SKIP;
			cells[i].reason = strbuf_detach(&why, NULL);
		}
	}
	if (ret)
		goto fail;
	/* mx_run_cells counts those it runs. */
	r.cells_total = n;
	for (i = 0; i < n; i++)
		ret += cells[i].verdict == MX_PENDING;
	lab_info("matrix %s: %d cells of %s, %d at once", lab->name, ret,
		 a.variant, r.jobs);
	ret = 0;
	ret = mx_run_cells(&r, todo, n);
	if (ret && ret != -LAB_EINTR)
		goto fail;
	if (ret)
		cmd_fail(ret);	/* say so, then show what ran */
	group = xcalloc((size_t)n, sizeof(*group));
	ngroups = mx_group_failures(cells, n, group);
	for (i = 0; i < n; i++)
		count[cells[i].verdict == MX_UNRESOLVED ? MX_INFRA : cells[i].verdict]++;
	if (ctx->json)
		print_json(&r, cells, n, archs, narchs, opts, nopts, group, ngroups,
			   count, (lab_mono_ns() - t0) / 1e9);
	else
		print_text(&r, cells, n, archs, narchs, opts, nopts, group,
			   ngroups, count, (lab_mono_ns() - t0) / 1e9);
	rc = count[MX_FAIL] ? LAB_EXIT_FAIL :
	     count[MX_INFRA] || ret ? LAB_EXIT_INFRA : LAB_EXIT_PASS;
	if (a.junit || a.html) {
		ret = write_reports(&r, cells, n, a.junit, a.html);
		if (ret) {
			cmd_fail(ret);
			if (rc == LAB_EXIT_PASS)
				rc = LAB_EXIT_INFRA;
		}
	}
	goto out;
fail:
	rc = cmd_fail(ret);
out:
	for (i = 0; i < n; i++)
		mx_cell_release(&cells[i]);
	free(cells);
	free(todo);
	free(group);
	mx_deps_release(&deps);
	mx_runner_release(&r);
	mx_list_free(archs, narchs);
	mx_list_free(before, nbefore);
	free(opts);
	lab_free(lab);
	return rc;
}
