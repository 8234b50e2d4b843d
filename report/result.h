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
 * changes them.  struct result is the one model of a run record: the run
 * writes it (result_to_json), every verb reads it (result_load), both
 * with jansson.
 */
#ifndef REPORT_RESULT_H
#define REPORT_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct result_stage {
	int stage;		/* 1-based */
	char *variant, *entry;
	bool reached;
	double start, end;	/* seconds from power-on; end < 0: none */
	int64_t start_byte;	/* offset of the banner line in the raw log; -1 */
	int line;		/* its line number (1-based); 0: none */
};

struct result_variant {
	char *name, *recipe;
	char *arch, *options;	/* the stand-in's; other recipes: options = args */
	char *src, *args;	/* other recipes' */
	char *source_rev, *build;
	char *init_sha256, *hypervisor_sha256;
};

struct result_event {
	double t;		/* seconds from power-on */
	char *name, *detail;
};

/*
 * A test run inside the board after the chain (a lab's [test] section,
 * labctl/guesttest.h): one command, its output and its verdict.
 */
struct result_test {
	char *name;		/* "test1", or the name the lab gave it */
	char *command;		/* as run on the board */
	char *verdict;		/* "pass", "fail" or "infra" (it could not run) */
	char *reason;		/* why it failed; "" when it passed */
	char *output;		/* stdout and stderr, as received (capped) */
	double start;		/* seconds from power-on */
	double duration;	/* seconds */
	int exit_status;	/* -1: none (timeout, no connection) */
};

struct result_line {		/* a sidecar L record */
	int64_t offset;		/* byte offset of the line in the raw log */
	int64_t t_ns;		/* from T0 (power-on) */
	int64_t wall_ns;
};

struct result_gap {		/* a sidecar G record */
	int64_t offset;		/* the byte the gap came before */
	int64_t start_ns, end_ns;	/* from T0; end_ns < 0: still open */
	int64_t start_wall_ns;
	char *reason;
};

struct result {
	char *name;		/* "20261121062618" (or "20261121062618-2") */
	char *log_path;		/* results/<ts> */
	char *json_path;	/* results/<ts>.json, NULL when it is missing */
	char *lab, *lab_file, *board;
	char *host;		/* the board's host as the run recorded it, or NULL */
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
	struct result_test *tests;	/* "tests": [test] inside the board */
	int ntests;
	char *command;		/* the command line, quoted */
	char *labctl_version;
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
 * its raw log and sidecar, with verdict "unknown" and a reason saying
 * what is wrong with the JSON; started and duration then come from the
 * sidecar (last T0, last L record), else from the name and the raw
 * log's mtime.  A missing sidecar is no error (nlines = 0); a damaged
 * one is -LAB_EFORMAT only with RESULT_LINES.  The raw log must exist.
 * Variants of other recipes than the stand-in have their build "args"
 * in options.  -LAB_ENOENT (message names what was looked for),
 * -LAB_EINVAL (an ambiguous prefix: the message lists the matches),
 * -LAB_EFORMAT, -LAB_EIO.
 */
int result_load(const char *what, const char *results_dir, unsigned flags,
		struct result **out);
/*
 * The one resolver of result names every verb uses (result_load too):
 * what as a path, or as a name, "latest" or a unique prefix in
 * results_dir ("results" when NULL).  *log_path (malloc'd) is the raw
 * log's path.  Errors as result_load's.
 */
int result_resolve(const char *what, const char *results_dir,
		   char **log_path);
void result_free(struct result *r);
/*
 * A run record alone, as `labctl --json run` prints it (the files are
 * not read): log_path is its "log".  -LAB_EFORMAT when text is not one.
 */
int result_from_record(const char *text, size_t len, struct result **out);
/* Free what r holds, not r itself (a result built in place); r is zeroed. */
void result_release(struct result *r);

/*
 * The run record of r, as results/<ts>.json holds it: "log" is
 * r->log_path; times are seconds (to the microsecond) from power-on,
 * "decided_wall" the wall clock of the verdict.  A stage that was not
 * reached has no times; a stand-in variant has arch and options, the
 * others src and args.  NULL strings are null, reason and line "".
 */
json_t *result_to_json(const struct result *r);
/* Write result_to_json(r) to path atomically; 0 or -LAB_E*. */
int result_write_json(const struct result *r, const char *path);

/*
 * The names of the results in dir ("results" when NULL), newest first
 * (NULL-terminated): the files named YYYYMMDDHHMMSS or YYYYMMDDHHMMSS-N,
 * ordered by that time, then N.  A missing dir is no error: *n = 0.
 */
int result_list(const char *results_dir, char ***names, int *n);
void result_list_free(char **names, int n);
/* Whether name has the form of a result name (see result_list). */
bool result_name_valid(const char *name);
/* strcmp-like order of two result names: newest first sorts lowest. */
int result_name_cmp_newest_first(const char *a, const char *b);

/*
 * Stages in the raw log.  Stage k (1-based) runs from its start_byte to
 * the start_byte of the next stage that has one (or the end of the log);
 * the bytes before stage 1 (firmware, GRUB) are "stage 0".
 * result_stage_range: [*start, *end) of stage k (0 allowed) clamped to
 * size; -LAB_ENOENT with a message when the result has no such stage or
 * it was not reached, or no stage information at all (no JSON).
 * result_stage_at: the stage the byte at offset is in, 0 before stage
 * 1, -1 when the result has no stage information.
 */
int result_stage_range(const struct result *r, int stage, uint64_t size,
		       uint64_t *start, uint64_t *end);
int result_stage_at(const struct result *r, uint64_t offset);
/* Whether the result has stage offsets (a JSON with reached stages). */
bool result_has_stages(const struct result *r);

/*
 * Parse a sidecar (text, len bytes; NULs allowed) into r->lines and
 * r->gaps, replacing what was there.  Times become relative to the LAST
 * T0 record (power-on).  A last record without its newline (a capture
 * killed mid-write) is ignored.  path only names the file in messages:
 * -LAB_EFORMAT "<path> has no T0 record: not a labctl sidecar" or
 * "<path>:<line>: not a sidecar record" (offsets must not go back).
 * *last_t0_wall (may be NULL) gets the last T0's wall time.
 * labctl/cmd_log.c can use this instead of its own parse_sidecar().
 */
int result_parse_sidecar(struct result *r, const char *path,
			 const char *text, size_t len, int64_t *last_t0_wall);

/*
 * For tests and the fuzzer: build a result from the three files' bytes
 * in memory.  json/lines/log may be NULL (the file is missing); the
 * paths only name things in messages and in the struct (log_path is
 * required, the name is its last component).  flags as result_load.
 */
struct result_mem {
	const char *log_path;
	const char *json;
	size_t json_len;
	const char *lines;
	size_t lines_len;
	const char *log;
	size_t log_len;
	int64_t mtime_ns;	/* of the raw log; 0: unknown */
};
int result_load_mem(const struct result_mem *m, unsigned flags,
		    struct result **out);

#endif
