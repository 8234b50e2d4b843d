// SPDX-License-Identifier: MIT
/* labctl show [LAB]: the lab as labctl understands it, defaults filled in. */
#include <stdio.h>

#include "labctl/labconf.h"
#include "labctl/labctl.h"
#include "lib/strbuf.h"

int cmd_show(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct strbuf out = STRBUF_INIT;
	struct lab *lab;
	int rc;

	if (argc > 2)
		return cmd_usage_error("show", "too many arguments");
	if (argc == 2 && argv[1][0] == '-' && argv[1][1])
		return cmd_usage_error("show", "unknown option '%s'", argv[1]);
	rc = cmd_open_lab(ctx, argc == 2 ? argv[1] : NULL, &lab);
	if (rc)
		return rc;
	if (ctx->json)
		lab_show_json(lab, &out);
	else
		lab_show_text(lab, &out);
	fputs(strbuf_str(&out), stdout);
	strbuf_release(&out);
	lab_free(lab);
	return 0;
}
