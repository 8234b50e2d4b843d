/*
 * Power-off: QEMU's isa-debug-exit first (an exit status the tests can
 * read), then ACPI S5 from the FADT and \_S5, then the PM1a_CNT ports of
 * QEMU's PIIX4 (pc) / ICH9 (q35) at 0x604 and of old Bochs/QEMU at 0xb004.
 */
#include "arch.h"

#define SLP_EN	(1 << 13)

void __attribute__((noreturn)) halt_forever(void)
{
	for (;;)
		asm volatile("cli; hlt");
}

void debug_exit(u8 value)
{
	if (cfg.debug_exit)
		outb(cfg.debug_exit, value);
}

void __attribute__((noreturn)) power_off(void)
{
	hv_printf("Stand-in: powering off\n");
	debug_exit(DEBUG_EXIT_PASS);
	if (acpi.pm1a_cnt) {
		outw(acpi.pm1a_cnt, (acpi.slp_typa & 7) << 10 | SLP_EN);
		delay_ms(100);
	}
	outw(0x604, SLP_EN);
	delay_ms(100);
	outw(0xb004, SLP_EN);
	delay_ms(100);
	hv_printf("Stand-in: power-off failed, halting\n");
	halt_forever();
}
