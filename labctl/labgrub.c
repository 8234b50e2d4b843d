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

void lab_grub_init(struct lab_grub *g, const struct lab *lab)
{
	const char *dir = lab->deploy.dir;
	const char *gsinit = lab->grub.sinit;
	const char *gcmd = lab->grub.cmdline;
	int i;

	memset(g, 0, sizeof(*g));
	g->opts.max_stages = lab->grub.max_stages;
	g->opts.root = lab->grub.root;
	g->n = lab->nvariants;
	g->entries = xcalloc((size_t)g->n + 1, sizeof(*g->entries));
	for (i = 0; i < lab->nvariants; i++) {
		const struct lab_variant *v = &lab->variants[i];
		const char *vcmd = lab_variant_get(v, "cmdline");
		const char *vsinit = lab_variant_get(v, "sinit");
		struct strbuf tmp = STRBUF_INIT;

		g->entries[i].title = keep(g, xstrdup(lab_variant_entry(lab, v, &tmp)));
		strbuf_release(&tmp);
		g->entries[i].kernel = keep(g, xasprintf("%s/%s/init.bin", dir, v->name));
		g->entries[i].module = keep(g, xasprintf("%s/%s/hypervisor.bin.gz",
							 dir, v->name));
		g->entries[i].args = keep(g, xasprintf("serial=%s boot_drive=%s%s%s%s%s",
						       lab->grub.serial,
						       lab->grub.boot_drive,
						       gcmd ? " " : "", gcmd ? gcmd : "",
						       vcmd ? " " : "", vcmd ? vcmd : ""));
		g->entries[i].sinit = vsinit ? vsinit : gsinit;
	}
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
