// SPDX-License-Identifier: MIT
/* next_entry chains on top of envblk.c; see chain.h for the boot model. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grubenv/chain.h"
#include "lib/err.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"

#define SLOT_PREFIX "next_entry"
#define SLOT_PREFIX_LEN (sizeof(SLOT_PREFIX) - 1)

void chain_slot_name(unsigned int k, char *buf, size_t size)
{
	if (k <= 1)
		snprintf(buf, size, "%s", SLOT_PREFIX);
	else
		snprintf(buf, size, "%s_%u", SLOT_PREFIX, k);
}

/*
 * The stage a variable name is the slot of: 1 for next_entry, K for
 * next_entry_K (K >= 2 written without leading zeros, at most 9 digits),
 * 0 for any other name.
 */
static unsigned int slot_of(const char *name)
{
	const char *d;
	unsigned long k;
	size_t len;

	if (strncmp(name, SLOT_PREFIX, SLOT_PREFIX_LEN) != 0)
		return 0;
	name += SLOT_PREFIX_LEN;
	if (*name == '\0')
		return 1;
	if (*name != '_')
		return 0;
	d = name + 1;
	len = strspn(d, "0123456789");
	if (len == 0 || len > 9 || d[len] != '\0' || d[0] == '0')
		return 0;
	k = strtoul(d, NULL, 10);
	return k >= 2 ? (unsigned int)k : 0;
}

int chain_validate_entry(const char *entry)
{
	struct strbuf sb = STRBUF_INIT;
	const char *why = NULL;
	int ret;

	if (*entry == '\0')
		return lab_err(LAB_EINVAL,
			       "an empty boot entry cannot be part of a chain (use 0 or default for GRUB's default entry)");
	if (strchr(entry, '\n'))
		why = "a newline";
	else if (strchr(entry, '\r'))
		why = "a carriage return";
	if (!why)
		return 0;
	strbuf_add_json_str(&sb, entry);
	ret = lab_err(LAB_EINVAL,
		      "boot entry %s contains %s: no GRUB menu entry can have that name",
		      strbuf_str(&sb), why);
	strbuf_release(&sb);
	return ret;
}

const char *chain_entry_value(const char *entry)
{
	return strcmp(entry, "default") == 0 ? "0" : entry;
}

/* ---------------------------------------------------------- slot scans */

struct slots {
	char **val;		/* val[k] for stage k, 1..CHAIN_STAGES_LIMIT */
	unsigned int *stale;	/* stages found above `above` */
	size_t nstale;
	unsigned int above;
};

static int scan_cb(const char *name, const char *value, void *arg)
{
	struct slots *s = arg;
	unsigned int k = slot_of(name);
	size_t i;

	if (!k)
		return 0;
	if (s->val && k <= CHAIN_STAGES_LIMIT) {
		free(s->val[k]);
		s->val[k] = xstrdup(value);	/* the last one wins */
	}
	if (s->stale && k > s->above) {
		for (i = 0; i < s->nstale; i++)
			if (s->stale[i] == k)
				return 0;
		s->stale = xrealloc(s->stale,
				    (s->nstale + 1) * sizeof(*s->stale));
		s->stale[s->nstale++] = k;
	}
	return 0;
}

/* Remove every record of every slot above stage `above`. */
static void remove_slots_above(struct envblk *blk, unsigned int above)
{
	struct slots s = { .stale = xmalloc(sizeof(unsigned int)),
			   .above = above };
	char name[24];
	size_t i;

	envblk_foreach(blk, scan_cb, &s);
	for (i = 0; i < s.nstale; i++) {
		chain_slot_name(s.stale[i], name, sizeof(name));
		while (envblk_unset(blk, name))
			;
	}
	free(s.stale);
}

/*
 * Does GRUB read exactly this chain from blk?  Records that GRUB reads but
 * set and unset cannot match (a NUL byte inside a name, say) would keep
 * stale stages alive, so chain_set() and chain_clear() check the result.
 */
static bool reads_as(const struct envblk *blk, const char *const *entries,
		     size_t n)
{
	char **got;
	size_t m, i;
	bool same;

	chain_get(blk, &got, &m);
	same = m == n;
	for (i = 0; same && i < n; i++)
		same = strcmp(got[i], chain_entry_value(entries[i])) == 0;
	chain_free(got, m);
	return same;
}

static int unchangeable(void)
{
	return lab_err(LAB_EFORMAT,
		       "malformed environment block: it has next_entry records that GRUB reads but that cannot be changed (a NUL byte in a name?); recreate the block (labctl grubenv FILE create) and set the chain again");
}

int chain_set(struct envblk *blk, const char *const *entries, size_t n,
	      unsigned int max_stages)
{
	char *saved;
	char name[24];
	size_t i;
	int ret = 0;

	if (n == 0)
		return lab_err(LAB_EINVAL, "a chain needs at least one boot entry");
	if (max_stages < 1 || max_stages > CHAIN_STAGES_LIMIT)
		return lab_err(LAB_EINVAL,
			       "the number of stages must be between 1 and %d, not %u",
			       CHAIN_STAGES_LIMIT, max_stages);
	if (n > max_stages)
		return lab_err(LAB_EINVAL,
			       "a chain of %zu entries is longer than the %u stages GRUB shifts (next_entry..next_entry_%u); use --max-stages if your GRUB drop-in shifts more",
			       n, max_stages, max_stages);
	for (i = 0; i < n; i++) {
		ret = chain_validate_entry(entries[i]);
		if (ret)
			return ret;
	}

	saved = xmalloc(blk->size);
	memcpy(saved, blk->buf, blk->size);
	/* Stale stages first: that frees space for the new ones. */
	remove_slots_above(blk, (unsigned int)n);
	for (i = 0; i < n; i++) {
		chain_slot_name((unsigned int)i + 1, name, sizeof(name));
		ret = envblk_set(blk, name, chain_entry_value(entries[i]));
		if (ret)
			break;
		envblk_unset_duplicates(blk, name);
	}
	if (!ret && !reads_as(blk, entries, n))
		ret = unchangeable();
	if (ret)
		memcpy(blk->buf, saved, blk->size);
	free(saved);
	return ret;
}

int chain_get(const struct envblk *blk, char ***entries, size_t *n)
{
	struct slots s = { .val = xcalloc(CHAIN_STAGES_LIMIT + 1,
					  sizeof(char *)) };
	char **out;
	size_t last = 0, k;

	envblk_foreach(blk, scan_cb, &s);
	for (k = 1; k <= CHAIN_STAGES_LIMIT; k++)
		if (s.val[k] && s.val[k][0])
			last = k;
	out = xcalloc(last ? last : 1, sizeof(char *));
	for (k = 1; k <= last; k++)
		out[k - 1] = s.val[k] ? s.val[k] : xstrdup("");
	for (k = last + 1; k <= CHAIN_STAGES_LIMIT; k++)
		free(s.val[k]);
	free(s.val);
	*entries = out;
	*n = last;
	return 0;
}

void chain_free(char **entries, size_t n)
{
	size_t i;

	if (!entries)
		return;
	for (i = 0; i < n; i++)
		free(entries[i]);
	free(entries);
}

int chain_clear(struct envblk *blk)
{
	char *saved = xmalloc(blk->size);
	int ret = 0;

	memcpy(saved, blk->buf, blk->size);
	remove_slots_above(blk, 1);
	while (envblk_unset(blk, SLOT_PREFIX))
		;
	if (!reads_as(blk, NULL, 0)) {
		memcpy(blk->buf, saved, blk->size);
		ret = unchangeable();
	}
	free(saved);
	return ret;
}
