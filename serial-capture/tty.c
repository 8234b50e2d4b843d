// SPDX-License-Identifier: MIT
/*
 * serial-capture/tty: a local serial port.  Keys: device (a path; the
 * stable /dev/serial/by-id/... symlinks are followed), baud (default
 * 115200; rates without a B constant are set with termios2/BOTHER).
 *
 * The port is set raw 8N1, no flow control, CLOCAL, and taken
 * exclusively twice over: flock(LOCK_EX) (tio, minicom with lockfiles
 * off and other labctls honour it) and TIOCEXCL (the kernel refuses
 * every further open by a non-root process), so two programs never
 * share a console.  The previous settings are put back at close.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "console.h"
#include "lib/err.h"
#include "lib/xmalloc.h"

/* The kernel's struct termios2 (asm/termbits.h clashes with termios.h). */
struct lab_termios2 {
	tcflag_t c_iflag, c_oflag, c_cflag, c_lflag;
	cc_t c_line;
	cc_t c_cc[19];
	speed_t c_ispeed, c_ospeed;
};
#define LAB_TCGETS2	_IOR('T', 0x2A, struct lab_termios2)
#define LAB_TCSETS2	_IOW('T', 0x2B, struct lab_termios2)
#define LAB_BOTHER	0010000

struct tty_con {
	int fd;
	char *path;		/* as resolved, for messages */
	struct termios saved;
	bool have_saved;
};

static speed_t std_speed(long baud)
{
	static const struct { long baud; speed_t b; } tab[] = {
		{ 50, B50 }, { 75, B75 }, { 110, B110 }, { 134, B134 },
		{ 150, B150 }, { 200, B200 }, { 300, B300 }, { 600, B600 },
		{ 1200, B1200 }, { 1800, B1800 }, { 2400, B2400 },
		{ 4800, B4800 }, { 9600, B9600 }, { 19200, B19200 },
		{ 38400, B38400 }, { 57600, B57600 }, { 115200, B115200 },
		{ 230400, B230400 }, { 460800, B460800 }, { 500000, B500000 },
		{ 576000, B576000 }, { 921600, B921600 }, { 1000000, B1000000 },
		{ 1152000, B1152000 }, { 1500000, B1500000 },
		{ 2000000, B2000000 }, { 2500000, B2500000 },
		{ 3000000, B3000000 }, { 3500000, B3500000 },
		{ 4000000, B4000000 },
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (tab[i].baud == baud)
			return tab[i].b;
	return 0;
}

static int set_other_baud(int fd, long baud, const char *path)
{
	struct lab_termios2 t2;

	if (ioctl(fd, LAB_TCGETS2, &t2) < 0)
		return lab_err_errno(errno, "%s: cannot set %ld baud (no termios2)",
				     path, baud);
	t2.c_cflag &= ~(tcflag_t)CBAUD;
	t2.c_cflag |= LAB_BOTHER;
	t2.c_ispeed = t2.c_ospeed = (speed_t)baud;
	if (ioctl(fd, LAB_TCSETS2, &t2) < 0)
		return lab_err_errno(errno, "%s: cannot set %ld baud", path, baud);
	return 0;
}

static int tty_open(struct console *con, const struct console_config *cfg)
{
	const char *dev = lab_param_get(cfg->params, cfg->nparams, "device");
	const char *bs = lab_param_get(cfg->params, cfg->nparams, "baud");
	long baud = 115200;
	struct tty_con *c;
	struct termios t;
	char *real, *end;
	speed_t sp;
	int fd, ret;

	if (!dev || !*dev)
		return lab_err(LAB_ECONFIG,
			       "console driver tty needs device (e.g. device = /dev/serial/by-id/usb-FTDI_...)");
	if (bs && *bs) {
		errno = 0;
		baud = strtol(bs, &end, 10);
		if (errno || *end || baud < 50 || baud > 4000000)
			return lab_err(LAB_ECONFIG,
				       "console tty: baud '%s' is not a rate from 50 to 4000000",
				       bs);
	}
	real = realpath(dev, NULL);
	if (!real)
		return lab_err_errno(errno,
				     "console tty: no serial device %s (is it plugged in? see ls /dev/serial/by-id/)",
				     dev);
	fd = open(real, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		ret = errno == EBUSY ?
			lab_err(LAB_EBUSY, "console tty %s: in exclusive use by another program",
				real) :
			lab_err_errno(errno, "console tty: cannot open %s", real);
		free(real);
		return ret;
	}
	if (!isatty(fd)) {
		close(fd);
		ret = lab_err(LAB_ECONFIG, "console tty: %s is not a terminal device", real);
		free(real);
		return ret;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		ret = errno == EWOULDBLOCK ?
			lab_err(LAB_EBUSY,
				"console tty %s is in use by another program (it holds the lock)",
				real) :
			lab_err_errno(errno, "console tty: cannot lock %s", real);
		goto fail;
	}
	if (ioctl(fd, TIOCEXCL) < 0) {
		ret = lab_err_errno(errno, "console tty: cannot make %s exclusive", real);
		goto fail;
	}
	c = xzalloc(sizeof(*c));
	if (tcgetattr(fd, &t) < 0) {
		free(c);
		ret = lab_err_errno(errno, "console tty: cannot read the settings of %s",
				    real);
		goto fail;
	}
	c->saved = t;
	c->have_saved = true;
	cfmakeraw(&t);
	t.c_cflag &= ~(tcflag_t)(CSTOPB | PARENB | CRTSCTS | CSIZE);
	t.c_cflag |= CS8 | CLOCAL | CREAD;
	t.c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	sp = std_speed(baud);
	if (sp)
		cfsetspeed(&t, sp);
	if (tcsetattr(fd, TCSANOW, &t) < 0) {
		free(c);
		ret = lab_err_errno(errno, "console tty: cannot set %s raw", real);
		goto fail;
	}
	if (!sp) {
		ret = set_other_baud(fd, baud, real);
		if (ret) {
			tcsetattr(fd, TCSANOW, &c->saved);
			free(c);
			goto fail;
		}
	}
	tcflush(fd, TCIOFLUSH);
	c->fd = fd;
	c->path = real;
	con->priv = c;
	return 0;
fail:
	close(fd);
	free(real);
	return ret;
}

static void tty_close(struct console *con)
{
	struct tty_con *c = con->priv;

	if (!c)
		return;
	if (c->fd >= 0) {
		if (c->have_saved)
			tcsetattr(c->fd, TCSANOW, &c->saved);
		ioctl(c->fd, TIOCNXCL);
		close(c->fd);
	}
	free(c->path);
	free(c);
	con->priv = NULL;
}

static ssize_t tty_read(struct console *con, void *buf, size_t len)
{
	struct tty_con *c = con->priv;

	/* EIO = hung up (USB serial unplugged, pty closed): end of stream. */
	return console_fd_read(c->fd, buf, len, "the serial port", c->path);
}

static ssize_t tty_write(struct console *con, const void *buf, size_t len)
{
	struct tty_con *c = con->priv;

	return console_fd_write(c->fd, buf, len, false, "the serial port",
				c->path);
}

static int tty_fd(struct console *con)
{
	struct tty_con *c = con->priv;

	return c->fd;
}

static int tty_break(struct console *con)
{
	struct tty_con *c = con->priv;

	if (tcsendbreak(c->fd, 0) < 0)
		return lab_err_errno(errno, "console tty: cannot send a break on %s",
				     c->path);
	return 0;
}

static const char *const tty_keys[] = { "device", "baud", NULL };

/* The keys this driver takes in a lab file's [console] section, declared once
 * here: labctl/labconf.c checks and shows them from this table. */
static const struct lab_key_def tty_lab_keys[] = {
	{ "console", "device", KEY_PATH, NULL, NULL, 0, 0, NULL,
	  "serial device, preferably /dev/serial/by-id/..." },
	{ "console", "baud", KEY_INT, "115200", NULL, 50, 4000000, NULL,
	  "baud rate" },
	{ NULL, NULL, 0, NULL, NULL, 0, 0, NULL, NULL }
};

const struct console_driver console_driver_tty = {
	.name = "tty",
	.description = "local serial port (termios raw, exclusive)",
	.keys = tty_keys,
	.lab_keys = tty_lab_keys,
	.open = tty_open,
	.close = tty_close,
	.read = tty_read,
	.write = tty_write,
	.fd = tty_fd,
	.send_break = tty_break,
	.reconnects = true,
};
