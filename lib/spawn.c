// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "escape.h"
#include "spawn.h"
#include "xmalloc.h"

extern char **environ;

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Build the child's environment: ours plus env_add (which wins). */
static char **child_env(const char *const *add)
{
	size_t n = 0, m = 0, i, j;
	char **env;

	while (environ[n])
		n++;
	while (add && add[m])
		m++;
	env = xcalloc(n + m + 1, sizeof(*env));
	for (i = 0, j = 0; i < n; i++) {
		size_t k, keep = 1;

		for (k = 0; k < m; k++) {
			size_t len = strcspn(add[k], "=");

			if (!strncmp(environ[i], add[k], len) &&
			    environ[i][len] == '=')
				keep = 0;
		}
		if (keep)
			env[j++] = environ[i];
	}
	for (i = 0; i < m; i++)
		env[j++] = (char *)add[i];
	return env;
}

/* In the child: never returns. */
static void exec_child(const char *const *argv, const struct spawn_opts *o,
		       int in_fd, int out_fd, int err_fd, int report_fd)
{
	int null_fd = open("/dev/null", O_RDWR);
	int e;

	setpgid(0, 0);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGXFSZ, SIG_DFL);
	dup2(in_fd >= 0 ? in_fd : null_fd, 0);
	if (out_fd >= 0)
		dup2(out_fd, 1);
	else if (o->quiet)
		dup2(null_fd, 1);
	if (o->err_to_out)
		dup2(1, 2);
	else if (err_fd >= 0)
		dup2(err_fd, 2);
	else if (o->quiet)
		dup2(null_fd, 2);
	if (null_fd > 2)
		close(null_fd);
	if (o->cwd && chdir(o->cwd) < 0) {
		e = -errno;	/* negative: the directory, not the program */
		goto report;
	}
	if (o->env_add)
		environ = child_env(o->env_add);
	execvp(argv[0], (char *const *)argv);
	e = errno;
report:
	if (write(report_fd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

void lab_kill_group(pid_t pgid, int64_t grace_ms)
{
	int64_t deadline;

	if (pgid <= 0)
		return;
	if (kill(-pgid, SIGTERM) < 0 && errno == ESRCH)
		return;
	deadline = lab_mono_ms() + grace_ms;
	while (lab_mono_ms() < deadline) {
		if (kill(-pgid, 0) < 0 && errno == ESRCH)
			return;
		/* Reap our direct child if it is the leader, or it stays a zombie. */
		waitpid(pgid, NULL, WNOHANG);
		lab_sleep_ms(10);
	}
	kill(-pgid, SIGKILL);
}

static pid_t start(const char *const *argv, const struct spawn_opts *o,
		   int *in_w, int *out_r, int *err_r)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int report[2];
	pid_t pid;
	ssize_t n;
	int e = 0;

	if (pipe2(report, O_CLOEXEC) < 0)
		return lab_err_errno(errno, "cannot run %s", argv[0]);
	if ((in_w && pipe2(in, O_CLOEXEC) < 0) ||
	    (out_r && pipe2(out, O_CLOEXEC) < 0) ||
	    (err_r && pipe2(err, O_CLOEXEC) < 0)) {
		e = errno;
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		e = errno;
		goto fail;
	}
	if (pid == 0)
		exec_child(argv, o, in[0], out[1], err[1], report[1]);
	/* Also from the parent, so a kill right after fork hits the group. */
	setpgid(pid, pid);
	close(report[1]);
	close_fd(&in[0]);
	close_fd(&out[1]);
	close_fd(&err[1]);
	do
		n = read(report[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(report[0]);
	if (n == sizeof(e)) {
		waitpid(pid, NULL, 0);
		close_fd(&in[1]);
		close_fd(&out[0]);
		close_fd(&err[0]);
		if (e < 0)
			return lab_err(LAB_ESPAWN, "cannot run %s in %s: %s",
				       argv[0], o->cwd, strerror(-e));
		/* execvp says EACCES when a PATH directory is unreadable. */
		if (e == ENOENT || (e == EACCES && !strchr(argv[0], '/') &&
				    !lab_have_program(argv[0])))
			return lab_err(LAB_ESPAWN,
				       "cannot run %s: program not found (is its package installed? try scripts/install-deps)",
				       argv[0]);
		return lab_err(LAB_ESPAWN, "cannot run %s: %s", argv[0],
			       strerror(e));
	}
	if (in_w)
		*in_w = in[1];
	if (out_r)
		*out_r = out[0];
	if (err_r)
		*err_r = err[0];
	return pid;
fail:
	close(report[0]);
	close(report[1]);
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&err[0]);
	close_fd(&err[1]);
	return lab_err(LAB_ESPAWN, "cannot run %s: %s", argv[0], strerror(e));
}

/* Take what is in the pipe now, without waiting for more, and close it. */
static void drain(int *fd, struct strbuf *sb)
{
	char buf[65536];
	int avail = 0;

	if (*fd >= 0 && ioctl(*fd, FIONREAD, &avail) == 0) {
		while (avail > 0) {
			ssize_t n = read(*fd, buf, (size_t)avail < sizeof(buf) ?
						   (size_t)avail : sizeof(buf));

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			strbuf_add(sb, buf, (size_t)n);
			avail -= (int)n;
		}
	}
	close_fd(fd);
}

int lab_spawn(const char *const *argv, const struct spawn_opts *opts,
	      struct spawn_result *res)
{
	static const struct spawn_opts no_opts;
	const struct spawn_opts *o = opts ? opts : &no_opts;
	int in_w = -1, out_r = -1, err_r = -1, pid_fd = -1;
	int64_t t0 = lab_mono_ms(), deadline = 0;
	size_t in_off = 0;
	struct spawn_result r = { 0 };
	int status = 0;
	pid_t pid;

	pid = start(argv, o, o->stdin_data ? &in_w : NULL, o->out ? &out_r : NULL,
		    o->err && !o->err_to_out ? &err_r : NULL);
	if (pid < 0)
		return pid;
	if (o->timeout_ms > 0)
		deadline = t0 + o->timeout_ms;
	if (in_w >= 0)
		fcntl(in_w, F_SETFL, O_NONBLOCK);
#ifdef SYS_pidfd_open
	/*
	 * Readable when the program exits, so a leftover child still holding
	 * its stdout or stderr (a daemon, an ssh ControlPersist master) does
	 * not keep us waiting for an EOF.  Without pidfds we wait for EOF.
	 */
	if (in_w >= 0 || out_r >= 0 || err_r >= 0)
		pid_fd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif

	while (in_w >= 0 || out_r >= 0 || err_r >= 0) {
		struct pollfd pfd[4];
		int nfd = 0, wait_ms = -1, rc, i;
		bool exited = false;

		if (in_w >= 0)
			pfd[nfd++] = (struct pollfd){ in_w, POLLOUT, 0 };
		if (out_r >= 0)
			pfd[nfd++] = (struct pollfd){ out_r, POLLIN, 0 };
		if (err_r >= 0)
			pfd[nfd++] = (struct pollfd){ err_r, POLLIN, 0 };
		if (pid_fd >= 0)
			pfd[nfd++] = (struct pollfd){ pid_fd, POLLIN, 0 };
		if (deadline) {
			int64_t left = deadline - lab_mono_ms();

			if (left <= 0) {
				r.timed_out = true;
				break;
			}
			wait_ms = left > 1000000 ? 1000000 : (int)left;
		}
		rc = poll(pfd, nfd, wait_ms);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			break;
		for (i = 0; i < nfd; i++) {
			char buf[65536];
			ssize_t n;

			if (!pfd[i].revents)
				continue;
			if (pfd[i].fd == pid_fd) {
				exited = true;
				continue;
			}
			if (pfd[i].fd == in_w) {
				n = write(in_w, (const char *)o->stdin_data + in_off,
					  o->stdin_len - in_off);
				if (n > 0)
					in_off += (size_t)n;
				if ((n < 0 && errno != EAGAIN && errno != EINTR) ||
				    in_off >= o->stdin_len)
					close_fd(&in_w);
				continue;
			}
			n = read(pfd[i].fd, buf, sizeof(buf));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				if (pfd[i].fd == out_r)
					close_fd(&out_r);
				else
					close_fd(&err_r);
				continue;
			}
			strbuf_add(pfd[i].fd == out_r ? o->out : o->err, buf,
				   (size_t)n);
		}
		if (exited) {
			/* All it wrote is in the pipes now; the rest is from
			 * leftovers, which are killed below. */
			drain(&out_r, o->out);
			drain(&err_r, o->err);
			break;
		}
	}
	close_fd(&pid_fd);
	close_fd(&in_w);
	close_fd(&out_r);
	close_fd(&err_r);

	/* Output closed (or timeout): now wait for the exit, bounded too. */
	for (;;) {
		pid_t w;

		if (r.timed_out) {
			lab_kill_group(pid, o->kill_grace_ms ? o->kill_grace_ms : 500);
			/* lab_kill_group may have reaped it: status unknown. */
			if (waitpid(pid, &status, 0) != pid)
				status = -1;
			break;
		}
		w = waitpid(pid, &status, deadline ? WNOHANG : 0);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			break;
		if (w == 0) {
			if (lab_mono_ms() >= deadline)
				r.timed_out = true;
			else
				lab_sleep_ms(5);
		}
	}
	/* Leftover children of a finished program must not outlive it. */
	if (!r.timed_out)
		kill(-pid, SIGKILL);
	r.elapsed_ms = lab_mono_ms() - t0;
	if (status == -1) {
		r.exit_code = -1;	/* killed, by which signal is not known */
	} else if (WIFEXITED(status)) {
		r.exit_code = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		r.exit_code = -1;
		r.term_signal = WTERMSIG(status);
	}
	if (res)
		*res = r;
	if (r.timed_out)
		return lab_err(LAB_ETIMEDOUT, "%s did not finish within %lld ms",
			       argv[0], (long long)o->timeout_ms);
	return 0;
}

int lab_run(const char *const *argv, const struct spawn_opts *opts)
{
	struct spawn_opts o = opts ? *opts : (struct spawn_opts){ 0 };
	struct strbuf err = STRBUF_INIT;
	struct spawn_result r;
	int ret;

	if (!o.err && !o.err_to_out && !o.quiet)
		o.err = &err;
	ret = lab_spawn(argv, &o, &r);
	if (!ret && r.exit_code != 0) {
		const struct strbuf *e = o.err ? o.err : &err;
		const char *tail = strbuf_str(e);
		size_t len = e->len;

		/* The last line or two of stderr is what says why. */
		while (len && isspace((unsigned char)tail[len - 1]))
			len--;
		if (len > 400) {
			tail += len - 400;
			len = 400;
		}
		char *text = lab_escape_lines(tail, len);	/* no terminal escapes */

		if (r.term_signal)
			ret = lab_err(LAB_EPROGRAM, "%s was killed by signal %d%s%s",
				      argv[0], r.term_signal, len ? ": " : "", text);
		else
			ret = lab_err(LAB_EPROGRAM, "%s exited with status %d%s%s",
				      argv[0], r.exit_code, len ? ": " : "", text);
		free(text);
	}
	strbuf_release(&err);
	return ret;
}

pid_t lab_spawn_bg(const char *const *argv, const struct spawn_opts *opts)
{
	static const struct spawn_opts no_opts;

	return start(argv, opts ? opts : &no_opts, NULL, NULL, NULL);
}

bool lab_have_program(const char *prog)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL;
	bool found = false;
	struct stat st;

	if (strchr(prog, '/'))
		return stat(prog, &st) == 0 && S_ISREG(st.st_mode) &&
		       access(prog, X_OK) == 0;
	if (!path)
		path = "/usr/bin:/bin";
	copy = xstrdup(path);
	for (dir = strtok_r(copy, ":", &save); dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		char *full = xasprintf("%s/%s", *dir ? dir : ".", prog);

		found = stat(full, &st) == 0 && S_ISREG(st.st_mode) &&
			access(full, X_OK) == 0;
		free(full);
	}
	free(copy);
	return found;
}
