// SPDX-License-Identifier: MIT
/*
 * Core wrappers around the console transports, and reconnecting (see
 * console.h).  console_fd() is an epoll fd that holds the transport's fd
 * while it is up and a timerfd for the next attempt while it is down, so
 * a caller polls one fd that never changes.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "console.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define ATTEMPT_TIMEOUT_MS 1000	/* one reconnect attempt */
#define STABLE_MS 1000		/* up this long: the backoff starts over */

const char *const console_core_keys[] = {
	"reconnect", "backoff_min", "backoff_max", NULL
};

struct console_alloc {
	struct console con;
	struct lab_param *params;
	char *driver;
	char *socket_path;
	int epfd;		/* what console_fd() returns */
	int tfd;		/* timer of the next attempt */
	int watched;		/* the fd in epfd: the transport's, tfd or -1 */
	bool reconnect;
	bool up;
	int64_t backoff_min, backoff_max, backoff;
	int64_t up_since;	/* lab_mono_ms() of the last connect */
	int64_t next_try;	/* lab_mono_ms() of the next attempt */
	unsigned attempts;	/* failed attempts since the loss */
};

static struct console_alloc *alloc_of(const struct console *con)
{
	return (struct console_alloc *)((char *)con -
					offsetof(struct console_alloc, con));
}

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
	const char *takes[32];
	char what[64];
	int n = 0, i;

	for (i = 0; drv->keys && drv->keys[i] && n < 24; i++)
		takes[n++] = drv->keys[i];
	for (i = 0; console_core_keys[i]; i++)
		takes[n++] = console_core_keys[i];
	takes[n] = NULL;
	snprintf(what, sizeof(what), "console driver %s", drv->name);
	return lab_params_check(cfg->params, cfg->nparams, takes, what);
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1", NULL };
	static const char *const no[] = { "no", "false", "off", "0", NULL };
	int i;

	for (i = 0; yes[i]; i++)
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
	for (i = 0; no[i]; i++)
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	return -1;
}

/* The reconnect settings: cfg, then the keys. */
static int reconnect_config(struct console_alloc *a,
			    const struct console_config *cfg)
{
	const char *r = lab_param_get(cfg->params, cfg->nparams, "reconnect");
	static const char *const dkeys[] = { "backoff_min", "backoff_max" };
	int64_t *dst[] = { &a->backoff_min, &a->backoff_max };
	int i;

	a->reconnect = cfg->reconnect && a->con.drv->reconnects;
	if (r && parse_bool(r, &a->reconnect))
		return lab_err(LAB_ECONFIG,
			       "console: reconnect = %s: want yes or no", r);
	a->backoff_min = cfg->backoff_min_ms > 0 ? cfg->backoff_min_ms : BACKOFF_MIN_MS;
	a->backoff_max = cfg->backoff_max_ms > 0 ? cfg->backoff_max_ms : BACKOFF_MAX_MS;
	for (i = 0; i < 2; i++) {
		const char *v = lab_param_get(cfg->params, cfg->nparams, dkeys[i]);

		if (v && (lab_parse_duration_ms(v, dst[i]) || *dst[i] <= 0))
			return lab_err(LAB_ECONFIG,
				       "console: %s = %s: want a duration like 100ms or 5s",
				       dkeys[i], v);
	}
	if (a->backoff_max < a->backoff_min)
		return lab_err(LAB_ECONFIG,
			       "console: backoff_max (%lld ms) is shorter than backoff_min (%lld ms)",
			       (long long)a->backoff_max, (long long)a->backoff_min);
	a->backoff = a->backoff_min;
	return 0;
}

/* Put fd (or nothing, -1) in the epoll set instead of what is there. */
static int watch_fd(struct console_alloc *a, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN };

	if (a->watched >= 0)
		epoll_ctl(a->epfd, EPOLL_CTL_DEL, a->watched, NULL);
	a->watched = -1;
	if (fd < 0)
		return 0;
	ev.data.fd = fd;
	if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return lab_err_errno(errno, "console %s: cannot watch its fd",
				     a->con.drv->name);
	a->watched = fd;
	return 0;
}

static void arm_timer(struct console_alloc *a, int64_t ms)
{
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };

	if (ms <= 0)
		ms = 1;
	its.it_value.tv_sec = ms / 1000;
	its.it_value.tv_nsec = (ms % 1000) * 1000000;
	timerfd_settime(a->tfd, 0, &its, NULL);
	a->next_try = lab_mono_ms() + ms;
}

static void free_alloc(struct console_alloc *a)
{
	lab_params_free(a->params, a->con.cfg.nparams);
	if (a->epfd >= 0)
		close(a->epfd);
	if (a->tfd >= 0)
		close(a->tfd);
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
	a->epfd = a->tfd = a->watched = -1;
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

	ret = reconnect_config(a, &a->con.cfg);
	if (!ret) {
		a->epfd = epoll_create1(EPOLL_CLOEXEC);
		a->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (a->epfd < 0 || a->tfd < 0)
			ret = lab_err_errno(errno, "console: cannot create an epoll or timer fd");
	}
	if (!ret)
		ret = drv->open(&a->con, &a->con.cfg);
	if (!ret) {
		ret = watch_fd(a, drv->fd(&a->con));
		if (ret)
			drv->close(&a->con);
	}
	if (ret) {
		free_alloc(a);
		return ret;
	}
	a->up = true;
	a->up_since = lab_mono_ms();
	*out = &a->con;
	return 0;
}

void console_close(struct console *con)
{
	struct console_alloc *a;

	if (!con)
		return;
	a = alloc_of(con);
	watch_fd(a, -1);
	if (a->up && con->drv->close)
		con->drv->close(con);
	free_alloc(a);
}

/* The transport ended or failed: close it and wait for the first attempt. */
static void go_down(struct console_alloc *a, const char *why)
{
	struct console *con = &a->con;
	int64_t now = lab_mono_ms();
	char *reason = xstrdup(why);

	watch_fd(a, -1);
	con->drv->close(con);
	con->priv = NULL;
	a->up = false;
	a->attempts = 0;
	if (now - a->up_since >= STABLE_MS)
		a->backoff = a->backoff_min;
	else if ((a->backoff *= 2) > a->backoff_max)
		a->backoff = a->backoff_max;
	arm_timer(a, a->backoff);
	watch_fd(a, a->tfd);
	if (con->cfg.on_link)
		con->cfg.on_link(con->cfg.link_arg, false, reason);
	else
		lab_info("console %s lost (%s); reconnecting", con->drv->name, reason);
	free(reason);
}

/* While down: one attempt when it is due.  0 when up again. */
static int try_reconnect(struct console_alloc *a)
{
	struct console *con = &a->con;
	int64_t saved = con->cfg.connect_timeout_ms;
	uint64_t ticks;
	int ret;

	if (lab_mono_ms() < a->next_try)
		return -LAB_EBUSY;
	while (read(a->tfd, &ticks, sizeof(ticks)) < 0 && errno == EINTR)
		;
	if (con->cfg.connect_timeout_ms > ATTEMPT_TIMEOUT_MS)
		con->cfg.connect_timeout_ms = ATTEMPT_TIMEOUT_MS;
	ret = con->drv->open(con, &con->cfg);
	con->cfg.connect_timeout_ms = saved;
	if (!ret) {
		ret = watch_fd(a, con->drv->fd(con));
		if (ret)
			con->drv->close(con);
	}
	if (ret) {
		if (!a->attempts++)
			lab_debug("console %s: reconnect failed: %s",
				  con->drv->name, lab_errmsg(ret));
		lab_err_clear();
		con->priv = NULL;
		if ((a->backoff *= 2) > a->backoff_max)
			a->backoff = a->backoff_max;
		arm_timer(a, a->backoff);
		watch_fd(a, a->tfd);
		return -LAB_EBUSY;
	}
	a->up = true;
	a->up_since = lab_mono_ms();
	if (con->cfg.on_link)
		con->cfg.on_link(con->cfg.link_arg, true, NULL);
	else
		lab_info("console %s is back (after %u failed attempt%s)",
			 con->drv->name, a->attempts, a->attempts == 1 ? "" : "s");
	return 0;
}

ssize_t console_read(struct console *con, void *buf, size_t len)
{
	struct console_alloc *a = alloc_of(con);
	ssize_t n;

	if (!a->up && try_reconnect(a))
		return -LAB_EBUSY;
	n = con->drv->read(con, buf, len);
	if (n > 0 || n == -LAB_EBUSY || !a->reconnect)
		return n;
	go_down(a, n == 0 ? "the connection ended" : lab_errmsg((int)n));
	lab_err_clear();
	return -LAB_EBUSY;
}

ssize_t console_write(struct console *con, const void *buf, size_t len)
{
	if (!con->drv->write)
		return lab_err(LAB_EINVAL, "console driver %s cannot send",
			       con->drv->name);
	if (!alloc_of(con)->up)
		return lab_err(LAB_EINFRA, "console %s is reconnecting: nothing sent",
			       con->drv->name);
	return con->drv->write(con, buf, len);
}

int console_send_break(struct console *con)
{
	if (!con->drv->send_break)
		return lab_err(LAB_EINVAL, "console driver %s cannot send a break",
			       con->drv->name);
	if (!alloc_of(con)->up)
		return lab_err(LAB_EINFRA, "console %s is reconnecting: no break sent",
			       con->drv->name);
	return con->drv->send_break(con);
}

bool console_is_up(const struct console *con)
{
	return alloc_of(con)->up;
}

int console_fd(struct console *con)
{
	return alloc_of(con)->epfd;
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

struct console_fd_priv {
	int fd;
};

void console_fd_keep(struct console *con, int fd)
{
	struct console_fd_priv *c = xzalloc(sizeof(*c));

	c->fd = fd;
	con->priv = c;
}

void console_fd_close(struct console *con)
{
	struct console_fd_priv *c = con->priv;

	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	con->priv = NULL;
}

int console_fd_of(struct console *con)
{
	struct console_fd_priv *c = con->priv;

	return c->fd;
}
