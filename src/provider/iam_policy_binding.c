/*
 * iam_policy_binding.c - IAMPolicyBinding: all members of one (role,
 * condition) binding of the project's policy, authoritative. The policy is
 * read once per project through the store shared with IAMPolicyMember
 * (iam_store.h; owned and freed by that provider).
 *
 * Desired members not in the binding are missing; live members not
 * desired are extra (removals), except the Project's protectedMembers,
 * which are never removed (noted as protected). `deleted:` principals are
 * ordinary extras. No live binding -> missing, action create; a binding
 * that differs -> drifted, action update; report mode -> report.
 */
#include <stdlib.h>

#include "provider/iam_apply.h"
#include "provider/iam_set.h"
#include "provider/iam_store.h"
#include "provider/provider.h"
#include "util/alloc.h"

static const struct dl_iam_condition *
condition_of(const struct dl_iam_binding_spec *s)
{
    return s->has_condition ? &s->condition : NULL;
}

static int observe(struct dl_pass *pass, struct dl_err *err)
{
    struct dl_iam_store *store = NULL;

    (void)err;
    for (size_t i = 0; i < pass->model->n_resources; i++) {
        const struct dl_resource *r = pass->model->resources[i];
        char *name;

        if (r->kind != DL_KIND_IAM_POLICY_BINDING || !dl_pass_selected(pass, r))
            continue;
        if (!store)
            store = dl_iam_store_get(pass);
        name = dl_asprintf("projects/%s", dl_resource_project_id(r));
        (void)dl_iam_store_queue(store, pass->gcp, name,
                                 DL_GCP_RESOURCEMANAGER);
        free(name);
    }
    return 0;
}

/* One note "<before>'<member>'<after>" per member of arr. */
static void note_members(struct dl_plan_resource *pr, const char *before,
                         const json_t *arr, const char *after)
{
    size_t i;
    json_t *m;

    json_array_foreach(arr, i, m) dl_plan_resource_add_note(
        pr, "%s'%s'%s", before, json_string_value(m), after);
}

static void diff_one(struct dl_pass *pass, const struct dl_iam_store *store,
                     const struct dl_resource *r)
{
    const struct dl_iam_binding_spec *s = &r->spec.iam_binding;
    const struct dl_project_spec *proj =
        r->project ? &r->project->spec.project : NULL;
    struct dl_plan_resource *pr = dl_pass_add(pass, r);
    struct dl_iam_binding_diff d = {0};
    char *name = dl_asprintf("projects/%s", dl_resource_project_id(r));
    char *path = NULL;
    json_t *live = NULL;
    int found = 0;

    if (dl_iam_obs_prepare(pr, dl_iam_store_find(store, name), name) < 0)
        goto done;
    live = dl_iam_members_of(dl_iam_store_find(store, name)->policy, s->role,
                             condition_of(s), &found);
    dl_iam_binding_diff_init(&d, found ? live : NULL, s->members, s->n_members,
                             proj ? proj->protected_members : NULL,
                             proj ? proj->n_protected_members : 0);
    note_members(pr, "protected member ", d.protected,
                 " is not declared: kept (protectedMembers)");
    if (json_array_size(d.missing) == 0 && json_array_size(d.extra) == 0) {
        dl_pass_set_drift(pr, DL_PLAN_STATUS_IN_SYNC, DL_PLAN_ACTION_NONE);
        goto done;
    }
    note_members(pr, "add member ", d.missing, "");
    note_members(pr, "remove member ", d.extra, "");
    path = dl_iam_change_path(s->role, condition_of(s));
    dl_plan_resource_add_change(pr, path, found ? json_incref(live) : NULL,
                                json_incref(d.after), 0);
    if (found)
        dl_pass_set_drift(pr, DL_PLAN_STATUS_DRIFTED, DL_PLAN_ACTION_UPDATE);
    else
        dl_pass_set_drift(pr, DL_PLAN_STATUS_MISSING, DL_PLAN_ACTION_CREATE);
done:
    if (d.after)
        dl_iam_binding_diff_dispose(&d);
    json_decref(live);
    free(path);
    free(name);
}

static int diff(struct dl_pass *pass, struct dl_err *err)
{
    const struct dl_iam_store *store = pass->state[DL_KIND_IAM_POLICY_MEMBER];

    (void)err;
    for (size_t i = 0; i < pass->model->n_resources; i++) {
        const struct dl_resource *r = pass->model->resources[i];

        if (r->kind == DL_KIND_IAM_POLICY_BINDING && dl_pass_selected(pass, r))
            diff_one(pass, store, r);
    }
    return 0;
}

/* The store belongs to IAMPolicyMember, which frees it. */
const struct dl_provider dl_provider_iam_policy_binding = {
    .kind = DL_KIND_IAM_POLICY_BINDING,
    .observe = observe,
    .diff = diff,
    .dispose = NULL,
    .apply = dl_iam_apply_hook,
};
