// SPDX-License-Identifier: MIT
/*
 * What a board sends back is not ours: its grub.cfg (searched for menu
 * entries, with GRUB's quoting) and the lease script's answer (parsed
 * into fixed-size fields).  Parse anything; every field stays a string
 * inside its buffer, and the entry finder agrees with itself.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labctl/board.h"
#include "labctl/lease.h"

static void check_field(const char *f, size_t size)
{
	if (!memchr(f, '\0', size))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct lease_info info;
	char status[32], entry[64];
	const char *nl;
	size_t n;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	if (lease_parse_answer(text, &info, status, sizeof(status))) {
		check_field(status, sizeof(status));
		check_field(info.owner, sizeof(info.owner));
		check_field(info.token, sizeof(info.token));
		check_field(info.note, sizeof(info.note));
		check_field(info.stolen_from, sizeof(info.stolen_from));
	}

	/* The first line names an entry to look for in the rest. */
	nl = strchr(text, '\n');
	n = nl ? (size_t)(nl - text) : strlen(text);
	if (n >= sizeof(entry))
		n = sizeof(entry) - 1;
	memcpy(entry, text, n);
	entry[n] = '\0';
	board_cfg_has_entry(nl ? nl + 1 : "", entry);
	/* A plain title line built from it is always found. */
	if (n && !strpbrk(entry, "'\n")) {
		size_t len = strlen(entry) + 32;
		char *cfg = malloc(len);

		if (cfg) {
			snprintf(cfg, len, "menuentry '%s' {\n}\n", entry);
			if (!board_cfg_has_entry(cfg, entry))
				abort();
			free(cfg);
		}
	}
	free(text);
	return 0;
}
