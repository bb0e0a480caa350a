/* Plan JSON: round trips, strict reading with exact messages, robustness. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "plan/plan_json.h"
#include "util/alloc.h"
#include "util/buf.h"

#define FIXTURES DL_SOURCE_DIR "/tests/fixtures/plan/"

static const char *const cases[] = {
    "heartbeat-fix-missing",
    "other-dockerfile",
    "missing-iam-member",
    "heartbeat-docs",
    "heartbeat-docs-capped",
    "staging-tables",
    "empty-buckets",
    "error-resource",
    "in-sync",
    "report-only",
    "secret-env",
    "orphan-prune",
    "mixed",
    NULL,
};

static char *read_fixture(const char *case_name, size_t *len)
{
    char *path = dl_asprintf("%s%s.plan.json", FIXTURES, case_name);
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    char chunk[4096];
    size_t n;
    FILE *f = fopen(path, "rb");

    if (!f)
        fail_msg("cannot open %s", path);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(dl_buf_put(&b, chunk, n), 0);
    fclose(f);
    free(path);
    *len = b.len;
    return dl_buf_take(&b);
}

static char *write_plan(const struct dl_plan *p)
{
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_err err;

    if (dl_plan_to_json(p, &b, &err) < 0)
        fail_msg("write: %s", err.msg);
    return dl_buf_take(&b);
}

static struct dl_plan *read_plan(const char *text)
{
    struct dl_plan *p = NULL;
    struct dl_err err;

    if (dl_plan_from_json(&p, text, strlen(text), &err) < 0)
        fail_msg("read: %s\n%s", err.msg, text);
    return p;
}

/* write -> read -> write is byte-identical for every fixture. */
static void test_round_trip_fixtures(void **state)
{
    (void)state;
    for (size_t i = 0; cases[i]; i++) {
        size_t len;
        char *in = read_fixture(cases[i], &len);
        struct dl_plan *p = read_plan(in), *q;
        char *a = write_plan(p), *b;

        q = read_plan(a);
        b = write_plan(q);
        assert_string_equal(a, b);
        free(in);
        free(a);
        free(b);
        dl_plan_free(p);
        dl_plan_free(q);
    }
}

/* The writer goes a resource at a time; its bytes are what jansson gives
 * for the whole plan as one tree (what it wrote before), for every fixture
 * and for a plan without resources. */
static void check_whole_tree(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    char *whole;
    size_t n;

    if (!j)
        fail_msg("not JSON: %s", je.text);
    whole = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    n = strlen(whole);
    assert_int_equal(strlen(text), n + 1);
    assert_memory_equal(text, whole, n);
    assert_int_equal(text[n], '\n');
    free(whole);
    json_decref(j);
}

static void test_written_as_whole_tree(void **state)
{
    struct dl_plan *empty = dl_plan_new();
    char *a;

    (void)state;
    for (size_t i = 0; cases[i]; i++) {
        size_t len;
        char *in = read_fixture(cases[i], &len);
        struct dl_plan *p = read_plan(in);

        a = write_plan(p);
        check_whole_tree(a);
        free(a);
        free(in);
        dl_plan_free(p);
    }
    dl_plan_set_source(empty, "file:///r", "", "", "", 0);
    a = write_plan(empty);
    assert_non_null(strstr(a, "\"resources\": [],"));
    check_whole_tree(a);
    free(a);
    dl_plan_free(empty);
}

/* A plan built in code with every feature round-trips too. */
static void test_round_trip_built(void **state)
{
    struct dl_plan *p = dl_plan_new(), *q;
    struct dl_plan_resource *r;
    struct dl_plan_hygiene *h;
    json_t *nested = json_pack("{s:[i,f,b,n],s:{s:s}}", "a", 1, 0.1, 1, "o",
                               "k", "caf\xc3\xa9 \xe2\x86\x92");
    char *a, *b;

    (void)state;
    dl_plan_set_source(p, "file:///repo", "refs/heads/x", "", "", 1);
    p->created_at = INT64_C(1796007600123456789);
    r = dl_plan_add_resource(p, "proj", "CloudRunService", "svc");
    r->mode = DL_PLAN_MODE_ENFORCE;
    r->status = DL_PLAN_STATUS_DRIFTED;
    r->action = DL_PLAN_ACTION_UPDATE;
    dl_plan_resource_set_defined_at(r, "dir with: colon/f.yaml", 12, "abc");
    dl_plan_resource_add_change(r, "nested", nested, json_null(), 0);
    dl_plan_resource_add_change(r, "added", NULL, json_real(2.5), 0);
    dl_plan_resource_add_change(r, "removed", json_string("x\n\"y\""), NULL, 0);
    dl_plan_resource_add_change(r, "secret", json_string("pw"),
                                json_string("pw2"), 1);
    json_object_set_new(r->preconditions, "etag", json_string("\"e1\""));
    dl_plan_resource_add_note(r, "note with unicode \xe2\x9c\x93");
    r = dl_plan_add_resource(p, "proj", "FirestoreCollectionPolicy", "hb");
    r->mode = DL_PLAN_MODE_ENFORCE;
    r->status = DL_PLAN_STATUS_DRIFTED;
    r->action = DL_PLAN_ACTION_DELETE;
    h = dl_plan_resource_hygiene(r);
    dl_plan_hygiene_set_unit(h, "documents");
    h->total = 9;
    h->violating = 7;
    h->id_format = 3;
    h->stale = 4;
    h->over_limit = 2;
    h->empty = 1;
    h->planned_deletes = 7;
    h->cap = 8;
    h->cap_is_default = 0;
    h->still_over_limit_after = 1;
    dl_plan_hygiene_add_sample(h, "doc-1");
    r = dl_plan_add_resource(p, "proj", "CloudRunService", "old");
    r->status = DL_PLAN_STATUS_DRIFTED;
    r->action = DL_PLAN_ACTION_REPORT;
    r->orphan = 1;
    r = dl_plan_add_resource(p, "proj", "IAMPolicyMember", "m");
    dl_plan_resource_set_error(r, "PERMISSION_DENIED");

    a = write_plan(p);
    q = read_plan(a);
    b = write_plan(q);
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "\"created_at\": "
                              "\"2026-11-30T03:00:00.123456789Z\""));
    assert_non_null(strstr(a, "\"defined_at\": "
                              "\"dir with: colon/f.yaml:12\""));
    assert_null(strstr(a, "pw"));
    /* Sorted by address in the output, in text order once read. */
    assert_string_equal(q->resources[0]->name, "old");
    assert_string_equal(q->resources[2]->name, "hb");
    /* null and absent stay apart. */
    r = q->resources[1];
    assert_string_equal(r->name, "svc");
    assert_string_equal(r->defined_file, "dir with: colon/f.yaml");
    assert_int_equal(r->defined_line, 12);
    assert_true(json_is_null(r->changes[0].after));
    assert_null(r->changes[1].before);
    assert_null(r->changes[2].after);
    assert_int_equal(r->changes[3].sensitive, 1);
    assert_true(
        json_equal(r->changes[0].before, p->resources[0]->changes[0].before));
    assert_int_equal(q->resources[2]->hygiene->still_over_limit_after, 1);
    assert_int_equal(q->resources[0]->orphan, 1);
    assert_string_equal(q->resources[3]->error, "PERMISSION_DENIED");
    assert_int_equal(q->created_at, p->created_at);
    assert_int_equal(q->source.dirty, 1);
    free(a);
    free(b);
    dl_plan_free(p);
    dl_plan_free(q);
}

/* Invalid UTF-8 from an API is written as U+FFFD, never refused. */
static void test_invalid_utf8(void **state)
{
    struct dl_plan *p = dl_plan_new(), *q;
    char *a;

    (void)state;
    dl_plan_add_resource(p, "proj", "K", "bad\xff\xc3name");
    a = write_plan(p);
    assert_non_null(strstr(a, "bad\xef\xbf\xbd\xef\xbf\xbdname"));
    q = read_plan(a);
    assert_string_equal(q->resources[0]->name,
                        "bad\xef\xbf\xbd\xef\xbf\xbdname");
    free(a);
    dl_plan_free(p);
    dl_plan_free(q);
}

static const char base[] =
    "{\"format_version\":\"1\","
    "\"source\":{\"url\":\"u\",\"ref\":\"main\",\"commit\":\"abc\","
    "\"path\":\"ds\",\"dirty\":false},"
    "\"created_at\":\"2026-11-29T03:00:00Z\","
    "\"resources\":[{\"address\":\"p/FirestoreCollectionPolicy/hb\","
    "\"kind\":\"FirestoreCollectionPolicy\",\"name\":\"hb\",\"project\":\"p\","
    "\"defined_at\":\"ds/hb.yaml:4\",\"defined_in_commit\":\"abc\","
    "\"mode\":\"enforce\",\"status\":\"drifted\",\"action\":\"delete\","
    "\"changes\":[{\"path\":\"x\",\"before\":1,\"after\":2}],"
    "\"preconditions\":{\"n\":3},"
    "\"hygiene\":{\"unit\":\"documents\",\"total\":10,"
    "\"violating\":{\"total\":5,\"id_format\":5},\"planned_deletes\":5,"
    "\"cap\":1000,\"cap_is_default\":true,\"still_over_limit_after\":0,"
    "\"samples\":[\"a\"]},\"notes\":[\"n1\"]}],"
    "\"summary\":{\"resources\":1,\"in_sync\":0,\"create\":0,\"update\":0,"
    "\"delete\":5,\"report\":0,\"error\":0}}";

/* Set (or with value NULL delete) the member at a dotted path. */
static void mutate(json_t *root, const char *path, const char *value)
{
    char *copy = dl_strdup(path), *save = NULL, *seg, *next;
    json_t *cur = root, *v = NULL;

    if (value) {
        json_error_t je;

        v = json_loads(value, JSON_DECODE_ANY, &je);
        if (!v)
            fail_msg("bad test value %s: %s", value, je.text);
    }
    seg = strtok_r(copy, ".", &save);
    while ((next = strtok_r(NULL, ".", &save)) != NULL) {
        cur = json_is_array(cur) ? json_array_get(cur, (size_t)atoi(seg))
                                 : json_object_get(cur, seg);
        assert_non_null(cur);
        seg = next;
    }
    if (json_is_array(cur)) {
        assert_int_equal(json_array_set_new(cur, (size_t)atoi(seg), v), 0);
    } else if (v) {
        assert_int_equal(json_object_set_new(cur, seg, v), 0);
    } else {
        assert_int_equal(json_object_del(cur, seg), 0);
    }
    free(copy);
}

static const struct {
    const char *path, *value; /* value NULL: delete */
    const char *msg;
} errors[] = {
    {"format_version", "\"2\"",
     "unsupported plan format_version '2' (want '1')"},
    {"format_version", "1", "format_version: expected string, got integer"},
    {"format_version", NULL, "missing key 'format_version'"},
    {"extra", "1", "unknown key 'extra'"},
    {"a\nb", "1", "unknown key 'a b'"},
    {"resources.0.mode", "\"x\\u001b[31m\"",
     "resources[0].mode: unknown value 'x?[31m' (want enforce, report)"},
    {"source", NULL, "missing key 'source'"},
    {"source", "[]", "source: expected object, got array"},
    {"source.dirty", "\"no\"", "source.dirty: expected boolean, got string"},
    {"source.url", NULL, "source: missing key 'url'"},
    {"source.extra", "null", "source: unknown key 'extra'"},
    {"created_at", "5", "created_at: expected string, got integer"},
    {"created_at", "\"1014-11-29T03:00:00Z\"",
     "created_at: timestamp '1014-11-29T03:00:00Z' is out of range (want "
     "years 1678 to 2261)"},
    {"resources", "{}", "resources: expected array, got object"},
    {"resources.0", "\"x\"", "resources[0]: expected object, got string"},
    {"resources.0.status", "\"orphan\"",
     "resources[0].status: unknown value 'orphan' (want in_sync, drifted, "
     "missing, error)"},
    {"resources.0.action", "\"destroy\"",
     "resources[0].action: unknown value 'destroy' (want none, create, "
     "update, delete, report)"},
    {"resources.0.mode", "\"auto\"",
     "resources[0].mode: unknown value 'auto' (want enforce, report)"},
    {"resources.0.mode", "true",
     "resources[0].mode: expected string, got "
     "boolean"},
    {"resources.0.name", NULL, "resources[0]: missing key 'name'"},
    {"resources.0.bogus", "1", "resources[0]: unknown key 'bogus'"},
    {"resources.0.address", "\"p/X/hb\"",
     "resources[0].address: 'p/X/hb' does not match project/kind/name "
     "'p/FirestoreCollectionPolicy/hb'"},
    {"resources.0.defined_at", "\"nofile\"",
     "resources[0].defined_at: 'nofile' is not file:line"},
    {"resources.0.defined_at", "\"f.yaml:0\"",
     "resources[0].defined_at: 'f.yaml:0' is not file:line"},
    {"resources.0.defined_at", "\"f.yaml:3x\"",
     "resources[0].defined_at: 'f.yaml:3x' is not file:line"},
    {"resources.0.defined_at", "\":3\"",
     "resources[0].defined_at: ':3' is not file:line"},
    {"resources.0.defined_at", "\"f:99999999999\"",
     "resources[0].defined_at: 'f:99999999999' is not file:line"},
    {"resources.0.orphan", "1",
     "resources[0].orphan: expected boolean, got integer"},
    {"resources.0.changes", "{}",
     "resources[0].changes: expected array, got object"},
    {"resources.0.changes.0.path", NULL,
     "resources[0].changes[0]: missing key 'path'"},
    {"resources.0.changes.0.extra", "1",
     "resources[0].changes[0]: unknown key 'extra'"},
    {"resources.0.changes.0.sensitive", "\"yes\"",
     "resources[0].changes[0].sensitive: expected boolean, got string"},
    {"resources.0.preconditions", "[]",
     "resources[0].preconditions: expected object, got array"},
    {"resources.0.preconditions", NULL,
     "resources[0]: missing key 'preconditions'"},
    {"resources.0.hygiene.total", "-1",
     "resources[0].hygiene.total: -1 is negative"},
    {"resources.0.hygiene.cap", "1.5",
     "resources[0].hygiene.cap: expected integer, got number"},
    {"resources.0.hygiene.cap_is_default", NULL,
     "resources[0].hygiene: missing key 'cap_is_default'"},
    {"resources.0.hygiene.violating.extra", "1",
     "resources[0].hygiene.violating: unknown key 'extra'"},
    {"resources.0.hygiene.violating.total", NULL,
     "resources[0].hygiene.violating: missing key 'total'"},
    {"resources.0.hygiene.samples",
     "[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\"]",
     "resources[0].hygiene.samples: 11 samples, more than 10"},
    {"resources.0.hygiene.samples", "[1]",
     "resources[0].hygiene.samples[0]: expected string, got integer"},
    {"resources.0.hygiene.planned_deletes", "6",
     "resources[0] (p/FirestoreCollectionPolicy/hb): hygiene planned_deletes "
     "6 is more than violating 5 or cap 1000"},
    {"resources.0.notes", "[1]",
     "resources[0].notes[0]: expected string, got integer"},
    {"resources.0.error", "5",
     "resources[0].error: expected string, got integer"},
    {"resources.0.status", "\"in_sync\"",
     "resources[0] (p/FirestoreCollectionPolicy/hb): status 'in_sync' does "
     "not allow action 'delete'"},
    {"resources.0.mode", "\"report\"",
     "resources[0] (p/FirestoreCollectionPolicy/hb): mode 'report' does not "
     "allow action 'delete'"},
    {"summary.delete", "4",
     "summary.delete: 4 does not match the resources "
     "(5)"},
    {"summary.in_sync", "1",
     "summary.in_sync: 1 does not match the "
     "resources (0)"},
    {"summary.delete", NULL, "summary: missing key 'delete'"},
    {"summary.extra", "0", "summary: unknown key 'extra'"},
    {"summary", "[]", "summary: expected object, got array"},
};

static void test_errors(void **state)
{
    json_error_t je;

    (void)state;
    /* The base itself is valid. */
    dl_plan_free(read_plan(base));
    for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
        json_t *root = json_loads(base, 0, &je);
        struct dl_plan *p = (struct dl_plan *)1;
        struct dl_err err;
        char *text;
        int rc;

        assert_non_null(root);
        mutate(root, errors[i].path, errors[i].value);
        text = json_dumps(root, JSON_COMPACT);
        rc = dl_plan_from_json(&p, text, strlen(text), &err);
        if (rc != DL_EINVALID || strcmp(err.msg, errors[i].msg) != 0)
            fail_msg("case %zu (%s): rc %d, message\n  got:  %s\n  want: %s", i,
                     errors[i].path, rc, err.msg, errors[i].msg);
        assert_null(p);
        free(text);
        json_decref(root);
    }
}

static void expect_invalid(const char *text, size_t len, const char *prefix)
{
    struct dl_plan *p = NULL;
    struct dl_err err;

    assert_int_equal(dl_plan_from_json(&p, text, len, &err), DL_EINVALID);
    assert_null(p);
    if (strncmp(err.msg, prefix, strlen(prefix)) != 0)
        fail_msg("message '%s' does not start with '%s'", err.msg, prefix);
}

static void test_syntax_errors(void **state)
{
    struct dl_buf deep = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_plan *p = NULL;
    struct dl_err err;
    char *dup;

    (void)state;
    expect_invalid("", 0, "plan JSON: line 1 column 0: ");
    expect_invalid("[]", 2, "plan JSON: expected an object, got array");
    expect_invalid("\"1\"", 3, "plan JSON: line 1 column 3: ");
    expect_invalid("{\"a\":1,\"a\":2}", 13, "plan JSON: line 1 column ");
    expect_invalid("{\"format_version\":\"1\"} x", 25,
                   "plan JSON: line 1 column ");
    expect_invalid("{\"format_version\":\"1\\u0000\"}", 28,
                   "plan JSON: line 1 column ");
    /* Duplicate keys are refused, not silently merged. */
    dup = dl_asprintf("%.*s,\"format_version\":\"1\"}", (int)(sizeof(base) - 2),
                      base);
    expect_invalid(dup, strlen(dup), "plan JSON: line 1 column ");
    assert_non_null(strstr(err.msg, "") /* silence */);
    free(dup);
    /* Nesting beyond jansson's own cap (2048) is an error, not a crash. */
    for (int i = 0; i < 5000; i++)
        assert_int_equal(dl_buf_putc(&deep, '['), 0);
    expect_invalid(deep.ptr, deep.len, "plan JSON: line 1 column ");
    dl_buf_dispose(&deep);
    /* Nesting below that but beyond the plan's value cap. */
    {
        json_error_t je;
        json_t *root = json_loads(base, 0, &je);
        json_t *v = json_integer(1);
        char *text;

        for (int i = 0; i < DL_PLAN_JSON_MAX_DEPTH; i++)
            v = json_pack("[o]", v);
        json_object_set_new(
            json_array_get(json_object_get(root, "resources"), 0),
            "preconditions", json_pack("{s:o}", "x", v));
        text = json_dumps(root, JSON_COMPACT);
        expect_invalid(text, strlen(text),
                       "resources[0].preconditions: nested deeper than 32 "
                       "levels");
        free(text);
        json_decref(root);
    }
    /* Too long: refused before it is read. */
    assert_int_equal(dl_plan_from_json(&p, base, DL_PLAN_JSON_MAX + 1, &err),
                     DL_ELIMIT);
    assert_string_equal(err.msg, "plan JSON is 67108865 bytes, over the "
                                 "limit of 67108864");
    assert_null(p);
}

/* Every strict prefix of a valid plan is refused cleanly. */
static void test_truncated(void **state)
{
    size_t len;
    char *text = read_fixture("mixed", &len);

    (void)state;
    assert_true(len > 2000);
    for (size_t n = 0; n < len - 2; n += n < 1500 ? 1 : 11) {
        struct dl_plan *p = NULL;
        struct dl_err err;

        dl_err_clear(&err);
        /* Copy so that reading past n would be caught by valgrind/ASan. */
        char *cut = dl_strndup(text, n);

        assert_int_equal(dl_plan_from_json(&p, cut, n, &err), DL_EINVALID);
        assert_null(p);
        assert_true(err.msg[0] != '\0');
        free(cut);
    }
    free(text);
}

/* Garbage and mutated plans: never a crash; success always re-writes. */
static void test_garbage(void **state)
{
    size_t len;
    char *text = read_fixture("heartbeat-fix-missing", &len);
    unsigned long long seed = 42;
    static const char alphabet[] = "{}[]\":,0123456789.-eE truefalsnl\\u";
    int accepted = 0;

    (void)state;
    for (int round = 0; round < 3000; round++) {
        char *buf = dl_malloc(len + 1);
        size_t n = len;
        struct dl_plan *p = NULL;
        struct dl_err err;
        int rc;

        memcpy(buf, text, len);
        for (int k = 0; k < 1 + round % 4; k++) {
            size_t pos;

            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            pos = (size_t)(seed >> 33) % len;
            buf[pos] = round % 2
                           ? alphabet[(seed >> 20) % (sizeof(alphabet) - 1)]
                           : (char)(seed >> 24);
        }
        if (round % 5 == 0) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            n = (size_t)(seed >> 33) % (len + 1);
        }
        rc = dl_plan_from_json(&p, buf, n, &err);
        if (rc == 0) {
            char *w = write_plan(p);

            dl_plan_free(read_plan(w));
            free(w);
            dl_plan_free(p);
            accepted++;
        } else {
            assert_true(rc == DL_EINVALID);
            assert_null(p);
            assert_true(err.msg[0] != '\0');
        }
        free(buf);
    }
    /* Some mutations land in strings and stay valid. */
    assert_true(accepted > 0);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_fixtures),
        cmocka_unit_test(test_written_as_whole_tree),
        cmocka_unit_test(test_round_trip_built),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_garbage),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
