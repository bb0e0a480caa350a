/*
 * run.c - Cloud Run Admin API v2: services, revisions, operations.
 *
 * As GCP does it (research/gcp-api.md §1): mutations return an Operation
 * whose metadata is the Service, without "done" until it completes
 * (--op-delay-ms later); generation bumps on every spec change and on
 * delete; the etag is "\"" b64(updateTime proto) "/" b64(name) "\"" and so
 * changes exactly when updateTime does; a new revision
 * {service}-{generation:05d}-{3 chars} only when the template changes;
 * reconciling/observedGeneration/terminalCondition/conditions/latest*
 * Revision/traffic/trafficStatuses/uri are kept up to date. A revision made
 * to fail (fail-next-revision) leaves the service serving the previous one.
 *
 * Operation records (fk.ops) are {"name","kind":"run","dueNs","complete",
 * "service","newRevision","delete","op"}; "op" is what clients see.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fake.h"
#include "util/alloc.h"
#include "util/time.h"

#define SERVICE_TYPE "type.googleapis.com/google.cloud.run.v2.Service"
#define LATEST "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
#define BY_REVISION "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION"
#define OPS_KEEP 5000

static const char *const service_keys[] = {"name",
                                           "description",
                                           "uid",
                                           "generation",
                                           "labels",
                                           "annotations",
                                           "createTime",
                                           "updateTime",
                                           "deleteTime",
                                           "expireTime",
                                           "creator",
                                           "lastModifier",
                                           "client",
                                           "clientVersion",
                                           "ingress",
                                           "launchStage",
                                           "binaryAuthorization",
                                           "template",
                                           "traffic",
                                           "scaling",
                                           "invokerIamDisabled",
                                           "defaultUriDisabled",
                                           "urls",
                                           "customAudiences",
                                           "observedGeneration",
                                           "terminalCondition",
                                           "conditions",
                                           "latestReadyRevision",
                                           "latestCreatedRevision",
                                           "trafficStatuses",
                                           "uri",
                                           "satisfiesPzs",
                                           "threatDetectionEnabled",
                                           "buildConfig",
                                           "reconciling",
                                           "etag",
                                           "iapEnabled",
                                           "multiRegionSettings",
                                           NULL};

/* What a client may change; everything else in a body is output only. */
static const char *const mutable_keys[] = {"description",
                                           "labels",
                                           "annotations",
                                           "client",
                                           "clientVersion",
                                           "ingress",
                                           "launchStage",
                                           "binaryAuthorization",
                                           "template",
                                           "traffic",
                                           "scaling",
                                           "invokerIamDisabled",
                                           "defaultUriDisabled",
                                           "customAudiences",
                                           "buildConfig",
                                           "iapEnabled",
                                           NULL};

static const char *const template_keys[] = {"revision",
                                            "labels",
                                            "annotations",
                                            "scaling",
                                            "vpcAccess",
                                            "timeout",
                                            "serviceAccount",
                                            "containers",
                                            "volumes",
                                            "executionEnvironment",
                                            "encryptionKey",
                                            "maxInstanceRequestConcurrency",
                                            "serviceMesh",
                                            "encryptionKeyRevocationAction",
                                            "encryptionKeyShutdownDuration",
                                            "sessionAffinity",
                                            "healthCheckDisabled",
                                            "nodeSelector",
                                            "gpuZonalRedundancyDisabled",
                                            NULL};

static const char *const container_keys[] = {
    "name",         "image",         "command",      "args",
    "env",          "resources",     "ports",        "volumeMounts",
    "workingDir",   "livenessProbe", "startupProbe", "dependsOn",
    "baseImageUri", "buildInfo",     "sourceCode",   NULL};

static const char *const traffic_keys[] = {"type", "revision", "percent", "tag",
                                           NULL};

/* ---- small helpers ---- */

static void now_str(char *out, size_t size, int64_t *ns)
{
    int64_t t = fk_now_ns();
    /* distinct, increasing update times make etags change on every write */
    static int64_t last;
    if (t <= last)
        t = last + 1000;
    last = t;
    if (ns)
        *ns = t;
    fk_time_str(out, size, t);
}

static size_t varint(unsigned char *out, uint64_t v)
{
    size_t n = 0;
    do {
        unsigned char b = v & 0x7f;
        v >>= 7;
        out[n++] = (unsigned char)(v ? b | 0x80 : b);
    } while (v);
    return n;
}

static void b64_nopad(char *out, const unsigned char *in, size_t n)
{
    fk_b64(out, in, n);
    char *eq = strchr(out, '=');
    if (eq)
        *eq = '\0';
}

/* The real etag shape: "\"" b64(Timestamp proto) "/" b64(name) "\"". */
static void set_etag(json_t *obj)
{
    const char *name = json_string_value(json_object_get(obj, "name"));
    const char *ut = json_string_value(json_object_get(obj, "updateTime"));
    int64_t ns = 0;
    unsigned char proto[32];
    size_t n = 0;
    char ts[64], nm[2048], out[2200];
    if (!name || !ut || dl_time_parse_rfc3339(&ns, ut, NULL) != 0)
        return;
    proto[n++] = 0x08;
    n += varint(proto + n, (uint64_t)(ns / DL_NS_PER_SEC));
    if (ns % DL_NS_PER_SEC) {
        proto[n++] = 0x10;
        n += varint(proto + n, (uint64_t)(ns % DL_NS_PER_SEC));
    }
    b64_nopad(ts, proto, n);
    size_t nl = strlen(name);
    if (nl > 1500)
        nl = 1500;
    b64_nopad(nm, (const unsigned char *)name, nl);
    snprintf(out, sizeof out, "\"%s/%s\"", ts, nm);
    json_object_set_new(obj, "etag", json_string(out));
}

static const char *sget(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static long long gen_of(json_t *o, const char *k)
{
    json_t *g = json_object_get(o, k);
    if (json_is_string(g))
        return atoll(json_string_value(g));
    return json_is_integer(g) ? (long long)json_integer_value(g) : 0;
}

static void set_gen(json_t *o, const char *k, long long g)
{
    char s[32];
    snprintf(s, sizeof s, "%lld", g);
    json_object_set_new(o, k, json_string(s));
}

/* projects/{id}/locations/{l}/services/{s}, with the project ID when the
 * request used a known project number. */
static void service_name(char *out, size_t size, const char *p, const char *l,
                         const char *s)
{
    const char *id = fk_project_id(p);
    snprintf(out, size, "projects/%s/locations/%s/services/%s", id ? id : p, l,
             s);
}

static json_t *services(void)
{
    return fk_state_array("run", "services");
}

static json_t *revisions(void)
{
    return fk_state_array("run", "revisions");
}

static json_t *find_named(json_t *arr, const char *name, size_t *index)
{
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x)
    {
        const char *n = sget(x, "name");
        if (n && !strcmp(n, name)) {
            if (index)
                *index = i;
            return x;
        }
    }
    return NULL;
}

static const char *short_name(const char *name)
{
    const char *s = strrchr(name, '/');
    return s ? s + 1 : name;
}

static void not_found(struct fk_resp *resp, const char *kind, const char *name)
{
    fk_error(resp, 404, "NOT_FOUND", NULL, "%s \"%s\" not found", kind, name);
}

static void bad_field(struct fk_resp *resp, const char *field, const char *msg)
{
    json_t *d =
        json_pack("[{s:s,s:[{s:s,s:s}]}]", "@type",
                  "type.googleapis.com/google.rpc.BadRequest",
                  "fieldViolations", "field", field, "description", msg);
    fk_error(resp, 400, "INVALID_ARGUMENT", d, "%s", msg);
}

/* json_equal, but two missing values are the same too. */
static int same(json_t *a, json_t *b)
{
    return a == b || (a && b && json_equal(a, b));
}

/* ---- defaults and validation ---- */

static void apply_defaults(json_t *svc, const char *project)
{
    const char *num = fk_project_number(project);
    json_t *t = json_object_get(svc, "template");
    size_t i;
    json_t *c;
    char sa[300];
    if (!json_object_get(svc, "launchStage"))
        json_object_set_new(svc, "launchStage", json_string("GA"));
    if (!json_object_get(svc, "ingress"))
        json_object_set_new(svc, "ingress", json_string("INGRESS_TRAFFIC_ALL"));
    if (!json_object_get(svc, "traffic"))
        json_object_set_new(
            svc, "traffic",
            json_pack("[{s:s,s:i}]", "type", LATEST, "percent", 100));
    if (!json_is_object(t))
        return;
    if (!json_object_get(t, "timeout"))
        json_object_set_new(t, "timeout", json_string("300s"));
    if (!json_object_get(t, "serviceAccount")) {
        snprintf(sa, sizeof sa, "%s-compute@developer.gserviceaccount.com",
                 num ? num : "123456789012");
        json_object_set_new(t, "serviceAccount", json_string(sa));
    }
    if (!json_object_get(t, "maxInstanceRequestConcurrency"))
        json_object_set_new(t, "maxInstanceRequestConcurrency",
                            json_integer(80));
    json_array_foreach(json_object_get(t, "containers"), i, c)
    {
        json_t *res = json_object_get(c, "resources");
        if (!json_is_object(res)) {
            res = json_object();
            json_object_set_new(c, "resources", res);
        }
        if (!json_object_get(res, "limits"))
            json_object_set_new(
                res, "limits",
                json_pack("{s:s,s:s}", "cpu", "1000m", "memory", "512Mi"));
        if (!json_object_get(res, "cpuIdle"))
            json_object_set_new(res, "cpuIdle", json_true());
        if (i > 0)
            continue;
        if (!json_object_get(c, "ports"))
            json_object_set_new(c, "ports",
                                json_pack("[{s:s,s:i}]", "name", "http1",
                                          "containerPort", 8080));
        if (!json_object_get(c, "startupProbe")) {
            json_int_t port = json_integer_value(
                json_object_get(json_array_get(json_object_get(c, "ports"), 0),
                                "containerPort"));
            json_object_set_new(
                c, "startupProbe",
                json_pack("{s:i,s:i,s:i,s:{s:I}}", "timeoutSeconds", 240,
                          "periodSeconds", 240, "failureThreshold", 1,
                          "tcpSocket", "port", port ? port : 8080));
        }
    }
}

static const char *const resources_keys[] = {"limits", "cpuIdle",
                                             "startupCpuBoost", NULL};
static const char *const env_keys[] = {"name", "value", "valueSource", NULL};
static const char *const scaling_keys[] = {
    "minInstanceCount", "maxInstanceCount", "manualInstanceCount",
    "scalingMode", NULL};

/* env entries: known keys, a name, a value or a valueSource. */
static int check_env(struct fk_resp *resp, json_t *env)
{
    size_t i;
    json_t *e;
    json_array_foreach(env, i, e)
    {
        if (fk_check_fields(resp, e, "service.template.containers[0].env[0]",
                            env_keys))
            return -1;
        if (!sget(e, "name") || !*sget(e, "name")) {
            bad_field(resp, "service.template.containers[0].env[0].name",
                      "template.containers[0].env[0].name: required");
            return -1;
        }
    }
    return 0;
}

/* Check a Service from a request body: 0 or -1 with resp filled. */
static int validate_service(struct fk_resp *resp, json_t *svc, const char *sid,
                            int need_template)
{
    size_t i;
    json_t *c, *tt;
    if (fk_check_fields(resp, svc, "service", service_keys))
        return -1;
    json_t *t = json_object_get(svc, "template");
    if (!t) {
        if (!need_template)
            return 0;
        bad_field(resp, "service.template", "template: required");
        return -1;
    }
    if (fk_check_fields(resp, t, "service.template", template_keys) ||
        fk_check_fields(resp, json_object_get(t, "scaling"),
                        "service.template.scaling", scaling_keys) ||
        fk_check_fields(resp, json_object_get(svc, "scaling"),
                        "service.scaling", scaling_keys))
        return -1;
    json_t *containers = json_object_get(t, "containers");
    if (!json_is_array(containers) || json_array_size(containers) == 0) {
        bad_field(resp, "service.template.containers",
                  "template.containers: at least one container is required");
        return -1;
    }
    json_array_foreach(containers, i, c)
    {
        if (fk_check_fields(resp, c, "service.template.containers[0]",
                            container_keys) ||
            fk_check_fields(resp, json_object_get(c, "resources"),
                            "service.template.containers[0].resources",
                            resources_keys) ||
            check_env(resp, json_object_get(c, "env")))
            return -1;
        const char *image = sget(c, "image");
        if (!image || !*image) {
            bad_field(resp, "service.template.containers[0].image",
                      "template.containers[0].image: required");
            return -1;
        }
    }
    const char *rev = sget(t, "revision");
    if (rev) {
        size_t n = strlen(sid);
        if (strncmp(rev, sid, n) != 0 || rev[n] != '-' || !rev[n + 1]) {
            bad_field(resp, "service.template.revision",
                      "template.revision: Revision name must be prefixed by "
                      "the name of the enclosing Service or Configuration "
                      "with a trailing -");
            return -1;
        }
    }
    json_t *traffic = json_object_get(svc, "traffic");
    if (traffic) {
        json_int_t sum = 0;
        json_array_foreach(traffic, i, tt)
        {
            if (fk_check_fields(resp, tt, "service.traffic[0]", traffic_keys))
                return -1;
            sum += json_integer_value(json_object_get(tt, "percent"));
            const char *type = sget(tt, "type");
            if (type && !strcmp(type, BY_REVISION) && !sget(tt, "revision")) {
                bad_field(resp, "service.traffic",
                          "traffic: a REVISION target needs a revision");
                return -1;
            }
        }
        if (json_array_size(traffic) && sum != 100) {
            bad_field(resp, "service.traffic",
                      "traffic: The sum of traffic percentages must be 100");
            return -1;
        }
    }
    return 0;
}

/* Is a revision named rev (any service in the same location) there? */
static json_t *find_revision(const char *svc_name, const char *rev)
{
    char name[2048];
    const char *slash = strstr(svc_name, "/services/");
    if (!slash)
        return NULL;
    snprintf(name, sizeof name, "%.*s/services/%s/revisions/%s",
             (int)(slash - svc_name), svc_name, short_name(svc_name), rev);
    return find_named(revisions(), name, NULL);
}

/* ---- revisions and completion ---- */

static void uri_for(char *out, size_t size, const char *name)
{
    /* https://{svc}-{10 base36 chars}-{region code}.a.run.app */
    static const char b36[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    char proj[256] = "", loc[64] = "", code[8] = "", hash[11];
    unsigned long long h = 1469598103934665603ULL;
    size_t n = 0;
    sscanf(name, "projects/%255[^/]/locations/%63[^/]", proj, loc);
    for (const char *p = proj; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    for (int i = 0; i < 10; i++, h /= 36)
        hash[i] = b36[h % 36];
    hash[10] = '\0';
    for (const char *p = loc; *p && n + 1 < sizeof code; p++)
        if ((p == loc || p[-1] == '-') && *p >= 'a' && *p <= 'z')
            code[n++] = *p;
    code[n] = '\0';
    snprintf(out, size, "https://%s-%s-%s.a.run.app", short_name(name), hash,
             code);
}

static json_t *condition(const char *type, const char *state, const char *when)
{
    return json_pack("{s:s,s:s,s:s}", "type", type, "state", state,
                     "lastTransitionTime", when);
}

#define FAIL_MSG                                                               \
    "The user-provided container failed to start and listen on the port "      \
    "defined provided by the PORT=8080 environment variable within the "       \
    "allocated timeout. This can happen when the container port is "           \
    "misconfigured or if the timeout is too short."

/* Create the revision for svc's current template. Returns it (borrowed). */
static json_t *create_revision(json_t *svc, int fail, const char *when)
{
    json_t *t = json_object_get(svc, "template");
    const char *sname = sget(svc, "name");
    char rname[2048], id[512], uid[37], suffix[4], log[2600];
    const char *explicit_name = sget(t, "revision");
    if (explicit_name)
        snprintf(id, sizeof id, "%s", explicit_name);
    else
        for (int tries = 0; tries < 50; tries++) {
            fk_rand_alnum(suffix, 3);
            snprintf(id, sizeof id, "%s-%05lld-%s", short_name(sname),
                     gen_of(svc, "generation"), suffix);
            if (!find_revision(sname, id))
                break;
        }
    snprintf(rname, sizeof rname, "%s/revisions/%s", sname, id);
    fk_uuid4(uid);
    json_t *rev = json_object();
    json_object_set_new(rev, "name", json_string(rname));
    json_object_set_new(rev, "uid", json_string(uid));
    json_object_set_new(rev, "generation", json_string("1"));
    const char *k;
    json_t *v;
    json_object_foreach(t, k, v)
    {
        if (!strcmp(k, "revision"))
            continue;
        json_object_set_new(rev, k, json_deep_copy(v));
    }
    if (!json_object_get(rev, "scaling"))
        json_object_set_new(rev, "scaling",
                            json_pack("{s:i}", "maxInstanceCount", 100));
    json_object_set_new(rev, "createTime", json_string(when));
    json_object_set_new(rev, "updateTime", json_string(when));
    json_object_set(rev, "launchStage", json_object_get(svc, "launchStage"));
    json_object_set_new(rev, "service", json_string(short_name(sname)));
    json_t *conds = json_array();
    if (fail) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", FAIL_MSG);
        json_t *ready = condition("Ready", "CONDITION_FAILED", when);
        json_object_set_new(ready, "message", json_string(msg));
        json_object_set_new(ready, "revisionReason",
                            json_string("HEALTH_CHECK_CONTAINER_ERROR"));
        json_array_append_new(conds, ready);
        json_t *ch = condition("ContainerHealthy", "CONDITION_FAILED", when);
        json_object_set_new(ch, "message", json_string(msg));
        json_array_append_new(conds, ch);
    } else {
        json_array_append_new(conds,
                              condition("Ready", "CONDITION_SUCCEEDED", when));
        json_array_append_new(
            conds, condition("ContainerHealthy", "CONDITION_SUCCEEDED", when));
    }
    json_object_set_new(rev, "conditions", conds);
    json_object_set_new(rev, "observedGeneration", json_string("1"));
    snprintf(log, sizeof log,
             "https://console.cloud.google.com/logs/viewer?resource="
             "cloud_run_revision/service_name/%s/revision_name/%s",
             short_name(sname), id);
    json_object_set_new(rev, "logUri", json_string(log));
    set_etag(rev);
    json_array_append_new(revisions(), rev);
    return rev;
}

static void set_traffic_statuses(json_t *svc)
{
    json_t *out = json_array();
    size_t i;
    json_t *t;
    char uri[2100];
    json_array_foreach(json_object_get(svc, "traffic"), i, t)
    {
        json_t *st = json_deep_copy(t);
        if (!json_object_get(st, "type"))
            json_object_set_new(st, "type", json_string(LATEST));
        if (sget(t, "tag") && sget(svc, "uri")) {
            const char *u = sget(svc, "uri") + 8;
            snprintf(uri, sizeof uri, "https://%s---%s", sget(t, "tag"), u);
            json_object_set_new(st, "uri", json_string(uri));
        }
        json_array_append_new(out, st);
    }
    json_object_set_new(svc, "trafficStatuses", out);
}

/* A copy of svc with "@type" first, sharing nothing with it (the service
 * changes later; what an operation reported must not). */
static json_t *with_type(json_t *svc)
{
    json_t *o = json_pack("{s:s}", "@type", SERVICE_TYPE);
    json_t *copy = json_deep_copy(svc);
    json_object_update(o, copy);
    json_decref(copy);
    return o;
}

/* Finish one run operation record (lock held). */
static void complete(json_t *rec)
{
    json_t *op = json_object_get(rec, "op");
    const char *sname = sget(rec, "service");
    char when[64], msg[1200];
    now_str(when, sizeof when, NULL);
    json_object_set_new(rec, "complete", json_true());
    if (json_is_true(json_object_get(rec, "delete"))) {
        json_t *svc = json_object_get(op, "metadata");
        json_object_set_new(svc, "updateTime", json_string(when));
        set_etag(svc);
        json_object_set_new(op, "done", json_true());
        json_object_set(op, "response", svc);
        return;
    }
    json_t *svc = find_named(services(), sname, NULL);
    if (!svc) {
        json_object_set_new(op, "done", json_true());
        json_object_set_new(op, "error",
                            json_pack("{s:i,s:s}", "code", 5, "message",
                                      "service was deleted"));
        return;
    }
    int failed = 0;
    json_t *conds = json_array();
    if (json_is_true(json_object_get(rec, "newRevision"))) {
        int fail = 0;
        if (fk.fail_revisions > 0) {
            fk.fail_revisions--;
            fail = 1;
        }
        json_t *rev = create_revision(svc, fail, when);
        json_object_set(svc, "latestCreatedRevision",
                        json_object_get(rev, "name"));
        if (fail) {
            failed = 1;
            snprintf(msg, sizeof msg,
                     "Revision '%s' is not ready and cannot serve traffic. %s",
                     short_name(sget(rev, "name")), FAIL_MSG);
        } else
            json_object_set(svc, "latestReadyRevision",
                            json_object_get(rev, "name"));
    }
    json_object_del(svc, "reconciling");
    json_object_set(svc, "observedGeneration",
                    json_object_get(svc, "generation"));
    if (!sget(svc, "uri")) {
        char uri[2100];
        uri_for(uri, sizeof uri, sname);
        json_object_set_new(svc, "uri", json_string(uri));
    }
    set_traffic_statuses(svc);
    if (failed) {
        json_t *tc = condition("Ready", "CONDITION_FAILED", when);
        json_object_set_new(tc, "message", json_string(msg));
        json_object_set_new(tc, "reason", json_string("REVISION_FAILED"));
        json_object_set_new(svc, "terminalCondition", tc);
        json_array_append_new(
            conds, condition("RoutesReady", "CONDITION_SUCCEEDED", when));
        json_t *cr = condition("ConfigurationsReady", "CONDITION_FAILED", when);
        json_object_set_new(cr, "message", json_string(msg));
        json_object_set_new(cr, "reason", json_string("REVISION_FAILED"));
        json_array_append_new(conds, cr);
    } else {
        json_object_set_new(svc, "terminalCondition",
                            condition("Ready", "CONDITION_SUCCEEDED", when));
        json_array_append_new(
            conds, condition("RoutesReady", "CONDITION_SUCCEEDED", when));
        json_array_append_new(conds, condition("ConfigurationsReady",
                                               "CONDITION_SUCCEEDED", when));
    }
    json_object_set_new(svc, "conditions", conds);
    json_object_set_new(op, "metadata", with_type(svc));
    json_object_set_new(op, "done", json_true());
    if (failed)
        json_object_set_new(op, "error",
                            json_pack("{s:i,s:s}", "code", 9, "message", msg));
    else
        json_object_set_new(op, "response", with_type(svc));
}

void fk_run_tick(void)
{
    int64_t now = fk_now_ns();
    size_t i;
    json_t *rec;
    json_array_foreach(fk.ops, i, rec)
    {
        if (strcmp(sget(rec, "kind") ? sget(rec, "kind") : "", "run") ||
            json_is_true(json_object_get(rec, "complete")))
            continue;
        if (json_integer_value(json_object_get(rec, "dueNs")) <= now)
            complete(rec);
    }
    while (json_array_size(fk.ops) > OPS_KEEP)
        json_array_remove(fk.ops, 0);
}

/* Complete at once whatever is pending for the service (a newer write
 * supersedes it). */
static void flush_pending(const char *sname)
{
    size_t i;
    json_t *rec;
    json_array_foreach(fk.ops, i, rec)
    {
        const char *s = sget(rec, "service");
        if (s && !strcmp(s, sname) &&
            !json_is_true(json_object_get(rec, "complete")) &&
            !strcmp(sget(rec, "kind"), "run"))
            complete(rec);
    }
}

/* Start an operation for svc; returns the client's view (new ref). */
static json_t *start_op(const char *p, const char *l, json_t *svc,
                        int new_revision, int is_delete)
{
    char uuid[37], name[1200];
    const char *id = fk_project_id(p);
    fk_uuid4(uuid);
    snprintf(name, sizeof name, "projects/%s/locations/%s/operations/%s",
             id ? id : p, l, uuid);
    json_t *op =
        json_pack("{s:s,s:o}", "name", name, "metadata", with_type(svc));
    json_t *rec = json_pack(
        "{s:s,s:s,s:I,s:b,s:s,s:b,s:b,s:o}", "name", name, "kind", "run",
        "dueNs", (json_int_t)(fk_now_ns() + fk.op_delay_ms * DL_NS_PER_MS),
        "complete", 0, "service", sget(svc, "name"), "newRevision",
        new_revision, "delete", is_delete, "op", op);
    json_array_append_new(fk.ops, rec);
    if (fk.op_delay_ms == 0)
        complete(rec);
    return json_deep_copy(op);
}

static json_t *validate_only_op(const char *p, const char *l, json_t *svc)
{
    char uuid[37], name[1200];
    fk_uuid4(uuid);
    snprintf(name, sizeof name, "projects/%s/locations/%s/operations/%s", p, l,
             uuid);
    return json_pack("{s:s,s:o,s:b,s:o}", "name", name, "metadata",
                     with_type(svc), "done", 1, "response", with_type(svc));
}

/* Mark svc as changed by a client now. */
static void touch(json_t *svc, const char *p, int bump)
{
    char when[64], who[300];
    const char *id = fk_project_id(p);
    now_str(when, sizeof when, NULL);
    if (bump)
        set_gen(svc, "generation", gen_of(svc, "generation") + 1);
    json_object_set_new(svc, "updateTime", json_string(when));
    snprintf(who, sizeof who, "driftless@%s.iam.gserviceaccount.com",
             id ? id : p);
    json_object_set_new(svc, "lastModifier", json_string(who));
    json_object_set_new(svc, "terminalCondition",
                        json_pack("{s:s,s:s,s:s}", "type", "Ready", "state",
                                  "CONDITION_PENDING", "lastTransitionTime",
                                  when));
    json_object_set_new(svc, "reconciling", json_true());
    set_etag(svc);
}

/* A reused explicit revision name with a different template: 0 or -1. */
static int check_revision_name(struct fk_resp *resp, json_t *svc,
                               int template_changed)
{
    const char *rev = sget(json_object_get(svc, "template"), "revision");
    if (!rev || !template_changed || !find_revision(sget(svc, "name"), rev))
        return 0;
    fk_error(resp, 409, "ALREADY_EXISTS", NULL,
             "Revision named '%s' with different configuration already "
             "exists.",
             rev);
    return -1;
}

/* A concurrent writer changes a label of its own (etagRaceRate). */
static void race(json_t *svc, const char *p)
{
    static int n;
    char v[32];
    json_t *labels = json_object_get(svc, "labels");
    if (!json_is_object(labels)) {
        labels = json_object();
        json_object_set_new(svc, "labels", labels);
    }
    snprintf(v, sizeof v, "%d", ++n);
    json_object_set_new(labels, "fakegcp-race", json_string(v));
    touch(svc, p, 1);
    json_object_del(svc, "reconciling");
    json_object_set(svc, "observedGeneration",
                    json_object_get(svc, "generation"));
    json_object_set_new(
        svc, "terminalCondition",
        condition("Ready", "CONDITION_SUCCEEDED", sget(svc, "updateTime")));
}

/* ---- handlers ---- */

static json_t *new_service(const char *p, const char *l, const char *sid,
                           json_t *body)
{
    char name[1200], uid[37], when[64], who[300];
    const char *id = fk_project_id(p);
    json_t *svc = json_object();
    service_name(name, sizeof name, p, l, sid);
    fk_uuid4(uid);
    now_str(when, sizeof when, NULL);
    snprintf(who, sizeof who, "driftless@%s.iam.gserviceaccount.com",
             id ? id : p);
    json_object_set_new(svc, "name", json_string(name));
    json_object_set_new(svc, "uid", json_string(uid));
    json_object_set_new(svc, "generation", json_string("1"));
    for (const char *const *k = mutable_keys; *k; k++)
        if (json_object_get(body, *k))
            json_object_set(svc, *k, json_object_get(body, *k));
    json_object_set_new(svc, "createTime", json_string(when));
    json_object_set_new(svc, "updateTime", json_string(when));
    json_object_set_new(svc, "creator", json_string(who));
    json_object_set_new(svc, "lastModifier", json_string(who));
    apply_defaults(svc, p);
    json_object_set_new(svc, "terminalCondition",
                        json_pack("{s:s}", "state", "CONDITION_PENDING"));
    json_object_set_new(svc, "reconciling", json_true());
    set_etag(svc);
    return svc;
}

static int valid_service_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= 50 || s[0] < 'a' || s[0] > 'z' || s[n - 1] == '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '-'))
            return 0;
    return 1;
}

static int is_true(const char *v)
{
    return v && !strcmp(v, "true");
}

static void do_create(struct fk_req *req, struct fk_resp *resp, json_t *body,
                      const char *sid)
{
    const char *p = req->caps[0], *l = req->caps[1];
    char name[1200];
    if (!valid_service_id(sid)) {
        bad_field(resp, "service_id",
                  "service_id: must contain only lowercase letters, digits "
                  "and hyphens, begin with a letter, not end with a hyphen "
                  "and be fewer than 50 characters");
        return;
    }
    if (validate_service(resp, body, sid, 1))
        return;
    service_name(name, sizeof name, p, l, sid);
    if (find_named(services(), name, NULL)) {
        fk_error(resp, 409, "ALREADY_EXISTS", NULL,
                 "Resource '%s' already exists.", sid);
        return;
    }
    json_t *svc = new_service(p, l, sid, body);
    if (check_revision_name(resp, svc, 1)) {
        json_decref(svc);
        return;
    }
    if (is_true(fk_query(req, "validateOnly"))) {
        fk_ok(resp, validate_only_op(p, l, svc));
        json_decref(svc);
        return;
    }
    json_array_append_new(services(), svc);
    fk_ok(resp, start_op(p, l, svc, 1, 0));
}

static void create_service(struct fk_req *req, struct fk_resp *resp)
{
    json_t *body = fk_body_object(req, resp);
    const char *sid = fk_query(req, "serviceId");
    if (!body)
        return;
    if (!sid || !*sid)
        bad_field(resp, "service_id", "service_id: required");
    else
        do_create(req, resp, body, sid);
    json_decref(body);
}

static void get_service(struct fk_req *req, struct fk_resp *resp)
{
    char name[1200];
    service_name(name, sizeof name, req->caps[0], req->caps[1], req->caps[2]);
    json_t *svc = find_named(services(), name, NULL);
    if (!svc)
        not_found(resp, "service", name);
    else
        fk_ok(resp, json_deep_copy(svc));
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(sget(*(json_t *const *)a, "name"),
                  sget(*(json_t *const *)b, "name"));
}

static void list_services(struct fk_req *req, struct fk_resp *resp)
{
    char prefix[1200];
    const char *id = fk_project_id(req->caps[0]);
    size_t i, n = 0;
    json_t *s;
    if (!strcmp(req->caps[1], "-")) {
        fk_error(resp, 400, "INVALID_ARGUMENT", NULL,
                 "The location wildcard '-' is not supported for this "
                 "method");
        return;
    }
    snprintf(prefix, sizeof prefix, "projects/%s/locations/%s/services/",
             id ? id : req->caps[0], req->caps[1]);
    json_t **list = dl_calloc(json_array_size(services()) + 1, sizeof *list);
    json_array_foreach(services(), i,
                       s) if (!strncmp(sget(s, "name"), prefix, strlen(prefix)))
        list[n++] = s;
    qsort(list, n, sizeof *list, cmp_name);
    json_t *arr = json_array();
    for (i = 0; i < n; i++)
        json_array_append(arr, list[i]);
    free(list);
    json_t *out = json_object();
    if (fk_paginate(resp, out, "services", arr, fk_query(req, "pageSize"),
                    fk_query(req, "pageToken"), 100, 1000) == 0)
        fk_ok(resp, json_deep_copy(out));
    json_decref(out);
    json_decref(arr);
}

/* Copy the value at dotted path from src into dst (delete when absent). */
static void copy_path(json_t *dst, json_t *src, const char *path)
{
    char key[256];
    const char *dot = strchr(path, '.');
    if (!dot) {
        json_t *v = json_object_get(src, path);
        if (v)
            json_object_set(dst, path, v);
        else
            json_object_del(dst, path);
        return;
    }
    snprintf(key, sizeof key, "%.*s", (int)(dot - path), path);
    json_t *s = json_object_get(src, key);
    json_t *d = json_object_get(dst, key);
    if (!json_is_object(d)) {
        if (!json_is_object(s))
            return;
        d = json_object();
        json_object_set_new(dst, key, d);
    }
    copy_path(d, json_is_object(s) ? s : NULL, dot + 1);
}

static int mask_ok(const char *path)
{
    char top[256];
    snprintf(top, sizeof top, "%.*s", (int)strcspn(path, "."), path);
    for (const char *const *k = mutable_keys; *k; k++)
        if (!strcmp(*k, top))
            return 1;
    return 0;
}

/* The new spec for svc from a PATCH body: new json, or NULL with resp
 * filled. */
static json_t *patched(struct fk_req *req, struct fk_resp *resp, json_t *svc,
                       json_t *body)
{
    const char *mask = fk_query(req, "updateMask");
    json_t *next = json_deep_copy(svc);
    if (!mask || !*mask) {
        for (const char *const *k = mutable_keys; *k; k++)
            copy_path(next, body, *k);
        return next;
    }
    char *copy = dl_strdup(mask), *save = NULL;
    for (char *f = strtok_r(copy, ",", &save); f;
         f = strtok_r(NULL, ",", &save)) {
        if (!mask_ok(f)) {
            bad_field(resp, "update_mask", "update_mask: invalid path");
            json_decref(next);
            next = NULL;
            break;
        }
        copy_path(next, body, f);
    }
    free(copy);
    return next;
}

static void patch_existing(struct fk_req *req, struct fk_resp *resp,
                           json_t *svc, json_t *body)
{
    const char *p = req->caps[0], *l = req->caps[1], *sid = req->caps[2];
    const char *name = sget(svc, "name");
    const char *etag = sget(body, "etag");
    json_t *next;
    int template_changed, changed;
    if (fk_fault_etag_race(req->path))
        race(svc, p);
    if (validate_service(resp, body, sid, !fk_query(req, "updateMask")))
        return;
    if (etag && *etag && strcmp(etag, sget(svc, "etag")) != 0) {
        fk_error(resp, 409, "ABORTED", NULL,
                 "The service \"%s\" was modified since it was read: etag "
                 "%s does not match the current etag %s.",
                 name, etag, sget(svc, "etag"));
        return;
    }
    next = patched(req, resp, svc, body);
    if (!next)
        return;
    apply_defaults(next, p);
    if (validate_service(resp, next, sid, 1))
        goto done;
    template_changed = !same(json_object_get(svc, "template"),
                             json_object_get(next, "template"));
    changed = template_changed;
    for (const char *const *k = mutable_keys; *k; k++)
        if (!same(json_object_get(svc, *k), json_object_get(next, *k)))
            changed = 1;
    if (check_revision_name(resp, next, template_changed))
        goto done;
    if (is_true(fk_query(req, "validateOnly"))) {
        if (changed)
            touch(next, p, 1);
        fk_ok(resp, validate_only_op(p, l, next));
        goto done;
    }
    flush_pending(name);
    for (const char *const *k = mutable_keys; *k; k++)
        copy_path(svc, next, *k);
    if (changed)
        touch(svc, p, 1);
    fk_ok(resp, start_op(p, l, svc, template_changed, 0));
done:
    json_decref(next);
}

static void patch_service(struct fk_req *req, struct fk_resp *resp)
{
    char name[1200];
    json_t *body = fk_body_object(req, resp);
    json_t *svc;
    if (!body)
        return;
    service_name(name, sizeof name, req->caps[0], req->caps[1], req->caps[2]);
    svc = find_named(services(), name, NULL);
    if (svc)
        patch_existing(req, resp, svc, body);
    else if (is_true(fk_query(req, "allowMissing")))
        do_create(req, resp, body, req->caps[2]);
    else
        not_found(resp, "service", name);
    json_decref(body);
}

static void remove_revisions_of(const char *sname)
{
    char prefix[1300];
    snprintf(prefix, sizeof prefix, "%s/revisions/", sname);
    json_t *arr = revisions();
    for (size_t i = json_array_size(arr); i-- > 0;)
        if (!strncmp(sget(json_array_get(arr, i), "name"), prefix,
                     strlen(prefix)))
            json_array_remove(arr, i);
}

static void delete_service(struct fk_req *req, struct fk_resp *resp)
{
    const char *p = req->caps[0], *l = req->caps[1];
    char name[1200], when[64], expire[64];
    size_t idx = 0;
    int64_t ns;
    service_name(name, sizeof name, p, l, req->caps[2]);
    json_t *svc = find_named(services(), name, &idx);
    if (!svc) {
        not_found(resp, "service", name);
        return;
    }
    if (fk_fault_etag_race(req->path))
        race(svc, p);
    const char *etag = fk_query(req, "etag");
    if (etag && *etag && strcmp(etag, sget(svc, "etag")) != 0) {
        fk_error(resp, 409, "ABORTED", NULL,
                 "The service \"%s\" was modified since it was read: etag "
                 "%s does not match the current etag %s.",
                 name, etag, sget(svc, "etag"));
        return;
    }
    json_t *gone = json_deep_copy(svc);
    touch(gone, p, 1);
    if (dl_time_parse_rfc3339(&ns, sget(gone, "updateTime"), NULL) != 0)
        ns = fk_now_ns();
    fk_time_str(when, sizeof when, ns);
    fk_time_str(expire, sizeof expire, ns + 30 * 86400 * DL_NS_PER_SEC);
    json_object_set_new(gone, "deleteTime", json_string(when));
    json_object_set_new(gone, "expireTime", json_string(expire));
    if (is_true(fk_query(req, "validateOnly"))) {
        fk_ok(resp, validate_only_op(p, l, gone));
        json_decref(gone);
        return;
    }
    flush_pending(name);
    json_array_remove(services(), idx);
    remove_revisions_of(name);
    json_object_del(json_object_get(fk.state, "iam"), name);
    fk_ok(resp, start_op(p, l, gone, 0, 1));
    json_decref(gone);
}

static int cmp_create_desc(const void *a, const void *b)
{
    const char *x = sget(*(json_t *const *)a, "createTime");
    const char *y = sget(*(json_t *const *)b, "createTime");
    int r = strcmp(y ? y : "", x ? x : "");
    return r ? r : cmp_name(b, a);
}

static void list_revisions(struct fk_req *req, struct fk_resp *resp)
{
    char prefix[1200], sname[1200];
    const char *id = fk_project_id(req->caps[0]);
    int all = !strcmp(req->caps[2], "-");
    size_t i, n = 0;
    json_t *r;
    service_name(sname, sizeof sname, req->caps[0], req->caps[1], req->caps[2]);
    if (!all && !find_named(services(), sname, NULL)) {
        not_found(resp, "service", sname);
        return;
    }
    snprintf(prefix, sizeof prefix, "projects/%s/locations/%s/services/%s",
             id ? id : req->caps[0], req->caps[1], all ? "" : req->caps[2]);
    json_t **list = dl_calloc(json_array_size(revisions()) + 1, sizeof *list);
    json_array_foreach(revisions(), i, r)
    {
        const char *rn = sget(r, "name");
        if (strncmp(rn, prefix, strlen(prefix)))
            continue;
        if (!all && strncmp(rn + strlen(prefix), "/revisions/", 11))
            continue;
        list[n++] = r;
    }
    qsort(list, n, sizeof *list, cmp_create_desc);
    json_t *arr = json_array();
    for (i = 0; i < n; i++)
        json_array_append(arr, list[i]);
    free(list);
    json_t *out = json_object();
    if (fk_paginate(resp, out, "revisions", arr, fk_query(req, "pageSize"),
                    fk_query(req, "pageToken"), 100, 1000) == 0)
        fk_ok(resp, json_deep_copy(out));
    json_decref(out);
    json_decref(arr);
}

static void get_revision(struct fk_req *req, struct fk_resp *resp)
{
    char sname[1200], name[2048];
    service_name(sname, sizeof sname, req->caps[0], req->caps[1], req->caps[2]);
    snprintf(name, sizeof name, "%s/revisions/%s", sname, req->caps[3]);
    json_t *r = find_named(revisions(), name, NULL);
    if (!r)
        not_found(resp, "revision", name);
    else
        fk_ok(resp, json_deep_copy(r));
}

static json_t *find_op(struct fk_req *req)
{
    char name[1200];
    const char *id = fk_project_id(req->caps[0]);
    snprintf(name, sizeof name, "projects/%s/locations/%s/operations/%s",
             id ? id : req->caps[0], req->caps[1], req->caps[2]);
    return find_named(fk.ops, name, NULL);
}

/* operations.list: filter "done:true" / "done:false" (or none). */
static void list_operations(struct fk_req *req, struct fk_resp *resp)
{
    char prefix[600];
    const char *id = fk_project_id(req->caps[0]);
    const char *filter = fk_query(req, "filter");
    int want = -1;
    size_t i;
    json_t *rec, *arr = json_array(), *out = json_object();
    if (filter &&
        (!strcmp(filter, "done:true") || !strcmp(filter, "done=true")))
        want = 1;
    else if (filter &&
             (!strcmp(filter, "done:false") || !strcmp(filter, "done=false")))
        want = 0;
    else if (filter && *filter) {
        bad_field(resp, "filter", "filter: only done:true or done:false");
        goto done;
    }
    snprintf(prefix, sizeof prefix, "projects/%s/locations/%s/operations/",
             id ? id : req->caps[0], req->caps[1]);
    json_array_foreach(fk.ops, i, rec)
    {
        json_t *op = json_object_get(rec, "op");
        int is_done = json_is_true(json_object_get(op, "done"));
        if (strcmp(sget(rec, "kind"), "run") ||
            strncmp(sget(rec, "name"), prefix, strlen(prefix)) ||
            (want >= 0 && want != is_done))
            continue;
        json_array_append(arr, op);
    }
    if (fk_paginate(resp, out, "operations", arr, fk_query(req, "pageSize"),
                    fk_query(req, "pageToken"), 100, 100) == 0)
        fk_ok(resp, json_deep_copy(out));
done:
    json_decref(out);
    json_decref(arr);
}

/* revisions.delete: not the latest, not serving; else an operation. */
static void delete_revision(struct fk_req *req, struct fk_resp *resp)
{
    char sname[1200], name[2048];
    size_t idx = 0, i;
    json_t *t;
    service_name(sname, sizeof sname, req->caps[0], req->caps[1], req->caps[2]);
    snprintf(name, sizeof name, "%s/revisions/%s", sname, req->caps[3]);
    json_t *rev = find_named(revisions(), name, &idx);
    json_t *svc = find_named(services(), sname, NULL);
    if (!rev) {
        not_found(resp, "revision", name);
        return;
    }
    int serving = svc && ((sget(svc, "latestCreatedRevision") &&
                           !strcmp(sget(svc, "latestCreatedRevision"), name)) ||
                          (sget(svc, "latestReadyRevision") &&
                           !strcmp(sget(svc, "latestReadyRevision"), name)));
    json_array_foreach(json_object_get(svc, "traffic"), i, t)
    {
        const char *r = sget(t, "revision");
        if (r && !strcmp(r, req->caps[3]))
            serving = 1;
    }
    if (serving) {
        fk_error(resp, 400, "FAILED_PRECONDITION", NULL,
                 "Revision %s is the latest or is serving traffic and "
                 "cannot be deleted.",
                 req->caps[3]);
        return;
    }
    const char *etag = fk_query(req, "etag");
    if (etag && *etag && strcmp(etag, sget(rev, "etag")) != 0) {
        fk_error(resp, 409, "ABORTED", NULL,
                 "The revision \"%s\" was modified since it was read.", name);
        return;
    }
    char uuid[37], opname[1200];
    const char *id = fk_project_id(req->caps[0]);
    fk_uuid4(uuid);
    snprintf(opname, sizeof opname, "projects/%s/locations/%s/operations/%s",
             id ? id : req->caps[0], req->caps[1], uuid);
    json_t *meta = json_pack(
        "{s:s}", "@type", "type.googleapis.com/google.cloud.run.v2.Revision");
    json_object_update(meta, rev);
    fk_ok(resp, json_pack("{s:s,s:O,s:b,s:O}", "name", opname, "metadata", meta,
                          "done", 1, "response", meta));
    json_decref(meta);
    if (!is_true(fk_query(req, "validateOnly")))
        json_array_remove(revisions(), idx);
}

static void get_operation(struct fk_req *req, struct fk_resp *resp)
{
    json_t *rec = find_op(req);
    if (!rec)
        fk_error(resp, 404, "NOT_FOUND", NULL, "Operation not found");
    else
        fk_ok(resp, json_deep_copy(json_object_get(rec, "op")));
}

/* :wait blocks, so it takes the lock itself between polls. */
static void wait_operation(struct fk_req *req, struct fk_resp *resp)
{
    static const char *const keys[] = {"timeout", NULL};
    int64_t timeout = 60 * DL_NS_PER_SEC, start = dl_time_mono_ns();
    json_t *body, *rec, *op;
    const char *t;
    struct timespec ts = {0, 10 * 1000000L};
    fk_lock();
    body = fk_body_object(req, resp);
    if (!body || fk_check_fields(resp, body, "", keys))
        goto done;
    t = sget(body, "timeout");
    if (t && dl_duration_parse_proto(&timeout, t, NULL) != 0) {
        bad_field(resp, "timeout", "timeout: invalid duration");
        goto done;
    }
    for (;;) {
        fk_run_tick();
        rec = find_op(req);
        if (!rec) {
            fk_error(resp, 404, "NOT_FOUND", NULL, "Operation not found");
            break;
        }
        op = json_object_get(rec, "op");
        if (json_is_true(json_object_get(op, "done")) ||
            dl_time_mono_ns() - start >= timeout) {
            fk_ok(resp, json_deep_copy(op));
            break;
        }
        fk_unlock();
        nanosleep(&ts, NULL);
        fk_lock();
    }
done:
    fk_unlock();
    json_decref(body);
}

/* Seeded services: fill what GCP would have (ids, etags, defaults, a
 * serving revision) so that a seed can be just a name and a template. */
void fk_run_normalize(void)
{
    size_t i;
    json_t *svc;
    char when[64], uid[37];
    json_array_foreach(services(), i, svc)
    {
        const char *name = sget(svc, "name");
        char p[256] = "";
        if (!name || sscanf(name, "projects/%255[^/]/", p) != 1)
            continue;
        now_str(when, sizeof when, NULL);
        apply_defaults(svc, p);
        if (!sget(svc, "uid")) {
            fk_uuid4(uid);
            json_object_set_new(svc, "uid", json_string(uid));
        }
        if (!json_object_get(svc, "generation"))
            json_object_set_new(svc, "generation", json_string("1"));
        if (!sget(svc, "createTime"))
            json_object_set_new(svc, "createTime", json_string(when));
        if (!sget(svc, "updateTime"))
            json_object_set(svc, "updateTime",
                            json_object_get(svc, "createTime"));
        set_etag(svc);
        if (!sget(svc, "latestCreatedRevision") &&
            json_object_get(svc, "template")) {
            json_t *rev = create_revision(svc, 0, sget(svc, "updateTime"));
            json_object_set(svc, "latestCreatedRevision",
                            json_object_get(rev, "name"));
            json_object_set(svc, "latestReadyRevision",
                            json_object_get(rev, "name"));
        }
        if (!json_object_get(svc, "observedGeneration"))
            json_object_set(svc, "observedGeneration",
                            json_object_get(svc, "generation"));
        if (!sget(svc, "uri")) {
            char uri[2100];
            uri_for(uri, sizeof uri, name);
            json_object_set_new(svc, "uri", json_string(uri));
        }
        if (!json_object_get(svc, "terminalCondition")) {
            const char *ut = sget(svc, "updateTime");
            json_object_set_new(svc, "terminalCondition",
                                condition("Ready", "CONDITION_SUCCEEDED", ut));
            json_object_set_new(
                svc, "conditions",
                json_pack("[o,o]",
                          condition("RoutesReady", "CONDITION_SUCCEEDED", ut),
                          condition("ConfigurationsReady",
                                    "CONDITION_SUCCEEDED", ut)));
        }
        if (!json_object_get(svc, "trafficStatuses"))
            set_traffic_statuses(svc);
    }
    json_array_foreach(revisions(), i, svc)
    {
        if (!sget(svc, "uid")) {
            fk_uuid4(uid);
            json_object_set_new(svc, "uid", json_string(uid));
        }
        if (!sget(svc, "updateTime")) {
            now_str(when, sizeof when, NULL);
            json_object_set_new(svc, "updateTime", json_string(when));
        }
        if (!json_object_get(svc, "etag"))
            set_etag(svc);
    }
}

#define S "/v2/projects/*/locations/*/services"
const struct fk_route fk_routes_run[] = {
    {"GET", S, list_services, 0},
    {"POST", S, create_service, 0},
    {"GET", S "/*", get_service, 0},
    {"PATCH", S "/*", patch_service, 0},
    {"DELETE", S "/*", delete_service, 0},
    {"GET", S "/*/revisions", list_revisions, 0},
    {"GET", S "/*/revisions/*", get_revision, 0},
    {"DELETE", S "/*/revisions/*", delete_revision, 0},
    {"GET", "/v2/projects/*/locations/*/operations", list_operations, 0},
    {"GET", "/v2/projects/*/locations/*/operations/*", get_operation, 0},
    {"POST", "/v2/projects/*/locations/*/operations/*:wait", wait_operation,
     FK_ROUTE_NOLOCK},
    {NULL, NULL, NULL, 0},
};
