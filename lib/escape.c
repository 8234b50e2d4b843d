// SPDX-License-Identifier: MIT
#include <stdint.h>
#include <string.h>

#include "lib/escape.h"
#include "lib/utf8.h"

/* Code points that change how a terminal or a reader sees what follows. */
static int is_invisible_control(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

static uint32_t decode(const unsigned char *p, size_t n)
{
	uint32_t cp;
	size_t i;

	if (n == 2)
		cp = p[0] & 0x1f;
	else if (n == 3)
		cp = p[0] & 0x0f;
	else
		cp = p[0] & 0x07;
	for (i = 1; i < n; i++)
		cp = (cp << 6) | (p[i] & 0x3f);
	return cp;
}

void strbuf_add_escaped(struct strbuf *sb, const char *s, size_t len,
			unsigned flags)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned char c = p[i];
		size_t n;

		if (c >= 0x20 && c < 0x7f) {
			if (c == '\\')
				strbuf_addch(sb, '\\');
			strbuf_addch(sb, (char)c);
			i++;
			continue;
		}
		if ((c == '\n' || c == '\t') && (flags & LAB_ESC_KEEP_LINES)) {
			strbuf_addch(sb, (char)c);
			i++;
			continue;
		}
		if (c < 0x80) {
			switch (c) {
			case 0x1b: strbuf_addstr(sb, "\\e"); break;
			case '\n': strbuf_addstr(sb, "\\n"); break;
			case '\r': strbuf_addstr(sb, "\\r"); break;
			case '\t': strbuf_addstr(sb, "\\t"); break;
			default: strbuf_addf(sb, "\\x%02x", c); break;
			}
			i++;
			continue;
		}
		n = lab_utf8_seq_len(p + i, len - i);
		if (!n) {
			strbuf_addf(sb, "\\x%02x", c);
			i++;
			continue;
		}
		if (is_invisible_control(decode(p + i, n)))
			strbuf_addf(sb, "\\u%04x", (unsigned)decode(p + i, n));
		else
			strbuf_add(sb, p + i, n);
		i += n;
	}
}

char *lab_escape(const char *s, size_t len)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_add_escaped(&sb, s, len, 0);
	return strbuf_detach(&sb, NULL);
}

char *lab_escape_lines(const char *s, size_t len)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_add_escaped(&sb, s, len, LAB_ESC_KEEP_LINES);
	return strbuf_detach(&sb, NULL);
}

char *lab_escape_str(const char *s)
{
	return lab_escape(s ? s : "", s ? strlen(s) : 0);
}
