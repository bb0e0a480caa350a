/*
 * gcp_int.h - internals shared by the files of src/gcp (not for callers
 * outside the module).
 */
#ifndef DL_GCP_GCP_INT_H
#define DL_GCP_GCP_INT_H

#include <jansson.h>
#include <stdint.h>

#include "gcp/gcp.h"
#include "util/err.h"

enum dl_gcp_auth_kind {
    DL_GCP_AUTH_NONE = 0,
    DL_GCP_AUTH_TOKEN,           /* DRIFTLESS_ACCESS_TOKEN */
    DL_GCP_AUTH_SERVICE_ACCOUNT, /* key file, JWT bearer grant */
    DL_GCP_AUTH_AUTHORIZED_USER, /* refresh token */
    DL_GCP_AUTH_EXTERNAL,        /* workload identity federation */
    DL_GCP_AUTH_METADATA         /* metadata server */
};

/* A credential found by the ADC search; every string is malloc'd. */
struct dl_gcp_creds {
    enum dl_gcp_auth_kind kind;
    char *source; /* where it came from, for messages: a path or a name */
    char *quota_project; /* x-goog-user-project: the file's
                            quota_project_id or GOOGLE_CLOUD_QUOTA_PROJECT */
    char *token;         /* DL_GCP_AUTH_TOKEN */
    /* service account */
    char *client_email, *private_key, *private_key_id, *token_uri;
    /* authorized user */
    char *client_id, *client_secret, *refresh_token;
    /* external account */
    char *audience, *subject_token_type, *token_url, *impersonation_url;
    char *cs_file, *cs_url, *cs_format, *cs_field;
    json_t *cs_headers; /* object of header name -> value, or NULL */
};

/*
 * Find credentials in ADC order (gcp.h, docs/auth.md): file when non-NULL,
 * else DRIFTLESS_ACCESS_TOKEN, GOOGLE_APPLICATION_CREDENTIALS, gcloud's
 * application_default_credentials.json, then the metadata server. Every
 * secret read is registered with dl_log_add_secret. DL_EAUTH when a named
 * file is unreadable, malformed or of an unknown type.
 */
int dl_gcp_creds_find(struct dl_gcp_creds *cr, const char *file,
                      struct dl_err *err) DL_WUR;
/* Parse one credential file's JSON (kind and fields). DL_EAUTH. */
int dl_gcp_creds_parse(struct dl_gcp_creds *cr, const char *json, size_t len,
                       const char *source, struct dl_err *err) DL_WUR;
void dl_gcp_creds_dispose(struct dl_gcp_creds *cr);
const char *dl_gcp_auth_kind_name(enum dl_gcp_auth_kind kind);

/*
 * Build the signed RS256 JWT assertion for a service account (iat = now_s,
 * exp = iat + 3600, aud = the token URI, scope cloud-platform). *out is
 * malloc'd and registered as a secret. DL_EAUTH when the key is unusable.
 */
int dl_gcp_jwt_assertion(char **out, const struct dl_gcp_creds *cr,
                         const char *aud, int64_t now_s,
                         struct dl_err *err) DL_WUR;

/* base64url without padding of len bytes; malloc'd. */
char *dl_gcp_base64url(const unsigned char *data, size_t len);

/*
 * Start an asynchronous token fetch for c's credentials (auth.c). The
 * outcome is reported later with dl_gcp__token_set or dl_gcp__token_fail;
 * a failure before anything was sent returns DL_E* (err filled) instead.
 */
int dl_gcp__auth_refresh(struct dl_gcp_client *c, struct dl_err *err);
/* Install a fresh token valid for lifetime_ns (copied, secret). */
void dl_gcp__token_set(struct dl_gcp_client *c, const char *token,
                       int64_t lifetime_ns);
/* Fail every request waiting for a token with err. */
void dl_gcp__token_fail(struct dl_gcp_client *c, const struct dl_err *err);
/* c's credentials and endpoints, for auth.c. */
const struct dl_gcp_creds *dl_gcp__creds(const struct dl_gcp_client *c);
/* Submit a request that bypasses auth, rate limits and token waits. */
int dl_gcp__submit_internal(struct dl_gcp_client *c,
                            const struct dl_gcp_request *req,
                            struct dl_err *err) DL_WUR;

/* Drive c's loop until *flag is set (see client.c). 0 or DL_ERROR. */
int dl_gcp__run_until(struct dl_gcp_client *c, const int *flag);

#endif
