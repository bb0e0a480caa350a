/*
 * gcp.h - the Google API client: requests, auth, retries, rate limits.
 *
 * One struct dl_gcp_client carries every request driftless makes to Google.
 * It is a single-threaded event loop over a transport (gcp/http.h):
 *
 *   dl_gcp_submit()      queue a request with a completion callback;
 *   dl_gcp_client_run()  drive the loop until every queued request (and
 *                        every request their callbacks queued) is done;
 *   dl_gcp_call()        a synchronous request (submit + run until it is
 *                        done; other queued requests progress meanwhile).
 *
 * Per request the client adds the Authorization header (see docs/auth.md
 * for the credential chain), waits for the API's token bucket, keeps at
 * most max_inflight requests in flight per API, retries transient failures
 * with exponential backoff and full jitter (honouring Retry-After and
 * google.rpc.RetryInfo), and parses the Google error envelope into
 * struct dl_err. Tokens are never formatted into any message or log line.
 *
 * Threads: none. Everything, callbacks included, runs in the thread that
 * calls dl_gcp_client_run/dl_gcp_call. Completion callbacks may submit
 * more requests and may call the synchronous functions; streaming (on_data)
 * callbacks may only submit.
 */
#ifndef DL_GCP_GCP_H
#define DL_GCP_GCP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "gcp/endpoint.h"
#include "gcp/http.h"
#include "util/err.h"

struct dl_gcp_client;

/* When may a request be sent again after a transient failure? */
enum dl_gcp_retry {
    /* By method: GET, HEAD, PUT, DELETE as SAFE; POST, PATCH as UNSAFE. */
    DL_GCP_RETRY_AUTO = 0,
    /* Idempotent: every transient failure (connection errors, timeouts,
     * 408, 429, 500, 502, 503, 504). */
    DL_GCP_RETRY_SAFE,
    /* A read: as SAFE, and also 409 ABORTED. */
    DL_GCP_RETRY_READ,
    /* Creates and other non-idempotent writes: only when the server surely
     * did not act on it (the connection was never made, or 429). */
    DL_GCP_RETRY_UNSAFE,
    DL_GCP_RETRY_NEVER
};

/* struct dl_gcp_request.flags */
#define DL_GCP_NO_AUTH 0x1u /* send no Authorization header */
#define DL_GCP_RAW 0x2u     /* do not parse the 2xx body as JSON */
#define DL_GCP_HTTP2                                                           \
    0x4u /* HTTP/2 only: prior knowledge on http://                            \
            (gRPC); https:// negotiates it by ALPN */

/* What a completed request delivers to its callback. */
struct dl_gcp_response {
    int http_status;  /* 0 when no response arrived */
    json_t *json;     /* parsed 2xx body, borrowed (json_incref to keep);
                         {} for an empty body; NULL for RAW, streamed or
                         failed requests */
    const char *body; /* the raw body, borrowed: the answer, or the error
                         envelope on failure ("" when streamed) */
    size_t body_len;
    const struct dl_http_xfer *xfer; /* response headers: dl_http_xfer_header */
    int attempts;                    /* 1 + retries */
};

/*
 * Completion: called exactly once per submitted request, with rc 0 or a
 * negative DL_E* code; err describes a failure (NULL when rc is 0). r is
 * never NULL. Everything passed is valid only during the call.
 */
typedef void (*dl_gcp_done_fn)(struct dl_gcp_client *c, int rc,
                               const struct dl_gcp_response *r,
                               const struct dl_err *err, void *ud);

/*
 * Streaming sink for a 2xx body (e.g. Firestore runQuery). Return 0 to go
 * on or a negative DL_E* code to abort the request with that code. A
 * request that already streamed bytes is not retried.
 */
typedef int (*dl_gcp_data_fn)(void *ud, const char *data, size_t len);

/* One request. Strings and body are copied by dl_gcp_submit. */
struct dl_gcp_request {
    enum dl_gcp_api api;
    const char *method;       /* NULL: GET, or POST when a body is set */
    const char *path;         /* "/v2/projects/...?pageSize=100" relative to the
                                 API's base, or an absolute URL */
    json_t *body;             /* JSON body (borrowed, serialised at submit) */
    const char *raw_body;     /* instead of body: sent as is */
    size_t raw_body_len;      /* its length (binary); 0: strlen(raw_body) */
    const char *content_type; /* for raw_body; default JSON */
    const char *headers[4];   /* extra "Name: value" headers, NULL-ended */
    enum dl_gcp_retry retry;
    unsigned flags;         /* DL_GCP_NO_AUTH, DL_GCP_RAW, DL_GCP_HTTP2 */
    int64_t deadline_ns;    /* time budget including retries; 0: default */
    int64_t delay_ns;       /* wait this long before the first attempt */
    size_t max_body;        /* body cap; 0: client default */
    dl_gcp_data_fn on_data; /* optional streaming sink */
    dl_gcp_done_fn done;    /* required */
    void *ud;
};

#define DL_GCP_LATENCY_BUCKETS 12
/* Upper bounds (seconds) of the latency histogram; the last is +Inf. */
extern const double dl_gcp_latency_bounds[DL_GCP_LATENCY_BUCKETS];
#define DL_GCP_MAX_STATUSES 24

struct dl_gcp_status_count {
    int status; /* HTTP status; 0 for transport failures */
    uint64_t count;
};

/* Counters of one API. Histogram buckets are not cumulative. */
struct dl_gcp_api_metrics {
    uint64_t attempts;  /* HTTP attempts made */
    uint64_t retries;   /* attempts that were retries */
    uint64_t requests;  /* requests completed (success or not) */
    uint64_t failures;  /* requests completed with an error */
    uint64_t throttled; /* times the token bucket delayed a request */
    struct dl_gcp_status_count status[DL_GCP_MAX_STATUSES];
    size_t nstatus;
    uint64_t latency_bucket[DL_GCP_LATENCY_BUCKETS]; /* per attempt */
    double latency_sum_s;
    uint64_t latency_count;
};

struct dl_gcp_metrics {
    struct dl_gcp_api_metrics api[DL_GCP_API_COUNT];
    uint64_t token_refreshes; /* successful token fetches */
    uint64_t token_failures;
};

/* Client options; zero means the default given. */
struct dl_gcp_client_opts {
    struct dl_http_transport *transport; /* NULL: libcurl; else owned by
                                            the client from now on */
    const char *ca_bundle;               /* NULL: $SSL_CERT_FILE, then curl's */
    const char *user_agent;              /* "driftless/<version>" */
    const char *credentials_file;        /* instead of the ADC search */
    int no_auth;                         /* never send Authorization */
    int max_inflight;                    /* per API: 16 */
    int64_t connect_timeout_ns;          /* 10 s */
    int64_t attempt_timeout_ns;          /* one attempt: 60 s */
    int64_t deadline_ns;                 /* one request, all attempts: 5 min */
    int max_attempts;                    /* 6 */
    int64_t backoff_base_ns;             /* first backoff cap: 500 ms */
    int64_t backoff_max_ns;              /* 32 s */
    size_t max_body;                     /* 64 MiB */
    double rate[DL_GCP_API_COUNT];       /* requests/s; <0: unlimited; defaults
                                            under Google's quotas (docs) */
    double burst[DL_GCP_API_COUNT];      /* bucket size: rate */
    uint64_t seed;                       /* jitter; 0: from the clock */
};

/*
 * Create a client: resolve endpoints (gcp/endpoint.h) and find credentials
 * (the ADC chain; reading files, no network yet). DL_EINVALID for a bad
 * endpoint override, DL_EAUTH for an unreadable or malformed credential
 * file. On failure opts->transport is freed too. Free with
 * dl_gcp_client_free.
 */
int dl_gcp_client_new(struct dl_gcp_client **out,
                      const struct dl_gcp_client_opts *opts,
                      struct dl_err *err) DL_WUR;

/* Free c (NULL-safe); requests still queued are dropped without callback. */
void dl_gcp_client_free(struct dl_gcp_client *c);

/*
 * Queue a request. Only queues: nothing is sent until the loop runs.
 * DL_EINVALID (and no callback) when the request is malformed: no path or
 * callback, a body that is not serialisable, or an absolute URL that is
 * plain http:// to a non-loopback host.
 */
int dl_gcp_submit(struct dl_gcp_client *c, const struct dl_gcp_request *req,
                  struct dl_err *err) DL_WUR;

/*
 * Run the loop until nothing is queued or in flight. Returns 0 (request
 * failures go to their callbacks), or DL_ECANCELLED after
 * dl_gcp_client_cancel.
 */
int dl_gcp_client_run(struct dl_gcp_client *c, struct dl_err *err);

/* Fail every queued and in-flight request with DL_ECANCELLED. */
void dl_gcp_client_cancel(struct dl_gcp_client *c);

/* The client's monotonic clock in ns (virtual with the replay transport):
 * use it for deadlines that must agree with the client's. */
int64_t dl_gcp_client_now(const struct dl_gcp_client *c);

/* Requests queued, waiting or in flight. */
size_t dl_gcp_client_pending(const struct dl_gcp_client *c);

/*
 * Synchronous request: *out gets a new reference to the parsed body ({} for
 * an empty body; json_decref it); NULL on failure. 0 or the DL_E* code of
 * the Google error (see dl_gcp_error_parse). method NULL: GET, or POST when
 * body is set.
 */
int dl_gcp_call(struct dl_gcp_client *c, enum dl_gcp_api api,
                const char *method, const char *path, json_t *body,
                json_t **out, struct dl_err *err) DL_WUR;

/*
 * Synchronous request with every option (req->done and req->ud are
 * ignored). For a DL_GCP_RAW request *out is a JSON string holding the body.
 */
int dl_gcp_call_req(struct dl_gcp_client *c, const struct dl_gcp_request *req,
                    json_t **out, struct dl_err *err) DL_WUR;

/* The client's counters (live; read between loop iterations). */
const struct dl_gcp_metrics *
dl_gcp_client_metrics(const struct dl_gcp_client *c);

/*
 * Append m in the Prometheus text exposition format (version 0.0.4):
 * driftless_gcp_requests_total{api,status} (status "0": no response),
 * driftless_gcp_retries_total{api}, driftless_gcp_request_failures_total
 * {api}, driftless_gcp_throttled_total{api},
 * driftless_gcp_request_duration_seconds{api} (histogram, per attempt),
 * driftless_gcp_token_refreshes_total, driftless_gcp_token_failures_total.
 * APIs never called are left out. 0, or DL_ELIMIT past out's cap.
 */
int dl_gcp_metrics_write_prometheus(struct dl_buf *out,
                                    const struct dl_gcp_metrics *m) DL_WUR;

/* The endpoints in force. */
const struct dl_gcp_endpoints *
dl_gcp_client_endpoints(const struct dl_gcp_client *c);

/* Which credential the client uses: "access-token", "service-account",
 * "authorized-user", "external-account", "metadata", "none". */
const char *dl_gcp_client_auth_kind(const struct dl_gcp_client *c);

/*
 * The rate limit in force for api (requests/s; <0 unlimited). After a 429
 * it is lowered, then recovers gradually towards the configured rate.
 */
double dl_gcp_client_rate(const struct dl_gcp_client *c, enum dl_gcp_api api);

/* Generic completion of the helpers below: result is borrowed. */
typedef void (*dl_gcp_op_fn)(struct dl_gcp_client *c, int rc, json_t *result,
                             const struct dl_err *err, void *ud);

/*
 * Pagination. GET path (which may carry its own query, e.g. pageSize or
 * maxResults), then again with pageToken=<nextPageToken> until a page has
 * no token; call item for every element of the array under items_key
 * ("services", "revisions", "documents", "tables", "items", "builds",
 * "operations"). A page without the key is empty; a page that is not an
 * object, whose key is not an array of objects or whose nextPageToken is
 * not a string fails the list with DL_EINVALID ("malformed answer"). item
 * returns 0 to go on, non-zero to stop early (not an error). Errors as
 * dl_gcp_call.
 */
typedef int (*dl_gcp_item_fn)(void *ud, json_t *item);
int dl_gcp_list(struct dl_gcp_client *c, enum dl_gcp_api api, const char *path,
                const char *items_key, dl_gcp_item_fn item, void *ud,
                struct dl_err *err) DL_WUR;
/* Asynchronous pagination: done runs once at the end (result NULL). */
int dl_gcp_list_submit(struct dl_gcp_client *c, enum dl_gcp_api api,
                       const char *path, const char *items_key,
                       dl_gcp_item_fn item, dl_gcp_op_fn done, void *ud,
                       struct dl_err *err) DL_WUR;

/* Long-running operations. */
struct dl_gcp_lro_opts {
    int64_t timeout_ns;     /* give up after: 20 min */
    int64_t first_delay_ns; /* first poll after: 1 s */
    int64_t max_delay_ns;   /* poll interval cap: 10 s (x1.5 per poll) */
    int use_wait;           /* Cloud Run: POST {name}:wait instead of GET */
};

/*
 * Wait for operation op (as returned by the mutation) to be done: poll
 * GET /<version>/<name> (v2 for Cloud Run, v1 otherwise) with backoff
 * until "done" is true. *response gets a new reference to op.response ({}
 * when absent). An op.error is mapped like an HTTP error (code, status,
 * message) into err; DL_ETRANSIENT when timeout_ns passes.
 */
int dl_gcp_lro_wait(struct dl_gcp_client *c, enum dl_gcp_api api, json_t *op,
                    const struct dl_gcp_lro_opts *opts, json_t **response,
                    struct dl_err *err) DL_WUR;
/* Asynchronous form: done gets op.response as result. */
int dl_gcp_lro_submit(struct dl_gcp_client *c, enum dl_gcp_api api, json_t *op,
                      const struct dl_gcp_lro_opts *opts, dl_gcp_op_fn done,
                      void *ud, struct dl_err *err) DL_WUR;

/*
 * Percent-encode s for a path segment or query value (RFC 3986
 * unreserved kept). Returns a malloc'd string.
 */
char *dl_gcp_urlencode(const char *s);

#endif
