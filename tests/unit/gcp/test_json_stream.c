#include "gcp_test.h"

#include "gcp/json_stream.h"

struct collect {
    json_t *all;
    int stop_after;
};

static int collect(void *ud, json_t *el)
{
    struct collect *c = ud;

    json_array_append(c->all, el);
    if (c->stop_after && (int)json_array_size(c->all) == c->stop_after)
        return DL_ECANCELLED;
    return 0;
}

/* Feed text in the given pieces; return the elements as one array. */
static json_t *split(const char *text, const size_t *cuts, size_t ncuts,
                     int *rc_out)
{
    struct dl_json_splitter s;
    struct collect c = {json_array(), 0};
    struct dl_err err;
    size_t len = strlen(text), at = 0;
    int rc = 0;

    dl_json_splitter_init(&s, 1 << 20, collect, &c);
    for (size_t i = 0; i <= ncuts && rc == 0; i++) {
        size_t end = i < ncuts ? cuts[i] : len;

        rc = dl_json_splitter_feed(&s, text + at, end - at, &err);
        at = end;
    }
    if (rc == 0)
        rc = dl_json_splitter_finish(&s, &err);
    dl_json_splitter_dispose(&s);
    *rc_out = rc;
    return c.all;
}

static void test_every_boundary(void **state)
{
    char *body = gcp_test_body(FIX("runquery-3.http"));
    json_t *whole = json_loads(body, 0, NULL);
    size_t len = strlen(body);
    int rc;

    (void)state;
    assert_non_null(whole);
    assert_int_equal(json_array_size(whole), 3);
    /* Two pieces, cut at every byte. */
    for (size_t cut = 0; cut <= len; cut++) {
        json_t *got = split(body, &cut, 1, &rc);

        assert_int_equal(rc, 0);
        if (!json_equal(got, whole))
            fail_msg("split at byte %zu differs", cut);
        json_decref(got);
    }
    /* Three pieces: a grid of cut pairs. */
    for (size_t a = 0; a < len; a += 41) {
        for (size_t b = a; b <= len; b += 29) {
            size_t cuts[2] = {a, b};
            json_t *got = split(body, cuts, 2, &rc);

            assert_int_equal(rc, 0);
            assert_true(json_equal(got, whole));
            json_decref(got);
        }
    }
    /* One byte at a time. */
    {
        size_t *cuts = calloc(len, sizeof(*cuts));
        json_t *got;

        for (size_t i = 0; i < len; i++)
            cuts[i] = i + 1;
        got = split(body, cuts, len - 1, &rc);
        assert_int_equal(rc, 0);
        assert_true(json_equal(got, whole));
        json_decref(got);
        free(cuts);
    }
    json_decref(whole);
    free(body);
}

static void test_scalars_and_empty(void **state)
{
    const char *text =
        " [ 1 ,\"a,]\\\"\" ,true,null, -2.5e3 ,{\"x\":[1,{}]},[]]\n";
    json_t *want = json_loads(text, 0, NULL);
    int rc;

    (void)state;
    for (size_t cut = 0; cut <= strlen(text); cut++) {
        json_t *got = split(text, &cut, 1, &rc);

        assert_int_equal(rc, 0);
        if (!json_equal(got, want))
            fail_msg("split at %zu differs", cut);
        json_decref(got);
    }
    json_decref(want);
    {
        json_t *got = split("[]", NULL, 0, &rc);

        assert_int_equal(rc, 0);
        assert_int_equal(json_array_size(got), 0);
        json_decref(got);
    }
}

static void test_errors(void **state)
{
    struct dl_json_splitter s;
    struct collect c = {json_array(), 0};
    struct dl_err err;

    (void)state;
    dl_json_splitter_init(&s, 1024, collect, &c);
    assert_int_equal(dl_json_splitter_feed(&s, " {\"error\":1}", 12, &err),
                     DL_EINVALID);
    assert_string_equal(err.msg,
                        "unexpected '{' at byte 1 (expected a JSON array)");
    dl_json_splitter_dispose(&s);

    dl_json_splitter_init(&s, 1024, collect, &c);
    assert_int_equal(dl_json_splitter_feed(&s, "[1] x", 5, &err), DL_EINVALID);
    assert_string_equal(err.msg,
                        "unexpected 'x' at byte 4 after the end of the array");
    dl_json_splitter_dispose(&s);

    dl_json_splitter_init(&s, 1024, collect, &c);
    assert_int_equal(dl_json_splitter_feed(&s, "[{\"a\":1} {", 10, &err),
                     DL_EINVALID);
    dl_json_splitter_dispose(&s);

    dl_json_splitter_init(&s, 1024, collect, &c);
    assert_int_equal(dl_json_splitter_feed(&s, "[{\"a\":tru}]", 11, &err),
                     DL_EINVALID);
    assert_non_null(strstr(err.msg, "array element 1"));
    dl_json_splitter_dispose(&s);

    dl_json_splitter_init(&s, 1024, collect, &c);
    assert_int_equal(dl_json_splitter_feed(&s, "[{\"a\":1},{\"b\"", 13, &err),
                     0);
    assert_int_equal(dl_json_splitter_finish(&s, &err), DL_ETRANSIENT);
    assert_string_equal(err.msg,
                        "JSON array truncated after 1 elements (13 bytes)");
    dl_json_splitter_dispose(&s);

    dl_json_splitter_init(&s, 8, collect, &c);
    assert_int_equal(dl_json_splitter_feed(&s, "[\"0123456789\"]", 14, &err),
                     DL_ELIMIT);
    assert_string_equal(err.msg, "array element 1 is larger than 8 bytes");
    dl_json_splitter_dispose(&s);

    json_array_clear(c.all);
    c.stop_after = 2;
    dl_json_splitter_init(&s, 64, collect, &c);
    assert_int_equal(dl_json_splitter_feed(&s, "[1,2,3]", 7, &err),
                     DL_ECANCELLED);
    assert_int_equal(json_array_size(c.all), 2);
    dl_json_splitter_dispose(&s);
    json_decref(c.all);
}

static int count_only(void *ud, json_t *el)
{
    (void)el;
    (*(size_t *)ud)++;
    return 0;
}

static void test_bounded_memory(void **state)
{
    /* 50,000 documents in 4 KiB pieces: the element buffer stays the size
     * of one element, whatever the total. */
    struct dl_json_splitter s;
    struct dl_err err;
    char el[256], piece[4096];
    size_t n = 0, fill = 0, total = 0;

    (void)state;
    dl_json_splitter_init(&s, 1 << 20, count_only, &n);
    piece[fill++] = '[';
    for (int i = 0; i < 50000; i++) {
        int len = snprintf(el, sizeof(el),
                           "%s{\"document\":{\"name\":\"projects/p/databases/"
                           "(default)/documents/hb/run-%06d\"},\"readTime\":"
                           "\"2026-11-29T03:00:00Z\"}",
                           i ? "," : "", i);

        for (int k = 0; k < len; k++) {
            piece[fill++] = el[k];
            if (fill == sizeof(piece)) {
                assert_int_equal(dl_json_splitter_feed(&s, piece, fill, &err),
                                 0);
                total += fill;
                fill = 0;
            }
        }
    }
    piece[fill++] = ']';
    assert_int_equal(dl_json_splitter_feed(&s, piece, fill, &err), 0);
    total += fill;
    assert_int_equal(dl_json_splitter_finish(&s, &err), 0);
    assert_int_equal(n, 50000);
    assert_true(total > 5000000);
    assert_true(s.elem.cap <= 256);
    assert_true(s.max_seen < 160);
    dl_json_splitter_dispose(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_boundary),
        cmocka_unit_test(test_scalars_and_empty),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_bounded_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
