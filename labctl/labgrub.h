/* SPDX-License-Identifier: MIT */
/* From a lab's variants to GRUB menu entries (grubenv/script.h). */
#ifndef LABGRUB_H
#define LABGRUB_H

#include <stdbool.h>

#include "grubenv/script.h"
#include "labctl/labconf.h"

struct lab_grub {
	struct grub_entry *entries;	/* per variant, in file order */
	int n;
	struct grub_script_opts opts;
	char **strings;			/* owned: what entries point to */
	int nstrings;
};

/*
 * Fill g from the lab; release with lab_grub_release().  With an OS disk
 * ([board] os_disk) each variant's entry is followed by its "+os" entry
 * (lab_variant_os_entry).
 */
void lab_grub_init(struct lab_grub *g, const struct lab *lab);
void lab_grub_release(struct lab_grub *g);

/* The variant's entry whose guest is the OS disk: "<its entry>+os". */
const char *lab_variant_os_entry(const struct lab *lab,
				 const struct lab_variant *v,
				 struct strbuf *tmp);

enum lab_grub_part { PART_ALL, PART_CHAIN, PART_ENTRIES, PART_CFG };
/*
 * One part as text: chain and entries as /etc/grub.d scripts (or, raw,
 * their GRUB script), cfg as a whole grub.cfg.
 */
void lab_grub_render(const struct lab *lab, enum lab_grub_part part, bool raw,
		     struct strbuf *out);

#endif
