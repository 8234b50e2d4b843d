// SPDX-License-Identifier: MIT
/* Small file system helpers for hvimage. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hvimage/build_priv.h"
#include "lib/err.h"
#include "lib/xmalloc.h"

int hv_mkdir_p(const char *path, mode_t mode)
{
	char *p, *s, c;
	struct stat st;
	int ret = 0;

	if (!*path)
		return lab_err(LAB_EINVAL, "empty directory name");
	p = xstrdup(path);
	for (s = p + 1; ; s++) {
		if (*s != '/' && *s)
			continue;
		c = *s;
		*s = 0;
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			ret = lab_err_errno(errno, "cannot create directory %s", p);
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	if (!ret && (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)))
		ret = lab_err(LAB_EIO, "%s is not a directory", path);
	free(p);
	return ret;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	if (flag == FTW_DNR) {
		/* An unreadable directory: make it readable and go on. */
		chmod(path, 0700);
		return 0;
	}
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int hv_rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : lab_err_errno(errno, "cannot remove %s", path);
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0 && errno != ENOENT)
			return lab_err_errno(errno, "cannot remove %s", path);
		return 0;
	}
	if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0 ||
	    (lstat(path, &st) == 0 && rmdir(path) < 0))
		return lab_err_errno(errno, "cannot remove %s", path);
	return 0;
}

int hv_copy_data(int in, int out, const char *from, const char *to)
{
	char buf[65536];

	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf)), off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return lab_err_errno(errno, "cannot read %s", from);
		if (!n)
			return 0;
		while (off < n) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return lab_err_errno(errno, "cannot write %s", to);
			off += w;
		}
	}
}

int hv_copy_file(const char *from, const char *to)
{
	struct stat st;
	int in, out, ret = 0;

	in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return lab_err_errno(errno, "cannot read %s", from);
	if (fstat(in, &st) < 0) {
		ret = lab_err_errno(errno, "cannot read %s", from);
		close(in);
		return ret;
	}
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		   st.st_mode & 0777);
	if (out < 0) {
		ret = lab_err_errno(errno, "cannot create %s", to);
		close(in);
		return ret;
	}
	ret = hv_copy_data(in, out, from, to);
	if (!ret && (fchmod(out, st.st_mode & 07777) < 0 || fsync(out) < 0))
		ret = lab_err_errno(errno, "cannot write %s", to);
	if (close(out) < 0 && !ret)
		ret = lab_err_errno(errno, "cannot write %s", to);
	close(in);
	return ret;
}

void hv_fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

void hv_tail_lines(const char *path, int n, struct strbuf *out)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[65536];
	ssize_t len;
	off_t size;
	const char *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC), lines = 0;

	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size > (off_t)sizeof(buf))
		lseek(fd, size - (off_t)sizeof(buf), SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	len = read(fd, buf, sizeof(buf));
	close(fd);
	if (len <= 0)
		return;
	strbuf_add(&sb, buf, (size_t)len);
	/* Drop a trailing newline, then walk back n line starts. */
	if (sb.len && sb.buf[sb.len - 1] == '\n')
		strbuf_setlen(&sb, sb.len - 1);
	for (p = sb.buf + sb.len; p > sb.buf; p--) {
		if (p[-1] == '\n' && ++lines == n)
			break;
	}
	strbuf_addstr(out, p);
	strbuf_addch(out, '\n');
	strbuf_release(&sb);
}
