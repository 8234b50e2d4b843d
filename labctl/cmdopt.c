// SPDX-License-Identifier: MIT
/*
 * A verb's options through getopt_long, as git and coreutils parse them,
 * with labctl's usage errors (labctl.h: struct cmd_getopt).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "labctl/cmdopt.h"
#include "labctl/labctl.h"

void cmd_getopt_init(struct cmd_getopt *g, const char *verb, int argc,
		     char **argv, const struct option *longopts)
{
	size_t n = 0;
	int i;

	memset(g, 0, sizeof(*g));
	g->verb = verb;
	g->argc = argc;
	g->argv = argv;
	g->longopts = longopts;
	/*
	 * "-": operands come back in order (as CMD_OPERAND) whatever
	 * POSIXLY_CORRECT says; ":": a missing value is reported apart
	 * from an unknown option, and getopt itself prints nothing.
	 */
	g->shortopts[n++] = '-';
	g->shortopts[n++] = ':';
	for (i = 0; longopts[i].name; i++) {
		int c = longopts[i].val;

		if (c <= ' ' || c >= 127 || c == ':' || c == '-' || c == '?' ||
		    n + 3 >= sizeof(g->shortopts))
			continue;
		g->shortopts[n++] = (char)c;
		if (longopts[i].has_arg == required_argument)
			g->shortopts[n++] = ':';
		else if (longopts[i].has_arg == optional_argument) {
			g->shortopts[n++] = ':';
			g->shortopts[n++] = ':';
		}
	}
	g->shortopts[n] = '\0';
	opterr = 0;
	optind = 0;	/* glibc: start over, whatever parsed argv before */
}

/* The long option named by word ("--name" or "--name=value"), or NULL;
 * *nmatch the number of options it is a prefix of. */
static const struct option *long_match(const struct cmd_getopt *g,
				       const char *word, int *nmatch)
{
	const char *name = word + 2, *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const struct option *hit = NULL;
	int i;

	*nmatch = 0;
	for (i = 0; g->longopts[i].name; i++) {
		if (strncmp(g->longopts[i].name, name, len))
			continue;
		if (strlen(g->longopts[i].name) == len) {
			*nmatch = 1;
			return &g->longopts[i];
		}
		(*nmatch)++;
		hit = &g->longopts[i];
	}
	return *nmatch == 1 ? hit : NULL;
}

/* The usage error for what getopt_long refused; returns CMD_OPT_BAD. */
static int refuse(struct cmd_getopt *g, int c)
{
	const char *word = optind > 0 && optind <= g->argc ?
			   g->argv[optind - 1] : "";
	bool is_long = word && !strncmp(word, "--", 2) && word[2];
	const struct option *o = NULL;
	int nmatch = 0;
	size_t len;

	if (is_long)
		o = long_match(g, word, &nmatch);
	len = is_long ? strcspn(word, "=") : 0;
	if (c == ':') {
		if (is_long && o && o->val == optopt)
			cmd_usage_error(g->verb, "option '--%s' needs a value",
					o->name);
		else
			cmd_usage_error(g->verb, "option '-%c' needs a value",
					optopt);
	} else if (is_long && optopt && o && o->val == optopt &&
		   strchr(word, '=')) {
		cmd_usage_error(g->verb, "option '--%s' takes no value", o->name);
	} else if (is_long && !optopt && nmatch > 1) {
		cmd_usage_error(g->verb, "ambiguous option '%.*s' (more than one option starts so)",
				(int)len, word);
	} else if (!optopt) {
		cmd_usage_error(g->verb, "unknown option '%.*s'", (int)len,
				word);
	} else {
		cmd_usage_error(g->verb, "unknown option '-%c'", optopt);
	}
	return CMD_OPT_BAD;
}

int cmd_getopt_next(struct cmd_getopt *g)
{
	int c;

	g->arg = NULL;
	if (g->done) {
		if (optind >= g->argc)
			return -1;
		g->arg = g->argv[optind++];
		return CMD_OPERAND;
	}
	c = getopt_long(g->argc, g->argv, g->shortopts, g->longopts, NULL);
	if (c == -1) {
		/* "--" or the end: whatever is left is operands. */
		g->done = true;
		return cmd_getopt_next(g);
	}
	if (c == '?' || c == ':')
		return refuse(g, c);
	g->arg = optarg;
	return c;
}

/* For verbs that call getopt_long themselves (labctl/cmdopt.h). */
int cmd_bad_option(const char *verb, const char *what, int c, char **argv)
{
	const char *word = argv[optind - 1];
	char opt[3] = { '-', (char)optopt, '\0' };
	int len = (int)strcspn(word, "=");

	if (strncmp(word, "--", 2)) {
		/* a short option, maybe inside a bundle like -fx */
		word = opt;
		len = 2;
	} else if (c == '?' && optopt && word[len] == '=') {
		return cmd_usage_error(verb, "%s%.*s takes no value", what,
				       len, word);
	}
	if (c == ':')
		return cmd_usage_error(verb, "%s%.*s needs a value", what, len,
				       word);
	return cmd_usage_error(verb, "%sunknown option '%.*s'", what, len, word);
}
