// SPDX-License-Identifier: MIT
/*
 * labctl: global options, then dispatch through the command table.
 * Global flags are accepted before the verb and, for convenience, among
 * the verb's own arguments (before a "--").
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labctl/labctl.h"
#include "lib/err.h"
#include "lib/log.h"

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "labctl: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	lab_print_overview(stderr);
	return LAB_EXIT_USAGE;
}

/*
 * Take a global option at argv[i] if it is one; returns how many words it
 * used (0: not a global option, -1: error already printed).
 */
static int take_global(int argc, char **argv, int i, struct cmd_ctx *ctx,
		       int *verbosity, bool *help, bool *version)
{
	const char *a = argv[i];

	if (!strcmp(a, "--json")) {
		ctx->json = true;
		return 1;
	}
	if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
		(*verbosity)++;
		return 1;
	}
	if (!strcmp(a, "-vv")) {
		*verbosity += 2;
		return 1;
	}
	if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
		(*verbosity)--;
		return 1;
	}
	if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
		*help = true;
		return 1;
	}
	if (!strcmp(a, "--version")) {
		*version = true;
		return 1;
	}
	if (!strcmp(a, "--lab")) {
		if (i + 1 >= argc) {
			usage_error("%s needs a lab name", a);
			return -1;
		}
		ctx->lab_name = argv[i + 1];
		return 2;
	}
	if (!strncmp(a, "--lab=", 6)) {
		ctx->lab_name = a + 6;
		return 1;
	}
	return 0;
}

/* Output that never reached its reader is a failure, not a success. */
static int finish(int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "labctl: error writing standard output\n");
		return rc ? rc : LAB_EXIT_INFRA;
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct cmd_ctx ctx = { 0 };
	bool help = false, version = false, seen_dashdash = false;
	int verbosity = 0, i, n, nargs = 0;
	const struct cmd *cmd;
	char **args;

	/* Errors from write() beat silent deaths (ulimit -f, closed pipes). */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
	lab_log_set_prog("labctl");

	/* Global options before the verb. */
	for (i = 1; i < argc && argv[i][0] == '-'; i += n) {
		n = take_global(argc, argv, i, &ctx, &verbosity, &help, &version);
		if (n < 0)
			return LAB_EXIT_USAGE;
		if (!n)
			return usage_error("unknown option '%s'", argv[i]);
	}
	if (version && i >= argc)
		return finish(cmd_version(1, argv, &ctx));
	if (i >= argc) {
		lab_print_overview(help ? stdout : stderr);
		return finish(help ? 0 : LAB_EXIT_USAGE);
	}
	cmd = lab_find_command(argv[i]);
	if (!cmd)
		return usage_error("unknown command '%s' (see `labctl help`)", argv[i]);

	/* The verb's own words, with global flags among them taken out. */
	args = calloc((size_t)(argc - i + 1), sizeof(*args));
	if (!args)
		return LAB_EXIT_INFRA;
	args[nargs++] = argv[i];
	for (i++; i < argc; i += n) {
		n = 0;
		if (!seen_dashdash && !strcmp(argv[i], "--"))
			seen_dashdash = true;
		else if (!seen_dashdash)
			n = take_global(argc, argv, i, &ctx, &verbosity, &help,
					&version);
		if (n < 0) {
			free(args);
			return LAB_EXIT_USAGE;
		}
		if (!n) {
			args[nargs++] = argv[i];
			n = 1;
		}
	}
	lab_log_set_level(LAB_LOG_INFO + verbosity);
	if (help) {
		cmd_print_usage(cmd, false);
		printf("\n%s.\nSee labctl(1) for details.\n", cmd->summary);
		free(args);
		return finish(0);
	}
	n = cmd->fn(nargs, args, &ctx);
	free(args);
	return finish(n);
}
