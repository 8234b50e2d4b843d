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
#include "lib/strbuf.h"
#include "power/plan.h"
#include "power/power.h"

/*
 * The lab's [power] keys that belong to the driver itself (not driver,
 * plan, off_time, confirm_timeout or cuts), as given in the file, into p
 * (at most max).  The params point into lab: valid while it is.  Returns
 * how many.
 */
int lab_power_params(const struct lab *lab, struct lab_param *p, int max);

/* At most this many driver keys of one device. */
#define LAB_MAX_POWER_PARAMS 32

/* The [power] driver: the file's, else the board type's own (qemu for a
 * QEMU board), else NULL. */
const char *lab_power_driver(const struct lab *lab);

/* Where the devices keep state across labctl processes (the gpio
 * holder); malloc'd. */
char *lab_power_state_dir(const struct lab *lab);

struct board_power_opts;
struct power_dev;
/*
 * Open the lab's [power] device (its driver and keys, the state dir,
 * po->off_time_ms) into *out, events to event.  No [power] driver: 0 and
 * *out NULL.
 */
int lab_power_open_lab_device(const struct lab *lab,
			      const struct board_power_opts *po,
			      void (*event)(void *, const char *, const char *),
			      void *event_arg, struct power_dev **out);

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

struct board;
/* What one power action did (lab_power_act). */
struct lab_power_result {
	const char *driver;	/* the [power] driver */
	const char *spec;	/* the plan it went through, or NULL */
	struct power_plan *plan;	/* its steps and attempts; owned */
	enum power_state state;	/* the board's, after the action */
	struct strbuf desc;	/* --dry-run: what it would do */
	bool open_failed;	/* the device did not open (its configuration) */
};

/*
 * One action ("on", "off", "cycle", "reset", "status", "press") on an
 * open board's power (labctl power, console's ~p): cycle and reset go
 * through the lab's [power] plan when it has one, the rest through its
 * power device (lab_board_power, attached to a board another verb
 * runs).  dry_run: r->desc says what it would do, nothing is done.
 * Prints nothing.  Release r whatever it returns.
 */
int lab_power_act(struct board *b, const char *action, bool long_press,
		  bool dry_run, struct lab_power_result *r);
void lab_power_result_release(struct lab_power_result *r);
/* The plan stops at the step that works: its last attempt's "what". */
const char *lab_power_last_attempt(const struct power_plan *plan);

#endif
