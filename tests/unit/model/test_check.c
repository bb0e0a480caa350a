/* Tests of check.c: single-value checks, quantities, did-you-mean. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

#include "model/check.h"

static void test_members(void **state)
{
    static const char *const good[] = {
        "user:alice@example.com",
        "group:admins@example.com",
        "serviceAccount:w@p-1.iam.gserviceaccount.com",
        "domain:example.com",
        "principal://iam.googleapis.com/projects/1/x",
        "principalSet://iam.googleapis.com/projects/1/*",
    };
    static const char *const bad[] = {
        "alice@example.com", "serviceaccount:w@p.iam.gserviceaccount.com",
        "user:alice",        "user:",
        "domain:localhost",  "principal:iam.googleapis.com",
        "allUsers",          "group:a@@example.com",
        "user:a b@x.com",    "domain:-bad.com",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_null(dl_check_member(good[i]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_non_null(dl_check_member(bad[i]));
}

static void test_roles(void **state)
{
    (void)state;
    assert_null(dl_check_role("roles/monitoring.metricWriter"));
    assert_null(dl_check_role("projects/my-proj/roles/custom_role"));
    assert_null(dl_check_role("organizations/1234/roles/auditor"));
    assert_non_null(dl_check_role("monitoring.metricWriter"));
    assert_non_null(dl_check_role("roles/"));
    assert_non_null(dl_check_role("projects//roles/x"));
    assert_non_null(dl_check_role("projects/p/x"));
    assert_non_null(dl_check_role("organizations/abc/roles/x"));
    assert_non_null(dl_check_role("roles/a/b"));
}

static void test_names(void **state)
{
    (void)state;
    assert_null(dl_check_run_service_name("prediction-worker"));
    assert_null(dl_check_run_service_name(
        "a234567890123456789012345678901234567890123456789"));
    assert_non_null(dl_check_run_service_name(
        "a2345678901234567890123456789012345678901234567890"));
    assert_non_null(dl_check_run_service_name("1abc"));
    assert_non_null(dl_check_run_service_name("abc-"));
    assert_non_null(dl_check_run_service_name("a_b"));
    assert_non_null(dl_check_run_service_name(""));
    assert_null(dl_check_project_id("nba-props-platform"));
    assert_null(dl_check_project_id("abcdef"));
    assert_non_null(dl_check_project_id("abcde"));
    assert_non_null(dl_check_project_id("a23456789012345678901234567890x"));
    assert_non_null(dl_check_project_id("1abcdef"));
    assert_non_null(dl_check_project_id("abcdef-"));
    assert_non_null(dl_check_project_id("Abcdef"));
    assert_null(dl_check_resource_name("processor_heartbeats.v2"));
    assert_non_null(dl_check_resource_name("-x"));
    assert_non_null(dl_check_resource_name("x-"));
    assert_non_null(dl_check_resource_name("X"));
    assert_null(dl_check_email("a.b+c@sub.example.com"));
    assert_non_null(dl_check_email("a@b"));
    assert_non_null(dl_check_email("@example.com"));
    assert_null(dl_check_label_key("team"));
    assert_non_null(dl_check_label_key("Team"));
    assert_non_null(dl_check_label_key("1team"));
    assert_null(dl_check_label_value(""));
    assert_non_null(dl_check_label_value("Data"));
    assert_null(dl_check_env_name("GCP_PROJECT"));
    assert_non_null(dl_check_env_name("1X"));
    assert_non_null(dl_check_env_name("A-B"));
    assert_null(dl_check_dataset("nba_raw"));
    assert_non_null(dl_check_dataset("nba-raw"));
    assert_null(dl_check_collection("processor_heartbeats"));
    assert_non_null(dl_check_collection("a/b"));
    assert_non_null(dl_check_collection("__x__"));
    assert_non_null(dl_check_collection(".."));
    assert_null(dl_check_database("(default)"));
    assert_null(dl_check_database("analytics-db"));
    assert_non_null(dl_check_database("db"));
    assert_non_null(dl_check_database("Default"));
}

static void test_bucket_pattern(void **state)
{
    size_t at = 99;

    (void)state;
    assert_null(dl_check_bucket_pattern("nba-.*", &at));
    assert_null(dl_check_bucket_pattern("a[A-Z]+\\.tmp|x{2,3}", &at));
    assert_null(dl_check_bucket_pattern("[]A]x", &at));
    assert_non_null(dl_check_bucket_pattern("NBA-.*", &at));
    assert_int_equal(at, 0);
    assert_non_null(dl_check_bucket_pattern("nba/x", &at));
    assert_int_equal(at, 3);
    assert_non_null(dl_check_bucket_pattern("a b", &at));
    assert_int_equal(at, 1);
}

static void test_cpu(void **state)
{
    int64_t m = 0;
    struct dl_err err;

    (void)state;
    assert_int_equal(dl_quantity_cpu_parse(&m, "1", &err), 0);
    assert_int_equal(m, 1000);
    assert_int_equal(dl_quantity_cpu_parse(&m, "0.5", &err), 0);
    assert_int_equal(m, 500);
    assert_int_equal(dl_quantity_cpu_parse(&m, "2.25", &err), 0);
    assert_int_equal(m, 2250);
    assert_int_equal(dl_quantity_cpu_parse(&m, "250m", &err), 0);
    assert_int_equal(m, 250);
    assert_int_equal(dl_quantity_cpu_parse(&m, "two", &err), DL_EINVALID);
    assert_non_null(strstr(err.msg, "'two'"));
    assert_int_equal(dl_quantity_cpu_parse(&m, "0", &err), DL_EINVALID);
    assert_string_equal(err.msg, "CPU quantity '0' is not positive");
    assert_int_equal(dl_quantity_cpu_parse(&m, "0.0001", &err), DL_EINVALID);
    assert_int_equal(dl_quantity_cpu_parse(&m, "1.", &err), DL_EINVALID);
    assert_int_equal(dl_quantity_cpu_parse(&m, "-1", &err), DL_EINVALID);
    assert_int_equal(dl_quantity_cpu_parse(&m, "1 m", &err), DL_EINVALID);
    assert_int_equal(dl_quantity_cpu_parse(&m, "99999999999", &err),
                     DL_EINVALID);
}

static void test_memory(void **state)
{
    int64_t b = 0;
    struct dl_err err;

    (void)state;
    assert_int_equal(dl_quantity_memory_parse(&b, "512Mi", &err), 0);
    assert_int_equal(b, 512 * 1024 * 1024);
    assert_int_equal(dl_quantity_memory_parse(&b, "2Gi", &err), 0);
    assert_int_equal(b, INT64_C(2) << 30);
    assert_int_equal(dl_quantity_memory_parse(&b, "1G", &err), 0);
    assert_int_equal(b, 1000000000);
    assert_int_equal(dl_quantity_memory_parse(&b, "1048576", &err), 0);
    assert_int_equal(b, 1048576);
    assert_int_equal(dl_quantity_memory_parse(&b, "2GB", &err), DL_EINVALID);
    assert_non_null(strstr(err.msg, "'2GB'"));
    assert_int_equal(dl_quantity_memory_parse(&b, "0Mi", &err), DL_EINVALID);
    assert_int_equal(dl_quantity_memory_parse(&b, "Mi", &err), DL_EINVALID);
    assert_int_equal(dl_quantity_memory_parse(&b, "9999999999Ti", &err),
                     DL_EINVALID);
    assert_string_equal(err.msg, "memory quantity '9999999999Ti' is too large");
}

static void test_did_you_mean(void **state)
{
    static const char *const fields[] = {
        "image", "build", "requireCommits", "serviceAccount", "env", NULL};

    (void)state;
    assert_int_equal(dl_edit_distance("kitten", "sitting"), 3);
    assert_int_equal(dl_edit_distance("", "abc"), 3);
    assert_int_equal(dl_edit_distance("same", "same"), 0);
    assert_string_equal(dl_did_you_mean("imge", fields), "image");
    assert_string_equal(dl_did_you_mean("requiredCommits", fields),
                        "requireCommits");
    assert_string_equal(dl_did_you_mean("serviceaccount", fields),
                        "serviceAccount");
    assert_string_equal(dl_did_you_mean("ENV", fields), "env");
    assert_null(dl_did_you_mean("colour", fields));
    assert_null(dl_did_you_mean("x", fields));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_members),
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_bucket_pattern),
        cmocka_unit_test(test_cpu),
        cmocka_unit_test(test_memory),
        cmocka_unit_test(test_did_you_mean),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
