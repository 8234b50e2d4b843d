/* SPDX-License-Identifier: MIT */
/*
 * Power control behind one ops struct (libsigrok's sr_dev_driver idea).
 *
 * One file per driver (power/<name>.c), an explicit table (power/drivers.c)
 * and core wrappers (power_on() ...) that check capabilities and fall back
 * (cycle = off, wait off_time, on) so drivers stay small.  Every action is
 * reported through cfg->event so a run can log it with its time.
 */
#ifndef POWER_H
#define POWER_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/param.h"

struct strbuf;

enum power_state {
	POWER_UNKNOWN = -1,
	POWER_OFF = 0,
	POWER_ON = 1,
};

enum power_cap {
	POWER_CAP_ON = 1u << 0,
	POWER_CAP_OFF = 1u << 1,
	POWER_CAP_CYCLE = 1u << 2,
	POWER_CAP_RESET = 1u << 3,
	POWER_CAP_STATUS = 1u << 4,
	POWER_CAP_PRESS = 1u << 5,
	POWER_CAP_EVENTS = 1u << 6,	/* has event_fd/dispatch (QMP) */
};

/* What a power device is opened with. */
struct power_config {
	const char *driver;
	const struct lab_param *params;	/* the lab's [power] keys */
	int nparams;
	/*
	 * A virtual board's emulator, for the driver that runs it as the
	 * board's power (the board type gives it: labctl/boardops.h):
	 * its command line, NULL-terminated, argv[0] the program.
	 * qemu: the QEMU command line, argv[0] the program
	 * (e.g. "qemu-system-x86_64"), with the board's serial chardev
	 * (socket,server=on,wait=off) but without -S, -pidfile or a QMP
	 * monitor: the driver adds those (its chardev id is "labctl-qmp").
	 * The order for a run: power_open (QEMU starts paused), console_open,
	 * capture_open + capture_mark_t0, power_on (cont).  power_cycle and
	 * power_reset keep the QEMU process (system_reset), so the console
	 * stays connected; power_off ends it, and a later power_on starts a
	 * new one and resumes it at once: to capture that one from its first
	 * byte, power_close + power_open, console_open, then power_on.
	 * See power/qemu.c for its keys and the QMP events QEMU sends.
	 * bochs: the board's Bochs command line (labctl/bochsboard.c), run
	 * as is under a pseudo-terminal (power/bochs.c).
	 */
	const char *const *emulator_argv;
	/* Private directory for sockets and pid files (exists, mode 0700):
	 * an emulator's (qemu), a holder's (gpio). */
	const char *state_dir;
	int64_t off_time_ms;			/* cycle fallback; 0: 5 s */
	/*
	 * Called for every action and every event the device reports.
	 * Actions (from the core wrappers) are lower case, "on", "off",
	 * "cycle", "reset", "press", "status", with detail "ok" or the error
	 * message (status: "on", "off", "unknown").  Device events are
	 * upper case: the QMP event name ("RESET", "SHUTDOWN", "STOP",
	 * "RESUME", "POWERDOWN"...) with data.reason as detail ("" when
	 * none), and "EXIT" when the QEMU process ended ("status 33",
	 * "signal 9", "status unknown" for a QEMU we did not start).
	 * May be NULL.  It may read the console, and even call power_*
	 * functions, but not power_close.
	 */
	void (*event)(void *arg, const char *name, const char *detail);
	void *event_arg;
};

struct power_dev;

struct power_driver {
	const char *name;
	const char *description;
	unsigned caps;
	/* Lab keys this driver takes, NULL-terminated. */
	const char *const *keys;
	/* The keys a lab file's [power] section may set for it: type,
	 * default, help (ends with key == NULL); each is one of keys. */
	const struct lab_key_def *lab_keys;
	int (*open)(struct power_dev *dev, const struct power_config *cfg);
	void (*close)(struct power_dev *dev);
	int (*on)(struct power_dev *dev);
	int (*off)(struct power_dev *dev);
	int (*cycle)(struct power_dev *dev);
	int (*reset)(struct power_dev *dev);
	int (*status)(struct power_dev *dev, enum power_state *state);
	int (*press)(struct power_dev *dev, bool long_press);
	/* POWER_CAP_EVENTS: a fd to poll and a call to read what arrived. */
	int (*event_fd)(struct power_dev *dev);
	int (*dispatch)(struct power_dev *dev);
	/*
	 * Optional (`labctl power --dry-run`): append to out exactly what
	 * the action would do, without doing it or changing anything (no
	 * command run, no file written, no QMP command sent), one step a
	 * line ending in '\n': cmd the argv (sh_quote_argv), dummy the state
	 * file write, qemu the QMP command JSON.  action is one of "on",
	 * "off", "cycle", "reset", "status", "press", "press long"; an
	 * action the driver has no op for is described as the core's
	 * fallback would run it (cycle: off, "wait N ms", on; reset: cycle).
	 * 0, or -LAB_E* (an action the driver or its configuration cannot
	 * do).  Called on an open device; NULL: no --dry-run.
	 */
	int (*describe)(struct power_dev *dev, const char *action,
			struct strbuf *out);
};

struct power_dev {
	const struct power_driver *drv;
	struct power_config cfg;
	void *priv;		/* the driver's state */
};

/* The table, NULL-terminated. */
extern const struct power_driver *const power_drivers[];
const struct power_driver *power_find_driver(const char *name);
/* Every entry has a unique name, a description, open, close and the ops
 * its caps claim (and no op its caps do not).  0 or -LAB_EINVAL. */
int power_drivers_selftest(void);

/*
 * Open/close; *out owned by the caller.  Returns 0 or -LAB_E*: unknown
 * driver or a key it does not take is -LAB_ECONFIG.  cfg is copied (its
 * strings too): the caller's may go away after open.
 */
int power_open(struct power_dev **out, const struct power_config *cfg);
/* May still report events (qemu: SHUTDOWN, EXIT as it quits QEMU). */
void power_close(struct power_dev *dev);

int power_on(struct power_dev *dev);
int power_off(struct power_dev *dev);
int power_cycle(struct power_dev *dev);
int power_reset(struct power_dev *dev);
/* Without POWER_CAP_STATUS: 0 and POWER_UNKNOWN. */
int power_status(struct power_dev *dev, enum power_state *state);
/* A power button: short press, or long (forced off). */
int power_press(struct power_dev *dev, bool long_press);
/*
 * The fd to poll (POLLIN) for device events, then call power_dispatch;
 * -1 when the driver has no events.  It stays the same from open to close
 * (qemu: an epoll fd over the QMP socket of whichever QEMU process runs,
 * never readable while none does, e.g. after EXIT).
 */
int power_event_fd(struct power_dev *dev);
/* Read what arrived on the event fd and report it through cfg.event;
 * never blocks.  0 when the driver has no events. */
int power_dispatch(struct power_dev *dev);

/* Value of a [power] key given to open, or NULL. */
const char *power_param(const struct power_dev *dev, const char *key);
/* Report an action/event through cfg.event. */
void power_emit(struct power_dev *dev, const char *name, const char *detail);

#endif
