// SPDX-License-Identifier: MIT
/*
 * The rule-file parser, the built-in sets, and what a lab's rule keys mean
 * for one run (rules.h, man/labctl-rules.5).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hvimage/build.h"
#include "labctl/labconf.h"
#include "labctl/pattern.h"
#include "labctl/rules.h"
#include "lib/err.h"
#include "lib/paths.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"

#define MAX_DEPTH 8		/* include nesting */
#define MAX_LINE 4096
#define MAX_PATTERN 512
#define MAX_LINES_READ 100000	/* per load, includes counted: fan-out guard */
#define MAX_FILE (1024 * 1024)
/* PCRE2 copies bounded repeats out: caps on counts and on the result. */
#define MAX_REPEAT 255
#define MAX_EXPANSION 1000L
#define MAX_SET_ATOMS 20000L	/* all of a set's patterns together */
#define MAX_NESTING 64

#define VARIANT_VAR "${variant}"

/* ------------------------------------------------ built-in sets */
/* The same bytes as rules/NAME.rules: test_rules.c checks. */
static const char rules_text_xmhf[] =
	"# xmhf: XMHF64 (github.com/lxylxy123456/uberxmhf, branch xmhf64) as a stage.\n"
	"#\n"
	"# Coverage: every line with which the real sources (xmhf/src and the\n"
	"# TrustVisor hypapp; pinned in ../shared/xmhf) halt or report a fatal\n"
	"# error fails the stage at that line, with a reason for its kind of\n"
	"# failure.  tests/t/96-real-rules.t renders each such format string (the\n"
	"# prints before HALT(), HALT_ON_ERRORCOND(0), while (1) and abort(),\n"
	"# HALT_ON_ERRORCOND's own line, and any print that says Halting!, HALT!,\n"
	"# Fatal, FATAL, TIMEOUT!, unhandled, ...), checks that it fails at once,\n"
	"# and that no other print of the sources fails.  Case matters: XMHF\n"
	"# writes \"Halting!\", \"HALTING!\", \"halting!\", \"HALT!\", \"Halt!\", \"halt!\",\n"
	"# \"HALT;\" and \"Halt,\".  The specific rules come first for their reasons;\n"
	"# the last ones catch any other halt or fatal line.  Patterns stay in the\n"
	"# common subset of POSIX ERE and PCRE2 (no \\d, \\b, back-references or\n"
	"# lookaround).\n"
	"#\n"
	"# \"eXtensible Modular Hypervisor Framework (XMHF) ...\" starts each XMHF stage.\n"
	"banner /eXtensible Modular Hypervisor Framework/\n"
	"\n"
	"# XMHF as the last stage passes when its guest comes up.  XMHF boots the\n"
	"# boot drive's MBR as its guest (after \"xmhf_runtime_main[00]: starting\n"
	"# partition...\"), so GRUB runs again, under XMHF, and prints its header\n"
	"# or \"  Booting `ENTRY'\" for what it boots next.  This pass rule judges an\n"
	"# XMHF stage only: the run's set leaves it out, so a later stage (LHV) is\n"
	"# judged by its own rules.\n"
	"pass /^ *Booting `|GNU GRUB +version /\n"
	"\n"
	"# HALT_ON_ERRORCOND: \"Fatal: Halting! Condition '...' failed, line N, file F\"\n"
	"fail /Fatal: Halting!/ XMHF halted on a failed condition\n"
	"# \"CPU(0x00): VM-ENTRY error: reason=0x80000021, qualification=0x0000000000000000\"\n"
	"fail /VM-ENTRY error/ a VM entry failed\n"
	"# The guest triple-faulted: XMHF does not handle VM exit reason 2 and halts\n"
	"# (\"CPU(0x01): Unhandled intercept: 2 (0x00000002)\").  When the machine\n"
	"# itself triple-faults it resets: QEMU reports that and the watch fails the\n"
	"# run on its own (the guest reset itself); a real board stops printing.\n"
	"fail /Unhandled intercept: 2 \\(0x00000002\\)/ the guest triple-faulted (VM exit reason 2)\n"
	"# \"CPU(0x01): Unhandled intercept: 48 (0x00000030)\"; SVM \"Unhandled Intercept:0x0000007b\"\n"
	"fail /Unhandled [Ii]ntercept: ?[0-9]* ?\\(?0x[0-9a-fA-F]+/ XMHF met a VM exit it does not handle\n"
	"# \"[01]: unhandled exception 14 (0xe), halting!\": a fault in XMHF itself\n"
	"fail /: unhandled exception [0-9]+ \\(0x[0-9a-fA-F]+\\), halting!/ XMHF took an exception it does not handle\n"
	"# \"%s: fatal, unable to retrieve vcpu for id=0x%02x\" in its exception handler\n"
	"fail /fatal, unable to retrieve vcpu/ XMHF took an exception on an unknown CPU\n"
	"# \"VMEXIT-EXCEPTION:\" then the exception bitmap, information and registers\n"
	"fail /^VMEXIT-EXCEPTION:/ the guest raised an exception XMHF does not handle\n"
	"fail /Unhandled Task Switch/ the guest made a task switch XMHF does not handle\n"
	"# \"CPU(0x00): HALT; Nested events unhandled 0x80000b0e\"\n"
	"fail /HALT; Nested events unhandled/ a VM exit interrupted an event delivery XMHF cannot resume\n"
	"# \"CPU(0x00): error(halt), unhandled hypercall 0x00000011!\" (also \"L2 hypercall\")\n"
	"fail /error\\(halt\\), unhandled (L2 )?hypercall/ the guest made a hypercall XMHF does not handle\n"
	"# \"CPU(0x01): VMRESUME error in nested virtualization\", a VMCS dump, \"HALT!\"\n"
	"fail / error in nested virtualization/ a nested VM entry (VMLAUNCH or VMRESUME) failed\n"
	"fail /possible EPT on REP INS/ an EPT violation on REP INS in a nested guest\n"
	"# The CPU cannot run XMHF: \"CPU(0x00) does not support VT. Halting!\" (QEMU\n"
	"# TCG, Bochs without VMX), \"CPU(0x00): No support for Nested Paging,\n"
	"# HALTING!\" (no EPT or NPT), \"CPU(0x00) is not an Intel CPU. Halting!\".\n"
	"fail /does not support VT\\. Halting!/ the CPU has no VMX (VT-x)\n"
	"fail /No support for Nested Paging/ the CPU has no nested paging (EPT or NPT)\n"
	"fail /is not an Intel CPU\\. Halting!/ the CPU is not an Intel CPU (a VMX build)\n"
	"fail /no SVM extensions\\. HALT!|SVM extensions disabled in the BIOS/ the CPU has no usable SVM\n"
	"fail /Total number of ASID is too low/ the CPU has too few ASIDs (SVM)\n"
	"fail /unrecognized x86 CPU/ the CPU vendor is unknown\n"
	"fail /Fatal, unable to enter VMX root operation/ VMXON failed\n"
	"fail /(VMCLEAR|VMPTRLD) failed, HALT!|error: (VMCS pointer invalid|neither VMfailInvalid nor VMfailValid)\\? HALT!/ a VMX instruction failed\n"
	"# Real mode without unrestricted guest (\"V86 monitor based real-mode exec.\n"
	"# unsupported!\", also after \"HALT: \").\n"
	"fail /real-mode exec\\. unsupported!/ the guest needs real mode, which needs unrestricted guest\n"
	"fail /Unexpected HLT intercept in UG/ the guest's HLT exited to XMHF unexpectedly\n"
	"fail /unhandled crx, halting!|unhandled XCR register/ the guest accessed a control register XMHF does not handle\n"
	"fail /invalid gpr value \\([0-9]+\\)\\. halting!|Invalid guest CPU register is given/ XMHF decoded an invalid guest register\n"
	"# Boot: \"INIT(early): FATAL ERROR: Intel CPU without SINIT module!\",\n"
	"# \"ERROR: send_init_ipi_to_all_APs() TIMEOUT!\", ...\n"
	"fail /Intel CPU without SINIT module/ DRT on Intel needs the SINIT module\n"
	"fail /send_init_ipi_to_all_APs\\(\\) TIMEOUT!/ the APs did not take the INIT IPI in time\n"
	"fail /Fatal error with SMP detection/ SMP detection found no usable CPUs\n"
	"fail /ACPI RSDP not found/ no ACPI RSDP was found\n"
	"fail /INIT\\(early\\): ERROR: svm_[a-z_]+ FAILED!/ preparing AMD SVM for DRT failed\n"
	"fail /UEFI_CALL\\(.*\\) error at / a UEFI call failed\n"
	"fail /system does not support type-1 access/ PCI configuration access (type 1) is missing\n"
	"fail /Late-initialization, WiP, HALT!/ the hypervisor reached unfinished late initialization\n"
	"# Memory map: \"%s: no E820 map provided. HALT!\", \"INT15 E820. Guest buffer\n"
	"# is beyond guest physical memory bounds. Halting!\", ...\n"
	"fail /E820.*(Halting!|HALT!)|unhandled INT 15h request/ the E820 memory map could not be used\n"
	"fail /(Get system physical address range|Too large system physical address).*Halting!/ the physical address range could not be used\n"
	"# MTRRs: \"Conflicting MTRR types (0, 6), HALT!\", \"SECURITY FAILURE:\n"
	"# validate_mtrrs() failed.\", ...\n"
	"fail /MTRR.*(HALT!|Halt!)|CPU does not support MTRRs!|Cannot find MTRR|validate_mtrrs\\(\\) failed/ the MTRRs could not be handled\n"
	"fail /(Unrecognized|Incompatible) microcode update, HALT!/ the guest loaded a microcode update XMHF refuses\n"
	"# DMA protection (VT-d, DEV): \"SL: Fatal, could not initialize DMA\n"
	"# protections. Halting!\", \"Invalidation of IOTLB failed. Halting! (1)\",\n"
	"# \"DMAR hardware malfunction:...\", \"%s: Halt, Unsupported register=%08x\"\n"
	"fail /(VT-d|IOTLB|CET|fault-reporting|DMA protection).*(Halting!|HALT!)|DMAR hardware malfunction|Halt, Unsupported (register|access width)=/ DMA protection (VT-d) failed\n"
	"# SVM I/O intercepts and debug exceptions.\n"
	"fail /Fatal, unsupported batch I\\/O ops!|non-complaint CPU \\(ioio intercept\\)/ the guest's I/O XMHF cannot emulate (SVM)\n"
	"fail /Unexpected DB exception on non-BSP core/ a debug exception on an AP (SVM)\n"
	"# The hypapp (TrustVisor): \"%s: FATAL ERROR: Could not access HW TPM.\",\n"
	"# \"MasterSealingSeed initialization FAILED! SECURITY HALT!\", \"CPU(0x00):\n"
	"# EMHF app. failed to initialize. HALT!\", ...\n"
	"fail /FATAL ERROR: / the hypapp (TrustVisor) hit a fatal error\n"
	"fail /SECURITY HALT!/ the hypapp (TrustVisor) could not set up its sealing seed\n"
	"fail /EMHF app\\. failed to initialize|unknown? cpu vendor type!|in scode, Halt!|Port access intercept feature unimplemented/ the hypapp (TrustVisor) halted XMHF\n"
	"fail /: assert failed: / an assert() failed\n"
	"fail /Panic: CreatePrimary\\(\\) need to be called/ the TPM 2.0 library cannot seal or unseal (no CreatePrimary)\n"
	"# Code that must not be reached: \"INIT(early): error(fatal), should never\n"
	"# come here!\", \"Runtime: We should NEVER get here!\", \"CPU(0x00): Fatal,\n"
	"# xmhf_runtime_shutdown returned. Halting!\", ...\n"
	"fail /[Ss]hould (never|NEVER|not) (come|get|be) here|must never get here|xmhf_runtime_shutdown returned/ the hypervisor reached code that must not run\n"
	"\n"
	"# Any other halt or fatal line (\"CPU(0x00): HALTING!\", \"CPU(0x00): HALT!\",\n"
	"# \"Header mismatch. Halting\", \"%s: should never get here. halt!\"), but not\n"
	"# a name such as a variant's (\"variant=fatal arch=i386\", \"Booting `halt'\").\n"
	"fail /(^|[^A-Za-z0-9_=-])((Halting|HALTING|halting)([!.]|$)|(HALT|Halt|halt)[!;:,])/ the hypervisor halted\n"
	"fail /(^|[^A-Za-z0-9_=-])(FATAL|Fatal|fatal)([,:!]| ERROR| error)/ the hypervisor reported a fatal error\n"
	"\n"
	"# LHV under XMHF prints \"CPU(0x00): LHV in XMHF test iter N\".  Acts when\n"
	"# xmhf is the run's set ([watch] rules = xmhf: XMHF is in the chain): LHV\n"
	"# without \"in XMHF\" is not XMHF's guest (XMHF died and the board booted\n"
	"# LHV alone), so its lines must not pass the run.\n"
	"fail /CPU\\(0x[0-9a-fA-F]+\\): LHV test iter [0-9]+/ LHV runs without XMHF under it (as XMHF's guest it prints \"LHV in XMHF test iter\")\n";

static const char rules_text_lhv[] =
	"# lhv: LHV, the Lightweight Hypervisor (uberxmhf branch lhv), the last\n"
	"# stage of a chain, alone or as XMHF's guest.\n"
	"#\n"
	"# Coverage: LHV is built from XMHF's tree (bootloader, secure loader,\n"
	"# runtime) with its own tests in xmhf-startup/lhv*.c, and as XMHF's guest\n"
	"# XMHF's own halts arrive while LHV is the current stage; so LHV's failure\n"
	"# lines come first here, then every failure rule of the xmhf set but its\n"
	"# last (an include would bring that one, which fails LHV's own pass lines\n"
	"# when LHV runs alone).  tests/t/96-real-rules.t checks every halt and\n"
	"# fatal line of the pinned LHV and XMHF64 sources against this set, that\n"
	"# no other line of them fails it, and that the copy is whole.\n"
	"#\n"
	"# \"Lightweight Hypervisor (LHV) ...\" starts the stage.\n"
	"banner /Lightweight Hypervisor \\(LHV\\)/\n"
	"\n"
	"# As XMHF's CI test5: the run passes when every CPU printed more than 20\n"
	"# lines \"CPU(0xNN): LHV test iter N\", or \"CPU(0xNN): LHV in XMHF test iter\n"
	"# N\" when LHV runs as XMHF's guest (LHV asks XMHF's CPUID leaf).  Inside\n"
	"# XMHF only the latter may count: the xmhf set, as the run's set, fails\n"
	"# the plain line.  The CPU count is the board's: [watch] cpus, else\n"
	"# board.smp on the QEMU board.\n"
	"iter /CPU\\(0x([0-9a-fA-F]+)\\): LHV (in XMHF )?test iter [0-9]+/\n"
	"iter_min 20\n"
	"\n"
	"# HALT_ON_ERRORCOND, LHV's own or the XMHF under it: \"Fatal: Halting!\n"
	"# Condition 'ebx == expected_ebx' failed, line 190, file ...lhv-guest.c\"\n"
	"fail /Fatal: Halting!/ LHV halted on a failed condition\n"
	"# vmentry_error(): \"CPU(0x00): is_resume = 0, valid = 1, err = 7\", then Fatal\n"
	"fail /^CPU\\(0x[0-9a-fA-F]+\\): is_resume = -?[0-9]+, valid = -?[0-9]+, err = -?[0-9]+/ LHV's VM entry failed\n"
	"# \"CPU(0x00): unknown vmcall\" / \"CPU(0x00): unknown vmexit 48\", a VMCS dump, Fatal\n"
	"fail /^CPU\\(0x[0-9a-fA-F]+\\): unknown vm(call|exit)/ LHV met a VM exit it does not handle\n"
	"# An EPT violation LHV did not expect: \"CPU(0x00): ept: 0x00000181\", paddr, vaddr\n"
	"fail /^CPU\\(0x[0-9a-fA-F]+\\): ept: 0x[0-9a-fA-F]+$/ LHV's guest caused an unexpected EPT violation\n"
	"fail /^Guest: interrupt \\/ exception vector -?[0-9]+/ LHV's guest took an unexpected interrupt or exception\n"
	"# TrustVisor's PAL test (LHV as XMHF's guest): the PAL's answer is wrong, and\n"
	"# that CPU spins forever.\n"
	"fail /PAL returns incorrect result/ a TrustVisor PAL returned a wrong result\n"
	"\n"
	"# XMHF's failure lines, as in xmhf.rules (see there for examples).\n"
	"fail /Fatal: Halting!/ XMHF halted on a failed condition\n"
	"fail /VM-ENTRY error/ a VM entry failed\n"
	"fail /Unhandled intercept: 2 \\(0x00000002\\)/ the guest triple-faulted (VM exit reason 2)\n"
	"fail /Unhandled [Ii]ntercept: ?[0-9]* ?\\(?0x[0-9a-fA-F]+/ XMHF met a VM exit it does not handle\n"
	"fail /: unhandled exception [0-9]+ \\(0x[0-9a-fA-F]+\\), halting!/ XMHF took an exception it does not handle\n"
	"fail /fatal, unable to retrieve vcpu/ XMHF took an exception on an unknown CPU\n"
	"fail /^VMEXIT-EXCEPTION:/ the guest raised an exception XMHF does not handle\n"
	"fail /Unhandled Task Switch/ the guest made a task switch XMHF does not handle\n"
	"fail /HALT; Nested events unhandled/ a VM exit interrupted an event delivery XMHF cannot resume\n"
	"fail /error\\(halt\\), unhandled (L2 )?hypercall/ the guest made a hypercall XMHF does not handle\n"
	"fail / error in nested virtualization/ a nested VM entry (VMLAUNCH or VMRESUME) failed\n"
	"fail /possible EPT on REP INS/ an EPT violation on REP INS in a nested guest\n"
	"fail /does not support VT\\. Halting!/ the CPU has no VMX (VT-x)\n"
	"fail /No support for Nested Paging/ the CPU has no nested paging (EPT or NPT)\n"
	"fail /is not an Intel CPU\\. Halting!/ the CPU is not an Intel CPU (a VMX build)\n"
	"fail /no SVM extensions\\. HALT!|SVM extensions disabled in the BIOS/ the CPU has no usable SVM\n"
	"fail /Total number of ASID is too low/ the CPU has too few ASIDs (SVM)\n"
	"fail /unrecognized x86 CPU/ the CPU vendor is unknown\n"
	"fail /Fatal, unable to enter VMX root operation/ VMXON failed\n"
	"fail /(VMCLEAR|VMPTRLD) failed, HALT!|error: (VMCS pointer invalid|neither VMfailInvalid nor VMfailValid)\\? HALT!/ a VMX instruction failed\n"
	"fail /real-mode exec\\. unsupported!/ the guest needs real mode, which needs unrestricted guest\n"
	"fail /Unexpected HLT intercept in UG/ the guest's HLT exited to XMHF unexpectedly\n"
	"fail /unhandled crx, halting!|unhandled XCR register/ the guest accessed a control register XMHF does not handle\n"
	"fail /invalid gpr value \\([0-9]+\\)\\. halting!|Invalid guest CPU register is given/ XMHF decoded an invalid guest register\n"
	"fail /Intel CPU without SINIT module/ DRT on Intel needs the SINIT module\n"
	"fail /send_init_ipi_to_all_APs\\(\\) TIMEOUT!/ the APs did not take the INIT IPI in time\n"
	"fail /Fatal error with SMP detection/ SMP detection found no usable CPUs\n"
	"fail /ACPI RSDP not found/ no ACPI RSDP was found\n"
	"fail /INIT\\(early\\): ERROR: svm_[a-z_]+ FAILED!/ preparing AMD SVM for DRT failed\n"
	"fail /UEFI_CALL\\(.*\\) error at / a UEFI call failed\n"
	"fail /system does not support type-1 access/ PCI configuration access (type 1) is missing\n"
	"fail /Late-initialization, WiP, HALT!/ the hypervisor reached unfinished late initialization\n"
	"fail /E820.*(Halting!|HALT!)|unhandled INT 15h request/ the E820 memory map could not be used\n"
	"fail /(Get system physical address range|Too large system physical address).*Halting!/ the physical address range could not be used\n"
	"fail /MTRR.*(HALT!|Halt!)|CPU does not support MTRRs!|Cannot find MTRR|validate_mtrrs\\(\\) failed/ the MTRRs could not be handled\n"
	"fail /(Unrecognized|Incompatible) microcode update, HALT!/ the guest loaded a microcode update XMHF refuses\n"
	"fail /(VT-d|IOTLB|CET|fault-reporting|DMA protection).*(Halting!|HALT!)|DMAR hardware malfunction|Halt, Unsupported (register|access width)=/ DMA protection (VT-d) failed\n"
	"fail /Fatal, unsupported batch I\\/O ops!|non-complaint CPU \\(ioio intercept\\)/ the guest's I/O XMHF cannot emulate (SVM)\n"
	"fail /Unexpected DB exception on non-BSP core/ a debug exception on an AP (SVM)\n"
	"fail /FATAL ERROR: / the hypapp (TrustVisor) hit a fatal error\n"
	"fail /SECURITY HALT!/ the hypapp (TrustVisor) could not set up its sealing seed\n"
	"fail /EMHF app\\. failed to initialize|unknown? cpu vendor type!|in scode, Halt!|Port access intercept feature unimplemented/ the hypapp (TrustVisor) halted XMHF\n"
	"fail /: assert failed: / an assert() failed\n"
	"fail /Panic: CreatePrimary\\(\\) need to be called/ the TPM 2.0 library cannot seal or unseal (no CreatePrimary)\n"
	"fail /[Ss]hould (never|NEVER|not) (come|get|be) here|must never get here|xmhf_runtime_shutdown returned/ the hypervisor reached code that must not run\n"
	"fail /(^|[^A-Za-z0-9_=-])((Halting|HALTING|halting)([!.]|$)|(HALT|Halt|halt)[!;:,])/ the hypervisor halted\n"
	"fail /(^|[^A-Za-z0-9_=-])(FATAL|Fatal|fatal)([,:!]| ERROR| error)/ the hypervisor reported a fatal error\n";

static const char rules_text_linux[] =
	"# linux: Linux as the last guest of a chain (XMHF-XMHF-Debian), on the same\n"
	"# serial console (console=ttyS0).  No banner: Linux is not a stage of its\n"
	"# own, it runs inside the last one.  Use it in [watch] rules, or in the\n"
	"# last variant's rules after that stage's own set (xmhf, linux).\n"
	"#\n"
	"# \"Kernel panic - not syncing: VFS: Unable to mount root fs ...\"\n"
	"fail /Kernel panic - not syncing/ Linux panicked\n"
	"# \"BUG: KASAN: slab-out-of-bounds in ...\"\n"
	"fail /BUG: KASAN: / KASAN found a memory error\n"
	"# \"BUG: kernel NULL pointer dereference, address: ...\", \"watchdog: BUG:\n"
	"# soft lockup - CPU#1 stuck\", with or without the printk time.\n"
	"fail /(^|\\] |: )BUG: / Linux hit a BUG\n"
	"# \"Oops: 0002 [#1] PREEMPT SMP NOPTI\", \"Oops: general protection fault, ...\"\n"
	"fail /(^|\\] )Oops: / Linux oopsed\n"
	"# Older kernels: \"general protection fault: 0000 [#1] SMP\"\n"
	"fail /(^|\\] )general protection fault/ Linux oopsed\n"
	"\n"
	"# The chain is over when Linux asks for a login: the issue line getty\n"
	"# prints on the serial port (\"Debian GNU/Linux 12 debian ttyS0\"), or the\n"
	"# prompt itself (\"debian login: \").\n"
	"end /Debian GNU\\/Linux [^ ]+ [^ ]+ ttyS[0-9]+/ Linux reached its login prompt\n"
	"end /[^ ]+ login: *$/ Linux reached its login prompt\n";

static const char rules_text_standin[] =
	"# standin: the in-tree stand-in hypervisor (hypervisor/README.md), and the\n"
	"# rules labctl's watch has always used.  It is the run's set when a lab\n"
	"# names none ([watch] rules), and the stage set of a standin variant.\n"
	"#\n"
	"# Each stage prints its banner with its variant name; ${variant} stands\n"
	"# for the stage's variant name, regex-escaped.\n"
	"banner /Stand-in Hypervisor \\(labctl\\) variant=${variant}( |$)/\n"
	"\n"
	"# The stand-in halts with XMHF's own message; XMHF and LHV print these too.\n"
	"fail /Fatal: Halting!/\n"
	"fail /VM-ENTRY error/\n"
	"fail /HALTING!/\n"
	"\n"
	"# The last stage passes when every CPU printed more than 20 lines\n"
	"# \"CPU(0xNN): test iter N\" (the stand-in prints 25); LHV's lines count too.\n"
	"iter /CPU\\(0x([0-9a-fA-F]+)\\): (LHV (in XMHF )?)?test iter [0-9]+/\n"
	"iter_min 20\n";

const char *const rules_builtin_names[] = { "xmhf", "lhv", "linux", "standin",
					    NULL };

const char *rules_builtin_text(const char *name)
{
	static const char *const texts[] = { rules_text_xmhf, rules_text_lhv,
					     rules_text_linux, rules_text_standin };
	int i;

	for (i = 0; rules_builtin_names[i]; i++)
		if (!strcmp(name, rules_builtin_names[i]))
			return texts[i];
	return NULL;
}

static const char *const kind_names[] = {
	[RULE_BANNER] = "banner", [RULE_FAIL] = "fail", [RULE_PASS] = "pass",
	[RULE_ITER] = "iter", [RULE_END] = "end", [RULE_IGNORE] = "ignore",
};

struct rule_set *rules_new(void)
{
	struct rule_set *set = xzalloc(sizeof(*set));

	set->iter_min = -1;
	return set;
}

static void rule_release(struct rule *r)
{
	free(r->re);
	free(r->reason);
	free(r->file);
}

void rules_free(struct rule_set *set)
{
	int i;

	if (!set)
		return;
	for (i = 0; i < set->n; i++)
		rule_release(&set->rules[i]);
	free(set->rules);
	free(set);
}

const char *rules_banner(const struct rule_set *set)
{
	int i;

	for (i = set ? set->n - 1 : -1; i >= 0; i--)
		if (set->rules[i].kind == RULE_BANNER)
			return set->rules[i].re;
	return NULL;
}

bool rules_judges(const struct rule_set *set)
{
	int i;

	for (i = 0; set && i < set->n; i++)
		if (set->rules[i].kind == RULE_PASS ||
		    set->rules[i].kind == RULE_ITER ||
		    set->rules[i].kind == RULE_END)
			return true;
	return false;
}

/* ------------------------------------------------------------ parsing */

struct frame {
	const char *id;		/* realpath or "builtin:NAME": loop check */
	const char *shown;	/* for messages */
};

struct ctx {
	struct rule_set *set;
	unsigned flags;
	struct frame stack[MAX_DEPTH + 1];
	int depth;
	long lines;
};

/* User text in a message: printable ASCII, at most 60 bytes. */
static const char *shown(const char *s, size_t len, char *buf, size_t size)
{
	size_t i, n = 0;

	for (i = 0; i < len && n + 4 < size && n < 60; i++)
		buf[n++] = (unsigned char)s[i] >= 0x20 &&
			   (unsigned char)s[i] < 0x7f ? s[i] : '?';
	if (i < len)
		n += (size_t)snprintf(buf + n, size - n, "...");
	buf[n] = '\0';
	return buf;
}

static int perr(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int perr(const char *file, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		return lab_err(LAB_ECONFIG, "%s:%d: %s", file, line, msg);
	return lab_err(LAB_ECONFIG, "%s: %s", file, msg);
}

/*
 * How many atoms the pattern has once every bounded repeat ({n}, {n,m},
 * {n,}, {,m}) is copied out, as PCRE2 compiles it (a{3} as aaa): nested
 * repeats multiply, so a few of them would make a compiled pattern of
 * megabytes and a match that walks all of it.
 */
static long expanded_size(const char *re)
{
	long outer[MAX_NESTING], cur = 0, last = 0, n, m;
	const char *p = re;
	char *end;
	int depth = 0;

	while (*p) {
		if (*p == '\\' && p[1]) {
			p += 2;
			cur += 1;
			last = 1;
		} else if (*p == '[') {	/* a bracket expression is one atom */
			p++;
			if (*p == '^')
				p++;
			if (*p == ']')
				p++;
			while (*p && *p != ']')
				p++;
			if (*p)
				p++;
			cur += 1;
			last = 1;
		} else if (*p == '(') {
			if (depth >= MAX_NESTING)
				return MAX_EXPANSION + 1;
			outer[depth++] = cur;
			cur = 0;
			p++;
		} else if (*p == ')' && depth) {
			last = cur + 1;
			cur = outer[--depth] + last;
			p++;
		} else if (*p == '{' && (isdigit((unsigned char)p[1]) || p[1] == ',')) {
			n = strtol(p + 1, &end, 10);
			if (n > MAX_REPEAT)
				return MAX_EXPANSION + 1;
			m = n;
			if (*end == ',') {
				end++;
				m = isdigit((unsigned char)*end) ?
				    strtol(end, &end, 10) : n + 1;
			}
			if (n > MAX_REPEAT || m > MAX_REPEAT)
				return MAX_EXPANSION + 1;
			if (m > 1) {
				cur += last * (m - 1);
				last *= m;
			}
			p = *end ? end + 1 : end;
		} else {
			if (*p == '|') {
				last = 0;
			} else if (!strchr("*+?", *p)) {
				cur += 1;
				last = 1;
			}
			p++;
		}
		if (cur > MAX_EXPANSION)
			return cur;
	}
	while (depth)
		cur += outer[--depth];
	return cur;
}

/*
 * Why re cannot be a pattern of this kind, as "WHAT /re/: why" in msg, or
 * NULL; *atoms is its size once expanded.
 */
static const char *pattern_problem(const char *what, enum rule_kind kind,
				   const char *re, bool icase, long *atoms,
				   char *msg, size_t size)
{
	struct strbuf tmp = STRBUF_INIT;
	const char *s = re, *v;
	char why[256], buf[96];
	struct pattern_re *rx;
	int i;

	*atoms = 0;
	shown(re, strlen(re), buf, sizeof(buf));
	if (strstr(re, VARIANT_VAR) && kind != RULE_BANNER) {
		snprintf(msg, size, "%s: ${variant} stands for the stage's variant only in banner patterns",
			 what);
		return msg;
	}
	if (!*re) {
		snprintf(msg, size, "%s: empty pattern", what);
		return msg;
	}
	if (strlen(re) > MAX_PATTERN) {
		snprintf(msg, size, "%s: pattern longer than %d bytes", what,
			 MAX_PATTERN);
		return msg;
	}
	if (kind == RULE_BANNER) {
		/* Check it as it will be compiled: with a variant name in. */
		while ((v = strstr(s, VARIANT_VAR))) {
			strbuf_add(&tmp, s, (size_t)(v - s));
			strbuf_addstr(&tmp, "build64");
			s = v + strlen(VARIANT_VAR);
		}
		strbuf_addstr(&tmp, s);
		s = strbuf_str(&tmp);
	}
	for (i = 0; s[i]; i++) {
		if (s[i] == '\\' && s[i + 1] >= '1' && s[i + 1] <= '9') {
			snprintf(msg, size, "%s /%s/: back-references (\\%c) are not supported",
				 what, buf, s[i + 1]);
			strbuf_release(&tmp);
			return msg;
		}
		if (s[i] == '\\' && s[i + 1])
			i++;
	}
	*atoms = expanded_size(s);
	if (*atoms > MAX_EXPANSION) {
		snprintf(msg, size, "%s /%s/: repeat counts too large (at most %d, and %ld atoms once expanded)",
			 what, buf, MAX_REPEAT, MAX_EXPANSION);
		strbuf_release(&tmp);
		return msg;
	}
	rx = pattern_new(s, icase ? PATTERN_ICASE : 0, why, sizeof(why));
	strbuf_release(&tmp);
	if (!rx) {
		snprintf(msg, size, "%s /%s/: bad pattern: %s", what, buf, why);
		return msg;
	}
	i = pattern_groups(rx);
	pattern_free(rx);
	if (kind == RULE_ITER && i < 1) {
		snprintf(msg, size, "%s /%s/: needs a group, (...), around the CPU id",
			 what, buf);
		return msg;
	}
	return NULL;
}

static int check_regex(const char *file, int line, enum rule_kind kind,
		       const char *re, bool icase, long *atoms)
{
	char msg[512];

	if (pattern_problem(kind_names[kind], kind, re, icase, atoms, msg,
			    sizeof(msg)))
		return perr(file, line, "%s", msg);
	return 0;
}

const char *rules_pattern_problem(enum rule_kind kind, const char *re,
				  char *msg, size_t size)
{
	long atoms;

	return pattern_problem("pattern", kind, re, false, &atoms, msg, size);
}

static bool same_rule(const struct rule *a, const struct rule *b)
{
	return a->kind == b->kind && a->icase == b->icase && !strcmp(a->re, b->re);
}

/* Append; a repeated rule is dropped, a repeated banner moves to the end. */
static void add_rule(struct rule_set *set, const struct rule *r)
{
	int i;

	for (i = 0; i < set->n; i++) {
		if (!same_rule(&set->rules[i], r))
			continue;
		if (r->kind != RULE_BANNER) {
			rule_release((struct rule *)r);
			return;
		}
		rule_release(&set->rules[i]);
		memmove(&set->rules[i], &set->rules[i + 1],
			(size_t)(set->n - i - 1) * sizeof(*set->rules));
		set->n--;
		break;
	}
	set->rules = xrealloc(set->rules, (size_t)(set->n + 1) * sizeof(*set->rules));
	set->rules[set->n++] = *r;
}

/*
 * "/ERE/flags rest": the ERE with \/ made /, other escapes kept; *rest is
 * what follows the flags and its separating blanks.
 */
static int parse_pattern(const char *file, int line, const char *kind,
			 const char *p, struct strbuf *re, bool *icase,
			 const char **rest)
{
	char buf[96];

	if (*p != '/')
		return perr(file, line, "%s: the pattern goes between slashes, /ERE/ (got '%s')",
			    kind, shown(p, strlen(p), buf, sizeof(buf)));
	for (p++; *p && *p != '/'; p++) {
		if (*p == '\\') {
			if (!p[1])
				break;
			if (p[1] != '/')
				strbuf_addch(re, *p);
			p++;
		}
		strbuf_addch(re, *p);
	}
	if (*p != '/')
		return perr(file, line, "%s: pattern has no closing slash (write a / inside it as \\/)",
			    kind);
	if (!re->len)
		return perr(file, line, "%s: empty pattern", kind);
	if (re->len > MAX_PATTERN)
		return perr(file, line, "%s: pattern longer than %d bytes", kind,
			    MAX_PATTERN);
	*icase = false;
	for (p++; *p && !isspace((unsigned char)*p); p++) {
		if (*p != 'i')
			return perr(file, line, "%s: unknown pattern flag '%s' (i: ignore case)",
				    kind, shown(p, 1, buf, sizeof(buf)));
		*icase = true;
	}
	while (isspace((unsigned char)*p))
		p++;
	*rest = p;
	return 0;
}

static int parse_number(const char *file, int line, const char *kind,
			const char *p, long min, long max, int *out)
{
	char buf[96];
	long v = 0;
	const char *s = p;

	while (isdigit((unsigned char)*p) && v <= max)
		v = v * 10 + (*p++ - '0');
	if (p == s || *p || v < min || v > max)
		return perr(file, line, "%s: want a number from %ld to %ld, not '%s'",
			    kind, min, max, shown(s, strlen(s), buf, sizeof(buf)));
	*out = (int)v;
	return 0;
}

static int load_name(struct ctx *c, const char *name, const char *from,
		     int from_line);
static int load_path(struct ctx *c, const char *path, const char *from,
		     int from_line);

static bool path_like(const char *s)
{
	size_t n = strlen(s);

	return strchr(s, '/') || (n > 6 && !strcmp(s + n - 6, ".rules"));
}

static int do_include(struct ctx *c, const char *file, int line, const char *arg)
{
	char buf[96];
	char *path;
	const char *slash;
	int ret;

	if (!*arg || strpbrk(arg, " \t"))
		return perr(file, line, "include: want one set name or file, not '%s'",
			    shown(arg, strlen(arg), buf, sizeof(buf)));
	if (!path_like(arg))
		return load_name(c, arg, file, line);
	if (c->flags & RULES_NO_FILES)
		return perr(file, line, "include %s: only built-in sets here",
			    shown(arg, strlen(arg), buf, sizeof(buf)));
	/* Relative to the including file's directory. */
	slash = strrchr(file, '/');
	if (arg[0] == '/' || !slash || !strncmp(file, "builtin:", 8))
		path = xstrdup(arg);
	else
		path = xasprintf("%.*s/%s", (int)(slash - file), file, arg);
	ret = load_path(c, path, file, line);
	free(path);
	return ret;
}

static int parse_line(struct ctx *c, const char *file, int line, char *p)
{
	static const char *const known =
		"banner, fail, pass, iter, iter_min, cpus, end, ignore, include";
	struct strbuf re = STRBUF_INIT;
	struct rule r = { 0 };
	const char *rest;
	const char *word;
	char buf[96];
	size_t n, len;
	long atoms = 0;
	int kind, ret;

	while (isspace((unsigned char)*p))
		p++;
	len = strlen(p);
	while (len && isspace((unsigned char)p[len - 1]))
		p[--len] = '\0';
	if (!*p || *p == '#')
		return 0;
	n = strcspn(p, " \t");
	rest = p + n;
	while (isspace((unsigned char)*rest))
		rest++;
	if (n == 7 && !strncmp(p, "include", n))
		return do_include(c, file, line, rest);
	if (n == 8 && !strncmp(p, "iter_min", n))
		return parse_number(file, line, "iter_min", rest, 0, 1000000,
				    &c->set->iter_min);
	if (n == 4 && !strncmp(p, "cpus", n))
		return parse_number(file, line, "cpus", rest, 1, 255, &c->set->cpus);
	for (kind = 0; kind <= RULE_IGNORE; kind++)
		if (strlen(kind_names[kind]) == n &&
		    !strncmp(p, kind_names[kind], n))
			break;
	if (kind > RULE_IGNORE)
		return perr(file, line, "unknown directive '%s' (known: %s)",
			    shown(p, n, buf, sizeof(buf)), known);
	word = kind_names[kind];
	ret = parse_pattern(file, line, word, rest, &re, &r.icase, &rest);
	if (!ret && *rest && kind != RULE_FAIL && kind != RULE_END)
		ret = perr(file, line, "%s: unexpected text after the pattern: '%s' (only fail and end take a reason)",
			   word, shown(rest, strlen(rest), buf, sizeof(buf)));
	if (!ret)
		ret = check_regex(file, line, (enum rule_kind)kind, strbuf_str(&re),
				  r.icase, &atoms);
	if (!ret && c->set->atoms + atoms > MAX_SET_ATOMS)
		ret = perr(file, line, "%s: the set's patterns are too large together (%ld atoms, at most %ld)",
			   word, c->set->atoms + atoms, MAX_SET_ATOMS);
	if (ret) {
		strbuf_release(&re);
		return ret;
	}
	r.kind = (enum rule_kind)kind;
	r.re = strbuf_detach(&re, NULL);
	r.reason = *rest ? xstrdup(rest) : NULL;
	r.file = xstrdup(file);
	r.line = line;
	c->set->atoms += atoms;
	add_rule(c->set, &r);
	return 0;
}

static int parse_text(struct ctx *c, const char *file, const char *text,
		      size_t len)
{
	const char *p = text, *end = text + len, *nl;
	char *line;
	int lineno = 0, ret = 0;

	while (p < end && !ret) {
		size_t n;

		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		lineno++;
		if (++c->lines > MAX_LINES_READ)
			return perr(file, lineno, "more than %d lines read (includes included too often?)",
				    MAX_LINES_READ);
		if (memchr(p, '\0', n))
			return perr(file, lineno, "NUL byte in the line");
		if (n > MAX_LINE)
			return perr(file, lineno, "line longer than %d bytes", MAX_LINE);
		line = xstrndup(p, n);
		ret = parse_line(c, file, lineno, line);
		free(line);
		p = nl ? nl + 1 : end;
	}
	return ret;
}

/* Parse text as the set identified by id, with loop and depth checks. */
static int enter(struct ctx *c, const char *id, const char *file,
		 const char *text, size_t len, const char *from, int from_line)
{
	struct strbuf chain = STRBUF_INIT;
	int i, ret;

	for (i = 0; i < c->depth; i++) {
		if (strcmp(c->stack[i].id, id))
			continue;
		for (; i < c->depth; i++)
			strbuf_addf(&chain, "%s -> ", c->stack[i].shown);
		strbuf_addstr(&chain, file);
		ret = perr(from, from_line, "include loop: %s", strbuf_str(&chain));
		strbuf_release(&chain);
		return ret;
	}
	if (c->depth >= MAX_DEPTH)
		return perr(from, from_line, "includes nested more than %d deep",
			    MAX_DEPTH);
	c->stack[c->depth++] = (struct frame){ id, file };
	ret = parse_text(c, file, text, len);
	c->depth--;
	return ret;
}

static int load_path(struct ctx *c, const char *path, const char *from,
		     int from_line)
{
	struct strbuf text = STRBUF_INIT;
	char real[PATH_MAX];
	int ret;

	ret = lab_read_regular_file(&text, path, MAX_FILE);
	if (ret) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", lab_errmsg(ret));
		strbuf_release(&text);
		return from ? perr(from, from_line, "%s", msg) :
			      lab_err(LAB_ECONFIG, "%s", msg);
	}
	ret = enter(c, realpath(path, real) ? real : path, path, text.buf ? text.buf : "",
		    text.len, from ? from : path, from ? from_line : 0);
	strbuf_release(&text);
	return ret;
}

static bool good_name(const char *s)
{
	if (!*s || *s == '.' || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._-", *s))
			return false;
	return true;
}

static int load_name(struct ctx *c, const char *name, const char *from,
		     int from_line)
{
	const char *text = rules_builtin_text(name);
	const char *env = getenv("LABCTL_RULES");
	char buf[96];
	char *path = NULL;
	int i, ret;

	if (text) {
		char id[80], shownname[80];

		snprintf(id, sizeof(id), "builtin:%s", name);
		snprintf(shownname, sizeof(shownname), "builtin:%s", name);
		return enter(c, id, shownname, text, strlen(text),
			     from ? from : name, from ? from_line : 0);
	}
	if (!good_name(name))
		return perr(from ? from : "rules", from_line,
			    "'%s' is not a rule set name (letters, digits, ., _, -)",
			    shown(name, strlen(name), buf, sizeof(buf)));
	if (!(c->flags & RULES_NO_FILES)) {
		/* $LABCTL_RULES dirs, then the installed data dir. */
		while (env && *env && !path) {
			size_t n = strcspn(env, ":");

			if (n) {
				char *p = xasprintf("%.*s/%s.rules", (int)n, env, name);

				if (!access(p, F_OK))
					path = p;
				else
					free(p);
			}
			env += n + (env[n] == ':');
		}
		if (!path) {
			char *p = xasprintf("%s/rules/%s.rules", lab_data_dir(), name);

			if (!access(p, F_OK))
				path = p;
			else
				free(p);
		}
	}
	if (path) {
		ret = load_path(c, path, from, from_line);
		free(path);
		return ret;
	}
	{
		struct strbuf known = STRBUF_INIT;

		for (i = 0; rules_builtin_names[i]; i++)
			strbuf_addf(&known, "%s%s", i ? ", " : "", rules_builtin_names[i]);
		ret = perr(from ? from : "rules", from_line,
			   "no rule set '%s' (built in: %s; others are NAME.rules in $LABCTL_RULES or %s/rules)",
			   name, strbuf_str(&known), lab_data_dir());
		strbuf_release(&known);
	}
	return ret;
}

int rules_parse(struct rule_set *set, const char *path, const char *text,
		size_t len, unsigned flags)
{
	struct ctx c = { .set = set, .flags = flags };

	return enter(&c, path, path, text, len, path, 0);
}

int rules_load_file(struct rule_set *set, const char *path, const char *from,
		    int from_line)
{
	struct ctx c = { .set = set };

	return load_path(&c, path, from, from_line);
}

int rules_load_name(struct rule_set *set, const char *name, const char *from,
		    int from_line, unsigned flags)
{
	struct ctx c = { .set = set, .flags = flags };

	return load_name(&c, name, from, from_line);
}

char *rules_format(const struct rule_set *set)
{
	struct strbuf out = STRBUF_INIT;
	const char *p;
	int i;

	for (i = 0; i < set->n; i++) {
		const struct rule *r = &set->rules[i];

		strbuf_addf(&out, "%s /", kind_names[r->kind]);
		for (p = r->re; *p; p++) {
			if (*p == '\\' && p[1]) {
				strbuf_add(&out, p, 2);
				p++;
				continue;
			}
			if (*p == '/')
				strbuf_addch(&out, '\\');
			strbuf_addch(&out, *p);
		}
		strbuf_addf(&out, "/%s%s%s\n", r->icase ? "i" : "",
			    r->reason ? " " : "", r->reason ? r->reason : "");
	}
	if (set->iter_min >= 0)
		strbuf_addf(&out, "iter_min %d\n", set->iter_min);
	if (set->cpus > 0)
		strbuf_addf(&out, "cpus %d\n", set->cpus);
	return strbuf_detach(&out, NULL);
}

/* ------------------------------------------------------------ lab keys */

static int value_line(const struct lab_value *vals, int n, const char *section,
		      const char *key)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(vals[i].section, section) &&
		    !strcmp(vals[i].def->key, key))
			return vals[i].line;
	return 0;
}

/* Names in a list "xmhf, lhv" (commas and blanks separate). */
static int load_list(struct rule_set *set, const char *list, const char *lab,
		     int line)
{
	char *copy = xstrdup(list), *save = NULL, *tok;
	int ret = 0;

	for (tok = strtok_r(copy, ", \t", &save); tok && !ret;
	     tok = strtok_r(NULL, ", \t", &save))
		ret = rules_load_name(set, tok, lab, line, 0);
	free(copy);
	return ret;
}

/* A rules_file value: relative to the lab file's directory. */
static int load_lab_file(struct rule_set *set, const char *lab_path,
			 const char *file, int line)
{
	const char *slash = strrchr(lab_path, '/');
	char *path;
	int ret;

	if (file[0] == '/' || !slash)
		path = xstrdup(file);
	else
		path = xasprintf("%.*s/%s", (int)(slash - lab_path), lab_path, file);
	ret = rules_load_file(set, path, lab_path, line);
	free(path);
	return ret;
}

/* XMHF's own pass rules (its guest came up) judge an XMHF stage only. */
static bool xmhf_guest_rule(const struct rule *r)
{
	return r->kind == RULE_PASS && !strcmp(r->file, "builtin:xmhf");
}

/*
 * The last stage's XMHF guest rule joins the run's judging rules (a real
 * XMHF prints none of the built-in sets' iteration lines): moved from the
 * stage's set to the run's.
 */
static void move_xmhf_guest(struct rule_set *from, struct rule_set *to)
{
	int i, k = 0;

	for (i = 0; i < from->n; i++) {
		if (xmhf_guest_rule(&from->rules[i]))
			add_rule(to, &from->rules[i]);	/* takes it over */
		else
			from->rules[k++] = from->rules[i];
	}
	from->n = k;
}

/* A recipe's set yields its pass, iter and end rules to the run's. */
static void drop_judging(struct rule_set *set)
{
	int i, k = 0;

	for (i = 0; i < set->n; i++) {
		if (set->rules[i].kind == RULE_PASS ||
		    set->rules[i].kind == RULE_ITER ||
		    set->rules[i].kind == RULE_END)
			rule_release(&set->rules[i]);
		else
			set->rules[k++] = set->rules[i];
	}
	set->n = k;
	set->cpus = 0;
	set->iter_min = -1;
}

/*
 * A variant's set when it names none: what it builds, as its last build's
 * MANIFEST recorded it (the banner in its init.bin) or its source tree
 * says (LHV's own sources); the args only when neither says.
 */
static const char *recipe_default(const struct lab_variant *v)
{
	const char *recipe = lab_variant_get(v, "recipe");
	const char *args = lab_variant_get(v, "args");
	struct hv_variant hv = {
		.name = v->name, .recipe = recipe, .src = lab_variant_get(v, "src"),
		.args = args, .rev = lab_variant_get(v, "rev"),
	};
	const char *kind, *from;

	if (!recipe || !strcmp(recipe, "standin"))
		return "standin";
	kind = hv_variant_kind(&hv, hv_default_images_dir(), &from);
	if (kind && strcmp(kind, "standin"))
		return kind;
	return args && strstr(args, "--lhv-opt") ? "lhv" : "xmhf";
}

/* The run's set: without them (see xmhf_guest_rule). */
static void drop_xmhf_guest(struct rule_set *set)
{
	int i, k = 0;

	for (i = 0; i < set->n; i++) {
		if (xmhf_guest_rule(&set->rules[i]))
			rule_release(&set->rules[i]);
		else
			set->rules[k++] = set->rules[i];
	}
	set->n = k;
}

/*
 * Whether a last XMHF stage's guest rule may join the run's judging rules:
 * they are all built in (the default standin set), and none is an end
 * rule (a guest OS such as linux then decides, after GRUB).
 */
static bool guest_rule_may_join(const struct rule_set *set)
{
	int i;

	for (i = 0; i < set->n; i++) {
		const struct rule *r = &set->rules[i];

		if (r->kind == RULE_END)
			return false;
		if ((r->kind == RULE_PASS || r->kind == RULE_ITER) &&
		    strncmp(r->file, "builtin:", 8))
			return false;
	}
	return true;
}

void rules_arrange_run(struct rule_set *run)
{
	drop_xmhf_guest(run);
}

void rules_arrange_stage(struct rule_set *run, struct rule_set *stage,
			 bool last)
{
	if (!rules_judges(run))
		return;
	if (last && guest_rule_may_join(run))
		move_xmhf_guest(stage, run);
	drop_judging(stage);
}

#define STANDIN_OPT_LHV 0x400	/* hypervisor/README.md: an LHV build */

/* The stand-in's HV_OPT at boot: the last hv_opt= on its command line wins
 * over the built-in options (hypervisor/README.md). */
static int64_t standin_options(const struct lab *lab, const struct lab_variant *v)
{
	const char *lines[2] = { lab->grub.cmdline,
				 lab_variant_get(v, "cmdline") };
	int64_t opt = 0;
	int i;

	lab_parse_int(lab_variant_get(v, "options"), &opt);
	for (i = 0; i < 2; i++) {
		char *copy = lines[i] ? xstrdup(lines[i]) : NULL, *save = NULL, *w;

		for (w = copy ? strtok_r(copy, " \t", &save) : NULL; w;
		     w = strtok_r(NULL, " \t", &save))
			if (!strncmp(w, "hv_opt=", 7))
				lab_parse_int(w + 7, &opt);
		free(copy);
	}
	return opt;
}

/*
 * The run's last stage is judged by iteration lines alone, from a built-in
 * set, and its variant is a stand-in that is not an LHV build: in a chain
 * it boots the disk's next GRUB entry and prints no iteration line, so the
 * run could only time out.  Say so before anything is built or powered.
 */
static int check_last_can_iterate(const struct lab *lab,
				  const struct lab_variant *last,
				  const struct rule_set *judge)
{
	const char *recipe = lab_variant_get(last, "recipe");
	struct strbuf lhv = STRBUF_INIT;
	int i, ret;

	if (lab->watch.pass || (recipe && strcmp(recipe, "standin")) ||
	    (standin_options(lab, last) & STANDIN_OPT_LHV))
		return 0;
	for (i = 0; i < judge->n; i++) {
		const struct rule *r = &judge->rules[i];

		if (r->kind == RULE_PASS || r->kind == RULE_END ||
		    (r->kind == RULE_ITER && strncmp(r->file, "builtin:", 8)))
			return 0;
	}
	for (i = 0; i < lab->nvariants; i++) {
		const struct lab_variant *v = &lab->variants[i];
		const char *rec = lab_variant_get(v, "recipe");

		if ((!rec || !strcmp(rec, "standin")) &&
		    (standin_options(lab, v) & STANDIN_OPT_LHV))
			strbuf_addf(&lhv, "%s%s", lhv.len ? ", " : "", v->name);
	}
	ret = perr(lab->path, last->line,
		   "nothing can pass the last stage: %s is a stand-in without the LHV option (0x%x in options), so it boots the next GRUB entry and prints no iteration lines, which are what passes the run; end the chain with an LHV variant%s%s%s, or give %s a pass or end rule (its rules_file, or [watch] pass)",
		   last->name, STANDIN_OPT_LHV, lhv.len ? " (" : "",
		   strbuf_str(&lhv), lhv.len ? ")" : "", last->name);
	strbuf_release(&lhv);
	return ret;
}

/* An end or pass rule: the set can say a guest OS is up. */
static bool says_os_up(const struct rule_set *set)
{
	int i;

	for (i = 0; set && i < set->n; i++)
		if (set->rules[i].kind == RULE_END || set->rules[i].kind == RULE_PASS)
			return true;
	return false;
}

int lab_rules_load(const struct lab *lab, const struct lab_variant *const *chain,
		   int n, bool ends_in_os, struct lab_rules *out)
{
	const char *s;
	int i, ret, line;

	memset(out, 0, sizeof(*out));
	out->n = n;
	out->iter_min = -1;
	out->run = rules_new();
	out->stage = xcalloc((size_t)n + 1, sizeof(*out->stage));
	out->banner = xcalloc((size_t)n + 1, sizeof(*out->banner));
	s = lab->watch.rules;
	line = value_line(lab->values, lab->nvalues, "watch", "rules");
	ret = load_list(out->run, s ? s : "standin", lab->path, line);
	s = lab->watch.rules_file;
	if (!ret && s)
		ret = load_lab_file(out->run, lab->path, s,
				    value_line(lab->values, lab->nvalues, "watch",
					       "rules_file"));
	rules_arrange_run(out->run);
	for (i = 0; i < n && !ret; i++) {
		const struct lab_variant *v = chain[i];
		const char *banner;

		out->stage[i] = rules_new();
		s = lab_variant_get(v, "rules");
		line = value_line(v->values, v->nvalues, "variant", "rules");
		ret = load_list(out->stage[i], s ? s : recipe_default(v), lab->path,
				line ? line : v->line);
		if (!ret && !s)
			rules_arrange_stage(out->run, out->stage[i], i == n - 1);
		s = lab_variant_get(v, "rules_file");
		if (!ret && s)
			ret = load_lab_file(out->stage[i], lab->path, s,
					    value_line(v->values, v->nvalues,
						       "variant", "rules_file"));
		if (ret)
			break;
		banner = rules_banner(out->stage[i]);
		if (banner) {
			out->banner[i] = xstrdup(banner);
		} else {
			struct rule_set *d = rules_new();

			ret = rules_load_name(d, recipe_default(v), lab->path,
					      v->line, 0);
			if (!ret)
				out->banner[i] = xstrdup(rules_banner(d));
			rules_free(d);
		}
	}
	if (!ret && ends_in_os) {
		/* The OS after the chain is judged by the run's sets (watch.h). */
		if (!says_os_up(out->run) && !(n && says_os_up(out->stage[n - 1])) &&
		    !lab->watch.pass)
			ret = perr(lab->path, value_line(lab->values, lab->nvalues,
							 "watch", "rules"),
				   "the chain ends in the board's OS (default), but no rule set says when it is up: add linux to [watch] rules (labctl-rules(5))");
	} else if (!ret && n && !rules_judges(out->stage[n - 1]) &&
		   !rules_judges(out->run) && !lab->watch.pass) {
		/* A run nothing can pass would only ever time out. */
		ret = perr(lab->path, 0,
			   "nothing can pass the last stage (%s): give the run or that variant a rule set with pass, iter or end rules (e.g. rules = lhv), or set [watch] pass",
			   chain[n - 1]->name);
	} else if (!ret && n) {
		ret = check_last_can_iterate(lab, chain[n - 1],
					     rules_judges(out->stage[n - 1]) ?
					     out->stage[n - 1] : out->run);
	}
	if (ret) {
		lab_rules_release(out);
		return ret;
	}
	/* The lab file's own keys win over any set's. */
	if (value_line(lab->values, lab->nvalues, "watch", "cpus"))
		out->cpus = lab->watch.cpus;
	else if (n && out->stage[n - 1]->cpus)
		out->cpus = out->stage[n - 1]->cpus;
	else
		out->cpus = out->run->cpus;
	if (value_line(lab->values, lab->nvalues, "watch", "iter_min"))
		out->iter_min = lab->watch.iter_min;
	else if (n && out->stage[n - 1]->iter_min >= 0)
		out->iter_min = out->stage[n - 1]->iter_min;
	else
		out->iter_min = out->run->iter_min;
	return 0;
}

int lab_rules_check(const struct lab *lab)
{
	struct rule_set *set = rules_new();
	const char *s;
	int i, ret;

	s = lab->watch.rules;
	ret = load_list(set, s ? s : "standin", lab->path,
			value_line(lab->values, lab->nvalues, "watch", "rules"));
	s = lab->watch.rules_file;
	if (!ret && s)
		ret = load_lab_file(set, lab->path, s,
				    value_line(lab->values, lab->nvalues, "watch",
					       "rules_file"));
	for (i = 0; i < lab->nvariants && !ret; i++) {
		const struct lab_variant *v = &lab->variants[i];
		int line = value_line(v->values, v->nvalues, "variant", "rules");

		rules_free(set);
		set = rules_new();
		s = lab_variant_get(v, "rules");
		ret = load_list(set, s ? s : recipe_default(v), lab->path,
				line ? line : v->line);
		s = lab_variant_get(v, "rules_file");
		if (!ret && s)
			ret = load_lab_file(set, lab->path, s,
					    value_line(v->values, v->nvalues,
						       "variant", "rules_file"));
	}
	rules_free(set);
	return ret;
}

void lab_rules_release(struct lab_rules *lr)
{
	int i;

	rules_free(lr->run);
	for (i = 0; lr->stage && i < lr->n; i++) {
		rules_free(lr->stage[i]);
		free(lr->banner[i]);
	}
	free(lr->stage);
	free(lr->banner);
	memset(lr, 0, sizeof(*lr));
}

