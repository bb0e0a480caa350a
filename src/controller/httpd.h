/*
 * httpd.h - the controller's HTTP server (libmicrohttpd).
 *
 * Routes:
 *   GET  /healthz        200 "ok" while the process serves
 *   GET  /readyz         200 "ready", or 503 "not ready: <reason>"
 *   GET  /metrics        the registry, Prometheus text format 0.0.4
 *   GET  /api/v1/status  the status as JSON
 *   GET  /               the status page (HTML, no JavaScript)
 *   POST /hooks/git      GitHub webhook: 401 on a missing or bad signature
 *                        (nothing triggered), 202 and the trigger callback
 *                        for a verified push, 200 for ping and other events
 * HEAD works wherever GET does. Any other path is 404; a known path with
 * another method is 405 with an Allow header. Request bodies are capped
 * (413 beyond max_body). Every response has Cache-Control: no-store and
 * X-Content-Type-Options: nosniff; the page also a Content-Security-Policy
 * that forbids scripts.
 *
 * One internal polling thread serves every connection: handlers run there
 * and call the callbacks below from it, so callbacks must be quick and
 * thread-safe (dl_schedule_waker_trigger and dl_status_ready are).
 */
#ifndef DL_CONTROLLER_HTTPD_H
#define DL_CONTROLLER_HTTPD_H

#include <stddef.h>
#include <stdint.h>

#include "controller/metrics.h"
#include "controller/status.h"
#include "controller/webhook.h"
#include "util/err.h"

/* Default cap on a request body (the webhook's). */
#define DL_HTTPD_MAX_BODY (1024 * 1024)

/* Is the controller ready? 1 yes; 0 no, with a one-line reason written to
   reason (size bytes). Called from the server thread. */
typedef int (*dl_httpd_ready_fn)(void *ctx, char *reason, size_t size);

/* A verified push (or other triggering event) arrived: start a pass soon.
   push is valid only during the call. Called from the server thread. */
typedef void (*dl_httpd_trigger_fn)(void *ctx,
                                    const struct dl_webhook_push *push);

struct dl_httpd_config {
    /* "host:port", "[v6addr]:port" or ":port" (all IPv4 addresses);
       port 0 picks a free port (dl_httpd_port tells which). */
    const char *listen;
    /* Exposed on /metrics; NULL: /metrics is 404. Not owned. */
    struct dl_metrics *metrics;
    /* Rendered on / and /api/v1/status; NULL: both 404. Not owned. */
    struct dl_status *status;
    /* NULL: always ready. */
    dl_httpd_ready_fn ready;
    void *ready_ctx;
    /* The webhook secret (not owned, must outlive the server); NULL: every
       POST /hooks/git gets 403 "webhook secret not configured". */
    const char *webhook_secret;
    size_t webhook_secret_len;
    dl_httpd_trigger_fn trigger; /* may be NULL */
    void *trigger_ctx;
    size_t max_body; /* 0: DL_HTTPD_MAX_BODY */
};

struct dl_httpd;

/*
 * Parse a listen address into host ("" for any) and port. 0, or
 * DL_EINVALID quoting the address. host needs 256 bytes.
 */
int dl_httpd_parse_listen(char *host, size_t host_size, unsigned *port,
                          const char *listen, struct dl_err *err) DL_WUR;

/*
 * Start serving. The config is copied (the objects it points to are not:
 * they must outlive the server). *out is freed with dl_httpd_free.
 * Errors: DL_EINVALID bad listen address (quoted); DL_ERROR the socket
 * cannot be bound (the message says why, e.g. "Address already in use").
 */
int dl_httpd_start(struct dl_httpd **out, const struct dl_httpd_config *cfg,
                   struct dl_err *err) DL_WUR;

/* The port the server listens on (the chosen one when asked for 0). */
unsigned dl_httpd_port(const struct dl_httpd *h);

/* Requests being handled right now (started, response not yet sent). */
int dl_httpd_inflight(struct dl_httpd *h);

/*
 * Stop gracefully: stop accepting connections at once, give requests in
 * flight up to grace_ns to finish, then close everything and join the
 * server thread. Idempotent. Call from the thread that handles SIGTERM.
 */
void dl_httpd_stop(struct dl_httpd *h, int64_t grace_ns);

/* Stop (no grace if not stopped yet) and free. NULL-safe. */
void dl_httpd_free(struct dl_httpd *h);

#endif
