// SPDX-License-Identifier: MIT
/* Reservations, their queue and board health in etcd; see lease_etcd.h. */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "labctl/lease.h"
#include "labctl/lease_etcd.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/etcd.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/secret.h"
#include "lib/stopsig.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"

#define DEFAULT_PASSWORD_ENV "LABCTL_ETCD_PASSWORD"
/* One watch lasts at most this long before it is set up again (a stop
 * signal or the --wait deadline is seen at once in between anyway). */
#define WATCH_SLICE_MS 30000

struct lease_etcd {
	struct etcd *e;
	char *holder_key;	/* PREFIX lock/LAB/holder */
	char *queue_prefix;	/* PREFIX lock/LAB/queue/ */
	char *health_key;	/* PREFIX health/LAB */
	char *queue_key;	/* ours while we wait */
	const char *priority;	/* fifo, people, ci */
	char klass[8];		/* people or ci */
	int64_t ttl_s;		/* etcd lease TTL of a live process */
	int64_t offline_after;
	int64_t lease_id;	/* kept alive by the keeper */
	int64_t manual_id;	/* `labctl lock`'s holder lease */
	bool handover;		/* the reservation outlives this struct */
	/* lease_etcd_query */
	struct etcd_kv *queue;
	int nqueue;
	json_t *health;
};

bool lease_etcd_wanted(const struct lab *lab)
{
	const char *where = lab->lock.where;

	return where && !strcmp(where, "etcd");
}

int lease_etcd_split_list(const char *text, char ***words)
{
	const char *p = text;
	int n = 0;

	*words = NULL;
	while (p && *p) {
		size_t len;

		p += strspn(p, ", \t");
		len = strcspn(p, ", \t");
		if (!len)
			break;
		*words = xrealloc(*words, (n + 1) * sizeof(**words));
		(*words)[n++] = xstrndup(p, len);
		p += len;
	}
	return n;
}

void lease_etcd_free_list(char **words, int n)
{
	while (n > 0)
		free(words[--n]);
	free(words);
}

int lease_etcd_rank(const char *priority, const char *klass)
{
	if (!priority || !strcmp(priority, "fifo"))
		return 0;
	return strcmp(priority, klass) ? 1 : 0;
}

/* people, or ci when this is a CI job ($LABCTL_CLASS, else $CI). */
static const char *my_class(void)
{
	const char *c = getenv("LABCTL_CLASS"), *ci = getenv("CI");

	if (c && (!strcmp(c, "ci") || !strcmp(c, "people")))
		return c;
	return ci && *ci && strcmp(ci, "false") && strcmp(ci, "0") ?
	       "ci" : "people";
}

static int read_password(const struct lab *lab, struct strbuf *pw)
{
	const char *file = lab->lock.password_file;
	const char *env = lab->lock.password_env;
	const char *v;

	if (file)
		return lab_read_secret_file("[lock] password_file", file, pw);
	if (!env)
		env = DEFAULT_PASSWORD_ENV;
	v = getenv(env);
	if (!v || !*v)
		return lab_err(LAB_ECONFIG,
			       "%s: [lock] user = %s needs the etcd password: set $%s or [lock] password_file = PATH (mode 0600)",
			       lab->path, lab->lock.user, env);
	strbuf_addstr(pw, v);
	return 0;
}

int lease_etcd_init(struct lease *l)
{
	const struct lab *lab = l->lab;
	const char *eps = lab->lock.endpoints;
	const char *prefix = lab->lock.prefix;
	struct etcd_config cfg = { 0 };
	struct strbuf pw = STRBUF_INIT;
	struct lease_etcd *le;
	char **words;
	int n, ret;

	n = lease_etcd_split_list(eps, &words);
	if (!n)
		return lab_err(LAB_ECONFIG,
			       "%s: lock.where = etcd needs lock.endpoints (e.g. http://10.0.0.5:2379, http://10.0.0.6:2379)",
			       lab->path);
	cfg.endpoints = (const char *const *)words;
	cfg.nendpoints = n;
	cfg.cacert = lab->lock.cacert;
	cfg.cert = lab->lock.cert;
	cfg.key = lab->lock.key;
	cfg.user = lab->lock.user;
	cfg.timeout_ms = lab->lock.etcd_timeout_ms;
	if ((cfg.cert != NULL) != (cfg.key != NULL)) {
		lease_etcd_free_list(words, n);
		return lab_err(LAB_ECONFIG, "%s: lock.cert and lock.key go together",
			       lab->path);
	}
	if (cfg.user) {
		ret = read_password(lab, &pw);
		if (ret) {
			lease_etcd_free_list(words, n);
			strbuf_release(&pw);
			return ret;
		}
		cfg.password = strbuf_str(&pw);
	}
	le = xcalloc(1, sizeof(*le));
	ret = etcd_open(&cfg, &le->e);
	lease_etcd_free_list(words, n);
	if (pw.len)
		memset(pw.buf, 0, pw.len);
	strbuf_release(&pw);
	if (ret) {
		free(le);
		return ret;
	}
	if (!prefix)
		prefix = "/labctl/";
	le->holder_key = xasprintf("%slock/%s/holder", prefix, l->name);
	le->queue_prefix = xasprintf("%slock/%s/queue/", prefix, l->name);
	le->health_key = xasprintf("%shealth/%s", prefix, l->name);
	le->priority = lab->lock.priority;
	if (!le->priority)
		le->priority = "fifo";
	snprintf(le->klass, sizeof(le->klass), "%s", my_class());
	le->ttl_s = lab->lock.etcd_ttl_ms / 1000;
	if (le->ttl_s < 2)
		le->ttl_s = 2;
	le->offline_after = lab->lock.offline_after;
	l->etcd = le;
	return 0;
}

/* ------------------------------------------------------------ keeper */

#define KEEPER_MAX 4

/*
 * One thread keeps this process's etcd leases alive (a waiter's, a
 * holder's, a pool ticket's) every ttl/3 on its own connection; for the
 * reservation a run holds it also checks the holder key is still ours.
 * A lost lease is recorded; the run's is also a stop (as by SIGTERM), so
 * the run no longer touches the board and records why.
 */
static struct {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool running, stop;
	struct etcd *e;
	int64_t ids[KEEPER_MAX];
	int nids;
	int64_t guard_id, ttl_s;
	char holder_key[512];
	char token[40];
	char lost[256];
} keeper = { .mu = PTHREAD_MUTEX_INITIALIZER,
	     .cond = PTHREAD_COND_INITIALIZER };

static void keeper_lose(int64_t id, const char *why)
{
	bool guard;

	pthread_mutex_lock(&keeper.mu);
	if (!keeper.lost[0])
		snprintf(keeper.lost, sizeof(keeper.lost), "%s", why);
	guard = id == keeper.guard_id;
	pthread_mutex_unlock(&keeper.mu);
	if (guard)
		lab_stop_handler(SIGTERM);
}

/* The holder key still carries our token; *why when not. */
static bool holder_still_ours(struct etcd *e, const char *key,
			      const char *token, char *why, size_t size)
{
	struct etcd_kv *kvs;
	json_t *v;
	int n;
	bool ours = true;

	if (etcd_range(e, key, false, &kvs, &n, NULL)) {
		lab_err_clear();
		return true;	/* unreachable: the lease TTL decides */
	}
	v = n ? json_loads(kvs[0].value, 0, NULL) : NULL;
	if (!n) {
		snprintf(why, size, "nobody (its reservation key in etcd was deleted)");
		ours = false;
	} else if (strcmp(json_string_value(json_object_get(v, "token")) ?: "",
			  token)) {
		snprintf(why, size, "%s",
			 json_string_value(json_object_get(v, "owner")) ?: "someone");
		ours = false;
	}
	json_decref(v);
	etcd_kvs_free(kvs, n);
	return ours;
}

static void *keeper_main(void *arg)
{
	int64_t period_ms = keeper.ttl_s * 1000 / 3;
	int64_t last_ok = lab_mono_ms(), next = last_ok + period_ms;

	(void)arg;
	pthread_mutex_lock(&keeper.mu);
	while (!keeper.stop) {
		int64_t ids[KEEPER_MAX], guard, start, wait_ms;
		struct timespec ts;
		char why[200], key[512], token[40];
		bool failed = false;
		int n, i;

		wait_ms = next - lab_mono_ms();
		if (wait_ms > 0) {
			int64_t until = lab_wall_ns() / 1000000 + wait_ms;

			ts.tv_sec = until / 1000;
			ts.tv_nsec = (until % 1000) * 1000000;
			pthread_cond_timedwait(&keeper.cond, &keeper.mu, &ts);
			if (!keeper.stop && lab_mono_ms() < next)
				continue;	/* woken early, not to stop */
		}
		if (keeper.stop)
			break;
		n = keeper.nids;
		memcpy(ids, keeper.ids, sizeof(ids));
		guard = keeper.guard_id;
		snprintf(key, sizeof(key), "%s", keeper.holder_key);
		snprintf(token, sizeof(token), "%s", keeper.token);
		pthread_mutex_unlock(&keeper.mu);
		start = lab_mono_ms();
		for (i = 0; i < n && !failed; i++) {
			int64_t left = 0;

			if (etcd_lease_keepalive(keeper.e, ids[i], &left)) {
				lab_err_clear();
				failed = true;
				/* Stop before etcd would let the lease expire:
				 * two periods unanswered (it expires at three). */
				if (lab_mono_ms() - last_ok > 2 * period_ms) {
					snprintf(why, sizeof(why),
						 "nobody (etcd did not answer for %lld ms, two keep-alive periods: its lease would expire)",
						 (long long)(lab_mono_ms() - last_ok));
					for (i = 0; i < n; i++)
						keeper_lose(ids[i], why);
				}
				break;
			}
			if (left <= 0) {
				keeper_lose(ids[i], "nobody (its etcd lease was revoked or expired)");
				continue;
			}
			last_ok = lab_mono_ms();
			if (ids[i] == guard &&
			    !holder_still_ours(keeper.e, key, token, why, sizeof(why)))
				keeper_lose(ids[i], why);
		}
		/* A steady beat; unanswered, try again in half a period. */
		next = failed ? lab_mono_ms() + period_ms / 2 : start + period_ms;
		pthread_mutex_lock(&keeper.mu);
	}
	pthread_mutex_unlock(&keeper.mu);
	return NULL;
}

static bool keeper_has(int64_t id)
{
	bool has = false;
	int i;

	pthread_mutex_lock(&keeper.mu);
	for (i = 0; i < keeper.nids; i++)
		has |= keeper.ids[i] == id;
	pthread_mutex_unlock(&keeper.mu);
	return id && has;
}

/* Keep lease id alive from now on (the thread starts with the first). */
static int keeper_add(struct lease *l, int64_t id)
{
	struct lease_etcd *le = l->etcd;

	if (keeper_has(id))
		return 0;
	if (!keeper.running) {
		keeper.e = etcd_clone(le->e);
		if (!keeper.e)
			return lab_err(LAB_EINFRA, "cannot open a second etcd client");
		keeper.ttl_s = le->ttl_s;
		/* A round over every endpoint fits in half a keep-alive
		 * period, so an unanswered one is noticed in time. */
		etcd_set_timeout(keeper.e, le->ttl_s * 1000 / 6 /
				 etcd_nendpoints(keeper.e) > 100 ?
				 le->ttl_s * 1000 / 6 / etcd_nendpoints(keeper.e) : 100);
		keeper.stop = false;
		keeper.nids = 0;
		keeper.guard_id = 0;
		keeper.lost[0] = '\0';
		if (pthread_create(&keeper.thread, NULL, keeper_main, NULL) != 0) {
			etcd_close(keeper.e);
			keeper.e = NULL;
			return lab_err(LAB_EIO, "cannot start the etcd lease keeper thread");
		}
		keeper.running = true;
	}
	pthread_mutex_lock(&keeper.mu);
	if (keeper.nids == KEEPER_MAX) {
		pthread_mutex_unlock(&keeper.mu);
		return lab_err(LAB_EINFRA, "%s: too many etcd leases kept at once",
			       l->name);
	}
	keeper.ids[keeper.nids++] = id;
	pthread_mutex_unlock(&keeper.mu);
	return 0;
}

/* Stop keeping id; the thread ends with the last one. */
static void keeper_remove(int64_t id)
{
	bool last;
	int i;

	if (!keeper.running)
		return;
	pthread_mutex_lock(&keeper.mu);
	for (i = 0; i < keeper.nids; i++) {
		if (keeper.ids[i] == id) {
			keeper.ids[i] = keeper.ids[--keeper.nids];
			break;
		}
	}
	if (id == keeper.guard_id)
		keeper.guard_id = 0;
	last = keeper.nids == 0;
	if (last) {
		keeper.stop = true;
		pthread_cond_signal(&keeper.cond);
	}
	pthread_mutex_unlock(&keeper.mu);
	if (!last)
		return;
	pthread_join(keeper.thread, NULL);
	etcd_close(keeper.e);
	keeper.e = NULL;
	keeper.running = false;
}

int lease_etcd_keeper_start(struct lease *l)
{
	int ret = keeper_add(l, l->etcd->lease_id);

	if (ret)
		return ret;
	pthread_mutex_lock(&keeper.mu);
	keeper.guard_id = l->etcd->lease_id;
	snprintf(keeper.holder_key, sizeof(keeper.holder_key), "%s",
		 l->etcd->holder_key);
	snprintf(keeper.token, sizeof(keeper.token), "%s", l->token);
	pthread_mutex_unlock(&keeper.mu);
	return 0;
}

void lease_etcd_keeper_stop(struct lease *l)
{
	/* An adopted `labctl lock` lease is not ours to keep for longer. */
	if (l->etcd && l->etcd->lease_id)
		keeper_remove(l->etcd->lease_id);
}

const char *lease_etcd_lost(void)
{
	static char copy[sizeof(keeper.lost)];

	pthread_mutex_lock(&keeper.mu);
	memcpy(copy, keeper.lost, sizeof(copy));
	pthread_mutex_unlock(&keeper.mu);
	return copy[0] ? copy : NULL;
}

static bool keeper_lost_now(void)
{
	bool lost;

	pthread_mutex_lock(&keeper.mu);
	lost = keeper.lost[0] != '\0';
	pthread_mutex_unlock(&keeper.mu);
	return lost;
}

void lease_etcd_release(struct lease *l)
{
	struct lease_etcd *le = l->etcd;

	if (!le)
		return;
	if (!le->handover) {
		keeper_remove(le->lease_id);
		/* A wait given up, or a run's reservation: gone with us. */
		if (le->lease_id && (!l->have || l->pid != 0) &&
		    etcd_lease_revoke(le->e, le->lease_id))
			lab_err_clear();
	}
	lab_debug("%s: %llu etcd requests (last endpoint %s)", l->name,
		  (unsigned long long)etcd_requests(le->e), etcd_endpoint(le->e));
	etcd_close(le->e);
	free(le->holder_key);
	free(le->queue_prefix);
	free(le->health_key);
	free(le->queue_key);
	etcd_kvs_free(le->queue, le->nqueue);
	json_decref(le->health);
	free(le);
	l->etcd = NULL;
}

/* ------------------------------------------------------------ holder */

static json_t *parse_value(const char *text)
{
	json_t *v = json_loads(text, 0, NULL);

	if (!json_is_object(v)) {
		json_decref(v);
		v = json_object();
	}
	return v;
}

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* The holder key into l->info (info.held false when there is none). */
static int read_holder(struct lease *l, int64_t *rev, int64_t *lease_of)
{
	struct etcd_kv *kvs;
	json_t *v;
	int n, ret;

	ret = etcd_range(l->etcd->e, l->etcd->holder_key, false, &kvs, &n, rev);
	if (ret)
		return ret;
	memset(&l->info, 0, sizeof(l->info));
	if (n) {
		v = parse_value(kvs[0].value);
		l->info.held = true;
		snprintf(l->info.owner, sizeof(l->info.owner), "%s", jstr(v, "owner"));
		snprintf(l->info.token, sizeof(l->info.token), "%s", jstr(v, "token"));
		snprintf(l->info.note, sizeof(l->info.note), "%s", jstr(v, "class"));
		l->info.pid = (long)json_integer_value(json_object_get(v, "pid"));
		l->info.start = json_integer_value(json_object_get(v, "start"));
		l->info.expires = json_integer_value(json_object_get(v, "expires"));
		if (lease_of)
			*lease_of = kvs[0].lease;
		json_decref(v);
	}
	etcd_kvs_free(kvs, n);
	return 0;
}

static char *holder_value(const struct lease *l, int64_t expires)
{
	json_t *v = json_object();
	char *text;

	lab_json_set(v, "owner", lab_json_str(l->owner));
	json_object_set_new(v, "pid", json_integer(l->pid));
	lab_json_set(v, "token", lab_json_str(l->token));
	json_object_set_new(v, "start", json_integer(time(NULL)));
	json_object_set_new(v, "expires", json_integer(expires));
	lab_json_set(v, "class", lab_json_str(l->etcd->klass));
	text = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	return text;
}

static int busy_error(struct lease *l, int position)
{
	char since[32], until[64], line[64] = "";

	lease_format_time(l->info.start, since, sizeof(since));
	if (l->info.expires)
		lease_format_time(l->info.expires, until, sizeof(until));
	else
		snprintf(until, sizeof(until), "while its labctl pid %ld runs",
			 l->info.pid);
	if (position > 0)
		snprintf(line, sizeof(line), "; %d waiting before you", position);
	if (!l->info.held)
		return lab_err(LAB_EBUSY, "%s is free but %d waiting before you",
			       l->name, position);
	return lab_err(LAB_EBUSY, "%s is reserved by %s since %s (expires %s)%s%s",
		       l->name, l->info.owner, since, until,
		       l->info.pid ? "" : "; by labctl lock", line);
}

static int offline_error(struct lease *l, const json_t *h)
{
	char since[32];

	lease_format_time(json_integer_value(json_object_get(h, "since")), since,
			  sizeof(since));
	return lab_err(LAB_EINFRA,
		       "%s is offline since %s after %lld lab errors in a row (last: %s); `labctl lock %s --online` returns it",
		       l->name, since,
		       (long long)json_integer_value(json_object_get(h, "errors")),
		       jstr(h, "reason"), l->name);
}

static int read_health(struct lease *l, json_t **out)
{
	struct etcd_kv *kvs;
	int n, ret;

	*out = NULL;
	ret = etcd_range(l->etcd->e, l->etcd->health_key, false, &kvs, &n, NULL);
	if (ret)
		return ret;
	*out = n ? parse_value(kvs[0].value) : json_object();
	etcd_kvs_free(kvs, n);
	return 0;
}

/* The queue in its order: rank of class, then create revision. */
static int order_queue(struct lease_etcd *le, struct etcd_kv *kvs, int n,
		       int **order)
{
	int *o = xcalloc(n ? n : 1, sizeof(*o)), i, k = 0, rank;

	for (rank = 0; rank < 2; rank++) {
		for (i = 0; i < n; i++) {
			json_t *v = parse_value(kvs[i].value);

			if (lease_etcd_rank(le->priority, jstr(v, "class")) == rank)
				o[k++] = i;
			json_decref(v);
		}
	}
	*order = o;
	return k;
}

static bool stop_requested(void)
{
	return lab_stop_signal || keeper_lost_now();
}

/* Take the holder key; the reservation is ours from now. */
static int become_holder(struct lease *l, const struct lease_take_opts *o,
			 bool *created)
{
	struct lease_etcd *le = l->etcd;
	int64_t id = le->lease_id, expires = 0;
	char *value;
	int ret;

	if (o->manual) {
		/* `labctl lock` exits: its own lease of --ttl, not kept. */
		ret = etcd_lease_grant(le->e, l->ttl_s, &le->manual_id);
		if (ret)
			return ret;
		id = le->manual_id;
		expires = time(NULL) + l->ttl_s;
	}
	value = holder_value(l, expires);
	ret = etcd_create(le->e, le->holder_key, value, id, created);
	free(value);
	if (!ret && !*created && o->manual) {
		etcd_lease_revoke(le->e, le->manual_id);
		le->manual_id = 0;
	}
	return ret;
}

static void got_it(struct lease *l, const struct lease_take_opts *o)
{
	struct lease_etcd *le = l->etcd;

	l->have = true;
	memset(&l->info, 0, sizeof(l->info));
	l->info.held = true;
	snprintf(l->info.owner, sizeof(l->info.owner), "%s", l->owner);
	snprintf(l->info.token, sizeof(l->info.token), "%s", l->token);
	l->info.pid = l->pid;
	l->info.start = time(NULL);
	l->info.expires = o->manual ? l->info.start + l->ttl_s : 0;
	if (o->manual) {
		/* The waiter's lease is done; the holder's lives on alone. */
		keeper_remove(le->lease_id);
		if (etcd_lease_revoke(le->e, le->lease_id))
			lab_err_clear();
		le->lease_id = le->manual_id;
		le->handover = true;
	}
}

/* Leave the queue (a wait given up or won). */
static void leave_queue(struct lease_etcd *le)
{
	if (le->queue_key && etcd_delete(le->e, le->queue_key, false))
		lab_err_clear();
	free(le->queue_key);
	le->queue_key = NULL;
}

/*
 * The board this process holds (picked from a pool) outlives it as a
 * `labctl lock` reservation: the holder key moves to a lease of ttl that
 * nobody keeps alive, with pid 0.
 */
static int promote_to_manual(struct lease *l, int64_t holder_lease)
{
	struct lease_etcd *le = l->etcd;
	struct lease_take_opts manual = { .manual = true };
	char *value;
	int ret;

	snprintf(l->token, sizeof(l->token), "%s", l->info.token);
	l->pid = 0;
	ret = etcd_lease_grant(le->e, l->ttl_s, &le->manual_id);
	if (ret)
		return ret;
	value = holder_value(l, time(NULL) + l->ttl_s);
	ret = etcd_put(le->e, le->holder_key, value, le->manual_id, NULL);
	free(value);
	if (ret)
		return ret;
	keeper_remove(holder_lease);
	le->lease_id = holder_lease;
	got_it(l, &manual);	/* revokes the pick's lease */
	return 0;
}

int lease_etcd_take(struct lease *l, const struct lease_take_opts *o)
{
	struct lease_etcd *le = l->etcd;
	int64_t deadline = lab_mono_ms() + (o->wait_ms > 0 ? o->wait_ms : 0);
	int64_t holder_lease = 0, rev = 0;
	json_t *health;
	char *value;
	int ret, last_pos = -1;
	bool created;

	if (o->manual)
		l->pid = 0;
	if (o->ttl_s > 0)
		l->ttl_s = o->ttl_s;
	ret = read_health(l, &health);
	if (ret)
		return ret;
	if (json_is_true(json_object_get(health, "offline"))) {
		ret = offline_error(l, health);
		json_decref(health);
		return ret;
	}
	json_decref(health);
	ret = read_holder(l, NULL, &holder_lease);
	if (ret)
		return ret;
	/* `labctl lock pool:TAG`: the pool's pick becomes a manual lease. */
	if (o->manual && l->info.held && !strcmp(l->info.owner, l->owner) &&
	    l->info.pid == (long)getpid())
		return promote_to_manual(l, holder_lease);
	/* Our own `labctl lock` (pid 0), or this process's (a pool pick). */
	if (l->info.held && !strcmp(l->info.owner, l->owner) &&
	    (l->info.pid == 0 || l->info.pid == (long)getpid())) {
		snprintf(l->token, sizeof(l->token), "%s", l->info.token);
		l->adopted = l->info.pid == 0;
		l->pid = l->info.pid;
		le->lease_id = holder_lease;
		/* A pool pick is ours to drop; a manual lease stays. */
		le->handover = l->adopted;
		l->have = true;
		l->info.adopted = l->adopted;
		return 0;
	}
	if (l->info.held && o->steal) {
		char from[160];

		snprintf(from, sizeof(from), "%s (pid %ld, since %lld)",
			 l->info.owner, l->info.pid, (long long)l->info.start);
		ret = etcd_delete(le->e, le->holder_key, false);
		if (ret)
			return ret;
		if (!le->lease_id) {
			ret = etcd_lease_grant(le->e, le->ttl_s, &le->lease_id);
			if (!ret)
				ret = keeper_add(l, le->lease_id);
			if (ret)
				return ret;
		}
		ret = become_holder(l, o, &created);
		if (ret)
			return ret;
		if (!created)
			return lab_err(LAB_EBUSY, "%s: someone else took it while stealing",
				       l->name);
		got_it(l, o);
		snprintf(l->info.stolen_from, sizeof(l->info.stolen_from), "%s", from);
		lab_warn("%s: took the reservation from %s", l->name, from);
		return 0;
	}
	/* Busy and no wait: say so without joining the line. */
	if (o->wait_ms <= 0) {
		struct etcd_kv *kvs;
		int n;

		if (l->info.held)
			return busy_error(l, 0);
		ret = etcd_range(le->e, le->queue_prefix, true, &kvs, &n, NULL);
		if (ret)
			return ret;
		etcd_kvs_free(kvs, n);
		if (n)
			return busy_error(l, n);
	}

	ret = etcd_lease_grant(le->e, le->ttl_s, &le->lease_id);
	if (ret)
		return ret;
	ret = keeper_add(l, le->lease_id);
	if (ret)
		return ret;
	{
		json_t *v = json_object();

		lab_json_set(v, "owner", lab_json_str(l->owner));
		json_object_set_new(v, "pid", json_integer(getpid()));
		lab_json_set(v, "class", lab_json_str(le->klass));
		json_object_set_new(v, "since", json_integer(time(NULL)));
		value = json_dumps(v, JSON_COMPACT);
		json_decref(v);
	}
	le->queue_key = xasprintf("%s%s", le->queue_prefix, l->token);
	ret = etcd_put(le->e, le->queue_key, value, le->lease_id, NULL);
	free(value);
	if (ret)
		return ret;

	for (;;) {
		struct etcd_kv *kvs;
		int n, k, *order, i, me = -1;
		const char *watch_key;
		char event;
		int64_t left;

		ret = etcd_range(le->e, le->queue_prefix, true, &kvs, &n, &rev);
		if (ret)
			break;
		k = order_queue(le, kvs, n, &order);
		for (i = 0; i < k; i++)
			if (!strcmp(kvs[order[i]].key, le->queue_key))
				me = i;
		if (me < 0) {
			free(order);
			etcd_kvs_free(kvs, n);
			ret = lab_err(LAB_EINFRA,
				      "%s: our place in the line is gone: %s",
				      l->name, lease_etcd_lost() ?
				      lease_etcd_lost() : "its key was deleted");
			break;
		}
		if (me == 0) {
			ret = become_holder(l, o, &created);
			if (!ret && created) {
				free(order);
				etcd_kvs_free(kvs, n);
				leave_queue(le);
				got_it(l, o);
				return 0;
			}
			if (!ret)
				ret = read_holder(l, &rev, NULL);
			if (ret || !l->info.held) {
				free(order);
				etcd_kvs_free(kvs, n);
				if (ret)
					break;
				continue;	/* freed in between: again */
			}
			watch_key = le->holder_key;
		} else {
			watch_key = kvs[order[me - 1]].key;
			if (!l->info.held)
				read_holder(l, NULL, NULL);
		}
		left = deadline - lab_mono_ms();
		if (me != last_pos && left > 0)
			lab_info("%s is busy (%s): waiting, position %d in line",
				 l->name, l->info.held ? l->info.owner : "being handed over",
				 me + 1);
		last_pos = me;
		if (left <= 0) {
			free(order);
			etcd_kvs_free(kvs, n);
			if (!l->info.held)
				read_holder(l, NULL, NULL);
			ret = busy_error(l, me);
			break;
		}
		{
			char *key = xstrdup(watch_key);

			free(order);
			etcd_kvs_free(kvs, n);
			ret = etcd_watch(le->e, key, false, false, rev + 1,
					 left < WATCH_SLICE_MS ? left : WATCH_SLICE_MS,
					 stop_requested, &event);
			free(key);
		}
		if (ret)
			break;
		if (lab_stop_signal) {
			ret = lab_err(LAB_EINTR, "interrupted while waiting for %s",
				      l->name);
			break;
		}
	}
	{
		struct lab_err_saved keep;

		lab_err_save(&keep);
		leave_queue(le);
		keeper_remove(le->lease_id);
		if (etcd_lease_revoke(le->e, le->lease_id))
			lab_err_clear();
		le->lease_id = 0;
		lab_err_restore(&keep);
	}
	return ret;
}

int lease_etcd_renew(struct lease *l)
{
	struct lease_etcd *le = l->etcd;
	int64_t left = 0;
	char why[200];
	int ret;

	if (!le->lease_id)
		return lab_err(LAB_EBUSY, "%s: no reservation to renew", l->name);
	ret = etcd_lease_keepalive(le->e, le->lease_id, &left);
	if (ret)
		return ret;
	if (left <= 0 || !holder_still_ours(le->e, le->holder_key, l->token, why,
					    sizeof(why))) {
		l->have = false;
		return lab_err(LAB_EBUSY, "%s: the reservation is lost: %s",
			       l->name, left <= 0 ? "its etcd lease expired" : why);
	}
	return 0;
}

int lease_etcd_drop(struct lease *l, bool force)
{
	struct lease_etcd *le = l->etcd;
	int64_t holder_lease = 0;
	int ret;

	ret = read_holder(l, NULL, &holder_lease);
	if (ret)
		return ret;
	if (l->info.held && !force && strcmp(l->info.token, l->token) &&
	    !(!strcmp(l->info.owner, l->owner) && l->info.pid == 0 && l->pid == 0))
		return busy_error(l, 0);
	if (l->info.held) {
		ret = etcd_delete(le->e, le->holder_key, false);
		if (ret)
			return ret;
		/* A manual lease ends with its key; a run's ends at release. */
		if (holder_lease && holder_lease != le->lease_id &&
		    (l->info.pid == 0 || force) &&
		    etcd_lease_revoke(le->e, holder_lease))
			lab_err_clear();
	}
	l->have = false;
	l->info.held = false;
	le->handover = false;
	return 0;
}

int lease_etcd_query(struct lease *l)
{
	struct lease_etcd *le = l->etcd;
	int ret;

	ret = read_holder(l, NULL, NULL);
	if (ret)
		return ret;
	etcd_kvs_free(le->queue, le->nqueue);
	le->queue = NULL;
	le->nqueue = 0;
	ret = etcd_range(le->e, le->queue_prefix, true, &le->queue, &le->nqueue,
			 NULL);
	if (ret)
		return ret;
	json_decref(le->health);
	return read_health(l, &le->health);
}

const char *lease_etcd_state(const struct lease *l)
{
	return l->etcd && json_is_true(json_object_get(l->etcd->health,
							"offline")) ?
	       "offline" : NULL;
}

void lease_etcd_show(const struct lease *l, json_t *o, FILE *f)
{
	struct lease_etcd *le = l->etcd;
	json_t *queue;
	int *order, k, i;

	if (!le)
		return;
	queue = o ? json_array() : NULL;
	k = order_queue(le, le->queue, le->nqueue, &order);
	for (i = 0; i < k; i++) {
		json_t *v = parse_value(le->queue[order[i]].value);
		char since[32];

		if (queue) {
			json_t *w = json_object();

			lab_json_set(w, "owner", lab_json_str(jstr(v, "owner")));
			json_object_set_new(w, "pid", json_object_get(v, "pid") ?
					    json_incref(json_object_get(v, "pid")) :
					    json_integer(0));
			lab_json_set(w, "class", lab_json_str(jstr(v, "class")));
			json_object_set_new(w, "since",
					    json_integer(json_integer_value(
						json_object_get(v, "since"))));
			json_array_append_new(queue, w);
		} else {
			lease_format_time(json_integer_value(json_object_get(v, "since")),
					  since, sizeof(since));
			fprintf(f, "%-16s %-8s %-28s %-8s %s\n", "", "queued",
				jstr(v, "owner"), since, jstr(v, "class"));
		}
		json_decref(v);
	}
	free(order);
	if (o) {
		json_object_set_new(o, "queue", queue);
		if (le->health && json_object_size(le->health))
			json_object_set(o, "health", le->health);
		json_object_set_new(o, "offline",
				    json_boolean(lease_etcd_state(l) != NULL));
	} else if (lease_etcd_state(l)) {
		fprintf(f, "%-16s %-8s %s\n", "", "why", jstr(le->health, "reason"));
	}
}

/* ------------------------------------------------------------ health */

static int write_health(struct lease *l, json_t *h)
{
	char *text = json_dumps(h, JSON_COMPACT);
	int ret = etcd_put(l->etcd->e, l->etcd->health_key, text, 0, NULL);

	free(text);
	return ret;
}

int lease_etcd_set_online(struct lease *l)
{
	json_t *h = json_object();
	int ret;

	json_object_set_new(h, "errors", json_integer(0));
	json_object_set_new(h, "offline", json_false());
	lab_json_set(h, "by", lab_json_str(l->owner));
	json_object_set_new(h, "since", json_integer(time(NULL)));
	ret = write_health(l, h);
	json_decref(h);
	return ret;
}

int lease_etcd_report(struct lease *l, int exit_code, const char *reason)
{
	json_t *h;
	int64_t errors;
	int ret;

	if (!l->etcd || lease_etcd_lost())
		return 0;	/* a lost reservation is not the board's fault */
	ret = read_health(l, &h);
	if (ret)
		return ret;
	errors = json_integer_value(json_object_get(h, "errors"));
	if (exit_code == LAB_EXIT_INFRA) {
		errors++;
		json_object_set_new(h, "errors", json_integer(errors));
		lab_json_set(h, "reason", lab_json_str(reason && *reason ? reason :
							"a lab error"));
		lab_json_set(h, "by", lab_json_str(l->owner));
		if (l->etcd->offline_after > 0 && errors >= l->etcd->offline_after &&
		    !json_is_true(json_object_get(h, "offline"))) {
			json_object_set_new(h, "offline", json_true());
			json_object_set_new(h, "since", json_integer(time(NULL)));
			lab_warn("%s: %lld lab errors in a row: marked offline (`labctl lock %s --online` returns it)",
				 l->name, (long long)errors, l->name);
		}
	} else if (errors) {
		json_object_set_new(h, "errors", json_integer(0));
	} else {
		json_decref(h);
		return 0;
	}
	ret = write_health(l, h);
	json_decref(h);
	return ret;
}

/* ------------------------------------------------------------ pools */

static bool has_tag(const struct lab *lab, const char *tag)
{
	char **words;
	int n = lease_etcd_split_list(lab->board.tags, &words), i;
	bool found = false;

	for (i = 0; i < n && !found; i++)
		found = !strcmp(words[i], tag);
	lease_etcd_free_list(words, n);
	return found;
}

/* The labs tagged tag, by name (the first of a name in the search path). */
static int tagged_labs(const char *tag, char ***names)
{
	int ndirs, i, n = 0;
	char **dirs = lab_search_dirs(&ndirs);

	*names = NULL;
	for (i = 0; i < ndirs; i++) {
		struct dirent **ents;
		int m = scandir(dirs[i], &ents, NULL, alphasort), j, k;

		for (j = 0; j < m; j++) {
			const char *d = ents[j]->d_name;
			size_t len = strlen(d);
			struct lab *lab;
			char *name;
			bool dup = false;

			if (len > 5 && !strcmp(d + len - 5, ".conf") && d[0] != '.') {
				name = xstrndup(d, len - 5);
				for (k = 0; k < n; k++)
					dup |= !strcmp((*names)[k], name);
				if (!dup && lab_open(name, &lab) == 0) {
					if (has_tag(lab, tag) && lease_etcd_wanted(lab)) {
						*names = xrealloc(*names,
								  (n + 1) * sizeof(**names));
						(*names)[n++] = name;
						name = NULL;
					}
					lab_free(lab);
				}
				lab_err_clear();
				free(name);
			}
			free(ents[j]);
		}
		if (m >= 0)
			free(ents);
	}
	lab_search_dirs_free(dirs, ndirs);
	return n;
}

/* Take board name for this process (pid, kept alive); 0, or -LAB_EBUSY. */
static int pool_try(const char *name, struct lab **out)
{
	struct lease_take_opts o = { 0 };
	struct lab *lab;
	struct lease l;
	int ret;

	ret = lab_open(name, &lab);
	if (ret)
		return ret;
	ret = lease_init(&l, lab);
	if (!ret)
		ret = lease_etcd_take(&l, &o);
	if (!ret) {
		l.etcd->handover = true;	/* the run's take adopts it */
		*out = lab;
		lease_release_resources(&l);
		return 0;
	}
	if (l.name) {
		struct lab_err_saved keep;

		lab_err_save(&keep);
		lease_release_resources(&l);
		lab_err_restore(&keep);
	}
	lab_free(lab);
	return ret;
}

int lease_pool_open(const char *tag, struct lab **out)
{
	struct lease_etcd *le = NULL;
	struct lease pl = { 0 };
	struct lab *first = NULL;
	char **names, *ticket = NULL;
	int n, i, ret = 0, last_pos = -1, offline = 0;

	*out = NULL;
	n = tagged_labs(tag, &names);
	if (!n)
		return lab_err(LAB_ENOENT,
			       "no board is tagged '%s' ([board] tags in a lab file with lock.where = etcd; `labctl labs` lists the labs)",
			       tag);
	for (;;) {
		int64_t rev = 0;
		char event;

		offline = 0;
		for (i = 0; i < n; i++) {
			ret = pool_try(names[i], out);
			if (!ret)
				goto out;
			if (ret == -LAB_EINFRA && strstr(lab_errmsg(ret), " is offline since ")) {
				offline++;
				lab_err_clear();
				continue;
			}
			if (ret != -LAB_EBUSY)
				goto out;
			lab_err_clear();
		}
		if (offline == n) {
			ret = lab_err(LAB_EINFRA,
				      "every board tagged '%s' is offline (`labctl locks` says why)",
				      tag);
			goto out;
		}
		/* All busy: wait in the pool's line, woken by any release. */
		if (!le) {
			ret = lab_open(names[0], &first);
			if (!ret)
				ret = lease_init(&pl, first);
			if (ret)
				goto out;
			le = pl.etcd;
			free(le->queue_prefix);
			le->queue_prefix = xasprintf("%spool/%s/",
						     first->lock.prefix, tag);
			ret = etcd_lease_grant(le->e, le->ttl_s, &le->lease_id);
			if (!ret)
				ret = keeper_add(&pl, le->lease_id);
			if (ret)
				goto out;
			ticket = xasprintf("%s%s", le->queue_prefix, pl.token);
			ret = etcd_put(le->e, ticket, pl.owner, le->lease_id, NULL);
			if (ret)
				goto out;
		}
		{
			struct etcd_kv *kvs;
			int m, pos = 0;

			ret = etcd_range(le->e, le->queue_prefix, true, &kvs, &m, &rev);
			if (ret)
				goto out;
			for (i = 0; i < m; i++)
				if (!strcmp(kvs[i].key, ticket))
					pos = i + 1;
			etcd_kvs_free(kvs, m);
			if (pos != last_pos)
				lab_info("all %d boards tagged '%s' are busy: waiting, position %d in line",
					 n, tag, pos);
			last_pos = pos;
			/* Only the first in line takes a board. */
			if (pos > 1) {
				ret = etcd_watch(le->e, le->queue_prefix, true, false,
						 rev + 1, WATCH_SLICE_MS,
						 stop_requested, &event);
				if (ret)
					goto out;
				goto again;
			}
		}
		{
			char *locks = xasprintf("%slock/", first->lock.prefix);

			ret = etcd_watch(le->e, locks, true, false, rev + 1,
					 WATCH_SLICE_MS, stop_requested, &event);
			free(locks);
			if (ret)
				goto out;
		}
again:
		if (lab_stop_signal) {
			ret = lab_err(LAB_EINTR, "interrupted while waiting for a board tagged '%s'",
				      tag);
			goto out;
		}
	}
out:
	if (le) {
		struct lab_err_saved keep;

		lab_err_save(&keep);
		if (ticket && etcd_delete(le->e, ticket, false))
			lab_err_clear();
		keeper_remove(le->lease_id);
		if (etcd_lease_revoke(le->e, le->lease_id))
			lab_err_clear();
		le->handover = true;	/* revoked just now */
		lease_release_resources(&pl);
		lab_err_restore(&keep);
	}
	lab_free(first);
	free(ticket);
	lease_etcd_free_list(names, n);
	if (ret && *out) {
		lab_free(*out);
		*out = NULL;
	}
	return ret;
}
