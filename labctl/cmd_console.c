// SPDX-License-Identifier: MIT
/*
 * labctl console [LAB] [--follow] [--no-log] [--results DIR]
 *
 * The lab's [console] interactively, like tio or picocom: the terminal is
 * raw (restored on every way out), what is typed goes to the board, what
 * the board prints comes out, and after a newline (or at the start)
 *   ~.  quits            ~b  sends a break (tty, telnet, ipmi-sol)
 *   ~p  power-cycles the board through its [power] driver
 *   ~?  lists these      ~~  sends one ~
 * Everything received is captured to results/<ts> (+ .lines) like a run,
 * unless --no-log, and the capture is published as results/.live/<LAB>
 * (see serial-capture/capture.h).  A lost transport reconnects (gaps in
 * the sidecar).
 *
 * --follow prints the console of the capture live for LAB (a run's, or
 * another `labctl console`'s) without taking the console or the
 * terminal: it tails results/.live/<LAB>'s file from its first byte
 * until its writer closes it (or dies), then exits 0.  Readers never
 * take bytes away from the capture: the writer is the only one reading
 * the transport.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <termios.h>
#include <unistd.h>

#include "labctl/board.h"
#include "labctl/labconf.h"
#include "labctl/labctl.h"
#include "labctl/qemuboard.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/stopsig.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "serial-capture/capture.h"
#include "serial-capture/console.h"

#define MAX_CONSOLE_PARAMS 32

#define FOLLOW_POLL_MS 200

/* ------------------------------------------------------------ terminal */

static struct termios saved_tio;
static bool tio_saved;

static void term_restore(void)
{
	if (tio_saved) {
		tcsetattr(0, TCSAFLUSH, &saved_tio);
		tio_saved = false;
	}
}

static int term_raw(void)
{
	struct termios t;

	if (!isatty(0))
		return 0;
	if (tcgetattr(0, &saved_tio) < 0)
		return lab_err_errno(errno, "cannot read the terminal settings");
	t = saved_tio;
	cfmakeraw(&t);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	tio_saved = true;
	atexit(term_restore);
	if (tcsetattr(0, TCSAFLUSH, &t) < 0)
		return lab_err_errno(errno, "cannot make the terminal raw");
	return 0;
}

/* A message between board output: on a line of its own, \r\n in raw mode. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("\r\n[labctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("]\r\n", stderr);
	fflush(stderr);
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = { fd, POLLOUT, 0 };

			poll(&p, 1, 100);
			continue;
		}
		if (n <= 0)
			return lab_err_errno(errno, "cannot write to the terminal");
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ------------------------------------------------------------ --follow */

static int follow(const struct lab *lab, const char *results_dir)
{
	char *path = NULL, buf[65536];
	int fd = -1, ino = -1, ret = 0;
	bool live = true;

	if (capture_find_live(results_dir, lab->name, &path))
		return lab_err(LAB_ENOENT,
			       "nothing is capturing the console of %s now (no live %s/.live/%s): start `labctl run %s` or `labctl console %s` first",
			       lab->name, results_dir, lab->name, lab->name, lab->name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = lab_err_errno(errno, "cannot open %s", path);
		goto out;
	}
	lab_info("following %s (until its capture ends; ^C stops)", path);
	ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ino >= 0)
		inotify_add_watch(ino, path, IN_MODIFY | IN_CLOSE_WRITE);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = lab_err_errno(errno, "cannot read %s", path);
			break;
		}
		if (n > 0) {
			ret = write_all(1, buf, (size_t)n);
			if (ret)
				break;
			continue;
		}
		/* At the end: more may come while the writer lives. */
		if (!live || lab_stop_signal)
			break;
		live = capture_is_live(fd);
		if (!live)
			continue;	/* one more read: what came before the close */
		{
			struct pollfd p[2] = { { ino, POLLIN, 0 },
					       { lab_stop_pipe[0], POLLIN, 0 } };
			char ev[4096];

			poll(p, 2, FOLLOW_POLL_MS);
			while (ino >= 0 && read(ino, ev, sizeof(ev)) > 0)
				;
		}
	}
	if (!ret && !lab_stop_signal)
		lab_info("the capture %s ended", path);
out:
	if (ino >= 0)
		close(ino);
	if (fd >= 0)
		close(fd);
	free(path);
	return ret;
}

/* ------------------------------------------------------------ session */

struct session {
	const struct lab *lab;
	struct cmd_ctx *ctx;
	struct console *con;
	struct capture *cap;
	int64_t lost_at;	/* lab_mono_ns() of the loss, 0 while up */
	bool at_line_start;	/* for the ~ escapes */
	bool tilde;		/* a ~ at a line start is pending */
	bool quit;
	struct strbuf out;	/* bytes for the board */
};

static void on_link(void *arg, bool up, const char *reason)
{
	struct session *s = arg;

	if (s->cap)
		capture_on_link(s->cap, up, reason);
	if (!up) {
		s->lost_at = lab_mono_ns();
		say("console lost: %s; reconnecting", reason);
	} else {
		say("console back after %.1f s", (lab_mono_ns() - s->lost_at) / 1e9);
		s->lost_at = 0;
	}
}

static void help(const struct session *s)
{
	say("escapes after a newline: ~. quit, ~b send a break%s, ~p power-cycle the board (%s), ~? this help, ~~ a ~",
	    s->con->drv->send_break ? "" : " (not on this transport)",
	    lab_get(s->lab, "power", "driver") ? lab_get(s->lab, "power", "driver") :
	    "its power driver");
}

static void power_cycle(struct session *s)
{
	char *argv[] = { (char *)"power", s->lab->path, (char *)"cycle", NULL };
	int rc;

	say("power-cycling %s", s->lab->name);
	fflush(stdout);
	rc = cmd_power(3, argv, s->ctx);
	fflush(stdout);
	say("power cycle %s", rc ? "failed (see above)" : "done");
}

static void escape(struct session *s, unsigned char c)
{
	int ret;

	switch (c) {
	case '.':
		s->quit = true;
		break;
	case 'b':
	case 'B':
		ret = console_send_break(s->con);
		if (ret)
			say("%s", lab_errmsg(ret));
		else
			say("break sent");
		break;
	case 'p':
	case 'P':
		power_cycle(s);
		break;
	case '?':
	case 'h':
		help(s);
		break;
	case '~':
		strbuf_addch(&s->out, '~');
		break;
	default:
		strbuf_addch(&s->out, '~');
		strbuf_addch(&s->out, (char)c);
		break;
	}
}

/* Typed bytes: escapes taken out, the rest queued for the board. */
static void typed(struct session *s, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && !s->quit; i++) {
		if (s->tilde) {
			size_t sent = s->out.len;

			s->tilde = false;
			escape(s, p[i]);
			/* a local command sent nothing: still at a line start */
			if (s->out.len != sent)
				s->at_line_start = false;
			continue;
		}
		if (s->at_line_start && p[i] == '~') {
			s->tilde = true;
			continue;
		}
		strbuf_addch(&s->out, (char)p[i]);
		s->at_line_start = p[i] == '\r' || p[i] == '\n';
	}
}

static void send_typed(struct session *s)
{
	size_t off = 0;
	int64_t deadline = lab_mono_ms() + 2000;

	while (off < s->out.len) {
		ssize_t n = console_write(s->con, s->out.buf + off, s->out.len - off);

		if (n == -LAB_EBUSY && lab_mono_ms() < deadline) {
			lab_sleep_ms(5);
			continue;
		}
		if (n < 0) {
			say("%s", lab_errmsg((int)n));
			break;
		}
		off += (size_t)n;
	}
	strbuf_reset(&s->out);
}

/* 0, or -LAB_E*; *ended when the console ended (no reconnect). */
static int pump_console(struct session *s, bool *ended)
{
	char buf[65536];
	int ret;

	for (;;) {
		ssize_t n = console_read(s->con, buf, sizeof(buf));

		if (n == -LAB_EBUSY)
			return 0;
		if (n <= 0) {
			*ended = true;
			return n < 0 ? (int)n : 0;
		}
		if (s->cap) {
			ret = capture_feed(s->cap, buf, (size_t)n);
			if (ret)
				return ret;
		}
		ret = write_all(1, buf, (size_t)n);
		if (ret)
			return ret;
	}
}

static int session_loop(struct session *s)
{
	bool ended = false, stdin_open = true;
	int ret = 0;

	s->at_line_start = true;
	while (!s->quit && !ended && !lab_stop_signal) {
		struct pollfd fds[3] = {
			{ console_fd(s->con), POLLIN, 0 },
			{ stdin_open ? 0 : -1, POLLIN, 0 },
			{ lab_stop_pipe[0], POLLIN, 0 },
		};
		unsigned char in[4096];

		if (poll(fds, 3, -1) < 0 && errno != EINTR)
			return lab_err_errno(errno, "poll");
		ret = pump_console(s, &ended);
		if (ret)
			break;
		if (fds[1].revents) {
			ssize_t n = read(0, in, sizeof(in));

			if (n > 0) {
				typed(s, in, (size_t)n);
				send_typed(s);
			} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
				stdin_open = false;	/* keep showing the board */
			}
		}
	}
	if (ended && !ret)
		say("the console ended");
	else if (ended)
		say("the console ended: %s", lab_errmsg(ret));
	return ret;
}

static int open_console(struct session *s, struct console_config *cfg,
			struct lab_param *params)
{
	const char *driver = lab_get(s->lab, "console", "driver");
	struct qemu_board board = { .lock_fd = -1 };
	char *sock = NULL;
	int ret;

	if (!driver && !strcmp(lab_get(s->lab, "board", "type"), "qemu"))
		driver = "qemu";
	if (!driver)
		return lab_err(LAB_ECONFIG,
			       "%s: no [console] driver: set driver = tty|tcp|telnet|ipmi-sol|amt-sol|ssh|cmd in its [console] section",
			       s->lab->path);
	cfg->driver = driver;
	cfg->params = params;
	cfg->nparams = lab_section_params(s->lab, "console", params,
					  MAX_CONSOLE_PARAMS);
	cfg->reconnect = true;
	cfg->on_link = on_link;
	cfg->link_arg = s;
	if (!strcmp(driver, "qemu")) {
		/* The running QEMU's chardev; the board lock is not kept, so
		 * ~p (labctl power) can take it. */
		ret = qemu_board_open(&board, s->lab);
		if (ret == -LAB_EBUSY)
			return lab_err(LAB_EBUSY,
				       "the QEMU board of %s is in use (a run?): watch it with `labctl console %s --follow`",
				       s->lab->name, s->lab->name);
		if (ret)
			return ret;
		sock = xstrdup(board.console_sock);
		qemu_board_close(&board);
		cfg->socket_path = sock;
		cfg->connect_timeout_ms = 1000;
	}
	ret = console_open(&s->con, cfg);
	free(sock);
	if (ret && !strcmp(driver, "qemu"))
		ret = lab_err(LAB_EINFRA,
			      "%s: is the QEMU board running? (`labctl power %s on`)",
			      lab_errmsg(ret), s->lab->name);
	else if (ret && ret != -LAB_ECONFIG && ret != -LAB_EBUSY) {
		char *m = xstrdup(lab_errmsg(ret));

		ret = lab_err(LAB_EINFRA, "%s", m);	/* the lab, not the user */
		free(m);
	}
	return ret;
}

int cmd_console(int argc, char **argv, struct cmd_ctx *ctx)
{
	const char *results_dir = "results", *lab_name = NULL;
	struct lab_param params[MAX_CONSOLE_PARAMS];
	struct sigaction sa = { .sa_handler = lab_stop_handler }, old[4];
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct console_config cfg = { 0 };
	struct session s = { .ctx = ctx };
	struct board_session bs = { 0 };
	bool follow_mode = false, no_log = false;
	struct lab *lab = NULL;
	int i, rc, ret = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--follow") || !strcmp(argv[i], "-f"))
			follow_mode = true;
		else if (!strcmp(argv[i], "--no-log"))
			no_log = true;
		else if (!strcmp(argv[i], "--results") && i + 1 < argc)
			results_dir = argv[++i];
		else if (!strncmp(argv[i], "--results=", 10))
			results_dir = argv[i] + 10;
		else if (argv[i][0] == '-' && argv[i][1])
			return cmd_usage_error("console", "unknown option '%s'", argv[i]);
		else if (!lab_name)
			lab_name = argv[i];
		else
			return cmd_usage_error("console", "too many arguments");
	}
	rc = cmd_open_lab(ctx, lab_name, &lab);
	if (rc)
		return rc;
	s.lab = lab;
	if (pipe2(lab_stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		ret = lab_err_errno(errno, "pipe");
		goto out_lab;
	}
	lab_stop_signal = 0;
	for (i = 0; i < 4; i++)
		sigaction(sigs[i], &sa, &old[i]);

	if (follow_mode) {
		ret = follow(lab, results_dir);
		goto out;
	}
	/* Typing into a board is using it: take its lease (--follow only
	 * watches, so it does not). */
	{
		struct lease_take_opts lo = { 0 };

		ret = board_session_lease(&bs, lab, &lo);
		if (ret)
			goto out;
	}
	ret = open_console(&s, &cfg, params);
	if (ret)
		goto out;
	if (!no_log) {
		ret = capture_open(&s.cap, results_dir, NULL, NULL);
		if (!ret)
			ret = capture_publish(s.cap, lab->name);
		if (ret)
			goto out_console;
	}
	fprintf(stderr, "[labctl: console of %s (%s)%s%s; ~? for help, ~. to quit]\r\n",
		lab->name, s.con->drv->name, s.cap ? ", log " : "",
		s.cap ? capture_path(s.cap) : "");
	ret = term_raw();
	if (!ret)
		ret = session_loop(&s);
	term_restore();
	if (s.cap) {
		int r2 = capture_close(s.cap);

		fprintf(stderr, "\n[labctl: %llu bytes in %s]\n",
			(unsigned long long)capture_bytes(s.cap), capture_path(s.cap));
		if (!ret)
			ret = r2;
	} else {
		fputc('\n', stderr);
	}
out_console:
	capture_free(s.cap);
	console_close(s.con);
out:
	board_session_close(&bs);
	for (i = 0; i < 4; i++)
		sigaction(sigs[i], &old[i], NULL);
	close(lab_stop_pipe[0]);
	close(lab_stop_pipe[1]);
	lab_stop_pipe[0] = lab_stop_pipe[1] = -1;
out_lab:
	strbuf_release(&s.out);
	lab_free(lab);
	return ret ? cmd_fail(ret) : 0;
}
