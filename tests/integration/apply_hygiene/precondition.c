/*
 * precondition PROJECT - the updateTime guard of hygiene deletes against
 * the Firestore emulator ($FIRESTORE_EMULATOR_HOST).
 *
 * Writes "kept" and "gone" in collection guard_test, then rewrites "kept"
 * (a fresh heartbeat after the listing), and sends ONE batchWrite built by
 * dl_hygiene_fs_delete_writes with the updateTimes seen before the rewrite.
 * Checks that the stale-precondition delete failed per write and was
 * counted as skipped by dl_hygiene_fs_count (not fatal), the other delete
 * succeeded, "kept" still exists and "gone" does not. Exit 0 when so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcp/firestore.h"
#include "gcp/gcp.h"
#include "provider/hygiene_apply.h"
#include "util/alloc.h"
#include "util/time.h"

struct outcome {
    int rc, called;
    struct dl_hygiene_fs_counts counts;
};

static void on_batch(struct dl_gcp_client *c, int rc, const struct dl_err *err,
                     const struct dl_firestore_write_result *res, size_t n,
                     void *ud)
{
    struct outcome *o = ud;

    (void)c;
    o->called = 1;
    o->rc = rc;
    if (rc < 0) {
        fprintf(stderr, "precondition: batchWrite: %s\n", err->msg);
        return;
    }
    dl_hygiene_fs_count(&o->counts, res, n);
}

static int put(struct dl_gcp_client *gcp, const char *name, int64_t *update_ns)
{
    char ut[40], ts[40];
    json_t *fields =
        json_pack("{s:{s:s}}", "last_heartbeat", "timestampValue",
                  dl_time_format_rfc3339(ts, sizeof(ts), dl_time_now_ns()));
    struct dl_err err;
    int rc = dl_firestore_put(gcp, name, fields, NULL, ut, &err);

    json_decref(fields);
    if (rc < 0 || dl_time_parse_rfc3339(update_ns, ut, &err) < 0) {
        fprintf(stderr, "precondition: writing %s: %s\n", name, err.msg);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct dl_gcp_client_opts opts;
    struct dl_gcp_client *gcp = NULL;
    struct dl_hygiene_state st = {0};
    struct dl_resource res;
    struct dl_hygiene_obs *o;
    struct outcome out = {0};
    struct dl_err err;
    char *db = NULL, *prefix = NULL, *kept = NULL, *gone = NULL;
    int64_t kept_old = 0, kept_new = 0, gone_t = 0;
    json_t *writes = NULL, *doc = NULL;
    int rc = 1, grc;

    if (argc != 2) {
        fprintf(stderr, "usage: precondition PROJECT\n");
        return 2;
    }
    memset(&opts, 0, sizeof(opts));
    memset(&res, 0, sizeof(res));
    if (dl_gcp_client_new(&gcp, &opts, &err) < 0) {
        fprintf(stderr, "precondition: %s\n", err.msg);
        return 1;
    }
    db = dl_asprintf("projects/%s/databases/(default)", argv[1]);
    prefix = dl_asprintf("%s/documents/guard_test/", db);
    kept = dl_asprintf("%skept", prefix);
    gone = dl_asprintf("%sgone", prefix);
    if (put(gcp, kept, &kept_old) < 0 || put(gcp, gone, &gone_t) < 0)
        goto done;
    /* The "listing" saw kept_old; the writer then refreshes it. */
    do {
        if (put(gcp, kept, &kept_new) < 0)
            goto done;
    } while (kept_new == kept_old);
    o = dl_hygiene_state_add(&st, &res, DL_UNSET, DL_UNSET);
    dl_hygiene_obs_violation(o, "kept", kept_old, 0, DL_HYGIENE_STALE);
    dl_hygiene_obs_violation(o, "gone", gone_t, 0, DL_HYGIENE_STALE);
    writes = dl_hygiene_fs_delete_writes(o, 0, o->nobjs, prefix);
    if (dl_firestore_batch_write_submit(gcp, db, writes, DL_GCP_RETRY_SAFE,
                                        on_batch, &out, &err) < 0 ||
        dl_gcp_client_run(gcp, &err) < 0) {
        fprintf(stderr, "precondition: %s\n", err.msg);
        goto done;
    }
    printf("deleted %lld, skipped %lld, failed %lld\n",
           (long long)out.counts.deleted, (long long)out.counts.skipped,
           (long long)out.counts.failed);
    if (!out.called || out.rc < 0 || out.counts.deleted != 1 ||
        out.counts.skipped != 1 || out.counts.failed != 0) {
        fprintf(stderr, "precondition: want deleted 1, skipped 1\n");
        goto done;
    }
    if (dl_firestore_get(gcp, kept, &doc, &err) < 0) {
        fprintf(stderr, "precondition: the refreshed document is gone: %s\n",
                err.msg);
        goto done;
    }
    json_decref(doc);
    doc = NULL;
    grc = dl_firestore_get(gcp, gone, &doc, &err);
    if (grc != DL_ENOTFOUND) {
        fprintf(stderr, "precondition: the unchanged document survived\n");
        goto done;
    }
    rc = 0;
done:
    json_decref(doc);
    json_decref(writes);
    dl_hygiene_state_dispose(&st);
    free(kept);
    free(gone);
    free(prefix);
    free(db);
    dl_gcp_client_free(gcp);
    return rc;
}
