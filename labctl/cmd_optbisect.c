// SPDX-License-Identifier: MIT
/*
 * labctl opt-bisect LAB VARIANT --good A --bad B: delta debugging (ddmin,
 * matrix.h) over the option bits where A and B differ, each round's
 * configurations run in parallel across the lab's pool of boards, never
 * one that breaks the variant's opt_requires.  Prints the culprit bits,
 * every configuration tried with its verdict, and the number of runs.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labctl/labconf.h"
#include "labctl/labctl.h"
#include "labctl/matrix.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

struct bisect_args {
	const char *words[2];
	int nwords;
	const char *good, *bad, *before, *results_dir;
	int64_t timeout_ms;
	int jobs;
	bool force;
};

enum { OPT_GOOD = CMD_OPT_LONG, OPT_BAD, OPT_BEFORE, OPT_RESULTS,
       OPT_TIMEOUT, OPT_FORCE };

static const struct option options[] = {
	{ "good", required_argument, NULL, OPT_GOOD },
	{ "bad", required_argument, NULL, OPT_BAD },
	{ "before", required_argument, NULL, OPT_BEFORE },
	{ "results", required_argument, NULL, OPT_RESULTS },
	{ "jobs", required_argument, NULL, 'j' },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ NULL, 0, NULL, 0 }
};

static int parse(int argc, char **argv, struct bisect_args *a)
{
	const char **str, *val;
	struct cmd_getopt g;
	int64_t n;
	int c;

	cmd_getopt_init(&g, "opt-bisect", argc, argv, options);
	while ((c = cmd_getopt_next(&g)) != -1) {
		val = g.arg;
		str = c == OPT_GOOD ? &a->good : c == OPT_BAD ? &a->bad :
		      c == OPT_BEFORE ? &a->before :
		      c == OPT_RESULTS ? &a->results_dir : NULL;
		if (str) {
			if (!*val)
				return cmd_usage_error("opt-bisect", "--%s needs a value",
						       options[c - OPT_GOOD].name);
			*str = val;
			continue;
		}
		switch (c) {
		case 'j':
			if (lab_parse_int(val, &n) < 0 || n < 1 || n > 64)
				return cmd_usage_error("opt-bisect",
						       "-j takes a number from 1 to 64");
			a->jobs = (int)n;
			break;
		case OPT_TIMEOUT:
			if (lab_parse_duration_ms(val, &a->timeout_ms) < 0 ||
			    a->timeout_ms <= 0)
				return cmd_usage_error("opt-bisect",
						       "--timeout takes a duration such as 90s or 5m");
			break;
		case OPT_FORCE:
			a->force = true;
			break;
		case CMD_OPERAND:
			if (a->nwords >= 2)
				return cmd_usage_error("opt-bisect",
						       "too many arguments ('%s')", val);
			a->words[a->nwords++] = val;
			break;
		default:
			return LAB_EXIT_USAGE;
		}
	}
	if (!a->nwords)
		return cmd_usage_error("opt-bisect", "name the variant whose option bits to search");
	if (!a->good || !a->bad)
		return cmd_usage_error("opt-bisect",
				       "give both ends: --good VALUE (passes) and --bad VALUE (fails)");
	return 0;
}

static int parse_value(const char *what, const char *s, uint32_t *out)
{
	int64_t v;

	if (lab_parse_int(s, &v) < 0 || v < 0 || v > 0xffffffffLL)
		return cmd_usage_error("opt-bisect",
				       "%s '%s' is not an option value (0x... or decimal, up to 0xffffffff)",
				       what, s);
	*out = (uint32_t)v;
	return 0;
}

static void add_bits(struct strbuf *sb, uint32_t bits)
{
	int b;
	bool first = true;

	for (b = 0; b < 32; b++) {
		if (!(bits & (1u << b)))
			continue;
		strbuf_addf(sb, "%s0x%x", first ? "" : " ", 1u << b);
		first = false;
	}
}

/* The bits of bits as a JSON array of "0x..." strings. */
static json_t *json_bits(uint32_t bits)
{
	json_t *a = json_array();
	int b;

	for (b = 0; b < 32; b++)
		if (bits & (1u << b))
			json_array_append_new(a, json_sprintf("0x%x", 1u << b));
	return a;
}

/* The cell of cfg, made on first use; cells[] grows. */
static struct mx_cell *cell_for(struct mx_runner *r, struct mx_cell ***cells,
				int *n, const char *arch, uint32_t cfg, int *err)
{
	int i;

	for (i = 0; i < *n; i++)
		if ((*cells)[i]->options == cfg)
			return (*cells)[i];
	*cells = xrealloc(*cells, (size_t)(*n + 1) * sizeof(**cells));
	(*cells)[*n] = xzalloc(sizeof(***cells));
	*err = mx_cell_init(r, (*cells)[*n], arch, cfg);
	return (*cells)[(*n)++];
}

static const char *status_name(enum ddmin_status s, bool interrupted)
{
	if (interrupted)
		return "interrupted";
	switch (s) {
	case DDMIN_FOUND:
		return "found";
	case DDMIN_GOOD_FAILS:
		return "good-fails";
	case DDMIN_BAD_PASSES:
		return "bad-passes";
	case DDMIN_UNRESOLVED:
		return "unresolved";
	default:
		return "running";
	}
}

static const char *try_word(const struct ddmin_try *t)
{
	return t->verdict == MX_FAIL ? "FAIL" : t->out ? "not run" :
	       mx_verdict_name(t->verdict);
}

static void print_json(const struct mx_runner *r, const struct ddmin *d,
		       struct mx_cell **cells, int ncells, const char *arch,
		       bool interrupted, double elapsed)
{
	json_t *doc = json_object(), *a;
	int i, k, unresolved = 0;

	lab_json_set(doc, "lab", lab_json_str(r->lab->name));
	lab_json_set(doc, "variant", lab_json_str(r->base));
	lab_json_set(doc, "arch", lab_json_str(arch));
	lab_json_set(doc, "good", json_sprintf("0x%x", d->good));
	lab_json_set(doc, "bad", json_sprintf("0x%x", d->bad));
	json_object_set_new(doc, "differing", json_bits(d->delta));
	a = json_array();
	for (i = 0; d->deps && i < d->deps->n; i++) {
		struct strbuf rule = STRBUF_INIT;

		mx_dep_describe(d->deps, i, &rule);
		json_array_append_new(a, lab_json_str(strbuf_str(&rule)));
		strbuf_release(&rule);
	}
	json_object_set_new(doc, "rules", a);
	lab_json_set(doc, "status",
		     lab_json_str(status_name(d->status, interrupted)));
	json_object_set_new(doc, "culprit", json_bits(ddmin_culprit(d)));
	lab_json_set(doc, "culprit_value", d->status == DDMIN_FOUND ?
		     json_sprintf("0x%x", d->good ^ d->cur) : NULL);
	a = json_array();
	for (i = 0; i < d->ntries; i++) {
		const struct ddmin_try *t = &d->tries[i];
		const struct mx_cell *c = NULL;
		json_t *o = json_object();

		for (k = 0; k < ncells; k++)
			if (cells[k]->options == t->cfg)
				c = cells[k];
		unresolved += t->verdict == MX_UNRESOLVED;
		lab_json_set(o, "options", json_sprintf("0x%x", t->cfg));
		lab_json_set(o, "verdict", lab_json_str(t->out ? "not run" :
							mx_verdict_name(t->verdict)));
		json_object_set_new(o, "round", json_integer(t->round));
		json_object_set_new(o, "attempts", json_integer(t->attempts));
		lab_json_set(o, "repaired_from", t->asked_set != t->set ?
			     json_sprintf("0x%x", d->good ^ t->asked_set) : NULL);
		lab_json_set(o, "result", lab_json_str(c ? c->result : NULL));
		lab_json_set(o, "reason",
			     lab_json_str(c && c->reason ? c->reason : ""));
		lab_json_set(o, "line", lab_json_str(c && c->line ? c->line : ""));
		json_array_append_new(a, o);
	}
	json_object_set_new(doc, "configurations", a);
	json_object_set_new(doc, "runs", json_integer(d->runs));
	json_object_set_new(doc, "rounds", json_integer(d->rounds));
	json_object_set_new(doc, "unresolved", json_integer(unresolved));
	json_object_set_new(doc, "skipped", json_integer(d->skipped));
	json_object_set_new(doc, "jobs", json_integer(r->jobs));
	json_object_set_new(doc, "elapsed", json_real(round(elapsed * 1000) / 1000));
	lab_json_print(stdout, doc);
	json_decref(doc);
}

static void print_text(const struct mx_runner *r, const struct ddmin *d,
		       struct mx_cell **cells, int ncells, const char *arch,
		       bool interrupted, double elapsed)
{
	struct strbuf sb = STRBUF_INIT;
	uint32_t culprit = ddmin_culprit(d);
	int i, k, unresolved = 0;

	add_bits(&sb, d->delta);
	printf("\nopt-bisect %s: %s (%s), good 0x%x, bad 0x%x: %d bit%s differ (%s)\n",
	       r->lab->name, r->base, arch, d->good, d->bad,
	       __builtin_popcount(d->delta),
	       __builtin_popcount(d->delta) == 1 ? "" : "s", strbuf_str(&sb));
	for (i = 0; d->deps && i < d->deps->n; i++) {
		strbuf_reset(&sb);
		mx_dep_describe(d->deps, i, &sb);
		printf("%s%s", i ? ", " : "opt_requires: ", strbuf_str(&sb));
	}
	if (d->deps && d->deps->n)
		printf("\n");
	printf("\n  round  options     verdict   result\n");
	for (i = 0; i < d->ntries; i++) {
		const struct ddmin_try *t = &d->tries[i];
		const struct mx_cell *c = NULL;

		for (k = 0; k < ncells; k++)
			if (cells[k]->options == t->cfg)
				c = cells[k];
		unresolved += t->verdict == MX_UNRESOLVED;
		printf("  %5d  0x%-8x  %-8s  %s", t->round, t->cfg, try_word(t),
		       c && c->result ? c->result : "-");
		if (t->attempts > 1)
			printf(" (%d runs)", t->attempts);
		if (t->asked_set != t->set)
			printf(" (0x%x repaired: opt_requires)",
			       d->good ^ t->asked_set);
		if (c && t->verdict == MX_FAIL && c->line)
			printf("\n                              %s", c->line);
		else if (c && t->verdict != MX_PASS && t->verdict != MX_FAIL &&
			 c->reason)
			printf("\n                              %s", c->reason);
		printf("\n");
	}
	printf("\n");
	if (interrupted) {
		printf("interrupted: no culprit yet\n");
	} else if (d->status == DDMIN_FOUND) {
		strbuf_reset(&sb);
		add_bits(&sb, culprit);
		printf("culprit: %s", strbuf_str(&sb));
		for (i = 0; i < 32; i++) {
			uint32_t bit = 1u << i;

			if (culprit & bit)
				printf("%s0x%x %s in bad", i && (culprit & (bit - 1)) ? ", " : " (",
				       bit, d->bad & bit ? "set" : "clear");
		}
		printf("): good 0x%x with %s is 0x%x, which fails\n", d->good,
		       __builtin_popcount(culprit) == 1 ? "it" : "them",
		       d->good ^ d->cur);
		if (unresolved)
			printf("warning: %d configuration%s had lab errors twice (unresolved): the set may not be minimal\n",
			       unresolved, unresolved == 1 ? "" : "s");
	} else if (d->status == DDMIN_GOOD_FAILS) {
		printf("no culprit: --good 0x%x fails, so it is not good\n", d->good);
	} else if (d->status == DDMIN_BAD_PASSES) {
		printf("no culprit: --bad 0x%x passes, so it is not bad\n", d->bad);
	} else {
		printf("no culprit: an end had lab errors twice (unresolved)\n");
	}
	printf("runs: %d in %d round%s on up to %d board%s, %.1f s\n", d->runs,
	       d->rounds, d->rounds == 1 ? "" : "s", r->jobs,
	       r->jobs == 1 ? "" : "s", elapsed);
	strbuf_release(&sb);
}

int cmd_optbisect(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct bisect_args a = { 0 };
	struct mx_runner r = { .verb = "opt-bisect" };
	struct mx_deps deps = { 0 };
	struct ddmin d = { 0 };
	struct lab *lab = NULL;
	struct mx_cell **cells = NULL, **batch = NULL;
	char **before = NULL, *arch = NULL;
	uint32_t good = 0, bad = 0, *cfgs = NULL;
	int ncells = 0, nbefore = 0, i, rc, ret = 0;
	bool interrupted = false;
	int64_t t0 = lab_mono_ns();

	rc = parse(argc, argv, &a);
	if (!rc)
		rc = parse_value("--good", a.good, &good);
	if (!rc)
		rc = parse_value("--bad", a.bad, &bad);
	if (rc)
		return rc;
	rc = cmd_open_lab(ctx, a.nwords == 2 ? a.words[0] : NULL, &lab);
	if (rc)
		return rc;
	if (a.before) {
		char *copy = xstrdup(a.before), *tok, *save = NULL;

		for (tok = strtok_r(copy, ", ", &save); tok;
		     tok = strtok_r(NULL, ", ", &save)) {
			before = xrealloc(before, (size_t)(nbefore + 1) * sizeof(*before));
			before[nbefore++] = xstrdup(tok);
		}
		free(copy);
	}
	r.jobs = a.jobs;
	r.force_build = a.force;
	r.results_dir = a.results_dir;
	r.timeout_ms = a.timeout_ms;
	r.progress = lab_log_get_level() >= LAB_LOG_INFO;
	r.build_progress = false;
	ret = mx_runner_init(&r, lab, a.words[a.nwords - 1],
			     (const char *const *)before, nbefore);
	if (!ret)
		ret = mx_lab_deps(lab, mx_runner_base(&r), &deps);
	if (!ret)
		ret = ddmin_init(&d, good, bad, &deps);
	if (ret)
		goto fail;
	arch = xstrdup(mx_base_arch(mx_runner_base(&r)));
	cfgs = xcalloc((size_t)r.jobs, sizeof(*cfgs));
	batch = xcalloc((size_t)r.jobs, sizeof(*batch));
	lab_info("opt-bisect %s: %s, %d bits differ between 0x%x and 0x%x; up to %d runs at once",
		 lab->name, r.base, __builtin_popcount(d.delta), good, bad, r.jobs);
	for (;;) {
		int k = ddmin_next(&d, cfgs, r.jobs);

		if (!k)
			break;
		for (i = 0; i < k && !ret; i++) {
			batch[i] = cell_for(&r, &cells, &ncells, arch, cfgs[i], &ret);
			batch[i]->verdict = MX_PENDING;	/* a retry runs again */
		}
		if (ret)
			goto fail;
		r.cells_done = 0;
		r.cells_total = k;
		lab_info("round %d: %d configuration%s", d.rounds, k, k == 1 ? "" : "s");
		ret = mx_run_cells(&r, batch, k);
		for (i = 0; i < k; i++)
			if (batch[i]->verdict != MX_PENDING)
				ddmin_feed(&d, cfgs[i], batch[i]->verdict);
		if (ret == -LAB_EINTR) {
			cmd_fail(ret);
			interrupted = true;
			ret = 0;
			break;
		}
		if (ret)
			goto fail;
	}
	if (ctx->json)
		print_json(&r, &d, cells, ncells, arch, interrupted,
			   (lab_mono_ns() - t0) / 1e9);
	else
		print_text(&r, &d, cells, ncells, arch, interrupted,
			   (lab_mono_ns() - t0) / 1e9);
	rc = interrupted ? LAB_EXIT_INFRA :
	     d.status == DDMIN_FOUND ? LAB_EXIT_PASS :
	     d.status == DDMIN_UNRESOLVED ? LAB_EXIT_INFRA : LAB_EXIT_FAIL;
	goto out;
fail:
	rc = cmd_fail(ret);
out:
	for (i = 0; i < ncells; i++) {
		mx_cell_release(cells[i]);
		free(cells[i]);
	}
	free(cells);
	free(batch);
	free(cfgs);
	free(arch);
	ddmin_release(&d);
	mx_deps_release(&deps);
	mx_runner_release(&r);
	mx_list_free(before, nbefore);
	lab_free(lab);
	return rc;
}
