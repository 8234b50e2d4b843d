// SPDX-License-Identifier: MIT
/*
 * Test driver for tests/t/96-real-rules.t: judges console text offline
 * with the watch a run builds (labctl/run.c make_watch): the lab file's
 * rule keys through lab_rules_load, its [watch] fail and pass keys, cpus
 * and iter_min as a run resolves them.  No timeouts: only lines decide.
 *
 *   rules-driver LAB VARIANT[,VARIANT...] PREAMBLE < CASES
 *       each line of CASES is one case: a watch that read PREAMBLE's
 *       lines reads the case line; prints one line per case
 *       "VERDICT<TAB>LINE<TAB>REASON" (pending, pass, fail, infra; the
 *       line that decided, or empty).  Cases that leave the watch
 *       pending in the same stage share it (building one compiles every
 *       pattern: the cost of a case).
 *   rules-driver -l LAB VARIANT[,VARIANT...] < LOG
 *       one watch reads the whole log; prints "VERDICT<TAB>LINE<TAB>
 *       REASON<TAB>LINE-NO<TAB>CURRENT-STAGE"
 *
 * Tabs in LINE and REASON are written as \t.  Exit 0, 1 on an error (the
 * message on stderr), 2 on bad usage.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labctl/labconf.h"
#include "labctl/rules.h"
#include "labctl/watch.h"
#include "lib/err.h"
#include "lib/xmalloc.h"

#define MAX_STAGES 16

struct judge {
	struct watch_stage_def defs[MAX_STAGES];
	struct watch_opts wo;
	const char *fails[2];
	int n;
};

/* ${variant} in a banner template: the names here need no escaping. */
static char *expand_banner(const char *tmpl, const char *name)
{
	const char *var = strstr(tmpl, "${variant}");

	if (!var)
		return xstrdup(tmpl);
	return xasprintf("%.*s%s%s", (int)(var - tmpl), tmpl, name,
			 var + strlen("${variant}"));
}

static int setup(struct judge *j, const struct lab *lab, char *names,
		 struct lab_rules *lr)
{
	const struct lab_variant *chain[MAX_STAGES];
	char *save = NULL, *tok;
	int i, ret;

	memset(j, 0, sizeof(*j));
	for (tok = strtok_r(names, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (j->n == MAX_STAGES)
			return lab_err(LAB_EUSAGE, "more than %d stages", MAX_STAGES);
		chain[j->n] = lab_find_variant(lab, tok);
		if (!chain[j->n])
			return lab_err(LAB_ECONFIG, "no variant '%s'", tok);
		j->n++;
	}
	ret = lab_rules_load(lab, chain, j->n, false, lr);
	if (ret)
		return ret;
	/* As the run engine's make_watch, from the typed lab. */
	j->fails[0] = lab->watch.fail;
	j->wo.fail_res = j->fails;
	j->wo.pass_re = lab->watch.pass;
	j->wo.rules = lr->run;
	j->wo.cpus = lr->cpus ? lr->cpus :
		     lab->watch.cpus ? lab->watch.cpus : lab->board.smp;
	j->wo.iter_min = lr->iter_min >= 0 ? lr->iter_min :
			 lab->watch.iter_min;
	for (i = 0; i < j->n; i++) {
		const char *b = lab_variant_get(chain[i], "banner");

		j->defs[i].name = chain[i]->name;
		j->defs[i].banner = expand_banner(b ? b : lr->banner[i],
						  chain[i]->name);
		j->defs[i].rules = lr->stage[i];
	}
	return 0;
}

static void put_escaped(const char *s)
{
	for (; *s; s++) {
		if (*s == '\t')
			fputs("\\t", stdout);
		else
			putchar(*s);
	}
}

static void report(const struct watch *w, bool whole)
{
	printf("%s\t", watch_verdict_name(watch_verdict(w)));
	put_escaped(watch_line_text(w));
	putchar('\t');
	put_escaped(watch_reason(w));
	if (whole)
		printf("\t%d\t%d", watch_line_no(w), watch_current_stage(w));
	putchar('\n');
}

static size_t chomp(char *line, size_t len)
{
	if (len && line[len - 1] == '\n')
		line[--len] = '\0';
	return len;
}

static int feed_file(struct watch *w, FILE *f, int64_t *t)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	while ((len = getline(&line, &cap, f)) >= 0) {
		*t += 1000000;
		watch_line(w, line, chomp(line, (size_t)len), *t, 0);
	}
	free(line);
	return ferror(f) ? -1 : 0;
}

static struct watch *new_watch(const struct judge *j)
{
	struct watch *w = watch_new(j->defs, j->n, &j->wo);

	if (!w)
		fprintf(stderr, "rules-driver: watch: %s\n", lab_errmsg(-LAB_ECONFIG));
	return w;
}

static int per_case(const struct judge *j, const char *preamble)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int ret = 0;

	struct watch *w = NULL;
	int64_t t = 0;
	int stage = -1;

	while (!ret && (len = getline(&line, &cap, stdin)) >= 0) {
		if (!w) {
			FILE *f = fopen(preamble, "r");

			w = new_watch(j);
			t = 0;
			if (!w || !f || feed_file(w, f, &t) < 0) {
				if (w)
					perror(preamble);
				ret = 1;
			}
			if (f)
				fclose(f);
			if (ret)
				break;
			stage = watch_current_stage(w);
		}
		t += 1000000;
		watch_line(w, line, chomp(line, (size_t)len), t, 0);
		report(w, false);
		/* A line that decided or began a stage leaves a watch the next
		 * case cannot share; one that did neither changed nothing a
		 * fail rule depends on. */
		if (watch_verdict(w) != VERDICT_PENDING ||
		    watch_current_stage(w) != stage) {
			watch_free(w);
			w = NULL;
		}
	}
	watch_free(w);
	free(line);
	return ret;
}

int main(int argc, char **argv)
{
	bool whole = argc > 1 && !strcmp(argv[1], "-l");
	struct lab_rules lr;
	struct lab *lab = NULL;
	struct judge j;
	int i, ret;

	if (argc != 4) {
		fprintf(stderr, "usage: rules-driver LAB VARIANT[,...] PREAMBLE < CASES\n"
			"       rules-driver -l LAB VARIANT[,...] < LOG\n");
		return 2;
	}
	memset(&lr, 0, sizeof(lr));
	memset(&j, 0, sizeof(j));
	ret = lab_load(argv[whole ? 2 : 1], &lab);
	if (!ret)
		ret = setup(&j, lab, argv[whole ? 3 : 2], &lr);
	if (ret) {
		fprintf(stderr, "rules-driver: %s\n", lab_errmsg(ret));
		lab_free(lab);
		return 1;
	}
	if (whole) {
		struct watch *w = new_watch(&j);
		int64_t t = 0;

		ret = 1;
		if (w && feed_file(w, stdin, &t) == 0) {
			report(w, true);
			ret = 0;
		}
		watch_free(w);
	} else {
		ret = per_case(&j, argv[3]);
	}
	for (i = 0; i < j.n; i++)
		free((char *)j.defs[i].banner);
	lab_rules_release(&lr);
	lab_free(lab);
	return ret;
}
