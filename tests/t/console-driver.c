// SPDX-License-Identifier: MIT
/*
 * Test driver for tests/t/76-console-transports.t: opens a console
 * transport as a run does and captures it with the capture engine.
 *
 *   console-driver -d DRIVER [-P KEY=VALUE]... -r RESULTS [-n BYTES]
 *                  [-t MS] [-i MS] [-w TEXT]
 *
 *   -n BYTES  stop once this many bytes were captured
 *   -t MS     give up after MS (default 30000)
 *   -i MS     stop after MS without data once something arrived
 *   -w TEXT   write TEXT to the console after opening it
 *
 * Prints "open ok" (flushed; the .t starts the writer then), then
 * "log PATH", "bytes N", "done"; errors as "console-driver: WHAT: MSG".
 * Exit 0, 1 on an error, 2 on bad usage.
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
#include "serial-capture/capture.h"
#include "serial-capture/console.h"

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
	long long want = -1, timeout = 30000, idle = 0;
	int64_t deadline, last_data = 0;
	struct console *con = NULL;
	struct capture *cap = NULL;

	while ((opt = getopt(argc, argv, "d:P:r:n:t:i:w:")) != -1) {
		switch (opt) {
		case 'd': driver = optarg; break;
		case 'r': results = optarg; break;
		case 'n': want = atoll(optarg); break;
		case 't': timeout = atoll(optarg); break;
		case 'i': idle = atoll(optarg); break;
		case 'w': wtext = optarg; break;
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
		fprintf(stderr, "usage: %s -d DRIVER [-P KEY=VALUE]... -r RESULTS [-n BYTES] [-t MS] [-i MS] [-w TEXT]\n",
			argv[0]);
		return 2;
	}
	struct console_config cc = {
		.driver = driver,
		.params = params,
		.nparams = nparams,
		.connect_timeout_ms = 3000,
	};
	ret = console_open(&con, &cc);
	if (ret)
		return die("console_open", ret);
	ret = capture_open(&cap, results, NULL, NULL);
	if (ret) {
		rc = die("capture_open", ret);
		goto out;
	}
	capture_mark_t0(cap);
	printf("open ok\nlog %s\n", capture_path(cap));
	fflush(stdout);
	if (wtext) {
		ssize_t n = console_write(con, wtext, strlen(wtext));

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
	if (cap) {
		ret = capture_close(cap);
		if (ret)
			rc = die("capture_close", ret);
		printf("bytes %llu\n", (unsigned long long)capture_bytes(cap));
		capture_free(cap);
	}
	console_close(con);
	printf("done\n");
	return rc;
}
