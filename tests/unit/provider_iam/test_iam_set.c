/* IAM set semantics: conditions, member sets, binding diffs, paths. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

/* A writable string (the model's structs hold char *). */
#define S(lit) ((char[]){lit})

#include "provider/iam_set.h"

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);

    assert_non_null(j);
    return j;
}

/* Is arr exactly the strings want[0..n), in order? */
static void assert_members(const json_t *arr, const char *const *want, size_t n)
{
    assert_true(json_is_array(arr));
    assert_int_equal(json_array_size(arr), n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(json_string_value(json_array_get(arr, i)), want[i]);
}

static void test_condition_matches(void **state)
{
    struct dl_iam_condition c = {.title = S("t"),
                                 .description = S("mine"),
                                 .expression = S("request.time < x")};
    struct dl_iam_condition other_title = {.title = S("u"),
                                           .expression = S("request.time < x")};
    struct dl_iam_condition other_expr = {.title = S("t"),
                                          .expression = S("request.time > x")};
    json_t *live = parse("{\"title\": \"t\", \"description\": \"theirs\","
                         " \"expression\": \"request.time < x\"}");
    json_t *empty = parse("{}");
    json_t *no_title = parse("{\"expression\": \"request.time < x\"}");

    (void)state;
    /* Description is ignored; title and expression both count. */
    assert_true(dl_iam_condition_matches(live, &c));
    assert_false(dl_iam_condition_matches(live, &other_title));
    assert_false(dl_iam_condition_matches(live, &other_expr));
    /* None on both sides; {} and null are none. */
    assert_true(dl_iam_condition_matches(NULL, NULL));
    assert_true(dl_iam_condition_matches(empty, NULL));
    assert_true(dl_iam_condition_matches(json_null(), NULL));
    assert_false(dl_iam_condition_matches(live, NULL));
    assert_false(dl_iam_condition_matches(NULL, &c));
    assert_false(dl_iam_condition_matches(no_title, &c));
    json_decref(live);
    json_decref(empty);
    json_decref(no_title);
}

static const char policy_text[] =
    "{\"version\": 3, \"etag\": \"BwYW4c5j91M=\", \"bindings\": ["
    " {\"role\": \"roles/viewer\", \"members\": [\"user:b@x.com\","
    "  \"user:a@x.com\", \"user:b@x.com\"]},"
    " {\"role\": \"roles/viewer\", \"members\": [\"user:c@x.com\", 7]},"
    " {\"role\": \"roles/viewer\", \"members\": [\"user:d@x.com\"],"
    "  \"condition\": {\"title\": \"t\", \"expression\": \"e\"}},"
    " {\"role\": \"roles/editor\"},"
    " {\"members\": [\"user:z@x.com\"]},"
    " \"junk\"]}";

static void test_members_of(void **state)
{
    static const char *const plain[] = {"user:a@x.com", "user:b@x.com",
                                        "user:c@x.com"};
    static const char *const cond_m[] = {"user:d@x.com"};
    struct dl_iam_condition c = {.title = S("t"), .expression = S("e")};
    struct dl_iam_condition c2 = {.title = S("t"), .expression = S("f")};
    json_t *policy = parse(policy_text);
    json_t *m;
    int found = -1;

    (void)state;
    /* Bindings with the same key are united, sorted, de-duplicated. */
    m = dl_iam_members_of(policy, "roles/viewer", NULL, &found);
    assert_int_equal(found, 1);
    assert_members(m, plain, 3);
    assert_true(dl_iam_members_has(m, "user:c@x.com"));
    assert_false(dl_iam_members_has(m, "user:d@x.com"));
    json_decref(m);
    /* The conditional binding is distinct. */
    m = dl_iam_members_of(policy, "roles/viewer", &c, &found);
    assert_int_equal(found, 1);
    assert_members(m, cond_m, 1);
    json_decref(m);
    m = dl_iam_members_of(policy, "roles/viewer", &c2, &found);
    assert_int_equal(found, 0);
    assert_int_equal(json_array_size(m), 0);
    json_decref(m);
    /* A binding without members exists but is empty. */
    m = dl_iam_members_of(policy, "roles/editor", NULL, &found);
    assert_int_equal(found, 1);
    assert_int_equal(json_array_size(m), 0);
    json_decref(m);
    m = dl_iam_members_of(policy, "roles/owner", NULL, &found);
    assert_int_equal(found, 0);
    json_decref(m);
    /* A policy without bindings (never set: {"etag": ...}). */
    json_decref(policy);
    policy = parse("{\"etag\": \"ACAB\"}");
    m = dl_iam_members_of(policy, "roles/viewer", NULL, &found);
    assert_int_equal(found, 0);
    assert_int_equal(json_array_size(m), 0);
    json_decref(m);
    json_decref(policy);
}

static void test_members_with_and_from(void **state)
{
    static const char *const want[] = {"user:a@x.com", "user:b@x.com",
                                       "user:c@x.com"};
    char *in[] = {S("user:c@x.com"), S("user:a@x.com"), S("user:c@x.com"),
                  S("user:b@x.com")};
    json_t *live = parse("[\"user:c@x.com\", \"user:a@x.com\"]");
    json_t *m;

    (void)state;
    m = dl_iam_members_from(in, 4);
    assert_members(m, want, 3);
    json_decref(m);
    m = dl_iam_members_with(live, "user:b@x.com");
    assert_members(m, want, 3);
    json_decref(m);
    m = dl_iam_members_with(live, "user:a@x.com"); /* already there */
    assert_int_equal(json_array_size(m), 2);
    json_decref(m);
    m = dl_iam_members_with(NULL, "user:a@x.com");
    assert_members(m, want, 1);
    json_decref(m);
    m = dl_iam_members_from(NULL, 0);
    assert_int_equal(json_array_size(m), 0);
    json_decref(m);
    json_decref(live);
}

static void test_binding_diff(void **state)
{
    static const char *const missing[] = {"user:new@x.com"};
    static const char *const extra[] = {
        "deleted:serviceAccount:old@p.iam.gserviceaccount.com?uid=1",
        "user:extra@x.com"};
    static const char *const prot[] = {"group:admins@x.com"};
    static const char *const after[] = {"group:admins@x.com", "user:keep@x.com",
                                        "user:new@x.com"};
    json_t *live = parse(
        "[\"user:extra@x.com\", \"group:admins@x.com\", \"user:keep@x.com\","
        " \"deleted:serviceAccount:old@p.iam.gserviceaccount.com?uid=1\"]");
    char *want[] = {S("user:new@x.com"), S("user:keep@x.com"),
                    S("user:new@x.com")};
    char *protected_members[] = {S("group:admins@x.com"),
                                 S("user:unrelated@x.com")};
    struct dl_iam_binding_diff d;

    (void)state;
    dl_iam_binding_diff_init(&d, live, want, 3, protected_members, 2);
    assert_members(d.missing, missing, 1);
    assert_members(d.extra, extra, 2);
    assert_members(d.protected, prot, 1);
    assert_members(d.after, after, 3);
    dl_iam_binding_diff_dispose(&d);
    assert_null(d.after);

    /* Same set in another order, with duplicates: no difference. */
    {
        json_t *l2 = parse("[\"user:b@x.com\", \"user:a@x.com\"]");
        char *w2[] = {S("user:a@x.com"), S("user:b@x.com"), S("user:a@x.com")};

        dl_iam_binding_diff_init(&d, l2, w2, 3, NULL, 0);
        assert_int_equal(json_array_size(d.missing), 0);
        assert_int_equal(json_array_size(d.extra), 0);
        assert_int_equal(json_array_size(d.protected), 0);
        assert_int_equal(json_array_size(d.after), 2);
        dl_iam_binding_diff_dispose(&d);
        json_decref(l2);
    }
    /* No live binding: everything is missing. */
    dl_iam_binding_diff_init(&d, NULL, want, 3, protected_members, 2);
    assert_int_equal(json_array_size(d.missing), 2);
    assert_int_equal(json_array_size(d.extra), 0);
    assert_int_equal(json_array_size(d.after), 2);
    dl_iam_binding_diff_dispose(&d);
    /* Nothing desired: every unprotected member goes. */
    dl_iam_binding_diff_init(&d, live, NULL, 0, protected_members, 2);
    assert_int_equal(json_array_size(d.missing), 0);
    assert_int_equal(json_array_size(d.extra), 3);
    assert_members(d.after, prot, 1);
    dl_iam_binding_diff_dispose(&d);
    json_decref(live);
}

static void test_change_path(void **state)
{
    struct dl_iam_condition c = {.title = S("until-2027"),
                                 .expression = S("e")};
    char *p;

    (void)state;
    p = dl_iam_change_path("roles/monitoring.metricWriter", NULL);
    assert_string_equal(p, "bindings[roles/monitoring.metricWriter].members");
    free(p);
    p = dl_iam_change_path("roles/viewer", &c);
    assert_string_equal(p, "bindings[roles/viewer, condition \"until-2027\"]."
                           "members");
    free(p);
}

static void test_policy_edits(void **state)
{
    static const char *const viewers[] = {"user:a@x.com", "user:b@x.com"};
    struct dl_iam_condition c = {
        .title = S("t"), .description = S("d"), .expression = S("e")};
    json_t *policy = parse(
        "{\"etag\": \"Bw==\", \"bindings\": ["
        " {\"role\": \"roles/viewer\", \"members\": [\"user:a@x.com\"]},"
        " {\"role\": \"roles/editor\", \"members\": [\"user:e@x.com\"]}]}");
    json_t *empty = parse("{\"etag\": \"ACAB\"}");
    json_t *m, *b;
    int found;

    (void)state;
    assert_int_equal(dl_iam_policy_version_needed(policy), 1);
    assert_int_equal(
        dl_iam_policy_add_member(policy, "roles/viewer", NULL, "user:b@x.com"),
        1);
    assert_int_equal(
        dl_iam_policy_add_member(policy, "roles/viewer", NULL, "user:b@x.com"),
        0);
    m = dl_iam_members_of(policy, "roles/viewer", NULL, &found);
    assert_members(m, viewers, 2);
    json_decref(m);
    assert_int_equal(json_array_size(json_object_get(policy, "bindings")), 2);

    /* A conditional member makes a new binding, with its condition. */
    assert_int_equal(
        dl_iam_policy_add_member(policy, "roles/viewer", &c, "user:c@x.com"),
        1);
    assert_int_equal(json_array_size(json_object_get(policy, "bindings")), 3);
    b = json_array_get(json_object_get(policy, "bindings"), 2);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(b, "condition"), "expression")),
                        "e");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(b, "condition"), "description")),
                        "d");
    assert_int_equal(dl_iam_policy_version_needed(policy), 3);
    /* The unconditional binding did not get it. */
    m = dl_iam_members_of(policy, "roles/viewer", NULL, &found);
    assert_false(dl_iam_members_has(m, "user:c@x.com"));
    json_decref(m);

    /* Removing the last member drops the binding; others stay. */
    assert_int_equal(dl_iam_policy_remove_member(policy, "roles/editor", NULL,
                                                 "user:e@x.com"),
                     1);
    assert_int_equal(dl_iam_policy_remove_member(policy, "roles/editor", NULL,
                                                 "user:e@x.com"),
                     0);
    assert_int_equal(json_array_size(json_object_get(policy, "bindings")), 2);
    assert_int_equal(
        dl_iam_policy_remove_member(policy, "roles/viewer", &c, "user:c@x.com"),
        1);
    assert_int_equal(dl_iam_policy_version_needed(policy), 1);
    assert_int_equal(dl_iam_policy_remove_member(policy, "roles/viewer", NULL,
                                                 "user:zz@x.com"),
                     0);
    m = dl_iam_members_of(policy, "roles/viewer", NULL, &found);
    assert_members(m, viewers, 2);
    json_decref(m);

    /* A policy never set has no bindings array yet. */
    assert_int_equal(
        dl_iam_policy_add_member(empty, "roles/viewer", NULL, "user:a@x.com"),
        1);
    m = dl_iam_members_of(empty, "roles/viewer", NULL, &found);
    assert_members(m, viewers, 1);
    json_decref(m);
    json_decref(empty);
    json_decref(policy);
}

static void test_policy_check(void **state)
{
    static const struct {
        const char *policy, *msg;
    } cases[] = {
        {"{}", NULL},
        {"{\"etag\": \"BwX=\", \"version\": 3, \"bindings\": [{\"role\": "
         "\"roles/viewer\", \"members\": [\"user:a@b.c\"], \"condition\": "
         "{\"title\": \"t\", \"expression\": \"true\"}}]}",
         NULL},
        {"[]", "malformed policy: not a JSON object"},
        {"{\"etag\": 5}", "malformed policy: etag is not a string"},
        {"{\"version\": \"3\"}", "malformed policy: version is not an integer"},
        {"{\"bindings\": \"all\"}",
         "malformed policy: bindings is not an array"},
        {"{\"bindings\": [7]}",
         "malformed policy: bindings[0] is not an object"},
        {"{\"bindings\": [{\"role\": \"r\"}, {\"members\": []}]}",
         "malformed policy: bindings[1].role is not a string"},
        {"{\"bindings\": [{\"role\": \"r\", \"members\": \"user:a\"}]}",
         "malformed policy: bindings[0].members is not an array of strings"},
        {"{\"bindings\": [{\"role\": \"r\", \"members\": [\"a\", 1]}]}",
         "malformed policy: bindings[0].members is not an array of strings"},
        {"{\"bindings\": [{\"role\": \"r\", \"condition\": \"x\"}]}",
         "malformed policy: bindings[0].condition is not an object"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *p = json_loads(cases[i].policy, JSON_DECODE_ANY, NULL);
        struct dl_err err;
        int rc = dl_iam_policy_check(p, &err);

        assert_non_null(p);
        if (!cases[i].msg) {
            assert_int_equal(rc, 0);
        } else {
            assert_int_equal(rc, DL_EINVALID);
            assert_string_equal(err.msg, cases[i].msg);
        }
        json_decref(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_condition_matches),
        cmocka_unit_test(test_members_of),
        cmocka_unit_test(test_members_with_and_from),
        cmocka_unit_test(test_binding_diff),
        cmocka_unit_test(test_change_path),
        cmocka_unit_test(test_policy_edits),
        cmocka_unit_test(test_policy_check),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
