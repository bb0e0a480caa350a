/*
 * iam_store.h - the IAM policies observed in one pass, shared by the
 * IAMPolicyMember and IAMPolicyBinding providers (and, later, apply).
 *
 * One entry per policy (a project's, or a Cloud Run service's), keyed by
 * the policy's resource name ("projects/P",
 * "projects/P/locations/R/services/S"). However many IAM resources name a
 * policy, it is read once: the first dl_iam_store_queue for a name queues
 * its getIamPolicy (requestedPolicyVersion 3) and later ones return the
 * same entry. The store lives in pass->state[DL_KIND_IAM_POLICY_MEMBER]
 * (created by the first dl_iam_store_get, freed by that provider's
 * dispose); the pass observes IAMPolicyMember before IAMPolicyBinding and
 * disposes after every diff, so both providers see the same store.
 */
#ifndef DL_PROVIDER_IAM_STORE_H
#define DL_PROVIDER_IAM_STORE_H

#include <jansson.h>

#include "provider/provider.h"

struct dl_iam_policy_obs {
    char *name; /* "projects/P" or "projects/P/locations/R/services/S" */
    enum dl_gcp_api api; /* DL_GCP_RESOURCEMANAGER or DL_GCP_RUN */
    int done;            /* the request completed (either way) */
    int rc;              /* 0, or the DL_E* code of the failure */
    char *error;         /* the failure's message, or NULL */
    json_t *policy;      /* the Policy as returned (owned), or NULL */
};

struct dl_iam_store {
    struct dl_iam_policy_obs **obs; /* stable pointers (callbacks hold them) */
    size_t n, cap;
};

/* The pass's store, created empty on first use. Never NULL. */
struct dl_iam_store *dl_iam_store_get(struct dl_pass *pass);

/* The entry for name, or NULL when none was queued. */
struct dl_iam_policy_obs *dl_iam_store_find(const struct dl_iam_store *s,
                                            const char *name);

/*
 * The entry for name, queuing its getIamPolicy on gcp when it is
 * new: POST /v1/{name}:getIamPolicy {"options":{"requestedPolicyVersion":3}}
 * for a project, GET /v2/{name}:getIamPolicy?options.requestedPolicyVersion=3
 * for a Cloud Run service (api says which). A request that cannot even be
 * queued leaves the entry done with its error. Never NULL.
 */
struct dl_iam_policy_obs *dl_iam_store_queue(struct dl_iam_store *s,
                                             struct dl_gcp_client *gcp,
                                             const char *name,
                                             enum dl_gcp_api api);

/*
 * Prepare pr from the observation o of its policy (o may be NULL: never
 * queued): when the policy was read, set pr's preconditions {"resource":
 * name, "etag", "version"} and return 0; otherwise set pr's error status
 * with the reason ("getIamPolicy on 'projects/p' failed: ...") and return
 * DL_ERROR.
 */
int dl_iam_obs_prepare(struct dl_plan_resource *pr,
                       const struct dl_iam_policy_obs *o, const char *name);

/* Free s and every entry (NULL-safe). */
void dl_iam_store_free(struct dl_iam_store *s);

/*
 * The policy an IAMPolicyMember's `resource` names. NULL or "" is the
 * resource's own project ("projects/<project>", Resource Manager);
 * "projects/P" (optionally prefixed "cloudresourcemanager.googleapis.com/")
 * is project P's; "run.googleapis.com/projects/P/locations/R/services/S"
 * (or without the host) is a Cloud Run service's. Each may start with "//"
 * (Google's full resource name). *name gets a malloc'd resource name
 * (free()), *api its API. 0, or DL_EINVALID (*name NULL) with a message
 * quoting resource for any other form.
 */
int dl_iam_resource_parse(char **name, enum dl_gcp_api *api,
                          const char *project, const char *resource,
                          struct dl_err *err) DL_WUR;

#endif
