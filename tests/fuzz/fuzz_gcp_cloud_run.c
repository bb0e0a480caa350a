/*
 * fuzz_gcp_cloud_run.c - libFuzzer target for the Cloud Run Admin v2
 * answers as the CloudRunService provider reads them: the input answers
 * both the services list and the revisions list of the location (a body
 * may hold "services" and "revisions"), planned through the real pass
 * (fuzz_pass.h checks). Then every listed service, and the input itself as
 * a single Service (what apply GETs), goes through apply's body builder:
 * the body dl_cloud_run_desired_service builds from a live service must
 * compare equal to the spec (a PATCH changes exactly what the plan lists).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_pass.h"
#include "provider/cloud_run.h"
#include "provider/cloud_run_apply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char resources[] =
    "apiVersion: driftless.dev/v1alpha1\n"
    "kind: CloudRunService\n"
    "metadata:\n"
    "  name: api\n"
    "spec:\n"
    "  build:\n"
    "    dockerfile: svc/Dockerfile\n"
    "  serviceAccount: api@fuzz-project.iam.gserviceaccount.com\n"
    "  env:\n"
    "    MODE: live\n"
    "    API_TOKEN: not-a-secret\n"
    "  resources: {cpu: \"1\", memory: 512Mi}\n"
    "  scaling: {minInstances: 1, maxInstances: 5}\n"
    "  concurrency: 10\n"
    "  timeout: 5m\n"
    "  labels: {team: fuzz}\n"
    "  traffic: latest\n"
    "  ignoreFields: [spec.labels.run-id]\n"
    "---\n"
    "apiVersion: driftless.dev/v1alpha1\n"
    "kind: CloudRunService\n"
    "metadata:\n"
    "  name: web\n"
    "spec:\n"
    "  image: us-west2-docker.pkg.dev/fuzz-project/services/web:1\n";

static const struct fuzz_answer fixed[] = {FUZZ_PROJECT_ANSWER, {0}};

static const struct fuzz_pass_case fc = {
    .resources = resources,
    .fixed = fixed,
    .method = "GET",
    .patterns = {"/v2/projects/fuzz-project/locations/us-west2/services?*",
                 "/v2/projects/fuzz-project/locations/us-west2/services/-/"
                 "revisions?*"},
};

#define COMMIT "0123456789abcdef0123456789abcdef01234567"

static void round_trip(const struct dl_model *m, const json_t *live)
{
    for (size_t i = 0; i < m->n_resources; i++) {
        const struct dl_resource *r = m->resources[i];
        const struct dl_cloud_run_spec *s = &r->spec.run;
        struct dl_plan *p;
        struct dl_cloud_run_differ d = {0};
        json_t *body;

        if (r->kind != DL_KIND_CLOUD_RUN_SERVICE)
            continue;
        (void)dl_cloud_run_serving_revision(live);
        body = dl_cloud_run_desired_service(
            live, s,
            s->image ? s->image : "us-west2-docker.pkg.dev/x/y@sha256:0",
            s->image ? NULL : COMMIT);
        if (!json_is_object(body))
            abort();
        p = dl_plan_new();
        d.pr =
            dl_plan_add_resource(p, "fuzz-project", "CloudRunService", r->name);
        d.spec = s;
        dl_cloud_run_diff_service(&d, body, s, s->image ? NULL : COMMIT);
        if (d.pr->nchanges > 0) {
            fprintf(stderr, "desired body of %s still differs at %s\n", r->name,
                    d.pr->changes[0].path);
            abort();
        }
        dl_plan_free(p);
        json_decref(body);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *j, *svcs;
    size_t i;
    json_t *v;

    fuzz_pass_run(&fc, data, size, NULL);
    j = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (json_is_object(j)) {
        const struct dl_model *m = fuzz_pass_model(resources);

        round_trip(m, j);
        svcs = json_object_get(j, "services");
        json_array_foreach(svcs, i, v) if (json_is_object(v)) round_trip(m, v);
    }
    json_decref(j);
    return 0;
}
