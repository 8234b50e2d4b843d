// SPDX-License-Identifier: MIT
/*
 * serial-capture/cmd: the stdout of a local command is the console (e.g.
 * a script, `socat - /dev/ttyUSB0`).  Key: command, split on spaces (no
 * shell, no quoting); argv[0] is looked up in PATH.  stdin is /dev/null,
 * stderr is labctl's.  The command runs in its own process group and
 * dies with labctl (PDEATHSIG); close kills the group.  Its end (EOF on
 * the pipe) is read returning 0; it is not restarted unless the lab says
 * reconnect = yes (running it again may repeat its output).  A command
 * that cannot be started is an error of open, not an empty console.
 * ipmi-sol and amt-sol are this with their program's argv built for you.
 */
#include <stdlib.h>

#include "console.h"
#include "proc.h"
#include "lib/err.h"
#include "lib/xmalloc.h"

static int cmd_open(struct console *con, const struct console_config *cfg)
{
	const char *command = lab_param_get(cfg->params, cfg->nparams, "command");
	struct console_proc_opts o = { 0 };
	struct console_proc *p;
	char **argv;
	int n, ret;

	if (!command || !*command)
		return lab_err(LAB_ECONFIG,
			       "console driver cmd needs command (e.g. command = socat -u /dev/ttyUSB0,raw -)");
	argv = console_split_words(command, &n);
	if (!n) {
		console_free_words(argv, n);
		return lab_err(LAB_ECONFIG, "console driver cmd: command is empty");
	}
	p = xzalloc(sizeof(*p));
	ret = console_proc_start(p, (const char *const *)argv, &o, "console cmd");
	console_free_words(argv, n);
	if (ret) {
		free(p);
		return ret;
	}
	con->priv = p;
	return 0;
}

static void cmd_close(struct console *con)
{
	struct console_proc *p = con->priv;

	if (!p)
		return;
	console_proc_stop(p, 0);
	free(p);
	con->priv = NULL;
}

static ssize_t cmd_read(struct console *con, void *buf, size_t len)
{
	return console_proc_read(con->priv, buf, len);
}

static int cmd_fd(struct console *con)
{
	struct console_proc *p = con->priv;

	return p->out_fd;
}

static const char *const cmd_keys[] = { "command", NULL };

/* The keys this driver takes in a lab file's [console] section, declared once
 * here: labctl/labconf.c checks and shows them from this table. */
static const struct lab_key_def cmd_lab_keys[] = {
	{ "console", "command", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "command whose output is the console" },
	{ NULL, NULL, 0, NULL, NULL, 0, 0, NULL, NULL }
};

const struct console_driver console_driver_cmd = {
	.name = "cmd",
	.description = "stdout of a local command (argv split on spaces, no shell)",
	.keys = cmd_keys,
	.lab_keys = cmd_lab_keys,
	.open = cmd_open,
	.close = cmd_close,
	.read = cmd_read,
	.fd = cmd_fd,
};
