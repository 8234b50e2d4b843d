/* SPDX-License-Identifier: MIT */
/* Where labctl's installed data (labs/, hypervisor/) and its state live. */
#ifndef LAB_PATHS_H
#define LAB_PATHS_H

/*
 * <dir of the running labctl>/../share/labctl when that exists (so an
 * install under any PREFIX finds its files), else the compiled-in
 * LABCTL_DATADIR.  The string is static.
 */
const char *lab_data_dir(void);

/*
 * A path in this user's state directory, $LABCTL_STATE_DIR when set and
 * not empty, else /tmp/labctl-<uid>: the base, then "/" and the
 * printf-formatted rest.  Allocated; the caller frees it.
 */
char *lab_state_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A short stable name for a key (djb2, 32 bits), as in "<lab>-%08lx". */
unsigned long lab_str_hash32(const char *s);

#endif
