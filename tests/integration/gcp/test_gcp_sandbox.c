/*
 * The Google client against the sandbox: fakegcp (token endpoint checking
 * RS256 signatures, metadata server, APIs) and the Firestore emulator.
 * Environment from tests/sandbox/with-env.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gcp/firestore.h"
#include "gcp/gcp.h"
#include "util/alloc.h"
#include "util/time.h"

static char project[64];
static char db[128];
static char parent[160];
static char coll[64];
static char tmpdir[64];

static void clean_env(void)
{
    unsetenv("DRIFTLESS_ACCESS_TOKEN");
    unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
    unsetenv("CLOUDSDK_CONFIG");
    setenv("HOME", "/nonexistent-driftless-home", 1);
}

static struct dl_gcp_client *client(void)
{
    struct dl_gcp_client *c = NULL;
    struct dl_err err;

    if (dl_gcp_client_new(&c, NULL, &err) != 0)
        fail_msg("client: %s", err.msg);
    return c;
}

static int group_setup(void **state)
{
    const char *p = getenv("DL_SANDBOX_PROJECT");

    (void)state;
    if (!getenv("DRIFTLESS_API_ENDPOINT") || !getenv("DL_SANDBOX_SA_KEY")) {
        fprintf(stderr, "no sandbox environment\n");
        return -1;
    }
    snprintf(project, sizeof(project), "%s", p ? p : "demo-proj");
    snprintf(db, sizeof(db), "projects/%s/databases/(default)", project);
    snprintf(parent, sizeof(parent), "%s/documents", db);
    snprintf(coll, sizeof(coll), "gcp-it-%ld", (long)getpid());
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/dl-gcp-it-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* An API call through fakegcp that needs a bearer token. */
static void call_api(struct dl_gcp_client *c)
{
    char path[160];
    json_t *body =
        json_pack("{s:{s:i}}", "options", "requestedPolicyVersion", 3);
    json_t *out = NULL;
    struct dl_err err;
    struct dl_gcp_request q;

    snprintf(path, sizeof(path), "/v1/projects/%s:getIamPolicy", project);
    memset(&q, 0, sizeof(q));
    q.api = DL_GCP_RESOURCEMANAGER;
    q.method = "POST";
    q.path = path;
    q.body = body;
    q.retry = DL_GCP_RETRY_READ;
    if (dl_gcp_call_req(c, &q, &out, &err) != 0)
        fail_msg("getIamPolicy: %s", err.msg);
    assert_non_null(json_object_get(out, "etag"));
    json_decref(out);
    json_decref(body);
}

static void test_service_account_token(void **state)
{
    struct dl_gcp_client *c;

    (void)state;
    clean_env();
    setenv("GOOGLE_APPLICATION_CREDENTIALS", getenv("DL_SANDBOX_SA_KEY"), 1);
    c = client();
    assert_string_equal(dl_gcp_client_auth_kind(c), "service-account");
    call_api(c);
    call_api(c);
    assert_int_equal(dl_gcp_client_metrics(c)->token_refreshes, 1);
    assert_int_equal(dl_gcp_client_metrics(c)->api[DL_GCP_OAUTH2].attempts, 1);
    dl_gcp_client_free(c);
}

static void test_wrong_key_rejected(void **state)
{
    struct dl_gcp_client *c;
    struct dl_err err;
    EVP_PKEY *k = EVP_RSA_gen(2048);
    BIO *b = BIO_new(BIO_s_mem());
    char *pem, *data, path[128], *text;
    long n;
    FILE *f;
    json_t *key;
    json_error_t je;

    (void)state;
    /* The sandbox key file, with another private key in it. */
    key = json_load_file(getenv("DL_SANDBOX_SA_KEY"), 0, &je);
    assert_non_null(key);
    PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    n = BIO_get_mem_data(b, &data);
    pem = strndup(data, (size_t)n);
    json_object_set_new(key, "private_key", json_string(pem));
    snprintf(path, sizeof(path), "%s/wrong-key.json", tmpdir);
    text = json_dumps(key, 0);
    f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    chmod(path, 0600);
    clean_env();
    setenv("GOOGLE_APPLICATION_CREDENTIALS", path, 1);
    c = client();
    assert_int_equal(dl_gcp_call(c, DL_GCP_RUN, "GET",
                                 "/v2/projects/x/locations/y/services", NULL,
                                 NULL, &err),
                     DL_EAUTH);
    assert_non_null(strstr(err.msg, "invalid_grant"));
    assert_int_equal(dl_gcp_client_metrics(c)->api[DL_GCP_RUN].attempts, 0);
    dl_gcp_client_free(c);
    json_decref(key);
    free(text);
    free(pem);
    BIO_free(b);
    EVP_PKEY_free(k);
}

static void test_metadata_server(void **state)
{
    struct dl_gcp_client *c;

    (void)state;
    clean_env();
    c = client();
    assert_string_equal(dl_gcp_client_auth_kind(c), "metadata");
    call_api(c);
    assert_int_equal(dl_gcp_client_metrics(c)->token_refreshes, 1);
    assert_int_equal(dl_gcp_client_metrics(c)->api[DL_GCP_METADATA].attempts,
                     1);
    dl_gcp_client_free(c);
}

/* ---- Firestore emulator ---- */

struct writer {
    int done, failed;
    size_t nfailed;
};

static void batch_done(struct dl_gcp_client *c, int rc,
                       const struct dl_err *err,
                       const struct dl_firestore_write_result *res, size_t n,
                       void *ud)
{
    struct writer *w = ud;

    (void)c;
    w->done++;
    if (rc < 0) {
        w->failed++;
        fprintf(stderr, "batchWrite: %s\n", err->msg);
        return;
    }
    for (size_t i = 0; i < n; i++)
        w->nfailed += res[i].code != 0;
}

/* Resident memory now, KiB (from /proc/self/statm). */
static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, res = 0;

    if (f) {
        if (fscanf(f, "%ld %ld", &size, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

struct reader {
    size_t n;
    size_t seen_bad;
    long rss_max;
};

static int count_doc(void *ud, json_t *doc)
{
    struct reader *r = ud;
    const char *name = json_string_value(json_object_get(doc, "name"));

    r->n++;
    if (!name || !strstr(name, "/hb-"))
        r->seen_bad++;
    if (r->n % 500 == 0) {
        long now = rss_kb();

        if (now > r->rss_max)
            r->rss_max = now;
    }
    return 0;
}

#define NDOCS 20000

static void test_firestore_bulk(void **state)
{
    struct dl_gcp_client *c;
    struct writer w = {0, 0, 0};
    struct reader r = {0, 0, 0};
    struct dl_err err;
    json_t *q;
    char pad[201];
    int64_t t0, t1, t2;
    long rss0;
    size_t n = 0;

    (void)state;
    clean_env();
    memset(pad, 'x', 200);
    pad[200] = '\0';
    c = client();
    t0 = dl_time_mono_ns();
    /* 40 batchWrites of 500, submitted at once, 16 in flight. */
    for (int b = 0; b < NDOCS / 500; b++) {
        json_t *writes = json_array();

        for (int i = 0; i < 500; i++) {
            char name[256];

            snprintf(name, sizeof(name), "%s/%s/hb-%06d", parent, coll,
                     b * 500 + i);
            json_array_append_new(
                writes,
                json_pack("{s:{s:s, s:{s:{s:s}, s:{s:I}}}}", "update", "name",
                          name, "fields", "pad", "stringValue", pad, "n",
                          "integerValue", (json_int_t)(b * 500 + i)));
        }
        assert_int_equal(dl_firestore_batch_write_submit(c, db, writes,
                                                         DL_GCP_RETRY_SAFE,
                                                         batch_done, &w, &err),
                         0);
        json_decref(writes);
    }
    assert_int_equal(dl_gcp_client_run(c, &err), 0);
    t1 = dl_time_mono_ns();
    assert_int_equal(w.done, NDOCS / 500);
    assert_int_equal(w.failed, 0);
    assert_int_equal(w.nfailed, 0);

    q = json_pack("{s:[{s:s}]}", "from", "collectionId", coll);
    rss0 = rss_kb();
    assert_int_equal(
        dl_firestore_run_query(c, parent, q, count_doc, &r, &n, &err), 0);
    t2 = dl_time_mono_ns();
    assert_int_equal(n, NDOCS);
    assert_int_equal(r.n, NDOCS);
    assert_int_equal(r.seen_bad, 0);
    /* The answer is ~11 MB of JSON; streamed, the process grows by a
     * small fraction of that while it arrives. */
    fprintf(stderr,
            "gcp-it: %d docs written in %.2f s (40 batchWrites), read back "
            "by runQuery in %.2f s, resident memory grew %ld KiB while "
            "reading\n",
            NDOCS, (double)(t1 - t0) / 1e9, (double)(t2 - t1) / 1e9,
            r.rss_max - rss0);
    assert_true(r.rss_max > 0);
#if !defined(__SANITIZE_ADDRESS__)
    /* (AddressSanitizer quarantines freed memory: RSS grows there.) */
    assert_true(r.rss_max - rss0 < 4096);
#endif
    json_decref(q);
    dl_gcp_client_free(c);
}

static void test_firestore_batch_statuses(void **state)
{
    struct dl_gcp_client *c;
    struct dl_err err;
    json_t *writes;
    char a[256], missing[256];
    size_t nfailed = 9;

    (void)state;
    clean_env();
    c = client();
    snprintf(a, sizeof(a), "%s/%s/hb-000001", parent, coll);
    snprintf(missing, sizeof(missing), "%s/%s/never", parent, coll);
    writes =
        json_pack("[{s:{s:s, s:{}}, s:{s:b}}, {s:s}]", "update", "name", a,
                  "fields", "currentDocument", "exists", 0, "delete", missing);
    assert_int_equal(dl_firestore_batch_write(
                         c, db, writes, DL_GCP_RETRY_UNSAFE, &nfailed, &err),
                     0);
    assert_int_equal(nfailed, 1);
    assert_int_equal(err.code, DL_ECONFLICT);
    assert_string_equal(err.google_status, "ALREADY_EXISTS");
    assert_non_null(strstr(err.msg, "batchWrite: write 0: ALREADY_EXISTS"));
    json_decref(writes);
    dl_gcp_client_free(c);
}

static void test_firestore_preconditions(void **state)
{
    struct dl_gcp_client *c;
    struct dl_err err;
    char name[256], t1[40], t2[40];
    struct dl_firestore_precondition absent = {-1, NULL};
    struct dl_firestore_precondition at1 = {0, t1};
    struct dl_firestore_precondition present = {1, NULL};
    json_t *f1 = json_pack("{s:{s:s}}", "holder", "stringValue", "pod-a");
    json_t *f2 = json_pack("{s:{s:s}}", "holder", "stringValue", "pod-b");
    json_t *doc = NULL;
    int64_t a, b;

    (void)state;
    clean_env();
    c = client();
    snprintf(name, sizeof(name), "%s/%s-leases/lease-1", parent, coll);
    /* Create only if absent, twice: the second loses. */
    assert_int_equal(dl_firestore_put(c, name, f1, &absent, t1, &err), 0);
    assert_int_equal(dl_firestore_put(c, name, f2, &absent, NULL, &err),
                     DL_ECONFLICT);
    assert_string_equal(err.google_status, "ALREADY_EXISTS");
    assert_int_equal(dl_firestore_get(c, name, &doc, &err), 0);
    assert_int_equal(
        dl_time_parse_rfc3339(
            &a, json_string_value(json_object_get(doc, "updateTime")), &err),
        0);
    assert_int_equal(dl_time_parse_rfc3339(&b, t1, &err), 0);
    assert_true(a == b);
    json_decref(doc);
    /* Renew at the version we saw; then the old version is stale. */
    assert_int_equal(dl_firestore_put(c, name, f2, &at1, t2, &err), 0);
    assert_string_not_equal(t1, t2);
    assert_int_equal(dl_firestore_put(c, name, f1, &at1, NULL, &err),
                     DL_ECONFLICT);
    assert_string_equal(err.google_status, "FAILED_PRECONDITION");
    assert_int_equal(dl_firestore_delete(c, name, &at1, &err), DL_ECONFLICT);
    at1.update_time = t2;
    assert_int_equal(dl_firestore_delete(c, name, &at1, &err), 0);
    assert_int_equal(dl_firestore_get(c, name, &doc, &err), DL_ENOTFOUND);
    assert_int_equal(dl_firestore_put(c, name, f1, &present, NULL, &err),
                     DL_ENOTFOUND);
    /* A masked patch keeps the fields it does not name. */
    {
        static const char *const mask[] = {"holder", NULL};
        json_t *both = json_pack("{s:{s:s}, s:{s:s}}", "holder", "stringValue",
                                 "pod-a", "note", "stringValue", "kept");

        assert_int_equal(dl_firestore_put(c, name, both, NULL, t1, &err), 0);
        at1.update_time = t1;
        assert_int_equal(
            dl_firestore_patch(c, name, f2, mask, &at1, NULL, &err), 0);
        assert_int_equal(dl_firestore_get(c, name, &doc, &err), 0);
        assert_string_equal(
            json_string_value(json_object_get(
                json_object_get(json_object_get(doc, "fields"), "holder"),
                "stringValue")),
            "pod-b");
        assert_string_equal(
            json_string_value(json_object_get(
                json_object_get(json_object_get(doc, "fields"), "note"),
                "stringValue")),
            "kept");
        json_decref(doc);
        json_decref(both);
    }
    /* A plain REST DELETE (no body) through libcurl. */
    {
        char *path = dl_asprintf("/v1/%s", name);

        assert_int_equal(
            dl_gcp_call(c, DL_GCP_FIRESTORE, "DELETE", path, NULL, &doc, &err),
            0);
        assert_true(json_is_object(doc) && json_object_size(doc) == 0);
        json_decref(doc);
        free(path);
    }
    assert_int_equal(dl_firestore_get(c, name, &doc, &err), DL_ENOTFOUND);
    json_decref(f1);
    json_decref(f2);
    dl_gcp_client_free(c);
}

/* ---- faults and concurrency through libcurl ---- */

static void put_faults(struct dl_gcp_client *c, const char *json)
{
    char url[256];
    struct dl_gcp_request q;
    struct dl_err err;

    snprintf(url, sizeof(url), "%s/_fake/v1/faults", getenv("FAKEGCP_URL"));
    memset(&q, 0, sizeof(q));
    q.api = DL_GCP_RESOURCEMANAGER;
    q.method = "PUT";
    q.path = url;
    q.raw_body = json;
    q.flags = DL_GCP_NO_AUTH;
    if (dl_gcp_call_req(c, &q, NULL, &err) != 0)
        fail_msg("PUT faults: %s", err.msg);
}

struct tally {
    int ok, failed;
};

static void tally_done(struct dl_gcp_client *c, int rc,
                       const struct dl_gcp_response *r,
                       const struct dl_err *err, void *ud)
{
    struct tally *t = ud;

    (void)c;
    (void)r;
    if (rc == 0) {
        t->ok++;
    } else {
        t->failed++;
        fprintf(stderr, "request failed: %s\n", err->msg);
    }
}

static void submit_gets(struct dl_gcp_client *c, int n, struct tally *t)
{
    char path[128];
    struct dl_gcp_request q;
    struct dl_err err;

    snprintf(path, sizeof(path), "/v1/projects/%s", project);
    for (int i = 0; i < n; i++) {
        memset(&q, 0, sizeof(q));
        q.api = DL_GCP_RESOURCEMANAGER;
        q.path = path;
        q.done = tally_done;
        q.ud = t;
        assert_int_equal(dl_gcp_submit(c, &q, &err), 0);
    }
}

static uint64_t count_of(const struct dl_gcp_api_metrics *m, int status)
{
    for (size_t i = 0; i < m->nstatus; i++)
        if (m->status[i].status == status)
            return m->status[i].count;
    return 0;
}

static void test_faults_are_retried(void **state)
{
    struct dl_gcp_client_opts o;
    struct dl_gcp_client *c = NULL;
    const struct dl_gcp_api_metrics *m;
    struct tally t = {0, 0};
    struct dl_err err;

    (void)state;
    clean_env();
    setenv("DRIFTLESS_ACCESS_TOKEN", "sandbox-static-token", 1);
    memset(&o, 0, sizeof(o));
    o.backoff_base_ns = 10 * DL_NS_PER_MS;
    o.backoff_max_ns = 200 * DL_NS_PER_MS;
    o.max_attempts = 10;
    o.rate[DL_GCP_RESOURCEMANAGER] = -1;
    assert_int_equal(dl_gcp_client_new(&c, &o, &err), 0);
    put_faults(c, "{\"503\": 0.08, \"429\": 0.05, \"502\": 0.03, "
                  "\"resetRate\": 0.02, \"truncateRate\": 0.02, "
                  "\"pathRegex\": \"^/v1/projects/\", \"seed\": 7}");
    submit_gets(c, 300, &t);
    assert_int_equal(dl_gcp_client_run(c, &err), 0);
    put_faults(c, "{}");
    m = &dl_gcp_client_metrics(c)->api[DL_GCP_RESOURCEMANAGER];
    fprintf(stderr,
            "gcp-it: 300 GETs under faults: %llu attempts, %llu retries "
            "(503: %llu, 429: %llu, 502: %llu, reset/cut: %llu)\n",
            (unsigned long long)m->attempts, (unsigned long long)m->retries,
            (unsigned long long)count_of(m, 503),
            (unsigned long long)count_of(m, 429),
            (unsigned long long)count_of(m, 502),
            (unsigned long long)(count_of(m, 0) + 0));
    assert_int_equal(t.ok, 300);
    assert_int_equal(t.failed, 0);
    /* 20 % of attempts fail: 10 attempts all failing is 1e-7 a request */
    assert_true(count_of(m, 503) > 5);
    assert_true(count_of(m, 429) > 2);
    assert_true(count_of(m, 502) > 0);
    /* resets have no status; cut bodies arrive with 200 */
    assert_true(m->retries >= count_of(m, 503) + count_of(m, 429));
    dl_gcp_client_free(c);
}

static void test_concurrency(void **state)
{
    struct dl_gcp_client_opts o;
    struct dl_gcp_client *c = NULL;
    struct tally t = {0, 0};
    struct dl_err err;
    int64_t t0, t1;

    (void)state;
    clean_env();
    setenv("DRIFTLESS_ACCESS_TOKEN", "sandbox-static-token", 1);
    memset(&o, 0, sizeof(o));
    o.rate[DL_GCP_RESOURCEMANAGER] = -1;
    assert_int_equal(dl_gcp_client_new(&c, &o, &err), 0);
    put_faults(c, "{\"latencyMs\": 50, \"pathRegex\": \"^/v1/projects/\"}");
    t0 = dl_time_mono_ns();
    submit_gets(c, 320, &t);
    assert_int_equal(dl_gcp_client_run(c, &err), 0);
    t1 = dl_time_mono_ns();
    put_faults(c, "{}");
    fprintf(stderr,
            "gcp-it: 320 GETs of 50 ms each, 16 in flight: %.2f s (serial "
            "would be 16 s)\n",
            (double)(t1 - t0) / 1e9);
    assert_int_equal(t.ok, 320);
    /* 20 rounds of 50 ms at least; less than one at a time (320 x 50 ms
     * = 16 s) proves they overlapped. No tighter bound: CI machines may be
     * loaded, and speed is the benchmarks' job. */
    assert_true(t1 - t0 >= 1000 * DL_NS_PER_MS);
    assert_true(t1 - t0 < 15 * DL_NS_PER_SEC);
    dl_gcp_client_free(c);
}

/* ---- runQuery over gRPC: the same documents as over REST ---- */

static int collect_doc(void *ud, json_t *doc)
{
    return json_array_append(ud, doc);
}

/* The listing of q under protocol proto, as a JSON array of documents. */
static json_t *list_with(struct dl_gcp_client *c, const char *proto, json_t *q,
                         int *rc, struct dl_err *err)
{
    json_t *docs = json_array();
    size_t n = 0;

    setenv("DRIFTLESS_FIRESTORE_PROTOCOL", proto, 1);
    *rc = dl_firestore_run_query(c, parent, q, collect_doc, docs, &n, err);
    unsetenv("DRIFTLESS_FIRESTORE_PROTOCOL");
    if (*rc == 0)
        assert_int_equal(n, json_array_size(docs));
    return docs;
}

/* The stale field's value of document i: every Value kind, several
 * fraction widths of timestamps, nesting, and documents without it. */
static json_t *stale_value(int i)
{
    static const char *const times[] = {
        "2024-01-02T03:04:05Z",        "2024-01-02T03:04:05.120Z",
        "2024-01-02T03:04:05.123456Z", "2024-01-02T03:04:05.123456789Z",
        "1970-01-01T00:00:00Z",        "1969-12-31T23:59:59.500Z"};

    switch (i % 14) {
    case 0:
        return json_pack("{s:s}", "timestampValue", times[i / 14 % 6]);
    case 1:
        return json_pack("{s:s}", "integerValue", i % 3 ? "-42" : "0");
    case 2:
        return json_pack("{s:f}", "doubleValue", i % 4 ? 0.5 * i : 1.0);
    case 3:
        return json_pack("{s:s}", "stringValue",
                         i % 2 ? "h\xc3\xa9llo \"q\"\n" : "");
    case 4:
        return json_pack("{s:b}", "booleanValue", i % 2);
    case 5:
        return json_pack("{s:n}", "nullValue");
    case 6:
        return json_pack("{s:{s:{s:{s:s},s:{s:{s:[{s:s},{s:b}]}}}}}",
                         "mapValue", "fields", "a", "stringValue", "x", "b",
                         "arrayValue", "values", "stringValue", "y",
                         "booleanValue", 1);
    case 7:
        return json_pack("{s:{s:[{s:s},{s:{}}]}}", "arrayValue", "values",
                         "integerValue", "7", "mapValue");
    case 8:
        return json_pack("{s:s}", "bytesValue", i % 2 ? "AAEC/w==" : "YWI=");
    case 9:
        return json_pack("{s:s+}", "referenceValue", parent, "/other/doc");
    case 10:
        return json_pack("{s:{s:f,s:f}}", "geoPointValue", "latitude", 47.5,
                         "longitude", -122.25);
    case 11:
        return json_pack("{s:{}}", "arrayValue");
    case 12:
        return json_pack("{s:{}}", "mapValue");
    default:
        return NULL; /* no stale field */
    }
}

#define NGRPC 3000

static void test_firestore_grpc_same_as_rest(void **state)
{
    struct dl_gcp_client *c;
    struct writer w = {0, 0, 0};
    struct dl_err err;
    char gcoll[80];
    json_t *q, *rest, *grpc;
    int rc;

    (void)state;
    clean_env();
    c = client();
    snprintf(gcoll, sizeof(gcoll), "%s-grpc", coll);
    for (int b = 0; b < NGRPC / 500; b++) {
        json_t *writes = json_array();

        for (int i = b * 500; i < (b + 1) * 500; i++) {
            char name[256];
            json_t *fields =
                json_pack("{s:{s:s}}", "other", "stringValue", "not selected");
            json_t *v = stale_value(i);

            if (v)
                json_object_set_new(fields, "seen", v);
            snprintf(name, sizeof(name), "%s/%s/d-%05d", parent, gcoll, i);
            json_array_append_new(writes,
                                  json_pack("{s:{s:s,s:o}}", "update", "name",
                                            name, "fields", fields));
        }
        assert_int_equal(dl_firestore_batch_write_submit(c, db, writes,
                                                         DL_GCP_RETRY_SAFE,
                                                         batch_done, &w, &err),
                         0);
        json_decref(writes);
    }
    assert_int_equal(dl_gcp_client_run(c, &err), 0);
    assert_int_equal(w.failed + (int)w.nfailed, 0);

    /* What the hygiene providers send: a projection, by name. */
    q = json_pack("{s:[{s:s}],s:{s:[{s:s},{s:s}]},s:[{s:{s:s},s:s}]}", "from",
                  "collectionId", gcoll, "select", "fields", "fieldPath",
                  "__name__", "fieldPath", "seen", "orderBy", "field",
                  "fieldPath", "__name__", "direction", "ASCENDING");
    rest = list_with(c, "rest", q, &rc, &err);
    assert_int_equal(rc, 0);
    grpc = list_with(c, "grpc", q, &rc, &err);
    assert_int_equal(rc, 0);
    assert_int_equal(json_array_size(rest), NGRPC);
    assert_int_equal(json_array_size(grpc), NGRPC);
    for (size_t i = 0; i < NGRPC; i++)
        if (!json_equal(json_array_get(rest, i), json_array_get(grpc, i))) {
            char *a = json_dumps(json_array_get(rest, i), JSON_SORT_KEYS);
            char *b = json_dumps(json_array_get(grpc, i), JSON_SORT_KEYS);

            fail_msg("document %zu differs:\nREST %s\ngRPC %s", i, a, b);
        }
    /* only the selected field came back */
    assert_null(json_object_get(
        json_object_get(json_array_get(grpc, 0), "fields"), "other"));
    json_decref(rest);
    json_decref(grpc);

    /* Every field, no order, a limit: the same again. */
    json_decref(q);
    q = json_pack("{s:[{s:s}],s:i}", "from", "collectionId", gcoll, "limit",
                  777);
    rest = list_with(c, "rest", q, &rc, &err);
    assert_int_equal(rc, 0);
    grpc = list_with(c, "auto", q, &rc, &err);
    assert_int_equal(rc, 0);
    assert_int_equal(json_array_size(grpc), 777);
    assert_true(json_equal(rest, grpc));
    json_decref(rest);
    json_decref(grpc);

    /* A filter the gRPC encoder does not know: auto lists over REST,
     * grpc refuses. */
    json_object_set_new(q, "where",
                        json_pack("{s:{s:{s:s},s:s,s:{s:s}}}", "fieldFilter",
                                  "field", "fieldPath", "other", "op", "EQUAL",
                                  "value", "stringValue", "not selected"));
    rest = list_with(c, "auto", q, &rc, &err);
    assert_int_equal(rc, 0);
    assert_int_equal(json_array_size(rest), 777);
    json_decref(rest);
    grpc = list_with(c, "grpc", q, &rc, &err);
    assert_int_equal(rc, DL_EINVALID);
    json_decref(grpc);
    setenv("DRIFTLESS_FIRESTORE_PROTOCOL", "h3", 1);
    assert_int_equal(
        dl_firestore_run_query(c, parent, q, collect_doc, NULL, NULL, &err),
        DL_EINVALID);
    unsetenv("DRIFTLESS_FIRESTORE_PROTOCOL");
    json_decref(q);
    dl_gcp_client_free(c);
}

/* A server that does not speak HTTP/2 (fakegcp, HTTP/1.1 only) in place
 * of the emulator: auto falls back to REST (whose 404 it then reports),
 * grpc fails with the gRPC attempt's own error. */
static void test_firestore_grpc_fallback(void **state)
{
    struct dl_gcp_client *c;
    struct dl_err err;
    const char *emu = getenv("FIRESTORE_EMULATOR_HOST");
    char *saved = emu ? dl_strdup(emu) : NULL;
    const char *fake = getenv("FAKEGCP_URL");
    const struct dl_gcp_metrics *m;
    json_t *q, *docs;
    int rc;

    (void)state;
    assert_non_null(fake);
    clean_env();
    setenv("FIRESTORE_EMULATOR_HOST", fake + strlen("http://"), 1);
    c = client();
    q = json_pack("{s:[{s:s}]}", "from", "collectionId", "x");
    docs = list_with(c, "auto", q, &rc, &err);
    assert_int_not_equal(rc, 0);
    assert_null(strstr(err.msg, "gRPC"));
    m = dl_gcp_client_metrics(c);
    /* the gRPC attempt, then REST */
    assert_true(m->api[DL_GCP_FIRESTORE].requests >= 2);
    json_decref(docs);
    docs = list_with(c, "grpc", q, &rc, &err);
    assert_int_not_equal(rc, 0);
    json_decref(docs);
    json_decref(q);
    dl_gcp_client_free(c);
    if (saved)
        setenv("FIRESTORE_EMULATOR_HOST", saved, 1);
    free(saved);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_service_account_token),
        cmocka_unit_test(test_wrong_key_rejected),
        cmocka_unit_test(test_metadata_server),
        cmocka_unit_test(test_firestore_bulk),
        cmocka_unit_test(test_firestore_grpc_same_as_rest),
        cmocka_unit_test(test_firestore_grpc_fallback),
        cmocka_unit_test(test_firestore_batch_statuses),
        cmocka_unit_test(test_firestore_preconditions),
        cmocka_unit_test(test_faults_are_retried),
        cmocka_unit_test(test_concurrency),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
