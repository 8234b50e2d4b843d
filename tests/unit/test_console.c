// SPDX-License-Identifier: MIT
/*
 * Console transports below the network: the telnet IAC parser (fed byte
 * by byte, in random splits, sequences split across reads; the replies it
 * sends and that it never loops), the escaping of data sent, the table
 * (every new transport registered, self-test), bad configuration of each
 * transport; and the rendering helpers of `labctl log` (ANSI stripping,
 * dmesg-style offsets, stage ranges from the .json).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "labctl/logrender.h"
#include "lib/err.h"
#include "lib/strbuf.h"
#include "serial-capture/console.h"
#include "serial-capture/telnet.h"


#define IAC "\xff"
#define DO "\xfd"
#define DONT "\xfe"
#define WILL "\xfb"
#define WONT "\xfc"
#define SB "\xfa"
#define SE "\xf0"

/* A session as ser2net's telnet(rfc2217) might send it, with everything. */
static const char stream[] =
	"boot" IAC WILL "\x01" IAC WILL "\x03" IAC DO "\x2c" IAC DO "\x00"
	"ing" IAC IAC "x" IAC "\xf1" /* NOP */
	IAC SB "\x2c\x65" "\x00\x01\xc2\x00" IAC IAC "z" IAC SE
	"\r\nline 2" IAC WILL "\x00" IAC DO "\x18" /* TERMINAL-TYPE */
	IAC DO "\x2c" /* again: no second answer */
	IAC WILL "\x01" /* again: no second answer */
	IAC "\xf9" /* GA */ "end" IAC IAC;
static const char want_data[] = "booting\xffx\r\nline 2end\xff";
static const char want_reply[] =
	IAC DONT "\x01" IAC DONT "\x03" IAC WILL "\x2c" IAC WILL "\x00"
	IAC DO "\x00" IAC WONT "\x18";

static void parse_split(const unsigned char *in, size_t n, const size_t *cuts,
			size_t ncuts, struct strbuf *data, struct strbuf *reply)
{
	struct telnet_parser p;
	unsigned char buf[512];
	size_t i, at = 0;

	telnet_parser_init(&p);
	for (i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : n, k;

		assert_true(end >= at && end - at <= sizeof(buf));
		/* the transport parses in place: do the same */
		memcpy(buf, in + at, end - at);
		k = telnet_parse(&p, buf, end - at, buf, reply);
		assert_true(k <= end - at);
		strbuf_add(data, buf, k);
		at = end;
	}
}

static void check(const struct strbuf *data, const struct strbuf *reply)
{
	assert_int_equal(data->len, sizeof(want_data) - 1);
	assert_memory_equal(data->buf, want_data, data->len);
	assert_int_equal(reply->len, sizeof(want_reply) - 1);
	assert_memory_equal(reply->buf, want_reply, reply->len);
}

static void test_telnet_whole(void **state)
{
	struct strbuf data = STRBUF_INIT, reply = STRBUF_INIT;

	(void)state;
	parse_split((const unsigned char *)stream, sizeof(stream) - 1, NULL, 0,
		    &data, &reply);
	check(&data, &reply);
	strbuf_release(&data);
	strbuf_release(&reply);
}

static void test_telnet_byte_by_byte(void **state)
{
	struct strbuf data = STRBUF_INIT, reply = STRBUF_INIT;
	size_t cuts[sizeof(stream)], i;

	(void)state;
	for (i = 1; i < sizeof(stream) - 1; i++)
		cuts[i - 1] = i;
	parse_split((const unsigned char *)stream, sizeof(stream) - 1, cuts,
		    sizeof(stream) - 2, &data, &reply);
	check(&data, &reply);
	strbuf_release(&data);
	strbuf_release(&reply);
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

static void test_telnet_random_splits(void **state)
{
	unsigned seed = 12345;
	int round;

	(void)state;
	for (round = 0; round < 2000; round++) {
		struct strbuf data = STRBUF_INIT, reply = STRBUF_INIT;
		size_t cuts[16], n = (size_t)(rand_r(&seed) % 16), i;

		for (i = 0; i < n; i++)
			cuts[i] = (size_t)rand_r(&seed) % sizeof(stream);
		qsort(cuts, n, sizeof(cuts[0]), cmp_size);
		parse_split((const unsigned char *)stream, sizeof(stream) - 1,
			    cuts, n, &data, &reply);
		check(&data, &reply);
		strbuf_release(&data);
		strbuf_release(&reply);
	}
}

/* Every split point of IAC IAC, IAC DO x and an SB across two reads. */
static void test_telnet_split_sequences(void **state)
{
	static const char *const cases[][3] = {
		/* input, data out, reply */
		{ "ab" IAC IAC "cd", "ab\xff" "cd", "" },
		{ "ab" IAC DO "\x2c" "cd", "abcd", IAC WILL "\x2c" },
		{ "a" IAC SB "\x2c\x01" IAC IAC IAC SE "b", "ab", "" },
		{ "a" IAC SB "\x2c\x01" IAC WILL "\x01" "b", "ab", IAC DONT "\x01" },
		{ IAC IAC IAC IAC, "\xff\xff", "" },
	};
	size_t c;

	(void)state;
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		size_t n = strlen(cases[c][0]), cut;

		for (cut = 0; cut <= n; cut++) {
			struct strbuf data = STRBUF_INIT, reply = STRBUF_INIT;
			size_t cuts[1] = { cut };

			parse_split((const unsigned char *)cases[c][0], n, cuts, 1,
				    &data, &reply);
			assert_string_equal(strbuf_str(&data), cases[c][1]);
			assert_string_equal(strbuf_str(&reply), cases[c][2]);
			strbuf_release(&data);
			strbuf_release(&reply);
		}
	}
}

/* RFC 1143: answer state changes only, so the two sides never loop. */
static void test_telnet_no_loops(void **state)
{
	static const char in[] =
		IAC DO "\x2c" IAC DO "\x2c" IAC DONT "\x2c" IAC DONT "\x2c"
		IAC WILL "\x00" IAC WONT "\x00" IAC WONT "\x00"
		IAC DONT "\x05" IAC WONT "\x05" IAC DO "\x05" IAC DO "\x05";
	static const char want[] =
		IAC WILL "\x2c" IAC WONT "\x2c"
		IAC DO "\x00" IAC DONT "\x00"
		IAC WONT "\x05";
	struct strbuf data = STRBUF_INIT, reply = STRBUF_INIT;

	(void)state;
	parse_split((const unsigned char *)in, sizeof(in) - 1, NULL, 0, &data,
		    &reply);
	assert_int_equal(data.len, 0);
	assert_int_equal(reply.len, sizeof(want) - 1);
	assert_memory_equal(reply.buf, want, reply.len);
	strbuf_release(&data);
	strbuf_release(&reply);
}

/* A long SB is consumed whole even past what is kept of it. */
static void test_telnet_long_sb(void **state)
{
	struct strbuf in = STRBUF_INIT, data = STRBUF_INIT, reply = STRBUF_INIT;
	int i;

	(void)state;
	strbuf_addstr(&in, "x" IAC SB "\x2c");
	for (i = 0; i < 1000; i++)
		strbuf_addch(&in, (char)(i % 200 + 1));
	strbuf_addstr(&in, IAC SE "y");
	{
		struct telnet_parser p;
		unsigned char *buf = (unsigned char *)in.buf;
		size_t k;

		telnet_parser_init(&p);
		k = telnet_parse(&p, buf, in.len, buf, &reply);
		strbuf_add(&data, buf, k);
		assert_int_equal(p.sb_len, TELNET_SB_MAX);
	}
	assert_string_equal(strbuf_str(&data), "xy");
	assert_int_equal(reply.len, 0);
	strbuf_release(&in);
	strbuf_release(&data);
	strbuf_release(&reply);
}

/* All 256 byte values survive escape + parse. */
static void test_telnet_escape_roundtrip(void **state)
{
	struct strbuf esc = STRBUF_INIT, reply = STRBUF_INIT;
	unsigned char all[256], out[600];
	struct telnet_parser p;
	size_t k;
	int i;

	(void)state;
	for (i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	telnet_escape(&esc, all, sizeof(all));
	assert_int_equal(esc.len, 257);
	telnet_parser_init(&p);
	memcpy(out, esc.buf, esc.len);
	k = telnet_parse(&p, out, esc.len, out, &reply);
	assert_int_equal(k, 256);
	assert_memory_equal(out, all, 256);
	assert_int_equal(reply.len, 0);
	strbuf_release(&esc);
	strbuf_release(&reply);
}

static void test_table(void **state)
{
	static const char *const names[] = {
		"qemu", "tty", "tcp", "telnet", "cmd", "ipmi-sol", "amt-sol"
	};
	size_t i;

	(void)state;
	assert_int_equal(console_drivers_selftest(), 0);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_non_null(console_find_driver(names[i]));
}

static int open_with(const char *driver, const char *k1, const char *v1,
		     const char *k2, const char *v2)
{
	struct lab_param p[2] = { { k1, v1 }, { k2, v2 } };
	struct console_config cfg = {
		.driver = driver,
		.params = p,
		.nparams = k2 ? 2 : k1 ? 1 : 0,
		.connect_timeout_ms = 2000,
	};
	struct console *con = NULL;
	int ret = console_open(&con, &cfg);

	console_close(con);
	return ret;
}

#define assert_err(ret, code, text)                                         \
	do {                                                                \
		int r_ = (ret);                                             \
		assert_int_equal(r_, -(code));                              \
		if (!strstr(lab_errmsg(r_), text))                          \
			fail_msg("message '%s' lacks '%s'", lab_errmsg(r_), \
				 text);                                     \
	} while (0)

static void test_bad_config(void **state)
{
	(void)state;
	assert_err(open_with("tcp", NULL, NULL, NULL, NULL), LAB_ECONFIG,
		   "needs host and port");
	assert_err(open_with("telnet", "host", "127.0.0.1", "port", "0"),
		   LAB_ECONFIG, "not a TCP port");
	assert_err(open_with("tcp", "host", "127.0.0.1", "device", "/x"),
		   LAB_ECONFIG, "takes no key 'device'");
	assert_err(open_with("tty", NULL, NULL, NULL, NULL), LAB_ECONFIG,
		   "needs device");
	assert_err(open_with("tty", "device", "/nonexistent/ttyUSB9", NULL, NULL),
		   LAB_ENOENT, "no serial device /nonexistent/ttyUSB9");
	assert_err(open_with("tty", "device", "/dev/null", NULL, NULL),
		   LAB_ECONFIG, "not a terminal");
	assert_err(open_with("tty", "device", "/dev/null", "baud", "fast"),
		   LAB_ECONFIG, "baud 'fast'");
	assert_err(open_with("cmd", NULL, NULL, NULL, NULL), LAB_ECONFIG,
		   "needs command");
	assert_err(open_with("cmd", "command", "   ", NULL, NULL), LAB_ECONFIG,
		   "command is empty");
	assert_err(open_with("cmd", "command", "/nonexistent/prog -x", NULL, NULL),
		   LAB_ENOENT, "cannot run /nonexistent/prog");
	assert_err(open_with("ipmi-sol", "port", "623", NULL, NULL), LAB_ECONFIG,
		   "ipmi-sol needs host");
	assert_err(open_with("ipmi-sol", "host", "bmc", "baud", "9600"),
		   LAB_ECONFIG, "takes no key 'baud'");
	assert_err(open_with("amt-sol", "user", "admin", NULL, NULL), LAB_ECONFIG,
		   "amt-sol needs host");
	assert_err(open_with("amt-sol", "host", "h", "password_file",
			     "/nonexistent/pw"), LAB_ENOENT,
		   "cannot open password_file /nonexistent/pw");
	assert_err(open_with("tcp", "host", "h", "reconnect", "often"),
		   LAB_ECONFIG, "reconnect = often: want yes or no");
	assert_err(open_with("tcp", "backoff_min", "1s", "backoff_max", "10ms"),
		   LAB_ECONFIG, "backoff_max (10 ms) is shorter than backoff_min");
	assert_err(open_with("cmd", "command", "true", "backoff_max", "0s"),
		   LAB_ECONFIG, "backoff_max = 0s");
}

/* Reconnect: the link callbacks, one fd throughout, nothing repeated. */
struct link_log {
	int lost, back;
	char reason[128];
};

static void link_cb(void *arg, bool up, const char *reason)
{
	struct link_log *l = arg;

	if (up) {
		l->back++;
	} else {
		l->lost++;
		snprintf(l->reason, sizeof(l->reason), "%s", reason);
	}
}

static void test_reconnect(void **state)
{
	struct lab_param p[4] = {
		{ "command", "printf ab" }, { "reconnect", "yes" },
		{ "backoff_min", "20ms" }, { "backoff_max", "40ms" },
	};
	struct link_log log = { 0 };
	struct console_config cfg = {
		.driver = "cmd", .params = p, .nparams = 4,
		.on_link = link_cb, .link_arg = &log,
	};
	struct strbuf got = STRBUF_INIT;
	struct console *con;
	int fd, i;
	char buf[64];

	(void)state;
	assert_int_equal(console_open(&con, &cfg), 0);
	fd = console_fd(con);
	assert_true(console_is_up(con));
	for (i = 0; i < 4000 && got.len < 6; i++) {
		struct pollfd pfd = { console_fd(con), POLLIN, 0 };
		ssize_t n;

		assert_int_equal(console_fd(con), fd);	/* stable */
		poll(&pfd, 1, 5);
		n = console_read(con, buf, sizeof(buf));
		assert_true(n > 0 || n == -LAB_EBUSY);	/* never the end */
		if (n > 0)
			strbuf_add(&got, buf, (size_t)n);
	}
	/* the command ran three times: its output three times, in order */
	assert_string_equal(strbuf_str(&got), "ababab");
	assert_true(log.lost >= 2);
	assert_true(log.back >= 2);
	assert_true(log.lost - log.back <= 1);
	assert_string_equal(log.reason, "the connection ended");
	assert_int_equal(console_send_break(con), -LAB_EINVAL);	/* cmd has none */
	console_close(con);
	strbuf_release(&got);
}

/* cmd: the output of a command, to its end. */
static void test_cmd_output(void **state)
{
	struct lab_param p = { "command", "printf a%sb\\n x y" };
	struct console_config cfg = { .driver = "cmd", .params = &p, .nparams = 1 };
	struct strbuf got = STRBUF_INIT;
	struct console *con;
	char buf[64];
	int i;

	(void)state;
	assert_int_equal(console_open(&con, &cfg), 0);
	for (i = 0; i < 2000; i++) {
		ssize_t n = console_read(con, buf, sizeof(buf));

		if (n == 0)
			break;
		if (n == -LAB_EBUSY) {
			struct timespec ts = { 0, 1000000 };

			nanosleep(&ts, NULL);
			continue;
		}
		assert_true(n > 0);
		strbuf_add(&got, buf, (size_t)n);
	}
	/* printf's argv: no shell, so the backslash is printf's to read */
	assert_string_equal(strbuf_str(&got), "axb\nayb\n");
	assert_int_equal(console_write(con, "x", 1), -LAB_EINVAL);
	console_close(con);
	strbuf_release(&got);
}

/* ------------------------------------------------------------ labctl log */

static const char *strip(const char *in, size_t cut)
{
	static struct strbuf out;
	struct log_ansi st = { 0 };
	size_t n = strlen(in);

	strbuf_reset(&out);
	if (cut > n)
		cut = n;
	log_strip_ansi(&st, in, cut, &out);
	log_strip_ansi(&st, in + cut, n - cut, &out);
	return strbuf_str(&out);
}

static void test_log_strip_ansi(void **state)
{
	static const char *const cases[][2] = {
		{ "\x1b[H\x1b[J\x1b[1;1Hlabctl-grub: default=XMHF-lhv\r\n",
		  "labctl-grub: default=XMHF-lhv\n" },
		{ "\r\x1b[H\x1b[J\x1b[1;1H  Booting `XMHF-lhv'\r\n",
		  "  Booting `XMHF-lhv'\n" },
		{ "a\x1b[0;30;47mb\x1b[0mc", "abc" },
		{ "x\x1b]0;title\x07y", "xy" },
		{ "x\x1b]8;;http://a\x1b\\link\x1b]8;;\x1b\\y", "xlinky" },
		{ "x\x1bPq#0;2;0;0;0\x1b\\y", "xy" },
		{ "\x1b" "7saved\x1b" "8\x1b(B!", "saved!" },
		{ "\x1b[?25l\x1b[?25hz", "z" },
		{ "plain text, no escapes\n", "plain text, no escapes\n" },
		{ "progress 10%\rprogress 20%\r\n", "progress 10%progress 20%\n" },
		{ "\x1b]unterminated\nnext\n", "\nnext\n" },
	};
	size_t c, cut;

	(void)state;
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
		for (cut = 0; cut <= strlen(cases[c][0]); cut++)
			assert_string_equal(strip(cases[c][0], cut), cases[c][1]);
}

static void test_log_offsets(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	enum log_ts_mode m;

	(void)state;
	log_format_offset(&sb, 12345678901LL);
	assert_string_equal(sb.buf, "[   12.345678] ");
	strbuf_reset(&sb);
	log_format_offset(&sb, 0);
	assert_string_equal(sb.buf, "[    0.000000] ");
	strbuf_reset(&sb);
	log_format_offset(&sb, 999999);	/* truncated like dmesg */
	assert_string_equal(sb.buf, "[    0.000999] ");
	strbuf_reset(&sb);
	log_format_offset(&sb, -1500000LL);
	assert_string_equal(sb.buf, "[   -0.001500] ");
	strbuf_reset(&sb);
	log_format_offset(&sb, 123456000000000LL);
	assert_string_equal(sb.buf, "[123456.000000] ");
	strbuf_release(&sb);

	assert_int_equal(log_parse_ts_mode(NULL, &m), 0);
	assert_int_equal(m, LOG_TS_OFFSET);
	assert_int_equal(log_parse_ts_mode("wall", &m), 0);
	assert_int_equal(m, LOG_TS_WALL);
	assert_int_equal(log_parse_ts_mode("delta", &m), 0);
	assert_int_equal(m, LOG_TS_DELTA);
	assert_int_equal(log_parse_ts_mode("foo", &m), -LAB_EINVAL);
	assert_int_equal(log_parse_ts_mode("", &m), -LAB_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_telnet_whole),
		cmocka_unit_test(test_telnet_byte_by_byte),
		cmocka_unit_test(test_telnet_random_splits),
		cmocka_unit_test(test_telnet_split_sequences),
		cmocka_unit_test(test_telnet_no_loops),
		cmocka_unit_test(test_telnet_long_sb),
		cmocka_unit_test(test_telnet_escape_roundtrip),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_cmd_output),
		cmocka_unit_test(test_reconnect),
		cmocka_unit_test(test_log_strip_ansi),
		cmocka_unit_test(test_log_offsets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
