/*
 * import.h - `driftless import`: desired-state YAML for what is live in a
 * project (docs/cli.md, docs/internals/import.md).
 *
 * Two steps, so that the rendering is testable without a network:
 *   dl_import_observe  reads the project (Resource Manager), its Cloud Run
 *                      services in each region (the list the
 *                      CloudRunService provider uses, one per region) and
 *                      its IAM policy (the getIamPolicy the IAM providers
 *                      use);
 *   dl_import_render   turns that into files: project.yaml (a Project in
 *                      report mode), services/<name>.yaml (one
 *                      CloudRunService each) and iam.yaml (an
 *                      IAMPolicyBinding per role and condition, or
 *                      IAMPolicyMember documents when some member of the
 *                      role cannot be declared). What cannot be declared is
 *                      left out with a warning; what is written plans as
 *                      in sync against the same live state.
 * Secret values are never read: env secrets stay references. Plain env
 * values are live configuration and are written.
 */
#ifndef DL_IMPORT_IMPORT_H
#define DL_IMPORT_IMPORT_H

#include <jansson.h>
#include <stddef.h>

#include "gcp/gcp.h"
#include "util/err.h"

/* What is live; filled by dl_import_observe or by hand (tests). */
struct dl_import_live {
    const char *project;        /* project ID */
    const char *const *regions; /* the regions imported; the first is the
                                   Project's region */
    size_t n_regions;           /* >= 1 */
    json_t *services;           /* array of Cloud Run v2 Services as
                                   listed (full names), owned */
    json_t *policy;             /* the project's IAM Policy, owned */
};

/* One file to write, relative to the output directory. */
struct dl_import_file {
    char *path; /* "project.yaml", "services/api.yaml", "iam.yaml" */
    char *text; /* the YAML */
};

struct dl_import_result {
    struct dl_import_file *files; /* sorted by path */
    size_t n_files;
    char **warnings; /* one line each: what was left out and why */
    size_t n_warnings;
    size_t n_services; /* CloudRunService documents written */
    size_t n_bindings; /* IAMPolicyBinding documents written */
    size_t n_members;  /* IAMPolicyMember documents written */
};

/*
 * Observe live->project in live->regions with gcp, filling live->services
 * and live->policy (new references; live->project, regions and n_regions
 * are the caller's and must be set). Runs gcp's loop. Errors (nothing
 * filled): DL_ENOTFOUND / DL_EAUTH ... as Google answered, with "cannot
 * read project 'P': ..." for the project itself (Google answers 403 for a
 * project that does not exist), "cannot list Cloud Run services of
 * project 'P' in 'R': ...", "cannot read the IAM policy of 'projects/P':
 * ..."; DL_EINVALID for a project that is not ACTIVE.
 */
int dl_import_observe(struct dl_import_live *live, struct dl_gcp_client *gcp,
                      struct dl_err *err) DL_WUR;

/* Release live->services and live->policy (the rest is the caller's). */
void dl_import_live_dispose(struct dl_import_live *live);

/*
 * Render live as desired-state files (pure). *out is new (free with
 * dl_import_result_free). Deterministic: the same live state gives the
 * same bytes (services and IAM entries sorted, members sorted, keys in a
 * fixed order; env keeps the container's order, which Cloud Run gives
 * meaning to). 0, or DL_EINVALID when live has no project or region.
 */
int dl_import_render(struct dl_import_result **out,
                     const struct dl_import_live *live,
                     struct dl_err *err) DL_WUR;

void dl_import_result_free(struct dl_import_result *r);

#endif
