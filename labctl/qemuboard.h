/* SPDX-License-Identifier: MIT */
/*
 * The QEMU board (qemu_board_ops in labctl/boardops.h): a virtual board
 * (labctl/board_virtual.h) whose emulator is QEMU.
 */
#ifndef QEMUBOARD_H
#define QEMUBOARD_H

#include "labctl/board_virtual.h"
#include "labctl/labconf.h"

/* Fill vb->argv for this lab (without -S/-qmp: the power driver adds
 * them); kvm = yes|auto probes KVM once per host boot. */
int qemu_board_command(struct vboard *vb, const struct lab *lab);

#endif
