// SPDX-License-Identifier: MIT
#include <string.h>

#include "labctl/boardops.h"
#include "lib/err.h"
#include "power/power.h"
#include "serial-capture/console.h"

/* The board types, chosen by board.type in board_ops_of() only. */
const struct board_ops *const board_types[] = {
	&qemu_board_ops,
	&bochs_board_ops,
	&pc_board_ops,
	&laptop_board_ops,
	NULL,
};

const struct board_ops *board_ops_find(const char *type)
{
	int i;

	if (!type)
		return NULL;
	for (i = 0; board_types[i]; i++) {
		const struct board_ops *ops = board_types[i];

		if (!strcmp(ops->type, type))
			return ops;
	}
	return NULL;
}

const struct board_ops *board_ops_of(const struct lab *lab)
{
	return board_ops_find(lab->board.type);
}

int board_types_selftest(void)
{
	int i, k;

	for (i = 0; board_types[i]; i++) {
		const struct board_ops *o = board_types[i];

		if (!o->type || !*o->type || !o->title)
			return lab_err(LAB_EINVAL, "board type %d has no name or title", i);
		if (!o->open || !o->deploy || !o->set_chain || !o->power ||
		    !o->open_console || !o->boot || !o->close)
			return lab_err(LAB_EINVAL, "board type %s lacks an op it needs",
				       o->type);
		for (k = 0; k < i; k++)
			if (!strcmp(board_types[k]->type, o->type))
				return lab_err(LAB_EINVAL, "board type %s is in the table twice",
					       o->type);
	}
	return 0;
}

static int board_open(struct board *b, const struct lab *lab,
		      const struct lease_take_opts *lo,
		      const struct board_hooks *hooks, bool attach)
{
	int ret;

	memset(b, 0, sizeof(*b));
	b->lab = lab;
	b->attach = attach;
	b->ops = board_ops_of(lab);
	if (hooks)
		b->hooks = *hooks;
	if (!b->ops)
		return lab_err(LAB_ECONFIG, "%s: unknown board type '%s'",
			       lab->path, lab->board.type);
	b->bs.lab = lab;
	/* The reservation first: nothing is touched on a board someone holds. */
	if (lo) {
		ret = board_session_lease(&b->bs, lab, lo);
		if (ret)
			return ret;
	}
	ret = b->ops->open(b);
	/* Only with the lease held: get the board back and go on. */
	if (ret && !attach && b->ops->recover && b->bs.leased)
		ret = b->ops->recover(b, ret);
	return ret;
}

int lab_board_open(struct board *b, const struct lab *lab,
		   const struct lease_take_opts *lo,
		   const struct board_hooks *hooks)
{
	return board_open(b, lab, lo, hooks, false);
}

int lab_board_attach(struct board *b, const struct lab *lab,
		     const struct lease_take_opts *lo,
		     const struct board_hooks *hooks)
{
	return board_open(b, lab, lo, hooks, true);
}

void lab_board_close(struct board *b)
{
	if (!b->ops)
		return;
	if (b->power) {
		power_close(b->power);
		b->power = NULL;
	}
	b->ops->close(b);
	board_session_close(&b->bs);
	b->ops = NULL;
}

int lab_board_deploy(struct board *b, const struct hv_variant *hv,
		     const struct hv_build_result *built, int n,
		     const char *images_dir, bool progress,
		     struct board_deploy_stats *st)
{
	return b->ops->deploy(b, hv, built, n, images_dir, progress, st);
}

int lab_board_set_chain(struct board *b, const char *const *entries, int n)
{
	return b->ops->set_chain(b, entries, n);
}

int lab_board_power(struct board *b, const struct board_power_opts *po,
		    struct power_dev **out)
{
	static const struct board_power_opts none = { 0 };
	int ret = 0;

	if (!b->power)
		ret = b->ops->power(b, po ? po : &none, &b->power);
	if (out)
		*out = b->power;
	return ret;
}

int lab_board_console(struct board *b, const struct board_console_opts *co,
		      struct console **out)
{
	static const struct board_console_opts none = { 0 };

	return b->ops->open_console(b, co ? co : &none, out);
}

int lab_board_prepare(struct board *b)
{
	return b->ops->prepare ? b->ops->prepare(b) : 0;
}

int lab_board_boot(struct board *b)
{
	return b->ops->boot(b);
}

void lab_board_stop(struct board *b)
{
	if (b->ops && b->ops->stop && !b->keep_on)
		b->ops->stop(b);
}

void lab_board_event(struct board *b, const char *name, const char *detail)
{
	if (b->hooks.event)
		b->hooks.event(b->hooks.arg, name, detail);
}
