// SPDX-License-Identifier: MIT
/*
 * GRUB environment blocks.  The byte-level behaviour follows GRUB 2.06's
 * grub-core/lib/envblk.c and util/grub-editenv.c (read, not copied); the
 * comments in envblk.h list the corners that matter.  Offsets are size_t
 * indices into the buffer, never pointers past its end.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "grubenv/envblk.h"
#include "lib/err.h"
#include "lib/fileio.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/utf8.h"
#include "lib/xmalloc.h"

/* Records start right after the signature line. */
#define FIRST_LINE ENVBLK_SIGNATURE_LEN

/* Append s (len bytes) quoted for a message: C escapes, at most max chars. */
static void add_quoted(struct strbuf *sb, const char *s, size_t len, size_t max)
{
	size_t i, shown = 0;

	strbuf_addch(sb, '"');
	for (i = 0; i < len && shown < max; i++, shown++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n')
			strbuf_addstr(sb, "\\n");
		else if (c == '\t')
			strbuf_addstr(sb, "\\t");
		else if (c == '\r')
			strbuf_addstr(sb, "\\r");
		else if (c == '\\' || c == '"')
			strbuf_addf(sb, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			strbuf_addf(sb, "\\x%02x", c);
		else
			strbuf_addch(sb, (char)c);
	}
	strbuf_addch(sb, '"');
	if (i < len)
		strbuf_addstr(sb, "...");
}

/* ---------------------------------------------------------- the scanner */

/*
 * Index of the line after the one that contains i: a backslash hides the
 * byte after it, so an escaped newline does not end a line.  May return
 * a value past size (by up to 2) when the last line is unterminated.
 */
static size_t next_line(const struct envblk *blk, size_t i)
{
	while (i < blk->size) {
		if (blk->buf[i] == '\\')
			i += 2;
		else if (blk->buf[i] == '\n')
			break;
		else
			i++;
	}
	return i + 1;
}

/*
 * Length of the escaped value starting at v, up to (not including) its
 * terminating newline.  Returns false when the value runs off the end.
 */
static bool value_len(const struct envblk *blk, size_t v, size_t *len)
{
	size_t n = 0;

	while (v + n < blk->size && blk->buf[v + n] != '\n') {
		if (blk->buf[v + n] == '\\')
			n += 2;
		else
			n++;
	}
	if (v + n >= blk->size)
		return false;
	*len = n;
	return true;
}

/*
 * Start of the free '#' run at the end.  GRUB requires the byte before it
 * to be a newline; the signature ends in one, so the run never reaches
 * into it.  Returns false for a broken block.
 */
static bool free_start(const struct envblk *blk, size_t *space)
{
	size_t j = blk->size;

	while (j > FIRST_LINE && blk->buf[j - 1] == '#')
		j--;
	if (blk->buf[j - 1] != '\n')
		return false;
	*space = j;
	return true;
}

size_t envblk_free_space(const struct envblk *blk)
{
	size_t space;

	if (!free_start(blk, &space))
		return 0;
	return blk->size - space;
}

/* Does the line at p start with "name="?  (p + nl < size is checked.) */
static bool line_is(const struct envblk *blk, size_t p, const char *name,
		    size_t nl)
{
	return memcmp(blk->buf + p, name, nl) == 0 && blk->buf[p + nl] == '=';
}

/*
 * First line at or after `from` that starts with "name=" and begins before
 * `limit - nl - 1`, walking line by line from the first record.  Returns
 * its offset or SIZE_MAX.
 */
static size_t find_record(const struct envblk *blk, const char *name,
			  size_t limit, size_t from)
{
	size_t nl = strlen(name);
	size_t p = FIRST_LINE;

	while (p + nl + 1 < limit) {
		if (p >= from && line_is(blk, p, name, nl))
			return p;
		p = next_line(blk, p);
	}
	return SIZE_MAX;
}

/* ------------------------------------------------------------ set/unset */

size_t envblk_escaped_len(const char *value)
{
	size_t n = 0;

	for (; *value; value++)
		n += (*value == '\\' || *value == '\n') ? 2 : 1;
	return n;
}

static void write_value(char *dst, const char *value)
{
	for (; *value; value++) {
		if (*value == '\\' || *value == '\n')
			*dst++ = '\\';
		*dst++ = *value;
	}
	*dst = '\n';
}

static int too_small(const struct envblk *blk, const char *name, size_t need,
		     size_t avail)
{
	struct strbuf sb = STRBUF_INIT;
	int ret;

	add_quoted(&sb, name, strlen(name), 40);
	ret = lab_err(LAB_ENOSPC,
		      "environment block too small: setting %s needs %zu more bytes, only %zu of its %zu bytes are free",
		      strbuf_str(&sb), need, avail, blk->size);
	strbuf_release(&sb);
	return ret;
}

int envblk_set(struct envblk *blk, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = envblk_escaped_len(value);
	size_t space, p, v, len, avail;

	if (!free_start(blk, &space))
		return lab_err(LAB_EFORMAT,
			       "malformed environment block: the byte before the '#' padding at its end is not a newline, so nothing can be added or changed");
	avail = blk->size - space;

	p = find_record(blk, name, space, 0);
	if (p == SIZE_MAX) {
		/* A new record goes where the '#' run starts. */
		if (nl + 1 + vl + 1 > avail)
			return too_small(blk, name, nl + 1 + vl + 1, avail);
		memcpy(blk->buf + space, name, nl);
		blk->buf[space + nl] = '=';
		write_value(blk->buf + space + nl + 1, value);
		return 0;
	}

	v = p + nl + 1;
	if (!value_len(blk, v, &len))
		return lab_err(LAB_EFORMAT,
			       "malformed environment block: the record at byte %zu is not terminated by a newline",
			       p);
	if (vl > len) {
		if (vl - len > avail)
			return too_small(blk, name, vl - len, avail);
		/* Shift the rest right; the end of the '#' run drops off. */
		memmove(blk->buf + v + vl, blk->buf + v + len,
			blk->size - (v + vl));
	} else if (vl < len) {
		/* Shift the rest left and pad the end with '#'. */
		memmove(blk->buf + v + vl, blk->buf + v + len,
			blk->size - (v + len));
		memset(blk->buf + blk->size - (len - vl), '#', len - vl);
	}
	write_value(blk->buf + v, value);
	return 0;
}

/* Remove the record at p if it is terminated; returns 1 if removed. */
static int delete_at(struct envblk *blk, size_t p, size_t nl)
{
	size_t len;

	if (!value_len(blk, p + nl + 1, &len))
		return 0;	/* unterminated: GRUB leaves it as it is */
	len += nl + 1 + 1;	/* name, '=', value, newline */
	memmove(blk->buf + p, blk->buf + p + len, blk->size - (p + len));
	memset(blk->buf + blk->size - len, '#', len);
	return 1;
}

int envblk_unset(struct envblk *blk, const char *name)
{
	size_t p = find_record(blk, name, blk->size, 0);

	if (p == SIZE_MAX)
		return 0;
	return delete_at(blk, p, strlen(name));
}

int envblk_unset_duplicates(struct envblk *blk, const char *name)
{
	size_t nl = strlen(name);
	size_t first = find_record(blk, name, blk->size, 0);
	size_t p, from;
	int removed = 0;

	if (first == SIZE_MAX)
		return 0;
	from = next_line(blk, first);
	while ((p = find_record(blk, name, blk->size, from)) != SIZE_MAX) {
		if (!delete_at(blk, p, nl))
			break;
		removed++;
		from = p;
	}
	return removed;
}

/* ------------------------------------------------------------ iteration */

enum walk_stop {
	WALK_END,		/* read to the end */
	WALK_NO_EQUALS,		/* a line without '=' up to the end */
	WALK_UNTERMINATED,	/* a value without its newline */
	WALK_CALLBACK,		/* fn returned non-zero */
};

struct walk {
	enum walk_stop stop;
	size_t at;		/* offset of the record that stopped it */
	int ret;		/* fn's return value */
};

/* Walk the records as GRUB's iterate does; fn may be NULL. */
static void walk(const struct envblk *blk, envblk_fn fn, void *arg,
		 struct walk *w)
{
	char *scratch = NULL;
	size_t p = FIRST_LINE;

	w->stop = WALK_END;
	w->ret = 0;
	if (fn)
		scratch = xmalloc(blk->size + 2);
	while (p < blk->size) {
		size_t start = p, name_end, vstart;
		char *value, *q;

		if (blk->buf[p] == '#') {
			p = next_line(blk, p);
			continue;
		}
		/* The name runs to the next '=', newlines included. */
		while (p < blk->size && blk->buf[p] != '=')
			p++;
		if (p == blk->size) {
			w->stop = WALK_NO_EQUALS;
			w->at = start;
			break;
		}
		name_end = p;
		vstart = ++p;
		while (p < blk->size && blk->buf[p] != '\n')
			p += blk->buf[p] == '\\' ? 2 : 1;
		if (p >= blk->size) {
			w->stop = WALK_UNTERMINATED;
			w->at = start;
			break;
		}
		if (fn) {
			size_t i;

			memcpy(scratch, blk->buf + start, name_end - start);
			scratch[name_end - start] = '\0';
			value = q = scratch + (name_end - start) + 1;
			for (i = vstart; i < p; i++) {
				if (blk->buf[i] == '\\')
					i++;
				*q++ = blk->buf[i];
			}
			*q = '\0';
			w->ret = fn(scratch, value, arg);
			if (w->ret) {
				w->stop = WALK_CALLBACK;
				w->at = start;
				break;
			}
		}
		p++;	/* past the newline */
	}
	free(scratch);
}

int envblk_foreach(const struct envblk *blk, envblk_fn fn, void *arg)
{
	struct walk w;

	walk(blk, fn, arg, &w);
	return w.ret;
}

struct get_arg {
	const char *name;
	char *value;
};

static int get_cb(const char *name, const char *value, void *arg)
{
	struct get_arg *g = arg;

	if (strcmp(name, g->name) == 0) {
		free(g->value);
		g->value = xstrdup(value);
	}
	return 0;
}

char *envblk_get(const struct envblk *blk, const char *name)
{
	struct get_arg g = { name, NULL };

	envblk_foreach(blk, get_cb, &g);
	return g.value;
}

int envblk_check(const struct envblk *blk, size_t *bad_offset)
{
	struct strbuf sb = STRBUF_INIT;
	struct walk w;
	size_t space, end;
	int ret;

	walk(blk, NULL, NULL, &w);
	if (w.stop == WALK_END) {
		if (free_start(blk, &space))
			return 0;
		/* The last byte that is not '#'. */
		for (end = blk->size; end > FIRST_LINE; end--)
			if (blk->buf[end - 1] != '#')
				break;
		if (bad_offset)
			*bad_offset = end - 1;
		return lab_err(LAB_EFORMAT,
			       "malformed environment block: byte %zu, before the '#' padding, is not a newline, so GRUB cannot add or change variables",
			       end - 1);
	}
	if (bad_offset)
		*bad_offset = w.at;
	add_quoted(&sb, blk->buf + w.at, blk->size - w.at, 30);
	if (w.stop == WALK_NO_EQUALS)
		ret = lab_err(LAB_EFORMAT,
			      "malformed environment block: text at byte %zu (%s) has no '=', GRUB stops reading there",
			      w.at, strbuf_str(&sb));
	else
		ret = lab_err(LAB_EFORMAT,
			      "malformed environment block: the record at byte %zu (%s) is not terminated by a newline, GRUB ignores it",
			      w.at, strbuf_str(&sb));
	strbuf_release(&sb);
	return ret;
}

/* ------------------------------------------------- creation and parsing */

int envblk_new(size_t size, struct envblk **out)
{
	struct envblk *blk;

	*out = NULL;
	if (size < ENVBLK_MIN_NEW_SIZE || size > ENVBLK_MAX_SIZE)
		return lab_err(LAB_EINVAL,
			       "block size %zu is out of range: it must be between %zu and %u bytes",
			       size, (size_t)ENVBLK_MIN_NEW_SIZE,
			       ENVBLK_MAX_SIZE);
	blk = xmalloc(sizeof(*blk));
	blk->size = size;
	blk->buf = xmalloc(size);
	memcpy(blk->buf, ENVBLK_SIGNATURE, ENVBLK_SIGNATURE_LEN);
	memcpy(blk->buf + ENVBLK_SIGNATURE_LEN, ENVBLK_WARNING,
	       ENVBLK_WARNING_LEN);
	memset(blk->buf + ENVBLK_MIN_NEW_SIZE, '#', size - ENVBLK_MIN_NEW_SIZE);
	*out = blk;
	return 0;
}

void envblk_free(struct envblk *blk)
{
	if (!blk)
		return;
	free(blk->buf);
	free(blk);
}

/*
 * Is the start of data text?  Looks at up to 512 bytes: no control
 * characters but tab, CR, LF and form feed, and valid UTF-8 (sequences may run past the
 * sample).
 */
static bool looks_like_text(const unsigned char *d, size_t len)
{
	size_t n = len < 512 ? len : 512, i = 0;

	while (i < n) {
		unsigned char c = d[i];
		size_t l;

		if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' &&
		     c != '\f') || c == 0x7f)
			return false;
		l = lab_utf8_seq_len(d + i, len - i);
		if (!l)
			return false;
		i += l;
	}
	return true;
}

/* Record why data of len bytes is not an environment block. */
static int not_a_block(const unsigned char *d, size_t len, const char *what)
{
	struct strbuf sb = STRBUF_INIT;
	int ret;
	size_t i;

	if (len == 0) {
		return lab_err(LAB_EFORMAT,
			       "%s is empty, not a GRUB environment block (create one with: labctl grubenv FILE create)",
			       what);
	}
	if (len < ENVBLK_MIN_SIZE &&
	    memcmp(d, ENVBLK_SIGNATURE, len) == 0) {
		return lab_err(LAB_EFORMAT,
			       "%s is a truncated GRUB environment block: it has only %zu bytes, a block has at least %zu",
			       what, len, (size_t)ENVBLK_MIN_SIZE);
	}
	if (looks_like_text(d, len)) {
		size_t n = 0, chars = 0;

		/* Up to 40 characters, whole UTF-8 sequences only. */
		while (n < len && chars < 40) {
			size_t l = lab_utf8_seq_len(d + n, len - n);

			if (!l)
				break;
			n += l;
			chars++;
		}
		add_quoted(&sb, (const char *)d, n, SIZE_MAX);
		ret = lab_err(LAB_EFORMAT,
			      "%s is not a GRUB environment block: it is text that starts with %s%s (a block starts with the line \"# GRUB Environment Block\")",
			      what, strbuf_str(&sb), n < len ? "..." : "");
	} else {
		for (i = 0; i < len && i < 8; i++)
			strbuf_addf(&sb, "%s%02x", i ? " " : "", d[i]);
		ret = lab_err(LAB_EFORMAT,
			      "%s is not a GRUB environment block: it holds binary data (%zu bytes starting with %s%s)",
			      what, len, strbuf_str(&sb), len > 8 ? " ..." : "");
	}
	strbuf_release(&sb);
	return ret;
}

int envblk_parse(const void *data, size_t len, const char *what,
		 struct envblk **out)
{
	struct envblk *blk;

	*out = NULL;
	if (!what)
		what = "the data";
	if (len < ENVBLK_MIN_SIZE ||
	    memcmp(data, ENVBLK_SIGNATURE, ENVBLK_SIGNATURE_LEN) != 0)
		return not_a_block(data, len, what);
	blk = xmalloc(sizeof(*blk));
	blk->size = len;
	blk->buf = xmalloc(len);
	memcpy(blk->buf, data, len);
	*out = blk;
	return 0;
}

int envblk_load(const char *path, struct envblk **out)
{
	struct stat st;
	char *data = NULL;
	size_t len = 0, cap;
	int fd, ret;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return lab_err(LAB_ENOENT, "%s does not exist", path);
		return lab_err_errno(errno, "cannot open %s", path);
	}
	if (fstat(fd, &st) < 0) {
		ret = lab_err_errno(errno, "cannot read %s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = lab_err(LAB_EFORMAT,
			      "%s is not a regular file, so it cannot be a GRUB environment block",
			      path);
		goto out;
	}
	if ((uintmax_t)st.st_size > ENVBLK_MAX_SIZE) {
		ret = lab_err(LAB_EFORMAT,
			      "%s is not a GRUB environment block: it is %jd bytes long, more than the %u bytes allowed",
			      path, (intmax_t)st.st_size, ENVBLK_MAX_SIZE);
		goto out;
	}
	/* Read to EOF (the size may change under us), at most the limit. */
	cap = (size_t)st.st_size + 1;
	data = xmalloc(cap);
	for (;;) {
		ssize_t n;

		if (len == cap) {
			if (cap > ENVBLK_MAX_SIZE) {
				ret = lab_err(LAB_EFORMAT,
					      "%s is not a GRUB environment block: it is more than %u bytes long",
					      path, ENVBLK_MAX_SIZE);
				goto out;
			}
			cap *= 2;
			data = xrealloc(data, cap);
		}
		n = read(fd, data + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = lab_err_errno(errno, "cannot read %s", path);
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}

	ret = envblk_parse(data, len, path, out);
out:
	free(data);
	close(fd);
	return ret;
}

/*
 * Writers of a block hold an exclusive flock on its directory while they
 * write, so under the lock every "<name>.labctl-XXXXXX" beside it (the
 * temporary file of lab_write_file_atomic()) is what a killed writer left:
 * remove those.  Returns the locked directory's fd, or -1 (then nothing
 * is cleaned; the write goes on).
 */
static int lock_dir_and_clean(const char *path)
{
	char *copy = xstrdup(path);
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char *slash = strrchr(copy, '/');
	size_t blen = strlen(base);
	struct dirent *e;
	DIR *d;
	int dfd;

	if (slash)
		*(slash == copy ? slash + 1 : slash) = '\0';
	dfd = open(slash ? copy : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (dfd < 0)
		return -1;
	while (flock(dfd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			close(dfd);
			return -1;
		}
	}
	d = fdopendir(dup(dfd));
	if (!d)
		return dfd;
	while ((e = readdir(d))) {
		struct stat st;

		if (strncmp(e->d_name, base, blen) ||
		    strncmp(e->d_name + blen, ".labctl-", 8) ||
		    strlen(e->d_name + blen + 8) != 6)
			continue;
		if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && unlinkat(dfd, e->d_name, 0) == 0)
			lab_debug("removed %s, left by a write that was killed",
				  e->d_name);
	}
	closedir(d);
	return dfd;
}

int envblk_save(const char *path, const struct envblk *blk)
{
	struct stat st;
	char *real = NULL;
	int dfd, ret;

	/* Replace the file a symlink points to, not the link. */
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		real = realpath(path, NULL);
		if (!real)
			return lab_err_errno(errno,
					     "cannot resolve the symbolic link %s",
					     path);
	}
	dfd = lock_dir_and_clean(real ? real : path);
	ret = lab_write_file_atomic(real ? real : path, blk->buf, blk->size,
				    0644);
	if (dfd >= 0)
		close(dfd);	/* and the lock with it */
	free(real);
	return ret;
}
