// SPDX-License-Identifier: MIT
/*
 * Console patterns on PCRE2 (pattern.h).
 *
 * Why PCRE2: glibc's regexec has no bound on its work (20 patterns like
 * /(.{0,31}){0,31}QN/ cost 14 s on one 4 KiB line), and the linear-time
 * engines packaged in Debian do not fit: RE2 is C++ only, Hyperscan is
 * x86 only and reports no groups (iter rules need group 1), and TRE's time
 * per byte grows with the square of the expanded pattern.  PCRE2 is in
 * every Debian release, has a JIT, and enforces a match limit, a depth
 * limit and a heap limit, the match limit in JIT code too.  That limit
 * counts per starting position, so a pattern runs anchored behind
 * (?s:.*?): one attempt walks the whole line and the limit bounds the work
 * for the whole line.  (PCRE2's own DFA matcher has no such bound: it
 * took 2.7 s on a 4 KiB line with the pattern above.)
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "labctl/pattern.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"

/* Before the pattern: anchored, it walks the line once (see the top). */
#define LINE_WALK "(?s:.*?)\\K(?:"

#define JIT_STACK_MIN (32 * 1024)
#define JIT_STACK_MAX (512 * 1024)
#define MAX_GROUP_NESTING 64

struct pattern_re {
	pcre2_code *code;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	pcre2_jit_stack *jit_stack;
	bool jit;
	int groups;
	unsigned long gave_up;
};

static bool fail(char *err, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool fail(char *err, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
	return false;
}

/* A bound {n}, {n,}, {n,m} or {,m} at p: its length, or 0 when p is a '{'. */
static size_t bound_len(const char *p)
{
	const char *q = p + 1;

	while (isdigit((unsigned char)*q))
		q++;
	if (*q == ',') {
		q++;
		while (isdigit((unsigned char)*q))
			q++;
	}
	if (*q != '}' || q == p + 1 || (q == p + 2 && p[1] == ','))
		return 0;
	return (size_t)(q - p + 1);
}

/* The POSIX classes; PCRE2 also knows [:word:] and [:ascii:], an ERE not. */
static bool posix_class(const char *name, size_t n)
{
	static const char *const names[] = {
		"alnum", "alpha", "blank", "cntrl", "digit", "graph", "lower",
		"print", "punct", "space", "upper", "xdigit",
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && !strncmp(name, names[i], n))
			return true;
	return false;
}

/* A bracket expression at *pp ('['), copied with its backslashes literal. */
static bool translate_bracket(const char **pp, struct strbuf *out, char *err,
			      size_t size)
{
	const char *p = *pp + 1;

	strbuf_addch(out, '[');
	if (*p == '^')
		strbuf_addch(out, *p++);
	if (*p == ']') {
		strbuf_addstr(out, "\\]");
		p++;
	}
	for (; *p && *p != ']'; p++) {
		if (*p == '[' && (p[1] == '.' || p[1] == '='))
			return fail(err, size, "collating elements ([.x.], [=x=]) are not supported");
		if (*p == '[' && p[1] == ':') {
			const char *end = strstr(p + 2, ":]");

			if (!end)
				return fail(err, size, "'[:' without ':]' in a bracket expression");
			if (!posix_class(p + 2, (size_t)(end - p - 2)))
				return fail(err, size, "unknown class [:%.*s:] (POSIX: alnum, alpha, blank, cntrl, digit, graph, lower, print, punct, space, upper, xdigit)",
					    (int)(end - p - 2 > 20 ? 20 : end - p - 2), p + 2);
			strbuf_add(out, p, (size_t)(end + 2 - p));
			p = end + 1;
			continue;
		}
		if (*p == '\\' || *p == '[')
			strbuf_addch(out, '\\');
		strbuf_addch(out, *p);
	}
	if (!*p)
		return fail(err, size, "'[' without its ']'");
	strbuf_addch(out, ']');
	*pp = p;
	return true;
}

/* An escape outside brackets at *pp ('\'). */
static bool translate_escape(const char **pp, struct strbuf *out, char *err,
			     size_t size)
{
	const char *p = *pp;
	unsigned char c = (unsigned char)p[1];

	if (!c)
		return fail(err, size, "trailing backslash");
	if (c >= '1' && c <= '9')
		return fail(err, size, "back-references (\\%c) are not supported", c);
	if (strchr("<>`'", c))
		return fail(err, size, "GNU's \\%c is not supported (\\b is a word boundary)", c);
	if (c == 'd' || c == 'D')
		return fail(err, size, "\\%c is not an ERE escape: write %s", c,
			    c == 'd' ? "[0-9]" : "[^0-9]");
	if (isalnum(c) && !strchr("wWsSbB", c))
		return fail(err, size, "\\%c is not an ERE escape (known: \\w \\W \\s \\S \\b \\B, and \\ before a punctuation character)",
			    c);
	strbuf_add(out, p, 2);
	*pp = p + 1;
	return true;
}

/*
 * The ERE re as a PCRE2 pattern with the same meaning, or false with why
 * in err.  *alternatives: it has a | outside any group.
 */
static bool translate(const char *re, struct strbuf *out, bool *alternatives,
		      char *err, size_t size)
{
	const char *p;
	int depth = 0;
	bool repeatable = false, repeated = false;

	*alternatives = false;
	for (p = re; *p; p++) {
		size_t n;
		bool is_repeat = false;

		switch (*p) {
		case '\\':
			if (!translate_escape(&p, out, err, size))
				return false;
			repeatable = !strchr("bB", p[0]);
			break;
		case '[':
			if (!translate_bracket(&p, out, err, size))
				return false;
			repeatable = true;
			break;
		case '(':
			if (p[1] == '?' || p[1] == '*')
				return fail(err, size, "'(%c' is not an ERE group (groups are plain (...))",
					    p[1]);
			if (++depth > MAX_GROUP_NESTING)
				return fail(err, size, "groups nested more than %d deep",
					    MAX_GROUP_NESTING);
			strbuf_addch(out, '(');
			repeatable = false;
			break;
		case ')':
			if (!depth)
				return fail(err, size, "')' without its '('");
			depth--;
			strbuf_addch(out, ')');
			repeatable = true;
			break;
		case '|':
			*alternatives |= !depth;
			strbuf_addch(out, *p);
			repeatable = false;
			break;
		case '^':
		case '$':
			strbuf_addch(out, *p);
			repeatable = false;
			break;
		case '*':
		case '+':
		case '?':
		case '{':
			n = *p == '{' ? bound_len(p) : 1;
			if (!n)
				return fail(err, size, "'{' that does not start a bound ({n}, {n,}, {n,m}): write \\{");
			if (repeated)
				return fail(err, size, "a repeat right after a repeat ('%.*s'): put the first in a group, (x+)*",
					    (int)n, p);
			if (!repeatable)
				return fail(err, size, "'%.*s' repeats nothing", (int)n, p);
			if (p[0] == '{' && p[1] == ',') {
				strbuf_addstr(out, "{0");
				strbuf_add(out, p + 1, n - 1);
			} else {
				strbuf_add(out, p, n);
			}
			p += n - 1;
			is_repeat = true;
			break;
		default:
			strbuf_addch(out, *p);
			repeatable = true;
			break;
		}
		repeated = is_repeat;
	}
	if (depth)
		return fail(err, size, "'(' without its ')'");
	return true;
}

/*
 * A leading .* (or ^.*) outside any group finds the same lines without
 * it, and with it every place the .*? tries costs a walk to the end of
 * the line: /.*error/ would give up on a long line.
 */
static void drop_leading_dotstar(struct strbuf *pcre, bool alternatives)
{
	static const char *const heads[] = { "^.*", ".*" };
	const char *s = strbuf_str(pcre);
	size_t start = strlen(LINE_WALK), n;
	int i;

	if (alternatives)
		return;
	for (i = 0; i < 2; i++) {
		n = strlen(heads[i]);
		if (strncmp(s + start, heads[i], n) || strchr("*+?{", s[start + n]))
			continue;
		memmove(pcre->buf + start, pcre->buf + start + n,
			pcre->len - start - n + 1);
		pcre->len -= n;
		return;
	}
}

struct pattern_re *pattern_new(const char *re, unsigned flags, char *err,
			       size_t errsize)
{
	bool alternatives;
	struct strbuf pcre = STRBUF_INIT;
	struct pattern_re *p;
	uint32_t opts = PCRE2_ANCHORED | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_UTF |
			PCRE2_NEVER_UCP | PCRE2_NEVER_BACKSLASH_C;
	pcre2_compile_context *cctx;
	PCRE2_SIZE erroff;
	uint32_t groups = 0;
	int rc;

	/* Lazy .*? first, anchored: the limits count for the whole line. */
	strbuf_addstr(&pcre, LINE_WALK);
	if (!translate(re, &pcre, &alternatives, err, errsize)) {
		strbuf_release(&pcre);
		return NULL;
	}
	strbuf_addch(&pcre, ')');
	drop_leading_dotstar(&pcre, alternatives);
	if (flags & PATTERN_ICASE)
		opts |= PCRE2_CASELESS;
	p = xzalloc(sizeof(*p));
	cctx = pcre2_compile_context_create(NULL);
	if (cctx)
		pcre2_set_parens_nest_limit(cctx, MAX_GROUP_NESTING + 2);
	p->code = pcre2_compile((PCRE2_SPTR)strbuf_str(&pcre), pcre.len, opts,
				&rc, &erroff, cctx);
	pcre2_compile_context_free(cctx);
	strbuf_release(&pcre);
	if (!p->code) {
		PCRE2_UCHAR msg[256];

		if (pcre2_get_error_message(rc, msg, sizeof(msg)) < 0)
			snprintf((char *)msg, sizeof(msg), "error %d", rc);
		snprintf(err, errsize, "%s", (const char *)msg);
		free(p);
		return NULL;
	}
	pcre2_pattern_info(p->code, PCRE2_INFO_CAPTURECOUNT, &groups);
	p->groups = (int)groups;
	p->md = pcre2_match_data_create_from_pattern(p->code, NULL);
	p->mctx = pcre2_match_context_create(NULL);
	if (!p->md || !p->mctx) {
		snprintf(err, errsize, "out of memory");
		pattern_free(p);
		return NULL;
	}
	pcre2_set_match_limit(p->mctx, PATTERN_MATCH_LIMIT);
	pcre2_set_depth_limit(p->mctx, PATTERN_DEPTH_LIMIT);
	pcre2_set_heap_limit(p->mctx, PATTERN_HEAP_LIMIT_KIB);
	/* JIT where PCRE2 has it; the match limit holds for JIT code too. */
	if (pcre2_jit_compile(p->code, PCRE2_JIT_COMPLETE) == 0) {
		p->jit_stack = pcre2_jit_stack_create(JIT_STACK_MIN, JIT_STACK_MAX,
						      NULL);
		if (p->jit_stack) {
			pcre2_jit_stack_assign(p->mctx, NULL, p->jit_stack);
			p->jit = true;
		}
	}
	return p;
}

void pattern_free(struct pattern_re *p)
{
	if (!p)
		return;
	pcre2_jit_stack_free(p->jit_stack);
	pcre2_match_context_free(p->mctx);
	pcre2_match_data_free(p->md);
	pcre2_code_free(p->code);
	free(p);
}

int pattern_groups(const struct pattern_re *p)
{
	return p->groups;
}

bool pattern_jit(const struct pattern_re *p)
{
	return p->jit;
}

unsigned long pattern_gave_up(const struct pattern_re *p)
{
	return p->gave_up;
}

int pattern_match(struct pattern_re *p, const char *s, regmatch_t *m, size_t nm)
{
	PCRE2_SIZE *ov;
	uint32_t pairs;
	size_t i;
	int rc;

	rc = pcre2_match(p->code, (PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED, 0,
			 p->jit ? 0 : PCRE2_NO_JIT, p->md, p->mctx);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc < 0) {	/* a limit, the JIT stack, memory: gave up */
		p->gave_up++;
		return -1;
	}
	ov = pcre2_get_ovector_pointer(p->md);
	pairs = pcre2_get_ovector_count(p->md);
	for (i = 0; i < nm; i++) {
		if (i < (size_t)rc && i < pairs && ov[2 * i] != PCRE2_UNSET) {
			m[i].rm_so = (regoff_t)ov[2 * i];
			m[i].rm_eo = (regoff_t)ov[2 * i + 1];
		} else {
			m[i].rm_so = m[i].rm_eo = -1;
		}
	}
	return 1;
}
