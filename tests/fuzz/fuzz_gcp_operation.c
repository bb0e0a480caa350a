/*
 * fuzz_gcp_operation.c - libFuzzer target for long-running operations: the
 * input is an operation as a mutation returns it and also every poll's
 * answer (GET /v1/<name> for Cloud Build, POST /v2/<name>:wait for Cloud
 * Run), waited for with dl_gcp_lro_wait. A finished operation's result is
 * then read as apply reads it: a Cloud Build operation's metadata.build
 * (its image digest, its failure message) and a Cloud Run Service response
 * (its serving revision). Failures must be one-line DL_E* errors.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_pass.h"
#include "provider/cloud_run_apply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const build_polls[] = {"/v1/*", "/v1/*", "/v1/*", NULL};
static const char *const run_polls[] = {"/v2/*", "/v2/*", "/v2/*", NULL};

static void wait_for(json_t *op, enum dl_gcp_api api, const uint8_t *data,
                     size_t size)
{
    const struct dl_gcp_lro_opts opts = {.use_wait = api == DL_GCP_RUN};
    struct dl_gcp_client *c =
        fuzz_client(NULL, api == DL_GCP_RUN ? "POST" : "GET",
                    api == DL_GCP_RUN ? run_polls : build_polls, data, size, 0);
    json_t *resp = NULL;
    struct dl_err err;
    int rc = dl_gcp_lro_wait(c, api, op, &opts, &resp, &err);

    if (rc > 0 || (rc < 0 && (resp || err.code != rc || !err.msg[0] ||
                              strchr(err.msg, '\n')))) {
        fprintf(stderr, "lro: rc %d, message '%s'\n", rc, err.msg);
        abort();
    }
    if (rc == 0) {
        if (!resp)
            abort();
        (void)dl_cloud_run_serving_revision(resp);
    }
    json_decref(resp);
    dl_gcp_client_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *op = json_loadb((const char *)data, size, 0, NULL);
    json_t *build;

    if (!op)
        return 0;
    wait_for(op, DL_GCP_CLOUDBUILD, data, size);
    wait_for(op, DL_GCP_RUN, data, size);
    build = json_object_get(json_object_get(op, "metadata"), "build");
    if (!build)
        build = op; /* builds.get answers the Build itself */
    free(dl_cloud_run_build_image(build, "api",
                                  "us-west2-docker.pkg.dev/p/services",
                                  "0123456789abcdef0123456789abcdef01234567"));
    (void)dl_cloud_run_build_failure(build);
    json_decref(op);
    return 0;
}
