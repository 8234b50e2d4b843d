// SPDX-License-Identifier: MIT
/*
 * The engine of `labctl matrix` and `labctl opt-bisect` (see matrix.h):
 * lists, option-bit dependencies, ddmin, synthesized variants, the runs
 * (one forked child per cell) and the table.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hvimage/build.h"
#include "labctl/matrix.h"
#include "labctl/run.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/stopsig.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "report/result.h"

/* The stand-in's Makefile takes variant names of at most 31 characters. */
#define STANDIN_NAME_MAX 31

const char *mx_verdict_name(enum mx_verdict v)
{
	switch (v) {
	case MX_PASS:
		return "pass";
	case MX_FAIL:
		return "fail";
	case MX_INFRA:
		return "infra";
	case MX_UNRESOLVED:
		return "unresolved";
	case MX_SKIP:
		return "skip";
	default:
		return "pending";
	}
}

/* ------------------------------------------------------------ lists */

static int parse_u32(const char *s, uint32_t *out)
{
	int64_t v;

	if (lab_parse_int(s, &v) < 0 || v < 0 || v > 0xffffffffLL)
		return -LAB_EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* Split text at commas into trimmed words (malloc'd); empty words kept. */
static char **split_commas(const char *text, int *n)
{
	char **w = NULL;
	const char *p = text;

	*n = 0;
	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		while (len && isspace((unsigned char)*p)) {
			p++;
			len--;
		}
		while (len && isspace((unsigned char)p[len - 1]))
			len--;
		w = xrealloc(w, (size_t)(*n + 1) * sizeof(*w));
		w[(*n)++] = xstrndup(p, len);
		if (!end)
			break;
		p = end + 1;
	}
	return w;
}

void mx_list_free(char **v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int mx_opt_list_parse(const char *text, uint32_t **out, int *n)
{
	int nw, i, k, ret = 0;
	char **w = split_commas(text, &nw);
	uint32_t *v = xcalloc((size_t)nw, sizeof(*v));

	for (i = 0; i < nw && !ret; i++) {
		if (!*w[i])
			ret = lab_err(LAB_EINVAL, "--opt: an empty value in '%s'", text);
		else if (parse_u32(w[i], &v[i]) < 0)
			ret = lab_err(LAB_EINVAL,
				      "--opt: '%s' is not an option value (0x... or decimal, up to 0xffffffff)",
				      w[i]);
		for (k = 0; k < i && !ret; k++)
			if (v[k] == v[i])
				ret = lab_err(LAB_EINVAL, "--opt: 0x%x is listed twice",
					      v[i]);
	}
	mx_list_free(w, nw);
	if (ret) {
		free(v);
		return ret;
	}
	*out = v;
	*n = nw;
	return 0;
}

int mx_arch_list_parse(const char *text, char ***out, int *n)
{
	int nw, i, k;
	char **w = split_commas(text, &nw);

	for (i = 0; i < nw; i++) {
		if (strcmp(w[i], "i386") && strcmp(w[i], "amd64")) {
			int ret = lab_err(LAB_EINVAL,
					  "--arch: '%s' is not an arch (i386, amd64)",
					  w[i]);

			mx_list_free(w, nw);
			return ret;
		}
		for (k = 0; k < i; k++) {
			if (!strcmp(w[k], w[i])) {
				int ret = lab_err(LAB_EINVAL,
						  "--arch: %s is listed twice", w[i]);

				mx_list_free(w, nw);
				return ret;
			}
		}
	}
	*out = w;
	*n = nw;
	return 0;
}

/* ------------------------------------------------------------ deps */

int mx_deps_parse(const char *text, struct mx_deps *out)
{
	int nw, i, ret = 0;
	char **w = split_commas(text, &nw);

	memset(out, 0, sizeof(*out));
	out->v = xcalloc((size_t)nw, sizeof(*out->v));
	for (i = 0; i < nw && !ret; i++) {
		struct mx_dep *d = &out->v[out->n];
		char *colon = strchr(w[i], ':'), *need;

		if (!*w[i] && nw == 1)
			break;	/* an empty value: no rules */
		if (!colon) {
			ret = lab_err(LAB_EINVAL,
				      "opt_requires: '%s' is not BITS:NEEDED or BITS:!NEEDED (e.g. 0x8:0x4)",
				      w[i]);
			break;
		}
		*colon = '\0';
		need = colon + 1;
		while (isspace((unsigned char)*need))
			need++;
		if (*need == '!') {
			d->clear = true;
			need++;
		}
		while (colon > w[i] && isspace((unsigned char)colon[-1]))
			*--colon = '\0';
		if (parse_u32(w[i], &d->when) < 0 || !d->when ||
		    parse_u32(need, &d->need) < 0 || !d->need) {
			ret = lab_err(LAB_EINVAL,
				      "opt_requires: '%s:%s%s' needs two non-zero option values (0x... or decimal)",
				      w[i], d->clear ? "!" : "", need);
		} else if (d->clear && (d->when & d->need)) {
			ret = lab_err(LAB_EINVAL,
				      "opt_requires: '%s:!%s' can never hold (a bit that needs itself clear)",
				      w[i], need);
		} else {
			out->n++;
		}
	}
	mx_list_free(w, nw);
	if (ret)
		mx_deps_release(out);
	return ret;
}

void mx_deps_release(struct mx_deps *d)
{
	free(d->v);
	d->v = NULL;
	d->n = 0;
}

static bool dep_holds(const struct mx_dep *d, uint32_t cfg)
{
	if ((cfg & d->when) != d->when)
		return true;
	return d->clear ? !(cfg & d->need) : (cfg & d->need) == d->need;
}

int mx_deps_check(const struct mx_deps *d, uint32_t cfg)
{
	int i;

	for (i = 0; d && i < d->n; i++)
		if (!dep_holds(&d->v[i], cfg))
			return i;
	return -1;
}

void mx_dep_describe(const struct mx_deps *d, int i, struct strbuf *out)
{
	strbuf_addf(out, "0x%x needs 0x%x%s", d->v[i].when, d->v[i].need,
		    d->v[i].clear ? " clear" : "");
}

bool mx_deps_repair(const struct mx_deps *d, uint32_t good, uint32_t within,
		    uint32_t *set)
{
	int i;

	/* Each step adds bits, so at most 32 steps. */
	while ((i = mx_deps_check(d, good ^ *set)) >= 0) {
		uint32_t involved = (d->v[i].when | d->v[i].need) & within & ~*set;

		/* Its bits at within's values: it holds as it does there. */
		if (!involved)
			return false;
		*set |= involved;
	}
	return true;
}

/* The base variant's opt_requires, parsed; an error names the lab file. */
int mx_lab_deps(const struct lab *lab, const struct lab_variant *v,
		struct mx_deps *deps)
{
	const char *text = lab_variant_get(v, "opt_requires");
	int i, line = v->line, ret;

	memset(deps, 0, sizeof(*deps));
	if (!text)
		return 0;
	ret = mx_deps_parse(text, deps);
	if (!ret)
		return 0;
	for (i = 0; i < v->nvalues; i++)
		if (!strcmp(v->values[i].def->key, "opt_requires"))
			line = v->values[i].line;
	{
		char *msg = xstrdup(lab_errmsg(ret));

		ret = lab_err(LAB_ECONFIG, "%s:%d: [variant %s] %s", lab->path,
			      line, v->name, msg);
		free(msg);
	}
	return ret;
}

/* ------------------------------------------------------------ ddmin */

static int popcount32(uint32_t x)
{
	return __builtin_popcount(x);
}

static struct ddmin_try *find_set(const struct ddmin *d, uint32_t set)
{
	int i;

	for (i = 0; i < d->ntries; i++)
		if (d->tries[i].set == set)
			return &d->tries[i];
	return NULL;
}

const struct ddmin_try *ddmin_find(const struct ddmin *d, uint32_t cfg)
{
	return find_set(d, cfg ^ d->good);
}

/* The candidates of (cur, n): n subsets, then their complements. */
static void make_candidates(struct ddmin *d)
{
	int bits[32], k = 0, b, i, kind, c;
	uint32_t cur = d->cur;

	for (b = 0; b < 32; b++)
		if (cur & (1u << b))
			bits[k++] = b;
	free(d->cand);
	free(d->cand_asked);
	free(d->cand_subset);
	d->cand = xcalloc((size_t)d->n * 2, sizeof(*d->cand));
	d->cand_asked = xcalloc((size_t)d->n * 2, sizeof(*d->cand_asked));
	d->cand_subset = xcalloc((size_t)d->n * 2, sizeof(*d->cand_subset));
	d->ncand = 0;
	for (kind = 0; kind < 2; kind++) {
		for (i = 0; i < d->n; i++) {
			uint32_t chunk = 0, set;
			int j;

			for (j = i * k / d->n; j < (i + 1) * k / d->n; j++)
				chunk |= 1u << bits[j];
			set = kind == 0 ? chunk : cur & ~chunk;
			if (!set || set == cur)
				continue;
			d->cand_asked[d->ncand] = set;
			if (!mx_deps_repair(d->deps, d->good, cur, &set) ||
			    set == cur) {
				d->skipped++;
				continue;
			}
			for (c = 0; c < d->ncand; c++)
				if (d->cand[c] == set)
					break;
			if (c < d->ncand)
				continue;
			d->cand[d->ncand] = set;
			d->cand_subset[d->ncand] = kind == 0;
			d->ncand++;
		}
	}
}

int ddmin_init(struct ddmin *d, uint32_t good, uint32_t bad,
	       const struct mx_deps *deps)
{
	int i;

	memset(d, 0, sizeof(*d));
	if (good == bad)
		return lab_err(LAB_EINVAL,
			       "--good and --bad are the same value (0x%x): nothing to search",
			       good);
	for (i = 0; i < 2; i++) {
		uint32_t cfg = i ? bad : good;
		int r = mx_deps_check(deps, cfg);

		if (r >= 0) {
			struct strbuf why = STRBUF_INIT;
			int ret;

			mx_dep_describe(deps, r, &why);
			ret = lab_err(LAB_EINVAL,
				      "--%s 0x%x breaks the variant's opt_requires (%s)",
				      i ? "bad" : "good", cfg, strbuf_str(&why));
			strbuf_release(&why);
			return ret;
		}
	}
	d->good = good;
	d->bad = bad;
	d->delta = good ^ bad;
	d->deps = deps;
	d->cur = d->delta;
	d->n = popcount32(d->delta) < 2 ? 1 : 2;
	make_candidates(d);
	return 0;
}

void ddmin_release(struct ddmin *d)
{
	free(d->tries);
	free(d->cand);
	free(d->cand_asked);
	free(d->cand_subset);
	memset(d, 0, sizeof(*d));
}

static bool known(const struct ddmin_try *t)
{
	return t && t->verdict != MX_PENDING;
}

/* Move on as far as the verdicts known so far allow. */
static void advance(struct ddmin *d)
{
	const struct ddmin_try *g, *b;
	int i;

again:
	if (d->status != DDMIN_RUNNING)
		return;
	g = find_set(d, 0);
	b = find_set(d, d->delta);
	if (!known(g) || !known(b))
		return;
	if (g->verdict == MX_UNRESOLVED || b->verdict == MX_UNRESOLVED) {
		d->status = DDMIN_UNRESOLVED;
		return;
	}
	if (g->verdict != MX_PASS) {
		d->status = DDMIN_GOOD_FAILS;
		return;
	}
	if (b->verdict != MX_FAIL) {
		d->status = DDMIN_BAD_PASSES;
		return;
	}
	for (i = 0; i < d->ncand; i++) {
		const struct ddmin_try *t = find_set(d, d->cand[i]);

		if (!known(t))
			return;
		if (t->verdict != MX_FAIL)
			continue;
		/* Reduce to a failing subset, or to a complement. */
		d->n = d->cand_subset[i] ? 2 : (d->n - 1 > 2 ? d->n - 1 : 2);
		d->cur = d->cand[i];
		if (d->n > popcount32(d->cur))
			d->n = popcount32(d->cur);
		if (popcount32(d->cur) <= 1) {
			d->status = DDMIN_FOUND;
			return;
		}
		make_candidates(d);
		goto again;
	}
	if (d->n < popcount32(d->cur)) {
		d->n = 2 * d->n < popcount32(d->cur) ? 2 * d->n : popcount32(d->cur);
		make_candidates(d);
		goto again;
	}
	d->status = DDMIN_FOUND;
}

static struct ddmin_try *add_try(struct ddmin *d, uint32_t set, uint32_t asked)
{
	struct ddmin_try *t;

	d->tries = xrealloc(d->tries, (size_t)(d->ntries + 1) * sizeof(*d->tries));
	t = &d->tries[d->ntries++];
	memset(t, 0, sizeof(*t));
	t->set = set;
	t->asked_set = asked;
	t->cfg = d->good ^ set;
	if (asked != set)
		d->repaired++;
	return t;
}

int ddmin_next(struct ddmin *d, uint32_t *cfgs, int max)
{
	int k = 0, i, total;

	advance(d);
	if (d->status != DDMIN_RUNNING)
		return 0;
	/* The endpoints, then the candidates in order up to a known failure
	 * (nothing after it can matter). */
	total = 2 + d->ncand;
	for (i = 0; i < total && k < max; i++) {
		uint32_t set = i == 0 ? 0 : i == 1 ? d->delta : d->cand[i - 2];
		uint32_t asked = i < 2 ? set : d->cand_asked[i - 2];
		struct ddmin_try *t = find_set(d, set);

		if (i >= 2 && t && t->verdict == MX_FAIL)
			break;
		if (t && (known(t) || t->out))
			continue;
		if (!t)
			t = add_try(d, set, asked);
		t->out = true;
		if (!t->round)
			t->round = d->rounds + 1;
		cfgs[k++] = t->cfg;
	}
	if (k)
		d->rounds++;
	return k;
}

void ddmin_feed(struct ddmin *d, uint32_t cfg, enum mx_verdict v)
{
	struct ddmin_try *t = find_set(d, cfg ^ d->good);

	if (!t)
		return;
	t->out = false;
	t->attempts++;
	d->runs++;
	if (v == MX_INFRA)
		t->verdict = t->attempts >= 2 ? MX_UNRESOLVED : MX_PENDING;
	else
		t->verdict = v;
}

uint32_t ddmin_culprit(const struct ddmin *d)
{
	return d->status == DDMIN_FOUND ? d->cur : 0;
}

/* ------------------------------------------------------------ cells */

void mx_cell_release(struct mx_cell *c)
{
	free(c->variant);
	free(c->arch);
	free(c->reason);
	free(c->line);
	free(c->result);
	free(c->board);
	memset(c, 0, sizeof(*c));
}

char *mx_variant_name(const char *base, const char *arch, uint32_t opt)
{
	return xasprintf("%s.%s.0x%x", base, arch, opt);
}

static bool is_arch_word(const char *w, size_t len)
{
	return (len == 4 && !strncmp(w, "i386", 4)) ||
	       (len == 5 && !strncmp(w, "amd64", 5)) ||
	       (len == 4 && !strncmp(w, "uefi", 4));
}

const char *mx_base_arch(const struct lab_variant *v)
{
	const char *args;
	size_t len;

	if (strcmp(lab_variant_get(v, "recipe"), "xmhf64"))
		return lab_variant_get(v, "arch");
	args = lab_variant_get(v, "args");
	if (!args)
		return "amd64";
	args += strspn(args, " \t");
	len = strcspn(args, " \t");
	if (len == 4 && !strncmp(args, "i386", 4))
		return "i386";
	if (len == 4 && !strncmp(args, "uefi", 4))
		return "uefi";
	return "amd64";
}

uint32_t mx_base_options(const struct lab_variant *v)
{
	const char *args, *p;
	uint32_t opt = 0;
	char word[32];

	if (strcmp(lab_variant_get(v, "recipe"), "xmhf64")) {
		parse_u32(lab_variant_get(v, "options"), &opt);
		return opt;
	}
	args = lab_variant_get(v, "args");
	p = args ? strstr(args, "--lhv-opt") : NULL;
	if (!p)
		return 0;
	p += strlen("--lhv-opt");
	p += strspn(p, " \t=");
	snprintf(word, sizeof(word), "%.*s", (int)strcspn(p, " \t"), p);
	parse_u32(word, &opt);
	return opt;
}

/* xmhf64: build.sh's arguments with the arch word and --lhv-opt replaced. */
static char *xmhf64_args(const char *args, const char *arch, uint32_t opt)
{
	struct strbuf out = STRBUF_INIT;
	const char *p = args ? args : "";
	bool first = true, have_opt = false;

	p += strspn(p, " \t");
	if (!is_arch_word(p, strcspn(p, " \t")))
		strbuf_addstr(&out, arch);
	while (*p) {
		size_t len = strcspn(p, " \t");

		strbuf_addstr(&out, out.len ? " " : "");
		if (first && is_arch_word(p, len)) {
			strbuf_addstr(&out, arch);
		} else if (len == 9 && !strncmp(p, "--lhv-opt", 9)) {
			strbuf_addf(&out, "--lhv-opt 0x%x", opt);
			have_opt = true;
			p += len;
			p += strspn(p, " \t");
			len = strcspn(p, " \t");	/* the old value */
		} else if (len > 10 && !strncmp(p, "--lhv-opt=", 10)) {
			strbuf_addf(&out, "--lhv-opt=0x%x", opt);
			have_opt = true;
		} else {
			strbuf_add(&out, p, len);
		}
		first = false;
		p += len;
		p += strspn(p, " \t");
	}
	if (!have_opt)
		strbuf_addf(&out, " --lhv-opt 0x%x", opt);
	return strbuf_detach(&out, NULL);
}

static const struct lab_key_def *variant_key(const char *key)
{
	const struct lab_key_def *d;

	for (d = lab_schema; d->key; d++)
		if (!strcmp(d->section, "variant") && !strcmp(d->key, key))
			return d;
	return NULL;
}

static void add_value(struct lab_variant *v, const char *key, char *value)
{
	v->values = xrealloc(v->values, (size_t)(v->nvalues + 1) * sizeof(*v->values));
	v->values[v->nvalues++] = (struct lab_value){
		.section = "variant", .def = variant_key(key), .value = value,
	};
}

const struct lab_variant *mx_runner_base(const struct mx_runner *r)
{
	return lab_find_variant(r->lab, r->base);
}

int mx_cell_init(struct mx_runner *r, struct mx_cell *c, const char *arch,
		 uint32_t opt)
{
	const struct lab_variant *base = mx_runner_base(r), *have;
	struct lab_variant nv = { 0 };
	bool xmhf = !strcmp(lab_variant_get(base, "recipe"), "xmhf64");
	char *name = mx_variant_name(r->base, arch, opt);
	int i;

	memset(c, 0, sizeof(*c));
	if (!xmhf && strlen(name) > STANDIN_NAME_MAX) {
		int ret = lab_err(LAB_EINVAL,
				  "the variant %s would be longer than the stand-in's %d characters: give [variant %s] a shorter name",
				  name, STANDIN_NAME_MAX, r->base);

		free(name);
		return ret;
	}
	have = lab_find_variant(r->lab, name);
	if (have && have->line) {
		int ret = lab_err(LAB_ECONFIG,
				  "%s already has a [variant %s] (line %d), the name %s gives its synthesized variants: rename it",
				  r->lab->path, name, have->line, r->verb);

		free(name);
		return ret;
	}
	c->variant = name;
	c->arch = xstrdup(arch);
	c->options = opt;
	if (have)
		return 0;
	/* The base's keys but its entry; options and arch (args) replaced. */
	nv.name = xstrdup(name);
	for (i = 0; i < base->nvalues; i++) {
		const char *key = base->values[i].def->key;

		if (!strcmp(key, "entry") || !strcmp(key, "options") ||
		    !strcmp(key, "arch") || (xmhf && !strcmp(key, "args")))
			continue;
		add_value(&nv, key, xstrdup(base->values[i].value));
	}
	if (xmhf) {
		add_value(&nv, "args",
			  xmhf64_args(lab_variant_get(base, "args"), arch, opt));
	} else {
		add_value(&nv, "arch", xstrdup(arch));
		add_value(&nv, "options", xasprintf("0x%x", opt));
	}
	/* base points into the array: done with it before it moves. */
	r->lab->variants = xrealloc(r->lab->variants,
				    (size_t)(r->lab->nvariants + 1) *
				    sizeof(*r->lab->variants));
	r->lab->variants[r->lab->nvariants++] = nv;
	return 0;
}

/* ------------------------------------------------------------ runner */

int mx_runner_init(struct mx_runner *r, struct lab *lab, const char *base,
		   const char *const *before, int nbefore)
{
	const struct lab_variant *v;
	const char *tmp = getenv("TMPDIR");
	const char *verb = r->verb ? r->verb : "matrix";
	char *dir;
	int i, ret;

	if (strcmp(lab_get(lab, "board", "type"), "qemu") &&
	    strcmp(lab_get(lab, "board", "type"), "bochs"))	/* bochs board */
		return lab_err(LAB_ECONFIG,
			       "%s runs on QEMU boards: a real board's grub.cfg has no entries for the variants it makes (%s is a %s)",
			       verb, lab->name, lab_get(lab, "board", "type"));
	ret = lab_resolve_chain(lab, &base, 1, &v);
	if (ret)
		return ret;
	for (i = 0; i < nbefore; i++)
		if (!lab_find_variant(lab, before[i]))
			return lab_err(LAB_ECONFIG,
				       "--before: lab %s has no variant '%s'",
				       lab->name, before[i]);
	dir = xasprintf("%s/labctl-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", verb);
	if (!mkdtemp(dir)) {
		ret = lab_err_errno(errno, "cannot create %s", dir);

		free(dir);
		return ret;
	}
	r->verb = verb;
	r->lab = lab;
	r->base = xstrdup(base);
	r->tmpdir = dir;
	r->before = xcalloc((size_t)nbefore + 1, sizeof(*r->before));
	for (i = 0; i < nbefore; i++)
		r->before[i] = xstrdup(before[i]);
	r->nbefore = nbefore;
	if (r->jobs <= 0)
		r->jobs = (int)lab_get_int(lab, "board", "pool", 1);
	if (!r->results_dir)
		r->results_dir = "results";
	return 0;
}

/* The private directory holds only our plain files. */
static void remove_tmpdir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char *f;

		if (e->d_name[0] == '.')
			continue;
		f = xasprintf("%s/%s", dir, e->d_name);
		unlink(f);
		free(f);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

void mx_runner_release(struct mx_runner *r)
{
	if (r->tmpdir)
		remove_tmpdir(r->tmpdir);
	free(r->tmpdir);
	mx_list_free(r->before, r->nbefore);
	free(r->base);
	memset(r, 0, sizeof(*r));
}

static void set_outcome(struct mx_cell *c, enum mx_verdict v, const char *reason)
{
	c->verdict = v;
	free(c->reason);
	c->reason = reason ? xstrdup(reason) : NULL;
}

static bool is_before(const struct mx_runner *r, const char *name)
{
	int i;

	for (i = 0; i < r->nbefore; i++)
		if (!strcmp(r->before[i], name))
			return true;
	return false;
}

/* Build the pending cells' variants (and the chain's before variants). */
static int build_cells(struct mx_runner *r, struct mx_cell **cells, int n)
{
	struct hv_variant *hv = xcalloc((size_t)(n + r->nbefore) + 1, sizeof(*hv));
	struct hv_build_result *res;
	const char *images = getenv("LABCTL_IMAGES");
	struct hv_build_opts bo = {
		.images_dir = images && *images ? images : "images",
		.hypervisor_dir = getenv("LABCTL_HYPERVISOR_DIR"),
		.force = r->force_build,
		.progress = !r->build_progress ? HV_PROGRESS_NONE :
			    isatty(2) ? HV_PROGRESS_TTY : HV_PROGRESS_PLAIN,
	};
	int i, k, nb = 0, ret;

	for (i = 0; i < r->nbefore + n; i++) {
		const char *name = i < r->nbefore ? r->before[i] :
				   cells[i - r->nbefore]->variant;

		if (i >= r->nbefore && cells[i - r->nbefore]->verdict != MX_PENDING)
			continue;
		for (k = 0; k < nb; k++)
			if (!strcmp(hv[k].name, name))
				break;
		if (k == nb)
			lab_variant_to_hv(&hv[nb++], lab_find_variant(r->lab, name));
	}
	res = xcalloc((size_t)nb + 1, sizeof(*res));
	ret = nb ? hv_build(hv, nb, &bo, res) : 0;
	if (ret == -LAB_EINFRA) {
		/* Those cells are lab errors; the others run. */
		for (k = 0; k < nb; k++) {
			char *why;

			if (res[k].state != HV_FAILED)
				continue;
			why = xasprintf("build of %s failed: %s (log: %s)",
					hv[k].name,
					res[k].error ? res[k].error : "error",
					res[k].log_path ? res[k].log_path : "-");
			for (i = 0; i < n; i++)
				if (cells[i]->verdict == MX_PENDING &&
				    (is_before(r, hv[k].name) ||
				     !strcmp(cells[i]->variant, hv[k].name)))
					set_outcome(cells[i], MX_INFRA, why);
			free(why);
		}
		lab_err_clear();
		ret = 0;
	}
	for (k = 0; k < nb; k++)
		hv_build_result_release(&res[k]);
	free(res);
	free(hv);
	return ret;
}

static char *cell_file(const struct mx_runner *r, int slot, const char *ext)
{
	return xasprintf("%s/%d.%s", r->tmpdir, slot, ext);
}

/* The child: `labctl run` of the cell's chain, as a forked copy of us. */
static void __attribute__((noreturn))
run_child(struct mx_runner *r, struct mx_cell *c, int slot)
{
	char *out = cell_file(r, slot, "json"), *err = cell_file(r, slot, "err");
	const char **chain = xcalloc((size_t)r->nbefore + 2, sizeof(*chain));
	char *argv[16], opt[16], *before = NULL;
	struct cmd_ctx cc = { .json = true };
	struct run_opts o = {
		.build = true, .deploy = true, .jobs = 1,
		.results_dir = r->results_dir, .timeout_ms = r->timeout_ms,
	};
	int fd, i, argc = 0, rc;

	lab_stop_default();
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || dup2(fd, 1) < 0)
		_exit(LAB_EXIT_INFRA);
	close(fd);
	fd = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || dup2(fd, 2) < 0)
		_exit(LAB_EXIT_INFRA);
	close(fd);
	for (i = 0; i < r->nbefore; i++)
		chain[i] = r->before[i];
	chain[r->nbefore] = c->variant;
	/* The record's command line reruns just this cell. */
	snprintf(opt, sizeof(opt), "0x%x", c->options);
	argv[argc++] = (char *)"matrix";
	/* A pool's take_board() renames (and frees) lab->name. */
	argv[argc++] = xstrdup(r->lab->name);
	argv[argc++] = (char *)"--variant";
	argv[argc++] = r->base;
	argv[argc++] = (char *)"--opt";
	argv[argc++] = opt;
	argv[argc++] = (char *)"--arch";
	argv[argc++] = c->arch;
	if (r->nbefore) {
		struct strbuf sb = STRBUF_INIT;

		for (i = 0; i < r->nbefore; i++)
			strbuf_addf(&sb, "%s%s", i ? "," : "", r->before[i]);
		before = strbuf_detach(&sb, NULL);
		argv[argc++] = (char *)"--before";
		argv[argc++] = before;
	}
	argv[argc] = NULL;
	o.argc = argc;
	o.argv = argv;
	rc = lab_run_chain(r->lab, chain, r->nbefore + 1, &o, &cc);
	fflush(stdout);
	fflush(stderr);
	/* No exit handlers, no leak check of the parent's memory. */
	_exit(rc);
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* The last "labctl: ..." line of a child's messages: the error it ended on. */
static char *last_error(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	char *best = NULL, *line, *save = NULL;

	if (strbuf_read_file(&sb, path, 1 << 20) < 0) {
		lab_err_clear();
		return NULL;
	}
	for (line = strtok_r(sb.buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "labctl: ", 8)) {
			free(best);
			best = xstrdup(line + 8);
		}
	}
	strbuf_release(&sb);
	return best;
}

static void collect(struct mx_runner *r, struct mx_cell *c, int slot,
		    int status, double seconds)
{
	char *out = cell_file(r, slot, "json"), *err = cell_file(r, slot, "err");
	struct strbuf text = STRBUF_INIT;
	struct result *rec = NULL;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;

	/* The run's record, as its --json printed it (empty: none). */
	if (strbuf_read_file(&text, out, 64 << 20) < 0 ||
	    result_from_record(text.buf, text.len, &rec) < 0)
		lab_err_clear();
	strbuf_release(&text);

	c->runs++;
	c->seconds = seconds;
	free(c->line);
	free(c->result);
	free(c->board);
	c->line = c->result = c->board = NULL;
	c->line_no = 0;
	if (rec) {
		c->verdict = !strcmp(rec->verdict, "pass") ? MX_PASS :
			     !strcmp(rec->verdict, "fail") ? MX_FAIL : MX_INFRA;
		free(c->reason);
		c->reason = dup_or_null(rec->reason);
		c->line = dup_or_null(rec->reason_line);
		c->line_no = rec->reason_line_no;
		c->result = dup_or_null(rec->log_path);
		c->board = dup_or_null(rec->lab);
	} else {
		char *why = last_error(err);

		/* No record: the run ended before its capture began (its
		 * error is the last message), or it crashed. */
		c->verdict = MX_INFRA;
		free(c->reason);
		if (why && (code == LAB_EXIT_USAGE || code == LAB_EXIT_INFRA))
			c->reason = xstrdup(why);
		else if (WIFSIGNALED(status))
			c->reason = xasprintf("the run was killed by signal %d",
					      WTERMSIG(status));
		else
			c->reason = xasprintf("the run ended with exit status %d and no record%s%s",
					      code, why ? "; last message: " : "",
					      why ? why : "");
		free(why);
	}
	result_free(rec);
	unlink(out);
	unlink(err);
	free(out);
	free(err);
	r->cells_done++;
	if (r->progress)
		lab_info("[%d/%d] %s%s%s: %s%s%s (%.1f s)", r->cells_done,
			 r->cells_total, c->variant, c->board ? " on " : "",
			 c->board ? c->board : "",
			 c->verdict == MX_FAIL ? "FAIL" : mx_verdict_name(c->verdict),
			 c->verdict == MX_PASS ? "" : ": ",
			 c->verdict == MX_PASS ? "" : (c->reason ? c->reason : "?"),
			 seconds);
}

int mx_run_cells(struct mx_runner *r, struct mx_cell **cells, int n)
{
	struct lab_stop_saved stop = { .active = false };
	pid_t *pids = xcalloc((size_t)r->jobs, sizeof(*pids));
	int *slot_cell = xcalloc((size_t)r->jobs, sizeof(*slot_cell));
	int64_t *t0 = xcalloc((size_t)r->jobs, sizeof(*t0));
	int next = 0, running = 0, ret, i;
	bool forwarded = false;

	ret = build_cells(r, cells, n);
	if (ret)
		goto out;
	/* Cells whose build failed are done without a run. */
	for (i = 0; i < n; i++)
		if (cells[i]->verdict != MX_PENDING && r->cells_total > r->cells_done)
			r->cells_total--;
	/* No SA_RESTART: a signal must wake waitpid(). */
	ret = lab_stop_catch(&stop);
	if (ret)
		goto out;
	for (;;) {
		int status;
		pid_t pid, parent;

		while (!lab_stop_signal && running < r->jobs && next < n) {
			struct mx_cell *c = cells[next];
			int slot;

			if (c->verdict != MX_PENDING) {
				next++;
				continue;
			}
			for (slot = 0; pids[slot]; slot++)
				;
			fflush(stdout);
			fflush(stderr);
			parent = getpid();
			pid = fork();
			if (pid < 0) {
				ret = lab_err_errno(errno, "fork");
				lab_stop_signal = SIGTERM;
				break;
			}
			if (pid == 0) {
				/* A cell stops as on SIGTERM (record, release,
				 * QEMU off) when the matrix dies, SIGKILL too. */
				if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 ||
				    getppid() != parent)
					raise(SIGTERM);
				run_child(r, c, slot);
			}
			pids[slot] = pid;
			slot_cell[slot] = next++;
			t0[slot] = lab_mono_ns();
			running++;
		}
		if (lab_stop_signal && !forwarded) {
			/* A terminal's ^C reached them already; kill(1) did not. */
			for (i = 0; i < r->jobs; i++)
				if (pids[i])
					kill(pids[i], SIGTERM);
			forwarded = true;
		}
		if (!running)
			break;
		pid = waitpid(-1, &status, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			ret = lab_err_errno(errno, "waitpid");
			break;
		}
		for (i = 0; i < r->jobs; i++)
			if (pids[i] == pid)
				break;
		if (i == r->jobs)
			continue;	/* not one of ours */
		collect(r, cells[slot_cell[i]], i, status,
			(lab_mono_ns() - t0[i]) / 1e9);
		pids[i] = 0;
		running--;
	}
	if (!ret && lab_stop_signal)
		ret = lab_err(LAB_EINTR, "%s interrupted by %s", r->verb,
			      lab_stop_name(lab_stop_signal));
	lab_stop_release(&stop);
out:
	free(pids);
	free(slot_cell);
	free(t0);
	return ret;
}

/* ------------------------------------------------------------ output */

static const char *cell_word(const struct mx_cell *c)
{
	switch (c->verdict) {
	case MX_PASS:
		return "pass";
	case MX_FAIL:
		return "FAIL";
	case MX_INFRA:
	case MX_UNRESOLVED:
		return "infra";
	case MX_SKIP:
		return "skip";
	default:
		return "-";
	}
}

void mx_render_table(const struct mx_cell *cells, char *const *archs,
		     int narchs, const uint32_t *opts, int nopts,
		     struct strbuf *out)
{
	int a, o, w0 = 4, *w = xcalloc((size_t)nopts + 1, sizeof(*w));
	struct strbuf line = STRBUF_INIT;
	char head[16];

	for (a = 0; a < narchs; a++)
		if ((int)strlen(archs[a]) > w0)
			w0 = (int)strlen(archs[a]);
	for (o = 0; o < nopts; o++) {
		w[o] = snprintf(head, sizeof(head), "0x%x", opts[o]);
		if (w[o] < 5)
			w[o] = 5;
	}
	strbuf_addf(&line, "%-*s", w0, "");
	for (o = 0; o < nopts; o++) {
		snprintf(head, sizeof(head), "0x%x", opts[o]);
		strbuf_addf(&line, "  %-*s", w[o], head);
	}
	strbuf_rtrim(&line);
	strbuf_addf(out, "%s\n", strbuf_str(&line));
	for (a = 0; a < narchs; a++) {
		strbuf_reset(&line);
		strbuf_addf(&line, "%-*s", w0, archs[a]);
		for (o = 0; o < nopts; o++)
			strbuf_addf(&line, "  %-*s", w[o],
				    cell_word(&cells[a * nopts + o]));
		strbuf_rtrim(&line);
		strbuf_addf(out, "%s\n", strbuf_str(&line));
	}
	strbuf_release(&line);
	free(w);
}

const char *mx_failure_key(const struct mx_cell *c)
{
	if (c->line && *c->line)
		return c->line;
	return c->reason ? c->reason : "(no reason recorded)";
}

int mx_group_failures(const struct mx_cell *cells, int n, int *group)
{
	int i, k, ngroups = 0;

	for (i = 0; i < n; i++) {
		group[i] = -1;
		if (cells[i].verdict != MX_FAIL)
			continue;
		for (k = 0; k < i; k++)
			if (group[k] >= 0 &&
			    !strcmp(mx_failure_key(&cells[k]), mx_failure_key(&cells[i])))
				break;
		group[i] = k < i ? group[k] : ngroups++;
	}
	return ngroups;
}
