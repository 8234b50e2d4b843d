/* SPDX-License-Identifier: MIT */
/*
 * next_entry chains: which GRUB menu entry each nested GRUB run boots.
 *
 * A nested boot (XMHF booting the disk's boot sector as its guest) runs
 * GRUB once per level within one power cycle.  Debian's 00_header boots
 * `next_entry` once; a drop-in then shifts
 *     next_entry <- next_entry_2 <- ... <- next_entry_N,  next_entry_N <- ""
 * and save_env's them, so stage k of a chain is stored in slot k:
 * `next_entry` for stage 1, `next_entry_K` for stage K >= 2.  An empty slot
 * boots GRUB's configured default at that stage; "0" (what "default" is
 * stored as) is GRUB's first menu entry.
 *
 * Slot values are read as GRUB's load_env reads them (the last record of
 * a name).  All functions work on an envblk in memory; a failing call
 * leaves it unchanged.  Strings passed in are only read; chain_get() hands
 * the caller an array to free with chain_free().
 */
#ifndef GRUBENV_CHAIN_H
#define GRUBENV_CHAIN_H

#include <stddef.h>

#include "grubenv/envblk.h"

/* What the usual drop-in shifts: next_entry_2 .. next_entry_9. */
#define CHAIN_DEFAULT_MAX_STAGES 9
/* The largest --max-stages accepted. */
#define CHAIN_STAGES_LIMIT 99

/*
 * Check that GRUB could match entry as a menu entry title, id or number:
 * not empty, no newline or carriage return.  Returns 0 or -LAB_EINVAL
 * with a message quoting the entry.
 */
int chain_validate_entry(const char *entry);

/* The value stored for entry: "0" for "default", else entry itself. */
const char *chain_entry_value(const char *entry);

/*
 * Name of the variable for stage k (1-based): "next_entry" for 1,
 * "next_entry_<k>" above.  buf needs 24 bytes.
 */
void chain_slot_name(unsigned int k, char *buf, size_t size);

/*
 * Set a chain of n >= 1 entries: slot k gets entries[k-1] (validated and
 * mapped by chain_entry_value()), every next_entry_K with K > n in the
 * block is removed first, and duplicate records of the slots are dropped
 * so GRUB reads what was written.  n > max_stages is -LAB_EINVAL; a chain
 * that does not fit is -LAB_ENOSPC; -LAB_EFORMAT when the block is broken
 * or GRUB would not read back exactly this chain.  On any error blk is
 * unchanged.
 */
int chain_set(struct envblk *blk, const char *const *entries, size_t n,
	      unsigned int max_stages);

/*
 * The chain stored in blk: the values of slots 1..L, where L is the last
 * non-empty slot among next_entry and next_entry_2..next_entry_99 (an
 * empty or missing slot before it is returned as "").  *n is 0 when no
 * chain is set.  Returns 0.
 */
int chain_get(const struct envblk *blk, char ***entries, size_t *n);
void chain_free(char **entries, size_t n);

/*
 * Remove next_entry and every next_entry_K.  Returns 0, or -LAB_EFORMAT
 * (blk unchanged) when GRUB would still read a stage afterwards.
 */
int chain_clear(struct envblk *blk);

#endif
