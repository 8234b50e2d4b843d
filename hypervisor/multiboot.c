/* The multiboot command line, memory map and modules. */
#include "multiboot.h"

static int key_is(const char *tok, const char *key, const char **val)
{
	size_t n = strlen(key);

	if (strncmp(tok, key, n) || tok[n] != '=')
		return 0;
	*val = tok + n + 1;
	return 1;
}

/* "8n1": data bits, parity (n, o, e), stop bits, as 16550 LCR bits */
static int parse_line_fmt(const char *s, u8 *lcr)
{
	u8 v;

	if (s[0] < '5' || s[0] > '8' || (s[2] != '1' && s[2] != '2'))
		return -1;
	v = s[0] - '5';
	if (s[2] == '2')
		v |= 0x04;
	switch (s[1]) {
	case 'n':
		break;
	case 'o':
		v |= 0x08;
		break;
	case 'e':
		v |= 0x18;
		break;
	default:
		return -1;
	}
	*lcr = v;
	return 0;
}

/* XMHF's form: serial=BAUD,8n1,PORT (each part optional from the right) */
static void parse_serial(const char *v, struct hv_config *c)
{
	const char *end;
	u32 baud = parse_u32(v, &end);

	if (baud)
		c->baud = baud;
	if (*end != ',')
		return;
	v = end + 1;
	if (!parse_line_fmt(v, &c->lcr)) {
		memcpy(c->line_fmt, v, 3);
		c->line_fmt[3] = 0;
	}
	while (*v && *v != ',' && *v != ' ')
		v++;
	if (*v == ',') {
		u32 port = parse_u32(v + 1, NULL);

		if (port && port < 0x10000)
			c->port = port;
	}
}

void cmdline_parse(const char *s, struct hv_config *c)
{
	while (*s) {
		const char *v;

		while (*s == ' ')
			s++;
		if (key_is(s, "serial", &v))
			parse_serial(v, c);
		else if (key_is(s, "boot_drive", &v))
			c->boot_drive = parse_u32(v, NULL);
		else if (key_is(s, "hv_opt", &v)) {
			c->opt = parse_u32(v, NULL);
			c->opt_from_cmdline = 1;
		} else if (key_is(s, "iters", &v))
			c->iters = parse_u32(v, NULL);
		else if (key_is(s, "flood_mib", &v))
			c->flood_mib = parse_u32(v, NULL);
		else if (key_is(s, "slow_ms", &v))
			c->slow_ms = parse_u32(v, NULL);
		else if (key_is(s, "fault_iter", &v))
			c->fault_iter = parse_u32(v, NULL);
		else if (key_is(s, "fault_cpu", &v))
			c->fault_cpu = parse_u32(v, NULL);
		else if (key_is(s, "debug_exit", &v))
			c->debug_exit = parse_u32(v, NULL);
		else if (key_is(s, "crlf", &v))
			c->crlf = parse_u32(v, NULL) != 0;
		/* anything else (the kernel path first) is not ours */
		while (*s && *s != ' ')
			s++;
	}
}

void mb_print_mmap(const struct mb_info *mbi)
{
	uintptr_t p, end;

	if (!(mbi->flags & MB_INFO_MMAP)) {
		if (mbi->flags & MB_INFO_MEMORY)
			hv_printf("mmap: none; lower %u KiB, upper %u KiB\n",
				  mbi->mem_lower, mbi->mem_upper);
		else
			hv_printf("mmap: none\n");
		return;
	}
	p = mbi->mmap_addr;
	end = p + mbi->mmap_length;
	while (p < end) {
		const struct mb_mmap *m = (const void *)p;

		hv_printf("mmap: 0x%016llx-0x%016llx type %u\n",
			  (unsigned long long)m->addr,
			  (unsigned long long)(m->addr + m->len - 1), m->type);
		p += m->size + 4;
	}
}

/* A boot sector: exactly 512 bytes, ending in 0x55 0xaa. */
static int is_boot_sector(const struct mb_module *m)
{
	const u8 *p = (const u8 *)(uintptr_t)m->mod_start;

	return m->mod_end - m->mod_start == 512 && p[510] == 0x55 &&
	       p[511] == 0xaa;
}

/*
 * Print the modules; the payload is the first that is not a boot sector
 * (further ones, e.g. an SINIT module, are ignored), the boot sector the
 * first module that is one.
 */
void mb_find_modules(const struct mb_info *mbi,
		     const struct mb_module **payload,
		     const struct mb_module **bootsect, int print)
{
	const struct mb_module *m;
	u32 i;

	*payload = NULL;
	*bootsect = NULL;
	if (!(mbi->flags & MB_INFO_MODS) || !mbi->mods_count) {
		if (print)
			hv_printf("modules: none\n");
		return;
	}
	m = (const void *)(uintptr_t)mbi->mods_addr;
	for (i = 0; i < mbi->mods_count; i++, m++) {
		int bs = is_boot_sector(m);
		const char *what = "ignored";

		if (bs && !*bootsect) {
			*bootsect = m;
			what = "boot sector";
		} else if (!bs && !*payload) {
			*payload = m;
			what = "payload";
		}
		if (print)
			hv_printf("module %u: 0x%08x-0x%08x %u bytes '%s' (%s)\n",
				  i, m->mod_start, m->mod_end - 1,
				  m->mod_end - m->mod_start, m->string ?
				  (const char *)(uintptr_t)m->string : "", what);
	}
}
