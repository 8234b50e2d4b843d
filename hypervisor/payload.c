/* Check the payload module: magic, length, CRC-32 (payload.h). */
#include "hv.h"
#include "payload.h"

int payload_check(const u8 *p, u32 size)
{
	struct payload_hdr h;
	const char *arch;
	u32 crc;

	if (size >= 2 && p[0] == 0x1f && p[1] == 0x8b) {
		hv_printf("payload: bad: gzip-compressed (GRUB's module gunzips, QEMU -initrd does not)\n");
		return -1;
	}
	if (size < PAYLOAD_HDR_SIZE) {
		hv_printf("payload: bad: %u bytes, shorter than its %u-byte header\n",
			  size, PAYLOAD_HDR_SIZE);
		return -1;
	}
	memcpy(&h, p, sizeof(h));
	if (memcmp(h.magic, PAYLOAD_MAGIC, 8)) {
		hv_printf("payload: bad magic %02x %02x %02x %02x %02x %02x %02x %02x (want %s)\n",
			  p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7],
			  PAYLOAD_MAGIC);
		return -1;
	}
	if (h.hdr_size != PAYLOAD_HDR_SIZE ||
	    h.body_len != size - PAYLOAD_HDR_SIZE) {
		hv_printf("payload: bad length: header says %u+%u, module has %u bytes\n",
			  h.hdr_size, h.body_len, size);
		return -1;
	}
	crc = payload_crc32(p + PAYLOAD_HDR_SIZE, h.body_len);
	if (crc != h.body_crc32) {
		hv_printf("payload: bad checksum: sum=0x%08x, header says 0x%08x\n",
			  crc, h.body_crc32);
		return -1;
	}
	h.variant[sizeof(h.variant) - 1] = 0;
	arch = h.arch_bits == 64 ? "amd64" : "i386";
	hv_printf("payload: ok magic=%s len=%u sum=0x%08x variant=%s arch=%s\n",
		  PAYLOAD_MAGIC, h.body_len, crc, h.variant, arch);
	/* a stale copy from another build is a classic deploy mistake */
	if (strncmp(h.variant, HV_VARIANT, sizeof(h.variant)) ||
	    strncmp(arch, HV_ARCH, 6))
		hv_printf("payload: warning: built for variant=%s arch=%s, init.bin is variant=%s arch=%s\n",
			  h.variant, arch, HV_VARIANT, HV_ARCH);
	return 0;
}
