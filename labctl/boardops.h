/* SPDX-License-Identifier: MIT */
/*
 * The board interface: what a verb or the run engine does with a lab's
 * board, behind one ops struct per board type (libsigrok's driver table
 * idea, as power/ and serial-capture/ do it).
 *
 *   board_types[]    the explicit table (boardops.c); board_ops_of() picks
 *                    a lab's entry by board.type, the only place the type
 *                    is compared as a string
 *   qemu_board_ops   a virtual board run by QEMU (labctl/qemuboard.c)
 *   bochs_board_ops  a virtual board run by Bochs (labctl/bochsboard.c)
 *   pc_board_ops, laptop_board_ops
 *                    a real board reached over ssh (labctl/board.c)
 *
 * A virtual board (labctl/board_virtual.h) shares its state directory,
 * GRUB disk image, deploy and next_entry chain code: an emulator supplies
 * only its command line, power and console.  A new virtual board type is
 * one file with its ops (see qemuboard.c), one line in board_types[] and
 * its type in the schema's board.type values.
 *
 * The order a run uses: lab_board_open (the lease, then the type's open:
 * a virtual board's state, a real board's ssh; a real board that does not
 * answer is recovered by a power cycle), lab_board_deploy,
 * lab_board_set_chain, lab_board_prepare (a virtual board's emulator
 * starts, paused), lab_board_console (open before power-on, so nothing
 * is lost), lab_board_boot, and after the verdict lab_board_stop (a
 * virtual board off unless kept on) and lab_board_close.  Verbs of their
 * own open the power device (lab_board_power) or the console
 * (lab_board_console) of a board another verb may be running.
 */
#ifndef LABCTL_BOARDOPS_H
#define LABCTL_BOARDOPS_H

#include <stdbool.h>
#include <stdint.h>

#include "hvimage/build.h"
#include "labctl/board.h"
#include "labctl/labconf.h"

struct board;
struct console;
struct power_dev;

/* What the board tells its user while it works (the run's record). */
struct board_hooks {
	/* Power actions and device events (power_config.event), and the
	 * board's own steps: "SSH" (it did not answer), "SOFT_REBOOT". */
	void (*event)(void *arg, const char *name, const char *detail);
	/* The console went away or came back (console_config.on_link). */
	void (*on_link)(void *arg, bool up, const char *reason);
	void *arg;
};

/* How the power device is opened. */
struct board_power_opts {
	/* A verb of its own (labctl power): use the board that runs, and
	 * leave it running; a run starts its own and ends it. */
	bool attach;
	int64_t off_time_ms;	/* cycle fallback; 0: the driver's */
};

/* How the console is opened. */
struct board_console_opts {
	bool attach;		/* labctl console: the board another verb runs */
};

/* A board type's default for a lab key, over the schema's. */
struct board_default {
	const char *section, *key, *value;
};

struct board_ops {
	const char *type;	/* board.type */
	const char *title;	/* for messages: "QEMU", "real" */
	bool is_virtual;	/* runs on this machine: no ssh, a local lease */
	bool raw_disks;		/* its emulator reads raw disk images only */
	/* The power and console drivers the type brings; NULL: the lab's. */
	const char *power_driver;
	const char *console_driver;
	/* Its own defaults (lab_get, `labctl show`), key == NULL ends; NULL:
	 * the schema's. */
	const struct board_default *defaults;
	/* After the lease: a virtual board's state (locked), a real
	 * board's ssh session (not for lab_board_attach). */
	int (*open)(struct board *b);
	/* open failed with err: get the board back (power-cycle it);
	 * NULL: nothing to try. */
	int (*recover)(struct board *b, int err);
	/* Copy the built images to the board; *st says what was copied. */
	int (*deploy)(struct board *b, const struct hv_variant *hv,
		      const struct hv_build_result *built, int n,
		      const char *images_dir, bool progress,
		      struct board_deploy_stats *st);
	/* next_entry .. next_entry_N (GRUB entry titles); n == 0 clears. */
	int (*set_chain)(struct board *b, const char *const *entries, int n);
	/* Open the board's power device into *out (NULL: the lab has none). */
	int (*power)(struct board *b, const struct board_power_opts *po,
		     struct power_dev **out);
	/* Open the board's console into *out. */
	int (*open_console)(struct board *b, const struct board_console_opts *co,
			    struct console **out);
	/* A run, before its console opens: a virtual board starts its
	 * emulator, paused, so the console gets its first byte; NULL:
	 * nothing to do. */
	int (*prepare)(struct board *b);
	/* Start the boot of the chain (the console is open). */
	int (*boot)(struct board *b);
	/* After the verdict: a virtual board off unless kept; NULL: nothing. */
	void (*stop)(struct board *b);
	/* Free what open set up (also after a failed open). */
	void (*close)(struct board *b);
};

/* One open board. */
struct board {
	const struct board_ops *ops;
	const struct lab *lab;
	struct board_session bs;	/* the lease; a real board's ssh */
	struct board_hooks hooks;
	struct power_dev *power;	/* lab_board_power's; closed by close */
	bool keep_on;	/* a run's board outlives labctl (--keep-on) */
	bool attach;	/* lab_board_attach: power and console only */
	void *priv;	/* the type's own state */
};

extern const struct board_ops qemu_board_ops;
extern const struct board_ops bochs_board_ops;
extern const struct board_ops pc_board_ops, laptop_board_ops;

/* The table, NULL-terminated. */
extern const struct board_ops *const board_types[];
/* The entry of a type name, or NULL. */
const struct board_ops *board_ops_find(const char *type);
/* The lab's board type (board.type, default qemu); NULL when unknown. */
const struct board_ops *board_ops_of(const struct lab *lab);
/* Every entry has a unique type, a title and the ops every board needs
 * (open, deploy, set_chain, power, open_console, boot, close).  0 or
 * -LAB_EINVAL naming what is missing. */
int board_types_selftest(void);

/*
 * Take the lease (lo != NULL) and open the lab's board.  A real board
 * that does not answer while its lease is held is recovered (power
 * cycle, wait for ssh).  hooks may be NULL.  Call lab_board_close
 * whatever it returns.  -LAB_ECONFIG for a type the table does not have.
 */
int lab_board_open(struct board *b, const struct lab *lab,
		   const struct lease_take_opts *lo,
		   const struct board_hooks *hooks);
/*
 * The same for a verb that only works the board's power or console
 * (labctl power, labctl console): a real board's ssh is not opened (it
 * may well be off), and nothing is recovered.
 */
int lab_board_attach(struct board *b, const struct lab *lab,
		     const struct lease_take_opts *lo,
		     const struct board_hooks *hooks);
void lab_board_close(struct board *b);

int lab_board_deploy(struct board *b, const struct hv_variant *hv,
		     const struct hv_build_result *built, int n,
		     const char *images_dir, bool progress,
		     struct board_deploy_stats *st);
int lab_board_set_chain(struct board *b, const char *const *entries, int n);
/* Open the power device into b->power (once); *out (may be NULL) gets it. */
int lab_board_power(struct board *b, const struct board_power_opts *po,
		    struct power_dev **out);
int lab_board_console(struct board *b, const struct board_console_opts *co,
		      struct console **out);
int lab_board_prepare(struct board *b);
int lab_board_boot(struct board *b);
/* The run is over: a virtual board off (unless b->keep_on). */
void lab_board_stop(struct board *b);

/* Report a board step through the hooks. */
void lab_board_event(struct board *b, const char *name, const char *detail);

#endif
