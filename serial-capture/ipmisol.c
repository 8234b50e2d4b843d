// SPDX-License-Identifier: MIT
/*
 * serial-capture/ipmi-sol: a BMC's serial-over-LAN through ipmitool
 *
 *   ipmitool -I lanplus -C 3 -H HOST -p PORT [-U USER] -E sol deactivate
 *   ipmitool -I lanplus -C 3 -H HOST -p PORT [-U USER] -E sol activate
 *
 * Keys: host (required), port (623), user, password_file (mode 0600; else
 * $IPMI_PASSWORD), exactly as the ipmi power driver.  The password goes
 * to ipmitool in its environment (IPMI_PASSWORD with -E), never on its
 * command line.
 *
 * open first kicks a stale session (sol deactivate; its failure, e.g.
 * "already de-activated", is ignored), then starts sol activate on a raw
 * pty (stdout on a pipe would be block-buffered: its banner would wait
 * for the board's first byte; it ends the session when its stdin fails,
 * so close closes the pty and ipmitool deactivates) and waits for its banner
 * "[SOL Session operational.  Use ~? for help]", which it prints on
 * stdout: that is the confirmation, and the banner never reaches the
 * caller.  A session that ends (the BMC closed it, ipmitool exited) is a
 * read error quoting ipmitool's last stderr line, so a reconnect names it.
 *
 * ipmitool's escape character (~, only right after CR or LF) is handled
 * on the way in: a ~ sent at the start of a line is doubled, which
 * ipmitool passes on as one ~; a break is "~B" there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console.h"
#include "proc.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/ipmitool.h"
#include "lib/spawn.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"

#define SOL_BANNER "[SOL Session operational."
#define SOL_ESCAPE '~'
#define DEACTIVATE_TIMEOUT_MS 5000
#define STOP_GRACE_MS 2000

struct ipmisol {
	struct console_proc proc;
	struct strbuf out;	/* read but not returned yet */
	struct strbuf pending;	/* escaped input not written yet */
	bool last_was_cr;	/* as ipmitool tracks it */
	char *env_password;	/* "IPMI_PASSWORD=..." */
	char what[128];		/* "console ipmi-sol HOST:PORT" */
};

/* argv for `sol VERB` into argv (IPMITOOL_MAX_ARGS). */
static void build_argv(const struct console_config *cfg, const char *verb,
		       const char **argv)
{
	const char *const words[] = { "sol", verb, NULL };

	ipmitool_argv(argv, lab_param_get(cfg->params, cfg->nparams, "host"),
		      lab_param_get(cfg->params, cfg->nparams, "port"),
		      lab_param_get(cfg->params, cfg->nparams, "user"), words);
}

/* The password as "NAME=value" from password_file or the environment. */
int console_password_env(const struct console_config *cfg, const char *drv,
			 const char *var, char **out)
{
	const char *file = lab_param_get(cfg->params, cfg->nparams, "password_file");
	struct strbuf pw = STRBUF_INIT;
	int ret = 0;

	*out = NULL;
	if (file)
		ret = console_read_secret_file(drv, file, &pw);
	else if (getenv(var))
		strbuf_addstr(&pw, getenv(var));
	else
		ret = lab_err(LAB_ECONFIG,
			      "console driver %s needs the password: set %s or password_file = PATH (mode 0600) in [console]",
			      drv, var);
	if (!ret)
		*out = xasprintf("%s=%s", var, strbuf_str(&pw));
	if (pw.buf)
		explicit_bzero(pw.buf, pw.len);
	strbuf_release(&pw);
	return ret;
}

static void free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static void ipmisol_free(struct ipmisol *s)
{
	strbuf_release(&s->out);
	strbuf_release(&s->pending);
	free_secret(s->env_password);
	free(s);
}

static int ipmisol_open(struct console *con, const struct console_config *cfg)
{
	const char *host = lab_param_get(cfg->params, cfg->nparams, "host");
	const char *port = lab_param_get(cfg->params, cfg->nparams, "port");
	struct console_proc_opts o = { .pty = true, .capture_err = true };
	const char *argv[IPMITOOL_MAX_ARGS], *env[2] = { NULL, NULL };
	struct spawn_opts so = { .quiet = true };
	struct ipmisol *s;
	char *nl;
	int ret;

	if (!host || !*host)
		return lab_err(LAB_ECONFIG,
			       "console driver ipmi-sol needs host = the BMC's address in [console]");
	s = xzalloc(sizeof(*s));
	snprintf(s->what, sizeof(s->what), "console ipmi-sol %s:%s", host,
		 port ? port : IPMITOOL_DEFAULT_PORT);
	ret = console_password_env(cfg, "ipmi-sol", "IPMI_PASSWORD",
				   &s->env_password);
	if (ret) {
		ipmisol_free(s);
		return ret;
	}
	env[0] = s->env_password;
	o.env_add = env;
	so.env_add = env;

	/* A session left active (by a killed labctl) would refuse ours. */
	build_argv(cfg, "deactivate", argv);
	so.timeout_ms = cfg->connect_timeout_ms < DEACTIVATE_TIMEOUT_MS ?
			cfg->connect_timeout_ms : DEACTIVATE_TIMEOUT_MS;
	ret = lab_spawn(argv, &so, NULL);
	if (ret == -LAB_ESPAWN) {
		ret = lab_err(LAB_EINFRA, "%s: cannot run ipmitool (is it installed?)",
			      s->what);
		ipmisol_free(s);
		return ret;
	}
	lab_err_clear();

	build_argv(cfg, "activate", argv);
	ret = console_proc_start(&s->proc, argv, &o, s->what);
	if (!ret) {
		ret = console_proc_wait(&s->proc, lab_mono_ms() + cfg->connect_timeout_ms,
					SOL_BANNER, NULL, &s->out, s->what);
		if (ret)
			console_proc_stop(&s->proc, STOP_GRACE_MS);
	}
	if (ret) {
		ipmisol_free(s);
		return ret;
	}
	/* Drop the banner line (ipmitool's, not the board's). */
	nl = strstr(s->out.buf, SOL_BANNER);
	nl = strchr(nl, '\n');
	if (nl) {
		size_t cut = (size_t)(nl + 1 - s->out.buf);

		memmove(s->out.buf, nl + 1, s->out.len - cut);
		strbuf_setlen(&s->out, s->out.len - cut);
	} else {
		strbuf_reset(&s->out);	/* cut short: the rest is dropped too */
	}
	s->last_was_cr = true;
	con->priv = s;
	return 0;
}

static void ipmisol_close(struct console *con)
{
	struct ipmisol *s = con->priv;

	if (!s)
		return;
	console_proc_stop(&s->proc, STOP_GRACE_MS);
	ipmisol_free(s);
	con->priv = NULL;
}

static ssize_t ipmisol_read(struct console *con, void *buf, size_t len)
{
	struct ipmisol *s = con->priv;

	return console_proc_read_sol(&s->proc, &s->out, s->what, buf, len);
}

static int flush_pending(struct ipmisol *s)
{
	while (s->pending.len) {
		ssize_t n = console_proc_write(&s->proc, s->pending.buf,
					       s->pending.len);

		if (n == -LAB_EBUSY)
			return 0;
		if (n < 0)
			return (int)n;
		memmove(s->pending.buf, s->pending.buf + n, s->pending.len - (size_t)n);
		strbuf_setlen(&s->pending, s->pending.len - (size_t)n);
	}
	return 0;
}

static ssize_t ipmisol_write(struct console *con, const void *buf, size_t len)
{
	struct ipmisol *s = con->priv;
	const unsigned char *p = buf;
	size_t i;
	int ret;

	if (s->pending.len > 65536)
		return -LAB_EBUSY;
	for (i = 0; i < len; i++) {
		if (s->last_was_cr && p[i] == SOL_ESCAPE)
			strbuf_addch(&s->pending, SOL_ESCAPE);
		strbuf_addch(&s->pending, (char)p[i]);
		s->last_was_cr = p[i] == '\r' || p[i] == '\n';
	}
	ret = flush_pending(s);
	return ret ? ret : (ssize_t)len;
}

static int ipmisol_break(struct console *con)
{
	struct ipmisol *s = con->priv;

	if (!s->last_was_cr)
		return lab_err(LAB_EINVAL,
			       "%s: ipmitool sends a break only at the start of a line (after Enter)",
			       s->what);
	strbuf_addch(&s->pending, SOL_ESCAPE);
	strbuf_addch(&s->pending, 'B');
	return flush_pending(s);
}

static int ipmisol_fd(struct console *con)
{
	struct ipmisol *s = con->priv;

	return s->proc.out_fd;
}

static const char *const ipmisol_keys[] = {
	"host", "port", "user", "password_file", NULL
};

/* The keys this driver takes in a lab file's [console] section, declared once
 * here: labctl/labconf.c checks and shows them from this table. */
static const struct lab_key_def ipmi_sol_lab_keys[] = {
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

const struct console_driver console_driver_ipmi_sol = {
	.name = "ipmi-sol",
	.description = "IPMI serial-over-LAN (ipmitool lanplus sol activate)",
	.keys = ipmisol_keys,
	.lab_keys = ipmi_sol_lab_keys,
	.open = ipmisol_open,
	.close = ipmisol_close,
	.read = ipmisol_read,
	.write = ipmisol_write,
	.fd = ipmisol_fd,
	.send_break = ipmisol_break,
	.reconnects = true,
};
