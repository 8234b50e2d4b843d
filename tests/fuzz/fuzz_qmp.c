// SPDX-License-Identifier: MIT
/*
 * QMP lines come from a QEMU we start, but a broken or hostile one must
 * not crash labctl: parse anything, and check that the fixed-size fields
 * the parser fills are strings and the reply it hands back can be walked.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "power/qmp.h"

static void check_field(const char *f, size_t size)
{
	if (!memchr(f, '\0', size))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A heap copy without a terminator, so ASan sees any over-read. */
	char *line = malloc(size ? size : 1);
	struct qmp_msg msg;
	char label[64];

	if (!line)
		return 0;
	memcpy(line, data, size);
	memset(&msg, 0, sizeof(msg));
	qmp_parse_line(line, size, &msg);
	check_field(msg.event, sizeof(msg.event));
	check_field(msg.reason, sizeof(msg.reason));
	check_field(msg.status, sizeof(msg.status));
	check_field(msg.err_class, sizeof(msg.err_class));
	check_field(msg.err_desc, sizeof(msg.err_desc));
	if ((msg.kind == QMP_BAD) != !msg.root || (msg.ret && !msg.root))
		abort();
	if (msg.ret) {
		qmp_chardev_unconnected(msg.ret, "s0", label, sizeof(label));
		check_field(label, sizeof(label));
	}
	qmp_msg_release(&msg);
	free(line);
	return 0;
}
