/*
 * status.h - what the controller knows, for /api/v1/status and the page.
 *
 * The loop writes (dl_status_update_plan after each plan,
 * dl_status_record_pass after each pass, dl_status_mark_applied after each
 * change); the HTTP thread reads (dl_status_render_json / _html). One mutex
 * guards it: renders work on a consistent snapshot and never block the
 * loop for longer than the rendering takes. All strings are copied in.
 *
 * Kept: the resources of the last plan (address, project, kind, name,
 * status, action, mode, when their status or action last changed, a
 * one-line message), the projects they belong to (with counts, and the
 * suspended/lease flags the loop sets), the last plan's summary, the recent
 * passes (ring buffer), and drift-over-time samples (ring buffer, one per
 * plan) that the page draws as an inline SVG bar chart.
 */
#ifndef DL_CONTROLLER_STATUS_H
#define DL_CONTROLLER_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "plan/plan.h"
#include "util/buf.h"
#include "util/err.h"

/* How a pass ended; names "success", "partial", "error" (metrics use them
   for driftless_passes_total{result}). */
enum dl_pass_result {
    DL_PASS_SUCCESS = 0, /* planned and applied everything it should */
    DL_PASS_PARTIAL = 1, /* finished, but some resources had errors */
    DL_PASS_ERROR = 2    /* failed (git, planning, credentials, ...) */
};

const char *dl_pass_result_name(enum dl_pass_result r);

/* One finished pass, as the loop reports it. */
struct dl_status_pass {
    int64_t started_at;  /* ns since the epoch */
    int64_t duration_ns; /* wall time of the pass */
    enum dl_pass_result result;
    int64_t changes_applied; /* objects changed (created/updated/deleted) */
    char commit[65];         /* desired-state commit, "" when unknown */
    char message[256];       /* one line: why it failed, "" when fine */
};

/* Ring buffer sizes of dl_status_new(0, 0). */
#define DL_STATUS_DEFAULT_PASSES 20
#define DL_STATUS_DEFAULT_SAMPLES 60

struct dl_status;

/*
 * A new empty status keeping the last max_passes passes and max_samples
 * drift samples (0: the defaults above). Free with dl_status_free.
 * Never NULL.
 */
struct dl_status *dl_status_new(size_t max_passes, size_t max_samples);
/* Free s. NULL-safe. */
void dl_status_free(struct dl_status *s);

/* Describe this controller: source url and ref, shard, mode line (e.g.
   "enforce", "report (DRIFTLESS_SUSPEND=1)"), version. Copied. NULL: "". */
void dl_status_set_info(struct dl_status *s, const char *url, const char *ref,
                        unsigned shard_index, unsigned shard_count,
                        const char *mode, const char *version);

/*
 * Replace the resources with p's (sorted by address) and add a drift
 * sample at now (ns since the epoch). A resource whose status and action
 * are unchanged keeps its last-change time; a new or changed one gets now.
 * Its message is the error, else a count of changes with the first paths
 * ("2 changes: image, env.API_KEY"), else the hygiene counts, else the
 * first note, else "". Projects are rebuilt from the resources (their
 * suspended/lease flags are kept); a project left with no resources and
 * no flags is dropped.
 */
void dl_status_update_plan(struct dl_status *s, const struct dl_plan *p,
                           int64_t now);

/* Note that a change was applied to address at when (ns); message (one
   line, may be NULL) replaces the resource's. Unknown addresses are
   ignored. */
void dl_status_mark_applied(struct dl_status *s, const char *address,
                            int64_t when, const char *message);

/* Set a project's flags (created if unknown): suspended (kill switch on),
   lease ("held", "held by <holder>", "" when unknown). */
void dl_status_set_project(struct dl_status *s, const char *project,
                           int suspended, const char *lease);

/* Append a finished pass (the oldest drops out when the ring is full). */
void dl_status_record_pass(struct dl_status *s,
                           const struct dl_status_pass *pass);

/*
 * Readiness as /readyz wants it: 1 when some pass has succeeded and the
 * last success ended within max_age_ns of now (max_age_ns <= 0: no age
 * limit); else 0 with a one-line reason in reason (reason_size bytes).
 */
int dl_status_ready(struct dl_status *s, int64_t now, int64_t max_age_ns,
                    char *reason, size_t reason_size);

/* Context of dl_status_readyz: the status and the largest age of the last
   success (ns; <= 0: no limit). Caller-owned; must outlive the server. */
struct dl_status_readiness {
    struct dl_status *status;
    int64_t max_age_ns;
};

/* dl_status_ready at the current wall-clock time, shaped as an httpd
   ready callback (dl_httpd_ready_fn): ctx is a struct
   dl_status_readiness. */
int dl_status_readyz(void *ctx, char *reason, size_t reason_size);

/*
 * Append the status as JSON (one object; docs/internals/controller.md has
 * the schema) or as an HTML page (no JavaScript, everything escaped) to
 * out, at time now. 0, or DL_ELIMIT when out's cap is reached.
 */
int dl_status_render_json(struct dl_buf *out, struct dl_status *s,
                          int64_t now) DL_WUR;
int dl_status_render_html(struct dl_buf *out, struct dl_status *s,
                          int64_t now) DL_WUR;

/*
 * Append s HTML-escaped (& < > " ') to out; invalid UTF-8, C0/C1 controls
 * other than tab and newline, and bidi overrides (U+202A-U+202E,
 * U+2066-U+2069) become U+FFFD. 0, or DL_ELIMIT.
 */
int dl_status_html_escape(struct dl_buf *out, const char *s);

#endif
