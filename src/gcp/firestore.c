#include "gcp/firestore.h"

#include <stdlib.h>
#include <string.h>

#include "gcp/error.h"
#include "gcp/gcp_int.h"
#include "gcp/json_stream.h"
#include "util/alloc.h"

/* ---- runQuery ---- */

struct query {
    struct dl_json_splitter sp;
    struct dl_err err; /* from the stream (element errors) */
    dl_firestore_doc_fn fn;
    dl_gcp_op_fn done;
    void *ud;
    size_t ndocs;
    int stopped; /* fn asked to stop */
    int saw_done;
};

#define STOP_CODE DL_ECANCELLED

static int on_element(void *ud, json_t *el)
{
    struct query *q = ud;
    json_t *doc = json_object_get(el, "document");
    json_t *e = json_object_get(el, "error");

    if (json_is_true(json_object_get(el, "done")))
        q->saw_done = 1;
    if (json_is_object(e)) {
        /* An error after the 200: {"error": {code, message, status}}. */
        const char *st = json_string_value(json_object_get(e, "status"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        json_t *jc = json_object_get(e, "code");
        int http = json_is_integer(jc) ? (int)json_integer_value(jc) : 500;

        dl_err_set(&q->err, dl_gcp_status_to_code(st, http),
                   "runQuery: stream error after %zu documents: %s%s%s",
                   q->ndocs, st ? st : "", st && msg ? ": " : "",
                   msg ? msg : "");
        q->err.http_status = http;
        return q->err.code < 0 ? q->err.code : DL_ERROR;
    }
    if (!json_is_object(doc))
        return 0;
    q->ndocs++;
    if (q->fn(q->ud, doc) != 0) {
        q->stopped = 1;
        return STOP_CODE;
    }
    return 0;
}

static int on_query_data(void *ud, const char *data, size_t len)
{
    struct query *q = ud;

    return dl_json_splitter_feed(&q->sp, data, len, &q->err);
}

static void on_query_done(struct dl_gcp_client *c, int rc,
                          const struct dl_gcp_response *r,
                          const struct dl_err *err, void *ud)
{
    struct query *q = ud;
    json_t *n;

    (void)r;
    if (q->stopped) {
        rc = 0;
    } else if (rc < 0) {
        /* A stream error of our own says more than "aborted by callback". */
        if (q->err.code < 0)
            err = &q->err;
    } else if (dl_json_splitter_finish(&q->sp, &q->err) < 0) {
        rc = q->err.code;
        dl_err_prefix(&q->err, "runQuery");
        err = &q->err;
    }
    n = json_integer((json_int_t)q->ndocs);
    q->done(c, rc, rc < 0 ? NULL : n, rc < 0 ? err : NULL, q->ud);
    json_decref(n);
    dl_json_splitter_dispose(&q->sp);
    free(q);
}

int dl_firestore_run_query_submit(struct dl_gcp_client *c, const char *parent,
                                  json_t *structured_query,
                                  dl_firestore_doc_fn fn, dl_gcp_op_fn done,
                                  void *ud, struct dl_err *err)
{
    struct query *q = dl_calloc(1, sizeof(*q));
    struct dl_gcp_request req;
    json_t *body = json_pack("{s:O}", "structuredQuery", structured_query);
    char *path = dl_asprintf("/v1/%s:runQuery", parent);
    int rc;

    dl_json_splitter_init(&q->sp, DL_FIRESTORE_MAX_ELEMENT, on_element, q);
    q->fn = fn;
    q->done = done;
    q->ud = ud;
    memset(&req, 0, sizeof(req));
    req.api = DL_GCP_FIRESTORE;
    req.method = "POST";
    req.path = path;
    req.body = body;
    req.retry = DL_GCP_RETRY_READ;
    req.on_data = on_query_data;
    req.done = on_query_done;
    req.ud = q;
    rc = dl_gcp_submit(c, &req, err);
    if (rc < 0) {
        dl_json_splitter_dispose(&q->sp);
        free(q);
    }
    json_decref(body);
    free(path);
    return rc;
}

struct sync_op {
    int done, rc;
    json_t *result;
    struct dl_err err;
};

static void sync_op_done(struct dl_gcp_client *c, int rc, json_t *result,
                         const struct dl_err *err, void *ud)
{
    struct sync_op *s = ud;

    (void)c;
    s->done = 1;
    s->rc = rc;
    if (rc < 0)
        dl_err_copy(&s->err, err);
    else if (result)
        s->result = json_incref(result);
}

struct sync_query {
    struct sync_op op;
    dl_firestore_doc_fn fn;
    void *ud;
};

static int sync_query_doc(void *ud, json_t *doc)
{
    struct sync_query *s = ud;

    return s->fn(s->ud, doc);
}

int dl_firestore_run_query(struct dl_gcp_client *c, const char *parent,
                           json_t *structured_query, dl_firestore_doc_fn fn,
                           void *ud, size_t *ndocs, struct dl_err *err)
{
    struct sync_query s;
    int rc;

    if (ndocs)
        *ndocs = 0;
    memset(&s, 0, sizeof(s));
    s.fn = fn;
    s.ud = ud;
    rc = dl_firestore_run_query_submit(c, parent, structured_query,
                                       sync_query_doc, sync_op_done, &s, err);
    if (rc < 0)
        return rc;
    if (dl_gcp__run_until(c, &s.op.done) < 0 && !s.op.done)
        return dl_err_set(err, DL_ERROR, "gcp loop stalled");
    if (s.op.rc < 0) {
        dl_err_copy(err, &s.op.err);
        return s.op.rc;
    }
    if (ndocs)
        *ndocs = (size_t)json_integer_value(s.op.result);
    json_decref(s.op.result);
    return 0;
}

/* ---- batchWrite ---- */

struct batch {
    dl_firestore_batch_fn done;
    void *ud;
    size_t n;
};

static void on_batch(struct dl_gcp_client *c, int rc,
                     const struct dl_gcp_response *r, const struct dl_err *err,
                     void *ud)
{
    struct batch *b = ud;
    struct dl_firestore_write_result *res = NULL;
    json_t *status, *wr;
    struct dl_err e2;

    if (rc < 0) {
        b->done(c, rc, err, NULL, 0, b->ud);
        free(b);
        return;
    }
    status = json_object_get(r->json, "status");
    wr = json_object_get(r->json, "writeResults");
    res = dl_calloc(b->n ? b->n : 1, sizeof(*res));
    for (size_t i = 0; i < b->n; i++) {
        json_t *st = json_array_get(status, i);
        json_t *jc = json_object_get(st, "code");

        res[i].rpc_code = json_is_integer(jc) ? (int)json_integer_value(jc) : 0;
        if (res[i].rpc_code) {
            res[i].code = dl_gcp_error_from_status(&e2, st, "write");
            res[i].message = json_string_value(json_object_get(st, "message"));
        } else {
            res[i].update_time = json_string_value(
                json_object_get(json_array_get(wr, i), "updateTime"));
        }
    }
    b->done(c, 0, NULL, res, b->n, b->ud);
    free(res);
    free(b);
}

int dl_firestore_batch_write_submit(struct dl_gcp_client *c,
                                    const char *database, json_t *writes,
                                    enum dl_gcp_retry retry,
                                    dl_firestore_batch_fn done, void *ud,
                                    struct dl_err *err)
{
    struct dl_gcp_request req;
    struct batch *b;
    json_t *body;
    char *path;
    int rc;

    if (!json_is_array(writes))
        return dl_err_set(err, DL_EINVALID,
                          "batchWrite: writes is not an "
                          "array");
    if (json_array_size(writes) > DL_FIRESTORE_MAX_WRITES)
        return dl_err_set(err, DL_EINVALID,
                          "batchWrite: %zu writes, more than the limit of %d",
                          json_array_size(writes), DL_FIRESTORE_MAX_WRITES);
    b = dl_calloc(1, sizeof(*b));
    b->done = done;
    b->ud = ud;
    b->n = json_array_size(writes);
    body = json_pack("{s:O}", "writes", writes);
    path = dl_asprintf("/v1/%s/documents:batchWrite", database);
    memset(&req, 0, sizeof(req));
    req.api = DL_GCP_FIRESTORE;
    req.method = "POST";
    req.path = path;
    req.body = body;
    req.retry = retry;
    req.done = on_batch;
    req.ud = b;
    rc = dl_gcp_submit(c, &req, err);
    if (rc < 0)
        free(b);
    json_decref(body);
    free(path);
    return rc;
}

struct sync_batch {
    int done, rc;
    size_t nfailed;
    struct dl_err err;
};

static void sync_batch_done(struct dl_gcp_client *c, int rc,
                            const struct dl_err *err,
                            const struct dl_firestore_write_result *res,
                            size_t n, void *ud)
{
    struct sync_batch *s = ud;

    (void)c;
    s->done = 1;
    s->rc = rc;
    if (rc < 0) {
        dl_err_copy(&s->err, err);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (res[i].code == 0)
            continue;
        if (s->nfailed++ == 0) {
            dl_err_set(&s->err, res[i].code, "batchWrite: write %zu: %s%s%s", i,
                       dl_gcp_rpc_code_name(res[i].rpc_code)
                           ? dl_gcp_rpc_code_name(res[i].rpc_code)
                           : "UNKNOWN",
                       res[i].message ? ": " : "",
                       res[i].message ? res[i].message : "");
            snprintf(s->err.google_status, sizeof(s->err.google_status), "%s",
                     dl_gcp_rpc_code_name(res[i].rpc_code)
                         ? dl_gcp_rpc_code_name(res[i].rpc_code)
                         : "UNKNOWN");
        }
    }
}

int dl_firestore_batch_write(struct dl_gcp_client *c, const char *database,
                             json_t *writes, enum dl_gcp_retry retry,
                             size_t *nfailed, struct dl_err *err)
{
    struct sync_batch s;
    int rc;

    memset(&s, 0, sizeof(s));
    if (nfailed)
        *nfailed = 0;
    rc = dl_firestore_batch_write_submit(c, database, writes, retry,
                                         sync_batch_done, &s, err);
    if (rc < 0)
        return rc;
    if (dl_gcp__run_until(c, &s.done) < 0 && !s.done)
        return dl_err_set(err, DL_ERROR, "gcp loop stalled");
    if (s.rc < 0) {
        dl_err_copy(err, &s.err);
        return s.rc;
    }
    if (nfailed)
        *nfailed = s.nfailed;
    if (s.nfailed)
        dl_err_copy(err, &s.err);
    return 0;
}

/* ---- single documents ---- */

int dl_firestore_get(struct dl_gcp_client *c, const char *name, json_t **doc,
                     struct dl_err *err)
{
    char *path = dl_asprintf("/v1/%s", name);
    int rc = dl_gcp_call(c, DL_GCP_FIRESTORE, "GET", path, NULL, doc, err);

    free(path);
    return rc;
}

json_t *
dl_firestore_precondition_json(const struct dl_firestore_precondition *pre)
{
    json_t *o;

    if (!pre || (pre->exists == 0 && !pre->update_time))
        return NULL;
    o = json_object();
    if (pre->update_time)
        json_object_set_new(o, "updateTime", json_string(pre->update_time));
    else
        json_object_set_new(o, "exists", json_boolean(pre->exists > 0));
    return o;
}

int dl_firestore_commit(struct dl_gcp_client *c, const char *database,
                        json_t *writes, json_t **out, struct dl_err *err)
{
    struct dl_gcp_request req;
    json_t *body = json_pack("{s:O}", "writes", writes);
    char *path = dl_asprintf("/v1/%s/documents:commit", database);
    int rc;

    memset(&req, 0, sizeof(req));
    req.api = DL_GCP_FIRESTORE;
    req.method = "POST";
    req.path = path;
    req.body = body;
    /* A lost answer to an applied commit would turn its retry into a
     * precondition failure: retry only what surely did not apply. */
    req.retry = DL_GCP_RETRY_UNSAFE;
    rc = dl_gcp_call_req(c, &req, out, err);
    json_decref(body);
    free(path);
    return rc;
}

/* "projects/p/databases/d/documents/x/y" -> "projects/p/databases/d" */
static char *database_of(const char *name, struct dl_err *err)
{
    const char *p = strstr(name, "/documents/");

    if (strncmp(name, "projects/", 9) != 0 || !p) {
        dl_err_set(err, DL_EINVALID, "'%s' is not a Firestore document name",
                   name);
        return NULL;
    }
    return dl_strndup(name, (size_t)(p - name));
}

static int commit_one(struct dl_gcp_client *c, const char *name, json_t *w,
                      const struct dl_firestore_precondition *pre,
                      char *update_time, struct dl_err *err)
{
    char *db = database_of(name, err);
    json_t *writes = NULL, *out = NULL, *cond;
    int rc = DL_EINVALID;

    if (!db)
        goto done;
    cond = dl_firestore_precondition_json(pre);
    if (cond)
        json_object_set_new(w, "currentDocument", cond);
    writes = json_pack("[O]", w);
    rc = dl_firestore_commit(c, db, writes, &out, err);
    if (rc == 0 && update_time) {
        const char *t = json_string_value(json_object_get(
            json_array_get(json_object_get(out, "writeResults"), 0),
            "updateTime"));

        snprintf(update_time, 40, "%s", t ? t : "");
    }
done:
    json_decref(writes);
    json_decref(out);
    free(db);
    return rc;
}

int dl_firestore_put(struct dl_gcp_client *c, const char *name, json_t *fields,
                     const struct dl_firestore_precondition *pre,
                     char *update_time, struct dl_err *err)
{
    json_t *empty = fields ? NULL : json_object();
    json_t *w = json_pack("{s:{s:s, s:O}}", "update", "name", name, "fields",
                          fields ? fields : empty);
    int rc = commit_one(c, name, w, pre, update_time, err);

    json_decref(w);
    json_decref(empty);
    return rc;
}

int dl_firestore_patch(struct dl_gcp_client *c, const char *name,
                       json_t *fields, const char *const *mask,
                       const struct dl_firestore_precondition *pre,
                       char *update_time, struct dl_err *err)
{
    json_t *empty = fields ? NULL : json_object();
    json_t *paths = json_array();
    json_t *w;
    int rc;

    for (size_t i = 0; mask && mask[i]; i++)
        json_array_append_new(paths, json_string(mask[i]));
    w = json_pack("{s:{s:s, s:O}, s:{s:o}}", "update", "name", name, "fields",
                  fields ? fields : empty, "updateMask", "fieldPaths", paths);
    rc = commit_one(c, name, w, pre, update_time, err);
    json_decref(w);
    json_decref(empty);
    return rc;
}

int dl_firestore_delete(struct dl_gcp_client *c, const char *name,
                        const struct dl_firestore_precondition *pre,
                        struct dl_err *err)
{
    json_t *w = json_pack("{s:s}", "delete", name);
    int rc = commit_one(c, name, w, pre, NULL, err);

    json_decref(w);
    return rc;
}
