#include "gcp/protobuf.h"

#include <string.h>

#include "util/err.h"

void dl_pb_reader_init(struct dl_pb_reader *r, const void *p, size_t len)
{
    r->p = p;
    r->end = r->p + len;
}

int dl_pb_varint(struct dl_pb_reader *r, uint64_t *v)
{
    uint64_t x = 0;

    for (int shift = 0; shift < 70; shift += 7) {
        uint8_t b;

        if (r->p >= r->end)
            return DL_EINVALID;
        b = *r->p++;
        if (shift == 63 && b > 1)
            return DL_EINVALID; /* more than 64 bits */
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return DL_EINVALID;
}

int dl_pb_next(struct dl_pb_reader *r, uint32_t *field, enum dl_pb_wire *wire)
{
    uint64_t tag;

    if (r->p >= r->end)
        return 1;
    if (dl_pb_varint(r, &tag) < 0 || tag >> 3 == 0 || tag >> 3 > 0x1fffffff)
        return DL_EINVALID;
    switch (tag & 7) {
    case DL_PB_VARINT:
    case DL_PB_FIXED64:
    case DL_PB_LEN:
    case DL_PB_FIXED32:
        break;
    default: /* groups (3, 4) and 6, 7 */
        return DL_EINVALID;
    }
    *field = (uint32_t)(tag >> 3);
    *wire = (enum dl_pb_wire)(tag & 7);
    return 0;
}

int dl_pb_fixed64(struct dl_pb_reader *r, uint64_t *v)
{
    uint64_t x = 0;

    if (r->end - r->p < 8)
        return DL_EINVALID;
    for (int i = 7; i >= 0; i--)
        x = x << 8 | r->p[i];
    r->p += 8;
    *v = x;
    return 0;
}

int dl_pb_bytes(struct dl_pb_reader *r, const uint8_t **p, size_t *n)
{
    uint64_t len;

    if (dl_pb_varint(r, &len) < 0 || len > (uint64_t)(r->end - r->p))
        return DL_EINVALID;
    *p = r->p;
    *n = (size_t)len;
    r->p += len;
    return 0;
}

int dl_pb_skip(struct dl_pb_reader *r, enum dl_pb_wire wire)
{
    uint64_t v;
    const uint8_t *p;
    size_t n;

    switch (wire) {
    case DL_PB_VARINT:
        return dl_pb_varint(r, &v);
    case DL_PB_FIXED64:
        return dl_pb_fixed64(r, &v);
    case DL_PB_LEN:
        return dl_pb_bytes(r, &p, &n);
    case DL_PB_FIXED32:
        if (r->end - r->p < 4)
            return DL_EINVALID;
        r->p += 4;
        return 0;
    }
    return DL_EINVALID;
}

void dl_pb_put_varint(struct dl_buf *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;

    do {
        tmp[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            tmp[n] |= 0x80;
        n++;
    } while (v);
    (void)dl_buf_put(b, tmp, n);
}

void dl_pb_put_tag(struct dl_buf *b, uint32_t field, enum dl_pb_wire wire)
{
    dl_pb_put_varint(b, (uint64_t)field << 3 | (uint64_t)wire);
}

void dl_pb_put_uint(struct dl_buf *b, uint32_t field, uint64_t v)
{
    dl_pb_put_tag(b, field, DL_PB_VARINT);
    dl_pb_put_varint(b, v);
}

void dl_pb_put_bytes(struct dl_buf *b, uint32_t field, const void *p, size_t n)
{
    dl_pb_put_tag(b, field, DL_PB_LEN);
    dl_pb_put_varint(b, n);
    if (n)
        (void)dl_buf_put(b, p, n);
}

void dl_pb_put_string(struct dl_buf *b, uint32_t field, const char *s)
{
    dl_pb_put_bytes(b, field, s, strlen(s));
}

void dl_pb_put_fixed64(struct dl_buf *b, uint32_t field, uint64_t v)
{
    uint8_t tmp[8];

    for (int i = 0; i < 8; i++)
        tmp[i] = (uint8_t)(v >> (8 * i));
    dl_pb_put_tag(b, field, DL_PB_FIXED64);
    (void)dl_buf_put(b, tmp, 8);
}
