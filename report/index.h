/* SPDX-License-Identifier: MIT */
/*
 * The results index: <results_dir>/.index.sqlite, a cache of what the
 * result files say (name, lab, board, chain, verdict, reason, times), so
 * `labctl results` does not parse every JSON file.  The files stay the
 * truth: the index is rebuilt from them (report_index_update with
 * rebuild), and every query first brings it up to date incrementally:
 * a result the index lacks, or whose raw log or JSON changed (name,
 * mtime and size of both), is loaded again; one whose raw log is gone
 * is dropped.
 *
 * Several labctl processes may use it at once: WAL journal, a busy
 * timeout, one transaction per update.  A results_dir where the index
 * cannot be written (read-only) gets an in-memory index for the call; a
 * damaged index file is removed and rebuilt.
 */
#ifndef REPORT_INDEX_H
#define REPORT_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct report_index;

struct report_index_stats {
	int added, updated, removed, unchanged;
};

struct report_query {
	const char *lab;	/* NULL: any */
	const char *variant;	/* a stage's variant; NULL: any */
	const char *verdict;	/* pass|fail|infra|unknown; NULL: any */
	int64_t since_wall_ns;	/* started at or after; 0: any */
	int limit;		/* 0: all */
};

struct report_row {
	char *name;
	char *lab, *board;	/* NULL when unknown (no JSON) */
	char *chain;		/* "build64 build32 build32lhv", "" when unknown */
	char *verdict;		/* pass, fail, infra, unknown */
	char *reason;		/* NULL when none */
	double duration;	/* seconds */
	int64_t started_wall_ns;
	int nstages, reached;
	bool live;		/* no JSON yet and a capture still writes it */
};

/* Open (creating) the index of results_dir ("results" when NULL). */
int report_index_open(const char *results_dir, struct report_index **out);
void report_index_close(struct report_index *ix);

/*
 * Bring the index up to date with the files (rebuild: forget everything
 * first).  st may be NULL.  0 or -LAB_E*.
 */
int report_index_update(struct report_index *ix, bool rebuild,
			struct report_index_stats *st);

/*
 * The matching results, newest first (by power-on time, then name).
 * Does not update first: call report_index_update.  *rows is an array
 * of *n rows; free with report_rows_free.
 */
int report_index_query(struct report_index *ix, const struct report_query *q,
		       struct report_row **rows, size_t *n);
void report_rows_free(struct report_row *rows, size_t n);

/*
 * For the run, after it wrote results/<ts>.json: index that one result
 * (json_path or the raw log's path).  A failure is a warning for the
 * caller, never a failed run.  0 or -LAB_E*.
 */
int report_index_add(const char *results_dir, const char *json_path);

/* The index file of results_dir (malloc'd). */
char *report_index_path(const char *results_dir);

#endif
