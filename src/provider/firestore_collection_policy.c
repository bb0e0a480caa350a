/*
 * firestore_collection_policy.c - FirestoreCollectionPolicy: the hygiene
 * of one Firestore collection (ID format, staleness, size).
 *
 * observe: ONE streamed runQuery per (project, database, collection),
 * shared by every policy on that collection: from the collection, select
 * __name__ plus each policy's staleness field (nothing else travels),
 * ordered by __name__ so the stream and the samples are deterministic.
 * Every document is classified as it arrives (hygiene.h) and dropped; only
 * the counts, the violators' IDs with their updateTime (at most the delete
 * cap) and the over-limit heap stay in memory.
 * diff: one plan resource per policy with its hygiene block; action
 * delete (enforce) or report.
 */
#include <stdlib.h>
#include <string.h>

#include "gcp/firestore.h"
#include "provider/hygiene.h"
#include "provider/hygiene_apply.h"
#include "util/alloc.h"
#include "util/time.h"

struct fs_query {
    char *parent;     /* projects/p/databases/db/documents */
    char *collection; /* collection ID */
    struct dl_hygiene_fs *cls;
    size_t ncls;
};

struct fs_state {
    struct dl_hygiene_state hygiene; /* first: what pass->state shows */
    struct fs_query **q;
    size_t nq, qcap;
};

static const char *database_of(const struct dl_firestore_spec *s)
{
    return s->database && *s->database ? s->database : "(default)";
}

static struct fs_query *query_for(struct fs_state *st, const char *parent,
                                  const char *collection)
{
    struct fs_query *q;

    for (size_t i = 0; i < st->nq; i++)
        if (!strcmp(st->q[i]->parent, parent) &&
            !strcmp(st->q[i]->collection, collection))
            return st->q[i];
    q = dl_calloc(1, sizeof(*q));
    q->parent = dl_strdup(parent);
    q->collection = dl_strdup(collection);
    if (st->nq == st->qcap) {
        st->qcap = st->qcap ? 2 * st->qcap : 4;
        st->q = dl_reallocarray(st->q, st->qcap, sizeof(*st->q));
    }
    st->q[st->nq++] = q;
    return q;
}

static void query_free(struct fs_query *q)
{
    for (size_t i = 0; i < q->ncls; i++)
        dl_hygiene_fs_dispose(&q->cls[i]);
    free(q->cls);
    free(q->parent);
    free(q->collection);
    free(q);
}

static int on_doc(void *ud, json_t *doc)
{
    struct fs_query *q = ud;
    const char *name = json_string_value(json_object_get(doc, "name"));
    const char *ut = json_string_value(json_object_get(doc, "updateTime"));
    json_t *fields = json_object_get(doc, "fields");
    const char *id;
    int64_t update_ns = 0;
    struct dl_err e;

    if (!name)
        return 0;
    id = strrchr(name, '/');
    id = id ? id + 1 : name;
    if (!ut || dl_time_parse_rfc3339(&update_ns, ut, &e) < 0)
        update_ns = 0;
    for (size_t i = 0; i < q->ncls; i++) {
        struct dl_hygiene_fs *c = &q->cls[i];
        const struct dl_firestore_spec *s = &c->obs->resource->spec.firestore;
        int64_t ts = 0;
        int has_ts = c->has_stale &&
                     dl_hygiene_doc_timestamp(&ts, fields, s->stale_field);

        dl_hygiene_fs_add(c, id, has_ts, ts, update_ns);
    }
    return 0;
}

static void on_done(struct dl_gcp_client *c, int rc, json_t *result,
                    const struct dl_err *err, void *ud)
{
    struct fs_query *q = ud;
    char what[600];

    (void)result;
    snprintf(what, sizeof(what), "querying collection \"%s\" of %s",
             q->collection, q->parent);
    for (size_t i = 0; i < q->ncls; i++) {
        q->cls[i].obs->done = 1;
        q->cls[i].obs->done_ns = dl_gcp_client_now(c);
        if (rc < 0)
            dl_hygiene_obs_fail(q->cls[i].obs, rc, err, what);
        /* The heap is only needed while documents stream. */
        dl_hygiene_fs_dispose(&q->cls[i]);
    }
}

/* The structured query: names and the staleness fields, by name. */
static json_t *structured_query(const struct fs_query *q)
{
    json_t *fields = json_array();

    json_array_append_new(fields, json_pack("{s:s}", "fieldPath", "__name__"));
    for (size_t i = 0; i < q->ncls; i++) {
        const struct dl_firestore_spec *s =
            &q->cls[i].obs->resource->spec.firestore;
        int seen = 0;

        if (!q->cls[i].has_stale)
            continue;
        for (size_t j = 0; j < i; j++)
            if (q->cls[j].has_stale &&
                !strcmp(q->cls[j].obs->resource->spec.firestore.stale_field,
                        s->stale_field))
                seen = 1;
        if (!seen)
            json_array_append_new(
                fields, json_pack("{s:s}", "fieldPath", s->stale_field));
    }
    return json_pack("{s:[{s:s}],s:{s:o},s:[{s:{s:s},s:s}]}", "from",
                     "collectionId", q->collection, "select", "fields", fields,
                     "orderBy", "field", "fieldPath", "__name__", "direction",
                     "ASCENDING");
}

static void dispose(struct dl_pass *pass);

static int observe(struct dl_pass *pass, struct dl_err *err)
{
    struct fs_state *st = dl_calloc(1, sizeof(*st));
    int rc = 0;

    pass->state[DL_KIND_FIRESTORE_COLLECTION_POLICY] = st;
    for (size_t i = 0; i < pass->model->n_resources; i++) {
        const struct dl_resource *r = pass->model->resources[i];
        const struct dl_firestore_spec *s = &r->spec.firestore;
        struct dl_hygiene_obs *o;
        struct fs_query *q;
        char *parent;

        if (r->kind != DL_KIND_FIRESTORE_COLLECTION_POLICY ||
            !dl_pass_selected(pass, r))
            continue;
        o = dl_hygiene_state_add(&st->hygiene, r, s->max_deletes_per_run,
                                 s->max_documents);
        parent = dl_asprintf("projects/%s/databases/%s/documents",
                             dl_resource_project_id(r), database_of(s));
        q = query_for(st, parent, s->collection);
        free(parent);
        q->cls = dl_reallocarray(q->cls, q->ncls + 1, sizeof(*q->cls));
        dl_hygiene_fs_init(&q->cls[q->ncls++], o, s, pass->now_ns);
    }
    for (size_t i = 0; i < st->nq; i++) {
        json_t *sq = structured_query(st->q[i]);

        rc = dl_firestore_run_query_submit(pass->gcp, st->q[i]->parent, sq,
                                           on_doc, on_done, st->q[i], err);
        json_decref(sq);
        if (rc < 0) {
            /* The pass disposes only providers whose observe succeeded. */
            dispose(pass);
            return rc;
        }
    }
    return rc;
}

static void preconditions(struct dl_plan_resource *pr,
                          const struct dl_hygiene_obs *o,
                          const struct dl_resource *r)
{
    const struct dl_firestore_spec *s = &r->spec.firestore;
    char *db = dl_asprintf("projects/%s/databases/%s",
                           dl_resource_project_id(r), database_of(s));

    json_object_set_new(pr->preconditions, "database", json_string(db));
    json_object_set_new(pr->preconditions, "collection",
                        json_string(s->collection));
    json_object_set_new(pr->preconditions, "observed_documents",
                        json_integer(o->total));
    json_object_set_new(pr->preconditions, "observed_violating",
                        json_integer(o->violating));
    json_object_set_new(pr->preconditions, "guard",
                        json_string("updateTime per document"));
    free(db);
}

static int diff(struct dl_pass *pass, struct dl_err *err)
{
    struct fs_state *st = pass->state[DL_KIND_FIRESTORE_COLLECTION_POLICY];

    (void)err;
    for (size_t i = 0; i < pass->model->n_resources; i++) {
        const struct dl_resource *r = pass->model->resources[i];
        struct dl_plan_resource *pr;
        struct dl_hygiene_obs *o;

        if (r->kind != DL_KIND_FIRESTORE_COLLECTION_POLICY ||
            !dl_pass_selected(pass, r))
            continue;
        pr = dl_pass_add(pass, r);
        o = st ? dl_hygiene_state_find(&st->hygiene, r) : NULL;
        if (!o || !o->done) {
            dl_plan_resource_set_error(pr, "collection \"%s\" was not observed",
                                       r->spec.firestore.collection);
            continue;
        }
        dl_hygiene_fill(pr, o, "documents", DL_PLAN_ACTION_DELETE);
        if (o->rc < 0)
            continue;
        preconditions(pr, o, r);
        if (o->no_timestamp)
            dl_plan_resource_add_note(
                pr, "%lld %s no timestamp in \"%s\"; not counted as stale",
                (long long)o->no_timestamp,
                o->no_timestamp == 1 ? "document has" : "documents have",
                r->spec.firestore.stale_field);
    }
    return 0;
}

static void dispose(struct dl_pass *pass)
{
    struct fs_state *st = pass->state[DL_KIND_FIRESTORE_COLLECTION_POLICY];

    if (!st)
        return;
    for (size_t i = 0; i < st->nq; i++)
        query_free(st->q[i]);
    free(st->q);
    if (pass->opts.keep_observations) {
        /* For an apply in this process: the kept violators and their
         * updateTimes (hygiene_apply.c reuses them while fresh). */
        struct dl_hygiene_state *kept = dl_malloc(sizeof(*kept));

        *kept = st->hygiene;
        memset(&st->hygiene, 0, sizeof(st->hygiene));
        dl_pass_keep(pass, DL_KIND_FIRESTORE_COLLECTION_POLICY, kept,
                     dl_hygiene_state_free);
    }
    dl_hygiene_state_dispose(&st->hygiene);
    free(st);
    pass->state[DL_KIND_FIRESTORE_COLLECTION_POLICY] = NULL;
}

const struct dl_provider dl_provider_firestore_collection_policy = {
    .kind = DL_KIND_FIRESTORE_COLLECTION_POLICY,
    .observe = observe,
    .diff = diff,
    .dispose = dispose,
    .apply = dl_hygiene_apply_firestore,
};
