// SPDX-License-Identifier: MIT
/*
 * labctl lock [LAB] [--ttl DURATION] [--steal] [--wait DURATION]
 * labctl unlock [LAB] [--force]
 * labctl locks [LAB...]
 * labctl trust [LAB] [--dry-run]
 *
 * Reservations (labctl/lease.h) and accepting a board's ssh host key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labctl/board.h"
#include "labctl/labconf.h"
#include "labctl/labctl.h"
#include "labctl/lease.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "ssh/ssh.h"

static int parse_duration_arg(const char *verb, const char *opt,
			      const char *v, int64_t *ms)
{
	if (!v || lab_parse_duration_ms(v, ms) < 0 || *ms <= 0)
		return cmd_usage_error(verb, "%s needs a duration like 30m, 90s",
				       opt);
	return 0;
}

static void lease_json(struct strbuf *js, const struct lease *l)
{
	strbuf_addstr(js, "{\"lab\":");
	strbuf_add_json_str(js, l->name);
	strbuf_addf(js, ",\"held\":%s", l->info.held ? "true" : "false");
	if (l->info.held) {
		strbuf_addstr(js, ",\"owner\":");
		strbuf_add_json_str(js, l->info.owner);
		strbuf_addf(js, ",\"pid\":%ld,\"start\":%lld,\"expires\":%lld",
			    l->info.pid, (long long)l->info.start,
			    (long long)l->info.expires);
		strbuf_addf(js, ",\"mine\":%s",
			    !strcmp(l->info.owner, l->owner) ? "true" : "false");
	}
	strbuf_addstr(js, ",\"where\":");
	strbuf_add_json_str(js, l->remote_host ? l->remote_host : "local");
	strbuf_addch(js, '}');
}

int cmd_lock(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct lease_take_opts o = { .manual = true };
	const char *lab_arg = NULL;
	struct lease l;
	struct lab *lab;
	int64_t ms;
	int i, rc, ret;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--steal")) {
			o.steal = true;
		} else if (!strcmp(argv[i], "--ttl") || !strcmp(argv[i], "--wait")) {
			rc = parse_duration_arg("lock", argv[i],
						i + 1 < argc ? argv[i + 1] : NULL, &ms);
			if (rc)
				return rc;
			if (!strcmp(argv[i], "--ttl"))
				o.ttl_s = (ms + 999) / 1000;
			else
				o.wait_ms = ms;
			i++;
		} else if (argv[i][0] == '-') {
			return cmd_usage_error("lock", "unknown option '%s'", argv[i]);
		} else if (!lab_arg) {
			lab_arg = argv[i];
		} else {
			return cmd_usage_error("lock", "unexpected argument '%s'", argv[i]);
		}
	}
	rc = cmd_open_lab(ctx, lab_arg, &lab);
	if (rc)
		return rc;
	ret = lease_init(&l, lab);
	if (!ret)
		ret = lease_take(&l, &o);
	if (!ret) {
		char until[32];

		lease_format_time(l.info.expires, until, sizeof(until));
		if (ctx->json) {
			struct strbuf js = STRBUF_INIT;

			lease_json(&js, &l);
			puts(strbuf_str(&js));
			strbuf_release(&js);
		} else {
			printf("%s reserved by %s until %s%s%s\n", lab->name,
			       l.info.owner, until,
			       l.info.stolen_from[0] ? " (taken from " : "",
			       l.info.stolen_from[0] ? l.info.stolen_from : "");
			if (l.info.stolen_from[0])
				printf(")\n");
		}
	}
	lease_release_resources(&l);
	lab_free(lab);
	return ret ? cmd_fail(ret) : 0;
}

int cmd_unlock(int argc, char **argv, struct cmd_ctx *ctx)
{
	const char *lab_arg = NULL;
	bool force = false;
	struct lease l;
	struct lab *lab;
	int i, rc, ret;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--force"))
			force = true;
		else if (argv[i][0] == '-')
			return cmd_usage_error("unlock", "unknown option '%s'", argv[i]);
		else if (!lab_arg)
			lab_arg = argv[i];
		else
			return cmd_usage_error("unlock", "unexpected argument '%s'", argv[i]);
	}
	rc = cmd_open_lab(ctx, lab_arg, &lab);
	if (rc)
		return rc;
	ret = lease_init(&l, lab);
	if (!ret) {
		/* Our manual lease (same user@host, pid 0) is ours to drop. */
		l.pid = 0;
		ret = lease_drop(&l, force);
	}
	if (!ret && !ctx->json)
		printf("%s is free\n", lab->name);
	lease_release_resources(&l);
	lab_free(lab);
	return ret ? cmd_fail(ret) : 0;
}

int cmd_locks(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct strbuf js = STRBUF_INIT;
	const char **names = NULL;
	char **owned = NULL;
	int n = 0, nowned = 0, i, worst = 0;

	for (i = 1; i < argc; i++) {
		if (argv[i][0] == '-')
			return cmd_usage_error("locks", "unknown option '%s'", argv[i]);
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = argv[i];
	}
	if (!n) {
		names = xrealloc(names, sizeof(*names));
		names[n++] = ctx->lab_name ? ctx->lab_name :
			     getenv("LABCTL_LAB") && *getenv("LABCTL_LAB") ?
			     getenv("LABCTL_LAB") : "qemu";
	}
	if (ctx->json)
		strbuf_addch(&js, '[');
	else
		printf("%-16s %-8s %-28s %-8s %s\n", "LAB", "STATE", "OWNER",
		       "SINCE", "EXPIRES");
	for (i = 0; i < n; i++) {
		struct lab *lab;
		struct lease l;
		int ret;

		ret = lab_open(names[i], &lab);
		if (ret) {
			worst = cmd_fail(ret);
			continue;
		}
		/* A pool: each of its boards. */
		if (lab_get_int(lab, "board", "pool", 1) > 1 && !lab->pool_member) {
			int k, npool = (int)lab_get_int(lab, "board", "pool", 1);

			for (k = 1; k <= npool; k++) {
				owned = xrealloc(owned, (nowned + 1) * sizeof(*owned));
				owned[nowned++] = xasprintf("%s-%d", lab->name, k);
				names = xrealloc(names, (n + 1) * sizeof(*names));
				names[n++] = owned[nowned - 1];
			}
			lab_free(lab);
			continue;
		}
		ret = lease_init(&l, lab);
		if (!ret)
			ret = lease_query(&l);
		if (ctx->json) {
			if (i)
				strbuf_addch(&js, ',');
			if (ret) {
				strbuf_addstr(&js, "{\"lab\":");
				strbuf_add_json_str(&js, lab->name);
				strbuf_addstr(&js, ",\"error\":");
				strbuf_add_json_str(&js, lab_errmsg(ret));
				strbuf_addch(&js, '}');
			} else {
				lease_json(&js, &l);
			}
		} else if (ret) {
			printf("%-16s %-8s %s\n", lab->name, "unknown",
			       lab_errmsg(ret));
		} else if (l.info.held) {
			char since[32], until[32];

			lease_format_time(l.info.start, since, sizeof(since));
			lease_format_time(l.info.expires, until, sizeof(until));
			printf("%-16s %-8s %-28s %-8s %s\n", lab->name, "reserved",
			       l.info.owner, since, until);
		} else {
			printf("%-16s %-8s\n", lab->name, "free");
		}
		if (ret)
			worst = lab_exit_code(ret);
		if (!ret || l.name)
			lease_release_resources(&l);
		lab_free(lab);
	}
	if (ctx->json) {
		strbuf_addch(&js, ']');
		puts(strbuf_str(&js));
	}
	strbuf_release(&js);
	while (nowned > 0)
		free(owned[--nowned]);
	free(owned);
	free(names);
	return worst;
}

int cmd_trust(int argc, char **argv, struct cmd_ctx *ctx)
{
	const char *lab_arg = NULL, *state = NULL;
	struct strbuf fp = STRBUF_INIT;
	struct lab_ssh_config cfg;
	struct lab *lab;
	int i, rc, ret;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dry-run")) {
			ctx->dry_run = true;
			continue;
		}
		if (argv[i][0] == '-')
			return cmd_usage_error("trust", "unknown option '%s'", argv[i]);
		if (lab_arg)
			return cmd_usage_error("trust", "unexpected argument '%s'", argv[i]);
		lab_arg = argv[i];
	}
	rc = cmd_open_lab(ctx, lab_arg, &lab);
	if (rc)
		return rc;
	if (!board_is_remote(lab)) {
		ret = lab_err(LAB_ECONFIG,
			      "lab %s is a virtual board: there is no ssh host key to trust",
			      lab->name);
		goto out;
	}
	board_ssh_config(lab, NULL, &cfg);
	ret = lab_ssh_trust(&cfg, !ctx->dry_run, &fp, &state);
	if (ret)
		goto out;
	if (ctx->json) {
		struct strbuf js = STRBUF_INIT;

		strbuf_addstr(&js, "{\"lab\":");
		strbuf_add_json_str(&js, lab->name);
		strbuf_addstr(&js, ",\"host\":");
		strbuf_add_json_str(&js, cfg.host);
		strbuf_addstr(&js, ",\"key\":");
		strbuf_add_json_str(&js, strbuf_str(&fp));
		strbuf_addstr(&js, ",\"was\":");
		strbuf_add_json_str(&js, state);
		strbuf_addf(&js, ",\"written\":%s}",
			    ctx->dry_run || !strcmp(state, "known") ? "false" : "true");
		puts(strbuf_str(&js));
		strbuf_release(&js);
	} else if (!strcmp(state, "known")) {
		printf("%s: %s is already trusted: %s\n", lab->name, cfg.host,
		       strbuf_str(&fp));
	} else {
		printf("%s: %s host key %s (was %s)%s\n", lab->name, cfg.host,
		       strbuf_str(&fp), state,
		       ctx->dry_run ? "; not written (--dry-run)" :
		       "; added to known_hosts");
	}
out:
	strbuf_release(&fp);
	lab_free(lab);
	return ret ? cmd_fail(ret) : 0;
}
