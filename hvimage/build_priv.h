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
	bool plain;		/* src is a plain directory (no git): built
				 * from a private copy, rev "tree-<hash>" */
	char *skip;		/* images dir relative to src, or NULL */
	bool tree_lhv;		/* the built tree has LHV's own sources */

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
	char *cache_abs;	/* the build cache (cache.c) */
	int64_t cache_max;	/* its size bound in bytes */
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

/*
 * The image from the build cache: when the entry for j->inputs is whole,
 * link it into images/<v> (atomically, as a build would) and return 1;
 * 0 when there is none; <0 on error.
 */
int hv_recipe_fetch(struct hv_job *j);

/* ---- cache.c */

/* The files of an entry (and of images/<v>), NULL-ended. */
extern const char *const hv_entry_files[];
/* flock on <cache>/.lock (made if missing); returns the fd or <0. */
int hv_cache_lock(const char *cache_dir, bool exclusive);
void hv_cache_unlock(int fd);
/* Hard-link (else copy) hv_entry_files from one directory to another. */
int hv_link_files(const char *from_dir, const char *to_dir);
/* Under the exclusive lock: remove stale temporary entries, then least
 * recently used entries (never keep) until at most max_bytes remain. */
int hv_cache_evict(const char *cache_dir, int64_t max_bytes,
		   const char *keep, struct hv_cache_stats *st);

/* ---- srctree.c */

/* Snapshot hash of a plain tree (skip: a relative path left out). */
int hv_tree_snapshot(const char *root, const char *skip,
		     char hex[SHA256_HEX_LEN + 1], int *nfiles);
/* dst made afresh as a copy of the tree (without skip). */
int hv_tree_copy(const char *root, const char *skip, const char *dst);
/* Whether root/rel exists (any type). */
bool hv_tree_has(const char *root, const char *rel);

/* ---- fsutil.c */

int hv_mkdir_p(const char *path, mode_t mode);
/* Remove a file or a tree (no symlinks followed); 0 if it is gone. */
int hv_rm_rf(const char *path);
/* Copy a file (contents and permission bits), fsync'd. */
int hv_copy_file(const char *from, const char *to);
/* The bytes of fd in to fd out (from, to name them in errors). */
int hv_copy_data(int in, int out, const char *from, const char *to);
void hv_fsync_path(const char *path);
/* The last n lines of a file (at most 64 KiB read from its end). */
void hv_tail_lines(const char *path, int n, struct strbuf *out);

#endif
