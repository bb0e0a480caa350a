/*
 * apply_probe REPO PROJECT NAME IMAGE - make one declared CloudRunService
 * live the way apply will: GET the service, build the body with
 * dl_cloud_run_desired_service (commit annotation: the repository's HEAD),
 * PATCH it (POST ?serviceId= when it does not exist), wait for the
 * operation. The plan tests then expect it to plan as in sync. Exit 0, or
 * 1 with the error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcp/gcp.h"
#include "model/model.h"
#include "provider/cloud_run.h"
#include "source/source.h"
#include "util/alloc.h"

int main(int argc, char **argv)
{
    struct dl_source_opts sopts = {0};
    struct dl_gcp_client_opts gopts = {0};
    struct dl_source *src = NULL;
    struct dl_model *model = NULL;
    struct dl_gcp_client *gcp = NULL;
    struct dl_gcp_lro_opts lro = {.use_wait = 1};
    struct dl_diags diags;
    struct dl_err err;
    const struct dl_resource *r;
    json_t *live = NULL, *body = NULL, *op = NULL, *done = NULL;
    char *path = NULL;
    int rc = 1, got;

    if (argc != 5) {
        fprintf(stderr, "usage: apply_probe REPO PROJECT NAME IMAGE\n");
        return 2;
    }
    dl_diags_init(&diags);
    sopts.source = argv[1];
    if (dl_source_open(&src, &sopts, &err) < 0 ||
        dl_model_load(&model, src->tree, src->id.path, &diags, &err) < 0)
        goto fail;
    r = dl_model_find(model, DL_KIND_CLOUD_RUN_SERVICE, argv[2], argv[3]);
    if (!r) {
        fprintf(stderr, "apply_probe: '%s' is not declared\n", argv[3]);
        goto done;
    }
    if (dl_gcp_client_new(&gcp, &gopts, &err) < 0)
        goto fail;
    path = dl_asprintf("/v2/projects/%s/locations/%s/services/%s", argv[2],
                       r->spec.run.region, argv[3]);
    got = dl_gcp_call(gcp, DL_GCP_RUN, "GET", path, NULL, &live, &err);
    if (got < 0 && got != DL_ENOTFOUND)
        goto fail;
    body = dl_cloud_run_desired_service(live, &r->spec.run, argv[4],
                                        src->id.commit);
    if (live) {
        rc = dl_gcp_call(gcp, DL_GCP_RUN, "PATCH", path, body, &op, &err);
    } else {
        char *create = dl_asprintf("/v2/projects/%s/locations/%s/services"
                                   "?serviceId=%s",
                                   argv[2], r->spec.run.region, argv[3]);

        rc = dl_gcp_call(gcp, DL_GCP_RUN, "POST", create, body, &op, &err);
        free(create);
    }
    if (rc < 0 || dl_gcp_lro_wait(gcp, DL_GCP_RUN, op, &lro, &done, &err) < 0)
        goto fail;
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "apply_probe: %s\n", err.msg);
    rc = 1;
done:
    json_decref(done);
    json_decref(op);
    json_decref(body);
    json_decref(live);
    free(path);
    dl_gcp_client_free(gcp);
    dl_model_free(model);
    dl_source_free(src);
    dl_diags_dispose(&diags);
    return rc;
}
