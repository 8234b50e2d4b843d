// SPDX-License-Identifier: MIT
/* The GRUB MBR disk image of the QEMU board, without root (diskimg.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "grubenv/envblk.h"
#include "hvimage/build_priv.h"
#include "hvimage/diskimg.h"
#include "hvimage/sha256.h"
#include "lib/err.h"
#include "lib/fileio.h"
#include "lib/spawn.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"

#define SECTOR 512
#define PART_START_LBA (DISKIMG_PART_OFFSET / SECTOR)
#define CORE_MAX (DISKIMG_PART_OFFSET - SECTOR)
#define DISK_ID 0x1abc7c71u	/* fixed: same inputs, same image */
#define MTOOLS_TIMEOUT_MS 60000
#define MKIMAGE_TIMEOUT_MS 60000

static const char *const mtools_env[] = {
	"MTOOLS_SKIP_CHECK=1",	/* no geometry complaints about a plain file */
	"MTOOLSRC=/dev/null",	/* the user's ~/.mtoolsrc does not apply */
	"LC_ALL=C",		/* messages we look at */
	NULL,
};

static const char *grub_pc_dir(void)
{
	const char *d = getenv("LABCTL_GRUB_PC_DIR");

	return d && *d ? d : DISKIMG_GRUB_PC_DIR;
}

/* ------------------------------------------------------------ paths */

static bool path_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || strchr("._+=,@-", c);
}

/* "/boot/grub/grub.cfg" -> "::/boot/grub/grub.cfg", checked. */
static int mpath(const char *path, char **out)
{
	const char *p = path, *start;

	if (!path || path[0] != '/' || strlen(path) > 1024)
		goto bad;
	while (*p == '/') {
		start = ++p;
		while (*p && *p != '/') {
			if (!path_char(*p))
				goto bad;
			p++;
		}
		if (p == start || p - start > 255 ||
		    (p - start == 1 && start[0] == '.') ||
		    (p - start == 2 && start[0] == '.' && start[1] == '.'))
			goto bad;
	}
	if (*p)
		goto bad;
	*out = xasprintf("::%s", path);
	return 0;
bad:
	return lab_err(LAB_EINVAL,
		       "invalid path in the disk image '%s' (absolute, components of letters, digits and ._+=,@-)",
		       path ? path : "");
}

static char *image_arg(const char *img)
{
	return xasprintf("%s@@%d", img, DISKIMG_PART_OFFSET);
}

static int check_image(const char *img)
{
	struct stat st;

	if (strstr(img, "@@"))
		return lab_err(LAB_EINVAL, "disk image name '%s' contains '@@' (mtools cannot take it)",
			       img);
	if (stat(img, &st) < 0)
		return lab_err_errno(errno, "cannot use disk image %s", img);
	if (!S_ISREG(st.st_mode) || st.st_size < 2 * DISKIMG_PART_OFFSET)
		return lab_err(LAB_EFORMAT, "%s is not a labctl disk image (too small or not a file)",
			       img);
	return 0;
}

/*
 * Run an mtools command; its stderr into err (if not NULL).  Returns 0 on
 * exit status 0, 1 on another exit status, <0 when it could not run.
 */
static int mtool(const char *const *argv, const void *in, size_t in_len,
		 struct strbuf *out, struct strbuf *err)
{
	struct spawn_opts so = { 0 };
	struct spawn_result r;
	struct strbuf sink = STRBUF_INIT;
	int ret;

	so.env_add = mtools_env;
	so.stdin_data = in;
	so.stdin_len = in_len;
	so.out = out ? out : &sink;
	so.err = err ? err : &sink;
	so.timeout_ms = MTOOLS_TIMEOUT_MS;
	ret = lab_spawn(argv, &so, &r);
	strbuf_release(&sink);
	if (ret < 0)
		return ret;
	return r.exit_code == 0 ? 0 : 1;
}

static int mtool_fail(const char *what, const char *img, struct strbuf *err)
{
	strbuf_rtrim(err);
	return lab_err(LAB_EPROGRAM, "%s in %s failed%s%s", what, img,
		       err->len ? ": " : "", strbuf_str(err));
}

/* ------------------------------------------------------------ core.img */

static char *which(const char *prog)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL, *found = NULL;

	copy = xstrdup(path ? path : "/usr/bin:/bin");
	for (dir = strtok_r(copy, ":", &save); dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		char *full = xasprintf("%s/%s", *dir ? dir : ".", prog);

		if (access(full, X_OK) == 0)
			found = full;
		else
			free(full);
	}
	free(copy);
	return found;
}

static void hash_stat(struct lab_sha256 *c, const char *path)
{
	struct stat st;
	char line[256];

	if (stat(path, &st) < 0)
		memset(&st, 0, sizeof(st));
	snprintf(line, sizeof(line), "%s %llu %llu %lld.%09ld\n", path,
		 (unsigned long long)st.st_size, (unsigned long long)st.st_ino,
		 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	lab_sha256_addstr(c, line);
}

/* $XDG_CACHE_HOME/labctl, else ~/.cache/labctl, else NULL. */
static char *cache_base(void)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

	if (xdg && *xdg)
		return xasprintf("%s/labctl", xdg);
	if (home && *home)
		return xasprintf("%s/.cache/labctl", home);
	return NULL;
}

/* What the cached files depend on: the GRUB install and mformat. */
static void cache_key(const char *mkimage, char hex[SHA256_HEX_LEN + 1])
{
	const char *dir = grub_pc_dir();
	struct lab_sha256 c;
	char *p;

	lab_sha256_init(&c);
	lab_sha256_addstr(&c, "labctl core.img 1\ni386-pc\n" DISKIMG_GRUB_PREFIX
			  "\n" DISKIMG_GRUB_MODULES "\n");
	hash_stat(&c, mkimage);
	hash_stat(&c, dir);
	p = xasprintf("%s/moddep.lst", dir);
	hash_stat(&c, p);
	free(p);
	p = xasprintf("%s/kernel.img", dir);
	hash_stat(&c, p);
	free(p);
	p = xasprintf("%s/boot.img", dir);
	hash_stat(&c, p);
	free(p);
	p = which("mformat");
	if (p)
		hash_stat(&c, p);
	free(p);
	lab_sha256_final_hex(&c, hex);
}

static int read_core(const char *path, struct strbuf *core)
{
	int ret;

	strbuf_reset(core);
	ret = strbuf_read_file(core, path, CORE_MAX + 1);
	if (ret < 0)
		return ret;
	if (core->len <= SECTOR || core->len > CORE_MAX)
		return lab_err(LAB_EFORMAT, "%s: %zu bytes is not a GRUB core.img that fits before sector %d",
			       path, core->len, PART_START_LBA);
	return 0;
}

struct mkimage {
	pid_t pid;		/* running in the background, or 0 */
	char *out;		/* where it writes */
	char *final;		/* cache path to rename to, or NULL */
};

static void mkimage_argv(const struct mkimage *mk, const char **argv,
			 char **words_copy)
{
	char *save = NULL, *w;
	int n = 0;

	argv[n++] = "grub-mkimage";
	argv[n++] = "-O";
	argv[n++] = "i386-pc";
	argv[n++] = "-d";
	argv[n++] = grub_pc_dir();
	argv[n++] = "-o";
	argv[n++] = mk->out;
	argv[n++] = "-p";
	argv[n++] = DISKIMG_GRUB_PREFIX;
	*words_copy = xstrdup(DISKIMG_GRUB_MODULES);
	for (w = strtok_r(*words_copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
		argv[n++] = w;
	argv[n] = NULL;
}

#define MKIMAGE_ARGV_MAX 40

/* Use the cached core.img, or start grub-mkimage in the background. */
static int core_start(struct mkimage *mk, const char *img_tmp,
		      const char *core_cache, struct strbuf *core)
{
	const char *argv[MKIMAGE_ARGV_MAX];
	struct spawn_opts so = { 0 };
	char *words, *cache = core_cache ? xstrdup(core_cache) : NULL, *dir;

	if (cache && read_core(cache, core) == 0) {
		free(cache);
		return 0;
	}
	lab_err_clear();
	if (cache) {
		dir = xstrdup(cache);
		if (hv_mkdir_p(dirname(dir), 0755) == 0) {
			mk->final = cache;
			mk->out = xasprintf("%s.tmp-%d", cache, (int)getpid());
		} else {
			free(cache);
		}
		free(dir);
	}
	if (!mk->out)
		mk->out = xasprintf("%s.core", img_tmp);
	mkimage_argv(mk, argv, &words);
	so.quiet = true;
	mk->pid = lab_spawn_bg(argv, &so);
	free(words);
	if (mk->pid < 0) {
		int ret = mk->pid;

		mk->pid = 0;
		return ret;
	}
	return 0;
}

static void core_cleanup(struct mkimage *mk)
{
	if (mk->pid > 0) {
		lab_kill_group(mk->pid, 500);
		waitpid(mk->pid, NULL, 0);
	}
	if (mk->out)
		unlink(mk->out);
	free(mk->out);
	free(mk->final);
	memset(mk, 0, sizeof(*mk));
}

/* Wait for the background grub-mkimage and read its core.img. */
static int core_finish(struct mkimage *mk, struct strbuf *core)
{
	int status = 0, ret;
	pid_t w;

	if (!mk->pid)
		return 0;	/* from the cache */
	do
		w = waitpid(mk->pid, &status, 0);
	while (w < 0 && errno == EINTR);
	mk->pid = 0;
	if (w < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		/* Again in the foreground, for its message. */
		const char *argv[MKIMAGE_ARGV_MAX];
		struct spawn_opts so = { 0 };
		char *words;

		mkimage_argv(mk, argv, &words);
		so.timeout_ms = MKIMAGE_TIMEOUT_MS;
		ret = lab_run(argv, &so);
		free(words);
		if (!ret)
			ret = lab_err(LAB_EPROGRAM, "grub-mkimage failed once, then not: try again");
		return ret;
	}
	ret = read_core(mk->out, core);
	if (ret)
		return ret;
	if (mk->final && rename(mk->out, mk->final) == 0) {
		free(mk->out);
		mk->out = NULL;
	}
	return 0;
}

/* ------------------------------------------------------------ create */

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* CHS of an LBA as in the partition table (255 heads, 63 sectors). */
static void put_chs(uint8_t *p, uint32_t lba)
{
	uint32_t c = lba / (255 * 63), h = (lba / 63) % 255, s = lba % 63 + 1;

	if (c > 1023) {
		c = 1023;
		h = 254;
		s = 63;
	}
	p[0] = (uint8_t)h;
	p[1] = (uint8_t)(s | ((c >> 2) & 0xc0));
	p[2] = (uint8_t)c;
}

static int make_mbr(uint8_t mbr[SECTOR], uint32_t total_sectors)
{
	char *boot = xasprintf("%s/boot.img", grub_pc_dir());
	struct strbuf sb = STRBUF_INIT;
	uint8_t *e = mbr + 446;
	int ret;

	ret = strbuf_read_file(&sb, boot, 4096);
	if (ret < 0) {
		ret = lab_err(-ret, "%s (install grub-pc-bin)", lab_errmsg(ret));
		goto out;
	}
	if (sb.len != SECTOR || (uint8_t)sb.buf[510] != 0x55 ||
	    (uint8_t)sb.buf[511] != 0xaa) {
		ret = lab_err(LAB_EFORMAT, "%s is not GRUB's 512-byte boot.img", boot);
		goto out;
	}
	memset(mbr, 0, SECTOR);
	memcpy(mbr, sb.buf, 440);
	put_le32(mbr + 440, DISK_ID);
	e[0] = 0x80;				/* bootable */
	put_chs(e + 1, PART_START_LBA);
	e[4] = 0x0e;				/* FAT16, LBA */
	put_chs(e + 5, total_sectors - 1);
	put_le32(e + 8, PART_START_LBA);
	put_le32(e + 12, total_sectors - PART_START_LBA);
	mbr[510] = 0x55;
	mbr[511] = 0xaa;
out:
	strbuf_release(&sb);
	free(boot);
	return ret;
}

static int pwrite_all(int fd, const void *data, size_t len, off_t off)
{
	const char *p = data;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* mformat, the directories and grubenv in the FAT partition of tmp. */
static int make_fat(const char *tmp, uint32_t part_sectors)
{
	struct strbuf err = STRBUF_INIT;
	struct envblk *env = NULL;
	char *img = image_arg(tmp), sectors[16], serial[16];
	int ret;

	snprintf(sectors, sizeof(sectors), "%u", part_sectors);
	snprintf(serial, sizeof(serial), "%08x", DISK_ID);
	{
		const char *const argv[] = { "mformat", "-i", img, "-T", sectors,
					     "-h", "255", "-s", "63", "-H", "2048",
					     "-N", serial, "-v",
					     DISKIMG_VOLUME_LABEL, "::", NULL };

		ret = mtool(argv, NULL, 0, NULL, &err);
		if (ret == 1)
			ret = mtool_fail("mformat", tmp, &err);
		if (ret)
			goto out;
	}
	{
		const char *const argv[] = { "mmd", "-D", "s", "-i", img, "::/boot",
					     "::/boot/grub", "::/boot/xmhf", NULL };

		ret = mtool(argv, NULL, 0, NULL, &err);
		if (ret == 1)
			ret = mtool_fail("mmd", tmp, &err);
		if (ret)
			goto out;
	}
	ret = envblk_new(ENVBLK_DEFAULT_SIZE, &env);
	if (ret)
		goto out;
	{
		const char *const argv[] = { "mcopy", "-D", "o", "-i", img, "-",
					     "::/boot/grub/grubenv", NULL };

		ret = mtool(argv, env->buf, env->size, NULL, &err);
		if (ret == 1)
			ret = mtool_fail("mcopy grubenv", tmp, &err);
	}
out:
	envblk_free(env);
	strbuf_release(&err);
	free(img);
	return ret;
}

/* Copy len bytes at off between files; copy_file_range, else read/write. */
static int copy_range(int in, int out, off_t off, off_t len)
{
	char buf[65536];
	off_t oi = off, oo = off, end = off + len;

	while (oi < end) {
		ssize_t n = copy_file_range(in, &oi, out, &oo, (size_t)(end - oi), 0);

		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			return -1;
		break;		/* not supported here: do it by hand */
	}
	while (oi < end) {
		size_t want = (size_t)(end - oi) < sizeof(buf) ?
			      (size_t)(end - oi) : sizeof(buf);
		ssize_t n = pread(in, buf, want, oi);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || pwrite_all(out, buf, (size_t)n, oi) < 0)
			return -1;
		oi += n;
	}
	return 0;
}

/* Copy a sparse file's data segments (a 32 MiB image holds ~1 MiB). */
static int copy_sparse(int in, int out, off_t size)
{
	off_t data = 0, hole;

	if (ftruncate(out, size) < 0)
		return -1;
	for (;;) {
		data = lseek(in, data, SEEK_DATA);
		if (data < 0)
			return errno == ENXIO ? 0 : -1;
		hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0 || copy_range(in, out, data, hole - data) < 0)
			return -1;
		data = hole;
	}
}

/* Fill fd from the template if there is a good one; 0 on success. */
static int from_template(const char *tpl, int fd, off_t size)
{
	struct stat st;
	uint8_t sig[2];
	int in = open(tpl, O_RDONLY | O_CLOEXEC), ret = -1;

	if (in < 0)
		return -1;
	if (fstat(in, &st) == 0 && st.st_size == size &&
	    pread(in, sig, 2, 510) == 2 && sig[0] == 0x55 && sig[1] == 0xaa)
		ret = copy_sparse(in, fd, size);
	close(in);
	return ret;
}

/* Keep a finished image as the template for its size (best effort). */
static void save_template(const char *tpl, int fd, off_t size)
{
	char *tmp = xasprintf("%s.tmp-%d", tpl, (int)getpid()), *dir = xstrdup(tpl);
	int out;

	if (hv_mkdir_p(dirname(dir), 0755) < 0) {
		lab_err_clear();
		goto out;
	}
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0)
		goto out;
	if (copy_sparse(fd, out, size) < 0 || fsync(out) < 0) {
		close(out);
		unlink(tmp);
		goto out;
	}
	close(out);
	if (rename(tmp, tpl) < 0)
		unlink(tmp);
out:
	free(tmp);
	free(dir);
}

/* A new image in fd: GRUB, partition table, FAT, directories, grubenv. */
static int build_image(int fd, const char *tmp, uint32_t total,
		       const char *core_cache)
{
	struct strbuf core = STRBUF_INIT;
	struct mkimage mk;
	uint8_t mbr[SECTOR];
	int ret;

	/* grub-mkimage (if not cached) runs while mtools works. */
	memset(&mk, 0, sizeof(mk));
	ret = core_start(&mk, tmp, core_cache, &core);
	if (!ret)
		ret = make_mbr(mbr, total);
	if (!ret && (ftruncate(fd, (off_t)total * SECTOR) < 0 ||
		     pwrite_all(fd, mbr, SECTOR, 0) < 0))
		ret = lab_err_errno(errno, "cannot write %s", tmp);
	if (!ret)
		ret = make_fat(tmp, total - PART_START_LBA);
	if (!ret)
		ret = core_finish(&mk, &core);
	if (!ret && pwrite_all(fd, core.buf, core.len, SECTOR) < 0)
		ret = lab_err_errno(errno, "cannot write %s", tmp);
	core_cleanup(&mk);
	strbuf_release(&core);
	return ret;
}

int diskimg_create(const char *path, int size_mib)
{
	char key[SHA256_HEX_LEN + 1], *tmp, *dir, *mkimage, *base;
	char *core_cache = NULL, *tpl = NULL;
	uint32_t total;
	off_t size;
	int fd, ret;

	if (!size_mib)
		size_mib = DISKIMG_DEFAULT_MIB;
	if (size_mib < DISKIMG_MIN_MIB || size_mib > DISKIMG_MAX_MIB)
		return lab_err(LAB_EINVAL, "disk image size %d MiB: must be %d to %d MiB",
			       size_mib, DISKIMG_MIN_MIB, DISKIMG_MAX_MIB);
	if (strstr(path, "@@"))
		return lab_err(LAB_EINVAL, "disk image name '%s' contains '@@' (mtools cannot take it)",
			       path);
	mkimage = which("grub-mkimage");
	if (!mkimage)
		return lab_err(LAB_ESPAWN,
			       "cannot run grub-mkimage: program not found (install grub-common and grub-pc-bin)");
	base = cache_base();
	if (base) {
		cache_key(mkimage, key);
		core_cache = xasprintf("%s/grub-core-%.16s.img", base, key);
		tpl = xasprintf("%s/disk-%dM-%.16s.img", base, size_mib, key);
	}
	free(mkimage);
	free(base);
	total = (uint32_t)size_mib * (1024 * 1024 / SECTOR);
	size = (off_t)total * SECTOR;
	tmp = xasprintf("%s.tmp-XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		ret = lab_err_errno(errno, "cannot create a temporary file next to %s",
				    path);
		goto out;
	}
	fchmod(fd, 0644);
	if (tpl && from_template(tpl, fd, size) == 0) {
		ret = 0;
	} else {
		ret = build_image(fd, tmp, total, core_cache);
		if (!ret && tpl)
			save_template(tpl, fd, size);
	}
	if (!ret && fsync(fd) < 0)
		ret = lab_err_errno(errno, "cannot write %s", tmp);
	if (close(fd) < 0 && !ret)
		ret = lab_err_errno(errno, "cannot write %s", tmp);
	if (!ret && rename(tmp, path) < 0)
		ret = lab_err_errno(errno, "cannot replace %s", path);
	if (ret) {
		unlink(tmp);
	} else {
		dir = xstrdup(path);
		hv_fsync_path(dirname(dir));
		free(dir);
	}
out:
	free(tmp);
	free(core_cache);
	free(tpl);
	return ret;
}

/* ------------------------------------------------------------ files */

/*
 * mmd of dest's parents.  "-D s": an existing one is skipped, never asked
 * about (mtools prompts on the terminal otherwise); its exit status 1 then
 * is fine.
 */
static int make_parents(const char *img, const char *mdest)
{
	const char *argv[64];
	char *copies[64];
	const char *p;
	int n = 0, k = 0, ret;
	char *ia = image_arg(img);

	argv[n++] = "mmd";
	argv[n++] = "-D";
	argv[n++] = "s";
	argv[n++] = "-i";
	argv[n++] = ia;
	for (p = strchr(mdest + 3, '/'); p && n < 62; p = strchr(p + 1, '/')) {
		copies[k] = xstrndup(mdest, (size_t)(p - mdest));
		argv[n++] = copies[k++];
	}
	argv[n] = NULL;
	ret = n > 5 ? mtool(argv, NULL, 0, NULL, NULL) : 0;
	while (k--)
		free(copies[k]);
	free(ia);
	return ret < 0 ? ret : 0;
}

static int put(const char *img, const char *local, const void *data,
	       size_t len, const char *dest)
{
	struct strbuf err = STRBUF_INIT;
	char *md = NULL, *ia = NULL;
	int ret, attempt;

	ret = check_image(img);
	if (!ret)
		ret = mpath(dest, &md);
	if (ret)
		return ret;
	ia = image_arg(img);
	for (attempt = 0; attempt < 2; attempt++) {
		const char *const argv[] = { "mcopy", "-D", "o", "-i", ia,
					     local ? local : "-", md, NULL };

		strbuf_reset(&err);
		ret = mtool(argv, local ? NULL : data, local ? 0 : len, NULL,
			    &err);
		if (ret <= 0 || attempt)
			break;
		/* Most likely a missing directory: make them, try again. */
		ret = make_parents(img, md);
		if (ret)
			break;
	}
	if (ret == 1)
		ret = mtool_fail(local ? "copying a file" : "writing a file", img,
				 &err);
	strbuf_release(&err);
	free(md);
	free(ia);
	return ret;
}

int diskimg_put(const char *img, const char *local, const char *dest)
{
	struct stat st;

	if (stat(local, &st) < 0)
		return lab_err_errno(errno, "cannot read %s", local);
	if (!S_ISREG(st.st_mode))
		return lab_err(LAB_EINVAL, "%s is not a regular file", local);
	return put(img, local, NULL, 0, dest);
}

int diskimg_put_data(const char *img, const void *data, size_t len,
		     const char *dest)
{
	return put(img, NULL, data ? data : "", len, dest);
}

int diskimg_get(const char *img, const char *src, struct strbuf *out)
{
	struct strbuf err = STRBUF_INIT, data = STRBUF_INIT;
	char *ms = NULL, *ia;
	int ret;

	ret = check_image(img);
	if (!ret)
		ret = mpath(src, &ms);
	if (ret)
		return ret;
	ia = image_arg(img);
	{
		/* mtype (binary unless -t) types every file of a directory,
		 * so first make sure src is a file: `mdir -b` lists a file
		 * as exactly its own path, a directory as its entries. */
		const char *const a_dir[] = { "mdir", "-b", "-i", ia, ms, NULL };
		const char *const a_type[] = { "mtype", "-i", ia, ms, NULL };
		size_t len = strlen(ms);

		ret = mtool(a_dir, NULL, 0, &data, &err);
		if (ret == 0 && (data.len < len || strncasecmp(data.buf, ms, len) ||
				 (data.len > len && data.buf[len] != '\n'))) {
			ret = 1;
			strbuf_addstr(&err, "not found");
		}
		strbuf_reset(&data);
		if (ret == 0)
			ret = mtool(a_type, NULL, 0, &data, &err);
	}
	if (ret == 1 && strstr(strbuf_str(&err), "not found"))
		ret = lab_err(LAB_ENOENT, "no file %s in the disk image %s", src,
			      img);
	else if (ret == 1)
		ret = mtool_fail("reading a file", img, &err);
	if (!ret)
		strbuf_add(out, data.buf ? data.buf : "", data.len);
	strbuf_release(&err);
	strbuf_release(&data);
	free(ms);
	free(ia);
	return ret;
}

int diskimg_remove(const char *img, const char *path)
{
	struct strbuf err = STRBUF_INIT;
	char *mp = NULL, *ia;
	int ret;

	ret = check_image(img);
	if (!ret)
		ret = mpath(path, &mp);
	if (ret)
		return ret;
	ia = image_arg(img);
	{
		const char *const a_del[] = { "mdel", "-i", ia, mp, NULL };
		const char *const a_tree[] = { "mdeltree", "-i", ia, mp, NULL };

		ret = mtool(a_del, NULL, 0, NULL, NULL);
		if (ret == 1)
			ret = mtool(a_tree, NULL, 0, NULL, &err);
	}
	if (ret == 1 && strstr(strbuf_str(&err), "not found"))
		ret = lab_err(LAB_ENOENT, "no file or directory %s in the disk image %s",
			      path, img);
	else if (ret == 1)
		ret = mtool_fail("removing a file", img, &err);
	strbuf_release(&err);
	free(mp);
	free(ia);
	return ret;
}
