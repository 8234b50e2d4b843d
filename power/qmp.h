/* SPDX-License-Identifier: MIT */
/*
 * QMP (QEMU Machine Protocol) lines, for power/qemu.c and its unit tests.
 * Internal to power/: not for other modules.
 *
 * QEMU sends one JSON object per line ("\r\n"): the greeting
 * {"QMP": {...}}, command replies {"return": ...} or {"error": {"class":
 * ..., "desc": ...}}, and events {"event": "RESET", "data": {"guest": true,
 * "reason": "guest-reset"}, "timestamp": {...}}.  The scanner below reads
 * just what the driver needs, in any field order and with any whitespace;
 * no JSON library.  Anything that is not one well-formed JSON object is
 * QMP_BAD, never a crash.
 */
#ifndef POWER_QMP_H
#define POWER_QMP_H

#include <stdbool.h>
#include <stddef.h>

enum qmp_kind {
	QMP_BAD = 0,		/* not a JSON object */
	QMP_GREETING,		/* {"QMP": ...} */
	QMP_RETURN,		/* {"return": ...} */
	QMP_ERROR,		/* {"error": {"class", "desc"}} */
	QMP_EVENT,		/* {"event": NAME, "data": {...}} */
	QMP_OTHER,		/* an object with none of those keys */
};

struct qmp_msg {
	enum qmp_kind kind;
	long long id;		/* "id" when a number, else -1 */
	char event[64];		/* QMP_EVENT: its name */
	char reason[128];	/* QMP_EVENT: data.reason, "" when none */
	char status[64];	/* QMP_RETURN: return.status (query-status) */
	char err_class[64];	/* QMP_ERROR */
	char err_desc[256];
	/* QMP_RETURN: the raw JSON text of the "return" value (in the line) */
	const char *ret;
	size_t ret_len;
};

/* Parse one line (without its line ending, or with it: trailing
 * whitespace is fine).  Returns msg->kind. */
enum qmp_kind qmp_parse_line(const char *line, size_t len, struct qmp_msg *msg);

/*
 * The small JSON scanner the parser is built on; spans point into the
 * caller's text and are never NUL-terminated.
 */
struct qmp_span {
	const char *p;
	size_t len;
};

/* The value of key in the JSON object obj; false when obj is not an
 * object or has no such key. */
bool qmp_obj_get(struct qmp_span obj, const char *key, struct qmp_span *val);
/*
 * Iterate a JSON array: *it starts zeroed; each call stores the next
 * element in *elem and returns true, false at the end or on bad input.
 */
bool qmp_array_next(struct qmp_span arr, size_t *it, struct qmp_span *elem);
/* Decode a JSON string value into buf (truncated, always NUL-terminated;
 * \u escapes become UTF-8).  False when val is not a string. */
bool qmp_str(struct qmp_span val, char *buf, size_t size);

/*
 * From a query-chardev reply: the label of the first socket chardev that
 * has no client yet (its filename starts with "disconnected:"), skipping
 * the one named skip_label.  False when every chardev has its client.
 */
bool qmp_chardev_unconnected(struct qmp_span ret, const char *skip_label,
			     char *label, size_t size);

#endif
