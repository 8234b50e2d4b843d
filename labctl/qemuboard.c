// SPDX-License-Identifier: MIT
/*
 * The QEMU board: a virtual board (labctl/board_virtual.c: state
 * directory, GRUB disk image, deploy, chain) run by QEMU, powered through
 * QMP (power/qemu.c) and watched on its serial chardev socket
 * (serial-capture/qemu.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "labctl/board_virtual.h"
#include "labctl/labpower.h"
#include "labctl/qemuboard.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/fileio.h"
#include "lib/log.h"
#include "lib/spawn.h"
#include "lib/xmalloc.h"
#include "power/power.h"
#include "serial-capture/console.h"

#define MAX_CONSOLE_PARAMS 32

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
static bool kvm_runs(const struct vboard *b, const char *cpu, char *why,
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

int qemu_board_command(struct vboard *b, const struct lab *lab)
{
	const char *kvm = lab->board.kvm;
	const char *drives = lab->board.drives;
	int64_t mib = lab->board.memory_mib;
	int64_t gdb = lab->board.gdb_port;
	int64_t fwd = lab->board.ssh_forward;
	bool use_kvm = false, os_qcow2;
	char why[256] = "", *os_disk;
	int ret;

	ret = vboard_os_disk(lab, &os_disk, &os_qcow2);
	if (ret)
		return ret;

	if (!strcmp(kvm, "yes")) {
		if (!kvm_runs(b, lab->board.cpu, why, sizeof(why))) {
			free(os_disk);
			return lab_err(LAB_EINFRA,
				       "lab %s asks for KVM (kvm = yes) but KVM does not run guests here: %s; use kvm = auto or no",
				       lab->name, why);
		}
		use_kvm = true;
	} else if (!strcmp(kvm, "auto")) {
		use_kvm = kvm_runs(b, lab->board.cpu, why, sizeof(why));
		if (!use_kvm)
			lab_info("KVM not usable (%s): using TCG", why);
	}
	vboard_add_arg(b, "qemu-system-x86_64");
	vboard_add_arg(b, "-machine");
	vboard_add_arg(b, "%s", lab->board.machine);
	vboard_add_arg(b, "-accel");
	vboard_add_arg(b, "%s", use_kvm ? "kvm" : "tcg");
	vboard_add_arg(b, "-cpu");
	vboard_add_arg(b, "%s", use_kvm && !lab->board.cpu ? "host" :
		lab->board.cpu);
	vboard_add_arg(b, "-m");
	vboard_add_arg(b, "%lldM", (long long)mib);
	vboard_add_arg(b, "-smp");
	vboard_add_arg(b, "%lld", (long long)lab->board.smp);
	vboard_add_arg(b, "-display");
	vboard_add_arg(b, "none");
	vboard_add_arg(b, "-drive");
	vboard_add_arg(b, "file=%s,format=raw,index=0,media=disk", b->disk);
	vboard_add_arg(b, "-chardev");
	vboard_add_arg(b, "socket,id=s0,path=%s,server=on,wait=off", b->console_sock);
	vboard_add_arg(b, "-serial");
	vboard_add_arg(b, "chardev:s0");
	/* The stand-in powers off through it: QEMU exits with (v << 1) | 1. */
	vboard_add_arg(b, "-device");
	vboard_add_arg(b, "isa-debug-exit,iobase=0xf4,iosize=4");
	if (gdb) {
		vboard_add_arg(b, "-gdb");
		vboard_add_arg(b, "tcp:127.0.0.1:%lld", (long long)gdb);
	}
	if (fwd) {
		vboard_add_arg(b, "-netdev");
		vboard_add_arg(b, "user,id=n0,hostfwd=tcp:127.0.0.1:%lld-:22", (long long)fwd);
		vboard_add_arg(b, "-device");
		vboard_add_arg(b, "e1000,netdev=n0");
	}
	if (os_disk) {
		/* virtio, as a VM image expects (the twin's initramfs has only
		 * virtio_blk); SeaBIOS numbers it after the IDE disk, so it is
		 * (hd1) in the board's grub.cfg. */
		vboard_add_arg(b, "-drive");
		vboard_add_arg(b, "file=%s,format=%s,if=virtio,snapshot=on",
			       os_disk, os_qcow2 ? "qcow2" : "raw");
		free(os_disk);
	}
	if (drives) {
		char *copy = xstrdup(drives), *d, *save = NULL;
		int index = 1;

		/* snapshot=on: writes go to a temporary overlay, the image stays.
		 * Beside an OS disk they are virtio after it: as IDE disks
		 * SeaBIOS would number them before it. */
		for (d = strtok_r(copy, ",", &save); d; d = strtok_r(NULL, ",", &save)) {
			while (*d == ' ')
				d++;
			vboard_add_arg(b, "-drive");
			if (lab->board.os_disk)
				vboard_add_arg(b, "file=%s,if=virtio,snapshot=on", d);
			else
				vboard_add_arg(b, "file=%s,index=%d,media=disk,snapshot=on",
					       d, index++);
		}
		free(copy);
	}
	return 0;
}

/*
 * A run starts its own QEMU (paused until boot) and ends it; a verb of
 * its own (labctl power) attaches to the one that runs and leaves it
 * running, or wraps the lab's other driver (fault).
 */
static int qemu_power(struct board *b, const struct board_power_opts *po,
		      struct power_dev **out)
{
	/* Attached: nobody is connected to the running QEMU's console. */
	static const struct lab_param on_attach[] = {
		{ "attach", "yes" }, { "console_wait", "0" },
	};

	return vboard_power(b, po, qemu_board_command, on_attach, 2, out);
}

/* QEMU starts paused: the console connects before its first byte. */
static int qemu_prepare(struct board *b)
{
	return lab_board_power(b, NULL, NULL);
}

static int qemu_console(struct board *b, const struct board_console_opts *co,
			struct console **out)
{
	const struct lab *lab = b->lab;
	struct vboard *vb = vboard_of(b);
	struct lab_param params[MAX_CONSOLE_PARAMS];
	struct console_config cfg = {
		.driver = b->ops->console_driver,
		.params = params,
		.nparams = lab_section_params(lab, "console", params,
					      MAX_CONSOLE_PARAMS),
		.socket_path = vb->console_sock,
		.reconnect = true,
		.on_link = b->hooks.on_link,
		.link_arg = b->hooks.arg,
	};
	int ret;

	/* Another verb's QEMU answers at once, or it does not run. */
	if (co->attach)
		cfg.connect_timeout_ms = 1000;
	ret = console_open(out, &cfg);
	if (ret && co->attach) {
		lab_debug("%s", lab_errmsg(ret));	/* the socket's own words */
		ret = lab_err(LAB_EINFRA,
			      "the QEMU board of %s is not running (nothing answers on its console %s): start it with `labctl power %s on`",
			      lab->name, vb->console_sock, lab->name);
	}
	return ret;
}

const struct board_ops qemu_board_ops = {
	.type = "qemu",
	.title = "QEMU",
	.is_virtual = true,
	.power_driver = "qemu",
	.console_driver = "qemu",
	.open = vboard_open_op,
	.deploy = vboard_deploy_op,
	.set_chain = vboard_set_chain_op,
	.power = qemu_power,
	.open_console = qemu_console,
	.prepare = qemu_prepare,
	.boot = vboard_boot_op,
	.stop = vboard_stop_op,
	.close = vboard_close_op,
};
