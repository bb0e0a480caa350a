/*
 * bigquery_table_policy.c - BigQueryTablePolicy: tables of one dataset
 * that match tablePattern and are older than olderThan.
 *
 * observe: ONE paginated tables.list per (project, dataset), shared by
 * every policy on that dataset (GET /bigquery/v2/projects/P/datasets/D/
 * tables?maxResults=1000, then pageToken). Each table is classified as it
 * arrives; only violators (table ID + creationTime) are kept, at most the
 * delete cap.
 * diff: total = tables matching tablePattern; violating (reason stale) =
 * those created before now - olderThan (every matching table when
 * olderThan is not declared; a table without creationTime never). A
 * dataset that cannot be listed (not found, denied) makes the resource an
 * error with Google's message.
 */
#include <stdlib.h>
#include <string.h>

#include "provider/hygiene.h"
#include "provider/hygiene_apply.h"
#include "util/alloc.h"
#include "util/time.h"

struct bq_list {
    char *project, *dataset;
    struct dl_hygiene_obs **obs;
    size_t nobs;
    int64_t now_ns;
};

struct bq_state {
    struct dl_hygiene_state hygiene; /* first: what pass->state shows */
    struct bq_list **l;
    size_t nl, lcap;
};

static struct bq_list *list_for(struct bq_state *st, const char *project,
                                const char *dataset)
{
    struct bq_list *l;

    for (size_t i = 0; i < st->nl; i++)
        if (!strcmp(st->l[i]->project, project) &&
            !strcmp(st->l[i]->dataset, dataset))
            return st->l[i];
    l = dl_calloc(1, sizeof(*l));
    l->project = dl_strdup(project);
    l->dataset = dl_strdup(dataset);
    if (st->nl == st->lcap) {
        st->lcap = st->lcap ? 2 * st->lcap : 4;
        st->l = dl_reallocarray(st->l, st->lcap, sizeof(*st->l));
    }
    st->l[st->nl++] = l;
    return l;
}

/* creationTime: milliseconds since the epoch, a JSON string (or number). */
static int creation_ms(int64_t *out, json_t *t)
{
    json_t *v = json_object_get(t, "creationTime");
    const char *s = json_string_value(v);
    char *end;
    long long ms;

    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return 1;
    }
    if (!s || !*s)
        return 0;
    ms = strtoll(s, &end, 10);
    if (*end || ms < 0)
        return 0;
    *out = (int64_t)ms;
    return 1;
}

static int on_table(void *ud, json_t *t)
{
    struct bq_list *l = ud;
    const char *id = json_string_value(
        json_object_get(json_object_get(t, "tableReference"), "tableId"));
    int64_t ms = 0;
    int has_ms;

    if (!id)
        return 0;
    has_ms = creation_ms(&ms, t);
    for (size_t i = 0; i < l->nobs; i++)
        dl_hygiene_bq_classify(l->obs[i], id, has_ms, ms, l->now_ns);
    return 0;
}

static void on_done(struct dl_gcp_client *c, int rc, json_t *result,
                    const struct dl_err *err, void *ud)
{
    struct bq_list *l = ud;
    char what[600];

    (void)c;
    (void)result;
    snprintf(what, sizeof(what), "listing tables of dataset \"%s\" in %s",
             l->dataset, l->project);
    for (size_t i = 0; i < l->nobs; i++) {
        l->obs[i]->done = 1;
        if (rc < 0)
            dl_hygiene_obs_fail(l->obs[i], rc, err, what);
    }
}

static void dispose(struct dl_pass *pass)
{
    struct bq_state *st = pass->state[DL_KIND_BIGQUERY_TABLE_POLICY];

    if (!st)
        return;
    for (size_t i = 0; i < st->nl; i++) {
        free(st->l[i]->project);
        free(st->l[i]->dataset);
        free(st->l[i]->obs);
        free(st->l[i]);
    }
    free(st->l);
    dl_hygiene_state_dispose(&st->hygiene);
    free(st);
    pass->state[DL_KIND_BIGQUERY_TABLE_POLICY] = NULL;
}

static int observe(struct dl_pass *pass, struct dl_err *err)
{
    struct bq_state *st = dl_calloc(1, sizeof(*st));
    int rc = 0;

    pass->state[DL_KIND_BIGQUERY_TABLE_POLICY] = st;
    for (size_t i = 0; i < pass->model->n_resources; i++) {
        const struct dl_resource *r = pass->model->resources[i];
        const struct dl_bigquery_spec *s = &r->spec.bigquery;
        struct bq_list *l;

        if (r->kind != DL_KIND_BIGQUERY_TABLE_POLICY ||
            !dl_pass_selected(pass, r))
            continue;
        l = list_for(st, dl_resource_project_id(r), s->dataset);
        l->now_ns = pass->now_ns;
        l->obs = dl_reallocarray(l->obs, l->nobs + 1, sizeof(*l->obs));
        l->obs[l->nobs++] = dl_hygiene_state_add(
            &st->hygiene, r, s->max_deletes_per_run, DL_UNSET);
    }
    for (size_t i = 0; i < st->nl; i++) {
        char *p = dl_gcp_urlencode(st->l[i]->project);
        char *d = dl_gcp_urlencode(st->l[i]->dataset);
        char *path = dl_asprintf(
            "/bigquery/v2/projects/%s/datasets/%s/tables?maxResults=1000", p,
            d);

        rc = dl_gcp_list_submit(pass->gcp, DL_GCP_BIGQUERY, path, "tables",
                                on_table, on_done, st->l[i], err);
        free(path);
        free(p);
        free(d);
        if (rc < 0) {
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
    json_t *tables = json_object();
    char *ds = dl_asprintf("%s:%s", dl_resource_project_id(r),
                           r->spec.bigquery.dataset);

    for (size_t i = 0; i < o->nobjs; i++) {
        char ms[32];

        snprintf(ms, sizeof(ms), "%lld",
                 (long long)(o->objs[i].time_ns / DL_NS_PER_MS));
        json_object_set_new(tables, dl_hygiene_id(o, i),
                            json_pack("{s:s}", "creationTime", ms));
    }
    json_object_set_new(pr->preconditions, "dataset", json_string(ds));
    json_object_set_new(pr->preconditions, "observed_tables",
                        json_integer(o->total));
    json_object_set_new(pr->preconditions, "tables", tables);
    free(ds);
}

static int diff(struct dl_pass *pass, struct dl_err *err)
{
    struct bq_state *st = pass->state[DL_KIND_BIGQUERY_TABLE_POLICY];

    (void)err;
    for (size_t i = 0; i < pass->model->n_resources; i++) {
        const struct dl_resource *r = pass->model->resources[i];
        struct dl_plan_resource *pr;
        struct dl_hygiene_obs *o;

        if (r->kind != DL_KIND_BIGQUERY_TABLE_POLICY ||
            !dl_pass_selected(pass, r))
            continue;
        pr = dl_pass_add(pass, r);
        o = st ? dl_hygiene_state_find(&st->hygiene, r) : NULL;
        if (!o || !o->done) {
            dl_plan_resource_set_error(pr, "dataset \"%s\" was not observed",
                                       r->spec.bigquery.dataset);
            continue;
        }
        dl_hygiene_fill(pr, o, "tables", DL_PLAN_ACTION_DELETE);
        if (o->rc == 0)
            preconditions(pr, o, r);
    }
    return 0;
}

const struct dl_provider dl_provider_bigquery_table_policy = {
    .kind = DL_KIND_BIGQUERY_TABLE_POLICY,
    .observe = observe,
    .diff = diff,
    .dispose = dispose,
    .apply = dl_hygiene_apply_bigquery,
};
