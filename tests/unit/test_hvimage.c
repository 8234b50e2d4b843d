// SPDX-License-Identifier: MIT
/*
 * Unit tests for hvimage/: SHA-256 (known vectors), the MANIFEST format,
 * the stand-in inputs hash, the cache decision, hv_build() on a fake
 * stand-in tree (a Makefile that writes the two files: built, cached,
 * rebuilt on a content change, failure keeps the old image and the log,
 * timeout, interrupt, atomic swap), and the disk image (when GRUB and
 * mtools are installed).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "grubenv/envblk.h"
#include "hvimage/build.h"
#include "hvimage/build_priv.h"
#include "hvimage/diskimg.h"
#include "hvimage/sha256.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/spawn.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"

static char scratch[PATH_MAX];

static char *sp(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *sp(const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	strbuf_addf(&sb, "%s/", scratch);
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	return strbuf_detach(&sb, NULL);
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

static void rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void put_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t len = strlen(text);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static char *slurp(const char *path)
{
	struct strbuf sb = STRBUF_INIT;

	if (strbuf_read_file(&sb, path, 0) < 0) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb, NULL);
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Entries of dir whose name contains needle. */
static int count_entries(const char *dir, const char *needle)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (strstr(de->d_name, needle))
			n++;
	closedir(d);
	return n;
}

/* ------------------------------------------------------------ sha256 */

static void test_sha256_vectors(void **state)
{
	static const struct {
		const char *in, *hex;
	} v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
		{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
		  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
	};
	char hex[SHA256_HEX_LEN + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		lab_sha256_hex(v[i].in, strlen(v[i].in), hex);
		assert_string_equal(hex, v[i].hex);
	}
}

static void test_sha256_million_a_chunked(void **state)
{
	struct lab_sha256 c;
	char buf[1000], hex[SHA256_HEX_LEN + 1];
	size_t done = 0, step = 1;

	(void)state;
	memset(buf, 'a', sizeof(buf));
	lab_sha256_init(&c);
	/* Odd chunk sizes cross the 64-byte blocks everywhere. */
	while (done < 1000000) {
		size_t n = step < 1000000 - done ? step : 1000000 - done;

		if (n > sizeof(buf))
			n = sizeof(buf);
		lab_sha256_update(&c, buf, n);
		done += n;
		step = step * 7 % 997 + 1;
	}
	lab_sha256_final_hex(&c, hex);
	assert_string_equal(hex,
			    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_sha256_padding_edges(void **state)
{
	/* Lengths around the 55/56/64-byte padding boundaries, checked
	 * against one-shot vs byte-by-byte hashing and sha256sum. */
	static const size_t lens[] = { 55, 56, 57, 63, 64, 65, 119, 120, 128 };
	char data[200], a[SHA256_HEX_LEN + 1], b[SHA256_HEX_LEN + 1];
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 31 + 7);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct lab_sha256 c;

		lab_sha256_hex(data, lens[i], a);
		lab_sha256_init(&c);
		for (k = 0; k < lens[i]; k++)
			lab_sha256_update(&c, data + k, 1);
		lab_sha256_final_hex(&c, b);
		assert_string_equal(a, b);
	}
	if (lab_have_program("sha256sum")) {
		char *p = sp("pad.bin");
		const char *const argv[] = { "sha256sum", p, NULL };
		struct strbuf out = STRBUF_INIT;
		struct spawn_opts so = { .out = &out };
		uint64_t size;
		int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		assert_int_equal(write(fd, data, 119), 119);
		close(fd);
		assert_int_equal(lab_run(argv, &so), 0);
		assert_int_equal(lab_sha256_file(p, a, &size), 0);
		assert_int_equal(size, 119);
		assert_memory_equal(out.buf, a, SHA256_HEX_LEN);
		strbuf_release(&out);
		unlink(p);
		free(p);
	}
}

static void test_sha256_file_errors(void **state)
{
	char hex[SHA256_HEX_LEN + 1];
	char *p = sp("nope");

	(void)state;
	assert_int_equal(lab_sha256_file(p, hex, NULL), -LAB_ENOENT);
	assert_contains(lab_errmsg(-LAB_ENOENT), "nope");
	free(p);
}

/* ------------------------------------------------------------ manifest */

static void test_manifest_roundtrip(void **state)
{
	struct hv_manifest m = HV_MANIFEST_INIT, back = HV_MANIFEST_INIT;
	struct strbuf text = STRBUF_INIT;

	(void)state;
	assert_int_equal(hv_manifest_set(&m, "format", "1"), 0);
	assert_int_equal(hv_manifest_set(&m, "variant", "build64"), 0);
	assert_int_equal(hv_manifest_set(&m, "args", "amd64 --lhv-opt 0x5fc"), 0);
	assert_int_equal(hv_manifest_set(&m, "empty", ""), 0);
	assert_int_equal(hv_manifest_set(&m, "sha256.init.bin", "ab: cd"), 0);
	/* Replacing keeps the position. */
	assert_int_equal(hv_manifest_set(&m, "variant", "build32"), 0);
	assert_int_equal(m.n, 5);
	assert_string_equal(m.e[1].value, "build32");
	hv_manifest_format(&m, &text);
	assert_string_equal(text.buf,
			    "# labctl image manifest (see hvimage/build.h)\n"
			    "format: 1\n"
			    "variant: build32\n"
			    "args: amd64 --lhv-opt 0x5fc\n"
			    "empty:\n"
			    "sha256.init.bin: ab: cd\n");
	assert_int_equal(hv_manifest_parse(&back, text.buf, text.len, "x"), 0);
	assert_int_equal(back.n, 5);
	assert_string_equal(hv_manifest_get(&back, "args"), "amd64 --lhv-opt 0x5fc");
	assert_string_equal(hv_manifest_get(&back, "empty"), "");
	assert_string_equal(hv_manifest_get(&back, "sha256.init.bin"), "ab: cd");
	assert_null(hv_manifest_get(&back, "nope"));
	hv_manifest_release(&m);
	hv_manifest_release(&back);
	strbuf_release(&text);
}

static void test_manifest_parse_rules(void **state)
{
	struct hv_manifest m = HV_MANIFEST_INIT;
	static const char ok[] = "# comment\n\nk: v\nlast: no newline";
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "no colon here\n", "x:1: expected 'key: value'" },
		{ "a: 1\nKey: v\n", "x:2: invalid key 'Key'" },
		{ "a: 1\n-a: v\n", "x:2: invalid key" },
		{ "a:b\n", "x:1: expected a space after 'a:'" },
		{ "a: 1\nb: 2\na: 3\n", "x:3: duplicate key 'a'" },
		{ "a: tab\there\n", "x:1: control character in the value of a" },
		{ "a: cr\r\n", "x:1: control character" },
		{ ": v\n", "x:1: invalid key" },
	};
	size_t i;

	(void)state;
	assert_int_equal(hv_manifest_parse(&m, ok, strlen(ok), "x"), 0);
	assert_int_equal(m.n, 2);
	assert_string_equal(hv_manifest_get(&m, "last"), "no newline");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = hv_manifest_parse(&m, bad[i].text, strlen(bad[i].text), "x");

		assert_int_equal(ret, -LAB_EFORMAT);
		assert_contains(lab_errmsg(ret), bad[i].msg);
		/* A failed parse leaves the old contents. */
		assert_int_equal(m.n, 2);
	}
	assert_int_equal(hv_manifest_parse(&m, "a: \0b\n", 6, "x"), -LAB_EFORMAT);
	assert_contains(lab_errmsg(-LAB_EFORMAT), "binary");
	assert_int_equal(hv_manifest_set(&m, "Bad", "v"), -LAB_EINVAL);
	assert_int_equal(hv_manifest_set(&m, "k", "two\nlines"), -LAB_EINVAL);
	hv_manifest_release(&m);
	assert_int_equal(m.n, 0);
	{
		char *p = sp("no-manifest");

		assert_int_equal(hv_manifest_load(&m, p), -LAB_ENOENT);
		free(p);
	}
}

/* ------------------------------------------------------------ inputs */

/* A fake stand-in tree: a Makefile that writes the two images from its
 * inputs (fails when main.c says FAIL, sleeps when it says SLEEP). */
static const char fake_makefile[] =
	"all:\n"
	"\t@mkdir -p $(OBJDIR)\n"
	"\t@if grep -q FAIL main.c; then for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25; do echo \"noise line $$i\"; done; echo 'main.c:1:1: error: FAIL found' >&2; exit 2; fi\n"
	"\t@if grep -q SLEEP main.c; then sleep 30; fi\n"
	"\t@printf 'init %s %s %s\\n' '$(VARIANT)' '$(ARCH)' '$(HV_OPT)' > $(OUT)/init.bin\n"
	"\t@cat main.c > $(OBJDIR)/main.o\n"
	"\t@gzip -n -c $(OBJDIR)/main.o > $(OUT)/hypervisor.bin.gz\n"
	"\t@echo built $(VARIANT)\n";

static char *make_fake_tree(const char *name)
{
	char *dir = sp("%s", name), *p;

	rm_rf(dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	p = xasprintf("%s/Makefile", dir);
	put_file(p, fake_makefile);
	free(p);
	p = xasprintf("%s/main.c", dir);
	put_file(p, "int main;\n");
	free(p);
	p = xasprintf("%s/head.S", dir);
	put_file(p, "/* head */\n");
	free(p);
	return dir;
}

static void tree_hash(const char *dir, char hex[SHA256_HEX_LEN + 1], int *n)
{
	assert_int_equal(hv_standin_tree_hash(dir, hex, n), 0);
}

static void test_inputs_tree_hash(void **state)
{
	char *dir = make_fake_tree("tree"), *p;
	char h0[SHA256_HEX_LEN + 1], h1[SHA256_HEX_LEN + 1];
	int n = 0;

	(void)state;
	tree_hash(dir, h0, &n);
	assert_int_equal(n, 3);
	/* Same contents, new times: same hash. */
	p = xasprintf("%s/main.c", dir);
	assert_int_equal(utimensat(AT_FDCWD, p, NULL, 0), 0);
	tree_hash(dir, h1, NULL);
	assert_string_equal(h0, h1);
	/* Files that are not sources do not count. */
	free(p);
	p = xasprintf("%s/README.md", dir);
	put_file(p, "docs\n");
	free(p);
	p = xasprintf("%s/out", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	p = xasprintf("%s/out/x.c", dir);
	put_file(p, "generated\n");
	free(p);
	p = xasprintf("%s/.hidden.c", dir);
	put_file(p, "x\n");
	free(p);
	tree_hash(dir, h1, &n);
	assert_string_equal(h0, h1);
	assert_int_equal(n, 3);
	/* A changed source changes it. */
	p = xasprintf("%s/main.c", dir);
	put_file(p, "int main; /* changed */\n");
	tree_hash(dir, h1, NULL);
	assert_string_not_equal(h0, h1);
	put_file(p, "int main;\n");
	tree_hash(dir, h1, NULL);
	assert_string_equal(h0, h1);
	free(p);
	/* Every source kind counts; so does a rename. */
	p = xasprintf("%s/link.ld", dir);
	put_file(p, "SECTIONS {}\n");
	tree_hash(dir, h1, &n);
	assert_int_equal(n, 4);
	assert_string_not_equal(h0, h1);
	unlink(p);
	free(p);
	{
		char *a = xasprintf("%s/main.c", dir), *b = xasprintf("%s/main2.c", dir);

		assert_int_equal(rename(a, b), 0);
		tree_hash(dir, h1, NULL);
		assert_string_not_equal(h0, h1);
		assert_int_equal(rename(b, a), 0);
		free(a);
		free(b);
	}
	tree_hash(dir, h1, NULL);
	assert_string_equal(h0, h1);
	/* No Makefile: not a stand-in tree. */
	p = xasprintf("%s/Makefile", dir);
	unlink(p);
	assert_int_equal(hv_standin_tree_hash(dir, h1, NULL), -LAB_ECONFIG);
	free(p);
	free(dir);
}

static void test_inputs_variant(void **state)
{
	struct hv_variant v = { "build64", "standin", "amd64", 0, NULL, NULL, NULL };
	struct hv_variant w;
	char base[SHA256_HEX_LEN + 1], h[SHA256_HEX_LEN + 1];
	const char *tree = "aa", *cc = "gcc 12";

	(void)state;
	hv_standin_inputs(&v, tree, cc, base);
	hv_standin_inputs(&v, tree, cc, h);
	assert_string_equal(base, h);
	w = v;
	w.arch = "i386";
	hv_standin_inputs(&w, tree, cc, h);
	assert_string_not_equal(base, h);
	w = v;
	w.options = 0x5fc;
	hv_standin_inputs(&w, tree, cc, h);
	assert_string_not_equal(base, h);
	w = v;
	w.name = "build32";
	hv_standin_inputs(&w, tree, cc, h);
	assert_string_not_equal(base, h);
	hv_standin_inputs(&v, "ab", cc, h);
	assert_string_not_equal(base, h);
	hv_standin_inputs(&v, tree, "gcc 13", h);
	assert_string_not_equal(base, h);

	v = (struct hv_variant){ "x", "xmhf64", NULL, 0, "/src", "amd64 fast", NULL };
	hv_xmhf64_inputs(&v, "rev1", "none", cc, base);
	hv_xmhf64_inputs(&v, "rev2", "none", cc, h);
	assert_string_not_equal(base, h);
	hv_xmhf64_inputs(&v, "rev1", "0123", cc, h);
	assert_string_not_equal(base, h);
	w = v;
	w.args = "amd64 fast O3";
	hv_xmhf64_inputs(&w, "rev1", "none", cc, h);
	assert_string_not_equal(base, h);
}

static void test_compiler_version(void **state)
{
	char *v = NULL;

	(void)state;
	if (!lab_have_program("gcc"))
		skip();
	assert_int_equal(hv_compiler_version("gcc", &v), 0);
	assert_non_null(strstr(v, "gcc"));
	assert_null(strchr(v, '\n'));
	free(v);
	assert_int_equal(hv_compiler_version("no-such-cc-labctl", &v), -LAB_ESPAWN);
}

static void test_names_and_home(void **state)
{
	char *p;
	const char *home = getenv("HOME");
	char *saved = home ? xstrdup(home) : NULL;

	(void)state;
	assert_true(hv_valid_variant_name("build32lhv"));
	assert_true(hv_valid_variant_name("a.b_c-d"));
	assert_false(hv_valid_variant_name(""));
	assert_false(hv_valid_variant_name(".hidden"));
	assert_false(hv_valid_variant_name("-x"));
	assert_false(hv_valid_variant_name("a/b"));
	assert_false(hv_valid_variant_name(".."));
	assert_false(hv_valid_variant_name("a b"));
	assert_false(hv_valid_variant_name(
		"a123456789012345678901234567890123456789012345678901234567890123456789"));
	setenv("HOME", "/home/me", 1);
	p = hv_expand_home("~/uberxmhf");
	assert_string_equal(p, "/home/me/uberxmhf");
	free(p);
	p = hv_expand_home("~");
	assert_string_equal(p, "/home/me");
	free(p);
	p = hv_expand_home("~other/x");
	assert_string_equal(p, "~other/x");
	free(p);
	p = hv_expand_home("/abs/~/x");
	assert_string_equal(p, "/abs/~/x");
	free(p);
	if (saved)
		setenv("HOME", saved, 1);
	else
		unsetenv("HOME");
	free(saved);
}

/* ------------------------------------------------------------ cache */

/* images/<name> with two files and a MANIFEST for inputs. */
static char *make_image_dir(const char *name, const char *inputs)
{
	struct hv_manifest m = HV_MANIFEST_INIT;
	struct strbuf text = STRBUF_INIT;
	char *dir = sp("%s", name), *p, hex[SHA256_HEX_LEN + 1];

	rm_rf(dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	hv_manifest_set(&m, "format", "1");
	hv_manifest_set(&m, "inputs", inputs);
	p = xasprintf("%s/init.bin", dir);
	put_file(p, "init\n");
	assert_int_equal(lab_sha256_file(p, hex, NULL), 0);
	hv_manifest_set(&m, "sha256.init.bin", hex);
	free(p);
	p = xasprintf("%s/hypervisor.bin.gz", dir);
	put_file(p, "module\n");
	assert_int_equal(lab_sha256_file(p, hex, NULL), 0);
	hv_manifest_set(&m, "sha256.hypervisor.bin.gz", hex);
	free(p);
	hv_manifest_format(&m, &text);
	p = xasprintf("%s/MANIFEST", dir);
	put_file(p, text.buf);
	free(p);
	hv_manifest_release(&m);
	strbuf_release(&text);
	return dir;
}

static void test_cache_decision(void **state)
{
	struct hv_manifest m = HV_MANIFEST_INIT;
	char *dir = make_image_dir("img", "in1"), *p;

	(void)state;
	assert_int_equal(hv_cache_check(dir, "in1", &m), 1);
	assert_string_equal(hv_manifest_get(&m, "inputs"), "in1");
	assert_int_equal(hv_cache_check(dir, "in1", NULL), 1);
	/* Other inputs. */
	assert_int_equal(hv_cache_check(dir, "in2", NULL), 0);
	/* A changed image file. */
	p = xasprintf("%s/init.bin", dir);
	put_file(p, "tampered\n");
	assert_int_equal(hv_cache_check(dir, "in1", NULL), 0);
	put_file(p, "init\n");
	assert_int_equal(hv_cache_check(dir, "in1", NULL), 1);
	/* A missing image file. */
	unlink(p);
	assert_int_equal(hv_cache_check(dir, "in1", NULL), 0);
	free(p);
	/* No MANIFEST, a broken one, another format. */
	free(dir);
	dir = make_image_dir("img", "in1");
	p = xasprintf("%s/MANIFEST", dir);
	put_file(p, "garbage without colon\n");
	assert_int_equal(hv_cache_check(dir, "in1", NULL), 0);
	unlink(p);
	assert_int_equal(hv_cache_check(dir, "in1", NULL), 0);
	free(p);
	free(dir);
	dir = make_image_dir("img", "in1");
	p = xasprintf("%s/MANIFEST", dir);
	{
		char *t = slurp(p), *f = strstr(t, "format: 1");

		f[8] = '2';
		put_file(p, t);
		free(t);
	}
	assert_int_equal(hv_cache_check(dir, "in1", NULL), 0);
	free(p);
	/* No directory at all. */
	p = sp("no-such-image");
	assert_int_equal(hv_cache_check(p, "in1", NULL), 0);
	free(p);
	hv_manifest_release(&m);
	rm_rf(dir);
	free(dir);
}

/* ------------------------------------------------------------ hv_build */

static struct hv_build_opts build_opts(const char *images, const char *tree)
{
	struct hv_build_opts o = { 0 };

	o.images_dir = images;
	o.hypervisor_dir = tree;
	o.jobs = 3;
	o.progress = HV_PROGRESS_NONE;
	return o;
}

/* Run hv_build with stderr in a file; returns its text in *err. */
static int build_capture(const struct hv_variant *v, int n,
			 const struct hv_build_opts *o,
			 struct hv_build_result *res, char **err)
{
	char *p = sp("stderr.txt");
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644), saved, ret;

	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	close(fd);
	ret = hv_build(v, n, o, res);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	*err = slurp(p);
	free(p);
	return ret;
}

static const struct hv_variant three[] = {
	{ "build64", "standin", "amd64", 0, NULL, NULL, NULL },
	{ "build32", "standin", "i386", 0, NULL, NULL, NULL },
	{ "build32lhv", "standin", "i386", 0x5fc, NULL, NULL, NULL },
};

static void release_all(struct hv_build_result *r, int n)
{
	int i;

	for (i = 0; i < n; i++)
		hv_build_result_release(&r[i]);
}

static void test_build_cache_rebuild(void **state)
{
	char *tree = make_fake_tree("hv"), *images = sp("images"), *p, *t, *err;
	struct hv_build_opts o = build_opts(images, tree);
	struct hv_build_result r[3];
	struct hv_manifest m = HV_MANIFEST_INIT;
	char old_init[SHA256_HEX_LEN + 1];
	struct stat st;
	int i;

	(void)state;
	rm_rf(images);
	assert_int_equal(build_capture(three, 3, &o, r, &err), 0);
	free(err);
	for (i = 0; i < 3; i++) {
		assert_int_equal(r[i].state, HV_DONE);
		assert_int_equal(strlen(r[i].sha256_init), SHA256_HEX_LEN);
		assert_non_null(r[i].source_rev);
		assert_int_equal(strncmp(r[i].source_rev, "tree-", 5), 0);
		assert_contains(r[i].log_path, "/build.log");
		assert_null(r[i].error);
	}
	p = sp("images/build32lhv/init.bin");
	t = slurp(p);
	assert_string_equal(t, "init build32lhv i386 0x5fc\n");
	free(t);
	free(p);
	/* MANIFEST holds what build.h says. */
	p = sp("images/build32lhv/MANIFEST");
	assert_int_equal(hv_manifest_load(&m, p), 0);
	free(p);
	assert_string_equal(hv_manifest_get(&m, "format"), "1");
	assert_string_equal(hv_manifest_get(&m, "variant"), "build32lhv");
	assert_string_equal(hv_manifest_get(&m, "recipe"), "standin");
	assert_string_equal(hv_manifest_get(&m, "arch"), "i386");
	assert_string_equal(hv_manifest_get(&m, "options"), "0x5fc");
	assert_string_equal(hv_manifest_get(&m, "sha256.init.bin"), r[2].sha256_init);
	assert_string_equal(hv_manifest_get(&m, "size.init.bin"), "27");
	assert_non_null(hv_manifest_get(&m, "compiler"));
	assert_non_null(hv_manifest_get(&m, "built_at"));
	assert_string_equal(hv_manifest_get(&m, "revision"), r[2].source_rev);
	hv_manifest_release(&m);
	/* Directory readable like any other; build.log kept; no leftovers. */
	p = sp("images/build64");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0755, 0755);
	free(p);
	p = sp("images/build64/build.log");
	t = slurp(p);
	assert_contains(t, "built build64");
	free(t);
	free(p);
	assert_int_equal(count_entries(images, ".tmp-"), 0);
	p = sp("images/build64/obj");
	assert_false(exists(p));
	free(p);
	snprintf(old_init, sizeof(old_init), "%s", r[0].sha256_init);
	release_all(r, 3);

	/* Again: all cached, same hashes. */
	assert_int_equal(build_capture(three, 3, &o, r, &err), 0);
	free(err);
	for (i = 0; i < 3; i++)
		assert_int_equal(r[i].state, HV_CACHED);
	assert_string_equal(r[0].sha256_init, old_init);
	release_all(r, 3);

	/* --force rebuilds. */
	o.force = true;
	assert_int_equal(build_capture(three, 1, &o, r, &err), 0);
	free(err);
	assert_int_equal(r[0].state, HV_DONE);
	release_all(r, 1);
	o.force = false;

	/* touch alone: cached; a changed source: rebuilt. */
	p = xasprintf("%s/main.c", tree);
	assert_int_equal(utimensat(AT_FDCWD, p, NULL, 0), 0);
	assert_int_equal(build_capture(three, 3, &o, r, &err), 0);
	free(err);
	for (i = 0; i < 3; i++)
		assert_int_equal(r[i].state, HV_CACHED);
	release_all(r, 3);
	put_file(p, "int main; /* v2 */\n");
	assert_int_equal(build_capture(three, 3, &o, r, &err), 0);
	free(err);
	for (i = 0; i < 3; i++)
		assert_int_equal(r[i].state, HV_DONE);
	release_all(r, 3);
	free(p);

	/* A tampered image is rebuilt. */
	p = sp("images/build32/hypervisor.bin.gz");
	put_file(p, "tampered");
	assert_int_equal(build_capture(three, 3, &o, r, &err), 0);
	free(err);
	assert_int_equal(r[0].state, HV_CACHED);
	assert_int_equal(r[1].state, HV_DONE);
	assert_int_equal(r[2].state, HV_CACHED);
	release_all(r, 3);
	free(p);
	free(tree);
	free(images);
}

static void test_build_failure_keeps_old(void **state)
{
	char *tree = make_fake_tree("hvf"), *images = sp("images-f"), *p, *t, *err;
	struct hv_build_opts o = build_opts(images, tree);
	struct hv_build_result r[3];
	char good[SHA256_HEX_LEN + 1];
	int ret;

	(void)state;
	rm_rf(images);
	assert_int_equal(build_capture(three, 1, &o, r, &err), 0);
	free(err);
	snprintf(good, sizeof(good), "%s", r[0].sha256_init);
	release_all(r, 1);

	p = xasprintf("%s/main.c", tree);
	put_file(p, "FAIL\n");
	free(p);
	ret = build_capture(three, 3, &o, r, &err);
	assert_int_equal(ret, -LAB_EINFRA);
	assert_contains(lab_errmsg(ret), "build failed: build64 (log ");
	assert_contains(lab_errmsg(ret), ".logs/build64.log");
	assert_int_equal(r[0].state, HV_FAILED);
	assert_contains(r[0].error, "make exited with status 2");
	assert_contains(r[0].log_path, ".logs/build64.log");
	/* stderr: the reason and the last 20 lines of the log. */
	assert_contains(err, "build64: failed: make exited with status 2");
	assert_contains(err, "build64: last lines of ");
	assert_contains(err, "main.c:1:1: error: FAIL found");
	assert_contains(err, "noise line 25");
	assert_null(strstr(err, "noise line 3\n"));
	free(err);
	/* The full log is kept. */
	t = slurp(r[0].log_path);
	assert_non_null(t);
	assert_contains(t, "noise line 1\n");
	assert_contains(t, "$ make -C ");
	free(t);
	/* The old image is still there, whole. */
	p = sp("images-f/build64/init.bin");
	assert_true(exists(p));
	free(p);
	p = sp("images-f/build64");
	assert_int_equal(hv_cache_check(p, "anything", NULL), 0);
	free(p);
	assert_int_equal(count_entries(images, ".tmp-"), 0);
	release_all(r, 3);
	free(tree);
	free(images);
}

static void test_build_swap_atomic(void **state)
{
	char *tree = make_fake_tree("hvs"), *images = sp("images-s"), *p, *err;
	struct hv_build_opts o = build_opts(images, tree);
	struct hv_build_result r[1];
	char buf[64];
	int dfd, fd;
	ssize_t n;

	(void)state;
	rm_rf(images);
	assert_int_equal(build_capture(three, 1, &o, r, &err), 0);
	free(err);
	release_all(r, 1);
	/* A reader holding the directory keeps a consistent old build. */
	p = sp("images-s/build64");
	dfd = open(p, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	free(p);
	p = xasprintf("%s/main.c", tree);
	put_file(p, "int main; /* v3 */\n");
	free(p);
	assert_int_equal(build_capture(three, 1, &o, r, &err), 0);
	free(err);
	assert_int_equal(r[0].state, HV_DONE);
	release_all(r, 1);
	fd = openat(dfd, "MANIFEST", O_RDONLY);
	/* The old directory was removed after the swap: gone or empty. */
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf));
		assert_true(n >= 0);
		close(fd);
	}
	close(dfd);
	p = sp("images-s/build64/MANIFEST");
	assert_true(exists(p));
	free(p);
	assert_int_equal(count_entries(images, ".tmp-"), 0);
	assert_int_equal(count_entries(images, ".old-"), 0);
	free(tree);
	free(images);
}

static void test_build_timeout(void **state)
{
	char *tree = make_fake_tree("hvt"), *images = sp("images-t"), *p, *err;
	struct hv_build_opts o = build_opts(images, tree);
	struct hv_build_result r[1];
	int64_t t0;
	int ret;

	(void)state;
	rm_rf(images);
	p = xasprintf("%s/main.c", tree);
	put_file(p, "SLEEP\n");
	free(p);
	o.timeout_ms = 300;
	t0 = lab_mono_ms();
	ret = build_capture(three, 1, &o, r, &err);
	assert_int_equal(ret, -LAB_EINFRA);
	assert_true(lab_mono_ms() - t0 < 10000);
	assert_int_equal(r[0].state, HV_FAILED);
	assert_contains(r[0].error, "did not finish within");
	assert_contains(err, "build64: failed: make did not finish");
	free(err);
	assert_int_equal(count_entries(images, ".tmp-"), 0);
	release_all(r, 1);
	free(tree);
	free(images);
}

static void *interrupt_later(void *arg)
{
	(void)arg;
	lab_sleep_ms(400);
	kill(getpid(), SIGINT);
	return NULL;
}

static void test_build_interrupt(void **state)
{
	char *tree = make_fake_tree("hvi"), *images = sp("images-i"), *p, *err;
	struct hv_build_opts o = build_opts(images, tree);
	struct hv_build_result r[3];
	struct sigaction old;
	pthread_t th;
	int64_t t0;
	int ret;

	(void)state;
	rm_rf(images);
	p = xasprintf("%s/main.c", tree);
	put_file(p, "SLEEP\n");
	free(p);
	o.jobs = 1;	/* one runs, two wait and never start */
	t0 = lab_mono_ms();
	assert_int_equal(pthread_create(&th, NULL, interrupt_later, NULL), 0);
	ret = build_capture(three, 3, &o, r, &err);
	pthread_join(th, NULL);
	assert_int_equal(ret, -LAB_EINTR);
	assert_true(lab_mono_ms() - t0 < 10000);
	assert_int_equal(r[0].state, HV_FAILED);
	assert_contains(r[0].error, "interrupted");
	assert_int_equal(r[1].state, HV_FAILED);
	assert_contains(r[1].error, "interrupted before it started");
	assert_int_equal(r[2].state, HV_FAILED);
	free(err);
	/* The handler is restored. */
	sigaction(SIGINT, NULL, &old);
	assert_true(old.sa_handler == SIG_DFL);
	assert_int_equal(count_entries(images, ".tmp-"), 0);
	release_all(r, 3);
	free(tree);
	free(images);
}

static void test_build_bad_variants(void **state)
{
	struct hv_build_opts o = build_opts("unused-images", "unused");
	struct hv_build_result r[2];
	struct hv_variant v[2] = {
		{ "ok", "standin", "amd64", 0, NULL, NULL, NULL },
		{ "ok", "standin", "amd64", 0, NULL, NULL, NULL },
	};
	int ret;

	(void)state;
	ret = hv_build(v, 2, &o, r);
	assert_int_equal(ret, -LAB_EINVAL);
	assert_contains(lab_errmsg(ret), "variant ok given twice");
	v[1].name = "../x";
	ret = hv_build(v, 2, &o, r);
	assert_int_equal(ret, -LAB_EINVAL);
	assert_contains(lab_errmsg(ret), "invalid variant name '../x'");
	v[1] = (struct hv_variant){ "y", "standin", "sparc", 0, NULL, NULL, NULL };
	ret = hv_build(v, 2, &o, r);
	assert_int_equal(ret, -LAB_EINVAL);
	assert_contains(lab_errmsg(ret), "arch must be i386 or amd64");
	v[1] = (struct hv_variant){ "y", "make", NULL, 0, NULL, NULL, NULL };
	ret = hv_build(v, 2, &o, r);
	assert_contains(lab_errmsg(ret), "unknown recipe 'make'");
	v[1] = (struct hv_variant){ "y", "xmhf64", NULL, 0, NULL, "amd64", NULL };
	ret = hv_build(v, 2, &o, r);
	assert_contains(lab_errmsg(ret), "needs src");
	v[1].src = "/no/such/xmhf";
	ret = hv_build(v, 2, &o, r);
	assert_int_equal(ret, -LAB_ECONFIG);
	assert_contains(lab_errmsg(ret), "src /no/such/xmhf is not a directory");
	/* Nothing was created for a refused build. */
	assert_false(exists("unused-images"));
}

/* ------------------------------------------------------------ diskimg */

/* Issue 15.2: sizes for the cache bound, plain trees by content. */
static void test_cache_size_and_tree(void **state)
{
	char a[SHA256_HEX_LEN + 1], b[SHA256_HEX_LEN + 1];
	char *root = sp("plain"), *copy = sp("plaincopy");
	char *p, q[PATH_MAX];
	struct timespec old[2] = { { 1000000, 0 }, { 1000000, 0 } };
	int64_t n = -1;
	int files = 0;

	(void)state;
	assert_int_equal(hv_parse_size("0", &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(hv_parse_size("500K", &n), 0);
	assert_int_equal(n, 500 << 10);
	assert_int_equal(hv_parse_size("256M", &n), 0);
	assert_int_equal(n, 256LL << 20);
	assert_int_equal(hv_parse_size("2GiB", &n), 0);
	assert_int_equal(n, 2LL << 30);
	assert_int_equal(hv_parse_size("1T", &n), -LAB_EINVAL);
	assert_string_equal(lab_errmsg(-LAB_EINVAL), "'1T' is not a size (e.g. 0, 500K, 256M, 2G)");
	assert_int_equal(hv_parse_size("-1", &n), -LAB_EINVAL);
	assert_int_equal(hv_parse_size("", &n), -LAB_EINVAL);
	assert_int_equal(hv_parse_size("99999999999999G", &n), -LAB_EINVAL);

	rm_rf(root);
	assert_int_equal(mkdir(root, 0755), 0);
	p = sp("plain/sub");
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	p = sp("plain/sub/a.c");
	put_file(p, "int a;\n");
	snprintf(q, sizeof(q), "%s/images-inside", root);
	put_file(q, "not a source\n");
	assert_int_equal(hv_tree_snapshot(root, "images-inside", a, &files), 0);
	assert_int_equal(files, 1);
	/* Times are not contents. */
	assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
	assert_int_equal(hv_tree_snapshot(root, "images-inside", b, NULL), 0);
	assert_string_equal(a, b);
	/* The skipped path is not a source; everything else is. */
	assert_int_equal(hv_tree_snapshot(root, NULL, b, NULL), 0);
	assert_string_not_equal(a, b);
	put_file(p, "int b;\n");
	assert_int_equal(hv_tree_snapshot(root, "images-inside", b, NULL), 0);
	assert_string_not_equal(a, b);
	/* Mode bits count (build.sh must stay executable). */
	put_file(p, "int a;\n");
	assert_int_equal(chmod(p, 0755), 0);
	assert_int_equal(hv_tree_snapshot(root, "images-inside", b, NULL), 0);
	assert_string_not_equal(a, b);
	/* A copy has the snapshot of the original, without the skipped. */
	snprintf(q, sizeof(q), "%s/link", root);
	assert_int_equal(symlink("sub/a.c", q), 0);
	assert_int_equal(hv_tree_snapshot(root, "images-inside", a, NULL), 0);
	assert_int_equal(hv_tree_copy(root, "images-inside", copy), 0);
	assert_int_equal(hv_tree_snapshot(copy, NULL, b, NULL), 0);
	assert_string_equal(a, b);
	snprintf(q, sizeof(q), "%s/images-inside", copy);
	assert_false(exists(q));
	snprintf(q, sizeof(q), "%s/link", copy);
	assert_true(exists(q));
	free(p);
	free(root);
	free(copy);
}

static bool have_disk_tools(void)
{
	return lab_have_program("grub-mkimage") && lab_have_program("mformat") &&
	       lab_have_program("mcopy") && lab_have_program("mtype") &&
	       access(DISKIMG_GRUB_PC_DIR "/boot.img", R_OK) == 0;
}

static void test_diskimg_args(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	char *img = sp("args.img");
	static const char *const bad[] = {
		"boot/x", "/boot//x", "/boot/../x", "/boot/./x", "/boot/*",
		"/a b", "/x?", "", "/", "/boot/x/",
	};
	size_t i;

	(void)state;
	assert_int_equal(diskimg_create(img, 1), -LAB_EINVAL);
	assert_contains(lab_errmsg(-LAB_EINVAL), "must be 4 to 2048 MiB");
	assert_int_equal(diskimg_create(img, 100000), -LAB_EINVAL);
	assert_int_equal(diskimg_create("x@@1M", 8), -LAB_EINVAL);
	assert_int_equal(diskimg_get(img, "/boot/grub/grubenv", &sb), -LAB_ENOENT);
	assert_contains(lab_errmsg(-LAB_ENOENT), "args.img");
	put_file(img, "small");
	assert_int_equal(diskimg_get(img, "/x", &sb), -LAB_EFORMAT);
	assert_int_equal(truncate(img, 4 << 20), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(diskimg_put_data(img, "x", 1, bad[i]), -LAB_EINVAL);
		assert_int_equal(diskimg_get(img, bad[i], &sb), -LAB_EINVAL);
	}
	assert_contains(lab_errmsg(-LAB_EINVAL), "invalid path in the disk image");
	unlink(img);
	free(img);
	strbuf_release(&sb);
}

static void test_diskimg_roundtrip(void **state)
{
	char *img = sp("disk.img"), *cache = sp("cache"), *p;
	const char *old_xdg = getenv("XDG_CACHE_HOME");
	char *saved = old_xdg ? xstrdup(old_xdg) : NULL;
	struct strbuf sb = STRBUF_INIT, boot = STRBUF_INIT;
	struct envblk *env = NULL;
	unsigned char mbr[512];
	struct stat st;
	int64_t t_cold, t_warm;
	char big[70000];
	size_t i;
	int fd;

	(void)state;
	if (!have_disk_tools())
		skip();
	rm_rf(cache);
	setenv("XDG_CACHE_HOME", cache, 1);
	t_cold = lab_mono_ms();
	assert_int_equal(diskimg_create(img, 0), 0);
	t_cold = lab_mono_ms() - t_cold;
	p = sp("cache/labctl");
	assert_int_equal(count_entries(p, "grub-core-"), 1);
	assert_int_equal(count_entries(p, "disk-32M-"), 1);
	assert_int_equal(count_entries(p, ".tmp-"), 0);
	free(p);
	t_warm = lab_mono_ms();
	assert_int_equal(diskimg_create(img, 0), 0);
	t_warm = lab_mono_ms() - t_warm;
	print_message("# diskimg_create: %lld ms without a cache, %lld ms from the template\n",
		      (long long)t_cold, (long long)t_warm);
	assert_int_equal(stat(img, &st), 0);
	assert_int_equal(st.st_size, 32 << 20);
	assert_int_equal(count_entries(scratch, "disk.img.tmp-"), 0);

	/* Sector 0: boot.img's code, one bootable FAT16 partition at 2048. */
	fd = open(img, O_RDONLY);
	assert_int_equal(read(fd, mbr, 512), 512);
	close(fd);
	assert_int_equal(strbuf_read_file(&boot, DISKIMG_GRUB_PC_DIR "/boot.img", 0), 0);
	assert_memory_equal(mbr, boot.buf, 440);
	assert_int_equal(mbr[446], 0x80);
	assert_int_equal(mbr[446 + 4], 0x0e);
	assert_int_equal(mbr[446 + 8] | mbr[446 + 9] << 8, 2048);
	assert_int_equal(mbr[446 + 12] | mbr[446 + 13] << 8 | mbr[446 + 14] << 16,
			 (32 << 11) - 2048);
	assert_int_equal(mbr[510], 0x55);
	assert_int_equal(mbr[511], 0xaa);
	if (lab_have_program("sfdisk")) {
		const char *const argv[] = { "sfdisk", "-d", img, NULL };
		struct spawn_opts so = { .out = &sb };

		assert_int_equal(lab_run(argv, &so), 0);
		assert_contains(sb.buf, "start=        2048, size=       63488, type=e, bootable");
		strbuf_reset(&sb);
	}

	/* grubenv: exactly what grub-editenv create writes. */
	assert_int_equal(envblk_new(ENVBLK_DEFAULT_SIZE, &env), 0);
	assert_int_equal(diskimg_get(img, "/boot/grub/grubenv", &sb), 0);
	assert_int_equal(sb.len, 1024);
	assert_memory_equal(sb.buf, env->buf, 1024);
	envblk_free(env);
	strbuf_reset(&sb);

	/* put_data / put / get round trips, binary, new dirs, replace. */
	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + (i >> 8));
	assert_int_equal(diskimg_put_data(img, big, sizeof(big),
					  "/boot/xmhf/v1/hypervisor.bin.gz"), 0);
	assert_int_equal(diskimg_get(img, "/boot/xmhf/v1/hypervisor.bin.gz", &sb), 0);
	assert_int_equal(sb.len, sizeof(big));
	assert_memory_equal(sb.buf, big, sizeof(big));
	strbuf_reset(&sb);
	assert_int_equal(diskimg_put_data(img, "a\r\nb\n", 5,
					  "/boot/xmhf/v1/hypervisor.bin.gz"), 0);
	assert_int_equal(diskimg_get(img, "/boot/xmhf/v1/hypervisor.bin.gz", &sb), 0);
	assert_int_equal(sb.len, 5);
	assert_memory_equal(sb.buf, "a\r\nb\n", 5);
	strbuf_reset(&sb);
	assert_int_equal(diskimg_put_data(img, "", 0, "/empty"), 0);
	assert_int_equal(diskimg_get(img, "/empty", &sb), 0);
	assert_int_equal(sb.len, 0);
	p = sp("local.cfg");
	put_file(p, "set timeout=0\n");
	assert_int_equal(diskimg_put(img, p, "/boot/grub/grub.cfg"), 0);
	assert_int_equal(diskimg_get(img, "/boot/grub/grub.cfg", &sb), 0);
	assert_string_equal(sb.buf, "set timeout=0\n");
	strbuf_reset(&sb);
	free(p);
	p = sp("no-such-local");
	assert_int_equal(diskimg_put(img, p, "/x"), -LAB_ENOENT);
	free(p);
	assert_int_equal(diskimg_get(img, "/boot/xmhf", &sb), -LAB_ENOENT);
	assert_int_equal(diskimg_get(img, "/boot/nope", &sb), -LAB_ENOENT);
	assert_contains(lab_errmsg(-LAB_ENOENT), "no file /boot/nope");
	/* remove: a file, a tree, a missing one. */
	assert_int_equal(diskimg_remove(img, "/empty"), 0);
	assert_int_equal(diskimg_get(img, "/empty", &sb), -LAB_ENOENT);
	assert_int_equal(diskimg_remove(img, "/boot/xmhf/v1"), 0);
	assert_int_equal(diskimg_get(img, "/boot/xmhf/v1/hypervisor.bin.gz", &sb),
			 -LAB_ENOENT);
	assert_int_equal(diskimg_remove(img, "/boot/xmhf/v1"), -LAB_ENOENT);
	/* The rest is still there. */
	assert_int_equal(diskimg_get(img, "/boot/grub/grubenv", &sb), 0);
	assert_int_equal(sb.len, 1024);

	/* A re-create replaces the image whole; another size makes its own
	 * template from the cached core.img. */
	assert_int_equal(diskimg_create(img, 8), 0);
	p = sp("cache/labctl");
	assert_int_equal(count_entries(p, "disk-8M-"), 1);
	free(p);
	assert_int_equal(stat(img, &st), 0);
	assert_int_equal(st.st_size, 8 << 20);
	assert_int_equal(diskimg_get(img, "/boot/grub/grub.cfg", &sb), -LAB_ENOENT);

	/* A damaged template is not used: the image is built again. */
	{
		char *tpl = NULL;
		DIR *d;
		struct dirent *de;

		p = sp("cache/labctl");
		d = opendir(p);
		while ((de = readdir(d)))
			if (!strncmp(de->d_name, "disk-8M-", 8))
				tpl = xasprintf("%s/%s", p, de->d_name);
		closedir(d);
		assert_non_null(tpl);
		assert_int_equal(truncate(tpl, 4096), 0);
		assert_int_equal(diskimg_create(img, 8), 0);
		assert_int_equal(stat(tpl, &st), 0);
		assert_int_equal(st.st_size, 8 << 20);
		strbuf_reset(&sb);
		assert_int_equal(diskimg_get(img, "/boot/grub/grubenv", &sb), 0);
		assert_int_equal(sb.len, 1024);
		free(tpl);
		free(p);
	}
	/* No cache at all (no HOME, no XDG_CACHE_HOME): still works. */
	{
		const char *h = getenv("HOME");
		char *hs = h ? xstrdup(h) : NULL;

		unsetenv("XDG_CACHE_HOME");
		unsetenv("HOME");
		assert_int_equal(diskimg_create(img, 4), 0);
		assert_int_equal(stat(img, &st), 0);
		assert_int_equal(st.st_size, 4 << 20);
		assert_int_equal(count_entries(scratch, "disk.img."), 0);
		if (hs)
			setenv("HOME", hs, 1);
		free(hs);
	}

	if (saved)
		setenv("XDG_CACHE_HOME", saved, 1);
	else
		unsetenv("XDG_CACHE_HOME");
	free(saved);
	strbuf_release(&sb);
	strbuf_release(&boot);
	unlink(img);
	rm_rf(cache);
	free(img);
	free(cache);
}

/* ------------------------------------------------------------ main */

static int group_setup(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	snprintf(scratch, sizeof(scratch), "%s/labctl-unit-hv.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(scratch))
		return -1;
	return chdir(scratch);
}

static int group_teardown(void **state)
{
	(void)state;
	if (chdir("/") < 0)
		return -1;
	rm_rf(scratch);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_sha256_million_a_chunked),
		cmocka_unit_test(test_sha256_padding_edges),
		cmocka_unit_test(test_sha256_file_errors),
		cmocka_unit_test(test_manifest_roundtrip),
		cmocka_unit_test(test_manifest_parse_rules),
		cmocka_unit_test(test_inputs_tree_hash),
		cmocka_unit_test(test_inputs_variant),
		cmocka_unit_test(test_compiler_version),
		cmocka_unit_test(test_names_and_home),
		cmocka_unit_test(test_cache_decision),
		cmocka_unit_test(test_build_cache_rebuild),
		cmocka_unit_test(test_build_failure_keeps_old),
		cmocka_unit_test(test_build_swap_atomic),
		cmocka_unit_test(test_build_timeout),
		cmocka_unit_test(test_build_interrupt),
		cmocka_unit_test(test_build_bad_variants),
		cmocka_unit_test(test_cache_size_and_tree),
		cmocka_unit_test(test_diskimg_args),
		cmocka_unit_test(test_diskimg_roundtrip),
	};

	return cmocka_run_group_tests_name("hvimage", tests, group_setup,
					   group_teardown);
}
