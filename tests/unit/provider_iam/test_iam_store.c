/* IAM store helpers: resource forms and plan preconditions from a policy. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

/* A writable string (the model's structs hold char *). */
#define S(lit) ((char[]){lit})

#include "provider/iam_store.h"

static void parses(const char *resource, const char *name, enum dl_gcp_api api)
{
    struct dl_err err = {0};
    enum dl_gcp_api got = DL_GCP_API_COUNT;
    char *n = NULL;

    assert_int_equal(dl_iam_resource_parse(&n, &got, "p1", resource, &err), 0);
    assert_string_equal(n, name);
    assert_int_equal(got, api);
    free(n);
}

static void rejects(const char *resource)
{
    struct dl_err err = {0};
    enum dl_gcp_api got;
    char *n = NULL;
    char want[400];

    assert_int_equal(dl_iam_resource_parse(&n, &got, "p1", resource, &err),
                     DL_EINVALID);
    assert_null(n);
    snprintf(want, sizeof(want), "resource '%s' is not supported", resource);
    assert_non_null(strstr(err.msg, want));
}

static void test_resource_parse(void **state)
{
    (void)state;
    parses(NULL, "projects/p1", DL_GCP_RESOURCEMANAGER);
    parses("", "projects/p1", DL_GCP_RESOURCEMANAGER);
    parses("projects/p2", "projects/p2", DL_GCP_RESOURCEMANAGER);
    parses("projects/example.com:p2", "projects/example.com:p2",
           DL_GCP_RESOURCEMANAGER);
    parses("//cloudresourcemanager.googleapis.com/projects/p2", "projects/p2",
           DL_GCP_RESOURCEMANAGER);
    parses("run.googleapis.com/projects/p/locations/us-west2/services/w",
           "projects/p/locations/us-west2/services/w", DL_GCP_RUN);
    parses("//run.googleapis.com/projects/p/locations/us-west2/services/w",
           "projects/p/locations/us-west2/services/w", DL_GCP_RUN);
    parses("projects/p/locations/us-west2/services/w",
           "projects/p/locations/us-west2/services/w", DL_GCP_RUN);
    rejects("storage.googleapis.com/buckets/b");
    rejects("projects/");
    rejects("projects/p/extra");
    rejects("run.googleapis.com/projects/p");
    rejects("run.googleapis.com/projects/p/locations/r/services/");
    rejects("run.googleapis.com/projects/p/locations/r/services/s/x");
    rejects("run.googleapis.com/projects//locations/r/services/s");
    rejects("run.googleapis.com/projects/p/locations/r/services/s?x=1");
    rejects("projects/p#frag");
    rejects("projects/p%2Fq");
    rejects("projects/a b");
    rejects("cloudresourcemanager.googleapis.com/projects/p/locations/r/"
            "services/s");
}

static void test_obs_prepare(void **state)
{
    struct dl_plan *plan = dl_plan_new();
    struct dl_plan_resource *ok = dl_plan_add_resource(plan, "p", "K", "a");
    struct dl_plan_resource *bad = dl_plan_add_resource(plan, "p", "K", "b");
    struct dl_plan_resource *none = dl_plan_add_resource(plan, "p", "K", "c");
    struct dl_plan_resource *vstr = dl_plan_add_resource(plan, "p", "K", "d");
    struct dl_iam_policy_obs good = {.name = S("projects/p"), .done = 1};
    struct dl_iam_policy_obs failed = {.name = S("projects/p"),
                                       .done = 1,
                                       .rc = DL_EAUTH,
                                       .error = S("The caller does not have "
                                                  "permission")};
    struct dl_iam_policy_obs str = {.name = S("projects/p"), .done = 1};

    (void)state;
    good.policy = json_pack("{s:i,s:s,s:[]}", "version", 3, "etag",
                            "BwYW4c5j91M=", "bindings");
    str.policy = json_pack("{s:s,s:s}", "version", "1", "etag", "ACAB");
    assert_int_equal(dl_iam_obs_prepare(ok, &good, "projects/p"), 0);
    assert_string_equal(
        json_string_value(json_object_get(ok->preconditions, "etag")),
        "BwYW4c5j91M=");
    assert_int_equal(
        json_integer_value(json_object_get(ok->preconditions, "version")), 3);
    assert_string_equal(
        json_string_value(json_object_get(ok->preconditions, "resource")),
        "projects/p");
    assert_int_equal(ok->status, DL_PLAN_STATUS_IN_SYNC);

    assert_int_equal(dl_iam_obs_prepare(bad, &failed, "projects/p"), DL_ERROR);
    assert_int_equal(bad->status, DL_PLAN_STATUS_ERROR);
    assert_string_equal(bad->error, "getIamPolicy on 'projects/p' failed: "
                                    "The caller does not have permission");

    assert_int_equal(dl_iam_obs_prepare(none, NULL, "projects/q"), DL_ERROR);
    assert_string_equal(none->error,
                        "IAM policy of 'projects/q' was not observed");

    assert_int_equal(dl_iam_obs_prepare(vstr, &str, "projects/p"), 0);
    assert_int_equal(
        json_integer_value(json_object_get(vstr->preconditions, "version")), 1);
    json_decref(good.policy);
    json_decref(str.policy);
    dl_plan_free(plan);
}

static void test_store_find(void **state)
{
    struct dl_iam_policy_obs a = {.name = S("projects/a")};
    struct dl_iam_policy_obs b = {.name = S("projects/b")};
    struct dl_iam_policy_obs *v[] = {&a, &b};
    struct dl_iam_store s = {.obs = v, .n = 2, .cap = 2};

    (void)state;
    assert_ptr_equal(dl_iam_store_find(&s, "projects/b"), &b);
    assert_ptr_equal(dl_iam_store_find(&s, "projects/a"), &a);
    assert_null(dl_iam_store_find(&s, "projects/c"));
    assert_null(dl_iam_store_find(NULL, "projects/a"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resource_parse),
        cmocka_unit_test(test_obs_prepare),
        cmocka_unit_test(test_store_find),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
