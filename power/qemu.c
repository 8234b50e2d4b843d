// SPDX-License-Identifier: MIT
/*
 * power/qemu: a QEMU process is the board, QMP is its power switch.
 *
 * open spawns QEMU paused (-S) from cfg->emulator_argv plus
 *   -S -pidfile STATE/qemu.pid
 *   -chardev socket,id=labctl-qmp,path=STATE/qmp.sock,server=on,wait=off
 *   -mon chardev=labctl-qmp,mode=control
 * (stdout and stderr to STATE/qemu.log) and completes the QMP handshake,
 * so the caller can connect the console (the board's chardev socket)
 * before anything runs.  A QEMU left over in STATE by an earlier labctl
 * (found by the pid file, and only if /proc/PID/cmdline has our
 * "-pidfile STATE/qemu.pid", so a reused pid is never hit) is killed
 * first.  The QEMU gets SIGTERM when the thread that opened the device
 * ends (PR_SET_PDEATHSIG), so a labctl killed mid-run does not leave a
 * board running: open it from the main thread.  Not with keep=yes.
 *
 *   on      cont; spawns QEMU first when none runs (after off); a machine
 *           stopped in "shutdown" is reset first.  Before cont it waits
 *           (console_wait, default 1 s) until every socket chardev has
 *           its client, so no early byte goes to an unconnected socket.
 *   off     quit, wait for the process to end (quit_timeout, 2 s), then
 *           SIGKILL its process group
 *   reset   system_reset;  cycle: system_reset when running, else on
 *   press   short: system_powerdown (ACPI button) or on; long: off
 *   status  query-status: "running" and other live states are on,
 *           "prelaunch" (paused at start), "shutdown" and no process off
 *
 * Every QMP event goes to cfg->event as (NAME, data.reason), and the end
 * of the process as ("EXIT", "status N" | "signal N"); an exit that is
 * QEMU's own error (an even status, or 1 with a "qemu-system...: " line
 * last in qemu.log) is "status N: <that line>".
 *
 * What QEMU 7.2 (TCG) sends, measured with the stand-in hypervisor:
 *   - isa-debug-exit write: no event, QMP EOF, exit status (v << 1) | 1
 *     (the stand-in's pass: 33)
 *   - guest triple fault, default -action: RESET {guest: true, reason:
 *     guest-reset}, and the machine reboots.  After any reset SeaBIOS
 *     resets the machine itself once or twice more, so a triple fault
 *     shows as 3 RESET guest-reset events (with the stand-in, about 0.15 s
 *     apart from the next boot's fault), and a system_reset as RESET
 *     host-qmp-system-reset then 1-2 RESET guest-reset: guest-reset alone
 *     does not prove a triple fault.
 *   - triple fault with -no-reboot (= -action reboot=shutdown):
 *     SHUTDOWN guest-reset, QMP EOF, exit status 0.  With -action
 *     reboot=shutdown,shutdown=pause: SHUTDOWN guest-reset, STOP, and
 *     status "shutdown" with the machine kept for inspection; but then
 *     system_reset is a shutdown too (and so is SeaBIOS's own reset).
 *   - ACPI power-off: SHUTDOWN guest-shutdown, exit status 0
 *   - quit: SHUTDOWN host-qmp-quit, the reply, EOF, exit status 0
 * So the driver adds no -no-reboot: a triple fault resets the machine as
 * on the real laptops, and is recorded as RESET guest-reset.
 *
 * Keys (durations as lab_parse_duration_ms reads them):
 *   attach         yes: open uses a QEMU already running in STATE instead
 *                  of killing it, and does not start one (on does): for
 *                  `labctl power on|off|status` as separate commands
 *   keep           yes: close leaves a running QEMU running (a paused
 *                  one is still quit), and QEMU does not die with labctl;
 *                  default: the value of attach (`labctl run --keep-on`
 *                  wants keep=yes alone: a fresh QEMU, left running)
 *   console_wait   how long on waits for the console's client (1 s; 0:
 *                  do not check, e.g. `labctl power on` with no console)
 *   start_timeout  QEMU up and its QMP greeting (10 s; 2 s for the
 *                  greeting of a QEMU we attach to)
 *   quit_timeout   off: quit to process end, then SIGKILL (2 s)
 * Files in STATE: qmp.sock, qemu.pid, qemu.log (QEMU's stdout+stderr).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/shquote.h"
#include "lib/spawn.h"
#include "lib/stopsig.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "plan.h"
#include "power.h"
#include "qmp.h"

#define QMP_LABEL "labctl-qmp"
#define CMD_TIMEOUT_MS 5000
#define REAP_TIMEOUT_MS 3000
#define MAX_QMP_LINE (1 << 20)

struct qemu {
	struct power_dev *dev;
	char *dir;		/* absolute state dir */
	char *qmp_path;
	char *pid_path;
	char *log_path;
	pid_t pid;		/* the QEMU process, 0 when none */
	bool child;		/* ours: waitpid gives its status */
	int qmp;		/* QMP socket, -1 when not connected */
	int efd;		/* epoll over qmp: the stable event fd */
	struct strbuf in;	/* QMP bytes not yet a whole line */
	long long next_id;
	bool attach;
	bool keep;
	int64_t console_wait_ms;
	int64_t start_timeout_ms;
	int64_t quit_timeout_ms;
};

static const char *const qemu_keys[] = {
	"attach", "keep", "console_wait", "start_timeout", "quit_timeout", NULL
};

/* ------------------------------------------------------------ processes */


/* Does /proc/PID/cmdline hold "-pidfile PID_PATH"? */
static bool cmdline_is_ours(pid_t pid, const char *pid_path)
{
	struct strbuf sb = STRBUF_INIT;
	char path[64];
	const char *p, *end;
	bool prev_pidfile = false, found = false;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if (strbuf_read_file(&sb, path, 1 << 20)) {
		lab_err_clear();
		return false;
	}
	p = sb.buf;
	end = sb.buf + sb.len;
	while (p && p < end) {
		if (prev_pidfile && !strcmp(p, pid_path)) {
			found = true;
			break;
		}
		prev_pidfile = !strcmp(p, "-pidfile");
		p += strlen(p) + 1;
	}
	strbuf_release(&sb);
	return found;
}

static pid_t read_pidfile(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	long v = 0;
	char *end;

	if (access(path, F_OK) == 0 && !strbuf_read_file(&sb, path, 64)) {
		strbuf_rtrim(&sb);
		v = strtol(strbuf_str(&sb), &end, 10);
		if (*end || v <= 1 || v > INT_MAX)
			v = 0;
	}
	lab_err_clear();
	strbuf_release(&sb);
	return (pid_t)v;
}

/* A live QEMU of this state dir, or 0. */
static pid_t find_running(struct qemu *q)
{
	pid_t pid = read_pidfile(q->pid_path);

	if (pid > 0 && !lab_proc_gone(pid) && cmdline_is_ours(pid, q->pid_path))
		return pid;
	return 0;
}

/* Wait until pid is gone; reaps it when it is our child.  *status gets
 * the wait status, or -1 when unknown.  True when it is gone. */
static bool wait_gone(struct qemu *q, pid_t pid, int64_t ms, int *status)
{
	int64_t deadline = lab_mono_ms() + ms;

	*status = -1;
	for (;;) {
		if (q->child && pid == q->pid) {
			pid_t w = waitpid(pid, status, WNOHANG);

			if (w == pid)
				return true;
			if (w < 0 && errno == ECHILD) {
				*status = -1;
				return true;
			}
		} else if (lab_proc_gone(pid)) {
			return true;
		}
		if (lab_mono_ms() >= deadline)
			return false;
		lab_sleep_ms(5);
	}
}

/* Signal pid, and its group when it leads one (QEMU runs in its own). */
static void signal_qemu(pid_t pid, int sig)
{
	if (getpgid(pid) == pid)
		kill(-pid, sig);
	else
		kill(pid, sig);
}

static void forget_process(struct qemu *q)
{
	q->pid = 0;
	q->child = false;
	unlink(q->pid_path);
	unlink(q->qmp_path);
}

/*
 * QEMU's own last error, from qemu.log: its last line when that is a
 * "qemu-system-...: " message and not a warning or the note QEMU prints
 * when a signal ends it.  Empty when there is none.
 */
static void qemu_error_line(struct qemu *q, char *out, size_t size)
{
	struct strbuf sb = STRBUF_INIT;
	const char *line;

	out[0] = '\0';
	if (strbuf_read_file(&sb, q->log_path, 1 << 20)) {
		lab_err_clear();
		return;
	}
	strbuf_rtrim(&sb);
	line = strrchr(strbuf_str(&sb), '\n');
	line = line ? line + 1 : strbuf_str(&sb);
	if (!strncmp(line, "qemu-system", 11) && strstr(line, ": ") &&
	    !strstr(line, "warning:") && !strstr(line, "terminating on signal"))
		snprintf(out, size, "%s", line);
	strbuf_release(&sb);
}

static void report_exit(struct qemu *q, int status)
{
	char detail[400], why[300];

	if (status == -1) {
		snprintf(detail, sizeof(detail), "status unknown");
	} else if (WIFEXITED(status)) {
		/* isa-debug-exit statuses are odd: an even one, or a 1 with
		 * QEMU's error message, is QEMU's own failure. */
		int code = WEXITSTATUS(status);

		why[0] = '\0';
		if (code && (code % 2 == 0 || code == 1))
			qemu_error_line(q, why, sizeof(why));
		snprintf(detail, sizeof(detail), "status %d%s%s", code,
			 *why ? ": " : "", why);
	} else if (WIFSIGNALED(status)) {
		snprintf(detail, sizeof(detail), "signal %d", WTERMSIG(status));
	} else {
		snprintf(detail, sizeof(detail), "status unknown");
	}
	power_emit(q->dev, "EXIT", detail);
}

/* Make sure the process is gone: TERM, then KILL.  Reports EXIT. */
static void kill_qemu(struct qemu *q, pid_t pid, int64_t grace_ms)
{
	int status;

	if (!wait_gone(q, pid, 0, &status)) {
		signal_qemu(pid, SIGTERM);
		if (!wait_gone(q, pid, grace_ms, &status)) {
			signal_qemu(pid, SIGKILL);
			if (!wait_gone(q, pid, REAP_TIMEOUT_MS, &status))
				lab_warn("QEMU pid %d does not die even from SIGKILL",
					 (int)pid);
		}
	}
	if (pid == q->pid) {
		report_exit(q, status);
		forget_process(q);
	}
}

static void qmp_disconnect(struct qemu *q)
{
	if (q->qmp >= 0) {
		if (q->efd >= 0)
			epoll_ctl(q->efd, EPOLL_CTL_DEL, q->qmp, NULL);
		close(q->qmp);
	}
	q->qmp = -1;
	strbuf_reset(&q->in);
}

/* QMP said EOF: QEMU is ending.  Reap it, report, forget it. */
static void qemu_ended(struct qemu *q)
{
	int status;

	qmp_disconnect(q);
	if (!q->pid)
		return;
	if (!wait_gone(q, q->pid, REAP_TIMEOUT_MS, &status)) {
		lab_warn("QEMU pid %d closed QMP but still runs: killing it",
			 (int)q->pid);
		kill_qemu(q, q->pid, 500);
		return;
	}
	report_exit(q, status);
	forget_process(q);
}

/* The last lines of qemu.log, for error messages. */
static void log_tail(struct qemu *q, struct strbuf *out)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p;

	if (strbuf_read_file(&sb, q->log_path, 1 << 20)) {
		lab_err_clear();
		return;
	}
	strbuf_rtrim(&sb);
	p = sb.buf && sb.len > 300 ? sb.buf + sb.len - 300 : strbuf_str(&sb);
	if (*p)
		strbuf_addf(out, ": %s", p);
	strbuf_release(&sb);
}

/* QEMU option values are comma-separated: a ',' in a path is ",,". */
static void add_opt_value(struct strbuf *sb, const char *v)
{
	for (; *v; v++) {
		if (*v == ',')
			strbuf_addch(sb, ',');
		strbuf_addch(sb, *v);
	}
}

/*
 * The board's command line plus what the driver adds: paused start, pid
 * file, QMP socket.  One builder, so --dry-run shows exactly what runs.
 * The strings point into qa, q and chardev; free only the array.
 */
static const char **qemu_full_argv(const struct qemu *q, const char *const *qa,
				   int n, struct strbuf *chardev)
{
	const char **argv = xcalloc((size_t)n + 9, sizeof(*argv));
	int i;

	strbuf_addstr(chardev, "socket,id=" QMP_LABEL ",path=");
	add_opt_value(chardev, q->qmp_path);
	strbuf_addstr(chardev, ",server=on,wait=off");
	for (i = 0; i < n; i++)
		argv[i] = qa[i];
	argv[i++] = "-S";
	argv[i++] = "-pidfile";
	argv[i++] = q->pid_path;
	argv[i++] = "-chardev";
	argv[i++] = strbuf_str(chardev);
	argv[i++] = "-mon";
	argv[i++] = "chardev=" QMP_LABEL ",mode=control";
	argv[i] = NULL;
	return argv;
}

static int spawn_qemu(struct qemu *q)
{
	const char *const *qa = q->dev->cfg.emulator_argv;
	struct strbuf chardev = STRBUF_INIT;
	const char **argv;
	int report[2], logfd, n, e = 0;
	pid_t pid, parent;
	ssize_t r;

	if (!qa || !qa[0])
		return lab_err(LAB_ECONFIG,
			       "power driver qemu needs a QEMU command line (the board's emulator_argv)");
	for (n = 0; qa[n]; n++)
		;
	argv = qemu_full_argv(q, qa, n, &chardev);

	unlink(q->qmp_path);
	unlink(q->pid_path);
	logfd = open(q->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (logfd < 0) {
		e = errno;
		free(argv);
		strbuf_release(&chardev);
		return lab_err_errno(e, "cannot create %s", q->log_path);
	}
	if (pipe2(report, O_CLOEXEC) < 0) {
		e = errno;
		goto fail;
	}
	parent = getpid();
	pid = fork();
	if (pid < 0) {
		e = errno;
		close(report[0]);
		close(report[1]);
		goto fail;
	}
	if (pid == 0) {
		int nullfd = open("/dev/null", O_RDONLY);
		sigset_t all;

		/* Its own process group: a ^C to labctl is labctl's to handle. */
		setpgid(0, 0);
		/* An owned QEMU ends with the labctl that started it. */
		if (!q->keep && (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 ||
				   getppid() != parent))
			_exit(126);
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		signal(SIGPIPE, SIG_DFL);
		lab_stop_default();
		dup2(nullfd, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		execvp(argv[0], (char *const *)argv);
		e = errno;
		if (write(report[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	setpgid(pid, pid);
	close(report[1]);
	do
		r = read(report[0], &e, sizeof(e));
	while (r < 0 && errno == EINTR);
	close(report[0]);
	close(logfd);
	free(argv);
	strbuf_release(&chardev);
	if (r == sizeof(e)) {
		waitpid(pid, NULL, 0);
		if (e == ENOENT)
			return lab_err(LAB_ESPAWN,
				       "cannot run %s: program not found (is its package installed? try scripts/install-deps)",
				       qa[0]);
		return lab_err(LAB_ESPAWN, "cannot run %s: %s", qa[0], strerror(e));
	}
	q->pid = pid;
	q->child = true;
	lab_debug("qemu: started %s as pid %d in %s", qa[0], (int)pid, q->dir);
	return 0;
fail:
	close(logfd);
	free(argv);
	strbuf_release(&chardev);
	return lab_err_errno(e, "cannot run %s", qa[0]);
}

/* ------------------------------------------------------------ QMP */

static void handle_event(struct qemu *q, const struct qmp_msg *m)
{
	power_emit(q->dev, m->event, m->reason);
}

/*
 * Read QMP until a reply with id want (moved to *reply) arrives, or
 * until deadline (ms, monotonic).  deadline 0: only what is there now.
 * Events met on the way are reported.  want < 0: no reply wanted.
 * EOF reaps the process (EXIT); with a reply wanted that is an error.
 */
static int pump(struct qemu *q, long long want, int64_t deadline,
		struct qmp_msg *reply)
{
	char buf[8192];

	for (;;) {
		ssize_t n;
		char *nl;

		while (q->in.len && (nl = memchr(q->in.buf, '\n', q->in.len))) {
			size_t len = (size_t)(nl - q->in.buf) + 1;
			struct qmp_msg m;
			bool match;

			qmp_parse_line(q->in.buf, len, &m);
			match = want >= 0 && m.id == want &&
				(m.kind == QMP_RETURN || m.kind == QMP_ERROR);
			if (m.kind == QMP_BAD)
				lab_debug("qemu: QMP sent something that is not JSON: %.*s",
					  (int)len, q->in.buf);
			/* Consumed before the callback, which may call us. */
			memmove(q->in.buf, q->in.buf + len, q->in.len - len);
			strbuf_setlen(&q->in, q->in.len - len);
			if (m.kind == QMP_EVENT)
				handle_event(q, &m);
			if (match && reply) {
				*reply = m;
				return 0;
			}
			qmp_msg_release(&m);
			if (match)
				return 0;
		}
		if (q->in.len > MAX_QMP_LINE) {
			qmp_disconnect(q);
			return lab_err(LAB_EINFRA, "QMP line longer than %d bytes from QEMU in %s",
				       MAX_QMP_LINE, q->dir);
		}
		if (q->qmp < 0)
			return want >= 0 ? lab_err(LAB_EINFRA,
						   "QEMU in %s is not running (it exited)",
						   q->dir) : 0;
		if (deadline) {
			int64_t left = deadline - lab_mono_ms();
			struct pollfd pfd = { q->qmp, POLLIN, 0 };
			int rc;

			if (left <= 0)
				return lab_err(LAB_ETIMEDOUT,
					       "QEMU in %s did not answer on QMP in time",
					       q->dir);
			rc = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
			if (rc < 0 && errno != EINTR)
				return lab_err_errno(errno, "poll on QMP");
			if (rc <= 0)
				continue;
		}
		n = recv(q->qmp, buf, sizeof(buf), 0);
		if (n > 0) {
			strbuf_add(&q->in, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!deadline)
				return 0;
			continue;
		}
		/* EOF (or a reset connection): QEMU is going away. */
		if (n < 0)
			lab_debug("qemu: QMP: %s", strerror(errno));
		qemu_ended(q);
	}
}

static int qmp_send(struct qemu *q, const char *text, size_t len)
{
	int64_t deadline = lab_mono_ms() + CMD_TIMEOUT_MS;
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(q->qmp, text + off, len - off, MSG_NOSIGNAL);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && lab_mono_ms() < deadline) {
			struct pollfd pfd = { q->qmp, POLLOUT, 0 };

			poll(&pfd, 1, 100);
			continue;
		}
		return lab_err_errno(n < 0 ? errno : EIO,
				     "cannot send to QEMU's QMP socket %s", q->qmp_path);
	}
	return 0;
}

/*
 * Run a command within timeout_ms.  reply (may be NULL) gets the parsed
 * reply, to be released by the caller when this returns 0.
 */
static int qmp_cmd_within(struct qemu *q, const char *cmd,
			  struct qmp_msg *reply, int64_t timeout_ms)
{
	struct qmp_msg m;
	char *line;
	long long id;
	int ret;

	if (q->qmp < 0)
		return lab_err(LAB_EINFRA, "QEMU in %s is not running", q->dir);
	id = ++q->next_id;
	line = qmp_command_line(cmd, id);
	if (!line)
		return lab_err(LAB_ENOMEM, "cannot build the QMP command %s", cmd);
	ret = qmp_send(q, line, strlen(line));
	free(line);
	if (!ret)
		ret = pump(q, id, lab_mono_ms() + timeout_ms, &m);
	if (!ret) {
		if (m.kind == QMP_ERROR)
			ret = lab_err(LAB_EINFRA, "QEMU refused %s: %s (%s)", cmd,
				      m.err_desc, m.err_class);
		if (!ret && reply)
			*reply = m;
		else
			qmp_msg_release(&m);
	}
	return ret;
}

static int qmp_cmd(struct qemu *q, const char *cmd, struct qmp_msg *reply)
{
	return qmp_cmd_within(q, cmd, reply, CMD_TIMEOUT_MS);
}

static int qmp_status(struct qemu *q, char *status, size_t size)
{
	struct qmp_msg m;
	int ret = qmp_cmd(q, "query-status", &m);

	if (!ret) {
		snprintf(status, size, "%s", m.status);
		qmp_msg_release(&m);
	}
	return ret;
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

/*
 * Connect to QMP and do the handshake, by deadline.  While the socket is
 * not there yet, a child that exits is an error with its log.
 */
static int qmp_connect(struct qemu *q, int64_t deadline)
{
	struct qmp_msg m;
	int fd, ret, status;

	for (;;) {
		fd = connect_unix(q->qmp_path);
		if (fd >= 0)
			break;
		if (fd != -ENOENT && fd != -ECONNREFUSED)
			return lab_err_errno(-fd, "cannot connect to QEMU's QMP socket %s",
					     q->qmp_path);
		if (q->pid && wait_gone(q, q->pid, 0, &status)) {
			struct strbuf why = STRBUF_INIT;

			if (status != -1 && WIFEXITED(status))
				strbuf_addf(&why, " with status %d",
					    WEXITSTATUS(status));
			else if (status != -1 && WIFSIGNALED(status))
				strbuf_addf(&why, " by signal %d",
					    WTERMSIG(status));
			strbuf_addstr(&why, " before its QMP socket appeared");
			log_tail(q, &why);
			ret = lab_err(LAB_EINFRA, "QEMU exited%s", strbuf_str(&why));
			strbuf_release(&why);
			report_exit(q, status);
			forget_process(q);
			return ret;
		}
		if (lab_mono_ms() >= deadline)
			return lab_err(LAB_ETIMEDOUT,
				       "QEMU's QMP socket %s did not appear in time",
				       q->qmp_path);
		lab_sleep_ms(5);
	}
	q->qmp = fd;
	strbuf_reset(&q->in);
	{
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

		if (epoll_ctl(q->efd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			ret = lab_err_errno(errno, "epoll_ctl on QMP socket");
			qmp_disconnect(q);
			return ret;
		}
	}
	/* The greeting: the first line, before any command. */
	for (;;) {
		char *nl = q->in.len ? memchr(q->in.buf, '\n', q->in.len) : NULL;

		if (nl) {
			size_t len = (size_t)(nl - q->in.buf) + 1;
			enum qmp_kind k = qmp_parse_line(q->in.buf, len, &m);

			qmp_msg_release(&m);

			memmove(q->in.buf, q->in.buf + len, q->in.len - len);
			strbuf_setlen(&q->in, q->in.len - len);
			if (k == QMP_GREETING)
				break;
			qmp_disconnect(q);
			return lab_err(LAB_EINFRA,
				       "%s does not greet like QEMU's QMP", q->qmp_path);
		}
		struct pollfd pfd = { q->qmp, POLLIN, 0 };
		int64_t left = deadline - lab_mono_ms();
		char buf[4096];
		ssize_t n;

		if (left <= 0) {
			qmp_disconnect(q);
			return lab_err(LAB_EBUSY,
				       "QEMU in %s sent no QMP greeting in time (is another labctl connected to it?)",
				       q->dir);
		}
		if (poll(&pfd, 1, (int)(left > 1000 ? 1000 : left)) <= 0)
			continue;
		n = recv(q->qmp, buf, sizeof(buf), 0);
		if (n > 0) {
			strbuf_add(&q->in, buf, (size_t)n);
		} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
			qmp_disconnect(q);
			return lab_err(LAB_EINFRA, "QEMU in %s closed QMP during the greeting",
				       q->dir);
		}
	}
	ret = qmp_cmd(q, "qmp_capabilities", NULL);
	if (ret)
		qmp_disconnect(q);
	return ret;
}

/* Start QEMU paused and connect QMP. */
static int start_qemu(struct qemu *q)
{
	int ret = spawn_qemu(q);

	if (ret)
		return ret;
	ret = qmp_connect(q, lab_mono_ms() + q->start_timeout_ms);
	if (ret && q->pid)
		kill_qemu(q, q->pid, 500);
	return ret;
}

/* ------------------------------------------------------------ ops */

static bool is_off_state(const char *status)
{
	return !strcmp(status, "prelaunch") || !strcmp(status, "shutdown");
}

/* Before cont: every socket chardev (the console) has its client. */
static void wait_consoles(struct qemu *q)
{
	int64_t deadline = lab_mono_ms() + q->console_wait_ms;
	char label[128] = "";

	if (q->console_wait_ms <= 0)
		return;
	for (;;) {
		struct qmp_msg m;
		bool unconnected;

		if (qmp_cmd(q, "query-chardev", &m)) {
			lab_err_clear();
			break;
		}
		unconnected = qmp_chardev_unconnected(m.ret, QMP_LABEL, label,
						      sizeof(label));
		qmp_msg_release(&m);
		if (!unconnected) {
			label[0] = '\0';
			break;
		}
		if (lab_mono_ms() >= deadline)
			break;
		lab_sleep_ms(5);
	}
	if (label[0])
		lab_warn("QEMU chardev %s has no client after %lld ms: what the board sends there before one connects is lost",
			 label, (long long)q->console_wait_ms);
}

static int qemu_on(struct power_dev *dev)
{
	struct qemu *q = dev->priv;
	char status[64];
	int ret;

	if (q->qmp < 0) {
		ret = start_qemu(q);
		if (ret)
			return ret;
	}
	ret = qmp_status(q, status, sizeof(status));
	if (ret)
		return ret;
	if (!strcmp(status, "running"))
		return 0;
	if (!strcmp(status, "shutdown")) {
		/* Stopped after a guest shutdown (-action shutdown=pause):
		 * powering on again boots from scratch. */
		ret = qmp_cmd(q, "system_reset", NULL);
		if (ret)
			return ret;
	}
	wait_consoles(q);
	return qmp_cmd(q, "cont", NULL);
}

static int qemu_off(struct power_dev *dev)
{
	struct qemu *q = dev->priv;
	int64_t deadline = lab_mono_ms() + q->quit_timeout_ms;
	int ret;

	if (q->qmp >= 0) {
		ret = qmp_cmd_within(q, "quit", NULL, q->quit_timeout_ms);
		if (ret)
			lab_debug("qemu: quit: %s", lab_errmsg(ret));
		/* Then the EOF, which reaps it (EXIT). */
		while (q->qmp >= 0 && lab_mono_ms() < deadline) {
			ret = pump(q, -1, deadline, NULL);
			if (ret == -LAB_ETIMEDOUT)
				break;
		}
	}
	qmp_disconnect(q);
	if (q->pid) {
		lab_warn("QEMU pid %d in %s did not quit within %lld ms: killing it",
			 (int)q->pid, q->dir, (long long)q->quit_timeout_ms);
		kill_qemu(q, q->pid, 200);
	}
	lab_err_clear();
	return 0;
}

static int qemu_reset(struct power_dev *dev)
{
	struct qemu *q = dev->priv;

	if (q->qmp < 0)
		return lab_err(LAB_EINFRA,
			       "cannot reset the QEMU board in %s: it is off (power it on first)",
			       q->dir);
	return qmp_cmd(q, "system_reset", NULL);
}

static int qemu_cycle(struct power_dev *dev)
{
	struct qemu *q = dev->priv;
	char status[64];
	int ret;

	if (q->qmp < 0)
		return qemu_on(dev);
	ret = qmp_status(q, status, sizeof(status));
	if (ret)
		return ret;
	if (is_off_state(status))
		return qemu_on(dev);
	ret = qmp_cmd(q, "system_reset", NULL);
	if (!ret && strcmp(status, "running"))
		ret = qmp_cmd(q, "cont", NULL);
	return ret;
}

static int qemu_status(struct power_dev *dev, enum power_state *state)
{
	struct qemu *q = dev->priv;
	char status[64];
	int ret;

	/* Take in what has arrived (an EOF means it is gone). */
	if (q->qmp >= 0)
		pump(q, -1, 0, NULL);
	if (q->qmp < 0) {
		*state = POWER_OFF;
		return 0;
	}
	ret = qmp_status(q, status, sizeof(status));
	if (ret) {
		if (q->qmp < 0) {	/* it exited meanwhile */
			lab_err_clear();
			*state = POWER_OFF;
			return 0;
		}
		return ret;
	}
	*state = is_off_state(status) ? POWER_OFF : POWER_ON;
	return 0;
}

static int qemu_press(struct power_dev *dev, bool long_press)
{
	struct qemu *q = dev->priv;
	enum power_state st;
	int ret;

	if (long_press)
		return qemu_off(dev);
	ret = qemu_status(dev, &st);
	if (ret)
		return ret;
	if (st == POWER_OFF)
		return qemu_on(dev);
	return qmp_cmd(q, "system_powerdown", NULL);
}

/*
 * An epoll fd holding the QMP socket of whichever QEMU runs: the same fd
 * for the device's whole life, readable when QMP has something, never
 * readable while no QEMU runs.
 */
static int qemu_event_fd(struct power_dev *dev)
{
	struct qemu *q = dev->priv;

	return q->efd;
}

static int qemu_dispatch(struct power_dev *dev)
{
	struct qemu *q = dev->priv;

	if (q->qmp < 0)
		return 0;
	return pump(q, -1, 0, NULL);
}

/*
 * --dry-run: the QMP commands as they would be sent (without their "id"),
 * after the QEMU command line when QEMU would be started first.  Sends
 * nothing, starts nothing.
 */
static void describe_qmp(struct strbuf *out, const char *cmd)
{
	char *line = qmp_command_line(cmd, -1);

	strbuf_addstr(out, line ? line : "");
	free(line);
}

/* The command line exactly as start_qemu builds it. */
static void describe_start(struct qemu *q, struct strbuf *out)
{
	const char *const *qa = q->dev->cfg.emulator_argv;
	struct strbuf chardev = STRBUF_INIT;
	const char **argv;
	int n;

	for (n = 0; qa && qa[n]; n++)
		;
	argv = qemu_full_argv(q, qa, n, &chardev);
	strbuf_addstr(out, "start ");
	sh_quote_argv(out, argv);
	strbuf_addch(out, '\n');
	free(argv);
	strbuf_release(&chardev);
}

static int qemu_describe(struct power_dev *dev, const char *action,
			 struct strbuf *out)
{
	struct qemu *q = dev->priv;
	bool running = q->qmp >= 0;

	if (!strcmp(action, "on") || (!strcmp(action, "cycle") && !running) ||
	    (!strcmp(action, "press") && !running)) {
		if (!running && (!dev->cfg.emulator_argv || !dev->cfg.emulator_argv[0]))
			return lab_err(LAB_ECONFIG,
				       "power driver qemu needs a QEMU command line (the board's emulator_argv)");
		if (!running)
			describe_start(q, out);
		describe_qmp(out, "cont");
	} else if (!strcmp(action, "off") || !strcmp(action, "press long")) {
		if (running)
			describe_qmp(out, "quit");
		else
			strbuf_addstr(out, "nothing: QEMU is not running\n");
	} else if (!strcmp(action, "cycle")) {
		describe_qmp(out, "system_reset");
	} else if (!strcmp(action, "reset")) {
		if (!running)
			return lab_err(LAB_EINFRA,
				       "cannot reset the QEMU board in %s: it is off (power it on first)",
				       q->dir);
		describe_qmp(out, "system_reset");
	} else if (!strcmp(action, "press")) {
		describe_qmp(out, "system_powerdown");
	} else if (!strcmp(action, "status")) {
		if (running)
			describe_qmp(out, "query-status");
		else
			strbuf_addstr(out, "nothing: QEMU is not running (off)\n");
	} else {
		return lab_err(LAB_EINVAL, "power driver qemu: no action '%s'",
			       action);
	}
	return 0;
}

/* ------------------------------------------------------------ open/close */

static int duration_key(struct power_dev *dev, const char *key, int64_t def,
			int64_t *ms)
{
	const char *v = power_param(dev, key);
	int ret;

	*ms = def;
	if (!v)
		return 0;
	ret = lab_parse_duration_ms(v, ms);
	if (ret)
		return lab_err(LAB_ECONFIG, "power driver qemu: %s=%s: %s", key,
			       v, lab_errmsg(ret));
	return 0;
}

static void qemu_free(struct qemu *q)
{
	qmp_disconnect(q);
	if (q->efd >= 0)
		close(q->efd);
	strbuf_release(&q->in);
	free(q->dir);
	free(q->qmp_path);
	free(q->pid_path);
	free(q->log_path);
	free(q);
}

static int qemu_open(struct power_dev *dev, const struct power_config *cfg)
{
	struct sockaddr_un sa;
	struct qemu *q;
	char *dir;
	pid_t old;
	int ret;

	if (!cfg->state_dir || !*cfg->state_dir)
		return lab_err(LAB_ECONFIG, "power driver qemu needs a state directory");
	if (mkdir(cfg->state_dir, 0700) < 0 && errno != EEXIST)
		return lab_err_errno(errno, "cannot create %s", cfg->state_dir);
	dir = realpath(cfg->state_dir, NULL);
	if (!dir)
		return lab_err_errno(errno, "cannot resolve %s", cfg->state_dir);

	q = xzalloc(sizeof(*q));
	q->dev = dev;
	q->dir = dir;
	q->qmp = -1;
	q->efd = epoll_create1(EPOLL_CLOEXEC);
	q->qmp_path = xasprintf("%s/qmp.sock", dir);
	q->pid_path = xasprintf("%s/qemu.pid", dir);
	q->log_path = xasprintf("%s/qemu.log", dir);
	dev->priv = q;
	if (q->efd < 0) {
		ret = lab_err_errno(errno, "epoll_create1");
		goto fail;
	}
	if (strlen(q->qmp_path) >= sizeof(sa.sun_path)) {
		ret = lab_err(LAB_ECONFIG,
			      "state directory %s is too long for a unix socket path (at most %zu bytes)",
			      dir, sizeof(sa.sun_path) - 10);
		goto fail;
	}
	if ((ret = power_param_bool(dev, "attach", false, &q->attach)) ||
	    (ret = power_param_bool(dev, "keep", false, &q->keep)) ||
	    (ret = duration_key(dev, "console_wait", 1000, &q->console_wait_ms)) ||
	    (ret = duration_key(dev, "start_timeout", 10000, &q->start_timeout_ms)) ||
	    (ret = duration_key(dev, "quit_timeout", 2000, &q->quit_timeout_ms)))
		goto fail;
	if (!power_param(dev, "keep"))
		q->keep = q->attach;

	old = find_running(q);
	if (old && q->attach) {
		q->pid = old;
		q->child = false;
		/* A QEMU that is up greets at once; no greeting means another
		 * client holds its QMP (QEMU serves one at a time). */
		ret = qmp_connect(q, lab_mono_ms() +
				  (q->start_timeout_ms < 2000 ? q->start_timeout_ms : 2000));
		if (ret) {
			q->pid = 0;
			goto fail;
		}
		lab_debug("qemu: attached to pid %d in %s", (int)old, dir);
		return 0;
	}
	if (old) {
		lab_warn("killing QEMU pid %d left running in %s by an earlier labctl",
			 (int)old, dir);
		kill_qemu(q, old, 1000);
	}
	unlink(q->pid_path);
	unlink(q->qmp_path);
	if (q->attach)
		return 0;	/* off; on() starts it */
	ret = start_qemu(q);
	if (ret)
		goto fail;
	return 0;
fail:
	dev->priv = NULL;
	qemu_free(q);
	return ret;
}

static void qemu_close(struct power_dev *dev)
{
	struct qemu *q = dev->priv;
	enum power_state st = POWER_OFF;

	if (!q)
		return;
	if (q->keep && q->qmp >= 0 && !qemu_status(dev, &st) &&
	    st == POWER_ON) {
		lab_debug("qemu: leaving pid %d running in %s", (int)q->pid, q->dir);
	} else if (q->qmp >= 0 || q->pid) {
		qemu_off(dev);
	}
	lab_err_clear();
	dev->priv = NULL;
	qemu_free(q);
}

/* The keys this driver takes in a lab file's [power] section, declared once
 * here: labctl/labconf.c checks and shows them from this table. */
static const struct lab_key_def qemu_lab_keys[] = {
	{ "power", "attach", KEY_BOOL, "no", NULL, 0, 0, NULL,
	  "use the board's running QEMU instead of stopping it" },
	{ "power", "keep", KEY_BOOL, NULL, NULL, 0, 0, NULL,
	  "leave QEMU running when labctl ends (default: the value of attach)" },
	{ "power", "console_wait", KEY_DURATION, "1s", NULL, 0, 0, NULL,
	  "how long power-on waits for the console to be connected" },
	{ "power", "start_timeout", KEY_DURATION, "10s", NULL, 0, 0, NULL,
	  "how long QEMU may take to start and answer QMP" },
	{ "power", "quit_timeout", KEY_DURATION, "2s", NULL, 0, 0, NULL,
	  "how long QEMU may take to quit before it is killed" },
	{ NULL, NULL, 0, NULL, NULL, 0, 0, NULL, NULL }
};

const struct power_driver power_driver_qemu = {
	.name = "qemu",
	.description = "a QEMU process driven over QMP (the virtual board)",
	.caps = POWER_CAP_ON | POWER_CAP_OFF | POWER_CAP_CYCLE |
		POWER_CAP_RESET | POWER_CAP_STATUS | POWER_CAP_PRESS |
		POWER_CAP_EVENTS,
	.keys = qemu_keys,
	.lab_keys = qemu_lab_keys,
	.open = qemu_open,
	.close = qemu_close,
	.on = qemu_on,
	.off = qemu_off,
	.cycle = qemu_cycle,
	.reset = qemu_reset,
	.status = qemu_status,
	.press = qemu_press,
	.event_fd = qemu_event_fd,
	.dispatch = qemu_dispatch,
	.describe = qemu_describe,
};
