#include "apply/apply.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apply/lease.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/time.h"

/* Progress: redraw at most 10 times a second on a terminal, else log
 * every 5 s. */
#define TTY_INTERVAL_NS (DL_NS_PER_SEC / 10)
#define LOG_INTERVAL_NS (5 * DL_NS_PER_SEC)

/* Renews the leases from a thread with its own client while phases run. */
struct renewer {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;                 /* under mu */
    atomic_int lost;          /* a lease was lost: stop starting work */
    char msg[DL_ERR_MSG_MAX]; /* why, written before lost is set */
    struct dl_gcp_client *client;
    struct dl_lease **leases;
    size_t n;
    int64_t interval_ns;
};

struct dl_apply {
    struct dl_gcp_client *gcp;
    const struct dl_model *model;
    struct dl_source *source;
    const struct dl_apply_opts *opts;
    struct dl_apply_report *report;
    enum dl_apply_phase phase;
    int64_t budget;   /* --max-deletes left; <0: no cap */
    int64_t *granted; /* per result: deletions handed out */
    void *state[DL_KIND_COUNT];
    void (*state_free[DL_KIND_COUNT])(void *);
    struct renewer *renewer; /* NULL when leases renew between phases */
    /* progress */
    size_t to_change, done;
    int64_t objects; /* dl_apply_progress total */
    int64_t start_ns, last_draw_ns;
    int drawn;
};

static const enum dl_kind phase_kinds[DL_APPLY_PHASE_COUNT][4] = {
    [DL_APPLY_PHASE_IAM] = {DL_KIND_PROJECT, DL_KIND_IAM_POLICY_MEMBER,
                            DL_KIND_IAM_POLICY_BINDING, DL_KIND_COUNT},
    [DL_APPLY_PHASE_BUILD] = {DL_KIND_CLOUD_RUN_SERVICE, DL_KIND_COUNT},
    [DL_APPLY_PHASE_SERVICE] = {DL_KIND_CLOUD_RUN_SERVICE, DL_KIND_COUNT},
    [DL_APPLY_PHASE_HYGIENE] = {DL_KIND_FIRESTORE_COLLECTION_POLICY,
                                DL_KIND_BIGQUERY_TABLE_POLICY,
                                DL_KIND_STORAGE_BUCKET_POLICY, DL_KIND_COUNT},
};

const char *dl_apply_phase_name(enum dl_apply_phase ph)
{
    static const char *const names[] = {"iam", "build", "service", "hygiene"};

    return (unsigned)ph < DL_APPLY_PHASE_COUNT ? names[ph] : "?";
}

const char *dl_apply_outcome_name(enum dl_apply_outcome o)
{
    static const char *const names[] = {"pending", "applied", "failed",
                                        "skipped", "reported"};

    return (unsigned)o <= DL_APPLY_REPORTED ? names[o] : "?";
}

/* ---- accessors for the hooks ---- */

struct dl_gcp_client *dl_apply_gcp(struct dl_apply *ap)
{
    return ap->gcp;
}

enum dl_apply_phase dl_apply_phase(const struct dl_apply *ap)
{
    return ap->phase;
}

const struct dl_model *dl_apply_model(const struct dl_apply *ap)
{
    return ap->model;
}

struct dl_source *dl_apply_source(const struct dl_apply *ap)
{
    return ap->source;
}

void *dl_apply_observed(const struct dl_apply *ap, enum dl_kind kind)
{
    if (!ap->opts->observed || (unsigned)kind >= DL_KIND_COUNT)
        return NULL;
    return ap->opts->observed->kept[kind];
}

int dl_apply_saved_plan(const struct dl_apply *ap)
{
    return ap->opts->saved_plan;
}

const struct dl_resource *dl_apply_desired(const struct dl_apply *ap,
                                           const struct dl_plan_resource *r)
{
    enum dl_kind kind;

    if (!ap->model || r->orphan || dl_kind_parse(&kind, r->kind) < 0)
        return NULL;
    return dl_model_find(ap->model, kind, r->project, r->name);
}

int dl_apply_cancelled(const struct dl_apply *ap)
{
    return (ap->opts->cancel && *ap->opts->cancel) ||
           (ap->renewer && atomic_load(&ap->renewer->lost));
}

void *dl_apply_state(const struct dl_apply *ap, enum dl_kind kind)
{
    return (unsigned)kind < DL_KIND_COUNT ? ap->state[kind] : NULL;
}

void dl_apply_set_state(struct dl_apply *ap, enum dl_kind kind, void *state,
                        void (*free_fn)(void *state))
{
    if ((unsigned)kind >= DL_KIND_COUNT)
        return;
    if (ap->state[kind] && ap->state_free[kind])
        ap->state_free[kind](ap->state[kind]);
    ap->state[kind] = state;
    ap->state_free[kind] = free_fn;
}

/* ---- progress ---- */

static void progress(struct dl_apply *ap, int force)
{
    int64_t now = dl_gcp_client_now(ap->gcp);
    double el = (double)(now - ap->start_ns) / 1e9;
    double rate = el > 0 ? (double)ap->objects / el : 0;
    char eta[32] = "?";

    if (ap->to_change == 0 ||
        (!ap->opts->progress_out && !ap->opts->progress_tty))
        return;
    if (!force &&
        now - ap->last_draw_ns <
            (ap->opts->progress_tty ? TTY_INTERVAL_NS : LOG_INTERVAL_NS))
        return;
    ap->last_draw_ns = now;
    if (ap->done > 0 && ap->done < ap->to_change)
        dl_duration_format(
            eta, sizeof(eta),
            (int64_t)((double)(now - ap->start_ns) / (double)ap->done *
                      (double)(ap->to_change - ap->done)));
    else if (ap->done >= ap->to_change)
        snprintf(eta, sizeof(eta), "0s");
    if (ap->opts->progress_tty && ap->opts->progress_out) {
        fprintf(ap->opts->progress_out,
                "\r\033[K[%s] %zu/%zu resources, %lld objects (%.0f/s), ETA "
                "%s",
                dl_apply_phase_name(ap->phase), ap->done, ap->to_change,
                (long long)ap->objects, rate, eta);
        fflush(ap->opts->progress_out);
        ap->drawn = 1;
    } else {
        dl_info("apply: %s phase, %zu/%zu resources done, %lld objects "
                "(%.0f/s), ETA %s",
                dl_apply_phase_name(ap->phase), ap->done, ap->to_change,
                (long long)ap->objects, rate, eta);
    }
}

void dl_apply_progress(struct dl_apply *ap, int64_t n)
{
    ap->objects += n;
    progress(ap, 0);
}

/* ---- results ---- */

static struct dl_apply_result *
result_of(struct dl_apply *ap, const struct dl_plan_resource *r, size_t *idx)
{
    for (size_t i = 0; i < ap->report->n; i++) {
        if (ap->report->results[i].resource == r) {
            if (idx)
                *idx = i;
            return &ap->report->results[i];
        }
    }
    return NULL;
}

static void vrecord(struct dl_apply *ap, struct dl_apply_result *res,
                    enum dl_apply_outcome outcome, int64_t objects,
                    const char *fmt, va_list va)
{
    int64_t now = dl_gcp_client_now(ap->gcp);

    if (res->outcome != DL_APPLY_PENDING) {
        dl_warn("apply: %s: outcome recorded twice (kept '%s')",
                res->resource->address, dl_apply_outcome_name(res->outcome));
        return;
    }
    res->outcome = outcome;
    res->objects = objects;
    if (!res->started_ns)
        res->started_ns = now;
    res->finished_ns = now;
    free(res->message);
    res->message = NULL;
    if (fmt) {
        struct dl_buf b = DL_BUF_INIT(DL_ERR_MSG_MAX);

        (void)dl_buf_vprintf(&b, fmt, va);
        res->message = dl_buf_take(&b);
    }
    if (outcome != DL_APPLY_REPORTED)
        ap->done++;
    dl_info("apply: %s %s%s%s", res->resource->address,
            dl_apply_outcome_name(outcome), res->message ? ": " : "",
            res->message ? res->message : "");
    progress(ap, 0);
}

static void record_res(struct dl_apply *ap, struct dl_apply_result *res,
                       enum dl_apply_outcome outcome, const char *fmt, ...)
    DL_PRINTF(4, 5);
static void record_res(struct dl_apply *ap, struct dl_apply_result *res,
                       enum dl_apply_outcome outcome, const char *fmt, ...)
{
    va_list va;

    va_start(va, fmt);
    vrecord(ap, res, outcome, 0, fmt, va);
    va_end(va);
}

void dl_apply_record(struct dl_apply *ap, struct dl_plan_resource *r,
                     enum dl_apply_outcome outcome, int64_t objects,
                     const char *fmt, ...)
{
    struct dl_apply_result *res = result_of(ap, r, NULL);
    va_list va;

    if (!res) {
        dl_warn("apply: outcome recorded for '%s', which is not being "
                "applied",
                r->address);
        return;
    }
    va_start(va, fmt);
    vrecord(ap, res, outcome, objects, fmt, va);
    va_end(va);
}

/* ---- deletion budgets ---- */

static int64_t resource_delete_limit(const struct dl_apply *ap,
                                     const struct dl_plan_resource *r)
{
    int64_t limit;

    if (!r->hygiene)
        return 1;
    limit = r->hygiene->cap;
    if (ap->opts->saved_plan && r->hygiene->planned_deletes < limit)
        limit = r->hygiene->planned_deletes;
    return limit;
}

int64_t dl_apply_reserve_deletes(struct dl_apply *ap,
                                 struct dl_plan_resource *r, int64_t want)
{
    size_t i;
    int64_t n;

    if (want <= 0 || !result_of(ap, r, &i))
        return 0;
    n = resource_delete_limit(ap, r) - ap->granted[i];
    if (n > want)
        n = want;
    if (ap->budget >= 0 && n > ap->budget)
        n = ap->budget;
    if (n <= 0)
        return 0;
    ap->granted[i] += n;
    if (ap->budget >= 0)
        ap->budget -= n;
    return n;
}

void dl_apply_release_deletes(struct dl_apply *ap, struct dl_plan_resource *r,
                              int64_t n)
{
    size_t i;

    if (n <= 0 || !result_of(ap, r, &i))
        return;
    if (n > ap->granted[i])
        n = ap->granted[i];
    ap->granted[i] -= n;
    if (ap->budget >= 0)
        ap->budget += n;
}

/* ---- the run ---- */

static int changes(const struct dl_plan_resource *r)
{
    return r->mode == DL_PLAN_MODE_ENFORCE &&
           (r->action == DL_PLAN_ACTION_CREATE ||
            r->action == DL_PLAN_ACTION_UPDATE ||
            r->action == DL_PLAN_ACTION_DELETE);
}

/* Does filter ("Kind/name" or "project/Kind/name") name r? */
static int only_matches(const char *filter, const struct dl_plan_resource *r)
{
    size_t kl = strlen(r->kind);

    if (strcmp(filter, r->address) == 0)
        return 1;
    return strncmp(filter, r->kind, kl) == 0 && filter[kl] == '/' &&
           strcmp(filter + kl + 1, r->name) == 0;
}

static int selected(const struct dl_apply_opts *o,
                    const struct dl_plan_resource *r)
{
    if (o->n_only == 0)
        return 1;
    for (size_t i = 0; i < o->n_only; i++)
        if (only_matches(o->only[i], r))
            return 1;
    return 0;
}

static int project_suspended(const struct dl_model *m, const char *project)
{
    const struct dl_resource *p;

    if (!m)
        return 0;
    p = dl_model_find(m, DL_KIND_PROJECT, project, project);
    return p && p->spec.project.suspend;
}

static const struct dl_provider *
provider_for(const struct dl_provider *const *list, enum dl_kind kind)
{
    for (size_t i = 0; list[i]; i++)
        if (list[i]->kind == kind)
            return list[i];
    return NULL;
}

/* Run one kind's hook on its pending resources of this phase. */
static void apply_kind(struct dl_apply *ap, enum dl_kind kind)
{
    const struct dl_provider *p = provider_for(
        ap->opts->providers ? ap->opts->providers : dl_providers, kind);
    const char *kname = dl_kind_name(kind);
    struct dl_plan_resource **rs = NULL;
    size_t n = 0;
    struct dl_err err;
    int64_t now = dl_gcp_client_now(ap->gcp);

    dl_err_clear(&err);
    for (size_t i = 0; i < ap->report->n; i++) {
        struct dl_apply_result *res = &ap->report->results[i];
        struct dl_plan_resource *r = res->resource;

        if (res->outcome != DL_APPLY_PENDING || strcmp(r->kind, kname) != 0)
            continue;
        /* A plain delete (an orphaned service) is one deletion under
           --max-deletes; hygiene resources reserve their own. */
        if (r->action == DL_PLAN_ACTION_DELETE && !r->hygiene &&
            ap->granted[i] == 0 && dl_apply_reserve_deletes(ap, r, 1) == 0) {
            record_res(ap, res, DL_APPLY_SKIPPED,
                       "--max-deletes %lld reached: not deleted",
                       (long long)ap->opts->max_deletes);
            continue;
        }
        if (r->hygiene && r->action == DL_PLAN_ACTION_DELETE &&
            ap->budget == 0) {
            record_res(ap, res, DL_APPLY_SKIPPED,
                       "--max-deletes %lld reached: nothing deleted",
                       (long long)ap->opts->max_deletes);
            continue;
        }
        if (!res->started_ns)
            res->started_ns = now;
        rs = dl_reallocarray(rs, n + 1, sizeof(*rs));
        rs[n++] = r;
    }
    if (n == 0)
        goto done;
    if (!p || !p->apply) {
        for (size_t i = 0; i < n; i++)
            dl_apply_record(ap, rs[i], DL_APPLY_FAILED, 0,
                            "applying %s is not implemented yet", kname);
        goto done;
    }
    dl_debug("apply: %s phase: %zu %s resource(s)",
             dl_apply_phase_name(ap->phase), n, kname);
    if (p->apply(ap, rs, n, &err) < 0) {
        for (size_t i = 0; i < n; i++) {
            struct dl_apply_result *res = result_of(ap, rs[i], NULL);

            if (res && res->outcome == DL_APPLY_PENDING)
                record_res(ap, res, DL_APPLY_FAILED, "%s",
                           err.msg[0] ? err.msg : "apply failed");
        }
    }
done:
    free(rs);
}

/* A renewal that failed: fatal (stop applying) when the lease was lost,
 * or when it may expire before the next renewal; a transient failure with
 * time left is tried again at the next renewal. */
static int renew_failed(struct dl_lease *l, int rc, const struct dl_err *err)
{
    if (rc == DL_ECONFLICT ||
        dl_lease_expires_at(l) - dl_time_now_ns() < dl_lease_ttl(l) / 3 + 1)
        return 1;
    dl_warn("apply: renewing the lease of project '%s' failed, trying again "
            "later: %s",
            dl_lease_project(l), err->msg);
    return 0;
}

static void *renew_main(void *arg)
{
    struct renewer *rw = arg;

    pthread_mutex_lock(&rw->mu);
    while (!rw->stop) {
        struct timespec ts;
        int64_t at;

        clock_gettime(CLOCK_REALTIME, &ts);
        at = (int64_t)ts.tv_sec * DL_NS_PER_SEC + ts.tv_nsec + rw->interval_ns;
        ts.tv_sec = (time_t)(at / DL_NS_PER_SEC);
        ts.tv_nsec = (long)(at % DL_NS_PER_SEC);
        while (!rw->stop && pthread_cond_timedwait(&rw->cv, &rw->mu, &ts) == 0)
            ;
        if (rw->stop)
            break;
        pthread_mutex_unlock(&rw->mu);
        for (size_t i = 0; i < rw->n; i++) {
            struct dl_err err;

            int rc = dl_lease_renew_with(rw->leases[i], rw->client, &err);

            if (rc < 0 && renew_failed(rw->leases[i], rc, &err)) {
                snprintf(rw->msg, sizeof(rw->msg), "%s", err.msg);
                atomic_store(&rw->lost, 1);
                pthread_mutex_lock(&rw->mu);
                rw->stop = 1;
                break;
            }
        }
        if (!atomic_load(&rw->lost))
            pthread_mutex_lock(&rw->mu);
    }
    pthread_mutex_unlock(&rw->mu);
    return NULL;
}

/* Start renewing leases in the background; NULL (renew between phases)
 * when no client options were given or the thread cannot start. */
static struct renewer *renewer_start(const struct dl_lease_opts *lo,
                                     struct dl_lease **leases, size_t n)
{
    struct renewer *rw;
    struct dl_gcp_client_opts co;
    struct dl_err err;

    if (!lo->renew_client || n == 0)
        return NULL;
    rw = dl_calloc(1, sizeof(*rw));
    co = *lo->renew_client;
    co.transport = NULL;
    if (dl_gcp_client_new(&rw->client, &co, &err) < 0) {
        dl_warn("apply: leases renew between phases only: %s", err.msg);
        free(rw);
        return NULL;
    }
    /* Renew once here: the new client gets its token (and registers it
       with the log's secret filter) on this thread, and a lease lost
       already is seen before any change. Tokens live an hour: the thread
       rarely fetches one. */
    for (size_t i = 0; i < n; i++) {
        if (dl_lease_renew_with(leases[i], rw->client, &err) < 0) {
            dl_warn("apply: leases renew between phases only: %s", err.msg);
            dl_gcp_client_free(rw->client);
            free(rw);
            return NULL;
        }
    }
    rw->leases = leases;
    rw->n = n;
    rw->interval_ns = dl_lease_ttl(leases[0]) / 3;
    atomic_init(&rw->lost, 0);
    pthread_mutex_init(&rw->mu, NULL);
    pthread_cond_init(&rw->cv, NULL);
    if (pthread_create(&rw->thread, NULL, renew_main, rw) != 0) {
        dl_warn("apply: leases renew between phases only: no thread");
        pthread_mutex_destroy(&rw->mu);
        pthread_cond_destroy(&rw->cv);
        dl_gcp_client_free(rw->client);
        free(rw);
        return NULL;
    }
    return rw;
}

static void renewer_stop(struct renewer *rw)
{
    if (!rw)
        return;
    pthread_mutex_lock(&rw->mu);
    rw->stop = 1;
    pthread_cond_signal(&rw->cv);
    pthread_mutex_unlock(&rw->mu);
    pthread_join(rw->thread, NULL);
    pthread_mutex_destroy(&rw->mu);
    pthread_cond_destroy(&rw->cv);
    dl_gcp_client_free(rw->client);
    free(rw);
}

static void release_leases(struct dl_lease **leases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct dl_err err;

        if (dl_lease_release(leases[i], &err) < 0)
            dl_warn("apply: could not release the lease of project '%s': %s",
                    dl_lease_project(leases[i]), err.msg);
        dl_lease_free(leases[i]);
    }
    free(leases);
}

int dl_apply_run(struct dl_apply_report *report, struct dl_plan *plan,
                 const struct dl_model *model, struct dl_source *source,
                 struct dl_gcp_client *gcp, const struct dl_apply_opts *opts,
                 struct dl_err *err)
{
    struct dl_apply ap = {0};
    struct dl_lease **leases = NULL;
    size_t nleases = 0;
    int rc = 0;

    memset(report, 0, sizeof(*report));
    report->started_at = dl_time_now_ns();
    report->suspended = opts->suspend;
    ap.gcp = gcp;
    ap.model = model;
    ap.source = source;
    ap.opts = opts;
    ap.report = report;
    ap.budget = opts->max_deletes < 0 ? -1 : opts->max_deletes;
    ap.start_ns = dl_gcp_client_now(gcp);

    /* List what this run is about, and settle what cannot change. */
    report->results = dl_calloc(plan->nresources ? plan->nresources : 1,
                                sizeof(*report->results));
    for (size_t i = 0; i < plan->nresources; i++) {
        struct dl_plan_resource *r = plan->resources[i];
        struct dl_apply_result *res;

        if (!selected(opts, r) ||
            (!changes(r) && r->action != DL_PLAN_ACTION_REPORT))
            continue;
        res = &report->results[report->n++];
        res->resource = r;
        if (!changes(r)) {
            res->outcome = DL_APPLY_REPORTED;
            res->message = dl_strdup("report mode: not changed");
        }
    }
    ap.granted = dl_calloc(report->n ? report->n : 1, sizeof(*ap.granted));
    for (size_t i = 0; i < report->n; i++) {
        struct dl_apply_result *res = &report->results[i];

        if (res->outcome != DL_APPLY_PENDING)
            continue;
        if (opts->suspend)
            record_res(&ap, res, DL_APPLY_SKIPPED,
                       "DRIFTLESS_SUSPEND=1: nothing is changed");
        else if (project_suspended(model, res->resource->project))
            record_res(&ap, res, DL_APPLY_SKIPPED,
                       "project '%s' is suspended (spec.suspend: true): "
                       "nothing is changed",
                       res->resource->project);
        else
            ap.to_change++;
    }
    ap.done = 0;

    /* One applier per project: take every lease before changing anything
       (in address order, so two appliers never wait on each other). */
    if (opts->lease && ap.to_change > 0) {
        leases = dl_calloc(report->n, sizeof(*leases));
        for (size_t i = 0; i < report->n; i++) {
            const char *project = report->results[i].resource->project;
            int have = 0;

            if (report->results[i].outcome != DL_APPLY_PENDING)
                continue;
            for (size_t k = 0; k < nleases && !have; k++)
                have = strcmp(dl_lease_project(leases[k]), project) == 0;
            if (have)
                continue;
            rc = dl_lease_acquire(&leases[nleases], gcp, project, opts->lease,
                                  err);
            if (rc < 0) {
                report->error = dl_strdup(err->msg);
                for (size_t k = 0; k < report->n; k++)
                    if (report->results[k].outcome == DL_APPLY_PENDING)
                        record_res(&ap, &report->results[k], DL_APPLY_SKIPPED,
                                   "not applied: %s", err->msg);
                goto done;
            }
            nleases++;
        }
    }

    if (nleases)
        ap.renewer = renewer_start(opts->lease, leases, nleases);
    for (size_t k = 0; k < nleases; k++) {
        if (!dl_lease_held(leases[k])) {
            report->error =
                dl_asprintf("the lease of project '%s' was lost before "
                            "anything was changed",
                            dl_lease_project(leases[k]));
            goto finish;
        }
    }
    for (int ph = 0; ph < DL_APPLY_PHASE_COUNT && ap.done < ap.to_change;
         ph++) {
        struct dl_err lerr;

        if (dl_apply_cancelled(&ap))
            break;
        ap.phase = (enum dl_apply_phase)ph;
        for (size_t k = 0; k < nleases && !ap.renewer; k++) {
            int lrc = ph > 0 ? dl_lease_renew(leases[k], &lerr) : 0;

            if (lrc < 0 && renew_failed(leases[k], lrc, &lerr)) {
                report->error = dl_strdup(lerr.msg);
                goto finish;
            }
        }
        for (size_t k = 0; phase_kinds[ph][k] != DL_KIND_COUNT; k++)
            apply_kind(&ap, phase_kinds[ph][k]);
        /* Everything the hooks queued runs here, concurrently. */
        if (dl_gcp_client_run(gcp, &lerr) < 0)
            dl_warn("apply: %s phase: %s", dl_apply_phase_name(ap.phase),
                    lerr.msg);
    }
finish:
    report->cancelled = opts->cancel && *opts->cancel;
    if (ap.renewer && atomic_load(&ap.renewer->lost) && !report->error)
        report->error = dl_strdup(ap.renewer->msg);
    renewer_stop(ap.renewer);
    ap.renewer = NULL;
    for (size_t i = 0; i < report->n; i++) {
        struct dl_apply_result *res = &report->results[i];
        enum dl_kind kind;

        if (res->outcome != DL_APPLY_PENDING)
            continue;
        if (report->error)
            record_res(&ap, res, DL_APPLY_SKIPPED, "not applied: %s",
                       report->error);
        else if (report->cancelled)
            record_res(&ap, res, DL_APPLY_SKIPPED,
                       res->started_ns ? "cancelled before it was finished"
                                       : "cancelled before it was started");
        else
            record_res(&ap, res, DL_APPLY_FAILED,
                       "no outcome reported by the %s applier",
                       dl_kind_parse(&kind, res->resource->kind) == 0
                           ? dl_kind_name(kind)
                           : res->resource->kind);
    }
done:
    release_leases(leases, nleases);
    for (int k = 0; k < DL_KIND_COUNT; k++)
        dl_apply_set_state(&ap, (enum dl_kind)k, NULL, NULL);
    for (size_t i = 0; i < report->n; i++) {
        struct dl_apply_result *res = &report->results[i];

        switch (res->outcome) {
        case DL_APPLY_APPLIED:
            report->applied++;
            break;
        case DL_APPLY_FAILED:
            report->failed++;
            break;
        case DL_APPLY_SKIPPED:
            report->skipped++;
            break;
        default:
            report->reported++;
            break;
        }
        report->objects += res->objects;
    }
    if (ap.to_change > 0)
        progress(&ap, 1);
    if (ap.drawn)
        fputc('\n', opts->progress_out);
    report->duration_ns = dl_gcp_client_now(gcp) - ap.start_ns;
    free(ap.granted);
    return rc;
}

void dl_apply_report_dispose(struct dl_apply_report *report)
{
    if (!report)
        return;
    for (size_t i = 0; i < report->n; i++)
        free(report->results[i].message);
    free(report->results);
    free(report->error);
    memset(report, 0, sizeof(*report));
}

int dl_apply_exit_code(const struct dl_apply_report *report)
{
    if (report->cancelled)
        return 130;
    if (report->failed > 0 || report->error)
        return 1;
    return 0;
}

static double seconds(const struct dl_apply_result *res)
{
    return (double)(res->finished_ns - res->started_ns) / 1e9;
}

int dl_apply_report_text(const struct dl_apply_report *report,
                         struct dl_buf *out)
{
    char dur[32];
    int rc = 0;

    for (size_t i = 0; i < report->n && rc == 0; i++) {
        const struct dl_apply_result *res = &report->results[i];

        rc = dl_buf_printf(
            out, "%-8s %s (%s", dl_apply_outcome_name(res->outcome),
            res->resource->address, dl_plan_action_name(res->resource->action));
        if (rc == 0 && res->objects)
            rc = dl_buf_printf(out, ", %lld objects", (long long)res->objects);
        if (rc == 0 && res->started_ns)
            rc = dl_buf_printf(out, ", %.1fs", seconds(res));
        if (rc == 0)
            rc = dl_buf_printf(out, ")%s%s\n", res->message ? ": " : "",
                               res->message ? res->message : "");
    }
    if (rc == 0 && report->error)
        rc = dl_buf_printf(out, "Error: %s\n", report->error);
    if (rc == 0 && report->suspended)
        rc = dl_buf_puts(out, "Suspended (DRIFTLESS_SUSPEND=1): nothing was "
                              "changed.\n");
    if (rc == 0 && report->cancelled)
        rc = dl_buf_puts(out, "Cancelled: in-flight work was finished, "
                              "nothing new was started.\n");
    dl_duration_format(dur, sizeof(dur), report->duration_ns);
    if (rc == 0)
        rc = dl_buf_printf(out,
                           "Apply %s: %zu applied, %zu failed, %zu skipped, "
                           "%zu reported, %lld objects changed, in %s.\n",
                           report->cancelled                 ? "cancelled"
                           : report->failed || report->error ? "failed"
                                                             : "complete",
                           report->applied, report->failed, report->skipped,
                           report->reported, (long long)report->objects, dur);
    return rc;
}

int dl_apply_report_json(const struct dl_apply_report *report,
                         struct dl_buf *out, struct dl_err *err)
{
    json_t *root, *arr = json_array();
    char at[40];
    char *text = NULL;
    int rc = 0;

    for (size_t i = 0; i < report->n; i++) {
        const struct dl_apply_result *res = &report->results[i];
        const struct dl_plan_resource *r = res->resource;

        json_array_append_new(
            arr,
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:f, s:o}", "address",
                      r->address, "kind", r->kind, "action",
                      dl_plan_action_name(r->action), "mode",
                      dl_plan_mode_name(r->mode), "outcome",
                      dl_apply_outcome_name(res->outcome), "objects",
                      (json_int_t)res->objects, "duration_s",
                      res->started_ns ? seconds(res) : 0.0, "message",
                      res->message ? json_string(res->message) : json_null()));
    }
    dl_time_format_rfc3339(at, sizeof(at), report->started_at);
    root = json_pack(
        "{s:s, s:s, s:f, s:b, s:b, s:o, s:{s:I, s:I, s:I, s:I, s:I}, s:o}",
        "format_version", "1", "started_at", at, "duration_s",
        (double)report->duration_ns / 1e9, "cancelled", report->cancelled,
        "suspended", report->suspended, "error",
        report->error ? json_string(report->error) : json_null(), "summary",
        "applied", (json_int_t)report->applied, "failed",
        (json_int_t)report->failed, "skipped", (json_int_t)report->skipped,
        "reported", (json_int_t)report->reported, "objects",
        (json_int_t)report->objects, "resources", arr);
    if (!root) {
        rc = dl_err_set(err, DL_ERROR, "cannot build the report JSON");
        goto done;
    }
    text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!text || dl_buf_puts(out, text) < 0 || dl_buf_putc(out, '\n') < 0)
        rc = dl_err_set(err, DL_ELIMIT, "report JSON is too large");
done:
    free(text);
    json_decref(root);
    return rc;
}
