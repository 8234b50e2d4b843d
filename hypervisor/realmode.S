/*
 * The two real-mode blobs. Each is assembled here and copied below 1 MiB
 * before use, so every absolute address inside is written as
 * BASE + (label - start).
 */
#include "layout.h"

#define RM(x)	(REALMODE_BASE + ((x) - rm_tramp_start))
#define AP(x)	((x) - ap_tramp_start)

	.section .text
	.code32
/*
 * rm_enter32: 32-bit protected mode, paging off, interrupts off; %ebx = the
 * boot drive; the boot sector is at 0x7c00 and rm_tramp at REALMODE_BASE.
 */
	.globl rm_enter32
rm_enter32:
	ljmp $SEL_CODE16, $REALMODE_BASE

	.section .rodata
	.globl rm_tramp_start, rm_tramp_end
	.code16
rm_tramp_start:
	/* 16-bit protected mode: give every segment real-mode limits first */
	movw $SEL_DATA16, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %fs
	movw %ax, %gs
	movw %ax, %ss
	movl %cr0, %eax
	andl $~0x80000001, %eax		/* PE and PG off */
	movl %eax, %cr0
	ljmp $0, $RM(.Lrm_real)
.Lrm_real:
	xorw %ax, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %fs
	movw %ax, %gs
	movw %ax, %ss
	movl $BOOTSECT_ADDR, %esp	/* where a BIOS leaves it */
	lidt RM(.Lrm_ivt)		/* the BIOS IVT at 0:0 */
	movb %bl, %dl			/* boot drive, as a BIOS passes it */
	xorl %eax, %eax
	xorl %ebx, %ebx
	xorl %ecx, %ecx
	xorl %esi, %esi
	xorl %edi, %edi
	xorl %ebp, %ebp
	andl $0xff, %edx
	sti
	ljmp $0, $BOOTSECT_ADDR
	.align 4
.Lrm_ivt:
	.word 0x3ff
	.long 0
rm_tramp_end:

/*
 * AP start-up: the SIPI starts an AP in real mode at AP_TRAMP_BASE:0 with
 * CS = AP_TRAMP_BASE >> 4. Load the kernel's GDT (its 32-bit base is
 * reachable from lgdtl) and enter protected mode at ap_entry32.
 */
	.globl ap_tramp_start, ap_tramp_end
	.code16
ap_tramp_start:
	cli
	movw %cs, %ax
	movw %ax, %ds
	lgdtl AP(.Lap_gdt_desc)
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl $SEL_CODE32, $ap_entry32
	.align 4
.Lap_gdt_desc:
	.word GDT_SIZE - 1
	.long gdt
ap_tramp_end:

	.section .note.GNU-stack, "", @progbits
