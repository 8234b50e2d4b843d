/* SPDX-License-Identifier: MIT */
/* Allocation that never returns NULL: out of memory aborts with a message. */
#ifndef LAB_XMALLOC_H
#define LAB_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xzalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
