// SPDX-License-Identifier: MIT
/*
 * report/: loading results (JSON, sidecar, damaged and missing pieces),
 * names and their order, stage ranges, line walking and ANSI stripping,
 * grep matching, the Myers diff against a brute-force LCS, stage-aligned
 * diffs, and the SQLite index (incremental = rebuild, changes, removals,
 * a damaged index file).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/err.h"
#include "lib/fileio.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "report/common.h"
#include "report/diff.h"
#include "report/grep.h"
#include "report/index.h"
#include "report/result.h"
#include "testutil.h"

/* ------------------------------------------------------------ fixtures */

static const char *const json_two_stages =
	"{\"log\":\"results/20261121082812\",\"lab\":\"logs\","
	"\"lab_file\":\"/x/labs/logs.conf\",\"board\":\"qemu\","
	"\"started\":\"2026-11-21T08:28:12.694180+00:00\",\"duration\":0.822102,"
	"\"decided\":0.804801,\"decided_wall\":1795249693.498982,"
	"\"verdict\":\"fail\",\"reason\":\"stage 2 (fatal): fail pattern\","
	"\"line\":\"Fatal: Halting!\",\"line_no\":7,"
	"\"stages\":[{\"stage\":1,\"variant\":\"hv64\",\"entry\":\"XMHF-hv64\","
	"\"reached\":true,\"start\":0.35,\"end\":0.80,\"start_byte\":%d,\"line\":3},"
	"{\"stage\":2,\"variant\":\"%s\",\"entry\":\"XMHF-fatal\",\"reached\":true,"
	"\"start\":0.80,\"end\":0.81,\"start_byte\":%d,\"line\":%d}],"
	"\"variants\":[{\"name\":\"hv64\",\"recipe\":\"standin\",\"arch\":\"amd64\","
	"\"options\":\"0x0\",\"source_rev\":\"tree-1\",\"build\":\"cached\"},"
	"{\"name\":\"x\",\"recipe\":\"xmhf64\",\"src\":\"/s\",\"args\":\"amd64 fast\","
	"\"source_rev\":\"abc\",\"build\":\"built\"}],"
	"\"events\":[{\"t\":0.0009,\"event\":\"on\",\"detail\":\"ok\"}],"
	"\"command\":\"labctl run\",\"labctl_version\":\"t\"}\n";

/* A log: 2 GRUB lines, stage 1 (3 lines), stage 2 (3 lines). */
static const char log_a[] =
	"\x1b[H\x1b[Jlabctl-grub: default=XMHF-hv64\r\n"
	"\r  Booting `XMHF-hv64'\r\n"
	"Stand-in Hypervisor (labctl) variant=hv64\n"
	"CPU(0x00): vcpu->vmcs.guest_RIP = 0x7c00\n"
	"FIXED_MTRR[0] = 0x0606060606060606\n"
	"Stand-in Hypervisor (labctl) variant=fatal\n"
	"CPU(0x00): vcpu->vmcs.guest_RIP = 0x7c00\n"
	"Fatal: Halting!";

static char *make_json(const char *log, const char *v2)
{
	const char *s1 = strstr(log, "Stand-in");
	const char *s2 = strstr(s1 + 1, "Stand-in");
	int line2 = 1;
	const char *p;

	for (p = log; p < s2; p++)
		line2 += *p == '\n';
	return xasprintf(json_two_stages, (int)(s1 - log), v2,
			 (int)(s2 - log), line2);
}

static struct result *load_mem(const char *log, size_t log_len,
			       const char *json, const char *lines,
			       unsigned flags)
{
	struct result_mem m = {
		.log_path = "results/20261121082812",
		.json = json, .json_len = json ? strlen(json) : 0,
		.lines = lines, .lines_len = lines ? strlen(lines) : 0,
		.log = log, .log_len = log_len,
	};
	struct result *r = NULL;

	assert_int_equal(result_load_mem(&m, flags | RESULT_LOG, &r), 0);
	return r;
}

/* The stage ranges labctl log --stage prints, from a run record's text
 * (once parsed by hand in cmd_log.c). */
static void test_stage_range_json(void **state)
{
	static const char js[] =
		"{\"log\":\"r\",\"reason\":\"a \\\"start_byte\\\":7 {trap}\","
		"\"stages\":[{\"stage\":1,\"variant\":\"a}\",\"reached\":true,\"start\":0.1,\"end\":0.2,\"start_byte\":100,\"line\":3},"
		"{\"stage\":2,\"variant\":\"b\",\"reached\":true,\"start\":0.3,\"end\":0.4,\"start_byte\":250,\"line\":9},"
		"{\"stage\":3,\"variant\":\"c\",\"reached\":false}],\"variants\":[]}";
	struct result *r = load_mem("x", 1, js, NULL, 0), *none;
	uint64_t s, e;

	(void)state;
	assert_int_equal(result_stage_range(r, 1, 1000, &s, &e), 0);
	assert_int_equal(s, 100);
	assert_int_equal(e, 250);
	assert_int_equal(result_stage_range(r, 2, 1000, &s, &e), 0);
	assert_int_equal(s, 250);
	assert_int_equal(e, 1000);
	assert_int_equal(result_stage_range(r, 3, 1000, &s, &e), -LAB_ENOENT);
	assert_contains(lab_errmsg(-LAB_ENOENT), "stage 3 was not reached");
	assert_int_equal(result_stage_range(r, 4, 1000, &s, &e), -LAB_ENOENT);
	assert_contains(lab_errmsg(-LAB_ENOENT), "no stage 4 (the run had 3)");
	/* a log shorter than the json says (truncated copy) */
	assert_int_equal(result_stage_range(r, 1, 120, &s, &e), 0);
	assert_int_equal(s, 100);
	assert_int_equal(e, 120);
	none = load_mem("x", 1, "{}", NULL, 0);
	assert_int_equal(result_stage_range(none, 1, 1000, &s, &e), -LAB_ENOENT);
	assert_contains(lab_errmsg(-LAB_ENOENT), "has no stage information");
	result_free(none);
	result_free(r);
}

/* A literal where the struct holds a char * it never frees here. */
#define W(s) ((char *)(uintptr_t)(s))

/* The writer: the record's fields, names, types and order as the run has
 * always written them (times to the microsecond, as JSON numbers: 1e-6 is
 * what %.6f wrote as 0.000001); a stray byte from the console is U+FFFD;
 * what is written loads back. */
static void test_result_write(void **state)
{
	struct result_stage st[2] = {
		{ .stage = 1, .variant = W("hv64"), .entry = W("XMHF-hv64"),
		  .reached = true, .start = 0.5, .end = 1.25, .start_byte = 40,
		  .line = 3 },
		{ .stage = 2, .variant = W("lhv"), .entry = W("XMHF-lhv"),
		  .start_byte = -1 },
	};
	struct result_variant va[2] = {
		{ .name = W("hv64"), .recipe = W("standin"), .arch = W("amd64"),
		  .options = W("0x3d"), .build = W("cached"), .init_sha256 = W("ab") },
		{ .name = W("x"), .recipe = W("xmhf64"), .src = W("/s"), .args = W("--a"),
		  .options = W("--a"), .source_rev = W("r1"), .build = W("built") },
	};
	struct result_event ev[1] = { { .t = 0.000001, .name = W("POWER_ON") } };
	struct result r = {
		.log_path = W("results/20261121082812"), .lab = W("q"),
		.lab_file = W("labs/q.conf"), .board = W("qemu"), .host = W("h"),
		.started = W("2026-11-21T08:28:12.000000+00:00"),
		.started_wall_ns = 1795000000000000000LL,
		.duration = 2, .decided = 1.5, .verdict = W("fail"),
		.reason = W("halt"), .reason_line = W("bad \xff byte"),
		.reason_line_no = 7, .stages = st, .nstages = 2,
		.variants = va, .nvariants = 2, .events = ev, .nevents = 1,
		.command = W("labctl run q"), .labctl_version = W("0.1"),
	};
	json_t *doc = result_to_json(&r);
	char *text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(16));
	const char *text2;
	struct result *back;

	(void)state;
	assert_string_equal(text,
		"{\"log\":\"results/20261121082812\",\"lab\":\"q\","
		"\"lab_file\":\"labs/q.conf\",\"board\":\"qemu\",\"host\":\"h\","
		"\"started\":\"2026-11-21T08:28:12.000000+00:00\","
		"\"duration\":2.0,\"decided\":1.5,\"decided_wall\":1795000001.5,"
		"\"verdict\":\"fail\",\"reason\":\"halt\","
		"\"line\":\"bad \xef\xbf\xbd byte\",\"line_no\":7,"
		"\"stages\":[{\"stage\":1,\"variant\":\"hv64\",\"entry\":\"XMHF-hv64\","
		"\"reached\":true,\"start\":0.5,\"end\":1.25,\"start_byte\":40,\"line\":3},"
		"{\"stage\":2,\"variant\":\"lhv\",\"entry\":\"XMHF-lhv\",\"reached\":false}],"
		"\"variants\":[{\"name\":\"hv64\",\"recipe\":\"standin\",\"arch\":\"amd64\","
		"\"options\":\"0x3d\",\"source_rev\":null,\"build\":\"cached\","
		"\"init_sha256\":\"ab\",\"hypervisor_sha256\":null},"
		"{\"name\":\"x\",\"recipe\":\"xmhf64\",\"src\":\"/s\",\"args\":\"--a\","
		"\"source_rev\":\"r1\",\"build\":\"built\",\"init_sha256\":null,"
		"\"hypervisor_sha256\":null}],"
		"\"events\":[{\"t\":1e-6,\"event\":\"POWER_ON\",\"detail\":\"\"}],"
		"\"command\":\"labctl run q\",\"labctl_version\":\"0.1\"}");
	back = load_mem("x", 1, text, NULL, 0);
	assert_string_equal(back->verdict, "fail");
	assert_string_equal(back->reason_line, "bad \xef\xbf\xbd byte");
	assert_int_equal(back->nstages, 2);
	assert_int_equal(back->stages[0].start_byte, 40);
	assert_false(back->stages[1].reached);
	assert_string_equal(back->variants[1].args, "--a");
	assert_string_equal(back->variants[1].options, "--a");
	assert_string_equal(back->command, "labctl run q");
	assert_true(back->duration == 2 && back->decided == 1.5);
	result_free(back);
	/* the record alone, as run --json prints it: what matrix and bisect read */
	assert_int_equal(result_from_record(text, strlen(text), &back), 0);
	assert_string_equal(back->log_path, "results/20261121082812");
	assert_string_equal(back->name, "20261121082812");
	assert_string_equal(back->verdict, "fail");
	assert_string_equal(back->reason, "halt");
	assert_int_equal(back->reason_line_no, 7);
	assert_string_equal(back->lab, "q");
	result_free(back);
	text2 = "{\"verdict\":\"pass\"}";
	assert_int_equal(result_from_record(text2, strlen(text2), &back),
			 -LAB_EFORMAT);
	assert_null(back);
	assert_int_equal(result_from_record("", 0, &back), -LAB_EFORMAT);
	lab_err_clear();
	free(text);
	json_decref(doc);
}

static char tmpdir[64];

static void write_file(const char *dir, const char *name, const char *data,
		       size_t len)
{
	char *p = xasprintf("%s/%s", dir, name);

	assert_int_equal(lab_write_file_atomic(p, data, len, 0644), 0);
	free(p);
}

static void rm_rf(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static int setup_dir(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/test_report.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int teardown_dir(void **state)
{
	(void)state;
	rm_rf(tmpdir);
	return 0;
}

/* ------------------------------------------------------------ names */

static void test_names(void **state)
{
	static const char *const files[] = {
		"20261121082812", "20261121082812-2", "20261121082812-10",
		"20220208171146", "20261121082812.json", "20261121082812.lines",
		".index.sqlite", "notes.txt", "2026112108281", "20261121082812-0",
		"20261121082812-x",
	};
	char **names;
	size_t i;
	int n;

	(void)state;
	assert_true(result_name_valid("20261121082812"));
	assert_true(result_name_valid("20261121082812-2"));
	assert_false(result_name_valid("20261121082812-"));
	assert_false(result_name_valid("20261121082812-02"));
	assert_false(result_name_valid("2026112108281a"));
	assert_false(result_name_valid("20261121082812.json"));
	for (i = 0; i < sizeof(files) / sizeof(*files); i++)
		write_file(tmpdir, files[i], "x\n", 2);
	assert_int_equal(result_list(tmpdir, &names, &n), 0);
	assert_int_equal(n, 4);
	/* newest first; -10 after -2 in time, so before it here */
	assert_string_equal(names[0], "20261121082812-10");
	assert_string_equal(names[1], "20261121082812-2");
	assert_string_equal(names[2], "20261121082812");
	assert_string_equal(names[3], "20220208171146");
	assert_null(names[4]);
	result_list_free(names, n);

	assert_int_equal(result_list("/nonexistent/results", &names, &n), 0);
	assert_int_equal(n, 0);
	assert_null(names[0]);
	result_list_free(names, n);
}

/* ------------------------------------------------------------ sidecar */

static void test_sidecar(void **state)
{
	struct result r = { 0 };
	int64_t t0;
	const char *good =
		"T0\t1000000000000\n"
		"L\t0\t-5\t999999999995\n"
		"T0\t1000000000100\n"
		"L\t10\t7\t1000000000107\n"
		"G\t20\t50\t1000000000150\t90\t1000000000190\tconsole lost: EOF\n"
		"L\t20\t95\t1000000000195\n"
		"L\t30\t9";	/* still being written */

	(void)state;
	assert_int_equal(result_parse_sidecar(&r, "x.lines", good, strlen(good),
					      &t0), 0);
	assert_int_equal(t0, 1000000000100);
	assert_int_equal(r.nlines, 3);
	/* times from the last T0: the first line was 100 ns before it */
	assert_int_equal(r.lines[0].t_ns, -105);
	assert_int_equal(r.lines[1].t_ns, 7);
	assert_int_equal(r.lines[2].offset, 20);
	assert_int_equal(r.ngaps, 1);
	assert_int_equal(r.gaps[0].offset, 20);
	assert_int_equal(r.gaps[0].start_ns, 50);
	assert_int_equal(r.gaps[0].end_ns, 90);
	assert_int_equal(r.gaps[0].start_wall_ns, 1000000000150);
	assert_string_equal(r.gaps[0].reason, "console lost: EOF");

	/* errors name the file and line; nothing is kept */
	assert_int_equal(result_parse_sidecar(&r, "x.lines", "garbage\n", 8, NULL),
			 -LAB_EFORMAT);
	assert_contains(lab_errmsg(-LAB_EFORMAT), "x.lines has no T0 record: not a labctl sidecar");
	assert_int_equal(r.nlines, 0);
	assert_int_equal(r.ngaps, 0);
	{
		const char *bad = "T0\t1\nL\t0\t1\t2\nL\tx\t1\t2\n";

		assert_int_equal(result_parse_sidecar(&r, "y.lines", bad,
						      strlen(bad), NULL),
				 -LAB_EFORMAT);
		assert_contains(lab_errmsg(-LAB_EFORMAT), "y.lines:3: not a sidecar record");
	}
	{
		const char *back = "T0\t1\nL\t10\t1\t2\nL\t5\t1\t2\n";

		assert_int_equal(result_parse_sidecar(&r, "z.lines", back,
						      strlen(back), NULL),
				 -LAB_EFORMAT);
		assert_contains(lab_errmsg(-LAB_EFORMAT), "z.lines:3:");
	}
	{
		/* numbers that overflow, or shift past int64 */
		const char *big = "T0\t1\nL\t0\t99999999999999999999\t2\n";
		const char *shift = "T0\t-9223372036854775807\nT0\t9223372036854775807\n"
			"L\t0\t1\t2\n";

		assert_int_equal(result_parse_sidecar(&r, "b", big, strlen(big),
						      NULL), -LAB_EFORMAT);
		assert_int_equal(result_parse_sidecar(&r, "b", shift,
						      strlen(shift), NULL),
				 -LAB_EFORMAT);
	}
	{
		/* a NUL inside a record is not a record */
		const char nul[] = "T0\t1\nL\t0\t1\0\t2\n";

		assert_int_equal(result_parse_sidecar(&r, "n", nul, sizeof(nul) - 1,
						      NULL), -LAB_EFORMAT);
	}
	free(r.lines);
	free(r.gaps);
}

/* ------------------------------------------------------------ loading */

static void test_load_full(void **state)
{
	char *json = make_json(log_a, "fatal");
	struct result *r;
	uint64_t s, e;

	(void)state;
	r = load_mem(log_a, sizeof(log_a) - 1, json, NULL, 0);
	assert_string_equal(r->name, "20261121082812");
	assert_string_equal(r->json_path, "results/20261121082812.json");
	assert_string_equal(r->lab, "logs");
	assert_string_equal(r->board, "qemu");
	assert_string_equal(r->verdict, "fail");
	assert_string_equal(r->reason, "stage 2 (fatal): fail pattern");
	assert_string_equal(r->reason_line, "Fatal: Halting!");
	assert_int_equal(r->reason_line_no, 7);
	assert_int_equal(r->started_wall_ns, 1795249692694180000LL);
	assert_true(r->decided > 0.8 && r->decided < 0.81);
	assert_int_equal(r->nstages, 2);
	assert_string_equal(r->stages[1].variant, "fatal");
	assert_true(r->stages[1].reached);
	assert_int_equal(r->nvariants, 2);
	assert_string_equal(r->variants[0].options, "0x0");
	assert_string_equal(r->variants[1].options, "amd64 fast");	/* args */
	assert_int_equal(r->nevents, 1);
	assert_string_equal(r->events[0].name, "on");
	assert_int_equal(r->log_len, sizeof(log_a) - 1);

	assert_true(result_has_stages(r));
	assert_int_equal(result_stage_range(r, 0, r->log_len, &s, &e), 0);
	assert_int_equal(s, 0);
	assert_int_equal(e, (uint64_t)r->stages[0].start_byte);
	assert_int_equal(result_stage_range(r, 2, r->log_len, &s, &e), 0);
	assert_int_equal(e, r->log_len);
	assert_int_equal(result_stage_range(r, 3, r->log_len, &s, &e), -LAB_ENOENT);
	assert_contains(lab_errmsg(-LAB_ENOENT), "there is no stage 3 (the run had 2)");
	assert_int_equal(result_stage_at(r, 0), 0);
	assert_int_equal(result_stage_at(r, (uint64_t)r->stages[0].start_byte), 1);
	assert_int_equal(result_stage_at(r, r->log_len - 1), 2);
	result_free(r);
	free(json);
}

/* Tests inside the board ([test], guesttest.c): written, read back, and
 * a failed one fails no stage. */
static void test_guest_tests(void **state)
{
	static const char log[] = "boot\n";
	struct result r = { 0 }, *back;
	struct result_stage st = { .stage = 1, .variant = (char *)"v", .entry = (char *)"XMHF-v",
				   .reached = true, .start_byte = 0, .line = 1 };
	struct result_test t[2] = {
		{ .name = (char *)"test1", .command = (char *)"./test_args64 7 7 7",
		  .verdict = (char *)"pass", .reason = (char *)"", .output = (char *)"Test pass\n",
		  .start = 30.5, .duration = 1.25, .exit_status = 0 },
		{ .name = (char *)"test2", .command = (char *)"false", .verdict = (char *)"fail",
		  .reason = (char *)"exit status 1", .output = (char *)"", .start = 32,
		  .duration = 0.5, .exit_status = 1 },
	};
	json_t *doc;
	char *text;

	(void)state;
	r.lab = (char *)"twin";
	r.verdict = (char *)"fail";
	r.reason = (char *)"test2 (false): fail";
	r.decided = 29;
	r.stages = &st;
	r.nstages = 1;
	doc = result_to_json(&r);
	assert_null(json_object_get(doc, "tests"));	/* none: no key */
	json_decref(doc);
	r.tests = t;
	r.ntests = 2;
	doc = result_to_json(&r);
	text = json_dumps(doc, 0);
	json_decref(doc);
	back = load_mem(log, sizeof(log) - 1, text, NULL, 0);
	assert_int_equal(back->ntests, 2);
	assert_string_equal(back->tests[0].command, "./test_args64 7 7 7");
	assert_string_equal(back->tests[0].output, "Test pass\n");
	assert_string_equal(back->tests[0].verdict, "pass");
	assert_true(back->tests[0].duration > 1.24 && back->tests[0].duration < 1.26);
	assert_string_equal(back->tests[1].reason, "exit status 1");
	assert_int_equal(back->tests[1].exit_status, 1);
	/* The chain passed: its stage is no failure. */
	assert_int_equal(report_stage_outcome(back, 0), REPORT_PASS);
	result_free(back);
	free(text);
}

static void test_load_damaged(void **state)
{
	const char *lines = "T0\t1795249692000000000\nT0\t1795249692500000000\n"
		"L\t0\t100\t1795249692500000100\nL\t40\t2500000000\t1\nL\t60\t";
	struct result *r;

	(void)state;
	/* no JSON (a killed run): unknown, times from the sidecar */
	r = load_mem(log_a, sizeof(log_a) - 1, NULL, lines, RESULT_LINES);
	assert_null(r->json_path);
	assert_string_equal(r->verdict, "unknown");
	assert_contains(r->reason, "no results/20261121082812.json");
	assert_null(r->lab);
	assert_int_equal(r->started_wall_ns, 1795249692500000000LL);
	assert_true(r->duration > 2.49 && r->duration < 2.51);
	assert_int_equal(r->nlines, 2);	/* the truncated record dropped */
	assert_false(result_has_stages(r));
	assert_int_equal(result_stage_at(r, 5), -1);
	result_free(r);

	/* truncated JSON: loads, says why */
	r = load_mem(log_a, sizeof(log_a) - 1, "{\"lab\":\"x\",\"verdict\":\"pa",
		     NULL, 0);
	assert_non_null(r->json_path);
	assert_string_equal(r->verdict, "unknown");
	assert_contains(r->reason, "damaged results/20261121082812.json (line 1:");
	/* no sidecar either: the time the name says */
	assert_true(r->started_wall_ns > 1795000000000000000LL);
	result_free(r);

	/* not an object, odd types, an unknown verdict */
	r = load_mem("", 0, "[1,2]", NULL, 0);
	assert_string_equal(r->verdict, "unknown");
	assert_contains(r->reason, "not a JSON object");
	result_free(r);
	r = load_mem("", 0, "{\"verdict\":\"maybe\",\"stages\":[1,{\"stage\":-4,"
		     "\"start_byte\":-7},{\"reached\":false,\"start_byte\":3}],"
		     "\"lab\":5,\"duration\":\"x\",\"line_no\":1e300}", NULL, 0);
	assert_string_equal(r->verdict, "unknown");
	assert_null(r->lab);
	assert_int_equal(r->nstages, 2);
	assert_int_equal(r->stages[0].stage, 1);
	assert_int_equal(r->stages[0].start_byte, -1);
	assert_int_equal(r->stages[1].start_byte, -1);	/* not reached */
	assert_false(result_has_stages(r));
	result_free(r);

	/* a damaged sidecar is an error only when the lines are asked for */
	{
		struct result_mem m = {
			.log_path = "d/20261121082812", .lines = "junk\n",
			.lines_len = 5,
		};

		assert_int_equal(result_load_mem(&m, 0, &r), 0);
		assert_int_equal(r->nlines, 0);
		result_free(r);
		assert_int_equal(result_load_mem(&m, RESULT_LINES, &r),
				 -LAB_EFORMAT);
		assert_null(r);
	}
}

static void test_load_files(void **state)
{
	char *json = make_json(log_a, "fatal"), *p;
	struct result *r;

	(void)state;
	write_file(tmpdir, "20261121082812", log_a, sizeof(log_a) - 1);
	write_file(tmpdir, "20261121082812.json", json, strlen(json));
	write_file(tmpdir, "20261120100000", "old\n", 4);
	write_file(tmpdir, "20261120100000-2", "old 2\n", 6);

	if (result_load("20261121082812", tmpdir, RESULT_LOG, &r))
		fail_msg("%s", lab_errmsg(-LAB_ENOENT));
	assert_string_equal(r->verdict, "fail");
	result_free(r);
	assert_int_equal(result_load("latest", tmpdir, 0, &r), 0);
	assert_string_equal(r->name, "20261121082812");
	result_free(r);
	assert_int_equal(result_load("2026112108", tmpdir, 0, &r), 0);	/* prefix */
	assert_string_equal(r->name, "20261121082812");
	result_free(r);
	assert_int_equal(result_load("2026112010", tmpdir, 0, &r), -LAB_EINVAL);
	assert_contains(lab_errmsg(-LAB_EINVAL), "names 2 results");
	assert_contains(lab_errmsg(-LAB_EINVAL), "20261120100000-2, 20261120100000");
	assert_int_equal(result_load("20261120100000", tmpdir, 0, &r), 0);	/* exact */
	assert_string_equal(r->verdict, "unknown");
	result_free(r);
	p = xasprintf("%s/20261121082812.json", tmpdir);	/* a path, .json */
	assert_int_equal(result_load(p, NULL, 0, &r), 0);
	assert_string_equal(r->lab, "logs");
	result_free(r);
	free(p);
	assert_int_equal(result_load("nosuch", tmpdir, 0, &r), -LAB_ENOENT);
	assert_contains(lab_errmsg(-LAB_ENOENT), "no result 'nosuch'");
	assert_int_equal(result_load("/nonexistent/x", tmpdir, 0, &r), -LAB_ENOENT);
	assert_contains(lab_errmsg(-LAB_ENOENT), "no result /nonexistent/x");
	assert_int_equal(result_load("latest", "/nonexistent", 0, &r), -LAB_ENOENT);
	free(json);
}

/* ------------------------------------------------------------ lines */

static void test_strip_and_lines(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	char *json = make_json(log_a, "fatal");
	struct report_lines it;
	struct result *r;
	int st = 0, n = 0;

	(void)state;
	report_strip_ansi(&st, "\x1b[1;1Ha\x1b]0;title\x07" "b\rc\x1b" "7d", 23, &sb);
	assert_string_equal(strbuf_str(&sb), "abcd");
	strbuf_reset(&sb);
	/* a CSI split across calls */
	report_strip_ansi(&st, "x\x1b[3", 4, &sb);
	report_strip_ansi(&st, "1my", 3, &sb);
	assert_string_equal(strbuf_str(&sb), "xy");
	strbuf_release(&sb);

	r = load_mem(log_a, sizeof(log_a) - 1, json, NULL, 0);
	report_lines_init(&it, r, 0, r->log_len);
	while (report_lines_next(&it)) {
		n++;
		assert_int_equal(it.line_no, n);
		if (n == 1) {
			assert_string_equal(it.text.buf, "labctl-grub: default=XMHF-hv64");
			assert_int_equal(it.stage, 0);
		}
		if (n == 2)
			assert_string_equal(it.text.buf, "  Booting `XMHF-hv64'");
		if (n == 3)
			assert_int_equal(it.stage, 1);
		if (n == 8) {	/* no newline at the end */
			assert_string_equal(it.text.buf, "Fatal: Halting!");
			assert_int_equal(it.stage, 2);
		}
	}
	assert_int_equal(n, 8);
	report_lines_release(&it);
	/* from the middle: line numbers still count from the start */
	report_lines_init(&it, r, (uint64_t)r->stages[1].start_byte, r->log_len);
	assert_true(report_lines_next(&it));
	assert_int_equal(it.line_no, 6);
	report_lines_release(&it);
	result_free(r);
	free(json);
}

static void test_matcher(void **state)
{
	struct report_matcher *m;
	const char nul[] = "abc\0FIXED_MTRR[0] = 1";

	(void)state;
	/* basic regex, as in the notes: brackets escaped, parens literal */
	assert_int_equal(report_matcher_new("FIXED_MTRR\\[0\\]", REPORT_MATCH_BASIC,
					    false, &m), 0);
	assert_true(report_matcher_match(m, "FIXED_MTRR[0] = 0x06", 20));
	assert_false(report_matcher_match(m, "FIXED_MTRR0", 11));
	/* past a NUL byte (REG_STARTEND) */
	assert_true(report_matcher_match(m, nul, sizeof(nul) - 1));
	report_matcher_free(m);
	assert_int_equal(report_matcher_new("CPU(0x00): vcpu", REPORT_MATCH_BASIC,
					    false, &m), 0);
	assert_true(report_matcher_match(m, "CPU(0x00): vcpu->vmcs.x", 23));
	report_matcher_free(m);
	assert_int_equal(report_matcher_new("iter (1|2)$", REPORT_MATCH_EXTENDED,
					    false, &m), 0);
	assert_true(report_matcher_match(m, "test iter 2", 11));
	assert_false(report_matcher_match(m, "test iter 21", 12));
	/* the end of the text is the end, even with more bytes after it */
	assert_true(report_matcher_match(m, "test iter 21", 11));
	report_matcher_free(m);
	assert_int_equal(report_matcher_new("vmcs.guest_RIP", REPORT_MATCH_FIXED,
					    true, &m), 0);
	assert_true(report_matcher_match(m, "x VMCS.GUEST_rip", 16));
	assert_false(report_matcher_match(m, "x VMCSxGUEST_rip", 16));
	report_matcher_free(m);
	assert_int_equal(report_matcher_new("", REPORT_MATCH_FIXED, false, &m), 0);
	assert_true(report_matcher_match(m, "", 0));
	report_matcher_free(m);
	assert_int_equal(report_matcher_new("a[", REPORT_MATCH_BASIC, false, &m),
			 -LAB_EINVAL);
	assert_contains(lab_errmsg(-LAB_EINVAL), "bad basic regular expression 'a['");
	assert_int_equal(report_matcher_new("(", REPORT_MATCH_EXTENDED, false, &m),
			 -LAB_EINVAL);
}

static void test_grep_output(void **state)
{
	char *json = make_json(log_a, "fatal");
	struct report_grep_opts go = { .stage = -1 };
	struct strbuf out = STRBUF_INIT;
	struct report_matcher *m;
	struct result *r;
	size_t n;

	(void)state;
	r = load_mem(log_a, sizeof(log_a) - 1, json, NULL, 0);
	assert_int_equal(report_matcher_new("vmcs.guest_RIP", REPORT_MATCH_FIXED,
					    false, &m), 0);
	assert_int_equal(report_grep(r, m, &go, &out, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(strbuf_str(&out),
			    "20261121082812:4: [stage 1] CPU(0x00): vcpu->vmcs.guest_RIP = 0x7c00\n"
			    "20261121082812:7: [stage 2] CPU(0x00): vcpu->vmcs.guest_RIP = 0x7c00\n");
	strbuf_reset(&out);
	go.stage = 2;
	go.json = true;
	go.label = "results/x";
	assert_int_equal(report_grep(r, m, &go, &out, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(strbuf_str(&out),
			    "{\"result\":\"results/x\",\"line_no\":7,\"stage\":2,"
			    "\"variant\":\"fatal\",\"line\":\"CPU(0x00): vcpu->vmcs.guest_RIP = 0x7c00\"}\n");
	go.stage = 5;
	assert_int_equal(report_grep(r, m, &go, &out, &n), -LAB_ENOENT);
	report_matcher_free(m);
	result_free(r);
	strbuf_release(&out);
	free(json);
}

/* ------------------------------------------------------------ diff */

/* The LCS length by dynamic programming, for checking Myers. */
static size_t lcs_len(const int *a, size_t na, const int *b, size_t nb)
{
	size_t *row = xcalloc((nb + 1) * 2, sizeof(*row)), i, j, r;

	for (i = 1; i <= na; i++) {
		size_t *cur = row + (i % 2) * (nb + 1), *prev = row + ((i - 1) % 2) * (nb + 1);

		for (j = 1; j <= nb; j++)
			cur[j] = a[i - 1] == b[j - 1] ? prev[j - 1] + 1 :
				cur[j - 1] > prev[j] ? cur[j - 1] : prev[j];
	}
	r = row[(na % 2) * (nb + 1) + nb];
	free(row);
	return r;
}

/* The unchanged elements must be a common subsequence. */
static size_t check_common(const int *a, size_t na, const bool *ca,
			   const int *b, size_t nb, const bool *cb)
{
	size_t i = 0, j = 0, kept = 0;

	for (;;) {
		while (i < na && ca[i])
			i++;
		while (j < nb && cb[j])
			j++;
		if (i >= na || j >= nb)
			break;
		assert_int_equal(a[i], b[j]);
		i++;
		j++;
		kept++;
	}
	while (i < na)
		assert_true(ca[i++]);
	while (j < nb)
		assert_true(cb[j++]);
	return kept;
}

static void test_myers(void **state)
{
	unsigned seed = 12345;
	int round;

	(void)state;
	for (round = 0; round < 2000; round++) {
		size_t na = (size_t)(rand_r(&seed) % 30), nb = (size_t)(rand_r(&seed) % 30), i;
		int alpha = 1 + rand_r(&seed) % 6;
		int *a = xcalloc(na + 1, sizeof(int)), *b = xcalloc(nb + 1, sizeof(int));
		bool *ca = xcalloc(na + 1, 1), *cb = xcalloc(nb + 1, 1);

		for (i = 0; i < na; i++)
			a[i] = rand_r(&seed) % alpha;
		for (i = 0; i < nb; i++)
			b[i] = rand_r(&seed) % alpha;
		report_diff_ids(a, na, b, nb, ca, cb);
		assert_int_equal(check_common(a, na, ca, b, nb, cb),
				 lcs_len(a, na, b, nb));
		free(a);
		free(b);
		free(ca);
		free(cb);
	}
	/* Big and completely different: the cut-off keeps it fast and the
	 * result still a common subsequence. */
	{
		size_t n = 60000, i;
		int *a = xcalloc(n, sizeof(int)), *b = xcalloc(n, sizeof(int));
		bool *ca = xcalloc(n, 1), *cb = xcalloc(n, 1);
		struct timeval t0, t1;

		for (i = 0; i < n; i++) {
			a[i] = rand_r(&seed) % 1000;
			b[i] = 1000 + rand_r(&seed) % 1000;
		}
		a[n / 2] = b[n / 3] = 7;
		gettimeofday(&t0, NULL);
		report_diff_ids(a, n, b, n, ca, cb);
		gettimeofday(&t1, NULL);
		check_common(a, n, ca, b, n, cb);
		assert_true(t1.tv_sec - t0.tv_sec < 20);
		free(a);
		free(b);
		free(ca);
		free(cb);
	}
}

static void test_diff_results(void **state)
{
	char *ja = make_json(log_a, "fatal"), *jb;
	struct report_diff_opts o = { .stage = -1, .context = 3 };
	struct strbuf out = STRBUF_INIT;
	struct result *a, *b;
	char *log_b = xstrdup(log_a), *p;

	(void)state;
	/* B: a different guest RIP in stage 2 only */
	p = strstr(strstr(log_b, "variant=fatal"), "0x7c00");
	memcpy(p, "0x7c02", 6);
	jb = make_json(log_b, "fatal");
	a = load_mem(log_a, strlen(log_a), ja, NULL, 0);
	b = load_mem(log_b, strlen(log_b), jb, NULL, 0);

	assert_int_equal(report_diff(a, a, &o, &out), 0);
	assert_contains(strbuf_str(&out), "=== stage 1: hv64 | hv64: same, 3 lines\n");
	strbuf_reset(&out);

	o.filter = "CPU(0x00): vcpu->vmcs.";
	assert_int_equal(report_diff(a, b, &o, &out), 1);
	assert_string_equal(strbuf_str(&out),
			    "--- 20261121082812\t(logs: hv64 -> fatal, fail)\n"
			    "+++ 20261121082812\t(logs: hv64 -> fatal, fail)\n"
			    "=== stage 1: hv64 | hv64: same, 1 line\n"
			    "=== stage 2: fatal | fatal: 1 line only in A, 1 only in B\n"
			    "@@ -7,1 +7,1 @@\n"
			    "-CPU(0x00): vcpu->vmcs.guest_RIP = 0x7c00\n"
			    "+CPU(0x00): vcpu->vmcs.guest_RIP = 0x7c02\n");
	strbuf_reset(&out);

	/* only stage 1: the same */
	o.stage = 1;
	assert_int_equal(report_diff(a, b, &o, &out), 0);
	strbuf_reset(&out);
	o.stage = 7;
	assert_int_equal(report_diff(a, b, &o, &out), -LAB_ENOENT);
	assert_contains(lab_errmsg(-LAB_ENOENT), "there is no stage 7");
	strbuf_reset(&out);

	/* JSON */
	o.stage = 2;
	o.json = true;
	o.label_a = "A";
	o.label_b = "B";
	assert_int_equal(report_diff(a, b, &o, &out), 1);
	assert_contains(strbuf_str(&out), "\"a\":{\"result\":\"A\",\"verdict\":\"fail\"}");
	assert_contains(strbuf_str(&out),
			"\"hunks\":[{\"a_start\":7,\"a_count\":1,\"b_start\":7,\"b_count\":1,"
			"\"lines\":[{\"op\":\"-\",\"a_line\":7,\"b_line\":null,");
	assert_contains(strbuf_str(&out), "],\"same\":false}\n");
	strbuf_reset(&out);
	result_free(b);

	/* B without stage information: whole logs; --stage refused */
	b = load_mem(log_b, strlen(log_b), NULL, NULL, 0);
	o.json = false;
	o.stage = -1;
	o.filter = NULL;
	assert_int_equal(report_diff(a, b, &o, &out), 1);
	assert_contains(strbuf_str(&out), "=== the whole logs (no stage information): 1 line only in A, 1 only in B\n");
	assert_contains(strbuf_str(&out), "@@ -4,5 +4,5 @@\n");
	assert_contains(strbuf_str(&out), "+++ B\t(unknown)\n");
	strbuf_reset(&out);
	o.stage = 1;
	assert_int_equal(report_diff(a, b, &o, &out), -LAB_ENOENT);
	assert_contains(lab_errmsg(-LAB_ENOENT), "has no stage information");
	result_free(b);

	/* B one stage longer: the extra stage against nothing */
	{
		char *log_c = xasprintf("%s\nStand-in Hypervisor (labctl) variant=lhv\nCPU(0x00): test iter 1\n", log_a);
		char *jc = make_json(log_c, "fatal");
		const char *s3 = strstr(log_c, "variant=lhv");
		char *q = strstr(jc, "],\"variants\"");
		struct strbuf j3 = STRBUF_INIT;

		while (s3[-1] != '\n')
			s3--;
		strbuf_add(&j3, jc, (size_t)(q - jc));
		strbuf_addf(&j3, ",{\"stage\":3,\"variant\":\"lhv\",\"reached\":true,\"start_byte\":%d}%s",
			    (int)(s3 - log_c), q);
		b = load_mem(log_c, strlen(log_c), strbuf_str(&j3), NULL, 0);
		o.stage = -1;
		strbuf_reset(&out);
		assert_int_equal(report_diff(a, b, &o, &out), 1);
		assert_contains(strbuf_str(&out), "=== stage 3: (no such stage) | lhv: 0 lines only in A, 2 only in B\n");
		assert_contains(strbuf_str(&out), "@@ -0,0 +9,2 @@\n+Stand-in Hypervisor (labctl) variant=lhv\n");
		result_free(b);
		strbuf_release(&j3);
		free(jc);
		free(log_c);
	}
	result_free(a);
	strbuf_release(&out);
	free(ja);
	free(jb);
	free(log_b);
}

/* ------------------------------------------------------------ index */

static char *dump(struct report_index *ix, const struct report_query *q)
{
	struct strbuf sb = STRBUF_INIT;
	struct report_row *rows;
	size_t n, i;

	assert_int_equal(report_index_query(ix, q, &rows, &n), 0);
	for (i = 0; i < n; i++)
		strbuf_addf(&sb, "%s %s %s [%s] %s %.3f %d/%d|", rows[i].name,
			    rows[i].lab ? rows[i].lab : "-", rows[i].verdict,
			    rows[i].chain, rows[i].reason ? rows[i].reason : "-",
			    rows[i].duration, rows[i].reached, rows[i].nstages);
	report_rows_free(rows, n);
	return strbuf_detach(&sb, NULL);
}

static void add_result(const char *name, const char *v2, const char *verdict)
{
	char *json = make_json(log_a, v2);
	char *p = strstr(json, "\"fail\"");
	char *j2;

	*p = 0;
	j2 = xasprintf("%s\"%s\"%s", json, verdict, p + 6);
	write_file(tmpdir, name, log_a, strlen(log_a));
	p = xasprintf("%s.json", name);
	write_file(tmpdir, p, j2, strlen(j2));
	free(p);
	free(json);
	free(j2);
}

static void test_index(void **state)
{
	struct report_query all = { 0 };
	struct report_index_stats st;
	struct report_index *ix;
	char *inc, *re, *s, *path;
	struct stat sb;

	(void)state;
	add_result("20261121082812", "fatal", "fail");
	add_result("20261121082813", "lhv", "pass");
	write_file(tmpdir, "20261121082814", "killed\n", 7);	/* no JSON */
	write_file(tmpdir, "20261121082815", log_a, 10);
	write_file(tmpdir, "20261121082815.json", "{\"lab\":", 7);	/* damaged */

	assert_int_equal(report_index_open(tmpdir, &ix), 0);
	assert_int_equal(report_index_update(ix, false, &st), 0);
	assert_int_equal(st.added, 4);
	path = report_index_path(tmpdir);
	assert_int_equal(stat(path, &sb), 0);
	inc = dump(ix, &all);
	assert_contains(inc, "20261121082815 - unknown [] damaged ");
	assert_contains(inc, "20261121082814 - unknown [] no ");
	assert_contains(inc, "20261121082813 logs pass [hv64 lhv]");
	assert_contains(inc, "20261121082812 logs fail [hv64 fatal] stage 2 (fatal): fail pattern 0.822 2/2|");

	/* filters */
	{
		struct report_query q = { .verdict = "pass" };

		s = dump(ix, &q);
		assert_string_equal(s, "20261121082813 logs pass [hv64 lhv] stage 2 (fatal): fail pattern 0.822 2/2|");
		free(s);
		q.verdict = "unknown";
		s = dump(ix, &q);
		assert_int_equal(strlen(s) > 0, 1);
		assert_null(strstr(s, "logs"));
		free(s);
		q.verdict = NULL;
		q.variant = "fatal";
		s = dump(ix, &q);
		assert_contains(s, "20261121082812 ");
		assert_null(strstr(s, "20261121082813"));
		free(s);
		q.variant = "hv64";
		q.lab = "logs";
		q.limit = 1;
		s = dump(ix, &q);
		/* both started at the same time: the later name first */
		assert_string_equal(strchr(s, '|') + 1, "");
		assert_contains(s, "20261121082813 ");
		free(s);
		q.limit = 0;
		q.lab = "nosuch";
		s = dump(ix, &q);
		assert_string_equal(s, "");
		free(s);
	}

	/* unchanged files: nothing to do; a change, a removal, an addition */
	assert_int_equal(report_index_update(ix, false, &st), 0);
	assert_int_equal(st.unchanged, 4);
	assert_int_equal(st.added + st.updated + st.removed, 0);
	add_result("20261121082815", "lhv", "infra");	/* repaired */
	s = xasprintf("%s/20261121082814", tmpdir);
	unlink(s);
	free(s);
	add_result("20261121082816", "lhv", "pass");
	assert_int_equal(report_index_update(ix, false, &st), 0);
	assert_int_equal(st.added, 1);
	assert_int_equal(st.updated, 1);
	assert_int_equal(st.removed, 1);
	free(inc);
	inc = dump(ix, &all);
	assert_contains(inc, "20261121082815 logs infra [hv64 lhv]");
	assert_null(strstr(inc, "20261121082814"));
	report_index_close(ix);

	/* a rebuild gives the same rows */
	assert_int_equal(report_index_open(tmpdir, &ix), 0);
	assert_int_equal(report_index_update(ix, true, &st), 0);
	assert_int_equal(st.added, 4);
	re = dump(ix, &all);
	assert_string_equal(re, inc);
	free(re);
	report_index_close(ix);

	/* the run's hook */
	add_result("20261121082817", "fatal", "fail");
	s = xasprintf("%s/20261121082817.json", tmpdir);
	assert_int_equal(report_index_add(tmpdir, s), 0);
	free(s);
	s = xasprintf("%s/20261121089999.json", tmpdir);
	assert_int_equal(report_index_add(tmpdir, s), -LAB_ENOENT);
	free(s);
	assert_int_equal(report_index_open(tmpdir, &ix), 0);
	assert_int_equal(report_index_update(ix, false, &st), 0);
	assert_int_equal(st.added, 0);	/* already there */
	assert_int_equal(st.unchanged, 5);
	report_index_close(ix);

	/* a damaged index file is rebuilt, not fatal */
	write_file(tmpdir, ".index.sqlite", "this is not a database, it is a cache gone bad......................................................................................................", 130);
	assert_int_equal(report_index_open(tmpdir, &ix), 0);
	assert_int_equal(report_index_update(ix, false, &st), 0);
	assert_int_equal(st.added, 5);
	report_index_close(ix);

	/* no results directory: an empty list, and no directory made */
	s = xasprintf("%s/none", tmpdir);
	assert_int_equal(report_index_open(s, &ix), 0);
	assert_int_equal(report_index_update(ix, false, &st), 0);
	free(re = dump(ix, &all));
	assert_int_equal(stat(s, &sb), -1);
	report_index_close(ix);
	free(s);
	free(inc);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_names, setup_dir, teardown_dir),
		cmocka_unit_test(test_sidecar),
		cmocka_unit_test(test_load_full),
		cmocka_unit_test(test_guest_tests),
		cmocka_unit_test(test_load_damaged),
		cmocka_unit_test_setup_teardown(test_load_files, setup_dir, teardown_dir),
		cmocka_unit_test(test_strip_and_lines),
		cmocka_unit_test(test_stage_range_json),
		cmocka_unit_test(test_result_write),
		cmocka_unit_test(test_matcher),
		cmocka_unit_test(test_grep_output),
		cmocka_unit_test(test_myers),
		cmocka_unit_test(test_diff_results),
		cmocka_unit_test_setup_teardown(test_index, setup_dir, teardown_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
