// SPDX-License-Identifier: MIT
/* What every cmocka suite here shares (see testutil.h). */
#include <ftw.h>
#include <stdio.h>
#include <unistd.h>

#include "testutil.h"

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

void test_rm_tree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
