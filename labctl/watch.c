// SPDX-License-Identifier: MIT
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labctl/watch.h"
#include "lib/err.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"

#define MAX_CPUS 256
#define MAX_LINE_KEEP 512

struct pattern {
	regex_t re;
	char *text;
};

struct watch {
	struct watch_opts opts;
	int nstages;
	char **names;
	struct pattern *banners;
	struct watch_stage_result *res;
	struct pattern iter;
	bool have_iter;
	struct pattern pass;
	bool have_pass;
	struct pattern *fails;
	int nfails;

	int cur;			/* current stage, -1 before the first */
	int lines;
	int64_t last_output_ns;
	int iters[MAX_CPUS];
	int cpus_done;

	enum verdict verdict;
	char reason[512];
	char line[MAX_LINE_KEEP];
	int line_no;
	int64_t decided_ns;
};

static int compile(struct pattern *p, const char *what, const char *re)
{
	char msg[256];
	int rc = regcomp(&p->re, re, REG_EXTENDED);

	if (rc) {
		regerror(rc, &p->re, msg, sizeof(msg));
		return lab_err(LAB_ECONFIG, "%s pattern '%s': %s", what, re, msg);
	}
	p->text = xstrdup(re);
	return 0;
}

static void release(struct pattern *p)
{
	if (!p->text)
		return;
	regfree(&p->re);
	free(p->text);
	p->text = NULL;
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
	w->cur = -1;
	for (i = 0; i < n; i++) {
		w->names[i] = xstrdup(stages[i].name);
		w->res[i].start_ns = -1;
		w->res[i].end_ns = -1;
		if (compile(&w->banners[i], "banner", stages[i].banner) < 0)
			goto fail;
	}
	if (o->iter_re && o->cpus > 0) {
		if (compile(&w->iter, "iteration", o->iter_re) < 0)
			goto fail;
		w->have_iter = true;
	}
	if (o->pass_re) {
		if (compile(&w->pass, "pass", o->pass_re) < 0)
			goto fail;
		w->have_pass = true;
	}
	for (i = 0; o->fail_res && o->fail_res[i]; i++)
		;
	w->fails = xcalloc((size_t)i + 1, sizeof(*w->fails));
	for (i = 0; o->fail_res && o->fail_res[i]; i++) {
		if (compile(&w->fails[i], "fail", o->fail_res[i]) < 0)
			goto fail;
		w->nfails++;
	}
	/* The stored options must not point into the caller's memory. */
	w->opts.iter_re = w->opts.pass_re = NULL;
	w->opts.fail_res = NULL;
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
		release(&w->banners[i]);
	}
	for (i = 0; i < w->nfails; i++)
		release(&w->fails[i]);
	release(&w->iter);
	release(&w->pass);
	free(w->fails);
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

static bool match(const struct pattern *p, const char *line, regmatch_t *m,
		  size_t nm)
{
	return regexec(&p->re, line, nm, m, 0) == 0;
}

static void count_iter(struct watch *w, const char *line, int64_t t_ns)
{
	regmatch_t m[2];
	char id[16];
	size_t len;
	long cpu;

	if (!match(&w->iter, line, m, 2) || m[1].rm_so < 0)
		return;
	len = (size_t)(m[1].rm_eo - m[1].rm_so);
	if (len >= sizeof(id))
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

void watch_line(struct watch *w, const char *line_in, size_t len, int64_t t_ns,
		uint64_t byte_offset)
{
	char buf[4096];
	const char *line = buf;
	char where[96];
	int i;

	w->lines++;
	w->last_output_ns = t_ns;
	if (w->verdict != VERDICT_PENDING)
		return;
	/* Patterns see the line without '\r' and NULs, cut at 4 KiB. */
	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	memcpy(buf, line_in, len);
	buf[len] = '\0';
	while (len && (buf[len - 1] == '\r'))
		buf[--len] = '\0';
	for (i = 0; i < (int)len; i++)
		if (!buf[i])
			buf[i] = ' ';

	for (i = 0; i < w->nfails; i++) {
		if (match(&w->fails[i], line, NULL, 0)) {
			keep_line(w, line, len);
			decide(w, VERDICT_FAIL, t_ns, "%s: fail pattern /%s/ matched",
			       stage_label(w, w->cur, where, sizeof(where)),
			       w->fails[i].text);
			return;
		}
	}
	/* The next stage's banner starts it; a later stage's is out of order. */
	if (w->cur + 1 < w->nstages && match(&w->banners[w->cur + 1], line, NULL, 0)) {
		int next = w->cur + 1;

		if (w->cur >= 0)
			w->res[w->cur].end_ns = t_ns;
		w->cur = next;
		w->res[next].start_ns = t_ns;
		w->res[next].start_byte = byte_offset;
		w->res[next].line_no = w->lines;
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
	if (w->cur != w->nstages - 1)
		return;
	if (w->have_pass && match(&w->pass, line, NULL, 0)) {
		keep_line(w, line, len);
		decide(w, VERDICT_PASS, t_ns, "%s: pass pattern matched",
		       stage_label(w, w->cur, where, sizeof(where)));
		return;
	}
	if (w->have_iter) {
		count_iter(w, line, t_ns);
		if (w->verdict == VERDICT_PASS)
			keep_line(w, line, len);
	}
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
}

void watch_tick(struct watch *w, int64_t now_ns)
{
	const struct watch_opts *o = &w->opts;
	char where[96];

	if (w->verdict != VERDICT_PENDING)
		return;
	stage_label(w, w->cur, where, sizeof(where));
	if (o->silence_timeout_ms &&
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
		       "stage 1 (%s) did not start within %.1f s",
		       w->nstages ? w->names[0] : "?",
		       o->stage_timeout_ms / 1000.0);
	} else if (o->total_timeout_ms && now_ns >= o->total_timeout_ms * 1000000) {
		decide(w, VERDICT_FAIL, now_ns, "%s: run timed out after %.1f s",
		       where, o->total_timeout_ms / 1000.0);
	}
}

int64_t watch_deadline(const struct watch *w)
{
	const struct watch_opts *o = &w->opts;
	int64_t d = -1;

#define EARLIER(t) do { int64_t t_ = (t); if (d < 0 || t_ < d) d = t_; } while (0)
	if (w->verdict != VERDICT_PENDING)
		return -1;
	if (o->silence_timeout_ms)
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
