// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "labctl/board.h"
#include "labctl/results.h"
#include "labctl/watch.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/fileio.h"
#include "lib/shquote.h"
#include "lib/xmalloc.h"

void run_record_init(struct run_record *r, const struct lab *lab, int argc,
		     char **argv)
{
	struct strbuf cmd = STRBUF_INIT;
	int i;

	memset(r, 0, sizeof(*r));
	r->lab = xstrdup(lab->name);
	r->lab_file = xstrdup(lab->path);
	r->board = xstrdup(lab_get(lab, "board", "type"));
	if (board_is_remote(lab) && lab_get(lab, "board", "host")) {
		r->host = xstrdup(lab_get(lab, "board", "host"));
	} else {
		char name[256] = "localhost";

		gethostname(name, sizeof(name) - 1);
		r->host = xstrdup(name);
	}
	strbuf_addstr(&cmd, "labctl");
	for (i = 0; i < argc; i++) {
		strbuf_addch(&cmd, ' ');
		sh_quote(&cmd, argv[i]);
	}
	r->argv = strbuf_detach(&cmd, NULL);
	r->verdict = "infra";
}

void run_record_add_stage(struct run_record *r, const char *variant,
			  const char *entry)
{
	r->chain = xrealloc(r->chain, (size_t)(r->nstages + 1) * sizeof(*r->chain));
	r->entries = xrealloc(r->entries,
			      (size_t)(r->nstages + 1) * sizeof(*r->entries));
	r->chain[r->nstages] = xstrdup(variant);
	r->entries[r->nstages] = xstrdup(entry);
	r->nstages++;
}

static void kv_str(struct strbuf *sb, const char *key, const char *value,
		   bool comma)
{
	if (comma)
		strbuf_addch(sb, ',');
	strbuf_add_json_str(sb, key);
	strbuf_addch(sb, ':');
	if (value)
		strbuf_add_json_str(sb, value);
	else
		strbuf_addstr(sb, "null");
}

void run_record_add_variant(struct run_record *r, const struct hv_variant *v,
			    const struct hv_build_result *b)
{
	static const char *const state[] = {
		[HV_QUEUED] = "queued", [HV_BUILDING] = "building",
		[HV_CACHED] = "cached", [HV_DONE] = "built", [HV_FAILED] = "failed",
	};
	struct strbuf *sb = &r->variants;

	if (sb->len)
		strbuf_addch(sb, ',');
	strbuf_addch(sb, '{');
	kv_str(sb, "name", v->name, false);
	kv_str(sb, "recipe", v->recipe, true);
	if (!strcmp(v->recipe, "standin")) {
		kv_str(sb, "arch", v->arch, true);
		strbuf_addf(sb, ",\"options\":\"0x%x\"", v->options);
	} else {
		kv_str(sb, "src", v->src, true);
		kv_str(sb, "args", v->args, true);
	}
	kv_str(sb, "source_rev", b->source_rev, true);
	kv_str(sb, "build", state[b->state], true);
	kv_str(sb, "init_sha256", b->sha256_init, true);
	kv_str(sb, "hypervisor_sha256", b->sha256_module, true);
	strbuf_addch(sb, '}');
}

void run_record_event(struct run_record *r, int64_t t_ns, const char *name,
		      const char *detail)
{
	struct strbuf *sb = &r->events;

	if (sb->len)
		strbuf_addch(sb, ',');
	strbuf_addf(sb, "{\"t\":%.6f,", t_ns / 1e9);
	kv_str(sb, "event", name, false);
	kv_str(sb, "detail", detail ? detail : "", true);
	strbuf_addch(sb, '}');
}

void run_record_finish(struct run_record *r, const struct watch *w,
		       int64_t end_ns)
{
	int i;

	r->duration_ns = end_ns;
	r->decided_ns = watch_decided_ns(w);
	r->verdict = watch_verdict_name(watch_verdict(w));
	r->reason = xstrdup(watch_reason(w));
	r->line = xstrdup(watch_line_text(w));
	r->line_no = watch_line_no(w);
	strbuf_reset(&r->stages);
	for (i = 0; i < r->nstages; i++) {
		const struct watch_stage_result *s = watch_stage(w, i);

		if (i)
			strbuf_addch(&r->stages, ',');
		strbuf_addf(&r->stages, "{\"stage\":%d,", i + 1);
		kv_str(&r->stages, "variant", r->chain[i], false);
		kv_str(&r->stages, "entry", r->entries[i], true);
		if (s && s->start_ns >= 0) {
			int64_t end = s->end_ns >= 0 ? s->end_ns : watch_decided_ns(w);

			strbuf_addf(&r->stages,
				    ",\"reached\":true,\"start\":%.6f,\"end\":%.6f,\"start_byte\":%llu,\"line\":%d}",
				    s->start_ns / 1e9, end / 1e9,
				    (unsigned long long)s->start_byte, s->line_no);
		} else {
			strbuf_addstr(&r->stages, ",\"reached\":false}");
		}
	}
}

void run_record_lost(struct run_record *r, const char *why)
{
	char *reason = xasprintf("the record of this run could not be written: %s (the boot itself: %s: %s)",
				 why, r->verdict, r->reason ? r->reason : "");

	free(r->reason);
	r->reason = reason;
	r->verdict = "infra";
}

void run_record_json(const struct run_record *r, const char *log_path,
		     struct strbuf *out)
{
	char started[64];

	lab_timestamp_iso(started, sizeof(started), r->t0_wall_ns);
	strbuf_addch(out, '{');
	kv_str(out, "log", log_path, false);
	kv_str(out, "lab", r->lab, true);
	kv_str(out, "lab_file", r->lab_file, true);
	kv_str(out, "board", r->board, true);
	kv_str(out, "host", r->host, true);
	kv_str(out, "started", started, true);
	strbuf_addf(out, ",\"duration\":%.6f", r->duration_ns / 1e9);
	/* Wall clock of the verdict, for measuring what comes after it. */
	strbuf_addf(out, ",\"decided\":%.6f,\"decided_wall\":%.6f",
		    r->decided_ns / 1e9, (r->t0_wall_ns + r->decided_ns) / 1e9);
	kv_str(out, "verdict", r->verdict, true);
	kv_str(out, "reason", r->reason ? r->reason : "", true);
	kv_str(out, "line", r->line ? r->line : "", true);
	strbuf_addf(out, ",\"line_no\":%d", r->line_no);
	strbuf_addf(out, ",\"stages\":[%s]", strbuf_str(&r->stages));
	strbuf_addf(out, ",\"variants\":[%s]", strbuf_str(&r->variants));
	strbuf_addf(out, ",\"events\":[%s]", strbuf_str(&r->events));
	kv_str(out, "command", r->argv, true);
	kv_str(out, "labctl_version", LABCTL_VERSION, true);
	strbuf_addstr(out, "}\n");
}

int run_record_write(const struct run_record *r, const char *log_path)
{
	struct strbuf js = STRBUF_INIT;
	char *path = xasprintf("%s.json", log_path);
	int ret;

	run_record_json(r, log_path, &js);
	ret = lab_write_file_atomic(path, js.buf, js.len, 0644);
	strbuf_release(&js);
	free(path);
	return ret;
}

void run_record_release(struct run_record *r)
{
	int i;

	for (i = 0; i < r->nstages; i++) {
		free(r->chain[i]);
		free(r->entries[i]);
	}
	free(r->chain);
	free(r->entries);
	free(r->lab);
	free(r->lab_file);
	free(r->board);
	free(r->host);
	free(r->argv);
	free(r->reason);
	free(r->line);
	strbuf_release(&r->variants);
	strbuf_release(&r->events);
	strbuf_release(&r->stages);
	memset(r, 0, sizeof(*r));
}
