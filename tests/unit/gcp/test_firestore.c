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

/* The fast element reader gives what jansson's tree gives. */
static void check_element(const char *text, int want_doc, int want_done)
{
    struct dl_firestore_element el;
    struct dl_err err;
    json_t *tree = json_loads(text, 0, NULL);
    json_t *want = json_object_get(tree, "document");

    assert_non_null(tree);
    assert_int_equal(dl_firestore_element_parse(&el, text, strlen(text), &err),
                     0);
    assert_int_equal(el.done, want_done);
    if (!want_doc) {
        assert_null(el.document);
    } else {
        const char *keys[] = {"name", "updateTime", "createTime", "fields"};

        assert_non_null(el.document);
        for (size_t i = 0; i < 4; i++)
            assert_true(json_equal(json_object_get(el.document, keys[i]),
                                   json_object_get(want, keys[i])) ||
                        (!json_object_get(el.document, keys[i]) &&
                         !json_object_get(want, keys[i])));
    }
    dl_firestore_element_dispose(&el);
    json_decref(tree);
}

static void test_element_parse(void **state)
{
    struct dl_firestore_element el;
    struct dl_err err;
    static const char bad_utf8[] = "{\"document\": {\"name\": \"a\xff\"}}";
    static const char error_el[] =
        "{\"error\": {\"code\": 503, \"status\": \"UNAVAILABLE\"}}";

    (void)state;
    /* pretty, as the emulator writes it */
    check_element("{\n  \"document\": {\n    \"name\": \"p/d/c/x_1\",\n"
                  "    \"fields\": {\n      \"t\": {\n        "
                  "\"timestampValue\": \"2026-11-29T06:23:15.092374Z\"\n"
                  "      }\n    },\n    \"createTime\": \"2026-11-29T06:23:"
                  "27.895245Z\",\n    \"updateTime\": \"2026-11-29T06:23:"
                  "27.895245Z\"\n  },\n  \"readTime\": \"2026-11-29T06:24:"
                  "05.536200Z\"\n}",
                  1, 0);
    /* escapes (protobuf's JSON writes '=' as \u003d), other key orders,
     * nested maps and arrays, brackets inside strings, done */
    check_element("{\"readTime\":\"x\",\"skippedResults\":3,\"document\":{"
                  "\"updateTime\":\"u\",\"fields\":{\"m\":{\"mapValue\":{"
                  "\"fields\":{\"a\":{\"arrayValue\":{\"values\":[{"
                  "\"stringValue\":\"]}\\\"{[\"},{\"nullValue\":null}]}}}}}},"
                  "\"name\":\"p/d/c/a\\u003db\\ud83d\\ude00\"},\"done\":true}",
                  1, 1);
    check_element("{\"readTime\": \"x\", \"done\": true}", 0, 1);
    check_element("{}", 0, 0);
    check_element("{\"document\": {}}", 1, 0);
    /* an error element is read too */
    assert_int_equal(
        dl_firestore_element_parse(&el, error_el, strlen(error_el), &err), 0);
    assert_non_null(el.error);
    assert_int_equal(json_integer_value(json_object_get(el.error, "code")),
                     503);
    dl_firestore_element_dispose(&el);
    /* not JSON, not UTF-8: errors, never a document */
    assert_int_equal(dl_firestore_element_parse(
                         &el, "{\"document\": {\"name\": tru}}", 27, &err),
                     DL_EINVALID);
    assert_null(el.document);
    dl_firestore_element_dispose(&el);
    assert_int_equal(
        dl_firestore_element_parse(&el, bad_utf8, strlen(bad_utf8), &err),
        DL_EINVALID);
    assert_null(el.document);
    dl_firestore_element_dispose(&el);
}

static json_t *ordered_query(void)
{
    return json_pack("{s:[{s:s}], s:{s:[{s:s}]}, s:[{s:{s:s}, s:s}]}", "from",
                     "collectionId", "heartbeats", "select", "fields",
                     "fieldPath", "__name__", "orderBy", "field", "fieldPath",
                     "__name__", "direction", "ASCENDING");
}

#define DOC(id)                                                                \
    "{\"document\": {\"name\": \"" PARENT "/heartbeats/" id "\", "             \
    "\"updateTime\": \"2026-11-01T10:00:00.000001Z\"}}"

/* A stream cut after documents resumes after the last one delivered:
 * every document once, in order, and the count is exact. */
static void test_run_query_resume(void **state)
{
    static const char cut[] =
        "HTTP/1.1 200 OK\nX-Replay-Truncate: 200\n\n"
        "[" DOC("run-2") ",\n" DOC("run-3") "]"; /* answers "after run-1" */
    static const char rest[] = "HTTP/1.1 200 OK\n\n[" DOC("run-3") "]";
    static const char cut0[] = "HTTP/1.1 200 OK\nX-Replay-Truncate: 20\n\n"
                               "[" DOC("run-1") "]";
    json_t *q = ordered_query(), *body, *start;
    struct docs d = {json_array(), 0};
    struct dl_err err;
    size_t n = 0;

    (void)state;
    gcp_test_add(t, "POST", RUNQ, FIX("runquery-truncated.http"));
    assert_int_equal(
        dl_http_replay_add_text(t, "POST", RUNQ, cut, strlen(cut), &err), 0);
    assert_int_equal(
        dl_http_replay_add_text(t, "POST", RUNQ, rest, strlen(rest), &err), 0);
    assert_int_equal(dl_firestore_run_query(c, PARENT, q, on_doc, &d, &n, &err),
                     0);
    /* run-1 from the first answer, run-2 from the second, run-3 from the
     * third */
    assert_int_equal(n, 3);
    assert_int_equal(json_array_size(d.names), 3);
    for (size_t i = 0; i < 3; i++) {
        char want[128];

        snprintf(want, sizeof(want), PARENT "/heartbeats/run-%zu", i + 1);
        assert_string_equal(json_string_value(json_array_get(d.names, i)),
                            want);
    }
    assert_int_equal(dl_http_replay_count(t), 3);
    assert_null(strstr(gcp_test_req(t, 0)->body, "startAt"));
    body = json_loads(gcp_test_req(t, 2)->body, 0, NULL);
    start =
        json_object_get(json_object_get(body, "structuredQuery"), "startAt");
    assert_true(json_is_false(json_object_get(start, "before")));
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(start, "values"), 0),
                            "referenceValue")),
                        PARENT "/heartbeats/run-2");
    /* resumed after a backoff */
    assert_true(gcp_test_req(t, 2)->at_ns > gcp_test_req(t, 1)->at_ns);
    json_decref(body);

    /* Cut before any document: no progress, so not resumed (the client's
     * retries are for that): an error, not a short listing. */
    json_array_clear(d.names);
    assert_int_equal(
        dl_http_replay_add_text(t, "POST", RUNQ, cut0, strlen(cut0), &err), 0);
    assert_int_equal(dl_firestore_run_query(c, PARENT, q, on_doc, &d, &n, &err),
                     DL_ETRANSIENT);
    assert_int_equal(json_array_size(d.names), 0);

    /* Cut every time: resumed DL_FIRESTORE_MAX_RESUMES times, then an
     * error (never a short listing taken for the whole). */
    for (int i = 0; i <= DL_FIRESTORE_MAX_RESUMES; i++)
        assert_int_equal(
            dl_http_replay_add_text(t, "POST", RUNQ, cut, strlen(cut), &err),
            0);
    assert_int_equal(dl_firestore_run_query(c, PARENT, q, on_doc, &d, &n, &err),
                     DL_ETRANSIENT);
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
    /* These replay the REST API (firestore_grpc has its own tests). */
    setenv("DRIFTLESS_FIRESTORE_PROTOCOL", "rest", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_run_query_chunks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_query_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_element_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_query_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_documents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_sync_call_from_stream, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
