/*
 * build.c - Cloud Build v1: builds.create (global and regional) returning
 * an Operation whose metadata is a BuildOperationMetadata, operations.get,
 * builds.get, builds.list with `filter`, builds.cancel.
 *
 * A build goes QUEUED -> WORKING (after a third of --op-delay-ms) ->
 * SUCCESS with results.images[].digest (after --op-delay-ms), or FAILURE
 * with statusDetail/failureInfo when fail-next-build was posted. Builds are
 * in state.builds; timing lives in fk.ops records {"kind":"build", "name",
 * "buildId", "startNs", "dueNs", "fail", "complete", "op"}.
 */
#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/time.h"

#define META_TYPE                                                              \
    "type.googleapis.com/google.devtools.cloudbuild.v1.BuildOperationMetadata"
#define BUILD_TYPE "type.googleapis.com/google.devtools.cloudbuild.v1.Build"

static const char *const build_keys[] = {"name",
                                         "id",
                                         "projectId",
                                         "status",
                                         "statusDetail",
                                         "source",
                                         "steps",
                                         "results",
                                         "createTime",
                                         "startTime",
                                         "finishTime",
                                         "timeout",
                                         "images",
                                         "queueTtl",
                                         "artifacts",
                                         "logsBucket",
                                         "sourceProvenance",
                                         "buildTriggerId",
                                         "options",
                                         "logUrl",
                                         "substitutions",
                                         "tags",
                                         "secrets",
                                         "timing",
                                         "approval",
                                         "serviceAccount",
                                         "availableSecrets",
                                         "warnings",
                                         "gitConfig",
                                         "failureInfo",
                                         "dependencies",
                                         NULL};
static const char *const step_keys[] = {"name",       "env",
                                        "args",       "dir",
                                        "id",         "waitFor",
                                        "entrypoint", "secretEnv",
                                        "volumes",    "timing",
                                        "pullTiming", "timeout",
                                        "status",     "allowFailure",
                                        "exitCode",   "allowExitCodes",
                                        "script",     "automapSubstitutions",
                                        NULL};
static const char *const source_keys[] = {"storageSource",
                                          "repoSource",
                                          "gitSource",
                                          "storageSourceManifest",
                                          "connectedRepository",
                                          "developerConnectConfig",
                                          NULL};
static const char *const git_keys[] = {"url", "dir", "revision", NULL};
/* What a client may send; the rest of build_keys is output only. */
static const char *const input_keys[] = {
    "source",           "steps",     "timeout",      "images",
    "queueTtl",         "artifacts", "logsBucket",   "options",
    "substitutions",    "tags",      "secrets",      "serviceAccount",
    "availableSecrets", "gitConfig", "dependencies", NULL};

static const char *sget(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static json_t *builds(void)
{
    return fk_state_array("builds", NULL);
}

static json_t *find_build(const char *id)
{
    size_t i;
    json_t *b;
    json_array_foreach(builds(), i, b)
    {
        const char *bid = sget(b, "id");
        if (bid && !strcmp(bid, id))
            return b;
    }
    return NULL;
}

static json_t *find_rec(const char *id)
{
    size_t i;
    json_t *r;
    json_array_foreach(fk.ops, i, r)
    {
        const char *bid = sget(r, "buildId");
        if (bid && !strcmp(bid, id))
            return r;
    }
    return NULL;
}

/* Expand $PROJECT_ID, $COMMIT_SHA, $SHORT_SHA, $BUILD_ID and user _VARS
 * (also in ${...} form) in s. malloc'd. */
static char *expand(json_t *b, const char *s)
{
    struct dl_buf out = DL_BUF_INIT(DL_BUF_NOCAP);
    const char *rev = sget(
        json_object_get(json_object_get(b, "source"), "gitSource"), "revision");
    while (*s) {
        if (*s != '$') {
            (void)dl_buf_putc(&out, *s++);
            continue;
        }
        int braced = s[1] == '{';
        const char *start = s + 1 + braced;
        size_t n = 0;
        while (isalnum((unsigned char)start[n]) || start[n] == '_')
            n++;
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)(n < 127 ? n : 127), start);
        const char *val = NULL;
        char short_sha[8];
        if (!strcmp(key, "PROJECT_ID"))
            val = sget(b, "projectId");
        else if (!strcmp(key, "BUILD_ID"))
            val = sget(b, "id");
        else if (!strcmp(key, "COMMIT_SHA") || !strcmp(key, "REVISION_ID"))
            val = rev;
        else if (!strcmp(key, "SHORT_SHA") && rev) {
            snprintf(short_sha, sizeof short_sha, "%.7s", rev);
            val = short_sha;
        } else if (key[0] == '_')
            val = sget(json_object_get(b, "substitutions"), key);
        if (!val || (braced && start[n] != '}')) {
            (void)dl_buf_putc(&out, *s++);
            continue;
        }
        (void)dl_buf_puts(&out, val);
        s = start + n + braced;
    }
    return dl_buf_take(&out);
}

static void digest_of(char out[80], const char *a, const char *b)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, a, strlen(a));
    EVP_DigestUpdate(ctx, b, strlen(b));
    EVP_DigestFinal_ex(ctx, md, &n);
    EVP_MD_CTX_free(ctx);
    strcpy(out, "sha256:");
    for (unsigned i = 0; i < n && i < 32; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

static json_t *op_metadata(json_t *b)
{
    return json_pack("{s:s,s:O}", "@type", META_TYPE, "build", b);
}

static void finish(json_t *rec, json_t *b)
{
    char when[64];
    json_t *op = json_object_get(rec, "op");
    fk_time_str(when, sizeof when, fk_now_ns());
    json_object_set_new(rec, "complete", json_true());
    if (!sget(b, "startTime"))
        json_object_set_new(b, "startTime", json_string(when));
    json_object_set_new(b, "finishTime", json_string(when));
    if (json_is_true(json_object_get(rec, "fail"))) {
        const char *step =
            sget(json_array_get(json_object_get(b, "steps"), 0), "name");
        char detail[600];
        snprintf(detail, sizeof detail,
                 "Build step failure: build step 0 \"%s\" failed: step "
                 "exited with non-zero status: 1",
                 step ? step : "");
        json_object_set_new(b, "status", json_string("FAILURE"));
        json_object_set_new(b, "statusDetail", json_string(detail));
        json_object_set_new(b, "failureInfo",
                            json_pack("{s:s,s:s}", "type", "USER_BUILD_STEP",
                                      "detail", detail));
        json_object_set_new(op, "metadata", op_metadata(b));
        json_object_set_new(op, "done", json_true());
        json_object_set_new(
            op, "error", json_pack("{s:i,s:s}", "code", 2, "message", detail));
        return;
    }
    json_t *images = json_array(), *step_images = json_array();
    size_t i;
    json_t *img, *st;
    json_array_foreach(json_object_get(b, "images"), i, img)
    {
        char *name = expand(b, json_string_value(img));
        char digest[80];
        digest_of(digest, sget(b, "id"), name);
        json_array_append_new(images,
                              json_pack("{s:s,s:s,s:{s:s,s:s}}", "name", name,
                                        "digest", digest, "pushTiming",
                                        "startTime", when, "endTime", when));
        free(name);
    }
    json_array_foreach(json_object_get(b, "steps"), i, st)
    {
        char digest[80];
        digest_of(digest, "step", sget(st, "name") ? sget(st, "name") : "");
        json_array_append_new(step_images, json_string(digest));
    }
    json_t *results = json_object();
    if (json_array_size(images))
        json_object_set_new(results, "images", images);
    else
        json_decref(images);
    json_object_set_new(results, "buildStepImages", step_images);
    json_object_set_new(b, "results", results);
    json_object_set_new(b, "status", json_string("SUCCESS"));
    json_object_set_new(op, "metadata", op_metadata(b));
    json_object_set_new(op, "done", json_true());
    json_t *r = json_pack("{s:s}", "@type", BUILD_TYPE);
    json_object_update(r, b);
    json_object_set_new(op, "response", r);
}

void fk_build_tick(void)
{
    int64_t now = fk_now_ns();
    size_t i;
    json_t *rec;
    json_array_foreach(fk.ops, i, rec)
    {
        const char *kind = sget(rec, "kind");
        if (!kind || strcmp(kind, "build") ||
            json_is_true(json_object_get(rec, "complete")))
            continue;
        json_t *b = find_build(sget(rec, "buildId"));
        if (!b) {
            json_object_set_new(rec, "complete", json_true());
            continue;
        }
        if (json_integer_value(json_object_get(rec, "dueNs")) <= now)
            finish(rec, b);
        else if (json_integer_value(json_object_get(rec, "startNs")) <= now &&
                 !strcmp(sget(b, "status"), "QUEUED")) {
            char when[64];
            fk_time_str(when, sizeof when, now);
            json_object_set_new(b, "status", json_string("WORKING"));
            json_object_set_new(b, "startTime", json_string(when));
            json_object_set_new(json_object_get(rec, "op"), "metadata",
                                op_metadata(b));
        }
    }
}

static int validate_build(struct fk_resp *resp, json_t *body)
{
    size_t i;
    json_t *s;
    const char *k;
    json_t *v;
    if (fk_check_fields(resp, body, "build", build_keys))
        return -1;
    json_t *src = json_object_get(body, "source");
    if (fk_check_fields(resp, src, "build.source", source_keys) ||
        fk_check_fields(resp, json_object_get(src, "gitSource"),
                        "build.source.git_source", git_keys))
        return -1;
    json_t *git = json_object_get(src, "gitSource");
    if (git && (!sget(git, "url") || !*sget(git, "url"))) {
        fk_error(resp, 400, "INVALID_ARGUMENT", NULL,
                 "invalid build: gitSource.url is required");
        return -1;
    }
    json_t *steps = json_object_get(body, "steps");
    if (!json_is_array(steps) || json_array_size(steps) == 0) {
        fk_error(resp, 400, "INVALID_ARGUMENT", NULL,
                 "invalid build: build must have at least one step");
        return -1;
    }
    json_array_foreach(steps, i, s)
    {
        if (fk_check_fields(resp, s, "build.steps[0]", step_keys))
            return -1;
        if (!sget(s, "name") || !*sget(s, "name")) {
            fk_error(resp, 400, "INVALID_ARGUMENT", NULL,
                     "invalid build: step %zu: name is required", i);
            return -1;
        }
    }
    json_object_foreach(json_object_get(body, "substitutions"), k, v)
    {
        if (k[0] != '_' || !json_is_string(v)) {
            fk_error(resp, 400, "INVALID_ARGUMENT", NULL,
                     "invalid build: invalid value for "
                     "'build.substitutions': key in the template \"%s\" is "
                     "not a valid built-in substitution",
                     k);
            return -1;
        }
    }
    return 0;
}

static void create_build(struct fk_req *req, struct fk_resp *resp)
{
    const char *p = req->caps[0];
    const char *loc = req->ncaps > 1 ? req->caps[1] : NULL;
    const char *id = fk_project_id(p), *num = fk_project_number(p);
    json_t *body = fk_body_object(req, resp);
    char uuid[37], when[64], name[600], opname[600], b64[64], buf[600];
    json_t *b, *op, *rec;
    int fail;
    int64_t now, delay;
    if (!body)
        return;
    if (validate_build(resp, body))
        goto done;
    if (!id)
        id = p;
    if (!num)
        num = "123456789012";
    fk_uuid4(uuid);
    fk_time_str(when, sizeof when, fk_now_ns());
    fk_b64(b64, (const unsigned char *)uuid, strlen(uuid));
    for (char *c = b64; *c; c++) /* keep it one path segment */
        *c = *c == '/' ? '_' : *c == '+' ? '-' : *c;
    snprintf(name, sizeof name, "projects/%s/locations/%s/builds/%s", num,
             loc ? loc : "global", uuid);
    if (loc)
        snprintf(opname, sizeof opname,
                 "projects/%s/locations/%s/operations/%s", num, loc, b64);
    else
        snprintf(opname, sizeof opname, "operations/build/%s/%s", id, b64);
    b = json_object();
    json_object_set_new(b, "name", json_string(name));
    json_object_set_new(b, "id", json_string(uuid));
    json_object_set_new(b, "status", json_string("QUEUED"));
    for (const char *const *k = input_keys; *k; k++)
        if (json_object_get(body, *k))
            json_object_set(b, *k, json_object_get(body, *k));
    json_object_set_new(b, "createTime", json_string(when));
    if (!json_object_get(b, "timeout"))
        json_object_set_new(b, "timeout", json_string("600s"));
    json_object_set_new(b, "projectId", json_string(id));
    if (!json_object_get(b, "logsBucket")) {
        snprintf(buf, sizeof buf,
                 "gs://%s.cloudbuild-logs.googleusercontent.com", num);
        json_object_set_new(b, "logsBucket", json_string(buf));
    }
    if (!json_object_get(b, "options"))
        json_object_set_new(b, "options",
                            json_pack("{s:s}", "logging", "LEGACY"));
    snprintf(buf, sizeof buf,
             "https://console.cloud.google.com/cloud-build/builds;region=%s/"
             "%s?project=%s",
             loc ? loc : "global", uuid, num);
    json_object_set_new(b, "logUrl", json_string(buf));
    if (!json_object_get(b, "queueTtl"))
        json_object_set_new(b, "queueTtl", json_string("3600s"));
    json_array_append_new(builds(), b);

    fail = fk.fail_builds > 0;
    if (fail)
        fk.fail_builds--;
    now = fk_now_ns();
    delay = fk.op_delay_ms * DL_NS_PER_MS;
    op = json_pack("{s:s,s:o}", "name", opname, "metadata", op_metadata(b));
    rec = json_pack(
        "{s:s,s:s,s:s,s:I,s:I,s:b,s:b,s:o}", "name", opname, "kind", "build",
        "buildId", uuid, "startNs", (json_int_t)(now + delay / 3), "dueNs",
        (json_int_t)(now + delay), "fail", fail, "complete", 0, "op", op);
    json_array_append_new(fk.ops, rec);
    if (delay == 0)
        finish(rec, b);
    fk_ok(resp, json_deep_copy(json_object_get(rec, "op")));
done:
    json_decref(body);
}

static void get_build(struct fk_req *req, struct fk_resp *resp)
{
    const char *bid = req->caps[req->ncaps - 1];
    json_t *b = find_build(bid);
    const char *id = fk_project_id(req->caps[0]);
    if (!b || strcmp(sget(b, "projectId"), id ? id : req->caps[0]) != 0)
        fk_error(resp, 404, "NOT_FOUND", NULL,
                 "Requested entity was not found.");
    else
        fk_ok(resp, json_deep_copy(b));
}

static void cancel_build(struct fk_req *req, struct fk_resp *resp)
{
    const char *bid = req->caps[req->ncaps - 1];
    json_t *b = find_build(bid);
    json_t *rec = find_rec(bid);
    char when[64];
    if (!b) {
        fk_error(resp, 404, "NOT_FOUND", NULL,
                 "Requested entity was not found.");
        return;
    }
    const char *st = sget(b, "status");
    if (rec && !json_is_true(json_object_get(rec, "complete")) &&
        (!strcmp(st, "QUEUED") || !strcmp(st, "WORKING"))) {
        json_t *op = json_object_get(rec, "op");
        fk_time_str(when, sizeof when, fk_now_ns());
        json_object_set_new(b, "status", json_string("CANCELLED"));
        json_object_set_new(b, "finishTime", json_string(when));
        json_object_set_new(rec, "complete", json_true());
        json_object_set_new(op, "metadata", op_metadata(b));
        json_object_set_new(op, "done", json_true());
        json_object_set_new(op, "error",
                            json_pack("{s:i,s:s}", "code", 1, "message",
                                      "Build was cancelled"));
    }
    fk_ok(resp, json_deep_copy(b));
}

/* ---- filter: AIP-160 subset. OR binds tighter than AND. ---- */

struct flt {
    const char *p;
    json_t *b;
    int err;
};

static void skip_ws(struct flt *f)
{
    while (isspace((unsigned char)*f->p))
        f->p++;
}

static int word(struct flt *f, const char *w)
{
    size_t n = strlen(w);
    skip_ws(f);
    if (!strncmp(f->p, w, n) && !isalnum((unsigned char)f->p[n]) &&
        f->p[n] != '_') {
        f->p += n;
        return 1;
    }
    return 0;
}

static int value_matches(json_t *v, const char *want)
{
    char num[64];
    size_t i;
    json_t *x;
    if (json_is_array(v)) {
        json_array_foreach(v, i, x) if (value_matches(x, want)) return 1;
        return 0;
    }
    if (json_is_string(v))
        return !strcmp(json_string_value(v), want);
    if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        return !strcmp(num, want);
    }
    if (json_is_boolean(v))
        return !strcmp(want, json_is_true(v) ? "true" : "false");
    return 0;
}

static int f_and(struct flt *f);

static int atom(struct flt *f)
{
    char path[256], val[512];
    size_t n = 0;
    int neg = 0, r;
    skip_ws(f);
    if (*f->p == '(') {
        f->p++;
        r = f_and(f);
        skip_ws(f);
        if (*f->p != ')')
            f->err = 1;
        else
            f->p++;
        return r;
    }
    if (word(f, "NOT") || (*f->p == '-' && (f->p++, 1)))
        return !atom(f);
    skip_ws(f);
    while ((isalnum((unsigned char)*f->p) || *f->p == '_' || *f->p == '.') &&
           n + 1 < sizeof path)
        path[n++] = *f->p++;
    path[n] = '\0';
    skip_ws(f);
    if (!n)
        f->err = 1;
    if (f->p[0] == '!' && f->p[1] == '=') {
        neg = 1;
        f->p += 2;
    } else if (*f->p == '=' || *f->p == ':')
        f->p++;
    else
        f->err = 1;
    skip_ws(f);
    n = 0;
    if (*f->p == '"') {
        f->p++;
        while (*f->p && *f->p != '"' && n + 1 < sizeof val)
            val[n++] = *f->p++;
        if (*f->p != '"')
            f->err = 1;
        else
            f->p++;
    } else
        while (*f->p && !isspace((unsigned char)*f->p) && *f->p != ')' &&
               n + 1 < sizeof val)
            val[n++] = *f->p++;
    val[n] = '\0';
    /* follow the dotted path */
    json_t *cur = f->b;
    char *save = NULL;
    for (char *part = strtok_r(path, ".", &save); part && cur;
         part = strtok_r(NULL, ".", &save))
        cur = json_object_get(cur, part);
    r = cur && value_matches(cur, val);
    return neg ? !r : r;
}

static int f_or(struct flt *f)
{
    int r = atom(f);
    while (!f->err && word(f, "OR"))
        r = atom(f) | r;
    return r;
}

static int f_and(struct flt *f)
{
    int r = f_or(f);
    while (!f->err && word(f, "AND"))
        r = f_or(f) & r;
    return r;
}

/* 1 match, 0 no match, -1 bad filter. */
static int filter_match(const char *filter, json_t *b)
{
    struct flt f = {filter, b, 0};
    int r = f_and(&f);
    skip_ws(&f);
    if (f.err || *f.p)
        return -1;
    return r;
}

static int cmp_create_desc(const void *a, const void *b)
{
    const char *x = sget(*(json_t *const *)a, "createTime");
    const char *y = sget(*(json_t *const *)b, "createTime");
    return strcmp(y ? y : "", x ? x : "");
}

static void list_builds(struct fk_req *req, struct fk_resp *resp)
{
    const char *id = fk_project_id(req->caps[0]);
    const char *filter = fk_query(req, "filter");
    size_t i, n = 0;
    json_t *b;
    json_t **list = dl_calloc(json_array_size(builds()) + 1, sizeof *list);
    json_array_foreach(builds(), i, b)
    {
        if (strcmp(sget(b, "projectId"), id ? id : req->caps[0]))
            continue;
        if (filter && *filter) {
            int m = filter_match(filter, b);
            if (m < 0) {
                fk_error(resp, 400, "INVALID_ARGUMENT", NULL,
                         "Invalid filter: \"%s\"", filter);
                free(list);
                return;
            }
            if (!m)
                continue;
        }
        list[n++] = b;
    }
    qsort(list, n, sizeof *list, cmp_create_desc);
    json_t *arr = json_array();
    for (i = 0; i < n; i++)
        json_array_append(arr, list[i]);
    free(list);
    json_t *out = json_object();
    if (fk_paginate(resp, out, "builds", arr, fk_query(req, "pageSize"),
                    fk_query(req, "pageToken"), 50, 1000) == 0)
        fk_ok(resp, json_deep_copy(out));
    json_decref(out);
    json_decref(arr);
}

static void get_operation(struct fk_req *req, struct fk_resp *resp)
{
    char name[1000];
    size_t i;
    json_t *r;
    if (req->ncaps == 2 && !strncmp(req->path, "/v1/operations/", 15))
        snprintf(name, sizeof name, "operations/build/%s/%s", req->caps[0],
                 req->caps[1]);
    else
        snprintf(name, sizeof name, "projects/%s/locations/%s/operations/%s",
                 fk_project_number(req->caps[0])
                     ? fk_project_number(req->caps[0])
                     : req->caps[0],
                 req->caps[1], req->caps[2]);
    json_array_foreach(fk.ops, i, r)
    {
        const char *n = sget(r, "name");
        if (n && !strcmp(n, name)) {
            fk_ok(resp, json_deep_copy(json_object_get(r, "op")));
            return;
        }
    }
    fk_error(resp, 404, "NOT_FOUND", NULL, "Requested entity was not found.");
}

#define P "/v1/projects/*"
#define L "/v1/projects/*/locations/*"
const struct fk_route fk_routes_build[] = {
    {"POST", P "/builds", create_build, 0},
    {"GET", P "/builds", list_builds, 0},
    {"GET", P "/builds/*", get_build, 0},
    {"POST", P "/builds/*:cancel", cancel_build, 0},
    {"POST", L "/builds", create_build, 0},
    {"GET", L "/builds", list_builds, 0},
    {"GET", L "/builds/*", get_build, 0},
    {"POST", L "/builds/*:cancel", cancel_build, 0},
    {"GET", "/v1/operations/build/*/*", get_operation, 0},
    {"GET", L "/operations/*", get_operation, 0},
    {NULL, NULL, NULL, 0},
};
