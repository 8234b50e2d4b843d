/* SPDX-License-Identifier: MIT */
/* Where labctl's installed data (labs/, hypervisor/) lives. */
#ifndef LAB_PATHS_H
#define LAB_PATHS_H

/*
 * <dir of the running labctl>/../share/labctl when that exists (so an
 * install under any PREFIX finds its files), else the compiled-in
 * LABCTL_DATADIR.  The string is static.
 */
const char *lab_data_dir(void);

#endif
