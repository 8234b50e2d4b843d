// SPDX-License-Identifier: MIT
/*
 * The console transport table.  A transport that needs an optional
 * library gets an #ifdef HAVE_X around its entry.
 */
#include <stddef.h>
#include <string.h>

#include "console.h"
#include "lib/err.h"

extern const struct console_driver console_driver_qemu;
extern const struct console_driver console_driver_bochs;
extern const struct console_driver console_driver_tcp;
extern const struct console_driver console_driver_telnet;
extern const struct console_driver console_driver_tty;
extern const struct console_driver console_driver_cmd;
extern const struct console_driver console_driver_ipmi_sol;
extern const struct console_driver console_driver_amt_sol;
extern const struct console_driver console_driver_ssh;

const struct console_driver *const console_drivers[] = {
	&console_driver_qemu,
	&console_driver_tty,
	&console_driver_tcp,
	&console_driver_telnet,
	&console_driver_cmd,
	&console_driver_ipmi_sol,
	&console_driver_amt_sol,
	&console_driver_ssh,
	&console_driver_bochs,
	NULL,
};

int console_drivers_selftest(void)
{
	int i, j, ret;

	for (i = 0; console_drivers[i]; i++) {
		const struct console_driver *d = console_drivers[i];

		if (!d->name || !*d->name)
			return lab_err(LAB_EINVAL, "console driver #%d has no name", i);
		if (!d->description || !*d->description)
			return lab_err(LAB_EINVAL,
				       "console driver %s has no description", d->name);
		if (!d->open || !d->close || !d->read || !d->fd)
			return lab_err(LAB_EINVAL,
				       "console driver %s lacks open, close, read or fd",
				       d->name);
		for (j = 0; j < i; j++)
			if (!strcmp(console_drivers[j]->name, d->name))
				return lab_err(LAB_EINVAL,
					       "console driver %s is in the table twice",
					       d->name);
		ret = lab_keys_selftest("console", d->name, d->lab_keys, d->keys);
		if (ret)
			return ret;
	}
	return 0;
}
