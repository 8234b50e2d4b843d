/* SPDX-License-Identifier: MIT */
/*
 * Watch a boot and decide: stages must start in chain order (each stage's
 * banner), the last stage must meet the pass rule (every CPU printed more
 * than iter_min iteration lines, or a pass pattern), and any fail pattern,
 * guest reset (triple fault), early end of the console, or timeout (per
 * stage, overall, silence) fails the run with the reason and the line.
 *
 * Rule sets (rules.h) add to that: the run's set (fail and ignore rules
 * act in every stage; pass, iter and end rules judge the last stage) and
 * each stage's own set (its fail and ignore rules act while it is the
 * current stage; its pass, iter and end rules, if it has any, judge it
 * instead of the run's).  The explicit fields of watch_opts (the lab's
 * [watch] keys) always act.
 *
 * Stages are attributed by GRUB's own words when the board's GRUB writes
 * to the console: a stage begins at GRUB's "Booting `ENTRY'" line (see
 * watch_stage_def.entry); banners start stages where GRUB is not seen.
 * Lines are matched without terminal control sequences (GRUB clears the
 * screen before "Booting").
 *
 * Event driven: feed it lines, events and clock ticks; it never sleeps.
 * All times are ns since power-on.
 */
#ifndef WATCH_H
#define WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum verdict {
	VERDICT_PENDING = 0,
	VERDICT_PASS,
	VERDICT_FAIL,		/* the machine under test failed: exit 1 */
	VERDICT_INFRA,		/* the lab failed (console vanished...): exit 3 */
};

struct rule_set;

struct watch_stage_def {
	const char *name;	/* variant name, for messages */
	const char *banner;	/* POSIX ERE that marks the stage's start */
	const struct rule_set *rules;	/* the stage's own rules, or NULL;
					 * their banner lines are not used */
	/*
	 * The GRUB entry title the chain schedules for this stage, or NULL.
	 * GRUB's own "Booting `TITLE'" line then begins the stage (before
	 * its banner, which it no longer needs); a Booting line naming
	 * another entry is a lab error: "GRUB booted A, the chain expected
	 * B" (the chain in the grubenv was not what labctl wrote), never
	 * the variant's failure.
	 */
	const char *entry;
};

struct watch_opts {
	int64_t stage_timeout_ms;	/* 0: none */
	int64_t total_timeout_ms;	/* 0: none */
	int64_t silence_timeout_ms;	/* 0: none */
	int cpus;		/* CPUs that must each pass iter_min lines; 0: off */
	int iter_min;		/* more than this many iteration lines per CPU */
	const char *iter_re;	/* ERE with one group: the CPU id (hex) */
	const char *pass_re;	/* ERE: a line that passes the last stage, or NULL */
	const char *const *fail_res;	/* EREs that fail the run, NULL-ended */
	const struct rule_set *rules;	/* the run's rules, or NULL */
	/*
	 * The entry the chain ends in, that stops the machine (labctl-halt
	 * on a virtual board), or NULL (the chain ends in the board's OS:
	 * GRUB may boot anything after the last stage).  GRUB booting any
	 * other entry after the last stage is a lab error.
	 */
	const char *stop_entry;
	/*
	 * The chain was asked to end in the board's OS (`... default`):
	 * Linux, not the last hypervisor stage, is what the run waits for.
	 * The run's sets judge it (their end and pass rules, linux's login
	 * prompt); no CPU needs iteration lines.
	 */
	bool ends_in_os;
};

struct watch_stage_result {
	int64_t start_ns;	/* -1: never started */
	int64_t end_ns;
	uint64_t start_byte;
	int line_no;		/* line number (1-based) of the banner */
};

struct watch;

/* Compile the rules (the caller keeps its rule sets; the watch copies what
 * it needs); NULL with an error recorded for a bad pattern. */
struct watch *watch_new(const struct watch_stage_def *stages, int n,
			const struct watch_opts *o);
void watch_free(struct watch *w);

void watch_line(struct watch *w, const char *line, size_t len, int64_t t_ns,
		uint64_t byte_offset);
/*
 * The console's unfinished last line, when it has waited a while: a login
 * prompt never ends in a newline.  Only the last stage's pass and end
 * rules look at it; the same text is fed again by watch_line when the line
 * ends.
 */
void watch_partial(struct watch *w, const char *text, size_t len, int64_t t_ns);
/* name: "RESET", "SHUTDOWN", "EXIT", "CONSOLE_EOF"; detail: reason text. */
void watch_event(struct watch *w, const char *name, const char *detail,
		 int64_t t_ns);
void watch_tick(struct watch *w, int64_t now_ns);
/* When watch_tick must next be called (ns since power-on), or -1. */
int64_t watch_deadline(const struct watch *w);

enum verdict watch_verdict(const struct watch *w);
const char *watch_verdict_name(enum verdict v);
/* Why (one sentence), the console line that decided it (or ""), and where. */
const char *watch_reason(const struct watch *w);
const char *watch_line_text(const struct watch *w);
int watch_line_no(const struct watch *w);
int watch_nstages(const struct watch *w);
int watch_current_stage(const struct watch *w);	/* 0-based, -1 before */
const struct watch_stage_result *watch_stage(const struct watch *w, int i);
int64_t watch_decided_ns(const struct watch *w);

#endif
