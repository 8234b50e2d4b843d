/* SPDX-License-Identifier: MIT */
/*
 * HTTP for the power drivers (power/http.c, power/amt.c) on libcurl: one
 * request at a time, with a bounded time, TLS verification on unless the
 * lab says tls_verify = no, basic or digest authentication, no proxy (a
 * power switch sits on the lab's own network) and no redirects.  Errors
 * name the method and the URL (never a password: none is ever in a URL).
 *
 * Also the small pure helpers both drivers share: URL escaping and
 * joining, a JSON member lookup, and the [power] keys that concern
 * the connection (user, password_file, tls_verify, timeout).
 */
#ifndef POWER_CURL_H
#define POWER_CURL_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/strbuf.h"

struct power_dev;

struct http_request {
	const char *method;		/* GET, POST, PUT, PATCH */
	const char *url;
	const char *body;		/* NULL: no body */
	const char *content_type;	/* of the body */
	const char *user;		/* NULL: no authentication */
	const char *password;
	/* Set when the password is missing: the request fails with it (a
	 * --dry-run, which sends nothing, does not need the password). */
	const char *auth_error;
	bool digest;			/* HTTP digest (AMT), else basic */
	bool tls_verify;
	int64_t timeout_ms;		/* the whole request, connect included */
};

struct http_response {
	long status;			/* 0 when no answer came */
	struct strbuf body;
};

/*
 * Send one request.  0 when an answer came, whatever its status (the
 * caller judges it); -LAB_ETIMEDOUT when timeout_ms passed first,
 * -LAB_EINFRA for any other transport failure (refused, no route, TLS
 * certificate...), with "METHOD URL: what happened" recorded.
 */
int http_perform(const struct http_request *req, struct http_response *resp);
void http_response_release(struct http_response *resp);

/*
 * -LAB_EINFRA with "METHOD URL answered STATUS: first line of the body"
 * unless the status is 2xx; 0 otherwise.
 */
int http_check_status(const struct http_request *req,
		      const struct http_response *resp);

/* Percent-encode everything but RFC 3986 unreserved characters. */
void http_url_escape(struct strbuf *out, const char *s);
/*
 * base with path ("/...", escaped already; it may end in "?QUERY")
 * appended to base's path (its trailing slashes dropped), then each
 * name=value of query (NAME, VALUE pairs ending in NULL, or NULL; each
 * value escaped here) appended to the query, with libcurl's URL API.
 * 0, or -LAB_ECONFIG (libcurl's reason) when base is not a URL it reads.
 */
int http_url_join(struct strbuf *out, const char *base, const char *path,
		  const char *const *query);
/* The URL without any user@ part, for messages. */
void http_url_redact(struct strbuf *out, const char *url);

/*
 * The value of "key" in the JSON object json (a member of the object
 * itself, not of one nested in it): a string decoded (escapes and \u
 * included), or a number, true, false or null as JSON writes it.  false
 * when json is not an object, the key is missing or its value is an
 * object or an array.
 */
bool http_json_get(const char *json, const char *key, struct strbuf *value);

/* The connection keys of a driver (see http_conn_open). */
struct http_conn {
	const char *driver;		/* for messages: "http", "amt" */
	char *user;			/* NULL: no authentication */
	char *password;
	char *auth_error;		/* no password for user: why */
	bool tls_verify;
	int64_t timeout_ms;
};

/*
 * Read user, password_file, tls_verify and timeout of dev.  The password
 * comes from password_file (mode 0600, refused otherwise) or else from
 * the environment variable env; need_user: a user is required (default
 * default_user), else a password without a user is a configuration
 * error.  0 or -LAB_ECONFIG (-LAB_E* for an unreadable file).
 */
int http_conn_open(struct http_conn *c, struct power_dev *dev,
		   const char *driver, const char *env,
		   const char *default_user, int64_t default_timeout_ms);
void http_conn_close(struct http_conn *c);
/* A request with c's authentication, TLS and timeout settings. */
void http_conn_request(const struct http_conn *c, struct http_request *req);

/* [power] key helpers: absent keys leave *out alone and return 0. */
int http_param_bool(struct power_dev *dev, const char *key, bool *out);
int http_param_int(struct power_dev *dev, const char *key, int64_t min,
		   int64_t max, int64_t *out);
int http_param_duration(struct power_dev *dev, const char *key,
			int64_t *out_ms);

#endif
