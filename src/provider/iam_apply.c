/*
 * iam_apply.c - one read-modify-write per IAM policy for IAMPolicyMember
 * and IAMPolicyBinding (iam_apply.h, docs/apply.md "IAM").
 *
 * State machine of one policy (struct rmw), all in client callbacks:
 *   READ    getIamPolicy v3 -> (saved plan, first read: etag check) ->
 *           edit a copy -> nothing to change: CONFIRM at once, else SET
 *   SET     setIamPolicy {policy, updateMask "bindings,etag"};
 *           409 ABORTED -> READ again after a backoff (60 s budget)
 *   CONFIRM getIamPolicy v3 -> every desired member present -> APPLIED
 */
#include "provider/iam_apply.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply/apply.h"
#include "provider/iam_set.h"
#include "provider/iam_store.h"
#include "util/alloc.h"
#include "util/log.h"

/* ---- the pure edit ---- */

static const struct dl_iam_condition *cond_of(const struct dl_resource *r)
{
    if (r->kind == DL_KIND_IAM_POLICY_MEMBER)
        return r->spec.iam_member.has_condition ? &r->spec.iam_member.condition
                                                : NULL;
    return r->spec.iam_binding.has_condition ? &r->spec.iam_binding.condition
                                             : NULL;
}

static const char *role_of(const struct dl_resource *r)
{
    return r->kind == DL_KIND_IAM_POLICY_MEMBER ? r->spec.iam_member.role
                                                : r->spec.iam_binding.role;
}

json_t *dl_iam_plan_removals(const struct dl_plan_resource *r)
{
    json_t *out = json_array();
    size_t i;
    json_t *m;

    if (!r || r->nchanges == 0 || r->changes[0].sensitive)
        return out;
    json_array_foreach(r->changes[0].before, i, m)
    {
        const char *s = json_string_value(m);

        if (s && !dl_iam_members_has(r->changes[0].after, s) &&
            !dl_iam_members_has(out, s))
            json_array_append_new(out, json_string(s));
    }
    return out;
}

static void edit_binding(json_t *policy, struct dl_iam_edit *e)
{
    const struct dl_resource *r = e->want;
    const struct dl_iam_binding_spec *s = &r->spec.iam_binding;
    const struct dl_project_spec *proj =
        r->project ? &r->project->spec.project : NULL;
    struct dl_iam_binding_diff d;
    json_t *live, *m;
    int found = 0;
    size_t i;

    live = dl_iam_members_of(policy, s->role, cond_of(r), &found);
    dl_iam_binding_diff_init(&d, found ? live : NULL, s->members, s->n_members,
                             proj ? proj->protected_members : NULL,
                             proj ? proj->n_protected_members : 0);
    json_array_foreach(d.missing, i, m)
    {
        if (dl_iam_policy_add_member(policy, s->role, cond_of(r),
                                     json_string_value(m)))
            e->added++;
    }
    /* d.extra never holds a protected member; of the rest only what the
       plan removes goes (a member added since the plan stays). */
    json_array_foreach(d.extra, i, m)
    {
        const char *mem = json_string_value(m);

        if (dl_iam_members_has(e->removable, mem) &&
            dl_iam_policy_remove_member(policy, s->role, cond_of(r), mem))
            e->removed++;
    }
    dl_iam_binding_diff_dispose(&d);
    json_decref(live);
}

int dl_iam_apply_edits(json_t *policy, struct dl_iam_edit *e, size_t n)
{
    int changed = 0;

    for (size_t i = 0; i < n; i++) {
        const struct dl_resource *r = e[i].want;

        e[i].added = e[i].removed = 0;
        if (!r)
            continue;
        if (r->kind == DL_KIND_IAM_POLICY_MEMBER) {
            if (dl_iam_policy_add_member(policy, r->spec.iam_member.role,
                                         cond_of(r), r->spec.iam_member.member))
                e[i].added++;
        } else if (r->kind == DL_KIND_IAM_POLICY_BINDING) {
            edit_binding(policy, &e[i]);
        }
        if (e[i].added || e[i].removed)
            changed = 1;
    }
    return changed;
}

int dl_iam_edit_satisfied(const json_t *policy, const struct dl_iam_edit *e,
                          const char **missing)
{
    const struct dl_resource *r = e->want;
    json_t *live;
    int found = 0, ok = 1;

    *missing = NULL;
    if (!r)
        return 1;
    live = dl_iam_members_of(policy, role_of(r), cond_of(r), &found);
    if (r->kind == DL_KIND_IAM_POLICY_MEMBER) {
        if (!dl_iam_members_has(live, r->spec.iam_member.member)) {
            *missing = r->spec.iam_member.member;
            ok = 0;
        }
    } else {
        for (size_t i = 0; ok && i < r->spec.iam_binding.n_members; i++) {
            if (!dl_iam_members_has(live, r->spec.iam_binding.members[i])) {
                *missing = r->spec.iam_binding.members[i];
                ok = 0;
            }
        }
    }
    json_decref(live);
    return ok;
}

json_t *dl_iam_set_body(const json_t *policy)
{
    json_t *bindings = json_object_get(policy, "bindings");
    json_t *etag = json_object_get(policy, "etag");
    json_t *p = json_object();

    json_object_set_new(p, "bindings",
                        json_is_array(bindings) ? json_deep_copy(bindings)
                                                : json_array());
    if (json_is_string(etag))
        json_object_set(p, "etag", etag);
    json_object_set_new(p, "version",
                        json_integer(dl_iam_policy_version_needed(policy)));
    return json_pack("{s:o,s:s}", "policy", p, "updateMask", "bindings,etag");
}

/* ---- the read-modify-write ---- */

enum rmw_stage { RMW_READ, RMW_SET, RMW_CONFIRM };

struct rmw {
    struct dl_apply *ap;
    char *name; /* "projects/P" or "projects/P/locations/R/services/S" */
    enum dl_gcp_api api;
    struct dl_plan_resource **rs;
    struct dl_iam_edit *edits; /* parallel to rs */
    size_t n, cap;
    json_t *removables; /* owns the edits' removable arrays */
    enum rmw_stage stage;
    int reads;        /* getIamPolicy reads for the edit so far */
    int sets;         /* setIamPolicy attempts */
    int changed;      /* the last edit changed the policy */
    int64_t deadline; /* the client's clock */
    int finished;     /* every resource recorded */
};

struct iam_apply {
    struct rmw **p;
    size_t n, cap;
};

static void rmw_free(struct rmw *w)
{
    if (!w)
        return;
    free(w->name);
    free(w->rs);
    free(w->edits);
    json_decref(w->removables);
    free(w);
}

static void state_free(void *state)
{
    struct iam_apply *ia = state;

    if (!ia)
        return;
    for (size_t i = 0; i < ia->n; i++)
        rmw_free(ia->p[i]);
    free(ia->p);
    free(ia);
}

/* Record every resource of w with the same outcome and message. */
static void record_all(struct rmw *w, enum dl_apply_outcome o, const char *msg)
{
    for (size_t i = 0; i < w->n; i++)
        dl_apply_record(w->ap, w->rs[i], o, 0, "%s", msg);
    w->finished = 1;
}

static void submit_read(struct rmw *w, int64_t delay_ns);

static void fail_all(struct rmw *w, const char *fmt, ...) DL_PRINTF(2, 3);
static void fail_all(struct rmw *w, const char *fmt, ...)
{
    char msg[DL_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    record_all(w, DL_APPLY_FAILED, msg);
}

/* Redo the read-modify-write after a concurrent change, with exponential
   backoff (250 ms, 500 ms, ... capped at 8 s, full jitter) inside the
   budget. */
static void retry(struct rmw *w, const char *why)
{
    struct dl_gcp_client *c = dl_apply_gcp(w->ap);
    int64_t cap = 250000000LL << (w->sets < 5 ? w->sets : 5);
    int64_t delay;

    if (cap > 8000000000LL)
        cap = 8000000000LL;
    delay = cap / 2 + (int64_t)((uint64_t)rand() % (uint64_t)(cap / 2 + 1));
    if (dl_apply_cancelled(w->ap))
        return; /* the executor records it as cancelled */
    if (dl_gcp_client_now(c) + delay > w->deadline) {
        fail_all(w,
                 "setIamPolicy on '%s' gave up after %d attempt(s) in 60s: "
                 "concurrent policy changes",
                 w->name, w->sets);
        return;
    }
    dl_info("apply: %s: %s; reading the policy again", w->name, why);
    submit_read(w, delay);
}

static void confirm(struct rmw *w, const json_t *policy)
{
    for (size_t i = 0; i < w->n; i++) {
        const struct dl_iam_edit *e = &w->edits[i];
        const char *missing = NULL;

        if (!dl_iam_edit_satisfied(policy, e, &missing)) {
            dl_apply_record(w->ap, w->rs[i], DL_APPLY_FAILED, 0,
                            "member '%s' is not in %s on '%s' after "
                            "setIamPolicy",
                            missing, role_of(e->want), w->name);
        } else if (e->added || e->removed) {
            dl_apply_record(w->ap, w->rs[i], DL_APPLY_APPLIED, 0,
                            "%s on '%s': added %zu, removed %zu member(s)",
                            role_of(e->want), w->name, e->added, e->removed);
        } else {
            dl_apply_record(w->ap, w->rs[i], DL_APPLY_APPLIED, 0,
                            "%s on '%s': already as desired", role_of(e->want),
                            w->name);
        }
    }
    w->finished = 1;
}

/* On the first read of a saved plan: does every resource's planned etag
   still match? NULL when it does, else the planned etag that differs. */
static const char *moved_etag(const struct rmw *w, const char *etag)
{
    for (size_t i = 0; i < w->n; i++) {
        const char *want =
            json_string_value(json_object_get(w->rs[i]->preconditions, "etag"));

        if (want && (!etag || strcmp(want, etag) != 0))
            return want;
    }
    return NULL;
}

static void set_done(struct dl_gcp_client *c, int rc,
                     const struct dl_gcp_response *r, const struct dl_err *err,
                     void *ud);

static void read_done(struct dl_gcp_client *c, int rc,
                      const struct dl_gcp_response *r, const struct dl_err *err,
                      void *ud)
{
    struct rmw *w = ud;
    struct dl_gcp_request req = {0};
    struct dl_err serr = {0};
    const char *etag, *planned;
    json_t *policy = NULL, *body = NULL;
    char *path = NULL;

    (void)c;
    if (w->finished)
        return;
    if (rc < 0) {
        fail_all(w, "getIamPolicy on '%s' failed: %s", w->name,
                 err && err->msg[0] ? err->msg : dl_err_code_name(rc));
        return;
    }
    /* A policy we cannot read fully is never written back. */
    if (dl_iam_policy_check(r->json, &serr) < 0) {
        fail_all(w, "getIamPolicy on '%s': %s", w->name, serr.msg);
        return;
    }
    etag = json_string_value(json_object_get(r->json, "etag"));
    if (w->stage == RMW_CONFIRM) {
        confirm(w, r->json);
        return;
    }
    w->reads++;
    if (w->reads == 1 && dl_apply_saved_plan(w->ap) &&
        (planned = moved_etag(w, etag)) != NULL) {
        char *msg = dl_asprintf("policy '%s' moved since the plan was made "
                                "(etag \"%s\" -> \"%s\"): not applied, plan "
                                "again",
                                w->name, planned, etag ? etag : "");

        record_all(w, DL_APPLY_FAILED, msg);
        free(msg);
        return;
    }
    if (w->reads == 1 && moved_etag(w, etag))
        dl_info("apply: policy '%s' moved since the plan was made: "
                "re-evaluated",
                w->name);
    /* Recompute the edit from the model on what was just read. */
    policy = json_deep_copy(r->json);
    w->changed = dl_iam_apply_edits(policy, w->edits, w->n);
    if (!w->changed) {
        /* Nothing to change: what was read is the confirmation. */
        w->stage = RMW_CONFIRM;
        confirm(w, policy);
        goto done;
    }
    if (dl_apply_cancelled(w->ap))
        goto done;
    body = dl_iam_set_body(policy);
    if (w->api == DL_GCP_RESOURCEMANAGER)
        path = dl_asprintf("/v1/%s:setIamPolicy", w->name);
    else
        path = dl_asprintf("/v2/%s:setIamPolicy", w->name);
    req.api = w->api;
    req.method = "POST";
    req.path = path;
    req.body = body;
    /* A retried set that had gone through meets a new etag: 409, then the
       re-read finds the edit done. */
    req.retry = DL_GCP_RETRY_SAFE;
    req.done = set_done;
    req.ud = w;
    w->stage = RMW_SET;
    w->sets++;
    if (dl_gcp_submit(dl_apply_gcp(w->ap), &req, &serr) < 0)
        fail_all(w, "cannot queue setIamPolicy on '%s': %s", w->name, serr.msg);
done:
    json_decref(body);
    json_decref(policy);
    free(path);
}

static void set_done(struct dl_gcp_client *c, int rc,
                     const struct dl_gcp_response *r, const struct dl_err *err,
                     void *ud)
{
    struct rmw *w = ud;

    (void)c;
    (void)r;
    if (w->finished)
        return;
    if (rc == DL_ECONFLICT) {
        w->stage = RMW_READ;
        retry(w, "setIamPolicy: concurrent policy change (409)");
        return;
    }
    if (rc < 0) {
        fail_all(w, "setIamPolicy on '%s' failed: %s", w->name,
                 err && err->msg[0] ? err->msg : dl_err_code_name(rc));
        return;
    }
    /* Read back to confirm. */
    w->stage = RMW_CONFIRM;
    submit_read(w, 0);
}

static void submit_read(struct rmw *w, int64_t delay_ns)
{
    struct dl_gcp_request req = {0};
    struct dl_err err = {0};
    json_t *body = NULL;
    char *path;

    req.api = w->api;
    if (w->api == DL_GCP_RESOURCEMANAGER) {
        path = dl_asprintf("/v1/%s:getIamPolicy", w->name);
        body = json_pack("{s:{s:i}}", "options", "requestedPolicyVersion", 3);
        req.method = "POST";
        req.body = body;
    } else {
        path = dl_asprintf("/v2/%s:getIamPolicy"
                           "?options.requestedPolicyVersion=3",
                           w->name);
        req.method = "GET";
    }
    req.path = path;
    req.retry = DL_GCP_RETRY_READ;
    req.delay_ns = delay_ns;
    req.done = read_done;
    req.ud = w;
    if (dl_gcp_submit(dl_apply_gcp(w->ap), &req, &err) < 0)
        fail_all(w, "cannot queue getIamPolicy on '%s': %s", w->name, err.msg);
    json_decref(body);
    free(path);
}

/* The policy r's plan entry names (preconditions.resource), else the one
   its declared spec names. malloc'd, or NULL with err set. */
static char *policy_of(const struct dl_plan_resource *r,
                       const struct dl_resource *want, enum dl_gcp_api *api,
                       struct dl_err *err)
{
    const char *pre =
        json_string_value(json_object_get(r->preconditions, "resource"));
    char *name = NULL;

    if (pre) {
        *api = strstr(pre, "/services/") ? DL_GCP_RUN : DL_GCP_RESOURCEMANAGER;
        return dl_strdup(pre);
    }
    if (want->kind == DL_KIND_IAM_POLICY_BINDING) {
        *api = DL_GCP_RESOURCEMANAGER;
        return dl_asprintf("projects/%s", dl_resource_project_id(want));
    }
    if (dl_iam_resource_parse(&name, api, dl_resource_project_id(want),
                              want->spec.iam_member.resource, err) < 0)
        return NULL;
    return name;
}

int dl_iam_apply_hook(struct dl_apply *ap, struct dl_plan_resource *const *rs,
                      size_t n, struct dl_err *err)
{
    struct iam_apply *ia = dl_apply_state(ap, DL_KIND_IAM_POLICY_MEMBER);
    struct dl_gcp_client *c = dl_apply_gcp(ap);

    (void)err;
    if (!ia) {
        ia = dl_calloc(1, sizeof(*ia));
        dl_apply_set_state(ap, DL_KIND_IAM_POLICY_MEMBER, ia, state_free);
    }
    for (size_t i = 0; i < n; i++) {
        struct dl_plan_resource *r = rs[i];
        const struct dl_resource *want = dl_apply_desired(ap, r);
        struct dl_err perr = {0};
        struct rmw *w = NULL;
        enum dl_gcp_api api = DL_GCP_RESOURCEMANAGER;
        char *name;
        json_t *rem = NULL;

        if (!want || (want->kind != DL_KIND_IAM_POLICY_MEMBER &&
                      want->kind != DL_KIND_IAM_POLICY_BINDING)) {
            dl_apply_record(ap, r, DL_APPLY_FAILED, 0,
                            "no declared %s '%s' at the plan's commit", r->kind,
                            r->name);
            continue;
        }
        name = policy_of(r, want, &api, &perr);
        if (!name) {
            dl_apply_record(ap, r, DL_APPLY_FAILED, 0, "%s", perr.msg);
            continue;
        }
        for (size_t k = 0; k < ia->n && !w; k++)
            if (strcmp(ia->p[k]->name, name) == 0)
                w = ia->p[k];
        if (!w) {
            w = dl_calloc(1, sizeof(*w));
            w->ap = ap;
            w->name = name;
            name = NULL;
            w->api = api;
            w->removables = json_array();
            w->deadline = dl_gcp_client_now(c) + DL_IAM_APPLY_BUDGET_NS;
            if (ia->n == ia->cap) {
                ia->cap = ia->cap ? 2 * ia->cap : 4;
                ia->p = dl_reallocarray(ia->p, ia->cap, sizeof(*ia->p));
            }
            ia->p[ia->n++] = w;
            submit_read(w, 0);
        }
        free(name);
        if (w->finished) {
            /* The read could not even be queued: w already failed its
               resources; fail this one the same way. */
            dl_apply_record(ap, r, DL_APPLY_FAILED, 0,
                            "cannot read the IAM policy '%s'", w->name);
            continue;
        }
        if (w->n == w->cap) {
            w->cap = w->cap ? 2 * w->cap : 4;
            w->rs = dl_reallocarray(w->rs, w->cap, sizeof(*w->rs));
            w->edits = dl_reallocarray(w->edits, w->cap, sizeof(*w->edits));
        }
        if (want->kind == DL_KIND_IAM_POLICY_BINDING) {
            rem = dl_iam_plan_removals(r);
            json_array_append_new(w->removables, rem);
        }
        w->rs[w->n] = r;
        w->edits[w->n] = (struct dl_iam_edit){.want = want, .removable = rem};
        w->n++;
    }
    return 0;
}
