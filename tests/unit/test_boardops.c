// SPDX-License-Identifier: MIT
/*
 * Unit tests of the board interface (labctl/boardops.c): the table and
 * its self-test, the one place a lab's board type is looked up (every
 * type the schema allows has an entry and the other way round), an
 * unknown type refused before anything is touched, the type's own
 * drivers as the lab's defaults, and the virtual board's state lock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "labctl/board_virtual.h"
#include "labctl/boardops.h"
#include "labctl/labconf.h"
#include "labctl/labpower.h"
#include "lib/err.h"
#include "lib/xmalloc.h"
#include "testutil.h"

static struct lab *parse(const char *text)
{
	struct lab *lab = NULL;

	assert_int_equal(lab_parse("labs/t.conf", text, strlen(text), &lab), 0);
	return lab;
}

static void test_selftest(void **state)
{
	(void)state;
	assert_int_equal(board_types_selftest(), 0);
}

static void test_find(void **state)
{
	(void)state;
	assert_ptr_equal(board_ops_find("qemu"), &qemu_board_ops);
	assert_ptr_equal(board_ops_find("pc"), &pc_board_ops);
	assert_ptr_equal(board_ops_find("laptop"), &laptop_board_ops);
	assert_true(qemu_board_ops.is_virtual);
	assert_false(pc_board_ops.is_virtual);
	/* Exact names only. */
	assert_null(board_ops_find("QEMU"));
	assert_null(board_ops_find("qemu "));
	assert_null(board_ops_find(""));
	assert_null(board_ops_find(NULL));
	assert_null(board_ops_find("no-such-board"));
}

/* The schema's board.type choices and the table are the same set. */
static void test_schema_and_table_agree(void **state)
{
	const struct lab_key_def *d;
	char *choices = NULL, *w, *save = NULL;
	int i, n = 0;

	(void)state;
	for (d = lab_schema; d->key; d++)
		if (!strcmp(d->section, "board") && !strcmp(d->key, "type"))
			choices = xstrdup(d->choices);
	assert_non_null(choices);
	for (w = strtok_r(choices, "|", &save); w; w = strtok_r(NULL, "|", &save)) {
		if (!board_ops_find(w))
			fail_msg("board.type %s has no entry in board_types[]", w);
		n++;
	}
	free(choices);
	for (i = 0; board_types[i]; i++) {
		char needle[64];

		snprintf(needle, sizeof(needle), "|%s|", board_types[i]->type);
		for (d = lab_schema; d->key; d++) {
			char *hay;

			if (strcmp(d->section, "board") || strcmp(d->key, "type"))
				continue;
			hay = xasprintf("|%s|", d->choices);
			if (!strstr(hay, needle))
				fail_msg("board type %s is not a board.type choice",
					 board_types[i]->type);
			free(hay);
		}
	}
	assert_int_equal(i, n);
}

/* board_ops_of is the one lookup: the lab's drivers default from it. */
static void test_of_lab(void **state)
{
	struct lab *q = parse("[board]\ntype = qemu\n");
	struct lab *d = parse("[variant a]\n");
	struct lab *p = parse("[board]\ntype = pc\nhost = b1\n");

	(void)state;
	assert_ptr_equal(board_ops_of(q), &qemu_board_ops);
	assert_ptr_equal(board_ops_of(d), &qemu_board_ops);	/* the default */
	assert_ptr_equal(board_ops_of(p), &pc_board_ops);
	assert_string_equal(lab_power_driver(q), qemu_board_ops.power_driver);
	assert_string_equal(lab_get(q, "console", "driver"),
			    qemu_board_ops.console_driver);
	assert_string_equal(lab_get(q, "deploy", "method"), "image");
	assert_null(lab_power_driver(p));
	assert_null(lab_get(p, "console", "driver"));
	assert_string_equal(lab_get(p, "deploy", "method"), "sftp");
	assert_true(board_is_remote(p));
	assert_false(board_is_remote(q));
	lab_free(q);
	lab_free(d);
	lab_free(p);
}

/* A type the table does not have: refused, nothing opened or leased. */
static void test_unknown_type(void **state)
{
	struct lab *lab = parse("[board]\ntype = qemu\n");
	struct lease_take_opts lo = { 0 };
	struct board b;
	int ret;

	(void)state;
	/* The loader refuses it; the resolved field is what is looked up. */
	lab->board.type = "abacus";
	assert_null(board_ops_of(lab));
	ret = lab_board_open(&b, lab, &lo, NULL);
	assert_int_equal(ret, -LAB_ECONFIG);
	assert_contains(lab_errmsg(ret), "unknown board type 'abacus'");
	assert_false(b.bs.leased);
	assert_null(b.priv);
	lab_board_close(&b);
	lab_free(lab);
}

/* A virtual board's state is one user's at a time. */
static void test_vboard_lock(void **state)
{
	char dir[] = "/tmp/labctl-boardops-ut.XXXXXX";
	struct lab *lab = parse("[board]\ntype = qemu\n");
	struct board a, b;
	int ret;

	(void)state;
	assert_non_null(mkdtemp(dir));
	setenv("LABCTL_STATE_DIR", dir, 1);
	assert_int_equal(lab_board_open(&a, lab, NULL, NULL), 0);
	assert_non_null(vboard_of(&a));
	assert_contains(vboard_of(&a)->disk, dir);
	ret = lab_board_open(&b, lab, NULL, NULL);
	assert_int_equal(ret, -LAB_EBUSY);
	assert_contains(lab_errmsg(ret), "is in use by another labctl");
	lab_board_close(&b);
	lab_board_close(&a);
	/* Closed: free again. */
	assert_int_equal(lab_board_open(&b, lab, NULL, NULL), 0);
	lab_board_close(&b);
	unsetenv("LABCTL_STATE_DIR");
	test_rm_tree(dir);
	lab_free(lab);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selftest),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_schema_and_table_agree),
		cmocka_unit_test(test_of_lab),
		cmocka_unit_test(test_unknown_type),
		cmocka_unit_test(test_vboard_lock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
