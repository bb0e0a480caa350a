/* The plan object: enums, builder, summary, sorting, consistency checks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan/plan.h"
#include "util/alloc.h"

static void test_enum_names(void **state)
{
    static const char *const modes[] = {"report", "enforce"};
    static const char *const statuses[] = {"in_sync", "drifted", "missing",
                                           "error"};
    static const char *const actions[] = {"none", "create", "update", "delete",
                                          "report"};
    enum dl_plan_mode m;
    enum dl_plan_status s;
    enum dl_plan_action a;

    (void)state;
    for (int i = 0; i < 2; i++) {
        assert_string_equal(dl_plan_mode_name((enum dl_plan_mode)i), modes[i]);
        assert_int_equal(dl_plan_mode_parse(&m, modes[i]), 0);
        assert_int_equal(m, i);
    }
    for (int i = 0; i < 4; i++) {
        assert_string_equal(dl_plan_status_name((enum dl_plan_status)i),
                            statuses[i]);
        assert_int_equal(dl_plan_status_parse(&s, statuses[i]), 0);
        assert_int_equal(s, i);
    }
    for (int i = 0; i < 5; i++) {
        assert_string_equal(dl_plan_action_name((enum dl_plan_action)i),
                            actions[i]);
        assert_int_equal(dl_plan_action_parse(&a, actions[i]), 0);
        assert_int_equal(a, i);
    }
    a = DL_PLAN_ACTION_UPDATE;
    assert_int_equal(dl_plan_action_parse(&a, "Update"), DL_EINVALID);
    assert_int_equal(dl_plan_action_parse(&a, ""), DL_EINVALID);
    assert_int_equal(dl_plan_action_parse(&a, NULL), DL_EINVALID);
    assert_int_equal(a, DL_PLAN_ACTION_UPDATE);
    assert_int_equal(dl_plan_status_parse(&s, "orphan"), DL_EINVALID);
    assert_int_equal(dl_plan_mode_parse(&m, "dry-run"), DL_EINVALID);
    assert_string_equal(dl_plan_action_name((enum dl_plan_action)42), "?");
}

static struct dl_plan_resource *add(struct dl_plan *p, const char *name,
                                    enum dl_plan_status st,
                                    enum dl_plan_action ac)
{
    struct dl_plan_resource *r =
        dl_plan_add_resource(p, "proj", "CloudRunService", name);

    r->mode = DL_PLAN_MODE_ENFORCE;
    r->status = st;
    r->action = ac;
    return r;
}

static void test_builder(void **state)
{
    struct dl_plan *p = dl_plan_new();
    struct dl_plan_resource *r;

    (void)state;
    assert_string_equal(p->source.url, "");
    dl_plan_set_source(p, "https://x/r.git", "main", NULL, "ds", 7);
    assert_string_equal(p->source.url, "https://x/r.git");
    assert_string_equal(p->source.commit, "");
    assert_int_equal(p->source.dirty, 1);
    r = dl_plan_add_resource(p, "proj", "IAMPolicyMember", "writer");
    assert_string_equal(r->address, "proj/IAMPolicyMember/writer");
    assert_int_equal(r->mode, DL_PLAN_MODE_REPORT);
    assert_int_equal(r->status, DL_PLAN_STATUS_IN_SYNC);
    assert_int_equal(r->action, DL_PLAN_ACTION_NONE);
    assert_true(json_is_object(r->preconditions));
    assert_string_equal(r->defined_file, "");
    dl_plan_resource_set_defined_at(r, "ds/iam.yaml", 14, "abc");
    assert_string_equal(r->defined_file, "ds/iam.yaml");
    assert_int_equal(r->defined_line, 14);
    assert_string_equal(r->defined_in_commit, "abc");
    dl_plan_resource_add_note(r, "note %d of %s", 1, "two");
    assert_int_equal(r->nnotes, 1);
    assert_string_equal(r->notes[0], "note 1 of two");
    dl_plan_resource_set_error(r, "HTTP %d", 403);
    assert_int_equal(r->status, DL_PLAN_STATUS_ERROR);
    assert_string_equal(r->error, "HTTP 403");
    /* Many resources: pointers stay valid as the array grows. */
    for (int i = 0; i < 40; i++) {
        char name[16];

        snprintf(name, sizeof(name), "s%02d", 39 - i);
        add(p, name, DL_PLAN_STATUS_IN_SYNC, DL_PLAN_ACTION_NONE);
    }
    assert_string_equal(r->address, "proj/IAMPolicyMember/writer");
    assert_int_equal(p->nresources, 41);
    dl_plan_free(p);
    dl_plan_free(NULL);
}

static void test_sensitive_dropped(void **state)
{
    struct dl_plan *p = dl_plan_new();
    struct dl_plan_resource *r =
        add(p, "a", DL_PLAN_STATUS_DRIFTED, DL_PLAN_ACTION_UPDATE);

    (void)state;
    dl_plan_resource_add_change(r, "env.K", json_string("s3cret"), NULL, 1);
    dl_plan_resource_add_change(r, "env.L", NULL, json_integer(5), 1);
    dl_plan_resource_add_change(r, "env.M", json_string("plain"),
                                json_string("text"), 0);
    assert_int_equal(r->nchanges, 3);
    assert_string_equal(json_string_value(r->changes[0].before),
                        DL_PLAN_SENSITIVE);
    assert_null(r->changes[0].after);
    assert_null(r->changes[1].before);
    assert_string_equal(json_string_value(r->changes[1].after),
                        DL_PLAN_SENSITIVE);
    assert_int_equal(r->changes[1].sensitive, 1);
    assert_string_equal(json_string_value(r->changes[2].before), "plain");
    assert_int_equal(r->changes[2].sensitive, 0);
    dl_plan_free(p);
}

static void test_hygiene_samples(void **state)
{
    struct dl_plan *p = dl_plan_new();
    struct dl_plan_resource *r = dl_plan_add_resource(
        p, "proj", "FirestoreCollectionPolicy", "heartbeats");
    struct dl_plan_hygiene *h = dl_plan_resource_hygiene(r);

    (void)state;
    assert_ptr_equal(dl_plan_resource_hygiene(r), h);
    assert_int_equal(h->cap, DL_PLAN_DEFAULT_MAX_DELETES);
    assert_int_equal(h->cap_is_default, 1);
    assert_string_equal(h->unit, "objects");
    dl_plan_hygiene_set_unit(h, "documents");
    assert_string_equal(h->unit, "documents");
    for (int i = 0; i < DL_PLAN_MAX_SAMPLES; i++)
        assert_int_equal(dl_plan_hygiene_add_sample(h, "id"), 1);
    assert_int_equal(dl_plan_hygiene_add_sample(h, "more"), 0);
    assert_int_equal(h->nsamples, DL_PLAN_MAX_SAMPLES);
    dl_plan_free(p);
}

static void test_summary_and_changes(void **state)
{
    struct dl_plan *p = dl_plan_new();
    struct dl_plan_resource *r;
    struct dl_plan_summary s;

    (void)state;
    add(p, "sync", DL_PLAN_STATUS_IN_SYNC, DL_PLAN_ACTION_NONE);
    add(p, "rep", DL_PLAN_STATUS_DRIFTED, DL_PLAN_ACTION_REPORT);
    assert_false(dl_plan_has_changes(p));
    assert_false(dl_plan_has_errors(p));
    dl_plan_resource_set_error(
        add(p, "err", DL_PLAN_STATUS_IN_SYNC, DL_PLAN_ACTION_NONE), "x");
    assert_false(dl_plan_has_changes(p));
    assert_true(dl_plan_has_errors(p));
    add(p, "new", DL_PLAN_STATUS_MISSING, DL_PLAN_ACTION_CREATE);
    assert_true(dl_plan_has_changes(p));
    add(p, "upd", DL_PLAN_STATUS_DRIFTED, DL_PLAN_ACTION_UPDATE);
    add(p, "orphan", DL_PLAN_STATUS_DRIFTED, DL_PLAN_ACTION_DELETE)->orphan = 1;
    r = add(p, "hyg", DL_PLAN_STATUS_DRIFTED, DL_PLAN_ACTION_DELETE);
    dl_plan_resource_hygiene(r)->planned_deletes = 105623;
    dl_plan_summarize(p, &s);
    assert_int_equal(s.resources, 7);
    assert_int_equal(s.in_sync, 1);
    assert_int_equal(s.create, 1);
    assert_int_equal(s.update, 1);
    assert_int_equal(s.delete, 105624); /* one orphan + the documents */
    assert_int_equal(s.report, 1);
    assert_int_equal(s.error, 1);
    dl_plan_free(p);

    p = dl_plan_new();
    add(p, "x", DL_PLAN_STATUS_DRIFTED, DL_PLAN_ACTION_DELETE);
    assert_true(dl_plan_has_changes(p));
    dl_plan_free(p);
}

static void test_sort(void **state)
{
    struct dl_plan *p = dl_plan_new();
    const struct dl_plan_resource **v;

    (void)state;
    assert_null(dl_plan_sorted(p));
    add(p, "b", DL_PLAN_STATUS_IN_SYNC, DL_PLAN_ACTION_NONE);
    add(p, "a", DL_PLAN_STATUS_IN_SYNC, DL_PLAN_ACTION_NONE);
    add(p, "B", DL_PLAN_STATUS_IN_SYNC, DL_PLAN_ACTION_NONE);
    v = dl_plan_sorted(p);
    assert_string_equal(v[0]->name, "B");
    assert_string_equal(v[1]->name, "a");
    assert_string_equal(v[2]->name, "b");
    assert_string_equal(p->resources[0]->name, "b"); /* p untouched */
    free(v);
    assert_ptr_equal(dl_plan_find(p, "proj/CloudRunService/a"),
                     p->resources[1]);
    assert_null(dl_plan_find(p, "proj/CloudRunService/c"));
    dl_plan_sort(p);
    assert_string_equal(p->resources[0]->name, "B");
    assert_string_equal(p->resources[2]->name, "b");
    dl_plan_free(p);
}

/* Each inconsistency, with its exact message. */
static void test_check(void **state)
{
    struct dl_plan *p = dl_plan_new();
    struct dl_plan_resource *r;
    struct dl_plan_hygiene *h;
    struct dl_err err;

    (void)state;
    assert_int_equal(dl_plan_check(p, &err), 0);
    add(p, "ok", DL_PLAN_STATUS_IN_SYNC, DL_PLAN_ACTION_NONE);
    r = add(p, "r", DL_PLAN_STATUS_DRIFTED, DL_PLAN_ACTION_UPDATE);
    assert_int_equal(dl_plan_check(p, &err), 0);

#define EXPECT(want)                                                           \
    do {                                                                       \
        assert_int_equal(dl_plan_check(p, &err), DL_EINVALID);                 \
        assert_string_equal(err.msg, want);                                    \
    } while (0)

    r->status = DL_PLAN_STATUS_IN_SYNC;
    EXPECT("resources[1] (proj/CloudRunService/r): status 'in_sync' does not "
           "allow action 'update'");
    r->status = DL_PLAN_STATUS_MISSING;
    EXPECT("resources[1] (proj/CloudRunService/r): status 'missing' does not "
           "allow action 'update'");
    r->status = DL_PLAN_STATUS_DRIFTED;
    r->mode = DL_PLAN_MODE_REPORT;
    EXPECT("resources[1] (proj/CloudRunService/r): mode 'report' does not "
           "allow action 'update'");
    r->action = DL_PLAN_ACTION_REPORT;
    assert_int_equal(dl_plan_check(p, &err), 0);
    r->status = DL_PLAN_STATUS_ERROR;
    r->action = DL_PLAN_ACTION_NONE;
    EXPECT("resources[1] (proj/CloudRunService/r): status 'error' needs an "
           "error message");
    dl_plan_resource_set_error(r, "boom");
    assert_int_equal(dl_plan_check(p, &err), 0);
    r->status = DL_PLAN_STATUS_DRIFTED;
    r->action = DL_PLAN_ACTION_REPORT;
    EXPECT("resources[1] (proj/CloudRunService/r): an error message needs "
           "status 'error'");
    free(r->error);
    r->error = NULL;
    r->orphan = 1;
    assert_int_equal(dl_plan_check(p, &err), 0);
    r->status = DL_PLAN_STATUS_MISSING;
    EXPECT("resources[1] (proj/CloudRunService/r): an orphan must have status "
           "'drifted'");
    r->orphan = 0;
    r->status = DL_PLAN_STATUS_IN_SYNC;
    r->action = DL_PLAN_ACTION_NONE;
    dl_plan_resource_add_change(r, "x", json_integer(1), json_integer(2), 0);
    EXPECT("resources[1] (proj/CloudRunService/r): status 'in_sync' must have "
           "no changes");
    r->status = DL_PLAN_STATUS_DRIFTED;
    r->action = DL_PLAN_ACTION_REPORT;
    dl_plan_resource_set_defined_at(r, "f.yaml", 0, "");
    EXPECT("resources[1] (proj/CloudRunService/r): defined_at line 0 is not "
           "positive");
    dl_plan_resource_set_defined_at(r, "f.yaml", 3, "");

    /* Hygiene numbers. */
    r->action = DL_PLAN_ACTION_DELETE;
    r->mode = DL_PLAN_MODE_ENFORCE;
    h = dl_plan_resource_hygiene(r);
    EXPECT("resources[1] (proj/CloudRunService/r): hygiene planned_deletes 0 "
           "does not fit action 'delete'");
    h->total = 10;
    h->violating = 11;
    EXPECT("resources[1] (proj/CloudRunService/r): hygiene violating 11 is "
           "more than total 10");
    h->violating = 5;
    h->stale = 6;
    EXPECT("resources[1] (proj/CloudRunService/r): hygiene violating.stale 6 "
           "is not within 0..5");
    h->stale = 5;
    h->planned_deletes = 6;
    EXPECT("resources[1] (proj/CloudRunService/r): hygiene planned_deletes 6 "
           "is more than violating 5 or cap 1000");
    h->planned_deletes = 5;
    assert_int_equal(dl_plan_check(p, &err), 0);
    h->cap = 0;
    EXPECT("resources[1] (proj/CloudRunService/r): hygiene cap 0 is less "
           "than 1");
    h->cap = 4;
    EXPECT("resources[1] (proj/CloudRunService/r): hygiene planned_deletes 5 "
           "is more than violating 5 or cap 4");
    h->cap = 1000;
    h->total = -1;
    EXPECT("resources[1] (proj/CloudRunService/r): hygiene counts must not be "
           "negative");
    h->total = 10;
    r->action = DL_PLAN_ACTION_REPORT;
    EXPECT("resources[1] (proj/CloudRunService/r): hygiene planned_deletes 5 "
           "does not fit action 'report'");
    h->planned_deletes = 0;
    assert_int_equal(dl_plan_check(p, &err), 0);

    /* Addresses. */
    add(p, "ok", DL_PLAN_STATUS_IN_SYNC, DL_PLAN_ACTION_NONE);
    EXPECT("duplicate resource address 'proj/CloudRunService/ok'");
    free(p->resources[2]->name);
    p->resources[2]->name = dl_strdup("other");
    EXPECT("resources[2] (proj/CloudRunService/ok): address does not match "
           "'proj/CloudRunService/other'");
    dl_plan_add_resource(p, "a/b", "K", "n");
    assert_int_equal(dl_plan_check(p, &err), DL_EINVALID);
    assert_non_null(strstr(err.msg, "resources[2]")); /* first bad one */
#undef EXPECT
    dl_plan_free(p);

    p = dl_plan_new();
    dl_plan_add_resource(p, "a/b", "K", "n");
    assert_int_equal(dl_plan_check(p, &err), DL_EINVALID);
    assert_string_equal(err.msg, "resources[0] (a/b/K/n): project, kind and "
                                 "name must be non-empty, project and kind "
                                 "without '/'");
    dl_plan_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enum_names),
        cmocka_unit_test(test_builder),
        cmocka_unit_test(test_sensitive_dropped),
        cmocka_unit_test(test_hygiene_samples),
        cmocka_unit_test(test_summary_and_changes),
        cmocka_unit_test(test_sort),
        cmocka_unit_test(test_check),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
