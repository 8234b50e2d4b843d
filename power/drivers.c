// SPDX-License-Identifier: MIT
/*
 * The power driver table.  A driver that needs an optional library gets
 * an #ifdef HAVE_X around its entry; the ones here need nothing.
 */
#include <stddef.h>
#include <string.h>

#include "lib/err.h"
#include "power.h"

extern const struct power_driver power_driver_qemu;
extern const struct power_driver power_driver_bochs;
extern const struct power_driver power_driver_dummy;
extern const struct power_driver power_driver_cmd;
extern const struct power_driver power_driver_fault;
extern const struct power_driver power_driver_ipmi;
extern const struct power_driver power_driver_ssh;
extern const struct power_driver power_driver_http;
extern const struct power_driver power_driver_amt;
extern const struct power_driver power_driver_ftdi_relay;
extern const struct power_driver power_driver_gpio;

const struct power_driver *const power_drivers[] = {
	&power_driver_qemu,
	&power_driver_dummy,
	&power_driver_cmd,
	&power_driver_fault,
	&power_driver_ipmi,
	&power_driver_ssh,
	&power_driver_http,
	&power_driver_amt,
	&power_driver_ftdi_relay,
	&power_driver_gpio,
	&power_driver_bochs,
	NULL,
};

/* An op is present exactly when its capability is claimed. */
static int check_op(const struct power_driver *d, unsigned cap, bool have,
		    const char *op)
{
	bool claimed = d->caps & cap;

	if (claimed && !have)
		return lab_err(LAB_EINVAL,
			       "power driver %s claims %s but has no %s op",
			       d->name, op, op);
	if (!claimed && have)
		return lab_err(LAB_EINVAL,
			       "power driver %s has a %s op but does not claim it",
			       d->name, op);
	return 0;
}

int power_drivers_selftest(void)
{
	int i, j, ret;

	for (i = 0; power_drivers[i]; i++) {
		const struct power_driver *d = power_drivers[i];

		if (!d->name || !*d->name)
			return lab_err(LAB_EINVAL, "power driver #%d has no name", i);
		if (!d->description || !*d->description)
			return lab_err(LAB_EINVAL,
				       "power driver %s has no description", d->name);
		if (!d->open || !d->close)
			return lab_err(LAB_EINVAL,
				       "power driver %s has no open or close", d->name);
		for (j = 0; j < i; j++)
			if (!strcmp(power_drivers[j]->name, d->name))
				return lab_err(LAB_EINVAL,
					       "power driver %s is in the table twice",
					       d->name);
		ret = lab_keys_selftest("power", d->name, d->lab_keys, d->keys);
		if (ret)
			return ret;
		if ((ret = check_op(d, POWER_CAP_ON, d->on, "on")) ||
		    (ret = check_op(d, POWER_CAP_OFF, d->off, "off")) ||
		    (ret = check_op(d, POWER_CAP_CYCLE, d->cycle, "cycle")) ||
		    (ret = check_op(d, POWER_CAP_RESET, d->reset, "reset")) ||
		    (ret = check_op(d, POWER_CAP_STATUS, d->status, "status")) ||
		    (ret = check_op(d, POWER_CAP_PRESS, d->press, "press")) ||
		    (ret = check_op(d, POWER_CAP_EVENTS,
				    d->event_fd && d->dispatch, "event_fd/dispatch")))
			return ret;
		if ((d->caps & POWER_CAP_EVENTS) == 0 && (d->event_fd || d->dispatch))
			return lab_err(LAB_EINVAL,
				       "power driver %s has event ops but does not claim events",
				       d->name);
	}
	return 0;
}
