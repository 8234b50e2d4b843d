// SPDX-License-Identifier: MIT
/*
 * The command line's shared pieces: cmd_getopt (options as git and
 * coreutils parse them), the verb suggestions of a mistyped command, and
 * lib/color's modes (NO_COLOR, a terminal or not).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <fcntl.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "labctl/labctl.h"
#include "lib/color.h"
#include "lib/strbuf.h"

enum { OPT_STAGE = CMD_OPT_LONG, OPT_RESULTS, OPT_STRIP };

static const struct option options[] = {
	{ "ignore-case", no_argument, NULL, 'i' },
	{ "extended-regexp", no_argument, NULL, 'E' },
	{ "unified", required_argument, NULL, 'U' },
	{ "stage", required_argument, NULL, OPT_STAGE },
	{ "results", required_argument, NULL, OPT_RESULTS },
	{ "strip-ansi", no_argument, NULL, OPT_STRIP },
	{ NULL, 0, NULL, 0 }
};

/*
 * Parse words (argv[0] "grep") into a trace such as "i E U=5 |x| |y|":
 * options by their short letter or long name, operands between bars,
 * "BAD" where the parser refused and stopped.
 */
static void trace(const char *const *words, struct strbuf *out)
{
	char *argv[16];
	struct cmd_getopt g;
	int argc = 0, c;

	for (; words[argc] && argc < 15; argc++)
		argv[argc] = strdup(words[argc]);
	argv[argc] = NULL;
	strbuf_reset(out);
	cmd_getopt_init(&g, "grep", argc, argv, options);
	while ((c = cmd_getopt_next(&g)) != -1) {
		if (out->len)
			strbuf_addch(out, ' ');
		if (c == CMD_OPERAND)
			strbuf_addf(out, "|%s|", g.arg);
		else if (c == CMD_OPT_BAD) {
			strbuf_addstr(out, "BAD");
			break;
		} else if (c == OPT_STAGE)
			strbuf_addf(out, "stage=%s", g.arg);
		else if (c == OPT_RESULTS)
			strbuf_addf(out, "results=%s", g.arg);
		else if (c == OPT_STRIP)
			strbuf_addstr(out, "strip");
		else if (g.arg)
			strbuf_addf(out, "%c=%s", c, g.arg);
		else
			strbuf_addf(out, "%c", c);
	}
	while (argc > 0)
		free(argv[--argc]);
}

#define W(...) ((const char *const[]){ "grep", __VA_ARGS__, NULL })

static void test_getopt_forms(void **state)
{
	struct strbuf t = STRBUF_INIT;

	(void)state;
	trace(W("-iE", "pat", "r1"), &t);
	assert_string_equal(t.buf, "i E |pat| |r1|");
	trace(W("pat", "-U5", "r1", "-U", "7", "--unified=9"), &t);
	assert_string_equal(t.buf, "|pat| U=5 |r1| U=7 U=9");
	trace(W("--stage=0", "--stage", "2", "--res", "d", "--strip"), &t);
	assert_string_equal(t.buf, "stage=0 stage=2 results=d strip");
	/* "--" ends options; "-" alone is an operand; order is kept. */
	trace(W("a", "--", "-i", "--stage", "-"), &t);
	assert_string_equal(t.buf, "|a| |-i| |--stage| |-|");
	trace(W("-", "b"), &t);
	assert_string_equal(t.buf, "|-| |b|");
	/* A value may start with "-" (the next word is taken whole). */
	trace(W("--stage", "-1"), &t);
	assert_string_equal(t.buf, "stage=-1");
	strbuf_release(&t);
}

static void test_getopt_posixly_correct(void **state)
{
	struct strbuf t = STRBUF_INIT;

	(void)state;
	/* Options after operands still count, whatever the environment. */
	setenv("POSIXLY_CORRECT", "1", 1);
	trace(W("pat", "-i", "r1"), &t);
	unsetenv("POSIXLY_CORRECT");
	assert_string_equal(t.buf, "|pat| i |r1|");
	strbuf_release(&t);
}

static void test_getopt_errors(void **state)
{
	struct strbuf t = STRBUF_INIT;

	(void)state;
	trace(W("--frob", "x"), &t);
	assert_string_equal(t.buf, "BAD");
	trace(W("-iZ"), &t);
	assert_string_equal(t.buf, "i BAD");
	trace(W("x", "--stage"), &t);
	assert_string_equal(t.buf, "|x| BAD");
	trace(W("-U"), &t);
	assert_string_equal(t.buf, "BAD");
	trace(W("--strip-ansi=yes"), &t);
	assert_string_equal(t.buf, "BAD");
	trace(W("--st", "1"), &t);	/* --stage or --strip-ansi */
	assert_string_equal(t.buf, "BAD");
	/* Parsing again starts over: no state left from the last refusal. */
	trace(W("-i", "x"), &t);
	assert_string_equal(t.buf, "i |x|");
	strbuf_release(&t);
}

/* Parse argv with extra short options; the first value or "BAD". */
static const char *parse_short(int argc, char **argv, const char *shortopts,
			       char *buf, size_t size)
{
	static const struct option none[] = { { NULL, 0, NULL, 0 } };
	struct cmd_getopt g;
	int c;

	cmd_getopt_init(&g, "run", argc, argv, none);
	if (shortopts)
		cmd_getopt_short(&g, shortopts);
	buf[0] = '\0';
	while ((c = cmd_getopt_next(&g)) != -1) {
		if (c == CMD_OPT_BAD)
			return "BAD";
		if (c == 'j')
			snprintf(buf + strlen(buf), size - strlen(buf), "j=%s ",
				 g.arg);
	}
	return buf;
}

/* A short option without a long name (run's -j): only where asked for. */
static void test_getopt_short(void **state)
{
	char *argv[] = { (char *)"run", (char *)"-j4", (char *)"-j",
			 (char *)"5", NULL };
	char buf[64];

	(void)state;
	assert_string_equal(parse_short(4, argv, "j:", buf, sizeof(buf)),
			    "j=4 j=5 ");
	assert_string_equal(parse_short(4, argv, NULL, buf, sizeof(buf)), "BAD");
}

/* A sub-command's words: its name leads the message. */
static void test_getopt_what(void **state)
{
	static const struct option set_opts[] = {
		{ "deploy", no_argument, NULL, CMD_OPT_LONG },
		{ NULL, 0, NULL, 0 }
	};
	char *argv[] = { (char *)"set", (char *)"--deploy=yes", NULL };
	char path[] = "/tmp/test_cmdopt-XXXXXX";
	struct strbuf text = STRBUF_INIT;
	struct cmd_getopt g;
	int fd = mkstemp(path), saved;

	(void)state;
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	cmd_getopt_init(&g, "chain", 2, argv, set_opts);
	g.what = "set: ";
	assert_int_equal(cmd_getopt_next(&g), CMD_OPT_BAD);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	assert_int_equal(strbuf_read_file(&text, path, 1 << 16), 0);
	unlink(path);
	assert_non_null(strstr(strbuf_str(&text),
			       "labctl chain: set: option '--deploy' takes no value"));
	strbuf_release(&text);
}

static void test_suggest(void **state)
{
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	cmd_suggest_command("reslts", &sb);
	assert_string_equal(sb.buf, "did you mean 'results'?");
	strbuf_reset(&sb);
	cmd_suggest_command("lgo", &sb);	/* a swap costs nothing */
	assert_string_equal(sb.buf, "did you mean 'log'?");
	strbuf_reset(&sb);
	cmd_suggest_command("loc", &sb);	/* a prefix of two */
	assert_string_equal(sb.buf, "did you mean 'lock' or 'locks'?");
	strbuf_reset(&sb);
	cmd_suggest_command("optbisect", &sb);
	assert_string_equal(sb.buf, "did you mean 'opt-bisect'?");
	strbuf_reset(&sb);
	cmd_suggest_command("frobnicate", &sb);
	assert_int_equal(sb.len, 0);
	cmd_suggest_command("", &sb);
	assert_int_equal(sb.len, 0);
	strbuf_release(&sb);
}

static void test_color_modes(void **state)
{
	enum color_mode m;
	int master, slave;
	FILE *tty, *mem;
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(color_parse_mode("auto", &m), 0);
	assert_int_equal(m, COLOR_AUTO);
	assert_int_equal(color_parse_mode(NULL, &m), 0);	/* bare --color */
	assert_int_equal(m, COLOR_ALWAYS);
	assert_int_equal(color_parse_mode("never", &m), 0);
	assert_int_equal(m, COLOR_NEVER);
	assert_int_equal(color_parse_mode("sometimes", &m), -1);

	assert_int_equal(openpty(&master, &slave, NULL, NULL, NULL), 0);
	tty = fdopen(slave, "w");
	mem = open_memstream(&buf, &len);
	assert_non_null(tty);
	assert_non_null(mem);
	setenv("TERM", "xterm", 1);
	unsetenv("NO_COLOR");
	color_set_mode(COLOR_AUTO);
	assert_true(color_enabled(tty));
	assert_false(color_enabled(mem));	/* not a terminal */
	assert_string_equal(color_on(tty, COLOR_FAIL), "\033[1;31m");
	assert_string_equal(color_off(tty), "\033[m");
	assert_string_equal(color_on(mem, COLOR_FAIL), "");
	assert_string_equal(color_off(mem), "");
	setenv("NO_COLOR", "1", 1);
	assert_false(color_enabled(tty));
	color_set_mode(COLOR_ALWAYS);	/* the flag beats the variable */
	assert_true(color_enabled(mem));
	color_set_mode(COLOR_NEVER);
	unsetenv("NO_COLOR");
	assert_false(color_enabled(tty));
	color_set_mode(COLOR_AUTO);
	setenv("TERM", "dumb", 1);
	assert_false(color_enabled(tty));
	assert_string_equal(color_sgr(COLOR_PASS), "\033[32m");
	fclose(tty);
	fclose(mem);
	free(buf);
	close(master);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_getopt_forms),
		cmocka_unit_test(test_getopt_posixly_correct),
		cmocka_unit_test(test_getopt_errors),
		cmocka_unit_test(test_getopt_short),
		cmocka_unit_test(test_getopt_what),
		cmocka_unit_test(test_suggest),
		cmocka_unit_test(test_color_modes),
	};

	/* cmd_getopt's usage errors go to stderr, not into the TAP. */
	if (!freopen("/dev/null", "w", stderr))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
