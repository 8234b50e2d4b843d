/* SPDX-License-Identifier: MIT */
/*
 * ssh/: one libssh session to a board (or a lab host), reused for a whole
 * run: remote commands from argv (through sh_quote_argv, the one quoting
 * function), and SFTP for files.
 *
 * Host keys are checked against known_hosts; an unknown or changed key is
 * refused (-LAB_EINFRA) with its SHA256 fingerprint and the command that
 * accepts it ("labctl trust LAB").  Auth is the agent or the user's keys
 * (ssh_userauth_publickey_auto, plus cfg->identity): never a password.
 */
#ifndef LAB_SSH_H
#define LAB_SSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct strbuf;

struct lab_ssh_config {
	const char *name;	/* the lab's name, for messages ("labctl trust NAME") */
	const char *host;	/* required; a ~/.ssh/config Host alias works */
	int port;		/* 0: ~/.ssh/config's, else 22 */
	const char *user;	/* NULL: ~/.ssh/config's, else the local user */
	/*
	 * "[user@]host[:port]": reach host through this one, with OpenSSH's
	 * `ssh -W` as ProxyCommand (libssh 0.10 has no ProxyJump of its own).
	 * NULL: ~/.ssh/config's ProxyJump/ProxyCommand, if any.
	 */
	const char *jump;
	const char *identity;	/* an extra private key file, or NULL */
	/*
	 * The directory of the user's keys, config and known_hosts;
	 * NULL: $HOME/.ssh ($HOME first, then the passwd entry), so a test
	 * that sets HOME gets its own.
	 */
	const char *ssh_dir;
	/* NULL: ~/.ssh/config's UserKnownHostsFile, else <ssh_dir>/known_hosts */
	const char *known_hosts;
	int64_t connect_timeout_ms;	/* 0: 10 s (TCP connect + handshake + auth) */
	/* default for lab_ssh_run, and the wait for any SFTP reply; 0: 60 s */
	int64_t command_timeout_ms;
	int keepalive_s;		/* 0: 15 */
};

struct lab_ssh;

/*
 * Connect, check the host key, authenticate.  Errors (message recorded
 * with lab_err, naming user@host:port):
 *   -LAB_ETIMEDOUT  connect or handshake took longer than the timeout
 *   -LAB_EINFRA     unreachable, refused, host key unknown or changed
 *                   (message has the fingerprint and "labctl trust NAME"),
 *                   authentication refused
 */
int lab_ssh_connect(struct lab_ssh **out, const struct lab_ssh_config *cfg);
void lab_ssh_close(struct lab_ssh *s);
/*
 * Whether the server closed the session's connection (after a reboot
 * command: the board's sshd is gone, it is going down).  Neither blocks
 * nor reads; a machine that resets without closing is not seen here.
 */
bool lab_ssh_peer_closed(struct lab_ssh *s);
/* "user@host:port" of the session, for messages. */
const char *lab_ssh_where(const struct lab_ssh *s);
/*
 * Requests that wait for the server so far (each channel open, exec or
 * subsystem request, each SFTP request, pipelined writes included):
 * benchmarks count them.
 */
uint64_t lab_ssh_round_trips(const struct lab_ssh *s);
/* SFTP payload bytes written so far. */
uint64_t lab_ssh_bytes_sent(const struct lab_ssh *s);

/*
 * `labctl trust`: connect (no auth), read the server's key and, when
 * `write` is set, add it to known_hosts (a changed one is removed first,
 * with `ssh-keygen -R`, which keeps known_hosts.old).  fingerprint gets
 * "ssh-ed25519 SHA256:..." (key type, space, hash); *state gets "known",
 * "unknown", "changed" (or "other" when known_hosts has only a key of
 * another type: write then adds this one next to it).  *state is the
 * state before writing.  A jump host's own key is not handled here: it
 * must already be in known_hosts (`ssh -W` checks it, BatchMode).
 */
int lab_ssh_trust(const struct lab_ssh_config *cfg, bool write,
		  struct strbuf *fingerprint, const char **state);

/*
 * Run argv on the remote side (one exec channel, the command line built
 * with sh_quote_argv), feeding `in` (may be NULL) to its stdin and
 * collecting stdout/stderr (either may be NULL: discarded).  *status gets
 * the exit status (or 128 + signal number, 255 when the server sent none).
 * timeout_ms 0: the session's command timeout.  Returns 0 when the command
 * ran (whatever its status), -LAB_ETIMEDOUT, or -LAB_EINFRA (session lost).
 * On a timeout the command is sent SIGKILL and its channel closed; sshd
 * refuses signals in root sessions, so there it only loses its stdin and
 * output (SIGPIPE on its next write).  While a command is quiet for
 * keepalive_s, keepalive@openssh.com requests keep the session alive.
 */
int lab_ssh_run(struct lab_ssh *s, const char *const *argv,
		const void *in, size_t inlen, struct strbuf *out,
		struct strbuf *err, int *status, int64_t timeout_ms);

/*
 * A long-running remote command as a byte stream (a console: `cat
 * /dev/ttyUSB0` on a lab host, `socat - /dev/ttyS0,raw`): one exec channel
 * kept open, read and written without blocking.  pty: ask for a terminal
 * (raw), for programs that need one.
 */
struct lab_ssh_stream;
int lab_ssh_stream_open(struct lab_ssh *s, const char *const *argv, bool pty,
			struct lab_ssh_stream **out);
/* The session's socket: poll it for POLLIN, then read until -LAB_EBUSY. */
int lab_ssh_stream_fd(const struct lab_ssh_stream *st);
/* >0 bytes, 0 the command ended (EOF), -LAB_EBUSY nothing now, -LAB_EINFRA. */
ssize_t lab_ssh_stream_read(struct lab_ssh_stream *st, void *buf, size_t len);
ssize_t lab_ssh_stream_write(struct lab_ssh_stream *st, const void *buf,
			     size_t len);
void lab_ssh_stream_close(struct lab_ssh_stream *st);

/* SFTP.  Paths are remote absolute paths. */

/* Read a whole remote file (at most max bytes, else -LAB_EFORMAT);
 * -LAB_ENOENT when it does not exist, -LAB_EPERM, -LAB_EIO, -LAB_EINFRA.
 * Appends to out; on failure out is as it was. */
int lab_ssh_read_file(struct lab_ssh *s, const char *path,
		      struct strbuf *out, size_t max);

/* Progress for uploads: done/total bytes; called at most ~10 times a second. */
typedef void (*lab_ssh_progress_fn)(void *arg, const char *name,
				    uint64_t done, uint64_t total);

/*
 * Upload: write to "<dir>/.<base>.labctl-<random>" and rename into place
 * (posix-rename@openssh.com, so an existing file is replaced atomically):
 * a reader sees the old file or the new one, never half of one.  The
 * data is fsync'ed (fsync@openssh.com) before the rename.  The temporary
 * is removed on failure (a process killed mid-upload leaves it behind,
 * under its dot name; the target is untouched).  mode: the file's
 * permission bits, set exactly (no umask; a file system that refuses
 * chmod, like a vfat ESP, gets a warning, not a failure).  put_file
 * streams a local file; write_file a buffer.  -LAB_EINVAL when
 * remote_path ends in '/',
 * -LAB_ENOENT when its directory does not exist, -LAB_EPERM, -LAB_EIO,
 * -LAB_EINFRA (session lost), -LAB_ETIMEDOUT (the server stopped
 * answering for command_timeout_ms).
 */
int lab_ssh_put_file(struct lab_ssh *s, const char *local_path,
		     const char *remote_path, mode_t mode,
		     lab_ssh_progress_fn progress, void *arg);
int lab_ssh_write_file(struct lab_ssh *s, const char *remote_path,
		       const void *data, size_t len, mode_t mode);

/* mkdir -p (mode for the ones it creates); 0 when it exists; -LAB_EIO
 * when a file is in the way. */
int lab_ssh_mkdir_p(struct lab_ssh *s, const char *path, mode_t mode);
/* Remove a file; 0 when it did not exist. */
int lab_ssh_unlink(struct lab_ssh *s, const char *path);
/* Replaces an existing `to` atomically (posix-rename@openssh.com, else a
 * remote `mv -f`). */
int lab_ssh_rename(struct lab_ssh *s, const char *from, const char *to);

#endif
