/* SPDX-License-Identifier: MIT */
/* Atomic file replacement: temp file in the same directory, fsync, rename,
 * fsync of the directory, so a reader sees the old or the new file whole. */
#ifndef LAB_FILEIO_H
#define LAB_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Replace path with data.  mode is used when the file does not exist yet;
 * an existing file keeps its mode.  On any failure the original file is
 * untouched and the temp file removed.  Returns 0 or -LAB_E*.
 */
int lab_write_file_atomic(const char *path, const void *data, size_t len,
			  mode_t mode);
/* mkdir -p: every missing directory of path, with mode. */
int lab_mkdir_p(const char *path, mode_t mode);

#endif
