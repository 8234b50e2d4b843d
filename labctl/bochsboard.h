/* SPDX-License-Identifier: MIT */
/*
 * The Bochs board (bochs_board_ops in labctl/boardops.h): a virtual board
 * (labctl/board_virtual.h: state dir, lock, GRUB disk image, deploy and
 * next_entry chain, shared with QEMU's) run by Bochs, because Debian's
 * Bochs emulates VMX (with EPT and unrestricted guest), so the real XMHF64
 * and LHV run where QEMU TCG cannot.
 *
 * bochs_board_command() writes STATE/bochsrc and STATE/bochs.rc (the
 * debugger's "c", so the simulation starts at once), makes the console
 * FIFO STATE/console.fifo and fills vb->argv with
 *   bochs-bin -q -f STATE/bochsrc -rc STATE/bochs.rc
 * for the bochs power driver (power/bochs.c) to run under a
 * pseudo-terminal.
 *
 * The console: com1 in mode=file on the FIFO, read by the bochs console
 * driver (serial-capture/bochs.c).  Chosen over Bochs' TCP modes because
 * it loses nothing and needs no port: labctl opens the FIFO's read end
 * before power-on, Bochs' open of the write end completes only with a
 * reader there, and a byte Bochs writes waits in the pipe until read (a
 * full pipe stalls Bochs, the guest slows, nothing is dropped); Bochs
 * writes com1 through stdio flushed per byte (measured: lines arrive
 * tens of ms apart, as printed).  socket-server needs a free port picked
 * before Bochs starts (a race between boards), socket-client makes Bochs
 * fail when nobody listens yet.
 *
 * $LABCTL_BOCHS overrides the program (default bochs-bin).  The board
 * type's own defaults (bochs_board_ops.defaults): memory 1024M, cpu
 * corei7_sandy_bridge_2600k, and watch timeouts sized for minutes.
 */
#ifndef BOCHSBOARD_H
#define BOCHSBOARD_H

#include "labctl/board_virtual.h"
#include "labctl/labconf.h"
#include "lib/strbuf.h"

/*
 * For an opened board (vboard_open): check Bochs and the lab's CPU
 * model, write the bochsrc, make the console FIFO and fill vb->argv.
 * Bochs missing is -LAB_EINFRA, an unknown cpu model -LAB_ECONFIG.
 */
int bochs_board_command(struct vboard *vb, const struct lab *lab);

/* The bochsrc text for this lab and board (vb->disk, vb->state_dir). */
int bochs_board_rc(const struct vboard *vb, const struct lab *lab,
		   struct strbuf *out);

#endif
