// SPDX-License-Identifier: MIT
/*
 * serial-capture/tcp: a raw TCP byte stream (ser2net's "tcp,..." accepter,
 * a terminal server's raw port).  Keys: host, port.  Every byte received
 * is console data; nothing is interpreted.  The end of the stream (the
 * server closed) is read returning 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "console.h"
#include "telnet.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/xmalloc.h"

static int try_connect(const struct addrinfo *ai, int64_t deadline, int *out)
{
	int fd, e, one = 1;
	socklen_t el = sizeof(e);

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    ai->ai_protocol);
	if (fd < 0)
		return errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			e = errno;
			close(fd);
			return e;
		}
		for (;;) {
			struct pollfd pfd = { fd, POLLOUT, 0 };
			int64_t left = deadline - lab_mono_ms();
			int r;

			if (left <= 0) {
				close(fd);
				return ETIMEDOUT;
			}
			r = poll(&pfd, 1, (int)(left > 1000 ? 1000 : left));
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				e = errno;
				close(fd);
				return e;
			}
			if (r > 0)
				break;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
			e = errno;
		if (e) {
			close(fd);
			return e;
		}
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*out = fd;
	return 0;
}

int console_tcp_connect(const struct console_config *cfg, const char *drv,
			int *fd)
{
	const char *host = lab_param_get(cfg->params, cfg->nparams, "host");
	const char *port = lab_param_get(cfg->params, cfg->nparams, "port");
	int64_t deadline = lab_mono_ms() + cfg->connect_timeout_ms;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char *end;
	long pn;
	int r, e = 0;

	*fd = -1;
	if (!host || !*host || !port || !*port)
		return lab_err(LAB_ECONFIG,
			       "console driver %s needs host and port (e.g. host = 127.0.0.1, port = 7001)",
			       drv);
	pn = strtol(port, &end, 10);
	if (*end || pn < 1 || pn > 65535)
		return lab_err(LAB_ECONFIG,
			       "console driver %s: port '%s' is not a TCP port (1-65535)",
			       drv, port);
	r = getaddrinfo(host, port, &hints, &res);
	if (r)
		return lab_err(LAB_EINFRA, "console %s %s:%s: cannot resolve %s: %s",
			       drv, host, port, host, gai_strerror(r));
	for (ai = res; ai; ai = ai->ai_next) {
		e = try_connect(ai, deadline, fd);
		if (!e)
			break;
	}
	freeaddrinfo(res);
	if (*fd >= 0)
		return 0;
	if (e == ETIMEDOUT)
		return lab_err(LAB_ETIMEDOUT,
			       "console %s %s:%s: no connection within %lld ms (is the host up?)",
			       drv, host, port, (long long)cfg->connect_timeout_ms);
	return lab_err(LAB_EINFRA,
		       "console %s %s:%s: cannot connect: %s (is ser2net or the terminal server listening there?)",
		       drv, host, port, strerror(e));
}

static int tcp_open(struct console *con, const struct console_config *cfg)
{
	int fd, ret;

	ret = console_tcp_connect(cfg, "tcp", &fd);
	if (ret)
		return ret;
	console_fd_keep(con, fd);
	return 0;
}

static ssize_t tcp_read(struct console *con, void *buf, size_t len)
{
	return console_fd_read(console_fd_of(con), buf, len,
			       "the console connection", NULL);
}

static ssize_t tcp_write(struct console *con, const void *buf, size_t len)
{
	return console_fd_write(console_fd_of(con), buf, len, true,
				"the console connection", NULL);
}

static const char *const tcp_keys[] = { "host", "port", NULL };

/* The keys this driver takes in a lab file's [console] section, declared once
 * here: labctl/labconf.c checks and shows them from this table. */
static const struct lab_key_def tcp_lab_keys[] = {
	{ "console", "host", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "host to connect to" },
	{ "console", "port", KEY_INT, NULL, NULL, 1, 65535, NULL,
	  "TCP port" },
	{ NULL, NULL, 0, NULL, NULL, 0, 0, NULL, NULL }
};

const struct console_driver console_driver_tcp = {
	.name = "tcp",
	.description = "raw TCP byte stream (ser2net tcp, terminal server)",
	.keys = tcp_keys,
	.lab_keys = tcp_lab_keys,
	.open = tcp_open,
	.close = console_fd_close,
	.read = tcp_read,
	.write = tcp_write,
	.fd = console_fd_of,
	.reconnects = true,
};
