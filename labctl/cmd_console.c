// SPDX-License-Identifier: MIT
/*
 * labctl console [LAB] [--follow] [--no-log] [--results DIR] [--map lf-crlf|none]
 *
 * The lab's [console] interactively, like tio or picocom: the terminal is
 * raw (restored on every way out), what is typed goes to the board, what
 * the board prints comes out, and after a newline (or at the start)
 *   ~.  quits            ~b  sends a break (tty, telnet, ipmi-sol)
 *   ~p  power-cycles the board through its [power] driver
 *   ~m  switches the LF to CRLF mapping on or off
 *   ~?  lists these      ~~  sends one ~
 * A raw terminal moves down without going back on a bare LF, so by
 * default a LF that does not follow a CR is shown as CR LF (tio's
 * --map INLCRNL, picocom's --imap lfcrlf); --map none shows the bytes as
 * they come.  The capture always holds the bytes as received.  Every
 * message of labctl's own is one "[labctl: ...]" line.
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
#include <getopt.h>
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
#include "labctl/cmdopt.h"
#include "labctl/labctl.h"
#include "labctl/labpower.h"
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
	bool map_lf_crlf;	/* show a bare LF as CR LF */
	bool last_was_cr;	/* the last byte shown was a CR */
	struct strbuf out;	/* bytes for the board */
	struct strbuf shown;	/* the board's bytes as mapped for the terminal */
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
	const char *driver = lab_get(s->lab, "power", "driver");

	fputs("\r\n[labctl: escapes, typed after a newline or at the start:]\r\n", stderr);
	fputs("  ~.  quit\r\n", stderr);
	fprintf(stderr, "  ~b  send a break%s\r\n",
		s->con->drv->send_break ? "" : " (not on this transport)");
	fprintf(stderr, "  ~p  power-cycle the board (%s)\r\n",
		driver ? driver : "no [power] driver");
	fprintf(stderr, "  ~m  map LF to CR LF on output: on or off (now %s)\r\n",
		s->map_lf_crlf ? "on" : "off");
	fputs("  ~?  this help\r\n", stderr);
	fputs("  ~~  send one ~\r\n", stderr);
	fflush(stderr);
}

/*
 * ~p: `labctl power LAB cycle`, everything it says (warnings, a plan's
 * steps, the outcome) shown as our own "[labctl: ...]" lines: what it
 * logs is caught in a temporary file meanwhile, so nothing lands in the
 * raw terminal without its carriage return.
 */
static void escape_power_cycle(struct session *s)
{
	char *argv[] = { (char *)"power", s->lab->path, (char *)"cycle", NULL };
	struct strbuf report = STRBUF_INIT;
	FILE *log = tmpfile();
	int saved = -1, rc;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	say("power-cycling %s", s->lab->name);
	fflush(stderr);
	if (log) {
		saved = dup(2);
		if (saved < 0 || dup2(fileno(log), 2) < 0) {
			if (saved >= 0)
				close(saved);
			saved = -1;
		}
	}
	rc = cmd_power_report(3, argv, s->ctx, &report);
	if (saved >= 0) {
		fflush(stderr);
		dup2(saved, 2);
		close(saved);
		rewind(log);
		while ((n = getline(&line, &cap, log)) > 0) {
			const char *text = line;

			line[strcspn(line, "\r\n")] = '\0';
			if (!strncmp(text, "labctl: ", 8))
				text += 8;
			if (*text)
				say("%s", text);
		}
		free(line);
	}
	if (log)
		fclose(log);
	say("%s: %s%s", s->lab->name, rc ? "power cycle failed: " : "",
	    strbuf_str(&report));
	strbuf_release(&report);
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
			say("no break sent: %s", lab_errmsg(ret));
		else
			say("break sent");
		break;
	case 'p':
	case 'P':
		escape_power_cycle(s);
		break;
	case 'm':
	case 'M':
		s->map_lf_crlf = !s->map_lf_crlf;
		say("LF to CR LF mapping %s", s->map_lf_crlf ? "on" : "off");
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

/* The board's bytes to the terminal, a bare LF as CR LF when mapping. */
static int show(struct session *s, const char *buf, size_t n)
{
	size_t i, from = 0;
	int ret;

	if (!s->map_lf_crlf) {
		if (n)
			s->last_was_cr = buf[n - 1] == '\r';
		return write_all(1, buf, n);
	}
	strbuf_reset(&s->shown);
	for (i = 0; i < n; i++) {
		if (buf[i] == '\n' && !(i ? buf[i - 1] == '\r' : s->last_was_cr)) {
			strbuf_add(&s->shown, buf + from, i - from);
			strbuf_addstr(&s->shown, "\r\n");
			from = i + 1;
		}
	}
	strbuf_add(&s->shown, buf + from, n - from);
	if (n)
		s->last_was_cr = buf[n - 1] == '\r';
	ret = write_all(1, s->shown.buf, s->shown.len);
	return ret;
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
		ret = show(s, buf, (size_t)n);
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
	if (!strcmp(driver, "qemu") || !strcmp(driver, "bochs")) {
		/* The running QEMU's chardev; the board lock is not kept, so
		 * ~p (labctl power) can take it. */
		ret = qemu_board_open(&board, s->lab);
		if (ret == -LAB_EBUSY)
			return lab_err(LAB_EBUSY,
				       "the QEMU board of %s is in use (a run?): watch it with `labctl console %s --follow`",
				       s->lab->name, s->lab->name);
		if (ret)
			return ret;
		sock = strcmp(driver, "bochs") ? xstrdup(board.console_sock) :
		       xasprintf("%s/console.fifo", board.state_dir);	/* bochs board */
		qemu_board_close(&board);
		cfg->socket_path = sock;
		cfg->connect_timeout_ms = 1000;
	}
	ret = console_open(&s->con, cfg);
	if (ret && !strcmp(driver, "qemu")) {
		lab_debug("%s", lab_errmsg(ret));	/* the socket's own words */
		ret = lab_err(LAB_EINFRA,
			      "the QEMU board of %s is not running (nothing answers on its console %s): start it with `labctl power %s on`",
			      s->lab->name, sock, s->lab->name);
	} else if (ret && ret != -LAB_ECONFIG && ret != -LAB_EBUSY) {
		char *m = xstrdup(lab_errmsg(ret));

		ret = lab_err(LAB_EINFRA, "%s", m);	/* the lab, not the user */
		free(m);
	}
	free(sock);
	return ret;
}

int cmd_console(int argc, char **argv, struct cmd_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "no-log", no_argument, NULL, 'L' },
		{ "results", required_argument, NULL, 'r' },
		{ "map", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 }
	};
	const char *results_dir = "results", *lab_name = NULL;
	struct lab_param params[MAX_CONSOLE_PARAMS];
	struct lab_stop_saved stop;
	struct console_config cfg = { 0 };
	struct session s = { .ctx = ctx, .map_lf_crlf = true };
	struct board_session bs = { 0 };
	bool follow_mode = false, no_log = false;
	struct lab *lab = NULL;
	int c, i, rc, ret = 0;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":f", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			follow_mode = true;
			break;
		case 'L':
			no_log = true;
			break;
		case 'r':
			results_dir = optarg;
			break;
		case 'm':
			if (!strcmp(optarg, "lf-crlf"))
				s.map_lf_crlf = true;
			else if (!strcmp(optarg, "none"))
				s.map_lf_crlf = false;
			else
				return cmd_usage_error("console",
						       "--map: '%s' is not lf-crlf or none",
						       optarg);
			break;
		default:
			return cmd_bad_option("console", "", c, argv);
		}
	}
	for (i = optind; i < argc; i++) {
		if (lab_name)
			return cmd_usage_error("console", "too many arguments");
		lab_name = argv[i];
	}
	rc = cmd_open_lab(ctx, lab_name, &lab);
	if (rc)
		return rc;
	s.lab = lab;
	ret = lab_stop_catch(&stop);
	if (ret)
		goto out_lab;

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
	fprintf(stderr, "[labctl: console of %s (%s)%s%s%s; ~? for help, ~. to quit]\r\n",
		lab->name, s.con->drv->name, s.cap ? ", log " : "",
		s.cap ? capture_path(s.cap) : "",
		s.map_lf_crlf ? "" : ", LF not mapped");
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
	lab_stop_release(&stop);
out_lab:
	strbuf_release(&s.out);
	strbuf_release(&s.shown);
	lab_free(lab);
	return ret ? cmd_fail(ret) : 0;
}
