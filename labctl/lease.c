// SPDX-License-Identifier: MIT
/* Board reservations: expiring leases (see lease.h). */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "labctl/hostconn.h"
#include "labctl/boardops.h"
#include "labctl/lease.h"
#include "labctl/lease_etcd.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/netcheck.h"
#include "lib/paths.h"
#include "lib/spawn.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "ssh/ssh.h"

#define LEASE_REMOTE_DIR "/var/tmp/labctl-leases"

/*
 * $0 is "labctl-lease"; the arguments:
 *   OP DIR NAME OWNER TOKEN PID TTL FLAGS STALE_TOKEN
 * OP: take, renew, drop, show.  FLAGS: letters, s = steal, a = adopt a
 * manual lease (pid 0) of the same owner, f = drop whoever's.
 * STALE_TOKEN: a lease with this token counts as free (its holder, on the
 * caller's host, is dead).  The answer is "key=value" lines, status first.
 * Exit 0 even for "held": the caller reads the status.
 */
const char lease_script[] =
	"set -u\n"
	"op=$1 dir=$2 name=$3 owner=$4 token=$5 pid=$6 ttl=$7 flags=$8 stale=$9\n"
	/* Missing parents are private; the lease dir is shared (sticky). */
	"[ -d \"$dir\" ] || { (umask 077; mkdir -p \"$(dirname \"$dir\")\") &&\n"
	"  { mkdir -m 1777 \"$dir\" 2>/dev/null || [ -d \"$dir\" ]; }; } || exit 4\n"
	"umask 000\n"
	"f=$dir/$name.lease\n"
	"exec 9>>\"$dir/$name.lock\" || exit 4\n"
	"flock -w 20 9 || { echo status=error; echo note=flock; exit 4; }\n"
	"now=$(date +%s)\n"
	"c_owner= c_token= c_pid=0 c_start=0 c_expires=0 c_note=\n"
	"if [ -f \"$f\" ]; then\n"
	"  while IFS='=' read -r k v; do\n"
	"    case $k in\n"
	"    owner) c_owner=$v;; token) c_token=$v;; pid) c_pid=$v;;\n"
	"    start) c_start=$v;; expires) c_expires=$v;; note) c_note=$v;;\n"
	"    esac\n"
	"  done <\"$f\"\n"
	"fi\n"
	"live=0\n"
	"[ -n \"$c_token\" ] && [ \"$c_expires\" -gt \"$now\" ] && live=1\n"
	"[ -n \"$stale\" ] && [ \"$c_token\" = \"$stale\" ] && live=0\n"
	"mine=0 adopted=0\n"
	"[ -n \"$c_token\" ] && [ \"$c_token\" = \"$token\" ] && mine=1\n"
	"[ \"$mine\" = 1 ] && [ \"$c_pid\" = 0 ] && pid=0\n"
	"case $flags in *a*)\n"
	"  if [ \"$mine\" = 0 ] && [ \"$live\" = 1 ] && [ \"$c_owner\" = \"$owner\" ]; then\n"
	"    if [ \"$c_pid\" = 0 ]; then mine=1 adopted=1 token=$c_token pid=0\n"
	"    elif [ \"$c_pid\" = \"$pid\" ]; then mine=1 adopted=1 token=$c_token; fi\n"
	"  fi;;\n"
	"esac\n"
	"cur() {\n"
	"  echo \"owner=$c_owner\"; echo \"token=$c_token\"; echo \"pid=$c_pid\"\n"
	"  echo \"start=$c_start\"; echo \"expires=$c_expires\"; echo \"note=$c_note\"\n"
	"}\n"
	"put() {\n"
	"  tmp=$f.tmp.$$\n"
	"  printf 'owner=%s\\ntoken=%s\\npid=%s\\nstart=%s\\nexpires=%s\\nnote=%s\\n' \\\n"
	"    \"$owner\" \"$token\" \"$pid\" \"$1\" \"$((now + ttl))\" \"$2\" >\"$tmp\" &&\n"
	"    mv -f \"$tmp\" \"$f\" || { rm -f \"$tmp\"; echo status=error; echo note=write; exit 4; }\n"
	"  echo status=ok; echo \"owner=$owner\"; echo \"token=$token\"; echo \"pid=$pid\"\n"
	"  echo \"start=$1\"; echo \"expires=$((now + ttl))\"; echo \"note=$2\"\n"
	"  echo \"adopted=$adopted\"\n"
	"}\n"
	"case $op in\n"
	"show)\n"
	"  if [ \"$live\" = 1 ]; then echo status=held; cur; else echo status=free; fi;;\n"
	"take)\n"
	"  if [ \"$mine\" = 1 ]; then put \"$c_start\" \"$c_note\"\n"
	"  elif [ \"$live\" = 0 ]; then put \"$now\" \"\"\n"
	"  else case $flags in\n"
	"    *s*) put \"$now\" \"stolen from $c_owner\"\n"
	"         echo \"stolen_from=$c_owner (pid $c_pid, since $c_start)\";;\n"
	"    *) echo status=held; cur;;\n"
	"  esac; fi;;\n"
	"renew)\n"
	"  if [ \"$mine\" = 1 ]; then put \"$c_start\" \"$c_note\"\n"
	"  else echo status=lost; cur; fi;;\n"
	"drop)\n"
	"  case $flags in *f*) mine=1;; esac\n"
	"  if [ \"$mine\" = 1 ] || [ \"$live\" = 0 ]; then rm -f \"$f\"; echo status=ok\n"
	"  else echo status=notmine; cur; fi;;\n"
	"*) echo status=error; echo note=op; exit 4;;\n"
	"esac\n";

/* Copy with truncation (the fields are bounded; an overlong value is cut). */
static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

const char *lease_parse_answer(const char *text, struct lease_info *info,
			       char *status, size_t status_size)
{
	const char *p = text;
	bool have_status = false;

	memset(info, 0, sizeof(*info));
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		const char *eq = memchr(p, '=', len);

		if (eq) {
			size_t klen = eq - p, vlen = len - klen - 1;
			const char *v = eq + 1;
			char val[256];

			if (vlen >= sizeof(val))
				vlen = sizeof(val) - 1;
			memcpy(val, v, vlen);
			val[vlen] = '\0';
#define KEYIS(k) (klen == strlen(k) && !memcmp(p, k, klen))
			if (KEYIS("status")) {
				snprintf(status, status_size, "%s", val);
				have_status = true;
			} else if (KEYIS("owner")) {
				copy_str(info->owner, sizeof(info->owner), val);
			} else if (KEYIS("token")) {
				copy_str(info->token, sizeof(info->token), val);
			} else if (KEYIS("pid")) {
				info->pid = strtol(val, NULL, 10);
			} else if (KEYIS("start")) {
				info->start = strtoll(val, NULL, 10);
			} else if (KEYIS("expires")) {
				info->expires = strtoll(val, NULL, 10);
			} else if (KEYIS("note")) {
				copy_str(info->note, sizeof(info->note), val);
			} else if (KEYIS("adopted")) {
				info->adopted = !strcmp(val, "1");
			} else if (KEYIS("stolen_from")) {
				copy_str(info->stolen_from, sizeof(info->stolen_from), val);
			}
#undef KEYIS
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	if (!have_status)
		return NULL;
	info->held = !strcmp(status, "held") || !strcmp(status, "ok") ||
		     !strcmp(status, "lost") || !strcmp(status, "notmine");
	return status;
}

void lease_format_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t, now = time(NULL);
	struct tm tm, today;

	localtime_r(&tt, &tm);
	localtime_r(&now, &today);
	if (tm.tm_year == today.tm_year && tm.tm_yday == today.tm_yday)
		strftime(buf, size, "%H:%M", &tm);
	else
		strftime(buf, size, "%Y-%m-%d %H:%M", &tm);
}

static void who_am_i(char *owner, size_t size)
{
	const char *user = getenv("USER");
	struct passwd *pw;
	char host[64];

	if (!user || !*user) {
		pw = getpwuid(getuid());
		user = pw ? pw->pw_name : "unknown";
	}
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(owner, size, "%s@%s", user, host);
}

static void new_token(char *buf, size_t size)
{
	unsigned char r[8];
	FILE *f = fopen("/dev/urandom", "rb");
	size_t i;

	if (!f || fread(r, 1, sizeof(r), f) != sizeof(r)) {
		uint64_t x = (uint64_t)lab_mono_ns() ^ ((uint64_t)getpid() << 32);

		memcpy(r, &x, sizeof(r));
	}
	if (f)
		fclose(f);
	for (i = 0; i < sizeof(r) && 2 * i + 2 < size; i++)
		snprintf(buf + 2 * i, 3, "%02x", r[i]);
}

/*
 * A virtual board is one user's (its QEMU runs in the state directory,
 * $LABCTL_STATE_DIR or /tmp/labctl-<uid>/), so its leases are that user's
 * too, beside it: another user's (or state directory's) "qemu" is another
 * board.  lock.dir in the lab file, then $LABCTL_LOCK_DIR, come first.
 */
const char *lease_local_dir(const struct lab *lab)
{
	static char def[PATH_MAX];
	const char *dir = lab->lock.dir;
	const char *env = getenv("LABCTL_LOCK_DIR");
	char *state;

	if (dir)
		return dir;
	if (env && *env)
		return env;
	state = lab_state_path("leases");
	snprintf(def, sizeof(def), "%s", state);
	free(state);
	return def;
}

/* Who we are and for how long, wherever the lease lives. */
static void lease_init_self(struct lease *l)
{
	l->ttl_s = l->lab->lock.ttl_ms / 1000;
	if (l->ttl_s < 1)
		l->ttl_s = 1;
	who_am_i(l->owner, sizeof(l->owner));
	new_token(l->token, sizeof(l->token));
	l->pid = getpid();
}

static int lease_init_etcd(struct lease *l)
{
	int ret;

	lease_init_self(l);
	l->dir = xstrdup("etcd");
	ret = lease_etcd_init(l);
	if (ret)
		lease_release_resources(l);
	return ret;
}

int lease_init(struct lease *l, const struct lab *lab)
{
	const char *where = lab->lock.where;
	const struct board_ops *ops = board_ops_of(lab);
	const char *dir = lab->lock.dir;
	bool local;

	memset(l, 0, sizeof(*l));
	l->lab = lab;
	l->name = xstrdup(lab->name);
	if (lease_etcd_wanted(lab))
		return lease_init_etcd(l);
	if (!where)
		where = ops && ops->is_virtual ? "local" :
			lab->lock.host ? "host" : "board";
	local = !strcmp(where, "local");
	if (!local) {
		const char *h = !strcmp(where, "host") ?
				lab->lock.host :
				lab->board.host;

		if (!h) {
			lease_release_resources(l);
			return lab_err(LAB_ECONFIG,
				       "%s: lock.where = %s needs %s", lab->path,
				       where, !strcmp(where, "host") ?
				       "lock.host" : "board.host");
		}
		l->remote_host = xstrdup(h);
		l->on_board = strcmp(where, "host") != 0;
	}
	if (!dir)
		dir = local ? lease_local_dir(lab) : LEASE_REMOTE_DIR;
	l->dir = xstrdup(dir);
	lease_init_self(l);
	return 0;
}

void lease_release_resources(struct lease *l)
{
	lease_etcd_release(l);
	if (l->ssh)
		lab_ssh_close(l->ssh);
	free(l->name);
	free(l->dir);
	free(l->remote_host);
	memset(l, 0, sizeof(*l));
}

/* Run the script once; the answer into l->info, the status into status. */
static int lease_call(struct lease *l, const char *op, const char *flags,
		      const char *stale, int64_t ttl_s, char *status,
		      size_t status_size)
{
	char pid[32], ttl[32];
	const char *argv[] = {
		"sh", "-c", lease_script, "labctl-lease", op, l->dir, l->name,
		l->owner, l->token, pid, ttl, flags, stale ? stale : "", NULL
	};
	struct strbuf out, err;
	int ret, st = 0;

	snprintf(pid, sizeof(pid), "%ld", l->pid);
	snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_s);
	strbuf_init(&out);
	strbuf_init(&err);
	if (l->remote_host) {
		/* A board that is down: say so in a second, not a timeout. */
		if (!l->ssh && l->on_board &&
		    !lab_tcp_port_open(l->remote_host,
				       l->lab->board.ssh_port,
				       1000)) {
			ret = lab_err(LAB_EINFRA, "%s does not answer on its ssh port",
				      l->remote_host);
			goto out;
		}
		if (!l->ssh) {
			ret = hostconn_open(l->lab, l->remote_host, &l->ssh);
			if (ret)
				goto out;
		}
		ret = lab_ssh_run(l->ssh, argv, NULL, 0, &out, &err, &st, 30000);
	} else {
		struct spawn_opts so = { 0 };
		struct spawn_result res;

		so.out = &out;
		so.err = &err;
		so.timeout_ms = 30000;
		ret = lab_spawn(argv, &so, &res);
		st = res.exit_code;
	}
	if (ret)
		goto out;
	if (!lease_parse_answer(strbuf_str(&out), &l->info, status,
				status_size) || !strcmp(status, "error")) {
		strbuf_rtrim(&err);
		ret = lab_err(LAB_EINFRA,
			      "%s: cannot %s the lease in %s%s%s: %s%s",
			      l->name, op, l->remote_host ? l->remote_host : "",
			      l->remote_host ? ":" : "", l->dir,
			      err.len ? strbuf_str(&err) : "lease script failed",
			      l->info.note[0] ? "" : "");
	}
out:
	strbuf_release(&out);
	strbuf_release(&err);
	return ret;
}

static int busy_error(struct lease *l)
{
	char since[32], until[32], who[48];

	lease_format_time(l->info.start, since, sizeof(since));
	lease_format_time(l->info.expires, until, sizeof(until));
	if (l->info.pid)
		snprintf(who, sizeof(who), "; labctl pid %ld", l->info.pid);
	else
		snprintf(who, sizeof(who), "; by labctl lock");
	return lab_err(LAB_EBUSY, "%s is reserved by %s since %s (expires %s)%s",
		       l->name, l->info.owner, since, until, who);
}

/* The holder runs on this host and its process is gone. */
static bool holder_dead_here(const struct lease *l)
{
	const char *at = strchr(l->info.owner, '@');
	const char *mine = strchr(l->owner, '@');

	if (!at || !mine || strcmp(at, mine) || l->info.pid <= 0)
		return false;
	return kill((pid_t)l->info.pid, 0) != 0 && errno == ESRCH;
}

int lease_take(struct lease *l, const struct lease_take_opts *o)
{
	int64_t deadline = lab_mono_ms() + (o->wait_ms > 0 ? o->wait_ms : 0);
	int64_t ttl = o->ttl_s > 0 ? o->ttl_s : l->ttl_s;
	char flags[8], status[32];
	int ret, n = 0;

	if (l->etcd)
		return lease_etcd_take(l, o);
	if (o->manual)
		l->pid = 0;
	l->ttl_s = ttl;
	n = snprintf(flags, sizeof(flags), "%s%s", o->steal ? "s" : "", "a");
	(void)n;
	for (;;) {
		const char *stale = NULL;
		char dead[40];

		ret = lease_call(l, "take", flags, NULL, ttl, status,
				 sizeof(status));
		if (ret)
			return ret;
		if (!strcmp(status, "held") && holder_dead_here(l)) {
			snprintf(dead, sizeof(dead), "%s", l->info.token);
			stale = dead;
			lab_warn("%s: lease of %s (pid %ld) is stale: its process is gone",
				 l->name, l->info.owner, l->info.pid);
			ret = lease_call(l, "take", flags, stale, ttl, status,
					 sizeof(status));
			if (ret)
				return ret;
		}
		if (!strcmp(status, "ok")) {
			/* An adopted manual lease keeps its token and pid 0. */
			snprintf(l->token, sizeof(l->token), "%s", l->info.token);
			/* A manual lease stays pid 0; one this process already
			 * holds (console's ~p power) stays its outer holder's. */
			if (l->info.pid == 0)
				l->pid = 0;
			l->adopted = l->info.adopted;
			l->have = true;
			if (l->info.stolen_from[0])
				lab_warn("%s: took the reservation from %s",
					 l->name, l->info.stolen_from);
			return 0;
		}
		if (lab_mono_ms() >= deadline)
			return busy_error(l);
		lab_sleep_ms(500);
	}
}

int lease_renew(struct lease *l)
{
	char status[32];
	int ret;

	if (l->etcd)
		return lease_etcd_renew(l);
	ret = lease_call(l, "renew", "", NULL, l->ttl_s, status,
			     sizeof(status));

	if (ret)
		return ret;
	if (strcmp(status, "ok")) {
		l->have = false;
		return lab_err(LAB_EBUSY, "%s: the reservation was taken by %s",
			       l->name, l->info.owner[0] ? l->info.owner :
			       "someone (it expired)");
	}
	return 0;
}

/*
 * The common end of a run on a virtual board: drop our own local lease in
 * process (no sh, date, mv), under the same flock(1) lock file the script
 * uses, so it stays atomic against it.  1 when done, 0 to use the script.
 */
static int drop_own_local(struct lease *l)
{
	char *lock = xasprintf("%s/%s.lock", l->dir, l->name);
	char *file = xasprintf("%s/%s.lease", l->dir, l->name);
	char status[32], *text = NULL;
	struct strbuf sb = STRBUF_INIT;
	struct lease_info cur;
	int fd, done = 0;

	fd = open(lock, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX) < 0)
		goto out;
	if (strbuf_read_file(&sb, file, 4096) < 0) {
		lab_err_clear();
		goto out;
	}
	text = xasprintf("status=held\n%s", strbuf_str(&sb));
	if (lease_parse_answer(text, &cur, status, sizeof(status)) &&
	    !strcmp(cur.token, l->token) && unlink(file) == 0)
		done = 1;
out:
	if (fd >= 0)
		close(fd);	/* releases the flock */
	free(text);
	strbuf_release(&sb);
	free(lock);
	free(file);
	return done;
}

int lease_drop(struct lease *l, bool force)
{
	char status[32];
	int ret;

	if (l->etcd)
		return lease_etcd_drop(l, force);
	if (!force && !l->remote_host && l->have && drop_own_local(l)) {
		l->have = false;
		return 0;
	}
	ret = lease_call(l, "drop", force ? "fa" : "a", NULL, l->ttl_s,
			 status, sizeof(status));

	if (ret)
		return ret;
	if (!strcmp(status, "notmine"))
		return busy_error(l);
	l->have = false;
	return 0;
}

int lease_query(struct lease *l)
{
	char status[32];
	int ret;

	if (l->etcd)
		return lease_etcd_query(l);
	ret = lease_call(l, "show", "", NULL, l->ttl_s, status,
			     sizeof(status));

	if (!ret && strcmp(status, "held"))
		l->info.held = false;
	return ret;
}

/* ------------------------------------------------------------ keeper */

static struct {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool running, stop;
	struct lease *l;
	char stolen_by[128];
} keeper = { .mu = PTHREAD_MUTEX_INITIALIZER,
	     .cond = PTHREAD_COND_INITIALIZER };

static void *keeper_main(void *arg)
{
	struct lease *l = arg;
	/* Its own connection: libssh sessions are not shared across threads. */
	struct lease mine = *l;
	int64_t period_ms = l->ttl_s * 1000 / 3;

	mine.ssh = NULL;
	if (period_ms < 200)
		period_ms = 200;
	pthread_mutex_lock(&keeper.mu);
	while (!keeper.stop) {
		struct timespec ts;
		int64_t until = lab_wall_ns() / 1000000 + period_ms;

		ts.tv_sec = until / 1000;
		ts.tv_nsec = (until % 1000) * 1000000;
		pthread_cond_timedwait(&keeper.cond, &keeper.mu, &ts);
		if (keeper.stop)
			break;
		pthread_mutex_unlock(&keeper.mu);
		if (lease_renew(&mine) == -LAB_EBUSY && mine.info.owner[0]) {
			pthread_mutex_lock(&keeper.mu);
			snprintf(keeper.stolen_by, sizeof(keeper.stolen_by),
				 "%s", mine.info.owner);
			break;
		}
		/* An unreachable lease host (a rebooting board) is retried. */
		lab_err_clear();
		pthread_mutex_lock(&keeper.mu);
	}
	pthread_mutex_unlock(&keeper.mu);
	if (mine.ssh)
		lab_ssh_close(mine.ssh);
	return NULL;
}

int lease_keeper_start(struct lease *l)
{
	if (l->etcd)
		return lease_etcd_keeper_start(l);
	if (keeper.running)
		return 0;
	keeper.stop = false;
	keeper.stolen_by[0] = '\0';
	keeper.l = l;
	if (pthread_create(&keeper.thread, NULL, keeper_main, l) != 0)
		return lab_err(LAB_EIO, "cannot start the lease keeper thread");
	keeper.running = true;
	return 0;
}

void lease_keeper_stop(struct lease *l)
{
	if (l->etcd) {
		lease_etcd_keeper_stop(l);
		return;
	}
	if (!keeper.running)
		return;
	pthread_mutex_lock(&keeper.mu);
	keeper.stop = true;
	pthread_cond_signal(&keeper.cond);
	pthread_mutex_unlock(&keeper.mu);
	pthread_join(keeper.thread, NULL);
	keeper.running = false;
}

const char *lease_keeper_stolen(void)
{
	if (lease_etcd_lost())
		return lease_etcd_lost();
	return keeper.stolen_by[0] ? keeper.stolen_by : NULL;
}

int lease_report(struct lease *l, int exit_code, const char *reason)
{
	return l->etcd ? lease_etcd_report(l, exit_code, reason) : 0;
}
