// SPDX-License-Identifier: MIT
/*
 * Lab file loader.  libinih does the INI syntax; we feed it through our own
 * line reader so that every message can name file:line, and so that
 * section headers (including empty or repeated ones) are seen directly.
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include <regex.h>

#include "labctl/boardops.h"
#include "labctl/labconf.h"
#include "labctl/matrix.h"
#include "labctl/rules.h"
#include "power/power.h"
#include "serial-capture/console.h"
#include "lib/clock.h"
#include "lib/param.h"
#include "lib/err.h"
#include "lib/paths.h"
#include "lib/utf8.h"
#include "lib/xmalloc.h"

#define LAB_MAX_LINE 1024
#define LAB_MAX_ENTRY 128
#define LAB_MAX_FILE (1024 * 1024)

/*
 * libinih hands our reader a line buffer of its compile-time INI_MAX_LINE
 * (200 bytes in Debian's build).  Debian's libinih also exports its settings
 * as variables: where they exist, ask for a heap buffer that fits
 * LAB_MAX_LINE.  Where they do not (weak, so the address is NULL), the limit
 * is the buffer inih gives us, and the message names that real limit.
 */
extern bool ini_use_stack __attribute__((weak));
extern bool ini_allow_realloc __attribute__((weak));
extern int ini_initial_alloc __attribute__((weak));
extern int ini_max_line __attribute__((weak));

/* The plain sections, in the order `show` prints them. */
static const char *const plain_sections[] = {
	"board", "power", "console", "deploy", "grub", "watch", "lock", "build",
	"test", NULL
};
#define NPLAIN (sizeof(plain_sections) / sizeof(plain_sections[0]) - 1)

struct parse_state {
	const char *path;
	const char *text, *end, *pos;
	int line;		/* number of the line last handed to inih */
	struct lab *lab;
	int err;		/* first error (negative LAB_E*), message recorded */
	char section[160];	/* current section, for messages: "board", "variant x" */
	struct lab_variant *variant;	/* current [variant NAME], if any */
	bool named_power;	/* ... which is a [power NAME] */
	bool in_known;		/* current section is a known one */
	int header_line[NPLAIN];	/* line of each plain section's header, or 0 */
};

static int parse_error(struct parse_state *ps, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void resolve_fields(struct lab *lab);

static int parse_error(struct parse_state *ps, int line, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	int n;

	if (ps->err)		/* the first error is the one that is reported */
		return ps->err;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(msg)) {
		/* Cut at a character boundary: messages end up in JSON. */
		size_t len = sizeof(msg) - 4;

		while (len && (msg[len] & 0xc0) == 0x80)
			len--;
		memcpy(msg + len, "...", 4);
	}
	ps->err = lab_err(LAB_ECONFIG, "%s:%d: %s", ps->path, line, msg);
	return ps->err;
}

static bool is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

static struct lab_variant *find_variant(struct lab *lab, const char *name)
{
	int i;

	for (i = 0; i < lab->nvariants; i++)
		if (!strcmp(lab->variants[i].name, name))
			return &lab->variants[i];
	return NULL;
}

/* A variant name becomes a directory name and part of a GRUB entry title. */
static bool valid_variant_name(const char *name)
{
	const char *p;

	if (!isalnum((unsigned char)name[0]))
		return false;
	for (p = name; *p; p++)
		if (!is_name_char(*p))
			return false;
	return true;
}

/* [power NAME]: a named power device, kept like a variant. */
static void see_power_section(struct parse_state *ps, const char *header,
			      const char *arg)
{
	struct lab_variant *pd;
	char extra[8];
	int i;

	if (sscanf(header, " %*s %*s %7s", extra) == 1) {
		parse_error(ps, ps->line, "[%s]: a power device name is one word",
			    header);
		return;
	}
	if (!valid_variant_name(arg)) {
		parse_error(ps, ps->line,
			    "invalid power device name '%s' (start with a letter or digit, then use letters, digits, '_', '-', '.')",
			    arg);
		return;
	}
	for (i = 0; i < ps->lab->npower_devs; i++) {
		if (!strcmp(ps->lab->power_devs[i].name, arg)) {
			parse_error(ps, ps->line,
				    "duplicate section [power %s] (first on line %d)",
				    arg, ps->lab->power_devs[i].line);
			return;
		}
	}
	ps->lab->power_devs = xrealloc(ps->lab->power_devs,
				       (ps->lab->npower_devs + 1) *
				       sizeof(*ps->lab->power_devs));
	pd = &ps->lab->power_devs[ps->lab->npower_devs++];
	memset(pd, 0, sizeof(*pd));
	pd->name = xstrdup(arg);
	pd->line = ps->line;
	ps->variant = pd;
	ps->named_power = true;
	snprintf(ps->section, sizeof(ps->section), "power %s", arg);
	ps->in_known = true;
}

/* A "[...]" line: check it here, where we still know its line number. */
static void see_section(struct parse_state *ps, const char *line)
{
	const char *close = strchr(line, ']'), *rest;
	char name[128], word[128], arg[128];
	size_t len;
	int n, i;

	ps->section[0] = '\0';
	ps->variant = NULL;
	ps->named_power = false;
	ps->in_known = false;
	if (!close) {
		parse_error(ps, ps->line, "section header without ']'");
		return;
	}
	len = (size_t)(close - line - 1);
	if (len >= sizeof(name)) {
		parse_error(ps, ps->line, "section name too long");
		return;
	}
	memcpy(name, line + 1, len);
	name[len] = '\0';
	snprintf(ps->section, sizeof(ps->section), "%s", name);
	for (rest = close + 1; isspace((unsigned char)*rest); rest++)
		;
	if (*rest && *rest != ';' && *rest != '#') {
		parse_error(ps, ps->line,
			    "text after [%s]: put keys on their own lines",
			    name);
		return;
	}

	word[0] = arg[0] = '\0';
	n = sscanf(name, " %127s %127s", word, arg);
	if (n == 2 && !strcmp(word, "power")) {
		see_power_section(ps, name, arg);
		return;
	}
	if (n >= 1 && !strcmp(word, "variant")) {
		char extra[8];

		if (n < 2) {
			parse_error(ps, ps->line,
				    "[variant] needs a name, e.g. [variant build64]");
			return;
		}
		if (sscanf(name, " %*s %*s %7s", extra) == 1) {
			parse_error(ps, ps->line,
				    "[%s]: a variant name is one word", name);
			return;
		}
		if (!valid_variant_name(arg)) {
			parse_error(ps, ps->line,
				    "invalid variant name '%s' (start with a letter or digit, then use letters, digits, '_', '-', '.')",
				    arg);
			return;
		}
		if (find_variant(ps->lab, arg)) {
			parse_error(ps, ps->line,
				    "duplicate section [variant %s] (first on line %d)",
				    arg, find_variant(ps->lab, arg)->line);
			return;
		}
		ps->lab->variants = xrealloc(ps->lab->variants,
					     (ps->lab->nvariants + 1) *
					     sizeof(*ps->lab->variants));
		ps->variant = &ps->lab->variants[ps->lab->nvariants++];
		memset(ps->variant, 0, sizeof(*ps->variant));
		ps->variant->name = xstrdup(arg);
		ps->variant->line = ps->line;
		snprintf(ps->section, sizeof(ps->section), "variant %s", arg);
		ps->in_known = true;
		return;
	}
	for (i = 0; plain_sections[i]; i++)
		if (!strcmp(name, plain_sections[i]))
			break;
	if (!plain_sections[i]) {
		parse_error(ps, ps->line,
			    "unknown section [%s] (known: [board], [power], [console], [deploy], [grub], [watch], [variant NAME])",
			    name);
		return;
	}
	/* A repeated header is an error even when the first one was empty. */
	if (ps->header_line[i]) {
		parse_error(ps, ps->line,
			    "duplicate section [%s] (first on line %d)",
			    name, ps->header_line[i]);
		return;
	}
	ps->header_line[i] = ps->line;
	ps->in_known = true;
}

/* Text checks for one line (without its newline); false after an error. */
static bool check_text(struct parse_state *ps, const char *line, size_t len)
{
	const unsigned char *s = (const unsigned char *)line;
	size_t i = 0, n;

	while (i < len) {
		if (s[i] == '\0')
			return !parse_error(ps, ps->line, "NUL byte in lab file");
		if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
			return !parse_error(ps, ps->line,
					    "control character 0x%02x in column %zu (lab files are plain text)",
					    s[i], i + 1);
		n = lab_utf8_seq_len(s + i, len - i);
		if (!n)
			return !parse_error(ps, ps->line,
					    "invalid UTF-8 (byte 0x%02x in column %zu); save the file as UTF-8",
					    s[i], i + 1);
		i += n;
	}
	return true;
}

/*
 * inih's line source: like fgets over our buffer, counting lines, so that
 * every line inih sees is one line of the file.  A trailing '\r' (CRLF) is
 * dropped here; the text checks and section headers are done here too.
 */
static char *reader(char *str, int num, void *stream)
{
	struct parse_state *ps = stream;
	const char *nl, *p;
	size_t len, limit;

	if (ps->pos >= ps->end)
		return NULL;
	nl = memchr(ps->pos, '\n', (size_t)(ps->end - ps->pos));
	len = nl ? (size_t)(nl - ps->pos) : (size_t)(ps->end - ps->pos);
	ps->line++;
	if (len && ps->pos[len - 1] == '\r')
		len--;
	/* Room for the line, '\n' and '\0'; num is at least 2 in inih. */
	limit = num > 2 ? (size_t)num - 2 : 0;
	if (limit > LAB_MAX_LINE)
		limit = LAB_MAX_LINE;
	if (len > limit) {
		parse_error(ps, ps->line, "line longer than %zu bytes", limit);
		len = 0;
	} else if (!check_text(ps, ps->pos, len)) {
		len = 0;
	}
	memcpy(str, ps->pos, len);
	str[len] = '\n';
	str[len + 1] = '\0';
	ps->pos = nl ? nl + 1 : ps->end;

	for (p = str; *p == ' ' || *p == '\t'; p++)
		;
	if (*p == '[')
		see_section(ps, p);
	else if (p != str && *p != '\n' && *p != ';' && *p != '#')
		/* inih would glue an indented line onto the previous value. */
		parse_error(ps, ps->line,
			    "indented line: continuation lines are not supported, put the value on one line");
	return str;
}

/* The keys a power or console driver declares, or NULL. */
static const struct lab_key_def *driver_keys(const char *section,
					     const char *driver)
{
	int i;

	if (!driver)
		return NULL;
	if (!strcmp(section, "power")) {
		for (i = 0; power_drivers[i]; i++)
			if (!strcmp(power_drivers[i]->name, driver))
				return power_drivers[i]->lab_keys;
	} else if (!strcmp(section, "console")) {
		for (i = 0; console_drivers[i]; i++)
			if (!strcmp(console_drivers[i]->name, driver))
				return console_drivers[i]->lab_keys;
	}
	return NULL;
}

/* The i-th driver of a section's table (its name), or NULL at the end. */
static const char *nth_driver(const char *section, int i,
			      const struct lab_key_def **keys)
{
	if (!strcmp(section, "power") && power_drivers[i]) {
		*keys = power_drivers[i]->lab_keys;
		return power_drivers[i]->name;
	}
	if (!strcmp(section, "console") && console_drivers[i]) {
		*keys = console_drivers[i]->lab_keys;
		return console_drivers[i]->name;
	}
	return NULL;
}

static const struct lab_key_def *find_in(const struct lab_key_def *d,
					 const char *section, const char *key)
{
	for (; d && d->key; d++)
		if (!strcmp(d->section, section) && !strcmp(d->key, key))
			return d;
	return NULL;
}

/* The schema's key, else the first driver's of that section that takes it. */
static const struct lab_key_def *find_def(const char *section, const char *key)
{
	const struct lab_key_def *d = find_in(lab_schema, section, key), *keys;
	int i;

	for (i = 0; !d && nth_driver(section, i, &keys); i++)
		d = find_in(keys, section, key);
	return d;
}

static bool is_driver_key(const struct lab_key_def *d)
{
	return !find_in(lab_schema, d->section, d->key);
}

/* "a|b": the drivers that take a driver key, in their table's order. */
static char *drivers_taking(const struct lab_key_def *d)
{
	struct strbuf sb = STRBUF_INIT;
	const struct lab_key_def *keys;
	const char *name;
	int i;

	for (i = 0; (name = nth_driver(d->section, i, &keys)); i++)
		if (find_in(keys, d->section, d->key))
			strbuf_addf(&sb, "%s%s", sb.len ? "|" : "", name);
	return strbuf_detach(&sb, NULL);
}

static bool in_choices(const char *choices, const char *value)
{
	size_t len = strlen(value);
	const char *p = choices;

	while (p && *p) {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);

		if (n == len && !strncmp(p, value, n))
			return true;
		p = bar ? bar + 1 : NULL;
	}
	return false;
}

static char *choices_list(const char *choices)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p;

	for (p = choices; *p; p++) {
		if (*p == '|')
			strbuf_addstr(&sb, ", ");
		else
			strbuf_addch(&sb, *p);
	}
	return strbuf_detach(&sb, NULL);
}

int lab_parse_bool(const char *s, bool *out)
{
	if (!strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "on") ||
	    !strcmp(s, "1")) {
		*out = true;
		return 0;
	}
	if (!strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "off") ||
	    !strcmp(s, "0")) {
		*out = false;
		return 0;
	}
	return -LAB_EINVAL;
}

/* Decimal or 0x hex; a leading 0 is decimal ("022" is 22, not octal 18). */
int lab_parse_int(const char *s, int64_t *out)
{
	const char *digits = s + (*s == '-' || *s == '+');
	char *end;
	long long v;

	if (!*s || isspace((unsigned char)*s))
		return -LAB_EINVAL;
	errno = 0;
	v = strtoll(s, &end, digits[0] == '0' && (digits[1] == 'x' ||
						   digits[1] == 'X') ? 16 : 10);
	if (errno || *end)
		return -LAB_EINVAL;
	*out = v;
	return 0;
}

int lab_parse_size_mib(const char *s, int64_t *mib)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v <= 0)
		return -LAB_EINVAL;
	if (!*end || !strcmp(end, "M") || !strcmp(end, "MiB"))
		*mib = v;
	else if ((!strcmp(end, "G") || !strcmp(end, "GiB")) && v < (1LL << 40))
		*mib = v * 1024;
	else
		return -LAB_EINVAL;
	return 0;
}

/* Check one value against its definition; returns an error text or NULL. */
static const char *check_value(const struct lab_key_def *d, const char *v,
			       char *msg, size_t size)
{
	int64_t n;
	bool b;

	if (strchr(v, '\n'))
		return "value contains a newline";
	switch (d->type) {
	case KEY_STR:
	case KEY_PATH:
	case KEY_SECRET_FILE:
		if (!*v)
			return "empty value (remove the line to use the default)";
		return NULL;
	case KEY_INT:
		if (lab_parse_int(v, &n) < 0) {
			snprintf(msg, size, "'%s' is not a number", v);
			return msg;
		}
		if ((d->min || d->max) && (n < d->min || n > d->max)) {
			snprintf(msg, size, "%s is out of range (%lld..%lld)", v,
				 (long long)d->min, (long long)d->max);
			return msg;
		}
		return NULL;
	case KEY_BOOL:
		if (lab_parse_bool(v, &b) < 0) {
			snprintf(msg, size,
				 "'%s' is not a boolean (use yes/no, true/false, on/off or 1/0)",
				 v);
			return msg;
		}
		return NULL;
	case KEY_ENUM:
		if (!in_choices(d->choices, v)) {
			char *list = choices_list(d->choices);

			snprintf(msg, size, "'%s' is not one of: %s", v, list);
			free(list);
			return msg;
		}
		return NULL;
	case KEY_DURATION:
		if (lab_parse_duration_ms(v, &n) < 0) {
			snprintf(msg, size,
				 "'%s' is not a duration (e.g. 500ms, 30s, 2m)", v);
			return msg;
		}
		return NULL;
	case KEY_SIZE:
		if (lab_parse_size_mib(v, &n) < 0) {
			snprintf(msg, size, "'%s' is not a size (e.g. 256M, 1G)", v);
			return msg;
		}
		return NULL;
	case KEY_URL: {
		const char *host = !strncmp(v, "http://", 7) ? v + 7 :
				   !strncmp(v, "https://", 8) ? v + 8 : NULL;
		const char *p;

		if (!host) {
			snprintf(msg, size, "'%s' is not an http:// or https:// URL", v);
			return msg;
		}
		if (!*host || strchr("/?#", *host)) {
			snprintf(msg, size, "'%s' has no host name", v);
			return msg;
		}
		for (p = v; *p; p++) {
			if (isspace((unsigned char)*p)) {
				snprintf(msg, size,
					 "'%s' contains a space (write it as %%20)", v);
				return msg;
			}
		}
		/* user:password@ would put a secret in a shared file. */
		p = host + strcspn(host, "/?#");
		while (p > host && p[-1] != '@')
			p--;
		if (p > host && memchr(host, ':', (size_t)(p - host))) {
			snprintf(msg, size,
				 "the URL holds a password; lab files never hold secrets: use password_file = PATH (mode 0600) or the environment");
			return msg;
		}
		return NULL;
	}
	}
	return NULL;
}

/* A name that becomes one file name on the board: no '/', '.' or '..'. */
static const char *check_file_name(const char *v, char *msg, size_t size)
{
	const char *p;

	if (!strcmp(v, ".") || !strcmp(v, "..") || strchr(v, '/')) {
		snprintf(msg, size,
			 "'%s' is not a plain file name (it becomes /etc/grub.d/NAME on the board: no '/', '.' or '..')",
			 v);
		return msg;
	}
	for (p = v; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p)) {
			snprintf(msg, size,
				 "'%s' is not a plain file name (letters, digits, '.', '_', '-')",
				 v);
			return msg;
		}
	}
	return NULL;
}

/* A path labctl writes on the board: absolute, no "." or ".." parts. */
static const char *check_board_path(const char *v, char *msg, size_t size)
{
	const char *p = v;

	if (*v != '/') {
		snprintf(msg, size, "'%s' is not an absolute path (a path on the board)", v);
		return msg;
	}
	while (*p) {
		size_t n;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || (n == 2 && !strncmp(p, "..", 2))) {
			snprintf(msg, size, "'%s' has a '%.*s' part: write the directory itself",
				 v, (int)n, p);
			return msg;
		}
		p += n;
	}
	return NULL;
}

/*
 * What a value means beyond its type: patterns as a rule file checks them,
 * the HTTP driver's regexes, opt_requires, names of files on the board.
 * Checked at load, so `labctl show` refuses what a run would refuse later.
 */
static const char *check_meaning(const struct lab_key_def *d, const char *v,
				 char *msg, size_t size)
{
	static const struct {
		const char *section, *key;
		enum rule_kind kind;
	} patterns[] = {
		{ "watch", "fail", RULE_FAIL },
		{ "watch", "pass", RULE_PASS },
		{ "variant", "banner", RULE_BANNER },
	};
	size_t i;

	for (i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++)
		if (!strcmp(d->section, patterns[i].section) &&
		    !strcmp(d->key, patterns[i].key))
			return rules_pattern_problem(patterns[i].kind, v, msg, size);
	if ((!strcmp(d->section, "power") &&
	     (!strcmp(d->key, "status_on") || !strcmp(d->key, "status_off"))) ||
	    (!strcmp(d->section, "test") && !strncmp(d->key, "expect", 6))) {
		char why[128];
		regex_t rx;
		int rc = regcomp(&rx, v, REG_EXTENDED | REG_NOSUB);

		if (!rc) {
			regfree(&rx);
			return NULL;
		}
		regerror(rc, &rx, why, sizeof(why));
		snprintf(msg, size, "bad regular expression: %s", why);
		return msg;
	}
	if (!strcmp(d->section, "variant") && !strcmp(d->key, "opt_requires")) {
		struct mx_deps deps;
		const char *why;

		if (!mx_deps_parse(v, &deps)) {
			mx_deps_release(&deps);
			return NULL;
		}
		why = lab_errmsg(-LAB_EINVAL);
		if (!strncmp(why, "opt_requires: ", 14))
			why += 14;
		snprintf(msg, size, "%s", why);
		return msg;
	}
	if (!strcmp(d->section, "grub") &&
	    (!strcmp(d->key, "entries") || !strcmp(d->key, "dropin")))
		return check_file_name(v, msg, size);
	if ((!strcmp(d->section, "deploy") && !strcmp(d->key, "dir")) ||
	    (!strcmp(d->section, "grub") &&
	     (!strcmp(d->key, "grubenv") || !strcmp(d->key, "cfg"))))
		return check_board_path(v, msg, size);
	return NULL;
}

static bool looks_secret(const char *key)
{
	return strstr(key, "password") || strstr(key, "passwd") ||
	       strstr(key, "secret") || strstr(key, "token");
}

static int handler(void *user, const char *section, const char *name,
		   const char *value)
{
	struct parse_state *ps = user;
	const char *sect = ps->named_power ? "power" :
			   ps->variant ? "variant" : ps->section;
	const struct lab_key_def *d;
	struct lab_value **values;
	int *nvalues, i;
	char msg[LAB_MAX_LINE + 200];	/* never truncates a value */
	const char *why;

	if (ps->err)
		return 1;	/* keep inih going quietly; we report the first */
	if (!ps->section[0]) {
		parse_error(ps, ps->line,
			    "'%s' is outside any section (start with e.g. [board])",
			    name);
		return 1;
	}
	/* see_section saw every header inih saw; never drop a key silently. */
	if (!ps->in_known || (!ps->variant && strcmp(section, ps->section))) {
		parse_error(ps, ps->line, "[%s]: key '%s' in an unknown section",
			    section, name);
		return 1;
	}
	d = find_def(sect, name);
	if (!d) {
		if (looks_secret(name) && !strstr(name, "_file"))
			parse_error(ps, ps->line,
				    "[%s] %s: secrets are not allowed in lab files; use password_file = PATH (mode 0600) or the environment",
				    ps->section, name);
		else
			parse_error(ps, ps->line, "[%s]: unknown key '%s'",
				    ps->section, name);
		return 1;
	}
	if (ps->named_power && !strcmp(name, "plan")) {
		parse_error(ps, ps->line,
			    "[%s]: a plan goes in [power], where it names this device",
			    ps->section);
		return 1;
	}
	/* "key =;x" gives ";x" but "key = ;x" a comment: refuse the former. */
	why = value[0] == ';' ?
		"a value cannot start with ';' (after a space, ';' starts a comment)" :
		check_value(d, value, msg, sizeof(msg));
	if (!why)
		why = check_meaning(d, value, msg, sizeof(msg));
	if (why) {
		parse_error(ps, ps->line, "[%s] %s: %s", ps->section, name, why);
		return 1;
	}
	if (ps->variant) {
		values = &ps->variant->values;
		nvalues = &ps->variant->nvalues;
	} else {
		values = &ps->lab->values;
		nvalues = &ps->lab->nvalues;
	}
	for (i = 0; i < *nvalues; i++) {
		if ((*values)[i].def == d) {
			parse_error(ps, ps->line,
				    "[%s]: duplicate key '%s' (first set on line %d)",
				    ps->section, name, (*values)[i].line);
			return 1;
		}
	}
	*values = xrealloc(*values, (*nvalues + 1) * sizeof(**values));
	(*values)[*nvalues] = (struct lab_value){
		.section = d->section,
		.def = d,
		.value = xstrdup(value),
		.line = ps->line,
	};
	(*nvalues)++;
	return 1;
}

static const struct lab_value *find_value(const struct lab_value *values,
					  int n, const char *section,
					  const char *key)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(values[i].section, section) &&
		    !strcmp(values[i].def->key, key))
			return &values[i];
	return NULL;
}

/* The value that decides which keys a section may hold. */
static const char *selector_of(const struct lab *lab,
			       const struct lab_variant *v, const char *section)
{
	if (!strcmp(section, "board"))
		return lab_get(lab, "board", "type");
	if (!strcmp(section, "power") && v) {	/* [power NAME] */
		const struct lab_value *d = find_value(v->values, v->nvalues,
						       "power", "driver");

		return d ? d->value : NULL;
	}
	if (!strcmp(section, "power"))
		return lab_get(lab, "power", "driver");
	if (!strcmp(section, "console"))
		return lab_get(lab, "console", "driver");
	if (!strcmp(section, "variant") && v)
		return lab_variant_get(v, "recipe");
	return NULL;
}

static const char *selector_name(const char *section)
{
	if (!strcmp(section, "board"))
		return "board type";
	if (!strcmp(section, "power"))
		return "power driver";
	if (!strcmp(section, "console"))
		return "console driver";
	return "recipe";
}

static void check_only_for(struct parse_state *ps, const struct lab_value *vals,
			   int n, const struct lab_variant *v)
{
	int i;

	for (i = 0; i < n && !ps->err; i++) {
		const struct lab_key_def *d = vals[i].def;
		char *only = d->only_for ? xstrdup(d->only_for) :
			     is_driver_key(d) ? drivers_taking(d) : NULL;
		const char *sel;

		if (!only)
			continue;
		sel = selector_of(ps->lab, v, d->section);
		if (!sel) {
			char *list = choices_list(only);

			parse_error(ps, vals[i].line,
				    "[%s] %s: no driver is set; this key is for driver = %s",
				    d->section, d->key, list);
			free(list);
		} else if (!in_choices(only, sel)) {
			char *list = choices_list(only);

			parse_error(ps, vals[i].line,
				    "[%s%s%s]: %s '%s' does not take key '%s' (only %s)",
				    d->section, v ? " " : "", v ? v->name : "",
				    selector_name(d->section), sel, d->key,
				    list);
			free(list);
		}
		free(only);
	}
}

/* [grub] chain names variants of this lab. */
static void check_chain(struct parse_state *ps)
{
	const struct lab_value *c = find_value(ps->lab->values, ps->lab->nvalues,
					       "grub", "chain");
	char *copy, *save = NULL, *w;

	if (!c)
		return;
	copy = xstrdup(c->value);
	for (w = strtok_r(copy, " ,\t", &save); w && !ps->err;
	     w = strtok_r(NULL, " ,\t", &save))
		if (!find_variant(ps->lab, w))
			parse_error(ps, c->line, "[grub] chain: no variant '%s' in this lab",
				    w);
	free(copy);
}

/* Cross-key rules that a per-key check cannot see. */
static void check_lab(struct parse_state *ps)
{
	struct lab *lab = ps->lab;
	const char *type = lab_get(lab, "board", "type");
	const struct board_ops *ops;
	int i;

	check_only_for(ps, lab->values, lab->nvalues, NULL);
	for (i = 0; i < lab->npower_devs && !ps->err; i++) {
		const struct lab_variant *pd = &lab->power_devs[i];

		if (!selector_of(lab, pd, "power"))
			parse_error(ps, pd->line,
				    "[power %s]: needs driver = ... (%s)", pd->name,
				    "the power driver of this device");
		else
			check_only_for(ps, pd->values, pd->nvalues, pd);
	}
	for (i = 0; i < lab->nvariants && !ps->err; i++) {
		const struct lab_variant *v = &lab->variants[i];

		check_only_for(ps, v->values, v->nvalues, v);
		if (!ps->err) {
			struct strbuf tmp = STRBUF_INIT;

			/* GRUB must find it by name, and it must fit in grubenv. */
			if (strlen(lab_variant_entry(lab, v, &tmp)) > LAB_MAX_ENTRY)
				parse_error(ps, v->line,
					    "[variant %s]: its GRUB entry title is longer than %d bytes",
					    v->name, LAB_MAX_ENTRY);
			strbuf_release(&tmp);
		}
		if (!ps->err && !strcmp(lab_variant_get(v, "recipe"), "xmhf64") &&
		    !lab_variant_get(v, "src"))
			parse_error(ps, v->line,
				    "[variant %s]: recipe xmhf64 needs src = PATH of the XMHF64 tree",
				    v->name);
	}
	if (!ps->err)
		check_chain(ps);
	ops = board_ops_find(type);
	if (!ps->err && (!ops || !ops->is_virtual) &&
	    !lab_get(lab, "board", "host")) {
		const struct lab_value *t = find_value(lab->values, lab->nvalues,
						       "board", "type");

		parse_error(ps, t ? t->line : 1,
			    "[board]: type %s needs host = the board's ssh host name",
			    type);
	}
	if (!ps->err && ops && ops->power_driver) {
		const struct lab_value *p = find_value(lab->values, lab->nvalues,
						       "power", "driver");
		const struct lab_value *c = find_value(lab->values, lab->nvalues,
						       "console", "driver");

		if (p && strcmp(p->value, ops->power_driver) &&
		    strcmp(p->value, "fault"))
			parse_error(ps, p->line,
				    "[power] driver: a %s board is powered by the %s driver, not '%s'",
				    ops->title, ops->power_driver, p->value);
		else if (c && ops->console_driver &&
			 strcmp(c->value, ops->console_driver))
			parse_error(ps, c->line,
				    "[console] driver: a %s board's console is the %s driver, not '%s'",
				    ops->title, ops->console_driver, c->value);
	} else if (!ps->err) {
		const struct lab_value *p = find_value(lab->values, lab->nvalues,
						       "power", "driver");
		const struct lab_value *c = find_value(lab->values, lab->nvalues,
						       "console", "driver");
		int i;

		/* Another board type's own drivers work only on that type. */
		for (i = 0; board_types[i]; i++) {
			const struct board_ops *o = board_types[i];

			if (p && o->power_driver && !strcmp(p->value, o->power_driver)) {
				parse_error(ps, p->line,
					    "[power] driver: the %s driver only powers a %s board (type = %s), not a %s",
					    o->power_driver, o->title, o->type, type);
				break;
			}
			if (c && o->console_driver && !strcmp(c->value, o->console_driver)) {
				parse_error(ps, c->line,
					    "[console] driver: the %s console only works on a %s board (type = %s), not a %s",
					    o->console_driver, o->title, o->type, type);
				break;
			}
		}
	}
}

/* ini_parse_stream with a line buffer that fits LAB_MAX_LINE, if we can. */
static int parse_stream(struct parse_state *ps)
{
	bool tunable = &ini_use_stack && &ini_allow_realloc &&
		       &ini_initial_alloc && &ini_max_line;
	bool use_stack = false, allow_realloc = false;
	int initial_alloc = 0, max_line = 0, rc;

	if (tunable) {
		use_stack = ini_use_stack;
		allow_realloc = ini_allow_realloc;
		initial_alloc = ini_initial_alloc;
		max_line = ini_max_line;
		ini_use_stack = false;
		ini_allow_realloc = false;
		ini_initial_alloc = LAB_MAX_LINE + 3;
		ini_max_line = LAB_MAX_LINE + 3;
	}
	rc = ini_parse_stream(reader, ps, handler, ps);
	if (tunable) {
		ini_use_stack = use_stack;
		ini_allow_realloc = allow_realloc;
		ini_initial_alloc = initial_alloc;
		ini_max_line = max_line;
	}
	return rc;
}

int lab_parse(const char *path, const char *text, size_t len, struct lab **out)
{
	struct parse_state ps = {
		.path = path, .text = text, .end = text + len, .pos = text,
	};
	const char *base = strrchr(path, '/');
	size_t nlen;
	int rc;

	*out = NULL;
	ps.lab = xzalloc(sizeof(*ps.lab));
	ps.lab->path = xstrdup(path);
	base = base ? base + 1 : path;
	nlen = strlen(base);
	if (nlen > 5 && !strcmp(base + nlen - 5, ".conf"))
		nlen -= 5;
	ps.lab->name = xstrndup(base, nlen);
	/* A UTF-8 byte order mark (editors on Windows) is not part of line 1. */
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		ps.pos += 3;

	rc = parse_stream(&ps);
	if (!ps.err && rc > 0)
		parse_error(&ps, rc,
			    "syntax error: expected 'key = value', '[section]' or a comment");
	else if (!ps.err && rc < 0)
		parse_error(&ps, 0, "cannot parse (out of memory)");
	/* Every value passed its own check: resolve before the cross checks,
	 * which see the board type through board_ops_of. */
	if (!ps.err) {
		resolve_fields(ps.lab);
		check_lab(&ps);
	}
	if (ps.err) {
		lab_free(ps.lab);
		return ps.err;
	}
	*out = ps.lab;
	return 0;
}

static const char *file_kind(mode_t mode)
{
	return S_ISDIR(mode) ? "a directory" : S_ISFIFO(mode) ? "a FIFO" :
	       S_ISCHR(mode) ? "a character device" :
	       S_ISBLK(mode) ? "a block device" :
	       S_ISSOCK(mode) ? "a socket" : "not a regular file";
}

int lab_read_regular_file(struct strbuf *sb, const char *path, size_t max)
{
	struct stat st;
	int fd, flags;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return lab_err_errno(errno, "cannot open %s", path);
	if (fstat(fd, &st) < 0) {
		int e = errno;

		close(fd);
		return lab_err_errno(e, "cannot read %s", path);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return lab_err(LAB_ECONFIG, "%s is %s, not a regular file",
			       path, file_kind(st.st_mode));
	}
	flags = fcntl(fd, F_GETFL);
	if (flags >= 0)
		fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	return strbuf_read_fd(sb, fd, path, max);
}

int lab_load(const char *path, struct lab **out)
{
	struct strbuf sb = STRBUF_INIT;
	int ret;

	*out = NULL;
	ret = lab_read_regular_file(&sb, path, LAB_MAX_FILE);
	if (ret < 0) {
		char msg[1024];

		strbuf_release(&sb);
		if (ret == -LAB_ENOENT)
			return ret;
		/* lab_errmsg() is the buffer lab_err() writes: copy it first. */
		snprintf(msg, sizeof(msg), "%s", lab_errmsg(ret));
		return lab_err(LAB_ECONFIG, "%s", msg);
	}
	ret = lab_parse(path, strbuf_str(&sb), sb.len, out);
	strbuf_release(&sb);
	return ret;
}

char *lab_path_clean(const char *path)
{
	struct strbuf out = STRBUF_INIT;
	const char *p = path;
	char real[PATH_MAX];

	if (*p == '/')
		strbuf_addch(&out, '/');
	while (*p) {
		size_t n;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (n == 2 && !strncmp(p, "..", 2)) {
			/* Only the file system knows what .. is (symlinks). */
			strbuf_release(&out);
			return xstrdup(realpath(path, real) ? real : path);
		}
		if (n && !(n == 1 && *p == '.')) {
			if (out.len && out.buf[out.len - 1] != '/')
				strbuf_addch(&out, '/');
			strbuf_add(&out, p, n);
		}
		p += n;
	}
	if (!out.len)
		strbuf_addch(&out, '.');
	return strbuf_detach(&out, NULL);
}

char **lab_search_dirs(int *n)
{
	const char *env = getenv("LABCTL_LABS");
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	char **dirs = NULL;
	int k = 0;

	while (env && *env) {
		size_t len = strcspn(env, ":");

		if (len) {
			dirs = xrealloc(dirs, (size_t)(k + 1) * sizeof(*dirs));
			dirs[k++] = xstrndup(env, len);
		}
		env += len + (env[len] == ':');
	}
	dirs = xrealloc(dirs, (size_t)(k + 3) * sizeof(*dirs));
	dirs[k++] = xstrdup("labs");
	/* The XDG base directory spec: a relative XDG_CONFIG_HOME is ignored. */
	if (xdg && xdg[0] == '/')
		dirs[k++] = xasprintf("%s/labctl/labs", xdg);
	else if (home && home[0] == '/')
		dirs[k++] = xasprintf("%s/.config/labctl/labs", home);
	dirs[k++] = xasprintf("%s/labs", lab_data_dir());
	*n = k;
	return dirs;
}

void lab_search_dirs_free(char **dirs, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(dirs[i]);
	free(dirs);
}

char *lab_find(const char *name)
{
	struct strbuf tried = STRBUF_INIT;
	char *found = NULL;
	size_t len = strlen(name);
	struct stat st;
	char **dirs;
	int i, n;

	if (!*name) {
		lab_err(LAB_ENOENT, "empty lab name");
		return NULL;
	}
	if (strchr(name, '/') || (len > 5 && !strcmp(name + len - 5, ".conf"))) {
		if (stat(name, &st) < 0) {
			lab_err(LAB_ENOENT, "lab file %s does not exist", name);
			return NULL;
		}
		if (!S_ISREG(st.st_mode)) {
			lab_err(LAB_ECONFIG, "lab file %s is %s, not a regular file",
				name, file_kind(st.st_mode));
			return NULL;
		}
		return lab_path_clean(name);
	}
	dirs = lab_search_dirs(&n);
	for (i = 0; i < n && !found; i++) {
		char *path = xasprintf("%s/%s.conf", dirs[i], name);

		strbuf_addf(&tried, "%s%s", tried.len ? ", " : "", dirs[i]);
		if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
			lab_err(LAB_ECONFIG, "lab file %s is %s, not a regular file",
				path, file_kind(st.st_mode));
			free(path);
			break;
		}
		if (!access(path, F_OK))
			found = lab_path_clean(path);
		free(path);
	}
	if (!found && i == n)
		lab_err(LAB_ENOENT,
			"unknown lab '%s' (looked in %s; `labctl labs` lists the labs)",
			name, strbuf_str(&tried));
	lab_search_dirs_free(dirs, n);
	strbuf_release(&tried);
	return found;
}

/*
 * "qemu-3": board 3 of the pool lab "qemu" ([board] pool >= 3), so every
 * verb works on one board of a pool.  NULL when name is not of that form.
 */
static struct lab *open_pool_member(const char *name)
{
	const char *dash = strrchr(name, '-');
	struct lab *lab = NULL;
	char *base, *path, *end;
	long k;

	if (!dash || dash == name || !dash[1])
		return NULL;
	k = strtol(dash + 1, &end, 10);
	if (*end || k < 1)
		return NULL;
	base = xstrndup(name, dash - name);
	path = lab_find(base);
	if (path && lab_load(path, &lab) == 0 &&
	    lab_get_int(lab, "board", "pool") >= k) {
		free(lab->name);
		lab->name = xstrdup(name);
		lab->pool_member = (int)k;
	} else if (lab) {
		lab_free(lab);
		lab = NULL;
	}
	free(path);
	free(base);
	return lab;
}

int lab_open(const char *name, struct lab **out)
{
	char *path = lab_find(name);
	int ret;

	*out = NULL;
	if (!path) {
		struct lab_err_saved why;

		lab_err_save(&why);
		*out = open_pool_member(name);
		if (*out)
			return 0;
		lab_err_restore(&why);
		return why.code ? -why.code : -LAB_ENOENT;
	}
	ret = lab_load(path, out);
	free(path);
	return ret;
}

static void free_values(struct lab_value *values, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(values[i].value);
	free(values);
}

void lab_free(struct lab *lab)
{
	int i;

	if (!lab)
		return;
	for (i = 0; i < lab->nvariants; i++) {
		free(lab->variants[i].name);
		free_values(lab->variants[i].values, lab->variants[i].nvalues);
	}
	free(lab->variants);
	for (i = 0; i < lab->npower_devs; i++) {
		free(lab->power_devs[i].name);
		free_values(lab->power_devs[i].values, lab->power_devs[i].nvalues);
	}
	free(lab->power_devs);
	free_values(lab->values, lab->nvalues);
	free(lab->name);
	free(lab->path);
	free(lab);
}

static struct lab_value *copy_values(const struct lab_value *values, int n)
{
	struct lab_value *c = xcalloc((size_t)n + 1, sizeof(*c));
	int i;

	for (i = 0; i < n; i++) {
		c[i] = values[i];
		c[i].value = xstrdup(values[i].value);
	}
	return c;
}

void lab_variant_copy(struct lab_variant *dst, const struct lab_variant *src)
{
	dst->name = xstrdup(src->name);
	dst->line = src->line;
	dst->values = copy_values(src->values, src->nvalues);
	dst->nvalues = src->nvalues;
}

void lab_variant_set(struct lab_variant *v, const char *key, const char *value)
{
	const struct lab_key_def *d = find_def("variant", key);
	int i;

	assert(d && "lab_variant_set: a key the schema does not know");
	for (i = 0; i < v->nvalues; i++) {
		if (v->values[i].def == d) {
			free(v->values[i].value);
			v->values[i].value = xstrdup(value);
			return;
		}
	}
	v->values = xrealloc(v->values, (size_t)(v->nvalues + 1) *
			     sizeof(*v->values));
	v->values[v->nvalues++] = (struct lab_value){
		.section = d->section, .def = d, .value = xstrdup(value),
	};
}

void lab_variant_release(struct lab_variant *v)
{
	free(v->name);
	free_values(v->values, v->nvalues);
	memset(v, 0, sizeof(*v));
}

struct lab *lab_with_variants(const struct lab *lab,
			      const struct lab_variant *vs, int n)
{
	struct lab *c = xzalloc(sizeof(*c));
	int i, k;

	c->name = xstrdup(lab->name);
	c->path = xstrdup(lab->path);
	c->pool_member = lab->pool_member;
	c->values = copy_values(lab->values, lab->nvalues);
	c->nvalues = lab->nvalues;
	c->power_devs = xcalloc((size_t)lab->npower_devs + 1,
				sizeof(*c->power_devs));
	for (i = 0; i < lab->npower_devs; i++)
		lab_variant_copy(&c->power_devs[i], &lab->power_devs[i]);
	c->npower_devs = lab->npower_devs;
	c->variants = xcalloc((size_t)(lab->nvariants + n) + 1,
			      sizeof(*c->variants));
	for (i = 0; i < lab->nvariants; i++) {
		const struct lab_variant *v = &lab->variants[i];

		for (k = 0; k < n && strcmp(vs[k].name, v->name); k++)
			;
		lab_variant_copy(&c->variants[c->nvariants++], k < n ? &vs[k] : v);
	}
	for (k = 0; k < n; k++)
		if (!lab_find_variant(lab, vs[k].name))
			lab_variant_copy(&c->variants[c->nvariants++], &vs[k]);
	resolve_fields(c);
	return c;
}

struct lab *lab_pool_member(const struct lab *lab, int k)
{
	struct lab *m = lab_with_variants(lab, NULL, 0);

	free(m->name);
	m->name = xasprintf("%s-%d", lab->name, k);
	m->pool_member = k;
	return m;
}

/* Defaults that depend on the board type. */
static const char *dynamic_default(const struct lab *lab, const char *section,
				   const char *key)
{
	const struct board_ops *ops = board_ops_of(lab);
	bool vboard = ops && ops->is_virtual;

	if (!strcmp(section, "power") && !strcmp(key, "driver"))
		return ops ? ops->power_driver : NULL;
	if (!strcmp(section, "console") && !strcmp(key, "driver"))
		return ops ? ops->console_driver : NULL;
	if (!strcmp(section, "deploy") && !strcmp(key, "method"))
		return vboard ? "image" : "sftp";
	if (!strcmp(section, "grub") && !strcmp(key, "root"))
		return vboard ? "(hd0,msdos1)" : NULL;
	return NULL;
}

/*
 * The lab's board type's own default for a key (board_ops.defaults: the
 * Bochs board's memory, CPU model and minute-scale watch timeouts), over
 * the schema's; NULL when the type has none.
 */
static const char *board_type_default(const struct lab *lab,
				      const char *section, const char *key)
{
	const struct lab_value *t = find_value(lab->values, lab->nvalues,
					       "board", "type");
	const struct board_ops *ops =
		board_ops_find(t ? t->value : find_def("board", "type")->def);
	const struct board_default *bd;

	for (bd = ops ? ops->defaults : NULL; bd && bd->key; bd++)
		if (!strcmp(bd->section, section) && !strcmp(bd->key, key))
			return bd->value;
	return NULL;
}

const char *lab_get(const struct lab *lab, const char *section, const char *key)
{
	const struct lab_value *v = find_value(lab->values, lab->nvalues,
					       section, key);
	const struct lab_key_def *d = find_def(section, key);

	assert(d && "lab_get: a key the schema does not know");
	if (v)
		return v->value;
	if (strcmp(section, "board") || strcmp(key, "type")) {
		const char *td = board_type_default(lab, section, key);

		if (td)
			return td;
	}
	/* A driver key's default is the lab's driver's. */
	if (is_driver_key(d)) {
		const struct lab_key_def *own =
			find_in(driver_keys(section, selector_of(lab, NULL, section)),
				section, key);

		if (own)
			d = own;
	}
	if (d->def)
		return d->def;
	if (strcmp(section, "board") || strcmp(key, "type"))
		return dynamic_default(lab, section, key);
	return NULL;
}

const char *lab_variant_get(const struct lab_variant *v, const char *key)
{
	const struct lab_value *val = find_value(v->values, v->nvalues,
						 "variant", key);
	const struct lab_key_def *d = find_def("variant", key);

	assert(d && "lab_variant_get: a key the schema does not know");
	if (val)
		return val->value;
	return d ? d->def : NULL;
}

/* The load checked every value, so a set value always parses. */
int64_t lab_get_int(const struct lab *lab, const char *section, const char *key)
{
	const char *s = lab_get(lab, section, key);
	int64_t v;

	assert(find_def(section, key)->type == KEY_INT);
	if (!s || lab_parse_int(s, &v) < 0)
		return LAB_UNSET;
	return v;
}

int64_t lab_get_duration_ms(const struct lab *lab, const char *section,
			    const char *key)
{
	const char *s = lab_get(lab, section, key);
	int64_t ms;

	assert(find_def(section, key)->type == KEY_DURATION);
	if (!s || lab_parse_duration_ms(s, &ms) < 0)
		return LAB_UNSET;
	return ms;
}

int64_t lab_get_size_mib(const struct lab *lab, const char *section,
			 const char *key)
{
	const char *s = lab_get(lab, section, key);
	int64_t mib;

	assert(find_def(section, key)->type == KEY_SIZE);
	if (!s || lab_parse_size_mib(s, &mib) < 0)
		return LAB_UNSET;
	return mib;
}

bool lab_get_bool(const struct lab *lab, const char *section, const char *key)
{
	const char *s = lab_get(lab, section, key);
	bool b = false;

	assert(find_def(section, key)->type == KEY_BOOL);
	if (s)
		lab_parse_bool(s, &b);
	return b;
}

const struct lab_variant *lab_find_variant(const struct lab *lab,
					   const char *name)
{
	return find_variant((struct lab *)lab, name);
}

const char *lab_variant_entry(const struct lab *lab, const struct lab_variant *v,
			      struct strbuf *tmp)
{
	const char *entry = lab_variant_get(v, "entry");

	if (entry)
		return entry;
	strbuf_reset(tmp);
	strbuf_addstr(tmp, lab_get(lab, "grub", "entry_prefix"));
	strbuf_addstr(tmp, v->name);
	return strbuf_str(tmp);
}

#define CFG(section, key, field) { section, key, offsetof(struct lab, field), \
	_Generic(((struct lab *)0)->field, int: 'i', int64_t: 'l', bool: 'b', \
		 const char *: 's') }
const struct lab_cfg_field lab_cfg_fields[] = {
	CFG("board", "type", board.type),
	CFG("board", "description", board.description),
	CFG("board", "host", board.host),
	CFG("board", "user", board.user),
	CFG("board", "ssh_port", board.ssh_port),
	CFG("board", "jump", board.jump),
	CFG("board", "identity", board.identity),
	CFG("board", "connect_timeout", board.connect_timeout_ms),
	CFG("board", "command_timeout", board.command_timeout_ms),
	CFG("board", "reboot", board.reboot),
	CFG("board", "down_timeout", board.down_timeout_ms),
	CFG("board", "up_timeout", board.up_timeout_ms),
	CFG("board", "battery", board.battery),
	CFG("board", "memory", board.memory_mib),
	CFG("board", "smp", board.smp),
	CFG("board", "cpu", board.cpu),
	CFG("board", "machine", board.machine),
	CFG("board", "kvm", board.kvm),
	CFG("board", "ips", board.ips),
	CFG("board", "gdb_port", board.gdb_port),
	CFG("board", "os_disk", board.os_disk),
	CFG("board", "drives", board.drives),
	CFG("board", "tags", board.tags),
	CFG("board", "pool", board.pool),
	CFG("board", "ssh_forward", board.ssh_forward),
	CFG("power", "driver", power.driver),
	CFG("power", "plan", power.plan),
	CFG("power", "confirm_timeout", power.confirm_timeout_ms),
	CFG("power", "cuts", power.cuts),
	CFG("power", "off_time", power.off_time_ms),
	CFG("console", "driver", console.driver),
	CFG("deploy", "method", deploy.method),
	CFG("deploy", "dir", deploy.dir),
	CFG("deploy", "sudo", deploy.sudo),
	CFG("grub", "max_stages", grub.max_stages),
	CFG("grub", "entry_prefix", grub.entry_prefix),
	CFG("grub", "root", grub.root),
	CFG("grub", "serial", grub.serial),
	CFG("grub", "boot_drive", grub.boot_drive),
	CFG("grub", "cmdline", grub.cmdline),
	CFG("grub", "sinit", grub.sinit),
	CFG("grub", "grubenv", grub.grubenv),
	CFG("grub", "editenv", grub.editenv),
	CFG("grub", "cfg", grub.cfg),
	CFG("grub", "dropin", grub.dropin),
	CFG("grub", "entries", grub.entries),
	CFG("grub", "chain", grub.chain),
	CFG("lock", "where", lock.where),
	CFG("lock", "host", lock.host),
	CFG("lock", "ssh_port", lock.ssh_port),
	CFG("lock", "dir", lock.dir),
	CFG("lock", "ttl", lock.ttl_ms),
	CFG("lock", "endpoints", lock.endpoints),
	CFG("lock", "cacert", lock.cacert),
	CFG("lock", "cert", lock.cert),
	CFG("lock", "key", lock.key),
	CFG("lock", "user", lock.user),
	CFG("lock", "password_env", lock.password_env),
	CFG("lock", "password_file", lock.password_file),
	CFG("lock", "etcd_ttl", lock.etcd_ttl_ms),
	CFG("lock", "etcd_timeout", lock.etcd_timeout_ms),
	CFG("lock", "prefix", lock.prefix),
	CFG("lock", "priority", lock.priority),
	CFG("lock", "offline_after", lock.offline_after),
	CFG("watch", "timeout", watch.timeout_ms),
	CFG("watch", "stage_timeout", watch.stage_timeout_ms),
	CFG("watch", "silence_timeout", watch.silence_timeout_ms),
	CFG("watch", "cpus", watch.cpus),
	CFG("watch", "iter_min", watch.iter_min),
	CFG("watch", "pass", watch.pass),
	CFG("watch", "fail", watch.fail),
	CFG("watch", "rules", watch.rules),
	CFG("watch", "rules_file", watch.rules_file),
	CFG("build", "cache_size", build.cache_size_mib),
	{ NULL, NULL, 0, 0 }
};
#undef CFG

char lab_cfg_ctype(enum lab_key_type type)
{
	switch (type) {
	case KEY_INT:
		return 'i';
	case KEY_DURATION:
	case KEY_SIZE:
		return 'l';
	case KEY_BOOL:
		return 'b';
	default:
		return 's';
	}
}

/* Fill lab->board, lab->grub, ... from the checked values and defaults. */
static void resolve_fields(struct lab *lab)
{
	const struct lab_cfg_field *f;

	for (f = lab_cfg_fields; f->key; f++) {
		const struct lab_key_def *d = find_def(f->section, f->key);
		const char *s = lab_get(lab, f->section, f->key);
		char *at = (char *)lab + f->offset;
		int64_t n = LAB_UNSET;
		bool b = false;

		/* test_labconf checks the table against the schema. */
		assert(d && f->ctype == lab_cfg_ctype(d->type));
		switch (d->type) {
		case KEY_INT:
			if (!s || lab_parse_int(s, &n) < 0)
				n = 0;
			*(int *)at = (int)n;
			break;
		case KEY_DURATION:
			if (s && lab_parse_duration_ms(s, &n) < 0)
				n = LAB_UNSET;
			*(int64_t *)at = n;
			break;
		case KEY_SIZE:
			if (s && lab_parse_size_mib(s, &n) < 0)
				n = LAB_UNSET;
			*(int64_t *)at = n;
			break;
		case KEY_BOOL:
			if (s)
				lab_parse_bool(s, &b);
			*(bool *)at = b;
			break;
		default:
			*(const char **)at = s;
			break;
		}
	}
}

/* Call fn for every key that applies to this lab, in schema order. */
static bool key_applies(const struct lab *lab, const struct lab_variant *v,
			const struct lab_key_def *d)
{
	const char *sel;

	if (!d->only_for)
		return true;
	sel = selector_of(lab, v, d->section);
	return sel && in_choices(d->only_for, sel);
}

/*
 * The keys `show` lists for a plain section, in order: the schema's that
 * apply, with the section driver's own keys right after driver = ...
 * A NULL-terminated malloc'd array.
 */
static const struct lab_key_def **section_defs(const struct lab *lab,
					       const char *section)
{
	const struct lab_key_def *d, *k, **defs = NULL;
	size_t n = 0;

	for (d = lab_schema; d->key; d++) {
		if (strcmp(d->section, section) || !key_applies(lab, NULL, d))
			continue;
		defs = xrealloc(defs, (n + 2) * sizeof(*defs));
		defs[n++] = d;
		if (strcmp(d->key, "driver"))
			continue;
		for (k = driver_keys(section, selector_of(lab, NULL, section));
		     k && k->key; k++) {
			defs = xrealloc(defs, (n + 2) * sizeof(*defs));
			defs[n++] = k;
		}
	}
	if (!defs)
		defs = xcalloc(1, sizeof(*defs));
	defs[n] = NULL;
	return defs;
}

/* [power NAME] sections: their keys as the file gives them. */
static void show_power_devs(const struct lab *lab, struct strbuf *out,
			    bool json)
{
	int i, j;

	for (i = 0; i < lab->npower_devs; i++) {
		const struct lab_variant *pd = &lab->power_devs[i];

		if (json) {
			strbuf_addstr(out, i ? ",{\"name\":" : "{\"name\":");
			strbuf_add_json_str(out, pd->name);
		} else {
			strbuf_addf(out, "\n[power %s]\n", pd->name);
		}
		for (j = 0; j < pd->nvalues; j++) {
			if (json) {
				strbuf_addch(out, ',');
				strbuf_add_json_str(out, pd->values[j].def->key);
				strbuf_addch(out, ':');
				strbuf_add_json_str(out, pd->values[j].value);
			} else {
				strbuf_addf(out, "%s = %s\n",
					    pd->values[j].def->key,
					    pd->values[j].value);
			}
		}
		if (json)
			strbuf_addch(out, '}');
	}
}

void lab_show_text(const struct lab *lab, struct strbuf *out)
{
	const struct lab_key_def *d;
	int s, i;

	strbuf_addf(out, "# lab %s (%s)\n", lab->name, lab->path);
	strbuf_addstr(out, "# '(default)' marks values not set in the file\n");
	for (s = 0; plain_sections[s]; s++) {
		const struct lab_key_def **defs = section_defs(lab,
							       plain_sections[s]);
		int k;

		strbuf_addf(out, "\n[%s]\n", plain_sections[s]);
		for (k = 0; (d = defs[k]); k++) {
			const char *v;

			v = lab_get(lab, d->section, d->key);
			if (!v)
				continue;
			strbuf_addf(out, "%s = ", d->key);
			strbuf_addstr(out, v);
			if (!find_value(lab->values, lab->nvalues, d->section,
					d->key))
				strbuf_addstr(out, "  ; (default)");
			strbuf_addch(out, '\n');
		}
		free(defs);
	}
	for (i = 0; i < lab->nvariants; i++) {
		const struct lab_variant *v = &lab->variants[i];
		struct strbuf tmp = STRBUF_INIT;

		strbuf_addf(out, "\n[variant %s]\n", v->name);
		for (d = lab_schema; d->key; d++) {
			const char *val;

			if (strcmp(d->section, "variant") || !key_applies(lab, v, d))
				continue;
			val = !strcmp(d->key, "entry") ?
				lab_variant_entry(lab, v, &tmp) :
				lab_variant_get(v, d->key);
			if (!val)
				continue;
			strbuf_addf(out, "%s = ", d->key);
			strbuf_addstr(out, val);
			if (!find_value(v->values, v->nvalues, "variant", d->key))
				strbuf_addstr(out, "  ; (default)");
			strbuf_addch(out, '\n');
		}
		strbuf_release(&tmp);
	}
	show_power_devs(lab, out, false);
}

static void json_kv(struct strbuf *out, const struct lab_key_def *d,
		    const char *v, bool *first)
{
	strbuf_addstr(out, *first ? "" : ",");
	*first = false;
	strbuf_add_json_str(out, d->key);
	strbuf_addch(out, ':');
	strbuf_add_json_str(out, v);
}

void lab_show_json(const struct lab *lab, struct strbuf *out)
{
	const struct lab_key_def *d;
	int s, i;

	strbuf_addstr(out, "{\"name\":");
	strbuf_add_json_str(out, lab->name);
	strbuf_addstr(out, ",\"path\":");
	strbuf_add_json_str(out, lab->path);
	for (s = 0; plain_sections[s]; s++) {
		const struct lab_key_def **defs = section_defs(lab,
							       plain_sections[s]);
		bool first = true;
		int k;

		strbuf_addf(out, ",\"%s\":{", plain_sections[s]);
		for (k = 0; (d = defs[k]); k++) {
			const char *v = lab_get(lab, d->section, d->key);

			if (v)
				json_kv(out, d, v, &first);
		}
		strbuf_addch(out, '}');
		free(defs);
	}
	strbuf_addstr(out, ",\"power_devices\":[");
	show_power_devs(lab, out, true);
	strbuf_addstr(out, "],\"variants\":[");
	for (i = 0; i < lab->nvariants; i++) {
		const struct lab_variant *v = &lab->variants[i];
		struct strbuf tmp = STRBUF_INIT;
		bool first = false;

		strbuf_addstr(out, i ? ",{\"name\":" : "{\"name\":");
		strbuf_add_json_str(out, v->name);
		for (d = lab_schema; d->key; d++) {
			const char *val;

			if (strcmp(d->section, "variant") || !key_applies(lab, v, d))
				continue;
			val = !strcmp(d->key, "entry") ?
				lab_variant_entry(lab, v, &tmp) :
				lab_variant_get(v, d->key);
			if (val)
				json_kv(out, d, val, &first);
		}
		strbuf_addch(out, '}');
		strbuf_release(&tmp);
	}
	strbuf_addstr(out, "]}\n");
}

int lab_section_params(const struct lab *lab, const char *section,
		       struct lab_param *p, int max)
{
	int i, n = 0;

	for (i = 0; i < lab->nvalues && n < max; i++) {
		const struct lab_value *v = &lab->values[i];

		if (strcmp(v->section, section) || !strcmp(v->def->key, "driver"))
			continue;
		p[n++] = (struct lab_param){ v->def->key, v->value };
	}
	return n;
}
