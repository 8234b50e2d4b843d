// SPDX-License-Identifier: MIT
/*
 * lib/stopsig: every stop signal (INT, TERM, HUP, QUIT) caught the same
 * way, nesting that keeps an earlier signal, nohup's ignored SIGHUP kept,
 * the old handlers restored, and the children's defaults.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "lib/stopsig.h"

static int handler_of(int sig, void (**h)(int))
{
	struct sigaction sa;

	if (sigaction(sig, NULL, &sa) < 0)
		return -1;
	*h = sa.sa_handler;
	return 0;
}

static bool pipe_ready(void)
{
	struct pollfd p = { lab_stop_pipe[0], POLLIN, 0 };

	return poll(&p, 1, 0) == 1;
}

static void test_every_stop_signal(void **state)
{
	struct lab_stop_saved s;
	void (*h)(int);
	int i;

	(void)state;
	for (i = 0; i < LAB_STOP_NSIGNALS; i++) {
		int sig = lab_stop_signals[i];

		assert_int_equal(lab_stop_catch(&s), 0);
		assert_int_equal(handler_of(sig, &h), 0);
		assert_true(h == lab_stop_handler);
		assert_int_equal(lab_stop_signal, 0);
		raise(sig);
		assert_int_equal(lab_stop_signal, sig);
		assert_true(pipe_ready());
		lab_stop_release(&s);
		assert_int_equal(handler_of(sig, &h), 0);
		assert_true(h == SIG_DFL);
		assert_int_equal(lab_stop_pipe[0], -1);
	}
	assert_string_equal(lab_stop_name(SIGHUP), "SIGHUP");
	assert_string_equal(lab_stop_name(SIGQUIT), "SIGQUIT");
	assert_string_equal(lab_stop_name(SIGKILL), "SIGKILL");
	assert_string_equal(lab_stop_name(SIGUSR1), "signal 10");
}

/* A bisect step's run inside the step: an earlier signal is not lost. */
static void test_nesting(void **state)
{
	struct lab_stop_saved outer, inner;
	int fd;

	(void)state;
	assert_int_equal(lab_stop_catch(&outer), 0);
	fd = lab_stop_pipe[0];
	raise(SIGTERM);
	assert_int_equal(lab_stop_catch(&inner), 0);
	assert_int_equal(lab_stop_signal, SIGTERM);
	assert_int_equal(lab_stop_pipe[0], fd);
	lab_stop_release(&inner);
	assert_int_equal(lab_stop_pipe[0], fd);	/* still the outer's */
	lab_stop_release(&outer);
	assert_int_equal(lab_stop_pipe[0], -1);
	lab_stop_release(&outer);	/* twice: harmless */
}

/* nohup: an ignored SIGHUP stays ignored; the others are caught. */
static void test_nohup(void **state)
{
	struct lab_stop_saved s;
	void (*h)(int);

	(void)state;
	signal(SIGHUP, SIG_IGN);
	assert_int_equal(lab_stop_catch(&s), 0);
	assert_int_equal(handler_of(SIGHUP, &h), 0);
	assert_true(h == SIG_IGN);
	raise(SIGHUP);
	assert_int_equal(lab_stop_signal, 0);
	assert_int_equal(handler_of(SIGQUIT, &h), 0);
	assert_true(h == lab_stop_handler);
	lab_stop_release(&s);
	assert_int_equal(handler_of(SIGHUP, &h), 0);
	assert_true(h == SIG_IGN);
	signal(SIGHUP, SIG_DFL);
}

/* A forked child starts afresh: defaults, and not its parent's pipe. */
static void test_child_defaults(void **state)
{
	struct lab_stop_saved s, again;
	void (*h)(int);
	int i;

	(void)state;
	assert_int_equal(lab_stop_catch(&s), 0);
	raise(SIGINT);
	lab_stop_default();
	for (i = 0; i < LAB_STOP_NSIGNALS; i++) {
		assert_int_equal(handler_of(lab_stop_signals[i], &h), 0);
		assert_true(h == SIG_DFL);
	}
	assert_int_equal(lab_stop_pipe[0], -1);
	assert_int_equal(lab_stop_signal, 0);
	assert_int_equal(lab_stop_catch(&again), 0);
	assert_true(again.outermost);
	lab_stop_release(&again);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_stop_signal),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_nohup),
		cmocka_unit_test(test_child_defaults),
	};

	return cmocka_run_group_tests_name("stopsig", tests, NULL, NULL);
}
