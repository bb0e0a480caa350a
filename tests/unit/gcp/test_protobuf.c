#include "gcp_test.h"

#include "gcp/protobuf.h"

static void test_varint_round_trip(void **state)
{
    static const uint64_t vals[] = {0,   1,          127,        128,
                                    300, UINT32_MAX, 1ull << 63, UINT64_MAX};
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_pb_reader r;
    uint64_t v;

    (void)state;
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
        dl_pb_put_varint(&b, vals[i]);
    /* 300 is the classic example: ac 02 */
    assert_memory_equal(b.ptr + 3, "\x80\x01\xac\x02", 4);
    dl_pb_reader_init(&r, b.ptr, b.len);
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        assert_int_equal(dl_pb_varint(&r, &v), 0);
        assert_true(v == vals[i]);
    }
    assert_int_equal(dl_pb_varint(&r, &v), DL_EINVALID); /* at the end */
    /* every truncation of UINT64_MAX's 10 bytes is an error */
    for (size_t n = 0; n < 10; n++) {
        dl_pb_reader_init(&r, b.ptr + b.len - 10, n);
        assert_int_equal(dl_pb_varint(&r, &v), DL_EINVALID);
    }
    dl_buf_dispose(&b);
}

static void test_varint_too_long(void **state)
{
    struct dl_pb_reader r;
    uint64_t v;

    (void)state;
    /* 11 bytes, and a 10th byte carrying more than bit 63 */
    dl_pb_reader_init(&r, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11);
    assert_int_equal(dl_pb_varint(&r, &v), DL_EINVALID);
    dl_pb_reader_init(&r, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10);
    assert_int_equal(dl_pb_varint(&r, &v), DL_EINVALID);
}

static void test_fields_round_trip(void **state)
{
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_pb_reader r;
    uint32_t f;
    enum dl_pb_wire w;
    const uint8_t *p;
    size_t n;
    uint64_t v;

    (void)state;
    dl_pb_put_string(&b, 1, "parent");
    dl_pb_put_uint(&b, 6, 1);
    dl_pb_put_fixed64(&b, 3, 0x0102030405060708ull);
    dl_pb_put_bytes(&b, 536870911, "", 0); /* the largest field number */
    (void)dl_buf_put(&b, "\x2d\x01\x02\x03\x04", 5); /* field 5, fixed32 */
    dl_pb_reader_init(&r, b.ptr, b.len);
    assert_int_equal(dl_pb_next(&r, &f, &w), 0);
    assert_int_equal(f, 1);
    assert_int_equal(w, DL_PB_LEN);
    assert_int_equal(dl_pb_bytes(&r, &p, &n), 0);
    assert_int_equal(n, 6);
    assert_memory_equal(p, "parent", 6);
    assert_int_equal(dl_pb_next(&r, &f, &w), 0);
    assert_int_equal(f, 6);
    assert_int_equal(dl_pb_varint(&r, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(dl_pb_next(&r, &f, &w), 0);
    assert_int_equal(w, DL_PB_FIXED64);
    assert_int_equal(dl_pb_fixed64(&r, &v), 0);
    assert_true(v == 0x0102030405060708ull);
    assert_int_equal(dl_pb_next(&r, &f, &w), 0);
    assert_int_equal(f, 536870911);
    assert_int_equal(dl_pb_skip(&r, w), 0);
    assert_int_equal(dl_pb_next(&r, &f, &w), 0);
    assert_int_equal(w, DL_PB_FIXED32);
    assert_int_equal(dl_pb_skip(&r, w), 0);
    assert_int_equal(dl_pb_next(&r, &f, &w), 1);
    dl_buf_dispose(&b);
}

static void test_malformed(void **state)
{
    struct dl_pb_reader r;
    uint32_t f;
    enum dl_pb_wire w;
    const uint8_t *p;
    size_t n;
    uint64_t v;

    (void)state;
    dl_pb_reader_init(&r, "\x00", 1); /* field 0 */
    assert_int_equal(dl_pb_next(&r, &f, &w), DL_EINVALID);
    dl_pb_reader_init(&r, "\x0b", 1); /* a group */
    assert_int_equal(dl_pb_next(&r, &f, &w), DL_EINVALID);
    dl_pb_reader_init(&r, "\x0f", 1); /* wire type 7 */
    assert_int_equal(dl_pb_next(&r, &f, &w), DL_EINVALID);
    dl_pb_reader_init(&r,
                      "\x0a\x05"
                      "abc",
                      5); /* length past the end */
    assert_int_equal(dl_pb_next(&r, &f, &w), 0);
    assert_int_equal(dl_pb_bytes(&r, &p, &n), DL_EINVALID);
    /* a length of 2^64-1 */
    dl_pb_reader_init(&r, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10);
    assert_int_equal(dl_pb_bytes(&r, &p, &n), DL_EINVALID);
    dl_pb_reader_init(&r, "\x01\x02\x03", 3);
    assert_int_equal(dl_pb_fixed64(&r, &v), DL_EINVALID);
    assert_int_equal(dl_pb_skip(&r, DL_PB_FIXED32), DL_EINVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varint_round_trip),
        cmocka_unit_test(test_varint_too_long),
        cmocka_unit_test(test_fields_round_trip),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
