/*
 * Delays. The TSC is calibrated once against PIT channel 2 on the BSP; after
 * that every CPU delays with the TSC alone, since the PIT is one shared
 * device. Under QEMU TCG both follow the host clock, so the delays are real
 * time even though guest instructions run at an odd speed.
 */
#include "arch.h"

#define PIT_HZ		1193182
#define CAL_MS		20
#define PIT_CH2		0x42
#define PIT_CMD		0x43
#define PORT_B		0x61	/* bit 0: ch2 gate, bit 1: speaker, bit 5: out */

static u64 tsc_khz = 1000000;	/* guess until calibrated: 1 GHz */

u64 rdtsc(void)
{
	u32 lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

void timer_calibrate(void)
{
	u32 count = PIT_HZ * CAL_MS / 1000, spin, rem;
	u8 portb = inb(PORT_B);
	u64 t0, t1;

	/* gate on, speaker off; mode 0 counts down once, then out goes high */
	outb(PORT_B, (portb & ~0x02) | 0x01);
	outb(PIT_CMD, 0xb0);		/* ch2, lo/hi byte, mode 0, binary */
	outb(PIT_CH2, count & 0xff);
	outb(PIT_CH2, count >> 8);
	t0 = rdtsc();
	for (spin = 0; spin < 100000000; spin++)
		if (inb(PORT_B) & 0x20)
			break;
	t1 = rdtsc();
	outb(PORT_B, portb);
	if (spin < 100000000 && t1 > t0)
		tsc_khz = div_u64_rem(t1 - t0, CAL_MS, &rem);
}

u64 tsc_per_ms(void)
{
	return tsc_khz;
}

static void delay_tsc(u64 ticks)
{
	u64 t0 = rdtsc();

	while (rdtsc() - t0 < ticks)
		cpu_relax();
}

void delay_us(u32 us)
{
	u32 rem;

	delay_tsc(div_u64_rem(tsc_khz * us, 1000, &rem));
}

void delay_ms(u32 ms)
{
	delay_tsc(tsc_khz * ms);
}

u32 ms_since(u64 tsc0)
{
	u32 rem;

	return (u32)div_u64_rem(rdtsc() - tsc0, (u32)tsc_khz, &rem);
}
