// SPDX-License-Identifier: MIT
/*
 * power/ipmi: a BMC's chassis power through ipmitool (IPMI v2.0, lanplus)
 *
 *   ipmitool -I lanplus -C 3 -H HOST -p PORT [-U USER] -E chassis power ACTION
 *
 * ACTION: on, off, cycle, reset, status ("Chassis Power is on|off"),
 * soft (a short press: ACPI power button); a long press is off.  -C 3
 * (cipher suite 3) always: without it ipmitool tries others first and
 * every call takes about 10 s.
 *
 * Keys:
 *   host           the BMC's address (required)
 *   port           its RMCP+ UDP port (623)
 *   user           the BMC user (ipmitool's default when unset)
 *   password_file  a file holding the password (its first line); it must
 *                  not be readable by group or others (mode 0600), or it
 *                  is refused.  Without it: $IPMI_PASSWORD.
 *   timeout        how long one ipmitool call may run (30 s)
 *
 * The password goes to ipmitool in its environment (IPMI_PASSWORD with
 * -E), never on its command line, where `ps` would show it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "lib/escape.h"
#include "lib/ipmitool.h"
#include "lib/secret.h"
#include "lib/shquote.h"
#include "lib/spawn.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "power.h"

#define IPMI_DEFAULT_TIMEOUT_MS 30000

static const char *const ipmi_keys[] = {
	"host", "port", "user", "password_file", "timeout", NULL
};

struct ipmi {
	char *env_password;	/* "IPMI_PASSWORD=..." */
	int64_t timeout_ms;
};

/* argv for `chassis power WHAT` into argv (IPMITOOL_MAX_ARGS). */
static void build_argv(struct power_dev *dev, const char *what,
		       const char **argv)
{
	const char *const words[] = { "chassis", "power", what, NULL };

	ipmitool_argv(argv, power_param(dev, "host"), power_param(dev, "port"),
		      power_param(dev, "user"), words);
}

static int run_ipmitool(struct power_dev *dev, const char *what,
			struct strbuf *out)
{
	struct ipmi *p = dev->priv;
	const char *argv[IPMITOOL_MAX_ARGS];
	const char *env[] = { p->env_password, NULL };
	struct strbuf discard = STRBUF_INIT;
	struct spawn_opts o = {
		.env_add = env, .timeout_ms = p->timeout_ms,
		.out = out ? out : &discard,	/* "Chassis Power Control: Up/On" */
	};
	int ret;

	build_argv(dev, what, argv);
	ret = lab_run(argv, &o);
	strbuf_release(&discard);
	if (ret == -LAB_EPROGRAM || ret == -LAB_ETIMEDOUT) {
		char *msg = xstrdup(lab_errmsg(ret));

		ret = lab_err(-ret, "IPMI chassis power %s on %s:%s: %s", what,
			      power_param(dev, "host"),
			      power_param(dev, "port") ? power_param(dev, "port") :
			      IPMITOOL_DEFAULT_PORT,
			      msg);
		free(msg);
	}
	return ret;
}

static int ipmi_on(struct power_dev *dev)
{
	return run_ipmitool(dev, "on", NULL);
}

static int ipmi_off(struct power_dev *dev)
{
	return run_ipmitool(dev, "off", NULL);
}

static int ipmi_cycle(struct power_dev *dev)
{
	return run_ipmitool(dev, "cycle", NULL);
}

static int ipmi_reset(struct power_dev *dev)
{
	return run_ipmitool(dev, "reset", NULL);
}

static int ipmi_press(struct power_dev *dev, bool long_press)
{
	return run_ipmitool(dev, long_press ? "off" : "soft", NULL);
}

static int ipmi_status(struct power_dev *dev, enum power_state *state)
{
	struct strbuf out = STRBUF_INIT;
	int ret;

	*state = POWER_UNKNOWN;
	ret = run_ipmitool(dev, "status", &out);
	if (!ret) {
		if (strstr(strbuf_str(&out), "Chassis Power is on"))
			*state = POWER_ON;
		else if (strstr(strbuf_str(&out), "Chassis Power is off"))
			*state = POWER_OFF;
		else {
			char *said = lab_escape(out.buf, out.len);

			ret = lab_err(LAB_EINFRA,
				      "ipmitool chassis power status on %s said '%s', not 'Chassis Power is on|off'",
				      power_param(dev, "host"), said);
			free(said);
		}
	}
	strbuf_release(&out);
	return ret;
}

static int ipmi_describe(struct power_dev *dev, const char *action,
			 struct strbuf *out)
{
	const char *argv[IPMITOOL_MAX_ARGS];
	const char *what = action;

	if (!strcmp(action, "press"))
		what = "soft";
	else if (!strcmp(action, "press long"))
		what = "off";
	else if (strcmp(action, "on") && strcmp(action, "off") &&
		 strcmp(action, "cycle") && strcmp(action, "reset") &&
		 strcmp(action, "status"))
		return lab_err(LAB_EINVAL, "power driver ipmi: no action '%s'",
			       action);
	build_argv(dev, what, argv);
	strbuf_addstr(out, "run ");
	sh_quote_argv(out, argv);
	strbuf_addch(out, '\n');
	return 0;
}

static void ipmi_close(struct power_dev *dev)
{
	struct ipmi *p = dev->priv;

	if (!p)
		return;
	if (p->env_password) {
		explicit_bzero(p->env_password, strlen(p->env_password));
		free(p->env_password);
	}
	free(p);
	dev->priv = NULL;
}

static int ipmi_open(struct power_dev *dev, const struct power_config *cfg)
{
	struct ipmi *p = xzalloc(sizeof(*p));
	const char *pwfile = power_param(dev, "password_file");
	const char *t = power_param(dev, "timeout");
	struct strbuf pw = STRBUF_INIT;
	int ret = 0;

	(void)cfg;
	dev->priv = p;
	p->timeout_ms = IPMI_DEFAULT_TIMEOUT_MS;
	if (!power_param(dev, "host") || !*power_param(dev, "host")) {
		ret = lab_err(LAB_ECONFIG,
			      "power driver ipmi needs host = the BMC's address in [power]");
		goto out;
	}
	if (t && (lab_parse_duration_ms(t, &p->timeout_ms) || p->timeout_ms <= 0)) {
		ret = lab_err(LAB_ECONFIG,
			      "power driver ipmi: timeout=%s: want a duration like 30s", t);
		goto out;
	}
	if (pwfile) {
		ret = lab_read_secret_file("power driver ipmi", pwfile, &pw);
		if (ret)
			goto out;
	} else if (getenv("IPMI_PASSWORD")) {
		strbuf_addstr(&pw, getenv("IPMI_PASSWORD"));
	} else {
		ret = lab_err(LAB_ECONFIG,
			      "power driver ipmi needs the BMC password: set IPMI_PASSWORD or password_file = PATH (mode 0600) in [power]");
		goto out;
	}
	p->env_password = xasprintf("IPMI_PASSWORD=%s", strbuf_str(&pw));
out:
	if (pw.buf)
		explicit_bzero(pw.buf, pw.len);
	strbuf_release(&pw);
	if (ret)
		ipmi_close(dev);
	return ret;
}

/* The keys this driver takes in a lab file's [power] section, declared once
 * here: labctl/labconf.c checks and shows them from this table. */
static const struct lab_key_def ipmi_lab_keys[] = {
	{ "power", "timeout", KEY_DURATION, "30s", NULL, 0, 0, NULL,
	  "how long one power command (cmd, ipmitool) may run before it is killed; http, amt: one HTTP request, connecting included (default 10s)" },
	{ "power", "port", KEY_INT, NULL, NULL, 0, 65535, NULL,
	  "outlet number (http) or TCP port (ipmi, amt, ssh: default board.ssh_port)" },
	{ "power", "host", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "management controller address (ssh: the board, default board.host)" },
	{ "power", "user", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "management user name (amt: admin; http: basic auth, none by default)" },
	{ "power", "password_file", KEY_SECRET_FILE, NULL, NULL, 0, 0, NULL,
	  "file (mode 0600) holding the password; or the environment" },
	{ NULL, NULL, 0, NULL, NULL, 0, 0, NULL, NULL }
};

const struct power_driver power_driver_ipmi = {
	.name = "ipmi",
	.description = "a BMC's chassis power over IPMI lanplus (ipmitool)",
	.caps = POWER_CAP_ON | POWER_CAP_OFF | POWER_CAP_CYCLE |
		POWER_CAP_RESET | POWER_CAP_STATUS | POWER_CAP_PRESS,
	.keys = ipmi_keys,
	.lab_keys = ipmi_lab_keys,
	.open = ipmi_open,
	.close = ipmi_close,
	.on = ipmi_on,
	.off = ipmi_off,
	.cycle = ipmi_cycle,
	.reset = ipmi_reset,
	.status = ipmi_status,
	.press = ipmi_press,
	.describe = ipmi_describe,
};
