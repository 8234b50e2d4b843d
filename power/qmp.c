// SPDX-License-Identifier: MIT
/* QMP line parsing on jansson (see qmp.h). */
#include <string.h>

#include "lib/json.h"
#include "qmp.h"

/* Copy src into buf, cut before a partial UTF-8 character, NUL-terminated. */
static void copy_str(char *buf, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size) {
		n = size - 1;
		/* back off continuation bytes to the start of the cut character */
		while (n && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(buf, src, n);
	buf[n] = '\0';
}

/* obj.key into buf when it is a string, else "". */
static void get_str(const json_t *obj, const char *key, char *buf, size_t size)
{
	const char *s = json_string_value(json_object_get(obj, key));

	copy_str(buf, size, s ? s : "");
}

enum qmp_kind qmp_parse_line(const char *line, size_t len, struct qmp_msg *msg)
{
	json_t *root, *v;
	const char *event;

	memset(msg, 0, sizeof(*msg));
	msg->id = -1;
	/* One JSON value with nothing after it but whitespace. */
	root = json_loadb(line, len, 0, NULL);
	if (!json_is_object(root)) {
		json_decref(root);
		return msg->kind = QMP_BAD;
	}
	msg->root = root;

	v = json_object_get(root, "id");
	if (json_is_integer(v))
		msg->id = json_integer_value(v);
	if ((v = json_object_get(root, "error"))) {
		get_str(v, "class", msg->err_class, sizeof(msg->err_class));
		get_str(v, "desc", msg->err_desc, sizeof(msg->err_desc));
		return msg->kind = QMP_ERROR;
	}
	if ((v = json_object_get(root, "return"))) {
		msg->ret = v;
		get_str(v, "status", msg->status, sizeof(msg->status));
		return msg->kind = QMP_RETURN;
	}
	event = json_string_value(json_object_get(root, "event"));
	if (event) {
		copy_str(msg->event, sizeof(msg->event), event);
		get_str(json_object_get(root, "data"), "reason", msg->reason,
			sizeof(msg->reason));
		return msg->kind = QMP_EVENT;
	}
	if (json_object_get(root, "QMP"))
		return msg->kind = QMP_GREETING;
	return msg->kind = QMP_OTHER;
}

void qmp_msg_release(struct qmp_msg *msg)
{
	json_decref(msg->root);
	msg->root = NULL;
	msg->ret = NULL;
}

char *qmp_command_line(const char *cmd, long long id)
{
	json_t *req = json_object();
	char *line;

	json_object_set_new(req, "execute", json_string(cmd));
	if (id >= 0)
		json_object_set_new(req, "id", json_integer(id));
	line = lab_json_text(req);
	json_decref(req);
	return line;
}

bool qmp_chardev_unconnected(const json_t *ret, const char *skip_label,
			     char *label, size_t size)
{
	const json_t *elem;
	size_t i;

	json_array_foreach(ret, i, elem) {
		const char *file = json_string_value(json_object_get(elem, "filename"));
		const char *name = json_string_value(json_object_get(elem, "label"));

		if (!file)
			continue;
		if (!name)
			name = "";
		if (skip_label && !strcmp(name, skip_label))
			continue;
		if (!strncmp(file, "disconnected:", 13)) {
			copy_str(label, size, name);
			return true;
		}
	}
	return false;
}
