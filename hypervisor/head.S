/*
 * Multiboot v1 header with the a.out kludge: init.bin is a flat binary, and
 * both GRUB's `multiboot` and QEMU's -kernel load it from these addresses
 * (QEMU refuses 64-bit ELF, so the amd64 build cannot be an ELF64 file).
 * Also the GDT and the stacks, common to both architectures.
 */
#include "layout.h"
#include "multiboot.h"

	.section .multiboot, "a"
	.align 4
mb_header:
	.long MB_HEADER_MAGIC
	.long MB_HEADER_FLAGS
	.long -(MB_HEADER_MAGIC + MB_HEADER_FLAGS)
	.long mb_header		/* header_addr */
	.long _image_start	/* load_addr */
	.long _image_end	/* load_end_addr */
	.long _bss_end		/* bss_end_addr */
	.long _start		/* entry_addr */

	.section .rodata
	.align 16
	.globl gdt, gdt_end, gdt_desc
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* SEL_CODE32: flat 4 GiB, 32-bit */
	.quad 0x00cf92000000ffff	/* SEL_DATA32 */
	.quad 0x00af9a000000ffff	/* SEL_CODE64: long mode */
	.quad 0x00009a000000ffff	/* SEL_CODE16: base 0, 64 KiB */
	.quad 0x000092000000ffff	/* SEL_DATA16: real-mode limits */
gdt_end:
	.align 8
gdt_desc:
	.word GDT_SIZE - 1
	.long gdt

	.section .bss
	.align 16
	.globl bsp_stack_top, ap_stacks, ap_stack_next
bsp_stack:
	.skip BSP_STACK_SIZE
bsp_stack_top:
ap_stacks:
	.skip AP_STACK_SIZE * (MAX_CPUS - 1)
	.align 4
ap_stack_next:
	.skip 4

	.section .note.GNU-stack, "", @progbits
