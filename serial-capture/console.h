/* SPDX-License-Identifier: MIT */
/*
 * Console transports behind one ops struct, one file per transport
 * (serial-capture/<name>.c), an explicit table (serial-capture/drivers.c).
 * A console is a byte stream the capture engine reads with poll().
 */
#ifndef CONSOLE_H
#define CONSOLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct console_param {
	const char *key;
	const char *value;
};

struct console_config {
	const char *driver;
	const struct console_param *params;	/* the lab's [console] keys */
	int nparams;
	/* qemu: the chardev socket QEMU serves (server=on). */
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

extern const struct console_driver *const console_drivers[];
const struct console_driver *console_find_driver(const char *name);

int console_open(struct console **out, const struct console_config *cfg);
void console_close(struct console *con);
ssize_t console_read(struct console *con, void *buf, size_t len);
ssize_t console_write(struct console *con, const void *buf, size_t len);
int console_fd(struct console *con);
const char *console_param(const struct console *con, const char *key);

#endif
