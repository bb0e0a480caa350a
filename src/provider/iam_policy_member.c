/*
 * iam_policy_member.c - IAMPolicyMember: one member in one (role,
 * condition) binding, additive. The policy is read once per project (or
 * Cloud Run service) through the shared store (iam_store.h), which this
 * provider owns: it lives in pass->state[DL_KIND_IAM_POLICY_MEMBER].
 *
 * Member present in the binding -> in_sync; absent (or no such binding)
 * -> missing, action create (report in report mode), with the change
 * "bindings[ROLE].members: [live] -> [live + member]".
 */
#include <stdlib.h>
#include <string.h>

#include "provider/iam_apply.h"
#include "provider/iam_set.h"
#include "provider/iam_store.h"
#include "provider/provider.h"
#include "util/alloc.h"

static const struct dl_iam_condition *
condition_of(const struct dl_iam_member_spec *s)
{
    return s->has_condition ? &s->condition : NULL;
}

static int observe(struct dl_pass *pass, struct dl_err *err)
{
    struct dl_iam_store *store = dl_iam_store_get(pass);

    (void)err;
    for (size_t i = 0; i < pass->model->n_resources; i++) {
        const struct dl_resource *r = pass->model->resources[i];
        enum dl_gcp_api api;
        char *name = NULL;

        if (r->kind != DL_KIND_IAM_POLICY_MEMBER || !dl_pass_selected(pass, r))
            continue;
        /* A bad resource is reported by diff. */
        if (dl_iam_resource_parse(&name, &api, dl_resource_project_id(r),
                                  r->spec.iam_member.resource, NULL) == 0)
            (void)dl_iam_store_queue(store, pass->gcp, name, api);
        free(name);
    }
    return 0;
}

static void diff_one(struct dl_pass *pass, const struct dl_iam_store *store,
                     const struct dl_resource *r)
{
    const struct dl_iam_member_spec *s = &r->spec.iam_member;
    struct dl_plan_resource *pr = dl_pass_add(pass, r);
    struct dl_err perr = {0};
    const struct dl_iam_policy_obs *o;
    enum dl_gcp_api api;
    char *name = NULL, *path = NULL;
    json_t *live = NULL, *after = NULL;
    int found = 0;

    if (dl_iam_resource_parse(&name, &api, dl_resource_project_id(r),
                              s->resource, &perr) < 0) {
        dl_plan_resource_set_error(pr, "%s", perr.msg);
        goto done;
    }
    o = dl_iam_store_find(store, name);
    if (dl_iam_obs_prepare(pr, o, name) < 0)
        goto done;
    live = dl_iam_members_of(o->policy, s->role, condition_of(s), &found);
    if (dl_iam_members_has(live, s->member)) {
        dl_pass_set_drift(pr, DL_PLAN_STATUS_IN_SYNC, DL_PLAN_ACTION_NONE);
        goto done;
    }
    after = dl_iam_members_with(live, s->member);
    path = dl_iam_change_path(s->role, condition_of(s));
    dl_plan_resource_add_change(pr, path, found ? json_incref(live) : NULL,
                                after, 0);
    after = NULL;
    dl_plan_resource_add_note(pr, "add member '%s' to %s on '%s'%s", s->member,
                              s->role, name, found ? "" : " (a new binding)");
    dl_pass_set_drift(pr, DL_PLAN_STATUS_MISSING, DL_PLAN_ACTION_CREATE);
done:
    json_decref(after);
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

        if (r->kind == DL_KIND_IAM_POLICY_MEMBER && dl_pass_selected(pass, r))
            diff_one(pass, store, r);
    }
    return 0;
}

static void dispose(struct dl_pass *pass)
{
    dl_iam_store_free(pass->state[DL_KIND_IAM_POLICY_MEMBER]);
    pass->state[DL_KIND_IAM_POLICY_MEMBER] = NULL;
}

const struct dl_provider dl_provider_iam_policy_member = {
    .kind = DL_KIND_IAM_POLICY_MEMBER,
    .observe = observe,
    .diff = diff,
    .dispose = dispose,
    .apply = dl_iam_apply_hook,
};
