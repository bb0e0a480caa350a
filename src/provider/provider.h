/*
 * provider.h - one provider per desired-state kind, and the planning pass
 * that runs them.
 *
 * A provider is a const vtable in its own file (src/provider/<kind>.c,
 * exporting `const struct dl_provider dl_provider_<kind>`), listed once in
 * registry.c in apply order (IAM, builds/services, hygiene).
 *
 * A pass plans a model against the live project in three steps:
 *   1. observe: every provider QUEUES its batched requests on the Google
 *      client (one list per project and region, one getIamPolicy per
 *      project, one streamed runQuery per collection, ...). Nothing is
 *      sent yet; completion callbacks store results in pass->state[kind]
 *      and may queue follow-ups (next page, a revision's details).
 *   2. the pass runs the client loop ONCE, so every observation of every
 *      kind runs concurrently;
 *   3. diff: every provider turns its observations into plan resources
 *      (one per selected declared resource, plus orphans), with status,
 *      action, field changes, preconditions and notes.
 * An API failure that concerns one resource becomes that resource's
 * `error` status (dl_plan_resource_set_error); the rest of the plan is
 * still built. observe/diff return an error only when the pass itself
 * cannot go on.
 */
#ifndef DL_PROVIDER_PROVIDER_H
#define DL_PROVIDER_PROVIDER_H

#include "gcp/gcp.h"
#include "model/model.h"
#include "plan/plan.h"
#include "source/source.h"
#include "util/err.h"

struct dl_pass_opts {
    const char *project;     /* --project: only this project; NULL: all */
    const char *const *only; /* --only KIND/NAME filters; NULL/0: all */
    size_t n_only;
    int64_t now_ns; /* "now" for ages; 0: the wall clock */
    /* Keep what providers observed after the pass (dl_pass_keep) for an
       apply in the same process to reuse (apply.h, dl_apply_observed). */
    int keep_observations;
};

struct dl_pass {
    const struct dl_model *model;
    struct dl_source *source; /* ancestry and blame; NULL for a plain
                                 directory (then provenance is unknown) */
    struct dl_gcp_client *gcp;
    struct dl_plan *plan; /* built by diff; owned by the caller */
    struct dl_pass_opts opts;
    int64_t now_ns;             /* resolved opts.now_ns */
    void *state[DL_KIND_COUNT]; /* each provider's observations */
    /* With opts.keep_observations: what dispose handed over (dl_pass_keep);
       freed by dl_pass_release_kept. */
    void *kept[DL_KIND_COUNT];
    void (*kept_free[DL_KIND_COUNT])(void *kept);
};

struct dl_apply; /* apply/apply.h: the executor's handle */

struct dl_provider {
    enum dl_kind kind;
    /* Queue the observation of every selected resource of this kind.
     * Submit only (dl_gcp_submit, dl_gcp_list_submit,
     * dl_firestore_run_query_submit): no synchronous calls. */
    int (*observe)(struct dl_pass *pass, struct dl_err *err);
    /* After the loop: add this kind's plan resources. */
    int (*diff)(struct dl_pass *pass, struct dl_err *err);
    /* Free pass->state[kind] (NULL-safe on a NULL state). */
    void (*dispose)(struct dl_pass *pass);
    /*
     * Apply (apply/apply.h, docs/apply.md): called once per phase this
     * kind takes part in (dl_apply_phase(ap); CloudRunService is called in
     * the build phase and again in the service phase) with ALL of this
     * kind's resources still to change in that phase (enforce mode, action
     * create/update/delete, not yet recorded, selected by --only), so one
     * call can merge related changes (every IAM member of one project into
     * one read-modify-write). It QUEUES work on dl_apply_gcp(ap), as observe
     * does; the executor then runs the client loop for the phase. Each
     * resource's outcome is reported exactly once, from here or from a
     * completion callback, with dl_apply_record (a resource left
     * unrecorded after the last phase fails with "no outcome reported").
     * Deletions are asked for with dl_apply_reserve_deletes first.
     * Return an error only when nothing of this kind can be attempted: every
     * resource passed and not yet recorded is then failed with err's
     * message. NULL: "applying KIND is not implemented yet" (failed).
     */
    int (*apply)(struct dl_apply *ap, struct dl_plan_resource *const *rs,
                 size_t n, struct dl_err *err);
};

/* Every provider, in apply order, NULL-terminated. */
extern const struct dl_provider *const dl_providers[];
/* The provider of kind (NULL when none). */
const struct dl_provider *dl_provider_for(enum dl_kind kind);

/* Is r selected by the pass's --project and --only filters? */
int dl_pass_selected(const struct dl_pass *pass, const struct dl_resource *r);

/*
 * Add r's plan resource: address project/Kind/name, defined_at (file:line)
 * and the commit that last changed that line (blame; "" without git),
 * mode. Status in_sync, action none until the provider says otherwise.
 */
struct dl_plan_resource *dl_pass_add(struct dl_pass *pass,
                                     const struct dl_resource *r);

/*
 * Set status and action together from the drift found and r's mode:
 * drifted/missing in enforce mode -> update/create (or delete), in report
 * mode -> report.
 */
void dl_pass_set_drift(struct dl_plan_resource *pr, enum dl_plan_status st,
                       enum dl_plan_action enforce_action);

/*
 * Run a whole pass: observe with every provider, run the client loop,
 * diff with every provider, dispose. 0, or the error that stopped the
 * pass (per-resource failures are in the plan, not here).
 */
int dl_pass_run(struct dl_pass *pass, struct dl_err *err) DL_WUR;

/*
 * From a provider's dispose, when pass->opts.keep_observations: hand kept
 * (owned by the pass from now on; free_fn frees it) over as kind's kept
 * observations, replacing (and freeing) earlier ones.
 */
void dl_pass_keep(struct dl_pass *pass, enum dl_kind kind, void *kept,
                  void (*free_fn)(void *kept));
/* Free every kept observation of pass (NULL-safe). */
void dl_pass_release_kept(struct dl_pass *pass);

#endif
