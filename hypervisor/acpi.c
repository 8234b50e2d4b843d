/*
 * Just enough ACPI: the MADT for the CPU count, the FADT and \_S5 for
 * power-off. Tables are read in place (identity-mapped on amd64).
 */
#include "arch.h"

static u32 get32(const u8 *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (u32)p[3] << 24;
}

static int checksum_ok(const u8 *p, u32 n)
{
	u8 sum = 0;

	while (n--)
		sum += *p++;
	return sum == 0;
}

static const u8 *find_rsdp_in(uintptr_t start, uintptr_t len)
{
	uintptr_t a;

	for (a = start; a + 20 <= start + len; a += 16)
		if (!memcmp((const void *)a, "RSD PTR ", 8) &&
		    checksum_ok((const u8 *)a, 20))
			return (const u8 *)a;
	return NULL;
}

static const u8 *find_rsdp(void)
{
	uintptr_t ebda = (uintptr_t)*(volatile u16 *)0x40e << 4;
	const u8 *r = NULL;

	if (ebda >= 0x80000 && ebda < 0xa0000)
		r = find_rsdp_in(ebda, 1024);
	return r ? r : find_rsdp_in(0xe0000, 0x20000);
}

static void parse_madt(const u8 *t, struct acpi_info *a)
{
	u32 len = get32(t + 4), off = 44;

	while (off + 2 <= len) {
		u8 type = t[off], elen = t[off + 1];

		if (elen < 2)
			break;
		/* type 0: processor local APIC; flags bit 0: enabled */
		if (type == 0 && elen >= 8 && (get32(t + off + 4) & 1))
			a->ncpus++;
		off += elen;
	}
}

/* \_S5: NameOp "_S5_" PackageOp PkgLength NumElements SLP_TYPa ... */
static void parse_s5(const u8 *dsdt, struct acpi_info *a)
{
	u32 len = get32(dsdt + 4), i;

	for (i = 36; i + 8 < len; i++) {
		const u8 *p = dsdt + i;

		if (memcmp(p, "_S5_", 4) || (p[-1] != 0x08 &&
		    !(p[-1] == '\\' && p[-2] == 0x08)) || p[4] != 0x12)
			continue;
		p += 5;
		p += 1 + (*p >> 6);	/* PkgLength: 1 to 4 bytes */
		p++;			/* NumElements */
		if (*p == 0x0a) {		/* BytePrefix */
			a->slp_typa = p[1];
			return;
		}
		if (*p == 0x00 || *p == 0x01) {	/* ZeroOp, OneOp */
			a->slp_typa = *p;
			return;
		}
	}
}

static void parse_fadt(const u8 *t, struct acpi_info *a)
{
	u32 dsdt = get32(t + 40);

	a->pm1a_cnt = (u16)get32(t + 64);
	if (dsdt && !memcmp((const void *)(uintptr_t)dsdt, "DSDT", 4))
		parse_s5((const u8 *)(uintptr_t)dsdt, a);
}

void acpi_scan(struct acpi_info *a)
{
	const u8 *rsdp = find_rsdp(), *rsdt;
	u32 n, i;

	memset(a, 0, sizeof(*a));
	if (!rsdp)
		return;
	rsdt = (const u8 *)(uintptr_t)get32(rsdp + 16);
	if (!rsdt || memcmp(rsdt, "RSDT", 4))
		return;
	n = (get32(rsdt + 4) - 36) / 4;
	for (i = 0; i < n; i++) {
		const u8 *t = (const u8 *)(uintptr_t)get32(rsdt + 36 + 4 * i);

		if (!memcmp(t, "APIC", 4))
			parse_madt(t, a);
		else if (!memcmp(t, "FACP", 4))
			parse_fadt(t, a);
	}
}
