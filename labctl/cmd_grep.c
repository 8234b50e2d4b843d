// SPDX-License-Identifier: MIT
/*
 * labctl grep PATTERN [RESULT...] [-F|-E|-G] [-i] [--stage N]
 *                     [--results DIR] [--json]
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

int cmd_grep(int argc, char **argv, struct cmd_ctx *ctx)
{
	enum report_match_mode mode = REPORT_MATCH_BASIC;
	struct report_grep_opts go = { .stage = -1, .json = ctx->json };
	const char *dir = "results", *pattern = NULL;
	struct report_matcher *m = NULL;
	char **names = NULL;
	int nnames = 0, i, ret, errors = 0;
	bool icase = false, dashdash = false, explicit;
	size_t total = 0;

	names = xcalloc((size_t)argc + 1, sizeof(*names));
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;

		if (dashdash || a[0] != '-' || !a[1]) {
			if (!pattern)
				pattern = a;
			else
				names[nnames++] = xstrdup(a);
		} else if (!strcmp(a, "--")) {
			dashdash = true;
		} else if (!strcmp(a, "-F") || !strcmp(a, "--fixed-strings")) {
			mode = REPORT_MATCH_FIXED;
		} else if (!strcmp(a, "-E") || !strcmp(a, "--extended-regexp")) {
			mode = REPORT_MATCH_EXTENDED;
		} else if (!strcmp(a, "-G") || !strcmp(a, "--basic-regexp")) {
			mode = REPORT_MATCH_BASIC;
		} else if (!strcmp(a, "-i") || !strcmp(a, "--ignore-case")) {
			icase = true;
		} else if (cmd_opt_value(argc, argv, &i, "--stage", &v)) {
			ret = cmd_parse_stage("grep", v, &go.stage);
			if (ret)
				goto out_usage;
		} else if (cmd_opt_value(argc, argv, &i, "--results", &v)) {
			if (!v || !*v) {
				ret = cmd_usage_error("grep", "--results needs a directory");
				goto out_usage;
			}
			dir = v;
		} else {
			ret = cmd_usage_error("grep", "unknown option '%s'", a);
			goto out_usage;
		}
	}
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
