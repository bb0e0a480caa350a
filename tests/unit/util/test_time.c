#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "util/time.h"

static void test_rfc3339_roundtrip(void **state)
{
    static const struct {
        const char *in, *out;
        int64_t ns;
    } cases[] = {
        {"1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z", 0},
        {"2026-02-01T18:30:12Z", "2026-02-01T18:30:12Z",
         INT64_C(1769970612) * DL_NS_PER_SEC},
        {"2026-02-01T18:30:12.5Z", "2026-02-01T18:30:12.5Z",
         INT64_C(1769970612) * DL_NS_PER_SEC + 500000000},
        {"2024-04-25T01:58:35.886675Z", "2024-04-25T01:58:35.886675Z",
         INT64_C(1714010315) * DL_NS_PER_SEC + 886675000},
        {"2020-07-28T14:56:57.642861345Z", "2020-07-28T14:56:57.642861345Z",
         INT64_C(1595948217) * DL_NS_PER_SEC + 642861345},
        {"2026-02-01T20:30:12+02:00", "2026-02-01T18:30:12Z",
         INT64_C(1769970612) * DL_NS_PER_SEC},
        {"2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z",
         INT64_C(1709164800) * DL_NS_PER_SEC},
        {"1969-12-31T23:59:59Z", "1969-12-31T23:59:59Z", -DL_NS_PER_SEC},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t t = -1;
        char buf[40];

        assert_int_equal(dl_time_parse_rfc3339(&t, cases[i].in, NULL), 0);
        assert_true(t == cases[i].ns);
        dl_time_format_rfc3339(buf, sizeof(buf), t);
        assert_string_equal(buf, cases[i].out);
    }
}

static void test_rfc3339_rejects(void **state)
{
    static const char *const bad[] = {
        "",
        "2026-02-01",
        "2026-02-01T18:30:12",
        "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-02-01T24:00:00Z",
        "2026-02-01T18:30:12.Z",
        "2026-02-01T18:30:12Zjunk",
        "x026-02-01T18:30:12Z",
    };
    struct dl_err e;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t t;

        assert_int_equal(dl_time_parse_rfc3339(&t, bad[i], &e), DL_EINVALID);
        assert_non_null(strstr(e.msg, "invalid timestamp"));
    }
}

/* Outside int64 nanoseconds (1677-2262): refused, not overflowed. */
static void test_rfc3339_range(void **state)
{
    static const char *const far[] = {
        "1014-02-01T18:30:12Z",           "0000-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999999Z", "2262-04-12T00:00:00Z",
        "1677-09-20T00:00:00+01:00",
    };
    struct dl_err e;
    int64_t t;

    (void)state;
    for (size_t i = 0; i < sizeof(far) / sizeof(far[0]); i++) {
        assert_int_equal(dl_time_parse_rfc3339(&t, far[i], &e), DL_EINVALID);
        assert_non_null(strstr(e.msg, "is out of range"));
        assert_non_null(strstr(e.msg, far[i]));
    }
    assert_int_equal(dl_time_parse_rfc3339(&t, "1678-01-01T00:00:00Z", &e), 0);
    assert_true(t < 0);
    assert_int_equal(dl_time_parse_rfc3339(&t, "2261-12-31T23:59:59Z", &e), 0);
    assert_true(t > 0);
}

static void test_duration(void **state)
{
    static const struct {
        const char *in;
        int64_t ns;
    } ok[] = {
        {"30s", 30 * DL_NS_PER_SEC},
        {"5m", 300 * DL_NS_PER_SEC},
        {"24h", 86400 * DL_NS_PER_SEC},
        {"7d", 7 * 86400 * DL_NS_PER_SEC},
        {"1h30m", 5400 * DL_NS_PER_SEC},
        {"250ms", 250 * DL_NS_PER_MS},
        {"0", 0},
    };
    static const char *const bad[] = {
        "", "5", "-5s", "5 s", "5y", "s", "99999999999999999999d", "1.5h"};
    struct dl_err e;
    char buf[32];

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int64_t d = -1;

        assert_int_equal(dl_duration_parse(&d, ok[i].in, &e), 0);
        assert_true(d == ok[i].ns);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t d;

        assert_int_equal(dl_duration_parse(&d, bad[i], &e), DL_EINVALID);
        assert_non_null(strchr(e.msg, '\''));
    }
    assert_string_equal(
        dl_duration_format(buf, sizeof(buf), 5400 * DL_NS_PER_SEC), "1h30m");
    assert_string_equal(dl_duration_format(buf, sizeof(buf), 0), "0s");
    assert_string_equal(
        dl_duration_format(buf, sizeof(buf), 250 * DL_NS_PER_MS), "250ms");
}

static void test_proto_duration(void **state)
{
    int64_t d;

    (void)state;
    assert_int_equal(dl_duration_parse_proto(&d, "3.5s", NULL), 0);
    assert_true(d == 3500 * DL_NS_PER_MS);
    assert_int_equal(dl_duration_parse_proto(&d, "300s", NULL), 0);
    assert_true(d == 300 * DL_NS_PER_SEC);
    assert_int_equal(dl_duration_parse_proto(&d, "300", NULL), DL_EINVALID);
    assert_int_equal(dl_duration_parse_proto(&d, "-1s", NULL), DL_EINVALID);
}

static void test_clocks(void **state)
{
    int64_t a = dl_time_mono_ns(), b = dl_time_mono_ns();

    (void)state;
    assert_true(b >= a);
    /* after 2020-01-01 */
    assert_true(dl_time_now_ns() > INT64_C(1577836800) * DL_NS_PER_SEC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3339_roundtrip),
        cmocka_unit_test(test_rfc3339_rejects),
        cmocka_unit_test(test_rfc3339_range),
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_proto_duration),
        cmocka_unit_test(test_clocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
