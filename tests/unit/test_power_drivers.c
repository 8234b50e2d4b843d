// SPDX-License-Identifier: MIT
/*
 * power/cmd.c, power/fault.c, power/ipmi.c's configuration, and the
 * describe op (--dry-run) of dummy, cmd, fault, ipmi and qemu (no QEMU
 * needed: attach=yes with none running; tests/t/65-power-verb.t drives
 * a real ipmi_sim).  Real programs (touch, test, rm, sleep) stand in for a
 * power switch's tool.
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

#include "lib/clock.h"
#include "lib/err.h"
#include "lib/strbuf.h"
#include "power/power.h"

static char scratch[PATH_MAX];
static char path_a[PATH_MAX + 32], path_b[PATH_MAX + 32];

static int setup(void **state)
{
	(void)state;
	snprintf(scratch, sizeof(scratch), "%s/labctl-pdrv.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(scratch))
		return -1;
	snprintf(path_a, sizeof(path_a), "%s/a", scratch);
	snprintf(path_b, sizeof(path_b), "%s/b", scratch);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	test_rm_tree(scratch);
	return 0;
}

static struct strbuf events = STRBUF_INIT;

static void record(void *arg, const char *name, const char *detail)
{
	(void)arg;
	strbuf_addf(&events, "%s=%s;", name, detail);
}

static int open_dev(struct power_dev **dev, const char *driver,
		    const struct lab_param *p, int n)
{
	struct power_config cfg = {
		.driver = driver, .params = p, .nparams = n,
		.state_dir = scratch, .off_time_ms = 10,
		.event = record,
	};

	strbuf_reset(&events);
	return power_open(dev, &cfg);
}

static int describe(struct power_dev *dev, const char *action,
		    struct strbuf *out)
{
	strbuf_reset(out);
	assert_non_null(dev->drv->describe);
	return dev->drv->describe(dev, action, out);
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static void test_selftest(void **state)
{
	(void)state;
	assert_int_equal(power_drivers_selftest(), 0);
	assert_non_null(power_find_driver("cmd"));
	assert_non_null(power_find_driver("fault"));
}

/* ------------------------------------------------------------------ cmd */

static void test_cmd_split_describe(void **state)
{
	struct strbuf out = STRBUF_INIT, want = STRBUF_INIT;
	struct lab_param p[] = {
		{ "on", "  touch\t  x  y$z " },
		{ "off", "rm -f x" },
		{ "status", "test -e x" },
	};
	struct power_dev *dev;

	(void)state;
	assert_int_equal(open_dev(&dev, "cmd", p, 3), 0);
	assert_int_equal(describe(dev, "on", &out), 0);
	assert_string_equal(strbuf_str(&out), "run touch x 'y$z'\n");
	assert_int_equal(describe(dev, "status", &out), 0);
	assert_string_equal(strbuf_str(&out), "run test -e x\n");
	/* No cycle or reset command: the fallback, off, wait, on. */
	assert_int_equal(describe(dev, "cycle", &out), 0);
	assert_string_equal(strbuf_str(&out),
			    "run rm -f x\nwait 10 ms\nrun touch x 'y$z'\n");
	assert_int_equal(describe(dev, "reset", &out), 0);
	assert_string_equal(strbuf_str(&out),
			    "run rm -f x\nwait 10 ms\nrun touch x 'y$z'\n");
	assert_int_equal(describe(dev, "press", &out), -LAB_ECONFIG);
	power_close(dev);
	/* Describing ran nothing. */
	assert_false(exists("x"));
	strbuf_release(&out);
	strbuf_release(&want);
}

static void test_cmd_actions(void **state)
{
	char on[PATH_MAX * 2], off[PATH_MAX * 2], st[PATH_MAX * 2],
		reset[PATH_MAX * 2];
	struct lab_param p[] = {
		{ "on", on }, { "off", off }, { "status", st }, { "reset", reset },
	};
	struct power_dev *dev;
	enum power_state s;

	(void)state;
	snprintf(on, sizeof(on), "touch %s", path_a);
	snprintf(off, sizeof(off), "rm -f %s", path_a);
	snprintf(st, sizeof(st), "test -e %s", path_a);
	snprintf(reset, sizeof(reset), "touch %s", path_b);
	assert_int_equal(open_dev(&dev, "cmd", p, 4), 0);
	assert_int_equal(power_status(dev, &s), 0);
	assert_int_equal(s, POWER_OFF);
	assert_int_equal(power_on(dev), 0);
	assert_true(exists(path_a));
	assert_int_equal(power_status(dev, &s), 0);
	assert_int_equal(s, POWER_ON);
	assert_int_equal(power_cycle(dev), 0);	/* off, wait, on */
	assert_true(exists(path_a));
	assert_int_equal(power_reset(dev), 0);	/* its own command */
	assert_true(exists(path_b));
	assert_int_equal(power_off(dev), 0);
	assert_false(exists(path_a));
	assert_int_equal(power_status(dev, &s), 0);
	assert_int_equal(s, POWER_OFF);
	power_close(dev);
}

static void test_cmd_errors(void **state)
{
	struct lab_param missing[] = { { "on", "no-such-program-labctl x" },
				       { "off", "false" } };
	struct lab_param empty[] = { { "on", "   " } };
	struct lab_param hang[] = { { "status", "sleep 10" },
				    { "timeout", "200ms" } };
	struct lab_param badt[] = { { "on", "true" }, { "timeout", "soon" } };
	struct lab_param bogus[] = { { "on", "true" }, { "state_file", "x" } };
	struct power_dev *dev;
	enum power_state s;
	int64_t t0;

	(void)state;
	assert_int_equal(open_dev(&dev, "cmd", missing, 2), 0);
	assert_int_equal(power_on(dev), -LAB_ESPAWN);
	assert_contains(lab_errmsg(-LAB_ESPAWN), "no-such-program-labctl");
	assert_int_equal(power_off(dev), -LAB_EPROGRAM);
	assert_contains(lab_errmsg(-LAB_EPROGRAM), "false exited with status 1");
	/* Only on and off: status is unknown, not an error. */
	assert_int_equal(power_status(dev, &s), 0);
	assert_int_equal(s, POWER_UNKNOWN);
	assert_int_equal(power_reset(dev), -LAB_EPROGRAM);	/* cycle: off fails */
	power_close(dev);

	assert_int_equal(open_dev(&dev, "cmd", empty, 1), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG), "on is empty");
	assert_int_equal(open_dev(&dev, "cmd", NULL, 0), -LAB_ECONFIG);
	assert_int_equal(open_dev(&dev, "cmd", badt, 2), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG), "timeout=soon");
	assert_int_equal(open_dev(&dev, "cmd", bogus, 2), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG), "takes no key 'state_file'");

	assert_int_equal(open_dev(&dev, "cmd", hang, 2), 0);
	assert_int_equal(power_on(dev), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG), "no 'on' command");
	t0 = lab_mono_ms();
	assert_int_equal(power_status(dev, &s), -LAB_ETIMEDOUT);
	assert_true(lab_mono_ms() - t0 < 3000);
	assert_int_equal(s, POWER_UNKNOWN);
	power_close(dev);
}

/* ---------------------------------------------------------------- fault */

/* The pass/fail pattern of n status calls, as a string of '.' and 'F'. */
static void pattern(const char *seed, const char *rate, int n, char *out)
{
	struct lab_param p[] = {
		{ "wraps", "dummy" }, { "seed", seed }, { "fail_rate", rate },
	};
	struct power_dev *dev;
	enum power_state s;
	int i;

	assert_int_equal(open_dev(&dev, "fault", p, 3), 0);
	for (i = 0; i < n; i++) {
		int ret = power_status(dev, &s);

		assert_true(ret == 0 || ret == -LAB_EINFRA);
		out[i] = ret ? 'F' : '.';
	}
	out[n] = '\0';
	power_close(dev);
}

static void test_fault_determinism(void **state)
{
	char a[65], b[65], c[65];
	int i, nfail = 0;

	(void)state;
	pattern("42", "50", 64, a);
	pattern("42", "50", 64, b);
	pattern("43", "50", 64, c);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	for (i = 0; i < 64; i++)
		nfail += a[i] == 'F';
	assert_true(nfail > 16 && nfail < 48);
	pattern("42", "0", 64, a);
	assert_null(strchr(a, 'F'));
	pattern("42", "100", 64, a);
	assert_null(strchr(a, '.'));
	/* seed 0 works too (and is not stuck). */
	pattern("0", "50", 64, a);
	assert_non_null(strchr(a, 'F'));
	assert_non_null(strchr(a, '.'));
}

static void test_fault_wraps(void **state)
{
	char wraps[PATH_MAX * 3];
	struct lab_param p[] = { { "wraps", wraps }, { "fail_rate", "0" } };
	struct strbuf sb = STRBUF_INIT;
	struct power_dev *dev;
	enum power_state s;

	(void)state;
	snprintf(wraps, sizeof(wraps), "dummy:state_file=%s,log=%s", path_a,
		 path_b);
	assert_int_equal(open_dev(&dev, "fault", p, 2), 0);
	assert_int_equal(power_on(dev), 0);
	/* One report per action: the wrapped driver's are not repeated. */
	assert_string_equal(strbuf_str(&events), "on=ok;");
	assert_int_equal(strbuf_read_file(&sb, path_a, 64), 0);
	assert_string_equal(strbuf_str(&sb), "on\n");
	strbuf_reset(&sb);
	assert_int_equal(power_cycle(dev), 0);
	assert_int_equal(strbuf_read_file(&sb, path_b, 64), 0);
	assert_string_equal(strbuf_str(&sb), "on\noff\non\n");
	assert_int_equal(power_status(dev, &s), 0);
	assert_int_equal(s, POWER_ON);
	power_close(dev);
	strbuf_release(&sb);
}

static void test_fault_bad_wraps(void **state)
{
	static const char *const bad[][2] = {
		{ "dummy:bogus=1", "takes no key 'bogus'" },
		{ "dummy:state_file=/x,attach=yes", "takes no key 'attach'" },
		{ "nosuch:x=1", "no power driver 'nosuch'" },
		{ "dummy:state_file", "'state_file' is not key=value" },
		{ "dummy:=x", "'=x' is not key=value" },
		{ ":state_file=x", "want name:key=value" },
	};
	struct lab_param p[2] = { { "wraps", NULL }, { "seed", "7" } };
	struct lab_param rate[] = { { "wraps", "dummy" }, { "fail_rate", "101" } };
	struct lab_param seed[] = { { "wraps", "dummy" }, { "seed", "-1" } };
	struct power_dev *dev;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p[0].value = bad[i][0];
		assert_int_equal(open_dev(&dev, "fault", p, 2), -LAB_ECONFIG);
		assert_null(dev);
		assert_contains(lab_errmsg(-LAB_ECONFIG), bad[i][1]);
	}
	assert_int_equal(open_dev(&dev, "fault", &p[1], 1), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG), "needs wraps");
	assert_int_equal(open_dev(&dev, "fault", rate, 2), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG), "fail_rate=101");
	assert_int_equal(open_dev(&dev, "fault", seed, 2), -LAB_ECONFIG);
	/* A name alone and an empty parameter list are fine. */
	p[0].value = "dummy:";
	assert_int_equal(open_dev(&dev, "fault", p, 2), 0);
	power_close(dev);
}

/* ------------------------------------------------------------- describe */

static void test_describe_dummy(void **state)
{
	struct lab_param p[] = { { "state_file", path_a } };
	struct lab_param f[] = { { "fail", "off" } };
	struct strbuf out = STRBUF_INIT, want = STRBUF_INIT;
	struct power_dev *dev;

	(void)state;
	assert_int_equal(open_dev(&dev, "dummy", p, 1), 0);
	assert_int_equal(describe(dev, "on", &out), 0);
	strbuf_addf(&want, "write \"on\\n\" to %s\n", path_a);
	assert_string_equal(strbuf_str(&out), strbuf_str(&want));
	assert_int_equal(describe(dev, "cycle", &out), 0);
	strbuf_reset(&want);
	strbuf_addf(&want, "write \"off\\n\" to %s\nwait 10 ms\nwrite \"on\\n\" to %s\n",
		    path_a, path_a);
	assert_string_equal(strbuf_str(&out), strbuf_str(&want));
	assert_int_equal(describe(dev, "press", &out), -LAB_ECONFIG);
	power_close(dev);
	assert_false(exists(path_a));

	assert_int_equal(open_dev(&dev, "dummy", f, 1), 0);
	assert_int_equal(describe(dev, "off", &out), 0);
	assert_string_equal(strbuf_str(&out), "fail off (fail=off)\n");
	power_close(dev);
	strbuf_release(&out);
	strbuf_release(&want);
}

static void test_describe_fault(void **state)
{
	struct lab_param always[] = { { "wraps", "cmd:on=touch x" },
				      { "fail_rate", "100" }, { "seed", "5" } };
	struct lab_param never[] = { { "wraps", "cmd:on=touch x" },
				     { "fail_rate", "0" } };
	struct strbuf out = STRBUF_INIT;
	struct power_dev *dev;

	(void)state;
	assert_int_equal(open_dev(&dev, "fault", always, 3), 0);
	assert_int_equal(describe(dev, "on", &out), 0);
	assert_string_equal(strbuf_str(&out),
			    "fail on (action #1, seed 5, fail_rate 100%)\n");
	/* Describing draws nothing: the next describe is still #1. */
	assert_int_equal(describe(dev, "on", &out), 0);
	assert_contains(strbuf_str(&out), "action #1,");
	assert_int_equal(power_on(dev), -LAB_EINFRA);
	assert_int_equal(describe(dev, "on", &out), 0);
	assert_contains(strbuf_str(&out), "action #2,");
	power_close(dev);

	assert_int_equal(open_dev(&dev, "fault", never, 2), 0);
	assert_int_equal(describe(dev, "on", &out), 0);
	assert_string_equal(strbuf_str(&out), "run touch x\n");
	power_close(dev);
	strbuf_release(&out);
}

static void test_describe_qemu(void **state)
{
	static const char *const argv[] = { "qemu-system-x86_64", "-m", "64M", NULL };
	struct lab_param p[] = { { "attach", "yes" }, { "console_wait", "0" } };
	struct power_config cfg = {
		.driver = "qemu", .params = p, .nparams = 2,
		.emulator_argv = argv, .state_dir = scratch,
	};
	struct strbuf out = STRBUF_INIT;
	struct power_dev *dev;

	(void)state;
	/* attach=yes with no QEMU running: open starts nothing. */
	assert_int_equal(power_open(&dev, &cfg), 0);
	assert_int_equal(describe(dev, "on", &out), 0);
	assert_contains(strbuf_str(&out), "start qemu-system-x86_64 -m 64M -S -pidfile ");
	assert_contains(strbuf_str(&out), "\n{\"execute\":\"cont\"}\n");
	assert_int_equal(describe(dev, "status", &out), 0);
	assert_contains(strbuf_str(&out), "not running");
	assert_int_equal(describe(dev, "reset", &out), -LAB_EINFRA);
	assert_int_equal(describe(dev, "off", &out), 0);
	assert_contains(strbuf_str(&out), "nothing");
	power_close(dev);
	strbuf_release(&out);
}

/* ----------------------------------------------------------------- ipmi */

static void test_ipmi_open_and_describe(void **state)
{
	struct lab_param p[] = {
		{ "host", "bmc.example" }, { "user", "admin" },
		{ "password_file", path_a },
	};
	struct lab_param nohost[] = { { "user", "admin" } };
	struct strbuf out = STRBUF_INIT;
	struct power_dev *dev;
	FILE *f;

	(void)state;
	unsetenv("IPMI_PASSWORD");
	f = fopen(path_a, "w");
	assert_non_null(f);
	fputs("secret\n", f);
	fclose(f);

	chmod(path_a, 0640);
	assert_int_equal(open_dev(&dev, "ipmi", p, 3), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG), "is mode 0640");
	assert_contains(lab_errmsg(-LAB_ECONFIG), "chmod 600");

	chmod(path_a, 0600);
	assert_int_equal(open_dev(&dev, "ipmi", p, 3), 0);
	assert_int_equal(describe(dev, "on", &out), 0);
	assert_string_equal(strbuf_str(&out),
			    "run ipmitool -I lanplus -C 3 -H bmc.example -p 623 -U admin -E chassis power on\n");
	assert_int_equal(describe(dev, "press", &out), 0);
	assert_contains(strbuf_str(&out), "chassis power soft\n");
	assert_int_equal(describe(dev, "press long", &out), 0);
	assert_contains(strbuf_str(&out), "chassis power off\n");
	/* The password is in no description. */
	assert_null(strstr(strbuf_str(&out), "secret"));
	power_close(dev);

	/* Without password_file: $IPMI_PASSWORD, else an error. */
	assert_int_equal(open_dev(&dev, "ipmi", p, 2), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG), "IPMI_PASSWORD or password_file");
	setenv("IPMI_PASSWORD", "x", 1);
	assert_int_equal(open_dev(&dev, "ipmi", p, 2), 0);
	power_close(dev);
	assert_int_equal(open_dev(&dev, "ipmi", nohost, 1), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG), "needs host");
	unsetenv("IPMI_PASSWORD");
	strbuf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selftest),
		cmocka_unit_test_setup_teardown(test_cmd_split_describe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cmd_actions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cmd_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_determinism, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_wraps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_bad_wraps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_describe_dummy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_describe_fault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_describe_qemu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipmi_open_and_describe, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
