// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the rule-file parser (labctl/rules.c).
 *
 * Bytes go to rules_parse() with only built-in sets includable (no file
 * system).  A rejected file must fail with a configuration error whose
 * message starts "fuzz.rules:LINE: " and is printable ASCII.  An accepted
 * set must hold patterns that compile as the watch compiles them (an iter
 * pattern with a group), must format to text that parses back to the same
 * set, and must build a watch that takes the input's own lines.  Any broken
 * rule aborts, which libFuzzer reports as a crash.
 */
#include <ctype.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labctl/rules.h"
#include "labctl/watch.h"
#include "lib/err.h"
#include "lib/strbuf.h"

#define FUZZ_PATH "fuzz.rules"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "fuzz_rules: %s:%d: check failed: %s\n", \
				__FILE__, __LINE__, #cond);                \
			abort();                                           \
		}                                                          \
	} while (0)

static void check_error(int ret)
{
	const char *msg = lab_errmsg(ret), *p;

	CHECK(ret == -LAB_ECONFIG);
	CHECK(!strncmp(msg, FUZZ_PATH ":", strlen(FUZZ_PATH ":")));
	p = msg + strlen(FUZZ_PATH ":");
	CHECK(isdigit((unsigned char)*p));
	while (isdigit((unsigned char)*p))
		p++;
	CHECK(!strncmp(p, ": ", 2) && p[2]);
	for (p = msg; *p; p++)
		CHECK(*p >= 0x20 && *p < 0x7f);
}

/* A banner as run.c makes it: ${variant} replaced by a variant name. */
static char *expand(const char *re)
{
	struct strbuf sb = STRBUF_INIT;
	const char *v;

	while ((v = strstr(re, "${variant}"))) {
		strbuf_add(&sb, re, (size_t)(v - re));
		strbuf_addstr(&sb, "build64");
		re = v + strlen("${variant}");
	}
	strbuf_addstr(&sb, re);
	return strbuf_detach(&sb, NULL);
}

static void check_set(const struct rule_set *set)
{
	int i;

	CHECK(set->iter_min >= -1 && set->iter_min <= 1000000);
	CHECK(set->cpus >= 0 && set->cpus <= 255);
	CHECK(set->atoms >= 0 && set->atoms <= 20000);
	for (i = 0; i < set->n; i++) {
		const struct rule *r = &set->rules[i];
		char *re = expand(r->re);
		regex_t rx;

		CHECK(*r->re && !strchr(r->re, '\n'));
		CHECK(r->kind == RULE_BANNER || !strstr(r->re, "${variant}"));
		CHECK(!r->reason || (r->kind == RULE_FAIL || r->kind == RULE_END));
		CHECK(!r->reason || (*r->reason && !isspace((unsigned char)*r->reason)));
		CHECK(regcomp(&rx, re, REG_EXTENDED | (r->icase ? REG_ICASE : 0)) == 0);
		CHECK(r->kind != RULE_ITER || rx.re_nsub >= 1);
		regfree(&rx);
		free(re);
	}
}

/* The watch takes the set as the run's or the stage's, and some lines. */
static void run_watch(const struct rule_set *set, const uint8_t *data,
		      size_t size)
{
	const char *banner = rules_banner(set);
	char *b = expand(banner ? banner : "^stage$");
	bool as_run = size & 1;
	struct watch_stage_def def = { "build64", b, as_run ? NULL : set };
	struct watch_opts o = { .cpus = set->cpus ? set->cpus : 2,
				.iter_min = set->iter_min >= 0 ? set->iter_min : 1,
				.silence_timeout_ms = 10,
				.rules = as_run ? set : NULL };
	struct watch *w = watch_new(&def, 1, &o);
	const uint8_t *p = data, *end = data + size, *nl;
	int64_t t = 0;
	int lines = 0;

	CHECK(w);
	watch_line(w, b, strlen(b), t, 0);	/* may or may not start it */
	while (p < end && lines++ < 16) {
		size_t n;

		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		watch_line(w, (const char *)p, n > 512 ? 512 : n, t += 1000, 0);
		watch_partial(w, (const char *)p, n > 512 ? 512 : n, t);
		p = nl ? nl + 1 : end;
	}
	watch_tick(w, t + 20 * 1000000LL);
	CHECK(watch_verdict(w) != VERDICT_PENDING);
	CHECK(strlen(watch_reason(w)) > 0);
	watch_free(w);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rule_set *set = rules_new(), *again = NULL;
	char *text = NULL, *text2 = NULL;
	int ret;

	lab_err_clear();
	ret = rules_parse(set, FUZZ_PATH, (const char *)data, size, RULES_NO_FILES);
	if (ret) {
		check_error(ret);
		goto out;
	}
	check_set(set);
	text = rules_format(set);
	again = rules_new();
	ret = rules_parse(again, FUZZ_PATH, text, strlen(text), RULES_NO_FILES);
	if (ret) {
		fprintf(stderr, "formatted set does not parse: %s\n--- text:\n%s",
			lab_errmsg(ret), text);
		abort();
	}
	text2 = rules_format(again);
	CHECK(!strcmp(text, text2));
	CHECK(again->n == set->n);
	run_watch(set, data, size);
out:
	free(text);
	free(text2);
	rules_free(again);
	rules_free(set);
	return 0;
}
