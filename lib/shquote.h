/* SPDX-License-Identifier: MIT */
/*
 * The one place that quotes values for a remote POSIX shell (ssh runs the
 * remote command through the user's login shell).  Every value that reaches
 * a remote shell goes through here.
 */
#ifndef LAB_SHQUOTE_H
#define LAB_SHQUOTE_H

#include "strbuf.h"

/*
 * Append value quoted for sh: words made only of safe characters
 * ([A-Za-z0-9_@%+=:,./-]) are left as they are, everything else is put in
 * single quotes with ' written as '\''.  The empty string becomes ''.
 */
void sh_quote(struct strbuf *out, const char *value);
/*
 * Append argv as one command line, each word quoted and space separated;
 * a first word with '=' in it is always quoted, so it runs as a command
 * instead of being taken for a NAME=value assignment.
 */
void sh_quote_argv(struct strbuf *out, const char *const *argv);

#endif
