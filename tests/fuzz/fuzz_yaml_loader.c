/*
 * fuzz_yaml_loader.c - libFuzzer target for the desired-state loader: the
 * input is one YAML file, loaded and validated with dl_model_load through an
 * in-memory tree that also holds a Project above it, the sample monorepo's
 * Dockerfiles and a revision (so every check runs, including revisions),
 * then rendered as text and JSON diagnostics.
 */
#include <stdint.h>
#include <stdlib.h>

#include "mem_tree.h"
#include "model/model.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char project[] =
    "apiVersion: driftless.dev/v1alpha1\n"
    "kind: Project\n"
    "metadata:\n"
    "  name: fuzz-project\n"
    "spec:\n"
    "  region: us-west2\n"
    "  build:\n"
    "    imageRepository: us-west2-docker.pkg.dev/fuzz-project/services\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dl_tree *t = mem_tree_new("fuzz tree", 1);
    struct dl_buf out = DL_BUF_INIT((size_t)64 << 20);
    struct dl_model *m = NULL;
    struct dl_diags d;
    struct dl_err err;

    mem_tree_add_str(t, "ds/project.yaml", project);
    mem_tree_add(t, "ds/team/input.yaml", (const char *)data, size);
    mem_tree_add_str(t, "data_processors/raw/Dockerfile", "FROM scratch\n");
    mem_tree_add_str(t, "predictions/worker/Dockerfile", "FROM scratch\n");
    mem_tree_add_rev(t, "heartbeat-fix",
                     "0123456789abcdef0123456789abcdef01234567");
    dl_diags_init(&d);
    if (dl_model_load(&m, t, "ds", &d, &err) == 0) {
        /* Walk what later stages read. */
        for (size_t i = 0; i < m->n_resources; i++)
            (void)dl_resource_field_pos(m->resources[i], "spec.mode");
    }
    if (dl_diags_format_text(&d, &out) != 0)
        abort();
    dl_buf_reset(&out);
    if (dl_diags_format_json(&d, &out) != 0)
        abort();
    dl_buf_dispose(&out);
    dl_model_free(m);
    dl_diags_dispose(&d);
    dl_tree_free(t);
    return 0;
}
