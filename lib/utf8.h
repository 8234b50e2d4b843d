/* SPDX-License-Identifier: MIT */
/* UTF-8 checks shared by the lab-file reader, grubenv and JSON output. */
#ifndef LAB_UTF8_H
#define LAB_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Length (1..4) of the well-formed UTF-8 sequence at s, reading at most n
 * bytes, or 0 when it is not one (overlong forms, surrogates and code
 * points past U+10FFFF are not well-formed).
 */
size_t lab_utf8_seq_len(const unsigned char *s, size_t n);

/* True when the n bytes at s are all well-formed UTF-8. */
bool lab_utf8_valid(const char *s, size_t n);

#endif
