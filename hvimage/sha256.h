/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 (FIPS 180-4), small and self-contained.
 *
 * Why our own instead of spawning sha256sum: the build cache hashes a
 * stream made of names, parameters and file contents (not whole files),
 * and a cached `labctl build` must answer in a few milliseconds, so the
 * hashing happens in-process without a program start per file.  Whole
 * files (lab_sha256_file) use libcrypto, for its SHA extensions.
 */
#ifndef HVIMAGE_SHA256_H
#define HVIMAGE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_HEX_LEN 64	/* without the NUL */

struct lab_sha256 {
	uint32_t h[8];
	uint64_t bytes;		/* total length so far */
	uint8_t buf[64];
	size_t fill;		/* bytes in buf */
};

void lab_sha256_init(struct lab_sha256 *c);
void lab_sha256_update(struct lab_sha256 *c, const void *data, size_t len);
static inline void lab_sha256_addstr(struct lab_sha256 *c, const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	lab_sha256_update(c, s, n);
}
/* Finish: out gets the digest; c must be re-initialised before reuse. */
void lab_sha256_final(struct lab_sha256 *c, uint8_t out[SHA256_LEN]);
/* Finish into 64 lowercase hex digits and a NUL. */
void lab_sha256_final_hex(struct lab_sha256 *c, char hex[SHA256_HEX_LEN + 1]);

/* One call: the hex digest of len bytes. */
void lab_sha256_hex(const void *data, size_t len,
		    char hex[SHA256_HEX_LEN + 1]);

/*
 * Hash a file's contents; *size (if not NULL) gets its length.
 * Returns 0, or -LAB_ENOENT / -LAB_EIO / -LAB_EPERM with a message.
 */
int lab_sha256_file(const char *path, char hex[SHA256_HEX_LEN + 1],
		    uint64_t *size);
/* Feed a file's contents into c (same errors). */
int lab_sha256_update_file(struct lab_sha256 *c, const char *path,
			   uint64_t *size);

#endif
