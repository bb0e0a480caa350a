/*
 * firestore_grpc.h - the Firestore runQuery listing over gRPC (HTTP/2):
 * the request encoder, the gRPC message framing of the streamed answer,
 * the RunQueryResponse decoder and the grpc-status of the trailers.
 *
 * firestore.c uses these behind dl_firestore_run_query (see
 * docs/internals/gcp.md, "runQuery over gRPC"): documents come out as the
 * same JSON objects the REST answer holds, so callers cannot tell.
 */
#ifndef DL_GCP_FIRESTORE_GRPC_H
#define DL_GCP_FIRESTORE_GRPC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "gcp/firestore.h"
#include "gcp/http.h"
#include "util/buf.h"
#include "util/err.h"

/* The RunQuery method's path. */
#define DL_FIRESTORE_GRPC_RUN_QUERY "/google.firestore.v1.Firestore/RunQuery"

/*
 * Append to out (uncapped) one gRPC message: the 5-byte prefix and the
 * RunQueryRequest for parent and sq (a REST StructuredQuery, borrowed).
 * Encoded: select.fields, from (collectionId, allDescendants), orderBy
 * (field, direction), startAt/endAt (values of the scalar kinds and
 * referenceValue; before), offset and limit. DL_EINVALID for anything
 * else (e.g. "where"): the caller then lists over REST.
 */
int dl_firestore_grpc_encode_query(struct dl_buf *out, const char *parent,
                                   json_t *sq, struct dl_err *err) DL_WUR;

/*
 * Read one RunQueryResponse (len bytes at p) into el (dispose it whatever
 * the result): el->document gets {"name", "fields" (when any),
 * "createTime", "updateTime"} shaped as the REST answer (Values as proto3
 * JSON, timestamps RFC 3339 with 0, 3, 6 or 9 fraction digits), el->done
 * the "done" flag. Unknown fields are skipped. DL_EINVALID for malformed
 * input (bad wire data, invalid UTF-8, a timestamp out of range, nesting
 * past 64 levels).
 */
int dl_firestore_grpc_decode_response(struct dl_firestore_element *el,
                                      const uint8_t *p, size_t len,
                                      struct dl_err *err) DL_WUR;

/* Called with each whole gRPC message (borrowed); return 0 to go on or a
 * negative DL_E* code to stop (dl_grpc_framer_feed returns it). */
typedef int (*dl_grpc_msg_fn)(void *ud, const uint8_t *p, size_t len);

/* Splits a gRPC response body (length-prefixed messages) fed in pieces of
 * any size; memory is bounded by max, the largest message accepted. */
struct dl_grpc_framer {
    uint8_t hdr[5];
    size_t hdr_len;
    size_t need;       /* length of the current message */
    struct dl_buf msg; /* the current message when it spans pieces */
    dl_grpc_msg_fn fn;
    void *ud;
    size_t max;
};

void dl_grpc_framer_init(struct dl_grpc_framer *f, size_t max,
                         dl_grpc_msg_fn fn, void *ud);
void dl_grpc_framer_dispose(struct dl_grpc_framer *f);
/* Feed len bytes. 0; DL_EINVALID for a compressed message (none was
 * asked for); DL_ELIMIT for a message over max; or fn's code. */
int dl_grpc_framer_feed(struct dl_grpc_framer *f, const void *data, size_t len,
                        struct dl_err *err) DL_WUR;
/* End of body: 0, or DL_ETRANSIENT when it stops inside a message. */
int dl_grpc_framer_finish(struct dl_grpc_framer *f, struct dl_err *err) DL_WUR;

/*
 * The gRPC status of a finished exchange from its headers or trailers
 * (x->head_in): 1 when grpc-status is present (*code: the google.rpc.Code;
 * msg: grpc-message percent-decoded, truncated to size), 0 when absent.
 */
int dl_grpc_status(const struct dl_http_xfer *x, int *code, char *msg,
                   size_t size);

#endif
