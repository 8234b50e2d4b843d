/* SPDX-License-Identifier: MIT */
/*
 * One run: build -> deploy -> chain -> console -> power -> watch ->
 * verdict -> results/<ts>.json -> power off.  Cleanups run on every path
 * (verdict, error, a stop signal), so the console is closed, QEMU is
 * stopped and the log is complete whatever happens.
 */
#ifndef RUN_H
#define RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "labctl/labconf.h"
#include "labctl/labctl.h"

/* What a live view is told while the board boots (see labctl/progress.h). */
struct run_status {
	int stage, nstages;	/* 1-based; 0 before the first banner */
	const char *stage_name;	/* "" before the first */
	int64_t elapsed_ns;	/* since power-on */
	uint64_t lines, bytes;	/* captured so far */
	int64_t silence_ns;	/* since the last line the watcher judged */
};

/*
 * Events from the run engine for a live view; any may be NULL.  Called
 * from the thread that called lab_run_chain.  The engine prints nothing
 * of this itself.
 */
struct run_view {
	/* Stage k of n starts (its banner line), t_ns after power-on. */
	void (*stage)(void *arg, int k, int n, const char *name, int64_t t_ns);
	/* A console line, as the watcher judges it (no newline). */
	void (*line)(void *arg, const char *text, size_t len, int64_t t_ns);
	/* The state now, at most every 100 ms. */
	void (*status)(void *arg, const struct run_status *st);
	/* The verdict is known: take down anything drawn. */
	void (*clear)(void *arg);
	void *arg;
};

struct run_opts {
	bool build;		/* build the variants first (run), or not (boot) */
	bool deploy;
	int jobs;
	bool force_build;
	bool keep_on;		/* leave the board powered after the verdict */
	bool steal;		/* take the board's lease from its holder */
	const char *results_dir;	/* "results" */
	int64_t timeout_ms;	/* overrides watch.timeout when > 0 */
	const char *junit_path;	/* --junit FILE: the result as JUnit XML */
	bool tap;		/* --tap: TAP on stdout instead of the summary */
	const struct run_view *view;	/* a live view, or NULL */
	int argc;		/* the command line, for the record */
	char **argv;
};

/*
 * Run the chain (variant names, in boot order) on the lab's board.
 * Returns an exit code (0 pass, 1 fail, 2 usage/config, 3 infra) and prints
 * the summary (or JSON with ctx->json).
 */
int lab_run_chain(struct lab *lab, const char *const *chain, int n,
		  const struct run_opts *o, const struct cmd_ctx *ctx);

/*
 * The variants named, in order, into chain[0..n-1].  A name the lab does
 * not have is LAB_ECONFIG with a message that lists the lab's variants.
 */
int lab_resolve_chain(const struct lab *lab, const char *const *names, int n,
		      const struct lab_variant **chain);

/* Build (cached) and deploy the named variants to the lab's board. */
int lab_deploy(struct lab *lab, const char *const *names, int n,
	       const struct run_opts *o, const struct cmd_ctx *ctx);

struct hv_variant;
/* A lab variant as the build module takes it (recipe, arch, options, src,
 * rev, args); the strings stay the lab's. */
void lab_variant_to_hv(struct hv_variant *hv, const struct lab_variant *v);

#endif
