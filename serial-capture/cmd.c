// SPDX-License-Identifier: MIT
/*
 * serial-capture/cmd: the stdout of a local command is the console (e.g.
 * `ipmitool sol activate`, `amtterm`, a script).  Key: command, split on
 * spaces (no shell, no quoting); argv[0] is looked up in PATH.  stdin is
 * /dev/null, stderr is labctl's.  The command runs in its own process
 * group and dies with labctl (PDEATHSIG); close kills the group.  Its end
 * (EOF on the pipe) is read returning 0.  A command that cannot be
 * started is an error of open, not an empty console.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "console.h"
#include "lib/err.h"
#include "lib/spawn.h"
#include "lib/xmalloc.h"

struct cmd_con {
	int fd;
	pid_t pid;
	char *name;
};

static char **split_words(const char *s, int *n)
{
	char **v = NULL;
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

static void free_words(char **v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int cmd_open(struct console *con, const struct console_config *cfg)
{
	const char *command = lab_param_get(cfg->params, cfg->nparams, "command");
	int out[2], err[2], n, e = 0, ret = 0;
	struct cmd_con *c;
	char **argv;
	ssize_t r;
	pid_t pid;

	if (!command || !*command)
		return lab_err(LAB_ECONFIG,
			       "console driver cmd needs command (e.g. command = ipmitool -I lanplus -H bmc sol activate)");
	argv = split_words(command, &n);
	if (!n) {
		free_words(argv, n);
		return lab_err(LAB_ECONFIG, "console driver cmd: command is empty");
	}
	if (pipe2(out, O_CLOEXEC) < 0) {
		free_words(argv, n);
		return lab_err_errno(errno, "console cmd: cannot create a pipe");
	}
	if (pipe2(err, O_CLOEXEC) < 0) {
		close(out[0]);
		close(out[1]);
		free_words(argv, n);
		return lab_err_errno(errno, "console cmd: cannot create a pipe");
	}
	pid = fork();
	if (pid < 0) {
		e = errno;
		close(out[0]);
		close(out[1]);
		close(err[0]);
		close(err[1]);
		free_words(argv, n);
		return lab_err_errno(e, "console cmd: cannot fork");
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (null >= 0)
			dup2(null, 0);
		dup2(out[1], 1);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		e = errno;
		if (write(err[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	setpgid(pid, pid);
	close(out[1]);
	close(err[1]);
	do
		r = read(err[0], &e, sizeof(e));
	while (r < 0 && errno == EINTR);
	close(err[0]);
	if (r == (ssize_t)sizeof(e)) {
		ret = lab_err_errno(e, "console cmd: cannot run %s: %s", argv[0],
				    strerror(e));
		waitpid(pid, NULL, 0);
		close(out[0]);
		free_words(argv, n);
		return ret;
	}
	fcntl(out[0], F_SETFL, fcntl(out[0], F_GETFL) | O_NONBLOCK);
	c = xzalloc(sizeof(*c));
	c->fd = out[0];
	c->pid = pid;
	c->name = xstrdup(argv[0]);
	free_words(argv, n);
	con->priv = c;
	return 0;
}

static void cmd_close(struct console *con)
{
	struct cmd_con *c = con->priv;

	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	if (c->pid > 0) {
		lab_kill_group(c->pid, 500);
		while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	free(c->name);
	free(c);
	con->priv = NULL;
}

static ssize_t cmd_read(struct console *con, void *buf, size_t len)
{
	struct cmd_con *c = con->priv;

	return console_fd_read(c->fd, buf, len, "the output of", c->name);
}

static int cmd_fd(struct console *con)
{
	struct cmd_con *c = con->priv;

	return c->fd;
}

static const char *const cmd_keys[] = { "command", NULL };

const struct console_driver console_driver_cmd = {
	.name = "cmd",
	.description = "stdout of a local command (argv split on spaces, no shell)",
	.keys = cmd_keys,
	.open = cmd_open,
	.close = cmd_close,
	.read = cmd_read,
	.fd = cmd_fd,
};
