/*
 * The apply lease (src/apply/lease.c) against the real Firestore emulator
 * of the sandbox fixture (FIRESTORE_EMULATOR_HOST from its env file).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "apply/apply.h"
#include "apply/lease.h"
#include "gcp/firestore.h"
#include "util/time.h"

static struct dl_gcp_client *c;
static char project[64];
static char doc_name[256];

static struct dl_gcp_client *new_client(void)
{
    struct dl_gcp_client *cl = NULL;
    struct dl_err err;

    if (dl_gcp_client_new(&cl, NULL, &err) != 0)
        fail_msg("dl_gcp_client_new: %s", err.msg);
    return cl;
}

static int setup(void **state)
{
    static int n;

    (void)state;
    if (!getenv("FIRESTORE_EMULATOR_HOST"))
        fail_msg("FIRESTORE_EMULATOR_HOST is not set (run with-env.sh)");
    setenv("DRIFTLESS_ACCESS_TOKEN", "test-token", 1);
    snprintf(project, sizeof(project), "dl-lease-%ld-%d", (long)getpid(), ++n);
    snprintf(doc_name, sizeof(doc_name),
             "projects/%s/databases/(default)/documents/driftless_leases/%s",
             project, project);
    c = new_client();
    return 0;
}

static int teardown(void **state)
{
    struct dl_err err;

    (void)state;
    if (dl_firestore_delete(c, doc_name, NULL, &err) < 0)
        fail_msg("cleanup: %s", err.msg);
    dl_gcp_client_free(c);
    return 0;
}

/* The lease document's holder ("" when absent). */
static void doc_holder(char *out, size_t size)
{
    json_t *doc = NULL;
    struct dl_err err;
    int rc = dl_firestore_get(c, doc_name, &doc, &err);
    const char *h;

    out[0] = '\0';
    if (rc == DL_ENOTFOUND)
        return;
    if (rc != 0)
        fail_msg("get: %s", err.msg);
    h = json_string_value(json_object_get(
        json_object_get(json_object_get(doc, "fields"), "holder"),
        "stringValue"));
    snprintf(out, size, "%s", h ? h : "");
    json_decref(doc);
}

static void test_acquire_and_refuse(void **state)
{
    struct dl_lease_opts a = {.holder = "host-a:1:aaaa"};
    struct dl_lease_opts b = {.holder = "host-b:2:bbbb"};
    struct dl_lease *la = NULL, *lb = NULL, *again = NULL;
    struct dl_err err;
    char holder[256], want[300], exp[40];

    (void)state;
    assert_int_equal(dl_lease_acquire(&la, c, project, &a, &err), 0);
    doc_holder(holder, sizeof(holder));
    assert_string_equal(holder, "host-a:1:aaaa");
    assert_true(dl_lease_expires_at(la) >
                dl_time_now_ns() + 200 * 1000000000LL);
    /* Someone else is refused at once, naming the holder and expiry. */
    assert_int_equal(dl_lease_acquire(&lb, c, project, &b, &err), DL_ECONFLICT);
    assert_null(lb);
    dl_time_format_rfc3339(exp, sizeof(exp), dl_lease_expires_at(la));
    snprintf(want, sizeof(want),
             "project '%s' is locked by 'host-a:1:aaaa' until ", project);
    assert_int_equal(strncmp(err.msg, want, strlen(want)), 0);
    assert_non_null(strstr(err.msg, "(lease driftless_leases/"));
    /* The same holder takes it again. */
    assert_int_equal(dl_lease_acquire(&again, c, project, &a, &err), 0);
    assert_int_equal(dl_lease_release(again, &err), 0);
    doc_holder(holder, sizeof(holder));
    assert_string_equal(holder, "");
    /* la's updateTime is stale now: releasing it deletes nothing. */
    assert_int_equal(dl_lease_release(la, &err), 0);
    dl_lease_free(again);
    dl_lease_free(la);
}

static void test_wait_then_expiry_takeover(void **state)
{
    struct dl_lease_opts a = {.holder = "host-a:1:aaaa",
                              .ttl_ns = DL_NS_PER_SEC};
    struct dl_lease_opts b = {.holder = "host-b:2:bbbb",
                              .timeout_ns = 10 * DL_NS_PER_SEC,
                              .retry_ns = 200 * DL_NS_PER_MS};
    struct dl_lease *la = NULL, *lb = NULL;
    struct dl_err err;
    char holder[256];
    int64_t t0;

    (void)state;
    assert_int_equal(dl_lease_acquire(&la, c, project, &a, &err), 0);
    t0 = dl_time_mono_ns();
    /* --lock-timeout: b waits until a's lease expires, then takes over. */
    assert_int_equal(dl_lease_acquire(&lb, c, project, &b, &err), 0);
    assert_true(dl_time_mono_ns() - t0 >= 500 * DL_NS_PER_MS);
    doc_holder(holder, sizeof(holder));
    assert_string_equal(holder, "host-b:2:bbbb");
    /* a lost it: renewing says so, releasing leaves b's lease alone. */
    assert_int_equal(dl_lease_renew(la, &err), DL_ECONFLICT);
    assert_non_null(strstr(err.msg, "was lost"));
    assert_int_equal(dl_lease_release(la, &err), 0);
    doc_holder(holder, sizeof(holder));
    assert_string_equal(holder, "host-b:2:bbbb");
    assert_int_equal(dl_lease_release(lb, &err), 0);
    dl_lease_free(la);
    dl_lease_free(lb);
}

/* Write a lease document as another applier would have left it. */
static void put_lease(const char *holder, const char *scope)
{
    char exp[40];
    json_t *fields;
    struct dl_err err;
    char ut[40];

    dl_time_format_rfc3339(exp, sizeof(exp),
                           dl_time_now_ns() + 300 * DL_NS_PER_SEC);
    fields = json_pack("{s:{s:s}, s:{s:s}, s:{s:s}}", "holder", "stringValue",
                       holder, "expiresAt", "timestampValue", exp, "acquiredAt",
                       "timestampValue", exp);
    if (scope)
        json_object_set_new(fields, "processScope",
                            json_pack("{s:s}", "stringValue", scope));
    if (dl_firestore_put(c, doc_name, fields, NULL, ut, &err) != 0)
        fail_msg("put lease: %s", err.msg);
    json_decref(fields);
}

/* A killed applier (no release) leaves an unexpired lease: its rerun on the
 * same machine takes it over at once because the holder's process is gone;
 * a holder that is alive, or of another machine or PID namespace, still
 * blocks until expiry. */
static void test_dead_holder_taken_over(void **state)
{
    struct dl_lease *l = NULL;
    struct dl_err err;
    char holder[256], dead[300];
    const char *scope = dl_lease_process_scope();
    pid_t pid;
    int status = 0;

    (void)state;
    assert_non_null(scope);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* The child: takes the lease with its own identity, then dies
           without releasing it. */
        struct dl_gcp_client *cc = new_client();
        struct dl_lease *cl = NULL;
        struct dl_err cerr;

        _exit(dl_lease_acquire(&cl, cc, project, NULL, &cerr) == 0 ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    doc_holder(holder, sizeof(holder));
    snprintf(dead, sizeof(dead), ":%ld:", (long)pid);
    assert_non_null(strstr(holder, dead));
    /* The rerun (default holder, --lock-timeout 0) gets it at once. */
    assert_int_equal(dl_lease_acquire(&l, c, project, NULL, &err), 0);
    doc_holder(holder, sizeof(holder));
    assert_string_equal(holder, dl_lease_default_holder());
    assert_int_equal(dl_lease_release(l, &err), 0);
    dl_lease_free(l);
    l = NULL;

    /* The same dead PID, but written in another PID namespace or boot:
       that PID means nothing here, so the lease blocks. */
    snprintf(dead, sizeof(dead), "elsewhere:%ld:abcdef", (long)pid);
    put_lease(dead, "other-boot/pid:[1]");
    assert_int_equal(dl_lease_acquire(&l, c, project, NULL, &err),
                     DL_ECONFLICT);
    /* No scope at all (an explicit holder, an older driftless): blocks. */
    put_lease(dead, NULL);
    assert_int_equal(dl_lease_acquire(&l, c, project, NULL, &err),
                     DL_ECONFLICT);
    /* Our scope, but the holder is alive (our parent): blocks. */
    snprintf(dead, sizeof(dead), "here:%ld:abcdef", (long)getppid());
    put_lease(dead, scope);
    assert_int_equal(dl_lease_acquire(&l, c, project, NULL, &err),
                     DL_ECONFLICT);
    assert_null(l);
}

static void test_renew_and_release(void **state)
{
    struct dl_lease_opts a = {.ttl_ns = 60 * DL_NS_PER_SEC};
    struct dl_lease *la = NULL;
    struct dl_err err;
    char holder[256];
    int64_t first;

    (void)state;
    assert_int_equal(dl_lease_acquire(&la, c, project, &a, &err), 0);
    /* The default holder is hostname:pid:random. */
    snprintf(holder, sizeof(holder), ":%ld:", (long)getpid());
    assert_non_null(strstr(dl_lease_holder(la), holder));
    first = dl_lease_expires_at(la);
    usleep(20000);
    assert_int_equal(dl_lease_renew(la, &err), 0);
    assert_true(dl_lease_expires_at(la) > first);
    assert_int_equal(dl_lease_renew(la, &err), 0);
    doc_holder(holder, sizeof(holder));
    assert_string_equal(holder, dl_lease_holder(la));
    assert_int_equal(dl_lease_release(la, &err), 0);
    doc_holder(holder, sizeof(holder));
    assert_string_equal(holder, "");
    /* Renewing a released lease is refused. */
    assert_int_equal(dl_lease_renew(la, &err), DL_ECONFLICT);
    dl_lease_free(la);
}

static void test_concurrent_acquirers(void **state)
{
    enum { N = 5 };
    pid_t pids[N];
    int go[2], res[2], hold[2], wins = 0, refused = 0;
    char holder[256];

    (void)state;
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(res), 0);
    assert_int_equal(pipe(hold), 0);
    fflush(NULL);
    for (int i = 0; i < N; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            struct dl_gcp_client *cl;
            struct dl_lease *l = NULL;
            struct dl_err err;
            char b;
            int rc;

            close(go[1]);
            close(res[0]);
            close(hold[1]);
            cl = new_client();
            /* Start together: when the parent closes the pipe. */
            if (read(go[0], &b, 1) < 0)
                _exit(5);
            rc = dl_lease_acquire(&l, cl, project, NULL, &err);
            if (rc != 0 && rc != DL_ECONFLICT)
                fprintf(stderr, "child %d: %s\n", i, err.msg);
            b = (char)(rc == 0 ? 0 : rc == DL_ECONFLICT ? 3 : 4);
            if (write(res[1], &b, 1) != 1)
                _exit(5);
            /* Stay alive (a dead holder's lease is taken over) until
               every child has tried: the others must lose. */
            if (read(hold[0], &b, 1) < 0)
                _exit(5);
            dl_lease_free(l);
            dl_gcp_client_free(cl);
            _exit(0);
        }
    }
    close(go[0]);
    close(res[1]);
    close(hold[0]);
    usleep(300000); /* every child is waiting on the pipe */
    close(go[1]);
    for (int i = 0; i < N; i++) {
        char b = 9;

        assert_int_equal(read(res[0], &b, 1), 1);
        if (b == 0)
            wins++;
        else if (b == 3)
            refused++;
    }
    close(hold[1]);
    close(res[0]);
    for (int i = 0; i < N; i++) {
        int st = 0;

        assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    assert_int_equal(wins, 1);
    assert_int_equal(refused, N - 1);
    doc_holder(holder, sizeof(holder));
    assert_true(holder[0] != '\0');
}

/* A test applier that checks the lease is held while it runs. */
static char seen_holder[256];
static struct dl_apply *hook_ap;
static int hook_calls;

static int lease_checking_apply(struct dl_apply *ap,
                                struct dl_plan_resource *const *rs, size_t n,
                                struct dl_err *err)
{
    (void)err;
    hook_calls++;
    doc_holder(seen_holder, sizeof(seen_holder));
    for (size_t i = 0; i < n; i++)
        dl_apply_record(ap, rs[i], DL_APPLY_APPLIED, 0, NULL);
    return 0;
}

static void test_executor_takes_the_lease(void **state)
{
    static const struct dl_provider member = {.kind = DL_KIND_IAM_POLICY_MEMBER,
                                              .apply = lease_checking_apply};
    static const struct dl_provider *const list[] = {&member, NULL};
    struct dl_lease_opts lo = {.holder = "apply-test:1:cafe"};
    struct dl_apply_opts o = {
        .providers = list, .max_deletes = -1, .lease = &lo};
    struct dl_lease_opts other = {.holder = "controller:9:beef"};
    struct dl_plan *p = dl_plan_new();
    struct dl_plan_resource *r;
    struct dl_apply_report rep;
    struct dl_lease *held = NULL;
    struct dl_err err;
    char holder[256];

    (void)state;
    hook_calls = 0;
    r = dl_plan_add_resource(p, project, "IAMPolicyMember", "m");
    r->mode = DL_PLAN_MODE_ENFORCE;
    r->status = DL_PLAN_STATUS_MISSING;
    r->action = DL_PLAN_ACTION_CREATE;
    /* Held by the controller: nothing is applied, the holder is named. */
    assert_int_equal(dl_lease_acquire(&held, c, project, &other, &err), 0);
    assert_int_equal(dl_apply_run(&rep, p, NULL, NULL, c, &o, &err),
                     DL_ECONFLICT);
    assert_int_equal(hook_calls, 0);
    assert_int_equal(rep.skipped, 1);
    assert_non_null(strstr(rep.results[0].message, "'controller:9:beef'"));
    assert_int_equal(dl_apply_exit_code(&rep), 1);
    dl_apply_report_dispose(&rep);
    assert_int_equal(dl_lease_release(held, &err), 0);
    dl_lease_free(held);
    /* Free: taken for the run, held while the hook runs, released. */
    assert_int_equal(dl_apply_run(&rep, p, NULL, NULL, c, &o, &err), 0);
    assert_int_equal(hook_calls, 1);
    assert_string_equal(seen_holder, "apply-test:1:cafe");
    assert_int_equal(rep.applied, 1);
    doc_holder(holder, sizeof(holder));
    assert_string_equal(holder, "");
    dl_apply_report_dispose(&rep);
    dl_plan_free(p);
}

/* A long phase: one request that waits 2.5 s before it is sent; when it
 * answers, someone else tries to take the (1 s) lease. */
static int takeover_rc;

static void slow_done(struct dl_gcp_client *cl, int rc,
                      const struct dl_gcp_response *resp,
                      const struct dl_err *e, void *ud)
{
    struct dl_plan_resource *r = ud;
    struct dl_lease_opts other = {.holder = "controller:9:beef"};
    struct dl_lease *l = NULL;
    struct dl_err err;

    (void)resp;
    (void)e;
    (void)rc;
    takeover_rc = dl_lease_acquire(&l, cl, project, &other, &err);
    dl_lease_free(l);
    dl_apply_record(hook_ap, r, DL_APPLY_APPLIED, 0, NULL);
}

static int slow_apply(struct dl_apply *ap, struct dl_plan_resource *const *rs,
                      size_t n, struct dl_err *err)
{
    struct dl_gcp_request q;
    char path[400];

    (void)n;
    hook_ap = ap;
    snprintf(path, sizeof(path), "/v1/%s", doc_name);
    memset(&q, 0, sizeof(q));
    q.api = DL_GCP_FIRESTORE;
    q.path = path;
    q.delay_ns = 2500 * DL_NS_PER_MS;
    q.done = slow_done;
    q.ud = rs[0];
    return dl_gcp_submit(dl_apply_gcp(ap), &q, err);
}

static void run_long_phase(const struct dl_gcp_client_opts *renew)
{
    static const struct dl_provider member = {.kind = DL_KIND_IAM_POLICY_MEMBER,
                                              .apply = slow_apply};
    static const struct dl_provider *const list[] = {&member, NULL};
    struct dl_lease_opts lo = {.holder = "apply-test:1:cafe",
                               .ttl_ns = DL_NS_PER_SEC,
                               .renew_client = renew};
    struct dl_apply_opts o = {
        .providers = list, .max_deletes = -1, .lease = &lo};
    struct dl_plan *p = dl_plan_new();
    struct dl_plan_resource *r;
    struct dl_apply_report rep;
    struct dl_err err;

    r = dl_plan_add_resource(p, project, "IAMPolicyMember", "m");
    r->mode = DL_PLAN_MODE_ENFORCE;
    r->status = DL_PLAN_STATUS_MISSING;
    r->action = DL_PLAN_ACTION_CREATE;
    takeover_rc = 1;
    assert_int_equal(dl_apply_run(&rep, p, NULL, NULL, c, &o, &err), 0);
    assert_int_equal(rep.applied, 1);
    dl_apply_report_dispose(&rep);
    dl_plan_free(p);
}

static void test_lease_renewed_during_a_long_phase(void **state)
{
    struct dl_gcp_client_opts renew = {0};
    char holder[256];

    (void)state;
    /* Renewed every ttl/3 by the executor's thread: nobody takes it. */
    run_long_phase(&renew);
    assert_int_equal(takeover_rc, DL_ECONFLICT);
    doc_holder(holder, sizeof(holder));
    assert_string_equal(holder, "");
    /* Without the thread, a 1 s lease expires during a 2.5 s phase. */
    run_long_phase(NULL);
    assert_int_equal(takeover_rc, 0);
    doc_holder(holder, sizeof(holder));
    assert_string_equal(holder, "controller:9:beef");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_acquire_and_refuse, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_wait_then_expiry_takeover, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dead_holder_taken_over, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_renew_and_release, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_acquirers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_executor_takes_the_lease, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_lease_renewed_during_a_long_phase,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
