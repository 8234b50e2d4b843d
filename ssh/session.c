// SPDX-License-Identifier: MIT
/*
 * One libssh session to a board: connect (host key against known_hosts,
 * key-only auth), remote commands from argv, and `labctl trust`.
 *
 * libssh 0.10 facts this file works around:
 *  - it finds ~ with getpwuid() before $HOME, so SSH_DIR and KNOWNHOSTS
 *    are always set explicitly (a test that sets HOME is isolated);
 *  - it has no ProxyJump of its own and no keepalive timer: a jump host is
 *    OpenSSH's `ssh -W` as ProxyCommand, and lab_ssh_run sends
 *    keepalive@openssh.com itself while a command is quiet;
 *  - it runs the ProxyCommand with stderr closed, so ssh's stderr is
 *    redirected to a file we read back for the error message.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libssh/callbacks.h>
/* ssh_send_keepalive is declared there, and works for clients too. */
#include <libssh/server.h>
#include <libssh/libssh.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "lib/escape.h"
#include "lib/shquote.h"
#include "lib/spawn.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "ssh/internal.h"

#define DEFAULT_CONNECT_MS 10000
#define DEFAULT_COMMAND_MS 60000
#define DEFAULT_KEEPALIVE_S 15

/* ------------------------------------------------------------ pure parts */

void lab_ssh_format_where(struct strbuf *out, const char *user,
			  const char *host, int port)
{
	if (user && *user)
		strbuf_addf(out, "%s@", user);
	if (strchr(host, ':') && host[0] != '[')
		strbuf_addf(out, "[%s]:%d", host, port);
	else
		strbuf_addf(out, "%s:%d", host, port);
}

int lab_ssh_temp_name(struct strbuf *out, const char *path,
		      const unsigned char rnd[6])
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t baselen = strlen(base);
	int i;

	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		return lab_err(LAB_EINVAL,
			       "remote path '%s' does not name a file", path);
	if (slash)
		strbuf_add(out, path, (size_t)(slash - path) + 1);
	/* "." + base + ".labctl-" + 12 hex digits within NAME_MAX (255). */
	if (baselen > 255 - 1 - 8 - 12)
		baselen = 255 - 1 - 8 - 12;
	strbuf_addch(out, '.');
	strbuf_add(out, base, baselen);
	strbuf_addstr(out, ".labctl-");
	for (i = 0; i < 6; i++)
		strbuf_addf(out, "%02x", rnd[i]);
	return 0;
}

void lab_ssh_hostkey_message(struct strbuf *out, const char *prefix,
			     const char *state, const char *keytype,
			     const char *fp, const char *name,
			     const char *known_hosts)
{
	strbuf_addf(out, "%s: ", prefix);
	if (!strcmp(state, "changed"))
		strbuf_addf(out, "host key CHANGED: the board now shows %s %s, "
			    "not the key in %s: this may be an attack, or the "
			    "board was reinstalled; check it, then accept it "
			    "with: labctl trust %s",
			    keytype, fp, known_hosts, name);
	else if (!strcmp(state, "other"))
		strbuf_addf(out, "host key of another type: the board shows "
			    "%s %s, %s has a key of another type for it: "
			    "this may be an attack, or the board was "
			    "reinstalled; check it, then accept it with: "
			    "labctl trust %s", keytype, fp, known_hosts, name);
	else
		strbuf_addf(out, "host key unknown: %s %s; check it, then "
			    "accept it with: labctl trust %s",
			    keytype, fp, name);
}

int lab_ssh_parse_jump(const char *jump, char **user, char **host, int *port)
{
	const char *at = strrchr(jump, '@');
	const char *h = at ? at + 1 : jump;
	const char *colon, *hend;
	char *end;
	long p = 0;

	*user = NULL;
	*host = NULL;
	*port = 0;
	if (h[0] == '[') {
		hend = strchr(h, ']');
		if (!hend)
			goto bad;
		colon = hend[1] == ':' ? hend + 1 : NULL;
		if (hend[1] && !colon)
			goto bad;
		h++;
	} else {
		colon = strchr(h, ':');
		hend = colon ? colon : h + strlen(h);
	}
	if (hend == h || (at && at == jump))
		goto bad;
	if (colon) {
		errno = 0;
		p = strtol(colon + 1, &end, 10);
		if (!colon[1] || *end || errno || p < 1 || p > 65535)
			goto bad;
	}
	if (at)
		*user = xstrndup(jump, (size_t)(at - jump));
	*host = xstrndup(h, (size_t)(hend - h));
	*port = (int)p;
	return 0;
bad:
	return lab_err(LAB_EINVAL,
		       "bad jump host '%s': want [user@]host[:port]", jump);
}

int lab_ssh_proxy_command(struct strbuf *out, const struct lab_ssh_proxy *p)
{
	static const char *const keys[] = { "id_ed25519", "id_ecdsa",
					    "id_rsa", NULL };
	const char *argv[40];
	char *user, *host, *freeme[12];
	int port, n = 0, nfree = 0, i, ret;
	struct strbuf cmd = STRBUF_INIT, target = STRBUF_INIT;
	const char *c;

	ret = lab_ssh_parse_jump(p->jump, &user, &host, &port);
	if (ret)
		return ret;
	argv[n++] = "ssh";
	/* Never a password or a host key question on a terminal. */
	argv[n++] = "-o";
	argv[n++] = "BatchMode=yes";
	argv[n++] = "-o";
	argv[n++] = "StrictHostKeyChecking=yes";
	argv[n++] = "-o";
	argv[n++] = freeme[nfree++] = xasprintf("ConnectTimeout=%lld",
		(long long)((p->connect_timeout_ms + 999) / 1000));
	if (p->known_hosts) {
		argv[n++] = "-o";
		argv[n++] = freeme[nfree++] =
			xasprintf("UserKnownHostsFile=%s", p->known_hosts);
	}
	if (p->ssh_dir) {
		/* OpenSSH finds ~ in the passwd entry: point it at ours. */
		struct stat st;
		char *conf = xasprintf("%s/config", p->ssh_dir);

		argv[n++] = "-F";
		if (stat(conf, &st) == 0) {
			argv[n++] = freeme[nfree++] = conf;
		} else {
			argv[n++] = "/dev/null";
			free(conf);
		}
		for (i = 0; keys[i]; i++) {
			char *k = xasprintf("%s/%s", p->ssh_dir, keys[i]);

			if (stat(k, &st) == 0) {
				argv[n++] = "-i";
				argv[n++] = freeme[nfree++] = k;
			} else {
				free(k);
			}
		}
	}
	if (p->identity) {
		argv[n++] = "-i";
		argv[n++] = p->identity;
	}
	if (user) {
		argv[n++] = "-l";
		argv[n++] = user;
	}
	if (port) {
		argv[n++] = "-p";
		argv[n++] = freeme[nfree++] = xasprintf("%d", port);
	}
	if (strchr(p->target_host, ':'))
		strbuf_addf(&target, "[%s]:%d", p->target_host, p->target_port);
	else
		strbuf_addf(&target, "%s:%d", p->target_host, p->target_port);
	argv[n++] = "-W";
	argv[n++] = target.buf;
	/* "--": a host that starts with '-' is not an option. */
	argv[n++] = "--";
	argv[n++] = host;
	argv[n] = NULL;

	strbuf_addstr(&cmd, "exec ");
	sh_quote_argv(&cmd, argv);
	if (p->stderr_path) {
		strbuf_addstr(&cmd, " 2>");
		sh_quote(&cmd, p->stderr_path);
	}
	/* libssh expands %h, %p, ... in a ProxyCommand; %% is a '%'. */
	for (c = cmd.buf; *c; c++) {
		if (*c == '%')
			strbuf_addch(out, '%');
		strbuf_addch(out, *c);
	}
	strbuf_release(&cmd);
	strbuf_release(&target);
	for (i = 0; i < nfree; i++)
		free(freeme[i]);
	free(user);
	free(host);
	return 0;
}

int lab_ssh_signal_status(const char *name)
{
	static const struct {
		const char *name;
		int num;
	} sigs[] = {
		{ "ABRT", SIGABRT }, { "ALRM", SIGALRM }, { "FPE", SIGFPE },
		{ "HUP", SIGHUP }, { "ILL", SIGILL }, { "INT", SIGINT },
		{ "KILL", SIGKILL }, { "PIPE", SIGPIPE }, { "QUIT", SIGQUIT },
		{ "SEGV", SIGSEGV }, { "TERM", SIGTERM }, { "USR1", SIGUSR1 },
		{ "USR2", SIGUSR2 }, { "BUS", SIGBUS }, { "TRAP", SIGTRAP },
		{ "SYS", SIGSYS }, { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
	};
	size_t i;

	if (!name)
		return 255;
	if (!strncmp(name, "SIG", 3))
		name += 3;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (!strcmp(sigs[i].name, name))
			return 128 + sigs[i].num;
	return 255;
}

int lab_ssh_key_fingerprint(ssh_key key, struct strbuf *fp,
			    struct strbuf *type)
{
	unsigned char *hash = NULL;
	size_t hlen = 0;
	char *text;

	if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash,
				   &hlen) != 0)
		return lab_err(LAB_EINFRA, "cannot hash the host key");
	text = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
	ssh_clean_pubkey_hash(&hash);
	if (!text)
		return lab_err(LAB_ENOMEM, "cannot format the host key hash");
	strbuf_addstr(fp, text);
	ssh_string_free_char(text);
	strbuf_addstr(type, ssh_key_type_to_char(ssh_key_type(key)));
	return 0;
}

/* ------------------------------------------------------------ session */

int lab_ssh_err(const struct lab_ssh *s, int code, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	int ret;

	strbuf_addf(&sb, "%s: ", s->prefix);
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	ret = lab_err(code, "%s", sb.buf);
	strbuf_release(&sb);
	return ret;
}

const char *lab_ssh_peer_error(const struct lab_ssh *s)
{
	static __thread char text[1024];
	char *e = lab_escape_str(ssh_get_error(s->ssh));

	snprintf(text, sizeof(text), "%s", e);
	free(e);
	return text;
}

void lab_ssh_set_timeout(struct lab_ssh *s, int64_t ms)
{
	long sec, usec;

	if (ms < 1)
		ms = 1;
	sec = (long)(ms / 1000);
	usec = (long)(ms % 1000) * 1000;
	ssh_options_set(s->ssh, SSH_OPTIONS_TIMEOUT, &sec);
	ssh_options_set(s->ssh, SSH_OPTIONS_TIMEOUT_USEC, &usec);
}

const char *lab_ssh_where(const struct lab_ssh *s)
{
	return s->where;
}

uint64_t lab_ssh_round_trips(const struct lab_ssh *s)
{
	return s->round_trips;
}

uint64_t lab_ssh_bytes_sent(const struct lab_ssh *s)
{
	return s->bytes_sent;
}

static char *passwd_home(void)
{
	struct passwd *pw = getpwuid(getuid());

	return pw && pw->pw_dir ? xstrdup(pw->pw_dir) : NULL;
}

/* cfg->ssh_dir, else $HOME/.ssh, else the passwd entry's ~/.ssh. */
static char *resolve_ssh_dir(const struct lab_ssh_config *cfg)
{
	const char *home = getenv("HOME");
	char *pw, *dir;

	if (cfg->ssh_dir && *cfg->ssh_dir)
		return xstrdup(cfg->ssh_dir);
	if (home && *home)
		return xasprintf("%s/.ssh", home);
	pw = passwd_home();
	dir = xasprintf("%s/.ssh", pw ? pw : "/");
	free(pw);
	return dir;
}

/* The last line ssh wrote to the jump log, for messages. */
static void proxy_log_tail(const struct lab_ssh *s, struct strbuf *out)
{
	struct strbuf log = STRBUF_INIT;
	char *start;

	if (!s->proxy_log || strbuf_read_file(&log, s->proxy_log, 65536))
		goto out;
	strbuf_rtrim(&log);
	if (!log.len)
		goto out;
	start = strrchr(log.buf, '\n');
	start = start ? start + 1 : log.buf;
	if (strlen(start) > 300)
		start[300] = '\0';
	strbuf_addstr(out, " (jump host: ");
	strbuf_add_escaped(out, start, strlen(start), 0);
	strbuf_addch(out, ')');
out:
	strbuf_release(&log);
	lab_err_clear();
}

static void set_str(ssh_session ssh, enum ssh_options_e opt, const char *v)
{
	if (v && *v)
		ssh_options_set(ssh, opt, v);
}

/*
 * A new, unconnected session with every option applied: the lab's
 * explicit values, then the user's ssh config, then the lab's explicit
 * values again (they win over the config).
 */
static int session_new(struct lab_ssh **out, const struct lab_ssh_config *cfg,
		       int64_t connect_ms)
{
	struct lab_ssh *s;
	char *ssh_dir, *known_hosts, *user = NULL, *host = NULL, *pw;
	unsigned int port = 0;
	struct strbuf sb = STRBUF_INIT;
	int one = 1, ret = 0;

	*out = NULL;
	if (!cfg->host || !*cfg->host)
		return lab_err(LAB_EINVAL, "ssh: no host given%s%s",
			       cfg->name ? " for " : "",
			       cfg->name ? cfg->name : "");
	s = xzalloc(sizeof(*s));
	s->command_timeout_ms = cfg->command_timeout_ms > 0 ?
		cfg->command_timeout_ms : DEFAULT_COMMAND_MS;
	s->keepalive_s = cfg->keepalive_s > 0 ? cfg->keepalive_s :
		DEFAULT_KEEPALIVE_S;
	s->ssh = ssh_new();
	if (!s->ssh) {
		free(s);
		return lab_err(LAB_ENOMEM, "ssh: cannot create a session");
	}
	ssh_dir = resolve_ssh_dir(cfg);
	known_hosts = cfg->known_hosts && *cfg->known_hosts ?
		xstrdup(cfg->known_hosts) :
		xasprintf("%s/known_hosts", ssh_dir);

	ssh_options_set(s->ssh, SSH_OPTIONS_HOST, cfg->host);
	ssh_options_set(s->ssh, SSH_OPTIONS_SSH_DIR, ssh_dir);
	ssh_options_set(s->ssh, SSH_OPTIONS_KNOWNHOSTS, known_hosts);
	if (cfg->port > 0)
		ssh_options_set(s->ssh, SSH_OPTIONS_PORT, &cfg->port);
	set_str(s->ssh, SSH_OPTIONS_USER, cfg->user);
	/* <ssh_dir>/config (libssh reads "%d/config") and the system one. */
	if (ssh_options_parse_config(s->ssh, NULL) != 0)
		ret = lab_err(LAB_ECONFIG, "ssh: cannot use %s/config or "
			      "/etc/ssh/ssh_config: %s", ssh_dir,
			      lab_ssh_peer_error(s));
	if (cfg->port > 0)
		ssh_options_set(s->ssh, SSH_OPTIONS_PORT, &cfg->port);
	set_str(s->ssh, SSH_OPTIONS_USER, cfg->user);
	if (cfg->known_hosts && *cfg->known_hosts)
		ssh_options_set(s->ssh, SSH_OPTIONS_KNOWNHOSTS, known_hosts);
	/* Small requests (SFTP, exec) must not wait for Nagle. */
	ssh_options_set(s->ssh, SSH_OPTIONS_NODELAY, &one);
	lab_ssh_set_timeout(s, connect_ms);

	if (ssh_options_get(s->ssh, SSH_OPTIONS_HOST, &host) != SSH_OK)
		host = NULL;
	if (ssh_options_get(s->ssh, SSH_OPTIONS_USER, &user) != SSH_OK)
		user = NULL;
	if (ssh_options_get_port(s->ssh, &port) != SSH_OK || !port)
		port = 22;
	if (!user) {
		struct passwd *p = getpwuid(getuid());

		if (p)
			ssh_options_set(s->ssh, SSH_OPTIONS_USER, p->pw_name);
		if (ssh_options_get(s->ssh, SSH_OPTIONS_USER, &user) != SSH_OK)
			user = NULL;
	}
	lab_ssh_format_where(&sb, user, host ? host : cfg->host, (int)port);
	s->where = strbuf_detach(&sb, NULL);
	if (cfg->name && *cfg->name)
		s->prefix = xasprintf("board %s (%s)", cfg->name, s->where);
	else
		s->prefix = xasprintf("ssh %s", s->where);

	if (!ret && cfg->jump && *cfg->jump) {
		struct lab_ssh_proxy p = {
			.jump = cfg->jump,
			.target_host = host ? host : cfg->host,
			.target_port = (int)port,
			.known_hosts = known_hosts,
			.identity = cfg->identity,
			.connect_timeout_ms = connect_ms,
		};
		char tmpl[] = "/tmp/labctl-jump-XXXXXX";
		const char *tmpdir = getenv("TMPDIR");
		char *path;
		int fd;

		/* OpenSSH reads the passwd entry's ~/.ssh; point it at ours. */
		pw = passwd_home();
		if (pw) {
			char *def = xasprintf("%s/.ssh", pw);

			if (strcmp(def, ssh_dir))
				p.ssh_dir = ssh_dir;
			free(def);
			free(pw);
		}
		path = xasprintf("%s/%s", tmpdir && *tmpdir ? tmpdir : "/tmp",
				 tmpl + 5);
		fd = mkstemp(path);
		if (fd >= 0) {
			close(fd);
			s->proxy_log = path;
			p.stderr_path = path;
		} else {
			free(path);
		}
		ret = lab_ssh_proxy_command(&sb, &p);
		if (!ret)
			ssh_options_set(s->ssh, SSH_OPTIONS_PROXYCOMMAND,
					sb.buf);
		strbuf_release(&sb);
	}
	ssh_string_free_char(user);
	ssh_string_free_char(host);
	free(ssh_dir);
	free(known_hosts);
	if (ret) {
		lab_ssh_close(s);
		return ret;
	}
	*out = s;
	return 0;
}

/* ssh_connect with the error mapped: timeout or unreachable. */
static int session_connect(struct lab_ssh *s, int64_t start, int64_t timeout)
{
	struct strbuf jl = STRBUF_INIT;
	int ret;

	if (ssh_connect(s->ssh) == SSH_OK)
		return 0;
	proxy_log_tail(s, &jl);
	if (lab_mono_ms() - start >= timeout - 50)
		ret = lab_ssh_err(s, LAB_ETIMEDOUT,
				  "no answer within %lld ms (%s)%s; is the "
				  "board up and reachable?",
				  (long long)timeout, lab_ssh_peer_error(s),
				  jl.buf ? jl.buf : "");
	else
		ret = lab_ssh_err(s, LAB_EINFRA, "cannot connect: %s%s",
				  lab_ssh_peer_error(s), jl.buf ? jl.buf : "");
	strbuf_release(&jl);
	return ret;
}

/* The server's key: fingerprint, type and its known_hosts state. */
static int host_key_state(struct lab_ssh *s, struct strbuf *fp,
			  struct strbuf *type, enum ssh_known_hosts_e *state)
{
	ssh_key key = NULL;
	int ret;

	if (ssh_get_server_publickey(s->ssh, &key) != SSH_OK)
		return lab_ssh_err(s, LAB_EINFRA, "no host key: %s",
				   lab_ssh_peer_error(s));
	ret = lab_ssh_key_fingerprint(key, fp, type);
	ssh_key_free(key);
	if (ret)
		return ret;
	*state = ssh_session_is_known_server(s->ssh);
	if (*state == SSH_KNOWN_HOSTS_ERROR)
		return lab_ssh_err(s, LAB_EINFRA,
				   "cannot check the host key: %s",
				   lab_ssh_peer_error(s));
	return 0;
}

static const char *state_name(enum ssh_known_hosts_e st)
{
	switch (st) {
	case SSH_KNOWN_HOSTS_OK:
		return "known";
	case SSH_KNOWN_HOSTS_CHANGED:
		return "changed";
	case SSH_KNOWN_HOSTS_OTHER:
		return "other";
	default:
		return "unknown";
	}
}

static char *known_hosts_path(struct lab_ssh *s)
{
	char *kh = NULL, *copy;

	if (ssh_options_get(s->ssh, SSH_OPTIONS_KNOWNHOSTS, &kh) != SSH_OK)
		return xstrdup("known_hosts");
	copy = xstrdup(kh);
	ssh_string_free_char(kh);
	return copy;
}

static int check_host_key(struct lab_ssh *s, const char *name)
{
	struct strbuf fp = STRBUF_INIT, type = STRBUF_INIT, msg = STRBUF_INIT;
	enum ssh_known_hosts_e st;
	char *kh;
	int ret;

	ret = host_key_state(s, &fp, &type, &st);
	if (ret || st == SSH_KNOWN_HOSTS_OK)
		goto out;
	kh = known_hosts_path(s);
	lab_ssh_hostkey_message(&msg, s->prefix, state_name(st), type.buf,
				fp.buf, name, kh);
	free(kh);
	ret = lab_err(LAB_EINFRA, "%s", msg.buf);
out:
	strbuf_release(&fp);
	strbuf_release(&type);
	strbuf_release(&msg);
	return ret;
}

static void methods_text(struct strbuf *sb, int methods)
{
	static const struct {
		int bit;
		const char *name;
	} m[] = {
		{ SSH_AUTH_METHOD_PUBLICKEY, "publickey" },
		{ SSH_AUTH_METHOD_PASSWORD, "password" },
		{ SSH_AUTH_METHOD_INTERACTIVE, "keyboard-interactive" },
		{ SSH_AUTH_METHOD_GSSAPI_MIC, "gssapi-with-mic" },
		{ SSH_AUTH_METHOD_HOSTBASED, "hostbased" },
	};
	size_t i, n = 0;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		if (!(methods & m[i].bit))
			continue;
		strbuf_addf(sb, "%s%s", n++ ? ", " : "", m[i].name);
	}
	if (!n)
		strbuf_addstr(sb, "nothing");
}

static int authenticate(struct lab_ssh *s, const struct lab_ssh_config *cfg)
{
	struct strbuf offered = STRBUF_INIT, tried = STRBUF_INIT;
	char *user = NULL, *dir = NULL;
	int rc, methods, ret;

	rc = ssh_userauth_none(s->ssh, NULL);
	if (rc == SSH_AUTH_SUCCESS)
		return 0;
	if (rc == SSH_AUTH_ERROR)
		return lab_ssh_err(s, LAB_EINFRA, "authentication failed: %s",
				   lab_ssh_peer_error(s));
	methods = ssh_userauth_list(s->ssh, NULL);
	if (methods & SSH_AUTH_METHOD_PUBLICKEY) {
		if (cfg->identity && *cfg->identity) {
			ssh_key key = NULL;

			if (ssh_pki_import_privkey_file(cfg->identity, NULL,
							NULL, NULL, &key)) {
				strbuf_addf(&tried, "%s (unreadable, or has a "
					    "passphrase: load it into the "
					    "agent), ", cfg->identity);
			} else {
				rc = ssh_userauth_publickey(s->ssh, NULL, key);
				ssh_key_free(key);
				if (rc == SSH_AUTH_SUCCESS)
					return 0;
				if (rc == SSH_AUTH_ERROR)
					goto lost;
				strbuf_addf(&tried, "%s, ", cfg->identity);
			}
		}
		rc = ssh_userauth_publickey_auto(s->ssh, NULL, NULL);
		if (rc == SSH_AUTH_SUCCESS)
			return 0;
		if (rc == SSH_AUTH_ERROR)
			goto lost;
	}
	methods_text(&offered, methods);
	ssh_options_get(s->ssh, SSH_OPTIONS_USER, &user);
	ssh_options_get(s->ssh, SSH_OPTIONS_SSH_DIR, &dir);
	if (methods & SSH_AUTH_METHOD_PUBLICKEY)
		ret = lab_ssh_err(s, LAB_EINFRA,
				  "authentication refused for user %s: no key "
				  "was accepted (tried %sthe agent and the keys "
				  "in %s); the server offers: %s; add your "
				  "public key to the board's authorized_keys",
				  user ? user : "?", tried.buf ? tried.buf : "",
				  dir ? dir : "~/.ssh", offered.buf);
	else
		ret = lab_ssh_err(s, LAB_EINFRA,
				  "authentication refused for user %s: the "
				  "server does not take keys, it offers: %s "
				  "(labctl never uses passwords)",
				  user ? user : "?", offered.buf);
	ssh_string_free_char(user);
	ssh_string_free_char(dir);
	strbuf_release(&offered);
	strbuf_release(&tried);
	return ret;
lost:
	strbuf_release(&tried);
	return lab_ssh_err(s, LAB_EINFRA, "authentication failed: %s",
			   lab_ssh_peer_error(s));
}

int lab_ssh_connect(struct lab_ssh **out, const struct lab_ssh_config *cfg)
{
	int64_t timeout = cfg->connect_timeout_ms > 0 ?
		cfg->connect_timeout_ms : DEFAULT_CONNECT_MS;
	int64_t start = lab_mono_ms(), left;
	struct lab_ssh *s;
	int ret;

	*out = NULL;
	ret = session_new(&s, cfg, timeout);
	if (ret)
		return ret;
	ret = session_connect(s, start, timeout);
	if (!ret)
		ret = check_host_key(s, cfg->name && *cfg->name ? cfg->name :
				     cfg->host);
	if (!ret) {
		/* Auth shares the connect deadline. */
		left = timeout - (lab_mono_ms() - start);
		if (left <= 0)
			ret = lab_ssh_err(s, LAB_ETIMEDOUT,
					  "no login within %lld ms",
					  (long long)timeout);
		else
			lab_ssh_set_timeout(s, left);
	}
	if (!ret)
		ret = authenticate(s, cfg);
	if (ret) {
		lab_ssh_close(s);
		return ret;
	}
	/* From now on a blocking libssh call waits at most a command's time. */
	lab_ssh_set_timeout(s, s->command_timeout_ms);
	*out = s;
	return 0;
}

void lab_ssh_close(struct lab_ssh *s)
{
	if (!s)
		return;
	lab_sftp_free(s->sftp);
	if (ssh_is_connected(s->ssh))
		ssh_disconnect(s->ssh);
	ssh_free(s->ssh);
	if (s->proxy_log)
		unlink(s->proxy_log);
	free(s->proxy_log);
	free(s->where);
	free(s->prefix);
	free(s);
}

bool lab_ssh_peer_closed(struct lab_ssh *s)
{
	struct pollfd pfd = { .events = POLLIN | POLLRDHUP };
	int fd = s && s->ssh ? ssh_get_fd(s->ssh) : -1;

	if (fd < 0)
		return true;
	pfd.fd = fd;
	if (poll(&pfd, 1, 0) < 0)
		return false;
	/* RDHUP: the server closed its side, even with bytes still unread. */
	return (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

/* ------------------------------------------------------------ trust */

/* Remove host's lines from known_hosts (hashed ones too): ssh-keygen -R. */
static int forget_host(struct lab_ssh *s, const char *known_hosts)
{
	char *host = NULL, *pattern;
	unsigned int port = 22;
	struct strbuf err = STRBUF_INIT;
	int ret;

	if (ssh_options_get(s->ssh, SSH_OPTIONS_HOST, &host) != SSH_OK)
		return lab_ssh_err(s, LAB_EINFRA, "no host name");
	ssh_options_get_port(s->ssh, &port);
	pattern = port == 22 ? xstrdup(host) : xasprintf("[%s]:%u", host, port);
	ssh_string_free_char(host);
	{
		const char *argv[] = { "ssh-keygen", "-R", pattern, "-f",
				       known_hosts, NULL };
		struct spawn_opts o = { .err = &err, .quiet = true,
					.timeout_ms = 30000 };

		ret = lab_run(argv, &o);
	}
	if (ret)
		ret = lab_ssh_err(s, LAB_EIO, "cannot remove the old key of "
				  "%s from %s: %s", pattern, known_hosts,
				  lab_errmsg(ret));
	free(pattern);
	strbuf_release(&err);
	return ret;
}

int lab_ssh_trust(const struct lab_ssh_config *cfg, bool write,
		  struct strbuf *fingerprint, const char **state)
{
	int64_t timeout = cfg->connect_timeout_ms > 0 ?
		cfg->connect_timeout_ms : DEFAULT_CONNECT_MS;
	struct strbuf fp = STRBUF_INIT, type = STRBUF_INIT;
	enum ssh_known_hosts_e st = SSH_KNOWN_HOSTS_UNKNOWN;
	struct lab_ssh *s;
	char *kh = NULL;
	int ret;

	*state = "unknown";
	ret = session_new(&s, cfg, timeout);
	if (ret)
		return ret;
	ret = session_connect(s, lab_mono_ms(), timeout);
	if (!ret)
		ret = host_key_state(s, &fp, &type, &st);
	if (ret)
		goto out;
	strbuf_addf(fingerprint, "%s %s", type.buf, fp.buf);
	*state = state_name(st);
	if (!write || st == SSH_KNOWN_HOSTS_OK)
		goto out;
	kh = known_hosts_path(s);
	if (st == SSH_KNOWN_HOSTS_CHANGED) {
		ret = forget_host(s, kh);
		if (ret)
			goto out;
	}
	if (ssh_session_update_known_hosts(s->ssh) != SSH_OK) {
		ret = lab_ssh_err(s, LAB_EIO, "cannot add the host key to "
				  "%s: %s", kh, lab_ssh_peer_error(s));
		goto out;
	}
	if (ssh_session_is_known_server(s->ssh) != SSH_KNOWN_HOSTS_OK)
		ret = lab_ssh_err(s, LAB_EINFRA, "added %s %s to %s, but the "
				  "key is still not accepted: another "
				  "known_hosts file (e.g. /etc/ssh/"
				  "ssh_known_hosts) has an old one",
				  type.buf, fp.buf, kh);
out:
	free(kh);
	strbuf_release(&fp);
	strbuf_release(&type);
	lab_ssh_close(s);
	return ret;
}

/* ------------------------------------------------------------ run */

struct run_state {
	int status;	/* -1 until exit-status or exit-signal arrives */
};

static void on_exit_status(ssh_session session, ssh_channel channel,
			   int exit_status, void *userdata)
{
	struct run_state *rs = userdata;

	(void)session;
	(void)channel;
	rs->status = exit_status & 0xff;
}

static void on_exit_signal(ssh_session session, ssh_channel channel,
			   const char *signal, int core, const char *errmsg,
			   const char *lang, void *userdata)
{
	struct run_state *rs = userdata;

	(void)session;
	(void)channel;
	(void)core;
	(void)errmsg;
	(void)lang;
	rs->status = lab_ssh_signal_status(signal);
}

/* Read what is buffered on one stream; >0 when something came. */
static int drain(ssh_channel ch, int is_stderr, struct strbuf *sink)
{
	char buf[32768];
	int n, got = 0;

	for (;;) {
		n = ssh_channel_read_nonblocking(ch, buf, sizeof(buf),
						 is_stderr);
		if (n == SSH_EOF || n == 0)
			return got;
		if (n < 0)
			return -1;
		if (sink)
			strbuf_add(sink, buf, (size_t)n);
		got = 1;
	}
}

static void short_command(struct strbuf *sb, const char *cmd)
{
	size_t len = strlen(cmd);

	if (len <= 200)
		strbuf_addstr(sb, cmd);
	else
		strbuf_addf(sb, "%.200s...", cmd);
}

/* Send keepalive@openssh.com, waiting for its answer at most left ms. */
static void keepalive(struct lab_ssh *s, int64_t left)
{
	lab_ssh_set_timeout(s, left < 5000 ? left : 5000);
	ssh_send_keepalive(s->ssh);
	lab_ssh_set_timeout(s, s->command_timeout_ms);
}

int lab_ssh_run(struct lab_ssh *s, const char *const *argv,
		const void *in, size_t inlen, struct strbuf *out,
		struct strbuf *err, int *status, int64_t timeout_ms)
{
	struct strbuf cmd = STRBUF_INIT, shortcmd = STRBUF_INIT;
	struct run_state rs = { .status = -1 };
	struct ssh_channel_callbacks_struct cb;
	int64_t deadline, now, last_rx, wait;
	const char *data = in;
	size_t off = 0;
	bool eof_sent = false;
	ssh_channel ch;
	int ret = 0, r1, r2;

	*status = 255;
	if (!argv || !argv[0])
		return lab_err(LAB_EINVAL, "ssh: empty command");
	if (timeout_ms <= 0)
		timeout_ms = s->command_timeout_ms;
	sh_quote_argv(&cmd, argv);
	short_command(&shortcmd, cmd.buf);
	now = lab_mono_ms();
	deadline = now + timeout_ms;
	last_rx = now;
	lab_ssh_set_timeout(s, timeout_ms);

	ch = ssh_channel_new(s->ssh);
	if (!ch) {
		ret = lab_ssh_err(s, LAB_EINFRA, "cannot open a channel: %s",
				  lab_ssh_peer_error(s));
		goto out;
	}
	s->round_trips++;
	if (ssh_channel_open_session(ch) != SSH_OK) {
		ret = lab_ssh_err(s, LAB_EINFRA, "cannot open a channel for "
				  "%s: %s", shortcmd.buf,
				  lab_ssh_peer_error(s));
		goto out;
	}
	memset(&cb, 0, sizeof(cb));
	cb.userdata = &rs;
	cb.channel_exit_status_function = on_exit_status;
	cb.channel_exit_signal_function = on_exit_signal;
	ssh_callbacks_init(&cb);
	ssh_set_channel_callbacks(ch, &cb);
	s->round_trips++;
	if (ssh_channel_request_exec(ch, cmd.buf) != SSH_OK) {
		ret = lab_ssh_err(s, LAB_EINFRA, "cannot run %s: %s",
				  shortcmd.buf, lab_ssh_peer_error(s));
		goto out;
	}

	for (;;) {
		struct pollfd pfd;

		/* stdin as far as the remote window allows: never block. */
		while (off < inlen) {
			uint32_t win = ssh_channel_window_size(ch);
			size_t n = inlen - off;
			int w;

			if (!win)
				break;
			if (n > win)
				n = win;
			if (n > 32768)
				n = 32768;
			w = ssh_channel_write(ch, data + off, (uint32_t)n);
			if (w < 0)
				break;	/* the command closed stdin */
			off += (size_t)w;
		}
		if (!eof_sent && off == inlen) {
			ssh_channel_send_eof(ch);
			eof_sent = true;
		}
		r1 = drain(ch, 0, out);
		r2 = drain(ch, 1, err);
		if (r1 < 0 || r2 < 0) {
			ret = lab_ssh_err(s, LAB_EINFRA, "connection lost "
					  "while running %s: %s",
					  shortcmd.buf, lab_ssh_peer_error(s));
			goto out;
		}
		now = lab_mono_ms();
		if (r1 || r2)
			last_rx = now;
		if (ssh_channel_is_closed(ch) || ssh_channel_is_eof(ch)) {
			/*
			 * libssh stops reading the socket for a channel at
			 * EOF: wait for exit-status (or the close) here.
			 */
			if (rs.status < 0 && !ssh_channel_is_closed(ch)) {
				lab_ssh_set_timeout(s, deadline - now);
				ssh_channel_get_exit_status(ch);
			}
			if (rs.status >= 0 || ssh_channel_is_closed(ch))
				break;
			if (lab_mono_ms() >= deadline) {
				ret = lab_ssh_err(s, LAB_ETIMEDOUT, "command "
						  "timed out after %lld ms "
						  "(no exit status): %s",
						  (long long)timeout_ms,
						  shortcmd.buf);
				goto out;
			}
			if (!ssh_is_connected(s->ssh))
				break;
			continue;
		}
		if (!ssh_is_connected(s->ssh)) {
			ret = lab_ssh_err(s, LAB_EINFRA, "connection lost "
					  "while running %s", shortcmd.buf);
			goto out;
		}
		if (now >= deadline) {
			/* Stop the command, not only our end of it. */
			ssh_channel_request_send_signal(ch, "KILL");
			ret = lab_ssh_err(s, LAB_ETIMEDOUT, "command timed out "
					  "after %lld ms: %s",
					  (long long)timeout_ms, shortcmd.buf);
			goto out;
		}
		if (now - last_rx >= (int64_t)s->keepalive_s * 1000) {
			keepalive(s, deadline - now);
			last_rx = lab_mono_ms();
			continue;
		}
		wait = deadline - now;
		if (wait > 100)
			wait = 100;
		pfd.fd = ssh_get_fd(s->ssh);
		pfd.events = POLLIN;
		if (ssh_get_poll_flags(s->ssh) & SSH_WRITE_PENDING)
			pfd.events |= POLLOUT;
		pfd.revents = 0;
		if (pfd.fd < 0 || poll(&pfd, 1, (int)wait) < 0) {
			if (pfd.fd >= 0 && errno == EINTR)
				continue;
			ret = lab_ssh_err(s, LAB_EINFRA, "connection lost "
					  "while running %s", shortcmd.buf);
			goto out;
		}
	}
	/* What arrived with the close. */
	drain(ch, 0, out);
	drain(ch, 1, err);
	*status = rs.status >= 0 ? rs.status : 255;
out:
	if (ch) {
		if (ssh_channel_is_open(ch))
			ssh_channel_close(ch);
		ssh_channel_free(ch);
	}
	lab_ssh_set_timeout(s, s->command_timeout_ms);
	strbuf_release(&cmd);
	strbuf_release(&shortcmd);
	return ret;
}
