// SPDX-License-Identifier: MIT
/* The run record, built as a struct result and written by report/result.c. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "labctl/board.h"
#include "labctl/results.h"
#include "labctl/watch.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/shquote.h"
#include "lib/xmalloc.h"

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void run_record_init(struct run_record *r, const struct lab *lab, int argc,
		     char **argv)
{
	struct result *res = &r->res;
	struct strbuf cmd = STRBUF_INIT;
	int i;

	memset(r, 0, sizeof(*r));
	res->lab = xstrdup(lab->name);
	res->lab_file = dup_or_null(lab->path);
	res->board = dup_or_null(lab->board.type);
	if (board_is_remote(lab) && lab->board.host) {
		res->host = xstrdup(lab->board.host);
	} else {
		char name[256] = "localhost";

		gethostname(name, sizeof(name) - 1);
		res->host = xstrdup(name);
	}
	strbuf_addstr(&cmd, "labctl");
	for (i = 0; i < argc; i++) {
		strbuf_addch(&cmd, ' ');
		sh_quote(&cmd, argv[i]);
	}
	res->command = strbuf_detach(&cmd, NULL);
	res->labctl_version = xstrdup(LABCTL_VERSION);
	res->verdict = xstrdup("infra");
	res->decided = 0;
}

void run_record_set_lab(struct run_record *r, const char *name)
{
	free(r->res.lab);
	r->res.lab = xstrdup(name);
}

void run_record_add_stage(struct run_record *r, const char *variant,
			  const char *entry)
{
	struct result *res = &r->res;
	struct result_stage *s;

	res->stages = xrealloc(res->stages,
			       (size_t)(res->nstages + 1) * sizeof(*res->stages));
	s = &res->stages[res->nstages];
	memset(s, 0, sizeof(*s));
	s->stage = ++res->nstages;
	s->variant = xstrdup(variant);
	s->entry = xstrdup(entry);
	s->start = s->end = -1;
	s->start_byte = -1;
}

void run_record_add_variant(struct run_record *r, const struct hv_variant *v,
			    const struct hv_build_result *b)
{
	static const char *const state[] = {
		[HV_QUEUED] = "queued", [HV_BUILDING] = "building",
		[HV_CACHED] = "cached", [HV_DONE] = "built", [HV_FAILED] = "failed",
	};
	struct result *res = &r->res;
	struct result_variant *rv;

	res->variants = xrealloc(res->variants, (size_t)(res->nvariants + 1) *
						sizeof(*res->variants));
	rv = &res->variants[res->nvariants++];
	memset(rv, 0, sizeof(*rv));
	rv->name = dup_or_null(v->name);
	rv->recipe = dup_or_null(v->recipe);
	if (!strcmp(v->recipe, "standin")) {
		rv->arch = dup_or_null(v->arch);
		rv->options = xasprintf("0x%x", v->options);
	} else {
		rv->src = dup_or_null(v->src);
		rv->args = dup_or_null(v->args);
		rv->options = dup_or_null(v->args);
	}
	rv->source_rev = dup_or_null(b->source_rev);
	rv->build = xstrdup(state[b->state]);
	rv->init_sha256 = dup_or_null(b->sha256_init);
	rv->hypervisor_sha256 = dup_or_null(b->sha256_module);
}

void run_record_event(struct run_record *r, int64_t t_ns, const char *name,
		      const char *detail)
{
	struct result *res = &r->res;
	struct result_event *e;

	res->events = xrealloc(res->events,
			       (size_t)(res->nevents + 1) * sizeof(*res->events));
	e = &res->events[res->nevents++];
	e->t = t_ns / 1e9;
	e->name = dup_or_null(name);
	e->detail = xstrdup(detail ? detail : "");
}

static void set_str(char **field, const char *value)
{
	free(*field);
	*field = dup_or_null(value);
}

void run_record_finish(struct run_record *r, const struct watch *w,
		       int64_t end_ns)
{
	struct result *res = &r->res;
	int64_t decided = watch_decided_ns(w);
	int i;

	res->duration = end_ns / 1e9;
	res->decided = decided / 1e9;
	set_str(&res->verdict, watch_verdict_name(watch_verdict(w)));
	set_str(&res->reason, watch_reason(w));
	set_str(&res->reason_line, watch_line_text(w));
	res->reason_line_no = watch_line_no(w);
	for (i = 0; i < res->nstages; i++) {
		const struct watch_stage_result *s = watch_stage(w, i);
		struct result_stage *rs = &res->stages[i];

		rs->reached = s && s->start_ns >= 0;
		if (!rs->reached)
			continue;
		rs->start = s->start_ns / 1e9;
		rs->end = (s->end_ns >= 0 ? s->end_ns : decided) / 1e9;
		rs->start_byte = (int64_t)s->start_byte;
		rs->line = s->line_no;
	}
}

void run_record_lost(struct run_record *r, const char *why)
{
	struct result *res = &r->res;
	char *reason = xasprintf("the record of this run could not be written: %s (the boot itself: %s: %s)",
				 why, res->verdict, res->reason ? res->reason : "");

	free(res->reason);
	res->reason = reason;
	set_str(&res->verdict, "infra");
}

void run_record_stamp(struct run_record *r, const char *log_path)
{
	char started[64];

	lab_timestamp_iso(started, sizeof(started), r->t0_wall_ns);
	set_str(&r->res.started, started);
	r->res.started_wall_ns = r->t0_wall_ns;
	set_str(&r->res.log_path, log_path);
}

int run_record_write(struct run_record *r, const char *log_path)
{
	char *path = xasprintf("%s.json", log_path);
	int ret;

	run_record_stamp(r, log_path);
	ret = result_write_json(&r->res, path);
	free(path);
	return ret;
}

void run_record_release(struct run_record *r)
{
	result_release(&r->res);
	memset(r, 0, sizeof(*r));
}
