/* SPDX-License-Identifier: MIT */
/*
 * Lab files: labs/<name>.conf, INI style (read with libinih).
 *
 *   [board]    what the machine is (type = qemu|pc|laptop, ssh host, ...)
 *   [power]    driver = ... and that driver's keys
 *   [console]  driver = ... and that driver's keys
 *   [deploy]   where images go on the board
 *   [grub]     entry names, serial argument, chain length
 *   [variant NAME]  one hypervisor build (recipe = standin|xmhf64)
 *   [power NAME]    another power device a [power] plan names
 *
 * Every key is checked against a schema (labconf.c): an unknown key, a
 * key the selected driver does not take, a duplicate key or section and a
 * bad value are errors reported as "labs/FILE.conf:LINE: ...".
 * See man/labctl.conf.5.
 */
#ifndef LABCONF_H
#define LABCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/param.h"
#include "lib/strbuf.h"

struct lab_value {
	const char *section;	/* "variant" for variant sections */
	const struct lab_key_def *def;
	char *value;
	int line;
};

struct lab_variant {
	char *name;
	int line;		/* of its [variant NAME] header */
	struct lab_value *values;
	int nvalues;
};

/*
 * The plain sections resolved once at load: the file's value, else the
 * schema's (or the board type's) default.  A field is named after its key;
 * a duration is in ms (KEY_ms), a size in MiB (KEY_mib).  A text without a
 * value is NULL, a duration LAB_UNSET, a number 0 (only watch.cpus has
 * neither value nor default, and 0 is outside its range).  The strings
 * belong to the lab.  Driver keys of [power] and [console] stay key/value
 * params (lab_section_params); only the keys every driver has are here.
 */
struct lab_board_cfg {
	const char *type;		/* qemu|bochs|pc|laptop */
	const char *description;
	const char *host, *user, *jump, *identity;
	int ssh_port;
	int64_t connect_timeout_ms, command_timeout_ms;
	const char *reboot;
	int64_t down_timeout_ms, up_timeout_ms;
	bool battery;
	int64_t memory_mib;
	int smp;
	const char *cpu, *machine, *kvm;
	int ips;			/* bochs: emulated instructions per second */
	int gdb_port;
	const char *os_disk;		/* qemu/bochs: the OS `default` boots */
	const char *drives, *tags;
	int pool, ssh_forward;
};

struct lab_power_cfg {
	const char *driver;		/* NULL: none */
	const char *plan;
	int64_t confirm_timeout_ms;	/* LAB_UNSET: the plan's own */
	const char *cuts;
	int64_t off_time_ms;
};

struct lab_console_cfg {
	const char *driver;		/* NULL: none */
};

struct lab_deploy_cfg {
	const char *method;		/* image|sftp */
	const char *dir;
	bool sudo;
};

struct lab_grub_cfg {
	int max_stages;
	const char *entry_prefix, *root, *serial, *boot_drive, *cmdline;
	const char *sinit, *grubenv, *editenv, *cfg, *dropin, *entries;
	const char *chain;
};

struct lab_lock_cfg {
	const char *where, *host, *dir;
	int ssh_port;			/* 0: board.ssh_port */
	int64_t ttl_ms;
	const char *endpoints, *cacert, *cert, *key, *user;
	const char *password_env, *password_file;
	int64_t etcd_ttl_ms, etcd_timeout_ms;
	const char *prefix, *priority;
	int offline_after;
};

struct lab_watch_cfg {
	int64_t timeout_ms, stage_timeout_ms, silence_timeout_ms;
	int cpus;			/* 0: not set */
	int iter_min;
	const char *pass, *fail, *rules, *rules_file;
};

struct lab_build_cfg {
	int64_t cache_size_mib;
};

struct lab {
	char *name;		/* "qemu" for labs/qemu.conf */
	char *path;		/* as found, e.g. "labs/qemu.conf" */
	struct lab_value *values;	/* non-variant sections */
	int nvalues;
	struct lab_variant *variants;
	int nvariants;
	int pool_member;	/* board k of a pool lab ("qemu-3"), else 0 */
	/* [power NAME]: more power devices for [power] plan (same shape as a
	 * variant; their values' section is "power"). */
	struct lab_variant *power_devs;
	int npower_devs;
	/* Resolved at load (see struct lab_board_cfg). */
	struct lab_board_cfg board;
	struct lab_power_cfg power;
	struct lab_console_cfg console;
	struct lab_deploy_cfg deploy;
	struct lab_grub_cfg grub;
	struct lab_lock_cfg lock;
	struct lab_watch_cfg watch;
	struct lab_build_cfg build;
};

/* Where each resolved key lives in struct lab, and the field's C type:
 * 'i' int (KEY_INT), 'l' int64_t (KEY_DURATION, KEY_SIZE), 'b' bool
 * (KEY_BOOL), 's' const char * (the rest).  Terminated by key == NULL. */
struct lab_cfg_field {
	const char *section, *key;
	size_t offset;
	char ctype;
};
/* The C type a schema key resolves to ('i', 'l', 'b' or 's'). */
char lab_cfg_ctype(enum lab_key_type type);
extern const struct lab_cfg_field lab_cfg_fields[];

/* The schema, terminated by an entry with key == NULL. */
extern const struct lab_key_def lab_schema[];

/*
 * Where lab files are looked for, in order: the directories in
 * $LABCTL_LABS (':'-separated), ./labs, $XDG_CONFIG_HOME/labctl/labs
 * (~/.config/labctl/labs when XDG_CONFIG_HOME is unset or relative), the
 * installed data dir's labs.  Free with lab_search_dirs_free.
 */
char **lab_search_dirs(int *n);
void lab_search_dirs_free(char **dirs, int n);

/*
 * Find a lab by name ("qemu") in the search dirs, or by path ("labs/x.conf",
 * "./my.conf").  Returns a malloc'd path, normalised (lab_path_clean), or
 * NULL with an error recorded: LAB_ENOENT, or LAB_ECONFIG for a file that
 * is not a regular file (a FIFO would block its reader).
 */
char *lab_find(const char *name);

/* path without "." parts and repeated '/'; with a ".." part, realpath's
 * answer (when the file exists).  Malloc'd. */
char *lab_path_clean(const char *path);

/*
 * Read a lab or rule file: a FIFO, a device or a directory is refused
 * (LAB_ECONFIG, "PATH is a FIFO, not a regular file") without waiting on
 * it; larger than max (0: no limit) is LAB_EFORMAT.  Appends to sb.
 */
int lab_read_regular_file(struct strbuf *sb, const char *path, size_t max);
/* The default lab's name when none is given. */
#define LAB_DEFAULT_NAME "qemu"

/* Parse a lab file; *out is owned by the caller (lab_free). */
int lab_load(const char *path, struct lab **out);
/* Parse from memory (used by tests and the fuzzer); path is for messages. */
int lab_parse(const char *path, const char *text, size_t len, struct lab **out);
/* lab_find + lab_load. */
int lab_open(const char *name, struct lab **out);
void lab_free(struct lab *lab);

/*
 * Resolved values: the file's value, else the schema default (or the
 * board-type dependent default), else NULL.  Variant keys: lab_variant_get.
 * Defaults live in the schema only: a section/key the schema does not
 * know is a programming error and fails an assertion.
 */
const char *lab_get(const struct lab *lab, const char *section, const char *key);
const char *lab_variant_get(const struct lab_variant *v, const char *key);
/* What lab_get_int and lab_get_duration_ms return for a key that has no
 * default and is not set in the file. */
#define LAB_UNSET INT64_MIN
int64_t lab_get_int(const struct lab *lab, const char *section, const char *key);
bool lab_get_bool(const struct lab *lab, const char *section, const char *key);
struct lab_param;
/* A plain section's keys (all but driver) as driver params; returns n. */
int lab_section_params(const struct lab *lab, const char *section,
		       struct lab_param *p, int max);
/* A KEY_SIZE value in MiB, or LAB_UNSET. */
int64_t lab_get_size_mib(const struct lab *lab, const char *section,
			 const char *key);
/* A KEY_DURATION value in milliseconds, or LAB_UNSET. */
int64_t lab_get_duration_ms(const struct lab *lab, const char *section,
			    const char *key);
const struct lab_variant *lab_find_variant(const struct lab *lab,
					   const char *name);

/*
 * Variants a verb makes for its runs (matrix's cells, bisect's --src) are
 * its own, never written into the lab: a copy, changed with
 * lab_variant_set, then run through a lab of their own.
 */
void lab_variant_copy(struct lab_variant *dst, const struct lab_variant *src);
/* Set key (a [variant] key of the schema) to a copy of value. */
void lab_variant_set(struct lab_variant *v, const char *key, const char *value);
void lab_variant_release(struct lab_variant *v);
/* A new lab: lab's copy with vs in place of its variants of the same name
 * and the others added after them.  Free it with lab_free. */
struct lab *lab_with_variants(const struct lab *lab,
			      const struct lab_variant *vs, int n);
/* Board k of a pool lab, as a lab of its own named "NAME-k" (lab_open
 * gives the same for the name "NAME-k").  Free it with lab_free. */
struct lab *lab_pool_member(const struct lab *lab, int k);

/* The GRUB menu entry title of a variant (entry key or prefix + name). */
const char *lab_variant_entry(const struct lab *lab, const struct lab_variant *v,
			      struct strbuf *tmp);

/* Parse typed values (also used by the validator). */
int lab_parse_bool(const char *s, bool *out);
int lab_parse_int(const char *s, int64_t *out);
int lab_parse_size_mib(const char *s, int64_t *mib);

/* Render the resolved configuration (`labctl show`); lab files hold no
 * secrets (a password in a URL is refused), so nothing needs hiding. */
void lab_show_text(const struct lab *lab, struct strbuf *out);
void lab_show_json(const struct lab *lab, struct strbuf *out);

#endif
