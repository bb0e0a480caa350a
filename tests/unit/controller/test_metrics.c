/* The metrics registry, its text exposition and the controller families. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/metrics.h"
#include "util/time.h"

static void test_register_validation(void **state)
{
    static const char *const ok[] = {"a", "b"};
    static const char *const dup[] = {"a", "a"};
    static const char *const le[] = {"le"};
    static const char *const under[] = {"__x"};
    static const char *const digit[] = {"1a"};
    static const double inc[] = {1, 2};
    static const double flat[] = {1, 1};
    struct dl_metrics *m = dl_metrics_new();
    struct dl_metric_family *f = NULL;
    struct dl_err err;

    (void)state;
    assert_int_equal(dl_metrics_register(&f, m, DL_METRIC_COUNTER, "bad-name",
                                         "h", NULL, 0, NULL, 0, &err),
                     DL_EINVALID);
    assert_string_equal(err.msg, "invalid metric name \"bad-name\"");
    assert_null(f);
    assert_int_equal(dl_metrics_register(&f, m, DL_METRIC_COUNTER, "9x", "h",
                                         NULL, 0, NULL, 0, &err),
                     DL_EINVALID);
    assert_int_equal(dl_metrics_register(&f, m, DL_METRIC_GAUGE, "x", "h", dup,
                                         2, NULL, 0, &err),
                     DL_EINVALID);
    assert_string_equal(err.msg, "metric \"x\": duplicate label \"a\"");
    assert_int_equal(dl_metrics_register(&f, m, DL_METRIC_HISTOGRAM, "x", "h",
                                         le, 1, inc, 2, &err),
                     DL_EINVALID);
    assert_string_equal(err.msg, "metric \"x\": invalid label name \"le\"");
    assert_int_equal(dl_metrics_register(&f, m, DL_METRIC_GAUGE, "x", "h",
                                         under, 1, NULL, 0, &err),
                     DL_EINVALID);
    assert_int_equal(dl_metrics_register(&f, m, DL_METRIC_GAUGE, "x", "h",
                                         digit, 1, NULL, 0, &err),
                     DL_EINVALID);
    assert_int_equal(dl_metrics_register(&f, m, DL_METRIC_HISTOGRAM, "x", "h",
                                         NULL, 0, flat, 2, &err),
                     DL_EINVALID);
    assert_int_equal(dl_metrics_register(&f, m, DL_METRIC_HISTOGRAM, "x", "h",
                                         NULL, 0, NULL, 0, &err),
                     DL_EINVALID);
    assert_int_equal(dl_metrics_register(&f, m, DL_METRIC_GAUGE, "x", "h", NULL,
                                         0, inc, 2, &err),
                     DL_EINVALID);
    /* "le" is fine outside histograms; colons in names are allowed. */
    assert_int_equal(dl_metrics_register(&f, m, DL_METRIC_GAUGE, "ns:x", "h",
                                         le, 1, NULL, 0, &err),
                     0);
    assert_non_null(f);
    assert_int_equal(dl_metrics_register(&f, m, DL_METRIC_GAUGE, "ns:x", "h",
                                         ok, 2, NULL, 0, &err),
                     DL_EINVALID);
    assert_string_equal(err.msg, "metric \"ns:x\" is already registered");
    dl_metrics_free(m);
}

static void test_type_checks(void **state)
{
    static const char *const l[] = {"k"};
    static const double b[] = {1};
    struct dl_metrics *m = dl_metrics_new();
    struct dl_metric_family *c, *g, *h;
    const char *v[1] = {"a"};
    double x = -1;

    (void)state;
    assert_int_equal(dl_metrics_register(&c, m, DL_METRIC_COUNTER, "c_total",
                                         "", l, 1, NULL, 0, NULL),
                     0);
    assert_int_equal(dl_metrics_register(&g, m, DL_METRIC_GAUGE, "g", "", l, 1,
                                         NULL, 0, NULL),
                     0);
    assert_int_equal(dl_metrics_register(&h, m, DL_METRIC_HISTOGRAM, "h", "",
                                         NULL, 0, b, 1, NULL),
                     0);
    assert_int_equal(dl_metrics_counter_add(c, v, -1), DL_EINVALID);
    assert_int_equal(dl_metrics_counter_add(c, v, (double)NAN), DL_EINVALID);
    assert_int_equal(dl_metrics_gauge_set(c, v, 1), DL_EINVALID);
    assert_int_equal(dl_metrics_counter_add(g, v, 1), DL_EINVALID);
    assert_int_equal(dl_metrics_histogram_observe(g, v, 1), DL_EINVALID);
    assert_int_equal(dl_metrics_histogram_observe(h, NULL, (double)NAN),
                     DL_EINVALID);
    /* Nothing was created by the failed calls. */
    assert_int_equal(dl_metrics_family_size(c), 0);
    assert_int_equal(dl_metrics_get(&x, c, v), DL_ENOTFOUND);
    assert_int_equal(dl_metrics_counter_add(c, v, 2.5), 0);
    assert_int_equal(dl_metrics_counter_add(c, v, 0), 0);
    assert_int_equal(dl_metrics_get(&x, c, v), 0);
    assert_true(x == 2.5);
    assert_int_equal(dl_metrics_gauge_set(g, v, -3), 0);
    assert_int_equal(dl_metrics_gauge_add(g, v, 1), 0);
    assert_int_equal(dl_metrics_get(&x, g, v), 0);
    assert_true(x == -2);
    dl_metrics_family_clear(g);
    assert_int_equal(dl_metrics_family_size(g), 0);
    dl_metrics_free(m);
}

static void test_format_value(void **state)
{
    char b[32];

    (void)state;
    assert_string_equal(dl_metrics_format_value(b, sizeof(b), 0), "0");
    assert_string_equal(dl_metrics_format_value(b, sizeof(b), 0.1), "0.1");
    assert_string_equal(dl_metrics_format_value(b, sizeof(b), 42), "42");
    assert_string_equal(dl_metrics_format_value(b, sizeof(b), 1e300), "1e+300");
    assert_string_equal(dl_metrics_format_value(b, sizeof(b), -2.5), "-2.5");
    assert_string_equal(dl_metrics_format_value(b, sizeof(b), (double)INFINITY),
                        "+Inf");
    assert_string_equal(
        dl_metrics_format_value(b, sizeof(b), -(double)INFINITY), "-Inf");
    assert_string_equal(dl_metrics_format_value(b, sizeof(b), (double)NAN),
                        "NaN");
    /* 1/3 needs 17 digits to read back exactly. */
    dl_metrics_format_value(b, sizeof(b), 1.0 / 3);
    assert_true(strtod(b, NULL) == 1.0 / 3);
    dl_metrics_format_value(b, sizeof(b), 1767225600.123);
    assert_true(strtod(b, NULL) == 1767225600.123);
}

static void test_render_exact(void **state)
{
    static const char *const l[] = {"path", "code"};
    static const double b[] = {0.5, 1};
    struct dl_metrics *m = dl_metrics_new();
    struct dl_metric_family *c, *h, *g;
    struct dl_buf out = DL_BUF_INIT(DL_BUF_NOCAP);
    const char *v1[2] = {"b\\\"x\ny", "200"};
    const char *v2[2] = {"a", "500"};

    (void)state;
    assert_int_equal(dl_metrics_register(&c, m, DL_METRIC_COUNTER, "req_total",
                                         "Requests \\ by\npath", l, 2, NULL, 0,
                                         NULL),
                     0);
    assert_int_equal(dl_metrics_register(&h, m, DL_METRIC_HISTOGRAM, "lat",
                                         "Latency", NULL, 0, b, 2, NULL),
                     0);
    assert_int_equal(dl_metrics_register(&g, m, DL_METRIC_GAUGE, "empty",
                                         "No series", NULL, 0, NULL, 0, NULL),
                     0);
    assert_int_equal(dl_metrics_counter_add(c, v1, 3), 0);
    assert_int_equal(dl_metrics_counter_add(c, v2, 1), 0);
    assert_int_equal(dl_metrics_histogram_observe(h, NULL, 0.25), 0);
    assert_int_equal(dl_metrics_histogram_observe(h, NULL, 0.5), 0);
    assert_int_equal(dl_metrics_histogram_observe(h, NULL, 0.75), 0);
    assert_int_equal(dl_metrics_histogram_observe(h, NULL, 7), 0);
    assert_int_equal(dl_metrics_render(&out, m), 0);
    assert_string_equal(dl_buf_cstr(&out),
                        "# HELP req_total Requests \\\\ by\\npath\n"
                        "# TYPE req_total counter\n"
                        "req_total{path=\"a\",code=\"500\"} 1\n"
                        "req_total{path=\"b\\\\\\\"x\\ny\",code=\"200\"} 3\n"
                        "# HELP lat Latency\n"
                        "# TYPE lat histogram\n"
                        "lat_bucket{le=\"0.5\"} 2\n"
                        "lat_bucket{le=\"1\"} 3\n"
                        "lat_bucket{le=\"+Inf\"} 4\n"
                        "lat_sum 8.5\n"
                        "lat_count 4\n"
                        "# HELP empty No series\n"
                        "# TYPE empty gauge\n");
    dl_buf_dispose(&out);

    /* A capped buffer reports DL_ELIMIT. */
    dl_buf_init(&out, 40);
    assert_int_equal(dl_metrics_render(&out, m), DL_ELIMIT);
    dl_buf_dispose(&out);
    dl_metrics_free(m);
}

static void test_series_cap(void **state)
{
    static const char *const l[] = {"id"};
    struct dl_metrics *m = dl_metrics_new();
    struct dl_metric_family *g;
    char id[16];
    const char *v[1] = {id};

    (void)state;
    assert_int_equal(dl_metrics_register(&g, m, DL_METRIC_GAUGE, "g", "", l, 1,
                                         NULL, 0, NULL),
                     0);
    for (int i = 0; i < DL_METRICS_MAX_SERIES; i++) {
        snprintf(id, sizeof(id), "%d", i);
        assert_int_equal(dl_metrics_gauge_set(g, v, i), 0);
    }
    snprintf(id, sizeof(id), "new");
    assert_int_equal(dl_metrics_gauge_set(g, v, 1), DL_ELIMIT);
    /* Existing series still update. */
    snprintf(id, sizeof(id), "7");
    assert_int_equal(dl_metrics_gauge_set(g, v, 70), 0);
    assert_int_equal(dl_metrics_family_size(g), DL_METRICS_MAX_SERIES);
    dl_metrics_free(m);
}

struct thr {
    struct dl_metric_family *c;
    struct dl_metrics *m;
};

static void *bump(void *arg)
{
    struct thr *t = arg;
    const char *v[1] = {"x"};

    for (int i = 0; i < 2000; i++) {
        (void)dl_metrics_counter_add(t->c, v, 1);
        if (i % 500 == 0) {
            struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);

            (void)dl_metrics_render(&b, t->m);
            dl_buf_dispose(&b);
        }
    }
    return NULL;
}

static void test_threads(void **state)
{
    static const char *const l[] = {"k"};
    struct dl_metrics *m = dl_metrics_new();
    struct thr t;
    pthread_t th[4];
    const char *v[1] = {"x"};
    double x = 0;

    (void)state;
    t.m = m;
    assert_int_equal(dl_metrics_register(&t.c, m, DL_METRIC_COUNTER, "c", "", l,
                                         1, NULL, 0, NULL),
                     0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, bump, &t), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(dl_metrics_get(&x, t.c, v), 0);
    assert_true(x == 8000);
    dl_metrics_free(m);
}

static double get3(struct dl_metric_family *f, const char *a, const char *b,
                   const char *c)
{
    const char *v[3] = {a, b, c};
    double x = -1;

    if (dl_metrics_get(&x, f, v) != 0)
        return -1;
    return x;
}

static void test_controller_families(void **state)
{
    struct dl_controller_metrics cm;
    struct dl_plan *p = dl_plan_new();
    struct dl_plan_resource *r;
    struct dl_buf out = DL_BUF_INIT(DL_BUF_NOCAP);
    const char *ok[1] = {"success"};
    const char *err[1] = {"error"};
    const char *c1[1] = {"abc"};
    const char *c2[1] = {"def"};
    const char *api[2] = {"run", "200"};
    const char *apie[2] = {"run", "error"};
    const char *chg[2] = {"CloudRunService", "update"};
    double x = 0;

    (void)state;
    dl_metrics_controller_init(&cm);
    r = dl_plan_add_resource(p, "p1", "CloudRunService", "a");
    r->status = DL_PLAN_STATUS_DRIFTED;
    r->action = DL_PLAN_ACTION_REPORT;
    dl_plan_add_resource(p, "p1", "CloudRunService", "b");
    dl_plan_add_resource(p, "p1", "CloudRunService", "c");
    r = dl_plan_add_resource(p, "p2", "IAMPolicyMember", "m");
    r->status = DL_PLAN_STATUS_MISSING;
    r->action = DL_PLAN_ACTION_REPORT;
    r = dl_plan_add_resource(p, "p1", "FirestoreCollectionPolicy", "hb");
    dl_plan_resource_hygiene(r)->violating = 105623;
    dl_plan_resource_hygiene(r)->total = 106349;
    r = dl_plan_add_resource(p, "p1", "BigQueryTablePolicy", "staging");
    dl_plan_resource_hygiene(r)->violating = 0;
    r = dl_plan_add_resource(p, "p2", "StorageBucketPolicy", "denied");
    dl_plan_resource_hygiene(r);
    dl_plan_resource_set_error(r, "HTTP 403 PERMISSION_DENIED: no");
    dl_metrics_controller_set_plan(&cm, p);
    assert_true(get3(cm.hygiene_violating, "p1", "FirestoreCollectionPolicy",
                     "hb") == 105623);
    assert_true(get3(cm.hygiene_violating, "p1", "BigQueryTablePolicy",
                     "staging") == 0);
    /* In error: unknown, so no series (an alert must not read 0). */
    assert_true(get3(cm.hygiene_violating, "p2", "StorageBucketPolicy",
                     "denied") == -1);
    assert_int_equal(dl_metrics_family_size(cm.hygiene_violating), 2);
    assert_true(get3(cm.resources, "p1", "CloudRunService", "in_sync") == 2);
    assert_true(get3(cm.resources, "p1", "CloudRunService", "drifted") == 1);
    assert_true(get3(cm.resources, "p1", "CloudRunService", "missing") == 0);
    assert_true(get3(cm.resources, "p1", "CloudRunService", "error") == 0);
    assert_true(get3(cm.resources, "p2", "IAMPolicyMember", "missing") == 1);
    assert_int_equal(dl_metrics_family_size(cm.resources), 20);

    /* A new plan without p2 drops its series; p1's drift went to 0. */
    dl_plan_free(p);
    p = dl_plan_new();
    dl_plan_add_resource(p, "p1", "CloudRunService", "a");
    dl_metrics_controller_set_plan(&cm, p);
    assert_true(get3(cm.resources, "p1", "CloudRunService", "drifted") == 0);
    assert_true(get3(cm.resources, "p1", "CloudRunService", "in_sync") == 1);
    assert_true(get3(cm.resources, "p2", "IAMPolicyMember", "missing") == -1);
    assert_int_equal(dl_metrics_family_size(cm.resources), 4);
    /* The hygiene series of resources gone from the plan are gone. */
    assert_int_equal(dl_metrics_family_size(cm.hygiene_violating), 0);

    dl_metrics_controller_record_pass(&cm, "success", 3 * DL_NS_PER_SEC,
                                      INT64_C(1767225600500000000));
    dl_metrics_controller_record_pass(&cm, "error", 200 * DL_NS_PER_MS,
                                      INT64_C(1767225700000000000));
    assert_int_equal(dl_metrics_get(&x, cm.passes, ok), 0);
    assert_true(x == 1);
    assert_int_equal(dl_metrics_get(&x, cm.passes, err), 0);
    assert_true(x == 1);
    assert_int_equal(dl_metrics_get(&x, cm.pass_duration, NULL), 0);
    assert_true(x == 2); /* the histogram's count */
    assert_int_equal(dl_metrics_get(&x, cm.last_success, NULL), 0);
    assert_true(x == 1767225600.5); /* the failed pass did not move it */

    dl_metrics_controller_set_commit(&cm, "abc");
    dl_metrics_controller_set_commit(&cm, "def");
    assert_int_equal(dl_metrics_get(&x, cm.source_commit, c1), DL_ENOTFOUND);
    assert_int_equal(dl_metrics_get(&x, cm.source_commit, c2), 0);
    assert_true(x == 1);

    dl_metrics_controller_count_request(&cm, "run", 200);
    dl_metrics_controller_count_request(&cm, "run", 200);
    dl_metrics_controller_count_request(&cm, "run", 0);
    assert_int_equal(dl_metrics_get(&x, cm.api_requests, api), 0);
    assert_true(x == 2);
    assert_int_equal(dl_metrics_get(&x, cm.api_requests, apie), 0);
    assert_true(x == 1);
    dl_metrics_controller_count_changes(&cm, "CloudRunService", "update", 3);
    dl_metrics_controller_count_changes(&cm, "CloudRunService", "update", 0);
    assert_int_equal(dl_metrics_get(&x, cm.changes_applied, chg), 0);
    assert_true(x == 3);
    dl_metrics_controller_set_documents(&cm, "p1", "heartbeats", 106349);

    assert_int_equal(dl_metrics_render(&out, cm.registry), 0);
    assert_non_null(strstr(dl_buf_cstr(&out),
                           "# TYPE driftless_pass_duration_seconds histogram\n"
                           "driftless_pass_duration_seconds_bucket{le=\"0.5\"} "
                           "1\n"));
    assert_non_null(strstr(dl_buf_cstr(&out),
                           "driftless_pass_duration_seconds_bucket{le=\"+Inf\"}"
                           " 2\ndriftless_pass_duration_seconds_sum 3.2\n"));
    assert_non_null(strstr(dl_buf_cstr(&out),
                           "driftless_firestore_documents{project=\"p1\","
                           "collection=\"heartbeats\"} 106349\n"));
    assert_non_null(strstr(dl_buf_cstr(&out),
                           "driftless_source_commit_info{commit=\"def\"} 1\n"));
    assert_non_null(
        strstr(dl_buf_cstr(&out), "# TYPE driftless_passes_total counter\n"));
    dl_buf_dispose(&out);
    dl_plan_free(p);
    dl_metrics_controller_dispose(&cm);
    assert_null(cm.registry);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_validation),
        cmocka_unit_test(test_type_checks),
        cmocka_unit_test(test_format_value),
        cmocka_unit_test(test_render_exact),
        cmocka_unit_test(test_series_cap),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_controller_families),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
