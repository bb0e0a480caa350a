/*
 * fuzz_gcp_iam.c - libFuzzer target for IAM policies: the input answers
 * the project's getIamPolicy, planned through the real pass for
 * IAMPolicyMember and IAMPolicyBinding resources (fuzz_pass.h checks).
 * Then apply's read-modify-write is run on the input as a policy: adding a
 * member and then removing it (on a policy dl_iam_policy_check accepts),
 * each turned into a setIamPolicy body, must do exactly that to that
 * binding and keep every other member of every other binding (no IAM
 * member outside the plan is removed).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_pass.h"
#include "provider/iam_apply.h"
#include "provider/iam_set.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char resources[] =
    "apiVersion: driftless.dev/v1alpha1\n"
    "kind: IAMPolicyMember\n"
    "metadata:\n"
    "  name: writer\n"
    "spec:\n"
    "  role: roles/monitoring.metricWriter\n"
    "  member: serviceAccount:api@fuzz-project.iam.gserviceaccount.com\n"
    "---\n"
    "apiVersion: driftless.dev/v1alpha1\n"
    "kind: IAMPolicyMember\n"
    "metadata:\n"
    "  name: temporary\n"
    "spec:\n"
    "  role: roles/viewer\n"
    "  member: user:ana@example.com\n"
    "  condition:\n"
    "    title: until-2030\n"
    "    expression: request.time < timestamp(\"2030-01-01T00:00:00Z\")\n"
    "---\n"
    "apiVersion: driftless.dev/v1alpha1\n"
    "kind: IAMPolicyBinding\n"
    "metadata:\n"
    "  name: editors\n"
    "spec:\n"
    "  role: roles/editor\n"
    "  members: [group:dev@example.com]\n";

static const struct fuzz_answer fixed[] = {FUZZ_PROJECT_ANSWER, {0}};

static const struct fuzz_pass_case fc = {
    .resources = resources,
    .fixed = fixed,
    .method = "POST",
    .patterns = {"/v1/projects/fuzz-project:getIamPolicy"},
};

static void fail(const char *what, const char *role)
{
    fprintf(stderr, "fuzz_gcp_iam: %s (%s)\n", what, role ? role : "");
    abort();
}

/* Every (role, no condition) binding of before keeps its members in
 * after's policy, except the edited role. */
static void others_kept(const json_t *before, const json_t *after,
                        const char *edited)
{
    json_t *b;
    size_t i;

    json_array_foreach(json_object_get(before, "bindings"), i, b)
    {
        const char *role = json_string_value(json_object_get(b, "role"));
        json_t *was, *now;
        int f1, f2;

        if (!role || strcmp(role, edited) == 0)
            continue;
        was = dl_iam_members_of(before, role, NULL, &f1);
        now = dl_iam_members_of(after, role, NULL, &f2);
        if (!json_equal(was, now))
            fail("another binding's members changed", role);
        json_decref(was);
        json_decref(now);
    }
}

static void edit(const json_t *live, const char *role,
                 const struct dl_iam_condition *cond, const char *member)
{
    json_t *policy = json_deep_copy(live);
    json_t *body, *set, *members;
    int found;

    if (!policy)
        return;
    (void)dl_iam_policy_add_member(policy, role, cond, member);
    body = dl_iam_set_body(policy);
    set = json_object_get(body, "policy");
    members = dl_iam_members_of(set, role, cond, &found);
    if (!found || !dl_iam_members_has(members, member))
        fail("added member missing from the set body", role);
    json_decref(members);
    if (!cond)
        others_kept(live, set, role);
    if (cond && json_integer_value(json_object_get(set, "version")) != 3)
        fail("a conditional policy is not written as version 3", role);
    json_decref(body);

    (void)dl_iam_policy_remove_member(policy, role, cond, member);
    body = dl_iam_set_body(policy);
    set = json_object_get(body, "policy");
    members = dl_iam_members_of(set, role, cond, &found);
    if (dl_iam_members_has(members, member))
        fail("removed member still in the set body", role);
    json_decref(members);
    if (!cond)
        others_kept(live, set, role);
    json_decref(body);
    json_decref(policy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char title[] = "until-2030";
    static char expr[] = "request.time < timestamp(\"2030-01-01T00:00:00Z\")";
    const struct dl_iam_condition cond = {.title = title, .expression = expr};
    struct dl_err err;
    json_t *j;
    json_t *b;
    size_t i;

    fuzz_pass_run(&fc, data, size, NULL);
    j = json_loadb((const char *)data, size, 0, NULL);
    /* Only a policy that passes the check is ever edited (plan and apply
     * refuse the others: "malformed policy"). */
    if (dl_iam_policy_check(j, &err) == 0) {
        edit(j, "roles/monitoring.metricWriter", NULL, "user:new@example.com");
        edit(j, "roles/viewer", &cond, "user:ana@example.com");
        /* Edit a role the input names, with a member it already has. */
        json_array_foreach(json_object_get(j, "bindings"), i, b)
        {
            const char *role = json_string_value(json_object_get(b, "role"));
            const char *m = json_string_value(
                json_array_get(json_object_get(b, "members"), 0));

            if (role && m && i < 4)
                edit(j, role, NULL, m);
        }
    }
    json_decref(j);
    return 0;
}
