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
 *
 * cycle and reset go through the lab's escalation plan when [power] has
 * plan = ... (see labpower.h and power/plan.h): each step is tried until
 * one is confirmed down and back up, and --dry-run prints every step.
 * There is no separate "reboot" verb: a reboot is a cycle, and the plan
 * is how a laptop gets one.  Without a console or ssh to watch here, only
 * a device's own power status confirms a step.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "labctl/labconf.h"
#include "labctl/labctl.h"
#include "labctl/boardops.h"
#include "labctl/labpower.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "power/plan.h"
#include "power/power.h"

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

static json_t *plan_json(const struct power_plan *plan, const char *spec)
{
	const struct power_plan_attempt *a;
	json_t *o = json_object(), *attempts = json_array();
	char when[64];
	int i, n;

	a = plan ? power_plan_attempts(plan, &n) : NULL;
	for (i = 0; a && i < n; i++) {
		json_t *t = json_object();

		lab_timestamp_iso(when, sizeof(when), a[i].start_wall_ns);
		json_object_set_new(t, "step", json_integer(a[i].step));
		lab_json_set(t, "what", lab_json_str(a[i].what));
		lab_json_set(t, "start", lab_json_str(when));
		json_object_set_new(t, "ms", json_integer(a[i].duration_ms));
		lab_json_set(t, "result", json_string(a[i].ret ? "error" : "ok"));
		lab_json_set(t, "detail", lab_json_str(a[i].result));
		json_array_append_new(attempts, t);
	}
	lab_json_set(o, "spec", lab_json_str(spec));
	json_object_set_new(o, "steps",
			    json_integer(plan ? power_plan_nsteps(plan) : 0));
	json_object_set_new(o, "worked",
			    json_integer(plan ? power_plan_worked(plan) : 0));
	json_object_set_new(o, "attempts", attempts);
	return o;
}

static void print_json(const char *lab, const char *driver, const char *action,
		       int ret, enum power_state st, const char *describe,
		       const struct power_plan *plan, const char *spec)
{
	json_t *doc = json_object();

	lab_json_set(doc, "lab", lab_json_str(lab));
	lab_json_set(doc, "driver", lab_json_str(driver ? driver : ""));
	lab_json_set(doc, "action", lab_json_str(action));
	lab_json_set(doc, "result", json_string(ret ? "error" : "ok"));
	lab_json_set(doc, "state", json_string(state_name(st)));
	if (describe) {
		json_object_set_new(doc, "dry_run", json_true());
		lab_json_set(doc, "would", lab_json_str(describe));
	}
	if (spec)
		json_object_set_new(doc, "plan", plan_json(plan, spec));
	lab_json_set(doc, "error", ret ? lab_json_str(lab_errmsg(ret)) : NULL);
	lab_json_print(stdout, doc);
	json_decref(doc);
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

int cmd_power(int argc, char **argv, struct cmd_ctx *ctx)
{
	enum { OPT_LONG = CMD_OPT_LONG, OPT_DRY_RUN, OPT_STEAL };
	static const struct option longopts[] = {
		{ "long", no_argument, NULL, OPT_LONG },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "steal", no_argument, NULL, OPT_STEAL },
		{ NULL, 0, NULL, 0 }
	};
	struct cmd_getopt g;
	const char *words[3], *lab_name = NULL, *action;
	struct lab_power_result r = { .state = POWER_UNKNOWN };
	struct lease_take_opts lo = { 0 };
	struct board b = { 0 };
	bool long_press = false, dry_run = ctx->dry_run;
	int c, nwords = 0, ret, rc;
	struct lab *lab = NULL;
	char *msg = NULL;

	cmd_getopt_init(&g, "power", argc, argv, longopts);
	while ((c = cmd_getopt_next(&g)) != -1) {
		switch (c) {
		case OPT_LONG:
			long_press = true;
			break;
		case OPT_DRY_RUN:
			dry_run = true;
			break;
		case OPT_STEAL:
			lo.steal = true;
			break;
		case CMD_OPERAND:
			if (nwords == 2)
				return cmd_usage_error("power", "too many arguments");
			words[nwords++] = g.arg;
			break;
		default:
			return LAB_EXIT_USAGE;
		}
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

	r.driver = lab_power_driver(lab);
	/* Changing the board's power is using it: take its lease. */
	ret = lab_board_attach(&b, lab, !dry_run && strcmp(action, "status") ?
				       &lo : NULL, NULL);
	if (!ret) {
		ret = lab_power_act(&b, action, long_press, dry_run, &r);
		if (ret && r.open_failed)
			ret = locate_config_error(lab, r.driver, ret);
	}
	/* Closing may clear the recorded message (qemu): keep it. */
	if (ret)
		msg = xstrdup(lab_errmsg(ret));
	lab_board_close(&b);
	if (ret) {
		lab_err(-ret, "%s", msg);
		free(msg);
	}
	if (ctx->json)
		print_json(lab->name, r.spec ? "plan" : r.driver, action, ret,
			   r.state, dry_run && !ret ? strbuf_str(&r.desc) : NULL,
			   r.plan, r.spec);
	if (ret) {
		rc = cmd_fail(ret);
	} else {
		rc = 0;
		if (!ctx->json && dry_run)
			fputs(strbuf_str(&r.desc), stdout);
		else if (!ctx->json && !strcmp(action, "status"))
			printf("%s\n", state_name(r.state));
		else if (!ctx->json && r.plan)
			printf("%s: power %s: ok, step %d %s worked\n", lab->name,
			       action, power_plan_worked(r.plan), lab_power_last_attempt(r.plan));
		else if (!ctx->json)
			printf("%s: power %s: ok, the board is %s\n", lab->name,
			       action, state_name(r.state));
		if (!strcmp(action, "status") && r.state == POWER_UNKNOWN && !dry_run)
			lab_info("%s: power driver %s does not know whether the board is on",
				 lab->name, r.driver);
	}
	lab_power_result_release(&r);
	lab_free(lab);
	return rc;
}
