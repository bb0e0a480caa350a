/*
 * cloud_run_body.c - the Service body apply sends for a CloudRunService:
 * the inverse of dl_cloud_run_diff_service (see cloud_run.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provider/cloud_run.h"
#include "util/alloc.h"

/* Output-only fields of a Service (research/gcp-api.md 1.2). */
static const char *const output_only[] = {"uid",
                                          "generation",
                                          "observedGeneration",
                                          "createTime",
                                          "updateTime",
                                          "deleteTime",
                                          "expireTime",
                                          "creator",
                                          "lastModifier",
                                          "terminalCondition",
                                          "conditions",
                                          "latestReadyRevision",
                                          "latestCreatedRevision",
                                          "trafficStatuses",
                                          "uri",
                                          "urls",
                                          "reconciling",
                                          "satisfiesPzs",
                                          NULL};

/* o[key] as an object, created when absent (or not an object). */
static json_t *obj(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_object(v)) {
        v = json_object();
        json_object_set_new(o, key, v);
    }
    return v;
}

static int keep(const struct dl_cloud_run_spec *s, const char *api,
                const char *spec)
{
    return dl_cloud_run_ignored(s, api, spec);
}

static json_t *env_entry(const struct dl_env *e)
{
    if (e->secret)
        return json_pack("{s:s,s:{s:{s:s,s:s}}}", "name", e->name,
                         "valueSource", "secretKeyRef", "secret", e->secret,
                         "version", e->version ? e->version : "latest");
    return json_pack("{s:s,s:s}", "name", e->name, "value",
                     e->value ? e->value : "");
}

static const json_t *live_env(const json_t *env, const char *name)
{
    size_t i;
    const json_t *e;

    json_array_foreach(env, i, e)
    {
        const char *n = json_string_value(json_object_get(e, "name"));

        if (n && strcmp(n, name) == 0)
            return e;
    }
    return NULL;
}

static void set_env(json_t *c0, const struct dl_cloud_run_spec *s)
{
    const json_t *old = json_object_get(c0, "env");
    json_t *env = json_array(), *e;
    char api[320], spec[320];
    size_t i;

    for (i = 0; i < s->n_env; i++) {
        const json_t *le = live_env(old, s->env[i].name);

        snprintf(api, sizeof(api), "template.containers[0].env.%s",
                 s->env[i].name);
        snprintf(spec, sizeof(spec), "spec.env.%s", s->env[i].name);
        if (keep(s, api, spec)) {
            if (le)
                json_array_append_new(env, json_deep_copy(le));
            continue;
        }
        json_array_append_new(env, env_entry(&s->env[i]));
    }
    /* Live variables that are not declared go, unless ignored. */
    json_array_foreach(old, i, e)
    {
        const char *n = json_string_value(json_object_get(e, "name"));
        size_t j;

        if (!n)
            continue;
        for (j = 0; j < s->n_env && strcmp(s->env[j].name, n) != 0; j++)
            ;
        snprintf(api, sizeof(api), "template.containers[0].env.%s", n);
        snprintf(spec, sizeof(spec), "spec.env.%s", n);
        if (j == s->n_env && live_env(old, n) == e && keep(s, api, spec))
            json_array_append_new(env, json_deep_copy(e));
    }
    json_object_set_new(c0, "env", env);
}

static void set_str(json_t *o, const char *key, const char *v,
                    const struct dl_cloud_run_spec *s, const char *api,
                    const char *spec)
{
    if (v && !keep(s, api, spec))
        json_object_set_new(o, key, json_string(v));
}

static void set_int(json_t *o, const char *key, int64_t v,
                    const struct dl_cloud_run_spec *s, const char *api,
                    const char *spec)
{
    if (v != DL_UNSET && !keep(s, api, spec))
        json_object_set_new(o, key, json_integer(v));
}

static void set_labels(json_t *svc, const struct dl_cloud_run_spec *s)
{
    json_t *labels = obj(svc, "labels");
    char api[320], spec[320];
    int declared_managed = 0;

    for (size_t i = 0; s->has_labels && i < s->n_labels; i++) {
        snprintf(api, sizeof(api), "labels.%s", s->labels[i].key);
        snprintf(spec, sizeof(spec), "spec.labels.%s", s->labels[i].key);
        set_str(labels, s->labels[i].key,
                s->labels[i].value ? s->labels[i].value : "", s, api, spec);
        if (strcmp(s->labels[i].key, DL_CLOUD_RUN_MANAGED_KEY) == 0)
            declared_managed = 1;
    }
    if (!declared_managed)
        set_str(labels, DL_CLOUD_RUN_MANAGED_KEY, DL_CLOUD_RUN_MANAGED_VALUE, s,
                "labels." DL_CLOUD_RUN_MANAGED_KEY,
                "spec.labels." DL_CLOUD_RUN_MANAGED_KEY);
}

json_t *dl_cloud_run_desired_service(const json_t *live,
                                     const struct dl_cloud_run_spec *s,
                                     const char *image, const char *commit)
{
    json_t *svc = live ? json_deep_copy(live) : json_object();
    json_t *tmpl, *containers, *c0, *ann, *limits, *scaling;
    char buf[48];

    for (size_t i = 0; output_only[i]; i++)
        json_object_del(svc, output_only[i]);
    tmpl = obj(svc, "template");
    json_object_del(tmpl, "revision");
    containers = json_object_get(tmpl, "containers");
    if (!json_is_array(containers)) {
        containers = json_array();
        json_object_set_new(tmpl, "containers", containers);
    }
    if (!json_is_object(json_array_get(containers, 0))) {
        json_array_clear(containers);
        json_array_append_new(containers, json_object());
    }
    c0 = json_array_get(containers, 0);

    set_str(c0, "image", image, s, "template.containers[0].image",
            "spec.image");
    if (s->has_build) {
        ann = obj(tmpl, "annotations");
        set_str(ann, DL_CLOUD_RUN_ANN_COMMIT, commit, s,
                "template.annotations." DL_CLOUD_RUN_ANN_COMMIT,
                "spec.build.commit");
        set_str(ann, DL_CLOUD_RUN_ANN_DOCKERFILE, s->build.dockerfile, s,
                "template.annotations." DL_CLOUD_RUN_ANN_DOCKERFILE,
                "spec.build.dockerfile");
    }
    if (s->has_env && !keep(s, "template.containers[0].env", "spec.env"))
        set_env(c0, s);
    set_str(tmpl, "serviceAccount", s->service_account, s,
            "template.serviceAccount", "spec.serviceAccount");
    if (s->cpu || s->memory) {
        limits = obj(obj(c0, "resources"), "limits");
        set_str(limits, "cpu", s->cpu, s,
                "template.containers[0].resources.limits.cpu",
                "spec.resources.cpu");
        set_str(limits, "memory", s->memory, s,
                "template.containers[0].resources.limits.memory",
                "spec.resources.memory");
    }
    if (s->min_instances != DL_UNSET || s->max_instances != DL_UNSET) {
        scaling = obj(tmpl, "scaling");
        set_int(scaling, "minInstanceCount", s->min_instances, s,
                "template.scaling.minInstanceCount",
                "spec.scaling.minInstances");
        set_int(scaling, "maxInstanceCount", s->max_instances, s,
                "template.scaling.maxInstanceCount",
                "spec.scaling.maxInstances");
    }
    set_int(tmpl, "maxInstanceRequestConcurrency", s->concurrency, s,
            "template.maxInstanceRequestConcurrency", "spec.concurrency");
    if (s->timeout_ns != DL_UNSET)
        set_str(tmpl, "timeout",
                dl_cloud_run_format_timeout(buf, sizeof(buf), s->timeout_ns), s,
                "template.timeout", "spec.timeout");
    set_labels(svc, s);
    if (s->has_traffic && !keep(s, "traffic", "spec.traffic"))
        json_object_set_new(svc, "traffic", dl_cloud_run_traffic_desired(s));
    return svc;
}
