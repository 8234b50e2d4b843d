// SPDX-License-Identifier: MIT
/*
 * power/: the driver table self-test, the core wrappers and their
 * fallbacks (with the dummy driver), the QMP line parser, and the qemu
 * driver's failure paths that need no QEMU (tests/t/60-* boots a real
 * one).
 */
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
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "power/power.h"
#include "power/qmp.h"

static char scratch[PATH_MAX];

static int setup_scratch(void **state)
{
	(void)state;
	snprintf(scratch, sizeof(scratch), "%s/labctl-power.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(scratch) ? 0 : -1;
}

static int teardown_scratch(void **state)
{
	(void)state;
	test_rm_tree(scratch);
	return 0;
}

/* Events as "name=detail;" for comparing sequences. */
static struct strbuf events = STRBUF_INIT;

static void record(void *arg, const char *name, const char *detail)
{
	(void)arg;
	strbuf_addf(&events, "%s=%s;", name, detail);
}

/* A valid fd with nothing to read right now. */
static bool readable(int fd)
{
	struct pollfd pfd = { fd, POLLIN, 0 };

	assert_true(fd >= 0);
	assert_true(poll(&pfd, 1, 0) >= 0);
	assert_false(pfd.revents & POLLNVAL);
	return pfd.revents != 0;
}

static char *read_text(const char *path)
{
	struct strbuf sb = STRBUF_INIT;

	if (strbuf_read_file(&sb, path, 1 << 20))
		return xstrdup("(missing)");
	return strbuf_detach(&sb, NULL);
}

/* ------------------------------------------------------------ table */

static void test_selftest(void **state)
{
	int i;

	(void)state;
	assert_int_equal(power_drivers_selftest(), 0);
	assert_non_null(power_find_driver("qemu"));
	assert_non_null(power_find_driver("dummy"));
	assert_null(power_find_driver("nope"));
	assert_null(power_find_driver(NULL));
	for (i = 0; power_drivers[i]; i++)
		assert_ptr_equal(power_find_driver(power_drivers[i]->name),
				 power_drivers[i]);
	assert_true(power_find_driver("qemu")->caps & POWER_CAP_EVENTS);
	assert_false(power_find_driver("dummy")->caps & POWER_CAP_CYCLE);
}

static void test_open_errors(void **state)
{
	struct lab_param bad = { "colour", "red" };
	struct power_config cfg = { .driver = "warp-drive" };
	struct power_dev *dev = (struct power_dev *)&cfg;
	int ret;

	(void)state;
	ret = power_open(&dev, &cfg);
	assert_int_equal(ret, -LAB_ECONFIG);
	assert_null(dev);
	assert_contains(lab_errmsg(ret), "unknown power driver 'warp-drive'");
	assert_contains(lab_errmsg(ret), "qemu, dummy");

	cfg.driver = "dummy";
	cfg.params = &bad;
	cfg.nparams = 1;
	ret = power_open(&dev, &cfg);
	assert_int_equal(ret, -LAB_ECONFIG);
	assert_contains(lab_errmsg(ret), "takes no key 'colour'");
	assert_contains(lab_errmsg(ret), "state_file, log, fail");
}

/* ------------------------------------------------------------ dummy */

struct dummy_fixture {
	char *state_file;
	char *log;
	struct lab_param params[3];
	struct power_config cfg;
};

static struct dummy_fixture *dummy_setup(const char *name, const char *fail)
{
	struct dummy_fixture *f = xzalloc(sizeof(*f));
	int n = 0;

	f->state_file = xasprintf("%s/%s.state", scratch, name);
	f->log = xasprintf("%s/%s.log", scratch, name);
	unlink(f->state_file);
	unlink(f->log);
	f->params[n++] = (struct lab_param){ "state_file", f->state_file };
	f->params[n++] = (struct lab_param){ "log", f->log };
	if (fail)
		f->params[n++] = (struct lab_param){ "fail", fail };
	f->cfg = (struct power_config){
		.driver = "dummy", .params = f->params, .nparams = n,
		.off_time_ms = 30, .event = record,
	};
	strbuf_reset(&events);
	return f;
}

static void dummy_free(struct dummy_fixture *f)
{
	free(f->state_file);
	free(f->log);
	free(f);
}

static void test_dummy_on_off_status(void **state)
{
	struct dummy_fixture *f = dummy_setup("onoff", NULL);
	struct power_dev *dev;
	enum power_state st;
	char *text;

	(void)state;
	assert_int_equal(power_open(&dev, &f->cfg), 0);
	/* The config is copied: the caller's may go. */
	f->params[0].value = "/nonexistent/elsewhere";
	assert_string_equal(power_param(dev, "state_file"), f->state_file);
	assert_int_equal(power_status(dev, &st), 0);
	assert_int_equal(st, POWER_OFF);
	assert_int_equal(power_on(dev), 0);
	assert_int_equal(power_status(dev, &st), 0);
	assert_int_equal(st, POWER_ON);
	text = read_text(f->state_file);
	assert_string_equal(text, "on\n");
	free(text);
	assert_int_equal(power_off(dev), 0);
	assert_int_equal(power_status(dev, &st), 0);
	assert_int_equal(st, POWER_OFF);
	assert_string_equal(events.buf,
			    "status=off;on=ok;status=on;off=ok;status=off;");
	assert_int_equal(power_event_fd(dev), -1);
	assert_int_equal(power_dispatch(dev), 0);
	power_close(dev);

	/* A second open sees the state the first one left. */
	f->params[0].value = f->state_file;
	assert_int_equal(power_open(&dev, &f->cfg), 0);
	assert_int_equal(power_on(dev), 0);
	power_close(dev);
	assert_int_equal(power_open(&dev, &f->cfg), 0);
	assert_int_equal(power_status(dev, &st), 0);
	assert_int_equal(st, POWER_ON);
	power_close(dev);
	dummy_free(f);
}

static void test_cycle_fallback(void **state)
{
	struct dummy_fixture *f = dummy_setup("cycle", NULL);
	struct power_dev *dev;
	int64_t t0, ms;
	char *log;

	(void)state;
	assert_int_equal(power_open(&dev, &f->cfg), 0);
	assert_int_equal(power_on(dev), 0);
	strbuf_reset(&events);
	t0 = lab_mono_ms();
	assert_int_equal(power_cycle(dev), 0);
	ms = lab_mono_ms() - t0;
	assert_true(ms >= 30);		/* off_time between off and on */
	assert_true(ms < 2000);
	assert_string_equal(events.buf, "off=ok;on=ok;cycle=ok;");
	log = read_text(f->log);
	assert_string_equal(log, "on\noff\non\n");
	free(log);

	/* No reset op either: reset is a cycle. */
	strbuf_reset(&events);
	assert_int_equal(power_reset(dev), 0);
	assert_string_equal(events.buf, "off=ok;on=ok;cycle=ok;reset=ok;");

	/* No power button. */
	strbuf_reset(&events);
	assert_int_equal(power_press(dev, false), -LAB_ECONFIG);
	assert_contains(events.buf, "press=power driver dummy cannot press");
	power_close(dev);
	dummy_free(f);
}

static void test_cycle_fallback_stops_on_error(void **state)
{
	struct dummy_fixture *f = dummy_setup("cyclefail", "off");
	struct power_dev *dev;
	enum power_state st;
	char *log;
	int ret;

	(void)state;
	assert_int_equal(power_open(&dev, &f->cfg), 0);
	assert_int_equal(power_on(dev), 0);
	strbuf_reset(&events);
	ret = power_cycle(dev);
	assert_int_equal(ret, -LAB_EINFRA);
	assert_contains(lab_errmsg(ret), "off fails");
	/* off failed: on is not tried, and both results are reported */
	assert_string_equal(events.buf,
			    "off=dummy power: off fails (fail=off);"
			    "cycle=dummy power: off fails (fail=off);");
	log = read_text(f->log);
	assert_string_equal(log, "on\n");
	free(log);
	assert_int_equal(power_status(dev, &st), 0);
	assert_int_equal(st, POWER_ON);
	power_close(dev);
	dummy_free(f);
}

static void test_dummy_status_errors(void **state)
{
	struct dummy_fixture *f = dummy_setup("bad", "status");
	struct power_dev *dev;
	enum power_state st = POWER_ON;
	FILE *fp;

	(void)state;
	assert_int_equal(power_open(&dev, &f->cfg), 0);
	assert_int_equal(power_status(dev, &st), -LAB_EINFRA);
	assert_int_equal(st, POWER_UNKNOWN);
	power_close(dev);
	dummy_free(f);

	f = dummy_setup("garbage", NULL);
	fp = fopen(f->state_file, "w");
	assert_non_null(fp);
	fputs("maybe\n", fp);
	fclose(fp);
	assert_int_equal(power_open(&dev, &f->cfg), 0);
	assert_int_equal(power_status(dev, &st), -LAB_EFORMAT);
	assert_contains(lab_errmsg(-LAB_EFORMAT), "says 'maybe'");
	power_close(dev);
	dummy_free(f);

	/* Without a state file the state lives in the device. */
	struct power_config mem = { .driver = "dummy" };

	assert_int_equal(power_open(&dev, &mem), 0);
	assert_int_equal(power_on(dev), 0);
	assert_int_equal(power_status(dev, &st), 0);
	assert_int_equal(st, POWER_ON);
	power_close(dev);
}

/* ------------------------------------------------------------ QMP */

/* Parse into *m; the message parsed before is released (the last one
 * stays reachable from here until exit). */
static enum qmp_kind parse(const char *line, struct qmp_msg *m)
{
	static struct qmp_msg last;

	qmp_msg_release(&last);
	qmp_parse_line(line, strlen(line), m);
	last = *m;
	return m->kind;
}

static void test_qmp_greeting_return_error(void **state)
{
	struct qmp_msg m;

	(void)state;
	assert_int_equal(parse("{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, "
			       "\"minor\": 2, \"major\": 7}, \"package\": "
			       "\"Debian 1:7.2+dfsg-7+deb12u18+b3\"}, "
			       "\"capabilities\": [\"oob\"]}}\r\n", &m),
			 QMP_GREETING);
	assert_int_equal(m.id, -1);

	assert_int_equal(parse("{\"return\": {}, \"id\": 7}\r\n", &m), QMP_RETURN);
	assert_int_equal(m.id, 7);
	assert_string_equal(m.status, "");
	assert_true(json_is_object(m.ret));
	assert_int_equal(json_object_size(m.ret), 0);

	assert_int_equal(parse("{\"return\": {\"status\": \"prelaunch\", "
			       "\"singlestep\": false, \"running\": false}, "
			       "\"id\": 12}", &m), QMP_RETURN);
	assert_string_equal(m.status, "prelaunch");
	assert_int_equal(m.id, 12);
	/* field order and whitespace do not matter */
	assert_int_equal(parse("  {\"id\":3,\"return\"\t:\n{\"running\":true,"
			       "\"status\":\"running\"}}  ", &m), QMP_RETURN);
	assert_string_equal(m.status, "running");
	assert_int_equal(m.id, 3);

	assert_int_equal(parse("{\"id\": 4, \"error\": {\"class\": "
			       "\"CommandNotFound\", \"desc\": \"The command "
			       "frobnicate has not been found\"}}", &m),
			 QMP_ERROR);
	assert_int_equal(m.id, 4);
	assert_string_equal(m.err_class, "CommandNotFound");
	assert_string_equal(m.err_desc,
			    "The command frobnicate has not been found");
	/* a string id (other clients use them) is not ours */
	assert_int_equal(parse("{\"return\": {}, \"id\": \"x\"}", &m), QMP_RETURN);
	assert_int_equal(m.id, -1);
	assert_int_equal(parse("{\"foo\": 1}", &m), QMP_OTHER);
}

static void test_qmp_events(void **state)
{
	struct qmp_msg m;

	(void)state;
	assert_int_equal(parse("{\"timestamp\": {\"seconds\": 1795240249, "
			       "\"microseconds\": 429775}, \"event\": \"RESET\", "
			       "\"data\": {\"guest\": true, \"reason\": "
			       "\"guest-reset\"}}\r\n", &m), QMP_EVENT);
	assert_string_equal(m.event, "RESET");
	assert_string_equal(m.reason, "guest-reset");

	/* data first, reason first, nested noise, no spaces */
	assert_int_equal(parse("{\"data\":{\"reason\":\"host-qmp-quit\","
			       "\"x\":[1,{\"reason\":\"no\"}],\"guest\":false},"
			       "\"event\":\"SHUTDOWN\",\"timestamp\":{}}", &m),
			 QMP_EVENT);
	assert_string_equal(m.event, "SHUTDOWN");
	assert_string_equal(m.reason, "host-qmp-quit");

	/* no data */
	assert_int_equal(parse("{\"timestamp\": {\"seconds\": 1, \"microseconds\":"
			       " 2}, \"event\": \"STOP\"}", &m), QMP_EVENT);
	assert_string_equal(m.event, "STOP");
	assert_string_equal(m.reason, "");

	/* a "reason" outside data is not the reason */
	assert_int_equal(parse("{\"event\": \"RESUME\", \"reason\": \"no\"}", &m),
			 QMP_EVENT);
	assert_string_equal(m.reason, "");

	/* escapes in strings */
	assert_int_equal(parse("{\"event\": \"X\\u0041\\\"\", \"data\": "
			       "{\"reason\": \"a\\\\b\\/c\\n\\u00e9\\ud83d\\ude00\"}}",
			       &m), QMP_EVENT);
	assert_string_equal(m.event, "XA\"");
	assert_string_equal(m.reason, "a\\b/c\n\xc3\xa9\xf0\x9f\x98\x80");

	/* a too long reason is cut, not overflowed */
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, "{\"event\":\"RESET\",\"data\":{\"reason\":\"");
	for (int i = 0; i < 1000; i++)
		strbuf_addch(&sb, 'r');
	strbuf_addstr(&sb, "\"}}");
	assert_int_equal(parse(sb.buf, &m), QMP_EVENT);
	assert_int_equal(strlen(m.reason), sizeof(m.reason) - 1);
	strbuf_release(&sb);
}

static void test_qmp_bad(void **state)
{
	static const char *const bad[] = {
		"", "   ", "null", "[]", "\"QMP\"", "{", "{\"event\"",
		"{\"event\": \"RESET\"", "{\"event\": \"RESET\"} trailing",
		"{\"event\": RESET}", "{\"a\": tru}", "{\"a\": 1,}",
		"{\"a\" 1}", "{\"a\": \"\\x\"}", "{\"a\": \"\\u12\"}",
		"{\"a\": \"unterminated}", "{\"a\": -}", "{\"a\": 1.}",
		"{\"a\": [1 2]}", "{'a': 1}", "{\"a\": \"tab\there\"}",
		"{\"event\": \"RESET\"}{\"event\": \"STOP\"}",
	};
	struct strbuf deep = STRBUF_INIT;
	struct qmp_msg m;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &m) != QMP_BAD)
			fail_msg("accepted: %s", bad[i]);
	}
	/* deep nesting is refused, not recursed into forever */
	strbuf_addstr(&deep, "{\"a\":");
	for (i = 0; i < 10000; i++)
		strbuf_addch(&deep, '[');
	for (i = 0; i < 10000; i++)
		strbuf_addch(&deep, ']');
	strbuf_addch(&deep, '}');
	assert_int_equal(parse(deep.buf, &m), QMP_BAD);
	strbuf_release(&deep);
	/* not NUL-terminated: only len bytes are looked at */
	assert_int_equal(qmp_parse_line("{\"event\":\"STOP\"}garbage", 16, &m),
			 QMP_EVENT);
	assert_string_equal(m.event, "STOP");
	qmp_msg_release(&m);
}

static void test_qmp_fields(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct qmp_msg m;
	char *line;
	size_t i;

	(void)state;
	/* truncation keeps whole characters and the NUL */
	strbuf_addstr(&sb, "{\"event\":\"");
	for (i = 0; i < sizeof(m.event) - 2; i++)
		strbuf_addch(&sb, 'e');
	strbuf_addstr(&sb, "\\u00e9\"}");
	assert_int_equal(parse(sb.buf, &m), QMP_EVENT);
	assert_int_equal(strlen(m.event), sizeof(m.event) - 2);
	assert_int_equal(m.event[sizeof(m.event) - 3], 'e');
	strbuf_release(&sb);
	/* fields of the wrong type are empty, not misread */
	assert_int_equal(parse("{\"event\": 12}", &m), QMP_OTHER);
	assert_int_equal(parse("{\"event\": \"X\", \"data\": "
			       "{\"reason\": [\"r\"]}}", &m), QMP_EVENT);
	assert_string_equal(m.reason, "");
	assert_int_equal(parse("{\"error\": \"flat\", \"id\": 1.5}", &m),
			 QMP_ERROR);
	assert_string_equal(m.err_class, "");
	assert_int_equal(m.id, -1);
	assert_int_equal(parse("{\"return\": {}}", &m), QMP_RETURN);
	assert_false(qmp_chardev_unconnected(m.ret, NULL, m.event,
					     sizeof(m.event)));
	assert_int_equal(parse("{\"return\": [1, {\"filename\": 2}, "
			       "{\"filename\": \"disconnected:x\"}]}", &m),
			 QMP_RETURN);
	assert_true(qmp_chardev_unconnected(m.ret, "s0", m.event,
					    sizeof(m.event)));
	assert_string_equal(m.event, "");
	/* the commands sent, and shown by --dry-run without an id */
	line = qmp_command_line("query-status", 7);
	assert_string_equal(line, "{\"execute\":\"query-status\",\"id\":7}\n");
	free(line);
	line = qmp_command_line("cont", -1);
	assert_string_equal(line, "{\"execute\":\"cont\"}\n");
	free(line);
}

static void test_qmp_chardev(void **state)
{
	/* query-chardev from QEMU 7.2, before and after the console client */
	const char *before = "{\"return\": [{\"frontend-open\": true, \"filename\": "
		"\"unix:/s/qmp.sock,server=on\", \"label\": \"labctl-qmp\"}, "
		"{\"frontend-open\": true, \"filename\": "
		"\"disconnected:unix:/s/con.sock,server=on\", \"label\": \"s0\"}, "
		"{\"frontend-open\": true, \"filename\": \"vc\", \"label\": "
		"\"parallel0\"}], \"id\": 5}";
	const char *after = "{\"return\": [{\"frontend-open\": true, \"filename\": "
		"\"unix:/s/qmp.sock,server=on\", \"label\": \"labctl-qmp\"}, "
		"{\"frontend-open\": true, \"filename\": "
		"\"unix:/s/con.sock,server=on\", \"label\": \"s0\"}], \"id\": 6}";
	struct qmp_msg m;
	char label[32];

	(void)state;
	assert_int_equal(parse(before, &m), QMP_RETURN);
	assert_true(qmp_chardev_unconnected(m.ret, "labctl-qmp", label,
					    sizeof(label)));
	assert_string_equal(label, "s0");
	assert_int_equal(parse(after, &m), QMP_RETURN);
	assert_false(qmp_chardev_unconnected(m.ret, "labctl-qmp", label,
					     sizeof(label)));
}

/* ------------------------------------------------------------ qemu */

static void test_qemu_open_errors(void **state)
{
	const char *missing[] = { "labctl-no-such-qemu-binary", "-S", NULL };
	const char *falls[] = { "false", NULL };
	struct lab_param bad = { "attach", "perhaps" };
	struct power_config cfg = { .driver = "qemu", .event = record };
	struct power_dev *dev;
	char *dir = xasprintf("%s/qemu-state", scratch);
	char *longdir;
	int ret;

	(void)state;
	ret = power_open(&dev, &cfg);
	assert_int_equal(ret, -LAB_ECONFIG);
	assert_contains(lab_errmsg(ret), "needs a state directory");

	cfg.state_dir = dir;
	ret = power_open(&dev, &cfg);
	assert_int_equal(ret, -LAB_ECONFIG);
	assert_contains(lab_errmsg(ret), "needs a QEMU command line");

	cfg.emulator_argv = missing;
	ret = power_open(&dev, &cfg);
	assert_int_equal(ret, -LAB_ESPAWN);
	assert_contains(lab_errmsg(ret), "labctl-no-such-qemu-binary: program not found");

	strbuf_reset(&events);
	cfg.emulator_argv = falls;
	ret = power_open(&dev, &cfg);
	assert_int_equal(ret, -LAB_EINFRA);
	assert_contains(lab_errmsg(ret),
			"QEMU exited with status 1 before its QMP socket appeared");
	assert_string_equal(events.buf, "EXIT=status 1;");

	cfg.params = &bad;
	cfg.nparams = 1;
	ret = power_open(&dev, &cfg);
	assert_int_equal(ret, -LAB_ECONFIG);
	assert_contains(lab_errmsg(ret), "attach=perhaps: want yes or no");

	cfg.params = NULL;
	cfg.nparams = 0;
	longdir = xasprintf("%s/%0100d", scratch, 0);
	cfg.state_dir = longdir;
	ret = power_open(&dev, &cfg);
	assert_int_equal(ret, -LAB_ECONFIG);
	assert_contains(lab_errmsg(ret), "too long for a unix socket path");
	free(longdir);
	free(dir);
}

/* attach=yes with nothing running: off, and status needs no QEMU. */
static void test_qemu_attach_nothing(void **state)
{
	const char *argv[] = { "false", NULL };
	struct lab_param attach = { "attach", "yes" };
	struct power_config cfg = {
		.driver = "qemu", .emulator_argv = argv, .params = &attach,
		.nparams = 1, .event = record,
	};
	struct power_dev *dev;
	enum power_state st;
	char *dir = xasprintf("%s/attach-state", scratch);

	(void)state;
	cfg.state_dir = dir;
	assert_int_equal(power_open(&dev, &cfg), 0);
	assert_int_equal(power_status(dev, &st), 0);
	assert_int_equal(st, POWER_OFF);
	assert_false(readable(power_event_fd(dev)));
	assert_int_equal(power_dispatch(dev), 0);
	assert_int_equal(power_reset(dev), -LAB_EINFRA);
	assert_contains(lab_errmsg(-LAB_EINFRA), "it is off");
	assert_int_equal(power_off(dev), 0);	/* off already: fine */
	power_close(dev);
	free(dir);
}

/* A pid file naming a process that is not our QEMU: never killed. */
static void test_qemu_stale_pid_not_ours(void **state)
{
	const char *argv[] = { "false", NULL };
	struct power_config cfg = { .driver = "qemu", .emulator_argv = argv };
	struct power_dev *dev;
	char *dir = xasprintf("%s/stale-state", scratch);
	char *pidfile = xasprintf("%s/qemu.pid", dir);
	pid_t victim;
	FILE *fp;
	int status;

	(void)state;
	victim = fork();
	assert_true(victim >= 0);
	if (victim == 0) {
		execlp("sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	assert_int_equal(mkdir(dir, 0700), 0);
	fp = fopen(pidfile, "w");
	assert_non_null(fp);
	fprintf(fp, "%d\n", (int)victim);
	fclose(fp);
	cfg.state_dir = dir;
	assert_int_equal(power_open(&dev, &cfg), -LAB_EINFRA);
	/* still alive: its cmdline has no "-pidfile DIR/qemu.pid" */
	assert_int_equal(waitpid(victim, &status, WNOHANG), 0);
	assert_int_equal(kill(victim, 0), 0);
	kill(victim, SIGKILL);
	waitpid(victim, &status, 0);
	free(pidfile);
	free(dir);
}

/* ------------------------------------------------------------ fake QEMU */

/*
 * The test binary re-executed as a fake QEMU: "--fake-qemu MODE" first,
 * then the arguments the driver adds (-S -pidfile P -chardev
 * socket,id=labctl-qmp,path=S,... -mon ...).  It serves QMP on S, one
 * client, the way QEMU 7.2 does, with replies split across writes and a
 * line that is not JSON thrown in.  MODE: "normal"; "exit7" (exits 7 50 ms
 * after cont); "deaf" (ignores quit).
 */
static void fake_send(int fd, const char *s)
{
	size_t len = strlen(s), half = len / 2;

	/* in two writes, so the reader sees half lines */
	if (write(fd, s, half) < 0 || (usleep(1000), 0) ||
	    write(fd, s + half, len - half) < 0)
		_exit(3);
}

static int fake_qemu(int argc, char **argv)
{
	const char *mode = argv[2], *pidfile = NULL, *sock = NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char line[4096], status[32] = "prelaunch", out[512], path[100];
	size_t len = 0;
	FILE *fp;
	int i, lfd, fd;

	for (i = 3; i < argc - 1; i++) {
		if (!strcmp(argv[i], "-pidfile"))
			pidfile = argv[i + 1];
		if (!strcmp(argv[i], "-chardev") &&
		    !strncmp(argv[i + 1], "socket,id=labctl-qmp,path=", 26)) {
			snprintf(path, sizeof(path), "%.*s",
				 (int)strcspn(argv[i + 1] + 26, ","),
				 argv[i + 1] + 26);
			sock = path;
		}
	}
	if (!pidfile || !sock)
		return 2;
	fp = fopen(pidfile, "w");
	fprintf(fp, "%d\n", (int)getpid());
	fclose(fp);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1))
		return 2;
	fd = accept(lfd, NULL, NULL);
	fake_send(fd, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2,"
		  " \"major\": 7}, \"package\": \"fake\"}, \"capabilities\": []}}\r\n");
	for (;;) {
		char *nl;
		ssize_t n;

		while ((nl = memchr(line, '\n', len))) {
			json_t *obj = json_loadb(line, (size_t)(nl - line), 0, NULL);
			const char *execute = json_string_value(json_object_get(obj, "execute"));
			json_t *idv = json_object_get(obj, "id");
			char cmd[64] = "", id[32] = "0";

			snprintf(cmd, sizeof(cmd), "%s", execute ? execute : "");
			if (json_is_integer(idv))
				snprintf(id, sizeof(id), "%" JSON_INTEGER_FORMAT,
					 json_integer_value(idv));
			json_decref(obj);
			memmove(line, nl + 1, len - (size_t)(nl + 1 - line));
			len -= (size_t)(nl + 1 - line);
			if (!strcmp(cmd, "quit") && !strcmp(mode, "deaf"))
				continue;
			if (!strcmp(cmd, "cont")) {
				strcpy(status, "running");
				fake_send(fd, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"RESUME\"}\r\n");
			} else if (!strcmp(cmd, "system_reset")) {
				fake_send(fd, "{\"event\": \"RESET\", \"data\": {\"guest\": false, \"reason\": \"host-qmp-system-reset\"}}\r\nnot json at all\r\n");
			} else if (!strcmp(cmd, "quit")) {
				fake_send(fd, "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, \"reason\": \"host-qmp-quit\"}}\r\n");
			}
			if (!strcmp(cmd, "query-status"))
				snprintf(out, sizeof(out), "{\"return\": {\"status\": \"%s\", \"running\": %s}, \"id\": %s}\r\n",
					 status, strcmp(status, "running") ? "false" : "true", id);
			else if (!strcmp(cmd, "query-chardev"))
				snprintf(out, sizeof(out), "{\"return\": [{\"filename\": \"unix:%s,server=on\", \"label\": \"labctl-qmp\"}], \"id\": %s}\r\n",
					 sock, id);
			else if (!strcmp(cmd, "nope"))
				snprintf(out, sizeof(out), "{\"id\": %s, \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"no\"}}\r\n", id);
			else
				snprintf(out, sizeof(out), "{\"return\": {}, \"id\": %s}\r\n", id);
			fake_send(fd, out);
			if (!strcmp(cmd, "system_reset"))
				fake_send(fd, "{\"event\": \"RESET\", \"data\": {\"guest\": true, \"reason\": \"guest-reset\"}}\r\n");
			if (!strcmp(cmd, "quit"))
				_exit(0);
			if (!strcmp(cmd, "cont") && !strcmp(mode, "exit7")) {
				usleep(50000);
				_exit(7);
			}
			/* QEMU's own failure: its message last in qemu.log. */
			if (!strcmp(cmd, "cont") && !strncmp(mode, "qemuerr", 7)) {
				fprintf(stderr, "qemu-system-x86_64: warning: a warning first\n"
					"qemu-system-x86_64: fake device error\n");
				usleep(50000);
				_exit(atoi(mode + 7));
			}
		}
		n = read(fd, line + len, sizeof(line) - len);
		if (n <= 0)
			return 0;	/* the client left */
		len += (size_t)n;
	}
}

static char self_exe[PATH_MAX];

static void fake_config(struct power_config *cfg, const char **argv,
			const char *mode, const char *dir,
			struct lab_param *params, int nparams)
{
	argv[0] = self_exe;
	argv[1] = "--fake-qemu";
	argv[2] = mode;
	argv[3] = NULL;
	*cfg = (struct power_config){
		.driver = "qemu", .emulator_argv = argv, .state_dir = dir,
		.params = params, .nparams = nparams, .event = record,
	};
}

static struct power_dev *reenter_dev;

/* An event callback that calls back into the driver. */
static void record_and_reenter(void *arg, const char *name, const char *detail)
{
	enum power_state st;

	record(arg, name, detail);
	if (reenter_dev && !strcmp(name, "RESET") && !strcmp(detail, "guest-reset")) {
		struct power_dev *d = reenter_dev;

		reenter_dev = NULL;	/* once */
		assert_int_equal(power_status(d, &st), 0);
		assert_int_equal(st, POWER_ON);
	}
}

static void wait_events(struct power_dev *dev, const char *want, int ms)
{
	int64_t deadline = lab_mono_ms() + ms;

	while (!strstr(strbuf_str(&events), want) && lab_mono_ms() < deadline) {
		struct pollfd pfd = { power_event_fd(dev), POLLIN, 0 };

		if (pfd.fd < 0)
			break;
		poll(&pfd, 1, 20);
		assert_int_equal(power_dispatch(dev), 0);
	}
	assert_contains(strbuf_str(&events), want);
}

static void test_fake_qemu_session(void **state)
{
	struct lab_param p[] = { { "console_wait", "200ms" } };
	char *dir = xasprintf("%s/fake1", scratch), *pidfile;
	struct power_config cfg;
	struct power_dev *dev;
	enum power_state st;
	const char *argv[4];
	int efd;

	(void)state;
	fake_config(&cfg, argv, "normal", dir, p, 1);
	cfg.event = record_and_reenter;
	strbuf_reset(&events);
	assert_int_equal(power_open(&dev, &cfg), 0);
	pidfile = xasprintf("%s/qemu.pid", dir);
	assert_int_equal(access(pidfile, F_OK), 0);
	efd = power_event_fd(dev);
	assert_true(efd >= 0);
	assert_int_equal(power_status(dev, &st), 0);
	assert_int_equal(st, POWER_OFF);		/* prelaunch */
	assert_int_equal(power_on(dev), 0);
	assert_int_equal(power_status(dev, &st), 0);
	assert_int_equal(st, POWER_ON);
	assert_string_equal(events.buf, "status=off;RESUME=;on=ok;status=on;");

	strbuf_reset(&events);
	reenter_dev = dev;
	assert_int_equal(power_reset(dev), 0);
	/* the event after the reply comes with dispatch; the callback's
	 * power_status inside it works and reports nothing twice */
	wait_events(dev, "RESET=guest-reset;", 2000);
	assert_string_equal(events.buf,
			    "RESET=host-qmp-system-reset;reset=ok;"
			    "RESET=guest-reset;status=on;");

	strbuf_reset(&events);
	assert_int_equal(power_cycle(dev), 0);	/* running: system_reset */
	assert_contains(events.buf, "RESET=host-qmp-system-reset;cycle=ok;");

	strbuf_reset(&events);
	assert_int_equal(power_off(dev), 0);
	assert_contains(events.buf, "SHUTDOWN=host-qmp-quit;");
	assert_contains(events.buf, "EXIT=status 0;off=ok;");
	assert_false(readable(power_event_fd(dev)));
	assert_int_equal(power_event_fd(dev), efd);	/* the same fd */
	assert_int_equal(access(pidfile, F_OK), -1);	/* cleaned up */
	assert_int_equal(power_status(dev, &st), 0);
	assert_int_equal(st, POWER_OFF);

	/* on again: a new (fake) QEMU */
	strbuf_reset(&events);
	assert_int_equal(power_on(dev), 0);
	assert_string_equal(events.buf, "RESUME=;on=ok;");
	power_close(dev);	/* owned: quits it */
	assert_contains(events.buf, "EXIT=status 0;");
	free(pidfile);
	free(dir);
}

static void test_fake_qemu_exits(void **state)
{
	struct lab_param p[] = { { "console_wait", "0" } };
	char *dir = xasprintf("%s/fake2", scratch);
	struct power_config cfg;
	struct power_dev *dev;
	enum power_state st;
	const char *argv[4];

	(void)state;
	fake_config(&cfg, argv, "exit7", dir, p, 1);
	strbuf_reset(&events);
	assert_int_equal(power_open(&dev, &cfg), 0);
	assert_int_equal(power_on(dev), 0);
	wait_events(dev, "EXIT=status 7;", 3000);
	assert_false(readable(power_event_fd(dev)));
	assert_int_equal(power_status(dev, &st), 0);
	assert_int_equal(st, POWER_OFF);
	power_close(dev);
	free(dir);
}

/* An exit that is QEMU's own error names it; debug-exit statuses do not. */
static void test_fake_qemu_own_error(void **state)
{
	static const char *const modes[] = { "qemuerr1", "qemuerr4" };
	static const char *const want[] = {
		"EXIT=status 1: qemu-system-x86_64: fake device error;",
		"EXIT=status 4: qemu-system-x86_64: fake device error;",
	};
	struct lab_param p[] = { { "console_wait", "0" } };
	struct power_config cfg;
	struct power_dev *dev;
	const char *argv[4];
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		char *dir = xasprintf("%s/fakeerr%d", scratch, i);

		fake_config(&cfg, argv, modes[i], dir, p, 1);
		strbuf_reset(&events);
		assert_int_equal(power_open(&dev, &cfg), 0);
		assert_int_equal(power_on(dev), 0);
		wait_events(dev, want[i], 3000);
		power_close(dev);
		free(dir);
	}
}

static void test_fake_qemu_deaf(void **state)
{
	struct lab_param p[] = { { "quit_timeout", "300ms" } };
	char *dir = xasprintf("%s/fake3", scratch);
	struct power_config cfg;
	struct power_dev *dev;
	const char *argv[4];
	int64_t t0;

	(void)state;
	fake_config(&cfg, argv, "deaf", dir, p, 1);
	strbuf_reset(&events);
	assert_int_equal(power_open(&dev, &cfg), 0);
	t0 = lab_mono_ms();
	assert_int_equal(power_off(dev), 0);
	assert_true(lab_mono_ms() - t0 < 2000);
	assert_true(lab_mono_ms() - t0 >= 300);
	/* SIGTERM ends it (the fake has no handler) */
	assert_contains(events.buf, "EXIT=signal 15;off=ok;");
	power_close(dev);
	free(dir);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selftest),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_dummy_on_off_status),
		cmocka_unit_test(test_cycle_fallback),
		cmocka_unit_test(test_cycle_fallback_stops_on_error),
		cmocka_unit_test(test_dummy_status_errors),
		cmocka_unit_test(test_qmp_greeting_return_error),
		cmocka_unit_test(test_qmp_events),
		cmocka_unit_test(test_qmp_bad),
		cmocka_unit_test(test_qmp_fields),
		cmocka_unit_test(test_qmp_chardev),
		cmocka_unit_test(test_qemu_open_errors),
		cmocka_unit_test(test_qemu_attach_nothing),
		cmocka_unit_test(test_qemu_stale_pid_not_ours),
		cmocka_unit_test(test_fake_qemu_session),
		cmocka_unit_test(test_fake_qemu_exits),
		cmocka_unit_test(test_fake_qemu_own_error),
		cmocka_unit_test(test_fake_qemu_deaf),
	};
	ssize_t n;
	int ret;

	if (argc > 2 && !strcmp(argv[1], "--fake-qemu"))
		return fake_qemu(argc, argv);
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n <= 0)
		return 1;
	self_exe[n] = '\0';
	ret = cmocka_run_group_tests(tests, setup_scratch, teardown_scratch);
	strbuf_release(&events);
	return ret;
}
