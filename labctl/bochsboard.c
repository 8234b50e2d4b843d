// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "labctl/bochsboard.h"
#include "labctl/labpower.h"
#include "lib/err.h"
#include "lib/fileio.h"
#include "lib/log.h"
#include "lib/param.h"
#include "lib/spawn.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "power/power.h"
#include "serial-capture/console.h"

#define BOCHS_ROM "/usr/share/bochs/BIOS-bochs-latest"
#define BOCHS_VGAROM "/usr/share/vgabios/vgabios.bin"
#define CPU_LIST_TIMEOUT_MS 10000
#define MAX_CONSOLE_PARAMS 32

static const char *bochs_program(void)
{
	const char *p = getenv("LABCTL_BOCHS");

	return p && *p ? p : "bochs-bin";
}

/* The console: com1's FIFO, kept across runs. */
static char *console_fifo(const struct vboard *vb)
{
	return xasprintf("%s/console.fifo", vb->state_dir);
}

/* The CPU models this Bochs knows (`bochs-bin -help cpu`), or an error. */
static int check_cpu_model(const char *cpu)
{
	const char *argv[] = { bochs_program(), "-help", "cpu", NULL };
	struct strbuf out = STRBUF_INIT, list = STRBUF_INIT;
	struct spawn_opts so = { .out = &out, .err_to_out = true,
				 .timeout_ms = CPU_LIST_TIMEOUT_MS };
	struct spawn_result res;
	char *copy, *line, *save = NULL;
	bool in_list = false, found = false;
	int ret;

	ret = lab_spawn(argv, &so, &res);
	if (ret) {
		strbuf_release(&out);
		return ret;
	}
	copy = xstrdup(strbuf_str(&out));
	for (line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strstr(line, "Supported CPU models:")) {
			in_list = true;
			continue;
		}
		if (!in_list)
			continue;
		if (strchr(line, ' ') || strchr(line, '[') || !*line)
			break;	/* the log lines after the list */
		strbuf_addf(&list, "%s%s", list.len ? ", " : "", line);
		if (!strcmp(line, cpu))
			found = true;
	}
	free(copy);
	if (!list.len)
		ret = lab_err(LAB_EINFRA,
			      "%s -help cpu printed no CPU model list (exit %d): is it Bochs 2.7 or newer?",
			      bochs_program(), res.exit_code);
	else if (!found)
		ret = lab_err(LAB_ECONFIG,
			      "[board] cpu = %s is not a Bochs CPU model; this Bochs has: %s",
			      cpu, strbuf_str(&list));
	strbuf_release(&out);
	strbuf_release(&list);
	return ret;
}

int bochs_board_rc(const struct vboard *vb, const struct lab *lab,
		   struct strbuf *out)
{
	const char *drives = lab->board.drives;
	char *fifo, *os_disk;
	bool qcow2;
	int ret;

	if (drives && strchr(drives, ','))
		return lab_err(LAB_ECONFIG,
			       "[board] drives: the Bochs board takes one extra disk (%s), not '%s'",
			       lab->board.os_disk ? "ata1-master" : "ata0-slave", drives);
	/* Raw only (bochs_board_ops.raw_disks): vboard_os_disk refuses qcow2. */
	ret = vboard_os_disk(lab, &os_disk, &qcow2);
	if (ret)
		return ret;
	fifo = console_fifo(vb);
	strbuf_addstr(out, "# Written by labctl for the Bochs board; edit the lab file, not this.\n");
	strbuf_addf(out, "megs: %lld\n", (long long)lab->board.memory_mib);
	strbuf_addf(out, "cpu: model=%s, count=%d, ips=%d\n", lab->board.cpu,
		    lab->board.smp, lab->board.ips);
	strbuf_addstr(out, "romimage: file=" BOCHS_ROM "\n");
	strbuf_addstr(out, "vgaromimage: file=" BOCHS_VGAROM "\n");
	strbuf_addf(out, "ata0-master: type=disk, path=%s, mode=flat\n", vb->disk);
	/* One extra disk, its writes kept in a temporary redo log (as QEMU's
	 * snapshot=on): the image stays as it is. */
	if (os_disk)
		strbuf_addf(out, "ata0-slave: type=disk, path=%s, mode=volatile\n",
			    os_disk);
	if (drives && os_disk)
		strbuf_addstr(out, "ata1: enabled=1, ioaddr1=0x170, ioaddr2=0x370, irq=15\n");
	if (drives)
		strbuf_addf(out, "ata%d-%s: type=disk, path=%s, mode=volatile\n",
			    os_disk ? 1 : 0, os_disk ? "master" : "slave",
			    drives + strspn(drives, " "));
	free(os_disk);
	strbuf_addstr(out, "boot: disk\n");
	strbuf_addf(out, "com1: enabled=1, mode=file, dev=%s\n", fifo);
	/* Debian's build has no nogui: term, on a pty the power driver owns. */
	strbuf_addstr(out, "display_library: term\n");
	/* As fast as it goes: guest time follows instructions, not the host. */
	strbuf_addstr(out, "clock: sync=none\n");
	strbuf_addf(out, "log: %s/bochs.log\n", vb->state_dir);
	strbuf_addstr(out, "debug: action=ignore\n");
	/* A panic ends Bochs (exit 1) with its reason in bochs.log. */
	strbuf_addstr(out, "panic: action=fatal\n");
	free(fifo);
	return 0;
}

int bochs_board_command(struct vboard *vb, const struct lab *lab)
{
	struct strbuf rc = STRBUF_INIT;
	char *rc_path = NULL, *cmds_path = NULL, *fifo;
	struct stat st;
	int ret;

	if (!lab_have_program(bochs_program()) && !strchr(bochs_program(), '/'))
		return lab_err(LAB_EINFRA,
			       "lab %s is a Bochs board but %s is not installed (apt-get install bochs bochs-term bochsbios vgabios; scripts/install-deps)",
			       lab->name, bochs_program());
	if (strchr(bochs_program(), '/') && access(bochs_program(), X_OK) < 0)
		return lab_err(LAB_EINFRA, "lab %s is a Bochs board but %s cannot be run: %s",
			       lab->name, bochs_program(), strerror(errno));
	if (access(BOCHS_ROM, R_OK) < 0 || access(BOCHS_VGAROM, R_OK) < 0)
		return lab_err(LAB_EINFRA,
			       "the Bochs board needs %s and %s (apt-get install bochsbios vgabios)",
			       BOCHS_ROM, BOCHS_VGAROM);
	ret = check_cpu_model(lab->board.cpu);
	if (ret)
		return ret;

	fifo = console_fifo(vb);
	if (lstat(fifo, &st) == 0 && !S_ISFIFO(st.st_mode))
		unlink(fifo);
	if (mkfifo(fifo, 0600) < 0 && errno != EEXIST)
		ret = lab_err_errno(errno, "cannot make the console FIFO %s", fifo);
	free(fifo);
	if (ret)
		return ret;

	ret = bochs_board_rc(vb, lab, &rc);
	if (!ret) {
		rc_path = xasprintf("%s/bochsrc", vb->state_dir);
		ret = lab_write_file_atomic(rc_path, rc.buf, rc.len, 0600);
	}
	if (!ret) {
		/* Bochs is built with its debugger: "c" starts the simulation. */
		cmds_path = xasprintf("%s/bochs.rc", vb->state_dir);
		ret = lab_write_file_atomic(cmds_path, "c\n", 2, 0600);
	}
	if (!ret) {
		/* power/bochs.c knows its own Bochs by argv[3], the bochsrc. */
		vboard_add_arg(vb, "%s", bochs_program());
		vboard_add_arg(vb, "-q");
		vboard_add_arg(vb, "-f");
		vboard_add_arg(vb, "%s", rc_path);
		vboard_add_arg(vb, "-rc");
		vboard_add_arg(vb, "%s", cmds_path);
	}
	free(rc_path);
	free(cmds_path);
	strbuf_release(&rc);
	return ret;
}

/*
 * A run starts its own Bochs and ends it; a verb of its own (labctl
 * power) attaches to the one that runs and leaves it running, or wraps
 * the lab's other driver (fault).
 */
static int bochs_power(struct board *b, const struct board_power_opts *po,
		       struct power_dev **out)
{
	static const struct lab_param on_attach[] = { { "attach", "yes" } };

	return vboard_power(b, po, bochs_board_command, on_attach, 1, out);
}

/* The power device before the console: Bochs starts at power-on, and
 * the com1 FIFO exists once the command is made. */
static int bochs_prepare(struct board *b)
{
	return lab_board_power(b, NULL, NULL);
}

static int bochs_console(struct board *b, const struct board_console_opts *co,
			 struct console **out)
{
	const struct lab *lab = b->lab;
	struct vboard *vb = vboard_of(b);
	struct lab_param params[MAX_CONSOLE_PARAMS];
	char *fifo = console_fifo(vb);
	struct console_config cfg = {
		.driver = b->ops->console_driver,
		.params = params,
		.nparams = lab_section_params(lab, "console", params,
					      MAX_CONSOLE_PARAMS),
		.socket_path = fifo,
		.reconnect = true,
		.on_link = b->hooks.on_link,
		.link_arg = b->hooks.arg,
	};
	int ret;

	/* Another verb's Bochs: its FIFO answers at once, or it does not run. */
	if (co->attach)
		cfg.connect_timeout_ms = 1000;
	ret = console_open(out, &cfg);
	free(fifo);
	return ret;
}

/*
 * Measured: XMHF64 -> LHV reaches 20 LHV iterations per CPU in ~275 s on
 * 2 busy cores; the slowest quiet stretch (XMHF setting up, GRUB loading
 * LHV under emulated VMX) is about a minute.  Memory: real XMHF64 wants
 * more than QEMU's 256M default; the CPU: a model with VMX, EPT and
 * unrestricted guest.
 */
static const struct board_default bochs_defaults[] = {
	{ "board", "memory", "1024M" },
	{ "board", "cpu", "corei7_sandy_bridge_2600k" },
	{ "watch", "stage_timeout", "15m" },
	{ "watch", "timeout", "30m" },
	{ "watch", "silence_timeout", "5m" },
	{ NULL, NULL, NULL }
};

const struct board_ops bochs_board_ops = {
	.type = "bochs",
	.title = "Bochs",
	.is_virtual = true,
	.raw_disks = true,
	.power_driver = "bochs",
	.console_driver = "bochs",
	.defaults = bochs_defaults,
	.open = vboard_open_op,
	.deploy = vboard_deploy_op,
	.set_chain = vboard_set_chain_op,
	.power = bochs_power,
	.open_console = bochs_console,
	.prepare = bochs_prepare,
	.boot = vboard_boot_op,
	.stop = vboard_stop_op,
	.close = vboard_close_op,
};
