/* SPDX-License-Identifier: MIT */
/*
 * The live view of a run (struct run_view, run.h), drawn on stderr.
 *
 * On a terminal: one status line kept up to date (stage k/N and its name,
 * time since power-on, lines and bytes captured, seconds since the last
 * line, the last console line cut to the terminal's width), redrawn at
 * most every 100 ms and cleared before the verdict.  Without a terminal:
 * one line per stage as it starts, nothing that redraws.  stream (-v):
 * every console line as the watcher takes it, above the status line.
 */
#ifndef PROGRESS_H
#define PROGRESS_H

#include <stdbool.h>
#include <stdio.h>

#include "labctl/run.h"

struct progress;

struct progress *progress_new(FILE *out, bool tty, bool stream);
/* The view to give lab_run_chain (run_opts.view); valid until free. */
const struct run_view *progress_view(struct progress *p);
void progress_free(struct progress *p);

#endif
