/*
 * test_hygiene_apply.c - the pure parts of the hygiene apply
 * (provider/hygiene_apply.c): batch sizes, the guarded delete writes and
 * the per-write outcome counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "provider/hygiene_apply.h"
#include "util/time.h"

static void test_batch_size(void **state)
{
    (void)state;
    /* Full batches while the listing streams, the rest only at its end. */
    assert_int_equal(dl_hygiene_fs_batch_size(0, 0), 0);
    assert_int_equal(dl_hygiene_fs_batch_size(499, 0), 0);
    assert_int_equal(dl_hygiene_fs_batch_size(500, 0), 500);
    assert_int_equal(dl_hygiene_fs_batch_size(1201, 0), 500);
    assert_int_equal(dl_hygiene_fs_batch_size(499, 1), 499);
    assert_int_equal(dl_hygiene_fs_batch_size(1201, 1), 500);
    assert_int_equal(dl_hygiene_fs_batch_size(0, 1), 0);
}

/* 1,201 violators split into batches: 500, 500, 201, none more. */
static void test_batches_cover_all(void **state)
{
    size_t pending = 1201, sizes[8], n = 0, b;

    (void)state;
    while ((b = dl_hygiene_fs_batch_size(pending, 1)) > 0) {
        assert_true(n < 8);
        sizes[n++] = b;
        pending -= b;
    }
    assert_int_equal(n, 3);
    assert_int_equal(sizes[0], 500);
    assert_int_equal(sizes[1], 500);
    assert_int_equal(sizes[2], 201);
}

static void test_delete_writes(void **state)
{
    struct dl_hygiene_state st = {0};
    struct dl_resource r;
    struct dl_hygiene_obs *o;
    int64_t t = 0;
    struct dl_err err;
    json_t *w, *one;
    const char *pre = "projects/p/databases/(default)/documents/c/";

    (void)state;
    memset(&r, 0, sizeof(r));
    assert_int_equal(
        dl_time_parse_rfc3339(&t, "2026-11-29T04:00:00.123456Z", &err), 0);
    o = dl_hygiene_state_add(&st, &r, DL_UNSET, DL_UNSET);
    dl_hygiene_obs_violation(o, "a_1", t, 0, DL_HYGIENE_ID_FORMAT);
    dl_hygiene_obs_violation(o, "b_2", 0, 0, DL_HYGIENE_STALE);
    dl_hygiene_obs_violation(o, "c_3", t + 1000, 0, DL_HYGIENE_STALE);

    w = dl_hygiene_fs_delete_writes(o, 0, 2, pre);
    assert_int_equal(json_array_size(w), 2);
    one = json_array_get(w, 0);
    assert_string_equal(json_string_value(json_object_get(one, "delete")),
                        "projects/p/databases/(default)/documents/c/a_1");
    /* The updateTime just listed, exactly (microseconds). */
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(one, "currentDocument"), "updateTime")),
        "2026-11-29T04:00:00.123456Z");
    /* Without a listed updateTime: only "must still exist". */
    one = json_array_get(w, 1);
    assert_true(json_is_true(
        json_object_get(json_object_get(one, "currentDocument"), "exists")));
    assert_null(
        json_object_get(json_object_get(one, "currentDocument"), "updateTime"));
    json_decref(w);

    /* A window past the end is clipped. */
    w = dl_hygiene_fs_delete_writes(o, 2, 500, pre);
    assert_int_equal(json_array_size(w), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(w, 0), "delete")),
        "projects/p/databases/(default)/documents/c/c_3");
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_array_get(w, 0), "currentDocument"),
            "updateTime")),
        "2026-11-29T04:00:00.123457Z");
    json_decref(w);
    dl_hygiene_state_dispose(&st);
}

static void test_count(void **state)
{
    struct dl_firestore_write_result res[5] = {
        {.code = 0},
        {.code = DL_ECONFLICT, .rpc_code = 9, .message = "changed"},
        {.code = DL_ENOTFOUND, .rpc_code = 5, .message = "gone"},
        {.code = DL_EAUTH, .rpc_code = 7, .message = "denied"},
        {.code = 0},
    };
    struct dl_hygiene_fs_counts k = {0};

    (void)state;
    dl_hygiene_fs_count(&k, res, 5);
    assert_int_equal(k.deleted, 2);
    assert_int_equal(k.skipped, 2);
    assert_int_equal(k.failed, 1);
    dl_hygiene_fs_count(&k, res, 1);
    assert_int_equal(k.deleted, 3);
    dl_hygiene_fs_count(&k, res, 0);
    assert_int_equal(k.deleted + k.skipped + k.failed, 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_size),
        cmocka_unit_test(test_batches_cover_all),
        cmocka_unit_test(test_delete_writes),
        cmocka_unit_test(test_count),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
