/*
 * cloud_run_apply.c - `driftless apply` for CloudRunService: Cloud Build
 * builds (build phase), then service creates, updates and orphan deletes
 * (service phase). docs/apply.md ("CloudRunService").
 *
 * Each phase reads the services with one list per (project, region); then
 * each resource is a chain of queued requests: every completion submits the
 * next step (GET its serving revision, list builds, create or poll a build;
 * or PATCH/POST/DELETE, wait for the operation, GET the service back), and
 * the last one records the outcome. Nothing blocks, so
 * the resources of one phase proceed concurrently in the executor's loop.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply/apply.h"
#include "gcp/gcp.h"
#include "provider/cloud_run.h"
#include "provider/cloud_run_apply.h"
#include "util/alloc.h"
#include "util/log.h"

#define KIND DL_KIND_CLOUD_RUN_SERVICE
#define NS_PER_S 1000000000LL
#define BUILD_TIMEOUT_NS (30LL * 60 * NS_PER_S)
/* Build polls: 0.5 s after the create, then x1.5 up to 10 s apart. */
#define FIRST_POLL_NS 500000000LL
#define MAX_POLL_NS (10LL * NS_PER_S)
#define OP_TIMEOUT_NS (20LL * 60 * NS_PER_S)
/* A build create or service write that failed transiently (or, without a
   saved plan, lost an etag race) is looked up / read again and redone at
   most this often, REDO_PAUSE_NS x the attempt apart. */
#define MAX_REDO 3
#define REDO_PAUSE_NS 250000000LL

/* ---- state kept from the build phase to the service phase --------------- */

struct built {
    char *address; /* plan resource address */
    char *image;   /* <repo>/<service>@sha256:... */
};

struct run_state {
    struct built *v;
    size_t n;
};

static void state_free(void *p)
{
    struct run_state *st = p;

    if (!st)
        return;
    for (size_t i = 0; i < st->n; i++) {
        free(st->v[i].address);
        free(st->v[i].image);
    }
    free(st->v);
    free(st);
}

static struct run_state *state_of(struct dl_apply *ap)
{
    struct run_state *st = dl_apply_state(ap, KIND);

    if (!st) {
        st = dl_calloc(1, sizeof(*st));
        dl_apply_set_state(ap, KIND, st, state_free);
    }
    return st;
}

static const char *built_image(struct dl_apply *ap, const char *address)
{
    const struct run_state *st = dl_apply_state(ap, KIND);

    for (size_t i = 0; st && i < st->n; i++)
        if (!strcmp(st->v[i].address, address))
            return st->v[i].image;
    return NULL;
}

static void set_built(struct dl_apply *ap, const char *address,
                      const char *image)
{
    struct run_state *st = state_of(ap);

    st->v = dl_reallocarray(st->v, st->n + 1, sizeof(*st->v));
    st->v[st->n].address = dl_strdup(address);
    st->v[st->n].image = dl_strdup(image);
    st->n++;
}

/* ---- pure helpers ----------------------------------------------------------
 */

static const char *sget(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

const char *dl_cloud_run_serving_revision(const json_t *svc)
{
    const json_t *ts = json_object_get(svc, "trafficStatuses");
    const json_t *t, *best = NULL;
    json_int_t best_pct = 0;
    size_t i;

    if (!json_array_size(ts))
        ts = json_object_get(svc, "traffic");
    json_array_foreach(ts, i, t)
    {
        json_int_t pct = json_integer_value(json_object_get(t, "percent"));

        if (pct > best_pct) {
            best_pct = pct;
            best = t;
        }
    }
    if (!best) /* Cloud Run's default: all traffic to the latest */
        return sget(svc, "latestReadyRevision");
    if (sget(best, "revision") && *sget(best, "revision"))
        return sget(best, "revision");
    return sget(svc, "latestReadyRevision");
}

char *dl_cloud_run_build_filter(const char *service, const char *commit,
                                const char *dockerfile)
{
    return dl_asprintf("tags=\"driftless\" AND tags=\"commit-%s\" AND "
                       "tags=\"service-%s\" AND "
                       "substitutions._DL_DOCKERFILE=\"%s\"",
                       commit, service, dockerfile);
}

json_t *dl_cloud_run_build_body(const char *service,
                                const struct dl_cloud_run_spec *s,
                                const char *source_url, const char *repo,
                                const char *commit)
{
    char *tag = dl_asprintf("%s/%s:%s", repo, service, commit);
    char *t_commit = dl_asprintf("commit-%s", commit);
    char *t_service = dl_asprintf("service-%s", service);
    json_t *b = json_pack(
        "{s:{s:{s:s,s:s}},s:[{s:s,s:[s,s,s,s,s,s]}],s:[s],s:[s,s,s],"
        "s:{s:s,s:s},s:{s:s}}",
        "source", "gitSource", "url", source_url, "revision", commit, "steps",
        "name", "gcr.io/cloud-builders/docker", "args", "build", "-f",
        s->build.dockerfile, "-t", tag, s->build.context, "images", tag, "tags",
        "driftless", t_commit, t_service, "substitutions", "_DL_DOCKERFILE",
        s->build.dockerfile, "_DL_SERVICE", service, "options",
        "substitutionOption", "ALLOW_LOOSE");

    free(tag);
    free(t_commit);
    free(t_service);
    return b;
}

char *dl_cloud_run_build_image(const json_t *build, const char *service,
                               const char *repo, const char *commit)
{
    char *tag = dl_asprintf("%s/%s:%s", repo, service, commit);
    const json_t *img;
    char *out = NULL;
    size_t i;

    json_array_foreach(
        json_object_get(json_object_get(build, "results"), "images"), i, img)
    {
        const char *name = sget(img, "name"), *digest = sget(img, "digest");

        if (name && digest && !strcmp(name, tag)) {
            out = dl_asprintf("%s/%s@%s", repo, service, digest);
            break;
        }
    }
    free(tag);
    return out;
}

const char *dl_cloud_run_build_failure(const json_t *build)
{
    const char *m = sget(build, "statusDetail");

    if (m && *m)
        return m;
    m = sget(json_object_get(build, "failureInfo"), "detail");
    if (m && *m)
        return m;
    return "no detail given";
}

/* ---- one resource: an asynchronous chain of requests --------------------- */

/*
 * A resource's work. Every step submits one request whose completion runs
 * the next step; the last step records the outcome (or, in the build phase,
 * keeps the image) and frees the job.
 */
struct job {
    struct dl_apply *ap;
    struct dl_plan_resource *r;
    const struct dl_resource *d; /* NULL for orphans */
    char *path;                  /* /v2/projects/p/locations/l/services/s */
    char commit[41];             /* desired commit ("" without build) */
    json_t *live;                /* the service as read first, or NULL */
    char *build_id;
    int64_t deadline; /* of the build poll */
    int64_t delay;    /* next poll delay */
    char *failure;    /* an operation's error, kept for the final read */
    int redo;         /* redone writes (MAX_REDO) */
};

typedef void (*step_fn)(struct job *j, int rc, json_t *json,
                        const struct dl_err *err);

struct hop {
    struct job *j;
    step_fn next;
};

static void job_free(struct job *j)
{
    free(j->path);
    free(j->build_id);
    free(j->failure);
    json_decref(j->live);
    free(j);
}

static void fail(struct job *j, const char *fmt, ...) DL_PRINTF(2, 3);

/* Record j FAILED with a formatted message, and free it. */
static void fail(struct job *j, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    dl_apply_record(j->ap, j->r, DL_APPLY_FAILED, 0, "%s", msg);
    job_free(j);
}

static void hop_done(struct dl_gcp_client *c, int rc,
                     const struct dl_gcp_response *resp,
                     const struct dl_err *err, void *ud)
{
    struct hop h = *(struct hop *)ud;

    (void)c;
    free(ud);
    h.next(h.j, rc, rc == 0 ? resp->json : NULL, err);
}

/* Submit one request; its completion runs next (also on a submit error). */
static void hop(struct job *j, enum dl_gcp_api api, const char *method,
                const char *path, json_t *body, int64_t delay, step_fn next)
{
    struct hop *h = dl_calloc(1, sizeof(*h));
    struct dl_gcp_request req = {.api = api,
                                 .method = method,
                                 .path = path,
                                 .body = body,
                                 .delay_ns = delay,
                                 .done = hop_done,
                                 .ud = h};
    struct dl_err e;
    int rc;

    if (!strcmp(method, "GET"))
        req.retry = DL_GCP_RETRY_READ;
    h->j = j;
    h->next = next;
    rc = dl_gcp_submit(dl_apply_gcp(j->ap), &req, &e);
    if (rc < 0) {
        free(h);
        next(j, rc, NULL, &e);
    }
}

static void lro_done(struct dl_gcp_client *c, int rc, json_t *result,
                     const struct dl_err *err, void *ud)
{
    struct hop h = *(struct hop *)ud;

    (void)c;
    free(ud);
    h.next(h.j, rc, result, err);
}

/* Wait for a Cloud Run operation; then next. */
static void wait_op(struct job *j, json_t *op, step_fn next)
{
    struct dl_gcp_lro_opts lro = {.use_wait = 1,
                                  .timeout_ns = OP_TIMEOUT_NS,
                                  .first_delay_ns = 100000000LL};
    struct hop *h = dl_calloc(1, sizeof(*h));
    struct dl_err e;
    int rc;

    h->j = j;
    h->next = next;
    rc = dl_gcp_lro_submit(dl_apply_gcp(j->ap), DL_GCP_RUN, op, &lro, lro_done,
                           h, &e);
    if (rc < 0) {
        free(h);
        next(j, rc, NULL, &e);
    }
}

/* The commit to build and annotate, as the diff chose it; NULL: unknown. */
static const char *desired_commit(struct dl_apply *ap,
                                  const struct dl_resource *d, char buf[41])
{
    const struct dl_build *b = &d->spec.run.build;
    struct dl_source *src = dl_apply_source(ap);
    struct dl_err e;

    if (!d->spec.run.has_build)
        return NULL;
    if (b->commit && b->commit_id[0])
        return b->commit_id;
    if (b->commit)
        return src && dl_source_resolve(src, b->commit, buf, &e) == 0 ? buf
                                                                      : NULL;
    return src && src->id.commit[0] ? src->id.commit : NULL;
}

static int terminal_build(const char *status)
{
    return status && strcmp(status, "QUEUED") && strcmp(status, "WORKING") &&
           strcmp(status, "PENDING") && strcmp(status, "STATUS_UNKNOWN");
}

static const char *project_of(const struct job *j)
{
    return dl_resource_project_id(j->d);
}

/* ---- build phase ---- */

static void poll_build(struct job *j);
static void find_builds(struct job *j, int64_t delay);

static void got_build(struct job *j, int rc, json_t *b,
                      const struct dl_err *err)
{
    const struct dl_project_spec *ps = &j->d->project->spec.project;
    const char *status = sget(b, "status");
    char *image;

    if (rc < 0) {
        fail(j, "build %s: %s", j->build_id, err->msg);
        return;
    }
    if (!terminal_build(status)) {
        if (dl_gcp_client_now(dl_apply_gcp(j->ap)) > j->deadline) {
            fail(j, "build %s still %s after 30 min", j->build_id,
                 status ? status : "unknown");
            return;
        }
        j->delay = j->delay ? j->delay * 3 / 2 : FIRST_POLL_NS;
        if (j->delay > MAX_POLL_NS)
            j->delay = MAX_POLL_NS;
        poll_build(j);
        return;
    }
    if (strcmp(status, "SUCCESS")) {
        dl_apply_record(j->ap, j->r, DL_APPLY_FAILED, 0, "build %s %s: %s",
                        j->build_id, status, dl_cloud_run_build_failure(b));
        job_free(j);
        return;
    }
    image = dl_cloud_run_build_image(b, j->d->name, ps->build_image_repository,
                                     j->commit);
    if (!image) {
        dl_apply_record(j->ap, j->r, DL_APPLY_FAILED, 0,
                        "build %s pushed no image %s/%s:%s", j->build_id,
                        ps->build_image_repository, j->d->name, j->commit);
    } else {
        dl_info("apply: %s: build %s: %s", j->r->address, j->build_id, image);
        set_built(j->ap, j->r->address, image);
    }
    free(image);
    job_free(j);
}

static void poll_build(struct job *j)
{
    char *pid = dl_gcp_urlencode(project_of(j));
    char *bid = dl_gcp_urlencode(j->build_id);
    char *path = dl_asprintf("/v1/projects/%s/builds/%s", pid, bid);

    hop(j, DL_GCP_CLOUDBUILD, "GET", path, NULL, j->delay, got_build);
    free(path);
    free(pid);
    free(bid);
}

static void await_build(struct job *j, const char *id, int64_t delay)
{
    j->build_id = dl_strdup(id);
    j->deadline = dl_gcp_client_now(dl_apply_gcp(j->ap)) + BUILD_TIMEOUT_NS;
    j->delay = delay;
    poll_build(j);
}

static void created_build(struct job *j, int rc, json_t *op,
                          const struct dl_err *err)
{
    const char *id;

    if (rc < 0) {
        /* The create may have gone through with its answer lost: look
           for the build again (found: awaited; else created again), so
           a transient failure neither fails the service nor builds
           twice. */
        if (rc == DL_ETRANSIENT && j->redo < MAX_REDO &&
            !dl_apply_cancelled(j->ap)) {
            j->redo++;
            dl_info("apply: %s: build: %s; looking for the build again",
                    j->r->address, err->msg);
            find_builds(j, j->redo * REDO_PAUSE_NS);
            return;
        }
        fail(j, "build: %s", err->msg);
        return;
    }
    id = sget(json_object_get(json_object_get(op, "metadata"), "build"), "id");
    if (!id) {
        fail(j, "build: the operation %s names no build id",
             sget(op, "name") ? sget(op, "name") : "");
        return;
    }
    dl_info("apply: %s: started build %s of %.7s", j->r->address, id,
            j->commit);
    await_build(j, id, FIRST_POLL_NS);
}

static void got_builds(struct job *j, int rc, json_t *list,
                       const struct dl_err *err)
{
    const struct dl_cloud_run_spec *s = &j->d->spec.run;
    const struct dl_project_spec *ps = &j->d->project->spec.project;
    json_t *b, *body;
    size_t i;
    char *pid, *path;

    if (rc < 0) {
        fail(j, "looking for builds: %s", err->msg);
        return;
    }
    json_array_foreach(json_object_get(list, "builds"), i, b)
    {
        const char *st = sget(b, "status");

        if (st && sget(b, "id") &&
            (!terminal_build(st) || !strcmp(st, "SUCCESS"))) {
            dl_info("apply: %s: reusing build %s (%s) of %.7s", j->r->address,
                    sget(b, "id"), st, j->commit);
            await_build(j, sget(b, "id"), 0);
            return;
        }
    }
    pid = dl_gcp_urlencode(project_of(j));
    path = dl_asprintf("/v1/projects/%s/builds", pid);
    body = dl_cloud_run_build_body(j->d->name, s, ps->build_source_url,
                                   ps->build_image_repository, j->commit);
    hop(j, DL_GCP_CLOUDBUILD, "POST", path, body, 0, created_build);
    json_decref(body);
    free(path);
    free(pid);
}

static void find_builds(struct job *j, int64_t delay)
{
    char *filter = dl_cloud_run_build_filter(j->d->name, j->commit,
                                             j->d->spec.run.build.dockerfile);
    char *q = dl_gcp_urlencode(filter), *pid = dl_gcp_urlencode(project_of(j));
    char *path =
        dl_asprintf("/v1/projects/%s/builds?pageSize=50&filter=%s", pid, q);

    hop(j, DL_GCP_CLOUDBUILD, "GET", path, NULL, delay, got_builds);
    free(path);
    free(q);
    free(pid);
    free(filter);
}

static void got_revision(struct job *j, int rc, json_t *rev,
                         const struct dl_err *err)
{
    json_t *ann = json_object_get(rev, "annotations");
    const char *df = sget(ann, DL_CLOUD_RUN_ANN_DOCKERFILE);

    if (rc < 0)
        dl_debug("apply: %s: serving revision: %s", j->r->address, err->msg);
    if (rc == 0 &&
        dl_cloud_run_commit_matches(sget(ann, DL_CLOUD_RUN_ANN_COMMIT),
                                    j->commit) &&
        df && !strcmp(df, j->d->spec.run.build.dockerfile)) {
        job_free(j); /* built already: the service phase keeps the image */
        return;
    }
    find_builds(j, 0);
}

static void start_build(struct job *j)
{
    const struct dl_project_spec *ps = &j->d->project->spec.project;
    char buf[41];
    const char *commit = desired_commit(j->ap, j->d, buf);
    const char *rev;
    char *path;

    if (!commit) {
        fail(j, "the commit to build is unknown");
        return;
    }
    snprintf(j->commit, sizeof j->commit, "%s", commit);
    if (!ps->build_source_url || !ps->build_image_repository) {
        fail(j,
             "Project '%s' sets no spec.build.sourceUrl and "
             "imageRepository: cannot build",
             project_of(j));
        return;
    }
    rev = j->live ? dl_cloud_run_serving_revision(j->live) : NULL;
    if (!rev || !*rev) {
        find_builds(j, 0);
        return;
    }
    if (strchr(rev, '/'))
        path = dl_asprintf("/v2/%s", rev);
    else
        path = dl_asprintf("%s/revisions/%s", j->path, rev);
    hop(j, DL_GCP_RUN, "GET", path, NULL, 0, got_revision);
    free(path);
}

/* ---- service phase ---- */

/* Traffic as declared? (Only checked when traffic is declared.) */
static int traffic_ok(const struct dl_cloud_run_spec *s, const json_t *svc)
{
    json_t *want, *have;
    const json_t *ts = json_object_get(svc, "trafficStatuses");
    int ok;

    if (!s->has_traffic)
        return 1;
    want = dl_cloud_run_traffic_desired(s);
    have = dl_cloud_run_traffic_live(
        json_array_size(ts) ? ts : json_object_get(svc, "traffic"));
    ok = json_equal(want, have);
    json_decref(want);
    json_decref(have);
    return ok;
}

/* After the operation: the new revision is ready and serves. */
static void confirmed(struct job *j, int rc, json_t *svc,
                      const struct dl_err *err)
{
    const char *what = j->live ? "updated" : "created";
    const char *ready = sget(svc, "latestReadyRevision");
    const char *created = sget(svc, "latestCreatedRevision");

    if (rc < 0) {
        fail(j, "%s, but reading it back failed: %s", what, err->msg);
        return;
    }
    if (j->failure) {
        dl_apply_record(j->ap, j->r, DL_APPLY_FAILED, 0, "%s; %s%s", j->failure,
                        ready ? dl_cloud_run_short_name(ready) : "no revision",
                        ready ? " still serves" : " serves");
    } else if (!ready || !created || strcmp(ready, created)) {
        const char *msg =
            sget(json_object_get(svc, "terminalCondition"), "message");

        dl_apply_record(j->ap, j->r, DL_APPLY_FAILED, 0,
                        "revision %s is not ready: %s; %s still serves",
                        created ? dl_cloud_run_short_name(created) : "(none)",
                        msg ? msg : "no message",
                        ready ? dl_cloud_run_short_name(ready) : "nothing");
    } else if (!traffic_ok(&j->d->spec.run, svc)) {
        dl_apply_record(j->ap, j->r, DL_APPLY_FAILED, 0,
                        "%s, but its traffic is not as declared", what);
    } else {
        dl_apply_record(j->ap, j->r, DL_APPLY_APPLIED, 0,
                        "%s, revision %s serving", what,
                        dl_cloud_run_short_name(ready));
    }
    job_free(j);
}

static void op_finished(struct job *j, int rc, json_t *res,
                        const struct dl_err *err)
{
    (void)res;
    if (rc < 0)
        j->failure =
            dl_asprintf("%s: %s", j->live ? "update" : "create", err->msg);
    hop(j, DL_GCP_RUN, "GET", j->path, NULL, 0, confirmed);
}

static void start_service(struct job *j);

/* The service read again after a write that may or may not have landed. */
static void reread(struct job *j, int rc, json_t *live,
                   const struct dl_err *err)
{
    if (rc < 0 && rc != DL_ENOTFOUND) {
        fail(j, "reading the service again: %s", err->msg);
        return;
    }
    if (rc == DL_ENOTFOUND && j->r->action != DL_PLAN_ACTION_CREATE) {
        fail(j, "the service no longer exists: plan again");
        return;
    }
    json_decref(j->live);
    j->live = rc == 0 ? json_incref(live) : NULL;
    start_service(j);
}

static void mutated(struct job *j, int rc, json_t *op, const struct dl_err *err)
{
    const char *what = j->live ? "update" : "create";

    /* A write that failed transiently may have landed (its answer lost);
       one that met a new etag (409 ABORTED) or an existing service (409
       ALREADY_EXISTS) raced with someone, perhaps our own earlier
       attempt. Without a saved plan both are redone from the service read
       again (the PATCH carries the new etag; its body is computed from
       the service as it is, so a landed write is not doubled: the same
       template makes no new revision). A saved plan's service that moved
       is not redone: that plan is no longer what was reviewed. */
    if (rc < 0 && j->redo < MAX_REDO && !dl_apply_cancelled(j->ap) &&
        (rc == DL_ETRANSIENT ||
         (rc == DL_ECONFLICT && !dl_apply_saved_plan(j->ap)))) {
        j->redo++;
        dl_info("apply: %s: %s: %s; reading the service again", j->r->address,
                what, err->msg);
        hop(j, DL_GCP_RUN, "GET", j->path, NULL, j->redo * REDO_PAUSE_NS,
            reread);
        return;
    }
    if (rc < 0) {
        fail(j, "%s: %s", what, err->msg);
        return;
    }
    wait_op(j, op, op_finished);
}

static void start_service(struct job *j)
{
    const struct dl_cloud_run_spec *s = &j->d->spec.run;
    char buf[41];
    const char *commit = desired_commit(j->ap, j->d, buf);
    const char *image = s->image;
    json_t *body;

    if (s->has_build) {
        image = built_image(j->ap, j->r->address);
        if (!commit) {
            fail(j, "the commit to deploy is unknown");
            return;
        }
        if (!j->live && !image) {
            fail(j, "no image was built to create the service with");
            return;
        }
    }
    body = dl_cloud_run_desired_service(j->live, s, image, commit);
    if (j->live) {
        hop(j, DL_GCP_RUN, "PATCH", j->path, body, 0, mutated);
    } else {
        char *id = dl_gcp_urlencode(j->d->name);
        char *parent = dl_strdup(j->path);
        char *path;

        *strrchr(parent, '/') = '\0'; /* .../services */
        path = dl_asprintf("%s?serviceId=%s", parent, id);
        hop(j, DL_GCP_RUN, "POST", path, body, 0, mutated);
        free(path);
        free(parent);
        free(id);
    }
    json_decref(body);
}

static void deleted(struct job *j, int rc, json_t *res,
                    const struct dl_err *err)
{
    (void)res;
    if (rc < 0) {
        dl_apply_release_deletes(j->ap, j->r, 1);
        fail(j, "delete: %s", err->msg);
        return;
    }
    dl_apply_progress(j->ap, 1);
    dl_apply_record(j->ap, j->r, DL_APPLY_APPLIED, 1, "deleted");
    job_free(j);
}

static void delete_sent(struct job *j, int rc, json_t *op,
                        const struct dl_err *err)
{
    if (rc < 0) {
        deleted(j, rc, NULL, err);
        return;
    }
    wait_op(j, op, deleted);
}

static void start_delete(struct job *j)
{
    const char *etag = sget(j->live, "etag");
    char *q = etag ? dl_gcp_urlencode(etag) : NULL;
    char *path = q ? dl_asprintf("%s?etag=%s", j->path, q) : dl_strdup(j->path);

    hop(j, DL_GCP_RUN, "DELETE", path, NULL, 0, delete_sent);
    free(path);
    free(q);
}

/* ---- the first step of both phases ---- */

static void got_service(struct job *j, int rc, json_t *live,
                        const struct dl_err *err)
{
    enum dl_plan_action act = j->r->action;
    const char *want = sget(j->r->preconditions, "etag");
    const char *have = sget(live, "etag");

    if (rc < 0 && rc != DL_ENOTFOUND) {
        fail(j, "%s", err->msg);
        return;
    }
    if (dl_apply_cancelled(j->ap)) {
        dl_apply_record(j->ap, j->r, DL_APPLY_SKIPPED, 0, "cancelled");
        job_free(j);
        return;
    }
    if (act != DL_PLAN_ACTION_CREATE && !live) {
        if (act == DL_PLAN_ACTION_DELETE) {
            dl_apply_release_deletes(j->ap, j->r, 1);
            dl_apply_record(j->ap, j->r, DL_APPLY_APPLIED, 0,
                            "already deleted");
            job_free(j);
        } else {
            fail(j, "the service no longer exists: plan again");
        }
        return;
    }
    if (live && want && (!have || strcmp(want, have))) {
        /* A saved plan is applied only as reviewed, and an orphan is
           deleted only as planned; a plan made by this apply is
           re-evaluated against the service just read (an operation of an
           interrupted apply that finished since, a foreign change): the
           update is computed from it and guarded by its etag. */
        if (dl_apply_saved_plan(j->ap) || act == DL_PLAN_ACTION_DELETE) {
            fail(j,
                 "the service changed since the plan (etag %s, now %s): "
                 "plan again",
                 want, have ? have : "absent");
            return;
        }
        dl_info("apply: %s: the service changed since the plan (etag %s, "
                "now %s): applying to the service as it is now",
                j->r->address, want, have ? have : "absent");
    }
    j->live = json_incref(live);
    if (dl_apply_phase(j->ap) == DL_APPLY_PHASE_BUILD)
        start_build(j);
    else if (act == DL_PLAN_ACTION_DELETE)
        start_delete(j);
    else
        start_service(j);
}

/* ---- one services list per location ---- */

/* The jobs of one (project, region): one services list reads them all. */
struct batch {
    char *project, *region;
    struct job **jobs;
    size_t n;
    json_t *services; /* service ID -> Service, as listed */
    int nameless;     /* the list held a service without a name */
};

static void batch_free(struct batch *b)
{
    free(b->project);
    free(b->region);
    free(b->jobs);
    json_decref(b->services);
    free(b);
}

static int on_listed(void *ud, json_t *item)
{
    struct batch *b = ud;
    const char *name = sget(item, "name");

    if (!name) {
        /* Unmatchable: as in observe, fail the list rather than take a
         * declared service for missing. */
        b->nameless = 1;
        return 1;
    }
    json_object_set(b->services, dl_cloud_run_short_name(name), item);
    return 0;
}

static void listed(struct dl_gcp_client *c, int rc, json_t *result,
                   const struct dl_err *err, void *ud)
{
    struct batch *b = ud;

    struct dl_err e;

    (void)c;
    (void)result;
    if (rc == 0 && b->nameless) {
        rc = dl_err_set(&e, DL_EINVALID,
                        "malformed answer: a listed service has no string "
                        "\"name\"");
        err = &e;
    }
    for (size_t i = 0; i < b->n; i++) {
        json_t *live = json_object_get(b->services, b->jobs[i]->r->name);

        if (rc < 0)
            got_service(b->jobs[i], rc, NULL, err);
        else
            got_service(b->jobs[i], live ? 0 : DL_ENOTFOUND, live, NULL);
    }
    batch_free(b);
}

static void submit_batch(struct dl_apply *ap, struct batch *b)
{
    char *p = dl_gcp_urlencode(b->project), *r = dl_gcp_urlencode(b->region);
    char *path = dl_asprintf(
        "/v2/projects/%s/locations/%s/services?pageSize=1000", p, r);
    struct dl_err e;

    b->services = json_object();
    if (dl_gcp_list_submit(dl_apply_gcp(ap), DL_GCP_RUN, path, "services",
                           on_listed, listed, b, &e) < 0) {
        for (size_t i = 0; i < b->n; i++)
            got_service(b->jobs[i], DL_EINVALID, NULL, &e);
        batch_free(b);
    }
    free(path);
    free(p);
    free(r);
}

int dl_cloud_run_apply(struct dl_apply *ap, struct dl_plan_resource *const *rs,
                       size_t n, struct dl_err *err)
{
    enum dl_apply_phase ph = dl_apply_phase(ap);
    struct batch **bs = NULL;
    size_t nb = 0, k;

    (void)err;
    for (size_t i = 0; i < n; i++) {
        struct dl_plan_resource *r = rs[i];
        const struct dl_resource *d = dl_apply_desired(ap, r);
        const char *region = sget(r->preconditions, "region");
        char *p, *l, *s;
        struct job *j;

        if (ph == DL_APPLY_PHASE_BUILD && (r->action == DL_PLAN_ACTION_DELETE ||
                                           !d || !d->spec.run.has_build))
            continue; /* nothing to build */
        if (r->action != DL_PLAN_ACTION_DELETE && !d) {
            dl_apply_record(ap, r, DL_APPLY_FAILED, 0,
                            "not declared in the desired state");
            continue;
        }
        if (d && d->spec.run.region)
            region = d->spec.run.region;
        if (!region) {
            dl_apply_record(ap, r, DL_APPLY_FAILED, 0,
                            "the plan names no region");
            continue;
        }
        if (dl_apply_cancelled(ap)) {
            dl_apply_record(ap, r, DL_APPLY_SKIPPED, 0, "cancelled");
            continue;
        }
        j = dl_calloc(1, sizeof(*j));
        j->ap = ap;
        j->r = r;
        j->d = d;
        p = dl_gcp_urlencode(r->project);
        l = dl_gcp_urlencode(region);
        s = dl_gcp_urlencode(r->name);
        j->path =
            dl_asprintf("/v2/projects/%s/locations/%s/services/%s", p, l, s);
        free(p);
        free(l);
        free(s);
        for (k = 0; k < nb; k++)
            if (!strcmp(bs[k]->project, r->project) &&
                !strcmp(bs[k]->region, region))
                break;
        if (k == nb) {
            bs = dl_reallocarray(bs, nb + 1, sizeof(*bs));
            bs[nb] = dl_calloc(1, sizeof(**bs));
            bs[nb]->project = dl_strdup(r->project);
            bs[nb]->region = dl_strdup(region);
            nb++;
        }
        bs[k]->jobs =
            dl_reallocarray(bs[k]->jobs, bs[k]->n + 1, sizeof(*bs[k]->jobs));
        bs[k]->jobs[bs[k]->n++] = j;
    }
    for (k = 0; k < nb; k++)
        submit_batch(ap, bs[k]);
    free(bs);
    return 0;
}
