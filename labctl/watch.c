// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labctl/pattern.h"
#include "labctl/rules.h"
#include "labctl/watch.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"

#define MAX_CPUS 256
#define MAX_LINE_KEEP 512

struct pattern {
	struct pattern_re *re;
	char *text;
};

/* One compiled rule of a set (banners are patterns of their own). */
struct crule {
	struct pattern p;
	enum rule_kind kind;
	char *reason;		/* or NULL */
};

struct cset {
	struct crule *r;
	int n;
	bool judges;		/* has pass, iter or end rules */
};

struct watch {
	struct watch_opts opts;
	int nstages;
	char **names;
	struct pattern *banners;
	char **entries;			/* GRUB titles, NULL: not checked */
	bool *grub_started;		/* the stage began at its Booting line */
	bool *banner_seen;		/* ... and its own banner came since */
	char *stop_entry;
	struct watch_stage_result *res;
	struct cset always;		/* the explicit watch_opts fields */
	struct cset run;		/* opts.rules */
	struct cset *stage;		/* each stage's own rules */
	const struct cset *judge;	/* last stage: its own or the run's */
	bool iter_on;			/* an iteration rule and cpus > 0 */

	int cur;			/* current stage, -1 before the first */
	int lines;
	int64_t last_output_ns;
	int iters[MAX_CPUS];
	int cpus_done;
	bool short_told;		/* the iteration shortfall is in reason */

	enum verdict verdict;
	char reason[512];
	char line[MAX_LINE_KEEP];
	int line_no;
	int64_t decided_ns;
};

static int compile(struct pattern *p, const char *what, const char *re,
		   unsigned flags)
{
	char msg[256];

	p->re = pattern_new(re, flags, msg, sizeof(msg));
	if (!p->re)
		return lab_err(LAB_ECONFIG, "%s pattern '%s': %s", what, re, msg);
	p->text = xstrdup(re);
	return 0;
}

static void release(struct pattern *p)
{
	if (!p->text)
		return;
	pattern_free(p->re);
	free(p->text);
	p->text = NULL;
}

static int cset_add(struct cset *cs, enum rule_kind kind, const char *re,
		    bool icase, const char *reason)
{
	static const char *const what[] = {
		[RULE_BANNER] = "banner", [RULE_FAIL] = "fail",
		[RULE_PASS] = "pass", [RULE_ITER] = "iteration",
		[RULE_END] = "end", [RULE_IGNORE] = "ignore",
	};
	struct crule *r;

	cs->r = xrealloc(cs->r, (size_t)(cs->n + 1) * sizeof(*cs->r));
	r = &cs->r[cs->n];
	memset(r, 0, sizeof(*r));
	if (compile(&r->p, what[kind], re, icase ? PATTERN_ICASE : 0) < 0)
		return -LAB_ECONFIG;
	r->kind = kind;
	r->reason = reason ? xstrdup(reason) : NULL;
	cs->n++;
	if (kind == RULE_PASS || kind == RULE_ITER || kind == RULE_END)
		cs->judges = true;
	return 0;
}

static int cset_from_rules(struct cset *cs, const struct rule_set *rs)
{
	int i;

	for (i = 0; rs && i < rs->n; i++) {
		const struct rule *r = &rs->rules[i];

		if (r->kind == RULE_BANNER)
			continue;
		if (cset_add(cs, r->kind, r->re, r->icase, r->reason) < 0) {
			char msg[512];

			snprintf(msg, sizeof(msg), "%s", lab_errmsg(LAB_ECONFIG));
			return lab_err(LAB_ECONFIG, "%s:%d: %s", r->file, r->line,
				       msg);
		}
	}
	return 0;
}

static void cset_release(struct cset *cs)
{
	int i;

	for (i = 0; i < cs->n; i++) {
		release(&cs->r[i].p);
		free(cs->r[i].reason);
	}
	free(cs->r);
	memset(cs, 0, sizeof(*cs));
}

static bool cset_has(const struct cset *cs, enum rule_kind kind)
{
	int i;

	for (i = 0; i < cs->n; i++)
		if (cs->r[i].kind == kind)
			return true;
	return false;
}

struct watch *watch_new(const struct watch_stage_def *stages, int n,
			const struct watch_opts *o)
{
	struct watch *w = xzalloc(sizeof(*w));
	int i;

	w->opts = *o;
	w->nstages = n;
	w->names = xcalloc((size_t)n + 1, sizeof(*w->names));
	w->banners = xcalloc((size_t)n + 1, sizeof(*w->banners));
	w->res = xcalloc((size_t)n + 1, sizeof(*w->res));
	w->stage = xcalloc((size_t)n + 1, sizeof(*w->stage));
	w->entries = xcalloc((size_t)n + 1, sizeof(*w->entries));
	w->grub_started = xcalloc((size_t)n + 1, sizeof(*w->grub_started));
	w->banner_seen = xcalloc((size_t)n + 1, sizeof(*w->banner_seen));
	w->stop_entry = o->stop_entry ? xstrdup(o->stop_entry) : NULL;
	w->cur = -1;
	for (i = 0; i < n; i++) {
		w->names[i] = xstrdup(stages[i].name);
		w->entries[i] = stages[i].entry ? xstrdup(stages[i].entry) : NULL;
		w->res[i].start_ns = -1;
		w->res[i].end_ns = -1;
		if (compile(&w->banners[i], "banner", stages[i].banner, 0) < 0)
			goto fail;
		if (cset_from_rules(&w->stage[i], stages[i].rules) < 0)
			goto fail;
	}
	if (cset_from_rules(&w->run, o->rules) < 0)
		goto fail;
	for (i = 0; o->fail_res && o->fail_res[i]; i++)
		if (cset_add(&w->always, RULE_FAIL, o->fail_res[i], false, NULL) < 0)
			goto fail;
	if (o->pass_re && cset_add(&w->always, RULE_PASS, o->pass_re, false, NULL) < 0)
		goto fail;
	if (o->iter_re && o->cpus > 0 &&
	    cset_add(&w->always, RULE_ITER, o->iter_re, false, NULL) < 0)
		goto fail;
	if (o->ends_in_os) {
		/* The OS after the last stage: who says it is up? */
		if (cset_has(&w->run, RULE_END) || cset_has(&w->run, RULE_PASS))
			w->judge = &w->run;
		else if (n && (cset_has(&w->stage[n - 1], RULE_END) ||
			       cset_has(&w->stage[n - 1], RULE_PASS)))
			w->judge = &w->stage[n - 1];
		else if (!cset_has(&w->always, RULE_PASS)) {
			lab_err(LAB_ECONFIG,
				"the chain ends in the board's OS (default), but no rule set says when it is up: add linux to [watch] rules");
			goto fail;
		} else
			w->judge = &w->run;
		w->iter_on = false;
	} else {
		w->judge = n && w->stage[n - 1].judges ? &w->stage[n - 1] : &w->run;
		w->iter_on = o->cpus > 0 && (cset_has(w->judge, RULE_ITER) ||
					     cset_has(&w->always, RULE_ITER));
	}
	/* The stored options must not point into the caller's memory. */
	w->opts.iter_re = w->opts.pass_re = NULL;
	w->opts.fail_res = NULL;
	w->opts.rules = NULL;
	w->opts.stop_entry = NULL;
	return w;
fail:
	watch_free(w);
	return NULL;
}

void watch_free(struct watch *w)
{
	int i;

	if (!w)
		return;
	for (i = 0; i < w->nstages; i++) {
		free(w->names[i]);
		if (w->entries)
			free(w->entries[i]);
		release(&w->banners[i]);
		cset_release(&w->stage[i]);
	}
	cset_release(&w->always);
	cset_release(&w->run);
	free(w->stage);
	free(w->entries);
	free(w->grub_started);
	free(w->banner_seen);
	free(w->stop_entry);
	free(w->names);
	free(w->banners);
	free(w->res);
	free(w);
}

static void keep_line(struct watch *w, const char *line, size_t len)
{
	if (len >= sizeof(w->line))
		len = sizeof(w->line) - 1;
	memcpy(w->line, line, len);
	w->line[len] = '\0';
	w->line_no = w->lines;
}

static void decide(struct watch *w, enum verdict v, int64_t t_ns,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void decide(struct watch *w, enum verdict v, int64_t t_ns,
		   const char *fmt, ...)
{
	va_list ap;

	if (w->verdict != VERDICT_PENDING)
		return;
	w->verdict = v;
	w->decided_ns = t_ns;
	if (w->cur >= 0 && w->res[w->cur].end_ns < 0)
		w->res[w->cur].end_ns = t_ns;
	va_start(ap, fmt);
	vsnprintf(w->reason, sizeof(w->reason), fmt, ap);
	va_end(ap);
}

static const char *stage_label(const struct watch *w, int i, char *buf,
			       size_t size)
{
	if (i < 0)
		snprintf(buf, size, "before the first stage");
	else
		snprintf(buf, size, "stage %d (%s)", i + 1, w->names[i]);
	return buf;
}

/* A pattern that gives up on a line (its work limit) does not match it. */
static bool match(const struct pattern *p, const char *line, regmatch_t *m,
		  size_t nm)
{
	int rc = pattern_match(p->re, line, m, nm);

	if (rc < 0 && pattern_gave_up(p->re) == 1)
		lab_warn("pattern /%s/ is too costly on a console line (more than %u steps): it counts as not matching there",
			 p->text, PATTERN_MATCH_LIMIT);
	return rc > 0;
}

/* The first rule of a kind in the sets that matches the line, or NULL. */
static const struct crule *find(const struct cset *const *sets, int nsets,
				enum rule_kind kind, const char *line,
				regmatch_t *m, size_t nm)
{
	int i, k;

	for (i = 0; i < nsets; i++) {
		if (!sets[i])
			continue;
		for (k = 0; k < sets[i]->n; k++)
			if (sets[i]->r[k].kind == kind &&
			    match(&sets[i]->r[k].p, line, m, nm))
				return &sets[i]->r[k];
	}
	return NULL;
}

/*
 * Which CPUs have not printed enough iteration lines, appended to the
 * reason of a failed last stage: "; CPU 0x01 printed only 5 iteration
 * lines (more than 20 needed on each of 2 CPUs)".
 */
static void add_shortfall(struct watch *w)
{
	struct strbuf sb = STRBUF_INIT;
	int cpu, seen = 0, listed = 0, last = 0;
	size_t len;

	if (w->short_told || w->verdict == VERDICT_PENDING ||
	    w->verdict == VERDICT_PASS || !w->iter_on ||
	    w->cur != w->nstages - 1 || w->cpus_done >= w->opts.cpus)
		return;
	w->short_told = true;
	for (cpu = 0; cpu < MAX_CPUS; cpu++) {
		if (!w->iters[cpu])
			continue;
		seen++;
		if (w->iters[cpu] > w->opts.iter_min || listed >= 8)
			continue;
		strbuf_addf(&sb, listed ? ", CPU 0x%02x only %d" :
			    "; CPU 0x%02x printed only %d", cpu, w->iters[cpu]);
		last = w->iters[cpu];
		listed++;
	}
	if (listed)
		strbuf_addstr(&sb, listed == 1 && last == 1 ? " iteration line" :
			      " iteration lines");
	if (!seen)
		strbuf_addstr(&sb, "; no CPU printed an iteration line");
	else if (seen < w->opts.cpus)
		strbuf_addf(&sb, "; %d of %d CPUs printed none",
			    w->opts.cpus - seen, w->opts.cpus);
	strbuf_addf(&sb, " (more than %d needed on each of %d CPU%s)",
		    w->opts.iter_min, w->opts.cpus, w->opts.cpus == 1 ? "" : "s");
	len = strlen(w->reason);
	snprintf(w->reason + len, sizeof(w->reason) - len, "%s", strbuf_str(&sb));
	strbuf_release(&sb);
}

static void count_iter(struct watch *w, const struct cset *const *judge,
		       const char *line, int64_t t_ns)
{
	const struct crule *r;
	regmatch_t m[2];
	char id[16];
	size_t len;
	long cpu;

	r = find(judge, 2, RULE_ITER, line, m, 2);
	if (!r || m[1].rm_so < 0)
		return;
	len = (size_t)(m[1].rm_eo - m[1].rm_so);
	if (!len || len >= sizeof(id))
		return;
	memcpy(id, line + m[1].rm_so, len);
	id[len] = '\0';
	cpu = strtol(id, NULL, 16);
	if (cpu < 0 || cpu >= MAX_CPUS)
		return;
	if (++w->iters[cpu] == w->opts.iter_min + 1 &&
	    ++w->cpus_done >= w->opts.cpus)
		decide(w, VERDICT_PASS, t_ns,
		       "all %d CPUs printed more than %d iteration lines",
		       w->opts.cpus, w->opts.iter_min);
}

/* The last stage's pass and end rules; true when they decided. */
static bool judge_line(struct watch *w, const char *line, size_t len,
		       int64_t t_ns)
{
	const struct cset *judge[2] = { &w->always, w->judge };
	const struct crule *r;
	char where[96];

	stage_label(w, w->cur, where, sizeof(where));
	if ((r = find(judge, 2, RULE_PASS, line, NULL, 0))) {
		keep_line(w, line, len);
		decide(w, VERDICT_PASS, t_ns, "%s: pass pattern matched", where);
		return true;
	}
	if (!(r = find(judge, 2, RULE_END, line, NULL, 0)))
		return false;
	keep_line(w, line, len);
	if (w->iter_on && w->cpus_done < w->opts.cpus) {
		decide(w, VERDICT_FAIL, t_ns,
		       "%s: the chain ended (end pattern /%s/) before every CPU passed",
		       where, r->p.text);
		add_shortfall(w);
	} else if (r->reason) {
		decide(w, VERDICT_PASS, t_ns, "%s: %s (end pattern /%s/)", where,
		       r->reason, r->p.text);
	} else {
		decide(w, VERDICT_PASS, t_ns,
		       "%s: the chain ended: end pattern /%s/ matched", where,
		       r->p.text);
	}
	return true;
}

static bool ignored(const struct watch *w, const char *line)
{
	const struct cset *sets[3] = { &w->run, w->cur >= 0 ? &w->stage[w->cur] : NULL,
				       &w->always };

	return find(sets, 3, RULE_IGNORE, line, NULL, 0) != NULL;
}

/*
 * Patterns see the line without '\r', NULs and terminal control
 * sequences (ESC [ ... final byte, ESC and one byte), cut at 4 KiB:
 * GRUB writes "\r\e[H\e[J\e[1;1H  Booting `X'", which /^ *Booting/ must
 * match.
 */
static size_t clean_line(char *buf, size_t size, const char *in, size_t len)
{
	size_t i, o = 0;

	if (len >= size)
		len = size - 1;
	for (i = 0; i < len; i++) {
		char c = in[i];

		if (c == '\033' && i + 1 < len && in[i + 1] == '[') {
			for (i += 2; i < len && !((unsigned char)in[i] >= 0x40 &&
						 (unsigned char)in[i] <= 0x7e); i++)
				;
			continue;
		}
		if (c == '\033') {
			i++;
			continue;
		}
		if (c == '\r')
			continue;
		buf[o++] = c ? c : ' ';
	}
	buf[o] = '\0';
	return o;
}

/*
 * GRUB's "Booting `TITLE'" (GRUB 2; "Booting 'TITLE'" in some builds):
 * the title into out, true.  The title is what is between the quote
 * after "Booting " and the line's last "'".
 */
static bool grub_booting(const char *line, char *out, size_t size)
{
	const char *p = strstr(line, "Booting ");
	const char *end;
	size_t len;

	if (!p)
		return false;
	p += strlen("Booting ");
	if (*p != '`' && *p != '\'')
		return false;
	p++;
	end = strrchr(p, '\'');
	if (!end)
		return false;
	len = (size_t)(end - p);
	if (len >= size)
		len = size - 1;
	memcpy(out, p, len);
	out[len] = '\0';
	return true;
}

static void start_stage(struct watch *w, int next, int64_t t_ns,
			uint64_t byte_offset)
{
	if (w->cur >= 0)
		w->res[w->cur].end_ns = t_ns;
	w->cur = next;
	w->res[next].start_ns = t_ns;
	w->res[next].start_byte = byte_offset;
	w->res[next].line_no = w->lines;
}

/*
 * A GRUB Booting line: the scheduled entry starts its stage (true: the
 * line is used up); another entry is a lab error.  After the last stage
 * only the stop entry may boot; its line goes on to the last stage's
 * rules (XMHF passes when its guest's GRUB boots).
 */
static bool grub_line(struct watch *w, const char *line, size_t len,
		      int64_t t_ns, uint64_t byte_offset)
{
	char title[256];
	int next = w->cur + 1;

	if (!grub_booting(line, title, sizeof(title)))
		return false;
	if (next < w->nstages && w->entries[next]) {
		if (!strcmp(title, w->entries[next])) {
			if (w->cur >= 0 && w->grub_started[w->cur] &&
			    !w->banner_seen[w->cur]) {
				keep_line(w, line, len);
				decide(w, VERDICT_FAIL, t_ns,
				       "stage %d (%s): its banner never came before GRUB booted %s (stage %d, %s)",
				       w->cur + 1, w->names[w->cur], title, next + 1,
				       w->names[next]);
				return true;
			}
			start_stage(w, next, t_ns, byte_offset);
			w->grub_started[next] = true;
			return true;
		}
		keep_line(w, line, len);
		decide(w, VERDICT_INFRA, t_ns,
		       "GRUB booted %s, the chain expected %s (stage %d, %s): the board's next_entry chain is not the one labctl wrote",
		       title, w->entries[next], next + 1, w->names[next]);
		return true;
	}
	if (next >= w->nstages && w->nstages && w->stop_entry &&
	    strcmp(title, w->stop_entry)) {
		keep_line(w, line, len);
		decide(w, VERDICT_INFRA, t_ns,
		       "GRUB booted %s after the chain's last stage (%s), the chain ends in %s: nothing unrequested may boot",
		       title, w->names[w->nstages - 1], w->stop_entry);
		return true;
	}
	return false;
}

void watch_line(struct watch *w, const char *line_in, size_t len, int64_t t_ns,
		uint64_t byte_offset)
{
	const struct cset *fails[3] = { &w->run, NULL, &w->always };
	const struct cset *judge[2] = { &w->always, w->judge };
	const struct crule *r;
	char buf[4096];
	const char *line = buf;
	char where[96];
	bool skip;
	int i;

	w->lines++;
	w->last_output_ns = t_ns;
	if (w->verdict != VERDICT_PENDING)
		return;
	len = clean_line(buf, sizeof(buf), line_in, len);

	skip = ignored(w, line);
	fails[1] = w->cur >= 0 ? &w->stage[w->cur] : NULL;
	if (!skip && (r = find(fails, 3, RULE_FAIL, line, NULL, 0))) {
		keep_line(w, line, len);
		stage_label(w, w->cur, where, sizeof(where));
		if (r->reason)
			decide(w, VERDICT_FAIL, t_ns, "%s: %s (fail pattern /%s/)",
			       where, r->reason, r->p.text);
		else
			decide(w, VERDICT_FAIL, t_ns, "%s: fail pattern /%s/ matched",
			       where, r->p.text);
		return;
	}
	if (grub_line(w, line, len, t_ns, byte_offset))
		return;
	/* A stage GRUB began: its own banner is its, not the next one's
	 * (XMHF on XMHF: both print the same banner). */
	if (w->cur >= 0 && w->grub_started[w->cur] && !w->banner_seen[w->cur] &&
	    match(&w->banners[w->cur], line, NULL, 0)) {
		w->banner_seen[w->cur] = true;
		return;
	}
	/* The next stage's banner starts it; a later stage's is out of order. */
	if (w->cur + 1 < w->nstages && match(&w->banners[w->cur + 1], line, NULL, 0)) {
		start_stage(w, w->cur + 1, t_ns, byte_offset);
		return;
	}
	for (i = w->cur + 2; i < w->nstages; i++) {
		if (match(&w->banners[i], line, NULL, 0) &&
		    !match(&w->banners[w->cur < 0 ? 0 : w->cur], line, NULL, 0)) {
			keep_line(w, line, len);
			decide(w, VERDICT_FAIL, t_ns,
			       "stage %d (%s) started before stage %d (%s): chain out of order",
			       i + 1, w->names[i], w->cur + 2, w->names[w->cur + 1]);
			return;
		}
	}
	if (w->cur != w->nstages - 1 || skip)
		return;
	if (judge_line(w, line, len, t_ns))
		return;
	if (w->iter_on) {
		count_iter(w, judge, line, t_ns);
		if (w->verdict == VERDICT_PASS)
			keep_line(w, line, len);
	}
}

void watch_partial(struct watch *w, const char *text, size_t len, int64_t t_ns)
{
	char buf[4096];

	if (w->verdict != VERDICT_PENDING || w->cur != w->nstages - 1 ||
	    w->nstages == 0)
		return;
	len = clean_line(buf, sizeof(buf), text, len);
	if (ignored(w, buf))
		return;
	w->lines++;	/* keep_line numbers it as the line it will be */
	judge_line(w, buf, len, t_ns);
	w->lines--;
}

void watch_event(struct watch *w, const char *name, const char *detail,
		 int64_t t_ns)
{
	char where[96];

	if (w->verdict != VERDICT_PENDING)
		return;
	stage_label(w, w->cur, where, sizeof(where));
	if (!strcmp(name, "RESET") || (!strcmp(name, "SHUTDOWN") && detail &&
				       strstr(detail, "guest-reset"))) {
		decide(w, VERDICT_FAIL, t_ns,
		       "%s: the guest reset itself (triple fault?)%s%s", where,
		       detail && *detail ? ": " : "", detail ? detail : "");
	} else if (!strcmp(name, "CONSOLE_EOF")) {
		decide(w, VERDICT_INFRA, t_ns, "%s: the console closed%s%s", where,
		       detail && *detail ? ": " : "", detail ? detail : "");
	} else if (!strcmp(name, "INTERRUPTED")) {
		decide(w, VERDICT_INFRA, t_ns, "%s: interrupted by %s", where,
		       detail ? detail : "a signal");
	} else if (!strcmp(name, "POWER") || !strcmp(name, "ERROR")) {
		decide(w, VERDICT_INFRA, t_ns, "%s: lab error: %s", where,
		       detail ? detail : "unknown");
	} else {
		decide(w, VERDICT_FAIL, t_ns,
		       "%s: the machine stopped (%s%s%s) before the last stage passed",
		       where, name, detail && *detail ? ": " : "",
		       detail ? detail : "");
	}
	add_shortfall(w);
}

void watch_tick(struct watch *w, int64_t now_ns)
{
	const struct watch_opts *o = &w->opts;
	char where[96];

	if (w->verdict != VERDICT_PENDING)
		return;
	stage_label(w, w->cur, where, sizeof(where));
	/*
	 * Silence is a hang only once a stage has begun: before that the
	 * board is in its firmware, which often prints nothing on the serial
	 * line (SeaBIOS, a laptop's POST), and stage_timeout bounds it.
	 */
	if (o->silence_timeout_ms && w->cur >= 0 &&
	    now_ns - w->last_output_ns >= o->silence_timeout_ms * 1000000) {
		decide(w, VERDICT_FAIL, now_ns,
		       "%s: no console output for %.1f s (hang?)", where,
		       o->silence_timeout_ms / 1000.0);
	} else if (o->stage_timeout_ms && w->cur >= 0 &&
		   now_ns - w->res[w->cur].start_ns >= o->stage_timeout_ms * 1000000) {
		decide(w, VERDICT_FAIL, now_ns, "%s: did not finish within %.1f s",
		       where, o->stage_timeout_ms / 1000.0);
	} else if (o->stage_timeout_ms && w->cur < 0 &&
		   now_ns >= o->stage_timeout_ms * 1000000) {
		decide(w, VERDICT_FAIL, now_ns,
		       "stage 1 (%s) did not start within %.1f s%s",
		       w->nstages ? w->names[0] : "?",
		       o->stage_timeout_ms / 1000.0,
		       w->lines ? "" : ": no console output at all (is the console the board's serial port, and did the board power on?)");
	} else if (o->total_timeout_ms && now_ns >= o->total_timeout_ms * 1000000) {
		decide(w, VERDICT_FAIL, now_ns, "%s: run timed out after %.1f s%s",
		       where, o->total_timeout_ms / 1000.0,
		       w->lines ? "" : ": no console output at all");
	}
	add_shortfall(w);
}

int64_t watch_deadline(const struct watch *w)
{
	const struct watch_opts *o = &w->opts;
	int64_t d = -1;

#define EARLIER(t) do { int64_t t_ = (t); if (d < 0 || t_ < d) d = t_; } while (0)
	if (w->verdict != VERDICT_PENDING)
		return -1;
	if (o->silence_timeout_ms && w->cur >= 0)
		EARLIER(w->last_output_ns + o->silence_timeout_ms * 1000000);
	if (o->stage_timeout_ms)
		EARLIER((w->cur >= 0 ? w->res[w->cur].start_ns : 0) +
			o->stage_timeout_ms * 1000000);
	if (o->total_timeout_ms)
		EARLIER(o->total_timeout_ms * 1000000);
#undef EARLIER
	return d;
}

enum verdict watch_verdict(const struct watch *w)
{
	return w->verdict;
}

const char *watch_verdict_name(enum verdict v)
{
	switch (v) {
	case VERDICT_PASS:
		return "pass";
	case VERDICT_FAIL:
		return "fail";
	case VERDICT_INFRA:
		return "infra";
	default:
		return "pending";
	}
}

const char *watch_reason(const struct watch *w)
{
	return w->reason;
}

const char *watch_line_text(const struct watch *w)
{
	return w->line;
}

int watch_line_no(const struct watch *w)
{
	return w->line_no;
}

int watch_nstages(const struct watch *w)
{
	return w->nstages;
}

int watch_current_stage(const struct watch *w)
{
	return w->cur;
}

const struct watch_stage_result *watch_stage(const struct watch *w, int i)
{
	return i >= 0 && i < w->nstages ? &w->res[i] : NULL;
}

int64_t watch_decided_ns(const struct watch *w)
{
	return w->decided_ns;
}
