// SPDX-License-Identifier: MIT
/*
 * power/http: power switches with an HTTP API, on libcurl.
 *
 * flavor = pdudaemon (default)  pdudaemon's HTTP listener, in front of
 *     any PDU it drives:
 *       GET URL/power/control/on|off?hostname=PDU&port=N
 *       GET URL/power/control/reboot?hostname=PDU&port=N&delay=S (cycle;
 *           S = off_time in whole seconds)
 *     Keys pdu (the PDU's name in pdudaemon's configuration) and port
 *     (the outlet), both required.  pdudaemon cannot tell an outlet's
 *     state (no status: unknown), answers 200 even when its driver
 *     failed, and has no reset (a cycle) or button.
 * flavor = rte   3mdeb RTE's REST API (URL is e.g. http://rte:8000):
 *       PATCH URL/api/v1/gpio/ID {"state":S,"direction":"out","time":T}
 *     GPIO 0 is the relay in the DUT's DC power (state 1 closed = on),
 *     8 the reset button and 9 the power button (state 1 pressed; time
 *     T > 0 releases it after T s, and labctl waits those T s).  on/off
 *     switch the relay and status reads it (GET URL/api/v1/gpio/0,
 *     "state"); with button = yes on is a 1 s press of the power button,
 *     off a 5 s press (forced off) and status is unknown.  reset pulses
 *     GPIO 8 for 1 s; press and press --long pulse GPIO 9 for 1 and 5 s.
 * flavor = tasmota   GET URL/cm?cmnd=Power%20On|Off, status cmnd=Power,
 *     answers {"POWER":"ON"}; channel = N uses PowerN (answer POWERN).
 *     With user = ... the web password goes in a POST body
 *     (user=U&password=P&cmnd=...), never in the URL.
 * flavor = shelly   Shelly Gen1: GET URL/relay/R?turn=on|off, status
 *     GET URL/relay/R ({"ison":true}), cycle turn=off&timer=S (the
 *     Shelly itself switches back on after S s; labctl waits S.5 s);
 *     R = channel - 1.
 * flavor = generic   one request per action, keys url_on, url_off,
 *     url_cycle, url_reset, url_status, each "[METHOD ]PATH[ BODY]"
 *     (METHOD GET, POST, PUT, PATCH or DELETE, default GET; PATH starts
 *     with / and is appended to url; a BODY starting with { or [ is sent
 *     as JSON, otherwise as a form).  status: the answer matching the
 *     extended regex status_on is on; with status_off, matching it is
 *     off and matching neither an error; without, anything else is off.
 *
 * Every flavor: url (required; http:// or https://, no query), user and
 * password_file (mode 0600) or $LABCTL_HTTP_PASSWORD for HTTP basic
 * authentication (tasmota: see above), tls_verify (yes), timeout (10 s
 * for one request, connecting included).  A key the flavor does not use
 * is refused.  Any answer but 2xx fails the action (exit 3), and so does
 * a device that cannot be reached within the timeout, naming the URL.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "lib/escape.h"
#include "lib/log.h"
#include "lib/param.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "power/curl.h"
#include "power/http.h"
#include "power/power.h"

#define HTTP_DEFAULT_TIMEOUT_MS 10000
#define HTTP_PASSWORD_ENV "LABCTL_HTTP_PASSWORD"

#define RTE_GPIO_RELAY 0
#define RTE_GPIO_RESET 8
#define RTE_GPIO_POWER 9
#define RTE_PRESS_S 1
#define RTE_LONG_PRESS_S 5

static const char *const flavor_names[HTTP_NFLAVORS] = {
	"pdudaemon", "rte", "tasmota", "shelly", "generic"
};

/* The generic flavor's keys, by action (NULL: no key). */
static const char *const generic_keys[HTTP_NACTIONS] = {
	"url_on", "url_off", "url_cycle", "url_reset", "url_status", NULL, NULL
};

static const char *const action_names[HTTP_NACTIONS] = {
	"on", "off", "cycle", "reset", "status", "press", "press long"
};

#define COMMON_KEYS "url", "flavor", "user", "password_file", "tls_verify", \
	"timeout"

static const char *const http_keys[] = {
	COMMON_KEYS, "pdu", "port", "channel", "button", "url_on", "url_off",
	"url_cycle", "url_reset", "url_status", "status_on", "status_off",
	NULL
};

/* The keys each flavor takes. */
static const char *const pdudaemon_keys[] = { COMMON_KEYS, "pdu", "port", NULL };
static const char *const rte_keys[] = { COMMON_KEYS, "button", NULL };
static const char *const tasmota_keys[] = { COMMON_KEYS, "channel", NULL };
static const char *const shelly_keys[] = { COMMON_KEYS, "channel", NULL };
static const char *const generic_flavor_keys[] = {
	COMMON_KEYS, "url_on", "url_off", "url_cycle", "url_reset",
	"url_status", "status_on", "status_off", NULL
};

static const char *const *const flavor_keys[HTTP_NFLAVORS] = {
	pdudaemon_keys, rte_keys, tasmota_keys, shelly_keys, generic_flavor_keys
};

/* Highest channel per flavor (0: none). */
static const int64_t max_channel[HTTP_NFLAVORS] = { 0, 0, 8, 4, 0 };

const char *http_flavor_name(enum http_flavor f)
{
	return f >= 0 && f < HTTP_NFLAVORS ? flavor_names[f] : "?";
}

int http_flavor_parse(const char *name)
{
	int i;

	for (i = 0; i < HTTP_NFLAVORS; i++)
		if (!strcmp(flavor_names[i], name))
			return i;
	return -1;
}

void http_call_release(struct http_call *call)
{
	strbuf_release(&call->url);
	strbuf_release(&call->body);
	call->method = NULL;
	call->content_type = NULL;
	call->wait_ms = 0;
}

static int64_t whole_seconds(int64_t ms)
{
	return ms <= 0 ? 0 : (ms + 999) / 1000;
}

/* method on the device's url with path and query (see http_url_join). */
static int path(const struct http_target *t, struct http_call *call,
		const char *method, const char *p, const char *const *query)
{
	call->method = method;
	return http_url_join(&call->url, t->url, p, query);
}

static int build_pdudaemon(const struct http_target *t, enum http_action a,
			   struct http_call *call)
{
	const char *what = a == HTTP_ON ? "on" : a == HTTP_OFF ? "off" :
			   a == HTTP_CYCLE ? "reboot" : NULL;
	char p[64], port[24], delay[24];
	const char *query[] = {
		"hostname", t->pdu, "port", port, NULL, NULL, NULL
	};

	if (a == HTTP_PRESS || a == HTTP_PRESS_LONG)
		return lab_err(LAB_ECONFIG,
			       "power driver http: pdudaemon switches outlets: it has no power button to press");
	if (!what)
		return 1;
	snprintf(p, sizeof(p), "/power/control/%s", what);
	snprintf(port, sizeof(port), "%lld", (long long)t->port);
	if (a == HTTP_CYCLE) {
		snprintf(delay, sizeof(delay), "%lld",
			 (long long)whole_seconds(t->off_time_ms));
		query[4] = "delay";
		query[5] = delay;
	}
	return path(t, call, "GET", p, query);
}

static int rte_patch(const struct http_target *t, struct http_call *call,
		     int gpio, int state, int time_s)
{
	char p[64];

	snprintf(p, sizeof(p), "/api/v1/gpio/%d", gpio);
	strbuf_addf(&call->body, "{\"state\":%d,\"direction\":\"out\",\"time\":%d}",
		    state, time_s);
	call->content_type = "application/json";
	call->wait_ms = time_s * 1000;
	return path(t, call, "PATCH", p, NULL);
}

static int build_rte(const struct http_target *t, enum http_action a,
		     struct http_call *call)
{
	switch (a) {
	case HTTP_ON:
		if (t->button)
			return rte_patch(t, call, RTE_GPIO_POWER, 1, RTE_PRESS_S);
		return rte_patch(t, call, RTE_GPIO_RELAY, 1, 0);
	case HTTP_OFF:
		if (t->button)
			return rte_patch(t, call, RTE_GPIO_POWER, 1,
					 RTE_LONG_PRESS_S);
		return rte_patch(t, call, RTE_GPIO_RELAY, 0, 0);
	case HTTP_RESET:
		return rte_patch(t, call, RTE_GPIO_RESET, 1, RTE_PRESS_S);
	case HTTP_PRESS:
		return rte_patch(t, call, RTE_GPIO_POWER, 1, RTE_PRESS_S);
	case HTTP_PRESS_LONG:
		return rte_patch(t, call, RTE_GPIO_POWER, 1, RTE_LONG_PRESS_S);
	case HTTP_STATUS:
		if (t->button)
			return 1;
		return path(t, call, "GET", "/api/v1/gpio/0", NULL);
	default:
		return 1;
	}
}

/* "Power" or "PowerN" */
static void tasmota_power(const struct http_target *t, struct strbuf *sb)
{
	strbuf_addstr(sb, "Power");
	if (t->channel)
		strbuf_addf(sb, "%lld", (long long)t->channel);
}

static int build_tasmota(const struct http_target *t, enum http_action a,
			 struct http_call *call, bool redact)
{
	struct strbuf cmnd = STRBUF_INIT;
	const char *query[] = { "cmnd", NULL, NULL };
	int ret;

	if (a == HTTP_PRESS || a == HTTP_PRESS_LONG)
		return lab_err(LAB_ECONFIG,
			       "power driver http: a tasmota switch has no power button to press");
	if (a != HTTP_ON && a != HTTP_OFF && a != HTTP_STATUS)
		return 1;
	tasmota_power(t, &cmnd);
	if (a != HTTP_STATUS)
		strbuf_addstr(&cmnd, a == HTTP_ON ? " On" : " Off");
	if (t->user) {
		ret = path(t, call, "POST", "/cm", NULL);
		strbuf_addstr(&call->body, "user=");
		http_url_escape(&call->body, t->user);
		strbuf_addstr(&call->body, "&password=");
		if (redact)
			strbuf_addstr(&call->body, "***");
		else
			http_url_escape(&call->body, t->password ? t->password : "");
		strbuf_addstr(&call->body, "&cmnd=");
		http_url_escape(&call->body, strbuf_str(&cmnd));
		call->content_type = "application/x-www-form-urlencoded";
	} else {
		query[1] = strbuf_str(&cmnd);
		ret = path(t, call, "GET", "/cm", query);
	}
	strbuf_release(&cmnd);
	return ret;
}

static int build_shelly(const struct http_target *t, enum http_action a,
			struct http_call *call)
{
	long long relay = t->channel ? t->channel - 1 : 0;
	const char *query[] = { "turn", NULL, NULL, NULL, NULL };
	char p[64], timer[24];

	if (a == HTTP_PRESS || a == HTTP_PRESS_LONG)
		return lab_err(LAB_ECONFIG,
			       "power driver http: a shelly relay has no power button to press");
	if (a == HTTP_RESET)
		return 1;
	snprintf(p, sizeof(p), "/relay/%lld", relay);
	if (a == HTTP_ON) {
		query[1] = "on";
	} else if (a == HTTP_OFF) {
		query[1] = "off";
	} else if (a == HTTP_CYCLE) {
		int64_t s = whole_seconds(t->off_time_ms);

		if (s < 1)
			s = 1;
		snprintf(timer, sizeof(timer), "%lld", (long long)s);
		query[1] = "off";
		query[2] = "timer";
		query[3] = timer;
		/* Its timer has whole seconds: give it half a second more. */
		call->wait_ms = s * 1000 + 500;
	}
	return path(t, call, "GET", p, query[1] ? query : NULL);
}

static const char *const methods[] = {
	"GET", "POST", "PUT", "PATCH", "DELETE", NULL
};

static int build_generic(const struct http_target *t, enum http_action a,
			 struct http_call *call)
{
	const char *spec = t->generic[a], *p, *sp;
	char *target;
	int i, ret;

	if (a == HTTP_PRESS || a == HTTP_PRESS_LONG)
		return lab_err(LAB_ECONFIG,
			       "power driver http: the generic flavor has no power button to press");
	if (!spec) {
		if (a == HTTP_ON || a == HTTP_OFF)
			return lab_err(LAB_ECONFIG,
				       "power driver http: flavor generic has no %s: add %s = [METHOD ]PATH[ BODY] in [power]",
				       generic_keys[a], generic_keys[a]);
		return 1;
	}
	p = spec;
	call->method = "GET";
	for (i = 0; methods[i]; i++) {
		size_t n = strlen(methods[i]);

		if (!strncmp(p, methods[i], n) && p[n] == ' ') {
			call->method = methods[i];
			p += n + 1;
			p += strspn(p, " ");
			break;
		}
	}
	if (*p != '/')
		return lab_err(LAB_ECONFIG,
			       "power driver http: %s = %s: want [METHOD ]PATH[ BODY] with a PATH that starts with / (METHOD: GET, POST, PUT, PATCH or DELETE)",
			       generic_keys[a], spec);
	sp = p + strcspn(p, " ");
	target = xstrndup(p, (size_t)(sp - p));
	ret = http_url_join(&call->url, t->url, target, NULL);
	free(target);
	if (ret)
		return ret;
	if (*sp) {
		sp += strspn(sp, " ");
		strbuf_addstr(&call->body, sp);
		call->content_type = (*sp == '{' || *sp == '[') ?
			"application/json" : "application/x-www-form-urlencoded";
	}
	return 0;
}

int http_build(const struct http_target *t, enum http_action action,
	       bool redact, struct http_call *call)
{
	strbuf_reset(&call->url);
	strbuf_reset(&call->body);
	call->content_type = NULL;
	call->wait_ms = 0;
	switch (t->flavor) {
	case HTTP_PDUDAEMON:
		return build_pdudaemon(t, action, call);
	case HTTP_RTE:
		return build_rte(t, action, call);
	case HTTP_TASMOTA:
		return build_tasmota(t, action, call, redact);
	case HTTP_SHELLY:
		return build_shelly(t, action, call);
	case HTTP_GENERIC:
		return build_generic(t, action, call);
	default:
		return lab_err(LAB_ECONFIG, "power driver http: unknown flavor #%d",
			       (int)t->flavor);
	}
}

static int bad_answer(const char *what, const char *expect, const char *body)
{
	size_t n = strcspn(body, "\r\n");
	char *text = lab_escape(body, n > 200 ? 200 : n);
	int ret = lab_err(LAB_EINFRA, "%s answered '%s', not %s", what, text,
			  expect);

	free(text);
	return ret;
}

static int tasmota_answer(const struct http_target *t, enum http_action a,
			  const char *body, const char *what,
			  enum power_state *state)
{
	struct strbuf key = STRBUF_INIT, v = STRBUF_INIT, expect = STRBUF_INIT;
	bool found;
	int ret = 0;

	strbuf_addstr(&key, "POWER");
	if (t->channel)
		strbuf_addf(&key, "%lld", (long long)t->channel);
	found = http_json_get(body, strbuf_str(&key), &v);
	/* A device with one relay answers POWER to Power1. */
	if (!found && t->channel == 1)
		found = http_json_get(body, "POWER", &v);
	strbuf_addf(&expect, "{\"%s\":\"%s\"}", strbuf_str(&key),
		    a == HTTP_ON ? "ON" : a == HTTP_OFF ? "OFF" : "ON|OFF");
	if (found && !strcmp(strbuf_str(&v), "ON"))
		*state = POWER_ON;
	else if (found && !strcmp(strbuf_str(&v), "OFF"))
		*state = POWER_OFF;
	else
		ret = bad_answer(what, strbuf_str(&expect), body);
	if (!ret && ((a == HTTP_ON && *state != POWER_ON) ||
		     (a == HTTP_OFF && *state != POWER_OFF)))
		ret = bad_answer(what, strbuf_str(&expect), body);
	strbuf_release(&key);
	strbuf_release(&v);
	strbuf_release(&expect);
	return ret;
}

static int bool_answer(const char *body, const char *key, const char *what,
		       enum http_action a, enum power_state *state)
{
	struct strbuf v = STRBUF_INIT, expect = STRBUF_INIT;
	int ret = 0;

	strbuf_addf(&expect, "{\"%s\":%s}", key,
		    a == HTTP_ON ? "true" : a == HTTP_OFF ? "false" : "true|false");
	if (http_json_get(body, key, &v) && !strcmp(strbuf_str(&v), "true"))
		*state = POWER_ON;
	else if (http_json_get(body, key, &v) && !strcmp(strbuf_str(&v), "false"))
		*state = POWER_OFF;
	else
		ret = bad_answer(what, strbuf_str(&expect), body);
	if (!ret && ((a == HTTP_ON && *state != POWER_ON) ||
		     (a == HTTP_OFF && *state != POWER_OFF)))
		ret = bad_answer(what, strbuf_str(&expect), body);
	strbuf_release(&v);
	strbuf_release(&expect);
	return ret;
}

static int rte_answer(const char *body, const char *what,
		      enum power_state *state)
{
	struct strbuf v = STRBUF_INIT;
	char *end;
	long n = -1;

	if (http_json_get(body, "state", &v))
		n = strtol(strbuf_str(&v), &end, 10);
	if (n < 0 || !v.len || *end) {
		strbuf_release(&v);
		return bad_answer(what, "{\"state\":0|1,...}", body);
	}
	strbuf_release(&v);
	*state = n % 2 ? POWER_ON : POWER_OFF;
	return 0;
}

/* 1 for a match, 0 for none, -LAB_ECONFIG for a bad regex. */
static int regex_match(const char *key, const char *re, const char *body)
{
	regex_t rx;
	int rc;

	rc = regcomp(&rx, re, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		char msg[128];

		regerror(rc, &rx, msg, sizeof(msg));
		return lab_err(LAB_ECONFIG, "power driver http: %s = %s: %s",
			       key, re, msg);
	}
	rc = regexec(&rx, body, 0, NULL, 0);
	regfree(&rx);
	return rc == 0;
}

static int generic_answer(const char *body, const char *status_on,
			  const char *status_off, const char *what,
			  enum power_state *state)
{
	int on, off = 0;

	if (!status_on)
		return lab_err(LAB_ECONFIG,
			       "power driver http: url_status needs status_on = REGEX (an answer matching it means on)");
	on = regex_match("status_on", status_on, body);
	if (on < 0)
		return on;
	if (status_off) {
		off = regex_match("status_off", status_off, body);
		if (off < 0)
			return off;
	}
	if (on)
		*state = POWER_ON;
	else if (off || !status_off)
		*state = POWER_OFF;
	else
		return bad_answer(what, "a match for status_on or status_off", body);
	return 0;
}

int http_parse_answer(const struct http_target *t, enum http_action action,
		      const char *body, const char *status_on,
		      const char *status_off, const char *what,
		      enum power_state *state)
{
	enum power_state st = POWER_UNKNOWN;
	int ret = 0;

	switch (t->flavor) {
	case HTTP_TASMOTA:
		if (action == HTTP_ON || action == HTTP_OFF ||
		    action == HTTP_STATUS)
			ret = tasmota_answer(t, action, body, what, &st);
		break;
	case HTTP_SHELLY:
		if (action == HTTP_ON || action == HTTP_OFF ||
		    action == HTTP_STATUS)
			ret = bool_answer(body, "ison", what, action, &st);
		break;
	case HTTP_RTE:
		if (action == HTTP_STATUS)
			ret = rte_answer(body, what, &st);
		break;
	case HTTP_GENERIC:
		if (action == HTTP_STATUS)
			ret = generic_answer(body, status_on, status_off, what,
					     &st);
		break;
	default:
		break;
	}
	if (state)
		*state = st;
	return ret;
}

/* ---- the driver ---- */

struct http_priv {
	struct http_target t;
	struct http_conn conn;
	const char *status_on, *status_off;
};

/* "flavor at URL" for messages. */
static char *what_of(const struct http_priv *p)
{
	struct strbuf u = STRBUF_INIT;
	char *s;

	http_url_redact(&u, p->t.url);
	s = xasprintf("%s at %s", http_flavor_name(p->t.flavor), strbuf_str(&u));
	strbuf_release(&u);
	return s;
}

/* Send one call and read its answer (state: for status). */
static int send_call(struct power_dev *dev, enum http_action a,
		     struct http_call *call, enum power_state *state)
{
	struct http_priv *p = dev->priv;
	struct http_request req = {
		.method = call->method, .url = strbuf_str(&call->url),
		.body = call->body.len ? strbuf_str(&call->body) : NULL,
		.content_type = call->content_type,
	};
	struct http_response resp = { 0 };
	char *what;
	int ret;

	http_conn_request(&p->conn, &req);
	/* pdudaemon answers a reboot after its delay. */
	if (p->t.flavor == HTTP_PDUDAEMON && a == HTTP_CYCLE)
		req.timeout_ms += whole_seconds(p->t.off_time_ms) * 1000;
	/* tasmota takes its password in the body, not as basic auth. */
	if (p->t.flavor == HTTP_TASMOTA)
		req.user = req.password = NULL;
	lab_debug("power http: %s %s", req.method, req.url);
	ret = http_perform(&req, &resp);
	if (!ret)
		ret = http_check_status(&req, &resp);
	if (!ret) {
		what = what_of(p);
		ret = http_parse_answer(&p->t, a, strbuf_str(&resp.body),
					p->status_on, p->status_off, what, state);
		free(what);
	}
	http_response_release(&resp);
	if (!ret && call->wait_ms)
		lab_sleep_ms(call->wait_ms);
	return ret;
}

static int do_action(struct power_dev *dev, enum http_action a,
		     enum power_state *state);

/* off, wait off_time, on */
static int fallback_cycle(struct power_dev *dev)
{
	int ret = do_action(dev, HTTP_OFF, NULL);

	if (ret)
		return ret;
	lab_sleep_ms(dev->cfg.off_time_ms);
	return do_action(dev, HTTP_ON, NULL);
}

static int do_action(struct power_dev *dev, enum http_action a,
		     enum power_state *state)
{
	struct http_priv *p = dev->priv;
	struct http_call call = { 0 };
	enum power_state st;
	int ret;

	ret = http_build(&p->t, a, false, &call);
	if (ret == 1) {
		http_call_release(&call);
		if (a == HTTP_STATUS) {
			*state = POWER_UNKNOWN;
			return 0;
		}
		if (a == HTTP_RESET)
			return do_action(dev, HTTP_CYCLE, NULL);
		if (a == HTTP_CYCLE)
			return fallback_cycle(dev);
		return lab_err(LAB_ECONFIG, "power driver http: flavor %s cannot %s",
			       http_flavor_name(p->t.flavor), action_names[a]);
	}
	if (!ret)
		ret = send_call(dev, a, &call, state ? state : &st);
	http_call_release(&call);
	return ret;
}

static int http_on(struct power_dev *dev)
{
	return do_action(dev, HTTP_ON, NULL);
}

static int http_off(struct power_dev *dev)
{
	return do_action(dev, HTTP_OFF, NULL);
}

static int http_cycle(struct power_dev *dev)
{
	return do_action(dev, HTTP_CYCLE, NULL);
}

static int http_reset(struct power_dev *dev)
{
	return do_action(dev, HTTP_RESET, NULL);
}

static int http_status(struct power_dev *dev, enum power_state *state)
{
	return do_action(dev, HTTP_STATUS, state);
}

static int http_press(struct power_dev *dev, bool long_press)
{
	return do_action(dev, long_press ? HTTP_PRESS_LONG : HTTP_PRESS, NULL);
}

static void describe_call(const struct http_call *call, struct strbuf *out)
{
	strbuf_addf(out, "%s %s", call->method, strbuf_str(&call->url));
	if (call->body.len)
		strbuf_addf(out, " %s", strbuf_str(&call->body));
	strbuf_addch(out, '\n');
	if (call->wait_ms)
		strbuf_addf(out, "wait %lld ms\n", (long long)call->wait_ms);
}

static int describe_action(struct power_dev *dev, enum http_action a,
			   struct strbuf *out)
{
	struct http_priv *p = dev->priv;
	struct http_call call = { 0 };
	int ret = http_build(&p->t, a, true, &call);

	if (!ret)
		describe_call(&call, out);
	http_call_release(&call);
	if (ret != 1)
		return ret;
	if (a == HTTP_STATUS) {
		strbuf_addf(out, "nothing: %s tells no state (unknown)\n",
			    http_flavor_name(p->t.flavor));
		return 0;
	}
	if (a == HTTP_RESET)
		return describe_action(dev, HTTP_CYCLE, out);
	if (a == HTTP_CYCLE) {
		ret = describe_action(dev, HTTP_OFF, out);
		if (ret)
			return ret;
		strbuf_addf(out, "wait %lld ms\n",
			    (long long)dev->cfg.off_time_ms);
		return describe_action(dev, HTTP_ON, out);
	}
	return lab_err(LAB_ECONFIG, "power driver http: flavor %s cannot %s",
		       http_flavor_name(p->t.flavor), action_names[a]);
}

static int http_describe(struct power_dev *dev, const char *action,
			 struct strbuf *out)
{
	int a;

	for (a = 0; a < HTTP_NACTIONS; a++)
		if (!strcmp(action, action_names[a]))
			return describe_action(dev, (enum http_action)a, out);
	return lab_err(LAB_EINVAL, "power driver http: no action '%s'", action);
}

static void http_close(struct power_dev *dev)
{
	struct http_priv *p = dev->priv;

	if (!p)
		return;
	http_conn_close(&p->conn);
	free(p);
	dev->priv = NULL;
}

/* Each flavor's required keys and ranges; the generic specs parse. */
static int check_flavor(struct power_dev *dev, struct http_priv *p)
{
	struct http_target *t = &p->t;
	const char *fl = http_flavor_name(t->flavor);
	struct http_call call = { 0 };
	int a, ret = 0;

	if (t->flavor == HTTP_PDUDAEMON) {
		if (!t->pdu || !*t->pdu)
			return lab_err(LAB_ECONFIG,
				       "power driver http: flavor pdudaemon needs pdu = the PDU's name in pdudaemon's configuration");
		if (!power_param(dev, "port"))
			return lab_err(LAB_ECONFIG,
				       "power driver http: flavor pdudaemon needs port = the outlet number");
	}
	if (max_channel[t->flavor] && power_param(dev, "channel") &&
	    (t->channel < 1 || t->channel > max_channel[t->flavor]))
		return lab_err(LAB_ECONFIG,
			       "power driver http: channel %lld is out of range for flavor %s (1..%lld)",
			       (long long)t->channel, fl,
			       (long long)max_channel[t->flavor]);
	if (t->flavor == HTTP_GENERIC) {
		for (a = 0; a < HTTP_NACTIONS && !ret; a++)
			if (generic_keys[a] && t->generic[a])
				ret = http_build(t, (enum http_action)a, true, &call);
		if (!ret && !t->generic[HTTP_ON] && !t->generic[HTTP_OFF])
			ret = lab_err(LAB_ECONFIG,
				      "power driver http: flavor generic needs url_on and url_off = [METHOD ]PATH[ BODY]");
		if (!ret && t->generic[HTTP_STATUS] && !p->status_on)
			ret = lab_err(LAB_ECONFIG,
				      "power driver http: url_status needs status_on = REGEX (an answer matching it means on)");
		if (!ret && p->status_on)
			ret = regex_match("status_on", p->status_on, "") < 0 ?
			      -LAB_ECONFIG : 0;
		if (!ret && p->status_off)
			ret = regex_match("status_off", p->status_off, "") < 0 ?
			      -LAB_ECONFIG : 0;
		http_call_release(&call);
	}
	return ret;
}

/* A url libcurl cannot read is the lab file's error, found at open. */
static int check_url(const char *url)
{
	struct strbuf joined = STRBUF_INIT;
	int ret = http_url_join(&joined, url, "", NULL);

	strbuf_release(&joined);
	if (!ret)
		return 0;
	ret = lab_err(LAB_ECONFIG, "power driver http: url = %s: %s", url,
		      lab_errmsg(ret));
	return ret;
}

static int http_open(struct power_dev *dev, const struct power_config *cfg)
{
	struct http_priv *p = xzalloc(sizeof(*p));
	const char *url = power_param(dev, "url");
	const char *flavor = power_param(dev, "flavor");
	char what[64];
	int a, f, ret;

	dev->priv = p;
	f = http_flavor_parse(flavor ? flavor : "pdudaemon");
	if (f < 0) {
		ret = lab_err(LAB_ECONFIG,
			      "power driver http: unknown flavor '%s' (known: pdudaemon, rte, tasmota, shelly, generic)",
			      flavor);
		goto fail;
	}
	p->t.flavor = (enum http_flavor)f;
	snprintf(what, sizeof(what), "power driver http with flavor %s",
		 flavor_names[f]);
	ret = lab_params_check(cfg->params, cfg->nparams, flavor_keys[f], what);
	if (ret)
		goto fail;
	if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))) {
		ret = lab_err(LAB_ECONFIG,
			      "power driver http needs url = http://HOST[:PORT] (or https://) in [power]");
		goto fail;
	}
	if (strpbrk(url, "?#")) {
		ret = lab_err(LAB_ECONFIG,
			      "power driver http: url = %s: give the base URL, without a query or fragment",
			      url);
		goto fail;
	}
	ret = check_url(url);
	if (ret)
		goto fail;
	p->t.url = url;
	p->t.pdu = power_param(dev, "pdu");
	p->t.off_time_ms = cfg->off_time_ms;
	for (a = 0; a < HTTP_NACTIONS; a++)
		if (generic_keys[a])
			p->t.generic[a] = power_param(dev, generic_keys[a]);
	p->status_on = power_param(dev, "status_on");
	p->status_off = power_param(dev, "status_off");
	if ((ret = http_param_int(dev, "port", 0, 65535, &p->t.port)) ||
	    (ret = http_param_int(dev, "channel", 1, 1000, &p->t.channel)) ||
	    (ret = http_param_bool(dev, "button", &p->t.button)) ||
	    (ret = check_flavor(dev, p)))
		goto fail;
	ret = http_conn_open(&p->conn, dev, "http", HTTP_PASSWORD_ENV, NULL,
			     HTTP_DEFAULT_TIMEOUT_MS);
	if (ret)
		goto fail;
	p->t.user = p->conn.user;
	p->t.password = p->conn.password;
	return 0;
fail:
	http_close(dev);
	return ret;
}

/* The keys this driver takes in a lab file's [power] section, declared once
 * here: labctl/labconf.c checks and shows them from this table. */
static const struct lab_key_def http_lab_keys[] = {
	{ "power", "timeout", KEY_DURATION, "30s", NULL, 0, 0, NULL,
	  "how long one power command (cmd, ipmitool) may run before it is killed; http, amt: one HTTP request, connecting included (default 10s)" },
	{ "power", "url", KEY_URL, NULL, NULL, 0, 0, NULL,
	  "base URL of the power switch" },
	{ "power", "flavor", KEY_ENUM, "pdudaemon", "pdudaemon|rte|tasmota|shelly|generic", 0, 0, NULL,
	  "which HTTP API the switch speaks" },
	{ "power", "pdu", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "pdudaemon: the PDU's hostname" },
	{ "power", "port", KEY_INT, NULL, NULL, 0, 65535, NULL,
	  "outlet number (http) or TCP port (ipmi, amt, ssh: default board.ssh_port)" },
	{ "power", "user", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "management user name (amt: admin; http: basic auth, none by default)" },
	{ "power", "password_file", KEY_SECRET_FILE, NULL, NULL, 0, 0, NULL,
	  "file (mode 0600) holding the password; or the environment" },
	{ "power", "tls_verify", KEY_BOOL, "yes", NULL, 0, 0, NULL,
	  "verify TLS certificates" },
	{ "power", "url_on", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "generic flavor: [METHOD ]PATH[ BODY] that powers on (PATH after url)" },
	{ "power", "url_off", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "generic flavor: [METHOD ]PATH[ BODY] that powers off" },
	{ "power", "url_cycle", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "generic flavor: [METHOD ]PATH[ BODY] that power-cycles (default: off, wait, on)" },
	{ "power", "url_reset", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "generic flavor: [METHOD ]PATH[ BODY] that resets (default: cycle)" },
	{ "power", "url_status", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "generic flavor: [METHOD ]PATH[ BODY] whose answer tells the state" },
	{ "power", "status_on", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "generic flavor: extended regex; a url_status answer matching it means on" },
	{ "power", "status_off", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "generic flavor: extended regex; an answer matching it means off (then matching neither is an error)" },
	{ "power", "channel", KEY_INT, "1", NULL, 1, 16, NULL,
	  "relay channel (1-based)" },
	{ "power", "button", KEY_BOOL, "no", NULL, 0, 0, NULL,
	  "the relay or line is wired to the power button (pulses, not levels)" },
	{ NULL, NULL, 0, NULL, NULL, 0, 0, NULL, NULL }
};

const struct power_driver power_driver_http = {
	.name = "http",
	.description = "a power switch with an HTTP API: pdudaemon, 3mdeb RTE, Tasmota, Shelly or one URL per action",
	.caps = POWER_CAP_ON | POWER_CAP_OFF | POWER_CAP_CYCLE |
		POWER_CAP_RESET | POWER_CAP_STATUS | POWER_CAP_PRESS,
	.keys = http_keys,
	.lab_keys = http_lab_keys,
	.open = http_open,
	.close = http_close,
	.on = http_on,
	.off = http_off,
	.cycle = http_cycle,
	.reset = http_reset,
	.status = http_status,
	.press = http_press,
	.describe = http_describe,
};
