// SPDX-License-Identifier: MIT
/* A lab's [power] sections as power_configs (see labpower.h). */
#include <stdlib.h>
#include <string.h>

#include "labctl/labpower.h"
#include "lib/clock.h"
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
	const char *user = lab_get(lab, "board", "user");
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
	const char *d = lab_get(lab, "power", "driver");
	const char *type = lab_get(lab, "board", "type");

	if (d)
		return d;
	if (type && !strcmp(type, "qemu"))
		return "qemu";
	if (type && !strcmp(type, "bochs"))	/* bochs board */
		return "bochs";
	return NULL;
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
		off = lab_get(lab, "power", "off_time");
	if (off && !lab_parse_duration_ms(off, &off_ms))
		dev->cfg.off_time_ms = off_ms;
	dev->name = name;
	dev->cfg.params = p;
	dev->cfg.nparams = n;
	dev->cfg.state_dir = state_dir;
	dev->cuts_ac = cuts_ac(vals ? value_of(vals, nv, "cuts") :
			       lab_get(lab, "power", "cuts"), dev->cfg.driver,
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
	const char *t = lab_get(lab, "power", "confirm_timeout");
	int64_t ms = 0;

	o->battery = lab_get_bool(lab, "board", "battery");
	if (t && !lab_parse_duration_ms(t, &ms))
		o->confirm_timeout_ms = ms;
}
