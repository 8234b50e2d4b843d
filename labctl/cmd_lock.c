// SPDX-License-Identifier: MIT
/*
 * labctl lock [LAB] [--ttl DURATION] [--steal] [--wait DURATION] [--online]
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
#include "labctl/hostconn.h"
#include "labctl/labconf.h"
#include "labctl/labctl.h"
#include "labctl/lease.h"
#include "labctl/lease_etcd.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "ssh/ssh.h"

enum { OPT_STEAL = CMD_OPT_LONG, OPT_TTL, OPT_WAIT, OPT_FORCE,
       OPT_DRY_RUN, OPT_ONLINE };

static const struct option lock_options[] = {
	{ "steal", no_argument, NULL, OPT_STEAL },
	{ "ttl", required_argument, NULL, OPT_TTL },
	{ "wait", required_argument, NULL, OPT_WAIT },
	{ "online", no_argument, NULL, OPT_ONLINE },
	{ NULL, 0, NULL, 0 }
};

static const struct option unlock_options[] = {
	{ "force", no_argument, NULL, OPT_FORCE },
	{ NULL, 0, NULL, 0 }
};

static const struct option trust_options[] = {
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ NULL, 0, NULL, 0 }
};

static const struct option no_options[] = {
	{ NULL, 0, NULL, 0 }
};

static int parse_duration_arg(const char *verb, const char *opt,
			      const char *v, int64_t *ms)
{
	if (!v || lab_parse_duration_ms(v, ms) < 0 || *ms <= 0)
		return cmd_usage_error(verb, "%s needs a duration like 30m, 90s",
				       opt);
	return 0;
}

static json_t *lease_json(const struct lease *l)
{
	json_t *o = json_object();

	lab_json_set(o, "lab", lab_json_str(l->name));
	json_object_set_new(o, "held", json_boolean(l->info.held));
	if (l->info.held) {
		lab_json_set(o, "owner", lab_json_str(l->info.owner));
		json_object_set_new(o, "pid", json_integer(l->info.pid));
		json_object_set_new(o, "start", json_integer(l->info.start));
		json_object_set_new(o, "expires", json_integer(l->info.expires));
		json_object_set_new(o, "mine",
				    json_boolean(!strcmp(l->info.owner, l->owner)));
	}
	lab_json_set(o, "where",
		     lab_json_str(l->etcd ? "etcd" :
				  l->remote_host ? l->remote_host : "local"));
	/* etcd: the line of waiters and the board's health. */
	lease_etcd_show(l, o, NULL);
	return o;
}

/* `labctl lock LAB --online`: the board is back in service (etcd). */
static int lock_online(struct cmd_ctx *ctx, struct lease *l, struct lab *lab)
{
	int ret;

	if (!l->etcd)
		ret = lab_err(LAB_ECONFIG,
			      "%s: --online needs lock.where = etcd (board health lives there)",
			      lab->path);
	else
		ret = lease_etcd_set_online(l);
	if (!ret && !ctx->json)
		printf("%s is online\n", lab->name);
	lease_release_resources(l);
	lab_free(lab);
	return ret ? cmd_fail(ret) : 0;
}

int cmd_lock(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct lease_take_opts o = { .manual = true };
	const char *lab_arg = NULL;
	struct cmd_getopt g;
	struct lease l;
	struct lab *lab;
	bool online = false;
	int64_t ms;
	int c, rc, ret;

	cmd_getopt_init(&g, "lock", argc, argv, lock_options);
	while ((c = cmd_getopt_next(&g)) != -1) {
		switch (c) {
		case OPT_ONLINE:
			online = true;
			break;
		case OPT_STEAL:
			o.steal = true;
			break;
		case OPT_TTL:
		case OPT_WAIT:
			rc = parse_duration_arg("lock", c == OPT_TTL ? "--ttl" : "--wait",
						g.arg, &ms);
			if (rc)
				return rc;
			if (c == OPT_TTL)
				o.ttl_s = (ms + 999) / 1000;
			else
				o.wait_ms = ms;
			break;
		case CMD_OPERAND:
			if (lab_arg)
				return cmd_usage_error("lock", "unexpected argument '%s'",
						       g.arg);
			lab_arg = g.arg;
			break;
		default:
			return LAB_EXIT_USAGE;
		}
	}
	rc = cmd_open_lab(ctx, lab_arg, &lab);
	if (rc)
		return rc;
	ret = lease_init(&l, lab);
	if (!ret && online)
		return lock_online(ctx, &l, lab);
	if (!ret)
		ret = lease_take(&l, &o);
	if (!ret) {
		char until[32];

		lease_format_time(l.info.expires, until, sizeof(until));
		if (ctx->json) {
			json_t *doc = lease_json(&l);

			lab_json_print(stdout, doc);
			json_decref(doc);
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
	struct cmd_getopt g;
	struct lease l;
	struct lab *lab;
	int c, rc, ret;

	cmd_getopt_init(&g, "unlock", argc, argv, unlock_options);
	while ((c = cmd_getopt_next(&g)) != -1) {
		if (c == OPT_FORCE) {
			force = true;
		} else if (c != CMD_OPERAND) {
			return LAB_EXIT_USAGE;
		} else if (lab_arg) {
			return cmd_usage_error("unlock", "unexpected argument '%s'",
					       g.arg);
		} else {
			lab_arg = g.arg;
		}
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
	json_t *list = NULL;	/* --json: one object per board */
	const char **names = NULL;
	char **owned = NULL;
	struct cmd_getopt g;
	int n = 0, nowned = 0, i, c, worst = 0;

	cmd_getopt_init(&g, "locks", argc, argv, no_options);
	while ((c = cmd_getopt_next(&g)) != -1) {
		if (c != CMD_OPERAND) {
			free(names);
			return LAB_EXIT_USAGE;
		}
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = g.arg;
	}
	if (!n) {
		names = xrealloc(names, sizeof(*names));
		names[n++] = ctx->lab_name ? ctx->lab_name :
			     getenv("LABCTL_LAB") && *getenv("LABCTL_LAB") ?
			     getenv("LABCTL_LAB") : "qemu";
	}
	if (ctx->json)
		list = json_array();
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
		if (lab->board.pool > 1 && !lab->pool_member) {
			int k, npool = lab->board.pool;

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
		if (list) {
			json_t *o;

			if (ret) {
				o = json_object();
				lab_json_set(o, "lab", lab_json_str(lab->name));
				lab_json_set(o, "error", lab_json_str(lab_errmsg(ret)));
			} else {
				o = lease_json(&l);
			}
			json_array_append_new(list, o);
		} else if (ret) {
			printf("%-16s %-8s %s\n", lab->name, "unknown",
			       lab_errmsg(ret));
		} else if (l.info.held) {
			char since[32], until[32];

			lease_format_time(l.info.start, since, sizeof(since));
			if (l.info.expires)
				lease_format_time(l.info.expires, until, sizeof(until));
			else
				snprintf(until, sizeof(until), "while pid %ld runs",
					 l.info.pid);
			printf("%-16s %-8s %-28s %-8s %s\n", lab->name,
			       lease_etcd_state(&l) ? lease_etcd_state(&l) :
			       "reserved", l.info.owner, since, until);
		} else {
			printf("%-16s %-8s\n", lab->name, lease_etcd_state(&l) ?
			       lease_etcd_state(&l) : "free");
		}
		if (!ret && !list)
			lease_etcd_show(&l, NULL, stdout);
		if (ret)
			worst = lab_exit_code(ret);
		if (!ret || l.name)
			lease_release_resources(&l);
		lab_free(lab);
	}
	if (list) {
		lab_json_print(stdout, list);
		json_decref(list);
	}
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
	struct cmd_getopt g;
	struct lab *lab;
	int c, rc, ret;

	cmd_getopt_init(&g, "trust", argc, argv, trust_options);
	while ((c = cmd_getopt_next(&g)) != -1) {
		if (c == OPT_DRY_RUN) {
			ctx->dry_run = true;
		} else if (c != CMD_OPERAND) {
			return LAB_EXIT_USAGE;
		} else if (lab_arg) {
			return cmd_usage_error("trust", "unexpected argument '%s'",
					       g.arg);
		} else {
			lab_arg = g.arg;
		}
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
	hostconn_config(lab, NULL, &cfg);
	ret = lab_ssh_trust(&cfg, !ctx->dry_run, &fp, &state);
	if (ret)
		goto out;
	if (ctx->json) {
		json_t *doc = json_object();

		lab_json_set(doc, "lab", lab_json_str(lab->name));
		lab_json_set(doc, "host", lab_json_str(cfg.host));
		lab_json_set(doc, "key", lab_json_str(strbuf_str(&fp)));
		lab_json_set(doc, "was", lab_json_str(state));
		json_object_set_new(doc, "written",
				    json_boolean(!ctx->dry_run &&
						 strcmp(state, "known")));
		lab_json_print(stdout, doc);
		json_decref(doc);
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
