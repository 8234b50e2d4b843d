/*
 * LHV mode: start the other CPUs (broadcast INIT-SIPI-SIPI), let every CPU
 * print its test iterations, pass when all are done.
 */
#include "arch.h"

#define MSR_APIC_BASE	0x1b
#define LAPIC_SVR	0xf0
#define LAPIC_ICR_LO	0x300
#define LAPIC_ICR_HI	0x310
#define ICR_BUSY	(1 << 12)
#define ICR_ALL_BUT_SELF (3 << 18)
#define ICR_INIT	0x00004500	/* INIT, level assert */
#define ICR_SIPI	0x00004600	/* start-up | vector */

static uintptr_t lapic;
static volatile u32 cpus_online = 1;	/* the BSP */
static volatile u32 cpus_done;
static volatile u32 go;

u32 this_apic_id(void)
{
	u32 a, b, c, d;

	cpuid(1, &a, &b, &c, &d);
	return b >> 24;
}

static void lapic_icr(u32 lo)
{
	u32 spin;

	mmio_write32(lapic + LAPIC_ICR_HI, 0);
	mmio_write32(lapic + LAPIC_ICR_LO, lo);
	for (spin = 0; spin < 1000000; spin++)
		if (!(mmio_read32(lapic + LAPIC_ICR_LO) & ICR_BUSY))
			break;
}

static void start_aps(void)
{
	lapic = rdmsr(MSR_APIC_BASE) & 0xfffff000;
	mmio_write32(lapic + LAPIC_SVR, mmio_read32(lapic + LAPIC_SVR) | 0x1ff);
	memcpy((void *)AP_TRAMP_BASE, ap_tramp_start,
	       ap_tramp_end - ap_tramp_start);
	/*
	 * INIT puts every AP in wait-for-SIPI, wherever the BIOS parked it;
	 * the second SIPI is the one the SDM asks for, ignored if not needed.
	 */
	lapic_icr(ICR_ALL_BUT_SELF | ICR_INIT);
	delay_ms(10);
	lapic_icr(ICR_ALL_BUT_SELF | ICR_SIPI | (AP_TRAMP_BASE >> 12));
	delay_us(200);
	lapic_icr(ICR_ALL_BUT_SELF | ICR_SIPI | (AP_TRAMP_BASE >> 12));
}

/* The per-CPU test; idx 0 is the BSP. */
static void run_iters(u32 idx)
{
	u32 id = this_apic_id(), i;

	for (i = 0; (cfg.opt & HV_OPT_FOREVER) || i < cfg.iters; i++) {
		if (i == cfg.fault_iter && idx == cfg.fault_cpu)
			fault_now();
		hv_printf("CPU(0x%02x): test iter %u\n", id, i);
	}
	atomic_inc(&cpus_done);
}

void ap_main(void)
{
	u32 idx = atomic_inc(&cpus_online);

	while (!go)
		cpu_relax();
	run_iters(idx);
	halt_forever();
}

void lhv_run(void)
{
	u32 want = acpi.ncpus, waited;
	u64 t0;

	hv_printf("smp: MADT lists %u CPUs, BSP APIC id 0x%02x\n", want,
		  this_apic_id());
	if (!(cfg.opt & HV_OPT_NO_SMP) && want != 1) {
		start_aps();
		/* all MADT CPUs (1 s at most), or 200 ms without a MADT */
		for (t0 = rdtsc();; cpu_relax()) {
			u32 ms = ms_since(t0);

			if (want ? cpus_online >= want || ms >= 1000 : ms >= 200)
				break;
		}
	}
	waited = cpus_online;
	hv_printf("smp: %u CPUs online\n", waited);
	if (!(cfg.opt & HV_OPT_NO_SMP) && want)
		HALT_ON_ERRORCOND(cpus_online == acpi.ncpus);

	t0 = rdtsc();
	go = 1;
	run_iters(0);
	while (cpus_done < waited)
		cpu_relax();
	hv_printf("Stand-in: %u CPUs x %u iters in %u ms\n", waited, cfg.iters,
		  ms_since(t0));
	hv_printf("Stand-in: all CPUs passed\n");
	power_off();
}
