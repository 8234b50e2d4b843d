// SPDX-License-Identifier: MIT
/*
 * serial-capture/telnet: a telnet connection (RFC 854), e.g. ser2net's
 * "telnet,..." or "telnet(rfc2217),..." accepter.  Keys: host, port.
 *
 * Every IAC sequence is taken out of the stream and negotiation is
 * answered (see telnet.h); no IAC byte ever reaches the caller, and a
 * sequence split across reads is parsed whole since the parser keeps its
 * state.  Data sent has 0xff doubled.  A read that held only negotiation
 * returns -LAB_EBUSY (nothing for the caller right now), not 0.
 *
 * Why not libtelnet (Debian libtelnet-dev, 0.21 in Debian 12): it does no
 * I/O of its own, so it would sit in the non-blocking console as well as
 * this parser does, but it would remove no code and change behaviour.
 * Its events arrive through a callback into buffers it owns, so using it
 * takes an adapter about as long as the parser below (which parses in
 * place, data and replies from one call); it knows RFC 2217 only as
 * opaque SB bytes, so COM-PORT-OPTION stays ours either way; and its
 * RFC 1143 code answers a refused DO or WILL every time it comes, where
 * this parser refuses each option once, so a peer that keeps asking
 * cannot make us answer forever (tests/unit/test_console.c,
 * test_telnet_no_loops, holds it to that).  One more library on every
 * lab host for that is not worth it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "console.h"
#include "telnet.h"
#include "lib/err.h"
#include "lib/xmalloc.h"

enum {
	T_DATA,
	T_IAC,		/* after IAC */
	T_OPT,		/* after IAC DO/DONT/WILL/WONT: the option */
	T_SB_OPT,	/* after IAC SB: the option */
	T_SB,		/* in a subnegotiation */
	T_SB_IAC,	/* IAC in a subnegotiation */
};


void telnet_parser_init(struct telnet_parser *p)
{
	memset(p, 0, sizeof(*p));
}

static void reply(struct strbuf *r, unsigned char verb, unsigned char opt)
{
	unsigned char b[3] = { TELNET_IAC, verb, opt };

	strbuf_add(r, b, 3);
}

static bool we_accept(unsigned char opt)
{
	return opt == TELNET_OPT_BINARY || opt == TELNET_OPT_COM_PORT;
}

static bool him_accept(unsigned char opt)
{
	return opt == TELNET_OPT_BINARY;
}

static void negotiate(struct telnet_parser *p, unsigned char verb,
		      unsigned char opt, struct strbuf *r)
{
	switch (verb) {
	case TELNET_DO:
		if (we_accept(opt)) {
			if (!p->us[opt]) {
				p->us[opt] = true;
				reply(r, TELNET_WILL, opt);
			}
		} else if (!p->refused_do[opt]) {
			p->refused_do[opt] = true;
			reply(r, TELNET_WONT, opt);
		}
		break;
	case TELNET_DONT:
		if (p->us[opt]) {
			p->us[opt] = false;
			reply(r, TELNET_WONT, opt);
		}
		break;
	case TELNET_WILL:
		if (him_accept(opt)) {
			if (!p->him[opt]) {
				p->him[opt] = true;
				reply(r, TELNET_DO, opt);
			}
		} else if (!p->refused_will[opt]) {
			p->refused_will[opt] = true;
			reply(r, TELNET_DONT, opt);
		}
		break;
	case TELNET_WONT:
		if (p->him[opt]) {
			p->him[opt] = false;
			reply(r, TELNET_DONT, opt);
		}
		break;
	}
}

size_t telnet_parse(struct telnet_parser *p, const unsigned char *in,
		    size_t n, unsigned char *out, struct strbuf *r)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = in[i];

		switch (p->state) {
		case T_DATA:
			if (c == TELNET_IAC)
				p->state = T_IAC;
			else
				out[o++] = c;
			break;
		case T_IAC:
			p->commands++;
			if (c == TELNET_IAC) {
				out[o++] = c;
				p->state = T_DATA;
			} else if (c >= TELNET_WILL && c <= TELNET_DONT) {
				p->sb_opt = c;	/* the verb, until the option */
				p->state = T_OPT;
			} else if (c == TELNET_SB) {
				p->state = T_SB_OPT;
			} else {
				p->state = T_DATA;	/* NOP, GA, SE, BRK, ... */
			}
			break;
		case T_OPT:
			negotiate(p, p->sb_opt, c, r);
			p->state = T_DATA;
			break;
		case T_SB_OPT:
			p->sb_opt = c;
			p->sb_len = 0;
			p->state = T_SB;
			break;
		case T_SB:
			if (c == TELNET_IAC)
				p->state = T_SB_IAC;
			else if (p->sb_len < sizeof(p->sb))
				p->sb[p->sb_len++] = c;
			break;
		case T_SB_IAC:
			if (c == TELNET_SE) {
				p->state = T_DATA;
			} else if (c == TELNET_IAC) {
				if (p->sb_len < sizeof(p->sb))
					p->sb[p->sb_len++] = c;
				p->state = T_SB;
			} else {
				/* not allowed inside SB: end it, take the command */
				p->state = T_IAC;
				i--;
			}
			break;
		}
	}
	return o;
}

void telnet_escape(struct strbuf *out, const void *data, size_t len)
{
	const unsigned char *d = data;
	size_t i;

	for (i = 0; i < len; i++) {
		strbuf_addch(out, (char)d[i]);
		if (d[i] == TELNET_IAC)
			strbuf_addch(out, (char)TELNET_IAC);
	}
}

struct telnet_con {
	int fd;
	struct telnet_parser parser;
	struct strbuf pending;	/* bytes to send not taken by the socket yet */
};

/* Send what is pending; 0, or -LAB_E* on a hard error. */
static int flush_pending(struct telnet_con *c)
{
	while (c->pending.len) {
		ssize_t n = send(c->fd, c->pending.buf, c->pending.len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0)
			return lab_err_errno(errno, "cannot write to the telnet console");
		memmove(c->pending.buf, c->pending.buf + n, c->pending.len - (size_t)n);
		strbuf_setlen(&c->pending, c->pending.len - (size_t)n);
	}
	return 0;
}

static int telnet_open(struct console *con, const struct console_config *cfg)
{
	struct telnet_con *c;
	int fd, ret;

	ret = console_tcp_connect(cfg, "telnet", &fd);
	if (ret)
		return ret;
	c = xzalloc(sizeof(*c));
	c->fd = fd;
	telnet_parser_init(&c->parser);
	con->priv = c;
	return 0;
}

static void telnet_close(struct console *con)
{
	struct telnet_con *c = con->priv;

	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	strbuf_release(&c->pending);
	free(c);
	con->priv = NULL;
}

static ssize_t telnet_read(struct console *con, void *buf, size_t len)
{
	struct telnet_con *c = con->priv;
	ssize_t n;
	size_t got;
	int ret;

	for (;;) {
		n = console_fd_read(c->fd, buf, len, "the telnet console", NULL);
		if (n <= 0)
			return n;
		got = telnet_parse(&c->parser, buf, (size_t)n, buf, &c->pending);
		ret = flush_pending(c);
		if (ret)
			return ret;
		if (got)
			return (ssize_t)got;
		/* only negotiation: look for more */
	}
}

static ssize_t telnet_write(struct console *con, const void *buf, size_t len)
{
	struct telnet_con *c = con->priv;
	int ret;

	if (c->pending.len > 65536)
		return -LAB_EBUSY;
	telnet_escape(&c->pending, buf, len);
	ret = flush_pending(c);
	return ret ? ret : (ssize_t)len;
}

static int telnet_fd(struct console *con)
{
	struct telnet_con *c = con->priv;

	return c->fd;
}

/* Telnet BREAK (IAC BRK): ser2net sends a break on the serial port. */
static int telnet_break(struct console *con)
{
	static const unsigned char brk[2] = { TELNET_IAC, 243 };
	struct telnet_con *c = con->priv;

	strbuf_add(&c->pending, brk, sizeof(brk));
	return flush_pending(c);
}

static const char *const telnet_keys[] = { "host", "port", NULL };

/* The keys this driver takes in a lab file's [console] section, declared once
 * here: labctl/labconf.c checks and shows them from this table. */
static const struct lab_key_def telnet_lab_keys[] = {
	{ "console", "host", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "host to connect to" },
	{ "console", "port", KEY_INT, NULL, NULL, 1, 65535, NULL,
	  "TCP port" },
	{ NULL, NULL, 0, NULL, NULL, 0, 0, NULL, NULL }
};

const struct console_driver console_driver_telnet = {
	.name = "telnet",
	.description = "telnet / RFC 2217 (ser2net telnet), negotiation handled",
	.keys = telnet_keys,
	.lab_keys = telnet_lab_keys,
	.open = telnet_open,
	.close = telnet_close,
	.read = telnet_read,
	.write = telnet_write,
	.fd = telnet_fd,
	.send_break = telnet_break,
	.reconnects = true,
};
