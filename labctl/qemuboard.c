// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "grubenv/chain.h"
#include "grubenv/envblk.h"
#include "grubenv/script.h"
#include "hvimage/diskimg.h"
#include "hvimage/sha256.h"
#include "labctl/labgrub.h"
#include "labctl/qemuboard.h"
#include "lib/err.h"
#include "lib/fileio.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/spawn.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"

#define DISK_MIB 32

static unsigned long hash_str(const char *s)
{
	unsigned long h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h & 0xffffffffUL;
}

static int mkdir_p(const char *path, mode_t mode)
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

int qemu_board_open(struct qemu_board *b, const struct lab *lab)
{
	const char *base = getenv("LABCTL_STATE_DIR");
	char abs[PATH_MAX], pidbuf[32], *lock;
	int ret;

	memset(b, 0, sizeof(*b));
	b->lock_fd = -1;
	if (!realpath(lab->path, abs))
		snprintf(abs, sizeof(abs), "%s", lab->path);
	if (base && *base)
		b->state_dir = xasprintf("%s/%s-%08lx", base, lab->name, hash_str(abs));
	else
		b->state_dir = xasprintf("/tmp/labctl-%u/%s-%08lx",
					 (unsigned)getuid(), lab->name, hash_str(abs));
	ret = mkdir_p(b->state_dir, 0700);
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

void qemu_board_close(struct qemu_board *b)
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
static char *deployed_path(const struct qemu_board *b)
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


int qemu_board_deploy(struct qemu_board *b, const struct lab *lab,
		      const struct hv_variant *v, const struct hv_build_result *r,
		      int n, const char *images_dir, int *copied)
{
	struct strbuf list = STRBUF_INIT, cfg = STRBUF_INIT;
	char *list_path = deployed_path(b);
	char cfg_sha[65];
	struct lab_grub g;
	struct stat st;
	int i, ret = 0;

	*copied = 0;
	if (stat(b->disk, &st) < 0) {
		lab_info("creating the virtual board's disk %s", b->disk);
		unlink(list_path);
		ret = diskimg_create(b->disk, DISK_MIB);
		if (ret)
			goto out;
	} else if (stat(list_path, &st) == 0) {
		ret = strbuf_read_file(&list, list_path, 1 << 20);
		if (ret)
			goto out;
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
			char *dest = xasprintf("%s/%s/%s", lab_get(lab, "deploy", "dir"),
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

int qemu_board_set_chain(struct qemu_board *b, const struct lab *lab,
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
				(unsigned)lab_get_int(lab, "grub", "max_stages", 9));
	if (!ret)
		ret = diskimg_put_data(b->disk, blk->buf, blk->size,
				       "/boot/grub/grubenv");
	envblk_free(blk);
	strbuf_release(&data);
	return ret;
}

static void add_arg(struct qemu_board *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add_arg(struct qemu_board *b, const char *fmt, ...)
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

/* TCG gets SeaBIOS to its boot menu in under 1 s, a working KVM in ~0.3 s;
 * a KVM slower than that (nested, emulated hosts) is not worth using. */
#define KVM_PROBE_MS 2000

static void read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;

	buf[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
}

/*
 * A /dev/kvm that opens is not a KVM that runs guests: nested or odd hosts
 * hang SeaBIOS.  Boot SeaBIOS with no disk under KVM; it must reach "No
 * bootable device" on its debug console.  The answer is kept in the state
 * dir for this host boot and QEMU binary.
 */
static bool kvm_runs(const struct qemu_board *b, const char *cpu, char *why,
		     size_t size)
{
	char *cache = xasprintf("%s/kvm-probe", b->state_dir);
	char *log = xasprintf("%s/kvm-probe.log", b->state_dir);
	char *chardev = xasprintf("file,id=dbg,path=%s", log);
	const char *argv[] = {
		"qemu-system-x86_64", "-accel", "kvm", "-machine", "pc", "-cpu", cpu,
		"-m", "32", "-display", "none", "-nodefaults", "-no-reboot",
		"-chardev", chardev, "-device", "isa-debugcon,iobase=0x402,chardev=dbg",
		NULL
	};
	char key[128], cached[256], text[8192];
	struct spawn_opts so = { .quiet = true };
	bool ok = false;
	int64_t deadline;
	pid_t pid;
	int fd;

	read_small("/proc/sys/kernel/random/boot_id", key, sizeof(key));
	strtok(key, "\n");
	read_small(cache, cached, sizeof(cached));
	cached[strcspn(cached, "\n")] = '\0';
	if (key[0] && !strncmp(cached, key, strlen(key)) &&
	    cached[strlen(key)] == ' ') {
		ok = !strncmp(cached + strlen(key) + 1, "yes", 3);
		snprintf(why, size, "%s", ok ? "" : cached + strlen(key) + 1);
		goto out;
	}
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, size, "no /dev/kvm (%s)", strerror(errno));
		goto out;	/* not worth caching: modprobe may fix it */
	}
	close(fd);
	unlink(log);
	pid = lab_spawn_bg(argv, &so);
	if (pid < 0) {
		snprintf(why, size, "%s", lab_errmsg(pid));
		goto out;
	}
	deadline = lab_mono_ms() + KVM_PROBE_MS;
	while (!ok && lab_mono_ms() < deadline) {
		lab_sleep_ms(20);
		read_small(log, text, sizeof(text));
		ok = strstr(text, "No bootable device") != NULL;
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			pid = 0;
			break;
		}
	}
	if (pid > 0) {
		lab_kill_group(pid, 200);
		waitpid(pid, NULL, 0);
	}
	if (!ok)
		snprintf(why, size,
			 "/dev/kvm opens, but SeaBIOS under KVM did not reach its boot menu within %d s (TCG does in under 1 s)",
			 KVM_PROBE_MS / 1000);
	if (key[0]) {
		char *line = xasprintf("%s %s\n", key, ok ? "yes" : why);

		lab_write_file_atomic(cache, line, strlen(line), 0600);
		free(line);
	}
	unlink(log);
out:
	free(cache);
	free(log);
	free(chardev);
	return ok;
}

int qemu_board_command(struct qemu_board *b, const struct lab *lab)
{
	const char *kvm = lab_get(lab, "board", "kvm");
	const char *drives = lab_get(lab, "board", "drives");
	int64_t mib = 256, gdb = lab_get_int(lab, "board", "gdb_port", 0);
	int64_t fwd = lab_get_int(lab, "board", "ssh_forward", 0);
	bool use_kvm = false;

	char why[256] = "";

	lab_parse_size_mib(lab_get(lab, "board", "memory"), &mib);
	if (!strcmp(kvm, "yes")) {
		if (!kvm_runs(b, lab_get(lab, "board", "cpu"), why, sizeof(why)))
			return lab_err(LAB_EINFRA,
				       "lab %s asks for KVM (kvm = yes) but KVM does not run guests here: %s; use kvm = auto or no",
				       lab->name, why);
		use_kvm = true;
	} else if (!strcmp(kvm, "auto")) {
		use_kvm = kvm_runs(b, lab_get(lab, "board", "cpu"), why, sizeof(why));
		if (!use_kvm)
			lab_info("KVM not usable (%s): using TCG", why);
	}
	add_arg(b, "qemu-system-x86_64");
	add_arg(b, "-machine");
	add_arg(b, "%s", lab_get(lab, "board", "machine"));
	add_arg(b, "-accel");
	add_arg(b, "%s", use_kvm ? "kvm" : "tcg");
	add_arg(b, "-cpu");
	add_arg(b, "%s", use_kvm && !lab_get(lab, "board", "cpu") ? "host" :
		lab_get(lab, "board", "cpu"));
	add_arg(b, "-m");
	add_arg(b, "%lldM", (long long)mib);
	add_arg(b, "-smp");
	add_arg(b, "%lld", (long long)lab_get_int(lab, "board", "smp", 2));
	add_arg(b, "-display");
	add_arg(b, "none");
	add_arg(b, "-drive");
	add_arg(b, "file=%s,format=raw,index=0,media=disk", b->disk);
	add_arg(b, "-chardev");
	add_arg(b, "socket,id=s0,path=%s,server=on,wait=off", b->console_sock);
	add_arg(b, "-serial");
	add_arg(b, "chardev:s0");
	/* The stand-in powers off through it: QEMU exits with (v << 1) | 1. */
	add_arg(b, "-device");
	add_arg(b, "isa-debug-exit,iobase=0xf4,iosize=4");
	if (gdb) {
		add_arg(b, "-gdb");
		add_arg(b, "tcp:127.0.0.1:%lld", (long long)gdb);
	}
	if (fwd) {
		add_arg(b, "-netdev");
		add_arg(b, "user,id=n0,hostfwd=tcp:127.0.0.1:%lld-:22", (long long)fwd);
		add_arg(b, "-device");
		add_arg(b, "e1000,netdev=n0");
	}
	if (drives) {
		char *copy = xstrdup(drives), *d, *save = NULL;
		int index = 1;

		/* snapshot=on: writes go to a temporary overlay, the image stays. */
		for (d = strtok_r(copy, ",", &save); d; d = strtok_r(NULL, ",", &save)) {
			while (*d == ' ')
				d++;
			add_arg(b, "-drive");
			add_arg(b, "file=%s,index=%d,media=disk,snapshot=on", d, index++);
		}
		free(copy);
	}
	return 0;
}
