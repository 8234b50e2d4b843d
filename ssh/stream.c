// SPDX-License-Identifier: MIT
/*
 * A remote command as a non-blocking byte stream (see lab_ssh_stream_open
 * in ssh.h): the transport of the ssh console.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libssh/libssh.h>

#include "lib/err.h"
#include "lib/shquote.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "ssh/internal.h"

struct lab_ssh_stream {
	struct lab_ssh *s;
	ssh_channel ch;
};

int lab_ssh_stream_open(struct lab_ssh *s, const char *const *argv, bool pty,
			struct lab_ssh_stream **out)
{
	struct strbuf cmd = STRBUF_INIT;
	struct lab_ssh_stream *st;
	ssh_channel ch;
	int ret = 0;

	if (!argv || !argv[0])
		return lab_err(LAB_EINVAL, "ssh: empty command");
	sh_quote_argv(&cmd, argv);
	ch = ssh_channel_new(s->ssh);
	if (!ch)
		return lab_ssh_err(s, LAB_EINFRA, "cannot open a channel: %s",
				   lab_ssh_peer_error(s));
	s->round_trips += 2;
	if (ssh_channel_open_session(ch) != SSH_OK) {
		ret = lab_ssh_err(s, LAB_EINFRA, "cannot open a channel: %s",
				  lab_ssh_peer_error(s));
		goto fail;
	}
	/* A raw terminal: no echo, no line editing, no CR/LF changes. */
	if (pty && (ssh_channel_request_pty_size(ch, "dumb", 200, 50) != SSH_OK)) {
		ret = lab_ssh_err(s, LAB_EINFRA, "cannot get a terminal for %s: %s",
				  cmd.buf, lab_ssh_peer_error(s));
		goto fail;
	}
	if (ssh_channel_request_exec(ch, cmd.buf) != SSH_OK) {
		ret = lab_ssh_err(s, LAB_EINFRA, "cannot run %s: %s", cmd.buf,
				  lab_ssh_peer_error(s));
		goto fail;
	}
	st = xcalloc(1, sizeof(*st));
	st->s = s;
	st->ch = ch;
	*out = st;
	strbuf_release(&cmd);
	return 0;
fail:
	ssh_channel_free(ch);
	strbuf_release(&cmd);
	return ret;
}

int lab_ssh_stream_fd(const struct lab_ssh_stream *st)
{
	return ssh_get_fd(st->s->ssh);
}

ssize_t lab_ssh_stream_read(struct lab_ssh_stream *st, void *buf, size_t len)
{
	int n;

	if (len > 65536)
		len = 65536;
	/* stdout, then stderr (a console's complaints are console too). */
	n = ssh_channel_read_nonblocking(st->ch, buf, (uint32_t)len, 0);
	if (n == 0)
		n = ssh_channel_read_nonblocking(st->ch, buf, (uint32_t)len, 1);
	if (n > 0)
		return n;
	if (n == SSH_ERROR || !ssh_is_connected(st->s->ssh))
		return lab_ssh_err(st->s, LAB_EINFRA, "console stream lost: %s",
				   lab_ssh_peer_error(st->s));
	if (ssh_channel_is_eof(st->ch) || ssh_channel_is_closed(st->ch))
		return 0;
	return -LAB_EBUSY;
}

ssize_t lab_ssh_stream_write(struct lab_ssh_stream *st, const void *buf,
			     size_t len)
{
	int n = ssh_channel_write(st->ch, buf, (uint32_t)len);

	if (n < 0)
		return lab_ssh_err(st->s, LAB_EINFRA, "cannot write to the console stream: %s",
				   lab_ssh_peer_error(st->s));
	return n;
}

void lab_ssh_stream_close(struct lab_ssh_stream *st)
{
	if (!st)
		return;
	if (ssh_channel_is_open(st->ch))
		ssh_channel_close(st->ch);
	ssh_channel_free(st->ch);
	free(st);
}
