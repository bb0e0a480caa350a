/*
 * storage_bucket_policy.c - StorageBucketPolicy: empty buckets of a
 * project whose names match bucketPattern.
 *
 * observe: ONE paginated buckets.list per project, shared by every policy
 * of that project (GET /storage/v1/b?project=P&maxResults=1000). When the
 * listing is done, every bucket that some policy's bucketPattern matches
 * is probed once (all probes concurrently):
 *   GET /storage/v1/b/B/o?maxResults=1&versions=true
 * Any item (live object or noncurrent version) or prefix (managed or HNS
 * folder) means the bucket is not empty. When that finds nothing and the
 * bucket has a soft-delete policy (softDeletePolicy.retentionDurationSeconds
 * > 0), a second probe asks for soft-deleted objects
 * (?maxResults=1&softDeleted=true): a bucket whose objects can still be
 * restored is not empty either.
 * diff: total = buckets matching bucketPattern; violating (reason empty) =
 * the empty ones, kept with their metageneration (apply's
 * ifMetagenerationMatch). whenEmpty delete -> action delete in enforce
 * mode; otherwise report.
 */
#include <stdlib.h>
#include <string.h>

#include "provider/hygiene.h"
#include "provider/hygiene_apply.h"
#include "util/alloc.h"

enum { PROBE_PENDING = 0, PROBE_EMPTY, PROBE_NOT_EMPTY, PROBE_FAILED };

struct gcs_bucket {
    char *name;
    int64_t metageneration;
    int64_t soft_retention_s;
    int probe;         /* PROBE_* */
    int soft_deleted;  /* not empty only because of soft-deleted objects */
    struct dl_err err; /* PROBE_FAILED */
};

struct gcs_project {
    char *project;
    struct dl_hygiene_obs **obs;
    size_t nobs;
    struct gcs_bucket *b;
    size_t nb, bcap;
    int rc; /* the buckets list failed */
    struct dl_err err;
    struct dl_gcp_client *gcp;
};

struct gcs_state {
    struct dl_hygiene_state hygiene; /* first: what pass->state shows */
    struct gcs_project **p;
    size_t np, pcap;
};

static struct gcs_project *project_for(struct gcs_state *st, const char *id)
{
    struct gcs_project *p;

    for (size_t i = 0; i < st->np; i++)
        if (!strcmp(st->p[i]->project, id))
            return st->p[i];
    p = dl_calloc(1, sizeof(*p));
    p->project = dl_strdup(id);
    if (st->np == st->pcap) {
        st->pcap = st->pcap ? 2 * st->pcap : 4;
        st->p = dl_reallocarray(st->p, st->pcap, sizeof(*st->p));
    }
    st->p[st->np++] = p;
    return p;
}

/* An int64 sent as a JSON string (or number); 0 when absent. */
static int64_t int64_of(json_t *v)
{
    const char *s = json_string_value(v);

    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    return s ? (int64_t)strtoll(s, NULL, 10) : 0;
}

static int wanted(const struct gcs_project *p, const char *name)
{
    for (size_t i = 0; i < p->nobs; i++) {
        const struct dl_pattern *pat =
            &p->obs[i]->resource->spec.bucket.bucket_pattern;

        if (pat->compiled && dl_pattern_match(pat, name))
            return 1;
    }
    return 0;
}

static int on_bucket(void *ud, json_t *b)
{
    struct gcs_project *p = ud;
    const char *name = json_string_value(json_object_get(b, "name"));
    struct gcs_bucket *gb;

    if (!name || !wanted(p, name))
        return 0;
    if (p->nb == p->bcap) {
        p->bcap = p->bcap ? 2 * p->bcap : 16;
        p->b = dl_reallocarray(p->b, p->bcap, sizeof(*p->b));
    }
    gb = &p->b[p->nb++];
    memset(gb, 0, sizeof(*gb));
    gb->name = dl_strdup(name);
    gb->metageneration = int64_of(json_object_get(b, "metageneration"));
    gb->soft_retention_s = int64_of(json_object_get(
        json_object_get(b, "softDeletePolicy"), "retentionDurationSeconds"));
    return 0;
}

static int submit_probe(struct dl_gcp_client *c, struct gcs_bucket *gb,
                        int soft_deleted, struct dl_err *err);

static void on_probe(struct dl_gcp_client *c, int rc,
                     const struct dl_gcp_response *r, const struct dl_err *err,
                     void *ud, int soft_deleted)
{
    struct gcs_bucket *gb = ud;
    struct dl_err e2;

    if (rc < 0) {
        gb->probe = PROBE_FAILED;
        dl_err_copy(&gb->err, err);
        dl_err_prefix(&gb->err, "listing objects of bucket \"%s\"", gb->name);
        return;
    }
    if (json_array_size(json_object_get(r->json, "items")) > 0 ||
        json_array_size(json_object_get(r->json, "prefixes")) > 0) {
        gb->probe = PROBE_NOT_EMPTY;
        gb->soft_deleted = soft_deleted;
        return;
    }
    if (!soft_deleted && gb->soft_retention_s > 0) {
        if (submit_probe(c, gb, 1, &e2) < 0) {
            gb->probe = PROBE_FAILED;
            dl_err_copy(&gb->err, &e2);
        }
        return;
    }
    gb->probe = PROBE_EMPTY;
}

static void on_probe_versions(struct dl_gcp_client *c, int rc,
                              const struct dl_gcp_response *r,
                              const struct dl_err *err, void *ud)
{
    on_probe(c, rc, r, err, ud, 0);
}

static void on_probe_soft(struct dl_gcp_client *c, int rc,
                          const struct dl_gcp_response *r,
                          const struct dl_err *err, void *ud)
{
    on_probe(c, rc, r, err, ud, 1);
}

static int submit_probe(struct dl_gcp_client *c, struct gcs_bucket *gb,
                        int soft_deleted, struct dl_err *err)
{
    char *b = dl_gcp_urlencode(gb->name);
    char *path =
        dl_asprintf("/storage/v1/b/%s/o?maxResults=1&%s", b,
                    soft_deleted ? "softDeleted=true" : "versions=true");
    struct dl_gcp_request req = {
        .api = DL_GCP_STORAGE,
        .method = "GET",
        .path = path,
        .retry = DL_GCP_RETRY_READ,
        .done = soft_deleted ? on_probe_soft : on_probe_versions,
        .ud = gb,
    };
    int rc = dl_gcp_submit(c, &req, err);

    free(path);
    free(b);
    return rc;
}

static void on_listed(struct dl_gcp_client *c, int rc, json_t *result,
                      const struct dl_err *err, void *ud)
{
    struct gcs_project *p = ud;

    (void)result;
    if (rc < 0) {
        p->rc = rc;
        dl_err_copy(&p->err, err);
        dl_err_prefix(&p->err, "listing buckets of project \"%s\"", p->project);
        return;
    }
    for (size_t i = 0; i < p->nb; i++) {
        struct dl_err e2;

        if (submit_probe(c, &p->b[i], 0, &e2) < 0) {
            p->b[i].probe = PROBE_FAILED;
            dl_err_copy(&p->b[i].err, &e2);
        }
    }
}

static void dispose(struct dl_pass *pass)
{
    struct gcs_state *st = pass->state[DL_KIND_STORAGE_BUCKET_POLICY];

    if (!st)
        return;
    for (size_t i = 0; i < st->np; i++) {
        struct gcs_project *p = st->p[i];

        for (size_t j = 0; j < p->nb; j++)
            free(p->b[j].name);
        free(p->b);
        free(p->obs);
        free(p->project);
        free(p);
    }
    free(st->p);
    dl_hygiene_state_dispose(&st->hygiene);
    free(st);
    pass->state[DL_KIND_STORAGE_BUCKET_POLICY] = NULL;
}

static int observe(struct dl_pass *pass, struct dl_err *err)
{
    struct gcs_state *st = dl_calloc(1, sizeof(*st));
    int rc = 0;

    pass->state[DL_KIND_STORAGE_BUCKET_POLICY] = st;
    for (size_t i = 0; i < pass->model->n_resources; i++) {
        const struct dl_resource *r = pass->model->resources[i];
        struct gcs_project *p;

        if (r->kind != DL_KIND_STORAGE_BUCKET_POLICY ||
            !dl_pass_selected(pass, r))
            continue;
        p = project_for(st, dl_resource_project_id(r));
        p->obs = dl_reallocarray(p->obs, p->nobs + 1, sizeof(*p->obs));
        p->obs[p->nobs++] = dl_hygiene_state_add(
            &st->hygiene, r, r->spec.bucket.max_deletes_per_run, DL_UNSET);
    }
    for (size_t i = 0; i < st->np; i++) {
        char *proj = dl_gcp_urlencode(st->p[i]->project);
        char *path =
            dl_asprintf("/storage/v1/b?project=%s&maxResults=1000", proj);

        rc = dl_gcp_list_submit(pass->gcp, DL_GCP_STORAGE, path, "items",
                                on_bucket, on_listed, st->p[i], err);
        free(path);
        free(proj);
        if (rc < 0) {
            dispose(pass);
            return rc;
        }
    }
    return rc;
}

/* Classify p's probed buckets for o (name order, as listed). */
static void classify(struct dl_hygiene_obs *o, const struct gcs_project *p)
{
    o->done = 1;
    if (p->rc < 0) {
        dl_hygiene_obs_fail(o, p->rc, &p->err, NULL);
        return;
    }
    for (size_t i = 0; i < p->nb; i++) {
        const struct gcs_bucket *gb = &p->b[i];
        const struct dl_pattern *pat = &o->resource->spec.bucket.bucket_pattern;

        if (!dl_pattern_match(pat, gb->name))
            continue;
        if (gb->probe == PROBE_FAILED) {
            dl_hygiene_obs_fail(o, gb->err.code, &gb->err, NULL);
            return;
        }
        if (gb->probe == PROBE_PENDING) {
            struct dl_err e;

            dl_err_set(&e, DL_ERROR, "bucket \"%s\" was not probed", gb->name);
            dl_hygiene_obs_fail(o, DL_ERROR, &e, NULL);
            return;
        }
        dl_hygiene_bucket_classify(o, gb->name, gb->probe == PROBE_EMPTY,
                                   gb->metageneration);
    }
}

static void preconditions(struct dl_plan_resource *pr,
                          const struct dl_hygiene_obs *o)
{
    json_t *buckets = json_object();

    for (size_t i = 0; i < o->nobjs; i++) {
        char mg[32];

        snprintf(mg, sizeof(mg), "%lld", (long long)o->objs[i].version);
        json_object_set_new(buckets, dl_hygiene_id(o, i),
                            json_pack("{s:s}", "metageneration", mg));
    }
    json_object_set_new(pr->preconditions, "observed_buckets",
                        json_integer(o->total));
    json_object_set_new(pr->preconditions, "buckets", buckets);
}

static int diff(struct dl_pass *pass, struct dl_err *err)
{
    struct gcs_state *st = pass->state[DL_KIND_STORAGE_BUCKET_POLICY];

    (void)err;
    for (size_t i = 0; i < pass->model->n_resources; i++) {
        const struct dl_resource *r = pass->model->resources[i];
        struct dl_plan_resource *pr;
        struct dl_hygiene_obs *o;
        size_t soft = 0;

        if (r->kind != DL_KIND_STORAGE_BUCKET_POLICY ||
            !dl_pass_selected(pass, r))
            continue;
        pr = dl_pass_add(pass, r);
        o = st ? dl_hygiene_state_find(&st->hygiene, r) : NULL;
        if (!o) {
            dl_plan_resource_set_error(pr, "buckets were not observed");
            continue;
        }
        for (size_t j = 0; j < st->np; j++) {
            if (strcmp(st->p[j]->project, dl_resource_project_id(r)))
                continue;
            classify(o, st->p[j]);
            for (size_t k = 0; k < st->p[j]->nb; k++)
                if (st->p[j]->b[k].soft_deleted &&
                    dl_pattern_match(&r->spec.bucket.bucket_pattern,
                                     st->p[j]->b[k].name))
                    soft++;
        }
        dl_hygiene_fill(pr, o, "buckets",
                        r->spec.bucket.when_empty == DL_WHEN_EMPTY_DELETE
                            ? DL_PLAN_ACTION_DELETE
                            : DL_PLAN_ACTION_REPORT);
        if (o->rc < 0)
            continue;
        preconditions(pr, o);
        if (soft)
            dl_plan_resource_add_note(pr,
                                      "%zu buckets hold only soft-deleted "
                                      "objects; they are not empty",
                                      soft);
    }
    return 0;
}

const struct dl_provider dl_provider_storage_bucket_policy = {
    .kind = DL_KIND_STORAGE_BUCKET_POLICY,
    .observe = observe,
    .diff = diff,
    .dispose = dispose,
    .apply = dl_hygiene_apply_storage,
};
