// SPDX-License-Identifier: MIT
/*
 * power/cmd: every action is a command the lab file names, for switches
 * that come with their own tool (a relay CLI, a vendor script, sispmctl).
 *
 * Keys (each a command line, split on spaces and tabs into argv and run
 * with lab_run(): no shell, so no quoting, globbing or redirection):
 *   on, off     power on and off
 *   cycle       power-cycle; without it: off, wait off_time, on
 *   reset       reset; without it: cycle
 *   status      exit code 0 means on, any other exit code off
 *   timeout     how long one command may run (30 s), then its process
 *               group is killed and the action fails (-LAB_ETIMEDOUT)
 *
 * A command that exits non-zero fails its action (-LAB_EPROGRAM, with
 * the tail of its stderr); one that cannot be started is -LAB_ESPAWN,
 * naming the program.  An action whose key is missing (and has no
 * fallback) is -LAB_ECONFIG.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "lib/shquote.h"
#include "lib/spawn.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "power.h"

#define CMD_DEFAULT_TIMEOUT_MS 30000

enum cmd_action { A_ON, A_OFF, A_CYCLE, A_RESET, A_STATUS, A_MAX };

static const char *const action_keys[A_MAX] = {
	"on", "off", "cycle", "reset", "status"
};

static const char *const cmd_keys[] = {
	"on", "off", "cycle", "reset", "status", "timeout", NULL
};

struct cmd_priv {
	char **argv[A_MAX];	/* NULL-terminated, NULL when the key is unset */
	int64_t timeout_ms;
};

static void free_argv(char **argv)
{
	int i;

	if (!argv)
		return;
	for (i = 0; argv[i]; i++)
		free(argv[i]);
	free(argv);
}

/* Split on runs of spaces and tabs; NULL when there is no word. */
static char **split_words(const char *line)
{
	char **argv = NULL;
	size_t n = 0;
	const char *p = line;

	for (;;) {
		size_t len;

		p += strspn(p, " \t");
		if (!*p)
			break;
		len = strcspn(p, " \t");
		argv = xrealloc(argv, (n + 2) * sizeof(*argv));
		argv[n++] = xstrndup(p, len);
		argv[n] = NULL;
		p += len;
	}
	return argv;
}

static int run_action(struct power_dev *dev, enum cmd_action a)
{
	struct cmd_priv *c = dev->priv;
	struct spawn_opts o = { .timeout_ms = c->timeout_ms };

	if (!c->argv[a])
		return lab_err(LAB_ECONFIG,
			       "power driver cmd has no '%s' command: add %s = COMMAND to the lab's [power] section",
			       action_keys[a], action_keys[a]);
	return lab_run((const char *const *)c->argv[a], &o);
}

static int cmd_on(struct power_dev *dev)
{
	return run_action(dev, A_ON);
}

static int cmd_off(struct power_dev *dev)
{
	return run_action(dev, A_OFF);
}

static int cmd_cycle(struct power_dev *dev)
{
	struct cmd_priv *c = dev->priv;
	int ret;

	if (c->argv[A_CYCLE])
		return run_action(dev, A_CYCLE);
	ret = run_action(dev, A_OFF);
	if (ret)
		return ret;
	lab_sleep_ms(dev->cfg.off_time_ms);
	return run_action(dev, A_ON);
}

static int cmd_reset(struct power_dev *dev)
{
	struct cmd_priv *c = dev->priv;

	if (c->argv[A_RESET])
		return run_action(dev, A_RESET);
	return cmd_cycle(dev);
}

static int cmd_status(struct power_dev *dev, enum power_state *state)
{
	struct cmd_priv *c = dev->priv;
	struct spawn_opts o = { .timeout_ms = c->timeout_ms, .quiet = true };
	struct spawn_result r;
	int ret;

	*state = POWER_UNKNOWN;
	if (!c->argv[A_STATUS])
		return 0;
	ret = lab_spawn((const char *const *)c->argv[A_STATUS], &o, &r);
	if (ret)
		return ret;
	if (r.term_signal)
		return lab_err(LAB_EPROGRAM, "%s was killed by signal %d",
			       c->argv[A_STATUS][0], r.term_signal);
	*state = r.exit_code == 0 ? POWER_ON : POWER_OFF;
	return 0;
}

static void describe_run(struct cmd_priv *c, enum cmd_action a,
			 struct strbuf *out)
{
	strbuf_addstr(out, "run ");
	sh_quote_argv(out, (const char *const *)c->argv[a]);
	strbuf_addch(out, '\n');
}

static int describe_one(struct power_dev *dev, enum cmd_action a,
			struct strbuf *out)
{
	struct cmd_priv *c = dev->priv;

	if (!c->argv[a])
		return lab_err(LAB_ECONFIG,
			       "power driver cmd has no '%s' command: add %s = COMMAND to the lab's [power] section",
			       action_keys[a], action_keys[a]);
	describe_run(c, a, out);
	return 0;
}

static int cmd_describe(struct power_dev *dev, const char *action,
			struct strbuf *out)
{
	struct cmd_priv *c = dev->priv;
	int ret;

	if (!strcmp(action, "on"))
		return describe_one(dev, A_ON, out);
	if (!strcmp(action, "off"))
		return describe_one(dev, A_OFF, out);
	if (!strcmp(action, "status")) {
		if (!c->argv[A_STATUS]) {
			strbuf_addstr(out, "nothing: no status command (unknown)\n");
			return 0;
		}
		return describe_one(dev, A_STATUS, out);
	}
	if (!strcmp(action, "reset") && c->argv[A_RESET])
		return describe_one(dev, A_RESET, out);
	if (!strcmp(action, "cycle") || !strcmp(action, "reset")) {
		if (c->argv[A_CYCLE])
			return describe_one(dev, A_CYCLE, out);
		ret = describe_one(dev, A_OFF, out);
		if (ret)
			return ret;
		strbuf_addf(out, "wait %lld ms\n",
			    (long long)dev->cfg.off_time_ms);
		return describe_one(dev, A_ON, out);
	}
	return lab_err(LAB_ECONFIG, "power driver cmd cannot %s", action);
}

static void cmd_close(struct power_dev *dev)
{
	struct cmd_priv *c = dev->priv;
	int i;

	if (!c)
		return;
	for (i = 0; i < A_MAX; i++)
		free_argv(c->argv[i]);
	free(c);
	dev->priv = NULL;
}

static int cmd_open(struct power_dev *dev, const struct power_config *cfg)
{
	struct cmd_priv *c = xzalloc(sizeof(*c));
	const char *t = power_param(dev, "timeout");
	int i, ret;

	(void)cfg;
	dev->priv = c;
	c->timeout_ms = CMD_DEFAULT_TIMEOUT_MS;
	if (t) {
		ret = lab_parse_duration_ms(t, &c->timeout_ms);
		if (ret || c->timeout_ms <= 0) {
			ret = lab_err(LAB_ECONFIG,
				      "power driver cmd: timeout=%s: want a duration like 30s",
				      t);
			goto fail;
		}
	}
	for (i = 0; i < A_MAX; i++) {
		const char *line = power_param(dev, action_keys[i]);

		if (!line)
			continue;
		c->argv[i] = split_words(line);
		if (!c->argv[i]) {
			ret = lab_err(LAB_ECONFIG,
				      "power driver cmd: %s is empty: give a command line (program and arguments)",
				      action_keys[i]);
			goto fail;
		}
	}
	if (!c->argv[A_ON] && !c->argv[A_OFF] && !c->argv[A_CYCLE] &&
	    !c->argv[A_RESET] && !c->argv[A_STATUS]) {
		ret = lab_err(LAB_ECONFIG,
			      "power driver cmd has no commands: set on, off, cycle, reset or status in [power]");
		goto fail;
	}
	return 0;
fail:
	cmd_close(dev);
	return ret;
}

/* The keys this driver takes in a lab file's [power] section, declared once
 * here: labctl/labconf.c checks and shows them from this table. */
static const struct lab_key_def cmd_lab_keys[] = {
	{ "power", "on", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "command line (argv, split on spaces, no shell) to power on" },
	{ "power", "off", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "command line to power off" },
	{ "power", "cycle", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "command line to power-cycle (default: off, wait, on)" },
	{ "power", "reset", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "command line to reset" },
	{ "power", "status", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "command line whose exit code 0 means on" },
	{ "power", "timeout", KEY_DURATION, "30s", NULL, 0, 0, NULL,
	  "how long one power command (cmd, ipmitool) may run before it is killed; http, amt: one HTTP request, connecting included (default 10s)" },
	{ NULL, NULL, 0, NULL, NULL, 0, 0, NULL, NULL }
};

const struct power_driver power_driver_cmd = {
	.name = "cmd",
	.description = "commands from the lab file, one per action (no shell)",
	.caps = POWER_CAP_ON | POWER_CAP_OFF | POWER_CAP_CYCLE |
		POWER_CAP_RESET | POWER_CAP_STATUS,
	.keys = cmd_keys,
	.lab_keys = cmd_lab_keys,
	.open = cmd_open,
	.close = cmd_close,
	.on = cmd_on,
	.off = cmd_off,
	.cycle = cmd_cycle,
	.reset = cmd_reset,
	.status = cmd_status,
	.describe = cmd_describe,
};
