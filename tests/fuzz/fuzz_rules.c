// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the rule-file parser (labctl/rules.c).
 *
 * Bytes go to rules_parse() with only built-in sets includable (no file
 * system).  A rejected file must fail with a configuration error whose
 * message starts "fuzz.rules:LINE: " and is printable ASCII.  An accepted
 * set must hold patterns that compile as the watch compiles them (an iter
 * pattern with a group), must pick the same lines of the input as glibc's
 * regexec where glibc takes the pattern too (the ERE meaning is kept on
 * PCRE2), must format to text that parses back to the same set, and must
 * build a watch that takes the input's own lines.  Any broken rule aborts,
 * which libFuzzer reports as a crash.
 */
#include <ctype.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labctl/pattern.h"
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

/*
 * The same lines as regexec picks, for the input's first lines, cut short:
 * regexec's own cost on long lines is what PCRE2 replaced.
 */
static void same_lines(struct pattern_re *p, const char *re, bool icase,
		       const uint8_t *data, size_t size)
{
	const uint8_t *q = data, *end = data + size, *nl;
	char line[65];
	regex_t rx;
	int lines = 0;

	if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0)))
		return;		/* PCRE2 takes more than glibc, e.g. [[:word:]] */
	while (q < end && lines++ < 4) {
		size_t n, k;
		int got, want;

		nl = memchr(q, '\n', (size_t)(end - q));
		n = nl ? (size_t)(nl - q) : (size_t)(end - q);
		if (n > 64)
			n = 64;
		memcpy(line, q, n);
		line[n] = '\0';
		for (k = 0; k < n; k++)	/* as the watch feeds lines */
			if (!line[k] || line[k] == '\r')
				line[k] = ' ';
		got = pattern_match(p, line, NULL, 0);	/* -1: gave up */
		want = regexec(&rx, line, 0, NULL, 0) == 0;
		if (got >= 0 && got != want) {
			fprintf(stderr, "/%s/%s on '%s': pattern %d, regexec %d\n",
				re, icase ? "i" : "", line, got, want);
			abort();
		}
		q = nl ? nl + 1 : end;
	}
	regfree(&rx);
}

static void check_set(const struct rule_set *set, const uint8_t *data,
		      size_t size)
{
	int i;

	CHECK(set->iter_min >= -1 && set->iter_min <= 1000000);
	CHECK(set->cpus >= 0 && set->cpus <= 255);
	CHECK(set->atoms >= 0 && set->atoms <= 20000);
	for (i = 0; i < set->n; i++) {
		const struct rule *r = &set->rules[i];
		char *re = expand(r->re), err[256];
		struct pattern_re *p;

		CHECK(*r->re && !strchr(r->re, '\n'));
		CHECK(r->kind == RULE_BANNER || !strstr(r->re, "${variant}"));
		CHECK(!r->reason || (r->kind == RULE_FAIL || r->kind == RULE_END));
		CHECK(!r->reason || (*r->reason && !isspace((unsigned char)*r->reason)));
		p = pattern_new(re, r->icase ? PATTERN_ICASE : 0, err, sizeof(err));
		CHECK(p);
		CHECK(r->kind != RULE_ITER || pattern_groups(p) >= 1);
		same_lines(p, re, r->icase, data, size);
		pattern_free(p);
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
				/* silence counts once a stage began: this ends
				 * a watch whose banner never came */
				.stage_timeout_ms = 15,
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
	check_set(set, data, size);
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
