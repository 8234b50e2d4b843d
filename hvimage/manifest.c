// SPDX-License-Identifier: MIT
/* images/<variant>/MANIFEST: "key: value" lines (format in build.h). */
#include <stdlib.h>
#include <string.h>

#include "hvimage/build.h"
#include "lib/err.h"
#include "lib/xmalloc.h"

#define MANIFEST_MAX (64 * 1024)

static bool key_char(char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return true;
	return !first && (c == '.' || c == '_' || c == '-');
}

static bool valid_key(const char *k, size_t len)
{
	size_t i;

	if (!len || len > 128)
		return false;
	for (i = 0; i < len; i++)
		if (!key_char(k[i], i == 0))
			return false;
	return true;
}

/* No control characters (tab included): one value, one line. */
static bool valid_value(const char *v, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return false;
	return true;
}

static int find(const struct hv_manifest *m, const char *key, size_t len)
{
	int i;

	for (i = 0; i < m->n; i++)
		if (strlen(m->e[i].key) == len && !memcmp(m->e[i].key, key, len))
			return i;
	return -1;
}

static void append(struct hv_manifest *m, const char *key, size_t klen,
		   const char *value, size_t vlen)
{
	m->e = xrealloc(m->e, (size_t)(m->n + 1) * sizeof(*m->e));
	m->e[m->n].key = xstrndup(key, klen);
	m->e[m->n].value = xstrndup(value, vlen);
	m->n++;
}

int hv_manifest_parse(struct hv_manifest *m, const char *text, size_t len,
		      const char *what)
{
	struct hv_manifest tmp = HV_MANIFEST_INIT;
	const char *p = text, *end = text + len;
	int line = 0;

	if (!what)
		what = "MANIFEST";
	if (len > MANIFEST_MAX)
		return lab_err(LAB_EFORMAT, "%s: larger than %d bytes: not a MANIFEST",
			       what, MANIFEST_MAX);
	if (memchr(text, 0, len))
		return lab_err(LAB_EFORMAT, "%s: binary data: not a MANIFEST", what);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end, *colon, *val;
		size_t klen;

		line++;
		if (eol == p || *p == '#')
			goto next;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon) {
			lab_err(LAB_EFORMAT, "%s:%d: expected 'key: value'", what,
				line);
			goto fail;
		}
		klen = (size_t)(colon - p);
		if (!valid_key(p, klen)) {
			lab_err(LAB_EFORMAT, "%s:%d: invalid key '%.*s'", what,
				line, (int)(klen > 40 ? 40 : klen), p);
			goto fail;
		}
		val = colon + 1;
		if (val < eol) {
			if (*val != ' ') {
				lab_err(LAB_EFORMAT,
					"%s:%d: expected a space after '%.*s:'",
					what, line, (int)klen, p);
				goto fail;
			}
			val++;
		}
		if (!valid_value(val, (size_t)(eol - val))) {
			lab_err(LAB_EFORMAT, "%s:%d: control character in the value of %.*s",
				what, line, (int)klen, p);
			goto fail;
		}
		if (find(&tmp, p, klen) >= 0) {
			lab_err(LAB_EFORMAT, "%s:%d: duplicate key '%.*s'", what,
				line, (int)klen, p);
			goto fail;
		}
		append(&tmp, p, klen, val, (size_t)(eol - val));
next:
		p = nl ? nl + 1 : end;
	}
	hv_manifest_release(m);
	*m = tmp;
	return 0;
fail:
	hv_manifest_release(&tmp);
	return -LAB_EFORMAT;
}

int hv_manifest_load(struct hv_manifest *m, const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	int ret = strbuf_read_file(&sb, path, MANIFEST_MAX + 1);

	if (!ret)
		ret = hv_manifest_parse(m, sb.buf ? sb.buf : "", sb.len, path);
	strbuf_release(&sb);
	return ret;
}

const char *hv_manifest_get(const struct hv_manifest *m, const char *key)
{
	int i = find(m, key, strlen(key));

	return i < 0 ? NULL : m->e[i].value;
}

int hv_manifest_set(struct hv_manifest *m, const char *key, const char *value)
{
	size_t klen = strlen(key), vlen = strlen(value);
	int i;

	if (!valid_key(key, klen))
		return lab_err(LAB_EINVAL, "invalid MANIFEST key '%s'", key);
	if (!valid_value(value, vlen))
		return lab_err(LAB_EINVAL, "MANIFEST value of %s has a control character",
			       key);
	i = find(m, key, klen);
	if (i < 0) {
		append(m, key, klen, value, vlen);
	} else {
		free(m->e[i].value);
		m->e[i].value = xstrdup(value);
	}
	return 0;
}

void hv_manifest_format(const struct hv_manifest *m, struct strbuf *out)
{
	int i;

	strbuf_addstr(out, "# labctl image manifest (see hvimage/build.h)\n");
	for (i = 0; i < m->n; i++) {
		if (m->e[i].value[0])
			strbuf_addf(out, "%s: %s\n", m->e[i].key, m->e[i].value);
		else
			strbuf_addf(out, "%s:\n", m->e[i].key);
	}
}

void hv_manifest_release(struct hv_manifest *m)
{
	int i;

	for (i = 0; i < m->n; i++) {
		free(m->e[i].key);
		free(m->e[i].value);
	}
	free(m->e);
	m->e = NULL;
	m->n = 0;
}
