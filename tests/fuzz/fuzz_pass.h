/*
 * fuzz_pass.h - shared harness of the Google JSON fuzz targets: plan a small
 * model against the replay transport, where one request is answered with
 * the fuzzer's input as a 200 body and every other request with a fixed,
 * valid answer, so each parser is reached exactly as a provider calls it.
 */
#ifndef DL_FUZZ_PASS_H
#define DL_FUZZ_PASS_H

#include <stddef.h>
#include <stdint.h>

#include "gcp/gcp.h"
#include "model/model.h"
#include "plan/plan.h"

/* A canned answer: method, path pattern (replay rules: '*' suffix is a
 * prefix match), and the whole response ("HTTP/1.1 200 OK\r\n\r\n{...}"). */
struct fuzz_answer {
    const char *method, *pattern, *response;
};

struct fuzz_pass_case {
    const char *resources; /* YAML below the Project "fuzz-project" */
    /* Fixed answers, tried before the fuzzed one, NULL-method ended. */
    const struct fuzz_answer *fixed;
    const char *method;      /* these requests are answered with the input */
    const char *patterns[4]; /* one rule each, NULL-ended */
    size_t chunk;            /* deliver bodies in pieces; 0: whole */
};

/* The Project's GET answer, valid and ACTIVE: use in every case's fixed. */
#define FUZZ_PROJECT_ANSWER                                                    \
    {                                                                          \
        "GET", "/v1/projects/fuzz-project",                                    \
            "HTTP/1.1 200 OK\r\n\r\n{\"projectId\": \"fuzz-project\", "        \
            "\"projectNumber\": \"1234\", \"lifecycleState\": \"ACTIVE\"}"     \
    }

/*
 * Plan fc with body data[0..size) and check what a plan of any Google
 * answer must satisfy: the pass itself succeeds, every resource with status
 * error has a one-line message, the Project (answered validly) is in sync,
 * no resource is both an error and a change, and the plan survives
 * write -> read -> write and renders in every format. Any failure aborts.
 * The plan is handed to check (may be NULL) before it is freed.
 */
/*
 * A client on the replay transport (no auth, 2 attempts): the fixed
 * answers, then one rule per patterns[] (NULL-ended) answering method with
 * data[0..size) as a 200 body, delivered in pieces of chunk bytes (0:
 * whole). Free with dl_gcp_client_free.
 */
struct dl_gcp_client *fuzz_client(const struct fuzz_answer *fixed,
                                  const char *method,
                                  const char *const *patterns,
                                  const uint8_t *data, size_t size,
                                  size_t chunk);

/* The model of resources (loaded once, owned by the harness). */
struct dl_model *fuzz_pass_model(const char *resources);

void fuzz_pass_run(const struct fuzz_pass_case *fc, const uint8_t *data,
                   size_t size, void (*check)(const struct dl_plan *p));

#endif
