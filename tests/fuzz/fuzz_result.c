// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the result loader (report/result.c) and what
 * reads a loaded result (report/grep.c, report/diff.c).
 *
 * The input is up to three files separated by a line "@@@@":
 *   <results/<ts>.json> @@@@ <results/<ts>.lines> @@@@ <results/<ts>>
 * (fewer separators: the later files are missing).  Loading must never
 * fail for a damaged JSON (verdict "unknown" with a reason), may fail for
 * a damaged sidecar only with -LAB_EFORMAT and a message, and what loads
 * must hold together: sorted line offsets, stage ranges inside the log,
 * every line's stage matching the ranges, grep finding every line with
 * an empty pattern, a diff of the result against itself "same", and the
 * record the writer makes of it loading back the same.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/strbuf.h"
#include "report/diff.h"
#include "report/grep.h"
#include "report/result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEP "\n@@@@\n"

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "fuzz_result: %s:%d: check failed: %s\n", \
				__FILE__, __LINE__, #cond);                \
			abort();                                           \
		}                                                          \
	} while (0)

static void check_result(const struct result *r)
{
	static const char *const verdicts[] = { "pass", "fail", "infra",
						"unknown" };
	struct report_matcher *m = NULL;
	struct report_grep_opts go = { .stage = -1 };
	struct report_diff_opts dopt = { .stage = -1, .context = 3 };
	struct strbuf out = STRBUF_INIT;
	struct report_lines it;
	bool known = false;
	size_t i, nlines = 0, matches = 0;
	int k, last_stage = -2;

	CHECK(r->verdict && r->name && r->log_path && r->log);
	for (i = 0; i < sizeof(verdicts) / sizeof(*verdicts); i++)
		known |= !strcmp(r->verdict, verdicts[i]);
	CHECK(known);
	CHECK(!strcmp(r->verdict, "unknown") || r->json_path);
	for (i = 1; i < r->nlines; i++)
		CHECK(r->lines[i].offset >= r->lines[i - 1].offset);
	for (k = 0; k < r->ngaps; k++)
		CHECK(r->gaps[k].reason && r->gaps[k].offset >= 0);
	for (k = 0; k < r->nstages; k++)
		CHECK(r->stages[k].stage >= 1 &&
		      (r->stages[k].start_byte >= 0 || !r->stages[k].reached ||
		       r->stages[k].start_byte == -1));

	/* Stage ranges stay inside the log. */
	for (k = 0; k <= r->nstages + 1; k++) {
		uint64_t s, e;

		if (result_stage_range(r, k, r->log_len, &s, &e) == 0)
			CHECK(s <= e && e <= r->log_len);
		else
			CHECK(lab_errmsg(-LAB_ENOENT)[0]);
	}

	/* Every line once, numbered in order, with a stage. */
	report_lines_init(&it, r, 0, r->log_len);
	while (report_lines_next(&it)) {
		nlines++;
		CHECK(it.line_no == (int)nlines);
		CHECK(it.offset < r->log_len);
		CHECK(it.text.buf && strlen(it.text.buf) == it.text.len);
		CHECK(result_has_stages(r) ? it.stage >= 0 : it.stage == -1);
		last_stage = it.stage;
	}
	(void)last_stage;
	report_lines_release(&it);

	CHECK(report_matcher_new("", REPORT_MATCH_FIXED, false, &m) == 0);
	CHECK(report_grep(r, m, &go, &out, &matches) == 0);
	CHECK(matches == nlines);
	report_matcher_free(m);
	strbuf_reset(&out);
	CHECK(report_matcher_new("CPU(0x00): [a-z]*", REPORT_MATCH_BASIC, true,
				 &m) == 0);
	go.json = true;
	CHECK(report_grep(r, m, &go, &out, &matches) == 0);
	report_matcher_free(m);
	strbuf_reset(&out);

	CHECK(report_diff(r, r, &dopt, &out) == 0);
	strbuf_reset(&out);
	dopt.json = true;
	dopt.filter = "a";
	CHECK(report_diff(r, r, &dopt, &out) == 0);
	strbuf_release(&out);
}

/* What the writer makes of a loaded record loads back the same. */
static void check_round_trip(const struct result *r)
{
	struct result_mem m = { .log_path = r->log_path };
	json_t *doc = result_to_json(r);
	char *text = json_dumps(doc, JSON_COMPACT);
	struct result *back = NULL;
	int k;

	CHECK(text);
	m.json = text;
	m.json_len = strlen(text);
	CHECK(result_load_mem(&m, 0, &back) == 0);
	CHECK(!strcmp(back->verdict, r->verdict));
	CHECK(back->nstages == r->nstages && back->nvariants == r->nvariants &&
	      back->nevents == r->nevents);
	for (k = 0; k < r->nstages; k++)
		CHECK(back->stages[k].start_byte == r->stages[k].start_byte);
	result_free(back);
	free(text);
	json_decref(doc);
}

static const char *split(const char *p, const char *end, size_t *len)
{
	const char *s = memmem(p, (size_t)(end - p), SEP, strlen(SEP));

	*len = (size_t)((s ? s : end) - p);
	return s ? s + strlen(SEP) : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *next;
	struct result_mem m = { .log_path = "results/20261121062618" };
	struct result *r = NULL;
	size_t len;
	int ret;

	m.json = p;
	next = split(p, end, &len);
	m.json_len = len;
	if (next) {
		m.lines = next;
		next = split(next, end, &len);
		m.lines_len = len;
		if (next) {
			m.log = next;
			m.log_len = (size_t)(end - next);
		}
	}
	/* Without the sidecar's lines, a result always loads. */
	ret = result_load_mem(&m, RESULT_LOG, &r);
	CHECK(ret == 0 && r);
	check_result(r);
	if (r->lab)
		check_round_trip(r);
	result_free(r);
	r = NULL;

	ret = result_load_mem(&m, RESULT_LOG | RESULT_LINES, &r);
	if (ret) {
		CHECK(ret == -LAB_EFORMAT && !r);
		CHECK(strstr(lab_errmsg(ret), "results/20261121062618.lines"));
		lab_err_clear();
		return 0;
	}
	check_result(r);
	result_free(r);
	lab_err_clear();
	return 0;
}
