/*
 * metrics.c - the client's counters in Prometheus text format, for the
 * controller's /metrics.
 */
#include <math.h>

#include "gcp/gcp.h"
#include "util/buf.h"

static int family(struct dl_buf *b, const char *name, const char *type,
                  const char *help)
{
    return dl_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
                         type);
}

int dl_gcp_metrics_write_prometheus(struct dl_buf *b,
                                    const struct dl_gcp_metrics *m)
{
    int rc = 0;

    rc |= family(b, "driftless_gcp_requests_total", "counter",
                 "HTTP attempts to Google APIs by API and status (0: no "
                 "response).");
    for (int i = 0; i < DL_GCP_API_COUNT; i++) {
        const struct dl_gcp_api_metrics *a = &m->api[i];

        for (size_t k = 0; k < a->nstatus; k++)
            rc |= dl_buf_printf(
                b,
                "driftless_gcp_requests_total{api=\"%s\",status=\"%d\"} "
                "%llu\n",
                dl_gcp_api_name(i), a->status[k].status,
                (unsigned long long)a->status[k].count);
    }
    rc |= family(b, "driftless_gcp_retries_total", "counter",
                 "Attempts that retried a failed one.");
    for (int i = 0; i < DL_GCP_API_COUNT; i++)
        if (m->api[i].attempts)
            rc |= dl_buf_printf(b,
                                "driftless_gcp_retries_total{api=\"%s\"} "
                                "%llu\n",
                                dl_gcp_api_name(i),
                                (unsigned long long)m->api[i].retries);
    rc |= family(b, "driftless_gcp_request_failures_total", "counter",
                 "Requests that ended in an error after their retries.");
    for (int i = 0; i < DL_GCP_API_COUNT; i++)
        if (m->api[i].attempts)
            rc |= dl_buf_printf(
                b, "driftless_gcp_request_failures_total{api=\"%s\"} %llu\n",
                dl_gcp_api_name(i), (unsigned long long)m->api[i].failures);
    rc |= family(b, "driftless_gcp_throttled_total", "counter",
                 "Times the client-side rate limit delayed a request.");
    for (int i = 0; i < DL_GCP_API_COUNT; i++)
        if (m->api[i].attempts)
            rc |= dl_buf_printf(
                b, "driftless_gcp_throttled_total{api=\"%s\"} %llu\n",
                dl_gcp_api_name(i), (unsigned long long)m->api[i].throttled);
    rc |= family(b, "driftless_gcp_request_duration_seconds", "histogram",
                 "Duration of HTTP attempts to Google APIs.");
    for (int i = 0; i < DL_GCP_API_COUNT; i++) {
        const struct dl_gcp_api_metrics *a = &m->api[i];
        unsigned long long cum = 0;

        if (!a->latency_count)
            continue;
        for (int k = 0; k < DL_GCP_LATENCY_BUCKETS; k++) {
            cum += a->latency_bucket[k];
            if (isinf(dl_gcp_latency_bounds[k]))
                rc |= dl_buf_printf(b,
                                    "driftless_gcp_request_duration_seconds_"
                                    "bucket{api=\"%s\",le=\"+Inf\"} %llu\n",
                                    dl_gcp_api_name(i), cum);
            else
                rc |= dl_buf_printf(b,
                                    "driftless_gcp_request_duration_seconds_"
                                    "bucket{api=\"%s\",le=\"%g\"} %llu\n",
                                    dl_gcp_api_name(i),
                                    dl_gcp_latency_bounds[k], cum);
        }
        rc |= dl_buf_printf(
            b,
            "driftless_gcp_request_duration_seconds_sum{api=\"%s\"} %.6f\n"
            "driftless_gcp_request_duration_seconds_count{api=\"%s\"} %llu\n",
            dl_gcp_api_name(i), a->latency_sum_s, dl_gcp_api_name(i),
            (unsigned long long)a->latency_count);
    }
    rc |= family(b, "driftless_gcp_token_refreshes_total", "counter",
                 "Access tokens fetched.");
    rc |= dl_buf_printf(b, "driftless_gcp_token_refreshes_total %llu\n",
                        (unsigned long long)m->token_refreshes);
    rc |= family(b, "driftless_gcp_token_failures_total", "counter",
                 "Failed token fetches.");
    rc |= dl_buf_printf(b, "driftless_gcp_token_failures_total %llu\n",
                        (unsigned long long)m->token_failures);
    return rc ? DL_ELIMIT : 0;
}
