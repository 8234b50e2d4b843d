/* SPDX-License-Identifier: MIT */
/*
 * Secrets (AMT, IPMI, HTTP passwords) come only from the environment or a
 * file only its owner can read.  This is the one reader of such files.
 */
#ifndef LAB_SECRET_H
#define LAB_SECRET_H

#include "strbuf.h"

/*
 * The first line of path ("~/" expands to $HOME) into out.  Refused
 * (-LAB_ECONFIG, message starting with what) unless it is a regular file
 * with no group or other permission bits (mode 0600 or 0400), not a
 * symbolic link, whose first line is not empty.  A missing file is
 * -LAB_ENOENT (also a configuration error, exit 2).
 */
int lab_read_secret_file(const char *what, const char *path,
			 struct strbuf *out);

#endif
