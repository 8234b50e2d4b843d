// SPDX-License-Identifier: MIT
/*
 * Stage-aligned unified diffs of two results (report/diff.h).
 *
 * Written here rather than running diff -u on temp files: the lines come
 * in groups (one diff per stage), the hunk headers carry raw-log line
 * numbers that diff(1) cannot know, --json needs the hunks as data, and
 * no temp files or child processes are left behind by a killed labctl.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/color.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/xmalloc.h"
#include "report/diff.h"
#include "report/grep.h"

/* ------------------------------------------------------------ Myers */

struct myers {
	const int *a, *b;
	bool *ca, *cb;
	ptrdiff_t *fd, *bd;	/* furthest x per diagonal k = x - y */
	ptrdiff_t too_expensive;
};

/*
 * The middle snake of a[xoff..xlim) vs b[yoff..ylim) (both non-empty,
 * no common first or last element): a point on an optimal path, or with
 * the cost cut-off a good one.
 */
static void midpoint(struct myers *m, ptrdiff_t xoff, ptrdiff_t xlim,
		     ptrdiff_t yoff, ptrdiff_t ylim, ptrdiff_t *xmid,
		     ptrdiff_t *ymid)
{
	ptrdiff_t *fd = m->fd, *bd = m->bd;
	ptrdiff_t dmin = xoff - ylim, dmax = xlim - yoff;
	ptrdiff_t fmid = xoff - yoff, bmid = xlim - ylim;
	ptrdiff_t fmin = fmid, fmax = fmid, bmin = bmid, bmax = bmid;
	bool odd = (fmid - bmid) & 1;
	ptrdiff_t c, d;

	fd[fmid] = xoff;
	bd[bmid] = xlim;
	for (c = 1;; c++) {
		/* Forward: one more edit on every diagonal in reach. */
		if (fmin > dmin)
			fd[--fmin - 1] = -1;
		else
			++fmin;
		if (fmax < dmax)
			fd[++fmax + 1] = -1;
		else
			--fmax;
		for (d = fmax; d >= fmin; d -= 2) {
			ptrdiff_t tlo = fd[d - 1], thi = fd[d + 1];
			ptrdiff_t x = tlo >= thi ? tlo + 1 : thi, y = x - d;

			while (x < xlim && y < ylim && m->a[x] == m->b[y]) {
				x++;
				y++;
			}
			fd[d] = x;
			if (odd && bmin <= d && d <= bmax && bd[d] <= x) {
				*xmid = x;
				*ymid = y;
				return;
			}
		}
		/* Backward. */
		if (bmin > dmin)
			bd[--bmin - 1] = PTRDIFF_MAX;
		else
			++bmin;
		if (bmax < dmax)
			bd[++bmax + 1] = PTRDIFF_MAX;
		else
			--bmax;
		for (d = bmax; d >= bmin; d -= 2) {
			ptrdiff_t tlo = bd[d - 1], thi = bd[d + 1];
			ptrdiff_t x = tlo < thi ? tlo : thi - 1, y = x - d;

			while (x > xoff && y > yoff && m->a[x - 1] == m->b[y - 1]) {
				x--;
				y--;
			}
			bd[d] = x;
			if (!odd && fmin <= d && d <= fmax && x <= fd[d]) {
				*xmid = x;
				*ymid = y;
				return;
			}
		}
		if (c >= m->too_expensive) {
			/* Very different inputs: settle for the furthest
			 * forward or backward point (GNU diff's heuristic). */
			ptrdiff_t fxy = -1, fx = xoff, bxy = PTRDIFF_MAX, bx = xlim;

			for (d = fmax; d >= fmin; d -= 2) {
				ptrdiff_t x = fd[d] < xlim ? fd[d] : xlim, y = x - d;

				if (y > ylim) {
					x = ylim + d;
					y = ylim;
				}
				if (x + y > fxy) {
					fxy = x + y;
					fx = x;
				}
			}
			for (d = bmax; d >= bmin; d -= 2) {
				ptrdiff_t x = bd[d] > xoff ? bd[d] : xoff, y = x - d;

				if (y < yoff) {
					x = yoff + d;
					y = yoff;
				}
				if (x + y < bxy) {
					bxy = x + y;
					bx = x;
				}
			}
			if ((xlim + ylim) - bxy < fxy - (xoff + yoff)) {
				*xmid = fx;
				*ymid = fxy - fx;
			} else {
				*xmid = bx;
				*ymid = bxy - bx;
			}
			return;
		}
	}
}

static void compareseq(struct myers *m, ptrdiff_t xoff, ptrdiff_t xlim,
		       ptrdiff_t yoff, ptrdiff_t ylim)
{
	for (;;) {
		ptrdiff_t xmid, ymid, i;

		while (xoff < xlim && yoff < ylim && m->a[xoff] == m->b[yoff]) {
			xoff++;
			yoff++;
		}
		while (xlim > xoff && ylim > yoff &&
		       m->a[xlim - 1] == m->b[ylim - 1]) {
			xlim--;
			ylim--;
		}
		if (xoff == xlim || yoff == ylim) {
			for (i = yoff; i < ylim; i++)
				m->cb[i] = true;
			for (i = xoff; i < xlim; i++)
				m->ca[i] = true;
			return;
		}
		midpoint(m, xoff, xlim, yoff, ylim, &xmid, &ymid);
		if ((xmid == xoff && ymid == yoff) ||
		    (xmid == xlim && ymid == ylim) || xmid < xoff ||
		    xmid > xlim || ymid < yoff || ymid > ylim) {
			/* No progress (cannot happen on an exact snake):
			 * call the rest changed rather than loop. */
			for (i = yoff; i < ylim; i++)
				m->cb[i] = true;
			for (i = xoff; i < xlim; i++)
				m->ca[i] = true;
			return;
		}
		compareseq(m, xoff, xmid, yoff, ymid);
		xoff = xmid;
		yoff = ymid;
	}
}

void report_diff_ids(const int *a, size_t na, const int *b, size_t nb,
		     bool *changed_a, bool *changed_b)
{
	struct myers m = { .a = a, .b = b, .ca = changed_a, .cb = changed_b };
	size_t diags = na + nb + 3, k;
	ptrdiff_t *fd, *bd;

	if (!na && !nb)
		return;
	fd = xcalloc(diags, sizeof(*fd));
	bd = xcalloc(diags, sizeof(*bd));
	/* Diagonals run from -nb - 1 to na + 1. */
	m.fd = fd + nb + 1;
	m.bd = bd + nb + 1;
	m.too_expensive = 1;
	for (k = diags; k; k >>= 2)
		m.too_expensive <<= 1;
	if (m.too_expensive < 4096)
		m.too_expensive = 4096;
	compareseq(&m, 0, (ptrdiff_t)na, 0, (ptrdiff_t)nb);
	free(fd);
	free(bd);
}

/* ------------------------------------------------------------ lines */

struct dline {
	size_t off, len;	/* in the side's text arena */
	int line_no;
	int id;
};

struct side {
	const struct result *r;
	struct strbuf text;
	struct dline *v;
	size_t n, alloc;
	const char *note;	/* why it has no lines: NULL, or a reason */
};

static void side_reset(struct side *s)
{
	strbuf_reset(&s->text);
	s->n = 0;
	s->note = NULL;
}

static void side_add(struct side *s, const struct report_lines *it)
{
	if (s->n == s->alloc) {
		s->alloc = s->alloc ? s->alloc * 2 : 256;
		s->v = xrealloc(s->v, s->alloc * sizeof(*s->v));
	}
	s->v[s->n].off = s->text.len;
	s->v[s->n].len = it->text.len;
	s->v[s->n].line_no = it->line_no;
	s->v[s->n].id = -1;
	s->n++;
	strbuf_add(&s->text, it->text.buf, it->text.len);
}

static bool ignored(const struct report_diff_opts *o,
		    const struct report_lines *it)
{
	int i;

	for (i = 0; i < o->nignore; i++)
		if (report_matcher_match(o->ignore[i], it->text.buf, it->text.len))
			return true;
	return false;
}

/* The lines of stage (or all with stage < 0) that pass the filter and
 * are not ignored. */
static void side_collect(struct side *s, int stage,
			 const struct report_diff_opts *o)
{
	const char *filter = o->filter;
	size_t filter_len = filter ? strlen(filter) : 0;
	uint64_t start = 0, end = s->r->log_len;
	struct report_lines it;

	side_reset(s);
	if (stage >= 0 &&
	    result_stage_range(s->r, stage, s->r->log_len, &start, &end)) {
		lab_err_clear();
		s->note = stage > 0 && report_stage_variant(s->r, stage) ?
			"not reached" : "no such stage";
		return;
	}
	report_lines_init(&it, s->r, start, end);
	while (report_lines_next(&it))
		if ((!filter ||
		     memmem(it.text.buf, it.text.len, filter, filter_len)) &&
		    !ignored(o, &it))
			side_add(s, &it);
	report_lines_release(&it);
}

static const char *line_text(const struct side *s, size_t i, size_t *len)
{
	*len = s->v[i].len;
	return s->text.buf + s->v[i].off;
}

static uint64_t hash_bytes(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;	/* FNV-1a */
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* Give equal lines of both sides the same id. */
static void intern(struct side *a, struct side *b)
{
	struct slot {
		uint64_t h;
		const struct side *s;
		size_t i;
		int id;
	} *tab;
	size_t total = a->n + b->n, size = 16, mask, k, i;
	struct side *sides[2] = { a, b };
	int next = 0;

	while (size < total * 2)
		size *= 2;
	mask = size - 1;
	tab = xcalloc(size, sizeof(*tab));
	for (k = 0; k < 2; k++) {
		struct side *s = sides[k];

		for (i = 0; i < s->n; i++) {
			size_t len, olen;
			const char *t = line_text(s, i, &len);
			uint64_t h = hash_bytes(t, len);
			size_t j = (size_t)h & mask;

			for (;; j = (j + 1) & mask) {
				const char *o;

				if (!tab[j].s) {
					tab[j].h = h;
					tab[j].s = s;
					tab[j].i = i;
					tab[j].id = next++;
					break;
				}
				if (tab[j].h != h)
					continue;
				o = line_text(tab[j].s, tab[j].i, &olen);
				if (olen == len && !memcmp(o, t, len))
					break;
			}
			s->v[i].id = tab[j].id;
		}
	}
	free(tab);
}

/* ------------------------------------------------------------ output */

struct op {
	char kind;	/* ' ', '-', '+' */
	size_t ia, ib;	/* indexes into the sides (ia for ' ' and '-') */
};

static json_t *json_line(const struct side *s, size_t i)
{
	size_t len;
	const char *t = line_text(s, i, &len);
	char *z = xstrndup(t, len);
	json_t *j = lab_json_str(z);

	free(z);
	return j;
}

static void emit_text_line(struct strbuf *out, char kind,
			   const struct side *s, size_t i, bool color)
{
	size_t len;
	const char *t = line_text(s, i, &len);

	color = color && kind != ' ';
	if (color)
		strbuf_addstr(out, color_sgr(kind == '+' ? COLOR_ADD : COLOR_DEL));
	strbuf_addch(out, kind);
	strbuf_add(out, t, len);
	if (color)
		strbuf_addstr(out, COLOR_RESET);
	strbuf_addch(out, '\n');
}

/* The raw line number of the last line of one side before ops[start]. */
static int line_before(const struct side *s, const struct op *ops,
		       size_t start, bool side_a)
{
	size_t j;

	for (j = start; j-- > 0;)
		if (ops[j].kind != (side_a ? '+' : '-'))
			return s->v[side_a ? ops[j].ia : ops[j].ib].line_no;
	return 0;
}

/*
 * Emit the hunks of ops[0..nops) as text, or into the array hunks when
 * it is not NULL (--json); returns whether anything differs.
 */
static bool emit_hunks(struct strbuf *out, const struct side *a,
		       const struct side *b, const struct op *ops, size_t nops,
		       int context, json_t *hunks, bool color)
{
	size_t k = 0;
	bool differ = false;

	while (k < nops) {
		size_t first_change, start, stop, j, last_change;
		int a_first = 0, b_first = 0, a_count = 0, b_count = 0;

		while (k < nops && ops[k].kind == ' ')
			k++;
		if (k >= nops)
			break;
		differ = true;
		first_change = k;
		last_change = k;
		/* Extend while the next change is within 2*context. */
		for (j = k; j < nops; j++) {
			if (ops[j].kind != ' ')
				last_change = j;
			else if (j - last_change > (size_t)context * 2)
				break;
		}
		start = first_change > (size_t)context ?
			first_change - (size_t)context : 0;
		stop = last_change + (size_t)context + 1;
		if (stop > nops)
			stop = nops;
		for (j = start; j < stop; j++) {
			if (ops[j].kind != '+') {
				if (!a_count)
					a_first = a->v[ops[j].ia].line_no;
				a_count++;
			}
			if (ops[j].kind != '-') {
				if (!b_count)
					b_first = b->v[ops[j].ib].line_no;
				b_count++;
			}
		}
		/* An empty side names the line before the hunk, as diff -u. */
		if (!a_count)
			a_first = line_before(a, ops, start, true);
		if (!b_count)
			b_first = line_before(b, ops, start, false);
		if (hunks) {
			json_t *h = json_object(), *lines = json_array();

			json_object_set_new(h, "a_start", json_integer(a_first));
			json_object_set_new(h, "a_count", json_integer(a_count));
			json_object_set_new(h, "b_start", json_integer(b_first));
			json_object_set_new(h, "b_count", json_integer(b_count));
			for (j = start; j < stop; j++) {
				const struct op *o = &ops[j];
				json_t *l = json_object();
				char op[2] = { o->kind, 0 };

				json_object_set_new(l, "op", json_string(op));
				lab_json_set(l, "a_line", o->kind != '+' ?
					     json_integer(a->v[o->ia].line_no) : NULL);
				lab_json_set(l, "b_line", o->kind != '-' ?
					     json_integer(b->v[o->ib].line_no) : NULL);
				json_object_set_new(l, "text",
						    json_line(o->kind == '+' ? b : a,
							      o->kind == '+' ? o->ib : o->ia));
				json_array_append_new(lines, l);
			}
			json_object_set_new(h, "lines", lines);
			json_array_append_new(hunks, h);
		} else {
			strbuf_addf(out, "%s@@ -%d,%d +%d,%d @@%s\n",
				    color ? color_sgr(COLOR_HUNK) : "", a_first,
				    a_count, b_first, b_count,
				    color ? COLOR_RESET : "");
			for (j = start; j < stop; j++) {
				const struct op *o = &ops[j];

				emit_text_line(out, o->kind, o->kind == '+' ? b : a,
					       o->kind == '+' ? o->ib : o->ia,
					       color);
			}
		}
		k = stop;
	}
	return differ;
}

/* The edit script of a vs b: deletions before insertions in a change. */
static struct op *script(const struct side *a, const struct side *b,
			 const bool *ca, const bool *cb, size_t *nops,
			 size_t *removed, size_t *added)
{
	struct op *ops = xcalloc(a->n + b->n + 1, sizeof(*ops));
	size_t i = 0, j = 0, n = 0;

	*removed = *added = 0;
	while (i < a->n || j < b->n) {
		if (i < a->n && ca[i]) {
			ops[n++] = (struct op){ '-', i++, j };
			(*removed)++;
		} else if (j < b->n && cb[j]) {
			ops[n++] = (struct op){ '+', i, j++ };
			(*added)++;
		} else if (i < a->n && j < b->n) {
			ops[n++] = (struct op){ ' ', i++, j++ };
		} else {
			break;	/* cannot happen: both ends are in step */
		}
	}
	*nops = n;
	return ops;
}

static void stage_name(struct strbuf *out, const struct side *s, int stage)
{
	const char *v = stage > 0 ? report_stage_variant(s->r, stage) : NULL;

	if (s->note && !v)
		strbuf_addf(out, "(%s)", s->note);
	else if (s->note)
		strbuf_addf(out, "%s (%s)", v, s->note);
	else if (v)
		strbuf_addstr(out, v);
	else
		strbuf_addstr(out, stage == 0 ? "firmware, GRUB" : "?");
}

/*
 * Compare one group, as text or (groups not NULL, --json) as an object
 * added to groups; returns whether it differs.
 */
static bool diff_group(struct strbuf *out, struct side *a, struct side *b,
		       int stage, const struct report_diff_opts *o,
		       json_t *groups)
{
	json_t *g = NULL, *hunks = NULL;
	bool *ca = xcalloc(a->n + 1, sizeof(*ca));
	bool *cb = xcalloc(b->n + 1, sizeof(*cb));
	int *ia = xcalloc(a->n + 1, sizeof(*ia));
	int *ib = xcalloc(b->n + 1, sizeof(*ib));
	size_t i, nops, removed, added;
	struct strbuf na = STRBUF_INIT, nb = STRBUF_INIT;
	struct op *ops;
	bool differ;

	intern(a, b);
	for (i = 0; i < a->n; i++)
		ia[i] = a->v[i].id;
	for (i = 0; i < b->n; i++)
		ib[i] = b->v[i].id;
	report_diff_ids(ia, a->n, ib, b->n, ca, cb);
	ops = script(a, b, ca, cb, &nops, &removed, &added);
	stage_name(&na, a, stage);
	stage_name(&nb, b, stage);
	if (groups) {
		g = json_object();
		hunks = json_array();
		lab_json_set(g, "stage", stage >= 0 ? json_integer(stage) : NULL);
		lab_json_set(g, "a", lab_json_str(strbuf_str(&na)));
		lab_json_set(g, "b", lab_json_str(strbuf_str(&nb)));
		json_object_set_new(g, "a_lines", json_integer((json_int_t)a->n));
		json_object_set_new(g, "b_lines", json_integer((json_int_t)b->n));
		json_object_set_new(g, "removed", json_integer((json_int_t)removed));
		json_object_set_new(g, "added", json_integer((json_int_t)added));
		json_object_set_new(g, "same", json_boolean(!removed && !added));
	} else {
		if (o->color)
			strbuf_addstr(out, color_sgr(COLOR_HUNK));
		if (stage == 0)
			strbuf_addstr(out, "=== stage 0 (before stage 1: firmware, GRUB): ");
		else if (stage > 0)
			strbuf_addf(out, "=== stage %d: %s | %s: ", stage,
				    strbuf_str(&na), strbuf_str(&nb));
		else
			strbuf_addstr(out, "=== the whole logs (no stage information): ");
		if (removed || added)
			strbuf_addf(out, "%zu line%s only in A, %zu only in B\n",
				    removed, removed == 1 ? "" : "s", added);
		else
			strbuf_addf(out, "same, %zu line%s\n", a->n,
				    a->n == 1 ? "" : "s");
		if (o->color) {	/* the reset before the newline */
			strbuf_setlen(out, out->len - 1);
			strbuf_addstr(out, COLOR_RESET "\n");
		}
	}
	differ = emit_hunks(out, a, b, ops, nops, o->context, hunks, o->color);
	if (g) {
		json_object_set_new(g, "hunks", hunks);
		json_array_append_new(groups, g);
	}
	strbuf_release(&na);
	strbuf_release(&nb);
	free(ops);
	free(ca);
	free(cb);
	free(ia);
	free(ib);
	return differ;
}

static int cmp_int(const void *x, const void *y)
{
	int a = *(const int *)x, b = *(const int *)y;

	return (a > b) - (a < b);
}

static json_t *header_json(const struct result *r, const char *label)
{
	json_t *h = json_object();

	lab_json_set(h, "result", lab_json_str(label));
	lab_json_set(h, "verdict", lab_json_str(r->verdict ? r->verdict : "unknown"));
	return h;
}

static void header_text(struct strbuf *out, const char *mark,
			const struct result *r, const char *label, bool color)
{
	int i;

	strbuf_addf(out, "%s%s %s\t(", color ? color_sgr(COLOR_META) : "", mark,
		    label);
	if (r->lab)
		strbuf_addf(out, "%s: ", r->lab);
	for (i = 0; i < r->nstages; i++)
		strbuf_addf(out, "%s%s", i ? " -> " : "",
			    r->stages[i].variant ? r->stages[i].variant : "?");
	strbuf_addf(out, "%s%s)%s\n", r->nstages ? ", " : "", r->verdict,
		    color ? COLOR_RESET : "");
}

int report_diff(const struct result *a, const struct result *b,
		const struct report_diff_opts *opts, struct strbuf *out)
{
	const char *la = opts->label_a ? opts->label_a : a->name;
	const char *lb = opts->label_b ? opts->label_b : b->name;
	struct side sa = { .r = a }, sb = { .r = b };
	struct report_diff_opts o = *opts;
	bool staged = result_has_stages(a) && result_has_stages(b);
	json_t *doc = NULL, *groups = NULL;	/* --json */
	bool differ = false;
	int *stages, nst = 0, i;
	int ret = 0;

	if (o.context < 0)
		o.context = 3;
	if (o.stage >= 0 && !staged) {
		const struct result *r = result_has_stages(a) ? b : a;

		return lab_err(LAB_ENOENT,
			       "%s has no stage information (%s), so --stage cannot align it",
			       r == a ? la : lb, r->json_path ? "no stage reached" :
			       "no .json");
	}
	stages = xcalloc((size_t)a->nstages + (size_t)b->nstages + 1,
			 sizeof(*stages));
	if (staged) {
		stages[nst++] = 0;
		for (i = 0; i < a->nstages; i++)
			stages[nst++] = a->stages[i].stage;
		for (i = 0; i < b->nstages; i++)
			stages[nst++] = b->stages[i].stage;
		qsort(stages, (size_t)nst, sizeof(*stages), cmp_int);
	} else {
		stages[nst++] = -1;
	}
	if (o.stage >= 0) {
		bool found = false;

		for (i = 0; i < nst; i++)
			found |= stages[i] == o.stage;
		if (!found) {
			ret = lab_err(LAB_ENOENT,
				      "there is no stage %d in %s (%d stages) or %s (%d stages)",
				      o.stage, la, a->nstages, lb, b->nstages);
			goto out;
		}
	}
	if (o.json) {
		doc = json_object();
		groups = json_array();
		json_object_set_new(doc, "a", header_json(a, la));
		json_object_set_new(doc, "b", header_json(b, lb));
		lab_json_set(doc, "filter", lab_json_str(o.filter));
		json_object_set_new(doc, "stages", groups);
	} else {
		header_text(out, "---", a, la, o.color);
		header_text(out, "+++", b, lb, o.color);
	}
	for (i = 0; i < nst; i++) {
		if (i && stages[i] == stages[i - 1])
			continue;
		if (o.stage >= 0 && stages[i] != o.stage)
			continue;
		side_collect(&sa, stages[i], &o);
		side_collect(&sb, stages[i], &o);
		/* Stage 0 and filtered-out stages only when they say something. */
		if (o.stage < 0 && !sa.n && !sb.n &&
		    (stages[i] == 0 || o.filter || o.nignore))
			continue;
		differ |= diff_group(out, &sa, &sb, stages[i], &o, groups);
	}
	if (doc) {
		json_object_set_new(doc, "same", json_boolean(!differ));
		lab_json_add(out, doc);
		doc = NULL;
	}
	ret = differ ? 1 : 0;
out:
	json_decref(doc);
	free(stages);
	strbuf_release(&sa.text);
	strbuf_release(&sb.text);
	free(sa.v);
	free(sb.v);
	return ret;
}
