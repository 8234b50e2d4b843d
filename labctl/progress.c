// SPDX-License-Identifier: MIT
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "labctl/progress.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"

#define LAST_MAX 256

struct progress {
	struct run_view view;
	FILE *out;
	bool tty, stream;
	bool drawn;		/* a status line is on the screen */
	char last[LAST_MAX];	/* the last console line, printable */
};

static int width(const struct progress *p)
{
	struct winsize ws;

	if (ioctl(fileno(p->out), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
		return ws.ws_col;
	return 80;
}

static void take_down(struct progress *p)
{
	if (!p->drawn)
		return;
	fputs("\r\033[K", p->out);
	p->drawn = false;
}

static void on_stage(void *arg, int k, int n, const char *name, int64_t t_ns)
{
	struct progress *p = arg;

	/* On a terminal the status line says it. */
	if (p->tty)
		return;
	fprintf(p->out, "stage %d/%d %s at %.3f s\n", k, n, name, t_ns / 1e9);
	fflush(p->out);
}

static void on_line(void *arg, const char *text, size_t len, int64_t t_ns)
{
	struct progress *p = arg;
	size_t i, n = 0;

	(void)t_ns;
	if (p->stream) {
		take_down(p);
		fwrite(text, 1, len, p->out);
		fputc('\n', p->out);
		if (!p->tty)
			fflush(p->out);
	}
	if (!len)
		return;
	/* The status line shows it: no control bytes, no half characters. */
	for (i = 0; i < len && n < LAST_MAX - 1; i++) {
		unsigned char c = (unsigned char)text[i];

		p->last[n++] = c >= 0x20 && c < 0x7f ? (char)c : c == '\t' ? ' ' : '.';
	}
	p->last[n] = '\0';
}

static void add_size(struct strbuf *sb, uint64_t bytes)
{
	if (bytes < 10240)
		strbuf_addf(sb, "%llu B", (unsigned long long)bytes);
	else if (bytes < 10u << 20)
		strbuf_addf(sb, "%.1f KiB", bytes / 1024.0);
	else
		strbuf_addf(sb, "%.1f MiB", bytes / 1048576.0);
}

/* Seconds up to a minute, then minutes: a Bochs run takes several. */
static void add_duration(struct strbuf *sb, int64_t ns)
{
	double s = ns / 1e9;

	if (s < 60)
		strbuf_addf(sb, "%.1f s", s);
	else
		strbuf_addf(sb, "%dm%02ds", (int)(s / 60), (int)s % 60);
}

static void on_status(void *arg, const struct run_status *st)
{
	struct progress *p = arg;
	struct strbuf sb = STRBUF_INIT;
	int w;

	if (!p->tty)
		return;
	w = width(p) - 1;	/* the last column would wrap on some terminals */
	if (st->stage > 0)
		strbuf_addf(&sb, "[%d/%d %s]", st->stage, st->nstages,
			    st->stage_name);
	else
		strbuf_addf(&sb, "[0/%d waiting for %s]", st->nstages,
			    "the first banner");
	strbuf_addch(&sb, ' ');
	add_duration(&sb, st->elapsed_ns);
	strbuf_addf(&sb, ", %llu lines, ", (unsigned long long)st->lines);
	add_size(&sb, st->bytes);
	strbuf_addstr(&sb, ", quiet ");
	add_duration(&sb, st->silence_ns);
	if (*p->last)
		strbuf_addf(&sb, " | %s", p->last);
	if (sb.len > (size_t)w)
		strbuf_setlen(&sb, (size_t)w);
	fprintf(p->out, "\r%s\033[K", strbuf_str(&sb));
	fflush(p->out);
	p->drawn = true;
	strbuf_release(&sb);
}

static void on_clear(void *arg)
{
	struct progress *p = arg;

	take_down(p);
	fflush(p->out);
}

struct progress *progress_new(FILE *out, bool tty, bool stream)
{
	struct progress *p = xzalloc(sizeof(*p));

	p->out = out;
	p->tty = tty;
	p->stream = stream;
	p->view = (struct run_view){
		.stage = on_stage, .line = on_line, .status = on_status,
		.clear = on_clear, .arg = p,
	};
	return p;
}

const struct run_view *progress_view(struct progress *p)
{
	return &p->view;
}

void progress_free(struct progress *p)
{
	if (!p)
		return;
	take_down(p);
	free(p);
}
