// SPDX-License-Identifier: MIT
/*
 * Test driver for tests/t/76-console-transports.t and 77-console-reconnect.t:
 * opens a console transport as a run does and captures it with the
 * capture engine.
 *
 *   console-driver -d DRIVER [-P KEY=VALUE]... -r RESULTS [-n BYTES]
 *                  [-t MS] [-i MS] [-w TEXT] [-D MS] [-R]
 *
 *   -n BYTES  stop once this many bytes were captured
 *   -t MS     give up after MS (default 30000)
 *   -i MS     stop after MS without data once something arrived
 *   -w TEXT   write TEXT to the console after opening it
 *   -D MS     ... MS after opening it
 *   -R        reconnect (console_config.reconnect), gaps to the capture;
 *             prints "lost REASON" and "back" as they happen
 *
 * Prints "open ok" (flushed; the .t starts the writer then), then
 * "log PATH", "bytes N", "cpu SECONDS" (its own user + system time),
 * "done"; errors as "console-driver: WHAT: MSG".
 * Exit 0, 1 on an error, 2 on bad usage.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "serial-capture/capture.h"
#include "serial-capture/console.h"

static void on_link(void *arg, bool up, const char *reason)
{
	capture_on_link(arg, up, reason);
	if (up)
		printf("back\n");
	else
		printf("lost %s\n", reason);
	fflush(stdout);
}

static int die(const char *what, int ret)
{
	fprintf(stderr, "console-driver: %s: %s\n", what, lab_errmsg(ret));
	return 1;
}

int main(int argc, char **argv)
{
	const char *driver = NULL, *results = NULL, *wtext = NULL;
	struct lab_param params[8];
	int nparams = 0, opt, ret, rc = 0;
	long long want = -1, timeout = 30000, idle = 0, wdelay = 0;
	int64_t deadline, last_data = 0;
	struct console *con = NULL;
	struct capture *cap = NULL;
	bool reconnect = false;
	struct rusage ru;

	while ((opt = getopt(argc, argv, "d:P:r:n:t:i:w:D:R")) != -1) {
		switch (opt) {
		case 'd': driver = optarg; break;
		case 'r': results = optarg; break;
		case 'n': want = atoll(optarg); break;
		case 't': timeout = atoll(optarg); break;
		case 'i': idle = atoll(optarg); break;
		case 'w': wtext = optarg; break;
		case 'D': wdelay = atoll(optarg); break;
		case 'R': reconnect = true; break;
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
	if (!driver || !results) {
		fprintf(stderr, "usage: %s -d DRIVER [-P KEY=VALUE]... -r RESULTS [-n BYTES] [-t MS] [-i MS] [-w TEXT] [-D MS] [-R]\n",
			argv[0]);
		return 2;
	}
	struct console_config cc = {
		.driver = driver,
		.params = params,
		.nparams = nparams,
		.connect_timeout_ms = 3000,
		.reconnect = reconnect,
		.on_link = on_link,
	};
	/* The capture first, so a loss at any time has somewhere to go. */
	ret = capture_open(&cap, results, NULL, NULL);
	if (ret)
		return die("capture_open", ret);
	capture_mark_t0(cap);
	cc.link_arg = cap;
	ret = console_open(&con, &cc);
	if (ret) {
		rc = die("console_open", ret);
		unlink(capture_lines_path(cap));
		unlink(capture_path(cap));
		capture_free(cap);
		return rc;
	}
	printf("open ok\nlog %s\n", capture_path(cap));
	fflush(stdout);
	if (wtext) {
		ssize_t n;

		lab_sleep_ms(wdelay);
		n = console_write(con, wtext, strlen(wtext));
		if (n < 0) {
			rc = die("console_write", (int)n);
			goto out;
		}
	}

	deadline = lab_mono_ms() + timeout;
	while (lab_mono_ms() < deadline) {
		struct pollfd pfd = { console_fd(con), POLLIN, 0 };
		char buf[65536];
		bool eof = false;

		if (want >= 0 && capture_bytes(cap) >= (uint64_t)want)
			break;
		if (idle && last_data && lab_mono_ms() - last_data > idle)
			break;
		if (poll(&pfd, 1, 50) < 0 && errno != EINTR)
			break;
		for (;;) {
			ssize_t r = console_read(con, buf, sizeof(buf));

			if (r == -LAB_EBUSY)
				break;
			if (r <= 0) {
				if (r < 0)
					rc = die("console_read", (int)r);
				eof = true;
				break;
			}
			last_data = lab_mono_ms();
			ret = capture_feed(cap, buf, (size_t)r);
			if (ret) {
				rc = die("capture_feed", ret);
				goto out;
			}
		}
		if (eof)
			break;
	}
out:
	ret = capture_close(cap);
	if (ret)
		rc = die("capture_close", ret);
	printf("bytes %llu\n", (unsigned long long)capture_bytes(cap));
	capture_free(cap);
	console_close(con);
	getrusage(RUSAGE_SELF, &ru);
	printf("cpu %.6f\n", ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	printf("done\n");
	return rc;
}
