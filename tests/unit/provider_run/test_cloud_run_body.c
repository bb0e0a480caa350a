/* Unit tests of the Service body for apply (cloud_run_body.c): what it
 * builds plans as in sync, and it keeps what is not managed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "provider/cloud_run.h"

#define M(s) ((char[]){s})
#define COMMIT "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"

static json_t *load(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);

    if (!j)
        fail_msg("bad test JSON: %s", e.text);
    return j;
}

static const char *path_str(const json_t *root, const char *a, const char *b,
                            const char *c)
{
    const json_t *v = json_object_get(root, a);

    if (b)
        v = json_object_get(v, b);
    if (c)
        v = json_object_get(v, c);
    return json_string_value(v);
}

/* A live service that differs from the spec below in most fields. */
static const char *const drifted =
    "{\"name\":\"projects/p/locations/r/services/svc\","
    "\"uid\":\"u\",\"generation\":\"7\",\"etag\":\"\\\"abc\\\"\","
    "\"createTime\":\"2026-01-01T00:00:00Z\",\"reconciling\":true,"
    "\"latestReadyRevision\":\"x\",\"trafficStatuses\":[],"
    "\"terminalCondition\":{\"state\":\"CONDITION_SUCCEEDED\"},"
    "\"labels\":{\"team\":\"other\",\"phase\":\"p1\",\"cost\":\"c1\"},"
    "\"ingress\":\"INGRESS_TRAFFIC_ALL\","
    "\"template\":{\"revision\":\"svc-custom\","
    "\"annotations\":{\"driftless.dev/commit\":\"ffffffff\","
    "\"run.googleapis.com/operation-id\":\"op\"},"
    "\"serviceAccount\":\"old@p.iam.gserviceaccount.com\","
    "\"timeout\":\"300s\",\"scaling\":{\"maxInstanceCount\":3},"
    "\"containers\":[{\"image\":\"img@sha256:00\","
    "\"ports\":[{\"containerPort\":8080}],"
    "\"resources\":{\"limits\":{\"cpu\":\"1000m\",\"memory\":\"512Mi\"},"
    "\"cpuIdle\":true},"
    "\"env\":[{\"name\":\"A\",\"value\":\"old\"},"
    "{\"name\":\"EXTRA\",\"value\":\"e\"},"
    "{\"name\":\"KEEP_ME\",\"value\":\"k\"}]}]},"
    "\"traffic\":[{\"type\":\"TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION\","
    "\"revision\":\"svc-00001-aaa\",\"percent\":100}]}";

/* Static: the model's fields are char *, and compound literals would end
 * with spec_init. */
static char app_df[] = "app/Dockerfile", sa[] = "sa@p.iam.gserviceaccount.com",
            cpu2[] = "2", mem2[] = "2Gi";

static void spec_init(struct dl_cloud_run_spec *s, struct dl_env *env,
                      size_t n_env, struct dl_label *labels, size_t n_labels,
                      char **ignore, size_t n_ignore)
{
    memset(s, 0, sizeof(*s));
    s->has_build = 1;
    s->build.dockerfile = app_df;
    s->service_account = sa;
    s->has_env = 1;
    s->env = env;
    s->n_env = n_env;
    s->cpu = cpu2;
    s->cpu_millis = 2000;
    s->memory = mem2;
    s->memory_bytes = 2LL * 1024 * 1024 * 1024;
    s->min_instances = 1;
    s->max_instances = 10;
    s->concurrency = 4;
    s->timeout_ns = 1800LL * 1000000000LL;
    s->has_labels = 1;
    s->labels = labels;
    s->n_labels = n_labels;
    s->has_traffic = s->traffic_latest = 1;
    s->ignore_fields = ignore;
    s->n_ignore_fields = n_ignore;
}

/* Plan body against spec: how many changes? (Printed when verbose.) */
static size_t changes_against(const json_t *body,
                              const struct dl_cloud_run_spec *s, int verbose)
{
    struct dl_plan *plan = dl_plan_new();
    struct dl_cloud_run_differ d = {0};
    size_t n;

    d.pr = dl_plan_add_resource(plan, "p", "CloudRunService", "svc");
    d.spec = s;
    dl_cloud_run_diff_service(&d, body, s, COMMIT);
    for (size_t i = 0; verbose && i < d.pr->nchanges; i++)
        print_message("left over: %s\n", d.pr->changes[i].path);
    n = d.pr->nchanges;
    dl_plan_free(plan);
    return n;
}

static void test_update_body_plans_in_sync(void **state)
{
    struct dl_env env[] = {
        {.name = M("A"), .value = M("new")},
        {.name = M("HOOK"), .secret = M("hook"), .version = M("2")},
    };
    struct dl_label labels[] = {{.key = M("team"), .value = M("data")},
                                {.key = M("phase"), .value = M("p2")}};
    char *ignore[] = {M("spec.labels.phase"), M("spec.env.KEEP_ME")};
    struct dl_cloud_run_spec s;
    json_t *live = load(drifted), *body;
    const json_t *envs;

    (void)state;
    spec_init(&s, env, 2, labels, 2, ignore, 2);
    assert_true(changes_against(live, &s, 0) > 10);
    body = dl_cloud_run_desired_service(live, &s, "img@sha256:11", COMMIT);
    assert_int_equal(changes_against(body, &s, 1), 0);

    /* Output-only fields gone; name and the etag precondition kept. */
    assert_null(json_object_get(body, "uid"));
    assert_null(json_object_get(body, "generation"));
    assert_null(json_object_get(body, "reconciling"));
    assert_null(json_object_get(body, "latestReadyRevision"));
    assert_null(json_object_get(body, "trafficStatuses"));
    assert_null(json_object_get(body, "terminalCondition"));
    assert_null(json_object_get(body, "createTime"));
    assert_string_equal(path_str(body, "etag", NULL, NULL), "\"abc\"");
    assert_string_equal(path_str(body, "name", NULL, NULL),
                        "projects/p/locations/r/services/svc");
    /* A new template needs a new revision name: Cloud Run picks it. */
    assert_null(json_object_get(json_object_get(body, "template"), "revision"));
    /* What is not managed stays as it was. */
    assert_string_equal(path_str(body, "labels", "phase", NULL), "p1");
    assert_string_equal(path_str(body, "labels", "cost", NULL), "c1");
    assert_string_equal(path_str(body, "labels", "managed-by", NULL),
                        "driftless");
    assert_string_equal(path_str(body, "ingress", NULL, NULL),
                        "INGRESS_TRAFFIC_ALL");
    assert_string_equal(path_str(body, "template", "annotations",
                                 "run.googleapis.com/operation-id"),
                        "op");
    /* env: declared in order, then the ignored live one; EXTRA is gone. */
    envs = json_object_get(
        json_array_get(
            json_object_get(json_object_get(body, "template"), "containers"),
            0),
        "env");
    assert_int_equal(json_array_size(envs), 3);
    assert_string_equal(path_str(json_array_get(envs, 0), "name", NULL, NULL),
                        "A");
    assert_string_equal(path_str(json_array_get(envs, 1), "valueSource",
                                 "secretKeyRef", "secret"),
                        "hook");
    assert_string_equal(path_str(json_array_get(envs, 2), "name", NULL, NULL),
                        "KEEP_ME");
    json_decref(body);
    json_decref(live);
}

static void test_create_body(void **state)
{
    struct dl_env env[] = {{.name = M("A"), .value = M("1")}};
    struct dl_label labels[] = {{.key = M("team"), .value = M("data")}};
    struct dl_cloud_run_spec s;
    json_t *body;

    (void)state;
    spec_init(&s, env, 1, labels, 1, NULL, 0);
    body = dl_cloud_run_desired_service(NULL, &s, "img@sha256:22", COMMIT);
    assert_int_equal(changes_against(body, &s, 1), 0);
    assert_null(json_object_get(body, "etag"));
    assert_string_equal(
        path_str(
            json_array_get(json_object_get(json_object_get(body, "template"),
                                           "containers"),
                           0),
            "image", NULL, NULL),
        "img@sha256:22");
    assert_string_equal(path_str(body, "template", "timeout", NULL), "1800s");
    assert_string_equal(
        path_str(body, "template", "annotations", "driftless.dev/dockerfile"),
        "app/Dockerfile");
    json_decref(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_update_body_plans_in_sync),
        cmocka_unit_test(test_create_body),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
