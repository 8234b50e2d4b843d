// SPDX-License-Identifier: MIT
/*
 * labctl grubenv FILE create [--size BYTES]
 * labctl grubenv FILE list
 * labctl grubenv FILE set NAME=VALUE...
 * labctl grubenv FILE unset NAME...
 *
 * grub-editenv's verbs with its bytes (grubenv/envblk.h), but every write
 * replaces the file atomically and a failing command leaves it untouched:
 * all NAME=VALUE (or NAME) arguments are applied in memory, then written
 * once.  Like grub-editenv, set and unset create a missing file (with the
 * default 1024 bytes) and create replaces an existing one.  Unlike it,
 * list refuses a missing file instead of creating it, and a set that fails
 * does not leave a freshly created empty block behind.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grubenv/envblk.h"
#include "labctl/labctl.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"

#define VERB "grubenv"

/*
 * Parse "1024", "4k", "1M" (KiB, MiB) into *out: 0, -1 when it is not a
 * size, -2 when it is out of range (the caller shows the user's own text,
 * never a number computed from it).  Every step is checked for overflow.
 */
static int parse_size(const char *s, size_t *out)
{
	unsigned long long v = 0, unit = 1;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned digit = (unsigned)(*p - '0');

		if (v > (ENVBLK_MAX_SIZE - digit) / 10)
			v = ENVBLK_MAX_SIZE + 1ull;	/* too big, keep scanning */
		else
			v = v * 10 + digit;
	}
	if ((*p == 'k' || *p == 'K') && p[1] == '\0')
		unit = 1024;
	else if (*p == 'M' && p[1] == '\0')
		unit = 1024 * 1024;
	else if (*p != '\0')
		return -1;
	if (v > ENVBLK_MAX_SIZE / unit)
		return -2;
	v *= unit;
	if (v < ENVBLK_MIN_NEW_SIZE)
		return -2;
	*out = (size_t)v;
	return 0;
}

static int do_create(const char *path, int argc, char **argv,
		     const char *size_arg)
{
	size_t size = ENVBLK_DEFAULT_SIZE;
	struct envblk *blk;
	int ret;

	if (argc > 0)
		return cmd_usage_error(VERB, "create: unexpected argument '%s'",
				       argv[0]);
	ret = size_arg ? parse_size(size_arg, &size) : 0;
	if (ret == -1)
		return cmd_usage_error(VERB,
				       "--size: '%s' is not a number of bytes (e.g. 1024, 4k, 1M)",
				       size_arg);
	if (ret)
		return cmd_usage_error(VERB,
				       "--size: '%s' is out of range: a block has from %zu to %u bytes (16M)",
				       size_arg, (size_t)ENVBLK_MIN_NEW_SIZE,
				       ENVBLK_MAX_SIZE);
	ret = envblk_new(size, &blk);
	if (ret)
		return cmd_usage_error(VERB, "--size: %s", lab_errmsg(ret));
	ret = envblk_save(path, blk);
	envblk_free(blk);
	return ret ? cmd_fail(ret) : 0;
}

struct list_out {
	struct strbuf sb;
	json_t *vars;		/* --json: the variables, else NULL */
};

static int list_cb(const char *name, const char *value, void *arg)
{
	struct list_out *o = arg;

	json_t *var;

	if (!o->vars) {
		strbuf_addf(&o->sb, "%s=%s\n", name, value);
		return 0;
	}
	var = json_object();
	lab_json_set(var, "name", lab_json_str(name));
	lab_json_set(var, "value", lab_json_str(value));
	json_array_append_new(o->vars, var);
	return 0;
}

static int do_list(const char *path, int argc, char **argv, bool json)
{
	struct list_out o = { STRBUF_INIT, NULL };
	struct envblk *blk;
	int ret;

	if (argc > 0)
		return cmd_usage_error(VERB, "list: unexpected argument '%s'", argv[0]);
	ret = envblk_load(path, &blk);
	if (ret == -LAB_ENOENT)
		lab_err(LAB_ENOENT,
			"%s does not exist (create it with: labctl grubenv %s create)",
			path, path);
	if (ret)
		return cmd_fail(ret);
	/* GRUB stops reading at a broken record; say so, list what it sees. */
	if (envblk_check(blk, NULL))
		lab_warn("%s: %s", path, lab_errmsg(-LAB_EFORMAT));
	if (json)
		o.vars = json_array();
	envblk_foreach(blk, list_cb, &o);
	if (o.vars) {
		json_t *doc = json_object();

		lab_json_set(doc, "file", lab_json_str(path));
		json_object_set_new(doc, "variables", o.vars);
		lab_json_add(&o.sb, doc);
	}
	fwrite(o.sb.buf ? o.sb.buf : "", 1, o.sb.len, stdout);
	strbuf_release(&o.sb);
	envblk_free(blk);
	return 0;
}

/* Load path, or start a default block when it does not exist yet. */
static int load_or_new(const char *path, struct envblk **blk)
{
	int ret = envblk_load(path, blk);

	if (ret == -LAB_ENOENT) {
		lab_err_clear();
		ret = envblk_new(ENVBLK_DEFAULT_SIZE, blk);
	}
	return ret;
}

static int do_set(const char *path, int argc, char **argv)
{
	struct envblk *blk;
	int i, ret;

	if (argc == 0)
		return cmd_usage_error(VERB, "set: give at least one NAME=VALUE");
	for (i = 0; i < argc; i++)
		if (!strchr(argv[i], '='))
			return cmd_usage_error(VERB,
					       "set: invalid parameter '%s': expected NAME=VALUE",
					       argv[i]);
	ret = load_or_new(path, &blk);
	if (ret)
		return cmd_fail(ret);
	for (i = 0; i < argc && !ret; i++) {
		char *name = xstrdup(argv[i]);
		char *eq = strchr(name, '=');

		*eq = '\0';
		ret = envblk_set(blk, name, eq + 1);
		free(name);
	}
	if (ret) {
		envblk_free(blk);
		return cmd_fail_on(path, ret);
	}
	ret = envblk_save(path, blk);
	envblk_free(blk);
	return ret ? cmd_fail(ret) : 0;
}

static int do_unset(const char *path, int argc, char **argv)
{
	struct envblk *blk;
	int i, ret;

	if (argc == 0)
		return cmd_usage_error(VERB, "unset: give at least one NAME");
	ret = load_or_new(path, &blk);
	if (ret)
		return cmd_fail(ret);
	for (i = 0; i < argc; i++)
		envblk_unset(blk, argv[i]);
	ret = envblk_save(path, blk);
	envblk_free(blk);
	return ret ? cmd_fail(ret) : 0;
}

static bool is_verb(const char *s)
{
	return !strcmp(s, "create") || !strcmp(s, "list") ||
	       !strcmp(s, "set") || !strcmp(s, "unset");
}

/* The words after the options: FILE COMMAND [ARG...]. */
static int grubenv_words(int argc, char **argv, const char *size_arg,
			 struct cmd_ctx *ctx)
{
	const char *path, *verb;

	if (argc < 1)
		return cmd_usage_error(VERB, "missing FILE and command");
	path = argv[0];
	if (argc < 2) {
		if (is_verb(path))
			return cmd_usage_error(VERB,
					       "missing FILE: the file comes first, e.g. labctl grubenv /boot/grub/grubenv %s",
					       path);
		return cmd_usage_error(VERB,
				       "missing command after %s (create, list, set or unset)",
				       path);
	}
	verb = argv[1];
	if (size_arg && strcmp(verb, "create"))
		return cmd_usage_error(VERB, "--size is for create only");
	if (!strcmp(verb, "create"))
		return do_create(path, argc - 2, argv + 2, size_arg);
	if (!strcmp(verb, "list"))
		return do_list(path, argc - 2, argv + 2, ctx->json);
	if (!strcmp(verb, "set"))
		return do_set(path, argc - 2, argv + 2);
	if (!strcmp(verb, "unset"))
		return do_unset(path, argc - 2, argv + 2);
	if (is_verb(path))
		return cmd_usage_error(VERB,
				       "unknown command '%s': the file comes first, e.g. labctl grubenv %s %s",
				       verb, verb, path);
	return cmd_usage_error(VERB,
			       "unknown command '%s' (create, list, set or unset)",
			       verb);
}

int cmd_grubenv(int argc, char **argv, struct cmd_ctx *ctx)
{
	enum { OPT_SIZE = CMD_OPT_LONG };
	static const struct option longopts[] = {
		{ "size", required_argument, NULL, OPT_SIZE },
		{ NULL, 0, NULL, 0 }
	};
	const char *size_arg = NULL;
	struct cmd_getopt g;
	char **words = xcalloc((size_t)argc + 1, sizeof(*words));
	int c, n = 0, ret;

	cmd_getopt_init(&g, VERB, argc, argv, longopts);
	while ((c = cmd_getopt_next(&g)) != -1) {
		switch (c) {
		case OPT_SIZE:
			size_arg = g.arg;
			break;
		case CMD_OPERAND:
			words[n++] = g.arg;
			break;
		default:
			free(words);
			return LAB_EXIT_USAGE;
		}
	}
	ret = grubenv_words(n, words, size_arg, ctx);
	free(words);
	return ret;
}
