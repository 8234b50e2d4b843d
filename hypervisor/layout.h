/* Memory layout and GDT selectors, shared by the C and assembly files. */
#ifndef LAYOUT_H
#define LAYOUT_H

/* init.bin is linked at 1 MiB (link.ld), above GRUB's real-mode parts. */

/*
 * Low memory used only once the loader is gone: above the IVT and BIOS data
 * area (< 0x500), below the boot sector at 0x7c00 and its stack.
 */
#define REALMODE_BASE	0x1000	/* return-to-real-mode trampoline */
#define AP_TRAMP_BASE	0x2000	/* AP start-up trampoline, SIPI vector 2 */
#define BOOTSECT_ADDR	0x7c00

/* GDT selectors (head.S) */
#define SEL_CODE32	0x08
#define SEL_DATA32	0x10
#define SEL_CODE64	0x18
#define SEL_CODE16	0x20
#define SEL_DATA16	0x28
#define GDT_SIZE	0x30	/* six descriptors */

#define MAX_CPUS	16
#define BSP_STACK_SIZE	16384
#define AP_STACK_SIZE	8192

#endif
