/*
 * metrics.h - a small Prometheus metrics registry and its text exposition.
 *
 * A registry holds families (counter, gauge or histogram), each with a
 * fixed list of label names; a family holds one series per distinct tuple of
 * label values, created on first use. Histograms have fixed upper bounds
 * chosen at registration (+Inf is implicit). Every function is thread-safe:
 * one mutex per registry guards all of its families, so the HTTP thread can
 * render while the controller loop updates.
 *
 * Rendering follows the Prometheus text format 0.0.4: "# HELP" and "# TYPE"
 * lines per family, families in registration order, series sorted by label
 * values, label values escaped (backslash, double quote, newline), histogram
 * series as _bucket{le="..."} (cumulative, ending with le="+Inf"), _sum and
 * _count.
 *
 * The second half of this header is the controller's own set of families
 * (struct dl_controller_metrics) and the helpers that fill them.
 */
#ifndef DL_CONTROLLER_METRICS_H
#define DL_CONTROLLER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "plan/plan.h"
#include "util/buf.h"
#include "util/err.h"

enum dl_metric_type {
    DL_METRIC_COUNTER = 0,
    DL_METRIC_GAUGE = 1,
    DL_METRIC_HISTOGRAM = 2
};

/* Label names per family and histogram buckets are capped. */
#define DL_METRICS_MAX_LABELS 8
#define DL_METRICS_MAX_BUCKETS 32
/* Series per family are capped (a label with unbounded values is a bug). */
#define DL_METRICS_MAX_SERIES 10000

struct dl_metrics;
struct dl_metric_family;

/* A new empty registry. Free with dl_metrics_free. Never NULL. */
struct dl_metrics *dl_metrics_new(void);
/* Free the registry and all its families. NULL-safe. */
void dl_metrics_free(struct dl_metrics *m);

/*
 * Register a family. name must match [a-zA-Z_:][a-zA-Z0-9_:]* and be new in
 * the registry; each label name must match [a-zA-Z_][a-zA-Z0-9_]*, not start
 * with "__", be distinct, and (histograms) not be "le". help is one line
 * (escaped on output). For histograms, buckets are the finite upper bounds,
 * strictly increasing, 1 to DL_METRICS_MAX_BUCKETS of them; other types
 * pass NULL, 0. On success *out points to the family, owned by the
 * registry (valid until dl_metrics_free). Errors: DL_EINVALID with a
 * message naming the bad value.
 */
int dl_metrics_register(struct dl_metric_family **out, struct dl_metrics *m,
                        enum dl_metric_type type, const char *name,
                        const char *help, const char *const *label_names,
                        size_t nlabels, const double *buckets, size_t nbuckets,
                        struct dl_err *err) DL_WUR;

/*
 * Update the series with these label values (an array of exactly the
 * family's label count; NULL when it has none; a NULL value is ""),
 * creating it at zero first. Any byte string is a valid value.
 * Errors: DL_EINVALID when the operation does not fit the family's type
 * (counter_add on a gauge, observe on a counter, ...) or a counter would
 * go down (negative or NaN delta); DL_ELIMIT when a new series would pass
 * DL_METRICS_MAX_SERIES. The series is unchanged on error.
 */
int dl_metrics_counter_add(struct dl_metric_family *f,
                           const char *const *values, double delta);
int dl_metrics_gauge_set(struct dl_metric_family *f, const char *const *values,
                         double v);
int dl_metrics_gauge_add(struct dl_metric_family *f, const char *const *values,
                         double delta);
int dl_metrics_histogram_observe(struct dl_metric_family *f,
                                 const char *const *values, double v);

/* Remove every series of the family (e.g. before re-filling a gauge). */
void dl_metrics_family_clear(struct dl_metric_family *f);

/*
 * The current value of a counter or gauge series, or a histogram series'
 * count, in *out. 0, or DL_ENOTFOUND when the series does not exist.
 * For tests and for the status page.
 */
int dl_metrics_get(double *out, struct dl_metric_family *f,
                   const char *const *values);

/* Number of series in the family. */
size_t dl_metrics_family_size(struct dl_metric_family *f);

/*
 * Append the whole registry in the text format 0.0.4 to out. 0, or
 * DL_ELIMIT when out's cap is reached (out then holds a truncated prefix).
 */
int dl_metrics_render(struct dl_buf *out, struct dl_metrics *m);

/* The Content-Type of the rendering. */
#define DL_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/*
 * Format v as the text format writes it: the shortest of %.15g/%.17g that
 * reads back exactly, "+Inf", "-Inf" or "NaN". out needs 32 bytes.
 * Returns out.
 */
char *dl_metrics_format_value(char *out, size_t size, double v);

/* ---- the controller's families ---- */

/* Upper bounds of driftless_pass_duration_seconds, in seconds. */
#define DL_METRICS_PASS_BUCKETS 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800

/*
 * The families `driftless run` exports, all registered in registry:
 *   driftless_resources{project,kind,status}            gauge
 *   driftless_pass_duration_seconds                      histogram
 *   driftless_passes_total{result}                       counter
 *   driftless_api_requests_total{api,code}               counter
 *   driftless_changes_applied_total{kind,action}         counter
 *   driftless_last_success_timestamp_seconds             gauge
 *   driftless_source_commit_info{commit}                 gauge (= 1)
 *   driftless_firestore_documents{project,collection}    gauge
 *   driftless_hygiene_violating{project,kind,name}       gauge
 * Caller-owned: dl_metrics_controller_init, dl_metrics_controller_dispose.
 * The family pointers are owned by registry.
 */
struct dl_controller_metrics {
    struct dl_metrics *registry;
    struct dl_metric_family *resources;
    struct dl_metric_family *pass_duration;
    struct dl_metric_family *passes;
    struct dl_metric_family *api_requests;
    struct dl_metric_family *changes_applied;
    struct dl_metric_family *last_success;
    struct dl_metric_family *source_commit;
    struct dl_metric_family *firestore_documents;
    struct dl_metric_family *hygiene_violating;
};

/* Create a registry with the families above (no series yet). */
void dl_metrics_controller_init(struct dl_controller_metrics *cm);
/* Free the registry; cm is zeroed. */
void dl_metrics_controller_dispose(struct dl_controller_metrics *cm);

/*
 * Replace driftless_resources with p's counts: one series per (project,
 * kind, status) for every project and kind present in p, with all four
 * statuses (in_sync, drifted, missing, error) so that a count that drops to
 * zero reads 0 instead of vanishing. Series of projects/kinds no longer in
 * p are removed. Likewise replace driftless_hygiene_violating: for each
 * hygiene resource of p (FirestoreCollectionPolicy, BigQueryTablePolicy,
 * StorageBucketPolicy) observed without error, the number of objects that
 * violate its policy (documents, tables, buckets); a resource in error has
 * no series (unknown, not 0).
 */
void dl_metrics_controller_set_plan(struct dl_controller_metrics *cm,
                                    const struct dl_plan *p);

/*
 * Record a finished pass: driftless_passes_total{result} += 1, observe
 * duration_ns in driftless_pass_duration_seconds, and when result is
 * "success" set driftless_last_success_timestamp_seconds to end_ns
 * (ns since the epoch) in seconds.
 */
void dl_metrics_controller_record_pass(struct dl_controller_metrics *cm,
                                       const char *result, int64_t duration_ns,
                                       int64_t end_ns);

/* driftless_source_commit_info: exactly one series, {commit} = 1. */
void dl_metrics_controller_set_commit(struct dl_controller_metrics *cm,
                                      const char *commit);

/* driftless_api_requests_total{api,code} += 1 (code 0 reads "error":
 * no HTTP response at all). */
void dl_metrics_controller_count_request(struct dl_controller_metrics *cm,
                                         const char *api, int code);

/* driftless_changes_applied_total{kind,action} += n. */
void dl_metrics_controller_count_changes(struct dl_controller_metrics *cm,
                                         const char *kind, const char *action,
                                         int64_t n);

/* driftless_firestore_documents{project,collection} = n. */
void dl_metrics_controller_set_documents(struct dl_controller_metrics *cm,
                                         const char *project,
                                         const char *collection, int64_t n);

#endif
