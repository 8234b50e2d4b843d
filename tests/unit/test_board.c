// SPDX-License-Identifier: MIT
/*
 * Unit tests of the real-board layer that need no board: the lease script
 * (run for real by sh in a temp dir, the way labctl runs it locally),
 * its answer parser, and the grub.cfg entry finder.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "labctl/board.h"
#include "labctl/lease.h"
#include "lib/spawn.h"
#include "lib/strbuf.h"

static char dir[220];

/* Run the lease script: OP OWNER TOKEN PID TTL FLAGS STALE; the status word. */
static const char *lease(const char *op, const char *owner, const char *token,
			 const char *pid, const char *ttl, const char *flags,
			 const char *stale, struct lease_info *info)
{
	static char status[32];
	const char *argv[] = { "sh", "-c", lease_script, "labctl-lease", op,
			       dir, "b1", owner, token, pid, ttl, flags, stale,
			       NULL };
	struct strbuf out = STRBUF_INIT;
	struct spawn_opts so = { 0 };
	struct spawn_result res;
	const char *st;

	so.out = &out;
	so.timeout_ms = 10000;
	assert_int_equal(lab_spawn(argv, &so, &res), 0);
	st = lease_parse_answer(strbuf_str(&out), info, status, sizeof(status));
	assert_non_null(st);
	strbuf_release(&out);
	return status;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/labctl-lease-ut.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[256];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%.200s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_lease_script(void **state)
{
	struct lease_info i;
	char path[220];
	struct stat st;

	(void)state;
	assert_string_equal(lease("show", "a@h", "t1", "1", "60", "", "", &i), "free");
	assert_false(i.held);
	/* Take; a second owner is refused and told who holds it. */
	assert_string_equal(lease("take", "a@h", "t1", "11", "60", "a", "", &i), "ok");
	assert_true(i.expires - i.start == 60);
	assert_string_equal(lease("take", "b@h", "t2", "22", "60", "a", "", &i), "held");
	assert_string_equal(i.owner, "a@h");
	assert_int_equal(i.pid, 11);
	/* Renew keeps the start; someone else's renew is "lost". */
	assert_string_equal(lease("renew", "a@h", "t1", "11", "120", "", "", &i), "ok");
	assert_true(i.expires - i.start >= 120);
	assert_string_equal(lease("renew", "b@h", "t2", "22", "60", "", "", &i), "lost");
	assert_string_equal(i.owner, "a@h");
	/* Drop: only the holder (or force). */
	assert_string_equal(lease("drop", "b@h", "t2", "22", "60", "a", "", &i), "notmine");
	/* A stale token (a dead holder) counts as free. */
	assert_string_equal(lease("take", "b@h", "t2", "22", "60", "a", "t1", &i), "ok");
	assert_string_equal(i.owner, "b@h");
	/* Steal: taken, and the answer names the previous holder. */
	assert_string_equal(lease("take", "c@h", "t3", "33", "60", "sa", "", &i), "ok");
	assert_non_null(strstr(i.stolen_from, "b@h (pid 22"));
	assert_string_equal(lease("drop", "c@h", "t3", "33", "60", "a", "", &i), "ok");
	assert_string_equal(lease("show", "c@h", "t3", "33", "60", "", "", &i), "free");
	/* A manual lease (pid 0) is adopted by its owner's run, stays pid 0. */
	assert_string_equal(lease("take", "d@h", "m1", "0", "60", "a", "", &i), "ok");
	assert_string_equal(lease("take", "d@h", "r1", "44", "60", "a", "", &i), "ok");
	assert_true(i.adopted);
	assert_string_equal(i.token, "m1");
	assert_int_equal(i.pid, 0);
	assert_string_equal(lease("take", "e@h", "e1", "55", "60", "a", "", &i), "held");
	assert_string_equal(lease("drop", "x@h", "x", "1", "60", "f", "", &i), "ok");
	/* Expiry: a lease with ttl 0 is already over. */
	assert_string_equal(lease("take", "f@h", "f1", "66", "0", "a", "", &i), "ok");
	assert_string_equal(lease("take", "g@h", "g1", "77", "60", "a", "", &i), "ok");
	assert_string_equal(i.owner, "g@h");
	/* The directory is shared by every user of the board: sticky, 1777. */
	snprintf(path, sizeof(path), "%.200s/sub", dir);
	rmdir(path);
	{
		char *saved = strdup(dir);

		snprintf(dir, sizeof(dir), "%.200s", path);
		assert_string_equal(lease("show", "a@h", "t", "1", "1", "", "", &i), "free");
		snprintf(dir, sizeof(dir), "%s", saved);
		free(saved);
	}
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 01777);
}

static void test_lease_parse(void **state)
{
	struct lease_info i;
	char status[16];

	(void)state;
	assert_null(lease_parse_answer("owner=x\n", &i, status, sizeof(status)));
	assert_string_equal(lease_parse_answer("status=held\nowner=u@h\npid=7\nstart=100\nexpires=200\ntoken=abc\nnote=n\n",
					       &i, status, sizeof(status)), "held");
	assert_true(i.held);
	assert_string_equal(i.owner, "u@h");
	assert_int_equal(i.pid, 7);
	assert_int_equal(i.start, 100);
	assert_int_equal(i.expires, 200);
	assert_string_equal(i.token, "abc");
	/* An overlong value is cut, not overflowed. */
	{
		char big[600];

		memset(big, 'x', sizeof(big));
		memcpy(big, "status=ok\nowner=", 16);
		big[sizeof(big) - 1] = '\0';
		assert_non_null(lease_parse_answer(big, &i, status, sizeof(status)));
		assert_int_equal(strlen(i.owner), sizeof(i.owner) - 1);
	}
	assert_string_equal(lease_parse_answer("status=free\n", &i, status,
					       sizeof(status)), "free");
	assert_false(i.held);
}

static void test_cfg_entries(void **state)
{
	static const char cfg[] =
		"set default=0\n"
		"menuentry 'Debian GNU/Linux' --class debian --id 'gnulinux-simple-1234' {\n"
		"\tlinux /vmlinuz\n}\n"
		"submenu 'Advanced options' {\n"
		"  menuentry \"XMHF-build64\" {\n  multiboot /boot/xmhf/build64/init.bin\n  }\n}\n"
		"menuentry XMHF-build32 {\n}\n"
		"menuentry 'it'\\''s' {\n}\n"
		"# menuentry XMHF-commented {\n";

	(void)state;
	assert_true(board_cfg_has_entry(cfg, "Debian GNU/Linux"));
	assert_true(board_cfg_has_entry(cfg, "gnulinux-simple-1234"));
	assert_true(board_cfg_has_entry(cfg, "XMHF-build64"));
	assert_true(board_cfg_has_entry(cfg, "XMHF-build32"));
	assert_true(board_cfg_has_entry(cfg, "it's"));
	assert_false(board_cfg_has_entry(cfg, "XMHF-build32lhv"));
	assert_false(board_cfg_has_entry(cfg, "XMHF-commented"));
	assert_false(board_cfg_has_entry(cfg, "Debian"));
	assert_false(board_cfg_has_entry("", "x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lease_script, setup, teardown),
		cmocka_unit_test(test_lease_parse),
		cmocka_unit_test(test_cfg_entries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
