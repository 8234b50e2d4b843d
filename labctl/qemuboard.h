/* SPDX-License-Identifier: MIT */
/*
 * The QEMU virtual board: a private state directory (lock, disk image,
 * sockets, QEMU pid file), deploy into the disk image, the next_entry
 * chain in the image's grubenv, and QEMU's command line from the lab.
 *
 * State dir: $LABCTL_STATE_DIR or /tmp/labctl-<uid>, then
 * "<lab>-<hash of the lab file's absolute path>", short enough for unix
 * socket names.
 */
#ifndef QEMUBOARD_H
#define QEMUBOARD_H

#include <stdbool.h>

#include "hvimage/build.h"
#include "labctl/labconf.h"

struct qemu_board {
	char *state_dir;
	char *disk;		/* state_dir/disk.img */
	char *console_sock;
	int lock_fd;
	char **argv;		/* QEMU command line (owned, NULL-ended) */
	int argc;
};

/* Create/lock the state dir; a board in use by another labctl is -LAB_EBUSY. */
int qemu_board_open(struct qemu_board *b, const struct lab *lab);
void qemu_board_close(struct qemu_board *b);

/*
 * Bring the disk up to date: create it if missing, write grub.cfg for all
 * the lab's variants and the images of `built` variants whose sha256
 * differ from what the disk holds.  Prints one line per copied file at -v.
 */
int qemu_board_deploy(struct qemu_board *b, const struct lab *lab,
		      const struct hv_variant *v, const struct hv_build_result *r,
		      int n, const char *images_dir, int *copied);

/* Set next_entry..next_entry_N in the disk's grubenv (GRUB entry titles). */
int qemu_board_set_chain(struct qemu_board *b, const struct lab *lab,
			 const char *const *entries, int n);

/* Fill b->argv for this lab (without -S/-qmp: the power driver adds them). */
int qemu_board_command(struct qemu_board *b, const struct lab *lab);

#endif
