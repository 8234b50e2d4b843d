// SPDX-License-Identifier: MIT
/*
 * labctl chain set [--max-stages N] FILE ENTRY...
 * labctl chain show FILE
 * labctl chain clear FILE
 * labctl chain LAB set [--deploy] VARIANT... | show | clear  (cmd_board.c)
 *
 * The multi-stage next_entry chain of grubenv/chain.h, written with one
 * atomic replacement of FILE (all or nothing).  set creates a missing
 * FILE like grub-editenv does; show refuses one; clear leaves a missing
 * FILE missing (there is no chain to clear).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grubenv/chain.h"
#include "grubenv/envblk.h"
#include "labctl/labctl.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"

#define VERB "chain"

static int parse_stages(const char *s, unsigned int *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < 1 || v > CHAIN_STAGES_LIMIT)
		return -1;
	*out = (unsigned int)v;
	return 0;
}

enum { OPT_MAX_STAGES = CMD_OPT_LONG };

static const struct option set_options[] = {
	{ "max-stages", required_argument, NULL, OPT_MAX_STAGES },
	{ NULL, 0, NULL, 0 }
};

static const struct option no_options[] = {
	{ NULL, 0, NULL, 0 }
};

/* argv[0] is the subcommand ("set"). */
static int do_set(int argc, char **argv)
{
	unsigned int max_stages = CHAIN_DEFAULT_MAX_STAGES;
	const char *path = NULL;
	struct cmd_getopt g;
	struct envblk *blk;
	char **entries = xcalloc((size_t)argc + 1, sizeof(*entries));
	int i, c, n = 0, ret = 0;

	cmd_getopt_init(&g, VERB, argc, argv, set_options);
	while (!ret && (c = cmd_getopt_next(&g)) != -1) {
		switch (c) {
		case CMD_OPERAND:
			if (!path)
				path = g.arg;
			else
				entries[n++] = g.arg;
			break;
		case OPT_MAX_STAGES:
			if (parse_stages(g.arg, &max_stages))
				ret = cmd_usage_error(VERB,
						      "--max-stages: '%s' is not a number from 1 to %d",
						      g.arg, CHAIN_STAGES_LIMIT);
			break;
		default:
			ret = LAB_EXIT_USAGE;
			break;
		}
	}
	if (!ret && !path)
		ret = cmd_usage_error(VERB, "set: missing FILE and ENTRY");
	else if (!ret && n < 1)
		ret = cmd_usage_error(VERB, "set: give at least one ENTRY after %s",
				      path);
	else if (!ret && (unsigned int)n > max_stages)
		ret = cmd_usage_error(VERB,
				      "set: %d entries, but the chain has at most %u stages (next_entry..next_entry_%u); raise --max-stages if your GRUB drop-in shifts more slots",
				      n, max_stages, max_stages);
	for (i = 0; !ret && i < n; i++) {
		ret = chain_validate_entry(entries[i]);
		if (ret)
			ret = cmd_usage_error(VERB, "set: entry %d: %s", i + 1,
					      lab_errmsg(ret));
	}
	if (ret) {
		free(entries);
		return ret;
	}
	argc = n;
	argv = entries;

	ret = envblk_load(path, &blk);
	if (ret == -LAB_ENOENT) {
		lab_err_clear();
		ret = envblk_new(ENVBLK_DEFAULT_SIZE, &blk);
	}
	if (ret) {
		free(entries);
		return cmd_fail(ret);
	}
	ret = chain_set(blk, (const char *const *)argv, (size_t)argc,
			max_stages);
	if (ret) {
		free(entries);
		envblk_free(blk);
		return cmd_fail_on(path, ret);
	}
	ret = envblk_save(path, blk);
	envblk_free(blk);
	free(entries);
	return ret ? cmd_fail(ret) : 0;
}

static int do_show(const char *path, bool json)
{
	struct strbuf sb = STRBUF_INIT;
	struct envblk *blk;
	char **entries;
	size_t n, i;
	int ret;

	ret = envblk_load(path, &blk);
	if (ret)
		return cmd_fail(ret);
	chain_get(blk, &entries, &n);
	if (json) {
		json_t *doc = json_object(), *chain = json_array();

		for (i = 0; i < n; i++)
			json_array_append_new(chain, lab_json_str(entries[i]));
		lab_json_set(doc, "file", lab_json_str(path));
		json_object_set_new(doc, "chain", chain);
		lab_json_add(&sb, doc);
	} else {
		for (i = 0; i < n; i++)
			strbuf_addf(&sb, "%s\n", entries[i]);
	}
	fwrite(sb.buf ? sb.buf : "", 1, sb.len, stdout);
	strbuf_release(&sb);
	chain_free(entries, n);
	envblk_free(blk);
	return 0;
}

static int do_clear(const char *path)
{
	struct envblk *blk;
	int ret;

	ret = envblk_load(path, &blk);
	if (ret == -LAB_ENOENT) {
		lab_err_clear();
		return 0;
	}
	if (ret)
		return cmd_fail(ret);
	ret = chain_clear(blk);
	if (ret) {
		envblk_free(blk);
		return cmd_fail_on(path, ret);
	}
	ret = envblk_save(path, blk);
	envblk_free(blk);
	return ret ? cmd_fail(ret) : 0;
}

int cmd_chain(int argc, char **argv, struct cmd_ctx *ctx)
{
	const char *verb, *file = NULL;
	struct cmd_getopt g;
	int c;

	if (argc < 2)
		return cmd_usage_error(VERB, "missing command (set, show or clear)");
	verb = argv[1];
	/* labctl chain LAB set|show|clear: the chain on a board over ssh. */
	if (strcmp(verb, "set") && strcmp(verb, "show") && strcmp(verb, "clear") &&
	    argc >= 3 && (!strcmp(argv[2], "set") || !strcmp(argv[2], "show") ||
			  !strcmp(argv[2], "clear")))
		return cmd_chain_lab(argc, argv, ctx);
	if (!strcmp(verb, "set"))
		return do_set(argc - 1, argv + 1);
	if (strcmp(verb, "show") && strcmp(verb, "clear"))
		return cmd_usage_error(VERB,
				       "unknown command '%s' (set, show or clear)",
				       verb);
	cmd_getopt_init(&g, VERB, argc - 1, argv + 1, no_options);
	while ((c = cmd_getopt_next(&g)) != -1) {
		if (c != CMD_OPERAND)
			return LAB_EXIT_USAGE;
		if (file)
			return cmd_usage_error(VERB, "%s: unexpected argument '%s'",
					       verb, g.arg);
		file = g.arg;
	}
	if (!file)
		return cmd_usage_error(VERB, "%s: missing FILE", verb);
	if (!strcmp(verb, "show"))
		return do_show(file, ctx->json);
	return do_clear(file);
}
