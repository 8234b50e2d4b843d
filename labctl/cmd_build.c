// SPDX-License-Identifier: MIT
/*
 * labctl build [LAB] [VARIANT...] [-j N] [--force] [--prune]
 *
 * Which words are variants: with --lab, or when the first word is a
 * variant of the default lab ($LABCTL_LAB, else qemu), all of them are;
 * otherwise, when the first word names a lab, it is the lab and the rest
 * are its variants (cmd_open_lab_for_names).  A word that is neither is
 * an unknown variant (exit 2).  No variant named: all of the lab's
 * variants, in file order.
 *
 * Images go to $LABCTL_IMAGES, else ./images; the stand-in's sources are
 * found as hv_find_hypervisor_dir() says ($LABCTL_HYPERVISOR_DIR first).
 * Progress on stderr: live lines on a terminal, plain lines otherwise,
 * none with -q.  --json prints the per-variant results on stdout.
 *
 * Every build stays in the build cache by its inputs (hvimage/cache.c),
 * bounded by $LABCTL_CACHE_SIZE, else the lab's [build] cache_size;
 * --prune only brings the cache within that bound (no variant is built).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hvimage/build.h"
#include "labctl/labconf.h"
#include "labctl/labctl.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"

static void list_variants(const struct lab *lab, struct strbuf *out)
{
	int i;

	for (i = 0; i < lab->nvariants; i++)
		strbuf_addf(out, "%s%s", i ? ", " : "", lab->variants[i].name);
	if (!lab->nvariants)
		strbuf_addstr(out, "none");
}

static int unknown_variant(const struct lab *lab, const char *name,
			   bool maybe_lab)
{
	struct strbuf known = STRBUF_INIT;

	list_variants(lab, &known);
	fprintf(stderr, "labctl build: unknown variant '%s'%s in lab %s (known: %s)\n",
		name, maybe_lab ? " (and no lab of that name)" : "", lab->name,
		known.buf);
	strbuf_release(&known);
	return LAB_EXIT_USAGE;
}

static int parse_jobs(const char *s, int *jobs)
{
	int64_t n;

	if (lab_parse_int(s, &n) < 0 || n < 1 || n > 1024)
		return cmd_usage_error("build", "-j takes a number of parallel builds from 1 to 1024, not '%s'",
				       s);
	*jobs = (int)n;
	return 0;
}

static void json_result(struct strbuf *sb, const struct hv_variant *v,
			const struct hv_build_result *r)
{
	strbuf_addstr(sb, "{\"name\":");
	strbuf_add_json_str(sb, v->name);
	strbuf_addstr(sb, ",\"recipe\":");
	strbuf_add_json_str(sb, v->recipe);
	strbuf_addstr(sb, ",\"state\":");
	strbuf_add_json_str(sb, hv_build_state_name(r->state));
	strbuf_addf(sb, ",\"elapsed_ms\":%lld,\"dir\":", (long long)r->elapsed_ms);
	if (r->dir)
		strbuf_add_json_str(sb, r->dir);
	else
		strbuf_addstr(sb, "null");
	strbuf_addstr(sb, ",\"sha256\":{");
	if (r->sha256_init[0]) {
		strbuf_addf(sb, "\"" HV_INIT_FILE "\":\"%s\",\"" HV_MODULE_FILE
			    "\":\"%s\"", r->sha256_init, r->sha256_module);
	}
	strbuf_addstr(sb, "},\"revision\":");
	if (r->source_rev)
		strbuf_add_json_str(sb, r->source_rev);
	else
		strbuf_addstr(sb, "null");
	strbuf_addstr(sb, ",\"log\":");
	if (r->log_path)
		strbuf_add_json_str(sb, r->log_path);
	else
		strbuf_addstr(sb, "null");
	strbuf_addstr(sb, ",\"error\":");
	if (r->error)
		strbuf_add_json_str(sb, r->error);
	else
		strbuf_addstr(sb, "null");
	strbuf_addch(sb, '}');
}

static enum hv_progress pick_progress(void)
{
	const char *term = getenv("TERM");

	if (lab_log_get_level() < LAB_LOG_INFO)
		return HV_PROGRESS_NONE;
	if (isatty(2) && term && *term && strcmp(term, "dumb"))
		return HV_PROGRESS_TTY;
	return HV_PROGRESS_PLAIN;
}

static const struct option options[] = {
	{ "force", no_argument, NULL, 'f' },
	{ "jobs", required_argument, NULL, 'j' },
	{ "prune", no_argument, NULL, 'P' },
	{ NULL, 0, NULL, 0 }
};

/* The cache's bound: $LABCTL_CACHE_SIZE, else [build] cache_size. */
static int cache_bound(const struct lab *lab, int64_t *bytes)
{
	int64_t mib = lab->build.cache_size_mib;
	int ret = hv_cache_max_env(bytes);

	if (ret)
		return ret < 0 ? cmd_fail(ret) : 0;
	if (mib != LAB_UNSET)
		*bytes = mib << 20;
	return 0;
}

static void fmt_bytes(char *buf, size_t size, int64_t n)
{
	if (n >= (10LL << 20))
		snprintf(buf, size, "%lld MiB", (long long)(n >> 20));
	else if (n >= (10LL << 10))
		snprintf(buf, size, "%lld KiB", (long long)(n >> 10));
	else
		snprintf(buf, size, "%lld bytes", (long long)n);
}

static int prune(const struct lab *lab, struct cmd_ctx *ctx)
{
	struct hv_cache_stats st;
	char *dir = hv_cache_dir(hv_default_images_dir());
	char kept[32], removed[32], bound[32];
	int64_t max;
	int rc, ret;

	rc = cache_bound(lab, &max);
	if (rc)
		goto out;
	ret = hv_cache_prune(dir, max, &st);
	if (ret) {
		rc = cmd_fail(ret);
		goto out;
	}
	fmt_bytes(kept, sizeof(kept), st.kept_bytes);
	fmt_bytes(removed, sizeof(removed), st.removed_bytes);
	fmt_bytes(bound, sizeof(bound), max);
	if (ctx->json) {
		struct strbuf sb = STRBUF_INIT;

		strbuf_addstr(&sb, "{\"cache\":");
		strbuf_add_json_str(&sb, dir);
		strbuf_addf(&sb, ",\"bound\":%lld,\"removed\":%d,\"removed_bytes\":%lld,\"kept\":%d,\"kept_bytes\":%lld}\n",
			    (long long)max, st.removed, (long long)st.removed_bytes,
			    st.kept, (long long)st.kept_bytes);
		fputs(sb.buf, stdout);
		strbuf_release(&sb);
	} else {
		printf("%s: removed %d build(s) (%s), kept %d (%s) within %s\n",
		       dir, st.removed, removed, st.kept, kept, bound);
	}
out:
	free(dir);
	return rc;
}

int cmd_build(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct hv_build_opts opts = { 0 };
	struct hv_variant *vars = NULL;
	struct hv_build_result *res = NULL;
	char **pos = xcalloc((size_t)argc + 1, sizeof(*pos));
	char **names;
	struct lab *lab = NULL;
	struct strbuf sb = STRBUF_INIT;
	int npos = 0, nnames, n = 0, i, k, rc = 0, ret;
	int64_t t0 = lab_mono_ms();
	struct cmd_getopt g;
	bool do_prune = false;
	int c;

	cmd_getopt_init(&g, "build", argc, argv, options);
	while ((c = cmd_getopt_next(&g)) != -1) {
		switch (c) {
		case CMD_OPERAND:
			pos[npos++] = g.arg;
			break;
		case 'f':
			opts.force = true;
			break;
		case 'j':
			rc = parse_jobs(g.arg, &opts.jobs);
			break;
		case 'P':
			do_prune = true;
			break;
		default:
			rc = LAB_EXIT_USAGE;
			break;
		}
		if (rc)
			goto out;
	}

	/* The lab, and which words name variants (the rule every verb taking
	 * [LAB] NAME... follows: see cmd_open_lab_for_names). */
	names = pos;
	nnames = npos;
	rc = cmd_open_lab_for_names(ctx, &nnames, &names, &lab);
	if (rc)
		goto out;
	if (do_prune) {
		if (nnames) {
			rc = cmd_usage_error("build", "--prune takes no variant (it builds nothing), not '%s'",
					     names[0]);
			goto out;
		}
		rc = prune(lab, ctx);
		goto out;
	}
	if (!lab->nvariants) {
		fprintf(stderr, "labctl build: lab %s (%s) has no [variant NAME] sections\n",
			lab->name, lab->path);
		rc = LAB_EXIT_USAGE;
		goto out;
	}

	/* The variants, each once, in the order given. */
	vars = xcalloc((size_t)(nnames ? nnames : lab->nvariants), sizeof(*vars));
	for (i = 0; i < (nnames ? nnames : lab->nvariants); i++) {
		const struct lab_variant *lv;
		struct hv_variant *v;
		int64_t opt = 0;

		lv = nnames ? lab_find_variant(lab, names[i]) : &lab->variants[i];
		if (!lv) {
			/* A first word that was not taken as a lab is none. */
			rc = unknown_variant(lab, names[i], !ctx->lab_name &&
					     names == pos && i == 0);
			goto out;
		}
		for (k = 0; k < n; k++)
			if (!strcmp(vars[k].name, lv->name))
				break;
		if (k < n)
			continue;
		v = &vars[n++];
		v->name = lv->name;
		v->recipe = lab_variant_get(lv, "recipe");
		v->arch = lab_variant_get(lv, "arch");
		/* Checked against the schema when the lab was loaded. */
		if (lab_variant_get(lv, "options"))
			lab_parse_int(lab_variant_get(lv, "options"), &opt);
		v->options = (uint32_t)opt;
		v->src = lab_variant_get(lv, "src");
		v->args = lab_variant_get(lv, "args");
		v->rev = lab_variant_get(lv, "rev");
	}

	opts.images_dir = hv_default_images_dir();
	opts.progress = pick_progress();
	rc = cache_bound(lab, &opts.cache_max);
	if (rc)
		goto out;
	res = xcalloc((size_t)n, sizeof(*res));
	ret = hv_build(vars, n, &opts, res);

	if (ctx->json) {
		strbuf_addstr(&sb, "{\"lab\":");
		strbuf_add_json_str(&sb, lab->name);
		strbuf_addstr(&sb, ",\"images\":");
		strbuf_add_json_str(&sb, opts.images_dir);
		strbuf_addf(&sb, ",\"ok\":%s,\"elapsed_ms\":%lld,\"variants\":[",
			    ret ? "false" : "true",
			    (long long)(lab_mono_ms() - t0));
		for (i = 0; i < n; i++) {
			if (i)
				strbuf_addch(&sb, ',');
			json_result(&sb, &vars[i], &res[i]);
		}
		strbuf_addstr(&sb, "]}\n");
		fputs(sb.buf, stdout);
	} else if (!ret && opts.progress != HV_PROGRESS_NONE) {
		int done = 0, cached = 0;

		for (i = 0; i < n; i++) {
			done += res[i].state == HV_DONE;
			cached += res[i].state == HV_CACHED;
		}
		fprintf(stderr, "labctl: %d built, %d cached in %s/ (%.1fs)\n",
			done, cached, opts.images_dir,
			(double)(lab_mono_ms() - t0) / 1000);
	}
	if (ret)
		rc = cmd_fail(ret);
out:
	for (i = 0; res && i < n; i++)
		hv_build_result_release(&res[i]);
	free(res);
	free(vars);
	free(pos);
	lab_free(lab);
	strbuf_release(&sb);
	return rc;
}
