// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fileio.h"
#include "xmalloc.h"

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int lab_write_file_atomic(const char *path, const void *data, size_t len,
			  mode_t mode)
{
	char *dir_copy = xstrdup(path);
	char *dir = dirname(dir_copy);
	char *tmp = xasprintf("%s.labctl-XXXXXX", path);
	struct stat st;
	int fd, dfd, ret = 0;

	if (stat(path, &st) == 0)
		mode = st.st_mode & 07777;
	fd = mkstemp(tmp);
	if (fd < 0) {
		ret = lab_err_errno(errno, "cannot create a temporary file next to %s",
				    path);
		goto out;
	}
	/* Mode after the data: a write by non-root clears setuid/setgid. */
	if (write_all(fd, data, len) < 0 || fchmod(fd, mode) < 0 ||
	    fsync(fd) < 0) {
		ret = lab_err_errno(errno, "cannot write %s", tmp);
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) < 0) {
		ret = lab_err_errno(errno, "cannot write %s", tmp);
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) < 0) {
		ret = lab_err_errno(errno, "cannot replace %s", path);
		unlink(tmp);
		goto out;
	}
	/* Make the rename itself durable. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
out:
	free(tmp);
	free(dir_copy);
	return ret;
}

int lab_mkdir_p(const char *path, mode_t mode)
{
	char *copy = xstrdup(path), *p;
	int ret = 0;

	for (p = copy + 1; ; p++) {
		if (*p == '/' || !*p) {
			char c = *p;

			*p = '\0';
			if (mkdir(copy, mode) < 0 && errno != EEXIST) {
				ret = lab_err_errno(errno, "cannot create %s", copy);
				break;
			}
			*p = c;
			if (!c)
				break;
		}
	}
	free(copy);
	return ret;
}
