// SPDX-License-Identifier: MIT
/*
 * labctl diff A B [--filter STRING] [--stage N] [-U N] [--results DIR]
 *                 [--json]
 *
 * The notes' diff <(grep -F STRING results/A) <(grep -F STRING results/B)
 * in one command, aligned per stage (report/diff.h).  Exit 0 when the
 * compared lines are the same, 1 when they differ, 2 on any error (as
 * diff(1): 1 is taken).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labctl/labctl.h"
#include "lib/err.h"
#include "lib/strbuf.h"
#include "report/diff.h"
#include "report/result.h"

static int parse_count(const char *v, long lo, long hi, long *out)
{
	char *end;

	errno = 0;
	*out = v ? strtol(v, &end, 10) : -1;
	return v && !errno && end != v && !*end && *out >= lo && *out <= hi ?
		0 : -1;
}

int cmd_diff(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct report_diff_opts o = { .stage = -1, .context = 3,
				      .json = ctx->json };
	const char *dir = "results", *what[2] = { NULL, NULL };
	struct result *r[2] = { NULL, NULL };
	struct strbuf out = STRBUF_INIT;
	bool dashdash = false;
	int i, n = 0, ret;
	long l;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;

		if (dashdash || a[0] != '-' || !a[1]) {
			if (n == 2)
				return cmd_usage_error("diff",
						       "compares two results, not more ('%s')",
						       a);
			what[n++] = a;
		} else if (!strcmp(a, "--")) {
			dashdash = true;
		} else if (cmd_opt_value(argc, argv, &i, "--filter", &v)) {
			if (!v)
				return cmd_usage_error("diff", "--filter needs a string");
			o.filter = v;
		} else if (cmd_opt_value(argc, argv, &i, "--stage", &v)) {
			ret = cmd_parse_stage("diff", v, &o.stage);
			if (ret)
				return ret;
		} else if (cmd_opt_value(argc, argv, &i, "-U", &v) ||
			   cmd_opt_value(argc, argv, &i, "--unified", &v)) {
			if (parse_count(v, 0, 100000, &l))
				return cmd_usage_error("diff",
						       "-U wants a number of context lines, not '%s'",
						       v ? v : "");
			o.context = (int)l;
		} else if (!strncmp(a, "-U", 2) && a[2]) {
			if (parse_count(a + 2, 0, 100000, &l))
				return cmd_usage_error("diff",
						       "-U wants a number of context lines, not '%s'",
						       a + 2);
			o.context = (int)l;
		} else if (cmd_opt_value(argc, argv, &i, "--results", &v)) {
			if (!v || !*v)
				return cmd_usage_error("diff", "--results needs a directory");
			dir = v;
		} else {
			return cmd_usage_error("diff", "unknown option '%s'", a);
		}
	}
	if (n != 2)
		return cmd_usage_error("diff", "which two results? (A and B)");
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
	return ret;
}
