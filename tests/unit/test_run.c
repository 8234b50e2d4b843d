// SPDX-License-Identifier: MIT
/*
 * Unit tests of the run engine's result (labctl/run.h) as the verbs
 * render it: the summary of run and boot (cmd_run.c) for a pass, a fail
 * with the line that decided, stages not reached and a record that could
 * not be written, and the exit code of each verdict.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labctl/labctl.h"
#include "labctl/run.h"
#include "lib/color.h"
#include "lib/xmalloc.h"
#include "testutil.h"

static void add_stage(struct result *rec, const char *variant, bool reached,
		      double start, double end, int line)
{
	struct result_stage *s;

	rec->stages = xrealloc(rec->stages,
			       (size_t)(rec->nstages + 1) * sizeof(*rec->stages));
	s = &rec->stages[rec->nstages];
	memset(s, 0, sizeof(*s));
	s->stage = ++rec->nstages;
	s->variant = xstrdup(variant);
	s->entry = xasprintf("XMHF-%s", variant);
	s->reached = reached;
	s->start = reached ? start : -1;
	s->end = reached ? end : -1;
	s->line = line;
}

static void make(struct run_result *r, const char *verdict, const char *reason)
{
	memset(r, 0, sizeof(*r));
	r->name = xstrdup("20261121062618");
	r->log_bytes = 4368;
	r->rec.lab = xstrdup("qemu");
	r->rec.board = xstrdup("qemu");
	r->rec.verdict = xstrdup(verdict);
	r->rec.reason = xstrdup(reason);
	r->rec.log_path = xstrdup("results/20261121062618");
}

static char *render(const struct run_result *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	run_print_summary(r, f);
	fclose(f);
	return text;
}

static void test_summary_pass(void **state)
{
	struct run_result r;
	char *text;

	(void)state;
	make(&r, "pass", "all 2 CPUs printed more than 20 iteration lines");
	r.rec.reason_line = xstrdup("CPU(0x01): test iter 20");
	r.rec.reason_line_no = 114;
	add_stage(&r.rec, "build64", true, 0.412, 0.866, 6);
	add_stage(&r.rec, "build32", true, 0.866, 1.302, 28);
	add_stage(&r.rec, "build32lhv", true, 1.302, 1.319, 50);
	text = render(&r);
	assert_string_equal(text,
		"\n20261121062618 qemu on qemu: build64 -> build32 -> build32lhv\n"
		"  stage 1 build64        at    0.412 s, took   0.454 s (line 6)\n"
		"  stage 2 build32        at    0.866 s, took   0.436 s (line 28)\n"
		"  stage 3 build32lhv     at    1.302 s, took   0.017 s (line 50)\n"
		"PASS: all 2 CPUs printed more than 20 iteration lines\n"
		"  line 114: CPU(0x01): test iter 20\n"
		"log: results/20261121062618 (4368 bytes), details: results/20261121062618.json\n");
	assert_int_equal(run_result_exit(&r), LAB_EXIT_PASS);
	free(text);
	run_result_release(&r);
	assert_null(r.name);
}

static void test_summary_fail_not_reached(void **state)
{
	struct run_result r;
	char *text;

	(void)state;
	make(&r, "fail", "stage 1 (hv): no console output for 3.0 s (hang?)");
	add_stage(&r.rec, "hv", true, 0.5, 3.5, 4);
	add_stage(&r.rec, "lhv", false, 0, 0, 0);
	text = render(&r);
	assert_string_equal(text,
		"\n20261121062618 qemu on qemu: hv -> lhv\n"
		"  stage 1 hv             at    0.500 s, took   3.000 s (line 4)\n"
		"  stage 2 lhv            not reached\n"
		"FAIL: stage 1 (hv): no console output for 3.0 s (hang?)\n"
		"log: results/20261121062618 (4368 bytes), details: results/20261121062618.json\n");
	assert_int_equal(run_result_exit(&r), LAB_EXIT_FAIL);
	free(text);
	run_result_release(&r);
}

/* Never a PASS without its record: the boot's own verdict is told apart. */
static void test_summary_record_lost(void **state)
{
	struct run_result r;
	char *text;

	(void)state;
	make(&r, "infra", "the record of this run could not be written: disk full");
	r.record_err = xstrdup("disk full");
	r.boot_verdict = xstrdup("pass");
	r.boot_reason = xstrdup("all CPUs passed");
	r.kept = xstrdup("results/20261121062618.partial");
	add_stage(&r.rec, "hv", true, 0.25, 1.25, 2);
	text = render(&r);
	assert_string_equal(text,
		"\n20261121062618 qemu on qemu: hv\n"
		"  stage 1 hv             at    0.250 s, took   1.000 s (line 2)\n"
		"ERROR: the record of this run could not be written: disk full\n"
		"  the boot itself: PASS: all CPUs passed\n"
		"log: results/20261121062618.partial (incomplete), no details\n");
	assert_int_equal(run_result_exit(&r), LAB_EXIT_INFRA);
	free(text);
	free(r.kept);
	r.kept = NULL;
	text = render(&r);
	assert_contains(text, "log: none kept\n");
	free(text);
	run_result_release(&r);
}

static void test_exit_codes(void **state)
{
	struct run_result r = { 0 };

	(void)state;
	assert_int_equal(run_result_exit(&r), LAB_EXIT_INFRA);	/* no verdict */
	r.rec.verdict = (char *)"infra";
	assert_int_equal(run_result_exit(&r), LAB_EXIT_INFRA);
	r.rec.verdict = (char *)"unknown";
	assert_int_equal(run_result_exit(&r), LAB_EXIT_INFRA);
	r.rec.verdict = (char *)"fail";
	assert_int_equal(run_result_exit(&r), LAB_EXIT_FAIL);
	r.rec.verdict = (char *)"pass";
	assert_int_equal(run_result_exit(&r), LAB_EXIT_PASS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_summary_pass),
		cmocka_unit_test(test_summary_fail_not_reached),
		cmocka_unit_test(test_summary_record_lost),
		cmocka_unit_test(test_exit_codes),
	};

	color_set_mode(COLOR_NEVER);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
