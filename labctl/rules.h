/* SPDX-License-Identifier: MIT */
/*
 * Rule sets: how a boot's console is judged, as data (man/labctl-rules.5).
 *
 *   # comment
 *   banner /ERE/            the line that starts a stage of this kind
 *   fail   /ERE/ [REASON]   a line that fails the run
 *   pass   /ERE/            a line that passes the last stage
 *   iter   /ERE/            an iteration line; group 1 is the CPU id (hex)
 *   iter_min N              every CPU must print more than N of them
 *   cpus N                  ... on this many CPUs
 *   end    /ERE/ [REASON]   the chain is over (a login prompt): decide now
 *   ignore /ERE/            lines no fail, pass, iter or end rule looks at
 *   include NAME|PATH       another set, here
 *
 * Four sets are built in (xmhf, lhv, linux, standin); their text is
 * compiled in, identical to rules/NAME.rules (a unit test checks), so a
 * verdict never depends on what is installed where.  Other names are
 * NAME.rules in $LABCTL_RULES (':'-separated dirs), then in
 * <datadir>/rules.  Every error is "FILE:LINE: message", LAB_ECONFIG.
 */
#ifndef RULES_H
#define RULES_H

#include <stdbool.h>
#include <stddef.h>

enum rule_kind {
	RULE_BANNER,
	RULE_FAIL,
	RULE_PASS,
	RULE_ITER,
	RULE_END,
	RULE_IGNORE,
};

struct rule {
	enum rule_kind kind;
	char *re;		/* POSIX ERE as meant: slashes and \/ undone */
	bool icase;		/* /ERE/i */
	char *reason;		/* fail, end: the text after the pattern, or NULL */
	char *file;		/* where it was written, for messages */
	int line;
};

struct rule_set {
	struct rule *rules;	/* in the order read, includes in place */
	int n;
	int cpus;		/* 0: not set */
	int iter_min;		/* -1: not set */
	long atoms;		/* size of its patterns, bounded (regcomp's cost) */
};

#define RULES_NO_FILES 0x1	/* include only built-in sets (the fuzzer) */

/* The built-in set names, NULL-ended; and one's text (NULL: none such). */
extern const char *const rules_builtin_names[];
const char *rules_builtin_text(const char *name);

struct rule_set *rules_new(void);
void rules_free(struct rule_set *set);

/*
 * Append to set: rules from text (path names it in messages and anchors
 * relative includes), from a file, or from a set by name.  from/from_line
 * say who asked for the name, for the message when it is unknown (NULL:
 * no location).  On error the set may hold part of the input.
 */
int rules_parse(struct rule_set *set, const char *path, const char *text,
		size_t len, unsigned flags);
int rules_load_file(struct rule_set *set, const char *path, const char *from,
		    int from_line);
int rules_load_name(struct rule_set *set, const char *name, const char *from,
		    int from_line, unsigned flags);

/* The set's banner: its last banner line, or NULL. */
const char *rules_banner(const struct rule_set *set);
/* Whether it has a rule that can pass the last stage (pass, iter, end). */
bool rules_judges(const struct rule_set *set);

/*
 * Why re cannot be a pattern of this kind (the checks of a rule file), as
 * "pattern /re/: why" in msg, or NULL.  For the lab file's pattern keys.
 */
const char *rules_pattern_problem(enum rule_kind kind, const char *re,
				  char *msg, size_t size);

/* Text of a set (includes expanded), which parses back to the same set. */
char *rules_format(const struct rule_set *set);

struct lab;
struct lab_variant;

/*
 * What a lab's rule keys mean for one run of chain[0..n-1]:
 *  run:      [watch] rules (default standin) then [watch] rules_file;
 *  stage[i]: the variant's rules (default by what it builds: standin;
 *            xmhf64: lhv or xmhf as hv_variant_kind says from its last
 *            build or its tree, else by --lhv-opt in args) then its
 *            rules_file; a recipe's set keeps its pass, iter and end rules
 *            only when the run's set has none (a lab without rule keys is
 *            judged by the standin set, as it always was);
 *  run:      without the xmhf set's pass rule (its guest came up), which
 *            judges XMHF stages only: it joins the run's judging rules when
 *            the last stage is a recipe-chosen xmhf set and those rules are
 *            all built in and none is an end rule (a guest OS then decides);
 *  banner[i]: the stage's banner template (${variant} not expanded yet):
 *            the last banner in stage[i], else the recipe default's;
 *  cpus, iter_min: the lab's [watch] keys when the file sets them, else
 *            the last stage's set's, else the run set's, else 0 / -1.
 * Errors name the lab file and line of the key.
 */
struct lab_rules {
	struct rule_set *run;
	struct rule_set **stage;
	char **banner;
	int n;
	int cpus;		/* 0: not set */
	int iter_min;		/* -1: not set */
};

/*
 * How lab_rules_load arranges the sets it loaded (exported for the watch's
 * tests): the run's set loses XMHF's guest rule; a stage that names no set
 * of its own yields its judging rules to a run set that judges, and a last
 * XMHF stage's guest rule joins the run's built-in rules unless an end
 * rule (a guest OS) decides.
 */
void rules_arrange_run(struct rule_set *run);
void rules_arrange_stage(struct rule_set *run, struct rule_set *stage,
			 bool last);

/* ends_in_os: the chain ends in the board's OS (`run ... default`). */
int lab_rules_load(const struct lab *lab, const struct lab_variant *const *chain,
		   int n, bool ends_in_os, struct lab_rules *out);
/* Every rule key of the lab reads: [watch] and each variant's (show). */
int lab_rules_check(const struct lab *lab);
void lab_rules_release(struct lab_rules *lr);

#endif
