/* The status model: updates from plans and passes, JSON, HTML, escaping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/status.h"
#include "util/time.h"

#define T0 INT64_C(1767225600000000000) /* 2026-01-01T00:00:00Z */

static struct dl_plan *sample_plan(enum dl_plan_status ingest_status)
{
    struct dl_plan *p = dl_plan_new();
    struct dl_plan_resource *r;
    struct dl_plan_hygiene *h;

    dl_plan_set_source(p, "https://git.example/acme.git", "main",
                       "e1c10e88a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4",
                       "desired-state", 0);
    p->created_at = T0;
    r = dl_plan_add_resource(p, "acme-data", "CloudRunService", "phase-ingest");
    r->status = ingest_status;
    if (ingest_status == DL_PLAN_STATUS_DRIFTED) {
        r->action = DL_PLAN_ACTION_UPDATE;
        r->mode = DL_PLAN_MODE_ENFORCE;
        dl_plan_resource_add_change(r, "image", json_string("a"),
                                    json_string("b"), 0);
        dl_plan_resource_add_change(r, "env.API_KEY", json_string("x"),
                                    json_string("y"), 1);
    }
    r = dl_plan_add_resource(p, "acme-data", "FirestoreCollectionPolicy",
                             "heartbeats");
    r->status = DL_PLAN_STATUS_DRIFTED;
    r->action = DL_PLAN_ACTION_REPORT;
    h = dl_plan_resource_hygiene(r);
    dl_plan_hygiene_set_unit(h, "documents");
    h->total = 106349;
    h->violating = 106349;
    r = dl_plan_add_resource(p, "acme-ml", "IAMPolicyMember", "broken");
    dl_plan_resource_set_error(r, "permission denied on\nproject");
    return p;
}

static json_t *render_json(struct dl_status *s, int64_t now)
{
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    json_error_t jerr;
    json_t *j;

    assert_int_equal(dl_status_render_json(&b, s, now), 0);
    j = json_loads(dl_buf_cstr(&b), JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        fail_msg("status JSON does not parse: %s: %s", jerr.text,
                 dl_buf_cstr(&b));
    dl_buf_dispose(&b);
    return j;
}

static json_t *find_res(json_t *root, const char *address)
{
    size_t i;
    json_t *r;

    json_array_foreach(json_object_get(root, "resources"), i, r)
    {
        if (strcmp(json_string_value(json_object_get(r, "address")), address) ==
            0)
            return r;
    }
    return NULL;
}

static void test_empty(void **state)
{
    struct dl_status *s = dl_status_new(0, 0);
    json_t *j;
    char reason[128];
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);

    (void)state;
    j = render_json(s, T0);
    assert_true(json_is_null(json_object_get(j, "last_pass")));
    assert_true(json_is_null(json_object_get(j, "last_plan")));
    assert_int_equal(json_array_size(json_object_get(j, "resources")), 0);
    assert_string_equal(json_string_value(json_object_get(j, "generated_at")),
                        "2026-01-01T00:00:00Z");
    json_decref(j);
    assert_int_equal(dl_status_ready(s, T0, 0, reason, sizeof(reason)), 0);
    assert_string_equal(reason, "no pass has succeeded yet");
    assert_int_equal(dl_status_render_html(&b, s, T0), 0);
    assert_non_null(strstr(dl_buf_cstr(&b), "No resources yet."));
    dl_buf_dispose(&b);
    dl_status_free(s);
    dl_status_free(NULL);
}

static void test_update_and_json(void **state)
{
    struct dl_status *s = dl_status_new(3, 4);
    struct dl_plan *p = sample_plan(DL_PLAN_STATUS_IN_SYNC);
    struct dl_status_pass pass = {0};
    json_t *j, *r, *pj;

    (void)state;
    dl_status_set_info(s, "https://git.example/acme.git", "main", 1, 3,
                       "enforce", "0.1.0");
    dl_status_set_project(s, "acme-ml", 1, "held by replica-2");
    dl_status_update_plan(s, p, T0);
    j = render_json(s, T0 + DL_NS_PER_SEC);
    assert_int_equal(json_integer_value(
                         json_object_get(json_object_get(j, "shard"), "count")),
                     3);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(j, "source"), "commit")),
                        "e1c10e88a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4");
    assert_int_equal(
        json_integer_value(json_object_get(
            json_object_get(json_object_get(j, "last_plan"), "summary"),
            "resources")),
        3);
    assert_int_equal(json_array_size(json_object_get(j, "resources")), 3);
    /* Sorted by address. */
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(j, "resources"), 0), "address")),
        "acme-data/CloudRunService/phase-ingest");
    r = find_res(j, "acme-ml/IAMPolicyMember/broken");
    assert_non_null(r);
    assert_string_equal(json_string_value(json_object_get(r, "status")),
                        "error");
    assert_string_equal(json_string_value(json_object_get(r, "message")),
                        "permission denied on project");
    r = find_res(j, "acme-data/FirestoreCollectionPolicy/heartbeats");
    assert_string_equal(json_string_value(json_object_get(r, "message")),
                        "106349 documents, 106349 violating, 0 to delete");
    assert_string_equal(json_string_value(json_object_get(r, "last_change")),
                        "2026-01-01T00:00:00Z");
    /* Projects: counts, and the flags set before the plan are kept. */
    pj = json_array_get(json_object_get(j, "projects"), 1);
    assert_string_equal(json_string_value(json_object_get(pj, "id")),
                        "acme-ml");
    assert_true(json_is_true(json_object_get(pj, "suspended")));
    assert_string_equal(json_string_value(json_object_get(pj, "lease")),
                        "held by replica-2");
    assert_int_equal(json_integer_value(json_object_get(pj, "error")), 1);
    pj = json_array_get(json_object_get(j, "projects"), 0);
    assert_int_equal(json_integer_value(json_object_get(pj, "in_sync")), 1);
    assert_int_equal(json_integer_value(json_object_get(pj, "drifted")), 1);
    json_decref(j);
    dl_plan_free(p);

    /* Next plan: ingest drifted. Its last_change moves, heartbeats' not. */
    p = sample_plan(DL_PLAN_STATUS_DRIFTED);
    dl_status_update_plan(s, p, T0 + 60 * DL_NS_PER_SEC);
    j = render_json(s, T0 + 61 * DL_NS_PER_SEC);
    r = find_res(j, "acme-data/CloudRunService/phase-ingest");
    assert_string_equal(json_string_value(json_object_get(r, "last_change")),
                        "2026-01-01T00:01:00Z");
    assert_string_equal(json_string_value(json_object_get(r, "message")),
                        "2 changes: image, env.API_KEY");
    assert_string_equal(json_string_value(json_object_get(r, "action")),
                        "update");
    r = find_res(j, "acme-data/FirestoreCollectionPolicy/heartbeats");
    assert_string_equal(json_string_value(json_object_get(r, "last_change")),
                        "2026-01-01T00:00:00Z");
    assert_int_equal(json_array_size(json_object_get(j, "drift")), 2);
    assert_int_equal(
        json_integer_value(json_object_get(
            json_array_get(json_object_get(j, "drift"), 1), "drifted")),
        2);
    json_decref(j);

    dl_status_mark_applied(s, "acme-data/CloudRunService/phase-ingest",
                           T0 + 90 * DL_NS_PER_SEC, "updated to\nrevision 7");
    dl_status_mark_applied(s, "nope/X/y", T0, "ignored");

    /* Passes: a ring of 3, newest first. */
    for (int i = 0; i < 5; i++) {
        pass.started_at = T0 + i * 100 * DL_NS_PER_SEC;
        pass.duration_ns = 1500 * DL_NS_PER_MS;
        pass.result = i == 4 ? DL_PASS_ERROR : DL_PASS_SUCCESS;
        pass.changes_applied = i;
        snprintf(pass.commit, sizeof(pass.commit), "c%d", i);
        snprintf(pass.message, sizeof(pass.message), "%s",
                 i == 4 ? "git fetch failed;\nkept c3" : "");
        dl_status_record_pass(s, &pass);
    }
    j = render_json(s, T0);
    assert_int_equal(json_array_size(json_object_get(j, "passes")), 3);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(j, "passes"), 0), "commit")),
        "c4");
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(j, "passes"), 2), "commit")),
        "c2");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(j, "last_pass"), "message")),
                        "git fetch failed; kept c3");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(j, "last_pass"), "result")),
                        "error");
    assert_true(json_real_value(json_object_get(json_object_get(j, "last_pass"),
                                                "duration_seconds")) == 1.5);
    r = find_res(j, "acme-data/CloudRunService/phase-ingest");
    assert_string_equal(json_string_value(json_object_get(r, "message")),
                        "updated to revision 7");
    assert_string_equal(json_string_value(json_object_get(r, "last_change")),
                        "2026-01-01T00:01:30Z");
    json_decref(j);
    dl_plan_free(p);
    dl_status_free(s);
}

static void test_ready(void **state)
{
    struct dl_status *s = dl_status_new(0, 0);
    struct dl_status_pass pass = {0};
    char reason[128];

    (void)state;
    pass.started_at = T0;
    pass.duration_ns = 10 * DL_NS_PER_SEC;
    pass.result = DL_PASS_ERROR;
    dl_status_record_pass(s, &pass);
    assert_int_equal(dl_status_ready(s, T0, 0, reason, sizeof(reason)), 0);
    pass.result = DL_PASS_SUCCESS;
    dl_status_record_pass(s, &pass);
    assert_int_equal(dl_status_ready(s, T0 + 20 * DL_NS_PER_SEC,
                                     60 * DL_NS_PER_SEC, reason,
                                     sizeof(reason)),
                     1);
    assert_string_equal(reason, "");
    assert_int_equal(dl_status_ready(s, T0 + 600 * DL_NS_PER_SEC,
                                     60 * DL_NS_PER_SEC, reason,
                                     sizeof(reason)),
                     0);
    assert_string_equal(reason, "last successful pass ended 9m50s ago");
    {
        struct dl_status_readiness rd = {.status = s, .max_age_ns = 0};
        char why[64] = "x";

        /* The callback form uses the wall clock: no age limit here. */
        assert_int_equal(dl_status_readyz(&rd, why, sizeof(why)), 1);
        assert_string_equal(why, "");
        rd.max_age_ns = 1; /* T0 is long past */
        assert_int_equal(dl_status_readyz(&rd, why, sizeof(why)), 0);
        assert_non_null(strstr(why, "last successful pass ended "));
    }
    /* A later failure does not make a recent success stale. */
    pass.result = DL_PASS_ERROR;
    dl_status_record_pass(s, &pass);
    assert_int_equal(dl_status_ready(s, T0 + 20 * DL_NS_PER_SEC,
                                     60 * DL_NS_PER_SEC, reason,
                                     sizeof(reason)),
                     1);
    dl_status_free(s);
}

static void test_html_escape(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"plain", "plain"},
        {"<script>alert('x')</script>",
         "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"},
        {"a&b\"c", "a&amp;b&quot;c"},
        {"caf\xc3\xa9", "caf\xc3\xa9"},
        {"bad\xff", "bad\xef\xbf\xbd"},
        {"trunc\xe2\x82", "trunc\xef\xbf\xbd\xef\xbf\xbd"},
        {"rlo\xe2\x80\xaex", "rlo\xef\xbf\xbdx"},
        {"c1\xc2\x85x", "c1\xef\xbf\xbdx"},
        {"bell\x07", "bell\xef\xbf\xbd"},
        {"tab\tnl\n", "tab\tnl\n"},
        {"emoji\xf0\x9f\x98\x80", "emoji\xf0\x9f\x98\x80"},
    };
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dl_buf_reset(&b);
        assert_int_equal(dl_status_html_escape(&b, cases[i].in), 0);
        assert_string_equal(dl_buf_cstr(&b), cases[i].out);
    }
    dl_buf_dispose(&b);
}

static void test_html_page(void **state)
{
    struct dl_status *s = dl_status_new(0, 0);
    struct dl_plan *p = sample_plan(DL_PLAN_STATUS_DRIFTED);
    struct dl_plan_resource *r;
    struct dl_status_pass pass = {0};
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    const char *html;

    (void)state;
    r = dl_plan_add_resource(p, "acme-data", "CloudRunService",
                             "<img src=x onerror=alert(1)>");
    r->status = DL_PLAN_STATUS_MISSING;
    r->action = DL_PLAN_ACTION_REPORT;
    dl_status_set_info(s, "https://git.example/\"acme\".git", "main", 0, 1,
                       "report", "0.1.0");
    dl_status_update_plan(s, p, T0);
    dl_status_update_plan(s, p, T0 + DL_NS_PER_SEC);
    pass.started_at = T0;
    pass.duration_ns = 2 * DL_NS_PER_SEC;
    pass.result = DL_PASS_PARTIAL;
    snprintf(pass.message, sizeof(pass.message), "1 error <b>");
    dl_status_record_pass(s, &pass);
    assert_int_equal(dl_status_render_html(&b, s, T0), 0);
    html = dl_buf_cstr(&b);
    assert_non_null(strstr(html, "<!DOCTYPE html>"));
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "<img"));
    assert_non_null(strstr(html, "acme-data/CloudRunService/&lt;img src=x "
                                 "onerror=alert(1)&gt;"));
    assert_non_null(strstr(html, "https://git.example/&quot;acme&quot;.git"));
    assert_non_null(strstr(html, "acme-data/CloudRunService/phase-ingest"));
    assert_non_null(strstr(html, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert_non_null(strstr(html, "3 drifted, 1 errors, 4 resources"));
    assert_non_null(strstr(html, "1 error &lt;b&gt;"));
    assert_non_null(strstr(html, "<td class=\"partial\">partial</td>"));
    assert_non_null(strstr(html, "<td class=\"error\">error</td>"));
    assert_non_null(strstr(html, "id=\"summary\""));
    assert_non_null(strstr(html, "</html>"));
    /* A capped buffer is DL_ELIMIT, not a crash. */
    dl_buf_dispose(&b);
    dl_buf_init(&b, 100);
    assert_int_equal(dl_status_render_html(&b, s, T0), DL_ELIMIT);
    dl_buf_dispose(&b);
    dl_plan_free(p);
    dl_status_free(s);
}

static void test_invalid_utf8_json(void **state)
{
    struct dl_status *s = dl_status_new(0, 0);
    struct dl_plan *p = dl_plan_new();
    json_t *j;

    (void)state;
    dl_plan_add_resource(p, "pr\xffoj", "Kind", "n\"a\\me");
    dl_status_update_plan(s, p, T0);
    j = render_json(s, T0); /* parses: invalid bytes were replaced */
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(j, "resources"), 0), "name")),
        "n\"a\\me");
    json_decref(j);
    dl_plan_free(p);
    dl_status_free(s);
}

static void test_projects_pruned(void **state)
{
    struct dl_status *s = dl_status_new(0, 0);
    struct dl_plan *p = sample_plan(DL_PLAN_STATUS_IN_SYNC);
    struct dl_plan *only = dl_plan_new();
    json_t *j, *projects;

    (void)state;
    dl_plan_add_resource(only, "acme-data", "CloudRunService", "x");
    dl_status_update_plan(s, p, T0);
    dl_status_set_project(s, "flagged", 0, "held");
    dl_status_update_plan(s, only, T0);
    j = render_json(s, T0);
    projects = json_object_get(j, "projects");
    /* acme-ml left the plan and had no flags; "flagged" has a lease. */
    assert_int_equal(json_array_size(projects), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(projects, 0), "id")),
        "acme-data");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(projects, 1), "id")),
        "flagged");
    json_decref(j);
    dl_plan_free(only);
    dl_plan_free(p);
    dl_status_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_update_and_json),
        cmocka_unit_test(test_ready),
        cmocka_unit_test(test_html_escape),
        cmocka_unit_test(test_html_page),
        cmocka_unit_test(test_invalid_utf8_json),
        cmocka_unit_test(test_projects_pruned),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
