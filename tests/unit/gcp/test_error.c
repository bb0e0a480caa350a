#include "gcp_test.h"

#include "gcp/error.h"
#include "util/log.h"
#include "util/time.h"

struct ecase {
    const char *file;
    int code, http;
    const char *status, *msg;
};

static void test_envelopes(void **state)
{
    static const struct ecase cases[] = {
        {FIX("error-404-run.http"), DL_ENOTFOUND, 404, "NOT_FOUND",
         "GET /v2/x: HTTP 404 NOT_FOUND: service \"projects/demo/locations/"
         "europe-west1/services/gone\" not found"},
        {FIX("error-409-aborted.http"), DL_ECONFLICT, 409, "ABORTED", NULL},
        {FIX("error-409-exists.http"), DL_ECONFLICT, 409, "ALREADY_EXISTS",
         NULL},
        {FIX("error-400-precondition.http"), DL_ECONFLICT, 400,
         "FAILED_PRECONDITION", NULL},
        {FIX("error-400-invalid.http"), DL_EINVALID, 400, "INVALID_ARGUMENT",
         "GET /v2/x: HTTP 400 INVALID_ARGUMENT: Invalid value at "
         "'service.template.scaling.max_instance_count' (TYPE_INT32), "
         "\"many\""},
        {FIX("error-401.http"), DL_EAUTH, 401, "UNAUTHENTICATED", NULL},
        {FIX("error-403.http"), DL_EAUTH, 403, "PERMISSION_DENIED", NULL},
        {FIX("error-412-storage.http"), DL_ECONFLICT, 412, "",
         "GET /v2/x: HTTP 412: Precondition check on metageneration failed."},
        {FIX("error-404-bigquery.http"), DL_ENOTFOUND, 404, "NOT_FOUND", NULL},
        {FIX("error-409-storage-reason-only.http"), DL_ECONFLICT, 409, "",
         "GET /v2/x: HTTP 409: conflict"},
        {FIX("error-429-retryinfo.http"), DL_ETRANSIENT, 429,
         "RESOURCE_EXHAUSTED", NULL},
        {FIX("error-503.http"), DL_ETRANSIENT, 503, "UNAVAILABLE", NULL},
        {FIX("error-502-html.http"), DL_ETRANSIENT, 502, "",
         "GET /v2/x: HTTP 502: <html><head><title>502 Bad Gateway</title>"
         "</head> <body>upstream went away</body></html> "},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *body = gcp_test_body(cases[i].file);
        struct dl_err err;
        int rc = dl_gcp_error_parse(&err, cases[i].http, body, strlen(body),
                                    "GET /v2/x");

        assert_int_equal(rc, cases[i].code);
        assert_int_equal(err.code, cases[i].code);
        assert_int_equal(err.http_status, cases[i].http);
        assert_string_equal(err.google_status, cases[i].status);
        assert_null(strchr(err.msg, '\n'));
        if (cases[i].msg)
            assert_string_equal(err.msg, cases[i].msg);
        free(body);
    }
}

static void test_oauth_error(void **state)
{
    char *body = gcp_test_body(FIX("token-invalid-grant.http"));
    struct dl_err err;

    (void)state;
    assert_int_equal(dl_gcp_error_parse(&err, 400, body, strlen(body), "t"),
                     DL_EINVALID);
    assert_string_equal(err.msg,
                        "t: HTTP 400: invalid_grant: Invalid JWT Signature.");
    free(body);
}

static void test_redacts_secrets(void **state)
{
    const char *body =
        "{\"error\":{\"code\":400,\"message\":\"bad token "
        "ya29.secret-in-body\",\"status\":\"INVALID_ARGUMENT\"}}";
    struct dl_err err;

    (void)state;
    dl_log_add_secret("ya29.secret-in-body");
    dl_gcp_error_parse(&err, 400, body, strlen(body), "x");
    assert_null(strstr(err.msg, "ya29.secret-in-body"));
    assert_non_null(strstr(err.msg, "[REDACTED]"));
    dl_log_clear_secrets();
}

static void test_status_objects(void **state)
{
    json_t *st = json_pack("{s:i, s:s}", "code", 9, "message", "not ready");
    json_t *ok = json_object();
    struct dl_err err;

    (void)state;
    assert_int_equal(dl_gcp_error_from_status(&err, st, "operation 'op1'"),
                     DL_ECONFLICT);
    assert_string_equal(err.msg,
                        "operation 'op1': FAILED_PRECONDITION: not ready");
    assert_string_equal(err.google_status, "FAILED_PRECONDITION");
    assert_int_equal(err.http_status, 400);
    assert_int_equal(dl_gcp_error_from_status(&err, ok, "x"), 0);
    assert_string_equal(dl_gcp_rpc_code_name(5), "NOT_FOUND");
    assert_int_equal(dl_gcp_rpc_code_http(14), 503);
    assert_null(dl_gcp_rpc_code_name(99));
    assert_int_equal(dl_gcp_status_to_code(NULL, 404), DL_ENOTFOUND);
    assert_int_equal(dl_gcp_status_to_code(NULL, 418), DL_ERROR);
    assert_int_equal(dl_gcp_status_to_code("UNAVAILABLE", 200), DL_ETRANSIENT);
    json_decref(st);
    json_decref(ok);
}

static void test_retry_hints(void **state)
{
    char *body = gcp_test_body(FIX("error-429-retryinfo.http"));
    int64_t now = INT64_C(784111777) * DL_NS_PER_SEC; /* 06 Nov 1994 */

    (void)state;
    assert_int_equal(dl_gcp_error_retry_delay(body, strlen(body)),
                     3500 * DL_NS_PER_MS);
    assert_int_equal(dl_gcp_error_retry_delay("{}", 2), 0);
    assert_int_equal(dl_gcp_error_retry_delay("not json", 8), 0);
    assert_int_equal(dl_gcp_parse_retry_after("7", 0), 7 * DL_NS_PER_SEC);
    assert_int_equal(dl_gcp_parse_retry_after("7x", 0), 0);
    assert_int_equal(dl_gcp_parse_retry_after("-1", 0), 0);
    assert_int_equal(dl_gcp_parse_retry_after("", 0), 0);
    assert_int_equal(
        dl_gcp_parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
        10 * DL_NS_PER_SEC);
    assert_int_equal(
        dl_gcp_parse_retry_after("Sun, 06 Nov 1994 08:49:27 GMT", now), 0);
    assert_int_equal(dl_gcp_parse_retry_after("Sun, 06 Foo 1994", now), 0);
    /* Found by fuzz_gcp_error: a far date overflowed in ns. More than a
     * day ahead is ignored, like delta-seconds. */
    assert_int_equal(
        dl_gcp_parse_retry_after("Wed, 21 Oct 4052 07:28:00 GMT", now), 0);
    assert_int_equal(
        dl_gcp_parse_retry_after("Wed, 21 Oct -999 07:28:00 GMT", now), 0);
    assert_int_equal(
        dl_gcp_parse_retry_after("Mon, 07 Nov 1994 08:49:38 GMT", now), 0);
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envelopes),
        cmocka_unit_test(test_oauth_error),
        cmocka_unit_test(test_redacts_secrets),
        cmocka_unit_test(test_status_objects),
        cmocka_unit_test(test_retry_hints),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
