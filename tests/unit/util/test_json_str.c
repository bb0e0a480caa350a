#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <string.h>

#include "util/json_str.h"

static void check(const char *in, const char *want)
{
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);

    assert_int_equal(dl_json_str_append(&b, in), 0);
    assert_string_equal(dl_buf_cstr(&b), want);
    dl_buf_dispose(&b);
}

static void test_escapes(void **state)
{
    (void)state;
    check("plain", "\"plain\"");
    check("a\"b\\c", "\"a\\\"b\\\\c\"");
    check("t\tn\nr\r", "\"t\\tn\\nr\\r\"");
    check("\x01", "\"\\u0001\"");
    check("caf\xc3\xa9 \xe2\x86\x92", "\"caf\xc3\xa9 \xe2\x86\x92\"");
    /* invalid UTF-8 becomes U+FFFD, so the output always parses */
    check("bad\xff\xc3", "\"bad\\ufffd\\ufffd\"");
    check("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""); /* surrogate */
}

static void test_output_parses(void **state)
{
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    char in[256];
    json_t *j;

    (void)state;
    for (int i = 1; i < 256; i++)
        in[i - 1] = (char)i;
    in[255] = '\0';
    assert_int_equal(dl_json_str_append(&b, in), 0);
    j = json_loads(b.ptr, JSON_DECODE_ANY, NULL);
    assert_non_null(j);
    assert_true(json_is_string(j));
    json_decref(j);
    dl_buf_dispose(&b);
}

static void test_utf8_valid(void **state)
{
    (void)state;
    assert_true(dl_utf8_valid("abc", 3));
    assert_true(dl_utf8_valid("\xf0\x9f\x98\x80", 4));
    assert_false(dl_utf8_valid("\xc0\xaf", 2));         /* overlong */
    assert_false(dl_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(dl_utf8_valid("\xe2\x86", 2));         /* truncated */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_output_parses),
        cmocka_unit_test(test_utf8_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
