// SPDX-License-Identifier: MIT
/*
 * labctl diff A B [--filter STRING] [-I REGEX] [--stage N] [-U N]
 *                 [--results DIR] [--color[=WHEN]] [--json]
 *
 * The notes' diff <(grep -F STRING results/A) <(grep -F STRING results/B)
 * in one command, aligned per stage (report/diff.h).  -I REGEX (basic
 * regex, repeatable, as diff -I) leaves out the lines it matches on both
 * sides: the stand-in's "tsc: N kHz" varies from boot to boot.  Exit 0
 * when the compared lines are the same, 1 when they differ, 2 on any
 * error (as diff(1): 1 is taken).
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
#include "report/diff.h"
#include "report/grep.h"
#include "report/result.h"

static int parse_count(const char *v, long lo, long hi, long *out)
{
	char *end;

	errno = 0;
	*out = v ? strtol(v, &end, 10) : -1;
	return v && !errno && end != v && !*end && *out >= lo && *out <= hi ?
		0 : -1;
}

enum { OPT_FILTER = CMD_OPT_LONG, OPT_STAGE, OPT_RESULTS };

static const struct option options[] = {
	{ "filter", required_argument, NULL, OPT_FILTER },
	{ "ignore-matching-lines", required_argument, NULL, 'I' },
	{ "stage", required_argument, NULL, OPT_STAGE },
	{ "unified", required_argument, NULL, 'U' },
	{ "results", required_argument, NULL, OPT_RESULTS },
	{ NULL, 0, NULL, 0 }
};

static void free_ignores(struct report_matcher **m, int n)
{
	while (n > 0)
		report_matcher_free(m[--n]);
	free(m);
}

int cmd_diff(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct report_diff_opts o = { .stage = -1, .context = 3,
				      .json = ctx->json };
	const char *dir = "results", *what[2] = { NULL, NULL };
	struct result *r[2] = { NULL, NULL };
	struct report_matcher **ignore = NULL;
	struct strbuf out = STRBUF_INIT;
	struct cmd_getopt g;
	int i, c, n = 0, nignore = 0, ret = 0;
	long l;

	cmd_getopt_init(&g, "diff", argc, argv, options);
	while (!ret && (c = cmd_getopt_next(&g)) != -1) {
		switch (c) {
		case CMD_OPERAND:
			if (n == 2)
				ret = cmd_usage_error("diff",
						      "compares two results, not more ('%s')",
						      g.arg);
			else
				what[n++] = g.arg;
			break;
		case OPT_FILTER:
			o.filter = g.arg;
			break;
		case 'I':
			ignore = xrealloc(ignore, (size_t)(nignore + 1) *
					  sizeof(*ignore));
			ret = report_matcher_new(g.arg, REPORT_MATCH_BASIC, false,
						 &ignore[nignore]);
			if (ret) {
				ret = cmd_usage_error("diff", "-I '%s': %s", g.arg,
						      lab_errmsg(ret));
				lab_err_clear();
			} else {
				nignore++;
			}
			break;
		case OPT_STAGE:
			ret = cmd_parse_stage("diff", g.arg, &o.stage);
			break;
		case 'U':
			if (parse_count(g.arg, 0, 100000, &l))
				ret = cmd_usage_error("diff",
						      "-U wants a number of context lines, not '%s'",
						      g.arg);
			else
				o.context = (int)l;
			break;
		case OPT_RESULTS:
			if (!*g.arg)
				ret = cmd_usage_error("diff", "--results needs a directory");
			dir = g.arg;
			break;
		default:
			ret = LAB_EXIT_USAGE;
			break;
		}
	}
	if (ret)
		goto out;
	if (n != 2) {
		ret = cmd_usage_error("diff", "which two results? (A and B)");
		goto out;
	}
	o.ignore = ignore;
	o.nignore = nignore;
	o.color = !ctx->json && color_enabled(stdout);
	for (i = 0; i < 2; i++) {
		ret = result_load(what[i], dir, RESULT_LOG, &r[i]);
		if (ret) {
			cmd_fail(ret);
			ret = LAB_EXIT_USAGE;	/* diff(1)'s "trouble" */
			goto out;
		}
	}
	/* A path is shown as given, a name resolved ("latest" -> its name). */
	o.label_a = strchr(what[0], '/') ? what[0] : r[0]->name;
	o.label_b = strchr(what[1], '/') ? what[1] : r[1]->name;
	ret = report_diff(r[0], r[1], &o, &out);
	if (ret < 0) {
		cmd_fail(ret);
		ret = LAB_EXIT_USAGE;
		goto out;
	}
	if (out.len && fwrite(out.buf, 1, out.len, stdout) != out.len) {
		cmd_fail(lab_err_errno(errno, "error writing standard output"));
		ret = LAB_EXIT_USAGE;
	}
out:
	strbuf_release(&out);
	result_free(r[0]);
	result_free(r[1]);
	free_ignores(ignore, nignore);
	return ret;
}
