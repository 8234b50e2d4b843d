/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 on libcrypto's EVP interface: a stream (names, parameters and
 * file contents fed in turn, for the build cache's keys) and whole files.
 *
 * Why in process instead of spawning sha256sum: a cached `labctl build`
 * must answer in a few milliseconds, so there is no program start per
 * file.
 */
#ifndef HVIMAGE_SHA256_H
#define HVIMAGE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_HEX_LEN 64	/* without the NUL */

struct evp_md_ctx_st;

/* A stream being hashed: between lab_sha256_init and a final or release. */
struct lab_sha256 {
	struct evp_md_ctx_st *ctx;
};

/* Start a stream (out of memory aborts, as with xmalloc). */
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
/* Drop a stream that will not be finished (an error on the way). */
void lab_sha256_release(struct lab_sha256 *c);

/* One call: the hex digest of len bytes. */
void lab_sha256_hex(const void *data, size_t len,
		    char hex[SHA256_HEX_LEN + 1]);

/*
 * Hash a file's contents; *size (if not NULL) gets its length.
 * Returns 0, or -LAB_ENOENT / -LAB_EIO / -LAB_EPERM with a message.
 */
int lab_sha256_file(const char *path, char hex[SHA256_HEX_LEN + 1],
		    uint64_t *size);
/* Feed a file's contents into c (same errors; c stays to be finished
 * or released). */
int lab_sha256_update_file(struct lab_sha256 *c, const char *path,
			   uint64_t *size);

#endif
