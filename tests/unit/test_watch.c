// SPDX-License-Identifier: MIT
/*
 * Stage detection and verdicts of labctl/watch.c, line by line; and the
 * built-in rule sets (rules/NAME.rules) against log excerpts in the style of
 * the XMHF developer's notes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "labctl/rules.h"
#include "labctl/watch.h"
#include "lib/err.h"
#include "lib/xmalloc.h"
#include "testutil.h"

#define MS (1000000LL)

static const struct watch_stage_def three[] = {
	{ "build64", "variant=build64( |$)", NULL, NULL },
	{ "build32", "variant=build32( |$)", NULL, NULL },
	{ "build32lhv", "variant=build32lhv( |$)", NULL, NULL },
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

	/*
	 * A silent firmware before stage 1 is not a hang: silence counts
	 * from a stage's start, the stage timeout bounds what comes before.
	 */
	w = new_watch(2);
	assert_int_equal(watch_deadline(w), 1000 * MS);
	watch_tick(w, 900 * MS);
	assert_int_equal(watch_verdict(w), VERDICT_PENDING);
	feed(w, "GRUB loading.", 950 * MS);
	watch_tick(w, 999 * MS);
	assert_int_equal(watch_verdict(w), VERDICT_PENDING);
	feed(w, "Stand-in Hypervisor variant=build64", 999 * MS);
	assert_int_equal(watch_deadline(w), 1499 * MS);
	watch_tick(w, 1499 * MS);
	assert_int_equal(watch_verdict(w), VERDICT_FAIL);
	assert_string_equal(watch_reason(w),
			    "stage 1 (build64): no console output for 0.5 s (hang?)");
	watch_free(w);

	/* Nothing at all: the reason says so. */
	w = new_watch(2);
	watch_tick(w, 1000 * MS);
	assert_int_equal(watch_verdict(w), VERDICT_FAIL);
	assert_non_null(strstr(watch_reason(w),
			       "stage 1 (build64) did not start within 1.0 s: no console output at all"));
	watch_free(w);
}

static void test_bad_pattern(void **state)
{
	struct watch_stage_def bad = { "x", "(unclosed", NULL, NULL };
	struct watch_opts o = { 0 };

	(void)state;
	assert_null(watch_new(&bad, 1, &o));
	assert_non_null(strstr(lab_errmsg(LAB_ECONFIG), "(unclosed"));
}

static void test_pass_pattern(void **state)
{
	const struct watch_stage_def one = { "lhv", "LHV banner", NULL, NULL };
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


/* ------------------------------------------------ rule sets on excerpts */

static struct rule_set *set_of(const char *names)
{
	struct rule_set *set = rules_new();
	char *copy = xstrdup(names), *save = NULL, *tok;

	for (tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
		if (rules_load_name(set, tok, NULL, 0, RULES_NO_FILES))
			fail_msg("%s: %s", tok, lab_errmsg(LAB_ECONFIG));
	free(copy);
	return set;
}

/*
 * A watch as `labctl run` builds it: the run's sets, one set per stage
 * (its banner from that set), 2 CPUs, more than 20 iterations each.
 */
struct rig {
	struct rule_set *run;
	struct rule_set *stage[4];
	struct watch *w;
	int64_t t;
};

/* arranged: the sets as lab_rules_load leaves them for a lab that names
 * no set per variant; else each set whole. */
static void rig_start_as(struct rig *r, const char *run,
			 const char *const *stages, int n, bool arranged)
{
	struct watch_stage_def defs[4];
	struct watch_opts o = {
		.stage_timeout_ms = 10000,
		.silence_timeout_ms = 1000,
		.cpus = 2,
		.iter_min = 20,
	};
	int i;

	memset(r, 0, sizeof(*r));
	r->run = set_of(run);
	if (arranged)
		rules_arrange_run(r->run);
	o.rules = r->run;
	for (i = 0; i < n; i++) {
		r->stage[i] = set_of(stages[i]);
		if (arranged)
			rules_arrange_stage(r->run, r->stage[i], i == n - 1);
		defs[i] = (struct watch_stage_def){ stages[i],
						    rules_banner(r->stage[i]),
						    r->stage[i], NULL };
	}
	r->w = watch_new(defs, n, &o);
	assert_non_null(r->w);
}

static void rig_start(struct rig *r, const char *run, const char *const *stages,
		      int n)
{
	rig_start_as(r, run, stages, n, false);
}

/*
 * XMHF-XMHF-Debian: stand-ins that print no iteration line, then Linux.
 * Ending in the OS, the run's sets judge it and no CPU must iterate; the
 * same chain ending in its last stage fails at the prompt.
 */
static void test_ends_in_os(void **state)
{
	static const char *const stages[2] = { "standin", "standin" };
	static const char *const boot[] = {
		"Stand-in Hypervisor (labctl) variant=standin arch=amd64",
		"smp: 2 CPUs online",
		"Debian GNU/Linux 12 twin ttyS0",
	};
	struct watch_stage_def defs[2];
	struct rule_set *run, *stage[2];
	struct watch_opts o = {
		.stage_timeout_ms = 10000, .silence_timeout_ms = 1000,
		.cpus = 2, .iter_min = 20,
	};
	struct watch *w;
	int pass, i, k;

	(void)state;
	for (pass = 0; pass < 2; pass++) {
		run = set_of("standin, linux");
		rules_arrange_run(run);
		o.rules = run;
		o.ends_in_os = pass == 0;
		for (i = 0; i < 2; i++) {
			stage[i] = set_of(stages[i]);
			rules_arrange_stage(run, stage[i], i == 1);
			/* run.c puts the variant's name in for ${variant} */
			defs[i] = (struct watch_stage_def){ stages[i],
							    "^Stand-in Hypervisor \\(labctl\\) variant=standin( |$)",
							    stage[i], NULL };
		}
		w = watch_new(defs, 2, &o);
		if (!w)
			fail_msg("%s", lab_errmsg(LAB_ECONFIG));
		for (i = 0; i < 2; i++)
			for (k = 0; k < 2; k++)
				watch_line(w, boot[k], strlen(boot[k]),
					   (i * 10 + k + 1) * MS, 0);
		watch_line(w, boot[2], strlen(boot[2]), 30 * MS, 0);
		if (o.ends_in_os) {
			assert_int_equal(watch_verdict(w), VERDICT_PASS);
			assert_string_equal(watch_reason(w),
					    "stage 2 (standin): Linux reached its login prompt (end pattern /Debian GNU/Linux [^ ]+ [^ ]+ ttyS[0-9]+/)");
		} else {
			assert_int_equal(watch_verdict(w), VERDICT_FAIL);
			assert_non_null(strstr(watch_reason(w), "before every CPU passed"));
		}
		watch_free(w);
		rules_free(run);
		for (i = 0; i < 2; i++)
			rules_free(stage[i]);
	}

	/* No set that says when the OS is up: no watch, and why. */
	run = set_of("standin");
	o.rules = run;
	o.ends_in_os = true;
	stage[0] = set_of("standin");
	rules_arrange_stage(run, stage[0], true);
	defs[0] = (struct watch_stage_def){ "standin", "^Stand-in Hypervisor",
					    stage[0], NULL };
	assert_null(watch_new(defs, 1, &o));
	assert_non_null(strstr(lab_errmsg(LAB_ECONFIG), "no rule set says when it is up"));
	rules_free(run);
	rules_free(stage[0]);
}

static void rig_feed(struct rig *r, const char *line)
{
	r->t += MS;
	watch_line(r->w, line, strlen(line), r->t, 0);
}

static void rig_stop(struct rig *r)
{
	int i;

	watch_free(r->w);
	rules_free(r->run);
	for (i = 0; i < 4; i++)
		rules_free(r->stage[i]);
}

static const char xmhf_banner[] =
	"eXtensible Modular Hypervisor Framework (XMHF) 6.1.0 (Intel TXT, VT-x)";

static void test_xmhf_halt(void **state)
{
	static const char *const chain[] = { "xmhf", "xmhf" };
	struct rig r;

	(void)state;
	rig_start(&r, "xmhf", chain, 2);
	rig_feed(&r, xmhf_banner);
	rig_feed(&r, "CPU(0x00): VMCLEAR success.");
	rig_feed(&r, xmhf_banner);
	rig_feed(&r, "Fatal: Halting! Condition '__vmx_vmptrld (vmcs12_info->vmcs12_shadow_ptr)' failed, line 1513, file arch/x86/vmx/nested-x86vmx-handler.c");
	assert_int_equal(watch_verdict(r.w), VERDICT_FAIL);
	assert_string_equal(watch_reason(r.w),
			    "stage 2 (xmhf): XMHF halted on a failed condition (fail pattern /Fatal: Halting!/)");
	assert_int_equal(watch_line_no(r.w), 4);
	assert_contains(watch_line_text(r.w), "vmcs12_shadow_ptr");
	rig_stop(&r);

	/* The guest's triple fault: XMHF's unhandled VM exit 2. */
	rig_start(&r, "xmhf", chain, 1);
	rig_feed(&r, xmhf_banner);
	rig_feed(&r, "Intercept: 0x01 0x00000002 0x0000000000000000 0x000000000009ae80 ;");
	rig_feed(&r, "0x01 set global_halt");
	rig_feed(&r, "CPU(0x01): Unhandled intercept: 2 (0x00000002)");
	assert_int_equal(watch_verdict(r.w), VERDICT_FAIL);
	assert_contains(watch_reason(r.w), "the guest triple-faulted (VM exit reason 2)");
	rig_stop(&r);

	/* QEMU without VMX; and VM-ENTRY errors. */
	rig_start(&r, "xmhf", chain, 1);
	rig_feed(&r, xmhf_banner);
	rig_feed(&r, "CPU(0x00): No support for Nested Paging, HALTING!");
	assert_contains(watch_reason(r.w), "stage 1 (xmhf): the CPU has no nested paging (EPT or NPT) (fail pattern /No support for Nested Paging/)");
	rig_stop(&r);
	rig_start(&r, "xmhf", chain, 1);
	rig_feed(&r, xmhf_banner);
	rig_feed(&r, "VM-ENTRY error: reason=0x80000021, qualification=0x0000000000000000");
	assert_contains(watch_reason(r.w), "a VM entry failed");
	rig_stop(&r);

	/* The machine's own triple fault: QEMU's RESET event. */
	rig_start(&r, "xmhf", chain, 2);
	rig_feed(&r, xmhf_banner);
	watch_event(r.w, "RESET", "guest-reset", 5 * MS);
	assert_contains(watch_reason(r.w), "stage 1 (xmhf): the guest reset itself (triple fault?)");
	rig_stop(&r);
}

static void feed_iters(struct rig *r, int cpu, int from, int to, bool in_xmhf)
{
	char line[64];
	int i;

	for (i = from; i < to; i++) {
		snprintf(line, sizeof(line), "CPU(0x%02x): LHV %stest iter %d", cpu,
			 in_xmhf ? "in XMHF " : "", i);
		rig_feed(r, line);
	}
}

static void test_lhv_two_cpus(void **state)
{
	static const char *const chain[] = { "xmhf", "lhv" };
	struct rig r;

	(void)state;
	/* XMHF-LHV: both CPUs 21 times; the second one's 21st line passes. */
	rig_start(&r, "standin", chain, 2);
	rig_feed(&r, xmhf_banner);
	feed_iters(&r, 0, 0, 30, true);	/* before LHV: not counted */
	rig_feed(&r, "Lightweight Hypervisor (LHV) 0.0.0");
	rig_feed(&r, "LHV_OPT = 0x00000000000005fc");
	feed_iters(&r, 0, 0, 21, false);
	feed_iters(&r, 1, 0, 20, false);
	rig_feed(&r, "CPU(0x01): test iter 99");	/* not LHV's form */
	assert_int_equal(watch_verdict(r.w), VERDICT_PENDING);
	feed_iters(&r, 1, 20, 21, true);
	assert_int_equal(watch_verdict(r.w), VERDICT_PASS);
	assert_string_equal(watch_reason(r.w), "all 2 CPUs printed more than 20 iteration lines");
	assert_string_equal(watch_line_text(r.w), "CPU(0x01): LHV in XMHF test iter 20");
	rig_stop(&r);

	/* One CPU short, then silence: the reason names it. */
	rig_start(&r, "standin", chain, 2);
	rig_feed(&r, xmhf_banner);
	rig_feed(&r, "Lightweight Hypervisor (LHV) 0.0.0");
	feed_iters(&r, 0, 0, 25, false);
	feed_iters(&r, 1, 0, 5, false);
	watch_tick(r.w, r.t + 999 * MS);	/* ticks before: nothing yet */
	assert_int_equal(watch_verdict(r.w), VERDICT_PENDING);
	watch_tick(r.w, r.t + 1000 * MS);
	assert_int_equal(watch_verdict(r.w), VERDICT_FAIL);
	assert_string_equal(watch_reason(r.w),
			    "stage 2 (lhv): no console output for 1.0 s (hang?); CPU 0x01 printed only 5 iteration lines (more than 20 needed on each of 2 CPUs)");
	rig_stop(&r);

	/* One CPU never iterates, and the machine stops. */
	rig_start(&r, "standin", chain, 2);
	rig_feed(&r, xmhf_banner);
	rig_feed(&r, "Lightweight Hypervisor (LHV) 0.0.0");
	feed_iters(&r, 1, 0, 25, false);
	watch_event(r.w, "EXIT", "QEMU exited with status 0", r.t + MS);
	assert_int_equal(watch_verdict(r.w), VERDICT_FAIL);
	assert_contains(watch_reason(r.w), "before the last stage passed; 1 of 2 CPUs printed none (more than 20 needed on each of 2 CPUs)");
	rig_stop(&r);
}

static const char *const linux_boot[] = {
	"[    0.000000] Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org)",
	"[    0.000000] Command line: BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-amd64 root=/dev/sda1 ro console=ttyS0,115200",
	"[    0.412345] smp: Bringing up secondary CPUs ...",
	"[    1.020000] Run /init as init process",
	"Begin: Loading essential drivers ... done.",
	NULL,
};

static void boot_debian(struct rig *r)
{
	int i;

	rig_feed(r, xmhf_banner);
	rig_feed(r, xmhf_banner);
	for (i = 0; linux_boot[i]; i++)
		rig_feed(r, linux_boot[i]);
}

static void test_linux(void **state)
{
	static const char *const chain[] = { "xmhf", "xmhf" };
	struct rig r;

	(void)state;
	/* XMHF-XMHF-Debian: the getty's issue line ends the chain. */
	rig_start_as(&r, "xmhf, linux", chain, 2, true);
	boot_debian(&r);
	assert_int_equal(watch_verdict(r.w), VERDICT_PENDING);
	rig_feed(&r, "");
	rig_feed(&r, "Debian GNU/Linux 12 debian ttyS0\r");
	assert_int_equal(watch_verdict(r.w), VERDICT_PASS);
	assert_contains(watch_reason(r.w),
			"stage 2 (xmhf): Linux reached its login prompt (end pattern /Debian GNU/Linux");
	rig_stop(&r);

	/* The prompt itself, unfinished, fed as the console's partial line. */
	rig_start_as(&r, "xmhf, linux", chain, 2, true);
	boot_debian(&r);
	watch_partial(r.w, "debian lo", 9, r.t);
	assert_int_equal(watch_verdict(r.w), VERDICT_PENDING);
	watch_partial(r.w, "debian login: ", 14, r.t + MS);
	assert_int_equal(watch_verdict(r.w), VERDICT_PASS);
	assert_string_equal(watch_line_text(r.w), "debian login: ");
	assert_int_equal(watch_line_no(r.w), 2 + 5 + 1);
	rig_stop(&r);

	/* A partial line before the last stage is nothing. */
	rig_start_as(&r, "xmhf, linux", chain, 2, true);
	rig_feed(&r, xmhf_banner);
	watch_partial(r.w, "debian login: ", 14, r.t);
	assert_int_equal(watch_verdict(r.w), VERDICT_PENDING);
	rig_stop(&r);

	/* A panic, an Oops, BUG, KASAN. */
	{
		static const struct {
			const char *line, *reason;
		} bad[] = {
			{ "[    1.234567] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)",
			  "stage 2 (xmhf): Linux panicked (fail pattern /Kernel panic - not syncing/)" },
			{ "[    2.500000] Oops: 0002 [#1] PREEMPT SMP NOPTI",
			  "stage 2 (xmhf): Linux oopsed (fail pattern /(^|\\] )Oops: /)" },
			{ "Oops: general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] SMP",
			  "Linux oopsed" },
			{ "[    3.1] general protection fault: 0000 [#1] SMP", "Linux oopsed" },
			{ "[    4.2] BUG: kernel NULL pointer dereference, address: 0000000000000008",
			  "Linux hit a BUG" },
			{ "[   26.1] watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [swapper/1:0]",
			  "Linux hit a BUG" },
			{ "[    5.3] BUG: KASAN: slab-out-of-bounds in foo+0x12/0x34",
			  "KASAN found a memory error" },
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			rig_start_as(&r, "xmhf, linux", chain, 2, true);
			boot_debian(&r);
			rig_feed(&r, bad[i].line);
			assert_int_equal(watch_verdict(r.w), VERDICT_FAIL);
			assert_contains(watch_reason(r.w), bad[i].reason);
			assert_string_equal(watch_line_text(r.w), bad[i].line);
			rig_stop(&r);
		}
	}
	/* Words that only look alike do not fail. */
	rig_start_as(&r, "xmhf, linux", chain, 2, true);
	boot_debian(&r);
	rig_feed(&r, "[    0.1] DEBUG: not a BUG:line");
	rig_feed(&r, "[    0.2] CONFIG_DEBUG_BUGVERBOSE=y");
	rig_feed(&r, "[    0.3] panic=10 set; Kernel panic handling ready");
	assert_int_equal(watch_verdict(r.w), VERDICT_PENDING);
	rig_stop(&r);
}

static void test_end_before_iterations(void **state)
{
	static const char *const chain[] = { "lhv" };
	struct rule_set *extra;
	struct rig r;

	(void)state;
	/* A stage whose own rules both iterate and end: the end comes early. */
	rig_start(&r, "standin", chain, 1);
	extra = rules_new();
	{
		static const char text[] = "include lhv\nend /^LHV: done$/\n";

		assert_int_equal(rules_parse(extra, "x.rules", text, strlen(text), 0), 0);
	}
	watch_free(r.w);
	{
		struct watch_stage_def def = { "lhv", rules_banner(extra), extra, NULL };
		struct watch_opts o = { .cpus = 2, .iter_min = 20, .rules = r.run };

		r.w = watch_new(&def, 1, &o);
	}
	rig_feed(&r, "Lightweight Hypervisor (LHV) 0.0.0");
	feed_iters(&r, 0, 0, 21, false);
	rig_feed(&r, "LHV: done");
	assert_int_equal(watch_verdict(r.w), VERDICT_FAIL);
	assert_string_equal(watch_reason(r.w),
			    "stage 1 (lhv): the chain ended (end pattern /^LHV: done$/) before every CPU passed; 1 of 2 CPUs printed none (more than 20 needed on each of 2 CPUs)");
	rules_free(extra);
	rig_stop(&r);
}

static void test_rule_scopes(void **state)
{
	struct rule_set *run = rules_new(), *s1 = rules_new(), *s2 = rules_new();
	static const char run_text[] = "fail /^run-fail$/\nignore /^noise/\npass /^run-pass$/\n";
	static const char s1_text[] = "fail /^s1-fail$/\n";
	static const char s2_text[] = "ignore /^quiet/\niter /^i ([0-9])$/\ncpus 2\n";
	const char *const fails[] = { "^lab-fail$", NULL };
	struct watch_stage_def defs[2] = { { "a", "^A$", s1, NULL }, { "b", "^B$", s2, NULL } };
	struct watch_opts o = { .cpus = 1, .iter_min = 0, .rules = run,
				.pass_re = "^lab-pass$", .fail_res = fails };
	struct watch *w;

	(void)state;
	assert_int_equal(rules_parse(run, "r", run_text, strlen(run_text), 0), 0);
	assert_int_equal(rules_parse(s1, "s1", s1_text, strlen(s1_text), 0), 0);
	assert_int_equal(rules_parse(s2, "s2", s2_text, strlen(s2_text), 0), 0);

	/* A stage's fail rules act only while it runs. */
	w = watch_new(defs, 2, &o);
	feed(w, "s1-fail", MS);			/* before stage 1 */
	feed(w, "A", 2 * MS);
	feed(w, "B", 3 * MS);
	feed(w, "s1-fail", 4 * MS);		/* in stage 2 */
	/* The last stage has its own iter rule: the run's pass rule is off,
	 * the lab's pass_re is not. */
	feed(w, "run-pass", 5 * MS);
	assert_int_equal(watch_verdict(w), VERDICT_PENDING);
	/* Ignored lines are not judged: not even iterations. */
	feed(w, "quiet i 0", 6 * MS);
	feed(w, "noise run-fail", 7 * MS);
	assert_int_equal(watch_verdict(w), VERDICT_PENDING);
	feed(w, "lab-pass", 8 * MS);
	assert_int_equal(watch_verdict(w), VERDICT_PASS);
	watch_free(w);

	/* The run's fail rules act everywhere, the lab's too. */
	w = watch_new(defs, 2, &o);
	feed(w, "run-fail", MS);
	assert_string_equal(watch_reason(w), "before the first stage: fail pattern /^run-fail$/ matched");
	watch_free(w);
	w = watch_new(defs, 2, &o);
	feed(w, "A", MS);
	feed(w, "s1-fail", 2 * MS);
	assert_string_equal(watch_reason(w), "stage 1 (a): fail pattern /^s1-fail$/ matched");
	watch_free(w);
	w = watch_new(defs, 2, &o);
	feed(w, "A", MS);
	feed(w, "B", MS);
	feed(w, "lab-fail", 2 * MS);
	assert_string_equal(watch_reason(w), "stage 2 (b): fail pattern /^lab-fail$/ matched");
	watch_free(w);
	/* Stage 2's iteration rule passes it (cpus from opts: 1, more than 0). */
	w = watch_new(defs, 2, &o);
	feed(w, "A", MS);
	feed(w, "B", MS);
	feed(w, "i 0", 2 * MS);
	assert_int_equal(watch_verdict(w), VERDICT_PASS);
	watch_free(w);
	/* Without stage 2's own judging rules, the run's pass rule judges. */
	defs[1].rules = NULL;
	w = watch_new(defs, 2, &o);
	feed(w, "A", MS);
	feed(w, "B", MS);
	feed(w, "i 0", 2 * MS);
	assert_int_equal(watch_verdict(w), VERDICT_PENDING);
	feed(w, "run-pass", 3 * MS);
	assert_int_equal(watch_verdict(w), VERDICT_PASS);
	watch_free(w);
	rules_free(run);
	rules_free(s1);
	rules_free(s2);
}

/* The standin set alone gives what the watch always did (test_pass_all_cpus). */
static void test_standin_set_is_the_old_watch(void **state)
{
	struct rule_set *run = set_of("standin");
	struct watch_opts o = { .cpus = 2, .iter_min = 2, .rules = run };
	struct watch *w = watch_new(three, 3, &o);
	int i;

	(void)state;
	boot_three(w);
	for (i = 0; i < 3; i++)
		feed(w, "CPU(0x00): test iter 1", 5 * MS);
	for (i = 0; i < 2; i++)
		feed(w, "CPU(0x01): test iter 1", 6 * MS);
	assert_int_equal(watch_verdict(w), VERDICT_PENDING);
	feed(w, "CPU(0x01): test iter 2", 7 * MS);
	assert_int_equal(watch_verdict(w), VERDICT_PASS);
	assert_string_equal(watch_reason(w), "all 2 CPUs printed more than 2 iteration lines");
	watch_free(w);
	w = watch_new(three, 3, &o);
	feed(w, "Stand-in Hypervisor variant=build64", 1 * MS);
	feed(w, "Fatal: Halting! Condition 'x' failed, line 3, file a.c", 2 * MS);
	assert_string_equal(watch_reason(w), "stage 1 (build64): fail pattern /Fatal: Halting!/ matched");
	watch_free(w);
	rules_free(run);
}

static void test_bad_rule_in_set(void **state)
{
	struct rule_set *set = rules_new();
	struct watch_opts o = { .rules = set };
	struct rule r = { RULE_FAIL, xstrdup("(unclosed"), false, NULL,
			  xstrdup("my.rules"), 7 };

	(void)state;
	/* The parser refuses this; a set built by hand names its origin. */
	set->rules = xcalloc(1, sizeof(*set->rules));
	set->rules[0] = r;
	set->n = 1;
	assert_null(watch_new(three, 3, &o));
	assert_contains(lab_errmsg(LAB_ECONFIG), "my.rules:7: fail pattern '(unclosed': ");
	rules_free(set);
}

/* --- stages attributed by GRUB's own "Booting `ENTRY'" lines (issue 15) */

static const struct watch_stage_def grub_two[] = {
	{ "x64", "eXtensible Modular Hypervisor Framework", NULL, "XMHF-x64" },
	{ "lhv", "Lightweight Hypervisor \\(LHV\\)", NULL, "XMHF-lhv64" },
};

static struct watch *grub_watch(const char *stop)
{
	struct watch_opts o = {
		.cpus = 1,
		.iter_min = 1,
		.iter_re = "^CPU\\(0x([0-9a-fA-F]+)\\): .*test iter [0-9]+",
		.stop_entry = stop,
	};
	struct watch *w = watch_new(grub_two, 2, &o);

	assert_non_null(w);
	return w;
}

/* GRUB boots grub_two's stages in turn, each printing its banner (1-4 ms). */
static void boot_both_stages(struct watch *w)
{
	feed(w, "  Booting `XMHF-x64'", 1 * MS);
	feed(w, "eXtensible Modular Hypervisor Framework (XMHF)", 2 * MS);
	feed(w, "  Booting `XMHF-lhv64'", 3 * MS);
	feed(w, "Lightweight Hypervisor (LHV) ", 4 * MS);
}

static void test_grub_booting_begins_the_stage(void **state)
{
	struct watch *w = grub_watch("labctl-halt");

	(void)state;
	feed(w, "labctl-grub: default=XMHF-x64", 1 * MS);
	assert_int_equal(watch_current_stage(w), -1);
	/* As GRUB writes it: the screen cleared first. */
	feed(w, "\r\033[H\033[J\033[1;1H  Booting `XMHF-x64'\r", 2 * MS);
	assert_int_equal(watch_current_stage(w), 0);
	assert_int_equal(watch_stage(w, 0)->start_ns, 2 * MS);
	assert_int_equal(watch_stage(w, 0)->line_no, 2);
	feed(w, "eXtensible Modular Hypervisor Framework (XMHF)", 3 * MS);
	assert_int_equal(watch_current_stage(w), 0);
	feed(w, "  Booting `XMHF-lhv64'", 4 * MS);
	assert_int_equal(watch_current_stage(w), 1);
	assert_int_equal(watch_stage(w, 0)->end_ns, 4 * MS);
	feed(w, "Lightweight Hypervisor (LHV) ", 5 * MS);
	assert_int_equal(watch_current_stage(w), 1);
	feed(w, "CPU(0x00): LHV in XMHF test iter 1", 6 * MS);
	feed(w, "CPU(0x00): LHV in XMHF test iter 2", 7 * MS);
	assert_int_equal(watch_verdict(w), VERDICT_PASS);
	watch_free(w);
}

static void test_grub_booted_the_wrong_entry(void **state)
{
	struct watch *w = grub_watch("labctl-halt");

	(void)state;
	feed(w, "  Booting `XMHF-x64'", 1 * MS);
	feed(w, "eXtensible Modular Hypervisor Framework (XMHF)", 2 * MS);
	feed(w, "  Booting 'XMHF-x64'", 3 * MS);
	/* A lab error (the chain on the disk), never the variant's failure. */
	assert_int_equal(watch_verdict(w), VERDICT_INFRA);
	assert_non_null(strstr(watch_reason(w),
			       "GRUB booted XMHF-x64, the chain expected XMHF-lhv64"));
	assert_string_equal(watch_line_text(w), "  Booting 'XMHF-x64'");
	watch_free(w);
}

static void test_grub_first_entry_wrong(void **state)
{
	struct watch *w = grub_watch(NULL);

	(void)state;
	feed(w, "  Booting `XMHF-lhv64'", 1 * MS);
	assert_int_equal(watch_verdict(w), VERDICT_INFRA);
	assert_non_null(strstr(watch_reason(w),
			       "GRUB booted XMHF-lhv64, the chain expected XMHF-x64 (stage 1, x64)"));
	watch_free(w);
}

static void test_grub_after_the_last_stage(void **state)
{
	struct watch *w = grub_watch("labctl-halt");

	(void)state;
	boot_both_stages(w);
	/* The stop entry is what the chain ends in: no verdict from it. */
	feed(w, "  Booting `labctl-halt'", 5 * MS);
	assert_int_equal(watch_verdict(w), VERDICT_PENDING);
	/* Anything else after the last stage was not requested. */
	feed(w, "  Booting `XMHF-x64'", 6 * MS);
	assert_int_equal(watch_verdict(w), VERDICT_INFRA);
	assert_non_null(strstr(watch_reason(w),
			       "GRUB booted XMHF-x64 after the chain's last stage (lhv), the chain ends in labctl-halt"));
	watch_free(w);
}

static void test_grub_chain_ends_in_default(void **state)
{
	struct watch *w = grub_watch(NULL);

	(void)state;
	feed(w, "  Booting `XMHF-x64'", 1 * MS);
	feed(w, "eXtensible Modular Hypervisor Framework (XMHF)", 2 * MS);
	feed(w, "  Booting `XMHF-lhv64'", 3 * MS);
	/* No stop entry: the board's OS may boot after the chain. */
	feed(w, "  Booting `Debian GNU/Linux'", 4 * MS);
	assert_int_equal(watch_verdict(w), VERDICT_PENDING);
	watch_free(w);
}

static void test_grub_stage_without_its_banner(void **state)
{
	struct watch *w = grub_watch(NULL);

	(void)state;
	feed(w, "  Booting `XMHF-x64'", 1 * MS);
	feed(w, "  Booting `XMHF-lhv64'", 2 * MS);
	assert_int_equal(watch_verdict(w), VERDICT_FAIL);
	assert_non_null(strstr(watch_reason(w),
			       "stage 1 (x64): its banner never came before GRUB booted XMHF-lhv64"));
	watch_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pass_all_cpus),
		cmocka_unit_test(test_grub_booting_begins_the_stage),
		cmocka_unit_test(test_grub_booted_the_wrong_entry),
		cmocka_unit_test(test_grub_first_entry_wrong),
		cmocka_unit_test(test_grub_after_the_last_stage),
		cmocka_unit_test(test_grub_chain_ends_in_default),
		cmocka_unit_test(test_grub_stage_without_its_banner),
		cmocka_unit_test(test_iter_before_last_stage_does_not_count),
		cmocka_unit_test(test_fail_pattern),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_reset_is_triple_fault),
		cmocka_unit_test(test_console_eof_is_infra),
		cmocka_unit_test(test_exit_before_pass_fails),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_bad_pattern),
		cmocka_unit_test(test_pass_pattern),
		cmocka_unit_test(test_xmhf_halt),
		cmocka_unit_test(test_lhv_two_cpus),
		cmocka_unit_test(test_linux),
		cmocka_unit_test(test_end_before_iterations),
		cmocka_unit_test(test_ends_in_os),
		cmocka_unit_test(test_rule_scopes),
		cmocka_unit_test(test_standin_set_is_the_old_watch),
		cmocka_unit_test(test_bad_rule_in_set),
	};

	return cmocka_run_group_tests_name("watch", tests, NULL, NULL);
}
