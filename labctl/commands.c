// SPDX-License-Identifier: MIT
/* The command table (git.c style) and the shared bits of the verb layer. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labctl/labconf.h"
#include "labctl/labctl.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define USAGE(...) ((const char *const[]){ __VA_ARGS__, NULL })

const struct cmd lab_commands[] = {
	{ "help", cmd_help, 0, "show help for labctl or one command",
	  USAGE("help [COMMAND]") },
	{ "version", cmd_version, 0, "print labctl's version",
	  USAGE("version") },
	{ "labs", cmd_labs, 0, "list the lab files labctl can find",
	  USAGE("labs [--json]") },
	{ "show", cmd_show, CMD_NEED_LAB,
	  "print a lab's resolved configuration, defaults filled in",
	  USAGE("show [LAB] [--json]") },
	{ "grubenv", cmd_grubenv, 0,
	  "read and write a GRUB environment block like grub-editenv, atomically",
	  USAGE("grubenv FILE create [--size BYTES]",
		"grubenv FILE list",
		"grubenv FILE set NAME=VALUE...",
		"grubenv FILE unset NAME...") },
	{ "chain", cmd_chain, 0,
	  "set, show or clear a multi-stage next_entry chain in a GRUB environment block",
	  USAGE("chain set [--max-stages N] FILE ENTRY...",
		"chain show FILE",
		"chain clear FILE",
		"chain LAB set [--deploy] VARIANT...",
		"chain LAB show",
		"chain LAB clear") },
	{ "grub", cmd_grub, CMD_NEED_LAB,
	  "print the GRUB scripts for a lab, or install them on its board",
	  USAGE("grub script [LAB] [chain|entries|cfg] [--raw] [--output-dir DIR]",
		"grub install [LAB] [--dry-run]") },
	{ "build", cmd_build, CMD_NEED_LAB,
	  "build hypervisor variants in parallel into images/, skipping unchanged ones",
	  USAGE("build [LAB] [VARIANT...] [-j N] [--force]") },
	{ "deploy", cmd_deploy, CMD_NEED_LAB,
	  "build (cached) and copy variants to the lab's board",
	  USAGE("deploy [LAB] [VARIANT...] [-j N]") },
	{ "boot", cmd_boot, CMD_NEED_LAB,
	  "set the GRUB chain, power on, capture and judge, without building",
	  USAGE("boot [LAB] VARIANT... [--timeout DURATION] [--results DIR] [--keep-on] [--steal] [--junit FILE] [--tap]") },
	{ "run", cmd_run, CMD_NEED_LAB,
	  "build, deploy, chain, power, capture, and say pass or fail",
	  USAGE("run [LAB] [VARIANT...] [-j N] [--force] [--timeout DURATION] [--results DIR] [--keep-on] [--steal] [--junit FILE] [--tap]") },
	{ "log", cmd_log, 0,
	  "print a result's console log, with line times, without ANSI escapes, or one stage",
	  USAGE("log RESULT [--timestamps[=offset|wall|delta]] [--strip-ansi] [--stage N]") },
	{ "results", cmd_results, 0,
	  "list results newest first from the results index, by lab, variant, verdict or age",
	  USAGE("results [--lab LAB] [--variant VARIANT] [--verdict pass|fail|infra|unknown|running] [--since WHEN] [--limit N] [--results DIR] [--json]",
		"results reindex [--results DIR] [--json]") },
	{ "grep", cmd_grep, 0,
	  "search results' console logs (default: the last 20), naming the stage of each line",
	  USAGE("grep PATTERN [RESULT...] [-F|-E|-G] [-i] [--stage N] [--results DIR] [--json]") },
	{ "diff", cmd_diff, 0,
	  "compare two results' console logs stage by stage, as a unified diff",
	  USAGE("diff A B [--filter STRING] [--stage N] [-U N] [--results DIR] [--json]") },
	{ "report", cmd_report, 0,
	  "render results as one HTML file (summary, timeline, log, matrix), JUnit or TAP",
	  USAGE("report RESULT... [-o FILE] [--junit FILE] [--tap] [--rows KEY] [--cols KEY] [--title TEXT] [--results DIR] [--json]") },
	{ "power", cmd_power, CMD_NEED_LAB,
	  "switch the lab's board on or off, cycle, reset, press its button or ask its state",
	  USAGE("power [LAB] on|off|cycle|reset|status|press [--long] [--dry-run] [--steal]") },
	{ "console", cmd_console, CMD_NEED_LAB,
	  "the lab's serial console, interactive (~. quits, ~? help), or --follow a live capture",
	  USAGE("console [LAB] [--follow] [--no-log] [--results DIR] [--map lf-crlf|none]") },
	{ "reboot", cmd_reboot, CMD_NEED_LAB,
	  "reboot a real board's OS over ssh and wait until it answers again",
	  USAGE("reboot [LAB] [--no-wait]") },
	{ "lock", cmd_lock, CMD_NEED_LAB,
	  "reserve a board: an expiring lease other users see",
	  USAGE("lock [LAB] [--ttl DURATION] [--wait DURATION] [--steal]") },
	{ "unlock", cmd_unlock, CMD_NEED_LAB,
	  "give up your reservation of a board",
	  USAGE("unlock [LAB] [--force]") },
	{ "locks", cmd_locks, 0,
	  "show who reserves which boards",
	  USAGE("locks [LAB...]") },
	{ "trust", cmd_trust, CMD_NEED_LAB,
	  "accept a board's ssh host key into known_hosts, showing its fingerprint",
	  USAGE("trust [LAB] [--dry-run]") },
	{ "bisect", cmd_bisect, CMD_NEED_LAB,
	  "find the commit that broke a chain: git bisect run with labctl as the test",
	  USAGE("bisect [LAB] --good REV --bad REV [--src DIR] [--results DIR] [--json] -- VARIANT...") },
	{ "matrix", cmd_matrix, CMD_NEED_LAB,
	  "build and run every combination of option values and arches across the lab's boards: a good/bad table",
	  USAGE("matrix [LAB] --variant VARIANT [--opt LIST] [--arch LIST] [--before LIST] [-j N] [--timeout DURATION] [--results DIR] [--force] [--junit FILE] [--html FILE]") },
	{ "opt-bisect", cmd_optbisect, CMD_NEED_LAB,
	  "find the fewest option bits that turn a good value into a bad one (delta debugging, in parallel)",
	  USAGE("opt-bisect [LAB] VARIANT --good VALUE --bad VALUE [--before LIST] [-j N] [--timeout DURATION] [--results DIR] [--force]") },
	{ NULL, NULL, 0, NULL, NULL }
};

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
	ret = lab_open(name, out);
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

		path = lab_find((*args)[0]);
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
		"usage: labctl [--lab LAB] [-v|-q] [--json] COMMAND [ARGS...]\n"
		"       labctl --version | --help | help COMMAND\n\n"
		"Drive hypervisor test labs: build, deploy, chain GRUB entries,\n"
		"power-cycle, capture the console, and say pass or fail.\n\n"
		"Commands:\n");
	for (c = lab_commands; c->name; c++)
		fprintf(f, "  %-9s %s\n", c->name, c->summary);
	fprintf(f,
		"\nGlobal options:\n"
		"  --lab LAB    the lab to use (default: $LABCTL_LAB, else qemu)\n"
		"  -v, -q       more or less output (repeatable)\n"
		"  --json       machine-readable output where a command lists or reports\n"
		"  --version    print the version\n"
		"  --help       this help; `labctl COMMAND --help` for one command\n"
		"\nExit codes: 0 pass, 1 the machine under test failed, 2 usage or\n"
		"configuration error, 3 lab infrastructure error.  See labctl(1).\n");
}

int cmd_help(int argc, char **argv, struct cmd_ctx *ctx)
{
	const struct cmd *cmd;

	(void)ctx;
	if (argc < 2) {
		print_overview(stdout);
		return 0;
	}
	if (argc > 2)
		return cmd_usage_error("help", "too many arguments");
	cmd = lab_find_command(argv[1]);
	if (!cmd)
		return cmd_usage_error("help", "unknown command '%s' (see `labctl help`)",
				       argv[1]);
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
	(void)argv;
	if (argc > 1)
		return cmd_usage_error("version", "takes no arguments");
	if (ctx->json)
		printf("{\"version\":\"%s\"}\n", LABCTL_VERSION);
	else
		printf("labctl %s\n", LABCTL_VERSION);
	return 0;
}

bool cmd_opt_value(int argc, char **argv, int *i, const char *opt,
		   const char **v)
{
	size_t len = strlen(opt);

	if (!strcmp(argv[*i], opt)) {
		*v = *i + 1 < argc ? argv[++*i] : NULL;
		return true;
	}
	if (!strncmp(argv[*i], opt, len) && argv[*i][len] == '=') {
		*v = argv[*i] + len + 1;
		return true;
	}
	return false;
}

/* --stage N for grep and diff: 0 (firmware, GRUB) or a stage from 1. */
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
