/*
 * lro.c - wait for google.longrunning.Operation to be done.
 *
 * A mutation answers {name, metadata} without "done" while it runs. We
 * poll GET /<version>/<name> (or Cloud Run's POST <name>:wait) with a
 * growing interval until done is true, then hand over "response" or map
 * "error" (a google.rpc.Status) into struct dl_err.
 */
#include <stdlib.h>
#include <string.h>

#include "gcp/error.h"
#include "gcp/gcp.h"
#include "gcp/gcp_int.h"
#include "util/alloc.h"
#include "util/time.h"

struct lro {
    enum dl_gcp_api api;
    struct dl_gcp_lro_opts o;
    char *name;
    int64_t started, delay; /* the client's clock */
    dl_gcp_op_fn done;
    void *ud;
    int polls;
};

static void lro_free(struct lro *l)
{
    free(l->name);
    free(l);
}

static const char *version_of(enum dl_gcp_api api)
{
    return api == DL_GCP_RUN ? "v2" : "v1";
}

/* 1 when op is finished (and l is freed), 0 when it must be polled. */
static int settle(struct dl_gcp_client *c, struct lro *l, json_t *op)
{
    struct dl_err err;
    json_t *e, *resp;

    if (!json_is_true(json_object_get(op, "done")))
        return 0;
    e = json_object_get(op, "error");
    if (json_is_object(e)) {
        char what[300];
        int rc;

        snprintf(what, sizeof(what), "operation '%s'", l->name);
        rc = dl_gcp_error_from_status(&err, e, what);
        if (rc == 0)
            rc = dl_err_set(&err, DL_ERROR, "operation '%s' failed", l->name);
        l->done(c, rc, NULL, &err, l->ud);
        lro_free(l);
        return 1;
    }
    resp = json_object_get(op, "response");
    if (resp) {
        l->done(c, 0, resp, NULL, l->ud);
    } else {
        json_t *empty = json_object();

        l->done(c, 0, empty, NULL, l->ud);
        json_decref(empty);
    }
    lro_free(l);
    return 1;
}

static int poll_op(struct dl_gcp_client *c, struct lro *l, struct dl_err *err);

static void on_poll(struct dl_gcp_client *c, int rc,
                    const struct dl_gcp_response *r, const struct dl_err *err,
                    void *ud)
{
    struct lro *l = ud;
    struct dl_err e2;

    if (rc < 0) {
        l->done(c, rc, NULL, err, l->ud);
        lro_free(l);
        return;
    }
    if (settle(c, l, r->json))
        return;
    if (poll_op(c, l, &e2) < 0) {
        l->done(c, e2.code, NULL, &e2, l->ud);
        lro_free(l);
    }
}

static int poll_op(struct dl_gcp_client *c, struct lro *l, struct dl_err *err)
{
    struct dl_gcp_request q;
    char *path;
    json_t *body = NULL;
    int rc;

    int64_t wait = l->polls == 0 && l->o.use_wait ? 0 : l->delay;

    if (dl_gcp_client_now(c) + wait - l->started > l->o.timeout_ns)
        return dl_err_set(err, DL_ETRANSIENT,
                          "operation '%s' not done after %lld s (%d polls)",
                          l->name, (long long)(l->o.timeout_ns / DL_NS_PER_SEC),
                          l->polls);
    memset(&q, 0, sizeof(q));
    q.api = l->api;
    if (l->o.use_wait) {
        path = dl_asprintf("/%s/%s:wait", version_of(l->api), l->name);
        body = json_pack("{s:s}", "timeout", "30s");
        q.method = "POST";
        q.body = body;
        q.retry = DL_GCP_RETRY_SAFE; /* waiting changes nothing */
    } else {
        path = dl_asprintf("/%s/%s", version_of(l->api), l->name);
        q.method = "GET";
        q.retry = DL_GCP_RETRY_SAFE;
    }
    q.path = path;
    q.done = on_poll;
    q.ud = l;
    q.delay_ns = wait;
    rc = dl_gcp_submit(c, &q, err);
    l->polls++;
    l->delay = l->delay * 3 / 2;
    if (l->delay > l->o.max_delay_ns)
        l->delay = l->o.max_delay_ns;
    json_decref(body);
    free(path);
    return rc;
}

int dl_gcp_lro_submit(struct dl_gcp_client *c, enum dl_gcp_api api, json_t *op,
                      const struct dl_gcp_lro_opts *opts, dl_gcp_op_fn done,
                      void *ud, struct dl_err *err)
{
    const char *name = json_string_value(json_object_get(op, "name"));
    struct lro *l;
    int rc;

    if (!json_is_object(op))
        return dl_err_set(err, DL_EINVALID, "operation is not a JSON object");
    l = dl_calloc(1, sizeof(*l));
    if (opts)
        l->o = *opts;
    if (l->o.timeout_ns <= 0)
        l->o.timeout_ns = 20 * 60 * DL_NS_PER_SEC;
    if (l->o.first_delay_ns <= 0)
        l->o.first_delay_ns = DL_NS_PER_SEC;
    if (l->o.max_delay_ns <= 0)
        l->o.max_delay_ns = 10 * DL_NS_PER_SEC;
    l->api = api;
    l->name = dl_strdup(name ? name : "");
    l->started = dl_gcp_client_now(c);
    l->delay = l->o.first_delay_ns;
    l->done = done;
    l->ud = ud;
    if (json_is_true(json_object_get(op, "done"))) {
        settle(c, l, op);
        return 0;
    }
    if (!name || !*name) {
        lro_free(l);
        return dl_err_set(err, DL_EINVALID,
                          "operation has neither \"done\" nor a \"name\"");
    }
    rc = poll_op(c, l, err);
    if (rc < 0)
        lro_free(l);
    return rc;
}

struct sync_lro {
    int done, rc;
    json_t *resp;
    struct dl_err err;
};

static void sync_done(struct dl_gcp_client *c, int rc, json_t *result,
                      const struct dl_err *err, void *ud)
{
    struct sync_lro *s = ud;

    (void)c;
    s->done = 1;
    s->rc = rc;
    if (rc < 0)
        dl_err_copy(&s->err, err);
    else
        s->resp = json_incref(result);
}

int dl_gcp_lro_wait(struct dl_gcp_client *c, enum dl_gcp_api api, json_t *op,
                    const struct dl_gcp_lro_opts *opts, json_t **response,
                    struct dl_err *err)
{
    struct sync_lro s;
    int rc;

    if (response)
        *response = NULL;
    memset(&s, 0, sizeof(s));
    rc = dl_gcp_lro_submit(c, api, op, opts, sync_done, &s, err);
    if (rc < 0)
        return rc;
    if (!s.done && dl_gcp__run_until(c, &s.done) < 0 && !s.done)
        return dl_err_set(err, DL_ERROR, "gcp loop stalled");
    if (s.rc < 0) {
        dl_err_copy(err, &s.err);
        return s.rc;
    }
    if (response)
        *response = s.resp;
    else
        json_decref(s.resp);
    return 0;
}
