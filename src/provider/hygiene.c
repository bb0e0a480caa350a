/*
 * hygiene.c - observations and classification shared by the hygiene
 * providers (see hygiene.h).
 */
#include "provider/hygiene.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/time.h"

struct dl_hygiene_obs *dl_hygiene_state_add(struct dl_hygiene_state *st,
                                            const struct dl_resource *r,
                                            int64_t max_deletes,
                                            int64_t max_documents)
{
    struct dl_hygiene_obs *o = dl_calloc(1, sizeof(*o));

    o->resource = r;
    o->max_documents = max_documents;
    if (max_deletes == DL_UNSET || max_deletes < 1) {
        o->cap = DL_PLAN_DEFAULT_MAX_DELETES;
        o->cap_is_default = 1;
    } else {
        o->cap = max_deletes;
    }
    if (st->n == st->cap) {
        st->cap = st->cap ? 2 * st->cap : 4;
        st->obs = dl_reallocarray(st->obs, st->cap, sizeof(*st->obs));
    }
    st->obs[st->n++] = o;
    return o;
}

struct dl_hygiene_obs *dl_hygiene_state_find(const struct dl_hygiene_state *st,
                                             const struct dl_resource *r)
{
    for (size_t i = 0; st && i < st->n; i++)
        if (st->obs[i]->resource == r)
            return st->obs[i];
    return NULL;
}

static void obs_free(struct dl_hygiene_obs *o)
{
    free(o->objs);
    free(o->pool);
    for (size_t i = 0; i < o->nsamples; i++)
        free(o->samples[i]);
    free(o);
}

void dl_hygiene_state_dispose(struct dl_hygiene_state *st)
{
    for (size_t i = 0; i < st->n; i++)
        obs_free(st->obs[i]);
    free(st->obs);
    memset(st, 0, sizeof(*st));
}

void dl_hygiene_state_free(void *st)
{
    if (!st)
        return;
    dl_hygiene_state_dispose(st);
    free(st);
}

const char *dl_hygiene_id(const struct dl_hygiene_obs *o, size_t i)
{
    return o->pool + o->objs[i].id_off;
}

void dl_hygiene_obs_violation(struct dl_hygiene_obs *o, const char *id,
                              int64_t time_ns, int64_t version,
                              unsigned reasons)
{
    size_t len = strlen(id) + 1;
    struct dl_hygiene_obj *obj;

    o->violating++;
    if (o->nsamples < DL_PLAN_MAX_SAMPLES)
        o->samples[o->nsamples++] = dl_strdup(id);
    if ((int64_t)o->nobjs >= o->cap)
        return;
    if (o->nobjs == o->objs_cap) {
        o->objs_cap = o->objs_cap ? 2 * o->objs_cap : 64;
        o->objs = dl_reallocarray(o->objs, o->objs_cap, sizeof(*o->objs));
    }
    while (o->pool_len + len > o->pool_cap) {
        o->pool_cap = o->pool_cap ? 2 * o->pool_cap : 4096;
        o->pool = dl_realloc(o->pool, o->pool_cap);
    }
    obj = &o->objs[o->nobjs++];
    obj->id_off = o->pool_len;
    obj->time_ns = time_ns;
    obj->version = version;
    obj->reasons = reasons;
    memcpy(o->pool + o->pool_len, id, len);
    o->pool_len += len;
}

void dl_hygiene_obs_fail(struct dl_hygiene_obs *o, int rc,
                         const struct dl_err *err, const char *what)
{
    if (o->rc < 0)
        return;
    o->rc = rc < 0 ? rc : DL_ERROR;
    if (err)
        dl_err_copy(&o->err, err);
    else
        dl_err_set(&o->err, o->rc, "failed");
    if (what)
        dl_err_prefix(&o->err, "%s", what);
}

void dl_hygiene_fill(struct dl_plan_resource *pr,
                     const struct dl_hygiene_obs *o, const char *unit,
                     enum dl_plan_action enforce_action)
{
    struct dl_plan_hygiene *h;

    if (o->rc < 0) {
        dl_plan_resource_set_error(pr, "%s", o->err.msg);
        return;
    }
    h = dl_plan_resource_hygiene(pr);
    dl_plan_hygiene_set_unit(h, unit);
    h->total = o->total;
    h->violating = o->violating;
    h->id_format = o->id_format;
    h->stale = o->stale;
    h->over_limit = o->over_limit;
    h->empty = o->empty;
    h->cap = o->cap;
    h->cap_is_default = o->cap_is_default;
    for (size_t i = 0; i < o->nsamples; i++)
        (void)dl_plan_hygiene_add_sample(h, o->samples[i]);
    dl_pass_set_drift(
        pr, o->violating ? DL_PLAN_STATUS_DRIFTED : DL_PLAN_STATUS_IN_SYNC,
        enforce_action);
    if (pr->action == DL_PLAN_ACTION_DELETE)
        h->planned_deletes = o->violating < o->cap ? o->violating : o->cap;
    if (o->max_documents != DL_UNSET) {
        int64_t left = o->total - h->planned_deletes - o->max_documents;

        h->still_over_limit_after = left > 0 ? left : 0;
    }
}

/* ---- BigQuery and Storage classification ---- */

void dl_hygiene_bq_classify(struct dl_hygiene_obs *o, const char *table_id,
                            int has_ms, int64_t creation_ms, int64_t now_ns)
{
    const struct dl_bigquery_spec *s = &o->resource->spec.bigquery;

    if (!s->table_pattern.compiled ||
        !dl_pattern_match(&s->table_pattern, table_id))
        return;
    o->total++;
    /* A creationTime that is no time in ns (negative, or overflowing the
     * product below) is unusable: such a table is never stale. */
    if (has_ms && (creation_ms < 0 || creation_ms > INT64_MAX / DL_NS_PER_MS))
        has_ms = 0;
    if (s->older_than_ns != DL_UNSET &&
        (!has_ms || creation_ms * DL_NS_PER_MS >= now_ns - s->older_than_ns))
        return;
    o->stale++;
    dl_hygiene_obs_violation(o, table_id,
                             has_ms ? creation_ms * DL_NS_PER_MS : 0, 0,
                             DL_HYGIENE_STALE);
}

void dl_hygiene_bucket_classify(struct dl_hygiene_obs *o, const char *name,
                                int empty, int64_t metageneration)
{
    const struct dl_bucket_spec *s = &o->resource->spec.bucket;

    if (!s->bucket_pattern.compiled ||
        !dl_pattern_match(&s->bucket_pattern, name))
        return;
    o->total++;
    if (!empty)
        return;
    o->empty++;
    dl_hygiene_obs_violation(o, name, 0, metageneration, DL_HYGIENE_EMPTY);
}

/* ---- Firestore classification ---- */

/* Is (a_id, a_has, a_ts) older than (b_id, ...): the one to drop first? */
static int key_older(const struct dl_hygiene_fs *c, const char *a_id, int a_has,
                     int64_t a_ts, const char *b_id, int b_has, int64_t b_ts)
{
    if (c->by_time) {
        /* Without a timestamp a document counts as the oldest. */
        if (a_has != b_has)
            return !a_has;
        if (a_has && a_ts != b_ts)
            return a_ts < b_ts;
    }
    return strcmp(a_id, b_id) < 0;
}

static int fs_older(const struct dl_hygiene_fs *c,
                    const struct dl_hygiene_fs_doc *a,
                    const struct dl_hygiene_fs_doc *b)
{
    return key_older(c, a->id, a->has_ts, a->ts_ns, b->id, b->has_ts, b->ts_ns);
}

static void heap_swap(struct dl_hygiene_fs_doc *h, size_t i, size_t j)
{
    struct dl_hygiene_fs_doc t = h[i];

    h[i] = h[j];
    h[j] = t;
}

static void heap_down(struct dl_hygiene_fs *c, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;

        if (l < c->nheap && fs_older(c, &c->heap[l], &c->heap[m]))
            m = l;
        if (r < c->nheap && fs_older(c, &c->heap[r], &c->heap[m]))
            m = r;
        if (m == i)
            return;
        heap_swap(c->heap, i, m);
        i = m;
    }
}

static void heap_up(struct dl_hygiene_fs *c, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;

        if (!fs_older(c, &c->heap[i], &c->heap[p]))
            return;
        heap_swap(c->heap, i, p);
        i = p;
    }
}

void dl_hygiene_fs_init(struct dl_hygiene_fs *c, struct dl_hygiene_obs *obs,
                        const struct dl_firestore_spec *spec, int64_t now_ns)
{
    memset(c, 0, sizeof(*c));
    c->obs = obs;
    c->id_pattern = spec->id_pattern.compiled ? &spec->id_pattern : NULL;
    if (spec->stale_field && spec->stale_age_ns != DL_UNSET) {
        c->has_stale = 1;
        c->by_time = 1;
        c->stale_before_ns = now_ns - spec->stale_age_ns;
    }
}

void dl_hygiene_fs_add(struct dl_hygiene_fs *c, const char *id, int has_ts,
                       int64_t ts_ns, int64_t update_ns)
{
    struct dl_hygiene_obs *o = c->obs;
    struct dl_hygiene_fs_doc *top;
    unsigned reasons = 0;

    o->total++;
    if (c->id_pattern && !dl_pattern_match(c->id_pattern, id)) {
        reasons |= DL_HYGIENE_ID_FORMAT;
        o->id_format++;
    }
    if (c->has_stale) {
        if (!has_ts)
            o->no_timestamp++;
        else if (ts_ns < c->stale_before_ns) {
            reasons |= DL_HYGIENE_STALE;
            o->stale++;
        }
    }
    if (reasons) {
        dl_hygiene_obs_violation(o, id, update_ns, 0, reasons);
        return;
    }
    if (o->max_documents == DL_UNSET)
        return;
    if ((int64_t)c->nheap < o->max_documents) {
        /* Grown as documents come: a large maxDocuments over a small
         * collection costs nothing. */
        if (c->nheap == c->heap_cap) {
            c->heap_cap = c->heap_cap ? 2 * c->heap_cap : 64;
            c->heap = dl_reallocarray(c->heap, c->heap_cap, sizeof(*c->heap));
        }
        c->heap[c->nheap] = (struct dl_hygiene_fs_doc){.id = dl_strdup(id),
                                                       .has_ts = has_ts,
                                                       .ts_ns = ts_ns,
                                                       .update_ns = update_ns};
        heap_up(c, c->nheap++);
        return;
    }
    /* The heap holds the max_documents newest valid documents: of its
     * oldest and this one, the older is over the limit. */
    top = c->heap;
    if (c->nheap == 0 ||
        key_older(c, id, has_ts, ts_ns, top->id, top->has_ts, top->ts_ns)) {
        o->over_limit++;
        dl_hygiene_obs_violation(o, id, update_ns, 0, DL_HYGIENE_OVER_LIMIT);
        return;
    }
    o->over_limit++;
    dl_hygiene_obs_violation(o, top->id, top->update_ns, 0,
                             DL_HYGIENE_OVER_LIMIT);
    free(top->id);
    *top = (struct dl_hygiene_fs_doc){.id = dl_strdup(id),
                                      .has_ts = has_ts,
                                      .ts_ns = ts_ns,
                                      .update_ns = update_ns};
    heap_down(c, 0);
}

void dl_hygiene_fs_dispose(struct dl_hygiene_fs *c)
{
    for (size_t i = 0; i < c->nheap; i++)
        free(c->heap[i].id);
    free(c->heap);
    c->heap = NULL;
    c->nheap = c->heap_cap = 0;
}

int dl_hygiene_doc_timestamp(int64_t *out, json_t *fields, const char *path)
{
    const char *p = path;
    json_t *v = NULL;
    const char *s;
    struct dl_err e;

    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        char key[256];

        if (!json_is_object(fields) || len == 0 || len >= sizeof(key))
            return 0;
        memcpy(key, p, len);
        key[len] = '\0';
        v = json_object_get(fields, key);
        if (!dot)
            break;
        fields = json_object_get(json_object_get(v, "mapValue"), "fields");
        p = dot + 1;
    }
    s = json_string_value(json_object_get(v, "timestampValue"));
    if (!s || dl_time_parse_rfc3339(out, s, &e) < 0)
        return 0;
    return 1;
}
