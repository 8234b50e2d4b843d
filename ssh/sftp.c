// SPDX-License-Identifier: MIT
/*
 * SFTP (version 3, OpenSSH's sftp-server) over one libssh channel of the
 * session, opened on first use.
 *
 * Why not libssh's own sftp_*: libssh 0.10 has no asynchronous write (one
 * sftp_write waits for its status before the next is sent) and no
 * posix-rename@openssh.com (its sftp_rename is SSH_FXP_RENAME, which
 * OpenSSH refuses when the target exists, so a file could not be replaced
 * atomically).  Measured on loopback (64 MiB, whole process, 2 cores):
 * synchronous 32 KiB sftp_writes run at about scp's speed only with
 * TCP_NODELAY (without it, 1 MB/s: every request waits for a delayed
 * ACK), and they cost one round trip each, so on a real network they top
 * out at 32 KiB per RTT; bigger synchronous requests help, but only
 * OpenSSH's sftp-server takes up to 256 KiB, and a message too big for a
 * server kills it.  So this file speaks the protocol itself, as OpenSSH's
 * sftp client does: uploads keep UPLOAD_INFLIGHT_BYTES of write requests
 * in flight, of the size the server announces (limits@openssh.com, else
 * 32 KiB, which every server takes), then fsync@openssh.com and
 * posix-rename@openssh.com.  bench/sftp-put.sh: 1.2x scp's throughput
 * with 255 KiB requests, 1.1x with 32 KiB ones.  A server without
 * posix-rename gets `mv -f` through lab_ssh_run (rename(2) too: still
 * atomic); one without fsync@openssh.com gets no fsync.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libssh/libssh.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "ssh/internal.h"

enum {
	FXP_INIT = 1, FXP_VERSION = 2, FXP_OPEN = 3, FXP_CLOSE = 4,
	FXP_READ = 5, FXP_WRITE = 6, FXP_LSTAT = 7, FXP_FSTAT = 8,
	FXP_SETSTAT = 9, FXP_FSETSTAT = 10, FXP_REMOVE = 13,
	FXP_MKDIR = 14, FXP_STAT = 17, FXP_STATUS = 101, FXP_HANDLE = 102,
	FXP_DATA = 103, FXP_ATTRS = 105, FXP_EXTENDED = 200,
	FXP_EXTENDED_REPLY = 201,
};
enum {
	FX_OK = 0, FX_EOF = 1, FX_NO_SUCH_FILE = 2, FX_PERMISSION_DENIED = 3,
	FX_FAILURE = 4, FX_OP_UNSUPPORTED = 8,
};
enum {
	FXF_READ = 0x01, FXF_WRITE = 0x02, FXF_CREAT = 0x08,
	FXF_TRUNC = 0x10, FXF_EXCL = 0x20,
};
#define ATTR_SIZE 0x00000001u
#define ATTR_UIDGID 0x00000002u
#define ATTR_PERMISSIONS 0x00000004u
#define ATTR_ACMODTIME 0x00000008u
#define ATTR_EXTENDED 0x80000000u

/* OpenSSH's sftp-server takes messages up to 256 KiB. */
#define MAX_PACKET (256 * 1024 + 1024)
#define DEFAULT_WRITE 32768
#define MAX_WRITE (256 * 1024 - 1024)
/* Twice OpenSSH's session window (2 MiB), so the pipe never drains. */
#define UPLOAD_INFLIGHT_BYTES (4 * 1024 * 1024)
#define READ_CHUNK 65536

struct lab_sftp {
	ssh_channel ch;
	uint32_t next_id;
	struct strbuf in;	/* bytes received, from in_off on unparsed */
	size_t in_off;
	bool posix_rename;
	bool fsync;
	bool limits;
	bool broken;		/* out of step with the server: reopen */
	uint32_t write_size;
};

/* A received packet; p/len is what follows type (and id). */
struct pkt {
	uint8_t type;
	uint32_t id;
	const unsigned char *p;
	size_t len;
};

/* ------------------------------------------------------------ encoding */

static void put_u32(struct strbuf *b, uint32_t v)
{
	unsigned char c[4] = { v >> 24, v >> 16, v >> 8, v };

	strbuf_add(b, c, 4);
}

static void put_u64(struct strbuf *b, uint64_t v)
{
	put_u32(b, (uint32_t)(v >> 32));
	put_u32(b, (uint32_t)v);
}

static void put_str(struct strbuf *b, const void *data, size_t len)
{
	put_u32(b, (uint32_t)len);
	strbuf_add(b, data, len);
}

static void put_cstr(struct strbuf *b, const char *s)
{
	put_str(b, s, strlen(s));
}

static uint32_t get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static bool get_u32(struct pkt *k, uint32_t *v)
{
	if (k->len < 4)
		return false;
	*v = get_be32(k->p);
	k->p += 4;
	k->len -= 4;
	return true;
}

static bool get_u64(struct pkt *k, uint64_t *v)
{
	uint32_t hi, lo;

	if (!get_u32(k, &hi) || !get_u32(k, &lo))
		return false;
	*v = (uint64_t)hi << 32 | lo;
	return true;
}

static bool get_str(struct pkt *k, const unsigned char **s, uint32_t *len)
{
	if (!get_u32(k, len) || k->len < *len)
		return false;
	*s = k->p;
	k->p += *len;
	k->len -= *len;
	return true;
}

/* Start a request: length placeholder, type, id.  Returns the id. */
static uint32_t begin(struct lab_sftp *f, struct strbuf *b, uint8_t type)
{
	uint32_t id = f->next_id++;

	strbuf_reset(b);
	put_u32(b, 0);
	strbuf_addch(b, (char)type);
	put_u32(b, id);
	return id;
}

static void finish(struct strbuf *b)
{
	uint32_t n = (uint32_t)(b->len - 4);
	unsigned char *p = (unsigned char *)b->buf;

	p[0] = n >> 24;
	p[1] = n >> 16;
	p[2] = n >> 8;
	p[3] = n;
}

/* ------------------------------------------------------------ transport */

static int lost(struct lab_ssh *s, const char *what)
{
	s->sftp->broken = true;
	return lab_ssh_err(s, LAB_EINFRA, "SFTP connection lost (%s): %s",
			   what, lab_ssh_peer_error(s));
}

static int send_packet(struct lab_ssh *s, struct strbuf *b)
{
	size_t off = 0;

	finish(b);
	s->round_trips++;
	while (off < b->len) {
		int n = ssh_channel_write(s->sftp->ch, b->buf + off,
					  (uint32_t)(b->len - off));

		if (n <= 0)
			return lost(s, "write");
		off += (size_t)n;
	}
	return 0;
}

/* The next packet (valid until the next call), waiting until deadline. */
static int recv_packet(struct lab_ssh *s, struct pkt *k, int64_t deadline)
{
	struct lab_sftp *f = s->sftp;

	for (;;) {
		size_t have = f->in.len - f->in_off;
		const unsigned char *p =
			(const unsigned char *)f->in.buf + f->in_off;
		int64_t left;
		int n;

		if (have >= 4) {
			uint32_t plen = get_be32(p);

			if (plen < 1 || plen > MAX_PACKET) {
				f->broken = true;
				return lab_ssh_err(s, LAB_EINFRA, "SFTP: bad "
						   "packet length %u from the "
						   "server", plen);
			}
			if (have >= 4 + (size_t)plen) {
				k->type = p[4];
				k->p = p + 5;
				k->len = plen - 1;
				k->id = 0;
				f->in_off += 4 + (size_t)plen;
				if (k->type != FXP_VERSION &&
				    !get_u32(k, &k->id))
					return lab_ssh_err(s, LAB_EINFRA,
							   "SFTP: short packet");
				return 0;
			}
		}
		/* Keep the buffer small: drop what was parsed. */
		if (f->in_off) {
			memmove(f->in.buf, f->in.buf + f->in_off, have);
			strbuf_setlen(&f->in, have);
			f->in_off = 0;
		}
		left = deadline - lab_mono_ms();
		if (left <= 0) {
			/* A late reply would be taken for the next one's. */
			f->broken = true;
			return lab_ssh_err(s, LAB_ETIMEDOUT, "SFTP: no answer "
					   "from the server within %lld ms",
					   (long long)s->command_timeout_ms);
		}
		strbuf_grow(&f->in, 65536);
		n = ssh_channel_read_timeout(f->ch, f->in.buf + f->in.len,
					     65536, 0,
					     left > 1000 ? 1000 : (int)left);
		if (n < 0)
			return lost(s, "read");
		if (n == 0 && (ssh_channel_is_eof(f->ch) ||
			       ssh_channel_is_closed(f->ch))) {
			f->broken = true;
			return lab_ssh_err(s, LAB_EINFRA, "SFTP: the server "
					   "closed the channel");
		}
		strbuf_setlen(&f->in, f->in.len + (size_t)n);
	}
}

static int64_t op_deadline(struct lab_ssh *s)
{
	return lab_mono_ms() + s->command_timeout_ms;
}

/* Send b and wait for the reply to its id. */
static int call(struct lab_ssh *s, struct strbuf *b, uint32_t id,
		struct pkt *k)
{
	int ret = send_packet(s, b);

	if (!ret)
		ret = recv_packet(s, k, op_deadline(s));
	if (!ret && k->id != id) {
		s->sftp->broken = true;
		ret = lab_ssh_err(s, LAB_EINFRA, "SFTP: reply %u to request "
				  "%u", k->id, id);
	}
	return ret;
}

static const char *status_text(uint32_t code)
{
	switch (code) {
	case FX_EOF: return "end of file";
	case FX_NO_SUCH_FILE: return "no such file or directory";
	case FX_PERMISSION_DENIED: return "permission denied";
	case FX_FAILURE: return "failed";
	case FX_OP_UNSUPPORTED: return "not supported by the server";
	default: return "SFTP error";
	}
}

/*
 * A STATUS reply: 0 for OK, else the error recorded as
 * "cannot WHAT PATH: TEXT".  *code gets the status (may be NULL).
 */
static int status_of(struct lab_ssh *s, struct pkt *k, const char *what,
		     const char *path, uint32_t *code_out)
{
	uint32_t code, mlen = 0;
	const unsigned char *msg = NULL;
	int err;

	if (k->type != FXP_STATUS || !get_u32(k, &code))
		return lab_ssh_err(s, LAB_EINFRA, "SFTP: unexpected reply %u "
				   "to %s %s", k->type, what, path);
	if (code_out)
		*code_out = code;
	if (code == FX_OK)
		return 0;
	get_str(k, &msg, &mlen);
	switch (code) {
	case FX_NO_SUCH_FILE: err = LAB_ENOENT; break;
	case FX_PERMISSION_DENIED: err = LAB_EPERM; break;
	case FX_FAILURE: case FX_EOF: err = LAB_EIO; break;
	default: err = LAB_EINFRA; break;
	}
	/* OpenSSH's texts are its strerror(): keep them when they say more. */
	if (msg && mlen && mlen < 200 &&
	    strncasecmp((const char *)msg, status_text(code), mlen))
		return lab_ssh_err(s, err, "cannot %s %s: %s (%.*s)", what,
				   path, status_text(code), (int)mlen,
				   (const char *)msg);
	return lab_ssh_err(s, err, "cannot %s %s: %s", what, path,
			   status_text(code));
}

/* ------------------------------------------------------------ session */

static bool has_ext(struct pkt *k, const char *name)
{
	struct pkt c = *k;
	const unsigned char *n, *v;
	uint32_t nl, vl;

	while (get_str(&c, &n, &nl) && get_str(&c, &v, &vl))
		if (nl == strlen(name) && !memcmp(n, name, nl))
			return true;
	return false;
}

static void ask_limits(struct lab_ssh *s)
{
	struct lab_sftp *f = s->sftp;
	struct strbuf b = STRBUF_INIT;
	uint64_t max_packet, max_read, max_write;
	uint32_t id;
	struct pkt k;

	id = begin(f, &b, FXP_EXTENDED);
	put_cstr(&b, "limits@openssh.com");
	if (!call(s, &b, id, &k) && k.type == FXP_EXTENDED_REPLY &&
	    get_u64(&k, &max_packet) && get_u64(&k, &max_read) &&
	    get_u64(&k, &max_write) && max_write >= 1024) {
		if (max_write > MAX_WRITE)
			max_write = MAX_WRITE;
		f->write_size = (uint32_t)max_write;
	}
	lab_err_clear();
	strbuf_release(&b);
}

static int sftp_start(struct lab_ssh *s)
{
	struct lab_sftp *f;
	struct strbuf b = STRBUF_INIT;
	struct pkt k;
	uint32_t version;
	int ret;

	if (s->sftp && !s->sftp->broken)
		return 0;
	lab_sftp_free(s->sftp);
	s->sftp = NULL;
	f = xzalloc(sizeof(*f));
	f->next_id = 1;
	f->write_size = DEFAULT_WRITE;
	f->ch = ssh_channel_new(s->ssh);
	s->sftp = f;
	s->round_trips += 2;
	if (!f->ch || ssh_channel_open_session(f->ch) != SSH_OK ||
	    ssh_channel_request_subsystem(f->ch, "sftp") != SSH_OK) {
		ret = lab_ssh_err(s, LAB_EINFRA, "cannot start SFTP (does "
				  "sshd have a Subsystem sftp line?): %s",
				  lab_ssh_peer_error(s));
		goto fail;
	}
	put_u32(&b, 0);
	strbuf_addch(&b, FXP_INIT);
	put_u32(&b, 3);
	ret = send_packet(s, &b);
	if (!ret)
		ret = recv_packet(s, &k, op_deadline(s));
	if (ret)
		goto fail;
	if (k.type != FXP_VERSION || !get_u32(&k, &version)) {
		ret = lab_ssh_err(s, LAB_EINFRA, "SFTP: the server did not "
				  "answer the version request");
		goto fail;
	}
	f->posix_rename = has_ext(&k, "posix-rename@openssh.com");
	f->fsync = has_ext(&k, "fsync@openssh.com");
	f->limits = has_ext(&k, "limits@openssh.com");
	if (f->limits)
		ask_limits(s);
	strbuf_release(&b);
	return 0;
fail:
	strbuf_release(&b);
	lab_sftp_free(f);
	s->sftp = NULL;
	return ret;
}

void lab_sftp_free(struct lab_sftp *f)
{
	if (!f)
		return;
	if (f->ch) {
		if (ssh_channel_is_open(f->ch))
			ssh_channel_close(f->ch);
		ssh_channel_free(f->ch);
	}
	strbuf_release(&f->in);
	free(f);
}

/* ------------------------------------------------------------ requests */

/* OPEN: the handle goes to *handle (allocated). */
static int open_file(struct lab_ssh *s, const char *path, uint32_t pflags,
		     uint32_t perm, struct strbuf *handle)
{
	struct strbuf b = STRBUF_INIT;
	const unsigned char *h;
	uint32_t id, hl;
	struct pkt k;
	int ret;

	id = begin(s->sftp, &b, FXP_OPEN);
	put_cstr(&b, path);
	put_u32(&b, pflags);
	if (pflags & FXF_CREAT) {
		put_u32(&b, ATTR_PERMISSIONS);
		put_u32(&b, perm);
	} else {
		put_u32(&b, 0);
	}
	ret = call(s, &b, id, &k);
	if (!ret && k.type == FXP_HANDLE && get_str(&k, &h, &hl))
		strbuf_add(handle, h, hl);
	else if (!ret)
		ret = status_of(s, &k, pflags & FXF_WRITE ?
				"create" : "open", path, NULL);
	strbuf_release(&b);
	return ret;
}

/* A request on a handle or path that answers with a STATUS. */
static int simple(struct lab_ssh *s, struct strbuf *b, uint32_t id,
		  const char *what, const char *path, uint32_t *code)
{
	struct pkt k;
	int ret = call(s, b, id, &k);

	if (code)
		*code = FX_FAILURE;
	return ret ? ret : status_of(s, &k, what, path, code);
}

static int close_handle(struct lab_ssh *s, struct strbuf *handle,
			const char *path)
{
	struct strbuf b = STRBUF_INIT;
	uint32_t id = begin(s->sftp, &b, FXP_CLOSE);
	int ret;

	put_str(&b, handle->buf, handle->len);
	ret = simple(s, &b, id, "close", path, NULL);
	strbuf_release(&b);
	return ret;
}

static int remove_file(struct lab_ssh *s, const char *path, uint32_t *code)
{
	struct strbuf b = STRBUF_INIT;
	uint32_t id = begin(s->sftp, &b, FXP_REMOVE);
	int ret;

	put_cstr(&b, path);
	ret = simple(s, &b, id, "remove", path, code);
	strbuf_release(&b);
	return ret;
}

/* STAT: *perm gets the mode bits (type included). */
static int stat_path(struct lab_ssh *s, const char *path, uint32_t *perm,
		     uint32_t *code)
{
	struct strbuf b = STRBUF_INIT;
	uint32_t id = begin(s->sftp, &b, FXP_STAT), flags, u;
	uint64_t size;
	struct pkt k;
	int ret;

	put_cstr(&b, path);
	ret = call(s, &b, id, &k);
	strbuf_release(&b);
	if (ret)
		return ret;
	if (k.type != FXP_ATTRS)
		return status_of(s, &k, "stat", path, code);
	*perm = 0;
	if (!get_u32(&k, &flags) ||
	    ((flags & ATTR_SIZE) && !get_u64(&k, &size)) ||
	    ((flags & ATTR_UIDGID) && (!get_u32(&k, &u) || !get_u32(&k, &u))) ||
	    ((flags & ATTR_PERMISSIONS) && !get_u32(&k, perm)))
		return lab_ssh_err(s, LAB_EINFRA, "SFTP: bad attributes "
				   "for %s", path);
	return 0;
}

static int do_rename(struct lab_ssh *s, const char *from, const char *to)
{
	struct strbuf b = STRBUF_INIT;
	uint32_t id;
	int ret, status;

	if (s->sftp->posix_rename) {
		id = begin(s->sftp, &b, FXP_EXTENDED);
		put_cstr(&b, "posix-rename@openssh.com");
		put_cstr(&b, from);
		put_cstr(&b, to);
		ret = simple(s, &b, id, "rename to", to, NULL);
		strbuf_release(&b);
		return ret;
	}
	/* No posix-rename: mv is rename(2) on the same file system. */
	{
		const char *argv[] = { "mv", "-f", "--", from, to, NULL };
		struct strbuf err = STRBUF_INIT;

		ret = lab_ssh_run(s, argv, NULL, 0, NULL, &err, &status, 0);
		if (!ret && status) {
			strbuf_rtrim(&err);
			ret = lab_ssh_err(s, LAB_EIO, "cannot rename %s to "
					  "%s: mv: %.300s", from, to,
					  err.len ? err.buf : "failed");
		}
		strbuf_release(&err);
	}
	return ret;
}

/* ------------------------------------------------------------ upload */

struct source {
	int fd;			/* a file, or -1 */
	const char *data;	/* else this buffer */
	size_t len;
	const char *name;	/* for messages */
};

/* Fill dst with up to n bytes at off; 0 at the end. */
static ssize_t source_read(struct source *src, uint64_t off, char *dst,
			   size_t n)
{
	size_t got = 0;

	if (src->fd < 0) {
		if (off >= src->len)
			return 0;
		if (n > src->len - off)
			n = (size_t)(src->len - off);
		memcpy(dst, src->data + off, n);
		return (ssize_t)n;
	}
	while (got < n) {
		ssize_t r = read(src->fd, dst + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

struct progress {
	lab_ssh_progress_fn fn;
	void *arg;
	const char *name;
	uint64_t total;
	int64_t last_ms;
};

static void progress(struct progress *p, uint64_t done, bool final)
{
	int64_t now;

	if (!p->fn)
		return;
	now = lab_mono_ms();
	if (!final && now - p->last_ms < 100)
		return;
	p->last_ms = now;
	p->fn(p->arg, p->name, done, p->total);
}

/* Pipelined writes of the whole source to handle. */
static int write_all(struct lab_ssh *s, struct strbuf *handle,
		     struct source *src, const char *tmp, struct progress *pr)
{
	struct lab_sftp *f = s->sftp;
	struct strbuf b = STRBUF_INIT;
	uint64_t off = 0;
	uint32_t inflight = 0, first_id = f->next_id, code;
	uint32_t max_inflight = UPLOAD_INFLIGHT_BYTES / f->write_size;
	size_t hdr;
	bool eof = false;
	int ret = 0;
	struct pkt k;

	while (!eof || inflight) {
		while (!eof && inflight < max_inflight) {
			ssize_t n;

			begin(f, &b, FXP_WRITE);
			put_str(&b, handle->buf, handle->len);
			put_u64(&b, off);
			put_u32(&b, 0);		/* data length, below */
			hdr = b.len;
			strbuf_grow(&b, f->write_size);
			n = source_read(src, off, b.buf + hdr, f->write_size);
			if (n < 0) {
				f->next_id--;
				ret = lab_err_errno(errno, "cannot read %s",
						    src->name);
				goto out;
			}
			if (n == 0) {
				f->next_id--;
				eof = true;
				break;
			}
			strbuf_setlen(&b, hdr + (size_t)n);
			b.buf[hdr - 4] = (char)(n >> 24);
			b.buf[hdr - 3] = (char)(n >> 16);
			b.buf[hdr - 2] = (char)(n >> 8);
			b.buf[hdr - 1] = (char)n;
			ret = send_packet(s, &b);
			if (ret)
				goto out;
			off += (uint64_t)n;
			s->bytes_sent += (uint64_t)n;
			inflight++;
			/*
			 * Sent means taken within the channel window, i.e.
			 * consumed by the server: close enough for progress.
			 */
			progress(pr, off, false);
		}
		if (!inflight)
			break;
		ret = recv_packet(s, &k, op_deadline(s));
		if (ret)
			goto out;
		if (k.id < first_id || k.id >= f->next_id) {
			f->broken = true;
			ret = lab_ssh_err(s, LAB_EINFRA, "SFTP: reply to an "
					  "unknown request %u", k.id);
			goto out;
		}
		ret = status_of(s, &k, "write", tmp, &code);
		if (ret)
			goto out;
		inflight--;
	}
	progress(pr, off, true);
out:
	/* Collect what is still in flight so the channel stays in step. */
	while (inflight && !f->broken) {
		if (recv_packet(s, &k, op_deadline(s)))
			break;
		inflight--;
	}
	strbuf_release(&b);
	return ret;
}

static int fsetstat_mode(struct lab_ssh *s, struct strbuf *handle,
			 mode_t mode, const char *tmp)
{
	struct strbuf b = STRBUF_INIT;
	uint32_t id = begin(s->sftp, &b, FXP_FSETSTAT);
	int ret;

	put_str(&b, handle->buf, handle->len);
	put_u32(&b, ATTR_PERMISSIONS);
	put_u32(&b, (uint32_t)(mode & 07777));
	ret = simple(s, &b, id, "set the mode of", tmp, NULL);
	strbuf_release(&b);
	return ret;
}

static int fsync_handle(struct lab_ssh *s, struct strbuf *handle,
			const char *tmp)
{
	struct strbuf b = STRBUF_INIT;
	uint32_t id;
	int ret;

	if (!s->sftp->fsync)
		return 0;	/* the server cannot: rename without it */
	id = begin(s->sftp, &b, FXP_EXTENDED);
	put_cstr(&b, "fsync@openssh.com");
	put_str(&b, handle->buf, handle->len);
	ret = simple(s, &b, id, "fsync", tmp, NULL);
	strbuf_release(&b);
	return ret;
}

static int upload(struct lab_ssh *s, struct source *src, const char *path,
		  mode_t mode, struct progress *pr)
{
	struct strbuf tmp = STRBUF_INIT, handle = STRBUF_INIT;
	unsigned char rnd[6];
	bool is_open = false, created = false;
	int ret;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return lab_err_errno(errno, "getrandom");
	ret = lab_ssh_temp_name(&tmp, path, rnd);
	if (!ret)
		ret = sftp_start(s);
	if (ret)
		goto out;
	ret = open_file(s, tmp.buf, FXF_WRITE | FXF_CREAT | FXF_EXCL |
			FXF_TRUNC, 0600, &handle);
	if (ret)
		goto out;
	is_open = created = true;
	ret = write_all(s, &handle, src, tmp.buf, pr);
	if (!ret) {
		/*
		 * A file system without Unix modes (a vfat ESP) refuses
		 * chmod: the content matters more than the mode.
		 */
		int r = fsetstat_mode(s, &handle, mode, tmp.buf);

		if (r && s->sftp->broken)
			ret = r;
		else if (r)
			lab_warn("%s (the file is uploaded anyway)",
				 lab_errmsg(r));
	}
	if (!ret)
		ret = fsync_handle(s, &handle, tmp.buf);
	if (!ret) {
		is_open = false;
		ret = close_handle(s, &handle, tmp.buf);
	}
	if (!ret)
		ret = do_rename(s, tmp.buf, path);
	if (!ret)
		created = false;
out:
	if (ret && (is_open || created) && !s->sftp->broken) {
		/* Keep the first message; the clean-up is best effort. */
		struct strbuf msg = STRBUF_INIT;

		strbuf_addstr(&msg, lab_errmsg(ret));
		if (is_open)
			close_handle(s, &handle, tmp.buf);
		remove_file(s, tmp.buf, NULL);
		lab_err(-ret, "%s", msg.buf);
		strbuf_release(&msg);
	}
	strbuf_release(&tmp);
	strbuf_release(&handle);
	return ret;
}

int lab_ssh_put_file(struct lab_ssh *s, const char *local_path,
		     const char *remote_path, mode_t mode,
		     lab_ssh_progress_fn progress_fn, void *arg)
{
	struct source src = { .fd = -1, .name = local_path };
	struct progress pr = { .fn = progress_fn, .arg = arg,
			       .name = local_path };
	struct stat st;
	int ret;

	src.fd = open(local_path, O_RDONLY | O_CLOEXEC);
	if (src.fd < 0)
		return lab_err_errno(errno, "cannot open %s", local_path);
	if (fstat(src.fd, &st) == 0)
		pr.total = (uint64_t)st.st_size;
	posix_fadvise(src.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	ret = upload(s, &src, remote_path, mode, &pr);
	close(src.fd);
	return ret;
}

int lab_ssh_write_file(struct lab_ssh *s, const char *remote_path,
		       const void *data, size_t len, mode_t mode)
{
	struct source src = { .fd = -1, .data = data, .len = len,
			      .name = "(buffer)" };
	struct progress pr = { 0 };

	return upload(s, &src, remote_path, mode, &pr);
}

/* ------------------------------------------------------------ others */

int lab_ssh_read_file(struct lab_ssh *s, const char *path,
		      struct strbuf *out, size_t max)
{
	struct strbuf handle = STRBUF_INIT, b = STRBUF_INIT;
	size_t start = out->len;
	uint64_t off = 0;
	struct pkt k;
	uint32_t id, code, dl;
	const unsigned char *d;
	int ret;

	ret = sftp_start(s);
	if (!ret)
		ret = open_file(s, path, FXF_READ, 0, &handle);
	if (ret)
		goto out;
	for (;;) {
		id = begin(s->sftp, &b, FXP_READ);
		put_str(&b, handle.buf, handle.len);
		put_u64(&b, off);
		put_u32(&b, READ_CHUNK);
		ret = call(s, &b, id, &k);
		if (ret)
			break;
		if (k.type == FXP_DATA && get_str(&k, &d, &dl)) {
			if (out->len - start + dl > max) {
				ret = lab_ssh_err(s, LAB_EFORMAT, "%s is larger "
						  "than %zu bytes", path, max);
				break;
			}
			strbuf_add(out, d, dl);
			off += dl;
			continue;
		}
		ret = status_of(s, &k, "read", path, &code);
		if (code == FX_EOF)
			ret = 0;
		break;
	}
	if (ret) {
		strbuf_setlen(out, start);
		if (!s->sftp->broken) {
			struct strbuf msg = STRBUF_INIT;

			strbuf_addstr(&msg, lab_errmsg(ret));
			close_handle(s, &handle, path);
			lab_err(-ret, "%s", msg.buf);
			strbuf_release(&msg);
		}
	} else {
		ret = close_handle(s, &handle, path);
	}
out:
	strbuf_release(&handle);
	strbuf_release(&b);
	return ret;
}

static int mkdir_one(struct lab_ssh *s, const char *dir, mode_t mode)
{
	struct strbuf b = STRBUF_INIT;
	uint32_t id, perm = 0, code;
	int ret;

	id = begin(s->sftp, &b, FXP_MKDIR);
	put_cstr(&b, dir);
	put_u32(&b, ATTR_PERMISSIONS);
	put_u32(&b, (uint32_t)(mode & 07777));
	ret = simple(s, &b, id, "create directory", dir, &code);
	strbuf_release(&b);
	if (ret && !s->sftp->broken) {
		/* Someone else made it meanwhile, or it is a file. */
		struct strbuf msg = STRBUF_INIT;

		strbuf_addstr(&msg, lab_errmsg(ret));
		if (!stat_path(s, dir, &perm, NULL) && S_ISDIR(perm))
			ret = 0;
		else
			lab_err(-ret, "%s", msg.buf);
		strbuf_release(&msg);
	}
	return ret;
}

int lab_ssh_mkdir_p(struct lab_ssh *s, const char *path, mode_t mode)
{
	struct strbuf dir = STRBUF_INIT;
	uint32_t perm = 0, code = FX_OK;
	const char *p = path, *e;
	int ret = sftp_start(s);

	if (ret)
		return ret;
	ret = stat_path(s, path, &perm, &code);
	if (!ret) {
		if (S_ISDIR(perm))
			return 0;
		return lab_ssh_err(s, LAB_EIO, "cannot create directory %s: "
				   "a file of that name exists", path);
	}
	if (code != FX_NO_SUCH_FILE)
		return ret;
	lab_err_clear();
	/* Walk down from the top, making what is missing. */
	while (*p) {
		while (*p == '/') {
			strbuf_addch(&dir, '/');
			p++;
		}
		if (!*p)
			break;
		e = strchr(p, '/');
		if (!e)
			e = p + strlen(p);
		strbuf_add(&dir, p, (size_t)(e - p));
		p = e;
		code = FX_OK;
		ret = stat_path(s, dir.buf, &perm, &code);
		if (!ret && !S_ISDIR(perm)) {
			ret = lab_ssh_err(s, LAB_EIO, "cannot create directory "
					  "%s: %s is not a directory", path,
					  dir.buf);
			break;
		}
		if (ret && code == FX_NO_SUCH_FILE)
			ret = mkdir_one(s, dir.buf, mode);
		if (ret)
			break;
	}
	strbuf_release(&dir);
	return ret;
}

int lab_ssh_unlink(struct lab_ssh *s, const char *path)
{
	uint32_t code = FX_OK;
	int ret = sftp_start(s);

	if (!ret)
		ret = remove_file(s, path, &code);
	if (ret && code == FX_NO_SUCH_FILE) {
		lab_err_clear();
		return 0;
	}
	return ret;
}

int lab_ssh_rename(struct lab_ssh *s, const char *from, const char *to)
{
	int ret = sftp_start(s);

	return ret ? ret : do_rename(s, from, to);
}
