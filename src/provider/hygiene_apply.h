/*
 * hygiene_apply.h - apply for the hygiene kinds (phase hygiene): each
 * resource is re-evaluated at apply time and what violates the policy at
 * that moment is deleted, every deletion reserved with
 * dl_apply_reserve_deletes (the resource's cap, --max-deletes, a saved
 * plan's planned_deletes). docs/apply.md, "Hygiene".
 */
#ifndef DL_PROVIDER_HYGIENE_APPLY_H
#define DL_PROVIDER_HYGIENE_APPLY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "apply/apply.h"
#include "gcp/firestore.h"
#include "provider/hygiene.h"
#include "util/time.h"

/* batchWrite requests of one resource in flight at once. */
#define DL_HYGIENE_FS_INFLIGHT 6

/*
 * How old (the client's clock) a listing of the planning pass of the same
 * process may be for the Firestore apply to delete from it instead of
 * listing the collection again (every delete is still guarded by the
 * updateTime listed).
 */
#define DL_HYGIENE_FS_REUSE_NS (60 * DL_NS_PER_SEC)

/* The apply hooks (provider.h) of the three kinds. */
int dl_hygiene_apply_firestore(struct dl_apply *ap,
                               struct dl_plan_resource *const *rs, size_t n,
                               struct dl_err *err);
int dl_hygiene_apply_bigquery(struct dl_apply *ap,
                              struct dl_plan_resource *const *rs, size_t n,
                              struct dl_err *err);
int dl_hygiene_apply_storage(struct dl_apply *ap,
                             struct dl_plan_resource *const *rs, size_t n,
                             struct dl_err *err);

/*
 * How many of pending listed violators to send in the next batchWrite:
 * DL_FIRESTORE_MAX_WRITES while at least that many are pending; the rest
 * only once the listing is done (listing_done); else 0 (wait for more).
 */
size_t dl_hygiene_fs_batch_size(size_t pending, int listing_done);

/*
 * The batchWrite writes deleting kept violators [from, from + n) of o: each
 * {"delete": prefix + ID, "currentDocument": {"updateTime": its listed
 * updateTime}} (prefix: "projects/P/databases/D/documents/COLL/"). A
 * document whose updateTime is unknown (0) gets {"exists": true}. New
 * reference.
 */
json_t *dl_hygiene_fs_delete_writes(const struct dl_hygiene_obs *o, size_t from,
                                    size_t n, const char *prefix);

/* Per-write outcome counts of one batchWrite of deletes. */
struct dl_hygiene_fs_counts {
    int64_t deleted; /* the write succeeded */
    int64_t skipped; /* FAILED_PRECONDITION or NOT_FOUND: the document
                        changed (or went) since it was listed */
    int64_t failed;  /* any other per-write failure */
};

/* Add the outcomes of results[0..n) to counts. */
void dl_hygiene_fs_count(struct dl_hygiene_fs_counts *counts,
                         const struct dl_firestore_write_result *results,
                         size_t n);

#endif
