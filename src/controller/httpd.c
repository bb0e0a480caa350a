/*
 * httpd.c - health, readiness, metrics, status and webhook over HTTP.
 */
#include "controller/httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/time.h"

/* Cap on a rendered page or metrics exposition. */
#define RENDER_MAX (64u * 1024 * 1024)

struct dl_httpd {
    struct dl_httpd_config cfg;
    struct MHD_Daemon *d;
    unsigned port;
    int stopped;
    pthread_mutex_t lock; /* inflight and last_log */
    int inflight;
    char last_log[256];
};

/* Per-request state, from the first handler call to the completion. */
struct req {
    struct dl_buf body;
    int too_large;
};

int dl_httpd_parse_listen(char *host, size_t host_size, unsigned *port,
                          const char *listen, struct dl_err *err)
{
    const char *colon, *h, *p;
    size_t hlen;
    char *end = NULL;
    unsigned long v;

    if (!listen || !*listen)
        return dl_err_set(err, DL_EINVALID, "empty listen address");
    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');

        if (!close || close[1] != ':')
            goto bad;
        h = listen + 1;
        hlen = (size_t)(close - h);
        p = close + 2;
        if (hlen == 0)
            goto bad;
    } else {
        colon = strrchr(listen, ':');
        if (!colon || memchr(listen, ':', (size_t)(colon - listen)))
            goto bad;
        h = listen;
        hlen = (size_t)(colon - listen);
        p = colon + 1;
    }
    if (hlen >= host_size || hlen >= 256 || !*p ||
        strspn(p, "0123456789") != strlen(p) || strlen(p) > 5)
        goto bad;
    errno = 0;
    v = strtoul(p, &end, 10);
    if (errno || *end || v > 65535)
        goto bad;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (unsigned)v;
    return 0;
bad:
    return dl_err_set(err, DL_EINVALID,
                      "invalid listen address \"%s\" (want host:port, "
                      "[ipv6]:port or :port)",
                      listen);
}

/* fmt comes from libmicrohttpd: declared a format so that compilers check
   the vsnprintf below against it instead of flagging a non-literal. */
static void mhd_logger(void *cls, const char *fmt, va_list ap) DL_PRINTF(2, 0);

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    struct dl_httpd *h = cls;
    char line[256];
    size_t n;

    vsnprintf(line, sizeof(line), fmt, ap);
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    pthread_mutex_lock(&h->lock);
    snprintf(h->last_log, sizeof(h->last_log), "%s", line);
    pthread_mutex_unlock(&h->lock);
    dl_log(DL_LOG_DEBUG, "httpd: %s", line);
}

static enum MHD_Result send_resp(struct MHD_Connection *c, unsigned status,
                                 const char *ctype, const char *body,
                                 size_t len, char *owned, const char *allow)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    /* body is copied; owned (when not NULL) is the body, freed by MHD. */
    if (!owned)
        owned = dl_strndup(body, len);
    r = MHD_create_response_from_buffer(len, owned, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(owned);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", ctype);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (strncmp(ctype, "text/html", 9) == 0) {
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'none'; style-src "
                                "'unsafe-inline'; img-src data:");
        MHD_add_response_header(r, "X-Frame-Options", "DENY");
    }
    if (allow)
        MHD_add_response_header(r, "Allow", allow);
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result text(struct MHD_Connection *c, unsigned status,
                            const char *msg)
{
    return send_resp(c, status, "text/plain; charset=utf-8", msg, strlen(msg),
                     NULL, NULL);
}

static enum MHD_Result textf(struct MHD_Connection *c, unsigned status,
                             const char *fmt, ...) DL_PRINTF(3, 4);

static enum MHD_Result textf(struct MHD_Connection *c, unsigned status,
                             const char *fmt, ...)
{
    char msg[600];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return text(c, status, msg);
}

/* Send b's contents (taken), or 500 when rendering failed. */
static enum MHD_Result send_buf(struct MHD_Connection *c, const char *ctype,
                                struct dl_buf *b, int rc)
{
    size_t len = b->len;
    char *body;

    if (rc != 0) {
        dl_buf_dispose(b);
        return text(c, 500, "rendering failed: output too large\n");
    }
    body = dl_buf_take(b);
    return send_resp(c, 200, ctype, NULL, len, body, NULL);
}

enum route { R_NONE, R_HEALTH, R_READY, R_METRICS, R_STATUS, R_PAGE, R_HOOK };

static enum route route_of(const char *url)
{
    static const struct {
        const char *path;
        enum route r;
    } table[] = {
        {.path = "/healthz", .r = R_HEALTH},
        {.path = "/readyz", .r = R_READY},
        {.path = "/metrics", .r = R_METRICS},
        {.path = "/api/v1/status", .r = R_STATUS},
        {.path = "/", .r = R_PAGE},
        {.path = "/hooks/git", .r = R_HOOK},
    };

    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (strcmp(url, table[i].path) == 0)
            return table[i].r;
    return R_NONE;
}

static enum MHD_Result handle_get(struct dl_httpd *h, struct MHD_Connection *c,
                                  enum route r)
{
    struct dl_buf b = DL_BUF_INIT(RENDER_MAX);
    char reason[256];

    switch (r) {
    case R_HEALTH:
        return text(c, 200, "ok\n");
    case R_READY:
        reason[0] = '\0';
        if (!h->cfg.ready ||
            h->cfg.ready(h->cfg.ready_ctx, reason, sizeof(reason)))
            return text(c, 200, "ready\n");
        reason[sizeof(reason) - 1] = '\0';
        return textf(c, 503, "not ready: %s\n",
                     *reason ? reason : "(no reason given)");
    case R_METRICS:
        if (!h->cfg.metrics)
            break;
        return send_buf(c, DL_METRICS_CONTENT_TYPE, &b,
                        dl_metrics_render(&b, h->cfg.metrics));
    case R_STATUS:
        if (!h->cfg.status)
            break;
        return send_buf(
            c, "application/json", &b,
            dl_status_render_json(&b, h->cfg.status, dl_time_now_ns()));
    case R_PAGE:
        if (!h->cfg.status)
            break;
        return send_buf(
            c, "text/html; charset=utf-8", &b,
            dl_status_render_html(&b, h->cfg.status, dl_time_now_ns()));
    case R_NONE:
    case R_HOOK:
        break;
    }
    return text(c, 404, "not found\n");
}

static enum MHD_Result handle_hook(struct dl_httpd *h, struct MHD_Connection *c,
                                   struct req *q)
{
    const char *sig, *event;
    struct dl_webhook_push push;
    struct dl_err err;

    if (q->too_large)
        return textf(c, 413, "request body larger than %zu bytes\n",
                     h->cfg.max_body);
    if (!h->cfg.webhook_secret || h->cfg.webhook_secret_len == 0)
        return text(c, 403, "webhook secret not configured\n");
    sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                      DL_WEBHOOK_SIGNATURE_HEADER);
    if (dl_webhook_verify(h->cfg.webhook_secret, h->cfg.webhook_secret_len,
                          q->body.ptr ? q->body.ptr : "", q->body.len, sig,
                          &err) != 0) {
        dl_log(DL_LOG_WARNING, "webhook rejected: %s", err.msg);
        return textf(c, 401, "%s\n", err.msg);
    }
    event = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                        DL_WEBHOOK_EVENT_HEADER);
    if (event && strcmp(event, "ping") == 0)
        return text(c, 200, "pong\n");
    if (event && strcmp(event, "push") != 0)
        return text(c, 200, "event ignored\n");
    if (dl_webhook_parse_push(&push, dl_buf_cstr(&q->body), q->body.len,
                              &err) != 0)
        return textf(c, 400, "%s\n", err.msg);
    dl_log(DL_LOG_INFO, "webhook: push to \"%s\" (%s), starting a pass",
           push.ref, *push.after ? push.after : "no commit");
    if (h->cfg.trigger)
        h->cfg.trigger(h->cfg.trigger_ctx, &push);
    return text(c, 202, "accepted\n");
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c,
                               const char *url, const char *method,
                               const char *version, const char *upload,
                               size_t *upload_size, void **req_cls)
{
    struct dl_httpd *h = cls;
    struct req *q = *req_cls;
    enum route r = route_of(url);
    int is_get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    int is_post = strcmp(method, "POST") == 0;

    if (!q) {
        const char *cl;

        q = dl_calloc(1, sizeof(*q));
        dl_buf_init(&q->body, h->cfg.max_body);
        *req_cls = q;
        pthread_mutex_lock(&h->lock);
        h->inflight++;
        pthread_mutex_unlock(&h->lock);
        if (r == R_NONE)
            return text(c, 404, "not found\n");
        if (r == R_HOOK && !is_post)
            return send_resp(c, 405, "text/plain; charset=utf-8",
                             "method not allowed\n", 19, NULL, "POST");
        if (r != R_HOOK && !is_get)
            return send_resp(c, 405, "text/plain; charset=utf-8",
                             "method not allowed\n", 19, NULL, "GET, HEAD");
        if (r != R_HOOK)
            return handle_get(h, c, r);
        cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > h->cfg.max_body)
            return textf(c, 413, "request body larger than %zu bytes\n",
                         h->cfg.max_body);
        return MHD_YES; /* the body follows */
    }
    if (*upload_size > 0) {
        if (!q->too_large && dl_buf_put(&q->body, upload, *upload_size) != 0)
            q->too_large = 1;
        *upload_size = 0;
        return MHD_YES;
    }
    return handle_hook(h, c, q);
}

static void completed(void *cls, struct MHD_Connection *c, void **req_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct dl_httpd *h = cls;
    struct req *q = *req_cls;

    if (!q)
        return;
    dl_buf_dispose(&q->body);
    free(q);
    *req_cls = NULL;
    pthread_mutex_lock(&h->lock);
    h->inflight--;
    pthread_mutex_unlock(&h->lock);
}

int dl_httpd_start(struct dl_httpd **out, const struct dl_httpd_config *cfg,
                   struct dl_err *err)
{
    struct dl_httpd *h = NULL;
    struct addrinfo hints, *ai = NULL, *use;
    char host[256], portstr[8];
    const union MHD_DaemonInfo *info;
    unsigned port = 0;
    unsigned flags;
    int rc, gai;

    *out = NULL;
    rc = dl_httpd_parse_listen(host, sizeof(host), &port, cfg->listen, err);
    if (rc)
        return rc;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(portstr, sizeof(portstr), "%u", port);
    gai = getaddrinfo(*host ? host : NULL, portstr, &hints, &ai);
    if (gai != 0 || !ai) {
        rc = dl_err_set(err, DL_EINVALID,
                        "cannot resolve listen address \"%s\": %s", cfg->listen,
                        gai_strerror(gai));
        goto done;
    }
    h = dl_calloc(1, sizeof(*h));
    h->cfg = *cfg;
    h->cfg.listen = NULL; /* not kept: may not outlive the call */
    if (h->cfg.max_body == 0)
        h->cfg.max_body = DL_HTTPD_MAX_BODY;
    pthread_mutex_init(&h->lock, NULL);
    /* Try the addresses in order ("localhost" may be ::1 then 127.0.0.1,
       and IPv6 may be off); ":port" means every IPv4 address, so IPv4
       entries go first. */
    for (int pass = 0; pass < 2 && !h->d; pass++) {
        for (use = ai; use && !h->d; use = use->ai_next) {
            if ((use->ai_family == AF_INET) != (pass == 0))
                continue;
            flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
                    MHD_USE_ITC | MHD_USE_ERROR_LOG;
            if (use->ai_family == AF_INET6)
                flags |= MHD_USE_IPv6;
            h->d = MHD_start_daemon(
                flags, (uint16_t)port, NULL, NULL, handler, h,
                MHD_OPTION_SOCK_ADDR, use->ai_addr, MHD_OPTION_EXTERNAL_LOGGER,
                mhd_logger, h, MHD_OPTION_NOTIFY_COMPLETED, completed, h,
                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
                MHD_OPTION_CONNECTION_LIMIT, (unsigned int)256, MHD_OPTION_END);
        }
        if (!*host)
            break; /* IPv4 only */
    }
    if (!h->d) {
        rc = dl_err_set(err, DL_ERROR, "cannot listen on \"%s\": %s",
                        cfg->listen,
                        *h->last_log ? h->last_log : "daemon failed to start");
        goto done;
    }
    info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : port;
    *out = h;
    h = NULL;
done:
    if (ai)
        freeaddrinfo(ai);
    if (h) {
        pthread_mutex_destroy(&h->lock);
        free(h);
    }
    return rc;
}

unsigned dl_httpd_port(const struct dl_httpd *h)
{
    return h->port;
}

int dl_httpd_inflight(struct dl_httpd *h)
{
    int n;

    pthread_mutex_lock(&h->lock);
    n = h->inflight;
    pthread_mutex_unlock(&h->lock);
    return n;
}

void dl_httpd_stop(struct dl_httpd *h, int64_t grace_ns)
{
    MHD_socket fd;
    int64_t until;

    if (!h || h->stopped)
        return;
    h->stopped = 1;
    fd = MHD_quiesce_daemon(h->d);
    until = dl_time_mono_ns() + (grace_ns > 0 ? grace_ns : 0);
    while (dl_httpd_inflight(h) > 0 && dl_time_mono_ns() < until) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};

        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(h->d);
    h->d = NULL;
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
}

void dl_httpd_free(struct dl_httpd *h)
{
    if (!h)
        return;
    dl_httpd_stop(h, 0);
    pthread_mutex_destroy(&h->lock);
    free(h);
}
