/*
 * webhook.h - GitHub push webhooks: signature check and body parsing.
 *
 * GitHub signs each delivery with HMAC-SHA256 of the raw body under the
 * webhook's secret and sends it as "X-Hub-Signature-256: sha256=<64 hex>".
 * dl_webhook_verify recomputes it and compares in constant time. Only a
 * verified body should be parsed, but the parser is safe on any input.
 */
#ifndef DL_CONTROLLER_WEBHOOK_H
#define DL_CONTROLLER_WEBHOOK_H

#include <stddef.h>

#include "util/err.h"

#define DL_WEBHOOK_SIGNATURE_HEADER "X-Hub-Signature-256"
#define DL_WEBHOOK_EVENT_HEADER "X-GitHub-Event"
/* Largest secret file accepted. */
#define DL_WEBHOOK_SECRET_MAX 4096

/*
 * Read the webhook secret from path: the whole file, with trailing "\n" and
 * "\r" removed, registered with dl_log_add_secret so it never reaches a
 * log. *out is a NUL-terminated copy (free with dl_webhook_secret_free,
 * which wipes it), *out_len its length. Errors (the secret itself is never
 * in a message): DL_ENOTFOUND the file does not exist, DL_ERROR it cannot
 * be read, DL_EINVALID it is empty or holds a NUL byte, DL_ELIMIT it is
 * longer than DL_WEBHOOK_SECRET_MAX bytes.
 */
int dl_webhook_secret_load(char **out, size_t *out_len, const char *path,
                           struct dl_err *err) DL_WUR;

/* Overwrite and free a secret from dl_webhook_secret_load. NULL-safe. */
void dl_webhook_secret_free(char *secret, size_t len);

/*
 * Check header (the X-Hub-Signature-256 value, NULL when absent) against
 * HMAC-SHA256(secret, body). The comparison of the digests takes the same
 * time wherever they differ (CRYPTO_memcmp). 0 when it matches; otherwise
 * DL_EAUTH with one of the messages "missing X-Hub-Signature-256 header",
 * "malformed X-Hub-Signature-256 header (want sha256=<64 hex digits>)",
 * "signature mismatch"; DL_EINVALID when secret is empty; DL_ERROR when
 * OpenSSL fails.
 */
int dl_webhook_verify(const char *secret, size_t secret_len, const void *body,
                      size_t body_len, const char *header,
                      struct dl_err *err) DL_WUR;

/*
 * Compute the header value GitHub would send for body, for tests and for
 * tools that send webhooks: "sha256=" and 64 lowercase hex digits into out
 * (at least 72 bytes). 0, or DL_ERROR when OpenSSL fails.
 */
int dl_webhook_sign(char *out, size_t size, const char *secret,
                    size_t secret_len, const void *body, size_t body_len);

/* What a push event says; strings are "" when absent. */
struct dl_webhook_push {
    char ref[256];   /* "refs/heads/main" */
    char after[65];  /* new head commit, 40 (or 64) hex digits */
    char before[65]; /* previous head */
    char repo[256];  /* repository.full_name: "org/repo" */
    int deleted;     /* the ref was deleted */
};

/*
 * Parse a push event body (JSON, len bytes, need not be NUL-terminated).
 * Unknown fields are ignored; ref, after, before and repository.full_name
 * are copied when they are strings of acceptable form (after/before: hex,
 * 40 or 64 digits; ref at most 255 bytes without control characters).
 * 0, or DL_EINVALID when the body is not a JSON object or ref/after are
 * present but malformed (message says which).
 */
int dl_webhook_parse_push(struct dl_webhook_push *out, const char *body,
                          size_t len, struct dl_err *err) DL_WUR;

#endif
