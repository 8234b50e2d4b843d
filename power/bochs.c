// SPDX-License-Identifier: MIT
/*
 * power/bochs: a Bochs process is the board, process control its power
 * switch (Bochs has no QMP).
 *
 * cfg->emulator_argv is the board's command line (labctl/bochsboard.c:
 * bochs-bin -q -f STATE/bochsrc -rc STATE/bochs.rc).  Bochs' display is
 * `term` (Debian's build has no nogui), so it runs on a pseudo-terminal:
 * Bochs gets the slave as its controlling terminal, stdin and stdout; a
 * small child of labctl (the drainer) holds the master and reads and
 * discards the screen, so Bochs never waits on it.  The drainer ends when
 * Bochs does (the master reads EIO).  Bochs' stderr goes to STATE/bochs.out.
 *
 *   on      spawn Bochs (nothing when one runs); the simulation starts at
 *           once (-rc: "c").  The console must be open first (the com1
 *           FIFO: Bochs waits at its start until a reader is there).
 *   off     SIGKILL to its process group (Bochs runs on after SIGTERM,
 *           SIGHUP and SIGINT), then wait up to quit_timeout + 3 s
 *   cycle, reset
 *           off, then on: a new process.  Reported as RESET host-cycle,
 *           not as an EXIT, since the console FIFO stays open across it.
 *   status  the process runs: on; else off
 *
 * Every end of the process is reported as ("EXIT", detail): "status 0"
 * (the guest powered the machine off), "signal N" (killed), or Bochs' own
 * failure, never the guest's, as "status N: " or "signal N: " and why:
 * "Bochs panicked: <the >>PANIC<< line of bochs.log>" (bochsrc: panic:
 * action=fatal makes a panic exit 1, or crash), "Bochs crashed (...)", or
 * "Bochs failed: <the last line of bochs.out>" (run.c turns a detail
 * with ": " into a lab error).
 *
 * Keys: attach (use a Bochs already running in STATE; default no),
 * keep (close leaves it running, and it does not die with labctl;
 * default: attach), quit_timeout (off: how long the killed process may take, 2 s).
 * Files in STATE: bochs.pid, bochs.out, bochs.log (Bochs' own log).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "lib/fileio.h"
#include "lib/log.h"
#include "lib/spawn.h"
#include "lib/stopsig.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "plan.h"
#include "power.h"

#define REAP_TIMEOUT_MS 3000

extern char **environ;

struct bochs {
	struct power_dev *dev;
	char *dir;
	char *pid_path, *out_path, *log_path, *rc_path, *lock_path;
	pid_t pid;		/* Bochs, 0 when none */
	pid_t drainer;		/* the pty drainer we forked, 0 when none */
	bool child;		/* ours: waitpid gives its status */
	int pidfd;		/* -1 when none */
	int efd;		/* epoll over pidfd: the stable event fd */
	bool attach, keep;
	int64_t quit_timeout_ms;
};

static const char *const bochs_keys[] = { "attach", "keep", "quit_timeout", NULL };


/* Does /proc/PID/cmdline hold "-f RC_PATH" (this board's Bochs)? */
static bool cmdline_is_ours(pid_t pid, const char *rc_path)
{
	struct strbuf sb = STRBUF_INIT;
	char path[64];
	const char *p, *end;
	bool prev_f = false, found = false;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if (strbuf_read_file(&sb, path, 1 << 20)) {
		lab_err_clear();
		return false;
	}
	for (p = sb.buf, end = sb.buf + sb.len; p && p < end; p += strlen(p) + 1) {
		if (prev_f && !strcmp(p, rc_path)) {
			found = true;
			break;
		}
		prev_f = !strcmp(p, "-f");
	}
	strbuf_release(&sb);
	return found;
}

static pid_t find_running(struct bochs *b)
{
	struct strbuf sb = STRBUF_INIT;
	long v = 0;

	if (access(b->pid_path, F_OK) == 0 &&
	    !strbuf_read_file(&sb, b->pid_path, 64))
		v = strtol(strbuf_str(&sb), NULL, 10);
	lab_err_clear();
	strbuf_release(&sb);
	if (v > 1 && v < INT_MAX && !lab_proc_gone((pid_t)v) &&
	    cmdline_is_ours((pid_t)v, b->rc_path))
		return (pid_t)v;
	return 0;
}

/* The last line of path holding needle (or the last line, needle NULL). */
static void last_line(const char *path, const char *needle, char *out, size_t size)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p, *hit = NULL;

	out[0] = '\0';
	if (strbuf_read_file(&sb, path, 64 << 20)) {
		lab_err_clear();
		return;
	}
	strbuf_rtrim(&sb);
	if (needle) {
		for (p = strbuf_str(&sb); (p = strstr(p, needle)); p++)
			hit = p + strlen(needle);
	} else {
		hit = strrchr(strbuf_str(&sb), '\n');
		hit = hit ? hit + 1 : strbuf_str(&sb);
	}
	if (hit) {
		size_t len = strcspn(hit, "\r\n");

		while (*hit == ' ' && len) {
			hit++;
			len--;
		}
		snprintf(out, size, "%.*s", (int)len, hit);
	}
	strbuf_release(&sb);
}

static void report_exit(struct bochs *b, int status)
{
	char detail[600], why[400];

	/* Bochs truncates its log at start: a panic there is this run's. */
	last_line(b->log_path, ">>PANIC<<", why, sizeof(why));
	if (status == -1) {
		snprintf(detail, sizeof(detail), "status unknown");
	} else if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);

		/* Measured: a panic at start-up can end in SIGSEGV (exit 139). */
		if (*why)
			snprintf(detail, sizeof(detail),
				 "signal %d: Bochs panicked: %s (see %s)", sig, why,
				 b->log_path);
		else if (sig == SIGSEGV || sig == SIGBUS || sig == SIGABRT ||
			 sig == SIGILL || sig == SIGFPE)
			snprintf(detail, sizeof(detail),
				 "signal %d: Bochs crashed (%s; see %s)", sig,
				 strsignal(sig), b->log_path);
		else
			snprintf(detail, sizeof(detail), "signal %d", sig);
	} else if (WIFEXITED(status) && WEXITSTATUS(status)) {
		/* The guest cannot make Bochs exit non-zero: this is Bochs. */
		if (*why) {
			snprintf(detail, sizeof(detail),
				 "status %d: Bochs panicked: %s (see %s)",
				 WEXITSTATUS(status), why, b->log_path);
		} else {
			last_line(b->out_path, NULL, why, sizeof(why));
			snprintf(detail, sizeof(detail), "status %d: Bochs failed: %s (see %s)",
				 WEXITSTATUS(status), *why ? why : "no message",
				 b->out_path);
		}
	} else {
		snprintf(detail, sizeof(detail), "status 0");
	}
	power_emit(b->dev, "EXIT", detail);
}

static void forget_process(struct bochs *b)
{
	if (b->pidfd >= 0) {
		epoll_ctl(b->efd, EPOLL_CTL_DEL, b->pidfd, NULL);
		close(b->pidfd);
	}
	b->pidfd = -1;
	b->pid = 0;
	b->child = false;
	unlink(b->pid_path);
	/* Bochs' lock beside the disk outlives a killed Bochs. */
	if (b->lock_path)
		unlink(b->lock_path);
}

static bool wait_gone(struct bochs *b, pid_t pid, int64_t ms, int *status)
{
	int64_t deadline = lab_mono_ms() + ms;

	*status = -1;
	for (;;) {
		if (b->child && pid == b->pid) {
			pid_t w = waitpid(pid, status, WNOHANG);

			if (w == pid || (w < 0 && errno == ECHILD))
				return true;
		} else if (lab_proc_gone(pid)) {
			return true;
		}
		if (lab_mono_ms() >= deadline)
			return false;
		lab_sleep_ms(5);
	}
}

/* KILL the process group Bochs leads (its drainer too), wait for the end. */
static int kill_bochs(struct bochs *b, pid_t pid, bool report)
{
	int status;

	/* Measured: Bochs 2.7 catches SIGTERM ("sig 15 caught"), SIGHUP
	 * and SIGINT (its debugger) and runs on; it keeps nothing in memory
	 * that the disk needs, so KILL at once. */
	if (!wait_gone(b, pid, 0, &status)) {
		kill(-pid, SIGKILL);
		if (!wait_gone(b, pid, b->quit_timeout_ms + REAP_TIMEOUT_MS, &status))
			lab_warn("Bochs pid %d does not die even from SIGKILL",
				 (int)pid);
	}
	if (pid == b->pid) {
		if (report)
			report_exit(b, status);
		forget_process(b);
	}
	return 0;
}

static void watch_pid(struct bochs *b)
{
	struct epoll_event ev = { .events = EPOLLIN };

	b->pidfd = (int)syscall(SYS_pidfd_open, b->pid, 0);
	if (b->pidfd < 0) {
		lab_debug("bochs: pidfd_open: %s", strerror(errno));
		return;
	}
	fcntl(b->pidfd, F_SETFD, FD_CLOEXEC);
	ev.data.fd = b->pidfd;
	if (epoll_ctl(b->efd, EPOLL_CTL_ADD, b->pidfd, &ev) < 0)
		lab_debug("bochs: epoll_ctl: %s", strerror(errno));
}

/* Reap the drainer once it ended (it does when Bochs is gone). */
static void reap_drainer(struct bochs *b, int64_t ms)
{
	int64_t deadline = lab_mono_ms() + ms;

	while (b->drainer > 0) {
		pid_t w = waitpid(b->drainer, NULL, WNOHANG);

		if (w == b->drainer || (w < 0 && errno == ECHILD))
			b->drainer = 0;
		else if (lab_mono_ms() >= deadline)
			break;
		else
			lab_sleep_ms(5);
	}
}

/* Only async-signal-safe calls after fork (labctl has threads). */
static void close_from(int lowfd, int keep)
{
	int fd;

	for (fd = lowfd; fd < 1024; fd++)
		if (fd != keep)
			close(fd);
}

static int spawn_bochs(struct bochs *b)
{
	const char *const *argv = b->dev->cfg.emulator_argv;
	struct winsize ws = { .ws_row = 25, .ws_col = 80 };
	char slave[128], **envp;
	int master, outfd, report[2], e = 0, nenv, i;
	pid_t pid, drainer, parent = getpid();
	ssize_t r;

	if (!argv || !argv[0])
		return lab_err(LAB_ECONFIG,
			       "power driver bochs needs the board's Bochs command line");
	/* The environment with TERM for the term display, built before fork. */
	for (nenv = 0; environ[nenv]; nenv++)
		;
	envp = xcalloc((size_t)nenv + 2, sizeof(*envp));
	for (i = 0, nenv = 0; environ[i]; i++)
		if (strncmp(environ[i], "TERM=", 5))
			envp[nenv++] = environ[i];
	envp[nenv++] = (char *)"TERM=vt100";

	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
	    ptsname_r(master, slave, sizeof(slave))) {
		e = errno;
		if (master >= 0)
			close(master);
		free(envp);
		return lab_err_errno(e, "cannot make a pseudo-terminal for Bochs");
	}
	ioctl(master, TIOCSWINSZ, &ws);
	outfd = open(b->out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (outfd < 0 || pipe2(report, O_CLOEXEC) < 0) {
		e = errno;
		if (outfd >= 0)
			close(outfd);
		close(master);
		free(envp);
		return lab_err_errno(e, "cannot create %s", b->out_path);
	}
	unlink(b->pid_path);
	/* No Bochs of ours runs: a lock left by a killed one is stale, and
	 * Bochs would refuse the disk ("could not open hard drive image"). */
	unlink(b->lock_path);
	pid = fork();
	if (pid == 0) {
		sigset_t all;
		int s;

		setsid();	/* the pty becomes its controlling terminal */
		if (!b->keep && (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 ||
				 getppid() != parent))
			_exit(126);
		s = open(slave, O_RDWR);
		if (s < 0)
			goto fail_child;
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		signal(SIGPIPE, SIG_DFL);
		lab_stop_default();
		dup2(s, 0);
		dup2(s, 1);
		dup2(outfd, 2);
		if (s > 2)
			close(s);
		if (chdir(b->dir) < 0)
			goto fail_child;
		execvpe(argv[0], (char *const *)argv, envp);
fail_child:
		e = errno;
		if (write(report[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	if (pid < 0) {
		e = errno;
		close(master);
		close(outfd);
		close(report[0]);
		close(report[1]);
		free(envp);
		return lab_err_errno(e, "cannot start Bochs");
	}
	close(report[1]);
	close(outfd);
	free(envp);
	do
		r = read(report[0], &e, sizeof(e));
	while (r < 0 && errno == EINTR);
	close(report[0]);
	if (r == sizeof(e)) {
		close(master);
		waitpid(pid, NULL, 0);
		if (e == ENOENT)
			return lab_err(LAB_EINFRA,
				       "cannot run %s: program not found (apt-get install bochs bochs-term; scripts/install-deps)",
				       argv[0]);
		return lab_err(LAB_EINFRA, "cannot run %s: %s", argv[0], strerror(e));
	}
	/* The drainer: reads Bochs' screen to nowhere until Bochs is gone. */
	drainer = fork();
	if (drainer == 0) {
		char buf[4096];

		setpgid(0, pid);
		close_from(0, master);
		for (;;) {
			ssize_t n = read(master, buf, sizeof(buf));

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				_exit(0);
		}
	}
	close(master);
	if (drainer > 0)
		setpgid(drainer, pid);	/* killed with Bochs' group */
	reap_drainer(b, 0);		/* an earlier Bochs' */
	b->drainer = drainer > 0 ? drainer : 0;
	b->pid = pid;
	b->child = true;
	{
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "%d\n", (int)pid);

		if (lab_write_file_atomic(b->pid_path, buf, (size_t)n, 0600) < 0)
			lab_err_clear();
	}
	watch_pid(b);
	lab_debug("bochs: started %s as pid %d (screen drainer %d) in %s",
		  argv[0], (int)pid, (int)drainer, b->dir);
	return 0;
}

static int bochs_on(struct power_dev *dev)
{
	struct bochs *b = dev->priv;

	if (b->pid && !lab_proc_gone(b->pid))
		return 0;
	if (b->pid) {
		int status;

		wait_gone(b, b->pid, 0, &status);
		report_exit(b, status);
		forget_process(b);
	}
	return spawn_bochs(b);
}

static int bochs_off(struct power_dev *dev)
{
	struct bochs *b = dev->priv;

	if (b->pid)
		kill_bochs(b, b->pid, true);
	return 0;
}

static int bochs_cycle(struct power_dev *dev)
{
	struct bochs *b = dev->priv;

	if (b->pid) {
		kill_bochs(b, b->pid, false);
		power_emit(dev, "RESET", "host-cycle");
	}
	return spawn_bochs(b);
}

static int bochs_status(struct power_dev *dev, enum power_state *state)
{
	struct bochs *b = dev->priv;

	*state = b->pid && !lab_proc_gone(b->pid) ? POWER_ON : POWER_OFF;
	return 0;
}

static int bochs_event_fd(struct power_dev *dev)
{
	struct bochs *b = dev->priv;

	return b->efd;
}

/* The process ended (its pidfd is readable): reap it, report EXIT. */
static int bochs_dispatch(struct power_dev *dev)
{
	struct bochs *b = dev->priv;
	int status;

	if (!b->pid || !wait_gone(b, b->pid, 0, &status))
		return 0;
	report_exit(b, status);
	forget_process(b);
	reap_drainer(b, 500);
	return 0;
}

static int bochs_describe(struct power_dev *dev, const char *action,
			  struct strbuf *out)
{
	struct bochs *b = dev->priv;
	const char *const *a = dev->cfg.emulator_argv;
	int i;

	if (!strcmp(action, "on") || !strcmp(action, "cycle") ||
	    !strcmp(action, "reset")) {
		if (strcmp(action, "on"))
			strbuf_addf(out, "kill -KILL -<pid in %s>\n", b->pid_path);
		for (i = 0; a && a[i]; i++)
			strbuf_addf(out, "%s%s", i ? " " : "", a[i]);
		strbuf_addstr(out, "  (on a pseudo-terminal, TERM=vt100)\n");
		return 0;
	}
	if (!strcmp(action, "off")) {
		strbuf_addf(out, "kill -KILL -<pid in %s>\n", b->pid_path);
		return 0;
	}
	if (!strcmp(action, "status")) {
		strbuf_addf(out, "check the process in %s\n", b->pid_path);
		return 0;
	}
	return lab_err(LAB_EINVAL, "power driver bochs cannot %s", action);
}

static void bochs_free(struct bochs *b)
{
	if (b->pidfd >= 0)
		close(b->pidfd);
	if (b->efd >= 0)
		close(b->efd);
	free(b->dir);
	free(b->pid_path);
	free(b->out_path);
	free(b->log_path);
	free(b->rc_path);
	free(b->lock_path);
	free(b);
}

static int bochs_open(struct power_dev *dev, const struct power_config *cfg)
{
	const char *qt;
	struct bochs *b;
	pid_t old;
	int ret;

	if (!cfg->state_dir || !*cfg->state_dir)
		return lab_err(LAB_ECONFIG, "power driver bochs needs a state directory");
	b = xzalloc(sizeof(*b));
	b->dev = dev;
	b->pidfd = -1;
	b->dir = realpath(cfg->state_dir, NULL);
	if (!b->dir) {
		ret = lab_err_errno(errno, "cannot resolve %s", cfg->state_dir);
		b->efd = -1;
		goto fail;
	}
	b->efd = epoll_create1(EPOLL_CLOEXEC);
	b->pid_path = xasprintf("%s/bochs.pid", b->dir);
	b->out_path = xasprintf("%s/bochs.out", b->dir);
	b->log_path = xasprintf("%s/bochs.log", b->dir);
	b->lock_path = xasprintf("%s/disk.img.lock", b->dir);
	/* The board's rc path as given on its command line: how we know ours. */
	b->rc_path = xstrdup(cfg->emulator_argv && cfg->emulator_argv[0] &&
			     cfg->emulator_argv[1] && cfg->emulator_argv[2] &&
			     cfg->emulator_argv[3] ? cfg->emulator_argv[3] : "");
	dev->priv = b;
	if (b->efd < 0) {
		ret = lab_err_errno(errno, "epoll_create1");
		goto fail;
	}
	b->quit_timeout_ms = 2000;
	qt = power_param(dev, "quit_timeout");
	if (qt && lab_parse_duration_ms(qt, &b->quit_timeout_ms) < 0) {
		ret = lab_err(LAB_ECONFIG, "power driver bochs: quit_timeout=%s is not a duration",
			      qt);
		goto fail;
	}
	if ((ret = power_param_bool(dev, "attach", false, &b->attach)) ||
	    (ret = power_param_bool(dev, "keep", false, &b->keep)))
		goto fail;
	if (!power_param(dev, "keep"))
		b->keep = b->attach;
	old = find_running(b);
	if (old && b->attach) {
		b->pid = old;
		b->child = false;
		watch_pid(b);
		return 0;
	}
	if (old) {
		lab_warn("killing Bochs pid %d left running in %s by an earlier labctl",
			 (int)old, b->dir);
		kill_bochs(b, old, false);
	}
	return 0;
fail:
	dev->priv = NULL;
	bochs_free(b);
	return ret;
}

static void bochs_close(struct power_dev *dev)
{
	struct bochs *b = dev->priv;

	if (!b)
		return;
	if (b->keep && b->pid && !lab_proc_gone(b->pid))
		lab_debug("bochs: leaving pid %d running in %s", (int)b->pid, b->dir);
	else if (b->pid)
		bochs_off(dev);
	if (!b->keep)
		reap_drainer(b, 500);
	lab_err_clear();
	dev->priv = NULL;
	bochs_free(b);
}

/* The keys this driver takes in a lab file's [power] section, declared once
 * here: labctl/labconf.c checks and shows them from this table. */
static const struct lab_key_def bochs_lab_keys[] = {
	{ "power", "attach", KEY_BOOL, "no", NULL, 0, 0, NULL,
	  "use the board's running Bochs instead of stopping it" },
	{ "power", "keep", KEY_BOOL, NULL, NULL, 0, 0, NULL,
	  "leave Bochs running when labctl ends (default: the value of attach)" },
	{ "power", "quit_timeout", KEY_DURATION, "2s", NULL, 0, 0, NULL,
	  "how long the killed Bochs may take to die" },
	{ NULL, NULL, 0, NULL, NULL, 0, 0, NULL, NULL }
};

const struct power_driver power_driver_bochs = {
	.name = "bochs",
	.description = "a Bochs process under a pseudo-terminal (the Bochs virtual board)",
	.caps = POWER_CAP_ON | POWER_CAP_OFF | POWER_CAP_CYCLE |
		POWER_CAP_RESET | POWER_CAP_STATUS | POWER_CAP_EVENTS,
	.keys = bochs_keys,
	.lab_keys = bochs_lab_keys,
	.open = bochs_open,
	.close = bochs_close,
	.on = bochs_on,
	.off = bochs_off,
	.cycle = bochs_cycle,
	.reset = bochs_cycle,
	.status = bochs_status,
	.event_fd = bochs_event_fd,
	.dispatch = bochs_dispatch,
	.describe = bochs_describe,
};
