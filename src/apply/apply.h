/*
 * apply.h - the apply executor: change what a plan says to change, in
 * order, concurrently within a phase, guarded, with progress and a report.
 *
 * The executor walks the phases in order:
 *   DL_APPLY_PHASE_IAM      Project, IAMPolicyMember, IAMPolicyBinding
 *   DL_APPLY_PHASE_BUILD    CloudRunService (its Cloud Build builds)
 *   DL_APPLY_PHASE_SERVICE  CloudRunService (the service updates)
 *   DL_APPLY_PHASE_HYGIENE  FirestoreCollectionPolicy, BigQueryTablePolicy,
 *                           StorageBucketPolicy
 * In each phase it calls every provider's apply hook (provider.h) once with
 * all of that kind's resources still to change, then runs the Google
 * client's loop once: every request of the phase runs concurrently, at most
 * the client's max_inflight per API (the CLI's --parallelism).
 *
 * Which resources change: enforce mode with action create, update or
 * delete. report-mode drift (action report) is listed as reported; action
 * none is not listed. A suspended project (its Project's spec.suspend, or
 * opts.suspend for DRIFTLESS_SUSPEND=1) changes nothing: its resources are
 * skipped, saying why. --only narrows to the named resources.
 *
 * Applier API (for the per-kind apply hooks): dl_apply_record reports a
 * resource's outcome (exactly once); dl_apply_reserve_deletes /
 * dl_apply_release_deletes hand out deletions under every cap;
 * dl_apply_progress counts objects changed so far; dl_apply_cancelled says
 * when to stop starting new work; dl_apply_state / dl_apply_set_state keep
 * a kind's data between phases.
 */
#ifndef DL_APPLY_APPLY_H
#define DL_APPLY_APPLY_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "gcp/gcp.h"
#include "model/model.h"
#include "plan/plan.h"
#include "provider/provider.h"
#include "source/source.h"
#include "util/buf.h"
#include "util/err.h"

enum dl_apply_phase {
    DL_APPLY_PHASE_IAM = 0,
    DL_APPLY_PHASE_BUILD,
    DL_APPLY_PHASE_SERVICE,
    DL_APPLY_PHASE_HYGIENE,
    DL_APPLY_PHASE_COUNT
};

/* "iam", "build", "service", "hygiene". */
const char *dl_apply_phase_name(enum dl_apply_phase ph);

enum dl_apply_outcome {
    DL_APPLY_PENDING = 0, /* not yet recorded (never passed to record) */
    DL_APPLY_APPLIED,     /* changed as planned (or found already right) */
    DL_APPLY_FAILED,      /* an error; the message says which */
    DL_APPLY_SKIPPED,     /* not attempted: suspended, cancelled, a cap */
    DL_APPLY_REPORTED     /* report mode: shown, never changed */
};

/* "pending", "applied", "failed", "skipped", "reported". */
const char *dl_apply_outcome_name(enum dl_apply_outcome o);

struct dl_lease_opts;

struct dl_apply_opts {
    /* The providers, NULL-terminated, in any order (the phases order them);
       NULL: dl_providers. Tests inject fakes here. */
    const struct dl_provider *const *providers;
    const char *const *only; /* --only KIND/NAME or PROJECT/KIND/NAME */
    size_t n_only;
    int64_t max_deletes; /* --max-deletes over the whole run; <0: no cap
                            (0 allows no deletion at all) */
    int suspend;         /* DRIFTLESS_SUSPEND=1: change nothing */
    /* Set (by a signal handler) to stop starting new phases and work;
       NULL: never. */
    volatile sig_atomic_t *cancel;
    /* Applying a saved plan: each hygiene resource deletes at most its
       hygiene->planned_deletes (the saved plan's count). */
    int saved_plan;
    /* Leases: when set, the executor takes the lease of every project it
       is about to change (apply/lease.h) before the first phase, renews
       them between phases and releases them at the end. NULL: no lease. */
    const struct dl_lease_opts *lease;
    /* Progress: a live line redrawn on progress_out (at most 10 times a
       second) when progress_tty; else a dl_info line every 5 s. */
    FILE *progress_out;
    int progress_tty;
    /* The pass that planned this run in this process, run with
       opts.keep_observations: hooks may reuse what it observed
       (dl_apply_observed) instead of reading it again. NULL: none. */
    const struct dl_pass *observed;
};

/* One resource's outcome. */
struct dl_apply_result {
    struct dl_plan_resource *resource; /* borrowed from the plan */
    enum dl_apply_outcome outcome;
    int64_t objects;     /* objects changed (deleted documents, ...) */
    char *message;       /* one line, or NULL */
    int64_t started_ns;  /* the client's clock; 0: never started */
    int64_t finished_ns; /* the client's clock; 0: never started */
};

/* What a run did. Owned by the caller: dl_apply_report_dispose. */
struct dl_apply_report {
    struct dl_apply_result *results; /* in plan order */
    size_t n;
    size_t applied, failed, skipped, reported;
    int64_t objects;     /* sum of objects */
    int64_t started_at;  /* wall clock, ns */
    int64_t duration_ns; /* whole run */
    int cancelled;       /* stopped by opts.cancel */
    int suspended;       /* opts.suspend: nothing was changed */
    char *error;         /* a run-wide failure (lease), or NULL */
};

/* The executor's handle, passed to the apply hooks. Opaque. */
struct dl_apply;

/*
 * Apply plan's changes. model (may be NULL: no Project suspend and no
 * desired specs) is the desired state the plan was made from; source
 * (may be NULL) the repository at that commit; gcp the client every hook
 * queues on. report gets one result per listed resource (enforce changes
 * and report-mode drift), to dispose with dl_apply_report_dispose.
 * Returns 0 when the run was carried out (failures are in the report), or
 * a negative code when it could not start (nothing changed): DL_ECONFLICT
 * when a lease is held by someone else (err names the holder), other
 * codes from the lease. The exit code is dl_apply_exit_code(report).
 */
int dl_apply_run(struct dl_apply_report *report, struct dl_plan *plan,
                 const struct dl_model *model, struct dl_source *source,
                 struct dl_gcp_client *gcp, const struct dl_apply_opts *opts,
                 struct dl_err *err) DL_WUR;

/* Free what report holds (not the plan resources it points to). */
void dl_apply_report_dispose(struct dl_apply_report *report);

/* 130 when cancelled, 1 on any failure or run error, else 0. */
int dl_apply_exit_code(const struct dl_apply_report *report);

/*
 * Append the report as text: one line per resource ("applied  a/B/c
 * (3 objects, 1.2s)"), then a summary line. Never fails on an uncapped
 * buffer.
 */
int dl_apply_report_text(const struct dl_apply_report *report,
                         struct dl_buf *out) DL_WUR;

/*
 * Append the report as JSON (format_version "1"): started_at, duration_s,
 * cancelled, suspended, error, summary {applied, failed, skipped,
 * reported, objects}, resources [{address, kind, action, mode, outcome,
 * objects, duration_s, message}]. DL_ELIMIT past out's cap.
 */
int dl_apply_report_json(const struct dl_apply_report *report,
                         struct dl_buf *out, struct dl_err *err) DL_WUR;

/* ---- for the apply hooks ---- */

/* The client to queue work on. */
struct dl_gcp_client *dl_apply_gcp(struct dl_apply *ap);
/* The phase being applied. */
enum dl_apply_phase dl_apply_phase(const struct dl_apply *ap);
/* The desired state (may be NULL) and the source (may be NULL). */
const struct dl_model *dl_apply_model(const struct dl_apply *ap);
struct dl_source *dl_apply_source(const struct dl_apply *ap);
/* The declared resource behind r (NULL for orphans or without a model). */
const struct dl_resource *dl_apply_desired(const struct dl_apply *ap,
                                           const struct dl_plan_resource *r);
/* What kind's provider kept from the planning pass of this process
   (opts->observed; provider.h dl_pass_keep), borrowed; NULL when none. */
void *dl_apply_observed(const struct dl_apply *ap, enum dl_kind kind);
/* Is the executor applying a saved plan (--plan)? */
int dl_apply_saved_plan(const struct dl_apply *ap);

/* 1 once cancellation was asked for: start nothing new, let what is in
   flight finish, then record. */
int dl_apply_cancelled(const struct dl_apply *ap);

/*
 * Record r's outcome, exactly once per resource (a second call is ignored
 * with a warning): objects is how many objects changed (0 for most kinds;
 * deleted documents, tables, buckets for the hygiene kinds); fmt (may be
 * NULL) a one-line message ("deleted 1000 of 106349 documents", or the
 * API's error). Updates the progress line.
 */
void dl_apply_record(struct dl_apply *ap, struct dl_plan_resource *r,
                     enum dl_apply_outcome outcome, int64_t objects,
                     const char *fmt, ...) DL_PRINTF(5, 6);

/*
 * Ask to delete up to want objects for r: returns how many may be deleted
 * now (0..want), under every cap at once: --max-deletes over the whole run
 * (shared by all resources), the hygiene block's cap, and with a saved
 * plan its planned_deletes for r. What is granted is taken from the
 * budgets; give back what was not used with dl_apply_release_deletes.
 */
int64_t dl_apply_reserve_deletes(struct dl_apply *ap,
                                 struct dl_plan_resource *r, int64_t want);
/* Give back n reserved deletions that were not carried out. */
void dl_apply_release_deletes(struct dl_apply *ap, struct dl_plan_resource *r,
                              int64_t n);

/* Count n more objects changed (for the live rate and ETA); the final
   number is the one given to dl_apply_record. */
void dl_apply_progress(struct dl_apply *ap, int64_t n);

/*
 * A kind's data kept between phases (CloudRunService: its builds). The
 * executor calls free_fn(state) once at the end of the run (also after a
 * cancellation); setting again frees the previous state.
 */
void *dl_apply_state(const struct dl_apply *ap, enum dl_kind kind);
void dl_apply_set_state(struct dl_apply *ap, enum dl_kind kind, void *state,
                        void (*free_fn)(void *state));

#endif
