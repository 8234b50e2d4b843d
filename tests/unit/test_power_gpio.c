// SPDX-License-Identifier: MIT
/*
 * power/gpio.c down to the libgpiod calls: each gpiod call the driver
 * makes is wrapped and appended to a log file (the holder is a separate
 * process, so the log must be a file), and lab_sleep_ms is wrapped so the
 * pulse timing is checked without waiting.  The holder is a real process:
 * the tests check that it runs, keeps its level and is stopped.
 *
 * No GPIO chip here (no gpio-sim or gpio-mockup module can be loaded in
 * this sandbox), so the real kernel side is not exercised.
 */
/* WRAP: gpiod_chip_open_lookup,gpiod_chip_get_line,gpiod_chip_find_line,gpiod_line_request_output,gpiod_line_set_value,gpiod_line_release,gpiod_chip_close,lab_sleep_ms */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gpiod.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "lib/strbuf.h"
#include "power/power.h"

static char scratch[PATH_MAX];
static char log_path[PATH_MAX + 16];
static pid_t test_pid;

/* What the fake chip does. */
static bool chip_missing, request_busy, set_fails;
static char chip_obj[8], line_obj[8];

static void log_call(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_call(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int fd, n;

	n = snprintf(buf, sizeof(buf), "%s", getpid() == test_pid ? "" : "[holder] ");
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (write(fd, buf, (size_t)n) != n)
		n = -1;
	close(fd);
}

struct gpiod_chip *__wrap_gpiod_chip_open_lookup(const char *descr);
struct gpiod_chip *__wrap_gpiod_chip_open_lookup(const char *descr)
{
	log_call("open %s;", descr);
	if (chip_missing) {
		errno = ENOENT;
		return NULL;
	}
	return (struct gpiod_chip *)chip_obj;
}

struct gpiod_line *__wrap_gpiod_chip_get_line(struct gpiod_chip *chip,
					      unsigned int offset);
struct gpiod_line *__wrap_gpiod_chip_get_line(struct gpiod_chip *chip,
					      unsigned int offset)
{
	log_call("get_line %u;", offset);
	if (chip != (struct gpiod_chip *)chip_obj || offset > 31) {
		errno = EINVAL;
		return NULL;
	}
	return (struct gpiod_line *)line_obj;
}

struct gpiod_line *__wrap_gpiod_chip_find_line(struct gpiod_chip *chip,
					       const char *name);
struct gpiod_line *__wrap_gpiod_chip_find_line(struct gpiod_chip *chip,
					       const char *name)
{
	log_call("find_line %s;", name);
	if (chip != (struct gpiod_chip *)chip_obj || strcmp(name, "PWR_BTN")) {
		errno = ENOENT;
		return NULL;
	}
	return (struct gpiod_line *)line_obj;
}

int __wrap_gpiod_line_request_output(struct gpiod_line *line,
				     const char *consumer, int default_val);
int __wrap_gpiod_line_request_output(struct gpiod_line *line,
				     const char *consumer, int default_val)
{
	log_call("request %s %d;", consumer, default_val);
	if (line != (struct gpiod_line *)line_obj || request_busy) {
		errno = EBUSY;
		return -1;
	}
	return 0;
}

int __wrap_gpiod_line_set_value(struct gpiod_line *line, int value);
int __wrap_gpiod_line_set_value(struct gpiod_line *line, int value)
{
	(void)line;
	log_call("set %d;", value);
	if (set_fails) {
		errno = EIO;
		return -1;
	}
	return 0;
}

void __wrap_gpiod_line_release(struct gpiod_line *line);
void __wrap_gpiod_line_release(struct gpiod_line *line)
{
	(void)line;
	log_call("release;");
}

void __wrap_gpiod_chip_close(struct gpiod_chip *chip);
void __wrap_gpiod_chip_close(struct gpiod_chip *chip)
{
	(void)chip;
	log_call("close;");
}

/* Pulses are logged; the holder polls' short sleeps really sleep. */
void __wrap_lab_sleep_ms(int64_t ms);
void __wrap_lab_sleep_ms(int64_t ms)
{
	if (ms >= 100) {
		log_call("sleep %lld;", (long long)ms);
	} else {
		struct timespec ts = { 0, (long)ms * 1000000L };

		nanosleep(&ts, NULL);
	}
}

/* ------------------------------------------------------------ helpers */

static char pid_path[PATH_MAX + 64];

static pid_t holder_pid(void)
{
	FILE *f = fopen(pid_path, "r");
	int pid = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%d", &pid) != 1)
		pid = 0;
	fclose(f);
	return pid;
}

static bool alive(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	p = p ? strrchr(buf, ')') : NULL;
	return p && p[2] != 'Z';
}

static int setup(void **state)
{
	(void)state;
	test_pid = getpid();
	snprintf(scratch, sizeof(scratch), "%s/labctl-gpio.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(scratch))
		return -1;
	snprintf(log_path, sizeof(log_path), "%s/calls", scratch);
	snprintf(pid_path, sizeof(pid_path), "%s/state/gpio-gpiochip1-7.pid",
		 scratch);
	chip_missing = request_busy = set_fails = false;
	return 0;
}

static int teardown(void **state)
{
	pid_t pid = holder_pid();

	(void)state;
	if (pid > 0)
		kill(pid, SIGKILL);
	test_rm_tree(scratch);
	return 0;
}

/* The calls logged since the last look, then forget them. */
static char *take_calls(void)
{
	struct strbuf sb = STRBUF_INIT;

	if (strbuf_read_file(&sb, log_path, 1 << 16))
		lab_err_clear();
	unlink(log_path);
	return strbuf_detach(&sb, NULL);
}

#define assert_calls(want)                                                  \
	do {                                                                \
		char *got_ = take_calls();                                  \
		assert_string_equal(got_, want);                            \
		free(got_);                                                 \
	} while (0)

static int open_gpio(struct power_dev **dev, const struct lab_param *p, int n,
		     bool with_state)
{
	char state_dir[PATH_MAX + 16];
	struct power_config cfg = {
		.driver = "gpio", .params = p, .nparams = n,
		.off_time_ms = 2000,
	};

	snprintf(state_dir, sizeof(state_dir), "%s/state", scratch);
	if (with_state)
		cfg.state_dir = state_dir;
	return power_open(dev, &cfg);
}

/* ------------------------------------------------------------ tests */

static void test_registered(void **state)
{
	(void)state;
	assert_int_equal(power_drivers_selftest(), 0);
	assert_non_null(power_find_driver("gpio"));
}

static void test_button_pulses(void **state)
{
	struct lab_param p[] = {
		{ "chip", "gpiochip0" }, { "line", "5" }, { "button", "yes" },
	};
	struct lab_param q[] = {
		{ "chip", "/dev/gpiochip2" }, { "line", "PWR_BTN" },
		{ "button", "yes" }, { "active_low", "yes" },
		{ "press_time", "1s" }, { "long_press_time", "8s" },
	};
	struct power_dev *dev;
	enum power_state st;

	(void)state;
	assert_int_equal(open_gpio(&dev, p, 3, false), 0);
	assert_calls("");
	assert_int_equal(power_press(dev, false), 0);
	assert_calls("open gpiochip0;get_line 5;request labctl 0;set 1;sleep 300;set 0;release;close;");
	assert_int_equal(power_press(dev, true), 0);
	assert_calls("open gpiochip0;get_line 5;request labctl 0;set 1;sleep 5000;set 0;release;close;");
	assert_int_equal(power_on(dev), 0);
	assert_calls("open gpiochip0;get_line 5;request labctl 0;set 1;sleep 300;set 0;release;close;");
	assert_int_equal(power_off(dev), 0);
	assert_calls("open gpiochip0;get_line 5;request labctl 0;set 1;sleep 5000;set 0;release;close;");
	assert_int_equal(power_status(dev, &st), 0);
	assert_int_equal(st, POWER_UNKNOWN);
	assert_calls("");
	power_close(dev);

	/* Active low, by name, its own durations; cycle is long, wait, short. */
	assert_int_equal(open_gpio(&dev, q, 6, false), 0);
	assert_int_equal(power_cycle(dev), 0);
	assert_calls("open /dev/gpiochip2;find_line PWR_BTN;request labctl 1;set 0;sleep 8000;set 1;release;close;"
		     "sleep 2000;"
		     "open /dev/gpiochip2;find_line PWR_BTN;request labctl 1;set 0;sleep 1000;set 1;release;close;");
	power_close(dev);
}

static void test_errors(void **state)
{
	struct lab_param p[] = {
		{ "chip", "gpiochip0" }, { "line", "5" }, { "button", "yes" },
	};
	struct lab_param name[] = {
		{ "chip", "gpiochip0" }, { "line", "NOPE" }, { "button", "yes" },
	};
	struct power_dev *dev;

	(void)state;
	assert_int_equal(open_gpio(&dev, p, 3, false), 0);
	chip_missing = true;
	assert_int_equal(power_press(dev, false), -LAB_EINFRA);
	assert_string_equal(lab_errmsg(-LAB_EINFRA),
			    "power driver gpio: cannot open GPIO chip gpiochip0: No such file or directory");
	assert_calls("open gpiochip0;");
	chip_missing = false;
	request_busy = true;
	assert_int_equal(power_press(dev, false), -LAB_EINFRA);
	assert_contains(lab_errmsg(-LAB_EINFRA),
			"cannot request line 5 of gpiochip0 as an output: Device or resource busy (another program holds it)");
	assert_calls("open gpiochip0;get_line 5;request labctl 0;close;");
	request_busy = false;
	set_fails = true;
	assert_int_equal(power_press(dev, false), -LAB_EINFRA);
	assert_contains(lab_errmsg(-LAB_EINFRA), "cannot set line 5 of gpiochip0");
	/* Released all the same. */
	assert_calls("open gpiochip0;get_line 5;request labctl 0;set 1;release;close;");
	set_fails = false;
	power_close(dev);

	assert_int_equal(open_gpio(&dev, name, 3, false), 0);
	assert_int_equal(power_on(dev), -LAB_ECONFIG);
	assert_string_equal(lab_errmsg(-LAB_ECONFIG),
			    "power driver gpio: GPIO chip gpiochip0 has no line NOPE");
	assert_calls("open gpiochip0;find_line NOPE;close;");
	power_close(dev);
}

static void test_config_errors(void **state)
{
	struct lab_param nochip[] = { { "line", "5" }, { "button", "yes" } };
	struct lab_param noline[] = { { "chip", "gpiochip0" } };
	struct lab_param level[] = { { "chip", "gpiochip0" }, { "line", "3" } };
	struct lab_param big[] = { { "chip", "gpiochip0" }, { "line", "70000" },
				   { "button", "yes" } };
	struct lab_param dur[] = { { "chip", "c" }, { "line", "1" },
				   { "button", "yes" }, { "long_press_time", "-1s" } };
	struct lab_param key[] = { { "chip", "c" }, { "line", "1" },
				   { "channel", "2" } };
	struct lab_param btn[] = { { "chip", "c" }, { "line", "1" } };
	struct strbuf out = STRBUF_INIT;
	struct power_dev *dev;

	(void)state;
	assert_int_equal(open_gpio(&dev, nochip, 2, true), -LAB_ECONFIG);
	assert_string_equal(lab_errmsg(-LAB_ECONFIG),
			    "power driver gpio needs chip = the GPIO chip (e.g. gpiochip0)");
	assert_int_equal(open_gpio(&dev, noline, 1, true), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG), "needs line = ");
	assert_int_equal(open_gpio(&dev, level, 2, false), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG), "a held level (button = no) needs a state directory");
	assert_int_equal(open_gpio(&dev, big, 3, false), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG), "line=70000");
	assert_int_equal(open_gpio(&dev, dur, 4, false), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG), "long_press_time=-1s");
	assert_int_equal(open_gpio(&dev, key, 3, true), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG), "takes no key 'channel'");
	/* press on a held level is refused, and so is its --dry-run. */
	assert_int_equal(open_gpio(&dev, btn, 2, true), 0);
	assert_int_equal(power_press(dev, false), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG), "press needs button = yes");
	assert_int_equal(dev->drv->describe(dev, "press long", &out), -LAB_ECONFIG);
	power_close(dev);
	assert_calls("");
	strbuf_release(&out);
}

/* A held level: a holder process keeps the line requested. */
static void test_holder(void **state)
{
	struct lab_param p[] = { { "chip", "gpiochip1" }, { "line", "7" } };
	struct lab_param low[] = { { "chip", "gpiochip1" }, { "line", "7" },
				   { "active_low", "yes" } };
	struct power_dev *dev, *other;
	enum power_state st;
	pid_t first, second;
	struct stat sb;

	(void)state;
	assert_int_equal(open_gpio(&dev, p, 2, true), 0);
	assert_int_equal(power_status(dev, &st), 0);
	assert_int_equal(st, POWER_UNKNOWN);	/* no holder yet */
	assert_int_equal(power_on(dev), 0);
	first = holder_pid();
	assert_true(first > 0);
	assert_true(alive(first));
	assert_int_equal(stat(pid_path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* The holder requested the line at 1 and keeps it: no release. */
	assert_calls("[holder] open gpiochip1;[holder] get_line 7;[holder] request labctl 1;");
	assert_int_equal(power_status(dev, &st), 0);
	assert_int_equal(st, POWER_ON);
	power_close(dev);
	/* It outlives the device (and labctl). */
	assert_true(alive(first));

	/* Another device (another labctl) finds it and replaces it. */
	assert_int_equal(open_gpio(&other, low, 3, true), 0);
	assert_int_equal(power_off(other), 0);
	second = holder_pid();
	assert_true(second > 0 && second != first);
	assert_false(alive(first));
	assert_true(alive(second));
	/* active low: off is level 1. */
	assert_calls("[holder] open gpiochip1;[holder] get_line 7;[holder] request labctl 1;");
	assert_int_equal(power_status(other, &st), 0);
	assert_int_equal(st, POWER_OFF);
	power_close(other);

	/* A stale pid file (a pid that is not the holder) is never killed. */
	kill(second, SIGKILL);
	while (alive(second))
		usleep(1000);
	{
		FILE *f = fopen(pid_path, "w");

		assert_non_null(f);
		fprintf(f, "%d 1 on\n", (int)getpid());
		fclose(f);
	}
	assert_int_equal(open_gpio(&dev, p, 2, true), 0);
	assert_int_equal(power_status(dev, &st), 0);
	assert_int_equal(st, POWER_UNKNOWN);
	/* A holder that cannot get the line says why, and leaves no pid file. */
	request_busy = true;
	assert_int_equal(power_on(dev), -LAB_EINFRA);
	assert_contains(lab_errmsg(-LAB_EINFRA),
			"cannot request line 7 of gpiochip1 as an output: Device or resource busy");
	assert_int_equal(holder_pid(), 0);
	request_busy = false;
	power_close(dev);
	free(take_calls());
}

static void test_describe(void **state)
{
	struct lab_param btn[] = { { "chip", "gpiochip0" }, { "line", "PWR_BTN" },
				   { "button", "yes" } };
	struct lab_param lvl[] = { { "chip", "gpiochip1" }, { "line", "7" } };
	struct strbuf out = STRBUF_INIT, want = STRBUF_INIT;
	struct power_dev *dev;

	(void)state;
	assert_int_equal(open_gpio(&dev, btn, 3, false), 0);
	assert_int_equal(dev->drv->describe(dev, "press", &out), 0);
	assert_string_equal(strbuf_str(&out),
			    "gpio: request line PWR_BTN of gpiochip0 as an output at 0 (inactive)\n"
			    "gpio: set 1 (pressed)\n"
			    "wait 300 ms\n"
			    "gpio: set 0 (released), release the line\n");
	strbuf_reset(&out);
	assert_int_equal(dev->drv->describe(dev, "cycle", &out), 0);
	assert_contains(strbuf_str(&out), "wait 5000 ms\ngpio: set 0 (released), release the line\nwait 2000 ms\n");
	power_close(dev);

	strbuf_reset(&out);
	assert_int_equal(open_gpio(&dev, lvl, 2, true), 0);
	assert_int_equal(dev->drv->describe(dev, "on", &out), 0);
	strbuf_addf(&want, "stop the holder in %s, if one runs\n"
		    "start a holder: request line 7 of gpiochip1 as an output at 1 (on) and keep it; its pid in %s\n",
		    pid_path, pid_path);
	assert_string_equal(strbuf_str(&out), strbuf_str(&want));
	strbuf_reset(&out);
	assert_int_equal(dev->drv->describe(dev, "status", &out), 0);
	assert_contains(strbuf_str(&out), "the level its holder keeps");
	power_close(dev);
	/* Describing started nothing and touched no line. */
	assert_calls("");
	assert_int_equal(holder_pid(), 0);
	strbuf_release(&out);
	strbuf_release(&want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registered),
		cmocka_unit_test_setup_teardown(test_button_pulses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_holder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_describe, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
