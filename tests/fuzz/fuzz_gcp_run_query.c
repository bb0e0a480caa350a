/*
 * fuzz_gcp_run_query.c - libFuzzer target for Firestore's runQuery stream
 * (src/gcp/json_stream.c, src/gcp/firestore.c).
 *
 * 1. The splitter alone: the input is fed whole, then again in pieces of
 *    1..64 bytes whose sizes come from a generator seeded by the input;
 *    both runs must deliver the same elements (count and serialisation)
 *    and end with the same code and message.
 * 2. The input answers the runQuery of a FirestoreCollectionPolicy,
 *    delivered in pieces of 1..97 bytes (again derived from the input), and
 *    is planned through the real pass (fuzz_pass.h checks).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_pass.h"
#include "gcp/json_stream.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char resources[] =
    "apiVersion: driftless.dev/v1alpha1\n"
    "kind: FirestoreCollectionPolicy\n"
    "metadata:\n"
    "  name: heartbeats\n"
    "spec:\n"
    "  collection: processor_heartbeats\n"
    "  maxDocuments: 3\n"
    "  idPattern: \"[a-z][a-z0-9]*(_[a-z][a-z0-9]*)*\"\n"
    "  staleAfter:\n"
    "    field: last_heartbeat\n"
    "    age: 7d\n"
    "  maxDeletesPerRun: 4\n";

static const struct fuzz_answer fixed[] = {FUZZ_PROJECT_ANSWER, {0}};

struct seen {
    size_t n;
    uint64_t hash; /* FNV-1a over every element's compact serialisation */
};

static int on_element(void *ud, json_t *el)
{
    struct seen *s = ud;
    char *txt = json_dumps(el, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

    s->n++;
    for (const char *p = txt ? txt : ""; *p; p++)
        s->hash = (s->hash ^ (unsigned char)*p) * 1099511628211ull;
    free(txt);
    return 0;
}

static uint64_t seed_of(const uint8_t *data, size_t size)
{
    uint64_t h = 14695981039346656037ull;

    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 1099511628211ull;
    return h;
}

/* Feed data in pieces (whole when rng is NULL); the result code, and the
 * elements in *s and the message in err. */
static int split(const uint8_t *data, size_t size, uint64_t *rng,
                 struct seen *s, struct dl_err *err)
{
    struct dl_json_splitter sp;
    size_t off = 0;
    int rc = 0;

    memset(s, 0, sizeof(*s));
    dl_err_clear(err);
    dl_json_splitter_init(&sp, 4096, on_element, s);
    while (off < size && rc == 0) {
        size_t n = size - off;

        if (rng) {
            *rng = *rng * 6364136223846793005ull + 1442695040888963407ull;
            n = 1 + (size_t)((*rng >> 33) % 64);
            if (n > size - off)
                n = size - off;
        }
        rc = dl_json_splitter_feed(&sp, (const char *)data + off, n, err);
        off += n;
    }
    if (rc == 0)
        rc = dl_json_splitter_finish(&sp, err);
    dl_json_splitter_dispose(&sp);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t rng = seed_of(data, size);
    struct seen whole, pieces;
    struct dl_err e1, e2;
    int rc1 = split(data, size, NULL, &whole, &e1);
    int rc2 = split(data, size, &rng, &pieces, &e2);
    struct fuzz_pass_case fc = {
        .resources = resources,
        .fixed = fixed,
        .method = "POST",
        .patterns = {"/v1/projects/fuzz-project/databases/(default)/"
                     "documents:runQuery"},
        .chunk = 1 + (size_t)(rng % 97),
    };

    if (rc1 != rc2 || whole.n != pieces.n || whole.hash != pieces.hash ||
        (rc1 < 0 && strcmp(e1.msg, e2.msg) != 0)) {
        fprintf(stderr,
                "whole: rc %d, %zu elements, '%s'; pieces: rc %d, %zu "
                "elements, '%s'\n",
                rc1, whole.n, e1.msg, rc2, pieces.n, e2.msg);
        abort();
    }
    fuzz_pass_run(&fc, data, size, NULL);
    return 0;
}
