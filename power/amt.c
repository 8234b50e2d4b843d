// SPDX-License-Identifier: MIT
/*
 * power/amt: Intel AMT power control over WS-Management (libcurl, HTTP
 * digest authentication), for AMT 6 and later (amttool's older SOAP
 * interface went away with AMT 9).
 *
 *   POST http://HOST:16992/wsman   (https on port 16993)
 *   on 2, off 8 (Off - Soft), cycle 5, reset 10 (Master Bus Reset):
 *       CIM_PowerManagementService.RequestPowerStateChange, ReturnValue 0
 *   status: a Get of CIM_AssociatedPowerManagementService, PowerState 2
 *       is on; 3-4 (asleep) and 6-9, 12-13 (off) are off.
 *
 * AMT accepts a reset or cycle of a machine that is off and does nothing,
 * so cycle and reset read the state first and send on (2) to a machine
 * that is not on.  The message ids are random (RFC 4122 v4).
 *
 * AMT's network interface sleeps when the host is off and idle: the
 * first request often gets no answer.  A request that cannot connect or
 * times out is sent again, retries times (2), after 1, 2, 4... s; an
 * answer (a fault, 401) is never retried.  The longest an action waits
 * is (retries + 1) * timeout plus the pauses.
 *
 * Keys: host (required), port (16992), user (admin), password_file (mode
 * 0600) or $AMT_PASSWORD, tls_verify (yes), timeout (10 s per request),
 * retries (2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "power/curl.h"
#include "power/power.h"
#include "power/wsman.h"

#define AMT_DEFAULT_PORT 16992
#define AMT_TLS_PORT 16993
#define AMT_DEFAULT_TIMEOUT_MS 10000
#define AMT_DEFAULT_RETRIES 2
#define AMT_MAX_BACKOFF_MS 8000
#define AMT_PASSWORD_ENV "AMT_PASSWORD"
#define SOAP_CONTENT_TYPE "application/soap+xml;charset=UTF-8"

static const char *const amt_keys[] = {
	"host", "port", "user", "password_file", "tls_verify", "timeout",
	"retries", NULL
};

struct amt {
	struct http_conn conn;
	char *url;		/* http://HOST:PORT/wsman */
	char *what;		/* "AMT at URL" */
	int64_t retries;
};

static void message_id(struct strbuf *out)
{
	unsigned char rnd[16] = { 0 };
	size_t got = 0;

	while (got < sizeof(rnd)) {
		ssize_t n = getrandom(rnd + got, sizeof(rnd) - got, 0);

		if (n <= 0)
			break;	/* zeros then: still a well-formed id */
		got += (size_t)n;
	}
	wsman_message_id(out, rnd);
}

/* One envelope for action: power_state > 0, or the status Get. */
static void envelope(struct amt *a, int power_state, struct strbuf *xml)
{
	struct strbuf id = STRBUF_INIT;

	message_id(&id);
	if (power_state > 0)
		wsman_power_request(xml, a->url, strbuf_str(&id), power_state);
	else
		wsman_status_request(xml, a->url, strbuf_str(&id));
	strbuf_release(&id);
}

/* POST xml; retry what never got an answer.  The answer into resp. */
static int post(struct amt *a, const char *xml, struct http_response *resp)
{
	struct http_request req = {
		.method = "POST", .url = a->url, .body = xml,
		.content_type = SOAP_CONTENT_TYPE, .digest = true,
	};
	int64_t backoff = 1000;
	int attempt, ret = 0;

	http_conn_request(&a->conn, &req);
	for (attempt = 0; attempt <= a->retries; attempt++) {
		if (attempt) {
			lab_info("AMT did not answer (%s); again in %lld ms (attempt %d of %lld)",
				 lab_errmsg(ret), (long long)backoff, attempt + 1,
				 (long long)a->retries + 1);
			lab_sleep_ms(backoff);
			backoff = backoff * 2 > AMT_MAX_BACKOFF_MS ?
				  AMT_MAX_BACKOFF_MS : backoff * 2;
		}
		ret = http_perform(&req, resp);
		if (!ret)
			break;
	}
	if (ret)
		return ret;
	if (resp->status >= 200 && resp->status < 300)
		return 0;
	/* AMT sends faults with 400 or 500: say the fault, not the code. */
	if (strstr(strbuf_str(&resp->body), "Fault")) {
		int dummy;

		ret = wsman_parse_power_answer(strbuf_str(&resp->body), a->what,
					       &dummy);
		if (ret == -LAB_EINFRA)
			return ret;
	}
	return http_check_status(&req, resp);
}

static int request_state(struct power_dev *dev, int power_state)
{
	struct amt *a = dev->priv;
	struct strbuf xml = STRBUF_INIT;
	struct http_response resp = { 0 };
	int rv, ret;

	envelope(a, power_state, &xml);
	ret = post(a, strbuf_str(&xml), &resp);
	if (!ret)
		ret = wsman_parse_power_answer(strbuf_str(&resp.body), a->what, &rv);
	if (!ret && rv != 0)
		ret = lab_err(LAB_EINFRA,
			      "%s refused PowerState %d (%s): ReturnValue %d (%s)",
			      a->what, power_state,
			      wsman_power_state_name(power_state), rv,
			      wsman_return_value_name(rv));
	http_response_release(&resp);
	strbuf_release(&xml);
	return ret;
}

static int amt_status(struct power_dev *dev, enum power_state *state)
{
	struct amt *a = dev->priv;
	struct strbuf xml = STRBUF_INIT;
	struct http_response resp = { 0 };
	int ps, ret;

	*state = POWER_UNKNOWN;
	envelope(a, 0, &xml);
	ret = post(a, strbuf_str(&xml), &resp);
	if (!ret)
		ret = wsman_parse_status_answer(strbuf_str(&resp.body), a->what,
						&ps);
	if (!ret) {
		switch (ps) {
		case WSMAN_ON:
			*state = POWER_ON;
			break;
		case WSMAN_SLEEP_LIGHT: case WSMAN_SLEEP_DEEP:
		case WSMAN_OFF_HARD: case WSMAN_HIBERNATE: case WSMAN_OFF:
		case WSMAN_CYCLE_HARD: case 12: case 13:
			*state = POWER_OFF;
			break;
		default:
			ret = lab_err(LAB_EINFRA, "%s says PowerState %d (%s): neither on nor off",
				      a->what, ps, wsman_power_state_name(ps));
		}
	}
	http_response_release(&resp);
	strbuf_release(&xml);
	return ret;
}

static int amt_on(struct power_dev *dev)
{
	return request_state(dev, WSMAN_ON);
}

static int amt_off(struct power_dev *dev)
{
	return request_state(dev, WSMAN_OFF);
}

/* cycle and reset: only a machine that is on; one that is not: on. */
static int restart(struct power_dev *dev, int power_state)
{
	enum power_state st;
	int ret = amt_status(dev, &st);

	if (ret)
		return ret;
	if (st != POWER_ON) {
		lab_info("AMT: the machine is off: powering it on instead of PowerState %d",
			 power_state);
		return request_state(dev, WSMAN_ON);
	}
	return request_state(dev, power_state);
}

static int amt_cycle(struct power_dev *dev)
{
	return restart(dev, WSMAN_CYCLE);
}

static int amt_reset(struct power_dev *dev)
{
	return restart(dev, WSMAN_RESET);
}

static void describe_post(struct amt *a, const char *prefix, int power_state,
			  struct strbuf *out)
{
	struct strbuf xml = STRBUF_INIT;

	envelope(a, power_state, &xml);
	strbuf_addf(out, "%sPOST %s %s\n", prefix, a->url, strbuf_str(&xml));
	strbuf_release(&xml);
}

static int amt_describe(struct power_dev *dev, const char *action,
			struct strbuf *out)
{
	struct amt *a = dev->priv;
	int ps;

	if (!strcmp(action, "on")) {
		describe_post(a, "", WSMAN_ON, out);
	} else if (!strcmp(action, "off")) {
		describe_post(a, "", WSMAN_OFF, out);
	} else if (!strcmp(action, "status")) {
		describe_post(a, "", 0, out);
	} else if (!strcmp(action, "cycle") || !strcmp(action, "reset")) {
		ps = !strcmp(action, "cycle") ? WSMAN_CYCLE : WSMAN_RESET;
		describe_post(a, "", 0, out);
		describe_post(a, "if PowerState is 2: ", ps, out);
		describe_post(a, "else: ", WSMAN_ON, out);
	} else {
		return lab_err(LAB_ECONFIG,
			       "power driver amt cannot %s (AMT has no power button to press)",
			       action);
	}
	return 0;
}

static void amt_close(struct power_dev *dev)
{
	struct amt *a = dev->priv;

	if (!a)
		return;
	http_conn_close(&a->conn);
	free(a->url);
	free(a->what);
	free(a);
	dev->priv = NULL;
}

static int amt_open(struct power_dev *dev, const struct power_config *cfg)
{
	struct amt *a = xzalloc(sizeof(*a));
	const char *host = power_param(dev, "host");
	int64_t port = AMT_DEFAULT_PORT;
	bool v6;
	int ret;

	(void)cfg;
	dev->priv = a;
	a->retries = AMT_DEFAULT_RETRIES;
	if (!host || !*host) {
		ret = lab_err(LAB_ECONFIG,
			      "power driver amt needs host = the AMT machine's address in [power]");
		goto fail;
	}
	if (strpbrk(host, "/?#@[] ")) {
		ret = lab_err(LAB_ECONFIG,
			      "power driver amt: host = %s: want a host name or address, not a URL",
			      host);
		goto fail;
	}
	if ((ret = http_param_int(dev, "port", 1, 65535, &port)) ||
	    (ret = http_param_int(dev, "retries", 0, 10, &a->retries)))
		goto fail;
	ret = http_conn_open(&a->conn, dev, "amt", AMT_PASSWORD_ENV, "admin",
			     AMT_DEFAULT_TIMEOUT_MS);
	if (ret)
		goto fail;
	v6 = strchr(host, ':') != NULL;
	a->url = xasprintf("%s://%s%s%s:%lld/wsman",
			   port == AMT_TLS_PORT ? "https" : "http",
			   v6 ? "[" : "", host, v6 ? "]" : "", (long long)port);
	a->what = xasprintf("AMT at %s", a->url);
	return 0;
fail:
	amt_close(dev);
	return ret;
}

/* The keys this driver takes in a lab file's [power] section, declared once
 * here: labctl/labconf.c checks and shows them from this table. */
static const struct lab_key_def amt_lab_keys[] = {
	{ "power", "timeout", KEY_DURATION, "30s", NULL, 0, 0, NULL,
	  "how long one power command (cmd, ipmitool) may run before it is killed; http, amt: one HTTP request, connecting included (default 10s)" },
	{ "power", "port", KEY_INT, NULL, NULL, 0, 65535, NULL,
	  "outlet number (http) or TCP port (ipmi, amt, ssh: default board.ssh_port)" },
	{ "power", "host", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "management controller address (ssh: the board, default board.host)" },
	{ "power", "user", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "management user name (amt: admin; http: basic auth, none by default)" },
	{ "power", "password_file", KEY_SECRET_FILE, NULL, NULL, 0, 0, NULL,
	  "file (mode 0600) holding the password; or the environment" },
	{ "power", "tls_verify", KEY_BOOL, "yes", NULL, 0, 0, NULL,
	  "verify TLS certificates" },
	{ "power", "retries", KEY_INT, "2", NULL, 0, 10, NULL,
	  "AMT: send a request that got no answer again this often (its network wakes slowly), after 1, 2, 4... s" },
	{ NULL, NULL, 0, NULL, NULL, 0, 0, NULL, NULL }
};

const struct power_driver power_driver_amt = {
	.name = "amt",
	.description = "Intel AMT power control over WS-Management (HTTP digest)",
	.caps = POWER_CAP_ON | POWER_CAP_OFF | POWER_CAP_CYCLE |
		POWER_CAP_RESET | POWER_CAP_STATUS,
	.keys = amt_keys,
	.lab_keys = amt_lab_keys,
	.open = amt_open,
	.close = amt_close,
	.on = amt_on,
	.off = amt_off,
	.cycle = amt_cycle,
	.reset = amt_reset,
	.status = amt_status,
	.describe = amt_describe,
};
