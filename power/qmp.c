// SPDX-License-Identifier: MIT
/* QMP line parsing: a small, strict JSON scanner (see qmp.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qmp.h"

#define QMP_MAX_DEPTH 64

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* p at '"': the end of the string literal (after its closing quote). */
static const char *skip_string(const char *p, const char *end)
{
	int i;

	for (p++; p < end; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '"')
			return p + 1;
		if (c < 0x20)
			return NULL;
		if (c != '\\')
			continue;
		if (++p >= end)
			return NULL;
		switch (*p) {
		case '"': case '\\': case '/': case 'b': case 'f':
		case 'n': case 'r': case 't':
			break;
		case 'u':
			for (i = 0; i < 4; i++)
				if (++p >= end || hexval(*p) < 0)
					return NULL;
			break;
		default:
			return NULL;
		}
	}
	return NULL;
}

static const char *skip_digits(const char *p, const char *end)
{
	const char *s = p;

	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return p > s ? p : NULL;
}

static const char *skip_number(const char *p, const char *end)
{
	if (p < end && *p == '-')
		p++;
	p = skip_digits(p, end);
	if (p && p < end && *p == '.')
		p = skip_digits(p + 1, end);
	if (p && p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		p = skip_digits(p, end);
	}
	return p;
}

static const char *skip_literal(const char *p, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(end - p) < n || memcmp(p, lit, n))
		return NULL;
	return p + n;
}

/* p at the first character of a value (no whitespace): the end of it. */
static const char *skip_value(const char *p, const char *end, int depth)
{
	char close;

	if (p >= end || depth > QMP_MAX_DEPTH)
		return NULL;
	switch (*p) {
	case '"':
		return skip_string(p, end);
	case 't':
		return skip_literal(p, end, "true");
	case 'f':
		return skip_literal(p, end, "false");
	case 'n':
		return skip_literal(p, end, "null");
	case '{':
	case '[':
		break;
	default:
		return skip_number(p, end);
	}
	close = *p == '{' ? '}' : ']';
	p = skip_ws(p + 1, end);
	if (p < end && *p == close)
		return p + 1;
	for (;;) {
		if (close == '}') {
			if (p >= end || *p != '"')
				return NULL;
			p = skip_string(p, end);
			if (!p)
				return NULL;
			p = skip_ws(p, end);
			if (p >= end || *p != ':')
				return NULL;
			p = skip_ws(p + 1, end);
		}
		p = skip_value(p, end, depth + 1);
		if (!p)
			return NULL;
		p = skip_ws(p, end);
		if (p >= end)
			return NULL;
		if (*p == close)
			return p + 1;
		if (*p != ',')
			return NULL;
		p = skip_ws(p + 1, end);
	}
}

static void put_utf8(char **o, char *oend, unsigned cp)
{
	char tmp[4];
	size_t n, i;

	if (cp < 0x80) {
		tmp[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		tmp[0] = (char)(0xc0 | (cp >> 6));
		tmp[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		tmp[0] = (char)(0xe0 | (cp >> 12));
		tmp[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		tmp[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		tmp[0] = (char)(0xf0 | (cp >> 18));
		tmp[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		tmp[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		tmp[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if ((size_t)(oend - *o) < n)	/* no partial characters */
		return;
	for (i = 0; i < n; i++)
		*(*o)++ = tmp[i];
}

static unsigned hex4(const char *p)
{
	return (unsigned)(hexval(p[0]) << 12 | hexval(p[1]) << 8 |
			  hexval(p[2]) << 4 | hexval(p[3]));
}

bool qmp_str(struct qmp_span val, char *buf, size_t size)
{
	const char *p = val.p, *end = val.p + val.len, *send;
	char *o = buf, *oend;

	if (!size)
		return false;
	oend = buf + size - 1;
	*buf = '\0';
	if (!val.len || *p != '"' || !(send = skip_string(p, end)))
		return false;
	for (p++, send--; p < send; p++) {
		unsigned cp;

		if (*p != '\\') {
			if (o < oend)
				*o++ = *p;
			continue;
		}
		switch (*++p) {
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			cp = hex4(p + 1);
			p += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && send - p > 6 &&
			    p[1] == '\\' && p[2] == 'u') {
				unsigned lo = hex4(p + 3);

				if (lo >= 0xdc00 && lo < 0xe000) {
					cp = 0x10000 + ((cp - 0xd800) << 10) +
					     (lo - 0xdc00);
					p += 6;
				}
			}
			if (cp >= 0xd800 && cp < 0xe000)
				cp = 0xfffd;	/* lone surrogate */
			break;
		default: cp = (unsigned char)*p; break;	/* " \ / */
		}
		put_utf8(&o, oend, cp);
	}
	*o = '\0';
	return true;
}

static struct qmp_span trim(struct qmp_span s)
{
	const char *p = skip_ws(s.p, s.p + s.len);

	s.len -= (size_t)(p - s.p);
	s.p = p;
	return s;
}

bool qmp_obj_get(struct qmp_span obj, const char *key, struct qmp_span *val)
{
	const char *p, *end, *k, *v;
	size_t klen = strlen(key);
	char name[128];

	obj = trim(obj);
	p = obj.p;
	end = obj.p + obj.len;
	if (p >= end || *p != '{')
		return false;
	p = skip_ws(p + 1, end);
	if (p < end && *p == '}')
		return false;
	while (p < end) {
		k = p;
		if (*p != '"' || !(p = skip_string(p, end)))
			return false;
		p = skip_ws(p, end);
		if (p >= end || *p != ':')
			return false;
		v = skip_ws(p + 1, end);
		p = skip_value(v, end, 1);
		if (!p)
			return false;
		if (klen < sizeof(name) - 1 &&
		    qmp_str((struct qmp_span){ k, (size_t)(v - k) }, name,
			    sizeof(name)) &&
		    !strcmp(name, key)) {
			val->p = v;
			val->len = (size_t)(p - v);
			return true;
		}
		p = skip_ws(p, end);
		if (p >= end || *p != ',')
			return false;
		p = skip_ws(p + 1, end);
	}
	return false;
}

bool qmp_array_next(struct qmp_span arr, size_t *it, struct qmp_span *elem)
{
	const char *p, *end, *v;

	arr = trim(arr);
	end = arr.p + arr.len;
	if (!arr.len || *arr.p != '[')
		return false;
	if (*it == 0) {
		p = skip_ws(arr.p + 1, end);
	} else {
		if (*it > arr.len)
			return false;
		p = skip_ws(arr.p + *it, end);
		if (p >= end || *p != ',')
			return false;
		p = skip_ws(p + 1, end);
	}
	if (p >= end || *p == ']')
		return false;
	v = p;
	p = skip_value(v, end, 1);
	if (!p)
		return false;
	elem->p = v;
	elem->len = (size_t)(p - v);
	*it = (size_t)(p - arr.p);
	return true;
}

static void get_str(struct qmp_span obj, const char *key, char *buf,
		    size_t size)
{
	struct qmp_span v;

	if (!qmp_obj_get(obj, key, &v) || !qmp_str(v, buf, size))
		*buf = '\0';
}

enum qmp_kind qmp_parse_line(const char *line, size_t len, struct qmp_msg *msg)
{
	struct qmp_span s = { line, len }, v;
	const char *end;

	memset(msg, 0, sizeof(*msg));
	msg->id = -1;
	s = trim(s);
	if (!s.len || *s.p != '{')
		return msg->kind = QMP_BAD;
	end = skip_value(s.p, s.p + s.len, 0);
	if (!end || skip_ws(end, s.p + s.len) != s.p + s.len)
		return msg->kind = QMP_BAD;
	s.len = (size_t)(end - s.p);

	if (qmp_obj_get(s, "id", &v) && v.len < 24) {
		char num[24];
		char *e;
		long long id;

		memcpy(num, v.p, v.len);
		num[v.len] = '\0';
		id = strtoll(num, &e, 10);
		if (*num && !*e)
			msg->id = id;
	}
	if (qmp_obj_get(s, "error", &v)) {
		get_str(v, "class", msg->err_class, sizeof(msg->err_class));
		get_str(v, "desc", msg->err_desc, sizeof(msg->err_desc));
		return msg->kind = QMP_ERROR;
	}
	if (qmp_obj_get(s, "return", &v)) {
		msg->ret = v.p;
		msg->ret_len = v.len;
		get_str(v, "status", msg->status, sizeof(msg->status));
		return msg->kind = QMP_RETURN;
	}
	if (qmp_obj_get(s, "event", &v) &&
	    qmp_str(v, msg->event, sizeof(msg->event))) {
		if (qmp_obj_get(s, "data", &v))
			get_str(v, "reason", msg->reason, sizeof(msg->reason));
		return msg->kind = QMP_EVENT;
	}
	if (qmp_obj_get(s, "QMP", &v))
		return msg->kind = QMP_GREETING;
	return msg->kind = QMP_OTHER;
}

bool qmp_chardev_unconnected(struct qmp_span ret, const char *skip_label,
			     char *label, size_t size)
{
	struct qmp_span elem, v;
	char file[512], name[128];
	size_t it = 0;

	while (qmp_array_next(ret, &it, &elem)) {
		if (!qmp_obj_get(elem, "filename", &v) ||
		    !qmp_str(v, file, sizeof(file)))
			continue;
		get_str(elem, "label", name, sizeof(name));
		if (skip_label && !strcmp(name, skip_label))
			continue;
		if (!strncmp(file, "disconnected:", 13)) {
			snprintf(label, size, "%s", name);
			return true;
		}
	}
	return false;
}
