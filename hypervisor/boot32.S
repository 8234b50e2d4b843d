/* i386 entry: multiboot hands over in flat 32-bit protected mode. */
#include "layout.h"

	.section .text
	.code32
	.globl _start
_start:
	cli
	cld
	movl %eax, %esi			/* multiboot magic */
	lgdt gdt_desc			/* the loader's GDT may be gone */
	ljmp $SEL_CODE32, $1f
1:	movl $SEL_DATA32, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %fs
	movl %eax, %gs
	movl %eax, %ss
	/* zero .bss (stacks included) before anything lives there */
	movl $_bss_start, %edi
	movl $_bss_end, %ecx
	subl %edi, %ecx
	xorl %eax, %eax
	rep stosb
	movl $bsp_stack_top, %esp
	pushl %ebx			/* multiboot info */
	pushl %esi
	call hv_main
	jmp halt

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
	jae halt			/* more CPUs than stacks: park it */
	incl %eax
	imull $AP_STACK_SIZE, %eax
	addl $ap_stacks, %eax
	movl %eax, %esp
	call ap_main
	jmp halt

/* void arch_chain(u32 boot_drive): to real mode and the boot sector */
	.globl arch_chain
arch_chain:
	cli
	movl 4(%esp), %ebx
	jmp rm_enter32

halt:
	cli
	hlt
	jmp halt

	.section .note.GNU-stack, "", @progbits
