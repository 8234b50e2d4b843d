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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grubenv/envblk.h"
#include "labctl/labctl.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"

#define VERB "grubenv"

/* Parse "1024", "4k", "1M" (KiB, MiB) into *out. */
static int parse_size(const char *s, size_t *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if ((*end == 'k' || *end == 'K') && end[1] == '\0') {
		v *= 1024;
	} else if (*end == 'M' && end[1] == '\0') {
		v *= 1024 * 1024;
	} else if (*end != '\0') {
		return -1;
	}
	if (v > ENVBLK_MAX_SIZE)
		v = ENVBLK_MAX_SIZE + 1ull;	/* let envblk_new() say why */
	*out = (size_t)v;
	return 0;
}

static int do_create(const char *path, int argc, char **argv)
{
	size_t size = ENVBLK_DEFAULT_SIZE;
	struct envblk *blk;
	const char *arg;
	int i, ret;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--size")) {
			if (i + 1 >= argc)
				return cmd_usage_error(VERB, "--size needs a number of bytes");
			arg = argv[++i];
		} else if (!strncmp(argv[i], "--size=", 7)) {
			arg = argv[i] + 7;
		} else {
			return cmd_usage_error(VERB, "create: unexpected argument '%s'",
					       argv[i]);
		}
		if (parse_size(arg, &size))
			return cmd_usage_error(VERB,
					       "--size: '%s' is not a number of bytes (e.g. 1024, 4k)",
					       arg);
	}
	ret = envblk_new(size, &blk);
	if (ret)
		return cmd_usage_error(VERB, "--size: %s", lab_errmsg(ret));
	ret = envblk_save(path, blk);
	envblk_free(blk);
	return ret ? cmd_fail(ret) : 0;
}

struct list_out {
	struct strbuf sb;
	bool json;
	bool first;
};

static int list_cb(const char *name, const char *value, void *arg)
{
	struct list_out *o = arg;

	if (!o->json) {
		strbuf_addf(&o->sb, "%s=%s\n", name, value);
		return 0;
	}
	strbuf_addstr(&o->sb, o->first ? "" : ",");
	strbuf_addstr(&o->sb, "{\"name\":");
	strbuf_add_json_str(&o->sb, name);
	strbuf_addstr(&o->sb, ",\"value\":");
	strbuf_add_json_str(&o->sb, value);
	strbuf_addch(&o->sb, '}');
	o->first = false;
	return 0;
}

static int do_list(const char *path, int argc, char **argv, bool json)
{
	struct list_out o = { STRBUF_INIT, json, true };
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
	if (json) {
		strbuf_addstr(&o.sb, "{\"file\":");
		strbuf_add_json_str(&o.sb, path);
		strbuf_addstr(&o.sb, ",\"variables\":[");
	}
	envblk_foreach(blk, list_cb, &o);
	if (json)
		strbuf_addstr(&o.sb, "]}\n");
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

	if (argc > 0 && !strcmp(argv[0], "--")) {
		argc--;
		argv++;
	}
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

	if (argc > 0 && !strcmp(argv[0], "--")) {
		argc--;
		argv++;
	}
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

int cmd_grubenv(int argc, char **argv, struct cmd_ctx *ctx)
{
	const char *path, *verb;

	if (argc < 2)
		return cmd_usage_error(VERB, "missing FILE and command");
	path = argv[1];
	if (argc < 3) {
		if (is_verb(path))
			return cmd_usage_error(VERB,
					       "missing FILE: the file comes first, e.g. labctl grubenv /boot/grub/grubenv %s",
					       path);
		return cmd_usage_error(VERB,
				       "missing command after %s (create, list, set or unset)",
				       path);
	}
	verb = argv[2];
	if (!strcmp(verb, "create"))
		return do_create(path, argc - 3, argv + 3);
	if (!strcmp(verb, "list"))
		return do_list(path, argc - 3, argv + 3, ctx->json);
	if (!strcmp(verb, "set"))
		return do_set(path, argc - 3, argv + 3);
	if (!strcmp(verb, "unset"))
		return do_unset(path, argc - 3, argv + 3);
	if (is_verb(path))
		return cmd_usage_error(VERB,
				       "unknown command '%s': the file comes first, e.g. labctl grubenv %s %s",
				       verb, verb, path);
	return cmd_usage_error(VERB,
			       "unknown command '%s' (create, list, set or unset)",
			       verb);
}
