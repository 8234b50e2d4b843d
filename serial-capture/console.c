// SPDX-License-Identifier: MIT
/* Core wrappers around the console transports. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "console.h"
#include "lib/err.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"

struct console_alloc {
	struct console con;
	struct lab_param *params;
	char *driver;
	char *socket_path;
};

const struct console_driver *console_find_driver(const char *name)
{
	int i;

	for (i = 0; name && console_drivers[i]; i++)
		if (!strcmp(console_drivers[i]->name, name))
			return console_drivers[i];
	return NULL;
}

static int check_config(const struct console_driver *drv,
			const struct console_config *cfg)
{
	char what[64];

	snprintf(what, sizeof(what), "console driver %s", drv->name);
	return lab_params_check(cfg->params, cfg->nparams, drv->keys, what);
}

static void free_alloc(struct console_alloc *a)
{
	lab_params_free(a->params, a->con.cfg.nparams);
	free(a->driver);
	free(a->socket_path);
	free(a);
}

int console_open(struct console **out, const struct console_config *cfg)
{
	const struct console_driver *drv = console_find_driver(cfg->driver);
	struct console_alloc *a;
	int i, ret;

	*out = NULL;
	if (!drv) {
		struct strbuf sb = STRBUF_INIT;

		for (i = 0; console_drivers[i]; i++)
			strbuf_addf(&sb, "%s%s", i ? ", " : "",
				    console_drivers[i]->name);
		ret = lab_err(LAB_ECONFIG, "unknown console driver '%s' (known: %s)",
			      cfg->driver ? cfg->driver : "", strbuf_str(&sb));
		strbuf_release(&sb);
		return ret;
	}
	ret = check_config(drv, cfg);
	if (ret)
		return ret;

	a = xzalloc(sizeof(*a));
	a->con.drv = drv;
	a->con.cfg = *cfg;
	a->driver = xstrdup(drv->name);
	a->con.cfg.driver = a->driver;
	a->params = lab_params_dup(cfg->params, cfg->nparams);
	if (!a->params)
		a->con.cfg.nparams = 0;
	a->con.cfg.params = a->params;
	a->socket_path = cfg->socket_path ? xstrdup(cfg->socket_path) : NULL;
	a->con.cfg.socket_path = a->socket_path;
	if (a->con.cfg.connect_timeout_ms <= 0)
		a->con.cfg.connect_timeout_ms = 10000;

	ret = drv->open(&a->con, &a->con.cfg);
	if (ret) {
		free_alloc(a);
		return ret;
	}
	*out = &a->con;
	return 0;
}

void console_close(struct console *con)
{
	if (!con)
		return;
	if (con->drv->close)
		con->drv->close(con);
	free_alloc((struct console_alloc *)((char *)con -
		   offsetof(struct console_alloc, con)));
}

ssize_t console_read(struct console *con, void *buf, size_t len)
{
	return con->drv->read(con, buf, len);
}

ssize_t console_write(struct console *con, const void *buf, size_t len)
{
	if (!con->drv->write)
		return lab_err(LAB_EINVAL, "console driver %s cannot send",
			       con->drv->name);
	return con->drv->write(con, buf, len);
}

int console_fd(struct console *con)
{
	return con->drv->fd(con);
}

const char *console_param(const struct console *con, const char *key)
{
	return lab_param_get(con->cfg.params, con->cfg.nparams, key);
}

static int fd_error(int e, const char *verb, const char *what,
		    const char *name)
{
	return lab_err_errno(e, "cannot %s %s%s%s", verb, what, name ? " " : "",
			     name ? name : "");
}

ssize_t console_fd_read(int fd, void *buf, size_t len, const char *what,
			const char *name)
{
	ssize_t n;

	do
		n = read(fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return -LAB_EBUSY;
	if (errno == ECONNRESET || errno == EIO)
		return 0;
	return fd_error(errno, "read", what, name);
}

ssize_t console_fd_write(int fd, const void *buf, size_t len, bool socket,
			 const char *what, const char *name)
{
	ssize_t n;

	do
		n = socket ? send(fd, buf, len, MSG_NOSIGNAL) : write(fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return -LAB_EBUSY;
	return fd_error(errno, "write to", what, name);
}
