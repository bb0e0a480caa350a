/*
 * cloud_run.h - the CloudRunService provider's observations and its pure
 * comparison helpers (cloud_run_diff.c).
 *
 * Observation (cloud_run_service.c) lists, per (project, region) of the
 * selected services, every service and every revision of the location
 * (two paginated lists, never one GET per service) and keeps them in
 * pass->state[DL_KIND_CLOUD_RUN_SERVICE] as a struct dl_cloud_run_state,
 * for diff and later for apply. docs/internals/provider-cloud-run.md.
 *
 * The helpers below compare one declared spec with one live Service (the
 * real Cloud Run Admin v2 JSON). They are pure: no I/O, no git.
 */
#ifndef DL_PROVIDER_CLOUD_RUN_H
#define DL_PROVIDER_CLOUD_RUN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "gcp/gcp.h"
#include "model/model.h"
#include "plan/plan.h"
#include "util/err.h"

/* The label driftless puts on every service it manages. */
#define DL_CLOUD_RUN_MANAGED_KEY "managed-by"
#define DL_CLOUD_RUN_MANAGED_VALUE "driftless"
/* The revision template annotations that record provenance. */
#define DL_CLOUD_RUN_ANN_COMMIT "driftless.dev/commit"
#define DL_CLOUD_RUN_ANN_DOCKERFILE "driftless.dev/dockerfile"

/* What was observed in one project and region. */
struct dl_cloud_run_location {
    char *project; /* project ID */
    char *region;
    /* Service ID ("api") -> the Service as listed (etag, generation,
     * template, traffic, trafficStatuses, latest*Revision, conditions...). */
    json_t *services;
    /* Full revision name ("projects/p/locations/r/services/s/revisions/
     * s-00001-abc") -> the Revision as listed (annotations, conditions). */
    json_t *revisions;
    /* Non-zero: keep of each service and revision only what the plan's
     * diff reads (see dl_cloud_run_state.compact). */
    int compact;
    int services_rc;  /* 0, or the DL_E* code of the failed services list */
    int revisions_rc; /* 0, or the DL_E* code of the failed revisions list */
    struct dl_err services_err, revisions_err; /* when *_rc < 0 */
};

/* pass->state[DL_KIND_CLOUD_RUN_SERVICE]. */
struct dl_cloud_run_state {
    struct dl_cloud_run_location **locs; /* each allocated once, stable */
    size_t nlocs;
    /* Set before adding locations: keep of each listed service only the
     * members the plan reads (name, labels, traffic, trafficStatuses,
     * terminalCondition, reconciling, generation, etag, latest*Revision;
     * of the template its serviceAccount, scaling,
     * maxInstanceRequestConcurrency, timeout, the driftless.dev/commit and
     * driftless.dev/dockerfile annotations and the first container's
     * image, env and resources.limits) and of each revision those two
     * annotations and its failed conditions (json null when it has
     * neither). The plan sets it (at org scale the lists were half of its
     * memory); import, which renders whole services, does not. */
    int compact;
};

/*
 * The location (project, region) of st, queuing its observation on gcp
 * when it is new: the paginated services list and, when revisions is
 * non-zero, the revisions list (services/-/revisions). Results arrive when
 * gcp's loop runs; a list that fails (or cannot be queued) sets the
 * location's *_rc and *_err. NULL (nothing queued) when project or region
 * is NULL. The location belongs to st.
 */
struct dl_cloud_run_location *
dl_cloud_run_state_add(struct dl_cloud_run_state *st, struct dl_gcp_client *gcp,
                       const char *project, const char *region, int revisions);

/* Free st and every location (NULL-safe). */
void dl_cloud_run_state_free(struct dl_cloud_run_state *st);

/* The location (project, region) of st, or NULL. */
struct dl_cloud_run_location *
dl_cloud_run_state_find(const struct dl_cloud_run_state *st,
                        const char *project, const char *region);

/*
 * Collects the changes of one plan resource, leaving out what is ignored:
 * the built-in list (dl_cloud_run_builtin_ignored) and the resource's
 * ignoreFields (matched against both the desired-state path,
 * "spec.labels.team", and the API path, "labels.team").
 */
struct dl_cloud_run_differ {
    struct dl_plan_resource *pr;          /* changes are added here */
    const struct dl_cloud_run_spec *spec; /* its ignoreFields */
    size_t added;                         /* changes added */
    size_t ignored;                       /* differences left out */
};

/*
 * Does pattern select path? A pattern matches a path equal to it, or a
 * path below it (the path continues with '.' or '['); '*' in a pattern
 * matches any run of characters. 1 or 0.
 */
int dl_cloud_run_path_matches(const char *pattern, const char *path);

/*
 * Is api_path (e.g. "template.annotations.run.googleapis.com/operation-id")
 * something Cloud Run sets or defaults by itself (operation and client
 * annotations, launch stage, ingress, default probes and ports, status
 * fields)? Such paths are never diffed. 1 or 0.
 */
int dl_cloud_run_builtin_ignored(const char *api_path);

/*
 * Is a field ignored for s: by the built-in list (api_path), or by one of
 * s's ignoreFields matching api_path or spec_path (either may be NULL)?
 * 1 or 0.
 */
int dl_cloud_run_ignored(const struct dl_cloud_run_spec *s,
                         const char *api_path, const char *spec_path);

/*
 * Add a change at api_path unless it is ignored (see struct
 * dl_cloud_run_differ); spec_path is the desired-state field ("spec.env.X").
 * Takes ownership of before and after in every case (NULL: absent).
 * Returns 1 when added, 0 when ignored.
 */
int dl_cloud_run_change(struct dl_cloud_run_differ *d, const char *api_path,
                        const char *spec_path, json_t *before, json_t *after,
                        int sensitive);

/*
 * Quantity comparison: does the live Cloud Run value ("1000m", "2",
 * "512Mi", "2G") equal the desired amount? Unparsable live values are not
 * equal. 1 or 0.
 */
int dl_cloud_run_cpu_equal(const char *live, int64_t desired_millis);
int dl_cloud_run_memory_equal(const char *live, int64_t desired_bytes);

/* Format a timeout as Cloud Run writes it ("300s", "1.5s") into out
 * (at least 32 bytes). Returns out. */
char *dl_cloud_run_format_timeout(char *out, size_t size, int64_t ns);

/*
 * Does an environment variable's name suggest a secret (KEY, TOKEN,
 * SECRET, PASSWORD, PASSWD, CREDENTIAL, PRIVATE, AUTH, WEBHOOK, in any
 * case)? Changes of such plain values are masked. 1 or 0.
 */
int dl_cloud_run_env_name_sensitive(const char *name);

/*
 * The declared env against the live container's env (JSON array of
 * {name, value} / {name, valueSource: {secretKeyRef: {secret, version}}},
 * may be NULL). Declared env is the container's whole env: a live variable
 * not declared is a change to absent. Secret references compare by secret
 * name (the last segment of a full resource name) and version ("latest"
 * when absent); a change between a plain value and a secret reference, or
 * of a plain value whose name suggests a secret, is sensitive (masked).
 */
void dl_cloud_run_diff_env(struct dl_cloud_run_differ *d, const json_t *live,
                           const struct dl_env *env, size_t n);

/*
 * Traffic in a canonical form, for comparison and display: an array of
 * {type, revision?, percent, tag?} ("type" TRAFFIC_TARGET_ALLOCATION_TYPE_
 * LATEST or ..._REVISION), sorted, targets with percent 0 and no tag left
 * out. _desired builds it from the spec (traffic: latest is all traffic on
 * LATEST); _live from a Service's "traffic" (NULL or absent: Cloud Run's
 * default, 100% LATEST). New references.
 */
json_t *dl_cloud_run_traffic_desired(const struct dl_cloud_run_spec *s);
json_t *dl_cloud_run_traffic_live(const json_t *traffic);

/*
 * Compare every declared field of s with the live Service svc (NULL: the
 * service does not exist; every declared field is then a change from
 * absent): image (not with build: the image is known only after the
 * build), the commit and dockerfile annotations of the template (with
 * build; desired_commit NULL: unknown, not compared), env, serviceAccount,
 * cpu and memory, min/max instances, concurrency, timeout, declared labels
 * and the managed-by=driftless label, traffic. Cloud Run's defaults for
 * fields it fills in (timeout 300s, concurrency 80, min 0, max 100,
 * traffic 100% LATEST) count as the live value when absent.
 */
void dl_cloud_run_diff_service(struct dl_cloud_run_differ *d, const json_t *svc,
                               const struct dl_cloud_run_spec *s,
                               const char *desired_commit);

/*
 * For apply: the Service body that makes the live service what s declares.
 * live NULL (a create): a new Service holding only the declared fields.
 * Otherwise a copy of live without its output-only fields (uid, times,
 * generations, conditions, latest*Revision, trafficStatuses, uri(s),
 * reconciling) and without template.revision (a changed template needs a
 * new revision name; Cloud Run picks one), keeping name and etag (the
 * PATCH precondition), with every declared, not ignored field set as
 * dl_cloud_run_diff_service compares it, so that a PATCH without
 * updateMask changes exactly what the plan lists. image: the image to run
 * (s->image, or the digest a build produced; NULL keeps the live one).
 * commit: the driftless.dev/commit annotation (with build; NULL leaves it).
 * The env array is rebuilt: declared variables in order, then live ones
 * that ignoreFields keep. New reference.
 */
json_t *dl_cloud_run_desired_service(const json_t *live,
                                     const struct dl_cloud_run_spec *s,
                                     const char *image, const char *commit);

/* Does the live commit annotation (full or abbreviated, >= 7 hex digits)
 * name the desired commit (40 hex, or as written)? 1 or 0. */
int dl_cloud_run_commit_matches(const char *live, const char *desired);

/* The last '/'-separated segment of name ("s-00001-abc" of a full
 * revision name). Points into name. */
const char *dl_cloud_run_short_name(const char *name);

#endif
