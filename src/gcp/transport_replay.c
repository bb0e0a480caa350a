/*
 * transport_replay.c - a transport that answers from response files.
 *
 * Time is virtual: poll() advances the clock to the next answer instead of
 * sleeping, so tests of backoff and Retry-After run instantly and
 * deterministically.
 */
#include "gcp/http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/alloc.h"
#include "util/time.h"

enum fail_kind { FAIL_NONE = 0, FAIL_CONNECT, FAIL_TIMEOUT, FAIL_RESET };

struct rule {
    char *method, *pattern;
    int used;
    int status;
    enum fail_kind fail;
    char *head; /* header lines without the X-Replay-* ones */
    char *body;
    size_t body_len;
    long truncate; /* -1: none */
    int64_t delay_ns;
};

struct pending {
    struct dl_http_xfer *x;
    long ri; /* index into rules; -1: no rule matched */
    int64_t due;
};

struct replay {
    struct dl_http_transport base;
    int64_t now;
    size_t chunk;
    struct rule *rules;
    size_t nrules;
    struct pending *pend;
    size_t npend;
    struct dl_http_replay_req *reqs;
    size_t nreqs;
    int max_inflight;
};

static void free_rule(struct rule *r)
{
    free(r->method);
    free(r->pattern);
    free(r->head);
    free(r->body);
}

static int parse_response(struct rule *r, const char *text, size_t len,
                          struct dl_err *err)
{
    const char *p = text, *end = text + len;
    struct dl_buf head = DL_BUF_INIT(DL_BUF_NOCAP);
    const char *eol;

    r->truncate = -1;
    eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol)
        eol = end;
    if (strncmp(p, "FAIL ", 5) == 0) {
        if (strncmp(p + 5, "connect", 7) == 0)
            r->fail = FAIL_CONNECT;
        else if (strncmp(p + 5, "timeout", 7) == 0)
            r->fail = FAIL_TIMEOUT;
        else
            r->fail = FAIL_RESET;
    } else if (sscanf(p, "HTTP/%*s %d", &r->status) != 1 || r->status < 100) {
        return dl_err_set(err, DL_EINVALID,
                          "replay response does not start with a status "
                          "line or FAIL");
    }
    p = eol < end ? eol + 1 : end;
    while (p < end) {
        size_t n;

        eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        n = (size_t)(eol - p);
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (n == 0) {
            p = eol < end ? eol + 1 : end;
            break;
        }
        if (strncasecmp(p, "X-Replay-Delay-Ms:", 18) == 0)
            r->delay_ns = strtoll(p + 18, NULL, 10) * DL_NS_PER_MS;
        else if (strncasecmp(p, "X-Replay-Truncate:", 18) == 0)
            r->truncate = strtol(p + 18, NULL, 10);
        else {
            (void)dl_buf_put(&head, p, n);
            (void)dl_buf_puts(&head, "\r\n");
        }
        p = eol < end ? eol + 1 : end;
    }
    r->head = dl_buf_take(&head);
    r->body_len = (size_t)(end - p);
    r->body = dl_malloc(r->body_len + 1);
    memcpy(r->body, p, r->body_len);
    r->body[r->body_len] = '\0';
    return 0;
}

int dl_http_replay_add_text(struct dl_http_transport *t, const char *method,
                            const char *pattern, const char *text, size_t len,
                            struct dl_err *err)
{
    struct replay *rp = (struct replay *)t;
    struct rule r;

    memset(&r, 0, sizeof(r));
    if (parse_response(&r, text, len, err) < 0) {
        free_rule(&r);
        return DL_EINVALID;
    }
    r.method = dl_strdup(method);
    r.pattern = dl_strdup(pattern);
    rp->rules = dl_reallocarray(rp->rules, rp->nrules + 1, sizeof(r));
    rp->rules[rp->nrules++] = r;
    return 0;
}

int dl_http_replay_add(struct dl_http_transport *t, const char *method,
                       const char *pattern, const char *file,
                       struct dl_err *err)
{
    FILE *f = fopen(file, "rb");
    struct dl_buf b = DL_BUF_INIT(256 * 1024 * 1024);
    char chunk[8192];
    size_t n;
    int rc;

    if (!f)
        return dl_err_set(err, DL_ENOTFOUND, "cannot open '%s': %s", file,
                          strerror(errno));
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        (void)dl_buf_put(&b, chunk, n);
    fclose(f);
    rc = dl_http_replay_add_text(t, method, pattern, dl_buf_cstr(&b), b.len,
                                 err);
    if (rc < 0)
        dl_err_prefix(err, "%s", file);
    dl_buf_dispose(&b);
    return rc;
}

static const char *url_path(const char *url)
{
    const char *p = strstr(url, "://");

    if (!p)
        return url;
    p += 3;
    p += strcspn(p, "/?");
    return *p ? p : "/";
}

static int matches(const struct rule *r, const char *method, const char *url)
{
    const char *path = url_path(url);
    size_t n = strlen(r->pattern);

    if (strcmp(r->method, method) != 0)
        return 0;
    if (n > 0 && r->pattern[n - 1] == '*')
        return strncmp(path, r->pattern, n - 1) == 0;
    return strcmp(path, r->pattern) == 0;
}

/* How long an answer may take to arrive (its body comes at once after
 * its delay, so a stall limit counts like the total one); 0: no limit. */
static int64_t limit_of(const struct dl_http_xfer *x)
{
    int64_t t = x->timeout_ns, st = x->stall_timeout_ns;

    if (st > 0 && (t <= 0 || st < t))
        return st;
    return t > 0 ? t : 0;
}

static int rp_start(struct dl_http_transport *t, struct dl_http_xfer *x,
                    struct dl_err *err)
{
    struct replay *rp = (struct replay *)t;
    struct dl_http_replay_req q;
    struct dl_buf h = DL_BUF_INIT(DL_BUF_NOCAP);
    struct pending pd = {x, -1, rp->now};

    (void)err;
    for (int i = 0; i < DL_HTTP_MAX_HEADERS && x->headers[i]; i++) {
        (void)dl_buf_puts(&h, x->headers[i]);
        (void)dl_buf_putc(&h, '\n');
    }
    q.method = dl_strdup(x->method);
    q.url = dl_strdup(x->url);
    q.headers = dl_buf_take(&h);
    q.body = dl_strndup(x->body ? x->body : "", x->body ? x->body_len : 0);
    q.at_ns = rp->now;
    rp->reqs = dl_reallocarray(rp->reqs, rp->nreqs + 1, sizeof(q));
    rp->reqs[rp->nreqs++] = q;

    for (size_t i = 0; i < rp->nrules; i++) {
        if (!rp->rules[i].used && matches(&rp->rules[i], x->method, x->url)) {
            struct rule *r = &rp->rules[i];

            pd.ri = (long)i;
            r->used = 1;
            pd.due = rp->now + r->delay_ns;
            if (r->fail == FAIL_TIMEOUT ||
                (limit_of(x) > 0 && r->delay_ns > limit_of(x)))
                pd.due = rp->now +
                         (limit_of(x) > 0 ? limit_of(x) : 60 * DL_NS_PER_SEC);
            break;
        }
    }
    rp->pend = dl_reallocarray(rp->pend, rp->npend + 1, sizeof(pd));
    rp->pend[rp->npend++] = pd;
    x->priv = rp;
    if ((int)rp->npend > rp->max_inflight)
        rp->max_inflight = (int)rp->npend;
    return 0;
}

static void deliver(struct replay *rp, struct dl_http_xfer *x,
                    const struct rule *r)
{
    size_t len = r->body_len, off = 0;
    int timed_out = r->fail == FAIL_TIMEOUT ||
                    (limit_of(x) > 0 && r->delay_ns > limit_of(x));

    if (r->fail == FAIL_CONNECT) {
        x->result = DL_ETRANSIENT;
        x->maybe_sent = 0;
        snprintf(x->errmsg, sizeof(x->errmsg), "Couldn't connect to server");
        return;
    }
    x->maybe_sent = 1;
    if (timed_out) {
        x->result = DL_ETRANSIENT;
        snprintf(x->errmsg, sizeof(x->errmsg), "Timeout was reached");
        return;
    }
    if (r->fail == FAIL_RESET) {
        x->result = DL_ETRANSIENT;
        snprintf(x->errmsg, sizeof(x->errmsg),
                 "Connection reset before a response arrived");
        return;
    }
    x->status = r->status;
    (void)dl_buf_puts(&x->head_in, r->head);
    if (r->truncate >= 0 && (size_t)r->truncate < len)
        len = (size_t)r->truncate;
    while (off < len) {
        size_t n = rp->chunk ? rp->chunk : len;
        int rc;

        if (n > len - off)
            n = len - off;
        if (x->on_data && x->status >= 200 && x->status < 300)
            rc = x->on_data(x, r->body + off, n);
        else
            rc = dl_buf_put(&x->body_in, r->body + off, n);
        if (rc < 0) {
            x->result = rc;
            snprintf(x->errmsg, sizeof(x->errmsg), "%s",
                     rc == DL_ELIMIT ? "response body too large"
                                     : "aborted by the body callback");
            return;
        }
        off += n;
    }
    if (len < r->body_len) {
        x->result = DL_ETRANSIENT;
        snprintf(x->errmsg, sizeof(x->errmsg),
                 "transfer closed with %zu bytes remaining to read",
                 r->body_len - len);
    }
}

static int rp_poll(struct dl_http_transport *t, int64_t timeout_ns)
{
    struct replay *rp = (struct replay *)t;
    int64_t limit = rp->now + (timeout_ns > 0 ? timeout_ns : 0);
    int64_t first = INT64_MAX;

    for (size_t i = 0; i < rp->npend; i++)
        if (rp->pend[i].due < first)
            first = rp->pend[i].due;
    if (first > limit) {
        rp->now = limit;
        return (int)rp->npend;
    }
    if (first > rp->now)
        rp->now = first;
    /* Complete everything due; on_done may start new transfers. */
    for (;;) {
        size_t i;
        struct pending pd;

        for (i = 0; i < rp->npend; i++)
            if (rp->pend[i].due <= rp->now)
                break;
        if (i == rp->npend)
            break;
        pd = rp->pend[i];
        memmove(rp->pend + i, rp->pend + i + 1,
                (rp->npend - i - 1) * sizeof(pd));
        rp->npend--;
        pd.x->priv = NULL;
        if (pd.ri < 0) {
            pd.x->result = DL_EINVALID;
            snprintf(pd.x->errmsg, sizeof(pd.x->errmsg),
                     "replay: no response for %s %s", pd.x->method,
                     url_path(pd.x->url));
        } else {
            deliver(rp, pd.x, &rp->rules[pd.ri]);
        }
        pd.x->on_done(pd.x);
    }
    return (int)rp->npend;
}

static void rp_abort(struct dl_http_transport *t, struct dl_http_xfer *x)
{
    struct replay *rp = (struct replay *)t;

    for (size_t i = 0; i < rp->npend; i++) {
        if (rp->pend[i].x == x) {
            memmove(rp->pend + i, rp->pend + i + 1,
                    (rp->npend - i - 1) * sizeof(rp->pend[0]));
            rp->npend--;
            x->priv = NULL;
            return;
        }
    }
}

static int64_t rp_now(struct dl_http_transport *t)
{
    return ((struct replay *)t)->now;
}

static void rp_free(struct dl_http_transport *t)
{
    struct replay *rp = (struct replay *)t;

    for (size_t i = 0; i < rp->nrules; i++)
        free_rule(&rp->rules[i]);
    for (size_t i = 0; i < rp->nreqs; i++) {
        free(rp->reqs[i].method);
        free(rp->reqs[i].url);
        free(rp->reqs[i].headers);
        free(rp->reqs[i].body);
    }
    free(rp->rules);
    free(rp->reqs);
    free(rp->pend);
    free(rp);
}

static const struct dl_http_transport_ops replay_ops = {
    .name = "replay",
    .start = rp_start,
    .poll = rp_poll,
    .abort = rp_abort,
    .now = rp_now,
    .free = rp_free,
};

int dl_http_replay_new(struct dl_http_transport **out)
{
    struct replay *rp = dl_calloc(1, sizeof(*rp));

    rp->base.ops = &replay_ops;
    rp->now = 1000 * DL_NS_PER_SEC; /* not 0: 0 means "unset" elsewhere */
    *out = &rp->base;
    return 0;
}

void dl_http_replay_set_chunk(struct dl_http_transport *t, size_t n)
{
    ((struct replay *)t)->chunk = n;
}

size_t dl_http_replay_unused(const struct dl_http_transport *t)
{
    const struct replay *rp = (const struct replay *)t;
    size_t n = 0;

    for (size_t i = 0; i < rp->nrules; i++)
        n += !rp->rules[i].used;
    return n;
}

size_t dl_http_replay_count(const struct dl_http_transport *t)
{
    return ((const struct replay *)t)->nreqs;
}

const struct dl_http_replay_req *
dl_http_replay_request(const struct dl_http_transport *t, size_t i)
{
    const struct replay *rp = (const struct replay *)t;

    return i < rp->nreqs ? &rp->reqs[i] : NULL;
}

int dl_http_replay_max_inflight(const struct dl_http_transport *t)
{
    return ((const struct replay *)t)->max_inflight;
}
