// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "labctl/bochsboard.h"
#include "lib/err.h"
#include "lib/fileio.h"
#include "lib/log.h"
#include "lib/param.h"
#include "lib/spawn.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"

#define BOCHS_ROM "/usr/share/bochs/BIOS-bochs-latest"
#define BOCHS_VGAROM "/usr/share/vgabios/vgabios.bin"
#define CPU_LIST_TIMEOUT_MS 10000

bool bochs_board_is(const struct lab *lab)
{
	const char *type = lab_get(lab, "board", "type");

	return type && !strcmp(type, "bochs");
}

static const char *bochs_program(void)
{
	const char *p = getenv("LABCTL_BOCHS");

	return p && *p ? p : "bochs-bin";
}

/* The value the lab file itself gives, not a default meant for QEMU. */
static const char *explicit_value(const struct lab *lab, const char *key)
{
	struct lab_param p[64];
	int i, n = lab_section_params(lab, "board", p, 64);

	for (i = 0; i < n; i++)
		if (!strcmp(p[i].key, key))
			return p[i].value;
	return NULL;
}

int64_t bochs_board_timeout(const struct lab *lab, const char *key, int64_t def)
{
	struct lab_param p[64];
	int i, n;

	if (!bochs_board_is(lab))
		return def;
	n = lab_section_params(lab, "watch", p, 64);
	for (i = 0; i < n; i++)
		if (!strcmp(p[i].key, key))
			return def;	/* the lab's own value */
	/* Measured: XMHF64 -> LHV reaches 20 LHV iterations per CPU in
	 * ~275 s on 2 busy cores; the slowest quiet stretch (XMHF setting
	 * up, GRUB loading LHV under emulated VMX) is about a minute. */
	if (!strcmp(key, "stage_timeout"))
		return 900 * 1000;
	if (!strcmp(key, "timeout"))
		return 1800 * 1000;
	if (!strcmp(key, "silence_timeout"))
		return 300 * 1000;
	return def;
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

int bochs_board_rc(const struct qemu_board *b, const struct lab *lab,
		   struct strbuf *out)
{
	const char *cpu = explicit_value(lab, "cpu");
	const char *mem = explicit_value(lab, "memory");
	const char *drives = lab_get(lab, "board", "drives");
	int64_t mib = BOCHS_DEFAULT_MIB;
	int64_t ips = lab_get_int(lab, "board", "ips", BOCHS_DEFAULT_IPS);
	int64_t smp = lab_get_int(lab, "board", "smp", 2);

	if (mem && lab_parse_size_mib(mem, &mib) < 0)
		return lab_err(LAB_ECONFIG, "[board] memory = %s is not a size", mem);
	strbuf_addstr(out, "# Written by labctl for the Bochs board; edit the lab file, not this.\n");
	strbuf_addf(out, "megs: %lld\n", (long long)mib);
	strbuf_addf(out, "cpu: model=%s, count=%lld, ips=%lld\n",
		    cpu ? cpu : BOCHS_DEFAULT_CPU, (long long)smp, (long long)ips);
	strbuf_addstr(out, "romimage: file=" BOCHS_ROM "\n");
	strbuf_addstr(out, "vgaromimage: file=" BOCHS_VGAROM "\n");
	strbuf_addf(out, "ata0-master: type=disk, path=%s, mode=flat\n", b->disk);
	if (drives) {
		/* One extra disk, its writes kept in a temporary redo log (as
		 * QEMU's snapshot=on): the image stays as it is. */
		if (strchr(drives, ','))
			return lab_err(LAB_ECONFIG,
				       "[board] drives: the Bochs board takes one extra disk (ata0-slave), not '%s'",
				       drives);
		strbuf_addf(out, "ata0-slave: type=disk, path=%s, mode=volatile\n",
			    drives + strspn(drives, " "));
	}
	strbuf_addstr(out, "boot: disk\n");
	strbuf_addf(out, "com1: enabled=1, mode=file, dev=%s\n", b->console_sock);
	/* Debian's build has no nogui: term, on a pty the power driver owns. */
	strbuf_addstr(out, "display_library: term\n");
	/* As fast as it goes: guest time follows instructions, not the host. */
	strbuf_addstr(out, "clock: sync=none\n");
	strbuf_addf(out, "log: %s/bochs.log\n", b->state_dir);
	strbuf_addstr(out, "debug: action=ignore\n");
	/* A panic ends Bochs (exit 1) with its reason in bochs.log. */
	strbuf_addstr(out, "panic: action=fatal\n");
	return 0;
}

int bochs_board_command(struct qemu_board *b, const struct lab *lab)
{
	const char *cpu = explicit_value(lab, "cpu");
	struct strbuf rc = STRBUF_INIT;
	char *rc_path = NULL, *cmds_path = NULL, *fifo;
	struct stat st;
	int ret, i;

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
	ret = check_cpu_model(cpu ? cpu : BOCHS_DEFAULT_CPU);
	if (ret)
		return ret;

	/* The console FIFO replaces QEMU's socket; kept across runs. */
	fifo = xasprintf("%s/console.fifo", b->state_dir);
	if (lstat(fifo, &st) == 0 && !S_ISFIFO(st.st_mode))
		unlink(fifo);
	if (mkfifo(fifo, 0600) < 0 && errno != EEXIST) {
		ret = lab_err_errno(errno, "cannot make the console FIFO %s", fifo);
		free(fifo);
		return ret;
	}
	free(b->console_sock);
	b->console_sock = fifo;

	ret = bochs_board_rc(b, lab, &rc);
	if (!ret) {
		rc_path = xasprintf("%s/bochsrc", b->state_dir);
		ret = lab_write_file_atomic(rc_path, rc.buf, rc.len, 0600);
	}
	if (!ret) {
		/* Bochs is built with its debugger: "c" starts the simulation. */
		cmds_path = xasprintf("%s/bochs.rc", b->state_dir);
		ret = lab_write_file_atomic(cmds_path, "c\n", 2, 0600);
	}
	if (!ret) {
		const char *argv[] = { bochs_program(), "-q", "-f", rc_path,
				       "-rc", cmds_path };

		for (i = 0; i < b->argc; i++)
			free(b->argv[i]);
		free(b->argv);
		b->argc = 6;
		b->argv = xcalloc(7, sizeof(*b->argv));
		for (i = 0; i < 6; i++)
			b->argv[i] = xstrdup(argv[i]);
	}
	free(rc_path);
	free(cmds_path);
	strbuf_release(&rc);
	return ret;
}
