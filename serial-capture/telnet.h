/* SPDX-License-Identifier: MIT */
/*
 * Internal to serial-capture/: the telnet (RFC 854) IAC parser the telnet
 * transport uses, and the TCP connect both tcp and telnet use.
 *
 * The parser takes the bytes as they come off the socket, in any split,
 * and keeps its state across calls: data bytes come out (IAC IAC is one
 * 0xff data byte), commands and negotiation never do.  It answers
 * negotiation as RFC 1143 wants (only state changes are answered, so two
 * parties never loop): it agrees to BINARY both ways and, for RFC 2217,
 * to DO COM-PORT-OPTION (44); every other DO gets WONT and every other
 * WILL gets DONT.  Subnegotiations (SB ... IAC SE) are consumed; the
 * parameters of the last COM-PORT-OPTION one are kept for diagnostics.
 */
#ifndef SERIAL_CAPTURE_TELNET_H
#define SERIAL_CAPTURE_TELNET_H

#include <stdbool.h>
#include <stddef.h>

#include "console.h"
#include "lib/strbuf.h"

#define TELNET_IAC	255
#define TELNET_DONT	254
#define TELNET_DO	253
#define TELNET_WONT	252
#define TELNET_WILL	251
#define TELNET_SB	250
#define TELNET_SE	240
#define TELNET_OPT_BINARY	0
#define TELNET_OPT_SGA		3
#define TELNET_OPT_COM_PORT	44
#define TELNET_SB_MAX	64

struct telnet_parser {
	int state;
	unsigned char sb_opt;		/* option of the SB being read */
	unsigned char sb[TELNET_SB_MAX];/* its parameters (cut at SB_MAX) */
	size_t sb_len;
	bool us[256];			/* options we do (WILL agreed) */
	bool him[256];			/* options the peer does (DO agreed) */
	bool refused_do[256];		/* WONT already sent for a DO */
	bool refused_will[256];		/* DONT already sent for a WILL */
	unsigned long commands;		/* IAC sequences seen (for tests) */
};

void telnet_parser_init(struct telnet_parser *p);
/*
 * Parse n bytes of in; write the data bytes to out (room for n; out may be
 * in itself) and append the replies to send to reply.  Returns the number
 * of data bytes.
 */
size_t telnet_parse(struct telnet_parser *p, const unsigned char *in,
		    size_t n, unsigned char *out, struct strbuf *reply);
/* Append data to out with every 0xff doubled (for sending). */
void telnet_escape(struct strbuf *out, const void *data, size_t len);

/*
 * Connect to the [console] keys host and port within
 * cfg->connect_timeout_ms; *fd is non-blocking.  Errors name the driver,
 * host and port.  0 or -LAB_E*.
 */
int console_tcp_connect(const struct console_config *cfg, const char *drv,
			int *fd);

#endif
