// SPDX-License-Identifier: MIT
/* The command table (git.c style) and the shared bits of the verb layer. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labctl/labconf.h"
#include "labctl/labctl.h"
#include "labctl/lease_etcd.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"

#define USAGE(...) ((const char *const[]){ __VA_ARGS__, NULL })

const struct cmd lab_commands[] = {
	{ "help", cmd_help, 0, "show help for labctl or one command",
	  USAGE("help [COMMAND]") },
	{ "version", cmd_version, 0, "print labctl's version",
	  USAGE("version [--json]") },
	{ "labs", cmd_labs, 0, "list the lab files labctl can find",
	  USAGE("labs [--json]") },
	{ "show", cmd_show, CMD_NEED_LAB,
	  "print a lab's resolved configuration, defaults filled in",
	  USAGE("show [LAB] [--json]") },
	{ "grubenv", cmd_grubenv, 0,
	  "read and write a GRUB environment block like grub-editenv, atomically",
	  USAGE("grubenv FILE create [--size BYTES]",
		"grubenv FILE list [--json]",
		"grubenv FILE set NAME=VALUE...",
		"grubenv FILE unset NAME...") },
	{ "chain", cmd_chain, 0,
	  "set, show or clear a multi-stage next_entry chain in a GRUB environment block",
	  USAGE("chain set [--max-stages N] FILE ENTRY...",
		"chain show FILE [--json]",
		"chain clear FILE",
		"chain LAB set [--deploy] VARIANT... [--json]",
		"chain LAB show [--json]",
		"chain LAB clear") },
	{ "grub", cmd_grub, CMD_NEED_LAB,
	  "print the GRUB scripts for a lab, or install them on its board",
	  USAGE("grub script [LAB] [chain|entries|cfg] [--raw] [--output-dir DIR]",
		"grub install [LAB] [--dry-run] [--json]") },
	{ "build", cmd_build, CMD_NEED_LAB,
	  "build hypervisor variants in parallel into images/, skipping unchanged ones",
	  USAGE("build [LAB] [VARIANT...] [-j N] [--force] [--prune] [--json]") },
	{ "deploy", cmd_deploy, CMD_NEED_LAB,
	  "build (cached) and copy variants to the lab's board",
	  USAGE("deploy [LAB] [VARIANT...] [-j N] [--json]") },
	{ "boot", cmd_boot, CMD_NEED_LAB,
	  "set the GRUB chain, power on, capture and judge, without building",
	  USAGE("boot [LAB] VARIANT... [--timeout DURATION] [--results DIR] [--keep-on] [--steal] [--junit FILE] [--tap] [--json]") },
	{ "run", cmd_run, CMD_NEED_LAB,
	  "build, deploy, chain, power, capture, and say pass or fail",
	  USAGE("run [LAB] [VARIANT...] [-j N] [--force] [--timeout DURATION] [--results DIR] [--keep-on] [--steal] [--junit FILE] [--tap] [--json]") },
	{ "log", cmd_log, 0,
	  "print a result's console log, with line times, without ANSI escapes, or one stage",
	  USAGE("log RESULT [--timestamps[=offset|wall|delta]] [--strip-ansi] [--stage N] [--results DIR] [--color[=WHEN]] [--json]") },
	{ "results", cmd_results, 0,
	  "list results newest first from the results index, by lab, variant, verdict or age",
	  USAGE("results [--lab LAB] [--variant VARIANT] [--verdict pass|fail|infra|unknown|running] [--since WHEN] [--limit N] [--results DIR] [--color[=WHEN]] [--json]",
		"results reindex [--results DIR] [--json]") },
	{ "grep", cmd_grep, 0,
	  "search results' console logs (default: the last 20), naming the stage of each line",
	  USAGE("grep PATTERN [RESULT...] [-F|-E|-G] [-i] [--stage N] [--results DIR] [--color[=WHEN]] [--json]") },
	{ "diff", cmd_diff, 0,
	  "compare two results' console logs stage by stage, as a unified diff",
	  USAGE("diff A B [--filter STRING] [-I REGEX] [--stage N] [-U N] [--results DIR] [--color[=WHEN]] [--json]") },
	{ "report", cmd_report, 0,
	  "render results as one HTML file (summary, timeline, log, matrix), JUnit or TAP",
	  USAGE("report RESULT... [-o FILE] [--junit FILE] [--tap] [--rows KEY] [--cols KEY] [--title TEXT] [--results DIR] [--json]") },
	{ "power", cmd_power, CMD_NEED_LAB,
	  "switch the lab's board on or off, cycle, reset, press its button or ask its state",
	  USAGE("power [LAB] on|off|cycle|reset|status|press [--long] [--dry-run] [--steal] [--json]") },
	{ "console", cmd_console, CMD_NEED_LAB,
	  "the lab's serial console, interactive (~. quits, ~? help), or --follow a live capture",
	  USAGE("console [LAB] [--follow] [--no-log] [--results DIR] [--map lf-crlf|none]") },
	{ "reboot", cmd_reboot, CMD_NEED_LAB,
	  "reboot a real board's OS over ssh and wait until it answers again",
	  USAGE("reboot [LAB] [--no-wait] [--json]") },
	{ "lock", cmd_lock, CMD_NEED_LAB,
	  "reserve a board: an expiring lease other users see",
	  USAGE("lock [LAB] [--ttl DURATION] [--wait DURATION] [--steal] [--online] [--json]") },
	{ "unlock", cmd_unlock, CMD_NEED_LAB,
	  "give up your reservation of a board",
	  USAGE("unlock [LAB] [--force]") },
	{ "locks", cmd_locks, 0,
	  "show who reserves which boards",
	  USAGE("locks [LAB...] [--json]") },
	{ "trust", cmd_trust, CMD_NEED_LAB,
	  "accept a board's ssh host key into known_hosts, showing its fingerprint",
	  USAGE("trust [LAB] [--dry-run] [--json]") },
	{ "bisect", cmd_bisect, CMD_NEED_LAB,
	  "find the commit that broke a chain: git bisect run with labctl as the test",
	  USAGE("bisect [LAB] --good REV --bad REV [--src DIR] [--results DIR] [--json] -- VARIANT...") },
	{ "matrix", cmd_matrix, CMD_NEED_LAB,
	  "build and run every combination of option values and arches across the lab's boards: a good/bad table",
	  USAGE("matrix [LAB] --variant VARIANT [--opt LIST] [--arch LIST] [--before LIST] [-j N] [--timeout DURATION] [--results DIR] [--force] [--junit FILE] [--html FILE] [--json]") },
	{ "opt-bisect", cmd_optbisect, CMD_NEED_LAB,
	  "find the fewest option bits that turn a good value into a bad one (delta debugging, in parallel)",
	  USAGE("opt-bisect [LAB] VARIANT --good VALUE --bad VALUE [--before LIST] [-j N] [--timeout DURATION] [--results DIR] [--force] [--json]") },
	{ NULL, NULL, 0, NULL, NULL }
};

/*
 * Damerau-Levenshtein distance from s1 to s2 as git's levenshtein.c
 * weighs it: w a swap of two neighbours, sub a substitution, ins an
 * insertion, del a deletion.
 */
static int edit_distance(const char *s1, const char *s2, int w, int sub,
			 int ins, int del)
{
	size_t len1 = strlen(s1), len2 = strlen(s2), i, j;
	int *row0 = xcalloc(len2 + 1, sizeof(int));
	int *row1 = xcalloc(len2 + 1, sizeof(int));
	int *row2 = xcalloc(len2 + 1, sizeof(int));
	int *tmp, d;

	for (j = 0; j <= len2; j++)
		row1[j] = (int)j * ins;
	for (i = 0; i < len1; i++) {
		row2[0] = (int)(i + 1) * del;
		for (j = 0; j < len2; j++) {
			/* substitution */
			row2[j + 1] = row1[j] + sub * (s1[i] != s2[j]);
			/* swap */
			if (i > 0 && j > 0 && s1[i - 1] == s2[j] &&
			    s1[i] == s2[j - 1] && row2[j + 1] > row0[j - 1] + w)
				row2[j + 1] = row0[j - 1] + w;
			/* deletion */
			if (row2[j + 1] > row1[j + 1] + del)
				row2[j + 1] = row1[j + 1] + del;
			/* insertion */
			if (row2[j + 1] > row2[j] + ins)
				row2[j + 1] = row2[j] + ins;
		}
		tmp = row0;
		row0 = row1;
		row1 = row2;
		row2 = tmp;
	}
	d = row1[len2];
	free(row0);
	free(row1);
	free(row2);
	return d;
}

/* git's help.c: below this a command is similar enough to suggest. */
#define SIMILARITY_FLOOR 7

void cmd_suggest_command(const char *name, struct strbuf *out)
{
	const struct cmd *c;
	int best = SIMILARITY_FLOOR, n = 0, i, k = 0, score[64];

	if (!*name)
		return;
	for (c = lab_commands, i = 0; c->name && i < 64; c++, i++) {
		/* A prefix is as good as it gets (git gives it 0). */
		score[i] = !strncmp(c->name, name, strlen(name)) ? 0 :
			   edit_distance(name, c->name, 0, 2, 1, 3) + 1;
		if (score[i] < best) {
			best = score[i];
			n = 0;
		}
		n += score[i] == best;
	}
	if (best >= SIMILARITY_FLOOR)
		return;
	strbuf_addstr(out, "did you mean ");
	for (c = lab_commands, i = 0; c->name && i < 64; c++, i++) {
		if (score[i] != best)
			continue;
		k++;
		strbuf_addf(out, "%s'%s'", k == 1 ? "" : k == n ? " or " : ", ",
			    c->name);
	}
	strbuf_addch(out, '?');
}

int cmd_unknown_command(const char *name)
{
	struct strbuf hint = STRBUF_INIT;

	cmd_suggest_command(name, &hint);
	if (hint.len)
		fprintf(stderr, "labctl: unknown command '%s'; %s\n", name,
			hint.buf);
	else
		fprintf(stderr, "labctl: unknown command '%s' (see `labctl help`)\n",
			name);
	strbuf_release(&hint);
	return LAB_EXIT_USAGE;
}

const struct cmd *lab_find_command(const char *name)
{
	const struct cmd *c;

	for (c = lab_commands; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

void cmd_print_usage(const struct cmd *cmd, bool to_stderr)
{
	FILE *f = to_stderr ? stderr : stdout;
	int i;

	for (i = 0; cmd->usage[i]; i++)
		fprintf(f, "%s labctl %s\n", i ? "   or:" : "usage:", cmd->usage[i]);
}

int cmd_usage_error(const char *verb, const char *fmt, ...)
{
	const struct cmd *cmd = lab_find_command(verb);
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "labctl %s: %s\n", verb, msg);
	if (cmd)
		cmd_print_usage(cmd, true);
	return LAB_EXIT_USAGE;
}

int cmd_fail(int err)
{
	fprintf(stderr, "labctl: %s\n", lab_errmsg(err));
	return lab_exit_code(err);
}

int cmd_fail_on(const char *what, int err)
{
	char *msg = xstrdup(lab_errmsg(err));

	lab_err(err, "%s: %s", what, msg);
	free(msg);
	return cmd_fail(err);
}

int cmd_open_lab(const struct cmd_ctx *ctx, const char *positional,
		 struct lab **out)
{
	const char *name = positional;
	int ret;

	if (!name)
		name = ctx->lab_name;
	if (!name)
		name = getenv("LABCTL_LAB");
	if (!name || !*name)
		name = LAB_DEFAULT_NAME;
	/* "pool:TAG": a free board with that tag, reserved (lease_etcd.h). */
	ret = !strncmp(name, "pool:", 5) ? lease_pool_open(name + 5, out) :
	      lab_open(name, out);
	if (ret < 0)
		return cmd_fail(ret);
	lab_debug("lab %s from %s", (*out)->name, (*out)->path);
	return 0;
}

int cmd_open_lab_for_names(const struct cmd_ctx *ctx, int *nargs,
			   char ***args, struct lab **out)
{
	const char *env = getenv("LABCTL_LAB");
	const char *def = env && *env ? env : LAB_DEFAULT_NAME;
	char *path;

	/* With --lab every word is a variant; otherwise a first word that
	 * names a lab file (and is not a variant of the default lab) is it. */
	if (!ctx->lab_name && *nargs > 0) {
		struct lab *dflt = NULL;
		bool is_variant = false;

		path = !strncmp((*args)[0], "pool:", 5) ? xstrdup((*args)[0]) :
		       lab_find((*args)[0]);
		if (path && lab_open(def, &dflt) == 0)
			is_variant = lab_find_variant(dflt, (*args)[0]) != NULL;
		lab_free(dflt);
		lab_err_clear();
		if (path && !is_variant) {
			free(path);
			(*args)++;
			(*nargs)--;
			return cmd_open_lab(ctx, (*args)[-1], out);
		}
		free(path);
	}
	return cmd_open_lab(ctx, NULL, out);
}

static void print_overview(FILE *f)
{
	const struct cmd *c;

	fprintf(f,
		"usage: labctl [--lab LAB] [-v|-q] [--json] [--color[=WHEN]] COMMAND [ARGS...]\n"
		"       labctl --version | --help | help COMMAND\n\n"
		"Drive hypervisor test labs: build, deploy, chain GRUB entries,\n"
		"power-cycle, capture the console, and say pass or fail.\n\n"
		"Commands:\n");
	for (c = lab_commands; c->name; c++)
		fprintf(f, "  %-9s %s\n", c->name, c->summary);
	fprintf(f,
		"\nGlobal options:\n"
		"  --lab LAB    the lab to use (default: $LABCTL_LAB, else qemu)\n"
		"  -v, -q       more or less output (repeatable: -vv, -qq)\n"
		"  --json       machine-readable output where a command lists or reports\n"
		"  --color[=WHEN]  colour: auto (a terminal, no $NO_COLOR), always, never\n"
		"  --version    print the version\n"
		"  --help       this help; `labctl COMMAND --help` for one command\n"
		"\nExit codes: 0 pass, 1 the machine under test failed, 2 usage or\n"
		"configuration error, 3 lab infrastructure error.  See labctl(1).\n");
}

static const struct option no_options[] = {
	{ NULL, 0, NULL, 0 }
};

int cmd_help(int argc, char **argv, struct cmd_ctx *ctx)
{
	const struct cmd *cmd;
	const char *name = NULL;
	struct cmd_getopt g;
	int c;

	(void)ctx;
	cmd_getopt_init(&g, "help", argc, argv, no_options);
	while ((c = cmd_getopt_next(&g)) != -1) {
		if (c != CMD_OPERAND)
			return LAB_EXIT_USAGE;
		if (name)
			return cmd_usage_error("help", "too many arguments");
		name = g.arg;
	}
	if (!name) {
		print_overview(stdout);
		return 0;
	}
	cmd = lab_find_command(name);
	if (!cmd)
		return cmd_unknown_command(name);
	cmd_print_usage(cmd, false);
	printf("\n%s.\nSee labctl(1) for details.\n", cmd->summary);
	return 0;
}

void lab_print_overview(FILE *f)
{
	print_overview(f);
}

int cmd_version(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct cmd_getopt g;
	int c;

	cmd_getopt_init(&g, "version", argc, argv, no_options);
	while ((c = cmd_getopt_next(&g)) != -1)
		return c == CMD_OPERAND ?
		       cmd_usage_error("version", "takes no arguments") :
		       LAB_EXIT_USAGE;
	if (ctx->json) {
		json_t *doc = json_pack("{s:s}", "version", LABCTL_VERSION);

		lab_json_print(stdout, doc);
		json_decref(doc);
	} else
		printf("labctl %s\n", LABCTL_VERSION);
	return 0;
}

/* --stage N for log, grep and diff: 0 (firmware, GRUB) or a stage from 1. */
int cmd_parse_stage(const char *verb, const char *v, int *stage)
{
	char *end;
	long n;

	errno = 0;
	n = v ? strtol(v, &end, 10) : -1;
	if (!v || errno || end == v || *end || n < 0 || n > 1000)
		return cmd_usage_error(verb,
				       "--stage wants a stage number (0 for what comes before stage 1), not '%s'",
				       v ? v : "");
	*stage = (int)n;
	return 0;
}
