/*
 * Unit tests of the saved-plan guards (src/apply/saved.c) and of the
 * confirmation question (src/apply/confirm.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "apply/confirm.h"
#include "apply/saved.h"
#include "util/time.h"

#define COMMIT "0123456789abcdef0123456789abcdef01234567"
#define HOUR (INT64_C(3600) * DL_NS_PER_SEC)
#define NOW (INT64_C(1800000000) * DL_NS_PER_SEC)

static struct dl_plan *plan_at(int64_t created, int dirty, const char *commit)
{
    struct dl_plan *p = dl_plan_new();

    dl_plan_set_source(p, "repo", "main", commit, "desired-state", dirty);
    p->created_at = created;
    return p;
}

static struct dl_plan_resource *add(struct dl_plan *p, const char *kind,
                                    const char *name,
                                    enum dl_plan_action action,
                                    const char *etag, int64_t generation)
{
    struct dl_plan_resource *r = dl_plan_add_resource(p, "p", kind, name);

    r->mode = DL_PLAN_MODE_ENFORCE;
    r->action = action;
    r->status = action == DL_PLAN_ACTION_NONE ? DL_PLAN_STATUS_IN_SYNC
                                              : DL_PLAN_STATUS_DRIFTED;
    if (etag)
        json_object_set_new(r->preconditions, "etag", json_string(etag));
    if (generation >= 0)
        json_object_set_new(r->preconditions, "generation",
                            json_integer(generation));
    return r;
}

static void test_fresh_plan_accepted(void **state)
{
    struct dl_plan *p = plan_at(NOW - 23 * HOUR, 0, COMMIT);
    struct dl_err err;

    (void)state;
    assert_int_equal(dl_apply_check_saved(p, NOW, 24 * HOUR, &err), 0);
    dl_plan_free(p);
}

static void test_old_plan_refused(void **state)
{
    struct dl_plan *p = plan_at(NOW - 25 * HOUR, 0, COMMIT);
    struct dl_err err;

    (void)state;
    assert_int_equal(dl_apply_check_saved(p, NOW, 24 * HOUR, &err),
                     DL_EINVALID);
    assert_string_equal(err.msg, "the plan is 1d1h old, older than "
                                 "--plan-max-age 1d: plan again");
    /* A shorter --plan-max-age refuses a younger plan too. */
    dl_plan_free(p);
    p = plan_at(NOW - 2 * HOUR, 0, COMMIT);
    assert_int_equal(dl_apply_check_saved(p, NOW, HOUR, &err), DL_EINVALID);
    assert_non_null(strstr(err.msg, "older than --plan-max-age 1h"));
    dl_plan_free(p);
    p = plan_at(NOW + 2 * HOUR, 0, COMMIT);
    assert_int_equal(dl_apply_check_saved(p, NOW, 24 * HOUR, &err),
                     DL_EINVALID);
    assert_non_null(strstr(err.msg, "dated in the future"));
    dl_plan_free(p);
}

static void test_dirty_or_commitless_refused(void **state)
{
    struct dl_plan *p = plan_at(NOW, 1, COMMIT);
    struct dl_err err;

    (void)state;
    assert_int_equal(dl_apply_check_saved(p, NOW, 24 * HOUR, &err),
                     DL_EINVALID);
    assert_string_equal(err.msg,
                        "the plan was made from a work tree with uncommitted "
                        "changes: it cannot be reproduced at commit '" COMMIT
                        "'; plan again from a clean tree");
    dl_plan_free(p);
    p = plan_at(NOW, 0, "");
    assert_int_equal(dl_apply_check_saved(p, NOW, 24 * HOUR, &err),
                     DL_EINVALID);
    assert_non_null(strstr(err.msg, "not made from a git commit"));
    dl_plan_free(p);
    p = plan_at(NOW, 0, COMMIT);
    dl_plan_resource_set_error(dl_plan_add_resource(p, "p", "K", "x"), "boom");
    assert_int_equal(dl_apply_check_saved(p, NOW, 24 * HOUR, &err),
                     DL_EINVALID);
    assert_non_null(strstr(err.msg, "resources in error"));
    dl_plan_free(p);
}

static void test_preconditions_match(void **state)
{
    struct dl_plan *s = plan_at(NOW, 0, COMMIT), *f = plan_at(NOW, 0, COMMIT);
    struct dl_buf why = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_err err;

    (void)state;
    add(s, "CloudRunService", "api", DL_PLAN_ACTION_UPDATE, "\"e1\"", 7);
    add(f, "CloudRunService", "api", DL_PLAN_ACTION_UPDATE, "\"e1\"", 7);
    add(s, "IAMPolicyMember", "m", DL_PLAN_ACTION_CREATE, "BwX", -1);
    add(f, "IAMPolicyMember", "m", DL_PLAN_ACTION_CREATE, "BwX", -1);
    /* Resources the saved plan does not change are not compared. */
    add(s, "CloudRunService", "web", DL_PLAN_ACTION_NONE, "a", 1);
    add(f, "CloudRunService", "web", DL_PLAN_ACTION_NONE, "b", 2);
    assert_int_equal(dl_apply_compare_plans(s, f, &why, &err), 0);
    assert_int_equal(why.len, 0);
    dl_buf_dispose(&why);
    dl_plan_free(s);
    dl_plan_free(f);
}

static void test_preconditions_moved(void **state)
{
    struct dl_plan *s = plan_at(NOW, 0, COMMIT), *f = plan_at(NOW, 0, COMMIT);
    struct dl_buf why = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_err err;
    struct dl_plan_resource *r;

    (void)state;
    add(s, "CloudRunService", "api", DL_PLAN_ACTION_UPDATE, "e1", 7);
    add(f, "CloudRunService", "api", DL_PLAN_ACTION_UPDATE, "e2", 8);
    add(s, "IAMPolicyMember", "m", DL_PLAN_ACTION_CREATE, "BwX", -1);
    add(f, "IAMPolicyMember", "m", DL_PLAN_ACTION_CREATE, "BwY", -1);
    add(s, "CloudRunService", "gone", DL_PLAN_ACTION_DELETE, "x", -1);
    add(s, "CloudRunService", "fixed", DL_PLAN_ACTION_UPDATE, "q", 3);
    add(f, "CloudRunService", "fixed", DL_PLAN_ACTION_NONE, "q", 3);
    add(s, "CloudRunService", "err", DL_PLAN_ACTION_UPDATE, "q", 3);
    r = add(f, "CloudRunService", "err", DL_PLAN_ACTION_NONE, NULL, -1);
    dl_plan_resource_set_error(r, "403 PERMISSION_DENIED");
    /* Hygiene: re-evaluated at apply time, other counts may move. */
    r = add(s, "FirestoreCollectionPolicy", "hb", DL_PLAN_ACTION_DELETE, NULL,
            -1);
    json_object_set_new(r->preconditions, "documents", json_integer(10));
    dl_plan_resource_hygiene(r);
    r = add(f, "FirestoreCollectionPolicy", "hb", DL_PLAN_ACTION_DELETE, NULL,
            -1);
    json_object_set_new(r->preconditions, "documents", json_integer(12));
    dl_plan_resource_hygiene(r);
    assert_int_equal(dl_apply_compare_plans(s, f, &why, &err), DL_ECONFLICT);
    assert_string_equal(err.msg, "the live state moved since the plan was "
                                 "made: 5 resources changed; nothing was "
                                 "applied, plan again");
    assert_string_equal(
        dl_buf_cstr(&why),
        "  p/CloudRunService/api: etag \"e1\" -> \"e2\"\n"
        "  p/CloudRunService/api: generation 7 -> 8\n"
        "  p/IAMPolicyMember/m: etag \"BwX\" -> \"BwY\"\n"
        "  p/CloudRunService/gone: no longer found\n"
        "  p/CloudRunService/fixed: now in_sync, action none (was update)\n"
        "  p/CloudRunService/err: could not be observed again: 403 "
        "PERMISSION_DENIED\n");
    dl_buf_dispose(&why);
    dl_plan_free(s);
    dl_plan_free(f);
}

static void test_confirm(void **state)
{
    char yes[] = "yes\n", no[] = "y\n", empty[] = "";
    char outbuf[256];
    FILE *in, *out;
    struct dl_err err;

    (void)state;
    out = fmemopen(outbuf, sizeof(outbuf), "w");
    in = fmemopen(yes, strlen(yes), "r");
    assert_int_equal(dl_apply_confirm(in, 0, out, &err), DL_EINVALID);
    assert_string_equal(err.msg, "stdin is not a terminal; pass "
                                 "--auto-approve to apply without "
                                 "confirmation");
    assert_int_equal(dl_apply_confirm(in, 1, out, &err), 0);
    fclose(in);
    fflush(out);
    assert_non_null(strstr(outbuf, DL_APPLY_CONFIRM_PROMPT));
    in = fmemopen(no, strlen(no), "r");
    assert_int_equal(dl_apply_confirm(in, 1, out, &err), DL_ECANCELLED);
    assert_string_equal(err.msg, "apply cancelled: the answer was not 'yes'");
    fclose(in);
    in = fmemopen(empty, 1, "r");
    fgetc(in); /* at end of input */
    assert_int_equal(dl_apply_confirm(in, 1, out, &err), DL_ECANCELLED);
    fclose(in);
    fclose(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_plan_accepted),
        cmocka_unit_test(test_old_plan_refused),
        cmocka_unit_test(test_dirty_or_commitless_refused),
        cmocka_unit_test(test_preconditions_match),
        cmocka_unit_test(test_preconditions_moved),
        cmocka_unit_test(test_confirm),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
