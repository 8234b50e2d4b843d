// SPDX-License-Identifier: MIT
/*
 * power/fault: another driver with repeatable failures, to test what a
 * run does when the power switch misbehaves.
 *
 * Keys:
 *   wraps      the wrapped driver as name:key=value,... (e.g.
 *              dummy:state_file=/tmp/x); its keys are checked against
 *              that driver's keys as a lab file's would be
 *   seed       the seed (default 1) of a xorshift64* generator, one per
 *              opened device
 *   fail_rate  percentage of actions that fail (default 50; 0 never,
 *              100 always)
 *
 * Every action (on, off, cycle, reset, status, press) draws the next
 * number: the Nth action of a device opened with the same seed and rate
 * fails or passes the same way every time.  A failing action does not
 * reach the wrapped driver and is -LAB_EINFRA; the others go to it
 * through the core wrappers (so its fallbacks apply).  Device events of
 * the wrapped driver (upper case names, e.g. QMP) are passed on.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "power.h"

static const char *const fault_keys[] = { "wraps", "seed", "fail_rate", NULL };

struct fault {
	struct power_dev *inner;
	uint64_t rng;		/* xorshift64* state, never 0 */
	uint64_t seed;
	int fail_rate;
	unsigned long calls;	/* actions drawn so far */
	/* The parsed wraps value. */
	char *name;
	struct lab_param *params;
	int nparams;
};

/* splitmix64: spreads small seeds (0, 1, 2...) over the state space. */
static uint64_t mix_seed(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x ? x : 0x2545f4914f6cdd1dull;
}

static uint64_t xorshift64s(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Whether a draw from state s fails at rate percent. */
static bool draw_fails(uint64_t *s, int rate)
{
	return (int)((xorshift64s(s) >> 32) % 100) < rate;
}

/* The next action: 0, or -LAB_EINFRA when it is one that fails. */
static int draw(struct power_dev *dev, const char *action)
{
	struct fault *f = dev->priv;

	f->calls++;
	if (!draw_fails(&f->rng, f->fail_rate))
		return 0;
	return lab_err(LAB_EINFRA,
		       "power driver fault: %s fails (action #%lu, seed %llu, fail_rate %d%%)",
		       action, f->calls, (unsigned long long)f->seed,
		       f->fail_rate);
}

static int fault_on(struct power_dev *dev)
{
	struct fault *f = dev->priv;
	int ret = draw(dev, "on");

	return ret ? ret : power_on(f->inner);
}

static int fault_off(struct power_dev *dev)
{
	struct fault *f = dev->priv;
	int ret = draw(dev, "off");

	return ret ? ret : power_off(f->inner);
}

static int fault_cycle(struct power_dev *dev)
{
	struct fault *f = dev->priv;
	int ret = draw(dev, "cycle");

	return ret ? ret : power_cycle(f->inner);
}

static int fault_reset(struct power_dev *dev)
{
	struct fault *f = dev->priv;
	int ret = draw(dev, "reset");

	return ret ? ret : power_reset(f->inner);
}

static int fault_status(struct power_dev *dev, enum power_state *state)
{
	struct fault *f = dev->priv;
	int ret = draw(dev, "status");

	*state = POWER_UNKNOWN;
	return ret ? ret : power_status(f->inner, state);
}

static int fault_press(struct power_dev *dev, bool long_press)
{
	struct fault *f = dev->priv;
	int ret = draw(dev, long_press ? "press long" : "press");

	return ret ? ret : power_press(f->inner, long_press);
}

static int fault_event_fd(struct power_dev *dev)
{
	struct fault *f = dev->priv;

	return power_event_fd(f->inner);
}

static int fault_dispatch(struct power_dev *dev)
{
	struct fault *f = dev->priv;

	return power_dispatch(f->inner);
}

/* Without drawing: what the next action would do. */
static int fault_describe(struct power_dev *dev, const char *action,
			  struct strbuf *out)
{
	struct fault *f = dev->priv;
	uint64_t s = f->rng;

	if (draw_fails(&s, f->fail_rate)) {
		strbuf_addf(out, "fail %s (action #%lu, seed %llu, fail_rate %d%%)\n",
			    action, f->calls + 1, (unsigned long long)f->seed,
			    f->fail_rate);
		return 0;
	}
	if (!f->inner->drv->describe)
		return lab_err(LAB_ECONFIG,
			       "power driver %s cannot describe what it would do (no --dry-run)",
			       f->inner->drv->name);
	return f->inner->drv->describe(f->inner, action, out);
}

/* The wrapped driver's device events (upper case) are ours. */
static void inner_event(void *arg, const char *name, const char *detail)
{
	struct power_dev *dev = arg;

	if (name[0] >= 'A' && name[0] <= 'Z')
		power_emit(dev, name, detail);
}

/* name:key=value,... into f->name and f->params. */
static int parse_wraps(struct fault *f, const char *spec)
{
	const char *colon = strchr(spec, ':');
	const char *p;

	f->name = colon ? xstrndup(spec, (size_t)(colon - spec)) : xstrdup(spec);
	if (!*f->name)
		return lab_err(LAB_ECONFIG,
			       "power driver fault: wraps=%s: want name:key=value,... (e.g. dummy:state_file=/tmp/x)",
			       spec);
	if (!colon || !colon[1])
		return 0;
	for (p = colon + 1; ; ) {
		size_t len = strcspn(p, ",");
		const char *eq = memchr(p, '=', len);
		struct lab_param *np;

		if (!eq || eq == p)
			return lab_err(LAB_ECONFIG,
				       "power driver fault: wraps=%s: '%.*s' is not key=value",
				       spec, (int)len, p);
		np = xrealloc(f->params, (size_t)(f->nparams + 1) * sizeof(*np));
		f->params = np;
		np[f->nparams].key = xstrndup(p, (size_t)(eq - p));
		np[f->nparams].value = xstrndup(eq + 1, len - (size_t)(eq + 1 - p));
		f->nparams++;
		p += len;
		if (!*p)
			break;
		p++;
	}
	return 0;
}

static int num_key(struct power_dev *dev, const char *key, uint64_t def,
		   uint64_t max, uint64_t *out)
{
	const char *v = power_param(dev, key);
	unsigned long long n;
	char *end;

	*out = def;
	if (!v)
		return 0;
	errno = 0;
	n = strtoull(v, &end, 0);
	if (errno || end == v || *end || v[0] == '-' || n > max)
		return lab_err(LAB_ECONFIG,
			       "power driver fault: %s=%s: want a number from 0 to %llu",
			       key, v, (unsigned long long)max);
	*out = n;
	return 0;
}

static void fault_free(struct fault *f)
{
	int i;

	power_close(f->inner);
	for (i = 0; i < f->nparams; i++) {
		free((char *)f->params[i].key);
		free((char *)f->params[i].value);
	}
	free(f->params);
	free(f->name);
	free(f);
}

static int fault_open(struct power_dev *dev, const struct power_config *cfg)
{
	struct fault *f = xzalloc(sizeof(*f));
	const char *wraps = power_param(dev, "wraps");
	const struct power_driver *drv;
	struct power_config icfg;
	uint64_t rate;
	char what[80];
	int ret;

	if ((ret = num_key(dev, "seed", 1, UINT64_MAX, &f->seed)) ||
	    (ret = num_key(dev, "fail_rate", 50, 100, &rate)))
		goto fail;
	f->fail_rate = (int)rate;
	f->rng = mix_seed(f->seed);
	if (!wraps) {
		ret = lab_err(LAB_ECONFIG,
			      "power driver fault needs wraps = DRIVER:key=value,... (e.g. dummy:state_file=/tmp/x)");
		goto fail;
	}
	ret = parse_wraps(f, wraps);
	if (ret)
		goto fail;
	drv = power_find_driver(f->name);
	if (!drv) {
		ret = lab_err(LAB_ECONFIG,
			      "power driver fault: wraps=%s: no power driver '%s'",
			      wraps, f->name);
		goto fail;
	}
	snprintf(what, sizeof(what), "power driver %s (in fault's wraps)",
		 drv->name);
	ret = lab_params_check(f->params, f->nparams, drv->keys, what);
	if (ret)
		goto fail;

	icfg = *cfg;
	icfg.driver = f->name;
	icfg.params = f->params;
	icfg.nparams = f->nparams;
	icfg.event = inner_event;
	icfg.event_arg = dev;
	dev->priv = f;
	ret = power_open(&f->inner, &icfg);
	if (ret)
		goto fail;
	return 0;
fail:
	dev->priv = NULL;
	fault_free(f);
	return ret;
}

static void fault_close(struct power_dev *dev)
{
	struct fault *f = dev->priv;

	if (!f)
		return;
	fault_free(f);
	dev->priv = NULL;
}

/* The keys this driver takes in a lab file's [power] section, declared once
 * here: labctl/labconf.c checks and shows them from this table. */
static const struct lab_key_def fault_lab_keys[] = {
	{ "power", "wraps", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "the driver the fault driver wraps, as name:key=value,..." },
	{ "power", "seed", KEY_INT, "1", NULL, 0, INT64_MAX, NULL,
	  "random seed for repeatable failures" },
	{ "power", "fail_rate", KEY_INT, "50", NULL, 0, 100, NULL,
	  "percentage of operations that fail" },
	{ NULL, NULL, 0, NULL, NULL, 0, 0, NULL, NULL }
};

const struct power_driver power_driver_fault = {
	.name = "fault",
	.description = "another driver with repeatable failures (seed, fail_rate)",
	.caps = POWER_CAP_ON | POWER_CAP_OFF | POWER_CAP_CYCLE |
		POWER_CAP_RESET | POWER_CAP_STATUS | POWER_CAP_PRESS |
		POWER_CAP_EVENTS,
	.keys = fault_keys,
	.lab_keys = fault_lab_keys,
	.open = fault_open,
	.close = fault_close,
	.on = fault_on,
	.off = fault_off,
	.cycle = fault_cycle,
	.reset = fault_reset,
	.status = fault_status,
	.press = fault_press,
	.event_fd = fault_event_fd,
	.dispatch = fault_dispatch,
	.describe = fault_describe,
};
