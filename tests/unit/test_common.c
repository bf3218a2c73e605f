/* Unit tests of common/: the growable buffer. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "tests/lib/th.h"

START_TEST(buf_grows_and_steals)
{
	struct buf b = {0};

	for (int i = 0; i < 1000; i++)
		ck_assert(buf_printf(&b, "%d,", i));
	ck_assert(strncmp(b.data, "0,1,2,", 6) == 0);
	ck_assert_uint_eq(b.len, strlen(b.data));
	char *s = buf_steal(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	free(s);
	s = buf_steal(&b);
	ck_assert_str_eq(s, "");
	free(s);
}
END_TEST

START_TEST(buf_append_binary)
{
	struct buf b = {0};
	const char bytes[3] = {'a', '\0', 'b'};

	ck_assert(buf_append(&b, bytes, 3));
	ck_assert_uint_eq(b.len, 3);
	ck_assert(memcmp(b.data, bytes, 3) == 0);
	ck_assert_int_eq(b.data[3], '\0');
	buf_free(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("common");
	TCase *tc = tcase_create("buf");

	tcase_add_test(tc, buf_grows_and_steals);
	tcase_add_test(tc, buf_append_binary);
	suite_add_tcase(s, tc);
	return th_main(s);
}
