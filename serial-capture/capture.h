/* SPDX-License-Identifier: MIT */
/*
 * The capture engine: console bytes to results/<YYYYMMDDHHMMSS> exactly as
 * received, and per-line times to a sidecar results/<name>.lines.
 *
 * The raw file is written with write(2) as bytes arrive (no user-space
 * buffering), so a labctl killed at any moment leaves the log complete up
 * to the last byte it read.  The name is created with O_EXCL; two runs
 * starting in the same second get <ts> and <ts>-2.
 *
 * Sidecar format (text, one record per line, tab separated):
 *   L <byte offset of line start> <ns since power-on> <wall ns since epoch>
 *   G <byte offset> <ns since power-on> <wall ns> <reason>   (transport gap)
 *   T0 <wall ns of power-on>                                 (first record)
 */
#ifndef CAPTURE_H
#define CAPTURE_H

#include <stddef.h>
#include <stdint.h>

struct capture;

/* A complete line (without its '\n'), with its times; for the watcher. */
typedef void (*capture_line_fn)(void *arg, const char *line, size_t len,
				int64_t offset_ns);

/* Create results_dir/<ts>[-N] and its sidecar; results_dir is created. */
int capture_open(struct capture **out, const char *results_dir,
		 capture_line_fn on_line, void *arg);
/* Mark power-on: line offsets are measured from here. */
void capture_mark_t0(struct capture *cap);
/* Append bytes as received. */
int capture_feed(struct capture *cap, const void *buf, size_t len);
/* Record a transport gap (never written into the raw log). */
void capture_gap(struct capture *cap, const char *reason);
/* Flush a trailing partial line to the watcher and the sidecar, fsync. */
int capture_close(struct capture *cap);
void capture_free(struct capture *cap);

/* "results/20220826125935" and its name "20220826125935". */
const char *capture_path(const struct capture *cap);
const char *capture_name(const struct capture *cap);
uint64_t capture_bytes(const struct capture *cap);

#endif
