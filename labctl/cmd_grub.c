// SPDX-License-Identifier: MIT
/*
 * labctl grub script [LAB] [chain|entries|cfg] [--raw] [--output-dir DIR]
 *
 * chain    the /etc/grub.d drop-in that shifts next_entry_2..N after
 *          00_header consumed next_entry
 * entries  the /etc/grub.d script with one menu entry per variant
 * cfg      a whole grub.cfg (what the QEMU virtual board boots)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grubenv/script.h"
#include "labctl/labconf.h"
#include "labctl/labctl.h"
#include "labctl/labgrub.h"
#include "lib/err.h"
#include "lib/fileio.h"
#include "lib/xmalloc.h"

static int write_script(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	int ret = lab_write_file_atomic(path, text, strlen(text), 0755);

	if (!ret)
		printf("wrote %s\n", path);
	free(path);
	return ret;
}

enum { OPT_RAW = CMD_OPT_LONG, OPT_OUTPUT_DIR };

static const struct option options[] = {
	{ "raw", no_argument, NULL, OPT_RAW },
	{ "output-dir", required_argument, NULL, OPT_OUTPUT_DIR },
	{ NULL, 0, NULL, 0 }
};

/* argv[1] is "script" or "install". */
int cmd_grub(int argc, char **argv, struct cmd_ctx *ctx)
{
	const char *lab_arg = NULL, *outdir = NULL;
	enum lab_grub_part part = PART_ALL;
	bool raw = false, have_part = false;
	struct strbuf out = STRBUF_INIT;
	struct cmd_getopt g;
	struct lab *lab;
	int c, rc;

	if (argc >= 2 && !strcmp(argv[1], "install"))
		return cmd_grub_install(argc, argv, ctx);
	if (argc < 2 || strcmp(argv[1], "script"))
		return cmd_usage_error("grub", argc < 2 ? "missing subcommand" :
				       "unknown subcommand '%s'", argv[argc < 2 ? 0 : 1]);
	cmd_getopt_init(&g, "grub", argc - 1, argv + 1, options);
	while ((c = cmd_getopt_next(&g)) != -1) {
		const char *a = g.arg;

		switch (c) {
		case OPT_RAW:
			raw = true;
			break;
		case OPT_OUTPUT_DIR:
			if (!*a)
				return cmd_usage_error("grub", "--output-dir needs a directory");
			outdir = a;
			break;
		case CMD_OPERAND:
			if (!have_part && (!strcmp(a, "chain") ||
					   !strcmp(a, "entries") || !strcmp(a, "cfg"))) {
				have_part = true;
				part = !strcmp(a, "chain") ? PART_CHAIN :
				       !strcmp(a, "entries") ? PART_ENTRIES : PART_CFG;
			} else if (!lab_arg && !have_part) {
				lab_arg = a;
			} else {
				return cmd_usage_error("grub", "unexpected argument '%s'", a);
			}
			break;
		default:
			return LAB_EXIT_USAGE;
		}
	}
	if (outdir && (raw || part == PART_CFG))
		return cmd_usage_error("grub",
				       "--output-dir writes the /etc/grub.d scripts; it does not go with --raw or cfg");
	rc = cmd_open_lab(ctx, lab_arg, &lab);
	if (rc)
		return rc;

	if (outdir) {
		struct strbuf s = STRBUF_INIT;
		int ret = 0;

		if (part != PART_ENTRIES) {
			lab_grub_render(lab, PART_CHAIN, false, &s);
			ret = write_script(outdir, lab->grub.dropin,
					   strbuf_str(&s));
		}
		if (!ret && part != PART_CHAIN) {
			strbuf_reset(&s);
			lab_grub_render(lab, PART_ENTRIES, false, &s);
			ret = write_script(outdir, lab->grub.entries,
					   strbuf_str(&s));
		}
		strbuf_release(&s);
		lab_free(lab);
		return ret ? cmd_fail(ret) : 0;
	}
	if (part == PART_ALL) {
		strbuf_addf(&out, "# ==> /etc/grub.d/%s <==\n",
			    lab->grub.dropin);
		lab_grub_render(lab, PART_CHAIN, raw, &out);
		strbuf_addf(&out, "\n# ==> /etc/grub.d/%s <==\n",
			    lab->grub.entries);
		lab_grub_render(lab, PART_ENTRIES, raw, &out);
	} else {
		lab_grub_render(lab, part, raw, &out);
	}
	fputs(strbuf_str(&out), stdout);
	strbuf_release(&out);
	lab_free(lab);
	return 0;
}
