/* SPDX-License-Identifier: MIT */
/*
 * A lab's power configuration: the [power] keys that go to the driver,
 * shared by `labctl run` and `labctl power`.
 */
#ifndef LABPOWER_H
#define LABPOWER_H

#include "labctl/labconf.h"
#include "lib/param.h"

/*
 * The lab's [power] keys that belong to the driver itself (not driver,
 * plan or off_time), as given in the file, into p (at most max).  The
 * params point into lab: valid while it is.  Returns how many.
 */
int lab_power_params(const struct lab *lab, struct lab_param *p, int max);

/* The [power] driver: the file's, else qemu for a QEMU board, else NULL. */
const char *lab_power_driver(const struct lab *lab);

/* The line of the lab file that set [power] key, or 0. */
int lab_power_key_line(const struct lab *lab, const char *key);

#endif
