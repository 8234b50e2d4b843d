// SPDX-License-Identifier: MIT
/*
 * A verb's options through getopt_long, as git and coreutils parse them,
 * with labctl's usage errors (labctl.h: struct cmd_getopt).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "labctl/labctl.h"

void cmd_getopt_init(struct cmd_getopt *g, const char *verb, int argc,
		     char **argv, const struct option *longopts)
{
	size_t n = 0;
	int i;

	memset(g, 0, sizeof(*g));
	g->verb = verb;
	g->what = "";
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

void cmd_getopt_short(struct cmd_getopt *g, const char *shortopts)
{
	size_t n = strlen(g->shortopts);

	if (n + strlen(shortopts) < sizeof(g->shortopts))
		memcpy(g->shortopts + n, shortopts, strlen(shortopts) + 1);
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
			cmd_usage_error(g->verb, "%soption '--%s' needs a value",
					g->what, o->name);
		else
			cmd_usage_error(g->verb, "%soption '-%c' needs a value",
					g->what, optopt);
	} else if (is_long && optopt && o && o->val == optopt &&
		   strchr(word, '=')) {
		cmd_usage_error(g->verb, "%soption '--%s' takes no value",
				g->what, o->name);
	} else if (is_long && !optopt && nmatch > 1) {
		cmd_usage_error(g->verb, "%sambiguous option '%.*s' (more than one option starts so)",
				g->what, (int)len, word);
	} else if (!optopt) {
		cmd_usage_error(g->verb, "%sunknown option '%.*s'", g->what,
				(int)len, word);
	} else {
		cmd_usage_error(g->verb, "%sunknown option '-%c'", g->what,
				optopt);
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
