// SPDX-License-Identifier: MIT
/*
 * Unit tests for the etcd client's encoding (lib/etcd.c: base64 as the
 * gateway's bytes fields are, prefix ranges, int64 fields as strings) and
 * the etcd lease's settings (labctl/lease_etcd.c: endpoint lists, queue
 * ranks, [lock] checks before any request).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "labctl/labconf.h"
#include "labctl/lease.h"
#include "labctl/lease_etcd.h"
#include "lib/err.h"
#include "lib/etcd.h"
#include "lib/xmalloc.h"

static void test_b64_rfc4648(void **state)
{
	static const char *const plain[] = { "", "f", "fo", "foo", "foob",
					     "fooba", "foobar" };
	static const char *const coded[] = { "", "Zg==", "Zm8=", "Zm9v",
					     "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		char *e = etcd_b64_encode(plain[i], strlen(plain[i]));
		char *d = etcd_b64_decode(coded[i], &len);

		assert_string_equal(e, coded[i]);
		assert_non_null(d);
		assert_int_equal(len, strlen(plain[i]));
		assert_string_equal(d, plain[i]);
		free(e);
		free(d);
	}
}

static void test_b64_binary_roundtrip(void **state)
{
	unsigned char bytes[256];
	char *e, *d;
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(bytes); i++)
		bytes[i] = (unsigned char)(255 - i);
	e = etcd_b64_encode(bytes, sizeof(bytes));
	d = etcd_b64_decode(e, &len);
	assert_non_null(d);
	assert_int_equal(len, sizeof(bytes));
	assert_memory_equal(d, bytes, sizeof(bytes));
	free(e);
	free(d);
}

static void test_b64_rejects(void **state)
{
	static const char *const bad[] = {
		"Zm9", "Zm9v=", "Z===", "Zm=v", "Zm9v!A==", "Zg==Zg==", "====",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(etcd_b64_decode(bad[i], NULL));
}

static void test_prefix_end(void **state)
{
	char *end;

	(void)state;
	end = etcd_prefix_end("/labctl/lock/eq/queue/");
	assert_string_equal(end, "/labctl/lock/eq/queue0");
	free(end);
	end = etcd_prefix_end("a");
	assert_string_equal(end, "b");
	free(end);
}

static void test_json_int(void **state)
{
	json_t *o = json_pack("{s:s, s:I, s:s}", "ID", "7587869876262731013",
			      "TTL", (json_int_t)9, "x", "nope");

	(void)state;
	assert_true(etcd_json_int(o, "ID") == 7587869876262731013LL);
	assert_int_equal(etcd_json_int(o, "TTL"), 9);
	assert_int_equal(etcd_json_int(o, "missing"), 0);
	assert_int_equal(etcd_json_int(o, "x"), 0);
	json_decref(o);
}

static void test_split_list(void **state)
{
	char **w;
	int n;

	(void)state;
	n = lease_etcd_split_list(" http://a:1, https://b:2 ,c:3,,", &w);
	assert_int_equal(n, 3);
	assert_string_equal(w[0], "http://a:1");
	assert_string_equal(w[1], "https://b:2");
	assert_string_equal(w[2], "c:3");
	lease_etcd_free_list(w, n);
	assert_int_equal(lease_etcd_split_list(NULL, &w), 0);
	assert_int_equal(lease_etcd_split_list(" , ", &w), 0);
	free(w);
}

static void test_rank(void **state)
{
	(void)state;
	assert_int_equal(lease_etcd_rank("fifo", "ci"), 0);
	assert_int_equal(lease_etcd_rank("fifo", "people"), 0);
	assert_int_equal(lease_etcd_rank("people", "people"), 0);
	assert_int_equal(lease_etcd_rank("people", "ci"), 1);
	assert_int_equal(lease_etcd_rank("ci", "ci"), 0);
	assert_int_equal(lease_etcd_rank("ci", "people"), 1);
}

/* lease_init on a lab from text: 0 or the error, message in msg. */
static int init_lab(const char *text, struct lease *l, struct lab **lab)
{
	int ret = lab_parse("labs/e.conf", text, strlen(text), lab);

	if (ret)
		return ret;
	return lease_init(l, *lab);
}

static void test_settings_checked(void **state)
{
	struct lease l;
	struct lab *lab = NULL;
	char dir[] = "/tmp/labctl-test-etcd.XXXXXX", *pw, *text;
	FILE *f;
	int ret;

	(void)state;
	ret = init_lab("[lock]\nwhere = etcd\n", &l, &lab);
	assert_int_equal(ret, -LAB_ECONFIG);
	assert_contains(lab_errmsg(ret), "lock.where = etcd needs lock.endpoints");
	lab_free(lab);

	ret = init_lab("[lock]\nwhere = etcd\nendpoints = a:1\ncert = /c.pem\n",
		       &l, &lab);
	assert_int_equal(ret, -LAB_ECONFIG);
	assert_contains(lab_errmsg(ret), "lock.cert and lock.key go together");
	lab_free(lab);

	unsetenv("LABCTL_TEST_ETCD_PW");
	ret = init_lab("[lock]\nwhere = etcd\nendpoints = a:1\nuser = u\n"
		       "password_env = LABCTL_TEST_ETCD_PW\n", &l, &lab);
	assert_int_equal(ret, -LAB_ECONFIG);
	assert_contains(lab_errmsg(ret), "set $LABCTL_TEST_ETCD_PW or [lock] password_file");
	lab_free(lab);

	setenv("LABCTL_TEST_ETCD_PW", "secret", 1);
	ret = init_lab("[lock]\nwhere = etcd\nendpoints = a:1, b:2\nuser = u\n"
		       "password_env = LABCTL_TEST_ETCD_PW\n", &l, &lab);
	assert_int_equal(ret, 0);
	assert_non_null(l.etcd);
	lease_release_resources(&l);
	lab_free(lab);
	unsetenv("LABCTL_TEST_ETCD_PW");

	/* A password file others can read is refused. */
	assert_non_null(mkdtemp(dir));
	pw = xasprintf("%s/pw", dir);
	f = fopen(pw, "w");
	assert_non_null(f);
	fputs("secret\n", f);
	fclose(f);
	chmod(pw, 0644);
	text = xasprintf("[lock]\nwhere = etcd\nendpoints = a:1\nuser = u\n"
			 "password_file = %s\n", pw);
	ret = init_lab(text, &l, &lab);
	assert_int_equal(ret, -LAB_ECONFIG);
	assert_contains(lab_errmsg(ret), "password_file");
	lab_free(lab);
	chmod(pw, 0600);
	ret = init_lab(text, &l, &lab);
	assert_int_equal(ret, 0);
	lease_release_resources(&l);
	lab_free(lab);
	free(text);
	test_rm_tree(dir);
	free(pw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64_rfc4648),
		cmocka_unit_test(test_b64_binary_roundtrip),
		cmocka_unit_test(test_b64_rejects),
		cmocka_unit_test(test_prefix_end),
		cmocka_unit_test(test_json_int),
		cmocka_unit_test(test_split_list),
		cmocka_unit_test(test_rank),
		cmocka_unit_test(test_settings_checked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
