/* Jitter, sharding and the waker. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/schedule.h"
#include "util/time.h"

static void test_jitter_parse(void **state)
{
    static const struct {
        const char *s;
        double want;
    } ok[] = {
        {"0", 0}, {"0%", 0}, {"10%", 0.1}, {"2.5%", 0.025}, {"50%", 0.5},
    };
    static const char *const bad[] = {
        "",     "%",   "10",  "-10%",   "+10%", "51%",  "10 %",  " 10%",
        "1e1%", ".5%", "5.%", "1.2.3%", "abc",  "10%%", "0x10%", "100%",
    };
    struct dl_err err;
    double v;

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        v = -1;
        assert_int_equal(dl_schedule_jitter_parse(&v, ok[i].s, &err), 0);
        assert_true(v == ok[i].want);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(dl_schedule_jitter_parse(&v, bad[i], &err),
                         DL_EINVALID);
        if (*bad[i]) {
            char q[32];

            snprintf(q, sizeof(q), "\"%s\"", bad[i]);
            assert_non_null(strstr(err.msg, q));
        }
    }
    assert_int_equal(dl_schedule_jitter_parse(&v, NULL, &err), DL_EINVALID);
}

static void test_delay(void **state)
{
    const int64_t iv = 180 * DL_NS_PER_SEC; /* 3m */
    const int64_t lo = iv * 9 / 10, hi = iv * 11 / 10;
    int64_t min = INT64_MAX, max = 0;
    double sum = 0;
    uint64_t rng = 42, rng2 = 42;
    int n = 2000;

    (void)state;
    for (int i = 0; i < n; i++) {
        int64_t d = dl_schedule_delay(iv, 0.1, &rng);

        assert_true(d >= lo && d <= hi);
        min = d < min ? d : min;
        max = d > max ? d : max;
        sum += (double)d;
    }
    /* Uniform: both ends approached, mean near the interval. */
    assert_true(min < lo + (hi - lo) / 20);
    assert_true(max > hi - (hi - lo) / 20);
    assert_true(sum / n > (double)iv * 0.99 && sum / n < (double)iv * 1.01);
    /* Same seed, same sequence. */
    rng = 7;
    rng2 = 7;
    for (int i = 0; i < 10; i++)
        assert_true(dl_schedule_delay(iv, 0.2, &rng) ==
                    dl_schedule_delay(iv, 0.2, &rng2));
    assert_true(dl_schedule_delay(iv, 0, &rng) == iv);
    assert_true(dl_schedule_delay(0, 0.1, &rng) == 0);
    assert_true(dl_schedule_delay(-5, 0.1, &rng) == 0);
    /* Clamped to 50%. */
    for (int i = 0; i < 100; i++) {
        int64_t d = dl_schedule_delay(1000, 3.0, &rng);

        assert_true(d >= 500 && d <= 1500);
    }
    (void)dl_schedule_seed();
}

static void test_hash(void **state)
{
    (void)state;
    /* FNV-1a 64 reference values. */
    assert_true(dl_schedule_hash("") == UINT64_C(0xcbf29ce484222325));
    assert_true(dl_schedule_hash("a") == UINT64_C(0xaf63dc4c8601ec8c));
    assert_true(dl_schedule_hash("foobar") == UINT64_C(0x85944171f73967e8));
    assert_int_equal(dl_schedule_shard_of("anything", 1), 0);
    assert_int_equal(dl_schedule_shard_of("anything", 0), 0);
    assert_int_equal(dl_schedule_shard_of("a", 7),
                     (unsigned)(UINT64_C(0xaf63dc4c8601ec8c) % 7));
}

static void test_shards_partition(void **state)
{
    enum { NPROJ = 1000, NSHARD = 4 };
    int owners[NPROJ] = {0};
    int per[NSHARD] = {0};
    char id[32];

    (void)state;
    for (unsigned s = 0; s < NSHARD; s++) {
        struct dl_shard sh = {.index = s, .count = NSHARD};

        for (int i = 0; i < NPROJ; i++) {
            snprintf(id, sizeof(id), "acme-project-%d", i);
            if (dl_schedule_shard_owns(&sh, id)) {
                owners[i]++;
                per[s]++;
            }
        }
    }
    for (int i = 0; i < NPROJ; i++)
        assert_int_equal(owners[i], 1); /* exactly once */
    for (int s = 0; s < NSHARD; s++)
        assert_true(per[s] > NPROJ / NSHARD / 2); /* roughly balanced */
}

static void test_shard_resolve(void **state)
{
    struct dl_shard sh;
    struct dl_err err;

    (void)state;
    unsetenv("CLOUD_RUN_TASK_INDEX");
    unsetenv("CLOUD_RUN_TASK_COUNT");
    assert_int_equal(dl_schedule_shard_resolve(&sh, NULL, NULL, &err), 0);
    assert_int_equal(sh.index, 0);
    assert_int_equal(sh.count, 1);

    assert_int_equal(dl_schedule_shard_resolve(&sh, "2", "3", &err), 0);
    assert_int_equal(sh.index, 2);
    assert_int_equal(sh.count, 3);

    setenv("CLOUD_RUN_TASK_INDEX", "1", 1);
    setenv("CLOUD_RUN_TASK_COUNT", "4", 1);
    assert_int_equal(dl_schedule_shard_resolve(&sh, NULL, NULL, &err), 0);
    assert_int_equal(sh.index, 1);
    assert_int_equal(sh.count, 4);
    /* A flag wins over the environment, each value on its own. */
    assert_int_equal(dl_schedule_shard_resolve(&sh, "3", NULL, &err), 0);
    assert_int_equal(sh.index, 3);
    assert_int_equal(sh.count, 4);
    assert_int_equal(dl_schedule_shard_resolve(&sh, NULL, "2", &err), 0);
    assert_int_equal(sh.index, 1);
    assert_int_equal(sh.count, 2);

    assert_int_equal(dl_schedule_shard_resolve(&sh, "4", NULL, &err),
                     DL_EINVALID);
    assert_string_equal(err.msg, "shard index 4 (--shard-index) is not below "
                                 "shard count 4 (CLOUD_RUN_TASK_COUNT)");
    setenv("CLOUD_RUN_TASK_COUNT", "0", 1);
    assert_int_equal(dl_schedule_shard_resolve(&sh, NULL, NULL, &err),
                     DL_EINVALID);
    assert_string_equal(err.msg, "invalid shard count \"0\" "
                                 "(CLOUD_RUN_TASK_COUNT): want 1 to 10000");
    setenv("CLOUD_RUN_TASK_COUNT", "-1", 1);
    assert_int_equal(dl_schedule_shard_resolve(&sh, NULL, NULL, &err),
                     DL_EINVALID);
    assert_string_equal(err.msg, "invalid shard count \"-1\" "
                                 "(CLOUD_RUN_TASK_COUNT): want a positive "
                                 "integer");
    setenv("CLOUD_RUN_TASK_COUNT", "", 1); /* empty: as if unset */
    setenv("CLOUD_RUN_TASK_INDEX", "x1", 1);
    assert_int_equal(dl_schedule_shard_resolve(&sh, NULL, NULL, &err),
                     DL_EINVALID);
    assert_string_equal(err.msg, "invalid shard index \"x1\" "
                                 "(CLOUD_RUN_TASK_INDEX): want a non-negative "
                                 "integer");
    unsetenv("CLOUD_RUN_TASK_INDEX");
    unsetenv("CLOUD_RUN_TASK_COUNT");
    assert_int_equal(dl_schedule_shard_resolve(&sh, "1", NULL, &err),
                     DL_EINVALID);
    assert_string_equal(err.msg, "shard index 1 (--shard-index) is not below "
                                 "shard count 1 (default)");
    assert_int_equal(dl_schedule_shard_resolve(&sh, "0", "10001", &err),
                     DL_EINVALID);
    assert_int_equal(dl_schedule_shard_resolve(&sh, " 1", "2", &err),
                     DL_EINVALID);
    assert_int_equal(dl_schedule_shard_resolve(&sh, "99999999999", "2", &err),
                     DL_EINVALID);
    assert_int_equal(dl_schedule_shard_resolve(&sh, "0", "10000", &err), 0);
}

static void *trigger_later(void *arg)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 50 * 1000 * 1000};

    nanosleep(&ts, NULL);
    dl_schedule_waker_trigger(arg);
    return NULL;
}

static void *stop_later(void *arg)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 50 * 1000 * 1000};

    nanosleep(&ts, NULL);
    dl_schedule_waker_stop(arg);
    return NULL;
}

static void test_waker(void **state)
{
    struct dl_schedule_waker w;
    pthread_t th;
    int64_t t0;

    (void)state;
    dl_schedule_waker_init(&w);
    t0 = dl_time_mono_ns();
    assert_int_equal(dl_schedule_waker_wait(&w, 30 * DL_NS_PER_MS),
                     DL_WAKE_TIMEOUT);
    assert_true(dl_time_mono_ns() - t0 >= 30 * DL_NS_PER_MS);

    /* A trigger before the wait is not lost; several collapse into one. */
    dl_schedule_waker_trigger(&w);
    dl_schedule_waker_trigger(&w);
    assert_int_equal(dl_schedule_waker_wait(&w, 10 * DL_NS_PER_SEC),
                     DL_WAKE_TRIGGER);
    assert_int_equal(dl_schedule_waker_wait(&w, 0), DL_WAKE_TIMEOUT);

    /* From another thread, long before the timeout. */
    t0 = dl_time_mono_ns();
    assert_int_equal(pthread_create(&th, NULL, trigger_later, &w), 0);
    assert_int_equal(dl_schedule_waker_wait(&w, 10 * DL_NS_PER_SEC),
                     DL_WAKE_TRIGGER);
    assert_true(dl_time_mono_ns() - t0 < 5 * DL_NS_PER_SEC);
    pthread_join(th, NULL);

    assert_int_equal(pthread_create(&th, NULL, stop_later, &w), 0);
    assert_int_equal(dl_schedule_waker_wait(&w, 10 * DL_NS_PER_SEC),
                     DL_WAKE_STOP);
    pthread_join(th, NULL);
    /* Stop is sticky and wins over a trigger. */
    dl_schedule_waker_trigger(&w);
    assert_int_equal(dl_schedule_waker_wait(&w, 10 * DL_NS_PER_SEC),
                     DL_WAKE_STOP);
    dl_schedule_waker_dispose(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jitter_parse),
        cmocka_unit_test(test_delay),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_shards_partition),
        cmocka_unit_test(test_shard_resolve),
        cmocka_unit_test(test_waker),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
