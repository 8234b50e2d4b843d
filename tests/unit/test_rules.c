// SPDX-License-Identifier: MIT
/*
 * Unit tests for labctl/rules.c: the built-in sets (and that they are the
 * bytes of rules/NAME.rules), the rule-file parser with every error and
 * its "FILE:LINE: " prefix, includes (names, files, loops, missing), and
 * what a lab's rule keys mean for a run (lab_rules_load).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "labctl/labconf.h"
#include "labctl/rules.h"
#include "lib/err.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "testutil.h"

static char tmpdir[] = "/tmp/test_rules.XXXXXX";

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	unsetenv("LABCTL_RULES");
	return 0;
}

static int teardown(void **state)
{
	char rm[] = "rm", rf[] = "-rf";
	char *cmd[] = { rm, rf, tmpdir, NULL };
	pid_t pid;

	(void)state;
	pid = fork();
	if (pid == 0) {
		execvp(cmd[0], cmd);
		_exit(127);
	}
	return pid > 0 && waitpid(pid, NULL, 0) == pid ? 0 : -1;
}

static char *tmp_path(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static void make_dir(const char *name)
{
	char *path = tmp_path(name);

	assert_int_equal(mkdir(path, 0755), 0);
	free(path);
}

static void write_file(const char *name, const char *text)
{
	char *path = tmp_path(name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(path);
}

static bool has_rule(const struct rule_set *s, enum rule_kind kind, const char *re);

static struct rule_set *parse_ok(const char *text)
{
	struct rule_set *set = rules_new();
	int ret = rules_parse(set, "t.rules", text, strlen(text), 0);

	if (ret)
		fail_msg("rules_parse failed: %s\n--- input:\n%s", lab_errmsg(ret),
			 text);
	return set;
}

/* The text fails with exactly "t.rules:LINE: want..." (want is a prefix). */
static void parse_bad(const char *text, int want_line, const char *want)
{
	struct rule_set *set = rules_new();
	char prefix[64];
	const char *msg;
	int ret;

	lab_err_clear();
	ret = rules_parse(set, "t.rules", text, strlen(text), 0);
	rules_free(set);
	if (ret != -LAB_ECONFIG)
		fail_msg("want a config error for:\n%s\ngot %d", text, ret);
	assert_int_equal(lab_exit_code(ret), 2);
	msg = lab_errmsg(ret);
	snprintf(prefix, sizeof(prefix), "t.rules:%d: ", want_line);
	if (strncmp(msg, prefix, strlen(prefix)) ||
	    strncmp(msg + strlen(prefix), want, strlen(want)))
		fail_msg("want '%s%s...', got '%s'", prefix, want, msg);
}

/* ------------------------------------------------------------ built-ins */

static void test_builtin_equals_file(void **state)
{
	const char *top = getenv("LABCTL_TOP");
	int i;

	(void)state;
	for (i = 0; rules_builtin_names[i]; i++) {
		struct strbuf sb = STRBUF_INIT;
		char *path = xasprintf("%s/rules/%s.rules", top ? top : ".",
				       rules_builtin_names[i]);

		if (strbuf_read_file(&sb, path, 0))
			fail_msg("cannot read %s (run from the source tree)", path);
		if (strcmp(strbuf_str(&sb), rules_builtin_text(rules_builtin_names[i])))
			fail_msg("%s differs from the compiled-in set '%s': copy it into labctl/rules.c",
				 path, rules_builtin_names[i]);
		strbuf_release(&sb);
		free(path);
	}
	assert_null(rules_builtin_text("nosuch"));
}

static struct rule_set *builtin(const char *name)
{
	struct rule_set *set = rules_new();
	int ret = rules_load_name(set, name, NULL, 0, RULES_NO_FILES);

	if (ret)
		fail_msg("built-in %s: %s", name, lab_errmsg(ret));
	return set;
}

static void test_builtins_parse(void **state)
{
	struct rule_set *s;
	int i;

	(void)state;
	s = builtin("xmhf");
	assert_string_equal(rules_banner(s), "eXtensible Modular Hypervisor Framework");
	/* XMHF as the last stage passes when its guest's GRUB comes up. */
	assert_true(rules_judges(s));
	assert_true(has_rule(s, RULE_PASS, "^ *Booting `|GNU GRUB +version "));
	rules_free(s);
	s = builtin("lhv");
	assert_string_equal(rules_banner(s), "Lightweight Hypervisor \\(LHV\\)");
	assert_true(rules_judges(s));
	assert_int_equal(s->iter_min, 20);
	assert_int_equal(s->cpus, 0);
	rules_free(s);
	s = builtin("linux");
	assert_null(rules_banner(s));
	assert_true(rules_judges(s));
	rules_free(s);
	s = builtin("standin");
	assert_string_equal(rules_banner(s),
			    "Stand-in Hypervisor \\(labctl\\) variant=${variant}( |$)");
	assert_int_equal(s->iter_min, 20);
	rules_free(s);

	/* Every set formats to text that parses back to the same set. */
	for (i = 0; rules_builtin_names[i]; i++) {
		char *t1, *t2;
		struct rule_set *again;

		s = builtin(rules_builtin_names[i]);
		t1 = rules_format(s);
		again = parse_ok(t1);
		t2 = rules_format(again);
		assert_string_equal(t1, t2);
		free(t1);
		free(t2);
		rules_free(again);
		rules_free(s);
	}
}

/* ------------------------------------------------------------ the format */

static void test_parse_forms(void **state)
{
	struct rule_set *s;

	(void)state;
	s = parse_ok("# comment\n"
		     "\n"
		     "   # indented comment\n"
		     "banner /a\\/b/\n"
		     "fail /x y/   the reason, with spaces  \r\n"
		     "fail /UPPER/i\n"
		     "pass /\\\\/\n"
		     "iter /CPU\\(0x([0-9a-f]+)\\)/\n"
		     "end /login: *$/ at the prompt\n"
		     "ignore /noise/\n"
		     "iter_min 7\n"
		     "cpus 4\n"
		     "\tfail\t/tab/\n"
		     "fail /0x[0-9a-f]{8} 0x[0-9a-f]{16} ([0-9]{1,3}\\.){3}/\n");
	assert_int_equal(s->n, 9);
	assert_string_equal(s->rules[0].re, "a/b");
	assert_int_equal(s->rules[0].kind, RULE_BANNER);
	assert_string_equal(s->rules[1].re, "x y");
	assert_string_equal(s->rules[1].reason, "the reason, with spaces");
	assert_int_equal(s->rules[1].line, 5);
	assert_string_equal(s->rules[1].file, "t.rules");
	assert_true(s->rules[2].icase);
	assert_null(s->rules[2].reason);
	assert_string_equal(s->rules[3].re, "\\\\");
	assert_int_equal(s->rules[4].kind, RULE_ITER);
	assert_string_equal(s->rules[5].reason, "at the prompt");
	assert_int_equal(s->rules[6].kind, RULE_IGNORE);
	assert_string_equal(s->rules[7].re, "tab");
	assert_int_equal(s->iter_min, 7);
	assert_int_equal(s->cpus, 4);
	rules_free(s);

	/* Repeats: a rule once (the first reason stays), the last banner wins. */
	s = parse_ok("banner /A/\nfail /f/ one\nbanner /B/\nfail /f/ two\nbanner /A/\n");
	assert_int_equal(s->n, 3);
	assert_string_equal(rules_banner(s), "A");
	assert_string_equal(s->rules[0].reason, "one");
	rules_free(s);
	/* An empty file is an empty set. */
	s = parse_ok("");
	assert_int_equal(s->n, 0);
	assert_int_equal(s->iter_min, -1);
	rules_free(s);
}

static void test_parse_errors(void **state)
{
	char big[5000];

	(void)state;
	parse_bad("banner /a/\nbannr /b/\n", 2,
		  "unknown directive 'bannr' (known: banner, fail, pass, iter, iter_min, cpus, end, ignore, include)");
	parse_bad("fail /(unclosed/\n", 1, "fail /(unclosed/: bad pattern: ");
	parse_bad("fail x\n", 1, "fail: the pattern goes between slashes, /ERE/ (got 'x')");
	parse_bad("fail\n", 1, "fail: the pattern goes between slashes");
	parse_bad("pass /a\n", 1, "pass: pattern has no closing slash");
	parse_bad("pass /a\\/\n", 1, "pass: pattern has no closing slash");
	parse_bad("pass //\n", 1, "pass: empty pattern");
	parse_bad("pass /a/ why\n", 1,
		  "pass: unexpected text after the pattern: 'why' (only fail and end take a reason)");
	parse_bad("fail /a/x\n", 1, "fail: unknown pattern flag 'x' (i: ignore case)");
	parse_bad("iter /CPU [0-9]+/\n", 1,
		  "iter /CPU [0-9]+/: needs a group, (...), around the CPU id");
	parse_bad("iter_min -1\n", 1, "iter_min: want a number from 0 to 1000000, not '-1'");
	parse_bad("cpus 0\n", 1, "cpus: want a number from 1 to 255, not '0'");
	parse_bad("cpus 99999999999999999999\n", 1, "cpus: want a number from 1 to 255");
	parse_bad("cpus 2 # two\n", 1, "cpus: want a number from 1 to 255, not '2 # two'");
	parse_bad("fail /variant=${variant}/\n", 1,
		  "fail: ${variant} stands for the stage's variant only in banner patterns");
	parse_bad("fail /(a)\\1/\n", 1, "fail /(a)\\1/: back-references (\\1) are not supported");
	parse_bad("fail /((a{200}){200}){200}/\n", 1, "fail /((a{200}){200}){200}/: repeat counts too large (at most 255, and 1000 atoms once expanded)");
	parse_bad("fail /x{,1}{9999}/\n", 1, "fail /x{,1}{9999}/: repeat counts too large");
	parse_bad("fail /((x*y*){45}){45}/\n", 1, "fail /((x*y*){45}){45}/: repeat counts too large");
	parse_bad("fail /x++++++++++/\n", 1, "fail /x++++++++++/: bad pattern: a repeat right after a repeat");
	parse_bad("banner /${variant}(/\n", 1, "banner /${variant}(/: bad pattern");
	parse_bad("include\n", 1, "include: want one set name or file, not ''");
	parse_bad("include a b\n", 1, "include: want one set name or file, not 'a b'");
	parse_bad("include bad\001name\n", 1, "'bad?name' is not a rule set name");
	{
		static const char nul[] = "fail /a/\nfa\0il /b/\n";
		struct rule_set *set = rules_new();
		int ret = rules_parse(set, "t.rules", nul, sizeof(nul) - 1, 0);

		assert_int_equal(ret, -LAB_ECONFIG);
		assert_string_equal(lab_errmsg(ret), "t.rules:2: NUL byte in the line");
		rules_free(set);
	}
	{
		struct strbuf sb = STRBUF_INIT;
		int i;

		/* 25 patterns of over 900 atoms: more than a set may hold. */
		for (i = 0; i < 25; i++)
			strbuf_addf(&sb, "fail /%d((x?){30}){15}/\n", i);
		parse_bad(strbuf_str(&sb), 22,
			  "fail: the set's patterns are too large together (");
		strbuf_release(&sb);
		memset(big, 'f', 600);
		memcpy(big, "fail /", 6);
		memcpy(big + 600, "/\n", 3);
		parse_bad(big, 1, "fail: pattern longer than 512 bytes");
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "fail /", 6);
	parse_bad(big, 1, "line longer than 4096 bytes");
}

/* ------------------------------------------------------------ includes */

static void test_include(void **state)
{
	struct rule_set *s = rules_new();
	char *a, *b, *c;
	int ret;

	(void)state;
	/* A built-in by name; then this file's additions. */
	{
		static const char text[] = "include xmhf\nfail /mine/\nbanner /Mine/\n";

		ret = rules_parse(s, "t.rules", text, strlen(text), 0);
		if (ret)
			fail_msg("%s", lab_errmsg(ret));
	}
	assert_string_equal(rules_banner(s), "Mine");
	assert_string_equal(s->rules[1].file, "builtin:xmhf");
	assert_string_equal(s->rules[s->n - 2].re, "mine");
	rules_free(s);

	/* Files, relative to the including file. */
	write_file("base.rules", "fail /base/\ninclude sub/leaf.rules\n");
	make_dir("sub");
	write_file("sub/leaf.rules", "pass /leaf/\n");
	write_file("top.rules", "include base.rules\nend /top/\n");
	a = tmp_path("top.rules");
	s = rules_new();
	ret = rules_load_file(s, a, NULL, 0);
	if (ret)
		fail_msg("%s", lab_errmsg(ret));
	assert_int_equal(s->n, 3);
	assert_string_equal(s->rules[1].re, "leaf");
	assert_contains(s->rules[1].file, "/sub/leaf.rules");
	rules_free(s);
	free(a);

	/* A loop, direct and through another file. */
	write_file("self.rules", "fail /x/\ninclude self.rules\n");
	a = tmp_path("self.rules");
	s = rules_new();
	ret = rules_load_file(s, a, NULL, 0);
	assert_int_equal(ret, -LAB_ECONFIG);
	b = xasprintf("%s:2: include loop: %s -> %s/./self.rules", a, a, tmpdir);
	c = xasprintf("%s:2: include loop: %s -> %s", a, a, a);
	if (strcmp(lab_errmsg(ret), b) && strcmp(lab_errmsg(ret), c))
		fail_msg("got '%s'", lab_errmsg(ret));
	rules_free(s);
	free(a);
	free(b);
	free(c);
	write_file("ping.rules", "include pong.rules\n");
	write_file("pong.rules", "\n\ninclude ping.rules\n");
	a = tmp_path("ping.rules");
	s = rules_new();
	ret = rules_load_file(s, a, NULL, 0);
	assert_int_equal(ret, -LAB_ECONFIG);
	b = xasprintf("%s/pong.rules:3: include loop: %s -> %s/pong.rules -> %s/ping.rules",
		      tmpdir, a, tmpdir, tmpdir);
	assert_string_equal(lab_errmsg(ret), b);
	rules_free(s);
	free(a);
	free(b);

	/* A missing file and a missing set, named where they were asked for. */
	write_file("miss.rules", "# x\ninclude nosuch.rules\n");
	a = tmp_path("miss.rules");
	s = rules_new();
	ret = rules_load_file(s, a, NULL, 0);
	assert_int_equal(ret, -LAB_ECONFIG);
	assert_int_equal(lab_exit_code(ret), 2);
	b = xasprintf("%s:2: cannot open %s/nosuch.rules: ", a, tmpdir);
	assert_contains(lab_errmsg(ret), b);
	rules_free(s);
	free(a);
	free(b);
	s = rules_new();
	ret = rules_parse(s, "t.rules", "include nosuch\n", 15, 0);
	assert_int_equal(ret, -LAB_ECONFIG);
	assert_contains(lab_errmsg(ret),
			"t.rules:1: no rule set 'nosuch' (built in: xmhf, lhv, linux, standin; others are NAME.rules in $LABCTL_RULES or ");
	rules_free(s);
	/* The fuzzer's mode: built-ins only. */
	s = rules_new();
	ret = rules_parse(s, "t.rules", "include /etc/passwd\n", 20, RULES_NO_FILES);
	assert_int_equal(ret, -LAB_ECONFIG);
	assert_string_equal(lab_errmsg(ret), "t.rules:1: include /etc/passwd: only built-in sets here");
	rules_free(s);
	/* Too deep. */
	{
		char name[32], text[64];
		int i;

		for (i = 0; i < 12; i++) {
			snprintf(name, sizeof(name), "d%d.rules", i);
			snprintf(text, sizeof(text), "include d%d.rules\n", i + 1);
			write_file(name, text);
		}
		write_file("d12.rules", "");
		a = tmp_path("d0.rules");
		s = rules_new();
		ret = rules_load_file(s, a, NULL, 0);
		assert_int_equal(ret, -LAB_ECONFIG);
		assert_contains(lab_errmsg(ret), "d7.rules:1: includes nested more than 8 deep");
		rules_free(s);
		free(a);
	}
}

static void test_named_sets(void **state)
{
	struct rule_set *s = rules_new();
	char *dirs;
	int ret;

	(void)state;
	make_dir("site");
	write_file("site/mylab.rules", "include xmhf\nfail /site-specific/\n");
	dirs = xasprintf("/nonexistent:%s/site", tmpdir);
	setenv("LABCTL_RULES", dirs, 1);
	ret = rules_load_name(s, "mylab", "labs/x.conf", 3, 0);
	if (ret)
		fail_msg("%s", lab_errmsg(ret));
	assert_string_equal(rules_banner(s), "eXtensible Modular Hypervisor Framework");
	assert_string_equal(s->rules[s->n - 1].re, "site-specific");
	rules_free(s);
	/* A built-in name cannot be shadowed. */
	write_file("site/xmhf.rules", "banner /shadow/\n");
	s = rules_new();
	assert_int_equal(rules_load_name(s, "xmhf", NULL, 0, 0), 0);
	assert_string_equal(rules_banner(s), "eXtensible Modular Hypervisor Framework");
	rules_free(s);
	s = rules_new();
	ret = rules_load_name(s, "other", "labs/x.conf", 3, 0);
	assert_int_equal(ret, -LAB_ECONFIG);
	assert_contains(lab_errmsg(ret), "labs/x.conf:3: no rule set 'other'");
	rules_free(s);
	s = rules_new();
	ret = rules_load_name(s, "../etc", "labs/x.conf", 3, 0);
	assert_int_equal(ret, -LAB_ECONFIG);
	assert_string_equal(lab_errmsg(ret),
			    "labs/x.conf:3: '../etc' is not a rule set name (letters, digits, ., _, -)");
	rules_free(s);
	unsetenv("LABCTL_RULES");
	free(dirs);
}

/* ------------------------------------------------------------ lab keys */

static struct lab *lab_from(const char *name, const char *text)
{
	char *path = tmp_path(name);
	struct lab *lab = NULL;
	int ret = lab_parse(path, text, strlen(text), &lab);

	if (ret)
		fail_msg("lab_parse: %s", lab_errmsg(ret));
	free(path);
	return lab;
}

/*
 * A lab file refused: ret is a configuration error whose message is the
 * file in the scratch dir, then rest (all of it, or within it when
 * !whole).
 */
static void assert_lab_refused(int ret, const char *rest, bool whole)
{
	char *want = xasprintf("%s/%s", tmpdir, rest);

	assert_int_equal(ret, -LAB_ECONFIG);
	if (whole)
		assert_string_equal(lab_errmsg(ret), want);
	else
		assert_contains(lab_errmsg(ret), want);
	free(want);
}

static int load_chain(const struct lab *lab, struct lab_rules *lr)
{
	const struct lab_variant *chain[8];
	int i;

	for (i = 0; i < lab->nvariants; i++)
		chain[i] = &lab->variants[i];
	return lab_rules_load(lab, chain, lab->nvariants, false, lr);
}

static bool has_rule(const struct rule_set *s, enum rule_kind kind, const char *re)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (s->rules[i].kind == kind && !strcmp(s->rules[i].re, re))
			return true;
	return false;
}

static void test_lab_defaults(void **state)
{
	struct lab *lab;
	struct lab_rules lr;

	(void)state;
	/* No rule keys: the stand-in set for the run and standin stages;
	 * XMHF64 stages by their args. */
	lab = lab_from("d.conf", "[board]\ntype = qemu\n"
		       "[variant hv]\n"
		       "[variant x64]\nrecipe = xmhf64\nsrc = /x\nargs = amd64 fast\n"
		       "[variant lhv]\nrecipe = xmhf64\nsrc = /x\nargs = amd64 --lhv-opt 0x5fc\n");
	assert_int_equal(load_chain(lab, &lr), 0);
	assert_true(has_rule(lr.run, RULE_FAIL, "Fatal: Halting!"));
	assert_true(has_rule(lr.run, RULE_ITER,
			     "CPU\\(0x([0-9a-fA-F]+)\\): (LHV (in XMHF )?)?test iter [0-9]+"));
	assert_string_equal(lr.banner[0],
			    "Stand-in Hypervisor \\(labctl\\) variant=${variant}( |$)");
	assert_string_equal(lr.banner[1], "eXtensible Modular Hypervisor Framework");
	assert_string_equal(lr.banner[2], "Lightweight Hypervisor \\(LHV\\)");
	/* The run's set judges: the recipe's sets keep only banners and fails. */
	assert_false(rules_judges(lr.stage[0]));
	assert_false(rules_judges(lr.stage[2]));
	assert_true(has_rule(lr.stage[2], RULE_FAIL, "Fatal: Halting!"));
	assert_int_equal(lr.cpus, 0);
	assert_int_equal(lr.iter_min, 20);
	lab_rules_release(&lr);
	lab_free(lab);

	/* A run's set that does not judge leaves it to the recipe's. */
	lab = lab_from("d2.conf", "[watch]\nrules = xmhf\n"
		       "[variant x64]\nrecipe = xmhf64\nsrc = /x\nargs = amd64 fast\n"
		       "[variant lhv]\nrecipe = xmhf64\nsrc = /x\nargs = amd64 --lhv-opt 0x5fc\n");
	assert_int_equal(load_chain(lab, &lr), 0);
	assert_true(has_rule(lr.stage[1], RULE_ITER,
			     "CPU\\(0x([0-9a-fA-F]+)\\): LHV (in XMHF )?test iter [0-9]+"));
	assert_int_equal(lr.iter_min, 20);
	/* The run's xmhf set judges no stage: the xmhf stage keeps its own. */
	assert_false(rules_judges(lr.run));
	assert_true(has_rule(lr.stage[0], RULE_PASS, "^ *Booting `|GNU GRUB +version "));
	lab_rules_release(&lr);
	lab_free(lab);

	/* The default run set (standin, built in) judges by iteration lines a
	 * real XMHF never prints: a last XMHF stage's guest rule joins them. */
	lab = lab_from("d3.conf", "[variant x64]\nrecipe = xmhf64\nsrc = /x\nargs = amd64 fast\n");
	assert_int_equal(load_chain(lab, &lr), 0);
	assert_true(has_rule(lr.run, RULE_PASS, "^ *Booting `|GNU GRUB +version "));
	assert_true(has_rule(lr.run, RULE_ITER,
			     "CPU\\(0x([0-9a-fA-F]+)\\): (LHV (in XMHF )?)?test iter [0-9]+"));
	assert_false(rules_judges(lr.stage[0]));
	lab_rules_release(&lr);
	lab_free(lab);
	/* Not the last stage: nothing joins. */
	lab = lab_from("d3b.conf", "[variant x64]\nrecipe = xmhf64\nsrc = /x\nargs = amd64 fast\n"
		       "[variant hv]\noptions = 0x400\n");
	assert_int_equal(load_chain(lab, &lr), 0);
	assert_false(has_rule(lr.run, RULE_PASS, "^ *Booting `|GNU GRUB +version "));
	lab_rules_release(&lr);
	lab_free(lab);
	/* A lab's own judging rules win: the recipe set keeps none, and
	 * none joins the run's. */
	write_file("own.rules", "pass /^all done$/\n");
	lab = lab_from("d4.conf", "[watch]\nrules_file = own.rules\n"
		       "[variant x64]\nrecipe = xmhf64\nsrc = /x\nargs = amd64 fast\n");
	assert_int_equal(load_chain(lab, &lr), 0);
	assert_false(rules_judges(lr.stage[0]));
	assert_false(has_rule(lr.run, RULE_PASS, "^ *Booting `|GNU GRUB +version "));
	lab_rules_release(&lr);
	lab_free(lab);
}

/* A MANIFEST as a build of variant name from src with args writes it. */
static void write_manifest(const char *images, const char *name,
			   const char *src, const char *args, const char *kind)
{
	char *dir = xasprintf("%s/%s", images, name);
	char *text = xasprintf("format: 1\nvariant: %s\nrecipe: xmhf64\nsrc: %s\n"
			       "args: %s\nhypervisor: %s\nhypervisor_from: banner\n",
			       name, src, args, kind);

	char *top = tmp_path(images), *sub = tmp_path(dir);

	assert_true(mkdir(top, 0755) == 0 || errno == EEXIST);
	assert_true(mkdir(sub, 0755) == 0 || errno == EEXIST);
	free(top);
	free(sub);
	free(dir);
	dir = xasprintf("%s/%s/MANIFEST", images, name);
	write_file(dir, text);
	free(dir);
	free(text);
}

/* Issue 15.5: LHV is told by what was built or by its tree, not by args. */
static void test_lab_kind_from_build(void **state)
{
	struct lab *lab;
	struct lab_rules lr;
	char *images = tmp_path("kimages"), *text, *src;

	(void)state;
	setenv("LABCTL_IMAGES", images, 1);
	/* A plain tree (an unpacked tarball) with LHV's own sources. */
	make_dir("plainlhv");
	make_dir("plainlhv/xmhf");
	make_dir("plainlhv/xmhf/src");
	make_dir("plainlhv/xmhf/src/xmhf-core");
	make_dir("plainlhv/xmhf/src/xmhf-core/xmhf-runtime");
	make_dir("plainlhv/xmhf/src/xmhf-core/xmhf-runtime/xmhf-startup");
	write_file("plainlhv/xmhf/src/xmhf-core/xmhf-runtime/xmhf-startup/lhv.c", "\n");
	make_dir("plainx");
	make_dir("plainx/xmhf");
	src = tmp_path("plainlhv");
	text = xasprintf("[variant l]\nrecipe = xmhf64\nsrc = %s\nargs = amd64\n"
			 "[variant x]\nrecipe = xmhf64\nsrc = %s/plainx\nargs = amd64 --lhv-opt 0x1\n",
			 src, tmpdir);
	lab = lab_from("k1.conf", text);
	assert_int_equal(load_chain(lab, &lr), 0);
	/* Without --lhv-opt: LHV by its tree; with it: XMHF by its tree. */
	assert_string_equal(lr.banner[0], "Lightweight Hypervisor \\(LHV\\)");
	assert_string_equal(lr.banner[1], "eXtensible Modular Hypervisor Framework");
	lab_rules_release(&lr);
	lab_free(lab);
	free(text);

	/* A build's MANIFEST says what it built (its banner) and wins over
	 * the tree, when it is a build of the variant as the lab says. */
	write_manifest("kimages", "x", src, "amd64 --lhv-opt 0x1", "xmhf");
	write_manifest("kimages", "l", src, "amd64", "xmhf");
	text = xasprintf("[variant l]\nrecipe = xmhf64\nsrc = %s\nargs = amd64\n"
			 "[variant x]\nrecipe = xmhf64\nsrc = %s\nargs = amd64 --lhv-opt 0x1\n",
			 src, src);
	lab = lab_from("k2.conf", text);
	assert_int_equal(load_chain(lab, &lr), 0);
	assert_string_equal(lr.banner[0], "eXtensible Modular Hypervisor Framework");
	assert_string_equal(lr.banner[1], "eXtensible Modular Hypervisor Framework");
	lab_rules_release(&lr);
	lab_free(lab);
	free(text);
	/* A MANIFEST of other args is another build: the tree says. */
	text = xasprintf("[variant l]\nrecipe = xmhf64\nsrc = %s\nargs = amd64 fast\n", src);
	lab = lab_from("k3.conf", text);
	assert_int_equal(load_chain(lab, &lr), 0);
	assert_string_equal(lr.banner[0], "Lightweight Hypervisor \\(LHV\\)");
	lab_rules_release(&lr);
	lab_free(lab);
	free(text);
	/* Nothing known (no tree, no build): the args, as before. */
	lab = lab_from("k4.conf", "[variant l]\nrecipe = xmhf64\nsrc = /nonexistent\nargs = amd64 --lhv-opt 0x1fc\n");
	assert_int_equal(load_chain(lab, &lr), 0);
	assert_string_equal(lr.banner[0], "Lightweight Hypervisor \\(LHV\\)");
	lab_rules_release(&lr);
	lab_free(lab);
	unsetenv("LABCTL_IMAGES");
	free(src);
	free(images);
}

static void test_lab_keys(void **state)
{
	struct lab *lab;
	struct lab_rules lr;
	char *want;
	int ret;

	(void)state;
	write_file("extra.rules", "fail /lab extra/ extra\ncpus 3\niter_min 5\n");
	write_file("stage.rules", "pass /stage pass/\ncpus 4\n");
	lab = lab_from("k.conf", "[board]\ntype = qemu\n"
		       "[watch]\nrules = xmhf, linux\nrules_file = extra.rules\n"
		       "[variant a]\nrecipe = xmhf64\nsrc = /x\n"
		       "[variant b]\nrecipe = xmhf64\nsrc = /x\nrules = xmhf linux\n"
		       "rules_file = stage.rules\n");
	assert_int_equal(load_chain(lab, &lr), 0);
	assert_true(has_rule(lr.run, RULE_FAIL, "Kernel panic - not syncing"));
	assert_true(has_rule(lr.run, RULE_FAIL, "lab extra"));
	assert_false(has_rule(lr.run, RULE_ITER,
			      "CPU\\(0x([0-9a-fA-F]+)\\): (LHV (in XMHF )?)?test iter [0-9]+"));
	assert_true(has_rule(lr.stage[1], RULE_PASS, "stage pass"));
	assert_true(has_rule(lr.stage[1], RULE_END, "[^ ]+ login: *$"));
	assert_string_equal(lr.banner[1], "eXtensible Modular Hypervisor Framework");
	/* The last stage's set over the run's. */
	assert_int_equal(lr.cpus, 4);
	assert_int_equal(lr.iter_min, 5);
	lab_rules_release(&lr);
	lab_free(lab);

	/* The lab file's own [watch] keys over any set's. */
	lab = lab_from("k2.conf", "[watch]\nrules_file = extra.rules\ncpus = 2\niter_min = 9\n"
		       "[variant a]\noptions = 0x400\n");
	assert_int_equal(load_chain(lab, &lr), 0);
	assert_int_equal(lr.cpus, 2);
	assert_int_equal(lr.iter_min, 9);
	lab_rules_release(&lr);
	lab_free(lab);

	/* A stage set without a banner keeps its recipe's. */
	lab = lab_from("k3.conf", "[variant a]\nrules = linux\noptions = 0x400\n");
	assert_int_equal(load_chain(lab, &lr), 0);
	assert_string_equal(lr.banner[0],
			    "Stand-in Hypervisor \\(labctl\\) variant=${variant}( |$)");
	assert_false(has_rule(lr.stage[0], RULE_ITER,
			      "CPU\\(0x([0-9a-fA-F]+)\\): (LHV (in XMHF )?)?test iter [0-9]+"));
	lab_rules_release(&lr);
	lab_free(lab);

	/* Errors name the lab file and the key's line. */
	lab = lab_from("e1.conf", "[board]\ntype = qemu\n[watch]\nrules = xmhf, nosuch\n[variant a]\n");
	ret = load_chain(lab, &lr);
	assert_lab_refused(ret, "e1.conf:4: no rule set 'nosuch'", false);
	lab_free(lab);
	lab = lab_from("e2.conf", "[variant a]\n\nrules_file = missing.rules\n");
	ret = load_chain(lab, &lr);
	assert_int_equal(ret, -LAB_ECONFIG);
	want = xasprintf("%s/e2.conf:3: cannot open %s/missing.rules: No such file or directory",
			 tmpdir, tmpdir);
	assert_string_equal(lab_errmsg(ret), want);
	free(want);
	lab_free(lab);
	write_file("broken.rules", "fail /ok/\nfial /typo/\n");
	lab = lab_from("e3.conf", "[watch]\nrules_file = broken.rules\n[variant a]\n");
	ret = load_chain(lab, &lr);
	assert_lab_refused(ret, "broken.rules:2: unknown directive 'fial'", false);
	lab_free(lab);
	/* XMHF as the last stage of an xmhf run: its own set passes it when
	 * its guest's GRUB comes up; the run's set does not carry that rule. */
	lab = lab_from("e5.conf", "[watch]\nrules = xmhf\n[variant a]\nrecipe = xmhf64\nsrc = /x\n");
	assert_int_equal(load_chain(lab, &lr), 0);
	assert_true(has_rule(lr.stage[0], RULE_PASS, "^ *Booting `|GNU GRUB +version "));
	assert_false(rules_judges(lr.run));
	lab_rules_release(&lr);
	lab_free(lab);
	/* The run's xmhf set passes no other kind of stage: a last stage
	 * whose own set cannot pass is still refused. */
	write_file("failonly.rules", "fail /x/\n");
	setenv("LABCTL_RULES", tmpdir, 1);
	lab = lab_from("e5b.conf", "[watch]\nrules = xmhf\n[variant a]\nrules = failonly\n");
	ret = load_chain(lab, &lr);
	unsetenv("LABCTL_RULES");
	assert_lab_refused(ret, "e5b.conf: nothing can pass the last stage (a): give the run or that variant a rule set with pass, iter or end rules (e.g. rules = lhv), or set [watch] pass", true);
	lab_free(lab);
	lab = lab_from("e6.conf", "[watch]\nrules = xmhf\npass = ^ok$\n[variant a]\nrecipe = xmhf64\nsrc = /x\n");
	assert_int_equal(load_chain(lab, &lr), 0);
	lab_rules_release(&lr);
	lab_free(lab);
	lab = lab_from("e4.conf", "[variant a]\nrules = standin, ../x\n");
	ret = load_chain(lab, &lr);
	assert_lab_refused(ret, "e4.conf:2: '../x' is not a rule set name", false);
	lab_free(lab);
}

/*
 * A chain whose last stage can never meet its pass rule is refused before
 * anything runs (issue 12): a stand-in that is not an LHV build prints no
 * iteration lines, and the built-in sets' iteration count is all that
 * judges it.  Anything else that can pass lets it through.
 */
static void cannot_pass(const char *name, const char *text, bool refused)
{
	struct lab *lab = lab_from(name, text);
	struct lab_rules lr;
	int ret = load_chain(lab, &lr);

	if (refused) {
		if (ret != -LAB_ECONFIG)
			fail_msg("%s: want refused, got %d\n%s", name, ret, text);
		assert_contains(lab_errmsg(ret), "nothing can pass the last stage");
	} else {
		if (ret)
			fail_msg("%s: want accepted, got %s\n%s", name,
				 lab_errmsg(ret), text);
		lab_rules_release(&lr);
	}
	lab_free(lab);
}

static void test_lab_cannot_pass(void **state)
{
	struct lab *lab;
	struct lab_rules lr;
	char *want;
	int ret;

	(void)state;
	lab = lab_from("p1.conf", "[variant build64]\narch = amd64\n"
		       "[variant build32]\narch = i386\n"
		       "[variant build32lhv]\narch = i386\noptions = 0x400\n");
	{
		const struct lab_variant *chain[2] = { &lab->variants[0],
						       &lab->variants[1] };

		ret = lab_rules_load(lab, chain, 2, false, &lr);
	}
	assert_int_equal(ret, -LAB_ECONFIG);
	assert_int_equal(lab_exit_code(ret), 2);
	want = xasprintf("%s/p1.conf:3: nothing can pass the last stage: build32 is a stand-in without the LHV option (0x400 in options), so it boots the next GRUB entry and prints no iteration lines, which are what passes the run; end the chain with an LHV variant (build32lhv), or give build32 a pass or end rule (its rules_file, or [watch] pass)",
			 tmpdir);
	assert_string_equal(lab_errmsg(ret), want);
	free(want);
	lab_free(lab);

	cannot_pass("p2.conf", "[variant a]\n", true);
	cannot_pass("p3.conf", "[variant a]\noptions = 0x404\n", false);
	cannot_pass("p4.conf", "[variant a]\nrules = lhv\n", true);
	cannot_pass("p5.conf", "[variant a]\ncmdline = iters=3 hv_opt=0x400\n", false);
	cannot_pass("p6.conf", "[grub]\ncmdline = hv_opt=0x400\n[variant a]\n", false);
	/* The command line wins over the built-in options. */
	cannot_pass("p7.conf", "[variant a]\noptions = 0x400\ncmdline = hv_opt=0x0\n", true);
	cannot_pass("p8.conf", "[watch]\npass = ^all done$\n[variant a]\n", false);
	cannot_pass("p9.conf", "[watch]\nrules = standin, linux\n[variant a]\n", false);
	write_file("mine.rules", "iter /^core ([0-9]+) tick/\n");
	cannot_pass("p10.conf", "[variant a]\nrules_file = mine.rules\n", false);
	write_file("incl.rules", "include standin\n");
	cannot_pass("p11.conf", "[variant a]\nrules_file = incl.rules\n", true);
	/* Only the stand-in is known this well: XMHF64 stages are let through. */
	cannot_pass("p12.conf", "[variant a]\nrecipe = xmhf64\nsrc = /x\nargs = amd64\n", false);
}

/* `run LAB v1 v2 default`: the OS is what the run waits for. */
static void test_lab_ends_in_os(void **state)
{
	struct lab *lab;
	struct lab_rules lr;
	const struct lab_variant *chain[2];
	int ret;

	(void)state;
	/* Stand-ins without the LHV option, then Debian: the linux set says. */
	lab = lab_from("os1.conf", "[watch]\nrules = standin, linux\n"
		       "[variant build64]\narch = amd64\n"
		       "[variant build32]\narch = i386\n");
	chain[0] = &lab->variants[0];
	chain[1] = &lab->variants[1];
	assert_int_equal(lab_rules_load(lab, chain, 2, true, &lr), 0);
	lab_rules_release(&lr);
	lab_free(lab);

	/* Nothing says when the OS is up: refused, naming the key. */
	lab = lab_from("os2.conf", "[watch]\nrules = standin\n"
		       "[variant build64]\narch = amd64\n");
	chain[0] = &lab->variants[0];
	ret = lab_rules_load(lab, chain, 1, true, &lr);
	assert_lab_refused(ret, "os2.conf:2: the chain ends in the board's OS (default), but no rule set says when it is up: add linux to [watch] rules (labctl-rules(5))", true);
	lab_free(lab);

	/* A last variant's own end rule, or [watch] pass, will do. */
	lab = lab_from("os3.conf", "[variant build64]\narch = amd64\nrules = linux\n");
	chain[0] = &lab->variants[0];
	assert_int_equal(lab_rules_load(lab, chain, 1, true, &lr), 0);
	lab_rules_release(&lr);
	lab_free(lab);
	lab = lab_from("os4.conf", "[watch]\npass = ^up$\n[variant build64]\narch = amd64\n");
	chain[0] = &lab->variants[0];
	assert_int_equal(lab_rules_load(lab, chain, 1, true, &lr), 0);
	lab_rules_release(&lr);
	lab_free(lab);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin_equals_file),
		cmocka_unit_test(test_builtins_parse),
		cmocka_unit_test(test_parse_forms),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_include),
		cmocka_unit_test(test_named_sets),
		cmocka_unit_test(test_lab_defaults),
		cmocka_unit_test(test_lab_keys),
		cmocka_unit_test(test_lab_kind_from_build),
		cmocka_unit_test(test_lab_cannot_pass),
		cmocka_unit_test(test_lab_ends_in_os),
	};

	return cmocka_run_group_tests_name("rules", tests, setup, teardown);
}
