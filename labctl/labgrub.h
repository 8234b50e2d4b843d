/* SPDX-License-Identifier: MIT */
/* From a lab's variants to GRUB menu entries (grubenv/script.h). */
#ifndef LABGRUB_H
#define LABGRUB_H

#include <stdbool.h>

#include "grubenv/script.h"
#include "labctl/labconf.h"

struct lab_grub {
	struct grub_entry *entries;	/* one per variant, in file order */
	int n;
	struct grub_script_opts opts;
	char **strings;			/* owned: what entries point to */
	int nstrings;
};

/* Fill g from the lab; release with lab_grub_release(). */
void lab_grub_init(struct lab_grub *g, const struct lab *lab);
void lab_grub_release(struct lab_grub *g);

enum lab_grub_part { PART_ALL, PART_CHAIN, PART_ENTRIES, PART_CFG };
/*
 * One part as text: chain and entries as /etc/grub.d scripts (or, raw,
 * their GRUB script), cfg as a whole grub.cfg.
 */
void lab_grub_render(const struct lab *lab, enum lab_grub_part part, bool raw,
		     struct strbuf *out);

#endif
