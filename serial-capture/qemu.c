// SPDX-License-Identifier: MIT
/*
 * serial-capture/qemu: the board's serial port as QEMU's chardev socket
 * (-chardev socket,id=s0,path=P,server=on,wait=off -serial chardev:s0).
 *
 * open connects to cfg->socket_path, retrying while it does not exist or
 * refuses (QEMU still starting; a stale socket file from a killed QEMU),
 * for up to connect_timeout_ms.  QEMU accepts one client per chardev; the
 * end of the stream (read returns 0) means QEMU exited or dropped us.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "console.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/xmalloc.h"

static int qemu_con_open(struct console *con, const struct console_config *cfg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int64_t deadline = lab_mono_ms() + cfg->connect_timeout_ms;
	int fd, e;

	if (!cfg->socket_path || !*cfg->socket_path)
		return lab_err(LAB_ECONFIG,
			       "console driver qemu needs the chardev socket path");
	if (strlen(cfg->socket_path) >= sizeof(sa.sun_path))
		return lab_err(LAB_ECONFIG,
			       "console socket path %s is too long (at most %zu bytes)",
			       cfg->socket_path, sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, cfg->socket_path, strlen(cfg->socket_path) + 1);
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return lab_err_errno(errno, "cannot create a socket");
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		e = errno;
		close(fd);
		if (e == EINTR)
			continue;
		if (e != ENOENT && e != ECONNREFUSED)
			return lab_err_errno(e, "cannot connect to the console socket %s",
					     cfg->socket_path);
		if (lab_mono_ms() >= deadline)
			return lab_err(LAB_ETIMEDOUT,
				       "console socket %s: %s after %lld ms (is QEMU running with -chardev socket,path=%s,server=on?)",
				       cfg->socket_path, strerror(e),
				       (long long)cfg->connect_timeout_ms,
				       cfg->socket_path);
		lab_sleep_ms(5);
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		e = errno;
		close(fd);
		return lab_err_errno(e, "cannot make %s non-blocking",
				     cfg->socket_path);
	}
	console_fd_keep(con, fd);
	return 0;
}

static ssize_t qemu_con_read(struct console *con, void *buf, size_t len)
{
	return console_fd_read(console_fd_of(con), buf, len,
			       "the console socket", con->cfg.socket_path);
}

static ssize_t qemu_con_write(struct console *con, const void *buf, size_t len)
{
	return console_fd_write(console_fd_of(con), buf, len, true,
				"the console socket", con->cfg.socket_path);
}

const struct console_driver console_driver_qemu = {
	.name = "qemu",
	.description = "QEMU serial port through its chardev unix socket",
	.keys = NULL,
	.open = qemu_con_open,
	.close = console_fd_close,
	.read = qemu_con_read,
	.write = qemu_con_write,
	.fd = console_fd_of,
};
