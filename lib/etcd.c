// SPDX-License-Identifier: MIT
/* An etcd v3 client over the JSON gateway; see etcd.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "lib/etcd.h"
#include "lib/json.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"

/* An answer larger than this is not one of ours (ranges are small). */
#define ETCD_MAX_BODY (4 * 1024 * 1024)

struct etcd {
	char **endpoints;
	int nendpoints;
	int current;		/* the endpoint that answered last */
	char *cacert, *cert, *key, *user, *password;
	int64_t timeout_ms;
	char *token;		/* auth token, or NULL */
	CURL *curl;
	uint64_t requests;
};

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

int etcd_open(const struct etcd_config *cfg, struct etcd **out)
{
	static bool curl_ready;
	struct etcd *e;
	int i;

	*out = NULL;
	if (cfg->nendpoints < 1)
		return lab_err(LAB_ECONFIG, "etcd: no endpoints");
	/* Before any thread: curl_global_init is not thread-safe. */
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT))
			return lab_err(LAB_EINFRA, "cannot initialise libcurl");
		curl_ready = true;
	}
	e = xcalloc(1, sizeof(*e));
	e->endpoints = xcalloc(cfg->nendpoints, sizeof(*e->endpoints));
	for (i = 0; i < cfg->nendpoints; i++) {
		const char *ep = cfg->endpoints[i];
		size_t len = strlen(ep);

		while (len && ep[len - 1] == '/')
			len--;
		/* A bare host:port is plain HTTP, as etcdctl takes it. */
		if (strstr(ep, "://"))
			e->endpoints[i] = xstrndup(ep, len);
		else
			e->endpoints[i] = xasprintf("http://%.*s", (int)len, ep);
	}
	e->nendpoints = cfg->nendpoints;
	e->cacert = dup_or_null(cfg->cacert);
	e->cert = dup_or_null(cfg->cert);
	e->key = dup_or_null(cfg->key);
	e->user = dup_or_null(cfg->user);
	e->password = dup_or_null(cfg->password);
	e->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 5000;
	*out = e;
	return 0;
}

struct etcd *etcd_clone(const struct etcd *src)
{
	struct etcd_config cfg = {
		.endpoints = (const char *const *)src->endpoints,
		.nendpoints = src->nendpoints,
		.cacert = src->cacert, .cert = src->cert, .key = src->key,
		.user = src->user, .password = src->password,
		.timeout_ms = src->timeout_ms,
	};
	struct etcd *e;

	if (etcd_open(&cfg, &e))
		return NULL;
	e->current = src->current;
	e->token = dup_or_null(src->token);
	return e;
}

void etcd_close(struct etcd *e)
{
	int i;

	if (!e)
		return;
	for (i = 0; i < e->nendpoints; i++)
		free(e->endpoints[i]);
	free(e->endpoints);
	free(e->cacert);
	free(e->cert);
	free(e->key);
	free(e->user);
	if (e->password)
		memset(e->password, 0, strlen(e->password));
	free(e->password);
	free(e->token);
	if (e->curl)
		curl_easy_cleanup(e->curl);
	free(e);
}

const char *etcd_endpoint(const struct etcd *e)
{
	return e->endpoints[e->current];
}

void etcd_set_timeout(struct etcd *e, int64_t timeout_ms)
{
	e->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
}

int etcd_nendpoints(const struct etcd *e)
{
	return e->nendpoints;
}

uint64_t etcd_requests(const struct etcd *e)
{
	return e->requests;
}

/* ------------------------------------------------------------ base64 */

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *etcd_b64_encode(const void *data, size_t len)
{
	const unsigned char *p = data;
	char *out = xmalloc((len + 2) / 3 * 4 + 1), *o = out;
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		*o++ = b64_alphabet[p[i] >> 2];
		*o++ = b64_alphabet[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		*o++ = b64_alphabet[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
		*o++ = b64_alphabet[p[i + 2] & 63];
	}
	if (len - i == 1) {
		*o++ = b64_alphabet[p[i] >> 2];
		*o++ = b64_alphabet[(p[i] & 3) << 4];
		*o++ = '=';
		*o++ = '=';
	} else if (len - i == 2) {
		*o++ = b64_alphabet[p[i] >> 2];
		*o++ = b64_alphabet[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		*o++ = b64_alphabet[(p[i + 1] & 15) << 2];
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

static int b64_value(char c)
{
	const char *p = c ? strchr(b64_alphabet, c) : NULL;

	return p ? (int)(p - b64_alphabet) : -1;
}

char *etcd_b64_decode(const char *text, size_t *len)
{
	size_t n = strlen(text), i, o = 0;
	char *out;

	if (n % 4)
		return NULL;
	out = xmalloc(n / 4 * 3 + 1);
	for (i = 0; i < n; i += 4) {
		int v[4], k, pad = 0;

		for (k = 0; k < 4; k++) {
			if (text[i + k] == '=' && i + 4 == n && k >= 2) {
				v[k] = 0;
				pad++;
			} else if (pad || (v[k] = b64_value(text[i + k])) < 0) {
				free(out);
				return NULL;
			}
		}
		out[o++] = (char)((v[0] << 2) | (v[1] >> 4));
		if (pad < 2)
			out[o++] = (char)(((v[1] & 15) << 4) | (v[2] >> 2));
		if (pad < 1)
			out[o++] = (char)(((v[2] & 3) << 6) | v[3]);
	}
	out[o] = '\0';
	if (len)
		*len = o;
	return out;
}

char *etcd_prefix_end(const char *prefix)
{
	char *end = xstrdup(prefix);
	size_t n = strlen(end);

	/* Our prefixes are text ending in '/': never 0xff. */
	while (n && (unsigned char)end[n - 1] == 0xff)
		end[--n] = '\0';
	if (n)
		end[n - 1]++;
	return end;
}

int64_t etcd_json_int(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	return 0;
}

/* ------------------------------------------------------------ transport */

enum attempt {
	ATTEMPT_OK,		/* an answer, *resp set */
	ATTEMPT_NEXT,		/* this endpoint cannot: try another */
	ATTEMPT_CONFIG,		/* TLS or credentials: same everywhere */
	ATTEMPT_REFUSED,	/* etcd said no (message in why) */
	ATTEMPT_TOKEN,		/* the token expired: authenticate again */
};

struct sink {
	struct strbuf body;
	/* A watch: parse each message as it comes; non-zero stops. */
	int (*message)(json_t *msg, void *arg);
	void *arg;
	size_t parsed;
	bool stopped;
	bool (*stop)(void);
};

static size_t sink_write(char *data, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;

	if (s->body.len + size * n > ETCD_MAX_BODY)
		return 0;
	strbuf_add(&s->body, data, size * n);
	while (s->message && s->parsed < s->body.len) {
		json_error_t jerr;
		json_t *msg = json_loadb(strbuf_str(&s->body) + s->parsed,
					 s->body.len - s->parsed,
					 JSON_DISABLE_EOF_CHECK, &jerr);

		if (!msg)
			break;	/* not complete yet */
		s->parsed += jerr.position;
		while (s->parsed < s->body.len &&
		       strchr(" \r\n\t", strbuf_str(&s->body)[s->parsed]))
			s->parsed++;
		if (s->message(msg, s->arg)) {
			json_decref(msg);
			s->stopped = true;
			return 0;	/* ends the transfer */
		}
		json_decref(msg);
	}
	return size * n;
}

static int sink_progress(void *arg, curl_off_t dt, curl_off_t dn,
			 curl_off_t ut, curl_off_t un)
{
	struct sink *s = arg;

	(void)dt, (void)dn, (void)ut, (void)un;
	return s->stop && s->stop() ? 1 : 0;
}

static bool is_tls_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
		return true;
	default:
		return false;
	}
}

/* An etcd error answer: which kind, its message into why. */
static enum attempt classify_error(const json_t *doc, struct strbuf *why)
{
	const char *msg = json_string_value(json_object_get(doc, "error"));

	if (!msg)
		msg = json_string_value(json_object_get(doc, "message"));
	if (!msg)
		msg = "an error without a message";
	strbuf_addstr(why, msg);
	if (strstr(msg, "invalid auth token") || strstr(msg, "user name is empty"))
		return ATTEMPT_TOKEN;
	if (strstr(msg, "authentication failed") ||
	    strstr(msg, "permission denied") ||
	    strstr(msg, "authentication is not enabled"))
		return ATTEMPT_CONFIG;
	if (strstr(msg, "no leader") || strstr(msg, "timed out") ||
	    strstr(msg, "leader changed") || strstr(msg, "not capable") ||
	    strstr(msg, "too many requests") || strstr(msg, "unhealthy") ||
	    strstr(msg, "Unavailable") || strstr(msg, "transport"))
		return ATTEMPT_NEXT;
	return ATTEMPT_REFUSED;
}

/*
 * One POST to one endpoint.  why gets the reason of anything but
 * ATTEMPT_OK.  A streaming sink (watch) may stop the transfer: that is OK.
 */
static enum attempt post_once(struct etcd *e, int ep, const char *path,
			      const char *body, bool with_token, int64_t timeout_ms,
			      struct sink *s, json_t **resp, struct strbuf *why,
			      bool *timed_out)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	char *url = xasprintf("%s/v3/%s", e->endpoints[ep], path);
	enum attempt res;
	long status = 0;
	CURLcode rc;
	CURL *h;

	*timed_out = false;
	if (!e->curl)
		e->curl = curl_easy_init();
	h = e->curl;
	if (!h) {
		free(url);
		strbuf_addstr(why, "cannot create a libcurl handle");
		return ATTEMPT_NEXT;
	}
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_USERAGENT, "labctl");
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(e->timeout_ms < timeout_ms ? e->timeout_ms : timeout_ms));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	if (s->stop) {
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, sink_progress);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, s);
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	}
	if (e->cacert)
		curl_easy_setopt(h, CURLOPT_CAINFO, e->cacert);
	if (e->cert)
		curl_easy_setopt(h, CURLOPT_SSLCERT, e->cert);
	if (e->key)
		curl_easy_setopt(h, CURLOPT_SSLKEY, e->key);
	headers = curl_slist_append(headers, "Content-Type: application/json");
	headers = curl_slist_append(headers, "Expect:");
	if (with_token && e->token) {
		char *auth = xasprintf("Authorization: %s", e->token);

		headers = curl_slist_append(headers, auth);
		free(auth);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	e->requests++;
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(headers);
	free(url);
	if (rc == CURLE_WRITE_ERROR && s->stopped)
		return ATTEMPT_OK;
	if (rc == CURLE_ABORTED_BY_CALLBACK ||
	    (rc == CURLE_OPERATION_TIMEDOUT && s->message && status == 200)) {
		*timed_out = true;
		return ATTEMPT_OK;
	}
	if (rc != CURLE_OK) {
		double tls_done = 0;

		curl_easy_getinfo(h, CURLINFO_APPCONNECT_TIME, &tls_done);
		strbuf_addf(why, "%s", *errbuf ? errbuf : curl_easy_strerror(rc));
		if (is_tls_error(rc) || strstr(errbuf, " alert "))
			return ATTEMPT_CONFIG;
		/* TLS 1.3: a member that refuses our certificate says so only
		 * after the handshake, by closing the connection. */
		if (tls_done > 0 && status == 0 &&
		    (rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
		     rc == CURLE_GOT_NOTHING)) {
			strbuf_addstr(why, " (the member closed the TLS connection: does it accept this client certificate?)");
			return ATTEMPT_CONFIG;
		}
		return ATTEMPT_NEXT;
	}
	{
		json_error_t jerr;
		json_t *doc = json_loadb(strbuf_str(&s->body), s->body.len,
					 JSON_DISABLE_EOF_CHECK, &jerr);

		if (!json_is_object(doc)) {
			size_t len = strcspn(strbuf_str(&s->body), "\r\n");

			json_decref(doc);
			strbuf_addf(why, "HTTP %ld, not an etcd answer: %.*s", status,
				    (int)(len < 200 ? len : 200), strbuf_str(&s->body));
			/* A 4xx (no gateway there, a certificate with a
			 * CommonName under auth) is the same on every member. */
			return status >= 400 && status < 500 ? ATTEMPT_CONFIG :
			       ATTEMPT_NEXT;
		}
		/* A stream's error comes as {"error": {...}}. */
		if (json_is_object(json_object_get(doc, "error"))) {
			json_t *inner = json_incref(json_object_get(doc, "error"));

			json_decref(doc);
			doc = inner;
		}
		if (status != 200 || json_object_get(doc, "error")) {
			res = classify_error(doc, why);
			json_decref(doc);
			return res;
		}
		if (resp)
			*resp = doc;
		else
			json_decref(doc);
	}
	return ATTEMPT_OK;
}

static enum attempt authenticate(struct etcd *e, int ep, struct strbuf *why)
{
	json_t *req = json_object(), *resp = NULL;
	struct sink s = { .body = STRBUF_INIT };
	enum attempt res;
	bool timed_out;
	char *body;

	json_object_set_new(req, "name", json_string(e->user));
	json_object_set_new(req, "password", json_string(e->password ?
							  e->password : ""));
	body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	res = post_once(e, ep, "auth/authenticate", body, false, e->timeout_ms,
			&s, &resp, why, &timed_out);
	memset(body, 0, strlen(body));
	free(body);
	strbuf_release(&s.body);
	if (res == ATTEMPT_OK) {
		const char *tok = json_string_value(json_object_get(resp, "token"));

		free(e->token);
		e->token = dup_or_null(tok);
		if (!tok) {
			strbuf_addstr(why, "etcd gave no token (is auth enabled?)");
			res = ATTEMPT_CONFIG;
		}
	} else if (res == ATTEMPT_REFUSED || res == ATTEMPT_TOKEN) {
		res = ATTEMPT_CONFIG;
	}
	json_decref(resp);
	return res;
}

/*
 * The request on each endpoint in turn, starting with the one that
 * answered last, until one answers.
 */
static int call(struct etcd *e, const char *path, json_t *req,
		int64_t timeout_ms, struct sink *s, json_t **resp,
		bool *timed_out)
{
	struct strbuf reasons = STRBUF_INIT;
	char *body = json_dumps(req, JSON_COMPACT);
	bool config_error = false;
	int i, ret = 0;

	if (resp)
		*resp = NULL;
	for (i = 0; i < e->nendpoints; i++) {
		int ep = (e->current + i) % e->nendpoints;
		struct strbuf why = STRBUF_INIT;
		enum attempt res = ATTEMPT_TOKEN;
		int tries;

		for (tries = 0; tries < 2 && res == ATTEMPT_TOKEN; tries++) {
			strbuf_reset(&why);
			if (e->user && (!e->token || tries)) {
				res = authenticate(e, ep, &why);
				if (res != ATTEMPT_OK)
					break;
			}
			strbuf_reset(&s->body);
			s->parsed = 0;
			s->stopped = false;
			res = post_once(e, ep, path, body, true, timeout_ms, s,
					resp, &why, timed_out);
		}
		if (res == ATTEMPT_TOKEN)
			res = ATTEMPT_CONFIG;
		if (res == ATTEMPT_OK) {
			e->current = ep;
			strbuf_release(&why);
			goto out;
		}
		if (res == ATTEMPT_REFUSED) {
			e->current = ep;
			ret = lab_err(LAB_EPROGRAM, "etcd %s refused %s: %s",
				      e->endpoints[ep], path, strbuf_str(&why));
			strbuf_release(&why);
			goto out;
		}
		if (res == ATTEMPT_CONFIG)
			config_error = true;
		strbuf_addf(&reasons, "%s%s: %s", reasons.len ? "; " : "",
			    e->endpoints[ep], strbuf_str(&why));
		strbuf_release(&why);
	}
	if (config_error)
		ret = lab_err(LAB_ECONFIG,
			      "etcd refuses labctl's credentials (check [lock] cacert, cert, key, user and the password): %s",
			      strbuf_str(&reasons));
	else
		ret = lab_err(LAB_EINFRA, "etcd: no endpoint answers (%s)",
			      strbuf_str(&reasons));
out:
	free(body);
	strbuf_release(&reasons);
	return ret;
}

int etcd_call(struct etcd *e, const char *path, json_t *req, json_t **resp)
{
	struct sink s = { .body = STRBUF_INIT };
	bool timed_out;
	int ret = call(e, path, req, e->timeout_ms, &s, resp, &timed_out);

	strbuf_release(&s.body);
	return ret;
}

/* etcd_call with req released. */
static int call_new(struct etcd *e, const char *path, json_t *req,
		    json_t **resp)
{
	int ret = etcd_call(e, path, req, resp);

	json_decref(req);
	return ret;
}

static json_t *b64_json(const char *s)
{
	char *b = etcd_b64_encode(s, strlen(s));
	json_t *j = json_string(b);

	free(b);
	return j;
}

/* ------------------------------------------------------------ operations */

int etcd_lease_grant(struct etcd *e, int64_t ttl_s, int64_t *id)
{
	json_t *req = json_object(), *resp;
	int ret;

	json_object_set_new(req, "TTL", json_integer(ttl_s));
	ret = call_new(e, "lease/grant", req, &resp);
	if (ret)
		return ret;
	*id = etcd_json_int(resp, "ID");
	json_decref(resp);
	if (!*id)
		return lab_err(LAB_EPROGRAM, "etcd %s granted no lease",
			       etcd_endpoint(e));
	return 0;
}

int etcd_lease_keepalive(struct etcd *e, int64_t id, int64_t *ttl_left)
{
	json_t *req = json_object(), *resp;
	int ret;

	json_object_set_new(req, "ID", json_integer(id));
	ret = call_new(e, "lease/keepalive", req, &resp);
	if (ret)
		return ret;
	/* A stream of one: {"result": {"ID": ..., "TTL": ...}}. */
	*ttl_left = etcd_json_int(json_object_get(resp, "result") ?
				  json_object_get(resp, "result") : resp, "TTL");
	json_decref(resp);
	return 0;
}

int etcd_lease_revoke(struct etcd *e, int64_t id)
{
	json_t *req = json_object(), *resp;
	int ret;

	json_object_set_new(req, "ID", json_integer(id));
	ret = call_new(e, "lease/revoke", req, &resp);
	if (ret == -LAB_EPROGRAM && strstr(lab_errmsg(ret), "lease not found")) {
		lab_err_clear();
		return 0;
	}
	json_decref(resp);
	return ret;
}

int etcd_put(struct etcd *e, const char *key, const char *value,
	     int64_t lease, int64_t *rev)
{
	json_t *req = json_object(), *resp;
	int ret;

	json_object_set_new(req, "key", b64_json(key));
	json_object_set_new(req, "value", b64_json(value));
	if (lease)
		json_object_set_new(req, "lease", json_integer(lease));
	ret = call_new(e, "kv/put", req, &resp);
	if (ret)
		return ret;
	if (rev)
		*rev = etcd_json_int(json_object_get(resp, "header"), "revision");
	json_decref(resp);
	return 0;
}

int etcd_create(struct etcd *e, const char *key, const char *value,
		int64_t lease, bool *created)
{
	json_t *req = json_object(), *cmp = json_object(), *put = json_object();
	json_t *op = json_object(), *resp;
	int ret;

	json_object_set_new(cmp, "key", b64_json(key));
	json_object_set_new(cmp, "target", json_string("CREATE"));
	json_object_set_new(cmp, "result", json_string("EQUAL"));
	json_object_set_new(cmp, "create_revision", json_integer(0));
	json_object_set_new(put, "key", b64_json(key));
	json_object_set_new(put, "value", b64_json(value));
	if (lease)
		json_object_set_new(put, "lease", json_integer(lease));
	json_object_set_new(op, "request_put", put);
	json_object_set_new(req, "compare", json_pack("[o]", cmp));
	json_object_set_new(req, "success", json_pack("[o]", op));
	ret = call_new(e, "kv/txn", req, &resp);
	if (ret)
		return ret;
	*created = json_is_true(json_object_get(resp, "succeeded"));
	json_decref(resp);
	return 0;
}

int etcd_delete(struct etcd *e, const char *key, bool prefix)
{
	json_t *req = json_object(), *resp;
	int ret;

	json_object_set_new(req, "key", b64_json(key));
	if (prefix) {
		char *end = etcd_prefix_end(key);

		json_object_set_new(req, "range_end", b64_json(end));
		free(end);
	}
	ret = call_new(e, "kv/deleterange", req, &resp);
	if (!ret)
		json_decref(resp);
	return ret;
}

static char *b64_field(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	char *v = etcd_b64_decode(s ? s : "", NULL);

	return v ? v : xstrdup("");
}

int etcd_range(struct etcd *e, const char *key, bool prefix,
	       struct etcd_kv **kvs, int *n, int64_t *rev)
{
	json_t *req = json_object(), *resp, *arr;
	size_t i;
	int ret;

	*kvs = NULL;
	*n = 0;
	json_object_set_new(req, "key", b64_json(key));
	if (prefix) {
		char *end = etcd_prefix_end(key);

		json_object_set_new(req, "range_end", b64_json(end));
		free(end);
		json_object_set_new(req, "sort_order", json_string("ASCEND"));
		json_object_set_new(req, "sort_target", json_string("CREATE"));
	}
	ret = call_new(e, "kv/range", req, &resp);
	if (ret)
		return ret;
	if (rev)
		*rev = etcd_json_int(json_object_get(resp, "header"), "revision");
	arr = json_object_get(resp, "kvs");
	if (json_array_size(arr)) {
		*kvs = xcalloc(json_array_size(arr), sizeof(**kvs));
		for (i = 0; i < json_array_size(arr); i++) {
			json_t *kv = json_array_get(arr, i);
			struct etcd_kv *o = &(*kvs)[i];

			o->key = b64_field(kv, "key");
			o->value = b64_field(kv, "value");
			o->create_rev = etcd_json_int(kv, "create_revision");
			o->mod_rev = etcd_json_int(kv, "mod_revision");
			o->lease = etcd_json_int(kv, "lease");
		}
		*n = (int)json_array_size(arr);
	}
	json_decref(resp);
	return 0;
}

void etcd_kvs_free(struct etcd_kv *kvs, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		free(kvs[i].key);
		free(kvs[i].value);
	}
	free(kvs);
}

struct watch_state {
	bool any_change;
	bool created;
	char event;
};

static int watch_message(json_t *msg, void *arg)
{
	struct watch_state *w = arg;
	json_t *res = json_object_get(msg, "result"), *events;
	size_t i;

	if (!res)
		return 0;
	if (json_is_true(json_object_get(res, "created")))
		w->created = true;
	/* Cancelled or compacted away: the caller looks again. */
	if (json_is_true(json_object_get(res, "canceled")) ||
	    etcd_json_int(res, "compact_revision")) {
		w->event = 'X';
		return 1;
	}
	events = json_object_get(res, "events");
	for (i = 0; i < json_array_size(events); i++) {
		const char *type = json_string_value(
			json_object_get(json_array_get(events, i), "type"));

		/* PUT is the enum's zero: the gateway leaves it out. */
		if (type && !strcmp(type, "DELETE")) {
			w->event = 'D';
			return 1;
		}
		if (w->any_change) {
			w->event = 'P';
			return 1;
		}
	}
	return 0;
}

int etcd_watch(struct etcd *e, const char *key, bool prefix, bool any_change,
	       int64_t from_rev, int64_t timeout_ms, bool (*stop)(void),
	       char *event)
{
	struct watch_state w = { .any_change = any_change };
	struct sink s = { .body = STRBUF_INIT, .message = watch_message,
			  .arg = &w, .stop = stop };
	json_t *req = json_object(), *create = json_object();
	bool timed_out = false;
	int ret;

	*event = 0;
	json_object_set_new(create, "key", b64_json(key));
	if (prefix) {
		char *end = etcd_prefix_end(key);

		json_object_set_new(create, "range_end", b64_json(end));
		free(end);
	}
	if (from_rev > 0)
		json_object_set_new(create, "start_revision", json_integer(from_rev));
	json_object_set_new(req, "create_request", create);
	ret = call(e, "watch", req, timeout_ms > 0 ? timeout_ms : 1, &s, NULL,
		   &timed_out);
	json_decref(req);
	strbuf_release(&s.body);
	if (!ret)
		*event = w.event;
	return ret;
}
