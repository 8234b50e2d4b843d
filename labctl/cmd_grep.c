// SPDX-License-Identifier: MIT
/*
 * labctl grep PATTERN [RESULT...] [-F|-E|-G] [-i] [--stage N]
 *                     [--results DIR] [--color[=WHEN]] [--json]
 *
 * grep -H -n over results' console logs, with the stage of every line:
 * "<result>:<line no>: [stage N] <line>".  Without RESULTs, the last 20
 * results of the index.  The pattern is a basic regex as grep's (the
 * notes' 'FIXED_MTRR\[0\]' works unchanged), -E extended, -F fixed.
 * Exit 0 when a line matched, 1 when none did, 2 on an error (as grep).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labctl/labctl.h"
#include "lib/color.h"
#include "lib/err.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "report/grep.h"
#include "report/index.h"
#include "report/result.h"

#define DEFAULT_COUNT 20

static int recent(const char *dir, char ***names, int *n)
{
	struct report_query q = { .limit = DEFAULT_COUNT };
	struct report_index *ix = NULL;
	struct report_row *rows = NULL;
	size_t nrows = 0, i;
	int ret;

	ret = report_index_open(dir, &ix);
	if (!ret)
		ret = report_index_update(ix, false, NULL);
	if (!ret)
		ret = report_index_query(ix, &q, &rows, &nrows);
	report_index_close(ix);
	if (ret)
		return ret;
	if (!nrows)
		return lab_err(LAB_ENOENT,
			       "no results in %s/ to search (name them, or --results DIR)",
			       dir);
	*names = xcalloc(nrows + 1, sizeof(**names));
	for (i = 0; i < nrows; i++)
		(*names)[i] = xasprintf("%s/%s", dir, rows[i].name);
	*n = (int)nrows;
	report_rows_free(rows, nrows);
	return 0;
}

enum { OPT_STAGE = CMD_OPT_LONG, OPT_RESULTS };

static const struct option options[] = {
	{ "fixed-strings", no_argument, NULL, 'F' },
	{ "extended-regexp", no_argument, NULL, 'E' },
	{ "basic-regexp", no_argument, NULL, 'G' },
	{ "ignore-case", no_argument, NULL, 'i' },
	{ "stage", required_argument, NULL, OPT_STAGE },
	{ "results", required_argument, NULL, OPT_RESULTS },
	{ NULL, 0, NULL, 0 }
};

int cmd_grep(int argc, char **argv, struct cmd_ctx *ctx)
{
	enum report_match_mode mode = REPORT_MATCH_BASIC;
	struct report_grep_opts go = { .stage = -1, .json = ctx->json };
	const char *dir = "results", *pattern = NULL;
	struct report_matcher *m = NULL;
	struct cmd_getopt g;
	char **names = NULL;
	int nnames = 0, i, c, ret = 0, errors = 0;
	bool icase = false, explicit;
	size_t total = 0;

	names = xcalloc((size_t)argc + 1, sizeof(*names));
	cmd_getopt_init(&g, "grep", argc, argv, options);
	while (!ret && (c = cmd_getopt_next(&g)) != -1) {
		switch (c) {
		case CMD_OPERAND:
			if (!pattern)
				pattern = g.arg;
			else
				names[nnames++] = xstrdup(g.arg);
			break;
		case 'F':
			mode = REPORT_MATCH_FIXED;
			break;
		case 'E':
			mode = REPORT_MATCH_EXTENDED;
			break;
		case 'G':
			mode = REPORT_MATCH_BASIC;
			break;
		case 'i':
			icase = true;
			break;
		case OPT_STAGE:
			ret = cmd_parse_stage("grep", g.arg, &go.stage);
			break;
		case OPT_RESULTS:
			if (!*g.arg)
				ret = cmd_usage_error("grep", "--results needs a directory");
			dir = g.arg;
			break;
		default:
			ret = LAB_EXIT_USAGE;
			break;
		}
	}
	if (ret)
		goto out_usage;
	go.color = !ctx->json && color_enabled(stdout);
	if (!pattern) {
		ret = cmd_usage_error("grep", "what to look for? (a PATTERN)");
		goto out_usage;
	}
	ret = report_matcher_new(pattern, mode, icase, &m);
	if (ret) {
		cmd_fail(ret);
		ret = LAB_EXIT_USAGE;
		goto out_usage;
	}
	explicit = nnames > 0;
	if (!explicit) {
		free(names);
		names = NULL;
		ret = recent(dir, &names, &nnames);
		if (ret) {
			cmd_fail(ret);
			ret = LAB_EXIT_USAGE;	/* grep's "trouble" */
			goto out_usage;
		}
	}
	for (i = 0; i < nnames; i++) {
		struct strbuf out = STRBUF_INIT;
		struct result *r = NULL;
		size_t matches = 0;

		ret = result_load(names[i], dir, RESULT_LOG, &r);
		if (!ret) {
			/* A path is printed as given, a name resolved. */
			go.label = explicit && strchr(names[i], '/') ? names[i] :
				r->name;
			ret = report_grep(r, m, &go, &out, &matches);
			if (ret == -LAB_ENOENT && !explicit) {
				/* --stage over recent results: skip the others */
				lab_err_clear();
				ret = 0;
			} else if (ret) {
				ret = cmd_fail_on(r->name, ret);
			}
		} else {
			ret = cmd_fail(ret);
		}
		if (ret)
			errors++;
		total += matches;
		if (out.len && fwrite(out.buf, 1, out.len, stdout) != out.len)
			errors++;
		strbuf_release(&out);
		result_free(r);
	}
	ret = errors ? LAB_EXIT_USAGE : total ? 0 : 1;
out_usage:
	report_matcher_free(m);
	for (i = 0; i < nnames; i++)
		free(names ? names[i] : NULL);
	free(names);
	return ret;
}
