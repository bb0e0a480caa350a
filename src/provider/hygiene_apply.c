/*
 * hygiene_apply.c - apply for FirestoreCollectionPolicy,
 * BigQueryTablePolicy and StorageBucketPolicy (phase hygiene).
 *
 * Nothing from the plan's observation survives the planning pass, and a
 * saved plan may be hours old, so each resource is observed again here
 * and only what violates the policy NOW is deleted:
 *   - Firestore: the same streamed runQuery fed to the same classifier
 *     (hygiene.h); violators are deleted while the listing still streams,
 *     in batchWrite requests of at most 500 deletes, up to
 *     DL_HYGIENE_FS_INFLIGHT in flight, each delete guarded by
 *     currentDocument.updateTime = the updateTime just listed.
 *   - BigQuery: the dataset's tables are listed again and a table is
 *     deleted when it still matches, is still older than olderThan and,
 *     when the plan named it, still has the plan's creationTime.
 *   - Storage: each bucket the plan found empty is read again (still there,
 *     still matching, its metageneration), probed again (all versions, then
 *     soft-deleted objects) and deleted with ifMetagenerationMatch.
 * Every deletion is reserved with dl_apply_reserve_deletes first.
 */
#include "provider/hygiene_apply.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/time.h"

/* google.rpc.Code values of a per-write failure. */
#define RPC_NOT_FOUND 5
#define RPC_FAILED_PRECONDITION 9

size_t dl_hygiene_fs_batch_size(size_t pending, int listing_done)
{
    if (pending >= DL_FIRESTORE_MAX_WRITES)
        return DL_FIRESTORE_MAX_WRITES;
    return listing_done ? pending : 0;
}

json_t *dl_hygiene_fs_delete_writes(const struct dl_hygiene_obs *o, size_t from,
                                    size_t n, const char *prefix)
{
    json_t *writes = json_array();

    for (size_t i = from; i < from + n && i < o->nobjs; i++) {
        char *name = dl_asprintf("%s%s", prefix, dl_hygiene_id(o, i));
        char ts[40];
        json_t *cur;

        if (o->objs[i].time_ns)
            cur = json_pack(
                "{s:s}", "updateTime",
                dl_time_format_rfc3339(ts, sizeof(ts), o->objs[i].time_ns));
        else
            cur = json_pack("{s:b}", "exists", 1);
        json_array_append_new(writes, json_pack("{s:s,s:o}", "delete", name,
                                                "currentDocument", cur));
        free(name);
    }
    return writes;
}

void dl_hygiene_fs_count(struct dl_hygiene_fs_counts *counts,
                         const struct dl_firestore_write_result *results,
                         size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!results[i].code)
            counts->deleted++;
        else if (results[i].rpc_code == RPC_FAILED_PRECONDITION ||
                 results[i].rpc_code == RPC_NOT_FOUND)
            counts->skipped++;
        else
            counts->failed++;
    }
}

/* ---- Firestore ---- */

struct fs_job {
    struct dl_apply *ap;
    struct dl_plan_resource *pr;
    const struct dl_resource *r;
    struct dl_hygiene_state st; /* owns obs */
    struct dl_hygiene_obs *obs;
    struct dl_hygiene_fs cls;
    int cls_live;
    char *database; /* projects/P/databases/D */
    char *parent;   /* .../documents */
    char *prefix;   /* .../documents/COLL/ */
    size_t next;    /* the next kept violator to send */
    int inflight;
    int listing_done;
    int reused; /* obs is the planning pass's listing (borrowed) */
    int query_rc;
    struct dl_err query_err;
    int capped, cancelled;
    struct dl_hygiene_fs_counts counts;
    int64_t failed_requests;
    struct dl_err req_err;
};

struct fs_batch {
    struct fs_job *job;
    size_t n;
};

static void fs_job_free(struct fs_job *j)
{
    if (j->cls_live)
        dl_hygiene_fs_dispose(&j->cls);
    dl_hygiene_state_dispose(&j->st);
    free(j->database);
    free(j->parent);
    free(j->prefix);
    free(j);
}

static int fs_stopped(const struct fs_job *j)
{
    return j->capped || j->cancelled || j->failed_requests > 0 ||
           j->query_rc < 0;
}

/* Record and free j once its listing and every batch are done. */
static void fs_maybe_finish(struct fs_job *j)
{
    if (!j->listing_done || j->inflight > 0)
        return;
    if (j->query_rc < 0)
        dl_apply_record(j->ap, j->pr, DL_APPLY_FAILED, j->counts.deleted,
                        "querying collection \"%s\" of %s: %s; deleted %lld "
                        "documents",
                        j->r->spec.firestore.collection, j->database,
                        j->query_err.msg, (long long)j->counts.deleted);
    else if (j->failed_requests > 0)
        dl_apply_record(j->ap, j->pr, DL_APPLY_FAILED, j->counts.deleted,
                        "%lld batchWrite requests failed: %s; deleted %lld "
                        "documents",
                        (long long)j->failed_requests, j->req_err.msg,
                        (long long)j->counts.deleted);
    else
        /* A capped or cancelled run stops reading: the violators found
         * are then only those listed so far. */
        dl_apply_record(
            j->ap, j->pr, DL_APPLY_APPLIED, j->counts.deleted,
            "deleted %lld of %s%lld violating documents (%lld skipped: "
            "changed since listed, %lld failed)%s%s%s",
            (long long)j->counts.deleted,
            (j->capped || j->cancelled) && !j->reused ? "at least " : "",
            (long long)j->obs->violating, (long long)j->counts.skipped,
            (long long)j->counts.failed,
            j->reused ? "; listed by the plan" : "",
            j->capped ? "; stopped at the delete cap" : "",
            j->cancelled ? "; cancelled" : "");
    fs_job_free(j);
}

static void fs_pump(struct fs_job *j);

static void fs_on_batch(struct dl_gcp_client *c, int rc,
                        const struct dl_err *err,
                        const struct dl_firestore_write_result *results,
                        size_t n, void *ud)
{
    struct fs_batch *b = ud;
    struct fs_job *j = b->job;
    struct dl_hygiene_fs_counts k = {0};

    (void)c;
    j->inflight--;
    if (rc < 0) {
        if (!j->failed_requests && err)
            j->req_err = *err;
        j->failed_requests++;
        dl_apply_release_deletes(j->ap, j->pr, (int64_t)b->n);
    } else {
        dl_hygiene_fs_count(&k, results, n);
        j->counts.deleted += k.deleted;
        j->counts.skipped += k.skipped;
        j->counts.failed += k.failed;
        /* What was not deleted may be deleted by a later batch. */
        dl_apply_release_deletes(j->ap, j->pr, (int64_t)b->n - k.deleted);
        dl_apply_progress(j->ap, k.deleted);
    }
    free(b);
    fs_pump(j);
    fs_maybe_finish(j);
}

/* Start batches while violators are pending and fewer than the limit fly. */
static void fs_pump(struct fs_job *j)
{
    while (!fs_stopped(j) && j->inflight < DL_HYGIENE_FS_INFLIGHT) {
        size_t want =
            dl_hygiene_fs_batch_size(j->obs->nobjs - j->next, j->listing_done);
        int64_t got;
        struct fs_batch *b;
        json_t *writes;
        struct dl_err e;
        int rc;

        if (!want)
            return;
        if (dl_apply_cancelled(j->ap)) {
            j->cancelled = 1;
            return;
        }
        got = dl_apply_reserve_deletes(j->ap, j->pr, (int64_t)want);
        if (got < (int64_t)want)
            j->capped = 1;
        if (got <= 0)
            return;
        writes = dl_hygiene_fs_delete_writes(j->obs, j->next, (size_t)got,
                                             j->prefix);
        b = dl_calloc(1, sizeof(*b));
        b->job = j;
        b->n = (size_t)got;
        rc = dl_firestore_batch_write_submit(dl_apply_gcp(j->ap), j->database,
                                             writes, DL_GCP_RETRY_SAFE,
                                             fs_on_batch, b, &e);
        json_decref(writes);
        if (rc < 0) {
            free(b);
            dl_apply_release_deletes(j->ap, j->pr, got);
            if (!j->failed_requests)
                j->req_err = e;
            j->failed_requests++;
            return;
        }
        j->next += (size_t)got;
        j->inflight++;
    }
}

static int fs_on_doc(void *ud, json_t *doc)
{
    struct fs_job *j = ud;
    const char *name = json_string_value(json_object_get(doc, "name"));
    const char *ut = json_string_value(json_object_get(doc, "updateTime"));
    const struct dl_firestore_spec *s = &j->r->spec.firestore;
    const char *id;
    int64_t update_ns = 0, ts = 0;
    int has_ts;
    struct dl_err e;

    if (fs_stopped(j))
        return 1; /* nothing more will be deleted: stop reading */
    if (!name)
        return 0;
    id = strrchr(name, '/');
    id = id ? id + 1 : name;
    if (!ut || dl_time_parse_rfc3339(&update_ns, ut, &e) < 0)
        update_ns = 0;
    has_ts = j->cls.has_stale &&
             dl_hygiene_doc_timestamp(&ts, json_object_get(doc, "fields"),
                                      s->stale_field);
    dl_hygiene_fs_add(&j->cls, id, has_ts, ts, update_ns);
    fs_pump(j);
    return 0;
}

static void fs_on_done(struct dl_gcp_client *c, int rc, json_t *result,
                       const struct dl_err *err, void *ud)
{
    struct fs_job *j = ud;

    (void)c;
    (void)result;
    j->listing_done = 1;
    if (rc < 0) {
        j->query_rc = rc;
        if (err)
            j->query_err = *err;
    }
    dl_hygiene_fs_dispose(&j->cls);
    j->cls_live = 0;
    fs_pump(j);
    fs_maybe_finish(j);
}

/* The observation of r by this process's planning pass when it succeeded
 * less than DL_HYGIENE_FS_REUSE_NS ago, else NULL. */
static struct dl_hygiene_obs *fs_fresh_listing(struct dl_apply *ap,
                                               const struct dl_resource *r)
{
    struct dl_hygiene_state *kept =
        dl_apply_observed(ap, DL_KIND_FIRESTORE_COLLECTION_POLICY);
    struct dl_hygiene_obs *o = kept ? dl_hygiene_state_find(kept, r) : NULL;

    if (!o || !o->done || o->rc < 0 ||
        dl_gcp_client_now(dl_apply_gcp(ap)) - o->done_ns >
            DL_HYGIENE_FS_REUSE_NS)
        return NULL;
    return o;
}

static json_t *fs_query(const struct dl_firestore_spec *s)
{
    json_t *fields = json_array();

    json_array_append_new(fields, json_pack("{s:s}", "fieldPath", "__name__"));
    if (s->stale_field && s->stale_age_ns != DL_UNSET)
        json_array_append_new(fields,
                              json_pack("{s:s}", "fieldPath", s->stale_field));
    return json_pack("{s:[{s:s}],s:{s:o},s:[{s:{s:s},s:s}]}", "from",
                     "collectionId", s->collection, "select", "fields", fields,
                     "orderBy", "field", "fieldPath", "__name__", "direction",
                     "ASCENDING");
}

int dl_hygiene_apply_firestore(struct dl_apply *ap,
                               struct dl_plan_resource *const *rs, size_t n,
                               struct dl_err *err)
{
    (void)err;
    for (size_t i = 0; i < n; i++) {
        const struct dl_resource *r = dl_apply_desired(ap, rs[i]);
        const struct dl_firestore_spec *s;
        struct dl_hygiene_obs *seen;
        struct fs_job *j;
        json_t *q;
        struct dl_err e;
        int rc;

        if (!r || r->kind != DL_KIND_FIRESTORE_COLLECTION_POLICY) {
            dl_apply_record(ap, rs[i], DL_APPLY_FAILED, 0,
                            "no declared FirestoreCollectionPolicy");
            continue;
        }
        if (dl_apply_cancelled(ap)) {
            dl_apply_record(ap, rs[i], DL_APPLY_SKIPPED, 0, "cancelled");
            continue;
        }
        s = &r->spec.firestore;
        j = dl_calloc(1, sizeof(*j));
        j->ap = ap;
        j->pr = rs[i];
        j->r = r;
        j->database = dl_asprintf(
            "projects/%s/databases/%s", dl_resource_project_id(r),
            s->database && *s->database ? s->database : "(default)");
        j->parent = dl_asprintf("%s/documents", j->database);
        j->prefix = dl_asprintf("%s/%s/", j->parent, s->collection);
        seen = fs_fresh_listing(ap, r);
        if (seen) {
            /* Listed by this process's plan moments ago: delete from that
             * listing (borrowed; the pass keeps it until the run ends). */
            j->obs = seen;
            j->listing_done = 1;
            j->reused = 1;
            fs_pump(j);
            fs_maybe_finish(j);
            continue;
        }
        j->obs = dl_hygiene_state_add(&j->st, r, s->max_deletes_per_run,
                                      s->max_documents);
        dl_hygiene_fs_init(&j->cls, j->obs, s, dl_time_now_ns());
        j->cls_live = 1;
        q = fs_query(s);
        rc = dl_firestore_run_query_submit(dl_apply_gcp(ap), j->parent, q,
                                           fs_on_doc, fs_on_done, j, &e);
        json_decref(q);
        if (rc < 0) {
            dl_apply_record(ap, rs[i], DL_APPLY_FAILED, 0,
                            "querying collection \"%s\" of %s: %s",
                            s->collection, j->database, e.msg);
            fs_job_free(j);
        }
    }
    return 0;
}

/* ---- BigQuery ---- */

struct bq_job {
    struct dl_apply *ap;
    struct dl_plan_resource *pr;
    const struct dl_resource *r;
    struct dl_hygiene_state st;
    struct dl_hygiene_obs *obs;
    int64_t now_ns;
    int pending; /* requests not completed (the list, then the deletes) */
    int64_t deleted, gone, skipped, failed;
    struct dl_err first_err;
    int list_rc;
};

static void bq_maybe_finish(struct bq_job *j)
{
    if (j->pending > 0)
        return;
    if (j->list_rc < 0)
        dl_apply_record(j->ap, j->pr, DL_APPLY_FAILED, 0,
                        "listing tables of dataset \"%s\" in %s: %s",
                        j->r->spec.bigquery.dataset,
                        dl_resource_project_id(j->r), j->first_err.msg);
    else if (j->failed > 0)
        dl_apply_record(j->ap, j->pr, DL_APPLY_FAILED, j->deleted,
                        "deleted %lld tables, %lld failed: %s",
                        (long long)j->deleted, (long long)j->failed,
                        j->first_err.msg);
    else
        dl_apply_record(j->ap, j->pr, DL_APPLY_APPLIED, j->deleted,
                        "deleted %lld of %lld stale tables (%lld already "
                        "gone, %lld skipped: not in the plan or recreated, "
                        "or over the cap)",
                        (long long)j->deleted, (long long)j->obs->violating,
                        (long long)j->gone, (long long)j->skipped);
    dl_hygiene_state_dispose(&j->st);
    free(j);
}

static int bq_on_table(void *ud, json_t *t)
{
    struct bq_job *j = ud;
    const char *id = json_string_value(
        json_object_get(json_object_get(t, "tableReference"), "tableId"));
    json_t *v = json_object_get(t, "creationTime");
    const char *s = json_string_value(v);
    int64_t ms = 0;
    int has_ms = 0;

    if (!id)
        return 0;
    if (json_is_integer(v)) {
        ms = (int64_t)json_integer_value(v);
        has_ms = 1;
    } else if (s && *s) {
        char *end;

        ms = (int64_t)strtoll(s, &end, 10);
        has_ms = !*end && ms >= 0;
    }
    dl_hygiene_bq_classify(j->obs, id, has_ms, ms, j->now_ns);
    return 0;
}

static void bq_on_delete(struct dl_gcp_client *c, int rc,
                         const struct dl_gcp_response *resp,
                         const struct dl_err *err, void *ud)
{
    struct bq_job *j = ud;

    (void)c;
    (void)resp;
    j->pending--;
    if (rc == 0) {
        j->deleted++;
        dl_apply_progress(j->ap, 1);
    } else {
        dl_apply_release_deletes(j->ap, j->pr, 1);
        if (rc == DL_ENOTFOUND) {
            j->gone++;
        } else {
            if (!j->failed && err)
                j->first_err = *err;
            j->failed++;
        }
    }
    bq_maybe_finish(j);
}

/* Is table i of the observation the one the plan named (same
 * creationTime)? Without a tables precondition every violator is. */
static int bq_in_plan(const struct bq_job *j, size_t i)
{
    json_t *tabs = json_object_get(j->pr->preconditions, "tables");
    json_t *t;
    char ms[32];

    if (!json_is_object(tabs))
        return 1;
    t = json_object_get(tabs, dl_hygiene_id(j->obs, i));
    if (!t)
        return 0;
    snprintf(ms, sizeof(ms), "%lld",
             (long long)(j->obs->objs[i].time_ns / DL_NS_PER_MS));
    return json_is_string(json_object_get(t, "creationTime")) &&
           !strcmp(json_string_value(json_object_get(t, "creationTime")), ms);
}

static void bq_on_list(struct dl_gcp_client *c, int rc, json_t *result,
                       const struct dl_err *err, void *ud)
{
    struct bq_job *j = ud;
    char *p = dl_gcp_urlencode(dl_resource_project_id(j->r));
    char *d = dl_gcp_urlencode(j->r->spec.bigquery.dataset);

    (void)result;
    if (rc < 0) {
        j->list_rc = rc;
        if (err)
            j->first_err = *err;
    }
    for (size_t i = 0; rc == 0 && i < j->obs->nobjs; i++) {
        char *t, *path;
        struct dl_gcp_request req = {0};
        struct dl_err e;

        if (!bq_in_plan(j, i) || dl_apply_cancelled(j->ap) ||
            dl_apply_reserve_deletes(j->ap, j->pr, 1) < 1) {
            j->skipped++;
            continue;
        }
        t = dl_gcp_urlencode(dl_hygiene_id(j->obs, i));
        path = dl_asprintf("/bigquery/v2/projects/%s/datasets/%s/tables/%s", p,
                           d, t);
        req.api = DL_GCP_BIGQUERY;
        req.method = "DELETE";
        req.path = path;
        req.retry = DL_GCP_RETRY_SAFE;
        req.done = bq_on_delete;
        req.ud = j;
        if (dl_gcp_submit(c, &req, &e) < 0) {
            dl_apply_release_deletes(j->ap, j->pr, 1);
            if (!j->failed)
                j->first_err = e;
            j->failed++;
        } else {
            j->pending++;
        }
        free(path);
        free(t);
    }
    free(p);
    free(d);
    j->pending--; /* the list */
    bq_maybe_finish(j);
}

int dl_hygiene_apply_bigquery(struct dl_apply *ap,
                              struct dl_plan_resource *const *rs, size_t n,
                              struct dl_err *err)
{
    (void)err;
    for (size_t i = 0; i < n; i++) {
        const struct dl_resource *r = dl_apply_desired(ap, rs[i]);
        const struct dl_bigquery_spec *s;
        struct bq_job *j;
        char *p, *d, *path;
        struct dl_err e;
        int rc;

        if (!r || r->kind != DL_KIND_BIGQUERY_TABLE_POLICY) {
            dl_apply_record(ap, rs[i], DL_APPLY_FAILED, 0,
                            "no declared BigQueryTablePolicy");
            continue;
        }
        s = &r->spec.bigquery;
        j = dl_calloc(1, sizeof(*j));
        j->ap = ap;
        j->pr = rs[i];
        j->r = r;
        j->now_ns = dl_time_now_ns();
        j->obs =
            dl_hygiene_state_add(&j->st, r, s->max_deletes_per_run, DL_UNSET);
        j->pending = 1;
        p = dl_gcp_urlencode(dl_resource_project_id(r));
        d = dl_gcp_urlencode(s->dataset);
        path = dl_asprintf(
            "/bigquery/v2/projects/%s/datasets/%s/tables?maxResults=1000", p,
            d);
        rc = dl_gcp_list_submit(dl_apply_gcp(ap), DL_GCP_BIGQUERY, path,
                                "tables", bq_on_table, bq_on_list, j, &e);
        free(path);
        free(p);
        free(d);
        if (rc < 0) {
            dl_apply_record(ap, rs[i], DL_APPLY_FAILED, 0,
                            "listing tables of dataset \"%s\": %s", s->dataset,
                            e.msg);
            dl_hygiene_state_dispose(&j->st);
            free(j);
        }
    }
    return 0;
}

/* ---- Storage ---- */

struct gcs_job {
    struct dl_apply *ap;
    struct dl_plan_resource *pr;
    const struct dl_resource *r;
    int pending; /* buckets not finished */
    int64_t deleted, gone, not_empty, changed, failed, capped;
    struct dl_err first_err;
};

struct gcs_one {
    struct gcs_job *job;
    char *name;
    char *metageneration;
    int64_t soft_retention_s;
    int reserved;
};

static void gcs_job_finish(struct gcs_job *j)
{
    if (j->pending > 0)
        return;
    if (j->failed > 0)
        dl_apply_record(j->ap, j->pr, DL_APPLY_FAILED, j->deleted,
                        "deleted %lld buckets, %lld failed: %s",
                        (long long)j->deleted, (long long)j->failed,
                        j->first_err.msg);
    else
        dl_apply_record(j->ap, j->pr, DL_APPLY_APPLIED, j->deleted,
                        "deleted %lld empty buckets (%lld skipped: not empty "
                        "any more, %lld changed since planned, %lld already "
                        "gone, %lld over the cap)",
                        (long long)j->deleted, (long long)j->not_empty,
                        (long long)j->changed, (long long)j->gone,
                        (long long)j->capped);
    free(j);
}

static void gcs_one_done(struct gcs_one *b)
{
    struct gcs_job *j = b->job;

    free(b->name);
    free(b->metageneration);
    free(b);
    j->pending--;
    gcs_job_finish(j);
}

static void gcs_fail(struct gcs_one *b, const struct dl_err *err)
{
    if (!b->job->failed && err)
        b->job->first_err = *err;
    b->job->failed++;
    gcs_one_done(b);
}

static void gcs_on_delete(struct dl_gcp_client *c, int rc,
                          const struct dl_gcp_response *resp,
                          const struct dl_err *err, void *ud)
{
    struct gcs_one *b = ud;
    struct gcs_job *j = b->job;

    (void)c;
    if (rc == 0) {
        j->deleted++;
        dl_apply_progress(j->ap, 1);
        gcs_one_done(b);
        return;
    }
    dl_apply_release_deletes(j->ap, j->pr, 1);
    if (rc == DL_ENOTFOUND)
        j->gone++;
    else if (resp->http_status == 409)
        j->not_empty++;
    else if (resp->http_status == 412)
        j->changed++;
    else {
        gcs_fail(b, err);
        return;
    }
    gcs_one_done(b);
}

static int gcs_submit(struct dl_gcp_client *c, struct gcs_one *b,
                      const char *method, const char *query, dl_gcp_done_fn fn,
                      struct dl_err *err)
{
    char *n = dl_gcp_urlencode(b->name);
    char *path = dl_asprintf("/storage/v1/b/%s%s", n, query);
    struct dl_gcp_request req = {0};
    int rc;

    req.api = DL_GCP_STORAGE;
    req.method = method;
    req.path = path;
    req.retry = strcmp(method, "GET") ? DL_GCP_RETRY_SAFE : DL_GCP_RETRY_READ;
    req.done = fn;
    req.ud = b;
    rc = dl_gcp_submit(c, &req, err);
    free(path);
    free(n);
    return rc;
}

static void gcs_delete(struct dl_gcp_client *c, struct gcs_one *b)
{
    struct gcs_job *j = b->job;
    char *q;
    struct dl_err e;
    int rc;

    if (dl_apply_cancelled(j->ap) ||
        dl_apply_reserve_deletes(j->ap, j->pr, 1) < 1) {
        j->capped++;
        gcs_one_done(b);
        return;
    }
    q = dl_asprintf("?ifMetagenerationMatch=%s", b->metageneration);
    rc = gcs_submit(c, b, "DELETE", q, gcs_on_delete, &e);
    free(q);
    if (rc < 0) {
        dl_apply_release_deletes(j->ap, j->pr, 1);
        gcs_fail(b, &e);
    }
}

/* Any item or prefix in a probe's answer: not empty. */
static int gcs_any(const json_t *page)
{
    return json_array_size(json_object_get(page, "items")) > 0 ||
           json_array_size(json_object_get(page, "prefixes")) > 0;
}

static void gcs_on_soft(struct dl_gcp_client *c, int rc,
                        const struct dl_gcp_response *resp,
                        const struct dl_err *err, void *ud)
{
    struct gcs_one *b = ud;

    if (rc < 0) {
        gcs_fail(b, err);
        return;
    }
    if (gcs_any(resp->json)) {
        b->job->not_empty++;
        gcs_one_done(b);
        return;
    }
    gcs_delete(c, b);
}

static void gcs_on_versions(struct dl_gcp_client *c, int rc,
                            const struct dl_gcp_response *resp,
                            const struct dl_err *err, void *ud)
{
    struct gcs_one *b = ud;
    struct dl_err e;

    if (rc < 0) {
        gcs_fail(b, err);
        return;
    }
    if (gcs_any(resp->json)) {
        b->job->not_empty++;
        gcs_one_done(b);
        return;
    }
    if (b->soft_retention_s > 0) {
        if (gcs_submit(c, b, "GET", "/o?maxResults=1&softDeleted=true",
                       gcs_on_soft, &e) < 0)
            gcs_fail(b, &e);
        return;
    }
    gcs_delete(c, b);
}

static int64_t gcs_int(json_t *v)
{
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    if (json_is_string(v))
        return (int64_t)strtoll(json_string_value(v), NULL, 10);
    return 0;
}

static void gcs_on_get(struct dl_gcp_client *c, int rc,
                       const struct dl_gcp_response *resp,
                       const struct dl_err *err, void *ud)
{
    struct gcs_one *b = ud;
    json_t *mg;
    struct dl_err e;

    if (rc == DL_ENOTFOUND) {
        b->job->gone++;
        gcs_one_done(b);
        return;
    }
    if (rc < 0) {
        gcs_fail(b, err);
        return;
    }
    mg = json_object_get(resp->json, "metageneration");
    if (!dl_pattern_match(&b->job->r->spec.bucket.bucket_pattern, b->name) ||
        !mg) {
        b->job->changed++;
        gcs_one_done(b);
        return;
    }
    b->metageneration = json_is_string(mg)
                            ? dl_strdup(json_string_value(mg))
                            : dl_asprintf("%lld", (long long)gcs_int(mg));
    b->soft_retention_s =
        gcs_int(json_object_get(json_object_get(resp->json, "softDeletePolicy"),
                                "retentionDurationSeconds"));
    if (gcs_submit(c, b, "GET", "/o?maxResults=1&versions=true",
                   gcs_on_versions, &e) < 0)
        gcs_fail(b, &e);
}

int dl_hygiene_apply_storage(struct dl_apply *ap,
                             struct dl_plan_resource *const *rs, size_t n,
                             struct dl_err *err)
{
    (void)err;
    for (size_t i = 0; i < n; i++) {
        const struct dl_resource *r = dl_apply_desired(ap, rs[i]);
        json_t *buckets = json_object_get(rs[i]->preconditions, "buckets");
        struct gcs_job *j;
        const char *name;
        json_t *v;

        if (!r || r->kind != DL_KIND_STORAGE_BUCKET_POLICY) {
            dl_apply_record(ap, rs[i], DL_APPLY_FAILED, 0,
                            "no declared StorageBucketPolicy");
            continue;
        }
        j = dl_calloc(1, sizeof(*j));
        j->ap = ap;
        j->pr = rs[i];
        j->r = r;
        j->pending = 1; /* until every bucket is queued */
        json_object_foreach(buckets, name, v)
        {
            struct gcs_one *b = dl_calloc(1, sizeof(*b));
            struct dl_err e;

            b->job = j;
            b->name = dl_strdup(name);
            j->pending++;
            if (gcs_submit(dl_apply_gcp(ap), b, "GET", "", gcs_on_get, &e) < 0)
                gcs_fail(b, &e);
        }
        j->pending--;
        gcs_job_finish(j);
    }
    return 0;
}
