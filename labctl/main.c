// SPDX-License-Identifier: MIT
/*
 * labctl: global options, then dispatch through the command table.
 * Global options come before the verb, parsed by getopt_long (-qq, -vq,
 * --lab=LAB and --lab LAB, "--" ends them); for convenience the
 * verb's words may carry them too (before a "--"), where they are taken
 * out before the verb parses the rest.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labctl/labctl.h"
#include "lib/color.h"
#include "lib/err.h"
#include "lib/log.h"

enum { OPT_JSON = CMD_OPT_LONG, OPT_VERSION, OPT_LAB, OPT_COLOR,
       OPT_NO_COLOR };

static const struct option global_options[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "lab", required_argument, NULL, OPT_LAB },
	{ "color", optional_argument, NULL, OPT_COLOR },
	{ "colour", optional_argument, NULL, OPT_COLOR },
	{ "no-color", no_argument, NULL, OPT_NO_COLOR },
	{ NULL, 0, NULL, 0 }
};

struct globals {
	struct cmd_ctx ctx;
	int verbosity;
	bool help, version;
};

static void short_usage(FILE *f)
{
	fprintf(f, "usage: labctl [--lab LAB] [-v|-q] [--json] [--color[=WHEN]] COMMAND [ARGS...]\n"
		   "       labctl --version | --help | help COMMAND\n");
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "labctl: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	short_usage(stderr);
	return LAB_EXIT_USAGE;
}

static int set_color(const char *when)
{
	enum color_mode m;

	if (color_parse_mode(when, &m))
		return usage_error("--color wants auto, always or never, not '%s'",
				   when);
	color_set_mode(m);
	return 0;
}

/* Take one global option (c and its value v); 0 or an exit code. */
static int take(struct globals *g, int c, const char *v)
{
	switch (c) {
	case OPT_JSON:
		g->ctx.json = true;
		return 0;
	case 'v':
		g->verbosity++;
		return 0;
	case 'q':
		g->verbosity--;
		return 0;
	case 'h':
		g->help = true;
		return 0;
	case OPT_VERSION:
		g->version = true;
		return 0;
	case OPT_LAB:
		if (!v || !*v)
			return usage_error("%s needs a lab name", "--lab");
		g->ctx.lab_name = v;
		return 0;
	case OPT_COLOR:
		return set_color(v);
	case OPT_NO_COLOR:
		color_set_mode(COLOR_NEVER);
		return 0;
	}
	return LAB_EXIT_USAGE;
}

/* What getopt_long refused; word is the last word it looked at. */
static int refuse(const char *word)
{
	char name[64], bad[3] = { '-', (char)optopt, 0 };
	int i, nmatch = 0;

	if (strncmp(word, "--", 2))	/* a short flag, maybe in a bundle */
		return usage_error("unknown option '%s'", bad);
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(word, "="), word);
	if (optopt && strchr(word, '='))	/* a known flag given a value */
		return usage_error("option '%s' takes no value", name);
	for (i = 0; global_options[i].name; i++)
		nmatch += !strncmp(global_options[i].name, name + 2,
				   strlen(name + 2));
	return usage_error(nmatch > 1 ? "ambiguous option '%s'" :
			   "unknown option '%s'", name);
}

/*
 * Leave getopt as a fresh process has it, so a verb's own getopt_long
 * parses with the default ordering (options among operands) whether it
 * starts with optind = 1 or 0: glibc keeps "+" (stop at the first
 * operand) from the parse above until it is initialised again.
 */
static void reset_getopt(void)
{
	static const struct option none[] = { { NULL, 0, NULL, 0 } };
	char prog[] = "labctl";
	char *argv[] = { prog, NULL };

	opterr = 0;
	optind = 0;
	getopt_long(1, argv, "", none, NULL);
	optind = 1;
	opterr = 1;
}

/* Global options before the verb; *verb_at gets the verb's index. */
static int parse_before_verb(int argc, char **argv, struct globals *g,
			     int *verb_at)
{
	int c, rc;

	opterr = 0;
	optind = 0;
	/* "+": stop at the verb; ":": a missing value is not "unknown". */
	while ((c = getopt_long(argc, argv, "+:vqh", global_options, NULL)) != -1) {
		if (c == ':')
			return usage_error("%s needs a value", argv[optind - 1]);
		if (c == '?')
			return refuse(argv[optind - 1]);
		rc = take(g, c, optarg);
		if (rc)
			return rc;
	}
	*verb_at = optind;
	reset_getopt();
	return 0;
}

/* A word that is all v's or all q's after one "-": -v, -vv, -qq. */
static bool is_vq_run(const char *a, char *which)
{
	size_t i;

	if (a[0] != '-' || (a[1] != 'v' && a[1] != 'q'))
		return false;
	for (i = 2; a[i]; i++)
		if (a[i] != a[1])
			return false;
	*which = a[1];
	return true;
}

/*
 * Take a global option at argv[i] among the verb's words if it is one;
 * returns how many words it used (0: not one), or -1 after an error.
 */
static int take_among_verb_words(int argc, char **argv, int i,
				 struct globals *g)
{
	const char *a = argv[i];
	char which;
	size_t k;

	if (is_vq_run(a, &which)) {
		for (k = 1; a[k]; k++)
			take(g, which, NULL);
		return 1;
	}
	if (!strcmp(a, "-h"))
		return take(g, 'h', NULL), 1;
	if (strncmp(a, "--", 2))
		return 0;
	for (k = 0; global_options[k].name; k++) {
		const struct option *o = &global_options[k];
		size_t len = strlen(o->name);

		if (strncmp(a + 2, o->name, len))
			continue;
		if (!a[2 + len]) {
			if (o->has_arg == required_argument) {
				if (i + 1 >= argc)
					return usage_error("%s needs a value", a), -1;
				return take(g, o->val, argv[i + 1]) ? -1 : 2;
			}
			return take(g, o->val, NULL) ? -1 : 1;
		}
		if (a[2 + len] == '=' && o->has_arg != no_argument)
			return take(g, o->val, a + 3 + len) ? -1 : 1;
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
	struct globals g = { 0 };
	bool seen_dashdash = false;
	int i = 0, n, nargs = 0, rc;
	const struct cmd *cmd;
	char **args;

	/* Errors from write() beat silent deaths (ulimit -f, closed pipes). */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
	lab_log_set_prog("labctl");

	rc = parse_before_verb(argc, argv, &g, &i);
	if (rc)
		return rc;
	if (g.version && i >= argc)
		return finish(cmd_version(1, argv, &g.ctx));
	if (i >= argc) {
		lab_print_overview(g.help ? stdout : stderr);
		return finish(g.help ? 0 : LAB_EXIT_USAGE);
	}
	cmd = lab_find_command(argv[i]);
	if (!cmd)
		return cmd_unknown_command(argv[i]);

	/* The verb's own words, with global options among them taken out. */
	args = calloc((size_t)(argc - i + 1), sizeof(*args));
	if (!args)
		return LAB_EXIT_INFRA;
	args[nargs++] = argv[i];
	for (i++; i < argc; i += n) {
		n = 0;
		if (!strcmp(argv[i], "--"))
			seen_dashdash = true;
		else if (!seen_dashdash)
			n = take_among_verb_words(argc, argv, i, &g);
		if (n < 0) {
			free(args);
			return LAB_EXIT_USAGE;
		}
		if (!n) {
			args[nargs++] = argv[i];
			n = 1;
		}
	}
	lab_log_set_level(LAB_LOG_INFO + g.verbosity);
	if (g.help) {
		cmd_print_usage(cmd, false);
		printf("\n%s.\nSee labctl(1) for details.\n", cmd->summary);
		free(args);
		return finish(0);
	}
	n = cmd->fn(nargs, args, &g.ctx);
	free(args);
	return finish(n);
}
