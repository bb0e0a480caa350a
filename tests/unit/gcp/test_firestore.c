#include "gcp_test.h"

#include "gcp/firestore.h"

#define DB "projects/demo/databases/(default)"
#define PARENT DB "/documents"
#define RUNQ "/v1/" PARENT ":runQuery"

static struct dl_http_transport *t;
static struct dl_gcp_client *c;

static int setup(void **state)
{
    (void)state;
    gcp_test_env(NULL);
    setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:8089", 1);
    c = gcp_test_client(&t, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(dl_http_replay_unused(t), 0);
    assert_int_equal(dl_gcp_client_pending(c), 0);
    dl_gcp_client_free(c);
    return 0;
}

struct docs {
    json_t *names;
    size_t stop_at;
};

static int on_doc(void *ud, json_t *doc)
{
    struct docs *d = ud;

    json_array_append(d->names, json_object_get(doc, "name"));
    return d->stop_at && json_array_size(d->names) == d->stop_at;
}

static json_t *query(void)
{
    return json_pack("{s:[{s:s}], s:{s:[{s:s}]}}", "from", "collectionId",
                     "heartbeats", "select", "fields", "fieldPath", "__name__");
}

static void test_run_query_chunks(void **state)
{
    static const size_t chunks[] = {0, 1, 2, 3, 7, 64, 333};
    json_t *q = query();
    struct dl_err err;

    (void)state;
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        struct docs d = {json_array(), 0};
        size_t n = 0;

        dl_http_replay_set_chunk(t, chunks[i]);
        gcp_test_add(t, "POST", RUNQ, FIX("runquery-3.http"));
        assert_int_equal(
            dl_firestore_run_query(c, PARENT, q, on_doc, &d, &n, &err), 0);
        assert_int_equal(n, 3);
        assert_string_equal(json_string_value(json_array_get(d.names, 2)),
                            PARENT "/heartbeats/run-3");
        json_decref(d.names);
    }
    assert_string_equal(gcp_test_req(t, 0)->body,
                        "{\"structuredQuery\":{\"from\":[{\"collectionId\":"
                        "\"heartbeats\"}],\"select\":{\"fields\":[{"
                        "\"fieldPath\":\"__name__\"}]}}}");
    assert_string_equal(gcp_test_req(t, 0)->url,
                        "http://127.0.0.1:8089/v1/" PARENT ":runQuery");
    json_decref(q);
}

static void test_run_query_edges(void **state)
{
    json_t *q = query();
    struct docs d = {json_array(), 0};
    struct dl_err err;
    size_t n = 99;

    (void)state;
    dl_http_replay_set_chunk(t, 5);
    gcp_test_add(t, "POST", RUNQ, FIX("runquery-empty.http"));
    assert_int_equal(dl_firestore_run_query(c, PARENT, q, on_doc, &d, &n, &err),
                     0);
    assert_int_equal(n, 0);

    /* An error element after some documents. */
    gcp_test_add(t, "POST", RUNQ, FIX("runquery-error.http"));
    assert_int_equal(dl_firestore_run_query(c, PARENT, q, on_doc, &d, &n, &err),
                     DL_ETRANSIENT);
    assert_string_equal(err.msg,
                        "runQuery: stream error after 1 documents: "
                        "UNAVAILABLE: The datastore operation timed out");

    /* Cut by the transport after documents arrived: not retried. */
    gcp_test_add(t, "POST", RUNQ, FIX("runquery-truncated.http"));
    assert_int_equal(dl_firestore_run_query(c, PARENT, q, on_doc, &d, &n, &err),
                     DL_ETRANSIENT);
    assert_non_null(strstr(err.msg, "bytes remaining"));

    /* Closed cleanly in the middle of the array. */
    gcp_test_add(t, "POST", RUNQ, FIX("runquery-cut-clean.http"));
    assert_int_equal(dl_firestore_run_query(c, PARENT, q, on_doc, &d, &n, &err),
                     DL_ETRANSIENT);
    assert_non_null(strstr(err.msg, "runQuery: JSON array truncated after 1 "
                                    "elements"));

    /* An HTTP error is an error envelope, not a stream. */
    gcp_test_add(t, "POST", RUNQ, FIX("error-400-invalid.http"));
    assert_int_equal(dl_firestore_run_query(c, PARENT, q, on_doc, &d, &n, &err),
                     DL_EINVALID);
    assert_string_equal(err.google_status, "INVALID_ARGUMENT");

    /* A 503 before any byte streamed is retried (a read). */
    gcp_test_add(t, "POST", RUNQ, FIX("error-503.http"));
    gcp_test_add(t, "POST", RUNQ, FIX("runquery-3.http"));
    json_array_clear(d.names);
    assert_int_equal(dl_firestore_run_query(c, PARENT, q, on_doc, &d, &n, &err),
                     0);
    assert_int_equal(n, 3);

    /* Stop after the first document: not an error. */
    d.stop_at = 1;
    json_array_clear(d.names);
    gcp_test_add(t, "POST", RUNQ, FIX("runquery-3.http"));
    assert_int_equal(dl_firestore_run_query(c, PARENT, q, on_doc, &d, &n, &err),
                     0);
    assert_int_equal(n, 1);
    assert_int_equal(json_array_size(d.names), 1);
    json_decref(d.names);
    json_decref(q);
}

static void test_batch_write(void **state)
{
    json_t *writes = json_array(), *many = json_array();
    struct dl_err err;
    size_t nfailed = 0;

    (void)state;
    json_array_append_new(writes, json_pack("{s:{s:s}}", "update", "name",
                                            PARENT "/heartbeats/run-1"));
    json_array_append_new(writes,
                          json_pack("{s:s}", "delete", PARENT "/heartbeats/x"));
    json_array_append_new(writes, json_pack("{s:{s:s}, s:{s:b}}", "update",
                                            "name", PARENT "/heartbeats/run-3",
                                            "currentDocument", "exists", 0));
    gcp_test_add(t, "POST", "/v1/" DB "/documents:batchWrite",
                 FIX("batchwrite-mixed.http"));
    assert_int_equal(dl_firestore_batch_write(
                         c, DB, writes, DL_GCP_RETRY_UNSAFE, &nfailed, &err),
                     0);
    assert_int_equal(nfailed, 1);
    assert_int_equal(err.code, DL_ECONFLICT);
    assert_string_equal(err.msg, "batchWrite: write 2: ALREADY_EXISTS: entity "
                                 "already exists: heartbeats/run-3");
    assert_non_null(
        strstr(gcp_test_req(t, 0)->body, "{\"writes\":[{\"update\":"));

    for (int i = 0; i < 501; i++)
        json_array_append_new(many, json_pack("{s:s}", "delete", "x"));
    assert_int_equal(dl_firestore_batch_write(c, DB, many, DL_GCP_RETRY_SAFE,
                                              &nfailed, &err),
                     DL_EINVALID);
    assert_string_equal(err.msg,
                        "batchWrite: 501 writes, more than the limit of 500");
    json_decref(writes);
    json_decref(many);
}

static void test_documents(void **state)
{
    struct dl_firestore_precondition pre = {0, "2026-11-29T02:59:00.5Z"};
    struct dl_firestore_precondition absent = {-1, NULL};
    json_t *fields = json_pack("{s:{s:s}}", "holder", "stringValue", "pod-b");
    json_t *doc = NULL;
    struct dl_err err;
    char ut[40];

    (void)state;
    gcp_test_add(t, "GET", "/v1/" PARENT "/leases/p1",
                 FIX("firestore-doc.http"));
    assert_int_equal(dl_firestore_get(c, PARENT "/leases/p1", &doc, &err), 0);
    assert_string_equal(json_string_value(json_object_get(doc, "updateTime")),
                        "2026-11-29T02:59:00.5Z");
    json_decref(doc);

    gcp_test_add(t, "POST", "/v1/" DB "/documents:commit",
                 FIX("commit-ok.http"));
    assert_int_equal(
        dl_firestore_put(c, PARENT "/leases/p1", fields, &pre, ut, &err), 0);
    assert_string_equal(ut, "2026-11-29T03:00:02.000002Z");
    assert_string_equal(gcp_test_req(t, 1)->body,
                        "{\"writes\":[{\"update\":{\"name\":\"" PARENT
                        "/leases/p1\",\"fields\":{\"holder\":{\"stringValue\":"
                        "\"pod-b\"}}},\"currentDocument\":{\"updateTime\":"
                        "\"2026-11-29T02:59:00.5Z\"}}]}");

    gcp_test_add(t, "POST", "/v1/" DB "/documents:commit",
                 FIX("error-409-exists.http"));
    assert_int_equal(
        dl_firestore_put(c, PARENT "/leases/p1", fields, &absent, NULL, &err),
        DL_ECONFLICT);
    assert_non_null(strstr(gcp_test_req(t, 2)->body,
                           "\"currentDocument\":{\"exists\":false}"));
    gcp_test_add(t, "POST", "/v1/" DB "/documents:commit",
                 FIX("error-400-precondition.http"));
    assert_int_equal(dl_firestore_delete(c, PARENT "/leases/p1", &pre, &err),
                     DL_ECONFLICT);
    assert_string_equal(gcp_test_req(t, 3)->body,
                        "{\"writes\":[{\"delete\":\"" PARENT "/leases/p1\","
                        "\"currentDocument\":{\"updateTime\":\"2026-11-29T02:"
                        "59:00.5Z\"}}]}");
    {
        static const char *const mask[] = {"holder", "expiresAt", NULL};
        struct dl_firestore_precondition exists = {1, NULL};

        gcp_test_add(t, "POST", "/v1/" DB "/documents:commit",
                     FIX("commit-ok.http"));
        assert_int_equal(dl_firestore_patch(c, PARENT "/leases/p1", fields,
                                            mask, &exists, ut, &err),
                         0);
        assert_string_equal(
            gcp_test_req(t, 4)->body,
            "{\"writes\":[{\"update\":{\"name\":\"" PARENT
            "/leases/p1\",\"fields\":{\"holder\":{\"stringValue\":"
            "\"pod-b\"}}},\"updateMask\":{\"fieldPaths\":[\"holder\","
            "\"expiresAt\"]},\"currentDocument\":{\"exists\":true}}]}");
    }
    gcp_test_add(t, "GET", "/v1/" PARENT "/leases/p2",
                 FIX("error-404-run.http"));
    assert_int_equal(dl_firestore_get(c, PARENT "/leases/p2", &doc, &err),
                     DL_ENOTFOUND);
    assert_int_equal(dl_firestore_delete(c, "leases/p1", NULL, &err),
                     DL_EINVALID);
    assert_string_equal(err.msg,
                        "'leases/p1' is not a Firestore document name");
    json_decref(fields);
}

static int sync_from_stream(void *ud, json_t *doc)
{
    struct dl_err err;

    (void)doc;
    *(int *)ud =
        dl_gcp_call(c, DL_GCP_FIRESTORE, "GET", "/v1/x", NULL, NULL, &err);
    return 0;
}

static void test_no_sync_call_from_stream(void **state)
{
    json_t *q = query();
    struct dl_err err;
    int rc = 0;

    (void)state;
    gcp_test_add(t, "POST", RUNQ, FIX("runquery-3.http"));
    assert_int_equal(
        dl_firestore_run_query(c, PARENT, q, sync_from_stream, &rc, NULL, &err),
        0);
    assert_int_equal(rc, DL_EINVALID);
    json_decref(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_run_query_chunks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_query_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_documents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_sync_call_from_stream, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
