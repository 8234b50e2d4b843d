/*
 * amd64 entry: multiboot starts us in 32-bit protected mode; identity-map
 * the low 4 GiB with 2 MiB pages, enter long mode and run the C code in
 * 64-bit. arch_chain leaves long mode again for the real-mode boot sector.
 */
#include "layout.h"

#define MSR_EFER	0xc0000080
#define EFER_LME	(1 << 8)
#define CR0_PG		(1 << 31)
#define CR4_PAE		(1 << 5)

	.section .text
	.code32
	.globl _start
_start:
	cli
	cld
	movl %eax, %esi			/* multiboot magic */
	lgdt gdt_desc
	ljmp $SEL_CODE32, $1f
1:	movl $SEL_DATA32, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %fs
	movl %eax, %gs
	movl %eax, %ss
	movl $_bss_start, %edi
	movl $_bss_end, %ecx
	subl %edi, %ecx
	xorl %eax, %eax
	rep stosb
	movl $bsp_stack_top, %esp

	/* PML4[0] -> PDPT; PDPT[0..3] -> PD0..3; PDs: 2048 x 2 MiB */
	movl $(pdpt + 3), pml4
	movl $pdpt, %edi
	movl $(pd + 3), %eax
	movl $4, %ecx
2:	movl %eax, (%edi)
	addl $4096, %eax
	addl $8, %edi
	loop 2b
	movl $pd, %edi
	movl $0x83, %eax		/* present, writable, 2 MiB */
	movl $2048, %ecx
3:	cmpl $0xc0000000, %eax
	jb 4f
	orl $0x18, %eax			/* top GiB is MMIO (LAPIC): uncached */
4:	movl %eax, (%edi)
	addl $0x200000, %eax
	addl $8, %edi
	loop 3b

	call enter_long_mode
	ljmp $SEL_CODE64, $bsp_entry64

/* called in 32-bit mode; returns in compatibility mode, paging on */
enter_long_mode:
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | 1), %eax
	movl %eax, %cr0
	ret

/* APs arrive from ap_tramp with CS = SEL_CODE32 */
	.globl ap_entry32
ap_entry32:
	movl $SEL_DATA32, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %fs
	movl %eax, %gs
	movl %eax, %ss
	movl $1, %eax
	lock xaddl %eax, ap_stack_next
	cmpl $(MAX_CPUS - 1), %eax
	jae halt32
	incl %eax
	imull $AP_STACK_SIZE, %eax
	addl $ap_stacks, %eax
	movl %eax, %esp
	call enter_long_mode
	ljmp $SEL_CODE64, $ap_entry64

halt32:
	cli
	hlt
	jmp halt32

	.code64
bsp_entry64:
	movl %esi, %edi			/* hv_main(magic, mbi) */
	movl %ebx, %esi
	call hv_main
	jmp halt64

ap_entry64:
	call ap_main
	jmp halt64

/* void arch_chain(u32 boot_drive) */
	.globl arch_chain
arch_chain:
	cli
	movl %edi, %ebx
	/* far return into 32-bit compatibility mode (identity-mapped code) */
	leaq 5f(%rip), %rax
	pushq $SEL_CODE32
	pushq %rax
	lretq
	.code32
5:	movl %cr0, %eax			/* paging off: leaves long mode */
	andl $~CR0_PG, %eax
	movl %eax, %cr0
	movl $MSR_EFER, %ecx
	rdmsr
	andl $~EFER_LME, %eax
	wrmsr
	movl %cr4, %eax
	andl $~CR4_PAE, %eax
	movl %eax, %cr4
	xorl %eax, %eax
	movl %eax, %cr3
	movl $SEL_DATA32, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	jmp rm_enter32

	.code64
halt64:
	cli
	hlt
	jmp halt64

	.section .bss
	.align 4096
pml4:	.skip 4096
pdpt:	.skip 4096
pd:	.skip 4 * 4096

	.section .note.GNU-stack, "", @progbits
