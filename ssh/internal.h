/* SPDX-License-Identifier: MIT */
/*
 * ssh/ internals shared by session.c and sftp.c, and the pure helpers the
 * unit tests (tests/unit/test_ssh.c) call directly.  Not for other modules:
 * they use ssh/ssh.h.
 */
#ifndef LAB_SSH_INTERNAL_H
#define LAB_SSH_INTERNAL_H

#include <libssh/libssh.h>

#include "lib/strbuf.h"
#include "ssh/ssh.h"

struct lab_sftp;

struct lab_ssh {
	ssh_session ssh;
	char *where;		/* user@host:port */
	char *prefix;		/* "board NAME (user@host:port)" for messages */
	char *proxy_log;	/* the jump host's ssh stderr, or NULL */
	int64_t command_timeout_ms;
	int keepalive_s;
	uint64_t round_trips;
	uint64_t bytes_sent;
	struct lab_sftp *sftp;	/* opened on first use */
};

/* sftp.c: the SFTP channel, closed with the session. */
void lab_sftp_free(struct lab_sftp *sftp);

/*
 * Record an error about the session: "<prefix>: <fmt...>".  Returns -code.
 */
int lab_ssh_err(const struct lab_ssh *s, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * libssh's last error, which may quote the server (its disconnect text,
 * a banner), escaped for a message (lib/escape.h).  The text lives until
 * the next call in this thread.
 */
const char *lab_ssh_peer_error(const struct lab_ssh *s);

/* Apply a deadline to libssh's blocking calls (at least 1 ms). */
void lab_ssh_set_timeout(struct lab_ssh *s, int64_t ms);

/* ---------------------------------------------------------- pure helpers */

/*
 * The temporary name an upload writes first: "<dir>/.<base>.labctl-<hex>"
 * with 12 hex digits from rnd; a long base is cut so the name stays
 * within 255 bytes.  -LAB_EINVAL (message) when path has no file name
 * (empty, ends in '/', "." or "..").
 */
int lab_ssh_temp_name(struct strbuf *out, const char *path,
		      const unsigned char rnd[6]);

/*
 * The message for a host key that is not known_hosts' one.  state is
 * "unknown", "changed" or "other"; keytype e.g. "ssh-ed25519"; fp
 * "SHA256:...".  name: the lab for "labctl trust NAME" (NULL: the host).
 */
void lab_ssh_hostkey_message(struct strbuf *out, const char *prefix,
			     const char *state, const char *keytype,
			     const char *fp, const char *name,
			     const char *known_hosts);

/* "user@host:port" ("[v6addr]:port" for IPv6 literals). */
void lab_ssh_format_where(struct strbuf *out, const char *user,
			  const char *host, int port);

/*
 * Split "[user@]host[:port]" (host may be "[v6addr]"): user and host are
 * allocated (user NULL when absent), *port 0 when absent.  -LAB_EINVAL on
 * an empty host or a bad port.
 */
int lab_ssh_parse_jump(const char *jump, char **user, char **host, int *port);

struct lab_ssh_proxy {
	const char *jump;		/* "[user@]host[:port]" */
	const char *target_host;	/* what the jump host connects to */
	int target_port;
	const char *ssh_dir;		/* NULL: OpenSSH's own ~/.ssh */
	const char *known_hosts;	/* UserKnownHostsFile for the jump */
	const char *identity;		/* NULL or an extra key */
	int64_t connect_timeout_ms;
	const char *stderr_path;	/* ssh's stderr goes here, or NULL */
};

/*
 * The ProxyCommand line that reaches target through jump with OpenSSH's
 * `ssh -W`: every word through sh_quote_argv, then '%' doubled because
 * libssh expands %-escapes in it.  -LAB_EINVAL for a bad jump.
 */
int lab_ssh_proxy_command(struct strbuf *out, const struct lab_ssh_proxy *p);

/* Exit code for an exit-signal name ("KILL" -> 128 + 9); 255 if unknown. */
int lab_ssh_signal_status(const char *name);

/* "ssh-ed25519 SHA256:..." for a key (libssh formats the hash). */
int lab_ssh_key_fingerprint(ssh_key key, struct strbuf *fp,
			    struct strbuf *type);

#endif
