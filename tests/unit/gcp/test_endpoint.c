#include "gcp_test.h"

#include "gcp/endpoint.h"

static void test_defaults(void **state)
{
    struct dl_gcp_endpoints e;
    struct dl_err err;

    (void)state;
    gcp_test_env(NULL);
    assert_int_equal(dl_gcp_endpoints_load(&e, &err), 0);
    assert_string_equal(e.base[DL_GCP_RUN], "https://run.googleapis.com");
    assert_string_equal(e.base[DL_GCP_RESOURCEMANAGER],
                        "https://cloudresourcemanager.googleapis.com");
    assert_string_equal(e.base[DL_GCP_BIGQUERY],
                        "https://bigquery.googleapis.com");
    assert_string_equal(e.base[DL_GCP_STORAGE],
                        "https://storage.googleapis.com");
    assert_string_equal(e.base[DL_GCP_METADATA],
                        "http://metadata.google.internal");
    assert_int_equal(e.firestore_emulator, 0);
    dl_gcp_endpoints_dispose(&e);
}

static void test_overrides(void **state)
{
    struct dl_gcp_endpoints e;
    struct dl_err err;
    char *u;

    (void)state;
    gcp_test_env(NULL);
    setenv("DRIFTLESS_API_ENDPOINT", "http://127.0.0.1:8080/", 1);
    setenv("DRIFTLESS_STORAGE_ENDPOINT", "http://localhost:9000", 1);
    setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:8089", 1);
    setenv("GCE_METADATA_HOST", "127.0.0.1:9999", 1);
    assert_int_equal(dl_gcp_endpoints_load(&e, &err), 0);
    assert_string_equal(e.base[DL_GCP_RUN], "http://127.0.0.1:8080");
    assert_string_equal(e.base[DL_GCP_STS], "http://127.0.0.1:8080");
    assert_string_equal(e.base[DL_GCP_STORAGE], "http://localhost:9000");
    assert_string_equal(e.base[DL_GCP_FIRESTORE], "http://127.0.0.1:8089");
    assert_string_equal(e.base[DL_GCP_METADATA], "http://127.0.0.1:9999");
    assert_int_equal(e.firestore_emulator, 1);

    /* Credential-file URLs on Google hosts follow the overrides. */
    u = dl_gcp_url_rewrite(&e, "https://oauth2.googleapis.com/token");
    assert_string_equal(u, "http://127.0.0.1:8080/token");
    free(u);
    u = dl_gcp_url_rewrite(&e, "https://iamcredentials.googleapis.com/v1/"
                               "projects/-/serviceAccounts/a@b:"
                               "generateAccessToken");
    assert_string_equal(u, "http://127.0.0.1:8080/v1/projects/-/"
                           "serviceAccounts/a@b:generateAccessToken");
    free(u);
    u = dl_gcp_url_rewrite(&e, "https://example.com/token");
    assert_string_equal(u, "https://example.com/token");
    free(u);
    dl_gcp_endpoints_dispose(&e);

    /* Without overrides nothing is rewritten. */
    gcp_test_env(NULL);
    assert_int_equal(dl_gcp_endpoints_load(&e, &err), 0);
    u = dl_gcp_url_rewrite(&e, "https://sts.googleapis.com/v1/token");
    assert_string_equal(u, "https://sts.googleapis.com/v1/token");
    free(u);
    dl_gcp_endpoints_dispose(&e);
}

static void test_refuses_plain_http(void **state)
{
    struct dl_gcp_endpoints e;
    struct dl_err err;

    (void)state;
    gcp_test_env(NULL);
    setenv("DRIFTLESS_RUN_ENDPOINT", "http://fake.example.com:8080", 1);
    assert_int_equal(dl_gcp_endpoints_load(&e, &err), DL_EINVALID);
    assert_int_equal(err.code, DL_EINVALID);
    assert_non_null(strstr(err.msg, "DRIFTLESS_RUN_ENDPOINT"));
    assert_non_null(strstr(err.msg, "'fake.example.com'"));
    assert_null(e.base[DL_GCP_RUN]);

    gcp_test_env(NULL);
    setenv("DRIFTLESS_API_ENDPOINT", "ftp://127.0.0.1/", 1);
    assert_int_equal(dl_gcp_endpoints_load(&e, &err), DL_EINVALID);
    assert_non_null(strstr(err.msg, "'ftp://127.0.0.1/'"));

    gcp_test_env(NULL);
    setenv("FIRESTORE_EMULATOR_HOST", "10.0.0.5:8080", 1);
    assert_int_equal(dl_gcp_endpoints_load(&e, &err), DL_EINVALID);
    assert_non_null(strstr(err.msg, "FIRESTORE_EMULATOR_HOST"));

    gcp_test_env(NULL);
    setenv("DRIFTLESS_API_ENDPOINT", "https://fake.example.com", 1);
    assert_int_equal(dl_gcp_endpoints_load(&e, &err), 0);
    dl_gcp_endpoints_dispose(&e);
}

static void test_loopback(void **state)
{
    struct dl_err err;

    (void)state;
    gcp_test_env(NULL);
    assert_true(dl_gcp_host_is_loopback("127.0.0.1"));
    assert_true(dl_gcp_host_is_loopback("127.1.2.3"));
    assert_true(dl_gcp_host_is_loopback("localhost"));
    assert_true(dl_gcp_host_is_loopback("::1"));
    assert_false(dl_gcp_host_is_loopback("127.0.0.1.evil.com"));
    assert_false(dl_gcp_host_is_loopback("128.0.0.1"));
    assert_false(dl_gcp_host_is_loopback("localhost.example"));
    assert_int_equal(dl_gcp_url_check("http://[::1]:80/x", 0, &err), 0);
    assert_int_equal(dl_gcp_url_check("http://user@127.0.0.1/", 0, &err),
                     DL_EINVALID);
    assert_int_equal(
        dl_gcp_url_check("http://metadata.google.internal/x", 0, &err),
        DL_EINVALID);
    assert_int_equal(
        dl_gcp_url_check("http://metadata.google.internal/x", 1, &err), 0);
    assert_string_equal(dl_gcp_api_name(DL_GCP_RESOURCEMANAGER),
                        "resourcemanager");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_refuses_plain_http),
        cmocka_unit_test(test_loopback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
