// SPDX-License-Identifier: MIT
/*
 * Unit tests for labctl/labconf.c and labctl/labschema.c: lab files parsed
 * from strings with lab_parse(), every error with its "path:LINE: " prefix,
 * defaults, lab_find()'s search order and the redacted `show` output.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glob.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "labctl/labconf.h"
#include "lib/err.h"
#include "power/power.h"
#include "serial-capture/console.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"

#define PATH "labs/t.conf"

/* ------------------------------------------------------------ helpers */

static struct lab *parse_ok_at(const char *file, int line, const char *text,
			       size_t len)
{
	struct lab *lab = NULL;
	int ret = lab_parse(PATH, text, len, &lab);

	if (ret)
		fail_msg("%s:%d: lab_parse failed: %s\n--- input:\n%s", file,
			 line, lab_errmsg(ret), text);
	assert_non_null(lab);
	return lab;
}
#define parse_ok(text) parse_ok_at(__FILE__, __LINE__, (text), strlen(text))
#define parse_ok_len(text, len) parse_ok_at(__FILE__, __LINE__, (text), (len))

/*
 * The text must fail with "labs/t.conf:LINE: " followed by exactly `want`
 * (exact) or by a message containing `want` (!exact).
 */
static void parse_bad_at(const char *file, int line, const char *text,
			 size_t len, int want_line, const char *want, bool exact)
{
	struct lab *lab = (struct lab *)&lab;
	char prefix[64];
	const char *msg;
	size_t plen;
	int ret;

	lab_err_clear();
	ret = lab_parse(PATH, text, len, &lab);
	if (ret != -LAB_ECONFIG)
		fail_msg("%s:%d: lab_parse returned %d (%s), want -LAB_ECONFIG\n--- input:\n%s",
			 file, line, ret, ret ? lab_errmsg(ret) : "ok", text);
	if (lab)
		fail_msg("%s:%d: *out not NULL after an error", file, line);
	msg = lab_errmsg(ret);
	plen = (size_t)snprintf(prefix, sizeof(prefix), "%s:%d: ", PATH,
				want_line);
	if (strncmp(msg, prefix, plen) ||
	    (exact ? strcmp(msg + plen, want) : !strstr(msg + plen, want)))
		fail_msg("%s:%d: wrong message\n  got:  %s\n  want: %s%s%s", file,
			 line, msg, prefix, exact ? "" : "...", want);
	assert_int_equal(lab_exit_code(ret), LAB_EXIT_USAGE);
}
#define bad(text, line, want) \
	parse_bad_at(__FILE__, __LINE__, (text), strlen(text), (line), (want), true)
#define bad_has(text, line, want) \
	parse_bad_at(__FILE__, __LINE__, (text), strlen(text), (line), (want), false)
#define bad_len(text, len, line, want) \
	parse_bad_at(__FILE__, __LINE__, (text), (len), (line), (want), false)

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* A laptop board: three lines, more [board] keys may follow. */
#define LAPTOP "[board]\ntype = laptop\nhost = h\n"

/* ------------------------------------------------ a small JSON checker */

struct json {
	const char *p, *end;
	int depth;
};

static void json_ws(struct json *j)
{
	while (j->p < j->end && strchr(" \t\r\n", *j->p))
		j->p++;
}

static bool json_value(struct json *j);

static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static bool utf8_ok(const char *s)
{
	size_t n = strlen(s), i = 0, k;

	while (i < n) {
		k = utf8_seq((const unsigned char *)s + i, n - i);
		if (!k)
			return false;
		i += k;
	}
	return true;
}

static bool json_string(struct json *j)
{
	if (j->p >= j->end || *j->p != '"')
		return false;
	j->p++;
	while (j->p < j->end && *j->p != '"') {
		unsigned char c = (unsigned char)*j->p;
		size_t k;

		if (c < 0x20)
			return false;
		if (c == '\\') {
			j->p++;
			if (j->p >= j->end)
				return false;
			if (*j->p == 'u') {
				int i;

				for (i = 1; i <= 4; i++)
					if (j->p + i >= j->end ||
					    !strchr("0123456789abcdefABCDEF", j->p[i]))
						return false;
				j->p += 5;
				continue;
			}
			if (!strchr("\"\\/bfnrt", *j->p))
				return false;
			j->p++;
			continue;
		}
		k = utf8_seq((const unsigned char *)j->p, (size_t)(j->end - j->p));
		if (!k)
			return false;
		j->p += k;
	}
	if (j->p >= j->end)
		return false;
	j->p++;
	return true;
}

static bool json_number(struct json *j)
{
	const char *start = j->p;

	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end || !strchr("0123456789", *j->p))
		return false;
	while (j->p < j->end && strchr("0123456789.eE+-", *j->p))
		j->p++;
	return j->p > start;
}

static bool json_container(struct json *j, char close, bool object)
{
	j->p++;
	if (++j->depth > 64)
		return false;
	json_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return true;
	}
	for (;;) {
		json_ws(j);
		if (object) {
			if (!json_string(j))
				return false;
			json_ws(j);
			if (j->p >= j->end || *j->p != ':')
				return false;
			j->p++;
		}
		if (!json_value(j))
			return false;
		json_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == close) {
			j->p++;
			j->depth--;
			return true;
		}
		return false;
	}
}

static bool json_value(struct json *j)
{
	json_ws(j);
	if (j->p >= j->end)
		return false;
	switch (*j->p) {
	case '{':
		return json_container(j, '}', true);
	case '[':
		return json_container(j, ']', false);
	case '"':
		return json_string(j);
	case 't':
		return j->end - j->p >= 4 && !strncmp(j->p, "true", 4) &&
		       (j->p += 4);
	case 'f':
		return j->end - j->p >= 5 && !strncmp(j->p, "false", 5) &&
		       (j->p += 5);
	case 'n':
		return j->end - j->p >= 4 && !strncmp(j->p, "null", 4) &&
		       (j->p += 4);
	default:
		return json_number(j);
	}
}

static bool json_valid(const char *s)
{
	struct json j = { s, s + strlen(s), 0 };

	if (!json_value(&j))
		return false;
	json_ws(&j);
	return j.p == j.end;
}

static void test_json_checker(void **state)
{
	(void)state;
	assert_true(json_valid("{\"a\":[1,-2.5e3,\"x\\n\\u00e9\",true,null,{}]}\n"));
	assert_true(json_valid("\"caf\xc3\xa9\""));
	assert_false(json_valid("{\"a\":1,}"));
	assert_false(json_valid("{\"a\" 1}"));
	assert_false(json_valid("[1] x"));
	assert_false(json_valid("\"tab\there\""));
	assert_false(json_valid("\"caf\xe9\""));
	assert_false(json_valid("\"\\x\""));
	assert_false(json_valid("{"));
}

/* ---------------------------------------------------------- valid labs */

static const char full_lab[] =
	"# A lab that sets every section.\n"
	"[board]\n"
	"type = laptop\n"
	"description = Full lab ; an inline comment\n"
	"host = board1\n"
	"user = tester\n"
	"ssh_port = 2222\n"
	"jump = me@gw:22\n"
	"battery = yes\n"
	"\n"
	"[power]\n"
	"driver = http\n"
	"url = http://admin@pdu.example/api\n"
	"flavor = pdudaemon\n"
	"pdu = pdu1\n"
	"port = 3\n"
	"password_file = /etc/labctl/pdu.pw\n"
	"tls_verify = no\n"
	"channel = 2\n"
	"button = yes\n"
	"off_time = 1500ms\n"
	"plan = http, ssh\n"
	"\n"
	"[console]\n"
	"driver = tcp\n"
	"host = ser2net.example\n"
	"port = 7001\n"
	"\n"
	"[deploy]\n"
	"method = sftp\n"
	"dir = /boot/xmhf\n"
	"sudo = yes\n"
	"\n"
	"[grub]\n"
	"max_stages = 0x10\n"
	"entry_prefix = T-\n"
	"root = (hd0,msdos5)\n"
	"serial = 115200,8n1,0x5080\n"
	"boot_drive = 0x81\n"
	"cmdline = loglevel=3\n"
	"sinit = /boot/sinit.bin\n"
	"grubenv = /boot/grub/grubenv\n"
	"editenv = grub-editenv\n"
	"dropin = 06_chain\n"
	"entries = 43_lab\n"
	"\n"
	"[variant build64]\n"
	"recipe = xmhf64\n"
	"src = ~/uberxmhf\n"
	"args = amd64 fast circleci O3\n"
	"entry = My Entry\n"
	"cmdline = x=1\n"
	"sinit = /boot/other.bin\n"
	"\n"
	"[variant lhv.1]\n"
	"recipe = standin\n"
	"arch = i386\n"
	"options = 0x5fc\n";

static void check_full_lab(const struct lab *lab)
{
	const struct lab_variant *v;
	struct strbuf tmp = STRBUF_INIT;

	assert_string_equal(lab->name, "t");
	assert_string_equal(lab->path, PATH);
	assert_string_equal(lab_get(lab, "board", "type"), "laptop");
	assert_string_equal(lab_get(lab, "board", "description"), "Full lab");
	assert_string_equal(lab_get(lab, "board", "host"), "board1");
	assert_string_equal(lab_get(lab, "board", "jump"), "me@gw:22");
	assert_int_equal(lab_get_int(lab, "board", "ssh_port"), 2222);
	assert_true(lab_get_bool(lab, "board", "battery"));
	assert_string_equal(lab_get(lab, "power", "driver"), "http");
	assert_string_equal(lab_get(lab, "power", "url"),
			    "http://admin@pdu.example/api");
	assert_string_equal(lab_get(lab, "power", "plan"), "http, ssh");
	assert_false(lab_get_bool(lab, "power", "tls_verify"));
	assert_int_equal(lab_get_int(lab, "power", "channel"), 2);
	assert_string_equal(lab_get(lab, "console", "host"), "ser2net.example");
	assert_int_equal(lab_get_int(lab, "console", "port"), 7001);
	assert_string_equal(lab_get(lab, "deploy", "method"), "sftp");
	assert_true(lab_get_bool(lab, "deploy", "sudo"));
	assert_int_equal(lab_get_int(lab, "grub", "max_stages"), 16);
	assert_string_equal(lab_get(lab, "grub", "cmdline"), "loglevel=3");
	assert_string_equal(lab_get(lab, "grub", "editenv"), "grub-editenv");

	assert_int_equal(lab->nvariants, 2);
	v = lab_find_variant(lab, "build64");
	assert_non_null(v);
	assert_int_equal(v->line, 47);
	assert_string_equal(lab_variant_get(v, "recipe"), "xmhf64");
	assert_string_equal(lab_variant_get(v, "args"), "amd64 fast circleci O3");
	assert_string_equal(lab_variant_entry(lab, v, &tmp), "My Entry");
	v = lab_find_variant(lab, "lhv.1");
	assert_non_null(v);
	assert_string_equal(lab_variant_get(v, "arch"), "i386");
	assert_string_equal(lab_variant_get(v, "options"), "0x5fc");
	assert_null(lab_variant_get(v, "src"));
	assert_string_equal(lab_variant_entry(lab, v, &tmp), "T-lhv.1");
	assert_null(lab_find_variant(lab, "nope"));
	strbuf_release(&tmp);
}

static void test_full_lab(void **state)
{
	struct lab *lab;

	(void)state;
	lab = parse_ok(full_lab);
	check_full_lab(lab);
	lab_free(lab);
}

/* The same lab with CRLF line ends parses to the same values (no '\r'). */
static void test_crlf(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct lab *lab;
	const char *p;

	(void)state;
	for (p = full_lab; *p; p++) {
		if (*p == '\n')
			strbuf_addch(&sb, '\r');
		strbuf_addch(&sb, *p);
	}
	lab = parse_ok_len(strbuf_str(&sb), sb.len);
	check_full_lab(lab);
	lab_free(lab);
	/* Blank lines made of spaces, with CRLF, are blank lines. */
	lab = parse_ok("[board]\r\n  \r\n\t\r\ntype = laptop\r\nhost = h\r\n");
	assert_string_equal(lab_get(lab, "board", "host"), "h");
	lab_free(lab);
	/* A CR anywhere but at the end of a line is not text. */
	bad("[board]\ndescription = a\rb\n", 2,
	    "control character 0x0d in column 16 (lab files are plain text)");
	strbuf_release(&sb);
}

/* The labs shipped in labs/ are valid (the tests run from the top). */
static void test_repo_labs(void **state)
{
	static const char *const files[] = {
		"labs/qemu.conf", "labs/hp2540p.conf", "labs/hp840.conf",
	};
	struct lab *lab;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		int ret = lab_load(files[i], &lab);

		if (ret)
			fail_msg("%s: %s", files[i], lab_errmsg(ret));
		assert_string_equal(lab->path, files[i]);
		lab_free(lab);
	}
	assert_int_equal(lab_open("qemu", &lab), 0);
	assert_string_equal(lab->name, "qemu");
	assert_string_equal(lab_get(lab, "board", "type"), "qemu");
	assert_int_equal(lab->nvariants, 3);
	assert_string_equal(lab->variants[0].name, "build64");
	assert_string_equal(lab->variants[2].name, "build32lhv");
	lab_free(lab);
	assert_int_equal(lab_open("hp2540p", &lab), 0);
	assert_string_equal(lab_get(lab, "grub", "serial"), "115200,8n1,0x5080");
	assert_string_equal(lab_get(lab, "console", "driver"), "amt-sol");
	lab_free(lab);
}

static void test_empty_lab(void **state)
{
	static const char *const empties[] = {
		"", "\n", "\n\n\n", "; nothing\n# at all\n", "[board]\n",
		"[board]", "  \n\t\n", "\xef\xbb\xbf",
	};
	struct lab *lab;
	size_t i;

	(void)state;
	/* An empty lab is a QEMU board with no variants. */
	for (i = 0; i < sizeof(empties) / sizeof(empties[0]); i++) {
		lab = parse_ok(empties[i]);
		assert_int_equal(lab->nvariants, 0);
		assert_string_equal(lab_get(lab, "board", "type"), "qemu");
		lab_free(lab);
	}
}

static void test_names(void **state)
{
	struct lab *lab;

	(void)state;
	assert_int_equal(lab_parse("/x/y/hp.conf", "", 0, &lab), 0);
	assert_string_equal(lab->name, "hp");
	assert_string_equal(lab->path, "/x/y/hp.conf");
	lab_free(lab);
	assert_int_equal(lab_parse("plain", "", 0, &lab), 0);
	assert_string_equal(lab->name, "plain");
	lab_free(lab);
	lab_free(NULL);
}

/* ------------------------------------------------------------ defaults */

static void test_defaults_qemu(void **state)
{
	struct lab *lab;

	(void)state;
	lab = parse_ok("");
	/* Schema defaults. */
	assert_string_equal(lab_get(lab, "board", "type"), "qemu");
	assert_string_equal(lab_get(lab, "board", "memory"), "256M");
	assert_int_equal(lab_get_int(lab, "board", "smp"), 2);
	assert_string_equal(lab_get(lab, "board", "kvm"), "no");
	assert_false(lab_get_bool(lab, "board", "battery"));
	assert_string_equal(lab_get(lab, "power", "off_time"), "5s");
	assert_string_equal(lab_get(lab, "deploy", "dir"), "/boot/xmhf");
	assert_int_equal(lab_get_int(lab, "grub", "max_stages"), 9);
	assert_string_equal(lab_get(lab, "grub", "entry_prefix"), "XMHF-");
	assert_string_equal(lab_get(lab, "grub", "editenv"), "native");
	/* Board-type dependent defaults. */
	assert_string_equal(lab_get(lab, "power", "driver"), "qemu");
	assert_string_equal(lab_get(lab, "console", "driver"), "qemu");
	assert_string_equal(lab_get(lab, "deploy", "method"), "image");
	assert_string_equal(lab_get(lab, "grub", "root"), "(hd0,msdos1)");
	/* No default. */
	assert_null(lab_get(lab, "board", "description"));
	assert_null(lab_get(lab, "grub", "cmdline"));
	/* A number without a default and not set is unset, said so. */
	assert_true(lab_get_int(lab, "watch", "cpus") == LAB_UNSET);
	assert_true(lab_get_duration_ms(lab, "power", "confirm_timeout") ==
		    LAB_UNSET);
	assert_int_equal(lab_get_duration_ms(lab, "watch", "timeout"), 300000);
	assert_int_equal(lab_get_size_mib(lab, "build", "cache_size"), 512);
	lab_free(lab);

	/* A variant with nothing set is the amd64 stand-in. */
	lab = parse_ok("[variant v]\n");
	assert_string_equal(lab_variant_get(&lab->variants[0], "recipe"), "standin");
	assert_string_equal(lab_variant_get(&lab->variants[0], "arch"), "amd64");
	assert_string_equal(lab_variant_get(&lab->variants[0], "options"), "0");
	assert_null(lab_variant_get(&lab->variants[0], "entry"));
	lab_free(lab);
}

static void test_defaults_laptop(void **state)
{
	struct lab *lab;

	(void)state;
	lab = parse_ok(LAPTOP);
	assert_string_equal(lab_get(lab, "board", "user"), "root");
	assert_int_equal(lab_get_int(lab, "board", "ssh_port"), 22);
	assert_null(lab_get(lab, "power", "driver"));
	assert_null(lab_get(lab, "console", "driver"));
	assert_string_equal(lab_get(lab, "deploy", "method"), "sftp");
	assert_null(lab_get(lab, "grub", "root"));
	lab_free(lab);

	/* The file's value beats every default. */
	lab = parse_ok("[board]\ntype = pc\nhost = h\n[deploy]\nmethod = image\n"
		       "[grub]\nroot = (hd1)\n");
	assert_string_equal(lab_get(lab, "deploy", "method"), "image");
	assert_string_equal(lab_get(lab, "grub", "root"), "(hd1)");
	lab_free(lab);
}

/* ------------------------------------------------------- syntax errors */

static void test_unknown_key(void **state)
{
	(void)state;
	bad("[board]\nfoo = 1\n", 2, "[board]: unknown key 'foo'");
	bad("[grub]\nType = x\n", 2, "[grub]: unknown key 'Type'");
	/* A key of another section. */
	bad("[board]\nrecipe = standin\n", 2, "[board]: unknown key 'recipe'");
	bad("[variant v]\nhost = x\n", 2, "[variant v]: unknown key 'host'");
	/* Only the first error is reported. */
	bad("[board]\n\nfoo = 1\nbar = 2\n[nosuch]\n", 3,
	    "[board]: unknown key 'foo'");
}

static void test_unknown_section(void **state)
{
	(void)state;
	bad("[boards]\ntype = qemu\n", 1,
	    "unknown section [boards] (known: [board], [power], [console], [deploy], [grub], [watch], [variant NAME])");
	bad_has("[board]\n[Power]\n", 2, "unknown section [Power]");
	bad_has("[]\n", 1, "unknown section []");
	bad_has("[ board ]\n", 1, "unknown section [ board ]");
	bad("[board\ntype = qemu\n", 1, "section header without ']'");
	bad("# x\n[board] type = qemu\n", 2,
	    "text after [board]: put keys on their own lines");
	bad_has("[board]]\n", 1, "text after [board]");
	bad_has("[variant v] x\n", 1, "text after [variant v]");
	{
		char line[300];

		memset(line, 'a', sizeof(line));
		line[0] = '[';
		memcpy(line + sizeof(line) - 3, "]\n", 3);
		bad(line, 1, "section name too long");
	}
}

static void test_section_comments(void **state)
{
	struct lab *lab;

	(void)state;
	lab = parse_ok("[board] ; the board\n  [variant v]   # note\n");
	assert_int_equal(lab->nvariants, 1);
	lab_free(lab);
}

static void test_variant_names(void **state)
{
	struct lab *lab;

	(void)state;
	bad("[variant]\n", 1, "[variant] needs a name, e.g. [variant build64]");
	bad("\n[variant  ]\n", 2, "[variant] needs a name, e.g. [variant build64]");
	bad("[variant a b]\n", 1, "[variant a b]: a variant name is one word");
	bad("[variant a/b]\n", 1,
	    "invalid variant name 'a/b' (start with a letter or digit, then use letters, digits, '_', '-', '.')");
	/* Names become directories and GRUB titles: no "..", no leading '-'. */
	bad_has("[variant ..]\n", 1, "invalid variant name '..'");
	bad_has("[variant .]\n", 1, "invalid variant name '.'");
	bad_has("[variant -rf]\n", 1, "invalid variant name '-rf'");
	bad_has("[variant _x]\n", 1, "invalid variant name '_x'");
	bad_has("[variant a'b]\n", 1, "invalid variant name");
	bad_has("[variant caf\xc3\xa9]\n", 1, "invalid variant name");
	lab = parse_ok("[variant Build-64_v1.2]\n[variant 7]\n[variant  spaced ]\n");
	assert_int_equal(lab->nvariants, 3);
	assert_string_equal(lab->variants[0].name, "Build-64_v1.2");
	assert_string_equal(lab->variants[2].name, "spaced");
	assert_int_equal(lab->variants[2].line, 3);
	lab_free(lab);
}

static void test_duplicate_section(void **state)
{
	(void)state;
	bad("[board]\ntype = qemu\n[grub]\n[board]\n", 4,
	    "duplicate section [board] (first on line 1)");
	/* An empty first section still counts. */
	bad("[board]\n[board]\ntype = qemu\n", 2,
	    "duplicate section [board] (first on line 1)");
	bad("\n[grub]\n\n[deploy]\n[grub]\n", 5,
	    "duplicate section [grub] (first on line 2)");
	bad("[variant a]\narch = i386\n[variant b]\n[variant a]\n", 4,
	    "duplicate section [variant a] (first on line 1)");
	bad("[variant a]\n[variant a]\n", 2,
	    "duplicate section [variant a] (first on line 1)");
	bad("[variant a]\n[variant   a]\n", 2,
	    "duplicate section [variant a] (first on line 1)");
}

static void test_duplicate_key(void **state)
{
	struct lab *lab;

	(void)state;
	bad("[board]\ntype = qemu\ntype = qemu\n", 3,
	    "[board]: duplicate key 'type' (first set on line 2)");
	bad("[variant a]\narch = i386\n; c\narch = amd64\n", 4,
	    "[variant a]: duplicate key 'arch' (first set on line 2)");
	/* The same key in two variants is fine. */
	lab = parse_ok("[variant a]\narch = i386\n[variant b]\narch = i386\n");
	lab_free(lab);
}

static void test_outside_section(void **state)
{
	(void)state;
	bad("type = qemu\n[board]\n", 1,
	    "'type' is outside any section (start with e.g. [board])");
	bad("# comment\n\nfoo = bar\n", 3,
	    "'foo' is outside any section (start with e.g. [board])");
}

static void test_syntax_error(void **state)
{
	(void)state;
	bad("[board]\ntype = qemu\njunk\n", 3,
	    "syntax error: expected 'key = value', '[section]' or a comment");
}

static void test_continuation(void **state)
{
	struct lab *lab;

	(void)state;
	bad("[board]\ndescription = one\n  two\n", 3,
	    "indented line: continuation lines are not supported, put the value on one line");
	bad_has("[board]\ndescription = one\n\ttwo = 2\n", 3, "indented line");
	bad_has("  type = qemu\n", 1, "indented line");
	/* Indented comments and blank lines are fine. */
	lab = parse_ok("[board]\n  ; note\n\t# note\n   \ntype = qemu\n");
	lab_free(lab);
}

static void test_comments(void **state)
{
	struct lab *lab;

	(void)state;
	lab = parse_ok("; comment\n# comment\n[board]\n"
		       "type = laptop ; inline\n"
		       "host = h;not-a-comment\n"
		       "description = a ; b ; c\n"
		       "[grub]\ncmdline = x # stays\n");
	assert_string_equal(lab_get(lab, "board", "type"), "laptop");
	assert_string_equal(lab_get(lab, "board", "host"), "h;not-a-comment");
	assert_string_equal(lab_get(lab, "board", "description"), "a");
	/* '#' starts a comment only at the start of a line. */
	assert_string_equal(lab_get(lab, "grub", "cmdline"), "x # stays");
	lab_free(lab);
	/* "key =;x" would be ";x" but "key = ;x" a comment: refused. */
	bad("[board]\ndescription =;x\n", 2,
	    "[board] description: a value cannot start with ';' (after a space, ';' starts a comment)");
	bad_has("[power]\nplan =; ssh\n", 2, "[power] plan: a value cannot start with ';'");
	bad_has("[board]\ntype =;qemu\n", 2, "[board] type: a value cannot start with ';'");
	bad("[board]\ndescription = ;x\n", 2,
	    "[board] description: empty value (remove the line to use the default)");
	bad("[board]\ntype = qemu # not a comment\n", 2,
	    "[board] type: 'qemu # not a comment' is not one of: qemu, bochs, pc, laptop");
}

static void test_bom(void **state)
{
	struct lab *lab;

	(void)state;
	/* The keys of the first section are kept, not silently dropped. */
	lab = parse_ok("\xef\xbb\xbf[board]\ntype = laptop\nhost = h\n");
	assert_string_equal(lab_get(lab, "board", "type"), "laptop");
	assert_string_equal(lab_get(lab, "board", "host"), "h");
	lab_free(lab);
	bad("\xef\xbb\xbf[board]\nfoo = 1\n", 2, "[board]: unknown key 'foo'");
	bad("\xef\xbb\xbf[board]\n[board]\n", 2,
	    "duplicate section [board] (first on line 1)");
	bad("\xef\xbb\xbftype = qemu\n", 1,
	    "'type' is outside any section (start with e.g. [board])");
	/* Only at the very start. */
	bad("[board]\n\xef\xbb\xbftype = qemu\n", 2,
	    "[board]: unknown key '\xef\xbb\xbftype'");
}

static void test_nul_and_control(void **state)
{
	static const char nul[] = "[board]\ntype = qemu\ndescr\0iption = x\n";
	static const char nul_end[] = "[board]\n\0";
	struct lab *lab;

	(void)state;
	bad_len(nul, sizeof(nul) - 1, 3, "NUL byte in lab file");
	bad_len(nul_end, sizeof(nul_end) - 1, 2, "NUL byte in lab file");
	bad("[board]\ndescription = a\x01z\n", 2,
	    "control character 0x01 in column 16 (lab files are plain text)");
	bad_has("[board]\ndescription = \x1b[31mred\n", 2,
		"control character 0x1b");
	bad_has("[board]\ndescription = a\x7f\n", 2, "control character 0x7f");
	/* Tabs are text. */
	lab = parse_ok("[board]\ndescription =\ta\tb\n");
	assert_string_equal(lab_get(lab, "board", "description"), "a\tb");
	lab_free(lab);
}

static void test_utf8(void **state)
{
	struct lab *lab;

	(void)state;
	lab = parse_ok("[board]\ndescription = caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7\n");
	assert_string_equal(lab_get(lab, "board", "description"),
			    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7");
	lab_free(lab);
	bad("[board]\ndescription = caf\xe9\n", 2,
	    "invalid UTF-8 (byte 0xe9 in column 18); save the file as UTF-8");
	bad_has("[board]\ndescription = \xc0\xaf\n", 2, "invalid UTF-8");
	bad_has("[board]\ndescription = \xed\xa0\x80\n", 2, "invalid UTF-8");
	bad_has("[board]\ndescription = \xf4\x90\x80\x80\n", 2, "invalid UTF-8");
	bad_has("[board]\ndescription = \xe2\x82\n", 2, "invalid UTF-8");
	bad("[board]\ndescription = \xc3(\n", 2,
	    "invalid UTF-8 (byte 0xc3 in column 15); save the file as UTF-8");
	bad_has("[board]\ndescription = \xf8\x88\x80\x80\x80\n", 2, "invalid UTF-8");
}

static void test_long_lines(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	const char *head = "description = ";
	struct lab *lab;
	size_t n;

	(void)state;
	/*
	 * Exactly 1024 bytes: fine, also with a CRLF end.  (This needs the
	 * libinih tunables Debian exports; with a libinih that has only its
	 * 200-byte buffer the loader reports "line longer than 198 bytes".)
	 */
	strbuf_addstr(&sb, "[board]\n");
	strbuf_addstr(&sb, head);
	for (n = strlen(head); n < 1024; n++)
		strbuf_addch(&sb, 'a' + (char)(n % 26));
	strbuf_addstr(&sb, "\r\n[grub]\n");
	lab = parse_ok_len(strbuf_str(&sb), sb.len);
	assert_int_equal(strlen(lab_get(lab, "board", "description")),
			 1024 - strlen(head));
	lab_free(lab);

	/* 1025: the message names the limit that is really applied. */
	strbuf_reset(&sb);
	strbuf_addstr(&sb, "[board]\n; x\n");
	strbuf_addstr(&sb, head);
	for (n = strlen(head); n < 1025; n++)
		strbuf_addch(&sb, 'x');
	strbuf_addstr(&sb, "\n[board]\n");
	bad_len(strbuf_str(&sb), sb.len, 3, "line longer than 1024 bytes");

	/* Without a newline at the end, and as a comment. */
	strbuf_reset(&sb);
	strbuf_addstr(&sb, "[board]\n#");
	for (n = 1; n < 5000; n++)
		strbuf_addch(&sb, '#');
	bad_len(strbuf_str(&sb), sb.len, 2, "line longer than 1024 bytes");
	strbuf_release(&sb);
}

/* Long messages are cut at a character boundary (they go into JSON). */
static void test_long_message(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct lab *lab = NULL;
	const char *msg;
	int i, ret, odd;

	(void)state;
	/* Both parities, so that the cut falls inside a character once. */
	for (odd = 0; odd < 2; odd++) {
		strbuf_reset(&sb);
		strbuf_addstr(&sb, odd ? "[board]\nx" : "[board]\n");
		for (i = 0; i < 500; i++)
			strbuf_addstr(&sb, "\xc3\xa9");
		strbuf_addstr(&sb, " = 1\n");
		ret = lab_parse(PATH, strbuf_str(&sb), sb.len, &lab);
		assert_int_equal(ret, -LAB_ECONFIG);
		msg = lab_errmsg(ret);
		assert_true(starts_with(msg, PATH ":2: [board]: unknown key '"));
		assert_true(utf8_ok(msg));
		assert_string_equal(msg + strlen(msg) - 3, "...");
		assert_true(strlen(msg) < 800);
	}
	strbuf_release(&sb);
}

/* ------------------------------------------------------- value errors */

static void test_bad_int(void **state)
{
	struct lab *lab;

	(void)state;
	bad("[board]\nsmp = two\n", 2, "[board] smp: 'two' is not a number");
	bad("[board]\nsmp = 4x\n", 2, "[board] smp: '4x' is not a number");
	bad("[board]\nsmp = 0x\n", 2, "[board] smp: '0x' is not a number");
	bad("[board]\nsmp =\n", 2, "[board] smp: '' is not a number");
	bad("[board]\nsmp = 99999999999999999999\n", 2,
	    "[board] smp: '99999999999999999999' is not a number");
	bad("[board]\nsmp = 65\n", 2, "[board] smp: 65 is out of range (1..64)");
	bad("[board]\nsmp = 0\n", 2, "[board] smp: 0 is out of range (1..64)");
	bad("[board]\nsmp = -1\n", 2, "[board] smp: -1 is out of range (1..64)");
	bad(LAPTOP "ssh_port = 65536\n", 4,
	    "[board] ssh_port: 65536 is out of range (1..65535)");
	bad("[variant v]\noptions = 0x100000000\n", 2,
	    "[variant v] options: 0x100000000 is out of range (0..4294967295)");
	/* Decimal (a leading zero is not octal) or hex. */
	lab = parse_ok("[board]\nsmp = 010\ngdb_port = 0x1F90\n[variant v]\noptions = 0xffffffff\n");
	assert_int_equal(lab_get_int(lab, "board", "smp"), 10);
	assert_int_equal(lab_get_int(lab, "board", "gdb_port"), 8080);
	lab_free(lab);
	lab = parse_ok("[board]\nsmp = 08\n");
	assert_int_equal(lab_get_int(lab, "board", "smp"), 8);
	lab_free(lab);
}

static void test_parse_int(void **state)
{
	int64_t v;

	(void)state;
	assert_int_equal(lab_parse_int("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(lab_parse_int("022", &v), 0);
	assert_int_equal(v, 22);
	assert_int_equal(lab_parse_int("0x10", &v), 0);
	assert_int_equal(v, 16);
	assert_int_equal(lab_parse_int("0X1f", &v), 0);
	assert_int_equal(v, 31);
	assert_int_equal(lab_parse_int("-0x10", &v), 0);
	assert_int_equal(v, -16);
	assert_int_equal(lab_parse_int("+7", &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(lab_parse_int("9223372036854775807", &v), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(lab_parse_int("9223372036854775808", &v), -LAB_EINVAL);
	assert_int_equal(lab_parse_int("", &v), -LAB_EINVAL);
	assert_int_equal(lab_parse_int(" 1", &v), -LAB_EINVAL);
	assert_int_equal(lab_parse_int("1 ", &v), -LAB_EINVAL);
	assert_int_equal(lab_parse_int("0x", &v), -LAB_EINVAL);
	assert_int_equal(lab_parse_int("0b1", &v), -LAB_EINVAL);
	assert_int_equal(lab_parse_int("1e3", &v), -LAB_EINVAL);
}

static void test_bad_bool(void **state)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	bool b;
	size_t i;

	(void)state;
	bad("[board]\nbattery = maybe\n", 2,
	    "[board] battery: 'maybe' is not a boolean (use yes/no, true/false, on/off or 1/0)");
	bad_has("[deploy]\nsudo = Yes\n", 2, "'Yes' is not a boolean");
	bad_has("[deploy]\nsudo =\n", 2, "'' is not a boolean");
	for (i = 0; i < 4; i++) {
		b = false;
		assert_int_equal(lab_parse_bool(yes[i], &b), 0);
		assert_true(b);
		assert_int_equal(lab_parse_bool(no[i], &b), 0);
		assert_false(b);
	}
	assert_int_equal(lab_parse_bool("2", &b), -LAB_EINVAL);
}

static void test_bad_enum(void **state)
{
	(void)state;
	bad("[board]\ntype = server\n", 2,
	    "[board] type: 'server' is not one of: qemu, bochs, pc, laptop");
	bad("[board]\nkvm =\n", 2, "[board] kvm: '' is not one of: no, auto, yes");
	bad("[power]\ndriver = QEMU\n", 2,
	    "[power] driver: 'QEMU' is not one of: qemu, ssh, cmd, http, amt, ipmi, ftdi-relay, gpio, dummy, fault, bochs");
	bad_has("[variant v]\nrecipe = xmhf\n", 2,
		"[variant v] recipe: 'xmhf' is not one of: standin, xmhf64");
	/* A prefix of a choice is not a choice. */
	bad_has("[board]\ntype = qem\n", 2, "'qem' is not one of");
	bad_has("[board]\ntype = qemu|pc\n", 2, "'qemu|pc' is not one of");
}

static void test_bad_duration(void **state)
{
	struct lab *lab;

	(void)state;
	bad("[power]\noff_time = 5 parsecs\n", 2,
	    "[power] off_time: '5 parsecs' is not a duration (e.g. 500ms, 30s, 2m)");
	bad_has("[power]\noff_time = nan\n", 2, "'nan' is not a duration");
	bad_has("[power]\noff_time = inf\n", 2, "'inf' is not a duration");
	bad_has("[power]\noff_time = -1s\n", 2, "'-1s' is not a duration");
	bad_has("[power]\noff_time = 1e300d\n", 2, "'1e300d' is not a duration");
	bad_has("[power]\noff_time =\n", 2, "'' is not a duration");
	lab = parse_ok("[power]\noff_time = 250ms\n");
	assert_string_equal(lab_get(lab, "power", "off_time"), "250ms");
	lab_free(lab);
	lab = parse_ok("[power]\noff_time = 2m\n");
	lab_free(lab);
}

static void test_bad_size(void **state)
{
	int64_t mib;

	(void)state;
	bad("[board]\nmemory = 1T\n", 2,
	    "[board] memory: '1T' is not a size (e.g. 256M, 1G)");
	bad_has("[board]\nmemory = 0\n", 2, "'0' is not a size");
	bad_has("[board]\nmemory = -5M\n", 2, "'-5M' is not a size");
	bad_has("[board]\nmemory = M\n", 2, "'M' is not a size");
	bad_has("[board]\nmemory = 1099511627776G\n", 2, "is not a size");
	assert_int_equal(lab_parse_size_mib("256M", &mib), 0);
	assert_int_equal(mib, 256);
	assert_int_equal(lab_parse_size_mib("512", &mib), 0);
	assert_int_equal(mib, 512);
	assert_int_equal(lab_parse_size_mib("2G", &mib), 0);
	assert_int_equal(mib, 2048);
	assert_int_equal(lab_parse_size_mib("3GiB", &mib), 0);
	assert_int_equal(mib, 3072);
	assert_int_equal(lab_parse_size_mib("1MiB", &mib), 0);
	assert_int_equal(mib, 1);
	assert_int_equal(lab_parse_size_mib("1k", &mib), -LAB_EINVAL);
}

#define HTTP LAPTOP "[power]\ndriver = http\n"

static void test_bad_url(void **state)
{
	struct lab *lab;

	(void)state;
	bad(HTTP "url = ftp://pdu/\n", 6,
	    "[power] url: 'ftp://pdu/' is not an http:// or https:// URL");
	bad_has(HTTP "url = pdu.example\n", 6, "is not an http:// or https:// URL");
	bad_has(HTTP "url = HTTP://pdu/\n", 6, "is not an http:// or https:// URL");
	bad(HTTP "url = http://\n", 6, "[power] url: 'http://' has no host name");
	bad_has(HTTP "url = https:///x\n", 6, "has no host name");
	bad(HTTP "url = http://pdu/a b\n", 6,
	    "[power] url: 'http://pdu/a b' contains a space (write it as %20)");
	lab = parse_ok(HTTP "url = https://pdu:8443/api?x=1\n");
	lab_free(lab);
}

static void test_empty_value(void **state)
{
	(void)state;
	bad("[board]\ndescription =\n", 2,
	    "[board] description: empty value (remove the line to use the default)");
	bad_has("[deploy]\ndir = \n", 2, "[deploy] dir: empty value");
	bad_has(LAPTOP "[console]\ndriver = ipmi-sol\npassword_file =\n", 6,
		"[console] password_file: empty value");
}

/* ------------------------------------------------ driver and type keys */

static void test_driver_keys(void **state)
{
	struct lab *lab;

	(void)state;
	bad(LAPTOP "[power]\ndriver = ssh\nurl = http://pdu/\n", 6,
	    "[power]: power driver 'ssh' does not take key 'url' (only http)");
	bad(LAPTOP "[power]\ndriver = amt\nchip = gpiochip0\n", 6,
	    "[power]: power driver 'amt' does not take key 'chip' (only gpio)");
	bad(LAPTOP "[console]\ndriver = tty\nhost = x\n", 6,
	    "[console]: console driver 'tty' does not take key 'host' (only tcp, telnet, ipmi-sol, amt-sol, ssh)");
	/* Order does not matter: a driver key before the driver is fine. */
	lab = parse_ok(LAPTOP "[power]\nurl = http://pdu/\nchannel = 3\ndriver = http\n");
	assert_string_equal(lab_get(lab, "power", "url"), "http://pdu/");
	lab_free(lab);
	/* No driver at all (a laptop has no default). */
	bad(LAPTOP "[power]\nurl = http://pdu/\n", 5,
	    "[power] url: no driver is set; this key is for driver = http");
	bad(LAPTOP "[power]\npassword_file = /x\n", 5,
	    "[power] password_file: no driver is set; this key is for driver = ipmi, http, amt");
	bad(LAPTOP "[console]\ndevice = /dev/ttyS0\n", 5,
	    "[console] device: no driver is set; this key is for driver = tty");
	/* On a QEMU board the driver defaults to qemu. */
	bad("[power]\nurl = http://pdu/\n", 2,
	    "[power]: power driver 'qemu' does not take key 'url' (only http)");
}

static void test_board_type_keys(void **state)
{
	(void)state;
	bad("[board]\nhost = x\n", 2,
	    "[board]: board type 'qemu' does not take key 'host' (only pc, laptop)");
	bad(LAPTOP "memory = 1G\n", 4,
	    "[board]: board type 'laptop' does not take key 'memory' (only qemu, bochs)");
	bad("[board]\nsmp = 4\ntype = pc\nhost = x\n", 2,
	    "[board]: board type 'pc' does not take key 'smp' (only qemu, bochs)");
	bad("[variant b]\nsrc = /x\n", 2,
	    "[variant b]: recipe 'standin' does not take key 'src' (only xmhf64)");
	bad("[variant b]\nrecipe = xmhf64\nsrc = /x\narch = i386\n", 4,
	    "[variant b]: recipe 'xmhf64' does not take key 'arch' (only standin)");
}

static void test_secrets(void **state)
{
	(void)state;
	bad(LAPTOP "[power]\ndriver = amt\npassword = hunter2\n", 6,
	    "[power] password: secrets are not allowed in lab files; use password_file = PATH (mode 0600) or the environment");
	bad("[power]\npassword = x\n", 2,
	    "[power] password: secrets are not allowed in lab files; use password_file = PATH (mode 0600) or the environment");
	bad_has("[console]\npasswd = x\n", 2,
		"[console] passwd: secrets are not allowed in lab files");
	bad_has("[board]\namt_password = x\n", 2, "secrets are not allowed");
	bad_has("[variant v]\napi_token = x\n", 2,
		"[variant v] api_token: secrets are not allowed");
	bad_has("[grub]\nsecret = x\n", 2, "secrets are not allowed");
	/* A *_file key that does not exist here is just unknown. */
	bad("[board]\npassword_file = /x\n", 2,
	    "[board]: unknown key 'password_file'");
}

static void test_cross_checks(void **state)
{
	struct lab *lab;

	(void)state;
	bad("[variant a]\n[variant b]\nrecipe = xmhf64\nargs = amd64\n", 2,
	    "[variant b]: recipe xmhf64 needs src = PATH of the XMHF64 tree");
	bad("# laptop\n[board]\ndescription = x\ntype = laptop\n", 4,
	    "[board]: type laptop needs host = the board's ssh host name");
	bad("[board]\ntype = pc\n", 2,
	    "[board]: type pc needs host = the board's ssh host name");
	bad("[power]\ndriver = ssh\n", 2,
	    "[power] driver: a QEMU board is powered by the qemu driver, not 'ssh'");
	bad("[board]\ntype = qemu\n[console]\ndriver = tty\ndevice = /dev/ttyS0\n", 4,
	    "[console] driver: a QEMU board's console is the qemu driver, not 'tty'");
	bad(LAPTOP "[power]\ndriver = qemu\n", 5,
	    "[power] driver: the qemu driver only powers a QEMU board (type = qemu), not a laptop");
	bad(LAPTOP "[console]\ndriver = qemu\n", 5,
	    "[console] driver: the qemu console only works on a QEMU board (type = qemu), not a laptop");
	/* The fault driver may wrap a QEMU board's power. */
	lab = parse_ok("[power]\ndriver = fault\nwraps = qemu\nfail_rate = 100\n");
	assert_string_equal(lab_get(lab, "power", "driver"), "fault");
	lab_free(lab);
	lab = parse_ok("[power]\ndriver = qemu\n[console]\ndriver = qemu\n");
	lab_free(lab);
}

/* -------------------------------------------------------------- files */

static char *tmpdir;
static char *oldcwd;

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int files_setup(void **state)
{
	char tmpl[] = "/tmp/labconf-test.XXXXXX";
	char *p;

	(void)state;
	oldcwd = getcwd(NULL, 0);
	if (!oldcwd || !mkdtemp(tmpl))
		return -1;
	tmpdir = xstrdup(tmpl);
	p = xasprintf("%s/a", tmpdir);
	mkdir(p, 0755);
	free(p);
	p = xasprintf("%s/b", tmpdir);
	mkdir(p, 0755);
	free(p);
	p = xasprintf("%s/labs", tmpdir);
	mkdir(p, 0755);
	free(p);
	return 0;
}

static int files_teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);
	int rc;

	(void)state;
	rc = chdir(oldcwd);
	unsetenv("LABCTL_LABS");
	if (system(cmd) != 0)
		rc = -1;
	free(cmd);
	free(tmpdir);
	free(oldcwd);
	return rc;
}

static void test_lab_find(void **state)
{
	char *env, *p, *want;

	(void)state;
	assert_int_equal(chdir(tmpdir), 0);
	write_file("a/x.conf", "");
	write_file("b/x.conf", "");
	write_file("b/y.conf", "");
	write_file("labs/x.conf", "");
	write_file("labs/z.conf", "");
	mkdir("labs/d.conf", 0755);
	env = xasprintf("%s/a::%s/b", tmpdir, tmpdir);
	setenv("LABCTL_LABS", env, 1);

	/* $LABCTL_LABS in order, then ./labs. */
	p = lab_find("x");
	want = xasprintf("%s/a/x.conf", tmpdir);
	assert_string_equal(p, want);
	free(p);
	free(want);
	p = lab_find("y");
	want = xasprintf("%s/b/y.conf", tmpdir);
	assert_string_equal(p, want);
	free(p);
	free(want);
	p = lab_find("z");
	assert_string_equal(p, "labs/z.conf");
	free(p);
	/* Without $LABCTL_LABS, ./labs. */
	unsetenv("LABCTL_LABS");
	p = lab_find("x");
	assert_string_equal(p, "labs/x.conf");
	free(p);
	setenv("LABCTL_LABS", env, 1);

	/* An unknown name: the message lists where it looked. */
	setenv("XDG_CONFIG_HOME", "/nonexistent-xdg", 1);
	assert_null(lab_find("nope"));
	unsetenv("XDG_CONFIG_HOME");
	want = xasprintf("unknown lab 'nope' (looked in %s/a, %s/b, labs, /nonexistent-xdg/labctl/labs, %s/labs; `labctl labs` lists the labs)",
			 tmpdir, tmpdir, LABCTL_DATADIR);
	assert_string_equal(lab_errmsg(-LAB_ENOENT), want);
	free(want);
	/* A directory is not a lab file. */
	assert_null(lab_find("d"));

	/* Names with a '/' or ".conf" are paths, normalised. */
	p = lab_find("./labs/z.conf");
	assert_string_equal(p, "labs/z.conf");
	free(p);
	p = lab_find("labs/z.conf");
	assert_string_equal(p, "labs/z.conf");
	free(p);
	assert_null(lab_find("a/nope.conf"));
	assert_string_equal(lab_errmsg(-LAB_ENOENT),
			    "lab file a/nope.conf does not exist");
	assert_null(lab_find("y.conf"));	/* not searched for */
	assert_string_equal(lab_errmsg(-LAB_ENOENT),
			    "lab file y.conf does not exist");
	assert_null(lab_find("labs/d.conf"));
	assert_null(lab_find(""));
	assert_string_equal(lab_errmsg(-LAB_ENOENT), "empty lab name");

	free(env);
	unsetenv("LABCTL_LABS");
	assert_int_equal(chdir(oldcwd), 0);
}

static void test_lab_load(void **state)
{
	struct lab *lab = (struct lab *)&lab;
	char *path, *want;
	FILE *f;
	int i;

	(void)state;
	assert_int_equal(chdir(tmpdir), 0);
	write_file("labs/bad.conf", "[board]\ntype = qemu\nfoo = 1\n");
	write_file("labs/good.conf", "[board]\ndescription = good\n");

	assert_int_equal(lab_open("good", &lab), 0);
	assert_string_equal(lab->name, "good");
	assert_string_equal(lab->path, "labs/good.conf");
	assert_string_equal(lab_get(lab, "board", "description"), "good");
	lab_free(lab);

	assert_int_equal(lab_open("bad", &lab), -LAB_ECONFIG);
	assert_null(lab);
	assert_string_equal(lab_errmsg(-LAB_ECONFIG),
			    "labs/bad.conf:3: [board]: unknown key 'foo'");
	path = xasprintf("%s/labs/bad.conf", tmpdir);
	assert_int_equal(lab_open(path, &lab), -LAB_ECONFIG);
	want = xasprintf("%s:3: [board]: unknown key 'foo'", path);
	assert_string_equal(lab_errmsg(-LAB_ECONFIG), want);
	free(want);
	free(path);

	assert_int_equal(lab_open("nope", &lab), -LAB_ENOENT);
	assert_null(lab);
	assert_int_equal(lab_load("labs/nope.conf", &lab), -LAB_ENOENT);
	assert_non_null(strstr(lab_errmsg(-LAB_ENOENT), "labs/nope.conf"));
	/* Unreadable things are configuration errors with a message. */
	mkdir("labs/dir.conf", 0755);
	assert_int_equal(lab_load("labs/dir.conf", &lab), -LAB_ECONFIG);
	assert_non_null(strstr(lab_errmsg(-LAB_ECONFIG), "labs/dir.conf"));
	f = fopen("labs/big.conf", "w");
	assert_non_null(f);
	for (i = 0; i < 40000; i++)
		fputs("; a comment line that makes this file big\n", f);
	fclose(f);
	assert_int_equal(lab_load("labs/big.conf", &lab), -LAB_ECONFIG);
	assert_string_equal(lab_errmsg(-LAB_ECONFIG),
			    "labs/big.conf is larger than 1048576 bytes");
	assert_int_equal(chdir(oldcwd), 0);
}

/* --------------------------------------------------------------- show */

static char *show_text(const struct lab *lab)
{
	struct strbuf sb = STRBUF_INIT;

	lab_show_text(lab, &sb);
	return strbuf_detach(&sb, NULL);
}

static char *show_json(const struct lab *lab)
{
	struct strbuf sb = STRBUF_INIT;

	lab_show_json(lab, &sb);
	return strbuf_detach(&sb, NULL);
}

static void test_show_full(void **state)
{
	struct lab *lab;
	char *text, *json;

	(void)state;
	lab = parse_ok(full_lab);
	text = show_text(lab);
	assert_true(starts_with(text, "# lab t (labs/t.conf)\n"));
	assert_non_null(strstr(text, "\n[board]\ntype = laptop\n"));
	assert_non_null(strstr(text, "\nuser = tester\n"));
	assert_non_null(strstr(text, "\nurl = http://admin@pdu.example/api\n"));
	assert_non_null(strstr(text, "\npassword_file = /etc/labctl/pdu.pw\n"));
	assert_non_null(strstr(text, "\n[variant build64]\nrecipe = xmhf64\n"));
	assert_non_null(strstr(text, "\nentry = My Entry\n"));
	assert_non_null(strstr(text, "\n[variant lhv.1]\n"));
	assert_non_null(strstr(text, "\nentry = T-lhv.1  ; (default)\n"));
	assert_non_null(strstr(text, "\nflavor = pdudaemon\n"));
	assert_null(strstr(text, "active_low"));
	/* Keys the board type or driver does not take are not shown. */
	assert_null(strstr(text, "memory"));
	assert_null(strstr(text, "state_file"));
	assert_null(strstr(text, "s3cret"));

	json = show_json(lab);
	assert_true(json_valid(json));
	assert_true(starts_with(json, "{\"name\":\"t\",\"path\":\"labs/t.conf\",\"board\":{\"type\":\"laptop\","));
	assert_non_null(strstr(json, "\"url\":\"http://admin@pdu.example/api\""));
	assert_non_null(strstr(json, "\"variants\":[{\"name\":\"build64\",\"recipe\":\"xmhf64\""));
	assert_non_null(strstr(json, "\"entry\":\"T-lhv.1\""));
	assert_null(strstr(json, "s3cret"));
	assert_null(strstr(json, "memory"));
	assert_string_equal(json + strlen(json) - 3, "]}\n");
	free(text);
	free(json);
	lab_free(lab);
}

static void test_show_defaults(void **state)
{
	struct lab *lab;
	char *text, *json;

	(void)state;
	lab = parse_ok("[grub]\nmax_stages = 3\n");
	text = show_text(lab);
	assert_non_null(strstr(text, "\n[board]\ntype = qemu  ; (default)\n"));
	assert_non_null(strstr(text, "\n[power]\ndriver = qemu  ; (default)\n"));
	assert_non_null(strstr(text, "\nmethod = image  ; (default)\n"));
	assert_non_null(strstr(text, "\nmax_stages = 3\n"));
	assert_non_null(strstr(text, "\nroot = (hd0,msdos1)  ; (default)\n"));
	assert_null(strstr(text, "[variant"));
	assert_null(strstr(text, "host ="));
	json = show_json(lab);
	assert_true(json_valid(json));
	assert_non_null(strstr(json, "\"variants\":[]}"));
	assert_non_null(strstr(json, "\"max_stages\":\"3\""));
	free(text);
	free(json);
	lab_free(lab);

	/* A laptop without drivers: empty objects are still valid JSON. */
	lab = parse_ok(LAPTOP "[variant v]\n");
	json = show_json(lab);
	assert_true(json_valid(json));
	assert_non_null(strstr(json, ",\"power\":{\"off_time\":\"5s\"},\"console\":{"));
	assert_non_null(strstr(json, "\"variants\":[{\"name\":\"v\",\"recipe\":\"standin\""));
	free(json);
	lab_free(lab);
}

static void check_shown(const char *url)
{
	char *text, *json, *line, *jv;
	struct lab *lab;
	char *src = xasprintf(HTTP "url = %s\n", url);

	lab = parse_ok(src);
	text = show_text(lab);
	json = show_json(lab);
	line = xasprintf("\nurl = %s\n", url);
	jv = xasprintf("\"url\":\"%s\"", url);
	if (!strstr(text, line) || !strstr(json, jv))
		fail_msg("url %s\n--- text:\n%s\n--- json:\n%s", url, text, json);
	assert_true(json_valid(json));
	free(src);
	free(text);
	free(json);
	free(line);
	free(jv);
	lab_free(lab);
}

static void check_refused(const char *url)
{
	char *src = xasprintf(HTTP "url = %s\n", url);

	bad_has(src, 6, "the URL holds a password; lab files never hold secrets");
	free(src);
}

/* Lab files never hold secrets: a password in a URL is refused. */
static void test_redaction(void **state)
{
	(void)state;
	check_refused("http://user:pw@host/");
	check_refused("https://user:pw@host");
	check_refused("http://user:pw@host:8080/x");
	check_refused("http://u:p@ss@host/");
	check_refused("http://u:p:q@host/");
	check_refused("http://u:pw@host?q=a@b");
	check_refused("http://u:@host/");
	/* Nothing secret: shown as written. */
	check_shown("http://user@host/");
	check_shown("http://host:8080/");
	check_shown("http://host/a:b@c");
	check_shown("http://host?x=a:b@c");
	check_shown("http://host#a:b@c");
}

/* Quotes, backslashes, tabs and UTF-8 in values stay valid JSON. */
static void test_show_json_escapes(void **state)
{
	struct lab *lab;
	char *json, *text;

	(void)state;
	lab = parse_ok("[board]\ndescription = a \"q\" \\ b\tc caf\xc3\xa9\n"
		       "[grub]\ncmdline = x=\"1 2\"\n");
	json = show_json(lab);
	assert_true(json_valid(json));
	assert_non_null(strstr(json, "\"description\":\"a \\\"q\\\" \\\\ b\\tc caf\xc3\xa9\""));
	text = show_text(lab);
	assert_non_null(strstr(text, "\ndescription = a \"q\" \\ b\tc caf\xc3\xa9\n"));
	free(json);
	free(text);
	lab_free(lab);
}

/* Every schema entry is well formed; its default passes its own check. */
/* Run fn(lab) in a child; true when it died of an assertion (SIGABRT). */
static bool aborts(void (*fn)(const struct lab *), const struct lab *lab)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, 2);	/* the assertion's message */
		fn(lab);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void get_unknown_key(const struct lab *lab)
{
	lab_get(lab, "board", "nosuchkey");
}

static void get_unknown_section(const struct lab *lab)
{
	lab_get(lab, "nosuch", "type");
}

static void get_unknown_variant_key(const struct lab *lab)
{
	lab_variant_get(&lab->variants[0], "nosuchkey");
}

static void get_int_of_string(const struct lab *lab)
{
	lab_get_int(lab, "grub", "cmdline");
}

static void get_known_keys(const struct lab *lab)
{
	lab_get(lab, "board", "description");
	lab_get_int(lab, "grub", "max_stages");
	lab_variant_get(&lab->variants[0], "recipe");
}

/* A key the schema does not know is a programming error, not "unset". */
static void test_unknown_key_asserts(void **state)
{
	struct lab *lab;

	(void)state;
	lab = parse_ok("[variant v]\n");
	assert_false(aborts(get_known_keys, lab));
	assert_true(aborts(get_unknown_key, lab));
	assert_true(aborts(get_unknown_section, lab));
	assert_true(aborts(get_unknown_variant_key, lab));
	assert_true(aborts(get_int_of_string, lab));
	lab_free(lab);
}

/* The next "..." string literal at *p, copied to out; false if none. */
static bool next_literal(const char **p, char *out, size_t size)
{
	const char *s = *p, *e;

	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	if (*s != '"')
		return false;
	e = strchr(s + 1, '"');
	if (!e || (size_t)(e - s - 1) >= size)
		return false;
	memcpy(out, s + 1, (size_t)(e - s - 1));
	out[e - s - 1] = '\0';
	*p = e + 1;
	while (**p == ' ' || **p == '\t' || **p == '\n')
		(*p)++;
	if (**p == ',')
		(*p)++;
	return true;
}

static bool schema_has(const char *section, const char *key)
{
	const struct lab_key_def *d;

	for (d = lab_schema; d->key; d++)
		if (!strcmp(d->section, section) && !strcmp(d->key, key))
			return true;
	return false;
}

/*
 * Every lab_get*() call in the sources that names its key as literals
 * names a key of the schema (the assertion finds the others at run time),
 * and no call passes a default of its own.
 */
static void test_call_sites_in_schema(void **state)
{
	static const char *const globs[] = {
		"labctl/*.c", "power/*.c", "serial-capture/*.c", "report/*.c",
	};
	int files = 0;
	size_t g, i;

	(void)state;
	for (g = 0; g < sizeof(globs) / sizeof(globs[0]); g++) {
		glob_t gl;

		if (glob(globs[g], 0, NULL, &gl))
			continue;
		for (i = 0; i < gl.gl_pathc; i++) {
			struct strbuf sb = STRBUF_INIT;
			const char *p;

			if (strstr(gl.gl_pathv[i], "labconf.c"))
				continue;
			assert_int_equal(lab_read_regular_file(&sb, gl.gl_pathv[i], 0) < 0, 0);
			files++;
			for (p = strbuf_str(&sb); (p = strstr(p, "lab_get")); ) {
				char section[64], key[64];
				const char *q = p + 7;

				p = q;
				q += strspn(q, "abcdefghijklmnopqrstuvwxyz_");
				if (*q != '(')
					continue;
				q = strchr(q, ',');	/* past the lab */
				if (!q)
					break;
				q++;
				if (!next_literal(&q, section, sizeof(section)) ||
				    !next_literal(&q, key, sizeof(key)))
					continue;
				if (!schema_has(section, key))
					fail_msg("%s: lab_get*(..., \"%s\", \"%s\"): no such key in the schema",
						 gl.gl_pathv[i], section, key);
				if (*q != ')')
					fail_msg("%s: lab_get*(..., \"%s\", \"%s\", ...): defaults live in the schema",
						 gl.gl_pathv[i], section, key);
			}
			strbuf_release(&sb);
		}
		globfree(&gl);
	}
	/* Run from the top of the tree, where the sources are. */
	assert_true(files > 0);
}

/*
 * A default is written once: a key whose default depends on the board
 * type has none in the schema.
 */
static void test_default_written_once(void **state)
{
	static const char *const dynamic[][2] = {
		{ "power", "driver" }, { "console", "driver" },
		{ "deploy", "method" }, { "grub", "root" },
	};
	const struct lab_key_def *d;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(dynamic) / sizeof(dynamic[0]); i++)
		for (d = lab_schema; d->key; d++)
			if (!strcmp(d->section, dynamic[i][0]) &&
			    !strcmp(d->key, dynamic[i][1]))
				assert_null(d->def);
}

/*
 * Every key of [board], [deploy], [grub], [lock], [watch] and [build] is
 * resolved into its typed field, and each field has the key's C type.
 */
static void test_cfg_fields_cover_schema(void **state)
{
	static const char *const typed[] = {
		"board", "deploy", "grub", "lock", "watch", "build",
	};
	const struct lab_cfg_field *f, *g;
	const struct lab_key_def *d;
	size_t i;

	(void)state;
	for (f = lab_cfg_fields; f->key; f++) {
		for (d = lab_schema; d->key; d++)
			if (!strcmp(d->section, f->section) && !strcmp(d->key, f->key))
				break;
		if (!d->key)
			fail_msg("field for %s.%s: no such key", f->section, f->key);
		if (f->ctype != lab_cfg_ctype(d->type))
			fail_msg("field for %s.%s has C type '%c', the key '%c'",
				 f->section, f->key, f->ctype, lab_cfg_ctype(d->type));
		for (g = lab_cfg_fields; g != f; g++)
			if (g->offset == f->offset)
				fail_msg("%s.%s and %s.%s share a field", g->section,
					 g->key, f->section, f->key);
	}
	for (d = lab_schema; d->key; d++) {
		for (i = 0; i < sizeof(typed) / sizeof(typed[0]); i++)
			if (!strcmp(d->section, typed[i]))
				break;
		if (i == sizeof(typed) / sizeof(typed[0]))
			continue;
		for (f = lab_cfg_fields; f->key; f++)
			if (!strcmp(d->section, f->section) && !strcmp(d->key, f->key))
				break;
		if (!f->key)
			fail_msg("%s.%s has no field in struct lab", d->section, d->key);
	}
}

/* The typed fields hold what lab_get resolves, defaults included. */
static void test_cfg_fields_resolved(void **state)
{
	struct lab *lab;

	(void)state;
	lab = parse_ok("");
	assert_string_equal(lab->board.type, "qemu");
	assert_int_equal(lab->board.smp, 2);
	assert_int_equal(lab->board.memory_mib, 256);
	assert_false(lab->board.battery);
	assert_null(lab->board.host);
	assert_string_equal(lab->power.driver, "qemu");
	assert_string_equal(lab->console.driver, "qemu");
	assert_int_equal(lab->power.off_time_ms, 5000);
	assert_true(lab->power.confirm_timeout_ms == LAB_UNSET);
	assert_string_equal(lab->deploy.method, "image");
	assert_string_equal(lab->grub.root, "(hd0,msdos1)");
	assert_int_equal(lab->grub.max_stages, 9);
	assert_int_equal(lab->watch.timeout_ms, 300000);
	assert_int_equal(lab->watch.cpus, 0);
	assert_int_equal(lab->watch.iter_min, 20);
	assert_int_equal(lab->lock.ttl_ms, 30 * 60 * 1000);
	assert_string_equal(lab->lock.prefix, "/labctl/");
	assert_int_equal(lab->build.cache_size_mib, 512);
	lab_free(lab);

	lab = parse_ok(LAPTOP "battery = yes\n" "ssh_port = 2222\n"
		       "up_timeout = 2m\n"
		       "[deploy]\nsudo = on\n[watch]\ncpus = 4\n"
		       "[build]\ncache_size = 2G\n");
	assert_true(lab->board.battery);
	assert_int_equal(lab->board.ssh_port, 2222);
	assert_int_equal(lab->board.up_timeout_ms, 120000);
	assert_string_equal(lab->deploy.method, "sftp");
	assert_true(lab->deploy.sudo);
	assert_null(lab->grub.root);
	assert_null(lab->console.driver);
	assert_int_equal(lab->watch.cpus, 4);
	assert_int_equal(lab->build.cache_size_mib, 2048);
	lab_free(lab);
}

/*
 * A board type's own defaults (board_ops.defaults) win over the schema's
 * and lose to the lab file: the Bochs board's memory, CPU model and
 * minute-scale watch timeouts; the QEMU board keeps the schema's.
 */
static void test_board_type_defaults(void **state)
{
	struct lab *lab;

	(void)state;
	lab = parse_ok("[board]\ntype = bochs\n");
	assert_int_equal(lab->board.memory_mib, 1024);
	assert_string_equal(lab->board.cpu, "corei7_sandy_bridge_2600k");
	assert_int_equal(lab->board.ips, 200000000);
	assert_int_equal(lab->board.smp, 2);
	assert_int_equal(lab->watch.stage_timeout_ms, 15 * 60 * 1000);
	assert_int_equal(lab->watch.timeout_ms, 30 * 60 * 1000);
	assert_int_equal(lab->watch.silence_timeout_ms, 5 * 60 * 1000);
	assert_string_equal(lab->power.driver, "bochs");
	assert_string_equal(lab->console.driver, "bochs");
	assert_string_equal(lab->deploy.method, "image");
	assert_string_equal(lab_get(lab, "board", "memory"), "1024M");
	lab_free(lab);

	lab = parse_ok("[board]\ntype = bochs\nmemory = 512M\ncpu = core2_penryn_t9600\n"
		       "[watch]\ntimeout = 40m\nsilence_timeout = 90s\n");
	assert_int_equal(lab->board.memory_mib, 512);
	assert_string_equal(lab->board.cpu, "core2_penryn_t9600");
	assert_int_equal(lab->watch.timeout_ms, 40 * 60 * 1000);
	assert_int_equal(lab->watch.silence_timeout_ms, 90 * 1000);
	assert_int_equal(lab->watch.stage_timeout_ms, 15 * 60 * 1000);
	lab_free(lab);

	lab = parse_ok("[board]\ntype = qemu\n");
	assert_int_equal(lab->board.memory_mib, 256);
	assert_string_equal(lab->board.cpu, "qemu64");
	assert_int_equal(lab->watch.stage_timeout_ms, 60 * 1000);
	assert_int_equal(lab->watch.silence_timeout_ms, 30 * 1000);
	lab_free(lab);
}

/* Verbs change variants in copies; the lab they came from stays as loaded. */
static void test_with_variants(void **state)
{
	static const char text[] =
		"[board]\npool = 3\n[grub]\nmax_stages = 4\n"
		"[variant a]\nrecipe = xmhf64\nsrc = /old\nargs = amd64\n"
		"[variant b]\narch = i386\n";
	struct lab_variant vs[2] = { { 0 } };
	struct lab *lab, *c, *m;

	(void)state;
	lab = parse_ok(text);
	lab_variant_copy(&vs[0], &lab->variants[0]);
	lab_variant_set(&vs[0], "src", "/new");
	vs[1].name = xstrdup("b.amd64.0x1");
	lab_variant_set(&vs[1], "arch", "amd64");
	lab_variant_set(&vs[1], "arch", "amd64");	/* replaced, not added */
	assert_int_equal(vs[1].nvalues, 1);

	c = lab_with_variants(lab, vs, 2);
	lab_variant_release(&vs[0]);
	lab_variant_release(&vs[1]);
	assert_int_equal(c->nvariants, 3);
	assert_string_equal(lab_variant_get(lab_find_variant(c, "a"), "src"), "/new");
	assert_string_equal(lab_variant_get(lab_find_variant(c, "a"), "args"), "amd64");
	assert_string_equal(lab_variant_get(lab_find_variant(c, "b.amd64.0x1"),
					    "arch"), "amd64");
	assert_int_equal(c->grub.max_stages, 4);
	assert_int_equal(c->board.pool, 3);
	/* The lab itself: as loaded. */
	assert_int_equal(lab->nvariants, 2);
	assert_string_equal(lab_variant_get(&lab->variants[0], "src"), "/old");
	assert_null(lab_find_variant(lab, "b.amd64.0x1"));

	m = lab_pool_member(lab, 2);
	assert_string_equal(m->name, "t-2");
	assert_int_equal(m->pool_member, 2);
	assert_int_equal(m->grub.max_stages, 4);
	assert_string_equal(lab->name, "t");
	lab_free(m);
	lab_free(c);
	lab_free(lab);
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* A key two drivers take means one thing: one type, default and range. */
static void check_driver_key(const char *name, const struct lab_key_def *d,
			     const struct lab_key_def **seen, int *nseen)
{
	const struct lab_key_def *s;
	int i;

	assert_null(d->only_for);
	for (s = lab_schema; s->key; s++)
		if (!strcmp(s->section, d->section) && !strcmp(s->key, d->key))
			fail_msg("driver %s declares %s.%s, a key of every driver (the schema's)",
				 name, d->section, d->key);
	for (i = 0; i < *nseen; i++) {
		s = seen[i];
		if (strcmp(s->section, d->section) || strcmp(s->key, d->key))
			continue;
		if (s->type != d->type || !same_str(s->def, d->def) ||
		    !same_str(s->choices, d->choices) || s->min != d->min ||
		    s->max != d->max)
			fail_msg("%s.%s: driver %s defines it unlike another driver",
				 d->section, d->key, name);
	}
	seen[(*nseen)++] = d;
}

/* The drivers declare their own keys; the schema has no second list. */
static void test_driver_key_tables(void **state)
{
	const struct lab_key_def *seen[256], *d;
	int i, nseen = 0;
	struct lab *lab;

	(void)state;
	assert_int_equal(power_drivers_selftest(), 0);
	assert_int_equal(console_drivers_selftest(), 0);
	for (d = lab_schema; d->key; d++)
		if (!strcmp(d->section, "power") || !strcmp(d->section, "console"))
			assert_null(d->only_for);
	for (i = 0; power_drivers[i]; i++)
		for (d = power_drivers[i]->lab_keys; d && d->key; d++) {
			assert_true(nseen < 256);
			assert_string_equal(d->section, "power");
			check_driver_key(power_drivers[i]->name, d, seen, &nseen);
		}
	for (i = 0; console_drivers[i]; i++)
		for (d = console_drivers[i]->lab_keys; d && d->key; d++) {
			assert_true(nseen < 256);
			assert_string_equal(d->section, "console");
			check_driver_key(console_drivers[i]->name, d, seen, &nseen);
		}

	/* driver = takes exactly the drivers of the tables. */
	for (d = lab_schema; d->key; d++) {
		char choices[256];
		int n = 0;

		if (strcmp(d->key, "driver"))
			continue;
		snprintf(choices, sizeof(choices), "|%s|", d->choices);
		for (i = 0; !strcmp(d->section, "power") && power_drivers[i]; i++, n++)
			assert_non_null(strstr(choices, power_drivers[i]->name));
		for (i = 0; !strcmp(d->section, "console") && console_drivers[i]; i++, n++)
			assert_non_null(strstr(choices, console_drivers[i]->name));
		for (i = 0; choices[i]; i++)
			n -= choices[i] == '|';
		assert_int_equal(n, -1);
	}

	/* The lab's driver's keys: checked, defaulted and shown. */
	lab = parse_ok(LAPTOP "[power]\ndriver = http\nurl = http://pdu/x\n"
		       "[console]\ndriver = tty\ndevice = /dev/ttyS0\n");
	assert_string_equal(lab_get(lab, "power", "flavor"), "pdudaemon");
	assert_string_equal(lab_get(lab, "power", "timeout"), "30s");
	assert_string_equal(lab_get(lab, "console", "baud"), "115200");
	{
		struct strbuf sb = STRBUF_INIT;

		lab_show_text(lab, &sb);
		assert_non_null(strstr(strbuf_str(&sb),
				       "url = http://pdu/x\n"));
		assert_non_null(strstr(strbuf_str(&sb),
				       "flavor = pdudaemon  ; (default)\n"));
		assert_non_null(strstr(strbuf_str(&sb),
				       "baud = 115200  ; (default)\n"));
		assert_null(strstr(strbuf_str(&sb), "state_file"));
		strbuf_release(&sb);
	}
	lab_free(lab);
}

static void test_schema(void **state)
{
	const struct lab_key_def *d, *e;
	struct strbuf sb = STRBUF_INIT;
	struct lab *lab;

	(void)state;
	for (d = lab_schema; d->key; d++) {
		assert_non_null(d->section);
		assert_non_null(d->help);
		if (d->type == KEY_ENUM)
			assert_non_null(d->choices);
		else
			assert_null(d->choices);
		for (e = lab_schema; e != d; e++)
			if (!strcmp(e->section, d->section) && !strcmp(e->key, d->key))
				fail_msg("duplicate schema key %s.%s", d->section, d->key);
		if (!d->def)
			continue;
		/* Write the default into a lab that selects the key's driver. */
		strbuf_reset(&sb);
		if (!strcmp(d->section, "variant")) {
			strbuf_addstr(&sb, "[variant v]\n");
			if (d->only_for && strstr(d->only_for, "xmhf64"))
				strbuf_addstr(&sb, "recipe = xmhf64\nsrc = /x\n");
			strbuf_addf(&sb, "%s = %s\n", d->key, d->def);
		} else if (!strcmp(d->section, "board")) {
			strbuf_addstr(&sb, "[board]\n");
			if (d->only_for && !strstr(d->only_for, "qemu"))
				strbuf_addstr(&sb, strstr(d->only_for, "bochs") ?
					      "type = bochs\n" : "type = pc\nhost = h\n");
			strbuf_addf(&sb, "%s = %s\n", d->key, d->def);
		} else {
			const char *drv = NULL;
			char buf[32];

			if (d->only_for) {
				size_t n = strcspn(d->only_for, "|");

				snprintf(buf, sizeof(buf), "%.*s", (int)n, d->only_for);
				drv = buf;
			}
			if (drv && strcmp(drv, "qemu") && strcmp(drv, "fault"))
				strbuf_addstr(&sb, "[board]\ntype = pc\nhost = h\n");
			strbuf_addf(&sb, "[%s]\n", d->section);
			if (drv)
				strbuf_addf(&sb, "driver = %s\n", drv);
			strbuf_addf(&sb, "%s = %s\n", d->key, d->def);
		}
		lab = parse_ok_len(strbuf_str(&sb), sb.len);
		lab_free(lab);
	}
	strbuf_release(&sb);
}

/* Values with a meaning beyond their type, checked at load (issue 13). */
static void test_value_meaning(void **state)
{
	(void)state;
	bad("[watch]\nfail = (.*)(.*)(.*)(.*)(.*)\\5\\4\\3\\2\\1~~\n", 2,
	    "[watch] fail: pattern /(.*)(.*)(.*)(.*)(.*)\\5\\4\\3\\2\\1~~/: back-references (\\5) are not supported");
	bad("[watch]\nfail = ([\n", 2,
	    "[watch] fail: pattern /([/: bad pattern: '[' without its ']'");
	bad_has("[watch]\npass = x{2}{3}\n", 2, "a repeat right after a repeat");
	bad_has("[variant a]\nbanner = (${variant}\n", 2, "[variant a] banner: pattern /(${variant}/: bad pattern");
	bad("[variant a]\nopt_requires = 0x8:0x4, 0x40\n", 2,
	    "[variant a] opt_requires: '0x40' is not BITS:NEEDED or BITS:!NEEDED (e.g. 0x8:0x4)");
	bad_has("[board]\ntype = pc\nhost = h\n[power]\ndriver = http\nurl = http://p/\nstatus_off = a{1\n",
		7, "[power] status_off: bad regular expression: ");
	bad("[grub]\nentries = ../../tmp/x\n", 2,
	    "[grub] entries: '../../tmp/x' is not a plain file name (it becomes /etc/grub.d/NAME on the board: no '/', '.' or '..')");
	bad_has("[grub]\ndropin = .\n", 2, "[grub] dropin: '.' is not a plain file name");
	bad_has("[grub]\ndropin = /etc/passwd\n", 2, "[grub] dropin: '/etc/passwd' is not a plain file name");
	bad_has("[grub]\nentries = a\\b\n", 2, "is not a plain file name (letters, digits, '.', '_', '-')");
	bad("[deploy]\ndir = /boot/xmhf/../../tmp\n", 2,
	    "[deploy] dir: '/boot/xmhf/../../tmp' has a '..' part: write the directory itself");
	bad_has("[deploy]\ndir = /boot/./xmhf\n", 2, "has a '.' part");
	bad_has("[deploy]\ndir = xmhf\n", 2, "is not an absolute path (a path on the board)");
	bad_has("[grub]\ngrubenv = /boot/grub/../../tmp/env\n", 2, "[grub] grubenv: '/boot/grub/../../tmp/env' has a '..' part");
	bad_has("[grub]\ncfg = grub.cfg\n", 2, "[grub] cfg: 'grub.cfg' is not an absolute path");
	bad("[grub]\nchain = a, b\n[variant a]\n", 2, "[grub] chain: no variant 'b' in this lab");
	lab_free(parse_ok("[grub]\nchain = b a\n[variant a]\n[variant b]\n"));
	lab_free(parse_ok("[watch]\nfail = ^(Oops|BUG): [a-z]+$\npass = [[:digit:]]+ passed\n"
			  "[grub]\nentries = 42_labctl.local\ndropin = 05-chain_x\n"
			  "[deploy]\ndir = /boot/xmhf\n"
			  "[variant a]\nbanner = ^LHV ${variant}$\nopt_requires = 0x8:0x4, 0x40:!0x2\n"));
}

static void test_paths(void **state)
{
	static const char *const cases[][2] = {
		{ "labs/x.conf", "labs/x.conf" }, { "./labs/x.conf", "labs/x.conf" },
		{ ".//labs/./x.conf", "labs/x.conf" }, { "/a//b/./c", "/a/b/c" },
		{ "/a/b/", "/a/b" }, { "/", "/" }, { ".", "." }, { "./", "." },
	};
	const char *home_env = getenv("HOME");
	char *home = home_env ? xstrdup(home_env) : NULL;
	char **dirs, *p, *want;
	size_t i;
	int n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = lab_path_clean(cases[i][0]);
		assert_string_equal(p, cases[i][1]);
		free(p);
	}
	/* A '..' part: what the file system says (realpath). */
	assert_int_equal(chdir(tmpdir), 0);
	write_file("a/x.conf", "");
	p = lab_path_clean("labs/../a/./x.conf");
	want = xasprintf("%s/a/x.conf", tmpdir);
	{
		char real[PATH_MAX];

		assert_non_null(realpath(want, real));
		assert_string_equal(p, real);
	}
	free(p);
	free(want);

	/* The search order: $LABCTL_LABS, ./labs, XDG, the data dir. */
	setenv("LABCTL_LABS", "/one::/two", 1);
	setenv("XDG_CONFIG_HOME", "/xdg", 1);
	dirs = lab_search_dirs(&n);
	assert_int_equal(n, 5);
	assert_string_equal(dirs[0], "/one");
	assert_string_equal(dirs[1], "/two");
	assert_string_equal(dirs[2], "labs");
	assert_string_equal(dirs[3], "/xdg/labctl/labs");
	assert_string_equal(dirs[4], LABCTL_DATADIR "/labs");
	lab_search_dirs_free(dirs, n);
	/* Unset or relative: ~/.config; without HOME either: none. */
	setenv("XDG_CONFIG_HOME", "rel", 1);
	setenv("HOME", "/home/u", 1);
	unsetenv("LABCTL_LABS");
	dirs = lab_search_dirs(&n);
	assert_int_equal(n, 3);
	assert_string_equal(dirs[1], "/home/u/.config/labctl/labs");
	lab_search_dirs_free(dirs, n);
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("HOME");
	dirs = lab_search_dirs(&n);
	assert_int_equal(n, 2);
	lab_search_dirs_free(dirs, n);
	if (home)
		setenv("HOME", home, 1);
	free(home);
}

/* A FIFO is refused at once (no writer would ever come), with why. */
static void test_not_regular(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct lab *lab = NULL;
	char *p;

	(void)state;
	assert_int_equal(chdir(tmpdir), 0);
	assert_int_equal(mkfifo("labs/f.conf", 0644), 0);
	alarm(10);	/* a hang fails the suite, it does not stall it */
	assert_int_equal(lab_read_regular_file(&sb, "labs/f.conf", 0), -LAB_ECONFIG);
	assert_string_equal(lab_errmsg(-LAB_ECONFIG),
			    "labs/f.conf is a FIFO, not a regular file");
	assert_int_equal(lab_load("labs/f.conf", &lab), -LAB_ECONFIG);
	assert_null(lab);
	assert_null(lab_find("labs/f.conf"));
	assert_string_equal(lab_errmsg(-LAB_ECONFIG),
			    "lab file labs/f.conf is a FIFO, not a regular file");
	setenv("LABCTL_LABS", "labs", 1);
	assert_null(lab_find("f"));
	assert_string_equal(lab_errmsg(-LAB_ECONFIG),
			    "lab file labs/f.conf is a FIFO, not a regular file");
	assert_int_equal(lab_open("f", &lab), -LAB_ECONFIG);
	assert_int_equal(lab_read_regular_file(&sb, "labs", 0), -LAB_ECONFIG);
	assert_string_equal(lab_errmsg(-LAB_ECONFIG), "labs is a directory, not a regular file");
	alarm(0);
	assert_int_equal(sb.len, 0);
	write_file("labs/r.conf", "[board]\n");
	assert_int_equal(lab_read_regular_file(&sb, "labs/r.conf", 0), 0);
	assert_string_equal(strbuf_str(&sb), "[board]\n");
	p = lab_find("r");
	assert_string_equal(p, "labs/r.conf");
	free(p);
	strbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_checker),
		cmocka_unit_test(test_full_lab),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_repo_labs),
		cmocka_unit_test(test_empty_lab),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_defaults_qemu),
		cmocka_unit_test(test_defaults_laptop),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_unknown_section),
		cmocka_unit_test(test_section_comments),
		cmocka_unit_test(test_variant_names),
		cmocka_unit_test(test_duplicate_section),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_outside_section),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_continuation),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_bom),
		cmocka_unit_test(test_nul_and_control),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_long_message),
		cmocka_unit_test(test_bad_int),
		cmocka_unit_test(test_parse_int),
		cmocka_unit_test(test_bad_bool),
		cmocka_unit_test(test_bad_enum),
		cmocka_unit_test(test_bad_duration),
		cmocka_unit_test(test_bad_size),
		cmocka_unit_test(test_bad_url),
		cmocka_unit_test(test_empty_value),
		cmocka_unit_test(test_driver_keys),
		cmocka_unit_test(test_board_type_keys),
		cmocka_unit_test(test_secrets),
		cmocka_unit_test(test_cross_checks),
		cmocka_unit_test_setup_teardown(test_lab_find, files_setup,
						files_teardown),
		cmocka_unit_test_setup_teardown(test_lab_load, files_setup,
						files_teardown),
		cmocka_unit_test(test_value_meaning),
		cmocka_unit_test_setup_teardown(test_paths, files_setup,
						files_teardown),
		cmocka_unit_test_setup_teardown(test_not_regular, files_setup,
						files_teardown),
		cmocka_unit_test(test_show_full),
		cmocka_unit_test(test_show_defaults),
		cmocka_unit_test(test_redaction),
		cmocka_unit_test(test_show_json_escapes),
		cmocka_unit_test(test_schema),
		cmocka_unit_test(test_unknown_key_asserts),
		cmocka_unit_test(test_call_sites_in_schema),
		cmocka_unit_test(test_default_written_once),
		cmocka_unit_test(test_cfg_fields_cover_schema),
		cmocka_unit_test(test_cfg_fields_resolved),
		cmocka_unit_test(test_board_type_defaults),
		cmocka_unit_test(test_with_variants),
		cmocka_unit_test(test_driver_key_tables),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
