// SPDX-License-Identifier: MIT
/* A lab's [power] sections as power_configs (see labpower.h). */
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "labctl/boardops.h"
#include "labctl/labpower.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/paths.h"
#include "lib/xmalloc.h"

/* Keys of a power section that are labctl's, not the driver's. */
static bool not_driver_key(const char *key)
{
	return !strcmp(key, "driver") || !strcmp(key, "plan") ||
	       !strcmp(key, "off_time") || !strcmp(key, "confirm_timeout") ||
	       !strcmp(key, "cuts");
}

/* How many params ssh_defaults may add. */
#define SSH_DEFAULTS 9

/*
 * The ssh driver reaches the board the way everything else does: [board]
 * host, user, ssh_port, identity, jump, connect_timeout, reboot,
 * down_timeout, and deploy.sudo for a user that is not root, unless the
 * power section says otherwise.
 */
static int ssh_defaults(const struct lab *lab, const char *driver,
			struct lab_param *p, int n, int max)
{
	static const struct {
		const char *key, *section, *from;
	} map[SSH_DEFAULTS] = {
		{ "host", "board", "host" },
		{ "user", "board", "user" },
		{ "port", "board", "ssh_port" },
		{ "identity", "board", "identity" },
		{ "jump", "board", "jump" },
		{ "connect_timeout", "board", "connect_timeout" },
		{ "reboot", "board", "reboot" },
		{ "down_timeout", "board", "down_timeout" },
		{ "sudo", "deploy", "sudo" },
	};
	const char *user = lab->board.user;
	int i;

	if (!driver || strcmp(driver, "ssh"))
		return n;
	for (i = 0; i < SSH_DEFAULTS && n < max; i++) {
		const char *v = lab_get(lab, map[i].section, map[i].from);

		if (!v || lab_param_get(p, n, map[i].key))
			continue;
		if (!strcmp(map[i].key, "sudo") && (!user || !strcmp(user, "root")))
			continue;
		p[n++] = (struct lab_param){ map[i].key, v };
	}
	return n;
}

int lab_power_params(const struct lab *lab, struct lab_param *p, int max)
{
	int i, n = 0;

	for (i = 0; i < lab->nvalues && n < max; i++) {
		const struct lab_value *v = &lab->values[i];

		if (strcmp(v->section, "power") || not_driver_key(v->def->key))
			continue;
		p[n++] = (struct lab_param){ v->def->key, v->value };
	}
	return ssh_defaults(lab, lab_power_driver(lab), p, n, max);
}

const char *lab_power_driver(const struct lab *lab)
{
	const char *d = lab->power.driver;
	const struct board_ops *ops = board_ops_of(lab);

	if (d)
		return d;
	return ops ? ops->power_driver : NULL;
}

char *lab_power_state_dir(const struct lab *lab)
{
	return lab_state_path("%s-power", lab->name);
}

int lab_power_open_lab_device(const struct lab *lab,
			      const struct board_power_opts *po,
			      void (*event)(void *, const char *, const char *),
			      void *event_arg, struct power_dev **out)
{
	struct lab_param params[LAB_MAX_POWER_PARAMS];
	struct power_config cfg = {
		.driver = lab_power_driver(lab), .params = params,
		.off_time_ms = po->off_time_ms,
		.event = event, .event_arg = event_arg,
	};
	char *state_dir;
	int ret;

	*out = NULL;
	if (!cfg.driver)
		return 0;
	cfg.nparams = lab_power_params(lab, params, LAB_MAX_POWER_PARAMS);
	state_dir = lab_power_state_dir(lab);
	cfg.state_dir = state_dir;
	ret = power_open(out, &cfg);
	free(state_dir);
	return ret;
}

int lab_power_key_line(const struct lab *lab, const char *key)
{
	int i, line = 0;

	for (i = 0; i < lab->nvalues; i++) {
		const struct lab_value *v = &lab->values[i];

		if (!strcmp(v->section, "power") && !strcmp(v->def->key, key))
			line = v->line;
	}
	return line;
}

static const char *value_of(const struct lab_value *vals, int n,
			    const char *key)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(vals[i].def->key, key))
			return vals[i].value;
	return NULL;
}

/* cuts = ac|board, else by kind: a supply switch unless it is a button. */
static bool cuts_ac(const char *cuts, const char *driver, const char *button)
{
	bool pressed = false;

	if (cuts)
		return !strcmp(cuts, "ac");
	if (button)
		lab_parse_bool(button, &pressed);
	return !pressed && driver && (!strcmp(driver, "ftdi-relay") ||
				      !strcmp(driver, "gpio") ||
				      !strcmp(driver, "http"));
}

/* One device from a section's values (the [power] section: vals NULL). */
static void add_device(const struct lab *lab, struct lab_power_devices *d,
		       const char *name, const struct lab_value *vals, int nv,
		       const char *state_dir, struct lab_param *p)
{
	struct power_plan_device *dev = &d->devs[d->n++];
	const char *off = vals ? value_of(vals, nv, "off_time") : NULL;
	int64_t off_ms = 0;
	int i, n = 0;

	if (vals) {
		for (i = 0; i < nv; i++)
			if (!not_driver_key(vals[i].def->key))
				p[n++] = (struct lab_param){ vals[i].def->key,
							     vals[i].value };
		dev->cfg.driver = value_of(vals, nv, "driver");
		n = ssh_defaults(lab, dev->cfg.driver, p, n, n + SSH_DEFAULTS);
	} else {
		n = lab_power_params(lab, p, lab->nvalues + SSH_DEFAULTS);
		dev->cfg.driver = lab_power_driver(lab);
	}
	if (!off)
		dev->cfg.off_time_ms = lab->power.off_time_ms;
	else if (!lab_parse_duration_ms(off, &off_ms))
		dev->cfg.off_time_ms = off_ms;
	dev->name = name;
	dev->cfg.params = p;
	dev->cfg.nparams = n;
	dev->cfg.state_dir = state_dir;
	dev->cuts_ac = cuts_ac(vals ? value_of(vals, nv, "cuts") :
			       lab->power.cuts, dev->cfg.driver,
			       lab_param_get(p, n, "button"));
}

void lab_power_devices(const struct lab *lab, const char *state_dir,
		       struct lab_power_devices *out)
{
	const char *main_driver = lab_power_driver(lab);
	int i, total = lab->nvalues;
	struct lab_param *p;

	for (i = 0; i < lab->npower_devs; i++)
		total += lab->power_devs[i].nvalues + SSH_DEFAULTS;
	total += SSH_DEFAULTS;
	out->n = 0;
	out->devs = xcalloc((size_t)lab->npower_devs + 1, sizeof(*out->devs));
	out->params = xcalloc((size_t)total + 1, sizeof(*out->params));
	p = out->params;
	for (i = 0; i < lab->npower_devs; i++) {
		const struct lab_variant *pd = &lab->power_devs[i];

		add_device(lab, out, pd->name, pd->values, pd->nvalues,
			   state_dir, p);
		p += pd->nvalues + SSH_DEFAULTS;
	}
	if (main_driver)
		add_device(lab, out, main_driver, NULL, 0, state_dir, p);
}

void lab_power_devices_release(struct lab_power_devices *d)
{
	free(d->devs);
	free(d->params);
	d->devs = NULL;
	d->params = NULL;
	d->n = 0;
}

void lab_power_plan_options(const struct lab *lab, struct power_plan_options *o)
{
	o->battery = lab->board.battery;
	if (lab->power.confirm_timeout_ms != LAB_UNSET)
		o->confirm_timeout_ms = lab->power.confirm_timeout_ms;
}

/* ------------------------------------------------------------ actions */

static void plan_event(void *arg, const char *name, const char *detail)
{
	(void)arg;
	if (!strcmp(name, "plan"))
		lab_info("power plan: %s", detail);
	else
		lab_debug("power %s: %s", name, detail);
}

/* cycle or reset through the lab's plan (--dry-run: its description). */
static int run_plan(const struct lab *lab, const char *action, bool dry_run,
		    struct lab_power_result *r)
{
	struct power_plan_options o = {
		.verb = action, .event = plan_event,
	};
	struct lab_power_devices devs;
	char *state_dir = lab_power_state_dir(lab);
	int ret, line;

	lab_power_plan_options(lab, &o);
	lab_power_devices(lab, state_dir, &devs);
	ret = power_plan_new(&r->plan, r->spec, devs.devs, devs.n, &o);
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
		return power_plan_describe(r->plan, &r->desc);
	return power_plan_run(r->plan);
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

int lab_power_act(struct board *b, const char *action, bool long_press,
		  bool dry_run, struct lab_power_result *r)
{
	const struct lab *lab = b->lab;
	const char *spec = lab->power.plan;
	struct board_power_opts po = { .attach = true };
	struct power_dev *dev = NULL;
	int ret;

	memset(r, 0, sizeof(*r));
	strbuf_init(&r->desc);
	r->state = POWER_UNKNOWN;
	r->driver = lab_power_driver(lab);
	if (!r->driver)
		return lab_err(LAB_ECONFIG,
			       "%s: no [power] driver: set driver = ... in its [power] section",
			       lab->path);
	/* The board type's own driver (qemu) has no plan: it resets itself. */
	if (spec && (!b->ops->power_driver ||
		     strcmp(r->driver, b->ops->power_driver)) &&
	    (!strcmp(action, "cycle") || !strcmp(action, "reset"))) {
		r->spec = spec;
		return run_plan(lab, action, dry_run, r);
	}
	po.off_time_ms = lab->power.off_time_ms;
	ret = lab_board_power(b, &po, &dev);
	if (!ret && !dev)
		ret = lab_err(LAB_ECONFIG,
			      "%s: no [power] driver: set driver = ... in its [power] section",
			      lab->path);
	if (ret) {
		r->open_failed = true;
		return ret;
	}
	if (!dry_run)
		return do_action(dev, action, long_press, &r->state);
	if (!dev->drv->describe)
		return lab_err(LAB_ECONFIG,
			       "power driver %s cannot describe what it would do (no --dry-run)",
			       dev->drv->name);
	return dev->drv->describe(dev, action, &r->desc);
}

const char *lab_power_last_attempt(const struct power_plan *plan)
{
	const struct power_plan_attempt *a;
	int n;

	a = power_plan_attempts(plan, &n);
	return n ? a[n - 1].what : "";
}

void lab_power_result_release(struct lab_power_result *r)
{
	power_plan_free(r->plan);
	strbuf_release(&r->desc);
	memset(r, 0, sizeof(*r));
}
