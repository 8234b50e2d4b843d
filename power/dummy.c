// SPDX-License-Identifier: MIT
/*
 * power/dummy: a board that is only a file, for tests and dry runs.
 *
 * Keys:
 *   state_file  "on\n" or "off\n" (missing: off); without it the state
 *               lives in memory for as long as the device is open
 *   log         every action appended as one line ("on", "off", ...)
 *   fail        comma-separated actions that fail with -LAB_EINFRA
 *               (on, off, status), to test error paths
 *
 * It can only switch on, off and tell its state: cycle and reset go
 * through the core's fallback (off, wait off_time, on), which is what the
 * tests of power.c check.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/fileio.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "power.h"

struct dummy {
	enum power_state mem_state;
};

static const char *const dummy_keys[] = { "state_file", "log", "fail", NULL };

static bool fails(struct power_dev *dev, const char *action)
{
	const char *f = power_param(dev, "fail");
	size_t n = strlen(action);

	while (f && *f) {
		size_t len = strcspn(f, ",");

		if (len == n && !strncmp(f, action, n))
			return true;
		f += len;
		if (*f == ',')
			f++;
	}
	return false;
}

static int log_action(struct power_dev *dev, const char *action)
{
	const char *path = power_param(dev, "log");
	char line[64];
	int fd, len;

	if (!path)
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return lab_err_errno(errno, "dummy power: cannot open log %s", path);
	len = snprintf(line, sizeof(line), "%s\n", action);
	if (write(fd, line, (size_t)len) != len) {
		int e = errno;

		close(fd);
		return lab_err_errno(e, "dummy power: cannot write log %s", path);
	}
	close(fd);
	return 0;
}

static int get_state(struct power_dev *dev, enum power_state *state)
{
	struct dummy *d = dev->priv;
	const char *path = power_param(dev, "state_file");
	struct strbuf sb = STRBUF_INIT;
	int ret;

	if (!path) {
		*state = d->mem_state;
		return 0;
	}
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		*state = POWER_OFF;
		return 0;
	}
	ret = strbuf_read_file(&sb, path, 64);
	if (ret)
		return ret;
	strbuf_rtrim(&sb);
	if (!strcmp(strbuf_str(&sb), "on"))
		*state = POWER_ON;
	else if (!strcmp(strbuf_str(&sb), "off"))
		*state = POWER_OFF;
	else
		ret = lab_err(LAB_EFORMAT,
			      "dummy power: %s says '%s', want 'on' or 'off'",
			      path, strbuf_str(&sb));
	strbuf_release(&sb);
	return ret;
}

static int set_state(struct power_dev *dev, const char *action,
		     enum power_state state)
{
	struct dummy *d = dev->priv;
	const char *path = power_param(dev, "state_file");
	const char *text = state == POWER_ON ? "on\n" : "off\n";
	int ret;

	if (fails(dev, action))
		return lab_err(LAB_EINFRA, "dummy power: %s fails (fail=%s)",
			       action, power_param(dev, "fail"));
	ret = log_action(dev, action);
	if (ret)
		return ret;
	d->mem_state = state;
	if (!path)
		return 0;
	return lab_write_file_atomic(path, text, strlen(text), 0644);
}

static int dummy_open(struct power_dev *dev, const struct power_config *cfg)
{
	struct dummy *d = xzalloc(sizeof(*d));

	(void)cfg;
	d->mem_state = POWER_OFF;
	dev->priv = d;
	return 0;
}

static void dummy_close(struct power_dev *dev)
{
	free(dev->priv);
	dev->priv = NULL;
}

static int dummy_on(struct power_dev *dev)
{
	return set_state(dev, "on", POWER_ON);
}

static int dummy_off(struct power_dev *dev)
{
	return set_state(dev, "off", POWER_OFF);
}

static int dummy_status(struct power_dev *dev, enum power_state *state)
{
	if (fails(dev, "status"))
		return lab_err(LAB_EINFRA, "dummy power: status fails (fail=%s)",
			       power_param(dev, "fail"));
	return get_state(dev, state);
}

/* --dry-run: the state file write (or the in-memory state) and the log line. */
static int dummy_describe(struct power_dev *dev, const char *action,
			  struct strbuf *out)
{
	const char *path = power_param(dev, "state_file");
	const char *log = power_param(dev, "log");
	const char *state;

	if (!strcmp(action, "status")) {
		if (path)
			strbuf_addf(out, "read %s\n", path);
		else
			strbuf_addstr(out, "read the state in memory\n");
		return 0;
	}
	if (!strcmp(action, "cycle") || !strcmp(action, "reset")) {
		/* The core's fallback: off, wait off_time, on. */
		dummy_describe(dev, "off", out);
		if (fails(dev, "off"))
			return 0;
		strbuf_addf(out, "wait %lld ms\n",
			    (long long)dev->cfg.off_time_ms);
		return dummy_describe(dev, "on", out);
	}
	if (!strcmp(action, "on"))
		state = "on";
	else if (!strcmp(action, "off"))
		state = "off";
	else
		return lab_err(LAB_ECONFIG, "power driver dummy cannot %s", action);
	if (fails(dev, action)) {
		strbuf_addf(out, "fail %s (fail=%s)\n", action,
			    power_param(dev, "fail"));
		return 0;
	}
	if (log)
		strbuf_addf(out, "append \"%s\\n\" to %s\n", action, log);
	if (path)
		strbuf_addf(out, "write \"%s\\n\" to %s\n", state, path);
	else
		strbuf_addf(out, "set the state in memory to %s\n", state);
	return 0;
}

/* The keys this driver takes in a lab file's [power] section, declared once
 * here: labctl/labconf.c checks and shows them from this table. */
static const struct lab_key_def dummy_lab_keys[] = {
	{ "power", "state_file", KEY_PATH, NULL, NULL, 0, 0, NULL,
	  "where the dummy driver keeps its state" },
	{ "power", "log", KEY_PATH, NULL, NULL, 0, 0, NULL,
	  "file the dummy driver appends every action to" },
	{ "power", "fail", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "actions the dummy driver fails, comma-separated (for tests)" },
	{ NULL, NULL, 0, NULL, NULL, 0, 0, NULL, NULL }
};

const struct power_driver power_driver_dummy = {
	.name = "dummy",
	.description = "a board that is a state file (tests, dry runs)",
	.caps = POWER_CAP_ON | POWER_CAP_OFF | POWER_CAP_STATUS,
	.keys = dummy_keys,
	.lab_keys = dummy_lab_keys,
	.open = dummy_open,
	.close = dummy_close,
	.on = dummy_on,
	.off = dummy_off,
	.status = dummy_status,
	.describe = dummy_describe,
};
