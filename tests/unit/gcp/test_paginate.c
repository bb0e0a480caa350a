#include "gcp_test.h"

static struct dl_http_transport *t;
static struct dl_gcp_client *c;

static int setup(void **state)
{
    (void)state;
    gcp_test_env("test-token-pages");
    c = gcp_test_client(&t, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(dl_http_replay_unused(t), 0);
    dl_gcp_client_free(c);
    return 0;
}

struct names {
    json_t *list;
    size_t stop_at;
};

static int add_name(void *ud, json_t *item)
{
    struct names *n = ud;
    json_t *name = json_object_get(item, "name");

    if (!name)
        name = json_object_get(item, "id");
    json_array_append(n->list, name);
    return n->stop_at && json_array_size(n->list) == n->stop_at;
}

static char *joined(json_t *list)
{
    static char buf[1024];
    size_t i, len = 0;
    json_t *v;

    buf[0] = '\0';
    json_array_foreach(list, i, v)
    {
        const char *s = json_string_value(v);
        const char *slash = strrchr(s, '/');

        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s",
                                i ? "," : "", slash ? slash + 1 : s);
    }
    return buf;
}

static void test_run_services(void **state)
{
    struct names n = {json_array(), 0};
    struct dl_err err;
    const char *path = "/v2/projects/demo/locations/europe-west1/services";

    (void)state;
    gcp_test_add(t, "GET", path, FIX("run-services-page1.http"));
    gcp_test_add(t, "GET",
                 "/v2/projects/demo/locations/europe-west1/"
                 "services?pageToken=tok%2F%2B%3D2",
                 FIX("run-services-page2.http"));
    assert_int_equal(
        dl_gcp_list(c, DL_GCP_RUN, path, "services", add_name, &n, &err), 0);
    assert_string_equal(joined(n.list), "a,b,c");
    json_decref(n.list);
}

static void test_bigquery_tables(void **state)
{
    struct names n = {json_array(), 0};
    struct dl_err err;

    (void)state;
    gcp_test_add(t, "GET",
                 "/bigquery/v2/projects/demo/datasets/staging/tables?"
                 "maxResults=1",
                 FIX("bigquery-tables-page1.http"));
    gcp_test_add(t, "GET",
                 "/bigquery/v2/projects/demo/datasets/staging/tables?"
                 "maxResults=1&pageToken=tmp_1",
                 FIX("bigquery-tables-page2.http"));
    assert_int_equal(dl_gcp_list(c, DL_GCP_BIGQUERY,
                                 "/bigquery/v2/projects/demo/datasets/staging/"
                                 "tables?maxResults=1",
                                 "tables", add_name, &n, &err),
                     0);
    assert_string_equal(joined(n.list),
                        "demo:staging.tmp_1,demo:staging.tmp_2");
    assert_string_equal(gcp_test_req(t, 1)->url,
                        "https://bigquery.googleapis.com/bigquery/v2/projects/"
                        "demo/datasets/staging/tables?maxResults=1&pageToken="
                        "tmp_1");
    json_decref(n.list);
}

static void test_storage(void **state)
{
    struct names n = {json_array(), 0};
    struct dl_err err;

    (void)state;
    gcp_test_add(t, "GET", "/storage/v1/b?project=demo&maxResults=2",
                 FIX("storage-buckets-page1.http"));
    gcp_test_add(t, "GET",
                 "/storage/v1/b?project=demo&maxResults=2&pageToken=Q0FF",
                 FIX("storage-buckets-page2.http"));
    gcp_test_add(t, "GET", "/storage/v1/b/demo-tmp/o?maxResults=1",
                 FIX("storage-objects-empty.http"));
    assert_int_equal(dl_gcp_list(c, DL_GCP_STORAGE,
                                 "/storage/v1/b?project=demo&maxResults=2",
                                 "items", add_name, &n, &err),
                     0);
    assert_string_equal(joined(n.list), "demo-raw,demo-tmp,demo-zzz");
    json_array_clear(n.list);
    /* An empty bucket lists as {"kind": "storage#objects"}. */
    assert_int_equal(dl_gcp_list(c, DL_GCP_STORAGE,
                                 "/storage/v1/b/demo-tmp/o?maxResults=1",
                                 "items", add_name, &n, &err),
                     0);
    assert_int_equal(json_array_size(n.list), 0);
    json_decref(n.list);
}

static void test_firestore_full_last_page(void **state)
{
    struct names n = {json_array(), 0};
    struct dl_err err;
    const char *p = "/v1/projects/demo/databases/(default)/documents/"
                    "heartbeats?pageSize=2";

    (void)state;
    gcp_test_add(t, "GET", p, FIX("firestore-list-page1.http"));
    gcp_test_add(t, "GET",
                 "/v1/projects/demo/databases/(default)/documents/"
                 "heartbeats?pageSize=2&pageToken=CjFwcm9qZWN0cy9kZW1v",
                 FIX("firestore-list-empty.http"));
    assert_int_equal(
        dl_gcp_list(c, DL_GCP_FIRESTORE, p, "documents", add_name, &n, &err),
        0);
    assert_string_equal(joined(n.list), "h1,h2");
    json_decref(n.list);
}

static void test_stop_early_and_errors(void **state)
{
    struct names n = {json_array(), 1};
    struct dl_err err;
    const char *path = "/v2/projects/demo/locations/europe-west1/services";

    (void)state;
    gcp_test_add(t, "GET", path, FIX("run-services-page1.http"));
    assert_int_equal(
        dl_gcp_list(c, DL_GCP_RUN, path, "services", add_name, &n, &err), 0);
    assert_string_equal(joined(n.list), "a");
    assert_int_equal(dl_http_replay_count(t), 1);

    n.stop_at = 0;
    json_array_clear(n.list);
    gcp_test_add(t, "GET", path, FIX("run-services-page1.http"));
    gcp_test_add(t, "GET", path, FIX("error-403.http"));
    /* (the second page's path has a pageToken: this rule does not match
     * it, the next one does) */
    gcp_test_add(t, "GET",
                 "/v2/projects/demo/locations/europe-west1/"
                 "services?pageToken=*",
                 FIX("error-403.http"));
    assert_int_equal(
        dl_gcp_list(c, DL_GCP_RUN, path, "services", add_name, &n, &err),
        DL_EAUTH);
    assert_string_equal(joined(n.list), "a,b");
    assert_string_equal(err.google_status, "PERMISSION_DENIED");
    /* use the rule left over */
    assert_int_equal(dl_gcp_call(c, DL_GCP_RUN, "GET", path, NULL, NULL, &err),
                     DL_EAUTH);
    json_decref(n.list);
}

/* A page of the wrong shape fails the list: taken for an empty (or
 * shorter) list it would make existing resources look missing. */
static void test_malformed_pages(void **state)
{
    static const struct {
        const char *body, *msg;
    } cases[] = {
        {"{\"services\": {\"name\": \"a\"}}",
         "GET /v1/x: malformed answer: \"services\" is not an array"},
        {"{\"services\": [{\"name\": \"a\"}, \"b\"]}",
         "GET /v1/x: malformed answer: \"services\"[1] is not an object"},
        {"{\"services\": [], \"nextPageToken\": 7}",
         "GET /v1/x: malformed answer: \"nextPageToken\" is not a string"},
    };
    struct names n = {json_array(), 0};
    struct dl_err err;
    char text[256];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(text, sizeof(text), "HTTP/1.1 200 OK\r\n\r\n%s",
                 cases[i].body);
        assert_int_equal(dl_http_replay_add_text(t, "GET", "/v1/x", text,
                                                 strlen(text), &err),
                         0);
        json_array_clear(n.list);
        assert_int_equal(
            dl_gcp_list(c, DL_GCP_RUN, "/v1/x", "services", add_name, &n, &err),
            DL_EINVALID);
        assert_string_equal(err.msg, cases[i].msg);
        assert_int_equal(json_array_size(n.list), 0);
    }
    json_decref(n.list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_run_services, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bigquery_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_storage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_firestore_full_last_page, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stop_early_and_errors, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_malformed_pages, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
