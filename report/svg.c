// SPDX-License-Identifier: MIT
/* The run timeline as inline SVG; see svg.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"
#include "report/common.h"
#include "report/result.h"
#include "report/svg.h"

#define LABEL_ROW_H	14	/* px per label row of the event lane */
#define LANE_GAP	4
#define FONT_PX		11
#define GRUB_COLOR	"#a1887f"

double timeline_tick_step(double span, int max_ticks)
{
	static const double mant[] = { 1, 2, 5 };
	double p;
	int i;

	if (!(span > 0) || max_ticks < 1)
		return 1;
	p = pow(10, floor(log10(span / max_ticks)));
	for (;; p *= 10)
		for (i = 0; i < 3; i++)
			if (span / (mant[i] * p) <= max_ticks + 1e-9)
				return mant[i] * p;
}

/* The end of the run: the verdict, else the recorded duration. */
static double run_end(const struct result *r)
{
	if (r->decided >= 0)
		return r->decided;
	return r->duration > 0 ? r->duration : 0;
}

static double latest_time(const struct result *r)
{
	double t = r->duration > 0 ? r->duration : 0;
	int i;

	if (r->decided > t)
		t = r->decided;
	for (i = 0; i < r->nstages; i++)
		if (r->stages[i].reached && r->stages[i].end > t)
			t = r->stages[i].end;
	for (i = 0; i < r->nevents; i++)
		if (r->events[i].t > t)
			t = r->events[i].t;
	for (i = 0; i < r->ngaps; i++)
		if (r->gaps[i].end_ns / 1e9 > t)
			t = r->gaps[i].end_ns / 1e9;
	return t;
}

void timeline_layout(const struct result *r, int width,
		     struct timeline_layout *l)
{
	double span = latest_time(r);

	memset(l, 0, sizeof(*l));
	if (!(span > 0))
		span = 1;
	l->width = width;
	l->plot_x0 = 130;
	l->plot_x1 = width - 24;
	l->step = timeline_tick_step(span, 10);
	l->nticks = (int)ceil(span / l->step - 1e-9);
	if (l->nticks < 1)
		l->nticks = 1;
	l->t_max = l->nticks * l->step;
	l->nticks++;
	l->lane_h = 22;
	l->event_rows = TIMELINE_EVENT_ROWS;
	l->y_events = 6;
	l->y_boot = l->y_events + l->event_rows * LABEL_ROW_H + 12;
	l->y_stages = l->y_boot + l->lane_h + LANE_GAP;
	l->y_verdict = l->y_stages + r->nstages * (l->lane_h + LANE_GAP);
	l->y_axis = l->y_verdict + l->lane_h + LANE_GAP;
	l->height = l->y_axis + 24;
}

double timeline_x(const struct timeline_layout *l, double t)
{
	if (!(t > 0))
		t = 0;
	if (t > l->t_max)
		t = l->t_max;
	return l->plot_x0 + (l->plot_x1 - l->plot_x0) * t / l->t_max;
}

int timeline_label_row(double *row_end, int nrows, double x0, double x1)
{
	int i;

	for (i = 0; i < nrows; i++) {
		if (row_end[i] + 4 <= x0) {
			row_end[i] = x1;
			return i;
		}
	}
	return -1;
}

double timeline_text_width(const char *s)
{
	size_t chars = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			chars++;
	return chars * FONT_PX * 0.6;
}

static bool is_grub_line(const char *s, size_t n)
{
	return memmem(s, n, "GNU GRUB", 8) || memmem(s, n, "Booting `", 9) ||
	       memmem(s, n, "labctl-grub:", 12) || (n >= 6 && !memcmp(s, "GRUB: ", 6));
}

void timeline_grub_times(const struct result *r, double *grub_t)
{
	int i, span = 0;
	size_t k, n;
	const char *s;

	for (i = 0; i <= r->nstages; i++)
		grub_t[i] = -1;
	if (!r->log || !r->nlines)
		return;
	for (k = 0; k < r->nlines && report_log_line(r, k, &s, &n); k++) {
		/* The part of the run line k + 1 is in: after its banners. */
		while (span < r->nstages && r->stages[span].reached &&
		       r->stages[span].line > 0 &&
		       (size_t)r->stages[span].line <= k + 1)
			span++;
		if (grub_t[span] < 0 && is_grub_line(s, n))
			grub_t[span] = r->lines[k].t_ns / 1e9;
	}
}

/* A tick label: as many decimals as the step needs. */
static void tick_label(char *buf, size_t size, double t, double step)
{
	int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);

	snprintf(buf, size, "%.*f s", dec, t);
}

static const char *const stage_colors[] = {
	"#1565c0", "#00838f", "#6a1b9a", "#ad1457", "#4e342e", "#283593",
};

static const char *verdict_color(const char *v)
{
	if (!v)
		return "#757575";
	if (!strcmp(v, "pass"))
		return "#2e7d32";
	if (!strcmp(v, "fail"))
		return "#c62828";
	if (!strcmp(v, "infra"))
		return "#ef6c00";
	return "#757575";
}

static void text(struct strbuf *out, double x, double y, const char *anchor,
		 const char *fill, const char *s)
{
	strbuf_addf(out, "<text x=\"%.1f\" y=\"%.1f\"", x, y);
	if (anchor)
		strbuf_addf(out, " text-anchor=\"%s\"", anchor);
	if (fill)
		strbuf_addf(out, " fill=\"%s\"", fill);
	strbuf_addch(out, '>');
	report_escape_str(out, s, false);
	strbuf_addstr(out, "</text>");
}

static void title(struct strbuf *out, const char *s)
{
	strbuf_addstr(out, "<title>");
	report_escape_str(out, s, false);
	strbuf_addstr(out, "</title>");
}

/*
 * A label beside a bar [x0, x1] on baseline y: inside when it fits,
 * else after the bar, else before it.
 */
static void bar_label(struct strbuf *out, const struct timeline_layout *l,
		      double x0, double x1, double y, const char *s)
{
	double w = timeline_text_width(s);

	if (x1 - x0 >= w + 8)
		text(out, x0 + 4, y, NULL, "#fff", s);
	else if (x1 + 4 + w <= l->width - 2)
		text(out, x1 + 4, y, NULL, "#212121", s);
	else
		text(out, x0 - 4, y, "end", "#212121", s);
}

/* An event-lane label at x, in the first row with room (none: dropped). */
static void event_label(struct strbuf *out, const struct timeline_layout *l,
			double *rows, double x, const char *s,
			const char *fill)
{
	double w = timeline_text_width(s);
	double x0 = x + 3, x1 = x + 3 + w;
	const char *anchor = NULL;
	int row;

	if (x1 > l->width - 2) {	/* no room on the right: end at x */
		x0 = x - 3 - w;
		x1 = x - 3;
		anchor = "end";
	}
	row = timeline_label_row(rows, l->event_rows, x0, x1);
	if (row < 0)
		return;
	text(out, anchor ? x1 : x0,
	     l->y_events + (l->event_rows - row) * LABEL_ROW_H - 3, anchor,
	     fill, s);
}

static void lane_name(struct strbuf *out, const struct timeline_layout *l,
		      int y, const char *s)
{
	text(out, l->plot_x0 - 8, y + l->lane_h / 2.0 + 4, "end", "#424242", s);
}

void report_timeline_svg(struct strbuf *out, const struct result *r,
			 const char *anchor)
{
	struct timeline_layout l;
	double rows[TIMELINE_EVENT_ROWS];
	double end = run_end(r), first_start = -1;
	double *grub_t = xcalloc((size_t)r->nstages + 1, sizeof(*grub_t));
	char d[64], buf[512];
	int i, last_reached = -1;

	timeline_layout(r, TIMELINE_WIDTH, &l);
	timeline_grub_times(r, grub_t);
	for (i = 0; i < l.event_rows; i++)
		rows[i] = -1e9;
	for (i = 0; i < r->nstages; i++) {
		if (!r->stages[i].reached)
			continue;
		if (first_start < 0)
			first_start = r->stages[i].start;
		last_reached = i;
	}

	strbuf_addf(out,
		    "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" font-family=\"sans-serif\" font-size=\"%d\">",
		    l.width, l.height, l.width, l.height, FONT_PX);
	strbuf_addstr(out, "<title>");
	strbuf_addstr(out, "timeline of run ");
	report_escape_str(out, r->name ? r->name : "?", false);
	strbuf_addstr(out, "</title>");
	strbuf_addf(out, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>",
		    l.width, l.height);

	/* Grid and axis. */
	for (i = 0; i < l.nticks; i++) {
		double t = i * l.step, x = timeline_x(&l, t);

		strbuf_addf(out,
			    "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e0e0e0\"/>",
			    x, l.y_events, x, l.y_axis);
		tick_label(buf, sizeof(buf), t, l.step);
		text(out, x, l.y_axis + 16, "middle", "#616161", buf);
	}
	strbuf_addf(out,
		    "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#616161\"/>",
		    l.plot_x0, l.y_axis, l.plot_x1, l.y_axis);

	lane_name(out, &l, l.y_events + (l.event_rows * LABEL_ROW_H - l.lane_h) / 2 + 6,
		  "events");
	lane_name(out, &l, l.y_boot, "POST + GRUB");
	for (i = 0; i < r->nstages; i++) {
		snprintf(buf, sizeof(buf), "stage %d", r->stages[i].stage);
		lane_name(out, &l, l.y_stages + i * (l.lane_h + LANE_GAP), buf);
	}
	lane_name(out, &l, l.y_verdict, "verdict");

	/* Console gaps, under everything else. */
	for (i = 0; i < r->ngaps; i++) {
		const struct result_gap *g = &r->gaps[i];
		double gs = g->start_ns / 1e9;
		double ge = g->end_ns >= 0 ? g->end_ns / 1e9 : end;
		double x0 = timeline_x(&l, gs), x1 = timeline_x(&l, ge);

		if (x1 - x0 < 2)
			x1 = x0 + 2;
		report_format_seconds(d, sizeof(d), ge - gs);
		strbuf_addf(out,
			    "<g class=\"gap\"><rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#9e9e9e\" fill-opacity=\"0.35\" stroke=\"#757575\" stroke-dasharray=\"3 2\"/>",
			    x0, l.y_boot, x1 - x0, l.y_axis - l.y_boot);
		snprintf(buf, sizeof(buf), "console lost for %s at %.3f s: %s", d,
			 gs, g->reason ? g->reason : "");
		title(out, buf);
		strbuf_addstr(out, "</g>");
		snprintf(buf, sizeof(buf), "console lost %s", d);
		event_label(out, &l, rows, x0, buf, "#616161");
	}

	/* Power-on to the first stage: firmware, then GRUB when it showed. */
	{
		double until = first_start >= 0 ? first_start : end;
		double g = grub_t[0] >= 0 && grub_t[0] <= until ? grub_t[0] : until;
		double x0 = timeline_x(&l, 0), xg = timeline_x(&l, g);
		double x1 = timeline_x(&l, until);

		if (xg - x0 < 2)
			xg = x0 + 2;
		if (x1 < xg)
			x1 = xg;
		report_format_seconds(d, sizeof(d), g);
		strbuf_addf(out,
			    "<g class=\"boot\"><rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" rx=\"3\" fill=\"#78909c\"/>",
			    x0, l.y_boot, xg - x0, l.lane_h);
		snprintf(buf, sizeof(buf), "power-on to %s: %s",
			 g < until ? "GRUB's first line" :
			 first_start >= 0 ? "the first stage's banner" :
			 "the end (no stage started)", d);
		title(out, buf);
		snprintf(buf, sizeof(buf), "%s%s", g < until ? "firmware " : "", d);
		bar_label(out, &l, x0, xg, l.y_boot + l.lane_h / 2.0 + 4, buf);
		strbuf_addstr(out, "</g>");
		if (g < until) {
			report_format_seconds(d, sizeof(d), until - g);
			strbuf_addf(out,
				    "<g class=\"grub\"><rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" rx=\"3\" fill=\"%s\"/>",
				    xg, l.y_boot, x1 - xg > 2 ? x1 - xg : 2, l.lane_h,
				    GRUB_COLOR);
			snprintf(buf, sizeof(buf), "GRUB: %.3f s to %.3f s, %s", g,
				 until, d);
			title(out, buf);
			snprintf(buf, sizeof(buf), "GRUB %s", d);
			bar_label(out, &l, xg, x1, l.y_boot + l.lane_h / 2.0 + 4, buf);
			strbuf_addstr(out, "</g>");
		}
	}

	/* The stages, nested: each hosts the ones after it until the end. */
	for (i = 0; i < r->nstages; i++) {
		const struct result_stage *s = &r->stages[i];
		const char *color = stage_colors[i % (sizeof(stage_colors) /
						      sizeof(stage_colors[0]))];
		int y = l.y_stages + i * (l.lane_h + LANE_GAP);
		double s_end, x0, x1;

		if (!s->reached) {
			text(out, l.plot_x0 + 4, y + l.lane_h / 2.0 + 4, NULL,
			     "#9e9e9e", "not reached");
			continue;
		}
		s_end = s->end >= 0 ? s->end : end;
		x0 = timeline_x(&l, s->start);
		x1 = timeline_x(&l, s_end);
		if (x1 - x0 < 2)
			x1 = x0 + 2;
		strbuf_addstr(out, "<g class=\"stage\">");
		if (anchor && s->line > 0) {
			strbuf_addstr(out, "<a href=\"#");
			report_escape_str(out, anchor, true);
			strbuf_addf(out, "-L%d\">", s->line);
		}
		if (i < last_reached && end > s_end)
			strbuf_addf(out,
				    "<rect class=\"hosting\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\" fill-opacity=\"0.22\"/>",
				    x1, y + 3, timeline_x(&l, end) - x1,
				    l.lane_h - 6, color);
		strbuf_addf(out,
			    "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" rx=\"3\" fill=\"%s\"/>",
			    x0, y, x1 - x0, l.lane_h, color);
		/* The GRUB run inside this stage that boots the next one. */
		if (grub_t[i + 1] >= s->start && grub_t[i + 1] < s_end) {
			double xg = timeline_x(&l, grub_t[i + 1]);

			strbuf_addf(out,
				    "<rect class=\"grub\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>GRUB again, from the boot sector: %.3f s to %.3f s</title></rect>",
				    xg, y + 5, x1 - xg > 1 ? x1 - xg : 1,
				    l.lane_h - 10, GRUB_COLOR, grub_t[i + 1], s_end);
		}
		report_format_seconds(d, sizeof(d), s_end - s->start);
		snprintf(buf, sizeof(buf),
			 "stage %d %s (%s): %.3f s to %.3f s, %s%s", s->stage,
			 s->variant ? s->variant : "?", s->entry ? s->entry : "?",
			 s->start, s_end, d,
			 i < last_reached ? "; then hosts the next stage" : "");
		title(out, buf);
		snprintf(buf, sizeof(buf), "%s %s", s->variant ? s->variant : "?", d);
		bar_label(out, &l, x0, x1, y + l.lane_h / 2.0 + 4, buf);
		if (anchor && s->line > 0)
			strbuf_addstr(out, "</a>");
		strbuf_addstr(out, "</g>");
	}

	/* Events: power actions, QEMU events, console lost/back. */
	for (i = 0; i < r->nevents; i++) {
		const struct result_event *e = &r->events[i];
		double x = timeline_x(&l, e->t);
		int ym = l.y_events + l.event_rows * LABEL_ROW_H + 4;

		strbuf_addf(out,
			    "<g class=\"event\"><line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#9e9e9e\" stroke-dasharray=\"2 3\"/><circle cx=\"%.1f\" cy=\"%d\" r=\"3.5\" fill=\"#455a64\"/>",
			    x, ym, x, l.y_axis, x, ym);
		snprintf(buf, sizeof(buf), "%s at %.3f s%s%s",
			 e->name ? e->name : "?", e->t,
			 e->detail && *e->detail ? ": " : "",
			 e->detail ? e->detail : "");
		title(out, buf);
		strbuf_addstr(out, "</g>");
		event_label(out, &l, rows, x, e->name ? e->name : "?", "#37474f");
	}

	/* The verdict. */
	{
		const char *v = r->verdict ? r->verdict : "unknown";
		const char *color = verdict_color(v);
		double x = timeline_x(&l, end);
		char label[96];
		size_t k;

		snprintf(label, sizeof(label), "%s", v);
		for (k = 0; label[k]; k++)
			if (label[k] >= 'a' && label[k] <= 'z')
				label[k] = (char)(label[k] - 'a' + 'A');
		report_format_seconds(d, sizeof(d), end);
		snprintf(label + strlen(label), sizeof(label) - strlen(label),
			 " at %s", d);
		strbuf_addstr(out, "<g class=\"verdict\">");
		if (anchor) {
			strbuf_addstr(out, "<a href=\"#");
			report_escape_str(out, anchor, true);
			strbuf_addstr(out, "-verdict\">");
		}
		strbuf_addf(out,
			    "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"/>",
			    x, l.y_events, x, l.y_axis, color);
		{
			double w = timeline_text_width(label) + 10;
			double bx = x + w + 2 <= l.width - 2 ? x + 2 : x - 2 - w;

			strbuf_addf(out,
				    "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" rx=\"3\" fill=\"%s\"/>",
				    bx, l.y_verdict, w, l.lane_h, color);
			text(out, bx + 5, l.y_verdict + l.lane_h / 2.0 + 4, NULL,
			     "#fff", label);
		}
		snprintf(buf, sizeof(buf), "%s: %s", v, r->reason ? r->reason : "");
		title(out, buf);
		if (anchor)
			strbuf_addstr(out, "</a>");
		strbuf_addstr(out, "</g>");
	}
	strbuf_addstr(out, "</svg>\n");
	free(grub_t);
}
