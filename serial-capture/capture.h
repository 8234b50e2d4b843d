/* SPDX-License-Identifier: MIT */
/*
 * The capture engine: console bytes to results/<YYYYMMDDHHMMSS> exactly as
 * received, and per-line times to a sidecar results/<name>.lines.
 *
 * The raw file is written with write(2) as bytes arrive (no user-space
 * buffering), so a labctl killed at any moment leaves the log complete up
 * to the last byte it read.  The sidecar is written the same way, one
 * write(2) per capture_feed() holding the records of the lines that began
 * in that chunk, so it never lags the raw log either.  The name is
 * created with O_EXCL; two runs starting in the same second get <ts> and
 * <ts>-2 (then -3, ...).
 *
 * Sidecar format (text, one record per line, tab separated, numbers in
 * decimal):
 *   T0 <wall ns>                                the time reference for the
 *                                               records after it: written
 *                                               at open (the open time) and
 *                                               by every capture_mark_t0()
 *   L <byte offset of line start> <ns since T0> <wall ns since epoch>
 *   G <byte offset> <start ns since T0> <start wall ns> <end ns since T0>
 *     <end wall ns> <reason>
 *                          the console was lost (transport gap): from start
 *                          to end nothing could be received; the bytes
 *                          before offset came before it, those from offset
 *                          on after it.  Written when the gap ends (or at
 *                          close, ending there), so a labctl killed during
 *                          a gap leaves no G record for it.  The reason is
 *                          one line of text (may contain spaces).
 * A line's time is when its first byte arrived (grabserial's choice: the
 * moment the message began).  An L record is written as soon as that
 * first byte is, so a line still being received already has its record.
 * A line longer than 64 KiB is cut there: the rest is a new line with its
 * own record (and its own callback).  With the console opened before
 * power-on and capture_mark_t0() at power-on, the second record is
 * "T0 <power-on>" and every line after it is timed from power-on.
 *
 * Live captures: while open, the raw file is flock()ed LOCK_EX by its
 * writer, so a reader can tell a capture still being written from one
 * that ended (or whose writer died): capture_is_live().  A writer may
 * also publish itself under a name (the lab), as the symlink
 * <results_dir>/.live/<key> -> ../<name>, removed at close, so
 * `labctl console LAB --follow` finds the capture a run is writing and
 * tails the file: readers never take bytes from the writer.
 */
#ifndef CAPTURE_H
#define CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct capture;

/*
 * A complete line for the watcher: without its "\n" and without a "\r"
 * right before it; offset_ns is its time since the last T0 (see above).
 * The text is only valid during the call.
 */
typedef void (*capture_line_fn)(void *arg, const char *line, size_t len,
				int64_t offset_ns);

/*
 * Create results_dir/<ts>[-N] and its sidecar; results_dir is created
 * (with its parents) when missing.  on_line may be NULL.  0 or -LAB_E*.
 */
int capture_open(struct capture **out, const char *results_dir,
		 capture_line_fn on_line, void *arg);
/* Mark power-on: line offsets are measured from here (a T0 record). */
void capture_mark_t0(struct capture *cap);
/*
 * Append bytes as received.  A failed write (disk full...) is an error
 * that sticks: the log keeps every byte written before it, nothing after
 * it is written (a log with a hole would look whole), and every later
 * feed and the close return the same error.  0 or -LAB_E* (-LAB_EIO).
 */
int capture_feed(struct capture *cap, const void *buf, size_t len);
/*
 * A transport gap (never written into the raw log): begin when the
 * console is lost (every byte received before it already fed), end when
 * it is back (before the first byte after it is fed); the end writes
 * the G record.  A second begin without an end is ignored (the first
 * loss counts); an end without a begin does nothing.  capture_close
 * ends a gap still open.
 */
void capture_gap_begin(struct capture *cap, const char *reason);
void capture_gap_end(struct capture *cap);
/* For console_config.on_link: arg is the struct capture. */
void capture_on_link(void *arg, bool up, const char *reason);
/*
 * The text of the unfinished last line (no newline yet: a login prompt),
 * or NULL; only when the capture has an on_line callback.
 */
const char *capture_pending(const struct capture *cap, size_t *len);

/*
 * Publish this capture as <results_dir>/.live/<key> (see above); the
 * link is replaced atomically and removed at close if it still points
 * here.  0 or -LAB_E*.
 */
int capture_publish(struct capture *cap, const char *key);
/*
 * The capture published under key that is still live: its path
 * (results_dir/<name>, malloc'd) in *path.  -LAB_ENOENT (no message
 * recorded) when there is none, or it ended.
 */
int capture_find_live(const char *results_dir, const char *key, char **path);
/* Whether the raw log open as fd is still being written (locked). */
bool capture_is_live(int fd);
/*
 * Flush a trailing partial line to the watcher, fsync and close both
 * files.  Returns the first error of the capture, or of the close.
 * Calling it twice is harmless.
 */
int capture_close(struct capture *cap);
/*
 * A capture whose record cannot be complete (a failed write, a disk
 * full): close it, remove the sidecar, and keep the console bytes that
 * did reach the disk as <path>.partial (a name `labctl results` does not
 * list), or remove the raw log when it is empty.  *kept (when kept is not
 * NULL): the .partial path (malloc'd), or NULL.
 */
int capture_abandon(struct capture *cap, char **kept);
/* The message of the capture's sticky error, or NULL when none. */
const char *capture_error(const struct capture *cap);
/* Close (when not closed yet) and free; NULL is fine. */
void capture_free(struct capture *cap);

/* "results/20220826125935" and its name "20220826125935". */
const char *capture_path(const struct capture *cap);
const char *capture_name(const struct capture *cap);
/* "results/20220826125935.lines" */
const char *capture_lines_path(const struct capture *cap);
/* Bytes in the raw log so far. */
uint64_t capture_bytes(const struct capture *cap);
/* Inside on_line: the byte offset in the raw log where that line starts. */
uint64_t capture_line_start(const struct capture *cap);
/* Inside on_line: where it ends (after its newline, when it has one). */
uint64_t capture_line_end(const struct capture *cap);
/*
 * End the log at byte offset end (a run ends its log at the end of the
 * line that decided it, so identical boots give identical logs): the raw
 * log is cut there and the sidecar's records of the bytes after it are
 * removed.  Nothing happens when end is not before the current end.
 * Before capture_close; 0 or the capture's error.
 */
int capture_truncate(struct capture *cap, uint64_t end);

#endif
