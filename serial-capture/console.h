/* SPDX-License-Identifier: MIT */
/*
 * Console transports behind one ops struct, one file per transport
 * (serial-capture/<name>.c), an explicit table (serial-capture/drivers.c).
 * A console is a byte stream the capture engine reads with poll().
 *
 * Read it without pauses: QEMU's 16550 writes one byte per socket write,
 * and when the reader stops for about a second it gives up and DROPS
 * bytes (measured with QEMU 7.2: a 1 s pause in a flood lost 128 bytes,
 * pauses up to 0.5 s lost none; the guest is slowed to the reader's pace
 * meanwhile).  So poll the console together with everything else and do
 * not block elsewhere for long while the board runs.
 */
#ifndef CONSOLE_H
#define CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/param.h"
#include <sys/types.h>

struct console_config {
	const char *driver;
	const struct lab_param *params;	/* the lab's [console] keys */
	int nparams;
	/*
	 * qemu: the chardev socket QEMU serves (server=on).  open retries
	 * until it exists and accepts, for up to connect_timeout_ms.  When
	 * QEMU exits, read returns 0 (end of stream): a new QEMU (power on
	 * after off) needs a new console_open.
	 */
	const char *socket_path;
	int64_t connect_timeout_ms;		/* 0: 10 s */
};

struct console;

struct console_driver {
	const char *name;
	const char *description;
	const char *const *keys;
	int (*open)(struct console *con, const struct console_config *cfg);
	void (*close)(struct console *con);
	/* Non-blocking read: >0 bytes, 0 end of stream, -LAB_E* error,
	 * -LAB_EBUSY when nothing is available right now. */
	ssize_t (*read)(struct console *con, void *buf, size_t len);
	ssize_t (*write)(struct console *con, const void *buf, size_t len);
	int (*fd)(struct console *con);
};

struct console {
	const struct console_driver *drv;
	struct console_config cfg;
	void *priv;
};

/*
 * For transports over a non-blocking fd: read or write with EINTR retried,
 * EAGAIN as -LAB_EBUSY and a hang-up (ECONNRESET on a socket, EIO on a
 * tty whose other end went away) as end of stream (0).  A failure names
 * `what` and `name` (may be NULL): "cannot read the serial port /dev/x".
 * Writes use send(MSG_NOSIGNAL) on sockets so a gone peer is an error,
 * not a SIGPIPE.
 */
ssize_t console_fd_read(int fd, void *buf, size_t len, const char *what,
			const char *name);
ssize_t console_fd_write(int fd, const void *buf, size_t len, bool socket,
			 const char *what, const char *name);

extern const struct console_driver *const console_drivers[];
const struct console_driver *console_find_driver(const char *name);
/* Every entry has a unique name, a description, open, close, read and
 * fd.  0 or -LAB_EINVAL. */
int console_drivers_selftest(void);

/*
 * Returns 0 or -LAB_E*: unknown driver or a key it does not take is
 * -LAB_ECONFIG, no connection within the timeout -LAB_ETIMEDOUT.  cfg is
 * copied (strings too).
 */
int console_open(struct console **out, const struct console_config *cfg);
void console_close(struct console *con);
/* As the driver's read/write; write without a driver op is -LAB_EINVAL. */
ssize_t console_read(struct console *con, void *buf, size_t len);
ssize_t console_write(struct console *con, const void *buf, size_t len);
int console_fd(struct console *con);
const char *console_param(const struct console *con, const char *key);

#endif
