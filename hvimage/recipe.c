// SPDX-License-Identifier: MIT
/*
 * What a variant's build is: its inputs hash, the cache decision, the two
 * recipes (stand-in make, XMHF64 build.sh in a worktree), and installing
 * the result as images/<variant>/ with its MANIFEST.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hvimage/build_priv.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/fileio.h"
#include "lib/spawn.h"
#include "lib/xmalloc.h"

#ifndef LABCTL_VERSION
#define LABCTL_VERSION "unknown"
#endif

#define GIT_TIMEOUT_MS (5 * 60 * 1000)

/* ------------------------------------------------------------ inputs */

static bool standin_source(const char *name)
{
	size_t len = strlen(name);
	static const char *const ext[] = { ".c", ".h", ".S", ".ld", NULL };
	const char *const *e;

	if (name[0] == '.')
		return false;
	if (!strcmp(name, "Makefile"))
		return true;
	for (e = ext; *e; e++) {
		size_t el = strlen(*e);

		if (len > el && !strcmp(name + len - el, *e))
			return true;
	}
	return false;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int hv_standin_tree_hash(const char *dir, char hex[SHA256_HEX_LEN + 1],
			 int *nfiles)
{
	struct lab_sha256 c;
	char **names = NULL;
	struct dirent *de;
	int n = 0, i, ret = 0;
	bool makefile = false;
	DIR *d = opendir(dir);

	if (!d)
		return lab_err_errno(errno, "cannot read the stand-in sources in %s",
				     dir);
	while ((de = readdir(d))) {
		if (!standin_source(de->d_name))
			continue;
		names = xrealloc(names, (size_t)(n + 1) * sizeof(*names));
		names[n++] = xstrdup(de->d_name);
		if (!strcmp(de->d_name, "Makefile"))
			makefile = true;
	}
	closedir(d);
	if (!makefile) {
		ret = lab_err(LAB_ECONFIG, "%s has no Makefile: not the stand-in hypervisor's sources",
			      dir);
		goto out;
	}
	qsort(names, (size_t)n, sizeof(*names), cmp_str);
	lab_sha256_init(&c);
	lab_sha256_addstr(&c, "labctl standin tree 1\n");
	for (i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]);
		struct lab_sha256 f;
		char fhex[SHA256_HEX_LEN + 1], line[512];
		uint64_t size = 0;
		struct stat st;

		/* Only regular files (a directory named x.c is not a source). */
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		lab_sha256_init(&f);
		ret = lab_sha256_update_file(&f, path, &size);
		free(path);
		if (ret) {
			lab_sha256_release(&f);
			lab_sha256_release(&c);
			goto out;
		}
		lab_sha256_final_hex(&f, fhex);
		snprintf(line, sizeof(line), "%s %llu %s\n", fhex,
			 (unsigned long long)size, names[i]);
		lab_sha256_addstr(&c, line);
	}
	lab_sha256_final_hex(&c, hex);
	if (nfiles)
		*nfiles = n;
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return ret;
}

static void add_kv(struct lab_sha256 *c, const char *k, const char *v)
{
	lab_sha256_addstr(c, k);
	lab_sha256_addstr(c, "=");
	lab_sha256_addstr(c, v ? v : "");
	lab_sha256_addstr(c, "\n");
}

void hv_standin_inputs(const struct hv_variant *v, const char *tree_hex,
		       const char *compiler, char hex[SHA256_HEX_LEN + 1])
{
	struct lab_sha256 c;
	char opt[16];

	snprintf(opt, sizeof(opt), "0x%x", v->options);
	lab_sha256_init(&c);
	lab_sha256_addstr(&c, "labctl standin inputs 1\n");
	add_kv(&c, "variant", v->name);
	add_kv(&c, "arch", v->arch);
	add_kv(&c, "options", opt);
	add_kv(&c, "compiler", compiler);
	add_kv(&c, "tree", tree_hex);
	lab_sha256_final_hex(&c, hex);
}

void hv_xmhf64_inputs(const struct hv_variant *v, const char *rev,
		      const char *dirty_hex, const char *compiler,
		      char hex[SHA256_HEX_LEN + 1])
{
	struct lab_sha256 c;

	lab_sha256_init(&c);
	lab_sha256_addstr(&c, "labctl xmhf64 inputs 1\n");
	add_kv(&c, "variant", v->name);
	add_kv(&c, "args", v->args);
	add_kv(&c, "rev", rev);
	add_kv(&c, "dirty", dirty_hex);
	add_kv(&c, "compiler", compiler);
	lab_sha256_final_hex(&c, hex);
}

/* Split at blanks into a NULL-terminated vector (words point into *copy). */
static char **split_words(const char *s, char **copy, int *count)
{
	char **w = NULL, *p, *save = NULL;
	int n = 0;

	*copy = xstrdup(s ? s : "");
	for (p = strtok_r(*copy, " \t", &save); p; p = strtok_r(NULL, " \t", &save)) {
		w = xrealloc(w, (size_t)(n + 2) * sizeof(*w));
		w[n++] = p;
	}
	if (!w)
		w = xcalloc(1, sizeof(*w));
	w[n] = NULL;
	if (count)
		*count = n;
	return w;
}

int hv_compiler_version(const char *cc, char **out)
{
	struct strbuf sb = STRBUF_INIT;
	struct spawn_opts so = { 0 };
	char *copy, **argv;
	int n, ret;
	size_t nl;

	argv = split_words(cc, &copy, &n);
	if (!n) {
		free(argv);
		free(copy);
		return lab_err(LAB_EINVAL, "no compiler named");
	}
	argv = xrealloc(argv, (size_t)(n + 2) * sizeof(*argv));
	argv[n] = (char *)"--version";
	argv[n + 1] = NULL;
	so.out = &sb;
	so.timeout_ms = 30000;
	ret = lab_run((const char *const *)argv, &so);
	if (!ret) {
		nl = strcspn(strbuf_str(&sb), "\r\n");
		*out = xstrndup(strbuf_str(&sb), nl);
		if (!**out) {
			free(*out);
			*out = xstrdup("unknown");
		}
	}
	strbuf_release(&sb);
	free(argv);
	free(copy);
	return ret;
}

/* ------------------------------------------------------------ cache */

static const char *const image_files[] = { HV_INIT_FILE, HV_MODULE_FILE, NULL };

int hv_cache_check(const char *dir, const char *inputs_hex,
		   struct hv_manifest *m)
{
	struct hv_manifest man = HV_MANIFEST_INIT;
	char *path = xasprintf("%s/" HV_MANIFEST_FILE, dir);
	const char *const *f;
	const char *v;
	int fresh = 0;

	if (hv_manifest_load(&man, path) < 0)
		goto out;
	v = hv_manifest_get(&man, "format");
	if (!v || strcmp(v, HV_MANIFEST_FORMAT))
		goto out;
	v = hv_manifest_get(&man, "inputs");
	if (!v || strcmp(v, inputs_hex))
		goto out;
	for (f = image_files; *f; f++) {
		char key[64], hex[SHA256_HEX_LEN + 1], *p;
		int ret;

		snprintf(key, sizeof(key), "sha256.%s", *f);
		v = hv_manifest_get(&man, key);
		p = xasprintf("%s/%s", dir, *f);
		ret = lab_sha256_file(p, hex, NULL);
		free(p);
		if (!v || ret < 0 || strcmp(v, hex))
			goto out;
	}
	fresh = 1;
	if (m) {
		hv_manifest_release(m);
		*m = man;
		man = (struct hv_manifest)HV_MANIFEST_INIT;
	}
out:
	hv_manifest_release(&man);
	free(path);
	lab_err_clear();
	return fresh;
}

static void fill_result(struct hv_job *j, const struct hv_manifest *m)
{
	struct hv_build_result *r = j->res;
	const char *s;

	s = hv_manifest_get(m, "sha256." HV_INIT_FILE);
	snprintf(r->sha256_init, sizeof(r->sha256_init), "%s", s ? s : "");
	s = hv_manifest_get(m, "sha256." HV_MODULE_FILE);
	snprintf(r->sha256_module, sizeof(r->sha256_module), "%s", s ? s : "");
	s = hv_manifest_get(m, "revision");
	free(r->source_rev);
	r->source_rev = s ? xstrdup(s) : NULL;
	free(r->log_path);
	r->log_path = xasprintf("%s/" HV_LOG_FILE, j->dir);
	free(r->dir);
	r->dir = xstrdup(j->dir);
}

/* ------------------------------------------------------------ xmhf64 */

static int git_fail(struct hv_job *j, int ret, const char *what)
{
	/* lab_err formats into the buffer lab_errmsg returns: a copy. */
	char *why = xstrdup(lab_errmsg(ret));

	ret = lab_err(ret == -LAB_EPROGRAM ? LAB_EINFRA : -ret,
		      "variant %s: %s in %s: %s", j->v->name, what, j->src, why);
	free(why);
	return ret;
}

/* HEAD, uncommitted changes and untracked files of the source tree. */
static int xmhf_source_state(struct hv_job *j)
{
	struct hv_ctx *ctx = j->ctx;
	struct strbuf rev = STRBUF_INIT, list = STRBUF_INIT;
	struct lab_sha256 c;
	char *src = hv_expand_home(j->v->src), *copy, *skip = NULL;
	int ret = 0, n = 0, i;
	size_t off;

	j->src = realpath(src, NULL);
	if (!j->src) {
		ret = lab_err_errno(errno, "variant %s: cannot resolve src %s",
				    j->v->name, src);
		free(src);
		return ret;
	}
	free(src);
	/* Blanks squeezed: "a  b" and "a b" are the same build. */
	{
		char **w = split_words(j->v->args, &copy, &n);
		struct strbuf a = STRBUF_INIT;

		for (i = 0; i < n; i++)
			strbuf_addf(&a, "%s%s", i ? " " : "", w[i]);
		j->args = strbuf_detach(&a, NULL);
		free(w);
		free(copy);
	}

	/* Our own images directory inside the source tree (labctl run from
	 * the XMHF checkout) is not a source. */
	{
		size_t sl = strlen(j->src);

		if (!strncmp(ctx->images_abs, j->src, sl) &&
		    ctx->images_abs[sl] == '/')
			j->skip = xstrdup(ctx->images_abs + sl + 1);
	}
	if (!hv_tree_has(j->src, ".git")) {
		char hex[SHA256_HEX_LEN + 1];

		if (j->v->rev && *j->v->rev) {
			ret = lab_err(LAB_ECONFIG,
				      "variant %s: rev = %s needs a git checkout, and src %s is a plain directory",
				      j->v->name, j->v->rev, j->src);
			goto out;
		}
		if (!hv_tree_has(j->src, "tools/ci/build.sh")) {
			ret = lab_err(LAB_ECONFIG,
				      "variant %s: src %s is a plain directory with no tools/ci/build.sh: not an XMHF64 tree (a git checkout or an unpacked tarball)",
				      j->v->name, j->src);
			goto out;
		}
		/* An unpacked tarball: its snapshot is its contents. */
		j->plain = true;
		ret = hv_tree_snapshot(j->src, j->skip, hex, &n);
		if (ret)
			goto out;
		j->rev = xasprintf("tree-%s", hex);
		strcpy(j->dirty, "none");
		hv_job_log(j, "labctl: %s is a plain directory (no git): %d files, snapshot %s\n",
			   j->src, n, j->rev);
		goto out;
	}
	if (j->v->rev && *j->v->rev) {
		/* Another branch of the same clone: its commit as committed.
		 * A fresh clone has the branch as origin/REV only. */
		char *spec = xasprintf("%s^{commit}", j->v->rev);
		char *remote = xasprintf("refs/remotes/origin/%s^{commit}", j->v->rev);
		const char *const a_rev[] = { "git", "-C", j->src, "rev-parse",
					      "--verify", "-q", "--end-of-options",
					      spec, NULL };
		const char *const a_remote[] = { "git", "-C", j->src, "rev-parse",
						 "--verify", "-q", "--end-of-options",
						 remote, NULL };

		if (j->v->rev[0] == '-') {
			ret = lab_err(LAB_ECONFIG, "variant %s: rev '%s' is not a branch, tag or commit",
				      j->v->name, j->v->rev);
			free(spec);
			free(remote);
			goto out;
		}
		pthread_mutex_lock(&ctx->git_lock);
		ret = hv_job_capture(j, a_rev, NULL, 0, &rev);
		if (ret == -LAB_EPROGRAM) {
			strbuf_reset(&rev);
			ret = hv_job_capture(j, a_remote, NULL, 0, &rev);
		}
		pthread_mutex_unlock(&ctx->git_lock);
		free(spec);
		free(remote);
		if (ret == -LAB_EPROGRAM)
			ret = lab_err(LAB_ECONFIG, "variant %s: rev = %s is no branch, tag or commit in %s",
				      j->v->name, j->v->rev, j->src);
		else if (ret)
			ret = git_fail(j, ret, "git rev-parse failed");
		if (ret)
			goto out;
		strbuf_rtrim(&rev);
		j->rev = strbuf_detach(&rev, NULL);
		strcpy(j->dirty, "none");
		goto out;
	}

	pthread_mutex_lock(&ctx->git_lock);
	{
		const char *const a_rev[] = { "git", "-C", j->src, "rev-parse",
					      "--verify", "-q", "HEAD^{commit}",
					      NULL };
		const char *const a_diff[] = { "git", "-C", j->src,
					       "-c", "core.quotepath=false",
					       "-c", "diff.noprefix=false",
					       "-c", "diff.mnemonicprefix=false",
					       "diff", "--no-ext-diff", "--no-color",
					       "--no-textconv", "--binary", "HEAD",
					       NULL };
		const char *const a_other[] = { "git", "-C", j->src, "ls-files",
						"-z", "--others",
						"--exclude-standard", NULL };

		ret = hv_job_capture(j, a_rev, NULL, 0, &rev);
		if (ret) {
			ret = git_fail(j, ret, "cannot read the commit (is it a git checkout with a commit?)");
			goto unlock;
		}
		ret = hv_job_capture(j, a_diff, NULL, 0, &j->diff);
		if (ret) {
			ret = git_fail(j, ret, "git diff HEAD failed");
			goto unlock;
		}
		ret = hv_job_capture(j, a_other, NULL, 0, &list);
		if (ret)
			ret = git_fail(j, ret, "git ls-files failed");
	}
unlock:
	pthread_mutex_unlock(&ctx->git_lock);
	if (ret)
		goto out;
	strbuf_rtrim(&rev);
	j->rev = strbuf_detach(&rev, NULL);

	/* Untracked names, NUL-separated; "dir/" entries (nested repos)
	 * skipped, and so is our own images directory. */
	if (j->skip)
		skip = xasprintf("%s/", j->skip);
	n = 0;
	for (off = 0; off < list.len; ) {
		const char *name = list.buf + off;
		size_t len = strlen(name);

		off += len + 1;
		if (!len || name[len - 1] == '/' ||
		    (skip && !strncmp(name, skip, strlen(skip))))
			continue;
		j->untracked = xrealloc(j->untracked, (size_t)(n + 2) * sizeof(char *));
		j->untracked[n++] = xstrdup(name);
		j->untracked[n] = NULL;
	}
	if (n)
		qsort(j->untracked, (size_t)n, sizeof(char *), cmp_str);

	if (!j->diff.len && !n) {
		strcpy(j->dirty, "none");
		goto out;
	}
	lab_sha256_init(&c);
	lab_sha256_addstr(&c, "labctl uncommitted 1\ndiff\n");
	lab_sha256_update(&c, j->diff.buf ? j->diff.buf : "", j->diff.len);
	for (i = 0; i < n; i++) {
		char *p = xasprintf("%s/%s", j->src, j->untracked[i]);
		char line[64];
		struct stat st;
		uint64_t size = 0;

		lab_sha256_addstr(&c, "\nuntracked ");
		lab_sha256_update(&c, j->untracked[i], strlen(j->untracked[i]) + 1);
		if (lstat(p, &st) == 0 && S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t tl = readlink(p, target, sizeof(target));

			lab_sha256_addstr(&c, "symlink ");
			if (tl > 0)
				lab_sha256_update(&c, target, (size_t)tl);
		} else {
			snprintf(line, sizeof(line), "mode %o\n",
				 (unsigned)(st.st_mode & 0111));
			lab_sha256_addstr(&c, line);
			ret = lab_sha256_update_file(&c, p, &size);
		}
		free(p);
		if (ret) {
			lab_sha256_release(&c);
			goto out;
		}
	}
	lab_sha256_final_hex(&c, j->dirty);
out:
	strbuf_release(&rev);
	strbuf_release(&list);
	free(skip);
	return ret;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* A clean worktree of the source at j->rev in wt. */
static int xmhf_worktree(struct hv_job *j, const char *wt)
{
	struct hv_ctx *ctx = j->ctx;
	char *dotgit = xasprintf("%s/.git", wt);
	int ret = -1;

	pthread_mutex_lock(&ctx->git_lock);
	if (exists(dotgit)) {
		const char *const a_reset[] = { "git", "-C", wt, "reset", "-q",
						"--hard", j->rev, NULL };
		const char *const a_clean[] = { "git", "-C", wt, "clean", "-q",
						"-f", "-d", NULL };

		ret = hv_job_run(j, a_reset, NULL);
		if (!ret)
			ret = hv_job_run(j, a_clean, NULL);
		if (ret == -LAB_EINTR)
			goto out;
		if (ret)
			hv_job_log(j, "labctl: the worktree %s is unusable, making it again\n",
				   wt);
	}
	if (ret) {
		const char *const a_prune[] = { "git", "-C", j->src, "worktree",
						"prune", NULL };
		const char *const a_add[] = { "git", "-C", j->src, "worktree",
					      "add", "--detach", "--force", wt,
					      j->rev, NULL };

		ret = hv_rm_rf(wt);
		if (!ret)
			ret = hv_job_run(j, a_prune, NULL);
		if (!ret)
			ret = hv_job_run(j, a_add, NULL);
		if (ret && ret != -LAB_EINTR)
			ret = lab_err(LAB_EINFRA, "variant %s: cannot make a git worktree of %s in %s: %s",
				      j->v->name, j->src, wt, lab_errmsg(ret));
	}
out:
	pthread_mutex_unlock(&ctx->git_lock);
	free(dotgit);
	return ret;
}

/* Uncommitted changes and untracked files of src, into the worktree. */
static int xmhf_copy_changes(struct hv_job *j, const char *wt)
{
	int ret = 0, i;

	if (j->diff.len) {
		const char *const a_apply[] = { "git", "-C", wt, "apply",
						"--whitespace=nowarn", "-", NULL };

		ret = hv_job_capture(j, a_apply, j->diff.buf, j->diff.len, NULL);
		if (ret)
			return ret == -LAB_EINTR ? ret :
			       lab_err(LAB_EINFRA, "variant %s: cannot apply the uncommitted changes of %s to %s: %s",
				       j->v->name, j->src, wt, lab_errmsg(ret));
	}
	for (i = 0; j->untracked && j->untracked[i] && !ret; i++) {
		char *from = xasprintf("%s/%s", j->src, j->untracked[i]);
		char *to = xasprintf("%s/%s", wt, j->untracked[i]);
		char *dir = xstrdup(to);
		struct stat st;

		ret = hv_mkdir_p(dirname(dir), 0755);
		if (!ret && lstat(from, &st) == 0 && S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t n = readlink(from, target, sizeof(target) - 1);

			unlink(to);
			if (n < 0 || (target[n] = 0, symlink(target, to) < 0))
				ret = lab_err_errno(errno, "cannot copy %s", from);
		} else if (!ret) {
			ret = hv_copy_file(from, to);
		}
		free(from);
		free(to);
		free(dir);
	}
	if (!ret && j->untracked)
		hv_job_log(j, "labctl: copied %d untracked file(s)\n", i);
	return ret;
}

/* Exactly one file matching pattern in wt: moved to tmpdir/name. */
static int collect(struct hv_job *j, const char *wt, const char *pattern,
		   const char *tmpdir, const char *name)
{
	char *pat = xasprintf("%s/%s", wt, pattern), *to;
	glob_t g;
	int ret = 0, rc;

	rc = glob(pat, 0, NULL, &g);
	if (rc == GLOB_NOMATCH || (rc == 0 && g.gl_pathc == 0)) {
		ret = lab_err(LAB_EINFRA, "variant %s: build.sh made no %s in %s",
			      j->v->name, pattern, wt);
	} else if (rc != 0) {
		ret = lab_err(LAB_EIO, "variant %s: cannot list %s", j->v->name, pat);
	} else if (g.gl_pathc > 1) {
		ret = lab_err(LAB_EINFRA, "variant %s: build.sh made %zu files %s (%s, %s%s): which one?",
			      j->v->name, (size_t)g.gl_pathc, pattern,
			      g.gl_pathv[0], g.gl_pathv[1],
			      g.gl_pathc > 2 ? ", ..." : "");
	} else {
		to = xasprintf("%s/%s", tmpdir, name);
		if (rename(g.gl_pathv[0], to) < 0) {
			if (errno == EXDEV)
				ret = hv_copy_file(g.gl_pathv[0], to);
			else
				ret = lab_err_errno(errno, "cannot move %s to %s",
						    g.gl_pathv[0], to);
		}
		if (!ret)
			hv_job_log(j, "labctl: %s -> %s\n", g.gl_pathv[0], name);
		free(to);
	}
	if (rc == 0)
		globfree(&g);
	free(pat);
	return ret;
}

static void remove_matching(const char *wt, const char *pattern)
{
	char *pat = xasprintf("%s/%s", wt, pattern);
	glob_t g;
	size_t i;

	if (glob(pat, 0, NULL, &g) == 0) {
		for (i = 0; i < g.gl_pathc; i++)
			unlink(g.gl_pathv[i]);
		globfree(&g);
	}
	free(pat);
}

/* A plain directory: a fresh private copy, checked against the snapshot
 * the inputs were computed from (an edit meanwhile would be mislabelled). */
static int plain_copy(struct hv_job *j, const char *wt)
{
	char hex[SHA256_HEX_LEN + 1];
	int ret;

	hv_job_log(j, "labctl: copying %s to %s\n", j->src, wt);
	ret = hv_tree_copy(j->src, j->skip, wt);
	if (!ret)
		ret = hv_tree_snapshot(wt, NULL, hex, NULL);
	if (!ret && strcmp(j->rev + 5, hex))
		ret = lab_err(LAB_EINFRA, "variant %s: %s changed while it was copied (snapshot tree-%.12s, copy tree-%.12s): build again",
			      j->v->name, j->src, j->rev + 5, hex);
	return ret;
}

/* What the tree at wt builds: LHV's own sources are only on its branch. */
#define LHV_TREE_FILE "xmhf/src/xmhf-core/xmhf-runtime/xmhf-startup/lhv.c"
#define LHV_BANNER "Lightweight Hypervisor (LHV)"
#define XMHF_BANNER "eXtensible Modular Hypervisor Framework"

static int build_xmhf64(struct hv_job *j, const char *tmpdir)
{
	char *wt = xasprintf("%s/.worktrees/%s", j->ctx->images_abs, j->v->name);
	char *wtdir = xasprintf("%s/.worktrees", j->ctx->images_abs);
	char *copy, **words, **argv;
	int ret, n, i;

	ret = hv_mkdir_p(wtdir, 0755);
	if (!ret && j->plain)
		ret = plain_copy(j, wt);
	else if (!ret)
		ret = xmhf_worktree(j, wt);
	if (!ret && !j->plain)
		ret = xmhf_copy_changes(j, wt);
	if (ret)
		goto out;
	remove_matching(wt, "init-x86-*.bin");
	remove_matching(wt, "hypervisor-x86-*.bin.gz");
	words = split_words(j->args, &copy, &n);
	argv = xcalloc((size_t)n + 2, sizeof(*argv));
	argv[0] = (char *)"./tools/ci/build.sh";
	for (i = 0; i < n; i++)
		argv[i + 1] = words[i];
	ret = hv_job_run(j, (const char *const *)argv, wt);
	free(argv);
	free(words);
	free(copy);
	if (!ret)
		ret = collect(j, wt, "init-x86-*.bin", tmpdir, HV_INIT_FILE);
	if (!ret)
		ret = collect(j, wt, "hypervisor-x86-*.bin.gz", tmpdir,
			      HV_MODULE_FILE);
	if (!ret)
		j->tree_lhv = hv_tree_has(wt, LHV_TREE_FILE);
out:
	free(wt);
	free(wtdir);
	return ret;
}

/* ------------------------------------------------------------ standin */

static int build_standin(struct hv_job *j, const char *tmpdir)
{
	char a_j[16], a_arch[32], a_opt[32], *a_var, *a_out, *a_obj, *obj;
	const char *const *f;
	int ret;

	snprintf(a_j, sizeof(a_j), "-j%d", j->ctx->make_jobs);
	snprintf(a_arch, sizeof(a_arch), "ARCH=%s", j->v->arch);
	snprintf(a_opt, sizeof(a_opt), "HV_OPT=0x%x", j->v->options);
	a_var = xasprintf("VARIANT=%s", j->v->name);
	a_out = xasprintf("OUT=%s", tmpdir);
	obj = xasprintf("%s/obj", tmpdir);
	a_obj = xasprintf("OBJDIR=%s", obj);
	{
		const char *const argv[] = { "make", "-C", j->ctx->hypdir, a_j,
					     a_arch, a_opt, a_var, a_out, a_obj,
					     NULL };

		ret = hv_job_run(j, argv, NULL);
	}
	if (!ret)
		ret = hv_rm_rf(obj);
	for (f = image_files; *f && !ret; f++) {
		char *p = xasprintf("%s/%s", tmpdir, *f);

		if (!exists(p))
			ret = lab_err(LAB_EINFRA, "variant %s: make did not produce %s",
				      j->v->name, *f);
		free(p);
	}
	free(a_var);
	free(a_out);
	free(a_obj);
	free(obj);
	return ret;
}

/* ------------------------------------------------------------ the job */

int hv_recipe_check(struct hv_job *j)
{
	struct hv_ctx *ctx = j->ctx;
	struct hv_manifest m = HV_MANIFEST_INIT;
	int ret;

	if (!strcmp(j->v->recipe ? j->v->recipe : "standin", "xmhf64")) {
		ret = xmhf_source_state(j);
		if (ret)
			return ret;
		hv_xmhf64_inputs(j->v, j->rev, j->dirty, ctx->compiler, j->inputs);
	} else {
		hv_standin_inputs(j->v, ctx->tree_hex, ctx->compiler, j->inputs);
	}
	if (ctx->force)
		return 0;
	if (hv_cache_check(j->dir, j->inputs, &m) != 1)
		return 0;
	fill_result(j, &m);
	hv_manifest_release(&m);
	{
		/* In use: the last to go when the cache is over its bound. */
		char *entry = xasprintf("%s/%s", ctx->cache_abs, j->inputs);

		utimensat(AT_FDCWD, entry, NULL, 0);
		free(entry);
	}
	return 1;
}

int hv_recipe_build(struct hv_job *j, const char *tmpdir)
{
	if (!strcmp(j->v->recipe ? j->v->recipe : "standin", "xmhf64"))
		return build_xmhf64(j, tmpdir);
	return build_standin(j, tmpdir);
}

/* images/<v>.tmp-XXXXXX -> images/<v>, in one step when the fs can. */
static int swap_into_place(const char *tmp, const char *dir)
{
	char *old;
	int ret = 0;

	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_EXCHANGE) == 0)
		return hv_rm_rf(tmp);	/* the old image, now at tmp */
	if (errno == ENOENT) {
		if (rename(tmp, dir) == 0)
			return 0;
		return lab_err_errno(errno, "cannot rename %s to %s", tmp, dir);
	}
	if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
		return lab_err_errno(errno, "cannot replace %s with %s", dir, tmp);
	/* No RENAME_EXCHANGE here: old aside, new in (a reader may see no
	 * image for a moment, never a mixed one), old removed. */
	old = xasprintf("%s.old-%d-%lld", dir, (int)getpid(),
			(long long)lab_mono_ns());
	if (rename(dir, old) < 0) {
		ret = lab_err_errno(errno, "cannot move %s aside", dir);
	} else if (rename(tmp, dir) < 0) {
		ret = lab_err_errno(errno, "cannot rename %s to %s", tmp, dir);
		rename(old, dir);
	} else {
		hv_rm_rf(old);
	}
	free(old);
	return ret;
}

/* Whether a file holds the bytes of s (init.bin is not compressed). */
static bool file_has(const char *path, const char *s)
{
	struct strbuf sb = STRBUF_INIT;
	bool found = false;
	char buf[65536];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (!f)
		return false;
	while (sb.len < (64u << 20) && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&sb, buf, n);
	fclose(f);
	found = sb.len && memmem(sb.buf, sb.len, s, strlen(s)) != NULL;
	strbuf_release(&sb);
	return found;
}

/* What was built: its banner, else its tree, else its args. */
static const char *built_kind(struct hv_job *j, const char *tmpdir,
			      const char **from)
{
	char *init;
	bool lhv, xmhf;

	if (strcmp(j->v->recipe ? j->v->recipe : "standin", "xmhf64")) {
		*from = "recipe";
		return "standin";
	}
	init = xasprintf("%s/" HV_INIT_FILE, tmpdir);
	lhv = file_has(init, LHV_BANNER);
	xmhf = !lhv && file_has(init, XMHF_BANNER);
	free(init);
	if (lhv || xmhf) {
		*from = "banner";
		return lhv ? "lhv" : "xmhf";
	}
	if (j->tree_lhv) {
		*from = "tree";
		return "lhv";
	}
	*from = "args";
	return j->args && strstr(j->args, "--lhv-opt") ? "lhv" : "xmhf";
}

/*
 * Keep the build in the cache as the entry of its inputs (replacing a
 * damaged one), then hold the cache to its bound.  A cache that cannot
 * be written costs the next revert a rebuild, not this build: logged.
 */
static void cache_store(struct hv_job *j, const char *tmpdir)
{
	struct hv_ctx *ctx = j->ctx;
	struct hv_cache_stats st;
	char *entry = xasprintf("%s/%s", ctx->cache_abs, j->inputs);
	char *tmp = xasprintf("%s.tmp-XXXXXX", entry);
	int fd, ret;

	fd = hv_cache_lock(ctx->cache_abs, true);
	if (fd < 0) {
		ret = fd;
		goto out;
	}
	if (!mkdtemp(tmp)) {
		ret = lab_err_errno(errno, "cannot create %s", tmp);
		goto unlock;
	}
	chmod(tmp, ctx->dir_mode);	/* mkdtemp makes it 0700 */
	ret = hv_link_files(tmpdir, tmp);
	if (!ret)
		ret = hv_rm_rf(entry);
	if (!ret && rename(tmp, entry) < 0)
		ret = lab_err_errno(errno, "cannot rename %s to %s", tmp, entry);
	if (ret)
		hv_rm_rf(tmp);
	if (!ret)
		ret = hv_cache_evict(ctx->cache_abs, ctx->cache_max, j->inputs, &st);
	if (!ret && st.removed)
		hv_job_log(j, "labctl: cache %s: removed %d least recently used build(s) (%lld bytes) to stay within %lld bytes\n",
			   ctx->cache_abs, st.removed, (long long)st.removed_bytes,
			   (long long)ctx->cache_max);
unlock:
	hv_cache_unlock(fd);
out:
	if (ret)
		hv_job_log(j, "labctl: warning: cannot keep this build in the cache: %s\n",
			   lab_errmsg(ret));
	lab_err_clear();
	free(entry);
	free(tmp);
}

int hv_recipe_fetch(struct hv_job *j)
{
	struct hv_ctx *ctx = j->ctx;
	struct hv_manifest m = HV_MANIFEST_INIT;
	char *entry = xasprintf("%s/%s", ctx->cache_abs, j->inputs);
	char *tmp = NULL;
	int fd, ret = 0;

	if (ctx->force || access(entry, F_OK) < 0) {
		free(entry);
		return 0;
	}
	fd = hv_cache_lock(ctx->cache_abs, false);
	if (fd < 0) {
		free(entry);
		return fd;
	}
	if (hv_cache_check(entry, j->inputs, &m) != 1)
		goto unlock;	/* damaged: rebuilt, and replaced */
	tmp = xasprintf("%s/%s.tmp-XXXXXX", ctx->images_abs, j->v->name);
	if (!mkdtemp(tmp)) {
		ret = lab_err_errno(errno, "cannot create a directory like %s", tmp);
		goto unlock;
	}
	chmod(tmp, ctx->dir_mode);
	ret = hv_link_files(entry, tmp);
	if (ret) {
		/* An entry we cannot use costs a build, not a failure. */
		hv_job_log(j, "labctl: cannot use the cache entry %s (%s): building\n",
			   entry, lab_errmsg(ret));
		lab_err_clear();
		hv_rm_rf(tmp);
		ret = 0;
		goto unlock;
	}
	hv_fsync_path(tmp);
	ret = swap_into_place(tmp, j->dir_abs);
	if (ret) {
		hv_rm_rf(tmp);
		goto unlock;
	}
	/* Used now: the last to go when the cache is over its bound. */
	utimensat(AT_FDCWD, entry, NULL, 0);
	fill_result(j, &m);
	ret = 1;
unlock:
	hv_cache_unlock(fd);
	hv_manifest_release(&m);
	free(entry);
	free(tmp);
	return ret;
}

int hv_install(struct hv_job *j, const char *tmpdir, int64_t build_ms)
{
	struct hv_manifest m = HV_MANIFEST_INIT;
	struct strbuf text = STRBUF_INIT, rev = STRBUF_INIT;
	const char *const *f;
	bool xmhf = !strcmp(j->v->recipe ? j->v->recipe : "standin", "xmhf64");
	char buf[64], when[64], *path, *images;
	int ret = 0;

	hv_manifest_set(&m, "format", HV_MANIFEST_FORMAT);
	hv_manifest_set(&m, "variant", j->v->name);
	hv_manifest_set(&m, "recipe", xmhf ? "xmhf64" : "standin");
	if (xmhf) {
		hv_manifest_set(&m, "src", j->src);
		hv_manifest_set(&m, "src_kind", j->plain ? "tree" : "git");
		if (j->v->rev && *j->v->rev &&
		    hv_manifest_set(&m, "rev", j->v->rev) < 0)
			hv_manifest_set(&m, "rev", "?");
		hv_manifest_set(&m, "args", j->args);
		hv_manifest_set(&m, "source_rev", j->rev);
		hv_manifest_set(&m, "source_dirty", j->dirty);
		strbuf_addstr(&rev, j->rev);
		if (strcmp(j->dirty, "none"))
			strbuf_addf(&rev, "+dirty-%.12s", j->dirty);
	} else {
		hv_manifest_set(&m, "arch", j->v->arch);
		snprintf(buf, sizeof(buf), "0x%x", j->v->options);
		hv_manifest_set(&m, "options", buf);
		hv_manifest_set(&m, "source", j->ctx->hypdir);
		strbuf_addf(&rev, "tree-%s", j->ctx->tree_hex);
		hv_manifest_set(&m, "source_rev", rev.buf);
		hv_manifest_set(&m, "source_dirty", "none");
		strbuf_reset(&rev);
		strbuf_addf(&rev, "tree-%.12s", j->ctx->tree_hex);
	}
	hv_manifest_set(&m, "revision", rev.buf);
	{
		const char *from, *kind = built_kind(j, tmpdir, &from);

		hv_manifest_set(&m, "hypervisor", kind);
		hv_manifest_set(&m, "hypervisor_from", from);
	}
	if (hv_manifest_set(&m, "compiler", j->ctx->compiler) < 0)
		hv_manifest_set(&m, "compiler", "unknown");
	hv_manifest_set(&m, "inputs", j->inputs);
	lab_timestamp_iso(when, sizeof(when), lab_wall_ns());
	hv_manifest_set(&m, "built_at", when);
	snprintf(buf, sizeof(buf), "%lld", (long long)build_ms);
	hv_manifest_set(&m, "build_ms", buf);
	hv_manifest_set(&m, "labctl", LABCTL_VERSION);
	for (f = image_files; *f; f++) {
		char hex[SHA256_HEX_LEN + 1], key[64];
		uint64_t size;

		path = xasprintf("%s/%s", tmpdir, *f);
		ret = lab_sha256_file(path, hex, &size);
		hv_fsync_path(path);
		free(path);
		if (ret)
			goto out;
		snprintf(key, sizeof(key), "sha256.%s", *f);
		hv_manifest_set(&m, key, hex);
		snprintf(key, sizeof(key), "size.%s", *f);
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)size);
		hv_manifest_set(&m, key, buf);
	}
	hv_manifest_format(&m, &text);
	path = xasprintf("%s/" HV_MANIFEST_FILE, tmpdir);
	ret = lab_write_file_atomic(path, text.buf, text.len, 0644);
	free(path);
	if (ret)
		goto out;
	hv_job_log(j, "labctl: installing %s (%s)\n", j->dir, rev.buf);
	path = xasprintf("%s/" HV_LOG_FILE, tmpdir);
	ret = hv_copy_file(j->log_path, path);
	free(path);
	if (ret)
		goto out;
	hv_fsync_path(tmpdir);
	cache_store(j, tmpdir);
	ret = swap_into_place(tmpdir, j->dir_abs);
	if (ret)
		goto out;
	images = xstrdup(j->dir_abs);
	hv_fsync_path(dirname(images));
	free(images);
	fill_result(j, &m);
out:
	hv_manifest_release(&m);
	strbuf_release(&text);
	strbuf_release(&rev);
	return ret;
}

void hv_job_free_recipe(struct hv_job *j)
{
	char **p;

	free(j->src);
	free(j->rev);
	free(j->args);
	free(j->skip);
	j->skip = NULL;
	strbuf_release(&j->diff);
	for (p = j->untracked; p && *p; p++)
		free(*p);
	free(j->untracked);
	j->src = j->rev = j->args = NULL;
	j->untracked = NULL;
}

/* ------------------------------------------------------------ kind */

/* Whether the MANIFEST is of a build of v as the lab now says it. */
static bool manifest_matches(const struct hv_manifest *m,
			     const struct hv_variant *v)
{
	const char *s = hv_manifest_get(m, "src"), *a = hv_manifest_get(m, "args");
	const char *r = hv_manifest_get(m, "rev");
	char *src = hv_expand_home(v->src), *real = realpath(src, NULL), *copy;
	char **w;
	struct strbuf args = STRBUF_INIT;
	bool same;
	int n, i;

	w = split_words(v->args, &copy, &n);
	for (i = 0; i < n; i++)
		strbuf_addf(&args, "%s%s", i ? " " : "", w[i]);
	same = s && real && !strcmp(s, real) && a && !strcmp(a, strbuf_str(&args)) &&
	       !strcmp(r ? r : "", v->rev ? v->rev : "");
	free(w);
	free(copy);
	free(src);
	free(real);
	strbuf_release(&args);
	return same;
}

/* LHV's own sources at rev of a git checkout (git cat-file -e). */
static bool git_has(const char *src, const char *rev, const char *path)
{
	char *spec = xasprintf("%s:%s", rev, path);
	const char *const argv[] = { "git", "-C", src, "cat-file", "-e",
				     "--end-of-options", spec, NULL };
	struct spawn_opts so = { .quiet = true, .timeout_ms = 30000 };
	int ret;

	ret = rev[0] == '-' ? -LAB_EINVAL : lab_run(argv, &so);
	lab_err_clear();
	free(spec);
	return ret == 0;
}

const char *hv_variant_kind(const struct hv_variant *v, const char *images_dir,
			    const char **from)
{
	static const char *const kinds[] = { "lhv", "xmhf", "standin", NULL };
	struct hv_manifest m = HV_MANIFEST_INIT;
	const char *kind = NULL, *const *k;
	char *path, *src;

	*from = NULL;
	if (!v->recipe || strcmp(v->recipe, "xmhf64")) {
		*from = "recipe";
		return "standin";
	}
	if (!v->src || !hv_valid_variant_name(v->name))
		return NULL;
	path = xasprintf("%s/%s/" HV_MANIFEST_FILE,
			 images_dir ? images_dir : hv_default_images_dir(), v->name);
	if (hv_manifest_load(&m, path) == 0 && manifest_matches(&m, v)) {
		const char *s = hv_manifest_get(&m, "hypervisor");

		for (k = kinds; s && *k; k++)
			if (!strcmp(s, *k)) {
				kind = *k;
				*from = "build";
			}
	}
	lab_err_clear();
	hv_manifest_release(&m);
	free(path);
	if (kind)
		return kind;
	/* Not built yet (or built otherwise): the sources say. */
	src = hv_expand_home(v->src);
	if (!hv_tree_has(src, ".git")) {
		if (hv_tree_has(src, "xmhf")) {
			kind = hv_tree_has(src, LHV_TREE_FILE) ? "lhv" : "xmhf";
			*from = "tree";
		}
	} else {
		const char *rev = v->rev && *v->rev ? v->rev : "HEAD";

		char *remote = xasprintf("refs/remotes/origin/%s", rev);

		/* As the build resolves rev: itself, else origin's branch. */
		if (!git_has(src, rev, "xmhf") && v->rev && *v->rev &&
		    git_has(src, remote, "xmhf"))
			rev = remote;
		if (git_has(src, rev, LHV_TREE_FILE)) {
			kind = "lhv";
			*from = "tree";
		} else if (git_has(src, rev, "xmhf")) {
			kind = "xmhf";
			*from = "tree";
		}
		free(remote);
	}
	free(src);
	return kind;
}
