// SPDX-License-Identifier: MIT
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/fileio.h"
#include "lib/json.h"
#include "lib/strbuf.h"
#include "lib/utf8.h"
#include "lib/xmalloc.h"

json_t *lab_json_str(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	struct strbuf sb = STRBUF_INIT;
	size_t len;
	json_t *j;

	if (!s)
		return json_null();
	len = strlen(s);
	if (lab_utf8_valid(s, len))
		return json_stringn(s, len);
	/* JSON is UTF-8: a stray byte becomes U+FFFD. */
	while (*p) {
		size_t n = lab_utf8_seq_len(p, 4);

		if (n) {
			strbuf_add(&sb, p, n);
			p += n;
		} else {
			strbuf_addstr(&sb, "\xef\xbf\xbd");
			p++;
		}
	}
	j = json_stringn(strbuf_str(&sb), sb.len);
	strbuf_release(&sb);
	return j;
}

json_t *lab_json_secs(int64_t ns)
{
	return json_real(llround(ns / 1e3) / 1e6);
}

json_t *lab_json_seconds(double s)
{
	return json_real(llround(s * 1e6) / 1e6);
}

void lab_json_set(json_t *obj, const char *key, json_t *value)
{
	json_object_set_new(obj, key, value ? value : json_null());
}

void lab_json_add(struct strbuf *sb, json_t *doc)
{
	char *text = json_dumps(doc, LAB_JSON_FLAGS);

	if (text) {
		strbuf_addstr(sb, text);
		strbuf_addch(sb, '\n');
	}
	free(text);
	json_decref(doc);
}

char *lab_json_text(const json_t *doc)
{
	char *text = json_dumps(doc, LAB_JSON_FLAGS);
	char *line;

	if (!text)
		return NULL;
	line = xasprintf("%s\n", text);
	free(text);
	return line;
}

int lab_json_print(FILE *f, const json_t *doc)
{
	if (json_dumpf(doc, f, LAB_JSON_FLAGS) < 0 || fputc('\n', f) == EOF)
		return lab_err(LAB_EIO, "cannot write JSON output");
	return 0;
}

int lab_json_write_atomic(const char *path, const json_t *doc, mode_t mode)
{
	char *text = lab_json_text(doc);
	int ret;

	if (!text)
		return lab_err(LAB_ENOMEM, "cannot build the JSON of %s", path);
	ret = lab_write_file_atomic(path, text, strlen(text), mode);
	free(text);
	return ret;
}
