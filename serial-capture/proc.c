// SPDX-License-Identifier: MIT
/* A local program as a console (see proc.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "console.h"
#include "proc.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/escape.h"
#include "lib/secret.h"
#include "lib/spawn.h"
#include "lib/xmalloc.h"

#define ERR_KEEP 4096

char **console_split_words(const char *s, int *n)
{
	char **v = xcalloc(1, sizeof(*v));
	const char *p = s;

	*n = 0;
	for (;;) {
		size_t l;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		l = strcspn(p, " \t");
		v = xrealloc(v, (size_t)(*n + 2) * sizeof(*v));
		v[(*n)++] = xstrndup(p, l);
		v[*n] = NULL;
		p += l;
	}
	return v;
}

void console_free_words(char **v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void close_pair(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	p[0] = p[1] = -1;
}

/* A pty pair, the slave raw (no \n -> \r\n, no echo): master, slave. */
static int open_pty(int fds[2], const char *what)
{
	struct termios t;
	char *name;
	int m, s;

	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || !(name = ptsname(m))) {
		int e = errno;

		if (m >= 0)
			close(m);
		return lab_err_errno(e, "%s: cannot create a pty", what);
	}
	s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0) {
		int e = errno;

		close(m);
		return lab_err_errno(e, "%s: cannot open %s", what, name);
	}
	if (tcgetattr(s, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(s, TCSANOW, &t);
	}
	fds[0] = m;
	fds[1] = s;
	return 0;
}

/* environ with add ("NAME=value") put in; the strings are not copied. */
static char **make_env(const char *const *add)
{
	extern char **environ;
	size_t n = 0, k = 0, i, j;
	char **env;

	while (environ[n])
		n++;
	while (add && add[k])
		k++;
	env = xcalloc(n + k + 1, sizeof(*env));
	for (i = j = 0; i < n; i++) {
		size_t m, l = strcspn(environ[i], "=");

		for (m = 0; m < k; m++)
			if (!strncmp(add[m], environ[i], l) && add[m][l] == '=')
				break;
		if (m == k)
			env[j++] = environ[i];
	}
	for (i = 0; i < k; i++)
		env[j++] = (char *)add[i];
	return env;
}

int console_proc_start(struct console_proc *p, const char *const *argv,
		       const struct console_proc_opts *o, const char *what)
{
	int out[2] = { -1, -1 }, in[2] = { -1, -1 }, err[2] = { -1, -1 };
	int report[2] = { -1, -1 }, e = 0, ret = 0;
	char **envp = NULL;
	ssize_t r;
	pid_t pid;

	memset(p, 0, sizeof(*p));
	p->out_fd = p->in_fd = p->err_fd = -1;
	if (o->pty)
		ret = open_pty(out, what);
	else if (pipe2(out, O_CLOEXEC) < 0 ||
		 (o->stdin_pipe && pipe2(in, O_CLOEXEC) < 0))
		ret = lab_err_errno(errno, "%s: cannot create a pipe", what);
	if (!ret && ((o->capture_err && pipe2(err, O_CLOEXEC) < 0) ||
		     pipe2(report, O_CLOEXEC) < 0))
		ret = lab_err_errno(errno, "%s: cannot create a pipe", what);
	if (ret)
		goto fail;
	envp = make_env(o->env_add);
	pid = fork();
	if (pid < 0) {
		ret = lab_err_errno(errno, "%s: cannot fork", what);
		goto fail;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (o->pty) {
			dup2(out[1], 0);
			dup2(out[1], 1);
		} else {
			if (o->stdin_pipe)
				dup2(in[0], 0);
			else if (null >= 0)
				dup2(null, 0);
			dup2(out[1], 1);
		}
		if (o->capture_err)
			dup2(err[1], 2);
		signal(SIGPIPE, SIG_DFL);
		execvpe(argv[0], (char *const *)argv, envp);
		e = errno;
		if (write(report[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	free(envp);
	envp = NULL;
	setpgid(pid, pid);
	close(report[1]);
	report[1] = -1;
	do
		r = read(report[0], &e, sizeof(e));
	while (r < 0 && errno == EINTR);
	close(report[0]);
	report[0] = -1;
	if (r == (ssize_t)sizeof(e)) {
		ret = lab_err_errno(e, "%s: cannot run %s: %s", what, argv[0],
				    strerror(e));
		waitpid(pid, NULL, 0);
		goto fail;
	}
	p->pid = pid;
	p->pty = o->pty;
	p->name = xstrdup(argv[0]);
	p->out_fd = out[0];
	close(out[1]);
	if (o->pty) {
		p->in_fd = out[0];
	} else if (o->stdin_pipe) {
		p->in_fd = in[1];
		close(in[0]);
		set_nonblock(p->in_fd);
	}
	set_nonblock(p->out_fd);
	if (o->capture_err) {
		p->err_fd = err[0];
		close(err[1]);
		set_nonblock(p->err_fd);
	}
	return 0;
fail:
	free(envp);
	close_pair(out);
	close_pair(in);
	close_pair(err);
	close_pair(report);
	return ret;
}

static void drain_err(struct console_proc *p)
{
	char buf[1024];
	ssize_t n;

	if (p->err_fd < 0)
		return;
	while ((n = read(p->err_fd, buf, sizeof(buf))) > 0 ||
	       (n < 0 && errno == EINTR)) {
		if (n <= 0)
			continue;
		strbuf_add(&p->err, buf, (size_t)n);
		if (p->err.len > ERR_KEEP) {
			size_t cut = p->err.len - ERR_KEEP;

			memmove(p->err.buf, p->err.buf + cut, ERR_KEEP);
			strbuf_setlen(&p->err, ERR_KEEP);
		}
	}
}

void console_proc_stop(struct console_proc *p, int64_t grace_ms)
{
	int64_t deadline = lab_mono_ms() + grace_ms;
	pid_t pid = p->pid;

	/* Its stdin ends first: EOF on a pipe, EIO on a pty (master gone). */
	if (p->in_fd >= 0 && p->in_fd != p->out_fd)
		close(p->in_fd);
	if (p->pty && p->out_fd >= 0) {
		close(p->out_fd);
		p->out_fd = -1;
	}
	p->in_fd = -1;
	if (p->pid > 0) {
		while (lab_mono_ms() < deadline) {
			pid_t w = waitpid(p->pid, NULL, WNOHANG);

			if (w == p->pid || (w < 0 && errno == ECHILD)) {
				p->pid = 0;
				break;
			}
			drain_err(p);
			lab_sleep_ms(10);
		}
		if (p->pid > 0) {
			lab_kill_group(p->pid, 500);
			while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
				;
		} else {
			kill(-pid, SIGKILL);	/* what it left in its group */
		}
		p->pid = 0;
	}
	if (p->out_fd >= 0)
		close(p->out_fd);
	if (p->err_fd >= 0)
		close(p->err_fd);
	p->out_fd = p->err_fd = -1;
	strbuf_release(&p->err);
	free(p->name);
	p->name = NULL;
}

ssize_t console_proc_read(struct console_proc *p, void *buf, size_t len)
{
	drain_err(p);
	return console_fd_read(p->out_fd, buf, len, "the output of", p->name);
}

ssize_t console_proc_write(struct console_proc *p, const void *buf, size_t len)
{
	if (p->in_fd < 0)
		return lab_err(LAB_EINVAL, "%s does not read input", p->name);
	return console_fd_write(p->in_fd, buf, len, false, "the input of",
				p->name);
}

int console_proc_wait(struct console_proc *p, int64_t deadline,
		      const char *out_marker, const char *err_marker,
		      struct strbuf *head, const char *what)
{
	struct strbuf tmp = STRBUF_INIT;
	int64_t start = lab_mono_ms();
	char buf[4096];
	int ret;

	for (;;) {
		struct pollfd fds[2] = { { p->out_fd, POLLIN, 0 },
					 { p->err_fd, POLLIN, 0 } };
		int64_t left = deadline - lab_mono_ms();
		ssize_t n;

		n = console_fd_read(p->out_fd, buf, sizeof(buf), "the output of",
				    p->name);
		if (n > 0) {
			strbuf_add(head, buf, (size_t)n);
			continue;
		}
		drain_err(p);
		if ((out_marker && strstr(strbuf_str(head), out_marker)) ||
		    (err_marker && strstr(strbuf_str(&p->err), err_marker)))
			return 0;
		if (n == 0 || (n < 0 && n != -LAB_EBUSY)) {
			/* its stderr may still be on the way */
			const char *said;

			poll(&fds[1], p->err_fd >= 0 ? 1 : 0, 200);
			said = console_proc_err_line(p, &tmp);
			ret = lab_err(LAB_EINFRA, "%s: %s ended before it was connected%s%s",
				      what, p->name, *said ? ": " : "", said);
			strbuf_release(&tmp);
			return ret;
		}
		if (left <= 0) {
			const char *said = console_proc_err_line(p, &tmp);

			ret = lab_err(LAB_ETIMEDOUT,
				      "%s: %s did not connect within %lld ms%s%s%s",
				      what, p->name, (long long)(lab_mono_ms() - start),
				      *said ? " (it said: " : "", said, *said ? ")" : "");
			strbuf_release(&tmp);
			return ret;
		}
		poll(fds, p->err_fd >= 0 ? 2 : 1, (int)(left > 100 ? 100 : left));
	}
}

const char *console_proc_err_line(struct console_proc *p, struct strbuf *tmp)
{
	const char *start, *s, *e, *ls[3], *le[3];
	int n = 0, i;

	drain_err(p);
	strbuf_reset(tmp);
	start = strbuf_str(&p->err);
	e = start + strlen(start);
	/* the last three non-empty lines (amtterm: "connect: refused", 2 more) */
	while (n < 3) {
		while (e > start && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' '))
			e--;
		if (e == start)
			break;
		for (s = e; s > start && s[-1] != '\n'; s--)
			;
		ls[n] = s;
		le[n++] = e;
		e = s;
	}
	for (i = n - 1; i >= 0; i--) {
		if (tmp->len)
			strbuf_addstr(tmp, "; ");
		strbuf_add_escaped(tmp, ls[i], (size_t)(le[i] - ls[i]), 0);
	}
	return strbuf_str(tmp);
}

int console_read_secret_file(const char *drv, const char *path,
			     struct strbuf *out)
{
	char who[64];

	snprintf(who, sizeof(who), "console driver %s", drv);
	return lab_read_secret_file(who, path, out);
}

ssize_t console_proc_read_sol(struct console_proc *p, struct strbuf *pending,
			      const char *what, void *buf, size_t len)
{
	struct strbuf tmp = STRBUF_INIT;
	const char *said;
	ssize_t n;
	int ret;

	if (pending->len) {
		n = (ssize_t)(pending->len < len ? pending->len : len);
		memcpy(buf, pending->buf, (size_t)n);
		memmove(pending->buf, pending->buf + n, pending->len - (size_t)n);
		strbuf_setlen(pending, pending->len - (size_t)n);
		return n;
	}
	n = console_proc_read(p, buf, len);
	if (n != 0)
		return n;
	said = console_proc_err_line(p, &tmp);
	ret = lab_err(LAB_EINFRA, "%s: the SOL session ended%s%s", what,
		      *said ? ": " : "", said);
	strbuf_release(&tmp);
	return ret;
}
