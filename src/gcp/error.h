/*
 * error.h - the Google error envelope as struct dl_err.
 *
 * {"error": {"code": 409, "message": "...", "status": "ABORTED",
 *            "details": [{"@type": "...RetryInfo", "retryDelay": "2s"}],
 *            "errors": [{"reason": "notFound", ...}]}}
 * and the OAuth form {"error": "invalid_grant", "error_description": ...}.
 * Code mapping (the status name wins over the HTTP status when present):
 *   NOT_FOUND, 404                                   DL_ENOTFOUND
 *   ABORTED, ALREADY_EXISTS, FAILED_PRECONDITION,
 *   409, 412                                         DL_ECONFLICT
 *   UNAUTHENTICATED, PERMISSION_DENIED, 401, 403     DL_EAUTH
 *   INVALID_ARGUMENT, OUT_OF_RANGE, 400              DL_EINVALID
 *   RESOURCE_EXHAUSTED, UNAVAILABLE, INTERNAL,
 *   DEADLINE_EXCEEDED, 408, 429, 500, 502, 503, 504  DL_ETRANSIENT
 *   anything else                                    DL_ERROR
 */
#ifndef DL_GCP_ERROR_H
#define DL_GCP_ERROR_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* DL_E* code for a Google status name (may be NULL) and HTTP status. */
int dl_gcp_status_to_code(const char *status, int http_status);

/* Canonical name of a numeric google.rpc.Code (5 -> "NOT_FOUND"); NULL
 * when unknown. */
const char *dl_gcp_rpc_code_name(int rpc_code);
/* HTTP status of a numeric google.rpc.Code (5 -> 404). */
int dl_gcp_rpc_code_http(int rpc_code);

/*
 * Fill err from an HTTP error response: code mapped as above, http_status
 * and google_status set, message "<what>: HTTP <status> <STATUS>: <message
 * from the body>" on one line (the body's message, else its legacy
 * errors[0].reason, else the OAuth error, else the first 200 bytes of a
 * non-JSON body). Registered secrets are redacted. Returns the code.
 */
int dl_gcp_error_parse(struct dl_err *err, int http_status, const char *body,
                       size_t len, const char *what);

/*
 * Fill err from a google.rpc.Status object ({code: <rpc int>, message,
 * details}) as found in an operation's "error" or batchWrite "status[i]".
 * Returns the mapped code (0 when code is 0 or absent).
 */
int dl_gcp_error_from_status(struct dl_err *err, json_t *status,
                             const char *what);

/*
 * Server's retry hint in ns from an error body: the largest
 * google.rpc.RetryInfo retryDelay in error.details; 0 when none.
 */
int64_t dl_gcp_error_retry_delay(const char *body, size_t len);

/*
 * Parse a Retry-After header value: delta-seconds or an HTTP-date
 * (relative to now_wall_ns). ns, or 0 when absent, unparsable, in the
 * past or more than 24 hours ahead.
 */
int64_t dl_gcp_parse_retry_after(const char *value, int64_t now_wall_ns);

#endif
