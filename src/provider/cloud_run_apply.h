/*
 * cloud_run_apply.h - `driftless apply` for CloudRunService
 * (cloud_run_apply.c, docs/apply.md): the apply hook and its pure helpers.
 */
#ifndef DL_PROVIDER_CLOUD_RUN_APPLY_H
#define DL_PROVIDER_CLOUD_RUN_APPLY_H

#include <jansson.h>
#include <stddef.h>

#include "model/model.h"
#include "plan/plan.h"
#include "util/err.h"

struct dl_apply;

/*
 * The provider's apply hook (provider.h). Build phase: for each service
 * with spec.build whose serving revision does not carry the desired commit
 * and Dockerfile (or that is missing), reuse a queued, running or finished
 * build of the same service, commit and Dockerfile, else start one; wait
 * for it and keep the image digest for the service phase (a failed build
 * fails the resource with the build's statusDetail). Service phase:
 * re-read the service, refuse it when its etag moved since the plan,
 * create (POST ?serviceId=) or PATCH it with dl_cloud_run_desired_service,
 * wait for the operation, and confirm the latest created revision is ready
 * and traffic is as declared; orphans (action delete) are deleted with
 * ?etag=. Queues one services list per (project, region) and phase; never
 * fails as a whole (returns 0).
 */
int dl_cloud_run_apply(struct dl_apply *ap, struct dl_plan_resource *const *rs,
                       size_t n, struct dl_err *err);

/* The revision serving most traffic of Service svc (LATEST resolved to
 * latestReadyRevision): a short or full name borrowed from svc, or NULL. */
const char *dl_cloud_run_serving_revision(const json_t *svc);

/* The builds.list filter finding driftless's builds of service at commit
 * with dockerfile (tags and the _DL_DOCKERFILE substitution). malloc'd. */
char *dl_cloud_run_build_filter(const char *service, const char *commit,
                                const char *dockerfile);

/*
 * The Cloud Build Build to create: gitSource {url: source_url, revision:
 * commit}, one step `docker build -f <dockerfile> -t <repo>/<service>:
 * <commit> <context>`, images [that tag], tags driftless, commit-<commit>,
 * service-<service>, substitutions _DL_DOCKERFILE and _DL_SERVICE. New
 * reference.
 */
json_t *dl_cloud_run_build_body(const char *service,
                                const struct dl_cloud_run_spec *s,
                                const char *source_url, const char *repo,
                                const char *commit);

/* From a SUCCESS Build: "<repo>/<service>@sha256:..." of the image tagged
 * <repo>/<service>:<commit> (malloc'd), or NULL when it was not pushed. */
char *dl_cloud_run_build_image(const json_t *build, const char *service,
                               const char *repo, const char *commit);

/* A failed Build's message: statusDetail, else failureInfo.detail.
 * Borrowed from build. */
const char *dl_cloud_run_build_failure(const json_t *build);

#endif
