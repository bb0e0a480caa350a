/*
 * loop.c - the controller's loop (see loop.h).
 */
#include "controller/loop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply/apply.h"
#include "cli/load.h"
#include "gcp/endpoint.h"
#include "model/diag.h"
#include "plan/plan.h"
#include "provider/provider.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/json_str.h"
#include "util/log.h"
#include "util/time.h"

#define DEFAULT_PARALLELISM 16

int dl_loop_init(struct dl_loop *l, const struct dl_loop_config *cfg,
                 struct dl_err *err)
{
    struct dl_gcp_client_opts gopts = {0};
    int rc;

    memset(l, 0, sizeof(*l));
    l->cfg = *cfg;
    if (l->cfg.lease_ttl_ns <= 0)
        l->cfg.lease_ttl_ns = DL_LEASE_DEFAULT_TTL_NS;
    if (l->cfg.parallelism <= 0)
        l->cfg.parallelism = DEFAULT_PARALLELISM;
    dl_metrics_controller_init(&l->metrics);
    l->status = dl_status_new(0, 0);
    dl_schedule_waker_init(&l->waker);
    l->rng = dl_schedule_seed();
    if (cfg->gcp_opts)
        gopts = *cfg->gcp_opts;
    if (!gopts.ca_bundle)
        gopts.ca_bundle = cfg->ca_bundle;
    gopts.max_inflight = l->cfg.parallelism;
    rc = dl_gcp_client_new(&l->gcp, &gopts, err);
    if (rc < 0) {
        dl_loop_dispose(l);
        return rc;
    }
    return 0;
}

void dl_loop_trigger(struct dl_loop *l)
{
    dl_schedule_waker_trigger(&l->waker);
}

void dl_loop_stop(struct dl_loop *l)
{
    l->cancel = 1;
    dl_schedule_waker_stop(&l->waker);
}

/* ---- leases ---- */

static struct dl_loop_lease *lease_find(struct dl_loop *l, const char *p)
{
    for (size_t i = 0; i < l->n_leases; i++)
        if (strcmp(l->leases[i].project, p) == 0)
            return &l->leases[i];
    return NULL;
}

static void lease_drop(struct dl_loop *l, size_t i)
{
    dl_lease_free(l->leases[i].lease);
    free(l->leases[i].project);
    l->leases[i] = l->leases[--l->n_leases];
}

static void lease_release_at(struct dl_loop *l, size_t i)
{
    struct dl_err err;

    if (dl_lease_release(l->leases[i].lease, &err) < 0)
        dl_warn("project '%s': releasing the lease failed: %s",
                l->leases[i].project, err.msg);
    else
        dl_info("project '%s': lease released", l->leases[i].project);
    lease_drop(l, i);
}

void dl_loop_release_leases(struct dl_loop *l)
{
    while (l->n_leases > 0)
        lease_release_at(l, l->n_leases - 1);
}

/* Take or renew project's lease: 1 held, 0 not. */
static int lease_hold(struct dl_loop *l, const struct dl_resource *proj)
{
    const char *project = proj->name;
    int susp = l->cfg.suspend || proj->spec.project.suspend;
    struct dl_loop_lease *e = lease_find(l, project);
    struct dl_lease_opts lo = {0};
    struct dl_lease *lease = NULL;
    struct dl_err err;
    char what[600];
    int rc;

    if (e) {
        rc = dl_lease_renew(e->lease, &err);
        if (rc == 0) {
            dl_status_set_project(l->status, project, susp, "held");
            return 1;
        }
        dl_warn("project '%s': lost the lease: %s", project, err.msg);
        lease_drop(l, (size_t)(e - l->leases));
    }
    lo.ttl_ns = l->cfg.lease_ttl_ns;
    rc = dl_lease_acquire(&lease, l->gcp, project, &lo, &err);
    if (rc == 0) {
        l->leases =
            dl_reallocarray(l->leases, l->n_leases + 1, sizeof(*l->leases));
        l->leases[l->n_leases].project = dl_strdup(project);
        l->leases[l->n_leases].lease = lease;
        l->n_leases++;
        dl_info("project '%s': lease acquired (%s)", project,
                dl_lease_holder(lease));
        dl_status_set_project(l->status, project, susp, "held");
        return 1;
    }
    if (rc == DL_ECONFLICT) {
        dl_log(DL_LOG_NOTICE,
               "project '%s': this replica does not hold the lease, planning "
               "and reporting only: %s",
               project, err.msg);
        snprintf(what, sizeof(what), "not held: %s", err.msg);
    } else {
        dl_warn("project '%s': cannot take the lease, planning and reporting "
                "only: %s",
                project, err.msg);
        snprintf(what, sizeof(what), "unknown: %s", err.msg);
    }
    dl_status_set_project(l->status, project, susp, what);
    return 0;
}

/* ---- source ---- */

/* Open the source and load the model; on success they replace the last
   good ones. 0, or <0 with err set (the last good ones are kept). */
static int load_source(struct dl_loop *l, struct dl_err *err)
{
    struct dl_source *src = NULL;
    struct dl_model *model = NULL;
    struct dl_diags diags;
    int rc;

    dl_diags_init(&diags);
    rc = dl_source_open(&src, &l->cfg.source, err);
    if (rc == 0) {
        rc = dl_model_load(&model, src->tree, src->id.path, &diags, err);
        if (rc < 0 && dl_diags_count(&diags) > 0) {
            const struct dl_diag *d = &diags.v[0];

            dl_err_set(err, rc,
                       "the desired state at %s has %zu error(s), the first: "
                       "%s:%d:%d: %s",
                       src->id.commit[0] ? src->id.commit : src->id.url,
                       dl_diags_count(&diags), d->file ? d->file : "", d->line,
                       d->col, d->message ? d->message : "");
        }
    }
    if (rc == 0)
        rc = dl_cli_verify_signatures(src, model, err);
    dl_diags_dispose(&diags);
    if (rc < 0) {
        dl_model_free(model);
        dl_source_free(src);
        return rc;
    }
    dl_model_free(l->model);
    dl_source_free(l->src);
    l->model = model;
    l->src = src;
    return 0;
}

/* ---- metrics ---- */

static uint64_t status_count(const struct dl_gcp_api_metrics *a, int status)
{
    for (size_t i = 0; i < a->nstatus; i++)
        if (a->status[i].status == status)
            return a->status[i].count;
    return 0;
}

/* Export the client's request counts since the last call. */
static void export_requests(struct dl_loop *l)
{
    const struct dl_gcp_metrics *m = dl_gcp_client_metrics(l->gcp);

    for (int api = 0; api < DL_GCP_API_COUNT; api++) {
        const struct dl_gcp_api_metrics *a = &m->api[api];
        const struct dl_gcp_api_metrics *s = &l->seen.api[api];

        for (size_t i = 0; i < a->nstatus; i++) {
            uint64_t before = status_count(s, a->status[i].status);

            for (uint64_t k = before; k < a->status[i].count; k++)
                dl_metrics_controller_count_request(
                    &l->metrics, dl_gcp_api_name((enum dl_gcp_api)api),
                    a->status[i].status);
        }
    }
    l->seen = *m;
}

/* ---- a pass ---- */

static int owned(const struct dl_loop *l, const struct dl_resource *r)
{
    return dl_schedule_shard_owns(&l->cfg.shard, r->project->name);
}

/* driftless_firestore_documents from the plan's Firestore hygiene counts. */
static void export_documents(struct dl_loop *l, const struct dl_model *view,
                             const struct dl_plan *p)
{
    for (size_t i = 0; i < view->n_resources; i++) {
        const struct dl_resource *r = view->resources[i];

        if (r->kind != DL_KIND_FIRESTORE_COLLECTION_POLICY)
            continue;
        for (size_t j = 0; j < p->nresources; j++) {
            const struct dl_plan_resource *pr = p->resources[j];

            if (pr->hygiene && !pr->error &&
                strcmp(pr->kind, dl_kind_name(r->kind)) == 0 &&
                strcmp(pr->name, r->name) == 0 &&
                strcmp(pr->project, r->project->name) == 0) {
                dl_metrics_controller_set_documents(
                    &l->metrics, pr->project, r->spec.firestore.collection,
                    pr->hygiene->total);
                break;
            }
        }
    }
}

static int is_held(struct dl_loop *l, const char *project)
{
    return lease_find(l, project) != NULL;
}

static void log_pass(const struct dl_status_pass *sp, const struct dl_plan *p)
{
    struct dl_buf f = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_plan_summary sum = {0};

    if (p)
        dl_plan_summarize(p, &sum);
    if (dl_buf_printf(
            &f,
            "\"result\":\"%s\",\"duration_seconds\":%.3f,"
            "\"changes_applied\":%lld,\"resources\":%lld,"
            "\"commit\":",
            dl_pass_result_name(sp->result), (double)sp->duration_ns / 1e9,
            (long long)sp->changes_applied, (long long)sum.resources) == 0 &&
        dl_json_str_append(&f, sp->commit) == 0)
        dl_log_fields(sp->result == DL_PASS_ERROR     ? DL_LOG_ERROR
                      : sp->result == DL_PASS_PARTIAL ? DL_LOG_WARNING
                                                      : DL_LOG_INFO,
                      dl_buf_cstr(&f),
                      "pass %s in %.3f s: %lld changes "
                      "applied%s%s",
                      dl_pass_result_name(sp->result),
                      (double)sp->duration_ns / 1e9,
                      (long long)sp->changes_applied,
                      sp->message[0] ? ": " : "", sp->message);
    dl_buf_dispose(&f);
}

/* Append s to the message of len bytes, cut to fit (with its NUL). */
static void put_msg(struct dl_status_pass *sp, size_t *len, const char *s)
{
    size_t n = strlen(s), room = sizeof(sp->message) - 1 - *len;

    if (n > room)
        n = room;
    memcpy(sp->message + *len, s, n);
    *len += n;
    sp->message[*len] = '\0';
}

/* Append "what: s" (s may be NULL) to the pass's message, cut to fit. */
static void append_msg(struct dl_status_pass *sp, const char *what,
                       const char *s)
{
    size_t len = strlen(sp->message);

    if (len + 3 >= sizeof(sp->message))
        return;
    if (len > 0)
        put_msg(sp, &len, "; ");
    put_msg(sp, &len, what);
    if (s) {
        put_msg(sp, &len, ": ");
        put_msg(sp, &len, s);
    }
}

enum dl_pass_result dl_loop_pass(struct dl_loop *l)
{
    struct dl_status_pass sp = {0};
    struct dl_model view = {0};
    struct dl_plan sub;
    struct dl_pass pass = {0};
    struct dl_apply_opts aopts = {0};
    struct dl_apply_report report = {0};
    struct dl_err err;
    int64_t t0 = dl_time_mono_ns();
    int failed = 0, partial = 0;

    sp.started_at = dl_time_now_ns();
    l->passes++;
    if (load_source(l, &err) < 0) {
        if (l->model) {
            dl_warn("source: %s; keeping the last good commit %s", err.msg,
                    l->src->id.commit[0] ? l->src->id.commit : "(none)");
            append_msg(&sp, "source (kept the last good commit)", err.msg);
            partial = 1;
        } else {
            dl_error("source: %s", err.msg);
            append_msg(&sp, "source", err.msg);
            failed = 1;
            goto record;
        }
    }
    snprintf(sp.commit, sizeof(sp.commit), "%s", l->src->id.commit);
    dl_metrics_controller_set_commit(&l->metrics, l->src->id.commit);

    /* This shard's part of the model (borrowed pointers). */
    view = *l->model;
    view.resources = dl_reallocarray(NULL, l->model->n_resources + 1,
                                     sizeof(*view.resources));
    view.projects =
        dl_reallocarray(NULL, l->model->n_projects + 1, sizeof(*view.projects));
    view.n_resources = view.n_projects = 0;
    for (size_t i = 0; i < l->model->n_resources; i++)
        if (owned(l, l->model->resources[i]))
            view.resources[view.n_resources++] = l->model->resources[i];
    for (size_t i = 0; i < l->model->n_projects; i++)
        if (owned(l, l->model->projects[i]))
            view.projects[view.n_projects++] = l->model->projects[i];

    pass.model = &view;
    pass.source = l->src->id.commit[0] ? l->src : NULL;
    pass.gcp = l->gcp;
    pass.plan = dl_plan_new();
    dl_plan_set_source(pass.plan, l->src->id.url, l->src->id.ref,
                       l->src->id.commit, l->src->id.path, l->src->id.dirty);
    if (dl_pass_run(&pass, &err) < 0) {
        dl_error("plan: %s", err.msg);
        append_msg(&sp, "plan", err.msg);
        failed = 1;
        goto record;
    }
    dl_status_update_plan(l->status, pass.plan, dl_time_now_ns());
    dl_metrics_controller_set_plan(&l->metrics, pass.plan);
    export_documents(l, &view, pass.plan);
    if (dl_plan_has_errors(pass.plan)) {
        partial = 1;
        append_msg(&sp, "some resources are in error", NULL);
    }

    /* Leases: release those of projects no longer ours, hold the rest. */
    for (size_t i = l->n_leases; i-- > 0;) {
        int found = 0;

        for (size_t j = 0; j < view.n_projects && !found; j++)
            found = strcmp(view.projects[j]->name, l->leases[i].project) == 0;
        if (!found)
            lease_release_at(l, i);
    }
    for (size_t j = 0; j < view.n_projects && !l->cancel; j++)
        lease_hold(l, view.projects[j]);

    /* Apply the held projects' part of the plan. */
    sub = *pass.plan;
    sub.resources = dl_reallocarray(NULL, pass.plan->nresources + 1,
                                    sizeof(*sub.resources));
    sub.nresources = 0;
    for (size_t i = 0; i < pass.plan->nresources; i++)
        if (is_held(l, pass.plan->resources[i]->project))
            sub.resources[sub.nresources++] = pass.plan->resources[i];
    sub.resources_cap = sub.nresources;
    if (dl_plan_has_changes(&sub) && !l->cancel) {
        aopts.max_deletes = -1;
        aopts.suspend = l->cfg.suspend;
        aopts.cancel = &l->cancel;
        if (dl_apply_run(&report, &sub, &view, l->src, l->gcp, &aopts, &err) <
            0) {
            dl_error("apply: %s", err.msg);
            append_msg(&sp, "apply", err.msg);
            partial = 1;
        }
        for (size_t i = 0; i < report.n; i++) {
            const struct dl_apply_result *r = &report.results[i];

            if (r->outcome == DL_APPLY_APPLIED) {
                int64_t n = r->objects > 0 ? r->objects : 1;

                dl_metrics_controller_count_changes(
                    &l->metrics, r->resource->kind,
                    dl_plan_action_name(r->resource->action), n);
                dl_status_mark_applied(l->status, r->resource->address,
                                       dl_time_now_ns(), r->message);
                sp.changes_applied += n;
                dl_info("applied %s (%s)%s%s", r->resource->address,
                        dl_plan_action_name(r->resource->action),
                        r->message ? ": " : "", r->message ? r->message : "");
            } else if (r->outcome == DL_APPLY_FAILED) {
                dl_warn("applying %s failed: %s", r->resource->address,
                        r->message ? r->message : "");
            }
        }
        if (report.failed > 0) {
            partial = 1;
            append_msg(&sp, "some changes failed", NULL);
        }
        if (report.error) {
            partial = 1;
            append_msg(&sp, "apply", report.error);
        }
        dl_apply_report_dispose(&report);
    }
    free(sub.resources);

record:
    export_requests(l);
    sp.duration_ns = dl_time_mono_ns() - t0;
    sp.result = failed    ? DL_PASS_ERROR
                : partial ? DL_PASS_PARTIAL
                          : DL_PASS_SUCCESS;
    dl_status_record_pass(l->status, &sp);
    dl_metrics_controller_record_pass(&l->metrics,
                                      dl_pass_result_name(sp.result),
                                      sp.duration_ns, dl_time_now_ns());
    log_pass(&sp, pass.plan);
    dl_plan_free(pass.plan);
    free(view.resources);
    free(view.projects);
    return sp.result;
}

/* Has the source moved to another commit since the last good load? A
   failure to look is not a reason to pass early: the interval still runs. */
static int source_moved(struct dl_loop *l)
{
    struct dl_source *src = NULL;
    struct dl_err err;
    int moved = 0;

    if (!l->src || !l->src->id.commit[0])
        return 0;
    if (dl_source_open(&src, &l->cfg.source, &err) < 0) {
        dl_debug("commit poll: %s", err.msg);
        return 0;
    }
    if (src->id.commit[0] && strcmp(src->id.commit, l->src->id.commit) != 0) {
        dl_info("new commit %.12s (was %.12s): starting a pass", src->id.commit,
                l->src->id.commit);
        moved = 1;
    }
    dl_source_free(src);
    return moved;
}

void dl_loop_run(struct dl_loop *l)
{
    for (;;) {
        int64_t delay;

        dl_loop_pass(l);
        if (l->cancel)
            break;
        delay = dl_schedule_delay(l->cfg.interval_ns, l->cfg.jitter, &l->rng);
        dl_debug("next pass in %.3f s", (double)delay / 1e9);
        /* Wait in steps of the poll interval, looking for a new commit. */
        while (delay > 0) {
            int64_t step = l->cfg.poll_ns > 0 && l->cfg.poll_ns < delay
                               ? l->cfg.poll_ns
                               : delay;

            switch (dl_schedule_waker_wait(&l->waker, step)) {
            case DL_WAKE_STOP:
                return;
            case DL_WAKE_TRIGGER:
                dl_info("pass triggered");
                delay = 0;
                continue;
            case DL_WAKE_TIMEOUT:
                break;
            }
            delay -= step;
            if (delay > 0 && source_moved(l))
                delay = 0;
        }
    }
}

void dl_loop_dispose(struct dl_loop *l)
{
    if (l->gcp)
        dl_loop_release_leases(l);
    for (size_t i = l->n_leases; i-- > 0;)
        lease_drop(l, i);
    free(l->leases);
    dl_gcp_client_free(l->gcp);
    dl_model_free(l->model);
    dl_source_free(l->src);
    dl_schedule_waker_dispose(&l->waker);
    dl_status_free(l->status);
    dl_metrics_controller_dispose(&l->metrics);
    memset(l, 0, sizeof(*l));
}
