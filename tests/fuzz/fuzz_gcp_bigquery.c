/*
 * fuzz_gcp_bigquery.c - libFuzzer target for BigQuery tables.list as the
 * BigQueryTablePolicy provider reads it: the input answers the dataset's
 * list, planned through the real pass (fuzz_pass.h checks). Beyond those,
 * every table the plan would delete must match tablePattern and be older
 * than olderThan (a table that satisfies the policy is never deleted).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_pass.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char resources[] = "apiVersion: driftless.dev/v1alpha1\n"
                                "kind: BigQueryTablePolicy\n"
                                "metadata:\n"
                                "  name: staging\n"
                                "spec:\n"
                                "  dataset: nba_staging\n"
                                "  tablePattern: \"staging_.*\"\n"
                                "  olderThan: 7d\n"
                                "  maxDeletesPerRun: 3\n";

static const struct fuzz_answer fixed[] = {FUZZ_PROJECT_ANSWER, {0}};

static const struct fuzz_pass_case fc = {
    .resources = resources,
    .fixed = fixed,
    .method = "GET",
    .patterns = {"/bigquery/v2/projects/fuzz-project/datasets/nba_staging/"
                 "tables?*"},
};

/* The pass's "now" (fuzz_pass.c), in ms. */
#define NOW_MS ((int64_t)1800000000 * 1000)
#define WEEK_MS ((int64_t)7 * 24 * 3600 * 1000)

static void check(const struct dl_plan *p)
{
    for (size_t i = 0; i < p->nresources; i++) {
        json_t *tables =
            json_object_get(p->resources[i]->preconditions, "tables");
        const char *id;
        json_t *t;

        if (p->resources[i]->action != DL_PLAN_ACTION_DELETE)
            continue;
        json_object_foreach(tables, id, t)
        {
            const char *ms =
                json_string_value(json_object_get(t, "creationTime"));

            if (strncmp(id, "staging_", 8) != 0 || !ms ||
                strtoll(ms, NULL, 10) > NOW_MS - WEEK_MS) {
                fprintf(stderr, "would delete table '%s' (created %s)\n", id,
                        ms ? ms : "?");
                abort();
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_pass_run(&fc, data, size, check);
    return 0;
}
