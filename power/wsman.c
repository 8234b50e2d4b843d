// SPDX-License-Identifier: MIT
/*
 * WS-Management messages for Intel AMT power control (see wsman.h).
 * The envelopes follow what AMT 6 and later accept from wsmancli and
 * Ironic's AMT driver: SOAP 1.2, WS-Addressing 2004/08, wsman.xsd.
 * Requests are libxml2 trees and answers are read with libxml2's parser
 * and XPath, so escaping and namespaces are the library's.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "lib/err.h"
#include "lib/escape.h"
#include "lib/strbuf.h"
#include "power/wsman.h"

#define NS_SOAP "http://www.w3.org/2003/05/soap-envelope"
#define NS_WSA "http://schemas.xmlsoap.org/ws/2004/08/addressing"
#define NS_WSMAN "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
#define ANONYMOUS NS_WSA "/role/anonymous"
#define ACTION_GET "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"

/* libxml2 takes and gives unsigned char strings. */
#define X(s) ((const xmlChar *)(s))

/* The namespaces of an envelope: the SOAP one first, it is the root's. */
struct envelope {
	xmlDocPtr doc;
	xmlNodePtr root;
	xmlNsPtr s, wsa, wsman, n1;
};

static xmlNodePtr child(xmlNodePtr parent, xmlNsPtr ns, const char *name,
			const char *text)
{
	return xmlNewTextChild(parent, ns, X(name), X(text));
}

/* A header element AMT must understand. */
static void must_understand(struct envelope *e, xmlNodePtr header,
			    xmlNsPtr ns, const char *name, const char *text)
{
	xmlNewNsProp(child(header, ns, name, text), e->s, X("mustUnderstand"),
		     X("true"));
}

/* A SelectorSet with one Selector Name="Name". */
static void selector(xmlNodePtr parent, struct envelope *e, const char *name)
{
	xmlNodePtr set = child(parent, e->wsman, "SelectorSet", NULL);

	xmlNewProp(child(set, e->wsman, "Selector", name), X("Name"), X("Name"));
}

/* Envelope and the addressing header; *header for what follows. */
static void start_envelope(struct envelope *e, const char *extra_ns,
			   const char *action, const char *to,
			   const char *resource, const char *message_id,
			   xmlNodePtr *header)
{
	xmlNodePtr reply;

	e->doc = xmlNewDoc(X("1.0"));
	e->root = xmlNewDocNode(e->doc, NULL, X("Envelope"), NULL);
	xmlDocSetRootElement(e->doc, e->root);
	e->s = xmlNewNs(e->root, X(NS_SOAP), X("s"));
	xmlSetNs(e->root, e->s);
	e->wsa = xmlNewNs(e->root, X(NS_WSA), X("wsa"));
	e->wsman = xmlNewNs(e->root, X(NS_WSMAN), X("wsman"));
	e->n1 = extra_ns ? xmlNewNs(e->root, X(extra_ns), X("n1")) : NULL;
	*header = child(e->root, e->s, "Header", NULL);
	must_understand(e, *header, e->wsa, "Action", action);
	must_understand(e, *header, e->wsa, "To", to);
	must_understand(e, *header, e->wsman, "ResourceURI", resource);
	must_understand(e, *header, e->wsa, "MessageID", message_id);
	reply = child(*header, e->wsa, "ReplyTo", NULL);
	child(reply, e->wsa, "Address", ANONYMOUS);
	child(*header, e->wsman, "OperationTimeout", "PT60S");
}

/*
 * The envelope as one line after the XML declaration: the root element
 * alone, unformatted, so --dry-run shows each request as it is sent.
 */
static void finish_envelope(struct envelope *e, struct strbuf *out)
{
	xmlBufferPtr buf = xmlBufferCreate();

	xmlNodeDump(buf, e->doc, e->root, 0, 0);
	strbuf_addstr(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
	strbuf_add(out, xmlBufferContent(buf), (size_t)xmlBufferLength(buf));
	xmlBufferFree(buf);
	xmlFreeDoc(e->doc);
}

void wsman_power_request(struct strbuf *out, const char *to,
			 const char *message_id, int power_state)
{
	struct envelope e;
	xmlNodePtr header, input, element, refs;
	char state[16];

	start_envelope(&e, WSMAN_POWER_SERVICE,
		       WSMAN_POWER_SERVICE "/RequestPowerStateChange", to,
		       WSMAN_POWER_SERVICE, message_id, &header);
	selector(header, &e, "Intel(r) AMT Power Management Service");
	input = child(child(e.root, e.s, "Body", NULL), e.n1,
		      "RequestPowerStateChange_INPUT", NULL);
	snprintf(state, sizeof(state), "%d", power_state);
	child(input, e.n1, "PowerState", state);
	element = child(input, e.n1, "ManagedElement", NULL);
	child(element, e.wsa, "Address", ANONYMOUS);
	refs = child(element, e.wsa, "ReferenceParameters", NULL);
	child(refs, e.wsman, "ResourceURI", WSMAN_CIM "CIM_ComputerSystem");
	selector(refs, &e, "ManagedSystem");
	finish_envelope(&e, out);
}

void wsman_status_request(struct strbuf *out, const char *to,
			  const char *message_id)
{
	struct envelope e;
	xmlNodePtr header;

	start_envelope(&e, NULL, ACTION_GET, to, WSMAN_ASSOC_POWER, message_id,
		       &header);
	child(e.root, e.s, "Body", NULL);
	finish_envelope(&e, out);
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

/* The first line of a peer's answer, escaped, for a message. */
static char *first_line(const char *s)
{
	size_t n = strcspn(s, "\r\n");

	return lab_escape(s, n > 120 ? 120 : n);
}

/*
 * The answer as a well-formed document whose root is a SOAP 1.2 Envelope,
 * or NULL.  No network, no entities substituted, no DTD read, and
 * libxml2's own messages silenced: the caller says what was wrong.  A
 * document type declaration is refused, as SOAP 1.2 refuses it: no
 * entity a peer declares is ever expanded when the text is read.  A
 * prefix never declared is tolerated (some firmware leaves one in a part
 * labctl does not read); the elements read are found by namespace.
 */
static xmlDocPtr read_envelope(const char *xml)
{
	xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
	xmlDocPtr doc = NULL;
	xmlNodePtr root;

	if (!ctxt)
		return NULL;
	doc = xmlCtxtReadMemory(ctxt, xml, (int)strnlen(xml, INT_MAX), NULL,
				NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
				XML_PARSE_NOWARNING);
	if (doc && (!ctxt->wellFormed || doc->intSubset || doc->extSubset)) {
		xmlFreeDoc(doc);
		doc = NULL;
	}
	xmlFreeParserCtxt(ctxt);
	root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (doc && !(root && root->ns && xmlStrEqual(root->ns->href, X(NS_SOAP)) &&
		     xmlStrEqual(root->name, X("Envelope")))) {
		xmlFreeDoc(doc);
		doc = NULL;
	}
	return doc;
}

/* The first node at path (prefixes s: SOAP, p: the answer's), or NULL. */
static xmlNodePtr first_node(xmlXPathContextPtr xp, const char *path)
{
	xmlXPathObjectPtr res = xmlXPathEvalExpression(X(path), xp);
	xmlNodePtr node = NULL;

	if (res && res->nodesetval && res->nodesetval->nodeNr > 0)
		node = res->nodesetval->nodeTab[0];
	xmlXPathFreeObject(res);
	return node;
}

/* The text at path, surrounding white space trimmed.  0, or -1: no node. */
static int path_text(xmlXPathContextPtr xp, const char *path,
		     struct strbuf *out)
{
	xmlNodePtr node = first_node(xp, path);
	xmlChar *text;
	const char *s;
	size_t n;

	if (!node)
		return -1;
	text = xmlNodeGetContent(node);
	s = text ? (const char *)text : "";
	s += strspn(s, " \t\r\n");
	n = strlen(s);
	while (n && strchr(" \t\r\n", s[n - 1]))
		n--;
	strbuf_add(out, s, n);
	xmlFree(text);
	return 0;
}

/* A SOAP Fault in the Body: -LAB_EINFRA with its subcode and reason. */
static int fault(xmlXPathContextPtr xp, const char *what)
{
	struct strbuf c = STRBUF_INIT, r = STRBUF_INIT;
	char *code_text, *reason_text;
	int ret;

	if (!first_node(xp, "/s:Envelope/s:Body/s:Fault"))
		return 0;
	if (path_text(xp, "/s:Envelope/s:Body/s:Fault/s:Code/s:Subcode/s:Value", &c))
		path_text(xp, "/s:Envelope/s:Body/s:Fault/s:Code/s:Value", &c);
	path_text(xp, "/s:Envelope/s:Body/s:Fault/s:Reason/s:Text", &r);
	code_text = lab_escape(c.buf, c.len);
	reason_text = lab_escape(r.buf, r.len);
	ret = lab_err(LAB_EINFRA, "%s answered a SOAP fault: %s%s%s",
		      what, c.len ? code_text : "(no code)",
		      r.len ? ": " : "", reason_text);
	free(code_text);
	free(reason_text);
	strbuf_release(&c);
	strbuf_release(&r);
	return ret;
}

/*
 * The number at Body/p:class/p:field, p the namespace ns, after checking
 * for a fault.  An answer that is not what AMT sends is the lab's
 * problem (-LAB_EINFRA): the user's configuration cannot fix it.
 */
static int body_number(const char *xml, const char *what, const char *ns,
		       const char *class, const char *field, int *value)
{
	struct strbuf t = STRBUF_INIT, path = STRBUF_INIT;
	xmlXPathContextPtr xp = NULL;
	xmlDocPtr doc = read_envelope(xml);
	char *text, *end;
	long v;
	int ret;

	if (doc)
		xp = xmlXPathNewContext(doc);
	if (!xp || xmlXPathRegisterNs(xp, X("s"), X(NS_SOAP)) ||
	    xmlXPathRegisterNs(xp, X("p"), X(ns)) ||
	    !first_node(xp, "/s:Envelope/s:Body")) {
		text = first_line(xml);
		ret = lab_err(LAB_EINFRA,
			      "%s answered something that is not a SOAP envelope: '%s'",
			      what, text);
		free(text);
		goto out;
	}
	ret = fault(xp, what);
	if (ret)
		goto out;
	strbuf_addf(&path, "/s:Envelope/s:Body/p:%s/p:%s", class, field);
	if (path_text(xp, strbuf_str(&path), &t)) {
		text = first_line(xml);
		ret = lab_err(LAB_EINFRA, "%s answered without %s/%s: '%s'",
			      what, class, field, text);
		free(text);
		goto out;
	}
	v = strtol(strbuf_str(&t), &end, 10);
	if (!t.len || *end || v < 0 || v > 65535) {
		text = lab_escape(t.buf, t.len);
		ret = lab_err(LAB_EINFRA, "%s answered %s/%s '%s', not a number",
			      what, class, field, text);
		free(text);
		goto out;
	}
	*value = (int)v;
out:
	strbuf_release(&t);
	strbuf_release(&path);
	xmlXPathFreeContext(xp);
	xmlFreeDoc(doc);
	return ret;
}

int wsman_parse_power_answer(const char *xml, const char *what,
			     int *return_value)
{
	return body_number(xml, what, WSMAN_POWER_SERVICE,
			   "RequestPowerStateChange_OUTPUT", "ReturnValue",
			   return_value);
}

int wsman_parse_status_answer(const char *xml, const char *what,
			      int *power_state)
{
	return body_number(xml, what, WSMAN_ASSOC_POWER,
			   "CIM_AssociatedPowerManagementService", "PowerState",
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
