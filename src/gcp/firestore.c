#include "gcp/firestore.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gcp/error.h"
#include "gcp/firestore_grpc.h"
#include "gcp/gcp_int.h"
#include "gcp/json_stream.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/time.h"

/* ---- runQuery elements ---- */

/*
 * A cursor over one element's bytes. The element is a JSON object whose
 * shape Firestore fixes ({"document": {"name", "fields", "createTime",
 * "updateTime"}, "readTime", ...}); reading it with jansson builds a tree
 * of every key and costs ~60 instructions a byte, most of a listing's
 * CPU. This reads the keys it needs in place and hands only "fields" (and
 * strings with escapes) to jansson; anything it does not expect makes the
 * caller fall back to jansson for the whole element.
 */
struct cur {
    const char *p, *end;
};

static void cur_ws(struct cur *c)
{
    while (c->p < c->end &&
           (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t'))
        c->p++;
}

static int cur_eat(struct cur *c, char ch)
{
    cur_ws(c);
    if (c->p >= c->end || *c->p != ch)
        return -1;
    c->p++;
    return 0;
}

/* A string: [*s, *s + *n) is its raw content (without quotes); *esc when
 * it holds a backslash. */
static int cur_string(struct cur *c, const char **s, size_t *n, int *esc)
{
    const char *q;

    if (cur_eat(c, '"') < 0)
        return -1;
    *esc = 0;
    for (q = c->p; q < c->end && *q != '"'; q++) {
        if ((unsigned char)*q < 0x20)
            return -1;
        if (*q == '\\') {
            *esc = 1;
            if (++q >= c->end)
                return -1;
        }
    }
    if (q >= c->end)
        return -1;
    *s = c->p;
    *n = (size_t)(q - c->p);
    c->p = q + 1;
    return 0;
}

/* Skip one value of any type (checked by jansson later only when used). */
static int cur_skip(struct cur *c)
{
    const char *s;
    size_t n;
    int esc, depth = 0;

    cur_ws(c);
    if (c->p >= c->end)
        return -1;
    if (*c->p == '"')
        return cur_string(c, &s, &n, &esc);
    if (*c->p != '{' && *c->p != '[') {
        /* number, true, false, null */
        const char *b = c->p;

        while (c->p < c->end && *c->p &&
               strchr("0123456789+-.eEtruefalsn", *c->p))
            c->p++;
        return c->p > b ? 0 : -1;
    }
    for (; c->p < c->end; c->p++) {
        char ch = *c->p;

        if (ch == '"') {
            if (cur_string(c, &s, &n, &esc) < 0)
                return -1;
            c->p--;
        } else if (ch == '{' || ch == '[') {
            depth++;
        } else if (ch == '}' || ch == ']') {
            if (--depth == 0) {
                c->p++;
                return 0;
            }
        }
    }
    return -1;
}

/* A JSON string from raw string content; NULL when not valid UTF-8 or a
 * bad escape. */
static json_t *string_of(const char *s, size_t n, int esc)
{
    if (!esc) {
        /* ASCII (names, times) needs no UTF-8 check. */
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)s[i] >= 0x80)
                return json_stringn(s, n);
        return json_stringn_nocheck(s, n);
    }
    /* Rare: let jansson decode the escapes (\uXXXX, surrogates). */
    return json_loadb(s - 1, n + 2, JSON_DECODE_ANY, NULL);
}

/* The JSON value at c built with jansson's constructors (a json_loadb
 * call costs ~13,000 instructions before its first byte, more than a
 * document's "fields"); NULL when it is not one this reads (the caller
 * then falls back to json_loadb, which gives the error). */
static json_t *cur_value(struct cur *c, int depth)
{
    const char *s;
    size_t n;
    int esc;
    json_t *v;

    cur_ws(c);
    if (c->p >= c->end || depth > 64)
        return NULL;
    if (*c->p == '"') {
        if (cur_string(c, &s, &n, &esc) < 0)
            return NULL;
        return string_of(s, n, esc);
    }
    if (*c->p == '{' || *c->p == '[') {
        int obj = *c->p == '{';

        c->p++;
        v = obj ? json_object() : json_array();
        cur_ws(c);
        if (c->p < c->end && *c->p == (obj ? '}' : ']')) {
            c->p++;
            return v;
        }
        for (;;) {
            json_t *item;

            if (obj) {
                if (cur_string(c, &s, &n, &esc) < 0 || esc ||
                    cur_eat(c, ':') < 0)
                    break;
            }
            item = cur_value(c, depth + 1);
            if (!item)
                break;
            if (obj ? json_object_setn_new(v, s, n, item)
                    : json_array_append_new(v, item))
                break;
            cur_ws(c);
            if (c->p < c->end && *c->p == ',') {
                c->p++;
                cur_ws(c);
                continue;
            }
            if (c->p < c->end && *c->p == (obj ? '}' : ']')) {
                c->p++;
                return v;
            }
            break;
        }
        json_decref(v);
        return NULL;
    }
    if (c->end - c->p >= 4 && !memcmp(c->p, "true", 4)) {
        c->p += 4;
        return json_true();
    }
    if (c->end - c->p >= 5 && !memcmp(c->p, "false", 5)) {
        c->p += 5;
        return json_false();
    }
    if (c->end - c->p >= 4 && !memcmp(c->p, "null", 4)) {
        c->p += 4;
        return json_null();
    }
    {
        /* A number: Firestore sends integers as strings, so these are
         * rare; a bounded copy keeps strto* inside the element. */
        char num[64], *end;
        size_t len = 0;
        int real = 0;

        while (c->p + len < c->end && len < sizeof(num) - 1 &&
               strchr("0123456789+-.eE", c->p[len]) && c->p[len]) {
            real |= c->p[len] == '.' || c->p[len] == 'e' || c->p[len] == 'E';
            len++;
        }
        if (len == 0 || len == sizeof(num) - 1)
            return NULL;
        memcpy(num, c->p, len);
        num[len] = '\0';
        errno = 0;
        if (real) {
            double d = strtod(num, &end);

            v = *end || errno ? NULL : json_real(d);
        } else {
            long long ll = strtoll(num, &end, 10);

            v = *end || errno ? NULL : json_integer((json_int_t)ll);
        }
        if (v)
            c->p += len;
        return v;
    }
}

static int key_is(const char *k, size_t n, const char *want)
{
    return strlen(want) == n && memcmp(k, want, n) == 0;
}

/* The "document" object: name, createTime, updateTime, fields. */
static int read_document(struct cur *c, json_t *doc)
{
    if (cur_eat(c, '{') < 0)
        return -1;
    cur_ws(c);
    if (c->p < c->end && *c->p == '}') {
        c->p++;
        return 0;
    }
    for (;;) {
        const char *k, *v;
        size_t kn, vn;
        int kesc, vesc;

        if (cur_string(c, &k, &kn, &kesc) < 0 || kesc || cur_eat(c, ':') < 0)
            return -1;
        cur_ws(c);
        if (key_is(k, kn, "name") || key_is(k, kn, "updateTime") ||
            key_is(k, kn, "createTime")) {
            json_t *sv;

            if (cur_string(c, &v, &vn, &vesc) < 0)
                return -1;
            sv = string_of(v, vn, vesc);
            if (!json_is_string(sv)) {
                json_decref(sv);
                return -1;
            }
            json_object_set_new_nocheck(doc,
                                        kn == 4     ? "name"
                                        : *k == 'u' ? "updateTime"
                                                    : "createTime",
                                        sv);
        } else if (key_is(k, kn, "fields")) {
            json_t *fv = cur_value(c, 0);

            if (!json_is_object(fv)) {
                json_decref(fv);
                return -1;
            }
            json_object_set_new_nocheck(doc, "fields", fv);
        } else if (cur_skip(c) < 0) {
            return -1;
        }
        cur_ws(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        return cur_eat(c, '}');
    }
}

/* The fast path; -1 when the element is not in the shape it expects. */
static int element_fast(struct dl_firestore_element *el, const char *p,
                        size_t len)
{
    struct cur c = {p, p + len};

    if (cur_eat(&c, '{') < 0)
        return -1;
    cur_ws(&c);
    if (c.p < c.end && *c.p == '}')
        return 0;
    for (;;) {
        const char *k;
        size_t kn;
        int kesc;

        if (cur_string(&c, &k, &kn, &kesc) < 0 || kesc || cur_eat(&c, ':') < 0)
            return -1;
        cur_ws(&c);
        if (key_is(k, kn, "document")) {
            if (el->document)
                return -1;
            el->document = json_object();
            if (read_document(&c, el->document) < 0)
                return -1;
        } else if (key_is(k, kn, "error")) {
            const char *b = c.p;

            if (cur_skip(&c) < 0 || el->error)
                return -1;
            el->error = json_loadb(b, (size_t)(c.p - b), 0, NULL);
            if (!el->error)
                return -1;
        } else if (key_is(k, kn, "done")) {
            if (c.end - c.p >= 4 && memcmp(c.p, "true", 4) == 0)
                el->done = 1;
            if (cur_skip(&c) < 0)
                return -1;
        } else if (cur_skip(&c) < 0) {
            return -1;
        }
        cur_ws(&c);
        if (c.p < c.end && *c.p == ',') {
            c.p++;
            continue;
        }
        if (cur_eat(&c, '}') < 0)
            return -1;
        cur_ws(&c);
        return c.p == c.end ? 0 : -1;
    }
}

void dl_firestore_element_dispose(struct dl_firestore_element *el)
{
    json_decref(el->document);
    json_decref(el->error);
    memset(el, 0, sizeof(*el));
}

int dl_firestore_element_parse(struct dl_firestore_element *el, const char *p,
                               size_t len, struct dl_err *err)
{
    json_error_t je;
    json_t *v;

    memset(el, 0, sizeof(*el));
    if (element_fast(el, p, len) == 0)
        return 0;
    /* Not the usual shape (or not valid): jansson decides. */
    dl_firestore_element_dispose(el);
    v = json_loadb(p, len, JSON_DECODE_ANY, &je);
    if (!v)
        return dl_err_set(err, DL_EINVALID,
                          "runQuery element is not valid JSON: %s", je.text);
    if (json_is_object(json_object_get(v, "document")))
        el->document = json_incref(json_object_get(v, "document"));
    if (json_is_object(json_object_get(v, "error")))
        el->error = json_incref(json_object_get(v, "error"));
    el->done = json_is_true(json_object_get(v, "done"));
    json_decref(v);
    return 0;
}

/* ---- runQuery ---- */

struct query {
    struct dl_gcp_client *c;
    char *path;  /* /v1/PARENT:runQuery */
    json_t *sq;  /* the structured query (own copy) */
    int ordered; /* ordered by __name__ only: a cut stream can resume */
    struct dl_json_splitter sp;
    struct dl_err err; /* from the stream (element errors) */
    dl_firestore_doc_fn fn;
    dl_gcp_op_fn done;
    void *ud;
    size_t ndocs;
    int stopped; /* fn asked to stop */
    int saw_done;
    int resumes;        /* runQuery requests sent again after a cut */
    size_t ndocs_sent;  /* ndocs when the current request was sent */
    struct dl_buf last; /* the name of the last document delivered */
    char *parent;
    enum dl_firestore_protocol proto; /* asked for */
    int grpc;                         /* this request goes over gRPC */
    int grpc_code;                    /* its grpc-status; -1 when it had none */
    struct dl_grpc_framer fr;
};

#define STOP_CODE DL_ECANCELLED

/* Deliver one element (REST or gRPC); disposes el. */
static int deliver(struct query *q, struct dl_firestore_element *el_)
{
    struct dl_firestore_element el = *el_;
    json_t *e;
    int rc = 0;

    e = el.error;
    if (el.done)
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
        rc = q->err.code < 0 ? q->err.code : DL_ERROR;
    } else if (el.document) {
        const char *name =
            json_string_value(json_object_get(el.document, "name"));

        dl_buf_reset(&q->last);
        if (name)
            (void)dl_buf_puts(&q->last, name);
        q->ndocs++;
        if (q->fn(q->ud, el.document) != 0) {
            q->stopped = 1;
            rc = STOP_CODE;
        }
    }
    dl_firestore_element_dispose(&el);
    return rc;
}

static int on_element(void *ud, const char *p, size_t len)
{
    struct query *q = ud;
    struct dl_firestore_element el;

    if (dl_firestore_element_parse(&el, p, len, &q->err) < 0)
        return q->err.code;
    return deliver(q, &el);
}

static int on_grpc_message(void *ud, const uint8_t *p, size_t len)
{
    struct query *q = ud;
    struct dl_firestore_element el;

    if (dl_firestore_grpc_decode_response(&el, p, len, &q->err) < 0) {
        dl_firestore_element_dispose(&el);
        return q->err.code;
    }
    return deliver(q, &el);
}

static int on_query_data(void *ud, const char *data, size_t len)
{
    struct query *q = ud;

    if (q->grpc)
        return dl_grpc_framer_feed(&q->fr, data, len, &q->err);
    return dl_json_splitter_feed(&q->sp, data, len, &q->err);
}

/* Reset the stream readers for a new request. */
static void query_readers_init(struct query *q)
{
    dl_json_splitter_init_raw(&q->sp, DL_FIRESTORE_MAX_ELEMENT, on_element, q);
    dl_grpc_framer_init(&q->fr, DL_FIRESTORE_MAX_ELEMENT, on_grpc_message, q);
}

static void query_readers_dispose(struct query *q)
{
    dl_json_splitter_dispose(&q->sp);
    dl_grpc_framer_dispose(&q->fr);
}

static void query_free(struct query *q)
{
    query_readers_dispose(q);
    free(q->parent);
    dl_buf_dispose(&q->last);
    json_decref(q->sq);
    free(q->path);
    free(q);
}

static int query_send(struct query *q, int64_t delay_ns, struct dl_err *err);
static void on_query_done(struct dl_gcp_client *c, int rc,
                          const struct dl_gcp_response *r,
                          const struct dl_err *err, void *ud);

/* ---- runQuery over gRPC (firestore_grpc.h) ---- */

int dl_firestore_protocol_parse(const char *s, enum dl_firestore_protocol *out,
                                struct dl_err *err)
{
    if (!s || !*s || !strcmp(s, "auto"))
        *out = DL_FIRESTORE_AUTO;
    else if (!strcmp(s, "grpc"))
        *out = DL_FIRESTORE_GRPC;
    else if (!strcmp(s, "rest"))
        *out = DL_FIRESTORE_REST;
    else
        return dl_err_set(err, DL_EINVALID,
                          "DRIFTLESS_FIRESTORE_PROTOCOL: '%s' is not auto, "
                          "grpc or rest",
                          s);
    return 0;
}

static int query_send_grpc(struct query *q, int64_t delay_ns,
                           struct dl_err *err)
{
    struct dl_gcp_request req;
    struct dl_buf body = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_buf params = DL_BUF_INIT(DL_BUF_NOCAP);
    const char *d = strstr(q->parent, "/documents");
    size_t dblen = d ? (size_t)(d - q->parent) : strlen(q->parent);
    char *prefix = NULL;
    int rc;

    rc = dl_firestore_grpc_encode_query(&body, q->parent, q->sq, err);
    if (rc < 0)
        goto done;
    /* Routing headers, as Google's client libraries send them. */
    prefix = dl_asprintf("google-cloud-resource-prefix: %.*s", (int)dblen,
                         q->parent);
    (void)dl_buf_puts(&params, "x-goog-request-params: database=");
    for (size_t i = 0; i < dblen; i++)
        (void)(q->parent[i] == '/' ? dl_buf_puts(&params, "%2F")
                                   : dl_buf_putc(&params, q->parent[i]));
    q->ndocs_sent = q->ndocs;
    memset(&req, 0, sizeof(req));
    req.api = DL_GCP_FIRESTORE;
    req.method = "POST";
    req.path = DL_FIRESTORE_GRPC_RUN_QUERY;
    req.raw_body = body.ptr;
    req.raw_body_len = body.len;
    req.content_type = "application/grpc";
    req.headers[0] = "TE: trailers";
    req.headers[1] = prefix;
    req.headers[2] = dl_buf_cstr(&params);
    /* In auto mode a failure before the first document falls back to REST
     * at once (which has the client's retries): retrying a server that does
     * not speak gRPC (an HTTP/1.1 proxy) would only add backoff. */
    req.retry =
        q->proto == DL_FIRESTORE_AUTO ? DL_GCP_RETRY_NEVER : DL_GCP_RETRY_READ;
    req.flags = DL_GCP_RAW | DL_GCP_HTTP2;
    req.deadline_ns = DL_FIRESTORE_QUERY_BUDGET_NS;
    req.delay_ns = delay_ns;
    req.on_data = on_query_data;
    req.done = on_query_done;
    req.ud = q;
    rc = dl_gcp_submit(q->c, &req, err);
done:
    free(prefix);
    dl_buf_dispose(&params);
    dl_buf_dispose(&body);
    return rc;
}

/*
 * The outcome of a gRPC exchange the client ended with rc: a gRPC answer
 * is an HTTP 200 whose status is grpc-status (trailers, or the headers of
 * a trailers-only answer). Sets q->grpc_code (-1: the server did not
 * answer in gRPC) and *err to q->err when it describes the failure.
 */
static int grpc_outcome(struct query *q, int rc,
                        const struct dl_gcp_response *r,
                        const struct dl_err **err)
{
    char ctype[64] = "", msg[256];
    int code = 0;

    q->grpc_code = -1;
    if (rc < 0) {
        if (q->err.code < 0)
            *err = &q->err;
        return rc;
    }
    if (!dl_http_xfer_header(r->xfer, "content-type", ctype, sizeof(ctype)) ||
        strncmp(ctype, "application/grpc", 16) != 0) {
        rc = dl_err_set(&q->err, DL_EINVALID,
                        "runQuery over gRPC: HTTP %d answer of type '%s'",
                        r->http_status, ctype);
    } else if (!dl_grpc_status(r->xfer, &code, msg, sizeof(msg))) {
        rc = dl_err_set(&q->err, DL_ETRANSIENT,
                        "runQuery over gRPC: the answer ended without "
                        "grpc-status after %zu documents",
                        q->ndocs);
    } else if (code != 0) {
        const char *name = dl_gcp_rpc_code_name(code);

        q->grpc_code = code;
        rc = dl_gcp_status_to_code(name, dl_gcp_rpc_code_http(code));
        dl_err_set(&q->err, rc < 0 ? rc : DL_ERROR,
                   "runQuery over gRPC: %s%s%s (after %zu documents)",
                   name ? name : "UNKNOWN", msg[0] ? ": " : "", msg, q->ndocs);
        snprintf(q->err.google_status, sizeof(q->err.google_status), "%s",
                 name ? name : "UNKNOWN");
        q->err.http_status = dl_gcp_rpc_code_http(code);
        rc = q->err.code;
    } else {
        q->grpc_code = 0;
        rc = dl_grpc_framer_finish(&q->fr, &q->err);
    }
    if (rc < 0)
        *err = &q->err;
    return rc;
}

/* In auto mode, send q over REST when its gRPC listing failed before its
 * first document for a reason REST may not share: no gRPC answer at all
 * (HTTP/2 not spoken, an HTTP error such as 404 or 415, another content
 * type, a transport failure), UNIMPLEMENTED, or a transient status (REST
 * requests get the client's retries). 0 when sent. */
static int query_fallback(struct query *q, int rc, const struct dl_err *why)
{
    struct dl_err e;

    if (q->proto != DL_FIRESTORE_AUTO || q->ndocs > 0 || q->stopped ||
        (q->grpc_code < 0 && rc == DL_ECANCELLED) ||
        (q->grpc_code >= 0 && q->grpc_code != 12 && rc != DL_ETRANSIENT))
        return -1;
    dl_info("runQuery: the gRPC listing failed (%s); listing over REST",
            why ? why->msg : "");
    q->grpc = 0;
    query_readers_dispose(q);
    query_readers_init(q);
    dl_err_clear(&q->err);
    return query_send(q, 0, &e) < 0 ? -1 : 0;
}

/* Send q again after a cut stream, from after the last document delivered
 * (the same order, each document once). 0 when sent. */
static int query_resume(struct query *q, const struct dl_err *why)
{
    struct dl_err e;

    /* Only a stream that made progress: a query failing from its start
     * has had the client's own retries already. */
    if (!q->ordered || q->ndocs == q->ndocs_sent ||
        q->resumes >= DL_FIRESTORE_MAX_RESUMES)
        return -1;
    q->resumes++;
    dl_info("runQuery: stream cut after %zu documents (%s); resuming%s%s "
            "(%d of %d)",
            q->ndocs, why ? why->msg : "", q->last.len ? " after " : "",
            q->last.len ? dl_buf_cstr(&q->last) : "", q->resumes,
            DL_FIRESTORE_MAX_RESUMES);
    if (q->last.len)
        json_object_set_new(q->sq, "startAt",
                            json_pack("{s:[{s:s}],s:b}", "values",
                                      "referenceValue", dl_buf_cstr(&q->last),
                                      "before", 0));
    query_readers_dispose(q);
    query_readers_init(q);
    dl_err_clear(&q->err);
    /* 0.25 s, 0.5 s, 1 s, ... */
    return query_send(q, (DL_NS_PER_SEC / 4) << (q->resumes - 1), &e) < 0 ? -1
                                                                          : 0;
}

static void on_query_done(struct dl_gcp_client *c, int rc,
                          const struct dl_gcp_response *r,
                          const struct dl_err *err, void *ud)
{
    struct query *q = ud;
    json_t *n;

    if (q->grpc && !q->stopped)
        rc = grpc_outcome(q, rc, r, &err);
    if (q->grpc && rc < 0 && query_fallback(q, rc, err) == 0)
        return;
    if (q->stopped) {
        rc = 0;
    } else if (q->grpc) {
        /* grpc_outcome said it all */
    } else if (rc < 0) {
        /* A stream error of our own says more than "aborted by callback". */
        if (q->err.code < 0)
            err = &q->err;
    } else if (dl_json_splitter_finish(&q->sp, &q->err) < 0) {
        rc = q->err.code;
        dl_err_prefix(&q->err, "runQuery");
        err = &q->err;
    }
    /* A cut (reset, stall, an array without its ']', UNAVAILABLE in the
     * stream) is never a complete listing: resume it, or fail. */
    if (rc == DL_ETRANSIENT && query_resume(q, err) == 0)
        return;
    n = json_integer((json_int_t)q->ndocs);
    q->done(c, rc, rc < 0 ? NULL : n, rc < 0 ? err : NULL, q->ud);
    json_decref(n);
    query_free(q);
}

static int query_send(struct query *q, int64_t delay_ns, struct dl_err *err)
{
    struct dl_gcp_request req;
    json_t *body;
    int rc;

    if (q->grpc)
        return query_send_grpc(q, delay_ns, err);
    body = json_pack("{s:O}", "structuredQuery", q->sq);

    q->ndocs_sent = q->ndocs;
    memset(&req, 0, sizeof(req));
    req.api = DL_GCP_FIRESTORE;
    req.method = "POST";
    req.path = q->path;
    req.body = body;
    req.retry = DL_GCP_RETRY_READ;
    req.deadline_ns = DL_FIRESTORE_QUERY_BUDGET_NS;
    req.delay_ns = delay_ns;
    req.on_data = on_query_data;
    req.done = on_query_done;
    req.ud = q;
    rc = dl_gcp_submit(q->c, &req, err);
    json_decref(body);
    return rc;
}

/* Ordered by __name__ alone, without a cursor, limit or offset of its
 * own: a cursor after the last name delivered continues it exactly. */
static int resumable(json_t *sq)
{
    json_t *ob = json_object_get(sq, "orderBy");
    json_t *o = json_array_get(ob, 0);
    const char *f = json_string_value(
        json_object_get(json_object_get(o, "field"), "fieldPath"));
    const char *dir = json_string_value(json_object_get(o, "direction"));

    return json_array_size(ob) == 1 && f && !strcmp(f, "__name__") &&
           (!dir || !strcmp(dir, "ASCENDING")) &&
           !json_object_get(sq, "startAt") && !json_object_get(sq, "endAt") &&
           !json_object_get(sq, "limit") && !json_object_get(sq, "offset");
}

int dl_firestore_run_query_submit(struct dl_gcp_client *c, const char *parent,
                                  json_t *structured_query,
                                  dl_firestore_doc_fn fn, dl_gcp_op_fn done,
                                  void *ud, struct dl_err *err)
{
    struct query *q;
    enum dl_firestore_protocol proto;
    int rc;

    if (dl_firestore_protocol_parse(getenv("DRIFTLESS_FIRESTORE_PROTOCOL"),
                                    &proto, err) < 0)
        return DL_EINVALID;
    q = dl_calloc(1, sizeof(*q));
    q->proto = proto;
    q->c = c;
    q->path = dl_asprintf("/v1/%s:runQuery", parent);
    q->sq = json_deep_copy(structured_query);
    if (!q->sq)
        q->sq = json_object();
    q->ordered = resumable(q->sq);
    q->parent = dl_strdup(parent);
    q->grpc = q->proto != DL_FIRESTORE_REST;
    dl_buf_init(&q->last, DL_BUF_NOCAP);
    query_readers_init(q);
    q->fn = fn;
    q->done = done;
    q->ud = ud;
    rc = query_send(q, 0, err);
    if (rc == DL_EINVALID && q->grpc && q->proto == DL_FIRESTORE_AUTO) {
        /* a query the gRPC encoder does not know: REST */
        q->grpc = 0;
        dl_err_clear(err);
        rc = query_send(q, 0, err);
    }
    if (rc < 0)
        query_free(q);
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
