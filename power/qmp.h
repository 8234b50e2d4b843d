/* SPDX-License-Identifier: MIT */
/*
 * QMP (QEMU Machine Protocol) lines, for power/qemu.c and its unit tests.
 * Internal to power/: not for other modules.
 *
 * QEMU sends one JSON object per line ("\r\n"): the greeting
 * {"QMP": {...}}, command replies {"return": ...} or {"error": {"class":
 * ..., "desc": ...}}, and events {"event": "RESET", "data": {"guest": true,
 * "reason": "guest-reset"}, "timestamp": {...}}.  jansson parses the line;
 * this module picks out what the driver needs.  Anything that is not one
 * well-formed JSON object is QMP_BAD, never a crash.
 */
#ifndef POWER_QMP_H
#define POWER_QMP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

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
	long long id;		/* "id" when an integer, else -1 */
	char event[64];		/* QMP_EVENT: its name */
	char reason[128];	/* QMP_EVENT: data.reason, "" when none */
	char status[64];	/* QMP_RETURN: return.status (query-status) */
	char err_class[64];	/* QMP_ERROR */
	char err_desc[256];
	/* QMP_RETURN: the "return" value, owned by root; NULL otherwise */
	json_t *ret;
	json_t *root;		/* the whole line, NULL when QMP_BAD */
};

/*
 * Parse one line (without its line ending, or with it: surrounding
 * whitespace is fine); only len bytes are read.  Returns msg->kind.
 * Strings longer than their field are cut at a character boundary.
 * Every call, whatever it returns, is paired with qmp_msg_release().
 */
enum qmp_kind qmp_parse_line(const char *line, size_t len, struct qmp_msg *msg);
void qmp_msg_release(struct qmp_msg *msg);

/*
 * The line that runs cmd: {"execute":CMD,"id":ID} and a newline (no "id"
 * when id < 0, as --dry-run shows it); malloc'd.
 */
char *qmp_command_line(const char *cmd, long long id);

/*
 * From a query-chardev reply: the label of the first socket chardev that
 * has no client yet (its filename starts with "disconnected:"), skipping
 * the one named skip_label.  False when every chardev has its client, or
 * ret is not an array.
 */
bool qmp_chardev_unconnected(const json_t *ret, const char *skip_label,
			     char *label, size_t size);

#endif
