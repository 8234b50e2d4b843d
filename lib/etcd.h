/* SPDX-License-Identifier: MIT */
/*
 * A small etcd v3 client over its JSON gateway (HTTP POST of JSON to
 * /v3/kv/range, /v3/lease/grant, /v3/watch, ...; keys and values are
 * base64 in the JSON).  etcd 3.4 serves the gateway under /v3/ (and the
 * deprecated /v3beta/); this client speaks /v3/.
 *
 * Several endpoints: a request goes to the one that answered last, and on
 * a transport failure (refused, timed out, "no leader") to the next, so a
 * cluster that lost a member goes on.  TLS with a CA and a client
 * certificate; a user and password (auth enabled) become a token that is
 * sent with every request and fetched again when etcd says it expired.
 *
 * One struct etcd is one libcurl handle: use it from one thread at a time
 * (etcd_clone() gives another thread its own).
 */
#ifndef LAB_ETCD_H
#define LAB_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct etcd_config {
	const char *const *endpoints;	/* "http://10.0.0.1:2379", ... */
	int nendpoints;
	const char *cacert;	/* PEM file of the CA; NULL: the system's */
	const char *cert;	/* client certificate (PEM) or NULL */
	const char *key;	/* its private key (PEM) or NULL */
	const char *user;	/* NULL: no authentication */
	const char *password;
	int64_t timeout_ms;	/* one request on one endpoint */
};

struct etcd;

struct etcd_kv {
	char *key;
	char *value;
	int64_t create_rev;
	int64_t mod_rev;
	int64_t lease;
};

/* Copies cfg; no I/O.  0 or -LAB_ECONFIG (no endpoints). */
int etcd_open(const struct etcd_config *cfg, struct etcd **out);
/* Another client with the same settings (and token), for another thread. */
struct etcd *etcd_clone(const struct etcd *e);
void etcd_close(struct etcd *e);
/* The endpoint that answered last. */
const char *etcd_endpoint(const struct etcd *e);
/* How long one request to one endpoint may take from now on. */
void etcd_set_timeout(struct etcd *e, int64_t timeout_ms);
int etcd_nendpoints(const struct etcd *e);
/* HTTP requests sent so far (every endpoint, every retry). */
uint64_t etcd_requests(const struct etcd *e);

/*
 * POST req (borrowed) to /v3/PATH; *resp is the answer object (caller
 * releases).  Errors: -LAB_EINFRA (no endpoint answers; each one's reason
 * in the message), -LAB_ECONFIG (TLS or credentials refused everywhere),
 * -LAB_EPROGRAM (etcd refused the request: its message).
 */
int etcd_call(struct etcd *e, const char *path, json_t *req, json_t **resp);

int etcd_lease_grant(struct etcd *e, int64_t ttl_s, int64_t *id);
/* *ttl_left: seconds left after the refresh; 0 when the lease is gone. */
int etcd_lease_keepalive(struct etcd *e, int64_t id, int64_t *ttl_left);
int etcd_lease_revoke(struct etcd *e, int64_t id);
/* Put key=value (lease 0: none); *rev (may be NULL): the put's revision. */
int etcd_put(struct etcd *e, const char *key, const char *value,
	     int64_t lease, int64_t *rev);
/* Put only when key does not exist; *created says whether it was. */
int etcd_create(struct etcd *e, const char *key, const char *value,
		int64_t lease, bool *created);
/* Delete key, or every key under it when prefix. */
int etcd_delete(struct etcd *e, const char *key, bool prefix);
/*
 * The key (or every key under the prefix), sorted by create revision,
 * into a malloc'd array (*n entries; free with etcd_kvs_free); *rev (may
 * be NULL): the store's revision of the answer.
 */
int etcd_range(struct etcd *e, const char *key, bool prefix,
	       struct etcd_kv **kvs, int *n, int64_t *rev);
void etcd_kvs_free(struct etcd_kv *kvs, int n);
/*
 * Watch key (or the prefix) from revision from_rev on and return at the
 * first deletion (*event = 'D') or, with any_change, the first put
 * ('P'); *event = 0 when timeout_ms passed first, or stop() said so.
 */
int etcd_watch(struct etcd *e, const char *key, bool prefix, bool any_change,
	       int64_t from_rev, int64_t timeout_ms, bool (*stop)(void),
	       char *event);

/* Base64 (RFC 4648, padded), as the gateway's bytes fields are. */
char *etcd_b64_encode(const void *data, size_t len);
/* Decoded bytes, NUL-terminated (*len without it), or NULL when not base64. */
char *etcd_b64_decode(const char *text, size_t *len);
/* The end of a prefix range: the prefix with its last byte plus one. */
char *etcd_prefix_end(const char *prefix);
/* An int64 field that the gateway writes as a string ("123") or a number. */
int64_t etcd_json_int(const json_t *obj, const char *key);

#endif
