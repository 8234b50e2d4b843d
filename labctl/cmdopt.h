/* SPDX-License-Identifier: MIT */
/*
 * The usage error for what getopt_long() returned when it did not take an
 * option (run it with opterr = 0 and an optstring starting with ':').
 */
#ifndef LABCTL_CMDOPT_H
#define LABCTL_CMDOPT_H

/*
 * c is ':' (a value is missing) or '?' (unknown, or a value given to a
 * flag); argv is what getopt_long() was given.  Prints "labctl VERB:
 * WHAT...unknown option '--x'" (what may be "" or "set: ") and the
 * verb's synopsis; returns 2.
 */
int cmd_bad_option(const char *verb, const char *what, int c, char **argv);

#endif
