// SPDX-License-Identifier: MIT
/* A lab's [power] section as a power_config's params (see labpower.h). */
#include <string.h>

#include "labctl/labpower.h"

int lab_power_params(const struct lab *lab, struct lab_param *p, int max)
{
	int i, n = 0;

	for (i = 0; i < lab->nvalues && n < max; i++) {
		const struct lab_value *v = &lab->values[i];

		if (strcmp(v->section, "power") || !strcmp(v->def->key, "driver") ||
		    !strcmp(v->def->key, "plan") || !strcmp(v->def->key, "off_time"))
			continue;
		p[n++] = (struct lab_param){ v->def->key, v->value };
	}
	return n;
}

const char *lab_power_driver(const struct lab *lab)
{
	const char *d = lab_get(lab, "power", "driver");
	const char *type = lab_get(lab, "board", "type");

	if (d)
		return d;
	if (type && !strcmp(type, "qemu"))
		return "qemu";
	return NULL;
}

int lab_power_key_line(const struct lab *lab, const char *key)
{
	int i, line = 0;

	for (i = 0; i < lab->nvalues; i++) {
		const struct lab_value *v = &lab->values[i];

		if (!strcmp(v->section, "power") && !strcmp(v->def->key, key))
			line = v->line;
	}
	return line;
}
