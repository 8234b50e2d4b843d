/* SPDX-License-Identifier: MIT */
/* What every cmocka suite here shares.  Include after <cmocka.h>. */
#ifndef LABCTL_TESTUTIL_H
#define LABCTL_TESTUTIL_H

#include <string.h>

/* hay contains needle; on failure both are printed. */
#define assert_contains(hay, needle)                                        \
	do {                                                                \
		const char *h_ = (hay), *n_ = (needle);                     \
		if (!h_ || !strstr(h_, n_))                                 \
			fail_msg("'%s' does not contain '%s'",              \
				 h_ ? h_ : "(null)", n_);                   \
	} while (0)

/* Remove a scratch directory and everything in it (no symlinks followed). */
void test_rm_tree(const char *dir);

#endif
