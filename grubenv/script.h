/* SPDX-License-Identifier: MIT */
/*
 * GRUB script generation: the next_entry chain shift, menu entries for
 * hypervisor variants, their /etc/grub.d wrappers, and a whole grub.cfg for
 * virtual boards.  One generator for real and virtual boards, so the chain
 * logic tested under QEMU is the one that runs on the laptops.
 */
#ifndef GRUBENV_SCRIPT_H
#define GRUBENV_SCRIPT_H

#include <stdbool.h>

#include "lib/strbuf.h"

struct grub_entry {
	const char *title;	/* menu entry title, e.g. "XMHF-build64" */
	const char *kernel;	/* path of init.bin as GRUB sees it */
	const char *module;	/* path of hypervisor.bin.gz */
	const char *args;	/* multiboot arguments, space separated words */
	const char *sinit;	/* optional SINIT module path, or NULL */
};

struct grub_script_opts {
	int max_stages;		/* N: next_entry .. next_entry_N */
	const char *root;	/* "(hd0,msdos5)", or NULL: search by file */
	const char *boot_sector;/* guest boot sector, default "(hd0)+1" */
};

/* Append word quoted for GRUB's script syntax (single quotes as needed). */
void grub_quote(struct strbuf *out, const char *word);

/* The shift: next_entry <- next_entry_2 <- ... <- next_entry_N, save_env. */
void grub_script_chain_shift(struct strbuf *out, int max_stages);

/* What Debian's 00_header does with next_entry (for a standalone grub.cfg). */
void grub_script_next_entry(struct strbuf *out);

/* menuentry blocks for the entries. */
void grub_script_entries(struct strbuf *out, const struct grub_entry *e,
			 int n, const struct grub_script_opts *o);

/*
 * Wrap GRUB script text as an executable /etc/grub.d script (POSIX sh,
 * a quoted here-document, so nothing in it is expanded by the shell).
 */
void grub_dropin_wrap(struct strbuf *out, const char *what,
		      const char *grub_text);

/*
 * The entry a virtual board's chain ends in: GRUB halts the machine
 * (power off), so nothing unrequested boots after the last stage.
 */
#define GRUB_STOP_ENTRY "labctl-halt"

/*
 * A complete grub.cfg for a virtual board: serial terminal, load_env,
 * next_entry consumed and shifted exactly as on a real board, the entries
 * and GRUB_STOP_ENTRY, no menu delay.  serial_unit/speed for GRUB's own output.
 */
void grub_cfg_standalone(struct strbuf *out, const struct grub_entry *e, int n,
			 const struct grub_script_opts *o, int serial_speed);

#endif
