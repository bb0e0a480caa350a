/*
 * cloud_run_diff.c - pure comparison of a declared CloudRunService with a
 * live Cloud Run v2 Service (see cloud_run.h).
 */
#include "provider/cloud_run.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/check.h"
#include "util/alloc.h"
#include "util/time.h"

#define LATEST "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
#define REVISION "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION"
#define CONTAINER0 "template.containers[0]"

/* Cloud Run's defaults for fields it fills in when they are not sent. */
#define DEFAULT_TIMEOUT_NS (300LL * 1000000000LL)
#define DEFAULT_CONCURRENCY 80
#define DEFAULT_MIN_INSTANCES 0
#define DEFAULT_MAX_INSTANCES 100

/* What Cloud Run sets itself, as API paths (patterns, see
 * dl_cloud_run_path_matches). */
static const char *const builtin_ignored[] = {
    "annotations.run.googleapis.com/*",
    "annotations.client.knative.dev/*",
    "annotations.serving.knative.dev/*",
    "annotations.autoscaling.knative.dev/*",
    "template.annotations.run.googleapis.com/*",
    "template.annotations.client.knative.dev/*",
    "template.annotations.serving.knative.dev/*",
    "template.annotations.autoscaling.knative.dev/*",
    "labels.run.googleapis.com/*",
    "labels.cloud.googleapis.com/*",
    "labels.serving.knative.dev/*",
    "template.labels.run.googleapis.com/*",
    "template.labels.cloud.googleapis.com/*",
    "launchStage",
    "ingress",
    "client",
    "clientVersion",
    "uid",
    "etag",
    "generation",
    "observedGeneration",
    "createTime",
    "updateTime",
    "deleteTime",
    "expireTime",
    "creator",
    "lastModifier",
    "uri",
    "urls",
    "reconciling",
    "conditions",
    "terminalCondition",
    "latestReadyRevision",
    "latestCreatedRevision",
    "trafficStatuses",
    "satisfiesPzs",
    "template.revision",
    "template.executionEnvironment",
    "template.containers[*].name",
    "template.containers[*].ports",
    "template.containers[*].startupProbe",
    "template.containers[*].livenessProbe",
    "template.containers[*].resources.cpuIdle",
    "template.containers[*].resources.startupCpuBoost",
    NULL,
};

/* Does pattern match a prefix of path of length *len ('*' any run)? */
static int glob_prefix(const char *p, const char *s)
{
    if (*p == '\0')
        return *s == '\0' || *s == '.' || *s == '[';
    if (*p == '*') {
        for (const char *t = s;; t++) {
            if (glob_prefix(p + 1, t))
                return 1;
            if (*t == '\0')
                return 0;
        }
    }
    return *p == *s && glob_prefix(p + 1, s + 1);
}

int dl_cloud_run_path_matches(const char *pattern, const char *path)
{
    if (!pattern || !*pattern || !path)
        return 0;
    return glob_prefix(pattern, path);
}

int dl_cloud_run_builtin_ignored(const char *api_path)
{
    for (size_t i = 0; builtin_ignored[i]; i++)
        if (dl_cloud_run_path_matches(builtin_ignored[i], api_path))
            return 1;
    return 0;
}

int dl_cloud_run_ignored(const struct dl_cloud_run_spec *s,
                         const char *api_path, const char *spec_path)
{
    if (api_path && dl_cloud_run_builtin_ignored(api_path))
        return 1;
    for (size_t i = 0; s && i < s->n_ignore_fields; i++) {
        const char *p = s->ignore_fields[i];

        if (dl_cloud_run_path_matches(p, api_path) ||
            dl_cloud_run_path_matches(p, spec_path))
            return 1;
    }
    return 0;
}

int dl_cloud_run_change(struct dl_cloud_run_differ *d, const char *api_path,
                        const char *spec_path, json_t *before, json_t *after,
                        int sensitive)
{
    if (dl_cloud_run_ignored(d->spec, api_path, spec_path)) {
        json_decref(before);
        json_decref(after);
        d->ignored++;
        return 0;
    }
    dl_plan_resource_add_change(d->pr, api_path, before, after, sensitive);
    d->added++;
    return 1;
}

int dl_cloud_run_cpu_equal(const char *live, int64_t desired_millis)
{
    int64_t v;

    return live && dl_quantity_cpu_parse(&v, live, NULL) == 0 &&
           v == desired_millis;
}

int dl_cloud_run_memory_equal(const char *live, int64_t desired_bytes)
{
    int64_t v;

    return live && dl_quantity_memory_parse(&v, live, NULL) == 0 &&
           v == desired_bytes;
}

char *dl_cloud_run_format_timeout(char *out, size_t size, int64_t ns)
{
    int64_t sec = ns / 1000000000LL, frac = ns % 1000000000LL;

    if (frac == 0) {
        snprintf(out, size, "%llds", (long long)sec);
    } else {
        char digits[16];
        size_t n;

        snprintf(digits, sizeof(digits), "%09lld", (long long)frac);
        n = strlen(digits);
        while (n > 0 && digits[n - 1] == '0')
            digits[--n] = '\0';
        snprintf(out, size, "%lld.%ss", (long long)sec, digits);
    }
    return out;
}

int dl_cloud_run_env_name_sensitive(const char *name)
{
    static const char *const words[] = {
        "KEY",     "TOKEN", "SECRET",  "PASSWORD", "PASSWD", "CREDENTIAL",
        "PRIVATE", "AUTH",  "WEBHOOK", "PWD",      NULL};
    char up[256];
    size_t i;

    for (i = 0; name[i] && i < sizeof(up) - 1; i++)
        up[i] = (char)toupper((unsigned char)name[i]);
    up[i] = '\0';
    for (i = 0; words[i]; i++)
        if (strstr(up, words[i]))
            return 1;
    return 0;
}

const char *dl_cloud_run_short_name(const char *name)
{
    const char *slash = name ? strrchr(name, '/') : NULL;

    return slash ? slash + 1 : (name ? name : "");
}

int dl_cloud_run_commit_matches(const char *live, const char *desired)
{
    size_t n;

    if (!live || !desired || !*live || !*desired)
        return 0;
    n = strlen(live);
    if (strlen(desired) != 40)
        return strcmp(live, desired) == 0;
    if (n < 7 || n > 40)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)live[i]) ||
            tolower((unsigned char)live[i]) != desired[i])
            return 0;
    return 1;
}

/* ---- env ---------------------------------------------------------------- */

static const char *sget(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* {secret, version} of a live secretKeyRef, names shortened. */
static json_t *secret_ref(const char *secret, const char *version)
{
    const char *s = secret ? secret : "";
    const char *at = strstr(s, "/secrets/");

    if (at)
        s = at + strlen("/secrets/");
    return json_pack("{s:s,s:s}", "secret", s, "version",
                     version && *version ? version : "latest");
}

/* The live value of one env entry: a string, {secret, version}, or NULL
 * for an entry that holds neither. *is_secret says which. New reference. */
static json_t *live_env_value(const json_t *e, int *is_secret)
{
    const json_t *vs = json_object_get(e, "valueSource");
    const json_t *ref = json_object_get(vs, "secretKeyRef");

    *is_secret = 0;
    if (json_is_object(ref)) {
        *is_secret = 1;
        return secret_ref(sget(ref, "secret"), sget(ref, "version"));
    }
    if (json_is_object(vs))
        return json_string("(unsupported valueSource)");
    return json_string(sget(e, "value") ? sget(e, "value") : "");
}

static json_t *desired_env_value(const struct dl_env *e)
{
    if (e->secret)
        return secret_ref(e->secret, e->version);
    return json_string(e->value ? e->value : "");
}

static const json_t *find_env(const json_t *live, const char *name)
{
    size_t i;
    const json_t *e;

    json_array_foreach(live, i, e)
    {
        const char *n = sget(e, "name");

        if (n && strcmp(n, name) == 0)
            return e;
    }
    return NULL;
}

static void env_change(struct dl_cloud_run_differ *d, const char *name,
                       json_t *before, json_t *after, int sensitive)
{
    char *api = dl_asprintf(CONTAINER0 ".env.%s", name);
    char *spec = dl_asprintf("spec.env.%s", name);

    dl_cloud_run_change(d, api, spec, before, after, sensitive);
    free(api);
    free(spec);
}

void dl_cloud_run_diff_env(struct dl_cloud_run_differ *d, const json_t *live,
                           const struct dl_env *env, size_t n)
{
    size_t i;
    const json_t *e;

    for (i = 0; i < n; i++) {
        const json_t *le = find_env(live, env[i].name);
        json_t *want = desired_env_value(&env[i]), *have = NULL;
        int live_secret = 0, want_secret = env[i].secret != NULL;
        int named = dl_cloud_run_env_name_sensitive(env[i].name);

        if (le)
            have = live_env_value(le, &live_secret);
        if (have && json_equal(have, want)) {
            json_decref(have);
            json_decref(want);
            continue;
        }
        /* A plain value next to a secret reference is likely the secret's
         * value: mask both sides. */
        env_change(d, env[i].name, have, want,
                   (have && live_secret != want_secret) ||
                       (!want_secret && named) ||
                       (have && !live_secret && named));
    }
    json_array_foreach(live, i, e)
    {
        const char *name = sget(e, "name");
        int live_secret = 0;
        json_t *have;
        size_t j;

        if (!name)
            continue;
        for (j = 0; j < n && strcmp(env[j].name, name) != 0; j++)
            ;
        if (j < n || find_env(live, name) != e)
            continue;
        have = live_env_value(e, &live_secret);
        /* An undeclared plain value may be anything: mask it unless the
         * name is plainly harmless, and say what it is in the path. */
        env_change(d, name, have, NULL,
                   !live_secret && dl_cloud_run_env_name_sensitive(name));
    }
}

/* ---- traffic ------------------------------------------------------------ */

static int cmp_target(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    const char *keys[] = {"type", "revision", "tag"};
    int r;

    for (size_t i = 0; i < 3; i++) {
        const char *s = sget(x, keys[i]), *t = sget(y, keys[i]);

        r = strcmp(s ? s : "", t ? t : "");
        if (r)
            return r;
    }
    r = (int)(json_integer_value(json_object_get(x, "percent")) -
              json_integer_value(json_object_get(y, "percent")));
    return r;
}

static json_t *sorted(json_t *arr)
{
    size_t n = json_array_size(arr);
    json_t **v = dl_calloc(n + 1, sizeof(*v));
    json_t *out = json_array();

    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(arr, i);
    qsort(v, n, sizeof(*v), cmp_target);
    for (size_t i = 0; i < n; i++)
        json_array_append(out, v[i]);
    free(v);
    json_decref(arr);
    return out;
}

static json_t *target(const char *type, const char *revision,
                      json_int_t percent, const char *tag)
{
    json_t *t = json_object();

    json_object_set_new(t, "type", json_string(type));
    if (revision && *revision)
        json_object_set_new(t, "revision", json_string(revision));
    json_object_set_new(t, "percent", json_integer(percent));
    if (tag && *tag)
        json_object_set_new(t, "tag", json_string(tag));
    return t;
}

json_t *dl_cloud_run_traffic_desired(const struct dl_cloud_run_spec *s)
{
    json_t *out = json_array();

    if (s->traffic_latest || s->n_traffic == 0) {
        json_array_append_new(out, target(LATEST, NULL, 100, NULL));
        return out;
    }
    for (size_t i = 0; i < s->n_traffic; i++) {
        const struct dl_traffic *t = &s->traffic[i];

        if (t->percent == 0 && !t->tag)
            continue;
        json_array_append_new(out, target(t->revision ? REVISION : LATEST,
                                          t->revision, t->percent, t->tag));
    }
    return sorted(out);
}

json_t *dl_cloud_run_traffic_live(const json_t *traffic)
{
    json_t *out = json_array();
    size_t i;
    const json_t *t;

    if (json_array_size(traffic) == 0) {
        json_array_append_new(out, target(LATEST, NULL, 100, NULL));
        return out;
    }
    json_array_foreach(traffic, i, t)
    {
        const char *type = sget(t, "type"), *rev = sget(t, "revision");
        json_int_t pct = json_integer_value(json_object_get(t, "percent"));

        if (!type || strcmp(type, LATEST) != 0)
            type = rev && *rev ? REVISION : LATEST;
        if (pct == 0 && !(sget(t, "tag") && *sget(t, "tag")))
            continue;
        json_array_append_new(out,
                              target(type, strcmp(type, LATEST) ? rev : NULL,
                                     pct, sget(t, "tag")));
    }
    return sorted(out);
}

/* ---- the whole service -------------------------------------------------- */

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : NULL;
}

static void diff_str(struct dl_cloud_run_differ *d, const char *api,
                     const char *spec, const char *live, const char *want)
{
    if (live && strcmp(live, want) == 0)
        return;
    dl_cloud_run_change(d, api, spec, str_or_null(live), json_string(want), 0);
}

/* An integer field; a live value absent means Cloud Run's default dflt
 * (on an existing service: a service to create has nothing yet). */
static void diff_int(struct dl_cloud_run_differ *d, const char *api,
                     const char *spec, const json_t *live, int64_t dflt,
                     int64_t want, int exists)
{
    int64_t have = dflt;

    if (json_is_integer(live))
        have = json_integer_value(live);
    else if (json_is_string(live)) /* int64 fields travel as strings */
        have = strtoll(json_string_value(live), NULL, 10);
    if (exists && have == want)
        return;
    dl_cloud_run_change(d, api, spec, live ? json_deep_copy(live) : NULL,
                        json_integer(want), 0);
}

static void diff_labels(struct dl_cloud_run_differ *d, const json_t *labels,
                        const struct dl_cloud_run_spec *s)
{
    char api[320], spec[320];
    int declared_managed = 0;

    for (size_t i = 0; s->has_labels && i < s->n_labels; i++) {
        snprintf(api, sizeof(api), "labels.%s", s->labels[i].key);
        snprintf(spec, sizeof(spec), "spec.labels.%s", s->labels[i].key);
        if (strcmp(s->labels[i].key, DL_CLOUD_RUN_MANAGED_KEY) == 0)
            declared_managed = 1;
        diff_str(d, api, spec, sget(labels, s->labels[i].key),
                 s->labels[i].value ? s->labels[i].value : "");
    }
    /* driftless's own ownership label, expected on every managed service. */
    if (!declared_managed)
        diff_str(d, "labels." DL_CLOUD_RUN_MANAGED_KEY,
                 "spec.labels." DL_CLOUD_RUN_MANAGED_KEY,
                 sget(labels, DL_CLOUD_RUN_MANAGED_KEY),
                 DL_CLOUD_RUN_MANAGED_VALUE);
}

static void diff_resources(struct dl_cloud_run_differ *d, const json_t *c0,
                           const struct dl_cloud_run_spec *s)
{
    const json_t *limits =
        json_object_get(json_object_get(c0, "resources"), "limits");
    const char *cpu = sget(limits, "cpu"), *mem = sget(limits, "memory");

    if (s->cpu && s->cpu_millis != DL_UNSET &&
        !dl_cloud_run_cpu_equal(cpu, s->cpu_millis))
        dl_cloud_run_change(d, CONTAINER0 ".resources.limits.cpu",
                            "spec.resources.cpu", str_or_null(cpu),
                            json_string(s->cpu), 0);
    if (s->memory && s->memory_bytes != DL_UNSET &&
        !dl_cloud_run_memory_equal(mem, s->memory_bytes))
        dl_cloud_run_change(d, CONTAINER0 ".resources.limits.memory",
                            "spec.resources.memory", str_or_null(mem),
                            json_string(s->memory), 0);
}

static void diff_timeout(struct dl_cloud_run_differ *d, const json_t *tmpl,
                         int64_t want, int exists)
{
    const char *live = sget(tmpl, "timeout");
    int64_t have = DEFAULT_TIMEOUT_NS;
    char buf[48];

    if (live && dl_duration_parse_proto(&have, live, NULL) < 0)
        have = -1;
    if (exists && have == want)
        return;
    dl_cloud_run_change(
        d, "template.timeout", "spec.timeout", str_or_null(live),
        json_string(dl_cloud_run_format_timeout(buf, sizeof(buf), want)), 0);
}

void dl_cloud_run_diff_service(struct dl_cloud_run_differ *d, const json_t *svc,
                               const struct dl_cloud_run_spec *s,
                               const char *desired_commit)
{
    const json_t *tmpl = json_object_get(svc, "template");
    const json_t *c0 = json_array_get(json_object_get(tmpl, "containers"), 0);
    const json_t *ann = json_object_get(tmpl, "annotations");
    const json_t *scaling = json_object_get(tmpl, "scaling");

    if (s->image)
        diff_str(d, CONTAINER0 ".image", "spec.image", sget(c0, "image"),
                 s->image);
    if (s->has_build && desired_commit) {
        const char *live = sget(ann, DL_CLOUD_RUN_ANN_COMMIT);

        if (!dl_cloud_run_commit_matches(live, desired_commit))
            dl_cloud_run_change(d,
                                "template.annotations." DL_CLOUD_RUN_ANN_COMMIT,
                                "spec.build.commit", str_or_null(live),
                                json_string(desired_commit), 0);
    }
    if (s->has_build && s->build.dockerfile)
        diff_str(d, "template.annotations." DL_CLOUD_RUN_ANN_DOCKERFILE,
                 "spec.build.dockerfile",
                 sget(ann, DL_CLOUD_RUN_ANN_DOCKERFILE), s->build.dockerfile);
    if (s->has_env)
        dl_cloud_run_diff_env(d, json_object_get(c0, "env"), s->env, s->n_env);
    if (s->service_account)
        diff_str(d, "template.serviceAccount", "spec.serviceAccount",
                 sget(tmpl, "serviceAccount"), s->service_account);
    diff_resources(d, c0, s);
    if (s->min_instances != DL_UNSET)
        diff_int(d, "template.scaling.minInstanceCount",
                 "spec.scaling.minInstances",
                 json_object_get(scaling, "minInstanceCount"),
                 DEFAULT_MIN_INSTANCES, s->min_instances, svc != NULL);
    if (s->max_instances != DL_UNSET)
        diff_int(d, "template.scaling.maxInstanceCount",
                 "spec.scaling.maxInstances",
                 json_object_get(scaling, "maxInstanceCount"),
                 DEFAULT_MAX_INSTANCES, s->max_instances, svc != NULL);
    if (s->concurrency != DL_UNSET)
        diff_int(d, "template.maxInstanceRequestConcurrency",
                 "spec.concurrency",
                 json_object_get(tmpl, "maxInstanceRequestConcurrency"),
                 DEFAULT_CONCURRENCY, s->concurrency, svc != NULL);
    if (s->timeout_ns != DL_UNSET)
        diff_timeout(d, tmpl, s->timeout_ns, svc != NULL);
    diff_labels(d, json_object_get(svc, "labels"), s);
    if (s->has_traffic) {
        json_t *want = dl_cloud_run_traffic_desired(s);
        json_t *have =
            svc ? dl_cloud_run_traffic_live(json_object_get(svc, "traffic"))
                : NULL;

        if (have && json_equal(have, want)) {
            json_decref(have);
            json_decref(want);
        } else {
            dl_cloud_run_change(d, "traffic", "spec.traffic", have, want, 0);
        }
    }
}
