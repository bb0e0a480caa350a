/*
 * hygiene.h - what the hygiene providers (FirestoreCollectionPolicy,
 * BigQueryTablePolicy, StorageBucketPolicy) observe, and the pure
 * classification they share.
 *
 * Each hygiene provider keeps, in pass->state[kind], a struct
 * dl_hygiene_state: one struct dl_hygiene_obs per selected declared
 * resource. An observation holds the counts the plan shows and the objects
 * the apply step needs, and nothing else:
 *   - documents: the ID and updateTime of each violating document (the
 *     delete precondition), at most `cap` of them (what one run deletes);
 *   - tables: the table ID and creationTime (ms) of each violating table;
 *   - buckets: the name and metageneration of each empty bucket.
 * Objects are kept in the order they were found to violate (documents:
 * name order, then the over-limit ones as the stream reveals them).
 * IDs live in one string pool per observation, so 100,000 kept documents
 * cost about 40 bytes each plus their ID.
 *
 * The Firestore classifier (struct dl_hygiene_fs) is fed one document at a
 * time while runQuery streams; it never holds the collection: besides the
 * kept violators it holds at most maxDocuments valid documents (a heap of
 * the newest ones, to find the oldest beyond the limit).
 */
#ifndef DL_PROVIDER_HYGIENE_H
#define DL_PROVIDER_HYGIENE_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "plan/plan.h"
#include "provider/provider.h"
#include "util/err.h"

/* Violation reasons (bits of struct dl_hygiene_obj.reasons). */
#define DL_HYGIENE_ID_FORMAT 0x1u
#define DL_HYGIENE_STALE 0x2u
#define DL_HYGIENE_OVER_LIMIT 0x4u
#define DL_HYGIENE_EMPTY 0x8u

/* One violating object kept for apply. */
struct dl_hygiene_obj {
    size_t id_off;    /* its ID in the observation's pool (dl_hygiene_id) */
    int64_t time_ns;  /* documents: updateTime; tables: creationTime;
                         buckets: 0 */
    int64_t version;  /* buckets: metageneration; others: 0 */
    unsigned reasons; /* DL_HYGIENE_* bits */
};

/* The observation of one declared hygiene resource. */
struct dl_hygiene_obs {
    const struct dl_resource *resource;
    int rc;            /* 0, or the DL_E* code of a failed observation */
    struct dl_err err; /* its message when rc < 0 */
    int done;          /* the observation completed */
    int64_t done_ns;   /* the client's clock (dl_gcp_client_now) then */
    int64_t total;     /* objects observed (see each kind) */
    int64_t violating; /* distinct violators */
    int64_t id_format; /* per reason (reasons may overlap) */
    int64_t stale;
    int64_t over_limit;
    int64_t empty;
    int64_t no_timestamp;  /* documents without a timestamp staleness field */
    int64_t max_documents; /* DL_UNSET when not declared */
    int64_t cap; /* maxDeletesPerRun, or DL_PLAN_DEFAULT_MAX_DELETES */
    int cap_is_default;
    struct dl_hygiene_obj *objs; /* kept violators, at most cap */
    size_t nobjs, objs_cap;
    char *pool; /* NUL-terminated IDs */
    size_t pool_len, pool_cap;
    char *samples[DL_PLAN_MAX_SAMPLES]; /* first violators' IDs, owned */
    size_t nsamples;
};

/* Every observation of one kind (pass->state[kind]). */
struct dl_hygiene_state {
    struct dl_hygiene_obs **obs;
    size_t n, cap;
};

/*
 * A new observation of r with cap max_deletes (DL_UNSET: the default
 * DL_PLAN_DEFAULT_MAX_DELETES, cap_is_default 1) and max_documents
 * (DL_UNSET when none), appended to st (which owns it). Never NULL.
 */
struct dl_hygiene_obs *dl_hygiene_state_add(struct dl_hygiene_state *st,
                                            const struct dl_resource *r,
                                            int64_t max_deletes,
                                            int64_t max_documents);
/* The observation of r in st, or NULL. */
struct dl_hygiene_obs *dl_hygiene_state_find(const struct dl_hygiene_state *st,
                                             const struct dl_resource *r);
/* Free every observation of st (a caller-owned struct, zeroed to init)
 * and empty it. */
void dl_hygiene_state_dispose(struct dl_hygiene_state *st);

/* dl_hygiene_state_dispose + free of a heap-allocated state (void * for
 * dl_pass_keep). */
void dl_hygiene_state_free(void *st);

/* The ID of kept object i of o (valid until o is freed). */
const char *dl_hygiene_id(const struct dl_hygiene_obs *o, size_t i);

/*
 * Record one violator: violating +1, a sample while fewer than
 * DL_PLAN_MAX_SAMPLES, kept while fewer than cap are. Per-reason counts
 * are the caller's.
 */
void dl_hygiene_obs_violation(struct dl_hygiene_obs *o, const char *id,
                              int64_t time_ns, int64_t version,
                              unsigned reasons);

/* Mark o failed with err (copied); later failures are ignored. */
void dl_hygiene_obs_fail(struct dl_hygiene_obs *o, int rc,
                         const struct dl_err *err, const char *what);

/*
 * Turn o into pr's hygiene block with unit: counts, samples, cap,
 * planned_deletes (min(violating, cap) when the action is delete, else 0)
 * and still_over_limit_after (max(0, total - planned_deletes -
 * maxDocuments) when maxDocuments is declared). Status drifted when
 * something violates, with action enforce_action in enforce mode and
 * report in report mode; in_sync otherwise. A failed observation makes pr
 * an error with o's message instead.
 */
void dl_hygiene_fill(struct dl_plan_resource *pr,
                     const struct dl_hygiene_obs *o, const char *unit,
                     enum dl_plan_action enforce_action);

/*
 * Classify one table of o's BigQueryTablePolicy: not matching tablePattern
 * -> ignored; else total +1, and stale (a violator) when created (ms since
 * the epoch; has_ms 0 when unknown) before now_ns - olderThan. Without
 * olderThan every matching table is stale; without a creationTime a
 * table never is.
 */
void dl_hygiene_bq_classify(struct dl_hygiene_obs *o, const char *table_id,
                            int has_ms, int64_t creation_ms, int64_t now_ns);

/*
 * Classify one bucket of o's StorageBucketPolicy: not matching
 * bucketPattern -> ignored; else total +1, and a violator (reason empty)
 * when empty, kept with its metageneration.
 */
void dl_hygiene_bucket_classify(struct dl_hygiene_obs *o, const char *name,
                                int empty, int64_t metageneration);

/* A valid document kept by the over-limit heap. */
struct dl_hygiene_fs_doc {
    char *id;
    int has_ts;
    int64_t ts_ns;
    int64_t update_ns;
};

/*
 * The Firestore classifier of one FirestoreCollectionPolicy, fed in name
 * order (runQuery ordered by __name__). For each document:
 *   - id_format: the ID does not match idPattern;
 *   - stale: staleAfter.field holds a timestampValue older than
 *     now - staleAfter.age. A document without the field (or whose value
 *     is not a timestamp) is NOT stale: driftless deletes on evidence
 *     only; such documents are counted in no_timestamp and are the oldest
 *     for the over-limit order;
 *   - over_limit: among the documents that are neither (the "valid" ones),
 *     all but the maxDocuments newest (by the staleness field, then by
 *     name; without staleAfter by name: the last names are kept).
 */
struct dl_hygiene_fs {
    struct dl_hygiene_obs *obs; /* counts and kept violators (borrowed) */
    const struct dl_pattern *id_pattern; /* NULL: any ID is fine */
    int has_stale;
    int64_t stale_before_ns; /* a timestamp before this is stale */
    int by_time;             /* order the over-limit heap by the timestamp */
    struct dl_hygiene_fs_doc *heap; /* min-heap of the newest valid docs */
    size_t nheap, heap_cap;
};

/* Set c up for spec at now_ns, reporting into obs (borrowed). */
void dl_hygiene_fs_init(struct dl_hygiene_fs *c, struct dl_hygiene_obs *obs,
                        const struct dl_firestore_spec *spec, int64_t now_ns);
/* Classify one document: its ID, whether the staleness field holds a
 * timestamp (ts_ns), and its updateTime. */
void dl_hygiene_fs_add(struct dl_hygiene_fs *c, const char *id, int has_ts,
                       int64_t ts_ns, int64_t update_ns);
/* Free what c holds (not obs). */
void dl_hygiene_fs_dispose(struct dl_hygiene_fs *c);

/*
 * The timestamp at field path (dotted for nested maps, e.g. "meta.seen")
 * of a Firestore document's "fields" map. 1 with *out set when it is a
 * timestampValue, 0 otherwise (absent, another type, malformed).
 */
int dl_hygiene_doc_timestamp(int64_t *out, json_t *fields, const char *path);

#endif
