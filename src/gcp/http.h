/*
 * http.h - the HTTP transport vtable and its two implementations.
 *
 * The Google client (gcp/client.h) never calls libcurl directly: it hands
 * each attempt of a request to a transport as a struct dl_http_xfer and is
 * told when it finished. Two transports exist:
 *   dl_http_curl_new    libcurl multi: many transfers in flight, connection
 *                       reuse, HTTP/2 multiplexing, gzip, proxies and CA
 *                       bundles as curl users expect;
 *   dl_http_replay_new  answers from response files (tests/fixtures/gcp),
 *                       with a virtual clock, so unit tests need no network
 *                       and never sleep.
 * A transport is single-threaded: all calls come from the thread that
 * drives it. start() only registers the transfer; I/O happens in poll().
 */
#ifndef DL_GCP_HTTP_H
#define DL_GCP_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

struct dl_http_xfer;
struct dl_http_transport;

/*
 * Streaming sink: called with successive pieces of a 2xx body instead of
 * appending them to xfer->body. Return 0 to go on, or a negative DL_E* code
 * to abort the transfer (it then ends with that code in xfer->result).
 */
typedef int (*dl_http_data_fn)(struct dl_http_xfer *x, const char *data,
                               size_t len);
/* Called once by poll() when the transfer ended, successfully or not. */
typedef void (*dl_http_done_fn)(struct dl_http_xfer *x);

#define DL_HTTP_MAX_HEADERS 8

/*
 * One HTTP exchange. The caller owns the struct and every string it points
 * to, fills the request part, dl_buf_init's body (its cap is the body cap)
 * and keeps everything alive until on_done ran or the transfer was
 * aborted. The transport fills the response part.
 */
struct dl_http_xfer {
    /* request */
    const char *method;                       /* "GET", "POST", ... */
    const char *url;                          /* absolute */
    const char *headers[DL_HTTP_MAX_HEADERS]; /* "Name: value", NULL-ended */
    const char *body;                         /* may be NULL */
    size_t body_len;
    int64_t timeout_ns;         /* whole transfer; 0: none */
    int64_t stall_timeout_ns;   /* fail when no byte arrives for this long
                                   (also before the first); 0: none */
    int64_t connect_timeout_ns; /* 0: transport default */
    int http2;                  /* HTTP/2 only: prior knowledge on http://
                                   (gRPC); https:// always offers h2 */
    dl_http_data_fn on_data;    /* optional streaming sink for 2xx bodies */
    dl_http_done_fn on_done;
    void *ud; /* for the caller */

    /* response */
    int status;            /* HTTP status, 0 when none arrived */
    struct dl_buf body_in; /* the body (non-streamed part), capped */
    struct dl_buf head_in; /* raw response header lines, capped at 16 KiB */
    int result;            /* 0, or a negative DL_E* code (see below) */
    int maybe_sent;        /* 0 only when the request surely never left */
    char errmsg[256];      /* why result is not 0; no secrets */

    void *priv; /* the transport's */
};

/*
 * xfer->result after on_done:
 *   0              a complete response arrived (any HTTP status)
 *   DL_ETRANSIENT  connection failed, reset, timed out, or the body was cut
 *   DL_ELIMIT      the body exceeded body_in's cap
 *   DL_EINVALID    the request could not be made (bad URL, protocol) or,
 *                  for the replay transport, no response file matched
 *   DL_ERROR       TLS verification or another permanent failure
 *   other          the code returned by on_data
 */

struct dl_http_transport_ops {
    const char *name;
    /* Register x; its on_done will run from a later poll(). 0 or DL_E*. */
    int (*start)(struct dl_http_transport *t, struct dl_http_xfer *x,
                 struct dl_err *err);
    /*
     * Do I/O for at most timeout_ns (0: do not wait), then run on_done for
     * every transfer that ended. Returns the number still in flight.
     */
    int (*poll)(struct dl_http_transport *t, int64_t timeout_ns);
    /* Stop x without calling on_done (NULL-safe for unknown x). */
    void (*abort)(struct dl_http_transport *t, struct dl_http_xfer *x);
    /* Monotonic clock, ns (the replay transport's is virtual). */
    int64_t (*now)(struct dl_http_transport *t);
    /* Free t; transfers still registered are aborted. */
    void (*free)(struct dl_http_transport *t);
};

/* Implementations embed this as their first member. */
struct dl_http_transport {
    const struct dl_http_transport_ops *ops;
};

/* Reset the response part of x (before a new attempt). */
void dl_http_xfer_reset_response(struct dl_http_xfer *x);

/*
 * Value of response header name (case-insensitive) copied into out
 * (trimmed, truncated to size). 1 when found, 0 when not.
 */
int dl_http_xfer_header(const struct dl_http_xfer *x, const char *name,
                        char *out, size_t size);

/* Free t (NULL-safe). */
void dl_http_transport_free(struct dl_http_transport *t);

/* libcurl options. */
struct dl_http_curl_opts {
    const char *ca_bundle; /* CA file; NULL: $SSL_CERT_FILE, then curl's */
    const char *user_agent;
    int64_t connect_timeout_ns; /* default for transfers; 0: 10 s */
    long max_host_connections;  /* 0: no limit (HTTP/2 multiplexes) */
};

/*
 * A libcurl multi transport. HTTPS_PROXY/https_proxy, http_proxy and
 * NO_PROXY are honoured by libcurl itself. DL_ERROR when libcurl cannot be
 * initialised. Free with dl_http_transport_free.
 */
int dl_http_curl_new(struct dl_http_transport **out,
                     const struct dl_http_curl_opts *opts,
                     struct dl_err *err) DL_WUR;

/*
 * The replay transport. Responses are files:
 *
 *   HTTP/1.1 429 Too Many Requests      (or "FAIL connect|timeout|reset")
 *   Retry-After: 2
 *   X-Replay-Delay-Ms: 30               (virtual time the answer takes)
 *   X-Replay-Truncate: 100              (send 100 body bytes, then reset)
 *
 *   {"error": ...}
 *
 * Headers named X-Replay-* are consumed by the replay transport. Each rule
 * answers one request, in the order rules were added, matched by method
 * and by the URL's path and query with scheme and host removed: equal, or
 * a prefix when pattern ends with '*'. A request no rule matches ends with
 * DL_EINVALID. Every request is recorded for the test to inspect.
 */
int dl_http_replay_new(struct dl_http_transport **out);

/* Add a rule answering method+pattern with file's response. DL_ENOTFOUND
 * or DL_EINVALID when the file is missing or malformed. */
int dl_http_replay_add(struct dl_http_transport *t, const char *method,
                       const char *pattern, const char *file,
                       struct dl_err *err) DL_WUR;
/* Same, from text in memory (tests that generate responses). */
int dl_http_replay_add_text(struct dl_http_transport *t, const char *method,
                            const char *pattern, const char *text, size_t len,
                            struct dl_err *err) DL_WUR;
/* Deliver bodies in pieces of n bytes (0: whole). */
void dl_http_replay_set_chunk(struct dl_http_transport *t, size_t n);
/* Rules not used yet. */
size_t dl_http_replay_unused(const struct dl_http_transport *t);

/* A request the replay transport saw. */
struct dl_http_replay_req {
    char *method, *url, *headers, *body; /* headers: "Name: v\n" lines */
    int64_t at_ns;                       /* virtual time it started */
};
size_t dl_http_replay_count(const struct dl_http_transport *t);
const struct dl_http_replay_req *
dl_http_replay_request(const struct dl_http_transport *t, size_t i);
/* Most transfers that were in flight at once. */
int dl_http_replay_max_inflight(const struct dl_http_transport *t);

#endif
