/* Tests of diag.c: collecting, sorting and rendering diagnostics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "model/diag.h"

static void test_add_sort_count(void **state)
{
    struct dl_diags d;

    (void)state;
    dl_diags_init(&d);
    dl_diags_add(&d, "b.yaml", 3, 1, "third %d", 3);
    dl_diags_add(&d, "a.yaml", 10, 2, "second");
    dl_diags_add(&d, "a.yaml", 2, 9, "first");
    dl_diags_add(&d, "a.yaml", 10, 1, "between");
    assert_int_equal(dl_diags_count(&d), 4);
    assert_int_equal(dl_diags_file_count(&d), 2);
    dl_diags_sort(&d);
    assert_string_equal(d.v[0].message, "first");
    assert_string_equal(d.v[1].message, "between");
    assert_string_equal(d.v[2].message, "second");
    assert_string_equal(d.v[3].message, "third 3");
    assert_string_equal(d.v[3].file, "b.yaml");
    dl_diags_dispose(&d);
    assert_int_equal(d.n, 0);
    assert_null(d.v);
}

static void test_text_with_caret(void **state)
{
    static const char src[] = "a: 1\n\tb: caf\xc3\xa9 x\r\nlast";
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_diags d;

    (void)state;
    dl_diags_init(&d);
    dl_diags_add_source(&d, "f.yaml", src, sizeof(src) - 1);
    /* Column 9 is the 'x' after "\tb: café " (characters, not bytes). */
    dl_diags_add(&d, "f.yaml", 2, 10, "bad x");
    dl_diags_add(&d, "f.yaml", 3, 1, "last line");
    dl_diags_add(&d, "other.yaml", 1, 1, "no source");
    dl_diags_add(&d, "f.yaml", 0, 0, "whole file");
    dl_diags_sort(&d);
    assert_int_equal(dl_diags_format_text(&d, &b), 0);
    assert_string_equal(dl_buf_cstr(&b), "f.yaml: whole file\n"
                                         "f.yaml:2:10: bad x\n"
                                         "    2 | \tb: caf\xc3\xa9 x\n"
                                         "      | \t        ^\n"
                                         "f.yaml:3:1: last line\n"
                                         "    3 | last\n"
                                         "      | ^\n"
                                         "other.yaml:1:1: no source\n");
    dl_buf_dispose(&b);
    dl_diags_dispose(&d);
}

static void test_json(void **state)
{
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_diags d;

    (void)state;
    dl_diags_init(&d);
    assert_int_equal(dl_diags_format_json(&d, &b), 0);
    assert_string_equal(dl_buf_cstr(&b), "[]\n");
    dl_buf_reset(&b);
    dl_diags_add(&d, "a\"b.yaml", 1, 2, "bad 'x'\tand \"y\"");
    dl_diags_add(&d, "c.yaml", 3, 4, "second");
    assert_int_equal(dl_diags_format_json(&d, &b), 0);
    assert_string_equal(dl_buf_cstr(&b),
                        "[\n  {\"file\": \"a\\\"b.yaml\", \"line\": 1, "
                        "\"column\": 2, \"message\": \"bad 'x'\\tand "
                        "\\\"y\\\"\"},\n  {\"file\": \"c.yaml\", \"line\": 3, "
                        "\"column\": 4, \"message\": \"second\"}\n]\n");
    dl_buf_dispose(&b);
    dl_diags_dispose(&d);
}

static void test_cap_and_limit(void **state)
{
    struct dl_buf small = DL_BUF_INIT(8);
    struct dl_diags d;

    (void)state;
    dl_diags_init(&d);
    for (int i = 0; i < DL_DIAGS_MAX + 5; i++)
        dl_diags_add(&d, "f.yaml", i + 1, 1, "m");
    assert_int_equal(d.n, DL_DIAGS_MAX);
    assert_int_equal(d.dropped, 5);
    assert_int_equal(dl_diags_count(&d), DL_DIAGS_MAX + 5);
    assert_int_equal(dl_diags_format_text(&d, &small), DL_ELIMIT);
    assert_int_equal(dl_diags_format_json(&d, &small), DL_ELIMIT);
    dl_buf_dispose(&small);
    dl_diags_dispose(&d);
}

static void test_long_message_cut(void **state)
{
    char big[3000];
    struct dl_diags d;
    size_t n;

    (void)state;
    memset(big, 'k', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    dl_diags_init(&d);
    dl_diags_add(&d, "f.yaml", 1, 1, "unknown field '%s'", big);
    n = strlen(d.v[0].message);
    assert_int_equal(n, DL_DIAG_MSG_MAX - 1);
    assert_memory_equal(d.v[0].message, "unknown field 'kkk", 18);
    assert_string_equal(d.v[0].message + n - 3, "...");
    dl_diags_dispose(&d);
}

static void test_source_replaced(void **state)
{
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_diags d;

    (void)state;
    dl_diags_init(&d);
    dl_diags_add_source(&d, "f.yaml", "old\n", 4);
    dl_diags_add_source(&d, "f.yaml", "new\n", 4);
    dl_diags_add(&d, "f.yaml", 1, 2, "m");
    /* A line past the end shows no excerpt. */
    dl_diags_add(&d, "f.yaml", 9, 1, "far");
    assert_int_equal(dl_diags_format_text(&d, &b), 0);
    assert_string_equal(dl_buf_cstr(&b), "f.yaml:1:2: m\n    1 | new\n"
                                         "      |  ^\nf.yaml:9:1: far\n");
    assert_int_equal(d.n_src, 1);
    dl_buf_dispose(&b);
    dl_diags_dispose(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_sort_count),
        cmocka_unit_test(test_text_with_caret),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_cap_and_limit),
        cmocka_unit_test(test_long_message_cut),
        cmocka_unit_test(test_source_replaced),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
