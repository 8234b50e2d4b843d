/* SPDX-License-Identifier: MIT */
/*
 * The engine of `labctl matrix` and `labctl opt-bisect`: hypervisor
 * variants synthesized from a lab's variant with other option bits or
 * another arch, run in parallel across a pool of boards.
 *
 *   mx_opt_list_parse ... the --opt/--arch lists
 *   mx_deps_*         ... option bits that need others (opt_requires)
 *   ddmin_*           ... delta debugging over option bits, as a state
 *                         machine the caller feeds with verdicts
 *   mx_runner_*       ... synthesized variants, builds and runs
 *   mx_render_*       ... the matrix table and failure groups
 *
 * A synthesized variant is named BASE.ARCH.0xOPT ("build32lhv.i386.0x1fd"):
 * the base variant's keys with options and arch replaced (an xmhf64 base:
 * the arch word and --lhv-opt in its args), and without its entry key, so
 * every cell has its own GRUB entry.  The names are the same in matrix and
 * opt-bisect, so their builds share the cache.
 *
 * Runs: one forked child per cell, which calls lab_run_chain() as
 * `labctl run` would, on the same in-memory lab (so the same lab file,
 * leases, pool boards and board state as every other run of that lab; a
 * pool lab's take_board() gives each child a free board or a place in
 * line).  A process per cell because the engine's stop signals, lease
 * keeper and console reader are per process.  A child hands its struct
 * run_result back through the one result model: the run's record in a
 * private file (result_write_json, read with result_from_record), or
 * the error that kept it from a verdict; nobody reads its output.  The
 * console logs and records land in the results directory as for any run.
 */
#ifndef LABCTL_MATRIX_H
#define LABCTL_MATRIX_H

#include <stdbool.h>
#include <stdint.h>

#include "labctl/labconf.h"
#include "labctl/labctl.h"
#include "lib/strbuf.h"

enum mx_verdict {
	MX_PENDING,	/* not run (yet) */
	MX_PASS,
	MX_FAIL,
	MX_INFRA,	/* lab error: build, board, power, console, signal */
	MX_UNRESOLVED,	/* opt-bisect: infra twice; never counted as bad */
	MX_SKIP,	/* breaks the variant's opt_requires: never run */
};

/* "pending", "pass", "fail", "infra", "unresolved", "skip". */
const char *mx_verdict_name(enum mx_verdict v);

/* ------------------------------------------------------------ lists */

/*
 * "0x0,0x1fd, 0x3d" -> values (malloc'd, *n of them).  Decimal or 0x
 * hex, 0..0xffffffff, no duplicates.  -LAB_EINVAL naming what is wrong.
 */
int mx_opt_list_parse(const char *text, uint32_t **out, int *n);
/* "i386,amd64" -> names (malloc'd strings); only i386 and amd64. */
int mx_arch_list_parse(const char *text, char ***out, int *n);
void mx_list_free(char **v, int n);

/* ------------------------------------------------------------ deps */

/*
 * One rule of a variant's opt_requires: a configuration that has every
 * bit of `when` needs every bit of `need` set (or, with `clear`, every
 * bit of `need` clear).  "0x8:0x4, 0x40:!0x2" is two rules.
 */
struct mx_dep {
	uint32_t when, need;
	bool clear;
};

struct mx_deps {
	struct mx_dep *v;
	int n;
};

/* A variant's opt_requires; -LAB_ECONFIG "FILE:LINE: [variant V] ...". */
int mx_lab_deps(const struct lab *lab, const struct lab_variant *v,
		struct mx_deps *deps);
/* Parse; -LAB_EINVAL "opt_requires: ..." naming the bad rule. */
int mx_deps_parse(const char *text, struct mx_deps *out);
void mx_deps_release(struct mx_deps *d);
/* The first rule cfg breaks, or -1. */
int mx_deps_check(const struct mx_deps *d, uint32_t cfg);
/* "0x2000 needs 0x4000" / "0x40 needs 0x2 clear" for rule i. */
void mx_dep_describe(const struct mx_deps *d, int i, struct strbuf *out);

/*
 * Repair a configuration good ^ *set, where *set is a subset of `within`
 * (bits that differ from good) and good ^ within obeys the rules: add to
 * *set the fewest bits of `within` the broken rules involve, until none
 * is broken.  Always succeeds when good ^ within obeys the rules (at worst
 * *set becomes within); false when it cannot.
 */
bool mx_deps_repair(const struct mx_deps *d, uint32_t good, uint32_t within,
		    uint32_t *set);

/* ------------------------------------------------------------ ddmin */

/*
 * Zeller's ddmin over the bits where good and bad differ: a minimal set
 * of changes (bits taking bad's value) that makes good fail.  The caller
 * asks for configurations (ddmin_next), runs them, possibly in parallel,
 * and feeds the verdicts back (ddmin_feed) until ddmin_next returns 0.
 *
 * Candidates are tried in ddmin's order (the n subsets, then their
 * complements); ddmin_next hands out the first untested ones, so the
 * outcome is the same for any batch size.  Endpoints come first: good
 * must pass and bad fail.  A candidate that breaks the rules is repaired
 * within the current failing set (mx_deps_repair) or, when the repair
 * gives that set itself, skipped; no configuration that breaks them is
 * ever handed out.  MX_INFRA once means "ask again"; twice, the
 * configuration is MX_UNRESOLVED and counts as not failing.
 */
enum ddmin_status {
	DDMIN_RUNNING,
	DDMIN_FOUND,		/* culprit = the bits of cur */
	DDMIN_GOOD_FAILS,	/* --good does not pass */
	DDMIN_BAD_PASSES,	/* --bad does not fail */
	DDMIN_UNRESOLVED,	/* an endpoint had infra errors twice */
};

struct ddmin_try {
	uint32_t cfg;		/* the option value run */
	uint32_t set;		/* the changed bits (cfg ^ good) */
	uint32_t asked_set;	/* before a repair (== set when none) */
	enum mx_verdict verdict;	/* MX_PENDING until known */
	int attempts;		/* runs made */
	int round;		/* batch it was first handed out in (1-based) */
	bool out;		/* handed out, no verdict yet */
};

struct ddmin {
	uint32_t good, bad, delta;
	const struct mx_deps *deps;	/* may be NULL; not owned */
	enum ddmin_status status;
	uint32_t cur;		/* the smallest failing set so far */
	int n;			/* granularity */
	struct ddmin_try *tries;	/* every configuration, in order asked */
	int ntries;
	/* Candidates of (cur, n) after repair, in ddmin order. */
	uint32_t *cand;
	uint32_t *cand_asked;	/* each candidate before its repair */
	bool *cand_subset;
	int ncand;
	int runs;		/* runs made, retries included */
	int rounds;		/* batches handed out */
	int skipped;		/* candidates whose repair gave cur itself */
	int repaired;		/* candidates run repaired */
};

/* -LAB_EINVAL when good == bad, or an endpoint breaks the rules. */
int ddmin_init(struct ddmin *d, uint32_t good, uint32_t bad,
	       const struct mx_deps *deps);
void ddmin_release(struct ddmin *d);
/*
 * Up to max configurations to run now (none already out); 0 when the
 * search is over (see d->status) or everything needed is out.
 */
int ddmin_next(struct ddmin *d, uint32_t *cfgs, int max);
/* The verdict of a run of cfg: MX_PASS, MX_FAIL or MX_INFRA. */
void ddmin_feed(struct ddmin *d, uint32_t cfg, enum mx_verdict v);
/* The try of cfg, or NULL. */
const struct ddmin_try *ddmin_find(const struct ddmin *d, uint32_t cfg);
/* Bits of cur that bad has set / clear. */
uint32_t ddmin_culprit(const struct ddmin *d);

/* ------------------------------------------------------------ cells */

struct mx_cell {
	char *variant;		/* BASE.ARCH.0xOPT */
	char *arch;
	uint32_t options;
	enum mx_verdict verdict;
	char *reason;		/* the run's reason, or the lab error */
	char *line;		/* the line that decided (fail), or NULL */
	int line_no;
	char *result;		/* results/<ts>, or NULL when no run */
	char *board;		/* the board it ran on ("qemu-2"), or NULL */
	double seconds;		/* wall time of its run */
	int runs;
};

void mx_cell_release(struct mx_cell *c);

/* ------------------------------------------------------------ runner */

struct mx_runner {
	const struct lab *lab;	/* not owned, not written */
	/* The cells' synthesized variants, the runner's own: each run sees
	 * them through a lab of its own (lab_with_variants). */
	struct lab_variant *variants;
	int nvariants;
	char *base;		/* the base variant's name */
	char **before;		/* variants booted before each cell */
	int nbefore;
	int jobs;		/* runs at once; 0: the pool's size */
	bool force_build;
	const char *results_dir;	/* "results" */
	int64_t timeout_ms;	/* a run's --timeout, 0: the lab's */
	const char *verb;	/* "matrix" or "opt-bisect", for messages */
	bool progress;		/* a line on stderr per finished cell */
	bool build_progress;	/* hv_build's own progress */
	char *tmpdir;		/* the children's output files */
	int cells_done;		/* for the progress lines */
	int cells_total;
};

/*
 * Check that the base variant exists and can be synthesized (and the
 * chain's before variants exist); make the private directory.  The lab
 * must be a QEMU board (a real board's grub.cfg has no entries for
 * synthesized variants).  -LAB_ECONFIG / -LAB_EINVAL with a message.
 */
int mx_runner_init(struct mx_runner *r, const struct lab *lab,
		   const char *base, const char *const *before, int nbefore);
void mx_runner_release(struct mx_runner *r);
/* The base variant. */
const struct lab_variant *mx_runner_base(const struct mx_runner *r);
/* A variant by name: a synthesized one, else the lab's; or NULL. */
const struct lab_variant *mx_runner_variant(const struct mx_runner *r,
					    const char *name);
/* The base variant's arch and options (xmhf64: from its args). */
const char *mx_base_arch(const struct lab_variant *v);
uint32_t mx_base_options(const struct lab_variant *v);

/* "build32lhv.i386.0x1fd"; malloc'd. */
char *mx_variant_name(const char *base, const char *arch, uint32_t opt);

/*
 * Make cell c for (arch, opt): adds the synthesized variant to the
 * runner's unless it has one of that name (a variant of the lab file
 * that happens to have that name is refused: -LAB_ECONFIG).
 */
int mx_cell_init(struct mx_runner *r, struct mx_cell *c, const char *arch,
		 uint32_t opt);

/*
 * Build the cells' variants (parallel, cached), then run them, at most
 * r->jobs at once.  A cell whose build fails is MX_INFRA without a run.
 * SIGINT/SIGTERM stop starting new runs, pass the signal on to the
 * running ones and return -LAB_EINTR once they ended (cells not run
 * stay MX_PENDING).  Otherwise 0, whatever the verdicts.
 */
int mx_run_cells(struct mx_runner *r, struct mx_cell **cells, int n);

/* ------------------------------------------------------------ output */

/*
 * The good/bad table: a row per arch, a column per option value, cells
 * "pass", "FAIL", "infra", "skip" or "-" (not run).  cells[a * nopts + o]
 * is arch a, option o.
 */
void mx_render_table(const struct mx_cell *cells, char *const *archs,
		     int narchs, const uint32_t *opts, int nopts,
		     struct strbuf *out);

/*
 * Failures grouped by the line that decided them (the reason when no
 * line), groups in order of their first cell; group[i] is the group of
 * cell i (-1: not a failure).  Returns the number of groups.
 */
int mx_group_failures(const struct mx_cell *cells, int n, int *group);
/* The group's key: the line, else the reason. */
const char *mx_failure_key(const struct mx_cell *c);

#endif
