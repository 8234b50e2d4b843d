// SPDX-License-Identifier: MIT
/*
 * Verbs on a real board over ssh:
 *
 *   labctl chain LAB set [--deploy] VARIANT...   leave a chain for the next boot
 *   labctl chain LAB show
 *   labctl chain LAB clear
 *   labctl grub install [LAB] [--dry-run]
 *   labctl reboot [LAB] [--no-wait]
 *
 * Each takes the board's lease for its duration and uses one ssh session.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grubenv/chain.h"
#include "labctl/board.h"
#include "labctl/labconf.h"
#include "labctl/labctl.h"
#include "labctl/run.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "ssh/ssh.h"

static void json_chain(struct strbuf *js, const struct lab *lab,
		       char *const *entries, size_t n)
{
	json_t *doc = json_object(), *chain = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(chain, lab_json_str(entries[i]));
	lab_json_set(doc, "lab", lab_json_str(lab->name));
	json_object_set_new(doc, "chain", chain);
	lab_json_add(js, doc);
}

static int chain_lab_show(struct board_session *bs, const struct cmd_ctx *ctx)
{
	char **entries = NULL;
	size_t n = 0, i;
	int ret = board_chain_read(bs->lab, bs->ssh, &entries, &n);

	if (ret)
		return ret;
	if (ctx->json) {
		struct strbuf js = STRBUF_INIT;

		json_chain(&js, bs->lab, entries, n);
		fputs(strbuf_str(&js), stdout);
		strbuf_release(&js);
	} else {
		for (i = 0; i < n; i++)
			printf("%s\n", entries[i]);
	}
	chain_free(entries, n);
	return 0;
}

/* Variant names to their GRUB entries; titles own the strings. */
static int entries_of(const struct lab *lab, char **names, int n,
		      const char **entries, struct strbuf *titles)
{
	int i;

	for (i = 0; i < n; i++) {
		const struct lab_variant *v = lab_find_variant(lab, names[i]);

		/* The board's default entry (its OS): XMHF-XMHF-Debian. */
		if (!v && (!strcmp(names[i], "default") || !strcmp(names[i], "0"))) {
			entries[i] = "0";
			continue;
		}
		if (!v)
			return lab_err(LAB_ECONFIG,
				       "lab %s has no variant '%s' (see labctl show %s)",
				       lab->name, names[i], lab->name);
		entries[i] = lab_variant_entry(lab, v, &titles[i]);
	}
	return 0;
}

int cmd_chain_lab(int argc, char **argv, struct cmd_ctx *ctx)
{
	const char *what = argv[2];
	bool deploy = false;
	char **names = NULL;
	int n = 0, i, rc, ret;
	struct board_session bs;
	struct lease_take_opts lo = { 0 };
	struct strbuf *titles = NULL;
	const char **entries = NULL;
	struct lab *lab;

	enum { OPT_DEPLOY = CMD_OPT_LONG };
	static const struct option set_opts[] = {
		{ "deploy", no_argument, NULL, OPT_DEPLOY },
		{ NULL, 0, NULL, 0 }
	};
	static const struct option no_opts[] = { { NULL, 0, NULL, 0 } };
	struct cmd_getopt g;
	char prefix[16];
	int c;

	/* The words after WHAT (argv[2]); the variants keep their order. */
	snprintf(prefix, sizeof(prefix), "%s: ", what);
	cmd_getopt_init(&g, "chain", argc - 2, argv + 2,
			strcmp(what, "set") ? no_opts : set_opts);
	g.what = prefix;
	/* The operands, gathered in order over words already read. */
	names = argv + 2;
	while ((c = cmd_getopt_next(&g)) != -1) {
		if (c == CMD_OPERAND)
			names[n++] = g.arg;
		else if (c == OPT_DEPLOY)
			deploy = true;
		else
			return LAB_EXIT_USAGE;
	}
	if (strcmp(what, "set") && n > 0)
		return cmd_usage_error("chain", "%s: unexpected argument '%s'",
				       what, names[0]);
	if (!strcmp(what, "set") && n < 1)
		return cmd_usage_error("chain", "set: name at least one variant");
	rc = cmd_open_lab(ctx, argv[1], &lab);
	if (rc)
		return rc;
	if (!board_is_remote(lab)) {
		ret = lab_err(LAB_ECONFIG,
			      "lab %s is a virtual board: `labctl run` and `labctl boot` set its chain; `labctl chain LAB` is for boards reached over ssh",
			      lab->name);
		lab_free(lab);
		return cmd_fail(ret);
	}
	titles = xcalloc((size_t)n + 1, sizeof(*titles));
	entries = xcalloc((size_t)n + 1, sizeof(*entries));
	ret = entries_of(lab, names, n, entries, titles);
	if (!ret && n > lab->grub.max_stages)
		ret = lab_err(LAB_ECONFIG,
			      "a chain of %d stages is longer than grub.max_stages = %lld in %s",
			      n, (long long)lab->grub.max_stages,
			      lab->path);
	if (ret)
		goto out;
	if (deploy) {
		struct run_opts o = { .build = true, .deploy = true, .jobs = 0 };
		struct deploy_result d;

		/* --json: one object on stdout, the chain's (the deploy's
		 * progress stays on the terminal). */
		ret = lab_deploy(lab, (const char *const *)names, n, &o, &d);
		deploy_result_release(&d);
		if (ret) {
			rc = cmd_fail(ret);
			goto out_rc;
		}
	}
	ret = board_session_open(&bs, lab, &lo);
	if (ret) {
		board_session_close(&bs);
		goto out;
	}
	if (!strcmp(what, "show")) {
		ret = chain_lab_show(&bs, ctx);
	} else if (!strcmp(what, "clear")) {
		ret = board_chain_set(lab, bs.ssh, NULL, 0);
		if (!ret && !ctx->json)
			printf("%s: chain cleared\n", lab->name);
	} else {
		ret = board_chain_set(lab, bs.ssh, entries, n);
		if (!ret && !ctx->json) {
			printf("%s: next boot:", lab->name);
			for (i = 0; i < n; i++)
				printf(" %s", entries[i]);
			printf("\n");
		}
		if (!ret && ctx->json) {
			struct strbuf js = STRBUF_INIT;

			json_chain(&js, lab, (char *const *)entries, n);
			fputs(strbuf_str(&js), stdout);
			strbuf_release(&js);
		}
	}
	board_session_close(&bs);
out:
	rc = ret ? cmd_fail(ret) : 0;
out_rc:
	for (i = 0; i < n; i++)
		strbuf_release(&titles[i]);
	free(titles);
	free(entries);
	lab_free(lab);
	return rc;
}

int cmd_grub_install(int argc, char **argv, struct cmd_ctx *ctx)
{
	const char *lab_arg = NULL;
	struct strbuf diff = STRBUF_INIT, plan = STRBUF_INIT;
	struct board_session bs;
	struct lease_take_opts lo = { 0 };
	struct lab *lab;
	int rc, ret;

	enum { OPT_DRY_RUN = CMD_OPT_LONG };
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ NULL, 0, NULL, 0 }
	};
	struct cmd_getopt g;
	int c;

	/* The words after "install" (argv[1]). */
	cmd_getopt_init(&g, "grub", argc - 1, argv + 1, longopts);
	g.what = "install: ";
	while ((c = cmd_getopt_next(&g)) != -1) {
		if (c == OPT_DRY_RUN) {
			ctx->dry_run = true;
		} else if (c != CMD_OPERAND) {
			return LAB_EXIT_USAGE;
		} else if (lab_arg) {
			return cmd_usage_error("grub", "install: unexpected argument '%s'",
					       g.arg);
		} else {
			lab_arg = g.arg;
		}
	}
	rc = cmd_open_lab(ctx, lab_arg, &lab);
	if (rc)
		return rc;
	ret = board_session_open(&bs, lab, ctx->dry_run ? NULL : &lo);
	if (!ret)
		ret = board_grub_install(lab, bs.ssh, ctx->dry_run, &diff, &plan);
	board_session_close(&bs);
	if (!ret || diff.len) {
		if (ctx->json) {
			json_t *doc = json_object();

			lab_json_set(doc, "lab", lab_json_str(lab->name));
			lab_json_set(doc, "diff", lab_json_str(strbuf_str(&diff)));
			lab_json_set(doc, "plan", lab_json_str(strbuf_str(&plan)));
			json_object_set_new(doc, "dry_run",
					    json_boolean(ctx->dry_run));
			json_object_set_new(doc, "ok", json_boolean(!ret));
			lab_json_print(stdout, doc);
			json_decref(doc);
		} else {
			fputs(diff.len ? strbuf_str(&diff) :
			      "# the GRUB scripts on the board are up to date\n",
			      stdout);
			if (ctx->dry_run) {
				printf("# would do (--dry-run):\n");
				fputs(strbuf_str(&plan), stdout);
			} else if (!ret) {
				printf("%s: GRUB scripts installed, %s regenerated and checked\n",
				       lab->name, lab->grub.cfg);
			}
		}
	}
	strbuf_release(&diff);
	strbuf_release(&plan);
	lab_free(lab);
	return ret ? cmd_fail(ret) : 0;
}

int cmd_reboot(int argc, char **argv, struct cmd_ctx *ctx)
{
	const char *lab_arg = NULL;
	bool wait_up = true;
	struct board_session bs;
	struct lease_take_opts lo = { 0 };
	struct lab *lab;
	int rc, ret;

	enum { OPT_NO_WAIT = CMD_OPT_LONG };
	static const struct option longopts[] = {
		{ "no-wait", no_argument, NULL, OPT_NO_WAIT },
		{ NULL, 0, NULL, 0 }
	};
	struct cmd_getopt g;
	int c;

	cmd_getopt_init(&g, "reboot", argc, argv, longopts);
	while ((c = cmd_getopt_next(&g)) != -1) {
		if (c == OPT_NO_WAIT) {
			wait_up = false;
		} else if (c != CMD_OPERAND) {
			return LAB_EXIT_USAGE;
		} else if (lab_arg) {
			return cmd_usage_error("reboot", "unexpected argument '%s'",
					       g.arg);
		} else {
			lab_arg = g.arg;
		}
	}
	rc = cmd_open_lab(ctx, lab_arg, &lab);
	if (rc)
		return rc;
	ret = board_session_open(&bs, lab, &lo);
	if (!ret) {
		if (!ctx->json)
			lab_info("%s: rebooting %s", lab->name, lab_ssh_where(bs.ssh));
		ret = board_reboot(lab, &bs.ssh, wait_up);
	}
	board_session_close(&bs);
	if (!ret) {
		if (ctx->json) {
			json_t *doc = json_object();

			lab_json_set(doc, "lab", lab_json_str(lab->name));
			json_object_set_new(doc, "rebooted", json_true());
			json_object_set_new(doc, "up", json_boolean(wait_up));
			lab_json_print(stdout, doc);
			json_decref(doc);
		} else
			printf("%s: %s\n", lab->name, wait_up ?
			       "rebooted and answering ssh again" :
			       "went down for a reboot");
	}
	lab_free(lab);
	return ret ? cmd_fail(ret) : 0;
}
