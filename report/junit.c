// SPDX-License-Identifier: MIT
/* JUnit XML; see junit.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libxml/xmlwriter.h>

#include "lib/err.h"
#include "lib/strbuf.h"
#include "report/common.h"
#include "report/junit.h"
#include "report/result.h"

#define X(s) ((const xmlChar *)(s))

/*
 * Writes go to a libxml2 text writer, which escapes.  Text first goes
 * through report_xml_chars: XML has no way to carry control bytes or
 * bytes that are not UTF-8, so those become characters it can carry.
 * Errors are the writer's return values, kept in the first negative.
 */
struct junit {
	xmlTextWriterPtr w;
	struct strbuf text;
	int err;
};

static void check(struct junit *j, int rc)
{
	if (rc < 0 && !j->err)
		j->err = rc;
}

static const xmlChar *xml_text(struct junit *j, const char *s, size_t n)
{
	strbuf_reset(&j->text);
	report_xml_chars(&j->text, s, n);
	return (const xmlChar *)strbuf_str(&j->text);
}

static void start(struct junit *j, const char *element)
{
	check(j, xmlTextWriterStartElement(j->w, X(element)));
}

static void end(struct junit *j)
{
	check(j, xmlTextWriterEndElement(j->w));
}

static void attr(struct junit *j, const char *name, const char *value)
{
	value = value ? value : "";
	check(j, xmlTextWriterWriteAttribute(j->w, X(name),
					     xml_text(j, value, strlen(value))));
}

static void attr_int(struct junit *j, const char *name, int value)
{
	check(j, xmlTextWriterWriteFormatAttribute(j->w, X(name), "%d", value));
}

static void attr_time(struct junit *j, const char *name, double seconds)
{
	check(j, xmlTextWriterWriteFormatAttribute(j->w, X(name), "%.3f",
						   seconds > 0 ? seconds : 0));
}

static void property(struct junit *j, const char *name, const char *value)
{
	if (!value)
		return;
	start(j, "property");
	attr(j, "name", name);
	attr(j, "value", value);
	end(j);
}

/* xs:dateTime without the zone and fraction, as JUnit readers expect. */
static void timestamp_attr(struct junit *j, const char *iso)
{
	char buf[20];

	if (!iso || strlen(iso) < 19 || iso[4] != '-' || iso[10] != 'T')
		return;
	memcpy(buf, iso, 19);
	buf[19] = '\0';
	attr(j, "timestamp", buf);
}

static void failure(struct junit *j, const struct result *r,
		    enum report_outcome o, report_text_filter filter)
{
	struct strbuf body = STRBUF_INIT;

	start(j, o == REPORT_FAIL ? "failure" : "error");
	attr(j, "message", r->reason && *r->reason ? r->reason :
	     report_verdict_is(r, "unknown") || !r->verdict ?
	     "no verdict recorded (the run ended before it wrote its .json)" :
	     r->verdict);
	attr(j, "type", o == REPORT_FAIL ? "fail" :
	     r->verdict ? r->verdict : "unknown");
	if (r->reason && *r->reason)
		strbuf_addf(&body, "%s\n", r->reason);
	if (r->log_path)
		strbuf_addf(&body, "%s%s:\n", r->log_path,
			    r->reason_line_no > 0 ? "" : " (its last lines)");
	report_context(&body, r, 3, filter);
	check(j, xmlTextWriterWriteString(j->w, xml_text(j, body.buf ? body.buf : "",
							  body.len)));
	end(j);
	strbuf_release(&body);
}

static void testcase(struct junit *j, const struct result *r,
		     const char *classname, const char *name, double time,
		     enum report_outcome o, report_text_filter filter)
{
	start(j, "testcase");
	attr(j, "name", name);
	attr(j, "classname", classname);
	attr_time(j, "time", time);
	if (o == REPORT_NOT_REACHED) {
		char msg[96];

		snprintf(msg, sizeof(msg), "not reached: the run ended in stage %d",
			 report_deciding_stage(r) + 1);
		start(j, "skipped");
		attr(j, "message", msg);
		end(j);
	} else if (o != REPORT_PASS) {
		failure(j, r, o, filter);
	}
	end(j);
}

/* A name part for a classname: Jenkins reads "." as a package level. */
static void add_class_part(struct strbuf *out, const char *s)
{
	for (; *s; s++)
		strbuf_addch(out, *s == '.' || (unsigned char)*s <= ' ' ? '_' : *s);
}

/*
 * "labctl.<lab>.<variant>-<variant>-...": the same for every run of
 * the same chain on the same lab, so a CI server tracks each stage's
 * history across runs (never the result's timestamp).
 */
static void classname(struct strbuf *cls, const struct result *r)
{
	int i;

	strbuf_addstr(cls, "labctl.");
	add_class_part(cls, r->lab ? r->lab : "unknown");
	for (i = 0; i < r->nstages; i++) {
		strbuf_addch(cls, i ? '-' : '.');
		add_class_part(cls, r->stages[i].variant ? r->stages[i].variant :
			       "unknown");
	}
}

/* The suite: one run, named by its lab and result. */
static void suite_name(struct strbuf *name, const struct result *r)
{
	strbuf_addf(name, "%s.%s", r->lab ? r->lab : "labctl",
		    r->name ? r->name : "result");
}

/*
 * The board's host: as the run recorded it; for a result from before
 * runs recorded it, this machine for a virtual board, else nothing.
 */
static const char *host_of(const struct result *r, char *buf, size_t size)
{
	if (r->host)
		return r->host;
	if (r->board && (!strcmp(r->board, "qemu") || !strcmp(r->board, "bochs")) &&
	    size > 1 && gethostname(buf, size - 1) == 0) {
		buf[size - 1] = '\0';
		return buf;
	}
	return NULL;
}

static enum report_outcome test_outcome(const struct result_test *t)
{
	return t->verdict && !strcmp(t->verdict, "pass") ? REPORT_PASS :
	       t->verdict && !strcmp(t->verdict, "fail") ? REPORT_FAIL :
	       REPORT_ERROR;
}

/* The outcome of a run without stages, which is one test. */
static enum report_outcome run_outcome(const struct result *r)
{
	return report_verdict_is(r, "pass") ? REPORT_PASS :
	       report_verdict_is(r, "fail") ? REPORT_FAIL : REPORT_ERROR;
}

struct counts {
	int tests, failures, errors, skipped;
};

static void count(const struct result *r, struct counts *c)
{
	enum report_outcome o;
	int i;

	for (i = 0; i < r->nstages || (!i && !r->nstages); i++) {
		o = r->nstages ? report_stage_outcome(r, i) : run_outcome(r);
		c->tests++;
		c->failures += o == REPORT_FAIL;
		c->errors += o == REPORT_ERROR;
		c->skipped += o == REPORT_NOT_REACHED;
	}
	for (i = 0; i < r->ntests; i++) {
		o = test_outcome(&r->tests[i]);
		c->tests++;
		c->failures += o == REPORT_FAIL;
		c->errors += o == REPORT_ERROR;
	}
}

/*
 * A test inside the board: a testcase of its own (classname
 * "<chain's>.test"), its output as system-out, a failure with the
 * reason, or an error when it could not run.
 */
static void guest_testcase(struct junit *j, const char *cls,
			   const struct result_test *t)
{
	enum report_outcome o = test_outcome(t);
	struct strbuf name = STRBUF_INIT, body = STRBUF_INIT;
	const char *out = t->output ? t->output : "";

	strbuf_addf(&name, "%s.test", cls);
	start(j, "testcase");
	attr(j, "name", t->name ? t->name : "test");
	attr(j, "classname", name.buf);
	attr_time(j, "time", t->duration);
	if (o != REPORT_PASS) {
		start(j, o == REPORT_FAIL ? "failure" : "error");
		attr(j, "message", t->reason && *t->reason ? t->reason :
		     t->verdict ? t->verdict : "unknown");
		attr(j, "type", t->verdict ? t->verdict : "unknown");
		strbuf_addf(&body, "$ %s\n", t->command ? t->command : "");
		if (t->reason && *t->reason)
			strbuf_addf(&body, "%s\n", t->reason);
		check(j, xmlTextWriterWriteString(j->w, xml_text(j, body.buf ? body.buf : "",
								  body.len)));
		end(j);
	}
	start(j, "system-out");
	check(j, xmlTextWriterWriteString(j->w, xml_text(j, out, strlen(out))));
	end(j);
	end(j);
	strbuf_release(&name);
	strbuf_release(&body);
}

static void counts_attrs(struct junit *j, const struct counts *c, double time)
{
	attr_int(j, "tests", c->tests);
	attr_int(j, "failures", c->failures);
	attr_int(j, "errors", c->errors);
	attr_int(j, "skipped", c->skipped);
	attr_time(j, "time", time);
}

static void suite(struct junit *j, const struct result *r,
		  report_text_filter filter)
{
	struct strbuf cls = STRBUF_INIT, name = STRBUF_INIT;
	struct counts c = { 0 };
	char hostbuf[256];
	const char *host;
	int i;

	count(r, &c);
	suite_name(&name, r);
	classname(&cls, r);
	start(j, "testsuite");
	attr(j, "name", name.buf);
	counts_attrs(j, &c, r->duration);
	timestamp_attr(j, r->started);
	host = host_of(r, hostbuf, sizeof(hostbuf));
	if (host)	/* where the machine under test is */
		attr(j, "hostname", host);
	start(j, "properties");
	property(j, "result", r->name);
	property(j, "log", r->log_path);
	property(j, "lab", r->lab);
	property(j, "lab_file", r->lab_file);
	property(j, "board", r->board);
	property(j, "host", r->host);
	property(j, "started", r->started);
	property(j, "verdict", r->verdict);
	property(j, "reason", r->reason);
	end(j);
	for (i = 0; i < r->nstages; i++) {
		const struct result_stage *st = &r->stages[i];
		double time = st->reached && st->end >= st->start ?
			st->end - st->start : 0;

		strbuf_reset(&name);
		strbuf_addf(&name, "stage %d %s (%s)", st->stage,
			    st->variant ? st->variant : "?",
			    st->entry ? st->entry : "?");
		testcase(j, r, cls.buf, name.buf, time,
			 report_stage_outcome(r, i), filter);
	}
	if (!r->nstages)
		testcase(j, r, cls.buf, "run", r->duration, run_outcome(r),
			 filter);
	for (i = 0; i < r->ntests; i++)
		guest_testcase(j, cls.buf, &r->tests[i]);
	end(j);
	strbuf_release(&cls);
	strbuf_release(&name);
}

int report_junit(FILE *out, struct result *const *r, int n,
		 report_text_filter filter)
{
	struct junit j = { .text = STRBUF_INIT };
	xmlBufferPtr buf = xmlBufferCreate();
	struct counts c = { 0 };
	double time = 0;
	size_t len;
	int i, ret = 0;

	j.w = buf ? xmlNewTextWriterMemory(buf, 0) : NULL;
	if (!j.w) {
		xmlBufferFree(buf);
		return lab_err(LAB_EIO, "cannot start the JUnit report");
	}
	for (i = 0; i < n; i++) {
		count(r[i], &c);
		time += r[i]->duration > 0 ? r[i]->duration : 0;
	}
	check(&j, xmlTextWriterSetIndent(j.w, 1));
	check(&j, xmlTextWriterSetIndentString(j.w, X("  ")));
	check(&j, xmlTextWriterStartDocument(j.w, NULL, "UTF-8", NULL));
	start(&j, "testsuites");
	attr(&j, "name", "labctl");
	counts_attrs(&j, &c, time);
	for (i = 0; i < n; i++)
		suite(&j, r[i], filter);
	check(&j, xmlTextWriterEndDocument(j.w));
	xmlFreeTextWriter(j.w);	/* flushes into buf */
	len = (size_t)xmlBufferLength(buf);
	if (j.err)
		ret = lab_err(LAB_EIO, "cannot build the JUnit report");
	else if (fwrite(xmlBufferContent(buf), 1, len, out) != len || fflush(out))
		ret = lab_err_errno(errno ? errno : EIO, "cannot write the JUnit report");
	xmlBufferFree(buf);
	strbuf_release(&j.text);
	return ret;
}
