// SPDX-License-Identifier: MIT
#include <getopt.h>
#include <string.h>

#include "labctl/cmdopt.h"
#include "labctl/labctl.h"

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
