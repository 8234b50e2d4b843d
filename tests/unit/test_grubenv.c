// SPDX-License-Identifier: MIT
/* Unit tests for grubenv/envblk.c and grubenv/chain.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "grubenv/chain.h"
#include "grubenv/envblk.h"
#include "lib/err.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"

#define HDR ENVBLK_SIGNATURE ENVBLK_WARNING
#define HDR_LEN (ENVBLK_SIGNATURE_LEN + ENVBLK_WARNING_LEN)

/* A block of `size` bytes: text, then '#' up to the end. */
static struct envblk *blk_of(const char *text, size_t size)
{
	struct envblk *blk;
	char *data = xmalloc(size);
	size_t len = strlen(text);

	assert_true(len <= size);
	memcpy(data, text, len);
	memset(data + len, '#', size - len);
	assert_int_equal(envblk_parse(data, size, "test", &blk), 0);
	free(data);
	return blk;
}

/* The block's bytes up to the '#' run, as a string (for comparisons). */
static char *content(const struct envblk *blk)
{
	size_t n = blk->size - envblk_free_space(blk);

	return xstrndup(blk->buf, n);
}

static void assert_content(const struct envblk *blk, const char *want)
{
	char *got = content(blk);
	size_t i;

	assert_string_equal(got, want);
	for (i = strlen(want); i < blk->size; i++)
		assert_int_equal(blk->buf[i], '#');
	free(got);
}

/* ------------------------------------------------------------- create */

static void test_new_default(void **state)
{
	struct envblk *blk;

	(void)state;
	assert_int_equal(envblk_new(ENVBLK_DEFAULT_SIZE, &blk), 0);
	assert_int_equal(blk->size, 1024);
	assert_memory_equal(blk->buf, HDR, HDR_LEN);
	assert_int_equal(HDR_LEN, 94);
	assert_int_equal(envblk_free_space(blk), 930);
	assert_content(blk, HDR);
	assert_int_equal(envblk_check(blk, NULL), 0);
	envblk_free(blk);
}

static void test_new_sizes(void **state)
{
	static const size_t ok[] = { 94, 95, 512, 1000, 4097 };
	struct envblk *blk;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(envblk_new(ok[i], &blk), 0);
		assert_int_equal(blk->size, ok[i]);
		assert_int_equal(envblk_free_space(blk), ok[i] - 94);
		envblk_free(blk);
	}
	assert_int_equal(envblk_new(93, &blk), -LAB_EINVAL);
	assert_null(blk);
	assert_int_equal(envblk_new(ENVBLK_MAX_SIZE + 1, &blk), -LAB_EINVAL);
}

/* -------------------------------------------------------------- parse */

static void parse_fails(const void *data, size_t len, const char *msg_part)
{
	struct envblk *blk = (struct envblk *)1;

	assert_int_equal(envblk_parse(data, len, "F", &blk), -LAB_EFORMAT);
	assert_null(blk);
	if (!strstr(lab_errmsg(LAB_EFORMAT), msg_part))
		fail_msg("message '%s' lacks '%s'", lab_errmsg(LAB_EFORMAT),
			 msg_part);
}

static void test_parse_rejects(void **state)
{
	static const unsigned char elf[] = { 0x7f, 'E', 'L', 'F', 2, 1, 1, 0,
					     0, 0, 0, 0 };

	(void)state;
	parse_fails("", 0, "F is empty");
	parse_fails("# GRUB Env", 10, "truncated");
	/* The signature alone is too short for GRUB: it wants one more byte. */
	parse_fails(ENVBLK_SIGNATURE, 25, "truncated");
	parse_fails("hello world\nsecond line\n", 24,
		    "text that starts with \"hello world\\nsecond line\\n\"");
	parse_fails("# GRUB Environment Block\r\n#####", 31,
		    "text that starts with \"# GRUB Environment Block\\r\\n");
	parse_fails(elf, sizeof(elf), "binary data (12 bytes starting with 7f 45 4c 46 02 01 01 00 ...)");
	parse_fails("caf\xc3\xa9 ol\xc3\xa9", 10, "text that starts with \"caf\xc3\xa9 ol\xc3\xa9\"");
	parse_fails("bad \xff utf8", 10, "binary data");
}

static void test_parse_min(void **state)
{
	struct envblk *blk;

	(void)state;
	/* 26 bytes: GRUB accepts it; one free byte. */
	assert_int_equal(envblk_parse(ENVBLK_SIGNATURE "#", 26, NULL, &blk), 0);
	assert_int_equal(envblk_free_space(blk), 1);
	assert_int_equal(envblk_set(blk, "a", ""), -LAB_ENOSPC);
	envblk_free(blk);

	blk = blk_of(ENVBLK_SIGNATURE, 29);
	assert_int_equal(envblk_set(blk, "a", "b"), 0);
	assert_memory_equal(blk->buf, ENVBLK_SIGNATURE "a=b\n", 29);
	assert_int_equal(envblk_set(blk, "a", ""), 0);
	assert_memory_equal(blk->buf, ENVBLK_SIGNATURE "a=\n#", 29);
	envblk_free(blk);
}

/* ---------------------------------------------------------------- set */

static void test_set_escaping(void **state)
{
	struct envblk *blk = blk_of(HDR, 1024);
	char *v;

	(void)state;
	assert_int_equal(envblk_escaped_len("a\\b\nc"), 7);
	assert_int_equal(envblk_set(blk, "x", "1\\2\n3"), 0);
	/* Names are written as they are, even with a backslash or newline. */
	assert_int_equal(envblk_set(blk, "n\\m\no", "v=w"), 0);
	assert_content(blk, HDR "x=1\\\\2\\\n3\n" "n\\m\no=v=w\n");
	v = envblk_get(blk, "x");
	assert_string_equal(v, "1\\2\n3");
	free(v);
	v = envblk_get(blk, "n\\m\no");
	assert_string_equal(v, "v=w");
	free(v);
	assert_null(envblk_get(blk, "o"));
	envblk_free(blk);
}

static void test_set_in_place(void **state)
{
	struct envblk *blk = blk_of(HDR "a=1\nbb=22\nc=3\n", 200);

	(void)state;
	/* Grow: what follows moves right, order kept. */
	assert_int_equal(envblk_set(blk, "bb", "22222"), 0);
	assert_content(blk, HDR "a=1\nbb=22222\nc=3\n");
	/* Shrink: what follows moves left, '#' fills the end. */
	assert_int_equal(envblk_set(blk, "a", ""), 0);
	assert_content(blk, HDR "a=\nbb=22222\nc=3\n");
	/* Same length. */
	assert_int_equal(envblk_set(blk, "c", "9"), 0);
	assert_content(blk, HDR "a=\nbb=22222\nc=9\n");
	/* Escaped values grow by the escapes. */
	assert_int_equal(envblk_set(blk, "a", "\n"), 0);
	assert_content(blk, HDR "a=\\\n\nbb=22222\nc=9\n");
	assert_int_equal(envblk_set(blk, "d", "4"), 0);
	assert_content(blk, HDR "a=\\\n\nbb=22222\nc=9\nd=4\n");
	envblk_free(blk);
}

static void test_set_match_rules(void **state)
{
	struct envblk *blk = blk_of(HDR "ab=1\na=2\na=3\n#a=4\n", 300);
	char *v;

	(void)state;
	/* "a" is not "ab": a name matches only when '=' follows. */
	assert_int_equal(envblk_set(blk, "a", "X"), 0);
	/* The first of two records changes; GRUB's load_env reads the last. */
	assert_content(blk, HDR "ab=1\na=X\na=3\n#a=4\n");
	v = envblk_get(blk, "a");
	assert_string_equal(v, "3");
	free(v);
	/* A line starting with '#' is a comment for GRUB, yet set matches it. */
	assert_int_equal(envblk_set(blk, "#a", "5"), 0);
	assert_content(blk, HDR "ab=1\na=X\na=3\n#a=5\n");
	assert_null(envblk_get(blk, "#a"));
	/* An escaped newline does not start a new line for matching. */
	envblk_free(blk);
	blk = blk_of(HDR "x=a\\\nb=1\n", 300);
	assert_int_equal(envblk_set(blk, "b", "2"), 0);
	assert_content(blk, HDR "x=a\\\nb=1\nb=2\n");
	envblk_free(blk);
	/* The empty name matches a line starting with '='. */
	blk = blk_of(HDR "=e\n", 300);
	assert_int_equal(envblk_set(blk, "", "f"), 0);
	assert_content(blk, HDR "=f\n");
	envblk_free(blk);
}

static void test_set_too_small(void **state)
{
	struct envblk *blk = blk_of(HDR "a=12\n", 94 + 5 + 6);
	char before[200];

	(void)state;
	memcpy(before, blk->buf, blk->size);
	assert_int_equal(envblk_free_space(blk), 6);
	/* "bc=" + 3 escaped bytes + "\n" = 7 > 6 */
	assert_int_equal(envblk_set(blk, "bc", "x\\"), -LAB_ENOSPC);
	assert_memory_equal(blk->buf, before, blk->size);
	assert_non_null(strstr(lab_errmsg(LAB_ENOSPC),
			       "environment block too small"));
	/* Growing a record by 7 with 6 free fails too. */
	assert_int_equal(envblk_set(blk, "a", "12abcdefg"), -LAB_ENOSPC);
	assert_memory_equal(blk->buf, before, blk->size);
	/* Exactly filling the block works, and leaves no '#'. */
	assert_int_equal(envblk_set(blk, "a", "12345678"), 0);
	assert_memory_equal(blk->buf, HDR "a=12345678\n", blk->size);
	assert_int_equal(envblk_free_space(blk), 0);
	assert_int_equal(envblk_set(blk, "b", ""), -LAB_ENOSPC);
	/* Shrinking still works in a full block. */
	assert_int_equal(envblk_set(blk, "a", "1"), 0);
	assert_content(blk, HDR "a=1\n");
	envblk_free(blk);
}

static void test_set_broken(void **state)
{
	struct envblk *blk;
	char before[200];

	(void)state;
	/* The byte before the '#' run is not a newline. */
	blk = blk_of(HDR "a=1", 120);
	memcpy(before, blk->buf, blk->size);
	assert_int_equal(envblk_set(blk, "b", "2"), -LAB_EFORMAT);
	assert_memory_equal(blk->buf, before, blk->size);
	assert_int_equal(envblk_check(blk, NULL), -LAB_EFORMAT);
	envblk_free(blk);

	/* A record whose escaped final newline hides the end of the line. */
	blk = blk_of(HDR "a=1\\\n", 120);
	memcpy(before, blk->buf, blk->size);
	assert_int_equal(envblk_set(blk, "a", "2"), -LAB_EFORMAT);
	assert_memory_equal(blk->buf, before, blk->size);
	assert_int_equal(envblk_unset(blk, "a"), 0);
	assert_memory_equal(blk->buf, before, blk->size);
	envblk_free(blk);

	/* No '#' run and no final newline. */
	assert_int_equal(envblk_parse(ENVBLK_SIGNATURE "x=yz", 29, NULL, &blk), 0);
	assert_int_equal(envblk_set(blk, "q", ""), -LAB_EFORMAT);
	envblk_free(blk);
}

/* -------------------------------------------------------------- unset */

static void test_unset(void **state)
{
	struct envblk *blk = blk_of(HDR "a=1\nb=\\\\\\\n\na=3\nc=4\n", 200);

	(void)state;
	assert_int_equal(envblk_unset(blk, "b"), 1);
	assert_content(blk, HDR "a=1\na=3\nc=4\n");
	assert_int_equal(envblk_unset(blk, "a"), 1);
	assert_content(blk, HDR "a=3\nc=4\n");
	assert_int_equal(envblk_unset(blk, "zz"), 0);
	assert_int_equal(envblk_unset(blk, "c="), 0);
	assert_content(blk, HDR "a=3\nc=4\n");
	assert_int_equal(envblk_unset(blk, "a"), 1);
	assert_int_equal(envblk_unset(blk, "c"), 1);
	assert_content(blk, HDR);
	envblk_free(blk);
}

static void test_unset_duplicates(void **state)
{
	struct envblk *blk = blk_of(HDR "a=1\nb=2\na=3\na=4\nc=5\n", 200);

	(void)state;
	assert_int_equal(envblk_unset_duplicates(blk, "a"), 2);
	assert_content(blk, HDR "a=1\nb=2\nc=5\n");
	assert_int_equal(envblk_unset_duplicates(blk, "a"), 0);
	assert_int_equal(envblk_unset_duplicates(blk, "zz"), 0);
	envblk_free(blk);
}

/* ------------------------------------------------------------ foreach */

static int collect_cb(const char *name, const char *value, void *arg)
{
	strbuf_addf(arg, "[%s|%s]", name, value);
	return 0;
}

static char *collect(const struct envblk *blk)
{
	struct strbuf sb = STRBUF_INIT;

	envblk_foreach(blk, collect_cb, &sb);
	return strbuf_detach(&sb, NULL);
}

static void assert_vars(const char *text, size_t size, const char *want)
{
	struct envblk *blk = blk_of(text, size);
	char *got = collect(blk);

	assert_string_equal(got, want);
	free(got);
	envblk_free(blk);
}

static void test_foreach(void **state)
{
	(void)state;
	assert_vars(HDR, 1024, "");
	assert_vars(HDR "a=1\nb=x\\\\y\\\nz\n", 1024, "[a|1][b|x\\y\nz]");
	/* Comment lines are skipped, even with '=' in them. */
	assert_vars(HDR "#c=1\na=2\n", 1024, "[a|2]");
	/* A line without '=' becomes part of the next name. */
	assert_vars(HDR "foo\nbar=baz\n", 1024, "[foo\nbar|baz]");
	/* No '=' before the end: reading stops there. */
	assert_vars(HDR "a=1\nfoo\n", 1024, "[a|1]");
	/* An unterminated value ends the iteration. */
	assert_vars(ENVBLK_SIGNATURE "a=1\nb=2", 32, "[a|1]");
	/* A name runs to '=', not stopping at a backslash. */
	assert_vars(HDR "x\\\ny=1\n", 1024, "[x\\\ny|1]");
	/* Empty name and empty value. */
	assert_vars(HDR "=\n", 1024, "[|]");
}

static int stop_cb(const char *name, const char *value, void *arg)
{
	(void)value;
	(*(int *)arg)++;
	return strcmp(name, "b") ? 0 : 42;
}

static void test_foreach_stop(void **state)
{
	struct envblk *blk = blk_of(HDR "a=1\nb=2\nc=3\n", 300);
	int calls = 0;

	(void)state;
	assert_int_equal(envblk_foreach(blk, stop_cb, &calls), 42);
	assert_int_equal(calls, 2);
	envblk_free(blk);
}

static void test_check(void **state)
{
	struct envblk *blk;
	size_t off = 0;

	(void)state;
	blk = blk_of(HDR "a=1\nfoo\n", 300);
	assert_int_equal(envblk_check(blk, &off), -LAB_EFORMAT);
	assert_int_equal(off, HDR_LEN + 4);
	assert_non_null(strstr(lab_errmsg(LAB_EFORMAT), "has no '='"));
	envblk_free(blk);
	blk = blk_of(HDR "a=1\\\n", 300);
	assert_int_equal(envblk_check(blk, &off), -LAB_EFORMAT);
	assert_int_equal(off, HDR_LEN);
	assert_non_null(strstr(lab_errmsg(LAB_EFORMAT), "not terminated"));
	envblk_free(blk);
	blk = blk_of(HDR "#x", 300);
	assert_int_equal(envblk_check(blk, &off), -LAB_EFORMAT);
	assert_int_equal(off, HDR_LEN + 1);
	envblk_free(blk);
}

/* --------------------------------------------------------- save, load */

static void test_save_load(void **state)
{
	char dir[] = "/tmp/test_grubenv.XXXXXX";
	char path[256], link[256], sub[256];
	struct envblk *blk, *back;
	struct stat st;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/grubenv", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	snprintf(sub, sizeof(sub), "%s/sub", dir);

	assert_int_equal(envblk_load(path, &back), -LAB_ENOENT);
	assert_int_equal(envblk_new(1024, &blk), 0);
	assert_int_equal(envblk_set(blk, "k", "v"), 0);
	assert_int_equal(envblk_save(path, blk), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(envblk_load(path, &back), 0);
	assert_int_equal(back->size, 1024);
	assert_memory_equal(back->buf, blk->buf, 1024);
	envblk_free(back);

	/* Saving through a symlink replaces the target, keeps the link. */
	assert_int_equal(symlink("grubenv", link), 0);
	assert_int_equal(envblk_set(blk, "k", "w"), 0);
	assert_int_equal(envblk_save(link, blk), 0);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(envblk_load(path, &back), 0);
	assert_memory_equal(back->buf, blk->buf, 1024);
	envblk_free(back);

	/* Not a regular file; not a block. */
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(envblk_load(sub, &back), -LAB_EFORMAT);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("menuentry foo {\n}\n", f);
	fclose(f);
	assert_int_equal(envblk_load(path, &back), -LAB_EFORMAT);
	assert_non_null(strstr(lab_errmsg(LAB_EFORMAT), path));
	assert_non_null(strstr(lab_errmsg(LAB_EFORMAT), "\"menuentry foo {\\n}\\n\""));

	envblk_free(blk);
	unlink(link);
	unlink(path);
	rmdir(sub);
	rmdir(dir);
}

/* -------------------------------------------------------------- chain */

static void assert_chain(const struct envblk *blk, size_t n, ...)
{
	char **e;
	size_t got, i;
	va_list ap;

	assert_int_equal(chain_get(blk, &e, &got), 0);
	assert_int_equal(got, n);
	va_start(ap, n);
	for (i = 0; i < n; i++)
		assert_string_equal(e[i], va_arg(ap, const char *));
	va_end(ap);
	chain_free(e, got);
}

static void test_chain_lengths(void **state)
{
	static const char *const names[] = { "A", "B", "C", "D", "E", "F",
					     "G", "H", "I", "J" };
	struct envblk *blk = blk_of(HDR, 1024);
	struct strbuf want = STRBUF_INIT;
	char slot[24];
	size_t i;

	(void)state;
	assert_int_equal(chain_set(blk, names, 1, 9), 0);
	assert_content(blk, HDR "next_entry=A\n");
	assert_chain(blk, 1, "A");
	assert_int_equal(chain_set(blk, names, 2, 9), 0);
	assert_content(blk, HDR "next_entry=A\nnext_entry_2=B\n");
	assert_chain(blk, 2, "A", "B");
	assert_int_equal(chain_set(blk, names, 5, 9), 0);
	assert_chain(blk, 5, "A", "B", "C", "D", "E");
	assert_int_equal(chain_set(blk, names, 9, 9), 0);
	strbuf_addstr(&want, HDR);
	for (i = 0; i < 9; i++) {
		chain_slot_name((unsigned int)i + 1, slot, sizeof(slot));
		strbuf_addf(&want, "%s=%s\n", slot, names[i]);
	}
	assert_content(blk, strbuf_str(&want));
	assert_chain(blk, 9, "A", "B", "C", "D", "E", "F", "G", "H", "I");
	/* One more than max_stages. */
	assert_int_equal(chain_set(blk, names, 10, 9), -LAB_EINVAL);
	assert_content(blk, strbuf_str(&want));
	assert_int_equal(chain_set(blk, names, 10, 10), 0);
	assert_chain(blk, 10, "A", "B", "C", "D", "E", "F", "G", "H", "I", "J");
	assert_int_equal(chain_set(blk, names, 0, 9), -LAB_EINVAL);
	strbuf_release(&want);
	envblk_free(blk);
}

static void test_chain_stale(void **state)
{
	static const char *const two[] = { "XMHF-build64", "default" };
	struct envblk *blk = blk_of(HDR "saved_entry=x\nnext_entry=\n"
				    "next_entry_2=\nnext_entry_3=old3\n"
				    "other=1\nnext_entry_9=\nnext_entry_12=z\n"
				    "next_entry_03=keep\nnext_entry_3=dup\n",
				    1024);

	(void)state;
	assert_int_equal(chain_set(blk, two, 2, 9), 0);
	assert_content(blk, HDR "saved_entry=x\nnext_entry=XMHF-build64\n"
		       "next_entry_2=0\nother=1\nnext_entry_03=keep\n");
	assert_chain(blk, 2, "XMHF-build64", "0");
	assert_int_equal(chain_clear(blk), 0);
	assert_content(blk, HDR "saved_entry=x\nother=1\nnext_entry_03=keep\n");
	assert_chain(blk, 0);
	envblk_free(blk);
}

static void test_chain_duplicates_and_gaps(void **state)
{
	static const char *const one[] = { "N" };
	struct envblk *blk = blk_of(HDR "next_entry=a\nnext_entry=b\n"
				    "next_entry_3=c\n", 1024);

	(void)state;
	/* A gap (empty or missing slot) is returned as "". */
	assert_chain(blk, 3, "b", "", "c");
	assert_int_equal(chain_set(blk, one, 1, 9), 0);
	assert_content(blk, HDR "next_entry=N\n");
	assert_chain(blk, 1, "N");
	envblk_free(blk);
}

static void test_chain_rejects(void **state)
{
	static const char *const bad1[] = { "A", "" };
	static const char *const bad2[] = { "A\nB" };
	static const char *const bad3[] = { "A\r" };
	struct envblk *blk = blk_of(HDR "next_entry=keep\n", 1024);

	(void)state;
	assert_int_equal(chain_set(blk, bad1, 2, 9), -LAB_EINVAL);
	assert_non_null(strstr(lab_errmsg(LAB_EINVAL), "empty"));
	assert_int_equal(chain_set(blk, bad2, 1, 9), -LAB_EINVAL);
	assert_non_null(strstr(lab_errmsg(LAB_EINVAL), "\"A\\nB\" contains a newline"));
	assert_int_equal(chain_set(blk, bad3, 1, 9), -LAB_EINVAL);
	assert_int_equal(chain_set(blk, bad3, 1, 0), -LAB_EINVAL);
	assert_int_equal(chain_set(blk, bad3, 1, 100), -LAB_EINVAL);
	assert_content(blk, HDR "next_entry=keep\n");
	assert_int_equal(chain_validate_entry("Advanced options for Debian>Debian, with Linux 6.1"), 0);
	assert_int_equal(chain_validate_entry("0"), 0);
	assert_string_equal(chain_entry_value("default"), "0");
	assert_string_equal(chain_entry_value("Default"), "Default");
	envblk_free(blk);
}

static void test_chain_too_small(void **state)
{
	static const char *const e[] = { "aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc" };
	struct envblk *blk = blk_of(HDR "next_entry_4=x\n", 94 + 15 + 40);
	char before[200];

	(void)state;
	memcpy(before, blk->buf, blk->size);
	/* The first two fit (after next_entry_4 is gone), the third not. */
	assert_int_equal(chain_set(blk, e, 3, 9), -LAB_ENOSPC);
	assert_memory_equal(blk->buf, before, blk->size);
	assert_int_equal(chain_set(blk, e, 1, 9), 0);
	assert_content(blk, HDR "next_entry=aaaaaaaaaa\n");
	envblk_free(blk);
}

static void test_chain_unchangeable(void **state)
{
	static const char *const one[] = { "A" };
	/* GRUB reads "next_entry_2\0x=B" as next_entry_2 (C strings), but
	 * neither GRUB's delete nor ours can match that name. */
	static const char text[] = ENVBLK_SIGNATURE "next_entry_2\0x=B\n";
	struct envblk *blk;
	char *data = xmalloc(200), before[200];

	(void)state;
	memcpy(data, text, sizeof(text) - 1);
	memset(data + sizeof(text) - 1, '#', 200 - (sizeof(text) - 1));
	assert_int_equal(envblk_parse(data, 200, NULL, &blk), 0);
	free(data);
	assert_chain(blk, 2, "", "B");
	memcpy(before, blk->buf, 200);
	assert_int_equal(chain_clear(blk), -LAB_EFORMAT);
	assert_memory_equal(blk->buf, before, 200);
	assert_int_equal(chain_set(blk, one, 1, 9), -LAB_EFORMAT);
	assert_memory_equal(blk->buf, before, 200);
	assert_non_null(strstr(lab_errmsg(LAB_EFORMAT), "cannot be changed"));
	envblk_free(blk);
}

static void test_chain_slot_name(
void **state)
{
	char buf[24];

	(void)state;
	chain_slot_name(1, buf, sizeof(buf));
	assert_string_equal(buf, "next_entry");
	chain_slot_name(2, buf, sizeof(buf));
	assert_string_equal(buf, "next_entry_2");
	chain_slot_name(99, buf, sizeof(buf));
	assert_string_equal(buf, "next_entry_99");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_default),
		cmocka_unit_test(test_new_sizes),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_parse_min),
		cmocka_unit_test(test_set_escaping),
		cmocka_unit_test(test_set_in_place),
		cmocka_unit_test(test_set_match_rules),
		cmocka_unit_test(test_set_too_small),
		cmocka_unit_test(test_set_broken),
		cmocka_unit_test(test_unset),
		cmocka_unit_test(test_unset_duplicates),
		cmocka_unit_test(test_foreach),
		cmocka_unit_test(test_foreach_stop),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_save_load),
		cmocka_unit_test(test_chain_lengths),
		cmocka_unit_test(test_chain_stale),
		cmocka_unit_test(test_chain_duplicates_and_gaps),
		cmocka_unit_test(test_chain_rejects),
		cmocka_unit_test(test_chain_too_small),
		cmocka_unit_test(test_chain_unchangeable),
		cmocka_unit_test(test_chain_slot_name),
	};

	return cmocka_run_group_tests_name("grubenv", tests, NULL, NULL);
}
