// SPDX-License-Identifier: MIT
/*
 * WS-Management messages for Intel AMT power control (see wsman.h).
 * The envelopes follow what AMT 6 and later accept from wsmancli and
 * Ironic's AMT driver: SOAP 1.2, WS-Addressing 2004/08, wsman.xsd.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/escape.h"
#include "lib/strbuf.h"
#include "power/wsman.h"

#define NS_SOAP "http://www.w3.org/2003/05/soap-envelope"
#define NS_WSA "http://schemas.xmlsoap.org/ws/2004/08/addressing"
#define NS_WSMAN "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
#define ANONYMOUS NS_WSA "/role/anonymous"
#define ACTION_GET "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"

static void add_xml_text(struct strbuf *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': strbuf_addstr(out, "&amp;"); break;
		case '<': strbuf_addstr(out, "&lt;"); break;
		case '>': strbuf_addstr(out, "&gt;"); break;
		case '"': strbuf_addstr(out, "&quot;"); break;
		default: strbuf_addch(out, *s); break;
		}
	}
}

/* Envelope start and the addressing header up to the ResourceURI. */
static void add_header(struct strbuf *out, const char *extra_ns,
		       const char *action, const char *to,
		       const char *resource, const char *message_id)
{
	strbuf_addstr(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
		      "<s:Envelope xmlns:s=\"" NS_SOAP "\" xmlns:wsa=\"" NS_WSA
		      "\" xmlns:wsman=\"" NS_WSMAN "\"");
	if (extra_ns)
		strbuf_addf(out, " xmlns:n1=\"%s\"", extra_ns);
	strbuf_addstr(out, "><s:Header><wsa:Action s:mustUnderstand=\"true\">");
	add_xml_text(out, action);
	strbuf_addstr(out, "</wsa:Action><wsa:To s:mustUnderstand=\"true\">");
	add_xml_text(out, to);
	strbuf_addstr(out, "</wsa:To><wsman:ResourceURI s:mustUnderstand=\"true\">");
	add_xml_text(out, resource);
	strbuf_addstr(out, "</wsman:ResourceURI><wsa:MessageID s:mustUnderstand=\"true\">");
	add_xml_text(out, message_id);
	strbuf_addstr(out, "</wsa:MessageID><wsa:ReplyTo><wsa:Address>" ANONYMOUS
		      "</wsa:Address></wsa:ReplyTo>"
		      "<wsman:OperationTimeout>PT60S</wsman:OperationTimeout>");
}

void wsman_power_request(struct strbuf *out, const char *to,
			 const char *message_id, int power_state)
{
	add_header(out, WSMAN_POWER_SERVICE,
		   WSMAN_POWER_SERVICE "/RequestPowerStateChange", to,
		   WSMAN_POWER_SERVICE, message_id);
	strbuf_addf(out, "<wsman:SelectorSet><wsman:Selector Name=\"Name\">"
		    "Intel(r) AMT Power Management Service</wsman:Selector>"
		    "</wsman:SelectorSet></s:Header><s:Body>"
		    "<n1:RequestPowerStateChange_INPUT>"
		    "<n1:PowerState>%d</n1:PowerState>"
		    "<n1:ManagedElement><wsa:Address>" ANONYMOUS "</wsa:Address>"
		    "<wsa:ReferenceParameters><wsman:ResourceURI>" WSMAN_CIM
		    "CIM_ComputerSystem</wsman:ResourceURI><wsman:SelectorSet>"
		    "<wsman:Selector Name=\"Name\">ManagedSystem</wsman:Selector>"
		    "</wsman:SelectorSet></wsa:ReferenceParameters>"
		    "</n1:ManagedElement></n1:RequestPowerStateChange_INPUT>"
		    "</s:Body></s:Envelope>", power_state);
}

void wsman_status_request(struct strbuf *out, const char *to,
			  const char *message_id)
{
	add_header(out, NULL, ACTION_GET, to, WSMAN_ASSOC_POWER, message_id);
	strbuf_addstr(out, "</s:Header><s:Body/></s:Envelope>");
}

void wsman_message_id(struct strbuf *out, const unsigned char rnd[16])
{
	unsigned char b[16];
	int i;

	memcpy(b, rnd, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);	/* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);	/* RFC 4122 variant */
	strbuf_addstr(out, "uuid:");
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			strbuf_addch(out, '-');
		strbuf_addf(out, "%02x", b[i]);
	}
}

/* Whether the tag name at p (after '<' or "</") has local part local. */
static size_t tag_name_len(const char *p, const char *end)
{
	const char *q = p;

	while (q < end && !strchr(" \t\r\n/>", *q))
		q++;
	return (size_t)(q - p);
}

static int local_is(const char *name, size_t n, const char *local)
{
	const char *colon = memchr(name, ':', n);
	size_t ln = strlen(local);

	if (colon) {
		n -= (size_t)(colon + 1 - name);
		name = colon + 1;
	}
	return n == ln && !memcmp(name, local, n);
}

int wsman_find_element(const char *xml, size_t len, const char *local,
		       const char **content, size_t *clen)
{
	const char *end = xml + len, *p = xml;

	while ((p = memchr(p, '<', (size_t)(end - p)))) {
		const char *name = p + 1, *gt, *q;
		size_t n;
		int depth;

		if (name >= end)
			break;
		if (*name == '/' || *name == '?' || *name == '!') {
			p = name;
			continue;
		}
		n = tag_name_len(name, end);
		gt = memchr(name, '>', (size_t)(end - name));
		if (!gt)
			return -1;
		if (!n || !local_is(name, n, local)) {
			p = gt;
			continue;
		}
		if (gt[-1] == '/') {	/* <x/>: empty */
			*content = gt;
			*clen = 0;
			return 0;
		}
		/* The matching end tag with the same qualified name. */
		depth = 1;
		for (q = gt + 1; (q = memchr(q, '<', (size_t)(end - q))); q++) {
			const char *qn = q + 1 + (q + 1 < end && q[1] == '/');
			size_t m = tag_name_len(qn, end);
			const char *qgt;

			if (m != n || memcmp(qn, name, n))
				continue;
			qgt = memchr(qn, '>', (size_t)(end - qn));
			if (!qgt)
				return -1;
			if (q[1] == '/') {
				if (--depth == 0) {
					*content = gt + 1;
					*clen = (size_t)(q - gt - 1);
					return 0;
				}
			} else if (qgt[-1] != '/') {
				depth++;
			}
		}
		return -1;
	}
	return -1;
}

/* Text content with the five XML entities decoded and spaces trimmed. */
static void add_text(struct strbuf *out, const char *s, size_t n)
{
	static const struct { const char *ent; char c; } ents[] = {
		{ "&lt;", '<' }, { "&gt;", '>' }, { "&amp;", '&' },
		{ "&quot;", '"' }, { "&apos;", '\'' },
	};
	size_t i, k;

	while (n && strchr(" \t\r\n", *s)) {
		s++;
		n--;
	}
	while (n && strchr(" \t\r\n", s[n - 1]))
		n--;
	for (i = 0; i < n; i++) {
		for (k = 0; k < sizeof(ents) / sizeof(ents[0]); k++) {
			size_t el = strlen(ents[k].ent);

			if (n - i >= el && !memcmp(s + i, ents[k].ent, el)) {
				strbuf_addch(out, ents[k].c);
				i += el - 1;
				break;
			}
		}
		if (k == sizeof(ents) / sizeof(ents[0]))
			strbuf_addch(out, s[i]);
	}
}

/* The text of a path of elements, e.g. {"Subcode", "Value"}. */
static int find_text(const char *xml, size_t len, const char *const *path,
		     int n, struct strbuf *out)
{
	int i;

	for (i = 0; i < n; i++)
		if (wsman_find_element(xml, len, path[i], &xml, &len))
			return -1;
	add_text(out, xml, len);
	return 0;
}

/* A SOAP Fault in body: -LAB_EINFRA with its subcode and reason. */
static int fault(const char *body, size_t blen, const char *what)
{
	static const char *const subcode[] = { "Subcode", "Value" };
	static const char *const code[] = { "Code", "Value" };
	static const char *const reason[] = { "Reason", "Text" };
	struct strbuf c = STRBUF_INIT, r = STRBUF_INIT;
	const char *f;
	size_t flen;
	int ret;

	if (wsman_find_element(body, blen, "Fault", &f, &flen))
		return 0;
	if (find_text(f, flen, subcode, 2, &c))
		find_text(f, flen, code, 2, &c);
	find_text(f, flen, reason, 2, &r);
	{
		char *code_text = lab_escape(c.buf, c.len);
		char *reason_text = lab_escape(r.buf, r.len);

		ret = lab_err(LAB_EINFRA, "%s answered a SOAP fault: %s%s%s",
			      what, c.len ? code_text : "(no code)",
			      r.len ? ": " : "", reason_text);
		free(code_text);
		free(reason_text);
	}
	strbuf_release(&c);
	strbuf_release(&r);
	return ret;
}

/* The first line of a peer's answer, escaped, for a message. */
static char *first_line(const char *s)
{
	size_t n = strcspn(s, "\r\n");

	return lab_escape(s, n > 120 ? 120 : n);
}

/*
 * The number in element path of the Body, after checking for a fault.  An
 * answer that is not what AMT sends is the lab's problem (-LAB_EINFRA):
 * the user's configuration cannot fix it.
 */
static int body_number(const char *xml, const char *what,
		       const char *const *path, int n, const char *expect,
		       int *value)
{
	struct strbuf t = STRBUF_INIT;
	const char *body;
	char *text;
	size_t blen;
	char *end;
	long v;
	int ret;

	if (wsman_find_element(xml, strlen(xml), "Body", &body, &blen)) {
		text = first_line(xml);
		ret = lab_err(LAB_EINFRA,
			      "%s answered something that is not a SOAP envelope: '%s'",
			      what, text);
		free(text);
		return ret;
	}
	ret = fault(body, blen, what);
	if (ret)
		return ret;
	if (find_text(body, blen, path, n, &t)) {
		text = first_line(xml);
		ret = lab_err(LAB_EINFRA, "%s answered without %s: '%s'",
			      what, expect, text);
		free(text);
		strbuf_release(&t);
		return ret;
	}
	v = strtol(strbuf_str(&t), &end, 10);
	if (!t.len || *end || v < 0 || v > 65535) {
		text = lab_escape(t.buf, t.len);
		ret = lab_err(LAB_EINFRA, "%s answered %s '%s', not a number",
			      what, expect, text);
		free(text);
		strbuf_release(&t);
		return ret;
	}
	strbuf_release(&t);
	*value = (int)v;
	return 0;
}

int wsman_parse_power_answer(const char *xml, const char *what,
			     int *return_value)
{
	static const char *const path[] = {
		"RequestPowerStateChange_OUTPUT", "ReturnValue"
	};

	return body_number(xml, what, path, 2,
			   "RequestPowerStateChange_OUTPUT/ReturnValue",
			   return_value);
}

int wsman_parse_status_answer(const char *xml, const char *what,
			      int *power_state)
{
	static const char *const path[] = {
		"CIM_AssociatedPowerManagementService", "PowerState"
	};

	return body_number(xml, what, path, 2,
			   "CIM_AssociatedPowerManagementService/PowerState",
			   power_state);
}

const char *wsman_return_value_name(int rv)
{
	switch (rv) {
	case 0: return "Completed with No Error";
	case 1: return "Not Supported";
	case 2: return "Unknown or Unspecified Error";
	case 3: return "Cannot complete within Timeout Period";
	case 4: return "Failed";
	case 5: return "Invalid Parameter";
	case 6: return "In Use";
	case 4096: return "Method Parameters Checked - Job Started";
	case 4097: return "Invalid State Transition";
	case 4098: return "Use of Timeout Parameter Not Supported";
	case 4099: return "Busy";
	default: return "unknown return value";
	}
}

const char *wsman_power_state_name(int ps)
{
	static const char *const names[] = {
		[1] = "Other", [2] = "On", [3] = "Sleep - Light",
		[4] = "Sleep - Deep", [5] = "Power Cycle (Off - Soft)",
		[6] = "Off - Hard", [7] = "Hibernate (Off - Soft)",
		[8] = "Off - Soft", [9] = "Power Cycle (Off - Hard)",
		[10] = "Master Bus Reset", [11] = "Diagnostic Interrupt (NMI)",
		[12] = "Off - Soft Graceful", [13] = "Off - Hard Graceful",
		[14] = "Master Bus Reset Graceful",
		[15] = "Power Cycle (Off - Soft Graceful)",
		[16] = "Power Cycle (Off - Hard Graceful)",
	};

	if (ps > 0 && ps < (int)(sizeof(names) / sizeof(names[0])))
		return names[ps];
	return "unknown power state";
}
