/*
 * firestore.h - Firestore v1 REST helpers on top of the Google client.
 *
 * Names are full resource names: a database is
 * "projects/p/databases/(default)", a document
 * "projects/p/databases/(default)/documents/coll/id", a query parent
 * "projects/p/databases/(default)/documents" (or a document under it).
 * Preconditions travel in commit/batchWrite bodies (the emulator ignores
 * them as query parameters).
 */
#ifndef DL_GCP_FIRESTORE_H
#define DL_GCP_FIRESTORE_H

#include <jansson.h>
#include <stddef.h>

#include "gcp/gcp.h"
#include "util/time.h"

/* Most writes Firestore takes in one commit or batchWrite. */
#define DL_FIRESTORE_MAX_WRITES 500
/* Largest runQuery element accepted (a document is at most 1 MiB). */
#define DL_FIRESTORE_MAX_ELEMENT (4u * 1024 * 1024)

/*
 * Per document of a runQuery: doc is the element's "document" object
 * (borrowed). Return 0 to go on, non-zero to stop reading (not an error).
 * Called while bytes arrive: it may dl_gcp_submit but not call the
 * synchronous functions.
 */
typedef int (*dl_firestore_doc_fn)(void *ud, json_t *doc);

/* Times a cut runQuery stream is resumed from its last document. */
#define DL_FIRESTORE_MAX_RESUMES 10
/* Time budget of one runQuery request (all its attempts); an attempt
 * fails only when no byte arrives for the client's attempt timeout. */
#define DL_FIRESTORE_QUERY_BUDGET_NS (30 * 60 * DL_NS_PER_SEC)

/*
 * Run structured_query (the StructuredQuery object, borrowed) under parent
 * and stream the answer: the array is parsed incrementally (gcp/
 * json_stream.h), so memory stays bounded by the largest document.
 * *ndocs (may be NULL) gets the number of documents delivered. Errors as
 * dl_gcp_call. A stream cut (reset, stall, an array that stops before
 * its ']', an UNAVAILABLE element) is never taken for the whole answer:
 * when that request delivered documents and the query is ordered by
 * __name__ alone (no cursor, limit or offset of its own) it is sent again
 * with startAt after the last name delivered (before: false), up to
 * DL_FIRESTORE_MAX_RESUMES times with backoff, so fn sees every document
 * once and in order; otherwise, or past that, DL_ETRANSIENT.
 */
int dl_firestore_run_query(struct dl_gcp_client *c, const char *parent,
                           json_t *structured_query, dl_firestore_doc_fn fn,
                           void *ud, size_t *ndocs, struct dl_err *err) DL_WUR;
/*
 * How runQuery lists (DRIFTLESS_FIRESTORE_PROTOCOL, read at each call):
 * "auto" (the default) sends the query over gRPC (HTTP/2: prior
 * knowledge on the emulator's plain http, ALPN h2 over TLS) and falls back
 * to REST when that fails before its first document with no gRPC answer
 * (HTTP/2 not spoken, an HTTP error such as 404 or 415, a transport
 * failure), UNIMPLEMENTED or a transient status, or when the query holds
 * what the gRPC encoder does not know (e.g. "where"); "grpc" never falls
 * back; "rest" is the JSON API only. Documents, resumes and errors are the
 * same either way (docs/internals/gcp.md).
 */
enum dl_firestore_protocol {
    DL_FIRESTORE_AUTO,
    DL_FIRESTORE_GRPC,
    DL_FIRESTORE_REST
};

/* Parse "auto", "grpc" or "rest" (NULL or "": auto). DL_EINVALID else. */
int dl_firestore_protocol_parse(const char *s, enum dl_firestore_protocol *out,
                                struct dl_err *err) DL_WUR;

/* Asynchronous form: done's result is a JSON integer (documents read).
 * DL_EINVALID when DRIFTLESS_FIRESTORE_PROTOCOL is not a known value. */
int dl_firestore_run_query_submit(struct dl_gcp_client *c, const char *parent,
                                  json_t *structured_query,
                                  dl_firestore_doc_fn fn, dl_gcp_op_fn done,
                                  void *ud, struct dl_err *err) DL_WUR;

/* One element of a runQuery answer. */
struct dl_firestore_element {
    json_t *document; /* the "document" object (name, updateTime,
                         createTime, fields: what the fast path reads), or
                         NULL; a new reference */
    json_t *error;    /* the "error" object, or NULL; a new reference */
    int done;         /* "done": true */
};

/*
 * Read one runQuery element (len bytes at p: one JSON object) into el
 * (dispose it whatever the result). The usual shape is read in place, with
 * jansson only for "fields" and escaped strings (about 6 times less CPU
 * than a tree of the whole element); any other shape is read by jansson.
 * DL_EINVALID when it is not valid JSON.
 */
int dl_firestore_element_parse(struct dl_firestore_element *el, const char *p,
                               size_t len, struct dl_err *err) DL_WUR;
void dl_firestore_element_dispose(struct dl_firestore_element *el);

/* Outcome of one write of a batchWrite. */
struct dl_firestore_write_result {
    int code;                /* 0, or DL_E* mapped from rpc_code */
    int rpc_code;            /* google.rpc.Code (6 ALREADY_EXISTS, 9 ...) */
    const char *message;     /* borrowed from the answer; NULL when ok */
    const char *update_time; /* borrowed; NULL for deletes and failures */
};

/* Completion of a batchWrite: results[i] for writes[i] (n of them) when rc
 * is 0; rc < 0 means the request as a whole failed. */
typedef void (*dl_firestore_batch_fn)(
    struct dl_gcp_client *c, int rc, const struct dl_err *err,
    const struct dl_firestore_write_result *results, size_t n, void *ud);

/*
 * Non-atomic batchWrite of up to DL_FIRESTORE_MAX_WRITES writes (a JSON
 * array of Write objects, borrowed) in database. retry says whether
 * sending it twice is harmless (deletes and unconditional updates are:
 * DL_GCP_RETRY_SAFE). DL_EINVALID for more than 500 writes.
 */
int dl_firestore_batch_write_submit(struct dl_gcp_client *c,
                                    const char *database, json_t *writes,
                                    enum dl_gcp_retry retry,
                                    dl_firestore_batch_fn done, void *ud,
                                    struct dl_err *err) DL_WUR;
/* Synchronous form: *nfailed gets the number of writes that failed; the
 * first failure is described in err (0 is still returned). */
int dl_firestore_batch_write(struct dl_gcp_client *c, const char *database,
                             json_t *writes, enum dl_gcp_retry retry,
                             size_t *nfailed, struct dl_err *err) DL_WUR;

/* Read one document. *doc: new reference. DL_ENOTFOUND when absent. */
int dl_firestore_get(struct dl_gcp_client *c, const char *name, json_t **doc,
                     struct dl_err *err) DL_WUR;

/* A write precondition. */
struct dl_firestore_precondition {
    int exists;              /* 0: no condition, 1: must exist, -1: must not */
    const char *update_time; /* must have this updateTime (RFC 3339); NULL */
};

/*
 * Atomic commit of writes (borrowed array) in database. *out (may be NULL)
 * gets the answer ({writeResults, commitTime}). A failed precondition
 * fails the whole commit: DL_ECONFLICT (ALREADY_EXISTS,
 * FAILED_PRECONDITION, ABORTED) or DL_ENOTFOUND (must exist).
 */
int dl_firestore_commit(struct dl_gcp_client *c, const char *database,
                        json_t *writes, json_t **out,
                        struct dl_err *err) DL_WUR;

/*
 * Replace document name's fields (a Firestore "fields" map, borrowed) under
 * pre (NULL: none). update_time (may be NULL, 40 bytes) gets the new
 * updateTime. Errors as dl_firestore_commit.
 */
int dl_firestore_put(struct dl_gcp_client *c, const char *name, json_t *fields,
                     const struct dl_firestore_precondition *pre,
                     char *update_time, struct dl_err *err) DL_WUR;

/*
 * Update only the fields named in mask (NULL-terminated field paths, e.g.
 * {"holder", "expiresAt", NULL}) of document name from fields, under pre;
 * other fields are kept, a masked field absent from fields is removed.
 * Without pre the document is created when missing. update_time as
 * dl_firestore_put. Errors as dl_firestore_commit.
 */
int dl_firestore_patch(struct dl_gcp_client *c, const char *name,
                       json_t *fields, const char *const *mask,
                       const struct dl_firestore_precondition *pre,
                       char *update_time, struct dl_err *err) DL_WUR;

/* Delete document name under pre (NULL: none; deleting a missing
 * document then succeeds). Errors as dl_firestore_commit. */
int dl_firestore_delete(struct dl_gcp_client *c, const char *name,
                        const struct dl_firestore_precondition *pre,
                        struct dl_err *err) DL_WUR;

/* Build {"currentDocument": ...} content for pre, or NULL for none. */
json_t *
dl_firestore_precondition_json(const struct dl_firestore_precondition *pre);

#endif
