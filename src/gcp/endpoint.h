/*
 * endpoint.h - which Google API lives where, and the overrides.
 *
 * Every request names an API (enum dl_gcp_api) and a path that keeps the
 * API's real shape ("/v2/projects/p/locations/l/services"). The base URL of
 * each API is the real Google host unless overridden, in this order:
 *   DRIFTLESS_<API>_ENDPOINT   one API (RUN, RESOURCEMANAGER, FIRESTORE,
 *                              CLOUDBUILD, BIGQUERY, STORAGE, OAUTH2, STS,
 *                              IAMCREDENTIALS)
 *   FIRESTORE_EMULATOR_HOST    host:port; Firestore then goes to
 *                              http://host:port with "Bearer owner"
 *   DRIFTLESS_API_ENDPOINT     every API at once (the sandbox)
 * and the metadata server is http://$GCE_METADATA_HOST (default
 * metadata.google.internal). Plain http:// is accepted only for loopback
 * hosts (127.0.0.0/8, localhost, ::1) and for the metadata server.
 */
#ifndef DL_GCP_ENDPOINT_H
#define DL_GCP_ENDPOINT_H

#include "util/err.h"

enum dl_gcp_api {
    DL_GCP_RUN = 0,         /* run.googleapis.com, paths /v2/... */
    DL_GCP_RESOURCEMANAGER, /* cloudresourcemanager.googleapis.com /v1 */
    DL_GCP_FIRESTORE,       /* firestore.googleapis.com /v1 */
    DL_GCP_CLOUDBUILD,      /* cloudbuild.googleapis.com /v1 */
    DL_GCP_BIGQUERY,        /* bigquery.googleapis.com /bigquery/v2 */
    DL_GCP_STORAGE,         /* storage.googleapis.com /storage/v1 */
    DL_GCP_OAUTH2,          /* oauth2.googleapis.com /token */
    DL_GCP_STS,             /* sts.googleapis.com /v1/token */
    DL_GCP_IAMCREDENTIALS,  /* iamcredentials.googleapis.com /v1 */
    DL_GCP_METADATA,        /* the metadata server /computeMetadata/v1 */
    DL_GCP_API_COUNT
};

/* Resolved base URLs ("https://run.googleapis.com", no trailing '/'). */
struct dl_gcp_endpoints {
    char *base[DL_GCP_API_COUNT];
    int firestore_emulator; /* 1 when FIRESTORE_EMULATOR_HOST is in force */
};

/* Short lower-case name of an API ("run", "firestore"); "?" when unknown. */
const char *dl_gcp_api_name(enum dl_gcp_api api);

/*
 * Resolve every API's base URL from the environment (see above). e is
 * caller-owned; release it with dl_gcp_endpoints_dispose. DL_EINVALID when
 * an override is not an http(s) URL or is plain http:// to a host that is
 * not loopback (the variable and value are quoted in the message).
 */
int dl_gcp_endpoints_load(struct dl_gcp_endpoints *e,
                          struct dl_err *err) DL_WUR;
void dl_gcp_endpoints_dispose(struct dl_gcp_endpoints *e);

/*
 * Check that url may carry credentials: https://, or http:// to a loopback
 * host. allow_metadata also admits http:// to the metadata host (the
 * metadata server speaks plain HTTP on a link-local address). 0, or
 * DL_EINVALID naming url.
 */
int dl_gcp_url_check(const char *url, int allow_metadata,
                     struct dl_err *err) DL_WUR;

/* Is host (no port, IPv6 without brackets) a loopback name or address? */
int dl_gcp_host_is_loopback(const char *host);

/*
 * A URL given by a credential file (token_uri, token_url,
 * service_account_impersonation_url) that points at a Google host whose API
 * has an override is rewritten to the override's base; any other URL is
 * copied. Returns a malloc'd string (free()).
 */
char *dl_gcp_url_rewrite(const struct dl_gcp_endpoints *e, const char *url);

#endif
