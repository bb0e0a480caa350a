/*
 * fuzz_gcp_storage.c - libFuzzer target for Cloud Storage as the
 * StorageBucketPolicy provider reads it: the input answers the project's
 * buckets list and the first object probes (objects.list with
 * maxResults=1, versions, then soft-deleted), while the bucket
 * "nba-empty" is always probed empty; planned through the real pass
 * (fuzz_pass.h checks). A bucket whose probe was answered by an input with
 * objects in it must never be planned for deletion.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_pass.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char resources[] = "apiVersion: driftless.dev/v1alpha1\n"
                                "kind: StorageBucketPolicy\n"
                                "metadata:\n"
                                "  name: empty-buckets\n"
                                "spec:\n"
                                "  bucketPattern: \"nba-.*\"\n"
                                "  whenEmpty: delete\n"
                                "  maxDeletesPerRun: 2\n";

#define EMPTY "HTTP/1.1 200 OK\r\n\r\n{\"kind\": \"storage#objects\"}"

static const struct fuzz_answer fixed[] = {
    FUZZ_PROJECT_ANSWER,
    {"GET", "/storage/v1/b/nba-empty/o?*", EMPTY},
    {"GET", "/storage/v1/b/nba-empty/o?*", EMPTY},
    {0}};

static const struct fuzz_pass_case fc = {
    .resources = resources,
    .fixed = fixed,
    .method = "GET",
    .patterns = {"/storage/v1/b?project=fuzz-project*", "/storage/v1/b/*",
                 "/storage/v1/b/*", "/storage/v1/b/*"},
};

static int input_has_objects;

static void check(const struct dl_plan *p)
{
    for (size_t i = 0; i < p->nresources; i++) {
        const struct dl_plan_hygiene *h = p->resources[i]->hygiene;

        /* Only nba-empty (and buckets probed with an empty input) can be
         * empty; with objects in every input probe, at most nba-empty. */
        if (h && input_has_objects && h->empty > 1) {
            fprintf(stderr, "%lld buckets planned empty\n",
                    (long long)h->empty);
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *j = json_loadb((const char *)data, size, 0, NULL);

    input_has_objects = json_array_size(json_object_get(j, "items")) > 0 ||
                        json_array_size(json_object_get(j, "prefixes")) > 0;
    json_decref(j);
    fuzz_pass_run(&fc, data, size, check);
    return 0;
}
