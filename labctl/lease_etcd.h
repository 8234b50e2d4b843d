/* SPDX-License-Identifier: MIT */
/*
 * Reservations kept in etcd ([lock] where = etcd): a lab shared by
 * several people and a CI, from any machine, with no single lab host.
 *
 * Keys, under [lock] prefix (default "/labctl/"):
 *   lock/LAB/holder       the reservation: owner, pid, token, start, class
 *   lock/LAB/queue/TOKEN  a waiter; ordered by create revision
 *   health/LAB            consecutive lab errors, offline and why
 * Every holder and waiter key is attached to an etcd lease with a short
 * TTL ([lock] etcd_ttl) that a thread keeps alive while the process lives,
 * so a killed holder's reservation goes away by itself.  `labctl lock`
 * (which exits) puts its holder key on a lease of --ttl that nobody keeps
 * alive.
 *
 * The queue is etcd's lock recipe: each waiter watches the key just ahead
 * of it (the holder key when it is first) and looks again only when that
 * key is deleted; [lock] priority puts people before CI or the reverse.
 */
#ifndef LABCTL_LEASE_ETCD_H
#define LABCTL_LEASE_ETCD_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "labctl/labconf.h"

struct lease;
struct lease_take_opts;

/* The lab keeps its reservations in etcd ([lock] where = etcd). */
bool lease_etcd_wanted(const struct lab *lab);

/* Read [lock]'s etcd settings and the password; no I/O to etcd. */
int lease_etcd_init(struct lease *l);
void lease_etcd_release(struct lease *l);

int lease_etcd_take(struct lease *l, const struct lease_take_opts *o);
int lease_etcd_renew(struct lease *l);
int lease_etcd_drop(struct lease *l, bool force);
/* The holder into l->info; the queue and the board's health kept for
 * lease_etcd_show. */
int lease_etcd_query(struct lease *l);
/* After lease_etcd_query: the queue and health as JSON fields of o, or
 * (o NULL) as text lines to f. */
void lease_etcd_show(const struct lease *l, json_t *o, FILE *f);
/* The board's state word for `labctl locks`: "offline" or NULL. */
const char *lease_etcd_state(const struct lease *l);

/* Keep the reservation while a run lasts; a lost one stops the run. */
int lease_etcd_keeper_start(struct lease *l);
void lease_etcd_keeper_stop(struct lease *l);
/* Who took the kept reservation: "USER@HOST", or "nobody (its etcd
 * lease was revoked or expired)" and the like; NULL while it is kept. */
const char *lease_etcd_lost(void);

/* `labctl lock LAB --online`: clear the board's offline mark. */
int lease_etcd_set_online(struct lease *l);
/*
 * A run on the board ended with exit code exit_code: a lab error (3)
 * counts towards [lock] offline_after, anything else resets the count.
 */
int lease_etcd_report(struct lease *l, int exit_code, const char *reason);

/*
 * "pool:TAG": the first free, online board whose [board] tags has TAG,
 * reserved for this process (a run's own take adopts it); when every one
 * is busy, wait in the pool's line.  *out is that board's lab.
 */
int lease_pool_open(const char *tag, struct lab **out);

/* "a, b c" into words (malloc'd array of malloc'd strings). */
int lease_etcd_split_list(const char *text, char ***words);
void lease_etcd_free_list(char **words, int n);
/* The order of waiters: rank of a class under a priority setting. */
int lease_etcd_rank(const char *priority, const char *klass);

#endif
