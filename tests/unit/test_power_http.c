// SPDX-License-Identifier: MIT
/*
 * power/wsman.c (the AMT WS-Management messages and answers), power/http.c's
 * requests per flavor and answers, power/curl.c's pure helpers, and the
 * http and amt drivers' configuration checks and --dry-run descriptions.
 * No network: tests/t/66-power-http.t talks to real servers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "lib/err.h"
#include "lib/strbuf.h"
#include "power/curl.h"
#include "power/http.h"
#include "power/power.h"
#include "power/wsman.h"

#define TO "http://amt.example:16992/wsman"
#define MID "uuid:00000000-0000-4000-8000-000000000000"

/* ---- WS-Man requests ---- */

static void test_wsman_power_request_exact(void **state)
{
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	wsman_power_request(&sb, TO, MID, 2);
	assert_string_equal(strbuf_str(&sb),
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
		"<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\""
		" xmlns:wsa=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\""
		" xmlns:wsman=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\""
		" xmlns:n1=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_PowerManagementService\">"
		"<s:Header>"
		"<wsa:Action s:mustUnderstand=\"true\">http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_PowerManagementService/RequestPowerStateChange</wsa:Action>"
		"<wsa:To s:mustUnderstand=\"true\">http://amt.example:16992/wsman</wsa:To>"
		"<wsman:ResourceURI s:mustUnderstand=\"true\">http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_PowerManagementService</wsman:ResourceURI>"
		"<wsa:MessageID s:mustUnderstand=\"true\">uuid:00000000-0000-4000-8000-000000000000</wsa:MessageID>"
		"<wsa:ReplyTo><wsa:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address></wsa:ReplyTo>"
		"<wsman:OperationTimeout>PT60S</wsman:OperationTimeout>"
		"<wsman:SelectorSet><wsman:Selector Name=\"Name\">Intel(r) AMT Power Management Service</wsman:Selector></wsman:SelectorSet>"
		"</s:Header><s:Body>"
		"<n1:RequestPowerStateChange_INPUT>"
		"<n1:PowerState>2</n1:PowerState>"
		"<n1:ManagedElement>"
		"<wsa:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address>"
		"<wsa:ReferenceParameters>"
		"<wsman:ResourceURI>http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ComputerSystem</wsman:ResourceURI>"
		"<wsman:SelectorSet><wsman:Selector Name=\"Name\">ManagedSystem</wsman:Selector></wsman:SelectorSet>"
		"</wsa:ReferenceParameters></n1:ManagedElement>"
		"</n1:RequestPowerStateChange_INPUT></s:Body></s:Envelope>");
	strbuf_release(&sb);
}

static void test_wsman_power_request_states(void **state)
{
	static const int states[] = { 2, 8, 5, 10 };
	struct strbuf sb = STRBUF_INIT, want = STRBUF_INIT;
	xmlXPathContextPtr xp;
	xmlXPathObjectPtr n;
	xmlDocPtr doc;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		strbuf_reset(&sb);
		strbuf_reset(&want);
		wsman_power_request(&sb, TO, MID, states[i]);
		strbuf_addf(&want, "<n1:PowerState>%d</n1:PowerState>", states[i]);
		assert_contains(strbuf_str(&sb), strbuf_str(&want));
		/* One line, one envelope, the value found by a reader too. */
		assert_null(strchr(strbuf_str(&sb), '\n'));
		doc = xmlReadMemory(sb.buf, (int)sb.len, NULL, NULL,
				    XML_PARSE_NONET | XML_PARSE_NOERROR);
		assert_non_null(doc);
		xp = xmlXPathNewContext(doc);
		xmlXPathRegisterNs(xp, (const xmlChar *)"s",
				   (const xmlChar *)"http://www.w3.org/2003/05/soap-envelope");
		xmlXPathRegisterNs(xp, (const xmlChar *)"n1",
				   (const xmlChar *)WSMAN_POWER_SERVICE);
		n = xmlXPathEvalExpression((const xmlChar *)
			"number(/s:Envelope/s:Body/n1:RequestPowerStateChange_INPUT/n1:PowerState)",
			xp);
		assert_non_null(n);
		assert_int_equal((int)n->floatval, states[i]);
		xmlXPathFreeObject(n);
		xmlXPathFreeContext(xp);
		xmlFreeDoc(doc);
	}
	strbuf_release(&sb);
	strbuf_release(&want);
}

static void test_wsman_status_request(void **state)
{
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	wsman_status_request(&sb, "http://a&b:16992/wsman", MID);
	assert_contains(strbuf_str(&sb),
			"<wsa:Action s:mustUnderstand=\"true\">http://schemas.xmlsoap.org/ws/2004/09/transfer/Get</wsa:Action>");
	assert_contains(strbuf_str(&sb),
			"<wsman:ResourceURI s:mustUnderstand=\"true\">http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_AssociatedPowerManagementService</wsman:ResourceURI>");
	/* The To URL is escaped as XML text. */
	assert_contains(strbuf_str(&sb), "<wsa:To s:mustUnderstand=\"true\">http://a&amp;b:16992/wsman</wsa:To>");
	assert_contains(strbuf_str(&sb), "</s:Header><s:Body/></s:Envelope>");
	assert_null(strstr(strbuf_str(&sb), "SelectorSet"));
	strbuf_release(&sb);
}

static void test_wsman_message_id(void **state)
{
	unsigned char rnd[16];
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	memset(rnd, 0xff, sizeof(rnd));
	wsman_message_id(&sb, rnd);
	assert_string_equal(strbuf_str(&sb),
			    "uuid:ffffffff-ffff-4fff-bfff-ffffffffffff");
	strbuf_reset(&sb);
	memset(rnd, 0, sizeof(rnd));
	wsman_message_id(&sb, rnd);
	assert_string_equal(strbuf_str(&sb),
			    "uuid:00000000-0000-4000-8000-000000000000");
	strbuf_release(&sb);
}

/* ---- WS-Man answers ---- */

#define ENV_START \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
	"<a:Envelope xmlns:a=\"http://www.w3.org/2003/05/soap-envelope\" " \
	"xmlns:b=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" " \
	"xmlns:c=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\" " \
	"xmlns:g=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_PowerManagementService\">\n" \
	"<a:Header><b:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</b:To>" \
	"<b:RelatesTo>uuid:1</b:RelatesTo><b:MessageID>uuid:00000000-8086-8086-8086-000000000001</b:MessageID>" \
	"</a:Header>\n"

static const char answer_ok[] = ENV_START
	"<a:Body><g:RequestPowerStateChange_OUTPUT>\n"
	"  <g:ReturnValue>0</g:ReturnValue>\n"
	"</g:RequestPowerStateChange_OUTPUT></a:Body></a:Envelope>";

static const char answer_rv2[] = ENV_START
	"<a:Body><g:RequestPowerStateChange_OUTPUT><g:ReturnValue>2</g:ReturnValue>"
	"</g:RequestPowerStateChange_OUTPUT></a:Body></a:Envelope>";

static const char answer_fault[] = ENV_START
	"<a:Body><a:Fault><a:Code><a:Value>a:Sender</a:Value>"
	"<a:Subcode><a:Value>b:DestinationUnreachable</a:Value></a:Subcode></a:Code>"
	"<a:Reason><a:Text xml:lang=\"en-US\">No route can be determined to reach the destination role defined by the WS-Addressing To &amp; more.</a:Text></a:Reason>"
	"<a:Detail></a:Detail></a:Fault></a:Body></a:Envelope>";

static void test_wsman_parse_return_value(void **state)
{
	int rv = -1;

	(void)state;
	assert_int_equal(wsman_parse_power_answer(answer_ok, "AMT x", &rv), 0);
	assert_int_equal(rv, 0);
	assert_int_equal(wsman_parse_power_answer(answer_rv2, "AMT x", &rv), 0);
	assert_int_equal(rv, 2);
	assert_string_equal(wsman_return_value_name(2),
			    "Unknown or Unspecified Error");
	assert_string_equal(wsman_return_value_name(4097),
			    "Invalid State Transition");
}

static void test_wsman_parse_fault(void **state)
{
	int rv = -1;

	(void)state;
	assert_int_equal(wsman_parse_power_answer(answer_fault, "AMT at h", &rv),
			 -LAB_EINFRA);
	assert_contains(lab_errmsg(-LAB_EINFRA), "AMT at h answered a SOAP fault");
	assert_contains(lab_errmsg(-LAB_EINFRA), "b:DestinationUnreachable");
	assert_contains(lab_errmsg(-LAB_EINFRA), "WS-Addressing To & more.");
	assert_int_equal(rv, -1);
	/* A fault answers a status request the same way. */
	assert_int_equal(wsman_parse_status_answer(answer_fault, "AMT at h", &rv),
			 -LAB_EINFRA);
}

static void test_wsman_parse_garbage(void **state)
{
	static const char *const bad[] = {
		"", "hello", "<html><body>404</body></html>",
		"<a:Envelope><a:Body><g:RequestPowerStateChange_OUTPUT><g:ReturnValue>0",
		ENV_START "<a:Body></a:Body></a:Envelope>",
		ENV_START "<a:Body><g:RequestPowerStateChange_OUTPUT><g:ReturnValue>zero</g:ReturnValue></g:RequestPowerStateChange_OUTPUT></a:Body></a:Envelope>",
		ENV_START "<a:Body><g:RequestPowerStateChange_OUTPUT><g:ReturnValue></g:ReturnValue></g:RequestPowerStateChange_OUTPUT></a:Body></a:Envelope>",
		ENV_START "<a:Body><g:ReturnValue>0</g:ReturnValue></a:Body></a:Envelope>",
		/* SOAP has no DTD: its entities are never expanded. */
		"<!DOCTYPE a:Envelope [<!ENTITY z \"0\">]>"
		"<a:Envelope xmlns:a=\"http://www.w3.org/2003/05/soap-envelope\""
		" xmlns:g=\"" WSMAN_POWER_SERVICE "\"><a:Body><g:RequestPowerStateChange_OUTPUT>"
		"<g:ReturnValue>&z;</g:ReturnValue></g:RequestPowerStateChange_OUTPUT>"
		"</a:Body></a:Envelope>",
	};
	size_t i;
	int rv;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rv = -1;
		/* An answer AMT would not send is the lab's problem: exit 3. */
		if (wsman_parse_power_answer(bad[i], "AMT at h", &rv) != -LAB_EINFRA)
			fail_msg("garbage #%zu was accepted (rv %d)", i, rv);
		assert_contains(lab_errmsg(-LAB_EINFRA), "AMT at h answered");
	}
}

static const char status_on[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	"<a:Envelope xmlns:a=\"http://www.w3.org/2003/05/soap-envelope\" "
	"xmlns:h=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_AssociatedPowerManagementService\">"
	"<a:Header/><a:Body><h:CIM_AssociatedPowerManagementService>"
	"<h:AvailableRequestedPowerStates>8</h:AvailableRequestedPowerStates>"
	"<h:AvailableRequestedPowerStates>10</h:AvailableRequestedPowerStates>"
	"<h:PowerState>2</h:PowerState>"
	"<h:ServiceProvided><b:Address>x</b:Address></h:ServiceProvided>"
	"</h:CIM_AssociatedPowerManagementService></a:Body></a:Envelope>";

static void test_wsman_parse_status(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p;
	int ps = -1;

	(void)state;
	assert_int_equal(wsman_parse_status_answer(status_on, "AMT", &ps), 0);
	assert_int_equal(ps, 2);
	/* Off, with other prefixes and no XML declaration. */
	strbuf_addstr(&sb, "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\">"
		      "<s:Body><p:CIM_AssociatedPowerManagementService"
		      " xmlns:p=\"" WSMAN_ASSOC_POWER "\">"
		      "<p:PowerState> 8 </p:PowerState>"
		      "</p:CIM_AssociatedPowerManagementService></s:Body></s:Envelope>");
	assert_int_equal(wsman_parse_status_answer(strbuf_str(&sb), "AMT", &ps), 0);
	assert_int_equal(ps, 8);
	assert_string_equal(wsman_power_state_name(8), "Off - Soft");
	assert_string_equal(wsman_power_state_name(2), "On");
	assert_string_equal(wsman_power_state_name(99), "unknown power state");
	/* A PowerState outside the association is not the answer. */
	p = "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body>"
	    "<x:Other xmlns:x=\"" WSMAN_ASSOC_POWER "\"><x:PowerState>2</x:PowerState></x:Other>"
	    "</s:Body></s:Envelope>";
	assert_int_equal(wsman_parse_status_answer(p, "AMT", &ps), -LAB_EINFRA);
	/* Nor one in another namespace, nor prefixes never declared. */
	p = "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body>"
	    "<x:CIM_AssociatedPowerManagementService xmlns:x=\"urn:other\">"
	    "<x:PowerState>2</x:PowerState></x:CIM_AssociatedPowerManagementService>"
	    "</s:Body></s:Envelope>";
	assert_int_equal(wsman_parse_status_answer(p, "AMT", &ps), -LAB_EINFRA);
	p = "<s:Envelope><s:Body><x:CIM_AssociatedPowerManagementService>"
	    "<x:PowerState>2</x:PowerState></x:CIM_AssociatedPowerManagementService>"
	    "</s:Body></s:Envelope>";
	assert_int_equal(wsman_parse_status_answer(p, "AMT", &ps), -LAB_EINFRA);
	assert_contains(lab_errmsg(-LAB_EINFRA), "not a SOAP envelope");
	assert_int_equal(wsman_parse_status_answer(p, "AMT", &ps), -LAB_EINFRA);
	assert_int_equal(wsman_parse_status_answer("garbage", "AMT", &ps),
			 -LAB_EINFRA);
	/* Terminal escapes in an answer are shown escaped, never raw. */
	assert_int_equal(wsman_parse_status_answer("\x1b[31mred\x1b[0m\x07",
						   "AMT", &ps), -LAB_EINFRA);
	assert_contains(lab_errmsg(-LAB_EINFRA), "'\\e[31mred\\e[0m\\x07'");
	assert_null(strchr(lab_errmsg(-LAB_EINFRA), '\x1b'));
	strbuf_release(&sb);
}

/* ---- HTTP helpers ---- */

static void test_url_escape_join_redact(void **state)
{
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	http_url_escape(&sb, "pdu 1&x=y/z~_-.%\xc3\xa9");
	assert_string_equal(strbuf_str(&sb), "pdu%201%26x%3Dy%2Fz~_-.%25%C3%A9");
	strbuf_reset(&sb);
	assert_int_equal(http_url_join(&sb, "http://h:1/prefix//", "/a?b", NULL), 0);
	assert_string_equal(strbuf_str(&sb), "http://h:1/prefix/a?b");
	strbuf_reset(&sb);
	{
		const char *const q[] = { "x", "a b&c/d~", "y", "", NULL };

		assert_int_equal(http_url_join(&sb, "https://h", "/p?k=1", q), 0);
		/* libcurl may write the hex digits in either case. */
		assert_int_equal(strcasecmp(strbuf_str(&sb),
					    "https://h/p?k=1&x=a%20b%26c%2Fd~&y="), 0);
	}
	strbuf_reset(&sb);
	http_url_redact(&sb, "https://user@host:8/x@y");
	assert_string_equal(strbuf_str(&sb), "https://host:8/x@y");
	strbuf_reset(&sb);
	http_url_redact(&sb, "http://host/p");
	assert_string_equal(strbuf_str(&sb), "http://host/p");
	strbuf_release(&sb);
}

static void test_json_get(void **state)
{
	struct strbuf v = STRBUF_INIT;

	(void)state;
	assert_true(http_json_get("{\"POWER\":\"ON\"}", "POWER", &v));
	assert_string_equal(strbuf_str(&v), "ON");
	assert_true(http_json_get("{\"ison\": true, \"has_timer\":false}", "ison", &v));
	assert_string_equal(strbuf_str(&v), "true");
	assert_true(http_json_get("{\"id\":0,\"state\" : 1}", "state", &v));
	assert_string_equal(strbuf_str(&v), "1");
	assert_true(http_json_get("{\"a\":\"x\\\"y\"}", "a", &v));
	assert_string_equal(strbuf_str(&v), "x\"y");
	/* A key that only appears as a value, or not at all. */
	assert_false(http_json_get("{\"x\":\"POWER\"}", "POWER", &v));
	assert_false(http_json_get("{\"POWER1\":\"ON\"}", "POWER", &v));
	assert_false(http_json_get("{\"a\":{\"b\":1}}", "a", &v));
	assert_false(http_json_get("", "a", &v));
	/* \u escapes decoded; a nested object's key is not the answer's. */
	assert_true(http_json_get("{\"POWER\":\"\\u004fN\"}", "POWER", &v));
	assert_string_equal(strbuf_str(&v), "ON");
	assert_true(http_json_get("{\"Status\":{\"POWER\":\"OFF\"},\"POWER\":\"ON\"}",
				  "POWER", &v));
	assert_string_equal(strbuf_str(&v), "ON");
	assert_false(http_json_get("{\"Status\":{\"POWER\":\"OFF\"}}", "POWER", &v));
	assert_false(http_json_get("{\"POWER\":\"ON\"", "POWER", &v));
	strbuf_release(&v);
}

/* ---- the http flavors' requests ---- */

static void expect_call(const struct http_target *t, enum http_action a,
			const char *method, const char *url, const char *body,
			int64_t wait_ms)
{
	struct http_call call = { 0 };

	assert_int_equal(http_build(t, a, false, &call), 0);
	assert_string_equal(call.method, method);
	assert_string_equal(strbuf_str(&call.url), url);
	assert_string_equal(strbuf_str(&call.body), body ? body : "");
	assert_int_equal(call.wait_ms, wait_ms);
	if (body)
		assert_non_null(call.content_type);
	http_call_release(&call);
}

static void expect_none(const struct http_target *t, enum http_action a,
			int ret)
{
	struct http_call call = { 0 };

	assert_int_equal(http_build(t, a, false, &call), ret);
	http_call_release(&call);
}

static void test_build_pdudaemon(void **state)
{
	struct http_target t = {
		.flavor = HTTP_PDUDAEMON, .url = "http://pdu.lab:16421/",
		.pdu = "apc 1&2", .port = 3, .off_time_ms = 2500,
	};

	(void)state;
	expect_call(&t, HTTP_ON, "GET",
		    "http://pdu.lab:16421/power/control/on?hostname=apc%201%262&port=3",
		    NULL, 0);
	expect_call(&t, HTTP_OFF, "GET",
		    "http://pdu.lab:16421/power/control/off?hostname=apc%201%262&port=3",
		    NULL, 0);
	expect_call(&t, HTTP_CYCLE, "GET",
		    "http://pdu.lab:16421/power/control/reboot?hostname=apc%201%262&port=3&delay=3",
		    NULL, 0);
	expect_none(&t, HTTP_STATUS, 1);
	expect_none(&t, HTTP_RESET, 1);
	expect_none(&t, HTTP_PRESS, -LAB_ECONFIG);
	expect_none(&t, HTTP_PRESS_LONG, -LAB_ECONFIG);
}

static void test_build_rte(void **state)
{
	struct http_target t = { .flavor = HTTP_RTE, .url = "http://rte:8000" };

	(void)state;
	expect_call(&t, HTTP_ON, "PATCH", "http://rte:8000/api/v1/gpio/0",
		    "{\"state\":1,\"direction\":\"out\",\"time\":0}", 0);
	expect_call(&t, HTTP_OFF, "PATCH", "http://rte:8000/api/v1/gpio/0",
		    "{\"state\":0,\"direction\":\"out\",\"time\":0}", 0);
	expect_call(&t, HTTP_STATUS, "GET", "http://rte:8000/api/v1/gpio/0",
		    NULL, 0);
	expect_call(&t, HTTP_RESET, "PATCH", "http://rte:8000/api/v1/gpio/8",
		    "{\"state\":1,\"direction\":\"out\",\"time\":1}", 1000);
	expect_call(&t, HTTP_PRESS, "PATCH", "http://rte:8000/api/v1/gpio/9",
		    "{\"state\":1,\"direction\":\"out\",\"time\":1}", 1000);
	expect_call(&t, HTTP_PRESS_LONG, "PATCH", "http://rte:8000/api/v1/gpio/9",
		    "{\"state\":1,\"direction\":\"out\",\"time\":5}", 5000);
	expect_none(&t, HTTP_CYCLE, 1);
	t.button = true;
	expect_call(&t, HTTP_ON, "PATCH", "http://rte:8000/api/v1/gpio/9",
		    "{\"state\":1,\"direction\":\"out\",\"time\":1}", 1000);
	expect_call(&t, HTTP_OFF, "PATCH", "http://rte:8000/api/v1/gpio/9",
		    "{\"state\":1,\"direction\":\"out\",\"time\":5}", 5000);
	expect_none(&t, HTTP_STATUS, 1);
}

static void test_build_tasmota(void **state)
{
	struct http_target t = { .flavor = HTTP_TASMOTA, .url = "http://t" };
	struct http_call call = { 0 };

	(void)state;
	expect_call(&t, HTTP_ON, "GET", "http://t/cm?cmnd=Power%20On", NULL, 0);
	expect_call(&t, HTTP_OFF, "GET", "http://t/cm?cmnd=Power%20Off", NULL, 0);
	expect_call(&t, HTTP_STATUS, "GET", "http://t/cm?cmnd=Power", NULL, 0);
	expect_none(&t, HTTP_CYCLE, 1);
	expect_none(&t, HTTP_PRESS, -LAB_ECONFIG);
	t.channel = 2;
	expect_call(&t, HTTP_ON, "GET", "http://t/cm?cmnd=Power2%20On", NULL, 0);
	/* The web password in a POST body, escaped; redacted for --dry-run. */
	t.user = "admin";
	t.password = "p&ss w";
	expect_call(&t, HTTP_OFF, "POST", "http://t/cm",
		    "user=admin&password=p%26ss%20w&cmnd=Power2%20Off", 0);
	assert_int_equal(http_build(&t, HTTP_OFF, true, &call), 0);
	assert_string_equal(strbuf_str(&call.body),
			    "user=admin&password=***&cmnd=Power2%20Off");
	assert_string_equal(call.content_type, "application/x-www-form-urlencoded");
	http_call_release(&call);
}

static void test_build_shelly(void **state)
{
	struct http_target t = {
		.flavor = HTTP_SHELLY, .url = "https://sh", .off_time_ms = 100,
	};

	(void)state;
	expect_call(&t, HTTP_ON, "GET", "https://sh/relay/0?turn=on", NULL, 0);
	expect_call(&t, HTTP_OFF, "GET", "https://sh/relay/0?turn=off", NULL, 0);
	expect_call(&t, HTTP_STATUS, "GET", "https://sh/relay/0", NULL, 0);
	/* Shelly's own flip-back timer: whole seconds, at least 1. */
	expect_call(&t, HTTP_CYCLE, "GET", "https://sh/relay/0?turn=off&timer=1",
		    NULL, 1500);
	expect_none(&t, HTTP_RESET, 1);
	t.channel = 3;
	expect_call(&t, HTTP_ON, "GET", "https://sh/relay/2?turn=on", NULL, 0);
}

static void test_build_generic(void **state)
{
	struct http_target t = { .flavor = HTTP_GENERIC, .url = "http://g/base/" };

	(void)state;
	t.generic[HTTP_ON] = "/relay?on=1";
	t.generic[HTTP_OFF] = "POST /relay {\"on\": false}";
	t.generic[HTTP_STATUS] = "PUT  /state a=1&b=2";
	expect_call(&t, HTTP_ON, "GET", "http://g/base/relay?on=1", NULL, 0);
	expect_call(&t, HTTP_OFF, "POST", "http://g/base/relay",
		    "{\"on\": false}", 0);
	expect_call(&t, HTTP_STATUS, "PUT", "http://g/base/state", "a=1&b=2", 0);
	expect_none(&t, HTTP_CYCLE, 1);
	expect_none(&t, HTTP_RESET, 1);
	expect_none(&t, HTTP_PRESS, -LAB_ECONFIG);
	t.generic[HTTP_ON] = "GETS /x";
	expect_none(&t, HTTP_ON, -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG), "url_on = GETS /x");
	t.generic[HTTP_ON] = "http://other/x";
	expect_none(&t, HTTP_ON, -LAB_ECONFIG);
	t.generic[HTTP_ON] = NULL;
	expect_none(&t, HTTP_ON, -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG), "no url_on");
}

/* ---- the answers ---- */

static int answer(const struct http_target *t, enum http_action a,
		  const char *body, enum power_state *st)
{
	return http_parse_answer(t, a, body, "\"on\": *true", "\"on\": *false",
				 "dev at http://x", st);
}

static void test_parse_answers(void **state)
{
	struct http_target tas = { .flavor = HTTP_TASMOTA, .url = "http://t" };
	struct http_target sh = { .flavor = HTTP_SHELLY, .url = "http://s" };
	struct http_target rte = { .flavor = HTTP_RTE, .url = "http://r" };
	struct http_target gen = { .flavor = HTTP_GENERIC, .url = "http://g" };
	struct http_target pdu = { .flavor = HTTP_PDUDAEMON, .url = "http://p" };
	enum power_state st;

	(void)state;
	assert_int_equal(answer(&tas, HTTP_STATUS, "{\"POWER\":\"ON\"}", &st), 0);
	assert_int_equal(st, POWER_ON);
	assert_int_equal(answer(&tas, HTTP_OFF, "{\"POWER\":\"OFF\"}", &st), 0);
	assert_int_equal(answer(&tas, HTTP_ON, "{\"POWER\":\"OFF\"}", &st),
			 -LAB_EINFRA);
	assert_contains(lab_errmsg(-LAB_EINFRA),
			"dev at http://x answered '{\"POWER\":\"OFF\"}', not {\"POWER\":\"ON\"}");
	assert_int_equal(answer(&tas, HTTP_STATUS, "{\"Command\":\"Unknown\"}", &st),
			 -LAB_EINFRA);
	tas.channel = 1;
	assert_int_equal(answer(&tas, HTTP_STATUS, "{\"POWER\":\"OFF\"}", &st), 0);
	assert_int_equal(st, POWER_OFF);
	assert_int_equal(answer(&tas, HTTP_STATUS, "{\"POWER1\":\"ON\"}", &st), 0);
	tas.channel = 2;
	assert_int_equal(answer(&tas, HTTP_STATUS, "{\"POWER\":\"ON\"}", &st),
			 -LAB_EINFRA);

	assert_int_equal(answer(&sh, HTTP_STATUS, "{\"ison\":false,\"has_timer\":true}", &st), 0);
	assert_int_equal(st, POWER_OFF);
	assert_int_equal(answer(&sh, HTTP_ON, "{\"ison\": true}", &st), 0);
	assert_int_equal(answer(&sh, HTTP_OFF, "{\"ison\": true}", &st), -LAB_EINFRA);
	assert_int_equal(answer(&sh, HTTP_STATUS, "<html>", &st), -LAB_EINFRA);

	assert_int_equal(answer(&rte, HTTP_STATUS, "{\"id\":0,\"state\":1,\"direction\":\"out\"}", &st), 0);
	assert_int_equal(st, POWER_ON);
	assert_int_equal(answer(&rte, HTTP_STATUS, "{\"id\":0,\"state\":0}", &st), 0);
	assert_int_equal(st, POWER_OFF);
	assert_int_equal(answer(&rte, HTTP_STATUS, "{\"id\":0}", &st), -LAB_EINFRA);
	assert_int_equal(answer(&rte, HTTP_ON, "whatever", &st), 0);

	assert_int_equal(answer(&gen, HTTP_STATUS, "{\"on\": true}", &st), 0);
	assert_int_equal(st, POWER_ON);
	assert_int_equal(answer(&gen, HTTP_STATUS, "{\"on\":false}", &st), 0);
	assert_int_equal(st, POWER_OFF);
	assert_int_equal(answer(&gen, HTTP_STATUS, "{}", &st), -LAB_EINFRA);
	assert_int_equal(http_parse_answer(&gen, HTTP_STATUS, "{}", "on", NULL,
					   "g", &st), 0);
	assert_int_equal(st, POWER_OFF);
	assert_int_equal(http_parse_answer(&gen, HTTP_STATUS, "{}", "(", NULL,
					   "g", &st), -LAB_ECONFIG);

	assert_int_equal(answer(&pdu, HTTP_ON, "OK - accepted request\n", &st), 0);
}

/* ---- the drivers: configuration and --dry-run ---- */

static char scratch[PATH_MAX];

static int setup(void **state)
{
	(void)state;
	snprintf(scratch, sizeof(scratch), "%s/labctl-phttp.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(scratch) ? 0 : -1;
}

static int teardown(void **state)
{
	char path[PATH_MAX + 16];

	(void)state;
	snprintf(path, sizeof(path), "%s/pw", scratch);
	unlink(path);
	return rmdir(scratch);
}

static int open_with(const char *driver, const struct lab_param *p, int n,
		     struct power_dev **dev)
{
	struct power_config cfg = {
		.driver = driver, .params = p, .nparams = n,
		.off_time_ms = 1500,
	};

	return power_open(dev, &cfg);
}

static char *describe(struct power_dev *dev, const char *action)
{
	struct strbuf sb = STRBUF_INIT;

	assert_int_equal(dev->drv->describe(dev, action, &sb), 0);
	return strbuf_detach(&sb, NULL);
}

static void test_http_config_errors(void **state)
{
	struct power_dev *dev = NULL;
	char pw[PATH_MAX + 16];
	FILE *f;

	(void)state;
	{
		struct lab_param p[] = { { "url", "http://x" }, { "flavor", "frob" } };

		assert_int_equal(open_with("http", p, 2, &dev), -LAB_ECONFIG);
		assert_contains(lab_errmsg(-LAB_ECONFIG), "unknown flavor 'frob'");
	}
	{
		struct lab_param p[] = { { "flavor", "tasmota" } };

		assert_int_equal(open_with("http", p, 1, &dev), -LAB_ECONFIG);
		assert_contains(lab_errmsg(-LAB_ECONFIG), "needs url = ");
	}
	{
		struct lab_param p[] = { { "url", "http://x?y=1" }, { "flavor", "shelly" } };

		assert_int_equal(open_with("http", p, 2, &dev), -LAB_ECONFIG);
		assert_contains(lab_errmsg(-LAB_ECONFIG), "without a query");
	}
	{
		/* A URL libcurl cannot read: the lab file's error, at open. */
		struct lab_param p[] = { { "url", "http://x:99999" }, { "flavor", "shelly" } };

		assert_int_equal(open_with("http", p, 2, &dev), -LAB_ECONFIG);
		assert_contains(lab_errmsg(-LAB_ECONFIG),
				"power driver http: url = http://x:99999: ");
	}
	{
		struct lab_param p[] = { { "url", "http://x" }, { "flavor", "shelly" },
					 { "channel", "5" } };

		assert_int_equal(open_with("http", p, 3, &dev), -LAB_ECONFIG);
		assert_contains(lab_errmsg(-LAB_ECONFIG),
				"channel 5 is out of range for flavor shelly (1..4)");
	}
	{
		struct lab_param p[] = { { "url", "http://x" }, { "flavor", "tasmota" },
					 { "pdu", "a" } };

		assert_int_equal(open_with("http", p, 3, &dev), -LAB_ECONFIG);
		assert_contains(lab_errmsg(-LAB_ECONFIG),
				"flavor tasmota takes no key 'pdu'");
	}
	{
		struct lab_param p[] = { { "url", "http://x" }, { "port", "1" } };

		assert_int_equal(open_with("http", p, 2, &dev), -LAB_ECONFIG);
		assert_contains(lab_errmsg(-LAB_ECONFIG), "needs pdu = ");
	}
	{
		struct lab_param p[] = { { "url", "http://x" }, { "flavor", "generic" },
					 { "url_on", "/on" }, { "url_off", "/off" },
					 { "url_status", "/s" } };

		assert_int_equal(open_with("http", p, 5, &dev), -LAB_ECONFIG);
		assert_contains(lab_errmsg(-LAB_ECONFIG), "url_status needs status_on");
	}
	/* A password file others can read is refused, naming file and mode. */
	snprintf(pw, sizeof(pw), "%s/pw", scratch);
	f = fopen(pw, "w");
	assert_non_null(f);
	fputs("secret\n", f);
	fclose(f);
	chmod(pw, 0644);
	{
		struct lab_param p[] = { { "url", "http://x" }, { "flavor", "shelly" },
					 { "user", "admin" }, { "password_file", pw } };

		assert_int_equal(open_with("http", p, 4, &dev), -LAB_ECONFIG);
		assert_contains(lab_errmsg(-LAB_ECONFIG), pw);
		assert_contains(lab_errmsg(-LAB_ECONFIG), "is mode 0644");
		chmod(pw, 0600);
		assert_int_equal(open_with("http", p, 4, &dev), 0);
		power_close(dev);
		dev = NULL;
	}
	{
		struct lab_param p[] = { { "url", "http://x" }, { "flavor", "shelly" },
					 { "password_file", pw } };

		assert_int_equal(open_with("http", p, 3, &dev), -LAB_ECONFIG);
		assert_contains(lab_errmsg(-LAB_ECONFIG), "password_file without user");
	}
	assert_null(dev);
}

static void test_http_describe(void **state)
{
	struct lab_param p[] = {
		{ "url", "http://127.0.0.1:9" }, { "pdu", "lab pdu" },
		{ "port", "4" },
	};
	struct lab_param t[] = {
		{ "url", "http://t" }, { "flavor", "tasmota" },
		{ "user", "admin" },
	};
	struct power_dev *dev;
	char *s;

	(void)state;
	assert_int_equal(open_with("http", p, 3, &dev), 0);
	s = describe(dev, "on");
	assert_string_equal(s, "GET http://127.0.0.1:9/power/control/on?hostname=lab%20pdu&port=4\n");
	free(s);
	s = describe(dev, "reset");
	assert_string_equal(s, "GET http://127.0.0.1:9/power/control/reboot?hostname=lab%20pdu&port=4&delay=2\n");
	free(s);
	s = describe(dev, "status");
	assert_string_equal(s, "nothing: pdudaemon tells no state (unknown)\n");
	free(s);
	power_close(dev);

	setenv("LABCTL_HTTP_PASSWORD", "hunter2", 1);
	assert_int_equal(open_with("http", t, 3, &dev), 0);
	s = describe(dev, "cycle");
	assert_string_equal(s,
		"POST http://t/cm user=admin&password=***&cmnd=Power%20Off\n"
		"wait 1500 ms\n"
		"POST http://t/cm user=admin&password=***&cmnd=Power%20On\n");
	assert_null(strstr(s, "hunter2"));
	free(s);
	power_close(dev);
	unsetenv("LABCTL_HTTP_PASSWORD");
	/* A user without any password: --dry-run works (it sends nothing),
	 * a real request is a configuration error, before anything is sent. */
	assert_int_equal(open_with("http", t, 3, &dev), 0);
	s = describe(dev, "on");
	free(s);
	assert_int_equal(power_on(dev), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG), "LABCTL_HTTP_PASSWORD or password_file");
	power_close(dev);
}

static void test_amt_config_and_describe(void **state)
{
	struct lab_param p[] = { { "host", "10.1.2.3" } };
	struct lab_param bad[] = { { "host", "http://10.1.2.3/" } };
	struct lab_param tls[] = { { "host", "fe80::1" }, { "port", "16993" } };
	struct power_dev *dev = NULL;
	char *s;

	(void)state;
	unsetenv("AMT_PASSWORD");
	assert_int_equal(open_with("amt", p, 1, &dev), 0);
	assert_int_equal(power_on(dev), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG), "AMT_PASSWORD or password_file");
	power_close(dev);
	dev = NULL;
	assert_int_equal(open_with("amt", NULL, 0, &dev), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG), "needs host = ");
	setenv("AMT_PASSWORD", "P@ssw0rd", 1);
	assert_int_equal(open_with("amt", bad, 1, &dev), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG), "not a URL");

	assert_int_equal(open_with("amt", p, 1, &dev), 0);
	s = describe(dev, "off");
	assert_true(!strncmp(s, "POST http://10.1.2.3:16992/wsman <?xml", 38));
	assert_contains(s, "<n1:PowerState>8</n1:PowerState>");
	assert_contains(s, "<wsa:To s:mustUnderstand=\"true\">http://10.1.2.3:16992/wsman</wsa:To>");
	assert_null(strstr(s, "P@ssw0rd"));
	free(s);
	s = describe(dev, "reset");
	assert_contains(s, "transfer/Get");
	assert_contains(s, "\nif PowerState is 2: POST http://10.1.2.3:16992/wsman ");
	assert_contains(s, "<n1:PowerState>10</n1:PowerState>");
	assert_contains(s, "\nelse: POST ");
	assert_contains(s, "<n1:PowerState>2</n1:PowerState>");
	free(s);
	assert_int_equal(dev->drv->describe(dev, "press", &(struct strbuf)STRBUF_INIT),
			 -LAB_ECONFIG);
	power_close(dev);

	assert_int_equal(open_with("amt", tls, 2, &dev), 0);
	s = describe(dev, "status");
	assert_true(!strncmp(s, "POST https://[fe80::1]:16993/wsman ", 35));
	free(s);
	power_close(dev);
	unsetenv("AMT_PASSWORD");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wsman_power_request_exact),
		cmocka_unit_test(test_wsman_power_request_states),
		cmocka_unit_test(test_wsman_status_request),
		cmocka_unit_test(test_wsman_message_id),
		cmocka_unit_test(test_wsman_parse_return_value),
		cmocka_unit_test(test_wsman_parse_fault),
		cmocka_unit_test(test_wsman_parse_garbage),
		cmocka_unit_test(test_wsman_parse_status),
		cmocka_unit_test(test_url_escape_join_redact),
		cmocka_unit_test(test_json_get),
		cmocka_unit_test(test_build_pdudaemon),
		cmocka_unit_test(test_build_rte),
		cmocka_unit_test(test_build_tasmota),
		cmocka_unit_test(test_build_shelly),
		cmocka_unit_test(test_build_generic),
		cmocka_unit_test(test_parse_answers),
		cmocka_unit_test(test_http_config_errors),
		cmocka_unit_test(test_http_describe),
		cmocka_unit_test(test_amt_config_and_describe),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
