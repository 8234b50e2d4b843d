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
#include "labctl/labctl.h"
#include "labctl/progress.h"
#include "labctl/run.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

struct run_args {
	struct run_opts opts;
	char **names;
	int nnames;
	char **scan;		/* argv for getopt to reorder; argv stays as typed */
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
			a->opts.junit_path = val;
			i++;
		} else if (allow_boot_opts && !strcmp(arg, "--tap")) {
			a->opts.tap = true;
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

/* The option getopt_long stopped at, as the user wrote it. */
static const char *bad_option(char **argv, char *buf, size_t size)
{
	if (optopt > 0 && optopt < 128 && optopt != '?') {
		snprintf(buf, size, "-%c", optopt);
		return buf;
	}
	return argv[optind - 1];
}

/*
 * Options of run and boot, as getopt_long reads them (--opt=value,
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
	char opt[64];
	int c;

	a->names = xcalloc((size_t)argc + 1, sizeof(*a->names));
	a->opts.results_dir = "results";
	a->opts.argc = argc;
	a->opts.argv = argv;
	a->scan = xcalloc((size_t)argc + 1, sizeof(*a->scan));
	memcpy(a->scan, argv, (size_t)argc * sizeof(*argv));
	argv = a->scan;
	optind = 0;	/* a fresh scan (GNU: reinitialise) */
	opterr = 0;
	while ((c = getopt_long(argc, argv, build ? ":j:" : ":", longopts,
				NULL)) != -1) {
		int64_t n;

		switch (c) {
		case 'j':
			if (lab_parse_int(optarg, &n) < 0 || n < 1 || n > 1024)
				return cmd_usage_error(verb, "-j takes a number from 1 to 1024");
			a->opts.jobs = (int)n;
			break;
		case OPT_FORCE:
			a->opts.force_build = true;
			break;
		case OPT_TIMEOUT:
			if (lab_parse_duration_ms(optarg, &a->opts.timeout_ms) < 0 ||
			    a->opts.timeout_ms <= 0)
				return cmd_usage_error(verb,
						       "--timeout takes a duration such as 90s or 5m");
			break;
		case OPT_RESULTS:
			if (!*optarg)
				return cmd_usage_error(verb, "--results needs a directory");
			a->opts.results_dir = optarg;
			break;
		case OPT_JUNIT:
			if (!*optarg)
				return cmd_usage_error(verb, "--junit needs a file (- for standard output)");
			a->opts.junit_path = optarg;
			break;
		case OPT_TAP:
			a->opts.tap = true;
			break;
		case OPT_KEEP_ON:
			a->opts.keep_on = true;
			break;
		case OPT_STEAL:
			a->opts.steal = true;
			break;
		case ':':
			return cmd_usage_error(verb, "%s needs a value",
					       bad_option(argv, opt, sizeof(opt)));
		default:
			return cmd_usage_error(verb, "unknown option '%s'",
					       bad_option(argv, opt, sizeof(opt)));
		}
	}
	while (optind < argc)
		a->names[a->nnames++] = argv[optind++];
	return 0;
}

/* No names: the lab's grub.chain, else every variant in file order. */
static const char **default_chain(const struct lab *lab, int *n, char **keep)
{
	const char *chain = lab_get(lab, "grub", "chain");
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
	struct progress *view = NULL;
	const char **chain;
	struct lab *lab = NULL;
	char **names;
	char *keep = NULL;
	int rc, n;

	rc = parse_run(verb, argc, argv, &a, build);
	if (rc)
		goto out;
	if (a.opts.tap + ctx->json +
	    (a.opts.junit_path && !strcmp(a.opts.junit_path, "-")) > 1) {
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
	    !lab_find_variant(lab, chain[n - 1]))
		n--;
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
		rc = lab_run_chain(lab, chain, n, &a.opts, ctx);
		progress_free(view);
	}
	if (chain != (const char **)names)
		free(chain);
	free(keep);
out:
	lab_free(lab);
	free(a.names);
	free(a.scan);
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
	rc = lab_deploy(lab, list, n, &a.opts, ctx);
	if (list != (const char **)names)
		free(list);
	free(keep);
out:
	lab_free(lab);
	free(a.names);
	return rc;
}
