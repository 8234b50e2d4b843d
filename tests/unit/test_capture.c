// SPDX-License-Identifier: MIT
/*
 * serial-capture/: the console table and core, the qemu transport against
 * a local unix socket server, and the capture engine: exact bytes, lines
 * across chunks, \r\n, the last line without a newline, the sidecar,
 * O_EXCL naming, write failures (wrapped write), a SIGKILL mid-capture,
 * and throughput.
 */
/* WRAP: write */
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
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "serial-capture/capture.h"
#include "serial-capture/console.h"

/* ------------------------------------------------------------ write wrap */

ssize_t __real_write(int fd, const void *buf, size_t count);
ssize_t __wrap_write(int fd, const void *buf, size_t count);

static struct {
	int fail_errno;		/* armed: fail with this ... */
	size_t fail_after;	/* ... once this many more bytes went through */
	size_t max;		/* short writes: at most this many bytes */
	bool eintr;		/* every other call is interrupted */
	unsigned calls;
} inject;

ssize_t __wrap_write(int fd, const void *buf, size_t count)
{
	ssize_t n;

	inject.calls++;
	if (inject.eintr && inject.calls % 2) {
		errno = EINTR;
		return -1;
	}
	if (inject.max && count > inject.max)
		count = inject.max;
	if (inject.fail_errno) {
		if (!inject.fail_after) {
			errno = inject.fail_errno;
			return -1;
		}
		if (count > inject.fail_after)
			count = inject.fail_after;
	}
	n = __real_write(fd, buf, count);
	if (n > 0 && inject.fail_errno)
		inject.fail_after -= (size_t)n;
	return n;
}

/* ------------------------------------------------------------ helpers */

static char scratch[PATH_MAX];

static int setup_scratch(void **state)
{
	(void)state;
	snprintf(scratch, sizeof(scratch), "%s/labctl-capture.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(scratch) ? 0 : -1;
}

static int teardown_scratch(void **state)
{
	(void)state;
	test_rm_tree(scratch);
	return 0;
}

static int reset_inject(void **state)
{
	(void)state;
	memset(&inject, 0, sizeof(inject));
	return 0;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static struct strbuf read_all(const char *path)
{
	struct strbuf sb = STRBUF_INIT;

	assert_int_equal(strbuf_read_file(&sb, path, 256 << 20), 0);
	return sb;
}

/* Lines the watcher got. */
struct lines {
	int n;
	char *text[4096];
	size_t len[4096];
	int64_t ns[4096];
};

static void collect(void *arg, const char *line, size_t len, int64_t ns)
{
	struct lines *l = arg;

	assert_true(l->n < 4096);
	l->text[l->n] = xmalloc(len + 1);	/* lines may hold NULs */
	memcpy(l->text[l->n], line, len);
	l->text[l->n][len] = '\0';
	l->len[l->n] = len;
	l->ns[l->n] = ns;
	l->n++;
}

static void lines_free(struct lines *l)
{
	int i;

	for (i = 0; i < l->n; i++)
		free(l->text[i]);
	l->n = 0;
}

/* Sidecar records, split into fields. */
struct record {
	char kind[4];
	long long off, ns, wall;
	long long end_ns, end_wall;	/* G */
	char reason[128];
};

static int read_sidecar(const char *path, struct record *r, int max)
{
	FILE *fp = fopen(path, "r");
	char line[512];
	int n = 0;

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp)) {
		assert_true(n < max);
		memset(&r[n], 0, sizeof(r[n]));
		if (!strncmp(line, "T0\t", 3)) {
			strcpy(r[n].kind, "T0");
			assert_int_equal(sscanf(line + 3, "%lld", &r[n].wall), 1);
		} else if (line[0] == 'G') {
			int used = 0;

			assert_int_equal(sscanf(line, "%3[G]\t%lld\t%lld\t%lld\t%lld\t%lld%n",
						r[n].kind, &r[n].off, &r[n].ns,
						&r[n].wall, &r[n].end_ns,
						&r[n].end_wall, &used), 6);
			assert_int_equal(line[used], '\t');
			snprintf(r[n].reason, sizeof(r[n].reason), "%s",
				 line + used + 1);
		} else {
			int used = 0;

			assert_int_equal(sscanf(line, "%3[L]\t%lld\t%lld\t%lld%n",
						r[n].kind, &r[n].off, &r[n].ns,
						&r[n].wall, &used), 4);
			if (line[used] == '\t')
				snprintf(r[n].reason, sizeof(r[n].reason), "%s",
					 line + used + 1);
		}
		n++;
	}
	fclose(fp);
	return n;
}

static char *results_dir(const char *name)
{
	return xasprintf("%s/%s", scratch, name);
}

/* ------------------------------------------------------------ console */

static void test_console_table(void **state)
{
	struct lab_param p = { "baud", "9600" };
	struct console_config cfg = { .driver = "carrier-pigeon" };
	struct console *con;
	int ret;

	(void)state;
	assert_int_equal(console_drivers_selftest(), 0);
	assert_non_null(console_find_driver("qemu"));
	assert_null(console_find_driver("nope"));
	ret = console_open(&con, &cfg);
	assert_int_equal(ret, -LAB_ECONFIG);
	assert_null(con);
	assert_contains(lab_errmsg(ret), "unknown console driver 'carrier-pigeon' (known: qemu, tty, tcp, telnet, cmd");
	cfg.driver = "qemu";
	cfg.params = &p;
	cfg.nparams = 1;
	ret = console_open(&con, &cfg);
	assert_int_equal(ret, -LAB_ECONFIG);
	assert_contains(lab_errmsg(ret), "console driver qemu takes no key 'baud'");
	cfg.params = NULL;
	cfg.nparams = 0;
	ret = console_open(&con, &cfg);
	assert_int_equal(ret, -LAB_ECONFIG);
	assert_contains(lab_errmsg(ret), "needs the chardev socket path");
}

static void test_console_qemu_timeout(void **state)
{
	char *sock = xasprintf("%s/none.sock", scratch);
	struct console_config cfg = {
		.driver = "qemu", .socket_path = sock, .connect_timeout_ms = 100,
	};
	struct console *con;
	int64_t t0 = lab_mono_ms();
	int ret;

	(void)state;
	ret = console_open(&con, &cfg);
	assert_int_equal(ret, -LAB_ETIMEDOUT);
	assert_true(lab_mono_ms() - t0 >= 100);
	assert_true(lab_mono_ms() - t0 < 2000);
	assert_contains(lab_errmsg(ret), "none.sock");
	free(sock);
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	return fd;
}

static void test_console_qemu_stream(void **state)
{
	char *sock = xasprintf("%s/con.sock", scratch);
	struct console_config cfg = { .driver = "qemu", .socket_path = sock };
	struct console *con;
	struct pollfd pfd;
	char buf[64];
	int lfd, cfd;

	(void)state;
	lfd = listen_unix(sock);
	/* connect completes on the backlog; QEMU accepts later */
	assert_int_equal(console_open(&con, &cfg), 0);
	cfd = accept(lfd, NULL, NULL);
	assert_true(cfd >= 0);
	assert_int_equal(console_read(con, buf, sizeof(buf)), -LAB_EBUSY);
	assert_int_equal(__real_write(cfd, "abc\n", 4), 4);
	pfd = (struct pollfd){ console_fd(con), POLLIN, 0 };
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	assert_int_equal(console_read(con, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "abc\n", 4);
	assert_int_equal(console_read(con, buf, sizeof(buf)), -LAB_EBUSY);
	assert_int_equal(console_write(con, "xy", 2), 2);
	assert_int_equal(read(cfd, buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "xy", 2);
	close(cfd);
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	assert_int_equal(console_read(con, buf, sizeof(buf)), 0);
	console_close(con);
	close(lfd);
	unlink(sock);
	free(sock);
}

/* ------------------------------------------------------------ capture */

static void test_capture_exact_bytes_and_lines(void **state)
{
	static char data[1 << 20];
	char *dir = results_dir("exact");
	struct capture *cap;
	struct lines *l = xzalloc(sizeof(*l));
	struct record *rec = xcalloc(8192, sizeof(*rec));
	struct strbuf got;
	size_t off = 0, i, nrec, line_start;
	int nl = 0, k;

	(void)state;
	/* binary noise with a few thousand line ends and some \r\n */
	for (i = 0; i < sizeof(data); i++) {
		data[i] = (char)(rng() >> 56);
		if (data[i] == '\n' && rng() % 2)
			data[i] = 'x';
	}
	for (i = 0; i < sizeof(data); i++)
		nl += data[i] == '\n';
	assert_true(nl > 100 && nl < 4000);

	assert_int_equal(capture_open(&cap, dir, collect, l), 0);
	capture_mark_t0(cap);
	while (off < sizeof(data)) {
		size_t n = 1 + rng() % 3000;

		if (n > sizeof(data) - off)
			n = sizeof(data) - off;
		assert_int_equal(capture_feed(cap, data + off, n), 0);
		off += n;
	}
	assert_int_equal(capture_bytes(cap), sizeof(data));
	assert_int_equal(capture_close(cap), 0);
	assert_int_equal(capture_close(cap), 0);	/* twice is fine */

	got = read_all(capture_path(cap));
	assert_int_equal(got.len, sizeof(data));
	assert_memory_equal(got.buf, data, sizeof(data));
	strbuf_release(&got);

	/* one callback per line, the last one (no newline) at close */
	assert_int_equal(l->n, data[sizeof(data) - 1] == '\n' ? nl : nl + 1);
	nrec = (size_t)read_sidecar(capture_lines_path(cap), rec, 8192);
	assert_string_equal(rec[0].kind, "T0");
	assert_string_equal(rec[1].kind, "T0");
	assert_true(rec[1].wall >= rec[0].wall);
	assert_int_equal(nrec, 2 + (size_t)l->n);
	line_start = 0;
	for (k = 0; k < l->n; k++) {
		const char *p = data + line_start;
		size_t len = l->len[k];

		assert_string_equal(rec[2 + k].kind, "L");
		assert_int_equal(rec[2 + k].off, (long long)line_start);
		assert_true(rec[2 + k].ns >= 0);
		if (k)
			assert_true(rec[2 + k].ns >= rec[1 + k].ns);
		assert_memory_equal(l->text[k], p, len);
		/* the line ended in \n, or \r\n (the \r is not passed on) */
		if (line_start + len < sizeof(data) && p[len] == '\r')
			len++;
		line_start += len + 1;
	}
	assert_true(line_start >= sizeof(data));
	lines_free(l);
	capture_free(cap);
	free(l);
	free(rec);
	free(dir);
}

static void test_capture_crlf_and_split_lines(void **state)
{
	char *dir = results_dir("crlf");
	struct lines *l = xzalloc(sizeof(*l));
	struct record rec[16];
	struct capture *cap;
	struct strbuf got;
	int n;

	(void)state;
	assert_int_equal(capture_open(&cap, dir, collect, l), 0);
	capture_mark_t0(cap);
	assert_int_equal(capture_feed(cap, "GRUB\r\nhel", 9), 0);
	lab_sleep_ms(30);
	assert_int_equal(capture_feed(cap, "lo\r", 3), 0);
	assert_int_equal(capture_feed(cap, "\n\nlast", 6), 0);
	assert_int_equal(l->n, 3);
	assert_string_equal(l->text[0], "GRUB");
	assert_string_equal(l->text[1], "hello");	/* \r\n across chunks */
	assert_string_equal(l->text[2], "");
	/* a line's time is when its first byte came */
	assert_int_equal(l->ns[1], l->ns[0]);
	assert_true(l->ns[2] - l->ns[1] >= 30000000);
	capture_gap_begin(cap, "reconnect\tafter\nEOF");
	capture_gap_begin(cap, "a second loss before the end: ignored");
	lab_sleep_ms(20);
	capture_gap_end(cap);
	capture_gap_end(cap);		/* no second record */
	assert_int_equal(capture_close(cap), 0);
	assert_int_equal(l->n, 4);
	assert_string_equal(l->text[3], "last");

	got = read_all(capture_path(cap));
	assert_string_equal(got.buf, "GRUB\r\nhello\r\n\nlast");
	strbuf_release(&got);
	n = read_sidecar(capture_lines_path(cap), rec, 16);
	assert_int_equal(n, 7);
	assert_string_equal(rec[2].kind, "L");
	assert_int_equal(rec[2].off, 0);
	assert_int_equal(rec[3].off, 6);
	assert_int_equal(rec[4].off, 13);
	assert_int_equal(rec[5].off, 14);
	assert_true(rec[4].ns - rec[3].ns >= 30000000);
	assert_string_equal(rec[6].kind, "G");
	assert_int_equal(rec[6].off, 18);
	assert_string_equal(rec[6].reason, "reconnect after EOF\n");
	assert_true(rec[6].end_ns - rec[6].ns >= 20000000);
	assert_true(rec[6].end_wall - rec[6].wall >= 20000000);
	assert_true(rec[6].ns >= rec[5].ns);
	lines_free(l);
	capture_free(cap);
	free(l);
	free(dir);
}

static void test_capture_long_line(void **state)
{
	char *dir = results_dir("long");
	struct lines *l = xzalloc(sizeof(*l));
	size_t len = 200000, i;
	char *big = xmalloc(len + 1);
	struct capture *cap;

	(void)state;
	memset(big, 'a', len);
	big[len] = '\n';
	assert_int_equal(capture_open(&cap, dir, collect, l), 0);
	for (i = 0; i <= len; i += 1000)
		assert_int_equal(capture_feed(cap, big + i,
					      i + 1000 > len + 1 ? len + 1 - i : 1000), 0);
	assert_int_equal(capture_close(cap), 0);
	assert_int_equal(l->n, 4);	/* 3 x 64 KiB + the rest */
	assert_int_equal(l->len[0], 65536);
	assert_int_equal(l->len[3], len - 3 * 65536);
	assert_int_equal(capture_bytes(cap), len + 1);
	lines_free(l);
	capture_free(cap);
	free(big);
	free(l);
	free(dir);
}

static void test_capture_no_listener_and_nested_dir(void **state)
{
	char *dir = xasprintf("%s/deep/er/results", scratch);
	struct record rec[8];
	struct capture *cap;
	struct stat st;

	(void)state;
	assert_int_equal(capture_open(&cap, dir, NULL, NULL), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(strlen(capture_name(cap)), 14);
	assert_int_equal(capture_feed(cap, "one\ntw", 6), 0);
	assert_int_equal(capture_feed(cap, "o", 1), 0);
	assert_int_equal(capture_close(cap), 0);
	assert_int_equal(read_sidecar(capture_lines_path(cap), rec, 8), 3);
	assert_int_equal(rec[2].off, 4);
	capture_free(cap);
	capture_free(NULL);

	/* a file where the directory should be */
	char *file = xasprintf("%s/notadir", scratch);
	FILE *fp = fopen(file, "w");

	fclose(fp);
	assert_int_equal(capture_open(&cap, file, NULL, NULL), -LAB_EIO);
	assert_contains(lab_errmsg(-LAB_EIO), "not a directory");
	free(file);
	free(dir);
}

static void touch(const char *dir, const char *name)
{
	char *path = xasprintf("%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);

	assert_true(fd >= 0);
	close(fd);
	free(path);
}

/* A gap still open at close ends there; live captures are found and end. */
static void test_capture_gap_at_close_and_live(void **state)
{
	char *dir = results_dir("live");
	struct record rec[8];
	struct capture *cap;
	char *path = NULL, *link;
	struct stat st;
	int fd, n, status;
	pid_t pid;

	(void)state;
	assert_int_equal(capture_find_live(dir, "lab", &path), -LAB_ENOENT);
	assert_int_equal(capture_open(&cap, dir, NULL, NULL), 0);
	assert_int_equal(capture_feed(cap, "a\n", 2), 0);
	capture_on_link(cap, false, "ser2net went away");
	assert_int_equal(capture_publish(cap, "lab"), 0);
	assert_int_equal(capture_publish(cap, "../x"), -LAB_EINVAL);
	assert_int_equal(capture_find_live(dir, "lab", &path), 0);
	assert_string_equal(path, capture_path(cap));
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_true(capture_is_live(fd));
	free(path);
	assert_int_equal(capture_find_live(dir, "other", &path), -LAB_ENOENT);
	assert_int_equal(capture_close(cap), 0);
	assert_false(capture_is_live(fd));
	close(fd);
	assert_int_equal(capture_find_live(dir, "lab", &path), -LAB_ENOENT);
	link = xasprintf("%s/.live/lab", dir);
	assert_int_equal(lstat(link, &st), -1);	/* removed at close */
	n = read_sidecar(capture_lines_path(cap), rec, 8);
	assert_int_equal(n, 3);
	assert_string_equal(rec[2].kind, "G");
	assert_int_equal(rec[2].off, 2);
	assert_true(rec[2].end_ns >= rec[2].ns);
	assert_string_equal(rec[2].reason,
			    "ser2net went away (still lost when the capture ended)\n");
	capture_free(cap);

	/* A writer killed mid-capture: its link stays, but it is not live. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct capture *c;

		if (capture_open(&c, dir, NULL, NULL) || capture_publish(c, "lab"))
			_exit(1);
		kill(getpid(), SIGKILL);
		_exit(2);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(lstat(link, &st), 0);
	assert_int_equal(capture_find_live(dir, "lab", &path), -LAB_ENOENT);
	free(link);
	free(dir);
}

static void test_capture_name_collision(void **state)
{
	char *dir = results_dir("collide");
	struct capture *a, *b;
	char now[32], next[32], *s;
	time_t t = time(NULL);
	struct stat st;

	(void)state;
	assert_int_equal(mkdir(dir, 0755), 0);
	/* Taken already, for this second and the next (we may cross one). */
	lab_timestamp_name(now, sizeof(now), t);
	lab_timestamp_name(next, sizeof(next), t + 1);
	touch(dir, now);
	touch(dir, next);
	s = xasprintf("%s-2", now);
	touch(dir, s);
	free(s);
	s = xasprintf("%s-2", next);
	touch(dir, s);
	free(s);

	assert_int_equal(capture_open(&a, dir, NULL, NULL), 0);
	assert_int_equal(capture_open(&b, dir, NULL, NULL), 0);
	s = strrchr(capture_name(a), '-');
	assert_non_null(s);
	assert_string_equal(s, "-3");
	assert_string_not_equal(capture_name(a), capture_name(b));
	assert_int_equal(capture_feed(a, "A", 1), 0);
	assert_int_equal(capture_feed(b, "B", 1), 0);
	assert_int_equal(capture_close(a), 0);
	assert_int_equal(capture_close(b), 0);
	/* the files that were there are untouched */
	s = xasprintf("%s/%s", dir, now);
	assert_int_equal(stat(s, &st), 0);
	assert_int_equal(st.st_size, 0);
	free(s);
	capture_free(a);
	capture_free(b);
	free(dir);
}

static void test_capture_enospc(void **state)
{
	char *dir = results_dir("enospc");
	struct capture *cap;
	struct strbuf got;
	int ret;

	(void)state;
	assert_int_equal(capture_open(&cap, dir, NULL, NULL), 0);
	assert_int_equal(capture_feed(cap, "0123456789", 10), 0);
	inject.fail_errno = ENOSPC;
	inject.fail_after = 5;
	ret = capture_feed(cap, "abcdefghij\n", 11);
	assert_int_equal(ret, -LAB_EIO);
	assert_contains(lab_errmsg(ret), "No space left on device");
	assert_contains(lab_errmsg(ret), capture_path(cap));
	assert_contains(lab_errmsg(ret), "after 15 bytes");
	assert_int_equal(capture_bytes(cap), 15);
	/* sticky: nothing more is written, even with room again */
	memset(&inject, 0, sizeof(inject));
	assert_int_equal(capture_feed(cap, "more", 4), -LAB_EIO);
	assert_int_equal(capture_close(cap), -LAB_EIO);
	got = read_all(capture_path(cap));
	assert_string_equal(got.buf, "0123456789abcde");
	strbuf_release(&got);
	capture_free(cap);
	free(dir);
}

/* The log ends at the deciding line: raw log and sidecar cut together. */
static void test_capture_truncate(void **state)
{
	char *dir = results_dir("truncate");
	struct capture *cap;
	struct strbuf got, side;
	const char *p;
	int nl = 0;

	(void)state;
	assert_int_equal(capture_open(&cap, dir, NULL, NULL), 0);
	assert_int_equal(capture_feed(cap, "one\ntwo\n", 8), 0);
	assert_int_equal(capture_feed(cap, "three\nfo", 9), 0);
	/* not before the end: nothing happens */
	assert_int_equal(capture_truncate(cap, 100), 0);
	assert_int_equal(capture_bytes(cap), 17);
	/* after "two\n" */
	assert_int_equal(capture_truncate(cap, 8), 0);
	assert_int_equal(capture_bytes(cap), 8);
	assert_int_equal(capture_close(cap), 0);
	got = read_all(capture_path(cap));
	assert_string_equal(got.buf, "one\ntwo\n");
	side = read_all(capture_lines_path(cap));
	for (p = side.buf; (p = strstr(p, "\nL\t")); p++)
		nl++;
	assert_int_equal(nl, 2);	/* the records of "one" and "two" only */
	assert_null(strstr(side.buf, "L\t8\t"));
	assert_null(strstr(side.buf, "L\t14\t"));
	strbuf_release(&got);
	strbuf_release(&side);
	capture_free(cap);
	free(dir);
}

/* A record that cannot be complete: .partial kept, nothing half-written. */
static void test_capture_abandon(void **state)
{
	char *dir = results_dir("abandon"), *kept = NULL, *path, *lines;
	struct capture *cap;
	struct strbuf got;
	struct stat st;

	(void)state;
	assert_int_equal(capture_open(&cap, dir, NULL, NULL), 0);
	assert_int_equal(capture_feed(cap, "bytes\n", 6), 0);
	inject.fail_errno = ENOSPC;
	assert_int_equal(capture_feed(cap, "more\n", 5), -LAB_EIO);
	memset(&inject, 0, sizeof(inject));
	assert_non_null(capture_error(cap));
	assert_contains(capture_error(cap), "No space left on device");
	path = xstrdup(capture_path(cap));
	lines = xstrdup(capture_lines_path(cap));
	assert_int_equal(capture_abandon(cap, &kept), 0);
	assert_non_null(kept);
	assert_int_equal(strcmp(kept + strlen(kept) - 8, ".partial"), 0);
	got = read_all(kept);
	assert_string_equal(got.buf, "bytes\n");
	strbuf_release(&got);
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(stat(lines, &st), -1);
	capture_free(cap);
	free(kept);
	free(path);
	free(lines);
	free(dir);
}

/* Regular files in dir (the .live directory aside). */
static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* No room even for the first record: no empty files left, the reason said. */
static void test_capture_open_enospc(void **state)
{
	char *dir = results_dir("openfull");
	struct capture *cap = NULL;
	int ret;

	(void)state;
	inject.fail_errno = ENOSPC;
	ret = capture_open(&cap, dir, NULL, NULL);
	memset(&inject, 0, sizeof(inject));
	assert_int_equal(ret, -LAB_EIO);
	assert_null(cap);
	assert_contains(lab_errmsg(ret), "No space left on device");
	assert_contains(lab_errmsg(ret), dir);
	assert_int_equal(count_files(dir), 0);
	free(dir);
}

static void test_capture_short_writes_eintr(void **state)
{
	char *dir = results_dir("short");
	struct lines *l = xzalloc(sizeof(*l));
	struct capture *cap;
	struct strbuf got;

	(void)state;
	assert_int_equal(capture_open(&cap, dir, collect, l), 0);
	inject.max = 3;
	inject.eintr = true;
	assert_int_equal(capture_feed(cap, "first line\nsecond", 17), 0);
	assert_int_equal(capture_feed(cap, " line\n", 6), 0);
	memset(&inject, 0, sizeof(inject));
	assert_int_equal(capture_close(cap), 0);
	got = read_all(capture_path(cap));
	assert_string_equal(got.buf, "first line\nsecond line\n");
	strbuf_release(&got);
	assert_int_equal(l->n, 2);
	assert_string_equal(l->text[1], "second line");
	lines_free(l);
	capture_free(cap);
	free(l);
	free(dir);
}

/* SIGKILL while feeding: the log has every byte fed before the kill. */
static void test_capture_killed(void **state)
{
	char *dir = results_dir("killed");
	static char data[4 << 20];
	int pipefd[2], status;
	uint64_t fed = 0, v;
	char path[PATH_MAX] = "";
	struct strbuf got;
	pid_t pid;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(data); i++)
		data[i] = i % 61 == 60 ? '\n' : (char)('A' + i % 26);
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct capture *cap;

		close(pipefd[0]);
		if (capture_open(&cap, dir, NULL, NULL))
			_exit(1);
		snprintf(path, sizeof(path), "%s", capture_path(cap));
		if (__real_write(pipefd[1], path, sizeof(path)) != sizeof(path))
			_exit(1);
		for (i = 0; i < sizeof(data); i += 1000) {
			size_t n = sizeof(data) - i < 1000 ? sizeof(data) - i : 1000;

			if (capture_feed(cap, data + i, n))
				_exit(1);
			v = i + n;
			if (__real_write(pipefd[1], &v, sizeof(v)) != sizeof(v))
				_exit(1);
		}
		for (;;)
			pause();
	}
	close(pipefd[1]);
	assert_int_equal(read(pipefd[0], path, sizeof(path)), sizeof(path));
	while (fed < 1000000 && read(pipefd[0], &v, sizeof(v)) == sizeof(v))
		fed = v;
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	while (read(pipefd[0], &v, sizeof(v)) == sizeof(v))
		fed = v;
	close(pipefd[0]);
	got = read_all(path);
	assert_true(got.len >= fed);
	assert_true(got.len <= sizeof(data));
	assert_memory_equal(got.buf, data, got.len);
	strbuf_release(&got);
	free(dir);
}

static void count_line(void *arg, const char *line, size_t len, int64_t ns)
{
	(void)line;
	(void)len;
	(void)ns;
	(*(uint64_t *)arg)++;
}

/* MB/s for 64 MiB in 4 KiB chunks of 64-byte lines (a flood's shape). */
static double feed_64mib(const char *dir, capture_line_fn fn, void *arg)
{
	const size_t total = 64 << 20, chunk = 4096;
	static char buf[4096];
	struct capture *cap;
	int64_t t0, ns;
	size_t i;

	for (i = 0; i < chunk; i++)
		buf[i] = i % 64 == 63 ? '\n' : (char)('a' + i % 26);
	assert_int_equal(capture_open(&cap, dir, fn, arg), 0);
	t0 = lab_mono_ns();
	for (i = 0; i < total; i += chunk)
		assert_int_equal(capture_feed(cap, buf, chunk), 0);
	assert_int_equal(capture_close(cap), 0);
	ns = lab_mono_ns() - t0;
	assert_int_equal(capture_bytes(cap), total);
	unlink(capture_path(cap));
	unlink(capture_lines_path(cap));
	capture_free(cap);
	return (double)total / 1e6 / ((double)ns / 1e9);
}

static void test_capture_throughput(void **state)
{
	char *dir = results_dir("speed");
	uint64_t nlines = 0;
	double plain, with_cb;

	(void)state;
	plain = feed_64mib(dir, NULL, NULL);
	with_cb = feed_64mib(dir, count_line, &nlines);
	assert_int_equal(nlines, (64 << 20) / 64);
	print_message("# capture: 64 MiB in 4 KiB chunks of 64-byte lines: %.0f MB/s, %.0f MB/s with a line callback\n",
		      plain, with_cb);
	/* No bound on the rate: under load (make check beside two emulators)
	 * it fell below any fixed bound; bench/capture.sh measures it. */
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_console_table),
		cmocka_unit_test(test_console_qemu_timeout),
		cmocka_unit_test(test_console_qemu_stream),
		cmocka_unit_test_setup(test_capture_exact_bytes_and_lines, reset_inject),
		cmocka_unit_test_setup(test_capture_crlf_and_split_lines, reset_inject),
		cmocka_unit_test_setup(test_capture_long_line, reset_inject),
		cmocka_unit_test_setup(test_capture_no_listener_and_nested_dir, reset_inject),
		cmocka_unit_test_setup(test_capture_gap_at_close_and_live, reset_inject),
		cmocka_unit_test_setup(test_capture_name_collision, reset_inject),
		cmocka_unit_test_setup(test_capture_enospc, reset_inject),
		cmocka_unit_test_setup(test_capture_truncate, reset_inject),
		cmocka_unit_test_setup(test_capture_abandon, reset_inject),
		cmocka_unit_test_setup(test_capture_open_enospc, reset_inject),
		cmocka_unit_test_setup(test_capture_short_writes_eintr, reset_inject),
		cmocka_unit_test_setup(test_capture_killed, reset_inject),
		cmocka_unit_test_setup(test_capture_throughput, reset_inject),
	};

	return cmocka_run_group_tests(tests, setup_scratch, teardown_scratch);
}
