/* SPDX-License-Identifier: MIT */
/*
 * report/: what labctl does with results after a run: load them (this
 * file), index them (index.h), grep and diff them, and render them as
 * JUnit, TAP, JSON and an HTML report.
 *
 * A result is three files written by a run (labctl/results.c and
 * serial-capture/capture.c): results/<ts> (the raw console bytes, the
 * truth), results/<ts>.lines (the sidecar: T0, L and G records with
 * per-line offsets and times) and results/<ts>.json (the run record:
 * lab, board, verdict, reason, stages, variants, events).  Loading never
 * changes them.
 */
#ifndef REPORT_RESULT_H
#define REPORT_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct result_stage {
	int stage;		/* 1-based */
	char *variant, *entry;
	bool reached;
	double start, end;	/* seconds from power-on; end < 0: none */
	int64_t start_byte;	/* offset of the banner line in the raw log; -1 */
	int line;		/* its line number (1-based); 0: none */
};

struct result_variant {
	char *name, *recipe, *arch, *options, *source_rev, *build;
};

struct result_event {
	double t;		/* seconds from power-on */
	char *name, *detail;
};

struct result_line {		/* a sidecar L record */
	int64_t offset;		/* byte offset of the line in the raw log */
	int64_t t_ns;		/* from T0 (power-on) */
	int64_t wall_ns;
};

struct result_gap {		/* a sidecar G record */
	int64_t offset;		/* the byte the gap came before */
	int64_t start_ns, end_ns;	/* from T0; end_ns < 0: still open */
	char *reason;
};

struct result {
	char *name;		/* "20261121062618" (or "20261121062618-2") */
	char *log_path;		/* results/<ts> */
	char *json_path;	/* results/<ts>.json, NULL when it is missing */
	char *lab, *lab_file, *board;
	char *started;		/* ISO 8601 wall time of power-on */
	int64_t started_wall_ns;
	double duration, decided;	/* seconds; decided < 0: none */
	char *verdict;		/* "pass", "fail", "infra" (or "unknown") */
	char *reason;
	char *reason_line;	/* the line that decided, or NULL */
	int reason_line_no;	/* 1-based, 0: none */
	struct result_stage *stages;
	int nstages;
	struct result_variant *variants;
	int nvariants;
	struct result_event *events;
	int nevents;
	/* With RESULT_LINES: the sidecar. */
	struct result_line *lines;
	size_t nlines;
	struct result_gap *gaps;
	int ngaps;
	/* With RESULT_LOG: the raw bytes (not NUL-terminated). */
	char *log;
	size_t log_len;
};

#define RESULT_LINES	(1u << 0)
#define RESULT_LOG	(1u << 1)

/*
 * Load a result by path ("results/20261121062618", with or without
 * .json/.lines) or by name ("20261121062618", "latest", or a unique
 * prefix) in results_dir ("results" when NULL).  A result whose JSON is
 * missing or damaged (a run killed before it wrote one) still loads from
 * its raw log and sidecar, with verdict "unknown".  -LAB_ENOENT (message
 * names what was looked for), -LAB_EFORMAT.
 */
int result_load(const char *what, const char *results_dir, unsigned flags,
		struct result **out);
void result_free(struct result *r);

/* The names of the results in dir, newest first (NULL-terminated). */
int result_list(const char *results_dir, char ***names, int *n);
void result_list_free(char **names, int n);

#endif
