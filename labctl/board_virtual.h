/* SPDX-License-Identifier: MIT */
/*
 * What every virtual board shares, whichever emulator runs it: a private
 * state directory (lock, disk image, sockets, the emulator's pid file),
 * the GRUB disk image that deploy writes the images into, and the
 * next_entry chain in the image's grubenv.  An emulator (QEMU in
 * labctl/qemuboard.c) adds its command line, its power device and its
 * console; its board_ops take open, deploy, set_chain, boot, stop and
 * close from here:
 *
 *   const struct board_ops bochs_board_ops = {
 *           .type = "bochs", .title = "Bochs", .is_virtual = true,
 *           .power_driver = "bochs", .console_driver = ...,
 *           .open = vboard_open_op, .deploy = vboard_deploy_op,
 *           .set_chain = vboard_set_chain_op, .boot = vboard_boot_op,
 *           .stop = vboard_stop_op, .close = vboard_close_op,
 *           .prepare = bochs_prepare, .power = bochs_power,
 *           .open_console = bochs_console,
 *   };
 *
 * State dir: $LABCTL_STATE_DIR or /tmp/labctl-<uid>, then
 * "<lab>-<hash of the lab file's absolute path>", short enough for unix
 * socket names.
 */
#ifndef LABCTL_BOARD_VIRTUAL_H
#define LABCTL_BOARD_VIRTUAL_H

#include <stdbool.h>

#include "hvimage/build.h"
#include "labctl/boardops.h"
#include "labctl/labconf.h"

struct vboard {
	char *state_dir;
	char *disk;		/* state_dir/disk.img */
	char *console_sock;	/* state_dir/console.sock */
	int lock_fd;
	char **argv;		/* the emulator's command line (owned, NULL-ended) */
	int argc;
};

/* Create/lock the state dir; a board in use by another labctl is -LAB_EBUSY. */
int vboard_open(struct vboard *vb, const struct lab *lab);
void vboard_close(struct vboard *vb);

/*
 * Bring the disk up to date: create it if missing, write grub.cfg for all
 * the lab's variants and the images of `built` variants whose sha256
 * differ from what the disk holds.  Prints one line per copied file at -v.
 */
int vboard_deploy(struct vboard *vb, const struct lab *lab,
		  const struct hv_variant *v, const struct hv_build_result *r,
		  int n, const char *images_dir, int *copied);

/* Set next_entry..next_entry_N in the disk's grubenv (GRUB entry titles). */
int vboard_set_chain(struct vboard *vb, const struct lab *lab,
		     const char *const *entries, int n);

/*
 * [board] os_disk: its absolute path in *path (NULL without one; "~/" is
 * $HOME), *qcow2 from its magic.  A missing file, a raw image with no
 * boot sector, or qcow2 for a raw-only type (Bochs) is a lab error naming
 * the key.
 */
int vboard_os_disk(const struct lab *lab, char **path, bool *qcow2);

/*
 * Before a run builds anything: a virtual board's [board] os_disk must be
 * a disk with a boot sector, and a chain ending in the board's OS
 * (ends_in_os, `... default`) needs one there; a real board boots its own.
 */
int vboard_check_os(const struct lab *lab, bool ends_in_os);

/* Append one argument (printf style) to vb->argv. */
void vboard_add_arg(struct vboard *vb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The virtual board of an open board (its priv). */
struct vboard *vboard_of(struct board *b);

/*
 * The emulator's power device for a type's power op: the type's own
 * driver with command(vb, lab) as its command line (made once), or the
 * lab's other driver (fault) when it wraps one.  A verb of its own
 * (po->attach) uses the running emulator and leaves it running, with the
 * type's on_attach params (n of them, "attach=yes" among them); a run
 * with --keep-on leaves it running after labctl.
 */
struct lab_param;
struct board_power_opts;
struct power_dev;
int vboard_power(struct board *b, const struct board_power_opts *po,
		 int (*command)(struct vboard *vb, const struct lab *lab),
		 const struct lab_param *on_attach, int n,
		 struct power_dev **out);

/* The shared ops of every virtual board type. */
int vboard_open_op(struct board *b);
int vboard_deploy_op(struct board *b, const struct hv_variant *hv,
		     const struct hv_build_result *built, int n,
		     const char *images_dir, bool progress,
		     struct board_deploy_stats *st);
int vboard_set_chain_op(struct board *b, const char *const *entries, int n);
/* power_on of the device prepare opened (b->power). */
int vboard_boot_op(struct board *b);
/* power_off of it (the emulator ends). */
void vboard_stop_op(struct board *b);
void vboard_close_op(struct board *b);

#endif
