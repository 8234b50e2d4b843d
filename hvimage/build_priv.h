/* SPDX-License-Identifier: MIT */
/*
 * hvimage internals shared by build.c (workers, processes, progress) and
 * recipe.c (inputs, cache, recipes, installing an image).  Not for other
 * modules.
 *
 * Threads: hv_build() runs one worker thread per parallel build.  A job's
 * fields above "shared" belong to its worker; the ones below are read and
 * written under ctx->lock (the main thread draws progress from them and
 * kills a job's process group on timeout or interrupt).
 */
#ifndef HVIMAGE_BUILD_PRIV_H
#define HVIMAGE_BUILD_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "hvimage/build.h"
#include "lib/strbuf.h"

struct hv_ctx;

struct hv_job {
	struct hv_ctx *ctx;
	const struct hv_variant *v;
	struct hv_build_result *res;
	char *dir;		/* images/<v> as the user named it */
	char *dir_abs;		/* the same, absolute */
	char *log_path;		/* images/.logs/<v>.log */
	int log_fd;		/* open while the job logs, else -1 */
	struct strbuf prelog;	/* logged before the log was opened (the
				 * cache check): written to it when a build
				 * or a failure opens it, else dropped */
	char inputs[SHA256_HEX_LEN + 1];
	/* xmhf64: what the cache check saw, applied by the build */
	char *src;		/* absolute source tree */
	char *rev;		/* commit */
	char dirty[SHA256_HEX_LEN + 1];	/* hex, or "none" */
	struct strbuf diff;	/* git diff HEAD --binary */
	char **untracked;	/* NULL-terminated, sorted */
	char *args;		/* args, blanks squeezed */

	/* shared: under ctx->lock */
	enum hv_build_state state;
	int64_t t0, t1;		/* monotonic ms: start, end */
	pid_t pid;		/* process group of the running step, or 0 */
	int64_t deadline;	/* monotonic ms, 0: none */
	bool killed, timed_out;
	int64_t kill_ms;	/* when SIGTERM was sent */
	enum hv_build_state shown;	/* last state printed (plain) */
	char *error;		/* one line, when failed */
};

struct hv_ctx {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_mutex_t git_lock;	/* git operations on shared repos */
	struct hv_job *jobs;
	int n, next, finished;
	const char *images;	/* as given */
	char *images_abs;
	char *hypdir;		/* absolute, or NULL when no stand-in variant */
	char tree_hex[SHA256_HEX_LEN + 1];
	char *compiler;
	bool force;
	int make_jobs;
	mode_t dir_mode;	/* for images/<v>: 0777 less the umask */
	int64_t timeout_ms;
	bool stop;		/* interrupted: start nothing, kill what runs */
	char **env;		/* environment for build steps */
};

/* ---- build.c */

/* Append to the job's log (no-op when it is not open). */
void hv_job_log(struct hv_job *j, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * Run argv with cwd, stdin /dev/null, stdout and stderr appended to the
 * job's log, in its own process group, killed on the job's timeout or an
 * interrupt.  Returns 0 on exit status 0, else -LAB_EPROGRAM /
 * -LAB_ETIMEDOUT / -LAB_EINTR / -LAB_ESPAWN with a message.
 */
int hv_job_run(struct hv_job *j, const char *const *argv, const char *cwd);
/*
 * Run a short helper (git) capturing stdout (into out, if not NULL) and
 * stderr (logged, and quoted in the error message when it fails); stdin
 * from in/in_len.  Same returns.
 */
int hv_job_capture(struct hv_job *j, const char *const *argv,
		   const void *in, size_t in_len, struct strbuf *out);

/* ---- recipe.c */

/*
 * Compute j->inputs (and for xmhf64 the source state).  Returns 1 when
 * the image in j->dir is current (res filled from its MANIFEST), 0 when
 * it must be built, <0 on error.
 */
int hv_recipe_check(struct hv_job *j);
/* Build into tmpdir (absolute): init.bin and hypervisor.bin.gz there. */
int hv_recipe_build(struct hv_job *j, const char *tmpdir);
/* Write the MANIFEST and build.log into tmpdir and swap it into place. */
int hv_install(struct hv_job *j, const char *tmpdir, int64_t build_ms);
void hv_job_free_recipe(struct hv_job *j);

/* ---- fsutil.c */

int hv_mkdir_p(const char *path, mode_t mode);
/* Remove a file or a tree (no symlinks followed); 0 if it is gone. */
int hv_rm_rf(const char *path);
/* Copy a file (contents and permission bits), fsync'd. */
int hv_copy_file(const char *from, const char *to);
void hv_fsync_path(const char *path);
/* The last n lines of a file (at most 64 KiB read from its end). */
void hv_tail_lines(const char *path, int n, struct strbuf *out);

#endif
