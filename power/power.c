// SPDX-License-Identifier: MIT
/*
 * Core wrappers around the power drivers: find the driver, check the keys
 * and the capabilities, fall back when a driver lacks an op, and report
 * every action with its result through cfg.event.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "power.h"

#define DEFAULT_OFF_TIME_MS 5000

/* The device plus the copies of everything its config points to. */
struct power_dev_alloc {
	struct power_dev dev;
	struct lab_param *params;
	char **argv;
	char *driver;
	char *state_dir;
};

const struct power_driver *power_find_driver(const char *name)
{
	int i;

	for (i = 0; name && power_drivers[i]; i++)
		if (!strcmp(power_drivers[i]->name, name))
			return power_drivers[i];
	return NULL;
}

static void driver_names(struct strbuf *sb)
{
	int i;

	for (i = 0; power_drivers[i]; i++)
		strbuf_addf(sb, "%s%s", i ? ", " : "", power_drivers[i]->name);
}

static int check_keys(const struct power_driver *drv,
		      const struct power_config *cfg)
{
	char what[64];

	snprintf(what, sizeof(what), "power driver %s", drv->name);
	return lab_params_check(cfg->params, cfg->nparams, drv->keys, what);
}

static void free_alloc(struct power_dev_alloc *a)
{
	int i;

	lab_params_free(a->params, a->dev.cfg.nparams);
	if (a->argv) {
		for (i = 0; a->argv[i]; i++)
			free(a->argv[i]);
		free(a->argv);
	}
	free(a->driver);
	free(a->state_dir);
	free(a);
}

int power_open(struct power_dev **out, const struct power_config *cfg)
{
	const struct power_driver *drv = power_find_driver(cfg->driver);
	struct power_dev_alloc *a;
	int i, n, ret;

	*out = NULL;
	if (!drv) {
		struct strbuf sb = STRBUF_INIT;

		driver_names(&sb);
		ret = lab_err(LAB_ECONFIG, "unknown power driver '%s' (known: %s)",
			      cfg->driver ? cfg->driver : "", strbuf_str(&sb));
		strbuf_release(&sb);
		return ret;
	}
	ret = check_keys(drv, cfg);
	if (ret)
		return ret;

	a = xzalloc(sizeof(*a));
	a->dev.drv = drv;
	a->dev.cfg = *cfg;
	a->driver = xstrdup(drv->name);
	a->dev.cfg.driver = a->driver;
	a->params = lab_params_dup(cfg->params, cfg->nparams);
	if (!a->params)
		a->dev.cfg.nparams = 0;
	a->dev.cfg.params = a->params;
	if (cfg->emulator_argv) {
		for (n = 0; cfg->emulator_argv[n]; n++)
			;
		a->argv = xcalloc((size_t)n + 1, sizeof(*a->argv));
		for (i = 0; i < n; i++)
			a->argv[i] = xstrdup(cfg->emulator_argv[i]);
	}
	a->dev.cfg.emulator_argv = (const char *const *)a->argv;
	a->state_dir = cfg->state_dir ? xstrdup(cfg->state_dir) : NULL;
	a->dev.cfg.state_dir = a->state_dir;
	if (a->dev.cfg.off_time_ms <= 0)
		a->dev.cfg.off_time_ms = DEFAULT_OFF_TIME_MS;

	ret = drv->open(&a->dev, &a->dev.cfg);
	if (ret) {
		free_alloc(a);
		return ret;
	}
	*out = &a->dev;
	return 0;
}

void power_close(struct power_dev *dev)
{
	if (!dev)
		return;
	if (dev->drv->close)
		dev->drv->close(dev);
	free_alloc((struct power_dev_alloc *)((char *)dev -
		   offsetof(struct power_dev_alloc, dev)));
}

const char *power_param(const struct power_dev *dev, const char *key)
{
	return lab_param_get(dev->cfg.params, dev->cfg.nparams, key);
}

void power_emit(struct power_dev *dev, const char *name, const char *detail)
{
	lab_debug("power %s: %s %s", dev->drv->name, name, detail ? detail : "");
	if (dev->cfg.event)
		dev->cfg.event(dev->cfg.event_arg, name, detail ? detail : "");
}

/* Report an action's result and pass it on. */
static int done(struct power_dev *dev, const char *action, int ret)
{
	power_emit(dev, action, ret ? lab_errmsg(ret) : "ok");
	return ret;
}

static int no_cap(struct power_dev *dev, const char *action)
{
	return lab_err(LAB_ECONFIG, "power driver %s cannot %s this board",
		       dev->drv->name, action);
}

int power_on(struct power_dev *dev)
{
	if (!(dev->drv->caps & POWER_CAP_ON))
		return done(dev, "on", no_cap(dev, "power on"));
	return done(dev, "on", dev->drv->on(dev));
}

int power_off(struct power_dev *dev)
{
	if (!(dev->drv->caps & POWER_CAP_OFF))
		return done(dev, "off", no_cap(dev, "power off"));
	return done(dev, "off", dev->drv->off(dev));
}

int power_cycle(struct power_dev *dev)
{
	unsigned caps = dev->drv->caps;
	int ret;

	if (caps & POWER_CAP_CYCLE)
		return done(dev, "cycle", dev->drv->cycle(dev));
	if ((caps & (POWER_CAP_ON | POWER_CAP_OFF)) !=
	    (POWER_CAP_ON | POWER_CAP_OFF))
		return done(dev, "cycle", no_cap(dev, "power-cycle"));
	/* The fallback: off, wait off_time, on. */
	ret = power_off(dev);
	if (ret)
		return done(dev, "cycle", ret);
	lab_sleep_ms(dev->cfg.off_time_ms);
	return done(dev, "cycle", power_on(dev));
}

int power_reset(struct power_dev *dev)
{
	if (dev->drv->caps & POWER_CAP_RESET)
		return done(dev, "reset", dev->drv->reset(dev));
	/* No reset line: a power cycle restarts the machine too. */
	return done(dev, "reset", power_cycle(dev));
}

int power_press(struct power_dev *dev, bool long_press)
{
	const char *what = long_press ? "press long" : "press";

	if (!(dev->drv->caps & POWER_CAP_PRESS))
		return done(dev, what, no_cap(dev, "press the power button of"));
	return done(dev, what, dev->drv->press(dev, long_press));
}

int power_status(struct power_dev *dev, enum power_state *state)
{
	int ret;

	*state = POWER_UNKNOWN;
	if (!(dev->drv->caps & POWER_CAP_STATUS)) {
		power_emit(dev, "status", "unknown");
		return 0;
	}
	ret = dev->drv->status(dev, state);
	if (ret) {
		*state = POWER_UNKNOWN;
		return done(dev, "status", ret);
	}
	power_emit(dev, "status", *state == POWER_ON ? "on" :
		   *state == POWER_OFF ? "off" : "unknown");
	return 0;
}

int power_event_fd(struct power_dev *dev)
{
	if (!(dev->drv->caps & POWER_CAP_EVENTS))
		return -1;
	return dev->drv->event_fd(dev);
}

int power_dispatch(struct power_dev *dev)
{
	if (!(dev->drv->caps & POWER_CAP_EVENTS))
		return 0;
	return dev->drv->dispatch(dev);
}
