// SPDX-License-Identifier: MIT
/*
 * QMP lines come from a QEMU we start, but a broken or hostile one must
 * not crash labctl: parse anything, and check that whatever the parser
 * hands back stays inside the line and its fixed-size fields are strings.
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
	struct qmp_span span, val;
	char label[64];
	size_t it = 0;

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
	if (msg.ret && (msg.ret < line || msg.ret + msg.ret_len > line + size))
		abort();
	if (msg.ret) {
		span = (struct qmp_span){ msg.ret, msg.ret_len };
		qmp_chardev_unconnected(span, "s0", label, sizeof(label));
		while (qmp_array_next(span, &it, &val))
			qmp_str(val, label, sizeof(label));
	}
	span = (struct qmp_span){ line, size };
	if (qmp_obj_get(span, "data", &val))
		qmp_obj_get(val, "reason", &val);
	free(line);
	return 0;
}
