// SPDX-License-Identifier: MIT
/*
 * serial-capture/bochs: the Bochs board's com1, a FIFO Bochs writes in
 * mode=file (cfg->socket_path names it; labctl/bochsboard.h says why a
 * FIFO: nothing is lost and no port is needed).
 *
 * open opens the read end, then a write end of our own: Bochs' open
 * completes once a reader is there, and our writer keeps the FIFO from
 * reading as end of stream between two Bochs processes (power cycle:
 * one console across both) and before the first one starts.  So read
 * never returns 0; the end of Bochs is the power driver's EXIT.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "console.h"
#include "lib/err.h"
#include "lib/xmalloc.h"

struct bochs_con {
	int rfd, wfd;
};

static int bochs_con_open(struct console *con, const struct console_config *cfg)
{
	struct bochs_con *c;
	struct stat st;
	int e;

	if (!cfg->socket_path || !*cfg->socket_path)
		return lab_err(LAB_ECONFIG, "console driver bochs needs the com1 FIFO path");
	if (stat(cfg->socket_path, &st) < 0)
		return lab_err_errno(errno, "no console FIFO %s (is this a Bochs board?)",
				     cfg->socket_path);
	if (!S_ISFIFO(st.st_mode))
		return lab_err(LAB_ECONFIG, "console %s is not a FIFO", cfg->socket_path);
	c = xzalloc(sizeof(*c));
	c->rfd = open(cfg->socket_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (c->rfd < 0) {
		e = errno;
		free(c);
		return lab_err_errno(e, "cannot open the console FIFO %s", cfg->socket_path);
	}
	c->wfd = open(cfg->socket_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (c->wfd < 0) {
		e = errno;
		close(c->rfd);
		free(c);
		return lab_err_errno(e, "cannot open the console FIFO %s", cfg->socket_path);
	}
	con->priv = c;
	return 0;
}

static void bochs_con_close(struct console *con)
{
	struct bochs_con *c = con->priv;

	if (!c)
		return;
	close(c->rfd);
	close(c->wfd);
	free(c);
	con->priv = NULL;
}

static ssize_t bochs_con_read(struct console *con, void *buf, size_t len)
{
	struct bochs_con *c = con->priv;

	return console_fd_read(c->rfd, buf, len, "the console FIFO",
			       con->cfg.socket_path);
}

static int bochs_con_fd(struct console *con)
{
	struct bochs_con *c = con->priv;

	return c->rfd;
}

const struct console_driver console_driver_bochs = {
	.name = "bochs",
	.description = "Bochs' com1 through a FIFO (the Bochs virtual board; read only)",
	.keys = NULL,
	.open = bochs_con_open,
	.close = bochs_con_close,
	.read = bochs_con_read,
	.fd = bochs_con_fd,
};
