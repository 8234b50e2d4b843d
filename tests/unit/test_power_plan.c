// SPDX-License-Identifier: MIT
/*
 * power/plan.c with the dummy (a state file), fault (seeded failures) and
 * cmd drivers: which step works, what every attempt records, battery
 * boards and AC cuts, the caller's confirmation and its timeout, and
 * plans that are refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/strbuf.h"
#include "power/plan.h"
#include "power/power.h"

static char scratch[PATH_MAX];
static char good_state[PATH_MAX + 16], good_log[PATH_MAX + 16];
static char flaky_wraps[PATH_MAX + 64], relay_state[PATH_MAX + 16];
static struct strbuf events = STRBUF_INIT;

static int setup(void **state)
{
	(void)state;
	snprintf(scratch, sizeof(scratch), "%s/labctl-plan.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(scratch))
		return -1;
	snprintf(good_state, sizeof(good_state), "%s/good", scratch);
	snprintf(good_log, sizeof(good_log), "%s/good.log", scratch);
	snprintf(relay_state, sizeof(relay_state), "%s/relay", scratch);
	snprintf(flaky_wraps, sizeof(flaky_wraps), "dummy:state_file=%s/flaky",
		 scratch);
	strbuf_reset(&events);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	test_rm_tree(scratch);
	return 0;
}

static void record(void *arg, const char *name, const char *detail)
{
	(void)arg;
	strbuf_addf(&events, "%s=%s\n", name, detail);
}

static char *slurp(const char *path)
{
	struct strbuf sb = STRBUF_INIT;

	if (strbuf_read_file(&sb, path, 4096))
		lab_err_clear();
	strbuf_rtrim(&sb);
	return strbuf_detach(&sb, NULL);
}

#define assert_file(path, want)                                             \
	do {                                                                \
		char *got_ = slurp(path);                                   \
		assert_string_equal(got_, want);                            \
		free(got_);                                                 \
	} while (0)

/* The devices every test can name. */
static struct lab_param flaky_p[2], good_p[2], broken_p[2], relay_p[1],
	nostatus_p[2], noprog_p[1];
static struct power_plan_device devs[7];

static void make_devices(void)
{
	static char nostatus_on[PATH_MAX + 32], nostatus_off[PATH_MAX + 32];

	snprintf(nostatus_on, sizeof(nostatus_on), "touch %s/ns", scratch);
	snprintf(nostatus_off, sizeof(nostatus_off), "rm -f %s/ns", scratch);
	flaky_p[0] = (struct lab_param){ "wraps", flaky_wraps };
	flaky_p[1] = (struct lab_param){ "fail_rate", "100" };
	good_p[0] = (struct lab_param){ "state_file", good_state };
	good_p[1] = (struct lab_param){ "log", good_log };
	broken_p[0] = (struct lab_param){ "fail", "on" };
	broken_p[1] = (struct lab_param){ "log", good_log };
	relay_p[0] = (struct lab_param){ "state_file", relay_state };
	nostatus_p[0] = (struct lab_param){ "on", nostatus_on };
	nostatus_p[1] = (struct lab_param){ "off", nostatus_off };
	noprog_p[0] = (struct lab_param){ "host", "x" };
	devs[0] = (struct power_plan_device){ .name = "flaky",
		.cfg = { .driver = "fault", .params = flaky_p, .nparams = 2,
		  .off_time_ms = 1 } };
	devs[1] = (struct power_plan_device){ .name = "good",
		.cfg = { .driver = "dummy", .params = good_p, .nparams = 2,
		  .off_time_ms = 1 } };
	devs[2] = (struct power_plan_device){ .name = "broken",
		.cfg = { .driver = "dummy", .params = broken_p, .nparams = 2,
		  .off_time_ms = 1 } };
	devs[3] = (struct power_plan_device){ .name = "relay",
		.cfg = { .driver = "dummy", .params = relay_p, .nparams = 1,
		  .off_time_ms = 1 }, .cuts_ac = true };
	devs[4] = (struct power_plan_device){ .name = "nostatus",
		.cfg = { .driver = "cmd", .params = nostatus_p, .nparams = 2,
		  .off_time_ms = 1 } };
	devs[5] = (struct power_plan_device){ .name = "ssh",
		.cfg = { .driver = "labctl-test-no-such-driver", .off_time_ms = 1 } };
	devs[6] = (struct power_plan_device){ .name = "bad",
		.cfg = { .driver = "dummy", .params = noprog_p, .nparams = 1 } };
}

static struct power_plan_options options(bool battery)
{
	struct power_plan_options o = {
		.verb = "cycle", .battery = battery,
		.confirm_timeout_ms = 300, .poll_ms = 10,
		.event = record,
	};

	return o;
}

static struct power_plan *new_plan(const char *spec,
				   const struct power_plan_options *o)
{
	struct power_plan *p;

	make_devices();
	assert_int_equal(power_plan_new(&p, spec, devs, 7, o), 0);
	return p;
}

/* ------------------------------------------------------------ tests */

static void test_first_fails_second_works(void **state)
{
	struct power_plan_options o = options(false);
	struct power_plan *p = new_plan(" flaky , good ", &o);
	const struct power_plan_attempt *a;
	int n;

	(void)state;
	assert_int_equal(power_plan_nsteps(p), 2);
	assert_int_equal(power_plan_run(p), 0);
	assert_int_equal(power_plan_worked(p), 2);
	a = power_plan_attempts(p, &n);
	assert_int_equal(n, 2);
	assert_int_equal(a[0].step, 1);
	assert_string_equal(a[0].what, "flaky:cycle");
	assert_int_equal(a[0].ret, -LAB_EINFRA);
	assert_contains(a[0].result, "cycle: power driver fault: cycle fails (action #2");
	assert_true(a[0].start_wall_ns > 0);
	assert_true(a[0].duration_ms >= 0);
	assert_int_equal(a[1].step, 2);
	assert_string_equal(a[1].what, "good:cycle");
	assert_int_equal(a[1].ret, 0);
	assert_string_equal(a[1].result, "ok (confirmed by good's power status)");
	assert_true(a[1].start_wall_ns >= a[0].start_wall_ns);
	/* The cycle was the dummy's fallback, and the board is on. */
	assert_file(good_log, "off\non");
	assert_file(good_state, "on");
	/* Every attempt is in the events, in order, the devices' too. */
	assert_contains(strbuf_str(&events),
			"plan=step 1/2 flaky:cycle: start\n"
			"status=flaky: power driver fault: status fails (action #1");
	assert_contains(strbuf_str(&events),
			"cycle=flaky: power driver fault: cycle fails (action #2");
	assert_contains(strbuf_str(&events),
			"plan=step 1/2 flaky:cycle: failed: cycle: power driver fault: cycle fails");
	assert_contains(strbuf_str(&events),
			"plan=step 2/2 good:cycle: start\n"
			"status=good: off\n"
			"off=good: ok\n"
			"on=good: ok\n"
			"cycle=good: ok\n"
			"status=good: on\n"
			"plan=step 2/2 good:cycle: ok (confirmed by good's power status)\n"
			"plan=done: step 2 good:cycle worked\n");
	power_plan_free(p);
}

static void test_all_fail(void **state)
{
	struct power_plan_options o = options(false);
	struct power_plan *p = new_plan("flaky, ssh, broken:reset", &o);
	const struct power_plan_attempt *a;
	int n;

	(void)state;
	assert_int_equal(power_plan_run(p), -LAB_EINFRA);
	assert_int_equal(power_plan_worked(p), 0);
	assert_string_equal(lab_errmsg(-LAB_EINFRA),
			    "power plan (cycle) failed, every step did: "
			    "1 flaky:cycle: cycle: power driver fault: cycle fails (action #2, seed 1, fail_rate 100%); "
			    "2 ssh:cycle: not available: power driver labctl-test-no-such-driver is not in this labctl; "
			    "3 broken:reset: reset: dummy power: on fails (fail=on)");
	a = power_plan_attempts(p, &n);
	assert_int_equal(n, 3);
	assert_int_equal(a[2].ret, -LAB_EINFRA);
	/* broken got as far as off: the board is left as the plan left it. */
	assert_file(good_log, "off");
	assert_contains(strbuf_str(&events), "plan=failed: every step failed\n");
	power_plan_free(p);
}

static void test_battery_ac_cut(void **state)
{
	struct power_plan_options o = options(true);
	struct power_plan *p = new_plan("relay, good", &o);
	const struct power_plan_attempt *a;
	struct strbuf out = STRBUF_INIT;
	int n;

	(void)state;
	assert_int_equal(power_plan_run(p), 0);
	assert_int_equal(power_plan_worked(p), 2);
	a = power_plan_attempts(p, &n);
	assert_int_equal(a[0].ret, -LAB_EINFRA);
	assert_string_equal(a[0].result,
			    "not confirmed: relay cuts AC, and this board runs on its battery (battery = yes), so that is never off");
	/* It was run all the same, and said it was off and on again. */
	assert_file(relay_state, "on");
	assert_int_equal(power_plan_describe(p, &out), 0);
	assert_contains(strbuf_str(&out),
			"plan for cycle: 2 steps, tried in order until one is confirmed down and up; the board has a battery: an AC cut never counts as off\n"
			"step 1/2 relay:cycle (driver dummy, cuts AC)\n");
	assert_contains(strbuf_str(&out),
			"  confirm: never: relay cuts AC and the board has a battery (battery = yes); the step runs but cannot count\n");
	power_plan_free(p);

	/* Without a battery the same relay is the board's power. */
	o = options(false);
	p = new_plan("relay, good", &o);
	assert_int_equal(power_plan_run(p), 0);
	assert_int_equal(power_plan_worked(p), 1);
	power_plan_free(p);
	strbuf_release(&out);
}

/* The caller's confirmation: phases in order, and its timeout. */
static struct strbuf phases = STRBUF_INIT;
static int up_fails_left;

static int confirm_wait(void *arg, enum power_plan_phase phase,
			int64_t timeout_ms)
{
	static const char *const names[] = { "arm", "down", "up" };

	(void)arg;
	strbuf_addf(&phases, "%s %lld;", names[phase], (long long)timeout_ms);
	if (phase == POWER_PLAN_UP && up_fails_left > 0) {
		up_fails_left--;
		return lab_err(LAB_ETIMEDOUT, "no console output for %lld ms",
			       (long long)timeout_ms);
	}
	return 0;
}

static void test_confirm_timeout(void **state)
{
	struct power_plan_confirm c = {
		.what = "console silence then output", .wait = confirm_wait,
	};
	struct power_plan_options o = options(true);
	struct power_plan *p;
	const struct power_plan_attempt *a;
	struct strbuf out = STRBUF_INIT;
	int n;

	(void)state;
	o.confirm = &c;
	strbuf_reset(&phases);
	up_fails_left = 1;
	p = new_plan("good, relay", &o);
	assert_int_equal(power_plan_run(p), 0);
	/* good timed out coming back up; the AC relay counts on a battery
	 * board once the console saw it go down and up. */
	assert_int_equal(power_plan_worked(p), 2);
	assert_string_equal(strbuf_str(&phases),
			    "arm 0;down 300;up 300;arm 0;down 300;up 300;");
	a = power_plan_attempts(p, &n);
	assert_int_equal(a[0].ret, -LAB_ETIMEDOUT);
	assert_string_equal(a[0].result,
			    "the board went down but did not come back: no console output for 300 ms");
	assert_string_equal(a[1].result, "ok (confirmed by console silence then output)");
	assert_int_equal(power_plan_describe(p, &out), 0);
	assert_contains(strbuf_str(&out),
			"  confirm: console silence then output (down, then up, 300 ms each); it cuts AC, which alone never powers off this battery board\n");
	power_plan_free(p);

	/* Every step times out: the plan fails with each step's reason. */
	strbuf_reset(&phases);
	up_fails_left = 2;
	p = new_plan("good, relay", &o);
	assert_int_equal(power_plan_run(p), -LAB_EINFRA);
	assert_contains(lab_errmsg(-LAB_EINFRA),
			"1 good:cycle: the board went down but did not come back: no console output for 300 ms; 2 relay:cycle: the board went down");
	power_plan_free(p);
	strbuf_release(&out);
}

/* Status polling: off after an off, on at the end; timeouts. */
static void test_status_steps(void **state)
{
	struct power_plan_options o = options(false);
	struct power_plan *p;
	const struct power_plan_attempt *a;
	struct lab_param stuck[] = { { "fail", "status" } };
	struct power_plan_device sd[] = {
		{ .name = "stuck",
		  .cfg = { .driver = "dummy", .params = stuck, .nparams = 1,
			   .off_time_ms = 1 } },
	};
	int n;

	(void)state;
	/* off then on: each polled. */
	p = new_plan("good:off+on", &o);
	assert_int_equal(power_plan_run(p), 0);
	assert_file(good_log, "off\non");
	power_plan_free(p);

	/* on alone never takes the board down. */
	p = new_plan("good:on", &o);
	assert_int_equal(power_plan_run(p), -LAB_EINFRA);
	assert_contains(lab_errmsg(-LAB_EINFRA),
			"good:on: nothing in it takes the board down (no off, long, cycle or reset)");
	power_plan_free(p);

	/* off alone: the board never comes back. */
	p = new_plan("good:off", &o);
	assert_int_equal(power_plan_run(p), -LAB_EINFRA);
	assert_contains(lab_errmsg(-LAB_EINFRA),
			"good:off: the board did not come back: good's power status is off, not on, 300 ms later");
	power_plan_free(p);

	/* A status that keeps failing: bounded by the timeout. */
	assert_int_equal(power_plan_new(&p, "stuck:off+on", sd, 1, &o), 0);
	assert_int_equal(power_plan_run(p), -LAB_EINFRA);
	a = power_plan_attempts(p, &n);
	assert_int_equal(n, 1);
	assert_true(a[0].duration_ms >= 300 && a[0].duration_ms < 5000);
	assert_contains(a[0].result,
			"not off after it: stuck's power status is unreadable, not off, 300 ms later: dummy power: status fails");
	power_plan_free(p);

	/* A device without a status: done, unconfirmed. */
	p = new_plan("nostatus", &o);
	assert_int_equal(power_plan_run(p), 0);
	a = power_plan_attempts(p, &n);
	assert_string_equal(a[0].result,
			    "ok (unconfirmed: nostatus has no power status and nothing else confirms)");
	power_plan_free(p);
}

/* A press the device cannot do fails the step, not the plan. */
static void test_long_press_step(void **state)
{
	struct power_plan_options o = options(true);
	struct power_plan *p = new_plan("good:long+press, good:reset", &o);
	const struct power_plan_attempt *a;
	int n;

	(void)state;
	assert_int_equal(power_plan_run(p), 0);
	assert_int_equal(power_plan_worked(p), 2);
	a = power_plan_attempts(p, &n);
	assert_string_equal(a[0].what, "good:long+press");
	assert_string_equal(a[0].result,
			    "long: power driver dummy cannot press the power button of this board");
	power_plan_free(p);
}

static void test_bad_plans(void **state)
{
	struct power_plan_options o = options(false);
	struct power_plan *p = (struct power_plan *)&o;

	(void)state;
	make_devices();
	assert_int_equal(power_plan_new(&p, "good, amt:reset", devs, 7, &o),
			 -LAB_ECONFIG);
	assert_null(p);
	assert_string_equal(lab_errmsg(-LAB_ECONFIG),
			    "power plan: step 2 'amt:reset': no power device 'amt' (devices: flaky, good, broken, relay, nostatus, ssh, bad; add a [power amt] section)");
	assert_int_equal(power_plan_new(&p, "good:boot", devs, 7, &o), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG),
			"step 1 'good:boot': unknown action 'boot' (on, off, cycle, reset, press, long)");
	assert_int_equal(power_plan_new(&p, "good,,relay", devs, 7, &o), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG), "step 2 '' names no device");
	assert_int_equal(power_plan_new(&p, "", devs, 7, &o), -LAB_ECONFIG);
	assert_int_equal(power_plan_new(&p, "good:", devs, 7, &o), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG), "unknown action ''");
	assert_int_equal(power_plan_new(&p, "good:on+off+on+off+on", devs, 7, &o),
			 -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG), "more than 4 actions");
	assert_int_equal(power_plan_new(&p, "good,good,good,good,good,good,good,good,good",
					devs, 7, &o), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG), "more than 8 steps");
	/* A device its driver refuses: the plan says which step. */
	assert_int_equal(power_plan_new(&p, "good, bad", devs, 7, &o), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG),
			"power plan: step 2 'bad': power driver dummy takes no key 'host'");
	o.verb = "on";
	assert_int_equal(power_plan_new(&p, "good", devs, 7, &o), -LAB_EINVAL);
	/* Nothing ran. */
	assert_int_equal(access(good_state, F_OK), -1);
	assert_int_equal(access(good_log, F_OK), -1);
}

static void test_describe(void **state)
{
	struct power_plan_options o = options(false);
	struct power_plan *p;
	struct strbuf out = STRBUF_INIT, want = STRBUF_INIT;

	(void)state;
	o.verb = "reset";
	o.confirm_timeout_ms = 60000;
	p = new_plan("ssh, good, nostatus:off+on", &o);
	assert_int_equal(power_plan_describe(p, &out), 0);
	strbuf_addf(&want,
		    "plan for reset: 3 steps, tried in order until one is confirmed down and up\n"
		    "step 1/3 ssh:reset (driver -)\n"
		    "  not available: power driver labctl-test-no-such-driver is not in this labctl: the step fails and the plan goes on\n"
		    "step 2/3 good:reset (driver dummy)\n"
		    "  reset:\n"
		    "    append \"off\\n\" to %s\n"
		    "    write \"off\\n\" to %s\n"
		    "    wait 1 ms\n"
		    "    append \"on\\n\" to %s\n"
		    "    write \"on\\n\" to %s\n"
		    "  confirm: good's power status (off after an off or long press, then on, 60 s each; unconfirmed if it says unknown before the step)\n"
		    "step 3/3 nostatus:off+on (driver cmd)\n"
		    "  off:\n"
		    "    run rm -f %s/ns\n"
		    "  wait 1 ms (off_time)\n"
		    "  on:\n"
		    "    run touch %s/ns\n"
		    "  confirm: nostatus's power status (off after an off or long press, then on, 60 s each; unconfirmed if it says unknown before the step)\n",
		    good_log, good_state, good_log, good_state, scratch, scratch);
	assert_string_equal(strbuf_str(&out), strbuf_str(&want));
	power_plan_free(p);
	/* Describing did nothing. */
	assert_int_equal(access(good_state, F_OK), -1);
	strbuf_release(&out);
	strbuf_release(&want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_first_fails_second_works, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_fail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_battery_ac_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_confirm_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_steps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_press_step, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_plans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_describe, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
