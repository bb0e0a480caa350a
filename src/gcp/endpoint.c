#include "gcp/endpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/alloc.h"

struct api_info {
    const char *name; /* lower case, for messages and metrics */
    const char *env;  /* DRIFTLESS_<ENV>_ENDPOINT */
    const char *host; /* the real host */
};

static const struct api_info apis[DL_GCP_API_COUNT] = {
    [DL_GCP_RUN] = {"run", "RUN", "run.googleapis.com"},
    [DL_GCP_RESOURCEMANAGER] = {"resourcemanager", "RESOURCEMANAGER",
                                "cloudresourcemanager.googleapis.com"},
    [DL_GCP_FIRESTORE] = {"firestore", "FIRESTORE", "firestore.googleapis.com"},
    [DL_GCP_CLOUDBUILD] = {"cloudbuild", "CLOUDBUILD",
                           "cloudbuild.googleapis.com"},
    [DL_GCP_BIGQUERY] = {"bigquery", "BIGQUERY", "bigquery.googleapis.com"},
    [DL_GCP_STORAGE] = {"storage", "STORAGE", "storage.googleapis.com"},
    [DL_GCP_OAUTH2] = {"oauth2", "OAUTH2", "oauth2.googleapis.com"},
    [DL_GCP_STS] = {"sts", "STS", "sts.googleapis.com"},
    [DL_GCP_IAMCREDENTIALS] = {"iamcredentials", "IAMCREDENTIALS",
                               "iamcredentials.googleapis.com"},
    [DL_GCP_METADATA] = {"metadata", NULL, "metadata.google.internal"},
};

const char *dl_gcp_api_name(enum dl_gcp_api api)
{
    if ((unsigned)api >= DL_GCP_API_COUNT)
        return "?";
    return apis[api].name;
}

int dl_gcp_host_is_loopback(const char *host)
{
    if (strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0 ||
        strcmp(host, "[::1]") == 0)
        return 1;
    if (strncmp(host, "127.", 4) == 0) {
        /* 127.0.0.0/8: three more dotted decimal octets. */
        const char *p = host + 4;
        int parts = 2; /* "127" and the octet after the dot */

        for (; *p; p++) {
            if (*p == '.')
                parts++;
            else if (*p < '0' || *p > '9')
                return 0;
        }
        return parts == 4;
    }
    return 0;
}

/*
 * Split "scheme://host[:port][/...]" into scheme length and host (copied,
 * without port or brackets). 0, or -1 when url has no scheme or host.
 */
static int url_host(const char *url, int *https, char *host, size_t size)
{
    const char *p, *end;
    size_t n;

    if (strncasecmp(url, "https://", 8) == 0) {
        *https = 1;
        p = url + 8;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        *https = 0;
        p = url + 7;
    } else {
        return -1;
    }
    if (*p == '[') {
        end = strchr(p, ']');
        if (!end)
            return -1;
        p++;
    } else {
        end = p + strcspn(p, ":/?#");
    }
    n = (size_t)(end - p);
    if (n == 0 || n >= size || memchr(p, '@', n))
        return -1;
    memcpy(host, p, n);
    host[n] = '\0';
    return 0;
}

static const char *metadata_host(void)
{
    const char *h = getenv("GCE_METADATA_HOST");

    if (!h || !*h)
        h = getenv("GCE_METADATA_ROOT");
    return h && *h ? h : "metadata.google.internal";
}

int dl_gcp_url_check(const char *url, int allow_metadata, struct dl_err *err)
{
    char host[256];
    int https;

    if (url_host(url, &https, host, sizeof(host)) < 0)
        return dl_err_set(err, DL_EINVALID,
                          "'%s' is not an http:// or https:// URL", url);
    if (https || dl_gcp_host_is_loopback(host))
        return 0;
    if (allow_metadata) {
        char mhost[256];
        const char *m = metadata_host();
        size_t n = strcspn(m, ":/");

        if (n < sizeof(mhost)) {
            memcpy(mhost, m, n);
            mhost[n] = '\0';
            if (strcasecmp(mhost, host) == 0 ||
                strcmp(host, "169.254.169.254") == 0)
                return 0;
        }
    }
    return dl_err_set(err, DL_EINVALID,
                      "refusing plain http:// to '%s': only loopback hosts "
                      "(127.0.0.0/8, localhost, ::1) may be used without TLS",
                      host);
}

static char *strip_slash(const char *s)
{
    char *r = dl_strdup(s);
    size_t n = strlen(r);

    while (n > 0 && r[n - 1] == '/')
        r[--n] = '\0';
    return r;
}

int dl_gcp_endpoints_load(struct dl_gcp_endpoints *e, struct dl_err *err)
{
    const char *all = getenv("DRIFTLESS_API_ENDPOINT");
    const char *emu = getenv("FIRESTORE_EMULATOR_HOST");
    int rc = 0;

    memset(e, 0, sizeof(*e));
    if (all && !*all)
        all = NULL;
    if (all && dl_gcp_url_check(all, 0, err) < 0) {
        dl_err_prefix(err, "DRIFTLESS_API_ENDPOINT");
        rc = DL_EINVALID;
        goto done;
    }
    for (int i = 0; i < DL_GCP_API_COUNT; i++) {
        char var[64];
        const char *v = NULL;

        if (i == DL_GCP_METADATA) {
            char *m = dl_asprintf("http://%s", metadata_host());

            e->base[i] = strip_slash(m);
            free(m);
            continue;
        }
        snprintf(var, sizeof(var), "DRIFTLESS_%s_ENDPOINT", apis[i].env);
        v = getenv(var);
        if (v && *v) {
            if (dl_gcp_url_check(v, 0, err) < 0) {
                dl_err_prefix(err, "%s", var);
                rc = DL_EINVALID;
                goto done;
            }
            e->base[i] = strip_slash(v);
        } else if (i == DL_GCP_FIRESTORE && emu && *emu) {
            char *u = dl_asprintf("http://%s", emu);

            if (dl_gcp_url_check(u, 0, err) < 0) {
                free(u);
                dl_err_prefix(err, "FIRESTORE_EMULATOR_HOST");
                rc = DL_EINVALID;
                goto done;
            }
            e->base[i] = strip_slash(u);
            e->firestore_emulator = 1;
            free(u);
        } else if (all) {
            e->base[i] = strip_slash(all);
        } else {
            e->base[i] = dl_asprintf("https://%s", apis[i].host);
        }
    }
done:
    if (rc < 0)
        dl_gcp_endpoints_dispose(e);
    return rc;
}

void dl_gcp_endpoints_dispose(struct dl_gcp_endpoints *e)
{
    for (int i = 0; i < DL_GCP_API_COUNT; i++) {
        free(e->base[i]);
        e->base[i] = NULL;
    }
    e->firestore_emulator = 0;
}

char *dl_gcp_url_rewrite(const struct dl_gcp_endpoints *e, const char *url)
{
    char host[256];
    int https;

    if (url_host(url, &https, host, sizeof(host)) == 0 && https) {
        for (int i = 0; i < DL_GCP_API_COUNT; i++) {
            const char *real = apis[i].host;
            size_t skip;
            char *def;

            if (i == DL_GCP_METADATA || strcasecmp(host, real) != 0 ||
                !e->base[i])
                continue;
            def = dl_asprintf("https://%s", real);
            if (strcmp(def, e->base[i]) == 0) {
                free(def);
                break; /* no override in force */
            }
            free(def);
            skip = 8 + strlen(host);
            return dl_asprintf("%s%s", e->base[i], url + skip);
        }
    }
    return dl_strdup(url);
}
