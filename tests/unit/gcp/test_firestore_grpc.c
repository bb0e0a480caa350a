#include "gcp_test.h"

#include "gcp/firestore_grpc.h"
#include "gcp/protobuf.h"

static void test_encode_exact(void **state)
{
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_err err;
    json_t *sq =
        json_loads("{\"from\": [{\"collectionId\": \"c\"}],"
                   " \"orderBy\": [{\"field\": {\"fieldPath\": \"__name__\"},"
                   "               \"direction\": \"ASCENDING\"}],"
                   " \"startAt\": {\"values\": [{\"referenceValue\": \"p/x\"}],"
                   "              \"before\": false}}",
                   0, NULL);
    static const char want[] =
        "\x00\x00\x00\x00\x23"             /* frame: 35 bytes */
        "\x0a\x01p"                        /* parent */
        "\x12\x1e"                         /* structured_query: 30 */
        "\x12\x03\x12\x01\x63"             /* from {collection_id} */
        "\x22\x0e\x0a\x0a\x12\x08__name__" /* order_by {field */
        "\x10\x01"                         /* direction ASCENDING} */
        "\x3a\x07\x0a\x05\x2a\x03p/x";     /* start_at {values {reference}} */

    (void)state;
    assert_non_null(sq);
    assert_int_equal(dl_firestore_grpc_encode_query(&b, "p", sq, &err), 0);
    json_decref(sq);
    assert_int_equal(b.len, sizeof(want) - 1);
    assert_memory_equal(b.ptr, want, sizeof(want) - 1);
    dl_buf_dispose(&b);
}

static void test_encode_refused(void **state)
{
    static const char *const bad[] = {
        "{\"where\": {}}",
        "{\"from\": [{\"collectionId\": \"c\", \"x\": 1}]}",
        "{\"orderBy\": [{\"field\": {\"fieldPath\": \"a\"},"
        " \"direction\": \"UP\"}]}",
        "{\"startAt\": {\"values\": [{\"timestampValue\": \"x\"}]}}",
        "{\"limit\": -1}",
        "[]",
    };
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_err err;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *sq = json_loads(bad[i], JSON_DECODE_ANY, NULL);

        assert_non_null(sq);
        assert_int_equal(dl_firestore_grpc_encode_query(&b, "p", sq, &err),
                         DL_EINVALID);
        assert_int_equal(b.len, 0);
        json_decref(sq);
    }
    dl_buf_dispose(&b);
}

/* A map<string, Value> entry of one Value (already encoded). */
static void put_entry(struct dl_buf *b, uint32_t field, const char *key,
                      const struct dl_buf *value)
{
    struct dl_buf e = DL_BUF_INIT(DL_BUF_NOCAP);

    dl_pb_put_string(&e, 1, key);
    dl_pb_put_bytes(&e, 2, value->ptr, value->len);
    dl_pb_put_bytes(b, field, e.ptr, e.len);
    dl_buf_dispose(&e);
}

static void put_timestamp(struct dl_buf *b, uint32_t field, int64_t secs,
                          int32_t nanos)
{
    struct dl_buf t = DL_BUF_INIT(DL_BUF_NOCAP);

    dl_pb_put_uint(&t, 1, (uint64_t)secs);
    if (nanos)
        dl_pb_put_uint(&t, 2, (uint64_t)nanos);
    dl_pb_put_bytes(b, field, t.ptr, t.len);
    dl_buf_dispose(&t);
}

/* A RunQueryResponse with a document of several Value kinds. */
static void response(struct dl_buf *out)
{
    struct dl_buf doc = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_buf v = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_buf arr = DL_BUF_INIT(DL_BUF_NOCAP);
    double half = 0.5;
    uint64_t bits;

    dl_pb_put_string(&doc, 1, "projects/p/databases/(default)/documents/c/d");
    put_timestamp(&v, 10, 1704164645, 120000000);
    put_entry(&doc, 2, "ts", &v);
    dl_buf_reset(&v);
    dl_pb_put_uint(&v, 2, (uint64_t)-5);
    put_entry(&doc, 2, "n", &v);
    dl_buf_reset(&v);
    memcpy(&bits, &half, sizeof(bits));
    dl_pb_put_fixed64(&v, 3, bits);
    put_entry(&doc, 2, "d", &v);
    dl_buf_reset(&v);
    dl_pb_put_string(&v, 17, "h\xc3\xa9");
    put_entry(&doc, 2, "s", &v);
    dl_buf_reset(&v);
    dl_pb_put_bytes(&v, 18, "\x00\x01\x02\xff", 4);
    put_entry(&doc, 2, "b", &v);
    dl_buf_reset(&v);
    dl_pb_put_uint(&v, 11, 0);
    dl_pb_put_bytes(&arr, 1, v.ptr, v.len); /* [null] */
    dl_buf_reset(&v);
    dl_pb_put_bytes(&v, 9, arr.ptr, arr.len);
    put_entry(&doc, 2, "a", &v);
    dl_buf_reset(&v);
    dl_pb_put_bytes(&v, 6, "", 0); /* {} */
    put_entry(&doc, 2, "m", &v);
    dl_pb_put_uint(&doc, 99, 7); /* unknown: skipped */
    put_timestamp(&doc, 3, 0, 0);
    put_timestamp(&doc, 4, 1704164645, 123456789);
    dl_pb_put_bytes(out, 1, doc.ptr, doc.len);
    put_timestamp(out, 3, 1704164645, 0); /* read_time */
    dl_pb_put_uint(out, 6, 1);            /* done */
    dl_buf_dispose(&doc);
    dl_buf_dispose(&v);
    dl_buf_dispose(&arr);
}

static void test_decode(void **state)
{
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_firestore_element el;
    struct dl_err err;
    json_t *want = json_loads(
        "{\"name\": \"projects/p/databases/(default)/documents/c/d\","
        " \"fields\": {"
        "  \"ts\": {\"timestampValue\": \"2024-01-02T03:04:05.120Z\"},"
        "  \"n\": {\"integerValue\": \"-5\"},"
        "  \"d\": {\"doubleValue\": 0.5},"
        "  \"s\": {\"stringValue\": \"h\\u00e9\"},"
        "  \"b\": {\"bytesValue\": \"AAEC/w==\"},"
        "  \"a\": {\"arrayValue\": {\"values\": [{\"nullValue\": null}]}},"
        "  \"m\": {\"mapValue\": {}}},"
        " \"createTime\": \"1970-01-01T00:00:00Z\","
        " \"updateTime\": \"2024-01-02T03:04:05.123456789Z\"}",
        0, NULL);

    (void)state;
    assert_non_null(want);
    response(&b);
    assert_int_equal(dl_firestore_grpc_decode_response(
                         &el, (const uint8_t *)b.ptr, b.len, &err),
                     0);
    assert_true(el.done);
    assert_null(el.error);
    if (!json_equal(el.document, want)) {
        char *s = json_dumps(el.document, JSON_SORT_KEYS);

        fprintf(stderr, "decoded %s\n", s);
        free(s);
        fail();
    }
    dl_firestore_element_dispose(&el);
    /* an empty message: no document, not done */
    assert_int_equal(dl_firestore_grpc_decode_response(&el, NULL, 0, &err), 0);
    assert_null(el.document);
    assert_false(el.done);
    dl_firestore_element_dispose(&el);
    json_decref(want);
    dl_buf_dispose(&b);
}

static void test_decode_malformed(void **state)
{
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_buf v = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_buf doc = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_firestore_element el;
    struct dl_err err;
    size_t nerr = 0;

    (void)state;
    response(&b);
    /* every truncation and every byte flipped: an answer or an error,
     * never a crash (valgrind and ASan check the reads) */
    for (size_t n = 0; n < b.len; n++) {
        if (dl_firestore_grpc_decode_response(&el, (const uint8_t *)b.ptr, n,
                                              &err) < 0)
            nerr++;
        dl_firestore_element_dispose(&el);
    }
    assert_true(nerr > b.len / 2);
    for (size_t i = 0; i < b.len; i++) {
        char saved = b.ptr[i];

        b.ptr[i] = (char)(b.ptr[i] ^ 0xa5);
        if (dl_firestore_grpc_decode_response(&el, (const uint8_t *)b.ptr,
                                              b.len, &err) < 0)
            nerr++;
        dl_firestore_element_dispose(&el);
        b.ptr[i] = saved;
    }
    /* invalid UTF-8 in a string */
    dl_pb_put_string(&v, 17, "\xc3");
    put_entry(&doc, 2, "s", &v);
    dl_buf_reset(&b);
    dl_pb_put_bytes(&b, 1, doc.ptr, doc.len);
    assert_int_equal(dl_firestore_grpc_decode_response(
                         &el, (const uint8_t *)b.ptr, b.len, &err),
                     DL_EINVALID);
    dl_firestore_element_dispose(&el);
    /* a timestamp past 9999 and negative nanos */
    dl_buf_reset(&doc);
    dl_buf_reset(&b);
    put_timestamp(&doc, 4, 253402300800, 0);
    dl_pb_put_bytes(&b, 1, doc.ptr, doc.len);
    assert_int_equal(dl_firestore_grpc_decode_response(
                         &el, (const uint8_t *)b.ptr, b.len, &err),
                     DL_EINVALID);
    dl_firestore_element_dispose(&el);
    dl_buf_reset(&doc);
    dl_buf_reset(&b);
    put_timestamp(&doc, 4, 0, -1);
    dl_pb_put_bytes(&b, 1, doc.ptr, doc.len);
    assert_int_equal(dl_firestore_grpc_decode_response(
                         &el, (const uint8_t *)b.ptr, b.len, &err),
                     DL_EINVALID);
    dl_firestore_element_dispose(&el);
    dl_buf_dispose(&v);
    dl_buf_dispose(&doc);
    dl_buf_dispose(&b);
}

/* A document whose field holds arrays nested depth deep. */
static int decode_nested(int depth)
{
    struct dl_buf v = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_buf w = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_buf doc = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_firestore_element el;
    struct dl_err err;
    int rc;

    dl_pb_put_uint(&v, 1, 1); /* true */
    for (int i = 0; i < depth; i++) {
        struct dl_buf arr = DL_BUF_INIT(DL_BUF_NOCAP);

        dl_pb_put_bytes(&arr, 1, v.ptr, v.len);
        dl_buf_reset(&w);
        dl_pb_put_bytes(&w, 9, arr.ptr, arr.len);
        dl_buf_reset(&v);
        (void)dl_buf_put(&v, w.ptr, w.len);
        dl_buf_dispose(&arr);
    }
    put_entry(&doc, 2, "deep", &v);
    dl_buf_reset(&w);
    dl_pb_put_bytes(&w, 1, doc.ptr, doc.len);
    rc = dl_firestore_grpc_decode_response(&el, (const uint8_t *)w.ptr, w.len,
                                           &err);
    dl_firestore_element_dispose(&el);
    dl_buf_dispose(&v);
    dl_buf_dispose(&w);
    dl_buf_dispose(&doc);
    return rc;
}

static void test_decode_depth(void **state)
{
    (void)state;
    assert_int_equal(decode_nested(10), 0);
    assert_int_equal(decode_nested(64), 0);
    assert_int_equal(decode_nested(200), DL_EINVALID);
}

struct msgs {
    size_t n, bytes;
};

static int count_msg(void *ud, const uint8_t *p, size_t len)
{
    struct msgs *m = ud;

    (void)p;
    m->n++;
    m->bytes += len;
    return 0;
}

static void test_framer(void **state)
{
    /* three messages: 3 bytes, empty, 2 bytes */
    static const char s[] = "\x00\x00\x00\x00\x03"
                            "abc"
                            "\x00\x00\x00\x00\x00"
                            "\x00\x00\x00\x00\x02"
                            "de";
    struct dl_grpc_framer f;
    struct msgs m = {0, 0};
    struct dl_err err;

    (void)state;
    /* in one piece, then byte by byte */
    dl_grpc_framer_init(&f, 16, count_msg, &m);
    assert_int_equal(dl_grpc_framer_feed(&f, s, sizeof(s) - 1, &err), 0);
    assert_int_equal(dl_grpc_framer_finish(&f, &err), 0);
    for (size_t i = 0; i < sizeof(s) - 1; i++)
        assert_int_equal(dl_grpc_framer_feed(&f, s + i, 1, &err), 0);
    assert_int_equal(dl_grpc_framer_finish(&f, &err), 0);
    assert_int_equal(m.n, 6);
    assert_int_equal(m.bytes, 10);
    /* cut inside the prefix, inside a message */
    assert_int_equal(dl_grpc_framer_feed(&f, s, 2, &err), 0);
    assert_int_equal(dl_grpc_framer_finish(&f, &err), DL_ETRANSIENT);
    dl_grpc_framer_dispose(&f);
    dl_grpc_framer_init(&f, 16, count_msg, &m);
    assert_int_equal(dl_grpc_framer_feed(&f, s, 7, &err), 0);
    assert_int_equal(dl_grpc_framer_finish(&f, &err), DL_ETRANSIENT);
    dl_grpc_framer_dispose(&f);
    /* compressed, too large */
    dl_grpc_framer_init(&f, 2, count_msg, &m);
    assert_int_equal(dl_grpc_framer_feed(&f, "\x01\x00\x00\x00\x00", 5, &err),
                     DL_EINVALID);
    dl_grpc_framer_dispose(&f);
    dl_grpc_framer_init(&f, 2, count_msg, &m);
    assert_int_equal(dl_grpc_framer_feed(&f, s, 5, &err), DL_ELIMIT);
    dl_grpc_framer_dispose(&f);
}

static void test_status(void **state)
{
    struct dl_http_xfer x;
    char msg[64];
    int code = -1;

    (void)state;
    memset(&x, 0, sizeof(x));
    dl_buf_init(&x.head_in, 4096);
    (void)dl_buf_puts(&x.head_in, "HTTP/2 200\r\ncontent-type: "
                                  "application/grpc\r\n\r\n");
    assert_int_equal(dl_grpc_status(&x, &code, msg, sizeof(msg)), 0);
    /* trailers */
    (void)dl_buf_puts(&x.head_in, "grpc-status: 14\r\n"
                                  "grpc-message: going%20away%0Anow%\r\n");
    assert_int_equal(dl_grpc_status(&x, &code, msg, sizeof(msg)), 1);
    assert_int_equal(code, 14);
    assert_string_equal(msg, "going away now%");
    dl_buf_reset(&x.head_in);
    (void)dl_buf_puts(&x.head_in, "grpc-status: banana\r\n");
    assert_int_equal(dl_grpc_status(&x, &code, msg, sizeof(msg)), 1);
    assert_int_equal(code, 2); /* UNKNOWN */
    assert_string_equal(msg, "");
    dl_buf_dispose(&x.head_in);
}

static void test_protocol_parse(void **state)
{
    enum dl_firestore_protocol p;
    struct dl_err err;

    (void)state;
    assert_int_equal(dl_firestore_protocol_parse(NULL, &p, &err), 0);
    assert_int_equal(p, DL_FIRESTORE_AUTO);
    assert_int_equal(dl_firestore_protocol_parse("grpc", &p, &err), 0);
    assert_int_equal(p, DL_FIRESTORE_GRPC);
    assert_int_equal(dl_firestore_protocol_parse("rest", &p, &err), 0);
    assert_int_equal(p, DL_FIRESTORE_REST);
    assert_int_equal(dl_firestore_protocol_parse("http3", &p, &err),
                     DL_EINVALID);
    assert_non_null(strstr(err.msg, "'http3'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_exact),
        cmocka_unit_test(test_encode_refused),
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_decode_malformed),
        cmocka_unit_test(test_decode_depth),
        cmocka_unit_test(test_framer),
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_protocol_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
