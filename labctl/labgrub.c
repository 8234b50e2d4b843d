// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>

#include "labctl/labgrub.h"
#include "lib/xmalloc.h"

static const char *keep(struct lab_grub *g, char *s)
{
	g->strings = xrealloc(g->strings, (g->nstrings + 1) * sizeof(*g->strings));
	g->strings[g->nstrings++] = s;
	return s;
}

/* One variant's entry; os: its guest is the OS disk, not the board's. */
static void add_entry(struct lab_grub *g, const struct lab *lab,
		      const struct lab_variant *v, bool os)
{
	const char *dir = lab->deploy.dir;
	const char *gcmd = lab->grub.cmdline;
	const char *vcmd = lab_variant_get(v, "cmdline");
	const char *vsinit = lab_variant_get(v, "sinit");
	struct grub_entry *e = &g->entries[g->n++];
	struct strbuf tmp = STRBUF_INIT;

	e->title = keep(g, xstrdup(os ? lab_variant_os_entry(lab, v, &tmp) :
				   lab_variant_entry(lab, v, &tmp)));
	strbuf_release(&tmp);
	e->kernel = keep(g, xasprintf("%s/%s/init.bin", dir, v->name));
	e->module = keep(g, xasprintf("%s/%s/hypervisor.bin.gz", dir, v->name));
	e->args = keep(g, xasprintf("serial=%s boot_drive=%s%s%s%s%s",
				    lab->grub.serial,
				    os ? GRUB_OS_BOOT_DRIVE : lab->grub.boot_drive,
				    gcmd ? " " : "", gcmd ? gcmd : "",
				    vcmd ? " " : "", vcmd ? vcmd : ""));
	e->sinit = vsinit ? vsinit : lab->grub.sinit;
	e->boot_sector = os ? GRUB_OS_BOOT_SECTOR : NULL;
}

void lab_grub_init(struct lab_grub *g, const struct lab *lab)
{
	bool os_disk = lab->board.os_disk != NULL;
	int i;

	memset(g, 0, sizeof(*g));
	g->opts.max_stages = lab->grub.max_stages;
	g->opts.root = lab->grub.root;
	g->opts.os_disk = os_disk;
	g->entries = xcalloc((size_t)lab->nvariants * 2 + 1, sizeof(*g->entries));
	for (i = 0; i < lab->nvariants; i++) {
		add_entry(g, lab, &lab->variants[i], false);
		if (os_disk)
			add_entry(g, lab, &lab->variants[i], true);
	}
}

const char *lab_variant_os_entry(const struct lab *lab,
				 const struct lab_variant *v,
				 struct strbuf *tmp)
{
	struct strbuf name = STRBUF_INIT;
	/* In name, or the variant's own entry key. */
	const char *entry = lab_variant_entry(lab, v, &name);

	strbuf_reset(tmp);
	strbuf_addf(tmp, "%s" GRUB_OS_STAGE_SUFFIX, entry);
	strbuf_release(&name);
	return strbuf_str(tmp);
}

void lab_grub_release(struct lab_grub *g)
{
	int i;

	for (i = 0; i < g->nstrings; i++)
		free(g->strings[i]);
	free(g->strings);
	free(g->entries);
	memset(g, 0, sizeof(*g));
}


void lab_grub_render(const struct lab *lab, enum lab_grub_part part, bool raw,
		   struct strbuf *out)
{
	struct lab_grub g;
	struct strbuf text = STRBUF_INIT;

	lab_grub_init(&g, lab);
	switch (part) {
	case PART_CHAIN:
		grub_script_chain_shift(&text, g.opts.max_stages);
		break;
	case PART_ENTRIES:
		grub_script_entries(&text, g.entries, g.n, &g.opts);
		break;
	case PART_CFG:
		grub_cfg_standalone(&text, g.entries, g.n, &g.opts, 115200);
		raw = true;	/* grub.cfg is GRUB script already */
		break;
	case PART_ALL:
		break;
	}
	if (raw)
		strbuf_addstr(out, strbuf_str(&text));
	else if (part == PART_CHAIN)
		grub_dropin_wrap(out, "next_entry chain shift (see labctl(1), `grub script`)",
				 strbuf_str(&text));
	else
		grub_dropin_wrap(out, "hypervisor menu entries from the lab's variants",
				 strbuf_str(&text));
	strbuf_release(&text);
	lab_grub_release(&g);
}
