/* SPDX-License-Identifier: MIT */
/*
 * Driver parameters: the key = value pairs of a lab file's [power] or
 * [console] section (or name:key=value on a command line), shared by every
 * driver model so they are copied, looked up and checked in one way.
 */
#ifndef LAB_PARAM_H
#define LAB_PARAM_H

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
