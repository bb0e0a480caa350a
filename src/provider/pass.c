#include "provider/provider.h"

#include <string.h>

#include "util/alloc.h"
#include "util/time.h"

const struct dl_provider *dl_provider_for(enum dl_kind kind)
{
    for (size_t i = 0; dl_providers[i]; i++)
        if (dl_providers[i]->kind == kind)
            return dl_providers[i];
    return NULL;
}

/* Does filter ("Kind/name" or "project/Kind/name") select r? */
static int only_matches(const char *filter, const struct dl_resource *r)
{
    const char *kind = dl_kind_name(r->kind);
    const char *project = dl_resource_project_id(r);
    size_t pl = strlen(project), kl = strlen(kind);

    if (strncmp(filter, project, pl) == 0 && filter[pl] == '/' &&
        strchr(filter + pl + 1, '/'))
        filter += pl + 1;
    return strncmp(filter, kind, kl) == 0 && filter[kl] == '/' &&
           strcmp(filter + kl + 1, r->name) == 0;
}

int dl_pass_selected(const struct dl_pass *pass, const struct dl_resource *r)
{
    if (pass->opts.project &&
        strcmp(pass->opts.project, dl_resource_project_id(r)) != 0)
        return 0;
    if (pass->opts.n_only == 0)
        return 1;
    for (size_t i = 0; i < pass->opts.n_only; i++)
        if (only_matches(pass->opts.only[i], r))
            return 1;
    return 0;
}

struct dl_plan_resource *dl_pass_add(struct dl_pass *pass,
                                     const struct dl_resource *r)
{
    struct dl_plan_resource *pr = dl_plan_add_resource(
        pass->plan, dl_resource_project_id(r), dl_kind_name(r->kind), r->name);
    char commit[41] = "";

    /* Provenance is best effort: a file not yet committed has none. */
    if (pass->source && pass->source->id.commit[0] &&
        dl_source_blame_line(pass->source, r->file, r->pos.line, commit, NULL) <
            0)
        commit[0] = '\0';
    dl_plan_resource_set_defined_at(pr, r->file, r->pos.line, commit);
    pr->mode =
        r->mode == DL_MODE_ENFORCE ? DL_PLAN_MODE_ENFORCE : DL_PLAN_MODE_REPORT;
    return pr;
}

void dl_pass_set_drift(struct dl_plan_resource *pr, enum dl_plan_status st,
                       enum dl_plan_action enforce_action)
{
    pr->status = st;
    if (st == DL_PLAN_STATUS_IN_SYNC || st == DL_PLAN_STATUS_ERROR)
        pr->action = DL_PLAN_ACTION_NONE;
    else
        pr->action = pr->mode == DL_PLAN_MODE_ENFORCE ? enforce_action
                                                      : DL_PLAN_ACTION_REPORT;
}

int dl_pass_run(struct dl_pass *pass, struct dl_err *err)
{
    size_t observed = 0;
    int rc = 0;

    pass->now_ns = pass->opts.now_ns ? pass->opts.now_ns : dl_time_now_ns();
    pass->plan->created_at = pass->now_ns;
    for (; dl_providers[observed]; observed++) {
        rc = dl_providers[observed]->observe(pass, err);
        if (rc < 0)
            goto done;
    }
    /* One loop for every provider: all observations run concurrently. */
    rc = dl_gcp_client_run(pass->gcp, err);
    if (rc < 0)
        goto done;
    for (size_t i = 0; dl_providers[i]; i++) {
        rc = dl_providers[i]->diff(pass, err);
        if (rc < 0)
            goto done;
    }
    dl_plan_sort(pass->plan);
done:
    for (size_t i = 0; i < observed; i++)
        if (dl_providers[i]->dispose)
            dl_providers[i]->dispose(pass);
    return rc;
}

void dl_pass_keep(struct dl_pass *pass, enum dl_kind kind, void *kept,
                  void (*free_fn)(void *kept))
{
    if ((unsigned)kind >= DL_KIND_COUNT)
        return;
    if (pass->kept[kind] && pass->kept_free[kind])
        pass->kept_free[kind](pass->kept[kind]);
    pass->kept[kind] = kept;
    pass->kept_free[kind] = free_fn;
}

void dl_pass_release_kept(struct dl_pass *pass)
{
    if (!pass)
        return;
    for (int k = 0; k < DL_KIND_COUNT; k++)
        dl_pass_keep(pass, (enum dl_kind)k, NULL, NULL);
}
