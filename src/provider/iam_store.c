#include "provider/iam_store.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "provider/iam_set.h"
#include "util/alloc.h"

struct dl_iam_store *dl_iam_store_get(struct dl_pass *pass)
{
    if (!pass->state[DL_KIND_IAM_POLICY_MEMBER])
        pass->state[DL_KIND_IAM_POLICY_MEMBER] =
            dl_calloc(1, sizeof(struct dl_iam_store));
    return pass->state[DL_KIND_IAM_POLICY_MEMBER];
}

struct dl_iam_policy_obs *dl_iam_store_find(const struct dl_iam_store *s,
                                            const char *name)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (strcmp(s->obs[i]->name, name) == 0)
            return s->obs[i];
    return NULL;
}

static void got_policy(struct dl_gcp_client *c, int rc,
                       const struct dl_gcp_response *r,
                       const struct dl_err *err, void *ud)
{
    struct dl_iam_policy_obs *o = ud;
    struct dl_err e;

    (void)c;
    o->done = 1;
    o->rc = rc;
    if (rc < 0) {
        o->error = dl_strdup(err && err->msg[0] ? err->msg : "request failed");
        return;
    }
    if (dl_iam_policy_check(r->json, &e) < 0) {
        o->rc = DL_EINVALID;
        o->error = dl_asprintf("getIamPolicy: %s", e.msg);
        return;
    }
    o->policy = json_incref(r->json);
}

struct dl_iam_policy_obs *dl_iam_store_queue(struct dl_iam_store *s,
                                             struct dl_gcp_client *gcp,
                                             const char *name,
                                             enum dl_gcp_api api)
{
    struct dl_iam_policy_obs *o = dl_iam_store_find(s, name);
    struct dl_gcp_request req = {0};
    struct dl_err err = {0};
    json_t *body = NULL;
    char *path = NULL;

    if (o)
        return o;
    o = dl_calloc(1, sizeof(*o));
    o->name = dl_strdup(name);
    o->api = api;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 8;
        s->obs = dl_reallocarray(s->obs, s->cap, sizeof(*s->obs));
    }
    s->obs[s->n++] = o;

    req.api = api;
    req.done = got_policy;
    req.ud = o;
    if (api == DL_GCP_RESOURCEMANAGER) {
        path = dl_asprintf("/v1/%s:getIamPolicy", name);
        body = json_pack("{s:{s:i}}", "options", "requestedPolicyVersion", 3);
        req.method = "POST";
        req.body = body;
        /* getIamPolicy is a read, even though it is a POST. */
        req.retry = DL_GCP_RETRY_READ;
    } else {
        path = dl_asprintf("/v2/%s:getIamPolicy"
                           "?options.requestedPolicyVersion=3",
                           name);
        req.method = "GET";
        req.retry = DL_GCP_RETRY_READ;
    }
    req.path = path;
    if (dl_gcp_submit(gcp, &req, &err) < 0) {
        o->done = 1;
        o->rc = err.code ? err.code : DL_ERROR;
        o->error =
            dl_strdup(err.msg[0] ? err.msg : "cannot queue getIamPolicy");
    }
    json_decref(body);
    free(path);
    return o;
}

int dl_iam_obs_prepare(struct dl_plan_resource *pr,
                       const struct dl_iam_policy_obs *o, const char *name)
{
    const json_t *etag, *version;

    if (!o || !o->done) {
        dl_plan_resource_set_error(pr, "IAM policy of '%s' was not observed",
                                   name);
        return DL_ERROR;
    }
    if (o->rc < 0 || !o->policy) {
        dl_plan_resource_set_error(pr, "getIamPolicy on '%s' failed: %s", name,
                                   o->error ? o->error : "no answer");
        return DL_ERROR;
    }
    etag = json_object_get(o->policy, "etag");
    version = json_object_get(o->policy, "version");
    json_object_set_new(pr->preconditions, "resource", json_string(name));
    /* A policy never set has an etag too; keep whatever came. */
    json_object_set_new(pr->preconditions, "etag",
                        json_is_string(etag)
                            ? json_string(json_string_value(etag))
                            : json_null());
    /* Proto3 JSON may render the int32 version as a number or a string;
     * absent means 0 (an empty policy). */
    if (json_is_integer(version))
        json_object_set_new(pr->preconditions, "version",
                            json_integer(json_integer_value(version)));
    else if (json_is_string(version))
        json_object_set_new(pr->preconditions, "version",
                            json_integer(atoll(json_string_value(version))));
    else
        json_object_set_new(pr->preconditions, "version", json_integer(0));
    return 0;
}

void dl_iam_store_free(struct dl_iam_store *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->obs[i]->name);
        free(s->obs[i]->error);
        json_decref(s->obs[i]->policy);
        free(s->obs[i]);
    }
    free(s->obs);
    free(s);
}

/*
 * Is s[0..len) a non-empty path segment of safe characters? The names go
 * into request paths unencoded, so nothing that could end or escape a path
 * segment ('/', '?', '#', '%', spaces) is accepted. ':' is kept for
 * domain-scoped project IDs ("example.com:proj").
 */
static int segment_ok(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("-._~:", s[i]))
            return 0;
    return 1;
}

/* Is p "projects/X" with X one non-empty segment? */
static int is_project_name(const char *p)
{
    return strncmp(p, "projects/", 9) == 0 && segment_ok(p + 9, strlen(p + 9));
}

/* Is p "projects/P/locations/R/services/S"? Fills the segments. */
static int is_service_name(const char *p, const char *seg[3], size_t len[3])
{
    static const char *const parts[3] = {"projects/", "/locations/",
                                         "/services/"};

    for (size_t i = 0; i < 3; i++) {
        size_t pl = strlen(parts[i]);
        const char *end;

        if (strncmp(p, parts[i], pl) != 0)
            return 0;
        p += pl;
        end = strchr(p, '/');
        if (!end)
            end = p + strlen(p);
        seg[i] = p;
        len[i] = (size_t)(end - p);
        if (!segment_ok(seg[i], len[i]))
            return 0;
        p = end;
    }
    return *p == '\0';
}

int dl_iam_resource_parse(char **name, enum dl_gcp_api *api,
                          const char *project, const char *resource,
                          struct dl_err *err)
{
    static const char run_prefix[] = "run.googleapis.com/";
    static const char crm_prefix[] = "cloudresourcemanager.googleapis.com/";
    const char *p = resource, *seg[3];
    size_t len[3];
    int host_run = 0, host_crm = 0;

    *name = NULL;
    if (!resource || !*resource) {
        *name = dl_asprintf("projects/%s", project);
        *api = DL_GCP_RESOURCEMANAGER;
        return 0;
    }
    if (strncmp(p, "//", 2) == 0)
        p += 2;
    if (strncmp(p, run_prefix, sizeof(run_prefix) - 1) == 0) {
        p += sizeof(run_prefix) - 1;
        host_run = 1;
    } else if (strncmp(p, crm_prefix, sizeof(crm_prefix) - 1) == 0) {
        p += sizeof(crm_prefix) - 1;
        host_crm = 1;
    }
    if (!host_run && is_project_name(p)) {
        *name = dl_strdup(p);
        *api = DL_GCP_RESOURCEMANAGER;
        return 0;
    }
    if (!host_crm && is_service_name(p, seg, len)) {
        *name = dl_asprintf("projects/%.*s/locations/%.*s/services/%.*s",
                            (int)len[0], seg[0], (int)len[1], seg[1],
                            (int)len[2], seg[2]);
        *api = DL_GCP_RUN;
        return 0;
    }
    return dl_err_set(err, DL_EINVALID,
                      "resource '%s' is not supported: use the project "
                      "(omit resource, or projects/P) or a Cloud Run service "
                      "(run.googleapis.com/projects/P/locations/R/services/S)",
                      resource);
}
