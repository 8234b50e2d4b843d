/*
 * The stand-in hypervisor's C entry. With a boot-sector module it acts as
 * XMHF does for the chain (hypervisor mode: back to real mode, run the disk's
 * boot sector); without one it is the last stage, like LHV (LHV mode).
 */
#include "arch.h"
#include "multiboot.h"

struct hv_config cfg = {
	.opt = HV_OPT_BUILTIN,
	.opt_builtin = HV_OPT_BUILTIN,
	.port = 0x3f8,
	.baud = 115200,
	.lcr = 0x03,
	.line_fmt = "8n1",
	.boot_drive = 0x80,
	.iters = 25,
	.flood_mib = 4,
	.slow_ms = 50,
	.fault_iter = NO_VALUE,
	.fault_cpu = 0,
	.debug_exit = 0xf4,
};

struct acpi_info acpi;

void __attribute__((noreturn)) hv_fatal(const char *cond, int line,
					const char *file)
{
	hv_printf("Fatal: Halting! Condition '%s' failed, line %d, file %s\n",
		  cond, line, file);
	if (cfg.opt & HV_OPT_HALT_EXIT)
		debug_exit(DEBUG_EXIT_FATAL);
	halt_forever();
}

static void __attribute__((noreturn)) triple_fault(void)
{
	static const struct {
		u16 limit;
		uintptr_t base;
	} __attribute__((packed)) no_idt = { 0, 0 };

	/* #UD cannot be delivered, nor can the #DF: the CPU shuts down */
	asm volatile("lidt %0; ud2" : : "m"(no_idt));
	__builtin_unreachable();
}

/* HV_OPT stop faults, first set wins: Fatal, triple fault, hang. */
void fault_now(void)
{
	HALT_ON_ERRORCOND(!(cfg.opt & HV_OPT_FATAL));
	if (cfg.opt & HV_OPT_TRIPLE_FAULT)
		triple_fault();
	if (cfg.opt & HV_OPT_HANG) {
		asm volatile("cli");
		for (;;)
			cpu_relax();
	}
}

/*
 * Faults that need a combination of bits, for searches over option bits:
 * a search that flips one bit at a time never sees the pair, and a
 * search that ignores the dependency sees NEEDS_BASE fail alone.
 */
static void combination_faults(void)
{
	HALT_ON_ERRORCOND((cfg.opt & HV_OPT_PAIR) != HV_OPT_PAIR);
	HALT_ON_ERRORCOND(!(cfg.opt & HV_OPT_NEEDS_BASE) || (cfg.opt & HV_OPT_BASE));
}

/* Exactly flood_mib MiB of 64-byte lines between the two markers. */
static void flood(void)
{
	u32 lines = cfg.flood_mib * (1048576 / 64), i, j;
	char buf[64];

	hv_printf("flood: %u MiB follow, %u lines of 64 bytes\n", cfg.flood_mib,
		  lines);
	for (i = 0; i < lines; i++) {
		snprintf(buf, sizeof(buf), "flood %08x ", i);
		for (j = 15; j < 63; j++)
			buf[j] = 'A' + (i + j) % 26;
		buf[63] = '\n';
		hv_write_raw(buf, 64);
	}
	hv_printf("flood: done\n");
}

static void __attribute__((noreturn)) chain(const struct mb_module *bs)
{
	hv_printf("Stand-in: mode=hypervisor, chaining to the boot sector at 0000:7c00 dl=0x%02x\n",
		  cfg.boot_drive);
	/* boot sector first: the trampoline may land where its module was */
	memmove((void *)BOOTSECT_ADDR, (const void *)(uintptr_t)bs->mod_start,
		512);
	memcpy((void *)REALMODE_BASE, rm_tramp_start,
	       rm_tramp_end - rm_tramp_start);
	arch_chain(cfg.boot_drive);
}

static void banner(u32 magic, const char *cmdline, u32 requested)
{
	hv_printf("\nStand-in Hypervisor (labctl) variant=%s arch=%s HV_OPT=0x%x\n",
		  HV_VARIANT, HV_ARCH, requested);
	hv_printf("HV_OPT = 0x%x (built-in 0x%x, %s)\n", requested,
		  cfg.opt_builtin, cfg.opt_from_cmdline ?
		  "hv_opt= on the command line" : "no hv_opt= on the command line");
	if (requested != cfg.opt)
		hv_printf("HV_OPT: fault bits 0x%x off in this mode\n",
			  requested & HV_OPT_FAULTS);
	hv_printf("cmdline: %s\n", cmdline);
	hv_printf("serial: port=0x%x baud=%u %s\n", cfg.port, cfg.baud,
		  cfg.line_fmt);
	hv_printf("boot_drive: 0x%02x\n", cfg.boot_drive);
	hv_printf("tsc: %u kHz (calibrated against the PIT)\n",
		  (u32)tsc_per_ms());
	HALT_ON_ERRORCOND(magic == MB_BOOTLOADER_MAGIC);
}

void hv_main(u32 magic, u32 mbi_addr)
{
	const struct mb_info *mbi = (const void *)(uintptr_t)mbi_addr;
	const struct mb_module *payload = NULL, *bootsect = NULL;
	const char *cmdline = "";
	u32 requested, only, len;
	const u8 *p;
	int hv_mode;

	if (magic == MB_BOOTLOADER_MAGIC && (mbi->flags & MB_INFO_CMDLINE)) {
		cmdline = (const char *)(uintptr_t)mbi->cmdline;
		cmdline_parse(cmdline, &cfg);
	}
	uart_init(cfg.port, cfg.baud, cfg.lcr);
	timer_calibrate();
	if (magic == MB_BOOTLOADER_MAGIC)
		mb_find_modules(mbi, &payload, &bootsect, 0);
	/* An LHV build ignores its guest module, as XMHF's LHV does. */
	hv_mode = bootsect != NULL && !(cfg.opt & HV_OPT_LHV);

	/* HV_OPT_FAULT_*_ONLY: the other mode runs clean */
	requested = cfg.opt;
	only = cfg.opt & (HV_OPT_FAULT_HV_ONLY | HV_OPT_FAULT_LHV_ONLY);
	if (((only & HV_OPT_FAULT_HV_ONLY) && !hv_mode) ||
	    ((only & HV_OPT_FAULT_LHV_ONLY) && hv_mode))
		cfg.opt &= ~HV_OPT_FAULTS;

	banner(magic, cmdline, requested);
	mb_print_mmap(mbi);
	mb_find_modules(mbi, &payload, &bootsect, 1);
	HALT_ON_ERRORCOND(payload != NULL);
	p = (const u8 *)(uintptr_t)payload->mod_start;
	len = payload->mod_end - payload->mod_start;
	HALT_ON_ERRORCOND(payload_check(p, len) == 0);

	combination_faults();
	if (cfg.opt & HV_OPT_FLOOD)
		flood();
	if (hv_mode || cfg.fault_iter == NO_VALUE)
		fault_now();

	if (hv_mode)
		chain(bootsect);
	hv_printf(bootsect ? "Stand-in: mode=lhv (LHV build), boot sector module ignored\n" :
			     "Stand-in: mode=lhv, no boot sector module\n");
	acpi_scan(&acpi);
	lhv_run();
}
