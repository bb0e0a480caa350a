/*
 * admin.c - the admin API under /_fake/v1/: state, faults, request counts,
 * one-shot failures. Never subject to faults, never needs a token.
 */
#include <stdio.h>
#include <string.h>

#include "fake.h"

static const char *const state_keys[] = {"projects", "run",     "iam", "builds",
                                         "bigquery", "storage", NULL};

/* Does obj have a string at the dotted path? */
static int has_str(json_t *obj, const char *path)
{
    char key[64];
    const char *dot;
    while ((dot = strchr(path, '.'))) {
        snprintf(key, sizeof key, "%.*s", (int)(dot - path), path);
        obj = json_object_get(obj, key);
        path = dot + 1;
    }
    return json_is_string(json_object_get(obj, path));
}

/* Every element of state.a[.b] must be an object with string fields
 * (NULL-terminated list). 0 or -1 with resp filled. */
static int check_list(struct fk_resp *resp, json_t *st, const char *a,
                      const char *b, const char *const *fields)
{
    json_t *arr = json_object_get(st, a);
    size_t i;
    json_t *x;
    if (b)
        arr = json_object_get(arr, b);
    if (!arr)
        return 0;
    if (!json_is_array(arr)) {
        fk_error(resp, 400, "INVALID_ARGUMENT", NULL,
                 "\"%s%s%s\" must be an array", a, b ? "." : "", b ? b : "");
        return -1;
    }
    json_array_foreach(arr, i, x)
    {
        for (const char *const *f = fields; *f; f++) {
            if (json_is_object(x) && has_str(x, *f))
                continue;
            fk_error(resp, 400, "INVALID_ARGUMENT", NULL,
                     "%s%s%s[%zu] needs a string \"%s\"", a, b ? "." : "",
                     b ? b : "", i, *f);
            return -1;
        }
    }
    return 0;
}

static int check_policies(struct fk_resp *resp, json_t *iam)
{
    const char *key;
    json_t *p, *b, *m;
    size_t i, j;
    json_object_foreach(iam, key, p)
    {
        json_t *bindings = json_object_get(p, "bindings");
        int ok = json_is_object(p) && (!bindings || json_is_array(bindings));
        json_array_foreach(bindings, i, b)
        {
            json_t *members = json_object_get(b, "members");
            if (!has_str(b, "role") || !json_is_array(members))
                ok = 0;
            json_array_foreach(members, j, m) if (!json_is_string(m)) ok = 0;
        }
        if (!ok) {
            fk_error(resp, 400, "INVALID_ARGUMENT", NULL,
                     "iam[\"%s\"] is not a policy with bindings of a role "
                     "and members",
                     key);
            return -1;
        }
    }
    return 0;
}

static int check_shape(struct fk_resp *resp, json_t *st)
{
    static const char *const name[] = {"name", NULL};
    static const char *const build[] = {"id", "projectId", "status", NULL};
    static const char *const table[] = {"tableReference.projectId",
                                        "tableReference.datasetId",
                                        "tableReference.tableId", NULL};
    static const char *const dataset[] = {"datasetReference.projectId",
                                          "datasetReference.datasetId", NULL};
    static const char *const object[] = {"bucket", "name", NULL};
    if (check_list(resp, st, "run", "services", name) ||
        check_list(resp, st, "run", "revisions", name) ||
        check_list(resp, st, "builds", NULL, build) ||
        check_list(resp, st, "bigquery", "tables", table) ||
        check_list(resp, st, "bigquery", "datasets", dataset) ||
        check_list(resp, st, "storage", "buckets", name) ||
        check_list(resp, st, "storage", "objects", object) ||
        check_policies(resp, json_object_get(st, "iam")))
        return -1;
    static const char *const run_keys[] = {"services", "revisions", NULL};
    static const char *const bq_keys[] = {"tables", "datasets", NULL};
    static const char *const gcs_keys[] = {"buckets", "objects", NULL};
    static const char *const proj_keys[] = {
        "projectId",  "projectNumber", "name",   "lifecycleState",
        "createTime", "parent",        "labels", NULL};
    if (fk_check_fields(resp, st, "", state_keys) ||
        fk_check_fields(resp, json_object_get(st, "run"), "run", run_keys) ||
        fk_check_fields(resp, json_object_get(st, "bigquery"), "bigquery",
                        bq_keys) ||
        fk_check_fields(resp, json_object_get(st, "storage"), "storage",
                        gcs_keys))
        return -1;
    json_t *projects = json_object_get(st, "projects");
    size_t i;
    json_t *p;
    if (projects && !json_is_array(projects)) {
        fk_error(resp, 400, "INVALID_ARGUMENT", NULL,
                 "\"projects\" must be an array");
        return -1;
    }
    json_array_foreach(projects, i, p)
    {
        if (fk_check_fields(resp, p, "projects", proj_keys))
            return -1;
        if (!json_is_string(json_object_get(p, "projectId")) ||
            !json_is_string(json_object_get(p, "projectNumber"))) {
            fk_error(resp, 400, "INVALID_ARGUMENT", NULL,
                     "every project needs string \"projectId\" and "
                     "\"projectNumber\"");
            return -1;
        }
    }
    if (json_object_get(st, "iam") &&
        !json_is_object(json_object_get(st, "iam"))) {
        fk_error(resp, 400, "INVALID_ARGUMENT", NULL,
                 "\"iam\" must be an object");
        return -1;
    }
    return 0;
}

static void put_state(struct fk_req *req, struct fk_resp *resp)
{
    json_t *st = fk_body_object(req, resp);
    if (!st)
        return;
    if (check_shape(resp, st)) {
        json_decref(st);
        return;
    }
    json_decref(fk.state);
    fk.state = json_deep_copy(st);
    json_decref(st);
    json_array_clear(fk.ops);
    fk.fail_revisions = 0;
    fk.fail_builds = 0;
    fk_run_normalize();
    fk_iam_normalize();
    fk_data_normalize();
    fk_ok(resp, json_object());
}

static void get_state(struct fk_req *req, struct fk_resp *resp)
{
    json_t *out = json_object();
    for (const char *const *k = state_keys; *k; k++) {
        json_t *v = json_object_get(fk.state, *k);
        if (v)
            json_object_set_new(out, *k, json_deep_copy(v));
    }
    fk_ok(resp, out);
}

static void put_faults(struct fk_req *req, struct fk_resp *resp)
{
    char msg[256];
    json_t *f = fk_body_object(req, resp);
    if (!f)
        return;
    if (fk_faults_set(f, msg, sizeof msg) != 0)
        fk_error(resp, 400, "INVALID_ARGUMENT", NULL, "%s", msg);
    else
        fk_ok(resp, json_object());
    json_decref(f);
}

static void get_faults(struct fk_req *req, struct fk_resp *resp)
{
    fk_ok(resp, fk_faults_json());
}

static void get_requests(struct fk_req *req, struct fk_resp *resp)
{
    fk_ok(resp, fk_requests_json());
}

static void delete_requests(struct fk_req *req, struct fk_resp *resp)
{
    fk_requests_reset();
    fk_ok(resp, json_object());
}

static void fail_next_revision(struct fk_req *req, struct fk_resp *resp)
{
    fk.fail_revisions++;
    fk_ok(resp, json_pack("{s:i}", "pending", fk.fail_revisions));
}

static void fail_next_build(struct fk_req *req, struct fk_resp *resp)
{
    fk.fail_builds++;
    fk_ok(resp, json_pack("{s:i}", "pending", fk.fail_builds));
}

#define A (FK_ROUTE_NOAUTH | FK_ROUTE_ADMIN)
const struct fk_route fk_routes_admin[] = {
    {"PUT", "/_fake/v1/state", put_state, A},
    {"GET", "/_fake/v1/state", get_state, A},
    {"PUT", "/_fake/v1/faults", put_faults, A},
    {"GET", "/_fake/v1/faults", get_faults, A},
    {"GET", "/_fake/v1/requests", get_requests, A},
    {"DELETE", "/_fake/v1/requests", delete_requests, A},
    {"POST", "/_fake/v1/fail-next-revision", fail_next_revision, A},
    {"POST", "/_fake/v1/fail-next-build", fail_next_build, A},
    {NULL, NULL, NULL, 0},
};
