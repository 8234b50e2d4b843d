// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/secret.h"
#include "lib/xmalloc.h"

#define SECRET_MAX 4096

int lab_read_secret_file(const char *what, const char *path,
			 struct strbuf *out)
{
	const char *home = getenv("HOME");
	char *full = NULL, buf[SECRET_MAX];
	struct stat st;
	ssize_t n;
	int fd, ret = 0;

	if (!strncmp(path, "~/", 2) && home && *home)
		path = full = xasprintf("%s/%s", home, path + 2);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ELOOP) {
		/* A link could be swapped for another file between checks. */
		ret = lab_err(LAB_ECONFIG,
			      "%s: password_file %s is a symbolic link; name the file itself",
			      what, path);
		goto out;
	}
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR)) {
		ret = lab_err_errno(errno, "%s: cannot open password_file %s",
				    what, path);
		goto out;
	}
	if (fd < 0) {
		/* Whatever stops the read, the fix is in the configuration. */
		ret = lab_err(LAB_ECONFIG, "%s: cannot open password_file %s: %s",
			      what, path, strerror(errno));
		goto out;
	}
	/* Checked on the open file, so what is read is what was checked. */
	if (fstat(fd, &st) < 0) {
		ret = lab_err_errno(errno, "%s: cannot stat %s", what, path);
	} else if (!S_ISREG(st.st_mode)) {
		ret = lab_err(LAB_ECONFIG, "%s: password_file %s is not a regular file",
			      what, path);
	} else if (st.st_mode & 077) {
		ret = lab_err(LAB_ECONFIG,
			      "%s: password_file %s is mode %04o: others can read the password; refusing it (chmod 600 %s)",
			      what, path, (unsigned)(st.st_mode & 07777), path);
	} else {
		n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			ret = lab_err_errno(errno, "%s: cannot read %s", what, path);
		} else {
			ssize_t len = 0;

			while (len < n && buf[len] != '\n' && buf[len] != '\r')
				len++;
			if (len == 0)
				ret = lab_err(LAB_ECONFIG,
					      "%s: password_file %s is empty (its first line is the password)",
					      what, path);
			else
				strbuf_add(out, buf, (size_t)len);
		}
		memset(buf, 0, sizeof(buf));
	}
	close(fd);
out:
	free(full);
	return ret;
}
