// SPDX-License-Identifier: MIT
/*
 * Loading a result: results/<ts> (raw bytes), <ts>.lines (the sidecar)
 * and <ts>.json (the run record), see report/result.h.  Everything read
 * here may be damaged (a killed run, a truncated copy, a hand-written
 * file): bad input is a message or a field left empty, never a crash.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/json.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "report/result.h"

#define DEFAULT_DIR "results"
/* Bigger .json or .lines files are not ours. */
#define MAX_JSON (64u << 20)
#define MAX_SIDECAR (1024u << 20)

/* ------------------------------------------------------------ names */

bool result_name_valid(const char *name)
{
	size_t i;

	for (i = 0; i < 14; i++)
		if (!isdigit((unsigned char)name[i]))
			return false;
	if (!name[14])
		return true;
	if (name[14] != '-' || !name[15] || name[15] == '0')
		return false;
	for (i = 15; name[i]; i++)
		if (!isdigit((unsigned char)name[i]) || i > 24)
			return false;
	return true;
}

static unsigned long name_suffix(const char *name)
{
	return name[14] == '-' ? strtoul(name + 15, NULL, 10) : 1;
}

int result_name_cmp_newest_first(const char *a, const char *b)
{
	int c = strncmp(b, a, 14);
	unsigned long sa, sb;

	if (c)
		return c;
	sa = name_suffix(a);
	sb = name_suffix(b);
	return sa < sb ? 1 : sa > sb ? -1 : strcmp(a, b);
}

static int cmp_names(const void *a, const void *b)
{
	return result_name_cmp_newest_first(*(char *const *)a,
					     *(char *const *)b);
}

int result_list(const char *results_dir, char ***names, int *n)
{
	const char *dir = results_dir ? results_dir : DEFAULT_DIR;
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = NULL;
	size_t nv = 0, alloc = 0;

	*names = NULL;
	*n = 0;
	if (!d) {
		if (errno == ENOENT)
			goto done;
		return lab_err_errno(errno, "cannot read the results directory %s",
				     dir);
	}
	while ((de = readdir(d))) {
		if (!result_name_valid(de->d_name))
			continue;
		if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN &&
		    de->d_type != DT_LNK)
			continue;
		if (de->d_type != DT_REG) {
			char *p = xasprintf("%s/%s", dir, de->d_name);
			struct stat sb;
			bool reg = stat(p, &sb) == 0 && S_ISREG(sb.st_mode);

			free(p);
			if (!reg)
				continue;
		}
		if (nv + 1 >= alloc) {
			alloc = alloc ? alloc * 2 : 64;
			v = xrealloc(v, alloc * sizeof(*v));
		}
		v[nv++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (nv > INT_MAX - 1) {
		result_list_free(v, (int)nv);
		return lab_err(LAB_EINVAL, "too many results in %s", dir);
	}
	if (nv)
		qsort(v, nv, sizeof(*v), cmp_names);
done:
	if (!v)
		v = xcalloc(1, sizeof(*v));
	v[nv] = NULL;
	*names = v;
	*n = (int)nv;
	return 0;
}

void result_list_free(char **names, int n)
{
	int i;

	if (!names)
		return;
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* ------------------------------------------------------------ sidecar */

/* A decimal integer at *p (before end), optional '-'; false on overflow. */
static bool take_i64(const char **p, const char *end, int64_t *out)
{
	const char *s = *p;
	bool neg = false;
	uint64_t v = 0;

	if (s < end && *s == '-') {
		neg = true;
		s++;
	}
	if (s >= end || !isdigit((unsigned char)*s))
		return false;
	for (; s < end && isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
		return false;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	*p = s;
	return true;
}

static bool take_tab_i64(const char **p, const char *end, int64_t *out)
{
	if (*p >= end || **p != '\t')
		return false;
	(*p)++;
	return take_i64(p, end, out);
}

static void free_sidecar(struct result *r)
{
	int i;

	for (i = 0; i < r->ngaps; i++)
		free(r->gaps[i].reason);
	free(r->gaps);
	free(r->lines);
	r->gaps = NULL;
	r->ngaps = 0;
	r->lines = NULL;
	r->nlines = 0;
}

int result_parse_sidecar(struct result *r, const char *path,
			 const char *text, size_t len, int64_t *last_t0_wall)
{
	const char *p, *end = text + len;
	int64_t t0 = 0, last_t0 = 0, shift;
	bool have_t0 = false;
	size_t lineno = 0, alloc = 0;

	free_sidecar(r);
	/* The last T0 (power-on) is the reference for every time. */
	for (p = text; p < end; ) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *q = p + 3;
		int64_t v;

		if (!nl)
			break;	/* a record still being written */
		if (nl - p > 3 && !memcmp(p, "T0\t", 3) && take_i64(&q, nl, &v) &&
		    q == nl) {
			last_t0 = v;
			have_t0 = true;
		}
		p = nl + 1;
	}
	if (!have_t0)
		return lab_err(LAB_EFORMAT,
			       "%s has no T0 record: not a labctl sidecar", path);
	if (last_t0_wall)
		*last_t0_wall = last_t0;
	shift = 0;
	for (p = text; p < end; ) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *q;

		lineno++;
		if (!nl)
			break;
		if (nl - p >= 3 && !memcmp(p, "T0\t", 3)) {
			q = p + 3;
			if (!take_i64(&q, nl, &t0) || q != nl ||
			    __builtin_sub_overflow(t0, last_t0, &shift))
				goto bad;
		} else if (nl - p >= 2 && !memcmp(p, "L\t", 2)) {
			struct result_line l;

			q = p + 1;
			if (!take_tab_i64(&q, nl, &l.offset) || l.offset < 0 ||
			    !take_tab_i64(&q, nl, &l.t_ns) ||
			    !take_tab_i64(&q, nl, &l.wall_ns) || q != nl ||
			    __builtin_add_overflow(l.t_ns, shift, &l.t_ns))
				goto bad;
			if (r->nlines && l.offset < r->lines[r->nlines - 1].offset)
				goto bad;
			if (r->nlines == alloc) {
				alloc = alloc ? alloc * 2 : 1024;
				r->lines = xrealloc(r->lines, alloc * sizeof(*r->lines));
			}
			r->lines[r->nlines++] = l;
		} else if (nl - p >= 2 && !memcmp(p, "G\t", 2)) {
			struct result_gap g;
			int64_t end_wall;
			const char *reason;

			q = p + 1;
			if (!take_tab_i64(&q, nl, &g.offset) || g.offset < 0 ||
			    !take_tab_i64(&q, nl, &g.start_ns) ||
			    !take_tab_i64(&q, nl, &g.start_wall_ns) ||
			    !take_tab_i64(&q, nl, &g.end_ns) ||
			    !take_tab_i64(&q, nl, &end_wall) ||
			    q >= nl || *q != '\t' || end_wall < g.start_wall_ns ||
			    __builtin_add_overflow(g.start_ns, shift, &g.start_ns) ||
			    __builtin_add_overflow(g.end_ns, shift, &g.end_ns))
				goto bad;
			reason = q + 1;
			if (memchr(reason, '\0', (size_t)(nl - reason)))
				goto bad;
			if (r->ngaps == INT_MAX)
				goto bad;
			g.reason = xstrndup(reason, (size_t)(nl - reason));
			r->gaps = xrealloc(r->gaps, ((size_t)r->ngaps + 1) *
					   sizeof(*r->gaps));
			r->gaps[r->ngaps++] = g;
		} else {
			goto bad;
		}
		p = nl + 1;
	}
	return 0;
bad:
	free_sidecar(r);
	return lab_err(LAB_EFORMAT, "%s:%zu: not a sidecar record", path,
		       lineno);
}

/* ------------------------------------------------------------ json */

static char *jstr(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_string(v))
		return xstrndup(json_string_value(v), json_string_length(v));
	return NULL;
}

/* Like jstr, but "" is NULL. */
static char *jstr_nonempty(json_t *obj, const char *key)
{
	char *s = jstr(obj, key);

	if (s && !*s) {
		free(s);
		return NULL;
	}
	return s;
}

static bool jnum(json_t *obj, const char *key, double *out)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return true;
}

static int jint(json_t *obj, const char *key, int dflt)
{
	json_t *v = json_object_get(obj, key);
	json_int_t i;

	if (!json_is_integer(v))
		return dflt;
	i = json_integer_value(v);
	return i < 0 ? dflt : i > INT_MAX ? INT_MAX : (int)i;
}

/* A date whose nanoseconds since 1970 fit int64 (before 2262). */
static bool tm_plausible(const struct tm *tm)
{
	return tm->tm_year >= 1970 && tm->tm_year <= 2261 && tm->tm_mon >= 1 &&
	       tm->tm_mon <= 12 && tm->tm_mday >= 1 && tm->tm_mday <= 31 &&
	       tm->tm_hour >= 0 && tm->tm_hour <= 23 && tm->tm_min >= 0 &&
	       tm->tm_min <= 59 && tm->tm_sec >= 0 && tm->tm_sec <= 60;
}

/* "2026-11-21T08:28:12.694180+00:00" (or Z, or no fraction). */
static bool parse_iso(const char *s, int64_t *wall_ns)
{
	struct tm tm = { 0 };
	int64_t frac = 0, scale = 100000000, off = 0;
	const char *p;
	time_t t;
	int n = 0;

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
			 &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
			 &n) != 6 || n != 19)
		return false;
	p = s + n;
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++) {
			frac += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (*p == '+' || *p == '-') {
		int hh, mm;

		if (sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &n) != 2 || n != 5 ||
		    p[6])
			return false;
		off = (hh * 60 + mm) * 60;
		if (*p == '-')
			off = -off;
	} else if (!(*p == 'Z' && !p[1]) && *p) {
		return false;
	}
	if (!tm_plausible(&tm))
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return false;
	*wall_ns = ((int64_t)t - off) * 1000000000 + frac;
	return true;
}

/* The local time a result name says ("YYYYMMDDHHMMSS"), or 0. */
static int64_t name_wall_ns(const char *name)
{
	struct tm tm = { 0 };
	time_t t;

	if (!result_name_valid(name) ||
	    sscanf(name, "%4d%2d%2d%2d%2d%2d", &tm.tm_year, &tm.tm_mon,
		   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6 ||
	    !tm_plausible(&tm))
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	return t == (time_t)-1 ? 0 : (int64_t)t * 1000000000;
}

static double clamp_secs(double v)
{
	/* Keep later arithmetic (ns conversions) well defined. */
	if (!(v > -1e9))
		return v != v ? 0 : -1e9;
	return v > 1e9 ? 1e9 : v;
}

static void load_stages(struct result *r, json_t *arr)
{
	size_t i, n = json_array_size(arr);

	if (!n || n > 10000)
		return;
	r->stages = xcalloc(n, sizeof(*r->stages));
	for (i = 0; i < n; i++) {
		json_t *o = json_array_get(arr, i);
		struct result_stage *s = &r->stages[r->nstages];
		json_t *sb, *reached;
		double d;

		if (!json_is_object(o))
			continue;
		s->stage = jint(o, "stage", r->nstages + 1);
		if (s->stage < 1)
			s->stage = r->nstages + 1;
		s->variant = jstr(o, "variant");
		s->entry = jstr(o, "entry");
		s->start = jnum(o, "start", &d) ? clamp_secs(d) : -1;
		s->end = jnum(o, "end", &d) ? clamp_secs(d) : -1;
		sb = json_object_get(o, "start_byte");
		s->start_byte = json_is_integer(sb) && json_integer_value(sb) >= 0 ?
			json_integer_value(sb) : -1;
		s->line = jint(o, "line", 0);
		reached = json_object_get(o, "reached");
		s->reached = json_is_boolean(reached) ? json_is_true(reached) :
			s->start_byte >= 0;
		if (!s->reached)
			s->start_byte = -1;
		r->nstages++;
	}
}

static void load_variants(struct result *r, json_t *arr)
{
	size_t i, n = json_array_size(arr);

	if (!n || n > 10000)
		return;
	r->variants = xcalloc(n, sizeof(*r->variants));
	for (i = 0; i < n; i++) {
		json_t *o = json_array_get(arr, i);
		struct result_variant *v = &r->variants[r->nvariants];

		if (!json_is_object(o))
			continue;
		v->name = jstr(o, "name");
		v->recipe = jstr(o, "recipe");
		v->arch = jstr(o, "arch");
		v->options = jstr(o, "options");
		v->src = jstr(o, "src");
		v->args = jstr(o, "args");
		if (!v->options && v->args)
			v->options = xstrdup(v->args);
		v->source_rev = jstr(o, "source_rev");
		v->build = jstr(o, "build");
		v->init_sha256 = jstr(o, "init_sha256");
		v->hypervisor_sha256 = jstr(o, "hypervisor_sha256");
		r->nvariants++;
	}
}

static void load_events(struct result *r, json_t *arr)
{
	size_t i, n = json_array_size(arr);

	if (!n || n > 100000)
		return;
	r->events = xcalloc(n, sizeof(*r->events));
	for (i = 0; i < n; i++) {
		json_t *o = json_array_get(arr, i);
		struct result_event *e = &r->events[r->nevents];
		double d;

		if (!json_is_object(o))
			continue;
		e->t = jnum(o, "t", &d) ? clamp_secs(d) : 0;
		e->name = jstr(o, "event");
		e->detail = jstr(o, "detail");
		r->nevents++;
	}
}

static void load_tests(struct result *r, json_t *arr)
{
	size_t i, n = json_array_size(arr);

	if (!n || n > 10000)
		return;
	r->tests = xcalloc(n, sizeof(*r->tests));
	for (i = 0; i < n; i++) {
		json_t *o = json_array_get(arr, i);
		struct result_test *t = &r->tests[r->ntests];
		double d;

		if (!json_is_object(o))
			continue;
		t->name = jstr(o, "name");
		t->command = jstr(o, "command");
		t->verdict = jstr(o, "verdict");
		if (!t->verdict)
			t->verdict = xstrdup("unknown");
		t->reason = jstr(o, "reason");
		t->output = jstr(o, "output");
		t->start = jnum(o, "start", &d) ? clamp_secs(d) : 0;
		t->duration = jnum(o, "duration", &d) ? clamp_secs(d) : 0;
		t->exit_status = jint(o, "exit_status", -1);
		r->ntests++;
	}
}

static const char *known_verdict(const char *v)
{
	static const char *const known[] = { "pass", "fail", "infra" };
	size_t i;

	for (i = 0; v && i < sizeof(known) / sizeof(*known); i++)
		if (!strcmp(v, known[i]))
			return known[i];
	return "unknown";
}

/* Fill r from the run record; false (and *why) when it is not one. */
static bool load_json(struct result *r, const char *text, size_t len,
		      char **why)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, 0, &jerr);
	char *verdict;
	double d;

	if (!root) {
		*why = xasprintf("line %d: %s", jerr.line, jerr.text);
		return false;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		*why = xstrdup("not a JSON object");
		return false;
	}
	r->lab = jstr_nonempty(root, "lab");
	r->lab_file = jstr_nonempty(root, "lab_file");
	r->board = jstr_nonempty(root, "board");
	r->host = jstr_nonempty(root, "host");
	r->started = jstr_nonempty(root, "started");
	if (!parse_iso(r->started, &r->started_wall_ns))
		r->started_wall_ns = 0;
	r->duration = jnum(root, "duration", &d) ? clamp_secs(d) : 0;
	r->decided = jnum(root, "decided", &d) ? clamp_secs(d) : -1;
	verdict = jstr(root, "verdict");
	r->verdict = xstrdup(known_verdict(verdict));
	free(verdict);
	r->reason = jstr_nonempty(root, "reason");
	r->reason_line = jstr_nonempty(root, "line");
	r->reason_line_no = jint(root, "line_no", 0);
	load_stages(r, json_object_get(root, "stages"));
	load_variants(r, json_object_get(root, "variants"));
	load_events(r, json_object_get(root, "events"));
	load_tests(r, json_object_get(root, "tests"));
	r->command = jstr(root, "command");
	r->labctl_version = jstr(root, "labctl_version");
	json_decref(root);
	return true;
}

/* ------------------------------------------------------------ loading */

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

int result_load_mem(const struct result_mem *m, unsigned flags,
		    struct result **out)
{
	struct result *r = xzalloc(sizeof(*r));
	char *lines_path = xasprintf("%s.lines", m->log_path);
	int64_t t0_wall = 0;
	bool sidecar_ok = false;
	char *why = NULL;
	int ret = 0;

	*out = NULL;
	r->log_path = xstrdup(m->log_path);
	r->name = xstrdup(base_name(m->log_path));
	r->decided = -1;
	if (m->json) {
		r->json_path = xasprintf("%s.json", m->log_path);
		if (!load_json(r, m->json, m->json_len, &why)) {
			r->reason = xasprintf("damaged %s (%s)", r->json_path, why);
			free(why);
		}
	} else {
		r->reason = xasprintf("no %s.json (a run still going or killed, a console capture, a copied log)",
				      m->log_path);
	}
	if (!r->verdict)
		r->verdict = xstrdup("unknown");

	if (m->lines) {
		ret = result_parse_sidecar(r, lines_path, m->lines, m->lines_len,
					   &t0_wall);
		sidecar_ok = !ret;
		if (ret && !(flags & RESULT_LINES)) {
			lab_err_clear();
			ret = 0;
		}
		if (ret)
			goto fail;
	}
	if (!r->started_wall_ns) {
		/* No run record: power-on (last T0), else the name's time. */
		r->started_wall_ns = sidecar_ok ? t0_wall : name_wall_ns(r->name);
		if (!r->started_wall_ns)
			r->started_wall_ns = m->mtime_ns;
	}
	if (!m->json || !r->lab) {
		if (sidecar_ok && r->nlines && r->lines[r->nlines - 1].t_ns > 0)
			r->duration = r->lines[r->nlines - 1].t_ns / 1e9;
		else if (r->started_wall_ns > 0 && m->mtime_ns > r->started_wall_ns)
			r->duration = clamp_secs((m->mtime_ns - r->started_wall_ns) / 1e9);
	}
	if (!(flags & RESULT_LINES))
		free_sidecar(r);
	if (flags & RESULT_LOG) {
		r->log = xmalloc(m->log_len + 1);
		if (m->log_len)
			memcpy(r->log, m->log, m->log_len);
		r->log[m->log_len] = 0;
		r->log_len = m->log_len;
	}
	free(lines_path);
	*out = r;
	return 0;
fail:
	free(lines_path);
	result_free(r);
	return ret;
}

int result_from_record(const char *text, size_t len, struct result **out)
{
	json_t *root = json_loadb(text, len, 0, NULL);
	const char *log = json_string_value(json_object_get(root, "log"));
	struct result *r;
	char *why = NULL;

	*out = NULL;
	if (!log || !*log) {
		json_decref(root);
		return lab_err(LAB_EFORMAT, "not a run record (no \"log\")");
	}
	r = xzalloc(sizeof(*r));
	r->log_path = xstrdup(log);
	r->name = xstrdup(base_name(log));
	r->json_path = xasprintf("%s.json", log);
	r->decided = -1;
	json_decref(root);
	if (!load_json(r, text, len, &why)) {	/* it parsed above: cannot fail */
		free(why);
		result_free(r);
		return lab_err(LAB_EFORMAT, "not a run record");
	}
	*out = r;
	return 0;
}

int result_resolve(const char *what, const char *results_dir,
		   char **log_path)
{
	const char *dir = results_dir ? results_dir : DEFAULT_DIR;
	size_t wl = strlen(what);
	char *base, *p;
	char **names = NULL;
	struct stat sb;
	int n = 0, i, ret, hits = 0;
	const char *hit = NULL;

	if (!wl)
		return lab_err(LAB_ENOENT, "which result? (an empty name)");
	base = xstrdup(what);
	if (wl > 5 && !strcmp(base + wl - 5, ".json"))
		base[wl - 5] = 0;
	else if (wl > 6 && !strcmp(base + wl - 6, ".lines"))
		base[wl - 6] = 0;
	if (stat(base, &sb) == 0 && S_ISREG(sb.st_mode)) {
		*log_path = base;
		return 0;
	}
	if (strchr(what, '/')) {
		ret = lab_err(LAB_ENOENT, "no result %s: %s", what,
			      stat(base, &sb) ? strerror(errno) :
			      "not a regular file");
		free(base);
		return ret;
	}
	ret = result_list(dir, &names, &n);
	if (ret) {
		free(base);
		return ret;
	}
	if (!strcmp(base, "latest")) {
		if (n)
			*log_path = xasprintf("%s/%s", dir, names[0]);
		else
			ret = lab_err(LAB_ENOENT, "no results in %s/ yet (labctl run writes them)",
				      dir);
		goto out;
	}
	p = xasprintf("%s/%s", dir, base);
	if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode)) {
		*log_path = p;
		goto out;
	}
	free(p);
	for (i = 0; i < n; i++) {
		if (!strncmp(names[i], base, strlen(base))) {
			hits++;
			hit = names[i];
		}
	}
	if (hits == 1) {
		*log_path = xasprintf("%s/%s", dir, hit);
	} else if (hits > 1) {
		struct strbuf sb2 = STRBUF_INIT;
		int shown = 0;

		for (i = 0; i < n && shown < 5; i++) {
			if (strncmp(names[i], base, strlen(base)))
				continue;
			strbuf_addf(&sb2, "%s%s", shown ? ", " : "", names[i]);
			shown++;
		}
		ret = lab_err(LAB_EINVAL,
			      "'%s' names %d results in %s/ (%s%s): give more of the name",
			      base, hits, dir, strbuf_str(&sb2),
			      hits > shown ? ", ..." : "");
		strbuf_release(&sb2);
	} else {
		ret = lab_err(LAB_ENOENT,
			      "no result '%s' (neither a file nor a result in %s/; see labctl results)",
			      base, dir);
	}
out:
	result_list_free(names, n);
	free(base);
	return ret;
}

/* Read a side file; *missing when it does not exist. */
static int read_side(const char *path, size_t max, struct strbuf *sb,
		     bool *missing)
{
	int ret = strbuf_read_file(sb, path, max);

	*missing = false;
	if (ret == -LAB_ENOENT) {
		lab_err_clear();
		*missing = true;
		return 0;
	}
	return ret;
}

int result_load(const char *what, const char *results_dir, unsigned flags,
		struct result **out)
{
	const char *dir = results_dir ? results_dir : DEFAULT_DIR;
	struct strbuf js = STRBUF_INIT, side = STRBUF_INIT, log = STRBUF_INIT;
	struct result_mem m = { 0 };
	char *log_path = NULL, *json_path = NULL, *lines_path = NULL;
	bool no_json, no_side;
	struct stat st;
	int ret;

	*out = NULL;
	ret = result_resolve(what, dir, &log_path);
	if (ret)
		return ret;
	if (stat(log_path, &st)) {
		ret = lab_err_errno(errno, "cannot read %s", log_path);
		goto out;
	}
	json_path = xasprintf("%s.json", log_path);
	lines_path = xasprintf("%s.lines", log_path);
	ret = read_side(json_path, MAX_JSON, &js, &no_json);
	if (ret == -LAB_EFORMAT) {	/* too big: damaged, not fatal */
		lab_err_clear();
		strbuf_reset(&js);
		strbuf_addstr(&js, "(too big)");
		ret = 0;
	}
	if (!ret)
		ret = read_side(lines_path, MAX_SIDECAR, &side, &no_side);
	if (!ret && (flags & RESULT_LOG))
		ret = strbuf_read_file(&log, log_path, 0);
	if (ret)
		goto out;
	m.log_path = log_path;
	m.json = no_json ? NULL : strbuf_str(&js);
	m.json_len = js.len;
	m.lines = no_side ? NULL : strbuf_str(&side);
	m.lines_len = side.len;
	m.log = strbuf_str(&log);
	m.log_len = log.len;
	m.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	ret = result_load_mem(&m, flags, out);
out:
	strbuf_release(&js);
	strbuf_release(&side);
	strbuf_release(&log);
	free(log_path);
	free(json_path);
	free(lines_path);
	return ret;
}

void result_free(struct result *r)
{
	if (!r)
		return;
	result_release(r);
	free(r);
}

void result_release(struct result *r)
{
	int i;

	for (i = 0; i < r->nstages; i++) {
		free(r->stages[i].variant);
		free(r->stages[i].entry);
	}
	free(r->stages);
	for (i = 0; i < r->nvariants; i++) {
		struct result_variant *v = &r->variants[i];

		free(v->name);
		free(v->recipe);
		free(v->arch);
		free(v->options);
		free(v->src);
		free(v->args);
		free(v->source_rev);
		free(v->build);
		free(v->init_sha256);
		free(v->hypervisor_sha256);
	}
	free(r->variants);
	for (i = 0; i < r->nevents; i++) {
		free(r->events[i].name);
		free(r->events[i].detail);
	}
	free(r->events);
	for (i = 0; i < r->ntests; i++) {
		free(r->tests[i].name);
		free(r->tests[i].command);
		free(r->tests[i].verdict);
		free(r->tests[i].reason);
		free(r->tests[i].output);
	}
	free(r->tests);
	free_sidecar(r);
	free(r->name);
	free(r->log_path);
	free(r->json_path);
	free(r->lab);
	free(r->lab_file);
	free(r->board);
	free(r->host);
	free(r->started);
	free(r->verdict);
	free(r->reason);
	free(r->reason_line);
	free(r->command);
	free(r->labctl_version);
	free(r->log);
	memset(r, 0, sizeof(*r));
}

/* ------------------------------------------------------------ writing */

static json_t *stage_json(const struct result_stage *s)
{
	json_t *o = json_object();

	json_object_set_new(o, "stage", json_integer(s->stage));
	lab_json_set(o, "variant", lab_json_str(s->variant));
	lab_json_set(o, "entry", lab_json_str(s->entry));
	json_object_set_new(o, "reached", json_boolean(s->reached));
	if (s->reached) {
		json_object_set_new(o, "start", lab_json_seconds(s->start));
		json_object_set_new(o, "end", lab_json_seconds(s->end));
		json_object_set_new(o, "start_byte", json_integer(s->start_byte));
		json_object_set_new(o, "line", json_integer(s->line));
	}
	return o;
}

static json_t *variant_json(const struct result_variant *v)
{
	json_t *o = json_object();

	lab_json_set(o, "name", lab_json_str(v->name));
	lab_json_set(o, "recipe", lab_json_str(v->recipe));
	if (v->recipe && !strcmp(v->recipe, "standin")) {
		lab_json_set(o, "arch", lab_json_str(v->arch));
		lab_json_set(o, "options", lab_json_str(v->options));
	} else {
		lab_json_set(o, "src", lab_json_str(v->src));
		lab_json_set(o, "args", lab_json_str(v->args));
	}
	lab_json_set(o, "source_rev", lab_json_str(v->source_rev));
	lab_json_set(o, "build", lab_json_str(v->build));
	lab_json_set(o, "init_sha256", lab_json_str(v->init_sha256));
	lab_json_set(o, "hypervisor_sha256", lab_json_str(v->hypervisor_sha256));
	return o;
}

static json_t *test_json(const struct result_test *t)
{
	json_t *o = json_object();

	lab_json_set(o, "name", lab_json_str(t->name));
	lab_json_set(o, "command", lab_json_str(t->command));
	lab_json_set(o, "verdict", lab_json_str(t->verdict));
	lab_json_set(o, "reason", lab_json_str(t->reason ? t->reason : ""));
	json_object_set_new(o, "start", lab_json_seconds(t->start));
	json_object_set_new(o, "duration", lab_json_seconds(t->duration));
	json_object_set_new(o, "exit_status", json_integer(t->exit_status));
	lab_json_set(o, "output", lab_json_str(t->output ? t->output : ""));
	return o;
}

json_t *result_to_json(const struct result *r)
{
	json_t *o = json_object(), *a;
	int i;

	lab_json_set(o, "log", lab_json_str(r->log_path));
	lab_json_set(o, "lab", lab_json_str(r->lab));
	lab_json_set(o, "lab_file", lab_json_str(r->lab_file));
	lab_json_set(o, "board", lab_json_str(r->board));
	lab_json_set(o, "host", lab_json_str(r->host));
	lab_json_set(o, "started", lab_json_str(r->started));
	json_object_set_new(o, "duration", lab_json_seconds(r->duration));
	json_object_set_new(o, "decided", lab_json_seconds(r->decided));
	/* Wall clock of the verdict, for measuring what comes after it. */
	json_object_set_new(o, "decided_wall",
			    lab_json_secs(r->started_wall_ns +
					  llround(r->decided * 1e9)));
	lab_json_set(o, "verdict", lab_json_str(r->verdict));
	lab_json_set(o, "reason", lab_json_str(r->reason ? r->reason : ""));
	lab_json_set(o, "line", lab_json_str(r->reason_line ? r->reason_line : ""));
	json_object_set_new(o, "line_no", json_integer(r->reason_line_no));
	a = json_array();
	for (i = 0; i < r->nstages; i++)
		json_array_append_new(a, stage_json(&r->stages[i]));
	json_object_set_new(o, "stages", a);
	a = json_array();
	for (i = 0; i < r->nvariants; i++)
		json_array_append_new(a, variant_json(&r->variants[i]));
	json_object_set_new(o, "variants", a);
	a = json_array();
	for (i = 0; i < r->nevents; i++) {
		json_t *e = json_object();

		json_object_set_new(e, "t", lab_json_seconds(r->events[i].t));
		lab_json_set(e, "event", lab_json_str(r->events[i].name));
		lab_json_set(e, "detail", lab_json_str(r->events[i].detail ?
						       r->events[i].detail : ""));
		json_array_append_new(a, e);
	}
	json_object_set_new(o, "events", a);
	if (r->ntests) {
		a = json_array();
		for (i = 0; i < r->ntests; i++)
			json_array_append_new(a, test_json(&r->tests[i]));
		json_object_set_new(o, "tests", a);
	}
	lab_json_set(o, "command", lab_json_str(r->command));
	lab_json_set(o, "labctl_version", lab_json_str(r->labctl_version));
	return o;
}

int result_write_json(const struct result *r, const char *path)
{
	json_t *doc = result_to_json(r);
	int ret = lab_json_write_atomic(path, doc, 0644);

	json_decref(doc);
	return ret;
}

/* ------------------------------------------------------------ stages */

bool result_has_stages(const struct result *r)
{
	int i;

	for (i = 0; i < r->nstages; i++)
		if (r->stages[i].start_byte >= 0)
			return true;
	return false;
}

int result_stage_range(const struct result *r, int stage, uint64_t size,
		       uint64_t *start, uint64_t *end)
{
	int i, k = -1;

	if (!result_has_stages(r))
		return lab_err(LAB_ENOENT, "%s has no stage information (%s)",
			       r->name, r->json_path ? "no stage was reached" :
			       "no .json");
	if (stage == 0) {
		*start = 0;
		*end = size;
		for (i = 0; i < r->nstages; i++) {
			if (r->stages[i].start_byte >= 0) {
				*end = (uint64_t)r->stages[i].start_byte;
				break;
			}
		}
	} else {
		for (i = 0; i < r->nstages; i++)
			if (r->stages[i].stage == stage)
				k = i;
		if (k < 0)
			return lab_err(LAB_ENOENT,
				       "there is no stage %d (the run had %d)",
				       stage, r->nstages);
		if (r->stages[k].start_byte < 0)
			return lab_err(LAB_ENOENT,
				       "stage %d was not reached in this run", stage);
		*start = (uint64_t)r->stages[k].start_byte;
		*end = size;
		for (i = k + 1; i < r->nstages; i++) {
			if (r->stages[i].start_byte >= 0) {
				*end = (uint64_t)r->stages[i].start_byte;
				break;
			}
		}
	}
	if (*start > size)
		*start = size;
	if (*end > size || *end < *start)
		*end = size;
	return 0;
}

int result_stage_at(const struct result *r, uint64_t offset)
{
	int i, stage = 0;

	if (!result_has_stages(r))
		return -1;
	for (i = 0; i < r->nstages; i++) {
		const struct result_stage *s = &r->stages[i];

		if (s->start_byte >= 0 && (uint64_t)s->start_byte <= offset)
			stage = s->stage;
	}
	return stage;
}
