/*
 * Unit tests for src/apply/lease.c on the replay transport: transient
 * failures of the lease's Firestore calls (503, a reset, an answer lost
 * after the write landed) are retried and do not lose the lease; a real
 * takeover still does. (The lease against the emulator, takeover of a dead
 * holder included: tests/integration/apply/test_lease.c.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "../gcp/gcp_test.h"
#include "apply/lease.h"
#include "util/alloc.h"

#define DOC "/v1/projects/p/databases/(default)/documents/driftless_leases/p"
#define COMMIT "/v1/projects/p/databases/(default)/documents:commit"

static struct dl_http_transport *t;
static struct dl_gcp_client *c;

static int setup(void **state)
{
    struct dl_gcp_client_opts o;

    (void)state;
    gcp_test_env("test-token");
    memset(&o, 0, sizeof(o));
    o.max_attempts = 1; /* the lease's own retries are under test */
    c = gcp_test_client(&t, &o);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(dl_http_replay_unused(t), 0);
    dl_gcp_client_free(c);
    return 0;
}

static void answer(const char *method, const char *path, const char *text)
{
    struct dl_err err;

    assert_int_equal(
        dl_http_replay_add_text(t, method, path, text, strlen(text), &err), 0);
}

static void committed(const char *update_time)
{
    char *text = dl_asprintf("HTTP/1.1 200 OK\nContent-Type: application/"
                             "json\n\n{\"writeResults\": [{\"updateTime\": "
                             "\"%s\"}], \"commitTime\": \"%s\"}",
                             update_time, update_time);

    answer("POST", COMMIT, text);
    free(text);
}

static void error(const char *method, const char *path, int code,
                  const char *status)
{
    char *text = dl_asprintf("HTTP/1.1 %d X\nContent-Type: application/json"
                             "\n\n{\"error\": {\"code\": %d, \"message\": "
                             "\"m\", \"status\": \"%s\"}}",
                             code, code, status);

    answer(method, path, text);
    free(text);
}

static void document(const char *holder, const char *update_time)
{
    char *text = dl_asprintf(
        "HTTP/1.1 200 OK\nContent-Type: application/json\n\n{\"name\": "
        "\"projects/p/databases/(default)/documents/driftless_leases/p\", "
        "\"fields\": {\"holder\": {\"stringValue\": \"%s\"}, \"expiresAt\": "
        "{\"timestampValue\": \"2099-01-01T00:00:00Z\"}}, \"updateTime\": "
        "\"%s\"}",
        holder, update_time);

    answer("GET", DOC, text);
    free(text);
}

/* The precondition (currentDocument.updateTime) of commit request i. */
static const char *precondition_of(size_t i, char *buf, size_t size)
{
    const struct dl_http_replay_req *q = dl_http_replay_request(t, i);
    json_t *b = json_loads(q->body, 0, NULL);
    const char *u = json_string_value(json_object_get(
        json_object_get(json_array_get(json_object_get(b, "writes"), 0),
                        "currentDocument"),
        "updateTime"));

    snprintf(buf, size, "%s", u ? u : "");
    json_decref(b);
    return buf;
}

static struct dl_lease *acquired(void)
{
    struct dl_lease_opts o = {.holder = "me:1:aaaa"};
    struct dl_lease *l = NULL;
    struct dl_err err;

    error("GET", DOC, 404, "NOT_FOUND");
    committed("2026-11-29T06:00:00.000001Z");
    assert_int_equal(dl_lease_acquire(&l, c, "p", &o, &err), 0);
    return l;
}

static void test_renew_retries_transient_failures(void **state)
{
    struct dl_lease *l = acquired();
    struct dl_err err;
    char buf[64];

    (void)state;
    error("POST", COMMIT, 503, "UNAVAILABLE");
    answer("POST", COMMIT, "FAIL reset\n");
    committed("2026-11-29T06:00:01.000001Z");
    assert_int_equal(dl_lease_renew(l, &err), 0);
    assert_true(dl_lease_held(l));
    assert_int_equal(dl_http_replay_count(t), 5);
    /* Every try carried the updateTime of the acquiring write. */
    for (size_t i = 2; i < 5; i++)
        assert_string_equal(precondition_of(i, buf, sizeof(buf)),
                            "2026-11-29T06:00:00.000001Z");
    /* The next renewal is guarded by the new updateTime. */
    committed("2026-11-29T06:00:02.000001Z");
    assert_int_equal(dl_lease_renew(l, &err), 0);
    assert_string_equal(precondition_of(5, buf, sizeof(buf)),
                        "2026-11-29T06:00:01.000001Z");
    dl_lease_free(l);
}

static void test_renew_whose_answer_was_lost(void **state)
{
    struct dl_lease *l = acquired();
    struct dl_err err;
    char buf[64];

    (void)state;
    /* The write landed but its answer was cut; the retry's precondition
       fails because of our own write; the document still names us. */
    answer("POST", COMMIT,
           "HTTP/1.1 200 OK\nContent-Type: application/json\n"
           "X-Replay-Truncate: 10\n\n{\"writeResults\": [{\"updateTime\": "
           "\"2026-11-29T06:00:01.000001Z\"}]}");
    error("POST", COMMIT, 400, "FAILED_PRECONDITION");
    document("me:1:aaaa", "2026-11-29T06:00:01.000001Z");
    committed("2026-11-29T06:00:02.000001Z");
    assert_int_equal(dl_lease_renew(l, &err), 0);
    assert_true(dl_lease_held(l));
    assert_string_equal(precondition_of(5, buf, sizeof(buf)),
                        "2026-11-29T06:00:01.000001Z");
    dl_lease_free(l);
}

static void test_renew_after_a_takeover_is_lost(void **state)
{
    struct dl_lease *l = acquired();
    struct dl_err err;

    (void)state;
    error("POST", COMMIT, 400, "FAILED_PRECONDITION");
    document("other:2:bbbb", "2026-11-29T06:00:05.000001Z");
    assert_int_equal(dl_lease_renew(l, &err), DL_ECONFLICT);
    assert_non_null(strstr(err.msg, "was lost"));
    assert_false(dl_lease_held(l));
    dl_lease_free(l);
}

static void test_acquire_and_release_retry(void **state)
{
    struct dl_lease_opts o = {.holder = "me:1:aaaa"};
    struct dl_lease *l = NULL;
    struct dl_err err;

    (void)state;
    /* The read fails once; the create's answer is lost after it landed:
       looking again finds our own holder, which is ours to take. */
    error("GET", DOC, 503, "UNAVAILABLE");
    error("GET", DOC, 404, "NOT_FOUND");
    answer("POST", COMMIT, "FAIL reset\n");
    document("me:1:aaaa", "2026-11-29T06:00:00.000001Z");
    committed("2026-11-29T06:00:01.000001Z");
    assert_int_equal(dl_lease_acquire(&l, c, "p", &o, &err), 0);
    /* Release: a 503, then the delete goes through. */
    error("POST", COMMIT, 503, "UNAVAILABLE");
    committed("2026-11-29T06:00:02.000001Z");
    assert_int_equal(dl_lease_release(l, &err), 0);
    dl_lease_free(l);
}

static void test_transient_failures_give_up(void **state)
{
    struct dl_lease *l = acquired();
    struct dl_err err;

    (void)state;
    for (int i = 0; i < 5; i++)
        error("POST", COMMIT, 503, "UNAVAILABLE");
    assert_int_equal(dl_lease_renew(l, &err), DL_ETRANSIENT);
    /* Not known to be lost: still held, so the next renewal tries. */
    assert_true(dl_lease_held(l));
    dl_lease_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_renew_retries_transient_failures,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_renew_whose_answer_was_lost, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_renew_after_a_takeover_is_lost,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_acquire_and_release_retry, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_transient_failures_give_up, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
