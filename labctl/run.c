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
#include "labctl/boardops.h"
#include "labctl/board_virtual.h"
#include "labctl/labgrub.h"
#include "labctl/lease.h"
#include "ssh/ssh.h"
#include "labctl/results.h"
#include "labctl/rules.h"
#include "labctl/run.h"
#include "labctl/guesttest.h"
#include "labctl/watch.h"
#include "lib/clock.h"
#include "lib/err.h"
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

#define DRAIN_MS 200

struct run_state {
	const struct lab *lab;	/* the board's: a pool's member once taken */
	struct lab *member;	/* that member, owned */
	const struct board_ops *board;	/* its type, once taken */
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
 * Whether the emulator's end was the lab's doing, not the guest's: a
 * signal (kill from outside, the OOM killer), its own error ("status N:
 * message", see power/qemu.c), or a shutdown the host asked for.  The
 * guest ends QEMU only by isa-debug-exit (an odd status), shutdown, reset
 * or triple fault.  The reason for the record, or NULL when it was the
 * guest.  The emulator is named by the board type's title ("QEMU").
 */
static const char *emulator_lab_exit(const struct run_state *rs, char *buf,
				     size_t size)
{
	const char *d = rs->exit_detail;
	const char *vm = rs->board ? rs->board->title : "the board";
	int sig;

	/* "status|signal N: why": the emulator's own failure (a Bochs
	 * panic that ends in a crash is still Bochs' panic, power/bochs.c). */
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
		snprintf(buf, size, "%s was stopped by the host (%s), not by the guest (%.200s)",
			 vm, rs->host_stop, d);
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

/*
 * A virtual board's chain ends in GRUB_STOP_ENTRY (labctl writes its
 * grub.cfg), when a slot is left: after the last stage GRUB stops the
 * machine instead of booting entry 0.  A real board's chain ends in its
 * default entry, its OS, which a run needs back; on a virtual board a
 * chain ending in `default` ends in its OS disk (stage_entry()).
 */
static bool chain_stops(const struct lab *lab, int n, bool ends_in_os)
{
	const struct board_ops *ops = board_ops_of(lab);

	return ops && ops->is_virtual && !ends_in_os && n < lab->grub.max_stages;
}

/*
 * Stage i's GRUB entry: its variant's; the last stage of a chain ending
 * in a virtual board's OS (os_disk, vboard_check_os()) boots that disk's
 * boot sector as its guest, as XMHF boots a laptop's disk.
 */
static const char *stage_entry(const struct lab *lab,
			       const struct lab_variant *const *chain, int i,
			       int n, bool ends_in_os, struct strbuf *tmp)
{
	if (ends_in_os && i == n - 1 && lab->board.os_disk)
		return lab_variant_os_entry(lab, chain[i], tmp);
	return lab_variant_entry(lab, chain[i], tmp);
}

static struct watch *make_watch(const struct lab *lab,
				const struct lab_variant *const *chain, int n,
				const struct run_opts *o)
{
	struct strbuf *titles = xcalloc((size_t)n + 1, sizeof(*titles));
	const char *fails[2] = { lab->watch.fail, NULL };
	struct watch_stage_def *defs;
	struct lab_rules lr;
	struct watch_opts wo = {
		.stage_timeout_ms = lab->watch.stage_timeout_ms,
		.total_timeout_ms = lab->watch.timeout_ms,
		.silence_timeout_ms = lab->watch.silence_timeout_ms,
		.pass_re = lab->watch.pass,
		.fail_res = fails,
		.stop_entry = chain_stops(lab, n, o->ends_in_os) ? GRUB_STOP_ENTRY : NULL,
		.ends_in_os = o->ends_in_os,
	};
	struct watch *w;
	int i;

	/* The rule sets: [watch] rules (default standin), each variant's. */
	if (lab_rules_load(lab, chain, n, o->ends_in_os, &lr) < 0) {
		free(titles);
		return NULL;
	}
	wo.rules = lr.run;
	/* A real board's CPU count is the lab's to say (watch.cpus). */
	wo.cpus = lr.cpus ? lr.cpus : lab->watch.cpus ? lab->watch.cpus :
		  board_is_remote(lab) ? 1 : lab->board.smp;
	wo.iter_min = lr.iter_min >= 0 ? lr.iter_min :
		      lab->watch.iter_min;
	if (o->timeout_ms > 0)
		wo.total_timeout_ms = o->timeout_ms;
	defs = xcalloc((size_t)n + 1, sizeof(*defs));
	for (i = 0; i < n; i++) {
		defs[i].name = chain[i]->name;
		defs[i].banner = variant_banner(chain[i], lr.banner[i]);
		defs[i].rules = lr.stage[i];
		/* GRUB's "Booting `ENTRY'" begins the stage. */
		defs[i].entry = stage_entry(lab, chain, i, n, o->ends_in_os,
					    &titles[i]);
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

static struct hv_build_opts build_opts(const struct run_opts *o)
{
	struct hv_build_opts bo = {
		.images_dir = images_dir(),
		.hypervisor_dir = getenv("LABCTL_HYPERVISOR_DIR"),
		.jobs = o->jobs,
		.force = o->force_build,
		.progress = o->quiet || lab_log_get_level() < LAB_LOG_INFO ?
			    HV_PROGRESS_NONE :
			    isatty(2) ? HV_PROGRESS_TTY : HV_PROGRESS_PLAIN,
	};

	return bo;
}

/* Build (cached) and copy to the board; *st: what was copied. */
static int build_and_deploy(struct board *b, const struct hv_variant *hv,
			    struct hv_build_result *built, int n,
			    const struct run_opts *o, struct board_deploy_stats *st)
{
	struct hv_build_opts bo = build_opts(o);
	int64_t t0 = lab_mono_ms();
	int ret;

	/* Also the cache check: an unchanged variant costs a hash of its inputs. */
	ret = hv_build(hv, n, &bo, built);
	if (!ret)
		ret = lab_board_deploy(b, hv, built, n, images_dir(),
				       !o->quiet && isatty(2), st);
	if (!st->elapsed_ms)
		st->elapsed_ms = lab_mono_ms() - t0;
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

int lab_deploy(struct lab *lab, const char *const *names, int n,
	       const struct run_opts *o, struct deploy_result *out)
{
	const struct lab_variant **chain = xcalloc((size_t)n + 1, sizeof(*chain));
	struct hv_variant *hv = xcalloc((size_t)n + 1, sizeof(*hv));
	struct hv_build_result *built = xcalloc((size_t)n + 1, sizeof(*built));
	struct board b = { 0 };
	struct lease_take_opts lo = { .steal = o->steal };
	int i, nb = 0, ret;

	memset(out, 0, sizeof(*out));
	ret = lab_resolve_chain(lab, names, n, chain);
	if (!ret) {
		nb = unique_variants(chain, n, hv);
		ret = lab_board_open(&b, lab, &lo, NULL);
	}
	if (!ret)
		ret = build_and_deploy(&b, hv, built, nb, o, &out->st);
	out->variants = nb;
	out->remote = b.ops && !b.ops->is_virtual;
	if (b.bs.ssh)
		out->board = xstrdup(lab_ssh_where(b.bs.ssh));
	else if (b.ops && b.ops->is_virtual)
		out->board = xstrdup(b.ops->type);
	if (out->st.disk)
		out->disk = xstrdup(out->st.disk);
	out->st.disk = NULL;	/* the board's, gone after close */
	lab_board_close(&b);
	for (i = 0; i < nb; i++)
		hv_build_result_release(&built[i]);
	free(built);
	free(hv);
	free(chain);
	return ret;
}

void deploy_result_release(struct deploy_result *r)
{
	free(r->board);
	free(r->disk);
	memset(r, 0, sizeof(*r));
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
			const char *lab_why = emulator_lab_exit(rs, why, sizeof(why));

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

/* The first error's message survives the cleanups after it (power off...). */
static void keep_error(int ret, struct lab_err_saved *saved, bool *kept)
{
	if (ret && !*kept) {
		lab_err_save(saved);
		*kept = true;
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
 * free one (*member, a lab of its own named after the board).  When all are
 * busy, wait in line (a ticket in the lease directory) and say where in
 * the line we are.
 */
static int take_board(const struct lab *lab, struct lab **member,
		      struct board *b, const struct lease_take_opts *lo,
		      const struct board_hooks *hooks)
{
	int npool = lab->board.pool;
	struct lease_take_opts now = *lo;
	const char *base = lab->name;
	char *qdir = NULL, *ticket = NULL, mine[64];
	int i, ret = 0, last_pos = -1;

	*member = NULL;
	if (npool <= 1)
		return lab_board_open(b, lab, lo, hooks);
	now.wait_ms = 0;
	for (;;) {
		for (i = 1; i <= npool; i++) {
			*member = lab_pool_member(lab, i);
			ret = lab_board_open(b, *member, &now, hooks);
			if (!ret)
				goto got;
			lab_board_close(b);
			lab_free(*member);
			*member = NULL;
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
	lab_info("%s: using board %s of the pool", base, (*member)->name);
out:
	if (ticket)
		unlink(ticket);
	free(ticket);
	free(qdir);
	return ret;
}

/* A chain as a run needs it: its variants, GRUB entries and builds. */
struct run_chain {
	const struct lab_variant **v;
	const char **entries;
	struct strbuf *titles;	/* the entries' storage */
	struct hv_variant *hv;	/* each variant once, to build */
	struct hv_build_result *built;
	int n, nbuild;
};

/* The chain, checked before anything is touched (names, length, rules). */
static int chain_prepare(struct run_chain *c, const struct lab *lab,
			 const char *const *names, int n, bool ends_in_os)
{
	struct lab_rules lr;
	int i, ret;

	c->n = n;
	c->v = xcalloc((size_t)n + 1, sizeof(*c->v));
	c->entries = xcalloc((size_t)n + 1, sizeof(*c->entries));
	c->titles = xcalloc((size_t)n + 1, sizeof(*c->titles));
	c->hv = xcalloc((size_t)n + 1, sizeof(*c->hv));
	c->built = xcalloc((size_t)n + 1, sizeof(*c->built));
	ret = lab_resolve_chain(lab, names, n, c->v);
	if (ret)
		return ret;
	ret = vboard_check_os(lab, ends_in_os);
	if (ret)
		return ret;
	for (i = 0; i < n; i++)
		c->entries[i] = stage_entry(lab, c->v, i, n, ends_in_os,
					    &c->titles[i]);
	if (n > lab->grub.max_stages)
		return lab_err(LAB_ECONFIG,
			       "a chain of %d stages is longer than grub.max_stages = %lld in %s",
			       n, (long long)lab->grub.max_stages,
			       lab->path);
	/* A typo in a rule file is found now, not after build and deploy. */
	ret = lab_rules_load(lab, c->v, n, ends_in_os, &lr);
	if (ret)
		return ret;
	lab_rules_release(&lr);
	c->nbuild = unique_variants(c->v, n, c->hv);
	return 0;
}

static void chain_release(struct run_chain *c)
{
	int i;

	for (i = 0; i < c->nbuild; i++)
		hv_build_result_release(&c->built[i]);
	for (i = 0; c->titles && i < c->n; i++)
		strbuf_release(&c->titles[i]);
	free(c->titles);
	free(c->entries);
	free(c->built);
	free(c->hv);
	free(c->v);
}

/*
 * The board, ready to boot the chain: reserved (a pool lab picks a free
 * board here: rs->lab becomes that board's), the chain built and deployed when asked,
 * and set in the board's GRUB environment.
 */
static int board_ready(struct run_state *rs, struct board *b,
		       struct run_chain *c)
{
	struct board_hooks hooks = {
		.event = on_power_event, .on_link = run_on_link, .arg = rs,
	};
	const struct run_opts *o = rs->opts;
	struct lease_take_opts lo = { .steal = o->steal };
	struct board_deploy_stats st = { 0 };
	int i, ret;

	ret = take_board(rs->lab, &rs->member, b, &lo, &hooks);
	if (rs->member)
		rs->lab = rs->member;
	run_record_set_lab(&rs->rec, rs->lab->name);
	if (ret)
		return ret;
	rs->board = b->ops;
	b->keep_on = o->keep_on;
	if (b->bs.lease.info.stolen_from[0])
		run_record_event(&rs->rec, 0, "LEASE_STOLEN_FROM",
				 b->bs.lease.info.stolen_from);
	if (o->build || o->deploy) {
		ret = build_and_deploy(b, c->hv, c->built, c->nbuild, o, &st);
		if (ret)
			return ret;
		for (i = 0; i < c->nbuild; i++)
			run_record_add_variant(&rs->rec, &c->hv[i], &c->built[i]);
	}
	/* The chain's end stops the machine (chain_stops()). */
	c->entries[c->n] = chain_stops(rs->lab, c->n, o->ends_in_os) ?
		GRUB_STOP_ENTRY : NULL;
	ret = lab_board_set_chain(b, c->entries,
				  c->entries[c->n] ? c->n + 1 : c->n);
	c->entries[c->n] = NULL;
	return ret;
}

/* The console's reader thread and the capture into results/<ts>. */
static int capture_start(struct run_state *rs, struct reader *reader)
{
	const struct lab *lab = rs->lab;
	const char *d = getenv("LABCTL_TEST_WATCH_DELAY_US");
	int ret;

	ret = reader_init(reader, rs);
	if (ret)
		return ret;
	/* Tests only: a watcher this slow must not cost console bytes. */
	if (d && *d)
		rs->test_delay_us = strtoll(d, NULL, 10);
	ret = capture_open(&rs->cap, rs->opts->results_dir, reader_on_line,
			   reader);
	if (ret)
		return ret;
	lab_info("run %s: %s", capture_name(rs->cap), capture_path(rs->cap));
	/* `labctl console --follow LAB` finds and tails this capture. */
	if (capture_publish(rs->cap, lab->name) < 0)
		lab_err_clear();
	if (lab->board.gdb_port)
		lab_info("gdb stub: attach with  gdb -ex 'target remote 127.0.0.1:%lld'",
			 (long long)lab->board.gdb_port);
	return 0;
}

/* Power-on (t0), the boot, and the watch until its verdict. */
static void boot_and_watch(struct run_state *rs, struct board *b,
			   struct reader *reader)
{
	const struct run_view *view = rs->opts->view;
	int ret;

	capture_mark_t0(rs->cap);
	rs->t0_ns = lab_mono_ns();
	rs->rec.t0_wall_ns = lab_wall_ns();
	rs->reader = reader;
	ret = reader_start(reader);
	if (!ret)
		ret = lab_board_boot(b);
	rs->power = b->power;	/* a real board's, when the boot cycled it */
	if (ret)
		watch_event(rs->watch, "POWER", lab_errmsg(ret), since_t0(rs));
	else
		ret = watch_boot(rs);
	/* A failing board often prints its registers after the line that
	 * failed it: keep reading until it falls quiet, briefly. */
	if (!ret && watch_verdict(rs->watch) == VERDICT_FAIL)
		read_fail_tail(reader);
	reader_stop(reader);
	/* Identical boots, identical logs: a passing log ends with the line
	 * that decided (what came after it depends on when the reader
	 * stopped).  A failing log keeps its tail. */
	if (rs->decided_end && watch_verdict(rs->watch) == VERDICT_PASS &&
	    capture_truncate(rs->cap, rs->decided_end) < 0)
		lab_err_clear();	/* capture_close reports it */
	if (view && view->clear)
		view->clear(view->arg);
	if (watch_verdict(rs->watch) == VERDICT_PENDING)
		watch_event(rs->watch, "ERROR", lab_errmsg(ret), since_t0(rs));
}

/*
 * The record on disk, and into out.  PASS only with the whole record on
 * disk: the log, its sidecar and the JSON; otherwise the verdict is
 * infra, and nothing half-written that `labctl results` would list (the
 * bytes received stay in .partial).
 */
/*
 * After the chain on a real board: when it passed, the lab's [test]
 * commands inside the board's OS (a failed one fails the record); when
 * it did not, the board is brought back into its OS (the power plan when
 * ssh does not answer), recorded as RECOVER while the verdict stays the
 * chain's.  A virtual board is simply stopped.
 */
static void after_chain(struct run_state *rs, struct board *b)
{
	const struct lab *lab = rs->lab;
	const char *v = rs->rec.res.verdict;
	int ret;

	if (b->ops->is_virtual || lab_stop_signal)
		return;
	if (v && !strcmp(v, "pass")) {
		if (guesttest_wanted(lab) &&
		    guesttest_run(lab, &b->bs.ssh, &rs->rec, rs->t0_ns))
			lab_err_clear();	/* the record says why */
		return;
	}
	if (!b->ops->recover || !b->bs.leased)
		return;
	if (b->bs.ssh) {
		lab_ssh_close(b->bs.ssh);
		b->bs.ssh = NULL;
	}
	ret = b->ops->recover(b, lab_err(LAB_EINFRA,
					 "the chain ended with the board outside its OS"));
	run_record_event(&rs->rec, since_t0(rs), "RECOVER",
			 ret ? lab_errmsg(ret) : "the board answers ssh");
	if (ret)
		lab_warn("%s: the board was not brought back: %s", lab->name,
			 lab_errmsg(ret));
	lab_err_clear();
}

static void record_result(struct run_state *rs, struct board *b,
			  struct run_result *out)
{
	const char *path = capture_path(rs->cap);
	char *record_err = NULL, *kept = NULL;
	char *js = xasprintf("%s.json", path);

	if (lease_keeper_stolen()) {
		lab_warn("%s: the reservation was taken by %s during this run",
			 rs->lab->name, lease_keeper_stolen());
		run_record_event(&rs->rec, since_t0(rs), "LEASE_STOLEN_BY",
				 lease_keeper_stolen());
	}
	rs->capture_closed = true;
	if (capture_close(rs->cap) < 0)
		record_err = xstrdup(capture_error(rs->cap));
	run_record_finish(&rs->rec, rs->watch, since_t0(rs));
	if (!record_err)
		after_chain(rs, b);
	if (!record_err && run_record_write(&rs->rec, path) < 0)
		record_err = xstrdup(lab_errmsg(-LAB_EIO));
	out->name = xstrdup(capture_name(rs->cap));
	out->log_bytes = capture_bytes(rs->cap);
	if (record_err) {
		unlink(js);
		capture_abandon(rs->cap, &kept);
		out->boot_verdict = xstrdup(rs->rec.res.verdict);
		out->boot_reason = xstrdup(rs->rec.res.reason ? rs->rec.res.reason : "");
		run_record_lost(&rs->rec, record_err);
		lab_error_msg("the record of run %s is incomplete: %s; %s",
			      capture_name(rs->cap), record_err,
			      kept ? "the console bytes received are in" :
			      "nothing of it was kept");
		if (kept)
			lab_error_msg("  %s", kept);
		out->record_err = record_err;
		out->kept = kept;
		run_record_stamp(&rs->rec, kept ? kept : path);
	} else if (report_index_add(rs->opts->results_dir, js) < 0) {
		/* The index is a cache: `labctl results` catches up. */
		lab_warn("results index not updated (%s); `labctl results` will pick the run up",
			 lab_errmsg(-LAB_EIO));
		lab_err_clear();
	}
	free(js);
	/* The record is the caller's now. */
	out->rec = rs->rec.res;
	memset(&rs->rec.res, 0, sizeof(rs->rec.res));
}

int lab_run_chain(const struct lab *lab, const char *const *chain_names, int n,
		  const struct run_opts *o, struct run_result *out)
{
	struct run_chain c = { 0 };
	struct run_state rs = { .lab = lab, .opts = o };
	struct reader reader = { .wake = { -1, -1 }, .notify = { -1, -1 } };
	struct lab_stop_saved stop;
	struct board b = { 0 };
	struct lab_err_saved err_saved;
	bool err_kept = false;
	char *health_why = NULL;
	int i, ret;

	memset(out, 0, sizeof(*out));
	ret = chain_prepare(&c, lab, chain_names, n, o->ends_in_os);
	if (!ret)
		ret = lab_stop_catch(&stop);
	if (ret)
		goto out;
	/* The record first: a board that is recovered on open says so in it. */
	run_record_init(&rs.rec, lab, o->argc, o->argv);
	for (i = 0; i < n; i++)
		run_record_add_stage(&rs.rec, c.v[i]->name, c.entries[i]);
	/* The rules first: a lab they do not fit touches no board. */
	rs.watch = make_watch(lab, c.v, n, o);
	if (!rs.watch) {
		ret = -LAB_ECONFIG;
		goto out_board;
	}
	ret = board_ready(&rs, &b, &c);
	if (ret)
		goto out_board;
	/* The console is open before power-on, so nothing is lost. */
	ret = lab_board_prepare(&b);
	if (!ret)
		ret = lab_board_console(&b, NULL, &rs.con);
	if (ret)
		goto out_watch;
	rs.power = b.power;
	ret = capture_start(&rs, &reader);
	if (ret)
		goto out_console;
	boot_and_watch(&rs, &b, &reader);
	/* Off first: bytes and events up to the emulator's exit still reach the log. */
	lab_board_stop(&b);
	record_result(&rs, &b, out);
out_console:
	keep_error(ret, &err_saved, &err_kept);
	capture_free(rs.cap);
	rs.cap = NULL;
	reader_release(&reader);
	rs.reader = NULL;
	console_close(rs.con);
out_watch:
	keep_error(ret, &err_saved, &err_kept);
	lab_board_stop(&b);
	health_why = xstrdup(watch_reason(rs.watch) ? watch_reason(rs.watch) : "");
out_board:
	keep_error(ret, &err_saved, &err_kept);
	/* Board health: lab errors in a row take a shared board offline. */
	if (b.bs.leased &&
	    lease_report(&b.bs.lease, ret ? lab_exit_code(ret) : run_result_exit(out),
			 ret ? lab_errmsg(ret) : health_why) < 0)
		lab_err_clear();
	free(health_why);
	watch_free(rs.watch);
	lab_board_close(&b);
	lab_free(rs.member);
	lab_stop_release(&stop);
	run_record_release(&rs.rec);
out:
	if (err_kept)
		lab_err_restore(&err_saved);
	chain_release(&c);
	return ret;
}

void run_result_release(struct run_result *r)
{
	result_release(&r->rec);
	free(r->name);
	free(r->record_err);
	free(r->boot_verdict);
	free(r->boot_reason);
	free(r->kept);
	memset(r, 0, sizeof(*r));
}

int run_result_exit(const struct run_result *r)
{
	if (!r->rec.verdict)
		return LAB_EXIT_INFRA;
	if (!strcmp(r->rec.verdict, "pass"))
		return LAB_EXIT_PASS;
	if (!strcmp(r->rec.verdict, "fail"))
		return LAB_EXIT_FAIL;
	return LAB_EXIT_INFRA;
}
