/*
 * data.c - BigQuery v2 tables (list, get, delete) and Cloud Storage JSON
 * buckets (list, get, delete) and objects.list.
 *
 * state.bigquery.tables holds Table resources; a dataset exists when a
 * table names it (or state.bigquery.datasets lists it) and stays after its
 * last table is deleted. state.storage.buckets/objects hold Bucket and
 * Object resources; an object with "timeDeleted" is a noncurrent version,
 * listed only with versions=true. Both APIs answer errors with the legacy
 * errors[] array; Storage leaves "status" out, as it does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"
#include "util/alloc.h"
#include "util/time.h"

static const char *sget(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static const char *pid(const char *p)
{
    const char *id = fk_project_id(p);
    return id ? id : p;
}

static void ms_now(char *out, size_t size)
{
    snprintf(out, size, "%lld", (long long)(fk_now_ns() / DL_NS_PER_MS));
}

/* ---- BigQuery ---- */

static json_t *tables(void)
{
    return fk_state_array("bigquery", "tables");
}

static json_t *datasets(void)
{
    return fk_state_array("bigquery", "datasets");
}

static json_t *ref_of(json_t *t)
{
    return json_object_get(t, "tableReference");
}

static int dataset_known(const char *p, const char *d)
{
    size_t i;
    json_t *x;
    json_array_foreach(datasets(), i, x)
    {
        json_t *r = json_object_get(x, "datasetReference");
        if (sget(r, "projectId") && !strcmp(pid(sget(r, "projectId")), p) &&
            sget(r, "datasetId") && !strcmp(sget(r, "datasetId"), d))
            return 1;
    }
    return 0;
}

static void add_dataset(const char *p, const char *d)
{
    char id[600];
    if (dataset_known(p, d))
        return;
    snprintf(id, sizeof id, "%s:%s", p, d);
    json_array_append_new(datasets(),
                          json_pack("{s:s,s:s,s:{s:s,s:s},s:s}", "kind",
                                    "bigquery#dataset", "id", id,
                                    "datasetReference", "projectId", p,
                                    "datasetId", d, "location", "US"));
}

static const char *const zero_keys[] = {"numBytes", "numRows",
                                        "numLongTermBytes", NULL};

/* Fill what BigQuery would have on a seeded table (lock held). */
static void table_fill(json_t *t)
{
    json_t *r = ref_of(t);
    char id[800], now[32];
    if (!sget(r, "projectId") || !sget(r, "datasetId") || !sget(r, "tableId"))
        return;
    snprintf(id, sizeof id, "%s:%s.%s", pid(sget(r, "projectId")),
             sget(r, "datasetId"), sget(r, "tableId"));
    ms_now(now, sizeof now);
    if (!sget(t, "kind"))
        json_object_set_new(t, "kind", json_string("bigquery#table"));
    if (!sget(t, "id"))
        json_object_set_new(t, "id", json_string(id));
    if (!sget(t, "type"))
        json_object_set_new(t, "type", json_string("TABLE"));
    if (!sget(t, "creationTime"))
        json_object_set_new(t, "creationTime", json_string(now));
    if (!sget(t, "lastModifiedTime"))
        json_object_set(t, "lastModifiedTime",
                        json_object_get(t, "creationTime"));
    if (!sget(t, "etag"))
        json_object_set_new(t, "etag", json_string("fakegcpTableEtag=="));
    if (!sget(t, "location"))
        json_object_set_new(t, "location", json_string("US"));
    for (const char *const *k = zero_keys; *k; k++)
        if (!json_object_get(t, *k))
            json_object_set_new(t, *k, json_string("0"));
    if (!sget(t, "selfLink")) {
        char link[1200];
        snprintf(link, sizeof link,
                 "https://bigquery.googleapis.com/bigquery/v2/projects/%s/"
                 "datasets/%s/tables/%s",
                 pid(sget(r, "projectId")), sget(r, "datasetId"),
                 sget(r, "tableId"));
        json_object_set_new(t, "selfLink", json_string(link));
    }
    add_dataset(pid(sget(r, "projectId")), sget(r, "datasetId"));
}

static int table_in(json_t *t, const char *p, const char *d)
{
    json_t *r = ref_of(t);
    return sget(r, "projectId") && !strcmp(pid(sget(r, "projectId")), p) &&
           sget(r, "datasetId") && !strcmp(sget(r, "datasetId"), d);
}

static json_t *find_table(const char *p, const char *d, const char *tid,
                          size_t *index)
{
    size_t i;
    json_t *t;
    json_array_foreach(tables(), i, t)
    {
        if (table_in(t, p, d) && sget(ref_of(t), "tableId") &&
            !strcmp(sget(ref_of(t), "tableId"), tid)) {
            *index = i;
            return t;
        }
    }
    return NULL;
}

static int cmp_table(const void *a, const void *b)
{
    return strcmp(sget(ref_of(*(json_t *const *)a), "tableId"),
                  sget(ref_of(*(json_t *const *)b), "tableId"));
}

static void bq_list(struct fk_req *req, struct fk_resp *resp)
{
    const char *p = pid(req->caps[0]), *d = req->caps[1];
    static const char *const item_keys[] = {"kind",
                                            "id",
                                            "tableReference",
                                            "friendlyName",
                                            "type",
                                            "timePartitioning",
                                            "rangePartitioning",
                                            "clustering",
                                            "labels",
                                            "view",
                                            "creationTime",
                                            "expirationTime",
                                            "requirePartitionFilter",
                                            NULL};
    size_t i, n = 0;
    json_t *t;
    json_array_foreach(tables(), i, t) table_fill(t);
    if (!dataset_known(p, d)) {
        fk_error_legacy(resp, 404, "NOT_FOUND", "notFound", 1,
                        "Not found: Dataset %s:%s", p, d);
        return;
    }
    json_t **list = dl_calloc(json_array_size(tables()) + 1, sizeof *list);
    json_array_foreach(tables(), i, t) if (table_in(t, p, d)) list[n++] = t;
    qsort(list, n, sizeof *list, cmp_table);
    json_t *arr = json_array();
    for (i = 0; i < n; i++) {
        json_t *item = json_object();
        for (const char *const *k = item_keys; *k; k++)
            if (json_object_get(list[i], *k))
                json_object_set(item, *k, json_object_get(list[i], *k));
        json_array_append_new(arr, item);
    }
    free(list);
    json_t *out = json_pack("{s:s,s:s}", "kind", "bigquery#tableList", "etag",
                            "fakegcpTableListEtag==");
    if (fk_paginate(resp, out, "tables", arr, fk_query(req, "maxResults"),
                    fk_query(req, "pageToken"), 50, 1000) == 0) {
        json_object_set_new(out, "totalItems", json_integer((json_int_t)n));
        fk_ok(resp, json_incref(out));
    }
    json_decref(out);
    json_decref(arr);
}

static void bq_get(struct fk_req *req, struct fk_resp *resp)
{
    const char *p = pid(req->caps[0]);
    size_t idx;
    json_t *t = find_table(p, req->caps[1], req->caps[2], &idx);
    if (!t) {
        fk_error_legacy(resp, 404, "NOT_FOUND", "notFound", 1,
                        "Not found: Table %s:%s.%s", p, req->caps[1],
                        req->caps[2]);
        return;
    }
    table_fill(t);
    fk_ok(resp, json_deep_copy(t));
}

static void bq_delete(struct fk_req *req, struct fk_resp *resp)
{
    const char *p = pid(req->caps[0]);
    size_t idx;
    json_t *t = find_table(p, req->caps[1], req->caps[2], &idx);
    if (!t) {
        fk_error_legacy(resp, 404, "NOT_FOUND", "notFound", 1,
                        "Not found: Table %s:%s.%s", p, req->caps[1],
                        req->caps[2]);
        return;
    }
    table_fill(t); /* remembers the dataset */
    json_array_remove(tables(), idx);
    resp->status = 204;
}

/* ---- Storage ---- */

static json_t *buckets(void)
{
    return fk_state_array("storage", "buckets");
}

static json_t *objects(void)
{
    return fk_state_array("storage", "objects");
}

static void bucket_fill(json_t *b)
{
    const char *name = sget(b, "name");
    char when[64], link[600];
    if (!name)
        return;
    fk_time_str(when, sizeof when, fk_now_ns());
    if (!sget(b, "kind"))
        json_object_set_new(b, "kind", json_string("storage#bucket"));
    if (!sget(b, "id"))
        json_object_set_new(b, "id", json_string(name));
    snprintf(link, sizeof link, "https://www.googleapis.com/storage/v1/b/%s",
             name);
    if (!sget(b, "selfLink"))
        json_object_set_new(b, "selfLink", json_string(link));
    if (!sget(b, "projectNumber")) {
        json_t *p0 = json_array_get(json_object_get(fk.state, "projects"), 0);
        const char *num = sget(p0, "projectNumber");
        json_object_set_new(b, "projectNumber",
                            json_string(num ? num : "123456789012"));
    }
    if (!sget(b, "metageneration"))
        json_object_set_new(b, "metageneration", json_string("1"));
    if (!sget(b, "location"))
        json_object_set_new(b, "location", json_string("US"));
    if (!sget(b, "locationType"))
        json_object_set_new(b, "locationType", json_string("multi-region"));
    if (!sget(b, "storageClass"))
        json_object_set_new(b, "storageClass", json_string("STANDARD"));
    if (!sget(b, "timeCreated"))
        json_object_set_new(b, "timeCreated", json_string(when));
    if (!sget(b, "updated"))
        json_object_set(b, "updated", json_object_get(b, "timeCreated"));
    if (!sget(b, "etag"))
        json_object_set_new(b, "etag", json_string("CAE="));
    if (!sget(b, "rpo"))
        json_object_set_new(b, "rpo", json_string("DEFAULT"));
    if (!sget(b, "generation")) {
        char gen[32];
        snprintf(gen, sizeof gen, "%lld", (long long)(fk_now_ns() / 100000));
        json_object_set_new(b, "generation", json_string(gen));
    }
    if (!json_object_get(b, "softDeletePolicy"))
        json_object_set_new(b, "softDeletePolicy",
                            json_pack("{s:s,s:O}", "retentionDurationSeconds",
                                      "604800", "effectiveTime",
                                      json_object_get(b, "timeCreated")));
    if (!json_object_get(b, "iamConfiguration"))
        json_object_set_new(b, "iamConfiguration",
                            json_pack("{s:{s:b},s:{s:b},s:s}",
                                      "bucketPolicyOnly", "enabled", 0,
                                      "uniformBucketLevelAccess", "enabled", 0,
                                      "publicAccessPrevention", "inherited"));
}

static void object_fill(json_t *o)
{
    const char *b = sget(o, "bucket"), *n = sget(o, "name");
    char when[64], buf[2200];
    if (!b || !n)
        return;
    fk_time_str(when, sizeof when, fk_now_ns());
    if (!sget(o, "generation")) {
        snprintf(buf, sizeof buf, "%lld", (long long)(fk_now_ns() / 1000));
        json_object_set_new(o, "generation", json_string(buf));
    }
    if (!sget(o, "kind"))
        json_object_set_new(o, "kind", json_string("storage#object"));
    snprintf(buf, sizeof buf, "%s/%s/%s", b, n, sget(o, "generation"));
    if (!sget(o, "id"))
        json_object_set_new(o, "id", json_string(buf));
    snprintf(buf, sizeof buf, "https://www.googleapis.com/storage/v1/b/%s/o/%s",
             b, n);
    if (!sget(o, "selfLink"))
        json_object_set_new(o, "selfLink", json_string(buf));
    if (!sget(o, "metageneration"))
        json_object_set_new(o, "metageneration", json_string("1"));
    if (!sget(o, "contentType"))
        json_object_set_new(o, "contentType",
                            json_string("application/octet-stream"));
    if (!sget(o, "storageClass"))
        json_object_set_new(o, "storageClass", json_string("STANDARD"));
    if (!sget(o, "size"))
        json_object_set_new(o, "size", json_string("0"));
    if (!sget(o, "timeCreated"))
        json_object_set_new(o, "timeCreated", json_string(when));
    if (!sget(o, "updated"))
        json_object_set(o, "updated", json_object_get(o, "timeCreated"));
    if (!sget(o, "etag"))
        json_object_set_new(o, "etag", json_string("CAE="));
}

static json_t *find_bucket(const char *name, size_t *index)
{
    size_t i;
    json_t *b;
    json_array_foreach(buckets(), i, b)
    {
        if (sget(b, "name") && !strcmp(sget(b, "name"), name)) {
            if (index)
                *index = i;
            bucket_fill(b);
            return b;
        }
    }
    return NULL;
}

static void no_bucket(struct fk_resp *resp)
{
    fk_error_legacy(resp, 404, "NOT_FOUND", "notFound", 0,
                    "The specified bucket does not exist.");
}

static int cmp_bucket(const void *a, const void *b)
{
    return strcmp(sget(*(json_t *const *)a, "name"),
                  sget(*(json_t *const *)b, "name"));
}

static void gcs_buckets(struct fk_req *req, struct fk_resp *resp)
{
    const char *project = fk_query(req, "project");
    const char *prefix = fk_query(req, "prefix");
    size_t i, n = 0;
    json_t *b;
    if (!project || !*project) {
        fk_error_legacy(resp, 400, "INVALID_ARGUMENT", "required", 0,
                        "Required parameter: project");
        return;
    }
    const char *num = fk_project_number(project);
    json_t **list = dl_calloc(json_array_size(buckets()) + 1, sizeof *list);
    json_array_foreach(buckets(), i, b)
    {
        bucket_fill(b);
        if (!sget(b, "name") || !num || strcmp(sget(b, "projectNumber"), num))
            continue;
        if (prefix && strncmp(sget(b, "name"), prefix, strlen(prefix)))
            continue;
        list[n++] = b;
    }
    qsort(list, n, sizeof *list, cmp_bucket);
    json_t *arr = json_array();
    for (i = 0; i < n; i++)
        json_array_append(arr, list[i]);
    free(list);
    json_t *out = json_pack("{s:s}", "kind", "storage#buckets");
    if (fk_paginate(resp, out, "items", arr, fk_query(req, "maxResults"),
                    fk_query(req, "pageToken"), 1000, 1000) == 0)
        fk_ok(resp, json_deep_copy(out));
    json_decref(out);
    json_decref(arr);
}

static void gcs_bucket_get(struct fk_req *req, struct fk_resp *resp)
{
    json_t *b = find_bucket(req->caps[0], NULL);
    if (!b)
        no_bucket(resp);
    else
        fk_ok(resp, json_deep_copy(b));
}

static int has_objects(const char *bucket)
{
    size_t i;
    json_t *o;
    json_array_foreach(objects(), i, o)
    {
        if (sget(o, "bucket") && !strcmp(sget(o, "bucket"), bucket))
            return 1;
    }
    return 0;
}

static void gcs_bucket_delete(struct fk_req *req, struct fk_resp *resp)
{
    size_t idx = 0;
    json_t *b = find_bucket(req->caps[0], &idx);
    const char *want = fk_query(req, "ifMetagenerationMatch");
    if (!b) {
        no_bucket(resp);
        return;
    }
    if (want && strcmp(want, sget(b, "metageneration"))) {
        fk_error_legacy(resp, 412, "FAILED_PRECONDITION", "conditionNotMet", 0,
                        "At least one of the pre-conditions you specified "
                        "did not hold.");
        return;
    }
    if (has_objects(req->caps[0])) {
        fk_error_legacy(resp, 409, "ABORTED", "conflict", 0,
                        "The bucket you tried to delete is not empty.");
        return;
    }
    json_array_remove(buckets(), idx);
    resp->status = 204;
}

static int cmp_object(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int r = strcmp(sget(x, "name"), sget(y, "name"));
    if (r)
        return r;
    const char *sx = sget(x, "generation"), *sy = sget(y, "generation");
    long long gx = sx ? atoll(sx) : 0, gy = sy ? atoll(sy) : 0;
    return gx < gy ? -1 : gx > gy;
}

static void gcs_objects(struct fk_req *req, struct fk_resp *resp)
{
    const char *bucket = req->caps[0];
    const char *prefix = fk_query(req, "prefix");
    const char *v = fk_query(req, "versions");
    int versions = v && !strcmp(v, "true");
    size_t i, n = 0;
    json_t *o;
    if (!find_bucket(bucket, NULL)) {
        no_bucket(resp);
        return;
    }
    json_t **list = dl_calloc(json_array_size(objects()) + 1, sizeof *list);
    json_array_foreach(objects(), i, o)
    {
        if (!sget(o, "bucket") || strcmp(sget(o, "bucket"), bucket) ||
            !sget(o, "name"))
            continue;
        object_fill(o);
        if (!versions && json_object_get(o, "timeDeleted"))
            continue;
        if (prefix && strncmp(sget(o, "name"), prefix, strlen(prefix)))
            continue;
        list[n++] = o;
    }
    qsort(list, n, sizeof *list, cmp_object);
    json_t *arr = json_array();
    for (i = 0; i < n; i++)
        json_array_append(arr, list[i]);
    free(list);
    json_t *out = json_pack("{s:s}", "kind", "storage#objects");
    if (fk_paginate(resp, out, "items", arr, fk_query(req, "maxResults"),
                    fk_query(req, "pageToken"), 1000, 1000) == 0)
        fk_ok(resp, json_deep_copy(out));
    json_decref(out);
    json_decref(arr);
}

void fk_data_normalize(void)
{
    size_t i;
    json_t *x;
    json_array_foreach(tables(), i, x) table_fill(x);
    json_array_foreach(buckets(), i, x) bucket_fill(x);
    json_array_foreach(objects(), i, x) object_fill(x);
}

#define T "/bigquery/v2/projects/*/datasets/*/tables"
const struct fk_route fk_routes_data[] = {
    {"GET", T, bq_list, 0},
    {"GET", T "/*", bq_get, 0},
    {"DELETE", T "/*", bq_delete, 0},
    {"GET", "/storage/v1/b", gcs_buckets, 0},
    {"GET", "/storage/v1/b/*", gcs_bucket_get, 0},
    {"DELETE", "/storage/v1/b/*", gcs_bucket_delete, 0},
    {"GET", "/storage/v1/b/*/o", gcs_objects, 0},
    {NULL, NULL, NULL, 0},
};
