// SPDX-License-Identifier: MIT
/*
 * A plain source directory (an unpacked tarball, no git): its snapshot by
 * content, and a private copy of it to build in, so that build.sh, which
 * builds in place, never writes into the user's tree and parallel variants
 * of one tree each build in their own copy.
 *
 * The snapshot hashes, in byte order of their relative paths, every
 * directory, regular file (executable bit, size, contents) and symlink
 * (target) under the root: contents and names, not times.  One relative
 * path may be skipped (labctl's own images directory when it lies inside
 * the tree).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hvimage/build_priv.h"
#include "lib/err.h"
#include "lib/xmalloc.h"

struct names {
	char **v;
	int n;
};

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Relative paths under root/rel, depth first (sorted later). */
static int collect(const char *root, const char *rel, const char *skip,
		   struct names *out, int depth)
{
	char *dir = *rel ? xasprintf("%s/%s", root, rel) : xstrdup(root);
	DIR *d = opendir(dir);
	struct dirent *e;
	int ret = 0;

	if (!d) {
		ret = lab_err_errno(errno, "cannot read %s", dir);
		free(dir);
		return ret;
	}
	if (depth > 64) {
		closedir(d);
		ret = lab_err(LAB_EINVAL, "%s: directories nested too deep", dir);
		free(dir);
		return ret;
	}
	while (!ret && (e = readdir(d))) {
		char *path, *full;
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		path = *rel ? xasprintf("%s/%s", rel, e->d_name) :
			      xstrdup(e->d_name);
		if (skip && !strcmp(path, skip)) {
			free(path);
			continue;
		}
		full = xasprintf("%s/%s", root, path);
		if (lstat(full, &st) < 0) {
			ret = lab_err_errno(errno, "cannot read %s", full);
		} else if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode) ||
			   S_ISLNK(st.st_mode)) {
			out->v = xrealloc(out->v, (size_t)(out->n + 1) * sizeof(char *));
			out->v[out->n++] = xstrdup(path);
			if (S_ISDIR(st.st_mode))
				ret = collect(root, path, skip, out, depth + 1);
		}
		/* Sockets, FIFOs and devices are not sources: left out. */
		free(full);
		free(path);
	}
	closedir(d);
	free(dir);
	return ret;
}

static void names_free(struct names *n)
{
	int i;

	for (i = 0; i < n->n; i++)
		free(n->v[i]);
	free(n->v);
	n->v = NULL;
	n->n = 0;
}

static int list_tree(const char *root, const char *skip, struct names *out)
{
	int ret;

	memset(out, 0, sizeof(*out));
	ret = collect(root, "", skip, out, 0);
	if (ret) {
		names_free(out);
		return ret;
	}
	if (out->n)
		qsort(out->v, (size_t)out->n, sizeof(char *), cmp_name);
	return 0;
}

int hv_tree_snapshot(const char *root, const char *skip,
		     char hex[SHA256_HEX_LEN + 1], int *nfiles)
{
	struct names names;
	struct lab_sha256 c;
	int i, ret, files = 0;

	ret = list_tree(root, skip, &names);
	if (ret)
		return ret;
	lab_sha256_init(&c);
	lab_sha256_addstr(&c, "labctl source tree 1\n");
	for (i = 0; i < names.n && !ret; i++) {
		char *full = xasprintf("%s/%s", root, names.v[i]);
		struct stat st;
		char line[128];

		if (lstat(full, &st) < 0) {
			ret = lab_err_errno(errno, "cannot read %s", full);
		} else if (S_ISDIR(st.st_mode)) {
			lab_sha256_addstr(&c, "d ");
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t n = readlink(full, target, sizeof(target));

			lab_sha256_addstr(&c, "l ");
			if (n > 0)
				lab_sha256_update(&c, target, (size_t)n);
			lab_sha256_addstr(&c, " ");
		} else {
			struct lab_sha256 f;
			char fhex[SHA256_HEX_LEN + 1];
			uint64_t size = 0;

			lab_sha256_init(&f);
			ret = lab_sha256_update_file(&f, full, &size);
			lab_sha256_final_hex(&f, fhex);
			snprintf(line, sizeof(line), "f %o %llu %s ",
				 (unsigned)(st.st_mode & 0111),
				 (unsigned long long)size, fhex);
			lab_sha256_addstr(&c, line);
			files++;
		}
		lab_sha256_update(&c, names.v[i], strlen(names.v[i]) + 1);
		free(full);
	}
	if (!ret) {
		lab_sha256_final_hex(&c, hex);
		if (nfiles)
			*nfiles = files;
	}
	names_free(&names);
	return ret;
}

/* Contents and permission bits; no fsync: a copy to build in, not a result. */
static int copy_plain(const char *from, const char *to, mode_t mode)
{
	int in, out, ret = 0;

	in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return lab_err_errno(errno, "cannot read %s", from);
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 0777);
	if (out < 0) {
		ret = lab_err_errno(errno, "cannot create %s", to);
		close(in);
		return ret;
	}
	ret = hv_copy_data(in, out, from, to);
	if (!ret && fchmod(out, mode & 07777) < 0)
		ret = lab_err_errno(errno, "cannot write %s", to);
	if (close(out) < 0 && !ret)
		ret = lab_err_errno(errno, "cannot write %s", to);
	close(in);
	return ret;
}

int hv_tree_copy(const char *root, const char *skip, const char *dst)
{
	struct names names;
	int i, ret;

	ret = hv_rm_rf(dst);
	if (!ret && mkdir(dst, 0755) < 0)
		ret = lab_err_errno(errno, "cannot create directory %s", dst);
	if (!ret)
		ret = list_tree(root, skip, &names);
	if (ret)
		return ret;
	for (i = 0; i < names.n && !ret; i++) {
		char *from = xasprintf("%s/%s", root, names.v[i]);
		char *to = xasprintf("%s/%s", dst, names.v[i]);
		struct stat st;

		if (lstat(from, &st) < 0) {
			ret = lab_err_errno(errno, "cannot read %s", from);
		} else if (S_ISDIR(st.st_mode)) {
			if (mkdir(to, (st.st_mode & 0777) | 0700) < 0)
				ret = lab_err_errno(errno, "cannot create directory %s", to);
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t n = readlink(from, target, sizeof(target) - 1);

			if (n < 0 || (target[n] = 0, symlink(target, to) < 0))
				ret = lab_err_errno(errno, "cannot copy the symlink %s", from);
		} else {
			ret = copy_plain(from, to, st.st_mode | 0600);
		}
		free(from);
		free(to);
	}
	names_free(&names);
	return ret;
}

bool hv_tree_has(const char *root, const char *rel)
{
	char *p = xasprintf("%s/%s", root, rel);
	struct stat st;
	bool ok = lstat(p, &st) == 0;

	free(p);
	return ok;
}
