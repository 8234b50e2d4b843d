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
	 * A virtual board's console socket (the board type gives it:
	 * labctl/boardops.h).
	 * qemu: the chardev socket QEMU serves (server=on).  open retries
	 * until it exists and accepts, for up to connect_timeout_ms.  When
	 * QEMU exits, read returns 0 (end of stream): a new QEMU (power on
	 * after off) needs a new console_open.
	 */
	const char *socket_path;
	int64_t connect_timeout_ms;		/* 0: 10 s */

	/*
	 * Reconnect (see "Reconnecting" below): whether the transport is
	 * reopened when it ends or fails.  The [console] key reconnect =
	 * yes|no overrides it; without the key it only applies to drivers
	 * that can be reopened (.reconnects: not qemu, not cmd).  The keys
	 * backoff_min (100ms) and backoff_max (5s) override these two.
	 */
	bool reconnect;
	int64_t backoff_min_ms;			/* 0: 100 ms */
	int64_t backoff_max_ms;			/* 0: 5 s */
	/*
	 * Called when the transport is lost (up false, with why) and when it
	 * is back (up true, reason NULL), e.g. capture_gap_begin/_end.  Every
	 * byte received before the loss was returned by console_read before
	 * the call; nothing received after it is returned before the "back"
	 * call.  May be NULL.
	 */
	void (*on_link)(void *arg, bool up, const char *reason);
	void *link_arg;
};

struct console;

struct console_driver {
	const char *name;
	const char *description;
	const char *const *keys;
	/* The keys a lab file's [console] section may set for it: type,
	 * default, help (ends with key == NULL); each is one of keys. */
	const struct lab_key_def *lab_keys;
	int (*open)(struct console *con, const struct console_config *cfg);
	void (*close)(struct console *con);
	/* Non-blocking read: >0 bytes, 0 end of stream, -LAB_E* error,
	 * -LAB_EBUSY when nothing is available right now. */
	ssize_t (*read)(struct console *con, void *buf, size_t len);
	ssize_t (*write)(struct console *con, const void *buf, size_t len);
	int (*fd)(struct console *con);
	/* Optional: send a serial break (tty, telnet, ipmi-sol). */
	int (*send_break)(struct console *con);
	/* Opening it again after its end makes sense (a cable, a socket, a
	 * session), so reconnect is on by default; not for qemu or cmd. */
	bool reconnects;
};

struct console {
	const struct console_driver *drv;
	struct console_config cfg;
	void *priv;		/* the driver's; NULL while reconnecting */
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

/*
 * For transports whose whole state is one fd (qemu, tcp): keep it as
 * con->priv, close it, and its .fd op.
 */
void console_fd_keep(struct console *con, int fd);
void console_fd_close(struct console *con);
int console_fd_of(struct console *con);

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
/*
 * The fd to poll for POLLIN before console_read.  It stays the same from
 * open to close, across reconnects: an epoll fd over the transport's fd,
 * or over a timer while a reconnect waits for its next attempt.
 */
int console_fd(struct console *con);
/* A serial break; -LAB_EINVAL when the transport has none. */
int console_send_break(struct console *con);
/* The transport is connected (false while a reconnect waits). */
bool console_is_up(const struct console *con);
/* The keys every driver takes besides its own (reconnect, backoff_*). */
extern const char *const console_core_keys[];

/*
 * Reconnecting.  With reconnect on, a transport that ends (read returns
 * 0: ser2net restarted, TCP reset, a USB serial adapter unplugged, the
 * SOL program exited) or fails is closed, on_link(false, why) is called,
 * and console_read returns -LAB_EBUSY (never 0) while it is reopened:
 * first after backoff_min, then doubling up to backoff_max between
 * attempts; the wait starts again from backoff_min once a connection
 * lasted 1 s.  Each attempt waits at most 1 s for a connection.  When one
 * succeeds, on_link(true) is called before the first new byte is returned.
 * console_write while down is -LAB_EINFRA.
 */

#endif
