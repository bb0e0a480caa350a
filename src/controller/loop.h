/*
 * loop.h - the controller's loop (`driftless run`): read the desired
 * state, plan, apply enforce drift in the projects whose lease this
 * replica holds, record, sleep, again.
 *
 * A pass: open (for a URL: fetch) the source and load the model - on
 * failure the last good source and model are kept and the pass says so;
 * keep only the projects of this shard (dl_schedule_shard_owns); plan
 * (dl_pass_run); take or renew each project's lease (apply/lease.h,
 * timeout 0); apply (dl_apply_run, auto-approved, no lease of its own: the
 * loop holds them) the plan's resources of the projects it holds; record
 * the result in the status, the metrics and the log. A project whose lease
 * another replica holds is only planned and reported.
 *
 * Threads: dl_loop_run runs on one thread (the main one); dl_loop_stop and
 * dl_loop_trigger may be called from any other thread (not from a signal
 * handler). The status and the metrics are safe to read concurrently (the
 * HTTP server).
 */
#ifndef DL_CONTROLLER_LOOP_H
#define DL_CONTROLLER_LOOP_H

#include <signal.h>
#include <stdint.h>

#include "apply/lease.h"
#include "controller/metrics.h"
#include "controller/schedule.h"
#include "controller/status.h"
#include "gcp/gcp.h"
#include "model/model.h"
#include "source/source.h"
#include "util/err.h"

struct dl_loop_config {
    struct dl_source_opts source; /* strings borrowed */
    int64_t interval_ns;          /* between passes (from the end of one) */
    /* Between passes, look at the source's commit this often and start a
     * pass at once when it moved; 0: only at each pass. */
    int64_t poll_ns;
    double jitter; /* fraction, see dl_schedule_delay */
    struct dl_shard shard;
    int64_t lease_ttl_ns; /* 0: DL_LEASE_DEFAULT_TTL_NS */
    int parallelism;      /* requests in flight per API; 0: 16 */
    const char *ca_bundle;
    int suspend; /* DRIFTLESS_SUSPEND=1: plan and report only */
    /* Tests: the Google client's options (transport); NULL: libcurl. */
    const struct dl_gcp_client_opts *gcp_opts;
};

struct dl_loop_lease {
    char *project;
    struct dl_lease *lease; /* held */
};

struct dl_loop {
    struct dl_loop_config cfg;
    struct dl_controller_metrics metrics;
    struct dl_status *status;
    struct dl_schedule_waker waker;
    volatile sig_atomic_t cancel; /* the executor stops starting work */
    struct dl_gcp_client *gcp;
    struct dl_gcp_metrics seen; /* client counters already exported */
    struct dl_source *src;      /* last good */
    struct dl_model *model;     /* last good */
    struct dl_loop_lease *leases;
    size_t n_leases;
    uint64_t rng;
    uint64_t passes;
};

/* Set up l (metrics, status, waker, Google client). 0, or an error (the
   client); l is then disposed. */
int dl_loop_init(struct dl_loop *l, const struct dl_loop_config *cfg,
                 struct dl_err *err) DL_WUR;

/* One pass; returns how it ended. */
enum dl_pass_result dl_loop_pass(struct dl_loop *l);

/* Pass, then sleep interval+-jitter (cut short by dl_loop_trigger), until
   dl_loop_stop. */
void dl_loop_run(struct dl_loop *l);

/* Start the next pass now (the webhook). Thread-safe. */
void dl_loop_trigger(struct dl_loop *l);

/* Stop: the pass in flight starts no new work and finishes what is in
   flight; dl_loop_run returns. Thread-safe, not async-signal-safe. */
void dl_loop_stop(struct dl_loop *l);

/* Give every held lease back (logs failures). */
void dl_loop_release_leases(struct dl_loop *l);

/* Release the leases and free everything. */
void dl_loop_dispose(struct dl_loop *l);

#endif
