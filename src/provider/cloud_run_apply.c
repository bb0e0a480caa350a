/*
 * cloud_run_apply.c - `driftless apply` for CloudRunService: Cloud Build
 * builds (build phase), then service creates, updates and orphan deletes
 * (service phase). docs/apply.md ("CloudRunService").
 *
 * Each resource starts with one queued GET of its service; the rest of its
 * work (build lookup, create and poll, PATCH and operation wait, the check
 * afterwards) runs synchronously inside that request's completion, so the
 * resources of one phase proceed concurrently in the executor's loop.
 */
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
#define OP_TIMEOUT_NS (20LL * 60 * NS_PER_S)

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

/* ---- one resource ------------------------------------------------------ */

struct job {
    struct dl_apply *ap;
    struct dl_plan_resource *r;
    const struct dl_resource *d; /* NULL for orphans */
    char *path;                  /* /v2/projects/p/locations/l/services/s */
};

static void job_free(struct job *j)
{
    free(j->path);
    free(j);
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

/* 0 when live's etag is still the plan's, else records FAILED. */
static int check_etag(struct job *j, const json_t *live)
{
    const char *want = sget(j->r->preconditions, "etag");
    const char *have = sget(live, "etag");

    if (!want || !live)
        return 0;
    if (have && !strcmp(want, have))
        return 0;
    dl_apply_record(j->ap, j->r, DL_APPLY_FAILED, 0,
                    "the service changed since the plan (etag %s, now %s): "
                    "plan again",
                    want, have ? have : "absent");
    return -1;
}

/* Does the serving revision of live already carry commit and dockerfile? */
static int serving_matches(struct job *j, const json_t *live,
                           const char *commit, const char *dockerfile)
{
    struct dl_gcp_client *c = dl_apply_gcp(j->ap);
    const char *rev = dl_cloud_run_serving_revision(live);
    json_t *got = NULL, *ann;
    char *path;
    struct dl_err e;
    int ok = 0;

    if (!rev || !*rev)
        return 0;
    if (strchr(rev, '/'))
        path = dl_asprintf("/v2/%s", rev);
    else
        path = dl_asprintf("%s/revisions/%s", j->path, rev);
    if (dl_gcp_call(c, DL_GCP_RUN, "GET", path, NULL, &got, &e) < 0) {
        dl_debug("apply: %s: %s", j->r->address, e.msg);
        goto done;
    }
    ann = json_object_get(got, "annotations");
    ok = dl_cloud_run_commit_matches(sget(ann, DL_CLOUD_RUN_ANN_COMMIT),
                                     commit) &&
         sget(ann, DL_CLOUD_RUN_ANN_DOCKERFILE) &&
         !strcmp(sget(ann, DL_CLOUD_RUN_ANN_DOCKERFILE), dockerfile);
done:
    json_decref(got);
    free(path);
    return ok;
}

static int terminal_build(const char *status)
{
    return status && strcmp(status, "QUEUED") && strcmp(status, "WORKING") &&
           strcmp(status, "PENDING") && strcmp(status, "STATUS_UNKNOWN");
}

/* Poll builds.get until the build is done; *out the final Build. */
static int await_build(struct dl_gcp_client *c, const char *project,
                       const char *id, json_t **out, struct dl_err *err)
{
    char *pid = dl_gcp_urlencode(project), *bid = dl_gcp_urlencode(id);
    char *path = dl_asprintf("/v1/projects/%s/builds/%s", pid, bid);
    int64_t deadline = dl_gcp_client_now(c) + BUILD_TIMEOUT_NS;
    int64_t delay = 0;
    int rc;

    *out = NULL;
    for (;;) {
        struct dl_gcp_request req = {.api = DL_GCP_CLOUDBUILD,
                                     .method = "GET",
                                     .path = path,
                                     .retry = DL_GCP_RETRY_READ,
                                     .delay_ns = delay};

        rc = dl_gcp_call_req(c, &req, out, err);
        if (rc < 0 || terminal_build(sget(*out, "status")))
            break;
        json_decref(*out);
        *out = NULL;
        if (dl_gcp_client_now(c) > deadline) {
            rc = dl_err_set(err, DL_ETRANSIENT,
                            "build %s still not finished after %llds", id,
                            (long long)(BUILD_TIMEOUT_NS / NS_PER_S));
            break;
        }
        delay = delay ? delay * 3 / 2 : 200000000LL;
        if (delay > 5 * NS_PER_S)
            delay = 5 * NS_PER_S;
    }
    free(path);
    free(pid);
    free(bid);
    return rc;
}

/* A build of the same service, commit and Dockerfile that is queued,
   running or succeeded: its id (malloc'd), or NULL. */
static char *find_build(struct dl_gcp_client *c, const char *project,
                        const char *service, const char *commit,
                        const char *dockerfile, struct dl_err *err, int *rc)
{
    char *filter = dl_cloud_run_build_filter(service, commit, dockerfile);
    char *q = dl_gcp_urlencode(filter), *pid = dl_gcp_urlencode(project);
    char *path =
        dl_asprintf("/v1/projects/%s/builds?pageSize=50&filter=%s", pid, q);
    json_t *got = NULL, *b;
    char *id = NULL;
    size_t i;

    *rc = dl_gcp_call(c, DL_GCP_CLOUDBUILD, "GET", path, NULL, &got, err);
    if (*rc == 0) {
        json_array_foreach(json_object_get(got, "builds"), i, b)
        {
            const char *st = sget(b, "status");

            if (st && sget(b, "id") &&
                (!terminal_build(st) || !strcmp(st, "SUCCESS"))) {
                id = dl_strdup(sget(b, "id"));
                break;
            }
        }
    }
    json_decref(got);
    free(path);
    free(q);
    free(pid);
    free(filter);
    return id;
}

static void do_build(struct job *j, const json_t *live)
{
    struct dl_gcp_client *c = dl_apply_gcp(j->ap);
    const struct dl_cloud_run_spec *s = &j->d->spec.run;
    const struct dl_project_spec *ps = &j->d->project->spec.project;
    const char *project = dl_resource_project_id(j->d);
    char cbuf[41];
    const char *commit = desired_commit(j->ap, j->d, cbuf);
    json_t *body = NULL, *op = NULL, *build = NULL;
    char *id = NULL, *image = NULL, *path = NULL, *pid = NULL;
    struct dl_err e;
    int rc;

    if (!commit) {
        dl_apply_record(j->ap, j->r, DL_APPLY_FAILED, 0,
                        "the commit to build is unknown");
        goto done;
    }
    if (!ps->build_source_url || !ps->build_image_repository) {
        dl_apply_record(j->ap, j->r, DL_APPLY_FAILED, 0,
                        "Project '%s' sets no spec.build.sourceUrl and "
                        "imageRepository: cannot build",
                        project);
        goto done;
    }
    if (live && serving_matches(j, live, commit, s->build.dockerfile))
        goto done; /* nothing to build: the service phase keeps the image */
    id = find_build(c, project, j->d->name, commit, s->build.dockerfile, &e,
                    &rc);
    if (rc < 0)
        goto fail;
    if (id) {
        dl_info("apply: %s: reusing build %s of %.7s", j->r->address, id,
                commit);
    } else {
        pid = dl_gcp_urlencode(project);
        path = dl_asprintf("/v1/projects/%s/builds", pid);
        body = dl_cloud_run_build_body(j->d->name, s, ps->build_source_url,
                                       ps->build_image_repository, commit);
        if ((rc = dl_gcp_call(c, DL_GCP_CLOUDBUILD, "POST", path, body, &op,
                              &e)) < 0)
            goto fail;
        id = dl_strdup(sget(
            json_object_get(json_object_get(op, "metadata"), "build"), "id"));
        if (!id) {
            rc = dl_err_set(&e, DL_ERROR,
                            "the build operation names no build id");
            goto fail;
        }
        dl_info("apply: %s: started build %s of %.7s", j->r->address, id,
                commit);
    }
    if ((rc = await_build(c, project, id, &build, &e)) < 0)
        goto fail;
    if (strcmp(sget(build, "status"), "SUCCESS")) {
        dl_apply_record(j->ap, j->r, DL_APPLY_FAILED, 0, "build %s %s: %s", id,
                        sget(build, "status"),
                        dl_cloud_run_build_failure(build));
        goto done;
    }
    image = dl_cloud_run_build_image(build, j->d->name,
                                     ps->build_image_repository, commit);
    if (!image) {
        dl_apply_record(j->ap, j->r, DL_APPLY_FAILED, 0,
                        "build %s pushed no image %s/%s:%s", id,
                        ps->build_image_repository, j->d->name, commit);
        goto done;
    }
    set_built(j->ap, j->r->address, image);
    goto done;
fail:
    dl_apply_record(j->ap, j->r, DL_APPLY_FAILED, 0, "build: %s", e.msg);
done:
    free(image);
    free(id);
    free(path);
    free(pid);
    json_decref(body);
    json_decref(op);
    json_decref(build);
}

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
static void confirm(struct job *j, const char *what)
{
    struct dl_gcp_client *c = dl_apply_gcp(j->ap);
    json_t *svc = NULL;
    struct dl_err e;
    const char *ready, *created;

    if (dl_gcp_call(c, DL_GCP_RUN, "GET", j->path, NULL, &svc, &e) < 0) {
        dl_apply_record(j->ap, j->r, DL_APPLY_FAILED, 0,
                        "%s, but reading it back failed: %s", what, e.msg);
        goto done;
    }
    ready = sget(svc, "latestReadyRevision");
    created = sget(svc, "latestCreatedRevision");
    if (!ready || !created || strcmp(ready, created)) {
        const char *msg =
            sget(json_object_get(svc, "terminalCondition"), "message");

        dl_apply_record(j->ap, j->r, DL_APPLY_FAILED, 0,
                        "revision %s is not ready: %s; %s still serves",
                        created ? dl_cloud_run_short_name(created) : "(none)",
                        msg ? msg : "no message",
                        ready ? dl_cloud_run_short_name(ready) : "nothing");
        goto done;
    }
    if (!traffic_ok(&j->d->spec.run, svc)) {
        dl_apply_record(j->ap, j->r, DL_APPLY_FAILED, 0,
                        "%s, but its traffic is not as declared", what);
        goto done;
    }
    dl_apply_record(j->ap, j->r, DL_APPLY_APPLIED, 0, "%s, revision %s serving",
                    what, dl_cloud_run_short_name(ready));
done:
    json_decref(svc);
}

static void do_delete(struct job *j, const json_t *live)
{
    struct dl_gcp_client *c = dl_apply_gcp(j->ap);
    struct dl_gcp_lro_opts lro = {.use_wait = 1, .timeout_ns = OP_TIMEOUT_NS};
    const char *etag = sget(live, "etag");
    char *q = etag ? dl_gcp_urlencode(etag) : NULL;
    char *path = q ? dl_asprintf("%s?etag=%s", j->path, q) : dl_strdup(j->path);
    json_t *op = NULL, *res = NULL;
    struct dl_err e;

    if (dl_gcp_call(c, DL_GCP_RUN, "DELETE", path, NULL, &op, &e) < 0 ||
        dl_gcp_lro_wait(c, DL_GCP_RUN, op, &lro, &res, &e) < 0) {
        dl_apply_release_deletes(j->ap, j->r, 1);
        dl_apply_record(j->ap, j->r, DL_APPLY_FAILED, 0, "delete: %s", e.msg);
    } else {
        dl_apply_progress(j->ap, 1);
        dl_apply_record(j->ap, j->r, DL_APPLY_APPLIED, 1, "deleted");
    }
    json_decref(op);
    json_decref(res);
    free(path);
    free(q);
}

static void do_service(struct job *j, const json_t *live)
{
    struct dl_gcp_client *c = dl_apply_gcp(j->ap);
    struct dl_gcp_lro_opts lro = {.use_wait = 1, .timeout_ns = OP_TIMEOUT_NS};
    const struct dl_cloud_run_spec *s = &j->d->spec.run;
    char cbuf[41];
    const char *commit = desired_commit(j->ap, j->d, cbuf);
    const char *image = s->image;
    json_t *body, *op = NULL, *res = NULL;
    char *path = NULL;
    struct dl_err e;
    int rc;

    if (s->has_build) {
        image = built_image(j->ap, j->r->address);
        if (!commit) {
            dl_apply_record(j->ap, j->r, DL_APPLY_FAILED, 0,
                            "the commit to deploy is unknown");
            return;
        }
        if (!live && !image) {
            dl_apply_record(j->ap, j->r, DL_APPLY_FAILED, 0,
                            "no image was built to create the service with");
            return;
        }
    }
    body = dl_cloud_run_desired_service(live, s, image, commit);
    if (live) {
        rc = dl_gcp_call(c, DL_GCP_RUN, "PATCH", j->path, body, &op, &e);
    } else {
        char *id = dl_gcp_urlencode(j->d->name);
        char *parent = dl_strdup(j->path);

        *strrchr(parent, '/') = '\0'; /* .../services */
        path = dl_asprintf("%s?serviceId=%s", parent, id);
        rc = dl_gcp_call(c, DL_GCP_RUN, "POST", path, body, &op, &e);
        free(parent);
        free(id);
    }
    if (rc < 0) {
        dl_apply_record(j->ap, j->r, DL_APPLY_FAILED, 0, "%s: %s",
                        live ? "update" : "create", e.msg);
        goto done;
    }
    if (dl_gcp_lro_wait(c, DL_GCP_RUN, op, &lro, &res, &e) < 0) {
        json_t *now = NULL;
        struct dl_err e2;
        const char *ready = NULL;

        if (dl_gcp_call(c, DL_GCP_RUN, "GET", j->path, NULL, &now, &e2) == 0)
            ready = sget(now, "latestReadyRevision");
        if (ready)
            dl_apply_record(j->ap, j->r, DL_APPLY_FAILED, 0,
                            "%s: %s; %s still serves",
                            live ? "update" : "create", e.msg,
                            dl_cloud_run_short_name(ready));
        else
            dl_apply_record(j->ap, j->r, DL_APPLY_FAILED, 0,
                            "%s: %s; no revision serves",
                            live ? "update" : "create", e.msg);
        json_decref(now);
        goto done;
    }
    confirm(j, live ? "updated" : "created");
done:
    json_decref(body);
    json_decref(op);
    json_decref(res);
    free(path);
}

static void got_service(struct dl_gcp_client *c, int rc,
                        const struct dl_gcp_response *resp,
                        const struct dl_err *err, void *ud)
{
    struct job *j = ud;
    const json_t *live = rc == 0 ? resp->json : NULL;
    enum dl_plan_action act = j->r->action;

    (void)c;
    if (rc < 0 && rc != DL_ENOTFOUND) {
        dl_apply_record(j->ap, j->r, DL_APPLY_FAILED, 0, "%s", err->msg);
        goto done;
    }
    if (dl_apply_cancelled(j->ap)) {
        dl_apply_record(j->ap, j->r, DL_APPLY_SKIPPED, 0, "cancelled");
        goto done;
    }
    if (act != DL_PLAN_ACTION_CREATE && !live) {
        if (act == DL_PLAN_ACTION_DELETE) {
            dl_apply_release_deletes(j->ap, j->r, 1);
            dl_apply_record(j->ap, j->r, DL_APPLY_APPLIED, 0,
                            "already deleted");
        } else {
            dl_apply_record(j->ap, j->r, DL_APPLY_FAILED, 0,
                            "the service no longer exists: plan again");
        }
        goto done;
    }
    if (check_etag(j, live) < 0)
        goto done;
    if (dl_apply_phase(j->ap) == DL_APPLY_PHASE_BUILD)
        do_build(j, live);
    else if (act == DL_PLAN_ACTION_DELETE)
        do_delete(j, live);
    else
        do_service(j, live);
done:
    job_free(j);
}

int dl_cloud_run_apply(struct dl_apply *ap, struct dl_plan_resource *const *rs,
                       size_t n, struct dl_err *err)
{
    enum dl_apply_phase ph = dl_apply_phase(ap);

    (void)err;
    for (size_t i = 0; i < n; i++) {
        struct dl_plan_resource *r = rs[i];
        const struct dl_resource *d = dl_apply_desired(ap, r);
        const char *region = sget(r->preconditions, "region");
        struct dl_gcp_request req = {.api = DL_GCP_RUN,
                                     .method = "GET",
                                     .retry = DL_GCP_RETRY_READ,
                                     .done = got_service};
        struct dl_err e;
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
        {
            char *p = dl_gcp_urlencode(r->project);
            char *l = dl_gcp_urlencode(region);
            char *s = dl_gcp_urlencode(r->name);

            j->path = dl_asprintf("/v2/projects/%s/locations/%s/services/%s", p,
                                  l, s);
            free(p);
            free(l);
            free(s);
        }
        req.path = j->path;
        req.ud = j;
        if (dl_gcp_submit(dl_apply_gcp(ap), &req, &e) < 0) {
            dl_apply_record(ap, r, DL_APPLY_FAILED, 0, "%s", e.msg);
            job_free(j);
        }
    }
    return 0;
}
