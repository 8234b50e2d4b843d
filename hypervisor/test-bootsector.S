/*
 * Test boot sector: proves the hypervisor's return to real mode. Loaded at
 * 0000:7c00 like a BIOS would, it prints on COM1 (already programmed)
 *   BOOTSECTOR OK dl=80
 *   BOOTSECTOR idtr=03ff:00000000 cr0=0010 int12=027f
 * (BIOS int 0x12 answering proves the IVT and the BIOS survived), then
 * writes 0x20 to isa-debug-exit (QEMU status 65) and halts.
 */
	.code16
	.text
	.globl _start
_start:
	cli
	xorw %ax, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw $0x7c00, %sp
	movb %dl, drive
	sidt idtr
	smsw cr0w
	sti
	int $0x12			/* base memory in KiB */
	movw %ax, mem

	movw $msg_ok, %si
	call puts
	movb drive, %al
	movb $2, %cl
	call puthex
	movw $msg_idtr, %si
	call puts
	movw idtr, %ax
	movb $4, %cl
	call puthex
	movb $':', %al
	call putc
	movw idtr + 4, %ax
	movb $4, %cl
	call puthex
	movw idtr + 2, %ax
	movb $4, %cl
	call puthex
	movw $msg_cr0, %si
	call puts
	movw cr0w, %ax
	movb $4, %cl
	call puthex
	movw $msg_mem, %si
	call puts
	movw mem, %ax
	movb $4, %cl
	call puthex
	movw $msg_nl, %si
	call puts

	movw $0xf4, %dx
	movb $0x20, %al
	outb %al, %dx
1:	cli
	hlt
	jmp 1b

/* print %ax as %cl hex digits (high first) */
puthex:
	movw %ax, %bx
	movb $16, %ch
	subb %cl, %ch
	subb %cl, %ch
	subb %cl, %ch
	subb %cl, %ch			/* %ch = 16 - 4 * digits */
	xchgb %cl, %ch
	shlw %cl, %bx
	xchgb %cl, %ch
2:	rolw $4, %bx
	movb %bl, %al
	andb $0x0f, %al
	addb $'0', %al
	cmpb $'9', %al
	jbe 3f
	addb $('a' - '9' - 1), %al
3:	call putc
	decb %cl
	jnz 2b
	ret

puts:
	lodsb
	testb %al, %al
	jz 4f
	call putc
	jmp puts
4:	ret

putc:
	pushw %dx
	pushw %ax
	movw $0x3fd, %dx
5:	inb %dx, %al
	testb $0x20, %al
	jz 5b
	popw %ax
	movw $0x3f8, %dx
	outb %al, %dx
	popw %dx
	ret

msg_ok:		.asciz "BOOTSECTOR OK dl="
msg_idtr:	.asciz "\nBOOTSECTOR idtr="
msg_cr0:	.asciz " cr0="
msg_mem:	.asciz " int12="
msg_nl:		.asciz "\n"
drive:		.byte 0
		.align 2
cr0w:		.word 0
mem:		.word 0
idtr:		.skip 6

	.org 510
	.byte 0x55, 0xaa
