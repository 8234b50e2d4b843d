/* SPDX-License-Identifier: MIT */
/*
 * Growable byte string, always NUL-terminated (buf[len] == 0), so it can
 * hold binary data and still be used as a C string when it has no NULs.
 * A zeroed struct (STRBUF_INIT) is a valid empty buffer.
 */
#ifndef LAB_STRBUF_H
#define LAB_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *buf;
	size_t len;
	size_t alloc;
};

#define STRBUF_INIT { NULL, 0, 0 }

void strbuf_init(struct strbuf *sb);
void strbuf_release(struct strbuf *sb);
/* Hand the buffer to the caller (never NULL) and reset sb. */
char *strbuf_detach(struct strbuf *sb, size_t *len);
void strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_reset(struct strbuf *sb);
void strbuf_setlen(struct strbuf *sb, size_t len);
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, char c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap);
/* Remove trailing whitespace. */
void strbuf_rtrim(struct strbuf *sb);
/* The contents as a C string ("" for an unused buffer). */
const char *strbuf_str(const struct strbuf *sb);
/* Read a whole file; returns 0 or -LAB_E* with the message recorded. */
int strbuf_read_file(struct strbuf *sb, const char *path, size_t max);
/* The same from an open fd (path names it in errors); closes fd. */
int strbuf_read_fd(struct strbuf *sb, int fd, const char *path, size_t max);
/* Append a JSON string literal (quotes included) for s; bytes that are not
 * valid UTF-8 become \ufffd, so the output is always valid JSON. */
void strbuf_add_json_str(struct strbuf *sb, const char *s);

#endif
