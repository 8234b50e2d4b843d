/* SPDX-License-Identifier: MIT */
/*
 * results/<name>.json: what ran and what happened, beside the raw log.
 * Fields: lab, lab_file, board, host (the board's ssh host, or the name
 * of this machine for a virtual board), chain (stages with variant, entry, start
 * and end offsets in seconds from power-on, start byte and line), variants
 * (recipe, arch/options or args, source revision, image sha256s), events
 * (power actions and QEMU events with their times), verdict, reason, line,
 * started (wall clock), duration, command line, labctl version.
 */
#ifndef RESULTS_H
#define RESULTS_H

#include <stdint.h>

#include "hvimage/build.h"
#include "labctl/labconf.h"
#include "lib/strbuf.h"
#include "report/result.h"

struct watch;

/* A run record being built: the result the run will write. */
struct run_record {
	struct result res;	/* res.stages[i].variant: stage i's variant */
	int64_t t0_wall_ns;	/* power-on, wall clock */
};

void run_record_init(struct run_record *r, const struct lab *lab, int argc,
		     char **argv);
/* The lab's name, after a pool lab picked its board ("qemu-2"). */
void run_record_set_lab(struct run_record *r, const char *name);
void run_record_add_stage(struct run_record *r, const char *variant,
			  const char *entry);
void run_record_add_variant(struct run_record *r, const struct hv_variant *v,
			    const struct hv_build_result *b);
void run_record_event(struct run_record *r, int64_t t_ns, const char *name,
		      const char *detail);
void run_record_finish(struct run_record *r, const struct watch *w,
		       int64_t end_ns);
/*
 * The record could not be written whole (why: the message): the verdict
 * becomes infra with that reason, the boot's own verdict kept in it.
 */
void run_record_lost(struct run_record *r, const char *why);
/* The wall-clock fields (started) and the log's path, as of now. */
void run_record_stamp(struct run_record *r, const char *log_path);
/* Write log_path.json atomically. */
int run_record_write(struct run_record *r, const char *log_path);
void run_record_release(struct run_record *r);

#endif
