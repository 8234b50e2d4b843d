// SPDX-License-Identifier: MIT
/*
 * The build cache: every build kept by its inputs hash, so that going back
 * to an earlier source state, arguments or compiler is a cache hit, not a
 * rebuild.
 *
 *   <cache>/<inputs>/   init.bin, hypervisor.bin.gz, MANIFEST, build.log
 *   <cache>/.lock       flock: shared while an entry is read, exclusive
 *                       while one is added or removed
 *
 * An entry's directory time is when it was last used (built or taken);
 * beyond the size bound the least recently used entries go.  images/<v>/
 * holds hard links to its entry's files (copies across file systems), so
 * removing an entry never touches an installed image.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hvimage/build_priv.h"
#include "lib/err.h"
#include "lib/xmalloc.h"

const char *const hv_entry_files[] = { HV_INIT_FILE, HV_MODULE_FILE,
				       HV_MANIFEST_FILE, HV_LOG_FILE, NULL };

char *hv_cache_dir(const char *images_dir)
{
	const char *e = getenv("LABCTL_CACHE_DIR");

	if (e && *e)
		return xstrdup(e);
	return xasprintf("%s/.cache", images_dir ? images_dir :
			 hv_default_images_dir());
}

int hv_parse_size(const char *s, int64_t *bytes)
{
	char *end;
	long long v;
	int shift = 0;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v < 0)
		return lab_err(LAB_EINVAL, "'%s' is not a size (e.g. 0, 500K, 256M, 2G)", s);
	if (!strcmp(end, "K") || !strcmp(end, "KiB"))
		shift = 10;
	else if (!strcmp(end, "M") || !strcmp(end, "MiB"))
		shift = 20;
	else if (!strcmp(end, "G") || !strcmp(end, "GiB"))
		shift = 30;
	else if (*end)
		return lab_err(LAB_EINVAL, "'%s' is not a size (e.g. 0, 500K, 256M, 2G)", s);
	if (v > (INT64_MAX >> shift))
		return lab_err(LAB_EINVAL, "size '%s' is too large", s);
	*bytes = (int64_t)v << shift;
	return 0;
}

int hv_cache_max_env(int64_t *bytes)
{
	const char *e = getenv("LABCTL_CACHE_SIZE");
	int ret;

	*bytes = HV_CACHE_DEFAULT_MAX;
	if (!e || !*e)
		return 0;
	ret = hv_parse_size(e, bytes);
	if (ret) {
		/* lab_err formats into the buffer lab_errmsg returns. */
		char *why = xstrdup(lab_errmsg(ret));

		ret = lab_err(LAB_ECONFIG, "LABCTL_CACHE_SIZE: %s", why);
		free(why);
		return ret;
	}
	return 1;
}

int hv_cache_lock(const char *cache_dir, bool exclusive)
{
	char *path = xasprintf("%s/.lock", cache_dir);
	int fd, ret;

	ret = hv_mkdir_p(cache_dir, 0755);
	if (ret) {
		free(path);
		return ret;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = lab_err_errno(errno, "cannot create %s", path);
		free(path);
		return ret;
	}
	free(path);
	while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
		if (errno != EINTR) {
			ret = lab_err_errno(errno, "cannot lock the build cache %s",
					    cache_dir);
			close(fd);
			return ret;
		}
	}
	return fd;
}

void hv_cache_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

int hv_link_files(const char *from_dir, const char *to_dir)
{
	const char *const *f;
	int ret = 0;

	for (f = hv_entry_files; *f && !ret; f++) {
		char *from = xasprintf("%s/%s", from_dir, *f);
		char *to = xasprintf("%s/%s", to_dir, *f);

		unlink(to);
		if (link(from, to) < 0) {
			if (errno == EXDEV || errno == EPERM || errno == EMLINK)
				ret = hv_copy_file(from, to);
			else
				ret = lab_err_errno(errno, "cannot link %s to %s",
						    from, to);
		}
		free(from);
		free(to);
	}
	return ret;
}

static bool is_entry_name(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == SHA256_HEX_LEN;
}

/* "<inputs>.tmp-XXXXXX": an entry being added. */
static bool is_tmp_name(const char *s)
{
	char head[SHA256_HEX_LEN + 1];

	if (strlen(s) != SHA256_HEX_LEN + 5 + 6 ||
	    strncmp(s + SHA256_HEX_LEN, ".tmp-", 5))
		return false;
	memcpy(head, s, SHA256_HEX_LEN);
	head[SHA256_HEX_LEN] = 0;
	return is_entry_name(head);
}

struct entry {
	char *name;
	int64_t bytes;
	int64_t used_ns;
};

static int cmp_used(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->used_ns != y->used_ns)
		return x->used_ns < y->used_ns ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int64_t dir_bytes(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int64_t sum = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char *p = xasprintf("%s/%s", dir, e->d_name);
		struct stat st;

		if (lstat(p, &st) == 0 && S_ISREG(st.st_mode))
			sum += st.st_size;
		free(p);
	}
	closedir(d);
	return sum;
}

int hv_cache_evict(const char *cache_dir, int64_t max_bytes,
		   const char *keep, struct hv_cache_stats *st)
{
	struct entry *ents = NULL;
	int n = 0, i, ret = 0;
	int64_t total = 0;
	struct dirent *e;
	DIR *d;

	memset(st, 0, sizeof(*st));
	d = opendir(cache_dir);
	if (!d)
		return errno == ENOENT ? 0 :
		       lab_err_errno(errno, "cannot read the build cache %s", cache_dir);
	while ((e = readdir(d))) {
		char *p = xasprintf("%s/%s", cache_dir, e->d_name);
		struct stat sb;

		/* Under the exclusive lock every temporary entry is stale. */
		if (is_tmp_name(e->d_name)) {
			hv_rm_rf(p);
		} else if (is_entry_name(e->d_name) && lstat(p, &sb) == 0 &&
			   S_ISDIR(sb.st_mode)) {
			ents = xrealloc(ents, (size_t)(n + 1) * sizeof(*ents));
			ents[n].name = xstrdup(e->d_name);
			ents[n].bytes = dir_bytes(p);
			ents[n].used_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 +
					  sb.st_mtim.tv_nsec;
			total += ents[n].bytes;
			n++;
		}
		free(p);
	}
	closedir(d);
	if (n)
		qsort(ents, (size_t)n, sizeof(*ents), cmp_used);
	for (i = 0; i < n; i++) {
		if (total > max_bytes && !(keep && !strcmp(ents[i].name, keep))) {
			char *p = xasprintf("%s/%s", cache_dir, ents[i].name);
			int r = hv_rm_rf(p);

			free(p);
			if (!r) {
				total -= ents[i].bytes;
				st->removed++;
				st->removed_bytes += ents[i].bytes;
				continue;
			}
			if (!ret)
				ret = r;
		}
		st->kept++;
		st->kept_bytes += ents[i].bytes;
	}
	for (i = 0; i < n; i++)
		free(ents[i].name);
	free(ents);
	return ret;
}

int hv_cache_prune(const char *cache_dir, int64_t max_bytes,
		   struct hv_cache_stats *st)
{
	int fd, ret;

	memset(st, 0, sizeof(*st));
	if (access(cache_dir, F_OK) < 0 && errno == ENOENT)
		return 0;
	fd = hv_cache_lock(cache_dir, true);
	if (fd < 0)
		return fd;
	ret = hv_cache_evict(cache_dir, max_bytes, NULL, st);
	hv_cache_unlock(fd);
	return ret;
}
