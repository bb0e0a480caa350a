/*
 * iam.c - Resource Manager v1/v3 projects get, getIamPolicy and
 * setIamPolicy, and the same IAM methods on Cloud Run v2 services.
 *
 * Policies live in state.iam keyed by resource ("projects/P" with the
 * project ID, "projects/P/locations/L/services/S"). As GCP does: bindings
 * come back sorted by role with sorted, de-duplicated members; version is 1
 * unless a binding has a condition (then 3); each write gets a new 8-byte
 * base64 etag; a stale etag gets 409 ABORTED with the real message; a never
 * set policy reads as {"etag":"ACAB"}.
 */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"
#include "util/alloc.h"

#define EMPTY_ETAG "ACAB"
#define MAX_PRINCIPALS 1500 /* counted per binding, as GCP does */

static void new_etag(char out[16])
{
    unsigned char b[8];
    if (RAND_bytes(b, 8) != 1)
        abort();
    b[0] = 0x07; /* real ones start with "Bw" */
    fk_b64(out, b, 8);
}

static const char *const member_prefixes[] = {
    "user:",          "serviceAccount:",
    "group:",         "domain:",
    "principal://",   "principalSet://",
    "deleted:user:",  "deleted:serviceAccount:",
    "deleted:group:", "deleted:principal://",
    "projectOwner:",  "projectEditor:",
    "projectViewer:", NULL};

static int member_ok(const char *m)
{
    if (!strcmp(m, "allUsers") || !strcmp(m, "allAuthenticatedUsers"))
        return 1;
    for (const char *const *p = member_prefixes; *p; p++) {
        size_t n = strlen(*p);
        if (!strncmp(m, *p, n) && m[n])
            return 1;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static char *binding_key(json_t *b)
{
    json_t *c = json_object_get(b, "condition");
    char *cs = c ? json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    char *k =
        dl_asprintf("%s\x01%s", json_string_value(json_object_get(b, "role")),
                    cs ? cs : "");
    free(cs);
    return k;
}

static int cmp_binding(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    char *kx = binding_key(x), *ky = binding_key(y);
    int r = strcmp(kx, ky);
    free(kx);
    free(ky);
    return r;
}

/*
 * Merge bindings with the same (role, condition), de-duplicate and sort
 * members, drop empty bindings, sort by role. Returns the new array and
 * sets *conditional. Assumes validated input.
 */
static json_t *normalize_bindings(json_t *bindings, int *conditional)
{
    json_t *by_key = json_object();
    size_t i, j;
    json_t *b, *m;
    *conditional = 0;
    json_array_foreach(bindings, i, b)
    {
        char *k = binding_key(b);
        json_t *acc = json_object_get(by_key, k);
        if (!acc) {
            acc = json_object();
            json_object_set(acc, "role", json_object_get(b, "role"));
            json_object_set_new(acc, "members", json_object());
            if (json_object_get(b, "condition"))
                json_object_set(acc, "condition",
                                json_object_get(b, "condition"));
            json_object_set_new(by_key, k, acc);
        }
        json_array_foreach(json_object_get(b, "members"), j, m)
            json_object_set_new(json_object_get(acc, "members"),
                                json_string_value(m), json_true());
        free(k);
    }
    size_t n = json_object_size(by_key), k = 0;
    json_t **list = dl_calloc(n ? n : 1, sizeof *list);
    const char *key;
    json_t *acc;
    json_object_foreach(by_key, key, acc)
    {
        json_t *set = json_object_get(acc, "members");
        size_t nm = json_object_size(set), im = 0;
        if (nm == 0)
            continue;
        const char **names = dl_calloc(nm, sizeof *names);
        const char *mk;
        json_t *mv;
        json_object_foreach(set, mk, mv) names[im++] = mk;
        qsort(names, nm, sizeof *names, cmp_str);
        json_t *out = json_object();
        json_object_set(out, "role", json_object_get(acc, "role"));
        json_t *members = json_array();
        for (im = 0; im < nm; im++)
            json_array_append_new(members, json_string(names[im]));
        json_object_set_new(out, "members", members);
        if (json_object_get(acc, "condition")) {
            json_object_set(out, "condition",
                            json_object_get(acc, "condition"));
            *conditional = 1;
        }
        free(names);
        list[k++] = out;
    }
    qsort(list, k, sizeof *list, cmp_binding);
    json_t *arr = json_array();
    for (size_t x = 0; x < k; x++)
        json_array_append_new(arr, list[x]);
    free(list);
    json_decref(by_key);
    return arr;
}

/* Validate a policy from a request: 0 or -1 with resp filled. */
static int validate_policy(struct fk_resp *resp, json_t *policy)
{
    static const char *const pkeys[] = {"version", "etag", "bindings",
                                        "auditConfigs", NULL};
    static const char *const bkeys[] = {"role", "members", "condition", NULL};
    static const char *const ckeys[] = {"title", "description", "expression",
                                        "location", NULL};
    size_t i, j, principals = 0;
    json_t *b, *m;
    if (!json_is_object(policy)) {
        fk_error(resp, 400, "INVALID_ARGUMENT", NULL,
                 "Request contains an invalid argument.");
        return -1;
    }
    if (fk_check_fields(resp, policy, "policy", pkeys))
        return -1;
    json_t *bindings = json_object_get(policy, "bindings");
    if (bindings && !json_is_array(bindings)) {
        fk_error(resp, 400, "INVALID_ARGUMENT", NULL,
                 "Invalid value at 'policy.bindings'");
        return -1;
    }
    json_t *ver = json_object_get(policy, "version");
    json_int_t version = json_integer_value(ver);
    if (ver && (!json_is_integer(ver) ||
                (version != 0 && version != 1 && version != 3))) {
        fk_error(resp, 400, "INVALID_ARGUMENT", NULL,
                 "Invalid policy version %lld", (long long)version);
        return -1;
    }
    json_array_foreach(bindings, i, b)
    {
        if (fk_check_fields(resp, b, "policy.bindings[0]", bkeys) ||
            fk_check_fields(resp, json_object_get(b, "condition"),
                            "policy.bindings[0].condition", ckeys))
            return -1;
        const char *role = json_string_value(json_object_get(b, "role"));
        if (!role ||
            (strncmp(role, "roles/", 6) && strncmp(role, "projects/", 9) &&
             strncmp(role, "organizations/", 14))) {
            fk_error(resp, 400, "INVALID_ARGUMENT", NULL,
                     "Role (%s) does not exist in the resource's hierarchy.",
                     role ? role : "");
            return -1;
        }
        json_t *c = json_object_get(b, "condition");
        if (c && !json_is_string(json_object_get(c, "expression"))) {
            fk_error(resp, 400, "INVALID_ARGUMENT", NULL,
                     "Condition expression is required.");
            return -1;
        }
        if (c && version < 3) {
            fk_error(resp, 400, "INVALID_ARGUMENT", NULL,
                     "Invalid argument: 'Policies with conditional role "
                     "bindings require version 3 or later.'");
            return -1;
        }
        json_array_foreach(json_object_get(b, "members"), j, m)
        {
            principals++;
            if (!json_is_string(m) || !member_ok(json_string_value(m))) {
                fk_error(resp, 400, "INVALID_ARGUMENT", NULL,
                         "Invalid member type in %s. Please set a valid "
                         "type prefix for the member.",
                         json_is_string(m) ? json_string_value(m) : "?");
                return -1;
            }
        }
    }
    if (principals > MAX_PRINCIPALS) {
        fk_error(resp, 400, "INVALID_ARGUMENT", NULL,
                 "The number of members in the policy (%zu) is larger than "
                 "the maximum allowed size %d.",
                 principals, MAX_PRINCIPALS);
        return -1;
    }
    return 0;
}

/* Put policy p (borrowed, validated) in normal form, new json. */
static json_t *normalize_policy(json_t *p, const char *etag)
{
    int conditional = 0;
    json_t *bindings =
        normalize_bindings(json_object_get(p, "bindings"), &conditional);
    json_t *out = json_object();
    json_object_set_new(out, "version", json_integer(conditional ? 3 : 1));
    json_object_set_new(out, "etag", json_string(etag));
    if (json_array_size(bindings))
        json_object_set_new(out, "bindings", bindings);
    else
        json_decref(bindings);
    if (json_array_size(json_object_get(p, "auditConfigs")))
        json_object_set(out, "auditConfigs",
                        json_object_get(p, "auditConfigs"));
    return out;
}

void fk_iam_normalize(void)
{
    json_t *iam = json_object_get(fk.state, "iam");
    const char *key;
    json_t *p;
    if (!json_is_object(iam))
        return;
    json_object_foreach(iam, key, p)
    {
        char etag[16];
        const char *e = json_string_value(json_object_get(p, "etag"));
        if (!e) {
            new_etag(etag);
            e = etag;
        }
        json_object_set_new(iam, key, normalize_policy(p, e));
    }
}

/* The policy as a client asked for it (requested version). New json. */
static json_t *policy_view(json_t *stored, json_int_t requested)
{
    if (!stored)
        return json_pack("{s:s}", "etag", EMPTY_ETAG);
    json_t *out = json_deep_copy(stored);
    if (requested >= 3 ||
        json_integer_value(json_object_get(out, "version")) < 3)
        return out;
    /* A v1 view of a conditional policy: GCP renames conditional roles. */
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(out, "bindings"), i, b)
    {
        json_t *c = json_object_get(b, "condition");
        if (!c)
            continue;
        char *cs = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        EVP_Digest(cs, strlen(cs), md, &mdlen, EVP_sha256(), NULL);
        char role[600];
        snprintf(role, sizeof role,
                 "%s_withcond_%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x",
                 json_string_value(json_object_get(b, "role")), md[0], md[1],
                 md[2], md[3], md[4], md[5], md[6], md[7], md[8], md[9]);
        json_object_set_new(b, "role", json_string(role));
        json_object_del(b, "condition");
        free(cs);
    }
    json_object_set_new(out, "version", json_integer(1));
    return out;
}

static int requested_version(struct fk_resp *resp, json_t *v, json_int_t *out)
{
    *out = 0;
    if (!v)
        return 0;
    if (json_is_string(v))
        *out = atoll(json_string_value(v));
    else if (json_is_integer(v))
        *out = json_integer_value(v);
    else
        *out = -1;
    if (*out != 0 && *out != 1 && *out != 3) {
        fk_error(resp, 400, "INVALID_ARGUMENT", NULL,
                 "Invalid requested policy version %lld", (long long)*out);
        return -1;
    }
    return 0;
}

static void do_get(struct fk_resp *resp, const char *key, json_t *options)
{
    json_int_t requested = 0;
    if (requested_version(resp,
                          json_object_get(options, "requestedPolicyVersion"),
                          &requested))
        return;
    json_t *iam = json_object_get(fk.state, "iam");
    fk_ok(resp, policy_view(json_object_get(iam, key), requested));
}

/* Is a setIamPolicy updateMask something other than policy fields? */
static int bad_mask(const char *mask)
{
    char *copy = dl_strdup(mask), *save = NULL;
    int bad = 0;
    for (char *f = strtok_r(copy, ",", &save); f;
         f = strtok_r(NULL, ",", &save)) {
        f += strspn(f, " ");
        if (strcmp(f, "bindings") && strcmp(f, "etag") &&
            strcmp(f, "auditConfigs") && strcmp(f, "version"))
            bad = 1;
    }
    free(copy);
    return bad;
}

/* A concurrent writer adds a member of its own to roles/browser. */
static void race(json_t *iam, const char *key)
{
    static int n;
    char member[64], etag[16];
    json_t *cur = json_object_get(iam, key);
    json_t *p = cur ? json_deep_copy(cur) : json_object();
    json_t *bindings = json_object_get(p, "bindings");
    if (!bindings) {
        bindings = json_array();
        json_object_set_new(p, "bindings", bindings);
    }
    snprintf(member, sizeof member, "user:racer-%d@example.com", ++n);
    json_array_append_new(
        bindings,
        json_pack("{s:s,s:[s]}", "role", "roles/browser", "members", member));
    new_etag(etag);
    json_object_set_new(iam, key, normalize_policy(p, etag));
    json_decref(p);
}

static void do_set(struct fk_resp *resp, const char *key, json_t *body,
                   const char *path)
{
    static const char *const keys[] = {"policy", "updateMask", NULL};
    if (fk_check_fields(resp, body, "", keys))
        return;
    json_t *policy = json_object_get(body, "policy");
    if (validate_policy(resp, policy))
        return;
    json_t *iam = json_object_get(fk.state, "iam");
    if (!json_is_object(iam)) {
        iam = json_object();
        json_object_set_new(fk.state, "iam", iam);
    }
    if (fk_fault_etag_race(path))
        race(iam, key);
    json_t *cur = json_object_get(iam, key);
    const char *cur_etag =
        cur ? json_string_value(json_object_get(cur, "etag")) : EMPTY_ETAG;
    const char *want = json_string_value(json_object_get(policy, "etag"));
    if (want && *want && strcmp(want, cur_etag) != 0) {
        fk_error(resp, 409, "ABORTED", NULL,
                 "There were concurrent policy changes. Please retry the "
                 "whole read-modify-write with exponential backoff. The "
                 "request's ETag '%s' did not match the current policy's "
                 "ETag '%s'.",
                 want, cur_etag);
        return;
    }
    const char *mask = json_string_value(json_object_get(body, "updateMask"));
    if (mask && bad_mask(mask)) {
        fk_error(resp, 400, "INVALID_ARGUMENT", NULL,
                 "Invalid update_mask \"%s\": only bindings, etag and "
                 "auditConfigs may be updated",
                 mask);
        return;
    }
    json_t *src = json_deep_copy(policy);
    if (cur && (!mask || !strstr(mask, "auditConfigs"))) {
        json_t *ac = json_object_get(cur, "auditConfigs");
        if (ac)
            json_object_set(src, "auditConfigs", ac);
        else
            json_object_del(src, "auditConfigs");
    }
    char etag[16];
    new_etag(etag);
    json_t *stored = normalize_policy(src, etag);
    json_decref(src);
    json_object_set_new(iam, key, stored);
    fk_ok(resp, json_deep_copy(stored));
}

static int project_key(struct fk_resp *resp, const char *p, char *key,
                       size_t size)
{
    const char *id = fk_project_id(p);
    if (!id) {
        fk_error(resp, 403, "PERMISSION_DENIED", NULL,
                 "The caller does not have permission");
        return -1;
    }
    snprintf(key, size, "projects/%s", id);
    return 0;
}

static void project_get_iam(struct fk_req *req, struct fk_resp *resp)
{
    static const char *const keys[] = {"options", NULL};
    static const char *const okeys[] = {"requestedPolicyVersion", NULL};
    char key[600];
    json_t *body = fk_body_object(req, resp);
    if (!body)
        return;
    if (!fk_check_fields(resp, body, "", keys) &&
        !fk_check_fields(resp, json_object_get(body, "options"), "options",
                         okeys) &&
        !project_key(resp, req->caps[0], key, sizeof key))
        do_get(resp, key, json_object_get(body, "options"));
    json_decref(body);
}

static void project_set_iam(struct fk_req *req, struct fk_resp *resp)
{
    char key[600];
    json_t *body = fk_body_object(req, resp);
    if (!body)
        return;
    if (!project_key(resp, req->caps[0], key, sizeof key))
        do_set(resp, key, body, req->path);
    json_decref(body);
}

static void project_get_v1(struct fk_req *req, struct fk_resp *resp)
{
    const char *id = fk_project_id(req->caps[0]);
    if (!id) {
        fk_error(resp, 403, "PERMISSION_DENIED", NULL,
                 "The caller does not have permission");
        return;
    }
    json_t *p = NULL;
    size_t i;
    json_t *x;
    json_array_foreach(
        json_object_get(fk.state, "projects"), i,
        x) if (!strcmp(json_string_value(json_object_get(x, "projectId")), id))
        p = x;
    json_t *out = json_pack(
        "{s:O,s:O,s:s,s:O,s:s}", "projectNumber",
        json_object_get(p, "projectNumber"), "projectId",
        json_object_get(p, "projectId"), "lifecycleState", "ACTIVE", "name",
        json_object_get(p, "name") ? json_object_get(p, "name")
                                   : json_object_get(p, "projectId"),
        "createTime", "2024-01-01T00:00:00.000Z");
    if (json_object_get(p, "labels"))
        json_object_set(out, "labels", json_object_get(p, "labels"));
    if (json_object_get(p, "parent"))
        json_object_set(out, "parent", json_object_get(p, "parent"));
    fk_ok(resp, out);
}

static void project_get_v3(struct fk_req *req, struct fk_resp *resp)
{
    const char *num = fk_project_number(req->caps[0]);
    if (!num) {
        fk_error(resp, 403, "PERMISSION_DENIED", NULL,
                 "Permission 'resourcemanager.projects.get' denied on "
                 "resource '//cloudresourcemanager.googleapis.com/projects/"
                 "%s' (or it may not exist).",
                 req->caps[0]);
        return;
    }
    char name[300];
    snprintf(name, sizeof name, "projects/%s", num);
    const char *id = fk_project_id(req->caps[0]);
    fk_ok(resp,
          json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "name", name, "projectId", id,
                    "state", "ACTIVE", "displayName", id, "createTime",
                    "2024-01-01T00:00:00.000Z", "etag", "W/\"fakegcp\""));
}

/* Cloud Run services: the service must exist. */
static int service_key(struct fk_req *req, struct fk_resp *resp, char *key,
                       size_t size)
{
    const char *id = fk_project_id(req->caps[0]);
    snprintf(key, size, "projects/%s/locations/%s/services/%s",
             id ? id : req->caps[0], req->caps[1], req->caps[2]);
    size_t i;
    json_t *s;
    json_array_foreach(fk_state_array("run", "services"), i, s)
    {
        const char *n = json_string_value(json_object_get(s, "name"));
        if (n && !strcmp(n, key))
            return 0;
    }
    fk_error(resp, 404, "NOT_FOUND", NULL, "Resource '%s' was not found", key);
    return -1;
}

static void service_get_iam(struct fk_req *req, struct fk_resp *resp)
{
    char key[1600];
    if (service_key(req, resp, key, sizeof key))
        return;
    const char *v = fk_query(req, "options.requestedPolicyVersion");
    json_t *options = json_object();
    if (v)
        json_object_set_new(options, "requestedPolicyVersion", json_string(v));
    do_get(resp, key, options);
    json_decref(options);
}

static void service_set_iam(struct fk_req *req, struct fk_resp *resp)
{
    char key[1600];
    json_t *body = fk_body_object(req, resp);
    if (!body)
        return;
    if (!service_key(req, resp, key, sizeof key))
        do_set(resp, key, body, req->path);
    json_decref(body);
}

const struct fk_route fk_routes_iam[] = {
    {"POST", "/v1/projects/*:getIamPolicy", project_get_iam, 0},
    {"POST", "/v1/projects/*:setIamPolicy", project_set_iam, 0},
    {"POST", "/v3/projects/*:getIamPolicy", project_get_iam, 0},
    {"POST", "/v3/projects/*:setIamPolicy", project_set_iam, 0},
    {"GET", "/v1/projects/*", project_get_v1, 0},
    {"GET", "/v3/projects/*", project_get_v3, 0},
    {"GET", "/v2/projects/*/locations/*/services/*:getIamPolicy",
     service_get_iam, 0},
    {"POST", "/v2/projects/*/locations/*/services/*:setIamPolicy",
     service_set_iam, 0},
    {NULL, NULL, NULL, 0},
};
