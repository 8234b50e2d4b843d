// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "grubenv/script.h"
#include "hvimage/build.h"
#include "labctl/labpower.h"
#include "labctl/board.h"
#include "labctl/lease.h"
#include "labctl/qemuboard.h"
#include "labctl/bochsboard.h"
#include "ssh/ssh.h"
#include "labctl/results.h"
#include "labctl/rules.h"
#include "labctl/run.h"
#include "labctl/watch.h"
#include "lib/clock.h"
#include "lib/color.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/netcheck.h"
#include "lib/stopsig.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "power/plan.h"
#include "report/index.h"
#include "power/power.h"
#include "serial-capture/capture.h"
#include "serial-capture/console.h"

#define DEFAULT_STAGE_TIMEOUT_MS (60 * 1000)
#define DEFAULT_TOTAL_TIMEOUT_MS (300 * 1000)
#define DEFAULT_SILENCE_TIMEOUT_MS (30 * 1000)
#define DRAIN_MS 200

struct run_state {
	struct lab *lab;
	const struct run_opts *opts;
	struct watch *watch;
	struct capture *cap;
	struct console *con;
	struct power_dev *power;
	struct run_record rec;
	int64_t t0_ns;		/* monotonic time of power-on; 0 before */
	bool capture_closed;
	bool qemu_exited;
	char exit_detail[400];
	char host_stop[64];	/* QEMU's SHUTDOWN reason when the host stopped it */
	struct reader *reader;	/* the console's own thread, while it runs */
	uint64_t decided_end;	/* end of the line that decided, 0: none */
	int64_t watch_t;	/* time of the last line the watcher judged */
	int64_t test_delay_us;	/* LABCTL_TEST_WATCH_DELAY_US: tests only */
};

static int64_t since_t0(const struct run_state *rs)
{
	return rs->t0_ns ? lab_mono_ns() - rs->t0_ns : 0;
}

/* ------------------------------------------------------------ reader */
/*
 * The console is drained to disk by its own thread at full speed, whatever
 * the watcher does: the reader reads the console, writes the raw log and
 * the sidecar (capture_feed) and queues each line; the watcher judges them
 * behind it in the main thread.  Events that must be judged after the
 * bytes before them (a reset) go through the reader too, so they keep
 * their place.  A watcher that falls behind is reported; one QUEUE_MAX
 * bytes of lines behind stops getting lines and the run is a lab error,
 * the log still has every byte.
 */
#define QUEUE_MAX (64u << 20)
#define BEHIND_WARN_NS (2 * 1000000000LL)
#define STATUS_MS 100

enum item_kind { IT_LINE, IT_PARTIAL, IT_EVENT, IT_LINK_UP, IT_LINK_DOWN, IT_EOF };

struct item {
	struct item *next;
	enum item_kind kind;
	int64_t t_ns;		/* since power-on */
	uint64_t start, end;	/* IT_LINE, IT_PARTIAL: [start, end) in the log */
	char *name, *detail;	/* IT_EVENT; IT_LINK_*, IT_EOF: detail */
	int err;		/* IT_EOF: 0 (closed) or why reading stopped */
	bool write_err;		/* IT_EOF: the log could not be written */
	size_t len;
	char text[];
};

struct reader {
	struct run_state *rs;
	pthread_t thread;
	bool inited, started;
	pthread_mutex_t lock;
	struct item *head, **tail;	/* for the watcher */
	struct item *req, **req_tail;	/* events to queue after a drain */
	size_t queued;			/* text bytes in head */
	bool overflow;			/* lines were not queued */
	bool stop;
	int wake[2];			/* main -> reader */
	int notify[2];			/* reader -> main */
	uint64_t lines;			/* lines captured (atomic) */
};

static void poke(int fd)
{
	char c = 1;

	if (fd >= 0 && write(fd, &c, 1) < 0)
		(void)0;	/* a full pipe is awake already */
}

static void empty_pipe(int fd)
{
	char buf[256];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static struct item *item_new(enum item_kind kind, int64_t t_ns,
			     const char *text, size_t len)
{
	struct item *it = xzalloc(sizeof(*it) + len + 1);

	it->kind = kind;
	it->t_ns = t_ns;
	it->len = len;
	if (len)
		memcpy(it->text, text, len);
	return it;
}

static void item_free(struct item *it)
{
	free(it->name);
	free(it->detail);
	free(it);
}

static void push(struct reader *r, struct item *it)
{
	pthread_mutex_lock(&r->lock);
	*r->tail = it;
	r->tail = &it->next;
	r->queued += it->len;
	pthread_mutex_unlock(&r->lock);
	poke(r->notify[1]);
}

static struct item *pop(struct reader *r, bool *more)
{
	struct item *it;

	pthread_mutex_lock(&r->lock);
	it = r->head;
	if (it) {
		r->head = it->next;
		if (!r->head)
			r->tail = &r->head;
		r->queued -= it->len;
	}
	*more = r->head != NULL;
	pthread_mutex_unlock(&r->lock);
	return it;
}

/* capture's on_line, in the reader thread: queue it for the watcher. */
static void reader_on_line(void *arg, const char *line, size_t len,
			   int64_t offset_ns)
{
	struct reader *r = arg;
	struct item *it;
	bool full;

	__atomic_add_fetch(&r->lines, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&r->lock);
	full = r->overflow || r->queued + len > QUEUE_MAX;
	if (full)
		r->overflow = true;
	pthread_mutex_unlock(&r->lock);
	if (full)
		return;
	it = item_new(IT_LINE, offset_ns, line, len);
	it->start = capture_line_start(r->rs->cap);
	it->end = capture_line_end(r->rs->cap);
	push(r, it);
}

static void push_eof(struct reader *r, int err)
{
	struct item *it = item_new(IT_EOF, since_t0(r->rs), NULL, 0);
	const char *werr = capture_error(r->rs->cap);

	it->err = err;
	it->write_err = werr != NULL;
	if (err)
		it->detail = xstrdup(werr ? werr : lab_errmsg(err));
	push(r, it);
}

/* Read everything the console has right now into the capture. */
static int drain_console(struct run_state *rs, bool *eof)
{
	char buf[65536];

	for (;;) {
		ssize_t n = console_read(rs->con, buf, sizeof(buf));

		if (n == -LAB_EBUSY)
			return 0;
		if (n == 0) {
			*eof = true;
			return 0;
		}
		if (n < 0)
			return (int)n;
		if (capture_feed(rs->cap, buf, (size_t)n) < 0)
			return -LAB_EIO;
	}
}

/*
 * A line without its newline that stopped growing (a login prompt) goes
 * to the watch once it has waited PARTIAL_MS, so `end` rules see it.
 */
#define PARTIAL_MS 200

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	struct run_state *rs = r->rs;
	int cfd = console_fd(rs->con);
	size_t last_len = 0;
	int64_t since = 0;
	bool eof = false, told = true, stop = false;

	while (!stop) {
		struct pollfd fds[2] = { { r->wake[0], POLLIN, 0 },
					 { eof ? -1 : cfd, POLLIN, 0 } };
		size_t len;
		const char *text;
		struct item *req;

		poll(fds, 2, told ? -1 : PARTIAL_MS);
		empty_pipe(r->wake[0]);
		if (!eof) {
			int rc = drain_console(rs, &eof);

			if (rc < 0 || eof) {
				push_eof(r, rc < 0 ? rc : 0);
				eof = true;
			}
		}
		text = eof ? NULL : capture_pending(rs->cap, &len);
		if (!text) {
			last_len = 0;
			told = true;
		} else if (len != last_len) {
			last_len = len;
			since = lab_mono_ms();
			told = false;
		} else if (!told && lab_mono_ms() - since >= PARTIAL_MS) {
			struct item *it = item_new(IT_PARTIAL, since_t0(rs), text, len);

			it->start = capture_line_start(rs->cap);
			it->end = capture_bytes(rs->cap);
			push(r, it);
			told = true;
		}
		/* Events asked for now come after every byte read before them. */
		pthread_mutex_lock(&r->lock);
		req = r->req;
		r->req = NULL;
		r->req_tail = &r->req;
		stop = r->stop;
		pthread_mutex_unlock(&r->lock);
		while (req) {
			struct item *next = req->next;

			req->next = NULL;
			push(r, req);
			req = next;
		}
	}
	return NULL;
}

/* After a FAIL: let the reader take what the board prints next (a
 * register dump, a backtrace) until FAIL_TAIL_QUIET_MS of quiet, at most
 * FAIL_TAIL_MAX_MS. */
#define FAIL_TAIL_QUIET_MS 300
#define FAIL_TAIL_MAX_MS 2000
static void read_fail_tail(struct reader *r)
{
	int64_t start = lab_mono_ms(), quiet_since = start;
	uint64_t seen = __atomic_load_n(&r->lines, __ATOMIC_RELAXED);

	while (lab_mono_ms() - start < FAIL_TAIL_MAX_MS &&
	       lab_mono_ms() - quiet_since < FAIL_TAIL_QUIET_MS) {
		uint64_t now;

		poll(NULL, 0, 50);
		now = __atomic_load_n(&r->lines, __ATOMIC_RELAXED);
		if (now != seen) {
			seen = now;
			quiet_since = lab_mono_ms();
		}
	}
}

static int reader_init(struct reader *r, struct run_state *rs)
{
	memset(r, 0, sizeof(*r));
	r->rs = rs;
	r->tail = &r->head;
	r->req_tail = &r->req;
	r->wake[0] = r->wake[1] = r->notify[0] = r->notify[1] = -1;
	pthread_mutex_init(&r->lock, NULL);
	r->inited = true;
	if (pipe2(r->wake, O_CLOEXEC | O_NONBLOCK) < 0 ||
	    pipe2(r->notify, O_CLOEXEC | O_NONBLOCK) < 0)
		return lab_err_errno(errno, "pipe");
	return 0;
}

static int reader_start(struct reader *r)
{
	int e = pthread_create(&r->thread, NULL, reader_main, r);

	if (e)
		return lab_err_errno(e, "cannot start the console reader thread");
	r->started = true;
	return 0;
}

/* Stop after one last drain; the capture is the main thread's again. */
static void reader_stop(struct reader *r)
{
	if (!r->started)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_mutex_unlock(&r->lock);
	poke(r->wake[1]);
	pthread_join(r->thread, NULL);
	r->started = false;
}

static void reader_release(struct reader *r)
{
	struct item *it;
	bool more;
	int i;

	if (!r->inited)
		return;
	reader_stop(r);
	while ((it = pop(r, &more)))
		item_free(it);
	while ((it = r->req)) {
		r->req = it->next;
		item_free(it);
	}
	for (i = 0; i < 2; i++) {
		if (r->wake[i] >= 0)
			close(r->wake[i]);
		if (r->notify[i] >= 0)
			close(r->notify[i]);
	}
	pthread_mutex_destroy(&r->lock);
}

/* An event to judge after the bytes the console has now. */
static void reader_event(struct reader *r, const char *name,
			 const char *detail, int64_t t_ns)
{
	struct item *it = item_new(IT_EVENT, t_ns, NULL, 0);

	it->name = xstrdup(name);
	it->detail = xstrdup(detail ? detail : "");
	pthread_mutex_lock(&r->lock);
	*r->req_tail = it;
	r->req_tail = &it->next;
	pthread_mutex_unlock(&r->lock);
	poke(r->wake[1]);
}

/* The console went away or came back: a gap record in the capture. */
static void run_on_link(void *arg, bool up, const char *reason)
{
	struct run_state *rs = arg;
	struct item *it;

	if (rs->cap && !rs->capture_closed)
		capture_on_link(rs->cap, up, reason);
	if (!rs->reader || !rs->reader->started) {
		run_record_event(&rs->rec, since_t0(rs),
				 up ? "CONSOLE_BACK" : "CONSOLE_LOST",
				 reason ? reason : "");
		return;
	}
	/* In the reader thread: the record is the main thread's. */
	it = item_new(up ? IT_LINK_UP : IT_LINK_DOWN, since_t0(rs), NULL, 0);
	it->detail = xstrdup(reason ? reason : "");
	push(rs->reader, it);
}

/*
 * Whether QEMU's end was the lab's doing, not the guest's: a signal (kill
 * from outside, the OOM killer), QEMU's own error ("status N: message",
 * see power/qemu.c), or a shutdown the host asked for.  The guest ends
 * QEMU only by isa-debug-exit (an odd status), shutdown, reset or triple
 * fault.  The reason for the record, or NULL when it was the guest.
 */
static const char *qemu_lab_exit(const struct run_state *rs, char *buf,
				 size_t size)
{
	const char *d = rs->exit_detail;
	const char *vm = bochs_board_is(rs->lab) ? "Bochs" : "QEMU";	/* bochs board */
	int sig;

	/* "status|signal N: why": the emulator's own failure (bochs board) */
	if ((!strncmp(d, "status ", 7) || !strncmp(d, "signal ", 7)) &&
	    strstr(d, ": ")) {
		snprintf(buf, size, "%s failed on its own (%.400s)", vm, d);
		return buf;
	}
	if (sscanf(d, "signal %d", &sig) == 1) {
		snprintf(buf, size, "%s was killed by %s (from outside the run: kill, or the kernel's OOM killer)",
			 vm, lab_stop_name(sig));
		return buf;
	}
	if (*rs->host_stop) {
		snprintf(buf, size, "QEMU was stopped by the host (%s), not by the guest (%.200s)",
			 rs->host_stop, d);
		return buf;
	}
	return NULL;
}

static void on_power_event(void *arg, const char *name, const char *detail)
{
	struct run_state *rs = arg;

	run_record_event(&rs->rec, since_t0(rs), name, detail);
	lab_debug("power event %s %s", name, detail ? detail : "");
	if (!rs->t0_ns || !rs->watch)
		return;
	if (!strcmp(name, "EXIT")) {
		/* QEMU is gone: its last bytes may still be in the socket. */
		rs->qemu_exited = true;
		snprintf(rs->exit_detail, sizeof(rs->exit_detail), "%s",
			 detail ? detail : "");
		return;
	}
	/* host-signal, host-error, host-ui: QEMU was told to stop, by
	 * someone other than the guest; the EXIT that follows says the rest. */
	if (!strcmp(name, "SHUTDOWN") && detail && !strncmp(detail, "host-", 5)) {
		snprintf(rs->host_stop, sizeof(rs->host_stop), "%s", detail);
		return;
	}
	/* A system_reset from outside (`labctl power cycle`) is not a fault. */
	if (!strcmp(name, "RESET") && detail && !strncmp(detail, "host-", 5)) {
		char why[128];

		snprintf(why, sizeof(why), "QEMU was reset by the host (%s), not by the guest",
			 detail);
		watch_event(rs->watch, "ERROR", why, since_t0(rs));
		return;
	}
	if (!strcmp(name, "RESET") || !strcmp(name, "SHUTDOWN") ||
	    !strcmp(name, "GUEST_PANICKED")) {
		/* Judged after the bytes printed before it. */
		if (rs->reader && rs->reader->started)
			reader_event(rs->reader, name, detail, since_t0(rs));
		else
			watch_event(rs->watch, name, detail, since_t0(rs));
	}
}

static const char *regex_escape(const char *s, struct strbuf *out)
{
	strbuf_reset(out);
	for (; *s; s++) {
		if (strchr(".[]()*+?{}|^$\\", *s))
			strbuf_addch(out, '\\');
		strbuf_addch(out, *s);
	}
	return strbuf_str(out);
}

/*
 * The line that marks the start of a variant's stage: its banner key, else
 * its rule sets' banner (tmpl); ${variant} stands for its name.
 */
static char *variant_banner(const struct lab_variant *v, const char *tmpl)
{
	const char *banner = lab_variant_get(v, "banner");
	struct strbuf re = STRBUF_INIT, esc = STRBUF_INIT;
	const char *var;

	if (banner)
		tmpl = banner;
	while ((var = strstr(tmpl, "${variant}"))) {
		strbuf_add(&re, tmpl, (size_t)(var - tmpl));
		strbuf_addstr(&re, regex_escape(v->name, &esc));
		tmpl = var + strlen("${variant}");
	}
	strbuf_addstr(&re, tmpl);
	strbuf_release(&esc);
	return strbuf_detach(&re, NULL);
}

static int64_t lab_duration(const struct lab *lab, const char *key, int64_t def)
{
	const char *s = lab_get(lab, "watch", key);
	int64_t ms;

	if (!s || lab_parse_duration_ms(s, &ms) < 0)
		return def;
	return ms;
}

/*
 * A virtual board's chain ends in GRUB_STOP_ENTRY (labctl writes its
 * grub.cfg), when a slot is left: after the last stage GRUB stops the
 * machine instead of booting entry 0.  A real board's chain ends in its
 * default entry, its OS, which a run needs back.
 */
static bool chain_stops(const struct lab *lab, int n)
{
	return !board_is_remote(lab) && n < lab_get_int(lab, "grub", "max_stages", 9);
}

static struct watch *make_watch(const struct lab *lab,
				const struct lab_variant *const *chain, int n,
				const struct run_opts *o)
{
	struct strbuf *titles = xcalloc((size_t)n + 1, sizeof(*titles));
	const char *fails[2] = { lab_get(lab, "watch", "fail"), NULL };
	struct watch_stage_def *defs;
	struct lab_rules lr;
	struct watch_opts wo = {
		/* bochs board: bochs_board_timeout() sizes them for minutes. */
		.stage_timeout_ms = bochs_board_timeout(lab, "stage_timeout",
			lab_duration(lab, "stage_timeout", DEFAULT_STAGE_TIMEOUT_MS)),
		.total_timeout_ms = bochs_board_timeout(lab, "timeout",
			lab_duration(lab, "timeout", DEFAULT_TOTAL_TIMEOUT_MS)),
		.silence_timeout_ms = bochs_board_timeout(lab, "silence_timeout",
			lab_duration(lab, "silence_timeout", DEFAULT_SILENCE_TIMEOUT_MS)),
		.pass_re = lab_get(lab, "watch", "pass"),
		.fail_res = fails,
		.stop_entry = chain_stops(lab, n) ? GRUB_STOP_ENTRY : NULL,
	};
	struct watch *w;
	int i;

	/* The rule sets: [watch] rules (default standin), each variant's. */
	if (lab_rules_load(lab, chain, n, &lr) < 0) {
		free(titles);
		return NULL;
	}
	wo.rules = lr.run;
	/* A real board's CPU count is the lab's to say (watch.cpus). */
	wo.cpus = lr.cpus ? lr.cpus :
		  (int)lab_get_int(lab, "watch", "cpus",
				   board_is_remote(lab) ? 1 :
				   lab_get_int(lab, "board", "smp", 1));
	wo.iter_min = lr.iter_min >= 0 ? lr.iter_min :
		      (int)lab_get_int(lab, "watch", "iter_min", 20);
	if (o->timeout_ms > 0)
		wo.total_timeout_ms = o->timeout_ms;
	defs = xcalloc((size_t)n + 1, sizeof(*defs));
	for (i = 0; i < n; i++) {
		defs[i].name = chain[i]->name;
		defs[i].banner = variant_banner(chain[i], lr.banner[i]);
		defs[i].rules = lr.stage[i];
		/* GRUB's "Booting `ENTRY'" begins the stage. */
		defs[i].entry = lab_variant_entry(lab, chain[i], &titles[i]);
	}
	w = watch_new(defs, n, &wo);
	for (i = 0; i < n; i++) {
		free((char *)defs[i].banner);
		strbuf_release(&titles[i]);
	}
	free(titles);
	free(defs);
	lab_rules_release(&lr);
	return w;
}

#define MAX_POWER_PARAMS 32

void lab_variant_to_hv(struct hv_variant *hv, const struct lab_variant *v)
{
	int64_t opt = 0;

	memset(hv, 0, sizeof(*hv));
	hv->name = v->name;
	hv->recipe = lab_variant_get(v, "recipe");
	hv->arch = lab_variant_get(v, "arch");
	lab_parse_int(lab_variant_get(v, "options"), &opt);
	hv->options = (uint32_t)opt;
	hv->src = lab_variant_get(v, "src");
	hv->rev = lab_variant_get(v, "rev");
	hv->args = lab_variant_get(v, "args");
}

static const char *images_dir(void)
{
	const char *d = getenv("LABCTL_IMAGES");

	return d && *d ? d : "images";
}

static struct hv_build_opts build_opts(const struct run_opts *o,
				       const struct cmd_ctx *ctx)
{
	struct hv_build_opts bo = {
		.images_dir = images_dir(),
		.hypervisor_dir = getenv("LABCTL_HYPERVISOR_DIR"),
		.jobs = o->jobs,
		.force = o->force_build,
		.progress = ctx->json || lab_log_get_level() < LAB_LOG_INFO ?
			    HV_PROGRESS_NONE :
			    isatty(2) ? HV_PROGRESS_TTY : HV_PROGRESS_PLAIN,
	};

	return bo;
}

/* *st (may be NULL): the files sent and skipped, as the message says. */
static int build_and_deploy(struct qemu_board *board, const struct lab *lab,
			    const struct hv_variant *hv, struct hv_build_result *built,
			    int n, const struct run_opts *o,
			    const struct cmd_ctx *ctx, struct board_deploy_stats *st)
{
	struct hv_build_opts bo = build_opts(o, ctx);
	int64_t t0 = lab_mono_ms();
	int copied = 0, ret;

	/* Also the cache check: an unchanged variant costs a hash of its inputs. */
	ret = hv_build(hv, n, &bo, built);
	if (ret)
		return ret;
	ret = qemu_board_deploy(board, lab, hv, built, n, images_dir(), &copied);
	if (st) {
		/* qemu_board_deploy() checks grub.cfg and 2 files per variant. */
		st->variants = n;
		st->files_sent = copied;
		st->files_skipped = ret ? 0 : 1 + 2 * n - copied;
		st->elapsed_ms = lab_mono_ms() - t0;
	}
	if (!ret)
		lab_info("deployed %d changed file%s to the virtual board; %d unchanged",
			 copied, copied == 1 ? "" : "s", 1 + 2 * n - copied);
	return ret;
}

int lab_resolve_chain(const struct lab *lab, const char *const *names, int n,
		      const struct lab_variant **chain)
{
	int i, k;

	for (i = 0; i < n; i++) {
		struct strbuf known = STRBUF_INIT;
		int ret;

		chain[i] = lab_find_variant(lab, names[i]);
		if (chain[i])
			continue;
		for (k = 0; k < lab->nvariants; k++)
			strbuf_addf(&known, "%s%s", k ? ", " : "",
				    lab->variants[k].name);
		ret = lab_err(LAB_ECONFIG,
			      "lab %s has no variant '%s' (variants: %s)",
			      lab->name, names[i],
			      known.len ? strbuf_str(&known) : "none");
		strbuf_release(&known);
		return ret;
	}
	return 0;
}

/* Unique variants of a chain, in chain order; returns how many. */
static int unique_variants(const struct lab_variant *const *chain, int n,
			   struct hv_variant *hv)
{
	int i, k, nb = 0;

	for (i = 0; i < n; i++) {
		for (k = 0; k < nb; k++)
			if (!strcmp(hv[k].name, chain[i]->name))
				break;
		if (k == nb)
			lab_variant_to_hv(&hv[nb++], chain[i]);
	}
	return nb;
}

/* Build (cached) and copy to a real board over the session's ssh. */
static int build_and_deploy_remote(struct lab_ssh *ssh, const struct lab *lab,
				   const struct hv_variant *hv,
				   struct hv_build_result *built, int n,
				   const struct run_opts *o,
				   const struct cmd_ctx *ctx,
				   struct board_deploy_stats *st)
{
	struct hv_build_opts bo = build_opts(o, ctx);
	const char **names = xcalloc((size_t)n + 1, sizeof(*names));
	int i, ret;

	ret = hv_build(hv, n, &bo, built);
	for (i = 0; i < n; i++)
		names[i] = hv[i].name;
	if (!ret)
		ret = board_deploy(lab, ssh, images_dir(), names, n,
				   !ctx->json && isatty(2), st);
	if (!ret)
		lab_info("deployed %d changed file%s (%llu bytes) to %s; %d unchanged",
			 st->files_sent, st->files_sent == 1 ? "" : "s",
			 (unsigned long long)st->bytes_sent, lab_ssh_where(ssh),
			 st->files_skipped);
	free(names);
	return ret;
}

/*
 * deploy --json: what the message on stderr says (files sent and skipped,
 * bytes, round trips), on success and on failure (with the error).  The
 * QEMU board's disk is local: no bytes over a wire, no round trips.
 */
static void deploy_json(const struct lab *lab, bool remote, const char *where,
			const char *disk, int nb,
			const struct board_deploy_stats *st, int ret)
{
	json_t *doc = json_object();

	lab_json_set(doc, "lab", lab_json_str(lab->name));
	lab_json_set(doc, "board", where ? lab_json_str(where) :
		     remote ? NULL : json_string("qemu"));
	if (disk)
		lab_json_set(doc, "disk", lab_json_str(disk));
	lab_json_set(doc, "result", json_string(ret ? "error" : "ok"));
	json_object_set_new(doc, "deployed", json_integer(nb));
	json_object_set_new(doc, "files_sent", json_integer(st->files_sent));
	json_object_set_new(doc, "files_skipped", json_integer(st->files_skipped));
	lab_json_set(doc, "bytes_sent",
		     remote ? json_integer((json_int_t)st->bytes_sent) : NULL);
	lab_json_set(doc, "round_trips",
		     remote ? json_integer((json_int_t)st->round_trips) : NULL);
	json_object_set_new(doc, "elapsed_ms", json_integer(st->elapsed_ms));
	lab_json_set(doc, "error", ret ? lab_json_str(lab_errmsg(ret)) : NULL);
	lab_json_print(stdout, doc);
	json_decref(doc);
}

int lab_deploy(struct lab *lab, const char *const *names, int n,
	       const struct run_opts *o, const struct cmd_ctx *ctx)
{
	const struct lab_variant **chain = xcalloc((size_t)n + 1, sizeof(*chain));
	struct hv_variant *hv = xcalloc((size_t)n + 1, sizeof(*hv));
	struct hv_build_result *built = xcalloc((size_t)n + 1, sizeof(*built));
	struct qemu_board board = { .lock_fd = -1 };
	struct board_session bs = { 0 };
	struct board_deploy_stats st = { 0 };
	struct lease_take_opts lo = { .steal = o->steal };
	bool remote = board_is_remote(lab);
	int i, nb = 0, ret;

	ret = lab_resolve_chain(lab, names, n, chain);
	if (!ret) {
		nb = unique_variants(chain, n, hv);
		ret = remote ? board_session_open(&bs, lab, &lo) :
		      qemu_board_open(&board, lab);
	if (ret && remote)
		board_session_close(&bs);
	}
	if (!ret && remote)
		ret = build_and_deploy_remote(bs.ssh, lab, hv, built, nb, o,
					      ctx, &st);
	else if (!ret)
		ret = build_and_deploy(&board, lab, hv, built, nb, o, ctx, &st);
	if (ctx->json)
		deploy_json(lab, remote, remote && bs.ssh ? lab_ssh_where(bs.ssh) : NULL,
			    remote ? NULL : board.disk, nb, &st, ret);
	if (remote)
		board_session_close(&bs);
	else
		qemu_board_close(&board);
	for (i = 0; i < nb; i++)
		hv_build_result_release(&built[i]);
	free(built);
	free(hv);
	free(chain);
	return ret ? cmd_fail(ret) : 0;
}

/* ------------------------------------------------------------ the watcher */

static void view_status(struct run_state *rs, int64_t now, int64_t *next)
{
	const struct run_view *v = rs->opts->view;
	const struct watch *w = rs->watch;
	struct run_status st;
	int cur = watch_current_stage(w);

	if (!v || !v->status || lab_mono_ms() < *next)
		return;
	*next = lab_mono_ms() + STATUS_MS;
	st.stage = cur + 1;
	st.nstages = watch_nstages(w);
	st.stage_name = cur >= 0 ? rs->rec.res.stages[cur].variant : "";
	st.elapsed_ns = now;
	st.lines = __atomic_load_n(&rs->reader->lines, __ATOMIC_RELAXED);
	st.bytes = capture_bytes(rs->cap);
	st.silence_ns = now - rs->watch_t;
	v->status(v->arg, &st);
}

/* One line (or an unfinished one) for the watch. */
static void judge(struct run_state *rs, const struct item *it)
{
	const struct run_view *v = rs->opts->view;
	int before = watch_current_stage(rs->watch), after;

	if (rs->test_delay_us > 0)
		usleep((useconds_t)rs->test_delay_us);
	if (it->kind == IT_LINE)
		watch_line(rs->watch, it->text, it->len, it->t_ns, it->start);
	else
		watch_partial(rs->watch, it->text, it->len, it->t_ns);
	rs->watch_t = it->t_ns;
	if (v && v->line && it->kind == IT_LINE)
		v->line(v->arg, it->text, it->len, it->t_ns);
	after = watch_current_stage(rs->watch);
	if (v && v->stage && after != before && after >= 0)
		v->stage(v->arg, after + 1, watch_nstages(rs->watch),
			 rs->rec.res.stages[after].variant, it->t_ns);
	if (watch_verdict(rs->watch) != VERDICT_PENDING)
		rs->decided_end = it->end;
}

/* An item from the reader; *eof once the console has ended. */
static void handle(struct run_state *rs, const struct item *it, bool *eof)
{
	switch (it->kind) {
	case IT_LINE:
	case IT_PARTIAL:
		judge(rs, it);
		break;
	case IT_EVENT:
		watch_event(rs->watch, it->name, it->detail, it->t_ns);
		break;
	case IT_LINK_UP:
	case IT_LINK_DOWN:
		run_record_event(&rs->rec, it->t_ns, it->kind == IT_LINK_UP ?
				 "CONSOLE_BACK" : "CONSOLE_LOST", it->detail);
		break;
	case IT_EOF:
		*eof = true;
		/* A log that cannot be written is the lab's failure too. */
		if (it->err)
			watch_event(rs->watch, it->write_err ? "ERROR" : "CONSOLE_EOF",
				    it->detail, it->t_ns);
		break;
	}
}

/* The event loop: the reader's lines, QMP events, timers, signals. */
static int watch_boot(struct run_state *rs)
{
	struct reader *r = rs->reader;
	int pfd = rs->power ? power_event_fd(rs->power) : -1;
	int64_t drain_until = 0, next_status = 0;
	bool eof = false, behind_told = false;

	while (watch_verdict(rs->watch) == VERDICT_PENDING) {
		struct pollfd fds[3];
		struct item *it;
		int nfds = 0, timeout = -1, rc, batch;
		int64_t deadline, now = since_t0(rs);
		bool more = false, overflow;

		if (lab_stop_signal) {
			watch_event(rs->watch, "INTERRUPTED",
				    lab_stop_name(lab_stop_signal), now);
			return -LAB_EINTR;
		}
		/* What the reader queued, a batch at a time, so signals and
		 * power events are not kept waiting by a long queue. */
		for (batch = 0; batch < 256 && !eof &&
		     watch_verdict(rs->watch) == VERDICT_PENDING &&
		     (it = pop(r, &more)); batch++) {
			handle(rs, it, &eof);
			item_free(it);
		}
		if (watch_verdict(rs->watch) != VERDICT_PENDING)
			break;
		now = since_t0(rs);
		if (more && !behind_told && now - rs->watch_t > BEHIND_WARN_NS) {
			/* Bytes are safe on disk; the verdict comes late. */
			if (rs->opts->view && rs->opts->view->clear)
				rs->opts->view->clear(rs->opts->view->arg);
			lab_warn("the verdict engine is %.1f s behind the console (slow patterns?); it catches up, the log has every byte",
				 (now - rs->watch_t) / 1e9);
			run_record_event(&rs->rec, now, "WATCH_BEHIND",
					 "the verdict engine fell behind the console");
			behind_told = true;
		}
		pthread_mutex_lock(&r->lock);
		overflow = r->overflow && !r->head;
		pthread_mutex_unlock(&r->lock);
		if (overflow && !more) {
			watch_event(rs->watch, "ERROR",
				    "the verdict engine fell more than 64 MiB of lines behind the console; the lines after that were not judged (the log has every byte)",
				    now);
			break;
		}
		if (rs->qemu_exited && !drain_until)
			drain_until = now + DRAIN_MS * 1000000LL;
		if (drain_until && (eof || now >= drain_until) && !more) {
			char why[512];
			const char *lab_why = qemu_lab_exit(rs, why, sizeof(why));

			if (lab_why)
				watch_event(rs->watch, "ERROR", lab_why, now);
			else
				watch_event(rs->watch, "EXIT", rs->exit_detail, now);
			break;
		}
		/* The console may close a moment before QEMU's end is reaped:
		 * wait briefly for it, so the reason is QEMU's, not the socket's. */
		if (eof && !rs->qemu_exited && pfd >= 0) {
			struct pollfd pp = { pfd, POLLIN, 0 };
			int64_t until = lab_mono_ms() + 500;

			while (!rs->qemu_exited && lab_mono_ms() < until &&
			       poll(&pp, 1, 50) >= 0)
				if (power_dispatch(rs->power) < 0)
					break;
			if (rs->qemu_exited)
				continue;
		}
		if (eof && !rs->qemu_exited && !more) {
			watch_event(rs->watch, "CONSOLE_EOF", "the console socket closed", now);
			break;
		}
		/* Behind: the watch's clock is the console's, not the wall's. */
		watch_tick(rs->watch, more ? rs->watch_t : now);
		if (watch_verdict(rs->watch) != VERDICT_PENDING)
			break;
		view_status(rs, now, &next_status);
		deadline = watch_deadline(rs->watch);
		if (deadline >= 0 && !more) {
			int64_t ms = (deadline - now) / 1000000 + 1;

			timeout = ms < 0 ? 0 : ms > 60000 ? 60000 : (int)ms;
		}
		if (drain_until) {
			int64_t ms = (drain_until - now) / 1000000 + 1;

			if (timeout < 0 || ms < timeout)
				timeout = ms < 0 ? 0 : (int)ms;
		}
		if (rs->opts->view && (timeout < 0 || timeout > STATUS_MS))
			timeout = STATUS_MS;
		if (more)
			timeout = 0;
		fds[nfds++] = (struct pollfd){ r->notify[0], POLLIN, 0 };
		if (pfd >= 0)
			fds[nfds++] = (struct pollfd){ pfd, POLLIN, 0 };
		fds[nfds++] = (struct pollfd){ lab_stop_pipe[0], POLLIN, 0 };
		rc = poll(fds, (nfds_t)nfds, timeout);
		if (rc < 0 && errno != EINTR)
			return lab_err_errno(errno, "poll");
		empty_pipe(r->notify[0]);
		if (pfd >= 0 && power_dispatch(rs->power) < 0)
			pfd = -1;
	}
	return 0;
}

static void print_summary(const struct run_state *rs, FILE *f,
			  const char *record_err, const char *kept)
{
	const struct watch *w = rs->watch;
	enum verdict v = watch_verdict(w);
	const char *word = v == VERDICT_PASS ? "PASS" :
			   v == VERDICT_FAIL ? "FAIL" : "ERROR";
	int i;

	fprintf(f, "\n%s %s on %s:", capture_name(rs->cap), rs->lab->name,
		rs->rec.res.board);
	for (i = 0; i < watch_nstages(w); i++)
		fprintf(f, "%s %s", i ? " ->" : "", rs->rec.res.stages[i].variant);
	fprintf(f, "\n");
	for (i = 0; i < watch_nstages(w); i++) {
		const struct watch_stage_result *s = watch_stage(w, i);

		if (s->start_ns < 0)
			fprintf(f, "  stage %d %-14s not reached\n", i + 1,
				rs->rec.res.stages[i].variant);
		else
			fprintf(f, "  stage %d %-14s at %8.3f s, took %7.3f s (line %d)\n",
				i + 1, rs->rec.res.stages[i].variant, s->start_ns / 1e9,
				((s->end_ns >= 0 ? s->end_ns : watch_decided_ns(w)) -
				 s->start_ns) / 1e9, s->line_no);
	}
	if (record_err) {
		/* Never a PASS without its record. */
		fprintf(f, "%sERROR%s: the record of this run could not be written: %s\n",
			color_on(f, COLOR_INFRA), color_off(f), record_err);
		fprintf(f, "  the boot itself: %s: %s\n", word, watch_reason(w));
		if (kept)
			fprintf(f, "log: %s (incomplete), no details\n", kept);
		else
			fprintf(f, "log: none kept\n");
		return;
	}
	fprintf(f, "%s%s%s: %s\n",
		color_on(f, v == VERDICT_PASS ? COLOR_PASS :
			    v == VERDICT_FAIL ? COLOR_FAIL : COLOR_INFRA),
		word, color_off(f), watch_reason(w));
	if (*watch_line_text(w))
		fprintf(f, "  line %d: %s\n", watch_line_no(w), watch_line_text(w));
	fprintf(f, "log: %s (%llu bytes), details: %s.json\n", capture_path(rs->cap),
		(unsigned long long)capture_bytes(rs->cap), capture_path(rs->cap));
}

/* The first error's message survives the cleanups after it (power off...). */
static void keep_error(int ret, struct lab_err_saved *saved, bool *kept)
{
	if (ret && !*kept) {
		lab_err_save(saved);
		*kept = true;
	}
}

static int verdict_exit(enum verdict v)
{
	switch (v) {
	case VERDICT_PASS:
		return LAB_EXIT_PASS;
	case VERDICT_FAIL:
		return LAB_EXIT_FAIL;
	default:
		return LAB_EXIT_INFRA;
	}
}

/* A queue ticket's position: live tickets no newer than ours. */
static int queue_position(const char *qdir, const char *mine)
{
	struct dirent *e;
	DIR *d = opendir(qdir);
	int pos = 0;

	if (!d)
		return 1;
	while ((e = readdir(d))) {
		long pid = 0;
		const char *dash = strrchr(e->d_name, '-');

		if (e->d_name[0] == '.' || !dash)
			continue;
		pid = strtol(dash + 1, NULL, 10);
		if (pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
			char *stale = xasprintf("%s/%s", qdir, e->d_name);

			unlink(stale);	/* its waiter died */
			free(stale);
			continue;
		}
		if (strcmp(e->d_name, mine) <= 0)
			pos++;
	}
	closedir(d);
	return pos ? pos : 1;
}

/*
 * The board a run uses.  A pool lab ([board] pool = N) is N virtual boards
 * LAB-1 .. LAB-N, each with its own lease, state and QEMU: take the first
 * free one (lab->name becomes its name).  When all are busy, wait in line
 * (a ticket in the lease directory) and say where in the line we are.
 */
static int take_board(struct lab *lab, struct board_session *bs,
		      const struct lease_take_opts *lo)
{
	int npool = (int)lab_get_int(lab, "board", "pool", 1);
	struct lease_take_opts now = *lo;
	char *base, *qdir = NULL, *ticket = NULL, mine[64];
	int i, ret = 0, last_pos = -1;

	if (npool <= 1)
		return board_session_open(bs, lab, lo);
	base = lab->name;
	now.wait_ms = 0;
	for (;;) {
		for (i = 1; i <= npool; i++) {
			lab->name = xasprintf("%s-%d", base, i);
			ret = board_session_open(bs, lab, &now);
			if (!ret)
				goto got;
			free(lab->name);
			lab->name = base;
			if (ret != -LAB_EBUSY)
				goto out;
			lab_err_clear();
		}
		if (lab_stop_signal) {
			ret = lab_err(LAB_EINTR, "interrupted while waiting for a board of %s",
				      base);
			goto out;
		}
		if (!ticket) {
			qdir = xasprintf("%s/%s.queue", lease_local_dir(lab), base);
			mkdir(qdir, 01777);
			snprintf(mine, sizeof(mine), "%020lld-%ld",
				 (long long)lab_wall_ns(), (long)getpid());
			ticket = xasprintf("%s/%s", qdir, mine);
			close(open(ticket, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
		}
		i = queue_position(qdir, mine);
		if (i != last_pos)
			lab_info("all %d boards of %s are busy: waiting, position %d in line",
				 npool, base, i);
		last_pos = i;
		lab_sleep_ms(500);
	}
got:
	lab_info("%s: using board %s of the pool", base, lab->name);
	free(base);
out:
	if (ticket)
		unlink(ticket);
	free(ticket);
	free(qdir);
	return ret;
}

/*
 * A real board boots the chain: a soft reboot over ssh; when its OS does
 * not answer (it hangs, or runs a hypervisor from the last run), the lab's
 * power driver cycles it.
 */
static int power_cycle_board(struct run_state *rs)
{
	const struct lab *lab = rs->lab;
	struct power_config pcfg = { 0 };
	struct lab_param params[MAX_POWER_PARAMS];
	int ret;

	if (lab_get(lab, "power", "plan")) {
		struct power_plan_options po = { 0 };
		struct lab_power_devices devs;
		struct power_plan *plan = NULL;

		lab_power_plan_options(lab, &po);
		po.event = on_power_event;
		po.event_arg = rs;
		lab_power_devices(lab, NULL, &devs);
		ret = power_plan_new(&plan, lab_get(lab, "power", "plan"),
				     devs.devs, devs.n, &po);
		lab_power_devices_release(&devs);
		if (!ret)
			ret = power_plan_run(plan);
		power_plan_free(plan);
		return ret;
	}
	pcfg.driver = lab_power_driver(lab);
	if (!pcfg.driver)
		return lab_err(LAB_EINFRA,
			       "%s: the board does not answer ssh and the lab has no [power] driver to cycle it",
			       lab->name);
	pcfg.nparams = lab_power_params(lab, params, MAX_POWER_PARAMS);
	pcfg.params = params;
	pcfg.event = on_power_event;
	pcfg.event_arg = rs;
	if (!rs->power)
		ret = power_open(&rs->power, &pcfg);
	else
		ret = 0;
	if (!ret)
		ret = power_cycle(rs->power);
	return ret;
}

/*
 * A board that does not answer ssh when a run starts is most likely still
 * running the last run's hypervisor: power-cycle it (its chain is used up,
 * so it boots its OS) and wait until it answers.
 */
static int recover_board(struct run_state *rs, struct board_session *bs,
			 int connect_ret)
{
	const struct lab *lab = rs->lab;
	const char *host = lab_get(lab, "board", "host");
	int port = (int)lab_get_int(lab, "board", "ssh_port", 22);
	int ret;

	/* Something answers: it just came up, or a key or auth problem that
	 * a power cycle would not fix.  One more try tells which. */
	if (lab_tcp_port_open(host, port, 1000)) {
		lab_err_clear();
		return board_connect(lab, &bs->ssh);
	}
	lab_warn("%s: the board does not answer ssh (%s); power-cycling it to get its OS back",
		 lab->name, lab_errmsg(connect_ret));
	run_record_event(&rs->rec, 0, "SSH", lab_errmsg(connect_ret));
	ret = power_cycle_board(rs);
	if (!ret)
		ret = board_wait_up(lab, &bs->ssh,
				    lab_get_duration_ms(lab, "board", "up_timeout",
							180000));
	return ret;
}

/*
 * A real board boots the chain: a soft reboot over ssh; when its OS does
 * not answer, the lab's power plan or driver cycles it.
 */
static int start_remote_boot(struct run_state *rs, struct board_session *bs)
{
	const struct lab *lab = rs->lab;
	int ret;

	if (bs->ssh) {
		ret = board_reboot(lab, &bs->ssh, false);
		run_record_event(&rs->rec, since_t0(rs), "SOFT_REBOOT",
				 ret ? lab_errmsg(ret) : "ok");
		if (!ret)
			return 0;
		lab_warn("%s: soft reboot failed: %s", lab->name, lab_errmsg(ret));
	}
	return power_cycle_board(rs);
}

int lab_run_chain(struct lab *lab, const char *const *chain_names, int n,
		  const struct run_opts *o, const struct cmd_ctx *ctx)
{
	const struct lab_variant **chain = xcalloc((size_t)n + 1, sizeof(*chain));
	struct hv_variant *hv = xcalloc((size_t)n + 1, sizeof(*hv));
	struct hv_build_result *built = xcalloc((size_t)n + 1, sizeof(*built));
	const char **entries = xcalloc((size_t)n + 1, sizeof(*entries));
	struct strbuf *titles = xcalloc((size_t)n + 1, sizeof(*titles));
	struct qemu_board board = { .lock_fd = -1 };
	struct run_state rs = { .lab = lab, .opts = o };
	struct reader reader = { .wake = { -1, -1 }, .notify = { -1, -1 } };
	struct lab_stop_saved stop;
	struct power_config pcfg = { 0 };
	struct lab_param params[MAX_POWER_PARAMS];
	int nparams;
	struct console_config ccfg = { 0 };
	struct lab_param cparams[MAX_POWER_PARAMS];
	struct board_session bs = { 0 };
	struct lease_take_opts lo = { .steal = o->steal };
	bool remote = board_is_remote(lab);
	int i, nbuild = 0, ret = 0, exit_code = LAB_EXIT_INFRA;
	enum verdict verdict = VERDICT_INFRA;
	char *record_err = NULL, *kept = NULL;
	struct lab_err_saved err_saved;
	bool err_kept = false;

	/* Validate the chain before touching anything. */
	ret = lab_resolve_chain(lab, chain_names, n, chain);
	if (ret)
		goto out;
	for (i = 0; i < n; i++)
		entries[i] = lab_variant_entry(lab, chain[i], &titles[i]);
	if (n > lab_get_int(lab, "grub", "max_stages", 9)) {
		ret = lab_err(LAB_ECONFIG,
			      "a chain of %d stages is longer than grub.max_stages = %lld in %s",
			      n, (long long)lab_get_int(lab, "grub", "max_stages", 9),
			      lab->path);
		goto out;
	}
	/* A typo in a rule file is found now, not after build and deploy. */
	{
		struct lab_rules lr;

		ret = lab_rules_load(lab, chain, n, &lr);
		if (ret)
			goto out;
		lab_rules_release(&lr);
	}
	nbuild = unique_variants(chain, n, hv);

	ret = lab_stop_catch(&stop);
	if (ret)
		goto out;

	/* The reservation first: nothing is touched on a board someone holds.
	 * A pool lab picks a free board of the pool here (it renames lab). */
	ret = take_board(lab, &bs, &lo);
	run_record_init(&rs.rec, lab, o->argc, o->argv);
	for (i = 0; i < n; i++)
		run_record_add_stage(&rs.rec, chain[i]->name, entries[i]);
	if (ret && remote && bs.leased)
		ret = recover_board(&rs, &bs, ret);
	if (ret)
		goto out_board;
	if (bs.lease.info.stolen_from[0])
		run_record_event(&rs.rec, 0, "LEASE_STOLEN_FROM",
				 bs.lease.info.stolen_from);
	if (remote) {
		struct board_deploy_stats st;

		if (o->build || o->deploy) {
			ret = build_and_deploy_remote(bs.ssh, lab, hv, built,
						      nbuild, o, ctx, &st);
			if (ret)
				goto out_board;
			for (i = 0; i < nbuild; i++)
				run_record_add_variant(&rs.rec, &hv[i], &built[i]);
		}
		ret = board_chain_check(lab, bs.ssh, entries, n);
		if (!ret)
			ret = board_chain_write(lab, bs.ssh, entries, n);
		if (ret)
			goto out_board;
	} else {
		ret = qemu_board_open(&board, lab);
		if (ret)
			goto out_board;	/* close frees what a failed open set up */
		if (o->build || o->deploy) {
			ret = build_and_deploy(&board, lab, hv, built, nbuild, o, ctx,
					       NULL);
			if (ret)
				goto out_board;
			for (i = 0; i < nbuild; i++)
				run_record_add_variant(&rs.rec, &hv[i], &built[i]);
		}
		/* The chain's end stops the machine (chain_stops()). */
		entries[n] = chain_stops(lab, n) ? GRUB_STOP_ENTRY : NULL;
		ret = qemu_board_set_chain(&board, lab, entries,
					   entries[n] ? n + 1 : n);
		entries[n] = NULL;
		if (ret)
			goto out_board;
		ret = bochs_board_is(lab) ? bochs_board_command(&board, lab) :	/* bochs board */
		      qemu_board_command(&board, lab);
		if (ret)
			goto out_board;
	}

	rs.watch = make_watch(lab, chain, n, o);
	if (!rs.watch) {
		ret = -LAB_ECONFIG;
		goto out_board;
	}
	if (remote) {
		/* The board's own console; power only if the soft reboot fails. */
		ccfg.driver = lab_get(lab, "console", "driver");
		if (!ccfg.driver) {
			ret = lab_err(LAB_ECONFIG,
				      "%s: a run on a real board needs its console: set [console] driver",
				      lab->path);
			goto out_watch;
		}
		ccfg.nparams = lab_section_params(lab, "console", cparams,
						  MAX_POWER_PARAMS);
		ccfg.params = cparams;
		/* A dropped SOL session or ser2net restart is a gap, not the end. */
		ccfg.reconnect = true;
		ccfg.on_link = run_on_link;
		ccfg.link_arg = &rs;
		ret = console_open(&rs.con, &ccfg);
		if (ret)
			goto out_watch;
	} else {
		pcfg.driver = bochs_board_is(lab) ? "bochs" : "qemu";	/* bochs board */
		nparams = lab_power_params(lab, params, MAX_POWER_PARAMS - 1);
		/* --keep-on: the board outlives labctl, so QEMU must not die with it. */
		if (o->keep_on)
			params[nparams++] = (struct lab_param){ "keep", "yes" };
		pcfg.params = params;
		pcfg.nparams = nparams;
		pcfg.qemu_argv = (const char *const *)board.argv;
		pcfg.state_dir = board.state_dir;
		pcfg.event = on_power_event;
		pcfg.event_arg = &rs;
		ret = power_open(&rs.power, &pcfg);
		if (ret)
			goto out_watch;
		/* The console is open before power-on, so nothing is lost. */
		ccfg.driver = bochs_board_is(lab) ? "bochs" : "qemu";	/* bochs board */
		ccfg.socket_path = board.console_sock;
		ret = console_open(&rs.con, &ccfg);
		if (ret)
			goto out_power;
	}
	ret = reader_init(&reader, &rs);
	if (ret)
		goto out_console;
	{
		const char *d = getenv("LABCTL_TEST_WATCH_DELAY_US");

		/* Tests only: a watcher this slow must not cost console bytes. */
		if (d && *d)
			rs.test_delay_us = strtoll(d, NULL, 10);
	}
	ret = capture_open(&rs.cap, o->results_dir, reader_on_line, &reader);
	if (ret)
		goto out_console;
	lab_info("run %s: %s", capture_name(rs.cap), capture_path(rs.cap));
	/* `labctl console --follow LAB` finds and tails this capture. */
	if (capture_publish(rs.cap, lab->name) < 0)
		lab_err_clear();
	if (lab_get_int(lab, "board", "gdb_port", 0))
		lab_info("gdb stub: attach with  gdb -ex 'target remote 127.0.0.1:%lld'",
			 (long long)lab_get_int(lab, "board", "gdb_port", 0));

	capture_mark_t0(rs.cap);
	rs.t0_ns = lab_mono_ns();
	rs.rec.t0_wall_ns = lab_wall_ns();
	rs.reader = &reader;
	ret = reader_start(&reader);
	if (!ret)
		ret = remote ? start_remote_boot(&rs, &bs) : power_on(rs.power);
	if (ret) {
		watch_event(rs.watch, "POWER", lab_errmsg(ret), since_t0(&rs));
		verdict = VERDICT_INFRA;
	} else {
		ret = watch_boot(&rs);
	}
	/* A failing board often prints its registers after the line that
	 * failed it: keep reading until it falls quiet, briefly. */
	if (!ret && watch_verdict(rs.watch) == VERDICT_FAIL)
		read_fail_tail(&reader);
	reader_stop(&reader);
	/* Identical boots, identical logs: a passing log ends with the line
	 * that decided (what came after it depends on when the reader
	 * stopped).  A failing log keeps its tail. */
	if (rs.decided_end && watch_verdict(rs.watch) == VERDICT_PASS &&
	    capture_truncate(rs.cap, rs.decided_end) < 0)
		lab_err_clear();	/* capture_close reports it */
	if (o->view && o->view->clear)
		o->view->clear(o->view->arg);
	verdict = watch_verdict(rs.watch);
	if (verdict == VERDICT_PENDING) {
		verdict = VERDICT_INFRA;
		watch_event(rs.watch, "ERROR", lab_errmsg(ret), since_t0(&rs));
	}
	exit_code = verdict_exit(verdict);

	/* Off first: bytes and events up to QEMU's exit still reach the log. */
	if (!o->keep_on && !remote)
		power_off(rs.power);
	if (lease_keeper_stolen()) {
		lab_warn("%s: the reservation was taken by %s during this run",
			 lab->name, lease_keeper_stolen());
		run_record_event(&rs.rec, since_t0(&rs), "LEASE_STOLEN_BY",
				 lease_keeper_stolen());
	}
	/* PASS only with the whole record on disk: the log, its sidecar and
	 * the JSON; otherwise exit 3, and nothing half-written that
	 * `labctl results` would list (the bytes received stay in .partial). */
	rs.capture_closed = true;
	if (capture_close(rs.cap) < 0)
		record_err = xstrdup(capture_error(rs.cap));
	run_record_finish(&rs.rec, rs.watch, since_t0(&rs));
	if (!record_err && run_record_write(&rs.rec, capture_path(rs.cap)) < 0)
		record_err = xstrdup(lab_errmsg(-LAB_EIO));
	if (record_err) {
		char *js = xasprintf("%s.json", capture_path(rs.cap));

		unlink(js);
		free(js);
		capture_abandon(rs.cap, &kept);
		run_record_lost(&rs.rec, record_err);
		exit_code = LAB_EXIT_INFRA;
		lab_error_msg("the record of run %s is incomplete: %s; %s",
			      capture_name(rs.cap), record_err,
			      kept ? "the console bytes received are in" :
			      "nothing of it was kept");
		if (kept)
			lab_error_msg("  %s", kept);
	} else {
		/* The index is a cache: `labctl results` catches up if this fails. */
		char *js = xasprintf("%s.json", capture_path(rs.cap));

		if (report_index_add(o->results_dir, js) < 0) {
			lab_warn("results index not updated (%s); `labctl results` will pick the run up",
				 lab_errmsg(-LAB_EIO));
			lab_err_clear();
		}
		free(js);
	}
	if (ctx->json) {
		struct strbuf js = STRBUF_INIT;

		run_record_json(&rs.rec, kept ? kept : capture_path(rs.cap), &js);
		fputs(strbuf_str(&js), stdout);
		strbuf_release(&js);
	} else if (!o->tap) {
		print_summary(&rs, stdout, record_err, kept);
	}
	/* --junit/--tap: from the files just written, as `labctl report` would. */
	if (!record_err && (o->junit_path || o->tap) &&
	    report_run_formats(capture_path(rs.cap), o->junit_path, o->tap,
			       stdout) < 0) {
		lab_warn("%s", lab_errmsg(-LAB_EIO));
		if (exit_code == LAB_EXIT_PASS)
			exit_code = LAB_EXIT_INFRA;
	}
	free(record_err);
	free(kept);
	ret = 0;
out_console:
	keep_error(ret, &err_saved, &err_kept);
	capture_free(rs.cap);
	rs.cap = NULL;
	reader_release(&reader);
	rs.reader = NULL;
	console_close(rs.con);
out_power:
	keep_error(ret, &err_saved, &err_kept);
	if (rs.power && !o->keep_on && !remote)
		power_off(rs.power);
	if (rs.power)
		power_close(rs.power);
out_watch:
	keep_error(ret, &err_saved, &err_kept);
	watch_free(rs.watch);
out_board:
	keep_error(ret, &err_saved, &err_kept);
	qemu_board_close(&board);
	board_session_close(&bs);
	lab_stop_release(&stop);
	run_record_release(&rs.rec);
out:
	if (err_kept)
		lab_err_restore(&err_saved);
	if (ret)
		exit_code = cmd_fail(ret);
	for (i = 0; i < nbuild; i++)
		hv_build_result_release(&built[i]);
	for (i = 0; i < n; i++)
		strbuf_release(&titles[i]);
	free(titles);
	free(entries);
	free(built);
	free(hv);
	free(chain);
	return exit_code;
}
