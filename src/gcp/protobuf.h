/*
 * protobuf.h - a minimal protocol buffers wire-format reader and writer,
 * enough for the Firestore gRPC listing (gcp/firestore_grpc.h).
 *
 * The reader never reads outside [p, end): every varint, length and fixed
 * field is bounds-checked, and a malformed input gives DL_EINVALID (the
 * reader functions fill no struct dl_err: their caller says what it was
 * reading). The writer appends to an uncapped struct dl_buf.
 */
#ifndef DL_GCP_PROTOBUF_H
#define DL_GCP_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* Wire types. */
enum dl_pb_wire {
    DL_PB_VARINT = 0,
    DL_PB_FIXED64 = 1,
    DL_PB_LEN = 2,
    DL_PB_FIXED32 = 5
};

/* A cursor over one message's bytes. */
struct dl_pb_reader {
    const uint8_t *p, *end;
};

void dl_pb_reader_init(struct dl_pb_reader *r, const void *p, size_t len);

/* The next field's number and wire type: 0, 1 at the end of the message,
 * DL_EINVALID for a bad tag (field 0, a group or an unknown wire type). */
int dl_pb_next(struct dl_pb_reader *r, uint32_t *field, enum dl_pb_wire *wire);

/* A varint (at most 10 bytes): 0 or DL_EINVALID. */
int dl_pb_varint(struct dl_pb_reader *r, uint64_t *v);
/* A little-endian 64-bit value: 0 or DL_EINVALID. */
int dl_pb_fixed64(struct dl_pb_reader *r, uint64_t *v);
/* A length-delimited value: [*p, *p + *n) inside the input (borrowed).
 * 0 or DL_EINVALID when the length passes the end. */
int dl_pb_bytes(struct dl_pb_reader *r, const uint8_t **p, size_t *n);
/* Skip a value of wire type wire: 0 or DL_EINVALID. */
int dl_pb_skip(struct dl_pb_reader *r, enum dl_pb_wire wire);

/* Writer: append a field to b (b has no cap: these cannot fail). */
void dl_pb_put_varint(struct dl_buf *b, uint64_t v);
void dl_pb_put_tag(struct dl_buf *b, uint32_t field, enum dl_pb_wire wire);
void dl_pb_put_uint(struct dl_buf *b, uint32_t field, uint64_t v);
void dl_pb_put_bytes(struct dl_buf *b, uint32_t field, const void *p, size_t n);
void dl_pb_put_string(struct dl_buf *b, uint32_t field, const char *s);
void dl_pb_put_fixed64(struct dl_buf *b, uint32_t field, uint64_t v);

#endif
