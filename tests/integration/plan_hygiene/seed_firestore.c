/*
 * seed_firestore PROJECT COLLECTION FIELD < docs
 *
 * Seed the Firestore emulator ($FIRESTORE_EMULATOR_HOST) fast: read one
 * document per line from stdin, "ID AGE_SECONDS" (the document's FIELD is
 * a timestampValue AGE_SECONDS before now) or "ID -" (no FIELD), and write
 * them with batchWrite, 500 writes a request, up to 8 requests in flight.
 * Prints "seeded N documents in S s" and exits 0, or 1 on any failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcp/firestore.h"
#include "gcp/gcp.h"
#include "util/alloc.h"
#include "util/time.h"

#define INFLIGHT 8

struct seeder {
    struct dl_gcp_client *gcp;
    const char *database;
    char *prefix; /* database/documents/collection/ */
    const char *field;
    int64_t now_ns;
    size_t written, failed, inflight;
    int eof, error;
};

static int submit_next(struct seeder *s);

static void on_batch(struct dl_gcp_client *c, int rc, const struct dl_err *err,
                     const struct dl_firestore_write_result *res, size_t n,
                     void *ud)
{
    struct seeder *s = ud;

    (void)c;
    s->inflight--;
    if (rc < 0) {
        fprintf(stderr, "seed_firestore: batchWrite: %s\n", err->msg);
        s->error = 1;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (res[i].code) {
            if (!s->failed)
                fprintf(stderr, "seed_firestore: write: %s\n",
                        res[i].message ? res[i].message : "failed");
            s->failed++;
        } else {
            s->written++;
        }
    }
    if (!s->error)
        (void)submit_next(s);
}

/* Read up to 500 lines into one batchWrite and submit it. */
static int submit_next(struct seeder *s)
{
    char line[1024];
    json_t *writes;
    struct dl_err err;

    while (!s->eof && s->inflight < INFLIGHT) {
        writes = json_array();
        while (json_array_size(writes) < DL_FIRESTORE_MAX_WRITES) {
            char id[512], age[64], ts[40];
            json_t *fields = json_object();
            char *name;

            if (!fgets(line, sizeof(line), stdin)) {
                s->eof = 1;
                json_decref(fields);
                break;
            }
            if (sscanf(line, "%511s %63s", id, age) != 2) {
                json_decref(fields);
                continue;
            }
            if (strcmp(age, "-") != 0) {
                int64_t t =
                    s->now_ns - (int64_t)strtoll(age, NULL, 10) * DL_NS_PER_SEC;

                json_object_set_new(
                    fields, s->field,
                    json_pack("{s:s}", "timestampValue",
                              dl_time_format_rfc3339(ts, sizeof(ts), t)));
            }
            name = dl_asprintf("%s%s", s->prefix, id);
            json_array_append_new(writes,
                                  json_pack("{s:{s:s,s:o}}", "update", "name",
                                            name, "fields", fields));
            free(name);
        }
        if (json_array_size(writes) == 0) {
            json_decref(writes);
            break;
        }
        if (dl_firestore_batch_write_submit(s->gcp, s->database, writes,
                                            DL_GCP_RETRY_SAFE, on_batch, s,
                                            &err) < 0) {
            fprintf(stderr, "seed_firestore: %s\n", err.msg);
            json_decref(writes);
            s->error = 1;
            return -1;
        }
        s->inflight++;
        json_decref(writes);
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct dl_gcp_client_opts opts;
    struct seeder s;
    struct dl_err err;
    char *database = NULL;
    int64_t t0;
    int rc = 1;

    if (argc != 4) {
        fprintf(stderr, "usage: seed_firestore PROJECT COLLECTION FIELD\n");
        return 2;
    }
    memset(&opts, 0, sizeof(opts));
    memset(&s, 0, sizeof(s));
    if (dl_gcp_client_new(&s.gcp, &opts, &err) < 0) {
        fprintf(stderr, "seed_firestore: %s\n", err.msg);
        return 1;
    }
    database = dl_asprintf("projects/%s/databases/(default)", argv[1]);
    s.database = database;
    s.prefix = dl_asprintf("%s/documents/%s/", database, argv[2]);
    s.field = argv[3];
    s.now_ns = dl_time_now_ns();
    t0 = dl_time_mono_ns();
    if (submit_next(&s) < 0)
        goto done;
    if (dl_gcp_client_run(s.gcp, &err) < 0) {
        fprintf(stderr, "seed_firestore: %s\n", err.msg);
        goto done;
    }
    if (s.error || s.failed)
        goto done;
    printf("seeded %zu documents in %.2f s\n", s.written,
           (double)(dl_time_mono_ns() - t0) / 1e9);
    rc = 0;
done:
    free(s.prefix);
    free(database);
    dl_gcp_client_free(s.gcp);
    return rc;
}
