#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

/* Log into a temp file and return what was written (caller frees). */
static char *capture(enum dl_log_level level, enum dl_log_format fmt,
                     void (*emit)(void))
{
    FILE *f = tmpfile();
    long n;
    char *s;

    assert_non_null(f);
    dl_log_init(level, fmt, f);
    emit();
    fflush(f);
    n = ftell(f);
    s = calloc(1, (size_t)n + 1);
    rewind(f);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    dl_log_init(DL_LOG_WARNING, DL_LOG_AUTO, NULL);
    return s;
}

static void emit_two(void)
{
    dl_info("hello %s", "world");
    dl_debug("hidden");
    dl_log_fields(DL_LOG_WARNING, "\"project\":\"p1\"", "quote \" and\nnl");
}

static void test_json_lines(void **state)
{
    char *out = capture(DL_LOG_INFO, DL_LOG_JSON, emit_two), *line2;
    json_t *j;
    json_error_t je;

    (void)state;
    line2 = strchr(out, '\n');
    assert_non_null(line2);
    *line2++ = '\0';
    j = json_loads(out, 0, &je);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "severity")),
                        "INFO");
    assert_string_equal(json_string_value(json_object_get(j, "message")),
                        "hello world");
    assert_non_null(json_string_value(json_object_get(j, "time")));
    json_decref(j);
    j = json_loads(line2, JSON_DISABLE_EOF_CHECK, &je);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "severity")),
                        "WARNING");
    assert_string_equal(json_string_value(json_object_get(j, "message")),
                        "quote \" and\nnl");
    assert_string_equal(json_string_value(json_object_get(j, "project")), "p1");
    json_decref(j);
    assert_null(strstr(out, "hidden"));
    assert_null(strstr(line2, "hidden"));
    free(out);
}

static void emit_text(void)
{
    dl_warn("disk %d%% full", 90);
}

static void test_text(void **state)
{
    char *out = capture(DL_LOG_INFO, DL_LOG_TEXT, emit_text);

    (void)state;
    assert_string_equal(out, "driftless: warning: disk 90% full\n");
    free(out);
}

static void emit_secret(void)
{
    dl_log_add_secret("ya29.supersecret-token-value");
    dl_log_add_secret("abc"); /* too short: ignored */
    dl_error("auth failed with Bearer ya29.supersecret-token-value and abc");
    dl_log_fields(DL_LOG_ERROR, "\"t\":\"ya29.supersecret-token-value\"", "x");
}

static void test_secrets_redacted(void **state)
{
    char *out = capture(DL_LOG_DEBUG, DL_LOG_JSON, emit_secret);
    char s[] = "k=ya29.supersecret-token-value;";

    (void)state;
    assert_null(strstr(out, "supersecret"));
    assert_non_null(strstr(out, "[REDACTED]"));
    assert_non_null(strstr(out, "and abc"));
    dl_log_redact(s);
    assert_string_equal(s, "k=[REDACTED];");
    dl_log_clear_secrets();
    free(out);
}

static void test_level_parse(void **state)
{
    enum dl_log_level l;

    (void)state;
    assert_int_equal(dl_log_level_parse(&l, "debug"), 0);
    assert_int_equal(l, DL_LOG_DEBUG);
    assert_int_equal(dl_log_level_parse(&l, "error"), 0);
    assert_int_equal(l, DL_LOG_ERROR);
    assert_int_equal(dl_log_level_parse(&l, "loud"), DL_EINVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_lines),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_secrets_redacted),
        cmocka_unit_test(test_level_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
