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
#include "labctl/cmdopt.h"
#include "labctl/labctl.h"
#include "labctl/board.h"
#include "labctl/labpower.h"
#include "labctl/qemuboard.h"
#include "labctl/bochsboard.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "power/plan.h"
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

/* Where the devices keep state across labctl processes (the gpio holder). */
static char *power_state_dir(const struct lab *lab)
{
	const char *base = getenv("LABCTL_STATE_DIR");

	if (base && *base)
		return xasprintf("%s/%s-power", base, lab->name);
	return xasprintf("/tmp/labctl-%u/%s-power", (unsigned)getuid(),
			 lab->name);
}

static void plan_event(void *arg, const char *name, const char *detail)
{
	(void)arg;
	if (!strcmp(name, "plan"))
		lab_info("power plan: %s", detail);
	else
		lab_debug("power %s: %s", name, detail);
}

/* The plan stops at the step that works: it is the last attempt. */
static const char *last_attempt(const struct power_plan *plan)
{
	const struct power_plan_attempt *a;
	int n;

	a = power_plan_attempts(plan, &n);
	return n ? a[n - 1].what : "";
}

/*
 * cycle or reset through the lab's plan.  *plan stays for the caller's
 * --json; desc gets --dry-run's description.
 */
static int run_plan(const struct lab *lab, const char *action, bool dry_run,
		    struct power_plan **plan, struct strbuf *desc)
{
	struct power_plan_options o = {
		.verb = action, .event = plan_event,
	};
	struct lab_power_devices devs;
	char *state_dir = power_state_dir(lab);
	int ret, line;

	lab_power_plan_options(lab, &o);
	lab_power_devices(lab, state_dir, &devs);
	ret = power_plan_new(plan, lab_get(lab, "power", "plan"), devs.devs,
			     devs.n, &o);
	lab_power_devices_release(&devs);
	free(state_dir);
	if (ret == -LAB_ECONFIG && (line = lab_power_key_line(lab, "plan"))) {
		char *msg = xstrdup(lab_errmsg(ret));

		ret = lab_err(LAB_ECONFIG, "%s:%d: %s", lab->path, line, msg);
		free(msg);
	}
	if (ret)
		return ret;
	if (dry_run)
		return power_plan_describe(*plan, desc);
	return power_plan_run(*plan);
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

/* report: NULL prints the outcome; else it goes there (see labpower.h). */
static int power_main(int argc, char **argv, struct cmd_ctx *ctx,
		      struct strbuf *report)
{
	static const struct option longopts[] = {
		{ "long", no_argument, NULL, 'l' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "steal", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	const char *words[3], *lab_name = NULL, *action, *driver = NULL;
	struct lab_param params[MAX_POWER_PARAMS];
	struct qemu_board board = { .lock_fd = -1 };
	struct board_session bs = { 0 };
	struct power_config cfg = { 0 };
	struct strbuf desc = STRBUF_INIT;
	struct power_dev *dev = NULL;
	struct power_plan *plan = NULL;
	const char *spec = NULL;
	char *state_dir = NULL;
	enum power_state st = POWER_UNKNOWN;
	bool long_press = false, dry_run = ctx->dry_run, have_board = false;
	bool steal = false;
	int c, i, nwords = 0, nparams, ret, rc;
	struct lab *lab = NULL;
	int64_t off_ms = 0;
	char *msg = NULL;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			long_press = true;
			break;
		case 'n':
			dry_run = true;
			break;
		case 's':
			steal = true;
			break;
		default:
			return cmd_bad_option("power", "", c, argv);
		}
	}
	for (i = optind; i < argc; i++) {
		if (nwords == 2)
			return cmd_usage_error("power", "too many arguments");
		words[nwords++] = argv[i];
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
	spec = lab_get(lab, "power", "plan");
	if (spec && strcmp(driver, "qemu") &&
	    (!strcmp(action, "cycle") || !strcmp(action, "reset"))) {
		if (!dry_run) {
			struct lease_take_opts lo = { .steal = steal };

			ret = board_session_lease(&bs, lab, &lo);
			if (ret)
				goto out;
		}
		ret = run_plan(lab, action, dry_run, &plan, &desc);
		goto out;
	}
	spec = NULL;
	nparams = lab_power_params(lab, params, MAX_POWER_PARAMS - 3);
	cfg.driver = driver;
	if (lab_get(lab, "power", "off_time") &&
	    !lab_parse_duration_ms(lab_get(lab, "power", "off_time"), &off_ms))
		cfg.off_time_ms = off_ms;
	if (!strcmp(driver, "qemu") || !strcmp(driver, "bochs")) {
		/* Across processes: use the running QEMU, leave it running,
		 * and nobody is connected to its console. */
		params[nparams++] = (struct lab_param){ "attach", "yes" };
		if (strcmp(driver, "bochs"))	/* bochs board: no such key */
			params[nparams++] = (struct lab_param){ "console_wait", "0" };
		ret = qemu_board_open(&board, lab);
		have_board = true;
		if (!ret)
			ret = bochs_board_is(lab) ? bochs_board_command(&board, lab) :	/* bochs board */
			      qemu_board_command(&board, lab);
		if (ret)
			goto out;
		cfg.qemu_argv = (const char *const *)board.argv;
		cfg.state_dir = board.state_dir;
	} else {
		state_dir = power_state_dir(lab);
		cfg.state_dir = state_dir;
	}
	cfg.params = params;
	cfg.nparams = nparams;
	/* Changing the board's power is using it: take its lease. */
	if (!dry_run && strcmp(action, "status")) {
		struct lease_take_opts lo = { .steal = steal };

		ret = board_session_lease(&bs, lab, &lo);
		if (ret)
			goto out;
	}
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
	board_session_close(&bs);
	if (ret) {
		lab_err(-ret, "%s", msg);
		free(msg);
	}
	if (ctx->json && !report)
		print_json(lab->name, spec ? "plan" : driver, action, ret, st,
			   dry_run && !ret ? strbuf_str(&desc) : NULL, plan,
			   spec);
	if (report) {
		rc = lab_exit_code(ret);
		if (ret)
			strbuf_addstr(report, lab_errmsg(ret));
		else if (plan)
			strbuf_addf(report, "power %s: ok, step %d %s worked",
				    action, power_plan_worked(plan),
				    last_attempt(plan));
		else
			strbuf_addf(report, "power %s: ok, the board is %s",
				    action, state_name(st));
	} else if (ret) {
		rc = cmd_fail(ret);
	} else {
		rc = 0;
		if (!ctx->json && dry_run)
			fputs(strbuf_str(&desc), stdout);
		else if (!ctx->json && !strcmp(action, "status"))
			printf("%s\n", state_name(st));
		else if (!ctx->json && plan)
			printf("%s: power %s: ok, step %d %s worked\n", lab->name,
			       action, power_plan_worked(plan), last_attempt(plan));
		else if (!ctx->json)
			printf("%s: power %s: ok, the board is %s\n", lab->name,
			       action, state_name(st));
		if (!strcmp(action, "status") && st == POWER_UNKNOWN && !dry_run)
			lab_info("%s: power driver %s does not know whether the board is on",
				 lab->name, driver);
	}
	power_plan_free(plan);
	free(state_dir);
	strbuf_release(&desc);
	lab_free(lab);
	return rc;
}

int cmd_power(int argc, char **argv, struct cmd_ctx *ctx)
{
	return power_main(argc, argv, ctx, NULL);
}

int cmd_power_report(int argc, char **argv, struct cmd_ctx *ctx,
		     struct strbuf *report)
{
	return power_main(argc, argv, ctx, report);
}
