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
#include <sys/prctl.h>
#include <sys/resource.h>
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

/* Build the child's environment: base (ours if NULL) plus add (which wins). */
static char **child_env(char *const *base, const char *const *add)
{
	size_t n = 0, m = 0, i, j;
	char **env;

	if (!base)
		base = environ;
	while (base[n])
		n++;
	while (add && add[m])
		m++;
	env = xcalloc(n + m + 1, sizeof(*env));
	for (i = 0, j = 0; i < n; i++) {
		size_t k, keep = 1;

		for (k = 0; k < m; k++) {
			size_t len = strcspn(add[k], "=");

			if (!strncmp(base[i], add[k], len) && base[i][len] == '=')
				keep = 0;
		}
		if (keep)
			env[j++] = base[i];
	}
	for (i = 0; i < m; i++)
		env[j++] = (char *)add[i];
	return env;
}

/*
 * What the forked child needs, all prepared before fork(): labctl has
 * threads (build workers, the lease keeper), so between fork and exec the
 * child only makes async-signal-safe calls.
 */
struct child_setup {
	const char *const *argv;
	char *const *envp;
	const char *cwd;
	int fd[3];		/* >= 0: dup2 onto 0, 1, 2 */
	bool null_fd[3];	/* /dev/null onto 0, 1, 2; neither: inherit */
	bool err_to_out;
	bool outlive;
	pid_t parent;
	int report_fd;
};

/* The parent-death signal of the supervisor: one nobody else sends it. */
#define SUPERVISOR_PDEATH_SIG SIGUSR2

static const int reset_signals[] = {
	SIGPIPE, SIGINT, SIGTERM, SIGXFSZ, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2,
	SIGCHLD, SIGALRM,
};

static void report_and_exit(int report_fd, int e)
{
	if (write(report_fd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

/* Default signal actions and an empty mask, as a program expects them. */
static void default_signals(void)
{
	struct sigaction sa;
	sigset_t none;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (i = 0; i < sizeof(reset_signals) / sizeof(reset_signals[0]); i++)
		sigaction(reset_signals[i], &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void exec_program(const struct child_setup *c)
{
	default_signals();
	execvpe(c->argv[0], (char *const *)c->argv, c->envp);
	report_and_exit(c->report_fd, errno);
}

/*
 * Close every close-on-exec descriptor: a supervisor never execs, and it
 * must not hold the pipes of programs other threads start meanwhile (their
 * callers wait for EOF).  Descriptors without FD_CLOEXEC reach the program
 * as they always did.
 */
static void close_cloexec_fds(void)
{
	char buf[4096];
	int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool closed_some = true;

	if (dir < 0)
		return;
	while (closed_some) {
		long n;

		closed_some = false;
		lseek(dir, 0, SEEK_SET);
		while ((n = syscall(SYS_getdents64, dir, buf, sizeof(buf))) > 0) {
			long off = 0;

			while (off < n) {
				const char *name = buf + off + 19;
				unsigned short reclen;
				int fd = 0;

				memcpy(&reclen, buf + off + 16, sizeof(reclen));
				off += reclen;
				if (*name < '0' || *name > '9')
					continue;
				while (*name >= '0' && *name <= '9')
					fd = fd * 10 + (*name++ - '0');
				if (fd > 2 && fd != dir &&
				    (fcntl(fd, F_GETFD) & FD_CLOEXEC) &&
				    close(fd) == 0)
					closed_some = true;
			}
		}
	}
	close(dir);
}

/*
 * The supervisor: the program runs as its child in the supervisor's
 * session and process group.  When labctl dies, however it dies (SIGKILL
 * included), the kernel sends the supervisor SUPERVISOR_PDEATH_SIG and it
 * kills the whole group, so make's compilers go too, not only make.  When
 * the program ends, the supervisor ends the same way.  Never returns.
 */
static void supervise(const struct child_setup *c)
{
	sigset_t set;
	siginfo_t si;
	struct rlimit no_core = { 0, 0 };
	struct sigaction dfl;
	pid_t child;
	int status = 0, null_fd, sig;
	size_t i;

	sigemptyset(&set);
	for (i = 0; i < sizeof(reset_signals) / sizeof(reset_signals[0]); i++)
		sigaddset(&set, reset_signals[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &dfl, NULL);
	/* Armed before checking: labctl may have died right after fork. */
	if (prctl(PR_SET_PDEATHSIG, SUPERVISOR_PDEATH_SIG) < 0 ||
	    getppid() != c->parent)
		_exit(127);
	child = fork();
	if (child < 0)
		report_and_exit(c->report_fd, errno);
	if (child == 0)
		exec_program(c);
	close_cloexec_fds();
	/* The program's output pipes must close when the program ends. */
	null_fd = open("/dev/null", O_RDWR);
	for (i = 0; i < 3; i++)
		dup2(null_fd, (int)i);
	if (null_fd > 2)
		close(null_fd);
	for (;;) {
		sig = sigwaitinfo(&set, &si);
		if (sig == SIGCHLD) {
			if (waitpid(child, &status, WNOHANG) == child)
				break;
		} else if (sig == SUPERVISOR_PDEATH_SIG) {
			/* The spawning thread ended; labctl is gone only if
			 * we were handed to another process. */
			if (getppid() != c->parent)
				kill(0, SIGKILL);
		} else if (sig > 0) {
			kill(child, sig);
		}
	}
	if (WIFEXITED(status))
		_exit(WEXITSTATUS(status));
	/* Killed by a signal: end by the same one (no core of ours). */
	sig = WTERMSIG(status);
	setrlimit(RLIMIT_CORE, &no_core);
	sigaction(sig, &dfl, NULL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	kill(getpid(), sig);
	_exit(128 + sig);
}

/*
 * In the child: never returns.  A new session (no controlling terminal:
 * nothing labctl starts can read or stop on the user's terminal) whose
 * process group lab_kill_group() kills as one.
 */
static void run_child(const struct child_setup *c)
{
	int null_fd = open("/dev/null", O_RDWR);
	int i;

	setsid();
	for (i = 0; i < 3; i++) {
		if (c->fd[i] >= 0)
			dup2(c->fd[i], i);
		else if (c->null_fd[i])
			dup2(null_fd, i);
	}
	if (c->err_to_out)
		dup2(1, 2);
	if (null_fd > 2)
		close(null_fd);
	/* Negative: the directory, not the program. */
	if (c->cwd && chdir(c->cwd) < 0)
		report_and_exit(c->report_fd, -errno);
	if (c->outlive)
		exec_program(c);
	supervise(c);
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

/*
 * Fork the child for argv.  fd[i] >= 0 is used as descriptor i; for i in
 * 0..2 a negative fd[i] means /dev/null when null_fd[i], else inherit
 * (stdin: always /dev/null).  Returns the pid, or <0.
 */
static pid_t start_fds(const char *const *argv, const struct spawn_opts *o,
		       const int fd[3], const bool null_fd[3])
{
	struct child_setup c = { .argv = argv, .cwd = o->cwd,
				 .err_to_out = o->err_to_out,
				 .outlive = o->outlive, .parent = getpid() };
	char **envp = child_env(o->env, o->env_add);
	int report[2];
	pid_t pid;
	ssize_t n;
	int e = 0, i;

	for (i = 0; i < 3; i++) {
		c.fd[i] = fd[i];
		c.null_fd[i] = null_fd[i] || i == 0;
	}
	c.envp = envp;
	if (pipe2(report, O_CLOEXEC) < 0) {
		e = errno;
		free(envp);
		return lab_err(LAB_ESPAWN, "cannot run %s: %s", argv[0], strerror(e));
	}
	c.report_fd = report[1];
	pid = fork();
	if (pid < 0) {
		e = errno;
		close(report[0]);
		close(report[1]);
		free(envp);
		return lab_err(LAB_ESPAWN, "cannot run %s: %s", argv[0], strerror(e));
	}
	if (pid == 0)
		run_child(&c);
	free(envp);
	close(report[1]);
	/* EOF once the program runs (and, supervised, its supervisor too). */
	do
		n = read(report[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(report[0]);
	if (n != sizeof(e))
		return pid;
	waitpid(pid, NULL, 0);
	if (e < 0)
		return lab_err(LAB_ESPAWN, "cannot run %s in %s: %s", argv[0],
			       o->cwd, strerror(-e));
	/* execvp says EACCES when a PATH directory is unreadable. */
	if (e == ENOENT || (e == EACCES && !strchr(argv[0], '/') &&
			    !lab_have_program(argv[0])))
		return lab_err(LAB_ESPAWN,
			       "cannot run %s: program not found (is its package installed? try scripts/install-deps)",
			       argv[0]);
	return lab_err(LAB_ESPAWN, "cannot run %s: %s", argv[0], strerror(e));
}

static pid_t start(const char *const *argv, const struct spawn_opts *o,
		   int *in_w, int *out_r, int *err_r)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	bool null_fd[3] = { true, o->quiet, o->quiet };
	int fd[3];
	pid_t pid;

	if ((in_w && pipe2(in, O_CLOEXEC) < 0) ||
	    (out_r && pipe2(out, O_CLOEXEC) < 0) ||
	    (err_r && pipe2(err, O_CLOEXEC) < 0)) {
		int e = errno;

		close_fd(&in[0]);
		close_fd(&in[1]);
		close_fd(&out[0]);
		close_fd(&out[1]);
		close_fd(&err[0]);
		close_fd(&err[1]);
		return lab_err(LAB_ESPAWN, "cannot run %s: %s", argv[0],
			       strerror(e));
	}
	fd[0] = in[0];
	fd[1] = out[1];
	fd[2] = err[1];
	pid = start_fds(argv, o, fd, null_fd);
	close_fd(&in[0]);
	close_fd(&out[1]);
	close_fd(&err[1]);
	if (pid < 0) {
		close_fd(&in[1]);
		close_fd(&out[0]);
		close_fd(&err[0]);
		return pid;
	}
	if (in_w)
		*in_w = in[1];
	if (out_r)
		*out_r = out[0];
	if (err_r)
		*err_r = err[0];
	return pid;
}

pid_t lab_spawn_fds(const char *const *argv, const struct spawn_opts *opts,
		    const int fds[3])
{
	static const struct spawn_opts no_opts;
	static const bool all_null[3] = { true, true, true };

	return start_fds(argv, opts ? opts : &no_opts, fds, all_null);
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

bool lab_proc_gone(pid_t pid)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');	/* after "pid (comm)" */
	return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}
