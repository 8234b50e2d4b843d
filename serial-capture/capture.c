// SPDX-License-Identifier: MIT
/*
 * The capture engine (see capture.h).  Per chunk: one write(2) of the raw
 * bytes, a memchr() walk for the line ends, one write(2) of the sidecar
 * records; lines are copied only when they span chunks, and only when
 * someone listens (on_line).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"

#define MAX_LINE (64 * 1024)
#define MAX_SUFFIX 9999

struct capture {
	char *dir;		/* results */
	char *path;		/* results/<name> */
	char *name;
	char *lines_path;	/* results/<name>.lines */
	char *live_link;	/* results/.live/<key>, when published */
	int fd;			/* raw log, -1 when closed */
	int side_fd;		/* sidecar */
	capture_line_fn on_line;
	void *arg;

	uint64_t offset;	/* bytes written to the raw log */
	int64_t t0_mono;	/* reference of the current T0 record */
	bool line_open;		/* a line has begun (its L record written) */
	size_t line_len;	/* bytes of it so far */
	int64_t line_ns;	/* its time since T0 */
	uint64_t line_start;	/* its byte offset in the raw log */
	uint64_t line_end;	/* in on_line: where the line delivered ends */
	struct strbuf carry;	/* its text, when it spans chunks (on_line) */
	struct strbuf side;	/* sidecar records not yet written */
	int err;		/* first error, sticky */
	char errmsg[512];	/* and its message */
	bool closed;
	bool in_gap;		/* capture_gap_begin without an end yet */
	int64_t gap_mono, gap_wall;
	char *gap_reason;
};

/* ------------------------------------------------------------ sidecar */

static void add_u64(struct strbuf *sb, uint64_t v)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	strbuf_grow(sb, (size_t)n);
	while (n)
		sb->buf[sb->len++] = tmp[--n];
	sb->buf[sb->len] = '\0';
}

static void add_i64(struct strbuf *sb, int64_t v)
{
	if (v < 0) {
		strbuf_addch(sb, '-');
		add_u64(sb, (uint64_t)0 - (uint64_t)v);
	} else {
		add_u64(sb, (uint64_t)v);
	}
}

static void add_record(struct capture *cap, char kind, uint64_t offset,
		       int64_t ns, int64_t wall)
{
	struct strbuf *sb = &cap->side;

	strbuf_addch(sb, kind);
	strbuf_addch(sb, '\t');
	add_u64(sb, offset);
	strbuf_addch(sb, '\t');
	add_i64(sb, ns);
	strbuf_addch(sb, '\t');
	add_i64(sb, wall);
}

/* write(2) all of it; returns bytes written and sets errno on a failure. */
static size_t write_all(int fd, const char *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			errno = EIO;
		break;
	}
	return off;
}

static int fail(struct capture *cap, int e, const char *what)
{
	if (!cap->err) {
		cap->err = lab_err_errno(e, "cannot write %s after %llu bytes of console output",
					 what, (unsigned long long)cap->offset);
		snprintf(cap->errmsg, sizeof(cap->errmsg), "%s",
			 lab_errmsg(cap->err));
	}
	return cap->err;
}

static int flush_side(struct capture *cap)
{
	size_t n;

	if (!cap->side.len || cap->side_fd < 0)
		return 0;
	n = write_all(cap->side_fd, cap->side.buf, cap->side.len);
	if (n < cap->side.len) {
		int e = errno;

		strbuf_reset(&cap->side);
		return fail(cap, e, cap->lines_path);
	}
	strbuf_reset(&cap->side);
	return 0;
}

/* ------------------------------------------------------------ lines */

static void deliver(struct capture *cap, const char *line, size_t len)
{
	if (len && line[len - 1] == '\r')
		len--;
	cap->on_line(cap->arg, line, len, cap->line_ns);
}

/* Walk n raw bytes (already in the log) for line starts and ends. */
static void scan(struct capture *cap, const char *p, size_t n, int64_t mono,
		 int64_t wall)
{
	const char *end = p + n;
	uint64_t base = cap->offset;
	const char *start = p;
	char times[64];
	int tlen = -1;

	while (p < end) {
		const char *nl;
		size_t seg, room;
		bool line_end;

		if (!cap->line_open) {
			cap->line_open = true;
			cap->line_len = 0;
			cap->line_ns = mono - cap->t0_mono;
			cap->line_start = base + (uint64_t)(p - start);
			/* Lines of one chunk share their times: format once. */
			if (tlen < 0)
				tlen = snprintf(times, sizeof(times), "\t%lld\t%lld\n",
						(long long)cap->line_ns,
						(long long)wall);
			strbuf_addstr(&cap->side, "L\t");
			add_u64(&cap->side, base + (uint64_t)(p - start));
			strbuf_add(&cap->side, times, (size_t)tlen);
		}
		nl = memchr(p, '\n', (size_t)(end - p));
		seg = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		line_end = nl != NULL;
		room = MAX_LINE - cap->line_len;
		if (seg > room || (!line_end && seg == room)) {
			seg = room;	/* cut an overlong line */
			line_end = true;
			nl = NULL;
		}
		if (cap->on_line) {
			size_t text = nl ? seg - 1 : seg;

			cap->line_end = base + (uint64_t)(p - start) + seg;
			if (line_end && !cap->carry.len) {
				deliver(cap, p, text);
			} else {
				strbuf_add(&cap->carry, p, text);
				if (line_end) {
					deliver(cap, cap->carry.buf, cap->carry.len);
					strbuf_reset(&cap->carry);
				}
			}
		}
		cap->line_len += seg;
		if (line_end)
			cap->line_open = false;
		p += seg;
	}
}

/* ------------------------------------------------------------ API */

static int mkdir_p(const char *dir)
{
	char *copy = xstrdup(dir), *p;
	int ret = 0;

	for (p = copy + 1; ; p++) {
		if (*p && *p != '/')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(copy, 0755) < 0 && errno != EEXIST) {
			ret = lab_err_errno(errno, "cannot create the results directory %s",
					    copy);
			break;
		}
		*p = c;
		if (!c)
			break;
	}
	free(copy);
	if (!ret) {
		struct stat st;

		if (stat(dir, &st) < 0)
			ret = lab_err_errno(errno, "cannot use the results directory %s", dir);
		else if (!S_ISDIR(st.st_mode))
			ret = lab_err(LAB_EIO, "results directory %s is not a directory",
				      dir);
	}
	return ret;
}

int capture_open(struct capture **out, const char *results_dir,
		 capture_line_fn on_line, void *arg)
{
	struct capture *cap;
	char ts[32];
	int i, fd = -1, e = 0, ret;
	char *path = NULL, *name = NULL;

	*out = NULL;
	ret = mkdir_p(results_dir);
	if (ret)
		return ret;
	lab_timestamp_name(ts, sizeof(ts), time(NULL));
	for (i = 1; i <= MAX_SUFFIX; i++) {
		name = i == 1 ? xstrdup(ts) : xasprintf("%s-%d", ts, i);
		path = xasprintf("%s/%s", results_dir, name);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd >= 0)
			break;
		e = errno;
		free(name);
		free(path);
		name = path = NULL;
		if (e != EEXIST)
			return lab_err_errno(e, "cannot create a log in %s", results_dir);
	}
	if (fd < 0)
		return lab_err(LAB_EBUSY, "%s: %s-2 to %s-%d exist already",
			       results_dir, ts, ts, MAX_SUFFIX);

	/* Readers tell a live capture by this lock (capture_is_live). */
	flock(fd, LOCK_EX | LOCK_NB);
	cap = xzalloc(sizeof(*cap));
	cap->dir = xstrdup(results_dir);
	cap->fd = fd;
	cap->path = path;
	cap->name = name;
	cap->lines_path = xasprintf("%s.lines", path);
	cap->on_line = on_line;
	cap->arg = arg;
	/* The raw name is ours (O_EXCL), so is its sidecar's. */
	cap->side_fd = open(cap->lines_path,
			    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (cap->side_fd < 0) {
		ret = lab_err_errno(errno, "cannot create %s", cap->lines_path);
		close(fd);
		unlink(path);
		cap->fd = -1;
		capture_free(cap);
		return ret;
	}
	capture_mark_t0(cap);
	if (cap->err) {
		/* Nothing of this run is on disk: leave no empty files. */
		char msg[sizeof(cap->errmsg)];

		snprintf(msg, sizeof(msg), "%s", cap->errmsg);
		capture_abandon(cap, NULL);
		capture_free(cap);
		return lab_err(LAB_EIO, "%s", msg);
	}
	*out = cap;
	return 0;
}

void capture_mark_t0(struct capture *cap)
{
	int64_t wall = lab_wall_ns();

	cap->t0_mono = lab_mono_ns();
	if (cap->err || cap->closed)
		return;
	strbuf_addstr(&cap->side, "T0\t");
	add_i64(&cap->side, wall);
	strbuf_addch(&cap->side, '\n');
	flush_side(cap);
}

int capture_feed(struct capture *cap, const void *buf, size_t len)
{
	int64_t mono, wall;
	size_t n;
	int e;

	if (cap->err)
		return cap->err;
	if (cap->closed)
		return lab_err(LAB_EINVAL, "capture %s is closed", cap->path);
	if (!len)
		return 0;
	mono = lab_mono_ns();
	wall = lab_wall_ns();
	n = write_all(cap->fd, buf, len);
	e = errno;
	/* What reached the log gets its records, even when the rest failed. */
	scan(cap, buf, n, mono, wall);
	cap->offset += n;
	if (n < len)
		fail(cap, e, cap->path);
	flush_side(cap);
	return cap->err;
}

void capture_gap_begin(struct capture *cap, const char *reason)
{
	if (cap->closed || cap->in_gap)
		return;
	cap->in_gap = true;
	cap->gap_mono = lab_mono_ns();
	cap->gap_wall = lab_wall_ns();
	free(cap->gap_reason);
	cap->gap_reason = xstrdup(reason ? reason : "");
}

static void gap_record(struct capture *cap, const char *suffix)
{
	int64_t mono = lab_mono_ns(), wall = lab_wall_ns();
	const char *r;

	cap->in_gap = false;
	if (cap->err || cap->closed)
		return;
	add_record(cap, 'G', cap->offset, cap->gap_mono - cap->t0_mono,
		   cap->gap_wall);
	strbuf_addch(&cap->side, '\t');
	add_i64(&cap->side, mono - cap->t0_mono);
	strbuf_addch(&cap->side, '\t');
	add_i64(&cap->side, wall);
	strbuf_addch(&cap->side, '\t');
	for (r = cap->gap_reason; r && *r; r++)	/* one record, one line */
		strbuf_addch(&cap->side, (unsigned char)*r < 0x20 ? ' ' : *r);
	strbuf_addstr(&cap->side, suffix);
	strbuf_addch(&cap->side, '\n');
	flush_side(cap);
}

void capture_gap_end(struct capture *cap)
{
	if (cap->in_gap)
		gap_record(cap, "");
}

void capture_on_link(void *arg, bool up, const char *reason)
{
	if (up)
		capture_gap_end(arg);
	else
		capture_gap_begin(arg, reason);
}

int capture_publish(struct capture *cap, const char *key)
{
	char *dir = xasprintf("%s/.live", cap->dir);
	char *tmp = NULL, *target = xasprintf("../%s", cap->name);
	int ret = 0;

	if (!*key || strchr(key, '/') || key[0] == '.') {
		ret = lab_err(LAB_EINVAL, "cannot publish a capture as '%s'", key);
		goto out;
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		ret = lab_err_errno(errno, "cannot create %s", dir);
		goto out;
	}
	tmp = xasprintf("%s/.%s.%ld", dir, key, (long)getpid());
	unlink(tmp);
	if (symlink(target, tmp) < 0) {
		ret = lab_err_errno(errno, "cannot create %s", tmp);
		goto out;
	}
	free(cap->live_link);
	cap->live_link = xasprintf("%s/%s", dir, key);
	if (rename(tmp, cap->live_link) < 0) {
		ret = lab_err_errno(errno, "cannot create %s", cap->live_link);
		unlink(tmp);
		free(cap->live_link);
		cap->live_link = NULL;
	}
out:
	free(tmp);
	free(target);
	free(dir);
	return ret;
}

/* Remove the live link if it still points at this capture. */
static void unpublish(struct capture *cap)
{
	char buf[512];
	char *want;
	ssize_t n;

	if (!cap->live_link)
		return;
	want = xasprintf("../%s", cap->name);
	n = readlink(cap->live_link, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		if (!strcmp(buf, want))
			unlink(cap->live_link);
	}
	free(want);
	free(cap->live_link);
	cap->live_link = NULL;
}

bool capture_is_live(int fd)
{
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		flock(fd, LOCK_UN);
		return false;
	}
	return errno == EWOULDBLOCK;
}

int capture_find_live(const char *results_dir, const char *key, char **path)
{
	char *link = xasprintf("%s/.live/%s", results_dir, key);
	char buf[512];
	ssize_t n = readlink(link, buf, sizeof(buf) - 1);
	int fd, ret = -LAB_ENOENT;

	*path = NULL;
	free(link);
	if (n <= 3 || strncmp(buf, "../", 3))
		return ret;
	buf[n] = '\0';
	if (strchr(buf + 3, '/'))
		return ret;
	*path = xasprintf("%s/%s", results_dir, buf + 3);
	fd = open(*path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (capture_is_live(fd))
			ret = 0;
		close(fd);
	}
	if (ret) {
		free(*path);
		*path = NULL;
	}
	return ret;
}

static int close_fd(int *fd, const char *path)
{
	int ret = 0;

	if (*fd < 0)
		return 0;
	if (fsync(*fd) < 0 && errno != EINVAL)
		ret = lab_err_errno(errno, "cannot sync %s", path);
	if (close(*fd) < 0 && !ret && errno != EINTR)
		ret = lab_err_errno(errno, "cannot close %s", path);
	*fd = -1;
	return ret;
}

int capture_close(struct capture *cap)
{
	int ret, r2;

	if (!cap || cap->closed)
		return cap ? cap->err : 0;
	if (cap->in_gap)
		gap_record(cap, " (still lost when the capture ended)");
	cap->closed = true;
	unpublish(cap);
	cap->line_end = cap->offset;
	if (cap->on_line && cap->line_open && !cap->err)
		deliver(cap, cap->carry.buf ? cap->carry.buf : "", cap->carry.len);
	cap->line_open = false;
	strbuf_reset(&cap->carry);
	if (!cap->err)
		flush_side(cap);
	ret = close_fd(&cap->fd, cap->path);
	r2 = close_fd(&cap->side_fd, cap->lines_path);
	if (!cap->err && (ret || r2)) {
		cap->err = ret ? ret : r2;
		snprintf(cap->errmsg, sizeof(cap->errmsg), "%s",
			 lab_errmsg(cap->err));
	}
	return cap->err;
}

int capture_abandon(struct capture *cap, char **kept)
{
	struct stat st;
	char *partial;

	if (kept)
		*kept = NULL;
	if (!cap->closed)
		capture_close(cap);
	unlink(cap->lines_path);
	partial = xasprintf("%s.partial", cap->path);
	if (stat(cap->path, &st) == 0 && st.st_size > 0 &&
	    rename(cap->path, partial) == 0) {
		if (kept) {
			*kept = partial;
			partial = NULL;
		}
	} else {
		unlink(cap->path);
	}
	free(partial);
	return 0;
}

const char *capture_error(const struct capture *cap)
{
	return cap->err ? cap->errmsg : NULL;
}

void capture_free(struct capture *cap)
{
	if (!cap)
		return;
	if (!cap->closed)
		capture_close(cap);
	if (cap->fd >= 0)
		close(cap->fd);
	if (cap->side_fd >= 0)
		close(cap->side_fd);
	strbuf_release(&cap->carry);
	strbuf_release(&cap->side);
	free(cap->gap_reason);
	free(cap->live_link);
	free(cap->dir);
	free(cap->path);
	free(cap->name);
	free(cap->lines_path);
	free(cap);
}

const char *capture_path(const struct capture *cap)
{
	return cap->path;
}

const char *capture_name(const struct capture *cap)
{
	return cap->name;
}

const char *capture_lines_path(const struct capture *cap)
{
	return cap->lines_path;
}

uint64_t capture_line_start(const struct capture *cap)
{
	return cap->line_start;
}

uint64_t capture_line_end(const struct capture *cap)
{
	return cap->line_end;
}

/* The sidecar position of the first record at or after byte offset end. */
static int side_cut(struct capture *cap, uint64_t end, off_t *cut)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p, *stop;
	int ret;

	ret = strbuf_read_file(&sb, cap->lines_path, SIZE_MAX / 2);
	if (ret < 0) {
		strbuf_release(&sb);
		return ret;
	}
	*cut = (off_t)sb.len;
	for (p = strbuf_str(&sb), stop = p + sb.len; p < stop; ) {
		const char *nl = memchr(p, '\n', (size_t)(stop - p));
		unsigned long long off;

		if ((p[0] == 'L' || p[0] == 'G') && p[1] == '\t' &&
		    sscanf(p + 2, "%llu", &off) == 1 &&
		    (off > end || (p[0] == 'L' && off == end))) {
			*cut = (off_t)(p - sb.buf);
			break;
		}
		p = nl ? nl + 1 : stop;
	}
	strbuf_release(&sb);
	return 0;
}

int capture_truncate(struct capture *cap, uint64_t end)
{
	off_t cut;

	if (cap->err || cap->closed || end >= cap->offset)
		return cap->err;
	if (flush_side(cap) < 0)
		return cap->err;
	if (side_cut(cap, end, &cut) < 0) {
		lab_err_clear();
		return 0;	/* the log stays whole: nothing is lost */
	}
	if (ftruncate(cap->fd, (off_t)end) < 0 ||
	    lseek(cap->fd, (off_t)end, SEEK_SET) < 0)
		return fail(cap, errno, cap->path);
	if (ftruncate(cap->side_fd, cut) < 0 ||
	    lseek(cap->side_fd, cut, SEEK_SET) < 0)
		return fail(cap, errno, cap->lines_path);
	cap->offset = end;
	cap->line_open = false;
	strbuf_reset(&cap->carry);
	return 0;
}

uint64_t capture_bytes(const struct capture *cap)
{
	return cap->offset;
}

const char *capture_pending(const struct capture *cap, size_t *len)
{
	*len = cap->line_open ? cap->carry.len : 0;
	return *len ? cap->carry.buf : NULL;
}
