/*
 * transport_curl.c - the libcurl multi transport.
 *
 * One multi handle; one easy handle per transfer (the multi handle keeps
 * the connection cache, so connections are reused across transfers).
 * HTTP/2 is negotiated over TLS and streams are multiplexed
 * (CURLPIPE_MULTIPLEX, CURLOPT_PIPEWAIT). Never CURLOPT_VERBOSE: it would
 * print the Authorization header.
 */
#include "gcp/http.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/time.h"

struct curl_transport {
    struct dl_http_transport base;
    CURLM *multi;
    char *ca_bundle;
    char *user_agent;
    int64_t connect_timeout_ns;
    int running;
    struct curl_priv *head; /* live transfers, for ct_free */
};

struct curl_priv {
    CURL *easy;
    struct curl_slist *headers;
    struct dl_http_xfer *x;
    int cb_error; /* DL_E* set by a callback that aborted the transfer */
    struct curl_priv *prev, *next;
};

static int curl_initialised;

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
    struct dl_http_xfer *x = ud;
    size_t len = size * n;

    /* A new status line (redirect, 100-continue) starts a new header set. */
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0)
        dl_buf_reset(&x->head_in);
    (void)dl_buf_put(&x->head_in, data, len); /* past 16 KiB: ignored */
    return len;
}

static size_t on_write(char *data, size_t size, size_t n, void *ud)
{
    struct dl_http_xfer *x = ud;
    struct curl_priv *p = x->priv;
    size_t len = size * n;
    long code = 0;

    curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &code);
    if (x->on_data && code >= 200 && code < 300) {
        int rc = x->on_data(x, data, len);

        if (rc < 0) {
            p->cb_error = rc;
            return 0;
        }
        return len;
    }
    if (dl_buf_put(&x->body_in, data, len) < 0) {
        p->cb_error = DL_ELIMIT;
        return 0;
    }
    return len;
}

static long ms_of(int64_t ns)
{
    return (long)((ns + DL_NS_PER_MS - 1) / DL_NS_PER_MS);
}

static int ct_start(struct dl_http_transport *t, struct dl_http_xfer *x,
                    struct dl_err *err)
{
    struct curl_transport *ct = (struct curl_transport *)t;
    struct curl_priv *p = dl_calloc(1, sizeof(*p));
    CURL *e = curl_easy_init();
    int64_t cto =
        x->connect_timeout_ns ? x->connect_timeout_ns : ct->connect_timeout_ns;

    if (!e) {
        free(p);
        return dl_err_set(err, DL_ERROR, "curl_easy_init failed");
    }
    p->easy = e;
    p->x = x;
    x->priv = p;
    for (int i = 0; i < DL_HTTP_MAX_HEADERS && x->headers[i]; i++)
        p->headers = curl_slist_append(p->headers, x->headers[i]);
    /* curl adds "Expect: 100-continue" to big POSTs: one more round trip. */
    p->headers = curl_slist_append(p->headers, "Expect:");
    curl_easy_setopt(e, CURLOPT_URL, x->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, p->headers);
    curl_easy_setopt(e, CURLOPT_PRIVATE, p);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (strncmp(x->url, "http://", 7) != 0) {
        curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    } else if (x->http2) {
        /* h2c (gRPC to the Firestore emulator) on a connection of its own:
         * the emulator takes every request on an HTTP/2 connection for
         * gRPC, so HTTP/1.1 transfers must not share it (below). */
        curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                         (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
        curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    } else {
        /* 1.1 (what 2TLS means on plain http): curl then never reuses an
         * h2c connection for it. */
        curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    }
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    /* gzip pays over the network; on loopback (fakegcp, the emulator) it
     * only costs CPU on both sides (measured: runQuery of 11 MB took 2x). */
    if (strncmp(x->url, "https://", 8) == 0)
        curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 102400L);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    if (ct->user_agent)
        curl_easy_setopt(e, CURLOPT_USERAGENT, ct->user_agent);
    if (ct->ca_bundle)
        curl_easy_setopt(e, CURLOPT_CAINFO, ct->ca_bundle);
    if (cto > 0)
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ms_of(cto));
    if (x->timeout_ns > 0)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms_of(x->timeout_ns));
    if (x->stall_timeout_ns > 0) {
        /* Under 1 byte/s for that many seconds: curl's stall detector. */
        long secs =
            (long)((x->stall_timeout_ns + DL_NS_PER_SEC - 1) / DL_NS_PER_SEC);

        curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, secs);
    }
    if (strcmp(x->method, "GET") == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(x->method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (!x->body && strcmp(x->method, "POST") != 0) {
        /* DELETE and friends without a body: no POST machinery (it would
         * add a form Content-Type). */
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, x->method);
    } else {
        if (strcmp(x->method, "POST") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, x->method);
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body ? x->body : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(x->body ? x->body_len : 0));
    }
    if (curl_multi_add_handle(ct->multi, e) != CURLM_OK) {
        curl_slist_free_all(p->headers);
        curl_easy_cleanup(e);
        free(p);
        x->priv = NULL;
        return dl_err_set(err, DL_ERROR, "curl_multi_add_handle failed");
    }
    ct->running++;
    p->next = ct->head;
    if (ct->head)
        ct->head->prev = p;
    ct->head = p;
    return 0;
}

static void release(struct curl_transport *ct, struct curl_priv *p)
{
    curl_multi_remove_handle(ct->multi, p->easy);
    curl_easy_cleanup(p->easy);
    curl_slist_free_all(p->headers);
    if (p->prev)
        p->prev->next = p->next;
    else
        ct->head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->x->priv = NULL;
    free(p);
    ct->running--;
}

static void finish(struct curl_priv *p, CURLcode cc)
{
    struct dl_http_xfer *x = p->x;
    long code = 0;
    curl_off_t connect_us = 0;

    curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(p->easy, CURLINFO_CONNECT_TIME_T, &connect_us);
    x->status = (int)code;
    x->maybe_sent = connect_us > 0 || code > 0;
    if (cc == CURLE_OK) {
        x->result = 0;
        return;
    }
    snprintf(x->errmsg, sizeof(x->errmsg), "%s", curl_easy_strerror(cc));
    switch (cc) {
    case CURLE_WRITE_ERROR:
        x->result = p->cb_error ? p->cb_error : DL_ERROR;
        if (p->cb_error == DL_ELIMIT)
            snprintf(x->errmsg, sizeof(x->errmsg),
                     "response body larger than %zu bytes", x->body_in.max);
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        x->maybe_sent = 0;
        x->result = DL_ETRANSIENT;
        break;
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_BAD_CONTENT_ENCODING:
        x->result = DL_ETRANSIENT;
        break;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        x->result = DL_EINVALID;
        break;
    default:
        x->result = DL_ERROR;
        break;
    }
}

static void drain(struct curl_transport *ct)
{
    CURLMsg *m;
    int left;

    while ((m = curl_multi_info_read(ct->multi, &left)) != NULL) {
        struct curl_priv *p = NULL;
        struct dl_http_xfer *x;

        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&p);
        finish(p, m->data.result);
        x = p->x;
        release(ct, p);
        x->on_done(x);
    }
}

static int ct_poll(struct dl_http_transport *t, int64_t timeout_ns)
{
    struct curl_transport *ct = (struct curl_transport *)t;
    int still = 0, before = ct->running;

    curl_multi_perform(ct->multi, &still);
    drain(ct);
    /*
     * Wait only when nothing finished and curl still has sockets to watch:
     * a transfer whose last bytes were read has no socket left, and
     * curl_multi_poll would sleep the whole timeout before the next
     * perform reports it done (measured: 1 s added to every runQuery).
     * With no transfer at all (the client waits for a throttle or a retry
     * backoff) curl_multi_poll sleeps the timeout: returning at once would
     * spin until then (measured: 20 million turns in one org plan).
     */
    if (timeout_ns > 0 && ct->running == before &&
        (still > 0 || ct->running == 0)) {
        long ms = (long)(timeout_ns / DL_NS_PER_MS), curl_ms = -1;

        if (ms > 1000)
            ms = 1000;
        if (ms < 1)
            ms = 1;
        if (curl_multi_timeout(ct->multi, &curl_ms) == CURLM_OK &&
            curl_ms >= 0 && curl_ms < ms)
            ms = curl_ms;
        if (ms > 0)
            curl_multi_poll(ct->multi, NULL, 0, (int)ms, NULL);
        curl_multi_perform(ct->multi, &still);
        drain(ct);
    }
    return ct->running;
}

static void ct_abort(struct dl_http_transport *t, struct dl_http_xfer *x)
{
    struct curl_transport *ct = (struct curl_transport *)t;

    if (x && x->priv)
        release(ct, x->priv);
}

static int64_t ct_now(struct dl_http_transport *t)
{
    (void)t;
    return dl_time_mono_ns();
}

static void ct_free(struct dl_http_transport *t)
{
    struct curl_transport *ct = (struct curl_transport *)t;

    while (ct->head)
        release(ct, ct->head);
    curl_multi_cleanup(ct->multi);
    free(ct->ca_bundle);
    free(ct->user_agent);
    free(ct);
}

static const struct dl_http_transport_ops curl_ops = {
    .name = "curl",
    .start = ct_start,
    .poll = ct_poll,
    .abort = ct_abort,
    .now = ct_now,
    .free = ct_free,
};

int dl_http_curl_new(struct dl_http_transport **out,
                     const struct dl_http_curl_opts *opts, struct dl_err *err)
{
    struct curl_transport *ct;
    const char *ca = opts ? opts->ca_bundle : NULL;

    *out = NULL;
    if (!curl_initialised) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return dl_err_set(err, DL_ERROR, "curl_global_init failed");
        curl_initialised = 1;
    }
    ct = dl_calloc(1, sizeof(*ct));
    ct->base.ops = &curl_ops;
    ct->multi = curl_multi_init();
    if (!ct->multi) {
        free(ct);
        return dl_err_set(err, DL_ERROR, "curl_multi_init failed");
    }
    curl_multi_setopt(ct->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    if (opts && opts->max_host_connections > 0)
        curl_multi_setopt(ct->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                          opts->max_host_connections);
    if (!ca || !*ca)
        ca = getenv("SSL_CERT_FILE");
    ct->ca_bundle = ca && *ca ? dl_strdup(ca) : NULL;
    ct->user_agent =
        dl_strdup(opts && opts->user_agent ? opts->user_agent : "driftless");
    ct->connect_timeout_ns = opts && opts->connect_timeout_ns > 0
                                 ? opts->connect_timeout_ns
                                 : 10 * DL_NS_PER_SEC;
    *out = &ct->base;
    return 0;
}
