/* Multiboot v1 (the parts the stand-in uses). Shared with head.S. */
#ifndef MULTIBOOT_H
#define MULTIBOOT_H

#define MB_HEADER_MAGIC		0x1BADB002
#define MB_BOOTLOADER_MAGIC	0x2BADB002
/* page-aligned modules, memory info, load addresses in the header */
#define MB_HEADER_FLAGS		((1 << 0) | (1 << 1) | (1 << 16))

#define MB_INFO_MEMORY		(1 << 0)
#define MB_INFO_CMDLINE		(1 << 2)
#define MB_INFO_MODS		(1 << 3)
#define MB_INFO_MMAP		(1 << 6)

#ifndef __ASSEMBLER__
#include "hv.h"

struct mb_info {
	u32 flags;
	u32 mem_lower, mem_upper;
	u32 boot_device;
	u32 cmdline;
	u32 mods_count, mods_addr;
	u32 syms[4];
	u32 mmap_length, mmap_addr;
} __attribute__((packed));

struct mb_module {
	u32 mod_start, mod_end;
	u32 string;
	u32 reserved;
} __attribute__((packed));

struct mb_mmap {
	u32 size;	/* of the rest of the entry */
	u64 addr, len;
	u32 type;
} __attribute__((packed));

#endif
#endif
