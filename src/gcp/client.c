/*
 * client.c - the request loop: queue, auth, rate limits, retries, metrics.
 *
 * Every request lives in exactly one of three lists: queued (waiting to be
 * sent: for its backoff time, a token, its API's bucket or a free slot),
 * inflight (handed to the transport) and completed (the transport is done
 * with it; its callback has not run yet). Callbacks run only from the loop,
 * never from inside the transport, so they may submit and even call the
 * synchronous functions.
 */
#include "gcp/gcp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "driftless/version.h"
#include "gcp/error.h"
#include "gcp/gcp_int.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/time.h"

const double dl_gcp_latency_bounds[DL_GCP_LATENCY_BUCKETS] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, INFINITY};

enum req_state { Q_QUEUED, Q_INFLIGHT, Q_COMPLETED, Q_DETACHED };

struct req {
    struct dl_gcp_client *c;
    struct req *prev, *next;
    enum req_state state;
    enum dl_gcp_api api;
    char *method, *url, *what;
    char *body;
    size_t body_len;
    char *ctype_header, *auth_header;
    char *extra[4];
    enum dl_gcp_retry retry;
    unsigned flags;
    int internal;     /* token fetches: no auth, no bucket, no slot */
    int wants_token;  /* queued until a token arrives */
    int auth_retried; /* one retry after a 401 with a fresh token */
    int streamed;     /* bytes went to on_data: never retried */
    int attempts;
    json_t *json; /* the parsed answer, between attempt_done and complete */
    int fail_rc;  /* failed before it was sent: run_completed reports it */
    struct dl_err *fail_err;
    int64_t deadline, not_before, attempt_start;
    size_t max_body;
    dl_gcp_data_fn on_data;
    dl_gcp_done_fn done;
    void *ud;
    struct dl_http_xfer x;
};

struct list {
    struct req *head, *tail;
    size_t n;
};

struct bucket {
    double configured; /* <0: unlimited */
    double rate, burst, tokens;
    int64_t last;
};

struct dl_gcp_client {
    struct dl_http_transport *t;
    struct dl_gcp_endpoints ep;
    struct dl_gcp_creds creds;
    int no_auth;
    struct dl_gcp_client_opts o;
    struct list queued, inflight, completed;
    int inflight_api[DL_GCP_API_COUNT];
    struct bucket bucket[DL_GCP_API_COUNT];
    struct dl_gcp_metrics m;
    uint64_t rng;
    /* token cache */
    char *token;
    int64_t token_expires; /* transport clock; refresh before */
    int64_t token_refresh_at;
    int refreshing;
    int cancelled;
    int in_stream;
    char *user_agent;
    char *quota_header; /* "x-goog-user-project: p", or NULL */
};

/* Defaults under Google's documented per-minute quotas (docs/auth.md). */
static const double default_rate[DL_GCP_API_COUNT] = {
    [DL_GCP_RUN] = 10,
    [DL_GCP_RESOURCEMANAGER] = 10,
    [DL_GCP_FIRESTORE] = 200,
    [DL_GCP_CLOUDBUILD] = 5,
    [DL_GCP_BIGQUERY] = 50,
    [DL_GCP_STORAGE] = 50,
    [DL_GCP_OAUTH2] = -1,
    [DL_GCP_STS] = -1,
    [DL_GCP_IAMCREDENTIALS] = -1,
    [DL_GCP_METADATA] = -1,
};

static void list_push(struct list *l, struct req *r)
{
    r->next = NULL;
    r->prev = l->tail;
    if (l->tail)
        l->tail->next = r;
    else
        l->head = r;
    l->tail = r;
    l->n++;
}

static void list_remove(struct list *l, struct req *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        l->head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        l->tail = r->prev;
    r->prev = r->next = NULL;
    l->n--;
}

static struct list *list_of(struct dl_gcp_client *c, struct req *r)
{
    switch (r->state) {
    case Q_QUEUED:
        return &c->queued;
    case Q_INFLIGHT:
        return &c->inflight;
    case Q_COMPLETED:
        return &c->completed;
    default:
        return NULL;
    }
}

static int64_t now_ns(const struct dl_gcp_client *c)
{
    return c->t->ops->now(c->t);
}

static uint64_t rng_next(struct dl_gcp_client *c)
{
    /* xorshift64*: jitter needs spread, not cryptographic strength. */
    c->rng ^= c->rng >> 12;
    c->rng ^= c->rng << 25;
    c->rng ^= c->rng >> 27;
    return c->rng * UINT64_C(2685821657736338717);
}

static void req_free(struct req *r)
{
    free(r->method);
    free(r->url);
    free(r->what);
    free(r->body);
    free(r->ctype_header);
    for (int i = 0; i < 4; i++)
        free(r->extra[i]);
    free(r->auth_header);
    dl_buf_dispose(&r->x.body_in);
    dl_buf_dispose(&r->x.head_in);
    json_decref(r->json);
    free(r->fail_err);
    free(r);
}

/* ---- rate limits ---- */

static void bucket_init(struct bucket *b, double rate, double burst,
                        int64_t now)
{
    b->configured = rate;
    b->rate = rate;
    b->burst = burst > 0 ? burst : (rate > 1 ? rate : 1);
    b->tokens = b->burst;
    b->last = now;
}

static void bucket_fill(struct bucket *b, int64_t now)
{
    if (now > b->last) {
        b->tokens += b->rate * (double)(now - b->last) / 1e9;
        if (b->tokens > b->burst)
            b->tokens = b->burst;
    }
    b->last = now;
}

/* 0 when a token was taken, else ns until one is available. */
static int64_t bucket_take(struct bucket *b, int64_t now)
{
    if (b->configured < 0)
        return 0;
    bucket_fill(b, now);
    if (b->tokens >= 1) {
        b->tokens -= 1;
        return 0;
    }
    return (int64_t)((1 - b->tokens) / b->rate * 1e9) + 1;
}

static void bucket_throttle(struct bucket *b, int64_t now)
{
    if (b->configured < 0)
        return;
    bucket_fill(b, now);
    b->rate /= 2;
    if (b->rate < b->configured / 16)
        b->rate = b->configured / 16;
    if (b->rate < 0.1)
        b->rate = 0.1;
    b->tokens = 0;
}

static void bucket_recover(struct bucket *b)
{
    if (b->configured < 0 || b->rate >= b->configured)
        return;
    b->rate += b->configured / 20;
    if (b->rate > b->configured)
        b->rate = b->configured;
}

/* ---- metrics ---- */

static void count_status(struct dl_gcp_api_metrics *m, int status)
{
    for (size_t i = 0; i < m->nstatus; i++) {
        if (m->status[i].status == status) {
            m->status[i].count++;
            return;
        }
    }
    if (m->nstatus < DL_GCP_MAX_STATUSES) {
        m->status[m->nstatus].status = status;
        m->status[m->nstatus++].count = 1;
    }
}

static void count_latency(struct dl_gcp_api_metrics *m, int64_t ns)
{
    double s = (double)ns / 1e9;

    for (int i = 0; i < DL_GCP_LATENCY_BUCKETS; i++) {
        if (s <= dl_gcp_latency_bounds[i]) {
            m->latency_bucket[i]++;
            break;
        }
    }
    m->latency_sum_s += s;
    m->latency_count++;
}

/* ---- lifecycle ---- */

int dl_gcp_client_new(struct dl_gcp_client **out,
                      const struct dl_gcp_client_opts *opts, struct dl_err *err)
{
    struct dl_gcp_client *c = dl_calloc(1, sizeof(*c));
    struct dl_gcp_client_opts def;
    int rc;

    *out = NULL;
    if (!opts) {
        memset(&def, 0, sizeof(def));
        opts = &def;
    }
    c->o = *opts;
    c->t = opts->transport;
    c->o.transport = NULL;
    c->o.ca_bundle = NULL;
    c->o.credentials_file = NULL;
    c->user_agent = dl_strdup(opts->user_agent ? opts->user_agent
                                               : "driftless/" DL_VERSION);
    c->o.user_agent = NULL;
    if (c->o.max_inflight <= 0)
        c->o.max_inflight = 16;
    if (c->o.connect_timeout_ns <= 0)
        c->o.connect_timeout_ns = 10 * DL_NS_PER_SEC;
    if (c->o.attempt_timeout_ns <= 0)
        c->o.attempt_timeout_ns = 60 * DL_NS_PER_SEC;
    if (c->o.deadline_ns <= 0)
        c->o.deadline_ns = 300 * DL_NS_PER_SEC;
    if (c->o.max_attempts <= 0)
        c->o.max_attempts = 6;
    if (c->o.backoff_base_ns <= 0)
        c->o.backoff_base_ns = 500 * DL_NS_PER_MS;
    if (c->o.backoff_max_ns <= 0)
        c->o.backoff_max_ns = 32 * DL_NS_PER_SEC;
    if (c->o.max_body == 0)
        c->o.max_body = 64u * 1024 * 1024;
    rc = dl_gcp_endpoints_load(&c->ep, err);
    if (rc < 0)
        goto done;
    if (!c->t) {
        struct dl_http_curl_opts co = {
            .ca_bundle = opts->ca_bundle,
            .user_agent = c->user_agent,
            .connect_timeout_ns = c->o.connect_timeout_ns,
        };
        rc = dl_http_curl_new(&c->t, &co, err);
        if (rc < 0)
            goto done;
    }
    c->no_auth = opts->no_auth;
    if (!c->no_auth) {
        rc = dl_gcp_creds_find(&c->creds, opts->credentials_file, err);
        if (rc < 0)
            goto done;
        if (c->creds.kind == DL_GCP_AUTH_TOKEN)
            dl_gcp__token_set(c, c->creds.token, 0);
        if (c->creds.quota_project)
            c->quota_header =
                dl_asprintf("x-goog-user-project: %s", c->creds.quota_project);
    }
    c->rng = opts->seed ? opts->seed : (uint64_t)dl_time_now_ns() | 1;
    for (int i = 0; i < DL_GCP_API_COUNT; i++) {
        double rate = opts->rate[i] != 0 ? opts->rate[i] : default_rate[i];

        bucket_init(&c->bucket[i], rate, opts->burst[i], now_ns(c));
    }
    dl_debug("gcp: client ready (credentials: %s, transport: %s)",
             dl_gcp_auth_kind_name(c->creds.kind), c->t->ops->name);
done:
    if (rc < 0) {
        if (!c->t)
            c->t = opts->transport;
        dl_gcp_client_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

static void drop_list(struct dl_gcp_client *c, struct list *l)
{
    while (l->head) {
        struct req *r = l->head;

        if (r->state == Q_INFLIGHT)
            c->t->ops->abort(c->t, &r->x);
        list_remove(l, r);
        req_free(r);
    }
}

void dl_gcp_client_free(struct dl_gcp_client *c)
{
    if (!c)
        return;
    if (c->t) {
        drop_list(c, &c->inflight);
        drop_list(c, &c->queued);
        drop_list(c, &c->completed);
        dl_http_transport_free(c->t);
    }
    dl_gcp_endpoints_dispose(&c->ep);
    dl_gcp_creds_dispose(&c->creds);
    free(c->token);
    free(c->user_agent);
    free(c->quota_header);
    free(c);
}

const struct dl_gcp_metrics *
dl_gcp_client_metrics(const struct dl_gcp_client *c)
{
    return &c->m;
}

const struct dl_gcp_endpoints *
dl_gcp_client_endpoints(const struct dl_gcp_client *c)
{
    return &c->ep;
}

const char *dl_gcp_client_auth_kind(const struct dl_gcp_client *c)
{
    return dl_gcp_auth_kind_name(c->no_auth ? DL_GCP_AUTH_NONE : c->creds.kind);
}

double dl_gcp_client_rate(const struct dl_gcp_client *c, enum dl_gcp_api api)
{
    return c->bucket[api].configured < 0 ? -1 : c->bucket[api].rate;
}

const struct dl_gcp_creds *dl_gcp__creds(const struct dl_gcp_client *c)
{
    return &c->creds;
}

int64_t dl_gcp_client_now(const struct dl_gcp_client *c)
{
    return now_ns(c);
}

size_t dl_gcp_client_pending(const struct dl_gcp_client *c)
{
    return c->queued.n + c->inflight.n + c->completed.n;
}

/* ---- tokens ---- */

void dl_gcp__token_set(struct dl_gcp_client *c, const char *token,
                       int64_t lifetime_ns)
{
    int64_t now = now_ns(c);

    dl_log_add_secret(token);
    free(c->token);
    c->token = dl_strdup(token);
    c->refreshing = 0;
    if (lifetime_ns <= 0) {
        c->token_expires = INT64_MAX; /* static token */
        c->token_refresh_at = INT64_MAX;
    } else {
        /* Refresh ahead of expiry: 5 min, or a quarter of short lives. */
        int64_t margin = lifetime_ns / 4;

        if (margin > 300 * DL_NS_PER_SEC)
            margin = 300 * DL_NS_PER_SEC;
        c->token_expires = now + lifetime_ns - 10 * DL_NS_PER_SEC;
        c->token_refresh_at = now + lifetime_ns - margin;
        c->m.token_refreshes++;
    }
    for (struct req *r = c->queued.head; r; r = r->next)
        r->wants_token = 0;
}

static struct list *list_of(struct dl_gcp_client *c, struct req *r);

/*
 * Fail r, which was never sent, from the loop rather than here: callbacks
 * run only from run_completed, so that whoever iterates a list (dispatch)
 * never sees it change under its feet.
 */
static void defer_fail(struct dl_gcp_client *c, struct req *r, int rc,
                       const struct dl_err *err)
{
    if (list_of(c, r))
        list_remove(list_of(c, r), r);
    r->fail_rc = rc < 0 ? rc : DL_ERROR;
    free(r->fail_err);
    r->fail_err = dl_malloc(sizeof(*r->fail_err));
    dl_err_copy(r->fail_err, err);
    r->state = Q_COMPLETED;
    list_push(&c->completed, r);
}

void dl_gcp__token_fail(struct dl_gcp_client *c, const struct dl_err *err)
{
    struct req *r, *next;

    c->refreshing = 0;
    c->m.token_failures++;
    for (r = c->queued.head; r; r = next) {
        next = r->next;
        if (r->wants_token)
            defer_fail(c, r, err->code ? err->code : DL_EAUTH, err);
    }
}

/* Does r need our OAuth token? */
static int needs_token(const struct dl_gcp_client *c, const struct req *r)
{
    if (c->no_auth || r->internal || (r->flags & DL_GCP_NO_AUTH))
        return 0;
    if (r->api == DL_GCP_FIRESTORE && c->ep.firestore_emulator)
        return 0;
    return c->creds.kind != DL_GCP_AUTH_NONE;
}

/* ---- submit ---- */

static int is_absolute(const char *p)
{
    return strncasecmp(p, "http://", 7) == 0 ||
           strncasecmp(p, "https://", 8) == 0;
}

static int submit(struct dl_gcp_client *c, const struct dl_gcp_request *q,
                  int internal, struct dl_err *err)
{
    struct req *r;
    const char *method = q->method;
    char *body = NULL;
    size_t qlen;

    if (!q->path || !q->done || (unsigned)q->api >= DL_GCP_API_COUNT)
        return dl_err_set(err, DL_EINVALID,
                          "gcp request without a path, callback or API");
    if (is_absolute(q->path) &&
        dl_gcp_url_check(q->path, q->api == DL_GCP_METADATA, err) < 0)
        return DL_EINVALID;
    if (!is_absolute(q->path) && q->path[0] != '/')
        return dl_err_set(err, DL_EINVALID,
                          "gcp request path '%s' does not start with '/'",
                          q->path);
    if (q->body) {
        body = json_dumps(q->body, JSON_COMPACT);
        if (!body)
            return dl_err_set(err, DL_EINVALID,
                              "gcp request body cannot be serialised");
    }
    if (!method)
        method = (q->body || q->raw_body) ? "POST" : "GET";
    r = dl_calloc(1, sizeof(*r));
    r->c = c;
    r->api = q->api;
    r->method = dl_strdup(method);
    if (is_absolute(q->path))
        r->url = dl_strdup(q->path);
    else
        r->url = dl_asprintf("%s%s", c->ep.base[q->api], q->path);
    {
        /* Messages name the path, without host and query. */
        const char *p = q->path;

        if (is_absolute(p)) {
            p = strstr(p, "://") + 3;
            p += strcspn(p, "/?");
        }
        qlen = strcspn(p, "?");
        r->what = dl_asprintf("%s %.*s", method, (int)qlen, *p ? p : "/");
    }
    if (body) {
        r->body = dl_strdup(body);
        r->body_len = strlen(body);
        free(body);
        r->ctype_header = dl_strdup("Content-Type: application/json");
    } else if (q->raw_body) {
        r->body_len = q->raw_body_len ? q->raw_body_len : strlen(q->raw_body);
        r->body = dl_malloc(r->body_len + 1);
        memcpy(r->body, q->raw_body, r->body_len);
        r->body[r->body_len] = '\0';
        r->ctype_header =
            dl_asprintf("Content-Type: %s",
                        q->content_type ? q->content_type : "application/json");
    }
    for (int i = 0; i < 4 && q->headers[i]; i++)
        r->extra[i] = dl_strdup(q->headers[i]);
    r->retry = q->retry;
    if (r->retry == DL_GCP_RETRY_AUTO)
        r->retry = (strcmp(method, "POST") == 0 || strcmp(method, "PATCH") == 0)
                       ? DL_GCP_RETRY_UNSAFE
                       : DL_GCP_RETRY_SAFE;
    r->flags = q->flags;
    r->internal = internal;
    r->deadline =
        now_ns(c) + (q->deadline_ns > 0 ? q->deadline_ns : c->o.deadline_ns);
    r->max_body = q->max_body ? q->max_body : c->o.max_body;
    if (q->delay_ns > 0)
        r->not_before = now_ns(c) + q->delay_ns;
    r->on_data = q->on_data;
    r->done = q->done;
    r->ud = q->ud;
    dl_buf_init(&r->x.body_in, r->max_body);
    dl_buf_init(&r->x.head_in, 16 * 1024);
    r->state = Q_QUEUED;
    list_push(&c->queued, r);
    return 0;
}

int dl_gcp_submit(struct dl_gcp_client *c, const struct dl_gcp_request *req,
                  struct dl_err *err)
{
    if (c->cancelled)
        return dl_err_set(err, DL_ECANCELLED, "gcp client cancelled");
    return submit(c, req, 0, err);
}

int dl_gcp__submit_internal(struct dl_gcp_client *c,
                            const struct dl_gcp_request *req,
                            struct dl_err *err)
{
    return submit(c, req, 1, err);
}

/* ---- completion ---- */

static void complete(struct dl_gcp_client *c, struct req *r, int rc,
                     const struct dl_err *err)
{
    struct dl_gcp_response resp;
    json_t *json = r->json;
    struct dl_gcp_api_metrics *m = &c->m.api[r->api];

    if (list_of(c, r))
        list_remove(list_of(c, r), r);
    r->state = Q_DETACHED;
    memset(&resp, 0, sizeof(resp));
    resp.http_status = r->x.status;
    resp.body = dl_buf_cstr(&r->x.body_in);
    resp.body_len = r->x.body_in.len;
    resp.xfer = &r->x;
    resp.attempts = r->attempts;
    r->json = NULL;
    if (rc < 0) {
        json_decref(json);
        json = NULL;
    }
    resp.json = json;
    m->requests++;
    if (rc < 0) {
        m->failures++;
        if (dl_log_enabled(DL_LOG_DEBUG))
            dl_debug("gcp: %s failed: %s", r->what, err ? err->msg : "");
    }
    r->done(c, rc, &resp, rc < 0 ? err : NULL, r->ud);
    json_decref(json);
    req_free(r);
}

static int retryable(const struct req *r, int http, const char *gstatus,
                     int maybe_sent)
{
    enum dl_gcp_retry p = r->retry;

    if (p == DL_GCP_RETRY_NEVER || r->streamed)
        return 0;
    if (http == 0) /* transport failure */
        return !maybe_sent || p == DL_GCP_RETRY_SAFE || p == DL_GCP_RETRY_READ;
    if (http == 429)
        return 1;
    if (http == 408 || http == 500 || http == 502 || http == 503 || http == 504)
        return p == DL_GCP_RETRY_SAFE || p == DL_GCP_RETRY_READ;
    if (http == 409 && strcmp(gstatus, "ABORTED") == 0)
        return p == DL_GCP_RETRY_READ;
    return 0;
}

/* The transport finished an attempt: decide, retry or complete. */
static void attempt_done(struct dl_gcp_client *c, struct req *r)
{
    struct dl_http_xfer *x = &r->x;
    struct dl_gcp_api_metrics *m = &c->m.api[r->api];
    int64_t now = now_ns(c), hint = 0, delay, cap;
    struct dl_err err;
    /* A failure of the transfer itself (no status, or a 2xx cut short) is
     * judged like a connection error, not by its status. */
    int transport_failed = x->result < 0 && x->status < 300;
    int rc = 0;

    c->inflight_api[r->api]--;
    count_status(m, x->result < 0 && x->status == 0 ? 0 : x->status);
    count_latency(m, now - r->attempt_start);
    if (dl_log_enabled(DL_LOG_DEBUG))
        dl_debug("gcp: %s -> %d (%.1f ms, attempt %d)", r->what, x->status,
                 (double)(now - r->attempt_start) / 1e6, r->attempts);
    dl_err_clear(&err);
    if (x->result < 0) {
        rc = dl_err_set(&err, x->result, "%s: %s", r->what, x->errmsg);
        if (x->status)
            err.http_status = x->status;
        if (!transport_failed) /* a cut error body: judge by status */
            rc = dl_gcp_error_parse(&err, x->status, x->body_in.ptr,
                                    x->body_in.len, r->what);
    } else if (x->status < 200 || x->status >= 300) {
        rc = dl_gcp_error_parse(&err, x->status, x->body_in.ptr, x->body_in.len,
                                r->what);
    } else if (!(r->flags & DL_GCP_RAW) && !r->on_data) {
        json_error_t je;
        char *near;

        if (x->body_in.len == 0)
            r->json = json_object();
        else
            r->json = json_loadb(x->body_in.ptr, x->body_in.len, 0, &je);
        if (!r->json) {
            /* A body cut without a transport error (connection closed
             * early, a broken proxy): as retryable as a reset. jansson's
             * reason tells a cut from invalid UTF-8 or too deep nesting;
             * its "near '<bytes>'" part would quote the body: cut. */
            if ((near = strstr(je.text, " near '")) != NULL)
                *near = '\0';
            rc = dl_err_set(&err, DL_ETRANSIENT,
                            "%s: HTTP %d: response is not valid JSON "
                            "(%zu bytes; truncated?): %s at byte %d",
                            r->what, x->status, x->body_in.len, je.text,
                            je.position);
            err.http_status = x->status;
            transport_failed = 1;
        }
    }
    if (rc == 0) {
        bucket_recover(&c->bucket[r->api]);
        complete(c, r, 0, NULL);
        return;
    }
    if (x->status == 429)
        bucket_throttle(&c->bucket[r->api], now);
    if (x->status == 401 && !r->auth_retried && needs_token(c, r)) {
        /* The token may have been revoked or expired early: fetch a new
         * one once, then fail. */
        r->auth_retried = 1;
        free(c->token);
        c->token = NULL;
        c->token_expires = 0;
        r->state = Q_QUEUED;
        list_push(&c->queued, r);
        m->retries++;
        return;
    }
    if ((transport_failed && rc != DL_ETRANSIENT) ||
        !retryable(r, transport_failed ? 0 : x->status, err.google_status,
                   x->maybe_sent || x->status > 0) ||
        r->attempts >= c->o.max_attempts) {
        if (r->attempts > 1) {
            size_t n = strlen(err.msg);

            snprintf(err.msg + n, sizeof(err.msg) - n, " (after %d attempts)",
                     r->attempts);
        }
        complete(c, r, rc, &err);
        return;
    }
    if (x->status >= 400 && !transport_failed) {
        char ra[64];

        hint = dl_gcp_error_retry_delay(x->body_in.ptr, x->body_in.len);
        if (dl_http_xfer_header(x, "Retry-After", ra, sizeof(ra))) {
            int64_t h = dl_gcp_parse_retry_after(ra, dl_time_now_ns());

            if (h > hint)
                hint = h;
        }
    }
    /* Full jitter: uniform in [0, min(max, base * 2^(n-1))]. */
    cap = c->o.backoff_base_ns;
    for (int i = 1; i < r->attempts && cap < c->o.backoff_max_ns; i++)
        cap *= 2;
    if (cap > c->o.backoff_max_ns)
        cap = c->o.backoff_max_ns;
    delay = (int64_t)(rng_next(c) % (uint64_t)(cap + 1));
    if (hint > delay)
        delay = hint;
    if (now + delay > r->deadline) {
        size_t n = strlen(err.msg);

        snprintf(err.msg + n, sizeof(err.msg) - n,
                 " (gave up after %d attempts: retry budget spent)",
                 r->attempts);
        complete(c, r, rc, &err);
        return;
    }
    m->retries++;
    if (dl_log_enabled(DL_LOG_DEBUG))
        dl_debug("gcp: retrying %s in %.0f ms: %s", r->what,
                 (double)delay / 1e6, err.msg);
    r->not_before = now + delay;
    r->state = Q_QUEUED;
    list_push(&c->queued, r);
}

static void on_xfer_done(struct dl_http_xfer *x)
{
    struct req *r = x->ud;
    struct dl_gcp_client *c = r->c;

    list_remove(&c->inflight, r);
    r->state = Q_COMPLETED;
    list_push(&c->completed, r);
}

static int on_xfer_data(struct dl_http_xfer *x, const char *data, size_t len)
{
    struct req *r = x->ud;
    int rc;

    r->streamed = 1;
    r->c->in_stream++;
    rc = r->on_data(r->ud, data, len);
    r->c->in_stream--;
    return rc;
}

/* ---- dispatch ---- */

static int start(struct dl_gcp_client *c, struct req *r)
{
    struct dl_http_xfer *x = &r->x;
    struct dl_err err;
    int h = 0;
    int64_t now = now_ns(c);

    dl_http_xfer_reset_response(x);
    memset(x->headers, 0, sizeof(x->headers));
    free(r->auth_header);
    r->auth_header = NULL;
    if (needs_token(c, r))
        r->auth_header = dl_asprintf("Authorization: Bearer %s", c->token);
    else if (r->api == DL_GCP_FIRESTORE && c->ep.firestore_emulator &&
             !r->internal && !(r->flags & DL_GCP_NO_AUTH))
        r->auth_header = dl_strdup("Authorization: Bearer owner");
    if (r->auth_header)
        x->headers[h++] = r->auth_header;
    if (r->auth_header && c->quota_header && needs_token(c, r))
        x->headers[h++] = c->quota_header;
    if (r->ctype_header)
        x->headers[h++] = r->ctype_header;
    for (int i = 0; i < 4 && r->extra[i]; i++)
        x->headers[h++] = r->extra[i];
    x->method = r->method;
    x->url = r->url;
    x->body = r->body;
    x->body_len = r->body_len;
    x->http2 = (r->flags & DL_GCP_HTTP2) != 0;
    x->timeout_ns = c->o.attempt_timeout_ns;
    x->stall_timeout_ns = 0;
    if (r->on_data) {
        /* A stream (a runQuery of 100,000+ documents) may take longer than
         * any fixed limit while bytes flow: it is bounded by the request's
         * budget, and an attempt fails when nothing arrives for the
         * attempt timeout. */
        x->stall_timeout_ns = c->o.attempt_timeout_ns;
        x->timeout_ns = r->deadline - now;
    }
    if (x->timeout_ns > r->deadline - now)
        x->timeout_ns =
            r->deadline - now > DL_NS_PER_MS ? r->deadline - now : DL_NS_PER_MS;
    x->connect_timeout_ns = r->api == DL_GCP_METADATA ? 2 * DL_NS_PER_SEC : 0;
    x->on_data = r->on_data ? on_xfer_data : NULL;
    x->on_done = on_xfer_done;
    x->ud = r;
    r->attempts++;
    r->attempt_start = now;
    c->m.api[r->api].attempts++;
    list_remove(&c->queued, r);
    r->state = Q_INFLIGHT;
    list_push(&c->inflight, r);
    c->inflight_api[r->api]++;
    if (c->t->ops->start(c->t, x, &err) < 0) {
        c->inflight_api[r->api]--;
        defer_fail(c, r, err.code, &err);
        return -1;
    }
    return 0;
}

/* Send what may be sent; returns the next time something becomes ready
 * (INT64_MAX when nothing waits on time). */
static int64_t dispatch(struct dl_gcp_client *c)
{
    int64_t now = now_ns(c), wake = INT64_MAX;
    struct req *r = c->queued.head, *next;
    int throttled[DL_GCP_API_COUNT] = {0};

    for (; r; r = next) {
        next = r->next;
        if (r->not_before > now) {
            if (r->not_before < wake)
                wake = r->not_before;
            continue;
        }
        if (now >= r->deadline) {
            struct dl_err err;

            dl_err_set(&err, DL_ETRANSIENT,
                       "%s: time budget spent before it could be sent",
                       r->what);
            defer_fail(c, r, DL_ETRANSIENT, &err);
            continue;
        }
        if (!r->internal) {
            int64_t wait;

            if (needs_token(c, r)) {
                int usable = c->token && now < c->token_expires;

                if ((!c->token || now >= c->token_refresh_at) &&
                    !c->refreshing) {
                    struct dl_err aerr;

                    c->refreshing = 1;
                    if (dl_gcp__auth_refresh(c, &aerr) < 0) {
                        r->wants_token = 1;
                        dl_gcp__token_fail(c, &aerr);
                        next = c->queued.head; /* r and others are gone */
                        continue;
                    }
                    next = r->next; /* the list may have grown */
                    usable = c->token && now < c->token_expires;
                }
                if (!usable) {
                    r->wants_token = 1;
                    continue;
                }
            }
            if (c->inflight_api[r->api] >= c->o.max_inflight ||
                throttled[r->api])
                continue;
            wait = bucket_take(&c->bucket[r->api], now);
            if (wait > 0) {
                throttled[r->api] = 1;
                c->m.api[r->api].throttled++;
                if (now + wait < wake)
                    wake = now + wait;
                continue;
            }
        }
        start(c, r);
    }
    return wake;
}

static void run_completed(struct dl_gcp_client *c)
{
    while (c->completed.head) {
        struct req *r = c->completed.head;

        list_remove(&c->completed, r);
        r->state = Q_DETACHED; /* attempt_done re-queues or completes it */
        if (r->fail_rc)
            complete(c, r, r->fail_rc, r->fail_err);
        else
            attempt_done(c, r);
    }
}

/*
 * Drive the loop until *flag is set (flag NULL: until nothing is left).
 * 0, or DL_ERROR when nothing is left but *flag is still unset.
 */
int dl_gcp__run_until(struct dl_gcp_client *c, const int *flag)
{
    for (;;) {
        int64_t wake, now, timeout;

        run_completed(c);
        if (flag && *flag)
            return 0;
        if (dl_gcp_client_pending(c) == 0)
            return flag ? DL_ERROR : 0;
        wake = dispatch(c);
        if (c->completed.n)
            continue; /* a start failed: its callback runs first */
        if (c->queued.n + c->inflight.n == 0)
            continue;
        now = now_ns(c);
        if (c->inflight.n == 0 && wake == INT64_MAX) {
            /* Only requests waiting for a token nobody fetches: fail them
             * rather than spin. */
            struct dl_err err;

            dl_err_set(&err, DL_EAUTH, "no access token available");
            dl_gcp__token_fail(c, &err);
            if (c->queued.n && c->completed.n == 0)
                return DL_ERROR;
            continue;
        }
        timeout = wake == INT64_MAX ? DL_NS_PER_SEC : wake - now;
        if (timeout < 0)
            timeout = 0;
        if (c->inflight.n == 0 && timeout == 0)
            continue;
        c->t->ops->poll(c->t, timeout);
    }
}

int dl_gcp_client_run(struct dl_gcp_client *c, struct dl_err *err)
{
    (void)dl_gcp__run_until(c, NULL);
    if (c->cancelled) {
        c->cancelled = 0;
        return dl_err_set(err, DL_ECANCELLED, "gcp requests cancelled");
    }
    return 0;
}

void dl_gcp_client_cancel(struct dl_gcp_client *c)
{
    struct dl_err err;

    c->cancelled = 1;
    dl_err_set(&err, DL_ECANCELLED, "request cancelled");
    while (c->inflight.head) {
        struct req *r = c->inflight.head;

        c->t->ops->abort(c->t, &r->x);
        c->inflight_api[r->api]--;
        complete(c, r, DL_ECANCELLED, &err);
    }
    while (c->queued.head)
        complete(c, c->queued.head, DL_ECANCELLED, &err);
    while (c->completed.head)
        complete(c, c->completed.head, DL_ECANCELLED, &err);
    c->refreshing = 0;
}

/* ---- synchronous calls ---- */

struct sync_ctx {
    int done;
    int rc;
    json_t *json;
    struct dl_err err;
};

static void sync_done(struct dl_gcp_client *c, int rc,
                      const struct dl_gcp_response *r, const struct dl_err *err,
                      void *ud)
{
    struct sync_ctx *s = ud;

    (void)c;
    s->done = 1;
    s->rc = rc;
    if (rc < 0) {
        dl_err_copy(&s->err, err);
    } else if (r->json) {
        s->json = json_incref(r->json);
    } else {
        s->json = json_stringn(r->body, r->body_len);
        if (!s->json)
            s->json = json_null();
    }
}

int dl_gcp_call_req(struct dl_gcp_client *c, const struct dl_gcp_request *req,
                    json_t **out, struct dl_err *err)
{
    struct dl_gcp_request q = *req;
    struct sync_ctx s;
    int rc;

    if (out)
        *out = NULL;
    if (c->in_stream)
        return dl_err_set(err, DL_EINVALID,
                          "synchronous gcp call from a streaming callback");
    memset(&s, 0, sizeof(s));
    q.done = sync_done;
    q.ud = &s;
    rc = dl_gcp_submit(c, &q, err);
    if (rc < 0)
        return rc;
    if (dl_gcp__run_until(c, &s.done) < 0 && !s.done)
        return dl_err_set(err, DL_ERROR, "gcp loop stalled");
    if (s.rc < 0) {
        dl_err_copy(err, &s.err);
        return s.rc;
    }
    if (out)
        *out = s.json;
    else
        json_decref(s.json);
    return 0;
}

int dl_gcp_call(struct dl_gcp_client *c, enum dl_gcp_api api,
                const char *method, const char *path, json_t *body,
                json_t **out, struct dl_err *err)
{
    struct dl_gcp_request q;

    memset(&q, 0, sizeof(q));
    q.api = api;
    q.method = method;
    q.path = path;
    q.body = body;
    return dl_gcp_call_req(c, &q, out, err);
}

char *dl_gcp_urlencode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);

    (void)dl_buf_puts(&b, "");
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;

        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
            (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' ||
            ch == '~') {
            (void)dl_buf_putc(&b, (char)ch);
        } else {
            char enc[3] = {'%', hex[ch >> 4], hex[ch & 15]};

            (void)dl_buf_put(&b, enc, 3);
        }
    }
    return dl_buf_take(&b);
}
