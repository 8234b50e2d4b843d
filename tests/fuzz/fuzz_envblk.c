// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for grubenv/envblk.c and grubenv/chain.c: the input is
 * a would-be grubenv file.  Parse it (or describe why not), iterate it,
 * check it, then set and unset a few names -- among them one taken from
 * the block itself -- and run the chain operations.  Beyond "never
 * crash" (ASan/UBSan) it checks what must always hold: the size never
 * changes, a failed set leaves the bytes untouched, parse accepts exactly
 * what GRUB accepts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grubenv/chain.h"
#include "grubenv/envblk.h"
#include "lib/err.h"
#include "lib/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t seen;

static int count_cb(const char *name, const char *value, void *arg)
{
	char **first = arg;

	seen += strlen(name) + strlen(value);
	if (!*first)
		*first = xstrdup(name);
	return 0;
}

static void check_set(struct envblk *blk, const char *name, const char *value)
{
	char *before = xmalloc(blk->size);
	size_t size = blk->size;
	int ret;

	memcpy(before, blk->buf, size);
	ret = envblk_set(blk, name, value);
	if (blk->size != size)
		abort();
	if (ret && memcmp(before, blk->buf, size) != 0)
		abort();
	if (ret && ret != -LAB_ENOSPC && ret != -LAB_EFORMAT)
		abort();
	free(before);
}

static void check_unset(struct envblk *blk, const char *name)
{
	size_t size = blk->size;
	int r = envblk_unset(blk, name);

	if (blk->size != size || (r != 0 && r != 1))
		abort();
	/* A removed record leaves at least "=\n" of '#' at the end. */
	if (r == 1 && (blk->buf[size - 1] != '#' || blk->buf[size - 2] != '#'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "a", "next_entry", "", "#",
					     "x\ny", "next_entry_2", "a\\" };
	static const char *const entries[] = { "XMHF-build64", "default",
					       "we\\ird\\", "0" };
	static char long_value[301];
	struct envblk *blk;
	char *first = NULL, *v, *before;
	char **chain;
	size_t n, i;
	int ret;
	bool grub_ok;

	if (!long_value[0])
		memset(long_value, 'L', sizeof(long_value) - 1);

	ret = envblk_parse(data, size, "fuzz", &blk);
	grub_ok = size >= ENVBLK_MIN_SIZE &&
		  memcmp(data, ENVBLK_SIGNATURE, ENVBLK_SIGNATURE_LEN) == 0;
	if ((ret == 0) != grub_ok)
		abort();
	if (ret) {
		if (ret != -LAB_EFORMAT || !lab_errmsg(ret)[0])
			abort();
		return 0;
	}
	if (blk->size != size || memcmp(blk->buf, data, size) != 0)
		abort();

	envblk_foreach(blk, count_cb, &first);
	envblk_check(blk, NULL);
	if (envblk_free_space(blk) > size)
		abort();

	if (first) {
		check_set(blk, first, "changed\nvalue\\");
		v = envblk_get(blk, first);
		free(v);
		check_unset(blk, first);
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		check_set(blk, names[i], i & 1 ? "" : "v\\\n=#");
		check_set(blk, names[i], long_value + (size % 300));
		check_set(blk, names[i], "s");
		free(envblk_get(blk, names[i]));
		if (i & 2)
			check_unset(blk, names[i]);
	}
	envblk_unset_duplicates(blk, "a");

	ret = chain_set(blk, entries, 1 + size % 4, 1 + (size % 11));
	chain_get(blk, &chain, &n);
	if (ret == 0 && (n != 1 + size % 4 || strcmp(chain[0], "XMHF-build64") ||
			 (n > 1 && strcmp(chain[1], "0"))))
		abort();
	chain_free(chain, n);
	before = xmalloc(blk->size);
	memcpy(before, blk->buf, blk->size);
	ret = chain_clear(blk);
	chain_get(blk, &chain, &n);
	/* Cleared, or refused (GRUB would still see a stage) and unchanged. */
	if (ret == 0 ? n != 0 :
	    ret != -LAB_EFORMAT || memcmp(before, blk->buf, blk->size))
		abort();
	free(before);
	chain_free(chain, n);

	free(first);
	envblk_free(blk);
	lab_err_clear();
	return 0;
}
