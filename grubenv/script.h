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
	const char *boot_sector;/* the guest's boot sector; NULL: the opts' */
};

struct grub_script_opts {
	int max_stages;		/* N: next_entry .. next_entry_N */
	const char *root;	/* "(hd0,msdos5)", or NULL: search by file */
	const char *boot_sector;/* guest boot sector, default "(hd0)+1" */
	bool os_disk;		/* a virtual board's second disk boots its OS */
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
 * A virtual board with an OS disk ([board] os_disk, BIOS disk GRUB_OS_DISK):
 * entry 0, the board's default as on a laptop, chainloads that disk's boot
 * sector when no chain is left (power on, or a chain of max_stages).
 */
#define GRUB_OS_DISK "(hd1)"
#define GRUB_OS_ENTRY "labctl-os"

/*
 * With an OS disk, each variant also has an entry "<its title>+os" whose
 * guest is the OS disk's boot sector (GRUB_OS_BOOT_SECTOR, BIOS drive
 * GRUB_OS_BOOT_DRIVE): the last stage of a chain ending in `default`
 * boots the OS itself, as XMHF boots a laptop's disk, with no GRUB
 * chainloader in between.
 */
#define GRUB_OS_STAGE_SUFFIX "+os"
#define GRUB_OS_BOOT_SECTOR GRUB_OS_DISK "+1"
#define GRUB_OS_BOOT_DRIVE "0x81"

/*
 * A complete grub.cfg for a virtual board: serial terminal, load_env,
 * next_entry consumed and shifted exactly as on a real board, the entries
 * (GRUB_OS_ENTRY first with o->os_disk) and GRUB_STOP_ENTRY, no menu delay;
 * serial_speed for GRUB's own output.
 */
void grub_cfg_standalone(struct strbuf *out, const struct grub_entry *e, int n,
			 const struct grub_script_opts *o, int serial_speed);

#endif
