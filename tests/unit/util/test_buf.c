#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

static void test_append_and_take(void **state)
{
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    char *s;

    (void)state;
    assert_string_equal(dl_buf_cstr(&b), "");
    assert_int_equal(dl_buf_puts(&b, "hello"), 0);
    assert_int_equal(dl_buf_putc(&b, ' '), 0);
    assert_int_equal(dl_buf_printf(&b, "%s %d", "world", 42), 0);
    assert_string_equal(dl_buf_cstr(&b), "hello world 42");
    assert_int_equal(b.len, 14);
    s = dl_buf_take(&b);
    assert_string_equal(s, "hello world 42");
    assert_null(b.ptr);
    assert_int_equal(b.len, 0);
    free(s);
    s = dl_buf_take(&b); /* empty take gives "" */
    assert_string_equal(s, "");
    free(s);
}

static void test_cap_is_enforced(void **state)
{
    struct dl_buf b = DL_BUF_INIT(8);

    (void)state;
    assert_int_equal(dl_buf_puts(&b, "12345678"), 0);
    assert_int_equal(dl_buf_putc(&b, '9'), DL_ELIMIT);
    /* a failed append leaves the contents untouched */
    assert_string_equal(dl_buf_cstr(&b), "12345678");
    dl_buf_reset(&b);
    assert_int_equal(dl_buf_printf(&b, "%s", "too long string"), DL_ELIMIT);
    assert_string_equal(dl_buf_cstr(&b), "");
    assert_int_equal(dl_buf_put(&b, "x", (size_t)-1), DL_ELIMIT);
    dl_buf_dispose(&b);
}

static void test_grows_large_and_binary(void **state)
{
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    char zero[3] = {'a', '\0', 'b'};

    (void)state;
    for (int i = 0; i < 100000; i++)
        assert_int_equal(dl_buf_putc(&b, (char)('a' + i % 26)), 0);
    assert_int_equal(b.len, 100000);
    assert_int_equal(b.ptr[b.len], '\0');
    assert_int_equal(b.ptr[26], 'a');
    dl_buf_truncate(&b, 3);
    assert_string_equal(dl_buf_cstr(&b), "abc");
    dl_buf_truncate(&b, 10); /* longer: no-op */
    assert_int_equal(b.len, 3);
    dl_buf_reset(&b);
    assert_int_equal(dl_buf_put(&b, zero, 3), 0);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.ptr, zero, 3);
    dl_buf_dispose(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_take),
        cmocka_unit_test(test_cap_is_enforced),
        cmocka_unit_test(test_grows_large_and_binary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
