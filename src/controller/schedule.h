/*
 * schedule.h - when the next pass runs, and which projects are ours.
 *
 * Interval with jitter: a pass every interval*(1±j), drawn uniformly, so N
 * replicas started together drift apart instead of hitting the APIs in
 * step. Sharding: a project belongs to shard FNV-1a-64(project id) mod
 * count, a hash that never changes between versions or machines, so N
 * replicas (or a Cloud Run Job with N tasks) cover every project exactly
 * once. A waker lets the HTTP thread (webhook) or a signal thread cut the
 * loop's sleep short.
 */
#ifndef DL_CONTROLLER_SCHEDULE_H
#define DL_CONTROLLER_SCHEDULE_H

#include <pthread.h>
#include <stdint.h>

#include "util/err.h"

/* Largest jitter fraction accepted ("50%"): beyond it passes bunch up. */
#define DL_SCHEDULE_MAX_JITTER 0.5
/* Largest shard count accepted (Cloud Run Jobs' task limit). */
#define DL_SCHEDULE_MAX_SHARDS 10000u

/*
 * Parse a jitter: "<number>%" with 0 <= number <= 50 ("10%", "2.5%", "0%"),
 * or "0". *out is the fraction (0.1 for "10%"). 0, or DL_EINVALID with the
 * value quoted.
 */
int dl_schedule_jitter_parse(double *out, const char *s,
                             struct dl_err *err) DL_WUR;

/* Seed a generator state for dl_schedule_delay (from the clock and pid). */
uint64_t dl_schedule_seed(void);

/*
 * The delay before the next pass: uniform in [interval*(1-jitter),
 * interval*(1+jitter)] (ns), drawn from *rng (advanced). jitter is clamped
 * to [0, DL_SCHEDULE_MAX_JITTER]; interval <= 0 returns 0.
 */
int64_t dl_schedule_delay(int64_t interval_ns, double jitter, uint64_t *rng);

/* Which projects this replica handles. */
struct dl_shard {
    unsigned index; /* 0 <= index < count */
    unsigned count; /* >= 1 */
};

/* FNV-1a 64-bit hash of s (offset basis 0xcbf29ce484222325, prime
   0x100000001b3). */
uint64_t dl_schedule_hash(const char *s);

/* The shard a project belongs to: hash(project) mod count (count >= 1). */
unsigned dl_schedule_shard_of(const char *project, unsigned count);

/* 1 iff project belongs to shard sh. */
int dl_schedule_shard_owns(const struct dl_shard *sh, const char *project);

/*
 * Work out this replica's shard. Each of index and count comes from its
 * flag (--shard-index / --shard-count; NULL when not given), else from the
 * environment (CLOUD_RUN_TASK_INDEX / CLOUD_RUN_TASK_COUNT, when set and
 * not empty), else 0 and 1. Values are plain decimal integers. 0, or
 * DL_EINVALID naming the source and quoting the value: not a number,
 * count 0 or above DL_SCHEDULE_MAX_SHARDS, index not below count
 * ("shard index 3 (--shard-index) is not below shard count 3
 * (CLOUD_RUN_TASK_COUNT)").
 */
int dl_schedule_shard_resolve(struct dl_shard *out, const char *index_flag,
                              const char *count_flag,
                              struct dl_err *err) DL_WUR;

/* Why dl_schedule_waker_wait returned. */
enum dl_wake {
    DL_WAKE_TIMEOUT = 0, /* the delay passed */
    DL_WAKE_TRIGGER = 1, /* dl_schedule_waker_trigger (webhook, new commit) */
    DL_WAKE_STOP = 2     /* dl_schedule_waker_stop (shutdown) */
};

/*
 * A sleep that another thread can cut short. Caller-owned:
 * dl_schedule_waker_init, dl_schedule_waker_dispose. Not for signal
 * handlers (pthread calls are not async-signal-safe): catch signals in a
 * thread with sigwait and call dl_schedule_waker_stop from there.
 */
struct dl_schedule_waker {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int triggered; /* a trigger arrived since the last wait returned */
    int stopped;   /* sticky */
};

void dl_schedule_waker_init(struct dl_schedule_waker *w);
void dl_schedule_waker_dispose(struct dl_schedule_waker *w);
/* Wake the waiter now (or make its next wait return at once). Triggers
   that arrive during a pass collapse into one. */
void dl_schedule_waker_trigger(struct dl_schedule_waker *w);
/* Make every current and future wait return DL_WAKE_STOP. */
void dl_schedule_waker_stop(struct dl_schedule_waker *w);
/* Sleep up to timeout_ns; STOP wins over TRIGGER. Consumes a trigger. */
enum dl_wake dl_schedule_waker_wait(struct dl_schedule_waker *w,
                                    int64_t timeout_ns);

#endif
