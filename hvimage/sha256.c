// SPDX-License-Identifier: MIT
/* SHA-256 on libcrypto's EVP interface; see sha256.h. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "hvimage/sha256.h"
#include "lib/err.h"

void lab_sha256_init(struct lab_sha256 *c)
{
	c->ctx = EVP_MD_CTX_new();
	if (!c->ctx || !EVP_DigestInit_ex(c->ctx, EVP_sha256(), NULL)) {
		fprintf(stderr, "labctl: out of memory starting SHA-256\n");
		abort();
	}
}

void lab_sha256_update(struct lab_sha256 *c, const void *data, size_t len)
{
	EVP_DigestUpdate(c->ctx, data, len);
}

void lab_sha256_final(struct lab_sha256 *c, uint8_t out[SHA256_LEN])
{
	unsigned int len = 0;

	EVP_DigestFinal_ex(c->ctx, out, &len);
	lab_sha256_release(c);
}

void lab_sha256_release(struct lab_sha256 *c)
{
	EVP_MD_CTX_free(c->ctx);
	c->ctx = NULL;
}

static void to_hex(const uint8_t d[SHA256_LEN], char hex[SHA256_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < SHA256_LEN; i++) {
		hex[2 * i] = digits[d[i] >> 4];
		hex[2 * i + 1] = digits[d[i] & 15];
	}
	hex[SHA256_HEX_LEN] = 0;
}

void lab_sha256_final_hex(struct lab_sha256 *c, char hex[SHA256_HEX_LEN + 1])
{
	uint8_t d[SHA256_LEN];

	lab_sha256_final(c, d);
	to_hex(d, hex);
}

void lab_sha256_hex(const void *data, size_t len, char hex[SHA256_HEX_LEN + 1])
{
	struct lab_sha256 c;

	lab_sha256_init(&c);
	lab_sha256_update(&c, data, len);
	lab_sha256_final_hex(&c, hex);
}

int lab_sha256_update_file(struct lab_sha256 *c, const char *path,
			   uint64_t *size)
{
	uint8_t buf[65536];
	uint64_t total = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return lab_err_errno(errno, "cannot read %s", path);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			return lab_err_errno(e, "cannot read %s", path);
		}
		if (!n)
			break;
		lab_sha256_update(c, buf, (size_t)n);
		total += (uint64_t)n;
	}
	close(fd);
	if (size)
		*size = total;
	return 0;
}

int lab_sha256_file(const char *path, char hex[SHA256_HEX_LEN + 1],
		    uint64_t *size)
{
	struct lab_sha256 c;
	int ret;

	lab_sha256_init(&c);
	ret = lab_sha256_update_file(&c, path, size);
	if (ret) {
		lab_sha256_release(&c);
		return ret;
	}
	lab_sha256_final_hex(&c, hex);
	return 0;
}
