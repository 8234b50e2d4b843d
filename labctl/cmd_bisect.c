// SPDX-License-Identifier: MIT
/*
 * labctl bisect [LAB] --good REV --bad REV [--src DIR] [--results DIR]
 *               [--json] -- VARIANT...
 *
 * git bisect over the hypervisor sources with labctl as the test.  The verb
 * runs `git bisect start`, `bad`, `good` and then `git bisect run` with this
 * same labctl and the same arguments as the test, LABCTL_BISECT_STEP set in
 * its environment: in that mode the verb is one step.  A step builds the
 * chain from the commit git checked out (the build cache makes a revisited
 * tree free), runs it as a normal run in process (the run engine's
 * struct run_result gives the verdict, reason and log; results/<ts> and
 * its JSON, which gets a "bisect" object naming the commit, are written
 * as for any run), appends a line to the steps
 * file, and exits as git bisect run wants: 0 good, 1 bad, 125 skip (the
 * build failed, or an infrastructure or configuration error at that
 * commit), 130 to stop git when interrupted.
 *
 * The parent reads git's bisect log for the answer, prints the first bad
 * commit with its result, and ends every path after `git bisect start`
 * (SIGINT, SIGTERM, SIGHUP and SIGQUIT included) with `git bisect reset`.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hvimage/build.h"
#include "labctl/labconf.h"
#include "labctl/labctl.h"
#include "labctl/lease.h"
#include "labctl/run.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/fileio.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/spawn.h"
#include "lib/stopsig.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "report/result.h"

/* Exit codes `git bisect run` understands. */
#define STEP_GOOD 0
#define STEP_BAD 1
#define STEP_SKIP 125
#define STEP_ABORT 130		/* > 127: git bisect run stops */

/* Given to the step by the parent, through git, in the environment. */
#define ENV_STEP "LABCTL_BISECT_STEP"	/* the steps file (JSON lines) */
#define ENV_CWD "LABCTL_BISECT_CWD"	/* where labctl bisect was started */
#define ENV_REPO "LABCTL_BISECT_REPO"	/* the repository's top level */

#define GIT_TIMEOUT_MS (5 * 60 * 1000)
/* A step stopping after SIGTERM: QEMU off, the log and JSON written. */
#define STEP_STOP_GRACE_MS (30 * 1000)

struct bisect_args {
	const char *good, *bad, *src;
	const char *results_dir;
	char **names;		/* LAB and VARIANTs, in order */
	int nnames;
};

/*
 * The options through cmd_getopt (--opt=value, --opt value, options among
 * the names, -- ends them).  argv is not reordered: the step gets the
 * same words.
 */
static int parse(int argc, char **argv, struct bisect_args *a)
{
	/* Long options only: "-g" is not "--good". */
	enum { OPT_GOOD = CMD_OPT_LONG, OPT_BAD, OPT_SRC, OPT_RESULTS };
	static const struct option longopts[] = {
		{ "good", required_argument, NULL, OPT_GOOD },
		{ "bad", required_argument, NULL, OPT_BAD },
		{ "src", required_argument, NULL, OPT_SRC },
		{ "results", required_argument, NULL, OPT_RESULTS },
		{ NULL, 0, NULL, 0 },
	};
	struct cmd_getopt g;
	int c, ret = 0;

	a->names = xcalloc((size_t)argc + 1, sizeof(*a->names));
	a->results_dir = "results";
	cmd_getopt_init(&g, "bisect", argc, argv, longopts);
	while (!ret && (c = cmd_getopt_next(&g)) != -1) {
		switch (c) {
		case OPT_GOOD:
		case OPT_BAD:
		case OPT_SRC:
		case OPT_RESULTS:
			if (!*g.arg) {
				ret = cmd_usage_error("bisect", "option '--%s' needs a value",
						      longopts[c - OPT_GOOD].name);
				break;
			}
			*(c == OPT_GOOD ? &a->good : c == OPT_BAD ? &a->bad :
			  c == OPT_SRC ? &a->src : &a->results_dir) = g.arg;
			break;
		case CMD_OPERAND:
			a->names[a->nnames++] = g.arg;
			break;
		default:
			ret = LAB_EXIT_USAGE;
			break;
		}
	}
	if (ret)
		return ret;
	if (!a->good || !a->bad)
		return cmd_usage_error("bisect",
				       "say which revisions are --good and --bad");
	return 0;
}

/* ------------------------------------------------------------ git */

/* git -C top ARGS...; stdout in *out (trimmed); returns git's exit code,
 * or -1 when git could not run (message recorded). */
static int git(const char *top, struct strbuf *out, struct strbuf *err,
	       const char *const *args)
{
	const char *argv[24] = { "git", "-C", top };
	struct spawn_opts so = { .out = out, .err = err, .quiet = true,
				 .timeout_ms = GIT_TIMEOUT_MS };
	struct spawn_result r;
	int i, n = 3;

	for (i = 0; args[i] && n < 23; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if (lab_spawn(argv, &so, &r) < 0)
		return -1;
	if (out)
		strbuf_rtrim(out);
	if (err)
		strbuf_rtrim(err);
	return r.exit_code;
}

#define GIT(top, out, err, ...) \
	git(top, out, err, (const char *const[]){ __VA_ARGS__, NULL })

/* "hash subject" of a commit, or NULL. */
static char *commit_line(const char *top, const char *rev)
{
	struct strbuf out = STRBUF_INIT;

	if (GIT(top, &out, NULL, "log", "-1", "--no-walk", "--format=%H %s",
		rev, "--") != 0 || out.len < 41) {
		strbuf_release(&out);
		return NULL;
	}
	return strbuf_detach(&out, NULL);
}

/* ------------------------------------------------------------ the chain */

static bool is_xmhf64(const struct lab_variant *v)
{
	return !strcmp(lab_variant_get(v, "recipe"), "xmhf64");
}

/*
 * --src for xmhf64 variants: they build from DIR (the step's copy of the
 * tree).  A lab of the step's own with those variants; lab is not touched.
 */
static struct lab *lab_with_src(const struct lab *lab,
				const struct lab_variant *const *chain, int n,
				const char *dir)
{
	struct lab_variant *vs = xcalloc((size_t)n + 1, sizeof(*vs));
	struct lab *step;
	int i, k, nv = 0;

	for (i = 0; i < n; i++) {
		for (k = 0; k < nv && strcmp(vs[k].name, chain[i]->name); k++)
			;
		if (!is_xmhf64(chain[i]) || k < nv)
			continue;
		lab_variant_copy(&vs[nv], chain[i]);
		lab_variant_set(&vs[nv++], "src", dir);
	}
	step = lab_with_variants(lab, vs, nv);
	for (i = 0; i < nv; i++)
		lab_variant_release(&vs[i]);
	free(vs);
	return step;
}

/*
 * The directory whose history is bisected: --src, else the one src of the
 * chain's xmhf64 variants, else the stand-in's sources.  *standin says
 * whether the stand-in variants build from it (LABCTL_HYPERVISOR_DIR).
 */
static int source_dir(const struct bisect_args *a,
		      const struct lab_variant *const *chain, int n,
		      char **dir, bool *standin)
{
	char *path = NULL;
	int i;

	*standin = false;
	if (a->src) {
		path = realpath(a->src, NULL);
		if (!path)
			return lab_err_errno(errno, "--src %s", a->src);
		for (i = 0; i < n; i++)
			*standin |= !is_xmhf64(chain[i]);
		*dir = path;
		return 0;
	}
	for (i = 0; i < n; i++) {
		char *p, *real;

		if (!is_xmhf64(chain[i]))
			continue;
		p = hv_expand_home(lab_variant_get(chain[i], "src"));
		real = realpath(p, NULL);
		if (!real) {
			int ret = lab_err_errno(errno, "variant %s: src %s",
						chain[i]->name, p);

			free(p);
			free(path);
			return ret;
		}
		free(p);
		if (path && strcmp(path, real)) {
			int ret = lab_err(LAB_EUSAGE,
					  "the chain builds from %s and %s: say which history to bisect with --src",
					  path, real);

			free(real);
			free(path);
			return ret;
		}
		free(path);
		path = real;
	}
	if (path) {
		*dir = path;
		return 0;
	}
	path = hv_find_hypervisor_dir();
	if (!path)
		return -LAB_ECONFIG;
	*dir = realpath(path, NULL);
	free(path);
	if (!*dir)
		return lab_err_errno(errno, "the stand-in's sources");
	*standin = true;
	return 0;
}

/* ------------------------------------------------------------ one step */

/* Add "bisect":{...} to results/<ts>.json (the run wrote it; we add a key). */
static void record_in_result(const char *log, json_t *step)
{
	char *path = xasprintf("%s.json", log);
	json_t *doc = json_load_file(path, 0, NULL);

	if (json_is_object(doc)) {
		json_object_set(doc, "bisect", step);
		if (lab_json_write_atomic(path, doc, 0644) < 0)
			lab_warn("%s", lab_errmsg(-LAB_EIO));
	}
	lab_err_clear();
	json_decref(doc);
	free(path);
}

static const char *outcome_name(int code)
{
	switch (code) {
	case STEP_GOOD:
		return "good";
	case STEP_BAD:
		return "bad";
	case STEP_SKIP:
		return "skip";
	default:
		return "interrupted";
	}
}

/* One step as a JSON object; head is "<40 hex> <subject>" or NULL. */
static json_t *step_json(const char *head, int code, int run_rc,
			 const char *result, const char *verdict,
			 const char *reason, const char *build_log)
{
	json_t *o = json_object();
	char commit[41];

	snprintf(commit, sizeof(commit), "%.40s", head ? head : "");
	lab_json_set(o, "commit", lab_json_str(commit));
	lab_json_set(o, "subject",
		     lab_json_str(head && strlen(head) > 41 ? head + 41 : ""));
	lab_json_set(o, "outcome", lab_json_str(outcome_name(code)));
	json_object_set_new(o, "exit", json_integer(run_rc));
	lab_json_set(o, "result", lab_json_str(result));
	lab_json_set(o, "verdict", lab_json_str(verdict));
	lab_json_set(o, "reason", lab_json_str(reason ? reason : ""));
	if (build_log)
		lab_json_set(o, "build_log", lab_json_str(build_log));
	return o;
}

static int bisect_step(int argc, char **argv, struct cmd_ctx *ctx,
		       const char *steps_path)
{
	struct bisect_args a = { 0 };
	struct lab_stop_saved stop;
	const struct lab_variant **chain = NULL;
	struct hv_variant *hv = NULL;
	struct hv_build_result *built = NULL;
	struct strbuf line = STRBUF_INIT;
	json_t *obj;
	struct lab *lab = NULL, *file_lab = NULL;
	const char *cwd = getenv(ENV_CWD), *top = getenv(ENV_REPO);
	const char *result = NULL, *verdict = NULL, *build_log = NULL;
	char *head = NULL, *reason = NULL, **names = NULL;
	struct run_result run = { 0 };	/* the run's result */
	pid_t git_pid = getppid();
	int n = 0, i, nb = 0, run_rc = -1, code = STEP_SKIP, ret, fd;

	lab_stop_catch(&stop);
	if (!cwd || !top || chdir(cwd) < 0) {
		reason = xasprintf("labctl bisect step: %s",
				   !cwd || !top ? "not started by labctl bisect"
						: strerror(errno));
		code = STEP_ABORT;
		goto record;
	}
	head = commit_line(top, "HEAD");
	if (!head) {
		reason = xstrdup("cannot read the commit git checked out");
		code = STEP_ABORT;
		goto record;
	}
	/* Usage errors were the parent's to find; here they only stop git. */
	ret = parse(argc, argv, &a);
	if (!ret) {
		names = a.names;
		n = a.nnames;
		ret = cmd_open_lab_for_names(ctx, &n, &names, &lab);
	}
	if (ret) {
		reason = xstrdup("the lab or the command line is wrong here");
		code = STEP_ABORT;
		goto record;
	}
	chain = xcalloc((size_t)n + 1, sizeof(*chain));
	hv = xcalloc((size_t)n + 1, sizeof(*hv));
	built = xcalloc((size_t)n + 1, sizeof(*built));
	ret = lab_resolve_chain(lab, (const char *const *)names, n, chain);
	if (ret) {
		reason = xstrdup(lab_errmsg(ret));
		code = STEP_ABORT;
		goto record;
	}
	if (a.src) {
		/* names may point into the lab's variants: keep it. */
		file_lab = lab;
		lab = lab_with_src(file_lab, chain, n, a.src);
		ret = lab_resolve_chain(lab, (const char *const *)names, n,
					chain);
		if (ret) {
			reason = xstrdup(lab_errmsg(ret));
			code = STEP_ABORT;
			goto record;
		}
	}

	/* Build first, so a build failure is told apart from the run's
	 * infrastructure errors; the run's own build is then a cache hit. */
	for (i = 0; i < n; i++) {
		int k;

		for (k = 0; k < nb && strcmp(hv[k].name, chain[i]->name); k++)
			;
		if (k < nb)
			continue;
		lab_variant_to_hv(&hv[nb++], chain[i]);
	}
	{
		const char *images = getenv("LABCTL_IMAGES");
		struct hv_build_opts bo = {
			.images_dir = images && *images ? images : "images",
			.hypervisor_dir = getenv("LABCTL_HYPERVISOR_DIR"),
			.progress = lab_log_get_level() < LAB_LOG_INFO ?
				    HV_PROGRESS_NONE : HV_PROGRESS_PLAIN,
		};

		ret = hv_build(hv, nb, &bo, built);
	}
	if (ret == -LAB_EINTR || lab_stop_signal) {
		reason = xstrdup("interrupted while building");
		code = STEP_ABORT;
		goto record;
	}
	if (ret) {
		reason = xstrdup(lab_errmsg(ret));
		for (i = 0; i < nb && !build_log; i++)
			if (built[i].state == HV_FAILED)
				build_log = built[i].log_path;
		code = STEP_SKIP;
		goto record;
	}

	{
		struct run_opts o = {
			.build = true, .deploy = true, .quiet = true,
			.results_dir = a.results_dir,
			.argc = argc, .argv = argv,
		};

		lab_err_clear();
		ret = lab_run_chain(lab, (const char *const *)names, n, &o, &run);
		if (ret) {
			/* It failed before its capture: its own words. */
			reason = xstrdup(lab_errmsg(ret));
			run_rc = cmd_fail(ret);
		} else {
			result = run.rec.log_path;
			verdict = run.rec.verdict;
			reason = xstrdup(run.rec.reason ? run.rec.reason : "");
			run_rc = run_result_exit(&run);
		}
	}
	code = run_rc == LAB_EXIT_PASS ? STEP_GOOD :
	       run_rc == LAB_EXIT_FAIL ? STEP_BAD : STEP_SKIP;
	/* git is gone (our group was sent SIGTERM): say so, stop. */
	if (lab_stop_signal || getppid() != git_pid)
		code = STEP_ABORT;

record:
	obj = step_json(head, code, run_rc, result, verdict, reason, build_log);
	if (result)
		record_in_result(result, obj);
	lab_json_add(&line, obj);
	fd = open(steps_path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0 || write(fd, line.buf, line.len) != (ssize_t)line.len)
		lab_warn("cannot add to %s: %s", steps_path, strerror(errno));
	if (fd >= 0)
		close(fd);
	printf("bisect step: %.12s %s -> %s: %s%s%s%s%s%s\n", head ? head : "?",
	       head && strlen(head) > 41 ? head + 41 : "", outcome_name(code),
	       verdict ? verdict : "", verdict ? ": " : "", reason ? reason : "",
	       result ? " (" : "", result ? result : "", result ? ")" : "");
	fflush(stdout);

	run_result_release(&run);
	for (i = 0; built && i < nb; i++)
		hv_build_result_release(&built[i]);
	free(built);
	free(hv);
	free(chain);
	free(head);
	free(reason);
	strbuf_release(&line);
	lab_free(lab);
	lab_free(file_lab);
	free(a.names);
	lab_stop_release(&stop);
	return code;
}

/* ------------------------------------------------------------ the bisect */

struct bisect {
	struct bisect_args a;
	struct lab *lab;
	char **names;		/* the chain */
	int n;
	char *src, *top, *prefix;	/* prefix: src inside top, "" or "dir/" */
	bool standin;
	char good[41], bad[41];
	char *steps_path;
	bool started, interrupted, reset_failed;
	int git_status;		/* git bisect run's exit code, -1: killed */
	struct strbuf log;	/* git bisect log */
	struct strbuf gitout;	/* git's words when something went wrong */
	json_t *steps;		/* array of the steps' objects */
	int64_t t0_ms;
};

/* A revision as a full commit hash. */
static int resolve_rev(struct bisect *b, const char *opt, const char *rev,
		       char hash[41])
{
	struct strbuf out = STRBUF_INIT;
	char *spec = xasprintf("%s^{commit}", rev);
	int rc = GIT(b->top, &out, NULL, "rev-parse", "--verify", "-q", spec);

	free(spec);
	if (rc != 0 || out.len != 40) {
		strbuf_release(&out);
		return lab_err(LAB_EUSAGE, "%s %s: no such commit in %s", opt,
			       rev, b->top);
	}
	memcpy(hash, out.buf, 41);
	strbuf_release(&out);
	return 0;
}

/* Where src's history lives, and what must hold before git bisect start. */
static int check_repo(struct bisect *b)
{
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	int rc, ret = 0;

	rc = GIT(b->src, &out, &err, "rev-parse", "--show-toplevel");
	if (rc != 0) {
		ret = lab_err(LAB_ECONFIG, "%s is not in a git checkout%s%s: labctl bisect needs the sources' history (--src DIR)",
			      b->src, err.len ? ": " : "", strbuf_str(&err));
		goto out;
	}
	b->top = strbuf_detach(&out, NULL);
	strbuf_reset(&err);
	GIT(b->src, &out, NULL, "rev-parse", "--show-prefix");
	b->prefix = strbuf_detach(&out, NULL);
	if (GIT(b->top, NULL, NULL, "bisect", "log") == 0) {
		ret = lab_err(LAB_ECONFIG, "%s is in the middle of a git bisect already (git -C %s bisect log shows it; git bisect reset ends it)",
			      b->top, b->top);
		goto out;
	}
	rc = GIT(b->top, &out, NULL, "status", "--porcelain",
		 "--untracked-files=no", "--", *b->prefix ? b->prefix : ".");
	if (rc != 0 || out.len) {
		ret = lab_err(LAB_ECONFIG, "%s has uncommitted changes%s%.200s: commit or stash them, a bisect checks out other commits",
			      b->src, out.len ? ":\n" : "", strbuf_str(&out));
		goto out;
	}
	ret = resolve_rev(b, "--good", b->a.good, b->good);
	if (!ret)
		ret = resolve_rev(b, "--bad", b->a.bad, b->bad);
out:
	strbuf_release(&out);
	strbuf_release(&err);
	return ret;
}

/*
 * A board someone else holds would make every step a skip: say so now.
 * (A pool waits for a free board; `labctl lock` by this user is adopted.)
 */
static int check_board_free(const struct lab *lab)
{
	struct lease l;
	int ret = 0;

	if (lab->board.pool > 1 || lease_init(&l, lab) < 0) {
		lab_err_clear();
		return 0;
	}
	if (lease_query(&l) == 0 && l.info.held && strcmp(l.info.owner, l.owner))
		ret = lab_err(LAB_EBUSY, "%s is reserved by %s: every step of the bisect would be skipped",
			      lab->name, l.info.owner);
	lease_release_resources(&l);
	if (!ret)
		lab_err_clear();
	return ret;
}

/* git bisect start, bad, good. */
static int start_bisect(struct bisect *b)
{
	struct strbuf out = STRBUF_INIT;
	int rc;

	if (*b->prefix)
		rc = GIT(b->top, &out, &b->gitout, "bisect", "start", "--",
			 b->prefix);
	else
		rc = GIT(b->top, &out, &b->gitout, "bisect", "start");
	if (rc == 0) {
		b->started = true;
		rc = GIT(b->top, &out, &b->gitout, "bisect", "bad", b->bad);
	}
	if (rc == 0)
		rc = GIT(b->top, &out, &b->gitout, "bisect", "good", b->good);
	if (rc == 0)
		lab_debug("%s", strbuf_str(&out));
	strbuf_release(&out);
	if (rc != 0)
		return lab_err(LAB_ECONFIG, "git bisect in %s: %s", b->top,
			       b->gitout.len ? strbuf_str(&b->gitout) : "failed");
	return 0;
}

/* The step's command line: this labctl, the global options, our words. */
static char **step_argv(int argc, char **argv, const struct cmd_ctx *ctx,
			const char *exe, const char *top)
{
	char **v = xcalloc((size_t)argc + 16, sizeof(*v));
	int n = 0, i, level = lab_log_get_level();

	v[n++] = (char *)"git";
	v[n++] = (char *)"-C";
	v[n++] = (char *)top;
	v[n++] = (char *)"bisect";
	v[n++] = (char *)"run";
	v[n++] = (char *)exe;
	if (ctx->lab_name) {
		v[n++] = (char *)"--lab";
		v[n++] = (char *)ctx->lab_name;
	}
	for (i = level; i > LAB_LOG_INFO && n < 12; i--)
		v[n++] = (char *)"-v";
	for (i = level; i < LAB_LOG_INFO && n < 12; i++)
		v[n++] = (char *)"-q";
	for (i = 0; i < argc; i++)
		v[n++] = argv[i];
	v[n] = NULL;
	return v;
}

/* git bisect run, stopped (step first, cleanly) on a stop signal. */
static int run_bisect(struct bisect *b, int argc, char **argv,
		      const struct cmd_ctx *ctx)
{
	char exe[PATH_MAX], cwd[PATH_MAX];
	char *env[5] = { NULL };
	char **v;
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int saved = -1, status = 0, ne = 0;
	pid_t pid;

	if (len <= 0 || !getcwd(cwd, sizeof(cwd)))
		return lab_err_errno(errno, "cannot find this labctl or the current directory");
	exe[len] = 0;
	env[ne++] = xasprintf(ENV_STEP "=%s", b->steps_path);
	env[ne++] = xasprintf(ENV_CWD "=%s", cwd);
	env[ne++] = xasprintf(ENV_REPO "=%s", b->top);
	if (b->standin)
		env[ne++] = xasprintf("LABCTL_HYPERVISOR_DIR=%s", b->src);
	v = step_argv(argc, argv, ctx, exe, b->top);
	{
		struct spawn_opts so = { .env_add = (const char *const *)env };

		/* --json: stdout is ours; git's words and the steps' go to stderr. */
		fflush(stdout);
		if (ctx->json) {
			saved = dup(1);
			dup2(2, 1);
		}
		pid = lab_spawn_bg((const char *const *)v, &so);
		if (saved >= 0) {
			dup2(saved, 1);
			close(saved);
		}
	}
	free(v);
	while (ne > 0)
		free(env[--ne]);
	if (pid < 0)
		return (int)pid;
	for (;;) {
		struct pollfd p = { lab_stop_pipe[0], POLLIN, 0 };
		char c;
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid || (w < 0 && errno != EINTR))
			break;
		if (lab_stop_signal) {
			lab_warn("interrupted: stopping the step, then git bisect reset");
			b->interrupted = true;
			lab_kill_group(pid, STEP_STOP_GRACE_MS);
			waitpid(pid, &status, 0);
			status = -1;
			break;
		}
		if (poll(&p, 1, 200) > 0)
			while (read(lab_stop_pipe[0], &c, 1) > 0)
				;
	}
	b->git_status = status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	return 0;
}

/* Always, once git bisect start ran: the repository back as it was. */
static void end_bisect(struct bisect *b)
{
	struct strbuf err = STRBUF_INIT;

	if (!b->started)
		return;
	GIT(b->top, &b->log, NULL, "bisect", "log");
	if (GIT(b->top, NULL, &err, "bisect", "reset") != 0 ||
	    GIT(b->top, NULL, NULL, "bisect", "log") == 0) {
		b->reset_failed = true;
		lab_error_msg("git bisect reset in %s failed: %s; run it by hand",
			      b->top, strbuf_str(&err));
	}
	b->started = false;
	strbuf_release(&err);
}

static void load_steps(struct bisect *b)
{
	struct strbuf text = STRBUF_INIT;
	char *line, *save = NULL;

	b->steps = json_array();
	if (strbuf_read_file(&text, b->steps_path, 16 << 20) < 0) {
		lab_err_clear();
		return;
	}
	for (line = strtok_r(text.buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(line, 0, NULL);

		if (json_is_object(o))
			json_array_append_new(b->steps, o);
		else
			json_decref(o);
	}
	strbuf_release(&text);
}

static const char *sget(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* The last step that ran this commit. */
static json_t *step_of(const struct bisect *b, const char *commit)
{
	json_t *found = NULL, *o;
	size_t i;

	json_array_foreach(b->steps, i, o)
		if (!strcmp(sget(o, "commit"), commit))
			found = o;
	return found;
}

/* "# first bad commit: [<hash>] subject" lines of git bisect log. */
static json_t *log_commits(const struct bisect *b, const char *prefix)
{
	json_t *list = json_array();
	const char *p = strbuf_str(&b->log);
	size_t pl = strlen(prefix);

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		/* prefix, 40 hex, "] ", subject */
		if (len >= pl + 41 && !strncmp(p, prefix, pl) && p[pl + 40] == ']') {
			json_t *c = json_object();
			size_t sub = len > pl + 42 ? pl + 42 : len;

			json_object_set_new(c, "commit", json_stringn(p + pl, 40));
			json_object_set_new(c, "subject",
					    json_stringn(p + sub, len - sub));
			json_array_append_new(list, c);
		}
		p = nl ? nl + 1 : NULL;
	}
	return list;
}

static void add_step_fields(json_t *to, const json_t *step)
{
	json_object_set_new(to, "result", step ?
			    json_deep_copy(json_object_get(step, "result")) : json_null());
	json_object_set_new(to, "verdict", step ?
			    json_deep_copy(json_object_get(step, "verdict")) : json_null());
	json_object_set_new(to, "reason", json_string(step ? sget(step, "reason") :
						    "not run by this bisect (it is the --bad revision)"));
}

static int report(struct bisect *b, const struct cmd_ctx *ctx, const char *why)
{
	json_t *first = log_commits(b, "# first bad commit: [");
	json_t *maybe = log_commits(b, "# possible first bad commit: [");
	json_t *fb = json_array_size(first) ? json_array_get(first, 0) : NULL;
	json_t *o, *doc;
	size_t i, skipped = 0;
	double elapsed = (lab_mono_ms() - b->t0_ms) / 1e3;
	int exit_code = fb ? 0 : LAB_EXIT_INFRA;

	json_array_foreach(b->steps, i, o)
		skipped += !strcmp(sget(o, "outcome"), "skip");
	if (fb)
		add_step_fields(fb, step_of(b, sget(fb, "commit")));
	if (b->reset_failed)
		exit_code = LAB_EXIT_INFRA;
	if (!why && !fb) {
		if (b->interrupted)
			why = "interrupted";
		else if (json_array_size(maybe))
			why = "only skipped commits are left: the first bad commit is one of the candidates";
		else
			why = b->git_status == 0 ? "git bisect run ended without a first bad commit" :
			      "git bisect run stopped without a first bad commit (a step could not run; see its reason)";
	}
	if (ctx->json) {
		char *text;

		doc = json_object();
		json_object_set_new(doc, "lab", json_string(b->lab->name));
		json_object_set_new(doc, "repo", json_string(b->top));
		json_object_set_new(doc, "src", json_string(b->src));
		json_object_set_new(doc, "good", json_string(b->good));
		json_object_set_new(doc, "bad", json_string(b->bad));
		json_object_set_new(doc, "chain", json_array());
		for (i = 0; i < (size_t)b->n; i++)
			json_array_append_new(json_object_get(doc, "chain"),
					      json_string(b->names[i]));
		json_object_set(doc, "first_bad", fb ? fb : json_null());
		json_object_set(doc, "candidates", maybe);
		json_object_set(doc, "steps", b->steps);
		json_object_set_new(doc, "skipped", json_integer((json_int_t)skipped));
		json_object_set_new(doc, "elapsed", json_real(elapsed));
		json_object_set_new(doc, "interrupted", json_boolean(b->interrupted));
		json_object_set_new(doc, "error", why ? json_string(why) : json_null());
		json_object_set_new(doc, "bisect_log", json_string(strbuf_str(&b->log)));
		text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER |
				  JSON_REAL_PRECISION(9));
		printf("%s\n", text);
		free(text);
		json_decref(doc);
	} else {
		printf("\n");
		if (fb) {
			printf("first bad commit: %s %s\n", sget(fb, "commit"),
			       sget(fb, "subject"));
			if (json_is_string(json_object_get(fb, "result")))
				printf("  result %s: %s: %s\n", sget(fb, "result"),
				       sget(fb, "verdict"), sget(fb, "reason"));
			else
				printf("  %s\n", sget(fb, "reason"));
		}
		json_array_foreach(maybe, i, o)
			printf("possibly first bad: %s %s\n", sget(o, "commit"),
			       sget(o, "subject"));
		printf("%zu step%s (%zu skipped) in %.1f s\n",
		       json_array_size(b->steps),
		       json_array_size(b->steps) == 1 ? "" : "s", skipped, elapsed);
		json_array_foreach(b->steps, i, o)
			printf("  %2zu %.12s %-5s %s%s%s\n", i + 1,
			       sget(o, "commit"), sget(o, "outcome"),
			       sget(o, "result"),
			       json_is_string(json_object_get(o, "result")) ? ": " : "",
			       sget(o, "reason"));
	}
	if (why)
		fprintf(stderr, "labctl bisect: %s\n", why);
	json_decref(first);
	json_decref(maybe);
	return exit_code;
}

static int bisect_main(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct bisect b = { .log = STRBUF_INIT, .gitout = STRBUF_INIT,
			    .t0_ms = lab_mono_ms() };
	struct lab_stop_saved stop;
	const struct lab_variant **chain = NULL;
	const char *tmp = getenv("TMPDIR");
	char *path = xasprintf("%s/labctl-bisect-steps-XXXXXX",
			       tmp && *tmp ? tmp : "/tmp");
	const char *why = NULL;
	int rc, ret, fd;

	rc = parse(argc, argv, &b.a);
	if (rc)
		goto out;
	b.names = b.a.names;
	b.n = b.a.nnames;
	rc = cmd_open_lab_for_names(ctx, &b.n, &b.names, &b.lab);
	if (rc)
		goto out;
	if (b.n == 0) {
		rc = cmd_usage_error("bisect", "name the chain to test after --, e.g. -- build64 build32 build32lhv");
		goto out;
	}
	chain = xcalloc((size_t)b.n + 1, sizeof(*chain));
	ret = lab_resolve_chain(b.lab, (const char *const *)b.names, b.n,
				chain);
	if (!ret)
		ret = source_dir(&b.a, chain, b.n, &b.src, &b.standin);
	if (!ret)
		ret = check_repo(&b);
	if (!ret)
		ret = check_board_free(b.lab);
	if (ret) {
		rc = ret == -LAB_EUSAGE ? cmd_usage_error("bisect", "%s", lab_errmsg(ret)) :
		     cmd_fail(ret);
		goto out;
	}
	fd = mkstemp(path);
	if (fd < 0) {
		rc = cmd_fail(lab_err_errno(errno, "mkstemp %s", path));
		goto out;
	}
	close(fd);
	b.steps_path = path;
	if (!ctx->json) {
		struct strbuf cnt = STRBUF_INIT;
		char *range = xasprintf("%s..%s", b.good, b.bad);

		GIT(b.top, &cnt, NULL, "rev-list", "--count", range, "--",
		    *b.prefix ? b.prefix : ".");
		printf("bisect %s%s%s: %s commits after good %.12s up to bad %.12s, chain",
		       b.top, *b.prefix ? "/" : "", b.prefix, strbuf_str(&cnt),
		       b.good, b.bad);
		for (ret = 0; ret < b.n; ret++)
			printf(" %s", b.names[ret]);
		printf(" on %s\n", b.lab->name);
		fflush(stdout);
		free(range);
		strbuf_release(&cnt);
	}

	lab_stop_catch(&stop);
	ret = start_bisect(&b);
	if (!ret && !lab_stop_signal)
		ret = run_bisect(&b, argc, argv, ctx);
	if (lab_stop_signal)
		b.interrupted = true;
	end_bisect(&b);
	lab_stop_release(&stop);
	if (ret) {
		rc = cmd_fail(ret);
		if (rc != LAB_EXIT_INFRA)
			goto out;
		why = "git bisect failed";
	}
	load_steps(&b);
	rc = report(&b, ctx, why);
out:
	if (b.steps_path)
		unlink(b.steps_path);
	free(path);
	json_decref(b.steps);
	strbuf_release(&b.log);
	strbuf_release(&b.gitout);
	free(chain);
	free(b.src);
	free(b.top);
	free(b.prefix);
	lab_free(b.lab);
	free(b.a.names);
	return rc;
}

int cmd_bisect(int argc, char **argv, struct cmd_ctx *ctx)
{
	const char *steps = getenv(ENV_STEP);

	if (steps && *steps)
		return bisect_step(argc, argv, ctx, steps);
	return bisect_main(argc, argv, ctx);
}
