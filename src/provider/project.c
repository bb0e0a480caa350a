/*
 * project.c - the Project provider: each selected Project is read once
 * (Resource Manager GET /v1/projects/{id}). A project that exists and is
 * ACTIVE plans in sync, with its number in the preconditions; one that
 * cannot be read (not found, permission denied: Google answers 403 for
 * both) or is being deleted plans `error` with the API's message.
 *
 * pass->state[DL_KIND_PROJECT] is a struct projects: one struct project_obs
 * per selected Project, holding the project JSON as returned (projectId,
 * projectNumber, lifecycleState, ...).
 */
#include <stdlib.h>
#include <string.h>

#include "provider/provider.h"
#include "util/alloc.h"

struct project_obs {
    const struct dl_resource *r;
    int done, rc;
    char *error;     /* failure message, or NULL */
    json_t *project; /* the Project as returned, or NULL */
};

struct projects {
    struct project_obs **obs;
    size_t n;
};

static void got_project(struct dl_gcp_client *c, int rc,
                        const struct dl_gcp_response *r,
                        const struct dl_err *err, void *ud)
{
    struct project_obs *o = ud;

    (void)c;
    o->done = 1;
    o->rc = rc;
    if (rc < 0)
        o->error = dl_strdup(err && err->msg[0] ? err->msg : "request failed");
    else if (json_is_object(r->json))
        o->project = json_incref(r->json);
    else
        o->error = dl_strdup("projects.get returned no JSON object");
}

static int observe(struct dl_pass *pass, struct dl_err *err)
{
    struct projects *st = dl_calloc(1, sizeof(*st));

    (void)err;
    pass->state[DL_KIND_PROJECT] = st;
    st->obs =
        dl_reallocarray(NULL, pass->model->n_projects + 1, sizeof(*st->obs));
    for (size_t i = 0; i < pass->model->n_projects; i++) {
        const struct dl_resource *r = pass->model->projects[i];
        struct dl_gcp_request req = {0};
        struct dl_err qerr = {0};
        struct project_obs *o;
        char *enc, *path;

        if (!dl_pass_selected(pass, r))
            continue;
        o = dl_calloc(1, sizeof(*o));
        o->r = r;
        st->obs[st->n++] = o;
        enc = dl_gcp_urlencode(r->name);
        path = dl_asprintf("/v1/projects/%s", enc);
        req.api = DL_GCP_RESOURCEMANAGER;
        req.method = "GET";
        req.path = path;
        req.done = got_project;
        req.ud = o;
        if (dl_gcp_submit(pass->gcp, &req, &qerr) < 0) {
            o->done = 1;
            o->rc = qerr.code ? qerr.code : DL_ERROR;
            o->error = dl_strdup(qerr.msg);
        }
        free(path);
        free(enc);
    }
    return 0;
}

static int diff(struct dl_pass *pass, struct dl_err *err)
{
    struct projects *st = pass->state[DL_KIND_PROJECT];

    (void)err;
    for (size_t i = 0; st && i < st->n; i++) {
        struct project_obs *o = st->obs[i];
        struct dl_plan_resource *pr = dl_pass_add(pass, o->r);
        const char *state, *number;

        if (!o->done) {
            dl_plan_resource_set_error(pr, "project '%s' was not observed",
                                       o->r->name);
            continue;
        }
        if (o->rc < 0 || !o->project) {
            dl_plan_resource_set_error(pr, "cannot read project '%s': %s",
                                       o->r->name,
                                       o->error ? o->error : "no answer");
            continue;
        }
        state =
            json_string_value(json_object_get(o->project, "lifecycleState"));
        number =
            json_string_value(json_object_get(o->project, "projectNumber"));
        if (number)
            json_object_set_new(pr->preconditions, "projectNumber",
                                json_string(number));
        if (state && strcmp(state, "ACTIVE") != 0) {
            dl_plan_resource_set_error(pr, "project '%s' is '%s', not ACTIVE",
                                       o->r->name, state);
            continue;
        }
        dl_pass_set_drift(pr, DL_PLAN_STATUS_IN_SYNC, DL_PLAN_ACTION_NONE);
    }
    return 0;
}

static void dispose(struct dl_pass *pass)
{
    struct projects *st = pass->state[DL_KIND_PROJECT];

    if (!st)
        return;
    for (size_t i = 0; i < st->n; i++) {
        free(st->obs[i]->error);
        json_decref(st->obs[i]->project);
        free(st->obs[i]);
    }
    free(st->obs);
    free(st);
    pass->state[DL_KIND_PROJECT] = NULL;
}

const struct dl_provider dl_provider_project = {
    .kind = DL_KIND_PROJECT,
    .observe = observe,
    .diff = diff,
    .dispose = dispose,
};
