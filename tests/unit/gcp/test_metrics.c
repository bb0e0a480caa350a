#include "gcp_test.h"

#include "util/buf.h"

static void test_prometheus(void **state)
{
    struct dl_gcp_metrics m;
    struct dl_buf b = DL_BUF_INIT(1 << 16);
    const char *p;

    (void)state;
    memset(&m, 0, sizeof(m));
    m.api[DL_GCP_RUN].attempts = 4;
    m.api[DL_GCP_RUN].retries = 1;
    m.api[DL_GCP_RUN].failures = 1;
    m.api[DL_GCP_RUN].status[0].status = 200;
    m.api[DL_GCP_RUN].status[0].count = 2;
    m.api[DL_GCP_RUN].status[1].status = 503;
    m.api[DL_GCP_RUN].status[1].count = 1;
    m.api[DL_GCP_RUN].status[2].status = 0;
    m.api[DL_GCP_RUN].status[2].count = 1;
    m.api[DL_GCP_RUN].nstatus = 3;
    m.api[DL_GCP_RUN].latency_bucket[0] = 1; /* <= 5 ms */
    m.api[DL_GCP_RUN].latency_bucket[4] = 2; /* <= 100 ms */
    m.api[DL_GCP_RUN].latency_bucket[DL_GCP_LATENCY_BUCKETS - 1] = 1;
    m.api[DL_GCP_RUN].latency_count = 4;
    m.api[DL_GCP_RUN].latency_sum_s = 12.25;
    m.token_refreshes = 3;
    assert_int_equal(dl_gcp_metrics_write_prometheus(&b, &m), 0);
    p = dl_buf_cstr(&b);
    assert_non_null(strstr(p, "# TYPE driftless_gcp_requests_total counter\n"
                              "driftless_gcp_requests_total{api=\"run\","
                              "status=\"200\"} 2\n"
                              "driftless_gcp_requests_total{api=\"run\","
                              "status=\"503\"} 1\n"
                              "driftless_gcp_requests_total{api=\"run\","
                              "status=\"0\"} 1\n"));
    assert_non_null(strstr(p, "driftless_gcp_retries_total{api=\"run\"} 1\n"));
    assert_non_null(
        strstr(p, "driftless_gcp_request_failures_total{api=\"run\"} 1\n"));
    /* cumulative buckets */
    assert_non_null(strstr(p, "_bucket{api=\"run\",le=\"0.005\"} 1\n"));
    assert_non_null(strstr(p, "_bucket{api=\"run\",le=\"0.05\"} 1\n"));
    assert_non_null(strstr(p, "_bucket{api=\"run\",le=\"0.1\"} 3\n"));
    assert_non_null(strstr(p, "_bucket{api=\"run\",le=\"10\"} 3\n"));
    assert_non_null(strstr(p, "_bucket{api=\"run\",le=\"+Inf\"} 4\n"));
    assert_non_null(strstr(p, "_sum{api=\"run\"} 12.250000\n"));
    assert_non_null(strstr(p, "_count{api=\"run\"} 4\n"));
    assert_non_null(strstr(p, "driftless_gcp_token_refreshes_total 3\n"));
    assert_null(strstr(p, "api=\"storage\""));
    dl_buf_dispose(&b);

    /* A buffer too small says so. */
    dl_buf_init(&b, 64);
    assert_int_equal(dl_gcp_metrics_write_prometheus(&b, &m), DL_ELIMIT);
    dl_buf_dispose(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prometheus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
