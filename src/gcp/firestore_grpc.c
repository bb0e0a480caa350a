#include "gcp/firestore_grpc.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gcp/gcp_int.h"
#include "gcp/protobuf.h"
#include "util/alloc.h"

/* Nesting of Values (arrays and maps) accepted, like the JSON reader's. */
#define MAX_DEPTH 64

/* ---- the request ---- */

static int bad_query(struct dl_err *err, const char *what)
{
    return dl_err_set(err, DL_EINVALID,
                      "runQuery over gRPC: '%s' is not encoded here", what);
}

/* A cursor Value of a kind the listing uses. */
static int encode_value(struct dl_buf *b, json_t *v, struct dl_err *err)
{
    const char *k;
    json_t *x;

    if (!json_is_object(v) || json_object_size(v) != 1)
        return bad_query(err, "cursor value");
    json_object_foreach(v, k, x)
    {
        if (!strcmp(k, "referenceValue") && json_is_string(x)) {
            dl_pb_put_string(b, 5, json_string_value(x));
        } else if (!strcmp(k, "stringValue") && json_is_string(x)) {
            dl_pb_put_string(b, 17, json_string_value(x));
        } else if (!strcmp(k, "booleanValue") && json_is_boolean(x)) {
            dl_pb_put_uint(b, 1, json_is_true(x));
        } else if (!strcmp(k, "nullValue")) {
            dl_pb_put_uint(b, 11, 0);
        } else if (!strcmp(k, "integerValue") &&
                   (json_is_integer(x) || json_is_string(x))) {
            long long n = json_integer_value(x);

            if (json_is_string(x)) {
                char *end;

                n = strtoll(json_string_value(x), &end, 10);
                if (*end || end == json_string_value(x))
                    return bad_query(err, "integerValue");
            }
            dl_pb_put_uint(b, 2, (uint64_t)n);
        } else {
            return bad_query(err, k);
        }
    }
    return 0;
}

static void put_message(struct dl_buf *b, uint32_t field, struct dl_buf *sub)
{
    dl_pb_put_bytes(b, field, sub->ptr, sub->len);
    dl_buf_reset(sub);
}

static void put_field_ref(struct dl_buf *b, uint32_t field, const char *path)
{
    struct dl_buf ref = DL_BUF_INIT(DL_BUF_NOCAP);

    dl_pb_put_string(&ref, 2, path);
    put_message(b, field, &ref);
    dl_buf_dispose(&ref);
}

static int encode_cursor(struct dl_buf *b, json_t *c, struct dl_err *err)
{
    const char *k;
    json_t *x;
    struct dl_buf v = DL_BUF_INIT(DL_BUF_NOCAP);
    int rc = 0;

    json_object_foreach(c, k, x)
    {
        if (!strcmp(k, "values") && json_is_array(x)) {
            size_t i;
            json_t *e;

            json_array_foreach(x, i, e)
            {
                rc = encode_value(&v, e, err);
                if (rc < 0)
                    goto done;
                put_message(b, 1, &v);
            }
        } else if (!strcmp(k, "before") && json_is_boolean(x)) {
            if (json_is_true(x))
                dl_pb_put_uint(b, 2, 1);
        } else {
            rc = bad_query(err, k);
            goto done;
        }
    }
done:
    dl_buf_dispose(&v);
    return rc;
}

static int encode_sq_key(struct dl_buf *b, const char *k, json_t *x,
                         struct dl_err *err)
{
    struct dl_buf sub = DL_BUF_INIT(DL_BUF_NOCAP);
    size_t i;
    json_t *e;
    int rc = 0;

    if (!strcmp(k, "select") && json_is_object(x) && json_object_size(x) <= 1) {
        json_array_foreach(json_object_get(x, "fields"), i, e)
        {
            const char *f = json_string_value(json_object_get(e, "fieldPath"));

            if (!f || json_object_size(e) != 1) {
                rc = bad_query(err, "select");
                goto done;
            }
            put_field_ref(&sub, 2, f);
        }
        put_message(b, 1, &sub);
    } else if (!strcmp(k, "from") && json_is_array(x)) {
        json_array_foreach(x, i, e)
        {
            const char *id =
                json_string_value(json_object_get(e, "collectionId"));
            json_t *all = json_object_get(e, "allDescendants");

            if (!id || json_object_size(e) != 1u + (all != NULL) ||
                (all && !json_is_boolean(all))) {
                rc = bad_query(err, "from");
                goto done;
            }
            dl_pb_put_string(&sub, 2, id);
            if (json_is_true(all))
                dl_pb_put_uint(&sub, 3, 1);
            put_message(b, 2, &sub);
        }
    } else if (!strcmp(k, "orderBy") && json_is_array(x)) {
        json_array_foreach(x, i, e)
        {
            const char *f = json_string_value(
                json_object_get(json_object_get(e, "field"), "fieldPath"));
            const char *dir =
                json_string_value(json_object_get(e, "direction"));
            int d = !dir                         ? 0
                    : !strcmp(dir, "ASCENDING")  ? 1
                    : !strcmp(dir, "DESCENDING") ? 2
                                                 : -1;

            if (!f || d < 0 ||
                json_object_size(e) !=
                    1u + (json_object_get(e, "direction") != NULL)) {
                rc = bad_query(err, "orderBy");
                goto done;
            }
            put_field_ref(&sub, 1, f);
            if (d)
                dl_pb_put_uint(&sub, 2, (uint64_t)d);
            put_message(b, 4, &sub);
        }
    } else if ((!strcmp(k, "startAt") || !strcmp(k, "endAt")) &&
               json_is_object(x)) {
        rc = encode_cursor(&sub, x, err);
        if (rc < 0)
            goto done;
        put_message(b, k[0] == 's' ? 7 : 8, &sub);
    } else if (!strcmp(k, "offset") && json_is_integer(x) &&
               json_integer_value(x) >= 0 &&
               json_integer_value(x) <= INT32_MAX) {
        dl_pb_put_uint(b, 6, (uint64_t)json_integer_value(x));
    } else if (!strcmp(k, "limit") &&
               (json_is_integer(x) ||
                json_is_integer(json_object_get(x, "value")))) {
        json_int_t n = json_is_integer(x)
                           ? json_integer_value(x)
                           : json_integer_value(json_object_get(x, "value"));

        if (n < 0 || n > INT32_MAX) {
            rc = bad_query(err, "limit");
            goto done;
        }
        dl_pb_put_uint(&sub, 1, (uint64_t)n);
        put_message(b, 5, &sub);
    } else {
        rc = bad_query(err, k);
    }
done:
    dl_buf_dispose(&sub);
    return rc;
}

int dl_firestore_grpc_encode_query(struct dl_buf *out, const char *parent,
                                   json_t *sq, struct dl_err *err)
{
    struct dl_buf q = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_buf m = DL_BUF_INIT(DL_BUF_NOCAP);
    const char *k;
    json_t *x;
    uint8_t pre[5];
    int rc = 0;

    if (!json_is_object(sq)) {
        rc = bad_query(err, "structuredQuery");
        goto done;
    }
    json_object_foreach(sq, k, x)
    {
        rc = encode_sq_key(&q, k, x, err);
        if (rc < 0)
            goto done;
    }
    dl_pb_put_string(&m, 1, parent);
    dl_pb_put_bytes(&m, 2, q.ptr, q.len);
    if (m.len > UINT32_MAX) {
        rc = dl_err_set(err, DL_ELIMIT, "runQuery request too large");
        goto done;
    }
    pre[0] = 0; /* not compressed */
    pre[1] = (uint8_t)(m.len >> 24);
    pre[2] = (uint8_t)(m.len >> 16);
    pre[3] = (uint8_t)(m.len >> 8);
    pre[4] = (uint8_t)m.len;
    (void)dl_buf_put(out, pre, 5);
    (void)dl_buf_put(out, m.ptr, m.len);
done:
    dl_buf_dispose(&q);
    dl_buf_dispose(&m);
    return rc;
}

/* ---- the answer ---- */

/* A Timestamp message as RFC 3339 UTC, with 0, 3, 6 or 9 fraction digits
 * as proto3 JSON prints it. NULL when malformed or out of range. */
static json_t *timestamp_of(const uint8_t *p, size_t n)
{
    struct dl_pb_reader r;
    uint32_t f;
    enum dl_pb_wire w;
    uint64_t v;
    int64_t secs = 0, nanos = 0;
    int rc;
    time_t t;
    struct tm tm;
    char s[48], frac[12] = "";

    dl_pb_reader_init(&r, p, n);
    while ((rc = dl_pb_next(&r, &f, &w)) == 0) {
        if ((f == 1 || f == 2) && w == DL_PB_VARINT) {
            if (dl_pb_varint(&r, &v) < 0)
                return NULL;
            if (f == 1)
                secs = (int64_t)v;
            else
                nanos = (int64_t)(int32_t)(uint32_t)v;
        } else if (dl_pb_skip(&r, w) < 0) {
            return NULL;
        }
    }
    /* 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z */
    if (rc < 0 || secs < -62135596800LL || secs > 253402300799LL || nanos < 0 ||
        nanos > 999999999)
        return NULL;
    t = (time_t)secs;
    if (!gmtime_r(&t, &tm))
        return NULL;
    if (nanos % 1000000 == 0 && nanos)
        snprintf(frac, sizeof(frac), ".%03d", (int)(nanos / 1000000));
    else if (nanos % 1000 == 0 && nanos)
        snprintf(frac, sizeof(frac), ".%06d", (int)(nanos / 1000));
    else if (nanos)
        snprintf(frac, sizeof(frac), ".%09d", (int)nanos);
    snprintf(s, sizeof(s), "%04d-%02d-%02dT%02d:%02d:%02d%sZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, frac);
    return json_string_nocheck(s);
}

static json_t *double_of(uint64_t bits)
{
    double d;

    memcpy(&d, &bits, sizeof(d));
    if (isnan(d))
        return json_string_nocheck("NaN");
    if (isinf(d))
        return json_string_nocheck(d > 0 ? "Infinity" : "-Infinity");
    return json_real(d);
}

/* Standard base64 with padding (proto3 JSON bytes). */
static json_t *base64_of(const uint8_t *p, size_t n)
{
    char *s = dl_gcp_base64url(p, n);
    size_t len = strlen(s);
    json_t *v;

    s = dl_realloc(s, len + 3);
    for (size_t i = 0; i < len; i++)
        s[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
    while (len % 4)
        s[len++] = '=';
    s[len] = '\0';
    v = json_string_nocheck(s);
    free(s);
    return v;
}

static json_t *value_of(const uint8_t *p, size_t n, int depth);

/* A map<string, Value> entry (key=1, value=2) set into obj. */
static int map_entry(json_t *obj, const uint8_t *p, size_t n, int depth)
{
    struct dl_pb_reader r;
    uint32_t f;
    enum dl_pb_wire w;
    const uint8_t *kp = NULL, *vp = (const uint8_t *)"";
    size_t kn = 0, vn = 0;
    json_t *v;
    int rc;

    dl_pb_reader_init(&r, p, n);
    while ((rc = dl_pb_next(&r, &f, &w)) == 0) {
        if ((f == 1 || f == 2) && w == DL_PB_LEN) {
            if (dl_pb_bytes(&r, f == 1 ? &kp : &vp, f == 1 ? &kn : &vn) < 0)
                return DL_EINVALID;
        } else if (dl_pb_skip(&r, w) < 0) {
            return DL_EINVALID;
        }
    }
    if (rc < 0)
        return DL_EINVALID;
    v = value_of(vp, vn, depth);
    if (!v)
        return DL_EINVALID;
    /* json_object_setn_new checks the key's UTF-8 and frees v on error. */
    return json_object_setn_new(obj, kp ? (const char *)kp : "", kn, v) < 0
               ? DL_EINVALID
               : 0;
}

/* A message whose field `field` is a map<string, Value>, as a JSON object
 * of the entries ({} when none); NULL when malformed. */
static json_t *fields_of(const uint8_t *p, size_t n, uint32_t field, int depth)
{
    struct dl_pb_reader r;
    uint32_t f;
    enum dl_pb_wire w;
    const uint8_t *ep;
    size_t en;
    json_t *obj = json_object();
    int rc;

    dl_pb_reader_init(&r, p, n);
    while ((rc = dl_pb_next(&r, &f, &w)) == 0) {
        if (f == field && w == DL_PB_LEN) {
            if (dl_pb_bytes(&r, &ep, &en) < 0 ||
                map_entry(obj, ep, en, depth) < 0)
                goto fail;
        } else if (dl_pb_skip(&r, w) < 0) {
            goto fail;
        }
    }
    if (rc == 1)
        return obj;
fail:
    json_decref(obj);
    return NULL;
}

static json_t *array_of(const uint8_t *p, size_t n, int depth)
{
    struct dl_pb_reader r;
    uint32_t f;
    enum dl_pb_wire w;
    const uint8_t *ep;
    size_t en;
    json_t *arr = json_array();
    int rc;

    dl_pb_reader_init(&r, p, n);
    while ((rc = dl_pb_next(&r, &f, &w)) == 0) {
        if (f == 1 && w == DL_PB_LEN) {
            json_t *v;

            if (dl_pb_bytes(&r, &ep, &en) < 0)
                goto fail;
            v = value_of(ep, en, depth);
            if (!v || json_array_append_new(arr, v) < 0)
                goto fail;
        } else if (dl_pb_skip(&r, w) < 0) {
            goto fail;
        }
    }
    if (rc == 1)
        return arr;
fail:
    json_decref(arr);
    return NULL;
}

static json_t *latlng_of(const uint8_t *p, size_t n)
{
    struct dl_pb_reader r;
    uint32_t f;
    enum dl_pb_wire w;
    uint64_t bits;
    json_t *o = json_object();
    int rc;

    dl_pb_reader_init(&r, p, n);
    while ((rc = dl_pb_next(&r, &f, &w)) == 0) {
        if ((f == 1 || f == 2) && w == DL_PB_FIXED64) {
            if (dl_pb_fixed64(&r, &bits) < 0)
                goto fail;
            /* proto3 JSON leaves out zeros */
            if (bits)
                json_object_set_new_nocheck(
                    o, f == 1 ? "latitude" : "longitude", double_of(bits));
            else
                json_object_del(o, f == 1 ? "latitude" : "longitude");
        } else if (dl_pb_skip(&r, w) < 0) {
            goto fail;
        }
    }
    if (rc == 1)
        return o;
fail:
    json_decref(o);
    return NULL;
}

/* {"<kind>Value": x} for one container (arrays, maps): {} when empty. */
static json_t *wrap(const char *kind, const char *key, json_t *inner)
{
    json_t *o = json_object();

    if (!inner)
        goto fail;
    if ((json_is_object(inner) && json_object_size(inner)) ||
        (json_is_array(inner) && json_array_size(inner)))
        json_object_set_new_nocheck(o, key, inner);
    else
        json_decref(inner);
    return json_pack("{s:o}", kind, o);
fail:
    json_decref(o);
    return NULL;
}

/* One google.firestore.v1.Value as proto3 JSON ({"stringValue": ...}). */
static json_t *value_of(const uint8_t *p, size_t n, int depth)
{
    struct dl_pb_reader r;
    uint32_t f;
    enum dl_pb_wire w;
    uint64_t v;
    const uint8_t *bp;
    size_t bn;
    json_t *out = json_object();
    int rc;

    if (depth > MAX_DEPTH)
        goto fail;
    dl_pb_reader_init(&r, p, n);
    while ((rc = dl_pb_next(&r, &f, &w)) == 0) {
        json_t *x = NULL;
        const char *kind = NULL;

        if (w == DL_PB_VARINT && (f == 1 || f == 2 || f == 11)) {
            char num[24];

            if (dl_pb_varint(&r, &v) < 0)
                goto fail;
            if (f == 1) {
                kind = "booleanValue";
                x = json_boolean(v != 0);
            } else if (f == 2) {
                kind = "integerValue";
                snprintf(num, sizeof(num), "%lld", (long long)(int64_t)v);
                x = json_string_nocheck(num);
            } else {
                kind = "nullValue";
                x = json_null();
            }
        } else if (w == DL_PB_FIXED64 && f == 3) {
            if (dl_pb_fixed64(&r, &v) < 0)
                goto fail;
            kind = "doubleValue";
            x = double_of(v);
        } else if (w == DL_PB_LEN && (f == 5 || f == 6 || f == 8 || f == 9 ||
                                      f == 10 || f == 17 || f == 18)) {
            if (dl_pb_bytes(&r, &bp, &bn) < 0)
                goto fail;
            switch (f) {
            case 5:
                kind = "referenceValue";
                x = json_stringn((const char *)bp, bn);
                break;
            case 17:
                kind = "stringValue";
                x = json_stringn((const char *)bp, bn);
                break;
            case 18:
                kind = "bytesValue";
                x = base64_of(bp, bn);
                break;
            case 10:
                kind = "timestampValue";
                x = timestamp_of(bp, bn);
                break;
            case 8:
                kind = "geoPointValue";
                x = latlng_of(bp, bn);
                break;
            case 9:
                x = wrap("arrayValue", "values", array_of(bp, bn, depth + 1));
                break;
            default: /* 6 */
                x = wrap("mapValue", "fields", fields_of(bp, bn, 1, depth + 1));
                break;
            }
        } else if (dl_pb_skip(&r, w) < 0) {
            goto fail;
        } else {
            continue;
        }
        if (!x)
            goto fail;
        /* A oneof: the last one set wins. */
        json_object_clear(out);
        if (kind)
            json_object_set_new_nocheck(out, kind, x);
        else {
            json_decref(out);
            out = x;
        }
    }
    if (rc == 1)
        return out;
fail:
    json_decref(out);
    return NULL;
}

static json_t *document_of(const uint8_t *p, size_t n)
{
    struct dl_pb_reader r;
    uint32_t f;
    enum dl_pb_wire w;
    const uint8_t *bp;
    size_t bn;
    json_t *doc = json_object(), *fields = NULL;
    int rc;

    dl_pb_reader_init(&r, p, n);
    while ((rc = dl_pb_next(&r, &f, &w)) == 0) {
        json_t *x;

        if (w != DL_PB_LEN || f < 1 || f > 4) {
            if (dl_pb_skip(&r, w) < 0)
                goto fail;
            continue;
        }
        if (dl_pb_bytes(&r, &bp, &bn) < 0)
            goto fail;
        if (f == 2) {
            /* a map entry: fields may come in any number of pieces */
            if (!fields)
                fields = json_object();
            if (map_entry(fields, bp, bn, 0) < 0)
                goto fail;
            continue;
        }
        x = f == 1 ? json_stringn((const char *)bp, bn) : timestamp_of(bp, bn);
        if (!x)
            goto fail;
        json_object_set_new_nocheck(doc,
                                    f == 1   ? "name"
                                    : f == 3 ? "createTime"
                                             : "updateTime",
                                    x);
    }
    if (rc < 0)
        goto fail;
    if (fields && json_object_size(fields))
        json_object_set_new_nocheck(doc, "fields", fields);
    else
        json_decref(fields);
    return doc;
fail:
    json_decref(fields);
    json_decref(doc);
    return NULL;
}

int dl_firestore_grpc_decode_response(struct dl_firestore_element *el,
                                      const uint8_t *p, size_t len,
                                      struct dl_err *err)
{
    struct dl_pb_reader r;
    uint32_t f;
    enum dl_pb_wire w;
    const uint8_t *bp;
    size_t bn;
    uint64_t v;
    int rc;

    memset(el, 0, sizeof(*el));
    dl_pb_reader_init(&r, p, len);
    while ((rc = dl_pb_next(&r, &f, &w)) == 0) {
        if (f == 1 && w == DL_PB_LEN) {
            if (dl_pb_bytes(&r, &bp, &bn) < 0)
                break;
            json_decref(el->document);
            el->document = document_of(bp, bn);
            if (!el->document) {
                rc = DL_EINVALID;
                break;
            }
        } else if (f == 6 && w == DL_PB_VARINT) {
            if (dl_pb_varint(&r, &v) < 0)
                break;
            el->done = v != 0;
        } else if (dl_pb_skip(&r, w) < 0) {
            break;
        }
    }
    if (rc == 1)
        return 0;
    return dl_err_set(err, DL_EINVALID,
                      "runQuery over gRPC: malformed RunQueryResponse");
}

/* ---- framing ---- */

void dl_grpc_framer_init(struct dl_grpc_framer *f, size_t max,
                         dl_grpc_msg_fn fn, void *ud)
{
    memset(f, 0, sizeof(*f));
    dl_buf_init(&f->msg, DL_BUF_NOCAP);
    f->fn = fn;
    f->ud = ud;
    f->max = max;
}

void dl_grpc_framer_dispose(struct dl_grpc_framer *f)
{
    dl_buf_dispose(&f->msg);
}

int dl_grpc_framer_feed(struct dl_grpc_framer *f, const void *data, size_t len,
                        struct dl_err *err)
{
    const uint8_t *p = data, *end = p + len;
    int rc;

    while (p < end) {
        size_t take;

        if (f->hdr_len < 5) {
            f->hdr[f->hdr_len++] = *p++;
            if (f->hdr_len < 5)
                continue;
            if (f->hdr[0] != 0)
                return dl_err_set(err, DL_EINVALID,
                                  "runQuery over gRPC: compressed message "
                                  "(flag %u) not asked for",
                                  f->hdr[0]);
            f->need = (size_t)f->hdr[1] << 24 | (size_t)f->hdr[2] << 16 |
                      (size_t)f->hdr[3] << 8 | f->hdr[4];
            if (f->need > f->max)
                return dl_err_set(err, DL_ELIMIT,
                                  "runQuery over gRPC: message of %zu bytes, "
                                  "more than %zu",
                                  f->need, f->max);
            dl_buf_reset(&f->msg);
        }
        if (f->msg.len == 0 && (size_t)(end - p) >= f->need) {
            /* whole in this piece: no copy */
            take = f->need;
            f->hdr_len = 0;
            rc = f->fn(f->ud, p, take);
            p += take;
        } else {
            take = f->need - f->msg.len;
            if (take > (size_t)(end - p))
                take = (size_t)(end - p);
            (void)dl_buf_put(&f->msg, p, take);
            p += take;
            if (f->msg.len < f->need)
                continue;
            f->hdr_len = 0;
            rc = f->fn(f->ud, (const uint8_t *)f->msg.ptr, f->msg.len);
            dl_buf_reset(&f->msg);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

int dl_grpc_framer_finish(struct dl_grpc_framer *f, struct dl_err *err)
{
    if (f->hdr_len == 0)
        return 0;
    return dl_err_set(err, DL_ETRANSIENT,
                      "runQuery over gRPC: the answer stops inside a message");
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int dl_grpc_status(const struct dl_http_xfer *x, int *code, char *msg,
                   size_t size)
{
    char st[16], raw[512];
    char *end;
    long c;
    size_t o = 0;

    if (size)
        msg[0] = '\0';
    if (!dl_http_xfer_header(x, "grpc-status", st, sizeof(st)))
        return 0;
    c = strtol(st, &end, 10);
    *code = (*end || end == st || c < 0 || c > 16) ? 2 /* UNKNOWN */ : (int)c;
    if (!size || !dl_http_xfer_header(x, "grpc-message", raw, sizeof(raw)))
        return 1;
    for (size_t i = 0; raw[i] && o + 1 < size; i++) {
        int hi, lo;

        if (raw[i] == '%' && (hi = hexval(raw[i + 1])) >= 0 &&
            (lo = hexval(raw[i + 2])) >= 0) {
            int ch = hi << 4 | lo;

            /* a one-line message: no control characters */
            msg[o++] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
            i += 2;
        } else {
            msg[o++] = raw[i];
        }
    }
    msg[o] = '\0';
    return 1;
}
