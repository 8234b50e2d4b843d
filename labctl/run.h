/* SPDX-License-Identifier: MIT */
/*
 * One run: build -> deploy -> chain -> console -> power -> watch ->
 * verdict -> results/<ts>.json -> power off, through the board interface
 * (labctl/boardops.h).  Cleanups run on every path (verdict, error, a
 * stop signal), so the console is closed, the emulator is stopped and
 * the log is complete whatever happens.  The engine prints nothing but
 * its log messages: it returns a struct run_result that the verbs render
 * (cmd_run.c) and that bisect and matrix read in process.
 */
#ifndef RUN_H
#define RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "labctl/board.h"
#include "labctl/labconf.h"
#include "labctl/labctl.h"
#include "report/result.h"

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
	bool quiet;		/* no build or deploy progress on the terminal */
	const char *results_dir;	/* "results" */
	int64_t timeout_ms;	/* overrides watch.timeout when > 0 */
	bool ends_in_os;	/* the chain was given a trailing `default` */
	const struct run_view *view;	/* a live view, or NULL */
	int argc;		/* the command line, for the record */
	char **argv;
};

/*
 * What a run ended with.  With a verdict (lab_run_chain returned 0), rec
 * is the run's record as results/<ts>.json holds it (rec.verdict "pass",
 * "fail" or "infra", rec.reason, rec.log_path...).  A record that could
 * not be written whole makes the verdict infra: record_err says why,
 * boot_verdict and boot_reason what the boot itself came to, kept where
 * the bytes received are (NULL: nowhere).
 */
struct run_result {
	struct result rec;
	char *name;		/* the run's name, "20261121062618" */
	uint64_t log_bytes;	/* bytes in the raw log */
	char *record_err;
	char *boot_verdict, *boot_reason;
	char *kept;
};

/*
 * Run the chain (variant names, in boot order) on the lab's board.  0
 * when the run came to a verdict (whatever it is: see out->rec), else
 * the -LAB_E* that kept it from one (usage, configuration, the lab:
 * the message is recorded).  out is filled in either case; release it.
 */
int lab_run_chain(const struct lab *lab, const char *const *chain, int n,
		  const struct run_opts *o, struct run_result *out);
void run_result_release(struct run_result *r);
/* The exit code of a run's verdict (0 pass, 1 fail, 3 infra). */
int run_result_exit(const struct run_result *r);

/*
 * The variants named, in order, into chain[0..n-1].  A name the lab does
 * not have is LAB_ECONFIG with a message that lists the lab's variants.
 */
int lab_resolve_chain(const struct lab *lab, const char *const *names, int n,
		      const struct lab_variant **chain);

/* What a deploy copied, and where. */
struct deploy_result {
	int variants;
	bool remote;		/* over a wire: bytes and round trips count */
	char *board;		/* the board: "user@host:22", or the type */
	char *disk;		/* a virtual board's disk image, or NULL */
	struct board_deploy_stats st;
};

/* Build (cached) and deploy the named variants to the lab's board;
 * *out says what happened (also on failure).  0 or -LAB_E*. */
int lab_deploy(struct lab *lab, const char *const *names, int n,
	       const struct run_opts *o, struct deploy_result *out);
void deploy_result_release(struct deploy_result *r);

struct hv_variant;
/* A lab variant as the build module takes it (recipe, arch, options, src,
 * rev, args); the strings stay the lab's. */
void lab_variant_to_hv(struct hv_variant *hv, const struct lab_variant *v);

#endif
