#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "util/err.h"

static void test_set_and_prefix(void **state)
{
    struct dl_err e;

    (void)state;
    dl_err_clear(&e);
    assert_int_equal(e.code, 0);
    assert_int_equal(
        dl_err_set(&e, DL_ENOTFOUND, "service '%s' not found", "x"),
        DL_ENOTFOUND);
    assert_string_equal(e.msg, "service 'x' not found");
    dl_err_prefix(&e, "observe %s", "run");
    assert_string_equal(e.msg, "observe run: service 'x' not found");
    assert_int_equal(e.code, DL_ENOTFOUND);
    dl_err_at(&e, "a.yaml", 3, 7);
    assert_string_equal(e.file, "a.yaml");
    assert_int_equal(e.line, 3);
    assert_int_equal(e.col, 7);
}

static void test_one_line_and_truncation(void **state)
{
    struct dl_err e;
    char big[2000];

    (void)state;
    dl_err_set(&e, DL_EINVALID, "line one\nline two\r");
    assert_null(strchr(e.msg, '\n'));
    assert_null(strchr(e.msg, '\r'));
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    dl_err_set(&e, DL_EINVALID, "%s", big);
    assert_int_equal(strlen(e.msg), DL_ERR_MSG_MAX - 1);
    dl_err_prefix(&e, "ctx");
    assert_int_equal(strncmp(e.msg, "ctx: xxx", 8), 0);
    assert_int_equal(strlen(e.msg), DL_ERR_MSG_MAX - 1);
}

static void test_null_safe_and_names(void **state)
{
    (void)state;
    assert_int_equal(dl_err_set(NULL, DL_EAUTH, "x"), DL_EAUTH);
    dl_err_prefix(NULL, "x");
    dl_err_clear(NULL);
    assert_string_equal(dl_err_code_name(DL_ECONFLICT), "conflict");
    assert_string_equal(dl_err_code_name(DL_ETRANSIENT), "transient");
    assert_string_equal(dl_err_code_name(-99), "error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_and_prefix),
        cmocka_unit_test(test_one_line_and_truncation),
        cmocka_unit_test(test_null_safe_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
