/* SPDX-License-Identifier: MIT */
/* Pieces of `labctl log` that are tested on their own (tests/unit/test_console.c). */
#ifndef LOGRENDER_H
#define LOGRENDER_H

#include <stdint.h>

#include "lib/strbuf.h"

enum log_ts_mode { LOG_TS_NONE, LOG_TS_OFFSET, LOG_TS_WALL, LOG_TS_DELTA };

/* State of the escape-sequence stripper, kept across calls. */
struct log_ansi {
	int state;
};

/* "offset" | "wall" | "delta" (NULL: offset); -LAB_EUSAGE otherwise. */
int log_parse_ts_mode(const char *s, enum log_ts_mode *mode);
/* Append in without CSI/OSC/DCS/... escape sequences and without '\r'. */
void log_strip_ansi(struct log_ansi *st, const char *in, size_t n,
		    struct strbuf *out);
/* "[   12.345678] " as dmesg prints it. */
void log_format_offset(struct strbuf *out, int64_t ns);

#endif
