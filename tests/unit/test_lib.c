// SPDX-License-Identifier: MIT
/*
 * Unit tests for lib/: err, strbuf, shquote, clock, spawn, fileio, log,
 * xmalloc.
 *
 * fileio failures are injected by wrapping the libc calls it makes; the
 * wrappers pass through to the real call unless a test arms them.
 */
/* WRAP: fsync,rename,write */
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
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "lib/escape.h"
#include "lib/fileio.h"
#include "lib/ipmitool.h"
#include "lib/log.h"
#include "lib/shquote.h"
#include "lib/spawn.h"
#include "lib/strbuf.h"
#include "lib/param.h"
#include "lib/paths.h"
#include "lib/secret.h"
#include "lib/utf8.h"
#include "lib/xmalloc.h"

/* ------------------------------------------------------------ helpers */

#define assert_not_contains(hay, needle)                                    \
	do {                                                                \
		const char *h_ = (hay), *n_ = (needle);                     \
		if (strstr(h_, n_))                                         \
			fail_msg("'%s' contains '%s'", h_, n_);             \
	} while (0)

/* Per-run scratch directory, removed at the end. */
static char scratch[PATH_MAX];

static char *scratch_path(const char *name)
{
	return xasprintf("%s/%s", scratch, name);
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path);
	chmod(path, 0700);
	return unlink(path);
}

static void rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Deterministic pseudo-random bytes (xorshift64*). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static void fill_random(char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (char)(rng() >> 56);
}

static void put_file(const char *path, const void *data, size_t len,
		     mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

static void assert_file_is(const char *path, const void *data, size_t len)
{
	struct strbuf sb = STRBUF_INIT;

	assert_int_equal(strbuf_read_file(&sb, path, 0), 0);
	assert_int_equal(sb.len, len);
	if (len)
		assert_memory_equal(sb.buf, data, len);
	strbuf_release(&sb);
}

/* Entries of dir whose name contains the atomic-write temp marker. */
static int count_temp_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (strstr(de->d_name, ".labctl-"))
			n++;
	closedir(d);
	return n;
}

static int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

/* Gone means no such process, or a zombie nobody has reaped yet. */
static bool pid_gone(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	bool gone = true;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return true;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		gone = p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
	fclose(f);
	return gone;
}

static bool wait_gone(pid_t pid, int64_t ms)
{
	int64_t end = lab_mono_ms() + ms;

	while (!pid_gone(pid)) {
		if (lab_mono_ms() > end)
			return false;
		lab_sleep_ms(10);
	}
	return true;
}

/* Wait for a file a child writes, then read the pid in it. */
static pid_t read_pidfile(const char *path, int64_t ms)
{
	int64_t end = lab_mono_ms() + ms;
	struct strbuf sb = STRBUF_INIT;
	long pid = 0;

	while (lab_mono_ms() < end) {
		strbuf_reset(&sb);
		if (strbuf_read_file(&sb, path, 0) == 0 && sb.len &&
		    sb.buf[sb.len - 1] == '\n') {
			pid = strtol(sb.buf, NULL, 10);
			break;
		}
		lab_sleep_ms(5);
	}
	strbuf_release(&sb);
	lab_err_clear();
	assert_true(pid > 0);
	return (pid_t)pid;
}

/* Redirect our stderr to a file while a block of code runs. */
struct stderr_capture {
	int saved;
	char *path;
};

static void stderr_capture_begin(struct stderr_capture *c)
{
	int fd;

	c->path = scratch_path("stderr.capture");
	fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	c->saved = dup(2);
	assert_true(c->saved >= 0);
	dup2(fd, 2);
	close(fd);
}

static void stderr_capture_end(struct stderr_capture *c, struct strbuf *out)
{
	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	assert_int_equal(strbuf_read_file(out, c->path, 0), 0);
	unlink(c->path);
	free(c->path);
}

/* ------------------------------------------------- injected failures */

ssize_t __real_write(int fd, const void *buf, size_t count);
ssize_t __wrap_write(int fd, const void *buf, size_t count);
int __real_fsync(int fd);
int __wrap_fsync(int fd);
int __real_rename(const char *oldpath, const char *newpath);
int __wrap_rename(const char *oldpath, const char *newpath);

struct inject_state {
	int write_errno;	/* fail every write with this */
	size_t write_fail_after;/* ...once this many bytes went through */
	size_t write_written;
	size_t write_max;	/* short writes: at most this many bytes */
	bool write_eintr;	/* every other write is interrupted */
	unsigned write_calls;
	int fsync_errno;	/* fail the fsync_nth'th fsync with this */
	unsigned fsync_nth;
	unsigned fsync_calls;
	int rename_errno;
	unsigned rename_calls;
};

static struct inject_state inject;

ssize_t __wrap_write(int fd, const void *buf, size_t count)
{
	ssize_t n;

	inject.write_calls++;
	if (inject.write_eintr && inject.write_calls % 2) {
		errno = EINTR;
		return -1;
	}
	if (inject.write_errno &&
	    inject.write_written + count > inject.write_fail_after) {
		size_t room = inject.write_fail_after - inject.write_written;

		if (!room) {
			errno = inject.write_errno;
			return -1;
		}
		count = room;
	}
	if (inject.write_max && count > inject.write_max)
		count = inject.write_max;
	n = __real_write(fd, buf, count);
	if (n > 0)
		inject.write_written += (size_t)n;
	return n;
}

int __wrap_fsync(int fd)
{
	inject.fsync_calls++;
	if (inject.fsync_errno && inject.fsync_calls == inject.fsync_nth) {
		errno = inject.fsync_errno;
		return -1;
	}
	return __real_fsync(fd);
}

int __wrap_rename(const char *oldpath, const char *newpath)
{
	inject.rename_calls++;
	if (inject.rename_errno) {
		errno = inject.rename_errno;
		return -1;
	}
	return __real_rename(oldpath, newpath);
}

static int reset_inject(void **state)
{
	(void)state;
	memset(&inject, 0, sizeof(inject));
	lab_err_clear();
	return 0;
}

/* ----------------------------------------------------------------- err */

static void test_err_strerror_all(void **state)
{
	static const struct {
		int code;
		const char *text;
	} want[] = {
		{ LAB_OK, "success" },
		{ LAB_EINVAL, "invalid value" },
		{ LAB_EUSAGE, "usage error" },
		{ LAB_ECONFIG, "configuration error" },
		{ LAB_ENOENT, "no such file or entry" },
		{ LAB_EFORMAT, "invalid file format" },
		{ LAB_ENOSPC, "environment block too small" },
		{ LAB_EIO, "input/output error" },
		{ LAB_EPERM, "permission denied" },
		{ LAB_ENOMEM, "out of memory" },
		{ LAB_ESPAWN, "cannot run program" },
		{ LAB_ETIMEDOUT, "timed out" },
		{ LAB_EPROGRAM, "program failed" },
		{ LAB_EBUSY, "resource busy" },
		{ LAB_EINFRA, "lab infrastructure error" },
		{ LAB_EFAIL, "machine under test failed" },
		{ LAB_EINTR, "interrupted" },
	};
	size_t i;
	int c;

	(void)state;
	assert_int_equal(sizeof(want) / sizeof(want[0]), LAB_ERR_MAX);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_string_equal(lab_strerror(want[i].code), want[i].text);
		assert_string_equal(lab_strerror(-want[i].code), want[i].text);
	}
	/* Every code has its own text. */
	for (c = 0; c < LAB_ERR_MAX; c++) {
		int d;

		assert_string_not_equal(lab_strerror(c), "unknown error");
		for (d = c + 1; d < LAB_ERR_MAX; d++)
			assert_string_not_equal(lab_strerror(c),
						lab_strerror(d));
	}
	assert_string_equal(lab_strerror(LAB_ERR_MAX), "unknown error");
	assert_string_equal(lab_strerror(-LAB_ERR_MAX), "unknown error");
	assert_string_equal(lab_strerror(12345), "unknown error");
	assert_string_equal(lab_strerror(INT_MAX), "unknown error");
	assert_string_equal(lab_strerror(-INT_MAX), "unknown error");
}

static void test_err_record(void **state)
{
	char big[3000];

	(void)state;
	lab_err_clear();
	assert_string_equal(lab_errmsg(-LAB_EIO), "input/output error");

	assert_int_equal(lab_err(LAB_EIO, "cannot write %s: %d", "f.bin", 7),
			 -LAB_EIO);
	assert_string_equal(lab_errmsg(-LAB_EIO), "cannot write f.bin: 7");
	assert_string_equal(lab_errmsg(LAB_EIO), "cannot write f.bin: 7");
	/* A different code does not get this message. */
	assert_string_equal(lab_errmsg(-LAB_EPERM), "permission denied");

	/* Negative codes are accepted too. */
	assert_int_equal(lab_err(-LAB_ECONFIG, "x"), -LAB_ECONFIG);
	assert_string_equal(lab_errmsg(-LAB_ECONFIG), "x");

	/* The newest message wins. */
	assert_int_equal(lab_err(LAB_ECONFIG, "second"), -LAB_ECONFIG);
	assert_string_equal(lab_errmsg(-LAB_ECONFIG), "second");

	lab_err_clear();
	assert_string_equal(lab_errmsg(-LAB_ECONFIG), "configuration error");

	/* An over-long message is truncated, not overflowed. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(lab_err(LAB_EFORMAT, "%s", big), -LAB_EFORMAT);
	assert_in_range(strlen(lab_errmsg(-LAB_EFORMAT)), 500, 1023);
	assert_int_equal(strspn(lab_errmsg(-LAB_EFORMAT), "x"),
			 strlen(lab_errmsg(-LAB_EFORMAT)));
	lab_err_clear();
}

static int verr_helper(int code, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = lab_verr(code, fmt, ap);
	va_end(ap);
	return ret;
}

static void test_err_verr(void **state)
{
	(void)state;
	assert_int_equal(verr_helper(LAB_EBUSY, "%s is held by %d", "hp2540p",
				     4242),
			 -LAB_EBUSY);
	assert_string_equal(lab_errmsg(-LAB_EBUSY), "hp2540p is held by 4242");
	lab_err_clear();
}

static void test_err_errno(void **state)
{
	static const struct {
		int e;
		int code;
	} map[] = {
		{ ENOENT, LAB_ENOENT },	{ ENOTDIR, LAB_ENOENT },
		{ EACCES, LAB_EPERM },	{ EPERM, LAB_EPERM },
		{ EROFS, LAB_EPERM },
		/* A full disk is an infrastructure problem (exit 3), not
		 * LAB_ENOSPC ("does not fit", a usage error). */
		{ ENOSPC, LAB_EIO },	{ EDQUOT, LAB_EIO },
		{ EFBIG, LAB_EIO },	{ ENOMEM, LAB_ENOMEM },
		{ ETIMEDOUT, LAB_ETIMEDOUT }, { EINTR, LAB_EINTR },
		{ EBUSY, LAB_EBUSY },	{ EAGAIN, LAB_EBUSY },
		{ EINVAL, LAB_EINVAL },	{ EIO, LAB_EIO },
		{ EXDEV, LAB_EIO },	{ EBADF, LAB_EIO },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		char want[512];
		int ret;

		ret = lab_err_errno(map[i].e, "cannot open %s", "/x/y");
		if (ret != -map[i].code)
			fail_msg("errno %d (%s): got %d, want %d", map[i].e,
				 strerror(map[i].e), ret, -map[i].code);
		snprintf(want, sizeof(want), "cannot open /x/y: %s",
			 strerror(map[i].e));
		assert_string_equal(lab_errmsg(ret), want);
	}
	lab_err_clear();
}

static void test_err_exit_code(void **state)
{
	static const struct {
		int code;
		int exit;
	} map[] = {
		{ LAB_OK, LAB_EXIT_PASS },
		{ LAB_EFAIL, LAB_EXIT_FAIL },
		{ LAB_EINVAL, LAB_EXIT_USAGE },
		{ LAB_EUSAGE, LAB_EXIT_USAGE },
		{ LAB_ECONFIG, LAB_EXIT_USAGE },
		{ LAB_ENOENT, LAB_EXIT_USAGE },
		{ LAB_EFORMAT, LAB_EXIT_USAGE },
		{ LAB_ENOSPC, LAB_EXIT_USAGE },
		{ LAB_EIO, LAB_EXIT_INFRA },
		{ LAB_EPERM, LAB_EXIT_INFRA },
		{ LAB_ENOMEM, LAB_EXIT_INFRA },
		{ LAB_ESPAWN, LAB_EXIT_INFRA },
		{ LAB_ETIMEDOUT, LAB_EXIT_INFRA },
		{ LAB_EPROGRAM, LAB_EXIT_INFRA },
		{ LAB_EBUSY, LAB_EXIT_INFRA },
		{ LAB_EINFRA, LAB_EXIT_INFRA },
		{ LAB_EINTR, LAB_EXIT_INFRA },
	};
	size_t i;

	(void)state;
	assert_int_equal(LAB_EXIT_PASS, 0);
	assert_int_equal(LAB_EXIT_FAIL, 1);
	assert_int_equal(LAB_EXIT_USAGE, 2);
	assert_int_equal(LAB_EXIT_INFRA, 3);
	assert_int_equal(sizeof(map) / sizeof(map[0]), LAB_ERR_MAX);
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (lab_exit_code(map[i].code) != map[i].exit ||
		    lab_exit_code(-map[i].code) != map[i].exit)
			fail_msg("%s: exit %d/%d, want %d",
				 lab_strerror(map[i].code),
				 lab_exit_code(map[i].code),
				 lab_exit_code(-map[i].code), map[i].exit);
	}
	/* Unknown codes are treated as infrastructure trouble. */
	assert_int_equal(lab_exit_code(-LAB_ERR_MAX), LAB_EXIT_INFRA);
	assert_int_equal(lab_exit_code(999), LAB_EXIT_INFRA);
}

static void *err_thread(void *arg)
{
	bool *ok = arg;

	lab_err(LAB_EIO, "thread message");
	*ok = strcmp(lab_errmsg(-LAB_EIO), "thread message") == 0;
	return NULL;
}

static void test_err_thread_local(void **state)
{
	pthread_t t;
	bool ok = false;

	(void)state;
	lab_err(LAB_EIO, "main message");
	assert_int_equal(pthread_create(&t, NULL, err_thread, &ok), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(ok);
	assert_string_equal(lab_errmsg(-LAB_EIO), "main message");
	lab_err_clear();
}

/* -------------------------------------------------------------- strbuf */

static void test_strbuf_empty(void **state)
{
	struct strbuf sb = STRBUF_INIT, sb2;
	char *p;
	size_t len = 99;

	(void)state;
	assert_string_equal(strbuf_str(&sb), "");
	assert_int_equal(sb.len, 0);
	strbuf_rtrim(&sb);
	strbuf_reset(&sb);
	strbuf_setlen(&sb, 0);
	assert_null(sb.buf);
	strbuf_release(&sb);

	/* Detach of an unused buffer gives an empty, freeable string. */
	p = strbuf_detach(&sb, &len);
	assert_non_null(p);
	assert_string_equal(p, "");
	assert_int_equal(len, 0);
	free(p);

	strbuf_init(&sb2);
	assert_null(sb2.buf);
	assert_int_equal(sb2.len, 0);
	assert_int_equal(sb2.alloc, 0);
	strbuf_grow(&sb2, 0);
	assert_non_null(sb2.buf);
	assert_string_equal(sb2.buf, "");
	strbuf_release(&sb2);
	assert_null(sb2.buf);
}

static void test_strbuf_binary(void **state)
{
	static const char data[] = { 'a', 0, 'b', 0, (char)0xff, 0, 0, 'z' };
	struct strbuf sb = STRBUF_INIT;
	char *p;
	size_t len, i;

	(void)state;
	strbuf_add(&sb, data, sizeof(data));
	assert_int_equal(sb.len, sizeof(data));
	assert_memory_equal(sb.buf, data, sizeof(data));
	assert_int_equal(sb.buf[sb.len], 0);

	/* addf after binary content keeps the NULs before it. */
	strbuf_addf(&sb, "<%d|%s>", 42, "x");
	assert_int_equal(sb.len, sizeof(data) + 6);
	assert_memory_equal(sb.buf, data, sizeof(data));
	assert_memory_equal(sb.buf + sizeof(data), "<42|x>", 7);

	strbuf_addch(&sb, '\0');
	strbuf_addstr(&sb, "tail");
	assert_int_equal(sb.len, sizeof(data) + 6 + 1 + 4);
	assert_int_equal(sb.buf[sizeof(data) + 6], 0);
	assert_string_equal(sb.buf + sizeof(data) + 7, "tail");

	/* Adding nothing keeps it as it is. */
	strbuf_add(&sb, "", 0);
	strbuf_addstr(&sb, "");
	strbuf_addf(&sb, "%s", "");
	assert_int_equal(sb.len, sizeof(data) + 11);

	/* Many small appends: contents and terminator stay right. */
	strbuf_reset(&sb);
	assert_int_equal(sb.len, 0);
	assert_string_equal(sb.buf, "");
	for (i = 0; i < 10000; i++)
		strbuf_addch(&sb, (char)(i % 251));
	assert_int_equal(sb.len, 10000);
	assert_true(sb.alloc > sb.len);
	for (i = 0; i < 10000; i++)
		assert_int_equal((unsigned char)sb.buf[i], i % 251);
	assert_int_equal(sb.buf[sb.len], 0);

	p = strbuf_detach(&sb, &len);
	assert_int_equal(len, 10000);
	assert_int_equal((unsigned char)p[250], 250);
	assert_int_equal(p[len], 0);
	assert_null(sb.buf);
	assert_int_equal(sb.len, 0);
	assert_int_equal(sb.alloc, 0);
	free(p);

	/* detach without wanting the length */
	strbuf_addstr(&sb, "abc");
	p = strbuf_detach(&sb, NULL);
	assert_string_equal(p, "abc");
	free(p);
}

static void test_strbuf_addf_grow(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	char want[2001];
	size_t alloc;

	(void)state;
	strbuf_addf(&sb, "%s", "");
	assert_string_equal(strbuf_str(&sb), "");
	strbuf_addf(&sb, "%d-%s-%c", -5, "ab", 'z');
	assert_string_equal(sb.buf, "-5-ab-z");
	assert_int_equal(sb.len, 7);
	/* Longer than the first allocation: the va_list is reused. */
	strbuf_addf(&sb, "%01000d%s", 7, "end");
	assert_int_equal(sb.len, 7 + 1003);
	assert_int_equal(sb.buf[7], '0');
	assert_int_equal(sb.buf[7 + 999], '7');
	assert_string_equal(sb.buf + 7 + 1000, "end");

	strbuf_reset(&sb);
	memset(want, 'q', 2000);
	want[2000] = '\0';
	strbuf_addf(&sb, "%s", want);
	assert_string_equal(sb.buf, want);

	/* grow reserves room without changing the contents. */
	strbuf_reset(&sb);
	strbuf_addstr(&sb, "keep");
	strbuf_grow(&sb, 100000);
	assert_true(sb.alloc >= 4 + 100000 + 1);
	assert_string_equal(sb.buf, "keep");
	alloc = sb.alloc;
	strbuf_add(&sb, want, 2000);
	assert_int_equal(sb.alloc, alloc);
	strbuf_release(&sb);
}

static void test_strbuf_setlen_rtrim(void **state)
{
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	strbuf_addstr(&sb, "hello world");
	strbuf_setlen(&sb, 5);
	assert_int_equal(sb.len, 5);
	assert_string_equal(sb.buf, "hello");
	strbuf_setlen(&sb, 0);
	assert_string_equal(sb.buf, "");

	strbuf_addstr(&sb, "  abc def \t\n\r\v\f ");
	strbuf_rtrim(&sb);
	assert_string_equal(sb.buf, "  abc def");
	assert_int_equal(sb.len, 9);
	strbuf_rtrim(&sb);
	assert_int_equal(sb.len, 9);

	strbuf_reset(&sb);
	strbuf_addstr(&sb, " \n\t ");
	strbuf_rtrim(&sb);
	assert_int_equal(sb.len, 0);
	assert_string_equal(sb.buf, "");

	/* A NUL is not whitespace: trimming stops there. */
	strbuf_reset(&sb);
	strbuf_add(&sb, "a\0  \n", 5);
	strbuf_rtrim(&sb);
	assert_int_equal(sb.len, 2);
	assert_memory_equal(sb.buf, "a\0", 3);

	/* Bytes >= 0x80 are not whitespace either. */
	strbuf_reset(&sb);
	strbuf_addstr(&sb, "x\xa0\xc2\x85");
	strbuf_rtrim(&sb);
	assert_int_equal(sb.len, 4);
	strbuf_release(&sb);
}

static void test_strbuf_read_file(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	char *path = scratch_path("read.bin");
	char *missing = scratch_path("no-such-file");
	char *empty = scratch_path("empty");
	size_t size = 200000; /* more than one 64 KiB chunk */
	char *data = xmalloc(size);
	int ret;

	(void)state;
	fill_random(data, size);
	data[0] = 0;
	data[size - 1] = 0;
	put_file(path, data, size, 0644);

	assert_int_equal(strbuf_read_file(&sb, path, 0), 0);
	assert_int_equal(sb.len, size);
	assert_memory_equal(sb.buf, data, size);
	assert_int_equal(sb.buf[sb.len], 0);

	/* Appends to what is there. */
	strbuf_reset(&sb);
	strbuf_addstr(&sb, "head:");
	assert_int_equal(strbuf_read_file(&sb, path, size), 0);
	assert_int_equal(sb.len, 5 + size);
	assert_memory_equal(sb.buf, "head:", 5);
	assert_memory_equal(sb.buf + 5, data, size);

	/* One byte over the limit: error, and the buffer is as before. */
	strbuf_reset(&sb);
	strbuf_addstr(&sb, "keep");
	ret = strbuf_read_file(&sb, path, size - 1);
	assert_int_equal(ret, -LAB_EFORMAT);
	assert_contains(lab_errmsg(ret), path);
	assert_contains(lab_errmsg(ret), "larger than");
	assert_contains(lab_errmsg(ret), "199999");
	assert_int_equal(sb.len, 4);
	assert_string_equal(sb.buf, "keep");
	/* Small limit hit in the first chunk. */
	ret = strbuf_read_file(&sb, path, 10);
	assert_int_equal(ret, -LAB_EFORMAT);
	assert_string_equal(sb.buf, "keep");

	/* Missing file: ENOENT, message names the path. */
	lab_err_clear();
	ret = strbuf_read_file(&sb, missing, 0);
	assert_int_equal(ret, -LAB_ENOENT);
	assert_contains(lab_errmsg(ret), missing);
	assert_contains(lab_errmsg(ret), "No such file");
	assert_string_equal(sb.buf, "keep");
	assert_int_equal(lab_exit_code(ret), LAB_EXIT_USAGE);

	/* Empty file into an unused buffer: a valid empty string. */
	put_file(empty, "", 0, 0644);
	strbuf_release(&sb);
	assert_int_equal(strbuf_read_file(&sb, empty, 1), 0);
	assert_non_null(sb.buf);
	assert_int_equal(sb.len, 0);

	/* A directory opens but does not read. */
	ret = strbuf_read_file(&sb, scratch, 0);
	assert_true(ret < 0);
	assert_contains(lab_errmsg(ret), scratch);

	/* Unreadable (root reads anything, so only as a user). */
	if (geteuid() != 0) {
		chmod(path, 0);
		ret = strbuf_read_file(&sb, path, 0);
		assert_int_equal(ret, -LAB_EPERM);
		assert_contains(lab_errmsg(ret), path);
		chmod(path, 0644);
	}

	strbuf_release(&sb);
	unlink(path);
	unlink(empty);
	free(path);
	free(missing);
	free(empty);
	free(data);
}

static void json_is(const char *in, const char *want)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_add_json_str(&sb, in);
	assert_string_equal(sb.buf, want);
	strbuf_release(&sb);
}

static void test_strbuf_json(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	char one[2] = { 0, 0 };
	int c;

	(void)state;
	json_is("", "\"\"");
	json_is("plain text", "\"plain text\"");
	json_is("say \"hi\"", "\"say \\\"hi\\\"\"");
	json_is("C:\\dir\\", "\"C:\\\\dir\\\\\"");
	json_is("a\nb\rc\td", "\"a\\nb\\rc\\td\"");
	json_is("\x01\x02\x1f", "\"\\u0001\\u0002\\u001f\"");
	json_is("\b\f", "\"\\u0008\\u000c\"");
	json_is("\x1b[0m", "\"\\u001b[0m\"");
	json_is("del\x7f", "\"del\\u007f\"");
	json_is("/ok/", "\"/ok/\"");
	json_is("h\xc3\xa9llo \xe2\x9c\x93", "\"h\xc3\xa9llo \xe2\x9c\x93\"");
	/* Not UTF-8: each bad byte becomes U+FFFD, so the JSON stays valid. */
	json_is("a\xff" "b", "\"a\\ufffdb\"");
	json_is("\xc3(", "\"\\ufffd(\"");
	json_is("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");	/* surrogate */
	json_is("\xc0\xaf", "\"\\ufffd\\ufffd\"");		/* overlong */
	json_is("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");	/* U+1F600 */

	/* Appends, does not replace. */
	strbuf_addstr(&sb, "{\"k\":");
	strbuf_add_json_str(&sb, "v");
	strbuf_addch(&sb, '}');
	assert_string_equal(sb.buf, "{\"k\":\"v\"}");

	/* No raw control byte ever comes out, for any single byte. */
	for (c = 1; c < 256; c++) {
		size_t i;

		strbuf_reset(&sb);
		one[0] = (char)c;
		strbuf_add_json_str(&sb, one);
		assert_int_equal(sb.buf[0], '"');
		assert_int_equal(sb.buf[sb.len - 1], '"');
		for (i = 0; i < sb.len; i++)
			assert_false((unsigned char)sb.buf[i] < 0x20);
		if (c < 0x20)
			assert_true(sb.len == 4 || sb.len == 8);
	}
	strbuf_release(&sb);
}

/* Run fn in a child; true if the child died instead of returning. */
static bool dies(void (*fn)(void))
{
	pid_t pid;
	int st;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null_fd = open("/dev/null", O_WRONLY);

		dup2(null_fd, 2);
		alarm(3); /* an endless loop also "dies", by SIGALRM */
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM)
		fail_msg("child hung instead of failing");
	return !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void grow_max_on_empty(void)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_grow(&sb, SIZE_MAX);
}

static void grow_max_on_some(void)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, "abc");
	strbuf_grow(&sb, SIZE_MAX);
}

static void grow_wrap(void)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, "abc");
	strbuf_grow(&sb, SIZE_MAX - 2);
}

static void grow_half(void)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_grow(&sb, SIZE_MAX / 2 + 10);
}

static void test_strbuf_grow_overflow(void **state)
{
	(void)state;
	/* A length that cannot be represented must never "succeed". */
	assert_true(dies(grow_max_on_empty));
	assert_true(dies(grow_max_on_some));
	assert_true(dies(grow_wrap));
	/* Too big to allocate: out of memory, not an endless loop. */
	assert_true(dies(grow_half));
}

/* ------------------------------------------------------------- shquote */

static void quote_is(const char *in, const char *want)
{
	struct strbuf sb = STRBUF_INIT;

	sh_quote(&sb, in);
	assert_string_equal(sb.buf, want);
	strbuf_release(&sb);
}

static void test_shquote_cases(void **state)
{
	(void)state;
	quote_is("abc", "abc");
	quote_is("/usr/bin/grub-editenv", "/usr/bin/grub-editenv");
	quote_is("next_entry=XMHF-build64", "next_entry=XMHF-build64");
	quote_is("--sl-base=0x20000000", "--sl-base=0x20000000");
	quote_is("a@b%c+d:e,f.g", "a@b%c+d:e,f.g");
	quote_is("-", "-");
	quote_is("", "''");
	quote_is("a b", "'a b'");
	quote_is(" ", "' '");
	quote_is("it's", "'it'\\''s'");
	quote_is("'", "''\\'''");
	quote_is("''", "''\\'''\\'''");
	quote_is("$HOME", "'$HOME'");
	quote_is("${x:-y}", "'${x:-y}'");
	quote_is("`id`", "'`id`'");
	quote_is("$(id)", "'$(id)'");
	quote_is("a\nb", "'a\nb'");
	quote_is("tab\there", "'tab\there'");
	quote_is("~", "'~'");
	quote_is("~root/x", "'~root/x'");
	quote_is("a~b", "'a~b'");
	quote_is("=ls", "'=ls'");
	quote_is("*", "'*'");
	quote_is("a?[b]", "'a?[b]'");
	quote_is("{a,b}", "'{a,b}'");
	quote_is("x;rm -rf /", "'x;rm -rf /'");
	quote_is("a|b&c", "'a|b&c'");
	quote_is("<in >out", "'<in >out'");
	quote_is("#comment", "'#comment'");
	quote_is("!bang", "'!bang'");
	quote_is("back\\slash", "'back\\slash'");
	quote_is("\"dq\"", "'\"dq\"'");
	quote_is("h\xc3\xa9llo", "'h\xc3\xa9llo'");
	quote_is("\xe2\x9c\x93", "'\xe2\x9c\x93'");
}

static void test_shquote_argv(void **state)
{
	static const char *const argv[] = { "grub-editenv", "/boot/grub/grubenv",
					    "set", "next_entry=XMHF build",
					    "", "it's", NULL };
	static const char *const empty[] = { NULL };
	static const char *const assign[] = { "FOO=bar", "x", NULL };
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	strbuf_addstr(&sb, "sudo ");
	sh_quote_argv(&sb, argv);
	assert_string_equal(sb.buf,
			    "sudo grub-editenv /boot/grub/grubenv set "
			    "'next_entry=XMHF build' '' 'it'\\''s'");
	strbuf_reset(&sb);
	sh_quote_argv(&sb, empty);
	assert_string_equal(strbuf_str(&sb), "");

	/* sh_quote appends too. */
	strbuf_reset(&sb);
	strbuf_addstr(&sb, "x=");
	sh_quote(&sb, "a b");
	assert_string_equal(sb.buf, "x='a b'");

	/* A command word that looks like NAME=value would be an assignment. */
	strbuf_reset(&sb);
	sh_quote_argv(&sb, assign);
	assert_string_equal(sb.buf, "'FOO=bar' x");
	strbuf_release(&sb);
}

/* The shells to prove quoting against: argv prefix ending in "-c". */
struct shell {
	const char *name;
	const char *argv[3];
	const char *env;
};

static const struct shell shells[] = {
	{ "sh", { "sh", "-c", NULL }, NULL },
	{ "dash", { "dash", "-c", NULL }, NULL },
	{ "bash", { "bash", "-c", NULL }, NULL },
	{ "bash", { "bash", "-c", NULL }, "LC_ALL=C.UTF-8" },
	{ "bash", { "bash", "--posix", "-c" }, NULL },
	{ "zsh", { "zsh", "-c", NULL }, NULL },
	{ "mksh", { "mksh", "-c", NULL }, NULL },
	{ "ksh", { "ksh", "-c", NULL }, NULL },
	{ "busybox", { "busybox", "sh", "-c" }, NULL },
};

/* Run script under shell; returns its stdout in out. */
static void run_shell(const struct shell *sh, const char *script,
		      struct strbuf *out)
{
	const char *argv[6];
	const char *env[] = { sh->env, NULL };
	struct strbuf err = STRBUF_INIT;
	struct spawn_opts o = { .out = out, .err = &err, .timeout_ms = 10000,
				.env_add = sh->env ? env : NULL };
	struct spawn_result r;
	int n = 0, ret;

	while (n < 3 && sh->argv[n])
		argv[n] = sh->argv[n], n++;
	argv[n++] = script;
	argv[n] = NULL;
	ret = lab_spawn(argv, &o, &r);
	if (ret || r.exit_code != 0)
		fail_msg("%s: ret %d exit %d: %s", sh->name, ret, r.exit_code,
			 err.buf ? err.buf : "");
	strbuf_release(&err);
}

/* A string likely to break a quoting mistake. */
static size_t nasty_string(char *buf, size_t max)
{
	static const char special[] = "'\"\\$`!*?[]{}()<>|&;#~= \t\n%@+,.:/-^";
	size_t len = rng() % max, i;

	for (i = 0; i < len; i++) {
		uint64_t r = rng();

		switch (r % 4) {
		case 0:
		case 1:
			buf[i] = special[(r >> 8) % (sizeof(special) - 1)];
			break;
		case 2:
			buf[i] = "abcXYZ019_"[(r >> 8) % 10];
			break;
		default:
			buf[i] = (char)(1 + (r >> 8) % 255); /* any but NUL */
		}
	}
	buf[len] = '\0';
	return len;
}

#define N_STRINGS 400

static void test_shquote_roundtrip(void **state)
{
	static const char *const fixed[] = {
		"", " ", "'", "''", "'\\''", "a'b", "\\", "\\'", "$", "$$",
		"$HOME", "${HOME}", "`", "`id`", "$(id)", "\n", "\n\n", "a\nb",
		"~", "~root", "~/x", "=", "=ls", "a=b", "*", "?", "[a]", "{a,b}",
		"!", "!!", "#", "-n", "-e", "--", "%s", "\\n", "\\0",
		"h\xc3\xa9llo", "\xe2\x9c\x93", "\xff\xfe", "\x01\x7f", "\t",
		"a  b", "IFS", "$IFS", ";", "&&", "|", "<", ">", "(", ")",
	};
	size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
	char **in = xcalloc(nfixed + N_STRINGS, sizeof(*in));
	size_t n = 0, s, i, tested = 0;
	struct strbuf script = STRBUF_INIT, out = STRBUF_INIT;

	(void)state;
	for (i = 0; i < nfixed; i++)
		in[n++] = xstrdup(fixed[i]);
	rng_state = 0x1234567887654321ULL;
	for (i = 0; i < N_STRINGS; i++) {
		char buf[64];

		nasty_string(buf, sizeof(buf));
		in[n++] = xstrdup(buf);
	}

	/* One printf per shell: each value comes back followed by a NUL. */
	strbuf_addstr(&script, "printf '%s\\000'");
	for (i = 0; i < n; i++) {
		strbuf_addch(&script, ' ');
		sh_quote(&script, in[i]);
	}

	for (s = 0; s < sizeof(shells) / sizeof(shells[0]); s++) {
		const char *p, *end;

		if (!lab_have_program(shells[s].argv[0]))
			continue;
		strbuf_reset(&out);
		run_shell(&shells[s], script.buf, &out);
		p = out.buf;
		end = out.buf + out.len;
		for (i = 0; i < n; i++) {
			size_t len = strlen(in[i]);

			if (p + len >= end || memcmp(p, in[i], len) || p[len])
				fail_msg("%s%s: value %zu ('%s') did not survive "
					 "quoting", shells[s].name,
					 shells[s].env ? " (UTF-8)" : "", i,
					 in[i]);
			p += len + 1;
		}
		assert_true(p == end);
		tested++;
	}
	assert_true(tested >= 2); /* at least sh and one more */

	/* Each fixed value alone, as `printf %s VALUE`, under /bin/sh. */
	for (i = 0; i < nfixed; i++) {
		strbuf_reset(&script);
		strbuf_addstr(&script, "printf %s ");
		sh_quote(&script, in[i]);
		strbuf_reset(&out);
		run_shell(&shells[0], script.buf, &out);
		assert_int_equal(out.len, strlen(in[i]));
		assert_memory_equal(out.buf ? out.buf : "", in[i], out.len);
	}

	for (i = 0; i < n; i++)
		free(in[i]);
	free(in);
	strbuf_release(&script);
	strbuf_release(&out);
}

/* Quoting twice survives two shells, as `ssh host sudo sh -c CMD` needs. */
static void test_shquote_nested(void **state)
{
	struct strbuf inner = STRBUF_INIT, outer = STRBUF_INIT,
		      out = STRBUF_INIT;
	const char *const argv[] = { "printf", "%s|", "a'b", "$HOME", "`x`",
				     "two words", "", "\\\n", NULL };
	int i;

	(void)state;
	sh_quote_argv(&inner, argv);
	strbuf_addstr(&outer, "sh -c ");
	sh_quote(&outer, inner.buf);
	run_shell(&shells[0], outer.buf, &out);
	assert_string_equal(out.buf, "a'b|$HOME|`x`|two words||\\\n|");

	/* Random values, three levels deep. */
	rng_state = 42;
	for (i = 0; i < 20; i++) {
		char buf[40];
		const char *a[] = { "printf", "%s", buf, NULL };

		nasty_string(buf, sizeof(buf));
		strbuf_reset(&inner);
		strbuf_reset(&outer);
		strbuf_reset(&out);
		sh_quote_argv(&inner, a);
		strbuf_addstr(&outer, "sh -c ");
		sh_quote(&outer, inner.buf);
		strbuf_reset(&inner);
		strbuf_addstr(&inner, "sh -c ");
		sh_quote(&inner, outer.buf);
		run_shell(&shells[0], inner.buf, &out);
		assert_int_equal(out.len, strlen(buf));
		assert_memory_equal(strbuf_str(&out), buf, out.len);
	}
	strbuf_release(&inner);
	strbuf_release(&outer);
	strbuf_release(&out);
}

/* The command word NAME=value really runs the program of that name. */
static void test_shquote_assignment_word(void **state)
{
	char *dir = scratch_path("bin");
	char *prog = scratch_path("bin/run=me");
	char *pathvar = xasprintf("PATH=%s:/usr/bin:/bin", dir);
	const char *const argv[] = { "run=me", "arg", NULL };
	const char *const env[] = { pathvar, NULL };
	struct strbuf line = STRBUF_INIT, out = STRBUF_INIT;
	struct spawn_opts o = { .out = &out, .env_add = env, .quiet = true };
	const char *sh[] = { "sh", "-c", NULL, NULL };
	struct spawn_result r;

	(void)state;
	assert_int_equal(mkdir(dir, 0755), 0);
	put_file(prog, "#!/bin/sh\necho \"ran $1\"\n", 24, 0755);
	sh_quote_argv(&line, argv);
	sh[2] = line.buf;
	assert_int_equal(lab_spawn(sh, &o, &r), 0);
	assert_int_equal(r.exit_code, 0);
	assert_string_equal(strbuf_str(&out), "ran arg\n");
	strbuf_release(&line);
	strbuf_release(&out);
	unlink(prog);
	rmdir(dir);
	free(dir);
	free(prog);
	free(pathvar);
}

/* --------------------------------------------------------------- clock */

static void test_clock_parse_ok(void **state)
{
	static const struct {
		const char *s;
		int64_t ms;
	} ok[] = {
		{ "500ms", 500 },	 { "250ms", 250 },
		{ "0ms", 0 },		 { "30s", 30000 },
		{ "1.5s", 1500 },	 { "0.25s", 250 },
		{ "2m", 120000 },	 { "2min", 120000 },
		{ "1h", 3600000 },	 { "1.5h", 5400000 },
		{ "2d", 172800000 },	 { "10", 10000 },
		{ "0", 0 },		 { "0.5", 500 },
		{ "90", 90000 },	 { "1000000s", 1000000000 },
		{ "100000d", 8640000000000LL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int64_t ms = -1;
		int ret = lab_parse_duration_ms(ok[i].s, &ms);

		if (ret != 0 || ms != ok[i].ms)
			fail_msg("'%s': ret %d ms %lld, want %lld", ok[i].s, ret,
				 (long long)ms, (long long)ok[i].ms);
	}
}

static void test_clock_parse_errors(void **state)
{
	static const char *const bad[] = {
		"", "-1", "-5s", "-0.5ms", "10x", "s", "ms", "abc", "5 s",
		"5sec", "1h30m", "5S", "1e400", "1e300d", "99999999999999999d",
		"200000000000000s", "nan", "NaN", "nans", "inf", "infs",
		"-inf", "1.5.5s", "5s ", "1,5s",
	};
	size_t i;
	int ret;
	int64_t ms;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ms = 777;
		lab_err_clear();
		ret = lab_parse_duration_ms(bad[i], &ms);
		if (ret != -LAB_EINVAL || ms != 777)
			fail_msg("'%s' was accepted (ret %d, ms %lld)", bad[i],
				 ret, (long long)ms);
		if (*bad[i]) {
			assert_contains(lab_errmsg(ret), bad[i]);
			assert_contains(lab_errmsg(ret), "30s");
		} else {
			assert_contains(lab_errmsg(ret), "empty");
		}
	}
	ms = 777;
	assert_int_equal(lab_parse_duration_ms(NULL, &ms), -LAB_EINVAL);
	assert_int_equal(ms, 777);
	lab_err_clear();
}

struct tz_saved {
	char *tz;
};

static void tz_set(struct tz_saved *s, const char *tz)
{
	const char *old = getenv("TZ");

	s->tz = old ? xstrdup(old) : NULL;
	setenv("TZ", tz, 1);
	tzset();
}

static void tz_restore(struct tz_saved *s)
{
	if (s->tz)
		setenv("TZ", s->tz, 1);
	else
		unsetenv("TZ");
	tzset();
	free(s->tz);
}

static void test_clock_timestamps(void **state)
{
	struct tz_saved tz;
	char buf[64];
	size_t i;

	(void)state;
	tz_set(&tz, "UTC0");
	lab_timestamp_name(buf, sizeof(buf), 0);
	assert_string_equal(buf, "19700101000000");
	lab_timestamp_name(buf, sizeof(buf), 1661518775);
	assert_string_equal(buf, "20220826125935");
	lab_timestamp_name(buf, 15, 1661518775);
	assert_string_equal(buf, "20220826125935");
	lab_timestamp_iso(buf, sizeof(buf), 1661518775123456789LL);
	assert_string_equal(buf, "2022-08-26T12:59:35.123456+00:00");
	lab_timestamp_iso(buf, sizeof(buf), 1661518775000000999LL);
	assert_string_equal(buf, "2022-08-26T12:59:35.000000+00:00");
	tz_restore(&tz);

	tz_set(&tz, "XST-5:30");
	lab_timestamp_name(buf, sizeof(buf), 1661518775);
	assert_string_equal(buf, "20220826182935");
	lab_timestamp_iso(buf, sizeof(buf), 1661518775123456789LL);
	assert_string_equal(buf, "2022-08-26T18:29:35.123456+05:30");
	tz_restore(&tz);

	tz_set(&tz, "XST3");
	lab_timestamp_iso(buf, sizeof(buf), 1661518775123456789LL);
	assert_string_equal(buf, "2022-08-26T09:59:35.123456-03:00");
	tz_restore(&tz);

	/* Now, in whatever zone we run: exactly 14 digits. */
	lab_timestamp_name(buf, sizeof(buf), time(NULL));
	assert_int_equal(strlen(buf), 14);
	for (i = 0; i < 14; i++)
		assert_true(buf[i] >= '0' && buf[i] <= '9');
	assert_memory_equal(buf, "20", 2);
}

static void test_clock_monotonic(void **state)
{
	int64_t prev = lab_mono_ns(), t0, t1, w;
	int i;

	(void)state;
	assert_true(prev > 0);
	for (i = 0; i < 10000; i++) {
		int64_t now = lab_mono_ns();

		assert_true(now >= prev);
		prev = now;
	}
	t0 = lab_mono_ns();
	lab_sleep_ms(20);
	t1 = lab_mono_ns();
	assert_true(t1 - t0 >= 20 * 1000000LL);
	assert_true(t1 - t0 < 2000 * 1000000LL);
	assert_true(lab_mono_ms() >= t1 / 1000000);

	/* Zero or negative sleeps return at once. */
	t0 = lab_mono_ms();
	lab_sleep_ms(0);
	lab_sleep_ms(-100);
	assert_true(lab_mono_ms() - t0 < 50);

	w = lab_wall_ns();
	assert_true(llabs(w / 1000000000 - (int64_t)time(NULL)) <= 2);
}

/* --------------------------------------------------------------- spawn */

static void test_spawn_capture(void **state)
{
	const char *const argv[] = {
		"sh", "-c", "echo out1; echo err1 >&2; printf 'out2'; exit 0",
		NULL
	};
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	struct spawn_opts o = { .out = &out, .err = &err };
	struct spawn_result r = { .exit_code = 99 };

	(void)state;
	assert_int_equal(lab_spawn(argv, &o, &r), 0);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(r.term_signal, 0);
	assert_false(r.timed_out);
	assert_true(r.elapsed_ms >= 0 && r.elapsed_ms < 5000);
	assert_string_equal(out.buf, "out1\nout2");
	assert_string_equal(err.buf, "err1\n");

	/* err_to_out: one stream, in order; the err buffer stays unused. */
	strbuf_reset(&out);
	strbuf_reset(&err);
	{
		const char *const a[] = { "sh", "-c",
					  "echo a; echo b >&2; echo c", NULL };
		struct spawn_opts o2 = { .out = &out, .err = &err,
					 .err_to_out = true };

		assert_int_equal(lab_spawn(a, &o2, &r), 0);
		assert_string_equal(out.buf, "a\nb\nc\n");
		assert_int_equal(err.len, 0);
	}

	/* Binary output with NULs comes back whole. */
	strbuf_reset(&out);
	{
		const char *const a[] = { "printf", "a\\000b\\377", NULL };
		struct spawn_opts o3 = { .out = &out };

		assert_int_equal(lab_spawn(a, &o3, NULL), 0);
		assert_int_equal(out.len, 4);
		assert_memory_equal(out.buf, "a\0b\xff", 4);
	}

	/* opts and res may both be NULL. */
	{
		const char *const a[] = { "true", NULL };

		assert_int_equal(lab_spawn(a, NULL, NULL), 0);
	}
	strbuf_release(&out);
	strbuf_release(&err);
}

static void test_spawn_big_stdin(void **state)
{
	size_t size = 1 << 20;
	char *data = xmalloc(size);
	const char *const cat[] = { "cat", NULL };
	/* Both outputs at once, each 1 MiB, while input is still coming. */
	const char *const tee[] = { "tee", "/dev/stderr", NULL };
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	struct spawn_opts o = { .out = &out, .err = &err, .stdin_data = data,
				.stdin_len = size, .timeout_ms = 20000 };
	struct spawn_result r;

	(void)state;
	fill_random(data, size);
	assert_int_equal(lab_spawn(cat, &o, &r), 0);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(out.len, size);
	assert_memory_equal(out.buf, data, size);
	assert_int_equal(err.len, 0);

	strbuf_reset(&out);
	assert_int_equal(lab_spawn(tee, &o, &r), 0);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(out.len, size);
	assert_int_equal(err.len, size);
	assert_memory_equal(out.buf, data, size);
	assert_memory_equal(err.buf, data, size);

	/* Small input, and empty input (an immediate EOF, not /dev/null). */
	strbuf_reset(&out);
	o.stdin_data = "line\n";
	o.stdin_len = 5;
	assert_int_equal(lab_spawn(cat, &o, &r), 0);
	assert_string_equal(out.buf, "line\n");
	strbuf_reset(&out);
	o.stdin_len = 0;
	assert_int_equal(lab_spawn(cat, &o, &r), 0);
	assert_int_equal(out.len, 0);

	/* No stdin_data: stdin is /dev/null, never our terminal. */
	{
		const char *const a[] = { "sh", "-c", "readlink /proc/self/fd/0",
					  NULL };
		struct spawn_opts o2 = { .out = &out };

		strbuf_reset(&out);
		assert_int_equal(lab_spawn(a, &o2, &r), 0);
		assert_string_equal(out.buf, "/dev/null\n");
	}

	/* A program that does not read its input (SIGPIPE is ignored by
	 * labctl's main(), as here). */
	{
		const char *const a[] = { "true", NULL };

		o.stdin_data = data;
		o.stdin_len = size;
		assert_int_equal(lab_spawn(a, &o, &r), 0);
		assert_int_equal(r.exit_code, 0);
	}
	strbuf_release(&out);
	strbuf_release(&err);
	free(data);
}

static void test_spawn_exit_codes(void **state)
{
	static const int codes[] = { 0, 1, 2, 3, 7, 125, 126, 255 };
	struct spawn_opts o = { .quiet = true };
	struct spawn_result r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		char script[32];
		const char *const a[] = { "sh", "-c", script, NULL };

		snprintf(script, sizeof(script), "exit %d", codes[i]);
		assert_int_equal(lab_spawn(a, &o, &r), 0);
		assert_int_equal(r.exit_code, codes[i]);
		assert_int_equal(r.term_signal, 0);
	}
	{
		const char *const a[] = { "sh", "-c", "kill -KILL $$", NULL };

		assert_int_equal(lab_spawn(a, &o, &r), 0);
		assert_int_equal(r.exit_code, -1);
		assert_int_equal(r.term_signal, SIGKILL);
		assert_false(r.timed_out);
	}
	{
		const char *const a[] = { "sh", "-c", "kill -TERM $$", NULL };

		assert_int_equal(lab_spawn(a, &o, &r), 0);
		assert_int_equal(r.exit_code, -1);
		assert_int_equal(r.term_signal, SIGTERM);
	}
}

static void test_spawn_not_found(void **state)
{
	const char *const a[] = { "labctl-no-such-program-x9", "arg", NULL };
	const char *const b[] = { "/nonexistent/dir/prog", NULL };
	char *noexec = scratch_path("noexec.sh");
	const char *const c[] = { noexec, NULL };
	struct spawn_result r;
	int ret, fds = count_open_fds();

	(void)state;
	ret = lab_spawn(a, NULL, &r);
	assert_int_equal(ret, -LAB_ESPAWN);
	assert_contains(lab_errmsg(ret), "labctl-no-such-program-x9");
	assert_contains(lab_errmsg(ret), "not found");
	assert_int_equal(lab_exit_code(ret), LAB_EXIT_INFRA);

	ret = lab_spawn(b, NULL, &r);
	assert_int_equal(ret, -LAB_ESPAWN);
	assert_contains(lab_errmsg(ret), "/nonexistent/dir/prog");
	assert_contains(lab_errmsg(ret), "not found");

	/* Exists but is not executable (fails for root too). */
	put_file(noexec, "#!/bin/sh\nexit 0\n", 17, 0644);
	ret = lab_run(c, NULL);
	assert_int_equal(ret, -LAB_ESPAWN);
	assert_contains(lab_errmsg(ret), noexec);
	assert_contains(lab_errmsg(ret), strerror(EACCES));
	assert_int_equal(lab_spawn_bg(c, NULL), -LAB_ESPAWN);

	/* Failures leak no descriptors. */
	assert_int_equal(count_open_fds(), fds);
	unlink(noexec);
	free(noexec);
	lab_err_clear();
}

static void test_spawn_timeout_kills_group(void **state)
{
	char *pidfile = scratch_path("bg.pid");
	const char *const a[] = { "sh", "-c",
				  "sleep 30 & echo $! > \"$1\"; sleep 30", "sh",
				  pidfile, NULL };
	struct strbuf out = STRBUF_INIT;
	/* A short grace: where nobody reaps orphans (some containers), the
	 * dead background sleep stays a zombie in the group until SIGKILL. */
	struct spawn_opts o = { .out = &out, .timeout_ms = 300,
				.kill_grace_ms = 200 };
	struct spawn_result r;
	pid_t bg;
	int ret;

	(void)state;
	alarm(20);
	ret = lab_spawn(a, &o, &r);
	assert_int_equal(ret, -LAB_ETIMEDOUT);
	assert_true(r.timed_out);
	assert_int_equal(r.exit_code, -1);
	assert_true(r.elapsed_ms >= 300);
	assert_true(r.elapsed_ms < 3000);
	assert_contains(lab_errmsg(ret), "sh");
	assert_contains(lab_errmsg(ret), "300 ms");
	assert_int_equal(lab_exit_code(ret), LAB_EXIT_INFRA);

	bg = read_pidfile(pidfile, 1000);
	if (!wait_gone(bg, 1000))
		fail_msg("background sleep %d outlived the timeout", (int)bg);
	alarm(0);
	unlink(pidfile);
	free(pidfile);
	strbuf_release(&out);
}

static void test_spawn_timeout_variants(void **state)
{
	struct spawn_result r;
	int64_t t0;
	int ret;

	(void)state;
	alarm(20);
	/* Nothing captured: only the wait for the exit can time out. */
	{
		const char *const a[] = { "sleep", "30", NULL };
		struct spawn_opts o = { .quiet = true, .timeout_ms = 100 };

		t0 = lab_mono_ms();
		ret = lab_spawn(a, &o, &r);
		assert_int_equal(ret, -LAB_ETIMEDOUT);
		assert_true(r.timed_out);
		assert_true(lab_mono_ms() - t0 < 3000);
	}
	/* The program closed its output but keeps running. */
	{
		const char *const a[] = { "sh", "-c",
					  "exec >&- 2>&-; sleep 30", NULL };
		struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
		struct spawn_opts o = { .out = &out, .err = &err,
					.timeout_ms = 100 };

		t0 = lab_mono_ms();
		ret = lab_spawn(a, &o, &r);
		assert_int_equal(ret, -LAB_ETIMEDOUT);
		assert_true(lab_mono_ms() - t0 < 3000);
		strbuf_release(&out);
		strbuf_release(&err);
	}
	/* Blocked on a full stdin pipe. */
	{
		size_t size = 1 << 20;
		char *data = xzalloc(size);
		const char *const a[] = { "sleep", "30", NULL };
		struct spawn_opts o = { .quiet = true, .timeout_ms = 100,
					.stdin_data = data, .stdin_len = size };

		t0 = lab_mono_ms();
		ret = lab_spawn(a, &o, &r);
		assert_int_equal(ret, -LAB_ETIMEDOUT);
		assert_true(lab_mono_ms() - t0 < 3000);
		free(data);
	}
	/* SIGTERM ignored: SIGKILL after the grace time. */
	{
		const char *const a[] = { "sh", "-c", "trap '' TERM; sleep 30",
					  NULL };
		struct strbuf out = STRBUF_INIT;
		struct spawn_opts o = { .out = &out, .timeout_ms = 100,
					.kill_grace_ms = 150 };

		t0 = lab_mono_ms();
		ret = lab_spawn(a, &o, &r);
		assert_int_equal(ret, -LAB_ETIMEDOUT);
		assert_true(r.timed_out);
		assert_true(lab_mono_ms() - t0 >= 250);
		assert_true(lab_mono_ms() - t0 < 3000);
		strbuf_release(&out);
	}
	/* Finishing in time is not a timeout. */
	{
		const char *const a[] = { "sh", "-c", "echo hi", NULL };
		struct strbuf out = STRBUF_INIT;
		struct spawn_opts o = { .out = &out, .timeout_ms = 5000 };

		assert_int_equal(lab_spawn(a, &o, &r), 0);
		assert_false(r.timed_out);
		assert_int_equal(r.exit_code, 0);
		assert_string_equal(out.buf, "hi\n");
		strbuf_release(&out);
	}
	alarm(0);
	lab_err_clear();
}

/* A program that exits leaves no background children behind. */
static void test_spawn_leftovers_killed(void **state)
{
	char *pidfile = scratch_path("left.pid");
	const char *const a[] = { "sh", "-c",
				  "sleep 30 >/dev/null 2>&1 & echo $! > \"$1\"",
				  "sh", pidfile, NULL };
	struct strbuf out = STRBUF_INIT;
	struct spawn_opts o = { .out = &out, .timeout_ms = 5000 };
	struct spawn_result r;
	pid_t bg;

	(void)state;
	assert_int_equal(lab_spawn(a, &o, &r), 0);
	assert_int_equal(r.exit_code, 0);
	bg = read_pidfile(pidfile, 1000);
	if (!wait_gone(bg, 1000))
		fail_msg("background sleep %d outlived its parent", (int)bg);
	unlink(pidfile);
	free(pidfile);
	strbuf_release(&out);
}

/*
 * A program that exits while a background child still holds its stdout
 * (a daemon, an ssh ControlPersist master): lab_spawn returns when the
 * program is done, and the leftover is killed, not waited for.
 */
static void test_spawn_leftover_holds_pipe(void **state)
{
	char *pidfile = scratch_path("hold.pid");
	const char *const a[] = { "sh", "-c",
				  "echo before; sleep 30 & echo $! > \"$1\"",
				  "sh", pidfile, NULL };
	struct strbuf out = STRBUF_INIT;
	struct spawn_opts o = { .out = &out, .timeout_ms = 3000 };
	struct spawn_result r;
	int64_t t0 = lab_mono_ms();
	pid_t bg;

	(void)state;
	alarm(20);
	assert_int_equal(lab_spawn(a, &o, &r), 0);
	assert_int_equal(r.exit_code, 0);
	assert_false(r.timed_out);
	assert_true(lab_mono_ms() - t0 < 2000);
	assert_string_equal(out.buf, "before\n");
	bg = read_pidfile(pidfile, 1000);
	if (!wait_gone(bg, 1000))
		fail_msg("background sleep %d outlived its parent", (int)bg);
	alarm(0);
	unlink(pidfile);
	free(pidfile);
	strbuf_release(&out);
}

static void test_spawn_env_cwd(void **state)
{
	const char *const env[] = { "LABCTL_T_VAR=child", "LABCTL_T_NEW=new",
				    NULL };
	const char *const a[] = {
		"sh", "-c",
		"printf '%s|%s|%s|' \"$LABCTL_T_VAR\" \"$LABCTL_T_NEW\" "
		"\"$LABCTL_T_VAR2\"; env | grep -c '^LABCTL_T_VAR='",
		NULL
	};
	const char *const pwd[] = { "pwd", "-P", NULL };
	char real[PATH_MAX];
	struct strbuf out = STRBUF_INIT;
	struct spawn_opts o = { .out = &out, .env_add = env };
	struct spawn_result r;
	int ret;

	(void)state;
	setenv("LABCTL_T_VAR", "parent", 1);
	setenv("LABCTL_T_VAR2", "keep", 1);
	assert_int_equal(lab_spawn(a, &o, &r), 0);
	assert_string_equal(out.buf, "child|new|keep|1\n");
	/* Our own environment is untouched. */
	assert_string_equal(getenv("LABCTL_T_VAR"), "parent");
	assert_null(getenv("LABCTL_T_NEW"));
	unsetenv("LABCTL_T_VAR");
	unsetenv("LABCTL_T_VAR2");

	/* cwd */
	strbuf_reset(&out);
	assert_non_null(realpath(scratch, real));
	{
		struct spawn_opts o2 = { .out = &out, .cwd = scratch };

		assert_int_equal(lab_spawn(pwd, &o2, &r), 0);
		strbuf_rtrim(&out);
		assert_string_equal(out.buf, real);
	}
	/* A cwd that does not exist: the message says so, not "program not
	 * found". */
	{
		char *gone = scratch_path("no-such-dir");
		struct spawn_opts o3 = { .out = &out, .cwd = gone };

		ret = lab_spawn(pwd, &o3, &r);
		assert_int_equal(ret, -LAB_ESPAWN);
		assert_contains(lab_errmsg(ret), gone);
		assert_not_contains(lab_errmsg(ret), "not found");
		free(gone);
	}
	strbuf_release(&out);
	lab_err_clear();
}

static void test_spawn_quiet_inherit(void **state)
{
	struct stderr_capture cap;
	struct strbuf got = STRBUF_INIT, out = STRBUF_INIT;
	const char *const a[] = { "sh", "-c", "echo to-out; echo to-err >&2",
				  NULL };
	struct spawn_opts quiet = { .out = &out, .quiet = true };
	struct spawn_opts inherit = { .out = &out };

	(void)state;
	stderr_capture_begin(&cap);
	assert_int_equal(lab_spawn(a, &quiet, NULL), 0);
	stderr_capture_end(&cap, &got);
	assert_string_equal(out.buf, "to-out\n");
	assert_int_equal(got.len, 0);

	strbuf_reset(&out);
	stderr_capture_begin(&cap);
	assert_int_equal(lab_spawn(a, &inherit, NULL), 0);
	stderr_capture_end(&cap, &got);
	assert_string_equal(out.buf, "to-out\n");
	assert_string_equal(got.buf, "to-err\n");
	strbuf_release(&got);
	strbuf_release(&out);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* The descriptor numbers in a newline-separated list, sorted. */
static void fd_list(const char *text, struct strbuf *out)
{
	int fds[128], n = 0, i;
	char *end;

	while (*text && n < 128) {
		long v = strtol(text, &end, 10);

		if (end == text)
			break;
		fds[n++] = (int)v;
		text = end + strspn(end, "\n");
	}
	qsort(fds, (size_t)n, sizeof(fds[0]), cmp_int);
	for (i = 0; i < n; i++)
		strbuf_addf(out, "%d ", fds[i]);
}

/* The child gets 0, 1, 2 and what we hand down on purpose, nothing else. */
static void test_spawn_no_fd_leak(void **state)
{
	struct strbuf out = STRBUF_INIT, want = STRBUF_INIT, got = STRBUF_INIT,
		      ours = STRBUF_INIT;
	/* "; :" so the shell forks ls instead of exec'ing it: ls lists the
	 * shell's descriptors, which are what lab_spawn handed over. */
	const char *const a[] = { "sh", "-c", "ls /proc/$$/fd; :", NULL };
	struct spawn_opts o = { .out = &out, .stdin_data = "", .quiet = true };
	DIR *d;
	struct dirent *de;
	int before;

	(void)state;
	/* The descriptors of ours a child inherits. */
	strbuf_addstr(&ours, "0\n1\n2\n");
	d = opendir("/proc/self/fd");
	assert_non_null(d);
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] == '.' || fd <= 2 || fd == dirfd(d))
			continue;
		if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC))
			strbuf_addf(&ours, "%d\n", fd);
	}
	closedir(d);
	fd_list(ours.buf, &want);

	before = count_open_fds();
	assert_int_equal(lab_spawn(a, &o, NULL), 0);
	fd_list(out.buf, &got);
	assert_string_equal(got.buf, want.buf);
	assert_int_equal(count_open_fds(), before);
	strbuf_release(&out);
	strbuf_release(&want);
	strbuf_release(&got);
	strbuf_release(&ours);
}

static void test_run_messages(void **state)
{
	const char *const ok[] = { "true", NULL };
	const char *const bad[] = {
		"sh", "-c",
		"echo 'first line' >&2; echo 'disk on fire' >&2; exit 3", NULL
	};
	const char *const sig[] = { "sh", "-c", "echo dying >&2; kill -9 $$",
				    NULL };
	const char *const silent[] = { "false", NULL };
	const char *const noisy[] = {
		"sh", "-c",
		"i=0; while [ $i -lt 200 ]; do echo \"noise $i\" >&2; "
		"i=$((i+1)); done; echo 'the real reason' >&2; exit 1",
		NULL
	};
	struct strbuf err = STRBUF_INIT;
	struct spawn_opts mine = { .err = &err };
	const char *msg;
	int ret;

	(void)state;
	assert_int_equal(lab_run(ok, NULL), 0);

	ret = lab_run(bad, NULL);
	assert_int_equal(ret, -LAB_EPROGRAM);
	msg = lab_errmsg(ret);
	assert_contains(msg, "sh exited with status 3");
	assert_contains(msg, "disk on fire");
	/* The message is one tidy line-ish thing: no trailing newline. */
	assert_true(msg[strlen(msg) - 1] != '\n');
	assert_int_equal(lab_exit_code(ret), LAB_EXIT_INFRA);

	ret = lab_run(sig, NULL);
	assert_int_equal(ret, -LAB_EPROGRAM);
	assert_contains(lab_errmsg(ret), "killed by signal 9");
	assert_contains(lab_errmsg(ret), "dying");

	ret = lab_run(silent, NULL);
	assert_int_equal(ret, -LAB_EPROGRAM);
	assert_string_equal(lab_errmsg(ret), "false exited with status 1");

	/* Only the tail of a long stderr, which holds the reason. */
	ret = lab_run(noisy, NULL);
	assert_int_equal(ret, -LAB_EPROGRAM);
	msg = lab_errmsg(ret);
	assert_contains(msg, "the real reason");
	assert_not_contains(msg, "noise 0\n");
	assert_true(strlen(msg) < 600);

	/* The caller's own stderr buffer gets everything and is quoted. */
	ret = lab_run(bad, &mine);
	assert_int_equal(ret, -LAB_EPROGRAM);
	assert_string_equal(err.buf, "first line\ndisk on fire\n");
	assert_contains(lab_errmsg(ret), "disk on fire");

	/* Program not found stays ESPAWN through lab_run. */
	{
		const char *const a[] = { "labctl-no-such-program-x9", NULL };

		ret = lab_run(a, NULL);
		assert_int_equal(ret, -LAB_ESPAWN);
	}
	/* Timeout stays ETIMEDOUT through lab_run. */
	{
		const char *const a[] = { "sleep", "30", NULL };
		struct spawn_opts o = { .timeout_ms = 100, .quiet = true };

		alarm(20);
		ret = lab_run(a, &o);
		alarm(0);
		assert_int_equal(ret, -LAB_ETIMEDOUT);
	}
	strbuf_release(&err);
	lab_err_clear();
}

static void test_spawn_bg_kill_group(void **state)
{
	char *pidfile = scratch_path("bgk.pid");
	const char *const a[] = { "sh", "-c",
				  "sleep 30 & echo $! > \"$1\"; wait", "sh",
				  pidfile, NULL };
	const char *const stubborn[] = { "sh", "-c", "trap '' TERM; "
					 "echo $$ > \"$1\"; while :; do sleep 1; done",
					 "sh", pidfile, NULL };
	struct spawn_opts o = { .quiet = true };
	pid_t pid, bg;
	int64_t t0;

	(void)state;
	alarm(20);
	pid = lab_spawn_bg(a, &o);
	assert_true(pid > 0);
	bg = read_pidfile(pidfile, 2000);
	/* Its own process group, led by the child. */
	assert_int_equal(getpgid(pid), pid);
	assert_int_equal(getpgid(bg), pid);
	assert_true(getpgid(0) != pid);

	t0 = lab_mono_ms();
	lab_kill_group(pid, 150);
	waitpid(pid, NULL, WNOHANG);
	assert_true(wait_gone(pid, 1000));
	assert_true(wait_gone(bg, 1000));
	assert_true(lab_mono_ms() - t0 < 1500);
	unlink(pidfile);

	/* Ignores SIGTERM: SIGKILL after the grace time. */
	pid = lab_spawn_bg(stubborn, NULL);
	assert_true(pid > 0);
	read_pidfile(pidfile, 2000);
	t0 = lab_mono_ms();
	lab_kill_group(pid, 150);
	assert_true(lab_mono_ms() - t0 >= 150);
	assert_true(wait_gone(pid, 1000));
	waitpid(pid, NULL, 0);
	alarm(0);

	/* Nothing to kill: harmless. */
	lab_kill_group(0, 100);
	lab_kill_group(-1, 100);
	lab_kill_group(pid, 50); /* already gone and reaped */
	unlink(pidfile);
	free(pidfile);
}

/*
 * What a "labctl" (a forked copy of this test) leaves when it is
 * SIGKILLed while a program it started runs: the program and its
 * background child die with it, unless started with .outlive.
 */
struct fake_labctl {
	const char *const *argv;
	bool outlive;
	bool from_thread;	/* start from a thread that then ends */
};

static void *fake_labctl_thread(void *arg)
{
	const struct fake_labctl *f = arg;
	struct spawn_opts o = { .quiet = true, .outlive = f->outlive };

	if (lab_spawn_bg(f->argv, &o) < 0)
		_exit(3);
	return NULL;
}

static pid_t start_fake_labctl(const struct fake_labctl *f)
{
	pid_t fake = fork();

	assert_true(fake >= 0);
	if (fake == 0) {
		struct spawn_opts o = { .quiet = true, .outlive = f->outlive };
		pthread_t t;

		if (f->from_thread) {
			if (pthread_create(&t, NULL, fake_labctl_thread,
					   (void *)f) != 0)
				_exit(3);
			pthread_join(t, NULL);
			pause();
		}
		lab_spawn(f->argv, &o, NULL);
		_exit(0);
	}
	return fake;
}

static void test_spawn_dies_with_labctl(void **state)
{
	char *pidfile = scratch_path("orphan.pid");
	const char *const a[] = { "sh", "-c",
				  "sleep 300 & echo $$ $! > \"$1.tmp\"; "
				  "mv \"$1.tmp\" \"$1\"; sleep 300", "sh",
				  pidfile, NULL };
	struct strbuf sb = STRBUF_INIT;
	int round;

	(void)state;
	alarm(20);
	for (round = 0; round < 3; round++) {
		struct fake_labctl f = { .argv = a, .outlive = round == 2,
					 .from_thread = round == 1 };
		pid_t fake = start_fake_labctl(&f);
		long sh = 0, bg = 0;

		assert_true(read_pidfile(pidfile, 3000) > 0);
		strbuf_reset(&sb);
		assert_int_equal(strbuf_read_file(&sb, pidfile, 0), 0);
		assert_int_equal(sscanf(sb.buf, "%ld %ld", &sh, &bg), 2);
		unlink(pidfile);
		if (f.from_thread) {
			/* The thread that started it ended: it still runs. */
			lab_sleep_ms(200);
			assert_false(pid_gone((pid_t)sh));
		}
		kill(fake, SIGKILL);
		waitpid(fake, NULL, 0);
		if (f.outlive) {
			lab_sleep_ms(300);
			if (pid_gone((pid_t)sh) || pid_gone((pid_t)bg))
				fail_msg("an outlive program died with labctl");
			/* Its own session and group: ours to end now. */
			assert_int_equal(getsid((pid_t)sh), (pid_t)sh);
			kill(-(pid_t)sh, SIGKILL);
		}
		if (!wait_gone((pid_t)sh, 3000) || !wait_gone((pid_t)bg, 3000))
			fail_msg("round %d: %ld or %ld outlived labctl's SIGKILL",
				 round, sh, bg);
	}
	alarm(0);
	strbuf_release(&sb);
	free(pidfile);
}

/* No controlling terminal, a session of its own, stdin /dev/null. */
static void test_spawn_no_terminal(void **state)
{
	const char *const a[] = { "sh", "-c",
				  "cat /proc/self/stat; readlink /proc/self/fd/0",
				  NULL };
	struct strbuf out = STRBUF_INIT;
	struct spawn_opts o = { .out = &out, .timeout_ms = 10000 };
	struct spawn_result r;
	long session = 0, tty = -1, pgrp = 0;
	const char *p;

	(void)state;
	assert_int_equal(lab_spawn(a, &o, &r), 0);
	assert_int_equal(r.exit_code, 0);
	p = strrchr(out.buf, ')');
	assert_non_null(p);
	assert_int_equal(sscanf(p + 2, "%*c %*d %ld %ld %ld", &pgrp, &session,
				&tty), 3);
	assert_int_equal(tty, 0);
	assert_true(session != (long)getsid(0));
	assert_int_equal(pgrp, session);
	assert_non_null(strstr(out.buf, "\n/dev/null\n"));
	strbuf_release(&out);
}

static void test_have_program(void **state)
{
	char *dir = scratch_path("pbin");
	char *exe = scratch_path("pbin/labctl-t-exe");
	char *plain = scratch_path("pbin/labctl-t-plain");
	char *sub = scratch_path("pbin/labctl-t-dir");
	char *old = xstrdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	char *path = xasprintf("/nonexistent:%s:%s", dir, old);

	(void)state;
	assert_true(lab_have_program("sh"));
	assert_true(lab_have_program("cat"));
	assert_true(lab_have_program("/bin/sh"));
	assert_false(lab_have_program("labctl-no-such-program-x9"));
	assert_false(lab_have_program("/nonexistent/sh"));
	assert_false(lab_have_program("/etc/passwd"));
	/* A directory is not a program, with or without a slash. */
	assert_false(lab_have_program("/tmp"));
	assert_false(lab_have_program(""));

	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(mkdir(sub, 0755), 0);
	put_file(exe, "#!/bin/sh\n", 10, 0755);
	put_file(plain, "#!/bin/sh\n", 10, 0644);
	setenv("PATH", path, 1);
	assert_true(lab_have_program("labctl-t-exe"));
	assert_false(lab_have_program("labctl-t-plain"));
	assert_false(lab_have_program("labctl-t-dir"));
	setenv("PATH", old, 1);
	assert_false(lab_have_program("labctl-t-exe"));

	unlink(exe);
	unlink(plain);
	rmdir(sub);
	rmdir(dir);
	free(dir);
	free(exe);
	free(plain);
	free(sub);
	free(old);
	free(path);
}

/* -------------------------------------------------------------- fileio */

static void test_fileio_new_file(void **state)
{
	static const char data[] = "hello\0world\n";
	char *path = scratch_path("new.bin");
	struct stat st;
	mode_t old_umask = umask(022);

	(void)state;
	unlink(path);
	assert_int_equal(lab_write_file_atomic(path, data, sizeof(data), 0640),
			 0);
	assert_file_is(path, data, sizeof(data));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(count_temp_files(scratch), 0);
	unlink(path);

	/* The mode given is the mode, whatever the umask. */
	umask(077);
	assert_int_equal(lab_write_file_atomic(path, "x", 1, 0664), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0664);
	umask(old_umask);

	/* Empty content. */
	assert_int_equal(lab_write_file_atomic(path, "", 0, 0644), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(count_temp_files(scratch), 0);
	unlink(path);
	free(path);
}

static void test_fileio_replace(void **state)
{
	char *path = scratch_path("grubenv");
	struct stat before, after;
	size_t size = 300000;
	char *data = xmalloc(size);

	(void)state;
	put_file(path, "old contents", 12, 0600);
	assert_int_equal(stat(path, &before), 0);
	fill_random(data, size);
	assert_int_equal(lab_write_file_atomic(path, data, size, 0644), 0);
	assert_file_is(path, data, size);
	assert_int_equal(stat(path, &after), 0);
	/* The old file's mode is kept, not the one given. */
	assert_int_equal(after.st_mode & 07777, 0600);
	/* A new inode: replaced by rename, never rewritten in place. */
	assert_true(after.st_ino != before.st_ino);
	assert_int_equal(count_temp_files(scratch), 0);

	/* Short and interrupted writes still give the exact bytes. */
	inject.write_max = 1000;
	inject.write_eintr = true;
	fill_random(data, size);
	assert_int_equal(lab_write_file_atomic(path, data, size, 0644), 0);
	assert_true(inject.write_calls >= 2 * size / 1000);
	memset(&inject, 0, sizeof(inject));
	assert_file_is(path, data, size);
	assert_int_equal(count_temp_files(scratch), 0);

	/* Setuid-style bits are part of the mode too. */
	chmod(path, 02750);
	assert_int_equal(lab_write_file_atomic(path, "y", 1, 0644), 0);
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(after.st_mode & 07777, 02750);

	unlink(path);
	free(path);
	free(data);
}

/* Fail one step; the old file must be intact and no temp file left. */
static void check_failure(const char *what, int want_code,
			  const char *want_msg)
{
	static const char orig[] = "original\0bytes";
	char *path = scratch_path("victim");
	char *fresh = scratch_path("fresh");
	struct stat st;
	int ret;
	struct inject_state armed = inject;

	memset(&inject, 0, sizeof(inject));
	put_file(path, orig, sizeof(orig), 0640);
	inject = armed;
	ret = lab_write_file_atomic(path, "NEW DATA", 8, 0644);
	if (ret != -want_code)
		fail_msg("%s: got %d, want %d", what, ret, -want_code);
	assert_contains(lab_errmsg(ret), want_msg);
	assert_contains(lab_errmsg(ret), path);
	memset(&inject, 0, sizeof(inject));
	assert_file_is(path, orig, sizeof(orig));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(count_temp_files(scratch), 0);

	/* Same failure when there was no file: still no file afterwards. */
	inject = armed;
	unlink(fresh);
	ret = lab_write_file_atomic(fresh, "NEW DATA", 8, 0644);
	assert_int_equal(ret, -want_code);
	memset(&inject, 0, sizeof(inject));
	assert_int_equal(stat(fresh, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(count_temp_files(scratch), 0);

	unlink(path);
	free(path);
	free(fresh);
	lab_err_clear();
}

static void test_fileio_failures(void **state)
{
	(void)state;
	inject.write_errno = ENOSPC;
	check_failure("write ENOSPC", LAB_EIO, "No space left");

	/* Fails after part of the data went out. */
	inject.write_errno = EIO;
	inject.write_fail_after = 3;
	check_failure("partial write EIO", LAB_EIO, "cannot write");

	inject.fsync_errno = EIO;
	inject.fsync_nth = 1;
	check_failure("fsync EIO", LAB_EIO, "cannot write");

	inject.rename_errno = EACCES;
	check_failure("rename EACCES", LAB_EPERM, "cannot replace");

	inject.rename_errno = EXDEV;
	check_failure("rename EXDEV", LAB_EIO, "cannot replace");
}

static void test_fileio_dir_fsync_ignored(void **state)
{
	char *path = scratch_path("dirsync");

	(void)state;
	/* The directory fsync after the rename is best effort. */
	inject.fsync_errno = EIO;
	inject.fsync_nth = 2;
	assert_int_equal(lab_write_file_atomic(path, "abc", 3, 0644), 0);
	assert_int_equal(inject.fsync_calls, 2);
	assert_int_equal(inject.rename_calls, 1);
	memset(&inject, 0, sizeof(inject));
	assert_file_is(path, "abc", 3);
	unlink(path);
	free(path);
}

static void test_fileio_bad_places(void **state)
{
	char *missing = scratch_path("no-such-dir/sub/file");
	char *dir = scratch_path("a-directory");
	char *inside = scratch_path("a-directory/kept");
	int ret;

	(void)state;
	ret = lab_write_file_atomic(missing, "x", 1, 0644);
	assert_int_equal(ret, -LAB_ENOENT);
	assert_contains(lab_errmsg(ret), missing);
	assert_contains(lab_errmsg(ret), "No such file or directory");

	/* The target is a directory: refused, directory intact. */
	assert_int_equal(mkdir(dir, 0755), 0);
	put_file(inside, "k", 1, 0644);
	ret = lab_write_file_atomic(dir, "x", 1, 0644);
	assert_true(ret < 0);
	assert_contains(lab_errmsg(ret), dir);
	assert_file_is(inside, "k", 1);
	assert_int_equal(count_temp_files(scratch), 0);

	/* A directory we may not write to (root may, so only as a user). */
	if (geteuid() != 0) {
		char *ro = scratch_path("a-directory/ro");

		chmod(dir, 0555);
		ret = lab_write_file_atomic(ro, "x", 1, 0644);
		assert_int_equal(ret, -LAB_EPERM);
		assert_contains(lab_errmsg(ret), ro);
		chmod(dir, 0755);
		free(ro);
	}
	unlink(inside);
	rmdir(dir);
	free(missing);
	free(dir);
	free(inside);
	lab_err_clear();
}

/* ----------------------------------------------------- log and xmalloc */

static void test_log(void **state)
{
	struct stderr_capture cap;
	struct strbuf got = STRBUF_INIT;
	int saved = lab_log_get_level();

	(void)state;
	lab_log_set_level(LAB_LOG_INFO);
	stderr_capture_begin(&cap);
	lab_error_msg("boom %d", 7);
	lab_warn("careful");
	lab_info("plain");
	lab_debug("hidden");
	lab_log_set_prog("t");
	lab_log_set_level(LAB_LOG_TRACE);
	lab_debug("shown");
	lab_log(LAB_LOG_TRACE, "trace");
	lab_log_set_prog("labctl");
	lab_log_set_level(LAB_LOG_ERROR);
	lab_warn("quiet");
	stderr_capture_end(&cap, &got);
	assert_string_equal(got.buf, "labctl: error: boom 7\n"
				     "labctl: warning: careful\n"
				     "labctl: plain\n"
				     "t: debug: shown\n"
				     "t: trace: trace\n");

	lab_log_set_level(-3);
	assert_int_equal(lab_log_get_level(), LAB_LOG_ERROR);
	lab_log_set_level(99);
	assert_int_equal(lab_log_get_level(), LAB_LOG_TRACE);
	lab_log_set_level(saved);
	strbuf_release(&got);
}

static void test_xmalloc(void **state)
{
	char *p;
	int *z;
	size_t i;

	(void)state;
	p = xmalloc(0);
	assert_non_null(p);
	free(p);
	z = xzalloc(64 * sizeof(*z));
	for (i = 0; i < 64; i++)
		assert_int_equal(z[i], 0);
	z = xrealloc(z, 0);
	assert_non_null(z);
	free(z);
	z = xcalloc(0, 0);
	assert_non_null(z);
	free(z);

	p = xstrdup("dup me");
	assert_string_equal(p, "dup me");
	free(p);
	p = xstrndup("abcdef", 3);
	assert_string_equal(p, "abc");
	free(p);
	p = xstrndup("ab", 10);
	assert_string_equal(p, "ab");
	free(p);
	p = xasprintf("%s-%04d", "run", 42);
	assert_string_equal(p, "run-0042");
	free(p);
}

/* ---------------------------------------------------------------- main */

static int group_setup(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	/* labctl's main() does the same; a dead reader is EPIPE, not death. */
	signal(SIGPIPE, SIG_IGN);
	snprintf(scratch, sizeof(scratch), "%s/labctl-unit.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	return mkdtemp(scratch) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	rm_rf(scratch);
	return 0;
}

#define T(f) cmocka_unit_test_setup_teardown(f, reset_inject, reset_inject)

static void test_ipmitool_argv(void **state)
{
	const char *const chassis[] = { "chassis", "power", "status", NULL };
	const char *const sol[] = { "sol", "activate", NULL };
	const char *argv[IPMITOOL_MAX_ARGS];
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	ipmitool_argv(argv, "bmc", NULL, "admin", chassis);
	sh_quote_argv(&sb, argv);
	assert_string_equal(strbuf_str(&sb),
			    "ipmitool -I lanplus -C 3 -H bmc -p 623 -U admin -E chassis power status");
	strbuf_reset(&sb);
	ipmitool_argv(argv, "10.0.0.9", "6230", NULL, sol);
	sh_quote_argv(&sb, argv);
	assert_string_equal(strbuf_str(&sb),
			    "ipmitool -I lanplus -C 3 -H 10.0.0.9 -p 6230 -E sol activate");
	strbuf_release(&sb);
}

static void test_params(void **state)
{
	static const char *const takes[] = { "url", "port", NULL };
	const struct lab_param in[] = {
		{ "url", "http://pdu/" }, { "port", NULL }, { "url", "http://b/" },
	};
	const struct lab_param bad[] = { { "url", "x" }, { "pasword", "x" } };
	struct lab_param *copy;

	(void)state;
	copy = lab_params_dup(in, 3);
	assert_ptr_not_equal(copy[0].key, in[0].key);
	assert_string_equal(copy[1].value, "");		/* NULL value: "" */
	assert_string_equal(lab_param_get(copy, 3, "url"), "http://b/"); /* last wins */
	assert_null(lab_param_get(copy, 3, "host"));
	assert_int_equal(lab_params_check(copy, 3, takes, "power driver http"), 0);
	lab_params_free(copy, 3);
	assert_null(lab_params_dup(in, 0));
	lab_params_free(NULL, 0);

	assert_int_equal(lab_params_check(bad, 2, takes, "power driver http"),
			 -LAB_ECONFIG);
	assert_string_equal(lab_errmsg(LAB_ECONFIG),
			    "power driver http takes no key 'pasword' (it takes: url, port)");
	assert_int_equal(lab_params_check(bad, 1, NULL, "console driver qemu"),
			 -LAB_ECONFIG);
	assert_string_equal(lab_errmsg(LAB_ECONFIG),
			    "console driver qemu takes no key 'url' (it takes: no keys)");
}

/* The one reader of password files: 0600 only, first line, ~ is $HOME. */
static void test_secret_file(void **state)
{
	char dir[] = "/tmp/labctl-secret.XXXXXX", path[PATH_MAX], link[PATH_MAX];
	const char *old_home = getenv("HOME");
	char *saved = old_home ? strdup(old_home) : NULL;
	struct strbuf sb = STRBUF_INIT;
	FILE *f;
	int ret;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/pw", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("s3cret\nsecond line\n", f);
	fclose(f);
	chmod(path, 0644);
	ret = lab_read_secret_file("power driver x", path, &sb);
	assert_int_equal(ret, -LAB_ECONFIG);
	assert_non_null(strstr(lab_errmsg(ret), "mode 0644"));
	assert_non_null(strstr(lab_errmsg(ret), "power driver x: password_file"));
	assert_int_equal(sb.len, 0);
	chmod(path, 0600);
	assert_int_equal(lab_read_secret_file("x", path, &sb), 0);
	assert_string_equal(strbuf_str(&sb), "s3cret");
	strbuf_reset(&sb);
	setenv("HOME", dir, 1);
	assert_int_equal(lab_read_secret_file("x", "~/pw", &sb), 0);
	assert_string_equal(strbuf_str(&sb), "s3cret");
	ret = lab_read_secret_file("x", "~/missing", &sb);
	assert_int_equal(ret, -LAB_ENOENT);
	assert_non_null(strstr(lab_errmsg(ret), dir));
	ret = lab_read_secret_file("x", dir, &sb);
	assert_true(ret < 0);
	/* A link and an empty file are configuration errors naming the file. */
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(symlink(path, link), 0);
	strbuf_reset(&sb);
	ret = lab_read_secret_file("x", link, &sb);
	assert_int_equal(ret, -LAB_ECONFIG);
	assert_non_null(strstr(lab_errmsg(ret), "is a symbolic link"));
	assert_non_null(strstr(lab_errmsg(ret), link));
	assert_int_equal(sb.len, 0);
	unlink(link);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("\nsecond line\n", f);
	fclose(f);
	ret = lab_read_secret_file("x", path, &sb);
	assert_int_equal(ret, -LAB_ECONFIG);
	assert_non_null(strstr(lab_errmsg(ret), "is empty"));
	assert_non_null(strstr(lab_errmsg(ret), path));
	assert_int_equal(sb.len, 0);
	if (saved)
		setenv("HOME", saved, 1);
	free(saved);
	unlink(path);
	rmdir(dir);
	strbuf_release(&sb);
}

/* Peer text in messages: nothing a terminal acts on gets through. */
static void test_escape(void **state)
{
	static const struct {
		const char *in;
		const char *out;
		const char *lines;
	} cases[] = {
		{ "plain text, ok", "plain text, ok", "plain text, ok" },
		{ "\x1b[31mred\x1b[0m", "\\e[31mred\\e[0m", "\\e[31mred\\e[0m" },
		{ "a\nb\tc\rd", "a\\nb\\tc\\rd", "a\nb\tc\\rd" },
		{ "bell\x07 del\x7f nul-free", "bell\\x07 del\\x7f nul-free",
		  "bell\\x07 del\\x7f nul-free" },
		{ "back\\slash", "back\\\\slash", "back\\\\slash" },
		{ "caf\xc3\xa9 \xe2\x9c\x93", "caf\xc3\xa9 \xe2\x9c\x93",
		  "caf\xc3\xa9 \xe2\x9c\x93" },
		/* C1 CSI (U+009B), a bidi override (U+202E), a stray byte */
		{ "\xc2\x9b" "2J \xe2\x80\xae \xff", "\\u009b2J \\u202e \\xff",
		  "\\u009b2J \\u202e \\xff" },
		/* a sequence cut off at the end */
		{ "x\xe2\x9c", "x\\xe2\\x9c", "x\\xe2\\x9c" },
	};
	const char *tail[] = { "sh", "-c", "printf 'boom \\033]0;title\\007\\033[2J' >&2; exit 1", NULL };
	struct strbuf sb = STRBUF_INIT;
	size_t i;
	char *s;
	int ret;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = lab_escape(cases[i].in, strlen(cases[i].in));
		assert_string_equal(s, cases[i].out);
		free(s);
		s = lab_escape_lines(cases[i].in, strlen(cases[i].in));
		assert_string_equal(s, cases[i].lines);
		free(s);
	}
	strbuf_addstr(&sb, "x: ");
	strbuf_add_escaped(&sb, "a\0b", 3, 0);
	assert_int_equal(sb.len, 9);
	assert_string_equal(strbuf_str(&sb), "x: a\\x00b");
	strbuf_release(&sb);
	s = lab_escape_str(NULL);
	assert_string_equal(s, "");
	free(s);
	/* A program's stderr quoted in its error: escaped. */
	ret = lab_run(tail, NULL);
	assert_int_equal(ret, -LAB_EPROGRAM);
	assert_contains(lab_errmsg(ret), "boom \\e]0;title\\x07\\e[2J");
	assert_null(strchr(lab_errmsg(ret), '\033'));
}

/* The state directory: $LABCTL_STATE_DIR, else /tmp/labctl-<uid>. */
static void test_state_path(void **state)
{
	char *old = getenv("LABCTL_STATE_DIR") ? strdup(getenv("LABCTL_STATE_DIR")) : NULL;
	char want[64], *p;

	(void)state;
	setenv("LABCTL_STATE_DIR", "/srv/st", 1);
	p = lab_state_path("grub-probe/%s-%08lx", "hp2540p", lab_str_hash32("a"));
	assert_string_equal(p, "/srv/st/grub-probe/hp2540p-0002b606");
	free(p);
	setenv("LABCTL_STATE_DIR", "", 1);	/* empty counts as unset */
	p = lab_state_path("leases");
	snprintf(want, sizeof(want), "/tmp/labctl-%u/leases", (unsigned)getuid());
	assert_string_equal(p, want);
	free(p);
	unsetenv("LABCTL_STATE_DIR");
	p = lab_state_path("%s-power", "q");
	snprintf(want, sizeof(want), "/tmp/labctl-%u/q-power", (unsigned)getuid());
	assert_string_equal(p, want);
	free(p);
	/* djb2: names made by earlier versions stay the same. */
	assert_int_equal(lab_str_hash32(""), 5381);
	assert_int_equal(lab_str_hash32("a"), 5381 * 33 + 'a');
	assert_true(lab_str_hash32("a long key that wraps around many times over") <= 0xffffffffUL);
	if (old)
		setenv("LABCTL_STATE_DIR", old, 1);
	free(old);
}

static void test_utf8(void **state)
{
	static const struct {
		const char *s;
		size_t len;
	} cases[] = {
		{ "a", 1 }, { "\xc3\xa9", 2 }, { "\xe2\x9c\x93", 3 },
		{ "\xf0\x9f\x98\x80", 4 }, { "\xf4\x8f\xbf\xbf", 4 },
		{ "\x80", 0 }, { "\xc0\x80", 0 }, { "\xc1\xbf", 0 },
		{ "\xe0\x80\x80", 0 }, { "\xed\xa0\x80", 0 },
		{ "\xf0\x80\x80\x80", 0 }, { "\xf4\x90\x80\x80", 0 },
		{ "\xf5\x80\x80\x80", 0 }, { "\xc3", 0 }, { "\xe2\x9c", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(lab_utf8_seq_len((const unsigned char *)cases[i].s,
						  strlen(cases[i].s)),
				 cases[i].len);
	/* n bounds the read: a sequence cut by n is not well-formed. */
	assert_int_equal(lab_utf8_seq_len((const unsigned char *)"\xc3\xa9", 1), 0);
	assert_int_equal(lab_utf8_seq_len((const unsigned char *)"a", 0), 0);
	assert_true(lab_utf8_valid("", 0));
	assert_true(lab_utf8_valid("caf\xc3\xa9 \xf0\x9f\x98\x80", 10));
	assert_false(lab_utf8_valid("caf\xc3", 4));
	assert_true(lab_utf8_valid("a\0b", 3));	/* NUL is ASCII */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_escape),
		T(test_utf8),
		T(test_state_path),
		T(test_secret_file),
		T(test_params),
		T(test_ipmitool_argv),
		T(test_err_strerror_all),
		T(test_err_record),
		T(test_err_verr),
		T(test_err_errno),
		T(test_err_exit_code),
		T(test_err_thread_local),
		T(test_strbuf_empty),
		T(test_strbuf_binary),
		T(test_strbuf_addf_grow),
		T(test_strbuf_setlen_rtrim),
		T(test_strbuf_read_file),
		T(test_strbuf_json),
		T(test_strbuf_grow_overflow),
		T(test_shquote_cases),
		T(test_shquote_argv),
		T(test_shquote_roundtrip),
		T(test_shquote_nested),
		T(test_shquote_assignment_word),
		T(test_clock_parse_ok),
		T(test_clock_parse_errors),
		T(test_clock_timestamps),
		T(test_clock_monotonic),
		T(test_spawn_capture),
		T(test_spawn_big_stdin),
		T(test_spawn_exit_codes),
		T(test_spawn_not_found),
		T(test_spawn_timeout_kills_group),
		T(test_spawn_timeout_variants),
		T(test_spawn_leftovers_killed),
		T(test_spawn_leftover_holds_pipe),
		T(test_spawn_env_cwd),
		T(test_spawn_quiet_inherit),
		T(test_spawn_no_fd_leak),
		T(test_run_messages),
		T(test_spawn_bg_kill_group),
		T(test_spawn_dies_with_labctl),
		T(test_spawn_no_terminal),
		T(test_have_program),
		T(test_fileio_new_file),
		T(test_fileio_replace),
		T(test_fileio_failures),
		T(test_fileio_dir_fsync_ignored),
		T(test_fileio_bad_places),
		T(test_log),
		T(test_xmalloc),
	};

	return cmocka_run_group_tests_name("lib", tests, group_setup,
					   group_teardown);
}
