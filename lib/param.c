// SPDX-License-Identifier: MIT
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "param.h"
#include "strbuf.h"
#include "xmalloc.h"

struct lab_param *lab_params_dup(const struct lab_param *p, int n)
{
	struct lab_param *copy;
	int i;

	if (n <= 0)
		return NULL;
	copy = xcalloc((size_t)n, sizeof(*copy));
	for (i = 0; i < n; i++) {
		copy[i].key = xstrdup(p[i].key ? p[i].key : "");
		copy[i].value = xstrdup(p[i].value ? p[i].value : "");
	}
	return copy;
}

void lab_params_free(struct lab_param *p, int n)
{
	int i;

	for (i = 0; p && i < n; i++) {
		free((char *)p[i].key);
		free((char *)p[i].value);
	}
	free(p);
}

const char *lab_param_get(const struct lab_param *p, int n, const char *key)
{
	const char *v = NULL;
	int i;

	for (i = 0; i < n; i++)
		if (p[i].key && !strcmp(p[i].key, key))
			v = p[i].value;
	return v;
}

static bool takes_key(const char *const *takes, const char *key)
{
	int i;

	for (i = 0; takes && takes[i]; i++)
		if (!strcmp(takes[i], key))
			return true;
	return false;
}

int lab_params_check(const struct lab_param *p, int n,
		     const char *const *takes, const char *what)
{
	struct strbuf sb = STRBUF_INIT;
	int i, k, ret;

	for (i = 0; i < n; i++) {
		if (p[i].key && takes_key(takes, p[i].key))
			continue;
		for (k = 0; takes && takes[k]; k++)
			strbuf_addf(&sb, "%s%s", k ? ", " : "", takes[k]);
		ret = lab_err(LAB_ECONFIG, "%s takes no key '%s' (it takes: %s)",
			      what, p[i].key ? p[i].key : "(null)",
			      sb.len ? strbuf_str(&sb) : "no keys");
		strbuf_release(&sb);
		return ret;
	}
	return 0;
}

/* Each lab file key a driver declares is a [section] key it takes. */
int lab_keys_selftest(const char *kind, const char *name,
		      const struct lab_key_def *lab_keys,
		      const char *const *keys)
{
	const struct lab_key_def *d;
	int i;

	for (d = lab_keys; d && d->key; d++) {
		for (i = 0; keys && keys[i]; i++)
			if (!strcmp(keys[i], d->key))
				break;
		if (strcmp(d->section, kind) || !keys || !keys[i] || !d->help)
			return lab_err(LAB_EINVAL,
				       "%s driver %s: lab key %s.%s is not one of its keys, or has no help",
				       kind, name, d->section, d->key);
	}
	return 0;
}
