/*
 * schedule.c - jitter, sharding, and an interruptible sleep.
 */
#include "controller/schedule.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/time.h"

int dl_schedule_jitter_parse(double *out, const char *s, struct dl_err *err)
{
    char *end = NULL;
    double v;
    size_t n;

    if (!s || !*s)
        return dl_err_set(err, DL_EINVALID, "empty jitter");
    if (strcmp(s, "0") == 0) {
        *out = 0;
        return 0;
    }
    n = strlen(s);
    /* Digits and at most one dot, then '%': no signs, spaces or exponents. */
    if (s[n - 1] != '%' || n < 2 || s[0] == '.' || s[n - 2] == '.' ||
        strspn(s, "0123456789.") != n - 1 ||
        (strchr(s, '.') && strchr(s, '.') != strrchr(s, '.')))
        return dl_err_set(err, DL_EINVALID,
                          "invalid jitter \"%s\" (want a percentage such as "
                          "\"10%%\")",
                          s);
    errno = 0;
    v = strtod(s, &end);
    if (errno || end != s + n - 1 || !(v >= 0) ||
        v > DL_SCHEDULE_MAX_JITTER * 100)
        return dl_err_set(err, DL_EINVALID,
                          "invalid jitter \"%s\" (want 0%% to %g%%)", s,
                          DL_SCHEDULE_MAX_JITTER * 100);
    *out = v / 100;
    return 0;
}

/* splitmix64: small, fast, good enough for spreading start times. */
static uint64_t next_u64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

uint64_t dl_schedule_seed(void)
{
    uint64_t s = (uint64_t)dl_time_now_ns() ^ ((uint64_t)getpid() << 32);

    return next_u64(&s);
}

int64_t dl_schedule_delay(int64_t interval_ns, double jitter, uint64_t *rng)
{
    double u, lo, span, d;

    if (interval_ns <= 0)
        return 0;
    if (!(jitter > 0))
        return interval_ns;
    if (jitter > DL_SCHEDULE_MAX_JITTER)
        jitter = DL_SCHEDULE_MAX_JITTER;
    /* 53 random bits -> u in [0, 1], both ends reachable. */
    u = (double)(next_u64(rng) >> 11) / (double)((UINT64_C(1) << 53) - 1);
    lo = (double)interval_ns * (1 - jitter);
    span = (double)interval_ns * 2 * jitter;
    d = lo + u * span;
    if (d >= 9.2e18)
        return INT64_MAX;
    return (int64_t)llround(d);
}

uint64_t dl_schedule_hash(const char *s)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

unsigned dl_schedule_shard_of(const char *project, unsigned count)
{
    if (count <= 1)
        return 0;
    return (unsigned)(dl_schedule_hash(project) % count);
}

int dl_schedule_shard_owns(const struct dl_shard *sh, const char *project)
{
    return dl_schedule_shard_of(project, sh->count) == sh->index;
}

/* Strict decimal: digits only, no sign or space, at most 10 digits. */
static int parse_uint(unsigned long *out, const char *s)
{
    size_t n = strlen(s);
    unsigned long v = 0;

    if (n == 0 || n > 10 || strspn(s, "0123456789") != n)
        return -1;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (unsigned long)(s[i] - '0');
    *out = v;
    return 0;
}

static const char *pick(const char *flag, const char *env, const char **src,
                        const char *flag_name)
{
    const char *e;

    if (flag) {
        *src = flag_name;
        return flag;
    }
    e = getenv(env);
    if (e && *e) {
        *src = env;
        return e;
    }
    *src = "default";
    return NULL;
}

int dl_schedule_shard_resolve(struct dl_shard *out, const char *index_flag,
                              const char *count_flag, struct dl_err *err)
{
    const char *isrc, *csrc;
    const char *is =
        pick(index_flag, "CLOUD_RUN_TASK_INDEX", &isrc, "--shard-index");
    const char *cs =
        pick(count_flag, "CLOUD_RUN_TASK_COUNT", &csrc, "--shard-count");
    unsigned long index = 0, count = 1;

    if (is && parse_uint(&index, is) != 0)
        return dl_err_set(err, DL_EINVALID,
                          "invalid shard index \"%s\" (%s): want a "
                          "non-negative integer",
                          is, isrc);
    if (cs && parse_uint(&count, cs) != 0)
        return dl_err_set(err, DL_EINVALID,
                          "invalid shard count \"%s\" (%s): want a positive "
                          "integer",
                          cs, csrc);
    if (count < 1 || count > DL_SCHEDULE_MAX_SHARDS)
        return dl_err_set(err, DL_EINVALID,
                          "invalid shard count \"%s\" (%s): want 1 to %u", cs,
                          csrc, DL_SCHEDULE_MAX_SHARDS);
    if (index >= count)
        return dl_err_set(err, DL_EINVALID,
                          "shard index %lu (%s) is not below shard count %lu "
                          "(%s)",
                          index, isrc, count, csrc);
    out->index = (unsigned)index;
    out->count = (unsigned)count;
    return 0;
}

void dl_schedule_waker_init(struct dl_schedule_waker *w)
{
    pthread_condattr_t a;

    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_init(&a);
    /* The monotonic clock: a wall-clock jump must not stretch the sleep. */
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &a);
    pthread_condattr_destroy(&a);
    w->triggered = 0;
    w->stopped = 0;
}

void dl_schedule_waker_dispose(struct dl_schedule_waker *w)
{
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
}

void dl_schedule_waker_trigger(struct dl_schedule_waker *w)
{
    pthread_mutex_lock(&w->lock);
    w->triggered = 1;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

void dl_schedule_waker_stop(struct dl_schedule_waker *w)
{
    pthread_mutex_lock(&w->lock);
    w->stopped = 1;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

enum dl_wake dl_schedule_waker_wait(struct dl_schedule_waker *w,
                                    int64_t timeout_ns)
{
    struct timespec now, until;
    enum dl_wake why = DL_WAKE_TIMEOUT;
    int64_t t;

    clock_gettime(CLOCK_MONOTONIC, &now);
    if (timeout_ns < 0)
        timeout_ns = 0;
    if (timeout_ns > INT64_MAX / 2)
        timeout_ns = INT64_MAX / 2;
    t = (int64_t)now.tv_nsec + timeout_ns % DL_NS_PER_SEC;
    until.tv_sec = now.tv_sec + (time_t)(timeout_ns / DL_NS_PER_SEC) +
                   (time_t)(t / DL_NS_PER_SEC);
    until.tv_nsec = (long)(t % DL_NS_PER_SEC);
    pthread_mutex_lock(&w->lock);
    while (!w->stopped && !w->triggered) {
        if (pthread_cond_timedwait(&w->cond, &w->lock, &until) == ETIMEDOUT)
            break;
    }
    if (w->stopped)
        why = DL_WAKE_STOP;
    else if (w->triggered)
        why = DL_WAKE_TRIGGER;
    w->triggered = 0;
    pthread_mutex_unlock(&w->lock);
    return why;
}
