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
#include "labctl/boardops.h"
#include "labctl/hostconn.h"
#include "labctl/labgrub.h"
#include "labctl/labpower.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/escape.h"
#include "lib/fileio.h"
#include "lib/log.h"
#include "lib/netcheck.h"
#include "lib/paths.h"
#include "lib/shquote.h"
#include "lib/spawn.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "power/plan.h"
#include "power/power.h"
#include "serial-capture/console.h"
#include "ssh/ssh.h"

#define GRUBENV_MAX (64 * 1024)
#define GRUBCFG_MAX (8 * 1024 * 1024)
#define MANIFEST_MAX (64 * 1024)
#define MAX_FILES 16
#define MAX_CONSOLE_PARAMS 32

static int ssh_power_cycle(struct board *b);

bool board_is_remote(const struct lab *lab)
{
	const struct board_ops *ops = board_ops_of(lab);

	return ops && !ops->is_virtual;
}

int board_connect(const struct lab *lab, struct lab_ssh **out)
{
	return hostconn_open(lab, NULL, out);
}

static bool board_user_is_root(const struct lab *lab)
{
	const char *user = lab->board.user;

	return !user || !strcmp(user, "root");
}

static bool use_sudo(const struct lab *lab)
{
	return !board_user_is_root(lab) && lab->deploy.sudo;
}

/* board_run, feeding in[0..inlen) to the command's stdin. */
static int board_run_in(const struct lab *lab, struct lab_ssh *s,
			bool privileged, const char *what,
			const char *const *argv, const void *in, size_t inlen,
			struct strbuf *out)
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
	ret = lab_ssh_run(s, full, in, inlen, out, &err, &st, 0);
	if (ret)
		goto out;
	if (st != 0) {
		strbuf_rtrim(&err);
		if (privileged && use_sudo(lab) &&
		    strstr(strbuf_str(&err), "password is required"))
			ret = lab_err(LAB_EPERM,
				      "%s: %s: sudo on %s asks for a password; deploy.sudo needs passwordless sudo for %s (a sudoers line like '%s ALL=(root) NOPASSWD: ALL')",
				      lab->name, what, lab_ssh_where(s),
				      lab->board.user,
				      lab->board.user);
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

int board_run(const struct lab *lab, struct lab_ssh *s, bool privileged,
	      const char *what, const char *const *argv, struct strbuf *out)
{
	return board_run_in(lab, s, privileged, what, argv, NULL, 0, out);
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
 * sha256sum's output for the files named, computed by openssl when the
 * board has it (it uses the CPU's SHA extensions: a 64 MiB image in a
 * fraction of sha256sum's time), else by sha256sum.
 */
#define SUMS_SH \
	"sums() { if command -v openssl >/dev/null 2>&1; then " \
	"openssl dgst -sha256 -r \"$@\" | sed 's/ \\*/  /'; " \
	"else sha256sum -- \"$@\"; fi; }\n"

/*
 * Install the variants sent, in one exec (as root with deploy.sudo):
 *   $1 the private temp dir they were sent to ($1/VARIANT/FILE), then
 *   per variant DIR VARIANT COUNT and COUNT pairs FILE SHA256.
 * Each file is installed under a temporary name beside its target and
 * renamed over it, so a target is never half-written; "==DIR" and the
 * sums follow for the caller to verify.  A variant's MANIFEST goes in
 * last, and only when every sum is the one sent: it claims what is there
 * only once it is.
 */
static const char install_sh[] =
	SUMS_SH
	"set -e; t=$1; shift\n"
	"while [ $# -gt 0 ]; do d=$1; v=$2; c=$3; shift 3; ok=1\n"
	"mkdir -p \"$d\"; echo \"==$d\"\n"
	"while [ \"$c\" -gt 0 ]; do f=$1; want=$2; shift 2; c=$((c - 1))\n"
	"install -m 0644 \"$t/$v/$f\" \"$d/.$f.labctl-new\"\n"
	"mv -f \"$d/.$f.labctl-new\" \"$d/$f\"\n"
	"have=$(cd \"$d\" && sums \"$f\"); echo \"$have\"\n"
	"[ \"${have%% *}\" = \"$want\" ] || ok=0; done\n"
	"if [ $ok = 1 ]; then install -m 0644 \"$t/$v/MANIFEST\" \"$d/.MANIFEST.labctl-new\"\n"
	"mv -f \"$d/.MANIFEST.labctl-new\" \"$d/MANIFEST\"; fi; done\n"
	"rm -rf \"$t\"";

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

/* The lines after "==DIR" up to the next "==" line (NULL: no such mark). */
static char *section_of(const char *text, const char *dir)
{
	char *mark = xasprintf("==%s\n", dir);
	const char *p = strstr(text, mark), *q, *e;
	char *sec = NULL;

	if (p) {
		q = p + strlen(mark);
		e = strstr(q, "\n==");
		sec = e ? xstrndup(q, e - q + 1) : xstrdup(q);
	}
	free(mark);
	return sec;
}

/* One variant of a deploy: its files, and which the board lacks. */
struct deploy_plan {
	const char *variant;
	char *local_dir;
	char *dir;		/* on the board */
	struct deploy_file f[MAX_FILES];
	bool sent[MAX_FILES];
	int n, nsend;
};

static int plan_variant(const struct lab *lab, const char *images_dir,
			const char *variant, const char *remote_manifest,
			struct deploy_plan *p, struct board_deploy_stats *st)
{
	const char *base = lab->deploy.dir;
	char *local_manifest;
	struct hv_manifest m = HV_MANIFEST_INIT;
	int i, ret;

	p->variant = variant;
	p->local_dir = xasprintf("%s/%s", images_dir, variant);
	p->dir = xasprintf("%s/%s", base ? base : "/boot/xmhf", variant);
	local_manifest = xasprintf("%s/MANIFEST", p->local_dir);
	ret = hv_manifest_load(&m, local_manifest);
	free(local_manifest);
	if (ret) {
		if (ret == -LAB_ENOENT)
			ret = lab_err(LAB_ENOENT,
				      "%s: no image for variant %s in %s (run labctl build first)",
				      lab->name, variant, p->local_dir);
		hv_manifest_release(&m);
		return ret;
	}
	p->n = manifest_files(&m, p->f, MAX_FILES);
	hv_manifest_release(&m);
	for (i = 0; i < p->n; i++) {
		char have[80];

		if (remote_manifest &&
		    remote_manifest_sha(remote_manifest, p->f[i].name, have,
					sizeof(have)) &&
		    !strcmp(have, p->f[i].sha)) {
			st->files_skipped++;
			continue;
		}
		p->sent[i] = true;
		p->nsend++;
	}
	return 0;
}

/* The files the board lacks, and each variant's MANIFEST, into tmpdir. */
static int send_variant(struct lab_ssh *s, const char *tmpdir,
			const struct deploy_plan *p, bool progress,
			struct board_deploy_stats *st)
{
	struct progress_state ps = { progress, p->variant, 0 };
	char *rdir = xasprintf("%s/%s", tmpdir, p->variant);
	char *lp, *rp;
	int i, ret;

	ret = lab_ssh_mkdir_p(s, rdir, 0700);
	for (i = 0; !ret && i < p->n; i++) {
		if (!p->sent[i])
			continue;
		lp = xasprintf("%s/%s", p->local_dir, p->f[i].name);
		rp = xasprintf("%s/%s", rdir, p->f[i].name);
		ret = lab_ssh_put_file(s, lp, rp, 0644,
				       progress && p->f[i].size > (1u << 20) ?
				       print_progress : NULL, &ps);
		free(lp);
		free(rp);
		if (!ret) {
			st->files_sent++;
			st->bytes_sent += p->f[i].size;
		}
	}
	if (!ret) {
		lp = xasprintf("%s/MANIFEST", p->local_dir);
		rp = xasprintf("%s/MANIFEST", rdir);
		ret = lab_ssh_put_file(s, lp, rp, 0644, NULL, NULL);
		free(lp);
		free(rp);
	}
	free(rdir);
	return ret;
}

/*
 * Round trips, whatever the number of variants: one exec reads the
 * board's MANIFESTs; when anything changed, one makes a private temp dir,
 * SFTP sends the files there, and one installs and checks them all.
 */
int board_deploy(const struct lab *lab, struct lab_ssh *s,
		 const char *images_dir, const char *const *variants, int n,
		 bool progress, struct board_deploy_stats *st)
{
	const char *base = lab->deploy.dir;
	const char **argv = xcalloc(n + 5, sizeof(*argv));
	const char **inst = NULL;
	struct deploy_plan *plan = xcalloc(n, sizeof(*plan));
	struct strbuf all = STRBUF_INIT, sums = STRBUF_INIT;
	char *tmpdir = NULL;
	char **counts = xcalloc(n, sizeof(*counts));
	uint64_t rt0 = lab_ssh_round_trips(s);
	int64_t t0 = lab_mono_ms();
	int i, k = 0, nsend = 0, ret;

	memset(st, 0, sizeof(*st));
	st->variants = n;
	argv[k++] = "sh";
	argv[k++] = "-c";
	argv[k++] = read_manifests_sh;
	argv[k++] = "labctl-manifests";
	for (i = 0; i < n; i++) {
		plan[i].dir = xasprintf("%s/%s", base ? base : "/boot/xmhf",
					variants[i]);
		argv[k++] = plan[i].dir;
	}
	argv[k] = NULL;
	ret = board_run(lab, s, false, "reading the board's MANIFESTs", argv,
			&all);
	for (i = 0; !ret && i < n; i++) {
		char *text = section_of(strbuf_str(&all), plan[i].dir);

		free(plan[i].dir);
		plan[i].dir = NULL;
		ret = plan_variant(lab, images_dir, variants[i],
				   text && *text ? text : NULL, &plan[i], st);
		nsend += plan[i].nsend;
		free(text);
	}
	if (ret || !nsend)
		goto out;

	{
		const char *mk[] = { "mktemp", "-d", "/tmp/labctl-deploy.XXXXXXXX", NULL };
		struct strbuf t = STRBUF_INIT;

		ret = board_run(lab, s, false, "mktemp", mk, &t);
		strbuf_rtrim(&t);
		tmpdir = strbuf_detach(&t, NULL);
	}
	for (i = 0; !ret && i < n; i++)
		if (plan[i].nsend)
			ret = send_variant(s, tmpdir, &plan[i], progress, st);
	if (ret)
		goto out;
	inst = xcalloc(5 + (size_t)n * (3 + 2 * MAX_FILES) + 1, sizeof(*inst));
	k = 0;
	inst[k++] = "sh";
	inst[k++] = "-c";
	inst[k++] = install_sh;
	inst[k++] = "labctl-deploy";
	inst[k++] = tmpdir;
	for (i = 0; i < n; i++) {
		int j;

		if (!plan[i].nsend)
			continue;
		counts[i] = xasprintf("%d", plan[i].nsend);
		inst[k++] = plan[i].dir;
		inst[k++] = plan[i].variant;
		inst[k++] = counts[i];
		for (j = 0; j < plan[i].n; j++) {
			if (!plan[i].sent[j])
				continue;
			inst[k++] = plan[i].f[j].name;
			inst[k++] = plan[i].f[j].sha;
		}
	}
	inst[k] = NULL;
	ret = board_run(lab, s, true, use_sudo(lab) ? "installing the images" :
			"verifying the images", inst, &sums);
	for (i = 0; !ret && i < n; i++) {
		char *text;

		if (!plan[i].nsend)
			continue;
		text = section_of(strbuf_str(&sums), plan[i].dir);
		ret = verify_sums(lab, plan[i].dir, text ? text : "", plan[i].f,
				  plan[i].sent, plan[i].n);
		free(text);
	}
out:
	if (ret && tmpdir) {
		const char *rm[] = { "rm", "-rf", tmpdir, NULL };
		struct lab_err_saved keep;

		lab_err_save(&keep);
		board_run(lab, s, false, "cleanup", rm, NULL);
		lab_err_restore(&keep);
	}
	st->round_trips = lab_ssh_round_trips(s) - rt0;
	st->elapsed_ms = lab_mono_ms() - t0;
	for (i = 0; i < n; i++) {
		free(plan[i].local_dir);
		free(plan[i].dir);
		free(counts[i]);
	}
	free(counts);
	free(plan);
	free(inst);
	free(tmpdir);
	free(argv);
	strbuf_release(&all);
	strbuf_release(&sums);
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

/*
 * What a chain change needs from the board, in one exec (as root with
 * deploy.sudo: grub-probe opens the disk, grub.cfg may be root-only).
 * $1: the directory to grub-probe ("": no probe); $2: the fingerprint of
 * its filesystem when grub-probe last passed it (the filesystem type,
 * id and device: "" none).  The same filesystem is not probed again
 * ("probe=known"; grub-probe takes a second or more on a slow board);
 * else "fs=...\nabstraction=...\nprobe=FINGERPRINT\n".  Then each file
 * named, framed as "==SIZE\n" and its bytes, "==-\n" when it does not
 * exist, "==!\n" when unreadable.
 */
static const char chain_fetch_sh[] =
	"if [ \"$1\" ]; then "
	"fp=$(stat -f -c %t:%i \"$1\" 2>/dev/null):$(stat -c %d \"$1\" 2>/dev/null); "
	"case $fp in :*|*:|*::*) fp= ;; esac; "
	"if [ \"$fp\" ] && [ \"$fp\" = \"$2\" ]; then echo probe=known; else "
	"p=$(command -v grub-probe || command -v grub2-probe) || "
	"{ echo 'no grub-probe or grub2-probe on the board' >&2; exit 127; }; "
	"fs=$(\"$p\" --target=fs \"$1\") && "
	"abs=$(\"$p\" --target=abstraction \"$1\") || exit; "
	"printf 'fs=%s\\nabstraction=%s\\nprobe=%s\\n' \"$fs\" \"$abs\" \"$fp\"; "
	"fi; fi; shift 2; "
	"for f; do if [ ! -e \"$f\" ]; then echo '==-'; "
	"elif [ ! -r \"$f\" ]; then echo '==!'; "
	"else printf '==%s\\n' \"$(wc -c <\"$f\")\" && cat -- \"$f\" || exit; fi; done";

/*
 * Where this machine keeps the fingerprint of the board's grubenv
 * filesystem that grub-probe passed (chain_fetch_sh): the state
 * directory, one file per lab, board and path.
 */
static char *probe_cache_path(const struct lab *lab)
{
	char *key = xasprintf("%s:%lld:%s", lab->board.host ? lab->board.host : "",
			      (long long)lab->board.ssh_port, lab->grub.grubenv);
	char *path = lab_state_path("grub-probe/%s-%08lx", lab->name,
				    lab_str_hash32(key));

	free(key);
	return path;
}

static char *probe_cache_read(const struct lab *lab)
{
	char *path = probe_cache_path(lab);
	struct strbuf sb = STRBUF_INIT;

	if (strbuf_read_file(&sb, path, 256) < 0) {
		lab_err_clear();
		strbuf_reset(&sb);
	}
	free(path);
	strbuf_rtrim(&sb);
	return strbuf_detach(&sb, NULL);
}

/* A cache that cannot be written only costs the next probe. */
static void probe_cache_write(const struct lab *lab, const char *fp)
{
	char *path = probe_cache_path(lab);
	char *dir = dirname_of(path);

	if (lab_mkdir_p(dir, 0700) < 0 ||
	    lab_write_file_atomic(path, fp, strlen(fp), 0600) < 0)
		lab_err_clear();
	free(dir);
	free(path);
}

/*
 * Replace grubenv with stdin and print what is then on the disk, in one
 * exec: $1 its directory, $2 its name.  The block is written beside it,
 * synced and renamed over it, so GRUB never finds half a block, and a
 * power cut right after the chain is set does not lose it; what a killed
 * write left is removed first.
 */
static const char grubenv_store_sh[] =
	"set -e; d=$1; b=$2; rm -f \"$d/.$b.labctl-\"*; "
	"t=$(mktemp \"$d/.$b.labctl-XXXXXX\"); cat >\"$t\"; chmod 0644 \"$t\"; "
	"sync \"$t\" 2>/dev/null || sync; mv -f \"$t\" \"$d/$b\"; "
	"sync \"$d\" 2>/dev/null || sync; cat -- \"$d/$b\"";

/* One frame of chain_fetch_sh's output at *p; 1 missing, 0 read, <0 error. */
static int fetch_frame(const struct lab *lab, const char *path,
		       const char **p, const char *end, struct strbuf *into,
		       size_t max)
{
	const char *nl = memchr(*p, '\n', end - *p);
	unsigned long long size;
	char *e;

	if (end - *p < 3 || strncmp(*p, "==", 2) || !nl)
		return lab_err(LAB_EFORMAT, "%s: reading %s on the board: unexpected output",
			       lab->name, path);
	if ((*p)[2] == '-' && nl == *p + 3) {
		*p = nl + 1;
		return 1;
	}
	if ((*p)[2] == '!' && nl == *p + 3)
		/* The lab's setting fixes it: a usage error, as for a missing entry. */
		return lab_err(LAB_ECONFIG,
			       "%s: %s on the board is not readable by %s: set deploy.sudo = yes (passwordless sudo)",
			       lab->name, path, lab->board.user ? lab->board.user : "the board user");
	size = strtoull(*p + 2, &e, 10);
	if (e != nl || (size_t)(end - (nl + 1)) < size)
		return lab_err(LAB_EFORMAT, "%s: reading %s on the board: the file changed while it was read",
			       lab->name, path);
	if (size > max)
		return lab_err(LAB_EFORMAT, "%s: %s on the board is larger than %zu bytes",
			       lab->name, path, max);
	strbuf_add(into, nl + 1, size);
	*p = nl + 1 + size;
	return 0;
}

/*
 * One exec: with probe, grub-probe's verdict on grubenv's filesystem and
 * grub.cfg (cfg); always grubenv (env; *env_missing when it is not there).
 */
static int chain_fetch(const struct lab *lab, struct lab_ssh *s, bool probe,
		       struct strbuf *cfg, struct strbuf *env, bool *env_missing)
{
	const char *grubenv = lab->grub.grubenv;
	char *dir = dirname_of(grubenv);
	char *known = probe ? probe_cache_read(lab) : xstrdup("");
	const char *argv[] = { "sh", "-c", chain_fetch_sh, "labctl-chain",
			       probe ? dir : "", known, grubenv,
			       probe ? lab->grub.cfg : NULL, NULL };
	struct strbuf out = STRBUF_INIT;
	const char *p, *end;
	int ret;

	ret = board_run(lab, s, true, probe ? "grub-probe" : "reading grubenv",
			argv, &out);
	if (ret)
		goto out;
	p = strbuf_str(&out);
	end = p + out.len;
	if (probe && !strncmp(p, "probe=known\n", 12)) {
		p += 12;
	} else if (probe) {
		char fs[32] = "", abs[64] = "", fp[128] = "";
		const char *l2 = memchr(p, '\n', end - p);
		const char *l3 = l2 ? memchr(l2 + 1, '\n', end - (l2 + 1)) : NULL;

		if (strncmp(p, "fs=", 3) || !l2 || strncmp(l2 + 1, "abstraction=", 12) ||
		    !l3 || strncmp(l3 + 1, "probe=", 6)) {
			ret = lab_err(LAB_EFORMAT, "%s: grub-probe printed no verdict on %s",
				      lab->name, dir);
			goto out;
		}
		sscanf(p + 3, "%31[^\n]", fs);
		sscanf(l2 + 13, "%63[^\n]", abs);
		sscanf(l3 + 7, "%127[^\n]", fp);
		if (!strcmp(fs, "btrfs") || !strcmp(fs, "zfs")) {
			ret = lab_err(LAB_ECONFIG,
				      "%s: %s is on %s, where GRUB's save_env cannot write: the chain would never advance; keep grubenv on a plain filesystem (e.g. an ext4 /boot) or set grub.grubenv",
				      lab->name, grubenv, fs);
			goto out;
		}
		if (strstr(abs, "lvm") || strstr(abs, "raid") ||
		    strstr(abs, "diskfilter") || strstr(abs, "crypt") ||
		    strstr(abs, "luks")) {
			char *said = lab_escape_str(abs);	/* grub-probe's words */

			ret = lab_err(LAB_ECONFIG,
				      "%s: %s is on %s, where GRUB's save_env cannot write: the chain would never advance; keep grubenv on a plain partition",
				      lab->name, grubenv, said);
			free(said);
			goto out;
		}
		/* Passed: the same filesystem need not be probed again. */
		if (*fp)
			probe_cache_write(lab, fp);
		p = memchr(l3 + 1, '\n', end - (l3 + 1));
		p = p ? p + 1 : end;
	}
	ret = fetch_frame(lab, grubenv, &p, end, env, GRUBENV_MAX);
	if (ret < 0)
		goto out;
	*env_missing = ret == 1;
	ret = 0;
	if (probe) {
		ret = fetch_frame(lab, lab->grub.cfg, &p, end, cfg, GRUBCFG_MAX);
		if (ret == 1)
			ret = lab_err(LAB_ENOENT,
				      "%s: the board has no %s; install GRUB's entries with: labctl grub install %s",
				      lab->name, lab->grub.cfg, lab->name);
	}
out:
	free(dir);
	free(known);
	strbuf_release(&out);
	return ret;
}

static int parse_grubenv(const struct lab *lab, struct lab_ssh *s,
			 const struct strbuf *text, bool missing,
			 struct envblk **blk)
{
	char *what;
	int ret;

	if (missing)
		return envblk_new(1024, blk);
	what = xasprintf("%s:%s", lab_ssh_where(s), lab->grub.grubenv);
	ret = envblk_parse(text->buf, text->len, what, blk);
	free(what);
	return ret;
}

static int read_grubenv(const struct lab *lab, struct lab_ssh *s,
			struct envblk **blk)
{
	struct strbuf text = STRBUF_INIT;
	int ret;

	ret = board_read_file(lab, s, lab->grub.grubenv, &text, GRUBENV_MAX);
	if (ret == -LAB_ENOENT) {
		lab_err_clear();
		ret = parse_grubenv(lab, s, &text, true, blk);
	} else if (!ret) {
		ret = parse_grubenv(lab, s, &text, false, blk);
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

/*
 * Write blk over the board's grubenv, natively or with the board's
 * grub-editenv, and what is then on the board into *back.
 */
static int store_grubenv(const struct lab *lab, struct lab_ssh *s,
			 const struct envblk *old, const struct envblk *blk,
			 struct envblk **back)
{
	const char *path = lab->grub.grubenv;
	const char *tool = lab->grub.editenv;
	struct strbuf text = STRBUF_INIT;
	bool missing = false;
	int ret = 0;

	if (!tool || !strcmp(tool, "native")) {
		char *dir = dirname_of(path);
		char *base = xstrdup(strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
		const char *argv[] = { "sh", "-c", grubenv_store_sh,
				       "labctl-grubenv", dir, base, NULL };

		ret = board_run_in(lab, s, true, "writing grubenv", argv,
				   blk->buf, blk->size, &text);
		free(dir);
		free(base);
		if (!ret)
			ret = parse_grubenv(lab, s, &text, false, back);
		strbuf_release(&text);
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
	if (!ret)
		ret = chain_fetch(lab, s, false, NULL, &text, &missing);
	if (!ret)
		ret = parse_grubenv(lab, s, &text, missing, back);
	strbuf_release(&text);
	return ret;
}

int board_chain_set(const struct lab *lab, struct lab_ssh *s,
		    const char *const *entries, int n)
{
	int64_t max = lab->grub.max_stages;
	struct envblk *old = NULL, *blk = NULL, *after = NULL;
	struct strbuf cfg = STRBUF_INIT, env = STRBUF_INIT;
	char **back = NULL;
	size_t nback = 0;
	bool missing = false;
	int i, ret;

	/* The checks and the current grubenv in one round trip. */
	ret = chain_fetch(lab, s, n > 0, &cfg, &env, &missing);
	if (ret)
		goto out;
	for (i = 0; i < n; i++) {
		if (!strcmp(entries[i], "default") || !strcmp(entries[i], "0") ||
		    board_cfg_has_entry(strbuf_str(&cfg), entries[i]))
			continue;
		ret = lab_err(LAB_ECONFIG,
			      "%s: GRUB entry '%s' is not in the board's %s; install the entries with: labctl grub install %s",
			      lab->name, entries[i], lab->grub.cfg, lab->name);
		goto out;
	}
	ret = parse_grubenv(lab, s, &env, missing, &old);
	if (!ret)
		ret = parse_grubenv(lab, s, &env, missing, &blk);
	if (!ret)
		ret = n ? chain_set(blk, entries, n, (unsigned)max) :
			  chain_clear(blk);
	/* The write and its read-back in another. */
	if (!ret)
		ret = store_grubenv(lab, s, old, blk, &after);
	if (!ret)
		ret = chain_get(after, &back, &nback);
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
		      lab->grub.grubenv, n);
out:
	if (back)
		chain_free(back, nback);
	envblk_free(old);
	envblk_free(blk);
	envblk_free(after);
	strbuf_release(&cfg);
	strbuf_release(&env);
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
	const char *names[2] = { lab->grub.dropin,
				 lab->grub.entries };
	enum lab_grub_part parts[2] = { PART_CHAIN, PART_ENTRIES };
	const char *cfg_path = lab->grub.cfg;
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
	const char *host = lab->board.host;
	int port = lab->board.ssh_port;

	while (lab_mono_ms() < deadline) {
		if (lab_ssh_port_answers(host, port, 1000)) {
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
	const char *cmd = lab->board.reboot;
	const char *host = lab->board.host;
	int port = lab->board.ssh_port;
	int64_t down_ms = lab->board.down_timeout_ms;
	int64_t up_ms = lab->board.up_timeout_ms;
	const char *cmdv[40], *argv[52];
	char *words = xstrdup(cmd ? cmd : "systemctl reboot"), *w, *save = NULL;
	int k = 0, ret, st = 0, misses;
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
	/*
	 * Detached: the session ends cleanly before the reboot begins, so
	 * the reboot's sudo runs where its errors cannot be seen.  In the
	 * same round trip, before detaching, sudo -n must not want a
	 * password.  (sudo around the detached part would keep the session
	 * until the reboot, its pty held by the detached shell.)
	 */
	k = 0;
	if (use_sudo(lab)) {
		argv[k++] = "sh";
		argv[k++] = "-c";
		argv[k++] = "sudo -n true || exit; exec \"$@\"";
		argv[k++] = "labctl-reboot";
	}
	lab_detached_argv(argv + k, 52 - k, cmdv);
	ret = lab_ssh_run(*s, argv, NULL, 0, NULL, &err, &st, 0);
	if (!ret && st) {
		char *text;

		strbuf_rtrim(&err);
		text = lab_escape_lines(err.buf, err.len);
		if (use_sudo(lab) && strstr(strbuf_str(&err), "password is required"))
			ret = lab_err(LAB_EPERM,
				      "%s: rebooting needs passwordless sudo on %s: %s",
				      lab->name, lab_ssh_where(*s), text);
		else
			ret = lab_err(LAB_EPROGRAM,
				      "%s: reboot command failed on %s (exit %d): %s",
				      lab->name, lab_ssh_where(*s), st, text);
		free(text);
	}
	if (ret)
		goto out;
	deadline = lab_mono_ms() + down_ms;
	/*
	 * Down is the session the command went over closed by the board (its
	 * sshd stopped), or two probes in a row without sshd's greeting (a
	 * machine that resets closes nothing; a busy board's one late
	 * greeting is no reboot).  A board down for less than two probes is
	 * still seen going down by its session.
	 */
	for (misses = 0; misses < 2;) {
		if (lab_ssh_peer_closed(*s))
			break;
		if (!lab_ssh_port_answers(host, port, 2000)) {
			misses++;
			continue;
		}
		misses = 0;
		if (lab_mono_ms() >= deadline) {
			ret = lab_err(LAB_ETIMEDOUT,
				      "%s: the board still answers on %s:%d %lld s after the reboot command",
				      lab->name, host, port, (long long)(down_ms / 1000));
			goto out;
		}
		lab_sleep_ms(200);
	}
out:
	{
		struct lab_err_saved keep;

		lab_err_save(&keep);
		lab_ssh_close(*s);
		lab_err_restore(&keep);
	}
	*s = NULL;
	if (!ret && wait_up)
		ret = board_wait_up(lab, s, up_ms);
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
	struct lab_err_saved keep;

	/* The caller's error, if any, is what the user must see. */
	lab_err_save(&keep);
	if (bs->ssh)
		lab_ssh_close(bs->ssh);
	bs->ssh = NULL;
	if (bs->leased) {
		lease_keeper_stop(&bs->lease);
		/* An adopted `labctl lock` lease stays its owner's. */
		if (!bs->lease.adopted)
			lease_drop(&bs->lease, false);
		lease_release_resources(&bs->lease);
		bs->leased = false;
	}
	lab_err_restore(&keep);
}

/* ------------------------------------------------------------ ops */

static int ssh_open(struct board *b)
{
	/* Power and console do not need the board's OS. */
	if (b->attach)
		return 0;
	return board_connect(b->lab, &b->bs.ssh);
}

/*
 * A board that does not answer ssh when a verb starts is most likely
 * still running the last run's hypervisor: power-cycle it (its chain is
 * used up, so it boots its OS) and wait until it answers.
 */
static int ssh_recover(struct board *b, int connect_ret)
{
	const struct lab *lab = b->lab;
	const char *host = lab->board.host;
	int port = lab->board.ssh_port;
	int ret;

	/* Something answers: it just came up, or a key or auth problem that
	 * a power cycle would not fix.  One more try tells which. */
	if (lab_ssh_port_answers(host, port, 1000)) {
		lab_err_clear();
		return board_connect(lab, &b->bs.ssh);
	}
	lab_warn("%s: the board does not answer ssh (%s); power-cycling it to get its OS back",
		 lab->name, lab_errmsg(connect_ret));
	lab_board_event(b, "SSH", lab_errmsg(connect_ret));
	ret = ssh_power_cycle(b);
	if (!ret)
		ret = board_wait_up(lab, &b->bs.ssh,
				    lab->board.up_timeout_ms);
	return ret;
}

static int ssh_deploy(struct board *b, const struct hv_variant *hv,
		      const struct hv_build_result *built, int n,
		      const char *images_dir, bool progress,
		      struct board_deploy_stats *st)
{
	const char **names = xcalloc((size_t)n + 1, sizeof(*names));
	int i, ret;

	(void)built;
	for (i = 0; i < n; i++)
		names[i] = hv[i].name;
	ret = board_deploy(b->lab, b->bs.ssh, images_dir, names, n, progress, st);
	if (!ret)
		lab_info("deployed %d changed file%s (%llu bytes) to %s; %d unchanged",
			 st->files_sent, st->files_sent == 1 ? "" : "s",
			 (unsigned long long)st->bytes_sent,
			 lab_ssh_where(b->bs.ssh), st->files_skipped);
	free(names);
	return ret;
}

/* Check that GRUB can save its environment and has the entries, then write. */
static int ssh_set_chain(struct board *b, const char *const *entries, int n)
{
	return board_chain_set(b->lab, b->bs.ssh, entries, n);
}

static int ssh_power(struct board *b, const struct board_power_opts *po,
		     struct power_dev **out)
{
	return lab_power_open_lab_device(b->lab, po, b->hooks.event,
					 b->hooks.arg, out);
}

static int ssh_console(struct board *b, const struct board_console_opts *co,
		       struct console **out)
{
	const struct lab *lab = b->lab;
	struct lab_param params[MAX_CONSOLE_PARAMS];
	struct console_config cfg = {
		.driver = lab->console.driver,
		.params = params,
		/* A dropped SOL session or ser2net restart is a gap, not the end. */
		.reconnect = true,
		.on_link = b->hooks.on_link,
		.link_arg = b->hooks.arg,
	};

	(void)co;
	if (!cfg.driver)
		return lab_err(LAB_ECONFIG,
			       "%s: a run on a real board needs its console: set [console] driver",
			       lab->path);
	cfg.nparams = lab_section_params(lab, "console", params,
					 MAX_CONSOLE_PARAMS);
	return console_open(out, &cfg);
}

/*
 * The lab's power plan, else its [power] device, cycles the board (it
 * does not answer ssh, or the soft reboot failed).
 */
static int ssh_power_cycle(struct board *b)
{
	const struct lab *lab = b->lab;
	struct power_dev *dev = NULL;
	int ret;

	if (lab->power.plan) {
		struct power_plan_options po = { 0 };
		struct lab_power_devices devs;
		struct power_plan *plan = NULL;

		lab_power_plan_options(lab, &po);
		po.event = b->hooks.event;
		po.event_arg = b->hooks.arg;
		lab_power_devices(lab, NULL, &devs);
		ret = power_plan_new(&plan, lab->power.plan,
				     devs.devs, devs.n, &po);
		lab_power_devices_release(&devs);
		if (!ret)
			ret = power_plan_run(plan);
		power_plan_free(plan);
		return ret;
	}
	ret = lab_board_power(b, NULL, &dev);
	if (!ret && !dev)
		return lab_err(LAB_EINFRA,
			       "%s: the board does not answer ssh and the lab has no [power] driver to cycle it",
			       lab->name);
	return ret ? ret : power_cycle(dev);
}

/* A soft reboot over ssh; when its OS does not answer, a power cycle. */
static int ssh_boot(struct board *b)
{
	int ret;

	if (b->bs.ssh) {
		ret = board_reboot(b->lab, &b->bs.ssh, false);
		lab_board_event(b, "SOFT_REBOOT", ret ? lab_errmsg(ret) : "ok");
		if (!ret)
			return 0;
		lab_warn("%s: soft reboot failed: %s", b->lab->name, lab_errmsg(ret));
	}
	return ssh_power_cycle(b);
}

/* The session (lease, ssh) is lab_board_close's. */
static void ssh_close(struct board *b)
{
	(void)b;
}

#define SSH_BOARD_OPS(name)						\
	{								\
		.type = name,						\
		.title = "real",					\
		.is_virtual = false,					\
		.open = ssh_open,					\
		.recover = ssh_recover,					\
		.deploy = ssh_deploy,					\
		.set_chain = ssh_set_chain,				\
		.power = ssh_power,					\
		.open_console = ssh_console,				\
		.boot = ssh_boot,					\
		.close = ssh_close,					\
	}

const struct board_ops pc_board_ops = SSH_BOARD_OPS("pc");
const struct board_ops laptop_board_ops = SSH_BOARD_OPS("laptop");
