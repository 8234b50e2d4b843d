/*
 * hypervisor.bin: the payload module init.bin checks. Shared by the
 * freestanding payload.c and the host tool mkpayload.c, so it uses only
 * fixed-width types from <stdint.h>. All fields little-endian.
 */
#ifndef PAYLOAD_H
#define PAYLOAD_H

#include <stdint.h>

#define PAYLOAD_MAGIC		"LABHVPL1"
#define PAYLOAD_HDR_SIZE	64
#define PAYLOAD_BODY_SIZE	8192

struct payload_hdr {
	char magic[8];		/* PAYLOAD_MAGIC, no NUL */
	uint32_t version;	/* 1 */
	uint32_t hdr_size;	/* PAYLOAD_HDR_SIZE */
	uint32_t body_len;	/* bytes after the header */
	uint32_t body_crc32;	/* CRC-32 (IEEE, as gzip) of the body */
	uint32_t hv_opt;	/* the build's HV_OPT */
	uint32_t arch_bits;	/* 32 or 64 */
	char variant[32];	/* NUL-padded */
};

/* CRC-32, bitwise: small beats fast for 8 KiB once per boot. */
static inline uint32_t payload_crc32(const uint8_t *p, uint32_t n)
{
	uint32_t crc = 0xffffffff;
	int k;

	while (n--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320 & -(crc & 1));
	}
	return ~crc;
}

/* Body bytes: a fixed xorshift stream, so builds are reproducible. */
static inline void payload_fill(uint8_t *p, uint32_t n, uint32_t seed)
{
	uint32_t x = seed ? seed : 0x2545f491;

	while (n--) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		*p++ = (uint8_t)x;
	}
}

#endif
