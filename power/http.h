/* SPDX-License-Identifier: MIT */
/*
 * power/http's requests, as pure functions (for tests/unit): which
 * method, URL and body each flavor sends for an action, and how it reads
 * the answer.  See power/http.c for the flavors and their keys.
 */
#ifndef POWER_HTTP_H
#define POWER_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/strbuf.h"
#include "power/power.h"

enum http_flavor {
	HTTP_PDUDAEMON,
	HTTP_RTE,
	HTTP_TASMOTA,
	HTTP_SHELLY,
	HTTP_GENERIC,
	HTTP_NFLAVORS
};

enum http_action {
	HTTP_ON,
	HTTP_OFF,
	HTTP_CYCLE,
	HTTP_RESET,
	HTTP_STATUS,
	HTTP_PRESS,
	HTTP_PRESS_LONG,
	HTTP_NACTIONS
};

/* What a flavor's requests are made of (the lab's [power] keys). */
struct http_target {
	enum http_flavor flavor;
	const char *url;		/* base URL, no query */
	const char *pdu;		/* pdudaemon: the PDU's name */
	int64_t port;			/* pdudaemon: the outlet */
	int64_t channel;		/* tasmota, shelly: the relay (1-based) */
	bool button;			/* rte: on/off by power button pulses */
	int64_t off_time_ms;		/* pdudaemon reboot delay, shelly timer */
	/* generic: "[METHOD ]PATH[ BODY]" per action (NULL: none) */
	const char *generic[HTTP_NACTIONS];
	/* tasmota: its web password goes in the POST body (NULL: GET) */
	const char *user;
	const char *password;
};

/* One request an action sends. */
struct http_call {
	const char *method;
	struct strbuf url;
	struct strbuf body;		/* empty: none */
	const char *content_type;
	int64_t wait_ms;		/* then wait: a pulse or timer runs */
};

/* "pdudaemon"... and back; -1 for an unknown name. */
const char *http_flavor_name(enum http_flavor f);
int http_flavor_parse(const char *name);

/*
 * The request for action into call (initialised and released by the
 * caller with http_call_release).  0; 1 when the flavor has no request
 * of its own for it (cycle: off, wait, on; reset: cycle; status:
 * unknown); -LAB_ECONFIG when it cannot do it at all (a press on a PDU).
 * redact: "password=***" instead of the real one (for --dry-run).
 */
int http_build(const struct http_target *t, enum http_action action,
	       bool redact, struct http_call *call);
void http_call_release(struct http_call *call);

/*
 * Read the answer to action: for HTTP_STATUS *state; for on and off,
 * whether the device says it did it (tasmota POWER, shelly ison).
 * generic: status_on and status_off are extended regexes (NULL: none).
 * 0, or -LAB_EINFRA naming what (e.g. "tasmota at URL") and the answer.
 */
int http_parse_answer(const struct http_target *t, enum http_action action,
		      const char *body, const char *status_on,
		      const char *status_off, const char *what,
		      enum power_state *state);

#endif
