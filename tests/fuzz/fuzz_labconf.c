// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the lab-file loader (labctl/labconf.c).
 *
 * Bytes go to lab_parse().  A rejected file must fail with a configuration
 * error whose message starts "labs/fuzz.conf:LINE: " and is valid UTF-8 (it
 * ends up in `labs --json`).  An accepted file must render (`show` text and
 * JSON; the JSON must be valid), answer lab_get() for every schema key with
 * values of the key's type, and `show`'s text must parse back to the same
 * lab.  Any broken rule aborts, which libFuzzer reports as a crash.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labctl/labconf.h"
#include "labctl/pattern.h"
#include "lib/err.h"
#include "lib/strbuf.h"

#define FUZZ_PATH "labs/fuzz.conf"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "fuzz_labconf: %s:%d: check failed: %s\n", \
				__FILE__, __LINE__, #cond);                \
			abort();                                           \
		}                                                          \
	} while (0)

/* ------------------------------------------------ UTF-8 and JSON checks */

static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static bool utf8_ok(const char *s)
{
	size_t n = strlen(s), i = 0, k;

	while (i < n) {
		k = utf8_seq((const unsigned char *)s + i, n - i);
		if (!k)
			return false;
		i += k;
	}
	return true;
}

struct json {
	const char *p, *end;
	int depth;
};

static bool json_value(struct json *j);

static void json_ws(struct json *j)
{
	while (j->p < j->end && strchr(" \t\r\n", *j->p))
		j->p++;
}

static bool json_string(struct json *j)
{
	if (j->p >= j->end || *j->p != '"')
		return false;
	j->p++;
	while (j->p < j->end && *j->p != '"') {
		unsigned char c = (unsigned char)*j->p;
		size_t k;
		int i;

		if (c < 0x20)
			return false;
		if (c == '\\') {
			if (++j->p >= j->end)
				return false;
			if (*j->p == 'u') {
				for (i = 1; i <= 4; i++)
					if (j->p + i >= j->end ||
					    !isxdigit((unsigned char)j->p[i]))
						return false;
				j->p += 5;
			} else if (strchr("\"\\/bfnrt", *j->p)) {
				j->p++;
			} else {
				return false;
			}
			continue;
		}
		k = utf8_seq((const unsigned char *)j->p, (size_t)(j->end - j->p));
		if (!k)
			return false;
		j->p += k;
	}
	if (j->p >= j->end)
		return false;
	j->p++;
	return true;
}

static bool json_container(struct json *j, char close, bool object)
{
	j->p++;
	if (++j->depth > 64)
		return false;
	json_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return true;
	}
	for (;;) {
		json_ws(j);
		if (object) {
			if (!json_string(j))
				return false;
			json_ws(j);
			if (j->p >= j->end || *j->p != ':')
				return false;
			j->p++;
		}
		if (!json_value(j))
			return false;
		json_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == close) {
			j->p++;
			j->depth--;
			return true;
		}
		return false;
	}
}

/* labconf's JSON only has objects, arrays and strings. */
static bool json_value(struct json *j)
{
	json_ws(j);
	if (j->p >= j->end)
		return false;
	if (*j->p == '{')
		return json_container(j, '}', true);
	if (*j->p == '[')
		return json_container(j, ']', false);
	return json_string(j);
}

static bool json_valid(const char *s)
{
	struct json j = { s, s + strlen(s), 0 };

	if (!json_value(&j))
		return false;
	json_ws(&j);
	return j.p == j.end;
}

/* ------------------------------------------------------------- checks */

static void check_error(int ret)
{
	const char *msg = lab_errmsg(ret);
	const char *p;

	CHECK(ret == -LAB_ECONFIG);
	CHECK(!strncmp(msg, FUZZ_PATH ":", strlen(FUZZ_PATH ":")));
	p = msg + strlen(FUZZ_PATH ":");
	CHECK(isdigit((unsigned char)*p));
	while (isdigit((unsigned char)*p))
		p++;
	CHECK(!strncmp(p, ": ", 2) && p[2]);
	CHECK(utf8_ok(msg));
}

/* A stored value passes its own type's parser. */
static void check_value(const struct lab_key_def *d, const char *v)
{
	int64_t n;
	bool b;

	CHECK(v);
	CHECK(utf8_ok(v));
	CHECK(!strchr(v, '\n') && !strchr(v, '\r'));
	switch (d->type) {
	case KEY_INT:
		CHECK(lab_parse_int(v, &n) == 0);
		if (d->min || d->max)
			CHECK(n >= d->min && n <= d->max);
		break;
	case KEY_BOOL:
		CHECK(lab_parse_bool(v, &b) == 0);
		break;
	case KEY_SIZE:
		CHECK(lab_parse_size_mib(v, &n) == 0 && n > 0);
		break;
	case KEY_STR:
	case KEY_PATH:
	case KEY_SECRET_FILE:
		CHECK(*v);
		break;
	default:
		break;
	}
}

/* What becomes a path on the board stays inside its directory, and the
 * watch compiles the patterns the loader took. */
static void check_meaning(const struct lab *lab)
{
	static const char *const names[] = { "entries", "dropin" };
	static const char *const patterns[] = { "fail", "pass" };
	const char *v, *p;
	size_t i;

	for (i = 0; i < 2; i++) {
		v = lab_get(lab, "grub", names[i]);
		CHECK(v && *v && !strchr(v, '/') && strcmp(v, ".") && strcmp(v, ".."));
	}
	v = lab_get(lab, "deploy", "dir");
	CHECK(v && *v == '/');
	for (p = v; *p; p++)
		CHECK(!(p[0] == '/' && p[1] == '.' &&
			(!p[2] || p[2] == '/' || (p[2] == '.' && (!p[3] || p[3] == '/')))));
	for (i = 0; i < 2; i++) {
		char err[256];
		struct pattern_re *re;

		v = lab_get(lab, "watch", patterns[i]);
		if (!v)
			continue;
		re = pattern_new(v, 0, err, sizeof(err));
		CHECK(re);
		pattern_free(re);
	}
}

static void check_lab(const struct lab *lab)
{
	const struct lab_key_def *d;
	struct strbuf tmp = STRBUF_INIT;
	int i, k;

	for (i = 0; i < lab->nvalues; i++)
		check_value(lab->values[i].def, lab->values[i].value);
	for (d = lab_schema; d->key; d++) {
		const char *v;

		if (!strcmp(d->section, "variant"))
			continue;
		v = lab_get(lab, d->section, d->key);
		if (v && (d->type == KEY_INT || d->type == KEY_BOOL))
			check_value(d, v);
		/* Each key through the getter of its type (the others assert). */
		switch (d->type) {
		case KEY_INT:
			(void)lab_get_int(lab, d->section, d->key);
			break;
		case KEY_BOOL:
			(void)lab_get_bool(lab, d->section, d->key);
			break;
		case KEY_DURATION:
			(void)lab_get_duration_ms(lab, d->section, d->key);
			break;
		case KEY_SIZE:
			(void)lab_get_size_mib(lab, d->section, d->key);
			break;
		default:
			break;
		}
	}
	check_meaning(lab);
	for (i = 0; i < lab->nvariants; i++) {
		const struct lab_variant *v = &lab->variants[i];

		CHECK(isalnum((unsigned char)v->name[0]));
		CHECK(strcmp(v->name, ".") && strcmp(v->name, ".."));
		CHECK(!strchr(v->name, '/'));
		CHECK(lab_find_variant(lab, v->name) == v);
		for (k = 0; k < v->nvalues; k++)
			check_value(v->values[k].def, v->values[k].value);
		for (d = lab_schema; d->key; d++)
			if (!strcmp(d->section, "variant"))
				(void)lab_variant_get(v, d->key);
		(void)lab_variant_entry(lab, v, &tmp);
	}
	strbuf_release(&tmp);
}

/* Whether `show` printed a line over 1024 bytes; only "entry = " may be. */
static bool long_line(const char *text)
{
	bool found = false;
	const char *nl;

	for (; *text; text = nl + 1) {
		nl = strchr(text, '\n');
		CHECK(nl);
		if (nl - text > 1024) {
			CHECK(!strncmp(text, "entry = ", 8));
			found = true;
		}
	}
	return found;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf text = STRBUF_INIT, json = STRBUF_INIT, json2 = STRBUF_INIT;
	struct lab *lab = NULL, *again = NULL;
	int ret;

	lab_err_clear();
	ret = lab_parse(FUZZ_PATH, (const char *)data, size, &lab);
	if (ret) {
		CHECK(!lab);
		check_error(ret);
		return 0;
	}
	CHECK(lab);
	check_lab(lab);
	lab_show_text(lab, &text);
	lab_show_json(lab, &json);
	CHECK(utf8_ok(strbuf_str(&text)));
	CHECK(json_valid(strbuf_str(&json)));

	/*
	 * `labctl show > x.conf` gives a lab file with the same meaning.
	 * The one exception: a default GRUB entry title (entry_prefix + name)
	 * may be longer than a lab file line; skip those.
	 */
	if (long_line(strbuf_str(&text)))
		goto out;
	ret = lab_parse(FUZZ_PATH, strbuf_str(&text), text.len, &again);
	if (ret) {
		fprintf(stderr, "show output does not parse: %s\n--- show:\n%s",
			lab_errmsg(ret), strbuf_str(&text));
		abort();
	}
	lab_show_json(again, &json2);
	CHECK(!strcmp(strbuf_str(&json), strbuf_str(&json2)));
out:
	lab_free(again);
	lab_free(lab);
	strbuf_release(&text);
	strbuf_release(&json);
	strbuf_release(&json2);
	return 0;
}
