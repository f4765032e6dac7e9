/* test_error.c: every error code has its own name and text. */
#include <criterion/criterion.h>
#include <string.h>

#include "error.h"

TestSuite(error, .timeout = 10);

Test(error, names_and_texts_distinct)
{
	int a, b;

	for (a = UCR_EROLLBACK; a <= UCR_EINVAL; a++) {
		cr_assert_str_neq(ucr_errname(a), "E?", "code %d has no name",
		    a);
		cr_assert_str_neq(ucr_strerror(a), "unknown error", "code %d",
		    a);
		for (b = a + 1; b <= UCR_EINVAL; b++) {
			cr_assert_str_neq(ucr_errname(a), ucr_errname(b));
			cr_assert_str_neq(ucr_strerror(a), ucr_strerror(b));
		}
	}
	cr_assert_str_eq(ucr_errname(UCR_EFORK), "EFORK");
	cr_assert_str_eq(ucr_errname(-1), "E?");
	cr_assert_str_eq(ucr_strerror(-1), "unknown error");
	cr_assert_str_eq(ucr_strerror(0), "success");
	/* positive values are errno */
	cr_assert_str_eq(ucr_strerror(2), strerror(2));
}

Test(error, trust_codes_named)
{
	cr_assert_str_eq(ucr_errname(UCR_ETIME), "ETIME");
	cr_assert_str_eq(ucr_errname(UCR_EROLE), "EROLE");
	cr_assert_str_eq(ucr_errname(UCR_ETRANSIENT), "ETRANSIENT");
	cr_assert_str_eq(ucr_errname(UCR_ECHECKPOINT), "ECHECKPOINT");
	cr_assert_eq(UCR_ETIME, -30027);
	cr_assert_eq(UCR_ECHECKPOINT, -30030);
	cr_assert_str_neq(ucr_strerror(UCR_ETIME), "unknown error");
}
