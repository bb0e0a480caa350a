/*
 * Unit tests of src/provider/hygiene.c: classification of documents
 * (pattern, staleness, over-limit order), tables and buckets, caps, and
 * the plan's hygiene block.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plan/plan_json.h"
#include "provider/hygiene.h"
#include "util/buf.h"
#include "util/time.h"

#define NOW (INT64_C(1780000000) * DL_NS_PER_SEC)
#define DAY (INT64_C(86400) * DL_NS_PER_SEC)

static void compile(struct dl_pattern *p, const char *src)
{
    char re[256];

    snprintf(re, sizeof(re), "^(%s)$", src);
    assert_int_equal(regcomp(&p->re, re, REG_EXTENDED | REG_NOSUB), 0);
    p->compiled = 1;
    p->source = NULL;
}

static char name_hb[] = "hb";

static void fs_resource(struct dl_resource *r, const char *pattern,
                        const char *field, int64_t age)
{
    memset(r, 0, sizeof(*r));
    r->kind = DL_KIND_FIRESTORE_COLLECTION_POLICY;
    r->name = name_hb;
    r->spec.firestore.collection = name_hb;
    r->spec.firestore.max_documents = DL_UNSET;
    r->spec.firestore.stale_age_ns = DL_UNSET;
    r->spec.firestore.max_deletes_per_run = DL_UNSET;
    if (pattern)
        compile(&r->spec.firestore.id_pattern, pattern);
    if (field) {
        r->spec.firestore.stale_field = (char *)(uintptr_t)field;
        r->spec.firestore.stale_age_ns = age;
    }
}

static void release(struct dl_pattern *p)
{
    if (p->compiled)
        regfree(&p->re);
    p->compiled = 0;
}

/* Is id among o's kept objects (with these reasons)? */
static int kept(const struct dl_hygiene_obs *o, const char *id,
                unsigned reasons)
{
    for (size_t i = 0; i < o->nobjs; i++)
        if (!strcmp(dl_hygiene_id(o, i), id))
            return o->objs[i].reasons == reasons;
    return 0;
}

static void test_id_pattern_and_samples(void **state)
{
    struct dl_hygiene_state st = {0};
    struct dl_resource r;
    struct dl_hygiene_fs c;
    struct dl_hygiene_obs *o;
    char id[64];

    (void)state;
    fs_resource(&r, "[a-z][a-z0-9]*(_[a-z][a-z0-9]*)*", NULL, 0);
    o = dl_hygiene_state_add(&st, &r, DL_UNSET, DL_UNSET);
    dl_hygiene_fs_init(&c, o, &r.spec.firestore, NOW);
    for (int i = 0; i < 15; i++) {
        snprintf(id, sizeof(id), "nba_phase3_analytics_20260201_%06d", i);
        dl_hygiene_fs_add(&c, id, 0, 0, NOW - i);
    }
    dl_hygiene_fs_add(&c, "nba_phase3_analytics", 0, 0, NOW);
    dl_hygiene_fs_add(&c, "Upper", 0, 0, NOW);
    dl_hygiene_fs_dispose(&c);
    assert_int_equal(o->total, 17);
    assert_int_equal(o->id_format, 16);
    assert_int_equal(o->violating, 16);
    assert_int_equal(o->stale + o->over_limit, 0);
    assert_int_equal(o->nsamples, DL_PLAN_MAX_SAMPLES);
    assert_string_equal(o->samples[0], "nba_phase3_analytics_20260201_000000");
    assert_string_equal(o->samples[9], "nba_phase3_analytics_20260201_000009");
    assert_int_equal(o->nobjs, 16);
    assert_true(kept(o, "Upper", DL_HYGIENE_ID_FORMAT));
    assert_false(kept(o, "nba_phase3_analytics", DL_HYGIENE_ID_FORMAT));
    /* The updateTime travels with the kept ID (apply's precondition). */
    assert_string_equal(dl_hygiene_id(o, 3),
                        "nba_phase3_analytics_20260201_000003");
    assert_int_equal(o->objs[3].time_ns, NOW - 3);
    assert_int_equal(o->cap, DL_PLAN_DEFAULT_MAX_DELETES);
    assert_int_equal(o->cap_is_default, 1);
    dl_hygiene_state_dispose(&st);
    release(&r.spec.firestore.id_pattern);
}

static void test_staleness(void **state)
{
    struct dl_hygiene_state st = {0};
    struct dl_resource r;
    struct dl_hygiene_fs c;
    struct dl_hygiene_obs *o;

    (void)state;
    fs_resource(&r, "[a-z]+", "last_heartbeat", 7 * DAY);
    o = dl_hygiene_state_add(&st, &r, DL_UNSET, DL_UNSET);
    dl_hygiene_fs_init(&c, o, &r.spec.firestore, NOW);
    dl_hygiene_fs_add(&c, "fresh", 1, NOW - DAY, 1);
    dl_hygiene_fs_add(&c, "edge", 1, NOW - 7 * DAY, 2); /* exactly 7d: no */
    dl_hygiene_fs_add(&c, "old", 1, NOW - 7 * DAY - 1, 3);
    dl_hygiene_fs_add(&c, "nofield", 0, 0, 4);
    dl_hygiene_fs_add(&c, "bad_1", 1, NOW - 30 * DAY, 5); /* both */
    dl_hygiene_fs_dispose(&c);
    assert_int_equal(o->total, 5);
    assert_int_equal(o->stale, 2);
    assert_int_equal(o->id_format, 1);
    assert_int_equal(o->violating, 2); /* bad_1 counted once */
    assert_int_equal(o->no_timestamp, 1);
    assert_true(kept(o, "old", DL_HYGIENE_STALE));
    assert_true(kept(o, "bad_1", DL_HYGIENE_STALE | DL_HYGIENE_ID_FORMAT));
    assert_false(kept(o, "nofield", DL_HYGIENE_STALE));
    dl_hygiene_state_dispose(&st);
    release(&r.spec.firestore.id_pattern);
}

static void test_over_limit_by_time(void **state)
{
    struct dl_hygiene_state st = {0};
    struct dl_resource r;
    struct dl_hygiene_fs c;
    struct dl_hygiene_obs *o;
    /* name order; ages in days (all fresh: age < 30d) */
    const char *ids[] = {"a", "b", "c", "d", "e", "f", "g"};
    const int64_t age[] = {5, 1, 9, 2, 3, 8, 1};

    (void)state;
    fs_resource(&r, NULL, "seen", 30 * DAY);
    r.spec.firestore.max_documents = 3;
    o = dl_hygiene_state_add(&st, &r, DL_UNSET, 3);
    dl_hygiene_fs_init(&c, o, &r.spec.firestore, NOW);
    for (size_t i = 0; i < 7; i++)
        dl_hygiene_fs_add(&c, ids[i], 1, NOW - age[i] * DAY, (int64_t)i);
    dl_hygiene_fs_add(&c, "h", 0, 0, 7); /* no timestamp: the oldest */
    dl_hygiene_fs_dispose(&c);
    /* Kept: the 3 newest, b (1d), g (1d), d (2d); over: the other 5. */
    assert_int_equal(o->total, 8);
    assert_int_equal(o->over_limit, 5);
    assert_int_equal(o->violating, 5);
    for (const char *const *p =
             (const char *const[]){"a", "c", "e", "f", "h", NULL};
         *p; p++)
        assert_true(kept(o, *p, DL_HYGIENE_OVER_LIMIT));
    assert_false(kept(o, "b", DL_HYGIENE_OVER_LIMIT));
    assert_false(kept(o, "g", DL_HYGIENE_OVER_LIMIT));
    assert_false(kept(o, "d", DL_HYGIENE_OVER_LIMIT));
    dl_hygiene_state_dispose(&st);
}

static void test_over_limit_by_name_and_zero(void **state)
{
    struct dl_hygiene_state st = {0};
    struct dl_resource r;
    struct dl_hygiene_fs c;
    struct dl_hygiene_obs *o, *z;
    char id[16];

    (void)state;
    fs_resource(&r, NULL, NULL, 0);
    o = dl_hygiene_state_add(&st, &r, DL_UNSET, 2);
    dl_hygiene_fs_init(&c, o, &r.spec.firestore, NOW);
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof(id), "d%d", i);
        dl_hygiene_fs_add(&c, id, 0, 0, i);
    }
    dl_hygiene_fs_dispose(&c);
    /* Without staleAfter the last names are kept. */
    assert_int_equal(o->over_limit, 3);
    assert_true(kept(o, "d0", DL_HYGIENE_OVER_LIMIT));
    assert_true(kept(o, "d2", DL_HYGIENE_OVER_LIMIT));
    assert_false(kept(o, "d3", DL_HYGIENE_OVER_LIMIT));

    z = dl_hygiene_state_add(&st, &r, DL_UNSET, 0);
    dl_hygiene_fs_init(&c, z, &r.spec.firestore, NOW);
    dl_hygiene_fs_add(&c, "x", 0, 0, 0);
    dl_hygiene_fs_add(&c, "y", 0, 0, 0);
    dl_hygiene_fs_dispose(&c);
    assert_int_equal(z->over_limit, 2);
    dl_hygiene_state_dispose(&st);
}

static void test_cap_and_fill(void **state)
{
    struct dl_hygiene_state st = {0};
    struct dl_resource r;
    struct dl_hygiene_fs c;
    struct dl_hygiene_obs *o;
    struct dl_plan *plan = dl_plan_new();
    struct dl_plan_resource *pr, *rep;
    struct dl_err err;
    char id[16];

    (void)state;
    fs_resource(&r, "ok[0-9]+", NULL, 0);
    o = dl_hygiene_state_add(&st, &r, 4, 10);
    dl_hygiene_fs_init(&c, o, &r.spec.firestore, NOW);
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof(id), "%s%02d", i < 6 ? "bad" : "ok", i);
        dl_hygiene_fs_add(&c, id, 0, 0, i);
    }
    dl_hygiene_fs_dispose(&c);
    /* 6 bad IDs; 14 valid, 10 allowed: 4 over the limit. */
    assert_int_equal(o->violating, 10);
    assert_int_equal(o->nobjs, 4); /* only what one run deletes is kept */
    assert_int_equal(o->cap, 4);
    assert_int_equal(o->cap_is_default, 0);

    pr = dl_plan_add_resource(plan, "p", "FirestoreCollectionPolicy", "hb");
    pr->mode = DL_PLAN_MODE_ENFORCE;
    dl_hygiene_fill(pr, o, "documents", DL_PLAN_ACTION_DELETE);
    assert_int_equal(pr->status, DL_PLAN_STATUS_DRIFTED);
    assert_int_equal(pr->action, DL_PLAN_ACTION_DELETE);
    assert_int_equal(pr->hygiene->planned_deletes, 4);
    assert_int_equal(pr->hygiene->over_limit, 4);
    assert_int_equal(pr->hygiene->id_format, 6);
    /* 20 - 4 deleted - 10 allowed */
    assert_int_equal(pr->hygiene->still_over_limit_after, 6);
    assert_string_equal(pr->hygiene->unit, "documents");

    rep = dl_plan_add_resource(plan, "p", "FirestoreCollectionPolicy", "r");
    rep->mode = DL_PLAN_MODE_REPORT;
    dl_hygiene_fill(rep, o, "documents", DL_PLAN_ACTION_DELETE);
    assert_int_equal(rep->action, DL_PLAN_ACTION_REPORT);
    assert_int_equal(rep->hygiene->planned_deletes, 0);
    assert_int_equal(rep->hygiene->still_over_limit_after, 10);
    assert_int_equal(dl_plan_check(plan, &err), 0);

    /* The plan apply re-reads keeps every hygiene figure. */
    {
        struct dl_buf j = DL_BUF_INIT(DL_BUF_NOCAP);
        struct dl_plan *back = NULL;
        const struct dl_plan_resource *b;

        json_object_set_new(pr->preconditions, "observed_documents",
                            json_integer(20));
        assert_int_equal(dl_plan_to_json(plan, &j, &err), 0);
        assert_int_equal(dl_plan_from_json(&back, dl_buf_cstr(&j), j.len, &err),
                         0);
        b = dl_plan_find(back, "p/FirestoreCollectionPolicy/hb");
        assert_non_null(b);
        assert_non_null(b->hygiene);
        assert_int_equal(b->hygiene->planned_deletes, 4);
        assert_int_equal(b->hygiene->violating, 10);
        assert_int_equal(b->hygiene->over_limit, 4);
        assert_int_equal(b->hygiene->id_format, 6);
        assert_int_equal(b->hygiene->still_over_limit_after, 6);
        assert_int_equal(b->hygiene->cap, 4);
        assert_int_equal(b->hygiene->nsamples, DL_PLAN_MAX_SAMPLES);
        assert_int_equal(json_integer_value(json_object_get(
                             b->preconditions, "observed_documents")),
                         20);
        dl_plan_free(back);
        dl_buf_dispose(&j);
    }
    dl_plan_free(plan);
    dl_hygiene_state_dispose(&st);
    release(&r.spec.firestore.id_pattern);
}

static void test_default_cap_in_sync_and_error(void **state)
{
    struct dl_hygiene_state st = {0};
    struct dl_resource r;
    struct dl_hygiene_obs *o, *ok, *bad;
    struct dl_plan *plan = dl_plan_new();
    struct dl_plan_resource *pr;
    struct dl_err err;
    char id[32];

    (void)state;
    fs_resource(&r, NULL, NULL, 0);
    o = dl_hygiene_state_add(&st, &r, DL_UNSET, DL_UNSET);
    for (int i = 0; i < 1200; i++) {
        snprintf(id, sizeof(id), "x%d", i);
        dl_hygiene_obs_violation(o, id, 0, 0, DL_HYGIENE_ID_FORMAT);
    }
    o->total = o->id_format = 1200;
    pr = dl_plan_add_resource(plan, "p", "K", "a");
    pr->mode = DL_PLAN_MODE_ENFORCE;
    dl_hygiene_fill(pr, o, "documents", DL_PLAN_ACTION_DELETE);
    assert_int_equal(pr->hygiene->cap, DL_PLAN_DEFAULT_MAX_DELETES);
    assert_int_equal(pr->hygiene->cap_is_default, 1);
    assert_int_equal(pr->hygiene->planned_deletes, 1000);
    assert_int_equal(o->nobjs, 1000);
    assert_int_equal(pr->hygiene->still_over_limit_after, 0); /* no max */

    ok = dl_hygiene_state_add(&st, &r, DL_UNSET, 5);
    ok->total = 5;
    pr = dl_plan_add_resource(plan, "p", "K", "b");
    pr->mode = DL_PLAN_MODE_ENFORCE;
    dl_hygiene_fill(pr, ok, "documents", DL_PLAN_ACTION_DELETE);
    assert_int_equal(pr->status, DL_PLAN_STATUS_IN_SYNC);
    assert_int_equal(pr->action, DL_PLAN_ACTION_NONE);
    assert_int_equal(pr->hygiene->total, 5);

    bad = dl_hygiene_state_add(&st, &r, DL_UNSET, DL_UNSET);
    dl_err_set(&err, DL_ENOTFOUND, "Not found: Dataset p:d");
    dl_hygiene_obs_fail(bad, DL_ENOTFOUND, &err, "listing tables of \"d\"");
    dl_hygiene_obs_fail(bad, DL_ERROR, &err, "second"); /* ignored */
    pr = dl_plan_add_resource(plan, "p", "K", "c");
    dl_hygiene_fill(pr, bad, "tables", DL_PLAN_ACTION_DELETE);
    assert_int_equal(pr->status, DL_PLAN_STATUS_ERROR);
    assert_string_equal(pr->error,
                        "listing tables of \"d\": Not found: Dataset p:d");
    assert_null(pr->hygiene);
    assert_int_equal(dl_plan_check(plan, &err), 0);
    dl_plan_free(plan);
    dl_hygiene_state_dispose(&st);
}

static void test_doc_timestamp(void **state)
{
    json_t *f = json_loads(
        "{\"a\": {\"timestampValue\": \"2026-02-01T18:30:12.5Z\"},"
        " \"s\": {\"stringValue\": \"2026-02-01T18:30:12Z\"},"
        " \"m\": {\"mapValue\": {\"fields\": {\"t\": {\"timestampValue\":"
        " \"2026-02-01T00:00:00Z\"}}}},"
        " \"bad\": {\"timestampValue\": \"yesterday\"}}",
        0, NULL);
    int64_t t = 0, want;
    struct dl_err err;

    (void)state;
    assert_non_null(f);
    assert_int_equal(dl_hygiene_doc_timestamp(&t, f, "a"), 1);
    assert_int_equal(
        dl_time_parse_rfc3339(&want, "2026-02-01T18:30:12.5Z", &err), 0);
    assert_int_equal(t, want);
    assert_int_equal(dl_hygiene_doc_timestamp(&t, f, "m.t"), 1);
    assert_int_equal(dl_hygiene_doc_timestamp(&t, f, "s"), 0);
    assert_int_equal(dl_hygiene_doc_timestamp(&t, f, "bad"), 0);
    assert_int_equal(dl_hygiene_doc_timestamp(&t, f, "nope"), 0);
    assert_int_equal(dl_hygiene_doc_timestamp(&t, f, "m.x"), 0);
    assert_int_equal(dl_hygiene_doc_timestamp(&t, NULL, "a"), 0);
    json_decref(f);
}

static void test_tables(void **state)
{
    struct dl_hygiene_state st = {0};
    struct dl_resource r;
    struct dl_hygiene_obs *o, *all;
    int64_t now_ms = NOW / DL_NS_PER_MS, day_ms = DAY / DL_NS_PER_MS;

    (void)state;
    memset(&r, 0, sizeof(r));
    r.kind = DL_KIND_BIGQUERY_TABLE_POLICY;
    compile(&r.spec.bigquery.table_pattern, "_?staging_.*");
    r.spec.bigquery.older_than_ns = 7 * DAY;
    o = dl_hygiene_state_add(&st, &r, 100, DL_UNSET);
    dl_hygiene_bq_classify(o, "staging_a", 1, now_ms - 8 * day_ms, NOW);
    dl_hygiene_bq_classify(o, "_staging_b", 1, now_ms - 30 * day_ms, NOW);
    dl_hygiene_bq_classify(o, "staging_new", 1, now_ms - day_ms, NOW);
    dl_hygiene_bq_classify(o, "staging_edge", 1, now_ms - 7 * day_ms, NOW);
    dl_hygiene_bq_classify(o, "staging_unknown", 0, 0, NOW);
    dl_hygiene_bq_classify(o, "facts", 1, 0, NOW);
    assert_int_equal(o->total, 5);
    assert_int_equal(o->stale, 2);
    assert_int_equal(o->violating, 2);
    assert_true(kept(o, "_staging_b", DL_HYGIENE_STALE));
    assert_int_equal(o->objs[0].time_ns, (now_ms - 8 * day_ms) * DL_NS_PER_MS);

    r.spec.bigquery.older_than_ns = DL_UNSET;
    all = dl_hygiene_state_add(&st, &r, DL_UNSET, DL_UNSET);
    dl_hygiene_bq_classify(all, "staging_new", 1, now_ms, NOW);
    dl_hygiene_bq_classify(all, "staging_unknown", 0, 0, NOW);
    assert_int_equal(all->violating, 2);
    dl_hygiene_state_dispose(&st);
    release(&r.spec.bigquery.table_pattern);
}

static void test_buckets(void **state)
{
    struct dl_hygiene_state st = {0};
    struct dl_resource r;
    struct dl_hygiene_obs *o;

    (void)state;
    memset(&r, 0, sizeof(r));
    r.kind = DL_KIND_STORAGE_BUCKET_POLICY;
    compile(&r.spec.bucket.bucket_pattern, "nba-.*");
    o = dl_hygiene_state_add(&st, &r, DL_UNSET, DL_UNSET);
    dl_hygiene_bucket_classify(o, "nba-a", 1, 3);
    dl_hygiene_bucket_classify(o, "nba-b", 0, 1);
    dl_hygiene_bucket_classify(o, "other", 1, 1);
    assert_int_equal(o->total, 2);
    assert_int_equal(o->empty, 1);
    assert_int_equal(o->violating, 1);
    assert_true(kept(o, "nba-a", DL_HYGIENE_EMPTY));
    assert_int_equal(o->objs[0].version, 3);
    assert_ptr_equal(dl_hygiene_state_find(&st, &r), o);
    dl_hygiene_state_dispose(&st);
    assert_null(dl_hygiene_state_find(&st, &r));
    release(&r.spec.bucket.bucket_pattern);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_pattern_and_samples),
        cmocka_unit_test(test_staleness),
        cmocka_unit_test(test_over_limit_by_time),
        cmocka_unit_test(test_over_limit_by_name_and_zero),
        cmocka_unit_test(test_cap_and_fill),
        cmocka_unit_test(test_default_cap_in_sync_and_error),
        cmocka_unit_test(test_doc_timestamp),
        cmocka_unit_test(test_tables),
        cmocka_unit_test(test_buckets),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
