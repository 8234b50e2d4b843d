/* SPDX-License-Identifier: MIT */
/*
 * What every JSON writer of labctl's needs on top of jansson: strings
 * from bytes that may not be UTF-8 (console lines), seconds with the
 * microseconds the records keep, and the dump itself (compact, one
 * document per line, keys in the order they were added).
 */
#ifndef LAB_JSON_H
#define LAB_JSON_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>

#include "lib/strbuf.h"

/* The flags every writer dumps with. */
#define LAB_JSON_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | \
			JSON_REAL_PRECISION(16))

/* s as a JSON string (a stray byte becomes U+FFFD); NULL: null. */
json_t *lab_json_str(const char *s);
/* ns, or s seconds, as seconds rounded to the microsecond. */
json_t *lab_json_secs(int64_t ns);
json_t *lab_json_seconds(double s);
/* Set obj.key to value (stolen); a NULL value is null. */
void lab_json_set(json_t *obj, const char *key, json_t *value);
/* Append the document and a newline to sb; the document is released. */
void lab_json_add(struct strbuf *sb, json_t *doc);
/* The document and a newline, as text (malloc'd) or to f (0 or -LAB_EIO). */
char *lab_json_text(const json_t *doc);
int lab_json_print(FILE *f, const json_t *doc);
/* Write the document and a newline to path atomically; 0 or -LAB_E*. */
int lab_json_write_atomic(const char *path, const json_t *doc, mode_t mode);

#endif
