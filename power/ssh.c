// SPDX-License-Identifier: MIT
/*
 * power/ssh: the board's own OS reboots or powers itself off (a soft
 * reboot, the first step of a laptop's plan).
 *
 *   cycle, reset  run `reboot` (systemctl reboot) detached, wait until ssh
 *                 stops answering (down_timeout)
 *   off           the same with `poweroff` (systemctl poweroff)
 *   status        on when ssh answers; otherwise an error saying why (a
 *                 board running a hypervisor has no sshd but is on, so
 *                 silence is not "off")
 *
 * There is no "on": an OS that is off runs no sshd.  Keys (a lab's
 * [board] host, user and ssh_port are the defaults, see labpower.c):
 *   host, user, port (22), identity, jump, sudo (no: run as is; yes:
 *   sudo -n), reboot, poweroff, connect_timeout (10 s), down_timeout (60 s)
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "lib/escape.h"
#include "lib/netcheck.h"
#include "lib/shquote.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "power.h"
#include "ssh/ssh.h"

#define SSH_MAX_WORDS 32

static const char *const ssh_keys[] = {
	"host", "port", "user", "identity", "jump", "sudo", "reboot",
	"poweroff", "connect_timeout", "down_timeout", NULL
};

static int64_t duration_param(struct power_dev *dev, const char *key,
			      int64_t def)
{
	const char *v = power_param(dev, key);
	int64_t ms;

	if (!v || lab_parse_duration_ms(v, &ms) < 0)
		return def;
	return ms;
}

static int port_param(struct power_dev *dev)
{
	const char *v = power_param(dev, "port");

	return v ? atoi(v) : 22;
}

static bool sudo_param(struct power_dev *dev)
{
	const char *v = power_param(dev, "sudo");

	return v && (!strcmp(v, "yes") || !strcmp(v, "true") ||
		     !strcmp(v, "on") || !strcmp(v, "1"));
}

/* The detached remote argv for reboot/poweroff; words owned by *words. */
static int build_argv(struct power_dev *dev, bool off, const char **argv,
		      char **words)
{
	const char *cmd = power_param(dev, off ? "poweroff" : "reboot");
	const char *cmdv[SSH_MAX_WORDS];
	char *w, *save = NULL;
	int k = 0;

	*words = xstrdup(cmd ? cmd : off ? "systemctl poweroff" :
			 "systemctl reboot");
	if (sudo_param(dev)) {
		cmdv[k++] = "sudo";
		cmdv[k++] = "-n";
		cmdv[k++] = "--";
	}
	for (w = strtok_r(*words, " \t", &save); w && k < SSH_MAX_WORDS - 1;
	     w = strtok_r(NULL, " \t", &save))
		cmdv[k++] = w;
	cmdv[k] = NULL;
	return lab_detached_argv(argv, SSH_MAX_WORDS + 8, cmdv) < 0 ?
	       lab_err(LAB_ECONFIG, "power driver ssh: command too long") : 0;
}

static int ssh_open(struct power_dev *dev, const struct power_config *cfg)
{
	(void)cfg;
	if (!power_param(dev, "host"))
		return lab_err(LAB_ECONFIG,
			       "power driver ssh needs host (the board's [board] host)");
	return 0;
}

static void ssh_close(struct power_dev *dev)
{
	(void)dev;
}

static void make_config(struct power_dev *dev, struct lab_ssh_config *c)
{
	memset(c, 0, sizeof(*c));
	c->name = NULL;	/* messages name the host */
	c->host = power_param(dev, "host");
	c->port = port_param(dev);
	c->user = power_param(dev, "user");
	c->identity = power_param(dev, "identity");
	c->jump = power_param(dev, "jump");
	c->connect_timeout_ms = duration_param(dev, "connect_timeout", 10000);
}

static int soft(struct power_dev *dev, bool off)
{
	const char *argv[SSH_MAX_WORDS + 8];
	struct lab_ssh_config c;
	struct lab_ssh *s = NULL;
	struct strbuf err = STRBUF_INIT;
	char *words = NULL;
	int64_t deadline;
	int ret, st = 0;

	ret = build_argv(dev, off, argv, &words);
	if (!ret) {
		make_config(dev, &c);
		ret = lab_ssh_connect(&s, &c);
	}
	if (!ret)
		ret = lab_ssh_run(s, argv, NULL, 0, NULL, &err, &st, 30000);
	if (!ret && st) {
		char *text;

		strbuf_rtrim(&err);
		text = lab_escape_lines(err.buf, err.len);
		ret = lab_err(LAB_EINFRA, "power driver ssh: %s on %s failed (exit %d): %s",
			      off ? "poweroff" : "reboot", lab_ssh_where(s), st,
			      text);
		free(text);
	}
	if (s)
		lab_ssh_close(s);
	strbuf_release(&err);
	free(words);
	if (ret)
		return ret;
	/* Confirm: the board's sshd goes away (its greeting: a port forward
	 * in front of a board that is down still accepts). */
	deadline = lab_mono_ms() + duration_param(dev, "down_timeout", 60000);
	while (lab_ssh_port_answers(c.host, c.port, 2000)) {
		if (lab_mono_ms() >= deadline)
			return lab_err(LAB_ETIMEDOUT,
				       "power driver ssh: %s still answers on port %d after the %s command",
				       c.host, c.port, off ? "poweroff" : "reboot");
		lab_sleep_ms(200);
	}
	return 0;
}

static int ssh_off(struct power_dev *dev)
{
	return soft(dev, true);
}

static int ssh_cycle(struct power_dev *dev)
{
	return soft(dev, false);
}

/*
 * Connect to host:port within ms: 0 when something accepts, else -1 with
 * why it did not (refused, no answer, no such host) in why.
 */
static int probe_port(const char *host, int port, int64_t ms, char *why,
		      size_t whylen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL, *a;
	char ports[16];
	int gai, err = ETIMEDOUT;

	snprintf(ports, sizeof(ports), "%d", port);
	gai = getaddrinfo(host, ports, &hints, &ai);
	if (gai) {
		snprintf(why, whylen, "cannot resolve %s: %s", host,
			 gai_strerror(gai));
		return -1;
	}
	for (a = ai; a; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK |
				SOCK_CLOEXEC, 0);
		struct pollfd pfd = { fd, POLLOUT, 0 };
		socklen_t len = sizeof(err);

		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			err = 0;
		} else if (errno != EINPROGRESS) {
			err = errno;
		} else if (poll(&pfd, 1, (int)ms) != 1) {
			err = ETIMEDOUT;
		} else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
			err = errno;
		}
		close(fd);
		if (!err)
			break;
	}
	freeaddrinfo(ai);
	if (!err)
		return 0;
	if (err == ETIMEDOUT)
		snprintf(why, whylen, "no answer within %lld ms", (long long)ms);
	else
		snprintf(why, whylen, "%s", strerror(err));
	return -1;
}

/*
 * On when its sshd answers.  When it does not, the board may be off,
 * booting, or on and running a hypervisor without sshd: that is not a
 * state but an error that says what was tried.
 */
static int ssh_status(struct power_dev *dev, enum power_state *state)
{
	const char *host = power_param(dev, "host");
	int port = port_param(dev);
	char why[256];

	*state = POWER_UNKNOWN;
	if (probe_port(host, port, duration_param(dev, "connect_timeout", 10000),
		       why, sizeof(why)))
		return lab_err(LAB_EINFRA,
			       "power driver ssh: cannot tell whether %s is on: its ssh port %d does not answer (%s); it is off, booting, or running without sshd",
			       host, port, why);
	*state = POWER_ON;
	return 0;
}

static int ssh_describe(struct power_dev *dev, const char *action,
			struct strbuf *out)
{
	const char *argv[SSH_MAX_WORDS + 8];
	const char *user = power_param(dev, "user");
	bool off = !strcmp(action, "off");
	char *words = NULL;
	int ret;

	if (!strcmp(action, "status")) {
		strbuf_addf(out, "connect to %s port %d: on if it answers\n",
			    power_param(dev, "host"), port_param(dev));
		return 0;
	}
	if (strcmp(action, "off") && strcmp(action, "cycle") &&
	    strcmp(action, "reset"))
		return lab_err(LAB_EINVAL,
			       "power driver ssh cannot '%s' (only off, cycle, reset, status): an OS that is off runs no sshd",
			       action);
	ret = build_argv(dev, off, argv, &words);
	if (!ret) {
		strbuf_addf(out, "ssh %s%s%s:%d: ", user ? user : "",
			    user ? "@" : "", power_param(dev, "host"),
			    port_param(dev));
		sh_quote_argv(out, argv);
		strbuf_addf(out, "\nwait until %s:%d stops answering (%lld ms)\n",
			    power_param(dev, "host"), port_param(dev),
			    (long long)duration_param(dev, "down_timeout", 60000));
	}
	free(words);
	return ret;
}

/* The keys this driver takes in a lab file's [power] section, declared once
 * here: labctl/labconf.c checks and shows them from this table. */
static const struct lab_key_def ssh_lab_keys[] = {
	{ "power", "reboot", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "ssh: the command that reboots the OS (default board.reboot, systemctl reboot)" },
	{ "power", "poweroff", KEY_STR, "systemctl poweroff", NULL, 0, 0, NULL,
	  "ssh: the command that powers the OS off" },
	{ "power", "sudo", KEY_BOOL, NULL, NULL, 0, 0, NULL,
	  "ssh: run the command through sudo -n (default: deploy.sudo for a non-root user)" },
	{ "power", "down_timeout", KEY_DURATION, NULL, NULL, 0, 0, NULL,
	  "ssh: how long the board may take to stop answering (default board.down_timeout)" },
	{ "power", "port", KEY_INT, NULL, NULL, 0, 65535, NULL,
	  "outlet number (http) or TCP port (ipmi, amt, ssh: default board.ssh_port)" },
	{ "power", "host", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "management controller address (ssh: the board, default board.host)" },
	{ "power", "user", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "management user name (amt: admin; http: basic auth, none by default)" },
	{ NULL, NULL, 0, NULL, NULL, 0, 0, NULL, NULL }
};

const struct power_driver power_driver_ssh = {
	.name = "ssh",
	.description = "soft reboot or poweroff by the board's own OS over ssh",
	.caps = POWER_CAP_OFF | POWER_CAP_CYCLE | POWER_CAP_RESET |
		POWER_CAP_STATUS,
	.keys = ssh_keys,
	.lab_keys = ssh_lab_keys,
	.open = ssh_open,
	.close = ssh_close,
	.off = ssh_off,
	.cycle = ssh_cycle,
	.reset = ssh_cycle,
	.status = ssh_status,
	.describe = ssh_describe,
};
