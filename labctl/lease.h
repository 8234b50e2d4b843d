/* SPDX-License-Identifier: MIT */
/*
 * Board reservations: expiring leases.
 *
 * A lease is a small "key=value" file, <dir>/<lab>.lease, where every user
 * of the board sees it: a local directory for virtual boards, on the board
 * (or a lab host) over ssh for real ones.  One POSIX sh script does every
 * operation under flock(1), the same text run locally or remotely, so the
 * read-decide-write is atomic wherever the lease lives and the expiry is
 * judged by one clock (the lease host's).
 *
 * A lease records owner (user@host), pid, token, start and expiry.  A run
 * renews it every ttl/3; when its holder dies it expires on its own (and
 * at once for a holder on this host whose pid is gone).  `labctl lock`
 * takes one with pid 0: a later run by the same user@host adopts it.
 */
#ifndef LABCTL_LEASE_H
#define LABCTL_LEASE_H

#include <stdbool.h>
#include <stdint.h>

#include "labctl/labconf.h"

struct lab_ssh;
struct lease_etcd;
struct strbuf;

struct lease_info {
	bool held;		/* a live lease exists */
	char owner[128];	/* user@host */
	long pid;
	char token[40];
	int64_t start;		/* seconds since the epoch (lease host clock) */
	int64_t expires;
	char stolen_from[160];	/* set when this take stole a live lease */
	char note[160];
	bool adopted;		/* take found our own `labctl lock` lease */
};

struct lease {
	const struct lab *lab;
	char *name;		/* the lab's name */
	char *dir;		/* where the lease files live */
	char *remote_host;	/* NULL: local */
	bool on_board;		/* remote_host is the board itself */
	struct lab_ssh *ssh;	/* for a remote lease; owned */
	char owner[128];
	char token[40];
	long pid;
	int64_t ttl_s;
	bool have;		/* we hold it */
	bool adopted;		/* it is our manual lease: keep it at the end */
	struct lease_info info;	/* the last answer */
	struct lease_etcd *etcd;	/* [lock] where = etcd (lease_etcd.h) */
};

/*
 * Prepare (no I/O): where the lab's leases live ([lock] where/host/dir,
 * default local for a virtual board (labctl/boardops.h), else the
 * board) and who we are.
 */
int lease_init(struct lease *l, const struct lab *lab);
void lease_release_resources(struct lease *l);

struct lease_take_opts {
	bool steal;		/* take a live lease from someone else */
	bool manual;		/* `labctl lock`: pid 0, outlives this process */
	int64_t ttl_s;		/* 0: [lock] ttl */
	int64_t wait_ms;	/* wait this long for a held lease; 0: fail at once */
};

/*
 * Take the lease.  -LAB_EBUSY with the message
 *   "hp2540p is reserved by USER@HOST since 10:02 (expires 10:32)"
 * when someone else holds it; l->info has the holder.  With steal, a held
 * lease is taken and l->info.stolen_from names the previous holder.
 */
int lease_take(struct lease *l, const struct lease_take_opts *o);
/* Extend our lease by ttl; -LAB_EBUSY if it was stolen (l->info: by whom). */
int lease_renew(struct lease *l);
/* Give it up (only ours; force: whoever's). */
int lease_drop(struct lease *l, bool force);
/* Read the current lease into l->info. */
int lease_query(struct lease *l);

/*
 * Keep the lease while a run lasts: a thread renews it every ttl/3 over
 * its own connection.  Stop before lease_drop.  A renewal that finds the
 * lease stolen records it; lease_keeper_stolen() tells the run.
 */
int lease_keeper_start(struct lease *l);
void lease_keeper_stop(struct lease *l);
/* When the lease was stolen while kept: the thief's "user@host", else NULL. */
const char *lease_keeper_stolen(void);

/*
 * A run on the leased board ended with exit_code (why: reason): etcd
 * leases count lab errors towards marking the board offline
 * ([lock] offline_after); elsewhere nothing.
 */
int lease_report(struct lease *l, int exit_code, const char *reason);

/* Where local leases (and pool queues) live. */
const char *lease_local_dir(const struct lab *lab);

/* "10:02" style local time of an epoch second (HH:MM, or date when not today). */
void lease_format_time(int64_t t, char *buf, size_t size);

/* The lease script, for tests and `--dry-run`. */
extern const char lease_script[];

/* Parse the script's "key=value" answer into info; returns the status word
 * ("ok", "held", "lost", "free", "notmine") or NULL. */
const char *lease_parse_answer(const char *text, struct lease_info *info,
			       char *status, size_t status_size);

#endif
