// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "grubenv/chain.h"
#include "grubenv/envblk.h"
#include "grubenv/script.h"
#include "hvimage/build.h"
#include "hvimage/diskimg.h"
#include "hvimage/sha256.h"
#include "labctl/labgrub.h"
#include "labctl/labpower.h"
#include "labctl/boardops.h"
#include "labctl/board_virtual.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/fileio.h"
#include "lib/log.h"
#include "lib/paths.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "power/power.h"

#define DISK_MIB 32
/* The deployed list's record of the GRUB modules in the disk's core.img. */
#define MODULES_KEY "/labctl/grub-modules"

int vboard_os_disk(const struct lab *lab, char **path, bool *qcow2)
{
	const char *key = lab->board.os_disk;
	const struct board_ops *ops = board_ops_of(lab);
	unsigned char sector[512];
	char *p, *abs;
	ssize_t n;
	int fd, err;

	*path = NULL;
	*qcow2 = false;
	if (!key)
		return 0;
	p = hv_expand_home(key);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		free(p);
		return lab_err(LAB_ECONFIG, "lab %s: [board] os_disk = %s: %s",
			       lab->name, key, strerror(err));
	}
	n = pread(fd, sector, sizeof(sector), 0);
	close(fd);
	*qcow2 = n >= 4 && !memcmp(sector, "QFI\xfb", 4);
	if (!*qcow2 && (n < (ssize_t)sizeof(sector) || sector[510] != 0x55 ||
			sector[511] != 0xaa)) {
		free(p);
		return lab_err(LAB_ECONFIG,
			       "lab %s: [board] os_disk = %s has no boot sector (no 55 aa at byte 510): it must be a whole disk with a boot loader, such as the twin's image",
			       lab->name, key);
	}
	abs = realpath(p, NULL);
	if (abs) {
		free(p);
		p = abs;
	}
	if (*qcow2 && ops && ops->raw_disks) {
		err = lab_err(LAB_ECONFIG,
			      "lab %s: [board] os_disk = %s is a qcow2 image; %s reads raw disks: qemu-img convert -O raw %s DISK.raw, and name DISK.raw",
			      lab->name, key, ops->title, p);
		free(p);
		return err;
	}
	*path = p;
	return 0;
}

int vboard_check_os(const struct lab *lab, bool ends_in_os)
{
	const struct board_ops *o = board_ops_of(lab);
	bool qcow2;
	char *path;
	int ret;

	if (!o || !o->is_virtual)
		return 0;
	if (lab->board.os_disk) {
		ret = vboard_os_disk(lab, &path, &qcow2);
		free(path);
		return ret;
	}
	if (!ends_in_os)
		return 0;
	return lab_err(LAB_ECONFIG,
		       "the chain ends in default, the board's OS, but the %s board of lab %s has none: set [board] os_disk to a disk image that boots one (the twin's, as the README shows), or end the chain in a variant",
		       o->type, lab->name);
}

int vboard_open(struct vboard *b, const struct lab *lab)
{
	char abs[PATH_MAX], pidbuf[32], *lock;
	int ret;

	memset(b, 0, sizeof(*b));
	b->lock_fd = -1;
	if (!realpath(lab->path, abs))
		snprintf(abs, sizeof(abs), "%s", lab->path);
	b->state_dir = lab_state_path("%s-%08lx", lab->name, lab_str_hash32(abs));
	ret = lab_mkdir_p(b->state_dir, 0700);
	if (ret)
		return ret;
	b->disk = xasprintf("%s/disk.img", b->state_dir);
	b->console_sock = xasprintf("%s/console.sock", b->state_dir);
	if (strlen(b->console_sock) >= 100)
		return lab_err(LAB_ECONFIG,
			       "state directory %s is too long for a unix socket; set LABCTL_STATE_DIR to a shorter path",
			       b->state_dir);

	lock = xasprintf("%s/lock", b->state_dir);
	b->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (b->lock_fd < 0) {
		ret = lab_err_errno(errno, "cannot open %s", lock);
		free(lock);
		return ret;
	}
	if (flock(b->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		ssize_t n = pread(b->lock_fd, pidbuf, sizeof(pidbuf) - 1, 0);

		pidbuf[n > 0 ? n : 0] = '\0';
		strtok(pidbuf, "\n");
		ret = lab_err(LAB_EBUSY,
			      "board %s is in use by another labctl (pid %s); wait for it or stop it",
			      lab->name, *pidbuf ? pidbuf : "?");
		close(b->lock_fd);
		b->lock_fd = -1;
		free(lock);
		return ret;
	}
	snprintf(pidbuf, sizeof(pidbuf), "%d\n", (int)getpid());
	if (ftruncate(b->lock_fd, 0) == 0 &&
	    pwrite(b->lock_fd, pidbuf, strlen(pidbuf), 0) < 0)
		lab_debug("cannot record pid in %s", lock);
	free(lock);
	return 0;
}

void vboard_close(struct vboard *b)
{
	int i;

	if (b->lock_fd >= 0)
		close(b->lock_fd);	/* releases the flock */
	for (i = 0; i < b->argc; i++)
		free(b->argv[i]);
	free(b->argv);
	free(b->state_dir);
	free(b->disk);
	free(b->console_sock);
	memset(b, 0, sizeof(*b));
	b->lock_fd = -1;
}

/*
 * What the disk holds: "<dest> <sha256>" lines in state_dir/deployed.
 * Kept beside the image so deploy copies only what changed.
 */
static char *deployed_path(const struct vboard *b)
{
	return xasprintf("%s/deployed", b->state_dir);
}

static bool deployed_has(const struct strbuf *list, const char *dest,
			 const char *sha)
{
	struct strbuf line = STRBUF_INIT;
	bool found;

	strbuf_addf(&line, "%s %s\n", dest, sha);
	found = list->len && strstr(strbuf_str(list), strbuf_str(&line)) != NULL;
	strbuf_release(&line);
	return found;
}

static void deployed_set(struct strbuf *list, const char *dest, const char *sha)
{
	struct strbuf out = STRBUF_INIT;
	const char *p = strbuf_str(list);
	size_t dlen = strlen(dest);

	/* Drop the old line for dest, then append the new one. */
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p + 1) : strlen(p);

		if (!(len > dlen && !strncmp(p, dest, dlen) && p[dlen] == ' '))
			strbuf_add(&out, p, len);
		p += len;
	}
	strbuf_addf(&out, "%s %s\n", dest, sha);
	strbuf_release(list);
	*list = out;
}


int vboard_deploy(struct vboard *b, const struct lab *lab,
		      const struct hv_variant *v, const struct hv_build_result *r,
		      int n, const char *images_dir, int *copied)
{
	struct strbuf list = STRBUF_INIT, cfg = STRBUF_INIT;
	char *list_path = deployed_path(b);
	char cfg_sha[65], modules_sha[65];
	struct lab_grub g;
	struct stat st;
	int i, ret = 0;

	*copied = 0;
	lab_sha256_hex(DISKIMG_GRUB_MODULES, strlen(DISKIMG_GRUB_MODULES), modules_sha);
	if (stat(b->disk, &st) == 0 && stat(list_path, &st) == 0) {
		ret = strbuf_read_file(&list, list_path, 1 << 20);
		if (ret)
			goto out;
	}
	/* A disk whose GRUB lacks a module labctl now uses (chain, for the
	 * OS disk) is made again; it only holds what deploy copies. */
	if (!deployed_has(&list, MODULES_KEY, modules_sha)) {
		lab_info("creating the virtual board's disk %s", b->disk);
		unlink(list_path);
		strbuf_reset(&list);
		ret = diskimg_create(b->disk, DISK_MIB);
		if (ret)
			goto out;
		deployed_set(&list, MODULES_KEY, modules_sha);
	}

	lab_grub_init(&g, lab);
	grub_cfg_standalone(&cfg, g.entries, g.n, &g.opts, 115200);
	lab_grub_release(&g);
	lab_sha256_hex(cfg.buf, cfg.len, cfg_sha);
	if (!deployed_has(&list, "/boot/grub/grub.cfg", cfg_sha)) {
		ret = diskimg_put_data(b->disk, cfg.buf, cfg.len, "/boot/grub/grub.cfg");
		if (ret)
			goto out;
		deployed_set(&list, "/boot/grub/grub.cfg", cfg_sha);
		(*copied)++;
	}
	for (i = 0; i < n && !ret; i++) {
		static const char *const files[] = { "init.bin", "hypervisor.bin.gz" };
		const char *shas[] = { r[i].sha256_init, r[i].sha256_module };
		int f;

		for (f = 0; f < 2 && !ret; f++) {
			char *dest = xasprintf("%s/%s/%s", lab->deploy.dir,
					       v[i].name, files[f]);
			char *local = xasprintf("%s/%s/%s", images_dir, v[i].name,
						files[f]);

			if (!deployed_has(&list, dest, shas[f])) {
				lab_debug("deploy %s -> %s", local, dest);
				ret = diskimg_put(b->disk, local, dest);
				if (!ret) {
					deployed_set(&list, dest, shas[f]);
					(*copied)++;
				}
			}
			free(dest);
			free(local);
		}
	}
	/* Record what is on the disk even after a partial failure. */
	if (*copied) {
		int wr = lab_write_file_atomic(list_path, list.buf, list.len, 0600);

		if (!ret)
			ret = wr;
	}
out:
	strbuf_release(&list);
	strbuf_release(&cfg);
	free(list_path);
	return ret;
}

int vboard_set_chain(struct vboard *b, const struct lab *lab,
			 const char *const *entries, int n)
{
	struct strbuf data = STRBUF_INIT;
	struct envblk *blk = NULL;
	int ret;

	ret = diskimg_get(b->disk, "/boot/grub/grubenv", &data);
	if (!ret)
		ret = envblk_parse(data.buf, data.len, "the virtual board's grubenv",
				   &blk);
	if (!ret)
		ret = chain_set(blk, entries, (size_t)n,
				(unsigned)lab->grub.max_stages);
	if (!ret)
		ret = diskimg_put_data(b->disk, blk->buf, blk->size,
				       "/boot/grub/grubenv");
	envblk_free(blk);
	strbuf_release(&data);
	return ret;
}

void vboard_add_arg(struct vboard *b, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	b->argv = xrealloc(b->argv, (size_t)(b->argc + 2) * sizeof(*b->argv));
	b->argv[b->argc++] = s;
	b->argv[b->argc] = NULL;
}

/* ------------------------------------------------------------ ops */

struct vboard *vboard_of(struct board *b)
{
	return b->priv;
}

int vboard_open_op(struct board *b)
{
	struct vboard *vb = xzalloc(sizeof(*vb));

	vb->lock_fd = -1;
	b->priv = vb;
	return vboard_open(vb, b->lab);
}

void vboard_close_op(struct board *b)
{
	struct vboard *vb = b->priv;

	if (!vb)
		return;
	vboard_close(vb);
	free(vb);
	b->priv = NULL;
}

/* The disk is local: no bytes over a wire, no round trips. */
int vboard_deploy_op(struct board *b, const struct hv_variant *hv,
		     const struct hv_build_result *built, int n,
		     const char *images_dir, bool progress,
		     struct board_deploy_stats *st)
{
	struct vboard *vb = vboard_of(b);
	int copied = 0, ret;

	(void)progress;
	ret = vboard_deploy(vb, b->lab, hv, built, n, images_dir, &copied);
	/* vboard_deploy() checks grub.cfg and 2 files per variant. */
	st->variants = n;
	st->files_sent = copied;
	st->files_skipped = ret ? 0 : 1 + 2 * n - copied;
	st->disk = vb->disk;
	if (!ret)
		lab_info("deployed %d changed file%s to the virtual board; %d unchanged",
			 copied, copied == 1 ? "" : "s", 1 + 2 * n - copied);
	return ret;
}

int vboard_set_chain_op(struct board *b, const char *const *entries, int n)
{
	return vboard_set_chain(vboard_of(b), b->lab, entries, n);
}

int vboard_boot_op(struct board *b)
{
	if (!b->power)
		return lab_err(LAB_EINFRA, "%s: the virtual board was not started",
			       b->lab->name);
	return power_on(b->power);
}

void vboard_stop_op(struct board *b)
{
	if (b->power)
		power_off(b->power);
}

int vboard_power(struct board *b, const struct board_power_opts *po,
		 int (*command)(struct vboard *vb, const struct lab *lab),
		 const struct lab_param *on_attach, int n,
		 struct power_dev **out)
{
	const struct lab *lab = b->lab;
	const char *driver = po->attach ? lab_power_driver(lab) :
			     b->ops->power_driver;
	struct vboard *vb = vboard_of(b);
	struct lab_param params[LAB_MAX_POWER_PARAMS];
	struct power_config cfg = {
		.driver = driver, .params = params,
		.off_time_ms = po->off_time_ms,
		.event = b->hooks.event, .event_arg = b->hooks.arg,
	};
	int i, ret;

	if (strcmp(driver, b->ops->power_driver))
		return lab_power_open_lab_device(lab, po, b->hooks.event,
						 b->hooks.arg, out);
	cfg.nparams = lab_power_params(lab, params,
				       LAB_MAX_POWER_PARAMS - (n > 1 ? n : 1));
	if (po->attach) {
		for (i = 0; i < n; i++)
			params[cfg.nparams++] = on_attach[i];
	} else if (b->keep_on) {
		params[cfg.nparams++] = (struct lab_param){ "keep", "yes" };
	}
	if (!vb->argv) {
		ret = command(vb, lab);
		if (ret)
			return ret;
	}
	cfg.emulator_argv = (const char *const *)vb->argv;
	cfg.state_dir = vb->state_dir;
	return power_open(out, &cfg);
}
