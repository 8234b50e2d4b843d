/* SPDX-License-Identifier: MIT */
/*
 * Variant builds: the in-tree stand-in (recipe "standin") or XMHF64's
 * tools/ci/build.sh (recipe "xmhf64", one git worktree per variant so
 * variants build in parallel).  Output per variant:
 *
 *   images/<variant>/init.bin
 *   images/<variant>/hypervisor.bin.gz
 *   images/<variant>/MANIFEST     inputs and sha256 of each file (below)
 *   images/<variant>/build.log    the full output of the build that made it
 *
 * and, next to them, labctl's own files:
 *
 *   images/.logs/<variant>.log    the log of the latest build, written while
 *                                 it runs (tail -f it); kept when it fails
 *   images/.locks/<variant>       flock: one build of a variant at a time,
 *                                 across processes
 *   images/.worktrees/<variant>/  xmhf64: the variant's git worktree, or
 *                                 its copy of a plain source directory
 *   images/.cache/<inputs>/       every build, by inputs ($LABCTL_CACHE_DIR)
 *   images/<variant>.tmp-XXXXXX/  a build in progress
 *
 * Atomic update: a build fills images/<variant>.tmp-XXXXXX/ and then
 * swaps it with images/<variant>/ in one renameat2(RENAME_EXCHANGE) (or a
 * plain rename when there was none), so images/<variant> is always either
 * the whole old image or the whole new one, never a mix.  A reader that
 * needs several files of one build opens the directory once (O_DIRECTORY)
 * and uses openat() on that fd: a swap during the read cannot mix builds.
 * A failed build leaves the previous image in place.
 *
 * Cache: a variant whose inputs hash equals the "inputs" line of its
 * MANIFEST, and whose files still have the sha256 the MANIFEST records,
 * is not rebuilt (state HV_CACHED).  Inputs:
 *   standin  sha256 over the sorted list of the hypervisor directory's
 *            source files (top level: *.c *.h *.S *.ld Makefile; name, size
 *            and contents of each), plus variant name, arch, options and
 *            the first line of `$CC --version` (CC default gcc).  Contents,
 *            not times: `touch` alone does not rebuild.
 *   xmhf64   `git rev-parse HEAD` of src, a hash of the uncommitted changes
 *            (`git diff HEAD --binary` plus untracked, not ignored files),
 *            args, variant name, and the first line of `gcc --version`.
 *            With rev: that commit, no uncommitted changes.  A plain
 *            directory: "tree-" and the hash of all its files (srctree.c).
 *
 * Besides images/<v>, every build stays in the build cache (below): a
 * revert is a cache hit.
 *
 * MANIFEST format: UTF-8 text, one "key: value" per line ('\n' ends
 * lines).  A key is [a-z0-9][a-z0-9._-]*, followed by ':' and one space
 * (or by ':' and the end of the line for an empty value); the value is the
 * rest of the line, without control characters.  Lines that are empty or
 * start with '#' are comments.  A key appears at most once.  Readers
 * ignore keys they do not know; "format" changes only when an existing
 * key changes meaning.  Keys written (in this order):
 *
 *   format: 1
 *   variant: build64
 *   recipe: standin | xmhf64
 *   arch: amd64                     standin only
 *   options: 0x5fc                  standin only (HV_OPT, hex)
 *   src: /home/me/uberxmhf          xmhf64 only (absolute)
 *   src_kind: git | tree            xmhf64: a git checkout or a plain
 *                                   directory (an unpacked tarball)
 *   rev: lhv                        xmhf64 with a rev key: as written
 *   args: amd64 fast circleci O3    xmhf64 only
 *   source: /abs/hypervisor         standin only: the sources built
 *   source_rev: <40 hex>            xmhf64: the commit built
 *               tree-<64 hex>       standin, and xmhf64 from a plain
 *                                   directory: hash of the source files
 *   source_dirty: none | <64 hex>   hash of the uncommitted changes
 *   revision: <rev>[+dirty-<12 hex>]  one string for reports
 *   hypervisor: lhv | xmhf | standin  what was built: from the banner in
 *                                   init.bin, else LHV's sources in the
 *                                   tree, else --lhv-opt in args
 *   hypervisor_from: banner | tree | args | recipe
 *   compiler: gcc (Debian 12.2.0-14) 12.2.0
 *   inputs: <64 hex>                the cache key (above)
 *   built_at: 2024-05-01T12:00:00.123456+02:00
 *   build_ms: 512
 *   labctl: 0.1.0-g0123456789ab
 *   sha256.init.bin: <64 hex>
 *   size.init.bin: 12345
 *   sha256.hypervisor.bin.gz: <64 hex>
 *   size.hypervisor.bin.gz: 6789
 */
#ifndef HVIMAGE_BUILD_H
#define HVIMAGE_BUILD_H

#include <stdbool.h>
#include <stdint.h>

#include "hvimage/sha256.h"
#include "lib/strbuf.h"

#define HV_INIT_FILE "init.bin"
#define HV_MODULE_FILE "hypervisor.bin.gz"
#define HV_MANIFEST_FILE "MANIFEST"
#define HV_LOG_FILE "build.log"
#define HV_MANIFEST_FORMAT "1"
/* Longest variant name (the stand-in's own limit is 31). */
#define HV_VARIANT_NAME_MAX 64
/* Lines of a failed build's log printed to stderr. */
#define HV_FAIL_TAIL_LINES 20

struct hv_variant {
	const char *name;
	const char *recipe;	/* "standin" | "xmhf64" */
	const char *arch;	/* standin: "i386" | "amd64" */
	uint32_t options;	/* standin: HV_OPT */
	const char *src;	/* xmhf64: source tree ("~/" is expanded) */
	const char *args;	/* xmhf64: build.sh arguments, split at blanks */
	const char *rev;	/* xmhf64: branch, tag or commit of src to build
				 * (its own worktree; src's uncommitted changes
				 * are not used); NULL: src as it is */
};

enum hv_build_state {
	HV_QUEUED,
	HV_BUILDING,
	HV_CACHED,
	HV_DONE,
	HV_FAILED,
};

/* "queued", "building", "cached", "done", "failed". */
const char *hv_build_state_name(enum hv_build_state s);

struct hv_build_result {
	enum hv_build_state state;
	int64_t elapsed_ms;	/* cache check + build, wall time */
	char sha256_init[SHA256_HEX_LEN + 1];	/* "" unless cached/done */
	char sha256_module[SHA256_HEX_LEN + 1];
	char *source_rev;	/* owned; MANIFEST "revision", or NULL */
	char *log_path;		/* owned; images/<v>/build.log when cached or
				 * done, images/.logs/<v>.log when failed */
	char *dir;		/* owned; images/<v> */
	char *error;		/* owned; why it failed (one line), or NULL */
};

enum hv_progress {
	HV_PROGRESS_NONE,	/* nothing on stderr (failures still are) */
	HV_PROGRESS_PLAIN,	/* "build64: building", "build64: done 0.5s" */
	HV_PROGRESS_TTY,	/* one live line per variant, redrawn */
};

struct hv_build_opts {
	const char *images_dir;	/* NULL: hv_default_images_dir() */
	const char *hypervisor_dir; /* stand-in sources; NULL: hv_find_hypervisor_dir() */
	int jobs;		/* parallel builds; 0: number of cores */
	bool force;		/* rebuild even when cached */
	enum hv_progress progress;
	int64_t timeout_ms;	/* per step (make, build.sh, a git command);
				 * 0: 30 minutes */
	const char *cache_dir;	/* NULL: hv_cache_dir(images_dir) */
	int64_t cache_max;	/* bytes; 0: hv_cache_max_env() */
};

/*
 * Build n variants (names must be distinct); res[i] is filled for each
 * (release with hv_build_result_release).  Returns 0 when all were built
 * or cached; -LAB_EINVAL before building anything when a variant is not
 * buildable (bad name, unknown recipe or arch, xmhf64 without src);
 * -LAB_ECONFIG when the stand-in sources cannot be found; -LAB_EINTR
 * after SIGINT/SIGTERM (running builds are killed); -LAB_EINFRA when a
 * build failed (message names the failed variants and their logs; the
 * last HV_FAIL_TAIL_LINES lines of each log were printed to stderr).
 * SIGINT and SIGTERM are caught while it runs and restored after.
 */
int hv_build(const struct hv_variant *v, int n, const struct hv_build_opts *o,
	     struct hv_build_result *res);
void hv_build_result_release(struct hv_build_result *r);

/* $LABCTL_IMAGES, else "images" (relative to the current directory). */
const char *hv_default_images_dir(void);
/*
 * The stand-in's source directory: $LABCTL_HYPERVISOR_DIR, else
 * ./hypervisor, else hypervisor/ of the tree the running labctl was built
 * in (<exe>/../../../hypervisor), else <datadir>/hypervisor; the first
 * that has a Makefile.  Returns a malloc'd path or NULL (-LAB_ECONFIG
 * recorded).
 */
char *hv_find_hypervisor_dir(void);
/* "~/x" -> "$HOME/x"; anything else copied.  Always malloc'd. */
char *hv_expand_home(const char *path);
/* A variant name usable as a directory name: [A-Za-z0-9][A-Za-z0-9._-]*. */
bool hv_valid_variant_name(const char *name);

/* ------------------------------------------------------------ cache
 * Every build is kept in the cache by its inputs hash (cache.c): a build
 * whose inputs were built before, by any earlier run, is taken from there
 * (state HV_CACHED) instead of rebuilt, and images/<v>/ gets hard links
 * to that entry's files.  Beyond the size bound the least recently used
 * entries are removed after each build and by hv_cache_prune.
 */
#define HV_CACHE_DEFAULT_MAX (512LL << 20)

struct hv_cache_stats {
	int kept, removed;
	int64_t kept_bytes, removed_bytes;
};

/* $LABCTL_CACHE_DIR, else <images_dir>/.cache (NULL: the default images
 * directory); malloc'd. */
char *hv_cache_dir(const char *images_dir);
/* "0", "500K", "256M", "2G" (K, M, G are 1024-based; a bare number is
 * bytes). -LAB_EINVAL with a message. */
int hv_parse_size(const char *s, int64_t *bytes);
/* $LABCTL_CACHE_SIZE, else HV_CACHE_DEFAULT_MAX: 1 when the environment
 * set it, 0 when not, -LAB_ECONFIG when it is not a size. */
int hv_cache_max_env(int64_t *bytes);
/* Remove least recently used entries until at most max_bytes remain. */
int hv_cache_prune(const char *cache_dir, int64_t max_bytes,
		   struct hv_cache_stats *st);

/*
 * What a variant builds, without building it: "lhv", "xmhf" or "standin",
 * or NULL when nothing says.  From images_dir/<v>/MANIFEST ("hypervisor",
 * recorded at build time from the built init.bin's banner, else the tree)
 * when that build is of the same src, rev and args; else from the source
 * tree itself (LHV's own sources, at rev for a git checkout).  *from gets
 * "build" or "tree".  Never fails.
 */
const char *hv_variant_kind(const struct hv_variant *v, const char *images_dir,
			    const char **from);

/* ------------------------------------------------------------ manifest */

struct hv_manifest_entry {
	char *key;
	char *value;
};

struct hv_manifest {
	struct hv_manifest_entry *e;	/* owned, in file order */
	int n;
};

#define HV_MANIFEST_INIT { NULL, 0 }

/* Parse text (what names it in messages); -LAB_EFORMAT "what:LINE: ...". */
int hv_manifest_parse(struct hv_manifest *m, const char *text, size_t len,
		      const char *what);
/* Read and parse a file (-LAB_ENOENT when it does not exist). */
int hv_manifest_load(struct hv_manifest *m, const char *path);
/* The value of key, or NULL. */
const char *hv_manifest_get(const struct hv_manifest *m, const char *key);
/* Set key (replacing its value in place, or appending); -LAB_EINVAL for a
 * key or value the format cannot hold. */
int hv_manifest_set(struct hv_manifest *m, const char *key, const char *value);
/* Render as the file's text (a comment line, then "key: value" lines). */
void hv_manifest_format(const struct hv_manifest *m, struct strbuf *out);
void hv_manifest_release(struct hv_manifest *m);

/* ------------------------------------------------------------ pieces
 * The steps hv_build is made of, for tests and for verbs that only look.
 */

/*
 * Hash the stand-in's source files (see "Inputs" above); *nfiles gets
 * their number.  -LAB_ECONFIG when the directory has no Makefile.
 */
int hv_standin_tree_hash(const char *hypervisor_dir,
			 char hex[SHA256_HEX_LEN + 1], int *nfiles);
/* The inputs hash of a stand-in variant from the tree hash and compiler. */
void hv_standin_inputs(const struct hv_variant *v, const char *tree_hex,
		       const char *compiler, char hex[SHA256_HEX_LEN + 1]);
/* The inputs hash of an xmhf64 variant. */
void hv_xmhf64_inputs(const struct hv_variant *v, const char *rev,
		      const char *dirty_hex, const char *compiler,
		      char hex[SHA256_HEX_LEN + 1]);
/* First line of `cc --version` (cc as in $CC, default gcc); malloc'd. */
int hv_compiler_version(const char *cc, char **out);

/*
 * The cache decision for one variant directory (images/<v>): 1 when its
 * MANIFEST says inputs == inputs_hex and both image files still have the
 * recorded sha256 (m, if not NULL, then holds the MANIFEST); 0 when it
 * must be rebuilt (missing, other inputs, changed or missing files,
 * unreadable MANIFEST).  Never fails.
 */
int hv_cache_check(const char *variant_dir, const char *inputs_hex,
		   struct hv_manifest *m);

#endif
