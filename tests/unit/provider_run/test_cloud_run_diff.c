/* Unit tests of the CloudRunService comparison helpers (cloud_run_diff.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "provider/cloud_run.h"

#define GI (1024LL * 1024 * 1024)
#define MI (1024LL * 1024)
/* A mutable string for the model's char * fields. */
#define M(s) ((char[]){s})

static json_t *load(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &e);

    if (!j)
        fail_msg("bad test JSON: %s", e.text);
    return j;
}

/* A spec with every integer field unset. */
static void spec_init(struct dl_cloud_run_spec *s)
{
    memset(s, 0, sizeof(*s));
    s->cpu_millis = s->memory_bytes = DL_UNSET;
    s->min_instances = s->max_instances = DL_UNSET;
    s->concurrency = s->timeout_ns = DL_UNSET;
}

struct fx {
    struct dl_plan *plan;
    struct dl_plan_resource *pr;
    struct dl_cloud_run_differ d;
};

static void fx_init(struct fx *f, const struct dl_cloud_run_spec *s)
{
    f->plan = dl_plan_new();
    f->pr = dl_plan_add_resource(f->plan, "p", "CloudRunService", "svc");
    memset(&f->d, 0, sizeof(f->d));
    f->d.pr = f->pr;
    f->d.spec = s;
}

static const struct dl_plan_change *find(const struct fx *f, const char *path)
{
    for (size_t i = 0; i < f->pr->nchanges; i++)
        if (strcmp(f->pr->changes[i].path, path) == 0)
            return &f->pr->changes[i];
    return NULL;
}

/* The change at path; fails the test (and returns an empty change) when
 * there is none. */
static const struct dl_plan_change *get(const struct fx *f, const char *path)
{
    static const struct dl_plan_change none;
    const struct dl_plan_change *c = find(f, path);

    if (!c) {
        fail_msg("no change at %s", path);
        return &none;
    }
    return c;
}

static void assert_json(const json_t *v, const char *want)
{
    json_t *w = want ? load(want) : NULL;

    if (!want) {
        assert_null(v);
        return;
    }
    assert_non_null(v);
    if (!json_equal(v, w)) {
        char *got = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

        json_decref(w);
        fail_msg("got %s, want %s", got, want);
    }
    json_decref(w);
}

/* ---- paths and the ignore list ------------------------------------------ */

static void test_path_matches(void **state)
{
    (void)state;
    assert_true(dl_cloud_run_path_matches("labels.team", "labels.team"));
    assert_true(dl_cloud_run_path_matches("spec.env", "spec.env.API_KEY"));
    assert_true(dl_cloud_run_path_matches("traffic", "traffic[0].percent"));
    assert_false(dl_cloud_run_path_matches("labels.te", "labels.team"));
    assert_false(dl_cloud_run_path_matches("spec.env.A", "spec.env"));
    assert_true(dl_cloud_run_path_matches("template.containers[*].ports",
                                          "template.containers[0].ports"));
    assert_true(dl_cloud_run_path_matches("labels.run.googleapis.com/*",
                                          "labels.run.googleapis.com/x.y"));
    assert_false(dl_cloud_run_path_matches("", "labels"));
    assert_false(dl_cloud_run_path_matches(NULL, "labels"));
}

static void test_builtin_ignored(void **state)
{
    static const char *const ignored[] = {
        "template.annotations.run.googleapis.com/operation-id",
        "annotations.run.googleapis.com/client-name",
        "template.annotations.client.knative.dev/user-image",
        "launchStage",
        "ingress",
        "template.containers[0].startupProbe",
        "template.containers[0].startupProbe.tcpSocket.port",
        "template.containers[1].ports",
        "template.containers[0].resources.cpuIdle",
        "trafficStatuses",
        "etag",
        "clientVersion",
        NULL};
    static const char *const kept[] = {
        "template.annotations.driftless.dev/commit",
        "template.annotations.driftless.dev/dockerfile",
        "labels.team",
        "labels.managed-by",
        "template.containers[0].image",
        "template.containers[0].resources.limits.cpu",
        "template.containers[0].env.PORT",
        "template.timeout",
        "traffic",
        "launchStages",
        NULL};

    (void)state;
    for (size_t i = 0; ignored[i]; i++)
        if (!dl_cloud_run_builtin_ignored(ignored[i]))
            fail_msg("'%s' should be ignored", ignored[i]);
    for (size_t i = 0; kept[i]; i++)
        if (dl_cloud_run_builtin_ignored(kept[i]))
            fail_msg("'%s' should be diffed", kept[i]);
}

static void test_change_ignore_fields(void **state)
{
    char *ign[] = {M("spec.labels.phase"), M("template.serviceAccount")};
    struct dl_cloud_run_spec s;
    struct fx f;

    (void)state;
    spec_init(&s);
    s.ignore_fields = ign;
    s.n_ignore_fields = 2;
    fx_init(&f, &s);
    assert_int_equal(dl_cloud_run_change(&f.d, "labels.phase",
                                         "spec.labels.phase", json_string("a"),
                                         json_string("b"), 0),
                     0);
    assert_int_equal(dl_cloud_run_change(&f.d, "template.serviceAccount",
                                         "spec.serviceAccount", NULL,
                                         json_string("x@y.z"), 0),
                     0);
    assert_int_equal(dl_cloud_run_change(&f.d, "launchStage", NULL,
                                         json_string("BETA"), json_string("GA"),
                                         0),
                     0);
    assert_int_equal(dl_cloud_run_change(&f.d, "labels.team",
                                         "spec.labels.team", NULL,
                                         json_string("t"), 0),
                     1);
    assert_int_equal(f.d.ignored, 3);
    assert_int_equal(f.d.added, 1);
    assert_int_equal(f.pr->nchanges, 1);
    assert_string_equal(f.pr->changes[0].path, "labels.team");
    dl_plan_free(f.plan);
}

/* ---- quantities, durations, commits ------------------------------------ */

static void test_quantities(void **state)
{
    (void)state;
    assert_true(dl_cloud_run_cpu_equal("2000m", 2000));
    assert_true(dl_cloud_run_cpu_equal("2", 2000));
    assert_true(dl_cloud_run_cpu_equal("0.5", 500));
    assert_true(dl_cloud_run_cpu_equal("1000m", 1000));
    assert_false(dl_cloud_run_cpu_equal("1", 2000));
    assert_false(dl_cloud_run_cpu_equal("two", 2000));
    assert_false(dl_cloud_run_cpu_equal(NULL, 2000));
    assert_true(dl_cloud_run_memory_equal("2Gi", 2 * GI));
    assert_true(dl_cloud_run_memory_equal("2048Mi", 2 * GI));
    assert_true(dl_cloud_run_memory_equal("512Mi", 512 * MI));
    assert_false(dl_cloud_run_memory_equal("2G", 2 * GI));
    assert_false(dl_cloud_run_memory_equal("", 2 * GI));
    assert_false(dl_cloud_run_memory_equal(NULL, 2 * GI));
}

static void test_timeout_and_commits(void **state)
{
    char buf[32];

    (void)state;
    assert_string_equal(
        dl_cloud_run_format_timeout(buf, sizeof(buf), 300000000000LL), "300s");
    assert_string_equal(
        dl_cloud_run_format_timeout(buf, sizeof(buf), 1500000000LL), "1.5s");
    assert_string_equal(dl_cloud_run_format_timeout(buf, sizeof(buf), 1000000),
                        "0.001s");

    const char *full = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d";
    assert_true(dl_cloud_run_commit_matches(full, full));
    assert_true(dl_cloud_run_commit_matches("1a2b3c4", full));
    assert_true(dl_cloud_run_commit_matches("1A2B3C4D", full));
    assert_false(dl_cloud_run_commit_matches("1a2b3c", full)); /* < 7 */
    assert_false(dl_cloud_run_commit_matches("1a2b3c5", full));
    assert_false(dl_cloud_run_commit_matches(NULL, full));
    assert_false(dl_cloud_run_commit_matches("", full));
    assert_false(dl_cloud_run_commit_matches(full, NULL));
    assert_true(dl_cloud_run_commit_matches("v1.2", "v1.2"));

    assert_string_equal(
        dl_cloud_run_short_name("projects/p/locations/r/services/s/revisions/"
                                "s-00001-abc"),
        "s-00001-abc");
    assert_string_equal(dl_cloud_run_short_name("plain"), "plain");
}

/* ---- env ---------------------------------------------------------------- */

static void test_env_sensitive_names(void **state)
{
    (void)state;
    assert_true(dl_cloud_run_env_name_sensitive("API_KEY"));
    assert_true(dl_cloud_run_env_name_sensitive("db_password"));
    assert_true(dl_cloud_run_env_name_sensitive("SLACK_WEBHOOK_URL"));
    assert_true(dl_cloud_run_env_name_sensitive("GITHUB_TOKEN"));
    assert_false(dl_cloud_run_env_name_sensitive("LOG_LEVEL"));
    assert_false(dl_cloud_run_env_name_sensitive("GCP_PROJECT"));
}

static void test_env_diff(void **state)
{
    struct dl_env env[] = {
        {.name = M("PHASE"), .value = M("phase2")},
        {.name = M("SAME"), .value = M("x")},
        {.name = M("HOOK"),
         .secret = M("slack-webhook-url"),
         .version = M("latest")},
        {.name = M("REF"), .secret = M("db"), .version = M("3")},
        {.name = M("API_KEY"), .value = M("new")},
        {.name = M("NEW"), .value = M("n")},
    };
    json_t *live =
        load("[{\"name\":\"PHASE\",\"value\":\"phase1\"},"
             "{\"name\":\"SAME\",\"value\":\"x\"},"
             "{\"name\":\"HOOK\",\"value\":\"https://hooks/SECRETVALUE\"},"
             "{\"name\":\"REF\",\"valueSource\":{\"secretKeyRef\":"
             "{\"secret\":\"projects/123/secrets/db\",\"version\":\"2\"}}},"
             "{\"name\":\"API_KEY\",\"value\":\"old-key-VALUE\"},"
             "{\"name\":\"GONE\",\"value\":\"bye\"},"
             "{\"name\":\"GONE_TOKEN\",\"value\":\"tok-VALUE\"}]");
    struct dl_cloud_run_spec s;
    const struct dl_plan_change *c;
    struct fx f;

    (void)state;
    spec_init(&s);
    fx_init(&f, &s);
    dl_cloud_run_diff_env(&f.d, live, env, 6);
    assert_int_equal(f.pr->nchanges, 7);
    assert_null(find(&f, "template.containers[0].env.SAME"));

    c = get(&f, "template.containers[0].env.PHASE");
    assert_false(c->sensitive);
    assert_json(c->before, "\"phase1\"");
    assert_json(c->after, "\"phase2\"");

    /* A literal where a secret reference belongs: both sides masked. */
    c = get(&f, "template.containers[0].env.HOOK");
    assert_true(c->sensitive);
    assert_json(c->before, "\"" DL_PLAN_SENSITIVE "\"");
    assert_json(c->after, "\"" DL_PLAN_SENSITIVE "\"");

    /* Two references: compared by name and version, shown as they are. */
    c = get(&f, "template.containers[0].env.REF");
    assert_false(c->sensitive);
    assert_json(c->before, "{\"secret\":\"db\",\"version\":\"2\"}");
    assert_json(c->after, "{\"secret\":\"db\",\"version\":\"3\"}");

    c = get(&f, "template.containers[0].env.API_KEY");
    assert_true(c->sensitive);

    c = get(&f, "template.containers[0].env.NEW");
    assert_null(c->before);
    assert_json(c->after, "\"n\"");

    c = get(&f, "template.containers[0].env.GONE");
    assert_json(c->before, "\"bye\"");
    assert_null(c->after);
    c = get(&f, "template.containers[0].env.GONE_TOKEN");
    assert_true(c->sensitive);

    /* No secret value anywhere in the plan's changes. */
    for (size_t i = 0; i < f.pr->nchanges; i++) {
        char *b =
            json_dumps(f.pr->changes[i].before, JSON_ENCODE_ANY | JSON_COMPACT);
        char *a =
            json_dumps(f.pr->changes[i].after, JSON_ENCODE_ANY | JSON_COMPACT);

        assert_null(b ? strstr(b, "VALUE") : NULL);
        assert_null(a ? strstr(a, "VALUE") : NULL);
        free(a);
        free(b);
    }
    json_decref(live);
    dl_plan_free(f.plan);
}

static void test_env_secret_ref_equal(void **state)
{
    struct dl_env env[] = {
        {.name = M("HOOK"),
         .secret = M("slack-webhook-url"),
         .version = M("latest")},
    };
    json_t *live =
        load("[{\"name\":\"HOOK\",\"valueSource\":{\"secretKeyRef\":"
             "{\"secret\":\"projects/p/secrets/slack-webhook-url\"}}}]");
    struct dl_cloud_run_spec s;
    struct fx f;

    (void)state;
    spec_init(&s);
    fx_init(&f, &s);
    dl_cloud_run_diff_env(&f.d, live, env, 1);
    assert_int_equal(f.pr->nchanges, 0);
    json_decref(live);
    dl_plan_free(f.plan);
}

/* ---- traffic ------------------------------------------------------------ */

static void assert_traffic_equal(json_t *a, json_t *b, int want)
{
    assert_int_equal(json_equal(a, b), want);
    json_decref(a);
    json_decref(b);
}

static void test_traffic(void **state)
{
    struct dl_traffic split[] = {
        {.revision = M("s-00002-bbb"), .percent = 90},
        {.latest = 1, .percent = 10, .tag = M("canary")},
        {.revision = M("s-00001-aaa"), .percent = 0},
    };
    struct dl_cloud_run_spec latest, pinned;
    json_t *t;

    (void)state;
    spec_init(&latest);
    latest.has_traffic = latest.traffic_latest = 1;
    spec_init(&pinned);
    pinned.has_traffic = 1;
    pinned.traffic = split;
    pinned.n_traffic = 3;

    t = dl_cloud_run_traffic_desired(&latest);
    assert_json(t, "[{\"type\":\"TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST\","
                   "\"percent\":100}]");
    json_decref(t);
    /* Absent traffic is Cloud Run's default: all on LATEST. */
    assert_traffic_equal(dl_cloud_run_traffic_desired(&latest),
                         dl_cloud_run_traffic_live(NULL), 1);
    json_t *live = load("[{\"type\":\"TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST\","
                        "\"percent\":100}]");
    assert_traffic_equal(dl_cloud_run_traffic_desired(&latest),
                         dl_cloud_run_traffic_live(live), 1);
    json_decref(live);
    /* Pinned to one revision: not latest. */
    live = load("[{\"type\":\"TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION\","
                "\"revision\":\"s-00001-aaa\",\"percent\":100}]");
    assert_traffic_equal(dl_cloud_run_traffic_desired(&latest),
                         dl_cloud_run_traffic_live(live), 0);
    json_decref(live);
    /* An explicit split, in another order, with a 0% target left out. */
    live = load("[{\"type\":\"TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST\","
                "\"percent\":10,\"tag\":\"canary\"},"
                "{\"type\":\"TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION\","
                "\"revision\":\"s-00002-bbb\",\"percent\":90}]");
    assert_traffic_equal(dl_cloud_run_traffic_desired(&pinned),
                         dl_cloud_run_traffic_live(live), 1);
    json_decref(live);
    live = load("[{\"type\":\"TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST\","
                "\"percent\":20,\"tag\":\"canary\"},"
                "{\"type\":\"TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION\","
                "\"revision\":\"s-00002-bbb\",\"percent\":80}]");
    assert_traffic_equal(dl_cloud_run_traffic_desired(&pinned),
                         dl_cloud_run_traffic_live(live), 0);
    json_decref(live);
}

/* ---- a whole service ---------------------------------------------------- */

static const char *const live_service =
    "{\"name\":\"projects/p/locations/r/services/svc\","
    "\"labels\":{\"managed-by\":\"driftless\",\"team\":\"data\","
    "\"other\":\"x\"},"
    "\"launchStage\":\"GA\",\"ingress\":\"INGRESS_TRAFFIC_ALL\","
    "\"template\":{\"annotations\":{"
    "\"driftless.dev/commit\":\"1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d\","
    "\"driftless.dev/dockerfile\":\"app/Dockerfile\","
    "\"run.googleapis.com/operation-id\":\"abc\"},"
    "\"serviceAccount\":\"sa@p.iam.gserviceaccount.com\","
    "\"timeout\":\"1800s\",\"maxInstanceRequestConcurrency\":80,"
    "\"scaling\":{\"maxInstanceCount\":10},"
    "\"containers\":[{\"image\":\"img@sha256:00\","
    "\"resources\":{\"limits\":{\"cpu\":\"2000m\",\"memory\":\"2Gi\"},"
    "\"cpuIdle\":true},\"ports\":[{\"containerPort\":8080}],"
    "\"env\":[{\"name\":\"A\",\"value\":\"1\"}]}]},"
    "\"traffic\":[{\"type\":\"TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST\","
    "\"percent\":100}]}";

static char app_df[] = "app/Dockerfile", sa[] = "sa@p.iam.gserviceaccount.com",
            cpu2[] = "2", mem2g[] = "2048Mi";

static void full_spec(struct dl_cloud_run_spec *s, struct dl_env *env,
                      struct dl_label *labels)
{
    spec_init(s);
    s->has_build = 1;
    s->build.dockerfile = app_df;
    s->service_account = sa;
    s->has_env = 1;
    s->env = env;
    s->n_env = 1;
    s->cpu = cpu2;
    s->cpu_millis = 2000;
    s->memory = mem2g;
    s->memory_bytes = 2 * GI;
    s->min_instances = 0;
    s->max_instances = 10;
    s->concurrency = 80;
    s->timeout_ns = 1800LL * 1000000000LL;
    s->has_labels = 1;
    s->labels = labels;
    s->n_labels = 1;
    s->has_traffic = s->traffic_latest = 1;
}

static void test_service_in_sync(void **state)
{
    struct dl_env env[] = {{.name = M("A"), .value = M("1")}};
    struct dl_label labels[] = {{.key = M("team"), .value = M("data")}};
    json_t *svc = load(live_service);
    struct dl_cloud_run_spec s;
    struct fx f;

    (void)state;
    full_spec(&s, env, labels);
    fx_init(&f, &s);
    dl_cloud_run_diff_service(&f.d, svc, &s,
                              "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d");
    if (f.pr->nchanges)
        fail_msg("unexpected change at %s", f.pr->changes[0].path);
    dl_plan_free(f.plan);

    /* Another commit, a missing ownership label: two changes. */
    json_object_del(json_object_get(svc, "labels"), "managed-by");
    fx_init(&f, &s);
    dl_cloud_run_diff_service(&f.d, svc, &s,
                              "ffffffffffffffffffffffffffffffffffffffff");
    assert_int_equal(f.pr->nchanges, 2);
    assert_json(get(&f, "template.annotations.driftless.dev/commit")->before,
                "\"1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d\"");
    assert_null(get(&f, "labels.managed-by")->before);
    assert_json(get(&f, "labels.managed-by")->after, "\"driftless\"");
    dl_plan_free(f.plan);

    /* Unknown desired commit: not compared here (the provider notes it). */
    fx_init(&f, &s);
    dl_cloud_run_diff_service(&f.d, svc, &s, NULL);
    assert_int_equal(f.pr->nchanges, 1);
    dl_plan_free(f.plan);
    json_decref(svc);
}

static void test_service_undeclared_fields(void **state)
{
    /* Only the image is declared: nothing else is diffed but ownership. */
    json_t *svc = load(live_service);
    struct dl_cloud_run_spec s;
    struct fx f;

    (void)state;
    spec_init(&s);
    s.image = M("img@sha256:11");
    fx_init(&f, &s);
    dl_cloud_run_diff_service(&f.d, svc, &s, NULL);
    assert_int_equal(f.pr->nchanges, 1);
    assert_string_equal(f.pr->changes[0].path, "template.containers[0].image");
    assert_json(f.pr->changes[0].before, "\"img@sha256:00\"");
    assert_json(f.pr->changes[0].after, "\"img@sha256:11\"");
    dl_plan_free(f.plan);
    json_decref(svc);
}

static void test_service_defaults_and_create(void **state)
{
    struct dl_env env[] = {{.name = M("A"), .value = M("1")}};
    struct dl_label labels[] = {{.key = M("team"), .value = M("data")}};
    json_t *svc = load("{\"name\":\"projects/p/locations/r/services/svc\","
                       "\"labels\":{\"managed-by\":\"driftless\","
                       "\"team\":\"data\"},"
                       "\"template\":{\"annotations\":{"
                       "\"driftless.dev/commit\":\"1a2b3c4\","
                       "\"driftless.dev/dockerfile\":\"app/Dockerfile\"},"
                       "\"serviceAccount\":\"sa@p.iam.gserviceaccount.com\","
                       "\"containers\":[{\"env\":[{\"name\":\"A\","
                       "\"value\":\"1\"}],\"resources\":{\"limits\":"
                       "{\"cpu\":\"2\",\"memory\":\"2Gi\"}}}]}}");
    struct dl_cloud_run_spec s;
    struct fx f;

    (void)state;
    /* Absent live values are Cloud Run's defaults: timeout 300s,
     * concurrency 80, min 0, max 100, traffic 100% latest. */
    full_spec(&s, env, labels);
    s.timeout_ns = 300LL * 1000000000LL;
    s.max_instances = 100;
    fx_init(&f, &s);
    dl_cloud_run_diff_service(&f.d, svc, &s,
                              "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d");
    if (f.pr->nchanges)
        fail_msg("unexpected change at %s", f.pr->changes[0].path);
    dl_plan_free(f.plan);

    /* A service to create lists every declared field. */
    fx_init(&f, &s);
    dl_cloud_run_diff_service(&f.d, NULL, &s,
                              "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d");
    assert_int_equal(f.pr->nchanges, 13);
    for (size_t i = 0; i < f.pr->nchanges; i++)
        assert_null(f.pr->changes[i].before);
    assert_json(get(&f, "template.timeout")->after, "\"300s\"");
    assert_json(
        get(&f, "template.containers[0].resources.limits.memory")->after,
        "\"2048Mi\"");
    dl_plan_free(f.plan);
    json_decref(svc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_matches),
        cmocka_unit_test(test_builtin_ignored),
        cmocka_unit_test(test_change_ignore_fields),
        cmocka_unit_test(test_quantities),
        cmocka_unit_test(test_timeout_and_commits),
        cmocka_unit_test(test_env_sensitive_names),
        cmocka_unit_test(test_env_diff),
        cmocka_unit_test(test_env_secret_ref_equal),
        cmocka_unit_test(test_traffic),
        cmocka_unit_test(test_service_in_sync),
        cmocka_unit_test(test_service_undeclared_fields),
        cmocka_unit_test(test_service_defaults_and_create),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
