/*
 * Host tool: mkpayload VARIANT ARCH HV_OPT OUT writes hypervisor.bin
 * (payload.h). The Makefile gzips it with -n.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "payload.h"

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

int main(int argc, char **argv)
{
	static uint8_t buf[PAYLOAD_HDR_SIZE + PAYLOAD_BODY_SIZE];
	uint8_t *body = buf + PAYLOAD_HDR_SIZE;
	unsigned long opt;
	char *end;
	FILE *f;

	if (argc != 5 || strlen(argv[1]) >= 32 ||
	    (strcmp(argv[2], "i386") && strcmp(argv[2], "amd64"))) {
		fprintf(stderr, "usage: mkpayload VARIANT i386|amd64 HV_OPT OUT\n");
		return 2;
	}
	opt = strtoul(argv[3], &end, 0);
	if (*end || opt > 0xffffffffUL) {
		fprintf(stderr, "mkpayload: bad HV_OPT '%s'\n", argv[3]);
		return 2;
	}
	payload_fill(body, PAYLOAD_BODY_SIZE,
		     payload_crc32((const uint8_t *)argv[1], strlen(argv[1])));
	memcpy(buf, PAYLOAD_MAGIC, 8);
	put32(buf + 8, 1);
	put32(buf + 12, PAYLOAD_HDR_SIZE);
	put32(buf + 16, PAYLOAD_BODY_SIZE);
	put32(buf + 20, payload_crc32(body, PAYLOAD_BODY_SIZE));
	put32(buf + 24, (uint32_t)opt);
	put32(buf + 28, strcmp(argv[2], "amd64") ? 32 : 64);
	strncpy((char *)buf + 32, argv[1], 32);

	f = fopen(argv[4], "wb");
	if (!f || fwrite(buf, sizeof(buf), 1, f) != 1 || fclose(f)) {
		perror(argv[4]);
		return 1;
	}
	return 0;
}
