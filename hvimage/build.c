// SPDX-License-Identifier: MIT
/*
 * hv_build(): parallel variant builds with a live progress display.
 *
 * One worker thread per parallel build takes the next queued variant,
 * checks its cache, and builds it (recipe.c).  Build steps are started
 * with lab_spawn_fds (lib/spawn: no terminal, dying with labctl) in their
 * own process group with their output appended to the variant's log, so
 * the log grows while the build runs.  The main thread only draws the
 * progress and enforces timeouts and interrupts by killing process groups.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hvimage/build_priv.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/paths.h"
#include "lib/shquote.h"
#include "lib/spawn.h"
#include "lib/stopsig.h"
#include "lib/xmalloc.h"

#define DEFAULT_TIMEOUT_MS (30 * 60 * 1000)
#define KILL_GRACE_MS 2000
#define TICK_MS 100

extern char **environ;

/* ------------------------------------------------------------ small API */

const char *hv_build_state_name(enum hv_build_state s)
{
	switch (s) {
	case HV_QUEUED:
		return "queued";
	case HV_BUILDING:
		return "building";
	case HV_CACHED:
		return "cached";
	case HV_DONE:
		return "done";
	case HV_FAILED:
		return "failed";
	}
	return "?";
}

const char *hv_default_images_dir(void)
{
	const char *e = getenv("LABCTL_IMAGES");

	return e && *e ? e : "images";
}

bool hv_valid_variant_name(const char *name)
{
	size_t i, len = strlen(name);

	if (!len || len > HV_VARIANT_NAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return false;
	}
	return true;
}

char *hv_expand_home(const char *path)
{
	const char *home = getenv("HOME");

	if (path[0] == '~' && (path[1] == '/' || !path[1]) && home && *home)
		return xasprintf("%s%s", home, path + 1);
	return xstrdup(path);
}

static bool is_standin_tree(const char *dir)
{
	char *mk = xasprintf("%s/Makefile", dir), *hs = xasprintf("%s/head.S", dir);
	bool ok = access(mk, R_OK) == 0 && access(hs, R_OK) == 0;

	free(mk);
	free(hs);
	return ok;
}

char *hv_find_hypervisor_dir(void)
{
	const char *env = getenv("LABCTL_HYPERVISOR_DIR");
	char exe[PATH_MAX], *cand = NULL, *abs;
	ssize_t n;

	if (env && *env) {
		if (!is_standin_tree(env)) {
			lab_err(LAB_ECONFIG,
				"LABCTL_HYPERVISOR_DIR=%s is not the stand-in hypervisor's source directory (no Makefile and head.S there)",
				env);
			return NULL;
		}
		cand = xstrdup(env);
	}
	if (!cand && is_standin_tree("hypervisor"))
		cand = xstrdup("hypervisor");
	if (!cand) {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n > 0) {
			char *slash;
			int up;

			exe[n] = 0;
			/* <top>/build/<kind>/bin/labctl -> <top> */
			for (up = 0; up < 4 && (slash = strrchr(exe, '/')); up++)
				*slash = 0;
			if (up == 4) {
				char *d = xasprintf("%s/hypervisor", exe);

				if (is_standin_tree(d))
					cand = d;
				else
					free(d);
			}
		}
	}
	if (!cand) {
		char *d = xasprintf("%s/hypervisor", lab_data_dir());

		if (is_standin_tree(d))
			cand = d;
		else
			free(d);
	}
	if (!cand) {
		lab_err(LAB_ECONFIG,
			"cannot find the stand-in hypervisor's sources (./hypervisor, or set LABCTL_HYPERVISOR_DIR)");
		return NULL;
	}
	abs = realpath(cand, NULL);
	if (!abs) {
		lab_err_errno(errno, "cannot resolve %s", cand);
		free(cand);
		return NULL;
	}
	free(cand);
	return abs;
}

void hv_build_result_release(struct hv_build_result *r)
{
	free(r->source_rev);
	free(r->log_path);
	free(r->dir);
	free(r->error);
	r->source_rev = r->log_path = r->dir = r->error = NULL;
}

/* ------------------------------------------------------------ processes */

void hv_job_log(struct hv_job *j, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	if (j->log_fd < 0)
		strbuf_add(&j->prelog, sb.buf, sb.len);
	else if (write(j->log_fd, sb.buf, sb.len) < 0) {
		/* A log we cannot write is not a reason to fail the build. */
	}
	strbuf_release(&sb);
}

static void log_command(struct hv_job *j, const char *const *argv,
			const char *cwd)
{
	struct strbuf sb = STRBUF_INIT;

	sh_quote_argv(&sb, argv);
	if (cwd)
		hv_job_log(j, "$ (cd %s) %s\n", cwd, sb.buf);
	else
		hv_job_log(j, "$ %s\n", sb.buf);
	strbuf_release(&sb);
}

/*
 * Start argv in a new process group (lib/spawn: no terminal, dies with
 * labctl): stdin in_fd (or /dev/null), stdout out_fd (or the log), stderr
 * err_fd (or the log).  Returns the pid or <0.
 */
static pid_t job_spawn(struct hv_job *j, const char *const *argv,
		       const char *cwd, int in_fd, int out_fd, int err_fd)
{
	struct spawn_opts so = { .cwd = cwd, .env = j->ctx->env };
	int fds[3] = { in_fd, out_fd >= 0 ? out_fd : j->log_fd,
		       err_fd >= 0 ? err_fd : j->log_fd };

	return lab_spawn_fds(argv, &so, fds);
}

/* From now on the main thread kills pid's group on timeout or interrupt. */
static void job_track(struct hv_job *j, pid_t pid)
{
	struct hv_ctx *ctx = j->ctx;

	pthread_mutex_lock(&ctx->lock);
	j->pid = pid;
	j->killed = j->timed_out = false;
	j->deadline = lab_mono_ms() + ctx->timeout_ms;
	pthread_mutex_unlock(&ctx->lock);
}

/* Wait for a tracked pid (its group may be killed meanwhile); reap it. */
static int job_wait(struct hv_job *j, pid_t pid, const char *prog)
{
	struct hv_ctx *ctx = j->ctx;
	bool killed, timed_out;
	siginfo_t si;
	int status = 0;

	/* WNOWAIT: the zombie keeps the pid (and group id) ours until the
	 * main thread can no longer kill by it. */
	while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0 &&
	       errno == EINTR)
		;
	/* Leftovers of the step (daemons, stuck children) go with it. */
	kill(-pid, SIGKILL);
	pthread_mutex_lock(&ctx->lock);
	j->pid = 0;
	killed = j->killed;
	timed_out = j->timed_out;
	pthread_mutex_unlock(&ctx->lock);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timed_out)
		return lab_err(LAB_ETIMEDOUT, "%s did not finish within %lld s",
			       prog, (long long)(ctx->timeout_ms / 1000));
	if (killed)
		return lab_err(LAB_EINTR, "%s was interrupted", prog);
	if (WIFSIGNALED(status))
		return lab_err(LAB_EPROGRAM, "%s was killed by signal %d", prog,
			       WTERMSIG(status));
	if (WIFEXITED(status) && WEXITSTATUS(status))
		return lab_err(LAB_EPROGRAM, "%s exited with status %d", prog,
			       WEXITSTATUS(status));
	return 0;
}

static bool job_stopped(struct hv_job *j)
{
	bool stop;

	pthread_mutex_lock(&j->ctx->lock);
	stop = j->ctx->stop;
	pthread_mutex_unlock(&j->ctx->lock);
	return stop;
}

int hv_job_run(struct hv_job *j, const char *const *argv, const char *cwd)
{
	pid_t pid;

	if (job_stopped(j))
		return lab_err(LAB_EINTR, "interrupted");
	log_command(j, argv, cwd);
	pid = job_spawn(j, argv, cwd, -1, -1, -1);
	if (pid < 0) {
		hv_job_log(j, "labctl: %s\n", lab_errmsg(pid));
		return pid;
	}
	job_track(j, pid);
	return job_wait(j, pid, argv[0]);
}

/* A writer thread feeds stdin, so a large diff cannot deadlock us. */
struct feeder {
	int fd;
	const char *data;
	size_t len;
};

static void *feed(void *arg)
{
	struct feeder *f = arg;
	size_t off = 0;

	while (off < f->len) {
		ssize_t n = write(f->fd, f->data + off, f->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(f->fd);
	return NULL;
}

static void close_pair(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	p[0] = p[1] = -1;
}

/* Read both pipes to their ends. */
static void read_both(int out_fd, struct strbuf *out, int err_fd,
		      struct strbuf *err)
{
	struct pollfd pfd[2] = { { out_fd, POLLIN, 0 }, { err_fd, POLLIN, 0 } };
	struct strbuf *dst[2] = { out, err };
	char buf[65536];
	int open_fds = 2, i;

	while (open_fds) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < 2; i++) {
			ssize_t n;

			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			n = read(pfd[i].fd, buf, sizeof(buf));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				pfd[i].fd = -1;
				open_fds--;
				continue;
			}
			strbuf_add(dst[i], buf, (size_t)n);
		}
	}
}

int hv_job_capture(struct hv_job *j, const char *const *argv,
		   const void *in, size_t in_len, struct strbuf *out)
{
	int inp[2] = { -1, -1 }, outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	struct strbuf sink = STRBUF_INIT, err = STRBUF_INIT;
	struct feeder f;
	pthread_t feeder;
	bool fed = false;
	pid_t pid;
	int ret;

	if (job_stopped(j))
		return lab_err(LAB_EINTR, "interrupted");
	log_command(j, argv, NULL);
	if ((in && pipe2(inp, O_CLOEXEC) < 0) || pipe2(outp, O_CLOEXEC) < 0 ||
	    pipe2(errp, O_CLOEXEC) < 0) {
		ret = lab_err_errno(errno, "cannot run %s", argv[0]);
		goto out;
	}
	pid = job_spawn(j, argv, NULL, inp[0], outp[1], errp[1]);
	if (inp[0] >= 0)
		close(inp[0]);
	close(outp[1]);
	close(errp[1]);
	inp[0] = outp[1] = errp[1] = -1;
	if (pid < 0) {
		hv_job_log(j, "labctl: %s\n", lab_errmsg(pid));
		ret = pid;
		goto out;
	}
	/* Tracked before reading: a hung helper is killed by the timeout,
	 * which ends its output too. */
	job_track(j, pid);
	if (in) {
		f = (struct feeder){ inp[1], in, in_len };
		inp[1] = -1;
		fed = pthread_create(&feeder, NULL, feed, &f) == 0;
		if (!fed)
			close(f.fd);
	}
	read_both(outp[0], out ? out : &sink, errp[0], &err);
	if (fed)
		pthread_join(feeder, NULL);
	ret = job_wait(j, pid, argv[0]);
	if (err.len)
		hv_job_log(j, "%s%s", err.buf,
			   err.buf[err.len - 1] == '\n' ? "" : "\n");
	if (ret == -LAB_EPROGRAM && err.len) {
		const char *tail;
		char *msg = xstrdup(lab_errmsg(ret));

		strbuf_rtrim(&err);
		tail = err.buf + (err.len > 300 ? err.len - 300 : 0);
		ret = lab_err(LAB_EPROGRAM, "%s: %s", msg, tail);
		free(msg);
	}
out:
	close_pair(inp);
	close_pair(outp);
	close_pair(errp);
	strbuf_release(&sink);
	strbuf_release(&err);
	return ret;
}

/* ------------------------------------------------------------ workers */

static void set_state(struct hv_job *j, enum hv_build_state s)
{
	struct hv_ctx *ctx = j->ctx;

	pthread_mutex_lock(&ctx->lock);
	j->state = s;
	if (s == HV_BUILDING || s == HV_QUEUED)
		j->t0 = j->t0 ? j->t0 : lab_mono_ms();
	else
		j->t1 = lab_mono_ms();
	pthread_cond_broadcast(&ctx->cond);
	pthread_mutex_unlock(&ctx->lock);
}

/* Create the log afresh (never truncate: build.log copies must not change). */
static int open_log(struct hv_job *j)
{
	if (j->log_fd >= 0)
		return 0;
	unlink(j->log_path);
	j->log_fd = open(j->log_path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND |
			 O_CLOEXEC, 0644);
	if (j->log_fd < 0)
		return lab_err_errno(errno, "cannot create %s", j->log_path);
	if (j->prelog.len && write(j->log_fd, j->prelog.buf, j->prelog.len) < 0) {
		/* as in hv_job_log */
	}
	strbuf_release(&j->prelog);
	return 0;
}

static void fail_job(struct hv_job *j, int err)
{
	char *msg = xstrdup(lab_errmsg(err));

	if (open_log(j) == 0)
		hv_job_log(j, "labctl: %s: build failed: %s\n", j->v->name, msg);
	pthread_mutex_lock(&j->ctx->lock);
	free(j->error);
	j->error = msg;
	pthread_mutex_unlock(&j->ctx->lock);
	set_state(j, HV_FAILED);
}

/*
 * Build directories "<images>/<name>.tmp-XXXXXX" that a killed build left.
 * Only the holder of the variant's lock builds it, and we hold it now, so
 * every such directory is stale.
 */
static void remove_stale_tmp(struct hv_ctx *ctx, const char *name)
{
	size_t nlen = strlen(name);
	DIR *d = opendir(ctx->images_abs);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char *path;

		if (strncmp(e->d_name, name, nlen) ||
		    strncmp(e->d_name + nlen, ".tmp-", 5) ||
		    strlen(e->d_name + nlen + 5) != 6)
			continue;
		path = xasprintf("%s/%s", ctx->images_abs, e->d_name);
		if (hv_rm_rf(path) == 0)
			lab_debug("removed %s, left by a build that was killed", path);
		free(path);
	}
	closedir(d);
}

static void build_one(struct hv_job *j)
{
	struct hv_ctx *ctx = j->ctx;
	char *lock_path = xasprintf("%s/.locks/%s", ctx->images, j->v->name);
	char *tmp = NULL;
	int lock_fd, ret;
	int64_t t_build;

	pthread_mutex_lock(&ctx->lock);
	j->t0 = lab_mono_ms();
	pthread_mutex_unlock(&ctx->lock);
	lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lock_fd < 0) {
		fail_job(j, lab_err_errno(errno, "cannot create %s", lock_path));
		free(lock_path);
		return;
	}
	/* Another labctl building this variant: wait, then use its result. */
	while (flock(lock_fd, LOCK_EX) < 0 && errno == EINTR)
		;
	remove_stale_tmp(ctx, j->v->name);
	ret = hv_recipe_check(j);
	if (ret == 0)
		ret = hv_recipe_fetch(j);
	if (ret == 1) {
		set_state(j, HV_CACHED);
		goto out;
	}
	if (ret == 0 && job_stopped(j))
		ret = lab_err(LAB_EINTR, "interrupted before it started");
	if (ret < 0) {
		fail_job(j, ret);
		goto out;
	}
	set_state(j, HV_BUILDING);
	t_build = lab_mono_ms();
	ret = open_log(j);
	if (ret < 0) {
		fail_job(j, ret);
		goto out;
	}
	hv_job_log(j, "labctl: building %s (recipe %s) inputs %s\n",
		   j->v->name, j->v->recipe, j->inputs);
	tmp = xasprintf("%s/%s.tmp-XXXXXX", ctx->images_abs, j->v->name);
	if (!mkdtemp(tmp)) {
		fail_job(j, lab_err_errno(errno, "cannot create a directory like %s",
					  tmp));
		goto out;
	}
	chmod(tmp, ctx->dir_mode);	/* mkdtemp makes it 0700 */
	ret = hv_recipe_build(j, tmp);
	if (!ret) {
		hv_job_log(j, "labctl: %s built in %.1f s\n", j->v->name,
			   (double)(lab_mono_ms() - t_build) / 1000);
		ret = hv_install(j, tmp, lab_mono_ms() - t_build);
	}
	if (ret < 0) {
		hv_rm_rf(tmp);
		fail_job(j, ret);
		goto out;
	}
	set_state(j, HV_DONE);
out:
	if (j->log_fd >= 0)
		close(j->log_fd);
	j->log_fd = -1;
	close(lock_fd);
	free(lock_path);
	free(tmp);
}

static void *worker(void *arg)
{
	struct hv_ctx *ctx = arg;

	pthread_mutex_lock(&ctx->lock);
	while (!ctx->stop && ctx->next < ctx->n) {
		struct hv_job *j = &ctx->jobs[ctx->next++];

		pthread_mutex_unlock(&ctx->lock);
		build_one(j);
		pthread_mutex_lock(&ctx->lock);
		ctx->finished++;
		pthread_cond_broadcast(&ctx->cond);
	}
	pthread_mutex_unlock(&ctx->lock);
	return NULL;
}

/* ------------------------------------------------------------ progress */

static void fmt_secs(char *buf, size_t size, int64_t ms)
{
	if (ms < 100000)
		snprintf(buf, size, "%.1fs", (double)ms / 1000);
	else
		snprintf(buf, size, "%llds", (long long)(ms / 1000));
}

/* Under ctx->lock. */
static void job_line(const struct hv_job *j, int64_t now, struct strbuf *out,
		     bool plain)
{
	char t[32] = "";

	if (j->state == HV_BUILDING)
		fmt_secs(t, sizeof(t), now - j->t0);
	else if (j->state == HV_DONE || j->state == HV_FAILED)
		fmt_secs(t, sizeof(t), j->t1 - j->t0);
	if (plain) {
		strbuf_addf(out, "%s: %s", j->v->name, hv_build_state_name(j->state));
		if (j->state == HV_DONE || j->state == HV_FAILED)
			strbuf_addf(out, " %s", t);
	} else {
		strbuf_addf(out, "  %-16s %-8s %6s", j->v->name,
			    hv_build_state_name(j->state), t);
	}
	if (j->state == HV_FAILED)
		strbuf_addf(out, " (log %s)", j->log_path);
}

/* Under ctx->lock: plain lines for new states. */
static void draw_plain(struct hv_ctx *ctx)
{
	struct strbuf sb = STRBUF_INIT;
	int64_t now = lab_mono_ms();
	int i;

	for (i = 0; i < ctx->n; i++) {
		struct hv_job *j = &ctx->jobs[i];

		if (j->state == j->shown)
			continue;
		j->shown = j->state;
		job_line(j, now, &sb, true);
		strbuf_addch(&sb, '\n');
	}
	if (sb.len) {
		fputs(sb.buf, stderr);
		fflush(stderr);
	}
	strbuf_release(&sb);
}

/* Under ctx->lock: redraw all lines (first: just print them). */
static void draw_tty(struct hv_ctx *ctx, bool first)
{
	struct strbuf sb = STRBUF_INIT;
	int64_t now = lab_mono_ms();
	int i;

	if (!first)
		strbuf_addf(&sb, "\033[%dA", ctx->n);
	for (i = 0; i < ctx->n; i++) {
		strbuf_addstr(&sb, "\r\033[2K");
		job_line(&ctx->jobs[i], now, &sb, false);
		strbuf_addch(&sb, '\n');
	}
	fputs(sb.buf, stderr);
	fflush(stderr);
	strbuf_release(&sb);
}

/* Under ctx->lock: kill what must stop (timeout, interrupt). */
static void police(struct hv_ctx *ctx)
{
	int64_t now = lab_mono_ms();
	int i;

	for (i = 0; i < ctx->n; i++) {
		struct hv_job *j = &ctx->jobs[i];

		if (!j->pid)
			continue;
		if (!j->killed && (ctx->stop || (j->deadline && now >= j->deadline))) {
			j->timed_out = !ctx->stop;
			j->killed = true;
			j->kill_ms = now;
			kill(-j->pid, SIGTERM);
		} else if (j->killed && now - j->kill_ms >= KILL_GRACE_MS) {
			kill(-j->pid, SIGKILL);
		}
	}
}

/* ------------------------------------------------------------ hv_build */

static char **build_env(void)
{
	static const char *const drop[] = {
		"MAKEFLAGS=", "MFLAGS=", "MAKELEVEL=", "MAKEOVERRIDES=",
		"GNUMAKEFLAGS=", NULL,
	};
	size_t n = 0, i, k;
	char **env;

	while (environ[n])
		n++;
	env = xcalloc(n + 1, sizeof(*env));
	for (i = 0, k = 0; i < n; i++) {
		const char *const *d;
		bool keep = true;

		for (d = drop; *d; d++)
			if (!strncmp(environ[i], *d, strlen(*d)))
				keep = false;
		if (keep)
			env[k++] = xstrdup(environ[i]);
	}
	return env;
}

static void free_env(char **env)
{
	char **p;

	for (p = env; p && *p; p++)
		free(*p);
	free(env);
}

static int check_variants(const struct hv_variant *v, int n)
{
	int i, k;

	for (i = 0; i < n; i++) {
		if (!v[i].name || !hv_valid_variant_name(v[i].name))
			return lab_err(LAB_EINVAL,
				       "invalid variant name '%s' (1-%d of letters, digits, '.', '_', '-', starting with a letter or digit)",
				       v[i].name ? v[i].name : "", HV_VARIANT_NAME_MAX);
		for (k = 0; k < i; k++)
			if (!strcmp(v[i].name, v[k].name))
				return lab_err(LAB_EINVAL, "variant %s given twice",
					       v[i].name);
		if (!v[i].recipe || !strcmp(v[i].recipe, "standin")) {
			if (strlen(v[i].name) > 31)
				return lab_err(LAB_EINVAL,
					       "variant %s: a stand-in variant name has at most 31 characters",
					       v[i].name);
			if (!v[i].arch || (strcmp(v[i].arch, "i386") &&
					   strcmp(v[i].arch, "amd64")))
				return lab_err(LAB_EINVAL,
					       "variant %s: arch must be i386 or amd64, not '%s'",
					       v[i].name, v[i].arch ? v[i].arch : "");
		} else if (!strcmp(v[i].recipe, "xmhf64")) {
			char *src;
			struct stat st;
			int ret = 0;

			if (!v[i].src || !*v[i].src)
				return lab_err(LAB_EINVAL,
					       "variant %s: recipe xmhf64 needs src = PATH of the XMHF64 tree",
					       v[i].name);
			src = hv_expand_home(v[i].src);
			if (stat(src, &st) < 0 || !S_ISDIR(st.st_mode))
				ret = lab_err(LAB_ECONFIG,
					      "variant %s: src %s%s%s%s is not a directory",
					      v[i].name, v[i].src,
					      strcmp(src, v[i].src) ? " (" : "",
					      strcmp(src, v[i].src) ? src : "",
					      strcmp(src, v[i].src) ? ")" : "");
			free(src);
			if (ret)
				return ret;
		} else {
			return lab_err(LAB_EINVAL,
				       "variant %s: unknown recipe '%s' (standin or xmhf64)",
				       v[i].name, v[i].recipe);
		}
	}
	return 0;
}

static int tty_rows(void)
{
	struct winsize ws;

	if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
		return ws.ws_row;
	return 24;
}

static void print_failures(struct hv_ctx *ctx)
{
	int i;

	for (i = 0; i < ctx->n; i++) {
		struct hv_job *j = &ctx->jobs[i];
		struct strbuf tail = STRBUF_INIT;

		if (j->state != HV_FAILED)
			continue;
		fprintf(stderr, "%s: failed: %s\n", j->v->name,
			j->error ? j->error : "unknown error");
		hv_tail_lines(j->log_path, HV_FAIL_TAIL_LINES, &tail);
		if (tail.len) {
			fprintf(stderr, "%s: last lines of %s:\n", j->v->name,
				j->log_path);
			fputs(tail.buf, stderr);
		}
		strbuf_release(&tail);
	}
	fflush(stderr);
}

static int setup(struct hv_ctx *ctx, const struct hv_variant *v, int n,
		 const struct hv_build_opts *o)
{
	bool standin = false;
	const char *cc = getenv("CC");
	char *p;
	int i, ret, ncpu, workers;

	for (i = 0; i < n; i++)
		if (!v[i].recipe || !strcmp(v[i].recipe, "standin"))
			standin = true;
	ctx->images = o->images_dir ? o->images_dir : hv_default_images_dir();
	for (i = 0; i < 3; i++) {
		static const char *const sub[] = { ".logs", ".locks", ".worktrees" };

		p = xasprintf("%s/%s", ctx->images, sub[i]);
		ret = i < 2 ? hv_mkdir_p(p, 0755) : 0;
		free(p);
		if (ret)
			return ret;
	}
	ctx->images_abs = realpath(ctx->images, NULL);
	if (!ctx->images_abs)
		return lab_err_errno(errno, "cannot resolve %s", ctx->images);
	if (standin) {
		if (o->hypervisor_dir) {
			ctx->hypdir = realpath(o->hypervisor_dir, NULL);
			if (!ctx->hypdir)
				return lab_err_errno(errno, "cannot resolve %s",
						     o->hypervisor_dir);
		} else {
			ctx->hypdir = hv_find_hypervisor_dir();
			if (!ctx->hypdir)
				return -LAB_ECONFIG;
		}
		ret = hv_standin_tree_hash(ctx->hypdir, ctx->tree_hex, NULL);
		if (ret)
			return ret;
	}
	ret = hv_compiler_version(cc && *cc ? cc : "gcc", &ctx->compiler);
	if (ret)
		return ret;
	ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 1)
		ncpu = 1;
	workers = o->jobs > 0 ? o->jobs : ncpu;
	if (workers > n)
		workers = n;
	ctx->make_jobs = ncpu / (workers ? workers : 1);
	if (ctx->make_jobs < 1)
		ctx->make_jobs = 1;
	ctx->dir_mode = umask(0);
	umask(ctx->dir_mode);
	ctx->dir_mode = 0777 & ~ctx->dir_mode;
	ctx->force = o->force;
	ctx->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	ctx->env = build_env();
	/* The cache: made now, so it resolves and its bound is known. */
	p = o->cache_dir ? xstrdup(o->cache_dir) : hv_cache_dir(ctx->images);
	ret = hv_mkdir_p(p, 0755);
	if (!ret) {
		ctx->cache_abs = realpath(p, NULL);
		if (!ctx->cache_abs)
			ret = lab_err_errno(errno, "cannot resolve %s", p);
	}
	free(p);
	if (ret)
		return ret;
	ctx->cache_max = o->cache_max;
	if (ctx->cache_max <= 0) {
		ret = hv_cache_max_env(&ctx->cache_max);
		if (ret < 0)
			return ret;
	}
	return workers;
}

int hv_build(const struct hv_variant *v, int n, const struct hv_build_opts *o,
	     struct hv_build_result *res)
{
	static const struct hv_build_opts no_opts;
	struct hv_ctx ctx;
	struct sigaction sa, old_pipe;
	struct lab_stop_saved stop;
	pthread_condattr_t ca;
	pthread_t *threads;
	enum hv_progress progress;
	int i, ret, workers, started = 0, nfailed = 0;
	bool first = true;
	struct strbuf failed = STRBUF_INIT;

	if (!o)
		o = &no_opts;
	for (i = 0; i < n; i++)
		memset(&res[i], 0, sizeof(res[i]));
	ret = check_variants(v, n);
	if (ret)
		return ret;
	if (!n)
		return 0;
	memset(&ctx, 0, sizeof(ctx));
	workers = setup(&ctx, v, n, o);
	if (workers < 0) {
		ret = workers;
		goto out_ctx;
	}
	progress = o->progress;
	if (progress == HV_PROGRESS_TTY && n >= tty_rows())
		progress = HV_PROGRESS_PLAIN;

	pthread_mutex_init(&ctx.lock, NULL);
	pthread_mutex_init(&ctx.git_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ctx.cond, &ca);
	pthread_condattr_destroy(&ca);
	ctx.n = n;
	ctx.jobs = xcalloc((size_t)n, sizeof(*ctx.jobs));
	for (i = 0; i < n; i++) {
		struct hv_job *j = &ctx.jobs[i];

		j->ctx = &ctx;
		j->v = &v[i];
		j->res = &res[i];
		j->log_fd = -1;
		j->dir = xasprintf("%s/%s", ctx.images, v[i].name);
		j->dir_abs = xasprintf("%s/%s", ctx.images_abs, v[i].name);
		j->log_path = xasprintf("%s/.logs/%s.log", ctx.images, v[i].name);
		j->state = j->shown = HV_QUEUED;
	}

	/* Every stop signal (lib/stopsig), nested in a run's own. */
	if (lab_stop_catch(&stop) < 0)
		lab_err_clear();
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	/* A step that stops reading its stdin must not kill us. */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &old_pipe);

	threads = xcalloc((size_t)workers, sizeof(*threads));
	pthread_mutex_lock(&ctx.lock);
	for (i = 0; i < workers; i++)
		if (pthread_create(&threads[i], NULL, worker, &ctx) == 0)
			started++;
	if (!started) {
		pthread_mutex_unlock(&ctx.lock);
		ret = lab_err(LAB_ENOMEM, "cannot start a build thread");
		goto out_sig;
	}
	for (;;) {
		struct timespec ts;
		int64_t ns;

		if (lab_stop_signal && !ctx.stop)
			ctx.stop = true;
		police(&ctx);
		if (progress == HV_PROGRESS_TTY)
			draw_tty(&ctx, first);
		else if (progress == HV_PROGRESS_PLAIN)
			draw_plain(&ctx);
		first = false;
		/* Every job taken is finished, and none is left to take. */
		if (ctx.finished == ctx.next && (ctx.next == ctx.n || ctx.stop))
			break;
		ns = lab_mono_ns() + (int64_t)TICK_MS * 1000000;
		ts.tv_sec = ns / 1000000000;
		ts.tv_nsec = ns % 1000000000;
		pthread_cond_timedwait(&ctx.cond, &ctx.lock, &ts);
	}
	pthread_mutex_unlock(&ctx.lock);
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);

	/* Never started because of an interrupt. */
	for (i = ctx.next; i < n; i++) {
		ctx.jobs[i].state = HV_FAILED;
		ctx.jobs[i].error = xstrdup("interrupted before it started");
	}
	if (progress == HV_PROGRESS_TTY)
		draw_tty(&ctx, false);
	else if (progress == HV_PROGRESS_PLAIN)
		draw_plain(&ctx);
	print_failures(&ctx);

	for (i = 0; i < n; i++) {
		struct hv_job *j = &ctx.jobs[i];

		res[i].state = j->state;
		res[i].elapsed_ms = j->t1 && j->t0 ? j->t1 - j->t0 : 0;
		if (!res[i].dir)
			res[i].dir = xstrdup(j->dir);
		if (j->state == HV_FAILED) {
			free(res[i].log_path);
			res[i].log_path = xstrdup(j->log_path);
			res[i].error = j->error ? xstrdup(j->error) : NULL;
			strbuf_addf(&failed, "%s%s (log %s)", nfailed ? ", " : "",
				    j->v->name, j->log_path);
			nfailed++;
		}
	}
	ret = 0;
	if (ctx.stop)
		ret = lab_err(LAB_EINTR, "build interrupted%s%s",
			      nfailed ? ": " : "", failed.buf ? failed.buf : "");
	else if (nfailed)
		ret = lab_err(LAB_EINFRA, "build failed: %s", failed.buf);
out_sig:
	lab_stop_release(&stop);
	sigaction(SIGPIPE, &old_pipe, NULL);
	free(threads);
	for (i = 0; i < n; i++) {
		struct hv_job *j = &ctx.jobs[i];

		hv_job_free_recipe(j);
		free(j->dir);
		free(j->dir_abs);
		free(j->log_path);
		free(j->error);
		strbuf_release(&j->prelog);
	}
	free(ctx.jobs);
	pthread_cond_destroy(&ctx.cond);
	pthread_mutex_destroy(&ctx.lock);
	pthread_mutex_destroy(&ctx.git_lock);
out_ctx:
	free_env(ctx.env);
	free(ctx.images_abs);
	free(ctx.cache_abs);
	free(ctx.hypdir);
	free(ctx.compiler);
	strbuf_release(&failed);
	return ret;
}
