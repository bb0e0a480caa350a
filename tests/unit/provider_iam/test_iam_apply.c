/*
 * IAM apply (src/provider/iam_apply.c): the pure merge of edits into a
 * fresh policy (protected and foreign members kept, only the plan's
 * removals removed), and the read-modify-write through the executor on the
 * replay transport (one get/set/confirm per policy for a member and a
 * binding together, 409 retried on a re-read policy, a saved plan whose
 * etag moved refused without a set).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../gcp/gcp_test.h"
#include "apply/apply.h"
#include "provider/iam_apply.h"
#include "provider/iam_set.h"
#include "util/time.h"

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);

    if (!j)
        fail_msg("bad JSON: %s", e.text);
    return j;
}

/* The members of the unconditional binding of role, as one string
   "a,b,c" (sorted), or "-" when there is none. */
static void members_str(char *out, size_t cap, const json_t *policy,
                        const char *role)
{
    int found = 0;
    json_t *m = dl_iam_members_of(policy, role, NULL, &found);
    size_t i;
    json_t *v;

    out[0] = '\0';
    if (!found)
        snprintf(out, cap, "-");
    json_array_foreach(m, i, v)
    {
        size_t len = strlen(out);

        snprintf(out + len, cap - len, "%s%s", i ? "," : "",
                 json_string_value(v));
    }
    json_decref(m);
}

static void assert_role(const json_t *policy, const char *role,
                        const char *want)
{
    char got[1024];

    members_str(got, sizeof(got), policy, role);
    assert_string_equal(got, want);
}

/* ---- a small model: Project p (protecting ADMINS), a member, a binding */

static char str_admins[] = "group:admins@example.com";
static char str_want[] = "user:want@example.com";
static char *protected_list[] = {str_admins};
static char *binding_members[] = {str_want};
static struct dl_resource project, member, binding;
static struct dl_resource *resources[3];
static struct dl_model model;

/* File-scope strings: the model points at them after model_init. */
static char str_p[] = "p";
static char str_writer[] = "writer";
static char str_role_writer[] = "roles/writer";
static char str_sa[] = "serviceAccount:sa@p.iam";
static char str_invokers[] = "invokers";
static char str_role_invoker[] = "roles/invoker";

static void model_init(void)
{
    memset(&project, 0, sizeof(project));
    memset(&member, 0, sizeof(member));
    memset(&binding, 0, sizeof(binding));
    project.kind = DL_KIND_PROJECT;
    project.name = str_p;
    project.project = &project;
    project.mode = DL_MODE_ENFORCE;
    project.spec.project.protected_members = protected_list;
    project.spec.project.n_protected_members = 1;
    member.kind = DL_KIND_IAM_POLICY_MEMBER;
    member.name = str_writer;
    member.project = &project;
    member.mode = DL_MODE_ENFORCE;
    member.spec.iam_member.role = str_role_writer;
    member.spec.iam_member.member = str_sa;
    binding.kind = DL_KIND_IAM_POLICY_BINDING;
    binding.name = str_invokers;
    binding.project = &project;
    binding.mode = DL_MODE_ENFORCE;
    binding.spec.iam_binding.role = str_role_invoker;
    binding.spec.iam_binding.members = binding_members;
    binding.spec.iam_binding.n_members = 1;
    resources[0] = &project;
    resources[1] = &member;
    resources[2] = &binding;
    memset(&model, 0, sizeof(model));
    model.resources = resources;
    model.n_resources = 3;
    model.projects = resources;
    model.n_projects = 1;
}

/* ---- pure merge ---- */

static void test_member_added_others_kept(void **state)
{
    json_t *pol =
        parse("{\"etag\":\"E1\",\"bindings\":["
              "{\"role\":\"roles/viewer\",\"members\":[\"user:a\"]},"
              "{\"role\":\"roles/writer\",\"members\":[\"user:b\"]}]}");
    struct dl_iam_edit e = {.want = &member};

    (void)state;
    model_init();
    assert_int_equal(dl_iam_apply_edits(pol, &e, 1), 1);
    assert_int_equal(e.added, 1);
    assert_role(pol, "roles/writer", "serviceAccount:sa@p.iam,user:b");
    assert_role(pol, "roles/viewer", "user:a");
    /* Already there: nothing to change. */
    assert_int_equal(dl_iam_apply_edits(pol, &e, 1), 0);
    assert_int_equal(e.added, 0);
    json_decref(pol);
}

static void test_binding_keeps_protected_and_foreign(void **state)
{
    /* Live: an extra the plan removes, a protected member, and a foreign
       member added since the plan (not in the plan's removals). */
    json_t *pol = parse(
        "{\"etag\":\"E1\",\"bindings\":["
        "{\"role\":\"roles/invoker\",\"members\":[\"user:extra@example.com\","
        "\"group:admins@example.com\",\"user:foreign@example.com\"]},"
        "{\"role\":\"roles/viewer\",\"members\":[\"user:a\"]}]}");
    json_t *removable = parse("[\"user:extra@example.com\","
                              "\"group:admins@example.com\"]");
    struct dl_iam_edit e = {.want = &binding, .removable = removable};
    const char *missing = NULL;

    (void)state;
    model_init();
    assert_int_equal(dl_iam_edit_satisfied(pol, &e, &missing), 0);
    assert_string_equal(missing, "user:want@example.com");
    assert_int_equal(dl_iam_apply_edits(pol, &e, 1), 1);
    assert_int_equal(e.added, 1);
    assert_int_equal(e.removed, 1);
    /* The protected member stays even though removable names it. */
    assert_role(pol, "roles/invoker",
                "group:admins@example.com,user:foreign@example.com,"
                "user:want@example.com");
    assert_role(pol, "roles/viewer", "user:a");
    assert_int_equal(dl_iam_edit_satisfied(pol, &e, &missing), 1);
    /* No removals at all without the plan's. */
    e.removable = NULL;
    assert_int_equal(dl_iam_apply_edits(pol, &e, 1), 0);
    json_decref(removable);
    json_decref(pol);
}

static void test_binding_conditional_untouched(void **state)
{
    json_t *pol = parse(
        "{\"bindings\":[{\"role\":\"roles/invoker\",\"members\":[\"user:x\"],"
        "\"condition\":{\"title\":\"t\",\"expression\":\"e\"}}]}");
    json_t *removable = parse("[\"user:x\"]");
    struct dl_iam_edit e = {.want = &binding, .removable = removable};
    json_t *body;

    (void)state;
    model_init();
    assert_int_equal(dl_iam_apply_edits(pol, &e, 1), 1);
    assert_role(pol, "roles/invoker", "user:want@example.com");
    assert_int_equal(json_array_size(json_object_get(pol, "bindings")), 2);
    /* A conditional binding: version 3; no etag read: none sent. */
    body = dl_iam_set_body(pol);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(body, "policy"), "version")),
                     3);
    assert_null(json_object_get(json_object_get(body, "policy"), "etag"));
    assert_string_equal(json_string_value(json_object_get(body, "updateMask")),
                        "bindings,etag");
    json_decref(body);
    json_decref(removable);
    json_decref(pol);
}

static void test_plan_removals(void **state)
{
    struct dl_plan *p = dl_plan_new();
    struct dl_plan_resource *r =
        dl_plan_add_resource(p, "p", "IAMPolicyBinding", "invokers");
    json_t *rem;

    (void)state;
    rem = dl_iam_plan_removals(r);
    assert_int_equal(json_array_size(rem), 0);
    json_decref(rem);
    dl_plan_resource_add_change(r, "bindings[roles/invoker].members",
                                parse("[\"user:a\",\"user:b\",\"user:c\"]"),
                                parse("[\"user:b\",\"user:d\"]"), 0);
    rem = dl_iam_plan_removals(r);
    assert_int_equal(json_array_size(rem), 2);
    assert_string_equal(json_string_value(json_array_get(rem, 0)), "user:a");
    assert_string_equal(json_string_value(json_array_get(rem, 1)), "user:c");
    json_decref(rem);
    dl_plan_free(p);
}

static void test_set_body(void **state)
{
    json_t *pol = parse("{\"etag\":\"BwE=\",\"version\":1,\"auditConfigs\":[],"
                        "\"bindings\":[{\"role\":\"r\",\"members\":[\"u\"]}]}");
    json_t *body = dl_iam_set_body(pol), *bp = json_object_get(body, "policy");

    (void)state;
    assert_string_equal(json_string_value(json_object_get(bp, "etag")), "BwE=");
    assert_int_equal(json_integer_value(json_object_get(bp, "version")), 1);
    assert_null(json_object_get(bp, "auditConfigs"));
    assert_true(json_equal(json_object_get(bp, "bindings"),
                           json_object_get(pol, "bindings")));
    json_decref(body);
    json_decref(pol);
}

/* ---- the read-modify-write through the executor (replay transport) ---- */

static struct dl_http_transport *t;
static struct dl_gcp_client *c;
static struct dl_plan *plan;
static struct dl_plan_resource *r_member, *r_binding;

static const struct dl_provider p_member = {.kind = DL_KIND_IAM_POLICY_MEMBER,
                                            .apply = dl_iam_apply_hook};
static const struct dl_provider p_binding = {.kind = DL_KIND_IAM_POLICY_BINDING,
                                             .apply = dl_iam_apply_hook};
static const struct dl_provider *const providers[] = {&p_member, &p_binding,
                                                      NULL};

static int setup(void **state)
{
    struct dl_gcp_client_opts o;

    (void)state;
    gcp_test_env("test-token");
    memset(&o, 0, sizeof(o));
    for (int i = 0; i < DL_GCP_API_COUNT; i++)
        o.rate[i] = -1;
    c = gcp_test_client(&t, &o);
    model_init();
    plan = dl_plan_new();
    r_member = dl_plan_add_resource(plan, "p", "IAMPolicyMember", "writer");
    r_binding = dl_plan_add_resource(plan, "p", "IAMPolicyBinding", "invokers");
    r_member->mode = r_binding->mode = DL_PLAN_MODE_ENFORCE;
    r_member->status = DL_PLAN_STATUS_MISSING;
    r_member->action = DL_PLAN_ACTION_CREATE;
    r_binding->status = DL_PLAN_STATUS_DRIFTED;
    r_binding->action = DL_PLAN_ACTION_UPDATE;
    dl_plan_resource_add_change(
        r_binding, "bindings[roles/invoker].members",
        parse("[\"group:admins@example.com\",\"user:extra@example.com\"]"),
        parse("[\"group:admins@example.com\",\"user:want@example.com\"]"), 0);
    json_object_set_new(r_member->preconditions, "resource",
                        json_string("projects/p"));
    json_object_set_new(r_member->preconditions, "etag", json_string("E1"));
    json_object_set_new(r_binding->preconditions, "resource",
                        json_string("projects/p"));
    json_object_set_new(r_binding->preconditions, "etag", json_string("E1"));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(dl_gcp_client_pending(c), 0);
    dl_gcp_client_free(c);
    dl_plan_free(plan);
    return 0;
}

static void answer(const char *path, const char *status, const char *body)
{
    char text[2048];
    struct dl_err err;

    snprintf(text, sizeof(text), "HTTP/1.1 %s\nX-Replay-Delay-Ms: 10\n\n%s",
             status, body);
    if (dl_http_replay_add_text(t, "POST", path, text, strlen(text), &err))
        fail_msg("replay add: %s", err.msg);
}

#define GET "/v1/projects/p:getIamPolicy"
#define SET "/v1/projects/p:setIamPolicy"
static const char live1[] =
    "{\"etag\":\"E1\",\"version\":1,\"bindings\":["
    "{\"role\":\"roles/invoker\",\"members\":[\"group:admins@example.com\","
    "\"user:extra@example.com\"]},"
    "{\"role\":\"roles/viewer\",\"members\":[\"user:a\"]}]}";
static const char conflict[] =
    "{\"error\":{\"code\":409,\"status\":\"ABORTED\",\"message\":"
    "\"There were concurrent policy changes.\"}}";

static const struct dl_apply_result *result(const struct dl_apply_report *rep,
                                            const struct dl_plan_resource *r)
{
    for (size_t i = 0; i < rep->n; i++)
        if (rep->results[i].resource == r)
            return &rep->results[i];
    static char empty[] = "";
    static const struct dl_apply_result none = {.message = empty};

    fail_msg("no result for '%s'", r->address);
    return &none;
}

/* The policy sent by the n-th request (a setIamPolicy). */
static json_t *sent_policy(size_t n)
{
    const struct dl_http_replay_req *q = gcp_test_req(t, n);
    json_t *body = parse(q->body);
    json_t *p = json_incref(json_object_get(body, "policy"));

    assert_non_null(strstr(q->url, ":setIamPolicy"));
    assert_string_equal(json_string_value(json_object_get(body, "updateMask")),
                        "bindings,etag");
    json_decref(body);
    return p;
}

static int run(struct dl_apply_report *rep, int saved)
{
    struct dl_apply_opts o;
    struct dl_err err;

    memset(&o, 0, sizeof(o));
    o.providers = providers;
    o.max_deletes = -1;
    o.saved_plan = saved;
    memset(rep, 0, sizeof(*rep));
    return dl_apply_run(rep, plan, &model, NULL, c, &o, &err);
}

static void test_one_rmw_for_member_and_binding(void **state)
{
    struct dl_apply_report rep;
    json_t *sent;

    (void)state;
    answer(GET, "200 OK", live1);
    answer(SET, "200 OK", "{\"etag\":\"E2\"}");
    answer(
        GET, "200 OK",
        "{\"etag\":\"E2\",\"bindings\":["
        "{\"role\":\"roles/invoker\",\"members\":["
        "\"group:admins@example.com\",\"user:want@example.com\"]},"
        "{\"role\":\"roles/writer\",\"members\":[\"serviceAccount:sa@p.iam\"]},"
        "{\"role\":\"roles/viewer\",\"members\":[\"user:a\"]}]}");
    assert_int_equal(run(&rep, 1), 0);
    assert_int_equal(dl_http_replay_count(t), 3);
    sent = sent_policy(1);
    assert_string_equal(json_string_value(json_object_get(sent, "etag")), "E1");
    assert_role(sent, "roles/invoker",
                "group:admins@example.com,user:want@example.com");
    assert_role(sent, "roles/writer", "serviceAccount:sa@p.iam");
    assert_role(sent, "roles/viewer", "user:a");
    json_decref(sent);
    assert_int_equal(result(&rep, r_member)->outcome, DL_APPLY_APPLIED);
    assert_int_equal(result(&rep, r_binding)->outcome, DL_APPLY_APPLIED);
    assert_non_null(
        strstr(result(&rep, r_binding)->message, "added 1, removed 1"));
    assert_int_equal(dl_apply_exit_code(&rep), 0);
    dl_apply_report_dispose(&rep);
}

static void test_conflict_rereads_and_keeps_foreign(void **state)
{
    struct dl_apply_report rep;
    json_t *sent;

    (void)state;
    answer(GET, "200 OK", live1);
    answer(SET, "409 Conflict", conflict);
    /* Meanwhile a foreign writer added user:racer to roles/browser. */
    answer(GET, "200 OK",
           "{\"etag\":\"E9\",\"bindings\":["
           "{\"role\":\"roles/browser\",\"members\":[\"user:racer\"]},"
           "{\"role\":\"roles/invoker\",\"members\":["
           "\"group:admins@example.com\",\"user:extra@example.com\"]},"
           "{\"role\":\"roles/viewer\",\"members\":[\"user:a\"]}]}");
    answer(SET, "200 OK", "{}");
    answer(
        GET, "200 OK",
        "{\"etag\":\"E10\",\"bindings\":["
        "{\"role\":\"roles/invoker\",\"members\":[\"user:want@example.com\"]},"
        "{\"role\":\"roles/"
        "writer\",\"members\":[\"serviceAccount:sa@p.iam\"]}]}");
    /* Not a saved plan: the moved etag is not a refusal. */
    assert_int_equal(run(&rep, 0), 0);
    assert_int_equal(dl_http_replay_count(t), 5);
    sent = sent_policy(3);
    assert_string_equal(json_string_value(json_object_get(sent, "etag")), "E9");
    assert_role(sent, "roles/browser", "user:racer");
    assert_role(sent, "roles/writer", "serviceAccount:sa@p.iam");
    json_decref(sent);
    /* The retry waited (virtual clock). */
    assert_true(gcp_test_req(t, 2)->at_ns - gcp_test_req(t, 1)->at_ns >=
                100 * DL_NS_PER_MS);
    assert_int_equal(result(&rep, r_member)->outcome, DL_APPLY_APPLIED);
    assert_int_equal(result(&rep, r_binding)->outcome, DL_APPLY_APPLIED);
    dl_apply_report_dispose(&rep);
}

static void test_saved_plan_moved_refused(void **state)
{
    struct dl_apply_report rep;

    (void)state;
    answer(GET, "200 OK",
           "{\"etag\":\"E5\",\"bindings\":[{\"role\":\"roles/viewer\","
           "\"members\":[\"user:a\"]}]}");
    assert_int_equal(run(&rep, 1), 0);
    assert_int_equal(dl_http_replay_count(t), 1); /* no setIamPolicy */
    assert_int_equal(result(&rep, r_member)->outcome, DL_APPLY_FAILED);
    assert_non_null(strstr(result(&rep, r_member)->message,
                           "moved since the plan was made"));
    assert_int_equal(result(&rep, r_binding)->outcome, DL_APPLY_FAILED);
    assert_int_equal(dl_apply_exit_code(&rep), 1);
    dl_apply_report_dispose(&rep);
}

static void test_confirm_missing_fails(void **state)
{
    struct dl_apply_report rep;

    (void)state;
    answer(GET, "200 OK", live1);
    answer(SET, "200 OK", "{}");
    /* The set was accepted but the member is not there afterwards. */
    answer(GET, "200 OK",
           "{\"etag\":\"E2\",\"bindings\":[{\"role\":\"roles/invoker\","
           "\"members\":[\"user:want@example.com\"]}]}");
    assert_int_equal(run(&rep, 0), 0);
    assert_int_equal(result(&rep, r_member)->outcome, DL_APPLY_FAILED);
    assert_non_null(strstr(result(&rep, r_member)->message,
                           "'serviceAccount:sa@p.iam' is not in roles/writer"));
    assert_int_equal(result(&rep, r_binding)->outcome, DL_APPLY_APPLIED);
    dl_apply_report_dispose(&rep);
}

static void test_set_error_fails_all(void **state)
{
    struct dl_apply_report rep;

    (void)state;
    answer(GET, "200 OK", live1);
    answer(SET, "400 Bad Request",
           "{\"error\":{\"code\":400,\"status\":\"INVALID_ARGUMENT\","
           "\"message\":\"bad member\"}}");
    assert_int_equal(run(&rep, 0), 0);
    assert_int_equal(dl_http_replay_count(t), 2);
    assert_int_equal(result(&rep, r_member)->outcome, DL_APPLY_FAILED);
    assert_non_null(strstr(result(&rep, r_member)->message, "bad member"));
    assert_int_equal(result(&rep, r_binding)->outcome, DL_APPLY_FAILED);
    dl_apply_report_dispose(&rep);
}

static void test_conflicts_give_up_within_budget(void **state)
{
    struct dl_apply_report rep;
    size_t n, sets = 0;
    int64_t span;

    (void)state;
    /* Every set loses a race: more answers than 60 s of backoff uses. */
    for (int i = 0; i < 40; i++) {
        answer(GET, "200 OK", live1);
        answer(SET, "409 Conflict", conflict);
    }
    assert_int_equal(run(&rep, 0), 0);
    n = dl_http_replay_count(t);
    for (size_t i = 0; i < n; i++)
        if (strstr(gcp_test_req(t, i)->url, ":setIamPolicy"))
            sets++;
    /* Backoff drawn in [cap/2, cap] with cap 0.5, 1, 2, 4, 8, 8, ... s:
       about 15 attempts fit in 60 s. */
    assert_in_range(sets, 8, 20);
    span = gcp_test_req(t, n - 1)->at_ns - gcp_test_req(t, 0)->at_ns;
    assert_true(span <= DL_IAM_APPLY_BUDGET_NS);
    assert_true(span >= DL_IAM_APPLY_BUDGET_NS / 2);
    assert_int_equal(result(&rep, r_member)->outcome, DL_APPLY_FAILED);
    assert_non_null(
        strstr(result(&rep, r_member)->message, "concurrent policy changes"));
    assert_int_equal(result(&rep, r_binding)->outcome, DL_APPLY_FAILED);
    dl_apply_report_dispose(&rep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_member_added_others_kept),
        cmocka_unit_test(test_binding_keeps_protected_and_foreign),
        cmocka_unit_test(test_binding_conditional_untouched),
        cmocka_unit_test(test_plan_removals),
        cmocka_unit_test(test_set_body),
        cmocka_unit_test_setup_teardown(test_one_rmw_for_member_and_binding,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflict_rereads_and_keeps_foreign,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_saved_plan_moved_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_confirm_missing_fails, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_set_error_fails_all, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_conflicts_give_up_within_budget,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
