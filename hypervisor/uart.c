/* 16550 UART at an I/O port, polled; one lock serialises every line. */
#include "arch.h"

#define UART_THR	0	/* transmit holding (DLAB=0) */
#define UART_DLL	0	/* divisor low (DLAB=1) */
#define UART_IER	1
#define UART_DLM	1
#define UART_FCR	2
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define LCR_DLAB	0x80
#define LSR_THRE	0x20

static u16 uart_port;
static volatile u32 lock;

void uart_init(u16 port, u32 baud, u8 lcr)
{
	u32 div = baud ? 115200 / baud : 1;

	uart_port = port;
	if (!div)
		div = 1;
	outb(port + UART_IER, 0);		/* polled: no interrupts */
	outb(port + UART_LCR, LCR_DLAB);
	outb(port + UART_DLL, div & 0xff);
	outb(port + UART_DLM, (div >> 8) & 0xff);
	outb(port + UART_LCR, lcr);
	outb(port + UART_FCR, 0xc7);		/* FIFOs on and cleared */
	outb(port + UART_MCR, 0x03);		/* DTR, RTS */
}

static void uart_putc(char c)
{
	u32 spin;

	/* bounded: a wrong port must not hang the CPU */
	for (spin = 0; spin < 1000000; spin++)
		if (inb(uart_port + UART_LSR) & LSR_THRE)
			break;
	outb(uart_port + UART_THR, (u8)c);
}

void uart_write(const char *s, size_t n)
{
	while (n--)
		uart_putc(*s++);
}

void console_lock(void)
{
	while (xchg32(&lock, 1))
		while (lock)
			cpu_relax();
}

void console_unlock(void)
{
	asm volatile("" : : : "memory");
	lock = 0;
}
