/*
 * Unit tests of the apply executor (src/apply/apply.c) with test
 * providers injected through dl_apply_opts.providers, on the replay
 * transport (virtual clock: request start times show the phases and the
 * concurrency).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../gcp/gcp_test.h"
#include "apply/apply.h"
#include "util/alloc.h"
#include "util/time.h"

#define DELAY_MS 100
static const char ok_answer[] = "HTTP/1.1 200 OK\nX-Replay-Delay-Ms: 100\n\n{}";

static struct dl_http_transport *t;
static struct dl_gcp_client *c;
static char calls[2048]; /* "phase:Kind:n;" per hook call */
static volatile sig_atomic_t cancel_flag;
static int cancel_after_first; /* set cancel_flag in the first callback */

struct job {
    struct dl_apply *ap;
    struct dl_plan_resource *r;
    int64_t objects;
};

static void log_call(struct dl_apply *ap, struct dl_plan_resource *const *rs,
                     size_t n)
{
    size_t len = strlen(calls);

    snprintf(calls + len, sizeof(calls) - len, "%s:%s:%zu;",
             dl_apply_phase_name(dl_apply_phase(ap)), rs[0]->kind, n);
}

static void job_done(struct dl_gcp_client *cl, int rc,
                     const struct dl_gcp_response *resp,
                     const struct dl_err *err, void *ud)
{
    struct job *j = ud;

    (void)cl;
    (void)resp;
    if (cancel_after_first)
        cancel_flag = 1;
    if (dl_apply_phase(j->ap) == DL_APPLY_PHASE_BUILD &&
        strcmp(j->r->kind, "CloudRunService") == 0) {
        /* Builds record only failures; the service phase does the rest. */
        free(j);
        return;
    }
    if (rc < 0)
        dl_apply_record(j->ap, j->r, DL_APPLY_FAILED, 0, "%s", err->msg);
    else if (strncmp(j->r->name, "bad", 3) == 0)
        dl_apply_record(j->ap, j->r, DL_APPLY_FAILED, 0,
                        "the API said no to '%s'", j->r->name);
    else if (strncmp(j->r->name, "mute", 4) != 0)
        dl_apply_record(j->ap, j->r, DL_APPLY_APPLIED, j->objects, NULL);
    free(j);
}

/* Generic test applier: one GET per resource, recorded when it answers.
 * Hygiene resources first reserve up to 700 deletions. */
static int test_apply(struct dl_apply *ap, struct dl_plan_resource *const *rs,
                      size_t n, struct dl_err *err)
{
    log_call(ap, rs, n);
    for (size_t i = 0; i < n; i++) {
        struct job *j = dl_calloc(1, sizeof(*j));
        struct dl_gcp_request q;
        char path[256];

        if (dl_apply_cancelled(ap)) {
            free(j);
            break;
        }
        j->ap = ap;
        j->r = rs[i];
        if (rs[i]->hygiene) {
            j->objects = dl_apply_reserve_deletes(ap, rs[i], 700);
            dl_apply_progress(ap, j->objects);
        }
        snprintf(path, sizeof(path), "/v2/%s/%s?phase=%s", rs[i]->kind,
                 rs[i]->name, dl_apply_phase_name(dl_apply_phase(ap)));
        memset(&q, 0, sizeof(q));
        q.api = DL_GCP_RUN;
        q.path = path;
        q.done = job_done;
        q.ud = j;
        if (dl_gcp_submit(dl_apply_gcp(ap), &q, err) < 0) {
            free(j);
            return -1;
        }
    }
    return 0;
}

static int failing_apply(struct dl_apply *ap,
                         struct dl_plan_resource *const *rs, size_t n,
                         struct dl_err *err)
{
    log_call(ap, rs, n);
    return dl_err_set(err, DL_EAUTH, "permission denied on the policy");
}

#define P(kind_, fn_)                                                          \
    {                                                                          \
        .kind = kind_, .apply = fn_                                            \
    }
static const struct dl_provider p_project = P(DL_KIND_PROJECT, test_apply);
static const struct dl_provider p_member =
    P(DL_KIND_IAM_POLICY_MEMBER, test_apply);
static const struct dl_provider p_binding =
    P(DL_KIND_IAM_POLICY_BINDING, test_apply);
static const struct dl_provider p_run =
    P(DL_KIND_CLOUD_RUN_SERVICE, test_apply);
static const struct dl_provider p_fs =
    P(DL_KIND_FIRESTORE_COLLECTION_POLICY, test_apply);
static const struct dl_provider p_bq =
    P(DL_KIND_BIGQUERY_TABLE_POLICY, test_apply);
static const struct dl_provider p_gcs =
    P(DL_KIND_STORAGE_BUCKET_POLICY, test_apply);
static const struct dl_provider p_member_null =
    P(DL_KIND_IAM_POLICY_MEMBER, NULL);
static const struct dl_provider p_binding_fail =
    P(DL_KIND_IAM_POLICY_BINDING, failing_apply);

/* Listed in reverse: the executor, not the list, orders the phases. */
static const struct dl_provider *const all[] = {
    &p_gcs, &p_bq, &p_fs, &p_run, &p_binding, &p_member, &p_project, NULL};

static int setup(void **state)
{
    struct dl_gcp_client_opts o;

    (void)state;
    gcp_test_env("test-token");
    setenv("DRIFTLESS_ACCESS_TOKEN", "test-token", 1);
    memset(&o, 0, sizeof(o));
    for (int i = 0; i < DL_GCP_API_COUNT; i++)
        o.rate[i] = -1;
    o.max_inflight = 2;
    c = gcp_test_client(&t, &o);
    calls[0] = '\0';
    cancel_flag = 0;
    cancel_after_first = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(dl_gcp_client_pending(c), 0);
    dl_gcp_client_free(c);
    return 0;
}

static void answers(size_t n)
{
    struct dl_err err;

    for (size_t i = 0; i < n; i++)
        assert_int_equal(dl_http_replay_add_text(t, "GET", "/v2/*", ok_answer,
                                                 strlen(ok_answer), &err),
                         0);
}

static struct dl_plan_resource *add(struct dl_plan *p, const char *project,
                                    const char *kind, const char *name,
                                    enum dl_plan_action action)
{
    struct dl_plan_resource *r = dl_plan_add_resource(p, project, kind, name);

    r->status = action == DL_PLAN_ACTION_CREATE ? DL_PLAN_STATUS_MISSING
                                                : DL_PLAN_STATUS_DRIFTED;
    if (action == DL_PLAN_ACTION_NONE)
        r->status = DL_PLAN_STATUS_IN_SYNC;
    r->action = action;
    r->mode = action == DL_PLAN_ACTION_REPORT ? DL_PLAN_MODE_REPORT
                                              : DL_PLAN_MODE_ENFORCE;
    if (strstr(kind, "Policy") && !strstr(kind, "IAM")) {
        struct dl_plan_hygiene *h = dl_plan_resource_hygiene(r);

        h->total = h->violating = 5000;
        h->planned_deletes = action == DL_PLAN_ACTION_DELETE ? 1000 : 0;
    }
    return r;
}

static const struct dl_apply_result *find(const struct dl_apply_report *rep,
                                          const char *address)
{
    /* Returned after fail_msg, which jumps out: not NULL, which a Release
     * build's -Wnull-dereference would flag at every caller. */
    static const struct dl_apply_result none;

    for (size_t i = 0; i < rep->n; i++)
        if (strcmp(rep->results[i].resource->address, address) == 0)
            return &rep->results[i];
    fail_msg("no result for '%s'", address);
    return &none;
}

/* The virtual start time (ms after t0) of the request for path prefix. */
static int64_t started_ms(const char *prefix, int64_t t0)
{
    for (size_t i = 0; i < dl_http_replay_count(t); i++) {
        const struct dl_http_replay_req *q = dl_http_replay_request(t, i);
        const char *u = strstr(q->url, "/v2/");

        if (u && strncmp(u, prefix, strlen(prefix)) == 0)
            return (q->at_ns - t0) / DL_NS_PER_MS;
    }
    fail_msg("no request '%s'", prefix);
    return -1;
}

static void run_plan(struct dl_apply_report *rep, struct dl_plan *p,
                     struct dl_apply_opts *o)
{
    struct dl_err err;

    if (!o->providers)
        o->providers = all;
    assert_int_equal(dl_apply_run(rep, p, NULL, NULL, c, o, &err), 0);
}

static void test_phase_order(void **state)
{
    struct dl_plan *p = dl_plan_new();
    struct dl_apply_opts o = {.max_deletes = -1};
    struct dl_apply_report rep;
    int64_t t0 = dl_gcp_client_now(c);

    (void)state;
    add(p, "p", "StorageBucketPolicy", "b", DL_PLAN_ACTION_DELETE);
    add(p, "p", "CloudRunService", "api", DL_PLAN_ACTION_UPDATE);
    add(p, "p", "IAMPolicyBinding", "viewers", DL_PLAN_ACTION_UPDATE);
    add(p, "p", "IAMPolicyMember", "m1", DL_PLAN_ACTION_CREATE);
    add(p, "p", "FirestoreCollectionPolicy", "hb", DL_PLAN_ACTION_DELETE);
    answers(6);
    run_plan(&rep, p, &o);
    assert_string_equal(calls,
                        "iam:IAMPolicyMember:1;iam:IAMPolicyBinding:1;"
                        "build:CloudRunService:1;service:CloudRunService:1;"
                        "hygiene:FirestoreCollectionPolicy:1;"
                        "hygiene:StorageBucketPolicy:1;");
    /* Phases never overlap: each starts when the previous one ended. */
    assert_int_equal(started_ms("/v2/IAMPolicyMember/", t0), 0);
    assert_int_equal(started_ms("/v2/IAMPolicyBinding/", t0), 0);
    assert_int_equal(started_ms("/v2/CloudRunService/api?phase=build", t0),
                     DELAY_MS);
    assert_int_equal(started_ms("/v2/CloudRunService/api?phase=service", t0),
                     2 * DELAY_MS);
    assert_int_equal(started_ms("/v2/FirestoreCollectionPolicy/", t0),
                     3 * DELAY_MS);
    assert_int_equal(started_ms("/v2/StorageBucketPolicy/", t0), 3 * DELAY_MS);
    assert_int_equal(rep.applied, 5);
    assert_int_equal(rep.failed, 0);
    assert_int_equal(dl_apply_exit_code(&rep), 0);
    assert_int_equal(find(&rep, "p/CloudRunService/api")->outcome,
                     DL_APPLY_APPLIED);
    dl_apply_report_dispose(&rep);
    dl_plan_free(p);
}

static void test_concurrency(void **state)
{
    struct dl_plan *p = dl_plan_new();
    struct dl_apply_opts o = {.max_deletes = -1};
    struct dl_apply_report rep;
    int64_t t0 = dl_gcp_client_now(c);
    char name[16];

    (void)state;
    for (int i = 0; i < 6; i++) {
        snprintf(name, sizeof(name), "m%d", i);
        add(p, "p", "IAMPolicyMember", name, DL_PLAN_ACTION_CREATE);
    }
    answers(6);
    run_plan(&rep, p, &o);
    /* One hook call with all six; max_inflight 2: three rounds. */
    assert_string_equal(calls, "iam:IAMPolicyMember:6;");
    assert_int_equal(dl_http_replay_max_inflight(t), 2);
    assert_int_equal((dl_gcp_client_now(c) - t0) / DL_NS_PER_MS, 3 * DELAY_MS);
    assert_int_equal(rep.applied, 6);
    dl_apply_report_dispose(&rep);
    dl_plan_free(p);
}

static void test_report_only_and_none(void **state)
{
    struct dl_plan *p = dl_plan_new();
    struct dl_apply_opts o = {.max_deletes = -1};
    struct dl_apply_report rep;

    (void)state;
    add(p, "p", "IAMPolicyMember", "drift", DL_PLAN_ACTION_REPORT);
    add(p, "p", "IAMPolicyMember", "fine", DL_PLAN_ACTION_NONE);
    run_plan(&rep, p, &o);
    assert_string_equal(calls, "");
    assert_int_equal(rep.n, 1);
    assert_int_equal(find(&rep, "p/IAMPolicyMember/drift")->outcome,
                     DL_APPLY_REPORTED);
    assert_int_equal(rep.reported, 1);
    assert_int_equal(dl_http_replay_count(t), 0);
    assert_int_equal(dl_apply_exit_code(&rep), 0);
    dl_apply_report_dispose(&rep);
    dl_plan_free(p);
}

static void test_suspend_env(void **state)
{
    struct dl_plan *p = dl_plan_new();
    struct dl_apply_opts o = {.max_deletes = -1, .suspend = 1};
    struct dl_apply_report rep;
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);

    (void)state;
    add(p, "p", "IAMPolicyMember", "m", DL_PLAN_ACTION_CREATE);
    add(p, "p", "CloudRunService", "api", DL_PLAN_ACTION_UPDATE);
    add(p, "p", "IAMPolicyMember", "r", DL_PLAN_ACTION_REPORT);
    run_plan(&rep, p, &o);
    assert_string_equal(calls, "");
    assert_int_equal(dl_http_replay_count(t), 0);
    assert_int_equal(rep.skipped, 2);
    assert_int_equal(rep.reported, 1);
    assert_string_equal(find(&rep, "p/CloudRunService/api")->message,
                        "DRIFTLESS_SUSPEND=1: nothing is changed");
    assert_int_equal(dl_apply_report_text(&rep, &b), 0);
    assert_non_null(strstr(dl_buf_cstr(&b), "Suspended (DRIFTLESS_SUSPEND=1): "
                                            "nothing was changed."));
    assert_int_equal(dl_apply_exit_code(&rep), 0);
    dl_buf_dispose(&b);
    dl_apply_report_dispose(&rep);
    dl_plan_free(p);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_suspend_project(void **state)
{
    char dir[] = "/tmp/dl-apply-test-XXXXXX";
    char path[256], cmd[300];
    struct dl_source_opts so = {0};
    struct dl_source *src = NULL;
    struct dl_model *m = NULL;
    struct dl_diags d;
    struct dl_err err;
    struct dl_plan *p = dl_plan_new();
    struct dl_apply_opts o = {.max_deletes = -1, .providers = all};
    struct dl_apply_report rep;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/a", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/b", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/a/project.yaml", dir);
    write_text(path, "apiVersion: driftless.dev/v1alpha1\nkind: Project\n"
                     "metadata:\n  name: frozen\nspec:\n  mode: enforce\n"
                     "  suspend: true\n");
    snprintf(path, sizeof(path), "%s/b/project.yaml", dir);
    write_text(path, "apiVersion: driftless.dev/v1alpha1\nkind: Project\n"
                     "metadata:\n  name: live-proj\nspec:\n  mode: enforce\n");
    so.source = dir;
    so.path = ".";
    dl_diags_init(&d);
    if (dl_source_open(&src, &so, &err) < 0)
        fail_msg("source: %s", err.msg);
    if (dl_model_load(&m, src->tree, src->id.path, &d, &err) < 0)
        fail_msg("model: %s", err.msg);
    add(p, "frozen", "IAMPolicyMember", "m", DL_PLAN_ACTION_CREATE);
    add(p, "live-proj", "IAMPolicyMember", "m", DL_PLAN_ACTION_CREATE);
    answers(1);
    assert_int_equal(dl_apply_run(&rep, p, m, src, c, &o, &err), 0);
    assert_string_equal(calls, "iam:IAMPolicyMember:1;");
    assert_int_equal(find(&rep, "frozen/IAMPolicyMember/m")->outcome,
                     DL_APPLY_SKIPPED);
    assert_string_equal(find(&rep, "frozen/IAMPolicyMember/m")->message,
                        "project 'frozen' is suspended (spec.suspend: true): "
                        "nothing is changed");
    assert_int_equal(find(&rep, "live-proj/IAMPolicyMember/m")->outcome,
                     DL_APPLY_APPLIED);
    dl_apply_report_dispose(&rep);
    dl_plan_free(p);
    dl_model_free(m);
    dl_source_free(src);
    dl_diags_dispose(&d);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_max_deletes(void **state)
{
    struct dl_plan *p = dl_plan_new();
    struct dl_apply_opts o = {.max_deletes = 1000};
    struct dl_apply_report rep;
    struct dl_plan_resource *orphan;

    (void)state;
    add(p, "p", "FirestoreCollectionPolicy", "a", DL_PLAN_ACTION_DELETE);
    add(p, "p", "FirestoreCollectionPolicy", "b", DL_PLAN_ACTION_DELETE);
    add(p, "p", "FirestoreCollectionPolicy", "c", DL_PLAN_ACTION_DELETE);
    orphan = add(p, "p", "CloudRunService", "old", DL_PLAN_ACTION_DELETE);
    orphan->orphan = 1;
    answers(5);
    run_plan(&rep, p, &o);
    /* The orphan's deletion takes 1 of the 1000 first (services come
       before hygiene); then a: 700, b: 299, c: nothing left. */
    assert_int_equal(find(&rep, "p/CloudRunService/old")->outcome,
                     DL_APPLY_APPLIED);
    assert_int_equal(find(&rep, "p/FirestoreCollectionPolicy/a")->objects, 700);
    assert_int_equal(find(&rep, "p/FirestoreCollectionPolicy/b")->objects, 299);
    assert_int_equal(find(&rep, "p/FirestoreCollectionPolicy/c")->objects, 0);
    assert_int_equal(rep.objects, 999);
    dl_apply_report_dispose(&rep);
    dl_plan_free(p);

    /* With no budget left before it starts, a deletion is skipped. */
    teardown(NULL);
    setup(NULL);
    p = dl_plan_new();
    o.max_deletes = 0;
    orphan = add(p, "p", "CloudRunService", "old", DL_PLAN_ACTION_DELETE);
    orphan->orphan = 1;
    add(p, "p", "FirestoreCollectionPolicy", "a", DL_PLAN_ACTION_DELETE);
    run_plan(&rep, p, &o);
    assert_string_equal(calls, "");
    assert_string_equal(find(&rep, "p/CloudRunService/old")->message,
                        "--max-deletes 0 reached: not deleted");
    assert_int_equal(find(&rep, "p/FirestoreCollectionPolicy/a")->outcome,
                     DL_APPLY_SKIPPED);
    assert_int_equal(rep.skipped, 2);
    dl_apply_report_dispose(&rep);
    dl_plan_free(p);
}

static void test_saved_plan_delete_limit(void **state)
{
    struct dl_plan *p = dl_plan_new();
    struct dl_apply_opts o = {.max_deletes = -1, .saved_plan = 1};
    struct dl_apply_report rep;
    struct dl_plan_resource *r;

    (void)state;
    r = add(p, "p", "FirestoreCollectionPolicy", "hb", DL_PLAN_ACTION_DELETE);
    r->hygiene->planned_deletes = 42;
    r = add(p, "p", "BigQueryTablePolicy", "t", DL_PLAN_ACTION_DELETE);
    r->hygiene->cap = 100;
    r->hygiene->planned_deletes = 100;
    answers(2);
    run_plan(&rep, p, &o);
    /* Never more than the saved plan's count, nor than the cap. */
    assert_int_equal(find(&rep, "p/FirestoreCollectionPolicy/hb")->objects, 42);
    assert_int_equal(find(&rep, "p/BigQueryTablePolicy/t")->objects, 100);
    dl_apply_report_dispose(&rep);
    dl_plan_free(p);
}

static void test_only(void **state)
{
    static const char *const only[] = {"IAMPolicyMember/a",
                                       "p/CloudRunService/api"};
    struct dl_plan *p = dl_plan_new();
    struct dl_apply_opts o = {.max_deletes = -1, .only = only, .n_only = 2};
    struct dl_apply_report rep;

    (void)state;
    add(p, "p", "IAMPolicyMember", "a", DL_PLAN_ACTION_CREATE);
    add(p, "p", "IAMPolicyMember", "b", DL_PLAN_ACTION_CREATE);
    add(p, "p", "CloudRunService", "api", DL_PLAN_ACTION_UPDATE);
    add(p, "p", "CloudRunService", "web", DL_PLAN_ACTION_UPDATE);
    answers(3);
    run_plan(&rep, p, &o);
    assert_int_equal(rep.n, 2);
    assert_string_equal(calls, "iam:IAMPolicyMember:1;"
                               "build:CloudRunService:1;"
                               "service:CloudRunService:1;");
    assert_int_equal(rep.applied, 2);
    dl_apply_report_dispose(&rep);
    dl_plan_free(p);
}

static void test_cancel(void **state)
{
    struct dl_plan *p = dl_plan_new();
    struct dl_apply_opts o = {.max_deletes = -1, .cancel = &cancel_flag};
    struct dl_apply_report rep;
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);

    (void)state;
    add(p, "p", "IAMPolicyMember", "a", DL_PLAN_ACTION_CREATE);
    add(p, "p", "IAMPolicyMember", "b", DL_PLAN_ACTION_CREATE);
    add(p, "p", "CloudRunService", "api", DL_PLAN_ACTION_UPDATE);
    add(p, "p", "FirestoreCollectionPolicy", "hb", DL_PLAN_ACTION_DELETE);
    answers(2);
    /* The signal arrives while the IAM requests are in flight. */
    cancel_after_first = 1;
    run_plan(&rep, p, &o);
    assert_string_equal(calls, "iam:IAMPolicyMember:2;");
    assert_int_equal(find(&rep, "p/IAMPolicyMember/a")->outcome,
                     DL_APPLY_APPLIED);
    assert_int_equal(find(&rep, "p/IAMPolicyMember/b")->outcome,
                     DL_APPLY_APPLIED);
    assert_string_equal(find(&rep, "p/CloudRunService/api")->message,
                        "cancelled before it was started");
    assert_int_equal(rep.skipped, 2);
    assert_int_equal(rep.cancelled, 1);
    assert_int_equal(dl_apply_exit_code(&rep), 130);
    assert_int_equal(dl_apply_report_text(&rep, &b), 0);
    assert_non_null(strstr(dl_buf_cstr(&b), "Apply cancelled: 2 applied"));
    dl_buf_dispose(&b);
    dl_apply_report_dispose(&rep);
    dl_plan_free(p);
}

static void test_failures(void **state)
{
    static const struct dl_provider *const list[] = {
        &p_member_null, &p_binding_fail, &p_run, NULL};
    struct dl_plan *p = dl_plan_new();
    struct dl_apply_opts o = {.max_deletes = -1, .providers = list};
    struct dl_apply_report rep;

    (void)state;
    add(p, "p", "IAMPolicyMember", "m", DL_PLAN_ACTION_CREATE);
    add(p, "p", "IAMPolicyBinding", "b1", DL_PLAN_ACTION_UPDATE);
    add(p, "p", "IAMPolicyBinding", "b2", DL_PLAN_ACTION_UPDATE);
    add(p, "p", "CloudRunService", "bad-api", DL_PLAN_ACTION_UPDATE);
    add(p, "p", "CloudRunService", "mute", DL_PLAN_ACTION_UPDATE);
    add(p, "p", "CloudRunService", "good", DL_PLAN_ACTION_UPDATE);
    add(p, "p", "StorageBucketPolicy", "gone", DL_PLAN_ACTION_DELETE);
    answers(6);
    run_plan(&rep, p, &o);
    assert_string_equal(calls, "iam:IAMPolicyBinding:2;"
                               "build:CloudRunService:3;"
                               "service:CloudRunService:3;");
    assert_string_equal(find(&rep, "p/IAMPolicyMember/m")->message,
                        "applying IAMPolicyMember is not implemented yet");
    assert_string_equal(find(&rep, "p/IAMPolicyBinding/b2")->message,
                        "permission denied on the policy");
    assert_string_equal(find(&rep, "p/CloudRunService/bad-api")->message,
                        "the API said no to 'bad-api'");
    assert_string_equal(find(&rep, "p/CloudRunService/mute")->message,
                        "no outcome reported by the CloudRunService applier");
    assert_string_equal(find(&rep, "p/StorageBucketPolicy/gone")->message,
                        "applying StorageBucketPolicy is not implemented yet");
    assert_int_equal(find(&rep, "p/CloudRunService/good")->outcome,
                     DL_APPLY_APPLIED);
    assert_int_equal(rep.failed, 6);
    assert_int_equal(rep.applied, 1);
    assert_int_equal(dl_apply_exit_code(&rep), 1);
    dl_apply_report_dispose(&rep);
    dl_plan_free(p);
}

static void test_report_json(void **state)
{
    struct dl_plan *p = dl_plan_new();
    struct dl_apply_opts o = {.max_deletes = -1};
    struct dl_apply_report rep;
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_err err;
    json_error_t je;
    json_t *j, *r0;

    (void)state;
    add(p, "p", "IAMPolicyMember", "bad", DL_PLAN_ACTION_CREATE);
    add(p, "p", "FirestoreCollectionPolicy", "hb", DL_PLAN_ACTION_DELETE);
    add(p, "p", "IAMPolicyMember", "r", DL_PLAN_ACTION_REPORT);
    answers(2);
    run_plan(&rep, p, &o);
    assert_int_equal(dl_apply_report_json(&rep, &b, &err), 0);
    j = json_loads(dl_buf_cstr(&b), 0, &je);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "format_version")),
                        "1");
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(j, "summary"), "applied")),
                     1);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(j, "summary"), "failed")),
                     1);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(j, "summary"), "reported")),
                     1);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(j, "summary"), "objects")),
                     700);
    assert_true(json_is_false(json_object_get(j, "cancelled")));
    assert_int_equal(json_array_size(json_object_get(j, "resources")), 3);
    r0 = json_array_get(json_object_get(j, "resources"), 0);
    assert_string_equal(json_string_value(json_object_get(r0, "address")),
                        "p/IAMPolicyMember/bad");
    assert_string_equal(json_string_value(json_object_get(r0, "outcome")),
                        "failed");
    assert_string_equal(json_string_value(json_object_get(r0, "message")),
                        "the API said no to 'bad'");
    assert_true(json_real_value(json_object_get(r0, "duration_s")) >= 0.099);
    json_decref(j);
    dl_buf_dispose(&b);
    dl_apply_report_dispose(&rep);
    dl_plan_free(p);
}

/* Reserves 600, gives 100 back, records twice. */
static int greedy_apply(struct dl_apply *ap, struct dl_plan_resource *const *rs,
                        size_t n, struct dl_err *err)
{
    (void)err;
    log_call(ap, rs, n);
    for (size_t i = 0; i < n; i++) {
        int64_t got = dl_apply_reserve_deletes(ap, rs[i], 600);

        dl_apply_release_deletes(ap, rs[i], got >= 100 ? 100 : 0);
        dl_apply_record(ap, rs[i], DL_APPLY_APPLIED,
                        got >= 100 ? got - 100 : got, "deleted");
        dl_apply_record(ap, rs[i], DL_APPLY_FAILED, 0, "second");
    }
    return 0;
}

static void test_budget_release_and_double_record(void **state)
{
    static const struct dl_provider fs = {
        .kind = DL_KIND_FIRESTORE_COLLECTION_POLICY, .apply = greedy_apply};
    static const struct dl_provider *const list[] = {&fs, NULL};
    struct dl_plan *p = dl_plan_new();
    struct dl_apply_opts o = {.max_deletes = 1000, .providers = list};
    struct dl_apply_report rep;

    (void)state;
    add(p, "p", "FirestoreCollectionPolicy", "a", DL_PLAN_ACTION_DELETE);
    add(p, "p", "FirestoreCollectionPolicy", "b", DL_PLAN_ACTION_DELETE);
    add(p, "p", "FirestoreCollectionPolicy", "c", DL_PLAN_ACTION_DELETE);
    run_plan(&rep, p, &o);
    /* a: 600, 100 back; b: 500 left, 100 back; c: 100. */
    assert_int_equal(find(&rep, "p/FirestoreCollectionPolicy/a")->objects, 500);
    assert_int_equal(find(&rep, "p/FirestoreCollectionPolicy/b")->objects, 400);
    assert_int_equal(find(&rep, "p/FirestoreCollectionPolicy/c")->objects, 0);
    /* The first outcome stays. */
    assert_int_equal(rep.applied, 3);
    assert_string_equal(find(&rep, "p/FirestoreCollectionPolicy/a")->message,
                        "deleted");
    dl_apply_report_dispose(&rep);
    dl_plan_free(p);
}

static void test_progress_line(void **state)
{
    struct dl_plan *p = dl_plan_new();
    char buf[4096] = "";
    FILE *out = fmemopen(buf, sizeof(buf) - 1, "w");
    struct dl_apply_opts o = {
        .max_deletes = -1, .progress_out = out, .progress_tty = 1};
    struct dl_apply_report rep;

    (void)state;
    add(p, "p", "FirestoreCollectionPolicy", "a", DL_PLAN_ACTION_DELETE);
    add(p, "p", "FirestoreCollectionPolicy", "b", DL_PLAN_ACTION_DELETE);
    answers(2);
    run_plan(&rep, p, &o);
    fclose(out);
    /* Redrawn in place on the terminal, and a final newline. */
    assert_non_null(strstr(buf, "\r\033[K[hygiene] "));
    assert_non_null(strstr(buf, "2/2 resources, 1400 objects"));
    assert_non_null(strstr(buf, "ETA 0s"));
    assert_int_equal(buf[strlen(buf) - 1], '\n');
    dl_apply_report_dispose(&rep);
    dl_plan_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_phase_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrency, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_only_and_none, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_suspend_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_suspend_project, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_deletes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_saved_plan_delete_limit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_progress_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_budget_release_and_double_record,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
