/* SPDX-License-Identifier: MIT */
/*
 * The Bochs virtual board (board.type = bochs): the QEMU board's state
 * dir, lock, GRUB disk image, deploy and next_entry chain (qemuboard.c,
 * called, not copied), run by Bochs instead of QEMU, because Debian's
 * Bochs emulates VMX (with EPT and unrestricted guest), so the real XMHF64
 * and LHV run where QEMU TCG cannot.
 *
 * bochs_board_command() writes STATE/bochsrc and STATE/bochs.rc (the
 * debugger's "c", so the simulation starts at once), makes the console
 * FIFO STATE/console.fifo (b->console_sock then names it) and fills
 * b->argv with  bochs-bin -q -f STATE/bochsrc -rc STATE/bochs.rc  for the
 * bochs power driver (power/bochs.c) to run under a pseudo-terminal.
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
 * $LABCTL_BOCHS overrides the program (default bochs-bin).
 */
#ifndef BOCHSBOARD_H
#define BOCHSBOARD_H

#include <stdbool.h>

#include "labctl/labconf.h"
#include "labctl/qemuboard.h"

#define BOCHS_DEFAULT_CPU "corei7_sandy_bridge_2600k"
#define BOCHS_DEFAULT_MIB 1024
#define BOCHS_DEFAULT_IPS 200000000

/* board.type = bochs */
bool bochs_board_is(const struct lab *lab);

/*
 * For an opened board (qemu_board_open): check Bochs and the lab's CPU
 * model, write the bochsrc, make the console FIFO and fill b->argv.
 * Bochs missing is -LAB_EINFRA, an unknown cpu model -LAB_ECONFIG.
 */
int bochs_board_command(struct qemu_board *b, const struct lab *lab);

/* The bochsrc text for this lab and board (b->disk, b->state_dir). */
int bochs_board_rc(const struct qemu_board *b, const struct lab *lab,
		   struct strbuf *out);

/*
 * Watch timeouts sized for Bochs (minutes, not seconds): [watch]
 * stage_timeout, timeout and silence_timeout when the lab file does not
 * set them; def (the value labctl has) when it does, or on other boards.
 */
int64_t bochs_board_timeout(const struct lab *lab, const char *key, int64_t def);

#endif
