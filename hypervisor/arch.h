/* Port I/O and CPU instructions, identical for i386 and amd64. */
#ifndef ARCH_H
#define ARCH_H

#include "hv.h"

static inline void outb(u16 port, u8 v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(u16 port, u16 v)
{
	asm volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline u8 inb(u16 port)
{
	u8 v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline u16 inw(u16 port)
{
	u16 v;

	asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void cpu_relax(void)
{
	asm volatile("pause" : : : "memory");
}

static inline void cpuid(u32 leaf, u32 *a, u32 *b, u32 *c, u32 *d)
{
	asm volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d)
		     : "a"(leaf), "c"(0));
}

static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((u64)hi << 32) | lo;
}

static inline u32 mmio_read32(uintptr_t addr)
{
	return *(volatile u32 *)addr;
}

static inline void mmio_write32(uintptr_t addr, u32 v)
{
	*(volatile u32 *)addr = v;
}

static inline u32 atomic_inc(volatile u32 *p)
{
	u32 v = 1;

	asm volatile("lock xaddl %0, %1" : "+r"(v), "+m"(*p) : : "memory");
	return v;
}

static inline u32 xchg32(volatile u32 *p, u32 v)
{
	asm volatile("xchgl %0, %1" : "+r"(v), "+m"(*p) : : "memory");
	return v;
}

#endif
