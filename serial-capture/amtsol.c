// SPDX-License-Identifier: MIT
/*
 * serial-capture/amt-sol: Intel AMT serial-over-LAN through amtterm
 *
 *   AMT_PASSWORD=... amtterm [-u USER] HOST [PORT]
 *
 * Keys: host (required), port (16994), user (amtterm's default, admin),
 * password_file (mode 0600; else $AMT_PASSWORD).  The password only ever
 * goes to amtterm in its environment, never on its command line.  Without
 * one amtterm would prompt on its terminal, so open refuses to start it.
 *
 * amtterm writes what the board sends to its fd 0 (it expects a
 * terminal), so it runs on a raw pty: stdin and stdout are the pty, its
 * stderr is kept.  open waits for its "serial-over-lan redirection ok"
 * (stderr) as the confirmation that the session is up; amtterm's own
 * messages never reach the console.  Its escape is ^] (0x1d) at the
 * start of what it reads, which ends the session: console_write drops
 * every 0x1d byte so nothing sent can end it.  amtterm keeps only the
 * first 15 bytes of the password.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console.h"
#include "proc.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"

#define AMT_CONNECTED "redirection ok"
#define AMT_ESCAPE 0x1d
#define AMT_PASSWORD_MAX 15

struct amtsol {
	struct console_proc proc;
	struct strbuf out;	/* read while connecting, not returned yet */
	char *env_password;
	bool warned;
	char what[128];
};

static void amtsol_free(struct amtsol *s)
{
	strbuf_release(&s->out);
	if (s->env_password) {
		explicit_bzero(s->env_password, strlen(s->env_password));
		free(s->env_password);
	}
	free(s);
}

static int amtsol_open(struct console *con, const struct console_config *cfg)
{
	const char *host = lab_param_get(cfg->params, cfg->nparams, "host");
	const char *port = lab_param_get(cfg->params, cfg->nparams, "port");
	const char *user = lab_param_get(cfg->params, cfg->nparams, "user");
	struct console_proc_opts o = { .pty = true, .capture_err = true };
	const char *argv[8], *env[2] = { NULL, NULL };
	struct amtsol *s;
	const char *pw;
	int n = 0, ret;

	if (!host || !*host)
		return lab_err(LAB_ECONFIG,
			       "console driver amt-sol needs host = the AMT machine's address in [console]");
	s = xzalloc(sizeof(*s));
	snprintf(s->what, sizeof(s->what), "console amt-sol %s:%s", host,
		 port ? port : "16994");
	ret = console_password_env(cfg, "amt-sol", "AMT_PASSWORD",
				   &s->env_password);
	pw = s->env_password ? s->env_password + strlen("AMT_PASSWORD=") : "";
	if (!ret && !*pw)
		ret = lab_err(LAB_ECONFIG,
			      "console driver amt-sol: the password is empty (amtterm would ask for one on the console)");
	if (ret) {
		amtsol_free(s);
		return ret;
	}
	if (strlen(pw) > AMT_PASSWORD_MAX)
		lab_warn("%s: amtterm uses only the first %d characters of the password",
			 s->what, AMT_PASSWORD_MAX);
	env[0] = s->env_password;
	o.env_add = env;
	argv[n++] = "amtterm";
	if (user) {
		argv[n++] = "-u";
		argv[n++] = user;
	}
	argv[n++] = host;
	if (port)
		argv[n++] = port;
	argv[n] = NULL;
	ret = console_proc_start(&s->proc, argv, &o, s->what);
	if (!ret) {
		ret = console_proc_wait(&s->proc, lab_mono_ms() + cfg->connect_timeout_ms,
					NULL, AMT_CONNECTED, &s->out, s->what);
		if (ret)
			console_proc_stop(&s->proc, 0);
	}
	if (ret) {
		amtsol_free(s);
		return ret;
	}
	con->priv = s;
	return 0;
}

static void amtsol_close(struct console *con)
{
	struct amtsol *s = con->priv;

	if (!s)
		return;
	console_proc_stop(&s->proc, 0);
	amtsol_free(s);
	con->priv = NULL;
}

static ssize_t amtsol_read(struct console *con, void *buf, size_t len)
{
	struct amtsol *s = con->priv;

	return console_proc_read_sol(&s->proc, &s->out, s->what, buf, len);
}

static ssize_t amtsol_write(struct console *con, const void *buf, size_t len)
{
	struct amtsol *s = con->priv;
	const char *p = buf, *esc = memchr(buf, AMT_ESCAPE, len);
	ssize_t n;

	if (!esc)
		return console_proc_write(&s->proc, buf, len);
	if (!s->warned) {
		lab_warn("%s: ^] (0x1d) is not sent: it would end amtterm's session",
			 s->what);
		s->warned = true;
	}
	if (esc == p)
		return 1;	/* dropped */
	n = console_proc_write(&s->proc, p, (size_t)(esc - p));
	return n;
}

static int amtsol_fd(struct console *con)
{
	struct amtsol *s = con->priv;

	return s->proc.out_fd;
}

static const char *const amtsol_keys[] = {
	"host", "port", "user", "password_file", NULL
};

/* The keys this driver takes in a lab file's [console] section, declared once
 * here: labctl/labconf.c checks and shows them from this table. */
static const struct lab_key_def amt_sol_lab_keys[] = {
	{ "console", "host", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "host to connect to" },
	{ "console", "port", KEY_INT, NULL, NULL, 1, 65535, NULL,
	  "TCP port" },
	{ "console", "user", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "user name" },
	{ "console", "password_file", KEY_SECRET_FILE, NULL, NULL, 0, 0, NULL,
	  "file (mode 0600) holding the password; or the environment" },
	{ NULL, NULL, 0, NULL, NULL, 0, 0, NULL, NULL }
};

const struct console_driver console_driver_amt_sol = {
	.name = "amt-sol",
	.description = "Intel AMT serial-over-LAN (amtterm)",
	.keys = amtsol_keys,
	.lab_keys = amt_sol_lab_keys,
	.open = amtsol_open,
	.close = amtsol_close,
	.read = amtsol_read,
	.write = amtsol_write,
	.fd = amtsol_fd,
	.reconnects = true,
};
