// SPDX-License-Identifier: MIT
/* A real board over ssh: deploy, GRUB chain, grub install, reboot. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grubenv/chain.h"
#include "grubenv/envblk.h"
#include "hvimage/build.h"
#include "labctl/board.h"
#include "labctl/hostconn.h"
#include "labctl/labgrub.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/escape.h"
#include "lib/fileio.h"
#include "lib/log.h"
#include "lib/netcheck.h"
#include "lib/shquote.h"
#include "lib/spawn.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "ssh/ssh.h"

#define GRUBENV_MAX (64 * 1024)
#define GRUBCFG_MAX (8 * 1024 * 1024)
#define MANIFEST_MAX (64 * 1024)
#define MAX_FILES 16

bool board_is_remote(const struct lab *lab)
{
	const char *type = lab_get(lab, "board", "type");

	return type && strcmp(type, "qemu") && strcmp(type, "bochs");	/* bochs board */
}

int board_connect(const struct lab *lab, struct lab_ssh **out)
{
	return hostconn_open(lab, NULL, out);
}

static bool board_user_is_root(const struct lab *lab)
{
	const char *user = lab_get(lab, "board", "user");

	return !user || !strcmp(user, "root");
}

static bool use_sudo(const struct lab *lab)
{
	return !board_user_is_root(lab) && lab_get_bool(lab, "deploy", "sudo");
}

int board_run(const struct lab *lab, struct lab_ssh *s, bool privileged,
	      const char *what, const char *const *argv, struct strbuf *out)
{
	const char *full[64];
	struct strbuf err = STRBUF_INIT;
	int i = 0, j, st = 0, ret;

	if (privileged && use_sudo(lab)) {
		full[i++] = "sudo";
		full[i++] = "-n";
		full[i++] = "--";
	}
	for (j = 0; argv[j] && i < 63; j++)
		full[i++] = argv[j];
	full[i] = NULL;
	ret = lab_ssh_run(s, full, NULL, 0, out, &err, &st, 0);
	if (ret)
		goto out;
	if (st != 0) {
		strbuf_rtrim(&err);
		if (privileged && use_sudo(lab) &&
		    strstr(strbuf_str(&err), "password is required"))
			ret = lab_err(LAB_EPERM,
				      "%s: %s: sudo on %s asks for a password; deploy.sudo needs passwordless sudo for %s (a sudoers line like '%s ALL=(root) NOPASSWD: ALL')",
				      lab->name, what, lab_ssh_where(s),
				      lab_get(lab, "board", "user"),
				      lab_get(lab, "board", "user"));
		else {
			char *text = lab_escape_lines(err.buf, err.len);

			ret = lab_err(LAB_EPROGRAM, "%s: %s failed on %s (exit %d)%s%s",
				      lab->name, what, lab_ssh_where(s), st,
				      err.len ? ": " : "", text);
			free(text);
		}
	}
out:
	strbuf_release(&err);
	return ret;
}

/*
 * Read a board file: SFTP, or `sudo -n cat` when the board user may not
 * read it (grub.cfg is often root-only) and deploy.sudo allows.
 */
static int board_read_file(const struct lab *lab, struct lab_ssh *s,
			   const char *path, struct strbuf *out, size_t max)
{
	const char *cat[] = { "cat", "--", path, NULL };
	int ret = lab_ssh_read_file(s, path, out, max);

	if (ret != -LAB_EPERM || !use_sudo(lab))
		return ret;
	lab_err_clear();
	strbuf_reset(out);
	ret = board_run(lab, s, true, "reading a root-only file", cat, out);
	if (!ret && out->len > max)
		ret = lab_err(LAB_EFORMAT, "%s: %s on the board is larger than %zu bytes",
			      lab->name, path, max);
	return ret;
}

/* ------------------------------------------------------------ deploy */

struct deploy_file {
	char name[64];
	char sha[65];
	uint64_t size;
};

/* The files of a local MANIFEST ("sha256.<file>: hex"). */
static int manifest_files(const struct hv_manifest *m, struct deploy_file *f,
			  int max)
{
	int i, n = 0;

	for (i = 0; i < m->n && n < max; i++) {
		const char *k = m->e[i].key;
		char sizekey[80];
		const char *sz;

		if (strncmp(k, "sha256.", 7) || strlen(k + 7) >= sizeof(f[n].name))
			continue;
		snprintf(f[n].name, sizeof(f[n].name), "%s", k + 7);
		snprintf(f[n].sha, sizeof(f[n].sha), "%s", m->e[i].value);
		snprintf(sizekey, sizeof(sizekey), "size.%s", k + 7);
		sz = hv_manifest_get(m, sizekey);
		f[n].size = sz ? strtoull(sz, NULL, 10) : 0;
		n++;
	}
	return n;
}

struct progress_state {
	bool on;
	const char *variant;
	int64_t last_ms;
};

static void print_progress(void *arg, const char *name, uint64_t done,
			   uint64_t total)
{
	struct progress_state *p = arg;

	if (!p->on)
		return;
	fprintf(stderr, "\r  %s/%s %.1f/%.1f MiB%s", p->variant, name,
		done / 1048576.0, total / 1048576.0, done == total ? "\n" : "");
	fflush(stderr);
}

/*
 * One exec reads every variant's MANIFEST on the board:
 *   "==<dir>\n" then the file (nothing when it is missing),
 * and removes the temporaries of a deploy that was killed.
 */
static const char read_manifests_sh[] =
	/* What a killed deploy left (we hold the board's lease). */
	"rm -rf /tmp/labctl-deploy.* 2>/dev/null\n"
	"for d; do rm -f \"$d\"/.*.labctl-* 2>/dev/null; "
	"printf '==%s\\n' \"$d\"; cat \"$d/MANIFEST\" 2>/dev/null; done; exit 0";

/*
 * Move uploaded files from a private temp dir into place as root:
 *   $1 temp dir, $2 destination dir, then the file names.
 * Each file is installed under a temporary name beside its target and
 * renamed over it, so the target is never half-written; then its sha256
 * is printed for the caller to verify.
 */
/*
 * sha256sum's output for the files named, computed by openssl when the
 * board has it (it uses the CPU's SHA extensions: a 64 MiB image in a
 * fraction of sha256sum's time), else by sha256sum.
 */
#define SUMS_SH \
	"sums() { if command -v openssl >/dev/null 2>&1; then " \
	"openssl dgst -sha256 -r \"$@\" | sed 's/ \\*/  /'; " \
	"else sha256sum -- \"$@\"; fi; }\n"

static const char sudo_move_sh[] =
	SUMS_SH
	"set -e; t=$1; d=$2; shift 2; mkdir -p \"$d\"\n"
	"for f; do install -m 0644 \"$t/$f\" \"$d/.$f.labctl-new\"; "
	"mv -f \"$d/.$f.labctl-new\" \"$d/$f\"; done\n"
	"cd \"$d\"; sums \"$@\"; rm -rf \"$t\"";

static const char *remote_manifest_sha(const char *text, const char *file,
				       char *buf, size_t size)
{
	char key[96];
	const char *p;
	size_t klen;

	snprintf(key, sizeof(key), "sha256.%s: ", file);
	klen = strlen(key);
	for (p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, key, klen)) {
			size_t n = strcspn(p + klen, "\n");

			if (n >= size)
				n = size - 1;
			memcpy(buf, p + klen, n);
			buf[n] = '\0';
			return buf;
		}
	}
	return NULL;
}

/* sha256sum output "HEX  NAME" lines: every file's hash must match. */
static int verify_sums(const struct lab *lab, const char *dir,
		       const char *sums, const struct deploy_file *f,
		       const bool *sent, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		struct strbuf want = STRBUF_INIT;
		bool found;

		if (!sent[i])
			continue;
		strbuf_addf(&want, "%s  %s\n", f[i].sha, f[i].name);
		found = strstr(sums, strbuf_str(&want)) != NULL;
		strbuf_release(&want);
		if (!found)
			return lab_err(LAB_EIO,
				       "%s: %s/%s on the board does not have the sha256 that was sent (%.12s...): the copy is corrupt",
				       lab->name, dir, f[i].name, f[i].sha);
	}
	return 0;
}

static int deploy_variant(const struct lab *lab, struct lab_ssh *s,
			  const char *images_dir, const char *variant,
			  const char *remote_manifest, bool progress,
			  struct board_deploy_stats *st)
{
	const char *base = lab_get(lab, "deploy", "dir");
	char *local_dir = xasprintf("%s/%s", images_dir, variant);
	char *local_manifest = xasprintf("%s/MANIFEST", local_dir);
	char *dir = xasprintf("%s/%s", base ? base : "/boot/xmhf", variant);
	struct hv_manifest m = HV_MANIFEST_INIT;
	struct deploy_file f[MAX_FILES];
	bool sent[MAX_FILES] = { false };
	struct progress_state ps = { progress, variant, 0 };
	struct strbuf mtext = STRBUF_INIT, sums = STRBUF_INIT;
	bool sudo = use_sudo(lab);
	char *tmpdir = NULL;
	int i, n, nsend = 0, ret;

	ret = hv_manifest_load(&m, local_manifest);
	if (ret) {
		if (ret == -LAB_ENOENT)
			ret = lab_err(LAB_ENOENT,
				      "%s: no image for variant %s in %s (run labctl build first)",
				      lab->name, variant, local_dir);
		goto out;
	}
	n = manifest_files(&m, f, MAX_FILES);
	for (i = 0; i < n; i++) {
		char have[80];

		if (remote_manifest &&
		    remote_manifest_sha(remote_manifest, f[i].name, have,
					sizeof(have)) &&
		    !strcmp(have, f[i].sha)) {
			st->files_skipped++;
			continue;
		}
		sent[i] = true;
		nsend++;
	}
	if (!nsend)
		goto out;

	if (sudo) {
		const char *mk[] = { "mktemp", "-d", "/tmp/labctl-deploy.XXXXXXXX", NULL };
		struct strbuf t = STRBUF_INIT;

		ret = board_run(lab, s, false, "mktemp", mk, &t);
		strbuf_rtrim(&t);
		tmpdir = strbuf_detach(&t, NULL);
		if (ret)
			goto out;
	} else {
		ret = lab_ssh_mkdir_p(s, dir, 0755);
		if (ret)
			goto out;
	}
	for (i = 0; i < n; i++) {
		char *lp, *rp;

		if (!sent[i])
			continue;
		lp = xasprintf("%s/%s", local_dir, f[i].name);
		rp = xasprintf("%s/%s", sudo ? tmpdir : dir, f[i].name);
		ret = lab_ssh_put_file(s, lp, rp, 0644,
				       progress && f[i].size > (1u << 20) ?
				       print_progress : NULL, &ps);
		free(lp);
		free(rp);
		if (ret)
			goto out;
		st->files_sent++;
		st->bytes_sent += f[i].size;
	}
	/* Verify (and, with sudo, move into place) in one command. */
	{
		const char *argv[MAX_FILES + 8];
		int k = 0;

		if (sudo) {
			argv[k++] = "sh";
			argv[k++] = "-c";
			argv[k++] = sudo_move_sh;
			argv[k++] = "labctl-deploy";
			argv[k++] = tmpdir;
			argv[k++] = dir;
		} else {
			argv[k++] = "sh";
			argv[k++] = "-c";
			argv[k++] = SUMS_SH "cd \"$1\" && shift && sums \"$@\"";
			argv[k++] = "labctl-verify";
			argv[k++] = dir;
		}
		for (i = 0; i < n; i++)
			if (sent[i])
				argv[k++] = f[i].name;
		argv[k] = NULL;
		ret = board_run(lab, s, sudo, sudo ? "installing the images" :
				"verifying the images", argv, &sums);
		if (ret)
			goto out;
		ret = verify_sums(lab, dir, strbuf_str(&sums), f, sent, n);
		if (ret)
			goto out;
	}
	/* MANIFEST last: it claims what is there only once it is. */
	ret = strbuf_read_file(&mtext, local_manifest, MANIFEST_MAX);
	if (ret)
		goto out;
	if (sudo) {
		char *rp = xasprintf("%s/MANIFEST", tmpdir);
		const char *mv[] = { "sh", "-c", sudo_move_sh, "labctl-deploy",
				     tmpdir, dir, "MANIFEST", NULL };
		const char *mk[] = { "mkdir", "-p", tmpdir, NULL };

		ret = board_run(lab, s, false, "mkdir", mk, NULL);
		if (!ret)
			ret = lab_ssh_write_file(s, rp, mtext.buf, mtext.len, 0644);
		free(rp);
		if (!ret)
			ret = board_run(lab, s, true, "installing MANIFEST", mv, NULL);
	} else {
		char *rp = xasprintf("%s/MANIFEST", dir);

		ret = lab_ssh_write_file(s, rp, mtext.buf, mtext.len, 0644);
		free(rp);
	}
out:
	if (ret && tmpdir) {
		const char *rm[] = { "rm", "-rf", tmpdir, NULL };
		int keep = ret;

		board_run(lab, s, false, "cleanup", rm, NULL);
		ret = keep;
	}
	free(tmpdir);
	strbuf_release(&mtext);
	strbuf_release(&sums);
	hv_manifest_release(&m);
	free(local_dir);
	free(local_manifest);
	free(dir);
	return ret;
}

int board_deploy(const struct lab *lab, struct lab_ssh *s,
		 const char *images_dir, const char *const *variants, int n,
		 bool progress, struct board_deploy_stats *st)
{
	const char *base = lab_get(lab, "deploy", "dir");
	const char **argv = xcalloc(n + 5, sizeof(*argv));
	char **dirs = xcalloc(n, sizeof(*dirs));
	struct strbuf all = STRBUF_INIT;
	uint64_t rt0 = lab_ssh_round_trips(s);
	int64_t t0 = lab_mono_ms();
	int i, k = 0, ret;

	memset(st, 0, sizeof(*st));
	st->variants = n;
	argv[k++] = "sh";
	argv[k++] = "-c";
	argv[k++] = read_manifests_sh;
	argv[k++] = "labctl-manifests";
	for (i = 0; i < n; i++) {
		dirs[i] = xasprintf("%s/%s", base ? base : "/boot/xmhf",
				    variants[i]);
		argv[k++] = dirs[i];
	}
	argv[k] = NULL;
	ret = board_run(lab, s, false, "reading the board's MANIFESTs", argv,
			&all);
	for (i = 0; !ret && i < n; i++) {
		char *mark = xasprintf("==%s\n", dirs[i]);
		const char *p = strstr(strbuf_str(&all), mark);
		char *text = NULL;

		if (p) {
			const char *q = p + strlen(mark), *e = strstr(q, "\n==");

			text = e ? xstrndup(q, e - q + 1) : xstrdup(q);
		}
		free(mark);
		ret = deploy_variant(lab, s, images_dir, variants[i],
				     text && *text ? text : NULL, progress, st);
		free(text);
	}
	st->round_trips = lab_ssh_round_trips(s) - rt0;
	st->elapsed_ms = lab_mono_ms() - t0;
	for (i = 0; i < n; i++)
		free(dirs[i]);
	free(dirs);
	free(argv);
	strbuf_release(&all);
	return ret;
}

/* ------------------------------------------------------------ GRUB */

static char *dirname_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, slash - path);
}

/* Parse one GRUB word at *p (quotes and backslashes); NULL at line end. */
static char *grub_word(const char **pp)
{
	const char *p = *pp;
	struct strbuf w = STRBUF_INIT;
	bool any = false;

	while (*p == ' ' || *p == '\t')
		p++;
	while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '{' &&
	       *p != ';') {
		any = true;
		if (*p == '\'') {
			p++;
			while (*p && *p != '\'')
				strbuf_addch(&w, *p++);
			if (*p)
				p++;
		} else if (*p == '"') {
			p++;
			while (*p && *p != '"') {
				if (*p == '\\' && p[1] && strchr("$\"\\\n", p[1]))
					p++;
				strbuf_addch(&w, *p++);
			}
			if (*p)
				p++;
		} else if (*p == '\\' && p[1]) {
			strbuf_addch(&w, p[1]);
			p += 2;
		} else {
			strbuf_addch(&w, *p++);
		}
	}
	*pp = p;
	if (!any) {
		strbuf_release(&w);
		return NULL;
	}
	return strbuf_detach(&w, NULL);
}

/* True if grub.cfg has a menuentry titled or --id'd entry. */
bool board_cfg_has_entry(const char *cfg, const char *entry)
{
	const char *p = cfg;

	while (p && *p) {
		const char *line = p;

		while (*line == ' ' || *line == '\t')
			line++;
		if (!strncmp(line, "menuentry", 9) &&
		    (line[9] == ' ' || line[9] == '\t')) {
			const char *q = line + 9;
			char *title = grub_word(&q), *w;
			bool hit = title && !strcmp(title, entry);

			free(title);
			/* --id ID / --id=ID among the options */
			while (!hit && (w = grub_word(&q))) {
				if (!strcmp(w, "--id")) {
					free(w);
					w = grub_word(&q);
					hit = w && !strcmp(w, entry);
				} else if (!strncmp(w, "--id=", 5)) {
					hit = !strcmp(w + 5, entry);
				}
				free(w);
			}
			if (hit)
				return true;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return false;
}

int board_chain_check(const struct lab *lab, struct lab_ssh *s,
		      const char *const *entries, int n)
{
	const char *grubenv = lab_get(lab, "grub", "grubenv");
	const char *cfg_path = lab_get(lab, "grub", "cfg");
	char *dir = dirname_of(grubenv);
	const char *probe[] = {
		"sh", "-c",
		"p=$(command -v grub-probe || command -v grub2-probe) || "
		"{ echo 'no grub-probe or grub2-probe on the board' >&2; exit 127; }; "
		"fs=$(\"$p\" --target=fs \"$1\") && abs=$(\"$p\" --target=abstraction \"$1\") && "
		"printf 'fs=%s\\nabstraction=%s\\n' \"$fs\" \"$abs\"",
		"labctl-probe", dir, NULL
	};
	struct strbuf out = STRBUF_INIT, cfg = STRBUF_INIT;
	const char *fs, *abs;
	int i, ret;

	ret = board_run(lab, s, true, "grub-probe", probe, &out);
	if (ret)
		goto out;
	fs = strstr(strbuf_str(&out), "fs=");
	abs = strstr(strbuf_str(&out), "abstraction=");
	if (fs) {
		char name[32] = "";

		sscanf(fs + 3, "%31[^\n]", name);
		if (!strcmp(name, "btrfs") || !strcmp(name, "zfs")) {
			ret = lab_err(LAB_ECONFIG,
				      "%s: %s is on %s, where GRUB's save_env cannot write: the chain would never advance; keep grubenv on a plain filesystem (e.g. an ext4 /boot) or set grub.grubenv",
				      lab->name, grubenv, name);
			goto out;
		}
	}
	if (abs) {
		char name[64] = "";

		sscanf(abs + 12, "%63[^\n]", name);
		if (strstr(name, "lvm") || strstr(name, "raid") ||
		    strstr(name, "diskfilter") || strstr(name, "crypt") ||
		    strstr(name, "luks")) {
			char *said = lab_escape_str(name);	/* grub-probe's words */

			ret = lab_err(LAB_ECONFIG,
				      "%s: %s is on %s, where GRUB's save_env cannot write: the chain would never advance; keep grubenv on a plain partition",
				      lab->name, grubenv, said);
			free(said);
			goto out;
		}
	}
	ret = board_read_file(lab, s, cfg_path, &cfg, GRUBCFG_MAX);
	if (ret)
		goto out;
	for (i = 0; i < n; i++) {
		if (!strcmp(entries[i], "default") || !strcmp(entries[i], "0") ||
		    board_cfg_has_entry(strbuf_str(&cfg), entries[i]))
			continue;
		ret = lab_err(LAB_ECONFIG,
			      "%s: GRUB entry '%s' is not in the board's %s; install the entries with: labctl grub install %s",
			      lab->name, entries[i], cfg_path, lab->name);
		goto out;
	}
out:
	free(dir);
	strbuf_release(&out);
	strbuf_release(&cfg);
	return ret;
}

static int read_grubenv(const struct lab *lab, struct lab_ssh *s,
			struct envblk **blk)
{
	const char *path = lab_get(lab, "grub", "grubenv");
	struct strbuf text = STRBUF_INIT;
	char *what;
	int ret;

	ret = board_read_file(lab, s, path, &text, GRUBENV_MAX);
	if (ret == -LAB_ENOENT)
		ret = envblk_new(1024, blk);
	else if (!ret) {
		what = xasprintf("%s:%s", lab_ssh_where(s), path);
		ret = envblk_parse(text.buf, text.len, what, blk);
		free(what);
	}
	strbuf_release(&text);
	return ret;
}

int board_chain_read(const struct lab *lab, struct lab_ssh *s,
		     char ***entries, size_t *n)
{
	struct envblk *blk;
	int ret = read_grubenv(lab, s, &blk);

	if (ret)
		return ret;
	ret = chain_get(blk, entries, n);
	envblk_free(blk);
	return ret;
}

/* Write blk over the board's grubenv: natively, or with its grub-editenv. */
static int write_grubenv(const struct lab *lab, struct lab_ssh *s,
			 const struct envblk *old, const struct envblk *blk)
{
	const char *path = lab_get(lab, "grub", "grubenv");
	const char *tool = lab_get(lab, "grub", "editenv");
	int ret = 0;

	if (!tool || !strcmp(tool, "native")) {
		if (!use_sudo(lab))
			return lab_ssh_write_file(s, path, blk->buf, blk->size,
						  0644);
		{
			const char *mk[] = { "mktemp", "-d",
					     "/tmp/labctl-grubenv.XXXXXXXX", NULL };
			struct strbuf t = STRBUF_INIT;
			char *dir = dirname_of(path), *base, *tmp;

			ret = board_run(lab, s, false, "mktemp", mk, &t);
			strbuf_rtrim(&t);
			base = xstrdup(strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
			tmp = xasprintf("%s/%s", strbuf_str(&t), base);
			if (!ret)
				ret = lab_ssh_write_file(s, tmp, blk->buf,
							 blk->size, 0644);
			if (!ret) {
				const char *mv[] = { "sh", "-c", sudo_move_sh,
						     "labctl-grubenv",
						     strbuf_str(&t), dir, base,
						     NULL };

				ret = board_run(lab, s, true,
						"writing grubenv", mv, NULL);
			}
			free(tmp);
			free(base);
			free(dir);
			strbuf_release(&t);
		}
		return ret;
	}
	/* The board's own tool: unset what went away, then set the rest. */
	{
		const char *argv[2 * CHAIN_STAGES_LIMIT + 8];
		char *owned[2 * CHAIN_STAGES_LIMIT + 8];
		int k = 0, o = 0, i, pass;

		for (pass = 0; pass < 2 && !ret; pass++) {
			k = 0;
			argv[k++] = tool;
			argv[k++] = path;
			argv[k++] = pass ? "set" : "unset";
			for (i = 0; i <= CHAIN_STAGES_LIMIT; i++) {
				char name[32];
				char *nv, *ov;

				if (i == 0)
					snprintf(name, sizeof(name), "next_entry");
				else
					chain_slot_name(i, name, sizeof(name));
				nv = envblk_get(blk, name);
				ov = envblk_get(old, name);
				if (!pass && ov && !nv)
					argv[k++] = owned[o++] = xstrdup(name);
				if (pass && nv && (!ov || strcmp(ov, nv)))
					argv[k++] = owned[o++] =
						xasprintf("%s=%s", name, nv);
				free(nv);
				free(ov);
				if (k >= (int)(sizeof(argv) / sizeof(argv[0])) - 1)
					break;
			}
			argv[k] = NULL;
			if (k > 3)
				ret = board_run(lab, s, true, tool, argv, NULL);
		}
		while (o > 0)
			free(owned[--o]);
	}
	return ret;
}

int board_chain_write(const struct lab *lab, struct lab_ssh *s,
		      const char *const *entries, int n)
{
	int64_t max = lab_get_int(lab, "grub", "max_stages", 9);
	struct envblk *old = NULL, *blk = NULL;
	char **back = NULL;
	size_t nback = 0;
	int i, ret;

	ret = read_grubenv(lab, s, &old);
	if (!ret)
		ret = read_grubenv(lab, s, &blk);
	if (ret)
		goto out;
	ret = n ? chain_set(blk, entries, n, (unsigned)max) : chain_clear(blk);
	if (!ret)
		ret = write_grubenv(lab, s, old, blk);
	if (!ret)
		ret = board_chain_read(lab, s, &back, &nback);
	if (ret)
		goto out;
	if ((int)nback != n)
		goto mismatch;
	for (i = 0; i < n; i++)
		if (strcmp(back[i], chain_entry_value(entries[i])) &&
		    strcmp(back[i], entries[i]))
			goto mismatch;
	goto out;
mismatch:
	ret = lab_err(LAB_EIO,
		      "%s: read back %zu chain entries from %s:%s, wrote %d: the board's grubenv did not take the chain",
		      lab->name, nback, lab_ssh_where(s),
		      lab_get(lab, "grub", "grubenv"), n);
out:
	if (back)
		chain_free(back, nback);
	envblk_free(old);
	envblk_free(blk);
	return ret;
}

/* Write text to a local temp file; returns its path (free) or NULL. */
static char *local_tmp(const char *text, size_t len)
{
	char tmpl[] = "/tmp/labctl-diff.XXXXXX";
	int fd = mkstemp(tmpl);

	if (fd < 0)
		return NULL;
	if (write(fd, text, len) != (ssize_t)len) {
		close(fd);
		unlink(tmpl);
		return NULL;
	}
	close(fd);
	return xstrdup(tmpl);
}

static void add_diff(struct strbuf *diff, const char *path, const char *old,
		     bool old_exists, const char *new_text)
{
	char *a = local_tmp(old, strlen(old));
	char *b = local_tmp(new_text, strlen(new_text));
	char *la = xasprintf("%s%s", path, old_exists ? "" : " (new)");
	const char *argv[] = { "diff", "-u", "--label", la, "--label", path,
			       a, b, NULL };
	struct spawn_opts so = { 0 };
	struct spawn_result res;

	so.out = diff;
	so.timeout_ms = 10000;
	if (a && b)
		lab_spawn(argv, &so, &res);
	if (a)
		unlink(a);
	if (b)
		unlink(b);
	free(a);
	free(b);
	free(la);
}

/* Put text at path on the board, mode 0755, privileged as configured. */
static int put_privileged(const struct lab *lab, struct lab_ssh *s,
			  const char *path, const char *text)
{
	const char *mk[] = { "mktemp", "-d", "/tmp/labctl-grubd.XXXXXXXX", NULL };
	struct strbuf t = STRBUF_INIT;
	char *dir, *base, *tmp;
	int ret;

	if (!use_sudo(lab))
		return lab_ssh_write_file(s, path, text, strlen(text), 0755);
	ret = board_run(lab, s, false, "mktemp", mk, &t);
	strbuf_rtrim(&t);
	dir = dirname_of(path);
	base = xstrdup(strrchr(path, '/') + 1);
	tmp = xasprintf("%s/%s", strbuf_str(&t), base);
	if (!ret)
		ret = lab_ssh_write_file(s, tmp, text, strlen(text), 0755);
	if (!ret) {
		const char *mv[] = {
			"sh", "-c",
			"set -e; rm -f \"$2\"/.*.labctl-*; "
			"install -m 0755 \"$1/$3\" \"$2/.$3.labctl-new\"; "
			"mv -f \"$2/.$3.labctl-new\" \"$2/$3\"; rm -rf \"$1\"",
			"labctl-install", strbuf_str(&t), dir, base, NULL
		};

		ret = board_run(lab, s, true, "installing a GRUB script", mv,
				NULL);
	}
	if (ret && t.len) {
		/* Our temporary directory, whatever failed (it is ours: mktemp). */
		const char *rm[] = { "rm", "-rf", strbuf_str(&t), NULL };
		struct lab_err_saved keep;

		lab_err_save(&keep);
		board_run(lab, s, false, "cleanup", rm, NULL);
		lab_err_restore(&keep);
	}
	free(tmp);
	free(base);
	free(dir);
	strbuf_release(&t);
	return ret;
}

/*
 * The leftovers of an install that was killed or failed: mktemp's
 * directories (the ssh user's) and the temporary names beside the scripts
 * (an SFTP upload's ".NAME.labctl-HEX"; with sudo the user cannot remove
 * them, the privileged install below does).
 */
static const char grub_leftovers_sh[] =
	"rm -rf /tmp/labctl-grubd.* 2>/dev/null; "
	"rm -f /etc/grub.d/.*.labctl-* 2>/dev/null; exit 0";

/* Regenerate grub.cfg with whatever the board has, then check it. */
static const char mkconfig_sh[] =
	"set -e; cfg=$1\n"
	"if command -v update-grub >/dev/null 2>&1; then update-grub\n"
	"elif command -v grub2-mkconfig >/dev/null 2>&1; then grub2-mkconfig -o \"$cfg\"\n"
	"else grub-mkconfig -o \"$cfg\"; fi\n"
	"if command -v grub-script-check >/dev/null 2>&1; then grub-script-check \"$cfg\"\n"
	"else grub2-script-check \"$cfg\"; fi\n";

int board_grub_install(const struct lab *lab, struct lab_ssh *s,
		       bool dry_run, struct strbuf *diff, struct strbuf *plan)
{
	const char *names[2] = { lab_get(lab, "grub", "dropin"),
				 lab_get(lab, "grub", "entries") };
	enum lab_grub_part parts[2] = { PART_CHAIN, PART_ENTRIES };
	const char *cfg_path = lab_get(lab, "grub", "cfg");
	struct strbuf want[2] = { STRBUF_INIT, STRBUF_INIT };
	bool changed[2] = { false, false };
	int i, ret = 0;

	for (i = 0; i < 2 && !ret; i++) {
		char *path = xasprintf("/etc/grub.d/%s", names[i]);
		struct strbuf have = STRBUF_INIT;
		int r;

		lab_grub_render(lab, parts[i], false, &want[i]);
		r = board_read_file(lab, s, path, &have, GRUBCFG_MAX);
		if (r && r != -LAB_ENOENT)
			ret = r;
		else if (r == -LAB_ENOENT || strcmp(strbuf_str(&have),
						    strbuf_str(&want[i]))) {
			changed[i] = true;
			add_diff(diff, path, r ? "" : strbuf_str(&have), !r,
				 strbuf_str(&want[i]));
			strbuf_addf(plan, "write %s (mode 0755%s)\n", path,
				    use_sudo(lab) ? ", via sudo -n" : "");
		}
		strbuf_release(&have);
		free(path);
	}
	if (ret)
		goto out;
	strbuf_addf(plan, "run update-grub (or grub2-mkconfig/grub-mkconfig -o %s)%s\n",
		    cfg_path, use_sudo(lab) ? " via sudo -n" : "");
	strbuf_addf(plan, "run grub-script-check %s\n", cfg_path);
	if (dry_run)
		goto out;
	/* What a killed or failed install left (we hold the board's lease, so
	 * no other labctl is installing now): its temporary directories and
	 * the half-installed names beside the scripts. */
	if (changed[0] || changed[1]) {
		const char *argv[] = { "sh", "-c", grub_leftovers_sh,
				       "labctl-cleanup", NULL };

		ret = board_run(lab, s, false, "removing what an earlier install left",
				argv, NULL);
		if (ret)
			goto out;
	}
	for (i = 0; i < 2 && !ret; i++) {
		char *path = xasprintf("/etc/grub.d/%s", names[i]);

		if (changed[i])
			ret = put_privileged(lab, s, path, strbuf_str(&want[i]));
		free(path);
	}
	if (!ret) {
		const char *argv[] = { "sh", "-c", mkconfig_sh, "labctl-mkconfig",
				       cfg_path, NULL };

		ret = board_run(lab, s, true, "regenerating grub.cfg", argv, NULL);
	}
out:
	strbuf_release(&want[0]);
	strbuf_release(&want[1]);
	return ret;
}

/* ------------------------------------------------------------ reboot */

int board_wait_up(const struct lab *lab, struct lab_ssh **s, int64_t timeout_ms)
{
	int64_t deadline = lab_mono_ms() + timeout_ms;
	const char *host = lab_get(lab, "board", "host");
	int port = (int)lab_get_int(lab, "board", "ssh_port", 22);

	while (lab_mono_ms() < deadline) {
		if (lab_tcp_port_open(host, port, 1000)) {
			if (!board_connect(lab, s))
				return 0;
			lab_err_clear();
		}
		lab_sleep_ms(500);
	}
	return lab_err(LAB_ETIMEDOUT,
		       "%s: the board did not answer ssh on %s:%d within %lld s after the reboot",
		       lab->name, host, port, (long long)(timeout_ms / 1000));
}

int board_reboot(const struct lab *lab, struct lab_ssh **s, bool wait_up)
{
	const char *cmd = lab_get(lab, "board", "reboot");
	const char *host = lab_get(lab, "board", "host");
	int port = (int)lab_get_int(lab, "board", "ssh_port", 22);
	int64_t down_ms = lab_get_duration_ms(lab, "board", "down_timeout", 60000);
	int64_t up_ms = lab_get_duration_ms(lab, "board", "up_timeout", 180000);
	const char *cmdv[40], *argv[48];
	char *words = xstrdup(cmd ? cmd : "systemctl reboot"), *w, *save = NULL;
	int k = 0, ret, st = 0;
	int64_t deadline;
	struct strbuf err = STRBUF_INIT;

	if (use_sudo(lab)) {
		cmdv[k++] = "sudo";
		cmdv[k++] = "-n";
		cmdv[k++] = "--";
	}
	for (w = strtok_r(words, " \t", &save); w && k < 38;
	     w = strtok_r(NULL, " \t", &save))
		cmdv[k++] = w;
	cmdv[k] = NULL;
	/* Detached: the session ends cleanly before the reboot begins. */
	lab_detached_argv(argv, 48, cmdv);
	if (use_sudo(lab)) {
		/* sudo -n must not want a password: find out before detaching. */
		const char *check[] = { "sudo", "-n", "true", NULL };

		ret = board_run(lab, *s, false, "sudo -n true", check, NULL);
		if (ret) {
			ret = lab_err(LAB_EPERM,
				      "%s: rebooting needs passwordless sudo on %s: %s",
				      lab->name, lab_ssh_where(*s), lab_errmsg(ret));
			goto out;
		}
	}
	ret = lab_ssh_run(*s, argv, NULL, 0, NULL, &err, &st, 0);
	if (!ret && st) {
		char *text;

		strbuf_rtrim(&err);
		text = lab_escape_lines(err.buf, err.len);
		ret = lab_err(LAB_EPROGRAM, "%s: reboot command failed on %s (exit %d): %s",
			      lab->name, lab_ssh_where(*s), st, text);
		free(text);
	}
	lab_ssh_close(*s);
	*s = NULL;
	if (ret)
		goto out;
	deadline = lab_mono_ms() + down_ms;
	while (lab_tcp_port_open(host, port, 500)) {
		if (lab_mono_ms() >= deadline) {
			ret = lab_err(LAB_ETIMEDOUT,
				      "%s: the board still answers on %s:%d %lld s after the reboot command",
				      lab->name, host, port, (long long)(down_ms / 1000));
			goto out;
		}
		lab_sleep_ms(200);
	}
	if (wait_up)
		ret = board_wait_up(lab, s, up_ms);
out:
	strbuf_release(&err);
	free(words);
	return ret;
}

/* ------------------------------------------------------------ session */

int board_session_lease(struct board_session *bs, const struct lab *lab,
			const struct lease_take_opts *lo)
{
	int ret;

	memset(bs, 0, sizeof(*bs));
	bs->lab = lab;
	ret = lease_init(&bs->lease, lab);
	if (!ret)
		ret = lease_take(&bs->lease, lo);
	/*
	 * A lease kept on the board itself cannot be read while the board
	 * is off or runs a hypervisor, exactly when power verbs and a run's
	 * recovery are needed: go on without it, and say so.
	 */
	if ((ret == -LAB_EINFRA || ret == -LAB_ETIMEDOUT) &&
	    bs->lease.on_board) {
		lab_warn("%s: cannot check the reservation (it lives on the board, which does not answer: %s); going on without it; set lock.host to keep it on a lab host",
			 lab->name, lab_errmsg(ret));
		lease_release_resources(&bs->lease);
		return 0;
	}
	if (ret) {
		lease_release_resources(&bs->lease);
		return ret;
	}
	bs->leased = true;
	/* Renewed while the verb lasts (a deploy, a reboot, a run). */
	lease_keeper_start(&bs->lease);
	return 0;
}

int board_session_open(struct board_session *bs, const struct lab *lab,
		       const struct lease_take_opts *lo)
{
	int ret;

	memset(bs, 0, sizeof(*bs));
	bs->lab = lab;
	if (lo) {
		ret = board_session_lease(bs, lab, lo);
		if (ret)
			return ret;
	}
	if (!board_is_remote(lab))
		return 0;
	/* On failure the lease stays: the caller may get the board back
	 * (power-cycle it) and connect again. */
	return board_connect(lab, &bs->ssh);
}

void board_session_close(struct board_session *bs)
{
	if (bs->ssh)
		lab_ssh_close(bs->ssh);
	bs->ssh = NULL;
	if (bs->leased) {
		struct lab_err_saved keep;

		lease_keeper_stop(&bs->lease);
		lab_err_save(&keep);
		/* An adopted `labctl lock` lease stays its owner's. */
		if (!bs->lease.adopted)
			lease_drop(&bs->lease, false);
		lab_err_restore(&keep);
		lease_release_resources(&bs->lease);
		bs->leased = false;
	}
}
