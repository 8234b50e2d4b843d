/*
 * Stand-in hypervisor: types, options and the shared prototypes.
 * Freestanding: only the compiler's own headers are used.
 */
#ifndef HV_H
#define HV_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"	/* generated: HV_VARIANT, HV_ARCH, HV_OPT_BUILTIN */
#include "layout.h"

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

/* HV_OPT bits; README.md documents them. */
#define HV_OPT_HANG		0x001	/* spin silently after the banner */
#define HV_OPT_TRIPLE_FAULT	0x002	/* empty IDT + exception */
#define HV_OPT_FATAL		0x004	/* XMHF "Fatal: Halting!" and halt */
#define HV_OPT_FLOOD		0x008	/* flood_mib MiB of output */
#define HV_OPT_SLOW		0x010	/* slow_ms delay after every line */
#define HV_OPT_FAULT_HV_ONLY	0x020	/* fault bits act in hypervisor mode only */
#define HV_OPT_FAULT_LHV_ONLY	0x040	/* fault bits act in LHV mode only */
#define HV_OPT_NO_SMP		0x080	/* LHV mode on the BSP alone */
#define HV_OPT_FOREVER		0x100	/* iterate forever, like the real LHV */
#define HV_OPT_HALT_EXIT	0x200	/* a Fatal halt exits QEMU (debug exit) */
#define HV_OPT_LHV		0x400	/* be the LHV even with a boot sector module */
/* Faults for option-bit searches (labctl opt-bisect), in every mode: */
#define HV_OPT_PAIR_A		0x800	/* alone nothing; with PAIR_B: Fatal */
#define HV_OPT_PAIR_B		0x1000	/* alone nothing; with PAIR_A: Fatal */
#define HV_OPT_NEEDS_BASE	0x2000	/* Fatal unless BASE is set too */
#define HV_OPT_BASE		0x4000	/* nothing by itself */
#define HV_OPT_PAIR	(HV_OPT_PAIR_A | HV_OPT_PAIR_B)

#define HV_OPT_FAULTS	(HV_OPT_HANG | HV_OPT_TRIPLE_FAULT | HV_OPT_FATAL | \
			 HV_OPT_FLOOD | HV_OPT_SLOW)

/* Values written to the isa-debug-exit port; QEMU exits (v << 1) | 1. */
#define DEBUG_EXIT_PASS		0x10	/* QEMU status 33 */
#define DEBUG_EXIT_FATAL	0x11	/* QEMU status 35 */

#define NO_VALUE	0xffffffffu

struct hv_config {
	u32 opt;		/* effective HV_OPT */
	u32 opt_builtin;
	int opt_from_cmdline;
	u16 port;		/* UART I/O port */
	u32 baud;
	u8 lcr;			/* 16550 line control (data/parity/stop) */
	char line_fmt[4];	/* "8n1" as given */
	u8 boot_drive;
	u32 iters;
	u32 flood_mib;
	u32 slow_ms;
	u32 fault_iter;		/* NO_VALUE: faults act after the banner */
	u32 fault_cpu;
	u16 debug_exit;		/* 0: do not use isa-debug-exit */
	int crlf;
};

extern struct hv_config cfg;

/* string.c */
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);
u32 parse_u32(const char *s, const char **end);
u64 div_u64_rem(u64 n, u32 d, u32 *rem);

/* printf.c */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void hv_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hv_write_raw(const char *s, size_t n);

/* uart.c */
void uart_init(u16 port, u32 baud, u8 lcr);
void uart_write(const char *s, size_t n);
void console_lock(void);
void console_unlock(void);

/* timer.c */
void timer_calibrate(void);
u64 tsc_per_ms(void);
u64 rdtsc(void);
void delay_us(u32 us);
void delay_ms(u32 ms);
u32 ms_since(u64 tsc0);

/* multiboot.c */
struct mb_info;
struct mb_module;
void cmdline_parse(const char *cmdline, struct hv_config *c);
void mb_print_mmap(const struct mb_info *mbi);
void mb_find_modules(const struct mb_info *mbi,
		     const struct mb_module **payload,
		     const struct mb_module **bootsect, int print);

/* payload.c */
int payload_check(const u8 *p, u32 size);

/* acpi.c */
struct acpi_info {
	u32 ncpus;		/* enabled LAPICs in the MADT; 0 if unknown */
	u16 pm1a_cnt;		/* 0 if no FADT */
	u16 slp_typa;		/* from \_S5 */
};
void acpi_scan(struct acpi_info *a);

/* smp.c */
void lhv_run(void);
void ap_main(void);
u32 this_apic_id(void);

/* power.c */
void __attribute__((noreturn)) power_off(void);
void __attribute__((noreturn)) halt_forever(void);
void debug_exit(u8 value);

/* main.c */
void fault_now(void);
extern struct acpi_info acpi;

/* arch: boot32.S / boot64.S */
void __attribute__((noreturn)) arch_chain(u32 boot_drive);
extern const u8 rm_tramp_start[], rm_tramp_end[];
extern const u8 ap_tramp_start[], ap_tramp_end[];

/*
 * XMHF's assertion, with XMHF's exact message, so log patterns written for
 * the real hypervisor match the stand-in too.
 */
void __attribute__((noreturn)) hv_fatal(const char *cond, int line,
					const char *file);
#define HALT_ON_ERRORCOND(c)						\
	do {								\
		if (!(c))						\
			hv_fatal(#c, __LINE__, __FILE__);		\
	} while (0)

#endif
