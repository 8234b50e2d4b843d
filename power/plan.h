/* SPDX-License-Identifier: MIT */
/*
 * Escalation plans: a laptop is rebooted by trying one way after another
 * (a soft reboot over ssh, then AMT, then a relay on the power button)
 * until one of them is confirmed to have taken the board down and back up.
 *
 * A plan is a comma-separated list of steps, `DEVICE[:ACTION[+ACTION]...]`,
 * e.g. "ssh, amt:reset, button:long+press".  DEVICE names one of the
 * devices the caller gives (a lab's [power NAME] sections and its [power]
 * section, named after its driver); ACTION is on, off, cycle, reset, press
 * or long (a long press), and defaults to the plan's verb (cycle or reset).
 * "long+press" is a long press (forced off) and then a short one (on).
 *
 * A step is confirmed by, in this order:
 *   - the caller's confirmation (struct power_plan_confirm), when given:
 *     e.g. the console went silent and then printed again;
 *   - else the device's own power status (AMT, IPMI, a relay that is the
 *     board's supply), polled until the board is off after an off or a
 *     long press and on at the end; a cycle or reset the driver did is
 *     taken as the down part;
 *   - else nothing: the step counts as done, "unconfirmed".
 * On a battery board (battery = yes) a device that cuts AC (the mains or
 * the charger: cuts_ac) never confirms anything by itself: its status only
 * says the supply is off, and the battery keeps the board running.  Such a
 * step is still run, but only the caller's confirmation can make it count.
 * A device wired to the power button (button = yes) has no power state.
 *
 * Every attempt is reported through the options' event callback as
 * ("plan", "step N/M DEV:ACTIONS: ...") lines, so a run's results get them
 * with their times, and kept in the plan (power_plan_attempts) for --json.
 */
#ifndef POWER_PLAN_H
#define POWER_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "power/power.h"

struct strbuf;

#define POWER_PLAN_MAX_STEPS 8
#define POWER_PLAN_MAX_ACTIONS 4

/* A device a plan step may name. */
struct power_plan_device {
	const char *name;
	/* As for power_open.  A driver this labctl does not have (a build
	 * without it, or one not written yet) makes the device unavailable:
	 * its steps fail without stopping the plan. */
	struct power_config cfg;
	bool cuts_ac;		/* it switches the board's mains or charger */
};

enum power_plan_phase {
	POWER_PLAN_ARM,		/* before a step's first action; must not block */
	POWER_PLAN_DOWN,	/* has the board been down since ARM? */
	POWER_PLAN_UP,		/* ... and up again after that? */
};

/*
 * The caller's evidence that the board went down and came back (console
 * silence then output, ssh gone then back...).  wait() for DOWN and UP
 * waits up to timeout_ms and returns 0 (seen), -LAB_ETIMEDOUT (not seen in
 * time; message recorded) or another -LAB_E*.
 */
struct power_plan_confirm {
	const char *what;	/* "console silence then output" */
	int (*wait)(void *arg, enum power_plan_phase phase, int64_t timeout_ms);
	void *arg;
};

struct power_plan_options {
	const char *verb;		/* "cycle" (default) or "reset" */
	bool battery;			/* the board has a battery */
	int64_t confirm_timeout_ms;	/* down, and up, each; 0: 120 s */
	int64_t poll_ms;		/* status poll interval; 0: 1 s */
	const struct power_plan_confirm *confirm;	/* may be NULL */
	/* Plan events ("plan", ...) and the devices' own ones (their detail
	 * prefixed with "DEVICE: "). */
	void (*event)(void *arg, const char *name, const char *detail);
	void *event_arg;
};

struct power_plan_attempt {
	int step;			/* 1-based */
	const char *what;		/* "amt:reset" */
	int64_t start_wall_ns;
	int64_t duration_ms;
	int ret;			/* 0 or -LAB_E* */
	char *result;			/* "ok (confirmed by ...)" or the error */
};

struct power_plan;

/*
 * Parse spec and open the devices its steps name (opening changes
 * nothing).  -LAB_ECONFIG for a bad spec (an unknown device or action, an
 * empty step) or a device whose configuration its driver refuses; the
 * message names the step.  devs (and their configs) may go away after.
 */
int power_plan_new(struct power_plan **out, const char *spec,
		   const struct power_plan_device *devs, int ndevs,
		   const struct power_plan_options *opts);
void power_plan_free(struct power_plan *plan);

/* --dry-run: every step, what each device would do, how it is confirmed. */
int power_plan_describe(struct power_plan *plan, struct strbuf *out);

/*
 * Try the steps in order until one is confirmed.  0 (power_plan_worked
 * says which), or -LAB_EINFRA with every step's failure in the message.
 */
int power_plan_run(struct power_plan *plan);

/* The step that worked (1-based), 0 when none (yet). */
int power_plan_worked(const struct power_plan *plan);
int power_plan_nsteps(const struct power_plan *plan);
const struct power_plan_attempt *power_plan_attempts(const struct power_plan *plan,
						     int *n);

/*
 * Keys shared by the switch drivers (ftdi-relay, gpio): a boolean and a
 * duration, with a default; -LAB_ECONFIG naming the driver and the key.
 */
int power_param_bool(struct power_dev *dev, const char *key, bool def,
		     bool *out);
int power_param_ms(struct power_dev *dev, const char *key, int64_t def,
		   int64_t *out);

#endif
