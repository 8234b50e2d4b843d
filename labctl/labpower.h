/* SPDX-License-Identifier: MIT */
/*
 * A lab's power configuration: the [power] keys that go to the driver,
 * shared by `labctl run` and `labctl power`, and the devices a [power]
 * plan names (power/plan.h).
 *
 *   [power]
 *   driver = ssh                    ; the board's own device: on, off...
 *   plan = ssh, amt:reset, button:long+press
 *   [power amt]                     ; another device, with its own keys
 *   driver = amt
 *   host = ...
 *   [power button]
 *   driver = ftdi-relay
 *   serial = ...
 *   button = yes
 *
 * A plan's DEVICE is a [power NAME] section, or the [power] section's
 * own device, named after its driver ("ssh" above).  cycle and reset go
 * through the plan when there is one; on, off, status and press use the
 * [power] device.
 */
#ifndef LABPOWER_H
#define LABPOWER_H

#include "labctl/labconf.h"
#include "lib/param.h"
#include "power/plan.h"

/*
 * The lab's [power] keys that belong to the driver itself (not driver,
 * plan, off_time, confirm_timeout or cuts), as given in the file, into p
 * (at most max).  The params point into lab: valid while it is.  Returns
 * how many.
 */
int lab_power_params(const struct lab *lab, struct lab_param *p, int max);

/* The [power] driver: the file's, else qemu for a QEMU board, else NULL. */
const char *lab_power_driver(const struct lab *lab);

/* The line of the lab file that set [power] key, or 0. */
int lab_power_key_line(const struct lab *lab, const char *key);

/* The power devices of a lab, for power_plan_new. */
struct lab_power_devices {
	struct power_plan_device *devs;
	int n;
	struct lab_param *params;	/* every device's, one array */
};

/*
 * Every [power NAME] section, then the [power] section's own device
 * (when it has a driver), each with its keys, off_time and whether it
 * cuts AC (cuts = ac; by default a relay, GPIO or HTTP switch that is not
 * wired to the power button).  state_dir goes to every device's config
 * (the gpio holder's pid file).  Strings point into lab.
 */
void lab_power_devices(const struct lab *lab, const char *state_dir,
		       struct lab_power_devices *out);
void lab_power_devices_release(struct lab_power_devices *d);

/* The plan options of a lab: battery, confirm_timeout. */
void lab_power_plan_options(const struct lab *lab,
			    struct power_plan_options *o);

struct cmd_ctx;
struct strbuf;
/*
 * `labctl power` (cmd_power.c) that prints nothing: the outcome line
 * ("power cycle: ok, the board is on") or the error message goes to
 * report, for a caller with its own message style (labctl console's ~p).
 * Returns the exit code.
 */
int cmd_power_report(int argc, char **argv, struct cmd_ctx *ctx,
		     struct strbuf *report);

#endif
