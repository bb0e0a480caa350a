#include "gcp_test.h"

#include "util/time.h"

#define TOKEN "test-static-token-7f3a"
#define SVC "/v2/projects/demo/locations/europe-west1/services/api"

static struct dl_http_transport *t;
static struct dl_gcp_client *c;

static int setup(void **state)
{
    (void)state;
    gcp_test_env(TOKEN);
    c = gcp_test_client(&t, NULL);
    return 0;
}

static int setup_fast(void **state)
{
    struct dl_gcp_client_opts o;

    (void)state;
    gcp_test_env(TOKEN);
    memset(&o, 0, sizeof(o));
    o.max_attempts = 3;
    for (int i = 0; i < DL_GCP_API_COUNT; i++)
        o.rate[i] = -1;
    c = gcp_test_client(&t, &o);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(dl_gcp_client_pending(c), 0);
    dl_gcp_client_free(c);
    return 0;
}

static void test_get_ok(void **state)
{
    const struct dl_http_replay_req *q;
    struct dl_err err;
    json_t *out = NULL;

    (void)state;
    assert_string_equal(dl_gcp_client_auth_kind(c), "access-token");
    gcp_test_add(t, "GET", SVC, FIX("run-service.http"));
    assert_int_equal(dl_gcp_call(c, DL_GCP_RUN, NULL, SVC, NULL, &out, &err),
                     0);
    assert_string_equal(json_string_value(json_object_get(out, "generation")),
                        "4");
    json_decref(out);
    q = gcp_test_req(t, 0);
    assert_string_equal(q->method, "GET");
    assert_string_equal(q->url, "https://run.googleapis.com" SVC);
    assert_non_null(strstr(q->headers, "Authorization: Bearer " TOKEN "\n"));
    assert_int_equal(dl_gcp_client_metrics(c)->api[DL_GCP_RUN].requests, 1);
    assert_int_equal(dl_gcp_client_metrics(c)->api[DL_GCP_RUN].failures, 0);
}

static void test_post_body_and_empty_answer(void **state)
{
    const struct dl_http_replay_req *q;
    struct dl_err err;
    json_t *body =
        json_pack("{s:{s:i}}", "options", "requestedPolicyVersion", 3);
    json_t *out = NULL;

    (void)state;
    gcp_test_add(t, "DELETE", "/bigquery/v2/projects/demo/datasets/s/tables/t",
                 FIX("ok-empty-204.http"));
    gcp_test_add(t, "POST", "/v1/projects/demo:getIamPolicy",
                 FIX("ok-empty-204.http"));
    assert_int_equal(dl_gcp_call(c, DL_GCP_BIGQUERY, "DELETE",
                                 "/bigquery/v2/projects/demo/datasets/s/"
                                 "tables/t",
                                 NULL, &out, &err),
                     0);
    assert_true(json_is_object(out) && json_object_size(out) == 0);
    json_decref(out);
    assert_int_equal(dl_gcp_call(c, DL_GCP_RESOURCEMANAGER, NULL,
                                 "/v1/projects/demo:getIamPolicy", body, NULL,
                                 &err),
                     0);
    q = gcp_test_req(t, 1);
    assert_string_equal(q->method, "POST");
    assert_string_equal(q->url, "https://cloudresourcemanager.googleapis.com/"
                                "v1/projects/demo:getIamPolicy");
    assert_string_equal(q->body,
                        "{\"options\":{\"requestedPolicyVersion\":3}}");
    assert_non_null(strstr(q->headers, "Content-Type: application/json\n"));
    json_decref(body);
}

struct ecase {
    const char *file;
    int code;
    int http;
    const char *gstatus;
    size_t attempts;
};

static void test_error_kinds(void **state)
{
    static const struct ecase cases[] = {
        {FIX("error-404-run.http"), DL_ENOTFOUND, 404, "NOT_FOUND", 1},
        {FIX("error-409-aborted.http"), DL_ECONFLICT, 409, "ABORTED", 1},
        {FIX("error-400-precondition.http"), DL_ECONFLICT, 400,
         "FAILED_PRECONDITION", 1},
        {FIX("error-400-invalid.http"), DL_EINVALID, 400, "INVALID_ARGUMENT",
         1},
        {FIX("error-403.http"), DL_EAUTH, 403, "PERMISSION_DENIED", 1},
        {FIX("error-412-storage.http"), DL_ECONFLICT, 412, "", 1},
        /* transient, retried up to the cap of 3 attempts */
        {FIX("error-503.http"), DL_ETRANSIENT, 503, "UNAVAILABLE", 3},
        {FIX("error-502-html.http"), DL_ETRANSIENT, 502, "", 3},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct dl_err err;
        json_t *out = (json_t *)1;
        size_t before = dl_http_replay_count(t);

        for (size_t k = 0; k < cases[i].attempts; k++)
            gcp_test_add(t, "GET", SVC, cases[i].file);
        assert_int_equal(
            dl_gcp_call(c, DL_GCP_RUN, "GET", SVC, NULL, &out, &err),
            cases[i].code);
        assert_null(out);
        assert_int_equal(err.http_status, cases[i].http);
        assert_string_equal(err.google_status, cases[i].gstatus);
        assert_int_equal(
            strncmp(err.msg, "GET " SVC ": HTTP ", 4 + strlen(SVC) + 7), 0);
        assert_null(strchr(err.msg, '\n'));
        assert_int_equal(dl_http_replay_count(t) - before, cases[i].attempts);
        if (cases[i].attempts > 1)
            assert_non_null(strstr(err.msg, "(after 3 attempts)"));
    }
    assert_int_equal(dl_http_replay_unused(t), 0);
}

static void test_401_refreshes_once(void **state)
{
    struct dl_err err;

    (void)state;
    gcp_test_add(t, "GET", SVC, FIX("error-401.http"));
    gcp_test_add(t, "GET", SVC, FIX("error-401.http"));
    assert_int_equal(dl_gcp_call(c, DL_GCP_RUN, "GET", SVC, NULL, NULL, &err),
                     DL_EAUTH);
    assert_int_equal(dl_http_replay_count(t), 2);
    assert_string_equal(err.google_status, "UNAUTHENTICATED");
}

static void test_429_retry_info(void **state)
{
    struct dl_err err;
    int64_t gap;

    (void)state;
    gcp_test_add(t, "GET", SVC, FIX("error-429-retryinfo.http"));
    gcp_test_add(t, "GET", SVC, FIX("run-service.http"));
    assert_int_equal(dl_gcp_call(c, DL_GCP_RUN, "GET", SVC, NULL, NULL, &err),
                     0);
    gap = gcp_test_req(t, 1)->at_ns - gcp_test_req(t, 0)->at_ns;
    assert_true(gap >= 3500 * DL_NS_PER_MS);
    assert_true(gap < 3600 * DL_NS_PER_MS);
    assert_int_equal(dl_gcp_client_metrics(c)->api[DL_GCP_RUN].retries, 1);
    /* The 429 slowed the bucket down. */
    assert_true(dl_gcp_client_rate(c, DL_GCP_RUN) < 10);
}

static void test_429_retry_after(void **state)
{
    struct dl_err err;
    int64_t gap;

    (void)state;
    gcp_test_add(t, "POST", "/v2/x", FIX("error-429-retry-after.http"));
    gcp_test_add(t, "POST", "/v2/x", FIX("run-op-running.http"));
    /* A POST (create) is retried after a 429: the server did nothing. */
    assert_int_equal(
        dl_gcp_call(c, DL_GCP_RUN, "POST", "/v2/x", NULL, NULL, &err), 0);
    gap = gcp_test_req(t, 1)->at_ns - gcp_test_req(t, 0)->at_ns;
    assert_true(gap >= 7 * DL_NS_PER_SEC);
    assert_true(gap < 8 * DL_NS_PER_SEC);
}

static void test_backoff_grows_with_full_jitter(void **state)
{
    struct dl_err err;

    (void)state;
    for (int i = 0; i < 3; i++)
        gcp_test_add(t, "GET", SVC, FIX("error-429-bare.http"));
    assert_int_equal(dl_gcp_call(c, DL_GCP_RUN, "GET", SVC, NULL, NULL, &err),
                     DL_ETRANSIENT);
    /* Attempt n waits uniformly in [0, 500ms * 2^(n-1)]. */
    assert_true(gcp_test_req(t, 1)->at_ns - gcp_test_req(t, 0)->at_ns <=
                500 * DL_NS_PER_MS + 200 * DL_NS_PER_MS);
    assert_true(gcp_test_req(t, 2)->at_ns - gcp_test_req(t, 1)->at_ns <=
                1000 * DL_NS_PER_MS + 2000 * DL_NS_PER_MS);
}

static void test_unsafe_not_retried(void **state)
{
    struct dl_err err;

    (void)state;
    gcp_test_add(t, "POST", "/v2/create", FIX("error-503.http"));
    assert_int_equal(
        dl_gcp_call(c, DL_GCP_RUN, "POST", "/v2/create", NULL, NULL, &err),
        DL_ETRANSIENT);
    assert_int_equal(dl_http_replay_count(t), 1);
    /* A timeout may have reached the server: not retried either. */
    gcp_test_add(t, "POST", "/v2/create", FIX("fail-timeout.http"));
    assert_int_equal(
        dl_gcp_call(c, DL_GCP_RUN, "POST", "/v2/create", NULL, NULL, &err),
        DL_ETRANSIENT);
    assert_int_equal(dl_http_replay_count(t), 2);
    assert_string_equal(err.msg, "POST /v2/create: Timeout was reached");
    /* A refused connection never reached it: retried. */
    gcp_test_add(t, "POST", "/v2/create", FIX("fail-connect.http"));
    gcp_test_add(t, "POST", "/v2/create", FIX("run-op-running.http"));
    assert_int_equal(
        dl_gcp_call(c, DL_GCP_RUN, "POST", "/v2/create", NULL, NULL, &err), 0);
    assert_int_equal(dl_http_replay_count(t), 4);
}

static void test_aborted_retried_on_reads(void **state)
{
    struct dl_gcp_request q;
    struct dl_err err;

    (void)state;
    gcp_test_add(t, "POST", "/v1/projects/demo:getIamPolicy",
                 FIX("error-409-aborted.http"));
    gcp_test_add(t, "POST", "/v1/projects/demo:getIamPolicy",
                 FIX("ok-empty-204.http"));
    memset(&q, 0, sizeof(q));
    q.api = DL_GCP_RESOURCEMANAGER;
    q.method = "POST";
    q.path = "/v1/projects/demo:getIamPolicy";
    q.retry = DL_GCP_RETRY_READ;
    assert_int_equal(dl_gcp_call_req(c, &q, NULL, &err), 0);
    assert_int_equal(dl_http_replay_count(t), 2);
    /* The same answer to an idempotent write is final. */
    gcp_test_add(t, "POST", "/v1/projects/demo:getIamPolicy",
                 FIX("error-409-aborted.http"));
    q.retry = DL_GCP_RETRY_SAFE;
    assert_int_equal(dl_gcp_call_req(c, &q, NULL, &err), DL_ECONFLICT);
    assert_int_equal(dl_http_replay_count(t), 3);
}

static void test_truncated_bodies(void **state)
{
    struct dl_err err;
    json_t *out = NULL;

    (void)state;
    gcp_test_add(t, "GET", SVC, FIX("truncated-200.http"));
    gcp_test_add(t, "GET", SVC, FIX("cut-json-200.http"));
    gcp_test_add(t, "GET", SVC, FIX("fail-reset.http"));
    gcp_test_add(t, "GET", SVC, FIX("run-service.http"));
    /* GET is idempotent: a cut transfer, a cut JSON body and a reset are
     * retried until the whole answer arrives (max 3 attempts here: so the
     * call fails on the third). */
    assert_int_equal(dl_gcp_call(c, DL_GCP_RUN, "GET", SVC, NULL, &out, &err),
                     DL_ETRANSIENT);
    assert_non_null(strstr(err.msg, "Connection reset"));
    assert_int_equal(dl_http_replay_count(t), 3);
    assert_int_equal(dl_gcp_call(c, DL_GCP_RUN, "GET", SVC, NULL, &out, &err),
                     0);
    json_decref(out);

    gcp_test_add(t, "GET", SVC, FIX("cut-json-200.http"));
    gcp_test_add(t, "GET", SVC, FIX("cut-json-200.http"));
    gcp_test_add(t, "GET", SVC, FIX("truncated-200.http"));
    assert_int_equal(dl_gcp_call(c, DL_GCP_RUN, "GET", SVC, NULL, &out, &err),
                     DL_ETRANSIENT);
    assert_non_null(strstr(err.msg, "bytes remaining"));
}

static void test_body_cap(void **state)
{
    struct dl_gcp_request q;
    struct dl_err err;

    (void)state;
    gcp_test_add(t, "GET", SVC, FIX("run-service.http"));
    memset(&q, 0, sizeof(q));
    q.api = DL_GCP_RUN;
    q.path = SVC;
    q.max_body = 16;
    assert_int_equal(dl_gcp_call_req(c, &q, NULL, &err), DL_ELIMIT);
    assert_int_equal(dl_http_replay_count(t), 1);
}

struct counter {
    int ok, failed;
};

static void count_done(struct dl_gcp_client *cl, int rc,
                       const struct dl_gcp_response *r,
                       const struct dl_err *err, void *ud)
{
    struct counter *k = ud;

    (void)cl;
    (void)err;
    if (rc == 0 && json_is_object(r->json))
        k->ok++;
    else
        k->failed++;
}

static void submit_get(const char *path, struct counter *k)
{
    struct dl_gcp_request q;
    struct dl_err err;

    memset(&q, 0, sizeof(q));
    q.api = DL_GCP_RUN;
    q.path = path;
    q.done = count_done;
    q.ud = k;
    assert_int_equal(dl_gcp_submit(c, &q, &err), 0);
}

static void test_concurrency_cap(void **state)
{
    static const char slow[] = "HTTP/1.1 200 OK\nX-Replay-Delay-Ms: 50\n\n{}";
    struct counter k = {0, 0};
    struct dl_err err;
    int64_t t0;

    (void)state;
    for (int i = 0; i < 100; i++) {
        assert_int_equal(dl_http_replay_add_text(t, "GET", "/v2/slow*", slow,
                                                 strlen(slow), &err),
                         0);
        submit_get("/v2/slow?i=1", &k);
    }
    t0 = dl_gcp_client_now(c);
    assert_int_equal(dl_gcp_client_run(c, &err), 0);
    assert_int_equal(k.ok, 100);
    assert_int_equal(dl_http_replay_max_inflight(t), 16);
    /* 100 requests, 16 at a time, 50 ms each: 7 rounds. */
    assert_int_equal(dl_gcp_client_now(c) - t0, 7 * 50 * DL_NS_PER_MS);
}

static void test_rate_limit(void **state)
{
    struct dl_gcp_client_opts o;
    struct counter k = {0, 0};
    struct dl_err err;
    int64_t span;

    (void)state;
    dl_gcp_client_free(c);
    memset(&o, 0, sizeof(o));
    o.rate[DL_GCP_RUN] = 10;
    o.burst[DL_GCP_RUN] = 1;
    c = gcp_test_client(&t, &o);
    for (int i = 0; i < 21; i++) {
        gcp_test_add(t, "GET", SVC, FIX("run-service.http"));
        submit_get(SVC, &k);
    }
    assert_int_equal(dl_gcp_client_run(c, &err), 0);
    assert_int_equal(k.ok, 21);
    span = gcp_test_req(t, 20)->at_ns - gcp_test_req(t, 0)->at_ns;
    assert_true(span >= 1990 * DL_NS_PER_MS);
    assert_true(span <= 2100 * DL_NS_PER_MS);
    assert_true(dl_gcp_client_metrics(c)->api[DL_GCP_RUN].throttled >= 20);
}

static void test_deadline(void **state)
{
    struct dl_gcp_request q;
    struct dl_err err;

    (void)state;
    gcp_test_add(t, "GET", SVC, FIX("error-429-retry-after.http"));
    memset(&q, 0, sizeof(q));
    q.api = DL_GCP_RUN;
    q.path = SVC;
    q.deadline_ns = 5 * DL_NS_PER_SEC;
    /* Retry-After 7 s does not fit in a 5 s budget: fail at once. */
    assert_int_equal(dl_gcp_call_req(c, &q, NULL, &err), DL_ETRANSIENT);
    assert_non_null(strstr(err.msg, "retry budget spent"));
    assert_int_equal(dl_http_replay_count(t), 1);
}

static void test_metrics(void **state)
{
    const struct dl_gcp_api_metrics *m;
    struct dl_err err;
    uint64_t n404 = 0, n200 = 0, total = 0;

    (void)state;
    gcp_test_add(t, "GET", SVC, FIX("run-service.http"));
    gcp_test_add(t, "GET", SVC, FIX("error-404-run.http"));
    gcp_test_add(t, "GET", SVC, FIX("error-503.http"));
    gcp_test_add(t, "GET", SVC, FIX("run-service.http"));
    assert_int_equal(dl_gcp_call(c, DL_GCP_RUN, "GET", SVC, NULL, NULL, &err),
                     0);
    assert_int_equal(dl_gcp_call(c, DL_GCP_RUN, "GET", SVC, NULL, NULL, &err),
                     DL_ENOTFOUND);
    assert_int_equal(dl_gcp_call(c, DL_GCP_RUN, "GET", SVC, NULL, NULL, &err),
                     0);
    m = &dl_gcp_client_metrics(c)->api[DL_GCP_RUN];
    for (size_t i = 0; i < m->nstatus; i++) {
        if (m->status[i].status == 404)
            n404 = m->status[i].count;
        if (m->status[i].status == 200)
            n200 = m->status[i].count;
    }
    for (int i = 0; i < DL_GCP_LATENCY_BUCKETS; i++)
        total += m->latency_bucket[i];
    assert_int_equal(n404, 1);
    assert_int_equal(n200, 2);
    assert_int_equal(m->attempts, 4);
    assert_int_equal(m->retries, 1);
    assert_int_equal(m->requests, 3);
    assert_int_equal(m->failures, 1);
    assert_int_equal(total, 4);
    assert_int_equal(m->latency_count, 4);
}

static void test_bad_requests(void **state)
{
    struct dl_gcp_request q;
    struct dl_err err;

    (void)state;
    assert_int_equal(
        dl_gcp_call(c, DL_GCP_RUN, "GET", "v2/no-slash", NULL, NULL, &err),
        DL_EINVALID);
    assert_int_equal(dl_gcp_call(c, DL_GCP_RUN, "GET",
                                 "http://evil.example.com/x", NULL, NULL, &err),
                     DL_EINVALID);
    assert_non_null(strstr(err.msg, "refusing plain http://"));
    memset(&q, 0, sizeof(q));
    q.path = "/x";
    assert_int_equal(dl_gcp_submit(c, &q, &err), DL_EINVALID);
    assert_int_equal(dl_http_replay_count(t), 0);
}

static void test_cancel(void **state)
{
    struct counter k = {0, 0};
    struct dl_err err;

    (void)state;
    submit_get("/v2/a", &k);
    submit_get("/v2/b", &k);
    dl_gcp_client_cancel(c);
    assert_int_equal(k.failed, 2);
    assert_int_equal(dl_gcp_client_run(c, &err), DL_ECANCELLED);
    assert_int_equal(dl_gcp_client_pending(c), 0);
}

static void test_replay_unmatched(void **state)
{
    struct dl_err err;

    (void)state;
    assert_int_equal(
        dl_gcp_call(c, DL_GCP_RUN, "GET", "/v2/nothing", NULL, NULL, &err),
        DL_EINVALID);
    assert_string_equal(err.msg, "GET /v2/nothing: replay: no response for GET "
                                 "/v2/nothing");
}

struct nested {
    int outer_done, inner_rc;
};

static void nested_done(struct dl_gcp_client *cl, int rc,
                        const struct dl_gcp_response *r,
                        const struct dl_err *err, void *ud)
{
    struct nested *n = ud;
    struct dl_err e2;

    (void)r;
    (void)err;
    assert_int_equal(rc, 0);
    /* A completion callback may make a synchronous call. */
    if (n->outer_done++ == 0)
        n->inner_rc =
            dl_gcp_call(cl, DL_GCP_RUN, "GET", "/v2/inner", NULL, NULL, &e2);
}

static void test_nested_sync_call(void **state)
{
    struct nested n = {0, -1};
    struct dl_gcp_request q;
    struct dl_err err;

    (void)state;
    for (int i = 0; i < 3; i++)
        gcp_test_add(t, "GET", SVC, FIX("run-service.http"));
    gcp_test_add(t, "GET", "/v2/inner", FIX("run-service.http"));
    memset(&q, 0, sizeof(q));
    q.api = DL_GCP_RUN;
    q.path = SVC;
    q.done = nested_done;
    q.ud = &n;
    for (int i = 0; i < 3; i++)
        assert_int_equal(dl_gcp_submit(c, &q, &err), 0);
    assert_int_equal(dl_gcp_client_run(c, &err), 0);
    assert_int_equal(n.outer_done, 3);
    assert_int_equal(n.inner_rc, 0);
    assert_int_equal(dl_http_replay_unused(t), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_body_and_empty_answer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_error_kinds, setup_fast, teardown),
        cmocka_unit_test_setup_teardown(test_401_refreshes_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_429_retry_info, setup, teardown),
        cmocka_unit_test_setup_teardown(test_429_retry_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backoff_grows_with_full_jitter,
                                        setup_fast, teardown),
        cmocka_unit_test_setup_teardown(test_unsafe_not_retried, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_aborted_retried_on_reads, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_truncated_bodies, setup_fast,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_body_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrency_cap, setup_fast,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_unmatched, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nested_sync_call, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
