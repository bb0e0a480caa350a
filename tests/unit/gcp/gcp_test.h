/*
 * gcp_test.h - helpers shared by the src/gcp unit tests (header-only).
 */
#ifndef DL_TEST_GCP_TEST_H
#define DL_TEST_GCP_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "gcp/gcp.h"
#include "gcp/http.h"

#define FIX(name) DL_SOURCE_DIR "/tests/fixtures/gcp/" name

/* A clean environment: no overrides, no credentials but the given token. */
static inline void gcp_test_env(const char *token)
{
    static const char *const vars[] = {
        "DRIFTLESS_API_ENDPOINT",
        "DRIFTLESS_RUN_ENDPOINT",
        "DRIFTLESS_RESOURCEMANAGER_ENDPOINT",
        "DRIFTLESS_FIRESTORE_ENDPOINT",
        "DRIFTLESS_CLOUDBUILD_ENDPOINT",
        "DRIFTLESS_BIGQUERY_ENDPOINT",
        "DRIFTLESS_STORAGE_ENDPOINT",
        "DRIFTLESS_OAUTH2_ENDPOINT",
        "DRIFTLESS_STS_ENDPOINT",
        "DRIFTLESS_IAMCREDENTIALS_ENDPOINT",
        "FIRESTORE_EMULATOR_HOST",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "GCE_METADATA_HOST",
        "GCE_METADATA_ROOT",
        "CLOUDSDK_CONFIG",
        "DRIFTLESS_ACCESS_TOKEN",
    };
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
    setenv("HOME", "/nonexistent-driftless-test-home", 1);
    if (token)
        setenv("DRIFTLESS_ACCESS_TOKEN", token, 1);
}

/* A client over a fresh replay transport (*tp); opts may be NULL. */
static inline struct dl_gcp_client *
gcp_test_client(struct dl_http_transport **tp, struct dl_gcp_client_opts *o)
{
    struct dl_gcp_client_opts def;
    struct dl_gcp_client *c = NULL;
    struct dl_err err;

    if (!o) {
        memset(&def, 0, sizeof(def));
        o = &def;
    }
    assert_int_equal(dl_http_replay_new(tp), 0);
    o->transport = *tp;
    if (!o->seed)
        o->seed = 42;
    if (dl_gcp_client_new(&c, o, &err) != 0)
        fail_msg("dl_gcp_client_new: %s", err.msg);
    return c;
}

static inline void gcp_test_add(struct dl_http_transport *t, const char *method,
                                const char *pattern, const char *file)
{
    struct dl_err err;

    if (dl_http_replay_add(t, method, pattern, file, &err) != 0)
        fail_msg("replay add: %s", err.msg);
}

/* The n-th recorded request (fails the test when there is none). */
static inline const struct dl_http_replay_req *
gcp_test_req(struct dl_http_transport *t, size_t n)
{
    const struct dl_http_replay_req *q = dl_http_replay_request(t, n);

    if (!q)
        fail_msg("no request #%zu (only %zu)", n, dl_http_replay_count(t));
    return q;
}

/* Body of a response file (after the first blank line); malloc'd. */
static inline char *gcp_test_body(const char *file)
{
    FILE *f = fopen(file, "rb");
    static char buf[1 << 20];
    size_t n;
    char *p;

    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strstr(buf, "\n\n");
    assert_non_null(p);
    return strdup(p + 2);
}

#endif
