// SPDX-License-Identifier: MIT
/*
 * Unit tests for labctl/matrix.c: the --opt/--arch lists, opt_requires
 * (parse, check, repair), ddmin against simulated machines (pairs of
 * bits, dependencies, lab errors, every batch size), synthesized
 * variants, the table and the failure groups.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labctl/labconf.h"
#include "labctl/matrix.h"
#include "lib/err.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "testutil.h"

/* ------------------------------------------------------------ lists */

static void test_opt_list(void **state)
{
	uint32_t *v = NULL;
	int n = 0;

	(void)state;
	assert_int_equal(mx_opt_list_parse("0x0,0x1fd, 0x3d ,1532", &v, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(v[0], 0);
	assert_int_equal(v[1], 0x1fd);
	assert_int_equal(v[2], 0x3d);
	assert_int_equal(v[3], 0x5fc);
	free(v);
	assert_int_equal(mx_opt_list_parse("0x1,,0x2", &v, &n), -LAB_EINVAL);
	assert_contains(lab_errmsg(-LAB_EINVAL), "an empty value");
	assert_int_equal(mx_opt_list_parse("0x1,zz", &v, &n), -LAB_EINVAL);
	assert_contains(lab_errmsg(-LAB_EINVAL), "'zz' is not an option value");
	assert_int_equal(mx_opt_list_parse("0x100000000", &v, &n), -LAB_EINVAL);
	assert_int_equal(mx_opt_list_parse("-1", &v, &n), -LAB_EINVAL);
	assert_int_equal(mx_opt_list_parse("0x10,16", &v, &n), -LAB_EINVAL);
	assert_contains(lab_errmsg(-LAB_EINVAL), "0x10 is listed twice");
}

static void test_arch_list(void **state)
{
	char **v = NULL;
	int n = 0;

	(void)state;
	assert_int_equal(mx_arch_list_parse("i386, amd64", &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "i386");
	assert_string_equal(v[1], "amd64");
	mx_list_free(v, n);
	assert_int_equal(mx_arch_list_parse("i386,arm", &v, &n), -LAB_EINVAL);
	assert_contains(lab_errmsg(-LAB_EINVAL), "'arm' is not an arch");
	assert_int_equal(mx_arch_list_parse("amd64,amd64", &v, &n), -LAB_EINVAL);
	assert_contains(lab_errmsg(-LAB_EINVAL), "amd64 is listed twice");
}

/* ------------------------------------------------------------ deps */

static void test_deps_parse(void **state)
{
	struct mx_deps d;
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	assert_int_equal(mx_deps_parse("0x8:0x4, 0x40 : !0x2,0x20:0x4", &d), 0);
	assert_int_equal(d.n, 3);
	assert_int_equal(d.v[0].when, 0x8);
	assert_int_equal(d.v[0].need, 0x4);
	assert_false(d.v[0].clear);
	assert_int_equal(d.v[1].when, 0x40);
	assert_int_equal(d.v[1].need, 0x2);
	assert_true(d.v[1].clear);
	mx_dep_describe(&d, 1, &sb);
	assert_string_equal(strbuf_str(&sb), "0x40 needs 0x2 clear");
	strbuf_reset(&sb);
	mx_dep_describe(&d, 0, &sb);
	assert_string_equal(strbuf_str(&sb), "0x8 needs 0x4");
	strbuf_release(&sb);

	/* LHV: SWITCH_EPT needs EPT, USER_MODE needs NO_EFLAGS_IF clear. */
	assert_int_equal(mx_deps_check(&d, 0x0), -1);
	assert_int_equal(mx_deps_check(&d, 0xc), -1);
	assert_int_equal(mx_deps_check(&d, 0x8), 0);
	assert_int_equal(mx_deps_check(&d, 0x40), -1);
	assert_int_equal(mx_deps_check(&d, 0x42), 1);
	assert_int_equal(mx_deps_check(&d, 0x2), -1);
	assert_int_equal(mx_deps_check(&d, 0x20), 2);
	assert_int_equal(mx_deps_check(NULL, 0x8), -1);
	mx_deps_release(&d);

	assert_int_equal(mx_deps_parse("", &d), 0);
	assert_int_equal(d.n, 0);
	mx_deps_release(&d);

	assert_int_equal(mx_deps_parse("0x8", &d), -LAB_EINVAL);
	assert_contains(lab_errmsg(-LAB_EINVAL), "'0x8' is not BITS:NEEDED");
	assert_int_equal(mx_deps_parse("0x8:0x4,,0x2:0x1", &d), -LAB_EINVAL);
	assert_int_equal(mx_deps_parse("0x8:zz", &d), -LAB_EINVAL);
	assert_contains(lab_errmsg(-LAB_EINVAL), "needs two non-zero option values");
	assert_int_equal(mx_deps_parse("0:0x4", &d), -LAB_EINVAL);
	assert_int_equal(mx_deps_parse("0x6:!0x2", &d), -LAB_EINVAL);
	assert_contains(lab_errmsg(-LAB_EINVAL), "can never hold");
}

static void test_deps_repair(void **state)
{
	struct mx_deps d;
	uint32_t set;

	(void)state;
	assert_int_equal(mx_deps_parse("0x8:0x4, 0x40:!0x2", &d), 0);
	/* good 0x0, bad 0xc: {0x8} alone breaks "0x8 needs 0x4": add 0x4. */
	set = 0x8;
	assert_true(mx_deps_repair(&d, 0x0, 0xc, &set));
	assert_int_equal(set, 0xc);
	/* good 0x2, bad 0x40: setting 0x40 needs 0x2 cleared too. */
	set = 0x40;
	assert_true(mx_deps_repair(&d, 0x2, 0x42, &set));
	assert_int_equal(set, 0x42);
	/* Nothing to repair. */
	set = 0x4;
	assert_true(mx_deps_repair(&d, 0x0, 0xc, &set));
	assert_int_equal(set, 0x4);
	/* good 0xc, bad 0x0: clearing 0x4 alone leaves 0x8 without it;
	 * the repair clears 0x8 too. */
	set = 0x4;
	assert_true(mx_deps_repair(&d, 0xc, 0xc, &set));
	assert_int_equal(set, 0xc);
	/* Within a set that itself breaks the rule: no repair. */
	set = 0x8;
	assert_false(mx_deps_repair(&d, 0x0, 0x8, &set));
	/* Chains: 0x100 needs 0x8 needs 0x4. */
	mx_deps_release(&d);
	assert_int_equal(mx_deps_parse("0x100:0x8, 0x8:0x4", &d), 0);
	set = 0x100;
	assert_true(mx_deps_repair(&d, 0x0, 0x10c, &set));
	assert_int_equal(set, 0x10c);
	mx_deps_release(&d);
}

/* ------------------------------------------------------------ ddmin */

/*
 * A simulated machine: it fails when any of its fault sets is wholly in
 * the configuration (a fault set with `absent` bits fails when those are
 * clear too).  Configurations in `infra` give a lab error: always, or
 * the first time only (infra_once).
 */
struct machine {
	uint32_t faults[4];
	int nfaults;
	uint32_t infra, infra_once, infra_seen;
	const struct mx_deps *deps;	/* a run that breaks them fails */
	int runs;
	bool broke_rules;		/* ddmin ran a configuration that breaks them */
};

static enum mx_verdict machine_run(struct machine *m, uint32_t cfg)
{
	int i;

	m->runs++;
	if (mx_deps_check(m->deps, cfg) >= 0) {
		m->broke_rules = true;
		return MX_FAIL;
	}
	if (cfg == m->infra)
		return MX_INFRA;
	if (cfg == m->infra_once && !(m->infra_seen++))
		return MX_INFRA;
	for (i = 0; i < m->nfaults; i++)
		if ((cfg & m->faults[i]) == m->faults[i])
			return MX_FAIL;
	return MX_PASS;
}

/* Run ddmin to the end with batches of `batch`; returns the status. */
static enum ddmin_status search(struct ddmin *d, struct machine *m,
				uint32_t good, uint32_t bad,
				const struct mx_deps *deps, int batch)
{
	uint32_t cfgs[64];
	int k, i, guard = 0;

	assert_int_equal(ddmin_init(d, good, bad, deps), 0);
	while ((k = ddmin_next(d, cfgs, batch)) > 0) {
		assert_true(k <= batch);
		for (i = 0; i < k; i++)
			ddmin_feed(d, cfgs[i], machine_run(m, cfgs[i]));
		assert_true(++guard < 1000);
	}
	assert_int_equal(d->runs, m->runs);
	return d->status;
}

/* The stand-in's faults: 0x800 and 0x1000 together; 0x2000 without
 * 0x4000 (declared as opt_requires 0x2000:0x4000). */
static void test_ddmin_pair(void **state)
{
	struct mx_deps deps;
	int batch;

	(void)state;
	assert_int_equal(mx_deps_parse("0x2000:0x4000", &deps), 0);
	for (batch = 1; batch <= 8; batch++) {
		struct machine m = { .faults = { 0x1800, 0 }, .nfaults = 1,
				     .deps = &deps };
		struct ddmin d;
		int i;

		assert_int_equal(search(&d, &m, 0x400, 0x37c00, &deps, batch),
				 DDMIN_FOUND);
		assert_int_equal(ddmin_culprit(&d), 0x1800);
		assert_false(m.broke_rules);
		for (i = 0; i < d.ntries; i++)
			assert_int_equal(mx_deps_check(&deps, d.tries[i].cfg), -1);
		/* The first split {0x800,0x1000,0x2000} was repaired to
		 * include 0x4000. */
		assert_non_null(ddmin_find(&d, 0x7c00));
		assert_int_equal(ddmin_find(&d, 0x7c00)->asked_set, 0x3800);
		assert_true(d.repaired >= 1);
		if (batch == 1)
			assert_int_equal(d.runs, 6);
		ddmin_release(&d);
	}
	mx_deps_release(&deps);
}

/* Without the declared rule, the search blames the bit that breaks it:
 * the reason opt_requires exists. */
static void test_ddmin_without_rules(void **state)
{
	struct mx_deps deps;
	struct machine m = { .nfaults = 0 };
	struct ddmin d;

	(void)state;
	assert_int_equal(mx_deps_parse("0x2000:0x4000", &deps), 0);
	m.deps = &deps;		/* the machine has the rule, ddmin not */
	m.faults[m.nfaults++] = 0x1800;
	assert_int_equal(search(&d, &m, 0x400, 0x37c00, NULL, 1), DDMIN_FOUND);
	assert_true(m.broke_rules);
	assert_int_equal(ddmin_culprit(&d), 0x2000);
	ddmin_release(&d);
	mx_deps_release(&deps);
}

/* One bit at a time would find nothing: each bit alone passes. */
static void test_ddmin_single_bits_miss_pair(void **state)
{
	struct machine m = { .faults = { 0x1800 }, .nfaults = 1 };
	uint32_t b;

	(void)state;
	for (b = 0x800; b <= 0x20000; b <<= 1)
		assert_int_equal(machine_run(&m, 0x400 | b), MX_PASS);
}

/* A bit that must be cleared: bad clears 0x2 and sets 0x40 ("0x40 needs
 * 0x2 clear"), the fault is 0x40 with 0x10.  */
static void test_ddmin_clear_rule(void **state)
{
	struct mx_deps deps;
	struct machine m = { .faults = { 0x50 }, .nfaults = 1 };
	struct ddmin d;

	(void)state;
	assert_int_equal(mx_deps_parse("0x40:!0x2", &deps), 0);
	m.deps = &deps;
	assert_int_equal(search(&d, &m, 0x2, 0x1f0, &deps, 3), DDMIN_FOUND);
	assert_false(m.broke_rules);
	/* 0x40 cannot be set while 0x2 is: the minimal valid change set
	 * sets 0x10 and 0x40 and clears 0x2. */
	assert_int_equal(ddmin_culprit(&d), 0x52);
	ddmin_release(&d);
	mx_deps_release(&deps);
}

static void test_ddmin_endpoints(void **state)
{
	struct mx_deps deps;
	struct ddmin d;

	(void)state;
	{
		struct machine m = { .faults = { 0x1 }, .nfaults = 1 };

		assert_int_equal(search(&d, &m, 0x1, 0x3, NULL, 2),
				 DDMIN_GOOD_FAILS);
		ddmin_release(&d);
	}
	{
		struct machine m = { .faults = { 0x100 }, .nfaults = 1 };

		assert_int_equal(search(&d, &m, 0x1, 0x3, NULL, 2),
				 DDMIN_BAD_PASSES);
		assert_int_equal(ddmin_culprit(&d), 0);
		ddmin_release(&d);
	}
	{
		/* An end with lab errors twice: unresolved, not bad. */
		struct machine m = { .faults = { 0x2 }, .nfaults = 1,
				     .infra = 0x3 };

		assert_int_equal(search(&d, &m, 0x1, 0x3, NULL, 2),
				 DDMIN_UNRESOLVED);
		assert_int_equal(ddmin_find(&d, 0x3)->attempts, 2);
		assert_int_equal(ddmin_find(&d, 0x3)->verdict, MX_UNRESOLVED);
		ddmin_release(&d);
	}
	/* One differing bit: the endpoints are the whole search. */
	{
		struct machine m = { .faults = { 0x2 }, .nfaults = 1 };

		assert_int_equal(search(&d, &m, 0x1, 0x3, NULL, 4), DDMIN_FOUND);
		assert_int_equal(ddmin_culprit(&d), 0x2);
		assert_int_equal(d.runs, 2);
		ddmin_release(&d);
	}
	assert_int_equal(ddmin_init(&d, 0x5, 0x5, NULL), -LAB_EINVAL);
	assert_contains(lab_errmsg(-LAB_EINVAL), "the same value");
	assert_int_equal(mx_deps_parse("0x8:0x4", &deps), 0);
	assert_int_equal(ddmin_init(&d, 0x0, 0x8, &deps), -LAB_EINVAL);
	assert_contains(lab_errmsg(-LAB_EINVAL),
			"--bad 0x8 breaks the variant's opt_requires (0x8 needs 0x4)");
	mx_deps_release(&deps);
}

/* A lab error is retried once; twice is unresolved and never "bad". */
static void test_ddmin_infra(void **state)
{
	int batch;

	(void)state;
	for (batch = 1; batch <= 4; batch++) {
		/* 0x1c00 (a failing candidate) has a lab error once. */
		struct machine m = { .faults = { 0x1800 }, .nfaults = 1,
				     .infra_once = 0x1c00 };
		struct ddmin d;

		assert_int_equal(search(&d, &m, 0x400, 0x7c00, NULL, batch),
				 DDMIN_FOUND);
		assert_int_equal(ddmin_culprit(&d), 0x1800);
		assert_int_equal(ddmin_find(&d, 0x1c00)->attempts, 2);
		assert_int_equal(ddmin_find(&d, 0x1c00)->verdict, MX_FAIL);
		ddmin_release(&d);
	}
	{
		/* Always a lab error on a configuration that would fail: it
		 * is unresolved, and the search goes around it. */
		struct machine m = { .faults = { 0x1800 }, .nfaults = 1,
				     .infra = 0x1c00 };
		struct ddmin d;

		assert_int_equal(search(&d, &m, 0x400, 0x7c00, NULL, 2),
				 DDMIN_FOUND);
		assert_int_equal(ddmin_find(&d, 0x1c00)->verdict, MX_UNRESOLVED);
		/* Never blamed as bad: the culprit set still fails. */
		assert_int_equal(ddmin_culprit(&d) & 0x1800, 0x1800);
		assert_int_equal(machine_run(&m, 0x400 ^ ddmin_culprit(&d)), MX_FAIL);
		ddmin_release(&d);
	}
}

/* Random machines: the result fails, is 1-minimal, and is the same for
 * every batch size. */
static void test_ddmin_random(void **state)
{
	unsigned seed = 12345;
	int round;

	(void)state;
	for (round = 0; round < 300; round++) {
		uint32_t good, bad, delta, want = 0;
		struct machine proto = { 0 };
		int i, batch;

		seed = seed * 1103515245u + 12345u;
		good = seed & 0xffff;
		seed = seed * 1103515245u + 12345u;
		bad = good ^ (seed & 0xffff);
		if (good == bad)
			continue;
		delta = good ^ bad;
		proto.nfaults = 1 + (int)(seed >> 28) % 3;
		for (i = 0; i < proto.nfaults; i++) {
			seed = seed * 1103515245u + 12345u;
			/* A fault of 1-3 bits of bad's configuration. */
			proto.faults[i] = bad & (seed | (seed >> 7)) &
					  (seed >> 3) & 0xffff;
			if (!proto.faults[i] || (good & proto.faults[i]) ==
						proto.faults[i])
				proto.faults[i] = bad & delta & -delta;
		}
		if (machine_run(&proto, good) != MX_PASS ||
		    machine_run(&proto, bad) != MX_FAIL)
			continue;
		for (batch = 1; batch <= 6; batch++) {
			struct machine m = proto;
			struct ddmin d;
			uint32_t c, b;

			m.runs = 0;
			assert_int_equal(search(&d, &m, good, bad, NULL, batch),
					 DDMIN_FOUND);
			c = ddmin_culprit(&d);
			assert_int_equal(c & ~delta, 0);
			assert_int_equal(machine_run(&m, good ^ c), MX_FAIL);
			for (b = 1; b; b <<= 1)
				if (c & b)
					assert_int_equal(machine_run(&m, good ^ (c & ~b)),
							 MX_PASS);
			if (batch == 1)
				want = c;
			assert_int_equal(c, want);
			ddmin_release(&d);
		}
	}
}

/* No configuration is handed out twice while out, nor after its verdict. */
static void test_ddmin_no_duplicates(void **state)
{
	struct ddmin d;
	uint32_t cfgs[8], more[8];
	int k, k2, i, j;

	(void)state;
	assert_int_equal(ddmin_init(&d, 0x0, 0xff, NULL), 0);
	k = ddmin_next(&d, cfgs, 3);
	assert_int_equal(k, 3);
	assert_int_equal(cfgs[0], 0x0);
	assert_int_equal(cfgs[1], 0xff);
	assert_int_equal(cfgs[2], 0x0f);
	k2 = ddmin_next(&d, more, 8);
	for (i = 0; i < k2; i++)
		for (j = 0; j < k; j++)
			assert_int_not_equal(more[i], cfgs[j]);
	ddmin_release(&d);
}

/* ------------------------------------------------------------ cells */

static const char lab_text[] =
	"[board]\ntype = qemu\npool = 2\n\n"
	"[variant build32lhv]\narch = i386\noptions = 0x400\nentry = LHV\n"
	"cmdline = iters=30\n\n"
	"[variant xm]\nrecipe = xmhf64\nsrc = /src/uberxmhf\n"
	"args = i386 fast --lhv-opt 0x5fc circleci\n\n"
	"[variant lhv.amd64.0x1]\narch = amd64\n";

static void test_cells(void **state)
{
	struct lab *lab = NULL;
	struct mx_runner r = { .verb = "matrix" };
	struct mx_cell c, c2;
	const struct lab_variant *v;

	(void)state;
	assert_int_equal(lab_parse("labs/pq.conf", lab_text, strlen(lab_text),
				   &lab), 0);
	assert_int_equal(mx_runner_init(&r, lab, "build32lhv", NULL, 0), 0);
	assert_int_equal(r.jobs, 2);	/* the pool */
	assert_string_equal(mx_base_arch(mx_runner_base(&r)), "i386");
	assert_int_equal(mx_base_options(mx_runner_base(&r)), 0x400);

	assert_int_equal(mx_cell_init(&r, &c, "amd64", 0x1fd), 0);
	assert_string_equal(c.variant, "build32lhv.amd64.0x1fd");
	/* The runner's own variant: the lab is not written. */
	assert_null(lab_find_variant(lab, "build32lhv.amd64.0x1fd"));
	v = mx_runner_variant(&r, "build32lhv.amd64.0x1fd");
	assert_non_null(v);
	assert_int_equal(v->line, 0);
	assert_string_equal(lab_variant_get(v, "arch"), "amd64");
	assert_string_equal(lab_variant_get(v, "options"), "0x1fd");
	assert_string_equal(lab_variant_get(v, "cmdline"), "iters=30");
	assert_null(lab_variant_get(v, "entry"));	/* its own entry */
	/* The same cell again: no second variant. */
	assert_int_equal(mx_cell_init(&r, &c2, "amd64", 0x1fd), 0);
	assert_int_equal(r.nvariants, 1);
	assert_int_equal(lab->nvariants, 3);
	mx_cell_release(&c);
	mx_cell_release(&c2);
	mx_runner_release(&r);

	/* xmhf64: the arch word and --lhv-opt in args. */
	r = (struct mx_runner){ .verb = "matrix" };
	assert_int_equal(mx_runner_init(&r, lab, "xm", NULL, 0), 0);
	assert_string_equal(mx_base_arch(mx_runner_base(&r)), "i386");
	assert_int_equal(mx_base_options(mx_runner_base(&r)), 0x5fc);
	assert_int_equal(mx_cell_init(&r, &c, "amd64", 0x1fd), 0);
	v = mx_runner_variant(&r, "xm.amd64.0x1fd");
	assert_string_equal(lab_variant_get(v, "args"),
			    "amd64 fast --lhv-opt 0x1fd circleci");
	assert_string_equal(lab_variant_get(v, "src"), "/src/uberxmhf");
	mx_cell_release(&c);
	mx_runner_release(&r);

	/* A lab variant with a synthesized name is refused. */
	r = (struct mx_runner){ .verb = "matrix" };
	assert_int_equal(mx_runner_init(&r, lab, "lhv.amd64.0x1", NULL, 0), 0);
	mx_runner_release(&r);
	lab_free(lab);

	assert_int_equal(lab_parse("labs/pq.conf", lab_text, strlen(lab_text),
				   &lab), 0);
	r = (struct mx_runner){ .verb = "matrix" };
	{
		/* Base "lhv" does not exist: its message lists the variants. */
		assert_int_equal(mx_runner_init(&r, lab, "lhv", NULL, 0),
				 -LAB_ECONFIG);
		assert_contains(lab_errmsg(-LAB_ECONFIG),
				"lab pq has no variant 'lhv' (variants: build32lhv, xm, lhv.amd64.0x1)");
	}
	{
		const char *before[] = { "nope" };

		assert_int_equal(mx_runner_init(&r, lab, "build32lhv", before, 1),
				 -LAB_ECONFIG);
		assert_contains(lab_errmsg(-LAB_ECONFIG), "--before: lab pq has no variant 'nope'");
	}
	lab_free(lab);
}

static void test_cell_name_clash_and_length(void **state)
{
	static const char text[] =
		"[board]\ntype = qemu\n"
		"[variant lhv]\narch = amd64\n"
		"[variant lhv.amd64.0x1]\narch = amd64\n"
		"[variant a-rather-long-variant-name]\n";
	struct lab *lab = NULL;
	struct mx_runner r = { .verb = "matrix" };
	struct mx_cell c;

	(void)state;
	assert_int_equal(lab_parse("labs/x.conf", text, sizeof(text) - 1, &lab), 0);
	assert_int_equal(mx_runner_init(&r, lab, "lhv", NULL, 0), 0);
	assert_int_equal(r.jobs, 1);
	assert_int_equal(mx_cell_init(&r, &c, "amd64", 0x1), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG),
			"labs/x.conf already has a [variant lhv.amd64.0x1] (line 5)");
	mx_cell_release(&c);
	mx_runner_release(&r);
	r = (struct mx_runner){ .verb = "matrix" };
	assert_int_equal(mx_runner_init(&r, lab, "a-rather-long-variant-name",
					NULL, 0), 0);
	assert_int_equal(mx_cell_init(&r, &c, "amd64", 0x1), -LAB_EINVAL);
	assert_contains(lab_errmsg(-LAB_EINVAL),
			"a-rather-long-variant-name.amd64.0x1 would be longer than the stand-in's 31 characters");
	mx_cell_release(&c);
	mx_runner_release(&r);
	lab_free(lab);
}

static void test_real_board_refused(void **state)
{
	static const char text[] =
		"[board]\ntype = laptop\nhost = hp\n[variant lhv]\n";
	struct lab *lab = NULL;
	struct mx_runner r = { .verb = "opt-bisect" };

	(void)state;
	assert_int_equal(lab_parse("labs/hp.conf", text, sizeof(text) - 1, &lab), 0);
	assert_int_equal(mx_runner_init(&r, lab, "lhv", NULL, 0), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG), "opt-bisect runs on QEMU boards");
	lab_free(lab);
}

static void test_lab_deps_message(void **state)
{
	static const char text[] =
		"[board]\ntype = qemu\n[variant lhv]\narch = amd64\n"
		"opt_requires = 0x8:0x4, 0x40\n";
	struct lab *lab = NULL;

	(void)state;
	/* Refused when the lab file is read, so every verb says so. */
	assert_int_equal(lab_parse("labs/x.conf", text, sizeof(text) - 1, &lab),
			 -LAB_ECONFIG);
	assert_null(lab);
	assert_contains(lab_errmsg(-LAB_ECONFIG),
			"labs/x.conf:5: [variant lhv] opt_requires: '0x40' is not BITS:NEEDED");
}

/* ------------------------------------------------------------ output */

static void set_cell(struct mx_cell *c, const char *arch, uint32_t opt,
		     enum mx_verdict v, const char *line, const char *reason)
{
	memset(c, 0, sizeof(*c));
	c->arch = (char *)arch;
	c->options = opt;
	c->verdict = v;
	c->line = (char *)line;
	c->reason = (char *)reason;
}

static void test_table_and_groups(void **state)
{
	char *archs[] = { (char *)"i386", (char *)"amd64" };
	uint32_t opts[] = { 0x0, 0x1fd, 0x3d, 0x5fc };
	struct mx_cell cells[8];
	struct strbuf sb = STRBUF_INIT;
	int group[8], ng;

	(void)state;
	set_cell(&cells[0], "i386", 0x0, MX_PASS, NULL, NULL);
	set_cell(&cells[1], "i386", 0x1fd, MX_FAIL, "Fatal: A", "r1");
	set_cell(&cells[2], "i386", 0x3d, MX_INFRA, NULL, "build failed");
	set_cell(&cells[3], "i386", 0x5fc, MX_SKIP, NULL, "0x8 needs 0x4");
	set_cell(&cells[4], "amd64", 0x0, MX_FAIL, NULL, "timeout");
	set_cell(&cells[5], "amd64", 0x1fd, MX_FAIL, "Fatal: A", "r2");
	set_cell(&cells[6], "amd64", 0x3d, MX_FAIL, "Fatal: B", "r3");
	set_cell(&cells[7], "amd64", 0x5fc, MX_PENDING, NULL, NULL);
	mx_render_table(cells, archs, 2, opts, 4, &sb);
	assert_string_equal(strbuf_str(&sb),
			    "       0x0    0x1fd  0x3d   0x5fc\n"
			    "i386   pass   FAIL   infra  skip\n"
			    "amd64  FAIL   FAIL   FAIL   -\n");
	strbuf_release(&sb);
	ng = mx_group_failures(cells, 8, group);
	assert_int_equal(ng, 3);
	assert_int_equal(group[0], -1);
	assert_int_equal(group[1], 0);
	assert_int_equal(group[2], -1);
	assert_int_equal(group[4], 1);	/* no line: by its reason */
	assert_int_equal(group[5], 0);
	assert_int_equal(group[6], 2);
	assert_int_equal(group[7], -1);
	assert_string_equal(mx_failure_key(&cells[4]), "timeout");
	assert_string_equal(mx_failure_key(&cells[1]), "Fatal: A");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opt_list),
		cmocka_unit_test(test_arch_list),
		cmocka_unit_test(test_deps_parse),
		cmocka_unit_test(test_deps_repair),
		cmocka_unit_test(test_ddmin_pair),
		cmocka_unit_test(test_ddmin_without_rules),
		cmocka_unit_test(test_ddmin_single_bits_miss_pair),
		cmocka_unit_test(test_ddmin_clear_rule),
		cmocka_unit_test(test_ddmin_endpoints),
		cmocka_unit_test(test_ddmin_infra),
		cmocka_unit_test(test_ddmin_random),
		cmocka_unit_test(test_ddmin_no_duplicates),
		cmocka_unit_test(test_cells),
		cmocka_unit_test(test_cell_name_clash_and_length),
		cmocka_unit_test(test_real_board_refused),
		cmocka_unit_test(test_lab_deps_message),
		cmocka_unit_test(test_table_and_groups),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
