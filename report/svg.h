/* SPDX-License-Identifier: MIT */
/*
 * The timeline of one run as inline SVG (for report/html.c): time from
 * power-on runs left to right; lanes from the top: events (power actions,
 * QEMU events, console lost/back), firmware + GRUB up to the first stage,
 * one lane per stage (its own time solid, with its duration; the time it
 * goes on hosting the later stages lighter), the verdict; console gaps
 * are shaded across every lane.  The layout numbers are computed here
 * apart from the drawing so tests can check them.
 */
#ifndef REPORT_SVG_H
#define REPORT_SVG_H

#include <stddef.h>

#include "lib/strbuf.h"

struct result;

struct timeline_layout {
	int width, height;	/* the viewBox, px */
	int plot_x0, plot_x1;	/* where t = 0 and t = t_max are drawn */
	double t_max;		/* the axis end: a whole number of steps */
	double step;		/* seconds between ticks */
	int nticks;		/* ticks at 0, step, ..., t_max */
	int lane_h;		/* height of a stage lane */
	int event_rows;		/* label rows of the event lane */
	int y_events, y_boot, y_stages, y_verdict, y_axis;	/* lane tops */
};

#define TIMELINE_WIDTH		1000
#define TIMELINE_EVENT_ROWS	3

/*
 * The tick spacing for an axis of span seconds with at most max_ticks
 * intervals: the smallest 1, 2 or 5 x 10^k that is enough.
 */
double timeline_tick_step(double span, int max_ticks);
/* The layout of r's timeline width px wide. */
void timeline_layout(const struct result *r, int width,
		     struct timeline_layout *l);
/* x of time t (seconds from power-on), clamped to the plot. */
double timeline_x(const struct timeline_layout *l, double t);
/*
 * Greedy label rows: the first of nrows rows whose last label ends
 * before x0 (row_end[] holds each row's end, start them at -1e9); it
 * becomes x1.  -1 when no row has room.
 */
int timeline_label_row(double *row_end, int nrows, double x0, double x1);
/* Estimated width in px of s drawn at the timeline's font size. */
double timeline_text_width(const char *s);
/*
 * When GRUB first printed ("GNU GRUB", "Booting `...'", "labctl-grub:",
 * "GRUB: ") in each part of the run, in seconds from power-on, -1 when
 * it did not: grub_t[0] before the first stage's banner, grub_t[k] in
 * stage k's own time (the GRUB run that boots stage k + 1 from the boot
 * sector).  grub_t has r->nstages + 1 entries; it needs the log and the
 * sidecar.
 */
void timeline_grub_times(const struct result *r, double *grub_t);

/*
 * Append r's timeline as an <svg> element.  Stage bars link to
 * "#<anchor>-L<line>" (the stage's banner line in the log section) and
 * the verdict to "#<anchor>-verdict"; anchor NULL: no links.
 */
void report_timeline_svg(struct strbuf *out, const struct result *r,
			 const char *anchor);

#endif
