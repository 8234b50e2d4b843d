/* SPDX-License-Identifier: MIT */
/*
 * The command layer: a git-style table of verbs (commands.c), one
 * cmd_<verb>.c per verb.  A command returns a process exit code
 * (LAB_EXIT_*); only this layer turns errors into exit codes.
 */
#ifndef LABCTL_H
#define LABCTL_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "lib/err.h"

struct cmd_ctx {
	const char *lab_name;	/* --lab NAME, or NULL */
	bool json;		/* --json: machine-readable output on stdout */
	bool dry_run;		/* --dry-run where a verb supports it */
};

typedef int (*cmd_fn)(int argc, char **argv, struct cmd_ctx *ctx);

/* Flags of a table entry. */
#define CMD_NEED_LAB	(1u << 0)	/* resolves a lab (arg or --lab or default) */

struct cmd {
	const char *name;
	cmd_fn fn;
	unsigned flags;
	const char *summary;		/* one line for `labctl help` */
	/* Synopsis lines without the "labctl " prefix, NULL-terminated.
	 * tests/t check they match man/labctl.1 word for word. */
	const char *const *usage;
};

/* The table, terminated by an entry with name == NULL. */
extern const struct cmd lab_commands[];
const struct cmd *lab_find_command(const char *name);

/*
 * A verb that is not in the table: one line on stderr naming it, with
 * the most similar verbs when some are close (git's "did you mean"),
 * never the whole help.  Returns LAB_EXIT_USAGE.
 */
int cmd_unknown_command(const char *name);
struct strbuf;
/* "did you mean 'x' or 'y'?" for name into out, or nothing. */
void cmd_suggest_command(const char *name, struct strbuf *out);

/* The top-level help (`labctl --help`). */
void lab_print_overview(FILE *f);

/* Print "usage: labctl ..." lines for cmd to stdout or stderr. */
void cmd_print_usage(const struct cmd *cmd, bool to_stderr);

/*
 * Report a usage error for the verb named `verb`: prints
 * "labctl: <message>" and the verb's synopsis to stderr, returns 2.
 */
int cmd_usage_error(const char *verb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Report a failure from a function that returned -LAB_E*: prints
 * "labctl: <recorded message>" to stderr, returns lab_exit_code(err).
 */
int cmd_fail(int err);

/*
 * The same for an error from work on something that does not know its name
 * (a block in memory): "labctl: <what>: <recorded message>".
 */
int cmd_fail_on(const char *what, int err);

struct lab;
/*
 * Open the lab a verb works on: the positional name if given, else --lab,
 * else $LABCTL_LAB, else the default lab (qemu).  On failure prints the
 * error and returns the exit code (non-zero); 0 with *out set on success.
 */
int cmd_open_lab(const struct cmd_ctx *ctx, const char *positional,
		 struct lab **out);

/*
 * For verbs taking [LAB] NAME...: picks the lab (the first word when it
 * names a lab and --lab is not given) and leaves *args and *nargs at the
 * names.  Same return convention as cmd_open_lab.
 */
int cmd_open_lab_for_names(const struct cmd_ctx *ctx, int *nargs,
			   char ***args, struct lab **out);

/*
 * A verb's options parsed as git and coreutils do, with getopt_long:
 * bundled short flags (-iE), -U5 and -U 5, --opt=value and --opt value,
 * unique prefixes of long names, options before and after the operands,
 * and "--" ending the options.  One table gives both forms: an entry
 * whose val is a printable character is also that short option
 * (long-only options use values from CMD_OPT_LONG up).
 *
 *	cmd_getopt_init(&g, "grep", argc, argv, options);
 *	while ((c = cmd_getopt_next(&g)) != -1)
 *		switch (c) {
 *		case CMD_OPERAND: ... g.arg is the word, in order ...
 *		case 'i': ...
 *		case CMD_OPT_BAD: return LAB_EXIT_USAGE;
 *		}
 *
 * An unknown option, an ambiguous prefix, a missing value or a value
 * given to a flag prints "labctl VERB: ..." with the verb's synopsis
 * (cmd_usage_error) and returns CMD_OPT_BAD.
 */
#define CMD_OPERAND	1
#define CMD_OPT_BAD	'?'
#define CMD_OPT_LONG	256

struct cmd_getopt {
	const char *verb;
	const char *what;	/* "" or a sub-command's "set: " in messages */
	int argc;
	char **argv;
	const struct option *longopts;	/* ends with an all-zero entry */
	char *arg;		/* the option's value, or the operand */
	/* private */
	bool done;
	char shortopts[160];
};

void cmd_getopt_init(struct cmd_getopt *g, const char *verb, int argc,
		     char **argv, const struct option *longopts);
/* Short options without a long name, in getopt's form ("j:"); call
 * after cmd_getopt_init. */
void cmd_getopt_short(struct cmd_getopt *g, const char *shortopts);
int cmd_getopt_next(struct cmd_getopt *g);

/* --stage N (0: what comes before stage 1); a usage error otherwise. */
int cmd_parse_stage(const char *verb, const char *v, int *stage);

/* Verbs. */
int cmd_help(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_version(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_labs(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_show(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_grubenv(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_chain(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_grub(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_build(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_deploy(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_boot(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_run(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_power(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_log(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_lock(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_unlock(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_locks(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_trust(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_reboot(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_console(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_results(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_grep(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_diff(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_report(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_bisect(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_matrix(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_optbisect(int argc, char **argv, struct cmd_ctx *ctx);

/*
 * For run/boot --junit FILE and --tap (cmd_report.c): load the result
 * at log_path and write it as JUnit XML to junit_path (atomically; "-"
 * is stdout) and/or as TAP to tap_out.  0 or -LAB_E*.
 */
int report_run_formats(const char *log_path, const char *junit_path,
		       bool tap, FILE *tap_out);

struct run_result;
/*
 * run and boot (cmd_run.c): a run's summary, its stages with their times,
 * the verdict and the line that decided, and where its log is.
 */
void run_print_summary(const struct run_result *r, FILE *f);

/* labctl chain LAB set|show|clear and labctl grub install (cmd_board.c). */
int cmd_chain_lab(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_grub_install(int argc, char **argv, struct cmd_ctx *ctx);

#endif
