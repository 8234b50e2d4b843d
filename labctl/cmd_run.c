// SPDX-License-Identifier: MIT
/*
 * labctl run | boot | deploy: the main loop of the tool.
 *
 *   run    build (cached) -> deploy (changed files) -> chain -> console ->
 *          power -> watch -> verdict -> results/<ts>.json -> power off
 *   boot   the same without build and deploy
 *   deploy build (cached) and copy, nothing else
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "labctl/labconf.h"
#include "labctl/guesttest.h"
#include "labctl/labctl.h"
#include "labctl/progress.h"
#include "labctl/run.h"
#include "lib/clock.h"
#include "lib/color.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

struct run_args {
	struct run_opts opts;
	const char *junit_path;	/* --junit FILE: the result as JUnit XML */
	bool tap;		/* --tap: TAP on stdout instead of the summary */
	char **names;
	int nnames;
};

/* Options of run/boot/deploy; positionals are collected in order. */
static int parse(const char *verb, int argc, char **argv, struct run_args *a,
		 bool allow_build_opts, bool allow_boot_opts)
{
	bool only_names = false;
	int i;

	a->names = xcalloc((size_t)argc + 1, sizeof(*a->names));
	a->opts.results_dir = "results";
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (only_names || arg[0] != '-') {
			a->names[a->nnames++] = argv[i];
		} else if (!strcmp(arg, "--")) {
			only_names = true;
		} else if (allow_build_opts && !strcmp(arg, "-j")) {
			int64_t n;

			if (!val || lab_parse_int(val, &n) < 0 || n < 1 || n > 1024)
				return cmd_usage_error(verb, "-j takes a number from 1 to 1024");
			a->opts.jobs = (int)n;
			i++;
		} else if (allow_build_opts && !strcmp(arg, "--force") &&
			   strcmp(verb, "deploy")) {
			a->opts.force_build = true;
		} else if (allow_boot_opts && !strcmp(arg, "--timeout")) {
			if (!val || lab_parse_duration_ms(val, &a->opts.timeout_ms) < 0 ||
			    a->opts.timeout_ms <= 0)
				return cmd_usage_error(verb,
						       "--timeout takes a duration such as 90s or 5m");
			i++;
		} else if (allow_boot_opts && !strcmp(arg, "--results")) {
			if (!val || !*val)
				return cmd_usage_error(verb, "--results needs a directory");
			a->opts.results_dir = val;
			i++;
		} else if (allow_boot_opts && !strcmp(arg, "--junit")) {
			if (!val || !*val)
				return cmd_usage_error(verb, "--junit needs a file (- for standard output)");
			a->junit_path = val;
			i++;
		} else if (allow_boot_opts && !strcmp(arg, "--tap")) {
			a->tap = true;
		} else if (allow_boot_opts && !strcmp(arg, "--keep-on")) {
			a->opts.keep_on = true;
		} else if (allow_boot_opts && !strcmp(arg, "--steal")) {
			a->opts.steal = true;
		} else {
			return cmd_usage_error(verb, "unknown option '%s'", arg);
		}
	}
	a->opts.argc = argc;
	a->opts.argv = argv;
	return 0;
}

/*
 * Options of run and boot, through cmd_getopt (--opt=value,
 * --opt value, -jN, options among the names, -- ends them); the names
 * are collected in order.
 */
static int parse_run(const char *verb, int argc, char **argv,
		     struct run_args *a, bool build)
{
	enum { OPT_FORCE = 256, OPT_TIMEOUT, OPT_RESULTS, OPT_JUNIT, OPT_TAP,
	       OPT_KEEP_ON, OPT_STEAL };
	static const struct option run_long[] = {
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "results", required_argument, NULL, OPT_RESULTS },
		{ "junit", required_argument, NULL, OPT_JUNIT },
		{ "tap", no_argument, NULL, OPT_TAP },
		{ "keep-on", no_argument, NULL, OPT_KEEP_ON },
		{ "steal", no_argument, NULL, OPT_STEAL },
		{ NULL, 0, NULL, 0 },
	};
	/* boot builds nothing: no -j, no --force. */
	const struct option *longopts = build ? run_long : run_long + 1;
	struct cmd_getopt g;
	int c;

	a->names = xcalloc((size_t)argc + 1, sizeof(*a->names));
	a->opts.results_dir = "results";
	a->opts.argc = argc;
	a->opts.argv = argv;
	cmd_getopt_init(&g, verb, argc, argv, longopts);
	if (build)
		cmd_getopt_short(&g, "j:");
	while ((c = cmd_getopt_next(&g)) != -1) {
		int64_t n;

		switch (c) {
		case CMD_OPERAND:
			a->names[a->nnames++] = g.arg;
			break;
		case 'j':
			if (lab_parse_int(g.arg, &n) < 0 || n < 1 || n > 1024)
				return cmd_usage_error(verb, "-j takes a number from 1 to 1024");
			a->opts.jobs = (int)n;
			break;
		case OPT_FORCE:
			a->opts.force_build = true;
			break;
		case OPT_TIMEOUT:
			if (lab_parse_duration_ms(g.arg, &a->opts.timeout_ms) < 0 ||
			    a->opts.timeout_ms <= 0)
				return cmd_usage_error(verb,
						       "--timeout takes a duration such as 90s or 5m");
			break;
		case OPT_RESULTS:
			if (!*g.arg)
				return cmd_usage_error(verb, "--results needs a directory");
			a->opts.results_dir = g.arg;
			break;
		case OPT_JUNIT:
			if (!*g.arg)
				return cmd_usage_error(verb, "--junit needs a file (- for standard output)");
			a->junit_path = g.arg;
			break;
		case OPT_TAP:
			a->tap = true;
			break;
		case OPT_KEEP_ON:
			a->opts.keep_on = true;
			break;
		case OPT_STEAL:
			a->opts.steal = true;
			break;
		default:
			return LAB_EXIT_USAGE;
		}
	}
	return 0;
}

/* ------------------------------------------------------------ rendering */

/*
 * The summary of a run: its stages with their times, the verdict and the
 * line that decided, where the log is.
 */
void run_print_summary(const struct run_result *r, FILE *f)
{
	const struct result *rec = &r->rec;
	const char *v = r->record_err ? r->boot_verdict : rec->verdict;
	const char *word = !strcmp(v, "pass") ? "PASS" :
			   !strcmp(v, "fail") ? "FAIL" : "ERROR";
	int i;

	fprintf(f, "\n%s %s on %s:", r->name, rec->lab, rec->board);
	for (i = 0; i < rec->nstages; i++)
		fprintf(f, "%s %s", i ? " ->" : "", rec->stages[i].variant);
	fprintf(f, "\n");
	for (i = 0; i < rec->nstages; i++) {
		const struct result_stage *s = &rec->stages[i];

		if (!s->reached)
			fprintf(f, "  stage %d %-14s not reached\n", i + 1,
				s->variant);
		else
			fprintf(f, "  stage %d %-14s at %8.3f s, took %7.3f s (line %d)\n",
				i + 1, s->variant, s->start, s->end - s->start,
				s->line);
	}
	if (r->record_err) {
		/* Never a PASS without its record. */
		fprintf(f, "%sERROR%s: the record of this run could not be written: %s\n",
			color_on(f, COLOR_INFRA), color_off(f), r->record_err);
		fprintf(f, "  the boot itself: %s: %s\n", word, r->boot_reason);
		if (r->kept)
			fprintf(f, "log: %s (incomplete), no details\n", r->kept);
		else
			fprintf(f, "log: none kept\n");
		return;
	}
	fprintf(f, "%s%s%s: %s\n",
		color_on(f, !strcmp(v, "pass") ? COLOR_PASS :
			    !strcmp(v, "fail") ? COLOR_FAIL : COLOR_INFRA),
		word, color_off(f), rec->reason ? rec->reason : "");
	if (rec->reason_line && *rec->reason_line)
		fprintf(f, "  line %d: %s\n", rec->reason_line_no, rec->reason_line);
	guesttest_summary(f, rec);
	fprintf(f, "log: %s (%llu bytes), details: %s.json\n", rec->log_path,
		(unsigned long long)r->log_bytes, rec->log_path);
}

/* The run as asked: --json, the summary or TAP, and --junit; exit code. */
static int render_run(const struct run_result *r, const struct run_args *a,
		      const struct cmd_ctx *ctx)
{
	int exit_code = run_result_exit(r);

	if (ctx->json) {
		json_t *doc = result_to_json(&r->rec);

		lab_json_print(stdout, doc);
		json_decref(doc);
	} else if (!a->tap) {
		run_print_summary(r, stdout);
	}
	/* --junit/--tap: from the files just written, as `labctl report` would. */
	if (!r->record_err && (a->junit_path || a->tap) &&
	    report_run_formats(r->rec.log_path, a->junit_path, a->tap,
			       stdout) < 0) {
		lab_warn("%s", lab_errmsg(-LAB_EIO));
		if (exit_code == LAB_EXIT_PASS)
			exit_code = LAB_EXIT_INFRA;
	}
	return exit_code;
}

/* deploy --json: what the message on stderr says, on success and on
 * failure (with the error).  A virtual board's disk is local: no bytes
 * over a wire, no round trips. */
static void print_deploy_json(const struct lab *lab,
			      const struct deploy_result *d, int ret)
{
	json_t *doc = json_object();

	lab_json_set(doc, "lab", lab_json_str(lab->name));
	lab_json_set(doc, "board", d->board ? lab_json_str(d->board) : NULL);
	if (d->disk)
		lab_json_set(doc, "disk", lab_json_str(d->disk));
	lab_json_set(doc, "result", json_string(ret ? "error" : "ok"));
	json_object_set_new(doc, "deployed", json_integer(d->variants));
	json_object_set_new(doc, "files_sent", json_integer(d->st.files_sent));
	json_object_set_new(doc, "files_skipped",
			    json_integer(d->st.files_skipped));
	lab_json_set(doc, "bytes_sent",
		     d->remote ? json_integer((json_int_t)d->st.bytes_sent) : NULL);
	lab_json_set(doc, "round_trips",
		     d->remote ? json_integer((json_int_t)d->st.round_trips) : NULL);
	json_object_set_new(doc, "elapsed_ms", json_integer(d->st.elapsed_ms));
	lab_json_set(doc, "error", ret ? lab_json_str(lab_errmsg(ret)) : NULL);
	lab_json_print(stdout, doc);
	json_decref(doc);
}

/* No names: the lab's grub.chain, else every variant in file order. */
static const char **default_chain(const struct lab *lab, int *n, char **keep)
{
	const char *chain = lab->grub.chain;
	const char **names;
	int i;

	*keep = NULL;
	if (chain) {
		char *save = NULL, *w;

		*keep = xstrdup(chain);
		names = xcalloc(strlen(chain) + 1, sizeof(*names));
		*n = 0;
		for (w = strtok_r(*keep, " ,\t", &save); w; w = strtok_r(NULL, " ,\t", &save))
			names[(*n)++] = w;
		return names;
	}
	names = xcalloc((size_t)lab->nvariants + 1, sizeof(*names));
	for (i = 0; i < lab->nvariants; i++)
		names[i] = lab->variants[i].name;
	*n = lab->nvariants;
	return names;
}

static int run_or_boot(const char *verb, int argc, char **argv,
		       struct cmd_ctx *ctx, bool build)
{
	struct run_args a = { 0 };
	struct run_result r;
	struct progress *view = NULL;
	const char **chain;
	struct lab *lab = NULL;
	char **names;
	char *keep = NULL;
	int rc, n, ret;

	rc = parse_run(verb, argc, argv, &a, build);
	if (rc)
		goto out;
	if (a.tap + ctx->json +
	    (a.junit_path && !strcmp(a.junit_path, "-")) > 1) {
		rc = cmd_usage_error(verb, "only one of --tap, --json and --junit - can use standard output");
		goto out;
	}
	names = a.names;
	n = a.nnames;
	rc = cmd_open_lab_for_names(ctx, &n, &names, &lab);
	if (rc)
		goto out;
	if (n == 0 && !build) {
		rc = cmd_usage_error(verb, "name the chain to boot, e.g. build64 build32 build32lhv");
		goto out;
	}
	chain = n ? (const char **)names : default_chain(lab, &n, &keep);
	/* A chain may end in the board's default entry (its OS), as with
	 * `labctl chain LAB set ... default`: GRUB boots it once the chain
	 * is used up, so it is no stage of its own (XMHF-XMHF-Debian). */
	if (n > 1 && (!strcmp(chain[n - 1], "default") || !strcmp(chain[n - 1], "0")) &&
	    !lab_find_variant(lab, chain[n - 1])) {
		n--;
		a.opts.ends_in_os = true;
	}
	if (n == 0) {
		rc = cmd_fail(lab_err(LAB_ECONFIG, "lab %s has no variants to run (%s)",
				      lab->name, lab->path));
	} else {
		a.opts.build = build;
		a.opts.deploy = build;
		/* The live view on stderr; -v adds the console itself. */
		if (!ctx->json && lab_log_get_level() >= LAB_LOG_INFO) {
			view = progress_new(stderr, isatty(2),
					    lab_log_get_level() > LAB_LOG_INFO);
			a.opts.view = progress_view(view);
		}
		a.opts.quiet = ctx->json;
		ret = lab_run_chain(lab, chain, n, &a.opts, &r);
		progress_free(view);
		rc = ret ? cmd_fail(ret) : render_run(&r, &a, ctx);
		run_result_release(&r);
	}
	if (chain != (const char **)names)
		free(chain);
	free(keep);
out:
	lab_free(lab);
	free(a.names);
	return rc;
}

int cmd_run(int argc, char **argv, struct cmd_ctx *ctx)
{
	return run_or_boot("run", argc, argv, ctx, true);
}

int cmd_boot(int argc, char **argv, struct cmd_ctx *ctx)
{
	return run_or_boot("boot", argc, argv, ctx, false);
}

int cmd_deploy(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct run_args a = { 0 };
	struct lab *lab = NULL;
	const char **list;
	char *keep = NULL;
	char **names;
	int rc, n;

	rc = parse("deploy", argc, argv, &a, true, false);
	if (rc)
		goto out;
	names = a.names;
	n = a.nnames;
	rc = cmd_open_lab_for_names(ctx, &n, &names, &lab);
	if (rc)
		goto out;
	list = n ? (const char **)names : default_chain(lab, &n, &keep);
	{
		struct deploy_result d;
		int ret;

		a.opts.quiet = ctx->json;
		ret = lab_deploy(lab, list, n, &a.opts, &d);
		if (ctx->json)
			print_deploy_json(lab, &d, ret);
		rc = ret ? cmd_fail(ret) : 0;
		deploy_result_release(&d);
	}
	if (list != (const char **)names)
		free(list);
	free(keep);
out:
	lab_free(lab);
	free(a.names);
	return rc;
}
