// SPDX-License-Identifier: MIT
/*
 * HTTP for the power drivers on libcurl (see power/curl.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "lib/escape.h"
#include "lib/secret.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "power/curl.h"
#include "power/power.h"

/* An answer larger than this is not a power switch's. */
#define HTTP_MAX_BODY (1024 * 1024)

static size_t collect(char *data, size_t size, size_t n, void *arg)
{
	struct strbuf *sb = arg;

	if (sb->len + size * n > HTTP_MAX_BODY)
		return 0;	/* makes curl fail with CURLE_WRITE_ERROR */
	strbuf_add(sb, data, size * n);
	return size * n;
}

static int global_init(void)
{
	static bool done;

	if (!done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT))
			return lab_err(LAB_EINFRA, "cannot initialise libcurl");
		done = true;
	}
	return 0;
}

static int transport_error(const struct http_request *req, CURLcode rc,
			   const char *detail, int64_t took_ms)
{
	struct strbuf url = STRBUF_INIT;
	int code = rc == CURLE_OPERATION_TIMEDOUT ? LAB_ETIMEDOUT : LAB_EINFRA;
	int ret;

	http_url_redact(&url, req->url);
	if (!*detail)
		detail = curl_easy_strerror(rc);
	if (strstr(detail, " after "))	/* curl said how long it tried */
		ret = lab_err(code, "%s %s: %s", req->method, strbuf_str(&url),
			      detail);
	else
		ret = lab_err(code, "%s %s: %s (after %lld.%03lld s)",
			      req->method, strbuf_str(&url), detail,
			      (long long)(took_ms / 1000),
			      (long long)(took_ms % 1000));
	strbuf_release(&url);
	return ret;
}

int http_perform(const struct http_request *req, struct http_response *resp)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	int64_t start = lab_mono_ms();
	CURL *h;
	CURLcode rc;
	int ret;

	resp->status = 0;
	strbuf_reset(&resp->body);
	if (req->auth_error)
		return lab_err(LAB_ECONFIG, "%s", req->auth_error);
	ret = global_init();
	if (ret)
		return ret;
	h = curl_easy_init();
	if (!h)
		return lab_err(LAB_EINFRA, "cannot create a libcurl handle");
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_USERAGENT, "labctl");
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)req->timeout_ms);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, req->tls_verify ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, req->tls_verify ? 2L : 0L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp->body);
	if (strcmp(req->method, "GET"))
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
	if (req->body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(req->body));
		if (req->content_type) {
			char *ct = xasprintf("Content-Type: %s", req->content_type);

			headers = curl_slist_append(headers, ct);
			free(ct);
		}
		/* Small bodies: no 100-continue round trip. */
		headers = curl_slist_append(headers, "Expect:");
	}
	if (headers)
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	if (req->user) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH,
				 req->digest ? CURLAUTH_DIGEST : CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, req->user);
		curl_easy_setopt(h, CURLOPT_PASSWORD,
				 req->password ? req->password : "");
	}

	rc = curl_easy_perform(h);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
		ret = 0;
	} else {
		ret = transport_error(req, rc, errbuf, lab_mono_ms() - start);
	}
	curl_slist_free_all(headers);
	curl_easy_cleanup(h);
	return ret;
}

void http_response_release(struct http_response *resp)
{
	strbuf_release(&resp->body);
	resp->status = 0;
}

int http_check_status(const struct http_request *req,
		      const struct http_response *resp)
{
	struct strbuf url = STRBUF_INIT;
	const char *body = strbuf_str(&resp->body);
	int len = (int)strcspn(body, "\r\n");
	int ret;

	if (resp->status >= 200 && resp->status < 300)
		return 0;
	if (len > 200)
		len = 200;
	http_url_redact(&url, req->url);
	if (resp->status == 401)
		ret = lab_err(LAB_EINFRA,
			      "%s %s answered 401 Unauthorized: %s",
			      req->method, strbuf_str(&url),
			      req->user ? "wrong user or password" :
			      "it wants a user and password (user = ..., password_file = ...)");
	else
	{
		char *text = lab_escape(body, (size_t)len);

		ret = lab_err(LAB_EINFRA, "%s %s answered %ld%s%s",
			      req->method, strbuf_str(&url), resp->status,
			      len ? ": " : "", text);
		free(text);
	}
	strbuf_release(&url);
	return ret;
}

void http_url_escape(struct strbuf *out, const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);

	if (!e) {
		fprintf(stderr, "labctl: out of memory escaping a URL part\n");
		abort();
	}
	strbuf_addstr(out, e);
	curl_free(e);
}

int http_url_join(struct strbuf *out, const char *base, const char *path,
		  const char *const *query)
{
	const char *qmark = strchr(path, '?');
	struct strbuf p = STRBUF_INIT, kv = STRBUF_INIT;
	char *base_path = NULL, *url = NULL;
	CURLU *u = curl_url();
	CURLUcode rc;
	size_t n;
	int i;

	if (!u) {
		fprintf(stderr, "labctl: out of memory parsing a URL\n");
		abort();
	}
	rc = curl_url_set(u, CURLUPART_URL, base, 0);
	if (!rc)
		rc = curl_url_get(u, CURLUPART_PATH, &base_path, 0);
	if (!rc) {
		n = strlen(base_path);
		while (n && base_path[n - 1] == '/')
			n--;
		strbuf_add(&p, base_path, n);
		strbuf_add(&p, path, qmark ? (size_t)(qmark - path) : strlen(path));
		rc = curl_url_set(u, CURLUPART_PATH, p.len ? p.buf : "/", 0);
	}
	if (!rc && qmark)
		rc = curl_url_set(u, CURLUPART_QUERY, qmark + 1, 0);
	for (i = 0; !rc && query && query[i]; i += 2) {
		strbuf_reset(&kv);
		strbuf_addf(&kv, "%s=", query[i]);
		http_url_escape(&kv, query[i + 1]);
		rc = curl_url_set(u, CURLUPART_QUERY, kv.buf, CURLU_APPENDQUERY);
	}
	if (!rc)
		rc = curl_url_get(u, CURLUPART_URL, &url, 0);
	if (!rc)
		strbuf_addstr(out, url);
	curl_free(base_path);
	curl_free(url);
	curl_url_cleanup(u);
	strbuf_release(&p);
	strbuf_release(&kv);
	return rc ? lab_err(LAB_ECONFIG, "%s", curl_url_strerror(rc)) : 0;
}

void http_url_redact(struct strbuf *out, const char *url)
{
	const char *host = strstr(url, "://");
	const char *end, *at;

	if (!host) {
		strbuf_addstr(out, url);
		return;
	}
	host += 3;
	end = host + strcspn(host, "/?#");
	at = memchr(host, '@', (size_t)(end - host));
	if (!at) {
		strbuf_addstr(out, url);
		return;
	}
	/* The last '@' before the path ends the user part. */
	while ((end = memchr(at + 1, '@', (size_t)(end - at - 1))))
		at = end;
	strbuf_add(out, url, (size_t)(host - url));
	strbuf_addstr(out, at + 1);
}

bool http_json_get(const char *json, const char *key, struct strbuf *value)
{
	json_t *root = json_loads(json, 0, NULL);
	json_t *v = json_is_object(root) ? json_object_get(root, key) : NULL;
	bool found = true;

	strbuf_reset(value);
	if (json_is_string(v)) {
		strbuf_add(value, json_string_value(v), json_string_length(v));
	} else if (json_is_integer(v)) {
		strbuf_addf(value, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	} else if (json_is_real(v) || json_is_boolean(v) || json_is_null(v)) {
		char *text = json_dumps(v, JSON_ENCODE_ANY);

		strbuf_addstr(value, text);
		free(text);
	} else {
		found = false;
	}
	json_decref(root);
	return found;
}

int http_param_bool(struct power_dev *dev, const char *key, bool *out)
{
	const char *v = power_param(dev, key);

	if (!v)
		return 0;
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1") ||
	    !strcmp(v, "on"))
		*out = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0") ||
		 !strcmp(v, "off"))
		*out = false;
	else
		return lab_err(LAB_ECONFIG, "power driver %s: %s=%s: want yes or no",
			       dev->drv->name, key, v);
	return 0;
}

int http_param_int(struct power_dev *dev, const char *key, int64_t min,
		   int64_t max, int64_t *out)
{
	const char *v = power_param(dev, key);
	char *end;
	long long n;

	if (!v)
		return 0;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || end == v || *end || n < min || n > max)
		return lab_err(LAB_ECONFIG,
			       "power driver %s: %s=%s: want a number from %lld to %lld",
			       dev->drv->name, key, v, (long long)min,
			       (long long)max);
	*out = n;
	return 0;
}

int http_param_duration(struct power_dev *dev, const char *key,
			int64_t *out_ms)
{
	const char *v = power_param(dev, key);
	int64_t ms;

	if (!v)
		return 0;
	if (lab_parse_duration_ms(v, &ms) || ms <= 0)
		return lab_err(LAB_ECONFIG,
			       "power driver %s: %s=%s: want a duration like 10s",
			       dev->drv->name, key, v);
	*out_ms = ms;
	return 0;
}

int http_conn_open(struct http_conn *c, struct power_dev *dev,
		   const char *driver, const char *env,
		   const char *default_user, int64_t default_timeout_ms)
{
	const char *pwfile = power_param(dev, "password_file");
	const char *user = power_param(dev, "user");
	struct strbuf pw = STRBUF_INIT;
	bool have_pw = false;
	int ret;

	memset(c, 0, sizeof(*c));
	c->driver = driver;
	c->tls_verify = true;
	c->timeout_ms = default_timeout_ms;
	if ((ret = http_param_bool(dev, "tls_verify", &c->tls_verify)) ||
	    (ret = http_param_duration(dev, "timeout", &c->timeout_ms)))
		return ret;
	if (!user)
		user = default_user;
	if (pwfile) {
		char who[64];

		snprintf(who, sizeof(who), "power driver %s", driver);
		ret = lab_read_secret_file(who, pwfile, &pw);
		if (ret == -LAB_ENOENT) {
			/* Like no password: only a real request needs it. */
			c->auth_error = xstrdup(lab_errmsg(ret));
			lab_err_clear();
			ret = 0;
		} else if (ret) {
			goto out;
		}
		have_pw = !c->auth_error;
	} else if (getenv(env)) {
		strbuf_addstr(&pw, getenv(env));
		have_pw = true;
	}
	if (user && !have_pw && !c->auth_error)
		c->auth_error = xasprintf("power driver %s needs the password of user %s: set %s or password_file = PATH (mode 0600) in [power]",
					  driver, user, env);
	if (!user && pwfile) {
		ret = lab_err(LAB_ECONFIG,
			      "power driver %s: password_file without user: add user = NAME in [power]",
			      driver);
		goto out;
	}
	if (user) {
		c->user = xstrdup(user);
		c->password = xstrdup(strbuf_str(&pw));
	}
	ret = 0;
out:
	if (pw.buf)
		explicit_bzero(pw.buf, pw.len);
	strbuf_release(&pw);
	return ret;
}

void http_conn_close(struct http_conn *c)
{
	if (c->password) {
		explicit_bzero(c->password, strlen(c->password));
		free(c->password);
	}
	free(c->user);
	free(c->auth_error);
	c->user = c->password = c->auth_error = NULL;
}

void http_conn_request(const struct http_conn *c, struct http_request *req)
{
	req->user = c->user;
	req->password = c->password;
	req->auth_error = c->auth_error;
	req->tls_verify = c->tls_verify;
	req->timeout_ms = c->timeout_ms;
}
