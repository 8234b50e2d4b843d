// SPDX-License-Identifier: MIT
/*
 * labctl log RESULT [--timestamps[=offset|wall|delta]] [--strip-ansi]
 *                   [--stage N] [--results DIR] [--color[=WHEN]] [--json]
 *
 * RESULT is a path, a name in results/ (or --results DIR), a unique
 * prefix of one, or "latest", as for grep, diff and report
 * (result_resolve).  Renders the raw log with the per-line times of its
 * .lines sidecar (see serial-capture/capture.h) and, for --stage, the
 * stage ranges of its run record (result_load, result_stage_range).  The raw log is only ever opened read-only.  Without options the
 * bytes are printed unchanged.
 *
 * The rendering helpers below are not static so tests/unit/test_console.c
 * can test them; their prototypes are here (and repeated there).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "labctl/labctl.h"
#include "labctl/logrender.h"
#include "lib/clock.h"
#include "lib/color.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/strbuf.h"
#include "report/grep.h"
#include "lib/xmalloc.h"
#include "report/result.h"

/* ------------------------------------------------------------ helpers */

int log_parse_ts_mode(const char *s, enum log_ts_mode *mode)
{
	if (!s || !strcmp(s, "offset"))
		*mode = LOG_TS_OFFSET;
	else if (!strcmp(s, "wall"))
		*mode = LOG_TS_WALL;
	else if (!strcmp(s, "delta"))
		*mode = LOG_TS_DELTA;
	else
		return -LAB_EINVAL;
	return 0;
}

/* The one escape stripper (report/grep.c), behind labctl log's own type. */
void log_strip_ansi(struct log_ansi *st, const char *in, size_t n,
		    struct strbuf *out)
{
	report_strip_ansi(&st->state, in, n, out);
}

/* "[  12.345678] " as dmesg prints it (negative before power-on). */
void log_format_offset(struct strbuf *out, int64_t ns)
{
	uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
	char num[40];

	snprintf(num, sizeof(num), "%s%" PRIu64 ".%06" PRIu64, ns < 0 ? "-" : "",
		 a / 1000000000, a % 1000000000 / 1000);
	strbuf_addf(out, "[%12s] ", num);
}

/* ------------------------------------------------------------ output */

struct log_opts {
	enum log_ts_mode ts;
	bool strip, json;
	bool color;	/* labctl's own marks coloured, never the console's bytes */
	int stage;	/* -1: the whole log */
};

static void emit_line(struct strbuf *out, const struct log_opts *o,
		      struct log_ansi *st, const struct result_line *r,
		      int64_t prev_ns, const char *text, size_t len)
{
	char iso[64];

	if (o->json) {
		struct strbuf l = STRBUF_INIT;
		json_t *doc;
		size_t i;

		if (len && text[len - 1] == '\n')
			len--;
		if (len && text[len - 1] == '\r')
			len--;
		if (o->strip)
			log_strip_ansi(st, text, len, &l);
		else
			strbuf_add(&l, text, len);
		for (i = 0; i < l.len; i++)	/* keep the JSON string whole */
			if (!l.buf[i])
				l.buf[i] = ' ';
		lab_timestamp_iso(iso, sizeof(iso), r->wall_ns);
		doc = json_object();
		/* whole microseconds, cut as the text timestamps are */
		json_object_set_new(doc, "offset",
				    json_real((double)(r->t_ns / 1000) / 1e6));
		lab_json_set(doc, "wall", lab_json_str(iso));
		lab_json_set(doc, "line", lab_json_str(strbuf_str(&l)));
		lab_json_add(out, doc);
		strbuf_release(&l);
		return;
	}
	if (o->color && o->ts != LOG_TS_NONE)
		strbuf_addstr(out, color_sgr(COLOR_TIME));
	switch (o->ts) {
	case LOG_TS_OFFSET:
		log_format_offset(out, r->t_ns);
		break;
	case LOG_TS_DELTA:
		log_format_offset(out, r->t_ns - prev_ns);
		break;
	case LOG_TS_WALL:
		lab_timestamp_iso(iso, sizeof(iso), r->wall_ns);
		strbuf_addf(out, "[%s] ", iso);
		break;
	case LOG_TS_NONE:
		break;
	}
	if (o->color && o->ts != LOG_TS_NONE) {	/* before the prefix's blank */
		strbuf_setlen(out, out->len - 1);
		strbuf_addstr(out, COLOR_RESET " ");
	}
	if (o->strip)
		log_strip_ansi(st, text, len, out);
	else
		strbuf_add(out, text, len);
	if (!len || text[len - 1] != '\n')
		strbuf_addch(out, '\n');
}

/* "--- console lost for 2.3 s (why) ---" where the console was lost. */
static void emit_gap(struct strbuf *out, const struct log_opts *o,
		     const struct result_gap *g)
{
	double s = (g->end_ns - g->start_ns) / 1e9;
	char iso[64];

	if (o->json) {
		json_t *doc = json_object();

		lab_timestamp_iso(iso, sizeof(iso), g->start_wall_ns);
		json_object_set_new(doc, "gap", lab_json_secs(g->end_ns - g->start_ns));
		lab_json_set(doc, "wall", lab_json_str(iso));
		lab_json_set(doc, "reason", lab_json_str(g->reason));
		lab_json_add(out, doc);
		return;
	}
	strbuf_addf(out, "%s--- console lost for %.1f s (%s) ---%s\n",
		    o->color ? color_sgr(COLOR_INFRA) : "", s, g->reason,
		    o->color ? COLOR_RESET : "");
}

static int flush_out(struct strbuf *out, bool force)
{
	if (!force && out->len < 65536)
		return 0;
	if (out->len && fwrite(out->buf, 1, out->len, stdout) != out->len) {
		strbuf_reset(out);
		return lab_err_errno(errno, "error writing standard output");
	}
	strbuf_reset(out);
	return 0;
}

static int render(const char *log, const char *data, uint64_t size,
		  const struct log_opts *o, uint64_t start, uint64_t end)
{
	struct strbuf out = STRBUF_INIT, side = STRBUF_INIT;
	struct log_ansi st = { 0 };
	struct result sc = { 0 };
	char *lines_path;
	int64_t prev_ns = 0;
	bool first = true;
	size_t i;
	int gi = 0, ret = 0;

	if (o->ts == LOG_TS_NONE && !o->json) {
		if (o->strip)
			log_strip_ansi(&st, data + start, end - start, &out);
		else if (end > start && fwrite(data + start, 1, end - start, stdout) !=
			 end - start)
			ret = lab_err_errno(errno, "error writing standard output");
		if (!ret)
			ret = flush_out(&out, true);
		strbuf_release(&out);
		return ret;
	}

	lines_path = xasprintf("%s.lines", log);
	ret = strbuf_read_file(&side, lines_path, 0);
	if (ret) {
		if (ret == -LAB_ENOENT)
			ret = lab_err(LAB_ENOENT,
				      "%s has no sidecar %s: line times are unknown (log it without --timestamps/--json)",
				      log, lines_path);
		goto out;
	}
	ret = result_parse_sidecar(&sc, lines_path, strbuf_str(&side), side.len,
				   NULL);
	if (ret)
		goto out;
	for (i = 0; i < sc.nlines && !ret; i++) {
		uint64_t a = (uint64_t)sc.lines[i].offset;
		uint64_t b = i + 1 < sc.nlines ? (uint64_t)sc.lines[i + 1].offset : size;

		if (a > size)
			break;
		if (b > size)
			b = size;
		/* the part of this line inside [start, end) */
		if (b <= start || a >= end || a == b)
			continue;
		if (a < start)
			a = start;
		if (b > end)
			b = end;
		/* gaps before this line (the bytes from their offset on came after) */
		for (; gi < sc.ngaps && sc.gaps[gi].offset <= sc.lines[i].offset; gi++)
			if ((uint64_t)sc.gaps[gi].offset >= start)
				emit_gap(&out, o, &sc.gaps[gi]);
		emit_line(&out, o, &st, &sc.lines[i],
			  first ? sc.lines[i].t_ns : prev_ns, data + a, b - a);
		prev_ns = sc.lines[i].t_ns;
		first = false;
		ret = flush_out(&out, false);
	}
	for (; !ret && gi < sc.ngaps; gi++)	/* lost at the end */
		if ((uint64_t)sc.gaps[gi].offset >= start &&
		    (uint64_t)sc.gaps[gi].offset <= end)
			emit_gap(&out, o, &sc.gaps[gi]);
	if (!ret)
		ret = flush_out(&out, true);
out:
	for (gi = 0; gi < sc.ngaps; gi++)
		free(sc.gaps[gi].reason);
	free(sc.gaps);
	free(sc.lines);
	free(lines_path);
	strbuf_release(&side);
	strbuf_release(&out);
	return ret;
}

enum { OPT_TIMESTAMPS = CMD_OPT_LONG, OPT_STRIP_ANSI, OPT_STAGE,
       OPT_RESULTS };

static const struct option options[] = {
	{ "timestamps", optional_argument, NULL, OPT_TIMESTAMPS },
	{ "strip-ansi", no_argument, NULL, OPT_STRIP_ANSI },
	{ "stage", required_argument, NULL, OPT_STAGE },
	{ "results", required_argument, NULL, OPT_RESULTS },
	{ NULL, 0, NULL, 0 }
};

int cmd_log(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct log_opts o = { .ts = LOG_TS_NONE, .json = ctx->json,
			      .stage = -1 };
	const char *result = NULL, *dir = NULL;
	char *path = NULL;
	void *map = NULL;
	uint64_t size = 0, start = 0, stop;
	struct cmd_getopt g;
	struct stat sb;
	int c, fd = -1, ret;

	cmd_getopt_init(&g, "log", argc, argv, options);
	while ((c = cmd_getopt_next(&g)) != -1) {
		switch (c) {
		case OPT_TIMESTAMPS:
			if (log_parse_ts_mode(g.arg, &o.ts))
				return cmd_usage_error("log",
						       "unknown --timestamps format '%s' (offset, wall or delta)",
						       g.arg);
			break;
		case OPT_STRIP_ANSI:
			o.strip = true;
			break;
		case OPT_STAGE:
			ret = cmd_parse_stage("log", g.arg, &o.stage);
			if (ret)
				return ret;
			break;
		case OPT_RESULTS:
			if (!*g.arg)
				return cmd_usage_error("log", "--results needs a directory");
			dir = g.arg;
			break;
		case CMD_OPERAND:
			if (result)
				return cmd_usage_error("log", "too many arguments");
			result = g.arg;
			break;
		default:
			return LAB_EXIT_USAGE;
		}
	}
	if (!result)
		return cmd_usage_error("log", "which result? (a path, a name in results/, a unique prefix of one, or latest)");
	o.color = !o.json && color_enabled(stdout);

	ret = result_resolve(result, dir, &path);
	if (ret)
		return cmd_fail(ret);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		ret = lab_err_errno(errno, "cannot open %s", path);
		goto out;
	}
	size = (uint64_t)sb.st_size;
	if (size) {
		map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			map = NULL;
			ret = lab_err_errno(errno, "cannot read %s", path);
			goto out;
		}
	}
	stop = size;
	if (o.stage >= 0) {
		struct result *r = NULL;

		ret = result_load(path, NULL, 0, &r);
		if (!ret && !r->json_path)
			ret = lab_err(LAB_ENOENT,
				      "%s has no %s.json: its stages are unknown",
				      path, path);
		if (!ret) {
			ret = result_stage_range(r, o.stage, size, &start, &stop);
			if (ret) {
				char *m = xstrdup(lab_errmsg(ret));

				ret = lab_err(-ret, "%s: %s", r->json_path, m);
				free(m);
			}
		}
		result_free(r);
		if (ret)
			goto out;
	}
	ret = render(path, map ? map : "", size, &o, start, stop);
out:
	if (map)
		munmap(map, size);
	if (fd >= 0)
		close(fd);
	free(path);
	return ret ? cmd_fail(ret) : 0;
}
