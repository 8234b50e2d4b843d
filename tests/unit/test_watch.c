// SPDX-License-Identifier: MIT
/* Stage detection and verdicts of labctl/watch.c, line by line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "labctl/watch.h"
#include "lib/err.h"

#define MS (1000000LL)

static const struct watch_stage_def three[] = {
	{ "build64", "variant=build64( |$)" },
	{ "build32", "variant=build32( |$)" },
	{ "build32lhv", "variant=build32lhv( |$)" },
};

static const char *const fails[] = { "Fatal: Halting!", NULL };

static struct watch *new_watch(int cpus)
{
	struct watch_opts o = {
		.stage_timeout_ms = 1000,
		.total_timeout_ms = 5000,
		.silence_timeout_ms = 500,
		.cpus = cpus,
		.iter_min = 2,
		.iter_re = "^CPU\\(0x([0-9a-fA-F]+)\\): .*test iter [0-9]+",
		.fail_res = fails,
	};
	struct watch *w = watch_new(three, 3, &o);

	assert_non_null(w);
	return w;
}

static void feed(struct watch *w, const char *line, int64_t t)
{
	watch_line(w, line, strlen(line), t, 0);
}

static void boot_three(struct watch *w)
{
	feed(w, "GNU GRUB", 1 * MS);
	feed(w, "Stand-in Hypervisor variant=build64 arch=amd64", 2 * MS);
	feed(w, "Stand-in Hypervisor variant=build32 arch=i386", 3 * MS);
	feed(w, "Stand-in Hypervisor variant=build32lhv arch=i386\r", 4 * MS);
}

static void test_pass_all_cpus(void **state)
{
	struct watch *w = new_watch(2);
	int i;

	(void)state;
	boot_three(w);
	assert_int_equal(watch_current_stage(w), 2);
	for (i = 0; i < 3; i++) {
		feed(w, "CPU(0x00): test iter 1", 5 * MS);
		assert_int_equal(watch_verdict(w), VERDICT_PENDING);
	}
	for (i = 0; i < 2; i++)
		feed(w, "CPU(0x01): test iter 1", 6 * MS);
	assert_int_equal(watch_verdict(w), VERDICT_PENDING);
	feed(w, "CPU(0x01): test iter 2", 7 * MS);
	assert_int_equal(watch_verdict(w), VERDICT_PASS);
	assert_string_equal(watch_line_text(w), "CPU(0x01): test iter 2");
	assert_int_equal(watch_stage(w, 0)->start_ns, 2 * MS);
	assert_int_equal(watch_stage(w, 0)->end_ns, 3 * MS);
	assert_int_equal(watch_stage(w, 2)->end_ns, 7 * MS);
	assert_int_equal(watch_stage(w, 2)->line_no, 4);
	watch_free(w);
}

static void test_iter_before_last_stage_does_not_count(void **state)
{
	struct watch *w = new_watch(1);
	int i;

	(void)state;
	feed(w, "Stand-in Hypervisor variant=build64", 1 * MS);
	for (i = 0; i < 10; i++)
		feed(w, "CPU(0x00): test iter 1", 2 * MS);
	assert_int_equal(watch_verdict(w), VERDICT_PENDING);
	watch_free(w);
}

static void test_fail_pattern(void **state)
{
	struct watch *w = new_watch(2);

	(void)state;
	feed(w, "Stand-in Hypervisor variant=build64", 1 * MS);
	feed(w, "Fatal: Halting! Condition 'x' failed, line 3, file a.c", 2 * MS);
	assert_int_equal(watch_verdict(w), VERDICT_FAIL);
	assert_non_null(strstr(watch_reason(w), "stage 1 (build64)"));
	assert_non_null(strstr(watch_line_text(w), "Condition 'x'"));
	/* Decided: later lines change nothing. */
	feed(w, "Stand-in Hypervisor variant=build32", 3 * MS);
	assert_int_equal(watch_current_stage(w), 0);
	watch_free(w);
}

static void test_out_of_order(void **state)
{
	struct watch *w = new_watch(2);

	(void)state;
	feed(w, "Stand-in Hypervisor variant=build64", 1 * MS);
	feed(w, "Stand-in Hypervisor variant=build32lhv", 2 * MS);
	assert_int_equal(watch_verdict(w), VERDICT_FAIL);
	assert_non_null(strstr(watch_reason(w), "out of order"));
	watch_free(w);
}

static void test_reset_is_triple_fault(void **state)
{
	struct watch *w = new_watch(2);

	(void)state;
	boot_three(w);
	watch_event(w, "RESET", "guest-reset", 9 * MS);
	assert_int_equal(watch_verdict(w), VERDICT_FAIL);
	assert_non_null(strstr(watch_reason(w), "triple fault"));
	assert_non_null(strstr(watch_reason(w), "stage 3 (build32lhv)"));
	watch_free(w);
}

static void test_console_eof_is_infra(void **state)
{
	struct watch *w = new_watch(2);

	(void)state;
	watch_event(w, "CONSOLE_EOF", "connection reset", 1 * MS);
	assert_int_equal(watch_verdict(w), VERDICT_INFRA);
	watch_free(w);
}

static void test_exit_before_pass_fails(void **state)
{
	struct watch *w = new_watch(2);

	(void)state;
	feed(w, "Stand-in Hypervisor variant=build64", 1 * MS);
	watch_event(w, "EXIT", "QEMU exited with status 0", 2 * MS);
	assert_int_equal(watch_verdict(w), VERDICT_FAIL);
	assert_non_null(strstr(watch_reason(w), "stopped"));
	watch_free(w);
}

static void test_timeouts(void **state)
{
	struct watch *w = new_watch(2);

	(void)state;
	/* Silence: 500 ms after the last line. */
	feed(w, "Stand-in Hypervisor variant=build64", 100 * MS);
	assert_int_equal(watch_deadline(w), 600 * MS);
	watch_tick(w, 599 * MS);
	assert_int_equal(watch_verdict(w), VERDICT_PENDING);
	watch_tick(w, 600 * MS);
	assert_int_equal(watch_verdict(w), VERDICT_FAIL);
	assert_non_null(strstr(watch_reason(w), "no console output"));
	assert_int_equal(watch_deadline(w), -1);
	watch_free(w);

	/* Stage timeout while output keeps coming. */
	w = new_watch(2);
	feed(w, "Stand-in Hypervisor variant=build64", 0);
	for (int64_t t = 100; t <= 1000; t += 100) {
		feed(w, "still booting", t * MS);
		watch_tick(w, t * MS);
	}
	assert_int_equal(watch_verdict(w), VERDICT_FAIL);
	assert_non_null(strstr(watch_reason(w), "did not finish within 1.0 s"));
	watch_free(w);

	/* No stage at all. */
	w = new_watch(2);
	for (int64_t t = 100; t <= 1000; t += 100) {
		feed(w, "SeaBIOS", t * MS);
		watch_tick(w, t * MS);
	}
	assert_int_equal(watch_verdict(w), VERDICT_FAIL);
	assert_non_null(strstr(watch_reason(w), "stage 1 (build64) did not start"));
	watch_free(w);
}

static void test_bad_pattern(void **state)
{
	struct watch_stage_def bad = { "x", "(unclosed" };
	struct watch_opts o = { 0 };

	(void)state;
	assert_null(watch_new(&bad, 1, &o));
	assert_non_null(strstr(lab_errmsg(LAB_ECONFIG), "(unclosed"));
}

static void test_pass_pattern(void **state)
{
	const struct watch_stage_def one = { "lhv", "LHV banner" };
	struct watch_opts o = { .pass_re = "^all passed$" };
	struct watch *w = watch_new(&one, 1, &o);

	(void)state;
	feed(w, "all passed", 1 * MS);	/* before the stage: ignored */
	assert_int_equal(watch_verdict(w), VERDICT_PENDING);
	feed(w, "LHV banner", 2 * MS);
	feed(w, "all passed", 3 * MS);
	assert_int_equal(watch_verdict(w), VERDICT_PASS);
	watch_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pass_all_cpus),
		cmocka_unit_test(test_iter_before_last_stage_does_not_count),
		cmocka_unit_test(test_fail_pattern),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_reset_is_triple_fault),
		cmocka_unit_test(test_console_eof_is_infra),
		cmocka_unit_test(test_exit_before_pass_fails),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_bad_pattern),
		cmocka_unit_test(test_pass_pattern),
	};

	return cmocka_run_group_tests_name("watch", tests, NULL, NULL);
}
