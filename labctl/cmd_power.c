// SPDX-License-Identifier: MIT
/*
 * labctl power [LAB] on|off|cycle|reset|status|press [--long] [--dry-run]
 *
 * One power action on the lab's board through its [power] driver, as a
 * command of its own.  The QEMU board is driven with attach=yes and
 * console_wait=0: `power on` starts QEMU and leaves it running for a
 * later `power off|status` (another labctl process) to find.
 * --dry-run opens the driver (which changes nothing) and prints what the
 * action would do (struct power_driver.describe) without doing it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labctl/labconf.h"
#include "labctl/labctl.h"
#include "labctl/labpower.h"
#include "labctl/qemuboard.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "power/power.h"

#define MAX_POWER_PARAMS 32

static const char *const actions[] = {
	"on", "off", "cycle", "reset", "status", "press", NULL
};

static bool is_action(const char *s)
{
	int i;

	for (i = 0; actions[i]; i++)
		if (!strcmp(actions[i], s))
			return true;
	return false;
}

static const char *state_name(enum power_state st)
{
	return st == POWER_ON ? "on" : st == POWER_OFF ? "off" : "unknown";
}

static void print_json(const char *lab, const char *driver, const char *action,
		       int ret, enum power_state st, const char *describe)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, "{\"lab\":");
	strbuf_add_json_str(&sb, lab);
	strbuf_addstr(&sb, ",\"driver\":");
	strbuf_add_json_str(&sb, driver ? driver : "");
	strbuf_addstr(&sb, ",\"action\":");
	strbuf_add_json_str(&sb, action);
	strbuf_addf(&sb, ",\"result\":\"%s\",\"state\":\"%s\"",
		    ret ? "error" : "ok", state_name(st));
	if (describe) {
		strbuf_addstr(&sb, ",\"dry_run\":true,\"would\":");
		strbuf_add_json_str(&sb, describe);
	}
	strbuf_addstr(&sb, ",\"error\":");
	if (ret)
		strbuf_add_json_str(&sb, lab_errmsg(ret));
	else
		strbuf_addstr(&sb, "null");
	strbuf_addstr(&sb, "}\n");
	fputs(strbuf_str(&sb), stdout);
	strbuf_release(&sb);
}

/* Whether msg names key as a word followed by ' ', '=' or ':'. */
static bool names_key(const char *msg, const char *key)
{
	size_t n = strlen(key);
	const char *p;

	for (p = strstr(msg, key); p; p = strstr(p + 1, key))
		if ((p == msg || p[-1] == ' ' || p[-1] == '\'') &&
		    (p[n] == ' ' || p[n] == '=' || p[n] == ':' || p[n] == '\''))
			return true;
	return false;
}

/*
 * An error in the driver's configuration: say where it came from, the
 * line of the [power] key the message names (fault: wraps), else the
 * driver line.
 */
static int locate_config_error(const struct lab *lab, const char *driver,
			       int ret)
{
	const char *key = !strcmp(driver, "fault") ? "wraps" : "driver";
	const char *m = lab_errmsg(ret);
	int i, line;
	char *msg;

	if (ret != -LAB_ECONFIG)
		return ret;
	for (i = 0; i < lab->nvalues && strcmp(key, "wraps"); i++) {
		const struct lab_value *v = &lab->values[i];

		if (!strcmp(v->section, "power") && names_key(m, v->def->key))
			key = v->def->key;
	}
	line = lab_power_key_line(lab, key);
	if (!line)
		return ret;
	msg = xstrdup(m);
	ret = lab_err(LAB_ECONFIG, "%s:%d: %s", lab->path, line, msg);
	free(msg);
	return ret;
}

static int do_action(struct power_dev *dev, const char *action,
		     bool long_press, enum power_state *st)
{
	int ret;

	*st = POWER_UNKNOWN;
	if (!strcmp(action, "status"))
		return power_status(dev, st);
	if (!strcmp(action, "on"))
		ret = power_on(dev);
	else if (!strcmp(action, "off"))
		ret = power_off(dev);
	else if (!strcmp(action, "cycle"))
		ret = power_cycle(dev);
	else if (!strcmp(action, "reset"))
		ret = power_reset(dev);
	else
		ret = power_press(dev, long_press);
	if (ret)
		return ret;
	/* What the board says now (unknown without a status). */
	if (power_status(dev, st)) {
		lab_err_clear();
		*st = POWER_UNKNOWN;
	}
	return 0;
}

int cmd_power(int argc, char **argv, struct cmd_ctx *ctx)
{
	const char *words[3], *lab_name = NULL, *action, *driver = NULL;
	struct lab_param params[MAX_POWER_PARAMS];
	struct qemu_board board = { .lock_fd = -1 };
	struct power_config cfg = { 0 };
	struct strbuf desc = STRBUF_INIT;
	struct power_dev *dev = NULL;
	enum power_state st = POWER_UNKNOWN;
	bool long_press = false, dry_run = ctx->dry_run, have_board = false;
	int i, nwords = 0, nparams, ret, rc;
	struct lab *lab = NULL;
	int64_t off_ms = 0;
	char *msg = NULL;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--long"))
			long_press = true;
		else if (!strcmp(argv[i], "--dry-run"))
			dry_run = true;
		else if (argv[i][0] == '-' && argv[i][1])
			return cmd_usage_error("power", "unknown option '%s'", argv[i]);
		else if (nwords < 2)
			words[nwords++] = argv[i];
		else
			return cmd_usage_error("power", "too many arguments");
	}
	if (!nwords)
		return cmd_usage_error("power", "which action? (on, off, cycle, reset, status, press)");
	action = words[nwords - 1];
	if (nwords == 2)
		lab_name = words[0];
	if (!is_action(action)) {
		char *path = nwords == 1 ? lab_find(action) : NULL;

		if (path) {
			free(path);
			lab_err_clear();
			return cmd_usage_error("power", "which action for lab '%s'? (on, off, cycle, reset, status, press)",
					       action);
		}
		lab_err_clear();
		return cmd_usage_error("power", "unknown action '%s' (on, off, cycle, reset, status, press)",
				       action);
	}
	if (long_press && strcmp(action, "press"))
		return cmd_usage_error("power", "--long goes with press only");
	if (long_press)
		action = "press long";

	rc = cmd_open_lab(ctx, lab_name, &lab);
	if (rc)
		return rc;

	driver = lab_power_driver(lab);
	if (!driver) {
		ret = lab_err(LAB_ECONFIG,
			      "%s: no [power] driver: set driver = ... in its [power] section",
			      lab->path);
		goto out;
	}
	nparams = lab_power_params(lab, params, MAX_POWER_PARAMS - 3);
	cfg.driver = driver;
	if (lab_get(lab, "power", "off_time") &&
	    !lab_parse_duration_ms(lab_get(lab, "power", "off_time"), &off_ms))
		cfg.off_time_ms = off_ms;
	if (!strcmp(driver, "qemu")) {
		/* Across processes: use the running QEMU, leave it running,
		 * and nobody is connected to its console. */
		params[nparams++] = (struct lab_param){ "attach", "yes" };
		params[nparams++] = (struct lab_param){ "console_wait", "0" };
		ret = qemu_board_open(&board, lab);
		have_board = true;
		if (!ret)
			ret = qemu_board_command(&board, lab);
		if (ret)
			goto out;
		cfg.qemu_argv = (const char *const *)board.argv;
		cfg.state_dir = board.state_dir;
	}
	cfg.params = params;
	cfg.nparams = nparams;
	ret = power_open(&dev, &cfg);
	if (ret) {
		ret = locate_config_error(lab, driver, ret);
		goto out;
	}
	if (dry_run) {
		if (!dev->drv->describe)
			ret = lab_err(LAB_ECONFIG,
				      "power driver %s cannot describe what it would do (no --dry-run)",
				      dev->drv->name);
		else
			ret = dev->drv->describe(dev, action, &desc);
	} else {
		ret = do_action(dev, action, long_press, &st);
	}

out:
	/* Closing may clear the recorded message (qemu): keep it. */
	if (ret)
		msg = xstrdup(lab_errmsg(ret));
	power_close(dev);
	if (have_board)
		qemu_board_close(&board);
	if (ret) {
		lab_err(-ret, "%s", msg);
		free(msg);
	}
	if (ctx->json)
		print_json(lab->name, driver, action, ret, st,
			   dry_run && !ret ? strbuf_str(&desc) : NULL);
	if (ret) {
		rc = cmd_fail(ret);
	} else {
		rc = 0;
		if (!ctx->json && dry_run)
			fputs(strbuf_str(&desc), stdout);
		else if (!ctx->json && !strcmp(action, "status"))
			printf("%s\n", state_name(st));
		else if (!ctx->json)
			printf("%s: power %s: ok, the board is %s\n", lab->name,
			       action, state_name(st));
	}
	strbuf_release(&desc);
	lab_free(lab);
	return rc;
}
