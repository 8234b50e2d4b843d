/* SPDX-License-Identifier: MIT */
/*
 * Driver parameters: the key = value pairs of a lab file's [power] or
 * [console] section (or name:key=value on a command line), shared by every
 * driver model so they are copied, looked up and checked in one way.
 */
#ifndef LAB_PARAM_H
#define LAB_PARAM_H

#include <stdint.h>

/*
 * The definition of a lab file key: the schema's (labctl/labschema.c) and
 * each power and console driver's own (its lab_keys).
 */
enum lab_key_type {
	KEY_STR,
	KEY_INT,	/* decimal or 0x hex, range-checked */
	KEY_BOOL,	/* yes/no, true/false, on/off, 1/0 */
	KEY_ENUM,	/* one of the '|'-separated choices */
	KEY_DURATION,	/* 500ms, 30s, 2m ... */
	KEY_SIZE,	/* 256M, 1G, or MiB as a bare number */
	KEY_PATH,	/* a file name: no newlines */
	KEY_SECRET_FILE,/* a file holding a secret: must be mode 0600 when used */
	KEY_URL,	/* http(s)://...; a password in it is refused */
};

struct lab_key_def {
	const char *section;	/* "board", "power", ..., "variant" */
	const char *key;
	enum lab_key_type type;
	const char *def;	/* default as text, or NULL: unset */
	const char *choices;	/* KEY_ENUM: "a|b|c" */
	int64_t min, max;	/* KEY_INT range */
	/* Only valid when the section's selector (board.type or
	 * variant.recipe) is one of these ("a|b"), or NULL.  A power or
	 * console driver's keys are its own table's (power_driver.lab_keys,
	 * console_driver.lab_keys), with only_for NULL. */
	const char *only_for;
	const char *help;
};

/*
 * Every key of lab_keys is in keys (NULL-terminated), in section kind
 * ("power", "console"), with help; else -LAB_EINVAL naming the driver.
 */
int lab_keys_selftest(const char *kind, const char *name,
		      const struct lab_key_def *lab_keys,
		      const char *const *keys);

struct lab_param {
	const char *key;
	const char *value;
};

/* A deep copy of n params (a NULL value becomes ""); NULL when n <= 0. */
struct lab_param *lab_params_dup(const struct lab_param *p, int n);
void lab_params_free(struct lab_param *p, int n);

/* The value of key (the last one wins, as a lab file reads), or NULL. */
const char *lab_param_get(const struct lab_param *p, int n, const char *key);

/*
 * Every key must be one of takes (NULL-terminated); otherwise -LAB_ECONFIG
 * with "<what> takes no key 'k' (it takes: a, b)".
 */
int lab_params_check(const struct lab_param *p, int n,
		     const char *const *takes, const char *what);

#endif
