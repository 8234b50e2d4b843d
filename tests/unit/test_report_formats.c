// SPDX-License-Identifier: MIT
/*
 * The result renderers of report/: markup escaping (XML 1.0 and HTML,
 * control bytes, "]]>", bad UTF-8), the timeline's layout numbers, the
 * stage outcomes, JUnit, TAP and HTML on results filled in by hand, the
 * matrix axes, and the HTML of a 100k-line log in bounded time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/strbuf.h"
#include "lib/utf8.h"
#include "report/common.h"
#include "report/html.h"
#include "report/junit.h"
#include "report/result.h"
#include "report/svg.h"
#include "report/tap.h"

/* A literal where the struct wants char * (never freed here). */
static char *s_(const char *s)
{
	return (char *)s;
}

static char *escaped(const char *s, size_t n, bool attr)
{
	struct strbuf sb = STRBUF_INIT;

	report_escape(&sb, s, n, attr);
	return strbuf_detach(&sb, NULL);
}

/* ------------------------------------------------------------ escaping */

static void test_escape_specials(void **state)
{
	char *e;

	(void)state;
	e = escaped("a<b>&\"c'", 8, false);
	assert_string_equal(e, "a&lt;b&gt;&amp;&quot;c&#39;");
	free(e);
	/* "]]>" never survives: its ">" is always an entity. */
	e = escaped("x]]>y", 5, false);
	assert_string_equal(e, "x]]&gt;y");
	free(e);
	/* Text keeps tabs and newlines; an attribute keeps them as refs. */
	e = escaped("a\tb\nc", 5, false);
	assert_string_equal(e, "a\tb\nc");
	free(e);
	e = escaped("a\tb\nc", 5, true);
	assert_string_equal(e, "a&#9;b&#10;c");
	free(e);
}

static void test_escape_controls(void **state)
{
	/* ESC [ 3 1 m, NUL, BEL, CR, DEL: control pictures, never raw. */
	static const char in[] = "\x1b[31mred\x00\x07\r\x7f";
	char *e = escaped(in, sizeof(in) - 1, false);
	size_t i;

	(void)state;
	assert_string_equal(e, "\xe2\x90\x9b[31mred\xe2\x90\x80\xe2\x90\x87"
			    "\xe2\x90\x8d\xe2\x90\xa1");
	for (i = 0; e[i]; i++)
		assert_false((unsigned char)e[i] < 0x20);
	assert_true(lab_utf8_valid(e, strlen(e)));
	free(e);
}

static void test_escape_utf8(void **state)
{
	/* Valid UTF-8 stays; a stray byte, a truncated sequence, a
	 * surrogate and U+FFFF (no XML character) become U+FFFD. */
	static const char in[] = "\xc3\xa9 \xff \xe2\x82 \xed\xa0\x80 \xef\xbf\xbf \xf0\x9f\x98\x80";
	char *e = escaped(in, sizeof(in) - 1, true);

	(void)state;
	assert_true(lab_utf8_valid(e, strlen(e)));
	assert_non_null(strstr(e, "\xc3\xa9 "));
	assert_non_null(strstr(e, "\xf0\x9f\x98\x80"));
	assert_null(strstr(e, "\xef\xbf\xbf"));
	assert_null(strstr(e, "\xed\xa0\x80"));
	assert_non_null(strstr(e, " \xef\xbf\xbd \xef\xbf\xbd"));
	free(e);
	/* NUL inside the length is escaped, not a terminator. */
	e = escaped("a\0b", 3, false);
	assert_string_equal(e, "a\xe2\x90\x80" "b");
	free(e);
}

/* ------------------------------------------------------------ fixture */

static const char fixture_log[] =
	"SeaBIOS\r\n"						/* 1 */
	"GRUB: booting XMHF-build64\n"				/* 2 */
	"Stand-in Hypervisor (labctl) variant=build64\n"	/* 3 */
	"\x1b[31mcolour\x1b[0m <script>alert(1)</script> &\n"	/* 4 */
	"Stand-in Hypervisor (labctl) variant=build32\n"	/* 5 */
	"Fatal: Halting! ]]> \x01\x7f bad\xff\n"		/* 6 */
	"after the fatal line\n"				/* 7 */
	"last";							/* 8 */

struct fixture {
	struct result r;
	struct result_stage stages[3];
	struct result_variant variants[3];
	struct result_event events[3];
	struct result_line lines[16];
	struct result_gap gap;
};

/* A stand-in filter: drops ESC [ ... letter, like labctl's stripper. */
static void strip(const char *in, size_t n, struct strbuf *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (in[i] == 0x1b && i + 1 < n && in[i + 1] == '[') {
			for (i += 2; i < n && !(in[i] >= 0x40 && in[i] <= 0x7e); i++)
				;
			continue;
		}
		strbuf_addch(out, in[i]);
	}
}

static void make_fixture(struct fixture *f, const char *verdict)
{
	size_t i, n = 0, len = sizeof(fixture_log) - 1;

	memset(f, 0, sizeof(*f));
	f->r.name = s_("20261121062618");
	f->r.log_path = s_("results/20261121062618");
	f->r.json_path = s_("results/20261121062618.json");
	f->r.lab = s_("qemu");
	f->r.board = s_("qemu");
	f->r.started = s_("2026-11-21T06:26:18.639934+00:00");
	f->r.duration = 2.48;
	f->r.decided = 2.47;
	f->r.verdict = s_(verdict);
	f->r.reason = s_("stage 2 (build32): fail pattern /Fatal: Halting!/ matched");
	f->r.reason_line = s_("Fatal: Halting! ]]> \x01\x7f bad\xff");
	f->r.reason_line_no = 6;
	f->stages[0] = (struct result_stage){ 1, s_("build64"), s_("XMHF-build64"),
					      true, 0.4, 0.9, 44, 3 };
	f->stages[1] = (struct result_stage){ 2, s_("build32"), s_("XMHF-build32"),
					      true, 0.9, 2.47, 130, 5 };
	f->stages[2] = (struct result_stage){ 3, s_("build32lhv"),
					      s_("XMHF-build32lhv"), false, 0, -1,
					      -1, 0 };
	f->r.stages = f->stages;
	f->r.nstages = 3;
	f->variants[0] = (struct result_variant){
		.name = s_("build64"), .recipe = s_("standin"),
		.arch = s_("amd64"), .options = s_("0x0"), .build = s_("built") };
	f->variants[1] = (struct result_variant){
		.name = s_("build32"), .recipe = s_("standin"),
		.arch = s_("i386"), .options = s_("0x4"), .build = s_("built") };
	f->variants[2] = (struct result_variant){
		.name = s_("build32lhv"), .recipe = s_("standin"),
		.arch = s_("i386"), .options = s_("0x400"), .build = s_("built") };
	f->r.variants = f->variants;
	f->r.nvariants = 3;
	f->events[0] = (struct result_event){ 0.001, s_("RESUME"), s_("") };
	f->events[1] = (struct result_event){ 0.003, s_("on"), s_("ok") };
	f->events[2] = (struct result_event){ 2.475, s_("off"), s_("ok") };
	f->r.events = f->events;
	f->r.nevents = 3;
	f->r.log = s_(fixture_log);
	f->r.log_len = len;
	for (i = 0; i < len; i++) {
		if (i == 0 || fixture_log[i - 1] == '\n') {
			f->lines[n].offset = (int64_t)i;
			f->lines[n].t_ns = (int64_t)n * 300000000;
			n++;
		}
	}
	f->r.lines = f->lines;
	f->r.nlines = n;
	f->gap = (struct result_gap){ .offset = f->lines[6].offset,
				      .start_ns = 2000000000,
				      .end_ns = 2300000000,
				      .reason = s_("ser2net restarted <&>") };
	f->r.gaps = &f->gap;
	f->r.ngaps = 1;
}

/* ------------------------------------------------------------ outcomes */

static void test_outcomes(void **state)
{
	struct fixture f;

	(void)state;
	make_fixture(&f, "fail");
	assert_int_equal(report_deciding_stage(&f.r), 1);
	assert_int_equal(report_stage_outcome(&f.r, 0), REPORT_PASS);
	assert_int_equal(report_stage_outcome(&f.r, 1), REPORT_FAIL);
	assert_int_equal(report_stage_outcome(&f.r, 2), REPORT_NOT_REACHED);
	f.r.verdict = s_("infra");
	assert_int_equal(report_stage_outcome(&f.r, 1), REPORT_ERROR);
	f.r.verdict = s_("pass");
	f.stages[2].reached = true;
	assert_int_equal(report_stage_outcome(&f.r, 1), REPORT_PASS);
	assert_int_equal(report_stage_outcome(&f.r, 2), REPORT_PASS);
	/* No stage reached: the first one failed (it never started). */
	f.r.verdict = s_("fail");
	f.stages[0].reached = f.stages[1].reached = f.stages[2].reached = false;
	assert_int_equal(report_deciding_stage(&f.r), 0);
	assert_int_equal(report_stage_outcome(&f.r, 0), REPORT_FAIL);
	assert_int_equal(report_stage_outcome(&f.r, 1), REPORT_NOT_REACHED);
}

static void test_log_lines_and_context(void **state)
{
	struct fixture f;
	struct strbuf sb = STRBUF_INIT;
	const char *s;
	size_t n;

	(void)state;
	make_fixture(&f, "fail");
	assert_int_equal(report_log_nlines(&f.r), 8);
	assert_true(report_log_line(&f.r, 0, &s, &n));
	assert_int_equal(n, 7);	/* "SeaBIOS" without "\r\n" */
	assert_memory_equal(s, "SeaBIOS", 7);
	assert_true(report_log_line(&f.r, 7, &s, &n));
	assert_memory_equal(s, "last", 4);
	assert_false(report_log_line(&f.r, 8, &s, &n));
	/* The same lines without a sidecar. */
	f.r.nlines = 0;
	assert_int_equal(report_log_nlines(&f.r), 8);
	assert_true(report_log_line(&f.r, 5, &s, &n));
	assert_memory_equal(s, "Fatal: Halting!", 15);
	f.r.nlines = 8;

	report_context(&sb, &f.r, 2, strip);
	assert_string_equal(sb.buf,
			    "      4 | colour <script>alert(1)</script> &\n"
			    "      5 | Stand-in Hypervisor (labctl) variant=build32\n"
			    ">     6 | Fatal: Halting! ]]>    bad\xff\n"
			    "      7 | after the fatal line\n"
			    "      8 | last\n");
	/* No deciding line (a hang): the last lines. */
	strbuf_reset(&sb);
	f.r.reason_line_no = 0;
	report_context(&sb, &f.r, 2, NULL);
	assert_string_equal(sb.buf, "      7 | after the fatal line\n      8 | last\n");
	/* No log loaded: the line from the record only. */
	strbuf_reset(&sb);
	f.r.reason_line_no = 6;
	f.r.log = NULL;
	report_context(&sb, &f.r, 2, NULL);
	assert_string_equal(sb.buf, ">     6 | Fatal: Halting! ]]>    bad\xff\n");
	strbuf_release(&sb);
}

/* ------------------------------------------------------------ timeline */

static void test_tick_step(void **state)
{
	(void)state;
	assert_true(timeline_tick_step(2.48, 10) == 0.5);
	assert_true(timeline_tick_step(1.0, 10) == 0.1 ||
		    (timeline_tick_step(1.0, 10) > 0.0999 &&
		     timeline_tick_step(1.0, 10) < 0.1001));
	assert_true(timeline_tick_step(59.57, 10) == 10);
	assert_true(timeline_tick_step(100, 10) == 10);
	assert_true(timeline_tick_step(101, 10) == 20);
	assert_true(timeline_tick_step(7200, 10) == 1000);
	assert_true(timeline_tick_step(0, 10) == 1);
	assert_true(timeline_tick_step(-3, 10) == 1);
	{
		double st = timeline_tick_step(0.0123, 10);

		assert_true(st > 0.00199 && st < 0.00201);
	}
}

static void test_layout_numbers(void **state)
{
	struct timeline_layout l;
	struct fixture f;

	(void)state;
	make_fixture(&f, "fail");
	timeline_layout(&f.r, 1000, &l);
	assert_int_equal(l.width, 1000);
	assert_true(l.step == 0.5);
	assert_true(l.t_max == 2.5);	/* 2.48 rounded up to a tick */
	assert_int_equal(l.nticks, 6);	/* 0, 0.5, ..., 2.5 */
	assert_int_equal(l.plot_x0, 130);
	assert_int_equal(l.plot_x1, 976);
	assert_true(timeline_x(&l, 0) == 130);
	assert_true(timeline_x(&l, 2.5) == 976);
	assert_true(timeline_x(&l, 1.25) == 553);
	assert_true(timeline_x(&l, -1) == 130);	/* clamped */
	assert_true(timeline_x(&l, 99) == 976);
	/* Lanes top to bottom: events, boot, 3 stages, verdict, axis. */
	assert_true(l.y_events < l.y_boot);
	assert_int_equal(l.y_stages, l.y_boot + l.lane_h + 4);
	assert_int_equal(l.y_verdict, l.y_stages + 3 * (l.lane_h + 4));
	assert_int_equal(l.y_axis, l.y_verdict + l.lane_h + 4);
	assert_int_equal(l.height, l.y_axis + 24);
	/* An event after the recorded duration widens the axis. */
	f.events[2].t = 3.1;
	timeline_layout(&f.r, 1000, &l);
	assert_true(l.t_max == 3.5);
	/* Nothing timed at all: one second. */
	memset(&f.r, 0, sizeof(f.r));
	f.r.decided = -1;
	timeline_layout(&f.r, 1000, &l);
	assert_true(l.t_max == 1);
	assert_int_equal(l.nticks, 11);
}

static void test_label_rows(void **state)
{
	double rows[2] = { -1e9, -1e9 };

	(void)state;
	assert_int_equal(timeline_label_row(rows, 2, 100, 150), 0);
	assert_int_equal(timeline_label_row(rows, 2, 120, 170), 1);	/* overlaps row 0 */
	assert_int_equal(timeline_label_row(rows, 2, 140, 160), -1);	/* both taken */
	assert_int_equal(timeline_label_row(rows, 2, 154, 200), 0);	/* 4 px gap */
	assert_true(rows[0] == 200 && rows[1] == 170);
	assert_true(timeline_text_width("abcd") == 4 * 11 * 0.6);
	assert_true(timeline_text_width("\xc3\xa9t\xc3\xa9") == 3 * 11 * 0.6);
}

static void test_grub_times(void **state)
{
	struct fixture f;
	double g[4];

	(void)state;
	make_fixture(&f, "fail");
	timeline_grub_times(&f.r, g);
	assert_true(g[0] > 0.2999 && g[0] < 0.3001);	/* line 2, before stage 1 */
	assert_true(g[1] == -1 && g[2] == -1 && g[3] == -1);
	/* The same line after stage 1's banner: GRUB nested in stage 1. */
	f.stages[0].line = 1;
	timeline_grub_times(&f.r, g);
	assert_true(g[0] == -1);
	assert_true(g[1] > 0.2999 && g[1] < 0.3001);
	/* No sidecar, no times. */
	f.r.nlines = 0;
	timeline_grub_times(&f.r, g);
	assert_true(g[0] == -1 && g[1] == -1);
}

static void test_format_seconds(void **state)
{
	char b[32];

	(void)state;
	report_format_seconds(b, sizeof(b), 0.0171);
	assert_string_equal(b, "17 ms");
	report_format_seconds(b, sizeof(b), 1.254);
	assert_string_equal(b, "1.25 s");
	report_format_seconds(b, sizeof(b), 125.9);
	assert_string_equal(b, "2 min 5 s");
	report_format_seconds(b, sizeof(b), -3);
	assert_string_equal(b, "0 ms");
}

static void test_svg(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct fixture f;

	(void)state;
	make_fixture(&f, "fail");
	report_timeline_svg(&sb, &f.r, "run1");
	assert_true(!strncmp(sb.buf, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39));
	assert_contains(sb.buf, "viewBox=\"0 0 1000 ");
	assert_contains(sb.buf, "<a href=\"#run1-L3\">");	/* stage 1's banner */
	assert_contains(sb.buf, "<a href=\"#run1-L5\">");
	assert_contains(sb.buf, "<a href=\"#run1-verdict\">");
	assert_contains(sb.buf, ">build64 500 ms</text>");
	assert_contains(sb.buf, ">FAIL at 2.47 s</text>");
	assert_contains(sb.buf, ">not reached</text>");
	assert_contains(sb.buf, "console lost for 300 ms at 2.000 s: ser2net restarted &lt;&amp;&gt;");
	/* Stage 1 hosts stage 2 until the verdict: a lighter tail. */
	assert_contains(sb.buf, "class=\"hosting\"");
	assert_contains(sb.buf, ">2.5 s</text>");	/* the last tick */
	/* Power-on to GRUB's first line, then GRUB to stage 1's banner. */
	assert_contains(sb.buf, ">firmware 300 ms</text>");
	assert_contains(sb.buf, "<title>GRUB: 0.300 s to 0.400 s, 100 ms</title>");
	assert_true(sb.len > 0 && !strcmp(sb.buf + sb.len - 7, "</svg>\n"));
	strbuf_release(&sb);
}

/* ------------------------------------------------------------ formats */

static char *render(int (*fn)(FILE *, struct result *const *, int,
			      report_text_filter),
		    struct result *const *r, int n, report_text_filter filter)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(fn(f, r, n, filter), 0);
	fclose(f);
	return buf;
}

static void test_junit(void **state)
{
	struct fixture f;
	struct result *rp = &f.r;
	char host[256] = "", want[512];
	char *x;

	(void)state;
	make_fixture(&f, "fail");
	/* A result from before runs recorded the host: a virtual board's
	 * host is this machine. */
	assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
	snprintf(want, sizeof(want), "<testsuite name=\"qemu.20261121062618\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\" time=\"2.480\" timestamp=\"2026-11-21T06:26:18\" hostname=\"%s\">",
		 host);
	x = render(report_junit, &rp, 1, strip);
	assert_true(!strncmp(x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"labctl\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\"", 110));
	assert_contains(x, want);
	/* The class is the lab and the chain, the same for every run of it. */
	assert_contains(x, "<testcase name=\"stage 1 build64 (XMHF-build64)\" classname=\"labctl.qemu.build64-build32-build32lhv\" time=\"0.500\"/>");
	assert_contains(x, "<testcase name=\"stage 2 build32 (XMHF-build32)\" classname=\"labctl.qemu.build64-build32-build32lhv\" time=\"1.570\">\n      <failure message=\"stage 2 (build32): fail pattern /Fatal: Halting!/ matched\" type=\"fail\">");
	/* The deciding line with its neighbours, escaped, no raw controls. */
	assert_contains(x, "&gt;     6 | Fatal: Halting! ]]&gt;    bad\xef\xbf\xbd\n");
	assert_contains(x, "      4 | colour &lt;script&gt;alert(1)&lt;/script&gt; &amp;\n");
	assert_contains(x, "<skipped message=\"not reached: the run ended in stage 2\"/>");
	assert_contains(x, "<property name=\"verdict\" value=\"fail\"/>");
	assert_null(strstr(x, "]]>"));
	assert_null(strchr(x, 0x1b));
	assert_null(strchr(x, 0x01));
	assert_true(lab_utf8_valid(x, strlen(x)));
	free(x);

	/* Infra: an <error>. */
	f.r.verdict = s_("infra");
	f.r.reason = s_("stage 2 (build32): the console closed");
	f.r.reason_line_no = 0;
	x = render(report_junit, &rp, 1, strip);
	assert_contains(x, "errors=\"1\"");
	assert_contains(x, "<error message=\"stage 2 (build32): the console closed\" type=\"infra\">");
	assert_contains(x, "results/20261121062618 (its last lines):\n");
	free(x);

	/* The host the run recorded, on a real board; a "." in a name is
	 * not a class level. */
	f.r.host = s_("hp2540p.lab.example");
	f.r.board = s_("laptop");
	f.r.lab = s_("hp.2540p");
	x = render(report_junit, &rp, 1, strip);
	assert_contains(x, "hostname=\"hp2540p.lab.example\">");
	assert_contains(x, "classname=\"labctl.hp_2540p.build64-build32-build32lhv\"");
	assert_contains(x, "<property name=\"host\" value=\"hp2540p.lab.example\"/>");
	free(x);
	f.r.host = NULL;
	x = render(report_junit, &rp, 1, strip);
	assert_null(strstr(x, "hostname="));	/* unknown: left out */
	free(x);

	/* No JSON: one "run" testcase in error. */
	memset(&f.r, 0, sizeof(f.r));
	f.r.name = s_("20261121000000");
	f.r.verdict = s_("unknown");
	f.r.decided = -1;
	x = render(report_junit, &rp, 1, NULL);
	assert_contains(x, "<testcase name=\"run\" classname=\"labctl.unknown\" time=\"0.000\">\n      <error message=\"no verdict recorded");
	free(x);
}

static void test_tap(void **state)
{
	struct fixture f, g;
	struct result *rp[2] = { &f.r, &g.r };
	char *t;

	(void)state;
	make_fixture(&f, "fail");
	make_fixture(&g, "pass");
	g.r.name = s_("20261121062700#2");
	g.r.reason = s_("all 2 CPUs printed more than 20 iteration lines");
	g.stages[2].reached = true;
	g.stages[2].start = 2.47;
	g.stages[2].end = 2.48;
	t = render(report_tap, rp, 2, strip);
	assert_true(!strncmp(t, "1..8\n", 5));
	assert_contains(t, "\nok 1 - 20261121062618 stage 1 build64 (XMHF-build64) 500 ms\n");
	assert_contains(t, "\nnot ok 2 - 20261121062618 stage 2 build32 (XMHF-build32) 1.57 s\n"
			"# stage 2 (build32): fail pattern /Fatal: Halting!/ matched\n"
			"# results/20261121062618:\n"
			"#       3 | Stand-in Hypervisor (labctl) variant=build64\n");
	assert_contains(t, "\n# >     6 | Fatal: Halting! ]]>    bad\xff\n");
	assert_contains(t, "\nok 3 - 20261121062618 stage 3 build32lhv (XMHF-build32lhv) # SKIP not reached: the run ended in stage 2\n");
	assert_contains(t, "\nnot ok 4 - 20261121062618 verdict fail\n");
	/* "#" in a description is escaped so it is no directive. */
	assert_contains(t, "\nok 5 - 20261121062700\\#2 stage 1 build64");
	assert_contains(t, "\nok 8 - 20261121062700\\#2 verdict pass\n# all 2 CPUs");
	assert_null(strchr(t, 0x1b));
	free(t);
}

static char *html(struct result *const *r, int n, const struct html_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(report_html(f, r, n, o), 0);
	fclose(f);
	if (getenv("TEST_REPORT_DUMP")) {	/* to look at it in a browser */
		FILE *d = fopen(getenv("TEST_REPORT_DUMP"), "w");

		if (d) {
			fputs(buf, d);
			fclose(d);
		}
	}
	return buf;
}

static void test_html_one(void **state)
{
	struct html_opts o = { .filter = strip, .rows = -1, .cols = -1,
			       .title = "<b>title</b>" };
	struct fixture f;
	struct result *rp = &f.r;
	char *h;

	(void)state;
	make_fixture(&f, "fail");
	h = html(&rp, 1, &o);
	assert_true(!strncmp(h, "<!DOCTYPE html>\n", 16));
	assert_contains(h, "<title>&lt;b&gt;title&lt;/b&gt;</title>");
	assert_contains(h, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\"");
	/* The deciding line: highlighted, with an anchor the summary links. */
	assert_contains(h, "<a class=\"decided\" href=\"#run1-L6\">line 6</a>");
	assert_contains(h, "<span class=\"hl hl-fail\" id=\"run1-L6\"><a href=\"#run1-L6\">[    1.500000]</a> Fatal: Halting! ]]&gt; \xe2\x90\x81\xe2\x90\xa1 bad\xef\xbf\xbd</span>\n");
	assert_contains(h, "<span class=\"banner\" id=\"run1-L3\">");
	/* The log's markup is text; escapes are stripped by the filter. */
	assert_contains(h, "colour &lt;script&gt;alert(1)&lt;/script&gt; &amp;\n");
	assert_null(strstr(h, "<script"));
	assert_null(strchr(h, 0x1b));
	/* The gap sits before the line it came before. */
	assert_contains(h, "<span class=\"gap\">--- console lost for 300 ms (ser2net restarted &lt;&amp;&gt;) ---</span>\n[    1.800000] after the fatal line\n");
	assert_contains(h, "<td><a href=\"#run1-L5\">2</a></td>");
	assert_contains(h, "<span class=\"v v-not-reached\">not reached</span>");
	assert_null(strstr(h, "id=\"matrix\""));	/* one run: no matrix */
	assert_true(lab_utf8_valid(h, strlen(h)));
	free(h);
	/* Without a sidecar: line numbers, and no filter: pictures. */
	f.r.nlines = 0;
	f.r.ngaps = 0;
	h = html(&rp, 1, NULL);
	assert_contains(h, "\n      4 \xe2\x90\x9b[31mcolour");
	free(h);
}

static void test_matrix_pick(void **state)
{
	/* The notes' table: arch x LHV_OPT, each its own variant. */
	static const char *const arch[] = { "i386", "i386", "amd64", "i386", "amd64" };
	static const char *const opt[] = { "0x0", "0x1fd", "0x1fd", "0x5fc", "0x5fc" };
	static const char *const name[] = { "a", "b", "c", "d", "e" };
	struct fixture f[5];
	struct result *rp[5];
	int i, rows, cols;

	(void)state;
	for (i = 0; i < 5; i++) {
		make_fixture(&f[i], "pass");
		f[i].r.nstages = 1;
		f[i].stages[0].variant = s_(name[i]);
		f[i].variants[0].name = s_(name[i]);
		f[i].variants[0].arch = s_(arch[i]);
		f[i].variants[0].options = s_(opt[i]);
		rp[i] = &f[i].r;
	}
	rows = cols = -1;
	report_matrix_pick(rp, 5, &rows, &cols);
	assert_int_equal(cols, REPORT_KEY_ARCH);
	assert_int_equal(rows, REPORT_KEY_OPTIONS);
	/* One arch, options differ: one row (the lab), options across. */
	for (i = 0; i < 5; i++)
		f[i].variants[0].arch = s_("i386");
	f[2].variants[0].options = s_("0x3d");
	f[4].variants[0].options = s_("0x4");
	rows = cols = -1;
	report_matrix_pick(rp, 5, &rows, &cols);
	assert_int_equal(cols, REPORT_KEY_OPTIONS);
	assert_int_equal(rows, REPORT_KEY_LAB);
	/* Nothing but the names differs: variants down, one column. */
	for (i = 0; i < 5; i++)
		f[i].variants[0].options = s_("0x0");
	rows = cols = -1;
	report_matrix_pick(rp, 5, &rows, &cols);
	assert_int_equal(cols, REPORT_KEY_ARCH);
	assert_int_equal(rows, REPORT_KEY_VARIANT);
	/* A given key is kept. */
	rows = REPORT_KEY_CHAIN;
	cols = -1;
	report_matrix_pick(rp, 5, &rows, &cols);
	assert_int_equal(rows, REPORT_KEY_CHAIN);
	assert_int_equal(report_key_parse("options"), REPORT_KEY_OPTIONS);
	assert_int_equal(report_key_parse("nope"), -1);
	{
		char *v = report_key_value(&f[0].r, REPORT_KEY_ARCH);

		assert_string_equal(v, "i386");
		free(v);
		make_fixture(&f[0], "pass");
		v = report_key_value(&f[0].r, REPORT_KEY_CHAIN);
		assert_string_equal(v, "build64 > build32 > build32lhv");
		free(v);
		f[0].r.board = NULL;
		v = report_key_value(&f[0].r, REPORT_KEY_BOARD);
		assert_string_equal(v, "-");
		free(v);
	}
}

static void test_html_matrix(void **state)
{
	struct html_opts o = { .rows = -1, .cols = -1 };
	struct fixture f, g;
	struct result *rp[2] = { &f.r, &g.r };
	char *h;

	(void)state;
	make_fixture(&f, "fail");
	make_fixture(&g, "pass");
	g.variants[2].arch = s_("amd64");
	h = html(rp, 2, &o);
	assert_contains(h, "<section id=\"matrix\"><h2>Matrix</h2><table class=\"matrix\"><tr><th>options \\ arch</th><th>amd64</th><th>i386</th></tr>");
	assert_contains(h, "<a class=\"v v-fail\" href=\"#run1\" title=\"20261121062618: stage 2 (build32): fail pattern /Fatal: Halting!/ matched\">fail</a>");
	assert_contains(h, "href=\"#run2\"");
	assert_contains(h, "<section class=\"run\" id=\"run2\">");
	assert_contains(h, "id=\"run2-L6\"");
	free(h);
}

/* 100k lines in bounded time (the log section is a tight loop). */
static void test_html_big(void **state)
{
	size_t nl = 100000, i, off = 0;
	struct strbuf log = STRBUF_INIT;
	struct result_line *lines = calloc(nl, sizeof(*lines));
	struct html_opts o = { .filter = strip, .rows = -1, .cols = -1 };
	struct fixture f;
	struct result *rp = &f.r;
	struct timespec a, b;
	char *buf = NULL;
	size_t len = 0;
	FILE *out;
	double secs;

	(void)state;
	make_fixture(&f, "fail");
	for (i = 0; i < nl; i++) {
		lines[i].offset = (int64_t)off;
		lines[i].t_ns = (int64_t)i * 1000000;
		strbuf_addf(&log, "CPU(0x%02zx): vcpu->vmcs.guest_RIP = 0x%08zx <&> \x1b[1mLHV test iter %zu\x1b[0m\n",
			    i % 4, i * 16, i);
		off = log.len;
	}
	f.r.log = log.buf;
	f.r.log_len = log.len;
	f.r.lines = lines;
	f.r.nlines = nl;
	f.r.reason_line_no = 99999;
	f.r.ngaps = 0;
	out = open_memstream(&buf, &len);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(report_html(out, &rp, 1, &o), 0);
	fclose(out);
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	print_message("# html of %zu lines (%zu bytes): %zu bytes in %.3f s\n",
		      nl, log.len, len, secs);
	assert_true(secs < 5);
	assert_contains(buf, "<span class=\"hl hl-fail\" id=\"run1-L99999\">");
	assert_contains(buf, "\n[   99.997000] CPU(0x01): vcpu-&gt;vmcs.guest_RIP = 0x001869d0 &lt;&amp;&gt; LHV test iter 99997\n");
	free(buf);
	/* Without a sidecar the lines are found in one pass, too. */
	f.r.nlines = 0;
	buf = NULL;
	out = open_memstream(&buf, &len);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(report_html(out, &rp, 1, &o), 0);
	fclose(out);
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	print_message("# ... without a sidecar: %.3f s\n", secs);
	assert_true(secs < 5);
	assert_contains(buf, "\n 100000 CPU(0x03)");
	free(buf);
	free(lines);
	strbuf_release(&log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_specials),
		cmocka_unit_test(test_escape_controls),
		cmocka_unit_test(test_escape_utf8),
		cmocka_unit_test(test_outcomes),
		cmocka_unit_test(test_log_lines_and_context),
		cmocka_unit_test(test_tick_step),
		cmocka_unit_test(test_layout_numbers),
		cmocka_unit_test(test_label_rows),
		cmocka_unit_test(test_grub_times),
		cmocka_unit_test(test_format_seconds),
		cmocka_unit_test(test_svg),
		cmocka_unit_test(test_junit),
		cmocka_unit_test(test_tap),
		cmocka_unit_test(test_html_one),
		cmocka_unit_test(test_matrix_pick),
		cmocka_unit_test(test_html_matrix),
		cmocka_unit_test(test_html_big),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
