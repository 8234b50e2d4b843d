// SPDX-License-Identifier: MIT
/*
 * labctl show [LAB]: the lab as labctl understands it, defaults filled in.
 * Loading checks every value (lab_load); show also reads the rule sets and
 * rule files the lab names, so whatever a run would refuse for the lab file
 * is refused here, with its file and line.
 */
#include <getopt.h>
#include <stdio.h>

#include "labctl/labconf.h"
#include "labctl/labctl.h"
#include "labctl/rules.h"
#include "lib/strbuf.h"

int cmd_show(int argc, char **argv, struct cmd_ctx *ctx)
{
	static const struct option opts[] = { { NULL, 0, NULL, 0 } };
	struct strbuf out = STRBUF_INIT;
	const char *lab_name = NULL;
	struct cmd_getopt g;
	struct lab *lab;
	int c, rc;

	cmd_getopt_init(&g, "show", argc, argv, opts);
	while ((c = cmd_getopt_next(&g)) != -1) {
		if (c != CMD_OPERAND)
			return LAB_EXIT_USAGE;
		if (lab_name)
			return cmd_usage_error("show", "too many arguments");
		lab_name = g.arg;
	}
	rc = cmd_open_lab(ctx, lab_name, &lab);
	if (rc)
		return rc;
	rc = lab_rules_check(lab);
	if (rc) {
		lab_free(lab);
		return cmd_fail(rc);
	}
	if (ctx->json)
		lab_show_json(lab, &out);
	else
		lab_show_text(lab, &out);
	fputs(strbuf_str(&out), stdout);
	strbuf_release(&out);
	lab_free(lab);
	return 0;
}
