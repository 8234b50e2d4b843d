// SPDX-License-Identifier: MIT
/*
 * Escalation plans (see plan.h): parse "DEV[:ACT[+ACT]], ...", open the
 * devices, and try the steps until one is confirmed down and back up.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "power/plan.h"

#define DEFAULT_CONFIRM_TIMEOUT_MS 120000
#define DEFAULT_POLL_MS 1000

struct power_plan;

struct plan_dev {
	struct power_plan *plan;
	const char *name;		/* the caller's */
	char *owned_name;
	struct power_dev *dev;		/* NULL: unavailable */
	char *unavailable;		/* why */
	bool cuts_ac, button;
};

struct plan_step {
	char *what;			/* "amt:reset", normalised */
	struct plan_dev *pd;
	const char *actions[POWER_PLAN_MAX_ACTIONS];
	int nactions;
};

struct power_plan {
	struct power_plan_options o;
	struct plan_dev devs[POWER_PLAN_MAX_STEPS];
	int ndevs;
	struct plan_step steps[POWER_PLAN_MAX_STEPS];
	int nsteps;
	struct power_plan_attempt attempts[POWER_PLAN_MAX_STEPS];
	int nattempts;
	int worked;
};

enum confirm_how {
	BY_CALLER,	/* the caller's confirmation */
	BY_STATUS,	/* the device's power status */
	BY_NOTHING,	/* nothing can tell: done, unconfirmed */
	NEVER,		/* an AC cut on a battery board */
};

/* ------------------------------------------------------------ keys */

int power_param_bool(struct power_dev *dev, const char *key, bool def,
		     bool *out)
{
	const char *v = power_param(dev, key);

	*out = def;
	if (!v)
		return 0;
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") ||
	    !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") ||
		 !strcmp(v, "0"))
		*out = false;
	else
		return lab_err(LAB_ECONFIG,
			       "power driver %s: %s=%s: want yes or no",
			       dev->drv->name, key, v);
	return 0;
}

int power_param_ms(struct power_dev *dev, const char *key, int64_t def,
		   int64_t *out)
{
	const char *v = power_param(dev, key);

	*out = def;
	if (!v)
		return 0;
	if (lab_parse_duration_ms(v, out) || *out <= 0) {
		lab_err_clear();
		return lab_err(LAB_ECONFIG,
			       "power driver %s: %s=%s: want a duration like 300ms or 5s",
			       dev->drv->name, key, v);
	}
	return 0;
}

/* ------------------------------------------------------------ parsing */

static const struct {
	const char *word;
	const char *action;	/* as power_driver.describe takes it */
} action_words[] = {
	{ "on", "on" }, { "off", "off" }, { "cycle", "cycle" },
	{ "reset", "reset" }, { "press", "press" }, { "long", "press long" },
	{ NULL, NULL },
};

static const char *find_action(const char *word, size_t len)
{
	int i;

	for (i = 0; action_words[i].word; i++)
		if (strlen(action_words[i].word) == len &&
		    !strncmp(action_words[i].word, word, len))
			return action_words[i].action;
	return NULL;
}

static const char *action_word(const char *action)
{
	int i;

	for (i = 0; action_words[i].word; i++)
		if (!strcmp(action_words[i].action, action))
			return action_words[i].word;
	return action;
}

static bool is_down(const char *a)
{
	return !strcmp(a, "off") || !strcmp(a, "press long");
}

static bool is_down_and_up(const char *a)
{
	return !strcmp(a, "cycle") || !strcmp(a, "reset");
}

/* A device's event: the plan's caller sees it with the device's name. */
static void dev_event(void *arg, const char *name, const char *detail)
{
	struct plan_dev *pd = arg;
	struct power_plan *p = pd->plan;
	struct strbuf sb = STRBUF_INIT;

	if (!p->o.event)
		return;
	strbuf_addf(&sb, "%s: %s", pd->name, detail);
	p->o.event(p->o.event_arg, name, strbuf_str(&sb));
	strbuf_release(&sb);
}

static void plan_emit(struct power_plan *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void plan_emit(struct power_plan *p, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	lab_debug("power plan: %s", strbuf_str(&sb));
	if (p->o.event)
		p->o.event(p->o.event_arg, "plan", strbuf_str(&sb));
	strbuf_release(&sb);
}

/* Open the device once; a driver this labctl lacks makes it unavailable. */
static int open_dev(struct power_plan *p, const struct power_plan_device *d,
		    struct plan_dev **out)
{
	struct plan_dev *pd;
	struct power_config cfg = d->cfg;
	const char *b;
	int i, ret;

	for (i = 0; i < p->ndevs; i++) {
		if (!strcmp(p->devs[i].name, d->name)) {
			*out = &p->devs[i];
			return 0;
		}
	}
	pd = &p->devs[p->ndevs++];
	pd->plan = p;
	pd->owned_name = xstrdup(d->name);
	pd->name = pd->owned_name;
	pd->cuts_ac = d->cuts_ac;
	b = lab_param_get(d->cfg.params, d->cfg.nparams, "button");
	pd->button = b && (!strcmp(b, "yes") || !strcmp(b, "true") ||
			   !strcmp(b, "on") || !strcmp(b, "1"));
	*out = pd;
	if (!d->cfg.driver)
		return lab_err(LAB_ECONFIG, "power device %s has no driver",
			       d->name);
	if (!power_find_driver(d->cfg.driver)) {
		pd->unavailable = xasprintf("not available: power driver %s is not in this labctl",
					    d->cfg.driver);
		return 0;
	}
	cfg.event = dev_event;
	cfg.event_arg = pd;
	ret = power_open(&pd->dev, &cfg);
	if (ret == -LAB_ECONFIG)
		return ret;
	if (ret) {
		pd->unavailable = xasprintf("cannot open: %s", lab_errmsg(ret));
		lab_err_clear();
	}
	return 0;
}

static int parse_step(struct power_plan *p, const char *text, size_t len,
		      const struct power_plan_device *devs, int ndevs)
{
	struct plan_step *s = &p->steps[p->nsteps];
	int n = p->nsteps + 1, i, ret;
	const char *colon = memchr(text, ':', len);
	size_t nlen = colon ? (size_t)(colon - text) : len;
	const struct power_plan_device *d = NULL;
	struct strbuf names = STRBUF_INIT, what = STRBUF_INIT;

	while (nlen && isspace((unsigned char)text[nlen - 1]))
		nlen--;
	if (!nlen)
		return lab_err(LAB_ECONFIG,
			       "power plan: step %d '%.*s' names no device (want DEVICE[:ACTION[+ACTION]], e.g. amt:reset)",
			       n, (int)len, text);
	for (i = 0; i < ndevs && !d; i++)
		if (strlen(devs[i].name) == nlen &&
		    !strncmp(devs[i].name, text, nlen))
			d = &devs[i];
	if (!d) {
		for (i = 0; i < ndevs; i++)
			strbuf_addf(&names, "%s%s", i ? ", " : "", devs[i].name);
		ret = lab_err(LAB_ECONFIG,
			      "power plan: step %d '%.*s': no power device '%.*s' (devices: %s; add a [power %.*s] section)",
			      n, (int)len, text, (int)nlen, text,
			      names.len ? strbuf_str(&names) : "none",
			      (int)nlen, text);
		strbuf_release(&names);
		return ret;
	}
	if (colon) {
		const char *a = colon + 1, *end = text + len;

		while (a <= end) {
			const char *plus = memchr(a, '+', (size_t)(end - a));
			const char *e = plus ? plus : end;
			const char *act;

			while (a < e && isspace((unsigned char)*a))
				a++;
			while (e > a && isspace((unsigned char)e[-1]))
				e--;
			act = find_action(a, (size_t)(e - a));
			if (!act)
				return lab_err(LAB_ECONFIG,
					       "power plan: step %d '%.*s': unknown action '%.*s' (on, off, cycle, reset, press, long)",
					       n, (int)len, text, (int)(e - a), a);
			if (s->nactions == POWER_PLAN_MAX_ACTIONS)
				return lab_err(LAB_ECONFIG,
					       "power plan: step %d '%.*s': more than %d actions",
					       n, (int)len, text,
					       POWER_PLAN_MAX_ACTIONS);
			s->actions[s->nactions++] = act;
			if (!plus)
				break;
			a = plus + 1;
		}
	} else {
		s->actions[s->nactions++] = p->o.verb;
	}
	ret = open_dev(p, d, &s->pd);
	if (ret) {
		char *msg = xstrdup(lab_errmsg(ret));

		ret = lab_err(-ret, "power plan: step %d '%.*s': %s", n, (int)len,
			      text, msg);
		free(msg);
		return ret;
	}
	strbuf_addf(&what, "%s:", s->pd->name);
	for (i = 0; i < s->nactions; i++)
		strbuf_addf(&what, "%s%s", i ? "+" : "", action_word(s->actions[i]));
	s->what = strbuf_detach(&what, NULL);
	p->nsteps++;
	return 0;
}

int power_plan_new(struct power_plan **out, const char *spec,
		   const struct power_plan_device *devs, int ndevs,
		   const struct power_plan_options *opts)
{
	struct power_plan *p = xzalloc(sizeof(*p));
	const char *s = spec ? spec : "";
	int ret = 0;

	*out = NULL;
	p->o = *opts;
	if (!p->o.verb)
		p->o.verb = "cycle";
	if (strcmp(p->o.verb, "cycle") && strcmp(p->o.verb, "reset")) {
		ret = lab_err(LAB_EINVAL, "power plan: verb '%s': want cycle or reset",
			      p->o.verb);
		goto fail;
	}
	if (p->o.confirm_timeout_ms <= 0)
		p->o.confirm_timeout_ms = DEFAULT_CONFIRM_TIMEOUT_MS;
	if (p->o.poll_ms <= 0)
		p->o.poll_ms = DEFAULT_POLL_MS;
	for (;;) {
		size_t len = strcspn(s, ",");

		while (len && isspace((unsigned char)*s)) {
			s++;
			len--;
		}
		if (p->nsteps == POWER_PLAN_MAX_STEPS) {
			ret = lab_err(LAB_ECONFIG, "power plan: more than %d steps",
				      POWER_PLAN_MAX_STEPS);
			goto fail;
		}
		ret = parse_step(p, s, len, devs, ndevs);
		if (ret)
			goto fail;
		s += len;
		if (!*s)
			break;
		s++;
	}
	*out = p;
	return 0;
fail:
	power_plan_free(p);
	return ret;
}

void power_plan_free(struct power_plan *p)
{
	int i;

	if (!p)
		return;
	for (i = 0; i < p->ndevs; i++) {
		power_close(p->devs[i].dev);
		free(p->devs[i].unavailable);
		free(p->devs[i].owned_name);
	}
	for (i = 0; i < p->nsteps; i++)
		free(p->steps[i].what);
	for (i = 0; i < p->nattempts; i++)
		free(p->attempts[i].result);
	free(p);
}

int power_plan_worked(const struct power_plan *p)
{
	return p->worked;
}

int power_plan_nsteps(const struct power_plan *p)
{
	return p->nsteps;
}

const struct power_plan_attempt *power_plan_attempts(const struct power_plan *p,
						     int *n)
{
	*n = p->nattempts;
	return p->attempts;
}

/* ------------------------------------------------------------ running */

static enum confirm_how how_confirmed(const struct power_plan *p,
				      const struct plan_dev *pd)
{
	if (p->o.confirm)
		return BY_CALLER;
	if (p->o.battery && pd->cuts_ac)
		return NEVER;
	if (pd->dev && (pd->dev->drv->caps & POWER_CAP_STATUS) && !pd->button)
		return BY_STATUS;
	return BY_NOTHING;
}

static int do_action(struct power_dev *dev, const char *a)
{
	if (!strcmp(a, "on"))
		return power_on(dev);
	if (!strcmp(a, "off"))
		return power_off(dev);
	if (!strcmp(a, "cycle"))
		return power_cycle(dev);
	if (!strcmp(a, "reset"))
		return power_reset(dev);
	return power_press(dev, !strcmp(a, "press long"));
}

/*
 * Poll the device's status until it says want, within the timeout ("unknown"
 * too is polled through: ssh says unknown while the board reboots).
 */
static int wait_state(struct power_plan *p, struct plan_dev *pd,
		      enum power_state want)
{
	int64_t deadline = lab_mono_ms() + p->o.confirm_timeout_ms;
	enum power_state st = POWER_UNKNOWN;
	char *last = NULL;
	int ret;

	for (;;) {
		ret = power_status(pd->dev, &st);
		if (!ret && st == want)
			break;
		if (ret) {
			free(last);
			last = xstrdup(lab_errmsg(ret));
		}
		if (lab_mono_ms() >= deadline) {
			ret = lab_err(LAB_ETIMEDOUT,
				      "%s's power status is %s, not %s, %lld ms later%s%s",
				      pd->name, ret ? "unreadable" :
				      st == POWER_ON ? "on" :
				      st == POWER_OFF ? "off" : "unknown",
				      want == POWER_ON ? "on" : "off",
				      (long long)p->o.confirm_timeout_ms,
				      last ? ": " : "", last ? last : "");
			free(last);
			return ret;
		}
		lab_sleep_ms(p->o.poll_ms);
	}
	free(last);
	return 0;
}

/* Wrap the current message: "PREFIX: message". */
static int prefixed(int ret, const char *prefix)
{
	char *msg = xstrdup(lab_errmsg(ret));

	ret = lab_err(-ret, "%s: %s", prefix, msg);
	free(msg);
	return ret;
}

static int run_step(struct power_plan *p, struct plan_step *s,
		    struct strbuf *result)
{
	struct plan_dev *pd = s->pd;
	enum confirm_how how = how_confirmed(p, pd);
	const struct power_plan_confirm *c = p->o.confirm;
	enum power_state st;
	bool down = false;
	int i, ret;

	if (!pd->dev)
		return lab_err(LAB_EINFRA, "%s", pd->unavailable);
	/* A status that says unknown before anything happened is none (cmd
	 * without a status command); one that fails may come back later. */
	if (how == BY_STATUS) {
		if (!power_status(pd->dev, &st) && st == POWER_UNKNOWN)
			how = BY_NOTHING;
		lab_err_clear();
	}
	if (how == BY_CALLER) {
		ret = c->wait(c->arg, POWER_PLAN_ARM, 0);
		if (ret)
			return prefixed(ret, "cannot start the confirmation");
	}
	for (i = 0; i < s->nactions; i++) {
		const char *a = s->actions[i];

		ret = do_action(pd->dev, a);
		if (ret)
			return prefixed(ret, action_word(a));
		/* Off, then something else: stay off for off_time first. */
		if (is_down(a) && i + 1 < s->nactions)
			lab_sleep_ms(pd->dev->cfg.off_time_ms);
		if (how != BY_STATUS)
			continue;
		if (is_down(a)) {
			ret = wait_state(p, pd, POWER_OFF);
			if (ret)
				return prefixed(ret, "not off after it");
			down = true;
		}
		if (is_down_and_up(a))
			down = true;
	}
	switch (how) {
	case BY_CALLER:
		ret = c->wait(c->arg, POWER_PLAN_DOWN, p->o.confirm_timeout_ms);
		if (ret)
			return prefixed(ret, "the board did not go down");
		ret = c->wait(c->arg, POWER_PLAN_UP, p->o.confirm_timeout_ms);
		if (ret)
			return prefixed(ret, "the board went down but did not come back");
		strbuf_addf(result, "ok (confirmed by %s)", c->what);
		return 0;
	case BY_STATUS:
		if (!down)
			return lab_err(LAB_EINFRA,
				       "nothing in it takes the board down (no off, long, cycle or reset)");
		ret = wait_state(p, pd, POWER_ON);
		if (ret)
			return prefixed(ret, "the board did not come back");
		strbuf_addf(result, "ok (confirmed by %s's power status)",
			    pd->name);
		return 0;
	case NEVER:
		return lab_err(LAB_EINFRA,
			       "not confirmed: %s cuts AC, and this board runs on its battery (battery = yes), so that is never off",
			       pd->name);
	case BY_NOTHING:
		break;
	}
	strbuf_addf(result, "ok (unconfirmed: %s has no power status and nothing else confirms)",
		    pd->name);
	return 0;
}

int power_plan_run(struct power_plan *p)
{
	struct strbuf why = STRBUF_INIT;
	int i, ret;

	p->worked = 0;
	for (i = 0; i < p->nsteps; i++) {
		struct plan_step *s = &p->steps[i];
		struct power_plan_attempt *a;
		struct strbuf result = STRBUF_INIT;
		int64_t t0 = lab_mono_ms();

		if (p->nattempts == POWER_PLAN_MAX_STEPS) {
			/* Run again: keep the latest attempts. */
			free(p->attempts[0].result);
			memmove(p->attempts, p->attempts + 1,
				(POWER_PLAN_MAX_STEPS - 1) * sizeof(*p->attempts));
			p->nattempts--;
		}
		a = &p->attempts[p->nattempts++];
		memset(a, 0, sizeof(*a));
		a->step = i + 1;
		a->what = s->what;
		a->start_wall_ns = lab_wall_ns();
		plan_emit(p, "step %d/%d %s: start", i + 1, p->nsteps, s->what);
		ret = run_step(p, s, &result);
		a->duration_ms = lab_mono_ms() - t0;
		a->ret = ret;
		if (ret)
			strbuf_addstr(&result, lab_errmsg(ret));
		a->result = strbuf_detach(&result, NULL);
		plan_emit(p, "step %d/%d %s: %s%s", i + 1, p->nsteps, s->what,
			  ret ? "failed: " : "", a->result);
		if (!ret) {
			p->worked = i + 1;
			plan_emit(p, "done: step %d %s worked", i + 1, s->what);
			strbuf_release(&why);
			lab_err_clear();
			return 0;
		}
		strbuf_addf(&why, "; %d %s: %s", i + 1, s->what, a->result);
	}
	ret = lab_err(LAB_EINFRA, "power plan (%s) failed, every step did: %s",
		      p->o.verb, strbuf_str(&why) + 2);
	plan_emit(p, "failed: every step failed");
	strbuf_release(&why);
	return ret;
}

/* ------------------------------------------------------------ --dry-run */

static void indent(struct strbuf *out, const char *text, const char *pad)
{
	const char *line = text;

	while (*line) {
		size_t len = strcspn(line, "\n");

		strbuf_addstr(out, pad);
		strbuf_add(out, line, len);
		strbuf_addch(out, '\n');
		line += len;
		if (*line)
			line++;
	}
}

static void describe_confirm(struct power_plan *p, struct plan_dev *pd,
			     struct strbuf *out)
{
	int64_t ms = p->o.confirm_timeout_ms;
	char t[32];

	if (ms % 1000)
		snprintf(t, sizeof(t), "%lld ms", (long long)ms);
	else
		snprintf(t, sizeof(t), "%lld s", (long long)(ms / 1000));

	switch (how_confirmed(p, pd)) {
	case BY_CALLER:
		strbuf_addf(out, "  confirm: %s (down, then up, %s each)%s\n",
			    p->o.confirm->what, t,
			    p->o.battery && pd->cuts_ac ?
			    "; it cuts AC, which alone never powers off this battery board" : "");
		break;
	case BY_STATUS:
		strbuf_addf(out, "  confirm: %s's power status (off after an off or long press, then on, %s each; unconfirmed if it says unknown before the step)\n",
			    pd->name, t);
		break;
	case NEVER:
		strbuf_addf(out, "  confirm: never: %s cuts AC and the board has a battery (battery = yes); the step runs but cannot count\n",
			    pd->name);
		break;
	case BY_NOTHING:
		strbuf_addf(out, "  confirm: nothing (%s has no power status): counts as done, unconfirmed\n",
			    pd->name);
		break;
	}
}

int power_plan_describe(struct power_plan *p, struct strbuf *out)
{
	struct strbuf sub = STRBUF_INIT;
	int i, j, ret = 0;

	strbuf_addf(out, "plan for %s: %d step%s, tried in order until one is confirmed down and up%s\n",
		    p->o.verb, p->nsteps, p->nsteps == 1 ? "" : "s",
		    p->o.battery ? "; the board has a battery: an AC cut never counts as off" : "");
	for (i = 0; i < p->nsteps && !ret; i++) {
		struct plan_step *s = &p->steps[i];
		struct plan_dev *pd = s->pd;

		strbuf_addf(out, "step %d/%d %s (driver %s%s%s)\n", i + 1,
			    p->nsteps, s->what,
			    pd->dev ? pd->dev->drv->name : "-",
			    pd->cuts_ac ? ", cuts AC" : "",
			    pd->button ? ", power button" : "");
		if (!pd->dev) {
			strbuf_addf(out, "  %s: the step fails and the plan goes on\n",
				    pd->unavailable);
			continue;
		}
		for (j = 0; j < s->nactions && !ret; j++) {
			strbuf_reset(&sub);
			if (!pd->dev->drv->describe) {
				ret = lab_err(LAB_ECONFIG,
					      "power driver %s cannot describe what it would do (no --dry-run)",
					      pd->dev->drv->name);
				break;
			}
			ret = pd->dev->drv->describe(pd->dev, s->actions[j], &sub);
			if (ret) {
				ret = prefixed(ret, s->what);
				break;
			}
			strbuf_addf(out, "  %s:\n", s->actions[j]);
			indent(out, strbuf_str(&sub), "    ");
			if (is_down(s->actions[j]) && j + 1 < s->nactions)
				strbuf_addf(out, "  wait %lld ms (off_time)\n",
					    (long long)pd->dev->cfg.off_time_ms);
		}
		if (!ret)
			describe_confirm(p, pd, out);
	}
	strbuf_release(&sub);
	return ret;
}
