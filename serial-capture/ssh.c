// SPDX-License-Identifier: MIT
/*
 * serial-capture/ssh: a console that is a command on another machine over
 * ssh, e.g. the lab host the board's serial cable plugs into:
 *
 *   [console]
 *   driver = ssh
 *   host = labhost
 *   command = socat -u /dev/ttyUSB0,raw,b115200 -
 *
 * Keys: host (required), port (22), user, command (argv split on spaces,
 * quoted with sh_quote_argv for the remote shell; no shell syntax of its
 * own).  Host keys and auth as for boards (ssh/ssh.h): known_hosts, the
 * agent or ~/.ssh keys, never a password.  The command's stdout and
 * stderr are the console; what is typed goes to its stdin.  When the
 * command ends or the connection drops, the console core reconnects.
 */
#include <stdlib.h>
#include <string.h>

#include "console.h"
#include "lib/err.h"
#include "lib/param.h"
#include "lib/xmalloc.h"
#include "ssh/ssh.h"

#define SSH_CON_MAX_WORDS 32

struct ssh_con {
	struct lab_ssh *s;
	struct lab_ssh_stream *st;
	char *words;
};

static int ssh_con_open(struct console *con, const struct console_config *cfg)
{
	const char *host = lab_param_get(cfg->params, cfg->nparams, "host");
	const char *port = lab_param_get(cfg->params, cfg->nparams, "port");
	const char *command = lab_param_get(cfg->params, cfg->nparams, "command");
	const char *argv[SSH_CON_MAX_WORDS];
	struct lab_ssh_config sc = { 0 };
	struct ssh_con *c;
	char *w, *save = NULL;
	int n = 0, ret;

	if (!host || !command)
		return lab_err(LAB_ECONFIG,
			       "console driver ssh needs host and command (e.g. command = socat -u /dev/ttyUSB0,raw,b115200 -)");
	c = xcalloc(1, sizeof(*c));
	c->words = xstrdup(command);
	for (w = strtok_r(c->words, " \t", &save); w && n < SSH_CON_MAX_WORDS - 1;
	     w = strtok_r(NULL, " \t", &save))
		argv[n++] = w;
	argv[n] = NULL;
	sc.host = host;
	sc.port = port ? atoi(port) : 0;
	sc.user = lab_param_get(cfg->params, cfg->nparams, "user");
	sc.connect_timeout_ms = cfg->connect_timeout_ms;
	ret = lab_ssh_connect(&c->s, &sc);
	if (!ret)
		ret = lab_ssh_stream_open(c->s, argv, false, &c->st);
	if (ret) {
		if (c->s)
			lab_ssh_close(c->s);
		free(c->words);
		free(c);
		return ret;
	}
	con->priv = c;
	return 0;
}

static void ssh_con_close(struct console *con)
{
	struct ssh_con *c = con->priv;

	if (!c)
		return;
	lab_ssh_stream_close(c->st);
	lab_ssh_close(c->s);
	free(c->words);
	free(c);
	con->priv = NULL;
}

static ssize_t ssh_con_read(struct console *con, void *buf, size_t len)
{
	struct ssh_con *c = con->priv;

	return lab_ssh_stream_read(c->st, buf, len);
}

static ssize_t ssh_con_write(struct console *con, const void *buf, size_t len)
{
	struct ssh_con *c = con->priv;

	return lab_ssh_stream_write(c->st, buf, len);
}

static int ssh_con_fd(struct console *con)
{
	struct ssh_con *c = con->priv;

	return lab_ssh_stream_fd(c->st);
}

static const char *const ssh_con_keys[] = { "host", "port", "user", "command",
					     NULL };

/* The keys this driver takes in a lab file's [console] section, declared once
 * here: labctl/labconf.c checks and shows them from this table. */
static const struct lab_key_def ssh_lab_keys[] = {
	{ "console", "host", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "host to connect to" },
	{ "console", "port", KEY_INT, NULL, NULL, 1, 65535, NULL,
	  "TCP port" },
	{ "console", "user", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "user name" },
	{ "console", "command", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "command whose output is the console" },
	{ NULL, NULL, 0, NULL, NULL, 0, 0, NULL, NULL }
};

const struct console_driver console_driver_ssh = {
	.name = "ssh",
	.description = "a command on another machine over ssh (a serial port on a lab host)",
	.keys = ssh_con_keys,
	.lab_keys = ssh_lab_keys,
	.open = ssh_con_open,
	.close = ssh_con_close,
	.read = ssh_con_read,
	.write = ssh_con_write,
	.fd = ssh_con_fd,
	.reconnects = true,
};
