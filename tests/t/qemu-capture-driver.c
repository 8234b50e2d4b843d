// SPDX-License-Identifier: MIT
/*
 * Test driver for tests/t/60-qemu-power-console.t: power/qemu,
 * serial-capture/qemu and the capture engine together, the way a run
 * uses them, against a real QEMU.  Built by the .t script against
 * libcore.a.
 *
 *   qemu-capture-driver -s STATE -r RESULTS -c CONSOLE.sock [options]
 *                       -- qemu-system-x86_64 ARGS...
 *
 *   -t MS     give up after MS (default 20000)
 *   -l TEXT   stop once a line contains TEXT, then power off (timed)
 *   -R        stop at the first RESET or SHUTDOWN event, then power off
 *   -P K=V    a [power] key for the qemu driver (repeatable)
 *   -A LIST   no console, no capture: run the comma-separated actions
 *             on, off, cycle, reset, press, presslong, status, sleepMS,
 *             dispatch (take in pending events), then close
 *
 * It prints, one per line and flushed at once: "status-before STATE",
 * "qemu-pid PID", "status-after STATE", "event NAME DETAIL" for every
 * power event, "log PATH", "lines N", "bytes N", "off-ms MS",
 * "status-end STATE", "done".  Exit 0 unless something failed.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "lib/strbuf.h"
#include "power/power.h"
#include "serial-capture/capture.h"
#include "serial-capture/console.h"

static bool exited, reset_seen, line_seen;
static const char *stop_text;
static unsigned long nlines;

static void on_event(void *arg, const char *name, const char *detail)
{
	(void)arg;
	printf("event %s %s\n", name, detail);
	fflush(stdout);
	if (!strcmp(name, "EXIT"))
		exited = true;
	if (!strcmp(name, "RESET") || !strcmp(name, "SHUTDOWN"))
		reset_seen = true;
}

static void on_line(void *arg, const char *line, size_t len, int64_t ns)
{
	(void)arg;
	(void)ns;
	nlines++;
	if (stop_text && memmem(line, len, stop_text, strlen(stop_text)))
		line_seen = true;
}

static int actions(struct power_dev *p, char *list)
{
	char *save = NULL, *a;
	int ret = 0;

	for (a = strtok_r(list, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
		if (!strcmp(a, "on"))
			ret = power_on(p);
		else if (!strcmp(a, "off"))
			ret = power_off(p);
		else if (!strcmp(a, "cycle"))
			ret = power_cycle(p);
		else if (!strcmp(a, "reset"))
			ret = power_reset(p);
		else if (!strcmp(a, "press"))
			ret = power_press(p, false);
		else if (!strcmp(a, "presslong"))
			ret = power_press(p, true);
		else if (!strcmp(a, "dispatch"))
			ret = power_dispatch(p);
		else if (!strncmp(a, "sleep", 5))
			lab_sleep_ms(atoll(a + 5));
		else if (!strcmp(a, "status")) {
			enum power_state st;

			ret = power_status(p, &st);
		} else {
			fprintf(stderr, "unknown action %s\n", a);
			return 2;
		}
		if (ret) {
			fprintf(stderr, "qemu-capture-driver: %s: %s\n", a,
				lab_errmsg(ret));
			return 1;
		}
	}
	return 0;
}

static const char *state_name(enum power_state s)
{
	return s == POWER_ON ? "on" : s == POWER_OFF ? "off" : "unknown";
}

static int die(const char *what, int ret)
{
	fprintf(stderr, "qemu-capture-driver: %s: %s\n", what, lab_errmsg(ret));
	return 1;
}

static void print_status(struct power_dev *p, const char *tag)
{
	enum power_state st;
	int ret = power_status(p, &st);

	if (ret)
		printf("%s error %s\n", tag, lab_errmsg(ret));
	else
		printf("%s %s\n", tag, state_name(st));
	fflush(stdout);
}

static void print_pid(const char *state)
{
	struct strbuf sb = STRBUF_INIT, path = STRBUF_INIT;

	strbuf_addf(&path, "%s/qemu.pid", state);
	if (!strbuf_read_file(&sb, path.buf, 64)) {
		strbuf_rtrim(&sb);
		printf("qemu-pid %s\n", sb.buf);
		fflush(stdout);
	}
	strbuf_release(&sb);
	strbuf_release(&path);
}

int main(int argc, char **argv)
{
	const char *state = NULL, *results = NULL, *sock = NULL;
	struct lab_param params[8];
	int nparams = 0;
	char *action_list = NULL;
	bool stop_reset = false;
	int64_t timeout = 20000, deadline, exit_deadline = 0;
	struct power_dev *p = NULL;
	struct console *con = NULL;
	struct capture *cap = NULL;
	int opt, ret, rc = 0;

	while ((opt = getopt(argc, argv, "s:r:c:t:l:RP:A:")) != -1) {
		switch (opt) {
		case 's': state = optarg; break;
		case 'r': results = optarg; break;
		case 'c': sock = optarg; break;
		case 't': timeout = atoll(optarg); break;
		case 'l': stop_text = optarg; break;
		case 'R': stop_reset = true; break;
		case 'A': action_list = optarg; break;
		case 'P':
			if (nparams == 8 || !strchr(optarg, '='))
				return 2;
			*strchr(optarg, '=') = '\0';
			params[nparams].key = optarg;
			params[nparams++].value = optarg + strlen(optarg) + 1;
			break;
		default: return 2;
		}
	}
	if (!state || optind >= argc ||
	    (!action_list && (!results || !sock))) {
		fprintf(stderr, "usage: %s -s STATE (-r RESULTS -c SOCK | -A ACTIONS) [-t MS] [-l TEXT] [-R] [-P KEY=VALUE] -- QEMU ARGS...\n",
			argv[0]);
		return 2;
	}

	struct power_config pc = {
		.driver = "qemu",
		.params = params,
		.nparams = nparams,
		.emulator_argv = (const char *const *)argv + optind,
		.state_dir = state,
		.event = on_event,
	};
	ret = power_open(&p, &pc);
	if (ret)
		return die("power_open", ret);
	print_pid(state);
	if (action_list) {
		rc = actions(p, action_list);
		print_pid(state);
		goto out;
	}
	print_status(p, "status-before");

	{
		struct console_config cc = {
			.driver = "qemu",
			.socket_path = sock,
			.connect_timeout_ms = 5000,
		};

		ret = console_open(&con, &cc);
		if (ret) {
			rc = die("console_open", ret);
			goto out;
		}
		ret = capture_open(&cap, results, on_line, NULL);
		if (ret) {
			rc = die("capture_open", ret);
			goto out;
		}
		printf("log %s\n", capture_path(cap));
		fflush(stdout);
		capture_mark_t0(cap);
	}
	ret = power_on(p);
	if (ret) {
		rc = die("power_on", ret);
		goto out;
	}
	print_pid(state);
	print_status(p, "status-after");

	deadline = lab_mono_ms() + timeout;
	while (lab_mono_ms() < deadline) {
		struct pollfd pfd[2];
		int n = 0, efd = power_event_fd(p);
		char buf[4096];

		if (con)
			pfd[n++] = (struct pollfd){ console_fd(con), POLLIN, 0 };
		if (efd >= 0)
			pfd[n++] = (struct pollfd){ efd, POLLIN, 0 };
		if (!n)
			break;
		if (poll(pfd, (nfds_t)n, 50) < 0 && errno != EINTR)
			break;
		while (con) {
			ssize_t r = console_read(con, buf, sizeof(buf));

			if (r == -LAB_EBUSY)
				break;
			if (r <= 0) {
				if (r < 0)
					fprintf(stderr, "console: %s\n",
						lab_errmsg((int)r));
				console_close(con);
				con = NULL;
				break;
			}
			ret = capture_feed(cap, buf, (size_t)r);
			if (ret) {
				rc = die("capture_feed", ret);
				goto out;
			}
		}
		ret = power_dispatch(p);
		if (ret)
			fprintf(stderr, "dispatch: %s\n", lab_errmsg(ret));
		if (exited) {
			/* Take what the console still has, for a while. */
			if (!con)
				break;
			if (!exit_deadline)
				exit_deadline = lab_mono_ms() + 2000;
			if (lab_mono_ms() > exit_deadline)
				break;
		}
		if (line_seen || (stop_reset && reset_seen))
			break;
	}
	if (!exited) {
		int64_t t0 = lab_mono_ms();

		ret = power_off(p);
		printf("off-ms %lld\n", (long long)(lab_mono_ms() - t0));
		if (ret)
			rc = die("power_off", ret);
	}
	print_status(p, "status-end");
out:
	if (cap) {
		ret = capture_close(cap);
		if (ret)
			rc = die("capture_close", ret);
		printf("lines %lu\nbytes %llu\n", nlines,
		       (unsigned long long)capture_bytes(cap));
		capture_free(cap);
	}
	console_close(con);
	power_close(p);
	printf("done\n");
	return rc;
}
