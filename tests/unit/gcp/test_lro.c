#include "gcp_test.h"

#include "util/time.h"

#define OPS "/v2/projects/demo/locations/europe-west1/operations/0b1c2d3e"

static struct dl_http_transport *t;
static struct dl_gcp_client *c;

static int setup(void **state)
{
    (void)state;
    gcp_test_env("test-token-ops");
    c = gcp_test_client(&t, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(dl_http_replay_unused(t), 0);
    dl_gcp_client_free(c);
    return 0;
}

static json_t *load_op(const char *file)
{
    char *body = gcp_test_body(file);
    json_t *op = json_loads(body, 0, NULL);

    free(body);
    assert_non_null(op);
    return op;
}

static void test_poll_until_done(void **state)
{
    json_t *op = load_op(FIX("run-op-running.http")), *resp = NULL;
    struct dl_err err;
    int64_t t0 = dl_gcp_client_now(c);

    (void)state;
    gcp_test_add(t, "GET", OPS, FIX("run-op-running.http"));
    gcp_test_add(t, "GET", OPS, FIX("run-op-running.http"));
    gcp_test_add(t, "GET", OPS, FIX("run-op-done.http"));
    assert_int_equal(dl_gcp_lro_wait(c, DL_GCP_RUN, op, NULL, &resp, &err), 0);
    assert_string_equal(json_string_value(json_object_get(resp, "generation")),
                        "5");
    /* Polled after 1 s, 1.5 s and 2.25 s. */
    assert_int_equal(gcp_test_req(t, 0)->at_ns - t0, DL_NS_PER_SEC);
    assert_int_equal(gcp_test_req(t, 1)->at_ns - gcp_test_req(t, 0)->at_ns,
                     1500 * DL_NS_PER_MS);
    assert_int_equal(gcp_test_req(t, 2)->at_ns - gcp_test_req(t, 1)->at_ns,
                     2250 * DL_NS_PER_MS);
    json_decref(resp);
    json_decref(op);
}

static void test_already_done_and_failed(void **state)
{
    json_t *done = load_op(FIX("run-op-done.http"));
    json_t *running = load_op(FIX("run-op-running.http")), *resp = NULL;
    struct dl_err err;

    (void)state;
    assert_int_equal(dl_gcp_lro_wait(c, DL_GCP_RUN, done, NULL, &resp, &err),
                     0);
    assert_true(json_is_object(resp));
    json_decref(resp);
    assert_int_equal(dl_http_replay_count(t), 0);

    gcp_test_add(t, "GET", OPS, FIX("run-op-failed.http"));
    assert_int_equal(dl_gcp_lro_wait(c, DL_GCP_RUN, running, NULL, &resp, &err),
                     DL_ECONFLICT);
    assert_null(resp);
    assert_string_equal(err.msg,
                        "operation 'projects/demo/locations/europe-west1/"
                        "operations/0b1c2d3e': FAILED_PRECONDITION: Revision "
                        "'api-00005-xyz' is not ready and cannot serve "
                        "traffic.");
    assert_string_equal(err.google_status, "FAILED_PRECONDITION");
    json_decref(done);
    json_decref(running);
}

static void test_run_wait_and_timeout(void **state)
{
    json_t *op = load_op(FIX("run-op-running.http")), *resp = NULL;
    struct dl_gcp_lro_opts o = {0};
    struct dl_err err;

    (void)state;
    o.use_wait = 1;
    gcp_test_add(t, "POST", OPS ":wait", FIX("run-op-running.http"));
    gcp_test_add(t, "POST", OPS ":wait", FIX("run-op-done.http"));
    assert_int_equal(dl_gcp_lro_wait(c, DL_GCP_RUN, op, &o, &resp, &err), 0);
    assert_string_equal(gcp_test_req(t, 0)->body, "{\"timeout\":\"30s\"}");
    json_decref(resp);

    o.use_wait = 0;
    o.timeout_ns = 5 * DL_NS_PER_SEC;
    for (int i = 0; i < 3; i++)
        gcp_test_add(t, "GET", OPS, FIX("run-op-running.http"));
    assert_int_equal(dl_gcp_lro_wait(c, DL_GCP_RUN, op, &o, &resp, &err),
                     DL_ETRANSIENT);
    assert_non_null(strstr(err.msg, "not done after 5 s (3 polls)"));
    json_decref(op);
}

static void test_cloud_build(void **state)
{
    json_t *op = load_op(FIX("cloudbuild-op-running.http")), *resp = NULL;
    struct dl_err err;

    (void)state;
    gcp_test_add(t, "GET", "/v1/operations/build/demo/YmJiYg",
                 FIX("cloudbuild-op-done.http"));
    assert_int_equal(
        dl_gcp_lro_wait(c, DL_GCP_CLOUDBUILD, op, NULL, &resp, &err), 0);
    assert_string_equal(json_string_value(json_object_get(resp, "status")),
                        "SUCCESS");
    assert_string_equal(gcp_test_req(t, 0)->url,
                        "https://cloudbuild.googleapis.com/v1/operations/"
                        "build/demo/YmJiYg");
    json_decref(resp);
    json_decref(op);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_poll_until_done, setup, teardown),
        cmocka_unit_test_setup_teardown(test_already_done_and_failed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_run_wait_and_timeout, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cloud_build, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
